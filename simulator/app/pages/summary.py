"""The Summary page (url_path ``overview``): headline figures and the map, no click needed."""

from __future__ import annotations

import streamlit as st

from simulator.app.pages import published
from simulator.app.state import PAGE_OBJECTS, Current, T, current
from simulator.app.widgets import (
    scenario_heading,
    show_map,
    show_metrics,
    show_ranges,
    summary_sentence,
)


def render(cur: Current) -> None:
    """Landing page: headline figures and the map, no click needed."""
    st.title(T("app_title"))
    scenario_heading(cur)
    plan, baseline = published(cur)  # ministers: the published (perturbed) figures
    st.markdown(summary_sentence(plan["totals"]))
    show_metrics(plan["totals"], baseline)
    if not cur.cfg.planner:
        st.caption(T("published_note"))
    show_ranges(cur)
    show_map(cur, key="overview_map")
    cols = st.columns(3)
    cols[0].page_link(PAGE_OBJECTS["map"], label=T("go_map"), icon=":material/map:")
    cols[1].page_link(PAGE_OBJECTS["plan"], label=T("go_plan"), icon=":material/table:")
    cols[2].page_link(PAGE_OBJECTS["scenario"], label=T("go_scenario"), icon=":material/tune:")


if __name__ == "__main__":  # st.navigation runs this file as the page
    render(current())
