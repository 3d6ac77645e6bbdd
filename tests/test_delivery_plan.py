"""The plan's delivery section: hand-computed closures, assignment and days; and the demo run
with a delivery block, its household columns, workbook sheets, brief and published form."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from affine import Affine

from hazards.layer import make_layer
from simulator import scenario as scenario_mod
from simulator.plans import delivery as dv
from simulator.plans import delivery_plan
from simulator.registry import sites as st


def _flood():
    """2x2 cells of 1 degree from 67 E, 26 N: 2 m of water in the north-west cell, dry elsewhere."""
    values = np.array([[2.0, 0.0], [0.0, 0.0]], dtype=np.float32)
    return make_layer(values, Affine(1.0, 0.0, 67.0, 0.0, -1.0, 26.0), "EPSG:4326", units="m",
                      kind="riverine-flood", provenance={"test": "delivery plan"})


def _sites(**extra):
    frame = pd.DataFrame({
        "site_id": ["A", "B", "C"], "kind": ["bisp_tehsil_office"] * 3, "lon": [67.5, 68.5, 67.5],
        "lat": [25.5, 25.5, 24.5], "services": ["payment;registration;complaints"] * 3,
        "operator": ["federal"] * 3, "payments_per_day": [10, 10, 10], "registrations_per_day": [5, 5, 5],
        "province_code": ["SD"] * 3, "district_id": ["sd_a", "sd_b", "sd_c"], **extra,
    })
    return st.validate(frame, source="test sites")


def _plan(n=25, spec=None, **kwargs):
    spec = spec or scenario_mod.Delivery(campsites=None)
    hazard = SimpleNamespace(label="flood", tier_thresholds=lambda: [0.1, 0.5, 1.5])
    args = dict(
        sites=_sites(), sites_input={"file": "test"}, layers=[_flood()], hazard_specs=[hazard],
        lon=np.full(n, 67.6), lat=np.full(n, 25.5), weight=np.ones(n, np.int64),
        amount_pkr=np.full(n, 1000, np.int64), federal_pkr=np.full(n, 500, np.int64),
        payer=np.full(n, 3, np.int8), tier=np.ones(n, np.int8), district=np.zeros(n, np.int64),
        district_ids=pd.Index(["sd_a"]), district_province=np.array(["SD"]),
        instalments=[scenario_mod.Instalment(share=1.0, day=0)],
    )
    args.update(kwargs)
    return delivery_plan.plan_delivery(spec, **args)


def test_flooded_site_closes_households_go_to_the_next_nearest_and_capacity_sets_days():
    done = _plan()
    d = done.section
    # A (2 m, tier 3 >= severely_affected) is closed for the response
    assert [s["site_id"] for s in d["closed_sites"]] == ["A"]
    assert d["closed_sites"][0]["reopen_day"] is None
    # each household 0.1 degree east of A goes to B (about 90 km), not C (about 111 km)
    assert set(done.columns()["site_id"].astype(str)) == {"B"}
    # 25 households at 10 a day: days 0, 1 and 2
    site_b = next(s for s in d["sites"] if s["site_id"] == "B")
    assert (site_b["households"], site_b["days"], site_b["last_day"]) == (25, 3, 2)
    assert d["totals"]["days_to_pay"] == 3
    # money reconciles: 25 x 1000, half federal
    assert (site_b["amount_pkr"], site_b["federal_pkr"], site_b["provincial_pkr"]) == (25_000, 12_500, 12_500)
    assert d["totals"]["scheduled_pkr"] + d["totals"]["unassigned_pkr"] == d["totals"]["paid_pkr"] == 25_000
    # about 90 km x 1.3 of travel: every household is beyond the 25 km limit
    expected = dv.great_circle_km([67.6], [25.5], [68.5], [25.5])[0] * 1.3
    assert done.travel_km == pytest.approx(np.full(25, expected), rel=1e-5)
    assert d["totals"]["beyond_limit_households"] == 25
    assert d["districts"][0]["within_25km"] == 0.0
    cash = pd.DataFrame(d["cash_per_day"])
    assert cash.households.tolist() == [10, 10, 5] and cash.cash_pkr.sum() == 25_000
    assert cash.staff_days.tolist() == [1, 1, 1]  # 100 payments per staff-day


def test_closure_for_days_keeps_the_site_and_delays_it():
    spec = scenario_mod.Delivery(campsites=None, closure={"tier": "severely_affected", "days": 4})
    done = _plan(spec=spec)
    d = done.section
    assert d["closed_sites"][0]["reopen_day"] == 4 and d["totals"]["sites_closed_for_days"] == 1
    site_a = next(s for s in d["sites"] if s["site_id"] == "A")
    # A is nearest and reopens on day 4: 25 households at 10 a day on days 4, 5 and 6
    assert (site_a["households"], site_a["last_day"]) == (25, 6)
    assert d["totals"]["days_to_pay"] == 7


def test_unpaid_rows_have_no_site_and_one_window_centres_report_both_governments():
    spec = scenario_mod.Delivery(campsites=None, one_window_centres=["B", "nowhere"])
    amount = np.r_[np.full(20, 1000), np.zeros(5)].astype(np.int64)
    payer = np.r_[np.full(10, 1), np.full(10, 2), np.zeros(5)].astype(np.int8)
    federal = np.where(payer == 1, amount, 0)
    done = _plan(spec=spec, amount_pkr=amount, payer=payer, federal_pkr=federal)
    cols = done.columns()
    assert cols["site_id"].isna().sum() == 5 and np.isnan(cols["travel_km"][20:]).all()
    (owc,) = done.section["one_window"]
    assert owc["site_id"] == "B"
    assert (owc["federal_payments"], owc["provincial_payments"]) == (10, 10)
    assert (owc["federal_pkr"], owc["provincial_pkr"]) == (10_000, 10_000)
    assert owc["complaints"] == 1  # 5 % of 20 payments
    assert any("nowhere" in note for note in done.section["notes"])


def test_registrations_follow_the_districts_unregistered_estimate():
    unregistered = {"districts": [{"district_id": "sd_a", "affected_unregistered_households": 50}]}
    done = _plan(unregistered=unregistered)
    site_b = next(s for s in done.section["sites"] if s["site_id"] == "B")
    assert site_b["registrations"] == 50
    assert done.section["totals"]["registrations"] == 50


def test_headline_says_days_and_closures():
    text = delivery_plan.headline(_plan().section)
    assert "paid within 3 days" in text and "1 of 3 sites closed" in text and "25 households more than 25 km" in text


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    from simulator.plans import orchestrator
    from simulator.publish.runfolder import write_run

    path = scenario_mod.load(delivery_plan_demo_path())
    scn = path.model_copy(update={"delivery": scenario_mod.Delivery(campsites=None), "ensemble": None})
    res = orchestrator.run(scn, households=20_000)
    out = tmp_path_factory.mktemp("delivery") / "run"
    write_run(res, out)
    return res, out


def delivery_plan_demo_path():
    from pathlib import Path

    return Path(__file__).resolve().parents[1] / "scenarios" / "indus-flood-demo.yaml"


def test_demo_run_reconciles_and_writes_the_delivery_products(demo_run):
    res, out = demo_run
    d = res.plan["delivery"]
    t = d["totals"]
    assert t["paid_households"] == res.plan["totals"]["paid_households"] > 0
    assert t["scheduled_pkr"] + t["unassigned_pkr"] == res.plan["totals"]["amount_pkr"]
    assert t["sites_closed"] > 0  # the 1-in-50 flood reaches tehsil offices on the Indus
    assert sum(p["households"] for p in d["provinces"]) == t["assigned_households"]
    assert sum(r["cash_pkr"] for r in d["cash_per_day"]) == t["scheduled_pkr"]
    table = pd.read_parquet(out / "households.parquet")
    paid = table.amount_pkr > 0
    assert table.loc[paid, "site_id"].notna().all() and table.loc[~paid, "site_id"].isna().all()
    assert set(table.site_id.dropna()) <= {s["site_id"] for s in d["sites"]}
    plan_json = json.loads((out / "plan.json").read_text())
    assert plan_json["delivery"]["totals"] == t
    import openpyxl

    names = openpyxl.load_workbook(out / "plan.xlsx", read_only=True).sheetnames
    assert {"delivery", "delivery-provinces", "delivery-sites", "delivery-cash-per-day"} <= set(names)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["inputs"]["sites"]["sha256"]


def test_published_delivery_withholds_site_and_day_tables(demo_run):
    from simulator.publish.disclosure.plan import DELIVERY_BASE, suppress_plan

    res, _ = demo_run
    published = suppress_plan(res.plan, k=10)["delivery"]
    assert published["districts"] == [] and published["cash_per_day"] == []
    assert len(published["sites"]) == len(res.plan["delivery"]["sites"])
    assert all(s["households"] is None and s["status"] for s in published["sites"])
    assert all(p["households"] % DELIVERY_BASE == 0 for p in published["provinces"])
    assert res.plan["delivery"]["sites"]  # the plan itself is untouched


def test_far_households_get_a_provincial_campsite_and_are_then_within_the_limit():
    # the 25 households are about 117 km of travel from B: one campsite among them pays them
    done = _plan(spec=scenario_mod.Delivery())
    d = done.section
    assert d["totals"]["campsites"] == 1 and d["totals"]["beyond_limit_households"] == 0
    (camp,) = d["campsites"]
    assert camp["province_code"] == "SD" and camp["demand_households"] == 25 and camp["beside_site"] is None
    assert set(done.columns()["site_id"].astype(str)) == {camp["campsite_id"]}
    row = next(s for s in d["sites"] if s["site_id"] == camp["campsite_id"])
    assert row["kind"] == "campsite" and row["operator"] == "provincial" and row["campsite_chosen"]
    # 25 households at a campsite's 500 a day: one day
    assert d["totals"]["days_to_pay"] == 1
    assert next(p for p in d["provinces"] if p["province_code"] == "SD")["campsites"] == 1
    assert "campsites needed (1 in Sindh)" in delivery_plan.headline(d)


def test_overloaded_site_gets_a_campsite_beside_it_that_adds_capacity():
    # 300 households next to B (5 km east), sites at 10 a day: B would take 30 days (> 14);
    # a campsite opens beside B, adding its capacity, and nobody travels farther
    n = 300
    done = _plan(n=n, spec=scenario_mod.Delivery(), lon=np.full(n, 68.55), lat=np.full(n, 25.5),
                 weight=np.ones(n, np.int64))
    d = done.section
    (camp,) = d["campsites"]
    assert camp["beside_site"] == "B" and camp["overload_households"] > 0
    site_b = next(s for s in d["sites"] if s["site_id"] == "B")
    assert site_b["campsite_payments_per_day"] == 500 and site_b["payments_per_day"] == 510
    assert site_b["households"] == n and d["totals"]["days_to_pay"] == 1  # 300 at 510 a day
