"""Benchmark: Madad's event engine against CLIMADA's ImpactCalc on the same event set and exposure.

Two steps, two Python environments (CLIMADA is not a dependency of Madad):

1. With Madad's venv, ``prepare``: reads the event set (``.npz``, ``madad hazard events``) and the
   demo registry, times Madad's event engine on the demo policy (BISP relief, PKR 25,000 to each
   affected household under the PMT cut-off, riverine tiers from 0.5 m), and writes the same
   exposure for CLIMADA: one point per registry row with its value (25,000 x the households it
   stands for, where the policy pays it) and its grid cell (so neither side spends time on
   assigning centroids).
2. With a venv holding ``climada`` (``pip install climada``), ``climada``: builds CLIMADA's
   ``Hazard`` (the same CSR intensity, centroids at the cell centres, frequencies), ``Exposures``
   and a step impact function at 0.5 m, and times ``ImpactCalc(...).impact(save_mat=False,
   assign_centroids=False)`` (CLIMADA 6, ``climada/engine/impact_calc.py``).

Both print one JSON line with ``seconds`` and the total over events, which must agree to the
rupee (the demo policy under tier rules pays the value wherever the tier is reached).

    .venv/bin/python benchmarks/risk_climada.py prepare --events E.npz --out /tmp/cmp
    /path/to/climada-venv/bin/python benchmarks/risk_climada.py climada --events E.npz --out /tmp/cmp
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _load_set(path: Path):
    """The CSR intensity, frequencies, grid transform and shape of a Madad event set file,
    read with numpy alone."""
    from scipy import sparse

    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["metadata"]))
        m = sparse.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=(meta["n_events"], meta["n_cells"]))
        return m, z["frequency"], meta


def prepare(events: Path, out: Path, households: int, registry: Path | None = None) -> None:
    from hazards import events as hev
    from simulator import engine, scenario
    from simulator.engine import events as ev_engine
    from simulator.plans import orchestrator

    scn = scenario.load(ROOT / "scenarios" / "indus-flood-demo.yaml").model_copy(update={"ensemble": None})
    reg, _ = orchestrator.load_registry(scn, households=households, registry_path=registry)
    cols = engine.household_columns(reg.households)
    es = hev.load(events)
    cells = es.cell_index(cols["lon"], cols["lat"])
    t0 = time.perf_counter()
    exp = ev_engine.exposure(scn, scn.hazards[0], cols, es, cells=cells)
    payouts = ev_engine.event_payouts(scn, cols, es, exp=exp)
    seconds = time.perf_counter() - t0
    prog = scn.policy.programmes[0]
    paid = (cols["pmt_score"] <= prog.pmt_max) & ~cols["duplicate"] & (cells >= 0)
    value = np.where(paid, 25_000 * cols["weight"], 0).astype(np.float64)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "exposure.npz", lon=cols["lon"], lat=cols["lat"], value=value, cell=cells)
    print(json.dumps({"engine": "madad", "rows": len(cells), "events": es.n_events,
                      "seconds": round(seconds, 3), "total_pkr": int(payouts.entitled_pkr.sum()),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


def climada(events: Path, out: Path) -> None:
    import geopandas as gpd
    from climada.engine import ImpactCalc
    from climada.entity import Exposures, ImpactFunc, ImpactFuncSet
    from climada.hazard import Centroids, Hazard

    m, frequency, meta = _load_set(events)
    a, _, c, _, e, f = meta["transform"]
    rows, cols = meta["shape"]
    rr, cc = np.divmod(np.arange(rows * cols), cols)
    centroids = Centroids(lat=f + (rr + 0.5) * e, lon=c + (cc + 0.5) * a, crs="EPSG:4326")
    ids = np.arange(m.shape[0]) + 1
    haz = Hazard(haz_type="FL", units="m", centroids=centroids, event_id=ids, event_name=[str(i) for i in ids],
                 date=np.ones(len(ids), int),
                 frequency=frequency, intensity=m.astype(np.float64), fraction=None)
    x = np.load(out / "exposure.npz")
    keep = x["cell"] >= 0
    gdf = gpd.GeoDataFrame({"value": x["value"][keep], "impf_FL": 1, "centr_FL": x["cell"][keep]},
                           geometry=gpd.points_from_xy(x["lon"][keep], x["lat"][keep]), crs="EPSG:4326")
    exposures = Exposures(gdf)
    step = ImpactFunc(haz_type="FL", id=1, intensity=np.array([0.0, np.nextafter(np.float32(0.5), 0), 0.5, 1e4]),
                      mdd=np.array([0.0, 0.0, 1.0, 1.0]), paa=np.ones(4), intensity_unit="m")
    t0 = time.perf_counter()
    imp = ImpactCalc(exposures, ImpactFuncSet([step]), haz).impact(save_mat=False, assign_centroids=False)
    seconds = time.perf_counter() - t0
    print(json.dumps({"engine": "climada ImpactCalc", "rows": int(keep.sum()), "events": int(m.shape[0]),
                      "seconds": round(seconds, 3), "total_pkr": int(round(float(imp.at_event.sum()))),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=["prepare", "climada"])
    parser.add_argument("--events", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--households", type=int, default=200_000, help="synthetic registry rows (prepare)")
    parser.add_argument("--registry", type=Path, help="a registry file instead (prepare)")
    args = parser.parse_args()
    if args.step == "prepare":
        prepare(args.events, args.out, args.households, args.registry)
    else:
        climada(args.events, args.out)


if __name__ == "__main__":
    main()
