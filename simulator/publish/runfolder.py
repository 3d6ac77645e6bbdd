"""A run folder: the plan and its files written together, with a manifest of what went in.

``plan.json``, ``plan.xlsx``, ``households.parquet``, ``hazard.tif`` (one per raster hazard),
``quarantine.csv`` (when registry rows were rejected) and ``manifest.json`` (scenario, the policy
record, input hashes, package versions, seed, timings).
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from hazards.io import write_geotiff
from simulator import __version__
from simulator.plans.orchestrator import RunResult, rasters
from simulator.scenario import file_sha256


def versions() -> dict[str, str]:
    import geopandas
    import pyarrow
    import pydantic
    import rasterio
    import scipy

    return {
        "madad": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scipy": scipy.__version__,
        "xarray": xr.__version__,
        "rasterio": rasterio.__version__,
        "gdal": rasterio.__gdal_version__,
        "geopandas": geopandas.__version__,
        "pyarrow": pyarrow.__version__,
        "pydantic": pydantic.__version__,
    }


def write_run(res: RunResult, out: str | Path, *, scenario_path: str | Path | None = None) -> dict[str, Path]:
    """Write a run folder: plan.json, plan.xlsx, households.parquet, hazard.tif, manifest.json
    (and quarantine.csv when rows were quarantined). Returns the paths written."""
    from simulator.publish.runs import write_households, write_json
    from simulator.publish.xlsx import write_xlsx

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    paths = {
        "plan.json": write_json(res.plan, out / "plan.json"),
        "plan.xlsx": write_xlsx(res.plan, out / "plan.xlsx"),
        "households.parquet": write_households(res.households, out / "households.parquet"),
    }
    for i, layer in enumerate(rasters(res.hazards), start=1):
        name = "hazard.tif" if i == 1 else f"hazard{i}.tif"
        paths[name] = write_geotiff(layer, out / name)
    if len(res.quarantine):
        res.quarantine.to_csv(out / "quarantine.csv", index=False)
        paths["quarantine.csv"] = out / "quarantine.csv"
    timings = dict(res.timings, write_s=time.perf_counter() - t0)
    manifest = {
        "madad_version": __version__,
        "scenario": res.scenario.model_dump(mode="json"),
        "scenario_file": None
        if scenario_path is None
        else {"path": str(scenario_path), "sha256": file_sha256(scenario_path)},
        "policy": res.plan.get("policy"),
        "seed": res.scenario.seed,
        "inputs": res.inputs,
        "outputs": {name: file_sha256(p) for name, p in sorted(paths.items())},
        "versions": versions(),
        "timings_s": {k: round(v, 4) for k, v in timings.items()},
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    paths["manifest.json"] = out / "manifest.json"
    return paths
