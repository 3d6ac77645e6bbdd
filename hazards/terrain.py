"""Pakistan's terrain as a D8 flow tree: the rasters ``data/build_terrain.py`` derives from the DEM.

:func:`terrain` loads them once (NOAA GLOBE 30 arc-second DEM, 2100 x 1680 cells, EPSG:4326)
into a :class:`Terrain`: elevation, D8 flow direction and downstream cell, upstream area,
height above nearest drainage (HAND, Nobre et al. 2011) and the drainage cell each cell drains
to. :meth:`Terrain.accumulate` routes any weights down the flow tree at runtime (one numpy step
per topological level) and :meth:`Terrain.route` does the same with storage that fills on the
way. pysheds is needed only to rebuild the rasters, never here.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from affine import Affine

from hazards import tables
from hazards.errors import DataFileError, HazardError

log = logging.getLogger(__name__)

#: pysheds / ESRI D8 codes: N, NE, E, SE, S, SW, W, NW (0 = no downstream cell).
DIRMAP = (64, 128, 1, 2, 4, 8, 16, 32)
_D_ROW = np.array([-1, -1, 0, 1, 1, 1, 0, -1])
_D_COL = np.array([0, 1, 1, 1, 0, -1, -1, -1])
KM_PER_DEG = 111.32
FILES = {
    "flowdir": "flowdir_d8.tif",
    "upstream_km2": "upstream_km2.tif",
    "hand_dm": "hand_dm.tif",
    "drain_index": "drain_index.tif",
    "drain_elev_m": "drain_elev_m.tif",
    "level": "flow_level.tif",
}


@dataclass(frozen=True)
class Window:
    """Rows ``r0:r1`` and columns ``c0:c1`` of the terrain grid, and their transform."""

    r0: int
    r1: int
    c0: int
    c1: int
    transform: Affine

    @property
    def shape(self) -> tuple[int, int]:
        return self.r1 - self.r0, self.c1 - self.c0

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.r0, self.r1), slice(self.c0, self.c1)


class Terrain:
    """The derived terrain rasters on the DEM's grid (read-only arrays; flat index = row * cols + col).

    Attributes
    ----------
    transform, crs, shape
        The grid (EPSG:4326, 1/120 degree).
    elevation
        Ground elevation [m], float32, NaN at sea (GLOBE, unconditioned).
    flowdir
        D8 code (:data:`DIRMAP`), uint8; 0 where water leaves the grid (sea, edge, outlet).
    down
        Flat index of each cell's downstream cell, int64; -1 at outlets and sea.
    upstream_km2
        Upstream area [km2] including the cell, NaN at sea.
    hand_m
        Height above the nearest drainage cell along the flow path [m], NaN at sea.
    drain_index
        Flat index of the drainage cell each cell drains to, int64; -1 at sea.
    drain_elev_m
        Conditioned elevation [m] of the drainage cells (NaN elsewhere).
    level
        Topological level in the flow tree (0 = no upstream cell).
    cell_km2
        Cell area [km2], (rows, 1), shrinking with cos(latitude).
    drain_km2
        The upstream-area threshold [km2] of the drainage network behind HAND.
    """

    def __init__(self, arrays: dict[str, np.ndarray], elevation: np.ndarray, transform: Affine,
                 crs: str, drain_km2: float) -> None:
        self.transform = transform
        self.crs = crs
        self.shape = elevation.shape
        self.elevation = elevation
        self.sea = ~np.isfinite(elevation)
        self.flowdir = arrays["flowdir"]
        self.upstream_km2 = arrays["upstream_km2"]
        self.hand_m = np.where(arrays["hand_dm"] == -32768, np.nan, arrays["hand_dm"] / 10.0).astype(np.float32)
        self.drain_index = arrays["drain_index"].astype(np.int64)
        self.drain_elev_m = arrays["drain_elev_m"]
        self.level = arrays["level"].astype(np.int64)
        self.drain_km2 = drain_km2
        rows, cols = self.shape
        lat = transform.f + transform.e * (np.arange(rows) + 0.5)
        self.lat = lat
        self.lon = transform.c + transform.a * (np.arange(cols) + 0.5)
        self.cell_km2 = ((abs(transform.a) * KM_PER_DEG) * (abs(transform.e) * KM_PER_DEG)
                         * np.cos(np.radians(lat)))[:, None]
        self.down = self._downstream()
        for a in (self.elevation, self.flowdir, self.upstream_km2, self.hand_m, self.drain_index,
                  self.drain_elev_m, self.level, self.down):
            a.flags.writeable = False

    def _downstream(self) -> np.ndarray:
        rows, cols = self.shape
        down = np.full(rows * cols, -1, dtype=np.int64)
        f = self.flowdir.ravel()
        for k, code in enumerate(DIRMAP):  # the 8 directions
            sel = np.flatnonzero(f == code)
            r, c = np.divmod(sel, cols)
            r, c = r + _D_ROW[k], c + _D_COL[k]
            ok = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
            down[sel[ok]] = r[ok] * cols + c[ok]
        return down

    # ---------------------------------------------------------------------------------------
    # windows
    # ---------------------------------------------------------------------------------------

    def window(self, bbox: Sequence[float], pad_km: float = 0.0) -> Window:
        """The grid window covering ``bbox`` (lon_min, lat_min, lon_max, lat_max), widened by ``pad_km``."""
        try:
            left, bottom, right, top = (float(v) for v in bbox)
        except (TypeError, ValueError):
            raise HazardError(f"bbox {bbox!r} must be four numbers (lon_min, lat_min, lon_max, lat_max).") from None
        if not (left < right and bottom < top):
            raise HazardError(f"bbox {tuple(bbox)} must be (left, bottom, right, top) with left<right, bottom<top.")
        t = self.transform
        pad_y = pad_km / KM_PER_DEG
        pad_x = pad_km / (KM_PER_DEG * math.cos(math.radians(0.5 * (bottom + top))))
        eps = 1e-6
        c0 = max(int(math.floor((left - pad_x - t.c) / t.a + eps)), 0)
        c1 = min(int(math.ceil((right + pad_x - t.c) / t.a - eps)), self.shape[1])
        r0 = max(int(math.floor((top + pad_y - t.f) / t.e + eps)), 0)
        r1 = min(int(math.ceil((bottom - pad_y - t.f) / t.e - eps)), self.shape[0])
        if c1 <= c0 or r1 <= r0:
            left_, bottom_, right_, top_ = self.bounds
            raise HazardError(
                f"bbox {tuple(bbox)} is outside the terrain grid ({left_}-{right_} E, "
                f"{bottom_}-{top_} N); give a bbox inside it."
            )
        return Window(r0, r1, c0, c1, t @ Affine.translation(c0, r0))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        t = self.transform
        rows, cols = self.shape
        return t.c, t.f + t.e * rows, t.c + t.a * cols, t.f

    def rowcol(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of lon/lat points (may fall outside the grid)."""
        t = self.transform
        col = np.floor((np.asarray(lon, float) - t.c) / t.a).astype(int)
        row = np.floor((np.asarray(lat, float) - t.f) / t.e).astype(int)
        return row, col

    # ---------------------------------------------------------------------------------------
    # routing
    # ---------------------------------------------------------------------------------------

    @functools.cached_property
    def _edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(source, target, level bounds): every flow edge, sorted by the source's level."""
        src = np.flatnonzero(self.down >= 0)
        lev = self.level.ravel()[src]
        order = np.argsort(lev, kind="stable")
        src = src[order]
        bounds = np.searchsorted(lev[order], np.arange(lev.max() + 2))
        return src, self.down[src], bounds

    def accumulate(self, weights: np.ndarray) -> np.ndarray:
        """Weighted D8 flow accumulation: each cell's weight plus everything upstream of it.

        ``weights`` is an array of the grid's shape (NaN counts as 0). One numpy step per
        topological level of the flow tree (cells of a level never drain into each other):
        0.1 s on the full grid (plus about 1 s once to sort the edges by level); a scipy
        ``spsolve_triangular`` on the level-ordered sparse matrix gives the same result in 2 s
        (plus 1.3 s to build the matrix). The total over outlets equals the total
        weight: nothing is lost or created.
        """
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != self.shape:
            raise HazardError(f"weights have shape {w.shape}; accumulate() needs the terrain grid's {self.shape}.")
        acc = np.nan_to_num(w, nan=0.0).ravel().copy()
        src, dst, bounds = self._edges
        for i in range(len(bounds) - 1):  # a loop over the levels of the flow tree
            s, e = bounds[i], bounds[i + 1]
            if e > s:
                np.add.at(acc, dst[s:e], acc[src[s:e]])
        return acc.reshape(self.shape)

    @functools.cached_property
    def relief_m(self) -> np.ndarray:
        """Local relief [m]: highest minus lowest ground in the 5 x 5 cells (about 4 km) around
        each cell (NaN elevations count as 0, the sea)."""
        from scipy import ndimage

        z = np.nan_to_num(self.elevation, nan=0.0)
        return ndimage.maximum_filter(z, size=5) - ndimage.minimum_filter(z, size=5)

    @functools.cached_property
    def network(self) -> Network:
        """The drainage network behind HAND as a compact tree (see :class:`Network`)."""
        cells = np.unique(self.drain_index[self.drain_index >= 0])
        pos = np.full(self.down.size, -1, dtype=np.int64)
        pos[cells] = np.arange(cells.size)
        d = self.down[cells]
        down = np.where(d >= 0, pos[np.maximum(d, 0)], -1)
        lev = self.level.ravel()[cells]
        order = np.argsort(lev, kind="stable")
        bounds = np.searchsorted(lev[order], np.arange(lev.max() + 2))
        return Network(cells, pos, down, order, bounds)

    def route(self, local: np.ndarray, capacity: np.ndarray) -> tuple[np.ndarray, float]:
        """Route volumes down the drainage network, each node keeping up to its capacity.

        ``local`` and ``capacity`` are per network node (see :attr:`network`). A node's inflow
        is its local volume plus the spill of the nodes draining into it; it stores
        ``min(inflow, capacity)`` and passes the rest on. Returns (stored per node, volume that
        left the grid). Without capacity this is :meth:`accumulate` on the network.
        """
        net = self.network
        inflow = np.asarray(local, dtype=np.float64).copy()
        cap = np.asarray(capacity, dtype=np.float64)
        stored = np.zeros_like(inflow)
        lost = 0.0
        for i in range(len(net.bounds) - 1):  # a loop over the levels of the network
            idx = net.order[net.bounds[i]:net.bounds[i + 1]]
            if idx.size == 0:
                continue
            v = inflow[idx]
            keep = np.minimum(v, cap[idx])
            stored[idx] = keep
            spill = v - keep
            d = net.down[idx]
            out = d >= 0
            np.add.at(inflow, d[out], spill[out])
            lost += float(spill[~out].sum())
        return stored, lost


@dataclass(frozen=True)
class Network:
    """The drainage cells as a tree: ``cells`` (flat indices), ``pos`` (flat index -> node or -1),
    ``down`` (node -> downstream node or -1), and the nodes in topological ``order`` with level
    ``bounds``."""

    cells: np.ndarray
    pos: np.ndarray
    down: np.ndarray
    order: np.ndarray
    bounds: np.ndarray

    def first_downstream(self, selected: np.ndarray) -> np.ndarray:
        """For every node, the first ``selected`` node at or below it along the flow (-1: none).

        Pointer jumping: about log2(longest path) numpy steps.
        """
        n = self.cells.size
        own = np.arange(n)
        ptr = np.where(selected | (self.down < 0), own, self.down)
        for _ in range(64):
            nxt = ptr[ptr]
            if np.array_equal(nxt, ptr):
                break
            ptr = nxt
        return np.where(selected[ptr], ptr, -1)


def terrain_dir() -> Path:
    return tables.data_dir() / "terrain"


@functools.cache
def terrain() -> Terrain:
    """The shipped terrain rasters, loaded once (about 0.5 s)."""
    import rasterio

    folder = terrain_dir()
    missing = [name for name in FILES.values() if not (folder / name).exists()]
    if missing:
        raise DataFileError(
            f"{folder}: {missing} missing. They ship with the repository; restore them with "
            "`git checkout -- data/terrain` or rebuild them with `.venv/bin/python "
            "data/build_terrain.py` (needs the dev extra pysheds)."
        )
    arrays: dict[str, np.ndarray] = {}
    drain_km2 = float("nan")
    for key, name in FILES.items():
        with rasterio.open(folder / name) as src:
            arrays[key] = src.read(1)
            transform = src.transform
            drain_km2 = float(src.tags().get("drain_km2", drain_km2))
    with rasterio.open(tables.dem_path()) as src:
        if src.transform != transform or (src.height, src.width) != arrays["flowdir"].shape:
            raise DataFileError(
                f"{folder}: the terrain rasters are not on the DEM's grid; rebuild them with "
                "`.venv/bin/python data/build_terrain.py`."
            )
        z = src.read(1).astype(np.float32)
    z[z <= 0] = np.nan  # GLOBE codes the sea as 0
    log.info("terrain loaded from %s (%d x %d)", folder, *z.shape)
    return Terrain(arrays, z, transform, "EPSG:4326", drain_km2)
