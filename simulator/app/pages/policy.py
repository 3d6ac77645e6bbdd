"""The Scenario page's policy editor: programmes, dedup, cost-sharing, budgets, instalments."""

from __future__ import annotations

import streamlit as st

from hazards import tables as data
from simulator.app import builder, text
from simulator.app.state import T, lang
from simulator.scenario import Scenario


def policy_editor(template: Scenario, tid: str) -> dict:
    """The policy of the scenario: programmes, dedup, cost-sharing, budgets, instalments.

    Widgets start from ``template`` (keys namespaced by ``tid`` so a new template resets them);
    returns the scenario-dict entries they describe.
    """
    ss = st.session_state
    raw = builder.scenario_raw(template)
    programmes = raw["policy"]["programmes"]
    n_key = f"pol/{tid}/n"
    if n_key not in ss:
        ss[n_key] = len(programmes)
    out_programmes = []
    for i in range(ss[n_key]):
        base = programmes[i] if i < len(programmes) else builder.default_programme() | {"name": f"Programme {i + 1}"}
        p = f"pol/{tid}/{i}"
        with st.expander(T("programme_n", n=i + 1, name=text.programme_name(lang(), base)), expanded=i == 0):
            keep = st.checkbox(T("p_include"), value=True, key=f"{p}/keep")
            c = st.columns(3)
            if lang() in text.RTL:  # the Urdu view edits the Urdu name; the English one stays
                name_ur = c[0].text_input(T("p_name"), value=text.programme_name(lang(), base), key=f"{p}/name_ur")
                name = base["name"]
            else:
                name = c[0].text_input(T("p_name"), value=base["name"], key=f"{p}/name")
                name_ur = base.get("name_ur")
            owner = c[1].selectbox(T("p_owner"), ["federal", "provincial"],
                                   index=["federal", "provincial"].index(base["owner"]),
                                   format_func=T, key=f"{p}/owner")
            expansions = ["all_affected", "vertical", "horizontal"]
            expansion = c[2].selectbox(T("p_expansion"), expansions, index=expansions.index(base["expansion"]),
                                       format_func=lambda e: T("exp_" + e), key=f"{p}/expansion",
                                       help=T("p_expansion_help"))
            c = st.columns(3)
            tiers = base["transfer"]["by_tier_pkr"]
            amounts = []
            for col, tier, label in zip(c, ("affected", "severely_affected", "displaced"),
                                        ("tier_affected", "tier_severe", "tier_displaced"), strict=True):
                amounts.append(col.number_input(T("p_amount", tier=T(label)), min_value=0, step=1000,
                                                value=int(tiers[tier]) if tier in tiers else None,
                                                placeholder=T("p_same_as_below"), key=f"{p}/{tier}"))
            c = st.columns(3)
            use_pmt = c[0].checkbox(T("p_use_pmt"), value=base.get("pmt_max") is not None, key=f"{p}/use_pmt")
            pmt = c[0].slider(T("p_pmt"), 0.0, 100.0, float(base.get("pmt_max") or 32.0), 1.0, key=f"{p}/pmt",
                              disabled=not use_pmt)
            enrol = c[1].multiselect(T("p_beneficiaries"), ["kafaalat", "prov_uct", "prov_cct"],
                                     default=base.get("beneficiaries_of") or [], key=f"{p}/benef",
                                     format_func=lambda e: T("enr_" + e), disabled=expansion == "all_affected",
                                     placeholder=T("w_choose"))
            provinces = c[2].multiselect(T("p_provinces"), list(data.PROVINCES),
                                         default=base.get("provinces") or [],
                                         format_func=lambda code: text.province_name(lang(), code),
                                         key=f"{p}/prov", help=T("p_provinces_help"), placeholder=T("w_choose"))
            min_tier = st.selectbox(T("p_min_tier"), ["affected", "severely_affected", "displaced"],
                                    index=["affected", "severely_affected", "displaced"].index(base.get("min_tier", "affected")),
                                    format_func=lambda s: T({"affected": "tier_affected", "severely_affected": "tier_severe",
                                                              "displaced": "tier_displaced"}[s]), key=f"{p}/min_tier")
        if not keep:
            continue
        by_tier = {t: int(a) for t, a in zip(("affected", "severely_affected", "displaced"), amounts, strict=True)
                   if a is not None}
        prog = dict(base)
        if name != base["name"]:
            name_ur = None  # renamed in English: the file's Urdu name is no longer its name
        elif name_ur == base["name"] and not base.get("name_ur"):
            name_ur = None  # the English name shown in the Urdu view for want of an Urdu one
        prog["name_ur"] = name_ur or None
        prog.update(name=name, owner=owner, expansion=expansion, pmt_max=float(pmt) if use_pmt else None,
                    beneficiaries_of=[] if expansion == "all_affected" else enrol, provinces=provinces or None, min_tier=min_tier,
                    transfer={**base["transfer"], "by_tier_pkr": by_tier or {"affected": 0}})
        out_programmes.append(prog)
    if st.button(T("p_add"), key=f"pol/{tid}/add"):
        ss[n_key] += 1
        st.rerun()

    st.subheader(T("s_cost_sharing"))
    cs = raw["cost_sharing"]
    c = st.columns(3)
    rules = ["fixed", "ownership", "key"]
    rule = c[0].selectbox(T("cost_rule"), rules, index=rules.index(cs["rule"]), format_func=lambda r: T("rule_" + r),
                          key=f"pol/{tid}/cs_rule")
    share = c[1].slider(T("q_federal"), 0.0, 100.0, round(cs["federal_share"] * 100, 2), 0.5,
                        key=f"pol/{tid}/cs_share", disabled=rule == "ownership", format="%g")
    keys = ["nfc7", "population2023"]
    key = c[2].selectbox(T("cs_key"), keys, index=keys.index(cs["key"]) if cs["key"] in keys else 0,
                         format_func=lambda k: T("key_" + k), key=f"pol/{tid}/cs_key", disabled=rule != "key")
    dd = raw["dedup"]
    c = st.columns(2)
    drule = c[0].selectbox(T("dedup_rule"), ["top_up", "priority"], index=["top_up", "priority"].index(dd["rule"]),
                           format_func=lambda r: T("dedup_" + r), key=f"pol/{tid}/dd_rule")
    first = c[1].selectbox(T("dedup_first"), ["federal", "provincial"],
                           index=["federal", "provincial"].index(dd["base"] if dd["rule"] == "top_up" else dd["order"][0]),
                           format_func=T, key=f"pol/{tid}/dd_first")

    st.subheader(T("s_budget"))
    b = raw["budget"]
    c = st.columns(6)
    fed = c[0].number_input(T("federal"), min_value=0, step=10_000_000, value=b.get("federal_pkr"),
                            placeholder=T("no_ceiling"), key=f"pol/{tid}/b_fed")
    prov_ceilings = {}
    for col, code in zip(c[1:], data.PROVINCES, strict=False):
        v = col.number_input(text.province_name(lang(), code), min_value=0, step=10_000_000,
                             value=b.get("provincial_pkr", {}).get(code), placeholder=T("no_ceiling"),
                             key=f"pol/{tid}/b_{code}")
        if v is not None:
            prov_ceilings[code] = int(v)
    st.caption(T("budget_help"))

    st.subheader(T("instalments_title"))
    inst = raw["policy"]["instalments"]
    st.caption(T("instalments_now", text=", ".join(
        T("inst_on_day", share=f"{100 * i['share']:.4g}%", day=i["day"])
        for i in inst)))
    c = st.columns(3)
    change = c[0].checkbox(T("inst_change"), key=f"pol/{tid}/inst_change")
    n_inst = c[1].number_input(T("inst_n"), 1, 12, len(inst), key=f"pol/{tid}/inst_n", disabled=not change)
    gap = c[2].number_input(T("inst_gap"), 0, 365, int(inst[1]["day"] - inst[0]["day"]) if len(inst) > 1 else 30,
                            key=f"pol/{tid}/inst_gap", disabled=not change)
    instalments = builder.equal_instalments(n_inst, gap) if change else inst
    return {
        "policy": {**raw["policy"], "programmes": out_programmes, "instalments": instalments},
        "cost_sharing": {"rule": rule, "federal_share": round(share / 100, 6), "key": key},
        "dedup": {"rule": drule, "base": first, "order": [first, "provincial" if first == "federal" else "federal"]},
        "budget": {**b, "federal_pkr": None if fed is None else int(fed), "provincial_pkr": prov_ceilings},
    }
