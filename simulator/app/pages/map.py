"""The Map page: the hazard, the affected households as hexagons and the districts.

Drawn bottom to top: the province and district outlines (and district shading from a user's
boundaries), the hazard, rivers, the households' hexagons (sheer over a hazard raster, so the
hazard shows through; solid on request), the district circles and, on top, the district names,
decluttered by affected households. The view opens on the affected provinces, and a legend
states what each symbol counts.
"""

from __future__ import annotations

import streamlit as st
import xarray as xr

from hazards import tables as data
from simulator.app import text
from simulator.app.state import Current, T, current, lang
from simulator.app.widgets import build_deck, draw_deck, scenario_heading

MAP_HEIGHT_PX = 680
#: Width [pixels] the view is fitted to (the page's map is about this wide on a laptop).
MAP_WIDTH_PX = 900
#: District names weighed for the map (the most affected first); the declutter keeps fewer.
MAX_NAMES = 60


def build_map(cur: Current, *, hazard: bool = True, households: bool = True, solid: bool = False,
              districts: bool = True, height: int = MAP_HEIGHT_PX):
    """(the pydeck map, the hazards' legends (HTML), the symbols' legend (HTML)): the shared
    map (:func:`simulator.app.widgets.build_deck`), taller and with more names."""
    spec, legends, _, symbols = build_deck(cur, hazard=hazard, households=households, solid=solid,
                                           districts=districts, height=height, width=MAP_WIDTH_PX, names=MAX_NAMES)
    return spec, legends, symbols


def render(cur: Current) -> None:
    st.title(T("page_map"))
    scenario_heading(cur)
    raster = any(isinstance(layer, xr.DataArray) for layer in cur.layers)
    cols = st.columns(4)
    hazard = cols[0].toggle(T("layer_hazard"), value=True, key="show_hazard")
    households = cols[1].toggle(T("layer_households"), value=True, key="show_households")
    solid = not (raster and hazard)  # nothing beneath to hide: solid
    if households and raster and hazard:  # the choice does something only over a raster
        solid = cols[2].toggle(T("layer_hex_solid"), value=False, key="solid_hexagons",
                               help=T("layer_hex_solid_help"))
    districts = cols[3].toggle(T("layer_districts"), value=True, key="show_districts")
    spec, legends, symbols = build_map(cur, hazard=hazard, households=households, solid=solid,
                                       districts=districts)
    draw_deck(spec, legends, symbols, key="map_page", alt=T("map_alt"), height=MAP_HEIGHT_PX)
    st.caption(T("map_note"))
    st.caption(text.boundary_attribution(lang()))  # ODbL: wherever the shipped outlines are drawn
    bounds = cur.bounds
    if bounds:
        report = bounds[2]
        st.caption(T("boundaries_in_use", name=bounds[3], matched=report["matched"],
                     total=len(data.district_codes())))


if __name__ == "__main__":  # st.navigation runs this file as the page
    render(current())
