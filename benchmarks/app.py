"""Benchmark: the Streamlit app on a national registry, driven in-process by Streamlit's own
testing API (``streamlit.testing.v1.AppTest``) under ``MADAD_REGISTRY``.

Generates (or reuses) a synthetic GeoParquet registry of N households (``madad registry
generate``, a separate process), then opens the app on it with nothing cached and prints one
JSON line:

``first_figures_s``
    opening the app until the landing page shows its headline sentence and PKR cards;
``what_if_s``
    a policy what-if (the sidebar's transfer amount changed) until its figures are shown,
    while the landing plan's ensemble still runs in the background;
``ranges_ready_s``
    opening the app until the landing page shows the ensemble's "likely between" ranges (the
    what-if undone; the page looked at every second, as the app's own poll does);
``peak_rss_mb``
    the peak resident memory of this process (the app's; the generator runs apart).

The targets (35,000,000 households, this 2-core machine): first figures within 30 s, a
what-if within 5 s.

    .venv/bin/python benchmarks/app.py --registry /tmp/app5m.parquet --households 5000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Longest wait for any one app run [s].
TIMEOUT_S = 1800
#: Longest wait for the ensemble's ranges [s].
RANGES_TIMEOUT_S = 3600


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def shows_figures(at) -> bool:
    """The landing page's headline sentence and PKR cards are there, and nothing failed."""
    return (not at.exception and not at.error and len(at.metric) >= 6
            and any("PKR" in m.value for m in at.metric)
            and any("**" in m.value for m in at.markdown))


def shows_ranges(at) -> bool:
    return any("likely between" in m.value for m in at.markdown)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--registry", type=Path, required=True,
                        help="registry GeoParquet, generated here first if it does not exist")
    parser.add_argument("--households", type=int, default=1_000_000,
                        help="households of a registry generated here (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--role", choices=("minister", "planner"), default="minister")
    parser.add_argument("--transfer", type=int, default=30_000, help="the what-if's transfer [PKR]")
    args = parser.parse_args()
    # stdout carries the JSON line only: what the app's libraries write to file descriptor 1
    # (a solver's stray printf on a background thread, say) goes to stderr
    report = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    if not args.registry.exists():
        madad = str(Path(sys.executable).parent / "madad")
        subprocess.run([madad, "registry", "generate", "--households", str(args.households),
                        "--seed", str(args.seed), "--out", str(args.registry)], check=True,
                       stdout=subprocess.DEVNULL)
    import pyarrow.parquet as pq

    households = pq.ParquetFile(args.registry).metadata.num_rows
    os.environ.update({"MADAD_REGISTRY": str(args.registry.resolve()), "MADAD_ROLE": args.role,
                       "MADAD_CONFIG": ""})
    for name in ("MADAD_DEMO_HOUSEHOLDS", "MADAD_BOUNDARIES", "MADAD_MIN_CELL"):
        os.environ.pop(name, None)
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT_S)
    t0 = time.perf_counter()
    at.run()
    first = time.perf_counter() - t0
    if not shows_figures(at):
        raise SystemExit(f"the landing page shows no figures: {[e.value for e in (*at.exception, *at.error)]}")
    ranges_at = time.perf_counter() - t0 if shows_ranges(at) else None

    was = at.number_input(key="transfer_pkr").value
    t1 = time.perf_counter()
    at.number_input(key="transfer_pkr").set_value(args.transfer).run()
    what_if = time.perf_counter() - t1
    if not shows_figures(at) or not any(f"{args.transfer:,}" in i.value for i in at.info):
        raise SystemExit("the what-if's figures are not shown")

    at.number_input(key="transfer_pkr").set_value(was).run()  # back to the landing plan
    while ranges_at is None:
        if shows_ranges(at):
            ranges_at = time.perf_counter() - t0
            break
        if time.perf_counter() - t0 > RANGES_TIMEOUT_S:
            raise SystemExit("the ensemble's ranges never appeared")
        time.sleep(1.0)
        at.run()
    print(json.dumps({
        "households": households,
        "role": args.role,
        "first_figures_s": round(first, 2),
        "what_if_s": round(what_if, 2),
        "ranges_ready_s": round(ranges_at, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }), file=report, flush=True)


if __name__ == "__main__":
    main()
