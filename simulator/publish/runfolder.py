"""A run folder: the plan and its files written together, with a manifest of what went in.

``plan.json``, ``plan.xlsx``, ``households.parquet``, ``hazard.tif`` (one per raster hazard),
``quarantine.csv`` (when registry rows were rejected) and ``manifest.json`` (scenario, the policy
record, input hashes, the sha256 of every other file, package versions, seed, timings).

The folder is written beside itself and swapped in whole, under a lock
(:mod:`simulator.publish.atomic`); readers check the files against the manifest
(:func:`simulator.publish.runs.load_run`).
"""

from __future__ import annotations

import json
import logging
import platform
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from hazards.io import write_geotiff
from simulator import __version__
from simulator.plans.orchestrator import RunResult, rasters
from simulator.publish import atomic
from simulator.publish.cells import neutralise
from simulator.registry import cnic
from simulator.scenario import file_sha256

logger = logging.getLogger(__name__)


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


def write_run(
    res: RunResult,
    out: str | Path,
    *,
    scenario_path: str | Path | None = None,
    lock_timeout: float = atomic.LOCK_TIMEOUT_S,
) -> dict[str, Path]:
    """Write a run folder: plan.json, plan.xlsx, households.parquet, hazard.tif, manifest.json
    (and quarantine.csv when rows were quarantined). Returns the paths written.

    The folder is never written in place (:mod:`simulator.publish.atomic`): the files go to a
    staging folder beside ``out``, ``manifest.json`` last with the sha256 of each file as written,
    and the staging folder then replaces ``out`` in one swap, under a lock that makes a second run
    into the same ``out`` wait (up to ``lock_timeout`` seconds). A run killed at any point leaves
    ``out`` as the complete earlier run or the complete new one; nothing of the earlier run
    survives the new one.

    Raises
    ------
    ExportError
        ``out`` is a file or holds files a run does not write (a rerun would delete them), or
        another run still holds the lock after ``lock_timeout`` seconds.
    """
    given = Path(out)
    names = atomic.replace_folder(given, lambda stage, _target: _write_files(res, stage, scenario_path),
                                  lock_timeout=lock_timeout)
    logger.info("%s: wrote %d files", given, len(names))
    return {name: given / name for name in names}


#: The run's files scanned for raw CNICs before the run is swapped in (the xlsx is built from
#: plan.json; manifest.json holds only hashes and versions, whose hex digits a scan would flag;
#: households.parquet is scanned slice by slice as it is written, see
#: :func:`simulator.publish.runs.write_households`).
SCANNED = ("plan.json", "quarantine.csv")


def _write_files(res: RunResult, folder: Path, scenario_path: str | Path | None) -> list[str]:
    """Write the run's files into the empty staging ``folder``, then manifest.json with the sha256
    of each as it is on disk, and flush them all to disk; returns the names, manifest.json last."""
    from simulator.publish.runs import write_households, write_json
    from simulator.publish.xlsx import write_xlsx

    t0 = time.perf_counter()
    table = folder / "households.parquet"

    def households() -> str:
        write_households(res.households, table)
        return file_sha256(table)

    # a second thread writes and hashes the household table (Arrow's writer and the hash leave
    # Python's lock) while the ensemble left running in the background ends and the smaller
    # files, which need its block, are written
    with ThreadPoolExecutor(1) as pool:
        paths = {"households.parquet": table}
        digests = {"households.parquet": pool.submit(households)}
        res.complete()
        paths["plan.json"] = write_json(res.plan, folder / "plan.json")
        paths["plan.xlsx"] = write_xlsx(res.plan, folder / "plan.xlsx")
        for i, layer in enumerate(rasters(res.hazards), start=1):
            name = "hazard.tif" if i == 1 else f"hazard{i}.tif"
            paths[name] = write_geotiff(layer, folder / name)
        if len(res.quarantine):
            neutralise(res.quarantine).to_csv(folder / "quarantine.csv", index=False)
            paths["quarantine.csv"] = folder / "quarantine.csv"
        for name in SCANNED:  # the last door: no raw CNIC in what a run leaves behind
            if name in paths:
                cnic.scan_file(paths[name])
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
            "outputs": {name: digests.pop(name).result() if name in digests else file_sha256(p)
                        for name, p in sorted(paths.items())},
            "versions": versions(),
            "timings_s": {k: round(v, 4) for k, v in timings.items()},
            "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    atomic.fsync_tree(folder)
    return [*paths, "manifest.json"]
