"""The Plan page: the plan's tables and charts (places, money, budget, programmes, registry,
assumptions); a minister sees the suppressed tables."""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from hazards import tables as data
from simulator.app import text
from simulator.app.pages import published
from simulator.app.state import Current, T, current, lang
from simulator.app.widgets import (
    scenario_heading,
    show_metrics,
    show_ranges,
    show_registry_report,
    table_height,
)


def render(cur: Current) -> None:
    st.title(T("page_plan"))
    scenario_heading(cur)
    # A minister sees the published plan (perturbed and suppressed) everywhere, national
    # figures included; a planner the exact plan.
    plan, baseline = published(cur)
    lg = lang()

    def province(p: dict) -> str:
        return text.province_name(lg, p.get("province_code"), p.get("province"))

    def pkr(v) -> str:
        return text.fmt_pkr(v, lg)

    show_metrics(plan["totals"], baseline)
    if not cur.cfg.planner:
        st.caption(T("published_note"))
    show_ranges(cur)
    if not cur.cfg.planner:
        hidden = plan.get("disclosure", {}).get("hidden_cells", 0)
        st.caption(T("minister_tables", k=cur.k, hidden=hidden))
    tabs = st.tabs([T("tab_places"), T("tab_money"), T("tab_budget"), T("tab_programmes"),
                    T("tab_registry"), T("tab_assumptions")])
    with tabs[0]:
        st.subheader(T("by_province"))
        st.dataframe(text.display_table(plan["provinces"], ["province"], lang()), hide_index=True,
                     key="table_provinces")
        st.subheader(T("by_district"))
        districts = sorted(plan["districts"], key=lambda d: -(d["affected_households"] or 0))
        if not districts:
            st.info(T("no_districts"))
        else:
            st.dataframe(text.display_table(districts, ["district", "province"], lang()), hide_index=True,
                         height=table_height(len(districts)), key="table_districts")
        if plan.get("tehsils"):
            st.subheader(T("by_tehsil"))
            st.dataframe(text.display_table(plan["tehsils"], ["district_id", "tehsil_id"], lang()),
                         hide_index=True, height=table_height(len(plan["tehsils"])), key="table_tehsils")
    with tabs[1]:
        st.subheader(T("split_title"))
        t = plan["totals"]
        c = st.columns(3)
        c[0].metric(T("m_federal"), text.fmt_pkr_short(t["federal_pkr"], lang()))
        c[1].metric(T("m_provincial"), text.fmt_pkr_short(t["provincial_pkr"], lang()))
        c[2].metric(T("cost_rule"), T("rule_" + cur.scn.cost_sharing.rule))
        split = pd.DataFrame(
            [{T("col_province"): province(p), T("m_federal"): p["federal_pkr"] / 1e6,
              T("m_provincial"): p["provincial_pkr"] / 1e6}
             for p in plan["provinces"] if p["amount_pkr"] and None not in (p["federal_pkr"], p["provincial_pkr"])])
        if len(split):
            st.bar_chart(split, x=T("col_province"), y=[T("m_federal"), T("m_provincial")],
                         y_label=T("pkr_million_axis"), stack=True, color=["#0072B2", "#E69F00"])
        contributions = plan["cost_sharing"].get("contributions", [])
        pooled = [x for x in contributions if x["benefiting_province"] != x["paying_province"]]
        if pooled:
            st.caption(T("pooled_note"))
            st.dataframe(pd.DataFrame([{T("col_paying"): text.province_name(lg, x["paying_province"]),
                                        T("col_benefiting"): text.province_name(lg, x["benefiting_province"]),
                                        T("f_amount_pkr"): pkr(x["amount_pkr"])} for x in pooled]),
                         hide_index=True)
        st.subheader(T("dedup_title"))
        d = plan["dedup"]
        c = st.columns(2)
        c[0].metric(T("dedup_overlap"), text.fmt_count(d["overlap_households"]))
        c[1].metric(T("dedup_savings"), pkr(d["savings_pkr"]),
                    help=text.fmt_pkr_short(d["savings_pkr"], lang()))
        savings = pd.DataFrame([{T("col_province"): province(p), T("dedup_savings"): p["dedup_savings_pkr"] / 1e6}
                                for p in plan["provinces"] if p["dedup_savings_pkr"]])
        if len(savings):
            st.bar_chart(savings, x=T("col_province"), y=T("dedup_savings"), y_label=T("pkr_million_axis"),
                         color="#009E73")
        else:
            st.caption(T("dedup_none"))
        st.subheader(T("instalments_title"))
        inst = pd.DataFrame([{T("col_instalment"): i["instalment"], T("col_day"): i["day"],
                              T("col_share"): f"{i['share']:.1%}", T("f_amount_pkr"): pkr(i["amount_pkr"]),
                              T("m_federal"): pkr(i["federal_pkr"]),
                              T("m_provincial"): pkr(i["provincial_pkr"])}
                             for i in plan["instalments"]])
        st.dataframe(inst, hide_index=True)
        timeline = pd.DataFrame({T("col_day"): [i["day"] for i in plan["instalments"]],
                                 T("pkr_million_axis"): [i["amount_pkr"] / 1e6 for i in plan["instalments"]]})
        st.bar_chart(timeline, x=T("col_day"), y=T("pkr_million_axis"), color="#56B4E9")
    with tabs[2]:
        b = plan["budget"]
        c = st.columns(2)
        c[0].metric(T("budget_shortfall"), pkr(b["shortfall_pkr"]),
                    help=text.fmt_pkr_short(b["shortfall_pkr"], lang()))
        c[1].metric(T("budget_left_out"), text.fmt_count(b["over_budget_households"]))
        rows = []
        if b["federal_ceiling_pkr"] is not None:
            rows.append({T("col_who"): T("federal"), T("col_ceiling"): pkr(b["federal_ceiling_pkr"]),
                         T("col_spent"): pkr(plan["totals"]["federal_pkr"])})
        by_code = {p["province_code"]: p for p in plan["provinces"]}
        for code, ceiling in b["provincial_ceilings_pkr"].items():
            spent = by_code.get(code, {}).get("provincial_pkr", 0)
            rows.append({T("col_who"): text.province_name(lg, code, data.PROVINCES.get(code, code)),
                         T("col_ceiling"): pkr(ceiling), T("col_spent"): pkr(spent)})
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True)
            short = pd.DataFrame([{T("col_province"): province(p),
                                   T("budget_shortfall"): p["budget_shortfall_pkr"] / 1e6}
                                  for p in plan["provinces"] if p["budget_shortfall_pkr"]])
            if len(short):
                st.bar_chart(short, x=T("col_province"), y=T("budget_shortfall"),
                             y_label=T("pkr_million_axis"), color="#D55E00")
        else:
            st.caption(T("no_ceilings"))
    # National breakdowns (programmes, tiers, statuses): a minister sees "< k" for a small count.
    def count(v: int) -> str:
        return f"< {cur.k}" if not cur.cfg.planner and 0 < v < cur.k else text.fmt_count(v)

    with tabs[3]:
        names_ur = text.programme_names_ur(cur.scn) if lg in text.RTL else {}
        progs = pd.DataFrame([{T("col_programme"): names_ur.get(p["name"], p["name"]), T("col_owner"): T(p["owner"]),
                               T("col_expansion"): T("exp_" + p["expansion"]),
                               T("col_entitled"): count(p["entitled_households"])}
                              for p in plan["programmes"]])
        st.dataframe(progs, hide_index=True)
        tiers = pd.DataFrame([{T("col_tier"): T(k), T("col_households"): count(v)}
                              for k, v in zip(("tier_none", "tier_affected", "tier_severe", "tier_displaced"),
                                              plan["tiers"].values(), strict=False)])
        st.dataframe(tiers, hide_index=True)
    with tabs[4]:
        show_registry_report(cur.plan["registry"])
        status = pd.DataFrame([{T("col_status"): T("st_" + k) if ("st_" + k) in text.LABELS["en"] else k,
                                T("col_households"): count(v)}
                               for k, v in plan["status_counts"].items()])
        st.dataframe(status, hide_index=True)
    with tabs[5]:
        if lg in text.RTL:  # the plan's record, kept in English and marked so (lang="en")
            st.caption(T("assumptions_english"))
            st.html('<ul lang="en" dir="ltr">' + "".join(f"<li>{html.escape(a)}</li>"
                                                       for a in cur.plan["assumptions"]) + "</ul>")
        else:
            st.markdown("\n".join(f"- {a}".replace("$", r"\$") for a in cur.plan["assumptions"]))


if __name__ == "__main__":  # st.navigation runs this file as the page
    render(current())
