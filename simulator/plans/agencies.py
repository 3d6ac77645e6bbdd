"""Who answers for a plan in each province: the disaster authority and the social protection
programmes (``data/agencies.csv``), for the provinces a plan involves."""

from __future__ import annotations

import pandas as pd

from hazards import tables
from hazards.errors import DataFileError

#: Columns of ``data/agencies.csv``.
AGENCY_COLUMNS = (
    "province_code", "province", "disaster_authority", "federal_programmes",
    "provincial_programme", "confidence", "source",
)


def agencies(plan: dict | None = None) -> pd.DataFrame:
    """Responsible agencies per province: disaster authority, federal and provincial programmes.

    Parameters
    ----------
    plan : dict, optional
        A plan; when it carries an ``agencies`` list (one record per province, the columns of
        :data:`AGENCY_COLUMNS`) that list is used, otherwise ``data/agencies.csv``.

    Returns
    -------
    pandas.DataFrame
        One row per province code (PB, SD, KP, BA, IS) with the columns of
        :data:`AGENCY_COLUMNS`; ``source`` says where each row comes from.

    Raises
    ------
    DataFileError
        ``data/agencies.csv`` is missing or lacks a column.
    """
    if plan is not None and plan.get("agencies"):
        table = pd.DataFrame(plan["agencies"])
    else:
        path = tables.data_dir() / "agencies.csv"
        if not path.exists():
            raise DataFileError(
                f"{path}: missing. It ships with the repository; restore it with "
                "`git checkout -- data/agencies.csv`."
            )
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    absent = [c for c in AGENCY_COLUMNS if c not in table.columns]
    if absent:
        raise DataFileError(f"agencies table: columns {absent} are missing; expected {list(AGENCY_COLUMNS)}.")
    return table[list(AGENCY_COLUMNS)].reset_index(drop=True)


def paid_by_province(plan: dict) -> dict[str, int | None]:
    """What each province pays [PKR] after pooling (the key rule), by paying province code;
    None where a contribution is hidden by small-cell suppression."""
    out: dict[str, int | None] = {}
    for c in plan.get("cost_sharing", {}).get("contributions", []):
        before, amount = out.get(c["paying_province"], 0), c["amount_pkr"]
        out[c["paying_province"]] = None if before is None or amount is None else before + int(amount)
    return out


def involved_provinces(plan: dict) -> list[str]:
    """Province codes with affected households or paying a share (all provinces when none)."""
    rows = plan.get("provinces", [])
    paying = paid_by_province(plan)
    hit = [p["province_code"] for p in rows
           if p.get("affected_households", 0) != 0 or paying.get(p["province_code"], 0) != 0]
    return hit or [p["province_code"] for p in rows]


def for_plan(plan: dict) -> list[dict]:
    """The agency records of the provinces ``plan`` involves (see :func:`involved_provinces`)."""
    involved = set(involved_provinces(plan))
    return [a for a in agencies().to_dict(orient="records") if a["province_code"] in involved]
