"""Benchmark: choose campsites per province for N synthetic households after 20 % of sites close.

N households from the synthetic registry (:func:`simulator.registry.generate`, seeded; each row
stands for ``weight`` NSER households), the shipped ILLUSTRATIVE sites table with a seeded 20 % of
its sites closed for the response, :func:`simulator.plans.delivery.assign` to the open payment
sites, then :func:`simulator.plans.campsites.demand` and :func:`~simulator.plans.campsites.choose`
(one capacitated LSCP per province), and a re-assignment with the campsites added.

Prints one JSON line: households, demand points and households, seconds per stage, peak_rss_mb,
campsites per province, and the solver status per province.

    .venv/bin/python benchmarks/campsites.py --households 1000000
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import time

import numpy as np
import pandas as pd

from simulator.plans import campsites, delivery
from simulator.registry import generate
from simulator.registry import sites as site_tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--closed", type=float, default=0.2, help="share of sites closed")
    parser.add_argument("--time-limit", type=float, default=campsites.TIME_LIMIT_S,
                        help="solver time limit per province [s]")
    parser.add_argument("--verbose", action="store_true", help="log the campsites module's progress")
    args = parser.parse_args()
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(relativeCreated)8.0f ms %(message)s")

    seconds: dict[str, float] = {}
    t = time.perf_counter()
    hh = generate(args.households, seed=args.seed)
    seconds["generate"] = time.perf_counter() - t

    sites = site_tables.load().sites
    rng = np.random.default_rng(args.seed)
    shut = rng.random(len(sites)) < args.closed
    usable = delivery.payment_sites(sites.offers_payment, sites.payments_per_day) & ~shut
    t = time.perf_counter()
    got = delivery.assign(hh.lon, hh.lat, sites.lon, sites.lat, usable=usable)
    seconds["assign"] = time.perf_counter() - t

    t = time.perf_counter()
    points = campsites.demand(hh.lon, hh.lat, hh.province_code, got.distance_km, got.site,
                              weight=hh.weight, site_lon=sites.lon, site_lat=sites.lat,
                              site_capacity=sites.payments_per_day, site_province=sites.province_code)
    seconds["demand"] = time.perf_counter() - t

    t = time.perf_counter()
    chosen = campsites.choose(points, time_limit_s=args.time_limit)
    seconds["choose"] = time.perf_counter() - t

    t = time.perf_counter()
    table = site_tables.validate(pd.concat([sites.drop(columns=["offers_payment", "offers_registration",
                                                                "offers_complaints"]),
                                            campsites.as_sites(chosen)], ignore_index=True))
    usable_after = delivery.payment_sites(table.sites.offers_payment, table.sites.payments_per_day) & \
        np.concatenate([~shut, np.ones(len(table.sites) - len(sites), bool)])
    after = delivery.assign(hh.lon, hh.lat, table.sites.lon, table.sites.lat, usable=usable_after)
    seconds["reassign"] = time.perf_counter() - t
    w = hh.weight.to_numpy(float)
    far_before = float(w[delivery.far_households(got.distance_km)].sum())
    far_after = float(w[delivery.far_households(after.distance_km)].sum())

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    prov = chosen.provinces.set_index("province_code")
    print(json.dumps({
        "households": int(args.households),
        "weighted_households": int(w.sum()),
        "open_payment_sites": int(usable.sum()),
        "demand_points": len(points),
        "demand_households": round(float(points.households.sum())),
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "peak_rss_mb": round(peak, 1),
        "campsites": int(len(chosen.sites)),
        "campsites_per_province": {k: int(v) for k, v in prov.campsites.items()},
        "cells_per_province": {k: int(v) for k, v in prov.cells.items()},
        "seconds_per_province": {k: round(float(v), 1) for k, v in prov.seconds.items()},
        "status_per_province": {k: str(v) for k, v in prov.status.items()},
        "campsite_rows_quarantined": int(table.report.rows_quarantined),
        "uncovered_households": round(float(prov.uncovered_households.sum())),
        "weighted_beyond_limit_before": round(far_before),
        "weighted_beyond_limit_after": round(far_after),
        "method": chosen.method,
    }))


if __name__ == "__main__":
    main()
