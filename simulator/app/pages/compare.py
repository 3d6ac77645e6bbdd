"""The Compare page: two to four scenarios or policies side by side.

Each option is a scenario with the library scenario its policy started from: the current one
(with the sidebar's what-if), one saved earlier, or a library file as it is. Every option is
labelled by its plan's title, which says "edited" with what changed when the policy is not
the library file's.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from hazards.errors import MadadError
from simulator.app import loaders, text
from simulator.app.state import Current, T, current, lang, registry_source, show_bad_file
from simulator.app.widgets import table_height


def saved_label(cur: Current) -> str:
    """The current plan's title; a what-if on a scenario with no library is not an "edit" of
    a file, so it is written out."""
    edited = (cur.plan.get("policy") or {}).get("edited")
    if cur.changes and not edited:
        return cur.title + " — " + "; ".join(f"{T(k)} {new}" for k, new, _ in cur.changes)
    return cur.title


def render(cur: Current) -> None:
    st.title(T("page_compare"))
    st.caption(T("compare_help"))
    ss = st.session_state
    saved: list[dict] = ss.setdefault("saved", [])
    lib = loaders.library_now()
    if "compare_pick" not in ss:
        ss["compare_pick"] = ["current", compare_partner(cur, lib)]
    if st.button(T("compare_save"), key="compare_save"):
        label = saved_label(cur)
        known = [s["label"] for s in saved]
        if label not in known:
            saved.append({"label": label, "scn": cur.scn, "library": cur.library})
        option = f"saved:{known.index(label) if label in known else len(saved) - 1}"
        if option not in ss["compare_pick"]:
            ss["compare_pick"] = [*ss["compare_pick"], option][-4:]
    options = ["current"] + [f"saved:{i}" for i in range(len(saved))] + [f"lib:{n}" for n in lib]

    def label_of(o: str) -> str:
        if o == "current":
            return T("compare_current", title=saved_label(cur))
        if o.startswith("saved:"):
            return saved[int(o[6:])]["label"]
        return lib[o[4:]]["title"]

    ss["compare_pick"] = [o for o in ss["compare_pick"] if o in options]
    picked = st.multiselect(T("compare_pick"), options, format_func=label_of, key="compare_pick",
                            max_selections=4)
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
    sources = [registry_source(scn, cur.cfg) for scn, _ in runs]
    plans = []
    try:
        with st.spinner(T("computing")):
            for (scn, library), source in zip(runs, sources, strict=True):
                plans.append(loaders.plan_for(scn, source, library)[0])
    except MadadError as exc:
        st.error(T("run_failed", problem=str(exc)))
        return
    st.markdown("\n".join(f"{i + 1}. {label_of(o)}" for i, o in enumerate(picked)))
    labels = [str(i + 1) for i in range(len(picked))]
    table = text.compare_table(plans, labels, lang())
    st.dataframe(table, hide_index=True, key="compare_table", height=table_height(len(table)))
    chart = pd.DataFrame({T("c_option"): [str(i + 1) for i in range(len(plans))],
                          T("m_amount"): [p["totals"]["amount_pkr"] / 1e6 for p in plans]})
    st.bar_chart(chart, x=T("c_option"), y=T("m_amount"), y_label=T("pkr_million_axis"), color="#0072B2")
    with st.expander(T("compare_all")):
        from simulator.publish import compare, export

        shown = [loaders.shown_plan(p, scn, source, library, cur.cfg)
                 for (scn, library), source, p in zip(runs, sources, plans, strict=True)]
        exported = [export.Run(p, label=f"{label}. {label_of(o)}")
                    for p, label, o in zip(shown, labels, picked, strict=True)]
        try:
            frame = compare.compare(exported)
            frame.columns = [str(c) for c in frame.columns]
            frame.index = [" / ".join(map(str, i)) for i in frame.index]
            st.dataframe(frame.astype(str), key="compare_full")
        except Exception as exc:
            show_bad_file("simulator.publish.compare", exc)


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


if __name__ == "__main__":  # st.navigation runs this file as the page
    render(current())
