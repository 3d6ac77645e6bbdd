"""Admin-declared hazards: a table of districts with a severity or a share affected.

This is what NDMA/PDMA calamity notifications give: a list of districts declared
"calamity-hit", sometimes with a grade, and (from satellite analyses such as UNOSAT's) the share
of each district's area that was flooded. The engine uses it in place of a raster overlay: every
household takes the values of its district.

The table is a CSV with a ``district_id`` column (2023 census ids, ``data/districts.csv``) and
one or both of:

``severity``        one of ``none``, ``affected``, ``severely_affected``, ``displaced``
                    (case and spaces/hyphens ignored), or the tier number 0-3
``share_affected``  the share of the district affected, in [0, 1] (a fraction, not %)

Other columns are kept (e.g. the notification's date and source). Each district appears once.

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
        CSV with ``district_id`` and ``severity`` and/or ``share_affected`` (see the module
        docstring); other columns are kept.

    Returns
    -------
    One row per district, sorted by ``district_id`` (lower case); ``severity`` as the tier
    number [int8, 0-3] and ``share_affected`` [float32, 0-1] where given. ``attrs["source"]``
    names the file.

    Raises
    ------
    HazardError
        Missing or unreadable file; no ``district_id`` or neither value column; empty ids;
        district ids not in ``data/districts.csv`` (up to 10 listed, with close matches);
        duplicate districts; a severity outside the tiers or a share outside [0, 1].
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
    if "district_id" not in table.columns or not values:
        raise HazardError(
            f"{path}: columns {list(table.columns)}; an admin table needs district_id and "
            "severity (none/affected/severely_affected/displaced or 0-3) and/or share_affected "
            "(0-1). Rename or add the columns."
        )
    ids = table["district_id"].astype("string").str.strip().str.lower()
    empty = (ids == "").to_numpy(dtype=bool)
    if empty.any():
        raise HazardError(f"{path}: district_id is empty on line(s) {_rows(empty)}; fill it in.")
    known = data.district_codes()
    unknown = sorted(set(ids[known.get_indexer(ids) < 0]))
    if unknown:
        described = []
        for name in unknown[:10]:
            near = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
            described.append(f"{name!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise HazardError(
            f"{path}: {len(unknown)} district id(s) are not 2023 census districts: "
            f"{', '.join(described)}{more}. Use the ids in data/districts.csv (e.g. 'sd_dadu')."
        )
    dup = ids.duplicated(keep=False).to_numpy(dtype=bool)
    if dup.any():
        raise HazardError(
            f"{path}: districts listed more than once: {sorted(set(ids[dup]))[:10]} (lines "
            f"{_rows(dup)}). Keep one row per district."
        )
    table["district_id"] = ids.astype(str)
    if "severity" in values:
        table["severity"] = _parse_severity(table["severity"], path)
    if "share_affected" in values:
        table["share_affected"] = _parse_share(table["share_affected"], path)
    table = table.sort_values("district_id", kind="stable").reset_index(drop=True)
    table.attrs["source"] = str(path)
    return table


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


def admin_intensity(table: pd.DataFrame, district_codes: object) -> AdminIntensity:
    """Each household's severity tier and share affected, from its district's row in ``table``.

    Vectorized: one lookup array per column, indexed by the households' district codes.

    Parameters
    ----------
    table
        From :func:`read_admin_table`.
    district_codes
        Each household's district: integer positions in ``hazards.tables.district_codes()``
        (-1 for none), a ``pandas.Categorical`` of district ids (as the registry's
        ``district_id`` column), or an array of district ids.

    Returns
    -------
    AdminIntensity
        ``severity`` [int8 tier 0-3, 0 where the district is not in the table],
        ``share_affected`` [float32 fraction, NaN where the district is not in the table] (each
        None when the table lacks the column), and ``declared`` [bool].
    """
    known = data.district_codes()
    n = len(known)
    pos = known.get_indexer(table["district_id"])
    if (pos < 0).any():
        raise HazardError(
            f"{table.attrs.get('source', 'admin table')}: district ids "
            f"{list(table['district_id'][pos < 0][:10])} are not in data/districts.csv; read the "
            "table with read_admin_table()."
        )
    households = _district_positions(district_codes, n)
    # slot n holds the value for households with no district (code -1)
    slot = np.where(households >= 0, households, n)
    in_table = np.zeros(n + 1, dtype=bool)
    in_table[pos] = True
    severity = share = None
    if "severity" in table.columns:
        lut = np.zeros(n + 1, dtype=np.int8)
        lut[pos] = table["severity"].to_numpy(dtype=np.int8)
        severity = lut[slot]
    if "share_affected" in table.columns:
        lut_share = np.full(n + 1, np.nan, dtype=np.float32)
        lut_share[pos] = table["share_affected"].to_numpy(dtype=np.float32)
        share = lut_share[slot]
    return AdminIntensity(severity, share, in_table[slot])
