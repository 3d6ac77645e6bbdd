"""The app's Delivery page (simulator/app/pages/delivery.py) and its map layers
(simulator.app.deck): run headless with streamlit.testing on the 20,000-household demo registry,
for a planner and a minister, with the demo scenario given a ``delivery`` block (no campsites,
no ensemble, to stay fast) and without one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from app_pages import HOUSEHOLDS, app_env, ok, open_page
from streamlit.testing.v1 import AppTest

from hazards import tables as data
from simulator import plans, scenario
from simulator.app import deck, text
from simulator.plans.delivery_plan import headline

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "indus-flood-demo.yaml"
#: A column that tells each table apart: the planner's (distances, site loads, cash per day), then
#: the provinces' and the closed sites'.
PLANNER_TABLES = {"Within 5 km", "Payments per day", "Cash (PKR)"}
PROVINCES, CLOSED = "Beyond the limit", "Reopens"


@pytest.fixture
def env(monkeypatch):
    """A small demo registry, the default (minister) role and no boundary file."""
    return app_env(monkeypatch)


@pytest.fixture(scope="module")
def with_delivery():
    """The demo with a delivery block (the shipped ILLUSTRATIVE sites, no campsites) and no
    ensemble."""
    scn = scenario.load(DEMO)
    return scn.model_copy(update={"delivery": scenario.Delivery(campsites=None), "ensemble": None})


@pytest.fixture(scope="module")
def run(with_delivery):
    return plans.run(with_delivery, base=DEMO.parent, households=HOUSEHOLDS)


def deck_spec(at: AppTest) -> dict:
    charts = at.get("deck_gl_json_chart")
    assert len(charts) == 1
    return json.loads(charts[0].proto.json)


def layers(spec: dict) -> dict[str, dict]:
    return {layer["id"]: layer for layer in spec["layers"]}


def table(at: AppTest, column: str):
    """The one table with ``column``, or None."""
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert len(found) <= 1, column
    return found[0] if found else None


def test_planner_sees_headline_map_loads_and_cash_plan(env, with_delivery, run):
    env.setenv("MADAD_ROLE", "planner")
    at = open_page("delivery", with_delivery)
    ok(at)
    section = run.plan["delivery"]
    assert at.title[0].value == text.text("en", "page_delivery")
    assert any(headline(section) in m.value for m in at.markdown)
    t = section["totals"]
    shown = {m.label: m.value for m in at.metric}
    assert shown["Days to pay everyone"] == f"{t['days_to_pay']:,}"
    assert shown["Sites closed by the hazard"] == f"{t['sites_closed'] + t['sites_closed_for_days']:,} of {t['sites']:,}"
    assert shown["Households beyond 25 km"] == f"{t['beyond_limit_households']:,}"
    assert all(table(at, c) is not None for c in PLANNER_TABLES)
    cash = table(at, "Cash (PKR)")
    assert len(cash) == len(section["cash_per_day"])
    assert cash["Cash (PKR)"].sum() == t["scheduled_pkr"]
    dist = table(at, "Within 5 km")
    assert len(dist) == len(section["districts"]) and dist["Within 25 km"].between(0, 100).all()
    assert any("cash-in-transit plan" in c.value for c in at.caption)
    assert any("ILLUSTRATIVE" in w.value for w in at.warning)
    by_id = layers(deck_spec(at))
    assert set(deck.DELIVERY_IDS) <= set(by_id) and set(deck.OUTLINE_IDS) <= set(by_id)
    assert len(by_id["delivery-sites"]["data"]) == len(section["sites"])
    assert by_id["delivery-catchments"]["data"]
    assert any("households paid here" in s["tip"] for s in by_id["delivery-sites"]["data"])
    at.radio(key="lang").set_value("ur").run()  # Urdu: the same page, its own labels
    ok(at)
    assert at.title[0].value == text.LABELS["ur"]["page_delivery"]


def test_minister_sees_no_site_loads_and_no_cash_plan(env, with_delivery, run):
    from simulator.publish.disclosure import protect_plan

    at = open_page("delivery", with_delivery)
    ok(at)
    section = protect_plan(run.plan, 10, households=run.households)["delivery"]
    assert any(headline(section) in m.value for m in at.markdown)
    assert any(c.value == text.text("en", "dv_published_note") for c in at.caption)
    assert all(table(at, c) is None for c in PLANNER_TABLES)
    assert len(table(at, PROVINCES)) == len(section["provinces"])
    assert not any("cash-in-transit" in c.value for c in at.caption)
    by_id = layers(deck_spec(at))
    assert "delivery-catchments" not in by_id
    sites = by_id["delivery-sites"]["data"]
    assert len(sites) == len(section["sites"])
    assert not any("households" in s["tip"] for s in sites)  # no site's load reaches a minister
    closed = {s["name"] for s in section["closed_sites"]}
    assert closed and set(table(at, CLOSED)["Site"]) == closed


def test_scenario_without_delivery_says_how_to_add_one(env):
    scn = scenario.load(DEMO).model_copy(update={"delivery": None, "ensemble": None})
    at = open_page("delivery", scn)
    ok(at)
    assert any("delivery:" in i.value and "schema.json" in i.value for i in at.info)
    assert any("delivery:" in c.value for c in at.code)
    assert not at.get("deck_gl_json_chart")


# --- the map's layers, built directly -----------------------------------------------------------------


def site(i: int, status: str = "open", **extra) -> dict:
    row = {"site_id": f"s{i}", "name": f"Site {i}", "kind": "bisp_tehsil_office", "lon": 67.0 + 0.5 * (i % 5),
           "lat": 25.0 + 0.5 * (i // 5), "services": "payment;registration;complaints", "payments_per_day": 100,
           "status": status, "reopen_day": {"open": 0, "closed_for_days": 7, "closed": None}[status],
           "campsite_chosen": False, "one_window_centre": False, "households": 1_234, "days": 13}
    row.update(extra)
    return row


def test_sites_layer_has_one_point_per_site_coloured_by_status():
    sites = [site(i, status) for i, status in enumerate(["open"] * 6 + ["closed_for_days"] * 2 + ["closed"] * 2)]
    sites[0]["one_window_centre"] = True
    layer = deck.sites_layer(sites, "en")
    assert layer.id == "delivery-sites" and layer.type == "ScatterplotLayer"
    assert len(layer.data) == len(sites)
    fills = [tuple(p["fill"][:3]) for p in layer.data]
    assert fills[1] == deck.SITE_RGB["open"] and fills[6] == deck.SITE_RGB["closed_for_days"]
    assert fills[8] == deck.SITE_RGB["closed"]
    assert len({fills[1], fills[6], fills[8]}) == 3  # closed sites stand out
    assert layer.data[0]["line"] == deck.ONE_WINDOW_LINE and layer.data[1]["line"] != deck.ONE_WINDOW_LINE
    assert "reopens on day 7" in layer.data[6]["tip"] and "whole response" in layer.data[8]["tip"]
    assert "1,234 households paid here" in layer.data[0]["tip"] and "One Window Centre" in layer.data[0]["tip"]
    hidden = deck.sites_layer([site(1, households=None, days=None)], "ur")  # a minister's row
    assert "گھران" not in hidden.data[0]["tip"] and "BISP" not in hidden.data[0]["tip"]


def test_campsites_are_their_own_layer_and_catchments_split_the_open_payment_sites():
    sites = [site(i) for i in range(10)] + [site(10, "closed")]
    sites.append(site(11, campsite_chosen=True, kind="campsite", name="Campsite SD 1", site_id="camp_SD_1",
                      households=None, days=None))
    section = {"sites": sites, "campsites": [{"campsite_id": "camp_SD_1", "province_code": "SD", "lon": 68.0,
                                              "lat": 27.0, "demand_households": 900.0, "days": 9}]}
    assert len(deck.sites_layer(sites, "en").data) == 11  # the campsite is drawn apart
    flagged = [*sites[:-1], {**sites[0], "campsite_chosen": True}]  # only a campsite is drawn as one
    assert len(deck.sites_layer(flagged, "en").data) == 12
    camps = deck.campsite_layer(section, "en")
    assert camps.id == "delivery-campsites" and len(camps.data) == 1
    assert "9 days of payments" in camps.data[0]["tip"]  # days from the campsites table
    paths = deck.catchment_paths(sites)
    assert paths and all(len(p) >= 2 for p in paths)
    left, bottom, right, top = data.PAKISTAN_BBOX
    assert all(left - 1e-3 <= x <= right + 1e-3 and bottom - 1e-3 <= y <= top + 1e-3 for p in paths for x, y in p)
    # a closed site has no catchment: the same edges without it
    assert paths == deck.catchment_paths(sites[:10] + sites[11:])
    assert deck.catchment_paths(sites[:1]) == []
    assert len(json.dumps(paths)) < 20_000


def test_urdu_headline_has_the_figures_and_no_english(monkeypatch):
    from simulator.app import state
    from simulator.app.pages import delivery as page

    section = {"totals": {"days_to_pay": 20, "campsites": 75, "sites_closed": 11, "sites_closed_for_days": 0,
                          "sites": 926, "beyond_limit_households": 0, "unassigned_households": 0},
               "assumptions": {"far_limit_km": 25}}
    monkeypatch.setattr(state, "lang", lambda: "ur")
    monkeypatch.setattr(page, "lang", lambda: "ur")
    text = page.headline_text(section)
    assert "20" in text and "75" in text and "926" in text
    assert not any(word in text for word in ("Delivery", "paid", "campsites", "sites"))

