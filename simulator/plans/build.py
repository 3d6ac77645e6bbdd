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
from simulator.engine.aggregate import flag_sums, group_sum
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
#: Household groups broken down in ``plan["groups"]`` (registry columns; see :func:`groups`).
GROUPS = ("female_headed", "disability", "children_under5")
#: The figures of each group, per district, province and nation [weighted households].
GROUP_FIGURES = tuple(f"{g}_{m}" for g in GROUPS for m in ("affected", "paid"))
SCHEMA_VERSION = "1.1"


def _figures(res: EngineResult, codes_all: np.ndarray | None, codes: np.ndarray, size: int, poverty_line: float) -> dict[str, np.ndarray]:
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
        # codes_all None: the caller counts every row's group itself
        "households": None if codes_all is None else group_sum(codes_all, res.counted_weight, size),
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


def tehsil_cells(district_all: np.ndarray, tehsil: pd.Series) -> tuple[np.ndarray, np.ndarray, list[tuple[str, str]]]:
    """Each row's (district, tehsil) cell as an integer key, the keys present in order, and their
    (district id, tehsil label) pairs in that order (of district id and tehsil label).

    Tehsil labels are categorical codes (or dictionary-encoded by Arrow: a few hundred distinct
    texts), so the rows are handled as integer codes: a key is ``district x labels + label``
    (int32 while every key fits), the keys present are found by a bincount (a sort beyond
    :data:`_DENSE_CELLS` possible keys) and ordered by their (short) list of texts. Missing
    tehsils are ``(unknown)``. ``np.searchsorted(present, key)`` is a row's rank among them.
    """
    ids = data.districts().district_id.to_numpy()
    if isinstance(tehsil.dtype, pd.CategoricalDtype):  # a validated registry's: codes already
        labels = [*map(str, tehsil.cat.categories), "(unknown)"]
        label = tehsil.cat.codes.to_numpy()
    else:
        arrow = tehsil.array.__arrow_array__() if hasattr(tehsil.array, "__arrow_array__") else \
            pa.array(tehsil.astype("string").array)
        encoded = pc.dictionary_encode(pa.chunked_array([arrow]) if isinstance(arrow, pa.Array) else arrow)
        encoded = encoded.combine_chunks() if isinstance(encoded, pa.ChunkedArray) else encoded
        labels = [*encoded.dictionary.to_pylist(), "(unknown)"]
        label = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    possible = len(ids) * len(labels)
    width = np.int32 if possible < 2**31 else np.int64
    key = district_all.astype(width) * width(len(labels))
    key += np.where(label < 0, len(labels) - 1, label).astype(width, copy=False)
    dense = possible <= _DENSE_CELLS
    present = np.flatnonzero(np.bincount(key, minlength=possible)) if dense else np.unique(key)
    pairs = [(str(ids[c // len(labels)]), labels[c % len(labels)]) for c in present.tolist()]  # the cells, not rows
    order = np.array(sorted(range(len(pairs)), key=pairs.__getitem__), dtype=np.int64)
    return key, present[order] if len(order) else present, [pairs[k] for k in order.tolist()]


def _ranks(key: np.ndarray, ordered: np.ndarray) -> np.ndarray:
    """Each key's position in ``ordered`` (every key is in it)."""
    sort = np.argsort(ordered, kind="stable")
    return sort[np.searchsorted(ordered[sort], key)].astype(np.int64)


def tehsil_table(
    res: EngineResult, district_all: np.ndarray, tehsil: pd.Series | None, *, poverty_line: float = 32.0
) -> pd.DataFrame:
    """One row per (district, tehsil) where the registry gives tehsil codes; empty otherwise.

    Households without a tehsil code are grouped under ``(unknown)`` in their district. Only the
    affected rows' cells are ranked; every row's key is counted once, by a sum over keys.
    """
    if tehsil is None or not tehsil.notna().any():
        return pd.DataFrame(columns=["district_id", "tehsil_id", *FIGURES])
    key, ordered, cells = tehsil_cells(district_all, tehsil)
    figures = _figures(res, None, _ranks(key[res.affected_index], ordered), len(cells), poverty_line)
    if len(ordered) and int(ordered.max()) < _DENSE_CELLS:  # every row's cell summed by key
        figures["households"] = group_sum(key, res.counted_weight, int(ordered.max()) + 1)[ordered]
    else:
        figures["households"] = group_sum(_ranks(key, ordered), res.counted_weight, len(cells))
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


def _group_basis(registry_report: dict) -> str:
    """The sentence ``plan["groups"]["basis"]`` gives, plus one on registry columns found absent."""
    from simulator.registry import synthetic

    basis = (
        "Households affected (tier above 0, as affected_households) and paid (more than PKR 0, as "
        "paid_households) in three groups that may overlap and are not added up: female_headed, "
        "headed by a woman; disability, with a member with a disability; children_under5, with at "
        "least one child under five; counts are weighted registry households (a row of weight w "
        "counts w times), and a synthetic registry draws these flags from stated assumptions "
        f"(female-headed {synthetic.P_FEMALE_HEADED:.0%} of households, a member with a disability "
        f"{synthetic.P_DISABILITY:.0%}, each member other than the head a child under five with "
        f"chance {synthetic.P_UNDER_FIVE:.0%}; see simulator/registry/synthetic.py)."
    )
    absent = _absent_groups(registry_report)
    if absent:
        basis += (f" The registry has no {', '.join(absent)} column: every household was taken as "
                  "outside that group, so its figures are 0 by default, not counted.")
    return basis


def _absent_groups(registry_report: dict) -> list[str]:
    """The group columns the registry's validation notes say were absent (defaulted)."""
    notes = registry_report.get("notes") or []
    return [g for g in GROUPS if any(str(n).startswith(f"{g} absent") for n in notes)]


def group_figures(res: EngineResult, size: int) -> np.ndarray:
    """Affected and paid weighted households of each group per district [households, int64].

    One pass over the affected households (:func:`simulator.engine.aggregate.flag_sums` of the
    three group flags and "paid" by district), then a (16 x 6) selection: columns in the order
    of :data:`GROUP_FIGURES`. Affected is every row of ``res.sub`` (tier > 0, duplicates
    excluded, as ``affected_households``); paid is ``paid_pkr > 0`` (as ``paid_households``).
    A group column missing from the engine's columns counts no household.
    """
    s = res.sub
    m = len(s["weight"])

    def flag(name: str) -> np.ndarray:
        return np.asarray(s[name], dtype=bool) if name in s else np.zeros(m, bool)

    under5 = s["children_under5"] > 0 if "children_under5" in s else np.zeros(m, bool)
    flags = [flag("female_headed"), flag("disability"), under5, s["paid_pkr"] > 0]
    cells = flag_sums(s["district"], flags, s["weight"], size)
    combo = np.arange(cells.shape[1])
    paid = (combo >> len(GROUPS)) & 1
    select = np.stack(
        [sel for g in range(len(GROUPS)) for sel in ((combo >> g) & 1, ((combo >> g) & 1) & paid)], axis=1
    ).astype(np.int64)
    return cells @ select


def groups(res: EngineResult, districts: pd.DataFrame, provinces: pd.DataFrame, *, registry_report: dict) -> dict:
    """``plan["groups"]``: affected and paid households of each of :data:`GROUPS` per district
    (the districts ``plan["districts"]`` lists: affected households above 0), per province (the
    rows of ``provinces``) and nationally.

    Counts are weighted registry households [households, int64], exact: each province is the
    sum of its districts (those not listed have none affected) and the nation the sum of the
    provinces. ``districts`` and ``provinces`` are :func:`district_table` and
    :func:`province_table`.
    """
    table = data.districts()
    per_district = pd.DataFrame(group_figures(res, len(table)), columns=list(GROUP_FIGURES))
    per_district.insert(0, "province_code", table.province_code.to_numpy())
    per_district.insert(0, "district_id", table.district_id.to_numpy())
    by_province = per_district.groupby("province_code", sort=True)[list(GROUP_FIGURES)].sum()  # ~160 rows
    province_rows = by_province.reindex(list(provinces.province_code), fill_value=0).astype(np.int64)
    national = province_rows.sum()
    listed = per_district[table.district_id.isin(districts.district_id[districts.affected_households > 0])]
    whole = per_district[list(GROUP_FIGURES)].sum()
    assert (national == whole).all() and (listed[list(GROUP_FIGURES)].sum() == whole).all(), \
        "group figures do not reconcile"
    return {
        "basis": _group_basis(registry_report),
        "groups": list(GROUPS),
        "absent": _absent_groups(registry_report),
        "national": {g: {m: int(national[f"{g}_{m}"]) for m in ("affected", "paid")} for g in GROUPS},
        "provinces": _int_records(province_rows.reset_index(names="province_code")),
        "districts": _int_records(listed.reset_index(drop=True)),
    }


def _int_records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts of Python ints and strings (JSON-ready)."""
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
            for row in frame.to_dict(orient="records")]


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
    districts: pd.DataFrame | None = None,
) -> dict:
    """The plan as a JSON-ready dict (see ``SCHEMA_VERSION``); ``districts``: its
    :func:`district_table`, when the caller made it already (for the delivery plan)."""
    pl = scn.policy.poverty_line_pmt
    if districts is None:
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
        "groups": groups(res, districts, provinces, registry_report=registry_report),
        "unregistered": unregistered.estimate(districts),
        "assumptions": assumptions,
    }
