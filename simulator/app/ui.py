"""Pure helpers of the Streamlit app (``app.py``): settings, labels, formats, map layers, forms.

Nothing here imports Streamlit: every function takes plain values and returns plain values (or
pydeck layers), so each can be tested alone. The app's labels live in :data:`LABELS`, one
table per language with the same keys (English ``en`` and Urdu ``ur``); :func:`text` looks one
up. Settings that a deployment fixes at start-up (the role, the smallest cell a minister may
see) come from :func:`load_settings`.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# ---------------------------------------------------------------------------------------------
# Settings fixed at start-up: the role and the smallest published cell
# ---------------------------------------------------------------------------------------------

ROLES = ("minister", "planner")
DEFAULT_ROLE = "minister"
DEFAULT_MIN_CELL = 10
CONFIG_NAME = "madad.toml"


@dataclass(frozen=True)
class Settings:
    """How this deployment of the app runs.

    ``role`` is ``minister`` (aggregates only; small cells hidden) or ``planner`` (everything,
    the household payout list included); ``min_cell`` is k, the smallest household count a
    minister's view shows; ``problems`` lists configuration mistakes (the safe default is used).
    """

    role: str = DEFAULT_ROLE
    min_cell: int = DEFAULT_MIN_CELL
    source: str = "default"
    problems: tuple[str, ...] = ()

    @property
    def planner(self) -> bool:
        return self.role == "planner"


def load_settings(environ: Mapping[str, str] | None = None, app_dir: str | Path | None = None) -> Settings:
    """The role and k from the environment and the config file.

    ``MADAD_ROLE`` and ``MADAD_MIN_CELL`` win over the ``[madad]`` table of the config file
    (``MADAD_CONFIG``, else ``madad.toml`` beside the app; ``MADAD_CONFIG=`` empty reads none)::

        [madad]
        role = "planner"   # or "minister" (the default)
        min_cell = 10      # k: the smallest household count a minister sees

    A value that cannot be used is reported in ``problems`` and the safe default (minister,
    k = 10) is used instead, so a typo never opens the planner's view.
    """
    env = os.environ if environ is None else environ
    problems: list[str] = []
    table: dict[str, Any] = {}
    if "MADAD_CONFIG" in env:  # set but empty: read no file
        path = Path(env["MADAD_CONFIG"]) if env["MADAD_CONFIG"].strip() else None
    else:
        path = Path(app_dir) / CONFIG_NAME if app_dir is not None else None
    source = "default"
    if path is not None and path.is_file():
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8")).get("madad", {})
            source = str(path)
        except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: cannot be read as TOML ({exc}); using the minister's view.")
        if not isinstance(table, dict):
            problems.append(f"{path}: [madad] must be a table; using the minister's view.")
            table = {}
    elif env.get("MADAD_CONFIG"):
        problems.append(f"MADAD_CONFIG={path}: no such file; using the minister's view.")

    role = str(table.get("role", DEFAULT_ROLE))
    if env.get("MADAD_ROLE"):
        role, source = env["MADAD_ROLE"], "MADAD_ROLE"
    role = role.strip().lower()
    if role not in ROLES:
        problems.append(f"role {role!r} is not one of {list(ROLES)}; using the minister's view.")
        role = DEFAULT_ROLE

    raw_k: Any = table.get("min_cell", DEFAULT_MIN_CELL)
    if env.get("MADAD_MIN_CELL"):
        raw_k = env["MADAD_MIN_CELL"]
    try:
        k = int(str(raw_k).strip())
        if k < 1:
            raise ValueError
    except ValueError:
        problems.append(f"min_cell {raw_k!r} is not a whole number >= 1; using {DEFAULT_MIN_CELL}.")
        k = DEFAULT_MIN_CELL
    return Settings(role=role, min_cell=k, source=source, problems=tuple(problems))


# ---------------------------------------------------------------------------------------------
# Labels: one table per language, the same keys in each
# ---------------------------------------------------------------------------------------------

LANGUAGES = {"en": "English", "ur": "اردو"}
RTL = frozenset({"ur"})


def text(lang: str, key: str, **values: Any) -> str:
    """The label ``key`` in ``lang`` (``en`` or ``ur``), formatted with ``values``.

    Raises KeyError for an unknown key, so a missing translation fails the tests.
    """
    table = LABELS[lang if lang in LABELS else "en"]
    template = table[key]
    return template.format(**values) if values else template


# ---------------------------------------------------------------------------------------------
# Formats: money is int64 PKR, numbers keep Latin digits in both languages
# ---------------------------------------------------------------------------------------------

HIDDEN = "–"


def fmt_count(value: int | None) -> str:
    """A count with thousands separators: ``33,827`` (``–`` when hidden)."""
    return HIDDEN if value is None else f"{int(value):,}"


def fmt_pkr(value: int | None) -> str:
    """Rupees with thousands separators: ``PKR 58,700,000`` (``–`` when hidden)."""
    return HIDDEN if value is None else f"PKR {int(value):,}"


def _three_figures(x: float) -> str:
    """``11.6``, ``1.25``, ``828``: three significant figures, no trailing zeros."""
    if x == 0:
        return "0"
    digits = max(0, 2 - int(math.floor(math.log10(abs(x)))))
    return f"{x:,.{digits}f}".rstrip("0").rstrip(".") if digits else f"{x:,.0f}"


def fmt_pkr_short(value: int | None, lang: str = "en") -> str:
    """Rupees in words: ``PKR 11.6 billion``, ``PKR 58.7 million`` (Urdu: ``11.6 ارب روپے``)."""
    if value is None:
        return HIDDEN
    value = int(value)
    for size, key in ((1_000_000_000, "billion"), (1_000_000, "million")):
        if abs(value) >= size:
            return text(lang, f"pkr_{key}", n=_three_figures(value / size))
    return text(lang, "pkr_plain", n=f"{value:,}")


def fmt_delta(value: int, money: bool) -> str | None:
    """A signed difference for st.metric, or None when there is none."""
    if value == 0:
        return None
    sign = "+" if value > 0 else "-"
    return f"{sign}{'PKR ' if money else ''}{abs(int(value)):,}"


UNIT_TEXT = {"m": "m", "mm": "mm", "degC": "°C", "g": "g", "m/s": "m/s", "index": ""}


def fmt_value(value: float, units: str) -> str:
    """A hazard value with its units: ``0.5 m``, ``45 °C``, ``-1.5`` (an index)."""
    unit = UNIT_TEXT.get(units, units)
    return f"{value:g} {unit}".strip()


# ---------------------------------------------------------------------------------------------
# Hazard colours: a ramp per kind of intensity, transparent on the mild side
# ---------------------------------------------------------------------------------------------

PALETTES: dict[str, np.ndarray] = {
    # ColorBrewer ramps, mild -> severe.
    "blues": np.array([[198, 219, 239], [107, 174, 214], [49, 130, 189], [8, 81, 156], [8, 48, 107]]),
    "rain": np.array([[208, 209, 230], [166, 189, 219], [103, 169, 207], [28, 144, 153], [1, 70, 54]]),
    "heat": np.array([[255, 237, 160], [254, 178, 76], [253, 141, 60], [227, 26, 28], [128, 0, 38]]),
    "drought": np.array([[254, 227, 145], [254, 196, 79], [236, 112, 20], [204, 76, 2], [102, 37, 6]]),
    "quake": np.array([[253, 212, 158], [253, 187, 132], [239, 101, 72], [215, 48, 31], [127, 0, 0]]),
    "wind": np.array([[218, 218, 235], [188, 189, 220], [158, 154, 200], [117, 107, 177], [63, 0, 125]]),
}
WARM_PALETTES = frozenset({"heat", "drought", "quake"})
#: Households on the map: YlOrRd over cool hazards, blue-green over warm ones.
COUNT_PALETTES = {
    "warm": np.array([[255, 237, 160], [254, 178, 76], [253, 141, 60], [240, 59, 32], [189, 0, 38]]),
    "cool": np.array([[204, 236, 230], [153, 216, 201], [65, 174, 118], [35, 139, 69], [0, 68, 27]]),
}
#: Opacity of pixels at or past the "affected" threshold, and of milder visible pixels.
ALPHA_AFFECTING, ALPHA_BELOW = 200, 80


@dataclass(frozen=True)
class HazardStyle:
    """How one hazard layer is drawn and explained.

    ``thresholds`` are the tier thresholds in the layer's units (affected, then severely
    affected and displaced when used); ``direction`` is ``increasing`` (higher is worse) or
    ``decreasing`` (lower is worse: SPI); ``floor`` is the value on the mild side of which a
    pixel is transparent; ``what`` is the label key of the quantity (``hz_depth``...).
    """

    what: str
    units: str
    direction: str
    floor: float
    thresholds: tuple[float, ...]
    palette: str

    @property
    def sign(self) -> float:
        return -1.0 if self.direction == "decreasing" else 1.0

    def stops(self) -> tuple[np.ndarray, np.ndarray]:
        """(values along the ramp in "worse is larger" space, RGB of each) for colouring."""
        s = self.sign
        pts = [s * self.floor, *[s * t for t in self.thresholds]]
        pts = sorted(set(pts))
        if len(pts) == 2:  # one threshold: the ramp ends as far past it as the floor is before
            pts.append(pts[1] + max(pts[1] - pts[0], 1e-6))
        rgb = PALETTES[self.palette]
        pos = np.linspace(0, len(rgb) - 1, len(pts))
        colours = np.stack([np.interp(pos, np.arange(len(rgb)), rgb[:, k]) for k in range(3)], -1)
        return np.array(pts, dtype=float), colours

    @property
    def count_palette(self) -> np.ndarray:
        return COUNT_PALETTES["cool" if self.palette in WARM_PALETTES else "warm"]


def _what(kind: str | None, units: str, direction: str) -> str:
    if units == "m":
        return "hz_depth"
    if units == "mm":
        return "hz_rain"
    if units == "degC":
        return "hz_temp"
    if units == "g":
        return "hz_pga"
    if units == "m/s":
        return "hz_wind"
    if units == "index" and (kind == "drought" or direction == "decreasing"):
        return "hz_spi"
    if units == "index" and kind == "earthquake":
        return "hz_mmi"
    return "hz_intensity"


def hazard_style(kind: str | None, units: str, thresholds: Sequence[float | None],
                 direction: str = "increasing") -> HazardStyle:
    """The colour ramp, transparent floor and label of a layer from its units, kind and tiers.

    Parameters
    ----------
    kind
        Hazard kind (``riverine-flood``...), or None when unknown.
    units
        The layer's units (``m``, ``mm``, ``degC``, ``g``, ``m/s``, ``index``).
    thresholds
        Tier thresholds in those units (affected first); None or inf where a tier is unused.
    direction
        ``increasing`` or ``decreasing`` (lower is worse, as for SPI).
    """
    finite = tuple(float(t) for t in thresholds if t is not None and math.isfinite(float(t)))
    if units == "index" and kind == "drought":
        direction = "decreasing"
    what = _what(kind, units, direction)
    palette = {"hz_depth": "blues", "hz_rain": "rain", "hz_temp": "heat", "hz_pga": "quake",
               "hz_mmi": "quake", "hz_wind": "wind", "hz_spi": "drought"}.get(what, "heat")
    first = finite[0] if finite else (-1.0 if direction == "decreasing" else 1.0)
    if direction == "decreasing":
        floor = first + 0.5
    elif units == "m":
        floor = 0.0
    elif units == "degC":
        floor = first - 4.0
    elif units == "index":
        floor = max(first - 2.0, 1.0) if first > 1.0 else first / 2
    else:
        floor = first * 0.4
    if not finite:
        finite = (first,)
    return HazardStyle(what=what, units=units, direction=direction, floor=floor,
                       thresholds=finite, palette=palette)


def colorize(values: np.ndarray, style: HazardStyle) -> np.ndarray:
    """RGBA pixels [uint8] of a 2-D grid: the style's ramp, transparent on the mild side of its
    floor and where NaN, faint before the first ("affected") threshold."""
    v = style.sign * np.asarray(values, dtype=np.float32)
    stops, colours = style.stops()
    finite = np.isfinite(v)
    vv = np.where(finite, v, stops[0])
    rgb = np.stack([np.interp(vv, stops, colours[:, k]) for k in range(3)], -1).round().astype(np.uint8)
    floor, first = style.sign * style.floor, style.sign * style.thresholds[0]
    visible = finite & (vv > floor)
    alpha = np.where(visible, np.where(vv >= first, ALPHA_AFFECTING, ALPHA_BELOW), 0).astype(np.uint8)
    return np.dstack([rgb, alpha])


def legend_stops(style: HazardStyle) -> list[tuple[float, tuple[int, int, int], str]]:
    """(value in the layer's units, RGB, tier key or "") along the legend, mild to severe."""
    stops, colours = style.stops()
    tiers = ["tier_affected", "tier_severe", "tier_displaced"]
    named = {round(style.sign * t, 9): tiers[i] for i, t in enumerate(style.thresholds)}
    out = []
    for value, rgb in zip(stops, colours, strict=True):
        out.append((float(style.sign * value), tuple(int(round(c)) for c in rgb), named.get(round(value, 9), "")))
    return out


def legend_html(style: HazardStyle, lang: str, title: str) -> str:
    """A small colour bar with the tier thresholds marked, as HTML (left-to-right numbers)."""
    items = legend_stops(style)
    lo, hi = items[0][0], items[-1][0]
    span = (hi - lo) or 1.0
    grad = ", ".join(
        f"rgb{rgb} {100 * abs(v - lo) / abs(span):.0f}%" for v, rgb, _ in items
    )
    marks = "".join(
        f'<span style="position:absolute;left:{100 * abs(v - lo) / abs(span):.0f}%;'
        f'transform:translateX(-50%);white-space:nowrap">{fmt_value(round(v, 2), style.units)}'
        + (f"<br><b>{text(lang, tier)}</b>" if tier else "") + "</span>"
        for v, _, tier in items
    )
    return (
        f'<div dir="ltr" style="font-size:0.8rem;margin:0.2rem 0 2.6rem 0;max-width:520px">'
        f'<div dir="{"rtl" if lang in RTL else "ltr"}" style="font-weight:600">{title}</div>'
        f'<div style="height:12px;border-radius:3px;background:linear-gradient(to right, {grad})"></div>'
        f'<div style="position:relative;margin:0 1.5rem">{marks}</div></div>'
    )


# ---------------------------------------------------------------------------------------------
# Hazard rasters for the browser: one PNG in lon/lat bounds, rows spaced for web Mercator
# ---------------------------------------------------------------------------------------------

MAX_IMAGE_SIDE = 900


def _mercator_y(lat: np.ndarray) -> np.ndarray:
    return np.log(np.tan(np.pi / 4 + np.radians(np.clip(lat, -85, 85)) / 2))


def display_grid(layer, max_side: int = MAX_IMAGE_SIDE) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The layer's values on a lon/lat grid of at most ``max_side`` pixels a side, with its
    rows resampled (nearest) to equal steps of web-Mercator y so the PNG lies true on the map.

    For display only: the engine samples the raster in its own CRS. Returns (values, bounds
    (left, bottom, right, top) in degrees).
    """
    from pyproj import CRS

    from hazards.layer import bounds_of, crs_of, transform_of

    values = np.asarray(layer.values, dtype=np.float32)
    crs = CRS.from_user_input(crs_of(layer))
    if crs.to_epsg() != 4326:
        values, bounds = _warp_to_lonlat(values, transform_of(layer), crs, max_side)
    else:
        step = max(1, math.ceil(max(values.shape) / max_side))
        values = values[::step, ::step]
        left, bottom, right, top = bounds_of(layer)
        t = transform_of(layer)
        # Strided bounds: whole pixels of the original kept.
        right = left + t.a * step * values.shape[1]
        bottom = top + t.e * step * values.shape[0]
        bounds = (left, bottom, right, top)
    left, bottom, right, top = bounds
    rows = values.shape[0]
    if rows > 1:
        my = np.linspace(_mercator_y(np.array(top)), _mercator_y(np.array(bottom)), rows * 2 + 1)[1::2]
        lat = np.degrees(2 * np.arctan(np.exp(my)) - np.pi / 2)
        src = np.clip(((top - lat) / (top - bottom) * rows).astype(int), 0, rows - 1)
        values = values[src]
    return values, (float(left), float(bottom), float(right), float(top))


def _warp_to_lonlat(values, transform, crs, max_side):
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    rows, cols = values.shape
    left, top = transform.c, transform.f
    right, bottom = left + transform.a * cols, top + transform.e * rows
    dst_t, w, h = calculate_default_transform(crs, "EPSG:4326", cols, rows, left=left, bottom=bottom,
                                              right=right, top=top)
    scale = max(1.0, max(w, h) / max_side)
    w, h = max(1, int(w / scale)), max(1, int(h / scale))
    from affine import Affine

    dst_t = dst_t @ Affine.scale(scale)
    out = np.full((h, w), np.nan, dtype=np.float32)
    reproject(values, out, src_transform=transform, src_crs=crs, dst_transform=dst_t,
              dst_crs="EPSG:4326", resampling=Resampling.nearest, src_nodata=np.nan, dst_nodata=np.nan)
    return out, (dst_t.c, dst_t.f + dst_t.e * h, dst_t.c + dst_t.a * w, dst_t.f)


def png_data_url(rgba: np.ndarray) -> str:
    """An RGBA array as a PNG ``data:`` URL."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def visible_bounds(rgba: np.ndarray, bounds: tuple[float, float, float, float]) -> tuple[float, float, float, float] | None:
    """(left, bottom, right, top) of the coloured pixels of a display image, or None."""
    seen = rgba[..., 3] > 0
    if not seen.any():
        return None
    left, bottom, right, top = bounds
    rows, cols = seen.shape
    c = np.flatnonzero(seen.any(axis=0))
    r = np.flatnonzero(seen.any(axis=1))
    x0 = left + (right - left) * c[0] / cols
    x1 = left + (right - left) * (c[-1] + 1) / cols
    # Rows are spaced in Mercator y.
    my_top, my_bottom = _mercator_y(np.array(top)), _mercator_y(np.array(bottom))

    def lat_of(row: float) -> float:
        my = my_top + (my_bottom - my_top) * row / rows
        return float(np.degrees(2 * np.arctan(np.exp(my)) - np.pi / 2))

    return float(x0), lat_of(r[-1] + 1), float(x1), lat_of(r[0])


# ---------------------------------------------------------------------------------------------
# Households binned to hexagons (server-side: no household location reaches the browser)
# ---------------------------------------------------------------------------------------------

HEX_WIDTH_KM = 5.0
HEX_LAT0 = 30.0
KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON_EQUATOR = 111.320


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


def hex_bins(lon: np.ndarray, lat: np.ndarray, width_km: float = HEX_WIDTH_KM,
             weights: np.ndarray | None = None) -> pd.DataFrame:
    """Points counted in a pointy-top hexagonal grid ``width_km`` across (flat to flat).

    Returns one row per non-empty hexagon: axial ``q``, ``r``, the centre ``lon``/``lat`` and
    ``count`` (the sum of ``weights``: the households each registry row stands for, default 1).
    """
    kx, ky = _hex_scale()
    size = width_km / math.sqrt(3)  # centre to corner [km]
    x, y = np.asarray(lon, float) * kx, np.asarray(lat, float) * ky
    q, r = cube_round((math.sqrt(3) / 3 * x - y / 3) / size, (2 / 3 * y) / size)
    if len(q) == 0:
        return pd.DataFrame({"q": [], "r": [], "lon": [], "lat": [], "count": []}).astype(
            {"q": np.int64, "r": np.int64, "count": np.int64})
    cells, inverse = np.unique(np.stack([q, r], axis=1), axis=0, return_inverse=True)
    w = np.ones(len(q), np.int64) if weights is None else np.asarray(weights, np.int64)
    counts = np.bincount(inverse.ravel(), weights=w, minlength=len(cells)).round().astype(np.int64)
    qf, rf = cells[:, 0].astype(float), cells[:, 1].astype(float)
    cx = size * math.sqrt(3) * (qf + rf / 2)
    cy = size * 1.5 * rf
    return pd.DataFrame({"q": cells[:, 0], "r": cells[:, 1], "lon": cx / kx, "lat": cy / ky,
                         "count": counts})


def hex_polygons(hexes: pd.DataFrame, width_km: float = HEX_WIDTH_KM) -> np.ndarray:
    """Corner lon/lat of each hexagon -> array (n, 6, 2), rounded to 4 decimals (~11 m)."""
    kx, ky = _hex_scale()
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


def declared_layer(table: pd.DataFrame, districts: pd.DataFrame, lang: str, shapes=None):
    """Admin-declared districts (severity and/or share affected), as polygons or circles."""
    import pydeck as pdk

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
# The scenario builder: a few parameters per hazard kind, and how severity is judged
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One generator parameter the builder shows: its widget and range."""

    name: str
    label: str  # label key
    kind: str  # "number", "int", "select", "multiselect"
    default: Any
    min: float | None = None
    max: float | None = None
    step: float | None = None
    options: tuple = ()


@dataclass(frozen=True)
class KindSpec:
    """What the builder offers for one hazard kind."""

    kind: str
    params: tuple[Param, ...]
    tiers: tuple[float, float | None, float | None] | None  # default tiers, None: impact only
    impact: str | None  # default impact function
    generator_fixed: dict = field(default_factory=dict)


BUILDER: dict[str, KindSpec] = {
    "riverine-flood": KindSpec("riverine-flood", (
        Param("river", "p_river", "multiselect", ("indus",),
              options=("indus", "chenab", "jhelum", "kabul", "ravi", "sutlej", "swat")),
        Param("return_period", "p_return_period", "select", 50.0, options=(10.0, 25.0, 50.0, 100.0, 200.0, 500.0)),
    ), (0.5, 1.5, 2.5), "flood_depth_damage"),
    "flash-flood": KindSpec("flash-flood", (
        Param("return_period", "p_return_period", "select", 100.0, options=(10.0, 25.0, 50.0, 100.0, 200.0, 500.0)),
        Param("n_cells", "p_n_cells", "int", 4, 1, 20, 1),
    ), (64.5, 115.6, 204.5), "flash_flood_rainfall"),
    "heatwave": KindSpec("heatwave", (
        Param("days", "p_days", "int", 6, 1, 20, 1),
        Param("anomaly_degc", "p_anomaly", "number", 5.0, 0.0, 12.0, 0.5),
    ), (45.0, 47.0, None), "heat_tmax"),
    "drought": KindSpec("drought", (
        Param("deficit", "p_deficit", "number", 0.5, 0.0, 0.95, 0.05),
    ), None, "drought_spi"),
    "earthquake": KindSpec("earthquake", (
        Param("magnitude", "p_magnitude", "number", 7.6, 5.0, 8.5, 0.1),
        Param("lon", "p_lon", "number", 73.59, 61.0, 77.5, 0.01),
        Param("lat", "p_lat", "number", 34.49, 24.0, 37.0, 0.01),
        Param("depth_km", "p_depth", "number", 26.0, 1.0, 100.0, 1.0),
    ), (6.0, 7.0, 8.0), "earthquake_mmi", {"measure": "mmi"}),
    "cyclone": KindSpec("cyclone", (
        Param("landfall_lon", "p_landfall_lon", "number", 67.4, 61.5, 69.0, 0.05),
        Param("landfall_lat", "p_landfall_lat", "number", 23.9, 23.0, 25.5, 0.05),
        Param("delta_p_hpa", "p_delta_p", "number", 40.0, 10.0, 90.0, 1.0),
    ), (17.5, 24.7, 32.9), "cyclone_wind"),
}
#: Generator bounding boxes wide enough for a built event anywhere in its region [degrees].
EARTHQUAKE_HALF_BOX = 2.0


def generator_params(kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The generator's keyword parameters from the builder's values (lists, not tuples)."""
    spec = BUILDER[kind]
    out: dict[str, Any] = dict(spec.generator_fixed)
    for p in spec.params:
        v = values.get(p.name, p.default)
        if p.kind == "multiselect":
            v = list(v) if v else list(p.default)
        elif p.kind == "int":
            v = int(v)
        elif p.kind in ("number", "select"):
            v = float(v)
        out[p.name] = v
    if kind == "cyclone":
        out["landfall"] = [out.pop("landfall_lon"), out.pop("landfall_lat")]
    if kind == "earthquake":
        lon, lat = out["lon"], out["lat"]
        h = EARTHQUAKE_HALF_BOX
        out["bbox"] = [round(lon - h, 2), round(lat - h, 2), round(lon + h, 2), round(lat + h, 2)]
    if kind == "riverine-flood" and set(out["river"]) - {"indus"}:
        out["bbox"] = [66.5, 23.6, 75.5, 35.5]
    return out


def severity_raw(how: str, tiers: Sequence[float | None] | None, impact_name: str | None) -> dict[str, Any]:
    """The hazard's ``tiers`` or ``impact`` entry of a scenario dict."""
    if how == "impact":
        return {"impact": impact_name}
    t = [v for v in (tiers or []) if v is not None]
    out: dict[str, Any] = {"affected": float(t[0])}
    if len(t) > 1:
        out["severely_affected"] = float(t[1])
    if len(t) > 2:
        out["displaced"] = float(t[2])
    return {"tiers": out}


def default_programme() -> dict[str, Any]:
    """The programme a newly built scenario starts with (BISP's 2022 relief amount)."""
    return {
        "name": "BISP emergency cash",
        "owner": "federal",
        "expansion": "all_affected",
        "pmt_max": 32.0,
        "transfer": {"by_tier_pkr": {"affected": 25000}},
    }


def scenario_raw(scn) -> dict[str, Any]:
    """A scenario model as a plain dict that :func:`validate_raw` accepts again."""
    return json.loads(scn.model_dump_json())


def validate_raw(raw: Mapping[str, Any], *, source: str = "<scenario built in the app>"):
    """Validate a scenario dict exactly as the CLI validates a YAML file.

    The dict is written as YAML and parsed by :func:`simulator.scenario.parse`, so a mistake
    gives the same :class:`ScenarioError` message as ``madad validate`` would.
    """
    import yaml

    from simulator import scenario

    return scenario.parse(yaml.safe_dump(json.loads(json.dumps(raw)), sort_keys=False), source=source)


def equal_instalments(n: int, every_days: int) -> list[dict[str, Any]]:
    """``n`` instalments of equal shares (4 decimals, the last takes the remainder) ``every_days``
    apart, starting on day 0."""
    n = max(1, int(n))
    base = math.floor(10_000 / n) / 10_000
    shares = [base] * (n - 1) + [round(1 - base * (n - 1), 4)]
    return [{"share": s, "day": int(every_days) * i} for i, s in enumerate(shares)]


def what_if_changes(before: Mapping[str, Any], after: Mapping[str, Any], units: str) -> list[tuple[str, str, str]]:
    """(label key, new, old) for each quick what-if value that moved from the scenario's.

    Both mappings hold ``transfer_pkr`` [PKR], ``pmt_max``, ``threshold`` (None when the hazard
    has no threshold) and ``federal_share_pct`` [%] (None when the rule has no federal share).
    """
    out = []
    rows = (("transfer_pkr", "q_transfer", lambda v: f"PKR {int(v):,}"),
            ("pmt_max", "q_pmt", lambda v: f"{float(v):g}"),
            ("threshold", "q_threshold", lambda v: fmt_value(round(float(v), 6), units)),
            ("federal_share_pct", "q_federal", lambda v: f"{int(v)}%"))
    for key, label, fmt in rows:
        old, new = before.get(key), after.get(key)
        if old is None or new is None:
            continue
        if (round(float(old), 6) if key == "threshold" else old) != new:
            out.append((label, fmt(new), fmt(old)))
    return out


#: Quick what-if threshold slider: (min, max, step) by units.
THRESHOLD_RANGES = {"m": (0.0, 5.0, 0.1), "mm": (0.0, 400.0, 5.0), "degC": (30.0, 55.0, 0.5),
                    "g": (0.0, 1.0, 0.01), "m/s": (0.0, 70.0, 0.5), "index": (1.0, 12.0, 0.5)}


def threshold_range(units: str, value: float, next_tier: float | None) -> tuple[float, float, float]:
    """(min, max, step) of the quick threshold slider: below the next tier, holding ``value``."""
    lo, hi, step = THRESHOLD_RANGES.get(units, (0.0, max(1.0, 4 * abs(value)), 0.1))
    if next_tier is not None and math.isfinite(next_tier):
        hi = min(hi, next_tier - step)
    lo, hi = min(lo, value), max(hi, value)
    return float(lo), float(hi), float(step)


# ---------------------------------------------------------------------------------------------
# Comparison of plans held in memory
# ---------------------------------------------------------------------------------------------

#: Rows of the comparison: (label key, where in the plan, money?).
COMPARE_ROWS = (
    ("f_affected_households", ("totals", "affected_households"), False),
    ("f_affected_people", ("totals", "affected_people"), False),
    ("f_eligible_households", ("totals", "eligible_households"), False),
    ("f_paid_households", ("totals", "paid_households"), False),
    ("f_amount_pkr", ("totals", "amount_pkr"), True),
    ("f_federal_pkr", ("totals", "federal_pkr"), True),
    ("f_provincial_pkr", ("totals", "provincial_pkr"), True),
    ("f_dedup_savings_pkr", ("totals", "dedup_savings_pkr"), True),
    ("f_over_budget_households", ("totals", "over_budget_households"), False),
    ("f_budget_shortfall_pkr", ("totals", "budget_shortfall_pkr"), True),
    ("f_affected_poor_unpaid_households", ("totals", "affected_poor_unpaid_households"), False),
)


def compare_table(plans: Sequence[dict], labels: Sequence[str], lang: str) -> pd.DataFrame:
    """National figures of two to four plans side by side, with each one's difference from the
    first (exact integers; money as ``PKR 1,234``)."""
    rows = []
    first = plans[0]
    for key, (section, name), money in COMPARE_ROWS:
        fmt = fmt_pkr if money else fmt_count
        row = {text(lang, "c_figure"): text(lang, key)}
        for label, p in zip(labels, plans, strict=True):
            row[label] = fmt(p[section][name])
        for label, p in zip(labels[1:], plans[1:], strict=True):
            diff = int(p[section][name]) - int(first[section][name])
            row[text(lang, "c_diff", label=label)] = "0" if diff == 0 else (
                ("+" if diff > 0 else "-") + fmt(abs(diff)))
        rows.append(row)
    policy = {
        "c_programmes": lambda p: ", ".join(prog["name"] for prog in p.get("programmes", [])),
        "c_cost_rule": lambda p: p.get("cost_sharing", {}).get("rule", ""),
    }
    for key, fn in policy.items():
        row = {text(lang, "c_figure"): text(lang, key)}
        for label, p in zip(labels, plans, strict=True):
            row[label] = fn(p)
        for label, p in zip(labels[1:], plans[1:], strict=True):
            row[text(lang, "c_diff", label=label)] = "" if fn(p) == fn(first) else text(lang, "c_changed")
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Tables for display (hidden cells shown as "–")
# ---------------------------------------------------------------------------------------------

TABLE_FIGURES = ("affected_households", "affected_people", "paid_households", "amount_pkr",
                 "federal_pkr", "provincial_pkr")


def display_table(records: Sequence[Mapping[str, Any]], keys: Sequence[str], lang: str,
                  figures: Sequence[str] = TABLE_FIGURES) -> pd.DataFrame:
    """Rows of a plan level as text cells: counts ``1,234``, money ``PKR 1,234``, hidden ``–``."""
    out = []
    for rec in records:
        row = {text(lang, "col_" + k): rec.get(k, "") for k in keys}
        for f in figures:
            v = rec.get(f)
            row[text(lang, "f_" + f)] = fmt_pkr(v) if f.endswith("_pkr") else fmt_count(v)
        out.append(row)
    columns = [text(lang, "col_" + k) for k in keys] + [text(lang, "f_" + f) for f in figures]
    return pd.DataFrame(out, columns=columns)


def small_cells_shown(frame: pd.DataFrame, k: int) -> list[tuple[int, str, int]]:
    """(row, column, value) of every household-count cell of a display table in 1..k-1 (a
    disclosure check for tests: a minister's tables must return [])."""
    found = []
    for col in frame.columns:
        for i, v in enumerate(frame[col].tolist()):
            if isinstance(v, str) and v.replace(",", "").isdigit():
                n = int(v.replace(",", ""))
                if 0 < n < k:
                    found.append((i, str(col), n))
    return found


# ---------------------------------------------------------------------------------------------
# The label tables. Keep the keys of both languages the same (a test checks it).
# ---------------------------------------------------------------------------------------------

_FIGURES_EN = {
    "f_households": "Households",
    "f_affected_households": "Affected households",
    "f_affected_people": "Affected people",
    "f_severely_affected_households": "Severely affected households",
    "f_displaced_households": "Displaced households",
    "f_eligible_households": "Eligible households",
    "f_eligible_people": "Eligible people",
    "f_paid_households": "Households paid",
    "f_paid_people": "People in households paid",
    "f_vertical_households": "Top-ups (vertical)",
    "f_horizontal_households": "Temporary inclusions (horizontal)",
    "f_amount_pkr": "Amount",
    "f_federal_pkr": "Federal",
    "f_provincial_pkr": "Provincial",
    "f_dedup_overlap_households": "Entitled twice (dedup)",
    "f_dedup_savings_pkr": "Dedup savings",
    "f_over_budget_households": "Left out by budget",
    "f_budget_shortfall_pkr": "Budget shortfall",
    "f_affected_poor_unpaid_households": "Affected poor not paid",
}
_FIGURES_UR = {
    "f_households": "گھرانے",
    "f_affected_households": "متاثرہ گھرانے",
    "f_affected_people": "متاثرہ افراد",
    "f_severely_affected_households": "شدید متاثرہ گھرانے",
    "f_displaced_households": "بے گھر گھرانے",
    "f_eligible_households": "اہل گھرانے",
    "f_eligible_people": "اہل افراد",
    "f_paid_households": "ادائیگی پانے والے گھرانے",
    "f_paid_people": "ادائیگی پانے والے گھرانوں کے افراد",
    "f_vertical_households": "اضافی ادائیگی (عمودی)",
    "f_horizontal_households": "عارضی شمولیت (افقی)",
    "f_amount_pkr": "رقم",
    "f_federal_pkr": "وفاقی",
    "f_provincial_pkr": "صوبائی",
    "f_dedup_overlap_households": "دو بار حقدار (دہرائی ختم)",
    "f_dedup_savings_pkr": "دہرائی ختم کرنے سے بچت",
    "f_over_budget_households": "بجٹ کی وجہ سے رہ جانے والے",
    "f_budget_shortfall_pkr": "بجٹ کی کمی",
    "f_affected_poor_unpaid_households": "متاثرہ غریب جنہیں ادائیگی نہیں ہوئی",
}

LABELS: dict[str, dict[str, str]] = {
    "en": {
        **_FIGURES_EN,
        "app_title": "Madad: disaster payout simulator",
        "language": "Language",
        "page_overview": "Summary",
        "page_scenario": "Scenario",
        "page_map": "Map",
        "page_plan": "Plan",
        "page_compare": "Compare",
        "page_downloads": "Downloads",
        "role_minister": "Minister's view: totals and maps only; any figure under {k} households is hidden.",
        "role_planner": "Planner's view: every figure, uploads and the household payout list.",
        "config_problem": "Configuration: {problem}",
        "computing": "Computing the plan...",
        "computed_in": "Plan computed in {s} s.",
        "run_failed": "The plan could not be computed: {problem}",
        "back_to_demo": "Back to the demo scenario",
        "whatif_invalid": "This what-if is not possible, so the scenario's own policy is shown: {problem}",
        "bad_file": "{name} cannot be used: {problem}",
        "pkr_billion": "PKR {n} billion",
        "pkr_million": "PKR {n} million",
        "pkr_plain": "PKR {n}",
        "pkr_million_axis": "PKR million",
        "hidden_note_short": "– hidden: fewer than the minimum households",
        "col_province": "Province",
        "col_district": "District",
        "col_district_id": "District code",
        "col_tehsil_id": "Tehsil",
        "col_benefiting": "For households in",
        "col_paying": "Paying province",
        "col_ceiling": "Ceiling",
        "col_spent": "Paid",
        "col_who": "Government",
        "col_day": "Day",
        "col_instalment": "Instalment",
        "col_share": "Share",
        "col_programme": "Programme",
        "col_owner": "Run by",
        "col_expansion": "Who it reaches",
        "col_entitled": "Entitled households",
        "col_households": "Households",
        "col_household": "Household id",
        "col_reason": "Reason",
        "col_row": "Row",
        "col_rows": "Rows",
        "col_status": "Status",
        "col_tier": "Severity",
        "tier_none": "not affected",
        "tier_affected": "affected",
        "tier_severe": "severely affected",
        "tier_displaced": "displaced",
        "tier_unused": "not used",
        "hz_depth": "flood depth",
        "hz_rain": "rainfall",
        "hz_temp": "temperature",
        "hz_pga": "ground shaking (peak acceleration)",
        "hz_mmi": "shaking intensity (MMI)",
        "hz_wind": "wind speed",
        "hz_spi": "drought index (SPI; lower is drier)",
        "hz_intensity": "hazard intensity",
        "kind_riverine-flood": "River flood",
        "kind_flash-flood": "Flash flood / heavy rain",
        "kind_heatwave": "Heatwave",
        "kind_drought": "Drought",
        "kind_earthquake": "Earthquake",
        "kind_cyclone": "Cyclone",
        "layer_hazard": "Hazard",
        "layer_households": "Affected households",
        "layer_districts": "Districts",
        "map_alt": "Map of the hazard, affected households and districts",
        "map_districts_choropleth": "Districts are shaded purple by affected households, darker for more (grey: figures hidden).",
        "map_districts_symbols": "Purple circles: affected people per district (area in proportion).",
        "map_note": "Point at a district or hexagon for its figures. Households are counted on the server in hexagons about 5 km across; no household location is sent to the browser.",
        "map_note_minister": "Hexagons with fewer than {k} households are not drawn.",
        "legend_households": "Affected households per hexagon",
        "legend_few": "few",
        "legend_many": "many",
        "hex_tip": "{n} affected households in this ~{km} km hexagon",
        "declared_title": "Declared districts",
        "declared_tip": "Declared: {tier}",
        "declared_share": "Share affected: {pct}",
        "boundaries_in_use": "Boundaries: {name}; {matched} of {total} census districts have a polygon.",
        "m_affected_households": "Affected households",
        "m_affected_people": "Affected people",
        "m_paid_households": "Households paid",
        "m_amount": "Total cost",
        "m_federal": "Federal share",
        "m_provincial": "Provincial share",
        "modelled_on": "Modelled on {what} (not a reproduction).",
        "registry_line": "Households: {source}; {rows} registry rows standing for {households} households.",
        "whatif_active": "What-if in use: {changes}. Differences are shown against the scenario.",
        "was": "was",
        "summary": "This event affects **{affected} households** ({people} people). Under this policy **{paid} households** are paid **{amount}**: {federal} from the federal government and {provincial} from the provinces.",
        "summary_none": "No household is affected in this scenario.",
        "go_map": "Open the full map",
        "go_plan": "See the plan tables",
        "go_scenario": "Change the scenario or policy",
        "go_summary": "See the summary",
        "minister_tables": "Figures under {k} households are hidden (–) so that no household can be singled out; {hidden} cells are hidden. Totals are exact.",
        "tab_places": "Provinces and districts",
        "tab_money": "Who pays",
        "tab_budget": "Budget",
        "tab_programmes": "Programmes",
        "tab_registry": "Registry",
        "tab_assumptions": "Assumptions",
        "by_province": "By province",
        "by_district": "By district (affected districts)",
        "by_tehsil": "By tehsil",
        "no_districts": "No district has affected households under this policy.",
        "split_title": "Federal and provincial shares",
        "cost_rule": "Cost-sharing rule",
        "rule_fixed": "fixed shares",
        "rule_ownership": "each programme's owner pays",
        "rule_key": "provinces pool by a key",
        "pooled_note": "Provinces pool their part by the key: what each pays for households of another.",
        "dedup_title": "Savings from paying each household once",
        "dedup_overlap": "Households entitled twice",
        "dedup_savings": "Dedup savings",
        "dedup_none": "No household was entitled under two programmes, so dedup saved nothing.",
        "instalments_title": "Instalments",
        "budget_shortfall": "Budget shortfall",
        "budget_left_out": "Entitled households left out",
        "federal": "Federal",
        "provincial": "Provincial",
        "no_ceilings": "No budget ceiling is set, so nobody is left out for lack of funds.",
        "exp_all_affected": "every affected household",
        "exp_vertical": "top-up to beneficiaries (vertical)",
        "exp_horizontal": "temporary inclusion (horizontal)",
        "st_paid": "paid",
        "st_not_affected": "not affected",
        "st_outside_area": "outside the hazard area",
        "st_no_hazard_data": "no hazard data",
        "st_not_eligible": "not eligible",
        "st_over_budget": "over budget",
        "st_duplicate": "duplicate",
        "st_quarantined": "quarantined",
        "rows_read": "Rows read",
        "rows_valid": "Valid rows",
        "rows_quarantined": "Quarantined rows",
        "now_showing": "Now showing: {title}",
        "run_done": "Done: now showing {title}.",
        "s_hazard": "1. Hazard",
        "s_source": "Where the hazard comes from",
        "src_library": "Scenario library",
        "src_build": "Build a hazard",
        "src_upload": "Upload a raster",
        "src_declared": "Declared districts",
        "s_pick": "Scenario",
        "s_households": "2. Households",
        "s_policy": "3. Policy",
        "s_boundaries": "4. District boundaries (optional)",
        "run": "Run this scenario",
        "run_top_help": "Runs the library scenario with the policy below (its own, unless you change it).",
        "need_hazard": "Set up the hazard first (section 1).",
        "scenario_invalid": "The scenario is not valid; the same check as `madad validate` says:",
        "b_kind": "Kind of hazard",
        "b_how": "How severity is judged",
        "how_impact": "Impact function (published curve)",
        "how_tiers": "My thresholds",
        "b_impact": "Impact function",
        "p_river": "Rivers",
        "river_indus": "Indus", "river_chenab": "Chenab", "river_jhelum": "Jhelum", "river_kabul": "Kabul",
        "river_ravi": "Ravi", "river_sutlej": "Sutlej", "river_swat": "Swat",
        "return_period_value": "1 in {n} years",
        "p_return_period": "Return period (years)",
        "p_n_cells": "Storm cells",
        "p_days": "Hot days",
        "p_anomaly": "Above normal (°C)",
        "p_deficit": "Rainfall deficit (0-1)",
        "p_magnitude": "Magnitude (Mw)",
        "p_lon": "Epicentre longitude",
        "p_lat": "Epicentre latitude",
        "p_depth": "Depth (km)",
        "p_landfall_lon": "Landfall longitude",
        "p_landfall_lat": "Landfall latitude",
        "p_delta_p": "Pressure drop (hPa)",
        "u_hazard": "Hazard raster (GeoTIFF or NetCDF)",
        "u_hazard_help": "A map of intensity: flood depth, rainfall, temperature, SPI, MMI/PGA or wind, with a CRS.",
        "u_hazard_none": "No raster uploaded yet.",
        "u_netcdf_options": "Units, NetCDF variable and time step",
        "u_units": "Units of the values",
        "u_units_file": "as the file says",
        "u_variable": "NetCDF variable",
        "u_time": "Time step (index or date)",
        "u_hazard_ok": "{name}: {rows} x {cols} cells in {units}, values {lo} to {hi}.",
        "d_how": "How the districts are given",
        "d_pick": "Pick districts",
        "d_file": "Upload a CSV",
        "d_districts": "Districts declared calamity-hit",
        "d_severity": "Declared severity",
        "d_none": "Pick at least one district.",
        "d_upload": "Declared districts (CSV: district_id, severity and/or share_affected)",
        "d_upload_help": "As in an NDMA/PDMA calamity notification; district ids as in data/districts.csv.",
        "d_ok": "{name}: {n} districts declared.",
        "registry_minister": "The demo's synthetic households are used. Registry uploads are for planners.",
        "u_registry": "Household registry (CSV or Parquet)",
        "u_registry_help": "Columns: household_id, lon, lat, district_id, hh_size, pmt_score (see the README). No CNIC column.",
        "registry_empty": "no valid row; see the reasons below.",
        "registry_synthetic": "Using the synthetic registry ({n} rows). Upload a file to use your own.",
        "registry_using": "Using {name}: {n} valid households.",
        "registry_drop": "Use the synthetic registry again",
        "quarantine_title": "Quarantined rows (not used)",
        "u_boundaries": "District boundaries (GeoJSON, GeoPackage, zipped Shapefile, GeoParquet)",
        "u_boundaries_help": "Polygons with a column of 2023 census district codes such as sd_dadu.",
        "u_code_column": "Column of district codes",
        "u_name_column": "Column of names (optional)",
        "boundaries_no_match": "no code in column {column!r} is a 2023 census district code (the file has e.g. {sample}); choose the column that holds codes such as sd_dadu.",
        "boundaries_using": "Using {name}: {matched} of {total} census districts have a polygon.",
        "boundaries_missing": "{n} districts have no polygon; they are drawn as circles.",
        "boundaries_drop": "Stop using these boundaries",
        "boundaries_none": "No boundaries: districts are drawn as circles.",
        "env_boundaries_missing": "MADAD_BOUNDARIES: {path}: no such file. Districts are drawn as circles.",
        "boundaries_fallback": "Districts are drawn as circles instead.",
        "programme_n": "Programme {n}: {name}",
        "p_include": "Include this programme",
        "p_name": "Name",
        "p_owner": "Run by",
        "p_expansion": "Who it reaches",
        "p_expansion_help": "Vertical: a top-up to existing beneficiaries. Horizontal: temporary inclusion of other poor households under a higher cut-off. Every affected household: all, optionally under a PMT cut-off.",
        "p_amount": "PKR per household, {tier}",
        "p_same_as_below": "same as the tier below",
        "p_use_pmt": "Apply a PMT cut-off",
        "p_pmt": "PMT cut-off (eligible at or below)",
        "p_beneficiaries": "Beneficiaries of",
        "enr_kafaalat": "BISP Kafaalat",
        "enr_prov_uct": "provincial cash (unconditional)",
        "enr_prov_cct": "provincial cash (conditional)",
        "p_provinces": "Provinces (empty: all)",
        "p_provinces_help": "Where the programme operates.",
        "p_min_tier": "Least severe tier paid",
        "p_add": "Add a programme",
        "s_cost_sharing": "Who pays",
        "cs_key": "Key to pool provinces' part",
        "key_nfc7": "7th NFC award",
        "key_population2023": "population (2023 census)",
        "dedup_rule": "A household entitled twice",
        "dedup_top_up": "one pays, the other tops up",
        "dedup_priority": "only the first pays",
        "dedup_first": "Pays first",
        "s_budget": "Budget ceilings (PKR; empty: none)",
        "no_ceiling": "no ceiling",
        "budget_help": "Households are funded most severe first, then poorest first; once a budget runs out the rest are left out and counted.",
        "instalments_now": "Now: {text}.",
        "inst_on_day": "{share} on day {day}",
        "inst_change": "Change the instalments",
        "inst_n": "Equal instalments",
        "inst_gap": "Days apart",
        "quick_title": "Quick what-if",
        "quick_help": "Changes the scenario's headline policy; every change reruns the plan.",
        "q_transfer": "Transfer per family (PKR)",
        "q_transfer_help": "Cash paid once to each eligible affected family (every tier moves by the same amount).",
        "q_pmt": "PMT cut-off",
        "q_pmt_help": "Proxy means test score at or below which a family is eligible; BISP Kafaalat uses 32.",
        "q_threshold": "threshold",
        "q_threshold_units": "Affected from this {what} ({units})",
        "q_threshold_help": "A household counts as affected when the hazard at its location reaches this.",
        "q_federal": "Federal share (%)",
        "q_federal_help": "Share of every amount paid by the federal government; the province pays the rest.",
        "q_reset": "Back to the scenario's policy",
        "compare_help": "Pick two to four scenarios or policies; differences are against the first.",
        "compare_save": "Keep the current scenario and policy for comparison",
        "compare_current": "Current: {title}",
        "compare_pick": "Scenarios and policies to compare",
        "compare_need_two": "Pick at least two to compare.",
        "c_option": "Option",
        "compare_all": "Every figure, side by side",
        "unavailable": "{what} is not available in this version.",
        "c_figure": "Figure",
        "c_diff": "Change {label} vs 1",
        "c_changed": "changed",
        "c_programmes": "Programmes",
        "c_cost_rule": "Cost-sharing rule",
        "dl_minister": "Files for ministers hold totals only: any figure under {k} households is hidden.",
        "dl_button": "Download {name}",
        "dl_no_households": "The household payout list is available in the planner's view only.",
        "dl_xlsx": "Excel workbook",
        "dl_xlsx_help": "Summary, provinces, districts, cost-sharing, dedup and budget, instalments, assumptions.",
        "dl_pdf": "PDF brief",
        "dl_pdf_help": "Two to four pages for ministers: headline figures, map, who pays, districts, sign-off.",
        "dl_pdf_hidden_unavailable": "Not available for this plan: some district figures are under {k} households and the brief cannot yet leave them out. Use the Excel workbook.",
        "dl_gpkg": "GeoPackage of districts",
        "dl_gpkg_help": "District figures for GIS (polygons when boundaries are loaded, else points).",
        "dl_geojson": "GeoJSON of districts",
        "dl_geojson_help": "The same district figures for web maps.",
        "dl_json": "Plan as JSON",
        "dl_json_help": "The whole plan for other systems (versioned).",
        "dl_csv": "Household payout list (CSV)",
        "dl_csv_help": "Pseudonymous ids, amounts, payer and instalments of every household paid.",
        "dl_parquet": "Household payout list (Parquet)",
        "dl_parquet_help": "The same list as Parquet, for large registries.",
    },
    "ur": {
        **_FIGURES_UR,
        "app_title": "مدد: آفات میں ادائیگیوں کا تخمینہ",
        "language": "زبان",
        "page_overview": "خلاصہ",
        "page_scenario": "منظرنامہ",
        "page_map": "نقشہ",
        "page_plan": "منصوبہ",
        "page_compare": "موازنہ",
        "page_downloads": "ڈاؤن لوڈ",
        "role_minister": "وزیر کا منظر: صرف مجموعی اعداد اور نقشے؛ {k} سے کم گھرانوں والا ہر عدد چھپا دیا جاتا ہے۔",
        "role_planner": "منصوبہ ساز کا منظر: تمام اعداد، فائلیں اپ لوڈ کرنا اور گھرانوں کی ادائیگی کی فہرست۔",
        "config_problem": "ترتیبات: {problem}",
        "computing": "منصوبہ تیار ہو رہا ہے...",
        "computed_in": "منصوبہ {s} سیکنڈ میں تیار ہوا۔",
        "run_failed": "منصوبہ تیار نہیں ہو سکا: {problem}",
        "back_to_demo": "نمونے کے منظرنامے پر واپس جائیں",
        "whatif_invalid": "یہ تبدیلی ممکن نہیں، اس لیے منظرنامے کی اپنی پالیسی دکھائی جا رہی ہے: {problem}",
        "bad_file": "{name} استعمال نہیں ہو سکتی: {problem}",
        "pkr_billion": "{n} ارب روپے",
        "pkr_million": "{n} ملین روپے",
        "pkr_plain": "{n} روپے",
        "pkr_million_axis": "ملین روپے",
        "hidden_note_short": "– چھپا ہوا: کم از کم حد سے کم گھرانے",
        "col_province": "صوبہ",
        "col_district": "ضلع",
        "col_district_id": "ضلع کوڈ",
        "col_tehsil_id": "تحصیل",
        "col_benefiting": "جن گھرانوں کے لیے",
        "col_paying": "ادا کرنے والا صوبہ",
        "col_ceiling": "حد",
        "col_spent": "ادا شدہ",
        "col_who": "حکومت",
        "col_day": "دن",
        "col_instalment": "قسط",
        "col_share": "حصہ",
        "col_programme": "پروگرام",
        "col_owner": "چلانے والا",
        "col_expansion": "کن تک پہنچتا ہے",
        "col_entitled": "حقدار گھرانے",
        "col_households": "گھرانے",
        "col_household": "گھرانے کی شناخت",
        "col_reason": "وجہ",
        "col_row": "قطار",
        "col_rows": "قطاریں",
        "col_status": "حیثیت",
        "col_tier": "شدت",
        "tier_none": "غیر متاثر",
        "tier_affected": "متاثر",
        "tier_severe": "شدید متاثر",
        "tier_displaced": "بے گھر",
        "tier_unused": "استعمال نہیں",
        "hz_depth": "سیلاب کی گہرائی",
        "hz_rain": "بارش",
        "hz_temp": "درجۂ حرارت",
        "hz_pga": "زمین کی لرزش (زیادہ سے زیادہ اسراع)",
        "hz_mmi": "زلزلے کی شدت (ایم ایم آئی)",
        "hz_wind": "ہوا کی رفتار",
        "hz_spi": "خشک سالی کا اشاریہ (ایس پی آئی؛ کم تر یعنی زیادہ خشک)",
        "hz_intensity": "آفت کی شدت",
        "kind_riverine-flood": "دریائی سیلاب",
        "kind_flash-flood": "اچانک سیلاب / شدید بارش",
        "kind_heatwave": "گرمی کی لہر",
        "kind_drought": "خشک سالی",
        "kind_earthquake": "زلزلہ",
        "kind_cyclone": "سمندری طوفان",
        "layer_hazard": "آفت",
        "layer_households": "متاثرہ گھرانے",
        "layer_districts": "اضلاع",
        "map_alt": "آفت، متاثرہ گھرانوں اور اضلاع کا نقشہ",
        "map_districts_choropleth": "اضلاع متاثرہ گھرانوں کے حساب سے جامنی رنگ میں ہیں، گہرا یعنی زیادہ (سرمئی: چھپے ہوئے اعداد)۔",
        "map_districts_symbols": "جامنی دائرے: ہر ضلع کے متاثرہ افراد (رقبہ تناسب سے)۔",
        "map_note": "کسی ضلع یا مسدس پر اشارہ کریں تو اس کے اعداد نظر آئیں گے۔ گھرانے سرور پر تقریباً 5 کلومیٹر کے مسدسوں میں گنے جاتے ہیں؛ کسی گھرانے کا مقام براؤزر کو نہیں بھیجا جاتا۔",
        "map_note_minister": "{k} سے کم گھرانوں والے مسدس نہیں دکھائے جاتے۔",
        "legend_households": "ہر مسدس میں متاثرہ گھرانے",
        "legend_few": "کم",
        "legend_many": "زیادہ",
        "hex_tip": "اس تقریباً {km} کلومیٹر کے مسدس میں {n} متاثرہ گھرانے",
        "declared_title": "آفت زدہ قرار دیے گئے اضلاع",
        "declared_tip": "قرار دی گئی شدت: {tier}",
        "declared_share": "متاثرہ حصہ: {pct}",
        "boundaries_in_use": "حدود: {name}؛ مردم شماری کے {total} میں سے {matched} اضلاع کی حدود موجود ہیں۔",
        "m_affected_households": "متاثرہ گھرانے",
        "m_affected_people": "متاثرہ افراد",
        "m_paid_households": "ادائیگی پانے والے گھرانے",
        "m_amount": "کل لاگت",
        "m_federal": "وفاقی حصہ",
        "m_provincial": "صوبائی حصہ",
        "modelled_on": "{what} کی طرز پر بنایا گیا (ہو بہو نقل نہیں)۔",
        "registry_line": "گھرانے: {source}؛ رجسٹری کی {rows} قطاریں جو {households} گھرانوں کی نمائندگی کرتی ہیں۔",
        "whatif_active": "زیرِ غور تبدیلی: {changes}۔ فرق منظرنامے کے مقابلے میں دکھایا گیا ہے۔",
        "was": "پہلے",
        "summary": "اس آفت سے **{affected} گھرانے** ({people} افراد) متاثر ہوتے ہیں۔ اس پالیسی کے تحت **{paid} گھرانوں** کو **{amount}** ادا کیے جاتے ہیں: {federal} وفاقی حکومت اور {provincial} صوبوں کی طرف سے۔",
        "summary_none": "اس منظرنامے میں کوئی گھرانہ متاثر نہیں ہوتا۔",
        "go_map": "پورا نقشہ کھولیں",
        "go_plan": "منصوبے کے جدول دیکھیں",
        "go_scenario": "منظرنامہ یا پالیسی بدلیں",
        "go_summary": "خلاصہ دیکھیں",
        "minister_tables": "{k} سے کم گھرانوں والے اعداد چھپائے گئے ہیں (–) تاکہ کسی گھرانے کی نشاندہی نہ ہو سکے؛ {hidden} خانے چھپے ہیں۔ مجموعی اعداد درست ہیں۔",
        "tab_places": "صوبے اور اضلاع",
        "tab_money": "کون ادا کرتا ہے",
        "tab_budget": "بجٹ",
        "tab_programmes": "پروگرام",
        "tab_registry": "رجسٹری",
        "tab_assumptions": "مفروضات",
        "by_province": "صوبہ وار",
        "by_district": "ضلع وار (متاثرہ اضلاع)",
        "by_tehsil": "تحصیل وار",
        "no_districts": "اس پالیسی کے تحت کسی ضلع میں متاثرہ گھرانے نہیں۔",
        "split_title": "وفاقی اور صوبائی حصے",
        "cost_rule": "اخراجات کی تقسیم کا اصول",
        "rule_fixed": "مقررہ حصے",
        "rule_ownership": "ہر پروگرام کا مالک ادا کرتا ہے",
        "rule_key": "صوبے ایک کلیے کے مطابق مل کر ادا کرتے ہیں",
        "pooled_note": "صوبے اپنا حصہ کلیے کے مطابق ملا کر دیتے ہیں: ہر صوبہ دوسرے صوبے کے گھرانوں کے لیے کتنا ادا کرتا ہے۔",
        "dedup_title": "ہر گھرانے کو ایک بار ادائیگی سے بچت",
        "dedup_overlap": "دو بار حقدار گھرانے",
        "dedup_savings": "دہرائی ختم کرنے سے بچت",
        "dedup_none": "کوئی گھرانہ دو پروگراموں کا حقدار نہیں تھا، اس لیے کوئی بچت نہیں ہوئی۔",
        "instalments_title": "اقساط",
        "budget_shortfall": "بجٹ کی کمی",
        "budget_left_out": "رہ جانے والے حقدار گھرانے",
        "federal": "وفاقی",
        "provincial": "صوبائی",
        "no_ceilings": "بجٹ کی کوئی حد مقرر نہیں، اس لیے رقم کی کمی سے کوئی نہیں رہ جاتا۔",
        "exp_all_affected": "ہر متاثرہ گھرانہ",
        "exp_vertical": "موجودہ مستحقین کو اضافی رقم (عمودی)",
        "exp_horizontal": "عارضی شمولیت (افقی)",
        "st_paid": "ادائیگی ہوئی",
        "st_not_affected": "غیر متاثر",
        "st_outside_area": "آفت کے علاقے سے باہر",
        "st_no_hazard_data": "آفت کا ڈیٹا نہیں",
        "st_not_eligible": "اہل نہیں",
        "st_over_budget": "بجٹ سے باہر",
        "st_duplicate": "دہرایا گیا",
        "st_quarantined": "الگ کیے گئے",
        "rows_read": "پڑھی گئی قطاریں",
        "rows_valid": "درست قطاریں",
        "rows_quarantined": "الگ کی گئی قطاریں",
        "now_showing": "اس وقت دکھایا جا رہا ہے: {title}",
        "run_done": "مکمل: اب {title} دکھایا جا رہا ہے۔",
        "s_hazard": "1۔ آفت",
        "s_source": "آفت کہاں سے لی جائے",
        "src_library": "منظرناموں کا ذخیرہ",
        "src_build": "آفت خود بنائیں",
        "src_upload": "رَاسٹر فائل اپ لوڈ کریں",
        "src_declared": "آفت زدہ قرار دیے گئے اضلاع",
        "s_pick": "منظرنامہ",
        "s_households": "2۔ گھرانے",
        "s_policy": "3۔ پالیسی",
        "s_boundaries": "4۔ اضلاع کی حدود (اختیاری)",
        "run": "یہ منظرنامہ چلائیں",
        "run_top_help": "ذخیرے کا منظرنامہ نیچے دی گئی پالیسی کے ساتھ چلاتا ہے (اس کی اپنی، جب تک آپ نہ بدلیں)۔",
        "need_hazard": "پہلے آفت ترتیب دیں (حصہ 1)۔",
        "scenario_invalid": "منظرنامہ درست نہیں؛ `madad validate` والی جانچ یہ کہتی ہے:",
        "b_kind": "آفت کی قسم",
        "b_how": "شدت کیسے طے ہو",
        "how_impact": "اثر کا فنکشن (شائع شدہ خم)",
        "how_tiers": "میری اپنی حدیں",
        "b_impact": "اثر کا فنکشن",
        "p_river": "دریا",
        "river_indus": "سندھ", "river_chenab": "چناب", "river_jhelum": "جہلم", "river_kabul": "کابل",
        "river_ravi": "راوی", "river_sutlej": "ستلج", "river_swat": "سوات",
        "return_period_value": "{n} سال میں ایک بار",
        "p_return_period": "واپسی کا دورانیہ (سال)",
        "p_n_cells": "طوفانی خلیے",
        "p_days": "گرم دن",
        "p_anomaly": "معمول سے زیادہ (°C)",
        "p_deficit": "بارش کی کمی (0 تا 1)",
        "p_magnitude": "شدت (Mw)",
        "p_lon": "مرکز کا طول البلد",
        "p_lat": "مرکز کا عرض البلد",
        "p_depth": "گہرائی (کلومیٹر)",
        "p_landfall_lon": "ساحل سے ٹکرانے کا طول البلد",
        "p_landfall_lat": "ساحل سے ٹکرانے کا عرض البلد",
        "p_delta_p": "دباؤ میں کمی (hPa)",
        "u_hazard": "آفت کا رَاسٹر (GeoTIFF یا NetCDF)",
        "u_hazard_help": "شدت کا نقشہ: سیلاب کی گہرائی، بارش، درجۂ حرارت، ایس پی آئی، ایم ایم آئی/پی جی اے یا ہوا، CRS کے ساتھ۔",
        "u_hazard_none": "ابھی کوئی رَاسٹر اپ لوڈ نہیں ہوا۔",
        "u_netcdf_options": "اکائیاں، NetCDF متغیر اور وقت کا مرحلہ",
        "u_units": "قدروں کی اکائی",
        "u_units_file": "جیسا فائل میں ہے",
        "u_variable": "NetCDF متغیر",
        "u_time": "وقت کا مرحلہ (نمبر یا تاریخ)",
        "u_hazard_ok": "{name}: {rows} x {cols} خانے، اکائی {units}، قدریں {lo} سے {hi} تک۔",
        "d_how": "اضلاع کیسے دیے جائیں",
        "d_pick": "اضلاع چنیں",
        "d_file": "CSV اپ لوڈ کریں",
        "d_districts": "آفت زدہ قرار دیے گئے اضلاع",
        "d_severity": "قرار دی گئی شدت",
        "d_none": "کم از کم ایک ضلع چنیں۔",
        "d_upload": "قرار دیے گئے اضلاع (CSV: district_id، severity اور/یا share_affected)",
        "d_upload_help": "جیسے این ڈی ایم اے/پی ڈی ایم اے کے اعلامیے میں؛ ضلع کوڈ data/districts.csv کے مطابق۔",
        "d_ok": "{name}: {n} اضلاع قرار دیے گئے۔",
        "registry_minister": "نمونے کے مصنوعی گھرانے استعمال ہو رہے ہیں۔ رجسٹری اپ لوڈ کرنا منصوبہ سازوں کے لیے ہے۔",
        "u_registry": "گھرانوں کی رجسٹری (CSV یا Parquet)",
        "u_registry_help": "کالم: household_id، lon، lat، district_id، hh_size، pmt_score (README دیکھیں)۔ شناختی کارڈ نمبر کا کالم نہ ہو۔",
        "registry_empty": "کوئی قطار درست نہیں؛ وجوہات نیچے دیکھیں۔",
        "registry_synthetic": "مصنوعی رجسٹری استعمال ہو رہی ہے ({n} قطاریں)۔ اپنی فائل اپ لوڈ کر کے اسے استعمال کریں۔",
        "registry_using": "{name} استعمال ہو رہی ہے: {n} درست گھرانے۔",
        "registry_drop": "دوبارہ مصنوعی رجسٹری استعمال کریں",
        "quarantine_title": "الگ کی گئی قطاریں (استعمال نہیں ہوئیں)",
        "u_boundaries": "اضلاع کی حدود (GeoJSON، GeoPackage، زپ شدہ Shapefile، GeoParquet)",
        "u_boundaries_help": "کثیر الاضلاع جن میں 2023 کی مردم شماری کے ضلع کوڈ (جیسے sd_dadu) کا کالم ہو۔",
        "u_code_column": "ضلع کوڈ کا کالم",
        "u_name_column": "ناموں کا کالم (اختیاری)",
        "boundaries_no_match": "کالم {column!r} میں کوئی کوڈ 2023 کی مردم شماری کا ضلع کوڈ نہیں (فائل میں مثلاً {sample} ہیں)؛ وہ کالم چنیں جس میں sd_dadu جیسے کوڈ ہوں۔",
        "boundaries_using": "{name} استعمال ہو رہی ہے: مردم شماری کے {total} میں سے {matched} اضلاع کی حدود موجود ہیں۔",
        "boundaries_missing": "{n} اضلاع کی حدود نہیں؛ وہ دائروں کی صورت میں دکھائے گئے ہیں۔",
        "boundaries_drop": "یہ حدود استعمال کرنا بند کریں",
        "boundaries_none": "حدود نہیں: اضلاع دائروں کی صورت میں دکھائے گئے ہیں۔",
        "env_boundaries_missing": "MADAD_BOUNDARIES: {path}: یہ فائل موجود نہیں۔ اضلاع دائروں کی صورت میں دکھائے گئے ہیں۔",
        "boundaries_fallback": "اس کے بجائے اضلاع دائروں کی صورت میں دکھائے گئے ہیں۔",
        "programme_n": "پروگرام {n}: {name}",
        "p_include": "یہ پروگرام شامل کریں",
        "p_name": "نام",
        "p_owner": "چلانے والا",
        "p_expansion": "کن تک پہنچتا ہے",
        "p_expansion_help": "عمودی: موجودہ مستحقین کو اضافی رقم۔ افقی: دوسرے غریب گھرانوں کی اونچی حد کے تحت عارضی شمولیت۔ ہر متاثرہ گھرانہ: سب، چاہیں تو پی ایم ٹی حد کے ساتھ۔",
        "p_amount": "فی گھرانہ روپے، {tier}",
        "p_same_as_below": "نچلے درجے کے برابر",
        "p_use_pmt": "پی ایم ٹی حد لاگو کریں",
        "p_pmt": "پی ایم ٹی حد (اس یا اس سے کم پر اہل)",
        "p_beneficiaries": "جن کے مستحقین",
        "enr_kafaalat": "بی آئی ایس پی کفالت",
        "enr_prov_uct": "صوبائی نقد امداد (غیر مشروط)",
        "enr_prov_cct": "صوبائی نقد امداد (مشروط)",
        "p_provinces": "صوبے (خالی: سب)",
        "p_provinces_help": "جہاں پروگرام چلتا ہے۔",
        "p_min_tier": "ادائیگی کا کم سے کم درجہ",
        "p_add": "پروگرام شامل کریں",
        "s_cost_sharing": "کون ادا کرتا ہے",
        "cs_key": "صوبوں کے حصے کی تقسیم کا کلیہ",
        "key_nfc7": "ساتواں این ایف سی ایوارڈ",
        "key_population2023": "آبادی (مردم شماری 2023)",
        "dedup_rule": "دو بار حقدار گھرانہ",
        "dedup_top_up": "ایک ادا کرے، دوسرا باقی رقم پوری کرے",
        "dedup_priority": "صرف پہلا ادا کرے",
        "dedup_first": "پہلے ادا کرنے والا",
        "s_budget": "بجٹ کی حدیں (روپے؛ خالی: کوئی حد نہیں)",
        "no_ceiling": "کوئی حد نہیں",
        "budget_help": "پہلے شدید متاثر، پھر غریب ترین گھرانوں کو رقم دی جاتی ہے؛ بجٹ ختم ہونے پر باقی رہ جاتے ہیں اور گنے جاتے ہیں۔",
        "instalments_now": "اس وقت: {text}۔",
        "inst_on_day": "دن {day} کو {share}",
        "inst_change": "اقساط بدلیں",
        "inst_n": "برابر اقساط",
        "inst_gap": "دنوں کا وقفہ",
        "quick_title": "فوری تبدیلی",
        "quick_help": "منظرنامے کی بنیادی پالیسی بدلیں؛ ہر تبدیلی پر منصوبہ دوبارہ بنتا ہے۔",
        "q_transfer": "فی خاندان رقم (روپے)",
        "q_transfer_help": "ہر اہل متاثرہ خاندان کو ایک بار دی جانے والی نقد رقم (ہر درجہ اتنا ہی بدلتا ہے)۔",
        "q_pmt": "پی ایم ٹی حد",
        "q_pmt_help": "پراکسی مینز ٹیسٹ کا اسکور جس یا جس سے کم پر خاندان اہل ہے؛ بی آئی ایس پی کفالت میں 32۔",
        "q_threshold": "حد",
        "q_threshold_units": "اس {what} سے متاثر ({units})",
        "q_threshold_help": "جب گھرانے کے مقام پر آفت اس حد تک پہنچے تو وہ متاثر شمار ہوتا ہے۔",
        "q_federal": "وفاقی حصہ (%)",
        "q_federal_help": "ہر رقم کا وہ حصہ جو وفاقی حکومت ادا کرتی ہے؛ باقی صوبہ ادا کرتا ہے۔",
        "q_reset": "منظرنامے کی پالیسی پر واپس",
        "compare_help": "دو سے چار منظرنامے یا پالیسیاں چنیں؛ فرق پہلے کے مقابلے میں ہے۔",
        "compare_save": "موجودہ منظرنامہ اور پالیسی موازنے کے لیے محفوظ کریں",
        "compare_current": "موجودہ: {title}",
        "compare_pick": "موازنے کے لیے منظرنامے اور پالیسیاں",
        "compare_need_two": "موازنے کے لیے کم از کم دو چنیں۔",
        "c_option": "انتخاب",
        "compare_all": "تمام اعداد، ساتھ ساتھ",
        "unavailable": "{what} اس ورژن میں دستیاب نہیں۔",
        "c_figure": "عدد",
        "c_diff": "فرق {label} بمقابلہ 1",
        "c_changed": "بدلا",
        "c_programmes": "پروگرام",
        "c_cost_rule": "اخراجات کی تقسیم کا اصول",
        "dl_minister": "وزراء کی فائلوں میں صرف مجموعی اعداد ہیں: {k} سے کم گھرانوں والا ہر عدد چھپا ہے۔",
        "dl_button": "{name} ڈاؤن لوڈ کریں",
        "dl_no_households": "گھرانوں کی ادائیگی کی فہرست صرف منصوبہ ساز کے منظر میں دستیاب ہے۔",
        "dl_xlsx": "ایکسل ورک بک",
        "dl_xlsx_help": "خلاصہ، صوبے، اضلاع، اخراجات کی تقسیم، دہرائی اور بجٹ، اقساط، مفروضات۔",
        "dl_pdf": "پی ڈی ایف بریف",
        "dl_pdf_help": "وزراء کے لیے دو سے چار صفحات: بنیادی اعداد، نقشہ، کون ادا کرتا ہے، اضلاع، منظوری۔",
        "dl_pdf_hidden_unavailable": "اس منصوبے کے لیے دستیاب نہیں: کچھ ضلعی اعداد {k} سے کم گھرانوں کے ہیں اور بریف ابھی انہیں چھوڑ نہیں سکتا۔ ایکسل ورک بک استعمال کریں۔",
        "dl_gpkg": "اضلاع کا GeoPackage",
        "dl_gpkg_help": "جی آئی ایس کے لیے اضلاع کے اعداد (حدود ہوں تو کثیر الاضلاع، ورنہ نقاط)۔",
        "dl_geojson": "اضلاع کا GeoJSON",
        "dl_geojson_help": "ویب نقشوں کے لیے وہی ضلعی اعداد۔",
        "dl_json": "منصوبہ بطور JSON",
        "dl_json_help": "دوسرے نظاموں کے لیے پورا منصوبہ (ورژن کے ساتھ)۔",
        "dl_csv": "گھرانوں کی ادائیگی کی فہرست (CSV)",
        "dl_csv_help": "ہر ادائیگی پانے والے گھرانے کی فرضی شناخت، رقم، ادا کنندہ اور اقساط۔",
        "dl_parquet": "گھرانوں کی ادائیگی کی فہرست (Parquet)",
        "dl_parquet_help": "یہی فہرست Parquet میں، بڑی رجسٹریوں کے لیے۔",
    },
}
