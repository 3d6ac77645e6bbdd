"""The synthetic registry stands for the NSER; the households it misses are estimated apart."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from hazards import tables
from simulator import plans, scenario
from simulator.registry import synthetic

ROOT = Path(__file__).resolve().parents[1]


def test_synthetic_registry_is_the_nser_not_the_census():
    """35,000,000 NSER households (BISP) in every sample; Kafaalat about 9.3 M (BISP's 9.279 M in
    Jan-Mar 2024), where the census-sized registry gave 10.1 M."""
    nser = synthetic.nser_households()
    census = tables.districts().households_2023.to_numpy()
    assert nser.sum() == synthetic.NSER_HOUSEHOLDS == 35_000_000
    assert (nser <= census).all()
    np.testing.assert_allclose(nser / census, 35_000_000 / census.sum(), atol=1e-4)
    frame = synthetic.generate(50_000, seed=4)
    assert int(frame.weight.sum()) == 35_000_000
    kafaalat = int((frame.weight * frame.enrolled_kafaalat).sum())
    assert 8_800_000 <= kafaalat <= 9_800_000, kafaalat


def test_plan_reports_the_unregistered_apart_from_the_paid(tmp_path):
    path = ROOT / "scenarios" / "monsoon-flood-2022-observed.yaml"
    res = plans.run(scenario.load(path), base=path.parent, households=20_000)
    block = res.plan["unregistered"]
    t = block["totals"]
    assert t["census_households"] == int(tables.districts().households_2023.sum())
    assert t["registry_households"] == 35_000_000 == res.plan["totals"]["households"]
    assert t["unregistered_households"] == t["census_households"] - t["registry_households"]
    assert t["coverage"] == round(35_000_000 / t["census_households"], 4)
    d = pd.DataFrame(block["districts"])
    p = pd.DataFrame(block["provinces"])
    for col in ("affected_unregistered_households", "eligible_unregistered_households", "pkr_if_registered"):
        assert int(d[col].sum()) == t[col] == int(p[col].sum()), col
    assert 0 < t["eligible_unregistered_households"] <= t["affected_unregistered_households"] < t["unregistered_households"]
    # about 9 % more than the registry's affected (coverage 91.4 %), never in the paid figures
    affected = res.plan["totals"]["affected_households"]
    assert 0.08 * affected < t["affected_unregistered_households"] < 0.11 * affected
    assert res.plan["totals"]["paid_households"] == int(res.households.loc[res.households.amount_pkr > 0, "weight"].sum())
    # per district: the affected share of the registered, applied to the unregistered
    plan_d = pd.DataFrame(res.plan["districts"]).set_index("district_id")
    row = d.sort_values("affected_unregistered_households").iloc[-1]
    share = plan_d.loc[row.district_id, "affected_households"] / row.registry_households
    assert abs(row.affected_unregistered_households - row.unregistered_households * share) <= 0.5
    assert "not part of the paid figures" in block["basis"]

    from simulator import publish

    paths = publish.write_run(res, tmp_path / "run", scenario_path=path)
    written = json.loads(Path(paths["plan.json"]).read_text())
    assert written["unregistered"]["totals"] == t
    sheets = pd.read_excel(paths["plan.xlsx"], sheet_name=None)
    assert len(sheets["unregistered"]) == len(d)
    summary = dict(zip(sheets["summary"]["figure"], sheets["summary"]["value"], strict=False))
    assert int(summary["affected unregistered households (estimate)"]) == t["affected_unregistered_households"]


def test_published_plan_keeps_unregistered_national_and_provincial_only():
    from simulator.publish.disclosure.plan import suppress_plan

    path = ROOT / "scenarios" / "monsoon-flood-2022-observed.yaml"
    res = plans.run(scenario.load(path), base=path.parent, households=20_000)
    safe = suppress_plan(res.plan, k=10)
    assert safe["unregistered"]["districts"] == []
    assert safe["unregistered"]["totals"] == res.plan["unregistered"]["totals"]
    assert any("Unregistered" in rule for rule in safe["disclosure"]["rules"])
