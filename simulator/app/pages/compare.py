"""The Compare page: two to four scenarios or policies side by side, and what explains them.

Each option is a scenario with the library scenario its policy started from: the current one
(with the sidebar's what-if), one kept earlier, or a library file as it is. Every option is
named by what differs: its scenario's title and the policy parameters it changed from its
library file ("Current: ..." and "Kept 1: ..." set apart a kept copy of the current scenario).

The table has a row for each policy parameter that differs between the options (transfer,
cut-offs, expansion, eligibility, instalments, dedup, cost-sharing rule, federal share,
budgets, hazard tiers; a toggle shows all), then the figures. Below it, each option's change
from the first is attributed to those parameters one at a time
(:func:`simulator.plans.attribution.attribute`) when only the policy differs, else to the
scenario as a whole. The selection is kept when the visitor opens another page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from hazards.errors import MadadError
from simulator import plans as plans_mod
from simulator.app import loaders, text
from simulator.app.loaders import RegistrySource
from simulator.app.state import (
    Current,
    T,
    current,
    keep_widget,
    lang,
    registry_source,
    restore_widget,
    show_bad_file,
)
from simulator.app.widgets import table_height
from simulator.plans import attribution
from simulator.scenario import Scenario


def _pkr(value: int | None) -> str:
    """PKR in the page's language (``روپے`` in Urdu)."""
    return text.fmt_pkr(value, lang())

PICK = "compare_pick"
#: Options compared at most.
MAX_OPTIONS = 4
#: Policy changes named in an option's label (the rest: "and N more"; the rows give them all).
LABEL_CHANGES = 2
#: Parameters an option's label leaves to the rows: a programme's name, and the poverty line
#: (which only counts the poor left unpaid, and moves with the sidebar's cut-off).
UNNAMED = frozenset({"name", "poverty_line"})
_TIER_KEYS = {"affected": "tier_affected", "severely_affected": "tier_severe", "displaced": "tier_displaced"}


# --- words for a parameter and its value -----------------------------------------------------------


def param_label(p: attribution.Parameter, scn: Scenario) -> str:
    """A parameter in the visitor's language; the programme or hazard it belongs to is named
    when the scenario has more than one."""
    what = T(f"cmp_k_{p.kind}")
    owner = p.owner
    if p.key.startswith("policy.programmes["):
        i = int(p.key[len("policy.programmes["):].split("]")[0])
        several = len(scn.policy.programmes) > 1
        if i < len(scn.policy.programmes):
            owner = text.programme_name(lang(), scn.policy.programmes[i])
    else:
        several = p.key.startswith("hazards[") and len(scn.hazards) > 1
    return f"{owner}: {what}" if owner and several else what


def _tier(name: str) -> str:
    return T(_TIER_KEYS[name]) if name in _TIER_KEYS else str(name)


def _number(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else f"{x:,}" if isinstance(x, int) else str(x)


def _share(x: float) -> str:
    return f"{x:.0%}" if round(x * 100, 6) == round(x * 100) else f"{x:.2%}"


def show_value(kind: str, value: Any) -> str:
    """A parameter's value in words: PKR with separators, shares in per cent, tiers and
    rules by name (:data:`simulator.plans.attribution.KINDS`)."""
    none = T("cmp_none")
    if kind == "transfer":
        tiers = value["by_tier_pkr"]
        out = (_pkr(next(iter(tiers.values()))) if len(tiers) == 1 else
               ", ".join(f"{_tier(t)} {_pkr(v)}" for t, v in tiers.items()))
        if value.get("per_person_pkr"):
            out += "; " + T("cmp_per_person", pkr=_pkr(value["per_person_pkr"]))
        if value.get("floor_pkr"):
            out += "; " + T("cmp_floor", pkr=_pkr(value["floor_pkr"]))
        if value.get("cap_pkr") is not None:
            out += "; " + T("cmp_cap", pkr=_pkr(value["cap_pkr"]))
        return out
    if kind == "pmt_cutoff":
        pmt, by_province, by_category = value
        out = [none if pmt is None else f"≤ {_number(pmt)}"]
        out += [f"{k} ≤ {_number(v)}" for k, v in {**by_province, **by_category}.items()]
        return "; ".join(out)
    if kind == "expansion":
        how, of = value
        words = T(f"exp_{how}")
        return f"{words} ({', '.join(of)})" if of else words
    if kind in ("categories", "budget_priority"):
        return ", ".join(map(str, value)) if value else T("cmp_any")
    if kind == "provinces":
        return T("cmp_everywhere") if value is None else ", ".join(value)
    if kind == "min_tier":
        return _tier(value)
    if kind == "owner":
        return T(value) if value in ("federal", "provincial") else str(value)
    if kind == "instalments":
        return ", ".join(T("cmp_instalment", share=_share(i["share"]), day=i["day"]) for i in value)
    if kind == "programmes":
        return ", ".join(text.programme_name(lang(), p) for p in value)
    if kind == "dedup":
        rule, base, _ = value
        return f"{rule} ({base})"
    if kind == "cost_sharing_rule":
        rule, key = value
        return T(f"rule_{rule}") + (f" ({key})" if rule == "key" else "")
    if kind == "federal_share":
        return _share(value)
    if kind == "federal_budget":
        return T("cmp_no_ceiling") if value is None else _pkr(value)
    if kind == "provincial_budgets":
        return ", ".join(f"{text.province_name(lang(), k)} {_pkr(v)}" for k, v in value.items()) if value else T("cmp_no_ceiling")
    if kind == "tiers":
        threshold, tiers = value
        if tiers:
            return ", ".join(f"{_tier(t)} ≥ {_number(v)}" for t, v in tiers.items() if v is not None)
        return none if threshold is None else f"≥ {_number(threshold)}"
    if value is None:
        return none
    return _number(value)


def value_change(kind: str, before: Any, after: Any) -> str:
    """The change of a parameter: signed PKR, points of a share or a number, else "changed"."""
    if before == after:
        return ""
    if kind == "transfer" and before["by_tier_pkr"].keys() == after["by_tier_pkr"].keys() and \
            {k: v for k, v in before.items() if k != "by_tier_pkr"} == \
            {k: v for k, v in after.items() if k != "by_tier_pkr"}:
        moves = {after["by_tier_pkr"][t] - v for t, v in before["by_tier_pkr"].items()}
        if len(moves) == 1:  # every tier moved alike (the sidebar's what-if)
            return _signed(moves.pop(), money=True)
    if kind == "pmt_cutoff" and before[1:] == after[1:] and None not in (before[0], after[0]):
        return _signed_number(after[0] - before[0])
    if kind == "federal_share":
        return _signed_number(round((after - before) * 100, 4), T("cmp_points"))
    if kind in ("poverty_line",) and None not in (before, after):
        return _signed_number(after - before)
    if kind == "federal_budget" and None not in (before, after):
        return _signed(after - before, money=True)
    return T("c_changed")


def _signed(n: int, *, money: bool) -> str:
    if n == 0:
        return "0"
    return ("+" if n > 0 else "-") + (_pkr(abs(n)) if money else text.fmt_count(abs(n)))


def _signed_number(x: float, unit: str = "") -> str:
    return (f"{x:+g}" + (f" {unit}" if unit else "")) if x else "0"


# --- the options and their names -------------------------------------------------------------------


def what_differs(scn: Scenario, library: Scenario | None) -> str:
    """A scenario named by what differs: its title and the parameters changed from its library
    file ("transfer PKR 25,000 → PKR 30,000"), "(library policy)" when none, "(built here)"
    without a library file."""
    title = text.scenario_title(lang(), scn)
    if library is None:
        return T("cmp_built", title=title)
    rows = [r for r in attribution.parameters([library, scn]) if r.parameter.kind not in UNNAMED]
    if not rows:
        return T("cmp_library_policy", title=title)
    changes = [f"{param_label(r.parameter, scn)} {show_value(r.parameter.kind, r.values[0])} → "
               f"{show_value(r.parameter.kind, r.values[1])}" for r in rows[:LABEL_CHANGES]]
    if len(rows) > LABEL_CHANGES:
        changes.append(T("cmp_more", n=len(rows) - LABEL_CHANGES))
    return f"{title} — {'; '.join(changes)}"


def option_labels(options: Sequence[str], cur: Current, saved: Sequence[dict], lib: dict) -> dict[str, str]:
    """Each option's name, unique: "Current: ...", "Kept <n>: ..." (what its policy was when
    kept), a library scenario's title "(library policy)"."""
    out: dict[str, str] = {}
    for o in options:
        if o == "current":
            name = T("compare_current", title=what_differs(cur.scn, cur.library))
        elif o.startswith("saved:"):
            s = saved[int(o[6:])]
            name = T("cmp_kept", n=s.get("n", int(o[6:]) + 1), what=what_differs(s["scn"], s.get("library")))
        else:
            entry = lib[o[4:]]
            name = T("cmp_library_policy", title=text.scenario_title(lang(), entry.get("raw") or entry))
        base, n = name, 2
        while name in out.values():
            name, n = f"{base} #{n}", n + 1
        out[o] = name
    return out


def keep_current(cur: Current, saved: list[dict]) -> str:
    """Keep the current scenario and policy (once): the option that names it."""
    for i, s in enumerate(saved):
        if s["scn"] == cur.scn and s.get("library") == cur.library:
            return f"saved:{i}"
    saved.append({"scn": cur.scn, "library": cur.library, "n": len(saved) + 1})
    return f"saved:{len(saved) - 1}"


def compare_partner(cur: Current, lib: dict) -> str:
    """A first comparison that means something: the library file itself when the policy is
    edited or a what-if is active, else another library scenario of the same kind of hazard
    (else the demo)."""
    if cur.library is not None and cur.library.name in lib and (cur.changes or cur.scn != cur.library):
        return f"lib:{cur.library.name}"
    if cur.changes and cur.base.name in lib:
        return f"lib:{cur.base.name}"
    kind = cur.base.hazards[0].kind
    same = [n for n in lib if n != cur.scn.name and lib[n]["raw"]["hazards"][0]["kind"] == kind]
    others = [n for n in lib if n != cur.scn.name]
    return f"lib:{(same or others or [loaders.DEMO_NAME])[0]}"


# --- the table, the chart and the attribution ------------------------------------------------------


def comparison_table(scns: Sequence[Scenario], the_plans: Sequence[dict], labels: Sequence[str],
                     *, every: bool = False) -> pd.DataFrame:
    """One row per policy parameter that differs (every one with ``every``), then the figures
    (:func:`simulator.app.text.compare_table`); a column per option and one per later option
    with its change from the first."""
    figures = text.compare_table(the_plans, labels, lang())
    changes = {T("c_diff", label=label): T("cmp_change", label=label) for label in labels[1:]}
    figures = figures.rename(columns=changes)
    dropped = {T("c_programmes"), T("c_cost_rule")}  # the policy rows say more
    figures = figures[~figures.iloc[:, 0].isin(dropped)]
    rows = []
    urdu_names = {k: v for s in scns for k, v in text.programme_names_ur(s).items()} if lang() == "ur" else {}
    for row in attribution.parameters(scns, every=every):
        p = row.parameter
        out = {figures.columns[0]: param_label(p, scns[0])}
        for label, value in zip(labels, row.values, strict=True):
            # a programme's name in the visitor's language (its name_ur), as elsewhere
            out[label] = urdu_names.get(value, value) if p.kind == "name" else show_value(p.kind, value)
        for label, value in zip(labels[1:], row.values[1:], strict=True):
            out[T("cmp_change", label=label)] = value_change(p.kind, row.values[0], value)
        rows.append(out)
    return pd.concat([pd.DataFrame(rows, columns=figures.columns), figures], ignore_index=True)


def amount_chart(labels: Sequence[str], the_plans: Sequence[dict]) -> alt.Chart:
    """Total cost of each option [PKR million], a bar per option named on the axis."""
    option, amount = T("c_option"), T("pkr_million_axis")
    frame = pd.DataFrame({option: list(labels),
                          amount: [p["totals"]["amount_pkr"] / 1e6 for p in the_plans]})
    return (
        alt.Chart(frame)
        .mark_bar(color="#0072B2")
        .encode(
            y=alt.Y(f"{option}:N", sort=list(labels), title=option, axis=alt.Axis(labelLimit=420)),
            x=alt.X(f"{amount}:Q", title=amount),
            tooltip=[alt.Tooltip(f"{option}:N"), alt.Tooltip(f"{amount}:Q", format=",.1f")],
        )
        .properties(height=48 * len(labels) + 40)
    )


@st.cache_data(show_spinner=False, max_entries=16)
def cached_attribution(key: str, _base: Scenario, _other: Scenario, _source: RegistrySource):
    """:func:`simulator.plans.attribution.attribute` of two scenarios on one registry
    (``key``: :func:`simulator.app.loaders.cache_key` of the three). Each plan is the engine
    and the plan's figures on the cached registry and hazards, without the ensemble, delivery
    and risk sections (they do not change the totals)."""

    def build(scn: Scenario) -> dict:
        lean = scn.model_copy(update={"ensemble": None, "delivery": None, "financing": None,
                                      "nser_update": None})
        reg, layers = loaders.registry_of(lean, _source), loaders.hazards_of(lean)
        with loaders.GATE.foreground():
            return plans_mod.assemble(lean, reg, layers).plan

    return attribution.attribute(_base, _other, build)


_BEYOND = {"seed": "cmp_beyond_seed", "registry": "cmp_beyond_registry", "registry source": "cmp_beyond_registry",
           "hazards": "cmp_beyond_hazards"}


def attribution_table(att: attribution.Attribution, scn: Scenario) -> pd.DataFrame:
    """Each part's change in households paid, amount and federal PKR; the interaction; the total."""
    cols = [T("cmp_a_what"), T("f_paid_households"), T("f_amount_pkr"), T("f_federal_pkr")]
    figures = attribution.FIGURES

    def row(name: str, change: dict | None) -> list[str]:
        if change is None:
            return [name, *[text.HIDDEN] * len(figures)]
        return [name, *(_signed(change[f], money=f.endswith("_pkr")) for f in figures)]

    rows = [row(" + ".join(param_label(p, scn) for p in part.parameters)
                + ("" if part.change is not None else " " + T("cmp_a_not_alone")), part.change)
            for part in att.parts]
    rows.append(row(T("cmp_a_together"), att.interaction))
    rows.append(row(T("cmp_a_total"), att.total))
    return pd.DataFrame(rows, columns=cols)


def show_attribution(i: int, labels: Sequence[str], scns: Sequence[Scenario],
                     sources: Sequence[RegistrySource]) -> None:
    """Where option ``i``'s change from the first comes from."""
    st.markdown(f"**{T('cmp_a_title', first=labels[0], label=labels[i])}**")
    beyond = attribution.scenario_differences(scns[0], scns[i])
    if sources[i].key != sources[0].key:
        beyond.append("registry source")
    if beyond:
        what = sorted({T(_BEYOND.get(b, "cmp_beyond_hazards")) for b in beyond})
        st.info(T("cmp_a_scenario", what=", ".join(what)))
        return
    if not attribution.parameters([scns[0], scns[i]]):
        st.caption(T("cmp_a_same"))
        return
    key = loaders.cache_key(scns[0], scns[i], sources[0])
    try:
        with st.spinner(T("computing")):
            att = cached_attribution(key, scns[0], scns[i], sources[0])
    except MadadError as exc:
        st.error(T("run_failed", problem=str(exc)))
        return
    table = attribution_table(att, scns[0])
    st.dataframe(table, hide_index=True, key=f"compare_attribution_{i}", height=table_height(len(table)))


def _plan_title(plan: dict, scn: Scenario) -> str:
    """The plan's title in the page's language: in Urdu the scenario's ``title_ur`` with what
    was edited (the plan records its title in English)."""
    if lang() not in text.RTL:
        return plan["scenario"]["title"]
    changes = (plan.get("policy") or {}).get("changes") or []
    title = text.scenario_title(lang(), scn)
    return title + (" — " + text.changes_text(lang(), changes, scn) if changes else "")


def render(cur: Current) -> None:
    st.title(T("page_compare"))
    st.caption(T("compare_help"))
    ss = st.session_state
    saved: list[dict] = ss.setdefault("saved", [])
    lib = loaders.library_now()
    restore_widget(PICK, ["current", compare_partner(cur, lib)])
    if st.button(T("compare_save"), key="compare_save"):
        option = keep_current(cur, saved)
        if option not in ss[PICK]:
            ss[PICK] = [*ss[PICK], option][-MAX_OPTIONS:]
    options = ["current"] + [f"saved:{i}" for i in range(len(saved))] + [f"lib:{n}" for n in lib]
    names = option_labels(options, cur, saved, lib)
    ss[PICK] = [o for o in ss[PICK] if o in options]
    picked = st.multiselect(T("compare_pick"), options, format_func=names.get, key=PICK,
                            max_selections=MAX_OPTIONS, placeholder=T("w_choose"))
    keep_widget(PICK)
    if len(picked) < 2:
        st.info(T("compare_need_two"))
        return
    runs = []  # (scenario, library) of each option
    for o in picked:
        if o == "current":
            runs.append((cur.scn, cur.library))
        elif o.startswith("saved:"):
            runs.append((saved[int(o[6:])]["scn"], saved[int(o[6:])].get("library")))
        else:
            scn = loaders.library_scenario(o[4:])
            runs.append((scn, scn))
    scns = [scn for scn, _ in runs]
    sources = [registry_source(scn, cur.cfg) for scn in scns]
    the_plans = []
    try:
        with st.spinner(T("computing")):
            for (scn, library), source in zip(runs, sources, strict=True):
                the_plans.append(loaders.plan_for(scn, source, library)[0])
    except MadadError as exc:
        st.error(T("run_failed", problem=str(exc)))
        return
    if not cur.cfg.planner:  # a minister's view holds no exact figure (pages.published)
        the_plans = [loaders.shown_plan(p, scn, source, library, cur.cfg)
                     for (scn, library), source, p in zip(runs, sources, the_plans, strict=True)]
    labels = [names[o] for o in picked]
    st.markdown("\n".join(f"- **{label}** — {T('cmp_plan_title')} {_plan_title(p, scn)}"
                          for label, p, scn in zip(labels, the_plans, scns, strict=True)))
    every = st.toggle(T("cmp_show_all"), key="compare_every")
    table = comparison_table(scns, the_plans, labels, every=every)
    st.dataframe(table, hide_index=True, key="compare_table", height=table_height(len(table)))
    st.altair_chart(amount_chart(labels, the_plans), width="stretch")
    st.subheader(T("cmp_a_heading"))
    st.caption(T("cmp_a_help"))
    if cur.cfg.planner:
        for i in range(1, len(picked)):
            show_attribution(i, labels, scns, sources)
    else:  # the parts are exact differences; the published figures are not exact
        st.caption(T("cmp_a_planners"))
    with st.expander(T("compare_all")):
        from simulator.publish import compare, export

        # the plans as this visitor may see them (a minister's are the published ones, above)
        exported = [export.Run(p, label=label) for p, label in zip(the_plans, labels, strict=True)]
        if lang() != "en":
            st.caption(T("compare_all_fields"))
        try:
            frame = compare.compare(exported)
            frame.columns = [T("cmp_change", label=str(c).removeprefix(compare.DIFF_PREFIX))
                             if str(c).startswith(compare.DIFF_PREFIX) else str(c) for c in frame.columns]
            frame.index = [" / ".join(map(str, i)) for i in frame.index]
            st.dataframe(frame.astype(str), key="compare_full")
            for note in compare.pooling_notes(the_plans, labels):
                st.caption(note)
        except Exception as exc:
            show_bad_file("simulator.publish.compare", exc)


if __name__ == "__main__":  # st.navigation runs this file as the page
    render(current())
