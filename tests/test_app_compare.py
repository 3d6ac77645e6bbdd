"""The Compare page explains itself: options named by what differs, a row per policy parameter
that differs, the change attributed to those parameters, names on the chart's axis, and a
selection kept while the visitor opens other pages (issue 15, item 2)."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from app_pages import HOUSEHOLDS, app_env, goto, ok, run_app

from simulator.app import text

PICK = "compare_pick"
EN = text.LABELS["en"]


@pytest.fixture
def env(monkeypatch):
    """The planner's view: the attribution is made of exact differences, shown to planners only."""
    env = app_env(monkeypatch)
    env.setenv("MADAD_ROLE", "planner")
    return env


def test_a_minister_compares_published_figures_without_the_exact_parts(monkeypatch):
    """The minister's Compare page holds the published (protected) totals, as every other page
    of that view, and no attribution table (its parts are exact differences)."""
    from app_pages import ROOT

    from simulator import scenario
    from simulator.app import loaders, settings

    app_env(monkeypatch)
    at = _what_if_on_compare()
    table = _rows(at.dataframe[0].value)
    assert not any(d.value.columns[0] == EN["cmp_a_what"] for d in at.dataframe[1:])
    assert any(EN["cmp_a_planners"] == c.value for c in at.caption)
    scn = scenario.load(ROOT / "scenarios" / "indus-flood-demo.yaml")
    source = loaders.RegistrySource(f"synthetic|{HOUSEHOLDS}|{scn.seed}", None, "synthetic", HOUSEHOLDS)
    exact = loaders.plan_for(scn, source, scn)[0]
    published = loaders.shown_plan(exact, scn, source, scn, settings.Settings(role="minister"))["totals"]
    assert published != exact["totals"]
    assert table[EN["f_amount_pkr"]][1] == f"PKR {published['amount_pkr']:,}"  # the library option


def _what_if_on_compare():
    """The demo with the sidebar's transfer at PKR 30,000 (library 25,000) and PMT cut-off 40
    (library 32), on the Compare page."""
    at = run_app()
    at.number_input(key="transfer_pkr").set_value(30_000).run()
    at.slider(key="pmt_max").set_value(40).run()
    goto(at, "compare")
    ok(at)
    return at


def _rows(frame) -> dict[str, list[str]]:
    """First column -> the rest of the row."""
    return {row[0]: list(row[1:]) for row in frame.itertuples(index=False)}


def _int(cell: str) -> int:
    """``-PKR 1,234``, ``+56``, ``0`` -> the integer."""
    return int(cell.replace("PKR", "").replace(",", "").replace(" ", ""))


def test_options_are_named_by_what_differs_and_a_kept_copy_is_told_apart(env):
    at = _what_if_on_compare()
    ms = at.multiselect(key=PICK)
    assert ms.value == ["current", "lib:indus-flood-demo"]  # the library file is the first partner
    current, library = ms.format_func("current"), ms.format_func("lib:indus-flood-demo")
    assert current.startswith("Current: ") and "PKR 25,000 → PKR 30,000" in current and "≤ 32 → ≤ 40" in current
    assert library.endswith("(library policy)") and "PKR" not in library
    assert len(set(ms.options)) == len(ms.options)  # every option's name is its own
    at.button(key="compare_save").click().run()
    ok(at)
    ms = at.multiselect(key=PICK)
    assert ms.value == ["current", "lib:indus-flood-demo", "saved:0"]
    kept = ms.format_func("saved:0")
    assert kept != current and kept.startswith("Kept 1: ") and "PKR 25,000 → PKR 30,000" in kept
    at.button(key="compare_save").click().run()  # the same policy again: kept once
    assert len(at.session_state["saved"]) == 1
    at.number_input(key="transfer_pkr").set_value(35_000).run()  # the current one moves on
    ms = at.multiselect(key=PICK)
    assert "PKR 25,000 → PKR 35,000" in ms.format_func("current")
    assert "PKR 25,000 → PKR 30,000" in ms.format_func("saved:0")  # what it was when kept
    assert len(set(ms.options)) == len(ms.options)


def test_policy_rows_and_attribution_explain_the_difference(env):
    """Current (PKR 30,000, PMT 40) against the library file (PKR 25,000, PMT 32): by hand,
    with P1 households paid now and P0 under the file, the transfer alone changes nothing in
    households and -5,000 x P1 in PKR; the cut-off alone P0 - P1 households and 30,000 x
    (P0 - P1) PKR; together 5,000 x (P1 - P0), and the rows add up to the total."""
    at = _what_if_on_compare()
    table = _rows(at.dataframe[0].value)
    assert table[EN["cmp_k_transfer"]] == ["PKR 30,000", "PKR 25,000", "-PKR 5,000"]
    assert table[EN["cmp_k_pmt_cutoff"]] == ["≤ 40", "≤ 32", "-8"]
    assert EN["cmp_k_federal_share"] not in table  # the same in both: no row
    p1, p0 = (_int(v) for v in table[EN["f_paid_households"]][:2])
    assert p1 > p0
    assert _int(table[EN["f_paid_households"]][2]) == p0 - p1
    amount = _int(table[EN["f_amount_pkr"]][2])
    assert amount == 25_000 * p0 - 30_000 * p1

    parts = _rows(at.dataframe[1].value)
    assert [_int(v) for v in parts[EN["cmp_k_transfer"]][:2]] == [0, -5_000 * p1]
    assert [_int(v) for v in parts[EN["cmp_k_pmt_cutoff"]][:2]] == [p0 - p1, 30_000 * (p0 - p1)]
    assert [_int(v) for v in parts[EN["cmp_a_together"]][:2]] == [0, 5_000 * (p1 - p0)]
    total = parts.pop(EN["cmp_a_total"])
    assert [_int(v) for v in total[:2]] == [p0 - p1, amount]
    for j in range(3):  # households paid, amount, federal PKR: the parts add up exactly
        assert sum(_int(row[j]) for row in parts.values()) == _int(total[j])
    assert any(EN["cmp_a_heading"] == s.value for s in at.subheader)

    at.toggle(key="compare_every").set_value(True).run()  # every parameter, the same ones too
    ok(at)
    every = _rows(at.dataframe[0].value)
    assert every[EN["cmp_k_federal_share"]] == ["50%", "50%", ""]
    assert every[EN["cmp_k_cost_sharing_rule"]][:2] == [EN["rule_fixed"]] * 2


def test_different_scenarios_are_attributed_as_a_whole_and_the_chart_names_them(env):
    at = run_app("compare")
    at.multiselect(key=PICK).set_value(["current", "lib:tharparkar-drought"]).run()
    ok(at)
    names = [at.multiselect(key=PICK).format_func(o) for o in ("current", "lib:tharparkar-drought")]
    assert names[0].startswith("Current: ") and names[0].endswith("(library policy)")
    table = _rows(at.dataframe[0].value)
    assert list(at.dataframe[0].value.columns[1:3]) == names  # the columns are the options' names
    assert EN["cmp_k_programmes"] in table and EN["cmp_k_instalments"] in table
    assert not any(d.value.columns[0] == EN["cmp_a_what"] for d in at.dataframe)  # no attribution table
    info = " ".join(i.value for i in at.info)
    assert "scenario as a whole" in info and EN["cmp_beyond_hazards"] in info
    (chart,) = at.get("vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    y = spec["encoding"]["y"]
    assert y["title"] == EN["c_option"] and y["sort"] == names
    assert spec["encoding"]["x"]["title"] == EN["pkr_million_axis"]
    frames = [pa.ipc.open_stream(d.data.data).read_pandas() for d in chart.proto.datasets]
    assert [v for f in frames for v in f[y["field"]]] == names  # the bars carry the names


def test_the_selection_survives_opening_another_page(env):
    at = run_app("compare")
    at.multiselect(key=PICK).set_value(["lib:tharparkar-drought", "current"]).run()
    ok(at)
    goto(at, "overview")
    ok(at)
    assert PICK not in at.session_state  # Streamlit drops a widget's value on another page
    goto(at, "plan")
    goto(at, "compare")
    ok(at)
    assert at.multiselect(key=PICK).value == ["lib:tharparkar-drought", "current"]


def test_compare_in_urdu(env):
    at = run_app()
    at.radio(key="lang").set_value("ur").run()
    at.number_input(key="transfer_pkr").set_value(30_000).run()
    goto(at, "compare")
    ok(at)
    ur = text.LABELS["ur"]
    ms = at.multiselect(key=PICK)
    assert ms.format_func("current").startswith("موجودہ: ")
    table = _rows(at.dataframe[0].value)
    assert ur["cmp_k_transfer"] in table
    assert ur["cmp_a_total"] in _rows(at.dataframe[1].value)


def test_programme_names_are_in_urdu_in_the_urdu_view(env):
    """The policy rows name each option's programmes by their ``name_ur`` in Urdu."""
    at = run_app()
    at.radio(key="lang").set_value("ur").run()
    goto(at, "compare")
    at.multiselect(key=PICK).set_value(["current", "lib:indus-flood-2010-observed"]).run()
    ok(at)
    frame = at.dataframe[0].value
    cells = {str(v) for v in frame.iloc[:, 1:3].to_numpy().ravel()}
    assert {"بی آئی ایس پی سیلاب امداد", "وطن کارڈ"} <= cells
    assert not {"BISP flood relief", "Watan card"} & cells
