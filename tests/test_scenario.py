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
        "hazard:\n"
        "  generator: {river: indus}\n"
        "policy:\n"
        "  transfer_pkr: 25000\n"
        "  transfr_value: 3\n"
    )
    with pytest.raises(ScenarioError, match=r"bad\.yaml:7: policy\.transfr_value: unknown field; allowed here: eligibility, transfer_pkr"):
        scenario.load(path)


def test_wrong_type_names_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\ntitle: Bad\nhazard:\n  generator: {}\n  threshold: deep\n")
    with pytest.raises(ScenarioError, match=r"bad\.yaml:5: hazard\.threshold: Input should be a valid number"):
        scenario.load(path)


def test_hazard_needs_exactly_one_source():
    with pytest.raises(ScenarioError, match="exactly one of hazard.file or hazard.generator"):
        scenario.parse("name: x\ntitle: X\nhazard:\n  threshold: 1\n")


def test_invalid_yaml_and_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match=r"s\.yaml:2: not valid YAML"):
        scenario.parse("name: x\n  title: [\n", source="s.yaml")
    with pytest.raises(ScenarioError, match="no such scenario file"):
        scenario.load(tmp_path / "none.yaml")
