"""Seeded hazard generators for building scenarios before (or without) an observed raster.

Six generators, one per hazard kind, each a pure function of its parameters and a seed that
returns a layer (see :mod:`hazards.layer`) on an EPSG:4326 grid (default 1/120 degree, about
1 km; the DEM's own grid when a DEM is given):

==================  =======================  =====================================================
kind                function                 intensity [units]
==================  =======================  =====================================================
``riverine-flood``  :func:`riverine_flood`   flood depth [m]; by default on the DEM's drainage (HAND)
``flash-flood``     :func:`flash_flood`      event rainfall [mm] from storm cells, or (terrain)
                                             the flood depth [m] that rain makes on the terrain
``heatwave``        :func:`heatwave`         N-day mean daily maximum temperature or heat index
                                             [degC], from station normals and a lapse rate
``drought``         :func:`drought`          standardized precipitation index [index] (or [mm]),
                                             inside Pakistan
``earthquake``      :func:`earthquake`       peak ground acceleration [g] or MMI [index]
``cyclone``         :func:`cyclone`          maximum sustained 10 m wind [m/s] along a track
==================  =======================  =====================================================

Pick one by name with :func:`generate`; an unknown kind or parameter fails listing the valid
ones. Everything is vectorized over the grid (numpy); the only Python loops run over rivers,
storm cells, days or track positions, never over grid cells.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from affine import Affine
from scipy import ndimage, special
from scipy.ndimage import distance_transform_edt, gaussian_filter

from hazards import tables as data
from hazards.errors import HazardError
from hazards.layer import crs_of, make_layer, transform_of

log = logging.getLogger(__name__)

KM_PER_DEG = 111.32
EARTH_RADIUS_KM = 6371.0
#: Default extent of the demo: the lower Indus from Dera Ismail Khan to the sea (degrees).
LOWER_INDUS_BBOX = (66.5, 23.6, 72.0, 31.9)
#: Peshawar valley, Swat, Buner and Mardan: the 2010 and 2022 flash-flood country.
FLASH_FLOOD_BBOX = (71.0, 33.6, 73.0, 35.6)
#: Sindh, from Karachi to Jacobabad.
HEATWAVE_BBOX = (66.5, 23.6, 71.2, 28.6)
#: Sindh with Tharparkar and south-east Balochistan.
DROUGHT_BBOX = (66.0, 24.0, 71.5, 28.5)
#: 200 km around the 2005 Kashmir earthquake's epicentre.
EARTHQUAKE_BBOX = (71.6, 32.5, 75.6, 36.5)
#: The Sindh and Lasbela coast from Hub to Sir Creek.
CYCLONE_BBOX = (65.5, 22.5, 70.5, 26.5)
DEFAULT_RESOLUTION = 1.0 / 120.0
#: A grid larger than this many cells is refused (about 320 MB per float64 array).
MAX_CELLS = 40_000_000

#: Approximate Arabian Sea coastline of Pakistan, west to east (lon, lat), used for the
#: heatwave's sea-breeze cooling. Points at named places, accurate to a few kilometres.
_COAST = np.array([
    (61.77, 25.05),  # Jiwani
    (62.33, 25.12),  # Gwadar
    (63.47, 25.26),  # Pasni
    (64.64, 25.21),  # Ormara
    (65.50, 25.38),  # Hingol river mouth
    (66.45, 25.40),  # Sonmiani (Miani Hor)
    (66.67, 24.84),  # Cape Monze
    (66.98, 24.80),  # Karachi (Manora)
    (67.30, 24.75),  # Port Qasim (Phitti creek)
    (67.45, 24.14),  # Keti Bandar
    (67.90, 23.95),  # Shah Bandar
    (68.20, 23.68),  # Sir Creek
])


# --------------------------------------------------------------------------------------------
# grids, DEMs and small numerical helpers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Grid:
    """A north-up grid: its transform, shape, CRS and the lon/lat of every cell centre."""

    transform: Affine
    rows: int
    cols: int
    crs: str
    lon: np.ndarray  # broadcastable to (rows, cols) [degrees]
    lat: np.ndarray
    geographic: bool
    km_per_unit: float  # projected CRS: km per CRS unit

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows, self.cols

    def pixel_km(self) -> tuple[float, float]:
        """(north-south, east-west) pixel size [km]; east-west at the grid's mid-latitude."""
        t = self.transform
        if self.geographic:
            lat0 = float(np.mean(self.lat))
            return abs(t.e) * KM_PER_DEG, abs(t.a) * KM_PER_DEG * math.cos(math.radians(lat0))
        return abs(t.e) * self.km_per_unit, abs(t.a) * self.km_per_unit

    def to_xy(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lon/lat [degrees] to the grid's CRS."""
        if self.geographic:
            return np.asarray(lon, float), np.asarray(lat, float)
        from pyproj import Transformer

        return Transformer.from_crs("EPSG:4326", self.crs, always_xy=True).transform(lon, lat)

    def rowcol(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and column (may fall outside the grid) of lon/lat points."""
        x, y = self.to_xy(lon, lat)
        t = self.transform
        col = np.floor((np.asarray(x) - t.c) / t.a).astype(int)
        row = np.floor((np.asarray(y) - t.f) / t.e).astype(int)
        return row, col


def _crs_info(crs: str) -> tuple[bool, float]:
    """(is geographic, km per CRS unit) of a CRS."""
    if crs.upper() in ("EPSG:4326", "OGC:CRS84"):
        return True, 1.0
    from pyproj import CRS

    c = CRS.from_user_input(crs)
    if c.is_geographic:
        return True, 1.0
    factor = c.axis_info[0].unit_conversion_factor if c.axis_info else 1.0
    return False, factor / 1000.0


def _make_grid(transform: Affine, rows: int, cols: int, crs: str) -> _Grid:
    x = transform.c + transform.a * (np.arange(cols) + 0.5)
    y = transform.f + transform.e * (np.arange(rows) + 0.5)
    geographic, km_per_unit = _crs_info(crs)
    if geographic:
        lon, lat = x[None, :], y[:, None]
    else:
        from pyproj import Transformer

        xx, yy = np.meshgrid(x, y)
        lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(xx, yy)
    return _Grid(transform, rows, cols, crs, np.asarray(lon), np.asarray(lat), geographic, km_per_unit)


def _bbox(bbox: Sequence[float]) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(v) for v in bbox)
    except (TypeError, ValueError):
        raise HazardError(
            f"bbox {bbox!r} must be four numbers (lon_min, lat_min, lon_max, lat_max)."
        ) from None
    if len(values) != 4:
        raise HazardError(f"bbox {bbox!r} must be four numbers (lon_min, lat_min, lon_max, lat_max).")
    return values  # type: ignore[return-value]


def _grid(bbox: Sequence[float], resolution: float) -> tuple[Affine, int, int]:
    left, bottom, right, top = _bbox(bbox)
    if not (left < right and bottom < top):
        raise HazardError(f"bbox {tuple(bbox)} must be (left, bottom, right, top) with left<right, bottom<top.")
    if not resolution > 0:
        raise HazardError(f"resolution must be > 0 degrees, got {resolution}.")
    cols = int(round((right - left) / resolution))
    rows = int(round((top - bottom) / resolution))
    if rows < 1 or cols < 1:
        raise HazardError(f"bbox {tuple(bbox)} is smaller than one {resolution} degree cell; widen it.")
    if rows * cols > MAX_CELLS:
        raise HazardError(
            f"bbox {tuple(bbox)} at resolution {resolution} is {rows} x {cols} cells, over the "
            f"limit of {MAX_CELLS:,}; use a coarser resolution or a smaller bbox."
        )
    return Affine(resolution, 0.0, left, 0.0, -resolution, top), rows, cols


def _output_grid(bbox: Sequence[float], resolution: float) -> _Grid:
    transform, rows, cols = _grid(bbox, resolution)
    return _make_grid(transform, rows, cols, "EPSG:4326")


def _window_rc(
    transform: Affine, shape: tuple[int, int], bounds: tuple[float, float, float, float], source: str
) -> tuple[int, int, int, int]:
    """Rows r0:r1 and columns c0:c1 of a north-up raster covering ``bounds`` (raster CRS)."""
    t = transform
    if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
        raise HazardError(f"{source}: the DEM is not north-up; warp it north-up first (gdalwarp).")
    eps = 1e-6
    c0 = max(int(math.floor((bounds[0] - t.c) / t.a + eps)), 0)
    c1 = min(int(math.ceil((bounds[2] - t.c) / t.a - eps)), shape[1])
    r0 = max(int(math.floor((bounds[3] - t.f) / t.e + eps)), 0)
    r1 = min(int(math.ceil((bounds[1] - t.f) / t.e - eps)), shape[0])
    if c1 <= c0 or r1 <= r0:
        raise HazardError(
            f"{source}: the DEM does not overlap bbox {tuple(round(b, 4) for b in bounds)}; give a "
            "DEM that covers the area, or a bbox inside the DEM."
        )
    if (r1 - r0) * (c1 - c0) > MAX_CELLS:
        raise HazardError(
            f"{source}: the DEM window for the bbox is {r1 - r0} x {c1 - c0} cells, over the limit "
            f"of {MAX_CELLS:,}; use a smaller bbox or a coarser DEM."
        )
    return r0, r1, c0, c1


def _bounds_in(crs: str, bbox: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """A lon/lat bbox as bounds in ``crs`` (edges densified)."""
    if _crs_info(crs)[0]:
        return bbox
    from rasterio.warp import transform_bounds

    return tuple(transform_bounds("EPSG:4326", crs, *bbox, densify_pts=21))  # type: ignore[return-value]


def _load_dem(dem: str | Path | xr.DataArray, bbox: tuple[float, float, float, float]) -> tuple[_Grid, np.ndarray, str]:
    """The DEM window covering ``bbox`` on its own grid: (grid, elevation [m] with NaN, source).

    A path is read with rasterio, window only; a layer (see :mod:`hazards.layer`) is sliced.
    Nothing is resampled.
    """
    if isinstance(dem, xr.DataArray):
        crs = crs_of(dem)
        transform = transform_of(dem)
        units = dem.attrs.get("units", "m")
        if units != "m":
            raise HazardError(f"the DEM layer's units are {units!r}; give ground elevation in metres (m).")
        if dem.ndim != 2:
            raise HazardError(f"the DEM layer must be 2-D (y, x); got dims {dem.dims}.")
        r0, r1, c0, c1 = _window_rc(transform, dem.shape, _bounds_in(crs, bbox), "DEM layer")
        elev = np.asarray(dem.values[r0:r1, c0:c1], dtype=float)
        source = "layer"
    else:
        import rasterio
        from rasterio.errors import RasterioIOError
        from rasterio.windows import Window

        path = Path(dem)
        if not path.exists():
            raise HazardError(
                f"{path}: no such DEM. Give a GeoTIFF of ground elevation in metres, e.g. "
                "../shared/data/dem_globe_30arcsec_pakistan.tif."
            )
        try:
            src = rasterio.open(path)
        except RasterioIOError as exc:
            raise HazardError(f"{path}: not a readable DEM ({exc}); give a GeoTIFF/COG.") from exc
        with src:
            if src.crs is None:
                raise HazardError(
                    f"{path}: the DEM has no CRS. Set one, e.g. "
                    f"`gdal_edit.py -a_srs EPSG:4326 {path.name}`, and try again."
                )
            epsg = src.crs.to_epsg()
            crs = f"EPSG:{epsg}" if epsg else src.crs.to_wkt()
            r0, r1, c0, c1 = _window_rc(src.transform, (src.height, src.width), _bounds_in(crs, bbox), str(path))
            window = Window(c0, r0, c1 - c0, r1 - r0)
            try:
                values = src.read(1, window=window, masked=True)
            except RasterioIOError as exc:
                raise HazardError(f"{path}: the DEM cannot be read ({exc}); is it truncated?") from exc
            elev = values.astype(float).filled(np.nan) * src.scales[0] + src.offsets[0]
            transform = src.transform
        source = str(path)
    window_transform = transform @ Affine.translation(c0, r0)
    grid = _make_grid(window_transform, elev.shape[0], elev.shape[1], crs)
    return grid, elev, source


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], corr_cells: float) -> np.ndarray:
    """A seeded Gaussian random field, mean 0 and standard deviation 1 over the grid.

    White noise smoothed by a Gaussian kernel of standard deviation ``corr_cells / 2`` has the
    correlation ``exp(-h^2 / corr_cells^2)``: it falls to 1/e at ``corr_cells`` cells. Large
    kernels run on a coarser grid, interpolated bilinearly to ``shape``: cheap at any size.
    """
    rows, cols = shape
    sigma = max(float(corr_cells) / 2.0, 0.5)
    f = max(1, int(sigma // 4))
    coarse = gaussian_filter(rng.standard_normal((rows // f + 3, cols // f + 3)), sigma=sigma / f)
    field = ndimage.zoom(coarse, f, order=1)[:rows, :cols] if f > 1 else coarse[:rows, :cols]
    field = field - field.mean()
    sd = field.std()
    return field / sd if sd > 0 else field


def _haversine_km(lon: np.ndarray, lat: np.ndarray, lon0: float, lat0: float) -> np.ndarray:
    """Great-circle distance [km] from (lon0, lat0)."""
    p1, p2 = np.radians(lat0), np.radians(lat)
    dphi = p2 - p1
    dlmb = np.radians(lon - lon0)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _local_en_km(lon: np.ndarray, lat: np.ndarray, lon0: float, lat0: float) -> tuple[np.ndarray, np.ndarray]:
    """(east, north) [km] of points from (lon0, lat0): great-circle distance along the bearing."""
    d = _haversine_km(lon, lat, lon0, lat0)
    p1, p2 = np.radians(lat0), np.radians(lat)
    dlmb = np.radians(lon - lon0)
    bearing = np.arctan2(np.sin(dlmb) * np.cos(p2), np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dlmb))
    return d * np.sin(bearing), d * np.cos(bearing)


def _gumbel_variate(return_period: float) -> float:
    """Gumbel reduced variate y_T = -ln(-ln(1 - 1/T)) of a return period T [years]."""
    p = 1.0 - 1.0 / return_period
    return -math.log(-math.log(p)) if p > 0 else -math.inf


def _points(value: Any, name: str) -> np.ndarray:
    """(n, 2) lon/lat points from a pair or a sequence of pairs."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise HazardError(f"{name} must be lon,lat pairs, e.g. [[72.3, 34.8]]; got {value!r}.") from None
    if arr.ndim == 1 and arr.size == 2:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 2 or len(arr) == 0:
        raise HazardError(f"{name} must be lon,lat pairs, e.g. [[72.3, 34.8]]; got {value!r}.")
    if not np.isfinite(arr).all() or (np.abs(arr[:, 0]) > 180).any() or (np.abs(arr[:, 1]) > 90).any():
        raise HazardError(f"{name} must be lon,lat pairs in degrees (|lon|<=180, |lat|<=90); got {value!r}.")
    return arr


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise HazardError(message)


def _inside_pakistan(grid: _Grid, bbox: Sequence[float], *fields: np.ndarray) -> tuple[np.ndarray, ...]:
    """``fields`` with NaN outside Pakistan (cells not touching the shipped province outlines)."""
    from hazards import climate

    inside = climate.pakistan_mask(grid.transform, grid.shape, grid.crs)
    _check(bool(inside.any()), f"bbox {tuple(bbox)} has no cell inside Pakistan; move it, or set "
                               "inside_pakistan=false.")
    return tuple(np.where(inside, f, np.nan) for f in fields)


def _layer(values: np.ndarray, grid: _Grid, *, units: str, kind: str, name: str,
           provenance: dict[str, Any]) -> xr.DataArray:
    return make_layer(values, grid.transform, grid.crs, units=units, kind=kind,
                      provenance=provenance, name=name)


def _dem_label(dem: Any) -> Any:
    if dem is None:
        return None
    if isinstance(dem, xr.DataArray):
        try:
            return {"layer": json.loads(dem.attrs.get("provenance", "{}"))}
        except ValueError:
            return {"layer": dem.attrs.get("provenance")}
    return str(dem)


# --------------------------------------------------------------------------------------------
# riverine flood
# --------------------------------------------------------------------------------------------


def river_line(river: str) -> np.ndarray:
    """(n, 2) lon/lat waypoints of a river from ``data/rivers.csv``, upstream first."""
    table = data.rivers()
    pts = table[table.river == river.lower()][["lon", "lat"]].to_numpy(dtype=float)
    if len(pts) < 2:
        known = sorted(table.river.unique())
        raise HazardError(f"river {river!r} is not in data/rivers.csv; known rivers: {known}.")
    return pts


def rivers() -> list[str]:
    """Names of the rivers in ``data/rivers.csv``."""
    return sorted(data.rivers().river.unique())


def _river_names(river: str | Sequence[str]) -> list[str]:
    if isinstance(river, str):
        names = [r.strip() for r in river.split(",") if r.strip()]
    else:
        names = [str(r).strip() for r in river]
    if any(n.lower() == "all" for n in names):
        return rivers()
    if not names:
        raise HazardError(f"no river given; choose from {rivers()} (or 'all').")
    return names


def _densify(line: np.ndarray, step_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``step_deg`` along a polyline, and their position 0..1 along it."""
    seg = np.diff(line, axis=0)
    length = np.hypot(seg[:, 0], seg[:, 1])
    cum = np.concatenate([[0.0], np.cumsum(length)])
    if cum[-1] == 0:
        return line[:1].copy(), np.zeros(1)
    s = np.arange(0.0, cum[-1] + step_deg, step_deg)
    s[-1] = min(s[-1], cum[-1])
    lon = np.interp(s, cum, line[:, 0])
    lat = np.interp(s, cum, line[:, 1])
    return np.column_stack([lon, lat]), s / cum[-1]


def _burn_rivers(names: list[str], grid: _Grid, step_deg: float) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Burn rivers into the grid: position 0..1 along its river (NaN off-river), river index."""
    along = np.full(grid.shape, np.nan)
    which = np.full(grid.shape, -1, dtype=np.int16)
    crossing = []
    for i, name in enumerate(names):
        line, position = _densify(river_line(name), step_deg=step_deg)
        row, col = grid.rowcol(line[:, 0], line[:, 1])
        keep = (row >= 0) & (row < grid.rows) & (col >= 0) & (col < grid.cols)
        if not keep.any():
            log.info("river %s does not cross the grid; skipped", name)
            continue
        crossing.append(name)
        along[row[keep], col[keep]] = position[keep]
        which[row[keep], col[keep]] = i
    return along, which, crossing


def _dem_low_at(dem: str | Path | xr.DataArray, points: np.ndarray, snap_km: float,
                sea_level_m: float | None) -> np.ndarray:
    """Lowest DEM elevation [m] within ``snap_km`` of each lon/lat point (NaN off the DEM).

    Reads a small window around each point (a loop over points, not cells), so waypoints
    outside the flood's bbox still count.
    """
    out = np.full(len(points), np.nan)
    lat_mid = float(np.mean(points[:, 1]))
    if isinstance(dem, xr.DataArray):
        transform, crs, shape = transform_of(dem), crs_of(dem), dem.shape
        read = lambda r0, r1, c0, c1: np.asarray(dem.values[r0:r1, c0:c1], dtype=float)  # noqa: E731
        src = None
    else:
        import rasterio
        from rasterio.windows import Window

        src = rasterio.open(Path(dem))
        transform, shape = src.transform, (src.height, src.width)
        epsg = src.crs.to_epsg()
        crs = f"EPSG:{epsg}" if epsg else src.crs.to_wkt()

        def read(r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
            window = Window(c0, r0, c1 - c0, r1 - r0)
            values = src.read(1, window=window, masked=True)
            return values.astype(float).filled(np.nan) * src.scales[0] + src.offsets[0]
    try:
        grid = _make_grid(transform, 1, 1, crs)
        geographic, km_per_unit = grid.geographic, grid.km_per_unit
        if geographic:
            ky = abs(transform.e) * KM_PER_DEG
            kx = abs(transform.a) * KM_PER_DEG * math.cos(math.radians(lat_mid))
        else:
            ky, kx = abs(transform.e) * km_per_unit, abs(transform.a) * km_per_unit
        ny, nx = int(math.ceil(snap_km / ky)), int(math.ceil(snap_km / kx))
        rows, cols = grid.rowcol(points[:, 0], points[:, 1])
        for i, (r, c) in enumerate(zip(rows, cols, strict=True)):
            r0, r1 = max(r - ny, 0), min(r + ny + 1, shape[0])
            c0, c1 = max(c - nx, 0), min(c + nx + 1, shape[1])
            if r1 <= r0 or c1 <= c0:
                continue
            z = read(r0, r1, c0, c1)
            if sea_level_m is not None:
                z = np.where(z <= sea_level_m, np.nan, z)
            if np.isfinite(z).any():
                out[i] = np.nanmin(z)
    finally:
        if src is not None:
            src.close()
    return out


def _waypoint_profile(name: str, dem: str | Path | xr.DataArray, snap_km: float,
                      sea_level_m: float | None) -> Callable[[np.ndarray], np.ndarray] | None:
    """Bed elevation [m] along a river (position 0..1), interpolated between its waypoints.

    Waypoints sit at barrages, bridges and towns on the river, so the lowest ground near each is
    a better bed elevation than the terrain under a straight line between two of them (which
    may cross a spur). None when no waypoint is on the DEM.
    """
    line = river_line(name)
    seg = np.hypot(*np.diff(line, axis=0).T)
    position = np.concatenate([[0.0], np.cumsum(seg)]) / seg.sum()
    z = _dem_low_at(dem, line, snap_km, sea_level_m)
    ok = np.isfinite(z)
    if not ok.any():
        return None
    p, z = position[ok], z[ok]
    return lambda along: np.interp(along, p, z)


def _no_river_error(names: list[str], bbox: tuple[float, float, float, float]) -> HazardError:
    if len(names) == 1:
        return HazardError(f"river {names[0]!r} does not cross bbox {bbox}; widen the bbox.")
    return HazardError(f"none of the rivers {names} crosses bbox {bbox}; widen the bbox.")


def riverine_flood(
    river: str | Sequence[str] = "indus",
    *,
    return_period: float = 50.0,
    bbox: Sequence[float] = LOWER_INDUS_BBOX,
    resolution: float = DEFAULT_RESOLUTION,
    seed: int = 0,
    width_km_10yr: float = 7.0,
    depth_m_10yr: float = 1.6,
    dem: str | Path | xr.DataArray | None = None,
    stage_m_10yr: float = 3.0,
    stage_growth: float = 0.3,
    max_distance_km: float = 25.0,
    snap_km: float = 3.0,
    sea_level_m: float | None = 0.0,
    method: str | None = None,
    river_km2: float = 5000.0,
) -> xr.DataArray:
    """Flood depth [m] along named rivers (default the Indus), growing with return period.

    Parameters
    ----------
    method
        ``"terrain"`` (the default; ``"hand"`` when ``dem`` is given): rivers and heights from
        the shipped D8 flow tree of the GLOBE DEM, see
        :func:`hazards.floods.riverine_flood_terrain` (uses ``river``, ``return_period``,
        ``bbox``, ``seed``, ``max_distance_km``, ``river_km2``; output on the DEM's grid).
        ``"hand"``: the HAND-like mode on the waypoint lines with ``dem`` (see Notes).
        ``"band"``: the distance-decay floodplain on a ``resolution`` grid (see Notes).
    river_km2
        ``"terrain"``: upstream area [km2] from which a drainage cell is a river (500-1,000
        adds the hill torrents).
    river
        A river of ``data/rivers.csv`` (indus, jhelum, chenab, ravi, sutlej, kabul, swat), a
        list of them, a comma-separated string, or ``"all"``.
    return_period
        Return period T [years], >= 1.
    bbox
        (lon_min, lat_min, lon_max, lat_max) [degrees]; rivers outside it are skipped.
    resolution
        Grid spacing [degrees] (no-DEM mode; with a DEM the DEM's own grid is used).
    seed
        Seed of the random modulation of extent (no DEM) or stage (DEM).
    width_km_10yr, depth_m_10yr
        No DEM: floodplain half-width [km] and channel depth [m] of the 10-year flood.
    dem
        Ground elevation [m]: a GeoTIFF path (only the window covering ``bbox`` is read) or a
        layer. Switches to the terrain (HAND-like) method.
    stage_m_10yr, stage_growth
        DEM: water stage [m] above the river bed at T = 10 years, and its growth per unit of
        the Gumbel reduced variate (see Notes).
    max_distance_km
        DEM: no cell farther than this [km] from a river floods.
    snap_km
        DEM: the river bed is the lowest DEM cell within this distance [km] of the waypoint line,
        which snaps the approximate centre line to the valley floor.
    sea_level_m
        DEM: cells at or below this elevation [m] are sea and come out NaN (GLOBE codes the sea
        as 0). None keeps them.

    Returns
    -------
    xarray.DataArray
        Depth [m], ``kind="riverine-flood"``: on an EPSG:4326 grid over ``bbox`` (no DEM), or on
        the DEM's own grid (window covering ``bbox``, the DEM's CRS) with NaN for DEM nodata/sea.

    Raises
    ------
    HazardError
        Unknown river, no river crossing ``bbox``, ``return_period`` < 1, unreadable DEM, DEM
        without CRS or not covering ``bbox``.

    Notes
    -----
    **Terrain (default)**: rivers come out of the DEM's flow tree and depth is a stage growing
    with upstream area and return period minus the height above the river along the flow path;
    see :func:`hazards.floods.riverine_flood_terrain`.

    **Band (``method="band"``): a distance-decay floodplain.** Each cell's distance d [km] to the
    river's centre line (burnt into the grid) comes from a Euclidean distance transform. The
    floodplain half-width grows with return period T and downstream position p (0 at the first
    waypoint, 1 at the last): ``W = width_km_10yr * (1 + 0.6 ln(T/10)) * (0.6 + 0.9 p) * m``,
    where ``m`` is a seeded, smoothed random field (mean 1, range about 0.5-1.5) that makes the
    extent irregular. Depth is ``H (1 - d/W)^1.5`` inside the floodplain and 0 outside, with
    ``H = depth_m_10yr * (1 + 0.5 ln(T/10))`` at the channel.

    **HAND (``method="hand"``, with a DEM): height above the nearest river cell** (HAND-like; Nobre et al. 2011), with
    stage-based inundation as in Zheng et al. (2018): ``depth = h(T) - HAND`` where
    ``HAND = z - z_bed`` is the cell's height above the bed of its nearest river cell, cells
    with HAND >= h(T) are dry, and ``h(T) = stage_m_10yr * (1 + stage_growth (y_T - y_10)) * m``
    grows with the Gumbel reduced variate ``y_T = -ln(-ln(1 - 1/T))`` (Gumbel 1958; 1.0, 1.5,
    1.7 and 2.2 times the 10-year stage at 10, 50, 100 and 500 years), ``m`` being a seeded
    smooth modulation (about +-15 %) along the river. The river bed is the lower of the lowest DEM
    cell within ``snap_km`` of the waypoint line and the longitudinal profile interpolated
    between the waypoints (each snapped the same way: barrages and towns sit on the river, while
    a straight line between two of them may cross a spur), made non-increasing downstream. A
    wet cell must connect (8-neighbour) to a wet cell within ``snap_km`` of the river line, so
    water does not jump ridges into closed depressions. Computed on the DEM's own grid: nothing
    is resampled (a layer can be made on any grid by passing a DEM on that grid).

    Limits: no hydraulics, embankments (bunds), breaches, backwater or flood duration. The river
    lines are approximate waypoints (a few km); "nearest river cell" is the Euclidean nearest,
    not the one along the flow path as in Nobre et al.; a 30 arc-second DEM such as GLOBE has
    vertical errors of tens of metres in relief and 1 m steps in the plains, so depths are a
    planning sketch, not a flood map. Cells lower than their river bed (common on the lower
    Indus' alluvial ridge) get the full stage, not more. The growth coefficients are
    illustrative, not fitted to gauge records.

    References
    ----------
    Nobre, A. D. et al. (2011). Height Above the Nearest Drainage - a hydrologically relevant new
    terrain model. Journal of Hydrology 404(1-2), 13-29.
    Zheng, X., Tarboton, D. G., Maidment, D. R., Liu, Y. Y., Passalacqua, P. (2018). River channel
    geometry and rating curve estimation using height above the nearest drainage. JAWRA 54(4),
    785-806.
    Gumbel, E. J. (1958). Statistics of Extremes. Columbia University Press.
    """
    if return_period < 1:
        raise HazardError(f"return_period must be >= 1 year, got {return_period}.")
    bbox = _bbox(bbox)
    if method is None:
        method = "hand" if dem is not None else "terrain"
    _check(method in ("terrain", "hand", "band"),
           f"method {method!r} is not one of ['band', 'hand', 'terrain'].")
    names = _river_names(river)
    if method == "terrain":
        _check(dem is None, "method='terrain' uses the shipped terrain; drop dem, or pass method='hand'.")
        from hazards.floods import riverine_flood_terrain

        layer = riverine_flood_terrain(river, return_period=return_period, bbox=bbox, seed=seed,
                                       max_distance_km=max_distance_km, river_km2=river_km2)
        prov = json.loads(layer.attrs["provenance"])
        prov.update(generator="hazards.generators.riverine_flood", via=prov["generator"])
        layer.attrs["provenance"] = json.dumps(prov, sort_keys=True, default=str)
        return layer
    if method == "hand":
        _check(dem is not None, "method='hand' needs a dem (e.g. hazards.tables.dem_path()).")
        return _hand_flood(
            names, river, dem=dem, return_period=return_period, bbox=bbox, seed=seed,
            stage_m_10yr=stage_m_10yr, stage_growth=stage_growth, max_distance_km=max_distance_km,
            snap_km=snap_km, sea_level_m=sea_level_m, resolution=resolution,
        )
    grid = _output_grid(bbox, resolution)
    transform, rows, cols = grid.transform, grid.rows, grid.cols
    # Burn the rivers into the grid, then a Euclidean distance transform (in km, with the
    # east-west pixel size shrunk by cos(latitude)) gives every cell's distance to the nearest
    # river cell and that cell's position along its river.
    along, _, crossing = _burn_rivers(names, grid, step_deg=resolution / 4)
    if not crossing:
        raise _no_river_error(names, bbox)
    lat0 = 0.5 * (bbox[1] + bbox[3])
    dist, (ri, ci) = distance_transform_edt(
        np.isnan(along),
        sampling=(resolution * KM_PER_DEG, resolution * KM_PER_DEG * np.cos(np.radians(lat0))),
        return_indices=True,
    )
    p = along[ri, ci]

    rng = np.random.default_rng(np.random.SeedSequence([seed, 17]))
    noise = gaussian_filter(rng.standard_normal((rows, cols)), sigma=max(rows, cols) / 60)
    noise /= noise.std() or 1.0
    modulation = np.clip(1.0 + 0.25 * noise, 0.5, 1.5)

    growth = np.log(return_period / 10.0)
    width = width_km_10yr * max(1.0 + 0.6 * growth, 0.2) * (0.6 + 0.9 * p) * modulation
    depth_max = depth_m_10yr * max(1.0 + 0.5 * growth, 0.2)
    depth = np.where(dist < width, depth_max * np.clip(1.0 - dist / width, 0.0, 1.0) ** 1.5, 0.0)
    return make_layer(
        depth.round(2),
        transform,
        "EPSG:4326",
        units="m",
        kind="riverine-flood",
        provenance={
            "generator": "hazards.generators.riverine_flood",
            "method": "distance-decay floodplain (no DEM)",
            "river": river if isinstance(river, str) else list(river),
            "rivers_in_bbox": crossing,
            "return_period": return_period,
            "bbox": list(bbox),
            "resolution": resolution,
            "seed": seed,
            "width_km_10yr": width_km_10yr,
            "depth_m_10yr": depth_m_10yr,
            "dem": None,
        },
        name="depth",
    )


def _hand_flood(
    names: list[str],
    river: Any,
    *,
    dem: str | Path | xr.DataArray,
    return_period: float,
    bbox: tuple[float, float, float, float],
    seed: int,
    stage_m_10yr: float,
    stage_growth: float,
    max_distance_km: float,
    snap_km: float,
    sea_level_m: float | None,
    resolution: float,
) -> xr.DataArray:
    """The DEM mode of :func:`riverine_flood` (see its Notes)."""
    _check(stage_m_10yr > 0, f"stage_m_10yr must be > 0 m, got {stage_m_10yr}.")
    _check(max_distance_km > 0, f"max_distance_km must be > 0, got {max_distance_km}.")
    _check(snap_km >= 0, f"snap_km must be >= 0, got {snap_km}.")
    grid, elev, source = _load_dem(dem, bbox)
    if sea_level_m is not None:
        elev = np.where(elev <= sea_level_m, np.nan, elev)
    dy, dx = grid.pixel_km()
    step_deg = min(dy, dx) / KM_PER_DEG / 4
    along, which, crossing = _burn_rivers(names, grid, step_deg=step_deg)
    river_cells = ~np.isnan(along) & np.isfinite(elev)
    if not river_cells.any():
        raise _no_river_error(names, bbox)

    # River bed: the lower of the lowest ground within snap_km and the longitudinal profile
    # through the waypoints (each snapped the same way), then non-increasing downstream.
    size = (2 * int(math.ceil(snap_km / dy)) + 1, 2 * int(math.ceil(snap_km / dx)) + 1)
    low = ndimage.minimum_filter(np.where(np.isfinite(elev), elev, np.inf), size=size, mode="nearest")
    bed = np.where(river_cells, low, np.nan)
    for i in np.unique(which[river_cells]):
        cells = np.flatnonzero(river_cells & (which == i))
        order = cells[np.argsort(along.flat[cells], kind="stable")]
        profile = _waypoint_profile(names[i], dem, snap_km, sea_level_m)
        if profile is not None:
            bed.flat[order] = np.minimum(bed.flat[order], profile(along.flat[order]))
        bed.flat[order] = np.minimum.accumulate(bed.flat[order])

    dist, (ri, ci) = distance_transform_edt(~river_cells, sampling=(dy, dx), return_indices=True)
    hand = elev - bed[ri, ci]

    rng = np.random.default_rng(np.random.SeedSequence([seed, 19]))
    modulation = np.clip(1.0 + 0.15 * _smooth_noise(rng, grid.shape, 40.0 / min(dy, dx)), 0.6, 1.4)
    y10 = _gumbel_variate(10.0)
    stage_t = stage_m_10yr * max(1.0 + stage_growth * (_gumbel_variate(return_period) - y10), 0.1)
    stage = stage_t * modulation[ri, ci]

    wet = np.isfinite(hand) & (hand < stage) & (dist <= max_distance_km)
    labels, n = ndimage.label(wet, structure=np.ones((3, 3), dtype=bool))
    connected = np.zeros(n + 1, dtype=bool)
    connected[labels[wet & (dist <= max(snap_km, min(dy, dx)))]] = True
    connected[0] = False
    wet &= connected[labels]
    depth = np.where(wet, np.clip(stage - hand, 0.0, stage), 0.0)
    depth[~np.isfinite(elev)] = np.nan
    return _layer(
        depth.round(2), grid, units="m", kind="riverine-flood", name="depth",
        provenance={
            "generator": "hazards.generators.riverine_flood",
            "method": "HAND-like: depth = stage(T) - height above nearest river cell "
                      "(Nobre et al. 2011; Zheng et al. 2018)",
            "river": river if isinstance(river, str) else list(river),
            "rivers_in_bbox": crossing,
            "return_period": return_period,
            "stage_m": round(stage_t, 3),
            "bbox": list(bbox),
            "grid": "the DEM's own grid (resolution ignored)",
            "resolution_requested": resolution,
            "seed": seed,
            "dem": source if source != "layer" else _dem_label(dem),
            "stage_m_10yr": stage_m_10yr,
            "stage_growth": stage_growth,
            "max_distance_km": max_distance_km,
            "snap_km": snap_km,
            "sea_level_m": sea_level_m,
        },
    )


# --------------------------------------------------------------------------------------------
# flash flood
# --------------------------------------------------------------------------------------------


def flash_flood(
    *,
    return_period: float = 100.0,
    centres: Sequence[Sequence[float]] | None = None,
    n_cells: int = 4,
    radius_km: float | Sequence[float] = (8.0, 25.0),
    shape: str = "gaussian",
    gumbel_loc_mm: float = 70.0,
    gumbel_scale_mm: float = 30.0,
    bbox: Sequence[float] = FLASH_FLOOD_BBOX,
    resolution: float = DEFAULT_RESOLUTION,
    seed: int = 0,
    method: str = "storm-cells",
    rainfall: str | None = None,
    curve_number: float | None = None,
    pond_m_ref: float = 1.5,
    rain_scale: float = 1.0,
    normal_drained: float = 0.0,
    max_relief_m: float | None = None,
) -> xr.DataArray:
    """Event rainfall depth [mm] of an extreme storm made of a few convective cells, or (with
    ``method="terrain"``) the flood depth [m] that rain makes on the terrain.

    Parameters
    ----------
    method
        ``"storm-cells"`` (default): the storm's rainfall [mm] on a ``resolution`` grid.
        ``"terrain"``: that rainfall (or the named ``rainfall`` table) regridded onto the DEM's
        grid, turned into runoff, routed and ponded: depth [m], see
        :func:`hazards.floods.rain_flood`.
    rainfall
        ``"terrain"`` only: the name of a rainfall table for ``hazards.climate.rainfall_field``;
        None uses this function's storm cells.
    curve_number, pond_m_ref, rain_scale, max_relief_m
        ``"terrain"`` only: passed to :func:`hazards.floods.rain_flood` (SCS curve number, None
        for its terrain-based default; ponding height [m] of a 1,000 km2 reach; factor on the
        rainfall; local relief [m] above which no water ponds).
    normal_drained
        ``"terrain"`` with a ``rainfall`` table only: the share of the July-September normal
        rainfall (``hazards.climate.normals_field("rain_jas")``) that drains away without
        flooding (drains, canals, fields, evaporation over the season); only the rain above it
        runs off. 0 (default) lets all rain run off. A planning assumption: a landscape copes
        with its normal monsoon, and floods come from the excess.
    return_period
        Return period T [years], > 1, of the storm-centre (point) rainfall depth.
    centres
        Storm-cell centres as lon/lat pairs [degrees]; the first is the main cell. None draws
        ``n_cells`` seeded centres inside the middle 80 % of ``bbox``.
    n_cells
        Number of cells when ``centres`` is None.
    radius_km
        Cell radius (Gaussian standard deviation or exponential e-folding distance) [km]: a
        number, or (min, max) to draw each cell's radius uniformly.
    shape
        ``"gaussian"`` (convective core) or ``"exponential"`` (core with stratiform skirt).
    gumbel_loc_mm, gumbel_scale_mm
        Location and scale [mm] of the Gumbel distribution of annual-maximum point event
        rainfall.
    bbox, resolution, seed
        Grid extent [degrees], spacing [degrees] and seed (centres, radii, cell strengths).

    Returns
    -------
    xarray.DataArray
        Rainfall depth [mm], ``kind="flash-flood"``, on an EPSG:4326 grid; with
        ``method="terrain"`` flood depth [m] on the DEM's grid over ``bbox``.

    Raises
    ------
    HazardError
        ``return_period`` <= 1, an unknown ``shape``, bad centres or radii.

    Notes
    -----
    The storm is a sum of cells (Rodriguez-Iturbe & Eagleson 1987), each with a Gaussian or an
    exponential radial profile (the convective core and its surroundings in HYCELL, Feral et
    al. 2003): ``R(x) = sum_i a_i k(d_i(x) / r_i)``, ``k(u) = exp(-u^2/2)`` or ``exp(-u)``. The
    main cell has strength 1, the others a seeded 0.4-1. The sum is scaled so that the depth at
    the main cell's centre equals the T-year point depth ``P(T) = loc + scale * y_T`` with the
    Gumbel reduced variate ``y_T = -ln(-ln(1 - 1/T))`` (Gumbel 1958): 137 mm at 10 years and
    208 mm at 100 years with the defaults. Where cells overlap the depth can exceed P(T).

    Areal reduction follows from the cell profile: a Gaussian cell of radius r has a mean depth
    over a disc of area A around its centre of ``P (1 - e^-x) / x`` with ``x = A / (2 pi r^2)``,
    a storm-centred areal reduction factor (Omolayo 1993) of about 0.82 at 1,000 km2 for
    r = 20 km, in the range of the 24-hour curves of U.S. Weather Bureau TP-29.

    Limits: one rainfall total per event, no duration, movement or orography; the default
    Gumbel parameters are of the order of annual-maximum daily rainfall in the sub-montane
    monsoon belt of northern Pakistan but not fitted to any station. Rainfall is not runoff:
    no catchment routing, so this is a footprint of the trigger, not of the flooding.

    References
    ----------
    Rodriguez-Iturbe, I., Eagleson, P. S. (1987). Mathematical models of rainstorm events in
    space and time. Water Resources Research 23(1), 181-190.
    Feral, L., Sauvageot, H., Castanet, L., Lemorton, J. (2003). HYCELL - a new hybrid model of
    the rain horizontal distribution for propagation studies. Radio Science 38(3), 1056.
    Omolayo, A. S. (1993). On the transposition of areal reduction factors for rainfall
    frequency estimation. Journal of Hydrology 145, 191-205.
    U.S. Weather Bureau (1957-60). Rainfall intensity-frequency regime. Technical Paper 29.
    Gumbel, E. J. (1958). Statistics of Extremes. Columbia University Press.
    """
    _check(return_period > 1, f"return_period must be > 1 year, got {return_period}.")
    _check(shape in ("gaussian", "exponential"), f"shape {shape!r} is not one of ['exponential', 'gaussian'].")
    _check(gumbel_scale_mm > 0, f"gumbel_scale_mm must be > 0, got {gumbel_scale_mm}.")
    _check(method in ("storm-cells", "terrain"), f"method {method!r} is not one of ['storm-cells', 'terrain'].")
    _check(rainfall is None or method == "terrain", "rainfall (a rainfall table) needs method='terrain'.")
    bbox = _bbox(bbox)
    _check(0.0 <= normal_drained < 2.0, f"normal_drained must be in [0, 2), got {normal_drained}.")
    if method == "terrain" and rainfall is not None:
        from hazards import climate
        from hazards.floods import rain_flood
        from hazards.terrain import terrain

        if not normal_drained:
            return rain_flood(str(rainfall), bbox=bbox, seed=seed, curve_number=curve_number,
                              pond_m_ref=pond_m_ref, rain_scale=rain_scale, max_relief_m=max_relief_m)
        # Only the rain above what a normal monsoon brings floods: drains, canals, fields and
        # evaporation take a normal season's rain (``normal_drained`` x the July-September normal).
        win = terrain().window(bbox)
        event = climate.rainfall_field(str(rainfall), transform=win.transform, shape=win.shape, seed=seed)
        normal = climate.normals_field("rain_jas", transform=win.transform, shape=win.shape)
        excess = np.clip(event * rain_scale - normal_drained * normal, 0.0, None)
        layer = rain_flood(excess, bbox=bbox, seed=seed, curve_number=curve_number, pond_m_ref=pond_m_ref,
                           max_relief_m=max_relief_m)
        prov = json.loads(layer.attrs.get("provenance", "{}"))
        prov.update(rainfall={"rainfall_table": str(rainfall)}, rain_scale=rain_scale,
                    normal_drained=normal_drained)
        layer.attrs["provenance"] = json.dumps(prov, sort_keys=True, default=str)
        return layer
    grid = _output_grid(bbox, resolution)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 23]))
    if centres is None:
        _check(int(n_cells) >= 1, f"n_cells must be >= 1, got {n_cells}.")
        n = int(n_cells)
        w, h = bbox[2] - bbox[0], bbox[3] - bbox[1]
        pts = np.column_stack([rng.uniform(bbox[0] + 0.1 * w, bbox[2] - 0.1 * w, n),
                               rng.uniform(bbox[1] + 0.1 * h, bbox[3] - 0.1 * h, n)])
    else:
        pts = _points(centres, "centres")
        n = len(pts)
    radii = np.atleast_1d(np.asarray(radius_km, dtype=float))
    _check(radii.size in (1, 2) and (radii > 0).all(), f"radius_km must be > 0 km, or (min, max); got {radius_km!r}.")
    r = np.full(n, radii[0]) if radii.size == 1 else rng.uniform(radii.min(), radii.max(), n)
    strength = rng.uniform(0.4, 1.0, n)
    strength[0] = 1.0

    def kernel(d: np.ndarray, radius: float) -> np.ndarray:
        u = d / radius
        return np.exp(-0.5 * u * u) if shape == "gaussian" else np.exp(-u)

    field = np.zeros(grid.shape)
    for (lon0, lat0), ri, ai in zip(pts, r, strength, strict=True):
        field += ai * kernel(_haversine_km(grid.lon, grid.lat, lon0, lat0), ri)
    at_centre = sum(ai * kernel(_haversine_km(pts[0, 0], pts[0, 1], lon0, lat0), ri)
                    for (lon0, lat0), ri, ai in zip(pts, r, strength, strict=True))
    point_mm = gumbel_loc_mm + gumbel_scale_mm * _gumbel_variate(return_period)
    _check(point_mm > 0, f"the {return_period}-year point depth is {point_mm:.1f} mm; raise gumbel_loc_mm.")
    rain = field * (point_mm / float(at_centre))
    if method == "terrain":
        from hazards.floods import rain_flood
        from hazards.terrain import terrain

        # the storm's rainfall, sampled (nearest cell) onto the terrain window of the bbox
        ter = terrain()
        win = ter.window(bbox)
        row, col = grid.rowcol(ter.lon[win.c0:win.c1][None, :], ter.lat[win.r0:win.r1][:, None])
        inside = (row >= 0) & (row < grid.rows) & (col >= 0) & (col < grid.cols)
        on_terrain = np.where(inside, rain[np.clip(row, 0, grid.rows - 1), np.clip(col, 0, grid.cols - 1)], 0.0)
        return rain_flood(on_terrain, bbox=bbox, seed=seed, curve_number=curve_number,
                          pond_m_ref=pond_m_ref, rain_scale=rain_scale, max_relief_m=max_relief_m)
    return _layer(
        rain.round(1), grid, units="mm", kind="flash-flood", name="rainfall",
        provenance={
            "generator": "hazards.generators.flash_flood",
            "method": "storm cells (Rodriguez-Iturbe & Eagleson 1987; HYCELL, Feral et al. 2003) "
                      "scaled to the Gumbel T-year point depth",
            "return_period": return_period,
            "point_depth_mm": round(point_mm, 1),
            "centres": pts.round(4).tolist(),
            "radius_km": r.round(2).tolist(),
            "strength": strength.round(3).tolist(),
            "shape": shape,
            "gumbel_loc_mm": gumbel_loc_mm,
            "gumbel_scale_mm": gumbel_scale_mm,
            "bbox": list(bbox),
            "resolution": resolution,
            "seed": seed,
        },
    )


# --------------------------------------------------------------------------------------------
# heatwave
# --------------------------------------------------------------------------------------------


def heat_index(t_degc: np.ndarray | float, rh_pct: np.ndarray | float) -> np.ndarray:
    """Heat index [degC] from air temperature [degC] and relative humidity [%].

    The U.S. National Weather Service algorithm: Steadman's (1979) apparent temperature as
    fitted by Rothfusz (1990), with the NWS adjustments for very dry and very humid air and the
    simple formula below about 27 degC (80 degF).
    """
    t = np.asarray(t_degc, dtype=float) * 9.0 / 5.0 + 32.0
    rh = np.asarray(rh_pct, dtype=float)
    simple = 0.5 * (t + 61.0 + (t - 68.0) * 1.2 + rh * 0.094)
    full = (-42.379 + 2.04901523 * t + 10.14333127 * rh - 0.22475541 * t * rh
            - 6.83783e-3 * t * t - 5.481717e-2 * rh * rh + 1.22874e-3 * t * t * rh
            + 8.5282e-4 * t * rh * rh - 1.99e-6 * t * t * rh * rh)
    dry = (rh < 13) & (t >= 80) & (t <= 112)
    full = full - np.where(dry, (13 - rh) / 4 * np.sqrt(np.clip((17 - np.abs(t - 95)) / 17, 0, None)), 0.0)
    humid = (rh > 85) & (t >= 80) & (t <= 87)
    full = full + np.where(humid, (rh - 85) / 10 * (87 - t) / 5, 0.0)
    hi = np.where((simple + t) / 2 >= 80, full, simple)
    return (hi - 32.0) * 5.0 / 9.0


def heatwave(
    *,
    days: int = 6,
    anomaly_degc: float = 5.0,
    relative_humidity: float | np.ndarray | None = None,
    dem: str | Path | xr.DataArray | None = None,
    t_ref_degc: float | None = None,
    lat_gradient_k_per_deg: float | None = None,
    lapse_rate_k_per_km: float = 6.5,
    coastal_cooling_k: float | None = None,
    coast_scale_km: float | None = None,
    daily_sd_k: float = 1.0,
    pattern_sd: float = 0.35,
    inside_pakistan: bool = True,
    bbox: Sequence[float] = HEATWAVE_BBOX,
    resolution: float = DEFAULT_RESOLUTION,
    seed: int = 0,
) -> xr.DataArray:
    """Daily maximum temperature [degC] averaged over a run of hot days (or the heat index).

    Parameters
    ----------
    days
        Length of the run [days], 1-60.
    anomaly_degc
        Mean anomaly of daily maximum temperature over the run [K] above the normal of the
        hottest month, before spatial modulation.
    relative_humidity
        Afternoon relative humidity [%] (a number or an array of the grid's shape). Given, the
        output is the run's mean daily heat index instead of temperature.
    dem
        Ground elevation [m] (GeoTIFF path or layer); the output is then on the DEM's own grid.
        None uses the shipped GLOBE DEM resampled to the bbox grid for the lapse-rate term.
    t_ref_degc, lat_gradient_k_per_deg, coastal_cooling_k, coast_scale_km
        Deprecated and ignored (the analytic baseline they tuned is replaced by station
        normals); accepted so that old scenarios still load, with a warning.
    lapse_rate_k_per_km
        Cooling with elevation [K/km]; 6.5 is the standard atmosphere's (ICAO 1993).
    daily_sd_k
        Standard deviation of day-to-day weather noise [K].
    pattern_sd
        Relative spatial variability of the anomaly (smooth, ~200 km; 0: uniform).
    inside_pakistan
        True (default): cells outside Pakistan (the shipped province outlines) are NaN, so the
        event sits inside Pakistan; False keeps the whole bbox.
    bbox, resolution, seed
        Grid extent [degrees], spacing [degrees] and seed (anomaly pattern, daily noise).

    Returns
    -------
    xarray.DataArray
        Temperature or heat index [degC], ``kind="heatwave"``.

    Raises
    ------
    HazardError
        ``days`` outside 1-60, humidity outside 0-100 %, an unreadable DEM.

    Notes
    -----
    Baseline: the normal mean daily maximum of the hottest month (May or June; July in the
    northern mountains) at ~30 PMD stations (``data/climate/stations_normals.csv``), reduced to
    sea level with the lapse rate, spread by inverse-distance weighting and lifted to the ground
    elevation (:func:`hazards.climate.normals_field`): about 44.6 degC at Jacobabad, 35.5 at
    Karachi, 36 at Quetta, 25-28 at Murree. Each day d of the run adds
    ``A S(x) w_d + e_d(x)``: a seeded smooth pattern S (mean 1, sd ``pattern_sd``, clipped to
    0-2, ~200 km), a bell-shaped envelope w_d with mean 1, and seeded smooth weather noise e_d
    (~80 km). The output is the mean over the run, of temperature or, with humidity, of the NWS
    heat index (Rothfusz 1990).

    Defaults: 6 days at +5 K. The Pakistan Meteorological Department describes a heat wave as
    day temperatures 5 degC above normal for three or more days (Dr Muhammad Afzaal, PMD, in Dawn,
    16-May-2024, dawn.com/news/1833994) or for at least five consecutive days (chief
    meteorologist Dr S. Sarfaraz, timesofkarachi.pk, "heatwave ruled out for Pakistan at the
    moment"); PMD's May 2024 advisories forecast 4-6 degC above normal in Sindh, 6-8 in the
    severe phase (Dawn, 16-May-2024). Because ~90 % of Sindh has a hottest-month normal of
    40 degC or more, a province-wide +5 K run puts 65-95 % of Sindh's land cells (seed-dependent;
    seed 0: 64 %) at a run-mean of 45 degC or more; the coast and the Kirthar hills stay cooler.
    Lower ``anomaly_degc`` or raise ``pattern_sd`` for a more local event.

    Limits: ~30 stations, many normals marked unverified in the table; IDW between stations
    misses local effects (coastal sea breeze beyond Karachi/Badin, urban heat islands); no wind,
    night-time temperature or soil moisture; the heat index regression is fitted up to about
    150 degF (66 degC) and extrapolates beyond.

    References
    ----------
    ICAO (1993). Manual of the ICAO Standard Atmosphere, Doc 7488/3 (lapse rate 6.5 K/km).
    Shepard, D. (1968). A two-dimensional interpolation function for irregularly-spaced data.
    Proc. 23rd ACM National Conference, 517-524.
    Rothfusz, L. P. (1990). The heat index equation. NWS Southern Region Technical Attachment
    SR 90-23.
    Steadman, R. G. (1979). The assessment of sultriness, part I. Journal of Applied Meteorology
    18, 861-873.
    """
    from hazards import climate

    days = int(days)
    _check(days >= 1, f"days must be >= 1, got {days}.")
    _check(days <= 60, f"days must be <= 60 (a run of hot days), got {days}.")
    _check(pattern_sd >= 0, f"pattern_sd must be >= 0, got {pattern_sd}.")
    ignored = {k: v for k, v in (("t_ref_degc", t_ref_degc), ("lat_gradient_k_per_deg", lat_gradient_k_per_deg),
                                 ("coastal_cooling_k", coastal_cooling_k), ("coast_scale_km", coast_scale_km))
               if v is not None}
    if ignored:
        log.warning("heatwave: %s ignored; the baseline now comes from station normals "
                    "(data/climate/stations_normals.csv). Remove them from the scenario.", sorted(ignored))
    bbox = _bbox(bbox)
    if dem is not None:
        grid, elev, _ = _load_dem(dem, bbox)
        z = np.where(np.isfinite(elev) & (elev > 0), elev, 0.0)
    else:
        grid = _output_grid(bbox, resolution)
        elev = None
        z = None
    rh = None
    if relative_humidity is not None:
        rh = np.asarray(relative_humidity, dtype=float)
        _check(bool(np.all((rh >= 0) & (rh <= 100))), "relative_humidity must be within 0-100 %.")
        _check(rh.ndim == 0 or rh.shape == grid.shape,
               f"relative_humidity must be a number or an array of shape {grid.shape}; got {rh.shape}.")

    dy, dx = grid.pixel_km()
    baseline = climate.normals_field("tmax", transform=grid.transform, shape=grid.shape, dem=z,
                                     crs=grid.crs, lapse_rate_k_per_km=lapse_rate_k_per_km)

    rng = np.random.default_rng(np.random.SeedSequence([seed, 29]))
    pattern = np.clip(1.0 + pattern_sd * _smooth_noise(rng, grid.shape, 200.0 / min(dy, dx)), 0.0, 2.0)
    envelope = np.sin(np.pi * (np.arange(days) + 0.5) / days) + 0.5
    envelope /= envelope.mean()
    total = np.zeros(grid.shape)
    for d in range(days):
        daily = baseline + anomaly_degc * pattern * envelope[d]
        daily = daily + daily_sd_k * _smooth_noise(rng, grid.shape, 80.0 / min(dy, dx))
        total += heat_index(daily, rh) if rh is not None else daily
    out = total / days
    if rh is not None and np.nanmax(out) > 66.0:
        log.warning("heat index up to %.0f degC: beyond the Rothfusz regression's range (about "
                    "66 degC), an extrapolation; lower relative_humidity for hot inland cells",
                    float(np.nanmax(out)))
    if elev is not None:
        out = np.where(np.isfinite(elev), out, np.nan)
    if inside_pakistan:
        (out,) = _inside_pakistan(grid, bbox, out)
    return _layer(
        out.round(2), grid, units="degC", kind="heatwave",
        name="heat_index" if rh is not None else "tmax",
        provenance={
            "generator": "hazards.generators.heatwave",
            "method": "station normals of the hottest month's daily maximum (IDW, lapse rate) + seeded "
                      "anomaly, mean over the run" + ("; NWS heat index (Rothfusz 1990)" if rh is not None else ""),
            "measure": "heat index" if rh is not None else "daily maximum temperature",
            "normals": "data/climate/stations_normals.csv",
            "days": days,
            "anomaly_degc": anomaly_degc,
            "relative_humidity": None if rh is None else (float(rh) if rh.ndim == 0 else "array"),
            "dem": _dem_label(dem) if dem is not None else "shipped GLOBE DEM (lapse rate)",
            "lapse_rate_k_per_km": lapse_rate_k_per_km,
            "daily_sd_k": daily_sd_k,
            "inside_pakistan": inside_pakistan,
            "pattern_sd": pattern_sd,
            "bbox": list(bbox),
            "resolution": resolution if dem is None else "the DEM's own grid",
            "seed": seed,
        },
    )


def _polyline_distance_km(line: np.ndarray, grid: _Grid) -> np.ndarray:
    """Distance [km] of every cell to a lon/lat polyline (infinite when it misses the grid).

    The line is burnt into a grid extended by a margin so that a line just outside the grid
    still counts, then a Euclidean distance transform measures the distance.
    """
    dy, dx = grid.pixel_km()
    margin = int(min(math.ceil(300.0 / min(dy, dx)), 2000))
    t = grid.transform
    big = _Grid(t @ Affine.translation(-margin, -margin), grid.rows + 2 * margin, grid.cols + 2 * margin,
                grid.crs, grid.lon, grid.lat, grid.geographic, grid.km_per_unit)
    pts, _ = _densify(line, step_deg=min(dy, dx) / KM_PER_DEG / 2)
    row, col = big.rowcol(pts[:, 0], pts[:, 1])
    keep = (row >= 0) & (row < big.rows) & (col >= 0) & (col < big.cols)
    if not keep.any():
        return np.full(grid.shape, np.inf)
    mask = np.ones(big.shape, dtype=bool)
    mask[row[keep], col[keep]] = False
    dist = distance_transform_edt(mask, sampling=(dy, dx))
    return dist[margin:margin + grid.rows, margin:margin + grid.cols]


# --------------------------------------------------------------------------------------------
# drought
# --------------------------------------------------------------------------------------------

def _monsoon_climatology(grid: _Grid) -> tuple[np.ndarray, np.ndarray]:
    """(July-September normal rainfall [mm], coefficient of variation) of every cell.

    The normal is the station table's July-September rainfall spread by IDW
    (:func:`hazards.climate.normals_field`), floored at 5 mm; the CV is a planning curve,
    ``0.25 + 0.5 exp(-mu / 200 mm)``: about 0.3 in the wet north-east, 0.6-0.7 in the arid south.
    """
    from hazards import climate

    mean = np.maximum(climate.normals_field("rain_jas", transform=grid.transform, shape=grid.shape,
                                            crs=grid.crs), 5.0)
    cv = 0.25 + 0.5 * np.exp(-mean / 200.0)
    return mean, cv


def drought(
    *,
    deficit: float = 0.5,
    spread: float = 1.0,
    output: str = "spi",
    correlation_km: float = 120.0,
    inside_pakistan: bool = True,
    bbox: Sequence[float] = DROUGHT_BBOX,
    resolution: float = DEFAULT_RESOLUTION,
    seed: int = 0,
) -> xr.DataArray:
    """Standardized precipitation index [index] of a dry monsoon season (or its rainfall [mm]).

    Parameters
    ----------
    deficit
        Mean seasonal rainfall deficit as a fraction of normal, < 1 (0.5: half the normal
        rainfall; 0: a typical season; negative: a wet one).
    spread
        Spatial variability of the deficit relative to the climatological one (1: as variable
        as seasons are; 0: the same deficit everywhere).
    output
        ``"spi"`` (SPI [index]) or ``"rainfall"`` (seasonal rainfall [mm]).
    correlation_km
        Distance [km] at which the correlation of the deficit field falls to 1/e.
    inside_pakistan
        True (default): cells outside the shipped province outlines (India, Iran, Afghanistan,
        the sea) are NaN, so the event stays in Pakistan.
    bbox, resolution, seed
        Grid extent [degrees], spacing [degrees] and seed of the deficit field.

    Returns
    -------
    xarray.DataArray
        SPI [index] (clipped to +-3.5) or rainfall [mm], ``kind="drought"``; NaN outside
        Pakistan unless ``inside_pakistan=False``.

    Raises
    ------
    HazardError
        ``deficit`` >= 1, ``spread`` < 0, unknown ``output``.

    Notes
    -----
    The SPI of McKee et al. (1993): seasonal rainfall is gamma-distributed at each cell, and the
    SPI is the standard-normal quantile of the season's rainfall under that distribution,
    ``SPI = Phi^-1(G(P; alpha, beta))``. The climatology is the July-September normal ``mu(x)``
    of ~30 PMD stations (``data/climate/stations_normals.csv``, IDW; many rows marked
    unverified) with a planning coefficient of variation ``CV = 0.25 + 0.5 exp(-mu / 200 mm)``;
    gamma shape ``alpha = 1/CV^2``, scale ``mu / alpha``.

    The season's rainfall is a seeded deficit field applied to the normal:
    ``P = mu (1 - deficit) exp(s xi - s^2/2)``, with ``xi`` a smooth standard-normal field and
    ``s = spread * sqrt(ln(1 + CV^2))``. With ``deficit=0, spread=1`` the SPI over the domain
    is roughly standard normal; the default 50 % deficit gives a mean SPI of about -1.1
    ("moderately" to "severely dry" in McKee's classes). For scale: PMD's National Drought
    Monitoring Centre reported July-August 2018 rainfall 30.4 % below normal over Pakistan, with
    moderate to severe drought in Tharparkar and most of Sindh (Drought Alert II, 6-Sep-2018,
    reliefweb.int/report/pakistan/pmd-national-drought-monitoring-centre-drought-alert-ii-6th-september-2018).

    Limits: one season, no record: the gamma parameters come from station normals and a
    planning CV, not from fitting 30 years of rainfall as an operational SPI does; no
    zero-rainfall probability (McKee's q); the SPI says nothing about temperature, soil moisture
    or groundwater (compare SPEI).

    References
    ----------
    McKee, T. B., Doesken, N. J., Kleist, J. (1993). The relationship of drought frequency and
    duration to time scales. 8th Conference on Applied Climatology, AMS, 179-184.
    Thom, H. C. S. (1958). A note on the gamma distribution. Monthly Weather Review 86, 117-122.
    """

    _check(deficit < 1, f"deficit must be < 1 (a fraction of normal rainfall), got {deficit}.")
    _check(spread >= 0, f"spread must be >= 0, got {spread}.")
    _check(output in ("spi", "rainfall"), f"output {output!r} is not one of ['rainfall', 'spi'].")
    _check(correlation_km > 0, f"correlation_km must be > 0, got {correlation_km}.")
    bbox = _bbox(bbox)
    grid = _output_grid(bbox, resolution)
    mean, cv = _monsoon_climatology(grid)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 31]))
    dy, dx = grid.pixel_km()
    xi = _smooth_noise(rng, grid.shape, correlation_km / min(dy, dx))
    s = spread * np.sqrt(np.log1p(cv * cv))
    rain = mean * (1.0 - deficit) * np.exp(s * xi - 0.5 * s * s)
    alpha = 1.0 / (cv * cv)
    spi = np.clip(special.ndtri(np.clip(special.gammainc(alpha, rain * alpha / mean), 1e-12, 1 - 1e-12)), -3.5, 3.5)
    if inside_pakistan:
        rain, spi = _inside_pakistan(grid, bbox, rain, spi)
    prov = {
        "generator": "hazards.generators.drought",
        "method": "SPI (McKee et al. 1993) of a seeded seasonal deficit field under a gamma climatology "
                  "from station July-September normals (data/climate/stations_normals.csv)",
        "output": output,
        "deficit": deficit,
        "spread": spread,
        "correlation_km": correlation_km,
        "inside_pakistan": inside_pakistan,
        "season": "July-September (monsoon)",
        "bbox": list(bbox),
        "resolution": resolution,
        "seed": seed,
    }
    if output == "rainfall":
        return _layer(rain.round(1), grid, units="mm", kind="drought", name="rainfall", provenance=prov)
    return _layer(spi.round(3), grid, units="index", kind="drought", name="spi", provenance=prov)


# --------------------------------------------------------------------------------------------
# earthquake
# --------------------------------------------------------------------------------------------

#: Boore & Atkinson (2008) coefficients for PGA: Tables 3, 6, 7 and 8 (sigma, tau for a
#: specified fault type). Mref = 4.5, Rref = 1 km.
_BA08_PGA = {
    "c1": -0.66050, "c2": 0.11970, "c3": -0.01151, "h": 1.35,
    "e1": -0.53804, "e2": -0.50350, "e3": -0.75472, "e4": -0.50970,
    "e5": 0.28805, "e6": -0.10164, "e7": 0.0, "Mh": 6.75,
    "blin": -0.360, "b1": -0.640, "b2": -0.14,
    "sigma": 0.502, "tau": 0.260,
}
#: Jayaram & Baker (2009): PGA within-event residuals correlate as exp(-3 h / b), b = 8.5 km.
_JB09_RANGE_KM = 8.5
_BA08_MECHANISM = {"unspecified": "e1", "strike-slip": "e2", "normal": "e3", "reverse": "e4"}
#: Worden et al. (2012), Eq. 3 for PGA [cm/s2]: MMI = c1 + c2 log10(Y) up to log10(Y) = t1,
#: c3 + c4 log10(Y) above.
_WGRW12_PGA = {"c1": 1.78, "c2": 1.55, "c3": -1.60, "c4": 3.70, "t1": 1.57}
G_CM_S2 = 980.665


def ba08_pga(magnitude: float, rjb_km: np.ndarray, *, vs30: float | np.ndarray = 760.0,
             mechanism: str = "unspecified") -> np.ndarray:
    """Median PGA [g] of Boore & Atkinson (2008) for moment magnitude and Joyner-Boore distance.

    ``ln PGA = F_M(M) + F_D(R_JB, M) + F_S(Vs30, R_JB, M)`` with the PGA coefficients, the
    linear and non-linear site terms (Eqs. 6-8, 13) and ``pga4nl`` the reference-rock PGA.
    """
    c = _BA08_PGA
    _check(mechanism in _BA08_MECHANISM, f"mechanism {mechanism!r} is not one of {sorted(_BA08_MECHANISM)}.")
    m = float(magnitude)
    dm = m - c["Mh"]
    f_m = c[_BA08_MECHANISM[mechanism]] + (c["e5"] * dm + c["e6"] * dm * dm if m <= c["Mh"] else c["e7"] * dm)
    r = np.sqrt(np.asarray(rjb_km, dtype=float) ** 2 + c["h"] ** 2)
    f_d = (c["c1"] + c["c2"] * (m - 4.5)) * np.log(r / 1.0) + c["c3"] * (r - 1.0)
    pga4nl = np.exp(f_m + f_d)
    v = np.broadcast_to(np.asarray(vs30, dtype=float), pga4nl.shape)
    f_lin = c["blin"] * np.log(v / 760.0)
    v1, v2, vref = 180.0, 300.0, 760.0
    bnl = np.where(v <= v1, c["b1"],
                   np.where(v <= v2, (c["b1"] - c["b2"]) * np.log(v / v2) / np.log(v1 / v2) + c["b2"],
                            np.where(v < vref, c["b2"] * np.log(v / vref) / np.log(v2 / vref), 0.0)))
    a1, a2, pga_low = 0.03, 0.09, 0.06
    dx = np.log(a2 / a1)
    dy = bnl * np.log(a2 / pga_low)
    cc = (3 * dy - bnl * dx) / dx ** 2
    dd = -(2 * dy - bnl * dx) / dx ** 3
    lr = np.log(np.maximum(pga4nl, 1e-12) / a1)
    f_nl = np.where(pga4nl <= a1, bnl * np.log(pga_low / 0.1),
                    np.where(pga4nl <= a2, bnl * np.log(pga_low / 0.1) + cc * lr ** 2 + dd * lr ** 3,
                             bnl * np.log(pga4nl / 0.1)))
    return np.exp(f_m + f_d + f_lin + f_nl)


def mmi_from_pga(pga_g: np.ndarray) -> np.ndarray:
    """Modified Mercalli intensity [index] from PGA [g] by Worden et al. (2012), clipped to 1-10."""
    c = _WGRW12_PGA
    y = np.log10(np.maximum(np.asarray(pga_g, dtype=float) * G_CM_S2, 1e-6))
    mmi = np.where(y <= c["t1"], c["c1"] + c["c2"] * y, c["c3"] + c["c4"] * y)
    return np.clip(mmi, 1.0, 10.0)


def _rjb_km(grid: _Grid, lon: float, lat: float, magnitude: float, depth_km: float,
            strike_deg: float | None, dip_deg: float) -> tuple[np.ndarray, dict[str, float]]:
    """Joyner-Boore distance [km] to a rectangular rupture centred on the hypocentre."""
    east, north = _local_en_km(grid.lon, grid.lat, lon, lat)
    if strike_deg is None:
        return np.hypot(east, north), {"rupture": "point"}
    length = 10 ** (-2.44 + 0.59 * magnitude)  # Wells & Coppersmith (1994), subsurface length
    width = 10 ** (-1.01 + 0.32 * magnitude)  # Wells & Coppersmith (1994), down-dip width
    dip = math.radians(dip_deg)
    z_tor = max(depth_km - 0.6 * width * math.sin(dip), 0.0)  # Kaklamanos et al. (2011)
    z_bot = z_tor + width * math.sin(dip)
    tan = math.tan(dip) if dip_deg < 89.9 else math.inf
    up, down = (depth_km - z_tor) / tan, (z_bot - depth_km) / tan
    s = math.radians(strike_deg)
    along = east * math.sin(s) + north * math.cos(s)
    across = east * math.cos(s) - north * math.sin(s)  # positive in the dip direction
    d_along = np.maximum(np.abs(along) - length / 2, 0.0)
    d_across = np.maximum(np.maximum(-up - across, across - down), 0.0)
    geometry = {"rupture": "rectangle", "length_km": round(length, 1), "width_km": round(width, 1),
                "z_tor_km": round(z_tor, 1), "z_bot_km": round(z_bot, 1)}
    return np.hypot(d_along, d_across), geometry


def earthquake(
    *,
    magnitude: float = 7.6,
    lon: float = 73.59,
    lat: float = 34.49,
    depth_km: float = 26.0,
    measure: str = "pga",
    mechanism: str = "reverse",
    strike_deg: float | None = 331.0,
    dip_deg: float = 29.0,
    vs30: float = 760.0,
    residuals: bool = False,
    bbox: Sequence[float] = EARTHQUAKE_BBOX,
    resolution: float = DEFAULT_RESOLUTION,
    seed: int = 0,
) -> xr.DataArray:
    """Ground shaking of an earthquake as PGA [g] or Modified Mercalli intensity [index].

    Parameters
    ----------
    magnitude
        Moment magnitude Mw (BA08 is fitted for 5-8).
    lon, lat
        Epicentre [degrees].
    depth_km
        Hypocentral depth [km]; places the rupture's top and bottom (see Notes).
    measure
        ``"pga"`` (peak ground acceleration [g]) or ``"mmi"`` (intensity [index]).
    mechanism
        ``"reverse"``, ``"strike-slip"``, ``"normal"`` or ``"unspecified"`` (BA08's fault-type terms).
    strike_deg, dip_deg
        Strike and dip [degrees] of a rectangular rupture centred on the hypocentre. None for
        ``strike_deg`` takes a point source (R_JB = epicentral distance). The defaults are those
        of the 2005 Kashmir earthquake's Balakot-Bagh thrust (Avouac et al. 2006).
    vs30
        Time-averaged shear-wave velocity of the top 30 m [m/s]; 760 is NEHRP site class B/C
        (firm rock), BA08's reference, with no site amplification.
    residuals
        Add seeded ground-motion variability: one between-event term (tau = 0.26) and a spatially
        correlated within-event field (sigma = 0.502, in ln units). False gives the median.
    bbox, resolution, seed
        Grid extent [degrees], spacing [degrees] and seed (only used with ``residuals``).

    Returns
    -------
    xarray.DataArray
        PGA [g] or MMI [index], ``kind="earthquake"``, on an EPSG:4326 grid.

    Raises
    ------
    HazardError
        Magnitude outside 4-9, negative depth, unknown ``measure`` or ``mechanism``,
        ``vs30`` <= 0.

    Notes
    -----
    PGA follows the NGA ground-motion model of Boore & Atkinson (2008, "BA08") for shallow
    crustal earthquakes in active regions, implemented with its PGA coefficients:
    ``ln PGA = F_M + F_D + F_S``; ``F_M = e_mech + e5 (M - Mh) + e6 (M - Mh)^2`` (M <= Mh = 6.75)
    or ``e_mech + e7 (M - Mh)``; ``F_D = [c1 + c2 (M - 4.5)] ln(R) + c3 (R - 1)`` with
    ``R = sqrt(R_JB^2 + h^2)``; ``F_S`` the linear and non-linear site terms, zero at
    Vs30 = 760 m/s (the default, site class B/C). PGA decays with distance and grows with
    magnitude (above Mh only through the slower decay, since e7 = 0 for PGA).

    BA08 has no depth term; depth enters through the distance R_JB to the surface projection of
    the rupture, a rectangle of length and width from Wells & Coppersmith (1994) centred on the
    epicentre along strike, whose top is at ``max(depth - 0.6 W sin(dip), 0)`` (Kaklamanos et al.
    2011). MMI comes from PGA through Worden et al. (2012), Eq. 3 (without the optional
    distance and magnitude terms), clipped to 1-10. With ``residuals`` the within-event field
    is a smoothed Gaussian field whose correlation falls to 1/e at b/3 = 2.8 km, matching at
    that distance the exponential model exp(-3h/b), b = 8.5 km, of Jayaram & Baker (2009) for
    PGA (an approximation: the shapes differ).

    Limits: a median scenario map (unless ``residuals``), not a ShakeMap: no station data, no
    hanging-wall, directivity, basin or topographic effects, and one site class everywhere
    unless ``vs30`` is given; BA08 is calibrated mostly on California, Taiwan and Turkey
    records, R_JB <= 200 km; beyond that the values are extrapolated. Worden et al. is a
    Californian conversion.

    References
    ----------
    Boore, D. M., Atkinson, G. M. (2008). Ground-motion prediction equations for the average
    horizontal component of PGA, PGV, and 5%-damped PSA at spectral periods between 0.01 s and
    10.0 s. Earthquake Spectra 24(1), 99-138.
    Worden, C. B., Gerstenberger, M. C., Rhoades, D. A., Wald, D. J. (2012). Probabilistic
    relationships between ground-motion parameters and Modified Mercalli Intensity in
    California. BSSA 102(1), 204-221.
    Wells, D. L., Coppersmith, K. J. (1994). New empirical relationships among magnitude,
    rupture length, rupture width, rupture area, and surface displacement. BSSA 84(4), 974-1002.
    Kaklamanos, J., Baise, L. G., Boore, D. M. (2011). Estimating unknown input parameters when
    implementing the NGA ground-motion prediction equations in engineering practice.
    Earthquake Spectra 27(4), 1219-1235.
    Avouac, J.-P., Ayoub, F., Leprince, S., Konca, O., Helmberger, D. V. (2006). The 2005,
    Mw 7.6 Kashmir earthquake: sub-pixel correlation of ASTER images and seismic waveforms
    analysis. Earth and Planetary Science Letters 249, 514-528.
    Jayaram, N., Baker, J. W. (2009). Correlation model for spatially distributed ground-motion
    intensities. Earthquake Engineering and Structural Dynamics 38(15), 1687-1708.
    """
    _check(4.0 <= magnitude <= 9.0, f"magnitude must be a moment magnitude within 4-9, got {magnitude}.")
    _check(depth_km >= 0, f"depth_km must be >= 0 km, got {depth_km}.")
    _check(depth_km <= 70, f"depth_km {depth_km} is below the crust; BA08 is for shallow crustal events (<= 70 km).")
    _check(measure in ("pga", "mmi"), f"measure {measure!r} is not one of ['mmi', 'pga'].")
    _check(mechanism in _BA08_MECHANISM, f"mechanism {mechanism!r} is not one of {sorted(_BA08_MECHANISM)}.")
    _check(vs30 > 0, f"vs30 must be > 0 m/s, got {vs30}.")
    _check(0 < dip_deg <= 90, f"dip_deg must be within (0, 90], got {dip_deg}.")
    _points((lon, lat), "epicentre (lon, lat)")
    bbox = _bbox(bbox)
    grid = _output_grid(bbox, resolution)
    rjb, geometry = _rjb_km(grid, lon, lat, magnitude, depth_km, strike_deg, dip_deg)
    pga = ba08_pga(magnitude, rjb, vs30=vs30, mechanism=mechanism)
    if residuals:
        rng = np.random.default_rng(np.random.SeedSequence([seed, 37]))
        dy, dx = grid.pixel_km()
        within = _smooth_noise(rng, grid.shape, _JB09_RANGE_KM / 3.0 / min(dy, dx))
        pga = pga * np.exp(_BA08_PGA["tau"] * rng.standard_normal() + _BA08_PGA["sigma"] * within)
    prov = {
        "generator": "hazards.generators.earthquake",
        "method": "Boore & Atkinson (2008) PGA" + ("; MMI by Worden et al. (2012)" if measure == "mmi" else ""),
        "measure": measure,
        "magnitude": magnitude,
        "epicentre": [lon, lat],
        "depth_km": depth_km,
        "mechanism": mechanism,
        "strike_deg": strike_deg,
        "dip_deg": dip_deg,
        "vs30": vs30,
        "site_class": "NEHRP B/C boundary (Vs30 = 760 m/s)" if vs30 == 760 else f"Vs30 = {vs30} m/s",
        "residuals": residuals,
        **geometry,
        "bbox": list(bbox),
        "resolution": resolution,
        "seed": seed,
    }
    if measure == "mmi":
        return _layer(mmi_from_pga(pga).round(2), grid, units="index", kind="earthquake", name="mmi", provenance=prov)
    return _layer(pga.round(4), grid, units="g", kind="earthquake", name="pga", provenance=prov)


# --------------------------------------------------------------------------------------------
# tropical cyclone
# --------------------------------------------------------------------------------------------

#: A Biparjoy-2023-like track (lon, lat) moved to make landfall near Keti Bandar: north over
#: the Arabian Sea, then north-east over the Indus delta into lower Sindh.
BIPARJOY_LIKE_TRACK = ((66.3, 18.5), (66.6, 20.5), (67.0, 22.3), (67.25, 23.3), (67.4, 23.9),
                       (67.8, 24.6), (68.4, 25.3), (69.0, 25.8))
_OMEGA = 7.2921e-5
_KD95 = {"alpha_per_h": 0.095, "v_background_ms": 26.7 * 0.514444, "r": 0.9}


def holland_wind(r_km: np.ndarray, *, delta_p_hpa: float, rmax_km: float, b: float,
                 lat: float, air_density: float = 1.15) -> np.ndarray:
    """Gradient-level wind speed [m/s] at radius r [km] of the Holland (1980) profile."""
    r = np.maximum(np.asarray(r_km, dtype=float), 1e-3) * 1000.0
    f = 2 * _OMEGA * abs(math.sin(math.radians(lat)))
    x = (rmax_km * 1000.0 / r) ** b
    v2 = b / air_density * delta_p_hpa * 100.0 * x * np.exp(-x) + (r * f / 2) ** 2
    return np.sqrt(v2) - r * f / 2


def cyclone(
    track: Sequence[Sequence[float]] | None = None,
    *,
    landfall: Sequence[float] = (67.4, 23.9),
    delta_p_hpa: float = 40.0,
    rmax_km: float = 30.0,
    holland_b: float = 1.4,
    translation_ms: float = 4.0,
    surface_factor: float = 0.8,
    air_density: float = 1.15,
    decay_inland: bool = True,
    track_jitter_km: float = 0.0,
    bbox: Sequence[float] = CYCLONE_BBOX,
    resolution: float = DEFAULT_RESOLUTION,
    seed: int = 0,
) -> xr.DataArray:
    """Maximum sustained 10 m wind [m/s] of a tropical cyclone along a track (the wind swath).

    Parameters
    ----------
    track
        Storm-centre positions as lon/lat pairs [degrees], in time order. None takes
        :data:`BIPARJOY_LIKE_TRACK` shifted so that its landfall point is at ``landfall``.
    landfall
        Landfall point (lon, lat) [degrees]: the track position nearest to it starts the
        inland decay.
    delta_p_hpa
        Central pressure deficit (environmental minus central pressure) [hPa] before landfall.
    rmax_km
        Radius of maximum winds [km].
    holland_b
        Holland's shape parameter B (1-2.5; larger is more peaked).
    translation_ms
        Forward speed of the storm [m/s]; adds a right-of-track asymmetry and sets the time
        spent inland.
    surface_factor
        Ratio of the 10 m sustained wind to the gradient wind.
    air_density
        Air density [kg/m3].
    decay_inland
        Weaken the storm after landfall (Kaplan & DeMaria 1995).
    track_jitter_km
        Standard deviation [km] of a seeded random shift of each track point (0: none).
    bbox, resolution, seed
        Grid extent [degrees], spacing [degrees] and seed (only used with ``track_jitter_km``).

    Returns
    -------
    xarray.DataArray
        Maximum wind over the storm's passage [m/s], ``kind="cyclone"``, on an EPSG:4326 grid.

    Raises
    ------
    HazardError
        Non-positive pressure deficit, Rmax or surface factor, B outside 0.5-3, a bad track.

    Notes
    -----
    The wind at each track position is Holland's (1980) gradient wind,
    ``V(r) = sqrt(B/rho dp (Rmax/r)^B exp(-(Rmax/r)^B) + (r f/2)^2) - r f/2``, which peaks near
    Rmax at ``sqrt(B dp / (rho e))`` and decays outward; times ``surface_factor`` for the 10 m
    wind (0.7-0.9 is the usual range, e.g. Vickery et al. 2009), plus a translation
    asymmetry ``V_t Rmax r / (Rmax^2 + r^2) cos(beta)`` (Jelesnianski 1966) that strengthens the
    right-hand side of the track. The track is interpolated every Rmax/3 and the output is the
    maximum over positions. After landfall, the maximum wind decays as
    ``V(t) = V_b + (R V_0 - V_b) exp(-alpha t)`` with ``alpha = 0.095/h``, ``V_b = 26.7 kt``,
    ``R = 0.9`` (Kaplan & DeMaria 1995), t from the distance travelled inland at
    ``translation_ms``, and the pressure deficit follows from Holland's Vmax relation.

    The default is a Biparjoy-2023-like storm: Biparjoy, an extremely severe cyclonic storm over
    the Arabian Sea, made landfall near Jakhau (Gujarat, India) on 15 June 2023 with maximum
    sustained winds of about 115-125 km/h after a slow northward track; Sindh evacuated coastal
    Thatta, Sujawal and Badin (Keti Bandar). Here its track is moved to landfall near Keti Bandar
    (67.4 E, 23.9 N) with dp = 40 hPa, Rmax = 30 km, B = 1.4: about 34 m/s (120 km/h) at 10 m
    plus the asymmetry.

    Limits: an axisymmetric profile with a simple asymmetry; no surface roughness over land, no
    gusts, rain or storm surge (often the deadliest part on this coast); "distance to a flat
    plane" east-north coordinates at each position (errors of a few % at 500 km); constant
    Rmax and B along the track.

    References
    ----------
    Holland, G. J. (1980). An analytic model of the wind and pressure profiles in hurricanes.
    Monthly Weather Review 108, 1212-1218.
    Kaplan, J., DeMaria, M. (1995). A simple empirical model for predicting the decay of
    tropical cyclone winds after landfall. Journal of Applied Meteorology 34, 2499-2512.
    Jelesnianski, C. P. (1966). Numerical computations of storm surges without bottom stress.
    Monthly Weather Review 94, 379-394.
    Vickery, P. J., Wadhera, D., Powell, M. D., Chen, Y. (2009). A hurricane boundary layer and
    wind field model for use in engineering applications. Journal of Applied Meteorology and
    Climatology 48, 381-405.
    India Meteorological Department (2023). Extremely Severe Cyclonic Storm "Biparjoy" over the
    Arabian Sea, 6-19 June 2023: a report.
    """
    _check(delta_p_hpa > 0, f"delta_p_hpa must be > 0 hPa, got {delta_p_hpa}.")
    _check(rmax_km > 0, f"rmax_km must be > 0 km, got {rmax_km}.")
    _check(0.5 <= holland_b <= 3.0, f"holland_b must be within 0.5-3, got {holland_b}.")
    _check(translation_ms >= 0, f"translation_ms must be >= 0, got {translation_ms}.")
    _check(0 < surface_factor <= 1.2, f"surface_factor must be within (0, 1.2], got {surface_factor}.")
    _check(air_density > 0, f"air_density must be > 0, got {air_density}.")
    _check(track_jitter_km >= 0, f"track_jitter_km must be >= 0, got {track_jitter_km}.")
    land = _points(landfall, "landfall")[0]
    if track is None:
        base = np.asarray(BIPARJOY_LIKE_TRACK, dtype=float)
        pts = base + (land - base[4])
    else:
        pts = _points(track, "track")
    if track_jitter_km > 0:
        rng = np.random.default_rng(np.random.SeedSequence([seed, 41]))
        shift = rng.normal(0.0, track_jitter_km, pts.shape) / KM_PER_DEG
        shift[:, 0] /= np.cos(np.radians(pts[:, 1]))
        pts = pts + shift
    bbox = _bbox(bbox)
    grid = _output_grid(bbox, resolution)

    # Positions every Rmax/3 along the track, their distance travelled [km] and heading.
    km = np.concatenate([[0.0], np.cumsum(_haversine_km(pts[1:, 0], pts[1:, 1], pts[:-1, 0], pts[:-1, 1]))])
    step = max(rmax_km / 3.0, 1.0)
    s = np.arange(0.0, km[-1] + step, step) if km[-1] > 0 else np.zeros(1)
    s = np.minimum(s, km[-1])
    if km[-1] > 0:
        lon_t, lat_t = np.interp(s, km, pts[:, 0]), np.interp(s, km, pts[:, 1])
    else:
        lon_t, lat_t = pts[:1, 0].copy(), pts[:1, 1].copy()
    heading_e = np.gradient(lon_t) * np.cos(np.radians(lat_t)) if len(s) > 1 else np.zeros(1)
    heading_n = np.gradient(lat_t) if len(s) > 1 else np.zeros(1)
    norm = np.hypot(heading_e, heading_n)
    heading_e = np.divide(heading_e, norm, out=np.zeros_like(norm), where=norm > 0)
    heading_n = np.divide(heading_n, norm, out=np.zeros_like(norm), where=norm > 0)

    # Intensity along the track: constant at sea, Kaplan & DeMaria decay after landfall.
    v0 = surface_factor * math.sqrt(holland_b * delta_p_hpa * 100.0 / (air_density * math.e))
    s_land = s[int(np.argmin(_haversine_km(lon_t, lat_t, land[0], land[1])))]
    hours = np.maximum(s - s_land, 0.0) / max(translation_ms * 3.6, 0.5)
    vmax = np.full(len(s), v0)
    if decay_inland:
        vb, r_kd = _KD95["v_background_ms"], _KD95["r"]
        decayed = vb + (r_kd * v0 - vb) * np.exp(-_KD95["alpha_per_h"] * hours)
        vmax = np.where(s > s_land, np.minimum(v0, decayed), v0)
    dp_t = air_density * math.e * (vmax / surface_factor) ** 2 / holland_b / 100.0

    # Skip positions too far from the grid to matter (beyond 15 Rmax and 400 km).
    reach = max(15 * rmax_km, 400.0) / KM_PER_DEG
    near = ((lon_t > bbox[0] - reach / np.cos(np.radians(lat_t))) & (lon_t < bbox[2] + reach / np.cos(np.radians(lat_t)))
            & (lat_t > bbox[1] - reach) & (lat_t < bbox[3] + reach))
    swath = np.zeros(grid.shape, dtype=np.float32)
    lon_g, lat_g = grid.lon.astype(np.float32), grid.lat.astype(np.float32)
    # The profile is tabulated every 0.05 km and looked up at the nearest entry: the same values
    # as evaluating Holland's formula at every cell (to 0.05 m/s), at a fraction of the cost.
    per_km = 20.0
    for i in np.flatnonzero(near):
        coslat = math.cos(math.radians(lat_t[i]))
        east = (lon_g - np.float32(lon_t[i])) * np.float32(KM_PER_DEG * coslat)
        north = (lat_g - np.float32(lat_t[i])) * np.float32(KM_PER_DEG)
        r2 = east * east + north * north
        r = np.sqrt(r2)
        r_table = np.arange(int(float(r.max()) * per_km) + 2) / per_km
        profile = surface_factor * holland_wind(r_table, delta_p_hpa=dp_t[i], rmax_km=rmax_km,
                                                b=holland_b, lat=lat_t[i], air_density=air_density)
        v = np.take(profile.astype(np.float32), (r * np.float32(per_km) + np.float32(0.5)).astype(np.intp))
        if translation_ms > 0:
            # Jelesnianski: V_t Rmax r / (Rmax^2 + r^2) cos(beta), with r cos(beta) the dot product
            # of the counter-clockwise tangential direction (-north, east) and the heading.
            dot = -north * np.float32(heading_e[i]) + east * np.float32(heading_n[i])
            v += np.float32(translation_ms * rmax_km) * dot / (np.float32(rmax_km ** 2) + r2)
        np.maximum(swath, v, out=swath)
    return _layer(
        np.maximum(swath.astype(float), 0.0).round(2), grid, units="m/s", kind="cyclone", name="wind",
        provenance={
            "generator": "hazards.generators.cyclone",
            "method": "Holland (1980) parametric wind profile along the track, translation "
                      "asymmetry (Jelesnianski 1966), inland decay (Kaplan & DeMaria 1995)",
            "track": pts.round(4).tolist(),
            "landfall": [float(land[0]), float(land[1])],
            "delta_p_hpa": delta_p_hpa,
            "rmax_km": rmax_km,
            "holland_b": holland_b,
            "translation_ms": translation_ms,
            "surface_factor": surface_factor,
            "air_density": air_density,
            "decay_inland": decay_inland,
            "vmax_at_landfall_ms": round(v0, 2),
            "track_jitter_km": track_jitter_km,
            "bbox": list(bbox),
            "resolution": resolution,
            "seed": seed,
        },
    )


# --------------------------------------------------------------------------------------------
# choose by name
# --------------------------------------------------------------------------------------------

GENERATORS: dict[str, Callable[..., xr.DataArray]] = {
    "riverine-flood": riverine_flood,
    "flash-flood": flash_flood,
    "heatwave": heatwave,
    "drought": drought,
    "earthquake": earthquake,
    "cyclone": cyclone,
}


def _generator(kind: str) -> Callable[..., xr.DataArray]:
    key = str(kind).strip().lower().replace("_", "-")
    try:
        return GENERATORS[key]
    except KeyError:
        raise HazardError(f"unknown hazard kind {kind!r}; choose one of {list(GENERATORS)}.") from None


def parameters(kind: str) -> dict[str, Any]:
    """The parameters of the generator of ``kind`` and their defaults."""
    sig = inspect.signature(_generator(kind))
    return {name: p.default for name, p in sig.parameters.items()}


def generate(kind: str, **params: Any) -> xr.DataArray:
    """Generate a hazard layer of ``kind`` with the generator's own parameters.

    Parameters
    ----------
    kind
        One of ``riverine-flood``, ``flash-flood``, ``heatwave``, ``drought``, ``earthquake``,
        ``cyclone``.
    **params
        Keyword parameters of that generator (see :func:`parameters`); missing ones take the
        generator's defaults.

    Returns
    -------
    xarray.DataArray
        The layer (see :mod:`hazards.layer`).

    Raises
    ------
    HazardError
        An unknown kind (listing the valid ones), an unknown parameter (listing the allowed
        ones), or the generator's own errors.
    """
    fn = _generator(kind)
    allowed = list(parameters(kind))
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise HazardError(
            f"{kind}: unknown parameter(s) {unknown}; allowed: {allowed}."
        )
    try:
        return fn(**params)
    except TypeError as exc:  # a value of the wrong type, e.g. a string for a number
        raise HazardError(f"{kind}: bad parameter value ({exc}).") from exc
