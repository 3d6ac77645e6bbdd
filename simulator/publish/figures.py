"""The pictures of the brief: the map of the hazard and the households it reaches, on the
shipped province and district outlines, and the bar chart of the federal-provincial split (PNG
bytes, matplotlib's Agg renderer, no display, no network).
"""

from __future__ import annotations

import io
import logging
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hazards import tables as data
from simulator.plans.build import FIGURES
from simulator.publish.geo import boundaries_frame, district_layer
from simulator.publish.runs import load_run
from simulator.publish.tables import district_table

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

__all__ = ["FEDERAL_COLOUR", "PROVINCIAL_COLOUR", "declutter", "map_axes", "map_figure"]

log = logging.getLogger("madad.publish")

#: Colours of the brief: federal, provincial (Okabe-Ito blue and orange), text grey.
FEDERAL_COLOUR = "#0072B2"
PROVINCIAL_COLOUR = "#E69F00"
#: What a hazard layer's values are, by units (and kind where units do not tell).
_HAZARD_LABELS = {"m": "flood depth", "mm": "rainfall", "m/s": "wind speed", "degC": "temperature",
                  "g": "peak ground acceleration", ("earthquake", "index"): "shaking intensity (MMI)",
                  ("drought", "index"): "SPI drought index"}
#: Base geography of the map: land, province outlines (thicker), district outlines (thin).
LAND_COLOUR = "#f5f3ec"
PROVINCE_OUTLINE = {"color": "#4d4d4d", "linewidth": 0.9}
DISTRICT_OUTLINE = {"color": "#b0b0b0", "linewidth": 0.35}
#: Colour maps by kind (drought reversed: the driest is darkest).
_CMAPS = {"riverine-flood": "Blues", "flash-flood": "Blues", "cyclone": "PuBu", "earthquake": "Reds",
          "heatwave": "YlOrRd", "drought": "YlOrBr_r"}


def _hazard_label(layer: xr.DataArray) -> str:
    kind, units = layer.attrs.get("kind", ""), layer.attrs.get("units", "")
    return _HAZARD_LABELS.get((kind, units)) or _HAZARD_LABELS.get(units) or f"{kind or 'hazard'} intensity"


def _hazard_mask(kind: str, values: np.ndarray) -> np.ndarray:
    """Pixels not to draw: no data, and where the hazard is absent (no water, wind, shaking;
    no rainfall deficit). Heat is drawn everywhere."""
    mask = ~np.isfinite(values)
    with np.errstate(invalid="ignore"):
        if kind == "drought":
            return mask | (values >= 0)
        if kind == "heatwave":
            return mask
        return mask | (values <= 0)


def _display_raster(layer: xr.DataArray, max_side: int = 1200) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The layer's values in EPSG:4326 for a picture, strided to ``max_side``, and its extent.

    Rasters in another CRS are warped (nearest neighbour) for display only; the analysis never
    resamples a raster.
    """
    from affine import Affine
    from pyproj import CRS

    values = np.asarray(layer.values, dtype=np.float32)
    transform = Affine(*layer.attrs["transform"])
    crs = CRS.from_user_input(layer.attrs["crs"])
    if crs.to_epsg() != 4326:
        from rasterio.warp import Resampling, calculate_default_transform, reproject

        rows, cols = values.shape
        left, top = transform.c, transform.f
        right, bottom = transform.c + transform.a * cols, transform.f + transform.e * rows
        dst_t, w, h = calculate_default_transform(
            crs, "EPSG:4326", cols, rows, left=min(left, right), bottom=min(top, bottom),
            right=max(left, right), top=max(top, bottom),
        )
        out = np.full((h, w), np.nan, dtype=np.float32)
        reproject(values, out, src_transform=transform, src_crs=crs, dst_transform=dst_t,
                  dst_crs="EPSG:4326", resampling=Resampling.nearest, src_nodata=np.nan, dst_nodata=np.nan)
        values, transform = out, dst_t
    step = max(1, math.ceil(max(values.shape) / max_side))
    shown = values[::step, ::step]
    rows, cols = values.shape  # north-up: no rotation terms
    x0, y0 = transform.c, transform.f
    x1, y1 = transform.c + transform.a * cols, transform.f + transform.e * rows
    return shown, (min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1))


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=200, bbox_inches="tight", pad_inches=0.04)
    return buf.getvalue()


def _image(png: bytes, width: float):
    """A reportlab image of ``png`` at ``width`` [pt], keeping its aspect ratio."""
    from PIL import Image as PILImage
    from reportlab.platypus import Image

    with PILImage.open(io.BytesIO(png)) as im:
        w, h = im.size
    return Image(io.BytesIO(png), width=width, height=width * h / w)


class _Extent:
    """The map's window [degrees]: x0..x1, y0..y1, its width and height, and the cosine of its
    middle latitude (the aspect correction)."""

    def __init__(self, xs: list[float], ys: list[float], size: tuple[float, float]) -> None:
        x0, y0, x1, y1 = data.PAKISTAN_BBOX
        box = 0.68 * size[0] / (0.89 * size[1])  # width / height of the map axes
        if xs:
            pad = 0.5
            bx0, bx1 = max(min(xs) - pad, x0), min(max(xs) + pad, x1)
            by0, by1 = max(min(ys) - pad, y0), min(max(ys) + pad, y1)
        else:
            bx0, by0, bx1, by1 = x0, y0, x1, y1
        mid = math.cos(math.radians((by0 + by1) / 2))
        w, h = max(bx1 - bx0, 3.0), max(by1 - by0, 3.0)
        if w * mid / h < box:
            w = h * box / mid
        else:
            h = w * mid / box
        cx, cy = (bx0 + bx1) / 2, (by0 + by1) / 2
        self.x0, self.x1, self.y0, self.y1 = cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2
        self.w, self.h, self.mid = w, h, mid

    def contains(self, lon: float, lat: float) -> bool:
        return self.x0 <= lon <= self.x1 and self.y0 <= lat <= self.y1


def _draw_hazard(ax, layer: xr.DataArray | None, xs: list[float], ys: list[float]):
    """The hazard raster where the hazard is present; extends ``xs``/``ys`` by its footprint.
    Returns the image (None when nothing is drawn)."""
    if layer is None:
        return None
    shown, extent = _display_raster(layer)
    kind = layer.attrs.get("kind", "")
    masked = np.ma.masked_where(_hazard_mask(kind, shown), shown)
    if not masked.count():
        return None
    image = ax.imshow(masked, extent=extent, origin="upper", cmap=_CMAPS.get(kind, "viridis"),
                      interpolation="nearest", zorder=1, alpha=0.9)
    rows, cols = np.nonzero(~np.ma.getmaskarray(masked))
    dx = (extent[1] - extent[0]) / shown.shape[1]
    dy = (extent[3] - extent[2]) / shown.shape[0]
    xs += [extent[0] + cols.min() * dx, extent[0] + (cols.max() + 1) * dx]
    ys += [extent[3] - (rows.max() + 1) * dy, extent[3] - rows.min() * dy]
    return image


def _outline_lines(geometries):
    """Every ring of some polygons as a list of (n, 2) lon/lat arrays (for a LineCollection)."""
    import shapely

    rings = shapely.get_parts(shapely.boundary(np.asarray(geometries, dtype=object)))
    rings = shapely.get_parts(rings)  # MultiLineStrings of polygons with holes or parts
    return [shapely.get_coordinates(r) for r in rings]


def _draw_outlines(ax, *, districts: bool, land: bool = True) -> bool:
    """The shipped province outlines (with a light land fill) and, when ``districts``, district
    outlines, beneath the hazard and the footprint (zorder < 1). Returns False (and draws
    nothing) when the shipped boundaries cannot be read."""
    from matplotlib.collections import LineCollection, PolyCollection

    from hazards.errors import DataFileError

    try:
        provinces = data.outlines("provinces")
        shipped = data.outlines("districts") if districts else None
    except (DataFileError, ImportError, OSError) as exc:
        log.warning("map drawn without province and district outlines: %s", exc)
        return False
    if land:
        import shapely

        polys = shapely.get_parts(provinces.geometry.values)
        shells = [shapely.get_coordinates(shapely.get_exterior_ring(p)) for p in polys]
        ax.add_collection(PolyCollection(shells, facecolor=LAND_COLOUR, edgecolor="none", zorder=0.3))
    if shipped is not None:
        ax.add_collection(LineCollection(_outline_lines(shipped.geometry.values), zorder=0.6,
                                         capstyle="round", joinstyle="round", **DISTRICT_OUTLINE))
    ax.add_collection(LineCollection(_outline_lines(provinces.geometry.values), zorder=0.7,
                                     capstyle="round", joinstyle="round", **PROVINCE_OUTLINE))
    return True


def _draw_boundaries(fig, ax, run, bounds, key: str) -> None:
    """District polygons, those with ``key`` households shaded, with their colour scale."""
    layer_gdf = district_layer(run, boundaries=bounds)
    layer_gdf.plot(ax=ax, facecolor="none", edgecolor="#9a9a9a", linewidth=0.4, zorder=2)
    shaded = layer_gdf[layer_gdf[key] > 0]
    if not len(shaded):
        return
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    norm = Normalize(vmin=0, vmax=float(shaded[key].max()))
    shaded.plot(ax=ax, column=key, cmap="Oranges", norm=norm, alpha=0.55,
                edgecolor="#7a4a00", linewidth=0.5, zorder=3)
    scale_ax = fig.add_axes((0.82, 0.41, 0.025, 0.17))
    cb2 = fig.colorbar(ScalarMappable(norm=norm, cmap="Oranges"), cax=scale_ax)
    cb2.set_label(key.replace("_", " "), fontsize=7)
    cb2.ax.tick_params(labelsize=6.5)


#: Most labels :func:`declutter` weighs at once (its overlap table grows as the square).
MAX_DECLUTTER = 400


def declutter(boxes: np.ndarray, priority: np.ndarray, *, margin: float = 0.0) -> np.ndarray:
    """Which labels to keep, and where: greedily by priority, each in the first of its candidate
    places that overlaps no label already kept.

    Parameters
    ----------
    boxes : array-like, shape (n, k, 4) or (n, 4)
        Candidate boxes of each label, ``[x0, y0, x1, y1]`` in any units (screen pixels,
        points), in order of preference (right of its symbol, then left...).
    priority : array-like, shape (n,)
        Larger is placed first (affected households...); ties keep the given order.
    margin : float, default 0
        Space kept clear between two labels [the boxes' units].

    Returns
    -------
    numpy.ndarray of int, shape (n,)
        The index of the chosen candidate of each label, -1 where it is dropped. Only the
        :data:`MAX_DECLUTTER` labels of highest priority are weighed; the rest are dropped.
    """
    b = np.asarray(boxes, dtype=float)
    if b.ndim == 2:
        b = b[:, None, :]
    n, k = b.shape[:2]
    chosen = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return chosen
    order = np.argsort(-np.asarray(priority, dtype=float), kind="stable")[:MAX_DECLUTTER]
    flat = b[order].reshape(-1, 4)  # candidate j of the i-th label in order: row i * k + j
    x0, y0 = np.minimum(flat[:, 0], flat[:, 2]), np.minimum(flat[:, 1], flat[:, 3])
    x1, y1 = np.maximum(flat[:, 0], flat[:, 2]), np.maximum(flat[:, 1], flat[:, 3])
    overlap = ((x0[:, None] < x1[None, :] + margin) & (x0[None, :] < x1[:, None] + margin)
               & (y0[:, None] < y1[None, :] + margin) & (y0[None, :] < y1[:, None] + margin))
    taken = np.zeros(len(flat), dtype=bool)  # the candidate boxes of the labels kept so far
    for i in range(len(order)):
        clear = ~(overlap[i * k:(i + 1) * k] & taken).any(axis=1)
        if clear.any():
            j = int(np.argmax(clear))
            chosen[order[i]] = j
            taken[i * k + j] = True
    return chosen


#: District names on the brief's map: the most of them kept, among how many of the largest,
#: their size [pt] and the estimated width of a character [em].
PDF_LABELS, PDF_LABEL_CANDIDATES, PDF_LABEL_PT, LABEL_CHAR_EM = 8, 14, 6.5, 0.56


def _label_districts(ax, hit: pd.DataFrame, key: str, scale: float, extent: _Extent, circles: bool,
                     size: tuple[float, float] = (7.0, 5.2)) -> None:
    """Names of up to :data:`PDF_LABELS` of the largest districts inside the window, beside
    their circle (right, else left), none overlapping another (:func:`declutter`)."""
    top = hit.nlargest(PDF_LABEL_CANDIDATES, key)
    top = top[[extent.contains(x, y) for x, y in zip(top.lon, top.lat, strict=True)]]
    if not len(top):
        return
    # the map axes in points (their box keeps the window's aspect: see _Extent)
    wide, high = 0.68 * size[0] * 72, 0.89 * size[1] * 72
    x = (top.lon.to_numpy() - extent.x0) / extent.w * wide
    y = (top.lat.to_numpy() - extent.y0) / extent.h * high
    radius = np.sqrt(top[key].to_numpy() * scale + 6) / 2 if circles else np.zeros(len(top))
    width = np.array([len(str(name)) for name in top.district]) * PDF_LABEL_PT * LABEL_CHAR_EM + 2
    half = PDF_LABEL_PT * 0.7
    gap = radius + 2
    right = np.stack([x + gap, y - half, x + gap + width, y + half], axis=-1)
    left = np.stack([x - gap - width, y - half, x - gap, y + half], axis=-1)
    chosen = declutter(np.stack([right, left], axis=1), top[key].to_numpy(), margin=1.0)
    kept = np.flatnonzero(chosen >= 0)
    kept = kept[np.argsort(-top[key].to_numpy()[kept], kind="stable")][:PDF_LABELS]
    for i in kept:
        rec = top.iloc[i]
        side = 1 if chosen[i] == 0 else -1
        ax.annotate(rec.district, (rec.lon, rec.lat), xytext=(side * gap[i], 0), textcoords="offset points",
                    fontsize=PDF_LABEL_PT, color="#111111", va="center", ha="left" if side > 0 else "right",
                    zorder=5, bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none",
                                    "alpha": 0.7})


def _frame_axes(ax, extent: _Extent) -> None:
    ax.set_xlim(extent.x0, extent.x1)
    ax.set_ylim(extent.y0, extent.y1)
    ax.set_aspect(1 / extent.mid)
    ax.tick_params(labelsize=6.5)
    ax.set_xlabel("longitude [degrees E]", fontsize=7)
    ax.set_ylabel("latitude [degrees N]", fontsize=7)
    ax.grid(color="#e6e6e6", linewidth=0.4, zorder=0)


def _hazard_colorbar(fig, cax, image, layer: xr.DataArray | None) -> None:
    if image is None:
        cax.set_axis_off()
        return
    cb = fig.colorbar(image, cax=cax)
    units = layer.attrs.get("units", "")
    cb.set_label(f"{_hazard_label(layer)} [{units}]", fontsize=7)
    cb.ax.tick_params(labelsize=6.5)


def _circle_legend(fig, key: str, biggest: int, scale: float) -> None:
    """Reference circles (a tenth, half and all of the biggest district's households)."""
    from matplotlib.lines import Line2D

    refs = sorted({max(1, int(round(biggest * f, -int(math.log10(max(biggest * f, 1)))))) for f in (0.1, 0.5, 1.0)})
    handles = [Line2D([], [], marker="o", linestyle="", markersize=math.sqrt(r * scale + 6),
                      markerfacecolor=PROVINCIAL_COLOUR, markeredgecolor="#5a3a00", alpha=0.6,
                      label=f"{r:,}") for r in refs]
    biggest_pt = math.sqrt(refs[-1] * scale + 6) / 6.5  # in font sizes
    fig.legend(handles=handles, title=key.replace("_", " "), fontsize=6.5, title_fontsize=7, loc="upper center",
               bbox_to_anchor=(0.89, 0.60), frameon=False, borderpad=0.3, labelspacing=0.3,
               handletextpad=0.6, handleheight=biggest_pt, handlelength=biggest_pt)


def _draw_inset(inset, table: pd.DataFrame, extent: _Extent, outlines: bool) -> None:
    """Pakistan (its provinces, or its district points without outlines) with the map's
    window in red."""
    from matplotlib.collections import LineCollection
    from matplotlib.patches import Rectangle

    x0, y0, x1, y1 = data.PAKISTAN_BBOX
    if outlines:
        inset.add_collection(LineCollection(_outline_lines(data.outlines("provinces").geometry.values),
                                            color="#6e6e6e", linewidth=0.35))
    else:
        inset.scatter(table.lon, table.lat, s=1.2, color="#8c8c8c", linewidths=0)
    inset.add_patch(Rectangle((extent.x0, extent.y0), extent.x1 - extent.x0, extent.y1 - extent.y0,
                              fill=False, edgecolor="#c00000", linewidth=0.9))
    inset.set_xlim(x0, x1)
    inset.set_ylim(y0, y1)
    inset.set_aspect(1 / math.cos(math.radians(30)))
    inset.set_xticks([])
    inset.set_yticks([])
    inset.set_facecolor("white")
    inset.set_title("Pakistan: map area in red", fontsize=6.5, pad=2)


def map_figure(run: Any, *, boundaries: Any = None, size: tuple[float, float] = (7.0, 5.2),
               outlines: bool = True) -> bytes:
    """The brief's map as PNG bytes: the hazard raster and paid households by district, on the
    province and district outlines.

    Parameters
    ----------
    run : Run, RunResult, str or Path
        See :func:`load_run`.
    boundaries : geopandas.GeoDataFrame, str or Path, optional
        District polygons, drawn shaded by paid households; without them districts are circles
        at their points, sized by paid households (affected households when nobody is paid).
    size : (float, float), default (7.0, 5.2)
        Figure size [inches].
    outlines : bool, default True
        Draw the shipped province outlines, and the shipped district outlines unless
        ``boundaries`` replace them, beneath the hazard (with
        :data:`hazards.tables.BOUNDARY_ATTRIBUTION` in the map's corner, as ODbL requires).

    Returns
    -------
    bytes
        A PNG at 200 dpi (matplotlib's Agg renderer; no display, no basemap, no network).
    """
    return _png(map_axes(run, boundaries=boundaries, size=size, outlines=outlines)[0])


def map_axes(run: Any, *, boundaries: Any = None, size: tuple[float, float] = (7.0, 5.2),
             outlines: bool = True):
    """(matplotlib Figure, map Axes) of :func:`map_figure`, before it is written as a PNG (its
    ``transData`` places a lon/lat on the picture)."""
    from matplotlib.figure import Figure

    run = load_run(run)
    table = district_table(run)
    for c in FIGURES:  # suppressed cells draw no symbol
        table[c] = pd.to_numeric(table[c], errors="coerce").fillna(0).astype(np.int64)
    key = "paid_households" if run.plan["totals"]["paid_households"] else "affected_households"
    fig = Figure(figsize=size)
    ax = fig.add_axes((0.08, 0.09, 0.68, 0.89))
    inset = fig.add_axes((0.79, 0.64, 0.2, 0.34))
    cax = fig.add_axes((0.82, 0.09, 0.025, 0.26))

    hit = table[table[key] > 0]
    layer = run.hazards[0] if run.hazards else None
    xs, ys = list(hit.lon), list(hit.lat)
    image = _draw_hazard(ax, layer, xs, ys)
    extent = _Extent(xs, ys, size)

    bounds = boundaries_frame(boundaries)
    drawn = outlines and _draw_outlines(ax, districts=bounds is None)
    if drawn:
        ax.text(0.995, 0.006, data.BOUNDARY_ATTRIBUTION, transform=ax.transAxes, ha="right", va="bottom",
                fontsize=4.8, color="#444444", zorder=6,
                bbox={"boxstyle": "square,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.75})
    if bounds is not None:
        _draw_boundaries(fig, ax, run, bounds, key)
    elif not drawn:  # no outlines: district points give the picture its places
        ax.scatter(table.lon, table.lat, s=6, color="#9a9a9a", zorder=2, linewidths=0)
    for _, line in data.rivers().groupby("river"):
        ax.plot(line.lon, line.lat, color="#5b8fd6", linewidth=0.8, alpha=0.7, zorder=2)

    biggest = max(int(hit[key].max()) if len(hit) else 1, 1)
    scale = 700.0 / biggest  # marker area [pt^2] per household
    circles = bounds is None and len(hit) > 0
    if circles:
        ax.scatter(hit.lon, hit.lat, s=hit[key] * scale + 6, facecolor=PROVINCIAL_COLOUR,
                   edgecolor="#5a3a00", alpha=0.6, linewidths=0.6, zorder=4)
    _label_districts(ax, hit, key, scale, extent, circles=bounds is None, size=size)
    _frame_axes(ax, extent)
    _hazard_colorbar(fig, cax, image, layer)
    if circles:
        _circle_legend(fig, key, biggest, scale)
    _draw_inset(inset, table, extent, outlines=drawn)
    return fig, ax


def _split_chart(provinces: pd.DataFrame, size: tuple[float, float] = (7.0, 2.3)) -> bytes:
    """Stacked horizontal bars: federal and provincial PKR per province [PKR million]."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0], 0.32 * len(provinces) + 0.75))
    ax = fig.add_axes((0.22, 0.3, 0.74, 0.65))
    rows = provinces.iloc[::-1]
    unit, word = (1e9, "billion") if provinces.amount_pkr.max() >= 1e9 else (1e6, "million")
    fed = rows.federal_pkr.to_numpy() / unit
    prov = rows.provincial_pkr.to_numpy() / unit
    ax.barh(rows.province, fed, color=FEDERAL_COLOUR, label="federal", height=0.6)
    ax.barh(rows.province, prov, left=fed, color=PROVINCIAL_COLOUR, label="provincial", height=0.6)
    for y, (f, p) in enumerate(zip(fed, prov, strict=True)):
        ax.text(f + p, y, f"  {f + p:,.{2 if f + p < 10 else 1}f}", va="center", fontsize=7)
    ax.set_xlim(0, max((fed + prov).max(), 1e-9) * 1.18)
    ax.set_xlabel(f"PKR {word}", fontsize=7.5)
    ax.tick_params(labelsize=7.5)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    return _png(fig)

