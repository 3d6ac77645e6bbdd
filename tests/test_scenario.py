"""Scenario files: strict models, errors naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from hazards.errors import ScenarioError
from simulator import scenario


def test_every_library_scenario_validates(root):
    paths = sorted((root / "scenarios").glob("*.yaml"))
    assert paths
    for path in paths:
        scn = scenario.load(path)
        assert scn.name == path.stem


def test_unknown_field_names_line_and_allowed(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\n"
        "title: Bad\n"
        "hazards:\n"
        "  - generator: {river: indus}\n"
        "    threshold: 0.5\n"
        "policy:\n"
        "  programmes:\n"
        "    - name: relief\n"
        "      owner: federal\n"
        "      expansion: all_affected\n"
        "      transfer: {by_tier_pkr: {affected: 25000}, per_persn_pkr: 3}\n"
    )
    with pytest.raises(
        ScenarioError,
        match=r"bad\.yaml:11: policy\.programmes\.0\.transfer\.per_persn_pkr: unknown field; "
        r"allowed here: by_tier_pkr, cap_pkr, floor_pkr, per_person_pkr",
    ):
        scenario.load(path)


def test_wrong_type_names_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\ntitle: Bad\nhazards:\n  - generator: {}\n    threshold: deep\npolicy: {}\n")
    with pytest.raises(ScenarioError, match=r"bad\.yaml:5: hazards\.0\.threshold: Input should be a valid number"):
        scenario.load(path)


def test_hazard_needs_exactly_one_source():
    with pytest.raises(ScenarioError, match=r"x:4: hazards\.0: Value error, give exactly one of hazard.file, hazard.generator or hazard.admin_table"):
        scenario.parse("name: x\ntitle: X\nhazards:\n  - threshold: 1\n", source="x")


def test_invalid_yaml_and_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match=r"s\.yaml:2: not valid YAML"):
        scenario.parse("name: x\n  title: [\n", source="s.yaml")
    with pytest.raises(ScenarioError, match="no such scenario file"):
        scenario.load(tmp_path / "none.yaml")


def test_schema_json_is_current(root):
    """scenarios/schema.json is what the models say; refresh with `python -m simulator.scenario`."""
    import json

    committed = json.loads((root / "scenarios" / "schema.json").read_text())
    assert committed == json.loads(json.dumps(scenario.json_schema())), (
        "scenarios/schema.json is stale: run `.venv/bin/python -m simulator.scenario`"
    )


def test_every_library_scenario_follows_the_schema(root):
    """What an editor checks: each YAML in scenarios/ is valid under schema.json, and a typo is not."""
    import json

    import jsonschema
    import yaml

    schema = json.loads((root / "scenarios" / "schema.json").read_text())
    for path in sorted((root / "scenarios").glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    bad = yaml.safe_load((root / "scenarios" / "indus-flood-demo.yaml").read_text())
    bad["policy"]["programmes"][0]["transfr"] = 1
    with pytest.raises(jsonschema.ValidationError, match="transfr"):
        jsonschema.validate(bad, schema)


LIBRARY = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", LIBRARY, ids=[p.stem for p in LIBRARY])
def test_library_scenario_runs_and_reconciles(path, tmp_path):
    """Every library scenario runs on a small registry, labels itself as modelled on an event,
    states where every programme's rule comes from (``source:``; its notes state no amounts or
    cut-offs, which the plan writes from the policy used), and its money reconciles exactly."""
    from simulator import plans, publish

    scn = scenario.load(path)
    assert scn.modelled_on and ("not a reproduction" in scn.modelled_on or "observed footprint" in scn.modelled_on)
    assert all(p.source for p in scn.policy.programmes)
    assert not any("FACTS.md" in a or "../shared" in a for a in scn.assumptions)
    res = plans.run(scn, base=path.parent, households=4_000)
    t = res.plan["totals"]
    assert t["federal_pkr"] + t["provincial_pkr"] == t["amount_pkr"] == int(res.households.amount_pkr.sum())
    assert sum(p["amount_pkr"] for p in res.plan["provinces"]) == t["amount_pkr"]
    assert t["households"] == int(res.households.weight.sum())
    if scn.nser_update is not None:
        u = res.plan["nser_update"]["totals"]
        assert u["federal_pkr"] + u["provincial_pkr"] == u["total_pkr"] > 0
        assert u["districts"] == sum(1 for d in res.plan["districts"] if d["affected_households"])
    paths = publish.write_run(res, tmp_path / scn.name, scenario_path=path)
    assert {"plan.json", "plan.xlsx", "households.parquet", "manifest.json"} <= set(paths)


def test_an_edited_policy_is_named_in_the_plan():
    """A what-if on the demo (transfer 30,000, PMT 35) is edited in the title, the policy
    record and the assumptions; the poverty line of "affected poor not paid" moves with it."""
    from simulator import plans

    path = Path(__file__).resolve().parents[1] / "scenarios" / "indus-flood-demo.yaml"
    lib = scenario.load(path)
    mine = scenario.with_what_if(lib, transfer_pkr=30_000, pmt_max=35)
    res = plans.run(mine, base=path.parent, households=4_000, library=lib)
    p = res.plan
    assert p["scenario"]["title"].startswith(lib.title + " (edited: ")
    assert "PKR 30,000 (library PKR 25,000)" in p["scenario"]["title"]
    assert "PMT cut-off 35 (library 32)" in p["scenario"]["title"]
    assert p["policy"]["edited"] is True and p["policy"]["library"] == lib.name
    fields = {c["field"]: (c["library"], c["active"]) for c in p["policy"]["changes"]}
    assert fields["policy.programmes[0].transfer.by_tier_pkr.affected"] == (25_000, 30_000)
    assert fields["policy.programmes[0].pmt_max"] == (32, 35)
    assert p["targeting"]["poverty_line_pmt"] == 35
    text = " ".join(p["assumptions"])
    assert text.startswith("Policy edited from the library scenario indus-flood-demo")
    assert "PMT <= 35" in text and "PMT <= 32" not in text
    assert "affected PKR 30,000" in text and "PKR 25,000 per family" not in text
    # unedited: the library file is its own library
    same = plans.run(lib, base=path.parent, households=4_000)
    assert same.plan["policy"]["edited"] is False and same.plan["scenario"]["title"] == lib.title
