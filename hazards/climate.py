"""Station climatology of Pakistan spread to a grid: normals, event rainfall and a land mask.

Tables (``data/climate/``, see its README for sources and confidence):

* ``stations_normals.csv``: PMD stations with the normal mean daily maximum temperature of the
  hottest month [degC], annual and July-September rainfall [mm];
* ``rain_<event>.csv``, e.g. ``rain_monsoon_2022.csv``: event rainfall totals [mm] per station.

Functions:

* :func:`normals_field`: a normal spread to a grid by inverse-distance weighting, with the
  standard-atmosphere lapse rate for temperature;
* :func:`rainfall_field`: event rainfall [mm] interpolated from an event table, relaxed to the
  climatological normal away from the event's stations, times a seeded log-normal perturbation;
* :func:`pakistan_mask`: cells inside the shipped province outlines.

Method: Shepard's (1968) inverse-distance weighting with the ``k`` nearest stations (cKDTree on
local kilometre coordinates), power 2. The interpolation runs on a coarse grid (about 5 km) and
is bilinearly resampled to the requested grid, so a 1680 x 2100 grid costs well under a second.

References: Shepard, D. (1968). A two-dimensional interpolation function for irregularly-spaced
data. Proc. 23rd ACM National Conference, 517-524. ICAO (1993). Manual of the ICAO Standard
Atmosphere, Doc 7488/3 (lapse rate 6.5 K/km).

Limits: 30 stations cannot resolve valleys, coasts or rain shadows; IDW makes "bull's-eyes"
around stations and flattens gradients between them; many normals in the table are marked
``unverified`` (see its ``source`` column) and are planning values, not PMD's published normals.
"""

from __future__ import annotations

import functools
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
from affine import Affine
from scipy.ndimage import gaussian_filter
from scipy.spatial import cKDTree

from hazards import tables
from hazards.errors import DataFileError, HazardError

log = logging.getLogger(__name__)

KM_PER_DEG = 111.32
#: Standard-atmosphere temperature lapse rate [K/km] (ICAO 1993).
LAPSE_RATE_K_PER_KM = 6.5
#: IDW settings: power and number of nearest stations.
IDW_POWER = 2.0
IDW_K = 8
#: Event rainfall keeps its station values within RELAX_INNER_KM of the nearest event station and
#: relaxes (smoothstep) to the climatological normal at RELAX_OUTER_KM.
RELAX_INNER_KM = 60.0
RELAX_OUTER_KM = 150.0
#: Assumed share of July-September normal rainfall that falls in July-August (planning value).
JULY_AUGUST_SHARE = 0.85
#: Correlation length of the rainfall perturbation [km].
PERTURBATION_CORR_KM = 75.0
#: Coarse interpolation step [km].
COARSE_KM = 5.0

_NORMALS_COLUMNS = ["station", "province", "lon", "lat", "elevation_m", "tmax_hot_degc", "hot_month",
                    "rain_annual_mm", "rain_jas_mm", "source", "confidence"]
_EVENT_COLUMNS = ["station", "lon", "lat", "rainfall_mm", "period", "kind", "source", "confidence"]
_VARIABLES = {"tmax": "tmax_hot_degc", "rain_annual": "rain_annual_mm", "rain_jas": "rain_jas_mm"}


def climate_dir() -> Path:
    """Folder of the climate tables: ``<data_dir>/climate``."""
    return tables.data_dir() / "climate"


def _read_table(name: str, required: list[str], numeric: list[str]) -> pd.DataFrame:
    path = climate_dir() / name
    if not path.exists():
        raise DataFileError(f"{path}: missing. It ships with the repository; restore it with "
                            f"`git checkout -- data/climate/{name}`.")
    table = pd.read_csv(path)
    absent = [c for c in required if c not in table.columns]
    if absent:
        raise DataFileError(f"{path}: columns {absent} are missing; expected {required}.")
    for col in numeric:
        values = pd.to_numeric(table[col], errors="coerce")
        bad = table.index[values.isna()]
        if len(bad):
            raise DataFileError(f"{path}: row {int(bad[0]) + 2}, field {col!r} is "
                                f"{table.loc[bad[0], col]!r}, not a number; give a number in the column's units.")
        table[col] = values
    blank = table.index[table["source"].isna() | (table["source"].astype(str).str.strip() == "")]
    if len(blank):
        raise DataFileError(f"{path}: row {int(blank[0]) + 2} has no source; every row needs one "
                            "(write 'unverified' if the figure could not be sourced).")
    bad = (table.lon < 60) | (table.lon > 78) | (table.lat < 23) | (table.lat > 38)
    if bad.any():
        i = int(table.index[bad][0])
        raise DataFileError(f"{path}: row {i + 2}, lon/lat ({table.lon[i]}, {table.lat[i]}) is outside "
                            "Pakistan (60-78 E, 23-38 N); fix the coordinates.")
    return table


@functools.cache
def normals() -> pd.DataFrame:
    """Station normals (``data/climate/stations_normals.csv``), validated."""
    return _read_table("stations_normals.csv", _NORMALS_COLUMNS,
                       ["lon", "lat", "elevation_m", "tmax_hot_degc", "rain_annual_mm", "rain_jas_mm"])


@functools.cache
def event_table(name: str) -> pd.DataFrame:
    """Event rainfall rows (``data/climate/rain_<name>.csv``), validated."""
    path = climate_dir() / f"rain_{name}.csv"
    if not path.exists():
        known = sorted(p.stem[5:] for p in climate_dir().glob("rain_*.csv"))
        raise HazardError(f"no rainfall table for event {name!r} ({path} is missing); known events: {known}.")
    return _read_table(path.name, _EVENT_COLUMNS, ["lon", "lat", "rainfall_mm"])


# --------------------------------------------------------------------------------------------
# grid helpers
# --------------------------------------------------------------------------------------------


def _is_geographic(crs: str) -> bool:
    if str(crs).upper() in ("EPSG:4326", "OGC:CRS84"):
        return True
    from pyproj import CRS

    return CRS.from_user_input(crs).is_geographic


def _cell_km(transform: Affine, crs: str) -> float:
    if _is_geographic(crs):
        return abs(transform.e) * KM_PER_DEG
    from pyproj import CRS

    c = CRS.from_user_input(crs)
    factor = c.axis_info[0].unit_conversion_factor if c.axis_info else 1.0
    return abs(transform.e) * factor / 1000.0


def _lonlat(transform: Affine, rows: np.ndarray, cols: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat of fractional (row, col) cell centres, as 2-D arrays (rows x cols)."""
    x = transform.c + transform.a * (cols + 0.5)
    y = transform.f + transform.e * (rows + 0.5)
    xx, yy = np.meshgrid(x, y)
    if _is_geographic(crs):
        return xx, yy
    from pyproj import Transformer

    return Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(xx, yy)


class _Coarse:
    """A coarse grid of fractional cell positions and the bilinear matrices back to the fine grid."""

    def __init__(self, transform: Affine, shape: tuple[int, int], crs: str):
        rows, cols = int(shape[0]), int(shape[1])
        if rows < 1 or cols < 1:
            raise HazardError(f"shape {shape} must be (rows, cols) with both >= 1.")
        if transform.b != 0 or transform.d != 0:
            raise HazardError("the grid must be north-up (a rotation-free affine transform).")
        self.step_km = COARSE_KM
        f = max(1.0, COARSE_KM / max(_cell_km(transform, crs), 1e-9))
        self.rc = np.arange(0.0, rows - 1 + f, f) if rows > 1 else np.zeros(1)
        self.cc = np.arange(0.0, cols - 1 + f, f) if cols > 1 else np.zeros(1)
        self.lon, self.lat = _lonlat(transform, self.rc, self.cc, crs)
        self.wr = self._weights(np.arange(rows, dtype=float), self.rc)
        self.wc = self._weights(np.arange(cols, dtype=float), self.cc)
        self.lat0 = float(np.mean(self.lat))

    @staticmethod
    def _weights(fine: np.ndarray, coarse: np.ndarray) -> np.ndarray:
        w = np.zeros((fine.size, coarse.size))
        if coarse.size == 1:
            w[:, 0] = 1.0
            return w
        i = np.clip(np.searchsorted(coarse, fine, side="right") - 1, 0, coarse.size - 2)
        t = np.clip((fine - coarse[i]) / (coarse[i + 1] - coarse[i]), 0.0, 1.0)
        w[np.arange(fine.size), i] = 1.0 - t
        w[np.arange(fine.size), i + 1] += t
        return w

    def xy_km(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        k = math.cos(math.radians(self.lat0))
        return np.column_stack([np.ravel(lon) * KM_PER_DEG * k, np.ravel(lat) * KM_PER_DEG])

    def fine(self, coarse_values: np.ndarray) -> np.ndarray:
        return self.wr @ coarse_values @ self.wc.T


def _idw(coarse: _Coarse, lon: np.ndarray, lat: np.ndarray, values: np.ndarray,
         k: int = IDW_K, power: float = IDW_POWER) -> tuple[np.ndarray, np.ndarray]:
    """IDW (Shepard 1968) of station values on the coarse grid: (estimate, distance to nearest [km])."""
    tree = cKDTree(coarse.xy_km(lon, lat))
    k = min(k, len(values))
    d, i = tree.query(coarse.xy_km(coarse.lon, coarse.lat), k=k)
    d = d.reshape(-1, k)
    i = i.reshape(-1, k)
    w = 1.0 / np.maximum(d, 0.5) ** power
    est = (w * values[i]).sum(axis=1) / w.sum(axis=1)
    return est.reshape(coarse.lon.shape), d[:, 0].reshape(coarse.lon.shape)


def _dem_on_grid(transform: Affine, shape: tuple[int, int], crs: str, dem) -> np.ndarray:
    """Ground elevation [m] on the grid: an array of that shape, or a raster resampled bilinearly."""
    if dem is not None and not isinstance(dem, (str, Path)):
        arr = np.asarray(getattr(dem, "values", dem), dtype=float)
        if arr.shape != tuple(shape):
            raise HazardError(f"dem array has shape {arr.shape}; give one of the grid's shape {tuple(shape)}.")
        return np.where(np.isfinite(arr) & (arr > 0), arr, 0.0)
    import rasterio
    from rasterio.warp import Resampling, reproject

    path = Path(dem) if dem is not None else tables.dem_path()
    if not path.exists():
        raise HazardError(f"{path}: no such DEM; give a GeoTIFF of ground elevation in metres.")
    out = np.zeros(tuple(shape), dtype=np.float32)
    with rasterio.open(path) as src:
        reproject(source=rasterio.band(src, 1), destination=out, dst_transform=transform, dst_crs=crs,
                  resampling=Resampling.bilinear, dst_nodata=0.0)
    return np.where(np.isfinite(out) & (out > 0), out, 0.0).astype(float)


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


def normals_field(variable: str, *, transform: Affine, shape: tuple[int, int], dem=None,
                  crs: str = "EPSG:4326", lapse_rate_k_per_km: float = LAPSE_RATE_K_PER_KM) -> np.ndarray:
    """A station normal spread to a grid by IDW (power 2, 8 nearest stations, no radius).

    ``variable``: ``"tmax"`` (mean daily maximum of the hottest month [degC]), ``"rain_annual"``
    or ``"rain_jas"`` (annual / July-September normal rainfall [mm]). For ``tmax`` station values
    are first reduced to sea level with the lapse rate (default 6.5 K/km, ICAO 1993) using the
    station's elevation, interpolated, then lifted to each cell's ground elevation: ``dem`` (an
    array of the grid's shape, or a GeoTIFF path) or, when None, the shipped GLOBE DEM
    (:func:`hazards.tables.dem_path`) resampled to the grid. Limits: see the module docstring.
    """
    if variable not in _VARIABLES:
        raise HazardError(f"variable {variable!r} is not one of {sorted(_VARIABLES)}.")
    table = normals()
    coarse = _Coarse(transform, shape, crs)
    values = table[_VARIABLES[variable]].to_numpy(float)
    if variable == "tmax":
        values = values + lapse_rate_k_per_km * table.elevation_m.to_numpy(float) / 1000.0
    est, _ = _idw(coarse, table.lon.to_numpy(float), table.lat.to_numpy(float), values)
    out = coarse.fine(est)
    if variable == "tmax":
        out = out - lapse_rate_k_per_km * _dem_on_grid(transform, shape, crs, dem) / 1000.0
    return out


def _perturbation(coarse: _Coarse, seed: int, sigma: float) -> np.ndarray:
    """Seeded smooth log-normal field on the coarse grid: median-corrected to mean 1."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 41]))
    shape = coarse.lon.shape
    pad = 8
    white = rng.standard_normal((shape[0] + 2 * pad, shape[1] + 2 * pad))
    xi = gaussian_filter(white, sigma=PERTURBATION_CORR_KM / coarse.step_km / 2.0)[pad:-pad, pad:-pad]
    sd = xi.std()
    xi = (xi - xi.mean()) / sd if sd > 0 else xi * 0.0
    return np.exp(sigma * xi - 0.5 * sigma * sigma)


def rainfall_field(name: str, *, transform: Affine, shape: tuple[int, int], seed: int,
                   perturbation: float = 0.25, crs: str = "EPSG:4326") -> np.ndarray:
    """Event rainfall [mm] on a grid from the station table ``data/climate/rain_<name>.csv``.

    Method: rows of the table's main period (its most common ``period``; observed and derived
    rows, not ``observed_partial``) are interpolated by IDW (Shepard 1968; power 2, 8 nearest
    stations). Within 60 km of the nearest event station the IDW value stands; from 60 to 150 km
    it relaxes (smoothstep) to the climatological July-August normal, ``0.85 x`` the IDW of the
    stations' July-September normals; beyond 150 km the normal alone. The result is multiplied by
    a seeded smooth log-normal field (Gaussian-smoothed white noise, correlation about 75 km,
    log standard deviation ``perturbation``, mean 1), so seeds differ plausibly while the
    station pattern holds. NaN-free, >= 0.

    Limits: station totals of an event in progress (the 2022 table stops at 22 August); derived
    rows for Balochistan, Punjab and KP are provincial anomalies applied to station normals,
    not observations; no orography beyond what the stations see; not a flood model.
    """
    if perturbation < 0:
        raise HazardError(f"perturbation must be >= 0 (a log standard deviation), got {perturbation}.")
    table = event_table(name)
    rows = table[table.kind.isin(["observed", "derived"])]
    if rows.empty:
        raise HazardError(f"{climate_dir() / f'rain_{name}.csv'}: no 'observed' or 'derived' rows to interpolate.")
    period = rows.period.mode().iloc[0]
    rows = rows[rows.period == period]
    coarse = _Coarse(transform, shape, crs)
    event, dist = _idw(coarse, rows.lon.to_numpy(float), rows.lat.to_numpy(float), rows.rainfall_mm.to_numpy(float))
    nt = normals()
    normal, _ = _idw(coarse, nt.lon.to_numpy(float), nt.lat.to_numpy(float),
                     JULY_AUGUST_SHARE * nt.rain_jas_mm.to_numpy(float))
    t = np.clip((dist - RELAX_INNER_KM) / (RELAX_OUTER_KM - RELAX_INNER_KM), 0.0, 1.0)
    blend = 1.0 - t * t * (3.0 - 2.0 * t)
    coarse_rain = blend * event + (1.0 - blend) * normal
    if perturbation > 0:
        coarse_rain = coarse_rain * _perturbation(coarse, seed, perturbation)
    log.debug("rainfall_field(%s): %d stations, period %s", name, len(rows), period)
    return np.maximum(coarse.fine(coarse_rain), 0.0)


def pakistan_mask(transform: Affine, shape: tuple[int, int], crs: str = "EPSG:4326") -> np.ndarray:
    """Boolean grid, True for cells that touch the shipped province outlines
    (:func:`hazards.tables.outlines`, 2023 frame incl. AJK and GB; OSM, ODbL)."""
    from rasterio.features import rasterize

    provinces = tables.outlines("provinces")
    if not _is_geographic(crs):
        provinces = provinces.to_crs(crs)
    # all_touched: a cell on the border or the coast counts, so no household inside Pakistan
    # falls on a masked cell.
    burnt = rasterize(((geom, 1) for geom in provinces.geometry), out_shape=tuple(shape),
                      transform=transform, fill=0, dtype="uint8", all_touched=True)
    return burnt.astype(bool)
