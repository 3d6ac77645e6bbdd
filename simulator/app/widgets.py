"""Parts several pages show: the map with its legends, the headline figures, the scenario
heading (the plan's title, "edited" when the policy differs from the library file's), the
registry report (the served Urdu font is :func:`simulator.app.state.rtl_css`'s)."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import xarray as xr

from hazards import tables as data
from simulator.app import deck, loaders, style, text
from simulator.app.state import Current, T, lang

MAP_HEIGHT_PX = 560
#: District names drawn on the map (the most affected first).
MAX_LABELS = 12


def style_of(spec, layer: xr.DataArray) -> style.HazardStyle:
    """Colour ramp of a raster from its units, kind and the scenario's tiers (or impact
    function's thresholds, with its direction: lower SPI is worse)."""
    units = layer.attrs.get("units", "")
    kind = spec.kind or layer.attrs.get("kind")
    if spec.impact is not None:
        from hazards import impact

        fn = impact.load(spec.impact)
        th = fn.thresholds(fn.housing[0])
        return style.hazard_style(kind, units, [th["affected"], th["severely_affected"], th["displaced"]],
                               fn.direction)
    return style.hazard_style(kind, units, spec.tier_thresholds())


def build_deck(cur: Current, *, hazard: bool = True, households: bool = True, districts: bool = True,
               solid: bool = False, height: int = MAP_HEIGHT_PX, width: int = 900, names: int = MAX_LABELS):
    """The map of the current plan, as the Summary, Map and Response pages draw it.

    Layers, bottom up: Pakistan's outlines, district shading (a user's boundaries), the
    hazards, rivers, affected households' hexagons (see-through unless ``solid``, so that the
    hazard shows), district circles, and up to ``names`` district names, the most affected
    first, decluttered beside their circles (:func:`simulator.app.deck.label_layer`). The view
    opens on the affected provinces (:func:`simulator.app.deck.affected_bounds`), else on the
    hazard, else on Pakistan, fitted to ``width`` x ``height`` pixels.

    Returns (the pydeck map, the hazards' legends (HTML), the count palette, the symbols'
    legend (HTML): what each hexagon, circle and shade counts).
    """
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
            title = (T(ramp.what) if len(cur.scn.hazards) == 1
                     else f"{text.hazard_name(lg, spec)}: {T(ramp.what)}")
            legends.append(style.legend_html(ramp, lg, title[:1].upper() + title[1:]))
        elif hazard:
            hazards.append(deck.declared_layer(source, figures, lg, light))
            declared = figures[figures.district_id.isin(source.district_id)]
            if len(declared):
                seen.append((declared.lon.min() - 0.3, declared.lat.min() - 0.3,
                             declared.lon.max() + 0.3, declared.lat.max() + 0.3))
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
    view = deck.view_for(extent, width_px=width, height_px=height)
    named = affected.assign(_n=[v or 0 for v in affected["affected_households"]])
    named = named.sort_values("_n", ascending=False, kind="stable").head(names)
    radius = pd.Series(deck.symbol_radii(unshaped), index=unshaped.district_id.to_numpy()) if circles else None
    radii = 0.0 if radius is None else named.district_id.map(radius).fillna(0.0).to_numpy()
    layers.append(deck.label_layer(pd.DataFrame(named, columns=affected.columns), zoom=view.zoom,
                                   radius_m=radii, lang=lg))
    tip_style = {"fontSize": "13px", "whiteSpace": "pre", "color": "white"}
    if lg in text.RTL:
        tip_style["direction"] = "rtl"
        tip_style["fontFamily"] = f"'{style.STREAMLIT_FONT}', '{style.URDU_FONT}', sans-serif"
    spec = deck.compact_deck(layers=layers, initial_view_state=view, map_style=None,
                             tooltip={"text": "{tip}", "style": tip_style})
    symbols = deck.map_legend_html(lg, palette=palette, hexagons=drawn_hexes, solid=solid, circles=circles,
                                   choropleth=districts and light is not None, labels=len(affected) > 0,
                                   min_cell=None if cur.cfg.planner else cur.k)
    return spec, legends, palette, symbols


def declared_legend() -> str:
    chips = "".join(
        f'<span style="display:inline-block;margin-right:1rem"><span style="display:inline-block;'
        f'width:12px;height:12px;background:rgb{rgb};margin:0 4px;vertical-align:middle"></span>'
        f"{T(key)}</span>"
        for key, rgb in (("tier_affected", deck.DECLARED_RGB[1]), ("tier_severe", deck.DECLARED_RGB[2]),
                         ("tier_displaced", deck.DECLARED_RGB[3])))
    return f'<div style="font-size:0.85rem"><b>{T("declared_title")}</b><br>{chips}</div>'


def draw_deck(spec, legends: list[str], symbols: str, *, key: str, alt: str, height: int = MAP_HEIGHT_PX) -> None:
    """A map of :func:`build_deck` on the page, its hazards' legends beside what its symbols
    count."""
    st.pydeck_chart(spec, height=height, key=key, alt=alt)
    left, right = st.columns(2)
    with left:
        for html in legends:
            st.html(html)
    with right:
        st.html(symbols)


def show_map(cur: Current, *, height: int = MAP_HEIGHT_PX, toggles: bool = False, key: str = "map") -> None:
    """The map, its legends and what it shows."""
    show = {"hazard": True, "households": True, "districts": True}
    if toggles:
        cols = st.columns(3)
        show["hazard"] = cols[0].toggle(T("layer_hazard"), value=True, key="show_hazard")
        show["households"] = cols[1].toggle(T("layer_households"), value=True, key="show_households")
        show["districts"] = cols[2].toggle(T("layer_districts"), value=True, key="show_districts")
    spec, legends, _, symbols = build_deck(cur, height=height, **show)
    draw_deck(spec, legends, symbols, key=key, alt=T("map_alt"), height=height)
    note = T("map_note")
    if not cur.cfg.planner:
        note += " " + T("map_note_minister", k=cur.k)
    st.caption(note)
    st.caption(text.boundary_attribution(lang()))  # ODbL: wherever the shipped outlines are drawn


HEADLINES = (
    ("m_affected_households", "affected_households", False),
    ("m_affected_people", "affected_people", False),
    ("m_paid_households", "paid_households", False),
    ("m_amount", "amount_pkr", True),
    ("m_federal", "federal_pkr", True),
    ("m_provincial", "provincial_pkr", True),
)


def show_metrics(totals: dict, baseline: dict | None) -> None:
    """Headline figures in two rows of three; money also in words; deltas against the file."""
    rows = [st.columns(3), st.columns(3)]
    for i, (label, key, money) in enumerate(HEADLINES):
        value = totals[key]
        lg = lang()
        delta = text.fmt_delta(value - baseline[key], money, lg) if baseline else None
        cell = rows[i // 3][i % 3]
        cell.metric(T(label), text.fmt_pkr_short(value, lg) if money else text.fmt_count_short(value, lg),
                    delta=delta, delta_color="off", border=True,
                    help=text.fmt_pkr(value, lg) if money else None)
        if money:
            cell.caption(text.fmt_pkr(value, lg))
        elif lg in text.RTL and value is not None and value >= 100_000:
            cell.caption(text.fmt_count(value))  # the exact count under the lakh/crore figure


def scenario_heading(cur: Current) -> None:
    """The plan's title (with "edited: ..." when the policy is not the library file's), where
    the scenario comes from, the registry and any what-if."""
    lg = lang()
    record = cur.plan.get("policy") or {}
    st.subheader(heading_title(cur, lg))
    modelled = (cur.scn.modelled_on_ur if lg in text.RTL else None) or cur.scn.modelled_on
    if modelled:
        st.caption(T("modelled_on", what=modelled.removesuffix(" (not a reproduction)")))
    st.caption(T("registry_line",
                 source=text.registry_source_text(lg, cur.plan["registry"].get("source", "?")),
                 rows=f"{cur.plan['registry'].get('rows_valid', 0):,}",
                 households=f"{cur.plan['totals']['households']:,}"))
    if record.get("edited"):
        library = cur.library if cur.library is not None else None
        st.caption(T("policy_edited",
                     library=(text.scenario_title(lg, library) if library is not None else None)
                     or record.get("library_title") or record.get("library") or "?",
                     changes=text.changes_text(lg, record.get("changes", []), cur.scn)))
    if cur.changes:
        st.info(T("whatif_active", changes="; ".join(
            f"{T(key)} {new} ({T('was')} {old})" for key, new, old in cur.changes)))


def heading_title(cur: Current, lg: str) -> str:
    """The plan's title: in Urdu the scenario's ``title_ur`` (with "edited" in Urdu when the
    policy is), else the plan's own title (which says "edited: ..." in English)."""
    if lg in text.RTL and cur.scn.title_ur:
        edited = (cur.plan.get("policy") or {}).get("edited")
        return cur.scn.title_ur + (" " + T("title_edited") if edited else "")
    return cur.title


def summary_sentence(totals: dict) -> str:
    lg = lang()
    if not totals["affected_households"]:
        return T("summary_none")
    return T("summary", affected=text.fmt_count_short(totals["affected_households"], lg),
             people=text.fmt_count_short(totals["affected_people"], lg),
             paid=text.fmt_count_short(totals["paid_households"], lg),
             amount=text.fmt_pkr_short(totals["amount_pkr"], lg),
             federal=text.fmt_pkr_short(totals["federal_pkr"], lg),
             provincial=text.fmt_pkr_short(totals["provincial_pkr"], lg))


def ensemble_lines(plan: dict, lg: str) -> list[str]:
    """"Likely between ... and ..." for the headline figures of a plan with an ensemble (empty
    without one; a hidden range is skipped)."""
    e = plan.get("ensemble")
    if not e:
        return []
    lines = []
    for metric, label in (("affected_households", "ens_affected"), ("paid_households", "ens_paid"),
                          ("amount_pkr", "ens_amount")):
        r = e["national"][metric]
        if None in r.values():
            continue
        fmt = ((lambda v: text.fmt_pkr_short(v, lg)) if metric.endswith("_pkr")
               else (lambda v: text.fmt_count_short(v, lg)))
        lines.append(T("ens_line", what=T(label), lo=fmt(r["p10"]), hi=fmt(r["p90"]), mid=fmt(r["p50"])))
    return lines


def show_ensemble(plan: dict) -> None:
    """The ensemble's ranges under the headline figures, with what the tables are."""
    lines = ensemble_lines(plan, lang())
    if lines:
        st.markdown("\n".join(f"- {line}" for line in lines))
        e = plan["ensemble"]
        st.caption(T("ens_caption", n=e["members"], seed=e["member_in_tables"]))


#: Seconds between two looks at an ensemble still running (:func:`show_ranges`).
RANGES_POLL_S = 1.0


def show_ranges(cur: Current) -> None:
    """The ensemble's ranges under the headline figures; while they are computed, a note
    ("member k of n") that looks again every :data:`RANGES_POLL_S` and reruns the page when
    they are there. The headline figures never wait for them."""
    ensemble = cur.ensemble
    if "ensemble" in cur.shown or ensemble is None or not ensemble.members:
        show_ensemble(cur.shown)
    elif ensemble.error is not None:
        st.warning(T("ens_failed", problem=str(ensemble.error) or type(ensemble.error).__name__))
    else:
        ranges_pending(ensemble)


@st.fragment(run_every=RANGES_POLL_S)
def ranges_pending(ensemble) -> None:
    """The note shown while an ensemble runs (a fragment: only it reruns until the end)."""
    if ensemble.ready:
        st.rerun(scope="app")  # the whole page again, now with the ranges
    st.caption(T("ens_pending", k=max(ensemble.member, 1), n=ensemble.members))


def table_height(n: int) -> int:
    return min(35 * (n + 1) + 3, 640)


def show_registry_report(report: dict) -> None:
    c = st.columns(3)
    c[0].metric(T("rows_read"), text.fmt_count(report.get("rows_read", 0)))
    c[1].metric(T("rows_valid"), text.fmt_count(report.get("rows_valid", 0)))
    c[2].metric(T("rows_quarantined"), text.fmt_count(report.get("rows_quarantined", 0)))
    if report.get("reasons"):
        st.dataframe(pd.DataFrame([{T("col_reason"): k, T("col_rows"): text.fmt_count(v)}
                                   for k, v in report["reasons"].items()]), hide_index=True)
    for note in report.get("notes", []):
        st.caption(note)
