"""The payload of an exchange package: a Parquet table, refused when it holds raw CNICs.

Raw CNICs never travel: :func:`_payload` refuses a frame with a CNIC-named column or a text
column holding 13-digit values (``12345-1234567-1`` or ``1234512345671``); pseudonymise first
(:mod:`simulator.exchange.pseudonym`).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hazards.errors import ExchangeError
from simulator.registry import CNIC_COLUMN_NAMES

_CNIC_NAME_RE = re.compile(
    r"^(?:.*[_\s-])?(?:cnic|nic|national_id|nationalid|b_form|bform)(?:[_\s-]?(?:no|num|number))?$",
    re.IGNORECASE,
)
#: A raw CNIC: 13 digits, with or without the dashes of the 5-7-1 layout.
_CNIC_VALUE_RE = r"^\s*\d{5}-?\d{7}-?\d\s*$"


def _cnic_columns(table: pa.Table) -> list[str]:
    """Columns of ``table`` that hold or are named like raw CNICs, each with the reason."""
    found = []
    for name in table.column_names:
        if name.lower() in CNIC_COLUMN_NAMES or _CNIC_NAME_RE.match(name):
            found.append(f"{name!r} (its name)")
            continue
        column = table.column(name)
        typ = column.type
        if pa.types.is_dictionary(typ):
            value_type = typ.value_type
            arrays = [chunk.dictionary for chunk in column.chunks]
        else:
            value_type = typ
            arrays = list(column.chunks)
        if not (
            pa.types.is_string(value_type)
            or pa.types.is_large_string(value_type)
            or pa.types.is_string_view(value_type)
        ):
            continue
        hits = sum(
            int(pc.sum(pc.match_substring_regex(a, _CNIC_VALUE_RE)).as_py() or 0) for a in arrays
        )
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

