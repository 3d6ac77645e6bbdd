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

    scn = scenario_mod.load(ROOT / "scenarios" / "indus-flood-demo.yaml")
    hh = _households(20_000)
    extent = tmp_path / "unosat_flood_extent_2022_by_district.csv"
    ids = hh["district_id"].cat.categories
    extent.write_text("district_id,pct_area_flooded\n" + "".join(f"{d},{i % 7}\n" for i, d in enumerate(ids)))
    report = backtest.footprint_check(scn, hh, event="2022", seeds=[1, 2], facts_dir=tmp_path,
                                      base=ROOT / "scenarios")
    figures = [c["figure"] for c in report["checks"]]
    assert figures[0].startswith("caseload") and any("Spearman" in f for f in figures)
    assert {"PB's share of households paid", "KP's share of households paid"} <= set(figures)
    for check in report["checks"]:
        assert check["model"]["p10"] <= check["model"]["p50"] <= check["model"]["p90"]
        assert 0 <= check["met_in"] <= 2
    json.dumps(report)
    text = backtest.format_report(report)
    assert "fact 2,759,601" in text and "2 seeds" in text


def test_footprint_check_errors_name_the_fix(tmp_path):
    from simulator import scenario as scenario_mod

    scn = scenario_mod.load(ROOT / "scenarios" / "indus-flood-demo.yaml")
    hh = _households(5_000)
    with pytest.raises(DataFileError, match="--facts"):
        backtest.footprint_check(scn, hh, event="2022", seeds=[1], facts_dir=tmp_path, base=ROOT / "scenarios")
    with pytest.raises(ScenarioError, match="2010"):
        backtest.footprint_check(scn, hh, event="1992", seeds=[1], facts_dir=tmp_path)
