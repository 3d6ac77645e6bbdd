"""Hazard rasters on the map: colour ramps by kind and units, legends, and the PNG image
that stands for a raster in the browser; the Urdu font the browser is served
(:func:`urdu_font_css`). Nothing here imports Streamlit."""

from __future__ import annotations

import base64
import io
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from simulator.app.text import RTL, fmt_value, text

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
        f'transform:translateX(-50%);white-space:nowrap">{fmt_value(round(v, 2), style.units, lang)}'
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
# The Urdu font: Noto Naskh Arabic (data/fonts/, SIL OFL), subset and inlined as CSS
# ---------------------------------------------------------------------------------------------

#: The family name the app serves the font under (also for deck.gl text and Vega charts).
URDU_FONT = "Noto Naskh Arabic"
#: Streamlit's own body font (its theme's ``sansSerif``): the served font is added to it for
#: Arabic-script characters only, so every element drawn in it (tables on canvas, charts,
#: widgets) finds Urdu glyphs without a per-element rule.
STREAMLIT_FONT = "Source Sans"
#: Urdu's letters and marks: the Arabic block up to U+0670, the Urdu additions, Urdu's full
#: stop, the Extended Arabic-Indic digits, the joiners and the bidi isolates.
URDU_CODEPOINTS = (
    tuple(range(0x0600, 0x0671))
    + (0x0679, 0x067E, 0x0686, 0x0688, 0x0691, 0x0698, 0x06A9, 0x06AF, 0x06BA, 0x06BE,
       0x06C0, 0x06C1, 0x06C2, 0x06C3, 0x06CC, 0x06D2, 0x06D3, 0x06D4)
    + tuple(range(0x06F0, 0x06FA))
    + (0x200C, 0x200D, 0x200E, 0x200F, 0x2066, 0x2067, 0x2068, 0x2069)
)
#: Where the served faces apply (CSS ``unicode-range``): Arabic script and its presentation
#: forms (deck.gl's map labels are drawn pre-shaped, in presentation forms).
URDU_UNICODE_RANGE = "U+0600-06FF, U+200C-200F, U+2066-2069, U+FB50-FDFF, U+FE70-FEFF"


def _font_dir():
    from hazards.tables import data_dir

    return data_dir() / "fonts"


def _presentation_forms(font_cmap: dict[int, str]) -> list[int]:
    """The Arabic presentation forms (U+FB50-FEFF) of Urdu's letters that the font maps, and
    the lam-alef ligatures: what a pre-shaped label (deck.gl draws no Arabic shaping) uses."""
    bases = {unicodedata.name(chr(c), "") for c in URDU_CODEPOINTS} - {""}
    out = []
    for c in font_cmap:
        if 0xFB50 <= c <= 0xFEFF:
            name = unicodedata.name(chr(c), "")
            if "LIGATURE LAM WITH ALEF" in name or any(name.startswith(b + " ") for b in bases):
                out.append(c)
    return sorted(out)


@lru_cache(maxsize=2)
def urdu_font_woff(weight: str = "Regular") -> bytes:
    """Noto Naskh Arabic ``weight`` (``Regular`` or ``Bold``) subset to Urdu's characters,
    with every OpenType layout feature kept (the joining forms, ligatures, mark placement)
    and hinting dropped, as WOFF: about 27 kB instead of the file's 176 kB."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(_font_dir() / f"NotoNaskhArabic-{weight}.ttf")
    options = subset.Options()
    options.layout_features = ["*"]
    options.hinting = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[*URDU_CODEPOINTS, *_presentation_forms(font.getBestCmap())])
    subsetter.subset(font)
    font.flavor = "woff"
    buf = io.BytesIO()
    font.save(buf)
    return buf.getvalue()


@lru_cache(maxsize=1)
def urdu_font_css() -> str:
    """A ``<style>`` that serves the Urdu font to the browser and uses it in the Urdu view.

    The subset faces (:func:`urdu_font_woff`) are inlined as ``data:`` URLs (the app has no
    static folder), declared twice: as ``Noto Naskh Arabic`` (named by the rules below, by
    deck.gl's text and by the browser test) and as Streamlit's ``Source Sans`` restricted to
    Arabic script, so tables on canvas, charts and widgets that ask for Streamlit's font get
    Urdu glyphs too. Built once per process (about 75 kB).
    """
    faces = []
    for weight, css_weight in (("Regular", 400), ("Bold", 700)):
        url = "data:font/woff;base64," + base64.b64encode(urdu_font_woff(weight)).decode("ascii")
        for family in (URDU_FONT, STREAMLIT_FONT):
            faces.append(
                f"@font-face {{font-family: '{family}'; font-style: normal; font-weight: {css_weight};"
                f" font-display: swap; src: url({url}) format('woff'); unicode-range: {URDU_UNICODE_RANGE};}}"
            )
    family = f"'{STREAMLIT_FONT}', '{URDU_FONT}', sans-serif"
    rules = (
        # Everything in the page that is text; Streamlit's icons keep their own font.
        f"[data-testid='stApp'] :is(h1, h2, h3, h4, h5, h6, p, li, label, span, div, td, th,"
        f" input, textarea, button, summary, a):not([data-testid='stIconMaterial'])"
        f" {{font-family: {family};}}"
        # The grid's cells (canvas) and Vega's text ask for these variables.
        f"[data-testid='stApp'] {{--gdg-font-family: {family};}}"
        "[data-testid='stMarkdownContainer'] p, [data-testid='stCaptionContainer'] {line-height: 2;}"
    )
    return "<style>" + "".join(faces) + rules + "</style>"


def urdu_widget_css(upload: str, limit: str) -> str:
    """A ``<style>`` putting Urdu on the file uploader's English: its button ("Upload") reads
    ``upload`` and its note ("1GB per file • CSV") reads ``limit``. Streamlit has no option
    for these texts, so the English is hidden (``visibility: hidden``, which also keeps it
    out of the page's text) and the Urdu drawn in its place (``::after``)."""
    def content(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    button = "[data-testid='stFileUploaderDropzone'] button [data-testid='stMarkdownContainer'] p"
    note = "[data-testid='stFileUploaderDropzoneInstructions'] span"
    return (
        "<style>"
        f"{button}, {note} {{visibility: hidden; font-size: 0; line-height: 0;}}"
        f"{button}::after {{content: {content(upload)}; visibility: visible; font-size: 1rem; line-height: 1.6;}}"
        f"{note}::after {{content: {content(limit)}; visibility: visible; font-size: 0.875rem; line-height: 1.6;}}"
        "</style>"
    )
