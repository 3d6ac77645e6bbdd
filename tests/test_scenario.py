"""Scenario files: strict models, errors naming file, line and field."""

from __future__ import annotations

import pytest

from simulator import scenario
from simulator.errors import ScenarioError


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
    with pytest.raises(ScenarioError, match=r"x:4: hazards\.0: Value error, give exactly one of hazard.file or hazard.generator"):
        scenario.parse("name: x\ntitle: X\nhazards:\n  - threshold: 1\n", source="x")


def test_invalid_yaml_and_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match=r"s\.yaml:2: not valid YAML"):
        scenario.parse("name: x\n  title: [\n", source="s.yaml")
    with pytest.raises(ScenarioError, match="no such scenario file"):
        scenario.load(tmp_path / "none.yaml")
