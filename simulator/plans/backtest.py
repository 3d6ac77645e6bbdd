"""Footprints against the record: a modelled scenario over many hazard seeds, compared with 2022 or 2010.

A modelled hazard is one draw of many possible events. :func:`footprint_check` keeps the
registry and the policy fixed, varies only the seed of the scenario's modelled hazards (the
members), and compares what the engine gives with what happened:

- the caseload (households paid) with the families paid in the event;
- the provinces' shares of the caseload with the event's provincial split;
- each district's share of households affected with the share of its area that satellites saw
  flooded (Spearman rank correlation over the districts of the four provinces).

The event figures with a single number are constants here, each with its source. The district
flood extents are a table the user points to (``facts_dir``): UNOSAT's VIIRS extent of
25-31 August 2022 summarised by district (``unosat_flood_extent_2022_by_district.csv``:
``district_id``, ``pct_area_flooded``). The repository does not ship it.

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
from simulator import engine
from simulator.engine import targeting
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
    extent_file: str | None = None  # district flood-extent table, in facts_dir


EVENTS = {
    "2022": Event(
        name="2022 monsoon floods",
        caseload=2_759_601,
        caseload_source="BISP Flood Relief Cash Assistance: families identified through the NSER "
        "(urdupoint, 23 Sep 2022)",
        provinces={"SD": 1_810_129, "PB": 322_717, "KP": 299_725, "BA": 209_051, "GB": 461},
        provinces_source="BISP flood relief paid by 18 Oct 2022, by province: 2,642,083 families "
        "(urdupoint, 20 Oct 2022)",
        extent_file="unosat_flood_extent_2022_by_district.csv",
    ),
    "2010": Event(
        name="2010 Indus floods",
        caseload=1_620_000,
        caseload_source="Citizens' Damage Compensation Programme Phase I (Watan card): PKR 20,000 "
        "to 1.62 M families (cdcp.nadra.gov.pk)",
    ),
}

#: The targets a credible footprint meets (issue 11): caseload within 25 %, Sindh's share
#: within 10 points, every province with > 10 % of the caseload above 5 %, Spearman >= 0.7.
CASELOAD_TOLERANCE = 0.25
SINDH_POINTS = 10.0
BIG_PROVINCE_SHARE = 0.10
BIG_PROVINCE_FLOOR = 0.05
MIN_SPEARMAN = 0.7


def default_facts_dir() -> Path | None:
    """``../shared/data/events`` beside the repository, when it exists (developers' machines)."""
    here = Path(__file__).resolve().parents[3] / "shared" / "data" / "events"
    return here if here.is_dir() else None


def read_extent(facts_dir: Path, event: Event) -> pd.Series | None:
    """Flooded share of area [%] by ``district_id`` from the event's extent table, or None."""
    if event.extent_file is None:
        return None
    path = Path(facts_dir) / event.extent_file
    if not path.exists():
        raise DataFileError(
            f"{path}: missing. Point --facts at the folder holding {event.extent_file} "
            "(UNOSAT's 2022 flood extent by district, columns district_id and pct_area_flooded)."
        )
    table = pd.read_csv(path)
    for column in ("district_id", "pct_area_flooded"):
        if column not in table.columns:
            raise DataFileError(f"{path}: column {column!r} is missing; it needs district_id and pct_area_flooded.")
    return table.set_index("district_id")["pct_area_flooded"].astype(float)


def _member(scn: Scenario, seed: int, cols: dict, base: Path | None):
    from simulator.plans.orchestrator import build_hazards

    member = scn.model_copy(update={"seed": seed})
    layers, _ = build_hazards(member, base=base)
    return engine.evaluate(member, cols, layers)


def members(
    scn: Scenario,
    households: pd.DataFrame,
    seeds: list[int],
    *,
    base: Path | None = None,
    on_member: Callable[[int], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the scenario once per seed over one registry; only the modelled hazards change.

    Returns
    -------
    by_province : pandas.DataFrame
        One row per seed: ``paid_households`` and the paid households of each province code.
    by_district : pandas.DataFrame
        Districts (index ``district_id``) x seeds: the share of the district's households
        affected (tier > 0), in [0, 1].
    """
    if not any(spec.generator is not None for spec in scn.hazards):
        raise ScenarioError(f"{scn.name} has no modelled hazard: its seeds would all give the same footprint.")
    cols = engine.household_columns(households)
    provinces = households["province_code"].cat.categories
    districts = households["district_id"].cat.categories
    totals = np.bincount(cols["district"], weights=cols["weight"].astype(np.float64), minlength=len(districts))
    rows, shares = [], {}
    for seed in seeds:
        res = _member(scn, seed, cols, base)
        at = slice(None) if res.row is None else res.row  # weighted rows may be split
        province, district = cols["province"][at], cols["district"][at]
        weight = res.weight.astype(np.float64)
        paid = (res.status == targeting.PAID) * weight
        by_prov = np.bincount(province, weights=paid, minlength=len(provinces))
        rows.append({"seed": seed, "paid_households": int(paid.sum()),
                     **{str(p): int(v) for p, v in zip(provinces, by_prov, strict=True)}})
        affected = np.bincount(district, weights=(res.tier > 0) * weight, minlength=len(districts))
        shares[seed] = np.divide(affected, totals, out=np.zeros_like(affected), where=totals > 0)
        if on_member:
            on_member(seed)
    return pd.DataFrame(rows).set_index("seed"), pd.DataFrame(shares, index=pd.Index(districts, name="district_id"))


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def footprint_check(
    scn: Scenario,
    households: pd.DataFrame,
    *,
    event: str,
    seeds: list[int],
    facts_dir: Path | None = None,
    base: Path | None = None,
    on_member: Callable[[int], None] | None = None,
) -> dict:
    """Compare a modelled scenario's members with the record of ``event`` ("2022" or "2010").

    Returns a JSON-ready report: per figure its P10, P50 and P90 over the seeds, the fact it is
    compared with and its source, the target and whether the median meets it (and in how many
    members it is met).
    """
    if event not in EVENTS:
        raise ScenarioError(f"event {event!r} is not one of {sorted(EVENTS)}.")
    ev = EVENTS[event]
    by_prov, by_district = members(scn, households, seeds, base=base, on_member=on_member)
    pct = lambda v: {q: round(float(np.percentile(v, p)), 4) for q, p in (("p10", 10), ("p50", 50), ("p90", 90))}  # noqa: E731
    paid = by_prov["paid_households"].to_numpy(dtype=float)
    ratio = paid / ev.caseload - 1.0
    checks = [{
        "figure": "caseload (households paid)",
        "model": pct(paid), "fact": ev.caseload, "source": ev.caseload_source,
        "target": f"within {CASELOAD_TOLERANCE:.0%} of the fact",
        "met_in": int((np.abs(ratio) <= CASELOAD_TOLERANCE).sum()),
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
    facts_dir = facts_dir or default_facts_dir()
    if ev.extent_file and facts_dir is not None:
        extent = read_extent(facts_dir, ev)
        prov_of = households.drop_duplicates("district_id").set_index("district_id")["province_code"].astype(str)
        ids = [d for d in by_district.index if prov_of.get(d) in FOUR_PROVINCES and d in extent.index]
        rho = np.array([_spearman(by_district.loc[ids, s].to_numpy(), extent.loc[ids].to_numpy()) for s in seeds])
        checks.append({
            "figure": f"Spearman: district share of households affected vs flooded share of area ({len(ids)} districts)",
            "model": pct(rho), "fact": None,
            "source": "UNOSAT FL20220808PAK VIIRS flood extent 25-31 Aug 2022 by district",
            "target": f">= {MIN_SPEARMAN}",
            "met_in": int((rho >= MIN_SPEARMAN).sum()),
        })
    for check in checks:
        check["members"] = len(seeds)
        check["met"] = check["met_in"] * 2 >= len(seeds)
    return {
        "scenario": scn.name, "event": ev.name, "seeds": list(seeds),
        "households": int(households["weight"].sum()) if "weight" in households else len(households),
        "checks": checks,
    }


def format_report(report: dict) -> str:
    """The report as aligned text lines, one per figure."""
    lines = [f"{report['scenario']} against the {report['event']} ({len(report['seeds'])} seeds)"]
    for c in report["checks"]:
        m = c["model"]
        if c["figure"].startswith("caseload"):
            model = f"P10 {m['p10']:,.0f}  P50 {m['p50']:,.0f}  P90 {m['p90']:,.0f}"
            fact = f"fact {c['fact']:,}"
        elif c["fact"] is None:
            model = f"P10 {m['p10']:.2f}  P50 {m['p50']:.2f}  P90 {m['p90']:.2f}"
            fact = ""
        else:
            model = f"P10 {m['p10']:.1%}  P50 {m['p50']:.1%}  P90 {m['p90']:.1%}"
            fact = f"fact {c['fact']:.1%}"
        verdict = "met" if c["met"] else "MISSED"
        parts = [model, fact, f"target {c['target']}: {verdict} in {c['met_in']}/{c['members']} seeds"]
        lines.append(f"- {c['figure']}: " + "; ".join(p for p in parts if p))
    return "\n".join(lines)
