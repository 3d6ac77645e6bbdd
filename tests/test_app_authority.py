"""The disaster management authority's view (issue 15, item 5): the Response page
(:mod:`simulator.app.pages.authority`) and its pure figures (:mod:`simulator.plans.response`).

The page runs headless with streamlit.testing on the 20,000-household demo registry; the pure
functions on tiny hand-made plans whose answers are derived in the comments.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from app_pages import HOUSEHOLDS, app_env, goto, metrics, ok, run_app

from simulator import plans, scenario
from simulator.app import text
from simulator.app.pages import PAGES, ROLE_PAGES, pages_of
from simulator.plans import response

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "indus-flood-demo.yaml"


@pytest.fixture
def env(monkeypatch):
    """A small demo registry, the default (minister) role and no boundary file."""
    return app_env(monkeypatch)


@pytest.fixture
def authority(env):
    env.setenv("MADAD_ROLE", "authority")
    return env


@pytest.fixture(scope="module")
def demo_run():
    """The demo run computed without the app (the plan the page must show)."""
    return plans.run(scenario.load(DEMO), base=DEMO.parent, households=HOUSEHOLDS)


def frame_with(at, *columns: str) -> pd.DataFrame:
    """The page's table with all of ``columns`` (English labels)."""
    for df in at.dataframe:
        if set(columns) <= set(df.value.columns):
            return df.value
    raise AssertionError(f"no table with {columns}: {[list(d.value.columns) for d in at.dataframe]}")


# --- the page -------------------------------------------------------------------------------------


def test_authority_lands_on_response_with_tables_that_reconcile(authority, demo_run):
    at = run_app()
    ok(at)
    assert at.title[0].value == text.text("en", "page_authority")
    plan = demo_run.plan
    t = plan["totals"]
    shown = metrics(at)
    assert shown["Affected households"] == f"{t['affected_households']:,}"  # exact, not published
    assert shown["Affected people"] == f"{t['affected_people']:,}"
    assert shown["Displaced households"] == f"{t['displaced_households']:,}"
    assert shown["Households paid"] == f"{t['paid_households']:,}"

    districts = frame_with(at, "District", "Affected people", "Displaced households")
    tehsils = frame_with(at, "Tehsil", "Affected people")
    # districts: the plan's own rows, every affected one, adding up to the national totals
    for col, key in (("Affected households", "affected_households"), ("Affected people", "affected_people"),
                     ("Displaced households", "displaced_households"), ("Households paid", "paid_households"),
                     ("Amount (PKR)", "amount_pkr")):
        assert int(districts[col].sum()) == t[key], col
        assert int(tehsils[col].sum()) == t[key], col
    want = {d["district"]: d["affected_people"] for d in plan["districts"] if d["affected_households"]}
    assert dict(zip(districts["District"], districts["Affected people"].astype(int), strict=True)) == want
    # each district is the sum of its tehsils
    by_district = tehsils.groupby("District")[["Affected households", "Affected people", "Displaced households"]].sum()
    mine = districts.set_index("District")[["Affected households", "Affected people", "Displaced households"]]
    pd.testing.assert_frame_equal(by_district.sort_index().astype(int), mine.sort_index().astype(int),
                                  check_names=False)
    assert list(districts["Affected households"]) == sorted(districts["Affected households"], reverse=True)

    # the timeline: the delivery plan's instalments and each district's last day
    timeline = frame_with(at, "Instalment", "Starts on day", "Last day")
    section = plan["delivery"]
    for inst in section["instalments"]:
        rows = timeline[timeline["Instalment"] == inst["instalment"]]
        assert int(rows["Households"].sum()) == inst["households"]
        assert int(rows["Amount (PKR)"].sum()) == inst["amount_pkr"]
        assert int(rows["Last day"].max()) == inst["last_day"]
    last = timeline.groupby("District")["Last day"].max().to_dict()
    names = {d["district_id"]: d["district"] for d in plan["districts"]}
    assert last == {names[d["district_id"]]: d["last_day"] for d in section["districts"]
                    if d["last_day"] is not None}

    # the displaced rule, with its source
    assert any("2.5 m" in m.value and "displaced" in m.value for m in at.markdown)
    assert any("most severe tier" in c.value for c in at.caption)

    # the groups by district (the plan's groups block)
    if plan.get("groups"):
        groups = frame_with(at, "Female-headed, affected", "Children under five, paid")
        assert int(groups["Female-headed, affected"].sum()) == plan["groups"]["national"]["female_headed"]["affected"]


def test_authority_has_no_payout_list_and_no_registry_upload(authority):
    at = run_app("downloads")
    ok(at)
    keys = {b.key for b in at.get("download_button")}
    assert "download_csv" not in keys and "download_parquet" not in keys
    assert "download_xlsx" in keys
    goto(at, "scenario")
    ok(at)
    assert not [u for u in at.get("file_uploader") if u.key == "up_registry"]


def test_authority_navigation_lands_on_response_without_finance_pages():
    assert pages_of("authority")[0] == "authority"
    assert not {"financing", "compare"} & set(pages_of("authority"))
    assert set(pages_of("authority")) <= set(PAGES)
    assert pages_of("minister") == pages_of("planner") == PAGES
    assert pages_of("nobody") == ROLE_PAGES["minister"]


def test_minister_sees_the_response_page_published(env):
    at = run_app("authority")
    ok(at)
    assert at.title[0].value == text.text("en", "page_authority")
    assert any(c.value == text.text("en", "published_note") for c in at.caption)
    for df in at.dataframe:
        assert text.small_cells_shown(df.value, 10) == [], list(df.value.columns)
    assert not any("Last day" in df.value.columns for df in at.dataframe)  # no schedule from households


def test_response_page_in_urdu(authority):
    at = run_app()
    at.radio(key="lang").set_value("ur").run()
    ok(at)
    assert at.title[0].value == text.text("ur", "page_authority")


# --- the pure figures -----------------------------------------------------------------------------


def test_areas_keep_affected_rows_most_affected_first_and_hidden_cells():
    plan = {"districts": [
        {"district_id": "sd_dadu", "households": 100, "affected_households": 10, "affected_people": 61},
        {"district_id": "sd_thatta", "households": 50, "affected_households": 40, "affected_people": 200},
        {"district_id": "sd_badin", "households": 80, "affected_households": 0, "affected_people": 0},
        {"district_id": "sd_sujawal", "households": 9, "affected_households": None, "affected_people": None},
    ], "tehsils": [{"district_id": "ba_awaran", "tehsil_id": "ba_awaran__awaran", "affected_households": 3}]}
    got = response.areas(plan)
    # Badin (none affected) is left out; Sujawal's hidden count stays, after the counted ones
    assert list(got.district) == ["Thatta", "Dadu", "Sujawal"]
    assert list(got.province_code) == ["SD"] * 3
    assert got.affected_people.tolist() == [200, 61, None]
    assert got.displaced_households.tolist() == [None, None, None]  # not in the plan: hidden, not 0
    tehsils = response.areas(plan, "tehsil")
    assert tehsils.tehsil.tolist() == ["Awaran"] and tehsils.province_code.tolist() == ["BA"]
    with pytest.raises(ValueError, match="level 'province' is not one of"):
        response.areas(plan, "province")


def test_timeline_from_a_published_plan_splits_each_district_exactly():
    plan = {"instalments": [{"instalment": 1, "day": 0, "share": 0.5}, {"instalment": 2, "day": 30, "share": 0.5}],
            "districts": [{"district_id": "sd_dadu", "paid_households": 3, "amount_pkr": 25_001},
                          {"district_id": "sd_thatta", "paid_households": None, "amount_pkr": None},
                          {"district_id": "sd_badin", "paid_households": 0, "amount_pkr": 0}]}
    got = response.timeline(plan)
    assert tuple(got.columns) == response.TIMELINE_COLUMNS
    rows = {(r.instalment, r.district_id): r for r in got.itertuples()}
    # 25,001 in halves: floor(25,001 x 5,000 / 10,000) = 12,500 first, the last takes 12,501
    assert (rows[1, "sd_dadu"].amount_pkr, rows[2, "sd_dadu"].amount_pkr) == (12_500, 12_501)
    assert rows[2, "sd_dadu"].day == 30 and rows[1, "sd_dadu"].households == 3
    assert rows[1, "sd_thatta"].amount_pkr is None and rows[1, "sd_thatta"].households is None
    assert ("sd_badin" not in set(got.district_id)) and rows[1, "sd_dadu"].last_day is None


def test_timeline_from_households_follows_the_site_schedule():
    """Two sites: A pays 2 households a day from day 0, B 1 a day from day 3 (reopened).
    Instalments: half on day 0, half on day 10.

    A's households in registry order: rows 0, 1 (Dadu) and 2 (Thatta). Instalment 1: day 0 rows
    0-1, day 1 row 2; instalment 2 starts on max(10, 1 + 1) = 10: day 10 rows 0-1, day 11 row 2.
    B: row 3 stands for 2 households (Thatta): instalment 1 on days 3 and 4, instalment 2 on
    max(10, 4 + 1) = 10 and 11. Row 4 (Dadu) has no site: not scheduled; row 5 is not paid.

    Dadu: 2 households, 50 + 50 = 100 PKR per instalment, last days 0 and 10 (1 day each).
    Thatta: 1 + 2 = 3 households, 50 + 50 = 100 PKR, last days 4 (5 days) and 11 (2 days).
    """
    households = pd.DataFrame({
        "district_id": pd.Categorical(["sd_dadu", "sd_dadu", "sd_thatta", "sd_thatta", "sd_dadu", "sd_thatta"]),
        "site_id": pd.Categorical(["A", "A", "A", "B", None, "A"], categories=["B", "A"]),
        "amount_pkr": np.array([100, 100, 100, 100, 100, 0], np.int64),
        "weight": np.array([1, 1, 1, 2, 1, 1], np.int32),
    })
    plan = {"instalments": [{"instalment": 1, "day": 0, "share": 0.5}, {"instalment": 2, "day": 10, "share": 0.5}],
            "delivery": {"sites": [{"site_id": "A", "payments_per_day": 2, "reopen_day": 0},
                                   {"site_id": "B", "payments_per_day": 1, "reopen_day": 3}]}}
    got = response.timeline(plan, households)
    rows = {(r.instalment, r.district_id): (r.day, r.households, r.amount_pkr, r.last_day, r.days)
            for r in got.itertuples()}
    assert rows == {
        (1, "sd_dadu"): (0, 2, 100, 0, 1), (2, "sd_dadu"): (10, 2, 100, 10, 1),
        (1, "sd_thatta"): (0, 3, 100, 4, 5), (2, "sd_thatta"): (10, 3, 100, 11, 2),
    }
    assert set(got.province_code) == {"SD"}
    # without a delivery plan: every paid row of a district on the instalment's day (row 4 too)
    plain = response.timeline({"instalments": plan["instalments"]}, households.drop(columns="site_id"))
    plain_rows = {(r.instalment, r.district_id): (r.households, r.amount_pkr) for r in plain.itertuples()}
    assert plain_rows == {(1, "sd_dadu"): (3, 150), (2, "sd_dadu"): (3, 150),
                          (1, "sd_thatta"): (3, 100), (2, "sd_thatta"): (3, 100)}


def test_timeline_of_two_instalments_reconciles_with_the_delivery_plan():
    raw = scenario.load(DEMO).model_dump(mode="json", exclude_none=True)
    raw["policy"]["instalments"] = [{"share": 0.6, "day": 0}, {"share": 0.4, "day": 30}]
    raw.pop("ensemble", None)
    scn = scenario.Scenario.model_validate(raw)
    res = plans.run(scn, base=DEMO.parent, households=HOUSEHOLDS)
    got = response.timeline(res.plan, res.households)
    section = res.plan["delivery"]
    for inst in section["instalments"]:
        rows = got[got.instalment == inst["instalment"]]
        assert (int(rows.households.sum()), int(rows.amount_pkr.sum()), int(rows.last_day.max())) == \
            (inst["households"], inst["amount_pkr"], inst["last_day"])
        assert set(rows.day) == {inst["day"]}
    cash = pd.DataFrame(section["cash_per_day"]).groupby("instalment").cash_pkr.sum()
    assert got.groupby("instalment").amount_pkr.sum().to_dict() == cash.to_dict()
    assert got.groupby("district_id").last_day.max().to_dict() == \
        {d["district_id"]: d["last_day"] for d in section["districts"] if d["last_day"] is not None}


def test_displaced_rule_names_the_tier_of_each_hazard():
    demo = scenario.load(DEMO)
    assert response.displaced_rule(demo) == [
        {"hazard": "flood", "units": "", "function": None, "source": "tiers", "displaced": {"any": 2.5}}]
    cyclone = scenario.load(ROOT / "scenarios" / "biparjoy-cyclone-2023-style.yaml")
    rule = response.displaced_rule(cyclone)[0]
    # data/impact/functions.csv: cyclone_wind displaced from 32.9 m/s (kacha), 49.4 m/s (pakka)
    assert (rule["source"], rule["function"], rule["units"]) == ("impact", "cyclone_wind", "m/s")
    assert rule["displaced"] == {"kacha": 32.9, "pakka": 49.4}
    heat = scenario.load(ROOT / "scenarios" / "karachi-heatwave-2015-style.yaml")
    assert set(response.displaced_rule(heat)[0]["displaced"].values()) == {None}  # no displaced tier


def test_groups_by_district_only_when_the_plan_has_them():
    assert response.groups({"districts": []}) is None
    plan = {"groups": {"districts": [
        {"district_id": "sd_dadu", "province_code": "SD", "female_headed_affected": 4, "female_headed_paid": 1,
         "disability_affected": 0, "disability_paid": 0, "children_under5_affected": 7, "children_under5_paid": 2},
        {"district_id": "sd_badin", "province_code": "SD", "female_headed_affected": 0, "female_headed_paid": 0,
         "disability_affected": 0, "disability_paid": 0, "children_under5_affected": 0, "children_under5_paid": 0},
    ]}}
    got = response.groups(plan)
    assert got.district.tolist() == ["Dadu"]  # Badin has nobody in any group
    assert got.children_under5_affected.tolist() == [7]
