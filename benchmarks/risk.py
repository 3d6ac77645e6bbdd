"""Benchmark: a 10,000-year national multi-hazard event set through the event engine.

The set (built once, then cached in ``benchmarks/.cache/risk/``): 10,000 simulated years of
riverine floods on the Indus, flash floods anywhere in Pakistan, earthquakes in the north,
cyclones on the coast, droughts and heatwaves in Sindh and southern Punjab
(:data:`MIX`; illustrative generators, :mod:`hazards.stochastic`). Building calls each
generator once per event and is timed apart (``build_seconds``, only on the run that builds).

The policy is ``scenarios/risk/pakistan-multi-hazard.yaml`` (each hazard's impact function,
BISP's relief amounts, a 50/50 cost split). The timed part (``seconds``) is what ``madad risk``
does after the registry is read: group the households per event grid, price them per tier,
evaluate every event (sparse products), and the risk metrics per payer. The household
columns' construction is timed apart (``registry_seconds``).

Prints one JSON line: households, rows, events, years, seconds, seconds per stage, peak_rss_mb,
and ``per_event_engine_seconds`` (the household engine on one event, for the comparison the
issue asks: evaluating the set event by event would take events x that).

    .venv/bin/python benchmarks/risk.py                       # the demo registry (200,000 rows)
    .venv/bin/python benchmarks/risk.py --registry nser.parquet   # e.g. 35 M households
    .venv/bin/python benchmarks/risk.py --build-only          # just build the cached set
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".cache" / "risk"
SCENARIO = ROOT / "scenarios" / "risk" / "pakistan-multi-hazard.yaml"
YEARS = 10_000
#: kind -> (events, fixed generator parameters): about 8,500 events over 10,000 years.
MIX = {
    "riverine-flood": (2_500, {"river": "indus"}),
    "flash-flood": (2_500, {"bbox": (60.9, 23.6, 77.8, 37.1), "resolution": 1 / 60}),
    "earthquake": (1_000, {"measure": "mmi", "bbox": (69.0, 29.0, 75.6, 36.5), "resolution": 1 / 60}),
    "cyclone": (500, {}),
    "drought": (1_000, {}),
    "heatwave": (1_000, {}),
}


def event_sets(*, workers: int = 1, log=print) -> tuple[list, float]:
    """The cached sets (building the missing ones) and the seconds spent building."""
    from hazards import events

    CACHE.mkdir(parents=True, exist_ok=True)
    built, out = 0.0, []
    for i, (kind, (n, params)) in enumerate(MIX.items()):
        path = CACHE / f"{kind}-{n}-{YEARS}y-seed{i}.npz"
        if not path.exists():
            t0 = time.perf_counter()
            fp = events.return_period_footprint(kind, **params)
            es = events.stochastic(kind, n, years=YEARS, seed=i, footprint=fp, workers=workers)
            es.save(path)
            built += time.perf_counter() - t0
            log(f"built {path.name} in {time.perf_counter() - t0:.0f} s")
        out.append(events.load(path))
    return out, built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--registry", help="registry file (default: the synthetic demo registry)")
    parser.add_argument("--households", type=int, default=200_000, help="synthetic rows when no --registry")
    parser.add_argument("--workers", type=int, default=1, help="processes building the set")
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()

    import sys

    sets, build_seconds = event_sets(workers=args.workers, log=lambda m: print(m, file=sys.stderr))
    if args.build_only:
        print(json.dumps({"events": sum(s.n_events for s in sets), "build_seconds": round(build_seconds, 1)}))
        return

    from simulator import engine, scenario
    from simulator.engine import events as ev_engine
    from simulator.plans import orchestrator, risk

    scn = scenario.load(SCENARIO)
    t0 = time.perf_counter()
    reg, _ = orchestrator.load_registry(scn, base=SCENARIO.parent, households=args.households,
                                        registry_path=args.registry)
    cols = engine.household_columns(reg.households)
    del reg
    registry_seconds = time.perf_counter() - t0

    stages: dict[str, float] = {}
    t1 = time.perf_counter()
    parts, offset = [], 0
    for es in sets:
        t = time.perf_counter()
        spec = ev_engine.hazard_spec(scn, es)
        exp = ev_engine.exposure(scn, spec, cols, es)
        stages[f"{es.kind}_group"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        parts.append(ev_engine.event_payouts(scn, cols, es, exp=exp, id_offset=offset))
        stages[f"{es.kind}_events"] = round(time.perf_counter() - t, 2)
        offset += es.n_events
    out = ev_engine.EventPayouts.concat(parts)
    t = time.perf_counter()
    metrics = risk.risk_metrics(out.table(), YEARS)
    stages["metrics"] = round(time.perf_counter() - t, 2)
    seconds = time.perf_counter() - t1

    # The household engine on one event of the first set, for the comparison.
    layer = sets[0].footprint(int(np.argmax(sets[0].intensity.getnnz(axis=1))))
    one = scenario.Scenario.model_validate({**scn.model_dump(), "hazards": [ev_engine.hazard_spec(scn, sets[0]).model_dump()]})
    t = time.perf_counter()
    engine.evaluate(one, cols, [layer])
    per_event = time.perf_counter() - t

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "households": int(cols["weight"].sum()),
        "rows": len(cols["weight"]),
        "events": out.n_events,
        "years": YEARS,
        "seconds": round(seconds, 1),
        "stages": stages,
        "registry_seconds": round(registry_seconds, 1),
        "build_seconds": round(build_seconds, 1),
        "aal_total_pkr": metrics["payers"]["total"]["aal"]["aal_pkr"] if "payers" in metrics else None,
        "per_event_engine_seconds": round(per_event, 3),
        "event_by_event_seconds": round(per_event * out.n_events, 0),
        "peak_rss_mb": round(peak),
    }))


if __name__ == "__main__":
    main()
