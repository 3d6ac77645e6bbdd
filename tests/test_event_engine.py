"""The event engine (simulator.engine.events) against the household engine, event by event.

Every event's federal and provincial PKR and paid households by province must be identical to
``simulator.engine.evaluate`` on that event's footprint, for policies that exercise every step
(tiers, per-person transfers, federal and provincial programmes, dedup, cost-sharing rules,
budgets of each kind); under an impact function's ``share`` they must be the expectation.
"""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from hazards.errors import ScenarioError
from hazards.eventset import EventSet
from hazards.layer import make_layer
from simulator import engine, registry, scenario
from simulator.engine import evaluation, overlay
from simulator.engine import events as ev_engine

RES = 0.25
WEST, NORTH = 60.75, 37.25
SHAPE = (58, 70)


def _layers(n_events: int, seed: int, *, units: str = "m", kind: str = "riverine-flood", scale: float = 3.0):
    """Random footprints over Pakistan: blobs of depth, some events tiny, one empty."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    out = []
    for i in range(n_events):
        values = np.zeros(SHAPE, np.float32)
        if i != 3:  # event 3 touches no cell
            for _ in range(rng.integers(1, 4)):
                cy, cx = rng.integers(10, SHAPE[0] - 5), rng.integers(5, SHAPE[1] - 5)
                r = rng.uniform(2, 14)
                blob = scale * rng.uniform(0.3, 1.5) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
                values = np.maximum(values, blob.astype(np.float32))
            values[values < 0.05] = 0
        out.append(make_layer(values, Affine(RES, 0, WEST, 0, -RES, NORTH), "EPSG:4326", units=units, kind=kind,
                              provenance={"test": i}))
    return out


def _set(n_events=14, seed=1, **kw) -> EventSet:
    layers = _layers(n_events, seed, **kw)
    return EventSet.from_layers(layers, np.full(n_events, 1 / 20),
                                event_attrs={"year": np.arange(n_events) % 20})


@pytest.fixture(scope="module")
def cols():
    frame = registry.generate(6000, seed=11)
    hh = registry.validate(frame, source="test").households
    c = engine.household_columns(hh)
    rng = np.random.default_rng(2)
    # some provincial records, some of them duplicates of federal ones
    c["source"] = (rng.random(len(hh)) < 0.08).astype(np.int8)
    c["duplicate"] = (c["source"] == 1) & (rng.random(len(hh)) < 0.3)
    return c


HAZARD = "  - {kind: riverine-flood, file: x.tif, tiers: {affected: 0.3, severely_affected: 1.0, displaced: 2.0}}"
PROGRAMMES = """
    - {name: relief, owner: federal, expansion: all_affected, pmt_max: 32,
       transfer: {by_tier_pkr: {affected: 25000, severely_affected: 30000, displaced: 40000}, per_person_pkr: 1000, cap_pkr: 45000}}
    - {name: sindh top-up, owner: provincial, expansion: horizontal, pmt_max: 40, provinces: [SD, PB],
       transfer: {by_tier_pkr: {severely_affected: 15000}}}
    - {name: kafaalat vertical, owner: federal, expansion: vertical, beneficiaries_of: [kafaalat],
       transfer: {by_tier_pkr: {affected: 10000}}}
"""


def _scenario(extra: str = "", hazard: str = HAZARD, programmes: str = PROGRAMMES) -> scenario.Scenario:
    return scenario.parse(f"""
name: events
title: events
hazards:
{hazard}
policy:
  programmes:{programmes}
{extra}
""")


def _engine_figures(scn, cols, event_set, i):
    res = engine.evaluate(scn, cols, [event_set.footprint(i)])
    s = res.sub
    fed = np.bincount(s["province"], weights=s["federal_pkr"], minlength=5).astype(np.int64)
    prov = np.bincount(s["province"], weights=s["provincial_pkr"], minlength=5).astype(np.int64)
    paid = np.bincount(s["province"], weights=np.where(s["paid_pkr"] > 0, s["weight"], 0), minlength=5).astype(np.int64)
    return fed, prov, paid


POLICIES = {
    "fixed": "cost_sharing: {rule: fixed, federal_share: 0.37}",
    "ownership-priority": "cost_sharing: {rule: ownership}\ndedup: {rule: priority}",
    "key": "cost_sharing: {rule: key, key: nfc7, federal_share: 0.5}",
    "federal-budget": "cost_sharing: {rule: fixed, federal_share: 0.6}\nbudget: {federal_pkr: 900000000}",
    "provincial-budgets": "cost_sharing: {rule: ownership}\nbudget: {provincial_pkr: {SD: 40000000, PB: 20000000}}",
    "key-budget-pmt-first": ("cost_sharing: {rule: key, key: nfc7, federal_share: 0.5}\n"
                             "budget: {federal_pkr: 700000000, provincial_pkr: {SD: 300000000, PB: 300000000, "
                             "KP: 300000000, BA: 300000000}, priority: [pmt, severity]}"),
}


@pytest.mark.parametrize("policy", list(POLICIES))
def test_identical_to_the_household_engine(cols, policy):
    scn = _scenario(POLICIES[policy])
    es = _set()
    out = ev_engine.event_payouts(scn, cols, es)
    if "budget" in policy:
        assert out.exact.any() and not out.exact.all(), "the sample must mix events within and over ceilings"
    assert out.total_pkr.sum() > 0
    for i in range(es.n_events):
        fed, prov, paid = _engine_figures(scn, cols, es, i)
        assert out.federal_pkr[i].tolist() == fed.tolist(), (policy, i)
        assert out.provincial_pkr[i].tolist() == prov.tolist(), (policy, i)
        assert out.households[i].tolist() == paid.tolist(), (policy, i)
    assert out.total_pkr[3] == 0  # the empty event


def test_impact_function_by_tier_is_exact_with_housing(cols):
    scn = _scenario(hazard="  - {kind: riverine-flood, file: x.tif, impact: flood_depth_damage, affected: tier}")
    es = _set(seed=4)
    out = ev_engine.event_payouts(scn, cols, es)
    assert not out.expected
    for i in range(0, es.n_events, 3):
        fed, prov, paid = _engine_figures(scn, cols, es, i)
        assert out.federal_pkr[i].tolist() == fed.tolist()
        assert out.households[i].tolist() == paid.tolist()


def test_share_is_the_expectation(cols):
    scn = _scenario(hazard="  - {kind: riverine-flood, file: x.tif, impact: flood_depth_damage}")
    spec = scn.hazards[0]
    es = _set(seed=5)
    out = ev_engine.event_payouts(scn, cols, es)
    assert out.expected
    for i in range(es.n_events):
        _, tier, _, share = overlay.hazard_tiers(spec, es.footprint(i), cols)
        idx = np.flatnonzero((tier > 0) & ~cols["duplicate"])
        sub = evaluation._rows(cols, idx)
        money = ev_engine._money(scn, sub, tier[idx])
        expected_fed = np.bincount(sub["province"], weights=share[idx] * money["federal"], minlength=5)
        assert np.abs(out.federal_pkr[i] - expected_fed).max() <= 0.5 + 1e-6
        total = (out.federal_pkr[i] + out.provincial_pkr[i]).sum()
        assert total == out.total_pkr[i]  # reconciles exactly per event


def test_share_with_budget_uses_the_engines_draw(cols):
    scn = _scenario("budget: {federal_pkr: 300000000}",
                    hazard="  - {kind: riverine-flood, file: x.tif, impact: flood_depth_damage}")
    es = _set(seed=6)
    out = ev_engine.event_payouts(scn, cols, es)
    assert out.exact.any()
    for i in np.flatnonzero(out.exact)[:4]:
        fed, prov, paid = _engine_figures(scn, cols, es, i)
        assert out.federal_pkr[i].tolist() == fed.tolist()
        assert out.households[i].tolist() == paid.tolist()


def test_table_contract_and_years(cols):
    scn = _scenario()
    es = _set()
    out = ev_engine.event_payouts(scn, cols, es, id_offset=1000)
    table = out.table()
    from simulator.plans import risk

    clean = risk.validate_payout_table(table, 20)
    assert len(clean) == 5 * es.n_events
    assert table.event_id.min() == 1000 and table.year.min() == 1 and table.year.max() == 14
    assert int((table.federal_pkr + table.provincial_pkr).sum()) == int(out.total_pkr.sum())


def test_small_chunks_give_the_same_answer(cols, monkeypatch):
    scn = _scenario(POLICIES["key-budget-pmt-first"])
    es = _set()
    whole = ev_engine.event_payouts(scn, cols, es)
    monkeypatch.setattr(ev_engine, "CHUNK_VALUES", 500)
    monkeypatch.setattr(ev_engine, "CHUNK_PAIRS", 700)
    parts = ev_engine.event_payouts(scn, cols, es)
    assert (whole.federal_pkr == parts.federal_pkr).all() and (whole.households == parts.households).all()


def test_refusals(cols):
    es = _set()
    with pytest.raises(ScenarioError, match="no riverine-flood hazard"):
        ev_engine.event_payouts(_scenario(hazard="  - {kind: heatwave, file: x.tif, threshold: 40}"), cols, es)
    with pytest.raises(ScenarioError, match="above 0"):
        ev_engine.event_payouts(_scenario(hazard="  - {kind: riverine-flood, file: x.tif, threshold: 0}"), cols, es)
    no_year = EventSet.from_layers(_layers(2, 1), np.full(2, 0.5))
    with pytest.raises(ScenarioError, match="year"):
        ev_engine.event_payouts(_scenario(), cols, no_year)


def test_point_index_reads_the_cell_and_the_radius(cols):
    es = _set()
    lon, lat = 68.37, 25.36
    got = ev_engine.point_index(es, lon, lat)
    from hazards import sampling

    for i in range(es.n_events):
        value, _ = sampling.sample(es.footprint(i), np.array([lon]), np.array([lat]))
        assert got[i] == pytest.approx(float(value[0]))
    wide = ev_engine.point_index(es, lon, lat, radius_km=60)
    assert (wide >= got).all() and (wide > got).any()
    with pytest.raises(ScenarioError, match="outside"):
        ev_engine.point_index(es, 90.0, 25.0)


def test_district_share_index_counts_households(cols):
    scn = _scenario()
    spec = scn.hazards[0]
    es = _set()
    exp = ev_engine.exposure(scn, spec, cols, es)
    sindh = np.unique(cols["district"][cols["province"] == 1])[:6]
    got = ev_engine.district_share_index(es, exp, sindh, min_tier=1)
    inside = np.isin(cols["district"], sindh) & ~cols["duplicate"] & (es.cell_index(cols["lon"], cols["lat"]) >= 0)
    for i in range(es.n_events):
        _, tier, _, _ = overlay.hazard_tiers(spec, es.footprint(i), cols)
        w = cols["weight"]
        assert got[i] == pytest.approx(w[inside & (tier >= 1)].sum() / w[inside].sum())
    assert 0 <= got.min() and got.max() <= 1 and got.max() > 0


def test_row_prices_widen_past_int32(cols):
    """A row standing for many households is paid more than int32 holds: the cached prices
    widen to int64 and the event still matches the household engine."""
    heavy = dict(cols)
    heavy["weight"] = cols["weight"].copy()
    heavy["weight"][::50] = 200_000  # 25,000 PKR x 200,000 = 5e9 > 2**31
    scn = _scenario(POLICIES["fixed"])
    es = _set()
    out = ev_engine.event_payouts(scn, heavy, es)
    assert int(out.total_pkr.max()) > 2**31
    for i in np.argsort(-out.total_pkr)[:3]:
        fed, prov, paid = _engine_figures(scn, heavy, es, int(i))
        assert out.federal_pkr[i].tolist() == fed.tolist() and out.households[i].tolist() == paid.tolist()


CLASS_PROGRAMMES = """
    - {name: relief, owner: federal, expansion: all_affected, pmt_max: 32, pmt_max_by_province: {SD: 35.5},
       category_pmt_max: {female_headed: 45, disability: 50},
       transfer: {by_tier_pkr: {affected: 25000, severely_affected: 30000}, per_person_pkr: 1000,
                  floor_pkr: 27000, cap_pkr: 45000}}
    - {name: top-up, owner: provincial, expansion: horizontal, pmt_max: 40, provinces: [SD, PB],
       beneficiaries_of: [prov_uct], categories: [children_under_five, disability],
       transfer: {by_tier_pkr: {severely_affected: 15000}}}
    - {name: vertical, owner: federal, expansion: vertical, beneficiaries_of: [kafaalat, prov_cct],
       transfer: {by_tier_pkr: {affected: 10000}}}
"""


@pytest.mark.parametrize("policy", [*POLICIES, "categories"])
def test_money_classes_price_like_their_rows(cols, policy):
    """Every row priced through its class gets exactly what the engine's steps give it alone,
    at every tier, cut-offs hit exactly included."""
    c = dict(cols)
    c["pmt_score"] = cols["pmt_score"].copy()
    c["pmt_score"][::7] = np.float32(32.0)  # on a cut-off: pmt <= 32 holds
    c["pmt_score"][1::11] = np.float32(35.5)
    c["pmt_score"][2::13] = np.nextafter(np.float32(40.0), np.float32(41.0))  # just above one
    c["weight"] = np.ones_like(cols["weight"])  # a real registry's rows, and a few weighted
    c["weight"][::5] = 3
    scn = _scenario(POLICIES.get(policy, ""), programmes=CLASS_PROGRAMMES if policy == "categories"
                    else PROGRAMMES)
    prices = ev_engine.RowPrices(scn, c)
    rows = np.arange(len(c["weight"]))
    # rows fall into far fewer classes (a few thousand at most however large the registry)
    assert len(np.unique(prices.row_class)) < len(rows) / (2 if policy == "categories" else 5)
    for tier in (1, 2, 3):
        alone = ev_engine._money(scn, evaluation._rows(c, rows), np.full(len(rows), tier, np.int8))
        money = prices.classes(tier)
        federal, provincial, entitled = (money[k][prices.row_class[rows]]
                                         for k in ("federal", "provincial", "entitled"))
        assert federal.tolist() == alone["federal"].tolist(), (policy, tier)
        assert provincial.tolist() == alone["provincial"].tolist(), (policy, tier)
        assert entitled.tolist() == alone["entitled"].tolist(), (policy, tier)


def test_money_classes_without_one_code_are_the_same_partition(cols, monkeypatch):
    scn = _scenario(programmes=CLASS_PROGRAMMES)
    coded, _ = ev_engine.money_classes(scn, cols)
    monkeypatch.setattr(ev_engine, "MAX_CLASS_CODE", 1)
    tuples, rep = ev_engine.money_classes(scn, cols)
    # the same rows together: a one-to-one map between the two numberings
    pairs = np.unique(np.stack([coded, tuples]), axis=1)
    assert pairs.shape[1] == len(np.unique(coded)) == len(np.unique(tuples)) == len(rep)
    assert (tuples[rep] == np.arange(len(rep))).all()
