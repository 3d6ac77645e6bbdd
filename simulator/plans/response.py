"""The response view of a plan: what a disaster management authority (NDMA, a PDMA) plans with.

Pure functions over a plan (``plan.json`` as a dict) and, for the timeline, the run's household
table; nothing is written and nothing is printed. The app's Response page
(:mod:`simulator.app.pages.authority`) shows them.

=====================  ===========================================================================
:func:`areas`          affected people and households by district or by tehsil (the plan's own
                       ``districts`` / ``tehsils`` rows, with names)
:func:`displaced_rule` what "displaced" means for each hazard of a scenario: its tier thresholds
:func:`timeline`       households and PKR per instalment and district, with the day payments
                       start and the day the district's last payment is made
:func:`groups`         affected and paid households by group (female-headed, with a member with a
                       disability, with children under five) per district, when the plan has them
=====================  ===========================================================================

Definitions (the plan's, :mod:`simulator.plans.build`): *affected people* are the members of the
affected households (``hh_size`` times the row's weight, summed); *displaced households* are the
households in the hazard's most severe tier, ``displaced`` (tier 3 of
:data:`hazards.impact.TIERS`), whose threshold is the scenario's ``tiers.displaced`` or the impact
function's ``displaced`` column (``data/impact/functions.csv``): a planning assumption, not an
observed count of people in camps. The figures are the plan's: a district's affected households
are the sum of its tehsils', and the districts' add up to the national total.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd

from hazards import tables as data
from simulator.engine.aggregate import group_sum
from simulator.engine.payouts import instalment_split

log = logging.getLogger(__name__)

__all__ = ["AREA_FIGURES", "GROUPS", "TIMELINE_COLUMNS", "areas", "displaced_rule", "groups", "timeline"]

#: Figures of the area tables, in their order (plan.json field names).
AREA_FIGURES = ("households", "affected_households", "affected_people", "severely_affected_households",
                "displaced_households", "paid_households", "amount_pkr")
#: Columns of :func:`timeline`.
TIMELINE_COLUMNS = ("instalment", "day", "district_id", "province_code", "households", "amount_pkr",
                    "last_day", "days")
#: The groups of the plan's ``groups`` block, in their order.
GROUPS = ("female_headed", "disability", "children_under5")


def _count(value) -> int | None:
    """A plan figure as an int, None where it is hidden (a published plan's suppressed cell)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value)


def areas(plan: dict, level: str = "district", *, affected_only: bool = True) -> pd.DataFrame:
    """Affected people and households by district or by tehsil, the most affected first.

    Parameters
    ----------
    plan
        A plan (exact, or a published one with hidden cells as None).
    level
        ``district`` (the plan's ``districts``) or ``tehsil`` (its ``tehsils``).
    affected_only
        Keep only the areas with affected households (a hidden count is kept).

    Returns
    -------
    pandas.DataFrame
        ``province_code``, ``district_id``, ``district`` (and for tehsils ``tehsil_id``,
        ``tehsil``), then :data:`AREA_FIGURES` [households, people, PKR] as object columns of
        int or None (hidden).

    Raises
    ------
    ValueError
        ``level`` is neither ``district`` nor ``tehsil``.
    """
    if level not in ("district", "tehsil"):
        raise ValueError(f"level {level!r} is not one of ['district', 'tehsil']")
    names = data.districts().set_index("district_id")
    rows = pd.DataFrame(plan.get("districts" if level == "district" else "tehsils") or [])
    keys = ["province_code", "district_id", "district"] + (["tehsil_id", "tehsil"] if level == "tehsil" else [])
    if rows.empty:
        return pd.DataFrame(columns=[*keys, *AREA_FIGURES])
    rows["province_code"] = rows["district_id"].map(names["province_code"])
    rows["district"] = rows["district_id"].map(names["district"]).fillna(rows["district_id"])
    if level == "tehsil":
        tehsil_names = data.tehsils().set_index("tehsil_id")["tehsil"]
        rows["tehsil"] = rows["tehsil_id"].map(tehsil_names).fillna(rows["tehsil_id"]).str.title()
    out = rows.reindex(columns=[*keys, *AREA_FIGURES])
    for col in AREA_FIGURES:
        out[col] = pd.Series([_count(v) for v in out[col].tolist()], index=out.index, dtype=object)
    affected = out["affected_households"]
    if affected_only:
        out = out[[v is None or v > 0 for v in affected]]
    order = np.argsort([-(v if v is not None else 0) for v in out["affected_households"]], kind="stable")
    return out.iloc[order].reset_index(drop=True)


def displaced_rule(scn, layers: list | None = None) -> list[dict]:
    """What "displaced" means for each hazard of ``scn``: one dict per hazard.

    ``layers`` (the run's hazard sources, in the scenario's order) give the units of a hazard
    whose entry does not state them (a generated layer's ``attrs["units"]``).

    Keys: ``hazard`` (its label), ``units``, ``source`` (``tiers``: the scenario's own tiers;
    ``impact``: an impact function's, by housing type; ``declared``: a declared-districts
    table's severity 3), ``function`` (the impact function's name or None) and ``displaced``
    ({housing: threshold or None}; None: the hazard has no displaced tier, so nobody is
    counted displaced by it).
    """
    from hazards import impact

    out = []
    layers = list(layers) if layers is not None else [None] * len(scn.hazards)
    for spec, layer in zip(scn.hazards, layers, strict=True):
        attrs = getattr(layer, "attrs", None) or {}
        rule = {"hazard": spec.label, "units": spec.units or attrs.get("units", ""), "function": None}
        if spec.admin_table is not None:
            rule.update(source="declared", displaced={})
        elif spec.impact is not None:
            fn = impact.load(spec.impact)
            rule.update(source="impact", function=spec.impact, units=fn.units,
                        displaced={h: fn.thresholds(h)["displaced"] for h in fn.housing})
        else:
            third = spec.tier_thresholds()[2]
            rule.update(source="tiers", displaced={"any": None if math.isinf(third) else float(third)})
        out.append(rule)
    return out


def _instalments(plan: dict) -> tuple[list[int], list[float]]:
    inst = plan.get("instalments") or [{"instalment": 1, "day": 0, "share": 1.0}]
    return [int(i["day"]) for i in inst], [float(i["share"]) for i in inst]


def timeline(plan: dict, households: pd.DataFrame | None = None) -> pd.DataFrame:
    """Households and PKR per instalment and district, with the days payments run.

    With the run's household table (``households``: ``district_id``, ``amount_pkr``,
    ``weight`` and, for a plan with a ``delivery`` section, ``site_id``) the payments are
    scheduled as the delivery plan schedules them (:func:`simulator.plans.delivery.schedule`:
    each site pays its households at its ``payments_per_day`` from the plan's
    ``delivery.sites``, in registry order, from the instalment's day or the site's reopening
    day, one instalment after the other), so the table is exact: its households and PKR add up
    to the plan's ``delivery.instalments`` and its last days to ``delivery.districts``. Paid
    households without a site are not scheduled (the plan's ``unassigned_households``).
    Without a delivery section every paid household of a district is paid on the instalment's
    day (``last_day`` None).

    Without ``households`` (a published plan: no household table) the table comes from the
    plan's districts: every paid household comes to each instalment and the district's amount
    is split by the instalment shares (:func:`simulator.engine.payouts.instalment_split`);
    ``last_day`` None, and a hidden district figure stays None.

    Returns
    -------
    pandas.DataFrame
        :data:`TIMELINE_COLUMNS`: ``instalment`` (1-based), ``day`` [days after payments start:
        the instalment's day], ``district_id``, ``province_code``, ``households``,
        ``amount_pkr`` [PKR], ``last_day`` [day of the district's last payment of the
        instalment] and ``days`` (from ``day`` to ``last_day``, both counted); sorted by
        instalment, then PKR (largest first).
    """
    days_k, shares = _instalments(plan)
    province = data.districts().set_index("district_id")["province_code"]
    if households is None:
        rows = [d for d in plan.get("districts") or [] if _count(d.get("paid_households")) != 0]
        frames = []
        amounts = [_count(d.get("amount_pkr")) for d in rows]
        known = np.array([a is not None for a in amounts], bool)
        split = instalment_split(np.array([a or 0 for a in amounts], np.int64), shares)
        for k, day in enumerate(days_k):  # loops over instalments
            frames.append(pd.DataFrame({
                "instalment": k + 1, "day": day, "district_id": [d["district_id"] for d in rows],
                "households": pd.Series([_count(d.get("paid_households")) for d in rows], dtype=object),
                "amount_pkr": pd.Series([int(v) if ok else None for v, ok in zip(split[k], known, strict=True)],
                                        dtype=object),
                "last_day": None, "days": None,
            }))
        out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(TIMELINE_COLUMNS))
    else:
        out = _scheduled(plan, households, days_k, shares)
    out["province_code"] = out["district_id"].map(province)
    out = out.reindex(columns=list(TIMELINE_COLUMNS))
    order = np.lexsort((-pd.to_numeric(out["amount_pkr"], errors="coerce").fillna(-1).to_numpy(),
                        out["instalment"].to_numpy(np.int64)))
    return out.iloc[order].reset_index(drop=True)


def _scheduled(plan: dict, households: pd.DataFrame, days_k: list[int], shares: list[float]) -> pd.DataFrame:
    """:func:`timeline` from the household table (vectorized over the paid rows)."""
    from simulator.plans.delivery import schedule

    amount_all = households["amount_pkr"].to_numpy(np.int64)
    paid = np.flatnonzero(amount_all > 0)
    district = pd.Categorical(households["district_id"])
    codes = np.asarray(district.codes, np.int64)[paid]
    ids = np.asarray(district.categories, dtype=object)
    n = len(ids)
    weight = (households["weight"].to_numpy(np.int64)[paid] if "weight" in households.columns
              else np.ones(len(paid), np.int64))
    amount = amount_all[paid]
    section = plan.get("delivery") or {}
    if section.get("sites") and "site_id" in households.columns:
        sites = pd.DataFrame(section["sites"])
        at = _site_codes(households["site_id"], pd.Index(sites["site_id"].astype(str)), paid)
        capacity = pd.to_numeric(sites["payments_per_day"], errors="coerce").fillna(0).to_numpy(np.int64)
        reopen = (pd.to_numeric(sites["reopen_day"], errors="coerce").fillna(0).to_numpy(np.int64)
                  if "reopen_day" in sites.columns else None)  # closed for the response: none sent there
        sched = schedule(at, amount, list(zip(days_k, shares, strict=True)), capacity, weight=weight,
                         reopen_day=reopen, district=codes, n_districts=max(n, 1))
        table = sched.districts
        out = pd.DataFrame({
            "instalment": table["instalment"].to_numpy(np.int64),
            "day": np.asarray(days_k, np.int64)[table["instalment"].to_numpy(np.int64) - 1],
            "district_id": ids[table["district"].to_numpy(np.int64)] if n else [],
            "households": table["households"].to_numpy(np.int64),
            "amount_pkr": table["amount_pkr"].to_numpy(np.int64),
            "last_day": table["last_day"].to_numpy(np.int64),
            "days": table["days"].to_numpy(np.int64),
        })
        log.info("timeline: %d paid rows at %d sites, %d district-instalments", len(paid),
                 len(np.unique(at[at >= 0])), len(out))
        return out
    split = instalment_split(amount, shares)
    hh = group_sum(codes, weight, n)
    has = np.flatnonzero(hh > 0)
    frames = [pd.DataFrame({"instalment": k + 1, "day": day, "district_id": ids[has], "households": hh[has],
                            "amount_pkr": group_sum(codes, split[k], n)[has], "last_day": None, "days": None})
              for k, day in enumerate(days_k)]  # loops over instalments
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(TIMELINE_COLUMNS))


def _site_codes(site_id: pd.Series, index: pd.Index, rows: np.ndarray) -> np.ndarray:
    """Position in ``index`` of the site of each row of ``rows`` (-1: no site), through the
    categories when the column is categorical (no text per household)."""
    if isinstance(site_id.dtype, pd.CategoricalDtype):
        where = index.get_indexer(site_id.cat.categories.astype(str))
        codes = np.asarray(site_id.cat.codes, np.int64)[rows]
        return np.where(codes >= 0, where[np.maximum(codes, 0)], -1)
    return index.get_indexer(site_id.iloc[rows].astype(object).to_numpy())


def groups(plan: dict) -> pd.DataFrame | None:
    """Affected and paid households by group per district (the plan's ``groups`` block), the
    districts with affected households first; None when the plan has no such block.

    Columns: ``province_code``, ``district_id``, ``district``, then ``<group>_affected`` and
    ``<group>_paid`` for each of :data:`GROUPS` the plan gives [households; int or None when
    hidden]. The groups overlap: a household may be in several, so they are not added up.
    """
    block = plan.get("groups")
    if not block or not block.get("districts"):
        return None
    rows = pd.DataFrame(block["districts"])
    names = data.districts().set_index("district_id")["district"]
    rows["district"] = rows["district_id"].map(names).fillna(rows["district_id"])
    figures = [f"{g}_{what}" for g in GROUPS for what in ("affected", "paid") if f"{g}_{what}" in rows.columns]
    out = rows.reindex(columns=["province_code", "district_id", "district", *figures])
    for col in figures:
        out[col] = pd.Series([_count(v) for v in out[col].tolist()], index=out.index, dtype=object)
    total = np.array([sum(v or 0 for v in vals) for vals in zip(*(out[f] for f in figures), strict=True)]) \
        if figures else np.zeros(len(out))
    out = out[total > 0] if figures else out
    return out.reset_index(drop=True)
