"""Risk metrics of an event set (simulator.plans.risk): a 10-event, 10-year set computed by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom, norm

from hazards.errors import ScenarioError
from simulator.plans import risk

# The hand-made set: 10 events over 10 years; year 4 and year 7 have two events each, years 2 and
# 8 have none. (event, year, province, federal PKR, provincial PKR)
ROWS = [
    (1, 1, "PB", 30, 30), (1, 1, "SD", 10, 10),  # event 1: total 80
    (2, 3, "SD", 100, 100),                      # event 2: total 200
    (3, 4, "PB", 20, 20),                        # event 3: total 40  } year 4: aggregate 160,
    (4, 4, "KP", 60, 60),                        # event 4: total 120 } largest event 120
    (5, 5, "BA", 25, 25),                        # event 5: total 50
    (6, 6, "PB", 45, 45),                        # event 6: total 90
    (7, 7, "PB", 150, 150), (7, 7, "SD", 50, 50),  # event 7: total 400 } year 7: aggregate 430,
    (8, 7, "SD", 15, 15),                          # event 8: total 30  } largest event 400
    (9, 9, "IS", 30, 0),                         # event 9: Islamabad, all federal: total 30
    (10, 10, "SD", 5, 5),                        # event 10: total 10
]
N_YEARS = 10
# Annual totals (years 1..10), aggregate (AEP basis) and largest event (OEP basis):
AEP_TOTAL = [80, 0, 200, 160, 50, 90, 430, 0, 30, 10]  # sum 1050
OEP_TOTAL = [80, 0, 200, 120, 50, 90, 400, 0, 30, 10]


def _table(rows=ROWS) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_id": np.array([r[0] for r in rows], dtype=np.int64),
            "year": np.array([r[1] for r in rows], dtype=np.int64),
            "hazard": ["flood"] * len(rows),
            "province_code": [r[2] for r in rows],
            "federal_pkr": np.array([r[3] for r in rows], dtype=np.int64),
            "provincial_pkr": np.array([r[4] for r in rows], dtype=np.int64),
            "households": np.ones(len(rows), dtype=np.int64),
        }
    )


@pytest.fixture
def losses() -> risk.AnnualLosses:
    return risk.annual_losses(_table(), N_YEARS)


def test_annual_losses_by_payer(losses):
    assert losses.annual("total").tolist() == AEP_TOTAL
    assert losses.annual("total", "oep").tolist() == OEP_TOTAL
    # federal per year: 40, 0, 100, 20+60, 25, 45, 150+50+15, 0, 30 (Islamabad), 5
    assert losses.annual("federal").tolist() == [40, 0, 100, 80, 25, 45, 215, 0, 30, 5]
    # federal OEP: year 4 max(20, 60); year 7 max(200, 15)
    assert losses.annual("federal", "oep").tolist() == [40, 0, 100, 60, 25, 45, 200, 0, 30, 5]
    assert losses.annual("PB").tolist() == [30, 0, 0, 20, 0, 45, 150, 0, 0, 0]
    assert losses.annual("SD").tolist() == [10, 0, 100, 0, 0, 0, 65, 0, 0, 5]
    assert losses.annual("SD", "oep").tolist() == [10, 0, 100, 0, 0, 0, 50, 0, 0, 5]
    assert losses.annual("IS").tolist() == [0] * 10
    # federal + provinces = total, every year
    agg = losses.frame()
    assert (agg[["federal", "PB", "SD", "KP", "BA", "IS"]].sum(axis=1) == agg["total"]).all()
    assert losses.event_id.tolist() == list(range(1, 11))
    assert losses.event_year.tolist() == [1, 3, 4, 4, 5, 6, 7, 7, 9, 10]


def test_aal_and_spread_by_hand(losses):
    res = risk.average_annual_loss(losses.annual("total"))
    assert res["aal_pkr"] == 105  # 1050 / 10
    # deviations from 105: -25 -105 95 55 -55 -15 325 -105 -75 -95; squares sum to 158,250
    std = math.sqrt(158_250 / 9)  # ddof 1: 132.60...
    se = std / math.sqrt(10)  # 41.93...
    assert res["std_pkr"] == round(std) == 133
    assert res["se_pkr"] == round(se) == 42
    z = norm.ppf(0.95)  # 1.6449: a 90 % two-sided interval
    assert res["ci_pkr"] == [round(105 - z * se), round(105 + z * se)] == [36, 174]
    assert res["cv"] == round(std / 105, 4)
    assert res["years_with_loss"] == 8
    # halves round up: PB 245 / 10 = 24.5 -> 25; BA 25 / 10 -> 3; federal 540 / 10 = 54
    assert risk.average_annual_loss(losses.annual("PB"))["aal_pkr"] == 25
    assert risk.average_annual_loss(losses.annual("BA"))["aal_pkr"] == 3
    assert risk.average_annual_loss(losses.annual("federal"))["aal_pkr"] == 54
    # an interval reaching below 0 is clipped at 0: KP has 60 in one year of ten
    assert risk.average_annual_loss(losses.annual("KP"))["ci_pkr"][0] == 0
    assert risk.average_annual_loss(losses.annual("IS"))["cv"] is None  # AAL 0


def test_return_period_losses_aep_and_oep(losses):
    # AEP ranked: 430 200 160 90 80 50 30 10 0 0; OEP ranked: 400 200 120 90 80 50 30 10 0 0
    aep = {r["return_period_years"]: r for r in risk.return_period_losses(losses.annual("total"), (2, 4, 5, 10))}
    oep = {r["return_period_years"]: r for r in risk.return_period_losses(losses.annual("total", "oep"), (4, 5, 10))}
    assert aep[10]["loss_pkr"] == 430 and aep[10]["rank"] == 1  # k = 10 / 10
    assert aep[5]["loss_pkr"] == 200 and aep[5]["rank"] == 2  # k = 10 / 5
    assert aep[2]["loss_pkr"] == 80 and aep[2]["rank"] == 5
    assert oep[10]["loss_pkr"] == 400 and oep[5]["loss_pkr"] == 200
    assert not aep[5]["interpolated"] and aep[5]["exceedance_probability"] == 0.2
    # T = 4: k = 2.5, between rank 2 (T = 5) and rank 3 (T = 10/3), linear in T:
    # AEP 160 + (4 - 10/3) (200 - 160) / (5 - 10/3) = 160 + 16 = 176; OEP 120 + 32 = 152
    assert aep[4]["loss_pkr"] == 176 and aep[4]["interpolated"] and aep[4]["rank"] == 2.5
    assert oep[4]["loss_pkr"] == 152


def test_return_period_intervals_against_binomial(losses):
    asc = sorted(AEP_TOTAL)  # 0 0 10 30 50 80 90 160 200 430
    out = {r["return_period_years"]: r for r in risk.return_period_losses(losses.annual("total"), (2, 5, 10))}
    for t in (2, 5, 10):
        q = 1 - 1 / t
        cdf = binom.cdf(np.arange(11), 10, q)
        # r: largest with F(r-1) <= 0.05; s: smallest with F(s-1) >= 0.95 (ascending ranks)
        r = max(k + 1 for k in range(-1, 11) if (cdf[k] if k >= 0 else 0.0) <= 0.05)
        s = min(k + 1 for k in range(11) if cdf[k] >= 0.95)
        assert risk.order_statistic_interval(10, q, 0.90)[:2] == (r, s)
        lower = asc[r - 1] if r >= 1 else 0
        upper = asc[s - 1] if s <= 10 else None
        assert out[t]["ci_pkr"] == [lower, upper]
        coverage = cdf[s - 1] - (cdf[r - 1] if r >= 1 else 0.0)  # P(r <= B <= s - 1)
        assert out[t]["coverage"] == pytest.approx(coverage, abs=1e-6)
        assert coverage >= 0.90
    # By hand: T = 5 (q 0.8): F(5) = 0.0328 <= 0.05 < F(6) = 0.1209, so r = 6: X(6) = 80;
    # F(9) = 0.8926 < 0.95, so no upper order statistic: 10 years cannot bound the 1-in-5 loss.
    assert out[5]["ci_pkr"] == [80, None] and out[5]["note"]
    # T = 10 (q 0.9): F(6) = 0.0128 <= 0.05 < F(7) = 0.0702: r = 7, X(7) = 90
    assert out[10]["ci_pkr"] == [90, None]
    # T = 2 (q 0.5): F(1) = 0.0107, F(2) = 0.0547: r = 2 (X(2) = 0); F(7) = 0.9453, F(8) = 0.9893: s = 9
    assert out[2]["ci_pkr"] == [0, 200] and out[2]["ci_ranks"] == [9, 2]
    assert out[2]["coverage"] == pytest.approx(0.978516, abs=1e-6)


def test_return_period_beyond_the_set(losses):
    with pytest.raises(ScenarioError, match=r"T = 25 years exceeds the 10 years.*at least 25 years"):
        risk.return_period_losses(losses.annual("total"), (25,))
    with pytest.raises(ScenarioError, match="must be >= 1 year"):
        risk.return_period_losses(losses.annual("total"), (0.5,))
    row = risk.return_period_losses(losses.annual("total"), (100,), beyond_set="none")[0]
    assert row["loss_pkr"] is None and "exceeds the 10 years" in row["note"]


def test_exceedance_curves(losses):
    curve = risk.exceedance_curve(losses.annual("total"))
    assert curve["loss_pkr"].tolist() == [430, 200, 160, 90, 80, 50, 30, 10, 0, 0]
    assert curve["exceedance_probability"].tolist() == pytest.approx([i / 10 for i in range(1, 11)])
    assert curve["return_period_years"].tolist() == pytest.approx([10 / i for i in range(1, 11)])
    both = risk.exceedance_curves(losses)
    assert len(both) == 2 * len(risk.PAYERS) * 10
    oep = both[(both.payer == "total") & (both.basis == "oep")]
    assert oep["loss_pkr"].tolist() == [400, 200, 120, 90, 80, 50, 30, 10, 0, 0]
    fed = both[(both.payer == "federal") & (both.basis == "aep")]
    assert fed["loss_pkr"].tolist() == sorted([40, 0, 100, 80, 25, 45, 215, 0, 30, 5], reverse=True)


def test_risk_metrics_json_ready():
    out = risk.risk_metrics(_table(), N_YEARS)
    text = json.dumps(out)  # JSON-ready: plain ints, floats, None
    assert "Grossi" in text and out["basis"].startswith("Per payer")
    assert out["n_events"] == 10 and out["n_years"] == 10
    total = out["payers"]["total"]
    assert isinstance(total["aal"]["aal_pkr"], int) and total["aal"]["aal_pkr"] == 105
    by_t = {r["return_period_years"]: r for r in total["aep"]}
    assert by_t[5]["loss_pkr"] == 200 and by_t[10]["loss_pkr"] == 430
    assert by_t[25]["loss_pkr"] is None and "exceeds" in by_t[25]["note"]  # T > n_years: reported None
    assert {r["return_period_years"]: r["loss_pkr"] for r in total["oep"]}[10] == 400
    assert set(out["payers"]) == set(risk.PAYERS)


def test_empty_years_and_empty_table():
    empty = _table([])
    losses = risk.annual_losses(empty, 5)
    assert losses.aggregate.shape == (5, len(risk.PAYERS)) and not losses.aggregate.any()
    assert risk.average_annual_loss(losses.annual("total"))["aal_pkr"] == 0


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda t: t.drop(columns="provincial_pkr"), r"missing column\(s\) \['provincial_pkr'\]"),
        (lambda t: t.assign(federal_pkr=t.federal_pkr.where(t.event_id != 2, -1)),
         r"'federal_pkr' is negative at row 2 \(event_id 2"),
        (lambda t: t.assign(year=t.year.where(t.event_id != 10, 11)), r"year 11 .* outside 1..n_years = 1..10"),
        (lambda t: t.assign(year=t.year.where(t.event_id != 10, 0)), "outside 1..n_years"),
        (lambda t: pd.concat([t, t.iloc[[0]]]), r"\(event_id, province_code\) appears twice"),
        (lambda t: t.assign(provincial_pkr=t.provincial_pkr.astype(float)), r"'provincial_pkr' must hold integers"),
        (lambda t: t.assign(province_code=t.province_code.where(t.event_id != 5, "XX")), "province_code 'XX'"),
        (lambda t: t.assign(year=np.where((t.event_id == 1) & (t.province_code == "SD"), 2, t.year)),
         "event_id 1 is given more than one year"),
    ],
)
def test_bad_table(change, match):
    with pytest.raises(ScenarioError, match=match):
        risk.annual_losses(change(_table()), N_YEARS)


def test_bad_n_years_and_arguments(losses):
    with pytest.raises(ScenarioError, match="n_years 0 must be a whole number >= 1"):
        risk.annual_losses(_table(), 0)
    with pytest.raises(ScenarioError, match="confidence 1.5"):
        risk.average_annual_loss(losses.annual("total"), confidence=1.5)
    with pytest.raises(ScenarioError, match="payer 'Punjab' is unknown"):
        losses.annual("Punjab")
    with pytest.raises(ScenarioError, match="must be integer PKR"):
        risk.average_annual_loss(np.array([1.5, 2.0]))


def test_many_years_vectorized_matches_pandas():
    """A seeded 2,000-year set: the vectorized sums and maxima equal a plain pandas groupby."""
    rng = np.random.default_rng(7)
    n_events, n_years = 3_000, 2_000
    event_year = rng.integers(1, n_years + 1, n_events)
    rows = pd.DataFrame({"event_id": np.repeat(np.arange(n_events), 2),
                         "year": np.repeat(event_year, 2),
                         "hazard": "flood",
                         "province_code": np.tile(["PB", "SD"], n_events),
                         "federal_pkr": rng.integers(0, 10**9, 2 * n_events),
                         "provincial_pkr": rng.integers(0, 10**9, 2 * n_events),
                         "households": rng.integers(0, 1000, 2 * n_events)})
    losses = risk.annual_losses(rows, n_years)
    per_event = rows.assign(total=rows.federal_pkr + rows.provincial_pkr).groupby("event_id").agg(
        year=("year", "first"), total=("total", "sum"))
    agg = per_event.groupby("year")["total"].sum().reindex(range(1, n_years + 1), fill_value=0)
    top = per_event.groupby("year")["total"].max().reindex(range(1, n_years + 1), fill_value=0)
    assert (losses.annual("total") == agg.to_numpy()).all()
    assert (losses.annual("total", "oep") == top.to_numpy()).all()
    rp = risk.return_period_losses(losses.annual("total"), (250,))[0]
    assert rp["loss_pkr"] == int(np.sort(agg.to_numpy())[::-1][7])  # k = 2000 / 250 = 8
