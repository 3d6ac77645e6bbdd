"""Hazard rasters in and out: GeoTIFF/COG through rasterio, NetCDF and Zarr through xarray.

:func:`read_raster` is the one entry point; it picks the reader from the file type:

=====================  =======================================  ======================
format                 recognised by                            read with
=====================  =======================================  ======================
GeoTIFF / COG          ``.tif``, ``.tiff``                      :func:`read_geotiff`
NetCDF (CF)            ``.nc``, ``.nc4``                        xarray (netCDF4)
Zarr (CF attributes)   a directory, or a ``.zarr`` path         xarray (zarr)
=====================  =======================================  ======================

Every reader returns a layer as built by :func:`hazards.layer.make_layer`: north-up (a south-up
file is flipped, keeping its edges), the file's own CRS (never reprojected: points are
transformed to it, see :mod:`hazards.sampling`), NaN for nodata, values in canonical units
(``cm`` to ``m``, ``K`` to ``degC``). Given an area of interest in EPSG:4326 (``aoi``) only the
window covering it is read.

Hostile values: +-inf, and values outside the plausible range of their units
(:data:`hazards.georef.PLAUSIBLE_RANGE`: depth 100 m, temperature -90..70 degC, rainfall
30 000 mm, acceleration 10 g, wind 150 m/s, an index 12, each also as a negative bound), are
read as nodata (NaN) with a logged warning naming the file and the count of cells: they are
nearly always an undeclared nodata marker such as 1e38. A GeoTIFF with more than one band is
refused (which band holds the intensity is not guessed).

For NetCDF and Zarr the CF conventions are followed: the CRS comes from the variable's
``grid_mapping`` (``crs_wkt`` or GDAL's ``spatial_ref``), or is EPSG:4326 when the coordinates
are longitude/latitude in degrees; ``_FillValue``/``missing_value`` and
``scale_factor``/``add_offset`` are applied; the grid must be regularly spaced. The writers
:func:`write_netcdf` and :func:`write_zarr` produce files that the reader reads back identically.

The code is in three modules; this one holds the entry point and re-exports the rest, so
``hazards.io.<name>`` keeps working:

* :mod:`hazards.georef` -- units, areas of interest, windows and CRS helpers;
* :mod:`hazards.geotiff` -- :func:`read_geotiff`, :func:`write_geotiff`;
* :mod:`hazards.netcdf` -- :func:`write_netcdf`, :func:`write_zarr` and the CF reader.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import xarray as xr

from hazards.errors import HazardError
from hazards.georef import (
    _SUFFIXES,
    _UNIT_ALIASES,
    _UNITS_HINT,
    SUPPORTED_FORMATS,
    BBox,
    _check_aoi,
    _check_overlap,
    _crs_string,
    _grid_bounds,
    _window,
    _window_slices,
    aoi_of_points,
    aoi_to_crs,
    canonical_units,
)
from hazards.geotiff import read_geotiff, write_geotiff
from hazards.netcdf import _read_xarray, write_netcdf, write_zarr

__all__ = [
    "BBox",
    "SUPPORTED_FORMATS",
    "aoi_of_points",
    "aoi_to_crs",
    "canonical_units",
    "raster_format",
    "read_geotiff",
    "read_raster",
    "write_geotiff",
    "write_netcdf",
    "write_zarr",
]

log = logging.getLogger(__name__)

#: Internal names kept importable from here for code written before the split.
_INTERNALS = (
    _UNIT_ALIASES, _UNITS_HINT, _check_aoi, _check_overlap, _crs_string, _grid_bounds, _window,
    _window_slices,
)


def raster_format(path: str | Path) -> str:
    """``'geotiff'``, ``'netcdf'`` or ``'zarr'`` for a path; other types are refused.

    Raises
    ------
    HazardError
        The type is not one of :data:`SUPPORTED_FORMATS`.
    """
    path = Path(path)
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None and path.is_dir():
        fmt = "zarr"
    if fmt is None:
        kind = f"type {path.suffix!r}" if path.suffix else "type (no extension)"
        raise HazardError(
            f"{path}: unsupported hazard raster {kind}. Supported: {SUPPORTED_FORMATS}. "
            "Convert it first, e.g. `gdal_translate -of COG in.ext out.tif`."
        )
    return fmt


def read_raster(
    path: str | Path,
    *,
    aoi: BBox | None = None,
    units: str | None = None,
    kind: str | None = None,
    variable: str | None = None,
    time: int | str | Any = None,
) -> xr.DataArray:
    """Read a hazard raster (GeoTIFF/COG, NetCDF or Zarr) as a layer, keeping its CRS.

    Parameters
    ----------
    path
        ``.tif``/``.tiff`` (GeoTIFF, COG), ``.nc``/``.nc4`` (NetCDF, CF conventions), or a Zarr
        store (a directory, or a ``.zarr`` path).
    aoi
        Area of interest (lon_min, lat_min, lon_max, lat_max) [degrees, EPSG:4326], e.g. the
        registry's extent: only the window covering it (edges densified and transformed to the
        raster's CRS) is read. None reads the whole raster.
    units
        Units of the stored values, overriding the file's (``cm`` is converted to ``m``, ``K``
        to ``degC``); needed when the file does not state them.
    kind
        Hazard kind (e.g. ``riverine-flood``) when the file does not say.
    variable
        NetCDF/Zarr: the data variable to read when the file has several gridded ones.
    time
        NetCDF/Zarr: the time step, as an index (``0``, ``-1``) or an ISO date/time
        (``"2022-08-30"``); needed when the time dimension has more than one step.

    Returns
    -------
    A 2-D layer (see :mod:`hazards.layer`): north-up, the file's CRS, NaN nodata, canonical
    units in ``attrs["units"]``, provenance naming the file, variable, time and window.

    Raises
    ------
    HazardError
        Missing, corrupt or truncated file; unsupported type; no CRS; unknown or missing units;
        no overlap with ``aoi``; several variables without ``variable=``; a time dimension
        without ``time=``; irregular grid spacing. Each message names the file and the fix.
    """
    path = Path(path)
    if not path.exists():
        raise HazardError(f"{path}: no such hazard raster.")
    fmt = raster_format(path)
    if fmt == "geotiff":
        if variable is not None or time is not None:
            raise HazardError(
                f"{path}: variable= and time= apply to NetCDF and Zarr files; a GeoTIFF has one "
                "band, which is read. Drop them, or convert the file to NetCDF."
            )
        return read_geotiff(path, aoi=aoi, units=units, kind=kind)
    return _read_xarray(path, fmt, aoi=aoi, units=units, kind=kind, variable=variable, time=time)
