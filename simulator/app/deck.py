"""The map's pydeck layers: households binned to hexagons (server-side: no household location
reaches the browser), districts as symbols, a choropleth or declared areas, rivers, labels,
the province and district outlines beneath them all (no tile server needed), the delivery plan's
sites by status, campsites and catchments (Voronoi edges of the open payment sites), and the view
that frames them. Nothing here imports Streamlit."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from simulator.app.style import COUNT_PALETTES
from simulator.app.text import fmt_count, fmt_pkr, text

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


def hex_layer(hexes: pd.DataFrame, lang: str, palette: np.ndarray | None = None):
    """One polygon per non-empty hexagon, coloured by affected households."""
    import pydeck as pdk

    polygons = hex_polygons(hexes).tolist()
    colors = count_colors(hexes["count"].to_numpy(), palette).tolist()
    rows = [
        {"polygon": poly, "fill": color, "tip": text(lang, "hex_tip", n=f"{n:,}", km=f"{HEX_WIDTH_KM:g}")}
        for poly, color, n in zip(polygons, colors, hexes["count"].tolist(), strict=True)
    ]
    return pdk.Layer("PolygonLayer", data=rows, id="hexagons", get_polygon="polygon",
                     get_fill_color="fill", stroked=False, filled=True, pickable=True,
                     auto_highlight=True)


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


def symbol_layer(districts: pd.DataFrame, lang: str):
    """Proportional circles at affected districts: area ~ affected people (a fixed small circle
    where the figure is hidden, so its size gives nothing away)."""
    import pydeck as pdk

    people = districts["affected_people"]
    hit = districts[[(v is None) or v > 0 for v in people]]
    known = [v for v in hit["affected_people"] if v is not None]
    top = max(max(known), 1) if known else 1
    rows = []
    for rec in hit.to_dict(orient="records"):
        v = rec["affected_people"]
        radius = 3_000.0 if v is None else MAX_SYMBOL_RADIUS_M * math.sqrt(v / top)
        rows.append({"lon": round(float(rec["lon"]), 4), "lat": round(float(rec["lat"]), 4),
                     "radius": round(radius), "tip": district_tip(rec, lang)})
    return pdk.Layer(
        "ScatterplotLayer", data=rows, id="districts", get_position="[lon, lat]",
        get_radius="radius", radius_min_pixels=4, get_fill_color=[120, 40, 140, 28],
        get_line_color=[90, 20, 110, 230], stroked=True, filled=True, line_width_min_pixels=1.5,
        pickable=True, auto_highlight=True,
    )


def label_layer(districts: pd.DataFrame):
    """Names of the given districts, for orientation when no basemap loads."""
    import pydeck as pdk

    rows = [{"lon": round(float(x), 4), "lat": round(float(y), 4), "name": str(name)}
            for x, y, name in zip(districts.lon, districts.lat, districts.district, strict=True)]
    return pdk.Layer(
        "TextLayer", data=rows, id="district-names", get_position="[lon, lat]", get_text="name",
        get_size=13, get_color=[40, 40, 40, 230], get_pixel_offset=[0, -14],
        font_family=pdk.types.String("Helvetica, Arial, sans-serif"), font_weight=600,
        outline_width=3, outline_color=[255, 255, 255, 230], font_settings={"sdf": True},
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
    lines = [str(row.get("name") or row.get("site_id")), kind_text]
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
