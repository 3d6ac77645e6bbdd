"""The payout engine: hand-computed cases for every rule, and property tests for the invariants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hazards.errors import ScenarioError
from hazards.sampling import sample
from simulator import engine, plans, registry, scenario
from simulator.engine import financing, payouts
from simulator.plans import build as plan

RES = 1 / 120
#: Ten households on the 5x5 raster (values 10 r + c, nodata at (2, 2)); (9, 9) is outside.
CELLS = [(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (3, 3), (4, 4), (4, 0), (0, 4), (9, 9)]
# intensities:  0,     1,     10,    11,    nan,   33,    44,    40,    4,     outside


def _rows() -> pd.DataFrame:
    """The ten households as a raw registry table (before validation)."""
    return pd.DataFrame(
        {
            "household_id": [f"h{i}" for i in range(10)],
            "lon": [68.0 + (c + 0.5) * RES for _, c in CELLS],
            "lat": [26.0 - (r + 0.5) * RES for r, _ in CELLS],
            "district_id": ["sd_hyderabad"] * 5 + ["pb_lahore"] * 3 + ["is_islamabad"] * 2,
            "hh_size": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
            "pmt_score": [10, 40, 20, 32, 5, 31, 33, 0, 12, 1],
            "enrolled_kafaalat": [True, False, True, False, True, False, False, True, False, False],
        }
    )


def _households(**overrides) -> pd.DataFrame:
    rows = _rows()
    for key, value in overrides.items():
        rows[key] = value
    return registry.validate(rows, source="ten").households


def _scenario(policy: str, extra: str = "") -> scenario.Scenario:
    text = f"""
name: tiny
title: tiny
hazards:
  - file: tiny.tif
    tiers: {{affected: 0.5, severely_affected: 20, displaced: 40}}
policy:
{policy}
{extra}
"""
    return scenario.parse(text)


FLAT = """
  programmes:
    - name: relief
      owner: federal
      expansion: all_affected
      pmt_max: 32
      transfer: {by_tier_pkr: {affected: 25000}}
"""


def _run(scn, raster5, households=None):
    hh = _households() if households is None else households
    res, cols = plans.compute(scn, hh, raster5)
    table = plans.result_table(hh, res)
    p = plan.build(res, cols["district"].astype(np.int64), scn=scn, registry_report={}, assumptions=[])
    return table, p


def test_ten_households_by_hand(raster5):
    scn = _scenario(FLAT, "cost_sharing: {rule: fixed, federal_share: 0.3333}")
    table, p = _run(scn, raster5)
    assert table.tier.tolist() == [
        "none", "affected", "affected", "affected", "none",
        "severely_affected", "displaced", "displaced", "affected", "none",
    ]
    # affected: h1..h3, h5..h8; PMT <= 32: h0, h2, h3, h4, h5, h7, h8, h9
    assert table.status.tolist() == [
        "not_affected", "not_eligible", "paid", "paid", "no_hazard_data",
        "paid", "not_eligible", "paid", "paid", "outside_area",
    ]
    assert table.amount_pkr.dtype == np.int64
    assert table.amount_pkr.tolist() == [0, 0, 25000, 25000, 0, 25000, 0, 25000, 25000, 0]
    # federal = floor(25000 * 3333 / 10000) = 8332 (8332.5 rounded down); province pays 16668;
    # ICT (h8, Islamabad) is federal in full.
    assert table.federal_pkr.tolist() == [0, 0, 8332, 8332, 0, 8332, 0, 8332, 25000, 0]
    assert table.payer.tolist()[2] == "federal"
    t = p["totals"]
    assert t["paid_households"] == 5 and t["amount_pkr"] == 125_000
    assert t["affected_people"] == 2 + 3 + 4 + 6 + 7 + 8 + 9
    assert t["affected_poor_unpaid_households"] == 0  # h1 (40) and h6 (33) are above 32
    by = {d["district_id"]: d for d in p["districts"]}
    assert by["sd_hyderabad"]["amount_pkr"] == 50_000
    assert by["pb_lahore"]["federal_pkr"] == 2 * 8332
    assert by["is_islamabad"]["provincial_pkr"] == 0
    assert p["tiers"] == {"none": 3, "affected": 4, "severely_affected": 1, "displaced": 2}
    assert p["status_counts"]["outside_area"] == 1


def test_tier_amounts_size_floor_and_cap(raster5):
    policy = """
  programmes:
    - name: relief
      owner: federal
      expansion: all_affected
      transfer:
        by_tier_pkr: {affected: 10000, displaced: 30000}
        per_person_pkr: 1000
        floor_pkr: 12500
        cap_pkr: 36000
"""
    table, _ = _run(_scenario(policy), raster5)
    # affected: 10000 + 1000 n, floor 12500: h1 (n=2) 12500, h2 (3) 13000, h3 (4) 14000, h8 (9) 19000
    # severely affected inherits the affected amount: h5 (6) 16000
    # displaced: 30000 + 1000 n, cap 36000: h6 (7) 36000 (37000 capped), h7 (8) 36000
    assert table.amount_pkr.tolist() == [0, 12500, 13000, 14000, 0, 16000, 36000, 36000, 19000, 0]


def test_min_tier_categories_and_cutoffs_by_province(raster5):
    policy = """
  programmes:
    - name: displaced-only
      owner: provincial
      expansion: all_affected
      min_tier: displaced
      transfer: {by_tier_pkr: {affected: 5000}}
    - name: women
      owner: federal
      expansion: horizontal
      beneficiaries_of: [kafaalat]
      pmt_max: 20
      pmt_max_by_province: {PB: 35}
      category_pmt_max: {disability: 45}
      categories: [female_headed, disability]
      transfer: {by_tier_pkr: {affected: 7000}}
"""
    hh = _households(
        female_headed=[True, True, True, True, False, True, False, False, True, True],
        disability=[False, True, False, False, False, False, True, False, False, False],
    )
    table, p = _run(_scenario(policy, "cost_sharing: {rule: ownership}"), raster5, hh)
    # h0-h4 are in Sindh, h5-h7 in Punjab (Lahore), h8-h9 in Islamabad.
    # displaced-only: h6, h7 (provincial 5000; Punjab funds it under ownership).
    # women (not Kafaalat; female-headed or disabled; PMT <= 20, PB <= 35, disabled <= 45):
    #   h1 SD PMT 40 disabled -> yes (<= 45); h3 SD PMT 32 female -> no (> 20);
    #   h5 PB 31 female -> yes (<= 35); h6 PB 33 disabled -> yes; h8 IS 12 female -> yes.
    # dedup top_up (federal base): h6 gets federal 7000, provincial max(5000-7000, 0) = 0.
    assert table.amount_pkr.tolist() == [0, 7000, 0, 0, 0, 7000, 7000, 5000, 7000, 0]
    assert table.federal_pkr.tolist() == [0, 7000, 0, 0, 0, 7000, 7000, 0, 7000, 0]
    assert table.provincial_pkr.tolist() == [0, 0, 0, 0, 0, 0, 0, 5000, 0, 0]
    assert p["dedup"] == {"rule": "top_up", "overlap_households": 1, "savings_pkr": 5000,
                          "registry_duplicates_households": 0, "registry_duplicates_savings_pkr": 0}
    assert [x["entitled_households"] for x in p["programmes"]] == [2, 4]


VERTICAL_HORIZONTAL = """
  programmes:
    - name: kafaalat top-up
      owner: federal
      expansion: vertical
      beneficiaries_of: [kafaalat]
      transfer: {by_tier_pkr: {affected: 10000}}
    - name: temporary inclusion
      owner: federal
      expansion: horizontal
      beneficiaries_of: [kafaalat]
      pmt_max: 40
      transfer: {by_tier_pkr: {affected: 25000}}
    - name: sindh relief
      owner: provincial
      expansion: all_affected
      pmt_max: 40
      provinces: [SD]
      transfer: {by_tier_pkr: {affected: 20000}}
"""


@pytest.mark.parametrize(
    ("dedup", "amounts", "federal", "savings"),
    [
        # Sindh relief reaches h1, h2, h3 (the affected Sindh households with PMT <= 40).
        # top-up, federal base: h2 (Kafaalat) fed 10000 + prov 10000; h1, h3 fed 25000, prov 0;
        # h5, h6 (PB), h8 (IS) fed 25000; h7 (PB, Kafaalat) fed 10000.
        ("{rule: top_up, base: federal}", [0, 25000, 20000, 25000, 0, 25000, 25000, 10000, 25000, 0],
         [0, 25000, 10000, 25000, 0, 25000, 25000, 10000, 25000, 0], 10000 + 2 * 20000),
        # priority, federal first: the province's entitlement is removed wherever federal pays.
        ("{rule: priority, order: [federal, provincial]}", [0, 25000, 10000, 25000, 0, 25000, 25000, 10000, 25000, 0],
         [0, 25000, 10000, 25000, 0, 25000, 25000, 10000, 25000, 0], 3 * 20000),
        # priority, provincial first: Sindh's programme pays its 20000 to h1, h2, h3.
        ("{rule: priority, order: [provincial, federal]}", [0, 20000, 20000, 20000, 0, 25000, 25000, 10000, 25000, 0],
         [0, 0, 0, 0, 0, 25000, 25000, 10000, 25000, 0], 25000 + 10000 + 25000),
    ],
)
def test_vertical_horizontal_and_dedup(raster5, dedup, amounts, federal, savings):
    scn = _scenario(VERTICAL_HORIZONTAL, f"dedup: {dedup}\ncost_sharing: {{rule: ownership}}")
    table, p = _run(scn, raster5)
    assert table.amount_pkr.tolist() == amounts
    assert table.federal_pkr.tolist() == federal
    assert p["dedup"]["overlap_households"] == 3
    assert p["dedup"]["savings_pkr"] == savings
    assert p["totals"]["vertical_households"] == 2  # h2, h7
    assert p["totals"]["horizontal_households"] == 5  # h1, h3, h5, h6, h8
    # paid at most once: one row per household, never more than the largest entitlement
    assert table.household_id.is_unique
    assert table.amount_pkr.max() <= 25000


def test_budget_ceilings_priority_and_reasons(raster5):
    policy = """
  programmes:
    - name: relief
      owner: federal
      expansion: all_affected
      transfer: {by_tier_pkr: {affected: 10000, severely_affected: 20000, displaced: 30000}}
"""
    budget = "budget: {federal_pkr: 40000, provincial_pkr: {SD: 9000}}"
    scn = _scenario(policy, "cost_sharing: {rule: fixed, federal_share: 0.5}\n" + budget)
    table, p = _run(scn, raster5)
    # Entitled (half federal, half provincial): h1, h2, h3 (SD, affected, PMT 40, 20, 32)
    # 10000 each; h5 (PB, severe, 31) 20000; h6, h7 (PB, displaced, 33, 0) 30000 each;
    # h8 (IS, affected, 12) 10000, all federal.
    # Sindh's queue (PMT order): h2 5000 fits, h3 (10000 > 9000) is out and so is h1 after it.
    # Federal queue: h7 15000, h6 30000, h5 40000 fit; h8 (50000) is out and so is h2 after it.
    assert table.status.tolist() == [
        "not_affected", "over_budget", "over_budget", "over_budget", "no_hazard_data",
        "paid", "paid", "paid", "over_budget", "outside_area",
    ]
    assert table.federal_pkr.sum() == 40000
    assert p["budget"]["over_budget_households"] == 4
    assert p["budget"]["shortfall_pkr"] == 40000
    by = {d["district_id"]: d for d in p["districts"]}
    assert by["sd_hyderabad"]["budget_shortfall_pkr"] == 30000
    # affected, poor and unpaid: h2 (20), h3 (32), h8 (12)
    assert p["targeting"]["affected_poor_unpaid_households"] == 3

    tight = _scenario(policy, "budget: {federal_pkr: 25000}")
    table, p = _run(tight, raster5)
    # federal 50 %: queue h7 (15000), h6 (15000 -> 30000 > 25000: out), then everyone after.
    assert table.status[table.amount_pkr > 0].index.tolist() == [7]
    assert table.federal_pkr.sum() == 15000


def test_cost_sharing_key_contributions(raster5):
    scn = _scenario(FLAT, "cost_sharing: {rule: key, federal_share: 0.425, key: nfc7}")
    _, p = _run(scn, raster5)
    # paid: h2, h3 (SD), h5, h7 (PB), h8 (IS: federal). Provincial part per household:
    # 25000 - floor(25000 * 0.425) = 14375. SD pool 28750, PB pool 28750.
    assert p["totals"]["provincial_pkr"] == 4 * 14375
    rows = {(c["benefiting_province"], c["paying_province"]): c["amount_pkr"] for c in p["cost_sharing"]["contributions"]}
    sd = [rows[("SD", q)] for q in ("PB", "SD", "KP", "BA")]
    # 28750 x (51.74, 24.55, 14.62, 9.09) % = 14875.25, 7058.125, 4203.25, 2613.375: floors
    # add up to 28749 and the last rupee goes to the largest remainder (Balochistan's .375)
    assert sd == [14875, 7058, 4203, 2614]
    assert sum(v for (b, _), v in rows.items() if b == "PB") == 28750


def test_key_budget_keeps_each_province_within_ceiling(raster5):
    scn = _scenario(FLAT, "cost_sharing: {rule: key, federal_share: 0.5}\nbudget: {provincial_pkr: {BA: 3000}}")
    _, p = _run(scn, raster5)
    paying = {}
    for c in p["cost_sharing"]["contributions"]:
        paying[c["paying_province"]] = paying.get(c["paying_province"], 0) + c["amount_pkr"]
    assert paying.get("BA", 0) <= 3000
    assert p["budget"]["over_budget_households"] > 0


def test_instalments_split_exactly():
    amount = np.array([25000, 7, 0, 99999], dtype=np.int64)
    split = payouts.instalment_split(amount, [0.3333, 0.3333, 0.3334])
    assert (split.sum(axis=0) == amount).all()
    assert split[:, 0].tolist() == [8332, 8332, 8336]


def test_instalment_timeline_in_plan(raster5):
    scn = _scenario(FLAT + "  instalments: [{share: 0.5, day: 0}, {share: 0.5, day: 90}]\n")
    _, p = _run(scn, raster5)
    assert [i["amount_pkr"] for i in p["instalments"]] == [62500, 62500]
    assert [i["day"] for i in p["instalments"]] == [0, 90]


@pytest.mark.parametrize(
    ("policy", "match"),
    [
        ("  programmes: []", "at least 1 item"),
        ("  programmes:\n    - {name: a, owner: federal, expansion: vertical, transfer: {by_tier_pkr: {affected: 1}}}",
         "vertical expansion needs beneficiaries_of"),
        ("  programmes:\n    - {name: a, owner: federal, expansion: horizontal, transfer: {by_tier_pkr: {affected: 1}}}",
         "horizontal expansion needs pmt_max"),
        ("  programmes:\n    - {name: a, owner: federal, expansion: all_affected, transfer: {by_tier_pkr: {affected: 9, displaced: 1}}}",
         "must not fall as severity rises"),
        ("  programmes:\n    - {name: a, owner: federal, expansion: all_affected, transfer: {by_tier_pkr: {affected: 1}}}\n"
         "  instalments: [{share: 0.5}]", "instalment shares must add up to 1"),
    ],
)
def test_policy_errors(policy, match):
    with pytest.raises(ScenarioError, match=match):
        _scenario(policy)


def test_unknown_key_and_rule():
    with pytest.raises(ScenarioError, match=r"cost_sharing.key 'nfc9' is unknown; choose one of \['nfc7', 'population2023'\]"):
        financing.key_shares("nfc9")
    with pytest.raises(ScenarioError, match="cost_sharing.rule 'halves' is unknown"):
        financing.split(np.array([1]), np.array([1]), np.array([0]), rule="halves")


# --- properties ------------------------------------------------------------------------------

POLICY_ALL = VERTICAL_HORIZONTAL


@st.composite
def households_and_policy(draw):
    n = draw(st.integers(1, 60))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rows = pd.DataFrame(
        {
            "household_id": [f"x{i}" for i in range(n)],
            "lon": 68.0 + rng.uniform(0, 5 * RES, n),
            "lat": 26.0 - rng.uniform(0, 5 * RES, n),
            "district_id": rng.choice(["sd_hyderabad", "pb_lahore", "kp_peshawar", "ba_quetta", "is_islamabad"], n),
            "hh_size": rng.integers(1, 12, n),
            "pmt_score": rng.uniform(0, 60, n).round(2),
            "enrolled_kafaalat": rng.random(n) < 0.4,
            "female_headed": rng.random(n) < 0.3,
        }
    )
    rule = draw(st.sampled_from(["fixed", "ownership", "key"]))
    dedup = draw(st.sampled_from(["{rule: top_up}", "{rule: top_up, base: provincial}", "{rule: priority}"]))
    share = draw(st.floats(0, 1)).__round__(4)
    return rows, rule, dedup, share


def _layer(values):
    from affine import Affine

    from hazards.layer import make_layer

    return make_layer(np.asarray(values, np.float32).reshape(5, 5), Affine(RES, 0, 68.0, 0, -RES, 26.0),
                      "EPSG:4326", units="m", kind="riverine-flood", provenance={})


intensities = st.lists(st.floats(0, 60, allow_nan=False, width=32), min_size=25, max_size=25)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=households_and_policy(), values=intensities, bump=intensities,
       fed_cap=st.one_of(st.none(), st.integers(0, 300_000)), prov_cap=st.one_of(st.none(), st.integers(0, 200_000)))
def test_invariants(case, values, bump, fed_cap, prov_cap):
    rows, rule, dedup, share = case
    hh = registry.validate(rows, source="prop").households
    budget = {}
    if fed_cap is not None:
        budget["federal_pkr"] = fed_cap
    if prov_cap is not None:
        budget["provincial_pkr"] = {"SD": prov_cap, "PB": prov_cap}
    extra = f"dedup: {dedup}\ncost_sharing: {{rule: {rule}, federal_share: {share}}}\nbudget: {budget or {}}"
    scn = _scenario(POLICY_ALL, extra)
    table, p = _run(scn, _layer(values), hh)
    amount, fed, prov = (table[c].to_numpy() for c in ("amount_pkr", "federal_pkr", "provincial_pkr"))
    # money is int64, non-negative, and reconciles exactly at every level
    assert amount.dtype == fed.dtype == prov.dtype == np.int64
    assert (amount >= 0).all() and (fed >= 0).all() and (prov >= 0).all()
    assert (fed + prov == amount).all()
    t = p["totals"]
    assert t["amount_pkr"] == amount.sum() == sum(d["amount_pkr"] for d in p["provinces"])
    assert t["federal_pkr"] + t["provincial_pkr"] == t["amount_pkr"]
    assert sum(c["amount_pkr"] for c in p["cost_sharing"]["contributions"]) == t["provincial_pkr"]
    # nobody paid twice; nobody paid who is not affected; every unpaid household has a reason
    assert table.household_id.is_unique
    assert amount.max(initial=0) <= 25_000
    assert not ((amount > 0) & (table.tier == "none")).any()
    assert ((amount > 0) == (table.status == "paid")).all()
    # the budget is never exceeded
    if fed_cap is not None:
        assert fed.sum() <= fed_cap
    if prov_cap is not None and rule != "key":
        for code in ("SD", "PB"):
            assert prov[(table.province_code == code).to_numpy()].sum() <= prov_cap
    if prov_cap is not None and rule == "key":
        paying = {}
        for c in p["cost_sharing"]["contributions"]:
            paying[c["paying_province"]] = paying.get(c["paying_province"], 0) + c["amount_pkr"]
        assert paying.get("SD", 0) <= prov_cap and paying.get("PB", 0) <= prov_cap
    # with no ceiling, raising intensity never lowers any household's amount
    if fed_cap is None and prov_cap is None:
        higher = np.maximum(np.asarray(values), np.asarray(values) + np.asarray(bump))
        table2, _ = _run(scn, _layer(higher), hh)
        assert (table2.amount_pkr.to_numpy() >= amount).all()
    # the same inputs give identical output
    again, p_again = _run(scn, _layer(values), hh)
    pd.testing.assert_frame_equal(table, again)
    assert p == p_again


@settings(max_examples=60, deadline=None)
@given(
    amounts=st.lists(st.integers(0, 10**9), min_size=1, max_size=300),
    share=st.floats(0, 1),
    districts=st.lists(st.integers(0, 135), min_size=300, max_size=300),
)
def test_split_reconciles_at_every_level(amounts, share, districts):
    amount = np.array(amounts, dtype=np.int64)
    federal, provincial = financing.split_fixed(amount, federal_share=share)
    assert (federal + provincial == amount).all()
    codes = np.array(districts[: len(amount)])
    sums = [plan.group_sum(codes, x, 136) for x in (amount, federal, provincial)]
    assert (sums[1] + sums[2] == sums[0]).all()
    assert sums[0].sum() == amount.sum()


@given(total=st.integers(0, 10**12), shares=st.lists(st.floats(0.01, 1), min_size=1, max_size=6))
def test_largest_remainder_adds_up(total, shares):
    parts = financing.largest_remainder(total, np.array(shares))
    assert parts.sum() == total and (parts >= 0).all()


def test_group_sum_exact_beyond_float():
    big = np.array([2**53, 1, 1], dtype=np.int64)
    assert plan.group_sum(np.array([0, 0, 0]), big, 1)[0] == 2**53 + 2


@pytest.mark.parametrize("layout", ["spread", "one_group", "sorted"])
@pytest.mark.parametrize("weights", ["ones", "mostly_ones", "varied", "none"])
def test_group_sum_long_paths_equal_a_plain_sum(layout, weights):
    """Every path of group_sum over long arrays (sorted segments, one dominant code, weights
    nearly all 1, bincount) gives what np.add.at gives."""
    rng = np.random.default_rng(11)
    n = 200_000
    codes = {"spread": rng.integers(0, 7, n), "one_group": np.where(rng.random(n) < 0.95, 3, rng.integers(0, 7, n)),
             "sorted": np.sort(rng.integers(0, 7, n))}[layout].astype(np.int8)
    values = {"ones": np.ones(n, np.int64), "mostly_ones": np.where(rng.random(n) < 0.01, rng.integers(2, 90, n), 1),
              "varied": rng.integers(-(10**9), 10**9, n), "none": None}[weights]
    expected = np.zeros(7, np.int64)
    np.add.at(expected, codes.astype(np.int64), np.ones(n, np.int64) if values is None else values)
    assert np.array_equal(plan.group_sum(codes, values, 7), expected)


def test_tehsil_table_counts_every_weighted_row():
    """The tehsil table's households (every row's cell, by key) and affected figures (the
    affected rows' cells) against a pandas groupby of the same rows."""
    from simulator.plans.build import tehsil_table

    hh = registry.validate(registry.generate(20_000, seed=4), source="synthetic").households
    scn = scenario.load(Path(__file__).resolve().parents[1] / "scenarios" / "indus-flood-demo.yaml")
    layers, _ = plans.orchestrator.build_hazards(scn)
    cols = engine.household_columns(hh)
    cols["weight"] = np.where(np.arange(len(hh)) % 13 == 0, 5, 1).astype(np.int64)
    res, cols = plans.orchestrator.compute(scn, hh, layers, cols)
    tehsil = plans.orchestrator.result_rows(hh, res)["tehsil_id"]
    table = tehsil_table(res, cols["district"], tehsil)
    frame = pd.DataFrame({"district_id": hh["district_id"].cat.categories[cols["district"]].astype(str),
                          "tehsil_id": tehsil.astype(str).fillna("(unknown)").to_numpy(),
                          "households": res.weight, "affected": np.where(res.tier > 0, res.weight, 0)})
    expected = frame.groupby(["district_id", "tehsil_id"], sort=True)[["households", "affected"]].sum().reset_index()
    assert table.district_id.tolist() == expected.district_id.tolist()
    assert table.tehsil_id.tolist() == expected.tehsil_id.tolist()
    assert table.households.tolist() == expected.households.tolist()
    assert table.affected_households.tolist() == expected.affected.tolist()
    assert table.affected_households.sum() > 0


def test_federal_share_out_of_range():
    with pytest.raises(ScenarioError, match=r"federal_share must lie in \[0, 1\]"):
        financing.split_fixed(np.array([1]), federal_share=1.5)


def test_demo_run_reconciles_and_is_reproducible(demo_scenario_path):
    scn = scenario.load(demo_scenario_path)
    a = plans.run(scn, households=30_000)
    b = plans.run(scn, households=30_000)
    pd.testing.assert_frame_equal(a.households, b.households)
    assert a.plan == b.plan
    t = a.plan["totals"]
    assert t["amount_pkr"] == int(a.households.amount_pkr.sum())
    assert t["federal_pkr"] + t["provincial_pkr"] == t["amount_pkr"]
    assert sum(d["amount_pkr"] for d in a.plan["districts"]) == t["amount_pkr"]
    assert t["paid_households"] * 25_000 == t["amount_pkr"]
    by = {p["province_code"]: p for p in a.plan["provinces"]}
    assert by["SD"]["affected_households"] > by["PB"]["affected_households"] > 0
    assert a.plan["targeting"]["paid_not_affected_households"] == 0
    reg, _ = plans.load_registry(scn, households=30_000)
    intensity, _ = sample(a.hazard, reg.households.lon.to_numpy(), reg.households.lat.to_numpy())
    np.testing.assert_array_equal(intensity, a.households.intensity.to_numpy())


def test_provincial_registry_duplicates_removed(raster5, tmp_path):
    """A provincial registry (Punjab's) merged with the federal one: a record with the same
    pseudonym and a record linked by record linkage are removed as duplicates, their provincial
    enrolment carried to the federal record; a household only the province knows is paid by the
    provincial programme alone."""
    from hazards.io import write_geotiff

    write_geotiff(raster5, tmp_path / "tiny.tif")
    fed = _rows()
    fed.to_csv(tmp_path / "nser.csv", index=False)
    cells = [CELLS[5], CELLS[6], (1, 1), (0, 0)]
    pser = pd.DataFrame(
        {
            "household_id": ["h5", "pser-002", "pser-003", "pser-004"],
            "lon": [68.0 + (c + 0.5) * RES for _, c in cells],
            "lat": [26.0 - (r + 0.5) * RES for r, _ in cells],
            "district_id": ["pb_lahore", "pb_lahore", "pb_lahore", "sd_hyderabad"],
            "hh_size": [6, 7, 3, 2],
            "pmt_score": [31, 33, 20, 10],
            "enrolled_prov_uct": [True, True, True, True],
        }
    )
    pser.to_csv(tmp_path / "pser.csv", index=False)
    pd.DataFrame({"provincial_id": ["pser-002"], "federal_id": ["h6"], "score": [0.97]}).to_csv(
        tmp_path / "links.csv", index=False
    )
    scn = scenario.parse(
        """
name: merged
title: merged
registry:
  path: nser.csv
  provincial:
    - {province: PB, path: pser.csv, links: links.csv}
hazards:
  - {file: tiny.tif, tiers: {affected: 0.5, severely_affected: 20, displaced: 40}}
policy:
  programmes:
    - {name: relief, owner: federal, expansion: all_affected, pmt_max: 32, transfer: {by_tier_pkr: {affected: 25000}}}
    - {name: punjab top-up, owner: provincial, expansion: vertical, beneficiaries_of: [prov_uct],
       provinces: [PB], transfer: {by_tier_pkr: {affected: 10000}}}
cost_sharing: {rule: ownership}
"""
    )
    res = plans.run(scn, base=tmp_path)
    table = res.households.set_index("household_id")
    # h5: federal 25,000; its Punjab enrolment (from the PSER record) gives 10,000, removed by
    # top-up dedup (the federal base is larger). h6: PMT 33, federal no; Punjab 10,000 through
    # the linked record. pser-003: only Punjab knows it: 10,000. pser-004 is in Sindh:
    # quarantined as outside its registry's province.
    federal_rows = table[table.source == "federal"]
    assert federal_rows.loc["h5", "amount_pkr"] == 25000 and federal_rows.loc["h5", "provincial_pkr"] == 0
    assert federal_rows.loc["h6", "amount_pkr"] == 10000 and federal_rows.loc["h6", "provincial_pkr"] == 10000
    provincial_rows = res.households[res.households.source == "provincial"].set_index("household_id")
    assert provincial_rows.status.tolist() == ["duplicate", "duplicate", "paid"]
    assert provincial_rows.loc["pser-003", "amount_pkr"] == 10000
    p = res.plan
    assert p["dedup"]["registry_duplicates_households"] == 2
    assert p["dedup"]["registry_duplicates_savings_pkr"] == 20000
    assert p["totals"]["households"] == 11  # 10 federal + 1 only Punjab knows; duplicates not counted
    assert p["registry"]["reasons"]["outside_registry_province"] == 1
    assert p["totals"]["amount_pkr"] == 25000 * 5 + 10000 * 2  # federal: h2, h3, h5, h7, h8
    assert p["status_counts"]["duplicate"] == 2


def test_tehsil_aggregates_add_up_to_districts(raster5):
    """Where the registry gives tehsil codes, the plan has a tehsil table that sums to districts."""
    hh = _households(tehsil_id=["latifabad", "qasimabad", "latifabad", None, "qasimabad",
                                "model town", "model town", "cantt", None, None])
    scn = _scenario(FLAT)
    res, cols = plans.compute(scn, hh, raster5)
    p = plan.build(res, cols["district"].astype(np.int64), scn=scn, registry_report={}, assumptions=[],
                   tehsil=hh["tehsil_id"])
    tehsils = pd.DataFrame(p["tehsils"])
    by_district = tehsils.groupby("district_id")[["affected_households", "amount_pkr"]].sum()
    districts = pd.DataFrame(p["districts"]).set_index("district_id")
    for d in by_district.index:
        assert by_district.loc[d, "amount_pkr"] == districts.loc[d, "amount_pkr"]
        assert by_district.loc[d, "affected_households"] == districts.loc[d, "affected_households"]
    assert set(tehsils.tehsil_id) >= {"latifabad", "qasimabad", "(unknown)"}


def test_engine_reports_its_stages_and_keeps_no_clock(raster5):
    """``on_stage`` hears every stage once, in order, and changes nothing; the engine's modules
    import no clock (timing belongs to the orchestrator and the benchmarks)."""
    import ast
    from pathlib import Path

    from simulator import engine

    scn = _scenario(FLAT)
    cols = engine.household_columns(_households())
    seen: list[str] = []
    heard = engine.evaluate(scn, cols, [raster5], on_stage=seen.append)
    assert tuple(seen) == engine.STAGES
    quiet = engine.evaluate(scn, cols, [raster5])
    np.testing.assert_array_equal(heard.status, quiet.status)
    np.testing.assert_array_equal(heard.amount_pkr, quiet.amount_pkr)
    for path in Path(engine.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not names & {"time", "timeit"}, path.name
