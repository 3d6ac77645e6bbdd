"""Small-cell suppression of a whole plan: provinces, districts and tehsils as one hierarchy
under the national totals (:func:`suppress_plan`).
"""

from __future__ import annotations

import copy
import logging

import numpy as np
import pandas as pd

from hazards.errors import DisclosureError
from simulator.publish.disclosure.protection import (
    K_DEFAULT,
    PLAN_LINKS,
    PLAN_ROW_TOTALS,
    _protect,
    _report,
    _row_links,
    _sum_equations,
    _System,
)

log = logging.getLogger(__name__)


def _plan_columns(plan: dict) -> tuple[list[str], set[str], dict[str, str], dict[str, tuple[str, ...]]]:
    figures = [c for c in plan["totals"] if isinstance(plan["totals"][c], (int, np.integer))]
    counts = [c for c in figures if c == "households" or c.endswith("_households")]
    linked: dict[str, str] = {}
    for c in figures:
        if c in counts:
            continue
        if c in PLAN_LINKS and PLAN_LINKS[c] in counts:
            linked[c] = PLAN_LINKS[c]
        elif c.endswith("_people") and c.replace("_people", "_households") in counts:
            linked[c] = c.replace("_people", "_households")
        elif c.endswith("_pkr") and "paid_households" in counts:
            log.warning("money column %s is not in PLAN_LINKS; hidden with paid_households", c)
            linked[c] = "paid_households"
        else:
            counts.append(c)  # unknown figure: treated as a count (the cautious choice)
    row_totals = {
        t: p for t, p in PLAN_ROW_TOTALS.items() if all(c in figures for c in (t, *p))
    }
    columns = counts + list(linked)
    return columns, set(counts), linked, row_totals


def _frame(records: list[dict], columns: list[str], level: str) -> pd.DataFrame:
    frame = pd.DataFrame(records)
    if frame.empty:
        return pd.DataFrame(columns=columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DisclosureError(f"plan {level}: columns {missing} are missing.")
    return frame


def _plan_system(plan: dict, *, published: dict | None = None) -> tuple[_System, np.ndarray]:
    """The plan's cells (national, provinces, districts, tehsils and the derivable remainders of
    unlisted districts and tehsils) and equations; with ``published``, which cells it hides."""
    columns, counts, linked, row_totals = _plan_columns(plan)
    sys = _System()
    blocks: dict[str, tuple[pd.DataFrame, np.ndarray]] = {}

    def add(name: str, frame: pd.DataFrame, **flags) -> np.ndarray:
        if frame[columns].isna().to_numpy().any():
            raise DisclosureError(
                f"plan {name} already has hidden (null) cells; pass the unsuppressed plan."
            )
        ids = sys.block(name, frame, columns, counts, **flags)
        _row_links(sys, ids, columns, linked, row_totals)
        blocks[name] = (frame, ids)
        return ids

    national = pd.DataFrame([{c: plan["totals"][c] for c in columns}])
    nat = add("national", national, hideable=False, total=True)
    provinces = _frame(plan.get("provinces", []), ["province_code", *columns], "provinces")
    districts = _frame(plan.get("districts", []), ["district_id", "province_code", *columns], "districts")
    tehsils = _frame(plan.get("tehsils", []), ["district_id", "tehsil_id", *columns], "tehsils")
    prov = add("provinces", provinces, total=True)
    _check_sum(national[columns].iloc[0], provinces[columns].sum(), "provinces", "the national totals")
    _sum_equations(sys, nat[0], prov)
    dist = add("districts", districts)
    _nest(sys, add, "provinces", provinces, prov, "province_code", districts, dist, columns)
    if len(tehsils):
        teh = add("tehsils", tehsils)
        _nest(sys, add, "districts", districts, dist, "district_id", tehsils, teh, columns)
    hidden = np.zeros(len(sys.values), dtype=bool)
    if published is not None:
        for name in ("provinces", "districts", "tehsils"):
            if name not in blocks:
                continue
            frame, ids = blocks[name]
            pub = _frame(published.get(name, []), columns, f"published {name}")
            if len(pub) != len(frame):
                raise DisclosureError(f"published plan {name}: {len(pub)} rows, original {len(frame)}.")
            hidden[ids[pub[columns].isna().to_numpy()]] = True
        # A remainder is never printed: an outsider knows it only by subtraction, so it is
        # unknown (hidden) as soon as another cell of its equation is hidden, unless it is zero
        # (unlisted rows have no affected households, which the listing itself tells).
        for eq in sys.equations:
            rem = [int(c) for c in eq if not sys.printed[c]]
            if rem and any(hidden[int(c)] for c in eq if sys.printed[c]):
                for c in rem:
                    hidden[c] = sys.values[c] != 0
    return sys, hidden


def _check_sum(total: pd.Series, parts: pd.Series, what: str, of: str) -> None:
    diff = (total.astype(np.int64) - parts.astype(np.int64))
    if (diff != 0).any():
        bad = list(diff[diff != 0].index)
        raise DisclosureError(f"plan {what} do not add up to {of} in {bad}; the plan is inconsistent.")


def _nest(
    sys: _System,
    add,
    parent_name: str,
    parents: pd.DataFrame,
    parent_ids: np.ndarray,
    key: str,
    children: pd.DataFrame,
    child_ids: np.ndarray,
    columns: list[str],
) -> None:
    """Equations parent = listed children + remainder (the unlisted children, derivable and never
    printed) for every parent that has listed children or a non-zero remainder."""
    parent_keys = list(parents[key])
    unknown = sorted(set(children[key]) - set(parent_keys))
    if unknown:
        raise DisclosureError(f"plan: {key} values {unknown} have no row among the {parent_name}.")
    sums = children.groupby(key)[columns].sum()
    remainder = parents.set_index(key)[columns] - sums.reindex(parent_keys, fill_value=0)
    if (remainder < 0).to_numpy().any():
        raise DisclosureError(f"plan: listed rows exceed their {parent_name} totals; the plan is inconsistent.")
    nonzero = remainder[(remainder != 0).any(axis=1)]
    rem_ids = (
        add(f"{parent_name}-remainder", nonzero.reset_index(drop=True), printed=False)
        if len(nonzero) else np.empty((0, len(columns)), dtype=np.int64)
    )
    rem_pos = {p: i for i, p in enumerate(nonzero.index)}
    child_keys = children[key].to_numpy()
    for i, p in enumerate(parent_keys):
        members = child_ids[child_keys == p]
        if p in rem_pos:
            members = np.vstack([members, rem_ids[rem_pos[p]][None, :]])
        if len(members):
            _sum_equations(sys, parent_ids[i], members)


def suppress_plan(
    plan_dict: dict, k: int = K_DEFAULT, *, min_width: float = 1.0, upper: bool = True
) -> dict:
    """A copy of a plan safe to publish: small districts and tehsils hidden, totals kept.

    Province, district and tehsil rows are suppressed together as one hierarchy (tehsils sum to
    their district, districts to their province, provinces to the nation), with the rules of the
    module docstring. National totals and every national figure stay published; a province cell
    is hidden only when it is itself under ``k`` or is the only way to protect a district (a
    one-district province such as Islamabad). Districts and tehsils left out of the plan's lists
    (no affected households) enter as a never-printed remainder per province or district.

    Parameters
    ----------
    plan_dict
        A plan from :func:`simulator.plans.build.build` (not already suppressed).
    k
        Smallest household count that may be shown.
    min_width
        Smallest feasible-interval width of a hidden cell [cell units].
    upper
        Also require each hidden small cell's feasible maximum to reach ``k`` (see :func:`suppress`).

    Returns
    -------
    dict
        A deep copy with hidden cells set to ``None`` in ``provinces``, ``districts`` and
        ``tehsils``; ``cost_sharing.contributions`` amounts set to ``None`` for a benefiting
        province whose ``provincial_pkr`` is hidden (they add up to it); and a ``disclosure``
        entry with the report (see :func:`suppress`).

    Raises
    ------
    DisclosureError
        The plan's levels do not add up, or it already has hidden cells.
    """
    columns, *_ = _plan_columns(plan_dict)
    sys, _ = _plan_system(plan_dict)
    out = _protect(sys, k=int(k), min_width=min_width, upper=upper)
    plan = copy.deepcopy(plan_dict)
    for c in np.flatnonzero(out.hidden):
        block, row, col = sys.labels[c]
        if block in ("provinces", "districts", "tehsils"):
            plan[block][row][col] = None
    hidden_prov = {
        p["province_code"] for p in plan.get("provinces", []) if p.get("provincial_pkr", 0) is None
    }
    for entry in plan.get("cost_sharing", {}).get("contributions", []):
        if entry.get("benefiting_province") in hidden_prov:
            entry["amount_pkr"] = None
    report = _report(sys, out, k=int(k), min_width=min_width, upper=upper)
    report["columns"] = columns
    ensemble = plan.get("ensemble")
    if ensemble:
        # Ranges over members are not protected by the tables' equations: publish the national
        # ones and each province's, with a household range under k hidden, and no districts.
        ensemble["districts"] = []
        for item in ensemble["provinces"]:
            counts = [item[m][q] for m in item if m.endswith("_households") for q in item[m]]
            if any(0 < v < k for v in counts):
                for m in [m for m in item if m != "province_code"]:
                    item[m] = dict.fromkeys(item[m])
        report["rules"].append("Ensemble ranges: national and provincial only; a province with a "
                               "household range under k is hidden.")
    unregistered = plan.get("unregistered")
    if unregistered:
        # District estimates scale the district's affected households by census / registry
        # figures, so they would let a hidden district count be computed back: publish the
        # national and provincial estimates only, a province with a figure under k hidden.
        unregistered["districts"] = []
        for item in unregistered["provinces"]:
            if any(0 < v < k for m, v in item.items() if m.endswith("_households") and isinstance(v, int)):
                for m in [m for m in item if m not in ("province_code", "coverage")]:
                    item[m] = None
        report["rules"].append("Unregistered estimates: national and provincial only; a province "
                               "with a figure under k is hidden.")
    if isinstance(plan.get("groups"), dict) and plan["groups"].get("provinces"):
        hidden_areas = {(level, str(plan[level][row].get("district_id" if level == "districts" else "province_code")))
                        for level, row, _ in (sys.labels[c] for c in np.flatnonzero(out.hidden))
                        if level in ("provinces", "districts")}
        report["groups"] = _suppress_groups(plan["groups"], k=int(k), min_width=min_width, upper=upper,
                                            hidden_areas=hidden_areas)
        report["rules"].append(
            "Household groups (female-headed, with a disabled member, with children under five): "
            "their province and district table is protected like the plan's (cells under k hidden, "
            "with complements; national figures published), and a province or district with a "
            "hidden cell in the plan's tables has its groups hidden too (a group's count bounds "
            "the area's); its report is under 'groups'.")
    if plan.get("delivery"):
        _publish_delivery(plan["delivery"], plan.get("totals", {}))
        report["rules"].append(
            f"Delivery: national and provincial figures, One Window Centres and campsites, with "
            f"household counts rounded to the nearest {DELIVERY_BASE} (money and paid households "
            "as in the published totals); sites' places and status without their loads; per "
            "district and per day tables withheld.")
    plan["disclosure"] = report
    return plan


def _suppress_groups(block: dict, *, k: int, min_width: float, upper: bool,
                     hidden_areas: set[tuple[str, str]] = frozenset()) -> dict:
    """``plan["groups"]`` suppressed in place as a plan of its own: its national figures, its
    provinces and its districts (counts of weighted households, each column a count) go through
    the same hierarchy and rules as :func:`suppress_plan`; hidden cells become None.
    ``hidden_areas``: ``("provinces", code)`` and ``("districts", id)`` with a hidden cell in
    the plan's own tables, whose group cells are hidden from the start and protected as small
    cells are (a group's count is a lower bound of its area's). Returns the report
    (:func:`simulator.publish.disclosure.protection._report`)."""
    national = {f"{g}_{m}": int(v) for g, item in block["national"].items() for m, v in item.items()}
    own = {"totals": national, "provinces": block.get("provinces", []), "districts": block.get("districts", [])}
    columns, *_ = _plan_columns(own)
    sys, _ = _plan_system(own)
    forced = np.zeros(len(sys.values), dtype=bool)
    for c, (level, row, _) in enumerate(sys.labels):
        if level in ("provinces", "districts"):
            area = own[level][row].get("district_id" if level == "districts" else "province_code")
            forced[c] = (level, str(area)) in hidden_areas
    out = _protect(sys, k=k, min_width=min_width, upper=upper, forced=forced)
    for c in np.flatnonzero(out.hidden):
        level, row, col = sys.labels[c]
        if level in ("provinces", "districts"):
            block[level][row][col] = None
    report = _report(sys, out, k=k, min_width=min_width, upper=upper)
    report["columns"] = columns
    return report


#: Delivery counts are published rounded to this base [households].
DELIVERY_BASE = 10


def _publish_delivery(section: dict, totals: dict) -> None:
    """The delivery section as published (in place): per-district and per-day tables dropped,
    and the sites' loads withheld (a site's or a day's count would let a hidden district be
    computed back; the sites' places and status stay); counts
    rounded to :data:`DELIVERY_BASE`; the national paid households and PKR as the plan's
    published totals; PKR of provinces and sites withheld."""

    def rounded(row: dict) -> dict:
        for name, value in row.items():
            if isinstance(value, int) and not isinstance(value, bool) and (
                    name.endswith(("_households", "_payments")) or name in ("households", "registrations", "complaints")):
                row[name] = int(round(value / DELIVERY_BASE)) * DELIVERY_BASE
            elif name.endswith("_pkr"):
                row[name] = None
        return row

    for key in ("districts", "cash_per_day"):
        section[key] = []
    load = ("households", "amount_pkr", "federal_pkr", "provincial_pkr", "federal_payments", "provincial_payments",
            "joint_payments", "days", "last_day", "staff_days", "registrations", "complaints")
    # a site's place and status are public facts; its load is not (it could give a district back)
    section["sites"] = [{k: (None if k in load else v) for k, v in row.items()} for row in section.get("sites", [])]
    for key in ("provinces", "one_window", "campsites", "instalments"):
        section[key] = [rounded(dict(row)) for row in section.get(key, [])]
    t = rounded(section["totals"])
    t["paid_households"] = totals.get("paid_households")
    t["paid_pkr"] = totals.get("amount_pkr")
