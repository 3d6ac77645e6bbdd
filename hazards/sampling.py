"""Per-household hazard intensity by direct affine indexing over the coordinate columns.

Rules
-----
* Points are EPSG:4326 lon/lat and are transformed to the raster's CRS (never the reverse).
* A point on a pixel edge belongs to the pixel whose left (columns) or top (rows) edge it lies
  on. "On the edge" allows for registries that round coordinates: a point within ``edge_tol``
  (raster units) of an edge is taken to lie on it. The default, 5.00001e-5 degrees for
  geographic rasters, covers coordinates rounded to 4 or more decimals; for projected rasters it
  is 1 mm. A plain floored inverse transform (rasterio's ``rowcol`` and ``sample`` included)
  misassigns about a third of exact edge points through float round-off.
* A point outside the raster gets NaN intensity and status ``OUTSIDE``; a point on a nodata
  (NaN) pixel gets NaN and status ``NODATA``; otherwise status ``INSIDE``.

Work
----
Points are located (transformed and indexed) and gathered in blocks of :data:`BLOCK` points,
spread over :data:`THREADS` threads (numpy and PROJ release the GIL in their loops). Each block
is computed on its own by the same arithmetic, so results do not depend on the block size or the
number of threads. :class:`Points` locates a set of points once per raster grid and reuses the
pixel index for every layer on that grid (ensembles: many hazard layers, one registry).
"""

from __future__ import annotations

import functools
import logging
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from pyproj import CRS, Transformer

from hazards.errors import HazardError
from hazards.layer import crs_of, transform_of

log = logging.getLogger(__name__)

INSIDE, OUTSIDE, NODATA = np.int8(0), np.int8(1), np.int8(2)
GEOGRAPHIC_EDGE_TOL = 5.00001e-5
#: Points overlaid per block (bounds the temporaries; results do not depend on it).
BLOCK = 1 << 17
#: Threads that locate and gather blocks of points (results do not depend on it).
THREADS = 2
PROJECTED_EDGE_TOL = 1e-3


def _axis(
    coord: np.ndarray, origin: float, step: float, size: int, tol: float, edge_shift: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel index along one axis as float64 (edges exact within ``tol``) and whether it lies
    in ``[0, size)``; the index is meaningless where it does not.

    The rule: with ``pos = (coord - origin) / step``, a point on edge ``k = rint(pos)``, i.e.
    with ``|coord - (origin + k * step)| <= tol``, goes to pixel ``k + edge_shift``, any other
    point to ``floor(pos)``. Computed in two steps with the same result for every point:

    1. ``pos`` approximately (a multiply by ``1 / step``, off by a few units in the last place)
       and its floor, and the points within ``tol / |step|`` of an integer plus a margin for
       round-off (256 units in the last place of the grid's extent, in pixels). A point farther
       from every integer cannot be on an edge, and its floor is that of the exact ``pos``
       (points far outside the grid are outside either way).
    2. For those few candidates, the rule itself, operation for operation as written above.
    """
    pos = np.subtract(coord, origin)
    pos *= 1.0 / step  # approximate fractional pixel position (exact where it matters, below)
    idx = np.floor(pos)
    # Distance to the nearest integer (edge) in pixels: |frac - 0.5| is 0.5 on an edge.
    near = np.subtract(pos, idx, out=pos)
    near -= 0.5
    np.abs(near, out=near)
    eps = np.finfo(np.float64).eps
    margin = 256 * eps * ((abs(origin) + tol) / abs(step) + size + 2)
    candidate = near >= 0.5 - (tol / abs(step) + margin)
    at = np.flatnonzero(candidate)
    if at.size:
        c = coord[at]
        exact = (c - origin) / step
        k = np.rint(exact)
        # Distance to the nearest edge, in coordinate units from the edge's own value.
        on_edge = np.abs(c - (origin + k * step)) <= tol
        idx[at] = np.where(on_edge, k + edge_shift, np.floor(exact))
    # NaN and infinities fail both comparisons.
    inside = idx >= 0
    inside &= idx < size
    return idx, inside


def _index(
    coord: np.ndarray, origin: float, step: float, size: int, tol: float, *, edge_shift: int = 0
) -> np.ndarray:
    """Pixel index along one axis, edges exact within ``tol``; -1 when outside.

    A point on edge ``k`` (``origin + k * step``) goes to pixel ``k + edge_shift``.
    """
    idx = np.full(np.shape(coord), -1, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        pos, inside = _axis(np.asarray(coord, float), origin, step, size, tol, edge_shift)
        np.copyto(idx, pos, where=inside, casting="unsafe")
    return idx


@functools.lru_cache(maxsize=32)
def _transformer(crs_text: str) -> Transformer | None:
    """None when the raster is in EPSG:4326 already, else a lon/lat -> raster CRS transformer.

    pyproj transformers are thread-safe (each thread gets its own PROJ context)."""
    crs = CRS.from_user_input(crs_text)
    if crs.equals(CRS.from_epsg(4326)) or (crs.is_geographic and crs.to_epsg() == 4326):
        return None
    return Transformer.from_crs(4326, crs, always_xy=True)


@functools.lru_cache(maxsize=32)
def _is_geographic(crs_text: str) -> bool:
    return CRS.from_user_input(crs_text).is_geographic


def to_raster_crs(layer: xr.DataArray, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Transform EPSG:4326 lon/lat columns to the raster's CRS (one vectorized call)."""
    transformer = _transformer(crs_of(layer))
    if transformer is None:
        return np.asarray(lon, float), np.asarray(lat, float)
    x, y = transformer.transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.asarray(x), np.asarray(y)


def _edge_tol(crs_text: str, edge_tol: float | None) -> float:
    if edge_tol is not None:
        return float(edge_tol)
    return GEOGRAPHIC_EDGE_TOL if _is_geographic(crs_text) else PROJECTED_EDGE_TOL


def _north_up(layer: xr.DataArray):
    t = transform_of(layer)
    if t.b != 0 or t.d != 0:
        raise HazardError("rotated rasters are not supported; warp the raster north-up first.")
    return t


def pixel_index(
    layer: xr.DataArray, x: np.ndarray, y: np.ndarray, *, edge_tol: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) of points already in the raster's CRS; -1 where outside."""
    t = _north_up(layer)
    edge_tol = _edge_tol(crs_of(layer), edge_tol)
    rows, cols = layer.shape[-2:]
    col = _index(np.asarray(x, float), t.c, t.a, cols, edge_tol)
    # North-up (e < 0): edge k is the top edge of row k. South-up (e > 0): it is the top
    # edge of row k - 1.
    row = _index(np.asarray(y, float), t.f, t.e, rows, edge_tol, edge_shift=-1 if t.e > 0 else 0)
    outside = (row < 0) | (col < 0)
    row[outside] = -1
    col[outside] = -1
    return row, col


# ---------------------------------------------------------------------------------------------
# Locating points on a grid, and gathering a layer's values at located points
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Grid:
    """What locating points needs of a raster: its CRS, transform, shape and edge tolerance."""

    crs: str
    transform: tuple[float, ...]
    shape: tuple[int, int]
    edge_tol: float

    @classmethod
    def of(cls, layer: xr.DataArray, edge_tol: float | None) -> _Grid:
        if np.ndim(layer) != 2:
            raise HazardError(f"sample() takes a 2-D layer (y, x); got dims {layer.dims}.")
        t = _north_up(layer)
        crs = crs_of(layer)
        rows, cols = (int(n) for n in layer.shape)
        return cls(str(crs), tuple(float(v) for v in t[:6]), (rows, cols), _edge_tol(crs, edge_tol))

    @property
    def pixels(self) -> int:
        return self.shape[0] * self.shape[1]

    def index_dtype(self) -> type:
        """The smallest integer type holding every flat index and the outside marker."""
        return np.int32 if self.pixels < np.iinfo(np.int32).max else np.int64

    def locate(self, lon: np.ndarray, lat: np.ndarray, out: np.ndarray) -> None:
        """Write each point's flat pixel index ``row * width + col`` into ``out``, and
        :attr:`pixels` (one past the last pixel) where the point is outside the raster."""
        a, _, c, _, e, f = self.transform
        rows, cols = self.shape
        transformer = _transformer(self.crs)
        with np.errstate(invalid="ignore", over="ignore"):
            if transformer is None:
                x, y = lon, lat
            else:
                x, y = transformer.transform(lon, lat)
                x, y = np.asarray(x, float), np.asarray(y, float)
            col, col_in = _axis(x, c, a, cols, self.edge_tol)
            # North-up (e < 0): edge k is the top edge of row k. South-up (e > 0): it is the
            # top edge of row k - 1.
            row, row_in = _axis(y, f, e, rows, self.edge_tol, -1 if e > 0 else 0)
            # row * width + col is exact in float64 (far below 2**53).
            row *= cols
            row += col
            row_in &= col_in
            out.fill(self.pixels)
            np.copyto(out, row, where=row_in, casting="unsafe")


def same_grid(a: xr.DataArray, b: xr.DataArray) -> bool:
    """Whether two 2-D layers lie on one grid (CRS, transform and shape): a point then falls in
    the same pixel of both, and :class:`Points` locates it once for both."""
    return _Grid.of(a, None) == _Grid.of(b, None)


def _blocks(n: int, work: Callable[[int, int], None]) -> None:
    """Run ``work(start, stop)`` over blocks of :data:`BLOCK` points, on :data:`THREADS`
    threads when there is more than one block. Each block writes only its own slice."""
    starts = range(0, n, BLOCK)
    if len(starts) <= 1 or THREADS <= 1:
        for start in starts:
            work(start, min(start + BLOCK, n))
        return
    with ThreadPoolExecutor(THREADS, thread_name_prefix="sampling") as pool:
        # list() re-raises the first error of any block.
        list(pool.map(lambda start: work(start, min(start + BLOCK, n)), starts))


def locate(layer: xr.DataArray, lon: Any, lat: Any, *, edge_tol: float | None = None) -> np.ndarray:
    """Flat pixel index ``row * width + col`` (int64) of each EPSG:4326 point on the layer's
    grid; -1 outside. The same edge rule as :func:`sample`, located block by block on
    :data:`THREADS` threads.

    Parameters
    ----------
    layer : xarray.DataArray
        A 2-D north-up layer (only its grid is read).
    lon, lat : array-like
        Points [degrees, EPSG:4326].
    edge_tol : float, optional
        As :func:`sample`.
    """
    grid = _Grid.of(layer, edge_tol)
    lon, lat = _as_points(lon, lat)
    out = np.empty(len(lon), np.int64)
    _blocks(len(lon), lambda start, stop: grid.locate(lon[start:stop], lat[start:stop], out[start:stop]))
    out[out == grid.pixels] = -1
    return out


def _flat_values(layer: xr.DataArray) -> np.ndarray:
    """The layer's values as one float32 row (a view when they are float32 already)."""
    table = np.ascontiguousarray(np.asarray(layer.values), dtype=np.float32).reshape(-1)
    return table if table.size else np.full(1, np.nan, np.float32)  # no pixels: all outside


def _gather(
    table: np.ndarray, marker: int, index: np.ndarray, intensity: np.ndarray, status: np.ndarray
) -> None:
    """Intensity and status at located points (``index``; ``marker`` where outside)."""
    # mode="clip": indices are valid by construction (the marker, one past the last pixel, is
    # clipped to it and overwritten below); it also skips numpy's bounds check.
    np.take(table, index, out=intensity, mode="clip")
    outside = index == marker
    any_outside = outside.any()
    if any_outside:
        np.copyto(intensity, np.float32(np.nan), where=outside)
    # NODATA where NaN, else INSIDE (0): the NaN flags written as 0/1 bytes, then scaled.
    np.isnan(intensity, out=status.view(bool))
    status *= NODATA
    if any_outside:
        np.copyto(status, OUTSIDE, where=outside)


def _as_points(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    lon = np.ascontiguousarray(lon, dtype=np.float64).reshape(-1)
    lat = np.ascontiguousarray(lat, dtype=np.float64).reshape(-1)
    if lon.shape != lat.shape:
        raise HazardError(f"lon and lat differ in length ({len(lon)} and {len(lat)}); give one pair per point.")
    return lon, lat


def _sample(
    layer: xr.DataArray,
    grid: _Grid,
    lon: np.ndarray,
    lat: np.ndarray,
    index: np.ndarray | None,
    *,
    keep: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Intensity and status at the points, and their flat pixel index when located here and
    ``keep``. Points are located first unless ``index`` (from an earlier call) is given."""
    table = _flat_values(layer)
    marker = grid.pixels
    n = len(lon)
    intensity = np.empty(n, dtype=np.float32)
    status = np.empty(n, dtype=np.int8)
    located = None
    if index is None:
        located = np.empty(n, dtype=grid.index_dtype()) if keep else None

        def work(start: int, stop: int) -> None:
            if located is None:
                block = np.empty(stop - start, dtype=grid.index_dtype())
            else:
                block = located[start:stop]
            grid.locate(lon[start:stop], lat[start:stop], block)
            _gather(table, marker, block, intensity[start:stop], status[start:stop])
    else:

        def work(start: int, stop: int) -> None:
            _gather(table, marker, index[start:stop], intensity[start:stop], status[start:stop])

    _blocks(n, work)
    return intensity, status, located


def sample(
    layer: xr.DataArray,
    lon: np.ndarray,
    lat: np.ndarray,
    *,
    edge_tol: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Intensity at each household and a status code (INSIDE, OUTSIDE or NODATA).

    To sample several layers on one grid at the same points, :class:`Points` locates the
    points once and gives the same answers.

    Parameters
    ----------
    layer
        A 2-D hazard layer (see :mod:`hazards.layer`).
    lon, lat
        EPSG:4326 coordinates [degrees], any array-likes of equal length.
    edge_tol
        Distance [raster CRS units] within which a point counts as on a pixel edge.

    Returns
    -------
    intensity : float32 array, NaN where outside or nodata; in ``layer.attrs['units']``
    status : int8 array
    """
    grid = _Grid.of(layer, edge_tol)
    lon, lat = _as_points(lon, lat)
    intensity, status, _ = _sample(layer, grid, lon, lat, None)
    return intensity, status


class Points:
    """Points (households) located once per raster grid, for sampling many layers.

    ``Points(lon, lat).sample(layer)`` returns exactly what ``sample(layer, lon, lat)`` returns.
    The first layer on a grid locates the points on it; the flat pixel index of every point
    (with an outside marker) is kept per grid key (CRS text, transform, shape and edge
    tolerance), so another layer on the same grid (an ensemble's members: same CRS, transform
    and shape, other values) costs only a gather. A layer on another grid is located afresh.

    Parameters
    ----------
    lon, lat
        EPSG:4326 coordinates [degrees], any array-likes of equal length; kept (not copied
        when already contiguous float64), so do not change them while the object is in use.
    max_grids
        Grids whose index is kept (least recently used dropped first); each costs 4 bytes per
        point (8 for rasters of 2**31 pixels or more).
    """

    def __init__(self, lon, lat, *, max_grids: int = 4) -> None:
        self.lon, self.lat = _as_points(lon, lat)
        self.max_grids = max(int(max_grids), 1)
        self._index: OrderedDict[_Grid, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self.lon)

    def sample(self, layer: xr.DataArray, *, edge_tol: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Intensity and status at the points, as :func:`sample` gives them.

        Parameters
        ----------
        layer
            A 2-D hazard layer (see :mod:`hazards.layer`).
        edge_tol
            Distance [raster CRS units] within which a point counts as on a pixel edge.

        Returns
        -------
        intensity : float32 array, NaN where outside or nodata; in ``layer.attrs['units']``
        status : int8 array
        """
        grid = _Grid.of(layer, edge_tol)
        index = self._index.get(grid)
        if index is not None:
            self._index.move_to_end(grid)
        intensity, status, located = _sample(layer, grid, self.lon, self.lat, index, keep=True)
        if located is not None:
            log.debug("located %d points on grid %s %s", len(self), grid.shape, grid.transform)
            self._index[grid] = located
            while len(self._index) > self.max_grids:
                self._index.popitem(last=False)
        return intensity, status
