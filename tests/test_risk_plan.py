"""The risk section of a plan (simulator.plans.risk_plan) and the scenario's financing block, on a
hand-made 10-event, 8-year set: every figure derived by hand in the comments."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pandas as pd
import pytest

from hazards.errors import ScenarioError
from simulator import scenario as S
from simulator.plans import layers as L
from simulator.plans import risk_plan as RP

B = 10**9  # PKR 1 billion
N_YEARS = 8
# (event, year, hazard, province, federal PKR bn, provincial PKR bn); year 4 has no event.
ROWS = [
    (1, 1, "flood", "SD", 2, 2),                                     # E1 total 4
    (2, 2, "flood", "PB", 3, 3), (2, 2, "flood", "SD", 1, 1),       # E2 total 8   } year 2: aggregate 10,
    (3, 2, "heatwave", "SD", 1, 1),                                  # E3 total 2   } largest event 8
    (4, 3, "flood", "SD", 10, 10),                                   # E4 total 20
    (5, 5, "flood", "KP", 2, 2),                                     # E5 total 4
    (6, 6, "cyclone", "SD", 5, 5),                                   # E6 total 10  } year 6: 16
    (7, 6, "flood", "SD", 3, 3),                                     # E7 total 6   }
    (8, 7, "flood", "SD", 20, 20), (8, 7, "flood", "PB", 10, 10),   # E8 total 60
    (9, 8, "earthquake", "KP", 4, 4),                                # E9 total 8   } year 8: 10
    (10, 8, "earthquake", "IS", 2, 0),                               # E10 total 2  } (Islamabad: federal)
]
# Per year 1..8 [PKR bn]:
TOTAL = [4, 10, 20, 0, 4, 16, 60, 10]   # sum 124 -> AAL 15.5
FEDERAL = [2, 5, 10, 0, 2, 8, 30, 6]    # sum 63  -> AAL 7.875
SINDH = [2, 2, 10, 0, 0, 8, 20, 0]      # sum 42  -> AAL 5.25
# The Kotri index per event (NaN: the event has no flood depth there) and each event's year.
KOTRI = [1.0, 2.5, np.nan, 3.0, 0.5, 0.2, 1.5, 4.0, np.nan, np.nan]
EVENT_YEAR = [1, 2, 2, 3, 5, 6, 6, 7, 8, 8]


def _table(rows=ROWS) -> pd.DataFrame:
    return pd.DataFrame({
        "event_id": np.array([r[0] for r in rows], dtype=np.int64),
        "year": np.array([r[1] for r in rows], dtype=np.int64),
        "hazard": [r[2] for r in rows],
        "province_code": [r[3] for r in rows],
        "federal_pkr": np.array([r[4] * B for r in rows], dtype=np.int64),
        "provincial_pkr": np.array([r[5] * B for r in rows], dtype=np.int64),
        "households": np.full(len(rows), 1000, dtype=np.int64),
    })


def _financing_dict(**over) -> dict:
    block = {
        "return_periods": [2, 4, 5, 8, 10],
        "layers": [
            {"name": "Federal emergency fund", "kind": "fund", "payer": "federal", "limit_pkr": 10 * B},
            {"name": "Contingent credit", "kind": "contingent_credit", "payer": "federal", "order": 2,
             "attachment_pkr": 10 * B, "limit_pkr": 15 * B, "premium_multiple": 1.5},
            {"name": "Sindh reserve", "kind": "reserve", "payer": "SD", "limit_pkr": 5 * B},
            {"name": "Cat bond", "kind": "cat_bond", "payer": "total", "basis": "occurrence", "order": 2,
             "attachment_pkr": 15 * B, "limit_pkr": 30 * B, "share": 0.5, "premium_multiple": 2.5},
            {"name": "Provincial pool", "kind": "pool", "payer": "total", "attachment_pkr": 5 * B,
             "limit_pkr": 10 * B, "pool": {"key": "exposure", "federal_share": 0.5}},
        ],
        "triggers": [
            {"name": "Kotri depth", "threshold": 2.0, "payout_pkr": 5 * B, "need_threshold_pkr": 15 * B,
             "index": {"type": "point", "hazard": "riverine-flood", "lon": 68.37, "lat": 25.36}},
            {"name": "Sindh districts", "threshold": 0.3, "payout_pkr": 3 * B,
             "index": {"type": "district_share", "districts": ["sd_dadu", "sd_jamshoro"]}},
        ],
    }
    block.update(over)
    return block


@pytest.fixture
def financing() -> S.Financing:
    return S.Financing.model_validate(_financing_dict())


@pytest.fixture
def section(financing) -> dict:
    return RP.risk_section(_table(), N_YEARS, financing, trigger_index={"Kotri depth": KOTRI},
                           event_year=EVENT_YEAR, exposure_shares={"PB": 1, "SD": 3, "KP": 0, "BA": 0})


def _rp(entries, period):
    return next(e for e in entries if e["return_period_years"] == period)


# ---------------------------------------------------------------------------------------------
# Metrics and curves
# ---------------------------------------------------------------------------------------------


def test_metrics_by_hand(section):
    m = section["metrics"]
    assert section["n_years"] == N_YEARS and section["events"] == 10
    assert m["total"]["aal"]["aal_pkr"] == 124 * B // 8 == 15_500_000_000
    assert m["federal"]["aal"]["aal_pkr"] == 63 * B // 8 == 7_875_000_000
    assert m["SD"]["aal"]["aal_pkr"] == 42 * B // 8
    # the AAL interval: mean +- z s / sqrt(8), s the sample sd of the annual totals
    from scipy.stats import norm

    values = np.array(TOTAL, dtype=float) * B
    half = norm.ppf(0.95) * values.std(ddof=1) / np.sqrt(8)
    low, high = m["total"]["aal"]["ci_pkr"]
    assert low == pytest.approx(values.mean() - half, abs=1) and high == pytest.approx(values.mean() + half, abs=1)
    # totals ranked: 60 20 16 10 10 4 4 0. 1-in-8: rank 1 = 60; 1-in-4: rank 2 = 20; 1-in-2: rank 4 = 10;
    # 1-in-5: rank 1.6, linear in T between 1-in-4 (20) and 1-in-8 (60): 20 + (5-4)(60-20)/(8-4) = 30.
    aep = m["total"]["aep"]
    assert [_rp(aep, t)["loss_pkr"] for t in (2, 4, 5, 8)] == [10 * B, 20 * B, 30 * B, 60 * B]
    assert _rp(aep, 10)["loss_pkr"] is None  # beyond the 8 years of the set
    # OEP: the years' largest events 4 8 20 0 4 10 60 8, ranked 60 20 10 8 8 4 4 0: 1-in-2 = rank 4 = 8
    assert _rp(m["total"]["oep"], 2)["loss_pkr"] == 8 * B
    # federal ranked 30 10 8 6 5 2 2 0: 1-in-5 = 10 + (5-4)(30-10)/4 = 15
    assert _rp(m["federal"]["aep"], 5)["loss_pkr"] == 15 * B
    assert all(isinstance(_rp(aep, t)["loss_pkr"], int) for t in (2, 4, 5, 8))


def test_by_hazard(section):
    rows = {r["hazard"]: r for r in section["by_hazard"]}
    # floods: E1 4, E2 8, E4 20, E5 4, E7 6, E8 60 = 102 over 8 years = 12.75 bn
    assert rows["flood"]["events"] == 6 and rows["flood"]["aal_pkr"] == 12_750_000_000
    # earthquakes: E9 8 + E10 2 = 10 (federal 6, provincial 4) over 8 years
    assert rows["earthquake"]["aal_federal_pkr"] == 750_000_000
    assert rows["earthquake"]["aal_provincial_pkr"] == 500_000_000
    assert sum(r["aal_pkr"] for r in rows.values()) == 124 * B // 8


def test_curves_compact_and_exact_tail(section):
    c = section["curves"]["total"]["aep"]
    assert c["loss_pkr"] == [60 * B, 20 * B, 16 * B, 10 * B, 10 * B, 4 * B, 4 * B, 0]
    assert c["return_period_years"][0] == 8 and c["exceedance_probability"][-1] == 1
    # provinces together = total - federal per year: 2 5 10 0 2 8 30 4 ranked
    assert section["curves"]["provinces"]["aep"]["loss_pkr"][:2] == [30 * B, 10 * B]
    # a long set is thinned to at most 200 points, the 100 largest years kept exactly
    rng = np.random.default_rng(1)
    annual = np.where(rng.random(5000) < 0.3, rng.integers(1, 10**9, 5000), 0).astype(np.int64)
    thin = RP.compact_curve(annual)
    assert len(thin["rank"]) <= RP.CURVE_POINTS
    assert thin["loss_pkr"][:100] == sorted(annual.tolist(), reverse=True)[:100]
    assert thin["rank"][-1] == 5000 and 0 in thin["loss_pkr"]
    first_zero = int(np.flatnonzero(np.sort(annual)[::-1] == 0)[0]) + 1
    assert first_zero in thin["rank"]


def test_section_without_financing_is_json_ready():
    section = RP.risk_section(_table(), N_YEARS)
    assert {"metrics", "curves", "by_hazard"} <= set(section) and "layers" not in section
    assert _rp(section["metrics"]["total"]["aep"], 250)["loss_pkr"] is None  # the default periods
    text = json.dumps(section)
    assert "NaN" not in text


# ---------------------------------------------------------------------------------------------
# Layers, pools, retained
# ---------------------------------------------------------------------------------------------


def test_layers_by_hand(section):
    layers = {la["name"]: la for la in section["layers"]}
    fund = layers["Federal emergency fund"]
    # min(federal, 10) per year: 2 5 10 0 2 8 10 6 = 43 -> 5.375 bn a year; used in 7 of 8 years,
    # exhausted (federal >= 10) in years 3 and 7
    assert fund["expected_annual_cost_pkr"] == 5_375_000_000
    assert fund["p_attach"] == 0.875 and fund["p_exhaust"] == 0.25
    credit = layers["Contingent credit"]
    # band 10-25 of the federal loss: only year 7 (30): 15 -> 1.875 bn; premium x1.5 = 2.8125 bn
    assert credit["expected_annual_cost_pkr"] == 1_875_000_000
    assert credit["indicative_premium_pkr"] == 2_812_500_000
    assert credit["p_attach"] == credit["p_exhaust"] == 0.125
    cat = layers["Cat bond"]
    # per event, 50% of the band 15-45: E4 20 -> 2.5; E8 60 -> 15; 17.5 / 8 = 2.1875 bn
    assert cat["expected_annual_cost_pkr"] == 2_187_500_000
    assert cat["indicative_premium_pkr"] == 5_468_750_000
    assert (cat["p_attach"], cat["p_exhaust"]) == (0.25, 0.125)
    # Sindh reserve: min(Sindh, 5): 2 2 5 0 0 5 5 0 = 19 -> 2.375 bn
    assert layers["Sindh reserve"]["expected_annual_cost_pkr"] == 2_375_000_000


def test_pool_and_retained_by_hand(section):
    # the pool takes the band 5-15 of what the cat bond leaves of each year's total:
    # 4 10 17.5 0 4 16 45 10 -> 0 5 10 0 0 10 10 5 = 40 -> 5 bn a year; half federal (2.5 bn),
    # the rest by exposure PB 1 : SD 3 -> PB 0.625 bn, SD 1.875 bn
    (pool,) = section["pools"]
    assert pool["layer"] == "Provincial pool" and pool["key"] == "exposure"
    assert pool["expected_annual_cost_pkr"] == 5 * B
    assert pool["expected_annual_pkr"] == {"federal": 2_500_000_000, "PB": 625_000_000, "SD": 1_875_000_000,
                                           "KP": 0, "BA": 0}
    assert pool["max_annual_pkr"]["SD"] == 3_750_000_000  # 10 bn, half provincial, 3/4 Sindh
    kept = section["retained"]
    # federal keeps 30 - 10 - 15 = 5 in year 7, nothing otherwise: 0.625 bn
    assert kept["federal"]["retained_pkr"] == 625_000_000
    assert kept["federal"]["covered_pkr"] == 5_375_000_000 + 1_875_000_000
    # total keeps 124 - 17.5 - 40 = 66.5 over 8 years
    assert kept["total"]["retained_pkr"] == 8_312_500_000
    # a payer without layers keeps its AAL
    assert kept["KP"]["retained_pkr"] == kept["KP"]["aal_pkr"] == 750_000_000
    # 1-in-8 retained by the federal government: its largest kept year, 5 bn
    assert _rp(kept["federal"]["retained_return_periods"], 8)["loss_pkr"] == 5 * B


def test_trigger_by_hand(section):
    kotri, sindh = section["triggers"]
    # yearly maxima of the index: 1.0 2.5 3.0 - 0.5 1.5 4.0 -: >= 2 fires in years 2, 3 and 7;
    # need (total > 15 bn) in years 3, 6, 7: hits 3 and 7, a false alarm in 2, a miss in 6
    assert kotri["evaluated"] and kotri["fires"] == 3 and kotri["once_every_years"] == 2.67
    assert (kotri["hits"], kotri["false_alarms"], kotri["misses"]) == (2, 1, 1)
    assert kotri["released_pkr"] == 15 * B and kotri["index_units"] == "m"
    assert kotri["index"]["lon"] == 68.37
    assert not sindh["evaluated"] and sindh["index_units"] == "1"


def test_trigger_index_errors(financing):
    with pytest.raises(ScenarioError, match="no event_year"):
        RP.risk_section(_table(), N_YEARS, financing, trigger_index={"Kotri depth": [1.0, 2.0]},
                        exposure_shares={"SD": 1})
    with pytest.raises(ScenarioError, match="not triggers"):
        RP.risk_section(_table(), N_YEARS, financing, trigger_index={"Kotri": KOTRI}, event_year=EVENT_YEAR,
                        exposure_shares={"SD": 1})
    with pytest.raises(ScenarioError, match="exposure"):
        RP.risk_section(_table(), N_YEARS, financing)  # an exposure pool and no exposure


def test_section_is_json_ready_with_ints(section):
    text = json.dumps(section)
    assert json.loads(text)["layers"][0]["expected_annual_cost_pkr"] == section["layers"][0]["expected_annual_cost_pkr"]
    assert type(section["metrics"]["federal"]["max_annual_pkr"]) is int
    assert type(section["pools"][0]["expected_annual_pkr"]["SD"]) is int


# ---------------------------------------------------------------------------------------------
# Headline
# ---------------------------------------------------------------------------------------------


def test_headline(section):
    lines = RP.headline(section)
    text = "\n".join(lines)
    # the rarest reported period within the 8 years is 8 (there is no 1-in-100 year in the set)
    assert ("In an average year the federal government pays PKR 7.9 billion (90% interval "
            in text)
    assert "in a 1-in-8 year PKR 30.0 billion" in text
    assert "In an average year Sindh pays PKR 5.2 billion" in text
    assert "Punjab" in text and "Balochistan" not in text  # only provinces that pay
    assert any(line.startswith("Contingent credit") and "indicative premium PKR 2.8 billion" in line for line in lines)
    assert "Trigger Kotri depth (index >= 2 m, pays PKR 5.0 billion) fires once every 2.67 years; " \
           "1 false alarm(s), 1 miss(es) in the set" in text
    assert "Trigger Sindh districts: not evaluated" in text
    assert "After its layers the federal government still pays PKR 625 million in an average year (of PKR 7.9 billion)" in text
    assert RP.money(None) == "unbounded" and RP.money(12_000) == "PKR 12,000"


def test_headline_uses_1_in_100_when_the_set_is_long():
    rows = [(i + 1, 10 * i + 1, "flood", "SD", i + 1, i + 1) for i in range(20)]
    section = RP.risk_section(_table(rows), 200, None)
    lines = RP.headline(section)
    # 200 years: the 1-in-100 year is rank 2 of the annual losses: federal 1..20 bn -> 19 bn,
    # all governments 2..40 bn -> 38 bn
    assert "federal government pays PKR 1.1 billion" in lines[1]  # 210 bn / 200 years = 1.05 bn
    assert "in a 1-in-100 year PKR 19.0 billion" in lines[1]
    assert "in a 1-in-100 year PKR 38.0 billion" in lines[-1]


# ---------------------------------------------------------------------------------------------
# The financing block of a scenario file
# ---------------------------------------------------------------------------------------------

SCENARIO = """\
name: risk-test
title: Risk test
hazards:
  - name: flood
    kind: riverine-flood
    generator: {river: indus, return_period: 50}
    tiers: {affected: 0.5, severely_affected: 1.5}
policy:
  programmes:
    - name: relief
      owner: federal
      expansion: all_affected
      transfer: {by_tier_pkr: {affected: 25000}}
"""

FINANCING = """\
financing:
  return_periods: [10, 100]
  events:
    - generate: {kind: riverine-flood, events: 200, years: 1000, seed: 3, params: {river: indus}}
      hazard: flood
  layers:
    - {name: Sindh contingency reserve, kind: reserve, payer: SD, limit_pkr: 5000000000}
    - name: NFC pool
      kind: pool
      payer: total
      attachment_pkr: 10000000000
      limit_pkr: 40000000000
      pool: {key: nfc7, federal_share: 0.5}
  triggers:
    - name: Kotri depth
      threshold: 2.5
      payout_pkr: 10000000000
      index: {type: point, hazard: riverine-flood, lon: 68.37, lat: 25.36, radius_km: 5}
"""


def test_financing_block_parses():
    scn = S.parse(SCENARIO + FINANCING)
    fin = scn.financing
    assert fin.confidence == 0.90 and fin.return_periods == [10, 100]
    assert fin.events[0].generate.events == 200 and fin.events[0].hazard == "flood"
    programme = RP.to_layers(fin)
    assert [la.name for la in programme] == ["Sindh contingency reserve", "NFC pool"]  # by payer, order
    assert programme[1].pool.key == "nfc7" and programme[1].pool.federal_share == 0.5
    (trigger,) = RP.to_triggers(fin)
    assert trigger.index_units == "m" and trigger.payout_pkr == 10 * B
    assert S.parse(SCENARIO).financing is None  # optional
    assert "financing" in S.json_schema()["properties"]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        # money beyond the bound: the field and MAX_BUDGET_PKR are named
        (("limit_pkr: 5000000000", "limit_pkr: 5000000000000000000"),
         r"financing\.layers\.0\.limit_pkr: .*MAX_BUDGET_PKR"),
        # a district code in the wrong style: the field and the right code are named
        (("radius_km: 5}", "radius_km: 5}\n    - name: Dadu\n      threshold: 0.3\n      payout_pkr: 1\n"
                           "      index: {type: district_share, districts: [PK-SD-DADU]}"),
         r"financing\.triggers\.1\.index: .*'PK-SD-DADU' \(did you mean 'sd_dadu'\?\)"),
        # a point index without its latitude
        (("lon: 68.37, lat: 25.36, ", "lon: 68.37, "), r"financing\.triggers\.0\.index: .*needs lon and lat"),
        # a pool without its key
        (("pool: {key: nfc7, federal_share: 0.5}", "pool: {federal_share: 0.5}"),
         r"financing\.layers\.1\.pool\.key: Field required"),
        # two layers of one payer with one order: check_layers, naming the payer and order
        (("limit_pkr: 5000000000}", "limit_pkr: 5000000000}\n    - {name: Sindh fund, payer: SD, "
                                    "attachment_pkr: 5000000000}"),
         r"financing: .*layers: payer 'SD': order \[1\]"),
        # an unknown field, with the allowed ones listed
        (("radius_km: 5", "radius: 5"), r"financing\.triggers\.0\.index\.radius: unknown field; allowed here: .*radius_km"),
        # an event set naming no scenario hazard
        (("hazard: flood", "hazard: quake"), r"financing\.events\[0\]\.hazard 'quake'"),
    ],
)
def test_financing_errors_name_the_field(change, match):
    old, new = change
    assert old in FINANCING
    with pytest.raises(ScenarioError, match=match):
        S.parse(SCENARIO + FINANCING.replace(old, new))


def test_exposure_pool_needs_shares_at_run_time():
    fin = S.Financing.model_validate(_financing_dict())
    with pytest.raises(ScenarioError, match=r"financing\.layers\[4\] 'Provincial pool': pool: .*exposure"):
        RP.to_layers(fin)
    layers = RP.to_layers(fin, exposure_shares={"SD": 2.0, "PB": 1.0, "IS": 5.0})  # Islamabad has no share
    assert dict(next(la for la in layers if la.pool).pool.shares) == {"SD": 2.0, "PB": 1.0}


def test_demo_scenario_with_a_financing_block(root):
    text = (root / "scenarios" / "indus-flood-demo.yaml").read_text(encoding="utf-8")
    scn = S.parse(text + textwrap.dedent(FINANCING))
    assert scn.financing is not None and scn.delivery is not None


def test_parse_time_programme_checks_agree_with_check_layers():
    # the scenario model sits below the plans, so it repeats check_layers' programme checks to
    # name the file's line; both refuse Sindh layers whose shares add up to 0.6 + 0.5 over 5-10 bn
    bad = [{"name": "a", "payer": "SD", "limit_pkr": 10 * B, "share": 0.6},
           {"name": "b", "payer": "SD", "order": 2, "attachment_pkr": 5 * B, "share": 0.5}]
    message = r"payer 'SD', aggregate layers \['a', 'b'\] overlap at a loss of PKR 5,000,000,000"
    with pytest.raises(ValueError, match=message):
        S.Financing.model_validate({"layers": bad})
    layers = [L.Layer(**S.LayerSpec.model_validate(x).layer_terms()) for x in bad]
    with pytest.raises(ScenarioError, match=message):
        L.check_layers(layers)
    bad[1]["share"] = 0.4  # 0.6 + 0.4 = 1: both accept
    assert len(RP.to_layers(S.Financing.model_validate({"layers": bad}))) == 2
