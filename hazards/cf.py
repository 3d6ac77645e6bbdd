"""Reading CF conventions: which variable and axes, the CRS, the grid's transform, the time step.

Used by the NetCDF/Zarr reader (:mod:`hazards.netcdf`): axes are found by ``axis``,
``standard_name``, units or name; the CRS comes from the variable's ``grid_mapping``
(``crs_wkt`` or GDAL's ``spatial_ref``), or is EPSG:4326 when the coordinates are
longitude/latitude in degrees; the grid must be regularly spaced and becomes a north-up affine
transform.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import xarray as xr
from affine import Affine
from pyproj import CRS
from pyproj.exceptions import CRSError

from hazards.errors import HazardError

#: Name of the CF grid-mapping variable the writers create.
_GRID_MAPPING = "spatial_ref"
_LON_NAMES = {"lon", "longitude", "long", "nav_lon"}
_LAT_NAMES = {"lat", "latitude", "nav_lat"}
_X_NAMES = {"x", "easting"} | _LON_NAMES
_Y_NAMES = {"y", "northing"} | _LAT_NAMES
_DEGREE_UNITS_X = {"degrees_east", "degree_east", "degree_e", "degrees_e", "degreee", "degreese",
                   "degrees", "degree"}
_DEGREE_UNITS_Y = {"degrees_north", "degree_north", "degree_n", "degrees_n", "degreen",
                   "degreesn", "degrees", "degree"}


def _coord_attrs(ds: xr.Dataset, dim: str) -> dict[str, Any]:
    return dict(ds[dim].attrs) if dim in ds.variables else {}


def _axis_of(ds: xr.Dataset, dim: str) -> str | None:
    """'X', 'Y', 'T' or None for a dimension, from its name and CF attributes."""
    attrs = _coord_attrs(ds, dim)
    name = dim.lower()
    standard = str(attrs.get("standard_name", "")).lower()
    axis = str(attrs.get("axis", "")).upper()
    units = str(attrs.get("units", "")).strip().lower()
    if axis == "X" or name in _X_NAMES or standard in {
        "longitude", "projection_x_coordinate", "grid_longitude"
    } or units in _DEGREE_UNITS_X - {"degrees", "degree"}:
        return "X"
    if axis == "Y" or name in _Y_NAMES or standard in {
        "latitude", "projection_y_coordinate", "grid_latitude"
    } or units in _DEGREE_UNITS_Y - {"degrees", "degree"}:
        return "Y"
    if dim in ds.variables and (
        axis == "T" or name == "time" or standard == "time"
        or np.issubdtype(ds[dim].dtype, np.datetime64)
        or (ds[dim].dtype == object and ds[dim].size and hasattr(ds[dim].values.flat[0], "calendar"))
    ):
        return "T"
    return None


def _spatial_dims(ds: xr.Dataset, var: xr.DataArray) -> tuple[str, str] | None:
    """(y dim, x dim) of a variable, or None when it has not exactly one of each."""
    axes = {d: _axis_of(ds, str(d)) for d in var.dims}
    xs = [d for d, a in axes.items() if a == "X"]
    ys = [d for d, a in axes.items() if a == "Y"]
    if len(xs) == 1 and len(ys) == 1:
        return str(ys[0]), str(xs[0])
    return None


def _pick_variable(ds: xr.Dataset, variable: str | None, path: Path) -> str:
    grids = [str(n) for n, v in ds.data_vars.items() if _spatial_dims(ds, v) is not None]
    if variable is not None:
        if variable not in ds.data_vars:
            raise HazardError(
                f"{path}: no variable {variable!r}; the gridded variables are {grids} "
                f"(all variables: {[str(n) for n in ds.data_vars]}). Pass one as variable=."
            )
        if variable not in grids:
            raise HazardError(
                f"{path}: variable {variable!r} has dims {ds[variable].dims}, not x/y or lon/lat "
                "ones. Name the grid's dims x/y or lon/lat (CF axis or standard_name attributes "
                "also work), or pick another variable."
            )
        return variable
    if not grids:
        raise HazardError(
            f"{path}: no variable on an x/y or lon/lat grid (variables: "
            f"{ {str(n): v.dims for n, v in ds.data_vars.items()} }). Name the grid's dims x/y "
            "or lon/lat, or give them CF axis / standard_name attributes."
        )
    if len(grids) > 1:
        raise HazardError(
            f"{path}: several variables: {grids}. Pick one with variable=, e.g. "
            f"variable={grids[0]!r}."
        )
    return grids[0]


def _crs_of_variable(ds: xr.Dataset, var: xr.DataArray, ydim: str, xdim: str, path: Path) -> CRS:
    """The CF grid mapping's CRS, or EPSG:4326 for lon/lat coordinates in degrees."""
    gm_name = var.attrs.get("grid_mapping") or var.encoding.get("grid_mapping")
    if gm_name:
        gm_key = str(gm_name).split(":")[0].strip()  # the extended form "crs: x y" too
        if gm_key not in ds.variables:
            raise HazardError(
                f"{path}: variable {var.name!r} names grid_mapping {gm_key!r}, which is not in "
                "the file. Add that variable with a crs_wkt attribute, or fix the attribute."
            )
        try:
            return CRS.from_cf(dict(ds[gm_key].attrs))
        except (CRSError, KeyError, TypeError, ValueError) as exc:
            raise HazardError(
                f"{path}: the grid mapping {gm_key!r} does not define a CRS ({exc}). Give it a "
                "crs_wkt (or spatial_ref) attribute with the CRS's WKT."
            ) from exc
    xa, ya = _coord_attrs(ds, xdim), _coord_attrs(ds, ydim)
    lon_like = xdim.lower() in _LON_NAMES or str(xa.get("standard_name", "")).lower() == "longitude"
    lat_like = ydim.lower() in _LAT_NAMES or str(ya.get("standard_name", "")).lower() == "latitude"
    x_deg = str(xa.get("units", "")).strip().lower() in _DEGREE_UNITS_X
    y_deg = str(ya.get("units", "")).strip().lower() in _DEGREE_UNITS_Y
    if lon_like and lat_like and x_deg and y_deg:
        return CRS.from_epsg(4326)
    raise HazardError(
        f"{path}: variable {var.name!r} has no CRS: no grid_mapping attribute, and its "
        f"coordinates ({ydim!r}, {xdim!r}) are not lon/lat in degrees_east/degrees_north. "
        "Add a CF grid-mapping variable with a crs_wkt attribute and set the variable's "
        "grid_mapping attribute to its name (hazards.io.write_netcdf does this), or for a "
        f"lon/lat grid give the coordinates units degrees_east/degrees_north, e.g. "
        f"`gdal_translate -a_srs EPSG:4326 {path.name} fixed.nc`."
    )


class _Axis(NamedTuple):
    """A regularly spaced coordinate: first centre, step (None for one value), size, and the
    precision of the stored numbers (``ulp``, coordinate units)."""

    first: float
    step: float | None
    size: int
    ulp: float

    def reversed(self) -> _Axis:
        assert self.step is not None
        return _Axis(self.first + self.step * (self.size - 1), -self.step, self.size, self.ulp)


def _regular_axis(ds: xr.Dataset, dim: str, path: Path) -> _Axis:
    """The dimension's coordinate, checked to be numeric and regularly spaced."""
    if dim not in ds.variables:
        raise HazardError(
            f"{path}: dimension {dim!r} has no coordinate values; add the pixel-centre "
            "coordinates to the file."
        )
    values = np.asarray(ds[dim].values)
    if not np.issubdtype(values.dtype, np.number) or values.size == 0:
        raise HazardError(f"{path}: coordinate {dim!r} is not numeric ({values.dtype}).")
    c = values.astype(np.float64)
    if not np.isfinite(c).all():
        raise HazardError(f"{path}: coordinate {dim!r} has missing values; fix the file.")
    eps = np.finfo(values.dtype).eps if np.issubdtype(values.dtype, np.floating) else 0.0
    ulp = float(eps * np.abs(c).max())
    if c.size < 2:
        return _Axis(float(c[0]), None, 1, ulp)
    step = (c[-1] - c[0]) / (c.size - 1)
    steps = np.diff(c)
    if step == 0 or np.abs(steps - step).max() > max(1e-4 * abs(step), 8 * ulp):
        raise HazardError(
            f"{path}: coordinate {dim!r} is not regularly spaced (steps from {steps.min():.6g} "
            f"to {steps.max():.6g}). Madad indexes pixels by an affine transform: regrid the "
            "data to a regular grid first (e.g. `cdo remapbil` or xarray's interp)."
        )
    return _Axis(float(c[0]), float(step), int(c.size), ulp)


def _snap(value: float, tol: float, candidates: Sequence[float] = ()) -> float:
    """A candidate (e.g. 1/120), else the shortest decimal, within ``tol`` of ``value``.

    Coordinates stored as float32 carry noise (0.1 reads back as 0.099998...); this recovers the
    grid's intended numbers when they are within the stored precision.
    """
    if tol <= 0:
        return value
    for r in candidates:
        if abs(r - value) <= tol:
            return r
    for d in range(16):
        r = round(value, d)
        if abs(r - value) <= tol:
            return r
    return value


def _geo_transform(ds: xr.Dataset, var: xr.DataArray) -> Affine | None:
    """GDAL's ``GeoTransform`` attribute of the grid mapping, if any."""
    gm = var.attrs.get("grid_mapping") or var.encoding.get("grid_mapping")
    if not gm or str(gm).split(":")[0].strip() not in ds.variables:
        return None
    text = ds[str(gm).split(":")[0].strip()].attrs.get("GeoTransform")
    try:
        numbers = [float(v) for v in str(text).split()]
    except ValueError:
        return None
    return Affine.from_gdal(*numbers) if len(numbers) == 6 else None


def _north_up_transform(
    xa: _Axis, ya: _Axis, stated: Affine | None, path: Path, xdim: str, ydim: str
) -> Affine:
    """The transform of a north-up grid (axes already flipped to x east, y south).

    GDAL's ``GeoTransform``, when present and consistent with the coordinates, is used as is
    (round trips are exact); otherwise the steps and edges are taken from the coordinates, with
    float32 noise removed when the stored precision allows.
    """
    if stated is not None and stated.b == 0 and stated.d == 0 and stated.a > 0 and stated.e < 0:
        consistent = all(
            abs(origin + size / 2 - axis.first) <= 1e-3 * abs(size)
            and (axis.step is None or abs(axis.step - size) <= 1e-3 * abs(size))
            for axis, origin, size in ((xa, stated.c, stated.a), (ya, stated.f, stated.e))
        )
        if consistent:
            return stated
    edges = []
    for axis, dim in ((xa, xdim), (ya, ydim)):
        if axis.step is None:
            raise HazardError(
                f"{path}: the grid is one pixel along {dim!r}, so its pixel size is unknown. "
                "Add a GDAL GeoTransform attribute to the grid mapping, or give more pixels."
            )
        # the step may drift by at most one stored ulp over the whole axis
        step = _snap(axis.step, axis.ulp / max(axis.size - 1, 1),
                     [math.copysign(1 / round(1 / abs(axis.step)), axis.step)]
                     if abs(axis.step) < 1 else [])
        edges.append((step, _snap(axis.first - step / 2, axis.ulp)))
    (dx, x_edge), (dy, y_edge) = edges
    return Affine(dx, 0.0, x_edge, 0.0, dy, y_edge)


def _label(value: Any) -> str:
    """ISO text of a time value (numpy datetime64, cftime, datetime), else ``str``."""
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).isoformat()
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _pick_time(
    ds: xr.Dataset, dim: str, time: int | str | Any, path: Path
) -> tuple[int, str]:
    """Index and ISO label of the time step ``time`` (an index or an ISO date/time)."""
    raw = ds[dim].values if dim in ds.variables else np.arange(ds.sizes[dim])
    labels = [_label(v) for v in raw]
    if all(lab.endswith("T00:00:00") for lab in labels):
        labels = [lab[: -len("T00:00:00")] for lab in labels]
    shown = labels if len(labels) <= 10 else [*labels[:5], "...", *labels[-5:]]
    listing = f"{len(labels)} time steps: {', '.join(shown)}"
    if time is None:
        raise HazardError(
            f"{path}: the variable has a {dim!r} dimension with {listing}. Pick one with "
            f"time= (an index, e.g. time=0, or an ISO date, e.g. time={labels[0]!r})."
        )
    if isinstance(time, int | np.integer) and not isinstance(time, bool):
        n = len(labels)
        if not -n <= int(time) < n:
            raise HazardError(f"{path}: time={time} is out of range; there are {listing}.")
        i = int(time) % n
        return i, labels[i]
    wanted = (time if isinstance(time, str) else _label(pd.Timestamp(time).to_datetime64()))
    wanted = wanted.strip()
    matches = [i for i, v in enumerate(raw) if _label(v).startswith(wanted)]
    if len(matches) != 1:
        how = "matches none" if not matches else f"matches {len(matches)}"
        raise HazardError(
            f"{path}: time={time!r} {how} of the {listing}. Give an index or a full ISO date."
        )
    return matches[0], labels[matches[0]]


def _metadata(ds: xr.Dataset, var: xr.DataArray, key: str) -> str | None:
    """A variable's attribute, else the file's (GDAL writes band metadata as ``GDAL_<key>``)."""
    for attrs in (var.attrs, ds.attrs):
        for k in (key, f"GDAL_{key}"):
            value = attrs.get(k)
            if value not in (None, ""):
                return str(value)
    return None


