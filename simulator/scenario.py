"""Scenario files: strict pydantic models read from YAML, with errors that name file, line and field."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from simulator.errors import ScenarioError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegistrySpec(_Strict):
    """Where households come from: a file, or the seeded synthetic generator."""

    path: str | None = Field(None, description="GeoParquet/Parquet/CSV registry; relative to the scenario file")
    synthetic_households: int = Field(200_000, ge=0, description="households to generate when no path is given")


class RiverineFloodParams(_Strict):
    river: str = "indus"
    return_period: float = Field(50.0, ge=1.0, description="years")
    bbox: tuple[float, float, float, float] = (66.5, 23.6, 72.0, 31.9)
    resolution: float = Field(1.0 / 120.0, gt=0, description="degrees")


class HazardSpec(_Strict):
    """The hazard: a raster file, or a generator and its parameters."""

    kind: Literal["riverine-flood"] = "riverine-flood"
    file: str | None = Field(None, description="GeoTIFF; relative to the scenario file")
    units: str | None = Field(None, description="units of the file's values when it does not say")
    generator: RiverineFloodParams | None = None
    threshold: float = Field(0.5, ge=0, description="exposure threshold in the layer's units (flood depth in m)")

    @model_validator(mode="after")
    def _one_source(self) -> HazardSpec:
        if (self.file is None) == (self.generator is None):
            raise ValueError("give exactly one of hazard.file or hazard.generator")
        return self


class Eligibility(_Strict):
    pmt_max: float = Field(32.0, ge=0, le=100, description="eligible when PMT score <= this (BISP Kafaalat: 32)")


class Policy(_Strict):
    eligibility: Eligibility = Eligibility()
    transfer_pkr: int = Field(25_000, ge=0, description="one-off transfer per eligible affected family [PKR]")


class CostSharing(_Strict):
    rule: Literal["fixed"] = "fixed"
    federal_share: float = Field(0.5, ge=0, le=1, description="federal share of every household's amount")


class BoundarySpec(_Strict):
    path: str
    layer: str | None = None
    code_column: str = "district_id"
    name_column: str | None = None


class Scenario(_Strict):
    """A scenario: hazard, registry, policy and cost-sharing, with its stated assumptions."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    modelled_on: str | None = Field(None, description="the event this is modelled on (not a reproduction of)")
    description: str = ""
    assumptions: list[str] = []
    seed: int = 0
    registry: RegistrySpec = RegistrySpec()
    hazard: HazardSpec
    policy: Policy = Policy()
    cost_sharing: CostSharing = CostSharing()
    boundaries: BoundarySpec | None = None


def _line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at ``loc`` (or of its deepest existing parent)."""
    node, line = root, None
    for key in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            match = [v for k, v in node.value if k.value == key]
            if not match:
                break
            keyed = [k for k, v in node.value if k.value == key][0]
            line = keyed.start_mark.line + 1
            node = match[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    return line


def parse(text: str, *, source: str = "<scenario>") -> Scenario:
    """Parse scenario YAML; every problem is reported with file, line and field."""
    try:
        root = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ScenarioError(f"{source}{where}: not valid YAML ({exc}).") from exc
    if not isinstance(raw, dict):
        raise ScenarioError(f"{source}: a scenario is a YAML mapping (name:, title:, hazard: ...).")
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            field = ".".join(str(p) for p in loc) or "(top level)"
            line = _line_of(root, loc)
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                parent = Scenario
                for part in loc[:-1]:
                    info = getattr(parent, "model_fields", {}).get(part)
                    ann = getattr(info, "annotation", None)
                    parent = next(
                        (a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type) and issubclass(a, BaseModel)),
                        None,
                    )
                    if parent is None:
                        break
                allowed = sorted(parent.model_fields) if parent else []
                msg = f"unknown field; allowed here: {', '.join(allowed)}"
            lines.append(f"{source}:{line or '?'}: {field}: {msg}")
        raise ScenarioError("\n".join(lines)) from None


def load(path: str | Path) -> Scenario:
    """Read a scenario YAML file."""
    path = Path(path)
    if not path.exists():
        raise ScenarioError(f"{path}: no such scenario file. See scenarios/ for examples.")
    return parse(path.read_text(encoding="utf-8"), source=str(path))


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
