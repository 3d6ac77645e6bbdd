"""Registry files in and out: read raw rows, load (read and validate), write GeoParquet or CSV.

Files: GeoParquet (a WKB ``geometry`` point column plus ``lon``/``lat``; plain Parquet with
``lon``/``lat`` is accepted too) and CSV with a header row. Coordinates are EPSG:4326 degrees.
A folder of GeoParquet parts (:mod:`simulator.registry.partitioned`) reads as one registry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hazards.errors import RegistryError
from simulator.registry.schema import COLUMNS, Registry
from simulator.registry.validation import check_columns, validate

PARQUET_SUFFIXES = {".parquet", ".geoparquet", ".pq"}


def read_raw(path: str | Path) -> pd.DataFrame:
    """Read a registry file (GeoParquet, Parquet or CSV) or dataset folder without validating its rows.

    Parameters
    ----------
    path
        ``.parquet``/``.geoparquet``/``.pq`` or ``.csv`` file. A GeoParquet ``geometry`` column
        is dropped; its points give ``lon``/``lat`` [degrees, EPSG:4326] when those are absent.
        Or a partitioned dataset folder (one holding ``_dataset.json``, or any folder of
        ``.parquet`` files): its parts concatenated in the manifest's order, else in sorted
        path order (see :mod:`simulator.registry.partitioned`), with the column types one
        file gives.

    Returns
    -------
    pandas.DataFrame
        The rows as stored (CSV columns as strings, empty cells as missing); for a dataset, all
        parts' rows in order, so row numbers count across the dataset.

    Raises
    ------
    RegistryError
        The file is missing, unreadable, of an unsupported type, lacks required columns or
        carries a column named like a raw CNIC (names normalised: ``CNIC ``, ``nic_no``,
        ``id_card``, ... see :func:`simulator.registry.validation.check_columns`). CNIC-shaped
        values are left to :func:`~simulator.registry.validation.validate` (quarantine).
    """
    path = Path(path)
    if not path.exists():
        raise RegistryError(f"{path}: no such registry file. Give a .parquet or .csv file.")
    if path.is_dir():
        from simulator.registry import partitioned

        if not partitioned.is_dataset(path):
            raise RegistryError(
                f"{path}: folder holds no {partitioned.MANIFEST} and no .parquet registry parts. "
                "Give a .parquet or .csv file or a partitioned registry folder."
            )
        frame = partitioned.read_dataset(path).to_pandas()
        check_columns(frame, str(path))
        return frame
    suffix = path.suffix.lower()
    try:
        if suffix in PARQUET_SUFFIXES:
            frame = _read_parquet(path)
        elif suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")
        else:
            raise RegistryError(
                f"{path}: unsupported registry format {suffix!r}; use .parquet (GeoParquet) or .csv."
            )
    except RegistryError:
        raise
    except UnicodeDecodeError:
        raise RegistryError(_not_utf8(path)) from None
    except Exception as exc:  # pyarrow / pandas parse errors
        raise RegistryError(f"{path}: cannot be read as a registry ({exc}).") from exc
    check_columns(frame, str(path))
    return frame


def _not_utf8(path: Path) -> str:
    """The message for a registry CSV that is not UTF-8: the line of the first bad byte, the fix."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
        where = ""
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        where = f"line {line}: byte 0x{data[exc.start]:02x} is not UTF-8; "
    return (f"{path}: {where}the registry CSV is not UTF-8 (it is in another encoding, e.g. Latin-1 "
            "or Windows-1252). Save it as UTF-8 (Excel: Save As 'CSV UTF-8'; or "
            f"`iconv -f cp1252 -t utf-8 {path.name} > {path.stem}-utf8.csv`) and load it again.")


def _read_parquet(path: Path) -> pd.DataFrame:
    # one block per column (no consolidating copy), the Arrow buffers freed as they are converted
    return _read_parquet_table(path).to_pandas(split_blocks=True, self_destruct=True)


def _read_parquet_table(path: Path, row_groups: tuple[int, ...] | None = None) -> pa.Table:
    """A Parquet registry file as Arrow: ``geometry`` dropped, its points decoded to
    ``lon``/``lat`` only when those columns are absent (also reads each part of a dataset).
    ``row_groups``: only these row groups of the file (a part of it, for a distributed run)."""
    names = pq.read_schema(path).names
    # the WKB points are decoded only when they are the sole coordinates
    skip = {"geometry"} if {"lon", "lat"} <= set(names) else set()
    columns = [c for c in names if c not in skip]
    if row_groups is None:
        table = pq.read_table(path, columns=columns)
    else:
        table = pq.ParquetFile(path).read_row_groups(list(row_groups), columns=columns)
    if "geometry" in table.column_names:
        if "lon" not in table.column_names or "lat" not in table.column_names:
            lon, lat = _points_from_wkb(table.column("geometry"))
            table = table.append_column("lon", pa.array(lon))
            table = table.append_column("lat", pa.array(lat))
        table = table.drop(["geometry"])
    return table


def _points_from_wkb(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    import shapely

    geoms = shapely.from_wkb(column.to_numpy(zero_copy_only=False))
    return shapely.get_x(geoms), shapely.get_y(geoms)


def load(path: str | Path) -> Registry:
    """Read and validate a registry file or dataset folder.

    Parameters
    ----------
    path
        A registry file or partitioned dataset folder (see :func:`read_raw`). A dataset is
        validated once as a whole: an id repeated in two parts is a duplicate, and quarantine
        row numbers count rows across the dataset in part order.

    Returns
    -------
    Registry
        Valid households, quarantined rows and the report (see
        :func:`simulator.registry.validation.validate`).
    """
    return validate(read_raw(path), source=str(path))


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def _wkb_points(lon: np.ndarray, lat: np.ndarray) -> pa.Array:
    """Little-endian WKB points built with numpy (21 bytes each), no per-point calls."""
    rec = np.empty(len(lon), dtype=[("bo", "u1"), ("t", "<u4"), ("x", "<f8"), ("y", "<f8")])
    rec["bo"] = 1
    rec["t"] = 1
    rec["x"] = lon
    rec["y"] = lat
    fixed = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(21), len(rec), [None, pa.py_buffer(rec.tobytes())]
    )
    return fixed.cast(pa.binary())


_GEO_METADATA = {
    "version": "1.0.0",
    "primary_column": "geometry",
    "columns": {
        "geometry": {
            "encoding": "WKB",
            "geometry_types": ["Point"],
            "crs": None,  # replaced below with PROJJSON of EPSG:4326
        }
    },
}


def _geo_metadata() -> bytes:
    """GeoParquet 1.0.0 ``geo`` metadata (WKB points, EPSG:4326 as PROJJSON)."""
    from pyproj import CRS

    meta = json.loads(json.dumps(_GEO_METADATA))
    meta["columns"]["geometry"]["crs"] = CRS.from_epsg(4326).to_json_dict()
    return json.dumps(meta).encode()


#: Text columns of few distinct values, written as dictionaries (read back as categoricals).
DICTIONARY_COLUMNS = ("tehsil_id",)


def _to_arrow(households: pd.DataFrame) -> pa.Table:
    frame = households[COLUMNS]
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for name in DICTIONARY_COLUMNS:
        at = table.schema.get_field_index(name)
        if not pa.types.is_dictionary(table.schema.field(at).type):
            table = table.set_column(at, name, pc.dictionary_encode(table.column(at)))
    table = table.append_column("geometry", _wkb_points(frame.lon.to_numpy(), frame.lat.to_numpy()))
    meta = dict(table.schema.metadata or {})
    meta.pop(b"pandas", None)
    meta[b"geo"] = _geo_metadata()
    return table.replace_schema_metadata(meta)


def write(households: pd.DataFrame | Iterator[pd.DataFrame], path: str | Path) -> int:
    """Write households to GeoParquet (``.parquet``) or CSV (``.csv``).

    Accepts one frame or an iterator of frames (chunks), so a national registry is written
    without holding it in memory twice.

    Parameters
    ----------
    households
        Validated or generated households with the columns of
        :data:`simulator.registry.schema.COLUMNS`, or an iterator of such frames.
    path
        Output file; its folder is created. GeoParquet is zstd-compressed.

    Returns
    -------
    int
        Rows written [households].

    Raises
    ------
    RegistryError
        ``path`` has another suffix.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    chunks = [households] if isinstance(households, pd.DataFrame) else households
    rows = 0
    if path.suffix.lower() == ".csv":
        for i, chunk in enumerate(chunks):
            chunk[COLUMNS].to_csv(path, mode="w" if i == 0 else "a", header=i == 0, index=False)
            rows += len(chunk)
        return rows
    if path.suffix.lower() not in PARQUET_SUFFIXES:
        raise RegistryError(f"{path}: write registries as .parquet (GeoParquet) or .csv.")
    writer = None
    try:
        for chunk in chunks:
            table = _to_arrow(chunk)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="zstd")
            writer.write_table(table)
            rows += len(chunk)
    finally:
        if writer is not None:
            writer.close()
    return rows
