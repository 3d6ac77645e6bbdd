"""The joint response plan: per-household results aggregated by district, province and nation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator import data
from simulator.targeting import STATUS

#: Figures every level of the plan carries (households and people are counts; *_pkr money).
FIGURES = (
    "households",
    "affected_households",
    "affected_people",
    "eligible_households",
    "paid_households",
    "amount_pkr",
    "federal_pkr",
    "provincial_pkr",
)
MONEY = ("amount_pkr", "federal_pkr", "provincial_pkr")


def group_sum(codes: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Exact int64 sums of ``values`` per group code 0..size-1 (no Python loop)."""
    values = np.asarray(values)
    if values.dtype == bool:
        return np.bincount(codes[values], minlength=size).astype(np.int64)
    values = values.astype(np.int64)
    # bincount sums in float64, exact while every partial sum is below 2**53.
    if len(values) and np.abs(values).sum(dtype=np.float64) < 2.0**53:
        return np.bincount(codes, weights=values, minlength=size).round().astype(np.int64)
    out = np.zeros(size, dtype=np.int64)
    np.add.at(out, codes, values)
    return out


def district_table(result: pd.DataFrame) -> pd.DataFrame:
    """One row per district with households in the registry, figures summed exactly."""
    table = data.districts()
    codes = result["district_id"].cat.codes.to_numpy()
    n = len(table)
    frame = pd.DataFrame(
        {
            "district_id": table.district_id,
            "district": table.district,
            "province_code": table.province_code,
            "province": table.province,
            "households": np.bincount(codes, minlength=n).astype(np.int64),
            "affected_households": group_sum(codes, result["affected"].to_numpy(), n),
            "affected_people": group_sum(
                codes, np.where(result["affected"], result["hh_size"], 0), n
            ),
            "eligible_households": group_sum(
                codes, (result["affected"] & result["eligible"]).to_numpy(), n
            ),
            "paid_households": group_sum(codes, (result["amount_pkr"] > 0).to_numpy(), n),
            "amount_pkr": group_sum(codes, result["amount_pkr"].to_numpy(), n),
            "federal_pkr": group_sum(codes, result["federal_pkr"].to_numpy(), n),
            "provincial_pkr": group_sum(codes, result["provincial_pkr"].to_numpy(), n),
        }
    )
    return frame[frame.households > 0].reset_index(drop=True)


def province_table(districts: pd.DataFrame) -> pd.DataFrame:
    """Districts summed to provinces (exact int64)."""
    grouped = districts.groupby(["province_code", "province"], sort=True)[list(FIGURES)].sum()
    return grouped.reset_index()


def totals(provinces: pd.DataFrame) -> dict[str, int]:
    return {k: int(provinces[k].sum()) for k in FIGURES}


def check_reconciles(result: pd.DataFrame, districts: pd.DataFrame, provinces: pd.DataFrame) -> None:
    """Raise AssertionError unless money reconciles exactly at every level."""
    hh = {k: int(result[k].sum()) for k in MONEY}
    for level in (districts, provinces):
        for k in MONEY:
            assert int(level[k].sum()) == hh[k], f"{k} does not reconcile"
        assert (level.federal_pkr + level.provincial_pkr == level.amount_pkr).all()
    assert hh["federal_pkr"] + hh["provincial_pkr"] == hh["amount_pkr"]


def build(
    result: pd.DataFrame, *, scenario: dict, registry_report: dict, assumptions: list[str]
) -> dict:
    """The plan as a JSON-ready dict: totals, provinces, districts, status counts, assumptions."""
    districts = district_table(result)
    provinces = province_table(districts)
    check_reconciles(result, districts, provinces)
    status = result["status"].value_counts().reindex(list(STATUS), fill_value=0)
    affected_districts = districts[districts.affected_households > 0]
    return {
        "schema_version": "1.0",
        "scenario": scenario,
        "totals": totals(provinces),
        "status_counts": {k: int(v) for k, v in status.items()},
        "registry": registry_report,
        "provinces": provinces.to_dict(orient="records"),
        "districts": affected_districts.to_dict(orient="records"),
        "assumptions": assumptions,
    }
