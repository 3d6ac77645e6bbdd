"""A run to publish: its plan, households and hazard layers, read from a run folder or a result;
and the plan (JSON) and per-household table (Parquet) as a run folder stores them.

A run folder is read only when every file its ``manifest.json`` lists under ``outputs`` is there
with the sha256 recorded when it was written: a folder edited, damaged or half-copied after
``madad run`` is refused (:class:`~hazards.errors.ExportError`, "rerun `madad run ...`"). A folder
without ``manifest.json`` (put together by hand, or written before run folders had one) is read
unchecked, with a logged warning. The check guards against accidents, not against someone who
rewrites the manifest too.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hazards.errors import ExportError, WriteStopped
from simulator.scenario import file_sha256

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

__all__ = ["Run", "load_run", "verify_manifest", "write_households", "write_json"]

logger = logging.getLogger(__name__)

#: What ``outputs`` of a manifest may name: a plain file of the run folder.
_OUTPUT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: Files a run folder must list when it has a manifest.
_REQUIRED = ("plan.json", "households.parquet")


class Run:
    """A run to export: its plan, and (read when first needed) households and hazard layers.

    Build one with :func:`load_run`.
    """

    def __init__(
        self,
        plan: dict,
        *,
        label: str,
        folder: Path | None = None,
        households: pd.DataFrame | None = None,
        hazards: Sequence[xr.DataArray] | None = None,
        created: str | None = None,
        outputs: Sequence[str] | None = None,
    ) -> None:
        self.plan = plan
        self.label = label
        self.folder = folder
        #: The files the folder's manifest lists (None: no manifest, or not from a folder).
        self.outputs = None if outputs is None else list(outputs)
        self._households = households
        #: (inode, size, mtime) of each file as load_run checked it: read only if still the same
        self._checked: dict[str, tuple[int, int, int]] = {}
        self._hazards = None if hazards is None else list(hazards)
        self.created = created or time.strftime("%Y-%m-%d", time.gmtime())

    @functools.cached_property
    def households(self) -> pd.DataFrame:
        """The per-household table (``households.parquet`` of a run folder)."""
        if self._households is not None:
            return self._households
        path = self.folder / "households.parquet"
        if not path.exists():
            raise ExportError(
                f"{path}: missing; the run folder is incomplete. Run the scenario again with "
                "`madad run SCENARIO --out DIR`."
            )
        self._still_checked(path)
        return pq.read_table(path).to_pandas()

    @functools.cached_property
    def hazards(self) -> list[xr.DataArray]:
        """The hazard layers (``hazard.tif``, ``hazard2.tif``... of a run folder); may be empty."""
        if self._hazards is not None:
            return self._hazards
        from hazards.io import read_geotiff

        if self.outputs is not None:  # only what the manifest lists (and load_run checked)
            names = [n for n in self.outputs if re.fullmatch(r"hazard\d*\.tif", n)]
            paths = [self.folder / n for n in sorted(names, key=lambda n: int(n[6:-4] or 0))]
        else:
            paths = [self.folder / "hazard.tif"]
            paths += sorted(self.folder.glob("hazard[0-9]*.tif"), key=lambda p: int(p.stem[6:] or 0))
        paths = [p for p in paths if p.exists()]
        for p in paths:
            self._still_checked(p)
        return [read_geotiff(p) for p in paths]

    def _still_checked(self, path: Path) -> None:
        """Refuse a file that changed (a rerun swapped the folder) since load_run checked it."""
        checked = self._checked.get(path.name)
        if checked is not None and _identity(path) != checked:
            raise ExportError(
                f"{path}: changed since this run folder was checked (a run into {self.folder} "
                "replaced it meanwhile); load the folder again."
            )


def load_run(run_dir_or_result: Any) -> Run:
    """A :class:`Run` from a run folder, a ``plan.json`` path or a ``RunResult``.

    Parameters
    ----------
    run_dir_or_result : str, Path, RunResult or Run
        A folder written by ``madad run`` (it holds ``plan.json``, ``households.parquet``,
        ``hazard.tif`` and ``manifest.json``), or a result of :func:`simulator.plans.run`.

    Returns
    -------
    Run

    Raises
    ------
    ExportError
        The folder does not exist, has no readable ``plan.json`` with a ``schema_version``, or
        does not match its ``manifest.json`` (:func:`verify_manifest`: a listed file is missing
        or changed). A folder without ``manifest.json`` is read unchecked, with a warning.
    """
    if isinstance(run_dir_or_result, Run):
        return run_dir_or_result
    if hasattr(run_dir_or_result, "plan") and hasattr(run_dir_or_result, "households"):
        res = run_dir_or_result
        import xarray as xr

        layers = [h for h in res.hazards if isinstance(h, xr.DataArray)]  # not declared-district tables
        return Run(res.plan, label="in-memory run", households=res.households, hazards=layers)
    folder = Path(run_dir_or_result)
    if folder.is_file() and folder.name == "plan.json":
        folder = folder.parent
    path = folder / "plan.json"
    if not folder.is_dir():
        raise ExportError(
            f"{folder}: no such run folder{_interrupted(folder)}. Make one with "
            f"`madad run SCENARIO --out {folder}`."
        )
    if not path.exists():
        raise ExportError(
            f"{folder}: not a run folder (no plan.json). Make one with "
            f"`madad run SCENARIO --out {folder}`."
        )
    manifest, checked = _verify(folder)
    raw = path.read_bytes()
    if manifest is not None and hashlib.sha256(raw).hexdigest() != manifest["outputs"]["plan.json"]:
        # changed between the check and this read
        raise ExportError(_mismatch(folder, "plan.json", manifest))
    try:
        plan = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ExportError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}).") from exc
    except json.JSONDecodeError as exc:
        raise ExportError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}).") from exc
    if not isinstance(plan, dict) or "schema_version" not in plan or "totals" not in plan:
        raise ExportError(f"{path}: not a Madad plan (no schema_version or totals).")
    created = None
    outputs = None
    if manifest is not None:
        created = str(manifest.get("created_utc") or "")[:10] or None
        outputs = list(manifest["outputs"])
    run = Run(plan, label=str(folder), folder=folder, created=created, outputs=outputs)
    run._checked = checked
    return run


def _identity(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


def _interrupted(folder: Path) -> str:
    """A note when a staging or set-aside folder of ``folder`` is beside it."""
    from simulator.publish.atomic import leftovers

    try:
        found = leftovers(folder)
    except OSError:
        return ""
    return f" (a run into it is under way or was interrupted: {found[-1].name} is beside it)" if found else ""


def _rerun(folder: Path, manifest: dict | None) -> str:
    scenario = None
    if isinstance(manifest, dict) and isinstance(manifest.get("scenario_file"), dict):
        scenario = manifest["scenario_file"].get("path")
    return f"rerun `madad run {scenario or 'SCENARIO'} --out {folder}`"


def _mismatch(folder: Path, name: str, manifest: dict) -> str:
    return (
        f"{folder / name}: does not match the sha256 manifest.json records for it; the file was "
        f"changed or damaged after the run wrote it. Do not use this run folder: "
        f"{_rerun(folder, manifest)}."
    )


def verify_manifest(folder: str | Path) -> dict | None:
    """Check a run folder against its ``manifest.json``.

    Every file listed under ``outputs`` must be in the folder with the recorded sha256, and the
    list must include ``plan.json`` and ``households.parquet``. Files of the folder the manifest
    does not list are not read (:attr:`Run.outputs`) and only logged.

    Parameters
    ----------
    folder : str or Path
        A run folder.

    Returns
    -------
    dict or None
        The manifest; None (and a logged warning) when the folder has no ``manifest.json``.

    Raises
    ------
    ExportError
        The manifest is unreadable or malformed, or a listed file is missing or differs; the
        message names the file and says to rerun ``madad run``.
    """
    return _verify(Path(folder))[0]


def _verify(folder: Path) -> tuple[dict | None, dict[str, tuple[int, int, int]]]:
    """:func:`verify_manifest`, and the identity of each file checked."""
    mpath = folder / "manifest.json"
    if not mpath.exists():
        logger.warning(
            "%s: no manifest.json, so its files cannot be checked against what `madad run` wrote "
            "(a folder put together by hand, or written by an older Madad); reading it unchecked. "
            "For a checked folder, %s.", folder, _rerun(folder, None),
        )
        return None, {}
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ExportError(
            f"{mpath}: not valid JSON ({exc}); the run folder is damaged. {_rerun(folder, None)}."
        ) from exc
    outputs = manifest.get("outputs") if isinstance(manifest, dict) else None
    if (
        not isinstance(outputs, dict)
        or not all(isinstance(n, str) and _OUTPUT_NAME.fullmatch(n) and n != "manifest.json"
                   for n in outputs)
        or not all(isinstance(h, str) and _SHA256.fullmatch(h) for h in outputs.values())
    ):
        raise ExportError(
            f"{mpath}: field `outputs` must map each file name of the folder to its sha256 (64 "
            f"hex digits); the manifest is damaged. {_rerun(folder, manifest)}."
        )
    missing = [n for n in _REQUIRED if n not in outputs]
    if missing:
        raise ExportError(
            f"{mpath}: field `outputs` does not list {', '.join(missing)}, so the folder cannot "
            f"be checked; the manifest is damaged. {_rerun(folder, manifest)}."
        )
    checked = {}
    for name, digest in outputs.items():
        path = folder / name
        if not path.is_file():
            raise ExportError(
                f"{path}: missing, though manifest.json lists it; the run folder is incomplete. "
                f"{_rerun(folder, manifest)}."
            )
        checked[name] = _identity(path)
        if file_sha256(path) != digest:
            raise ExportError(_mismatch(folder, name, manifest))
    from simulator.publish.atomic import RUN_FILE

    extra = sorted(p.name for p in folder.iterdir()
                   if RUN_FILE.fullmatch(p.name) and p.name != "manifest.json" and p.name not in outputs)
    if extra:
        logger.warning("%s: ignoring %s, which manifest.json does not list (left by an earlier "
                       "run?).", folder, ", ".join(extra))
    return manifest, checked



def write_json(plan: dict, path: str | Path) -> Path:
    """Write the plan as JSON for other systems.

    Parameters
    ----------
    plan : dict
        A plan from :func:`simulator.plans.build.build`; it carries ``schema_version``.
    path : str or Path
        Output ``.json``.

    Returns
    -------
    Path
        ``path``. Keys keep the plan's order; the text is UTF-8 with a final newline, so the same
        plan always gives the same bytes.
    """
    path = Path(path)
    path.write_text(json.dumps(plan, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


#: Rows converted, scanned and written per slice of the household table (bounds the Arrow copy).
HOUSEHOLD_SLICE = 1 << 22


def write_households(result: pd.DataFrame | Iterable[pd.DataFrame], path: str | Path, *,
                     stop: threading.Event | None = None) -> Path:
    """Write the per-household result as Parquet (zstd): pseudonymous ids only, never a CNIC.

    The table is streamed in slices of :data:`HOUSEHOLD_SLICE` rows: each is converted to Arrow
    (text columns are Arrow already, so without a copy), scanned for raw CNICs
    (:func:`simulator.registry.cnic.scan_table`: the last door, on exactly the bytes written)
    and written as row groups; the next slice is converted and scanned on a second thread while
    one is written. A slice holding a CNIC stops the writing before it is written. Only columns of few distinct values (codes, categories and
    text such as tehsil codes) are dictionary-encoded: a dictionary of 35 million distinct ids or
    intensities would only be built to be dropped again; the ids are written with Parquet's
    ``DELTA_LENGTH_BYTE_ARRAY`` encoding (one of the Parquet format's standard encodings).

    Parameters
    ----------
    result : pandas.DataFrame, or an iterable of them
        The per-household table of a run (:func:`simulator.plans.result_table`), or its pieces
        in order with the same columns (a distributed run's parts, fetched one at a time).
    path : str or Path
        Output ``.parquet``.
    stop : threading.Event, optional
        Set by another thread to end the writing between two slices (the run it belongs to
        failed): :class:`WriteStopped` is raised and the partial file left to the caller.

    Returns
    -------
    Path
        ``path``. Schema metadata is dropped so identical tables give identical bytes.

    Raises
    ------
    CnicError
        A slice holds a CNIC-shaped value (nothing of it is written).
    WriteStopped
        ``stop`` was set.
    """
    from concurrent.futures import ThreadPoolExecutor

    from simulator.registry import cnic

    path = Path(path)
    pieces = iter([result] if isinstance(result, pd.DataFrame) else result)

    def slices() -> Iterator[pd.DataFrame]:
        for frame in pieces:
            for start in range(0, max(len(frame), 1), HOUSEHOLD_SLICE):
                yield frame.iloc[start : start + HOUSEHOLD_SLICE]

    def prepared(piece: pd.DataFrame | None) -> pa.Table | None:
        if piece is None:
            return None
        table = pa.Table.from_pandas(piece, preserve_index=False).replace_schema_metadata({})
        cnic.scan_table(table, source=str(path))
        return table

    feed = slices()
    first = next(feed, None)
    if first is None:
        raise ValueError(f"{path}: no household table to write")
    # dictionaries only for columns of few distinct values: categories, and codes other than the ids
    encoded = [c for c in first.columns if isinstance(first[c].dtype, pd.CategoricalDtype)
               or (c.endswith(("_code", "_id")) and c != "household_id")]
    # min/max statistics where a reader filters on them (amounts, sizes, intensities); for text and
    # category columns they cost a third of the writing and help no filter
    numeric = [c for c in first.columns if pd.api.types.is_numeric_dtype(first[c].dtype)
               and not pd.api.types.is_bool_dtype(first[c].dtype)]
    # the pseudonymous ids, all distinct: their lengths delta-encoded apart from their bytes,
    # which zstd then packs (35 M ids: 2.9 s and 292 MB, against 3.4-4.6 s and 321 MB plain)
    text_encoding = {"household_id": "DELTA_LENGTH_BYTE_ARRAY"} if "household_id" in first.columns else None

    writer = None
    # the next slice is fetched, converted and scanned on a second thread while this one is written
    with ThreadPoolExecutor(1) as pool:
        upcoming = pool.submit(prepared, first)
        try:
            while True:
                piece = upcoming.result()
                if piece is None:
                    break
                upcoming = pool.submit(lambda: prepared(next(feed, None)))
                if writer is None:
                    writer = pq.ParquetWriter(path, piece.schema, compression="zstd", use_dictionary=encoded,
                                              write_statistics=numeric, column_encoding=text_encoding)
                elif len(piece) and piece.schema != writer.schema:
                    piece = piece.cast(writer.schema)  # a part's categories: the same columns
                if stop is not None and stop.is_set():
                    raise WriteStopped(f"{path}: writing stopped, the run it belongs to did not finish")
                writer.write_table(piece)
        finally:
            if writer is not None:
                writer.close()
    return path


