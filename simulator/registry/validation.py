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

import numpy as np
import pandas as pd

from hazards import tables as data
from hazards.errors import RegistryError
from simulator.registry.cnic import cnic_column_names, looks_like_cnic, normalise_column_name
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


class _Reasons:
    """Reason code -> boolean row mask, in the order codes were first flagged."""

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


def _missing(values: pd.Series) -> np.ndarray:
    return values.isna().to_numpy(dtype=bool)


def _numbers(raw: pd.DataFrame, column: str) -> np.ndarray:
    """A column as float64, unparseable values NaN."""
    return pd.to_numeric(raw[column], errors="coerce").to_numpy(dtype=float)


def _to_bool(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse a flag column; return (value, is_bad)."""
    if values.dtype == bool:
        return values.to_numpy(), np.zeros(len(values), bool)
    text = values.astype("string").str.strip().str.lower()
    truthy = text.isin(["true", "1", "yes", "y", "t"]).to_numpy(dtype=bool)
    falsy = text.isin(["false", "0", "no", "n", "f"]).to_numpy(dtype=bool)
    missing = text.isna().to_numpy(dtype=bool)
    return truthy, ~(truthy | falsy | missing)


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


def _check_ids(raw: pd.DataFrame, reasons: _Reasons) -> tuple[pd.Series, np.ndarray]:
    """Stripped ids and which of them look like a CNIC; flags missing and CNIC-shaped ids
    (judged on the column as stored: text, integers or floats)."""
    ids = raw["household_id"].astype("string").str.strip()
    reasons.flag("missing_household_id", _missing(ids) | (ids == "").fillna(False).to_numpy(dtype=bool))
    looks_cnic = looks_like_cnic(raw["household_id"], name="household_id")
    reasons.flag("id_looks_like_cnic", looks_cnic)
    return ids, looks_cnic


def _check_cnic_cells(raw: pd.DataFrame, reasons: _Reasons, notes: list[str]) -> None:
    """Flags rows with a CNIC-shaped cell in any column but ``household_id``: a schema column
    gives ``<column>_looks_like_cnic``, a column outside the schema (dropped from the kept
    frame) ``extra_column_looks_like_cnic``; notes name the extra columns."""
    extra = [c for c in raw.columns if c not in COLUMNS]
    for column in raw.columns:  # loops over columns, each vectorized over the rows
        if column == "household_id":
            continue
        hit = looks_like_cnic(raw[column], name=str(column))
        if column in COLUMNS:
            reasons.flag(f"{column}_looks_like_cnic", hit)
        elif hit.any():
            reasons.flag("extra_column_looks_like_cnic", hit)
            notes.append(
                f"column {str(column)!r}: {int(hit.sum()):,} value(s) shaped like a CNIC; those "
                "rows are quarantined (remove raw CNICs from the file)"
            )
    if extra:
        notes.append(f"columns {[str(c) for c in extra]} are not in the schema: not kept")


def _check_coordinates(raw: pd.DataFrame, reasons: _Reasons) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude [degrees, EPSG:4326] as float64; flags missing, swapped and
    out-of-Pakistan coordinates (against ``hazards.tables.PAKISTAN_BBOX``)."""
    lon = _numbers(raw, "lon")
    lat = _numbers(raw, "lat")
    reasons.flag("missing_lon", np.isnan(lon))
    reasons.flag("missing_lat", np.isnan(lat))
    x0, y0, x1, y1 = data.PAKISTAN_BBOX
    inside = (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
    swapped = ~inside & (lat >= x0) & (lat <= x1) & (lon >= y0) & (lon <= y1)
    known = ~np.isnan(lon) & ~np.isnan(lat)
    reasons.flag("coords_swapped", swapped)
    reasons.flag("coords_outside_pakistan", known & ~inside & ~swapped)
    return lon, lat


def _check_districts(
    raw: pd.DataFrame, reasons: _Reasons, notes: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Row positions in the district table (-1 unknown) and each row's province code from its
    district; flags missing and unknown districts and a given province that disagrees."""
    table = data.districts()
    district = raw["district_id"].astype("string").str.strip().str.lower()
    codes = pd.Index(table.district_id).get_indexer(district)
    reasons.flag("missing_district_id", _missing(district))
    reasons.flag("unknown_district", (codes < 0) & ~_missing(district))
    expected_prov = table.province_code.to_numpy()[np.where(codes >= 0, codes, 0)]
    if "province_code" in raw.columns:
        prov = raw["province_code"].astype("string").str.strip().str.upper()
        given = ~_missing(prov)
        reasons.flag(
            "province_mismatch", given & (codes >= 0) & (prov.fillna("").to_numpy() != expected_prov)
        )
    else:
        notes.append("province_code absent: derived from district_id")
    return codes, expected_prov


def _check_ranges(
    raw: pd.DataFrame, reasons: _Reasons, notes: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Household size [persons], PMT score [0-100], children under five [persons] and row weight
    [households] as float64; flags missing and out-of-range values. Absent children default
    to 0 and absent weights to 1."""
    n = len(raw)
    size = _numbers(raw, "hh_size")
    reasons.flag("missing_hh_size", np.isnan(size))
    reasons.flag(
        "impossible_size",
        ~np.isnan(size) & ((size < 1) | (size > MAX_HH_SIZE) | (size != np.round(size))),
    )
    pmt = _numbers(raw, "pmt_score")
    reasons.flag("missing_pmt_score", np.isnan(pmt))
    reasons.flag("pmt_out_of_range", ~np.isnan(pmt) & ((pmt < 0) | (pmt > 100)))
    if "children_under5" in raw.columns:
        under5 = _numbers(raw, "children_under5")
        reasons.flag(
            "invalid_children_under5",
            ~np.isnan(under5)
            & ((under5 < 0) | (under5 != np.round(under5)) | (under5 >= np.nan_to_num(size, nan=np.inf))),
        )
        under5 = np.nan_to_num(under5, nan=0.0)
    else:
        under5 = np.zeros(n)
        notes.append("children_under5 absent: assumed 0 for every household")
    if "weight" in raw.columns:
        weight = _numbers(raw, "weight")
        reasons.flag(
            "invalid_weight",
            np.isnan(weight) | (weight < 1) | (weight != np.round(weight)) | (weight > 1e6),
        )
        weight = np.nan_to_num(weight, nan=1.0)
    else:
        weight = np.ones(n)
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
        return pd.Categorical([None] * len(raw), categories=HOUSING)
    housing = raw["housing"].astype("string").str.strip().str.lower()
    bad = ~housing.isin(HOUSING).fillna(False).to_numpy(dtype=bool) & ~_missing(housing)
    reasons.flag("invalid_housing", bad)
    return pd.Categorical(housing.where(~bad), categories=HOUSING)


def _flag_duplicate_ids(ids: pd.Series, reasons: _Reasons) -> None:
    """Among otherwise valid rows, the first occurrence of an id is kept, later ones flagged."""
    bad_so_far = reasons.any_row()
    dup = ids.where(~bad_so_far).duplicated(keep="first").to_numpy(dtype=bool) & ~bad_so_far
    reasons.flag("duplicate_id", dup)


def _valid_households(
    raw: pd.DataFrame,
    good: np.ndarray,
    *,
    ids: pd.Series,
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
) -> pd.DataFrame:
    """The valid rows in the schema's column order and dtypes."""
    table = data.districts()
    tehsil = (
        raw["tehsil_id"].astype("string").str.strip().str.lower().to_numpy()[good]
        if "tehsil_id" in raw.columns
        else pd.array([pd.NA] * int(good.sum()), dtype="string")
    )
    return pd.DataFrame(
        {
            "household_id": pd.array(ids.to_numpy()[good], dtype="string"),
            "lon": lon[good],
            "lat": lat[good],
            "province_code": pd.Categorical(expected_prov[good], categories=list(data.PROVINCES)),
            "district_id": pd.Categorical.from_codes(codes[good], categories=table.district_id),
            "tehsil_id": pd.array(tehsil, dtype="string"),
            "hh_size": size[good].astype(np.int16),
            "pmt_score": pmt[good].astype(np.float32),
            **{name: flags[name][good] for name in FLAGS},
            "housing": housing[good],
            "children_under5": under5[good].astype(np.int16),
            "weight": weight[good].astype(np.int32),
        }
    )


def _quarantine(
    ids: pd.Series, looks_cnic: np.ndarray, reasons: dict[str, np.ndarray], bad: np.ndarray
) -> pd.DataFrame:
    """Bad rows: 1-based ``row``, ``household_id`` (redacted if CNIC-shaped), ``;``-joined
    ``reason`` codes in alphabetical order."""
    rows = np.flatnonzero(bad)
    text = np.full(len(rows), "", dtype=object)
    for code, mask in sorted(reasons.items()):  # loops over reason codes, not rows
        hit = mask[rows]
        text[hit] = np.where(text[hit] == "", code, text[hit] + ";" + code)
    shown = ids.to_numpy()[rows].astype(object)
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
    reasons = _Reasons(n)
    notes: list[str] = []

    ids, looks_cnic = _check_ids(raw, reasons)
    _check_cnic_cells(raw, reasons, notes)
    lon, lat = _check_coordinates(raw, reasons)
    codes, expected_prov = _check_districts(raw, reasons, notes)
    size, pmt, under5, weight = _check_ranges(raw, reasons, notes)
    flags = _check_flags(raw, reasons, notes)
    housing = _check_housing(raw, reasons, notes)
    _flag_duplicate_ids(ids, reasons)

    bad = reasons.any_row()
    households = _valid_households(
        raw, ~bad, ids=ids, lon=lon, lat=lat, codes=codes, expected_prov=expected_prov,
        size=size, pmt=pmt, flags=flags, housing=housing, under5=under5, weight=weight,
    )
    quarantine = _quarantine(ids, looks_cnic, reasons.masks, bad)
    report = _report(source, n, bad, reasons, notes)
    if report.rows_quarantined:
        log.warning("%s: %d of %d rows quarantined", source, report.rows_quarantined, n)
    return Registry(households, quarantine, report)
