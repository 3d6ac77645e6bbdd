"""Runs past one machine: the plan's stage functions mapped over a registry's parts with Dask.

``madad run SCENARIO --registry DATASET --scheduler local|auto|tcp://host:8786`` comes here
(:func:`run`, inside :func:`connect`). The registry is read and validated part by part on the
workers; each part's engine columns stay in its worker's memory, and only what the national
steps need travels to the client. The plan is the one the in-memory run makes of the same
registry: the same plan.json, household table and quarantine (``tests/test_distributed.py``
runs both on a real cluster of separate processes and compares them).

==========  ==========================================================================================
door        :func:`open_part` on the workers: a part read (:class:`PartSpec`) and validated on its
            own (:func:`simulator.registry.validate`), its engine columns kept (:class:`Part`). The
            client merges the reports and quarantines (rows numbered across the registry) and
            finds ids repeated across parts by their 64-bit hashes; only rows whose hash repeats
            are compared as text, and every later occurrence is quarantined, as validating the
            whole registry does.
overlay     :func:`overlay_part` on the workers: every household sampled on the hazards (located
            once per grid and kept for the ensemble's members, :class:`hazards.sampling.Points`).
            Back come the households with a tier, with their positions in the registry, and one
            weighted row per (district, province, tehsil, overlay status) of the others.
engine      on the client, :func:`simulator.engine.evaluate` over that summary with the overlay
            given. Targeting, payouts, dedup, cost-sharing and the national budgets see every
            affected household; the budgets rank them by severity, PMT and registry position, so
            they fund exactly whom the in-memory engine funds, in one pass. The others only count
            (households, statuses, tiers), which their weighted rows do exactly.
plan        :func:`simulator.plans.orchestrator.plan_of`, as in memory.
ensemble    overlay and engine again for each member, on the rows some member reaches: each part's
            found once on its worker (:func:`reach_part`, from the members' pixel-wise highest
            values), its other rows counted once; each member's hazards go once to every worker.
table       :func:`table_part` on the workers: each part's rows of the household table with the
            client's results for its affected households, fetched in part order and streamed
            into households.parquet (:func:`simulator.publish.runs.write_households`).
==========  ==========================================================================================

Limits: the affected households (not the registry) are gathered on the client, about 50 bytes
each; a hazard raster is sent whole to every worker; provincial registries
(``registry.provincial``) are not merged in a distributed run; the registry must be a file or
a dataset folder (the synthetic generator runs in memory; write a dataset with
``madad registry generate --partitioned``).
"""

from __future__ import annotations

import logging
import operator
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from hazards import sampling
from hazards import tables as data
from hazards.errors import HazardError, RegistryError, SchedulerError
from simulator import engine
from simulator.engine import targeting
from simulator.engine.overlay import overlay_all
from simulator.plans import delivery_plan, orchestrator
from simulator.registry import partitioned, read, validation
from simulator.scenario import Scenario, file_sha256

log = logging.getLogger(__name__)

#: Rows per part when a single Parquet file is split by its row groups.
ROWS_PER_PART = partitioned.ROWS_PER_PART
#: Engine columns the steps after the overlay do not use (not sent to the client).
_OVERLAY_ONLY = ("lon", "lat", "housing")
#: Parts whose household tables are built ahead of the one being written.
_TABLES_AHEAD = 1


# ---------------------------------------------------------------------------------------------
# The cluster
# ---------------------------------------------------------------------------------------------


@contextmanager
def connect(scheduler: str, *, workers: int | None = None, memory_limit: str | int = "auto"):
    """A ``dask.distributed`` client for ``scheduler``, closed (with its local cluster) on exit.

    Parameters
    ----------
    scheduler
        ``local``: a LocalCluster of worker processes on this machine (``workers``, default one
        per core up to 4, one thread each, ``memory_limit`` each); ``tcp://host:port`` (or any
        address Dask takes): an existing cluster's scheduler; ``auto``: the scheduler in Dask's
        configuration (``DASK_SCHEDULER_ADDRESS``, or ``scheduler-address`` in a Dask config
        file) if one is set, else ``local``.

    Raises
    ------
    SchedulerError
        The scheduler cannot be reached (within 20 s) or the value is not understood.
    """
    import dask

    if not logging.getLogger().isEnabledFor(logging.INFO):  # quiet unless --verbose
        # the workers (spawned processes) read the environment, this process the config
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
        dask.config.set({"logging.distributed": "warning"})
        logging.getLogger("distributed").setLevel(logging.WARNING)
    from dask.distributed import Client, LocalCluster

    if scheduler == "auto":
        scheduler = dask.config.get("scheduler-address", None) or os.environ.get("DASK_SCHEDULER_ADDRESS") or "local"
    cluster = None
    try:
        if scheduler == "local":
            n = workers or max(1, min(os.cpu_count() or 1, 4))
            # the workers keep their parts in memory (about 50 bytes a household): no spilling
            # from 60 % of the limit, and a pause only at 95 % (Dask's default is 80 %)
            with dask.config.set({"distributed.worker.memory.target": False,
                                  "distributed.worker.memory.pause": 0.95}):
                cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                       memory_limit=memory_limit, dashboard_address=":0")
            client = Client(cluster)
        elif "://" in scheduler or ":" in scheduler:
            client = Client(scheduler, timeout="20s")
        else:
            raise SchedulerError(f"--scheduler {scheduler!r}: give local, auto or a scheduler address "
                                 "such as tcp://10.0.0.5:8786.")
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise SchedulerError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc}). Start one "
                             "with `dask scheduler` and workers with `dask worker ADDRESS`, or use --scheduler local.") from exc
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def describe(client) -> str:
    """One line on the cluster: scheduler address, workers, threads, dashboard."""
    info = client.scheduler_info()
    workers = info.get("workers", {})
    threads = sum(w.get("nthreads", 0) for w in workers.values())
    link = client.dashboard_link if _has_dashboard(info) else "none (install bokeh for the dashboard)"
    return f"Dask scheduler {info.get('address', '?')}: {len(workers)} workers, {threads} threads; dashboard {link}"


def _has_dashboard(info: dict) -> bool:
    return "dashboard" in info.get("services", {})


# ---------------------------------------------------------------------------------------------
# Parts and what the workers keep
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartSpec:
    """Where one part of a registry lies: a part file of a dataset folder, some row groups of a
    Parquet file, or a whole file (a CSV)."""

    path: str
    dataset: str | None = None  #: the dataset folder of a part file (Hive values, messages)
    row_groups: tuple[int, ...] | None = None  #: a Parquet file's row groups in this part

    @property
    def label(self) -> str:
        """The part in messages: its path, and its row groups for a split file."""
        if self.row_groups:
            return f"{self.path} (row groups {self.row_groups[0]}-{self.row_groups[-1]})"
        return self.path

    def frame(self, columns: list[str] | None = None) -> pd.DataFrame:
        """The part's rows as read, unvalidated (as :func:`simulator.registry.read_raw` gives a
        whole file's); ``columns``: only these."""
        if self.dataset is not None:
            return partitioned.read_part(self.dataset, self.path, columns=columns).to_pandas()
        if self.row_groups is not None:
            path = Path(self.path)
            try:
                if columns is not None:
                    import pyarrow.parquet as pq

                    return pq.ParquetFile(path).read_row_groups(list(self.row_groups), columns=columns).to_pandas()
                frame = read._read_parquet_table(path, self.row_groups).to_pandas()
            except Exception as exc:  # pyarrow parse errors
                raise RegistryError(f"{self.label}: cannot be read as a registry ({exc}).") from exc
            validation.check_columns(frame, self.path)
            return frame
        frame = read.read_raw(self.path)
        return frame if columns is None else frame[columns]


def part_specs(path: str | Path, *, rows_per_part: int = ROWS_PER_PART) -> list[PartSpec]:
    """The parts of a registry in registry order: a dataset folder's part files
    (:func:`simulator.registry.parts`), a Parquet file's row groups gathered into parts of about
    ``rows_per_part`` rows, or a CSV file whole.

    Raises
    ------
    RegistryError
        No such file, or a folder that is no dataset.
    """
    path = Path(path)
    if path.is_dir():
        if not partitioned.is_dataset(path):
            raise RegistryError(f"{path}: folder holds no {partitioned.MANIFEST} and no .parquet registry parts.")
        return [PartSpec(str(p), dataset=str(path)) for p in partitioned.parts(path)]
    if not path.exists():
        raise RegistryError(f"{path}: no such registry file. Give a .parquet or .csv file or a dataset folder.")
    if path.suffix.lower() not in read.PARQUET_SUFFIXES:
        return [PartSpec(str(path))]
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
    except Exception as exc:
        raise RegistryError(f"{path}: cannot be read as a registry ({exc}).") from exc
    sizes = np.array([meta.row_group(g).num_rows for g in range(meta.num_row_groups)], dtype=np.int64)
    if not len(sizes):
        return [PartSpec(str(path), row_groups=())]
    # row group g starts part number (rows before it) // rows_per_part: whole groups, in order
    part_of = (np.concatenate([[0], np.cumsum(sizes)[:-1]]) // max(int(rows_per_part), 1))
    starts = np.flatnonzero(np.diff(part_of, prepend=-1))
    groups = np.split(np.arange(len(sizes)), starts[1:])
    return [PartSpec(str(path), row_groups=tuple(int(g) for g in block)) for block in groups]


@dataclass
class Part:
    """What a worker keeps of one part between tasks: its valid households' engine columns."""

    spec: PartSpec
    rows_read: int
    dropped: np.ndarray  #: rows of the part's file (0-based) left out: quarantined
    cols: dict[str, np.ndarray]  #: the overlay's columns of the valid rows (:data:`_OVERLAY_COLUMNS`)
    packed: dict  #: the engine's other columns, packed (:func:`_pack`; :func:`engine_columns` unpacks)
    tehsil: np.ndarray  #: each valid row's code in ``tehsil_labels`` (-1: none) [int16 or int32]
    tehsil_labels: list[str]
    group: np.ndarray  #: each valid row's (district, province, tehsil) group [int32]
    groups: dict[str, np.ndarray]  #: per group: district, province, tehsil (engine), tehsil label
    points: sampling.Points
    #: windows of raster files read for this part's households (:class:`RasterFile`)
    windows: dict = field(default_factory=dict)

    @property
    def kept(self) -> np.ndarray:
        """Whether each row of the part's file is a valid household (bool)."""
        keep = np.ones(self.rows_read, dtype=bool)
        keep[self.dropped] = False
        return keep


#: Engine columns the overlay reads, kept as they are; the others are packed (:func:`_pack`).
_OVERLAY_COLUMNS = ("lon", "lat", "province", "district", "housing", "tehsil")
#: The registry's flags, one bit each of :func:`_pack`'s ``flags``.
_FLAGS = ("enrolled_kafaalat", "enrolled_prov_uct", "enrolled_prov_cct", "female_headed", "disability")


def _narrow(values: np.ndarray) -> np.ndarray:
    """Integers as int8 when they fit (household sizes, children: at most 50), else as they are."""
    if not len(values) or (int(values.min()) >= -128 and int(values.max()) <= 127):
        return values.astype(np.int8)
    return values


def _pack(cols: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict]:
    """:func:`simulator.engine.household_columns` as a worker keeps them, about 36 bytes a
    household instead of 50: the overlay's columns as they are; the flags as bits of one byte;
    sizes as int8; weights dropped when every one is 1; ``source`` and ``duplicate`` dropped
    (a distributed run merges no provincial registry: they are 0 everywhere)."""
    flags = np.zeros(len(cols["lon"]), np.uint8)
    for bit, name in enumerate(_FLAGS):
        flags |= cols[name].astype(np.uint8) << np.uint8(bit)
    weight = cols["weight"]
    packed = {
        "flags": flags, "pmt_score": cols["pmt_score"],
        "hh_size": _narrow(cols["hh_size"]), "children_under5": _narrow(cols["children_under5"]),
        "weight": None if bool((weight == 1).all()) else weight.astype(np.int32),  # <= 1e6 (validated)
    }
    return {k: cols[k] for k in _OVERLAY_COLUMNS}, packed


def engine_columns(part: Part, index: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The part's :func:`simulator.engine.household_columns` (rows ``index``, default all), with
    their dtypes: what :func:`_pack` keeps, unpacked."""
    def take(values: np.ndarray) -> np.ndarray:
        return values if index is None else values[index]

    n = len(part.group) if index is None else len(index)
    out = {k: take(v) for k, v in part.cols.items()}
    flags = take(part.packed["flags"])
    for bit, name in enumerate(_FLAGS):
        out[name] = ((flags >> np.uint8(bit)) & np.uint8(1)).astype(bool)
    out["hh_size"] = take(part.packed["hh_size"]).astype(np.int16)
    out["children_under5"] = take(part.packed["children_under5"]).astype(np.int16)
    out["pmt_score"] = take(part.packed["pmt_score"])
    weight = part.packed["weight"]
    out["weight"] = np.ones(n, np.int64) if weight is None else take(weight).astype(np.int64)
    out["source"] = np.zeros(n, np.int8)
    out["duplicate"] = np.zeros(n, bool)
    return out


def _weight_sum(part: Part) -> int:
    weight = part.packed["weight"]
    return len(part.group) if weight is None else int(weight.sum(dtype=np.int64))


def _grouped(cols: dict[str, np.ndarray], tehsil: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Each row's group of (district, province, engine tehsil, tehsil label): what a household
    that no hazard reaches counts by in a plan."""
    parts = [cols["district"].astype(np.int64), cols["province"].astype(np.int64),
             cols["tehsil"].astype(np.int64) + 1, tehsil.astype(np.int64) + 1]
    key = np.zeros(len(tehsil), dtype=np.int64)
    sizes = [int(p.max()) + 1 if len(p) else 1 for p in parts]
    for values, size in zip(parts, sizes, strict=True):
        key = key * size + values
    unique, group = np.unique(key, return_inverse=True)
    out = {}
    for name, size in zip(("tehsil_label", "tehsil", "province", "district"), sizes[::-1], strict=True):
        out[name] = unique % size
        unique = unique // size
    out["tehsil_label"] -= 1
    out["tehsil"] -= 1
    return group.astype(np.int32), out


def open_part(spec: PartSpec) -> tuple[Part, dict]:
    """Read and validate one part on a worker: the :class:`Part` it keeps, and what the client
    needs of the door (report, quarantine, id hashes, extent, district codes)."""
    raw = spec.frame()
    reg = validation.validate(raw, source=spec.label)
    rows_read = len(raw)
    del raw
    hh = reg.households
    full = engine.household_columns(hh, tehsils=True)
    if full["source"].any() or full["duplicate"].any():  # never, for a validated registry alone
        raise RegistryError(f"{spec.label}: provincial records in a registry part; merge in memory.")
    cols, packed = _pack(full)
    del full
    tehsil = hh["tehsil_id"].array
    codes = np.asarray(tehsil.codes)
    codes = codes.astype(np.int16 if len(tehsil.categories) < 2**15 else np.int32)
    group, groups = _grouped(cols, codes)
    part = Part(
        spec=spec, rows_read=rows_read, dropped=reg.quarantine["row"].to_numpy(dtype=np.int64) - 1,
        cols=cols, packed=packed, tehsil=codes, tehsil_labels=[str(c) for c in tehsil.categories],
        group=group, groups=groups, points=sampling.Points(cols["lon"], cols["lat"]),
    )
    door = {
        "report": reg.report,
        "quarantine": reg.quarantine,
        "rows_read": rows_read,
        "valid": len(hh),
        "hashes": validation.id_hashes(hh["household_id"]),
        "extent": _extent(part)[1],
        "districts": sorted({str(d) for d in hh["district_id"].unique()}),
        "provinces": validation.province_of_districts(hh).to_dict(),
        "weight": _weight_sum(part),
        "tehsil_labels": part.tehsil_labels,
    }
    return part, door


def _extent(part: Part) -> tuple[int, tuple | None]:
    """A part's households [weighted] and lon/lat extent (None when empty)."""
    lon, lat = part.cols["lon"], part.cols["lat"]
    extent = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())) if len(lon) else None
    return _weight_sum(part), extent


def ids_of(part: Part, rows: np.ndarray) -> list[str]:
    """The ids (as validation keeps them: stripped) of some valid rows of a part (positions among
    its valid households), read again from its file: ids are not kept in the workers' memory."""
    ids = _valid_ids(part)
    return ids.take(np.asarray(rows, dtype=np.int64)).to_pylist()


def _valid_ids(part: Part):
    import pyarrow as pa

    ids = validation.stripped_ids(part.spec.frame(columns=["household_id"])["household_id"])
    return ids if not len(part.dropped) else ids.filter(pa.array(part.kept))


def drop_rows(part: Part, rows: np.ndarray) -> Part:
    """The part without some of its valid rows (positions among them): ids repeated in an
    earlier part, quarantined by the client."""
    keep = np.ones(len(part.group), dtype=bool)
    keep[rows] = False
    valid_rows = np.flatnonzero(part.kept)
    cols = {k: v[keep] for k, v in part.cols.items()}
    packed = {k: None if v is None else v[keep] for k, v in part.packed.items()}
    tehsil = part.tehsil[keep]
    group, groups = _grouped(cols, tehsil)
    return Part(
        spec=part.spec, rows_read=part.rows_read, dropped=np.sort(np.concatenate([part.dropped, valid_rows[rows]])),
        cols=cols, packed=packed, tehsil=tehsil, tehsil_labels=part.tehsil_labels, group=group, groups=groups,
        points=sampling.Points(cols["lon"], cols["lat"]),
    )


@dataclass(frozen=True)
class RasterFile:
    """A scenario's hazard raster file, read by each worker for its own part: only the window
    covering that part's households (:func:`hazards.io.read_raster` with their extent), so a
    national raster is never sent whole. Sampling a window gives the values sampling the
    whole raster gives (the same pixels, in the file's CRS)."""

    path: str
    units: str | None = None
    kind: str | None = None
    variable: str | None = None
    time: int | str | None = None
    #: a lon/lat inside the raster: a part whose households the raster misses reads the pixel
    #: there, so that all of them sample as outside (as they do on the whole raster)
    inside: tuple[float, float] | None = None

    def window(self, part: Part):
        """The window of this raster for ``part`` (read once per part, then kept)."""
        found = part.windows.get(self)
        if found is None:
            from hazards.georef import aoi_of_points
            from hazards.io import read_raster

            def read(aoi):
                return read_raster(self.path, aoi=aoi, units=self.units, kind=self.kind, variable=self.variable,
                                   time=self.time)

            aoi = aoi_of_points(part.cols["lon"], part.cols["lat"]) if len(part.group) else None
            try:
                found = read(aoi)
            except HazardError:
                # the client read this file already: what fails here is a part the raster
                # misses (refused as not overlapping); its households all sample as outside
                # a one-pixel window read inside the raster, as they do on the whole raster
                if self.inside is None:
                    raise
                lon, lat = self.inside
                found = read((lon - 1e-6, lat - 1e-6, lon + 1e-6, lat + 1e-6))
            part.windows[self] = found
        return found


def worker_sources(scn: Scenario, layers: list, base: Path | None) -> list:
    """The hazard sources as the workers get them: raster files as :class:`RasterFile` (each
    worker reads its parts' windows), generated rasters and declared tables as they are."""
    return [RasterFile(str(orchestrator._resolve(spec.file, base)), spec.units, spec.kind, spec.variable, spec.time,
                       _inside(layer)) if spec.file is not None else layer
            for spec, layer in zip(scn.hazards, layers, strict=True)]


def _inside(layer) -> tuple[float, float]:
    """The lon/lat of the centre of a raster layer's first pixel (inside the raster)."""
    from pyproj import Transformer

    from hazards.layer import crs_of, transform_of

    x, y = transform_of(layer) @ (0.5, 0.5)
    lon, lat = Transformer.from_crs(crs_of(layer), "EPSG:4326", always_xy=True).transform(x, y)
    return float(lon), float(lat)


def _resolved(part: Part, layers: list) -> list:
    return [layer.window(part) if isinstance(layer, RasterFile) else layer for layer in layers]


def _cell_households(part: Part, cell: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Households per (group, overlay status) cell of ``part``'s rows ``rows`` (default all),
    ``cell`` given for those rows [int64, one per cell]."""
    size = len(part.groups["district"]) * 3
    weight = part.packed["weight"]
    if weight is None:
        return np.bincount(cell, minlength=size).astype(np.int64)
    w = weight if rows is None else weight[rows]
    return np.bincount(cell, weights=w, minlength=size).round().astype(np.int64)


@dataclass
class Reached:
    """What a worker keeps of one part for an ensemble's members: the rows some member can
    give a tier (:func:`simulator.plans.ensemble.rows_reached`), as a part of their own, and
    the households of the other rows per (group, overlay status), which no member reaches."""

    rows: np.ndarray  #: the part's rows some member reaches (rising)
    part: Part  #: those rows: their columns, groups and located points
    rest: np.ndarray  #: households of the other rows per cell of :func:`overlay_part` [int64]


def reach_part(part: Part, scn: Scenario, layers: list, reach: list) -> Reached:
    """The :class:`Reached` of one part, from :func:`simulator.plans.ensemble.reach_of` the
    members (``layers``: the plan's own hazard sources as the workers get them). The other rows'
    overlay status is the plan's member's; it counts in no figure of the ensemble (households,
    affected, paid and PKR per district: the others add only their households)."""
    from simulator.plans import ensemble

    resolved = _resolved(part, layers)
    rows = ensemble.rows_reached(scn, reach, part.cols, resolved, part.points)
    _, _, where, _ = overlay_all(scn, resolved, part.cols, part.points)
    others = np.ones(len(part.group), bool)
    others[rows] = False
    others = np.flatnonzero(others)
    rest = _cell_households(part, part.group[others].astype(np.int64) * 3 + where[others], others)
    cols = {k: v[rows] for k, v in part.cols.items()}
    sub = Part(
        spec=part.spec, rows_read=part.rows_read, dropped=part.dropped, cols=cols,
        packed={k: None if v is None else v[rows] for k, v in part.packed.items()},
        tehsil=part.tehsil[rows], tehsil_labels=part.tehsil_labels, group=part.group[rows], groups=part.groups,
        points=sampling.Points(cols["lon"], cols["lat"]), windows=part.windows,
    )
    return Reached(rows, sub, rest)


def overlay_part(part: Part, scn: Scenario, layers: list, offset: int, reached: Reached | None = None) -> dict:
    """The overlay of one part and its summary: the households with a tier (their engine
    columns, overlay and registry positions, ``offset`` + their row among the part's valid
    households) and, for the others, households per (group, overlay status). With ``reached``
    (an ensemble's member), only the rows some member reaches are overlaid; the others are
    counted from it."""
    rows = None
    if reached is not None:
        rows, sources, part = reached.rows, _resolved(part, layers), reached.part
    else:
        sources = _resolved(part, layers)
    intensity, tier, where, share = overlay_all(scn, sources, part.cols, part.points)
    at = np.flatnonzero(tier > 0)
    cell = part.group.astype(np.int64) * 3 + where
    rest = _cell_households(part, cell) - _cell_households(part, cell[at], at)
    if reached is not None:
        rest += reached.rest
    cells = np.flatnonzero(rest)
    return {
        "positions": offset + (at if rows is None else rows[at]).astype(np.int64),
        # a delivery plan sends the affected (paid) households to sites: their places too
        "cols": {k: v for k, v in engine_columns(part, at).items()
                 if k not in (_OVERLAY_ONLY if scn.delivery is None else ("housing",))},
        "tier": tier[at], "where": where[at], "share": None if share is None else share[at],
        "intensity": {k: v[at] for k, v in intensity.items()},
        "tehsil": part.tehsil[at],
        "rest": {
            **{k: v[cells // 3] for k, v in part.groups.items()},
            "where": (cells % 3).astype(np.int8),
            "weight": rest[cells],
        },
    }


def table_part(part: Part, scn: Scenario, layers: list, patch: dict, copies: dict,
               labels: list[str]) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """One part's rows of the household table (:func:`simulator.plans.orchestrator.result_table`)
    and the copies of its split weighted rows (None when none), with the client's results
    (``patch``: tier, status, money and payer of its affected rows; ``copies``: rows and weights
    of split rows' unaffected rest). ``labels``: the registry's tehsil labels, so that every
    part's table has the same categories."""
    intensity, _, where, _ = overlay_all(scn, _resolved(part, layers), part.cols, part.points)
    n = len(where)
    weight = part.packed["weight"]
    base = SimpleNamespace(
        intensity=intensity,
        weight=np.ones(n, np.int64) if weight is None else weight.astype(np.int64),
        tier=np.zeros(n, np.int8),
        eligible=np.zeros(n, bool),
        amount_pkr=np.zeros(n, np.int64), federal_pkr=np.zeros(n, np.int64), provincial_pkr=np.zeros(n, np.int64),
        payer=np.zeros(n, np.int8),
        status=np.add(where, np.int8(targeting.NOT_AFFECTED - sampling.INSIDE), dtype=np.int8),
    )
    lookup = np.append(pd.Index(labels).get_indexer(part.tehsil_labels), -1)
    households = pd.DataFrame({
        "household_id": pd.array(_valid_ids(part), dtype="string"),
        "province_code": pd.Categorical.from_codes(part.cols["province"], categories=list(data.PROVINCES)),
        "district_id": pd.Categorical.from_codes(part.cols["district"], categories=data.districts().district_id),
        "tehsil_id": pd.Categorical.from_codes(lookup[part.tehsil], categories=pd.Index(labels, dtype="string")),
        "hh_size": part.packed["hh_size"].astype(np.int16),
        "pmt_score": part.packed["pmt_score"],
    })
    rest = None
    if len(copies["rows"]):
        r = copies["rows"]
        rest_res = SimpleNamespace(**{k: getattr(base, k)[r] for k in vars(base) if k != "intensity"},
                                   intensity={k: v[r] for k, v in intensity.items()})
        rest_res.weight = copies["weight"]
        rest = orchestrator.result_table(households.iloc[r].reset_index(drop=True), rest_res)
    r = patch["rows"]
    for name in ("tier", "eligible", "amount_pkr", "federal_pkr", "provincial_pkr", "payer", "status", "weight"):
        getattr(base, name)[r] = patch[name]
    frame = orchestrator.result_table(households, base)
    if "site_ids" in patch:  # a delivery plan: each paid row's site and travel, as in memory
        ids = pd.Index(patch["site_ids"])
        site = np.full(n, -1, np.int32)
        site[r] = patch["site"]
        travel = np.full(n, np.nan, np.float32)
        travel[r] = patch["travel_km"]
        frame["site_id"] = pd.Categorical.from_codes(site, categories=ids)
        frame["travel_km"] = travel
        if rest is not None:
            rest["site_id"] = pd.Categorical.from_codes(np.full(len(rest), -1, np.int32), categories=ids)
            rest["travel_km"] = np.full(len(rest), np.nan, np.float32)
    return frame, rest


# ---------------------------------------------------------------------------------------------
# The client's side
# ---------------------------------------------------------------------------------------------


def _rows(spec: PartSpec) -> int:
    """Rows of a part, from its Parquet footer (a CSV counts as 0: it is read whole anyway)."""
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(spec.path).metadata
    except Exception:  # a CSV, or unreadable: its worker says why
        return 0
    groups = spec.row_groups if spec.row_groups is not None else range(meta.num_row_groups)
    return sum(meta.row_group(g).num_rows for g in groups)


def _on(worker: str | None) -> dict:
    """Where a task on a part runs: on the part's worker when it is up (a loose restriction:
    another worker takes it, copying the part, only when that one is gone)."""
    return {} if worker is None else {"workers": [worker], "allow_other_workers": True}


def _placement(client, specs: list[PartSpec]) -> list[str | None]:
    """The worker each part is read on: the parts' rows spread evenly over the workers (largest
    part first, to the worker holding fewest rows), since a worker keeps its parts in memory
    for the whole run. None (any worker) when the cluster has fewer than two workers."""
    workers = sorted(client.scheduler_info().get("workers", {}))
    if len(workers) < 2:
        return [None] * len(specs)
    rows = np.array([_rows(spec) for spec in specs], dtype=np.int64)
    held = dict.fromkeys(workers, 0)
    out: list[str | None] = [None] * len(specs)
    for i in np.argsort(-rows, kind="stable"):  # loops over parts (tens), not rows
        worker = min(held, key=held.get)
        out[i] = worker
        held[worker] += int(rows[i])
    return out


@dataclass
class _Door:
    """The door's outcome on the client: the parts (futures of :class:`Part`) and what the
    plan needs of the registry."""

    parts: list
    workers: list  #: the worker each part was placed on (None: any)
    offsets: np.ndarray  #: position of each part's first valid household in the registry
    valid: int
    weight: int
    report: validation.ValidationReport
    quarantine: pd.DataFrame
    extent: tuple | None
    districts: list[str]
    province_of: pd.Series
    labels: list[str]  #: the registry's tehsil labels, parts' in first-seen order
    lookups: list[np.ndarray]  #: per part, its tehsil label codes to ``labels`` (last: -1)


def _open(client, specs: list[PartSpec], source: str, say: Callable[[str], None]) -> _Door:
    """The door over every part: validated on the workers, merged here, ids repeated across
    parts quarantined (later occurrences; see :func:`simulator.registry.validate`)."""
    from dask.distributed import as_completed, wait

    placed = _placement(client, specs)
    opened = [client.submit(open_part, spec, pure=False, **_on(worker)) for spec, worker in zip(specs, placed, strict=True)]
    # the getitem tasks too, or an idle worker would copy a busy one's whole part to take it apart
    parts = [client.submit(operator.getitem, f, 0, **_on(w)) for f, w in zip(opened, placed, strict=True)]
    summaries = [client.submit(operator.getitem, f, 1, **_on(w)) for f, w in zip(opened, placed, strict=True)]
    for done, _ in enumerate(as_completed(summaries), start=1):
        say(f"registry parts read and checked: {done} of {len(specs)}")
    doors = client.gather(summaries)
    del summaries
    wait(parts)
    del opened  # the door's hashes are dropped on the workers; the parts stay
    read_before = np.concatenate([[0], np.cumsum([d["rows_read"] for d in doors])[:-1]]).astype(np.int64)
    quarantine = [d["quarantine"].assign(row=d["quarantine"]["row"] + int(o)) for d, o in zip(doors, read_before, strict=True)]
    report = validation.merge_reports([d["report"] for d in doors], source)
    valid = [d["valid"] for d in doors]
    hashes = [d.pop("hashes") for d in doors]
    found = validation._repeated(np.concatenate(hashes)) if sum(valid) else np.zeros(0, np.uint64)
    if found.size:
        say("checking ids repeated across the registry's parts...")
        rows = [np.flatnonzero(np.isin(h, found)) for h in hashes]
        asked = [i for i, r in enumerate(rows) if len(r)]  # only parts holding a candidate read their ids again
        texts = dict(zip(asked, client.gather([client.submit(ids_of, parts[i], rows[i], **_on(placed[i]))
                                               for i in asked]), strict=True))
        owner = np.concatenate([np.full(len(rows[i]), i) for i in asked])
        local = np.concatenate([rows[i] for i in asked])
        text = pd.Series(pd.array([t for i in asked for t in texts[i]], dtype="string"))
        repeated = text.duplicated(keep="first").to_numpy()
        # a repeat inside one part was quarantined by that part's door; these span parts
        for i in np.unique(owner[repeated]):
            mine = repeated & (owner == i)
            drop = local[mine]  # rising: a part's candidates are in row order
            kept_rows = np.flatnonzero(~np.isin(np.arange(doors[i]["rows_read"]),
                                                doors[i]["quarantine"]["row"].to_numpy() - 1))
            quarantine.append(pd.DataFrame({"row": kept_rows[drop] + 1 + int(read_before[i]),
                                            "household_id": text[mine].array,
                                            "reason": "duplicate_id"}))
            parts[i] = client.submit(drop_rows, parts[i], drop, **_on(placed[i]))
            valid[i] -= len(drop)
        n = int(repeated.sum())
        report.rows_valid -= n
        report.rows_quarantined += n
        report.reasons["duplicate_id"] = report.reasons.get("duplicate_id", 0) + n
        again = client.gather([client.submit(_extent, p, **_on(w)) for p, w in zip(parts, placed, strict=True)])
        weight = sum(w for w, _ in again)
        for d, (_, extent) in zip(doors, again, strict=True):
            d["extent"] = extent
    else:
        weight = sum(d["weight"] for d in doors)
    quarantine = pd.concat(quarantine, ignore_index=True).sort_values("row", kind="stable").reset_index(drop=True) \
        if quarantine else pd.DataFrame({"row": [], "household_id": [], "reason": []})
    quarantine["row"] = quarantine["row"].astype(np.int64)
    if doors:  # the reasons' text type as one part's door gives it
        quarantine["reason"] = quarantine["reason"].astype(doors[0]["quarantine"]["reason"].dtype)
    if report.rows_quarantined:
        log.warning("%s: %d of %d rows quarantined", source, report.rows_quarantined, report.rows_read)
    extents = np.array([d["extent"] for d in doors if d["extent"] is not None]).reshape(-1, 4)
    labels, lookups = [], []
    for d in doors:
        for label in d["tehsil_labels"]:
            if label not in labels:
                labels.append(label)
    index = pd.Index(labels)
    lookups = [np.append(index.get_indexer(d["tehsil_labels"]), -1).astype(np.int32) for d in doors]
    province_of: dict[str, str] = {}
    for d in doors:
        for k, v in d["provinces"].items():
            province_of.setdefault(k, v)
    return _Door(
        parts=parts, workers=placed,
        offsets=np.concatenate([[0], np.cumsum(valid)[:-1]]).astype(np.int64),
        valid=int(sum(valid)), weight=weight, report=report, quarantine=quarantine,
        extent=(extents[:, 0].min(), extents[:, 1].min(), extents[:, 2].max(), extents[:, 3].max()) if len(extents) else None,
        districts=sorted({c for d in doors for c in d["districts"]}),
        province_of=pd.Series(province_of, dtype=object), labels=labels, lookups=lookups,
    )


@dataclass
class _Summary:
    """The registry as the engine needs it for one member: affected rows, then one weighted
    row per group of the others."""

    cols: dict[str, np.ndarray]
    overlay: tuple
    positions: np.ndarray
    tehsil: pd.Categorical
    affected: int  #: rows of affected households (the first rows)
    rest: int  #: weighted rows standing for the others


def _summarise(pieces: list[dict], door: _Door) -> _Summary:
    """One summary from the parts' overlays (in part order)."""
    affected = {k: np.concatenate([p["cols"][k] for p in pieces]) for k in pieces[0]["cols"]}
    rest = {k: np.concatenate([p["rest"][k] for p in pieces]) for k in pieces[0]["rest"]}
    n_aff, n_rest = len(affected["weight"]), len(rest["weight"])
    cols = {}
    for name, values in affected.items():
        if name in ("district", "province", "tehsil"):
            other = rest[name].astype(values.dtype)
        elif name == "weight":  # int64: a group's households may pass 2**31
            other = rest["weight"].astype(np.int64)
        else:
            other = np.zeros(n_rest, dtype=values.dtype)
        cols[name] = np.concatenate([values, other])
    labels = [np.concatenate([lk[p["tehsil"]] for lk, p in zip(door.lookups, pieces, strict=True)]),
              np.concatenate([lk[p["rest"]["tehsil_label"]] for lk, p in zip(door.lookups, pieces, strict=True)])]
    tier = np.concatenate([np.concatenate([p["tier"] for p in pieces]), np.zeros(n_rest, np.int8)])
    where = np.concatenate([*(p["where"] for p in pieces), rest["where"]]).astype(np.int8)
    share = None
    if any(p["share"] is not None for p in pieces):
        share = np.concatenate([*(p["share"] if p["share"] is not None else np.ones(len(p["tier"])) for p in pieces),
                                np.ones(n_rest)])
    intensity = {k: np.concatenate([*(p["intensity"][k] for p in pieces), np.full(n_rest, np.nan, np.float32)])
                 for k in pieces[0]["intensity"]}
    positions = np.concatenate([*(p["positions"] for p in pieces), door.valid + np.arange(n_rest, dtype=np.int64)])
    tehsil = pd.Categorical.from_codes(np.concatenate(labels), categories=pd.Index(door.labels, dtype="string"))
    return _Summary(cols, (intensity, tier, where, share), positions, tehsil, n_aff, n_rest)


def _evaluate(client, door: _Door, scn: Scenario, layers: list, sent: list,
              reached: list | None = None) -> tuple[engine.EngineResult, _Summary, dict]:
    """The engine over the whole registry for ``scn`` and its hazard sources: the overlay on
    the workers, the rest here. Returns the result, the summary it ran on and the summary's
    columns for each result row (split weighted rows repeated, as
    :func:`simulator.plans.orchestrator.compute` gives them). ``sent``: the sources as the
    workers get them (:func:`worker_sources`); ``reached``: per part, a future of its
    :class:`Reached` (an ensemble's member: only those rows are overlaid)."""
    [sources] = client.scatter([sent], broadcast=True, hash=False)
    reached = reached or [None] * len(door.parts)
    pieces = client.gather([client.submit(overlay_part, p, scn, sources, int(o), r, pure=False, **_on(w))
                            for p, o, w, r in zip(door.parts, door.offsets, door.workers, reached, strict=True)])
    summary = _summarise(pieces, door)
    del pieces
    res = engine.evaluate(scn, summary.cols, layers, overlay=summary.overlay, positions=summary.positions)
    cols = summary.cols
    if res.row is not None:
        cols = {k: v[res.row] for k, v in cols.items()}
        cols["weight"] = res.weight
    return res, summary, cols


def member_evaluator(client, door: _Door, scn: Scenario, layers: list, base: Path | None) -> Callable:
    """The ensemble's members on the cluster (:func:`simulator.plans.ensemble.member_figures`'s
    ``evaluator``): each member's overlay on the workers, over the rows some member reaches when
    that can be told (each part's :class:`Reached`, made at the first member and kept on its
    worker), the engine here."""
    reached: list | None = None

    def member(member_scn: Scenario, sources: list, reach: list | None):
        nonlocal reached
        if reach is not None and reached is None:
            [shipped, own] = client.scatter([reach, worker_sources(scn, layers, base)], broadcast=True, hash=False)
            reached = [client.submit(reach_part, p, scn, own, shipped, pure=False, **_on(w))
                       for p, w in zip(door.parts, door.workers, strict=True)]
        res_m, summary_m, _ = _evaluate(client, door, member_scn, sources, worker_sources(member_scn, sources, base),
                                        reached=reached if reach is not None else None)
        return res_m, summary_m.cols  # the rows before any split, as res_m.row counts them

    return member


class PartTables:
    """The household table of a distributed run, one part's frame at a time, in registry order
    (then the unaffected rest of split weighted rows, as in memory): built on the workers
    (:func:`table_part`) a few parts ahead of the one being written."""

    def __init__(self, client, door: _Door, scn: Scenario, layers: list, res: engine.EngineResult,
                 summary: _Summary, delivered=None) -> None:
        self.client, self.door, self.scn, self.layers = client, door, scn, layers
        k = np.arange(summary.affected)
        positions = summary.positions[k]
        owner = np.searchsorted(door.offsets, positions, side="right") - 1
        fields = {"tier": res.tier, "eligible": res.eligible, "amount_pkr": res.amount_pkr,
                  "federal_pkr": res.federal_pkr, "provincial_pkr": res.provincial_pkr,
                  "payer": res.payer, "status": res.status, "weight": res.weight}
        if delivered is not None:  # each affected row's site (paid rows only) and travel
            fields.update(site=delivered.site, travel_km=delivered.travel_km)
        self.site_ids = None if delivered is None else delivered.sites.site_id.astype(str).tolist()
        self.patches = []
        copies_of = {"rows": np.zeros(0, np.int64), "weight": np.zeros(0, np.int64)}
        copy_owner = np.zeros(0, np.int64)
        if res.row is not None:
            first = len(summary.positions)
            src = res.row[first:]
            copy_pos = summary.positions[src]
            copy_owner = np.searchsorted(door.offsets, copy_pos, side="right") - 1
            copies_of = {"rows": copy_pos - door.offsets[copy_owner], "weight": res.weight[first:].astype(np.int64)}
        self.copies = []
        for i in range(len(door.parts)):
            mine = owner == i
            patch = {name: values[k[mine]] for name, values in fields.items()}
            patch["rows"] = positions[mine] - door.offsets[i]
            if self.site_ids is not None:
                patch["site_ids"] = self.site_ids
            self.patches.append(patch)
            theirs = copy_owner == i
            self.copies.append({k_: v[theirs] for k_, v in copies_of.items()})
        self.rows = door.valid + (0 if res.row is None else len(res.row) - len(summary.positions))

    def __len__(self) -> int:
        return self.rows

    def __iter__(self) -> Iterator[pd.DataFrame]:
        [sources, labels] = self.client.scatter([self.layers, self.door.labels], broadcast=True, hash=False)

        def submit(i: int):
            """Part ``i``'s table: its results (tens of MB on a national registry) go to its
            worker as data first, not inside the task (Dask warns of a large graph)."""
            worker = self.door.workers[i]
            [patch, copies] = self.client.scatter([self.patches[i], self.copies[i]], hash=False,
                                                  workers=None if worker is None else [worker])
            return self.client.submit(table_part, self.door.parts[i], self.scn, sources, patch, copies, labels,
                                      pure=False, **_on(worker))

        futures = [submit(i) for i in range(min(_TABLES_AHEAD, len(self.door.parts)))]
        rests = []
        for i in range(len(self.door.parts)):
            ahead = i + _TABLES_AHEAD
            if ahead < len(self.door.parts):
                futures.append(submit(ahead))
            frame, rest = futures[i].result()
            futures[i] = None
            if rest is not None:
                rests.append(rest)
            yield frame
        yield from rests


def run(
    scn: Scenario,
    client,
    *,
    base: Path | None = None,
    registry_path: str | Path | None = None,
    boundaries=None,
    library: Scenario | None = None,
    on_progress: Callable[[str], None] | None = None,
    background: bool = False,
    rows_per_part: int = ROWS_PER_PART,
) -> orchestrator.RunResult:
    """:func:`simulator.plans.orchestrator.run` over a registry's parts on a Dask cluster.

    The same plan as in memory (see the module's notes), from a registry file or dataset folder
    (``registry_path``, else the scenario's ``registry.path``). ``households`` of the result is
    a :class:`PartTables`, fetched from the workers while the run folder is written, so keep
    ``client`` open until then.

    Raises
    ------
    SchedulerError
        No registry file (the synthetic generator runs in memory), or provincial registries to merge.
    """
    timings: dict[str, float] = {}
    clock = orchestrator._Clock(timings)
    say = on_progress or (lambda message: None)
    path = registry_path or (scn.registry.path and orchestrator._resolve(scn.registry.path, base))
    if not path:
        raise SchedulerError("a distributed run reads a registry file or dataset folder: give --registry "
                             "(write one with `madad registry generate --partitioned --out DIR`).")
    if scn.registry.provincial:
        raise SchedulerError("provincial registries (registry.provincial) are merged in memory only: "
                             "run without --scheduler, or merge them into the dataset first.")
    say("reading and checking the registry's parts on the workers...")
    with clock.stage("registry_s"), ThreadPoolExecutor(1) as pool:
        digest = pool.submit(file_sha256, path)
        door = _open(client, part_specs(path, rows_per_part=rows_per_part), str(path), say)
        registry_input = {"file": str(path), "sha256": digest.result(), "parts": len(door.parts)}
    # the engine's bound on households (money stays inside int64), checked before any hazard
    engine.financing.check_households(np.array([door.weight], dtype=np.int64))
    say("building the hazards...")
    with clock.stage("hazard_s"):
        from hazards.io import aoi_of_points

        aoi = aoi_of_points(np.array(door.extent)[[0, 2]], np.array(door.extent)[[1, 3]]) if door.extent else None
        layers, hazard_inputs = orchestrator.build_hazards(scn, base=base, aoi=aoi)
    inputs = {"hazards": hazard_inputs, "registry": registry_input}
    if boundaries is not None:
        inputs["boundaries"] = orchestrator.boundary_input(boundaries, door.districts, source=str(path))
    library = scn if library is None else library
    say("running the payout engine (overlay on the workers)...")
    with clock.stage("engine_s"):
        res, summary, cols = _evaluate(client, door, scn, layers, worker_sources(scn, layers, base))
    say("building the plan...")
    with clock.stage("plan_s"):
        tehsil = pd.Series(summary.tehsil if res.row is None else summary.tehsil[res.row])
        the_plan = orchestrator.plan_of(
            scn, res, cols, layers, report=door.report.to_dict(), tehsil=tehsil,
            weights=(door.valid, door.weight) if door.valid else None, library=library,
            registry_rows=len(res.tier) - summary.affected - summary.rest + door.valid,
        )
        delivered = None
        if scn.delivery is not None:
            say("planning delivery: sites, closures, travel, schedule, campsites...")
            with clock.stage("delivery_s"):
                sites = delivery_plan.load_sites(scn.delivery, base=base)
                inputs["sites"] = delivery_plan.manifest_input(sites[1])
                delivered = orchestrator.deliver(scn, the_plan.get("unregistered"), res, cols, layers, sites,
                                                 district_ids=data.districts().district_id,
                                                 provinces=list(data.PROVINCES))
                the_plan["delivery"] = delivered.section
        table = PartTables(client, door, scn, worker_sources(scn, layers, base), res, summary, delivered)
    pending = None
    if scn.ensemble is not None:
        from simulator.plans import ensemble

        member = member_evaluator(client, door, scn, layers, base)
        pending = orchestrator.run_ensemble(scn, the_plan, clock, say, background, lambda on_member: ensemble.summary(
            scn, summary.cols, layers, data.districts().district_id, door.province_of,
            on_member=on_member, known={scn.seed: res}, evaluator=member,
        ))
    return orchestrator.RunResult(
        scenario=scn, plan=the_plan, households=table, hazards=layers, quarantine=door.quarantine,
        timings=timings, inputs=inputs, library=library, rows=None, pending=pending,
    )
