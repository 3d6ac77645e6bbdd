"""Ensembles: a scenario's modelled hazards over several seeds, P10/P50/P90 in every output."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader

from simulator import plans, scenario
from simulator.publish import disclosure, pdf, xlsx
from simulator.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run():
    raw = scenario.load(ROOT / "scenarios" / "indus-flood-demo.yaml").model_dump(mode="json", exclude_none=True)
    raw["ensemble"] = {"members": 5}
    return plans.run(Scenario.model_validate(raw), base=ROOT / "scenarios", households=20_000)


def test_plan_reports_ranges_and_its_own_member(run):
    e = run.plan["ensemble"]
    assert e["members"] == 5 and e["seeds"][0] == run.scenario.seed == e["member_in_tables"]
    for metric, r in e["national"].items():
        assert r["p10"] <= r["p50"] <= r["p90"], metric
    # the plan's tables are member 0: its totals lie within the members' range
    paid = run.plan["totals"]["paid_households"]
    lo, hi = e["national"]["paid_households"]["p10"], e["national"]["paid_households"]["p90"]
    assert lo * 0.8 <= paid <= hi * 1.2
    sd = next(p for p in e["provinces"] if p["province_code"] == "SD")
    assert sd["paid_households"]["p50"] > 0
    assert {d["district_id"] for d in e["districts"]} >= {"sd_sukkur"}


def test_ranges_in_the_xlsx_the_pdf_and_a_published_plan(run, tmp_path):
    book = openpyxl.load_workbook(xlsx.write_xlsx(run.plan, tmp_path / "plan.xlsx"))
    rows = list(book["ensemble"].iter_rows(values_only=True))
    assert rows[0] == ("level", "area", "metric", "p10", "p50", "p90")
    assert any(r[:3] == ("national", "Pakistan", "paid_households") for r in rows)
    assert any(r[0] == "district" for r in rows)
    text = " ".join(page.extract_text() for page in PdfReader(pdf.write_pdf(run, tmp_path / "brief.pdf")).pages)
    assert "Households paid: likely between" in " ".join(text.split())
    published = disclosure.suppress_plan(run.plan, 10)
    assert published["ensemble"]["districts"] == []
    for item in published["ensemble"]["provinces"]:
        for metric, r in item.items():
            if metric.endswith("_households") and r["p10"] is not None:
                assert all(v == 0 or v >= 10 for v in r.values())


def test_ensemble_needs_a_modelled_hazard():
    with pytest.raises(ValueError, match="ensemble needs a modelled hazard"):
        Scenario.model_validate({
            "name": "t", "title": "t", "ensemble": {"members": 3},
            "hazards": [{"kind": "riverine-flood", "file": "x.tif", "threshold": 0.5}],
            "policy": {"programmes": [{"name": "p", "owner": "federal", "expansion": "all_affected",
                                       "transfer": {"by_tier_pkr": {"affected": 1}}}]},
        })


def test_app_shows_the_ranges_in_both_languages(run):
    from simulator.app import widgets

    lines = widgets.ensemble_lines(run.plan, "en")
    assert len(lines) == 3 and lines[1].startswith("Households paid: likely between")
    r = run.plan["ensemble"]["national"]["paid_households"]
    assert f"{r['p10']:,}" in lines[1] and f"{r['p90']:,}" in lines[1]
    assert widgets.ensemble_lines({"totals": {}}, "en") == []


def test_run_reports_each_stage_and_ensemble_member():
    """A national ensemble runs for minutes: the run says which stage and which member it is on
    (the CLI shows it in its spinner)."""
    from simulator import plans, scenario

    path = Path(__file__).resolve().parents[1] / "scenarios" / "indus-flood-demo.yaml"
    said: list[str] = []
    plans.run(scenario.load(path), base=path.parent, households=3_000, on_progress=said.append)
    # the demo's hazards are generated (no raster to clip to the registry): built meanwhile
    # the demo's delivery: block is planned first: the household table is then complete and
    # can be written while the plan is built
    assert said[:4] == ["reading and checking the registry, building the hazards meanwhile...",
                        "running the payout engine...",
                        "planning delivery: sites, closures, travel, schedule, campsites...",
                        "building the plan..."]
    assert said[4:] == [f"ensemble: member {i} of 20..." for i in range(1, 21)]
