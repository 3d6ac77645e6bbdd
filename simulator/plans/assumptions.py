"""The plan's assumptions in plain language, each sentence generated from the policy actually used.

Nothing here repeats the library file's prose about the policy: amounts, cut-offs, thresholds
and shares are written from the scenario that ran, and a rule the planner edited says so,
with the library file's value beside it.
"""

from __future__ import annotations

import pandas as pd

from simulator.plans.policy import Change, describe
from simulator.scenario import Scenario


def _money(v: int) -> str:
    return f"PKR {v:,}"


def _basis(source: str | None, changes: list[Change], prefix: str) -> str:
    """" Basis: <source>." for a rule as the library file has it; for an edited one, what the
    planner changed and the library's basis."""
    mine = [c for c in changes if c.field.startswith(prefix)]
    if mine:
        return f" Edited from the library file: {describe(mine)}" + (
            f"; the library's rule follows {source}." if source else ".")
    return f" Basis: {source}." if source else ""


def assumptions(
    scn: Scenario, layers: list, *, households: pd.DataFrame | None = None,
    weights: tuple[int, int] | None = None, changes: list[Change] | None = None,
) -> list[str]:
    """Plain-language assumptions of a run, for the plan and the Committee.

    Parameters
    ----------
    scn : Scenario
        The scenario actually run.
    layers : list
        Its hazard sources, one per ``scn.hazards`` entry.
    households : DataFrame, optional
        The validated registry (for the weights sentence).
    weights : (int, int), optional
        Instead of ``households``: its rows and the households they stand for.
    changes : list of Change, optional
        Differences from the library file (:func:`simulator.plans.policy.differences`): the
        first sentence then says the policy is edited, and each edited rule names its change.

    Returns
    -------
    list of str
        Generated sentences, then the scenario's own notes (``assumptions:`` in its file),
        which state no amounts or cut-offs (those travel in ``source:`` fields).
    """
    changes = changes or []
    out = []
    if changes:
        out.append(f"Policy edited from the library scenario {scn.name}: {describe(changes)}.")
    for i, (spec, layer) in enumerate(zip(scn.hazards, layers, strict=True)):
        basis = _basis(spec.source, changes, f"hazards[{i}]")
        if spec.admin_table is not None:
            tehsils = int((layer["tehsil_id"] != "").sum()) if "tehsil_id" in layer.columns else 0
            where = (f"declared districts and {tehsils} tehsil(s) ({spec.admin_table}); a tehsil's "
                     "row applies to the households carrying its tehsil_id, the district's to the "
                     "rest; " if tehsils else f"declared districts ({spec.admin_table}); ")
            out.append(
                f"Hazard {spec.label}: {where}a declared severity "
                "applies to every household of the district, a declared share affected to that "
                "share of its households (a seeded draw per household; a weighted synthetic row "
                "counts its expected number)." + basis
            )
            continue
        units = layer.attrs.get("units", "")
        if spec.impact is not None:
            rule = (
                "each household at or above the affected tier is affected with the function's "
                "share at its intensity (a seeded draw per household; a weighted synthetic row "
                "counts its expected number, its households times the share, rounded up or down "
                "at random so that the expectation is exact)"
                if spec.affected == "share"
                else "every household at or above the affected tier is affected (declared rule)"
            )
            out.append(
                f"Hazard {spec.label}: tiers from the impact function {spec.impact} "
                f"(by housing type; unknown housing counts as kacha), see data/impact/; {rule}." + basis
            )
        else:
            names = ["affected", "severely affected", "displaced"]
            steps = [f"{n} from {t:g} {units}" for n, t in zip(names, spec.tier_thresholds(), strict=True) if t != float("inf")]
            out.append(f"Hazard {spec.label}: {', '.join(steps)} at the household's location." + basis)
        if spec.generator is not None:
            out.append(f"Hazard {spec.label}: a modelled footprint, not an observed map.")
    if len(scn.hazards) > 1:
        out.append(f"Several hazards combine by {scn.combine}.")
    for i, p in enumerate(scn.policy.programmes):
        t = p.transfer
        amounts = ", ".join(f"{k.replace('_', ' ')} {_money(v)}" for k, v in t.by_tier_pkr.items())
        who = {
            "vertical": f"top-up to {', '.join(p.beneficiaries_of)} beneficiaries",
            "horizontal": f"households not in {', '.join(p.beneficiaries_of) or 'any programme'} with PMT <= {p.pmt_max}",
            "all_affected": "every affected household" + (f" with PMT <= {p.pmt_max}" if p.pmt_max is not None else ""),
        }[p.expansion]
        extra = []
        if p.pmt_max_by_province:
            extra.append("PMT cut-offs by province " + ", ".join(f"{k} {v}" for k, v in p.pmt_max_by_province.items()))
        if p.category_pmt_max:
            extra.append("category cut-offs " + ", ".join(f"{k} {v}" for k, v in p.category_pmt_max.items()))
        if p.categories:
            extra.append("only " + ", ".join(p.categories))
        if p.provinces:
            extra.append("in " + ", ".join(p.provinces))
        if t.per_person_pkr:
            extra.append(f"plus {_money(t.per_person_pkr)} per person")
        if t.floor_pkr or t.cap_pkr:
            extra.append(f"floor {_money(t.floor_pkr)}, cap {_money(t.cap_pkr) if t.cap_pkr else 'none'}")
        out.append(
            f"Programme {p.name} ({p.owner}, {p.expansion}): {who}; {amounts}"
            + (f"; {'; '.join(extra)}" if extra else "") + "."
            + _basis(p.source, changes, f"policy.programmes[{i}]")
        )
    inst = scn.policy.instalments
    if len(inst) > 1:
        out.append("Instalments: " + ", ".join(f"{i.share:.0%} on day {i.day}" for i in inst)
                   + " (each but the last rounded down to the rupee).")
    d = scn.dedup
    out.append(
        "Dedup: a household is paid once; "
        + (f"the {d.base} programme pays the base and the other tops up to its own amount."
           if d.rule == "top_up" else f"only the first of {' then '.join(d.order)} entitled pays.")
    )
    cs = scn.cost_sharing
    rule = {
        "fixed": f"federal {cs.federal_share:.2%} of every amount, the household's province the rest",
        "ownership": "each programme's owner funds what it pays",
        "key": f"federal {cs.federal_share:.2%}; provinces pool the rest by the {cs.key} key",
    }[cs.rule]
    out.append(f"Cost-sharing ({cs.rule}): {rule}; federal share rounded down to the rupee; "
               "ICT's provincial part is federal." + _basis(cs.source, changes, "cost_sharing"))
    pl = scn.policy.poverty_line_pmt
    out.append(f"Affected poor not paid: affected households with PMT <= {pl:g} that no programme pays.")
    b = scn.budget
    if b.federal_pkr is not None or b.provincial_pkr:
        ceilings = ([f"federal {_money(b.federal_pkr)}"] if b.federal_pkr is not None else []) + [
            f"{k} {_money(v)}" for k, v in b.provincial_pkr.items()
        ]
        out.append(f"Budget ceilings: {', '.join(ceilings)}; funded in order of {' then '.join(b.priority)} "
                   "(most severe, then poorest first); once a budget runs out, later households are left out.")
    if weights is None and households is not None and "weight" in households and len(households):
        weights = (len(households), int(households["weight"].sum()))
    if weights is not None:
        rows, represented = weights
        if represented != rows:
            out.append(
                f"Registry rows carry weights: {rows:,} rows stand for {represented:,} households "
                f"(about {represented / rows:,.0f} each), so counts and amounts are estimates at that "
                "scale; each row is paid for all the households it stands for."
            )
    if not scn.registry.path:
        out.append("Registry: synthetic households placed by 2023 census district shares; not real people.")
    return out + list(scn.assumptions)


