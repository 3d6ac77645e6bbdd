"""Cost of a joint NSER registry update survey, by district, shared by federal and provincial governments.

The declaration commits both levels of government to update the National Socio-Economic Registry
together and to share the cost. This module prices a door-to-door CAPI survey the way the 2019-21
NSER update and the 2023 digital census were run, from the items in ``data/nser_update_costs.csv``:

``households to visit``
    The district's census 2023 households (or the households given, e.g. the registry's) times
    ``coverage``, split into urban and rural by the census urban share.
``visit costs``
    Urban and rural households times the cost per household visited for the district's province
    (enumerator pay, supervision, transport, data and back-checks).
``enumerator costs``
    Enumerators needed to visit those households in the field period (workload per enumerator,
    urban and rural) times the training and CAPI device cost per enumerator.
``district fixed costs``
    Field office and district team, once per district surveyed.
``province fixed costs``
    A provincial coordination unit, once per province surveyed.

All money is int64 PKR and reconciles exactly: district totals add up to each province's
``districts_pkr``; ``districts_pkr + province_fixed_pkr = total_pkr`` for each province; provinces
add up to the totals; and ``federal_pkr + provincial_pkr = total_pkr`` at every level.

Cost sharing reuses :mod:`simulator.engine.financing` (rules chosen by name):

``fixed``
    The federal government pays ``federal_share`` of each district's and each province's cost
    (rounded down to the rupee), the province the rest.
``key``
    As ``fixed`` for the federal part; the provincial parts are pooled and funded by the four
    provinces by a key from ``data/cost_sharing_keys.csv`` (``nfc7``, ``population2023``),
    apportioned by the largest-remainder method.
``ownership``
    The NSER is BISP's registry, so its owner (the federal government) pays everything.

Under every rule the federal government pays for Islamabad Capital Territory, which has no
provincial government.

The default cost items are planning assumptions built from the census 2023 pay rates and vehicle
hire, a CAPI tablet price and a stated workload; each row of the CSV gives its basis and source.
Security escorts (Rs 7.5 bn of the census), headquarters costs at BISP (MIS, PMT recalculation,
NADRA verification) and the desk-based dynamic registry are not included.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from hazards import tables as data
from hazards.errors import DataFileError, ScenarioError
from simulator.engine import financing
from simulator.scenario import MAX_HOUSEHOLDS

SCHEMA_VERSION = "1.0"
LEVELS = ("household", "enumerator", "district", "province", "workload")
AREAS = ("urban", "rural")
_COLUMNS = ["item", "level", "province_code", "area", "value", "unit", "basis", "source", "confidence"]
_PROVINCES = tuple(financing.PROVINCES)
#: Largest value of one cost item [PKR]: 500 times the costliest item shipped (PKR 20 million), so that
#: households (at most MAX_HOUSEHOLDS x coverage 2) times a unit cost stays far inside int64.
MAX_COST_ITEM_PKR = 10**10
#: Largest workload [households per enumerator] (products with visits stay small).
MAX_WORKLOAD = 10**6


@functools.cache
def _default_costs() -> pd.DataFrame:
    return read_costs(data.data_dir() / "nser_update_costs.csv")


def read_costs(path: str | Path) -> pd.DataFrame:
    """Read and check a cost-items table (the layout of ``data/nser_update_costs.csv``).

    Parameters
    ----------
    path
        CSV file; lines starting with ``#`` are comments.

    Returns
    -------
    pandas.DataFrame
        Columns ``item``, ``level``, ``province_code``, ``area``, ``value`` [PKR, or households
        for ``workload``], ``unit``, ``basis``, ``source``, ``confidence``.

    Raises
    ------
    DataFileError
        The file is missing, a column is missing, or a row breaks a rule (the message names it).
    """
    path = Path(path)
    if not path.exists():
        raise DataFileError(
            f"{path}: missing. It ships with the repository; restore it with "
            f"`git checkout -- data/{path.name}`."
        )
    table = pd.read_csv(path, comment="#", dtype={"value": "int64"}, keep_default_na=False)
    return _check_costs(table, str(path))


def _check_costs(table: pd.DataFrame, where: str) -> pd.DataFrame:
    missing = [c for c in ("item", "level", "province_code", "area", "value") if c not in table.columns]
    if missing:
        raise DataFileError(f"{where}: columns {missing} are missing; expected {_COLUMNS}.")
    table = table.copy()
    for c in _COLUMNS:
        if c not in table.columns:
            table[c] = ""
    for i, row in enumerate(table.itertuples(index=False), start=1):
        at = f"{where}: row {i} ({row.item})"
        if row.level not in LEVELS:
            raise DataFileError(f"{at}: level {row.level!r} is unknown; use one of {LEVELS}.")
        if row.province_code != "ALL" and row.province_code not in _PROVINCES:
            raise DataFileError(f"{at}: province_code {row.province_code!r}; use ALL or one of {_PROVINCES}.")
        if row.area not in ("ALL", *AREAS):
            raise DataFileError(f"{at}: area {row.area!r}; use ALL, urban or rural.")
        if row.level in ("enumerator", "district", "province") and row.area != "ALL":
            raise DataFileError(f"{at}: {row.level} costs do not depend on area; set area to ALL.")
        value = int(row.value)
        if value < 0 or (row.level == "workload" and value == 0):
            raise DataFileError(f"{at}: value {value} must be {'> 0' if row.level == 'workload' else '>= 0'}.")
        limit = MAX_WORKLOAD if row.level == "workload" else MAX_COST_ITEM_PKR
        if value > limit:
            raise DataFileError(
                f"{at}: value {value:,} is above {limit:,} "
                f"({'MAX_WORKLOAD households per enumerator' if row.level == 'workload' else 'MAX_COST_ITEM_PKR'} "
                "in simulator/plans/nser_update.py, the bound that keeps int64 PKR from overflowing); fix the row."
            )
    table["value"] = table["value"].astype(np.int64)
    if float(table["value"].astype(np.float64).sum()) > financing.MAX_TOTAL_PKR:
        raise DataFileError(f"{where}: the cost items add up to more than int64 PKR holds exactly; fix the values.")
    for p in _PROVINCES:
        for area in AREAS:
            n = int(_match(table, "workload", p, area).sum())
            if n != 1:
                raise DataFileError(
                    f"{where}: {n} workload rows match province {p}, area {area}; exactly one must."
                )
    return table[_COLUMNS]


def _match(table: pd.DataFrame, level: str, province: str, area: str = "ALL") -> pd.Series:
    return (
        (table.level == level)
        & table.province_code.isin(["ALL", province])
        & (table.area.isin(["ALL", area]) if area != "ALL" else table.area.eq("ALL"))
    )


def unit_costs(costs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each province's unit costs, summed over matching cost items.

    Returns
    -------
    pandas.DataFrame
        Indexed by province code (PB, SD, KP, BA, IS): ``urban_pkr`` and ``rural_pkr`` [PKR per
        household visited], ``enumerator_pkr`` [PKR per enumerator], ``district_pkr`` [PKR per
        district], ``province_pkr`` [PKR per province], ``urban_workload`` and ``rural_workload``
        [households per enumerator].
    """
    table = _default_costs() if costs is None else _check_costs(costs, "costs")
    rows = {}
    for p in _PROVINCES:
        v = table.value
        rows[p] = {
            "urban_pkr": int(v[_match(table, "household", p, "urban")].sum()),
            "rural_pkr": int(v[_match(table, "household", p, "rural")].sum()),
            "enumerator_pkr": int(v[_match(table, "enumerator", p)].sum()),
            "district_pkr": int(v[_match(table, "district", p)].sum()),
            "province_pkr": int(v[_match(table, "province", p)].sum()),
            "urban_workload": int(v[_match(table, "workload", p, "urban")].iloc[0]),
            "rural_workload": int(v[_match(table, "workload", p, "rural")].iloc[0]),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def _base_households(districts: pd.DataFrame, households) -> tuple[np.ndarray, str]:
    if households is None:
        return districts.households_2023.to_numpy(np.int64), "census2023"
    if isinstance(households, pd.Series):
        households = households.to_dict()
    if not isinstance(households, Mapping):
        raise ScenarioError(
            "households must map district_id to a number of households (a dict or a Series "
            f"indexed by district_id), got {type(households).__name__}."
        )
    ids = list(districts.district_id)
    unknown = sorted(set(households) - set(ids))
    if unknown:
        raise ScenarioError(
            f"households: district ids {unknown[:5]} are not in the district table; use the ids of "
            "data/districts.csv (e.g. 'sd_dadu')."
        )
    out = np.zeros(len(ids), dtype=np.int64)
    for i, d in enumerate(ids):
        n = households.get(d, 0)
        try:
            whole = float(n) == int(n) and 0 <= int(n) <= MAX_HOUSEHOLDS
        except (TypeError, ValueError, OverflowError):
            whole = False
        if not whole:
            raise ScenarioError(
                f"households[{d!r}] = {n}: must be a whole number >= 0 and at most {MAX_HOUSEHOLDS:,} "
                "(simulator.scenario.MAX_HOUSEHOLDS)."
            )
        out[i] = int(n)
    if int(out.sum()) > MAX_HOUSEHOLDS:
        raise ScenarioError(
            f"households: {int(out.sum()):,} in all, more than {MAX_HOUSEHOLDS:,} "
            "(simulator.scenario.MAX_HOUSEHOLDS); give the households of Pakistan's districts."
        )
    return out, "given"


def _check_arguments(coverage: float, rule: str, key: str) -> None:
    """Fail early on an unknown rule or key, or coverage outside [0, 2]."""
    if rule not in financing.RULES:
        raise ScenarioError(f"NSER update rule {rule!r} is unknown; choose one of {financing.RULES}.")
    if not 0.0 <= float(coverage) <= 2.0:
        raise ScenarioError(f"coverage must lie in [0, 2] (a share of households), got {coverage}.")
    if rule == "key":
        financing.key_shares(key)  # fails early, listing the keys


def _district_table(districts: pd.DataFrame | None) -> pd.DataFrame:
    """The district table to cost (default ``data/districts.csv``), its columns and province
    codes checked."""
    table = data.districts() if districts is None else districts.reset_index(drop=True)
    needed = ["district_id", "district", "province_code", "households_2023", "urban_pct"]
    absent = [c for c in needed if c not in table.columns]
    if absent:
        raise ScenarioError(f"districts: columns {absent} are missing; expected {needed}.")
    bad = sorted(set(table.province_code) - set(_PROVINCES))
    if bad:
        raise ScenarioError(f"districts: province codes {bad} are unknown; use {_PROVINCES}.")
    return table


def _visits(table: pd.DataFrame, base: np.ndarray, coverage: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Households to visit per district [households] (``base`` x coverage to a basis point,
    rounded half up), and their urban and rural parts by the census urban share."""
    coverage_bp = np.int64(round(float(coverage) * 10_000))
    visits = (base * coverage_bp + 5_000) // 10_000
    urban_bp = np.round(table.urban_pct.to_numpy(float) * 100).astype(np.int64)
    if ((urban_bp < 0) | (urban_bp > 10_000)).any():
        raise ScenarioError("districts: urban_pct must lie in [0, 100].")
    urban = (visits * urban_bp + 5_000) // 10_000
    return visits, urban, visits - urban


def _district_costs(
    table: pd.DataFrame,
    base: np.ndarray,
    coverage: float,
    unit: pd.DataFrame,
    *,
    rule: str,
    federal_share: float,
) -> pd.DataFrame:
    """One row per surveyed district: visits, enumerators, each cost and its federal and
    provincial parts [PKR]."""
    visits, urban, rural = _visits(table, base, coverage)
    codes = table.province_code.to_numpy()
    u = unit.loc[codes]
    cu, cr = u.urban_pkr.to_numpy(np.int64), u.rural_pkr.to_numpy(np.int64)
    wu, wr = u.urban_workload.to_numpy(np.int64), u.rural_workload.to_numpy(np.int64)
    # Enumerators: ceil(urban / wu + rural / wr), in integers. Visits are at most 2 x
    # MAX_HOUSEHOLDS and workloads at most MAX_WORKLOAD, so these products are far inside int64;
    # the PKR products are checked (financing.mul_checked) and refused rather than wrapped.
    enumerators = -(-(urban * wr + rural * wu) // (wu * wr))
    surveyed = visits > 0
    what = "NSER update cost"
    visit_pkr = financing.mul_checked(urban, cu, what) + financing.mul_checked(rural, cr, what)
    enumerator_pkr = financing.mul_checked(enumerators, u.enumerator_pkr.to_numpy(np.int64), what)
    district_fixed = np.where(surveyed, u.district_pkr.to_numpy(np.int64), 0)
    financing.check_total(np.concatenate([visit_pkr, enumerator_pkr, district_fixed]), what)
    d_total = visit_pkr + enumerator_pkr + district_fixed
    province_idx = np.array([_PROVINCES.index(c) for c in codes], dtype=np.int8)
    d_fed, d_prov = financing.split(
        d_total, d_total, province_idx, rule=rule, federal_share=federal_share
    )
    return pd.DataFrame(
        {
            "district_id": table.district_id,
            "district": table.district,
            "province_code": codes,
            "households_base": base,
            "households_to_visit": visits,
            "urban_visits": urban,
            "rural_visits": rural,
            "enumerators": enumerators,
            "urban_cost_per_household_pkr": cu,
            "rural_cost_per_household_pkr": cr,
            "visit_pkr": visit_pkr,
            "enumerator_pkr": enumerator_pkr,
            "district_fixed_pkr": district_fixed,
            "total_pkr": d_total,
            "federal_pkr": d_fed,
            "provincial_pkr": d_prov,
        }
    )[surveyed].reset_index(drop=True)


_DISTRICT_SUMS = [
    "households_base", "households_to_visit", "urban_visits", "rural_visits", "enumerators",
    "visit_pkr", "enumerator_pkr", "district_fixed_pkr", "total_pkr", "federal_pkr", "provincial_pkr",
]


def _province_costs(
    dist: pd.DataFrame, unit: pd.DataFrame, *, rule: str, federal_share: float, key: str
) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per surveyed province: its districts' sums, its fixed cost, totals and the
    federal and provincial parts [PKR], and what it pays under the rule (``pays_pkr``); and the
    contributions matrix [PKR] (benefiting province x paying province)."""
    grouped = dist.groupby("province_code")[_DISTRICT_SUMS].sum()
    present = [p for p in _PROVINCES if p in grouped.index]
    prov = grouped.reindex(present).astype(np.int64)
    prov = prov.rename(columns={"total_pkr": "districts_pkr", "federal_pkr": "districts_federal_pkr",
                                "provincial_pkr": "districts_provincial_pkr"})
    prov.insert(0, "districts", dist.groupby("province_code").size().reindex(present).astype(np.int64))
    p_fixed = np.array([unit.loc[p, "province_pkr"] for p in present], dtype=np.int64)
    p_idx = np.array([_PROVINCES.index(p) for p in present], dtype=np.int8)
    financing.check_total(np.concatenate([dist.total_pkr.to_numpy(np.int64), p_fixed]), "NSER update cost")
    f_fed, f_prov = financing.split(p_fixed, p_fixed, p_idx, rule=rule, federal_share=federal_share)
    prov["province_fixed_pkr"] = p_fixed
    prov["total_pkr"] = prov.districts_pkr.to_numpy(np.int64) + p_fixed
    prov["federal_pkr"] = prov.districts_federal_pkr.to_numpy(np.int64) + f_fed
    prov["provincial_pkr"] = prov.districts_provincial_pkr.to_numpy(np.int64) + f_prov
    prov = prov.drop(columns=["districts_federal_pkr", "districts_provincial_pkr"])

    provincial_row = np.zeros(len(_PROVINCES), dtype=np.int64)
    for p, v in zip(present, prov.provincial_pkr, strict=True):
        provincial_row[_PROVINCES.index(p)] = int(v)
    matrix = financing.contributions(provincial_row, rule=rule, key=key)
    pays = matrix.sum(axis=0)
    prov["pays_pkr"] = [int(pays[_PROVINCES.index(p)]) for p in present]
    prov.insert(0, "province", [data.PROVINCES[p] for p in present])
    prov = prov.reset_index().rename(columns={"index": "province_code"})
    return prov, matrix


def _cost_sharing(rule: str, federal_share: float, key: str, matrix: np.ndarray) -> dict:
    """The cost-sharing record: rule, federal share, key and non-zero contributions [PKR]."""
    return {
        "rule": rule,
        "federal_share": float(federal_share) if rule != "ownership" else 1.0,
        "key": key if rule == "key" else None,
        "contributions": [
            {"benefiting_province": _PROVINCES[i], "paying_province": _PROVINCES[j],
             "amount_pkr": int(matrix[i, j])}
            for i in range(len(_PROVINCES))
            for j in range(len(_PROVINCES))
            if matrix[i, j]
        ],
    }


def cost_update(
    *,
    coverage: float = 1.0,
    rule: str = "fixed",
    federal_share: float = 0.5,
    key: str = "nfc7",
    households: Mapping[str, int] | pd.Series | None = None,
    districts: pd.DataFrame | None = None,
    costs: pd.DataFrame | None = None,
) -> dict:
    """Cost of an NSER update survey by district and province, and who pays it.

    Parameters
    ----------
    coverage
        Share of the base households to visit (0-2, to a basis point; above 1 allows for
        households formed since the census: the 2019-21 update reached 104 % of the 2017
        caseload).
    rule
        Cost-sharing rule: ``fixed``, ``key`` or ``ownership`` (see the module docstring).
    federal_share
        Federal share (0-1) under ``fixed`` and ``key``.
    key
        Cost-sharing key under ``key`` (``nfc7`` or ``population2023``).
    households
        Base households per ``district_id`` (e.g. the registry's counts); districts left out are
        not surveyed. ``None``: census 2023 households of every district.
    districts
        District table (``district_id``, ``district``, ``province_code``, ``households_2023``,
        ``urban_pct`` [%]); ``None``: :func:`hazards.tables.districts`.
    costs
        Cost items in the layout of ``data/nser_update_costs.csv``; ``None``: that file.

    Returns
    -------
    dict
        JSON-ready: ``schema_version``, ``coverage``, ``households_source``, ``cost_sharing``
        (rule, share, key, ``contributions`` of each paying province to each benefiting one),
        ``districts`` and ``provinces`` (one record each with households, enumerators and every
        cost in PKR), ``totals``, ``unit_costs`` by province, ``assumptions`` (sentences) and
        ``cost_items`` (the rows used, with their sources).

    Raises
    ------
    ScenarioError
        Unknown rule or key, shares or coverage out of range, unknown district ids.
    DataFileError
        A malformed cost table.
    """
    _check_arguments(coverage, rule, key)
    table = _district_table(districts)
    items = _default_costs() if costs is None else _check_costs(costs, "costs")
    unit = unit_costs(items)
    base, source = _base_households(table, households)
    dist = _district_costs(table, base, coverage, unit, rule=rule, federal_share=federal_share)
    prov, matrix = _province_costs(dist, unit, rule=rule, federal_share=federal_share, key=key)
    totals = {c: int(prov[c].sum()) for c in prov.columns if c not in ("province_code", "province")}
    result = {
        "schema_version": SCHEMA_VERSION,
        "coverage": float(coverage),
        "households_source": source,
        "cost_sharing": _cost_sharing(rule, federal_share, key, matrix),
        "districts": _records(dist),
        "provinces": _records(prov),
        "totals": totals,
        "unit_costs": {p: {k: int(v) for k, v in row.items()} for p, row in unit.iterrows()},
        "assumptions": _assumptions(coverage, source, rule, federal_share, key, unit),
        "cost_items": _records(items),
    }
    check_reconciles(result)
    return result


def _records(frame: pd.DataFrame) -> list[dict]:
    out = []
    for row in frame.to_dict(orient="records"):
        out.append({k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()})
    return out


def _one(values: pd.Series, fmt: str) -> str:
    """One figure when every province has the same, else each province's."""
    if values.nunique() == 1:
        return fmt.format(int(values.iloc[0]))
    return ", ".join(f"{p} {fmt.format(int(v))}" for p, v in values.items())


def _assumptions(coverage, source, rule, federal_share, key, unit: pd.DataFrame) -> list[str]:
    base = "census 2023 households (PBS Table 22)" if source == "census2023" else "the households given"
    share = {
        "fixed": f"the federal government pays {federal_share:.0%} of each district's and province's "
                 "cost, the province the rest",
        "key": f"the federal government pays {federal_share:.0%}; the provinces fund the rest "
               f"together by the {key} key (data/cost_sharing_keys.csv)",
        "ownership": "the federal government (BISP, the NSER's owner) pays everything",
    }[rule]
    return [
        f"Households to visit: {base} x coverage {coverage:.2%}, split urban/rural by the census "
        "urban share.",
        "Cost per household visited [PKR, urban/rural]: "
        + ", ".join(f"{p} {r.urban_pkr}/{r.rural_pkr}" for p, r in unit.iterrows())
        + " (enumerator pay at the census 2023 rate, supervision, transport from census 2023 "
        "vehicle hire, data and back-checks).",
        f"Enumerators: one per {_one(unit.urban_workload, '{:,}')} urban or "
        f"{_one(unit.rural_workload, '{:,}')} rural households over the field period; training "
        f"and a CAPI tablet cost {_one(unit.enumerator_pkr, 'Rs {:,}')} per enumerator.",
        f"Fixed costs: {_one(unit.district_pkr, 'Rs {:,}')} per district surveyed and "
        f"{_one(unit.province_pkr, 'Rs {:,}')} per province surveyed.",
        f"Cost sharing: {share}; Islamabad Capital Territory is funded federally.",
        "Not included: security escorts, BISP headquarters, NADRA verification, the desk-based "
        "dynamic registry. Unit costs are planning assumptions built from census 2023 pay and "
        "vehicle hire and a CAPI tablet price (data/nser_update_costs.csv gives each basis, "
        "source and confidence).",
    ]


def check_reconciles(result: dict) -> None:
    """Raise AssertionError unless the costing adds up exactly at every level.

    Districts add up to each province's ``districts_pkr``; each province's ``districts_pkr +
    province_fixed_pkr`` is its ``total_pkr``; provinces add up to the totals; ``federal_pkr +
    provincial_pkr = total_pkr`` everywhere; contributions add up to the provincial total.
    """
    dist = pd.DataFrame(result["districts"])
    prov = pd.DataFrame(result["provinces"])
    tot = result["totals"]
    if len(dist):
        assert (dist.federal_pkr + dist.provincial_pkr == dist.total_pkr).all(), "district split"
        assert (dist.visit_pkr + dist.enumerator_pkr + dist.district_fixed_pkr == dist.total_pkr).all()
        by = dist.groupby("province_code").total_pkr.sum()
        for row in prov.itertuples():
            assert int(by.get(row.province_code, 0)) == row.districts_pkr, "districts -> province"
            assert row.districts_pkr + row.province_fixed_pkr == row.total_pkr, "province total"
            assert row.federal_pkr + row.provincial_pkr == row.total_pkr, "province split"
        assert int(dist.total_pkr.sum()) == tot["districts_pkr"], "districts -> totals"
    for c in ("total_pkr", "federal_pkr", "provincial_pkr", "districts_pkr", "province_fixed_pkr"):
        assert (int(prov[c].sum()) if len(prov) else 0) == tot.get(c, 0), f"provinces -> totals {c}"
    assert tot.get("federal_pkr", 0) + tot.get("provincial_pkr", 0) == tot.get("total_pkr", 0)
    paid = sum(c["amount_pkr"] for c in result["cost_sharing"]["contributions"])
    assert paid == tot.get("provincial_pkr", 0), "contributions -> provincial total"
