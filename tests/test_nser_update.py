"""NSER update costing: a hand-computed two-district example, exact reconciliation under every rule."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from hazards import tables as data
from hazards.errors import DataFileError, ScenarioError
from simulator.plans import nser_update
from simulator.plans.nser_update import check_reconciles, cost_update


@pytest.fixture
def two_districts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "district_id": ["pb_one", "sd_two"],
            "district": ["One", "Two"],
            "province_code": ["PB", "SD"],
            "households_2023": [1000, 500],
            "urban_pct": [25.0, 50.0],
        }
    )


def _costs(*rows) -> pd.DataFrame:
    base = [
        ("visit", "household", "ALL", "urban", 100),
        ("visit", "household", "ALL", "rural", 200),
        ("remote", "household", "SD", "rural", 50),  # adds to SD rural visits only
        ("kit", "enumerator", "ALL", "ALL", 1000),
        ("office", "district", "ALL", "ALL", 10_000),
        ("unit", "province", "ALL", "ALL", 50_000),
        ("workload", "workload", "ALL", "urban", 100),
        ("workload", "workload", "ALL", "rural", 50),
        *rows,
    ]
    return pd.DataFrame(base, columns=["item", "level", "province_code", "area", "value"])


def test_two_districts_by_hand(two_districts):
    r = cost_update(coverage=0.5, rule="fixed", federal_share=1 / 3, districts=two_districts,
                    costs=_costs())
    d = {x["district_id"]: x for x in r["districts"]}
    # pb_one: 1000 x 0.5 = 500 visits, 25 % urban = 125 urban + 375 rural.
    #   visits 125 x 100 + 375 x 200 = 87,500; enumerators ceil(125/100 + 375/50) = ceil(8.75) = 9
    #   -> 9,000; district office 10,000; total 106,500. Federal share 0.3333 (basis points):
    #   106,500 x 3333 // 10,000 = 35,496.
    assert {k: d["pb_one"][k] for k in ("households_to_visit", "urban_visits", "rural_visits",
                                         "enumerators", "visit_pkr", "enumerator_pkr",
                                         "district_fixed_pkr", "total_pkr", "federal_pkr",
                                         "provincial_pkr")} == {
        "households_to_visit": 500, "urban_visits": 125, "rural_visits": 375, "enumerators": 9,
        "visit_pkr": 87_500, "enumerator_pkr": 9_000, "district_fixed_pkr": 10_000,
        "total_pkr": 106_500, "federal_pkr": 35_496, "provincial_pkr": 71_004,
    }
    # sd_two: 250 visits, 125 urban + 125 rural at 200 + 50: 12,500 + 31,250 = 43,750;
    #   enumerators ceil(1.25 + 2.5) = 4 -> 4,000; + 10,000 = 57,750; federal 19,248.
    assert (d["sd_two"]["rural_cost_per_household_pkr"], d["sd_two"]["visit_pkr"]) == (250, 43_750)
    assert (d["sd_two"]["enumerators"], d["sd_two"]["total_pkr"]) == (4, 57_750)
    assert (d["sd_two"]["federal_pkr"], d["sd_two"]["provincial_pkr"]) == (19_248, 38_502)
    p = {x["province_code"]: x for x in r["provinces"]}
    # Province units 50,000 each, federal 16,665.
    assert (p["PB"]["districts_pkr"], p["PB"]["province_fixed_pkr"], p["PB"]["total_pkr"]) == (
        106_500, 50_000, 156_500)
    assert (p["PB"]["federal_pkr"], p["PB"]["provincial_pkr"]) == (52_161, 104_339)
    assert (p["SD"]["federal_pkr"], p["SD"]["provincial_pkr"]) == (35_913, 71_837)
    assert r["totals"]["total_pkr"] == 264_250
    assert r["totals"]["federal_pkr"] + r["totals"]["provincial_pkr"] == 264_250
    # Under fixed, each province pays its own provincial part.
    assert (p["PB"]["pays_pkr"], p["SD"]["pays_pkr"]) == (104_339, 71_837)


def test_two_districts_key_rule_by_hand(two_districts):
    r = cost_update(coverage=0.5, rule="key", federal_share=0.5, key="nfc7",
                    districts=two_districts, costs=_costs())
    p = {x["province_code"]: x for x in r["provinces"]}
    # Provincial halves: PB 156,500 / 2 = 78,250; SD 107,750 / 2 = 53,875, pooled by NFC shares
    # 51.74 / 24.55 / 14.62 / 9.09 with largest remainders:
    #   PB's 78,250 -> 40,487 / 19,210 / 11,440 / 7,113; SD's 53,875 -> 27,875 / 13,226 / 7,877 / 4,897.
    assert (p["PB"]["provincial_pkr"], p["SD"]["provincial_pkr"]) == (78_250, 53_875)
    contributions = {(c["benefiting_province"], c["paying_province"]): c["amount_pkr"]
                     for c in r["cost_sharing"]["contributions"]}
    assert contributions == {
        ("PB", "PB"): 40_487, ("PB", "SD"): 19_210, ("PB", "KP"): 11_440, ("PB", "BA"): 7_113,
        ("SD", "PB"): 27_875, ("SD", "SD"): 13_226, ("SD", "KP"): 7_877, ("SD", "BA"): 4_897,
    }
    assert (p["PB"]["pays_pkr"], p["SD"]["pays_pkr"]) == (68_362, 32_436)
    assert r["cost_sharing"]["key"] == "nfc7"


def test_islamabad_is_federal(two_districts):
    isl = pd.DataFrame([{"district_id": "is_x", "district": "X", "province_code": "IS",
                         "households_2023": 100, "urban_pct": 100.0}])
    r = cost_update(districts=pd.concat([two_districts, isl]), costs=_costs(), rule="fixed")
    p = {x["province_code"]: x for x in r["provinces"]}
    assert p["IS"]["provincial_pkr"] == 0 and p["IS"]["federal_pkr"] == p["IS"]["total_pkr"] > 0


@pytest.mark.parametrize("rule", ["fixed", "key", "ownership"])
@pytest.mark.parametrize("key", ["nfc7", "population2023"])
def test_national_costing_reconciles_for_every_rule(rule, key):
    r = cost_update(rule=rule, key=key, federal_share=0.4)
    check_reconciles(r)
    tot = r["totals"]
    assert tot["households_to_visit"] == int(data.districts().households_2023.sum()) == 38_292_556
    assert tot["districts"] == 136 and len(r["provinces"]) == 5
    assert sum(x["total_pkr"] for x in r["districts"]) == tot["districts_pkr"]
    assert sum(x["total_pkr"] for x in r["provinces"]) == tot["total_pkr"]
    assert tot["federal_pkr"] + tot["provincial_pkr"] == tot["total_pkr"]
    assert sum(x["pays_pkr"] for x in r["provinces"]) == tot["provincial_pkr"]
    if rule == "ownership":
        assert tot["provincial_pkr"] == 0
    for row in r["districts"]:
        assert isinstance(row["total_pkr"], int)
    json.dumps(r)  # JSON-ready


def test_coverage_and_registry_households():
    full = cost_update()
    half = cost_update(coverage=0.5)
    assert half["totals"]["households_to_visit"] < full["totals"]["households_to_visit"]
    assert half["totals"]["total_pkr"] < full["totals"]["total_pkr"]
    given = cost_update(households={"sd_dadu": 12_345, "pb_lahore": 0})
    assert [d["district_id"] for d in given["districts"]] == ["sd_dadu"]
    assert given["households_source"] == "given"
    assert given["totals"]["households_to_visit"] == 12_345
    assert [p["province_code"] for p in given["provinces"]] == ["SD"]
    check_reconciles(given)
    none = cost_update(coverage=0.0)
    assert none["districts"] == [] and none["totals"]["total_pkr"] == 0


def test_default_costs_have_sources():
    items = nser_update.read_costs(data.data_dir() / "nser_update_costs.csv")
    assert set(items.level) == set(nser_update.LEVELS)
    assert (items.source.str.len() > 0).all() and (items.basis.str.len() > 0).all()
    unit = nser_update.unit_costs()
    assert list(unit.index) == ["PB", "SD", "KP", "BA", "IS"]
    assert (unit.rural_pkr > unit.urban_pkr).all()
    r = cost_update()
    assert r["cost_items"] and any("planning assumption" in a for a in r["assumptions"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rule": "equal"}, "rule 'equal' is unknown"),
        ({"rule": "key", "key": "nope"}, "key 'nope' is unknown"),
        ({"federal_share": 1.5}, r"federal_share must lie in \[0, 1\]"),
        ({"coverage": -0.1}, r"coverage must lie in \[0, 2\]"),
        ({"households": {"xx_nowhere": 5}}, "not in the district table"),
        ({"households": {"sd_dadu": -5}}, "whole number >= 0"),
        ({"households": {"sd_dadu": float("nan")}}, "whole number >= 0"),
        ({"households": {"sd_dadu": 2.5}}, "whole number >= 0"),
        ({"households": [1, 2]}, "must map district_id"),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(ScenarioError, match=match):
        cost_update(**kwargs)


@pytest.mark.parametrize(
    ("row", "match"),
    [
        (("x", "galaxy", "ALL", "ALL", 1), "level 'galaxy' is unknown"),
        (("x", "household", "GB", "ALL", 1), "province_code 'GB'"),
        (("x", "district", "ALL", "urban", 1), "do not depend on area"),
        (("x", "household", "ALL", "ALL", -1), "must be >= 0"),
        (("workload", "workload", "PB", "urban", 10), "2 workload rows match province PB"),
    ],
)
def test_bad_cost_tables(two_districts, row, match):
    with pytest.raises(DataFileError, match=match):
        cost_update(districts=two_districts, costs=_costs(row))


def test_missing_cost_file(tmp_path):
    with pytest.raises(DataFileError, match="missing"):
        nser_update.read_costs(tmp_path / "nope.csv")
