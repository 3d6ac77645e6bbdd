"""Hazard rasters in and out: GeoTIFF/COG through rasterio, NetCDF and Zarr through xarray.

:func:`read_raster` is the one entry point; it picks the reader from the file type:

=====================  =======================================  ======================
format                 recognised by                            read with
=====================  =======================================  ======================
GeoTIFF / COG          ``.tif``, ``.tiff``                      :func:`read_geotiff`
NetCDF (CF)            ``.nc``, ``.nc4``                        xarray (netCDF4)
Zarr (CF attributes)   a directory, or a ``.zarr`` path         xarray (zarr)
=====================  =======================================  ======================

Every reader returns a layer as built by :func:`hazards.layer.make_layer`: north-up, the file's
own CRS (never reprojected: points are transformed to it, see :mod:`simulator.overlay`), NaN for
nodata, values in canonical units (``cm`` to ``m``, ``K`` to ``degC``). Given an area of
interest in EPSG:4326 (``aoi``) only the window covering it is read.

For NetCDF and Zarr the CF conventions are followed: the CRS comes from the variable's
``grid_mapping`` (``crs_wkt`` or GDAL's ``spatial_ref``), or is EPSG:4326 when the coordinates
are longitude/latitude in degrees; ``_FillValue``/``missing_value`` and
``scale_factor``/``add_offset`` are applied; the grid must be regularly spaced. The writers
:func:`write_netcdf` and :func:`write_zarr` produce files that the reader reads back identically.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import netCDF4
import numpy as np
import pandas as pd
import rasterio
import xarray as xr
from affine import Affine
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from hazards.errors import HazardError
from hazards.layer import crs_of, make_layer, transform_of

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

BBox = tuple[float, float, float, float]


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


# --------------------------------------------------------------------------------------------
# GeoTIFF


def write_geotiff(layer: xr.DataArray, path: str | Path) -> Path:
    """Write a layer as a deflate-compressed float32 GeoTIFF with NaN nodata and its metadata.

    Parameters
    ----------
    layer
        A 2-D hazard layer (see :mod:`hazards.layer`).
    path
        Output ``.tif``; parent folders are created.

    Returns
    -------
    The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    values = np.asarray(layer.values, dtype=np.float32)
    profile = {
        "driver": "GTiff",
        "height": values.shape[0],
        "width": values.shape[1],
        "count": 1,
        "dtype": "float32",
        "crs": crs_of(layer),
        "transform": transform_of(layer),
        "nodata": float("nan"),
        "compress": "deflate",
        "predictor": 3,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values, 1)
        dst.update_tags(
            units=layer.attrs["units"],
            kind=layer.attrs.get("kind", ""),
            provenance=layer.attrs.get("provenance", "{}"),
        )
        dst.set_band_unit(1, layer.attrs["units"])
    return path


def read_geotiff(
    path: str | Path,
    *,
    bounds: BBox | None = None,
    aoi: BBox | None = None,
    units: str | None = None,
    kind: str | None = None,
) -> xr.DataArray:
    """Read band 1 of a GeoTIFF or COG as a hazard layer.

    Parameters
    ----------
    path
        GeoTIFF or COG.
    bounds
        (left, bottom, right, top) [raster CRS units]: only this window is read.
    aoi
        (lon_min, lat_min, lon_max, lat_max) [degrees, EPSG:4326]: only the window covering it
        (transformed to the raster's CRS) is read. Give ``bounds`` or ``aoi``, not both.
    units
        Units of the stored values when the file does not say (``cm`` and ``K`` are converted).
    kind
        Hazard kind when the file does not say.

    Returns
    -------
    A layer (see :mod:`hazards.layer`) in the raster's CRS and canonical units.

    Raises
    ------
    HazardError
        Missing or unreadable file, no CRS, unknown units, no overlap with ``bounds``/``aoi``.
    """
    path = Path(path)
    if bounds is not None and aoi is not None:
        raise HazardError(f"{path}: give bounds= (raster CRS) or aoi= (lon/lat), not both.")
    if not path.exists():
        raise HazardError(f"{path}: no such hazard raster.")
    try:
        src = rasterio.open(path)
    except RasterioIOError as exc:
        raise HazardError(
            f"{path}: not a readable raster ({exc}). Give a GeoTIFF/COG; re-export it if it is "
            "truncated or corrupt."
        ) from exc
    with src:
        if src.crs is None:
            raise HazardError(
                f"{path}: the raster has no CRS. Set one, e.g. "
                f"`gdal_edit.py -a_srs EPSG:4326 {path.name}`, and read it again."
            )
        tags = src.tags()
        stated = units or src.units[0] or tags.get("units")
        if not stated:
            raise HazardError(
                f"{path}: the raster does not state its units. Pass units= (one of "
                f"{_UNITS_HINT})."
            )
        unit, scale, offset = canonical_units(stated, str(path))
        window = None
        if aoi is not None:
            bounds = aoi_to_crs(aoi, src.crs.to_wkt(), source=str(path))
        if bounds is not None:
            b = tuple(float(v) for v in bounds)
            _check_overlap(path, tuple(src.bounds), b, str(src.crs), aoi)  # type: ignore[arg-type]
            window = _window(src, b)  # type: ignore[arg-type]
        try:
            values = src.read(1, window=window, masked=True).astype(np.float32)
        except RasterioIOError as exc:
            raise HazardError(
                f"{path}: the raster's data cannot be read ({exc}); is it truncated? Re-export "
                "or download it again."
            ) from exc
        transform = src.transform
        if window is not None:  # (rasterio's window_transform uses the deprecated `*`)
            transform = transform @ Affine.translation(window.col_off, window.row_off)
        arr = values.filled(np.nan)
        arr = arr * np.float32(src.scales[0]) + np.float32(src.offsets[0])
        arr = arr * np.float32(scale) + np.float32(offset)
        provenance: dict[str, Any] = {
            "source": str(path), "window": None if window is None else str(window)
        }
        if tags.get("provenance"):
            try:
                provenance["generator"] = json.loads(tags["provenance"])
            except ValueError:
                provenance["generator"] = tags["provenance"]
        return make_layer(
            arr,
            transform,
            src.crs.to_wkt() if src.crs.to_epsg() is None else f"EPSG:{src.crs.to_epsg()}",
            units=unit,
            kind=kind or tags.get("kind") or "unknown",
            provenance=provenance,
        )


# --------------------------------------------------------------------------------------------
# NetCDF and Zarr (CF conventions) through xarray


def _layer_dataset(layer: xr.DataArray) -> tuple[xr.Dataset, str]:
    """A CF-1.8 dataset holding ``layer``, and the data variable's name."""
    values = np.asarray(layer.values, dtype=np.float32)
    if values.ndim != 2:
        raise HazardError(
            f"layer {layer.name!r} has dims {layer.dims}; NetCDF/Zarr writers take one 2-D "
            "(y, x) layer: write each event separately."
        )
    crs = CRS.from_user_input(crs_of(layer))
    t = transform_of(layer)
    rows, cols = values.shape
    x = t.c + t.a * (np.arange(cols) + 0.5)  # pixel centres, as make_layer computes them
    y = t.f + t.e * (np.arange(rows) + 0.5)
    if crs.is_geographic:
        xname, yname = "lon", "lat"
        xattrs = {"standard_name": "longitude", "long_name": "longitude",
                  "units": "degrees_east", "axis": "X"}
        yattrs = {"standard_name": "latitude", "long_name": "latitude",
                  "units": "degrees_north", "axis": "Y"}
    else:
        unit = crs.axis_info[0].unit_name if crs.axis_info else "metre"
        unit = {"metre": "m", "meter": "m"}.get(unit, unit)
        xname, yname = "x", "y"
        xattrs = {"standard_name": "projection_x_coordinate",
                  "long_name": "x coordinate of projection", "units": unit, "axis": "X"}
        yattrs = {"standard_name": "projection_y_coordinate",
                  "long_name": "y coordinate of projection", "units": unit, "axis": "Y"}
    grid_mapping = {k: v for k, v in crs.to_cf().items() if isinstance(v, str | int | float)}
    grid_mapping["crs_wkt"] = crs.to_wkt()
    grid_mapping["spatial_ref"] = crs.to_wkt()  # GDAL's spelling
    grid_mapping["GeoTransform"] = " ".join(repr(float(v)) for v in t.to_gdal())
    name = str(layer.name) if layer.name is not None else "intensity"
    kind = layer.attrs.get("kind", "unknown")
    data_attrs = {
        "long_name": f"{kind} hazard intensity",
        "units": layer.attrs["units"],
        "grid_mapping": _GRID_MAPPING,
        "kind": kind,
        "provenance": layer.attrs.get("provenance", "{}"),
    }
    ds = xr.Dataset(
        {
            name: ((yname, xname), values, data_attrs),
            _GRID_MAPPING: ((), np.int32(0), grid_mapping),
        },
        coords={yname: (yname, y, yattrs), xname: (xname, x, xattrs)},
        attrs={"Conventions": "CF-1.8", "title": f"Madad hazard layer: {kind}",
               "source": "madad hazards.io"},
    )
    return ds, name


def write_netcdf(layer: xr.DataArray, path: str | Path) -> Path:
    """Write a layer as a CF-1.8 NetCDF-4 file that :func:`read_raster` reads back identically.

    The data variable is float32, zlib-compressed, with ``_FillValue`` NaN, its ``units``,
    ``kind`` and ``provenance``; coordinates are pixel centres (``lon``/``lat`` in degrees for
    a geographic CRS, ``x``/``y`` otherwise), north-up; the CRS is in the grid-mapping variable
    ``spatial_ref`` (CF ``crs_wkt`` and parameters, GDAL ``spatial_ref`` and ``GeoTransform``),
    so GDAL, QGIS and CF tools read it too.

    Parameters
    ----------
    layer
        A 2-D hazard layer (see :mod:`hazards.layer`).
    path
        Output ``.nc``; parent folders are created, an existing file is replaced.

    Returns
    -------
    The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds, name = _layer_dataset(layer)
    encoding: dict[str, dict[str, Any]] = {
        name: {"dtype": "float32", "_FillValue": np.float32(np.nan), "zlib": True,
               "complevel": 4},
    }
    for coord in ds.coords:
        encoding[str(coord)] = {"_FillValue": None}
    ds.to_netcdf(path, mode="w", format="NETCDF4", engine="netcdf4", encoding=encoding)
    return path


def write_zarr(layer: xr.DataArray, path: str | Path) -> Path:
    """Write a layer as a Zarr (format 2, consolidated) store that :func:`read_raster` reads back.

    The store holds the same CF variables and attributes as :func:`write_netcdf`.

    Parameters
    ----------
    layer
        A 2-D hazard layer (see :mod:`hazards.layer`).
    path
        Output directory (by convention ending in ``.zarr``); an existing store is replaced.

    Returns
    -------
    The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds, name = _layer_dataset(layer)
    encoding: dict[str, dict[str, Any]] = {name: {"dtype": "float32",
                                                  "_FillValue": np.float32(np.nan)}}
    for coord in ds.coords:
        encoding[str(coord)] = {"_FillValue": None}
    ds.to_zarr(path, mode="w", zarr_format=2, consolidated=True, encoding=encoding)
    return path


def _open_dataset(path: Path, fmt: str) -> xr.Dataset:
    """Open lazily with CF decoding (mask and scale, times); unreadable files -> HazardError."""
    label = "NetCDF" if fmt == "netcdf" else "Zarr"
    if fmt == "zarr" and path.is_dir() and not any(
        (path / marker).exists() for marker in (".zgroup", ".zarray", "zarr.json", ".zmetadata")
    ):
        raise HazardError(
            f"{path}: a directory but not a Zarr store (no .zgroup or zarr.json). Give a Zarr "
            f"store, or a file in one of the supported formats: {SUPPORTED_FORMATS}."
        )
    try:
        if fmt == "netcdf":
            ds = xr.open_dataset(path, engine="netcdf4", mask_and_scale=True)
        else:
            ds = xr.open_dataset(path, engine="zarr", chunks=None, consolidated=None,
                                 mask_and_scale=True)
    except Exception as exc:  # the backends raise OSError, ValueError, KeyError, ... for bad files
        raise HazardError(
            f"{path}: not a readable {label} file ({type(exc).__name__}: {exc}). Re-export or "
            "download it again if it is truncated or corrupt."
        ) from exc
    if not ds.variables:
        ds.close()
        raise HazardError(
            f"{path}: the {label} file holds no variables; is it empty, truncated or corrupt? "
            "Re-export or download it again."
        )
    if fmt == "netcdf":
        _check_classic_size(path, ds)
    return ds


def _check_classic_size(path: Path, ds: xr.Dataset) -> None:
    """Refuse a truncated classic (NetCDF-3) file, which the C library reads as fill values.

    The file must be at least as long as its variables' data (each padded to 4 bytes).
    """
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic[:3] != b"CDF":
        return  # NetCDF-4 (HDF5) files cut short fail to open or to read instead
    try:
        with netCDF4.Dataset(path) as nc:  # the on-disk types, not xarray's decoded ones
            stored = [(int(np.prod(v.shape, dtype=np.int64)), np.dtype(v.dtype).itemsize)
                      for v in nc.variables.values()]
    except (OSError, RuntimeError, TypeError):
        return  # the read itself will report it
    needed = sum(-(-count * itemsize // 4) * 4 for count, itemsize in stored)
    size = path.stat().st_size
    if size < needed:
        ds.close()
        raise HazardError(
            f"{path}: the NetCDF file is truncated ({size} bytes, its variables need at least "
            f"{needed}). Re-export or download it again."
        )


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


def _read_xarray(
    path: Path,
    fmt: str,
    *,
    aoi: BBox | None,
    units: str | None,
    kind: str | None,
    variable: str | None,
    time: int | str | Any,
) -> xr.DataArray:
    ds = _open_dataset(path, fmt)
    with ds:
        name = _pick_variable(ds, variable, path)
        var = ds[name]
        ydim, xdim = _spatial_dims(ds, var)  # type: ignore[misc]
        crs = _crs_of_variable(ds, var, ydim, xdim, path)

        stated = units or _metadata(ds, var, "units")
        if not stated:
            raise HazardError(
                f"{path}: variable {name!r} does not state its units. Pass units= (one of "
                f"{_UNITS_HINT}) or set its CF units attribute."
            )
        unit, scale, offset = canonical_units(stated, str(path))

        # extra dims: length-1 ones are dropped, a time dim needs time=, others are refused
        selection: dict[str, int] = {}
        time_label = None
        for dim in var.dims:
            dim = str(dim)
            if dim in (ydim, xdim):
                continue
            if _axis_of(ds, dim) == "T":
                if ds.sizes[dim] == 1 and time is None:
                    selection[dim] = 0
                    time_label = _label(ds[dim].values[0]) if dim in ds.variables else "0"
                else:
                    selection[dim], time_label = _pick_time(ds, dim, time, path)
            elif ds.sizes[dim] == 1:
                selection[dim] = 0
            else:
                raise HazardError(
                    f"{path}: variable {name!r} has a dimension {dim!r} of length "
                    f"{ds.sizes[dim]} besides {ydim!r}/{xdim!r}. Select one level first "
                    f"(e.g. ds.isel({dim}=0)) and write that, or give another variable."
                )
        if time is not None and time_label is None:
            raise HazardError(
                f"{path}: time={time!r} was given but variable {name!r} has no time dimension "
                f"(dims {var.dims}); drop time=."
            )

        # a north-up transform; remember which axes are stored reversed
        xa, ya = _regular_axis(ds, xdim, path), _regular_axis(ds, ydim, path)
        width, height = xa.size, ya.size
        flip_x = xa.step is not None and xa.step < 0
        flip_y = ya.step is not None and ya.step > 0  # south-up: latitude increasing with row
        transform = _north_up_transform(
            xa.reversed() if flip_x else xa, ya.reversed() if flip_y else ya,
            _geo_transform(ds, var), path, xdim, ydim,
        )

        # the window covering the aoi, in north-up indices, then in the file's own order
        r0, r1, c0, c1 = 0, height, 0, width
        if aoi is not None:
            bounds = aoi_to_crs(aoi, crs, source=str(path))
            _check_overlap(path, _grid_bounds(transform, height, width), bounds, crs.name, aoi)
            r0, r1, c0, c1 = _window_slices(transform, height, width, bounds)
        rows = slice(height - r1, height - r0) if flip_y else slice(r0, r1)
        cols = slice(width - c1, width - c0) if flip_x else slice(c0, c1)
        sub = var.isel({**selection, ydim: rows, xdim: cols}).transpose(ydim, xdim)
        try:
            values = np.asarray(sub.values)
        except Exception as exc:  # backends raise RuntimeError/OSError on truncated data
            raise HazardError(
                f"{path}: the data of {name!r} cannot be read ({type(exc).__name__}: {exc}); "
                "is the file truncated? Re-export or download it again."
            ) from exc
        if flip_y:
            values = values[::-1, :]
        if flip_x:
            values = values[:, ::-1]

        values = values.astype(np.float64 if (scale, offset) != (1.0, 0.0) else np.float32)
        if (scale, offset) != (1.0, 0.0):
            values = values * scale + offset
        window = None if aoi is None else f"rows {r0}:{r1}, cols {c0}:{c1}"
        provenance: dict[str, Any] = {"source": str(path), "variable": name, "window": window}
        if time_label is not None:
            provenance["time"] = time_label
        stored = _metadata(ds, var, "provenance")
        if stored:
            try:
                provenance["generator"] = json.loads(stored)
            except ValueError:
                provenance["generator"] = stored
        return make_layer(
            values,
            transform @ Affine.translation(c0, r0),
            _crs_string(crs),
            units=unit,
            kind=kind or _metadata(ds, var, "kind") or "unknown",
            provenance=provenance,
            name=name,
        )


# --------------------------------------------------------------------------------------------
# the entry point


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
                f"{path}: variable= and time= apply to NetCDF and Zarr files; a GeoTIFF's band 1 "
                "is read. Drop them, or convert the file to NetCDF."
            )
        return read_geotiff(path, aoi=aoi, units=units, kind=kind)
    return _read_xarray(path, fmt, aoi=aoi, units=units, kind=kind, variable=variable, time=time)
