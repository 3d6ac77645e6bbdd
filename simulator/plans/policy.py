"""The policy actually used, and how it differs from the library file it started from.

A planner may start from a library scenario (``scenarios/*.yaml``) and change its policy: the
transfer, a cut-off, a threshold, the federal share, budgets. The plan then states the policy
actually used and every difference from the file, and its title says "edited" with what
changed, so that no output passes an edited policy off as the library's.

Example
-------
>>> from simulator import scenario
>>> lib = scenario.load("scenarios/indus-flood-demo.yaml")  # doctest: +SKIP
>>> mine = scenario.with_what_if(lib, transfer_pkr=30_000)  # doctest: +SKIP
>>> describe(differences(lib, mine))  # doctest: +SKIP
'BISP flood relief: transfer (affected) PKR 30,000 (library PKR 25,000)'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

#: Scenario fields that are not policy: names and notes. A change there is not an edit.
NOT_POLICY = frozenset({"name", "title", "description", "assumptions", "modelled_on"})


@dataclass(frozen=True)
class Change:
    """One difference between the library file and the policy used."""

    field: str  #: dotted path in the scenario, e.g. ``policy.programmes[0].pmt_max``
    label: str  #: the same in words, e.g. ``BISP flood relief: PMT cut-off``
    library: Any  #: the library file's value (None when the file does not set it)
    active: Any  #: the value used

    def text(self) -> str:
        """``"<label> <active> (library <library>)"`` with money and shares written out."""
        return f"{self.label} {_show(self.field, self.active)} (library {_show(self.field, self.library)})"


def _flatten(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not path and key in NOT_POLICY:
                continue
            out.update(_flatten(item, f"{path}.{key}" if path else str(key)))
        return out or {path: {}}
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = {}
        for i, item in enumerate(value):
            out.update(_flatten(item, f"{path}[{i}]"))
        return out
    return {path: value}


def _show(field: str, value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float) and (field.endswith("_pkr") or "_pkr." in field):
        return f"PKR {int(value):,}"
    if isinstance(value, float) and field.endswith("share"):
        return f"{value:.0%}" if round(value * 100, 6) == round(value * 100) else f"{value:.2%}"
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    return str(value)


def _label(field: str, scn: dict) -> str:
    """Words for a dotted scenario path, naming the programme or hazard it belongs to."""
    parts = field.split(".")
    head = parts[0]
    owner = ""
    if head.startswith("hazards["):
        i = int(head[len("hazards["):-1])
        hazards = scn.get("hazards", [])
        owner = (hazards[i].get("name") or hazards[i].get("kind")) if i < len(hazards) else head
        parts = parts[1:]
    elif head == "policy" and len(parts) > 1 and parts[1].startswith("programmes["):
        i = int(parts[1][len("programmes["):-1])
        progs = scn["policy"]["programmes"]
        owner = progs[i]["name"] if i < len(progs) else parts[1]
        parts = parts[2:]
    words = {
        ("pmt_max",): "PMT cut-off",
        ("threshold",): "affected from",
        ("tiers", "affected"): "affected from",
        ("tiers", "severely_affected"): "severely affected from",
        ("tiers", "displaced"): "displaced from",
        ("cost_sharing", "federal_share"): "federal share",
        ("cost_sharing", "rule"): "cost-sharing rule",
        ("budget", "federal_pkr"): "federal budget ceiling",
        ("policy", "poverty_line_pmt"): "poverty line (PMT)",
    }
    key = tuple(parts)
    if key in words:
        text = words[key]
    elif parts[:2] == ["transfer", "by_tier_pkr"] and len(parts) == 3:
        text = f"transfer ({parts[2].replace('_', ' ')})"
    else:
        text = ".".join(parts).replace("_", " ")
    return f"{owner}: {text}" if owner else text


def differences(library: Any | None, active: Any) -> list[Change]:
    """Every policy field where ``active`` differs from ``library`` (both scenarios).

    Parameters
    ----------
    library : Scenario or None
        The scenario as its file gives it; None when the scenario was built from scratch.
    active : Scenario
        The scenario actually run.

    Returns
    -------
    list of Change
        In the order of the scenario's fields; empty when nothing changed (or no library).
        Names, titles, descriptions and notes are not policy and are not compared.
    """
    if library is None:
        return []
    lib = library.model_dump(mode="json")
    now = active.model_dump(mode="json")
    before, after = _flatten(lib), _flatten(now)
    fields = list(after) + [f for f in before if f not in after]
    return [
        Change(field=f, label=_label(f, now if f in after else lib), library=before.get(f), active=after.get(f))
        for f in fields
        if before.get(f) != after.get(f)
    ]


def describe(changes: list[Change]) -> str:
    """The changes in one line, e.g. ``"transfer PKR 30,000 (library PKR 25,000); ..."``."""
    return "; ".join(c.text() for c in changes)


def edited_title(title: str, changes: list[Change]) -> str:
    """The title, marked ``(edited: ...)`` with what changed when anything did."""
    return f"{title} (edited: {describe(changes)})" if changes else title


def record(library: Any | None, active: Any, changes: list[Change] | None = None) -> dict:
    """What the plan and the manifest say of the policy: whether it is the library file's,
    and every difference from it (``changes``, or :func:`differences` when not given)."""
    changes = differences(library, active) if changes is None else changes
    return {
        "library": None if library is None else library.name,
        "library_title": None if library is None else library.title,
        "edited": bool(changes),
        "changes": [asdict(c) | {"text": c.text()} for c in changes],
    }
