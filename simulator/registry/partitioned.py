"""Partitioned registry datasets: a folder of GeoParquet parts, Hive-style by province.

Layout (what :func:`write_partitioned` writes)::

    DIR/_dataset.json
    DIR/province_code=BA/part-00000.parquet
    DIR/province_code=IS/part-00000.parquet
    ...
    DIR/province_code=SD/part-00000.parquet
    DIR/province_code=SD/part-00001.parquet      (a province over ROWS_PER_PART rows rolls over)

Each part is a GeoParquet file written exactly as :func:`simulator.registry.read.write` writes
one (the same columns, ``province_code`` included, dtypes and ``geo`` metadata), so a part is a
registry file on its own. ``_dataset.json`` holds the format name and version, the households,
the seed and the parts in order with their rows and SHA-256. The rows of the parts, in that
order, are the registry: for a synthetic registry, row for row the single file
``madad registry generate`` writes with the same households and seed.

Reading (:func:`read_dataset`, and through it :func:`simulator.registry.read.read_raw` and
:func:`~simulator.registry.read.load`) concatenates the parts' Arrow tables in that order; a
folder without ``_dataset.json`` is read as its ``.parquet`` files in sorted path order
(names starting with ``.`` or ``_`` skipped, as Spark and pyarrow do). The whole dataset is
then validated once, so a household id repeated in two parts is a duplicate and quarantine row
numbers count rows across the dataset in that order.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hazards.errors import RegistryError
from simulator.registry import read
from simulator.registry.validation import check_columns

log = logging.getLogger(__name__)

#: The manifest's file name inside a dataset folder.
MANIFEST = "_dataset.json"
#: The manifest's ``format``.
FORMAT = "madad-registry-dataset"
#: The manifest's ``version``; a reader refuses a later one.
VERSION = 1
#: The partition column (Hive-style folders ``province_code=XX``).
PARTITION = "province_code"
#: Rows at most per part file [households]; a province with more rolls over to the next part.
ROWS_PER_PART = 4_000_000


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _folder_value(value) -> str:
    """A partition value as a folder name (Hive's name for a missing one)."""
    if value is None or pd.isna(value):
        return "__HIVE_DEFAULT_PARTITION__"
    text = str(value)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", text):
        raise RegistryError(f"{PARTITION} {text!r} cannot name a partition folder (letters, digits, _ and -).")
    return text


def _pieces(chunks: Iterable[pd.DataFrame], rows_per_part: int) -> Iterator[tuple[tuple[str, int], pd.DataFrame]]:
    """Slices of the chunks, each tagged with its part ``(province, number)``, in row order.

    A new part starts whenever the province changes or the current part holds ``rows_per_part``
    rows; numbers count per province from 0.
    """
    numbers: dict[str, int] = {}
    key: tuple[str, int] | None = None
    in_part = 0
    for chunk in chunks:
        if not len(chunk):
            continue
        if PARTITION not in chunk.columns:
            raise RegistryError(f"households to partition lack the {PARTITION!r} column.")
        codes, labels = pd.factorize(chunk[PARTITION])  # categorical: its codes, no strings per row
        # runs of one province, in row order (the generator's districts are grouped by province)
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        ends = np.r_[starts[1:], len(codes)]
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            province = _folder_value(labels[codes[a]] if codes[a] >= 0 else None)
            while a < b:
                if key is None or key[0] != province or in_part >= rows_per_part:
                    number = numbers.get(province, -1) + 1
                    numbers[province] = number
                    key, in_part = (province, number), 0
                take = min(b - a, rows_per_part - in_part)
                yield key, chunk.iloc[a:a + take]
                a += take
                in_part += take


def write_partitioned(
    chunks: Iterable[pd.DataFrame] | pd.DataFrame,
    out: str | Path,
    *,
    households: int,
    seed: int | None,
    rows_per_part: int = ROWS_PER_PART,
) -> dict:
    """Write households as a partitioned GeoParquet dataset, one chunk in memory at a time.

    The parts are written into a temporary folder beside ``out`` and moved into place at the
    end, so a failure leaves no half dataset; an existing dataset at ``out`` (a folder holding
    ``_dataset.json``) or an empty folder is replaced, any other folder is refused.

    Parameters
    ----------
    chunks
        Frames of households with the columns of :data:`simulator.registry.schema.COLUMNS`, in
        registry order (e.g. :func:`simulator.registry.synthetic.generate_chunks`), or one frame.
    out
        The dataset folder.
    households
        Rows the chunks hold [households]; checked against the rows written.
    seed
        The generator's seed, recorded in ``_dataset.json`` (``None`` for a registry not
        generated).
    rows_per_part
        Rows at most per part file [households] (default :data:`ROWS_PER_PART`).

    Returns
    -------
    dict
        The manifest written to ``_dataset.json``: ``format``, ``version``, ``households``,
        ``seed``, ``partitioning``, ``rows_per_part`` and ``parts`` (each ``path`` relative to
        ``out`` in POSIX form, ``province_code``, ``rows``, ``sha256``), in registry order.

    Raises
    ------
    RegistryError
        ``out`` is a file or a folder holding other files, ``rows_per_part`` is below 1, a
        chunk lacks ``province_code``, or the rows written differ from ``households``.
    """
    out = Path(out)
    if rows_per_part < 1:
        raise RegistryError(f"rows per part must be >= 1, got {rows_per_part}.")
    _check_target(out)
    chunks = [chunks] if isinstance(chunks, pd.DataFrame) else chunks
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    tmp.mkdir()
    try:
        parts = []
        for (province, number), group in itertools.groupby(_pieces(chunks, rows_per_part), key=lambda p: p[0]):
            rel = f"{PARTITION}={province}/part-{number:05d}.parquet"
            rows = read.write((frame for _, frame in group), tmp / rel)
            parts.append({"path": rel, PARTITION: province, "rows": rows, "sha256": _sha256(tmp / rel)})
            log.info("wrote %s (%d rows)", rel, rows)
        written = sum(p["rows"] for p in parts)
        if written != households:
            raise RegistryError(f"{out}: {written:,} households written but {households:,} expected.")
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "households": written,
            "seed": seed,
            "partitioning": {"flavor": "hive", "columns": [PARTITION]},
            "rows_per_part": rows_per_part,
            "parts": parts,
        }
        (tmp / MANIFEST).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        _check_target(out)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("wrote dataset %s: %d parts, %d households", out, len(parts), written)
    return meta


def _check_target(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise RegistryError(f"{out}: is a file; give a folder for a partitioned registry.")
    if out.is_dir() and not (out / MANIFEST).is_file() and any(out.iterdir()):
        raise RegistryError(
            f"{out}: folder holds files and is not a registry dataset (no {MANIFEST}); "
            "give a new or empty folder."
        )


def is_dataset(path: str | Path) -> bool:
    """Whether ``path`` is a registry dataset folder.

    Parameters
    ----------
    path
        Any path.

    Returns
    -------
    bool
        True for a folder holding ``_dataset.json``, or holding ``.parquet``/``.geoparquet``/``.pq``
        files anywhere below it (names starting with ``.`` or ``_`` skipped).
    """
    path = Path(path)
    if not path.is_dir():
        return False
    return (path / MANIFEST).is_file() or bool(_found_parts(path))


def _found_parts(path: Path) -> list[Path]:
    """Parquet files below ``path`` in sorted order of their relative path's components."""
    found = []
    for file in path.rglob("*"):
        rel = file.relative_to(path).parts
        if any(part.startswith((".", "_")) for part in rel):
            continue
        if file.suffix.lower() in read.PARQUET_SUFFIXES and file.is_file():
            found.append(rel)
    return [path.joinpath(*rel) for rel in sorted(found)]


def manifest(path: str | Path) -> dict | None:
    """A dataset's ``_dataset.json``, checked, or ``None`` when the folder has none.

    Parameters
    ----------
    path
        A dataset folder.

    Returns
    -------
    dict or None
        The manifest (see :func:`write_partitioned`).

    Raises
    ------
    RegistryError
        The manifest is unreadable, of another format or a later version, or its ``parts`` is
        not a list of entries with a ``path``.
    """
    file = Path(path) / MANIFEST
    if not file.is_file():
        return None
    try:
        meta = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RegistryError(f"{file}: cannot be read ({exc}).") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise RegistryError(f"{file}: not a Madad registry dataset (format is not {FORMAT!r}).")
    if not isinstance(meta.get("version"), int) or meta["version"] > VERSION:
        raise RegistryError(
            f"{file}: dataset version {meta.get('version')!r} is newer than this Madad reads "
            f"({VERSION}); upgrade Madad."
        )
    if not isinstance(meta.get("parts"), list) or not all(
        isinstance(p, dict) and isinstance(p.get("path"), str) for p in meta["parts"]
    ):
        raise RegistryError(f"{file}: 'parts' must be a list of {{path, rows, sha256}}.")
    return meta


def parts(path: str | Path) -> list[Path]:
    """A dataset's part files in registry order.

    Parameters
    ----------
    path
        A dataset folder (see :func:`is_dataset`).

    Returns
    -------
    list of pathlib.Path
        The parts listed in ``_dataset.json``, in its order; without one, the folder's parquet
        files in sorted path order.

    Raises
    ------
    RegistryError
        A listed part is missing or outside the folder, or the folder holds no parts.
    """
    path = Path(path)
    meta = manifest(path)
    if meta is None:
        found = _found_parts(path)
        if not found:
            raise RegistryError(f"{path}: folder holds no {MANIFEST} and no .parquet registry parts.")
        return found
    root = path.resolve()
    listed = []
    for entry in meta["parts"]:
        part = path / entry["path"]
        if not part.resolve().is_relative_to(root):
            raise RegistryError(f"{path / MANIFEST}: part {entry['path']!r} lies outside the dataset.")
        if not part.is_file():
            raise RegistryError(f"{part}: part listed in {MANIFEST} is missing.")
        listed.append(part)
    if not listed:
        raise RegistryError(f"{path}: the dataset lists no parts (an empty registry).")
    unlisted = set(_found_parts(path)) - set(listed)
    if unlisted:
        log.warning("%s: %d parquet files not listed in %s are ignored", path, len(unlisted), MANIFEST)
    return listed


def _hive_values(path: Path, part: Path) -> dict[str, str]:
    """``key=value`` folder names between the dataset folder and a part."""
    pairs = (name.split("=", 1) for name in part.relative_to(path).parts[:-1] if "=" in name)
    return {key: value for key, value in pairs}


def read_dataset(path: str | Path) -> pa.Table:
    """A dataset's rows as one Arrow table, the parts concatenated in registry order.

    Each part is read as :func:`simulator.registry.read.read_raw` reads a Parquet file (the
    ``geometry`` column dropped, decoded to ``lon``/``lat`` when those are absent); a Hive
    partition column missing from a part's file (e.g. written by ``pyarrow.dataset`` or Spark)
    is filled from its folder name. Column types, dictionary columns included, are those of
    the parts, so ``to_pandas`` gives what reading one file gives.

    Parameters
    ----------
    path
        A dataset folder (see :func:`is_dataset`).

    Returns
    -------
    pyarrow.Table
        All rows, unvalidated.

    Raises
    ------
    RegistryError
        No parts, a part unreadable, a part with a column named like a CNIC or without a
        required column (the message names the part), or parts whose columns cannot be combined.
    """
    path = Path(path)
    tables = [read_part(path, part) for part in parts(path)]
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise RegistryError(f"{path}: the parts' columns do not match ({exc}).") from exc


def read_part(path: str | Path, part: str | Path, *, columns: list[str] | None = None) -> pa.Table:
    """One part of a dataset, unvalidated, as :func:`read_dataset` reads each: the ``geometry``
    column dropped (decoded to ``lon``/``lat`` when those are absent), a Hive partition column
    missing from the file filled from its folder name. ``columns``: only these (e.g.
    ``["household_id"]``), without the checks of a whole part.

    Raises
    ------
    RegistryError
        The part is unreadable, or has a column named like a CNIC or lacks a required column.
    """
    path, part = Path(path), Path(part)
    try:
        if columns is not None:
            return pq.read_table(part, columns=columns)
        table = read._read_parquet_table(part)
    except Exception as exc:  # pyarrow parse errors
        raise RegistryError(f"{part}: cannot be read as a registry part ({exc}).") from exc
    for key, value in _hive_values(path, part).items():
        if key not in table.column_names:
            table = table.append_column(key, pa.repeat(pa.scalar(value, pa.string()), len(table)))
    # each part must be a registry on its own: no CNIC-named column, no required one missing
    check_columns(pd.DataFrame(columns=table.column_names), str(part))
    return table
