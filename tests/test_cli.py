"""The madad command line: run writes every file; registry generate/validate; exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
import pytest
import rasterio
from openpyxl import load_workbook
from pypdf import PdfReader
from typer.testing import CliRunner

from simulator.cli import app
from simulator.cli.main import SCENARIO_TEMPLATE
from simulator.publish.xlsx import DELIVERY_SHEETS

runner = CliRunner()


def test_run_writes_every_file(tmp_path, demo_scenario_path):
    out = tmp_path / "demo"
    result = runner.invoke(app, ["run", str(demo_scenario_path), "--out", str(out), "--households", "20000"])
    assert result.exit_code == 0, result.output
    for name in ("plan.json", "plan.xlsx", "households.parquet", "hazard.tif", "manifest.json"):
        assert (out / name).stat().st_size > 0, name
    plan = json.loads((out / "plan.json").read_text())
    fields = {"affected_households", "affected_people", "paid_households", "amount_pkr", "federal_pkr", "provincial_pkr"}
    assert fields <= set(plan["totals"])
    assert all(fields <= set(p) for p in plan["provinces"] + plan["districts"])
    assert f"amount PKR {plan['totals']['amount_pkr']:,}" in result.output
    # what the Coordination Committee reviews: responsible agencies and sign-off fields
    assert {a["province_code"] for a in plan["agencies"]} >= {"SD", "PB"}
    assert all(a["disaster_authority"] and a["source"] for a in plan["agencies"])
    assert set(plan["sign_off"]) == {"prepared_by", "reviewed_by", "approved_by", "date", "version"}

    households = pq.read_table(out / "households.parquet").to_pandas()
    assert int(households.amount_pkr.sum()) == plan["totals"]["amount_pkr"]
    assert households.household_id.is_unique
    wb = load_workbook(out / "plan.xlsx")
    assert wb.sheetnames == ["summary", "provinces", "districts", "groups", "cost-sharing", "dedup-budget", "instalments", "assumptions",
                             "unregistered", *(name for name, _ in DELIVERY_SHEETS), "ensemble"]
    provinces = pd.read_excel(out / "plan.xlsx", sheet_name="provinces")
    assert int(provinces.amount_pkr.sum()) == plan["totals"]["amount_pkr"]
    assert wb["provinces"].freeze_panes == "A2"
    with rasterio.open(out / "hazard.tif") as src:
        assert src.crs.to_epsg() == 4326 and abs(src.res[0] - 1 / 120) < 1e-12

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 2022
    assert manifest["inputs"]["registry"] == {"synthetic_households": 20000, "seed": 2022}
    assert manifest["inputs"]["hazards"][0]["generator"] == "riverine-flood"
    assert len(manifest["scenario_file"]["sha256"]) == 64
    assert set(manifest["outputs"]) == {"plan.json", "plan.xlsx", "households.parquet", "hazard.tif"}
    assert "numpy" in manifest["versions"]


def test_same_scenario_twice_gives_identical_tables(tmp_path, demo_scenario_path):
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        assert runner.invoke(app, ["run", str(demo_scenario_path), "-o", str(out), "--households", "5000"]).exit_code == 0
    for name in ("plan.json", "households.parquet", "hazard.tif"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name


def test_registry_generate_and_validate(tmp_path):
    path = tmp_path / "r.parquet"
    result = runner.invoke(app, ["registry", "generate", "--households", "3000", "--seed", "4", "--out", str(path)])
    assert result.exit_code == 0, result.output
    assert "wrote 3,000 households" in result.output
    result = runner.invoke(app, ["registry", "validate", str(path)])
    assert result.exit_code == 0
    assert "3,000 rows read, 3,000 valid, 0 quarantined" in result.output


def test_registry_validate_reports_quarantine(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(
        "household_id,lon,lat,district_id,hh_size,pmt_score\n"
        "a,68.37,25.39,sd_hyderabad,4,12\n"
        "b,25.39,68.37,sd_hyderabad,4,12\n"
        "c,68.37,25.39,sd_nowhere,4,12\n"
    )
    bad = tmp_path / "bad.csv"
    result = runner.invoke(app, ["registry", "validate", str(path), "--quarantine", str(bad), "--json"])
    assert result.exit_code == 3
    report = json.loads(result.output)
    assert report["reasons"] == {"coords_swapped": 1, "unknown_district": 1}
    assert pd.read_csv(bad).row.tolist() == [2, 3]


def test_run_with_registry_file_and_quarantine(tmp_path, demo_scenario_path):
    path = tmp_path / "r.csv"
    path.write_text(
        "household_id,lon,lat,district_id,hh_size,pmt_score\n"
        "a,68.33,25.37,sd_hyderabad,4,12\n"
        "b,68.33,25.37,sd_hyderabad,0,12\n"
    )
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", str(demo_scenario_path), "-o", str(out), "--registry", str(path)])
    assert result.exit_code == 0, result.output
    assert "quarantined registry rows: 1" in result.output
    plan = json.loads((out / "plan.json").read_text())
    assert plan["totals"]["households"] == 1 and plan["totals"]["paid_households"] == 1
    assert pd.read_csv(out / "quarantine.csv").reason.tolist() == ["impossible_size"]


def test_bad_input_exit_code(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ntitle: x\nhazards: [{generator: {}, threshold: 1}]\nextra: 1\n")
    result = runner.invoke(app, ["run", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "bad.yaml:4: extra: unknown field" in result.output
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2


# --- compare, export, scenario new -----------------------------------------------------------


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The demo and a what-if with a higher federal share, run through the CLI (5,000 households)."""
    demo = Path(__file__).resolve().parents[1] / "scenarios" / "indus-flood-demo.yaml"
    root = tmp_path_factory.mktemp("cli-runs")
    other = root / "federal70.yaml"
    other.write_text(
        demo.read_text().replace("name: indus-flood-demo", "name: federal70").replace(
            "federal_share: 0.5", "federal_share: 0.7"
        )
    )
    outs = []
    for scn, name in ((demo, "demo"), (other, "federal70")):
        result = runner.invoke(app, ["run", str(scn), "--out", str(root / name), "--households", "5000"])
        assert result.exit_code == 0, result.output
        outs.append(root / name)
    return outs


@pytest.mark.parametrize("fmt", ["xlsx", "pdf", "gpkg", "geojson", "csv", "parquet", "json"])
def test_export_every_format(two_runs, tmp_path, fmt):
    out = tmp_path / f"out.{fmt}"
    result = runner.invoke(app, ["export", str(two_runs[0]), "--format", fmt, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    plan = json.loads((two_runs[0] / "plan.json").read_text())
    total = plan["totals"]["amount_pkr"]
    # the PDF and GeoJSON are published: the plan perturbed by the cell-key method (keyed by the
    # run's households), then suppressed; the planner's formats are exact
    from simulator.publish.disclosure import protect_plan

    households = pq.read_table(two_runs[0] / "households.parquet").to_pandas()
    published = protect_plan(plan, k=10, households=households)["totals"]["amount_pkr"]
    if fmt == "pdf":
        assert f"PKR {published:,}" in "".join(p.extract_text() for p in PdfReader(out).pages)
    elif fmt == "geojson":
        assert int(gpd.read_file(out).amount_pkr.sum()) <= published
    elif fmt == "gpkg":
        assert int(gpd.read_file(out).amount_pkr.sum()) == total
    elif fmt == "csv":
        assert int(pd.read_csv(out).amount_pkr.sum()) == total
    elif fmt == "parquet":
        assert int(pq.read_table(out).column("amount_pkr").to_numpy().sum()) == total
    elif fmt == "json":
        assert json.loads(out.read_text())["totals"]["amount_pkr"] == total
    else:
        assert int(pd.read_excel(out, sheet_name="provinces").amount_pkr.sum()) == total


def test_export_all_households_and_boundaries(two_runs, tmp_path):
    out = tmp_path / "all.csv"
    result = runner.invoke(app, ["export", str(two_runs[0]), "-f", "csv", "-o", str(out), "--all"])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == 5000
    missing = tmp_path / "nowhere.gpkg"
    result = runner.invoke(app, ["export", str(two_runs[0]), "-f", "gpkg", "-o", str(tmp_path / "d.gpkg"),
                                 "--boundaries", str(missing)])
    assert result.exit_code == 2
    assert "nowhere.gpkg: no such boundary file" in result.output


def test_export_bad_input_exit_codes(two_runs, tmp_path):
    result = runner.invoke(app, ["export", str(two_runs[0]), "--format", "docx", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "use one of: xlsx, pdf, gpkg, geojson, csv, parquet, json" in result.output
    result = runner.invoke(app, ["export", str(tmp_path), "--format", "json", "--out", str(tmp_path / "x.json")])
    assert result.exit_code == 2
    assert f"{tmp_path}: not a run folder (no plan.json)" in result.output


def test_compare_prints_and_writes_xlsx(two_runs, tmp_path):
    out = tmp_path / "cmp.xlsx"
    result = runner.invoke(app, ["compare", *map(str, two_runs), "--out", str(out)])
    assert result.exit_code == 0, result.output
    a, b = (json.loads((r / "plan.json").read_text())["totals"] for r in two_runs)
    assert "indus-flood-demo (demo)" in result.output and "federal70" in result.output
    assert f"{b['federal_pkr'] - a['federal_pkr']:+,}" in result.output
    assert b["federal_pkr"] > a["federal_pkr"] and b["amount_pkr"] == a["amount_pkr"]
    frame = pd.read_excel(out, sheet_name="compare")
    row = frame[(frame.section == "totals") & (frame.figure == "federal_pkr")].iloc[0]
    assert int(row["diff vs first: federal70"]) == b["federal_pkr"] - a["federal_pkr"]


def test_compare_bad_input(two_runs, tmp_path):
    result = runner.invoke(app, ["compare", str(two_runs[0])])
    assert result.exit_code == 2 and "at least two run folders" in result.output
    result = runner.invoke(app, ["compare", str(two_runs[0]), str(tmp_path / "gone")])
    assert result.exit_code == 2 and "gone: no such run folder" in result.output
    result = runner.invoke(app, ["compare", *map(str, two_runs), "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 2 and "--out must be an .xlsx file" in result.output


def test_scenario_new_validates_runs_and_never_overwrites(tmp_path):
    path = tmp_path / "scenarios" / "monsoon-2025.yaml"
    result = runner.invoke(app, ["scenario", "new", "monsoon-2025", "--out", str(path)])
    assert result.exit_code == 0, result.output
    text = path.read_text()
    assert text.startswith("# Madad scenario: monsoon-2025") and "name: monsoon-2025" in text
    for key in ("owner:", "expansion:", "beneficiaries_of:", "pmt_max:", "pmt_max_by_province:",
                "category_pmt_max:", "categories:", "provinces:", "min_tier:", "by_tier_pkr:",
                "per_person_pkr:", "floor_pkr:", "cap_pkr:", "instalments:", "dedup:", "base:", "order:",
                "cost_sharing:", "federal_share:", "key:", "budget:", "federal_pkr:", "provincial_pkr:",
                "priority:", "tiers:", "modelled_on:", "top_up", "nfc7", "population2023"):
        assert key in text, key
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "run"), "--households", "3000"])
    assert result.exit_code == 0, result.output

    before = path.read_text()
    result = runner.invoke(app, ["scenario", "new", "monsoon-2025", "--out", str(path)])
    assert result.exit_code == 2
    assert f"{path}: already exists" in result.output
    assert path.read_text() == before


def test_scenario_new_default_path_and_bad_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["scenario", "new", "drought-thar"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "drought-thar.yaml").exists()
    result = runner.invoke(app, ["scenario", "new", "Bad Name"])
    assert result.exit_code == 2 and "lower-case letters, digits and dashes" in result.output
    assert "{name}" in SCENARIO_TEMPLATE


@pytest.mark.parametrize("command", [["run"], ["validate"], ["compare"], ["export"], ["scenario", "new"],
                                     ["registry", "generate"], ["registry", "validate"]])
def test_help_has_an_example(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output and "madad " in result.output
