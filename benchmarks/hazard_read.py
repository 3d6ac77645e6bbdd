"""Benchmark: load a national 1 km hazard raster and sample it for 1,000,000 households.

Writes (or reuses, under benchmarks/.cache/) a national riverine-flood GeoTIFF at 30
arc-seconds (2100 x 1680 cells over 60.5-78 E, 23.5-37.5 N) and a NetCDF copy, then times
reading each with hazards.io.read_raster over the registry's extent and overlaying the
households with hazards.sampling.sample. Prints one JSON line. Target (issue 3): read and
sample 1,000,000 households in under 2 s.

    .venv/bin/python benchmarks/hazard_read.py --households 1000000
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

from hazards import generators
from hazards import sampling as overlay
from hazards.io import read_raster, write_geotiff, write_netcdf
from simulator import registry

CACHE = Path(__file__).resolve().parent / ".cache"
NATIONAL_BBOX = (60.5, 23.5, 78.0, 37.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    CACHE.mkdir(parents=True, exist_ok=True)
    tif = CACHE / f"national-all-rivers-{args.seed}.tif"
    nc = tif.with_suffix(".nc")
    if not tif.exists() or not nc.exists():
        layer = generators.generate("riverine-flood", river="all", bbox=NATIONAL_BBOX, seed=args.seed,
                                    return_period=100)
        write_geotiff(layer, tif)
        write_netcdf(layer, nc)
    households = registry.generate(args.households, seed=args.seed)
    lon, lat = households.lon.to_numpy(), households.lat.to_numpy()
    aoi = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))

    figures = {"households": args.households}
    for name, path in (("geotiff", tif), ("netcdf", nc)):
        t0 = time.perf_counter()
        layer = read_raster(path, aoi=aoi)
        t1 = time.perf_counter()
        intensity, status = overlay.sample(layer, lon, lat)
        t2 = time.perf_counter()
        figures[name] = {
            "cells": int(layer.size),
            "read_s": round(t1 - t0, 3),
            "sample_s": round(t2 - t1, 3),
            "total_s": round(t2 - t0, 3),
            "flooded_households": int(np.nansum(intensity > 0)),
            "outside": int((status == overlay.OUTSIDE).sum()),
        }
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
