"""Madad's Streamlit app (walking skeleton): the demo scenario's plan on one page.

Run it with ``make run`` or ``streamlit run app.py``. The page opens on
``scenarios/indus-flood-demo.yaml`` with no click: headline figures, a map of the modelled
flood, affected households and districts, plan tables, assumptions and downloads. The
sidebar's policy controls rerun the plan; only the engine and the plan are recomputed, the
hazard layer and the registry are cached.

Environment variables
---------------------
``MADAD_DEMO_HOUSEHOLDS``
    Households in the synthetic demo registry (default: the scenario's
    ``registry.synthetic_households``, 200,000 for the demo). The tests set it to 20,000 to
    run faster. Ignored when a scenario names a registry file.
``MADAD_BOUNDARIES``
    A district boundary file (GeoPackage, GeoJSON, shapefile...). When set, districts are
    drawn as a choropleth of affected households instead of proportional symbols.
    ``MADAD_BOUNDARIES_LAYER``, ``MADAD_BOUNDARIES_CODE_COLUMN`` (default ``district_id``) and
    ``MADAD_BOUNDARIES_NAME_COLUMN`` choose the layer, the column holding the 2023 census
    district codes and a column of names. If the file cannot be used the page says why and
    falls back to symbols.

What reaches the browser is aggregated on the server: the flood raster as one PNG, one
polygon per non-empty hexagon (about 5 km across) and one feature per district. Per-household
points never leave the server.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pydeck as pdk
import streamlit as st
import xarray as xr
from PIL import Image

from hazards.layer import bounds_of
from simulator import data, export, plan, runner
from simulator import scenario as scenario_mod
from simulator.errors import MadadError
from simulator.scenario import Scenario

log = logging.getLogger("madad.app")

APP_DIR = Path(__file__).resolve().parent
DEMO_SCENARIO = APP_DIR / "scenarios" / "indus-flood-demo.yaml"

#: Flood-depth colour ramp (m -> RGB), light to dark blue (ColorBrewer Blues).
DEPTH_STOPS = np.array([0.0, 0.5, 1.0, 2.0, 3.0])
DEPTH_RGB = np.array(
    [[198, 219, 239], [107, 174, 214], [49, 130, 189], [8, 81, 156], [8, 48, 107]], dtype=float
)
#: Opacity of flooded pixels at or above the threshold, and of wet pixels below it.
ALPHA_AFFECTING, ALPHA_BELOW = 210, 70
#: Largest side of the flood PNG sent to the browser [pixels].
MAX_IMAGE_SIDE = 1000
#: Hexagon width, flat side to flat side [km], and the latitude where the grid is true to scale.
HEX_WIDTH_KM = 5.0
HEX_LAT0 = 30.0
KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON_EQUATOR = 111.320
#: Count colour ramp for hexagons and the choropleth (ColorBrewer YlOrRd, few -> many).
COUNT_RGB = np.array(
    [[255, 237, 160], [254, 178, 76], [253, 141, 60], [240, 59, 32], [189, 0, 38]], dtype=float
)
#: Radius of the largest district symbol [m].
MAX_SYMBOL_RADIUS_M = 40_000.0
MAP_HEIGHT_PX = 620

#: Table headers of the plan's figures (money cells read "PKR 1,234").
COUNT_COLUMNS = {
    "households": "Households",
    "affected_households": "Affected households",
    "affected_people": "Affected people",
    "eligible_households": "Eligible",
    "paid_households": "Paid",
}
MONEY_COLUMNS = {
    "amount_pkr": "Amount",
    "federal_pkr": "Federal",
    "provincial_pkr": "Provincial",
}
COLUMN_HELP = {
    "Households": "Households in the registry",
    "Eligible": "Affected households at or below the PMT cut-off",
    "Paid": "Households paid the transfer",
    "Amount": "Total transfers, PKR",
    "Federal": "Paid by the federal government, PKR",
    "Provincial": "Paid by the province, PKR",
}


# ---------------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------------


def fmt_count(value: int) -> str:
    """A count with thousands separators: ``33,827``."""
    return f"{int(value):,}"


def fmt_pkr(value: int) -> str:
    """Rupees with thousands separators: ``PKR 58,700,000``."""
    return f"PKR {int(value):,}"


def fmt_pkr_short(value: int) -> str:
    """Rupees in words for a tooltip: ``PKR 58.7 million``, ``PKR 1.25 billion``."""
    value = int(value)
    if abs(value) >= 1_000_000_000:
        return f"PKR {value / 1e9:,.2f} billion"
    if abs(value) >= 1_000_000:
        return f"PKR {value / 1e6:,.1f} million"
    return fmt_pkr(value)


def fmt_delta(value: int, money: bool) -> str | None:
    """A signed difference for st.metric, or None when there is none."""
    if value == 0:
        return None
    sign = "+" if value > 0 else "-"
    return f"{sign}{'PKR ' if money else ''}{abs(int(value)):,}"


# ---------------------------------------------------------------------------------------------
# Scenario and policy
# ---------------------------------------------------------------------------------------------


def demo_households() -> int | None:
    """``MADAD_DEMO_HOUSEHOLDS`` as an int, or None to use the scenario's own number."""
    raw = os.environ.get("MADAD_DEMO_HOUSEHOLDS", "").strip().replace(",", "").replace("_", "")
    if not raw:
        return None
    if not raw.isdigit():
        raise ValueError(
            f"MADAD_DEMO_HOUSEHOLDS={raw!r} is not a whole number; unset it or use e.g. 20000."
        )
    return int(raw)


def with_policy(
    scn: Scenario, *, transfer_pkr: int, pmt_max: float, threshold: float, federal_share: float
) -> Scenario:
    """The scenario with new policy values; a what-if note joins its assumptions when changed."""
    now = scenario_mod.headline_policy(scn)
    changes = []
    for label, old, new in (
        ("transfer", f"PKR {now['transfer_pkr']:,}", f"PKR {transfer_pkr:,}"),
        ("PMT cut-off", f"{now['pmt_max']:g}", f"{pmt_max:g}"),
        ("flood-depth threshold", f"{now['threshold']:g} m", f"{threshold:g} m"),
        ("federal share", f"{now['federal_share']:.0%}", f"{federal_share:.0%}"),
    ):
        if old != new:
            changes.append(f"{label} {new} (scenario file: {old})")
    if not changes:
        return scn
    return scenario_mod.with_what_if(
        scn,
        transfer_pkr=transfer_pkr,
        pmt_max=pmt_max,
        threshold=threshold,
        federal_share=federal_share,
        note="What-if: policy changed in the Madad app: " + "; ".join(changes) + ".",
    )


def policy_sidebar(scn: Scenario) -> Scenario:
    """Sidebar controls for the policy; returns the scenario they describe."""
    sb = st.sidebar
    now = scenario_mod.headline_policy(scn)
    sb.header("Policy")
    sb.caption("Start from the scenario file's values; every change reruns the plan.")
    transfer = sb.number_input(
        "Transfer per family (PKR)", min_value=0, max_value=1_000_000, step=1_000,
        value=int(now["transfer_pkr"]), key="transfer_pkr",
        help="One-off cash transfer to each eligible affected family.",
    )
    pmt_max = sb.slider(
        "PMT cut-off (eligible at or below)", min_value=0, max_value=100,
        value=int(round(now["pmt_max"])), step=1, key="pmt_max",
        help="Proxy means test score; BISP Kafaalat uses 32.",
    )
    threshold = sb.slider(
        "Flood-depth threshold (m)", min_value=0.0, max_value=3.0,
        value=float(now["threshold"]), step=0.1, key="threshold_m",
        help="A household is affected when the modelled depth at its location reaches this.",
    )
    federal_pct = sb.slider(
        "Federal share (%)", min_value=0, max_value=100,
        value=int(round(now["federal_share"] * 100)), step=1, key="federal_share_pct",
        help="Share of every household's amount paid by the federal government; "
        "the province pays the rest.",
    )
    return with_policy(
        scn,
        transfer_pkr=int(transfer),
        pmt_max=float(pmt_max),
        threshold=round(float(threshold), 2),
        federal_share=round(federal_pct / 100, 4),
    )


# ---------------------------------------------------------------------------------------------
# Cached pipeline: hazard and registry depend only on their own parts of the scenario
# ---------------------------------------------------------------------------------------------


def hazard_key(scn: Scenario) -> str:
    """What the hazard layers depend on: their specs without thresholds and tiers, and the seed."""
    specs = [h.model_dump_json(exclude={"threshold", "tiers"}) for h in scn.hazards]
    return "|".join(specs) + f"|seed={scn.seed}"


def registry_key(scn: Scenario, households: int | None) -> str:
    """What the registry depends on: its spec, the seed and the household override."""
    return scn.registry.model_dump_json() + f"|seed={scn.seed}|n={households}"


@st.cache_resource(show_spinner="Building the flood footprint...", max_entries=4)
def cached_hazard(key: str, base: str, _scn: Scenario) -> xr.DataArray:
    """The scenario's first hazard layer (``key`` is :func:`hazard_key`)."""
    layers, _ = runner.build_hazards(_scn, base=Path(base))
    return layers[0]


@st.cache_resource(show_spinner="Loading the household registry...", max_entries=4)
def cached_registry(key: str, base: str, households: int | None, _scn: Scenario):
    """The validated registry (``key`` is :func:`registry_key`)."""
    reg, _ = runner.load_registry(_scn, base=Path(base), households=households)
    return reg


@st.cache_data(show_spinner=False, max_entries=64)
def cached_plan(key: str, base: str, households: int | None, _scn: Scenario):
    """The plan and the affected households binned to hexagons, for one full scenario.

    ``key`` is the scenario's JSON; only :func:`runner.compute` and :func:`plan.build` run
    when the hazard and registry are already cached.
    """
    layer = cached_hazard(hazard_key(_scn), base, _scn)
    reg = cached_registry(registry_key(_scn, households), base, households, _scn)
    result, cols = runner.compute(_scn, reg.households, [layer])
    the_plan = plan.build(
        result,
        cols["district"].astype(np.int64),
        scn=_scn,
        registry_report=reg.report.to_dict(),
        assumptions=runner.assumptions(_scn, [layer], households=reg.households),
        tehsil=reg.households["tehsil_id"],
    )
    hit = result.tier > 0
    hexes = hex_bins(
        reg.households["lon"].to_numpy()[hit],
        reg.households["lat"].to_numpy()[hit],
        weights=result.weight[hit],
    )
    return the_plan, hexes


def plan_file(the_plan: dict, name: str) -> bytes:
    """``plan.json`` or ``plan.xlsx`` as bytes, written by :mod:`simulator.export`."""
    writers = {"plan.json": export.write_json, "plan.xlsx": export.write_xlsx}
    with tempfile.TemporaryDirectory(prefix="madad-app-") as tmp:
        return writers[name](the_plan, Path(tmp) / name).read_bytes()


# ---------------------------------------------------------------------------------------------
# Map layers (pure functions; numpy-vectorized)
# ---------------------------------------------------------------------------------------------


def _ramp(values: np.ndarray, stops: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """Piecewise-linear colours of ``values`` between ``stops`` -> (n, 3) uint8."""
    return np.stack([np.interp(values, stops, rgb[:, k]) for k in range(3)], axis=-1).round().astype(np.uint8)


def depth_rgba(depth: np.ndarray, threshold: float) -> np.ndarray:
    """RGBA pixels of a depth grid: blue ramp by depth, transparent where dry or NaN,
    faint where wet but below ``threshold``."""
    depth = np.asarray(depth, dtype=np.float32)
    wet = np.isfinite(depth) & (depth > 0)
    rgb = _ramp(np.where(wet, depth, 0.0), DEPTH_STOPS, DEPTH_RGB)
    alpha = np.where(wet, np.where(depth >= threshold, ALPHA_AFFECTING, ALPHA_BELOW), 0)
    return np.dstack([rgb, alpha.astype(np.uint8)])


def depth_png(layer: xr.DataArray, threshold: float, max_side: int = MAX_IMAGE_SIDE) -> str:
    """The layer rendered as a PNG ``data:`` URL, strided down to ``max_side`` pixels a side."""
    values = layer.values
    step = max(1, math.ceil(max(values.shape) / max_side))
    rgba = depth_rgba(values[::step, ::step], threshold)
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def wet_bounds(layer: xr.DataArray) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) of the wet pixels' centres; the layer's bounds if all dry."""
    wet = np.isfinite(layer.values) & (layer.values > 0)
    if not wet.any():
        return bounds_of(layer)
    xs = layer["x"].values[wet.any(axis=0)]
    ys = layer["y"].values[wet.any(axis=1)]
    return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())


def view_for(bounds: tuple[float, float, float, float], width_px: int = 800,
             height_px: int = MAP_HEIGHT_PX) -> pdk.ViewState:
    """A web-Mercator view that fits ``bounds`` into a map of the given size.

    deck.gl's world is 512 pixels wide at zoom 0.
    """
    left, bottom, right, top = bounds
    lon, lat = (left + right) / 2, (bottom + top) / 2
    span_x = max(right - left, 0.05)
    span_y = max(top - bottom, 0.05) / math.cos(math.radians(lat))
    zoom = min(math.log2(360 * width_px / (512 * span_x)), math.log2(360 * height_px / (512 * span_y)))
    return pdk.ViewState(longitude=lon, latitude=lat, zoom=round(zoom - 0.2, 2), pitch=0)


def _hex_scale(lat0: float = HEX_LAT0) -> tuple[float, float]:
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


def hex_bins(
    lon: np.ndarray, lat: np.ndarray, width_km: float = HEX_WIDTH_KM, weights: np.ndarray | None = None
) -> pd.DataFrame:
    """Points counted in a pointy-top hexagonal grid ``width_km`` across (flat to flat).

    Returns one row per non-empty hexagon: axial ``q``, ``r``, the centre ``lon``/``lat``
    and ``count`` (the sum of ``weights``: households each registry row stands for, default 1).
    Lon/lat are mapped to a plane true to scale at :data:`HEX_LAT0`.
    """
    kx, ky = _hex_scale()
    size = width_km / math.sqrt(3)  # centre to corner [km]
    x, y = np.asarray(lon, float) * kx, np.asarray(lat, float) * ky
    q, r = cube_round((math.sqrt(3) / 3 * x - y / 3) / size, (2 / 3 * y) / size)
    cells, inverse = np.unique(np.stack([q, r], axis=1), axis=0, return_inverse=True)
    w = np.ones(len(q), np.int64) if weights is None else np.asarray(weights, np.int64)
    counts = np.bincount(inverse.ravel(), weights=w, minlength=len(cells)).round().astype(np.int64)
    q, r = cells[:, 0].astype(float), cells[:, 1].astype(float)
    cx = size * math.sqrt(3) * (q + r / 2)
    cy = size * 1.5 * r
    return pd.DataFrame(
        {"q": cells[:, 0], "r": cells[:, 1], "lon": cx / kx, "lat": cy / ky,
         "count": counts.astype(np.int64)}
    )


def hex_polygons(hexes: pd.DataFrame, width_km: float = HEX_WIDTH_KM) -> np.ndarray:
    """Corner lon/lat of each hexagon -> array (n, 6, 2), rounded to 4 decimals (~11 m)."""
    kx, ky = _hex_scale()
    size = width_km / math.sqrt(3)
    angles = np.radians(60 * np.arange(6) - 30)  # pointy-top corners
    lon = hexes["lon"].to_numpy()[:, None] + size * np.cos(angles)[None, :] / kx
    lat = hexes["lat"].to_numpy()[:, None] + size * np.sin(angles)[None, :] / ky
    return np.stack([lon, lat], axis=-1).round(4)


def count_colors(counts: np.ndarray, alpha: int = 200) -> np.ndarray:
    """YlOrRd colours of counts on a log scale -> (n, 4) uint8."""
    counts = np.asarray(counts, dtype=float)
    top = np.log1p(counts.max()) if len(counts) and counts.max() > 0 else 1.0
    t = np.log1p(np.maximum(counts, 0)) / top
    rgb = _ramp(t, np.linspace(0, 1, len(COUNT_RGB)), COUNT_RGB)
    return np.column_stack([rgb, np.full(len(counts), alpha, dtype=np.uint8)])


def hex_layer(hexes: pd.DataFrame) -> pdk.Layer:
    """One polygon per non-empty hexagon, coloured by affected households."""
    polygons = hex_polygons(hexes).tolist()
    colors = count_colors(hexes["count"].to_numpy()).tolist()
    rows = [
        {"polygon": poly, "fill": color, "tip": f"{n:,} affected households in this ~5 km hexagon"}
        for poly, color, n in zip(polygons, colors, hexes["count"].tolist(), strict=True)
    ]
    return pdk.Layer(
        "PolygonLayer", data=rows, id="hexagons", get_polygon="polygon", get_fill_color="fill",
        stroked=False, filled=True, pickable=True, auto_highlight=True,
    )


def flood_layer(image_url: str, bounds: tuple[float, float, float, float]) -> pdk.Layer:
    """The flood depth raster as a bitmap stretched over its bounds."""
    return pdk.Layer("BitmapLayer", data=None, id="flood-depth", image=pdk.types.String(image_url),
                     bounds=list(bounds), opacity=1.0, pickable=False)


def river_layer() -> pdk.Layer:
    """River centre lines, for orientation when no basemap loads."""
    rivers = data.rivers()
    rows = [
        {"path": group[["lon", "lat"]].to_numpy().round(4).tolist(), "name": name}
        for name, group in rivers.groupby("river", sort=True)
    ]
    return pdk.Layer("PathLayer", data=rows, id="rivers", get_path="path",
                     get_color=[40, 90, 160, 200], width_min_pixels=2, pickable=False)


def district_tip(row: dict) -> str:
    """Tooltip text of one district (plain text; the map shows it with line breaks)."""
    return (
        f"{row['district']} ({row['province']})\n"
        f"Affected households: {row['affected_households']:,}\n"
        f"Affected people: {row['affected_people']:,}\n"
        f"Paid households: {row['paid_households']:,}\n"
        f"Amount: PKR {row['amount_pkr']:,}"
    )


def district_figures(the_plan: dict) -> pd.DataFrame:
    """Every census district with its plan figures (zero where unaffected) and its point."""
    table = data.districts()[["district_id", "district", "province", "province_code", "lon", "lat"]]
    figures = pd.DataFrame(the_plan["districts"], columns=["district_id", *plan.FIGURES])
    merged = table.merge(figures, on="district_id", how="left")
    merged[list(plan.FIGURES)] = merged[list(plan.FIGURES)].fillna(0).astype(np.int64)
    return merged


def symbol_layer(districts: pd.DataFrame) -> pdk.Layer:
    """Proportional circles at each affected district's point: area ~ affected people."""
    hit = districts[districts.affected_people > 0]
    top = max(int(hit.affected_people.max()), 1) if len(hit) else 1
    radius = MAX_SYMBOL_RADIUS_M * np.sqrt(hit.affected_people.to_numpy() / top)
    rows = [
        {"lon": round(float(r["lon"]), 4), "lat": round(float(r["lat"]), 4),
         "radius": round(float(rad)), "tip": district_tip(r)}
        for r, rad in zip(hit.to_dict(orient="records"), radius, strict=True)
    ]
    return pdk.Layer(
        "ScatterplotLayer", data=rows, id="districts", get_position="[lon, lat]",
        get_radius="radius", radius_min_pixels=4,  # radius in metres (the default units)
        get_fill_color=[120, 40, 140, 40], get_line_color=[90, 20, 110, 230],
        stroked=True, filled=True, line_width_min_pixels=1.5, pickable=True, auto_highlight=True,
    )


def label_layer(districts: pd.DataFrame) -> pdk.Layer:
    """Names of the affected districts, for orientation when no basemap loads."""
    hit = districts[districts.affected_households > 0]
    rows = [{"lon": round(float(x), 4), "lat": round(float(y), 4), "name": str(name)}
            for x, y, name in zip(hit.lon, hit.lat, hit.district, strict=True)]
    return pdk.Layer(
        "TextLayer", data=rows, id="district-names", get_position="[lon, lat]", get_text="name",
        get_size=13, get_color=[40, 40, 40, 230], get_pixel_offset=[0, -14],
        font_family=pdk.types.String("Helvetica, Arial, sans-serif"), font_weight=600,
        outline_width=3, outline_color=[255, 255, 255, 230], font_settings={"sdf": True},
        pickable=False,
    )


def choropleth_layer(shapes, districts: pd.DataFrame) -> pdk.Layer:
    """District polygons (a GeoDataFrame with ``district_id``) filled by affected households."""
    joined = shapes[["district_id", "name", "geometry"]].merge(
        districts.drop(columns=["lon", "lat"]), on="district_id", how="left"
    )
    joined[list(plan.FIGURES)] = joined[list(plan.FIGURES)].fillna(0).astype(np.int64)
    joined["district"] = joined["district"].fillna(joined["name"])
    joined["province"] = joined["province"].fillna("")
    counts = joined["affected_households"].to_numpy()
    colors = count_colors(counts, alpha=150)
    colors[counts == 0] = (0, 0, 0, 0)
    geojson = json.loads(joined[["district_id", "geometry"]].to_json(drop_id=True))
    records = joined.drop(columns="geometry").to_dict(orient="records")
    for feature, rec, color in zip(geojson["features"], records, colors.tolist(), strict=True):
        feature["properties"] = {"fill": color, "tip": district_tip(rec)}
    return pdk.Layer(
        "GeoJsonLayer", data=geojson, id="district-choropleth", get_fill_color="properties.fill",
        get_line_color=[90, 90, 90, 200], line_width_min_pixels=0.6, stroked=True, filled=True,
        pickable=True, auto_highlight=True,
    )


def round_coordinates(frame, decimals: int = 4):
    """Boundaries with coordinates rounded to ``decimals`` (about 11 m at 4), for the map."""
    import geopandas as gpd
    import shapely

    geoms = shapely.transform(frame.geometry.values, lambda xy: np.round(xy, decimals))
    return gpd.GeoDataFrame(
        {"district_id": frame["district_id"].astype(str).to_numpy(),
         "name": frame["name"].astype(str).to_numpy() if "name" in frame else
         frame["district_id"].astype(str).to_numpy()},
        geometry=geoms, crs=frame.crs,
    )


@st.cache_resource(show_spinner="Loading district boundaries...", max_entries=2)
def cached_boundaries(path: str, layer: str | None, code_column: str, name_column: str | None,
                      mtime: float):
    """The boundary file simplified to 0.01 degree for the map (``mtime`` refreshes the cache)."""
    from simulator import boundaries  # optional module; imported only when asked for

    frame = boundaries.load_boundaries(path, layer=layer, code_column=code_column,
                                       name_column=name_column)
    return round_coordinates(boundaries.simplify_for_map(frame, tolerance_deg=0.01))


def boundaries_from_env():
    """District boundaries named by ``MADAD_BOUNDARIES``, or None (shows st.error on failure)."""
    path = os.environ.get("MADAD_BOUNDARIES", "").strip()
    if not path:
        return None
    layer = os.environ.get("MADAD_BOUNDARIES_LAYER") or None
    code_column = os.environ.get("MADAD_BOUNDARIES_CODE_COLUMN") or "district_id"
    name_column = os.environ.get("MADAD_BOUNDARIES_NAME_COLUMN") or None
    fallback = " Districts are shown as symbols instead."
    if not Path(path).exists():
        st.error(f"MADAD_BOUNDARIES: {path}: no such file.{fallback}")
        return None
    try:
        return cached_boundaries(path, layer, code_column, name_column,
                                 Path(path).stat().st_mtime)
    except ImportError:
        st.error("MADAD_BOUNDARIES is set but this version of Madad has no boundary loader "
                 f"(simulator.boundaries).{fallback}")
    except MadadError as exc:
        st.error(f"District boundaries could not be used: {exc}{fallback}")
    except Exception as exc:  # a broken file must not take the page down
        log.exception("loading boundaries from %s failed", path)
        st.error(f"District boundaries could not be read from {path}: {exc}.{fallback}")
    return None


@st.cache_data(show_spinner=False, max_entries=16)
def cached_flood_image(key: str, threshold: float, _layer: xr.DataArray):
    """The flood PNG data URL, its bounds and the wet extent (``key`` is the hazard key)."""
    return depth_png(_layer, threshold), bounds_of(_layer), wet_bounds(_layer)


def build_deck(layer: xr.DataArray, key: str, threshold: float, hexes: pd.DataFrame,
               districts: pd.DataFrame, shapes=None) -> pdk.Deck:
    """The map: district choropleth (if boundaries), flood depth, rivers, hexagons, symbols."""
    image, bounds, extent = cached_flood_image(key, threshold, layer)
    layers = [choropleth_layer(shapes, districts)] if shapes is not None else []
    layers += [flood_layer(image, bounds), river_layer(), hex_layer(hexes)]
    unshaped = districts if shapes is None else districts[
        ~districts.district_id.isin(shapes.district_id)]
    if (unshaped.affected_people > 0).any():
        layers.append(symbol_layer(unshaped))
    layers.append(label_layer(districts))
    return pdk.Deck(
        layers=layers,
        initial_view_state=view_for(extent),
        map_style=None,  # Streamlit's token-free Carto basemap when online; layers draw offline
        tooltip={"text": "{tip}", "style": {"fontSize": "13px", "whiteSpace": "pre", "color": "white"}},
    )


# ---------------------------------------------------------------------------------------------
# Page sections
# ---------------------------------------------------------------------------------------------


HEADLINES = (
    ("Affected households", "affected_households", False),
    ("Affected people", "affected_people", False),
    ("Paid households", "paid_households", False),
    ("Total amount", "amount_pkr", True),
    ("Federal share", "federal_pkr", True),
    ("Provincial share", "provincial_pkr", True),
)


def show_metrics(totals: dict, baseline: dict | None) -> None:
    """Headline figures in two rows of three; deltas against the scenario file's policy."""
    rows = [st.columns(3), st.columns(3)]
    for i, (label, key, money) in enumerate(HEADLINES):
        value = totals[key]
        delta = fmt_delta(value - baseline[key], money) if baseline else None
        rows[i // 3][i % 3].metric(
            label, fmt_pkr(value) if money else fmt_count(value), delta=delta, delta_color="off",
            help=(fmt_pkr_short(value) if money else None), border=True,
        )


def styled_table(frame: pd.DataFrame, labels: dict[str, str]):
    """A table with readable headers, counts with separators and money as ``PKR 1,234``."""
    shown = frame[list(labels)].rename(columns=labels)
    formats = {COUNT_COLUMNS[k]: "{:,}" for k in COUNT_COLUMNS if k in labels}
    formats |= {MONEY_COLUMNS[k]: "PKR {:,}" for k in MONEY_COLUMNS}
    return shown.style.format(formats)


def column_help() -> dict:
    """Header tooltips of the plan tables."""
    return {label: st.column_config.Column(help=text) for label, text in COLUMN_HELP.items()}


def show_tables(the_plan: dict) -> None:
    """Province and (affected) district tables, and the registry's status counts."""
    figures = {**COUNT_COLUMNS, **MONEY_COLUMNS}
    st.subheader("By province")
    provinces = pd.DataFrame(the_plan["provinces"])
    st.dataframe(styled_table(provinces, {"province": "Province", **figures}), hide_index=True,
                 column_config=column_help())

    st.subheader("By district (affected districts)")
    districts = pd.DataFrame(the_plan["districts"], columns=["district", "province", *plan.FIGURES])
    districts = districts.sort_values("affected_households", ascending=False)
    if districts.empty:
        st.info("No district has affected households under this policy.")
    else:
        st.dataframe(styled_table(districts, {"district": "District", "province": "Province",
                                              **figures}), hide_index=True,
                     column_config=column_help(), height=min(35 * (len(districts) + 1) + 3, 760))
    with st.expander("Registry households by status"):
        status = pd.DataFrame(
            {"Status": [s.replace("_", " ") for s in the_plan["status_counts"]],
             "Households": list(the_plan["status_counts"].values())}
        )
        st.dataframe(status.style.format({"Households": "{:,}"}), hide_index=True)


def show_assumptions(the_plan: dict) -> None:
    """The plan's assumptions as a bullet list."""
    st.subheader("Assumptions")
    st.markdown("\n".join(f"- {a}".replace("$", r"\$") for a in the_plan["assumptions"]))


def show_downloads(the_plan: dict, name: str) -> None:
    """plan.json and plan.xlsx download buttons; the files are written only when clicked."""
    st.subheader("Downloads")
    left, right = st.columns(2)
    left.download_button(
        "Download plan.json", lambda: plan_file(the_plan, "plan.json"), file_name="plan.json",
        mime="application/json", key="download_json", on_click="ignore",
        help=f"The {name} plan as versioned JSON.",
    )
    right.download_button(
        "Download plan.xlsx", lambda: plan_file(the_plan, "plan.xlsx"), file_name="plan.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="download_xlsx", on_click="ignore",
        help="Summary, provinces, districts and assumptions sheets.",
    )


def show_map(scn: Scenario, base: str, households: int | None, hexes: pd.DataFrame,
             districts: pd.DataFrame) -> None:
    """The pydeck map and its legend."""
    st.subheader("Map")
    shapes = boundaries_from_env()
    layer = cached_hazard(hazard_key(scn), base, scn)
    threshold = scenario_mod.headline_policy(scn)["threshold"]
    deck = build_deck(layer, hazard_key(scn), threshold, hexes, districts, shapes)
    st.pydeck_chart(deck, height=MAP_HEIGHT_PX, key="map",
                    alt="Map of the modelled flood depth, affected households and districts")
    units = layer.attrs.get("units", "m")
    districts_note = (
        "districts shaded by affected households (a circle where a district has no boundary)"
        if shapes is not None
        else "purple circles: affected people per district (area proportional)"
    )
    st.caption(
        f"Blue: modelled flood depth, darker is deeper (faint: wet but below the "
        f"{threshold:g} {units} threshold). Hexagons (~{HEX_WIDTH_KM:g} km across): "
        f"affected households, yellow few to red many. {districts_note.capitalize()}. "
        "Hover for figures. Households are aggregated on the server; no household location "
        "is sent to the browser."
    )


def registry_caption(the_plan: dict) -> str:
    """One line on where the households come from."""
    report = the_plan.get("registry", {})
    return f"Registry: {report.get('source', 'unknown')}; {report.get('rows_valid', 0):,} valid households."


def main() -> None:
    """The page."""
    st.set_page_config(page_title="Madad: disaster payout simulator", page_icon=":ocean:",
                       layout="wide")
    st.title("Madad: disaster payout simulator")
    base = str(DEMO_SCENARIO.parent)
    try:
        households = demo_households()
        base_scn = scenario_mod.load(DEMO_SCENARIO)
    except (MadadError, ValueError) as exc:
        st.error(str(exc))
        return
    scn = policy_sidebar(base_scn)

    try:
        the_plan, hexes = cached_plan(scn.model_dump_json(), base, households, scn)
        baseline = None
        if scn is not base_scn:
            baseline = cached_plan(base_scn.model_dump_json(), base, households, base_scn)[0]["totals"]
    except MadadError as exc:
        log.warning("run failed: %s", exc)
        st.error(str(exc))
        return

    st.header(scn.title)
    if scn.modelled_on:
        st.caption(f"Modelled on {scn.modelled_on.removesuffix(' (not a reproduction)')} "
                   "(not a reproduction).")
    st.caption(registry_caption(the_plan))
    if baseline:
        st.info("The policy differs from the scenario file; changes are shown against it.")
    show_metrics(the_plan["totals"], baseline)
    show_map(scn, base, households, hexes, district_figures(the_plan))
    show_tables(the_plan)
    show_assumptions(the_plan)
    show_downloads(the_plan, scn.name)


if __name__ == "__main__":
    try:
        main()
    except MadadError as exc:  # anything the library raises on purpose is the user's to read
        log.warning("%s", exc)
        st.error(str(exc))
    except Exception:  # never show a traceback to users; the server log has it
        log.exception("the Madad app failed")
        st.error("Something went wrong while building the plan; the server log has the details.")
