"""The madad command line: run writes every file; registry generate/validate; exit codes."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import rasterio
from openpyxl import load_workbook
from typer.testing import CliRunner

from simulator.cli import app

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

    households = pq.read_table(out / "households.parquet").to_pandas()
    assert int(households.amount_pkr.sum()) == plan["totals"]["amount_pkr"]
    assert households.household_id.is_unique
    wb = load_workbook(out / "plan.xlsx")
    assert wb.sheetnames == ["summary", "provinces", "districts", "cost-sharing", "dedup-budget", "instalments", "assumptions"]
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
