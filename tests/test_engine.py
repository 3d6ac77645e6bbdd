"""Targeting, payouts, cost-sharing and the plan: exact int64 money that reconciles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import financing, plan, runner, scenario
from simulator.errors import ScenarioError
from simulator.overlay import sample


def _scenario(**policy) -> scenario.Scenario:
    text = """
name: tiny
title: tiny
hazard:
  file: tiny.tif
  threshold: 0.5
policy:
  eligibility: {pmt_max: 32}
  transfer_pkr: 25000
cost_sharing: {rule: fixed, federal_share: 0.3333}
"""
    return scenario.parse(text)


def _households(raster5) -> pd.DataFrame:
    """Ten households on the 5x5 raster (values 10 r + c, nodata at (2, 2)), hand-placed."""
    from simulator import registry

    res = 1 / 120
    cells = [(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (3, 3), (4, 4), (4, 0), (0, 4), (9, 9)]
    rows = pd.DataFrame(
        {
            "household_id": [f"h{i}" for i in range(10)],
            "lon": [68.0 + (c + 0.5) * res for _, c in cells],
            "lat": [26.0 - (r + 0.5) * res for r, _ in cells],
            "district_id": ["sd_hyderabad"] * 5 + ["sd_thatta"] * 5,
            "hh_size": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
            "pmt_score": [10, 40, 20, 32, 5, 31, 33, 0, 12, 1],
        }
    )
    return registry.validate(rows, source="ten").households


def test_ten_households_by_hand(raster5):
    scn = _scenario()
    hh = _households(raster5)
    result = runner.compute(scn, hh, raster5)
    # intensities: 0, 1, 10, 11, nodata, 33, 44, 40, 4, outside
    # affected (>= 0.5): h1..h3, h5..h8; eligible (pmt <= 32): h0, h2, h3, h4, h5, h7, h8, h9
    assert result.affected.tolist() == [False, True, True, True, False, True, True, True, True, False]
    assert result.status.tolist() == [
        "not_affected", "not_eligible", "paid", "paid", "no_hazard_data",
        "paid", "not_eligible", "paid", "paid", "outside_area",
    ]
    assert result.amount_pkr.dtype == np.int64
    assert result.amount_pkr.tolist() == [0, 0, 25000, 25000, 0, 25000, 0, 25000, 25000, 0]
    # federal = floor(25000 * 3333 / 10000) = 8332 (8332.5 rounded down); province pays 16668
    assert set(result.federal_pkr[result.amount_pkr > 0]) == {8332}
    assert set(result.provincial_pkr[result.amount_pkr > 0]) == {16668}

    p = plan.build(result, scenario={}, registry_report={}, assumptions=[])
    assert p["totals"]["paid_households"] == 5
    assert p["totals"]["amount_pkr"] == 125_000
    assert p["totals"]["affected_people"] == 2 + 3 + 4 + 6 + 7 + 8 + 9
    by = {d["district_id"]: d for d in p["districts"]}
    assert by["sd_hyderabad"]["amount_pkr"] == 50_000
    assert by["sd_thatta"]["amount_pkr"] == 75_000
    assert by["sd_thatta"]["federal_pkr"] == 3 * 8332


@settings(max_examples=60, deadline=None)
@given(
    amounts=st.lists(st.integers(0, 10**9), min_size=1, max_size=300),
    share=st.floats(0, 1),
    districts=st.lists(st.integers(0, 135), min_size=300, max_size=300),
)
def test_split_reconciles_at_every_level(amounts, share, districts):
    amount = np.array(amounts, dtype=np.int64)
    federal, provincial = financing.split_fixed(amount, federal_share=share)
    assert federal.dtype == np.int64 and provincial.dtype == np.int64
    assert (federal + provincial == amount).all()
    assert (federal >= 0).all() and (provincial >= 0).all()
    codes = np.array(districts[: len(amount)])
    sums = [plan.group_sum(codes, x, 136) for x in (amount, federal, provincial)]
    assert (sums[1] + sums[2] == sums[0]).all()
    assert sums[0].sum() == amount.sum()


def test_group_sum_exact_beyond_float():
    big = np.array([2**53, 1, 1], dtype=np.int64)
    assert plan.group_sum(np.array([0, 0, 0]), big, 1)[0] == 2**53 + 2


def test_federal_share_out_of_range():
    with pytest.raises(ScenarioError, match=r"federal_share must lie in \[0, 1\]"):
        financing.split_fixed(np.array([1]), federal_share=1.5)


def test_demo_run_reconciles_and_is_reproducible(demo_scenario_path):
    scn = scenario.load(demo_scenario_path)
    a = runner.run(scn, households=30_000)
    b = runner.run(scn, households=30_000)
    pd.testing.assert_frame_equal(a.households, b.households)
    assert a.plan == b.plan
    t = a.plan["totals"]
    assert t["amount_pkr"] == int(a.households.amount_pkr.sum())
    assert t["federal_pkr"] + t["provincial_pkr"] == t["amount_pkr"]
    assert sum(p["amount_pkr"] for p in a.plan["provinces"]) == t["amount_pkr"]
    assert sum(d["amount_pkr"] for d in a.plan["districts"]) == t["amount_pkr"]
    assert t["paid_households"] * 25_000 == t["amount_pkr"]
    assert t["affected_households"] > 0 and t["paid_households"] > 0
    # the flood is along the lower Indus: Sindh carries most of it
    by = {p["province_code"]: p for p in a.plan["provinces"]}
    assert by["SD"]["affected_households"] > by["PB"]["affected_households"] > 0
    assert by["BA"]["affected_households"] + by["KP"]["affected_households"] <= by["SD"]["affected_households"] / 5
    # paid but not affected must be zero
    assert not (a.households.amount_pkr.gt(0) & ~a.households.affected).any()
    # every paid household's intensity equals the raster at its location
    intensity, _ = sample(a.hazard, *_lonlat(scn, 30_000))
    np.testing.assert_array_equal(intensity, a.households.intensity.to_numpy())


def _lonlat(scn, n):
    reg, _ = runner.load_registry(scn, households=n)
    return reg.households.lon.to_numpy(), reg.households.lat.to_numpy()
