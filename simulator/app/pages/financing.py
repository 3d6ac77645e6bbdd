"""The Financing page: what a year of disasters costs each government under the current policy,
and what the scenario's layers, pools and parametric triggers do about it (the plan's ``risk``
section, :mod:`simulator.plans.risk_plan`, as ``madad risk`` writes it).

The policy (with the sidebar's what-if) runs over an event set: the scenario's
``financing.events`` when it declares them, else N events over N simulated years generated from
its modelled hazards (N chosen here). A set not yet built waits for the "Compute" button
(building takes about 0.3 s per event per hazard the first time; the set is then cached on
disk); a set already built is evaluated at once. Runs are cached per scenario policy, registry
and set (:func:`simulator.app.loaders.cached_risk`).

Shown: the headline sentences, the average year and the 1-in-T years of each payer with their
intervals, the exceedance curves, the split of the average year between the federal government
and the provinces, the layer towers, the layers, pools, retained losses and triggers declared,
how the events were evaluated, and risk.xlsx and risk.pdf. Every figure is a province or
national total over simulated years: both roles see the whole page, and nothing per household.
"""

from __future__ import annotations

import logging

import altair as alt
import pandas as pd
import streamlit as st

from hazards.errors import MadadError
from simulator.app import loaders, text
from simulator.app.state import Current, T, current, lang
from simulator.app.widgets import scenario_heading, table_height

log = logging.getLogger("madad.app")

#: Payers whose rows and curves the page shows, in order (provinces without payouts are left out).
PROVINCES = ("PB", "SD", "KP", "BA", "IS")
#: Curve colours (as the PDF's): all governments, federal, provinces together, each province.
COLOURS = {"total": "#222222", "federal": "#0072B2", "provinces": "#E69F00", "PB": "#009E73",
           "SD": "#D55E00", "KP": "#CC79A7", "BA": "#56B4E9", "IS": "#999999"}
LAYER_KINDS = ("reserve", "fund", "contingent_credit", "parametric_insurance", "cat_bond", "pool")
POOL_KEYS = ("nfc7", "population2023", "exposure", "equal")
#: The ``financing:`` block shown to a scenario that has no event set to run.
EXAMPLE_BLOCK = """financing:
  events:
    - generate: {kind: riverine-flood, events: 1000, years: 1000, seed: 1, params: {river: indus}}
  layers:
    - {name: Sindh contingency reserve, kind: reserve, payer: SD, limit_pkr: 5000000000}
  triggers:
    - name: Kotri gauge depth
      threshold: 2.5
      payout_pkr: 10000000000
      index: {type: point, hazard: riverine-flood, lon: 68.37, lat: 25.36, radius_km: 5}
"""


# --- words and numbers ----------------------------------------------------------------------------


def payer_name(payer: str) -> str:
    key = "fin_payer_" + payer
    return T(key) if key in text.LABELS["en"] else str(payer)


def money(pkr) -> str:
    """PKR in words in the page's language: ``PKR 4.76 billion`` / ``4.76 ارب روپے``."""
    return text.fmt_pkr_short(None if pkr is None else int(pkr), lang())


def with_interval(pkr, ci) -> str:
    """A figure and its interval in the figure's own unit: ``PKR 9.62 billion (6.6–13.8)``;
    ``(≥ 6.6)`` when the set is too short to bound it; ``–`` when beyond the set."""
    if pkr is None:
        return text.HIDDEN
    shown = money(pkr)
    if not ci or ci[0] is None:
        return shown
    if lang() in text.RTL:  # arab, crore, lakh: the units of money() in Urdu
        size = next((s for s in (1e9, 1e7, 1e5) if abs(pkr) >= s), 1.0)
    else:
        size = 1e9 if abs(pkr) >= 1e9 else 1e6 if abs(pkr) >= 1e6 else 1.0

    def part(v) -> str:
        return text._three_figures(v / size) if size > 1 else f"{int(v):,}"

    low, high = ci
    return f"{shown} ({part(low)}–{part(high)})" if high is not None else f"{shown} (≥ {part(low)})"


def once_in(p) -> str:
    if not p:
        return T("fin_never")
    n = 1 / p
    return T("fin_once_every", n=f"{n:,.{0 if n >= 10 else 1}f}")


def percent(p) -> str:
    return text.HIDDEN if p is None else f"{100 * p:.0f}%"


def kind_text(kind: str) -> str:
    return T("fin_kind_" + kind) if kind in LAYER_KINDS else str(kind)


def hazard_text(kind) -> str:
    key = f"kind_{kind}"
    return T(key) if key in text.LABELS["en"] else str(kind or "")


def shown_payers(section: dict) -> list[str]:
    """Federal, each province with payouts, all governments."""
    return ["federal", *[p for p in PROVINCES if section["metrics"][p]["aal"]["aal_pkr"] > 0], "total"]


def rare_period(section: dict):
    """The headline's return period: 100 years when the set reaches it, else its rarest."""
    periods = [t for t in section["return_periods"] if t <= section["n_years"]]
    return None if not periods else 100 if 100 in periods else max(periods)


def period_text(t) -> str:
    return f"{t:g}"


# --- headline -------------------------------------------------------------------------------------


def urdu_interval(ci, confidence: float) -> str:
    if not ci or ci[0] is None:
        return ""
    low, high = ci
    pct = f"{confidence:.0%}"
    if high is None:
        return T("fin_hl_interval_open", pct=pct, low=money(low))
    return T("fin_hl_interval", pct=pct, low=money(low), high=money(high))


def headline_lines(section: dict) -> list[str]:
    """The headline sentences: :func:`simulator.plans.risk_plan.headline` in English, the same
    figures from the labels otherwise."""
    if lang() == "en":
        from simulator.plans.risk_plan import headline

        return headline(section)
    conf, stop = section["confidence"], T("fin_stop")
    period = rare_period(section)
    lines = [T("fin_hl_intro", years=f"{section['n_years']:,}", events=f"{section['events']:,}")]
    for payer in shown_payers(section):
        m = section["metrics"][payer]
        line = T("fin_hl_payer", payer=payer_name(payer), aal=money(m["aal"]["aal_pkr"]),
                 interval=urdu_interval(m["aal"]["ci_pkr"], conf))
        if period is not None:
            e = next(e for e in m["aep"] if e["return_period_years"] == period)
            line += T("fin_hl_rare", t=period_text(period), loss=money(e["loss_pkr"]),
                      interval=urdu_interval(e["ci_pkr"], conf))
        lines.append(line + stop)
    for la in section.get("layers") or []:
        line = T("fin_hl_layer", name=la["name"], kind=kind_text(la["kind"]), payer=payer_name(la["payer"]),
                 cost=money(la["expected_annual_cost_pkr"]), attach=once_in(la["p_attach"]))
        if la["p_exhaust"] is not None:
            line += T("fin_hl_exhaust", exhaust=once_in(la["p_exhaust"]))
        if la["indicative_premium_pkr"] is not None:
            line += T("fin_hl_premium", premium=money(la["indicative_premium_pkr"]),
                      multiple=f"{la['premium_multiple']:g}")
        lines.append(line + stop)
    for pool in section.get("pools") or []:
        parts = "، ".join(f"{payer_name(f)} {money(v)}" for f, v in pool["expected_annual_pkr"].items() if v > 0)
        lines.append(T("fin_hl_pool", name=pool["layer"], cost=money(pool["expected_annual_cost_pkr"]),
                       federal=f"{pool['federal_share']:.0%}", rule=T("fin_key_" + pool["key"]),
                       parts=parts or T("fin_never")) + stop)
    for payer, kept in (section.get("retained") or {}).items():
        if kept["layers"]:
            lines.append(T("fin_hl_retained", payer=payer_name(payer), kept=money(kept["retained_pkr"]),
                           aal=money(kept["aal_pkr"])) + stop)
    for tr in section.get("triggers") or []:
        if not tr.get("evaluated"):
            lines.append(T("fin_hl_trigger_off", name=tr["name"]) + stop)
            continue
        fires = (T("fin_never") if tr["once_every_years"] is None
                 else T("fin_once_every", n=f"{tr['once_every_years']:g}"))
        lines.append(T("fin_hl_trigger", name=tr["name"], fires=fires, payout=money(tr["payout_pkr"]),
                       false_alarms=tr["false_alarms"], misses=tr["misses"], years=f"{tr['n_years']:,}") + stop)
    return lines


def show_headline(section: dict) -> None:
    st.subheader(T("fin_headline_title"))
    st.markdown("\n".join(f"- {line}" for line in headline_lines(section)).replace("$", r"\$"))
    total, federal = section["metrics"]["total"], section["metrics"]["federal"]
    period = rare_period(section)
    cards = [(T("fin_m_total"), total["aal"]["aal_pkr"]), (T("fin_m_federal"), federal["aal"]["aal_pkr"]),
             (T("fin_m_provinces"), total["aal"]["aal_pkr"] - federal["aal"]["aal_pkr"])]
    if period is not None:
        e = next(e for e in total["aep"] if e["return_period_years"] == period)
        cards.append((T("fin_m_rare", t=period_text(period)), e["loss_pkr"]))
    cells = [c for _ in range((len(cards) + 1) // 2) for c in st.columns(2)]  # rows of two: the words fit
    for col, (label, value) in zip(cells, cards, strict=False):
        col.metric(label, money(value), border=True, help=text.fmt_pkr(value, lang()))


# --- tables ---------------------------------------------------------------------------------------


def payers_table(section: dict) -> pd.DataFrame:
    """Average year and 1-in-T years per payer, each with its interval (T beyond the set: –)."""
    rows = []
    for payer in shown_payers(section):
        m = section["metrics"][payer]
        row = {T("fin_col_payer"): payer_name(payer), T("fin_col_aal"): with_interval(m["aal"]["aal_pkr"], m["aal"]["ci_pkr"])}
        for e in m["aep"]:
            row[T("fin_col_rp", t=period_text(e["return_period_years"]))] = with_interval(e["loss_pkr"], e["ci_pkr"])
        row[T("fin_col_max")] = money(m["max_annual_pkr"])
        row[T("fin_col_years_with_loss")] = f"{m['aal']['years_with_loss']:,} / {m['aal']['n_years']:,}"
        rows.append(row)
    return pd.DataFrame(rows)


def band_text(la: dict) -> str:
    start = la["attachment_pkr"]
    if la["limit_pkr"] is None:
        return T("fin_band_open", start=money(start))
    return T("fin_band", start=money(start), end=money(start + la["limit_pkr"]))


def layers_table(section: dict) -> pd.DataFrame:
    return pd.DataFrame([{
        T("fin_col_layer"): la["name"], T("fin_col_kind"): kind_text(la["kind"]),
        T("fin_col_payer"): payer_name(la["payer"]), T("fin_col_band"): band_text(la),
        T("fin_col_basis"): T("fin_basis_" + la["basis"]), T("fin_col_share"): percent(la["share"]),
        T("fin_col_expected"): money(la["expected_annual_cost_pkr"]), T("fin_col_max"): money(la["max_annual_pkr"]),
        T("fin_col_p_attach"): percent(la["p_attach"]), T("fin_col_p_exhaust"): percent(la["p_exhaust"]),
        T("fin_col_premium"): money(la["indicative_premium_pkr"]) if la["indicative_premium_pkr"] is not None else text.HIDDEN,
        T("fin_col_multiple"): f"{la['premium_multiple']:g} ×" if la["premium_multiple"] is not None else text.HIDDEN,
        T("fin_col_source"): la.get("source") or text.HIDDEN,
    } for la in section.get("layers") or []])


def pools_table(section: dict) -> pd.DataFrame:
    rows = []
    for pool in section.get("pools") or []:
        row = {T("fin_col_layer"): pool["layer"], T("fin_col_key"): T("fin_key_" + pool["key"]),
               T("fin_col_federal_share"): percent(pool["federal_share"]),
               T("fin_col_expected"): money(pool["expected_annual_cost_pkr"])}
        for funder, value in pool["expected_annual_pkr"].items():
            row[payer_name(funder)] = money(value)
        rows.append(row)
    return pd.DataFrame(rows)


def retained_table(section: dict) -> pd.DataFrame:
    rows = []
    for payer, kept in (section.get("retained") or {}).items():
        if not kept["layers"]:
            continue
        row = {T("fin_col_payer"): payer_name(payer), T("fin_col_aal"): money(kept["aal_pkr"]),
               T("fin_col_covered"): money(kept["covered_pkr"]), T("fin_col_retained"): money(kept["retained_pkr"])}
        for e in kept["retained_return_periods"]:
            row[T("fin_col_rp", t=period_text(e["return_period_years"]))] = (
                text.HIDDEN if e["loss_pkr"] is None else money(e["loss_pkr"]))
        rows.append(row)
    return pd.DataFrame(rows)


def index_text(tr: dict) -> str:
    ix = tr["index"]
    if ix["type"] == "point":
        where = T("fin_index_point", lon=f"{ix['lon']:g}", lat=f"{ix['lat']:g}", km=f"{ix['radius_km']:g}")
    else:
        where = T("fin_index_share", n=len(ix.get("districts") or []))
    if ix.get("lead_days"):
        where += " " + T("fin_index_lead", days=ix["lead_days"])
    return where


def triggers_table(section: dict) -> pd.DataFrame:
    rows = []
    for tr in section.get("triggers") or []:
        units = tr.get("index_units") or ""
        units = "" if units in ("", "1") else " " + text.unit_text(units, lang())
        row = {T("fin_col_trigger"): tr["name"], T("fin_col_index"): index_text(tr),
               T("fin_col_threshold"): f"{tr['direction']} {tr['threshold']:g}{units}",
               T("fin_col_payout"): money(tr["payout_pkr"])}
        if tr.get("evaluated"):
            row.update({
                T("fin_col_fires"): (T("fin_never") if tr["once_every_years"] is None
                                     else T("fin_once_every", n=f"{tr['once_every_years']:g}")),
                T("fin_col_false_alarms"): f"{tr['false_alarms']:,}", T("fin_col_misses"): f"{tr['misses']:,}",
                T("fin_col_hit_rate"): percent(tr.get("hit_rate")),
                T("fin_col_released"): money(tr["released_per_year_pkr"]),
                T("fin_col_released_no_need"): money(tr["released_without_need_pkr"]),
            })
        else:
            row[T("fin_col_fires")] = T("fin_not_evaluated")
        rows.append(row)
    return pd.DataFrame(rows)


def by_hazard_table(section: dict) -> pd.DataFrame:
    return pd.DataFrame([{
        T("fin_col_hazard"): h["hazard"], T("fin_col_events"): f"{h['events']:,}",
        T("fin_col_years_with_events"): f"{h['years_with_events']:,}", T("fin_col_aal"): money(h["aal_pkr"]),
        T("fin_payer_federal"): money(h["aal_federal_pkr"]), T("fin_col_provincial"): money(h["aal_provincial_pkr"]),
        T("fin_col_households_year"): f"{h['households_per_year']:,.0f}",
    } for h in section.get("by_hazard") or []])


def basis(section: dict, *names: str) -> None:
    """The method's text of some parts, in an expander (the library's own words, in English)."""
    words = [str(w) for w in ((section.get("basis") or {}).get(n) for n in names) if w]
    if words:
        with st.expander(T("fin_basis_title")):
            if lang() != "en":
                st.caption(T("fin_basis_english"))
            st.markdown("\n\n".join(words).replace("$", r"\$"))


# --- charts ---------------------------------------------------------------------------------------


def unit_of(values) -> tuple[float, str]:
    top = max([0, *[v for v in values if v is not None]])
    return (1e9, T("fin_axis_billion")) if top >= 1e9 else (1e6, T("pkr_million_axis"))


def curves_frame(section: dict, basis_name: str) -> tuple[pd.DataFrame, str]:
    """The exceedance curves as rows (payer, return period, loss in the chart's unit)."""
    curves = section["curves"]
    payers = ["total", "federal", "provinces", *[p for p in shown_payers(section) if p in PROVINCES]]
    unit, word = unit_of(curves["total"][basis_name]["loss_pkr"])
    frames = []
    for payer in payers:
        c = curves.get(payer, {}).get(basis_name)
        if not c:
            continue
        style = "solid" if payer in ("total", "federal") else "long" if payer == "provinces" else "short"
        frames.append(pd.DataFrame({"payer": payer_name(payer), "code": payer, "style": style,
                                    "rp": c["return_period_years"],
                                    "loss": [v / unit for v in c["loss_pkr"]]}))
    return pd.concat(frames, ignore_index=True), word


def curves_chart(section: dict, basis_name: str):
    """The exceedance curves (Altair): payout against return period on a log axis, one line per
    payer. Plain field names: Vega-Lite reads brackets and dots in a field name as a path."""
    frame, word = curves_frame(section, basis_name)
    order = list(dict.fromkeys(frame["payer"]))
    colours = [COLOURS[c] for c in dict.fromkeys(frame["code"])]
    rp_title, loss_title, who = T("fin_axis_rp"), T("fin_axis_loss", unit=word), T("fin_col_payer")
    top = max(section["n_years"], 2)
    return (
        alt.Chart(frame[["payer", "style", "rp", "loss"]])
        .mark_line(point=alt.OverlayMarkDef(size=14), interpolate="linear")
        .encode(
            x=alt.X("rp:Q", scale=alt.Scale(type="log", domain=[1, top]), title=rp_title),
            y=alt.Y("loss:Q", title=loss_title),
            color=alt.Color("payer:N", scale=alt.Scale(domain=order, range=colours), sort=order, title=who),
            # dashed: the provinces together (equal to the federal line under a 50:50 split) and each one
            strokeDash=alt.StrokeDash("style:N", legend=None, scale=alt.Scale(
                domain=["solid", "long", "short"], range=[[1, 0], [8, 4], [3, 3]])),
            tooltip=[alt.Tooltip("payer:N", title=who), alt.Tooltip("rp:Q", format=",.1f", title=rp_title),
                     alt.Tooltip("loss:Q", format=",.2f", title=loss_title)],
        )
        .properties(height=380)
        .interactive()
    )


def split_frame(table: pd.DataFrame, n_years: int) -> pd.DataFrame:
    """The average year by province, federal and provincial parts [PKR million] (from the event
    payout table: each province's payouts summed over the set, divided by its years)."""
    if table is None or not len(table):
        return pd.DataFrame()
    sums = table.groupby("province_code", observed=True)[["federal_pkr", "provincial_pkr"]].sum()
    sums = sums[(sums["federal_pkr"] + sums["provincial_pkr"]) > 0]
    return pd.DataFrame({
        T("col_province"): [payer_name(str(p)) for p in sums.index],
        T("fin_payer_federal"): sums["federal_pkr"].to_numpy() / n_years / 1e6,
        T("fin_col_provincial"): sums["provincial_pkr"].to_numpy() / n_years / 1e6,
    })


def show_charts(section: dict, result) -> None:
    st.subheader(T("fin_curves_title"))
    choice = st.radio(T("fin_curves_basis"), ("aep", "oep"), format_func=lambda b: T("fin_curves_" + b),
                      horizontal=True, key="fin_basis")
    st.altair_chart(curves_chart(section, choice), width="stretch", alt=T("fin_curves_alt"))
    st.caption(T("fin_curves_caption", years=f"{section['n_years']:,}"))
    basis(section, "curves")

    st.subheader(T("fin_split_title"))
    split = split_frame(result.table, result.n_years)
    if len(split):
        st.bar_chart(split, x=T("col_province"), y=[T("fin_payer_federal"), T("fin_col_provincial")],
                     x_label=T("col_province"), y_label=T("pkr_million_axis"), stack=True, horizontal=True,
                     color=["#0072B2", "#E69F00"])
        st.caption(T("fin_split_caption"))
    else:
        st.caption(T("fin_nothing_paid"))

    if section.get("layers"):
        from simulator.publish.risk import tower_figure

        st.subheader(T("fin_tower_title"))
        st.pyplot(tower_figure(section, size=(8.0, 3.6)), alt=T("fin_tower_alt"))
        st.caption(T("fin_tower_caption"))


# --- the event set --------------------------------------------------------------------------------


def duration(seconds: float) -> str:
    return T("fin_seconds", n=f"{seconds:,.0f}") if seconds < 90 else T("fin_minutes", n=f"{seconds / 60:,.0f}")


def declared_lines(scn) -> list[str]:
    lines = []
    for spec in scn.financing.events:
        if spec.generate is not None:
            g = spec.generate
            lines.append(T("fin_set_generated", kind=hazard_text(g.kind), events=f"{g.events:,}",
                           years=f"{g.years:,g}", seed=g.seed))
        else:
            lines.append(T("fin_set_file", file=f"`{spec.file}`"))
    return lines


def choose_recipe(scn) -> loaders.RiskRecipe | None:
    """The event set of the run, as the visitor sees and picks it; None when the scenario has
    none to offer (no ``financing.events`` and no modelled hazard)."""
    st.subheader(T("fin_set_title"))
    if scn.financing is not None and scn.financing.events:
        st.markdown(T("fin_set_declared") + "\n" + "\n".join(f"- {line}" for line in declared_lines(scn)))
        return loaders.RiskRecipe(None)
    modelled = [h for h in scn.hazards if h.generator is not None]
    if not modelled:
        st.info(T("fin_no_set"))
        st.code(EXAMPLE_BLOCK, language="yaml")
        return None
    choices = tuple(loaders.RISK_EVENT_CHOICES)
    n = st.selectbox(T("fin_events"), choices, format_func=lambda v: T("fin_events_option", n=f"{v:,}"),
                     key="fin_events", help=T("fin_events_help"))
    kinds = ", ".join(hazard_text(h.kind) for h in modelled)
    st.caption(T("fin_set_generate", kinds=kinds))
    left_out = [h.label for h in scn.hazards if h.generator is None]
    if left_out:
        st.caption(T("fin_set_left_out", hazards=", ".join(left_out)))
    return loaders.RiskRecipe(int(n))


def ready_or_button(scn, recipe: loaders.RiskRecipe, key: str) -> bool:
    """True when the run may go ahead: its sets are built (or were asked for in this session),
    or the "Compute" button was pressed; else the button, with how long building takes."""
    requested = st.session_state.setdefault("fin_requested", set())
    if key in requested:
        return True
    to_build = loaders.risk_to_build(scn, recipe)
    if not to_build:
        st.caption(T("fin_set_cached"))
        return True
    events = sum(n for _, n in to_build)
    st.caption(T("fin_build_time", time=duration(events * loaders.RISK_BUILD_S_PER_EVENT), events=f"{events:,}",
                 s=f"{loaders.RISK_BUILD_S_PER_EVENT:g}"))
    if st.button(T("fin_compute"), key="fin_compute", type="primary"):
        requested.add(key)
        st.session_state["fin_pressed"] = True
        return True
    return False


# --- downloads ------------------------------------------------------------------------------------


DOWNLOADS = (("xlsx", "fin_dl_xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
             ("pdf", "fin_dl_pdf", "application/pdf"))


def show_downloads(cur: Current, result, key: str) -> None:
    st.subheader(T("fin_dl_title"))
    for fmt, label, mime in DOWNLOADS:
        c = st.columns([3, 2])
        c[0].markdown(f"**{T(label)}**  \n{T(label + '_help')}")
        try:
            data = loaders.cached_risk_file(key, fmt, f"Disaster risk financing: {cur.scn.title}", result)
        except Exception as exc:  # the page says so; no other file is served in its place
            log.exception("writing risk.%s failed", fmt)
            c[1].error(T("fin_dl_failed", name=f"risk.{fmt}", problem=str(exc) or type(exc).__name__))
            continue
        name = f"{cur.scn.name}-risk.{fmt}"
        c[1].download_button(T("dl_button", name=name), data=data, file_name=name, mime=mime,
                             key=f"fin_download_{fmt}", on_click="ignore")


# --- the page -------------------------------------------------------------------------------------


def render(cur: Current) -> None:
    st.title(T("page_financing"))
    scenario_heading(cur)
    st.caption(T("fin_intro"))
    scn = cur.scn
    recipe = choose_recipe(scn)
    if recipe is None:
        return
    key = loaders.cache_key(scn, cur.source, recipe.key)
    slot = st.empty()
    with slot.container():
        ready = ready_or_button(scn, recipe, key)
    if not ready:
        return
    try:
        result = loaders.cached_risk(key, scn, cur.source, recipe)
    except MadadError as exc:
        log.warning("risk run failed: %s", exc)
        st.session_state.get("fin_requested", set()).discard(key)
        st.error(T("fin_failed", problem=str(exc)))
        return
    if st.session_state.pop("fin_pressed", False):
        slot.empty()  # the button and the time it would take: done
    section = result.section
    show_headline(section)
    st.caption(T("fin_aggregates_note"))

    st.subheader(T("fin_payers_title"))
    payers = payers_table(section)
    st.dataframe(payers, hide_index=True, key="fin_payers")
    st.caption(T("fin_payers_caption", pct=f"{section['confidence']:.0%}", years=f"{section['n_years']:,}"))
    basis(section, "metrics")

    show_charts(section, result)

    if scn.financing is not None and (section.get("layers") or section.get("triggers")):
        if section.get("layers"):
            st.subheader(T("fin_layers_title"))
            st.dataframe(layers_table(section), hide_index=True, key="fin_layers")
            st.caption(T("fin_premium_note"))
            basis(section, "layers", "premium")
            retained = retained_table(section)
            if len(retained):
                st.subheader(T("fin_retained_title"))
                st.dataframe(retained, hide_index=True, key="fin_retained")
        if section.get("pools"):
            st.subheader(T("fin_pools_title"))
            st.dataframe(pools_table(section), hide_index=True, key="fin_pools")
            st.caption(T("fin_pools_caption"))
        if section.get("triggers"):
            st.subheader(T("fin_triggers_title"))
            trig = triggers_table(section)
            st.dataframe(trig, hide_index=True, height=table_height(len(trig)), key="fin_triggers")
            st.caption(T("fin_triggers_caption"))
            basis(section, "triggers")
    else:
        st.caption(T("fin_no_layers"))

    with st.expander(T("fin_how_title")):
        ev = section.get("evaluation") or {}
        st.markdown(T("fin_how_line", events=f"{ev.get('events', section['events']):,}",
                      paying=f"{ev.get('events_with_payouts', 0):,}", years=f"{section['n_years']:,}",
                      exact=f"{ev.get('queued_household_by_household', 0):,}"))
        hazards = by_hazard_table(section)
        if len(hazards):
            st.dataframe(hazards, hide_index=True, key="fin_by_hazard")
        for record in section.get("event_sets") or []:
            g = record.get("generate")
            what = (T("fin_set_generated", kind=hazard_text(g["kind"]), events=f"{g['events']:,}",
                      years=f"{g['years']:,g}", seed=g["seed"]) if g else T("fin_set_file", file=f"`{record.get('file')}`"))
            st.caption(f"{what} · SHA-256 {str(record.get('sha256') or '?')[:12]}")
        if ev.get("method"):
            st.caption(str(ev["method"]).replace("$", r"\$"))
        st.markdown(T("fin_references") + "\n" + "\n".join(f"- {r}" for r in section.get("references") or []))

    show_downloads(cur, result, key)


if __name__ == "__main__":  # st.navigation runs this file as the page
    render(current())
