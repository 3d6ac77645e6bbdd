"""The Response page (url_path ``authority``): what a disaster management authority (NDMA, a
PDMA) plans the response with, from the plan every other page shows
(:mod:`simulator.plans.response`).

- the headline: affected households and people, severely affected and displaced households,
  households paid and the days to pay them;
- the map: the hazard layers, the districts with their figures (the affected households'
  hexagons on request: they hide the hazard);
- what "displaced" means for each hazard (its most severe tier, a planning assumption);
- affected people and households by district and by tehsil;
- the plan's timeline: households and PKR per instalment and district, with the day each
  district's last payment is made;
- the groups (female-headed, with a member with a disability, with children under five) by
  district, when the plan has them.

Who sees which figures (:mod:`simulator.app.settings`): the authority (the page it lands on) and
the planner see the exact plan, the timeline scheduled from the run's household table as the
delivery plan schedules it; a minister sees the published plan (perturbed, cells under k
hidden as "–") and a timeline from its district totals. No household-level row is shown to
anyone here.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from simulator.app import loaders, text
from simulator.app.pages import published
from simulator.app.state import Current, T, current, lang
from simulator.app.widgets import build_deck, draw_deck, scenario_heading, table_height
from simulator.plans import response

MAP_HEIGHT_PX = 560
#: Districts drawn apart in the timeline chart (the largest by PKR); the others are summed.
CHART_DISTRICTS = 8


def exact(cur: Current) -> bool:
    """True when the visitor sees the exact plan here (authority, planner)."""
    return cur.cfg.planner or cur.cfg.authority


def plan_shown(cur: Current) -> dict:
    """The exact plan for an authority or planner, the published one for a minister."""
    return cur.plan if exact(cur) else published(cur)[0]


@st.cache_data(show_spinner=False, max_entries=8)
def cached_timeline(key: str, _plan: dict, _households: pd.DataFrame) -> pd.DataFrame:
    """:func:`simulator.plans.response.timeline` of a run (``key``: its
    :func:`simulator.app.loaders.cache_key`), from its household table."""
    return response.timeline(_plan, _households)


def timeline_of(cur: Current, plan: dict) -> pd.DataFrame:
    """The timeline the visitor may see: scheduled from the household table (exact), or from
    the published plan's districts (a minister)."""
    if not exact(cur):
        return response.timeline(plan)
    result = loaders.result_of(cur.scn, cur.source, cur.library)[0]
    return cached_timeline(loaders.cache_key(cur.scn, cur.source, cur.library), cur.plan, result.households)


# --- cells ----------------------------------------------------------------------------------------


def cells(values, *, money: bool, as_numbers: bool) -> list:
    """Figures as numbers (exact tables: they sort) or as text with "–" for a hidden cell."""
    if as_numbers:
        return list(values)
    return [text.fmt_pkr(v, lang()) if money else text.fmt_count(v) for v in values]


def number_config(frame: pd.DataFrame, columns: list[str]) -> dict:
    return {c: st.column_config.NumberColumn(c, format="localized") for c in columns if c in frame.columns}


def area_frame(rows: pd.DataFrame, level: str, as_numbers: bool) -> tuple[pd.DataFrame, list[str]]:
    """A table of :func:`simulator.plans.response.areas` in the visitor's language, and its
    number columns."""
    lg = lang()
    out = {T("col_province"): [text.province_name(lg, c) for c in rows["province_code"]],
           T("col_district"): [text.district_name(lg, i, n) for i, n in zip(rows["district_id"], rows["district"],
                                                                              strict=True)]}
    if level == "tehsil":
        out[T("col_tehsil_id")] = list(rows["tehsil"])
    numbers = []
    for f in response.AREA_FIGURES:
        label = T("au_col_amount") if f == "amount_pkr" else T("f_" + f)
        out[label] = cells(rows[f], money=f.endswith("_pkr"), as_numbers=as_numbers)
        numbers.append(label)
    return pd.DataFrame(out), numbers


# --- sections -------------------------------------------------------------------------------------


def show_headline(plan: dict) -> None:
    t = plan["totals"]
    delivery = (plan.get("delivery") or {}).get("totals") or {}
    cards = (
        (T("m_affected_households"), text.fmt_count(t.get("affected_households"))),
        (T("m_affected_people"), text.fmt_count(t.get("affected_people"))),
        (T("f_severely_affected_households"), text.fmt_count(t.get("severely_affected_households"))),
        (T("f_displaced_households"), text.fmt_count(t.get("displaced_households"))),
        (T("m_paid_households"), text.fmt_count(t.get("paid_households"))),
        (T("m_days_to_pay"), text.fmt_count(delivery.get("days_to_pay"))),
    )
    rows = [st.columns(3), st.columns(3)]
    for i, (label, value) in enumerate(cards):
        rows[i // 3][i % 3].metric(label, value, border=True)


def show_map(cur: Current, plan: dict) -> None:
    """The hazard layers with the districts' figures (those of ``plan``); hexagons on request."""
    st.subheader(T("au_map_title"))
    hexes = st.toggle(T("layer_households"), value=False, key="au_show_households", help=T("au_hexes_help"))
    view = dataclasses.replace(cur, shown=plan)  # the districts' figures this page shows
    spec, legends, _, symbols = build_deck(view, hazard=True, households=hexes, districts=True,
                                           height=MAP_HEIGHT_PX)
    draw_deck(spec, legends, symbols, key="authority_map", alt=T("au_map_alt"), height=MAP_HEIGHT_PX)
    st.caption(T("au_map_note"))


def displaced_lines(cur: Current) -> list[str]:
    """What "displaced" means for each hazard, in the visitor's language."""
    lg = lang()
    lines = []
    specs = {getattr(h, "label", None) or h.name: h for h in cur.scn.hazards}
    for rule in response.displaced_rule(cur.scn, cur.layers):
        rule = {**rule, "hazard": text.hazard_name(lg, specs.get(rule["hazard"])) if rule["hazard"] in specs
                else rule["hazard"]}
        units = text.unit_text(rule["units"], lg)
        values = {h: v for h, v in rule["displaced"].items() if v is not None}
        if rule["source"] == "declared":
            lines.append(T("au_displaced_declared", hazard=rule["hazard"]))
        elif not values:
            lines.append(T("au_displaced_none", hazard=rule["hazard"]))
        elif rule["source"] == "impact":
            shown = ", ".join(f"{T('au_housing_' + h) if 'au_housing_' + h in text.LABELS['en'] else h} "
                              f"{v:g} {units}".strip() for h, v in values.items())
            lines.append(T("au_displaced_impact", hazard=rule["hazard"], function=rule["function"], values=shown))
        else:
            lines.append(T("au_displaced_tiers", hazard=rule["hazard"],
                           value=f"{next(iter(values.values())):g} {units}".strip()))
    return lines


def show_areas(plan: dict, as_numbers: bool) -> None:
    st.subheader(T("au_areas_title"))
    st.caption(T("au_people_basis"))
    tabs = st.tabs([T("au_tab_districts"), T("au_tab_tehsils")])
    for tab, level in zip(tabs, ("district", "tehsil"), strict=True):
        with tab:
            rows = response.areas(plan, level)
            if not len(rows):
                st.info(T("summary_none") if level == "district" else T("au_no_tehsils"))
                continue
            frame, numbers = area_frame(rows, level, as_numbers)
            st.dataframe(frame, hide_index=True, height=table_height(len(frame)), key=f"au_{level}s",
                         column_config=number_config(frame, numbers) if as_numbers else None)


def instalment_label(instalment: int, day: int) -> str:
    return T("au_instalment_day", k=instalment, day=day)


def show_timeline(cur: Current, plan: dict, as_numbers: bool) -> None:
    st.subheader(T("au_timeline_title"))
    table = timeline_of(cur, plan)
    scheduled = exact(cur) and bool(plan.get("delivery"))
    if scheduled:
        lost = ((plan.get("delivery") or {}).get("totals") or {}).get("unassigned_households") or 0
        st.caption(T("au_timeline_scheduled") + (" " + T("au_timeline_unassigned", n=text.fmt_count(lost))
                                                 if lost else ""))
    else:
        st.caption(T("au_timeline_plan"))
    if not len(table):
        st.info(T("au_timeline_none"))
        return
    lg = lang()
    names = {d: text.district_name(lg, d, n) for d, n in zip(*_district_names(table), strict=True)}
    # the chart: households or PKR million per instalment, the largest districts apart
    measure = st.radio(T("au_measure"), ["households", "amount_pkr"], horizontal=True, key="au_measure",
                       format_func=lambda m: T("col_households") if m == "households" else T("pkr_million_axis"))
    values = pd.to_numeric(table[measure], errors="coerce")
    if measure == "amount_pkr":
        values = values / 1e6
    by_district = pd.to_numeric(table["amount_pkr"], errors="coerce").groupby(table["district_id"]).sum()
    top = set(by_district.sort_values(ascending=False).index[:CHART_DISTRICTS])
    chart = pd.DataFrame({
        "x": [instalment_label(k, d) for k, d in zip(table["instalment"], table["day"], strict=True)],
        "district": [names[d] if d in top else T("au_other_districts") for d in table["district_id"]],
        "y": values,
    }).groupby(["x", "district"], as_index=False, sort=False)["y"].sum()
    x_label, colour = T("au_chart_x"), T("col_district")
    y_label = T("col_households") if measure == "households" else T("pkr_million_axis")
    chart = chart.rename(columns={"x": x_label, "district": colour, "y": y_label})
    st.bar_chart(chart, x=x_label, y=y_label, color=colour, stack=True)
    # the table
    frame = pd.DataFrame({
        T("col_instalment"): table["instalment"].astype(int),
        T("au_col_starts"): table["day"].astype(int),
        T("col_province"): [text.province_name(lg, c) for c in table["province_code"]],
        T("col_district"): [names[d] for d in table["district_id"]],
        T("col_households"): cells(table["households"], money=False, as_numbers=as_numbers),
        T("au_col_amount"): cells(table["amount_pkr"], money=True, as_numbers=as_numbers),
    })
    if scheduled:
        frame[T("col_last_day")] = table["last_day"].to_numpy()
        frame[T("col_days")] = table["days"].to_numpy()
    numbers = [T("col_households"), T("au_col_amount")]
    st.dataframe(frame, hide_index=True, height=table_height(len(frame)), key="au_timeline",
                 column_config=number_config(frame, numbers) if as_numbers else None)


def _district_names(table: pd.DataFrame) -> tuple[list, list]:
    from hazards import tables as data

    names = data.districts().set_index("district_id")["district"]
    ids = list(dict.fromkeys(table["district_id"]))
    return ids, [names.get(d, d) for d in ids]


def show_groups(plan: dict, as_numbers: bool) -> None:
    """The groups by district (only when the plan has them)."""
    rows = response.groups(plan)
    if rows is None:
        return
    st.subheader(T("au_groups_title"))
    st.caption(T("au_groups_caption"))
    if not len(rows):
        st.info(T("summary_none"))
        return
    lg = lang()
    out = {T("col_province"): [text.province_name(lg, c) for c in rows["province_code"]],
           T("col_district"): [text.district_name(lg, i, n) for i, n in zip(rows["district_id"], rows["district"],
                                                                              strict=True)]}
    numbers = []
    for col in rows.columns[3:]:
        label = T("au_g_" + col)
        out[label] = cells(rows[col], money=False, as_numbers=as_numbers)
        numbers.append(label)
    frame = pd.DataFrame(out)
    st.dataframe(frame, hide_index=True, height=table_height(len(frame)), key="au_groups",
                 column_config=number_config(frame, numbers) if as_numbers else None)


# --- the page -------------------------------------------------------------------------------------


def render(cur: Current) -> None:
    st.title(T("page_authority"))
    scenario_heading(cur)
    plan = plan_shown(cur)
    as_numbers = exact(cur)
    st.caption(T("au_exact_note") if as_numbers else T("published_note"))
    show_headline(plan)
    show_map(cur, plan)
    st.subheader(T("au_displaced_title"))
    st.markdown("\n".join(f"- {line}" for line in displaced_lines(cur)).replace("$", r"\$"))
    st.caption(T("au_displaced_assumption"))
    show_areas(plan, as_numbers)
    show_timeline(cur, plan, as_numbers)
    show_groups(plan, as_numbers)


if __name__ == "__main__":  # st.navigation runs this file as the page
    render(current())
