"""Benchmark: `madad run` end to end, from a registry file to a written run folder.

Generates (or reuses) a synthetic GeoParquet registry of N households, then runs the CLI itself
(`madad run SCENARIO --registry FILE --out DIR`, a separate process) and prints one JSON line:
households, seconds (wall, the whole command), peak_rss_mb (the command's process and its
children), and the seconds of each stage the run recorded in its manifest (registry read and
validation, hazards, engine, plan, ensemble, writing). The target (issue 13): 35,000,000
households in at most 25 s and 6,000 MB on this 2-core machine.

    .venv/bin/python benchmarks/end_to_end.py --households 35000000 --registry /tmp/nser.parquet
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Runs its arguments as a command and prints the largest peak RSS of its children [kB on Linux].
WATCH = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
         "stdout=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "indus-flood-demo.yaml")
    parser.add_argument("--registry", type=Path, default=None,
                        help="registry GeoParquet to use, generated here first if it does not exist "
                             "(default: a temporary file)")
    args = parser.parse_args()
    madad = str(Path(sys.executable).parent / "madad")
    with tempfile.TemporaryDirectory() as tmp:
        registry = args.registry or Path(tmp) / "registry.parquet"
        if not registry.exists():
            subprocess.run([madad, "registry", "generate", "--households", str(args.households),
                            "--seed", str(args.seed), "--out", str(registry)], check=True,
                           stdout=subprocess.DEVNULL)
        out = Path(tmp) / "run"
        t0 = time.perf_counter()
        # the CLI's own code path in its own process, started by a watcher process whose only
        # child it is, so that the peak reported is the run's (children included), not the generator's
        watcher = subprocess.run(
            [sys.executable, "-c", WATCH, madad, "run", str(args.scenario), "--registry", str(registry),
             "--out", str(out)], check=True, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        peak_kb = int(watcher.stdout.split()[-1])
        manifest = json.loads((out / "manifest.json").read_text())
        households = json.loads((out / "plan.json").read_text())["registry_rows"]
    print(json.dumps({
        "households": households,
        "scenario": args.scenario.stem,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "stages_s": manifest.get("timings_s", {}),
    }))


if __name__ == "__main__":
    main()
