"""The Delivery page: where the paid households are paid, which sites the hazard closes, the
campsites the provinces open and the One Window Centres (the plan's ``delivery`` section,
:mod:`simulator.plans.delivery_plan`).

Both roles see the headline, the map of sites by status with the campsites, the provinces, the
closed sites, the campsites and the One Window Centres, the assumptions and the sites' source.
A minister sees them from the published plan (counts rounded, the sites' loads withheld); a
planner also sees the catchments on the map, the distances by district, each site's load and
the cash-per-day (cash-in-transit) plan. A scenario without a ``delivery:`` block gets a note
on how to add one.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from hazards import tables as data
from simulator.app import deck, loaders, text
from simulator.app.pages import published
from simulator.app.state import Current, T, current, lang
from simulator.app.widgets import scenario_heading, table_height

MAP_HEIGHT_PX = 600
#: The ``delivery:`` block shown to a scenario without one.
EXAMPLE_BLOCK = """delivery:
  sites: data/sites/sites_illustrative.csv   # leave out for the shipped ILLUSTRATIVE table
  closure: {tier: severely_affected}         # sites at this tier or above close
  far_limit_km: 25
  campsites: {max_days: 14, grid_km: 10}     # null: no campsites
  one_window_centres: []                     # site ids or site kinds
"""
#: Colour chips of the map's legend: label key, RGB.
LEGEND = (("dv_legend_open", deck.SITE_RGB["open"]), ("dv_legend_closed_for_days", deck.SITE_RGB["closed_for_days"]),
          ("dv_legend_closed", deck.SITE_RGB["closed"]), ("dv_legend_campsite", deck.CAMPSITE_RGB))


def count(v) -> str:
    return text.fmt_count(None if v is None else int(round(v)))


def province_name(code) -> str:
    if not code:
        return "–"
    return text.province_name(lang(), code, data.PROVINCES.get(code, code))


@st.cache_data(show_spinner=False)
def _district_names(lg: str) -> dict[str, str]:
    table = data.districts()
    return {d: text.district_name(lg, d, n) for d, n in zip(table.district_id, table.district, strict=True)}


def district_names() -> dict[str, str]:
    """District id -> name in the page's language."""
    return _district_names(lang())


def kind_text(kind) -> str:
    key = "sk_" + str(kind)
    return T(key) if key in text.LABELS["en"] else str(kind or "").replace("_", " ")


def status_text(status) -> str:
    return T("dv_status_" + status) if status in deck.SITE_RGB else str(status)


def reopen_text(day) -> str:
    return T("dv_reopen_never") if day is None else T("dv_reopen_day", day=day)


# --- map ------------------------------------------------------------------------------------------


def delivery_deck(cur: Current, section: dict, plan: dict, *, planner: bool, height: int = MAP_HEIGHT_PX):
    """The map: outlines, rivers, (planners) catchments, sites by status and campsites."""
    lg = lang()
    light = cur.bounds[1] if cur.bounds else None
    layers = [*loaders.outline_layers(light), deck.river_layer()]
    sites = section.get("sites") or []
    if planner:
        layers.append(deck.catchment_layer(deck.catchment_paths(sites)))
    layers.append(deck.sites_layer(sites, lg))
    layers.append(deck.campsite_layer(section, lg))
    extent = deck.delivery_bounds(section, deck.district_figures(plan)) or data.PAKISTAN_BBOX
    tip_style = {"fontSize": "13px", "whiteSpace": "pre", "color": "white"}
    if lg in text.RTL:
        tip_style["direction"] = "rtl"
    return deck.compact_deck(layers=layers, initial_view_state=deck.view_for(extent, height_px=height),
                             map_style=None, tooltip={"text": "{tip}", "style": tip_style})


def legend_html(planner: bool) -> str:
    chip = ('<span style="display:inline-block;margin-right:1rem"><span style="display:inline-block;'
            'width:12px;height:12px;border-radius:50%;background:rgb{rgb};margin:0 4px;'
            'vertical-align:middle"></span>{label}</span>')
    chips = "".join(chip.format(rgb=tuple(rgb), label=T(key)) for key, rgb in LEGEND)
    chips += ('<span style="display:inline-block;margin-right:1rem"><span style="display:inline-block;'
              'width:10px;height:10px;border-radius:50%;border:3px solid black;margin:0 4px;'
              f'vertical-align:middle"></span>{T("dv_legend_one_window")}</span>')
    if planner:
        rgb = tuple(deck.CATCHMENT_LINE[:3])
        chips += ('<span style="display:inline-block;margin-right:1rem"><span style="display:inline-block;'
                  f'width:18px;height:0;border-top:1px solid rgb{rgb};margin:0 4px;vertical-align:middle">'
                  f'</span>{T("dv_legend_catchment")}</span>')
    return f'<div style="font-size:0.85rem"><b>{T("dv_legend_title")}</b><br>{chips}</div>'


# --- tables ---------------------------------------------------------------------------------------


def provinces_table(section: dict) -> pd.DataFrame:
    return pd.DataFrame([{
        T("col_province"): province_name(p["province_code"]),
        T("col_households"): count(p.get("households")),
        T("col_days_to_pay"): count(p.get("days_to_pay")),
        T("col_sites_closed"): count(p.get("sites_closed")),
        T("col_campsites"): count(p.get("campsites")),
        T("col_beyond_limit"): count(p.get("beyond_limit_households")),
        T("col_registrations"): count(p.get("registrations")),
        T("col_complaints"): count(p.get("complaints")),
    } for p in section.get("provinces") or []])


def closed_table(section: dict) -> pd.DataFrame:
    names, tiers = district_names(), ("tier_none", "tier_affected", "tier_severe", "tier_displaced")
    return pd.DataFrame([{
        T("col_site"): text.site_name(lang(), s), T("col_kind"): kind_text(s.get("kind")),
        T("col_district"): names.get(s.get("district_id"), s.get("district_id") or "–"),
        T("col_province"): province_name(s.get("province_code")),
        T("col_tier"): T(tiers[s["tier"]]) if isinstance(s.get("tier"), int) and 0 <= s["tier"] < 4 else s.get("tier"),
        T("col_reopen"): reopen_text(s.get("reopen_day")),
    } for s in section.get("closed_sites") or []])


def campsites_table(section: dict, planner: bool) -> pd.DataFrame:
    def households(v):
        if v is None:
            return "–"
        return count(v) if planner else count(round(v / 10) * 10)  # as published: to the nearest 10

    def reason(r):
        return "; ".join(T("dv_reason_" + p) if ("dv_reason_" + p) in text.LABELS["en"] else p
                         for p in str(r or "").split(";") if p)

    return pd.DataFrame([{
        T("col_campsite"): text.site_name(lang(), c), T("col_province"): province_name(c.get("province_code")),
        T("col_lon"): round(float(c["lon"]), 4), T("col_lat"): round(float(c["lat"]), 4),
        T("col_demand"): households(c.get("demand_households")), T("col_days"): count(c.get("days")),
        T("col_reason"): reason(c.get("reason")),
    } for c in section.get("campsites") or []])


def one_window_table(section: dict) -> pd.DataFrame:
    """The One Window Centres' loads; the PKR columns only where the plan gives them (a
    minister's plan withholds them)."""
    names = district_names()
    rows = section.get("one_window") or []
    money = any(o.get("federal_pkr") is not None or o.get("provincial_pkr") is not None for o in rows)
    table = pd.DataFrame([{
        T("col_site"): text.site_name(lang(), o), T("col_kind"): kind_text(o.get("kind")),
        T("col_district"): names.get(o.get("district_id"), o.get("district_id") or "–"),
        T("col_province"): province_name(o.get("province_code")),
        T("col_federal_payments"): count(o.get("federal_payments")),
        T("col_provincial_payments"): count(o.get("provincial_payments")),
        T("col_joint_payments"): count(o.get("joint_payments")),
        T("f_federal_pkr"): text.fmt_pkr(o.get("federal_pkr"), lang()),
        T("f_provincial_pkr"): text.fmt_pkr(o.get("provincial_pkr"), lang()),
        T("col_registrations"): count(o.get("registrations")),
        T("col_complaints"): count(o.get("complaints")),
    } for o in rows])
    return table if money else table.drop(columns=[T("f_federal_pkr"), T("f_provincial_pkr")], errors="ignore")


def districts_table(section: dict) -> pd.DataFrame:
    """Distances by district (numbers, so that the columns sort; shares in %)."""
    names = district_names()
    rows = sorted(section.get("districts") or [], key=lambda d: -(d.get("mean_km") or 0))
    return pd.DataFrame([{
        T("col_district"): names.get(d["district_id"], d["district_id"]),
        T("col_province"): province_name(d.get("province_code")),
        T("col_households"): d.get("households"),
        T("col_within_5"): None if d.get("within_5km") is None else 100 * d["within_5km"],
        T("col_within_10"): None if d.get("within_10km") is None else 100 * d["within_10km"],
        T("col_within_25"): None if d.get("within_25km") is None else 100 * d["within_25km"],
        T("col_beyond_limit"): d.get("beyond_limit"),
        T("col_no_site"): d.get("no_site"),
        T("col_mean_km"): d.get("mean_km"), T("col_max_km"): d.get("max_km"),
        T("col_last_day"): d.get("last_day"),
    } for d in rows])


def sites_table(section: dict) -> pd.DataFrame:
    """Each site's load (numbers, so that the columns sort), the busiest first."""
    rows = sorted(section.get("sites") or [], key=lambda s: -(s.get("households") or 0))
    return pd.DataFrame([{
        T("col_site"): text.site_name(lang(), s), T("col_kind"): kind_text(s.get("kind")),
        T("col_province"): province_name(s.get("province_code")), T("col_status"): status_text(s.get("status")),
        T("col_pay_capacity"): s.get("payments_per_day"), T("col_households"): s.get("households"),
        T("f_amount_pkr"): s.get("amount_pkr"), T("col_days"): s.get("days"), T("col_last_day"): s.get("last_day"),
        T("col_staff_days"): s.get("staff_days"), T("col_registrations"): s.get("registrations"),
        T("col_complaints"): s.get("complaints"),
    } for s in rows])


def cash_table(section: dict) -> pd.DataFrame:
    names = {s["site_id"]: text.site_name(lang(), s) for s in section.get("sites") or []}
    return pd.DataFrame([{
        T("col_site"): names.get(c["site_id"], c["site_id"]), T("col_instalment"): c.get("instalment"),
        T("col_day"): c.get("day"), T("col_households"): c.get("households"), T("col_cash"): c.get("cash_pkr"),
        T("col_staff"): c.get("staff_days"),
    } for c in section.get("cash_per_day") or []])


def number_columns(frame: pd.DataFrame, percent: tuple = (), decimals: tuple = ()) -> dict:
    """Column formats of a numeric table: counts with separators, shares in %, km to 0.1."""
    config = {}
    for col in frame.columns:
        if col in percent:
            config[col] = st.column_config.NumberColumn(col, format="%.0f%%")
        elif col in decimals:
            config[col] = st.column_config.NumberColumn(col, format="%.1f")
        elif pd.api.types.is_numeric_dtype(frame[col]) or frame[col].dtype == object:
            if frame[col].map(lambda v: v is None or isinstance(v, (int, float))).all():
                config[col] = st.column_config.NumberColumn(col, format="localized")
    return config


# --- the page -------------------------------------------------------------------------------------


def no_delivery() -> None:
    st.info(T("dv_none"))
    st.code(EXAMPLE_BLOCK, language="yaml")
    st.caption(T("dv_none_cli"))


def show_metrics(section: dict) -> None:
    t = section["totals"]
    a = section.get("assumptions") or {}
    closed = (t.get("sites_closed") or 0) + (t.get("sites_closed_for_days") or 0)
    cards = (
        (T("m_days_to_pay"), count(t.get("days_to_pay"))),
        (T("m_sites_closed"), T("m_sites_closed_value", closed=count(closed), total=count(t.get("sites")))),
        (T("m_campsites"), count(t.get("campsites"))),
        (T("m_beyond_limit", km=f"{a.get('far_limit_km', 25):g}"), count(t.get("beyond_limit_households"))),
        (T("m_registrations"), count(t.get("registrations"))),
        (T("m_complaints"), count(t.get("complaints"))),
    )
    rows = [st.columns(3), st.columns(3)]
    for i, (label, value) in enumerate(cards):
        rows[i // 3][i % 3].metric(label, value, border=True)


def show_assumptions(section: dict) -> None:
    a = section.get("assumptions") or {}
    st.subheader(T("dv_assumptions_title"))
    tier = a.get("closure_tier")
    tier_key = {"affected": "tier_affected", "severely_affected": "tier_severe", "displaced": "tier_displaced"}.get(tier)
    days = a.get("closure_days")
    lines = [
        T("dv_a_detour", v=f"{a.get('detour_factor'):g}" if a.get("detour_factor") is not None else "–"),
        T("dv_a_far", v=f"{a.get('far_limit_km'):g}" if a.get("far_limit_km") is not None else "–"),
        T("dv_a_staff", v=count(a.get("payments_per_staff_day"))),
        T("dv_a_closure", tier=T(tier_key) if tier_key else str(tier),
          days=T("dv_a_closure_response") if days is None else T("dv_a_closure_days", n=days)),
        T("dv_a_complaints", pct=f"{a['complaints_share']:.0%}" if a.get("complaints_share") is not None else "–"),
    ]
    if a.get("campsite_max_days") is not None:
        lines.append(T("dv_a_campsites", days=a["campsite_max_days"], km=f"{a.get('campsite_grid_km') or 0:g}"))
    st.markdown("\n".join(f"- {line}".replace("$", r"\$") for line in lines))
    if a.get("basis"):
        st.caption(T("dv_a_basis", basis=a["basis"]))
    src = section.get("sites_source") or {}
    st.subheader(T("dv_source_title"))
    st.markdown(T("dv_source_line", file=f"`{Path(str(src.get('file', '?'))).name}`",
                  valid=count(src.get("rows_valid")), read=count(src.get("rows_read")),
                  quarantined=count(src.get("rows_quarantined")), sha=str(src.get("sha256") or "?")[:12]))
    if src.get("illustrative"):
        st.warning(T("dv_illustrative"))
    if src.get("quarantine"):
        st.dataframe(pd.DataFrame(src["quarantine"]), hide_index=True, key="dv_quarantine")
    if section.get("notes"):
        st.subheader(T("dv_notes_title"))
        st.markdown("\n".join(f"- {n}".replace("$", r"\$") for n in section["notes"]))


def headline_text(section: dict) -> str:
    """The delivery headline in the page's language: the plan's own sentence in English
    (:func:`simulator.plans.delivery_plan.headline`, with campsites per province), the same
    figures from the labels otherwise."""
    if lang() == "en":
        from simulator.plans.delivery_plan import headline

        return headline(section)
    t = section["totals"]
    parts = []
    if t.get("days_to_pay") is not None:
        parts.append(T("dv_hl_days", n=count(t["days_to_pay"])))
    if t.get("campsites"):
        parts.append(T("dv_hl_camps", n=count(t["campsites"])))
    closed = (t.get("sites_closed") or 0) + (t.get("sites_closed_for_days") or 0)
    if closed:
        parts.append(T("dv_hl_closed", n=count(closed), m=count(t["sites"])))
    if t.get("beyond_limit_households"):
        parts.append(T("dv_hl_far", n=count(t["beyond_limit_households"]),
                       km=f"{section['assumptions']['far_limit_km']:g}"))
    if t.get("unassigned_households"):
        parts.append(T("dv_hl_unassigned", n=count(t["unassigned_households"])))
    return T("dv_hl_prefix") + ("؛ ".join(parts) if parts else T("dv_hl_nobody")) + "۔"


def render(cur: Current) -> None:
    st.title(T("page_delivery"))
    scenario_heading(cur)
    plan, _ = published(cur)
    section = plan.get("delivery")
    if not section:
        no_delivery()
        return
    planner = cur.cfg.planner
    st.markdown(f"**{headline_text(section)}**".replace("$", r"\$"))
    show_metrics(section)
    if not planner:
        st.caption(T("dv_published_note"))

    spec = delivery_deck(cur, section, plan, planner=planner)
    st.pydeck_chart(spec, height=MAP_HEIGHT_PX, key="delivery_map", alt=T("dv_map_alt"))
    st.html(legend_html(planner))
    note = T("dv_map_note")
    if planner:
        note += " " + T("dv_map_note_planner")
    st.caption(note)
    st.caption(text.boundary_attribution(lang()))  # ODbL: wherever the shipped outlines are drawn

    names = ["dv_tab_provinces", "dv_tab_campsites"]
    if planner:
        names += ["dv_tab_distances", "dv_tab_sites", "dv_tab_cash"]
    names.append("dv_tab_assumptions")
    tabs = dict(zip(names, st.tabs([T(n) for n in names]), strict=True))
    with tabs["dv_tab_provinces"]:
        st.subheader(T("by_province"))
        st.dataframe(provinces_table(section), hide_index=True, key="dv_provinces")
        st.subheader(T("dv_closed_title"))
        closed = closed_table(section)
        if len(closed):
            st.dataframe(closed, hide_index=True, height=table_height(len(closed)), key="dv_closed")
        else:
            st.caption(T("dv_closed_none"))
    with tabs["dv_tab_campsites"]:
        st.subheader(T("dv_campsites_title"))
        camps = campsites_table(section, planner)
        if section.get("campsite_method"):
            st.caption(T("dv_camp_method", method=section["campsite_method"]))
        if len(camps):
            st.dataframe(camps, hide_index=True, height=table_height(len(camps)), key="dv_campsites")
        elif (section.get("assumptions") or {}).get("campsite_max_days") is None:
            st.caption(T("dv_camp_off"))
        else:
            st.caption(T("dv_camp_none"))
        st.subheader(T("dv_one_window_title"))
        ow = one_window_table(section)
        if len(ow):
            st.caption(T("dv_one_window_caption"))
            st.dataframe(ow, hide_index=True, height=table_height(len(ow)), key="dv_one_window")
        else:
            st.caption(T("dv_one_window_none"))
    if planner:
        with tabs["dv_tab_distances"]:
            far = (section.get("assumptions") or {}).get("far_limit_km", 25)
            st.caption(T("dv_distances_caption", km=f"{far:g}"))
            dist = districts_table(section)
            st.dataframe(dist, hide_index=True, height=table_height(len(dist)), key="dv_districts",
                         column_config=number_columns(dist, percent=(T("col_within_5"), T("col_within_10"),
                                                                     T("col_within_25")),
                                                      decimals=(T("col_mean_km"), T("col_max_km"))))
        with tabs["dv_tab_sites"]:
            st.caption(T("dv_sites_caption"))
            loads = sites_table(section)
            st.dataframe(loads, hide_index=True, height=table_height(len(loads)), key="dv_sites",
                         column_config=number_columns(loads))
        with tabs["dv_tab_cash"]:
            st.subheader(T("dv_cash_title"))
            st.caption(T("dv_cash_caption"))
            cash = cash_table(section)
            if len(cash):
                daily = cash.groupby(T("col_day"), as_index=False)[T("col_cash")].sum()
                daily[T("pkr_million_axis")] = daily[T("col_cash")] / 1e6
                st.caption(T("dv_cash_chart"))
                st.bar_chart(daily, x=T("col_day"), y=T("pkr_million_axis"), color="#0072B2")
            st.dataframe(cash, hide_index=True, height=table_height(len(cash)), key="dv_cash",
                         column_config=number_columns(cash))
    with tabs["dv_tab_assumptions"]:
        show_assumptions(section)


if __name__ == "__main__":  # st.navigation runs this file as the page
    render(current())
