"""Georeferencing helpers shared by the raster readers: units, areas of interest, windows, CRS.

:func:`canonical_units` maps a unit spelling found in a file to the canonical unit and its
conversion; :func:`aoi_to_crs` turns an area of interest in EPSG:4326 into a raster's CRS
(edges densified); the window helpers cut the pixels covering it out of a grid.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from pyproj import CRS, Transformer
from rasterio.windows import Window

from hazards.errors import HazardError

log = logging.getLogger(__name__)

#: Unit spellings found in files, mapped to the canonical unit and a conversion
#: (canonical = stored * scale + offset).
_UNIT_ALIASES = {
    "m": ("m", 1.0, 0.0),
    "metre": ("m", 1.0, 0.0),
    "meter": ("m", 1.0, 0.0),
    "metres": ("m", 1.0, 0.0),
    "meters": ("m", 1.0, 0.0),
    "cm": ("m", 0.01, 0.0),
    "centimetre": ("m", 0.01, 0.0),
    "centimeter": ("m", 0.01, 0.0),
    "centimeters": ("m", 0.01, 0.0),
    "mm": ("mm", 1.0, 0.0),
    "millimetre": ("mm", 1.0, 0.0),
    "millimeter": ("mm", 1.0, 0.0),
    "millimeters": ("mm", 1.0, 0.0),
    "degc": ("degC", 1.0, 0.0),
    "deg_c": ("degC", 1.0, 0.0),
    "celsius": ("degC", 1.0, 0.0),
    "degree_celsius": ("degC", 1.0, 0.0),
    "degrees_celsius": ("degC", 1.0, 0.0),
    "k": ("degC", 1.0, -273.15),
    "kelvin": ("degC", 1.0, -273.15),
    "g": ("g", 1.0, 0.0),
    "m/s": ("m/s", 1.0, 0.0),
    "m s-1": ("m/s", 1.0, 0.0),
    "m s**-1": ("m/s", 1.0, 0.0),
    "index": ("index", 1.0, 0.0),
}

#: The units a file may state, as shown in error messages.
_UNITS_HINT = "m, cm, mm, degC, K, g, m/s or index (cm is stored as m, K as degC)"

#: File types :func:`read_raster` reads, as shown in error messages.
SUPPORTED_FORMATS = "GeoTIFF/COG (.tif, .tiff), NetCDF (.nc, .nc4), Zarr (a directory or .zarr)"
_SUFFIXES = {".tif": "geotiff", ".tiff": "geotiff", ".nc": "netcdf", ".nc4": "netcdf",
             ".zarr": "zarr"}


BBox = tuple[float, float, float, float]

#: The plausible range of a hazard intensity, per canonical unit (after ``cm`` -> ``m`` and
#: ``K`` -> ``degC``). A reader turns values outside it, and +-inf, into nodata (NaN) and logs a
#: warning naming the file and the count of cells: such values are nearly always an undeclared
#: nodata marker (1e38, -3.4e38, 9.9e36) or wrong units, and taken as intensities they would
#: put every household under them in the highest tier.
PLAUSIBLE_RANGE: dict[str, tuple[float, float]] = {
    "m": (-100.0, 100.0),       # water depth; the deepest river floods are tens of metres
    "degC": (-90.0, 70.0),      # air temperature; the records are -89.2 and 56.7 degC
    "mm": (-30000.0, 30000.0),  # rainfall (or its anomaly); the wettest year on record ~26 500 mm
    "g": (-10.0, 10.0),         # peak ground acceleration; the largest recorded is about 4 g
    "m/s": (-150.0, 150.0),     # wind speed; the strongest gust measured is 113 m/s
    "index": (-12.0, 12.0),     # MMI 1-12, SPI about -4..4, a 0/1 extent
}


def canonical_units(units: str, source: str) -> tuple[str, float, float]:
    """(canonical unit, scale, offset) for a unit spelling; an unknown one is refused.

    Parameters
    ----------
    units
        The spelling found in a file or given by the user (case-insensitive), e.g. ``cm``.
    source
        Name used in the error message (the file).

    Returns
    -------
    (unit, scale, offset)
        The canonical unit (one of :data:`hazards.layer.UNITS`) and the conversion
        ``canonical = stored * scale + offset``, e.g. ``K`` gives ``("degC", 1.0, -273.15)``.

    Raises
    ------
    HazardError
        The spelling is not known.
    """
    found = _UNIT_ALIASES.get(str(units).strip().lower())
    if found is None:
        raise HazardError(
            f"{source}: unknown units {units!r}. Give one of {_UNITS_HINT}, e.g. units='m' "
            "(--units m on the command line)."
        )
    return found


# --------------------------------------------------------------------------------------------
# area of interest and windows


def _check_aoi(aoi: Sequence[float], source: str) -> BBox:
    """The aoi as four floats, or a HazardError saying what is wrong with it."""
    try:
        lon0, lat0, lon1, lat1 = (float(v) for v in aoi)
    except (TypeError, ValueError):
        raise HazardError(
            f"{source}: aoi={aoi!r} is not (lon_min, lat_min, lon_max, lat_max) in degrees."
        ) from None
    if not all(map(math.isfinite, (lon0, lat0, lon1, lat1))) or not (
        lon0 < lon1 and lat0 < lat1 and -90 <= lat0 and lat1 <= 90
    ):
        raise HazardError(
            f"{source}: aoi={aoi!r} must be (lon_min, lat_min, lon_max, lat_max) in EPSG:4326 "
            "degrees with lon_min<lon_max and -90<=lat_min<lat_max<=90, e.g. the registry's "
            "extent (60.8, 23.5, 77.9, 37.1) for Pakistan."
        )
    return lon0, lat0, lon1, lat1


#: Margin [degrees] added on every side of a set of points' box by :func:`aoi_of_points`
#: (about 1 km): it gives one household, or households on one latitude or longitude, a box
#: with an area, and it keeps households on the box's edge (within the sampler's edge
#: tolerance, 5e-5 degrees) inside the window read.
AOI_PAD = 0.01


def aoi_of_points(lon: Any, lat: Any, *, pad: float = AOI_PAD) -> BBox | None:
    """The area of interest (lon_min, lat_min, lon_max, lat_max) covering points, padded.

    Parameters
    ----------
    lon, lat
        EPSG:4326 coordinates [degrees]; non-finite ones are left out.
    pad
        Margin [degrees] on every side (> 0, so that the box is never degenerate).

    Returns
    -------
    The box, latitudes clipped to [-90, 90]; None when no point has finite coordinates (read
    the whole raster).
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    finite = np.isfinite(lon) & np.isfinite(lat)
    if not finite.any():
        return None
    lon, lat = lon[finite], lat[finite]
    return (
        float(lon.min()) - pad,
        max(float(lat.min()) - pad, -90.0),
        float(lon.max()) + pad,
        min(float(lat.max()) + pad, 90.0),
    )


def aoi_to_crs(aoi: Sequence[float], crs: Any, *, source: str = "aoi") -> BBox:
    """An EPSG:4326 area of interest as (left, bottom, right, top) in ``crs``.

    The edges are densified (21 points each) before transforming, so that the box covers the
    aoi in projected CRSs (e.g. UTM 42N) where the aoi's edges are curves.

    Parameters
    ----------
    aoi
        (lon_min, lat_min, lon_max, lat_max) [degrees, EPSG:4326].
    crs
        The raster's CRS (anything :meth:`pyproj.CRS.from_user_input` takes).
    source
        Name used in error messages (the file).

    Returns
    -------
    (left, bottom, right, top) [units of ``crs``]
    """
    lon0, lat0, lon1, lat1 = _check_aoi(aoi, source)
    target = CRS.from_user_input(crs)
    if target.is_geographic and target.to_epsg() == 4326:
        return lon0, lat0, lon1, lat1
    transformer = Transformer.from_crs(4326, target, always_xy=True)
    box = transformer.transform_bounds(lon0, lat0, lon1, lat1, densify_pts=21)
    if not all(map(math.isfinite, box)):
        raise HazardError(
            f"{source}: the aoi {tuple(aoi)} cannot be transformed to the raster's CRS "
            f"({target.name}); give an aoi inside the CRS's area of use {target.area_of_use}."
        )
    return tuple(float(v) for v in box)  # type: ignore[return-value]


def _window_slices(
    transform: Affine, height: int, width: int, bounds: BBox
) -> tuple[int, int, int, int]:
    """(row0, row1, col0, col1): smallest whole-pixel window covering ``bounds``, clipped."""
    inv = ~transform
    corners = [inv @ (x, y) for x in (bounds[0], bounds[2]) for y in (bounds[1], bounds[3])]
    cols, rows = zip(*corners, strict=True)
    c0 = max(int(np.floor(min(cols))), 0)
    r0 = max(int(np.floor(min(rows))), 0)
    c1 = min(int(np.ceil(max(cols))), width)
    r1 = min(int(np.ceil(max(rows))), height)
    return r0, max(r1, r0 + 1), c0, max(c1, c0 + 1)


def _window(src: rasterio.DatasetReader, bounds: BBox) -> Window:
    """The smallest whole-pixel window covering ``bounds`` (raster CRS), clipped to the raster."""
    r0, r1, c0, c1 = _window_slices(src.transform, src.height, src.width, bounds)
    return Window(c0, r0, c1 - c0, r1 - r0)


def _grid_bounds(transform: Affine, height: int, width: int) -> BBox:
    xs = (transform.c, transform.c + transform.a * width)
    ys = (transform.f, transform.f + transform.e * height)
    return min(xs), min(ys), max(xs), max(ys)


def _check_overlap(
    path: Path, raster: BBox, bounds: BBox, crs_name: str, aoi: Sequence[float] | None
) -> None:
    """Refuse an area of interest that misses the raster, naming both extents and the fix."""
    if bounds[0] < raster[2] and bounds[2] > raster[0] and bounds[1] < raster[3] and (
        bounds[3] > raster[1]
    ):
        return
    rounded = tuple(round(v, 4) for v in raster)
    wanted = tuple(round(v, 4) for v in bounds)
    said = (
        f"the area of interest {tuple(aoi)} (lon/lat; {wanted} in the raster's CRS)"
        if aoi is not None
        else f"the area of interest {wanted}"
    )
    raise HazardError(
        f"{path}: the raster ({rounded} in {crs_name}) does not overlap {said}. Check the "
        "raster covers the registry's districts, or give the right aoi "
        "(lon_min, lat_min, lon_max, lat_max in EPSG:4326)."
    )


def _crs_string(crs: CRS) -> str:
    """``EPSG:nnnn`` when the CRS has a code, else its WKT (the form layers carry)."""
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg is not None else crs.to_wkt()




def screen_values(values: np.ndarray, units: str, source: str) -> np.ndarray:
    """``values`` with +-inf and values outside :data:`PLAUSIBLE_RANGE` set to NaN (nodata).

    Parameters
    ----------
    values
        The layer's values in canonical units (float); changed in place when writable.
    units
        Their canonical unit (a key of :data:`PLAUSIBLE_RANGE`; others are only checked for inf).
    source
        The file, named in the warning.

    Returns
    -------
    The screened array. A warning (``logging``) names the file, the count of infinite cells, the
    count of implausible ones, the range and the fix.
    """
    values = np.asarray(values)
    if not np.issubdtype(values.dtype, np.floating):
        values = values.astype(np.float32)
    infinite = np.isinf(values)
    low, high = PLAUSIBLE_RANGE.get(units, (-np.inf, np.inf))
    with np.errstate(invalid="ignore"):
        implausible = np.isfinite(values) & ((values < low) | (values > high))
    n_inf, n_bad = int(infinite.sum()), int(implausible.sum())
    if not (n_inf or n_bad):
        return values
    if not values.flags.writeable:
        values = values.copy()
    values[infinite | implausible] = np.nan
    log.warning(
        "%s: %d cell(s) are +-inf and %d cell(s) lie outside the plausible range [%g, %g] %s; "
        "they are read as nodata (NaN). If they mark nodata, declare it (e.g. `gdal_edit.py "
        "-a_nodata VALUE file.tif`); if they are real values, check the units (e.g. units: cm).",
        source, n_inf, n_bad, low, high, units,
    )
    return values
