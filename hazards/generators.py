"""Seeded hazard generators for building scenarios before (or without) an observed raster."""

from __future__ import annotations

import numpy as np
import xarray as xr
from affine import Affine
from scipy.ndimage import distance_transform_edt, gaussian_filter

from hazards.layer import make_layer
from simulator import data
from simulator.errors import HazardError

KM_PER_DEG = 111.32
#: Default extent of the demo: the lower Indus from Dera Ismail Khan to the sea (degrees).
LOWER_INDUS_BBOX = (66.5, 23.6, 72.0, 31.9)


def _grid(bbox: tuple[float, float, float, float], resolution: float) -> tuple[Affine, int, int]:
    left, bottom, right, top = bbox
    if not (left < right and bottom < top):
        raise HazardError(f"bbox {bbox} must be (left, bottom, right, top) with left<right, bottom<top.")
    cols = int(round((right - left) / resolution))
    rows = int(round((top - bottom) / resolution))
    return Affine(resolution, 0.0, left, 0.0, -resolution, top), rows, cols


def river_line(river: str) -> np.ndarray:
    """(n, 2) lon/lat waypoints of a river from ``data/rivers.csv``, upstream first."""
    table = data.rivers()
    pts = table[table.river == river.lower()][["lon", "lat"]].to_numpy(dtype=float)
    if len(pts) < 2:
        known = sorted(table.river.unique())
        raise HazardError(f"river {river!r} is not in data/rivers.csv; known rivers: {known}.")
    return pts


def _densify(line: np.ndarray, step_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``step_deg`` along a polyline, and their position 0..1 along it."""
    seg = np.diff(line, axis=0)
    length = np.hypot(seg[:, 0], seg[:, 1])
    cum = np.concatenate([[0.0], np.cumsum(length)])
    s = np.arange(0.0, cum[-1] + step_deg, step_deg)
    s[-1] = min(s[-1], cum[-1])
    lon = np.interp(s, cum, line[:, 0])
    lat = np.interp(s, cum, line[:, 1])
    return np.column_stack([lon, lat]), s / cum[-1]


def riverine_flood(
    river: str = "indus",
    *,
    return_period: float = 50.0,
    bbox: tuple[float, float, float, float] = LOWER_INDUS_BBOX,
    resolution: float = 1.0 / 120.0,
    seed: int = 0,
    width_km_10yr: float = 7.0,
    depth_m_10yr: float = 1.6,
) -> xr.DataArray:
    """Flood depth [m] along a named river, on an EPSG:4326 grid (default 30 arc-seconds, ~1 km).

    Method (no DEM): a distance-decay floodplain. Each cell's distance d [km] to the river's
    centre line (``data/rivers.csv``, burnt into the grid) comes from a Euclidean distance
    transform. The floodplain half-width grows with return period T and downstream position p
    (0 at the first waypoint, 1 at the last): ``W = width_km_10yr * (1 + 0.6 ln(T/10)) * (0.6 + 0.9 p) * m``, where ``m`` is a
    seeded, smoothed random field (mean 1, range about 0.5-1.5) that makes the extent irregular.
    Depth is ``H (1 - d/W)^1.5`` inside the floodplain and 0 outside, with
    ``H = depth_m_10yr * (1 + 0.5 ln(T/10))`` at the channel.

    Limits: no hydraulics, embankments, breaches or terrain; the river line is a set of
    approximate waypoints (a few km), so the footprint is a planning sketch, not a flood map.
    The logarithmic growth of extent and depth with return period follows the usual shape of
    flood frequency curves (e.g. Gumbel); its coefficients are illustrative, not fitted.
    """
    if return_period < 1:
        raise HazardError(f"return_period must be >= 1 year, got {return_period}.")
    transform, rows, cols = _grid(bbox, resolution)
    line, position = _densify(river_line(river), step_deg=resolution / 4)
    # Burn the river into the grid, then a Euclidean distance transform (in km, with the
    # east-west pixel size shrunk by cos(latitude)) gives every cell's distance to the nearest
    # river cell and that cell's position along the river.
    col = np.floor((line[:, 0] - transform.c) / resolution).astype(int)
    row = np.floor((transform.f - line[:, 1]) / resolution).astype(int)
    keep = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
    if not keep.any():
        raise HazardError(f"river {river!r} does not cross bbox {bbox}; widen the bbox.")
    along = np.full((rows, cols), np.nan)
    along[row[keep], col[keep]] = position[keep]
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
            "river": river,
            "return_period": return_period,
            "bbox": list(bbox),
            "resolution": resolution,
            "seed": seed,
            "width_km_10yr": width_km_10yr,
            "depth_m_10yr": depth_m_10yr,
        },
        name="depth",
    )
