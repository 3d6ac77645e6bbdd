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
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from hazards.io import write_geotiff
from simulator import __version__, digests
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
    survives the new one. :class:`RunWriter` does the same with the household table started
    before the plan is built.

    Raises
    ------
    ExportError
        ``out`` is a file or holds files a run does not write (a rerun would delete them), or
        another run still holds the lock after ``lock_timeout`` seconds.
    """
    with RunWriter(out, scenario_path=scenario_path, lock_timeout=lock_timeout) as writer:
        return writer.finish(res)


class RunWriter:
    """A run folder written in two steps, as :func:`write_run` writes it (staged, swapped in
    whole under the folder's lock): :meth:`households` starts writing the household table on a
    thread of its own as soon as it is complete (``madad run`` passes it as the orchestrator's
    ``on_table``, so the table is written while the plan is built), :meth:`finish` writes the
    rest and swaps the folder in. The lock is taken at the first of the two.

    Use it as a context: leaving it with an error (or without :meth:`finish`) stops the table's
    writing and removes the staging folder; ``out`` stays as it was.
    """

    def __init__(self, out: str | Path, *, scenario_path: str | Path | None = None,
                 lock_timeout: float = atomic.LOCK_TIMEOUT_S) -> None:
        self.out = Path(out)
        self.scenario_path = scenario_path
        self.lock_timeout = lock_timeout
        self._staged = None  # the atomic.staged context, once entered
        self._stage: Path | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._table = None  #: the household table being written
        self._digest = None  #: Future of its sha256
        self._stop = threading.Event()
        self._finished = False

    def __enter__(self) -> RunWriter:
        return self

    def _open(self) -> Path:
        if self._stage is None:
            self._staged = atomic.staged(self.out, lock_timeout=self.lock_timeout)
            self._stage, _ = self._staged.__enter__()
        return self._stage

    def households(self, table) -> None:
        """Start writing the household table (:func:`simulator.publish.runs.write_households`)
        into the staging folder, and hashing it, on a thread of its own; returns at once."""
        from simulator.publish.runs import write_households

        path = self._open() / "households.parquet"
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="madad-households")
        self._table = table

        def write() -> str:
            # hashed as it is written (Parquet appends only), not read again after: the hash
            # ends with the writing (a second at the end of a 35 M-household run)
            written = threading.Event()
            digest = digests.follow(path, written)
            try:
                write_households(table, path, stop=self._stop)
            finally:
                written.set()
            return digest.result()

        self._digest = self._pool.submit(write)

    def finish(self, res: RunResult) -> dict[str, Path]:
        """Write the rest of ``res``'s run folder (the household table too, unless it is being
        written already), flush it and swap it in; returns the paths written."""
        stage = self._open()
        if self._digest is None or self._table is not res.households:
            if self._digest is not None:  # another table: this one is not the run's
                self._abandon()
            self.households(res.households)
        names = _write_files(res, stage, self.scenario_path, self._digest)
        self._finished = True
        self.__exit__(None, None, None)
        logger.info("%s: wrote %d files", self.out, len(names))
        return {name: self.out / name for name in names}

    def _abandon(self) -> None:
        """Stop the household table's writing and wait for its thread."""
        self._stop.set()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self._pool, self._digest, self._stop = None, None, threading.Event()

    def __exit__(self, kind, error, trace) -> None:
        staged, self._staged = self._staged, None
        if staged is None:
            return
        if error is not None or not self._finished:
            self._abandon()
            staged.__exit__(kind or RuntimeError, error or RuntimeError("the run folder was not finished"), trace)
            return
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        staged.__exit__(None, None, None)  # swaps the folder in


#: The run's files scanned for raw CNICs before the run is swapped in (the xlsx is built from
#: plan.json; manifest.json holds only hashes and versions, whose hex digits a scan would flag;
#: households.parquet is scanned slice by slice as it is written, see
#: :func:`simulator.publish.runs.write_households`).
SCANNED = ("plan.json", "quarantine.csv")


def _write_files(res: RunResult, folder: Path, scenario_path: str | Path | None, households: Future) -> list[str]:
    """Write the run's files into the staging ``folder`` (the household table is being written
    there already, ``households`` the Future of its sha256), then manifest.json with the sha256
    of each as it is on disk, and flush them all to disk; returns the names, manifest.json last."""
    from simulator.publish.runs import write_json
    from simulator.publish.xlsx import write_xlsx

    t0 = time.perf_counter()
    # the household table is written and hashed on a thread of its own (Arrow's writer and the
    # hash leave Python's lock) while the ensemble left running in the background ends and the
    # smaller files, which need its block, are written; a failure there is raised below
    paths = {"households.parquet": folder / "households.parquet"}
    digests = {"households.parquet": households}
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
