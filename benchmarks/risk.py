"""Benchmark: a 10,000-year national multi-hazard event set through the event engine.

The sets are ``scenarios/risk/pakistan-multi-hazard.yaml``'s ``financing.events``: 10,000
simulated years of riverine floods on the Indus, flash floods anywhere in Pakistan, earthquakes
in the north, cyclones on the coast, droughts and heatwaves (about 8,500 events; illustrative
generators, :mod:`hazards.stochastic`). They are built once (about an hour on 2 cores) and cached
in ``benchmarks/.cache/events/`` (``MADAD_CACHE`` overrides); building is timed apart
(``build_seconds``, only on the run that builds).

The timed part (``seconds``) is what ``madad risk`` does after the registry is read: group the
households on each set's grid, price them per tier, evaluate every event (sparse products), and
the risk section (metrics per payer, the layers, the pool, the triggers' indices and basis risk).
Reading the registry and building its columns is timed apart (``registry_seconds``: the same
read as ``madad run``, measured by ``benchmarks/end_to_end.py``).

Prints one JSON line: households, rows, events, years, seconds, seconds per stage, the total
AAL, peak_rss_mb, and ``per_event_engine_seconds`` (the household engine on the largest event):
evaluating the set event by event would take about events x that.

    .venv/bin/python benchmarks/risk.py                        # the demo registry (200,000 rows)
    .venv/bin/python benchmarks/risk.py --registry nser.parquet    # e.g. 35 M households
    .venv/bin/python benchmarks/risk.py --build-only --workers 2   # just build the cached sets
    .venv/bin/python benchmarks/risk.py --png benchmarks/figures/risk-exceedance.png
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "risk" / "pakistan-multi-hazard.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--registry", help="registry file (default: the synthetic demo registry)")
    parser.add_argument("--households", type=int, default=200_000, help="synthetic rows when no --registry")
    parser.add_argument("--workers", type=int, default=1, help="processes building the sets")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--png", type=Path, help="also write the AEP exceedance curves here")
    args = parser.parse_args()
    os.environ.setdefault("MADAD_CACHE", str(ROOT / "benchmarks" / ".cache"))

    from simulator import engine, scenario
    from simulator.engine import events as ev_engine
    from simulator.plans import risk_run

    scn = scenario.load(SCENARIO)
    t0 = time.perf_counter()
    sets = risk_run.event_sets(scn, base=SCENARIO.parent, workers=args.workers)
    build_seconds = time.perf_counter() - t0  # reading the cached sets, or building them
    if args.build_only:
        print(json.dumps({"events": sum(s.event_set.n_events for s in sets), "seconds": round(build_seconds, 1)}))
        return

    t0 = time.perf_counter()
    cols, info = risk_run.registry_columns(scn, base=SCENARIO.parent, households=args.households,
                                           registry_path=args.registry)
    registry_seconds = time.perf_counter() - t0

    t1 = time.perf_counter()
    res = risk_run.run_columns(scn, sets, cols, registry=info)
    seconds = time.perf_counter() - t1
    if args.png:
        from simulator.publish.risk import exceedance_png

        args.png.parent.mkdir(parents=True, exist_ok=True)
        exceedance_png(res.section, args.png)
        print(f"wrote {args.png}", file=sys.stderr)

    # The household engine on the largest event of the first set, for the comparison.
    first = sets[0].event_set
    big = int(first.intensity.getnnz(axis=1).argmax())
    one = scn.model_copy(update={"hazards": [ev_engine.hazard_spec(scn, first)], "financing": None})
    t = time.perf_counter()
    engine.evaluate(one, cols, [first.footprint(big)])
    per_event = time.perf_counter() - t

    total = res.section["metrics"]["total"]
    print(json.dumps({
        "households": int(cols["weight"].sum()),
        "rows": len(cols["weight"]),
        "events": res.payouts.n_events,
        "years": res.n_years,
        "seconds": round(seconds, 1),
        "stages": {k: round(v, 2) for k, v in res.timings.items()},
        "registry_seconds": round(registry_seconds, 1),
        "sets_seconds": round(build_seconds, 1),
        "aal_total_pkr": total["aal"]["aal_pkr"],
        "aal_total_ci_pkr": total["aal"]["ci_pkr"],
        "per_event_engine_seconds": round(per_event, 3),
        "event_by_event_seconds": round(per_event * res.payouts.n_events),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }))


if __name__ == "__main__":
    main()
