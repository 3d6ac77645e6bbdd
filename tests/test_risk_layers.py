"""Risk layers, co-financing pools and triggers (simulator.plans.layers) on the hand-made
10-event, 10-year set of tests/test_risk_metrics.py, every figure derived by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_risk_metrics import AEP_TOTAL, N_YEARS, _table

from hazards.errors import ScenarioError
from simulator.engine import financing
from simulator.plans import layers as L
from simulator.plans import risk

# Event totals: E1 80 (y1), E2 200 (y3), E3 40 + E4 120 (y4), E5 50 (y5), E6 90 (y6),
# E7 400 + E8 30 (y7), E9 30 (y9), E10 10 (y10); annual totals 80 0 200 160 50 90 430 0 30 10.


def _programme(basis: str, pool: L.Pool | None = None) -> list[L.Layer]:
    """A reserve 0-100, a fund 100-300 at share 0.5, and an unlimited layer above 300."""
    return [
        L.Layer("reserve", "total", 0, 100, 1.0, order=1, basis=basis, kind="reserve"),
        L.Layer("fund", "total", 100, 200, 0.5, order=2, basis=basis, premium_multiple=2.0,
                kind="pool" if pool else "fund", pool=pool),
        L.Layer("credit", "total", 300, None, 1.0, order=3, basis=basis, premium_multiple=3.0,
                kind="contingent_credit"),
    ]


@pytest.fixture
def losses() -> risk.AnnualLosses:
    return risk.annual_losses(_table(), N_YEARS)


def test_layer_loss_floor():
    fund = L.Layer("f", "total", 100, 200, 0.5)
    # bands 0 0 1 3 150 200 200 -> half, floored: 0 0 0 1 75 100 100
    assert L.layer_loss([0, 100, 101, 103, 250, 300, 1000], fund).tolist() == [0, 0, 0, 1, 75, 100, 100]
    third = L.Layer("t", "total", 0, None, 1 / 3)  # 333,333 ppm
    assert L.layer_loss([100, 3_000_000], third).tolist() == [33, 999_999]


def test_aggregate_basis_by_hand(losses):
    res = L.apply_layers(losses, _programme("aggregate"))
    # reserve min(x, 100); fund floor(0.5 min(max(x - 100, 0), 200)); credit max(x - 300, 0)
    assert res.annual["reserve"].tolist() == [80, 0, 100, 100, 50, 90, 100, 0, 30, 10]
    assert res.annual["fund"].tolist() == [0, 0, 50, 30, 0, 0, 100, 0, 0, 0]
    assert res.annual["credit"].tolist() == [0, 0, 0, 0, 0, 0, 130, 0, 0, 0]
    # retained: y3 200 - 100 - 50; y4 160 - 100 - 30; y7 430 - 100 - 100 - 130
    assert res.retained["total"].tolist() == [0, 0, 50, 30, 0, 0, 100, 0, 0, 0]
    assert res.loss["total"].tolist() == AEP_TOTAL
    assert res.reconciles()
    by = {s["name"]: s for s in res.summary}
    assert by["reserve"]["expected_annual_cost_pkr"] == 56  # 560 / 10
    assert by["fund"]["expected_annual_cost_pkr"] == 18  # 180 / 10
    assert by["credit"]["expected_annual_cost_pkr"] == 13  # 130 / 10
    # P(attach): loss > attachment; P(exhaust): loss >= attachment + limit
    assert (by["reserve"]["p_attach"], by["reserve"]["p_exhaust"]) == (0.8, 0.3)  # y3 y4 y7 reach 100
    assert (by["fund"]["p_attach"], by["fund"]["p_exhaust"]) == (0.3, 0.1)  # only y7 reaches 300
    assert (by["credit"]["p_attach"], by["credit"]["p_exhaust"]) == (0.1, None)  # unlimited
    # indicative premium = expected loss x multiple: 18 x 2; 13 x 3; none without a multiple
    assert by["fund"]["indicative_premium_pkr"] == 36
    assert by["credit"]["indicative_premium_pkr"] == 39
    assert by["reserve"]["indicative_premium_pkr"] is None
    assert "not a quote" in by["fund"]["premium_basis"]
    out = res.to_dict()
    json.dumps(out)
    assert out["retained"] == {"total": 18}  # 180 / 10


def test_occurrence_basis_differs_in_two_event_year(losses):
    res = L.apply_layers(losses, _programme("occurrence"))
    # per event: reserve min(x, 100): 80 | 100 | 40 + 100 | 50 | 90 | 100 + 30 | 30 | 10
    assert res.annual["reserve"].tolist() == [80, 0, 100, 140, 50, 90, 130, 0, 30, 10]
    # fund: E2 200 -> 50; E4 120 -> 10; E7 400 -> 100
    assert res.annual["fund"].tolist() == [0, 0, 50, 10, 0, 0, 100, 0, 0, 0]
    assert res.annual["credit"].tolist() == [0, 0, 0, 0, 0, 0, 100, 0, 0, 0]  # E7 400 - 300
    assert res.retained["total"].tolist() == [0, 0, 50, 10, 0, 0, 100, 0, 0, 0]
    assert res.reconciles()
    agg = L.apply_layers(losses, _programme("aggregate"))
    # year 4 (events of 40 and 120): aggregate 100 / 30 / retained 30, occurrence 140 / 10 / 10
    assert (agg.annual.loc[4, "reserve"], agg.annual.loc[4, "fund"], agg.retained.loc[4, "total"]) == (100, 30, 30)
    assert (res.annual.loc[4, "reserve"], res.annual.loc[4, "fund"], res.retained.loc[4, "total"]) == (140, 10, 10)
    by = {s["name"]: s for s in res.summary}
    assert by["reserve"]["expected_annual_cost_pkr"] == 63  # 630 / 10
    assert by["fund"]["expected_annual_cost_pkr"] == 16
    assert by["reserve"]["p_exhaust"] == 0.3  # some event >= 100 in y3, y4 (E4), y7
    assert by["fund"]["p_exhaust"] == 0.1  # an event >= 300 only in y7


def test_occurrence_layers_inure_to_aggregate_layers(losses):
    """A payer with both: the per-event reserve first, the annual cover on what it leaves."""
    res = L.apply_layers(losses, [
        L.Layer("per_event", "total", 0, 100, 1.0, order=1, basis="occurrence", kind="reserve"),
        L.Layer("stop_loss", "total", 50, None, 1.0, order=2, basis="aggregate", kind="fund"),
    ])
    # net of the per-event reserve per year: y3 100, y4 20 (E4 120 - 100), y7 300 (E7 400 - 100)
    assert res.annual["stop_loss"].tolist() == [0, 0, 50, 0, 0, 0, 250, 0, 0, 0]
    assert res.retained["total"].tolist() == [0, 0, 50, 20, 0, 0, 50, 0, 0, 0]
    assert res.reconciles()


def test_pool_equal_and_nfc7_exact(losses):
    # equal over three provinces, no federal part: 50 -> 16.67 each; the two rupees left go to the
    # first two (ties to the first)
    split = L.pool_split([50], L.Pool("equal", provinces=("PB", "SD", "KP")))
    assert split.iloc[0].tolist() == [0, 17, 17, 16, 0]
    # nfc7 (PB 51.74, SD 24.55, KP 14.62, BA 9.09 %) of 101: floors 52 24 14 9 (99), remainders
    # .2574 .7955 .7662 .1809: the 2 left go to SD and KP
    split = L.pool_split([101], L.Pool("nfc7"))
    assert split.iloc[0].tolist() == [0, 52, 25, 15, 9]
    assert split.iloc[0, 1:].tolist() == financing.largest_remainder(101, financing.key_numerators("nfc7")[:4]).tolist()
    # federal 50 %: floor(50.5) = 50 federal; 51 by nfc7: floors 26 12 7 4 (49), remainders
    # .3874 .5205 .4562 .6359: BA and SD get one more
    split = L.pool_split([101], L.Pool("nfc7", federal_share=0.5))
    assert split.iloc[0].tolist() == [50, 26, 13, 7, 5]
    # the fund pooled: federal 20 %, the four provinces equally: 50 -> 10 + 4 x 10; 30 -> 6 + 4 x 6
    res = L.apply_layers(losses, _programme("aggregate", pool=L.Pool("equal", federal_share=0.2)))
    assert res.reconciles()
    fund = res.funding[res.funding.layer == "fund"].pivot(index="year", columns="funder", values="pkr")
    assert fund.loc[3].to_dict() == {"federal": 10, "PB": 10, "SD": 10, "KP": 10, "BA": 10}
    assert fund.loc[7].to_dict() == {"federal": 20, "PB": 20, "SD": 20, "KP": 20, "BA": 20}
    assert (fund.sum(axis=1) == res.annual["fund"]).all()
    summary = {s["name"]: s for s in res.summary}["fund"]["funding"]
    assert summary["key"] == "equal" and summary["expected_annual_pkr"]["federal"] == 4  # 36 / 10 -> 3.6 -> 4


def test_pool_population_and_exposure_sum_exactly():
    rng = np.random.default_rng(3)
    amounts = rng.integers(0, 10**12, 200)
    for pool in (L.Pool("population2023", federal_share=0.3),
                 L.Pool("exposure", shares={"PB": 120_000, "SD": 300_000, "BA": 7})):
        split = L.pool_split(amounts, pool)
        assert (split.sum(axis=1).to_numpy() == amounts).all()
        assert (split.to_numpy() >= 0).all()
    split = L.pool_split(amounts, L.Pool("exposure", shares={"SD": 1.0}))
    assert (split["SD"].to_numpy() == amounts).all()


def test_largest_remainder_many_matches_engine():
    rng = np.random.default_rng(11)
    totals = rng.integers(0, 10**15, 300)
    for weights in (financing.key_numerators("nfc7"), np.array([0.2, 0.3, 0.5]), np.array([1, 1, 1, 0])):
        many = L.largest_remainder_many(totals, weights)
        for i in range(0, 300, 37):  # a sample of rows against the engine's scalar helper
            assert many[i].tolist() == financing.largest_remainder(int(totals[i]), weights).tolist()
        assert (many.sum(axis=1) == totals).all()


def test_reconciles_on_a_random_set():
    rng = np.random.default_rng(5)
    n_events, n_years = 400, 300
    codes = np.array(["PB", "SD", "KP"])
    table = _table([(int(e), int(rng.integers(1, n_years + 1)), str(p), int(rng.integers(0, 500)),
                     int(rng.integers(0, 500))) for e in range(n_events) for p in codes[: 1 + e % 3]])
    table["year"] = table.groupby("event_id")["year"].transform("first")
    losses = risk.annual_losses(table, n_years)
    programme = [
        L.Layer("pb_res", "PB", 0, 200, 1.0, order=1, basis="occurrence", kind="reserve"),
        L.Layer("pb_cover", "PB", 200, 300, 0.37, order=2, basis="aggregate", kind="parametric_insurance"),
        L.Layer("fed", "federal", 150, None, 0.61, order=1, basis="aggregate", kind="pool",
                pool=L.Pool("nfc7", federal_share=0.5)),
        L.Layer("quota_a", "SD", 0, 500, 0.4, order=1, kind="fund"),
        L.Layer("quota_b", "SD", 0, 500, 0.6, order=2, kind="cat_bond"),
    ]
    res = L.apply_layers(losses, programme)
    assert res.reconciles()
    assert (res.retained.to_numpy() >= 0).all()


@pytest.mark.parametrize(
    ("layer", "match"),
    [
        (dict(limit_pkr=-5), r"layer 'x': limit_pkr -5 must be >= 1"),
        (dict(share=1.5), r"layer 'x': share 1.5 must lie in \(0, 1\]"),
        (dict(share=0), r"share 0 must lie in \(0, 1\]"),
        (dict(attachment_pkr=-1), "attachment_pkr -1 must be >= 0"),
        (dict(attachment_pkr=10.5), "must be a whole number of PKR"),
        (dict(payer="Punjab"), r"payer 'Punjab' is unknown; choose one of \['federal'"),
        (dict(basis="yearly"), r"basis 'yearly' is unknown; choose one of \['occurrence', 'aggregate'\]"),
        (dict(kind="bond"), "kind 'bond' is unknown"),
        (dict(premium_multiple=-1.0), "premium_multiple -1.0 must be a number >= 0"),
        (dict(kind="pool"), "kind 'pool' needs pool=Pool"),
        (dict(pool=L.Pool("gdp")), r"pool key 'gdp' is unknown; choose one of \['nfc7', 'population2023', 'exposure', 'equal'\]"),
        (dict(pool=L.Pool("exposure")), "key 'exposure' needs shares"),
        (dict(pool=L.Pool("nfc7", federal_share=1.2)), r"federal_share 1.2 must lie in \[0, 1\]"),
        (dict(pool=L.Pool("exposure", shares={"IS": 1.0})), r"shares name \['IS'\]"),
    ],
)
def test_bad_layer(losses, layer, match):
    with pytest.raises(ScenarioError, match=match):
        L.apply_layers(losses, [L.Layer(**{"name": "x", "payer": "total", **layer})])


def test_bad_programme(losses):
    with pytest.raises(ScenarioError, match="layer name 'a' is used twice"):
        L.check_layers([L.Layer("a", "PB"), L.Layer("a", "SD")])
    with pytest.raises(ScenarioError, match=r"payer 'PB': order \[1\] is given to more than one layer"):
        L.check_layers([L.Layer("a", "PB", 0, 10), L.Layer("b", "PB", 10, None)])
    with pytest.raises(ScenarioError, match=r"overlap at a loss of PKR 50 with shares adding up to 1.5 > 1"):
        L.check_layers([L.Layer("a", "PB", 0, 100, 1.0, order=1), L.Layer("b", "PB", 50, None, 0.5, order=2)])
    with pytest.raises(ScenarioError, match="pool key 'gdp' is unknown"):
        L.pool_split([10], L.Pool("gdp"))


def test_trigger_frequency_and_basis_risk(losses):
    # a district's flooded share per year; fires at >= 0.3 in years 1 3 6 7 10 (5 of 10)
    index = [0.3, 0.0, 0.5, 0.2, 0.1, 0.35, 0.8, 0.0, 0.05, 0.4]
    need = losses.annual("total")  # need: > 100 in years 3 (200), 4 (160), 7 (430)
    trig = L.Trigger("flood_share", 0.3, payout_pkr=50, index_units="1")
    out = L.evaluate_trigger(trig, index, need, need_threshold_pkr=100)
    assert (out["fires"], out["once_every_years"], out["need_years"]) == (5, 2.0, 3)
    assert (out["hits"], out["false_alarms"], out["misses"]) == (2, 3, 1)  # hits 3 7; alarms 1 6 10; miss 4
    assert out["hit_rate"] == round(2 / 3, 4) and out["false_alarm_ratio"] == 0.6
    assert (out["released_pkr"], out["released_per_year_pkr"], out["released_without_need_pkr"]) == (250, 25, 150)
    assert "once every 2 years" in out["text"]
    json.dumps(out)


def test_trigger_per_event_and_below(losses):
    # per event: year 4's two events (0.1, 0.45) reduce to their maximum 0.45 >= 0.3: it fires
    event_index = [0.3, 0.5, 0.1, 0.45, 0.1, 0.35, 0.8, 0.0, 0.05, 0.4]
    years = L.trigger_years(L.Trigger("q", 0.3, 50), event_index, losses.annual("total"),
                            need_threshold_pkr=100, event_year=losses.event_year)
    assert years["fires"].tolist() == [True, False, True, True, False, True, True, False, False, True]
    assert np.isnan(years.loc[2, "index"])  # no event in year 2
    # "<=": the year's minimum; year 4 min(0.1, 0.45) = 0.1 <= 0.1
    low = L.evaluate_trigger(L.Trigger("dry", 0.1, 7, direction="<="), event_index, losses.annual("total"),
                             need_threshold_pkr=100, event_year=losses.event_year)
    assert low["fires"] == 4  # years 4 (0.1), 5 (0.1), 7 (0.0), 9 (0.05)
    never = L.evaluate_trigger(L.Trigger("n", 9.0, 1), [0.0] * 10, losses.annual("total"), need_threshold_pkr=100)
    assert never["once_every_years"] is None and never["misses"] == 3 and never["false_alarm_ratio"] is None


def test_bad_trigger(losses):
    need = losses.annual("total")
    with pytest.raises(ScenarioError, match=r"direction '>' is unknown; choose one of \['>=', '<='\]"):
        L.evaluate_trigger(L.Trigger("t", 1.0, 5, direction=">"), [0.0] * 10, need, need_threshold_pkr=0)
    with pytest.raises(ScenarioError, match="the index has 3 values for 10 years"):
        L.evaluate_trigger(L.Trigger("t", 1.0, 5), [0.0] * 3, need, need_threshold_pkr=0)
    with pytest.raises(ScenarioError, match="payout_pkr -5 must be >= 0"):
        L.evaluate_trigger(L.Trigger("t", 1.0, -5), [0.0] * 10, need, need_threshold_pkr=0)
