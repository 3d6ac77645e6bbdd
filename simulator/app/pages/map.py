"""The Map page: the hazard, the affected households as hexagons and the districts."""

from __future__ import annotations

import streamlit as st

from hazards import tables as data
from simulator.app.state import Current, T, current
from simulator.app.widgets import (
    scenario_heading,
    show_map,
)


def render(cur: Current) -> None:
    st.title(T("page_map"))
    scenario_heading(cur)
    show_map(cur, height=680, toggles=True, key="map_page")
    bounds = cur.bounds
    if bounds:
        report = bounds[2]
        st.caption(T("boundaries_in_use", name=bounds[3], matched=report["matched"],
                     total=len(data.district_codes())))


if __name__ == "__main__":  # st.navigation runs this file as the page
    render(current())
