"""The map's pydeck layers: households binned to hexagons (server-side: no household location
reaches the browser; sheer, so that the hazard beneath shows), districts as symbols, a choropleth
or declared areas, rivers, district names decluttered by priority and kept off their circles,
the province and district outlines beneath them all (no tile server needed), the delivery plan's
sites by status, campsites and catchments (Voronoi edges of the open payment sites), the view
that frames them (the affected provinces) and the legend of what each symbol counts. Nothing
here imports Streamlit."""

from __future__ import annotations

import functools
import json
import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from simulator.app.style import COUNT_PALETTES
from simulator.app.text import fmt_count, fmt_pkr, site_name, text

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# Households binned to hexagons (server-side: no household location reaches the browser)
# ---------------------------------------------------------------------------------------------

HEX_WIDTH_KM = 5.0
HEX_LAT0 = 30.0
KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON_EQUATOR = 111.320
#: Largest box of hexagons (cells) :func:`hex_bins` counts in a dense table (Pakistan at 5 km: ~0.1 M).
DENSE_HEX_CELLS = 4_000_000


def hex_scale(lat0: float = HEX_LAT0) -> tuple[float, float]:
    """km per degree of longitude and latitude of the local equirectangular plane."""
    return KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0)), KM_PER_DEG_LAT


def cube_round(q: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest hexagon of fractional axial coordinates (cube rounding), vectorized."""
    s = -q - r
    rq, rr, rs = np.rint(q), np.rint(r), np.rint(s)
    dq, dr, ds = np.abs(rq - q), np.abs(rr - r), np.abs(rs - s)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    rq = np.where(fix_q, -rr - rs, rq)
    rr = np.where(fix_r, -rq - rs, rr)
    return rq.astype(np.int64), rr.astype(np.int64)


def hex_bins(lon: np.ndarray, lat: np.ndarray, width_km: float = HEX_WIDTH_KM,
             weights: np.ndarray | None = None) -> pd.DataFrame:
    """Points counted in a pointy-top hexagonal grid ``width_km`` across (flat to flat).

    Returns one row per non-empty hexagon: axial ``q``, ``r``, the centre ``lon``/``lat`` and
    ``count`` (the sum of ``weights``: the households each registry row stands for, default 1).
    """
    kx, ky = hex_scale()
    size = width_km / math.sqrt(3)  # centre to corner [km]
    x, y = np.asarray(lon, float) * kx, np.asarray(lat, float) * ky
    q, r = cube_round((math.sqrt(3) / 3 * x - y / 3) / size, (2 / 3 * y) / size)
    if len(q) == 0:
        return pd.DataFrame({"q": [], "r": [], "lon": [], "lat": [], "count": []}).astype(
            {"q": np.int64, "r": np.int64, "count": np.int64})
    # one integer per cell, ordered as (q, r) pairs are: counted in a dense table when the
    # points' box is small (a country at 5 km), else by a 1-D unique (never a row-wise one)
    q0, r0 = q.min(), r.min()
    span = int(r.max() - r0) + 1
    code = (q - q0) * span + (r - r0)
    w = np.ones(len(q), np.int64) if weights is None else np.asarray(weights, np.int64)
    cells_in_box = (int(q.max() - q0) + 1) * span
    if cells_in_box <= DENSE_HEX_CELLS:
        present = np.bincount(code, minlength=cells_in_box)
        codes = np.flatnonzero(present)
        counts = np.bincount(code, weights=w, minlength=cells_in_box)[codes].round().astype(np.int64)
    else:
        codes, inverse = np.unique(code, return_inverse=True)
        counts = np.bincount(inverse.ravel(), weights=w, minlength=len(codes)).round().astype(np.int64)
    cells = np.stack([codes // span + q0, codes % span + r0], axis=1)
    qf, rf = cells[:, 0].astype(float), cells[:, 1].astype(float)
    cx = size * math.sqrt(3) * (qf + rf / 2)
    cy = size * 1.5 * rf
    return pd.DataFrame({"q": cells[:, 0], "r": cells[:, 1], "lon": cx / kx, "lat": cy / ky,
                         "count": counts})


def hex_polygons(hexes: pd.DataFrame, width_km: float = HEX_WIDTH_KM) -> np.ndarray:
    """Corner lon/lat of each hexagon -> array (n, 6, 2), rounded to 4 decimals (~11 m)."""
    kx, ky = hex_scale()
    size = width_km / math.sqrt(3)
    angles = np.radians(60 * np.arange(6) - 30)  # pointy-top corners
    lon = hexes["lon"].to_numpy()[:, None] + size * np.cos(angles)[None, :] / kx
    lat = hexes["lat"].to_numpy()[:, None] + size * np.sin(angles)[None, :] / ky
    return np.stack([lon, lat], axis=-1).round(4)


def ramp(values: np.ndarray, stops: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """Piecewise-linear colours of ``values`` between ``stops`` -> (n, 3) uint8."""
    return np.stack([np.interp(values, stops, rgb[:, k]) for k in range(3)], axis=-1).round().astype(np.uint8)


def count_colors(counts: np.ndarray, palette: np.ndarray | None = None, alpha: int = 200) -> np.ndarray:
    """Colours of counts on a log scale -> (n, 4) uint8."""
    palette = COUNT_PALETTES["warm"] if palette is None else palette
    counts = np.asarray(counts, dtype=float)
    top = np.log1p(counts.max()) if len(counts) and counts.max() > 0 else 1.0
    t = np.log1p(np.maximum(counts, 0)) / top
    rgb = ramp(t, np.linspace(0, 1, len(palette)), palette)
    return np.column_stack([rgb, np.full(len(counts), alpha, dtype=np.uint8)])


# ---------------------------------------------------------------------------------------------
# District figures for maps and tables (hidden cells stay None)
# ---------------------------------------------------------------------------------------------

#: Figures shown in the district tooltips, in order.
TIP_FIGURES = ("affected_households", "affected_people", "paid_households", "amount_pkr")


def district_figures(plan: dict) -> pd.DataFrame:
    """Every census district with its plan figures and its point.

    Unaffected districts carry 0; a cell hidden by disclosure control stays None (object column).
    """
    from hazards import tables as data
    from simulator.plans.build import FIGURES

    table = data.districts()[["district_id", "district", "province", "province_code", "lon", "lat"]]
    figures = pd.DataFrame(plan.get("districts", []), columns=["district_id", *FIGURES])
    merged = table.merge(figures, on="district_id", how="left")
    listed = merged["district_id"].isin(figures["district_id"])
    for c in FIGURES:
        col = merged[c].astype(object)
        col[~listed] = 0
        merged[c] = pd.Series([None if v is None or (isinstance(v, float) and math.isnan(v)) else int(v)
                               for v in col], index=merged.index, dtype=object)
    return merged


def district_tip(row: Mapping[str, Any], lang: str, extra: str = "") -> str:
    """Tooltip text of one district (plain text with line breaks)."""
    lines = [f"{row['district']} ({row['province']})"]
    for key in TIP_FIGURES:
        value = row.get(key)
        shown = fmt_pkr(value) if key.endswith("_pkr") else fmt_count(value)
        lines.append(f"{text(lang, 'f_' + key)}: {shown}")
    if any(row.get(k) is None for k in TIP_FIGURES):
        lines.append(text(lang, "hidden_note_short"))
    if extra:
        lines.append(extra)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Map layers (pydeck)
# ---------------------------------------------------------------------------------------------

MAX_SYMBOL_RADIUS_M = 25_000.0
#: Radius [m] of a district's circle whose figure is hidden, and the least radius drawn [pixels].
HIDDEN_SYMBOL_RADIUS_M, SYMBOL_MIN_PX = 3_000.0, 4
DECLARED_RGB = {1: (253, 174, 97), 2: (244, 109, 67), 3: (165, 0, 38)}


#: Douglas-Peucker tolerances [degrees] of the outlines sent to the browser. The shipped file is
#: already simplified to about 200 m; these (about 300 and 450 m) keep the deck light, as it is
#: sent again after every policy change: about 100 KB of provinces and 300 KB of districts.
OUTLINE_TOLERANCE = {"provinces": 0.003, "districts": 0.004}
#: Outline colours (RGBA) and widths [pixels]: provinces darker and thicker than districts.
PROVINCE_LINE, PROVINCE_WIDTH_PX = [85, 85, 85, 230], 1.6
DISTRICT_LINE, DISTRICT_WIDTH_PX = [150, 150, 150, 170], 0.7
#: Layer ids of the outlines (the app's browser test looks for them).
OUTLINE_IDS = ("district-outlines", "province-outlines")


def outline_paths(geometries, tolerance: float = 0.0) -> list[list[list[float]]]:
    """The boundary lines of polygons as paths of [lon, lat] rounded to 3 decimals (~110 m):
    an edge two polygons share is drawn once, and lines are simplified by ``tolerance``
    [degrees] (0: not at all)."""
    import shapely

    geoms = np.asarray(geometries, dtype=object)
    geoms = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    if not len(geoms):
        return []
    lines = shapely.line_merge(shapely.union_all(shapely.boundary(geoms)))
    parts = shapely.get_parts(lines)
    if tolerance > 0:
        parts = shapely.simplify(parts, tolerance, preserve_topology=True)
    out = []
    for part in parts:
        xy = shapely.get_coordinates(part).round(3)
        keep = np.r_[True, (np.diff(xy, axis=0) != 0).any(axis=1)]  # drop repeats after rounding
        if keep.sum() >= 2:
            out.append(xy[keep].tolist())
    return out


@functools.cache
def shipped_outline_paths(level: str) -> list[list[list[float]]]:
    """:func:`outline_paths` of the shipped ``provinces`` or ``districts``
    (:func:`hazards.tables.outlines`), computed once per process. Do not modify the result."""
    from hazards import tables as data

    return outline_paths(data.outlines(level).geometry.values, OUTLINE_TOLERANCE[level])


def outline_layers(district_paths: list | None = None) -> list:
    """District outlines (thin) and province outlines (thicker) as two ``PathLayer``s, to lie
    beneath every other layer. ``district_paths`` (from :func:`outline_paths` of a user's
    boundaries) replace the shipped districts; provinces are always the shipped ones, so
    :data:`hazards.tables.BOUNDARY_ATTRIBUTION` must be shown with the map."""
    import pydeck as pdk

    districts = shipped_outline_paths("districts") if district_paths is None else district_paths
    provinces = shipped_outline_paths("provinces")
    common = {"get_path": "path", "width_units": pdk.types.String("pixels"), "pickable": False,
              "joint_rounded": True, "cap_rounded": True}
    return [
        pdk.Layer("PathLayer", data=[{"path": p} for p in districts], id=OUTLINE_IDS[0],
                  get_color=DISTRICT_LINE, get_width=DISTRICT_WIDTH_PX, **common),
        pdk.Layer("PathLayer", data=[{"path": p} for p in provinces], id=OUTLINE_IDS[1],
                  get_color=PROVINCE_LINE, get_width=PROVINCE_WIDTH_PX, **common),
    ]


#: Hexagons over a hazard raster: a sheer fill (alpha of 255) through which the hazard shows,
#: edged by a line [m] too thin to see at a country's zoom, crisp when zoomed in; the solid fill
#: (:func:`hex_layer` ``solid=True``) hides the hazard beneath.
HEX_SHEER_ALPHA, HEX_SOLID_ALPHA, HEX_EDGE_M = 56, 200, 250


def hex_layer(hexes: pd.DataFrame, lang: str, palette: np.ndarray | None = None, *, solid: bool = False):
    """One polygon per non-empty hexagon, coloured by affected households: sheer, with an edge
    in the palette's darkest colour, so that the hazard beneath stays visible (``solid``: the
    opaque fill, for a map without a hazard raster)."""
    import pydeck as pdk

    palette = COUNT_PALETTES["warm"] if palette is None else palette
    polygons = hex_polygons(hexes).tolist()
    colors = count_colors(hexes["count"].to_numpy(), palette,
                          alpha=HEX_SOLID_ALPHA if solid else HEX_SHEER_ALPHA).tolist()
    rows = [
        {"polygon": poly, "fill": color, "tip": text(lang, "hex_tip", n=f"{n:,}", km=f"{HEX_WIDTH_KM:g}")}
        for poly, color, n in zip(polygons, colors, hexes["count"].tolist(), strict=True)
    ]
    edge = [*(int(c) for c in palette[-1]), 200]
    return pdk.Layer("PolygonLayer", data=rows, id="hexagons", get_polygon="polygon",
                     get_fill_color="fill", stroked=not solid, filled=True, get_line_color=edge,
                     get_line_width=HEX_EDGE_M, line_width_units=pdk.types.String("meters"),
                     pickable=True, auto_highlight=True)


def bitmap_layer(image_url: str, bounds: Sequence[float], layer_id: str):
    """A hazard raster as a bitmap stretched over its lon/lat bounds."""
    import pydeck as pdk

    return pdk.Layer("BitmapLayer", data=None, id=layer_id, image=pdk.types.String(image_url),
                     bounds=[round(float(b), 5) for b in bounds], opacity=1.0, pickable=False)


def river_layer():
    """River centre lines, for orientation when no basemap loads."""
    import pydeck as pdk

    from hazards import tables as data

    rows = [
        {"path": group[["lon", "lat"]].to_numpy().round(4).tolist(), "name": name}
        for name, group in data.rivers().groupby("river", sort=True)
    ]
    return pdk.Layer("PathLayer", data=rows, id="rivers", get_path="path",
                     get_color=[40, 90, 160, 160], width_min_pixels=1.5, pickable=False)


def symbol_radii(districts: pd.DataFrame) -> np.ndarray:
    """Radius [m] of each district's circle: area in proportion to affected people, the largest
    :data:`MAX_SYMBOL_RADIUS_M`; a fixed small circle where the figure is hidden (None), so its
    size gives nothing away; 0 where nobody is affected."""
    people = list(districts["affected_people"])
    known = [v for v in people if v is not None and v > 0]
    top = max(max(known), 1) if known else 1
    return np.array([HIDDEN_SYMBOL_RADIUS_M if v is None else MAX_SYMBOL_RADIUS_M * math.sqrt(max(v, 0) / top)
                     for v in people], dtype=float)


def symbol_layer(districts: pd.DataFrame, lang: str):
    """Proportional circles at affected districts (:func:`symbol_radii`)."""
    import pydeck as pdk

    hit = districts[[(v is None) or v > 0 for v in districts["affected_people"]]]
    rows = [{"lon": round(float(rec["lon"]), 4), "lat": round(float(rec["lat"]), 4),
             "radius": round(float(radius)), "tip": district_tip(rec, lang)}
            for rec, radius in zip(hit.to_dict(orient="records"), symbol_radii(hit), strict=True)]
    return pdk.Layer(
        "ScatterplotLayer", data=rows, id="districts", get_position="[lon, lat]",
        get_radius="radius", radius_min_pixels=SYMBOL_MIN_PX, get_fill_color=[120, 40, 140, 28],
        get_line_color=[90, 20, 110, 230], stroked=True, filled=True, line_width_min_pixels=1.5,
        pickable=True, auto_highlight=True,
    )


# ---------------------------------------------------------------------------------------------
# District names, decluttered: the most affected first, none over another nor under its circle
# ---------------------------------------------------------------------------------------------

#: Size of the district names [pixels], the estimated width of one character [em], the space
#: between a name and its circle [pixels], and the space kept clear between two names [pixels].
LABEL_FONT_PX, LABEL_CHAR_EM, LABEL_GAP_PX, LABEL_MARGIN_PX = 13, 0.6, 4, 2
#: Web Mercator: metres per pixel at the equator at zoom 0 (deck.gl's world is 512 pixels wide).
EQUATOR_M_PER_PX = 40_075_016.686 / 512
#: Places tried for a name, in order: right of its circle, left, above, below; with the text
#: anchor and baseline deck.gl's TextLayer draws it with.
LABEL_SIDES = (("right", "start", "center"), ("left", "end", "center"),
               ("above", "middle", "bottom"), ("below", "middle", "top"))


def world_px(lon: np.ndarray, lat: np.ndarray, zoom: float) -> tuple[np.ndarray, np.ndarray]:
    """Web-Mercator pixel coordinates (x right, y down) of lon/lat [degrees] at ``zoom``."""
    scale = 512 * 2.0 ** zoom
    lat = np.clip(np.asarray(lat, dtype=float), -85, 85)
    y = np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))
    return (np.asarray(lon, dtype=float) + 180) / 360 * scale, (1 - y / np.pi) / 2 * scale


def place_labels(lon, lat, names, priority, *, zoom: float, radius_m=0.0, font_px: float = LABEL_FONT_PX,
                 gap_px: float = LABEL_GAP_PX, min_radius_px: float = SYMBOL_MIN_PX,
                 max_labels: int | None = None) -> pd.DataFrame:
    """Where each label goes on a map at ``zoom``, or that it is left out.

    Each label's box is estimated from its text (``font_px`` high, :data:`LABEL_CHAR_EM` wide a
    character) beside its circle (``radius_m``, drawn at least ``min_radius_px``), on each side
    of :data:`LABEL_SIDES` in turn; labels are kept greedily by ``priority``, each on the first
    side where it overlaps no label kept before (:func:`simulator.publish.figures.declutter`).

    Parameters
    ----------
    lon, lat : array-like, shape (n,)
        Anchor points (the circles' centres) [degrees].
    names : sequence of str
        The labels' text.
    priority : array-like, shape (n,)
        Larger is kept first (affected households); None counts as 0; ties keep the given order.
    zoom : float
        The view's web-Mercator zoom.
    radius_m : float or array-like, default 0
        Radius of each anchor's circle [m].
    max_labels : int, optional
        Keep at most this many (the highest priority).

    Returns
    -------
    pandas.DataFrame
        One row per label, in the given order: ``keep``, ``side`` (of :data:`LABEL_SIDES`, ""
        when left out), the anchor ``lon``/``lat`` on the circle's edge, deck.gl's ``anchor``
        and ``baseline``, the pixel offset ``dx``/``dy`` from the anchor, and the estimated
        ``box`` [x0, y0, x1, y1] in world pixels at ``zoom`` (None when left out).
    """
    from simulator.publish.figures import declutter

    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    n = len(lon)
    prio = np.array([0.0 if p is None else float(p) for p in priority], dtype=float)
    r_m = np.broadcast_to(np.asarray(radius_m, dtype=float), (n,))
    m_per_px = EQUATOR_M_PER_PX / 2.0 ** zoom * np.cos(np.radians(lat))
    r_px = np.maximum(r_m / m_per_px, min_radius_px if n else 0)
    x, y = world_px(lon, lat, zoom)
    width = np.array([len(str(t)) for t in names], dtype=float) * font_px * LABEL_CHAR_EM
    half_h = font_px * 0.6
    d = r_px + gap_px
    boxes = np.stack([
        np.stack([x + d, y - half_h, x + d + width, y + half_h], -1),  # right
        np.stack([x - d - width, y - half_h, x - d, y + half_h], -1),  # left
        np.stack([x - width / 2, y - d - 2 * half_h, x + width / 2, y - d], -1),  # above
        np.stack([x - width / 2, y + d, x + width / 2, y + d + 2 * half_h], -1),  # below
    ], axis=1)
    chosen = declutter(boxes, prio, margin=LABEL_MARGIN_PX)
    if max_labels is not None:
        kept = np.flatnonzero(chosen >= 0)
        chosen[kept[np.argsort(-prio[kept], kind="stable")][max_labels:]] = -1
    keep = chosen >= 0
    side = np.where(keep, chosen, 0)
    # anchors on the circle's edge in metres (a name stays outside its circle at every zoom),
    # the pixels a circle drawn larger than its radius adds as the offset
    r_deg_lon = r_m / (KM_PER_DEG_LON_EQUATOR * 1000 * np.cos(np.radians(lat)))
    r_deg_lat = r_m / (KM_PER_DEG_LAT * 1000)
    extra = np.maximum(r_px - r_m / m_per_px, 0) + gap_px
    sx = np.array([1, -1, 0, 0])[side]
    sy = np.array([0, 0, 1, -1])[side]  # +1: north (up)
    return pd.DataFrame({
        "keep": keep,
        "side": np.where(keep, np.array([s[0] for s in LABEL_SIDES])[side], ""),
        "lon": (lon + sx * r_deg_lon).round(4), "lat": (lat + sy * r_deg_lat).round(4),
        "anchor": np.array([s[1] for s in LABEL_SIDES])[side],
        "baseline": np.array([s[2] for s in LABEL_SIDES])[side],
        "dx": (sx * extra).round(1), "dy": (-sy * extra).round(1),
        "box": [boxes[i, side[i]].round(1).tolist() if keep[i] else None for i in range(n)],
    })


def points_zoom(lon, lat, *, pad: float = 1.0, width_px: int = 900, height_px: int = 560) -> float:
    """The zoom of :func:`view_for` the points' box padded by ``pad`` degrees (the view of a map
    whose labels are placed without one)."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if not len(lon):
        return 5.0
    box = (lon.min() - pad, lat.min() - pad, lon.max() + pad, lat.max() + pad)
    return float(view_for(box, width_px=width_px, height_px=height_px).zoom)


def label_layer(districts: pd.DataFrame, *, zoom: float | None = None, radius_m=None,
                priority: str = "affected_households", max_labels: int | None = None, lang: str = "en"):
    """Names of the given districts, decluttered (:func:`place_labels`) at ``zoom`` (default:
    the view of their points) beside circles of ``radius_m`` (default :func:`symbol_radii`), the
    highest ``priority`` first; for orientation when no basemap loads.

    In Urdu the names are the Urdu table's (:func:`simulator.app.text.district_name`), joined
    and put in visual order for deck.gl's TextLayer, which draws code points one by one
    (:func:`simulator.publish.urdu.shape_for_canvas`), in the served Noto Naskh Arabic."""
    import pydeck as pdk

    from simulator.app import style
    from simulator.app.text import RTL, district_name
    from simulator.publish.urdu import shape_for_canvas

    if len(districts) and lang != "en" and "district_id" in districts:
        names = [district_name(lang, i, n) for i, n in zip(districts.district_id, districts.district, strict=True)]
        districts = districts.assign(district=[shape_for_canvas(n) if lang in RTL else n for n in names])
    family = (f"'{style.URDU_FONT}', Helvetica, Arial, sans-serif" if lang in RTL
              else "Helvetica, Arial, sans-serif")

    rows = []
    if len(districts):
        if zoom is None:
            zoom = points_zoom(districts.lon, districts.lat)
        if radius_m is None:
            radius_m = symbol_radii(districts) if "affected_people" in districts else 0.0
        order = districts[priority] if priority in districts else [0] * len(districts)
        placed = place_labels(districts.lon, districts.lat, list(districts.district), list(order), zoom=zoom,
                              radius_m=radius_m, max_labels=max_labels)
        for name, p in zip(districts.district, placed.itertuples(), strict=True):
            if p.keep:
                rows.append({"lon": p.lon, "lat": p.lat, "name": str(name), "anchor": p.anchor,
                             "baseline": p.baseline, "offset": [p.dx, p.dy]})
    return pdk.Layer(
        "TextLayer", data=rows, id="district-names", get_position="[lon, lat]", get_text="name",
        get_size=LABEL_FONT_PX, get_color=[40, 40, 40, 230], get_pixel_offset="offset",
        get_text_anchor="anchor", get_alignment_baseline="baseline",
        font_family=pdk.types.String(family), font_weight=600,
        outline_width=3, outline_color=[255, 255, 255, 230], font_settings={"sdf": True},
        character_set=pdk.types.String("auto"),  # every glyph the names use (Urdu too), not ASCII only
        pickable=False,
    )


#: Districts shaded by affected households (ColorBrewer BuPu), apart from hazards and hexagons.
DISTRICT_PALETTE = np.array([[237, 248, 251], [191, 211, 230], [158, 188, 218], [140, 150, 198],
                             [136, 86, 167]])


def choropleth_layer(shapes, districts: pd.DataFrame, lang: str):
    """District polygons filled by affected households (square-root scale); hidden cells grey."""
    import pydeck as pdk

    joined = shapes[["district_id", "name", "geometry"]].merge(
        districts.drop(columns=["lon", "lat"]), on="district_id", how="left")
    records = joined.drop(columns="geometry").to_dict(orient="records")
    for rec in records:
        if not isinstance(rec.get("district"), str):
            rec["district"], rec["province"] = rec["name"], ""
        for k in TIP_FIGURES:
            v = rec.get(k)
            rec[k] = 0 if (isinstance(v, float) and math.isnan(v)) else v
    counts = np.array([r["affected_households"] or 0 for r in records], dtype=float)
    top = counts.max() if len(counts) and counts.max() > 0 else 1.0
    rgb = ramp(np.sqrt(counts / top), np.linspace(0, 1, len(DISTRICT_PALETTE)), DISTRICT_PALETTE)
    colors = np.column_stack([rgb, np.full(len(counts), 140, dtype=np.uint8)])
    colors[counts == 0] = (0, 0, 0, 0)
    for i, rec in enumerate(records):
        if rec["affected_households"] is None:
            colors[i] = (150, 150, 150, 120)
    geojson = json.loads(joined[["district_id", "geometry"]].to_json(drop_id=True))
    for feature, rec, color in zip(geojson["features"], records, colors.tolist(), strict=True):
        feature["properties"] = {"fill": color, "tip": district_tip(rec, lang)}
    return pdk.Layer(
        "GeoJsonLayer", data=geojson, id="district-choropleth", get_fill_color="properties.fill",
        get_line_color=[90, 90, 90, 200], line_width_min_pixels=0.6, stroked=True, filled=True,
        pickable=True, auto_highlight=True,
    )


def _declared_by_district(table: pd.DataFrame) -> pd.DataFrame:
    """One row per district: its district row, or (where only tehsils are declared) the most
    severe of its tehsils' rows with ``tehsils`` counting them (tehsils carry no geometry)."""
    if "tehsil_id" not in table.columns or not (table["tehsil_id"] != "").any():
        return table
    whole = table[table["tehsil_id"] == ""]
    parts = table[(table["tehsil_id"] != "") & ~table["district_id"].isin(whole["district_id"])]
    agg = {"tehsils": ("tehsil_id", "size")}
    if "severity" in table.columns:
        agg["severity"] = ("severity", "max")
    if "share_affected" in table.columns:
        agg["share_affected"] = ("share_affected", "max")
    return pd.concat([whole, parts.groupby("district_id", as_index=False).agg(**agg)], ignore_index=True)


def declared_layer(table: pd.DataFrame, districts: pd.DataFrame, lang: str, shapes=None):
    """Admin-declared districts (severity and/or share affected), as polygons or circles."""
    import pydeck as pdk

    table = _declared_by_district(table)
    merged = districts.merge(table, on="district_id", how="inner", suffixes=("", "_declared"))
    rows = []
    for rec in merged.to_dict(orient="records"):
        sev = int(rec["severity"]) if "severity" in rec and rec["severity"] is not None else None
        share = rec.get("share_affected")
        share = None if share is None or (isinstance(share, float) and math.isnan(share)) else float(share)
        if sev is None:
            sev = 1 if (share or 0) > 0 else 0
        extra = text(lang, "declared_tip", tier=text(lang, ["tier_none", "tier_affected", "tier_severe", "tier_displaced"][sev]))
        if share is not None:
            extra += "\n" + text(lang, "declared_share", pct=f"{share:.0%}")
        if rec.get("tehsils"):
            extra += "\n" + text(lang, "declared_tehsils", n=int(rec["tehsils"]))
        rgb = DECLARED_RGB.get(sev, (200, 200, 200))
        alpha = 170 if share is None else int(60 + 170 * min(max(share, 0.0), 1.0))
        rows.append({"district_id": rec["district_id"], "lon": round(float(rec["lon"]), 4),
                     "lat": round(float(rec["lat"]), 4), "fill": [*rgb, alpha],
                     "tip": district_tip(rec, lang, extra)})
    if shapes is not None:
        by_id = {r["district_id"]: r for r in rows}
        sub = shapes[shapes.district_id.isin(by_id)]
        geojson = json.loads(sub[["district_id", "geometry"]].to_json(drop_id=True))
        for feature in geojson["features"]:
            r = by_id[feature["properties"]["district_id"]]
            feature["properties"] = {"fill": r["fill"], "tip": r["tip"]}
        return pdk.Layer("GeoJsonLayer", data=geojson, id="declared-districts",
                         get_fill_color="properties.fill", get_line_color=[120, 0, 0, 220],
                         line_width_min_pixels=1.2, stroked=True, filled=True, pickable=True,
                         auto_highlight=True)
    return pdk.Layer("ScatterplotLayer", data=rows, id="declared-districts", get_position="[lon, lat]",
                     get_radius=18_000, radius_min_pixels=6, get_fill_color="fill",
                     get_line_color=[120, 0, 0, 220], stroked=True, filled=True,
                     line_width_min_pixels=1.5, pickable=True, auto_highlight=True)


def compact_deck(**kwargs):
    """A ``pydeck.Deck`` whose JSON has no indentation: a third of pydeck's own size on the wire
    (the map is sent again after every policy change)."""
    import pydeck as pdk
    from pydeck.bindings.json_tools import default_serialize

    class CompactDeck(pdk.Deck):
        def to_json(self) -> str:
            return json.dumps(self, sort_keys=True, default=default_serialize, separators=(",", ":"))

    return CompactDeck(**kwargs)


def view_for(bounds: tuple[float, float, float, float], width_px: int = 900, height_px: int = 560):
    """A web-Mercator view that fits ``bounds`` into a map of the given size.

    deck.gl's world is 512 pixels wide at zoom 0.
    """
    import pydeck as pdk

    left, bottom, right, top = bounds
    lon, lat = (left + right) / 2, (bottom + top) / 2
    span_x = max(right - left, 0.05)
    span_y = max(top - bottom, 0.05) / math.cos(math.radians(lat))
    zoom = min(math.log2(360 * width_px / (512 * span_x)), math.log2(360 * height_px / (512 * span_y)))
    return pdk.ViewState(longitude=round(lon, 4), latitude=round(lat, 4), zoom=round(zoom - 0.15, 2), pitch=0)


def union_bounds(*boxes: tuple[float, float, float, float] | None) -> tuple[float, float, float, float] | None:
    """The smallest box holding every given box (None ignored), or None."""
    real = [b for b in boxes if b is not None]
    if not real:
        return None
    arr = np.array(real, dtype=float)
    return float(arr[:, 0].min()), float(arr[:, 1].min()), float(arr[:, 2].max()), float(arr[:, 3].max())


#: The map opens on the provinces that together hold this share of the affected households
#: (the most affected first): a province with a handful at its edge does not pull the view to
#: its far corner.
AFFECTED_PROVINCE_SHARE = 0.95


def affected_bounds(districts: pd.DataFrame, *, share: float = AFFECTED_PROVINCE_SHARE,
                    pad: float = 0.1) -> tuple[float, float, float, float] | None:
    """The box [degrees] of the provinces with affected households (``districts``:
    :func:`district_figures`), the most affected first until they hold ``share`` of them, with
    every affected district's point inside, padded by ``pad``; None when nobody is affected.

    A hidden figure (None) counts as affected but adds no households; the shipped province
    outlines give the boxes (the districts' points padded by half a degree without them).
    """
    hit = districts[[(v is None) or v > 0 for v in districts["affected_households"]]]
    if not len(hit):
        return None
    weight = hit.assign(n=[0 if v is None else int(v) for v in hit["affected_households"]])
    by_province = weight.groupby("province_code", sort=True)["n"].sum().sort_values(ascending=False, kind="stable")
    total = by_province.sum()
    if total > 0:
        upto = np.searchsorted(by_province.cumsum().to_numpy(), share * total) + 1
        chosen = list(by_province.index[:upto])
    else:
        chosen = list(by_province.index)
    from hazards import tables as data
    from hazards.errors import DataFileError

    boxes = []
    try:
        outlines = data.outlines("provinces").set_index("province_code")
        boxes = [tuple(outlines.loc[c].geometry.bounds) for c in chosen if c in outlines.index]
    except (DataFileError, ImportError, OSError) as exc:  # the districts' points still frame the view
        log.warning("province outlines not read (%s); the map's view fits the districts", exc)
    inside = hit[hit["province_code"].isin(chosen)]
    pts = inside if len(inside) else hit
    points = (float(pts.lon.min()) - 0.5, float(pts.lat.min()) - 0.5,
              float(pts.lon.max()) + 0.5, float(pts.lat.max()) + 0.5)
    box = union_bounds(*boxes) if boxes else points
    x0, y0, x1, y1 = box
    return x0 - pad, y0 - pad, x1 + pad, y1 + pad


# ---------------------------------------------------------------------------------------------
# The legend: what each symbol counts (HTML, in the page's language)
# ---------------------------------------------------------------------------------------------


def _swatch(svg: str) -> str:
    return (f'<svg width="22" height="18" viewBox="0 0 22 18" style="vertical-align:middle;'
            f'margin-inline-end:6px;flex:none">{svg}</svg>')


def _rgba(rgb, alpha: float = 1.0) -> str:
    r, g, b = (int(c) for c in list(rgb)[:3])
    return f"rgba({r},{g},{b},{alpha:.2f})"


def map_legend_html(lang: str, *, palette: np.ndarray | None = None, hexagons: bool = True,
                    solid: bool = False, circles: bool = True, choropleth: bool = False,
                    labels: bool = True, min_cell: int | None = None) -> str:
    """What each symbol on the map counts, one line each with its swatch: hexagons (affected
    households in a cell :data:`HEX_WIDTH_KM` across, with their colour ramp), district circles
    (affected people), district shading (affected households), names, lines. The hazard's own
    ramp with its units is :func:`simulator.app.style.legend_html`."""
    from simulator.app.text import RTL

    palette = COUNT_PALETTES["warm"] if palette is None else palette
    items = []
    if hexagons:
        mid = palette[len(palette) // 2]
        hexagon = ('<polygon points="11,1 19,5 19,13 11,17 3,13 3,5" '
                   f'fill="{_rgba(mid, (HEX_SOLID_ALPHA if solid else HEX_SHEER_ALPHA) / 255)}" '
                   f'stroke="{_rgba(palette[-1], 0 if solid else 0.8)}" stroke-width="1.2"/>')
        grad = ", ".join(_rgba(c) for c in palette)
        line = text(lang, "lg_hexagon", km=f"{HEX_WIDTH_KM:g}")
        if min_cell:
            line += " " + text(lang, "map_note_minister", k=min_cell)
        items.append(
            f"{_swatch(hexagon)}<span>{line}"
            f'<span dir="ltr" style="display:flex;align-items:center;gap:6px;max-width:320px">'
            f'<span>{text(lang, "legend_few")}</span><span style="flex:1;height:8px;border-radius:3px;'
            f'background:linear-gradient(to right, {grad})"></span><span>{text(lang, "legend_many")}</span>'
            f"</span></span>")
    if circles:
        circle = '<circle cx="11" cy="9" r="7" fill="rgba(120,40,140,0.11)" stroke="rgb(90,20,110)" stroke-width="1.5"/>'
        items.append(f"{_swatch(circle)}<span>{text(lang, 'lg_circle')}</span>")
    if choropleth:
        square = f'<rect x="3" y="2" width="16" height="14" fill="{_rgba(DISTRICT_PALETTE[3], 0.55)}" stroke="#5a5a5a"/>'
        items.append(f"{_swatch(square)}<span>{text(lang, 'lg_choropleth')}</span>")
    if labels:
        name = ('<text x="11" y="13" font-size="11" font-weight="600" text-anchor="middle" fill="#282828" '
                'stroke="white" stroke-width="0.6">Aa</text>')
        items.append(f"{_swatch(name)}<span>{text(lang, 'lg_names')}</span>")
    lines = (f'<line x1="1" y1="5" x2="21" y2="5" stroke="{_rgba(PROVINCE_LINE)}" stroke-width="1.6"/>'
             f'<line x1="1" y1="10" x2="21" y2="10" stroke="{_rgba(DISTRICT_LINE)}" stroke-width="0.8"/>'
             '<line x1="1" y1="15" x2="21" y2="15" stroke="rgb(40,90,160)" stroke-width="1.5"/>')
    items.append(f"{_swatch(lines)}<span>{text(lang, 'lg_lines')}</span>")
    rows = "".join(f'<div style="display:flex;align-items:flex-start;margin:0.2rem 0">{item}</div>'
                   for item in items)
    direction = "rtl" if lang in RTL else "ltr"
    return (f'<div dir="{direction}" style="font-size:0.8rem"><div style="font-weight:600">'
            f'{text(lang, "lg_title")}</div>{rows}</div>')



# ---------------------------------------------------------------------------------------------
# Delivery: payment sites by status, campsites, One Window Centres and catchments
# ---------------------------------------------------------------------------------------------

#: Fill (RGB) of a site by its status in the plan's ``delivery.sites`` (Okabe-Ito, told apart
#: with colour blindness): open, closed for some days, closed for the whole response.
SITE_RGB = {"open": (0, 158, 115), "closed_for_days": (230, 159, 0), "closed": (213, 94, 0)}
#: Fill (RGB) of a campsite the plan opens, drawn larger than the sites.
CAMPSITE_RGB = (0, 114, 178)
#: Outline (RGBA) of a One Window Centre, and of the other sites.
ONE_WINDOW_LINE, SITE_LINE = [20, 20, 20, 255], [255, 255, 255, 200]
#: Radii [m] of sites offering payment, of other sites (registration or complaints only) and of
#: campsites; each never smaller than a few pixels.
SITE_RADIUS_M, OTHER_SITE_RADIUS_M, CAMPSITE_RADIUS_M = 2_500, 1_500, 6_000
#: Catchment lines (RGBA) and width [pixels].
CATCHMENT_LINE, CATCHMENT_WIDTH_PX = [0, 90, 150, 150], 0.8
#: Layer ids of the delivery map.
DELIVERY_IDS = ("delivery-catchments", "delivery-sites", "delivery-campsites")


def chosen_campsite(row: Mapping[str, Any]) -> bool:
    """The site is a campsite the plan opens (``campsite_chosen``, of kind ``campsite``; a
    campsite already in the sites table is a site like the others)."""
    return bool(row.get("campsite_chosen")) and str(row.get("kind") or "campsite") == "campsite"


def _pays(row: Mapping[str, Any]) -> bool:
    """The site offers payment and has a payment capacity."""
    return "payment" in str(row.get("services") or "").split(";") and (row.get("payments_per_day") or 0) > 0


def site_tip(row: Mapping[str, Any], lang: str, days: int | None = None) -> str:
    """Tooltip of one delivery site: name, kind, status (with its reopening day), households
    paid there and days it pays (each only when the plan gives it: a minister's plan has no
    site loads)."""
    kind = str(row.get("kind") or "")
    key = "sk_" + kind
    kind_text = text(lang, key) if key in _labels(lang) else kind.replace("_", " ")
    status = str(row.get("status") or "open")
    lines = [site_name(lang, row), kind_text]
    if row.get("one_window_centre"):
        lines.append(text(lang, "dv_tip_one_window"))
    if status == "closed":
        lines.append(text(lang, "dv_tip_closed"))
    elif status == "closed_for_days":
        lines.append(text(lang, "dv_tip_reopens", day=row.get("reopen_day")))
    else:
        lines.append(text(lang, "dv_tip_open"))
    if row.get("households") is not None and (row["households"] > 0 or _pays(row)):
        lines.append(text(lang, "dv_tip_households", n=fmt_count(row["households"])))
    days = row.get("days") if days is None else days
    if days:
        lines.append(text(lang, "dv_tip_days", n=fmt_count(days)))
    return "\n".join(lines)


def _labels(lang: str) -> Mapping[str, str]:
    from simulator.app.text import LABELS

    return LABELS.get(lang, LABELS["en"])


def _point(row: Mapping[str, Any]) -> tuple[float, float] | None:
    lon, lat = row.get("lon"), row.get("lat")
    if lon is None or lat is None or not (math.isfinite(float(lon)) and math.isfinite(float(lat))):
        return None
    return round(float(lon), 4), round(float(lat), 4)


def sites_layer(sites: Sequence[Mapping[str, Any]], lang: str):
    """The delivery plan's sites (campsites apart: :func:`campsite_layer`) as one point each,
    filled by status (:data:`SITE_RGB`), smaller where the site does not pay, and ringed in
    black where it is a One Window Centre."""
    import pydeck as pdk

    rows = []
    for row in sites:
        if chosen_campsite(row):
            continue
        point = _point(row)
        if point is None:
            continue
        ow = bool(row.get("one_window_centre"))
        rows.append({"lon": point[0], "lat": point[1],
                     "fill": [*SITE_RGB.get(str(row.get("status")), SITE_RGB["open"]), 220],
                     "line": ONE_WINDOW_LINE if ow else SITE_LINE, "lw": 3 if ow else 1,
                     "r": SITE_RADIUS_M if _pays(row) else OTHER_SITE_RADIUS_M,
                     "tip": site_tip(row, lang)})
    return pdk.Layer("ScatterplotLayer", data=rows, id=DELIVERY_IDS[1], get_position="[lon, lat]",
                     get_radius="r", radius_min_pixels=3, radius_max_pixels=12, get_fill_color="fill",
                     get_line_color="line", get_line_width="lw", line_width_units=pdk.types.String("pixels"),
                     stroked=True, filled=True, pickable=True, auto_highlight=True)


def campsite_layer(section: Mapping[str, Any], lang: str):
    """The campsites the plan opens, larger and in :data:`CAMPSITE_RGB`: the sites chosen as
    campsites (``campsite_chosen``), else the ``campsites`` rows; days from the campsites
    table where the site's own are withheld."""
    import pydeck as pdk

    days_of = {str(c.get("campsite_id")): c.get("days") for c in section.get("campsites") or []}
    chosen = [s for s in section.get("sites") or [] if chosen_campsite(s)]
    if not chosen:
        chosen = [{"site_id": c.get("campsite_id"), "name": c.get("campsite_id"), "kind": "campsite",
                   "lon": c.get("lon"), "lat": c.get("lat"), "status": "open",
                   "campsite_chosen": True, "days": c.get("days")} for c in section.get("campsites") or []]
    rows = []
    for row in chosen:
        point = _point(row)
        if point is None:
            continue
        days = row.get("days") if row.get("days") is not None else days_of.get(str(row.get("site_id")))
        ow = bool(row.get("one_window_centre"))
        rows.append({"lon": point[0], "lat": point[1], "line": ONE_WINDOW_LINE if ow else [255, 255, 255, 255],
                     "tip": site_tip({**row, "kind": row.get("kind") or "campsite"}, lang, days=days)})
    return pdk.Layer("ScatterplotLayer", data=rows, id=DELIVERY_IDS[2], get_position="[lon, lat]",
                     get_radius=CAMPSITE_RADIUS_M, radius_min_pixels=7, radius_max_pixels=22,
                     get_fill_color=[*CAMPSITE_RGB, 235], get_line_color="line", line_width_min_pixels=2,
                     stroked=True, filled=True, pickable=True, auto_highlight=True)


def catchment_paths(sites: Sequence[Mapping[str, Any]],
                    bbox: tuple[float, float, float, float] | None = None) -> list[list[list[float]]]:
    """Edges of the Voronoi cells of the open payment sites (those working at some time in the
    response, campsites included), clipped to ``bbox`` (Pakistan's by default), as paths of
    [lon, lat] rounded to 3 decimals (~110 m). Each cell is the area nearer its site than any
    other, in straight lines on the local plane in km (:func:`shapely.voronoi_polygons`): the
    catchment of the nearest-site rule, not a road network. Fewer than two sites: no edge.
    Computed once for the same sites and box (do not modify the result)."""
    if bbox is None:
        from hazards import tables as data

        bbox = data.PAKISTAN_BBOX
    points = {p for p in (_point(s) for s in sites if s.get("status") != "closed" and _pays(s)) if p is not None}
    return _voronoi_edges(tuple(sorted(points)), tuple(float(b) for b in bbox))


@functools.lru_cache(maxsize=16)
def _voronoi_edges(points: tuple[tuple[float, float], ...],
                   bbox: tuple[float, float, float, float]) -> list[list[list[float]]]:
    import shapely

    if len(points) < 2:
        return []
    kx, ky = hex_scale()  # in km of the local plane, so that a cell is nearest by distance
    scale = np.array([kx, ky])
    xy = np.array(points, dtype=float) * scale
    box = shapely.box(*(np.array(bbox).reshape(2, 2) * scale).ravel())
    edges = shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=box, only_edges=True)
    clipped = shapely.line_merge(shapely.intersection(edges, box))
    out = []
    for part in shapely.get_parts(clipped):
        if part.geom_type != "LineString":
            continue
        line = (shapely.get_coordinates(part) / scale).round(3)
        keep = np.r_[True, (np.diff(line, axis=0) != 0).any(axis=1)]
        if keep.sum() >= 2:
            out.append(line[keep].tolist())
    return out


def catchment_layer(paths: list[list[list[float]]]):
    """Catchments (:func:`catchment_paths`) as thin lines."""
    import pydeck as pdk

    return pdk.Layer("PathLayer", data=[{"path": p} for p in paths], id=DELIVERY_IDS[0], get_path="path",
                     get_color=CATCHMENT_LINE, get_width=CATCHMENT_WIDTH_PX,
                     width_units=pdk.types.String("pixels"), pickable=False)


def delivery_bounds(section: Mapping[str, Any], districts: pd.DataFrame | None = None,
                    pad: float = 0.7) -> tuple[float, float, float, float] | None:
    """The box of what the delivery map is about: closed sites, campsites, sites paying anyone
    and the districts with paid households (``districts``: :func:`district_figures`), padded
    by ``pad`` degrees; None when there is nothing."""
    pts = [_point(s) for s in section.get("sites") or []
           if s.get("status") != "open" or chosen_campsite(s) or (s.get("households") or 0) > 0]
    pts += [_point(c) for c in section.get("campsites") or []]
    if districts is not None and len(districts):
        paid = districts[[(v is None) or v > 0 for v in districts["paid_households"]]]
        pts += list(zip(paid.lon.astype(float), paid.lat.astype(float), strict=True))
    pts = [p for p in pts if p is not None]
    if not pts:
        return None
    arr = np.array(pts, dtype=float)
    return (float(arr[:, 0].min() - pad), float(arr[:, 1].min() - pad), float(arr[:, 0].max() + pad),
            float(arr[:, 1].max() + pad))
