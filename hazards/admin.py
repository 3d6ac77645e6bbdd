"""Admin-declared hazards: a table of districts or tehsils with a severity or a share affected.

This is what NDMA/PDMA calamity notifications give: a list of districts (or tehsils) declared
"calamity-hit", sometimes with a grade, and (from satellite analyses such as UNOSAT's) the share
of each district's area that was flooded. The engine uses it in place of a raster overlay: every
household takes the values of its tehsil's row if the table has one, else of its district's.

The table is a CSV with a ``district_id`` column (2023 census ids, ``data/districts.csv``)
and/or a ``tehsil_id`` column (census tehsil ids, ``data/tehsils.csv``, e.g.
``sd_dadu__mehar``; the district is then implied), and one or both of:

``severity``        one of ``none``, ``affected``, ``severely_affected``, ``displaced``
                    (case and spaces/hyphens ignored), or the tier number 0-3
``share_affected``  the share of the district affected, in [0, 1] (a fraction, not %)

Other columns are kept (e.g. the notification's date and source). Each district appears once
as a district row (empty ``tehsil_id``), and each tehsil once. A tehsil row applies to the
households that carry that ``tehsil_id``; households of the district with another or no tehsil
take the district's row, if any, and are otherwise not declared.

>>> table = read_admin_table("scenarios/calamity_2022.csv")  # doctest: +SKIP
>>> tiers, shares, declared = admin_intensity(table, households.district_code)  # doctest: +SKIP
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from hazards import tables as data
from hazards.errors import HazardError

#: Severity tiers, in order: the tier number is the position here.
TIERS = ("none", "affected", "severely_affected", "displaced")


class AdminIntensity(NamedTuple):
    """Per-household values from an admin table (one entry per household, in its order).

    Attributes
    ----------
    severity
        Severity tier [0-3, int8; see :data:`TIERS`]; 0 (``none``) where the district is not in
        the table. None when the table has no ``severity`` column.
    share_affected
        Share of the district affected [fraction 0-1, float32]; NaN where the district is not in
        the table (as the raster overlay gives NaN outside the raster). None when the table has
        no ``share_affected`` column.
    declared
        True where the household's district is in the table [bool].
    """

    severity: np.ndarray | None
    share_affected: np.ndarray | None
    declared: np.ndarray


def _rows(mask: np.ndarray | pd.Series, limit: int = 10) -> str:
    """CSV line numbers (header is line 1) of the flagged rows, at most ``limit`` of them."""
    lines = (np.flatnonzero(np.asarray(mask)) + 2).tolist()
    shown = ", ".join(map(str, lines[:limit]))
    return shown + (f" and {len(lines) - limit} more" if len(lines) > limit else "")


def _parse_severity(raw: pd.Series, path: Path) -> np.ndarray:
    text = raw.astype("string").str.strip().str.lower().str.replace(r"[\s-]+", "_", regex=True)
    by_name = text.map({name: i for i, name in enumerate(TIERS)})
    by_number = pd.to_numeric(text, errors="coerce")
    whole = by_number.where(by_number.isin([0, 1, 2, 3]))
    tier = by_name.astype("Float64").fillna(whole.astype("Float64"))
    bad = tier.isna().to_numpy(dtype=bool)
    if bad.any():
        examples = sorted({str(v) for v in raw[bad].head(10)})
        raise HazardError(
            f"{path}: severity on line(s) {_rows(bad)} is not one of {list(TIERS)} or 0-3 "
            f"(found {examples}). Fix those cells."
        )
    return tier.to_numpy(dtype=np.int8)


def _parse_share(raw: pd.Series, path: Path) -> np.ndarray:
    share = pd.to_numeric(raw.astype("string").str.strip(), errors="coerce")
    bad = (share.isna() | (share < 0) | (share > 1)).to_numpy(dtype=bool)
    if bad.any():
        examples = sorted({str(v) for v in raw[bad].head(10)})
        hint = " (percentages? divide by 100)" if (share > 1).any() and (share <= 100).all() else ""
        raise HazardError(
            f"{path}: share_affected on line(s) {_rows(bad)} is not a number in [0, 1] "
            f"(found {examples}){hint}. Fix those cells."
        )
    return share.to_numpy(dtype=np.float32)


def read_admin_table(path: str | Path) -> pd.DataFrame:
    """Read and validate a table of admin-declared districts.

    Parameters
    ----------
    path
        CSV with ``district_id`` and/or ``tehsil_id`` and ``severity`` and/or
        ``share_affected`` (see the module docstring); other columns are kept.

    Returns
    -------
    One row per district or tehsil, sorted by ``district_id`` and ``tehsil_id`` (lower case;
    ``tehsil_id`` is "" on a district row, and a tehsil row's district is filled in);
    ``severity`` as the tier number [int8, 0-3] and ``share_affected`` [float32, 0-1] where
    given. ``attrs["source"]`` names the file.

    Raises
    ------
    HazardError
        Missing or unreadable file; no id column or neither value column; empty ids; district
        ids not in ``data/districts.csv`` or tehsil ids not in ``data/tehsils.csv`` (up to 10
        listed, with close matches); a tehsil given with another district; duplicate districts
        or tehsils; a severity outside the tiers or a share outside [0, 1].
    """
    path = Path(path)
    if not path.is_file():
        raise HazardError(f"{path}: no such admin-declared hazard table.")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise HazardError(
            f"{path}: not a readable CSV ({exc}). Save it as UTF-8 CSV with a header row."
        ) from exc
    table.columns = [str(c).strip().lower() for c in table.columns]
    values = [c for c in ("severity", "share_affected") if c in table.columns]
    if not {"district_id", "tehsil_id"} & set(table.columns) or not values:
        raise HazardError(
            f"{path}: columns {list(table.columns)}; an admin table needs district_id (or "
            "tehsil_id) and severity (none/affected/severely_affected/displaced or 0-3) and/or "
            "share_affected (0-1). Rename or add the columns."
        )
    blank = pd.Series([""] * len(table), dtype="string")
    ids = (table["district_id"].astype("string").str.strip().str.lower()
           if "district_id" in table.columns else blank)
    tehsil = (table["tehsil_id"].astype("string").str.strip().str.lower()
              if "tehsil_id" in table.columns else blank)
    if (tehsil != "").any():
        ids = _tehsil_districts(ids, tehsil, path)
    empty = (ids == "").to_numpy(dtype=bool)
    if empty.any():
        raise HazardError(f"{path}: district_id is empty on line(s) {_rows(empty)}; fill it in.")
    _check_known(ids, data.district_codes(), path, "district id(s) are not 2023 census districts",
                 "Use the ids in data/districts.csv (e.g. 'sd_dadu').")
    key = ids + "|" + tehsil
    dup = key.duplicated(keep=False).to_numpy(dtype=bool)
    if dup.any():
        listed = sorted(set((ids + tehsil.map(lambda t: f" ({t})" if t else ""))[dup]))[:10]
        raise HazardError(
            f"{path}: districts or tehsils listed more than once: {listed} (lines "
            f"{_rows(dup)}). Keep one row per district and one per tehsil."
        )
    table["tehsil_id"] = tehsil.astype(str)
    table["district_id"] = ids.astype(str)
    if "severity" in values:
        table["severity"] = _parse_severity(table["severity"], path)
    if "share_affected" in values:
        table["share_affected"] = _parse_share(table["share_affected"], path)
    table = table.sort_values(["district_id", "tehsil_id"], kind="stable").reset_index(drop=True)
    table.attrs["source"] = str(path)
    return table


def _check_known(ids: pd.Series, known: pd.Index, path: Path, what: str, fix: str) -> None:
    """Raise naming up to 10 ids not in ``known``, each with its closest match."""
    unknown = sorted(set(ids[known.get_indexer(ids) < 0]))
    if not unknown:
        return
    described = []
    for name in unknown[:10]:
        near = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
        described.append(f"{name!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
    more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
    raise HazardError(f"{path}: {len(unknown)} {what}: {', '.join(described)}{more}. {fix}")


def _tehsil_districts(ids: pd.Series, tehsil: pd.Series, path: Path) -> pd.Series:
    """District ids with those of tehsil rows filled in from ``data/tehsils.csv`` (a given
    district must be the tehsil's)."""
    known = data.tehsils().set_index("tehsil_id")["district_id"]
    given = tehsil[tehsil != ""]
    _check_known(given, pd.Index(known.index), path, "tehsil id(s) are not census tehsils",
                 "Use the ids in data/tehsils.csv (e.g. 'sd_dadu__mehar').")
    implied = tehsil.map(known).fillna("").astype("string")
    clash = ((tehsil != "") & (ids != "") & (ids != implied)).to_numpy(dtype=bool)
    if clash.any():
        raise HazardError(
            f"{path}: on line(s) {_rows(clash)} the tehsil is not in the row's district_id (see "
            "data/tehsils.csv). Correct the district or leave it empty.")
    return ids.where(tehsil == "", implied)


def _district_positions(district_codes: object, n: int) -> np.ndarray:
    """Households' positions in ``data.district_codes()`` (-1 for none), from codes or ids."""
    if isinstance(district_codes, pd.Series):
        district_codes = district_codes.array
    if isinstance(district_codes, pd.Categorical):
        categories = data.district_codes().get_indexer(
            pd.Index(district_codes.categories).astype(str))
        codes = np.asarray(district_codes.codes)
        return np.where(codes >= 0, categories[np.maximum(codes, 0)], -1)
    arr = np.asarray(district_codes)
    if arr.dtype.kind in "iu":
        codes = arr.astype(np.int64)
        if codes.size and (codes.min() < -1 or codes.max() >= n):
            raise HazardError(
                f"district codes must be positions in data.district_codes() (0 to {n - 1}, or -1 "
                f"for none); found {codes.min()} to {codes.max()}."
            )
        return codes
    if arr.dtype.kind in "OUS":
        return data.district_codes().get_indexer(pd.Index(arr.astype(str)))
    raise HazardError(
        f"district codes must be integer positions in data.district_codes() or district ids; "
        f"got dtype {arr.dtype}."
    )


def has_tehsils(table: pd.DataFrame) -> bool:
    """Whether an admin table declares any tehsil (its households then need a tehsil code)."""
    return "tehsil_id" in table.columns and bool((table["tehsil_id"] != "").any())


def admin_intensity(table: pd.DataFrame, district_codes: object, tehsil_codes: np.ndarray | None = None) -> AdminIntensity:
    """Each household's severity tier and share affected, from its tehsil's row in ``table`` if
    there is one, else from its district's.

    Vectorized: one lookup array per column over districts and one over tehsils, indexed by the
    households' codes.

    Parameters
    ----------
    table
        From :func:`read_admin_table`.
    district_codes
        Each household's district: integer positions in ``hazards.tables.district_codes()``
        (-1 for none), a ``pandas.Categorical`` of district ids (as the registry's
        ``district_id`` column), or an array of district ids.
    tehsil_codes
        Each household's tehsil: integer positions in ``hazards.tables.tehsil_codes()`` (-1 for
        none or unknown). Needed only when the table has tehsil rows; without it, households
        take their district's row only.

    Returns
    -------
    AdminIntensity
        ``severity`` [int8 tier 0-3, 0 where not declared], ``share_affected`` [float32
        fraction, NaN where not declared] (each None when the table lacks the column), and
        ``declared`` [bool].
    """
    known = data.district_codes()
    n = len(known)
    rows = table[table["tehsil_id"] == ""] if "tehsil_id" in table.columns else table
    pos = known.get_indexer(rows["district_id"])
    if (pos < 0).any():
        raise HazardError(
            f"{table.attrs.get('source', 'admin table')}: district ids "
            f"{list(rows['district_id'][pos < 0][:10])} are not in data/districts.csv; read the "
            "table with read_admin_table()."
        )
    households = _district_positions(district_codes, n)
    # slot n holds the value for households with no district (code -1)
    slot = np.where(households >= 0, households, n)
    in_table = np.zeros(n + 1, dtype=bool)
    in_table[pos] = True
    declared = in_table[slot]
    severity = share = None
    if "severity" in table.columns:
        lut = np.zeros(n + 1, dtype=np.int8)
        lut[pos] = rows["severity"].to_numpy(dtype=np.int8)
        severity = lut[slot]
    if "share_affected" in table.columns:
        lut_share = np.full(n + 1, np.nan, dtype=np.float32)
        lut_share[pos] = rows["share_affected"].to_numpy(dtype=np.float32)
        share = lut_share[slot]
    if has_tehsils(table) and tehsil_codes is not None:
        tehsil_rows = table[table["tehsil_id"] != ""]
        m = len(data.tehsil_codes())
        tpos = data.tehsil_codes().get_indexer(tehsil_rows["tehsil_id"])
        codes = np.asarray(tehsil_codes, dtype=np.int64)
        tslot = np.where((codes >= 0) & (codes < m), codes, m)
        t_in = np.zeros(m + 1, dtype=bool)
        t_in[tpos] = True
        at = t_in[tslot]
        declared = declared | at
        if severity is not None:
            t_lut = np.zeros(m + 1, dtype=np.int8)
            t_lut[tpos] = tehsil_rows["severity"].to_numpy(dtype=np.int8)
            severity = np.where(at, t_lut[tslot], severity)
        if share is not None:
            t_share = np.full(m + 1, np.nan, dtype=np.float32)
            t_share[tpos] = tehsil_rows["share_affected"].to_numpy(dtype=np.float32)
            share = np.where(at, t_share[tslot], share)
    return AdminIntensity(severity, share, declared)
