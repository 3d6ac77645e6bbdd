"""Benchmark: the payout engine at NSER scale on this machine.

Generates (or reuses, under benchmarks/.cache/) a synthetic registry of ``--households N`` and a
national 1 km flood raster, then times the engine's stages: overlay, duplicates, targeting and payouts,
dedup, cost-sharing, budgets and aggregation into the plan. The scenario exercises every rule:
three hazard tiers, a federal vertical top-up, a federal horizontal expansion, a provincial
programme in Sindh, top-up dedup, NFC-key cost-sharing and federal and provincial ceilings.
It also samples 1,000,000 households with rasterio's ``DatasetReader.sample`` for comparison.

Prints one JSON line: households, seconds (the engine and aggregation, not generation or
loading), engine_s (the engine alone), peak_rss_mb, per-stage seconds (timed here through
``engine.evaluate``'s ``on_stage`` callback: the engine keeps no clock), the plan's totals and
whether they reconcile, rasterio_sample_points_per_s and ratio_vs_rasterio_sample (how many
times faster the overlay is per point), and overlay_vs_numpy_index: the seconds of the overlay
(``hazards.sampling.sample``) over all N households divided by those of a plain chunked numpy
affine index (``floor((x - x0) / dx)``, one thread, no edge rule) gathering the same points
(best of two runs each, after the timed run).
Targets at N = 35,000,000 on 2 cores: seconds <= 2.5, peak_rss_mb <= 6,000 and
overlay_vs_numpy_index <= 3.

    .venv/bin/python benchmarks/engine.py --households 35000000
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import rasterio

from hazards import generators
from hazards import sampling as overlay
from hazards import tables as data
from hazards.io import read_geotiff, write_geotiff
from simulator import engine, registry, scenario
from simulator.plans import build as plan

CACHE = Path(__file__).resolve().parent / ".cache"
NATIONAL_BBOX = (60.5, 23.5, 78.0, 37.5)  # 2100 x 1680 cells at 30 arc-seconds

SCENARIO = """
name: benchmark
title: National flood, every rule
hazards:
  - file: flood.tif
    tiers: {affected: 0.3, severely_affected: 1.0, displaced: 2.0}
policy:
  programmes:
    - name: kafaalat top-up
      owner: federal
      expansion: vertical
      beneficiaries_of: [kafaalat]
      transfer: {by_tier_pkr: {affected: 10000, displaced: 20000}}
    - name: temporary inclusion
      owner: federal
      expansion: horizontal
      beneficiaries_of: [kafaalat]
      pmt_max: 40
      category_pmt_max: {disability: 45}
      transfer: {by_tier_pkr: {affected: 25000}, per_person_pkr: 500, cap_pkr: 30000}
    - name: sindh relief
      owner: provincial
      expansion: all_affected
      pmt_max: 45
      provinces: [SD]
      transfer: {by_tier_pkr: {affected: 15000, severely_affected: 20000}}
  instalments: [{share: 0.5, day: 0}, {share: 0.5, day: 60}]
dedup: {rule: top_up, base: federal}
cost_sharing: {rule: key, federal_share: 0.425, key: nfc7}
budget:
  federal_pkr: 8000000000
  provincial_pkr: {SD: 2000000000, PB: 3000000000}
"""


class StageClock:
    """An ``on_stage`` callback for :func:`simulator.engine.evaluate`: records the seconds since
    the previous stage ended (or since the clock was made) under ``<stage>_s``."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings
        self.last = time.perf_counter()

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[f"{stage}_s"] = now - self.last
        self.last = now


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cached_registry(n: int, seed: int) -> Path:
    path = CACHE / f"registry-{n}-{seed}.parquet"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.stem + ".partial.parquet")
        registry.write(registry.generate_chunks(n, seed=seed), tmp)
        tmp.rename(path)
    return path


def cached_raster(seed: int) -> Path:
    path = CACHE / f"national-flood-{seed}.tif"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        write_geotiff(generators.riverine_flood(bbox=NATIONAL_BBOX, seed=seed, return_period=100), path)
    return path


def load_columns(path: Path) -> dict[str, np.ndarray]:
    """The engine's columns straight from a trusted (generated) GeoParquet file."""
    present = set(pq.read_schema(path).names)
    names = ["lon", "lat", "province_code", "district_id", "hh_size", "pmt_score",
             "enrolled_kafaalat", "enrolled_prov_uct", "enrolled_prov_cct", "female_headed",
             "disability", "children_under5", "housing", "weight"]
    table = pq.read_table(path, columns=[n for n in names if n in present])
    cols = {}
    for name in table.column_names:
        column = table.column(name).combine_chunks()
        if name in ("province_code", "district_id", "housing"):
            codes = {"province_code": list(data.PROVINCES), "district_id": list(data.district_codes()),
                     "housing": list(registry.HOUSING)}[name]
            lookup = np.array([codes.index(v) for v in column.dictionary.to_pylist()], dtype=np.int16)
            key = {"province_code": "province", "district_id": "district", "housing": "housing"}[name]
            cols[key] = lookup[column.indices.to_numpy()].astype(np.int16 if key == "district" else np.int8)
        else:
            cols[name] = column.to_numpy(zero_copy_only=False)
        table = table.drop([name])
    n = len(cols["lon"])
    cols["weight"] = cols.get("weight", np.ones(n)).astype(np.int64)
    cols.setdefault("housing", np.zeros(n, np.int8))
    cols["source"] = np.zeros(n, np.int8)  # one federal registry: no provincial records
    cols["duplicate"] = np.zeros(n, bool)
    return cols


def numpy_index(layer, lon: np.ndarray, lat: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
    """The plain affine index the overlay is measured against: ``floor((x - x0) / dx)`` per
    axis, NaN outside, a gather of the raster's values; chunked, one thread, no edge rule."""
    a, _, c, _, e, f = layer.attrs["transform"]
    values = np.asarray(layer.values, dtype=np.float32)
    rows, cols = values.shape
    flat = values.ravel()
    out = np.empty(len(lon), dtype=np.float32)
    for start in range(0, len(lon), chunk):
        col = np.floor((lon[start:start + chunk] - c) / a)
        row = np.floor((lat[start:start + chunk] - f) / e)
        ok = (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
        k = np.where(ok, row * cols + col, 0).astype(np.intp)
        out[start:start + chunk] = np.where(ok, flat[k], np.nan)
    return out


def best_of(runs: int, fn) -> float:
    """The fewest seconds ``fn()`` took over ``runs`` calls."""
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sample-points", type=int, default=1_000_000)
    args = parser.parse_args()

    t0 = time.perf_counter()
    reg_path = cached_registry(args.households, args.seed)
    tif = cached_raster(args.seed)
    prepare_s = time.perf_counter() - t0

    cols = load_columns(reg_path)
    layer = read_geotiff(tif)
    scn = scenario.parse(SCENARIO, source="benchmark")

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    res = engine.evaluate(scn, cols, [layer], on_stage=StageClock(timings))
    t1 = time.perf_counter()
    # District codes as loaded (int16): the plan's group sums take any integer codes.
    the_plan = plan.build(res, cols["district"], scn=scn, registry_report={}, assumptions=[])
    t2 = time.perf_counter()
    timings["aggregation_s"] = t2 - t1
    seconds = t2 - t0

    # The overlay alone over every household, against a plain numpy affine index.
    overlay_s = best_of(2, lambda: overlay.sample(layer, cols["lon"], cols["lat"]))
    numpy_index_s = best_of(2, lambda: numpy_index(layer, cols["lon"], cols["lat"]))

    # The overlay alone on the first --sample-points households, and rasterio's sample on them.
    k = min(args.sample_points, args.households)
    lon, lat = cols["lon"][:k], cols["lat"][:k]
    t0 = time.perf_counter()
    mine, _ = overlay.sample(layer, lon, lat)
    ours_s = time.perf_counter() - t0
    with rasterio.open(tif) as src:
        t0 = time.perf_counter()
        theirs = np.fromiter((v[0] for v in src.sample(zip(lon, lat, strict=True))), np.float32, k)
        rasterio_s = time.perf_counter() - t0
    agree = float(np.mean((mine == theirs) | (np.isnan(mine) & np.isnan(theirs))))

    t = the_plan["totals"]
    paid_rows_pkr = int(res.sub["paid_pkr"].sum())
    instalments_pkr = sum(i["amount_pkr"] for i in the_plan["instalments"])
    print(json.dumps({
        "households": args.households,
        "seconds": round(seconds, 3),
        "engine_s": round(seconds - timings["aggregation_s"], 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "stages_s": {key: round(v, 3) for key, v in timings.items()},
        "affected_households": t["affected_households"],
        "paid_households": t["paid_households"],
        "amount_pkr": t["amount_pkr"],
        "federal_pkr": t["federal_pkr"],
        "provincial_pkr": t["provincial_pkr"],
        "federal_ceiling_pkr": the_plan["budget"]["federal_ceiling_pkr"],
        "over_budget_households": t["over_budget_households"],
        # Money adds up: the plan's split, its households and its instalments give one total.
        "reconciles": bool(
            t["federal_pkr"] + t["provincial_pkr"] == t["amount_pkr"]
            and paid_rows_pkr == t["amount_pkr"]
            and instalments_pkr == t["amount_pkr"]
        ),
        "overlay_s": round(overlay_s, 3),
        "numpy_index_s": round(numpy_index_s, 3),
        "overlay_vs_numpy_index": round(overlay_s / numpy_index_s, 2),
        "overlay_1m_s": round(ours_s, 4),
        "rasterio_sample_points_per_s": round(k / rasterio_s),
        "ratio_vs_rasterio_sample": round(rasterio_s / ours_s, 1),
        "agreement_with_rasterio": round(agree, 6),
        "prepare_s_not_counted": round(prepare_s, 1),
    }))


if __name__ == "__main__":
    main()
