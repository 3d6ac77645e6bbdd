"""What explains the difference between two plans: the policy parameters that differ.

Two scenarios are compared parameter by parameter (:func:`parameters`): the transfer of each
programme, its PMT cut-offs, expansion and eligibility, the instalments, dedup, the
cost-sharing rule and federal share, the budget ceilings and the hazard tiers. When the two
differ only in policy (the same hazards, seed and households), :func:`attribute` explains the
change in paid households and PKR one parameter at a time: each differing parameter is applied
alone to the baseline and the plan rebuilt; what the parts do not explain is the interaction of
the changes (e.g. a higher transfer paid to the households a higher cut-off adds). The parts
and the interaction add up exactly to the total difference (integers).

When the hazards, the seed or the registry differ, the difference is not split: it belongs to
the scenario as a whole (:attr:`Attribution.scenario` names what differs).

Example
-------
>>> from simulator import plans, scenario
>>> lib = scenario.load("scenarios/indus-flood-demo.yaml")  # doctest: +SKIP
>>> mine = scenario.with_what_if(lib, transfer_pkr=30_000, pmt_max=40)  # doctest: +SKIP
>>> att = attribute(lib, mine, lambda s: plans.run(s, households=20_000).plan)  # doctest: +SKIP
>>> [(p.label, p.change["amount_pkr"]) for p in att.parts]  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from hazards.errors import ScenarioError
from simulator.scenario import Scenario

log = logging.getLogger(__name__)

__all__ = [
    "FIGURES",
    "KINDS",
    "Attribution",
    "Parameter",
    "Part",
    "Row",
    "apply",
    "attribute",
    "parameters",
    "scenario_differences",
]

#: The plan totals a difference is attributed in [households, PKR].
FIGURES = ("paid_households", "amount_pkr", "federal_pkr")

#: Every kind of parameter, with its words (a closed set: the app has a label for each).
KINDS: dict[str, str] = {
    "programmes": "programmes",
    "name": "name",
    "owner": "run by",
    "expansion": "who it reaches",
    "transfer": "transfer",
    "pmt_cutoff": "PMT cut-off",
    "categories": "categories",
    "provinces": "provinces",
    "min_tier": "least severe tier paid",
    "instalments": "instalments",
    "poverty_line": "poverty line (PMT)",
    "dedup": "dedup rule",
    "cost_sharing_rule": "cost-sharing rule",
    "federal_share": "federal share",
    "federal_budget": "federal budget ceiling",
    "provincial_budgets": "provincial budget ceilings",
    "budget_priority": "budget priority",
    "tiers": "affected from (tiers)",
    "impact": "impact function",
    "affected_by": "affected counted by",
    "combine": "several hazards combined by",
}

# Where each kind sits (paths relative to a programme, a hazard or the scenario).
_PROGRAMME: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("name", ("name",)),
    ("owner", ("owner",)),
    ("expansion", ("expansion", "beneficiaries_of")),
    ("transfer", ("transfer",)),
    ("pmt_cutoff", ("pmt_max", "pmt_max_by_province", "category_pmt_max")),
    ("categories", ("categories",)),
    ("provinces", ("provinces",)),
    ("min_tier", ("min_tier",)),
)
_SCENARIO: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = (
    ("instalments", (("policy", "instalments"),)),
    ("poverty_line", (("policy", "poverty_line_pmt"),)),
    ("dedup", (("dedup", "rule"), ("dedup", "base"), ("dedup", "order"))),
    ("cost_sharing_rule", (("cost_sharing", "rule"), ("cost_sharing", "key"))),
    ("federal_share", (("cost_sharing", "federal_share"),)),
    ("federal_budget", (("budget", "federal_pkr"),)),
    ("provincial_budgets", (("budget", "provincial_pkr"),)),
    ("budget_priority", (("budget", "priority"),)),
    ("combine", (("combine",),)),
)
_HAZARD: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("tiers", ("threshold", "tiers")),
    ("impact", ("impact",)),
    ("affected_by", ("affected",)),
)
#: Hazard fields that make a different footprint (a different scenario, not a policy).
FOOTPRINT = ("kind", "file", "units", "variable", "time", "generator", "admin_table")
#: Fields of no effect on the figures (citations and labels), neither policy nor scenario.
IGNORED = {
    "programme": ("source", "name_ur"),
    "hazard": ("name", "source"),
    "cost_sharing": ("source",),
}


@dataclass(frozen=True)
class Parameter:
    """One policy parameter: a kind (:data:`KINDS`) of a programme, a hazard or the scenario."""

    key: str  #: where, e.g. ``policy.programmes[0].transfer``
    kind: str  #: a key of :data:`KINDS`
    owner: str | None  #: the programme's name or the hazard's label; None for the scenario
    paths: tuple[tuple[str | int, ...], ...]  #: the fields it sets (keys and list positions)

    @property
    def label(self) -> str:
        """Its words: ``"BISP flood relief: transfer"``."""
        return f"{self.owner}: {KINDS[self.kind]}" if self.owner else KINDS[self.kind]

    def value(self, raw: Mapping[str, Any]) -> Any:
        """Its value in a scenario's ``model_dump()``: the field's, or a tuple of its fields'."""
        values = tuple(_get(raw, path) for path in self.paths)
        return values[0] if len(values) == 1 else values


@dataclass(frozen=True)
class Row:
    """A parameter and its value in each scenario compared."""

    parameter: Parameter
    values: tuple[Any, ...]

    @property
    def differs(self) -> bool:
        return any(v != self.values[0] for v in self.values[1:])


@dataclass(frozen=True)
class Part:
    """The change one parameter (or several, taken together) makes on its own.

    ``change`` maps each of :data:`FIGURES` to an integer; None when the parameter cannot be
    applied alone (the scenario would be invalid, e.g. an affected threshold above the
    severely affected one): its effect is then in the interaction."""

    parameters: tuple[Parameter, ...]
    change: dict[str, int] | None
    problem: str = ""

    @property
    def label(self) -> str:
        return " + ".join(p.label for p in self.parameters)


@dataclass(frozen=True)
class Attribution:
    """The difference ``other - base`` of each figure and what it is attributed to."""

    total: dict[str, int]
    parts: list[Part] = field(default_factory=list)
    interaction: dict[str, int] = field(default_factory=dict)
    #: What makes the scenarios differ beyond policy (empty: the parts are the attribution)
    scenario: list[str] = field(default_factory=list)

    @property
    def attributed(self) -> bool:
        """True when the difference is split between the parameters (policy only differs)."""
        return not self.scenario

    def check(self) -> None:
        """The parts and the interaction add up to the total (an internal invariant)."""
        for f, total in self.total.items():
            parts = sum(p.change[f] for p in self.parts if p.change is not None)
            assert parts + self.interaction.get(f, 0) == total, f


def _get(raw: Any, path: Sequence[str | int]) -> Any:
    for step in path:
        if isinstance(step, int):
            raw = raw[step] if isinstance(raw, list) and step < len(raw) else None
        else:
            raw = raw.get(step) if isinstance(raw, Mapping) else None
        if raw is None:
            return None
    return raw


def _set(raw: Any, path: Sequence[str | int], value: Any) -> None:
    for step in path[:-1]:
        raw = raw[step]
    raw[path[-1]] = copy.deepcopy(value)


def _dump(scn: Scenario) -> dict[str, Any]:
    return scn.model_dump(mode="python")


def _catalogue(raws: Sequence[Mapping[str, Any]]) -> list[Parameter]:
    """Every parameter the scenarios can be compared on, in the scenario's order."""
    out: list[Parameter] = []
    progs = [r["policy"]["programmes"] for r in raws]
    if len({len(p) for p in progs}) == 1:
        for i, prog in enumerate(progs[0]):
            for kind, names in _PROGRAMME:
                out.append(Parameter(f"policy.programmes[{i}].{kind}", kind, prog["name"],
                                     tuple(("policy", "programmes", i, n) for n in names)))
    else:  # programmes added or removed: the list is one parameter
        out.append(Parameter("policy.programmes", "programmes", None, (("policy", "programmes"),)))
    for kind, paths in _SCENARIO[:1]:
        out.append(Parameter(".".join(paths[0]), kind, None, paths))
    hazards = [r["hazards"] for r in raws]
    if len({len(h) for h in hazards}) == 1:
        for i, spec in enumerate(hazards[0]):
            label = spec.get("name") or spec.get("kind")
            for kind, names in _HAZARD:
                out.append(Parameter(f"hazards[{i}].{kind}", kind, label,
                                     tuple(("hazards", i, n) for n in names)))
    for kind, paths in _SCENARIO[1:]:
        out.append(Parameter(".".join(paths[0]), kind, None, paths))
    return out


def parameters(scenarios: Sequence[Scenario], *, every: bool = False) -> list[Row]:
    """The policy parameters of ``scenarios`` with each one's value.

    Parameters
    ----------
    scenarios : sequence of Scenario
        Two or more scenarios, the first the baseline.
    every : bool
        Every parameter; by default only those whose value differs between the scenarios.

    Returns
    -------
    list of Row
        Programme by programme (transfer, cut-offs, expansion, eligibility), then instalments,
        hazard tiers, poverty line, dedup, cost-sharing rule and federal share, budgets. When
        the scenarios have different numbers of programmes, the programmes are one row.
    """
    raws = [_dump(s) for s in scenarios]
    rows = [Row(p, tuple(p.value(r) for r in raws)) for p in _catalogue(raws)]
    return rows if every else [r for r in rows if r.differs]


def scenario_differences(base: Scenario, other: Scenario) -> list[str]:
    """What makes two scenarios differ beyond their policy: ``"seed"``, ``"registry"``,
    ``"hazards"`` (their number) or a hazard's footprint field (``"hazards[0].generator"``).
    Empty when only the policy differs."""
    a, b = _dump(base), _dump(other)
    out = [k for k in ("seed", "registry") if a[k] != b[k]]
    if len(a["hazards"]) != len(b["hazards"]):
        return [*out, "hazards"]
    for i, (ha, hb) in enumerate(zip(a["hazards"], b["hazards"], strict=True)):
        out += [f"hazards[{i}].{k}" for k in FOOTPRINT if ha.get(k) != hb.get(k)]
    return out


def apply(base: Scenario, other: Scenario, params: Sequence[Parameter]) -> Scenario:
    """``base`` with the values ``params`` have in ``other``.

    Raises
    ------
    ScenarioError
        The combination is not a valid scenario (the message gives the fields).
    """
    raw, source = _dump(base), _dump(other)
    for p in params:
        for path in p.paths:
            _set(raw, path, _get(source, path))
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ScenarioError(f"{base.name}: {' + '.join(p.label for p in params)} of {other.name} "
                            f"cannot be applied alone ({problems}).") from None


def _figures(plan: Mapping[str, Any], figures: Sequence[str]) -> dict[str, int]:
    totals = plan["totals"]
    return {f: int(totals.get(f) or 0) for f in figures}


def attribute(base: Scenario, other: Scenario, build: Callable[[Scenario], Mapping[str, Any]], *,
              figures: Sequence[str] = FIGURES, max_parameters: int = 8,
              same_households: bool = True) -> Attribution:
    """The difference ``other - base`` in each figure, split between the policy parameters.

    Parameters
    ----------
    base, other : Scenario
        The baseline and the scenario compared with it.
    build : callable
        Builds the plan of a scenario (a dict with ``totals``), e.g. the engine and the plan
        on a cached registry and hazards. Called for ``base``, ``other`` and once per
        differing parameter (the baseline with that parameter alone changed).
    figures : sequence of str
        Keys of the plan's ``totals`` to attribute [households, PKR].
    max_parameters : int
        At most this many parts: the parameters beyond ``max_parameters - 1`` are taken
        together as one part (bounding the number of plans built).
    same_households : bool
        False when the two run on different registries: the difference then belongs to the
        scenario as a whole.

    Returns
    -------
    Attribution
        ``total``: each figure's difference [int]. When only the policy differs, ``parts``
        (one per differing parameter, in :func:`parameters` order: the change it makes alone)
        and ``interaction`` (the rest), which add up exactly to ``total``. Otherwise no parts,
        and ``scenario`` names what differs beyond policy.
    """
    a, b = _figures(build(base), figures), _figures(build(other), figures)
    total = {f: b[f] - a[f] for f in figures}
    beyond = scenario_differences(base, other) + ([] if same_households else ["registry source"])
    if beyond:
        return Attribution(total=total, scenario=beyond)
    differing = [r.parameter for r in parameters([base, other])]
    groups = [(p,) for p in differing]
    if len(groups) > max(max_parameters, 1):
        keep = max(max_parameters - 1, 0)
        groups = groups[:keep] + [tuple(differing[keep:])]
    parts = []
    for group in groups:
        try:
            alone = _figures(build(apply(base, other, group)), figures)
        except ScenarioError as exc:
            log.info("attribution: %s", exc)
            parts.append(Part(group, None, str(exc)))
            continue
        parts.append(Part(group, {f: alone[f] - a[f] for f in figures}))
    explained = {f: sum(p.change[f] for p in parts if p.change is not None) for f in figures}
    out = Attribution(total=total, parts=parts, interaction={f: total[f] - explained[f] for f in figures})
    out.check()
    return out
