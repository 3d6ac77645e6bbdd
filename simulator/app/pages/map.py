"""The Map page: the hazard, the affected households as hexagons and the districts.

Drawn bottom to top: the province and district outlines (and district shading from a user's
boundaries), the hazard, rivers, the households' hexagons (sheer over a hazard raster, so the
hazard shows through; solid on request), the district circles and, on top, the district names,
decluttered by affected households. The view opens on the affected provinces, and a legend
states what each symbol counts.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
import xarray as xr

from hazards import tables as data
from simulator.app import deck, loaders, style, text
from simulator.app.state import Current, T, current, lang
from simulator.app.widgets import declared_legend, scenario_heading, style_of

MAP_HEIGHT_PX = 680
#: Width [pixels] the view is fitted to (the page's map is about this wide on a laptop).
MAP_WIDTH_PX = 900
#: District names weighed for the map (the most affected first); the declutter keeps fewer.
MAX_NAMES = 60


def build_map(cur: Current, *, hazard: bool = True, households: bool = True, solid: bool = False,
              districts: bool = True, height: int = MAP_HEIGHT_PX):
    """(the pydeck map, the hazards' legends (HTML), the symbols' legend (HTML))."""
    lg = lang()
    bounds = cur.bounds
    light = bounds[1] if bounds else None
    figures = deck.district_figures(cur.shown)
    hazards, legends, seen = [], [], []
    styles = []
    for spec, source in zip(cur.scn.hazards, cur.layers, strict=True):
        if isinstance(source, xr.DataArray):
            ramp = style_of(spec, source)
            styles.append(ramp)
            if hazard:
                url, img_bounds, visible = loaders.cached_hazard_image(loaders.hazard_key(spec, cur.scn.seed),
                                                                       ramp, source)
                hazards.append(deck.bitmap_layer(url, img_bounds, f"hazard-{spec.label}"))
                seen.append(visible)
            title = T(ramp.what) if len(cur.scn.hazards) == 1 else f"{spec.label}: {T(ramp.what)}"
            legends.append(style.legend_html(ramp, lg, title[:1].upper() + title[1:]))
        elif hazard:
            hazards.append(deck.declared_layer(source, figures, lg, light))
            legends.append(declared_legend())
    palette = styles[0].count_palette if styles else style.COUNT_PALETTES["warm"]
    layers = list(loaders.outline_layers(light))  # beneath everything: Pakistan without a tile server
    if districts and light is not None:
        layers.append(deck.choropleth_layer(light, figures, lg))
    layers += hazards
    layers.append(deck.river_layer())
    hexes = cur.hexes
    drawn_hexes = households and len(hexes) > 0
    if drawn_hexes:
        layers.append(deck.hex_layer(hexes, lg, palette, solid=solid))

    affected = figures[[(v is None) or v > 0 for v in figures["affected_households"]]]
    unshaped = affected if light is None else affected[~affected.district_id.isin(light.district_id)]
    circles = districts and len(unshaped) > 0
    if circles:
        layers.append(deck.symbol_layer(unshaped, lg))
    extent = (deck.affected_bounds(figures) or deck.union_bounds(*seen)
              or (None if hexes.empty else (hexes.lon.min(), hexes.lat.min(), hexes.lon.max(), hexes.lat.max()))
              or data.PAKISTAN_BBOX)
    view = deck.view_for(extent, width_px=MAP_WIDTH_PX, height_px=height)
    named = affected.assign(_n=[v or 0 for v in affected["affected_households"]])
    named = named.sort_values("_n", ascending=False, kind="stable").head(MAX_NAMES)
    radius = pd.Series(deck.symbol_radii(unshaped), index=unshaped.district_id.to_numpy()) if circles else None
    radii = 0.0 if radius is None else named.district_id.map(radius).fillna(0.0).to_numpy()
    layers.append(deck.label_layer(pd.DataFrame(named, columns=affected.columns), zoom=view.zoom,
                                   radius_m=radii, lang=lg))
    tip_style = {"fontSize": "13px", "whiteSpace": "pre", "color": "white"}
    if lg in text.RTL:
        tip_style["direction"] = "rtl"
    spec = deck.compact_deck(layers=layers, initial_view_state=view, map_style=None,
                             tooltip={"text": "{tip}", "style": tip_style})
    symbols = deck.map_legend_html(lg, palette=palette, hexagons=drawn_hexes, solid=solid, circles=circles,
                                   choropleth=districts and light is not None, labels=len(affected) > 0,
                                   min_cell=None if cur.cfg.planner else cur.k)
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
    st.pydeck_chart(spec, height=MAP_HEIGHT_PX, key="map_page", alt=T("map_alt"))
    left, right = st.columns(2)
    with left:
        for html in legends:
            st.html(html)
    with right:
        st.html(symbols)
    st.caption(T("map_note"))
    st.caption(text.boundary_attribution(lang()))  # ODbL: wherever the shipped outlines are drawn
    bounds = cur.bounds
    if bounds:
        report = bounds[2]
        st.caption(T("boundaries_in_use", name=bounds[3], matched=report["matched"],
                     total=len(data.district_codes())))


if __name__ == "__main__":  # st.navigation runs this file as the page
    render(current())
