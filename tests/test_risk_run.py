"""``madad risk`` end to end: event sets in, the risk run folder out, figures that reconcile."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from affine import Affine
from typer.testing import CliRunner

from hazards import stochastic
from hazards.errors import ScenarioError
from hazards.layer import make_layer
from simulator import scenario
from simulator.cli.main import app
from simulator.plans import risk_run

ROOT = Path(__file__).resolve().parents[1]
RES = 0.25


def toy(kind: str, units: str):
    """A footprint function: a blob in Sindh and south Punjab whose depth grows with ln T."""

    def footprint(*, return_period: float, seed: int):
        rng = np.random.default_rng(seed)
        yy, xx = np.mgrid[0:40, 0:40]
        cy, cx = rng.integers(8, 32, 2)
        depth = (0.2 + 0.5 * math.log(return_period)) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 40.0)
        depth[depth < 0.05] = 0
        return make_layer(depth.astype(np.float32), Affine(RES, 0, 66.0, 0, -RES, 31.0), "EPSG:4326",
                          units=units, kind=kind, provenance={"toy": True})

    return footprint


def _save(tmp_path: Path, kind: str, n: int, years: int, seed: int, units: str = "m") -> Path:
    es = stochastic.stochastic(kind, n, years=years, seed=seed, footprint=toy(kind, units))
    return es.save(tmp_path / f"{kind}-{seed}.npz")


MIX = """
name: mix
title: two hazards
modelled_on: nothing (a test, not a reproduction)
seed: 3
registry: {synthetic_households: 6000}
hazards:
  - {name: river, kind: riverine-flood, file: x.tif, tiers: {affected: 0.4, severely_affected: 1.2}}
  - {name: flash, kind: flash-flood, file: y.tif, threshold: 0.6}
policy:
  programmes:
    - {name: relief, owner: federal, expansion: all_affected, pmt_max: 32, source: test,
       transfer: {by_tier_pkr: {affected: 25000, severely_affected: 35000}}}
cost_sharing: {rule: fixed, federal_share: 0.5}
"""


def test_a_mix_adds_up_year_by_year(tmp_path):
    scn = scenario.parse(MIX)
    a, b = _save(tmp_path, "riverine-flood", 30, 40, 1), _save(tmp_path, "flash-flood", 20, 40, 2)
    sets = risk_run.event_sets(scn, files=[a, b])
    mix = risk_run.run(scn, sets)
    alone = [risk_run.run(scn, risk_run.event_sets(scn, files=[f])) for f in (a, b)]
    assert mix.n_years == 40 and mix.payouts.n_events == 50
    assert mix.section["evaluation"]["by_hazard"] == {"flash-flood": 20, "riverine-flood": 30}
    # years add: the mix's total per year is the sum of the sets' totals in that year
    def annual(res):
        t = res.table
        return (t.federal_pkr + t.provincial_pkr).groupby(t.year).sum().reindex(range(1, 41), fill_value=0)
    assert (annual(mix) == annual(alone[0]) + annual(alone[1])).all()
    aal = mix.section["metrics"]["total"]["aal"]["aal_pkr"]
    assert abs(aal - int(annual(mix).sum()) / 40) <= 0.5
    # every event reconciles exactly: federal + provincial over provinces = the event's total
    t = mix.table
    assert int((t.federal_pkr + t.provincial_pkr).sum()) == int(mix.payouts.total_pkr.sum())


def test_refusals(tmp_path):
    scn = scenario.parse(MIX)
    with pytest.raises(ScenarioError, match="no event set to run"):
        risk_run.event_sets(scn)
    a, b = _save(tmp_path, "riverine-flood", 5, 40, 1), _save(tmp_path, "flash-flood", 5, 30, 2)
    with pytest.raises(ScenarioError, match="different numbers of years"):
        risk_run.run(scn, risk_run.event_sets(scn, files=[a, b]))
    heat = _save(tmp_path, "heatwave", 3, 10, 4, units="degC")
    with pytest.raises(ScenarioError, match="no heatwave hazard"):
        risk_run.run(scn, risk_run.event_sets(scn, files=[heat]))
    with pytest.raises(ScenarioError, match="no such event set"):
        risk_run.event_sets(scn, files=[tmp_path / "missing.npz"])


def test_cli_writes_the_risk_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("MADAD_CACHE", str(tmp_path / "cache"))
    scn_path = tmp_path / "mix.yaml"
    scn_path.write_text(MIX)
    a = _save(tmp_path, "riverine-flood", 40, 40, 1)
    out = tmp_path / "risk"
    r = CliRunner().invoke(app, ["risk", str(scn_path), "--events", str(a), "--out", str(out),
                                 "--json", str(tmp_path / "risk.json")])
    assert r.exit_code == 0, r.output
    assert "In an average year the federal government pays" in r.output
    assert "10 y" in r.output and "federal" in r.output
    names = {p.name for p in out.iterdir()}
    assert names == {"event_payouts.parquet", "risk.json", "risk.xlsx", "risk.pdf", "exceedance.png", "manifest.json"}
    manifest = json.loads((out / "manifest.json").read_text())
    from simulator.scenario import file_sha256

    for name, digest in manifest["outputs"].items():
        assert file_sha256(out / name) == digest
    assert manifest["inputs"]["event_sets"][0]["sha256"] == file_sha256(a)
    table = pd.read_parquet(out / "event_payouts.parquet")
    doc = json.loads((out / "risk.json").read_text())
    fed = doc["risk"]["metrics"]["federal"]["aal"]["aal_pkr"]
    assert abs(fed - table.federal_pkr.sum() / 40) <= 0.5
    # a rerun into the same folder replaces it; a folder with other files is refused
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    r = CliRunner().invoke(app, ["risk", str(scn_path), "--events", str(a), "--out", str(tmp_path / "other")])
    assert r.exit_code == 2 and "notes.txt" in r.output


def test_generated_sets_are_cached_by_recipe(tmp_path, monkeypatch):
    monkeypatch.setenv("MADAD_CACHE", str(tmp_path))
    scn = scenario.load(ROOT / "scenarios" / "karachi-heatwave-2015-style.yaml")
    params = {"bbox": (66.5, 23.6, 71.2, 28.6), "resolution": 0.1}
    first, rec = risk_run.generate_set("heatwave", 4, years=8, seed=1, params=params)
    again, rec2 = risk_run.generate_set("heatwave", 4, years=8, seed=1, params=params)
    assert rec["sha256"] == rec2["sha256"] and Path(rec["cache_file"]).parent == tmp_path / "events"
    other, rec3 = risk_run.generate_set("heatwave", 4, years=8, seed=2, params=params)
    assert rec3["cache_file"] != rec["cache_file"]
    res = risk_run.run(scn, [risk_run.SetInput(first, None, rec)], households=3000)
    assert res.payouts.expected  # heat_tmax under affected: share gives expectations
    assert res.n_years == 8


def test_a_plan_carries_the_risk_section(tmp_path, monkeypatch):
    """A scenario that declares financing.events gets the risk section in plan.json, the risk
    sheets in plan.xlsx and the risk pages in the brief."""
    import openpyxl

    from simulator import plans, publish
    from simulator.publish import pdf

    _save(tmp_path, "riverine-flood", 24, 24, 1)
    text = MIX.replace("x.tif", "flood.tif").replace("  - {name: flash, kind: flash-flood, file: y.tif, threshold: 0.6}\n", "")
    text += """
financing:
  events: [{file: riverine-flood-1.npz}]
  layers:
    - {name: federal fund, kind: fund, payer: federal, attachment_pkr: 0, limit_pkr: 2000000000, order: 1}
  triggers:
    - name: lower Sindh
      threshold: 0.2
      payout_pkr: 500000000
      index: {type: district_share, districts: [sd_dadu, sd_jamshoro, sd_hyderabad, sd_thatta]}
"""
    (tmp_path / "fin.yaml").write_text(text)
    layer = toy("riverine-flood", "m")(return_period=10, seed=1)
    from hazards.geotiff import write_geotiff

    write_geotiff(layer, tmp_path / "flood.tif")
    scn = scenario.load(tmp_path / "fin.yaml")
    res = plans.run(scn, base=tmp_path, households=4000)
    risk = res.plan["risk"]
    assert risk["n_years"] == 24 and risk["layers"][0]["name"] == "federal fund"
    assert risk["triggers"][0]["name"] == "lower Sindh"
    paths = publish.write_run(res, tmp_path / "run", scenario_path=tmp_path / "fin.yaml")
    sheets = openpyxl.load_workbook(paths["plan.xlsx"], read_only=True).sheetnames
    assert {"risk-summary", "risk-metrics", "risk-layers", "risk-triggers"} <= set(sheets)
    manifest = json.loads(paths["manifest.json"].read_text())
    assert manifest["inputs"]["event_sets"][0]["file"].endswith("riverine-flood-1.npz")
    brief = pdf.write_pdf(tmp_path / "run", tmp_path / "brief.pdf")
    import pypdf

    text = "".join(page.extract_text() for page in pypdf.PdfReader(brief).pages)
    assert "Disaster risk financing" in text and "lower Sindh" in text


def test_dense_fields_are_stored_where_hazardous(tmp_path):
    """Heat and SPI footprints are dense fields; a stochastic set keeps the hazardous values only
    (below every shipped function's affected tier), and a scenario whose tier starts below what
    the set kept is refused with the fix."""
    from hazards import events

    fp = events.return_period_footprint("heatwave", bbox=(66.5, 23.6, 71.2, 28.6), resolution=0.1)
    kept = events.stochastic("heatwave", 3, years=3, seed=1, footprint=fp)
    whole = events.stochastic("heatwave", 3, years=3, seed=1, footprint=fp, intensity_threshold=None)
    assert kept.provenance["intensity_threshold"] == 39.0 and kept.intensity.data.min() >= 39.0
    assert kept.intensity.nnz < whole.intensity.nnz
    low = scenario.parse(MIX.replace(
        "  - {name: river, kind: riverine-flood, file: x.tif, tiers: {affected: 0.4, severely_affected: 1.2}}\n"
        "  - {name: flash, kind: flash-flood, file: y.tif, threshold: 0.6}",
        "  - {name: heat, kind: heatwave, file: x.tif, threshold: 33}"))
    with pytest.raises(ScenarioError, match="threshold 33"):
        risk_run.run(low, [risk_run.SetInput(kept, None, {})])
