"""The payload of an exchange package: a Parquet table, refused when it holds raw CNICs.

Raw CNICs never travel: :func:`_payload` refuses a frame with a CNIC-named column or a column
holding CNIC-shaped values (``12345-1234567-1``, ``1234512345671``, ``12345 1234567 1``, a
13-digit integer or float; :mod:`simulator.registry.cnic` decides); pseudonymise first
(:mod:`simulator.exchange.pseudonym`).
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hazards.errors import ExchangeError
from simulator.registry.cnic import cnic_column_names, looks_like_cnic


def _cnic_columns(table: pa.Table) -> list[str]:
    """Columns of ``table`` that hold or are named like raw CNICs, each with the reason.

    Both tests are :mod:`simulator.registry.cnic`'s: names normalised (``head_CNIC_no``,
    ``nic no``, ``ID Card``), values of any type (text in every written form, integers and
    floats of 13 digits, categorical and dictionary columns).
    """
    named = set(cnic_column_names(table.column_names))
    found = []
    for name in table.column_names:  # loops over columns, each vectorized
        if name in named:
            found.append(f"{name!r} (its name)")
            continue
        hits = int(looks_like_cnic(table.column(name), name=name).sum())
        if hits:
            found.append(f"{name!r} ({hits:,} values of 13 digits)")
    return found


def _columns(schema: pa.Schema) -> list[dict[str, str]]:
    return [{"name": f.name, "type": str(f.type)} for f in schema]


def _payload(frame_or_parquet: pd.DataFrame | str | Path) -> tuple[bytes, pa.Schema, int, str]:
    """Parquet bytes, their schema and row count, and a description of the source."""
    if isinstance(frame_or_parquet, pd.DataFrame):
        source = "the frame"
        try:
            table = pa.Table.from_pandas(frame_or_parquet)
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise ExchangeError(
                f"the frame cannot be written as Parquet ({exc}); give plain columns "
                "(a GeoDataFrame: write it to GeoParquet and pack the file)."
            ) from exc
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="zstd")
        payload = buf.getvalue()
    else:
        path = Path(frame_or_parquet)
        source = str(path)
        try:
            payload = path.read_bytes()
            table = pq.read_table(pa.BufferReader(payload))
        except FileNotFoundError as exc:
            raise ExchangeError(f"{source}: no such file to pack.") from exc
        except (OSError, pa.ArrowException) as exc:
            raise ExchangeError(f"{source}: not a readable Parquet file ({exc}).") from exc
    cnic = _cnic_columns(table)
    if cnic:
        raise ExchangeError(
            f"{source}: refused: column {', '.join(cnic)} looks like raw CNICs, which never leave "
            "the data owner. Pseudonymise first (replace CNICs with keyed-hash pseudonyms, "
            "simulator.exchange.pseudonym) and drop the raw column, then pack again."
        )
    schema = pq.read_schema(pa.BufferReader(payload))
    return payload, schema, table.num_rows, source


def _decode_payload(payload: bytes) -> pd.DataFrame:
    """Read the verified Parquet payload into a frame, restoring pyarrow-backed dtypes."""
    table = pq.read_table(pa.BufferReader(payload))
    frame = table.to_pandas()
    for col in (table.schema.pandas_metadata or {}).get("columns", []):
        name, numpy_type = col.get("field_name"), col.get("numpy_type")
        if (
            isinstance(numpy_type, str)
            and numpy_type.endswith("[pyarrow]")
            and name in frame.columns
            and not isinstance(frame[name].dtype, pd.ArrowDtype)
        ):
            frame[name] = pd.arrays.ArrowExtensionArray(table.column(name))
    return frame

