"""Benchmark: send N households to their nearest payment site of the shipped (ILLUSTRATIVE) table.

Households are drawn cheaply: a district in proportion to its census households, then a point
near the district's point (Gaussian jitter of 0.2 degree). The timed step is
:func:`simulator.plans.delivery.assign` (KD-tree over the sites' unit-sphere coordinates);
the schedule (one instalment, 25,000 PKR each) is timed apart.

Prints one JSON line: households, sites, seconds (assign), schedule_seconds, peak_rss_mb.
National scale is ``--households 35000000`` (do not run it on a shared machine).

    .venv/bin/python benchmarks/delivery.py --households 1000000
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np

from hazards import tables
from simulator.plans import delivery
from simulator.registry import sites as site_tables


def households(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lon, lat, district code) of ``n`` households around the district points."""
    rng = np.random.default_rng(seed)
    table = tables.districts()
    p = table.households_2023.to_numpy(float)
    district = rng.choice(len(table), size=n, p=p / p.sum())
    lon = table.lon.to_numpy()[district] + rng.normal(0.0, 0.2, n)
    lat = table.lat.to_numpy()[district] + rng.normal(0.0, 0.2, n)
    return lon, lat, district


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=-1, help="KD-tree query threads (-1: all)")
    args = parser.parse_args()

    sites = site_tables.load().sites
    lon, lat, district = households(args.households, args.seed)
    usable = delivery.payment_sites(sites.offers_payment, sites.payments_per_day)
    t0 = time.perf_counter()
    got = delivery.assign(lon, lat, sites.lon, sites.lat, usable=usable, workers=args.workers)
    seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    delivery.schedule(got.site, np.full(len(lon), 25_000, np.int64), [(0, 1.0)],
                      sites.payments_per_day, district=district, n_districts=len(tables.districts()))
    schedule_seconds = time.perf_counter() - t1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "households": int(args.households),
        "sites": int(usable.sum()),
        "sites_in_table": len(sites),
        "seconds": round(seconds, 2),
        "schedule_seconds": round(schedule_seconds, 2),
        "peak_rss_mb": round(peak, 1),
    }))


if __name__ == "__main__":
    main()
