"""Footprints against the record: a modelled scenario over many hazard seeds, compared with 2022 or 2010.

A modelled hazard is one draw of many possible events. :func:`footprint_check` keeps the
registry and the policy fixed, varies only the seed of the scenario's modelled hazards (the
members), and compares what the engine gives with what happened:

- the caseload (households paid) with the families paid in the event;
- the provinces' shares of the caseload with the event's provincial split;
- each district's share of households affected with the share of its area that satellites saw
  flooded (Spearman rank correlation over the districts of the four provinces).

The facts come from ``data/events/facts.csv`` (one fact per row with its source; built by
``data/build_events.py``): families paid and their provincial split, and each district's share
of area that UNOSAT's VIIRS extent of 25-31 August 2022 saw flooded.

Limits: the caseload compared is the plan's paid households under the scenario's policy, while
the facts are families paid under the programme of the time (BISP's 2022 flood relief; the 2010
Watan card); affected-household shares are compared with flooded-area shares, which are related
(people live on the low ground that floods) but are not the same quantity.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hazards.errors import DataFileError, ScenarioError
from simulator import engine, registry
from simulator.scenario import Scenario

log = logging.getLogger(__name__)

#: The four provinces whose districts enter the rank correlation (ICT, AJK and GB are left out:
#: one district, or none in the census frame).
FOUR_PROVINCES = ("PB", "SD", "KP", "BA")


@dataclass(frozen=True)
class Event:
    """What happened, for comparison: families paid, their provincial split, district extents."""

    name: str
    caseload: int
    caseload_source: str
    provinces: dict[str, int] = field(default_factory=dict)  # families paid by province code
    provinces_source: str = ""
    extent: pd.Series | None = None  # % of each district's area flooded, by district_id
    extent_source: str = ""


#: The events the back-test knows, and the metric that is their caseload.
NAMES = {"2022": ("2022 monsoon floods", "families_identified"),
         "2010": ("2010 Indus floods", "families_paid")}


def facts_path() -> Path:
    """``data/events/facts.csv`` of the shipped tables (``$MADAD_DATA`` moves it)."""
    from hazards.tables import data_dir

    return data_dir() / "events" / "facts.csv"


def read_facts(path: Path | None = None) -> pd.DataFrame:
    """The facts table: ``event``, ``level``, ``area``, ``metric``, ``value``, ``source``..."""
    path = Path(path) if path is not None else facts_path()
    if not path.exists():
        raise DataFileError(f"{path}: missing. It ships as data/events/facts.csv; restore it with "
                            "`git checkout -- data/events/facts.csv` or point --facts at a table in its format.")
    table = pd.read_csv(path, dtype={"event": str})
    need = ["event", "level", "area", "metric", "value", "source"]
    absent = [c for c in need if c not in table.columns]
    if absent:
        raise DataFileError(f"{path}: columns {absent} are missing; a facts table has {need} (see data/events/README.md).")
    return table


def event_record(name: str, facts: pd.DataFrame) -> Event:
    """The record of event ``name`` ("2022" or "2010") from a facts table."""
    if name not in NAMES:
        raise ScenarioError(f"event {name!r} is not one of {sorted(NAMES)}.")
    title, caseload_metric = NAMES[name]
    rows = facts[facts.event == name]
    national = rows[(rows.level == "national") & (rows.metric == caseload_metric)]
    if national.empty:
        raise DataFileError(f"the facts table has no national {caseload_metric} for {name}.")
    paid = rows[(rows.level == "province") & (rows.metric == "families_paid")]
    flooded = rows[(rows.level == "district") & (rows.metric == "pct_area_flooded")]
    return Event(
        name=title,
        caseload=int(float(national.value.iloc[0])),
        caseload_source=str(national.source.iloc[0]),
        provinces={str(a): int(float(v)) for a, v in zip(paid.area, paid.value, strict=True)},
        provinces_source=str(paid.source.iloc[0]) if len(paid) else "",
        extent=flooded.set_index("area")["value"].astype(float) if len(flooded) else None,
        extent_source=str(flooded.source.iloc[0]) if len(flooded) else "",
    )


#: The targets a credible footprint meets (issue 11): caseload within 25 %, Sindh's share
#: within 10 points, every province with > 10 % of the caseload above 5 %, Spearman >= 0.7.
CASELOAD_TOLERANCE = 0.25
#: An observed footprint has no seed spread to excuse a gap: its caseload within 15 % (issue 12).
OBSERVED_CASELOAD_TOLERANCE = 0.15
SINDH_POINTS = 10.0
BIG_PROVINCE_SHARE = 0.10
BIG_PROVINCE_FLOOR = 0.05
MIN_SPEARMAN = 0.7


def members(
    scn: Scenario,
    households: pd.DataFrame,
    seeds: list[int],
    *,
    base: Path | None = None,
    on_member: Callable[[int], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the scenario once per seed over one registry; only the modelled hazards change
    (:func:`simulator.plans.ensemble.member_figures`).

    Returns
    -------
    by_province : pandas.DataFrame
        One row per seed: ``paid_households`` and the paid households of each province code.
    by_district : pandas.DataFrame
        Districts (index ``district_id``) x seeds: the share of the district's households
        affected (tier > 0), in [0, 1].
    """
    from simulator.plans.ensemble import member_figures
    from simulator.plans.orchestrator import build_hazards

    if not observed(scn) and not seeds:
        raise ScenarioError("at least one seed is needed.")
    layers, _ = build_hazards(scn, base=base)
    cols = engine.household_columns(households, tehsils=engine.needs_tehsils(layers))
    districts = households["district_id"].cat.categories
    figures = member_figures(scn, cols, layers, seeds, n_districts=len(districts), on_member=on_member)
    province_of = registry.province_of_districts(households)
    codes = province_of.reindex(districts).to_numpy()
    paid = figures["paid_households"]
    rows = [{"seed": seed, "paid_households": int(round(paid[i].sum())),
             **{str(p): int(round(paid[i, codes == p].sum())) for p in households["province_code"].cat.categories}}
            for i, seed in enumerate(seeds)]
    totals = figures["households"]
    share = np.divide(figures["affected_households"], totals, out=np.zeros_like(totals), where=totals > 0)
    return (pd.DataFrame(rows).set_index("seed"),
            pd.DataFrame(share.T, index=pd.Index(districts, name="district_id"), columns=seeds))


def observed(scn: Scenario) -> bool:
    """Whether the scenario's footprint is observed (declared tables or given rasters only): then
    seeds do not change it, and it is one member."""
    return not any(spec.generator is not None for spec in scn.hazards)


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def footprint_check(
    scn: Scenario,
    households: pd.DataFrame,
    *,
    event: str,
    seeds: list[int],
    facts: Path | None = None,
    base: Path | None = None,
    on_member: Callable[[int], None] | None = None,
) -> dict:
    """Compare a modelled scenario's members with the record of ``event`` ("2022" or "2010").

    Returns a JSON-ready report: per figure its P10, P50 and P90 over the seeds, the fact it is
    compared with and its source, the target and whether the median meets it (and in how many
    members it is met).
    """
    ev = event_record(event, read_facts(facts))
    seen = observed(scn)
    if seen:  # an observed footprint does not depend on the seed: one member
        seeds = list(seeds[:1]) or [scn.seed]
    by_prov, by_district = members(scn, households, seeds, base=base, on_member=on_member)
    pct = lambda v: {q: round(float(np.percentile(v, p)), 4) for q, p in (("p10", 10), ("p50", 50), ("p90", 90))}  # noqa: E731
    paid = by_prov["paid_households"].to_numpy(dtype=float)
    ratio = paid / ev.caseload - 1.0
    tolerance = OBSERVED_CASELOAD_TOLERANCE if seen else CASELOAD_TOLERANCE
    checks = [{
        "figure": "caseload (households paid)",
        "model": pct(paid), "fact": ev.caseload, "source": ev.caseload_source,
        "target": f"within {tolerance:.0%} of the fact",
        "met_in": int((np.abs(ratio) <= tolerance).sum()),
        "off_by": pct(ratio),
    }]
    if ev.provinces:
        fact_total = sum(ev.provinces.values())
        share = by_prov.drop(columns="paid_households").div(by_prov["paid_households"].clip(lower=1), axis=0)
        sd_fact = ev.provinces["SD"] / fact_total
        sd = share.get("SD", pd.Series(0.0, index=share.index)).to_numpy()
        checks.append({
            "figure": "Sindh's share of households paid",
            "model": pct(sd), "fact": round(sd_fact, 4), "source": ev.provinces_source,
            "target": f"within {SINDH_POINTS:g} points of the fact",
            "met_in": int((np.abs(sd - sd_fact) * 100 <= SINDH_POINTS).sum()),
        })
        for code, families in ev.provinces.items():
            if families / fact_total > BIG_PROVINCE_SHARE and code != "SD":
                s = share.get(code, pd.Series(0.0, index=share.index)).to_numpy()
                checks.append({
                    "figure": f"{code}'s share of households paid",
                    "model": pct(s), "fact": round(families / fact_total, 4), "source": ev.provinces_source,
                    "target": f"above {BIG_PROVINCE_FLOOR:.0%} (the province had over {BIG_PROVINCE_SHARE:.0%} of the caseload)",
                    "met_in": int((s > BIG_PROVINCE_FLOOR).sum()),
                })
    if ev.extent is not None and not (seen and _built_from_extent(scn, base)):
        extent = ev.extent
        prov_of = registry.province_of_districts(households)
        ids = [d for d in by_district.index if prov_of.get(d) in FOUR_PROVINCES and d in extent.index]
        rho = np.array([_spearman(by_district.loc[ids, s].to_numpy(), extent.loc[ids].to_numpy()) for s in seeds])
        checks.append({
            "figure": f"Spearman: district share of households affected vs flooded share of area ({len(ids)} districts)",
            "model": pct(rho), "fact": None, "source": ev.extent_source,
            "target": f">= {MIN_SPEARMAN}",
            "met_in": int((rho >= MIN_SPEARMAN).sum()),
        })
    for check in checks:
        check["members"] = len(seeds)
        check["met"] = check["met_in"] * 2 >= len(seeds)
        fact, p50 = check["fact"], check["model"]["p50"]
        if fact is None:
            check["gap"] = None
        elif check["figure"].startswith("caseload"):
            check["gap"] = round(p50 / fact - 1.0, 4)  # relative
        else:
            check["gap"] = round(p50 - fact, 4)  # share points
    notes = []
    if seen:
        notes.append("Observed footprint: one member (the seed does not change it).")
        if ev.extent is not None and _built_from_extent(scn, base):
            notes.append("No district rank correlation: the footprint is built from the same satellite extent.")
    return {
        "scenario": scn.name, "event": ev.name, "seeds": list(seeds), "observed": seen, "notes": notes,
        "households": int(households["weight"].sum()) if "weight" in households else len(households),
        "checks": checks,
    }


def _built_from_extent(scn: Scenario, base: Path | None) -> bool:
    """Whether a declared table of the scenario carries a flooded share of area (then it was
    built from the extent it would be compared with)."""
    from hazards.admin import read_admin_table

    for spec in scn.hazards:
        if spec.admin_table is not None:
            path = Path(spec.admin_table)
            path = path if path.is_absolute() or base is None else base / path
            if "pct_area_flooded" in read_admin_table(path).columns:
                return True
    return False


def report_table(report: dict) -> pd.DataFrame:
    """The report as a table: one row per figure, P10/P50/P90, the fact, the gap of the median
    (relative for the caseload, in share points for shares), the target, how many members met
    it, and the fact's source."""
    return pd.DataFrame([{
        "figure": c["figure"], "p10": c["model"]["p10"], "p50": c["model"]["p50"], "p90": c["model"]["p90"],
        "fact": c["fact"], "gap": c["gap"], "target": c["target"],
        "met": f"{c['met_in']}/{c['members']}", "source": c["source"],
    } for c in report["checks"]])


def format_report(report: dict) -> str:
    """The report as aligned text lines, one per figure."""
    members = "observed footprint" if report.get("observed") else f"{len(report['seeds'])} seeds"
    lines = [f"{report['scenario']} against the {report['event']} ({members})"]
    one = bool(report.get("observed"))
    for c in report["checks"]:
        m = c["model"]
        fmt = ("{:,.0f}" if c["figure"].startswith("caseload") else "{:.2f}" if c["fact"] is None else "{:.1%}").format
        model = (f"model {fmt(m['p50'])}" if one else
                 f"P10 {fmt(m['p10'])}  P50 {fmt(m['p50'])}  P90 {fmt(m['p90'])}")
        of = "" if one else "median "
        if c["figure"].startswith("caseload"):
            fact = f"fact {c['fact']:,} ({of}{c['gap']:+.0%})"
        elif c["fact"] is None:
            fact = ""
        else:
            fact = f"fact {c['fact']:.1%} ({of}{c['gap'] * 100:+.1f} points)"
        verdict = "met" if c["met"] else "MISSED"
        parts = [model, fact, f"target {c['target']}: {verdict}" + ("" if one else f" in {c['met_in']}/{c['members']} seeds")]
        lines.append(f"- {c['figure']}: " + "; ".join(p for p in parts if p))
    lines += [f"  ({note})" for note in report.get("notes", [])[1:]]
    return "\n".join(lines)
