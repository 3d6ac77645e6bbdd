"""Who is affected follows the impact table's share; footprints compared with the record over seeds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from affine import Affine

from hazards.errors import DataFileError, ScenarioError
from hazards.layer import make_layer
from simulator import engine, registry
from simulator.engine.overlay import uniform_draws
from simulator.plans import backtest
from simulator.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]


def _scenario(**hazard) -> Scenario:
    spec = {"name": "flood", "kind": "riverine-flood", "file": "x.tif", **hazard}
    return Scenario.model_validate({
        "name": "t", "title": "t", "seed": 7,
        "hazards": [spec],
        "policy": {"programmes": [{"name": "p", "owner": "federal", "expansion": "all_affected",
                                   "transfer": {"by_tier_pkr": {"affected": 1000}}}]},
    })


def _households(n: int = 40_000):
    frame = registry.generate(n, seed=3)
    return registry.validate(frame, source="test").households


def _flat(depth: float):
    """A flat flood of ``depth`` m over all of Pakistan."""
    res = 0.05
    transform = Affine(res, 0, 60.5, 0, -res, 37.5)
    values = np.full((int(14 / res), int(17.5 / res)), depth, dtype=np.float32)
    return make_layer(values, transform, "EPSG:4326", units="m", kind="riverine-flood", provenance={"test": "flat"})


def test_uniform_draws_are_per_household_and_uniform():
    full = uniform_draws(np.arange(200_000), 5, "flood")
    part = uniform_draws(np.arange(1000, 2000), 5, "flood")
    np.testing.assert_array_equal(full[1000:2000], part)
    assert 0.49 < full.mean() < 0.51 and full.min() >= 0 and full.max() < 1
    assert not np.array_equal(full, uniform_draws(np.arange(200_000), 6, "flood"))
    assert not np.array_equal(full, uniform_draws(np.arange(200_000), 5, "rain"))


def test_share_rule_counts_expected_households_and_tier_rule_everyone():
    """A weighted row counts w x share households (rounded up or down), split from the rest; a
    row of one household is drawn; the tier rule affects everyone above the tier."""
    from hazards import impact

    hh = _households()
    cols = engine.household_columns(hh)
    layer = _flat(1.0)  # 1 m: at or above every housing type's affected tier (data/impact)
    share = impact.load("flood_depth_damage").share(np.ones(len(hh)), housing=cols["housing"])
    tier = engine.evaluate(_scenario(impact="flood_depth_damage", affected="tier"), cols, [layer])
    assert (tier.tier > 0).all() and tier.row is None
    weighted = engine.evaluate(_scenario(impact="flood_depth_damage"), cols, [layer])
    affected = weighted.weight[weighted.tier > 0]
    expected = cols["weight"] * share
    counts = np.bincount(weighted.row, weights=(weighted.tier > 0) * weighted.weight, minlength=len(hh))
    assert (np.abs(counts - expected) < 1).all()  # floor or ceil of the expected count
    assert abs(affected.sum() - expected.sum()) < 0.01 * expected.sum()
    # households are conserved: each split row's parts add up to its weight
    np.testing.assert_array_equal(np.bincount(weighted.row, weights=weighted.weight, minlength=len(hh)),
                                  cols["weight"])
    ones = dict(cols, weight=np.ones(len(hh), dtype=np.int64))
    drawn = engine.evaluate(_scenario(impact="flood_depth_damage"), ones, [layer])
    assert drawn.row is None  # one household per row: affected or not, never split
    assert abs((drawn.tier > 0).mean() - share.mean()) < 0.01


def test_affected_rule_needs_an_impact_function():
    with pytest.raises(ValueError, match="affected: tier applies"):
        _scenario(tiers={"affected": 0.5}, affected="tier")


def test_footprint_check_reports_every_target(tmp_path):
    from simulator import scenario as scenario_mod
    from simulator.publish.backtest import write_backtest_xlsx

    scn = scenario_mod.load(ROOT / "scenarios" / "indus-flood-demo.yaml")
    hh = _households(20_000)
    report = backtest.footprint_check(scn, hh, event="2022", seeds=[1, 2], base=ROOT / "scenarios")
    figures = [c["figure"] for c in report["checks"]]
    assert figures[0].startswith("caseload") and any("Spearman" in f for f in figures)
    assert {"PB's share of households paid", "KP's share of households paid"} <= set(figures)
    for check in report["checks"]:
        assert check["model"]["p10"] <= check["model"]["p50"] <= check["model"]["p90"]
        assert 0 <= check["met_in"] <= 2 and check["source"]
    json.dumps(report)
    text = backtest.format_report(report)
    assert "fact 2,759,601" in text and "2 seeds" in text
    import openpyxl

    book = openpyxl.load_workbook(write_backtest_xlsx(report, tmp_path / "bt.xlsx"))
    rows = list(book["backtest"].iter_rows(values_only=True))
    assert rows[2][:2] == ("figure", "p10") and rows[3][4] == 2_759_601
    assert len(rows) == 3 + len(report["checks"])


def test_facts_table_has_a_source_on_every_row():
    facts = backtest.read_facts()
    assert facts.source.str.len().min() > 10
    ev = backtest.event_record("2022", facts)
    assert ev.caseload == 2_759_601 and ev.provinces["SD"] == 1_810_129
    assert len(ev.extent) == 156 and ev.extent["sd_badin"] > 50
    assert backtest.event_record("2010", facts).caseload == 1_620_000


def test_footprint_check_errors_name_the_fix(tmp_path):
    from simulator import scenario as scenario_mod

    scn = scenario_mod.load(ROOT / "scenarios" / "indus-flood-demo.yaml")
    hh = _households(5_000)
    with pytest.raises(DataFileError, match="--facts"):
        backtest.footprint_check(scn, hh, event="2022", seeds=[1], facts=tmp_path / "none.csv",
                                 base=ROOT / "scenarios")
    (tmp_path / "bad.csv").write_text("event,value\n2022,1\n")
    with pytest.raises(DataFileError, match="columns"):
        backtest.footprint_check(scn, hh, event="2022", seeds=[1], facts=tmp_path / "bad.csv")
    with pytest.raises(ScenarioError, match="2010"):
        backtest.footprint_check(scn, hh, event="1992", seeds=[1])


@pytest.mark.slow
@pytest.mark.parametrize("name, event, caseload, extra", [
    # 2022-style: README's 20-seed P50 2.09 M (an NSER of 35 M households), Sindh 62.0 %,
    # Spearman 0.76 (5 seeds here)
    ("monsoon-flood-2022-style", "2022", (1_900_000, 2_330_000), {"sindh": (0.585, 0.72), "rho": 0.72}),
    # 2010-style: README's P50 1.81 M against the Watan card's 1.62 M
    ("indus-riverine-2010-style", "2010", (1_560_000, 1_850_000), {}),
])
def test_library_footprints_stay_credible(name, event, caseload, extra):
    """Pinned: a change that moves the library scenarios away from the record fails here."""
    from simulator import scenario as scenario_mod
    from simulator.plans.orchestrator import load_registry

    path = ROOT / "scenarios" / f"{name}.yaml"
    scn = scenario_mod.load(path)
    reg, _ = load_registry(scn, base=path.parent)
    report = backtest.footprint_check(scn, reg.households, event=event,
                                      seeds=[scn.seed + i for i in range(5)], base=path.parent)
    checks = {c["figure"]: c for c in report["checks"]}
    p50 = checks["caseload (households paid)"]["model"]["p50"]
    assert caseload[0] <= p50 <= caseload[1], p50
    if "sindh" in extra:
        sd = checks["Sindh's share of households paid"]["model"]["p50"]
        assert extra["sindh"][0] <= sd <= extra["sindh"][1], sd
        assert checks["KP's share of households paid"]["model"]["p10"] > 0.05
        assert checks["PB's share of households paid"]["model"]["p10"] > 0.05
        rho = next(c for f, c in checks.items() if f.startswith("Spearman"))["model"]["p50"]
        assert rho >= extra["rho"], rho


def test_declared_share_counts_expected_households(tmp_path):
    """A declared district share (NDMA or UNOSAT figures) counts like an impact function's share:
    the expected number of a weighted registry's households, at the declared severity if any."""
    from hazards.admin import read_admin_table

    hh = _households()
    cols = engine.household_columns(hh)
    table = tmp_path / "declared.csv"
    table.write_text("district_id,share_affected\nsd_badin,0.6\nsd_larkana,0.95\n")
    scn = Scenario.model_validate({
        "name": "t", "title": "t", "seed": 7,
        "hazards": [{"name": "declared", "kind": "riverine-flood", "admin_table": str(table)}],
        "policy": {"programmes": [{"name": "p", "owner": "federal", "expansion": "all_affected",
                                   "transfer": {"by_tier_pkr": {"affected": 1000}}}]},
    })
    res = engine.evaluate(scn, cols, [read_admin_table(table)])
    district = cols["district"][res.row]
    for code, share in (("sd_badin", 0.6), ("sd_larkana", 0.95)):
        i = hh["district_id"].cat.categories.get_loc(code)
        total = cols["weight"][cols["district"] == i].sum()
        affected = res.weight[(district == i) & (res.tier > 0)].sum()
        assert abs(affected - share * total) <= (cols["district"] == i).sum(), (code, affected, share * total)
    assert (res.tier[np.isin(district, [hh["district_id"].cat.categories.get_loc(c) for c in ("sd_badin", "sd_larkana")], invert=True)] == 0).all()
    table.write_text("district_id,severity,share_affected\nsd_badin,displaced,0.5\n")
    res = engine.evaluate(scn, cols, [read_admin_table(table)])
    assert set(np.unique(res.tier[res.tier > 0])) == {3}


def test_sensitivity_ranks_the_demo_parameters(tmp_path):
    """Morris screening (SALib) of the demo: every parameter ranked; the transfer moves the PKR
    but not who is paid; the PMT cut-off moves the households paid."""
    from typer.testing import CliRunner

    from simulator.cli import app

    out = tmp_path / "sens.json"
    result = CliRunner().invoke(app, ["sensitivity", str(ROOT / "scenarios" / "indus-flood-demo.yaml"),
                                      "--trajectories", "2", "--households", "20000", "--json", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    rows = {r["parameter"]: r for r in report["parameters"]}
    assert set(rows) == {"pmt_max", "transfer", "tier_scale", "return_period", "coverage"}
    assert sorted(r["rank"] for r in rows.values()) == [1, 2, 3, 4, 5]
    assert rows["transfer"]["households_mu_star"] == 0 and rows["transfer"]["pkr_mu_star"] > 0
    assert rows["pmt_max"]["households_mu_star"] > 0
    assert report["runs"] == 2 * (5 + 1)
    assert "pmt_max" in result.output and "mu* households" in result.output
