"""Validation of registry rows against the schema, with a quarantine for the rows that break it.

The steps, in order (each vectorized over the rows, none loops over them):

1. :func:`check_columns` - refuse columns named like a CNIC
   (:func:`~simulator.registry.cnic.cnic_column_names`: case, spaces and punctuation do not hide
   one) and missing required columns;
2. :func:`_check_ids` - missing ids, ids shaped like a CNIC
   (:func:`~simulator.registry.cnic.looks_like_cnic`, any dtype: text, integers, floats);
   :func:`_check_cnic_cells` - any other cell shaped like a CNIC (``tehsil_id``, numbers,
   columns outside the schema);
3. :func:`_check_coordinates` - missing, swapped or outside Pakistan's bounding box;
4. :func:`_check_districts` - unknown districts, province codes that disagree with them;
5. :func:`_check_ranges` - household size, PMT score, children under five, row weight;
6. :func:`_check_flags` and :func:`_check_housing` - boolean flags and the housing category;
7. :func:`_flag_duplicate_ids` - later repeats of an id among otherwise valid rows;
8. :func:`_valid_households`, :func:`_quarantine` and :func:`_report` - the three outputs.

Rows that break the schema are never dropped silently: they are returned in the quarantine
table with the file row number and a reason each, and counted in the report.

The validated frame keeps only the schema's columns (:data:`~simulator.registry.schema.COLUMNS`):
columns outside it are dropped (a note names them), and a row with a CNIC-shaped cell in any
column is quarantined, so a raw CNIC is never copied into the kept households. The quarantine
shows the row number, the household id (redacted when it looks like a CNIC) and the reasons,
never another cell.
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hazards import tables as data
from hazards.errors import RegistryError
from simulator.registry.cnic import (
    cnic_column_names,
    looks_like_cnic,
    normalise_column_name,
    text_buffers,
)
from simulator.registry.schema import (
    COLUMNS,
    FLAGS,
    HOUSING,
    MAX_HH_SIZE,
    Registry,
    ValidationReport,
)
from simulator.registry.schema import check_columns as _required_columns

log = logging.getLogger(__name__)


class Reasons:
    """Reason code -> boolean row mask, in the order codes were first flagged (the registry's
    and the sites table's quarantines)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.masks: dict[str, np.ndarray] = {}

    def flag(self, code: str, mask) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            self.masks[code] = self.masks.get(code, np.zeros(self.n, bool)) | mask

    def any_row(self) -> np.ndarray:
        """Rows flagged with at least one code so far."""
        bad = np.zeros(self.n, bool)
        for mask in self.masks.values():
            bad |= mask
        return bad


_Reasons = Reasons


def _numbers(raw: pd.DataFrame, column: str) -> np.ndarray:
    """A column as float64, unparseable values NaN."""
    values = raw[column]
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


def _arrow_text(values: pd.Series) -> pa.ChunkedArray:
    """A column as Arrow text, null where missing: an Arrow-backed text column as it is (no
    Python object per row), any other column through pandas' ``string`` conversion."""
    array = values.array
    if hasattr(array, "__arrow_array__") and not isinstance(values.dtype, pd.CategoricalDtype):
        arrow = array.__arrow_array__()
        arrow = arrow if isinstance(arrow, pa.ChunkedArray) else pa.chunked_array([arrow])
        if pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type):
            return arrow
    arrow = values.astype("string").array.__arrow_array__()
    return arrow if isinstance(arrow, pa.ChunkedArray) else pa.chunked_array([arrow])


def _stripped(text: pa.ChunkedArray) -> pa.ChunkedArray:
    """Text without surrounding whitespace; left as it is (no copy) when no value starts or ends
    with a byte that could be whitespace (ASCII space or control, or a non-ASCII character)."""
    for chunk in text.chunks:  # loops over chunks (a file's row groups), not rows
        offsets, data = text_buffers(chunk)
        filled = np.flatnonzero(np.diff(offsets) > 0)
        ends = np.concatenate([data[offsets[filled]], data[offsets[filled + 1] - 1]])
        if ((ends <= 32) | (ends >= 127)).any():
            return pc.utf8_trim_whitespace(text)
    return text


def _blank(text: pa.ChunkedArray) -> np.ndarray:
    """Missing or empty values, from the validity bitmaps and offsets."""
    parts = []
    for chunk in text.chunks:
        offsets, _ = text_buffers(chunk)
        empty = np.diff(offsets) == 0
        parts.append(empty | ~np.asarray(chunk.is_valid()) if chunk.null_count else empty)
    return np.concatenate(parts) if parts else np.zeros(0, bool)


def _encode(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """A low-cardinality column as (codes, labels): each row's position among the distinct
    texts (-1 where missing) and those texts, so that a check runs on the distinct values only.
    Categorical columns give their codes; text columns are dictionary-encoded by Arrow. The
    codes keep their small integer type (a 35 M-row column of int64 codes is 280 MB)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        labels = pd.Index(values.cat.categories.astype("string"))
        return values.cat.codes.to_numpy(), labels  # int8 or int16: read as indexes, never summed
    encoded = pc.dictionary_encode(_arrow_text(values)).combine_chunks()
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    return codes, pd.Index(pd.array(encoded.dictionary, dtype="string"))


def _normalised(labels: pd.Index, *, lower: bool = True) -> pd.Index:
    """Distinct texts stripped (and lower-cased), as validation compares them."""
    text = labels.str.strip()
    return text.str.lower() if lower else text


def _to_bool(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse a flag column; return (value, is_bad)."""
    if values.dtype == bool:
        return values.to_numpy(), np.zeros(len(values), bool)
    codes, labels = _encode(values)
    text = _normalised(labels)
    truthy = np.append(text.isin(["true", "1", "yes", "y", "t"]), False)
    falsy = np.append(text.isin(["false", "0", "no", "n", "f"]), False)
    # code -1 (missing) reads the appended False: missing is neither true nor bad
    return truthy[codes], ~(truthy | falsy)[codes] & (codes >= 0)


def check_columns(frame: pd.DataFrame, source: str) -> None:
    """Refuse a frame with a column named like a raw CNIC, or lacking a required column.

    Names are normalised first (case, spaces, underscores, punctuation: ``CNIC ``,
    ``cnic number``, ``nic_no``, ``id_card``, ``father_cnic`` are all refused; see
    :func:`simulator.registry.cnic.cnic_column_names`); then
    :func:`simulator.registry.schema.check_columns` checks the required columns.

    Raises
    ------
    RegistryError
        A CNIC-named column (the message gives its normalised and written name and the fix), or
        a required column missing.
    """
    named = cnic_column_names(frame.columns)
    if named:
        first = named[0]
        others = f" (and {[str(c) for c in named[1:]]})" if len(named) > 1 else ""
        raise RegistryError(
            f"{source}: column {normalise_column_name(first)!r} looks like a raw CNIC (written "
            f"{str(first)!r} in the file){others}. Madad never stores raw CNICs: replace it with a "
            "pseudonymous household_id (a keyed hash held by the data owner, see "
            "simulator.exchange.pseudonym) and remove the column."
        )
    _required_columns(frame, source)


def _check_ids(raw: pd.DataFrame, reasons: _Reasons) -> tuple[pa.ChunkedArray, np.ndarray]:
    """Stripped ids (Arrow text) and which of them look like a CNIC; flags missing and
    CNIC-shaped ids (judged on the column as stored: text, integers or floats)."""
    ids = _stripped(_arrow_text(raw["household_id"]))
    reasons.flag("missing_household_id", _blank(ids))
    looks_cnic = looks_like_cnic(raw["household_id"], name="household_id")
    reasons.flag("id_looks_like_cnic", looks_cnic)
    return ids, looks_cnic


def _check_cnic_cells(raw: pd.DataFrame, reasons: _Reasons, notes: list[str],
                      encoded: dict[str, tuple[np.ndarray, pd.Index]]) -> None:
    """Flags rows with a CNIC-shaped cell in any column but ``household_id``: a schema column
    gives ``<column>_looks_like_cnic``, a column outside the schema (dropped from the kept
    frame) ``extra_column_looks_like_cnic``; notes name the extra columns."""
    extra = [c for c in raw.columns if c not in COLUMNS]
    for column in raw.columns:  # loops over columns, each vectorized over the rows
        if column == "household_id":
            continue
        if column in encoded:  # few distinct values: each is judged once
            codes, labels = encoded[column]
            hit = np.append(looks_like_cnic(labels, name=str(column)), False)[codes]
        else:
            hit = looks_like_cnic(raw[column], name=str(column))
        if column in COLUMNS:
            reasons.flag(f"{column}_looks_like_cnic", hit)
        elif hit.any():
            reasons.flag("extra_column_looks_like_cnic", hit)
            notes.append(_cnic_note(repr(str(column)), int(hit.sum())))
    if extra:
        notes.append(f"columns {[str(c) for c in extra]} are not in the schema: not kept")


def _cnic_note(column: str, count: int) -> str:
    return (f"column {column}: {count:,} value(s) shaped like a CNIC; those rows are quarantined "
            "(remove raw CNICs from the file)")


_CNIC_NOTE = re.compile(r"^column (.+): ([\d,]+) value\(s\) shaped like a CNIC; ")


def merge_reports(reports: list[ValidationReport], source: str) -> ValidationReport:
    """One report for a registry validated in parts (each part on its own, in order): row and
    reason counts summed; notes kept once each in first-seen order, the CNIC-shaped-values note
    of a column summed over the parts. Equal to validating the whole registry at once when the
    parts share their columns (an id repeated across parts is the caller's to add)."""
    notes: dict[str, int | None] = {}
    reasons: dict[str, int] = {}
    for report in reports:
        for note in report.notes:
            found = _CNIC_NOTE.match(note)
            if found:
                key = found.group(1)
                notes[key] = (notes.get(key) or 0) + int(found.group(2).replace(",", ""))
            else:
                notes.setdefault(note, None)
        for code, count in report.reasons.items():
            reasons[code] = reasons.get(code, 0) + count
    return ValidationReport(
        source=source,
        rows_read=sum(r.rows_read for r in reports),
        rows_valid=sum(r.rows_valid for r in reports),
        rows_quarantined=sum(r.rows_quarantined for r in reports),
        reasons=reasons,
        notes=[note if count is None else _cnic_note(note, count) for note, count in notes.items()],
    )


def id_hashes(ids: pd.Series | pa.ChunkedArray | pa.Array) -> np.ndarray:
    """The 64-bit hash of each id as the duplicate check makes it (:func:`_string_hashes`; uint64):
    equal ids give equal hashes, so ids repeated across the parts of a registry are found by
    comparing hashes, and only rows whose hash repeats need their text compared."""
    if isinstance(ids, pd.Series):
        ids = ids.array.__arrow_array__() if hasattr(ids.array, "__arrow_array__") else \
            pa.array(ids.astype("string").array)
    return _string_hashes(ids)


def stripped_ids(values: pd.Series) -> pa.ChunkedArray:
    """Household ids as validation keeps them: Arrow text, surrounding blanks stripped."""
    return _stripped(_arrow_text(values))


def _check_coordinates(raw: pd.DataFrame, reasons: _Reasons) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude [degrees, EPSG:4326] as float64; flags missing, swapped and
    out-of-Pakistan coordinates (against ``hazards.tables.PAKISTAN_BBOX``)."""
    lon = _numbers(raw, "lon")
    lat = _numbers(raw, "lat")
    reasons.flag("missing_lon", np.isnan(lon))
    reasons.flag("missing_lat", np.isnan(lat))
    flag_places(lon, lat, reasons)
    return lon, lat


def flag_places(lon: np.ndarray, lat: np.ndarray, reasons: Reasons) -> None:
    """Flags ``coords_swapped`` (lat/lon given the other way round) and
    ``coords_outside_pakistan`` (against ``hazards.tables.PAKISTAN_BBOX``) among known points:
    the registry's and the sites table's check of a place."""
    x0, y0, x1, y1 = data.PAKISTAN_BBOX
    inside = (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
    swapped = ~inside & (lat >= x0) & (lat <= x1) & (lon >= y0) & (lon <= y1)
    known = ~np.isnan(lon) & ~np.isnan(lat)
    reasons.flag("coords_swapped", swapped)
    reasons.flag("coords_outside_pakistan", known & ~inside & ~swapped)


def _check_districts(
    raw: pd.DataFrame, reasons: _Reasons, notes: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Row positions in the district table (-1 unknown) and each row's province (its position
    in ``data.PROVINCES``) from its district; flags missing and unknown districts and a given province that disagrees.
    Each check runs on the column's distinct values (:func:`_encode`), then is mapped to rows."""
    table = data.districts()
    given, labels = _encode(raw["district_id"])
    # per distinct label (the last entry stands for a missing cell, code -1): its row in the
    # district table (-1 unknown) and its province's position; rows then read them by code
    at = np.append(pd.Index(table.district_id).get_indexer(_normalised(labels)), -1).astype(np.int16)
    of_district = pd.Index(list(data.PROVINCES)).get_indexer(table.province_code)
    prov_of = of_district[np.where(at >= 0, at, 0)].astype(np.int8)
    codes = at[given]
    reasons.flag("missing_district_id", given < 0)
    reasons.flag("unknown_district", np.append(at[:-1] < 0, False)[given])
    expected_prov = prov_of[given]
    if "province_code" in raw.columns:
        prov, prov_labels = _encode(raw["province_code"])
        # a given code that is no province (-1) disagrees with every district's; missing: -2
        given_prov = np.append(pd.Index(list(data.PROVINCES)).get_indexer(_normalised(prov_labels).str.upper()), -2)
        # (district label, province label) -> disagree; a missing or unknown district, or a
        # missing province (the last row and column, and unknown rows), never disagrees
        disagree = (given_prov[None, :] != prov_of[:, None]) & (at[:, None] >= 0)
        disagree[:, -1] = False
        reasons.flag("province_mismatch", disagree[given, prov])
    else:
        notes.append("province_code absent: derived from district_id")
    return codes, expected_prov


def _integers(raw: pd.DataFrame, column: str) -> np.ndarray | None:
    """A column stored as integers (Parquet's int16/int32, never missing), as it is; else None."""
    dtype = raw[column].dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return raw[column].to_numpy()
    return None


def _check_count(raw: pd.DataFrame, column: str, low: float, high: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A whole-number column: (values, missing, outside [low, high] or not whole). An integer
    column is checked as integers (two comparisons); any other is parsed as numbers first."""
    values = _integers(raw, column)
    if values is not None:
        return values, np.zeros(len(values), bool), (values < low) | (values > high)
    values = _numbers(raw, column)
    missing = np.isnan(values)
    with np.errstate(invalid="ignore"):
        bad = ~missing & ((values < low) | (values > high) | (values != np.round(values)))
    return values, missing, bad


def _check_ranges(
    raw: pd.DataFrame, reasons: _Reasons, notes: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Household size [persons], PMT score [0-100], children under five [persons] and row weight
    [households] (integers as stored, else float64); flags missing and out-of-range values.
    Absent children default to 0 and absent weights to 1."""
    n = len(raw)
    size, missing, bad = _check_count(raw, "hh_size", 1, MAX_HH_SIZE)
    reasons.flag("missing_hh_size", missing)
    reasons.flag("impossible_size", bad)
    pmt = _numbers(raw, "pmt_score")
    reasons.flag("missing_pmt_score", np.isnan(pmt))
    reasons.flag("pmt_out_of_range", ~np.isnan(pmt) & ((pmt < 0) | (pmt > 100)))
    if "children_under5" in raw.columns:
        under5, missing, bad = _check_count(raw, "children_under5", 0, np.inf)
        # a known size bounds the children; a missing size was flagged above
        too_many = under5 >= (size if size.dtype.kind in "iu" else np.nan_to_num(size, nan=np.inf))
        reasons.flag("invalid_children_under5", bad | (~missing & too_many))
        under5 = np.nan_to_num(under5, nan=0.0) if missing.any() else under5
    else:
        under5 = np.zeros(n, np.int16)
        notes.append("children_under5 absent: assumed 0 for every household")
    if "weight" in raw.columns:
        weight, missing, bad = _check_count(raw, "weight", 1, 1e6)
        reasons.flag("invalid_weight", missing | bad)
        weight = np.nan_to_num(weight, nan=1.0) if missing.any() else weight
    else:
        weight = np.ones(n, np.int32)
    return size, pmt, under5, weight


def _check_flags(raw: pd.DataFrame, reasons: _Reasons, notes: list[str]) -> dict[str, np.ndarray]:
    """Each flag of :data:`FLAGS` as a bool array (absent: false); flags unparseable values."""
    flags = {}
    for name in FLAGS:  # a handful of columns, each vectorized
        if name in raw.columns:
            value, bad = _to_bool(raw[name])
            reasons.flag(f"invalid_{name}", bad)
            flags[name] = value
        else:
            flags[name] = np.zeros(len(raw), bool)
            notes.append(f"{name} absent: assumed false for every household")
    return flags


def _check_housing(raw: pd.DataFrame, reasons: _Reasons, notes: list[str]) -> pd.Categorical:
    """Housing as a categorical of :data:`HOUSING` (unknown: missing); flags other values."""
    if "housing" not in raw.columns:
        notes.append("housing absent: unknown for every household")
        return pd.Categorical.from_codes(np.full(len(raw), -1), categories=HOUSING)
    given, labels = _encode(raw["housing"])
    at = np.append(pd.Index(HOUSING).get_indexer(_normalised(labels)), -1)
    codes = at[given]
    bad = (codes < 0) & (given >= 0)
    reasons.flag("invalid_housing", bad)
    return pd.Categorical.from_codes(codes, categories=HOUSING)


#: Seeds of the 64-bit string hash used to find repeated ids (FNV-1a's offset and prime).
_FNV_OFFSET, _FNV_PRIME = np.uint64(0xCBF29CE484222325), np.uint64(0x100000001B3)
#: Rows hashed per block (bounds the byte matrix of a block).
_HASH_BLOCK = 1 << 21


def _string_hashes(ids: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A 64-bit hash of each string (nulls hash as empty), vectorized: chunk by chunk, rows are
    grouped by length, each block's bytes taken as a matrix and mixed 8 bytes at a time (the
    loops run over chunks, lengths, blocks and 8-byte words, never over rows). Equal strings
    always hash equal; unequal ones may collide, so callers confirm a repeat exactly."""
    chunks = ids.chunks if isinstance(ids, pa.ChunkedArray) else [ids]
    parts = [_chunk_hashes(chunk) for chunk in chunks]
    return np.concatenate(parts) if parts else np.zeros(0, np.uint64)


def _chunk_hashes(arr: pa.Array) -> np.ndarray:
    n = len(arr)
    out = np.full(n, _FNV_OFFSET, dtype=np.uint64)
    if n == 0:
        return out
    offsets, data = text_buffers(arr)
    lengths = np.diff(offsets)
    if arr.null_count:
        lengths = np.where(np.asarray(arr.is_valid()), lengths, 0)
    fixed = int(lengths[0]) if bool((lengths == lengths[0]).all()) and not arr.null_count else None
    with np.errstate(over="ignore"):
        distinct = [fixed] if fixed is not None else np.unique(lengths).tolist()
        for length in distinct:  # a handful of distinct id lengths
            rows = None if fixed is not None else np.flatnonzero(lengths == length)
            count = n if rows is None else len(rows)
            words = -(-length // 8)
            for b in range(0, count, _HASH_BLOCK):
                stop = min(b + _HASH_BLOCK, count)
                if rows is None:  # every id as long: the bytes are already a matrix, in order
                    block = slice(b, stop)
                    raw = data[offsets[0] + b * length : offsets[0] + stop * length].reshape(stop - b, length)
                else:
                    block = rows[b:stop]
                    raw = data[offsets[block][:, None] + np.arange(length)] if length else None
                matrix = np.zeros((stop - b, words * 8), dtype=np.uint8)
                if length:
                    matrix[:, :length] = raw
                h = np.full(stop - b, _FNV_OFFSET ^ np.uint64(length), dtype=np.uint64)
                for word in matrix.view(np.uint64).T:  # loops over the 8-byte words of an id
                    h = (h ^ word) * _FNV_PRIME
                    h ^= h >> np.uint64(29)
                out[block] = h
    return out


def _repeated(hashes: np.ndarray) -> np.ndarray:
    """The hash values that occur more than once (one sort: numpy's is vectorized)."""
    ordered = np.sort(hashes)
    return np.unique(ordered[1:][ordered[1:] == ordered[:-1]])


def _flag_duplicate_ids(ids: pa.ChunkedArray, reasons: _Reasons, hashes: np.ndarray | None = None) -> None:
    """Among otherwise valid rows, the first occurrence of an id is kept, later ones flagged.

    Ids are hashed (:func:`_string_hashes`, or ``hashes`` already made); only rows whose hash
    repeats are compared as text, so a registry of unique ids costs a hash and a sort, not a
    hash table of strings."""
    bad = reasons.any_row()
    hashes = _string_hashes(ids) if hashes is None else hashes
    # the usual case, every row valid: the hashes sorted as they are, without a copy first
    repeated = _repeated(hashes[~bad] if bad.any() else hashes)
    if not repeated.size:
        return
    rows = np.flatnonzero(np.isin(hashes, repeated) & ~bad)
    text = pd.Series(pd.array(ids.take(pa.array(rows)), dtype="string"))
    dup = np.zeros(reasons.n, bool)
    dup[rows[text.duplicated(keep="first").to_numpy(dtype=bool)]] = True
    reasons.flag("duplicate_id", dup)


def _valid_households(
    raw: pd.DataFrame,
    good: np.ndarray,
    *,
    ids: pa.ChunkedArray,
    lon: np.ndarray,
    lat: np.ndarray,
    codes: np.ndarray,
    expected_prov: np.ndarray,
    size: np.ndarray,
    pmt: np.ndarray,
    flags: dict[str, np.ndarray],
    housing: pd.Categorical,
    under5: np.ndarray,
    weight: np.ndarray,
    tehsil: tuple[np.ndarray, pd.Index] | None,
) -> pd.DataFrame:
    """The valid rows in the schema's column order and dtypes (ids stay Arrow text; districts,
    provinces, tehsils and housing are categoricals). ``tehsil``: the column's :func:`_encode`."""
    table = data.districts()
    everyone = bool(good.all())  # the usual case: nothing to filter, nothing copied
    keep = pa.array(good)

    def kept(values: np.ndarray) -> np.ndarray:
        return values if everyone else values[good]

    if tehsil is not None:
        # codes kept, categories the distinct labels stripped and lower-cased (merged when two
        # labels differ only by case or spaces)
        given, labels = tehsil
        remap, categories = pd.factorize(_normalised(labels))
        tehsil_values = pd.Categorical.from_codes(kept(np.append(remap, -1)[given]),
                                                  categories=pd.Index(categories, dtype="string"))
    else:
        tehsil_values = pd.Categorical.from_codes(np.full(int(good.sum()), -1), categories=pd.Index([], dtype="string"))

    return pd.DataFrame(
        {
            "household_id": pd.array(ids if everyone else ids.filter(keep), dtype="string"),
            "lon": kept(lon),
            "lat": kept(lat),
            "province_code": pd.Categorical.from_codes(kept(expected_prov), categories=list(data.PROVINCES)),
            "district_id": pd.Categorical.from_codes(kept(codes), categories=table.district_id),
            "tehsil_id": tehsil_values,
            "hh_size": kept(size).astype(np.int16, copy=False),
            "pmt_score": kept(pmt).astype(np.float32, copy=False),
            **{name: kept(flags[name]) for name in FLAGS},
            "housing": housing if everyone else housing[good],
            "children_under5": kept(under5).astype(np.int16, copy=False),
            "weight": kept(weight).astype(np.int32, copy=False),
        },
        copy=False,  # one block per column: consolidating them copied 35 M rows' columns (1.5 s)
    )


def _quarantine(
    ids: pa.ChunkedArray, looks_cnic: np.ndarray, reasons: dict[str, np.ndarray], bad: np.ndarray
) -> pd.DataFrame:
    """Bad rows: 1-based ``row``, ``household_id`` (redacted if CNIC-shaped), ``;``-joined
    ``reason`` codes in alphabetical order."""
    rows = np.flatnonzero(bad)
    text = np.full(len(rows), "", dtype=object)
    for code, mask in sorted(reasons.items()):  # loops over reason codes, not rows
        hit = mask[rows]
        text[hit] = np.where(text[hit] == "", code, text[hit] + ";" + code)
    shown = np.asarray(ids.take(pa.array(rows)).to_pandas(), dtype=object) if len(rows) else \
        np.zeros(0, dtype=object)
    shown[looks_cnic[rows]] = "<redacted: looked like a CNIC>"
    return pd.DataFrame(
        {"row": rows + 1, "household_id": pd.array(shown, dtype="string"), "reason": text}
    )


def _report(source: str, n: int, bad: np.ndarray, reasons: _Reasons, notes: list[str]) -> ValidationReport:
    return ValidationReport(
        source=source,
        rows_read=n,
        rows_valid=int((~bad).sum()),
        rows_quarantined=int(bad.sum()),
        reasons={code: int(mask.sum()) for code, mask in reasons.masks.items()},
        notes=notes,
    )


def validate(raw: pd.DataFrame, *, source: str = "<registry>") -> Registry:
    """Check every row of a registry against the schema.

    Parameters
    ----------
    raw
        Rows as read (see :func:`simulator.registry.read.read_raw`); values may be strings.
    source
        Where they came from, for the report and messages.

    Returns
    -------
    Registry
        ``households``: the valid rows with the schema's dtypes (``lon``/``lat`` [degrees],
        ``hh_size`` and ``children_under5`` [persons], ``pmt_score`` [0-100], ``weight``
        [households]); ``quarantine``: one row per bad row with ``row`` (1-based data row of the
        file), ``household_id`` (redacted when it looks like a CNIC) and ``reason``
        (``;``-joined codes); ``report``: counts per reason and notes on defaults.

    Raises
    ------
    RegistryError
        A column named like a raw CNIC, or a required column missing.

    Notes
    -----
    Reason codes: ``missing_<column>``, ``coords_swapped``, ``coords_outside_pakistan``,
    ``unknown_district``, ``province_mismatch``, ``impossible_size``, ``pmt_out_of_range``,
    ``invalid_<flag>``, ``invalid_housing``, ``id_looks_like_cnic``, ``<column>_looks_like_cnic``
    (e.g. ``tehsil_id_looks_like_cnic``; see :mod:`simulator.registry.cnic` for the shapes),
    ``extra_column_looks_like_cnic`` (a column outside the schema), ``duplicate_id``.
    """
    check_columns(raw, source)
    n = len(raw)
    reasons, others = _Reasons(n), _Reasons(n)
    notes: list[str] = []

    def id_checks() -> tuple[pa.ChunkedArray, np.ndarray, np.ndarray]:
        ids, looks_cnic = _check_ids(raw, reasons)
        return ids, looks_cnic, _string_hashes(ids)

    # the ids (the costliest column: its CNIC check and hashes) on a second thread, the other
    # columns here; their reasons are merged in the same order as one thread would flag them
    with ThreadPoolExecutor(1) as pool:
        id_job = pool.submit(id_checks)
        # tehsil codes: few distinct values, encoded once for the CNIC check and the kept column
        tehsil = _encode(raw["tehsil_id"]) if "tehsil_id" in raw.columns else None
        _check_cnic_cells(raw, others, notes, {} if tehsil is None else {"tehsil_id": tehsil})
        lon, lat = _check_coordinates(raw, others)
        codes, expected_prov = _check_districts(raw, others, notes)
        size, pmt, under5, weight = _check_ranges(raw, others, notes)
        flags = _check_flags(raw, others, notes)
        housing = _check_housing(raw, others, notes)
        ids, looks_cnic, hashes = id_job.result()
    for code, mask in others.masks.items():
        reasons.flag(code, mask)
    _flag_duplicate_ids(ids, reasons, hashes)

    bad = reasons.any_row()
    households = _valid_households(
        raw, ~bad, ids=ids, lon=lon, lat=lat, codes=codes, expected_prov=expected_prov,
        size=size, pmt=pmt, flags=flags, housing=housing, under5=under5, weight=weight, tehsil=tehsil,
    )
    quarantine = _quarantine(ids, looks_cnic, reasons.masks, bad)
    report = _report(source, n, bad, reasons, notes)
    if report.rows_quarantined:
        log.warning("%s: %d of %d rows quarantined", source, report.rows_quarantined, n)
    return Registry(households, quarantine, report)


def province_of_districts(households: pd.DataFrame) -> pd.Series:
    """The province code (str) of each district that ``households`` (a validated registry)
    holds, indexed by district id, in the order of the district categories.

    Validation makes every row's province its district's in the district table (a row whose
    given province disagrees is quarantined, :func:`_check_districts`), so the table is read
    for the districts present: one count of the district codes, not a pass over the rows'
    columns (``drop_duplicates`` took about 1 s of a 35 M-household run)."""
    district = households["district_id"]
    if isinstance(district.dtype, pd.CategoricalDtype):
        codes = district.cat.codes.to_numpy()
        if len(codes) and codes.min() < 0:  # missing: none in a validated registry
            codes = codes[codes >= 0]
        present = pd.Index(district.cat.categories[np.bincount(codes, minlength=len(district.cat.categories)) > 0])
    else:
        present = pd.Index(pd.unique(district.dropna()))
    table = data.districts().set_index("district_id")["province_code"].astype(str)
    out = table.reindex(present.astype(str))
    out.index.name, out.name = "district_id", "province_code"
    return out
