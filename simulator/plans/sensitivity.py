"""Which declared parameters drive a plan's caseload and cost: Morris elementary effects (SALib).

:func:`factors` reads the ranges to try from a scenario: the PMT cut-off (+-5 points), the
transfer amounts (x0.8 to x1.2), the tier thresholds of hazards that declare them (x0.7 to
x1.3), the return period of modelled hazards (half to double, on a log scale) and the
registry's coverage (80-100 % of households registered). :func:`morris` samples them with
SALib's Morris design (Morris 1991, with the trajectory optimisation of Campolongo, Cariboni and
Saltelli 2007), reruns the engine for each sample over one registry (hazards regenerated only
when their parameters change), and ranks the parameters by mu* (the mean absolute elementary
effect) on the households paid and the PKR paid.

Limits: Morris screens; it ranks parameters and flags interactions or non-linearity (sigma), but
does not apportion variance as Sobol indices do. The ranges are planning ranges, not
probability distributions. Coverage drops a seeded random share of the registry: who is missing
from a real registry is not random (see the unregistered in issue 12).

References
----------
Morris, M. D. (1991). Factorial sampling plans for preliminary computational experiments.
Technometrics 33(2), 161-174.
Campolongo, F., Cariboni, J., Saltelli, A. (2007). An effective screening design for sensitivity
analysis of large models. Environmental Modelling & Software 22(10), 1509-1518.
Herman, J., Usher, W. (2017). SALib: an open-source Python library for sensitivity analysis.
Journal of Open Source Software 2(9), 97.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hazards.errors import ScenarioError
from simulator import engine
from simulator.engine import targeting
from simulator.engine.overlay import uniform_draws
from simulator.scenario import Scenario

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Factor:
    """One parameter to vary: its name, what it changes and its range (in the sampled units)."""

    name: str
    description: str
    lower: float
    upper: float
    log10: bool = False  #: sampled on a log10 scale (return periods)

    def value(self, x: float) -> float:
        return 10.0 ** x if self.log10 else x


def factors(scn: Scenario) -> list[Factor]:
    """The parameters of ``scn`` that :func:`morris` varies, with their ranges."""
    out = []
    cut = next((p.pmt_max for p in scn.policy.programmes if p.pmt_max is not None), None)
    if cut is not None:
        out.append(Factor("pmt_max", f"PMT cut-off of every programme that has one ({cut:g} in the file; +-5)",
                          max(cut - 5.0, 0.0), min(cut + 5.0, 100.0)))
    out.append(Factor("transfer", "transfer amounts of every programme (x0.8 to x1.2)", 0.8, 1.2))
    if any(h.tiers is not None or h.threshold is not None for h in scn.hazards):
        out.append(Factor("tier_scale", "tier thresholds of the hazards that declare them (x0.7 to x1.3)", 0.7, 1.3))
    periods = [h.generator["return_period"] for h in scn.hazards
               if h.generator is not None and "return_period" in h.generator]
    if periods:
        rp = float(periods[0])
        out.append(Factor("return_period", f"return period of the modelled hazards ({rp:g} years; half to double)",
                          math.log10(rp / 2.0), math.log10(rp * 2.0), log10=True))
    out.append(Factor("coverage", "share of households in the registry (80-100 %)", 0.8, 1.0))
    return out


def _variant(scn: Scenario, values: dict[str, float]) -> Scenario:
    """``scn`` with the policy and hazard parameters of one sample."""
    raw = scn.model_dump(mode="json", exclude_none=True)
    for prog in raw["policy"]["programmes"]:
        if "pmt_max" in values and prog.get("pmt_max") is not None:
            shift = values["pmt_max"] - (next(p.pmt_max for p in scn.policy.programmes if p.pmt_max is not None))
            prog["pmt_max"] = float(min(max(prog["pmt_max"] + shift, 0.0), 100.0))
        if "transfer" in values:
            t = prog["transfer"]
            t["by_tier_pkr"] = {k: int(round(v * values["transfer"])) for k, v in t["by_tier_pkr"].items()}
            for key in ("per_person_pkr", "floor_pkr", "cap_pkr"):
                if t.get(key):
                    t[key] = int(round(t[key] * values["transfer"]))
    for h in raw["hazards"]:
        if "tier_scale" in values:
            if "threshold" in h:
                h["threshold"] = h["threshold"] * values["tier_scale"]
            if "tiers" in h:
                h["tiers"] = {k: v * values["tier_scale"] for k, v in h["tiers"].items()}
        if "return_period" in values and "return_period" in (h.get("generator") or {}):
            h["generator"]["return_period"] = round(values["return_period"], 3)
    return Scenario.model_validate(raw)


def morris(
    scn: Scenario,
    households: pd.DataFrame,
    *,
    trajectories: int = 10,
    seed: int = 0,
    base: Path | None = None,
    on_run: Callable[[int], None] | None = None,
) -> dict:
    """Morris screening of ``scn``'s parameters on the households and PKR paid.

    Parameters
    ----------
    scn
        The scenario; its registry is ``households`` (validated), kept for every run.
    trajectories
        Morris trajectories r; the engine runs r x (k + 1) times for k parameters.
    seed
        Seed of the Morris design and of the coverage draws.
    base
        Folder that hazard and table paths of the scenario are relative to.
    on_run
        Called with the run's number after each run (progress).

    Returns
    -------
    dict
        JSON-ready: the method, the runs, and per parameter its range, mu* and sigma for the
        households paid and for the PKR paid (with mu*'s 95 % bootstrap interval), and its rank
        by mu* on the households paid.
    """
    from SALib.analyze import morris as analyze
    from SALib.sample import morris as sample

    from simulator.plans.orchestrator import build_hazards

    if trajectories < 2:
        raise ScenarioError(f"trajectories must be >= 2, got {trajectories}.")
    fs = factors(scn)
    problem = {"num_vars": len(fs), "names": [f.name for f in fs], "bounds": [[f.lower, f.upper] for f in fs]}
    X = sample.sample(problem, trajectories, num_levels=4, seed=seed)
    # declared tables do not vary with the factors: tehsil codes if any declares tehsils
    cols = engine.household_columns(households, tehsils=any(h.admin_table is not None for h in scn.hazards))
    u = uniform_draws(np.arange(len(households)), seed, "coverage")
    hazards: dict[tuple, list] = {}
    paid = np.zeros(len(X))
    pkr = np.zeros(len(X))
    for i, x in enumerate(X):  # one engine run per sample (a few dozen), vectorized inside
        values = {f.name: f.value(v) for f, v in zip(fs, x, strict=True)}
        variant = _variant(scn, values)
        key = tuple(sorted((h.label, str(h.generator)) for h in variant.hazards))
        if key not in hazards:
            hazards[key], _ = build_hazards(variant, base=base)
        keep = u < values["coverage"]
        sub = {k: v[keep] for k, v in cols.items()}
        res = engine.evaluate(variant, sub, hazards[key])
        paid[i] = float(res.weight[res.status == targeting.PAID].sum())
        pkr[i] = float(res.amount_pkr.sum())
        if on_run:
            on_run(i + 1)
    out = {"households": analyze.analyze(problem, X, paid, num_levels=4, seed=seed),
           "pkr": analyze.analyze(problem, X, pkr, num_levels=4, seed=seed)}
    order = np.argsort(-np.asarray(out["households"]["mu_star"]))
    rank = {fs[j].name: r + 1 for r, j in enumerate(order)}
    rows = []
    for j, f in enumerate(fs):
        rows.append({
            "parameter": f.name, "description": f.description,
            "range": [round(f.value(f.lower), 3), round(f.value(f.upper), 3)],
            "rank": rank[f.name],
            **{f"{what}_{stat}": round(float(out[what][stat][j]), 1)
               for what in ("households", "pkr") for stat in ("mu_star", "sigma", "mu_star_conf")},
        })
    rows.sort(key=lambda r: r["rank"])
    return {
        "scenario": scn.name, "method": "Morris elementary effects (SALib; Campolongo et al. 2007 design)",
        "trajectories": trajectories, "runs": len(X), "seed": seed,
        "households_paid": {"min": int(paid.min()), "max": int(paid.max())},
        "pkr_paid": {"min": int(pkr.min()), "max": int(pkr.max())},
        "parameters": rows,
    }


def format_sensitivity(report: dict) -> str:
    """The ranking as aligned text: one line per parameter."""
    lines = [f"{report['scenario']}: {report['method']}, {report['runs']} runs",
             f"households paid {report['households_paid']['min']:,} to {report['households_paid']['max']:,}; "
             f"PKR paid {report['pkr_paid']['min']:,} to {report['pkr_paid']['max']:,}",
             f"{'rank':>4}  {'parameter':<14} {'mu* households':>15} {'sigma':>12} {'mu* PKR':>18}  range"]
    for r in report["parameters"]:
        lines.append(f"{r['rank']:>4}  {r['parameter']:<14} {r['households_mu_star']:>15,.0f} "
                     f"{r['households_sigma']:>12,.0f} {r['pkr_mu_star']:>18,.0f}  {r['range'][0]:g}-{r['range'][1]:g}")
    return "\n".join(lines)
