"""The one detector of raw CNICs: in values, in column names, in tables and in written files.

A CNIC is Pakistan's 13-digit national identity number, written ``35202-1234567-1`` or
``3520212345671``. Madad never keeps one: the registry's door
(:mod:`~simulator.registry.validation`) refuses CNIC-named columns and quarantines rows with CNIC-shaped cells, the exchange refuses
payloads that hold them (:mod:`simulator.exchange.payload`), and :func:`scan_file` checks every
written output a last time. They all ask this module.

What counts as CNIC-shaped (:func:`looks_like_cnic`)

* **Text** (string, object, categorical, binary columns; always checked): a run of 13 or more
  digits, or 5-7-1 digits with a separator (space, ``-``, ``_``, ``.``, ``/``, a Unicode dash,
  spaces around it) or none between the groups, not preceded or followed by another digit. Prefix
  letters (``CNIC35202-1234567-1``), quotes (``'3520212345671``) and a trailing ``.0`` do not hide
  it. Any Unicode decimal digit counts (Urdu ``۳۵۲۰۲-...``). A digit run that is the fractional
  part of a decimal number (``67.12345678901234``, a longitude) is not a CNIC.
  A text cell that is a decimal number is text too: ``352021234567.1`` (a CNIC with one dot)
  is flagged, ``67.12345678901234`` is not.
* **Numbers** (integer and float columns, and text cells that are decimal or scientific
  numbers such as ``3.520212345671e+12``): an integral value of exactly 13 digits
  (10^12 <= |v| < 10^13). Longitudes, PMT scores, weights and counts never reach that
  range; a weight of 1234567890123.0 is flagged (no household row stands for a trillion
  households: such a value is an identifier in the wrong column). Columns whose name marks a
  money amount (``pkr``, ``usd``, ``amount``, ``cost``, ``budget``, ``payout``, ... see
  :data:`AMOUNT_WORDS`) are exempt from this numeric rule, so a national total of PKR 1.5
  trillion is not a CNIC; their non-numeric text is still checked.
* Booleans, dates and times are never CNIC-shaped.

Column names (:func:`cnic_column_names`) are normalised (Unicode NFKC, case, spaces,
underscores and punctuation) and flagged when they name a CNIC (``cnic``, ``CNIC `` ,
``cnic number``, ``father_cnic``, ``fatherCnic``), a NIC (``nic_no``, ``NIC #``, ``snic``,
``nicop``), an identity card (``id_card``, ``ID Card No``), a national id (``national_id``,
``nationalIdentity``), ``shanakhti`` (Urdu شناختی) or a B-form. ``household_id``,
``tehsil_id`` and ``district_id`` are not; nor are names that say the values are transformed
(``cnic_pseudonym``, ``cnic_hash``): their values are still checked.

Redaction (:func:`redact`) keeps at most the first five digits (the locality code) and the last
digit of a value, like :func:`simulator.exchange.pseudonym.mask_cnic`; messages and findings
never carry a raw CNIC.

Everything is vectorized over rows (pyarrow compute and numpy); the loops are over columns,
sheets and the nodes of a JSON document.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hazards.errors import CnicError

log = logging.getLogger(__name__)

__all__ = [
    "AMOUNT_WORDS",
    "CnicFinding",
    "SCANNABLE_SUFFIXES",
    "can_scan",
    "cnic_column_names",
    "is_amount_column",
    "looks_like_cnic",
    "normalise_column_name",
    "redact",
    "scan_file",
    "scan_table",
]

# --- Values ------------------------------------------------------------------------------------
# RE2 patterns (pyarrow.compute): \p{Nd} is any Unicode decimal digit.
_D = r"\p{Nd}"
_SEP = r"(?:\s*[-_./\x{2010}-\x{2015}\x{2212}]\s*|\s+)"
#: Before a CNIC: the start, or a character that is neither a digit nor the decimal point of a
#: number (the fractional part of ``25.2951394849189`` is not a CNIC).
_BEFORE = r"(?:^|[^\p{Nd}.,]|[^\p{Nd}][.,]|^[.,])"
#: 5-7-1 digits, a separator or none between the groups, no digit after.
_GROUPED = rf"{_BEFORE}{_D}{{5}}{_SEP}?{_D}{{7}}{_SEP}?{_D}(?:[^\p{{Nd}}]|$)"
#: 13 or more digits in a row.
_RUN = rf"{_BEFORE}{_D}{{13,}}"
_TEXT_RE = f"(?:{_GROUPED})|(?:{_RUN})"
#: A plain number written as text (ASCII digits, optional sign, fraction, exponent, quotes).
_PLAIN_NUMBER_RE = r"^\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*$"
_FRACTION_OR_EXPONENT_RE = r"[.eE]"
#: Shortest text that can hold a CNIC [characters].
_MIN_CHARS = 13
#: 10^12 <= |v| < 10^13: an integer of exactly 13 digits.
_LOW, _HIGH = 10**12, 10**13

#: Words (tokens of a normalised column name) that mark a money amount: numbers in such columns
#: are not checked by the 13-digit numeric rule (their text is).
AMOUNT_WORDS = frozenset(
    {
        "pkr",
        "usd",
        "rs",
        "rupees",
        "rupee",
        "amount",
        "amounts",
        "cost",
        "costs",
        "budget",
        "spend",
        "spent",
        "paid",
        "payout",
        "payouts",
        "savings",
        "shortfall",
        "premium",
        "premiums",
        "claims",
        "loss",
        "losses",
        "money",
        "financing",
    }
)
_ID_WORDS = frozenset({"id", "ids", "no", "num", "number", "nr", "code", "key", "ref"})


def _plain_strings(arr: pa.Array) -> pa.Array:
    """A string-like Arrow array as a plain (non-chunked) ``string`` array."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks else pa.array([], pa.string())
    if pa.types.is_large_string(arr.type) or pa.types.is_string_view(arr.type):
        arr = arr.cast(pa.large_string())
    elif not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    return arr


def text_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A string array's offsets (int64, one per value and one more, into the data buffer) and
    its data bytes (uint8), read in place from the Arrow buffers: the base of every vectorized
    pass over text bytes (CNIC digit counts here, id hashes in validation)."""
    buffers = arr.buffers()
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(buffers[1], dtype=width)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(1, np.uint8)
    return offsets.astype(np.int64), data


def _candidates(arr: pa.Array) -> np.ndarray:
    """Which strings can hold a CNIC at all: at least 13 characters, and at least 13 bytes that
    are ASCII digits or part of a non-ASCII character (counted on the data buffer with numpy,
    no per-row work; a superset of the strings the patterns match)."""
    n = len(arr)
    if n == 0:
        return np.zeros(0, bool)
    offsets, data = text_buffers(arr)
    data = data[offsets[0] : offsets[-1]]
    lengths = np.diff(offsets)
    size = int(lengths[0])
    if size and size % 8 == 0 and size <= _WORDS_MAX * 8 and bool((lengths == size).all()):
        # every string as long (fixed-length ids): 13 useful bytes is filter enough (the
        # character count only narrows the superset further, at the cost of a pass)
        return _fixed_width_counts(data, n, size) >= _MIN_CHARS
    long = pc.fill_null(pc.greater_equal(pc.utf8_length(arr), _MIN_CHARS), False)
    long = long.to_numpy(zero_copy_only=False)
    if not long.any():
        return long
    useful = np.zeros(len(data) + 1, np.uint8)  # one spare byte: every start is a valid index
    useful[:-1] = _useful(data)
    counts = np.add.reduceat(useful, offsets[:-1] - offsets[0], dtype=np.int32)
    return long & (counts >= _MIN_CHARS)


def _useful(data: np.ndarray) -> np.ndarray:
    """1 for the bytes that can be part of a CNIC (ASCII digits, and the bytes of non-ASCII
    characters), else 0; uint8 arithmetic wraps, so ``byte - 48 < 10`` is the digit test."""
    return (((data - np.uint8(48)) < 10) | (data >= 128)).view(np.uint8)

#: Longest fixed width counted by words [8-byte words]; rows per block of that count.
_WORDS_MAX, _COUNT_BLOCK = 8, 1 << 22


def _fixed_width_counts(data: np.ndarray, n: int, size: int) -> np.ndarray:
    """Useful bytes per string when every string is ``size`` bytes (a multiple of 8), such as
    fixed-length pseudonymous ids: the 0/1 bytes of each 8-byte word are summed by one
    multiplication (``w * 0x0101010101010101 >> 56``), in blocks of rows."""
    words = size // 8
    counts = np.zeros(n, np.int32)
    for start in range(0, n, _COUNT_BLOCK):  # blocks of rows bound the temporaries
        stop = min(start + _COUNT_BLOCK, n)
        useful = _useful(data[start * size : stop * size])
        per_word = (useful.view(np.uint64) * np.uint64(0x0101010101010101)) >> np.uint64(56)
        counts[start:stop] = per_word.reshape(stop - start, words).sum(axis=1, dtype=np.int32) \
            if words > 1 else per_word
    return counts


def _numeric_rule(values: np.ndarray) -> np.ndarray:
    """Integral values of exactly 13 digits."""
    if values.dtype.kind in "iu":
        mag = np.abs(values.astype(np.int64)) if values.dtype.kind == "i" else values
        return (mag >= _LOW) & (mag < _HIGH)
    # fmax/fmin skip NaN (an all-NaN column gives NaN, and no value is flagged) without the
    # RuntimeWarning of nanmax, which would need warnings.catch_warnings: not thread-safe, and
    # the app reads a registry on a thread of its own
    if values.size and not (np.fmax.reduce(values, axis=None) >= _LOW or np.fmin.reduce(values, axis=None) <= -_LOW):
        return np.zeros(values.shape, bool)  # no value of 13 digits (two passes, not six)
    v = np.abs(values.astype(np.float64))
    with np.errstate(invalid="ignore"):
        return np.isfinite(v) & (v >= _LOW) & (v < _HIGH) & (v == np.floor(v))


#: A text column at least this long is first tried as a dictionary: when a sample of its values
#: has few distinct ones (tehsil codes, place names), the rule runs on the distinct values.
_ENCODE_FROM, _SAMPLE, _FEW = 1 << 20, 1 << 16, 0.05


def _few_distinct(arr: pa.Array | pa.ChunkedArray) -> bool:
    """A long text column whose first values are few distinct ones (codes, place names)."""
    return len(arr) >= _ENCODE_FROM and len(pc.unique(arr.slice(0, _SAMPLE))) <= _FEW * _SAMPLE


def _is_text(typ: pa.DataType) -> bool:
    return pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_string_view(typ)


def _text_rule(arr: pa.Array, amount: bool) -> np.ndarray:
    arr = _plain_strings(arr)
    if _few_distinct(arr):  # the dictionary's rule, taken back to the rows
        return _arrow_rule(pc.dictionary_encode(arr), amount)
    out = np.zeros(len(arr), bool)
    cand = np.flatnonzero(_candidates(arr))
    if not cand.size:
        return out
    sub = arr.take(pa.array(cand))
    textual = np.asarray(pc.fill_null(pc.match_substring_regex(sub, _TEXT_RE), False))
    plain = np.asarray(pc.fill_null(pc.match_substring_regex(sub, _PLAIN_NUMBER_RE), False))
    if amount:
        hits = textual & ~plain
    else:
        numeric = plain & np.asarray(
            pc.fill_null(pc.match_substring_regex(sub, _FRACTION_OR_EXPONENT_RE), False)
        )
        hits = textual
        if numeric.any():
            parsed = pd.to_numeric(
                pd.Series(sub.filter(pa.array(numeric)).to_pandas()).str.strip(), errors="coerce"
            ).to_numpy(dtype=float)
            hits[np.flatnonzero(numeric)] |= _numeric_rule(parsed)
    out[cand] = hits
    return out


def _arrow_rule(arr: pa.Array | pa.ChunkedArray, amount: bool) -> np.ndarray:
    """The rule for one Arrow array of any type."""
    if isinstance(arr, pa.ChunkedArray):
        if arr.num_chunks == 0:
            return np.zeros(0, bool)
        if _is_text(arr.type) and arr.num_chunks > 1 and len(arr) >= _ENCODE_FROM:
            # a long text column chunk by chunk (the chunks of a Parquet file's row groups):
            # no copy of the whole column; a column of few distinct values as a dictionary
            if _few_distinct(arr):
                return _arrow_rule(pc.dictionary_encode(arr), amount)
            return np.concatenate([_text_rule(chunk, amount) for chunk in arr.chunks])
        arr = (
            arr.combine_chunks()
            if not pa.types.is_dictionary(arr.type)
            else arr.unify_dictionaries().combine_chunks()
        )
    typ = arr.type
    n = len(arr)
    if pa.types.is_dictionary(typ):
        in_dictionary = _arrow_rule(arr.dictionary, amount)
        indices = arr.indices.to_numpy(zero_copy_only=False)
        valid = np.asarray(arr.is_valid())
        return (
            valid & in_dictionary[np.where(valid, indices, 0).astype(np.int64)]
            if len(in_dictionary)
            else np.zeros(n, bool)
        )
    if pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_string_view(typ):
        return _text_rule(arr, amount)
    if (
        pa.types.is_binary(typ)
        or pa.types.is_large_binary(typ)
        or pa.types.is_fixed_size_binary(typ)
    ):
        try:  # the usual case: UTF-8 bytes, read in place
            return _text_rule(arr.cast(pa.large_binary()).cast(pa.large_string()), amount)
        except pa.ArrowInvalid:  # other bytes: each read as latin-1
            raw = arr.to_numpy(zero_copy_only=False)
            valid = np.asarray(arr.is_valid())
            text = np.full(n, "", dtype=object)
            if valid.any():
                text[valid] = np.char.decode(raw[valid].astype("S"), "latin-1")
            return _text_rule(pa.array(text, type=pa.large_string()), amount) & valid
    if pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ):
        if amount or (pa.types.is_integer(typ) and typ.bit_width <= 32):
            return np.zeros(n, bool)  # no 32-bit integer has 13 digits
        if pa.types.is_integer(typ):
            values = pc.fill_null(arr, 0).to_numpy(zero_copy_only=False)
        elif pa.types.is_floating(typ) and not arr.null_count:
            values = arr.to_numpy(zero_copy_only=False)  # in its own type: no float64 copy
        else:
            values = pc.fill_null(arr.cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)
        return _numeric_rule(values)
    if pa.types.is_struct(typ):
        out = np.zeros(n, bool)
        for i in range(typ.num_fields):  # loops over fields (columns), each vectorized
            out |= _arrow_rule(arr.field(i), amount or is_amount_column(typ.field(i).name))
        return out & np.asarray(arr.is_valid())
    if pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_fixed_size_list(typ):
        flat = arr.flatten()
        hit = _arrow_rule(flat, amount)
        parents = pc.list_parent_indices(arr).to_numpy(zero_copy_only=False)
        return (
            np.bincount(parents[hit], minlength=n).astype(bool) if hit.size else np.zeros(n, bool)
        )
    return np.zeros(n, bool)  # booleans, dates, times, nulls


def _pandas_rule(series: pd.Series, amount: bool) -> np.ndarray:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        in_categories = _pandas_rule(pd.Series(dtype.categories), amount)
        codes = series.cat.codes.to_numpy()
        return (
            (codes >= 0) & in_categories[np.where(codes >= 0, codes, 0)]
            if len(in_categories)
            else np.zeros(len(series), bool)
        )
    if isinstance(dtype, pd.ArrowDtype):
        return _arrow_rule(pa.array(series.array), amount)
    if (
        pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_timedelta64_dtype(dtype)
    ):
        return np.zeros(len(series), bool)
    if pd.api.types.is_numeric_dtype(dtype):
        if amount or (isinstance(dtype, np.dtype) and dtype.kind in "iu" and dtype.itemsize <= 4):
            return np.zeros(len(series), bool)  # no 32-bit integer has 13 digits
        if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
            return _numeric_rule(series.to_numpy())  # in its own type: no float64 copy
        # float64 is exact up to 2^53, far above 13 digits
        return _numeric_rule(series.to_numpy(dtype=np.float64, na_value=np.nan))
    if isinstance(dtype, pd.StringDtype):
        return _arrow_rule(pa.array(series.array, type=pa.large_string(), from_pandas=True), amount)
    if isinstance(dtype, pd.PeriodDtype | pd.IntervalDtype) or dtype.kind in "Mm":
        return np.zeros(len(series), bool)
    # object and anything else: text. Python ints and floats are written in decimal
    # (3520212345671.0), bytes as b'...', which the text rule reads like any other text.
    values = series.to_numpy(dtype=object)
    try:
        return _text_rule(pa.array(values, type=pa.large_string(), from_pandas=True), amount)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    try:  # all bytes
        arr = pa.array(values, type=pa.large_binary(), from_pandas=True)
        return _arrow_rule(arr, amount)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    text = pa.array(values.astype(str), type=pa.large_string())
    return _text_rule(text, amount) & series.notna().to_numpy()


def looks_like_cnic(values: object, *, name: str | None = None) -> np.ndarray:
    """Which values are shaped like a CNIC (see the module's notes for the rule).

    Parameters
    ----------
    values
        A column of any type: pandas Series or Index (string, object, categorical, numeric,
        nullable or Arrow-backed), numpy array, pyarrow Array or ChunkedArray, a list, or one
        string.
    name
        The column's name, when known: a money-amount name (:func:`is_amount_column`) exempts
        plain numbers from the 13-digit numeric rule.

    Returns
    -------
    numpy.ndarray
        One bool per value; missing values are False.
    """
    amount = name is not None and is_amount_column(name)
    if isinstance(values, str | bytes):
        values = [values]
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return _arrow_rule(values, amount)
    if isinstance(values, pd.Series):
        return _pandas_rule(values, amount)
    if isinstance(values, pd.Index):
        return _pandas_rule(pd.Series(values), amount)
    if isinstance(values, np.ndarray):
        if values.dtype.kind == "S":
            return _arrow_rule(pa.array(values, type=pa.binary(values.dtype.itemsize)), amount)
        if values.dtype.kind == "U":
            return _text_rule(pa.array(values, type=pa.large_string()), amount)
        return _pandas_rule(pd.Series(values), amount)
    return _pandas_rule(
        pd.Series(list(values) if not isinstance(values, Sequence) else values, dtype=object),
        amount,
    )


# --- Column names -------------------------------------------------------------------------------


def normalise_column_name(name: object) -> str:
    """A column name in one form: NFKC, camelCase split, lower case, every run of spaces,
    underscores and punctuation one ``_``, no ``_`` at either end
    (``'CNIC No.'`` -> ``cnic_no``)."""
    text = unicodedata.normalize("NFKC", str(name))
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text)
    text = re.sub(r"[\W_]+", "_", text.lower())
    return text.strip("_")


_NAME_RE = re.compile(
    r"(?<!pi)cnic"  # cnic, father_cnic, cnicno (not picnic)
    r"|(?:^|_)(?:s?nic|nicop)(?:_?(?:no|num|nbr|number))?(?:_|$)"  # nic, nic_no, snic, nicop
    r"|(?:^|_)id_?card"  # id_card, idcard_no
    r"|(?:^|_)identity_?(?:card|no|num|number)"  # identity_card
    r"|(?:^|_)national_?id"  # national_id, nationalidentity
    r"|shanakh|شناختی"  # shanakhti (card)
    r"|(?:^|_)b_?form(?:_|$)"  # b_form (a child's registration)
)
#: Words that say a CNIC-named column holds a transformed value, not the raw number.
_TRANSFORMED = frozenset(
    {
        "pseudonym",
        "pseudonyms",
        "pseudonymised",
        "pseudonymized",
        "pseudo",
        "hash",
        "hashed",
        "hmac",
        "token",
        "tokenised",
        "tokenized",
        "masked",
        "redacted",
        "encrypted",
    }
)


def _is_cnic_name(normalised: str) -> bool:
    if _TRANSFORMED & set(normalised.split("_")):
        return False
    if normalised.endswith("looks_like_cnic"):  # a validation reason code (a count of rows), not an id
        return False
    return bool(_NAME_RE.search(normalised) or _NAME_RE.search(normalised.replace("_", "")))


def cnic_column_names(columns: Iterable[object]) -> list[str]:
    """The columns, as given, whose normalised name (:func:`normalise_column_name`) names a CNIC,
    a NIC, an identity card, a national id, shanakhti or a B-form; in the order given.

    ``household_id``, ``tehsil_id``, ``district_id`` and names marked as transformed
    (``cnic_pseudonym``, ``cnic_hash``) are not flagged.
    """
    return [c for c in columns if _is_cnic_name(normalise_column_name(c))]


def is_amount_column(name: object) -> bool:
    """Whether a column's name marks a money amount (a word of :data:`AMOUNT_WORDS`) and no
    identifier (``id``, ``no``, ``number``, ``code``, ``key``, ``ref``)."""
    words = set(normalise_column_name(name).split("_"))
    return bool(words & AMOUNT_WORDS) and not words & _ID_WORDS


# --- Redaction ------------------------------------------------------------------------------------

_DIGIT = re.compile(r"\d")
_PY_SEP = r"(?:\s*[-_./\u2010-\u2015\u2212]\s*|\s+)"
#: The text rule in Python's re, to find where a CNIC sits in one value being redacted.
_PY_CNIC = re.compile(
    rf"(?<!\d)(?<!\d[.,])(?:\d{{5}}{_PY_SEP}?\d{{7}}{_PY_SEP}?\d(?!\d)|\d{{13,}})"
)


def redact(value: object, *, limit: int = 60) -> str:
    """A value safe to show: every digit masked with ``*`` except the first five and the last of
    the CNIC-shaped part (``35202-*******-1``; of the whole value when none is found); values
    of fewer than 10 characters are masked entirely. Integral floats are shown without ``.0``.
    A long value is cut to ``limit`` characters around the CNIC."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "<missing>"
    if isinstance(value, float | np.floating) and float(value).is_integer():
        value = int(value)
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    text = str(value).strip()
    if not text:
        return "<empty>"
    if len(text) < 10:
        return "*" * len(text)
    found = _PY_CNIC.search(text)
    start, end = (found.start(), found.end()) if found else (0, len(text))
    positions = [m.start() for m in _DIGIT.finditer(text, start, end)]  # one value's characters
    kept = set(positions[:5] + positions[-1:]) if len(positions) >= 10 else set()
    shown = "".join("*" if ch.isdigit() and i not in kept else ch for i, ch in enumerate(text))
    if len(shown) <= limit:
        return shown
    first = max(0, min(start - 10, len(shown) - limit))
    return (
        ("…" if first else "")
        + shown[first : first + limit]
        + ("…" if first + limit < len(shown) else "")
    )


# --- Tables and files -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CnicFinding:
    """One column of a table or file that holds or is named like a raw CNIC.

    Attributes
    ----------
    source
        The file (or a label for a frame), with the sheet for a workbook.
    column
        The column's name (a JSON path for JSON, a letter and header for a workbook, empty for
        a text file).
    kind
        ``"name"`` (the column's name names a CNIC) or ``"values"``.
    count
        Cells shaped like a CNIC [cells] (0 for a name).
    row
        1-based data row of the first such cell (a CSV's file line is ``row + 1`` for the header;
        for a workbook and a text file it is the sheet row or file line itself); None for a name.
    example
        The first such cell, redacted (:func:`redact`).
    """

    source: str
    column: str
    kind: str
    count: int = 0
    row: int | None = None
    example: str = ""
    where: str = "row"

    def describe(self, *, source: bool = True) -> str:
        """The finding as a sentence (with or without its source)."""
        where = f"{self.source}: " if source else ""
        if self.kind == "name":
            return f"{where}column {self.column!r} is named like a raw CNIC"
        what = f"column {self.column!r}: " if self.column else ""
        return (
            f"{where}{what}{self.count:,} value(s) shaped like a CNIC, first at {self.where} "
            f"{self.row} (e.g. {self.example})"
        )

    def __str__(self) -> str:
        return self.describe()


def _findings(
    frame: pd.DataFrame | pa.Table,
    source: str,
    *,
    row_base: int = 1,
    where: str = "row",
    names: bool = True,
) -> list[CnicFinding]:
    found: list[CnicFinding] = []
    columns = frame.column_names if isinstance(frame, pa.Table) else list(frame.columns)
    if names:
        found += [CnicFinding(source, str(c), "name") for c in cnic_column_names(columns)]
    for i, name in enumerate(columns):  # loops over columns, each vectorized
        values = frame.column(i) if isinstance(frame, pa.Table) else frame.iloc[:, i]
        hit = looks_like_cnic(values, name=str(name))
        if hit.any():
            first = int(np.argmax(hit))
            cell = values[first].as_py() if isinstance(frame, pa.Table) else values.iloc[first]
            found.append(
                CnicFinding(
                    source,
                    str(name),
                    "values",
                    int(hit.sum()),
                    first + row_base,
                    redact(cell),
                    where,
                )
            )
    return found


def _raise(source: str, found: list[CnicFinding]) -> None:
    listed = "; ".join(f.describe(source=f.source != source) for f in found[:5])
    more = f"; and {len(found) - 5} more" if len(found) > 5 else ""
    log.warning("%s: %d column(s) hold or are named like raw CNICs", source, len(found))
    raise CnicError(
        f"{source}: raw CNICs found: {listed}{more}. Raw CNICs never leave the data owner: drop "
        "the column or replace the values with keyed pseudonyms (simulator.exchange.pseudonym), "
        "then write the output again."
    )


def scan_table(
    frame: pd.DataFrame | pa.Table, *, source: str = "<table>", raise_error: bool = True
) -> list[CnicFinding]:
    """Check a table's column names and every cell.

    Parameters
    ----------
    frame
        A pandas DataFrame or a pyarrow Table (any column types).
    source
        Where it came from, for the findings and the message.
    raise_error
        Raise on a finding (default) or return the findings.

    Returns
    -------
    list of CnicFinding
        Empty when the table is clean (always, when ``raise_error``).

    Raises
    ------
    CnicError
        Some column is named like a CNIC or holds CNIC-shaped values; the message names the
        source, the column, the first row and a redacted example.
    """
    found = _findings(frame, source)
    if found and raise_error:
        _raise(source, found)
    return found


#: File types :func:`scan_file` reads.
SCANNABLE_SUFFIXES = frozenset(
    {
        ".csv",
        ".tsv",
        ".json",
        ".geojson",
        ".jsonl",
        ".ndjson",
        ".parquet",
        ".geoparquet",
        ".pq",
        ".xlsx",
        ".xlsm",
        ".txt",
        ".md",
        ".log",
        ".html",
        ".htm",
        ".yaml",
        ".yml",
        ".svg",
        ".xml",
    }
)


def can_scan(path: str | Path) -> bool:
    """Whether :func:`scan_file` reads this file type (by suffix; PDF and images are not read)."""
    return Path(path).suffix.lower() in SCANNABLE_SUFFIXES


def _scan_csv(path: Path, sep: str) -> list[CnicFinding]:
    frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_values=[""])
    typed = frame.apply(pd.to_numeric, errors="coerce")
    # A column whose every value parses as a number is judged as numbers (so a money column is
    # exempt by its name); any other column as text.
    numeric = {
        c
        for c in frame.columns
        if typed[c].notna().sum() == frame[c].notna().sum() and frame[c].notna().any()
    }
    mixed = pd.DataFrame({c: (typed[c] if c in numeric else frame[c]) for c in frame.columns})
    mixed.columns = frame.columns
    return _findings(mixed, str(path), row_base=2, where="line")


def _scan_lines(path: Path) -> list[CnicFinding]:
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = pa.array(text.splitlines(), type=pa.large_string())
    hit = _text_rule(lines, amount=False)
    if not hit.any():
        return []
    first = int(np.argmax(hit))
    return [
        CnicFinding(
            str(path), "", "values", int(hit.sum()), first + 1, redact(lines[first].as_py()), "line"
        )
    ]


def _json_columns(doc: object) -> dict[str, list]:
    """Leaves of a JSON document grouped by path with list indices dropped
    (``$.districts[].household_id``), in document order. Keys are checked as names."""
    columns: dict[str, list] = {}
    stack: list[tuple[str, object]] = [("$", doc)]
    while stack:  # walks the document's nodes (JSON outputs are plans and manifests)
        path, node = stack.pop()
        if isinstance(node, dict):
            stack.extend((f"{path}.{k}", v) for k, v in reversed(list(node.items())))
        elif isinstance(node, list):
            stack.extend((f"{path}[]", v) for v in reversed(node))
        elif node is not None and not isinstance(node, bool):
            columns.setdefault(path, []).append(node)
    return columns


def _scan_json_doc(doc: object, source: str) -> list[CnicFinding]:
    found: list[CnicFinding] = []
    columns = _json_columns(doc)
    last = {path: path.rsplit(".", 1)[-1].removesuffix("[]") for path in columns}
    for path, key in last.items():  # loops over paths (columns)
        if _is_cnic_name(normalise_column_name(key)):
            found.append(CnicFinding(source, path, "name"))
    for path, values in columns.items():  # loops over paths (columns), each vectorized
        numbers = [v for v in values if not isinstance(v, str)]
        texts = [v for v in values if isinstance(v, str)]
        hits = []
        if numbers:
            num = np.asarray(numbers, dtype=float)
            hit = looks_like_cnic(num, name=last[path])
            hits += [(numbers[i], int(hit.sum())) for i in np.flatnonzero(hit)[:1]]
        if texts:
            hit = looks_like_cnic(pa.array(texts, type=pa.large_string()), name=last[path])
            hits += [(texts[i], int(hit.sum())) for i in np.flatnonzero(hit)[:1]]
        if hits:
            found.append(
                CnicFinding(
                    source, path, "values", sum(h[1] for h in hits), 1, redact(hits[0][0]), "item"
                )
            )
    return found


def _scan_xlsx(path: Path) -> list[CnicFinding]:
    import openpyxl
    from openpyxl.utils import get_column_letter

    found: list[CnicFinding] = []
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        for ws in book.worksheets:  # loops over sheets
            rows = list(ws.iter_rows(min_row=1, min_col=1, values_only=True))
            if not rows:
                continue
            sheet = pd.DataFrame(rows, dtype=object)
            source = f"{path} (sheet {ws.title!r})"
            for j in range(sheet.shape[1]):  # loops over columns, each vectorized
                col = sheet.iloc[:, j]
                texts = col[
                    col.notna().to_numpy() & pd.to_numeric(col, errors="coerce").isna().to_numpy()
                ]
                header = str(texts.iloc[0]) if len(texts) else ""
                letter = get_column_letter(j + 1)
                if header and _is_cnic_name(normalise_column_name(header)):
                    found.append(CnicFinding(source, f"{letter} ({header})", "name"))
                hit = looks_like_cnic(col, name=header or None)
                if hit.any():
                    first = int(np.argmax(hit))
                    found.append(
                        CnicFinding(
                            source,
                            f"{letter} ({header})" if header else letter,
                            "values",
                            int(hit.sum()),
                            first + 1,
                            redact(col.iloc[first]),
                            "sheet row",
                        )
                    )
    finally:
        book.close()
    return found


def scan_file(path: str | Path, *, raise_error: bool = True) -> list[CnicFinding]:
    """A final scan of a written file for raw CNICs: column names and every cell.

    Parameters
    ----------
    path
        A CSV/TSV, JSON/GeoJSON/JSON Lines, Parquet/GeoParquet, XLSX, or text (txt, md, log,
        html, yaml, svg, xml) file; see :func:`can_scan`.
    raise_error
        Raise on a finding (default) or return the findings.

    Returns
    -------
    list of CnicFinding
        Empty when the file is clean (always, when ``raise_error``). A finding names the file
        (and sheet), the column (a JSON path; ``line`` for text), the first row or line and a
        redacted example; never the raw CNIC.

    Raises
    ------
    CnicError
        A finding (when ``raise_error``); or the file is missing, of a type not read
        (:data:`SCANNABLE_SUFFIXES`), or cannot be parsed.

    Notes
    -----
    CSV columns whose every value is a number are judged as numbers (a money column named
    ``..._pkr`` is then exempt), others as text. JSON numbers are judged as numbers under their
    key. A workbook's column takes its first text cell as its name.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise CnicError(f"{path}: no such file to scan for raw CNICs.")
    if suffix not in SCANNABLE_SUFFIXES:
        raise CnicError(
            f"{path}: {suffix or 'no suffix'} files are not scanned for raw CNICs; scan the table "
            f"before writing it (scan_table), or write one of {sorted(SCANNABLE_SUFFIXES)}."
        )
    try:
        if suffix in {".csv", ".tsv"}:
            found = _scan_csv(path, "\t" if suffix == ".tsv" else ",")
        elif suffix in {".parquet", ".geoparquet", ".pq"}:
            import pyarrow.parquet as pq

            table = pq.read_table(path)
            if "geometry" in table.column_names:
                table = table.drop(["geometry"])  # WKB coordinates, not text
            found = _findings(table, str(path))
        elif suffix in {".json", ".geojson"}:
            found = _scan_json_doc(json.loads(path.read_text(encoding="utf-8")), str(path))
        elif suffix in {".jsonl", ".ndjson"}:
            lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
            found = _scan_json_doc([json.loads(ln) for ln in lines], str(path))
        elif suffix in {".xlsx", ".xlsm"}:
            found = _scan_xlsx(path)
        else:
            found = _scan_lines(path)
    except CnicError:
        raise
    except (OSError, ValueError, pa.ArrowException, csv.Error, KeyError) as exc:
        raise CnicError(f"{path}: cannot be read to scan it for raw CNICs ({exc}).") from exc
    if found and raise_error:
        _raise(str(path), found)
    return found
