"""The app's Financing page (simulator/app/pages/financing.py): run headless with streamlit.testing
on a 5,000-household demo registry over tiny event sets (20 events over 20 years, built into a
temporary event-set cache), in English and in Urdu, for the demo scenario (no ``financing:``
block: a set generated from its flood generator) and for the demo with a ``financing:`` block
(its own set, layers, a pool and a trigger).

Every figure the page shows is compared with a direct :func:`simulator.plans.risk_run.run_columns`
of the same scenario, registry and sets.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from app_pages import ok, open_page
from streamlit.testing.v1 import AppTest

from simulator import engine, registry, scenario
from simulator.app import loaders, text
from simulator.plans import risk_plan, risk_run

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "indus-flood-demo.yaml"
HOUSEHOLDS = 5_000
#: Events (over as many years) of the tiny generated set.
EVENTS = 20
ENV_NAMES = ("MADAD_BOUNDARIES", "MADAD_BOUNDARIES_LAYER", "MADAD_BOUNDARIES_CODE_COLUMN",
             "MADAD_BOUNDARIES_NAME_COLUMN", "MADAD_ROLE", "MADAD_MIN_CELL", "MADAD_CONFIG",
             "MADAD_REGISTRY")
FINANCING = """
financing:
  return_periods: [5, 10, 100]
  events:
    # the recipe of the page's 20-event set of the demo: one set built for both tests
    - generate: {kind: riverine-flood, events: 20, years: 20, seed: 2022,
                 params: {river: indus, bbox: [66.5, 23.6, 72.0, 31.9]}}
  layers:
    - {name: Sindh contingency reserve, kind: reserve, payer: SD, limit_pkr: 100000000}
    - {name: Federal cat bond, kind: cat_bond, payer: federal, attachment_pkr: 200000000,
       limit_pkr: 600000000, premium_multiple: 2}
    - name: NFC pool
      kind: pool
      payer: total
      attachment_pkr: 400000000
      limit_pkr: 2000000000
      pool: {key: nfc7, federal_share: 0.5}
  triggers:
    - name: Kotri depth
      threshold: 1.0
      payout_pkr: 200000000
      need_threshold_pkr: 200000000
      index: {type: point, hazard: riverine-flood, lon: 68.37, lat: 25.36, radius_km: 5}
"""


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """One event-set cache for the module: a set is built once, by the first test that asks."""
    return tmp_path_factory.mktemp("madad-cache")


@pytest.fixture
def env(monkeypatch, cache):
    """A 5,000-household demo registry, the default (minister) role, no boundary file, the
    temporary event-set cache and a 20-event choice on the page."""
    monkeypatch.setenv("MADAD_DEMO_HOUSEHOLDS", str(HOUSEHOLDS))
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MADAD_CONFIG", "")
    monkeypatch.setenv(risk_run.CACHE_ENV, str(cache))
    monkeypatch.setattr(loaders, "RISK_EVENT_CHOICES", (EVENTS, 100))
    return monkeypatch


@pytest.fixture(scope="module")
def demo():
    return scenario.load(DEMO).model_copy(update={"ensemble": None})


@pytest.fixture(scope="module")
def with_financing():
    text_ = DEMO.read_text(encoding="utf-8") + textwrap.dedent(FINANCING)
    return scenario.parse(text_).model_copy(update={"ensemble": None})


@pytest.fixture(scope="module")
def cols(demo):
    reg = registry.validate(registry.generate(HOUSEHOLDS, seed=demo.seed), source="test")
    return engine.household_columns(reg.households)


def direct(scn, cols, generate=None) -> dict:
    """The risk section computed without the app (the sets from the cache the page built)."""
    sets = risk_run.event_sets(scn, base=DEMO.parent, generate=generate, years=generate)
    return risk_run.run_columns(scn, sets, cols).section


def frame(at: AppTest, column: str):
    """The one table with ``column``, or None."""
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert len(found) <= 1, column
    return found[0] if found else None


def test_demo_computes_on_click_in_english_and_urdu(env, demo, cols):
    at = open_page("financing", demo)
    ok(at)
    assert at.title[0].value == text.text("en", "page_financing")
    assert at.button(key="fin_compute").label == "Compute"
    assert any("must be built first" in c.value for c in at.caption)  # and how long it takes
    assert not at.dataframe  # nothing computed before the click

    at.button(key="fin_compute").click().run()
    ok(at)
    assert not at.main.button  # the button and its estimate are gone once the run is there
    section = direct(demo, cols, generate=EVENTS)
    lines = risk_plan.headline(section)
    shown = "\n".join(m.value for m in at.markdown)
    assert all(line.replace("$", r"\$") in shown for line in lines)
    assert "20 simulated years" in lines[0]
    # the payers' table: federal, each paying province, all governments; figures as the section's
    payers = frame(at, "Years with payouts")
    total = section["metrics"]["total"]
    assert list(payers["Payer"])[0] == "Federal government" and list(payers["Payer"])[-1] == "All governments"
    assert payers["Average year (AAL)"].iloc[-1].startswith(text.fmt_pkr_short(total["aal"]["aal_pkr"]) + " (")
    assert (payers["1-in-100 year"] == text.HIDDEN).all()  # beyond the 20 years of the set
    assert {m.label: m.value for m in at.metric}["Average year, all governments"] == text.fmt_pkr_short(
        total["aal"]["aal_pkr"])
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2  # the exceedance curves and the federal/provincial split
    assert '"type":"log"' in charts[0].proto.spec.replace(" ", "")
    assert any("declares no layers" in c.value for c in at.caption)
    assert len(at.get("download_button")) == 2

    at.radio(key="fin_basis").set_value("oep").run()  # the largest event's curve: cached, no rebuild
    ok(at)
    at.radio(key="lang").set_value("ur").run()
    ok(at)
    ur = text.LABELS["ur"]
    assert at.title[0].value == ur["page_financing"]
    assert ur["fin_headline_title"] in [s.value for s in at.subheader]
    assert any(ur["fin_payer_federal"] in m.value and "ارب روپے" in m.value for m in at.markdown)
    assert frame(at, ur["fin_col_years_with_loss"]) is not None
    assert len(at.get("vega_lite_chart")) == 2


def test_financing_block_layers_pools_and_triggers(env, with_financing, cols):
    at = open_page("financing", with_financing)
    ok(at)
    assert any("financing.events" in m.value for m in at.markdown)
    if at.main.button:  # its set not built yet (the test run alone): build it
        at.button(key="fin_compute").click().run()
        ok(at)
    section = direct(with_financing, cols)
    layers = frame(at, "P(runs out in a year)")
    assert list(layers["Layer"]) == [la["name"] for la in section["layers"]]
    bond = layers[layers["Layer"] == "Federal cat bond"].iloc[0]
    want = next(la for la in section["layers"] if la["name"] == "Federal cat bond")
    assert bond["Expected a year"] == text.fmt_pkr_short(want["expected_annual_cost_pkr"])
    assert bond["Premium multiple"] == "2 ×"
    pools = frame(at, "Provinces' key")
    assert list(pools["Layer"]) == ["NFC pool"] and pools["Provinces' key"].iloc[0] == "7th NFC award"
    triggers = frame(at, "False alarms")
    (trigger,) = section["triggers"]
    assert triggers["False alarms"].iloc[0] == f"{trigger['false_alarms']:,}"
    assert frame(at, "Kept a year") is not None
    assert at.get("image")  # the layer towers
    assert any(e.label == "How this is computed" for e in at.expander)


def test_scenario_without_an_event_set_says_how_to_add_one(env):
    observed = scenario.load(ROOT / "scenarios" / "monsoon-flood-2022-observed.yaml")  # a declared footprint
    assert not any(h.generator for h in observed.hazards) and observed.financing is None
    at = open_page("financing", observed.model_copy(update={"ensemble": None}))
    ok(at)
    assert any("financing:" in i.value for i in at.info)
    assert any("financing:" in c.value for c in at.code)
    assert not at.main.button and not at.dataframe


def test_urdu_headline_has_every_line_and_no_english_words(env, with_financing, cols, monkeypatch):
    from simulator.app import state
    from simulator.app.pages import financing as page

    section = direct(with_financing, cols)
    english = page.headline_lines(section)
    assert english == risk_plan.headline(section)
    monkeypatch.setattr(state, "lang", lambda: "ur")
    monkeypatch.setattr(page, "lang", lambda: "ur")
    urdu = page.headline_lines(section)
    assert len(urdu) == len(english)  # a line for each payer, layer, pool, retained payer and trigger
    names = {la["name"] for la in section["layers"]} | {"Kotri depth"}
    words = " ".join(urdu)
    for name in names:  # the scenario's own names stay as written
        words = words.replace(name, "")
    for english_word in ("average", "year", "pays", "interval", "federal", "Trigger", "pool", "layers", "PKR"):
        assert english_word not in words, english_word
    total = text.fmt_pkr_short(section["metrics"]["total"]["aal"]["aal_pkr"], "ur")
    assert any(total in line and text.LABELS["ur"]["fin_payer_total"] in line for line in urdu)

