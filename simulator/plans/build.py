"""The joint response plan: engine results aggregated by district, province, tehsil and nation.

All money is int64 PKR and every level reconciles exactly:
households = districts = provinces = totals, and federal + provincial = amount at every level.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hazards import tables as data
from simulator.engine import financing
from simulator.engine.aggregate import group_sum
from simulator.engine.evaluation import PAYER, EngineResult
from simulator.engine.targeting import STATUS, TIER_NAMES
from simulator.plans import unregistered

#: Figures every level of the plan carries (``*_households``/``*_people`` counts, ``*_pkr`` money).
FIGURES = (
    "households",
    "affected_households",
    "affected_people",
    "severely_affected_households",
    "displaced_households",
    "eligible_households",
    "eligible_people",
    "paid_households",
    "paid_people",
    "vertical_households",
    "horizontal_households",
    "amount_pkr",
    "federal_pkr",
    "provincial_pkr",
    "dedup_overlap_households",
    "dedup_savings_pkr",
    "over_budget_households",
    "budget_shortfall_pkr",
    "affected_poor_unpaid_households",
)
MONEY = tuple(f for f in FIGURES if f.endswith("_pkr"))
SCHEMA_VERSION = "1.1"


def _figures(res: EngineResult, codes_all: np.ndarray, codes: np.ndarray, size: int, poverty_line: float) -> dict[str, np.ndarray]:
    """Each figure per group, from full-length group codes and the affected subset's codes.

    Counts are of households: each registry row counts ``weight`` times (1 in a real registry).
    """
    s = res.sub
    w = s["weight"]
    people = s["hh_size"].astype(np.int64) * w
    paid = s["paid_pkr"] > 0

    def count(mask: np.ndarray) -> np.ndarray:
        return group_sum(codes, np.where(mask, w, 0), size)

    return {
        "households": group_sum(codes_all, res.counted_weight, size),  # None: every row is 1
        "affected_households": group_sum(codes, w, size),
        "affected_people": group_sum(codes, people, size),
        "severely_affected_households": count(s["tier"] >= 2),
        "displaced_households": count(s["tier"] >= 3),
        "eligible_households": count(s["entitled"]),
        "eligible_people": group_sum(codes, np.where(s["entitled"], people, 0), size),
        "paid_households": count(paid),
        "paid_people": group_sum(codes, np.where(paid, people, 0), size),
        "vertical_households": count(s["vertical"]),
        "horizontal_households": count(s["horizontal"]),
        "amount_pkr": group_sum(codes, s["paid_pkr"], size),
        "federal_pkr": group_sum(codes, s["federal_pkr"], size),
        "provincial_pkr": group_sum(codes, s["provincial_pkr"], size),
        "dedup_overlap_households": count(s["overlap"]),
        "dedup_savings_pkr": group_sum(codes, s["dedup_savings_pkr"], size),
        "over_budget_households": count(s["over_budget"]),
        "budget_shortfall_pkr": group_sum(codes, s["shortfall_pkr"], size),
        "affected_poor_unpaid_households": count(~paid & (s["pmt_score"] <= poverty_line)),
    }


def district_table(res: EngineResult, district_all: np.ndarray, *, poverty_line: float = 32.0) -> pd.DataFrame:
    """One row per district with households in the registry, every figure summed exactly."""
    table = data.districts()
    size = len(table)
    figures = _figures(res, district_all, res.sub["district"].astype(np.int64), size, poverty_line)
    frame = pd.DataFrame(
        {
            "district_id": table.district_id,
            "district": table.district,
            "province_code": table.province_code,
            "province": table.province,
            **figures,
        }
    )
    return frame[frame.households > 0].reset_index(drop=True)


def province_table(districts: pd.DataFrame) -> pd.DataFrame:
    """Districts summed to provinces (exact int64)."""
    grouped = districts.groupby(["province_code", "province"], sort=True)[list(FIGURES)].sum()
    return grouped.reset_index()


#: Most (district, tehsil) cells counted with a dense bincount; beyond, a sort (np.unique).
_DENSE_CELLS = 1 << 25


def tehsil_codes(district_all: np.ndarray, tehsil: pd.Series) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Each row's (district, tehsil) cell and the cells in order of district id and tehsil label.

    Tehsil labels are categorical codes (or dictionary-encoded by Arrow: a few hundred distinct
    texts), so the rows are
    handled as integer codes: a cell is ``district x labels + label``, the cells present are
    found by a bincount and ordered by their (short) list of texts. Missing tehsils are
    ``(unknown)``.
    """
    ids = data.districts().district_id.to_numpy()
    if isinstance(tehsil.dtype, pd.CategoricalDtype):  # a validated registry's: codes already
        labels = [*map(str, tehsil.cat.categories), "(unknown)"]
        label = tehsil.cat.codes.to_numpy().astype(np.int64)
        label[label < 0] = len(labels) - 1
    else:
        arrow = tehsil.array.__arrow_array__() if hasattr(tehsil.array, "__arrow_array__") else \
            pa.array(tehsil.astype("string").array)
        encoded = pc.dictionary_encode(pa.chunked_array([arrow]) if isinstance(arrow, pa.Array) else arrow)
        encoded = encoded.combine_chunks() if isinstance(encoded, pa.ChunkedArray) else encoded
        labels = [*encoded.dictionary.to_pylist(), "(unknown)"]
        label = pc.fill_null(encoded.indices, len(labels) - 1).to_numpy(zero_copy_only=False).astype(np.int64)
    cell = district_all.astype(np.int64) * len(labels) + label
    dense = len(ids) * len(labels) <= _DENSE_CELLS
    present = np.flatnonzero(np.bincount(cell, minlength=len(ids) * len(labels))) if dense else np.unique(cell)
    keys = [(str(ids[c // len(labels)]), labels[c % len(labels)]) for c in present.tolist()]  # the cells, not rows
    order = sorted(range(len(keys)), key=keys.__getitem__)
    rank = np.empty(len(keys), dtype=np.int64)
    rank[order] = np.arange(len(keys))
    if dense:  # a lookup table over every possible cell: one gather
        lookup = np.zeros(len(ids) * len(labels), dtype=np.int64)
        lookup[present] = rank
        codes_all = lookup[cell]
    else:
        codes_all = rank[np.searchsorted(present, cell)]
    return codes_all, [keys[k] for k in order]


def tehsil_table(
    res: EngineResult, district_all: np.ndarray, tehsil: pd.Series | None, *, poverty_line: float = 32.0
) -> pd.DataFrame:
    """One row per (district, tehsil) where the registry gives tehsil codes; empty otherwise.

    Households without a tehsil code are grouped under ``(unknown)`` in their district.
    """
    if tehsil is None or not tehsil.notna().any():
        return pd.DataFrame(columns=["district_id", "tehsil_id", *FIGURES])
    codes_all, cells = tehsil_codes(district_all, tehsil)
    figures = _figures(res, codes_all, codes_all[res.affected_index], len(cells), poverty_line)
    frame = pd.DataFrame(
        {
            "district_id": [d for d, _ in cells],
            "tehsil_id": [t for _, t in cells],
            **figures,
        }
    )
    return frame[frame.households > 0].reset_index(drop=True)


def totals(provinces: pd.DataFrame) -> dict[str, int]:
    return {k: int(provinces[k].sum()) for k in FIGURES}


def check_reconciles(res: EngineResult, districts: pd.DataFrame, provinces: pd.DataFrame) -> None:
    """Raise AssertionError unless money reconciles exactly at every level.

    Only affected households carry money (the engine pays nobody else), so the household sums
    are taken over the affected subset.
    """
    s = res.sub
    hh = {k: int(s[src].sum()) for k, src in
          (("amount_pkr", "paid_pkr"), ("federal_pkr", "federal_pkr"), ("provincial_pkr", "provincial_pkr"))}
    for level in (districts, provinces):
        for k, v in hh.items():
            assert int(level[k].sum()) == v, f"{k} does not reconcile"
        assert (level.federal_pkr + level.provincial_pkr == level.amount_pkr).all()
    assert hh["federal_pkr"] + hh["provincial_pkr"] == hh["amount_pkr"]
    assert (s["federal_pkr"] + s["provincial_pkr"] == s["paid_pkr"]).all()
    assert not ((s["paid_pkr"] > 0) & (s["tier"] == 0)).any(), "paid but not affected"


def _paid_not_affected(res: EngineResult) -> int:
    """Households paid whose tier is 0: always 0 by construction, reported as a check."""
    paid = np.zeros(len(res.tier), dtype=bool)
    paid[res.affected_index] = res.sub["paid_pkr"] > 0
    wrong = paid & (res.tier == 0)
    return int(wrong.sum()) if res.counted_weight is None else int(res.weight[wrong].sum())


def _payers(res: EngineResult) -> dict[str, int]:
    counts = group_sum(res.sub["payer"].astype(np.int64), res.sub["weight"], len(PAYER))
    total = len(res.tier) if res.counted_weight is None else int(res.counted_weight.sum())
    counts[0] += total - int(res.sub["weight"].sum())
    return dict(zip(PAYER, counts.tolist(), strict=True))


def _contributions(provinces: pd.DataFrame, scn) -> list[dict]:
    codes = list(financing.PROVINCES)
    by_code = dict(zip(provinces.province_code, provinces.provincial_pkr, strict=True))
    row = np.array([int(by_code.get(c, 0)) for c in codes], dtype=np.int64)
    matrix = financing.contributions(row, rule=scn.cost_sharing.rule, key=scn.cost_sharing.key)
    return [
        {"benefiting_province": codes[i], "paying_province": codes[j], "amount_pkr": int(matrix[i, j])}
        for i in range(len(codes))
        for j in range(len(codes))
        if matrix[i, j]
    ]


def _instalments(res: EngineResult, scn) -> list[dict]:
    from simulator.engine.payouts import instalment_split

    shares = [i.share for i in scn.policy.instalments]
    split = instalment_split(res.sub["paid_pkr"], shares)
    fed = instalment_split(res.sub["federal_pkr"], shares)
    return [
        {
            "instalment": k + 1,
            "day": inst.day,
            "share": inst.share,
            "amount_pkr": int(split[k].sum()),
            "federal_pkr": int(fed[k].sum()),
            "provincial_pkr": int(split[k].sum() - fed[k].sum()),
        }
        for k, inst in enumerate(scn.policy.instalments)
    ]


def build(
    res: EngineResult,
    district_all: np.ndarray,
    *,
    scn,
    registry_report: dict,
    assumptions: list[str],
    tehsil: pd.Series | None = None,
) -> dict:
    """The plan as a JSON-ready dict (see ``SCHEMA_VERSION``)."""
    pl = scn.policy.poverty_line_pmt
    districts = district_table(res, district_all, poverty_line=pl)
    provinces = province_table(districts)
    check_reconciles(res, districts, provinces)
    status = group_sum(res.status, None if res.counted_weight is None else res.weight, len(STATUS))
    status_counts = {k: int(status[i]) for i, k in enumerate(STATUS)}
    status_counts["quarantined"] = int(registry_report.get("rows_quarantined", 0))
    tehsils = tehsil_table(res, district_all, tehsil, poverty_line=pl)
    tot = totals(provinces)
    b = scn.budget
    return {
        "schema_version": SCHEMA_VERSION,
        "scenario": {"name": scn.name, "title": scn.title, "modelled_on": scn.modelled_on},
        "totals": tot,
        "registry_rows": len(res.tier),
        "status_counts": status_counts,
        "targeting": {
            "affected_poor_unpaid_households": tot["affected_poor_unpaid_households"],
            "paid_not_affected_households": _paid_not_affected(res),
            "poverty_line_pmt": pl,
        },
        "tiers": dict(zip(TIER_NAMES, group_sum(res.tier, res.counted_weight, 4).tolist(), strict=True)),
        "payers": _payers(res),
        "programmes": [
            {
                "name": p.name,
                "owner": p.owner,
                "expansion": p.expansion,
                "entitled_households": res.programme_households[p.name],
            }
            for p in scn.policy.programmes
        ],
        "dedup": {
            "rule": scn.dedup.rule,
            "overlap_households": tot["dedup_overlap_households"],
            "savings_pkr": tot["dedup_savings_pkr"],
            "registry_duplicates_households": res.duplicates.get("households", 0),
            "registry_duplicates_savings_pkr": res.duplicates.get("savings_pkr", 0),
        },
        "budget": {
            "federal_ceiling_pkr": b.federal_pkr,
            "provincial_ceilings_pkr": dict(b.provincial_pkr),
            "priority": list(b.priority),
            "over_budget_households": tot["over_budget_households"],
            "shortfall_pkr": tot["budget_shortfall_pkr"],
        },
        "cost_sharing": {
            "rule": scn.cost_sharing.rule,
            "federal_share": scn.cost_sharing.federal_share,
            "key": scn.cost_sharing.key if scn.cost_sharing.rule == "key" else None,
            "contributions": _contributions(provinces, scn),
        },
        "instalments": _instalments(res, scn),
        "registry": registry_report,
        "provinces": provinces.to_dict(orient="records"),
        "districts": districts[districts.affected_households > 0].to_dict(orient="records"),
        "tehsils": tehsils[tehsils.affected_households > 0].to_dict(orient="records"),
        "unregistered": unregistered.estimate(districts),
        "assumptions": assumptions,
    }
