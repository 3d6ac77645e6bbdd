"""NetCDF and Zarr hazard rasters (CF conventions) through xarray.

The writers :func:`write_netcdf` and :func:`write_zarr` produce CF-1.8 files that
:func:`_read_xarray` (called by :func:`hazards.io.read_raster`) reads back identically. On
reading, the CRS comes from the variable's ``grid_mapping`` (``crs_wkt`` or GDAL's
``spatial_ref``), or is EPSG:4326 when the coordinates are longitude/latitude in degrees;
``_FillValue``/``missing_value`` and ``scale_factor``/``add_offset`` are applied; the grid must
be regularly spaced.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import netCDF4
import numpy as np
import xarray as xr
from affine import Affine
from pyproj import CRS

from hazards.cf import (
    _GRID_MAPPING,
    _axis_of,
    _crs_of_variable,
    _geo_transform,
    _label,
    _metadata,
    _north_up_transform,
    _pick_time,
    _pick_variable,
    _regular_axis,
    _spatial_dims,
)
from hazards.errors import HazardError
from hazards.georef import (
    _UNITS_HINT,
    SUPPORTED_FORMATS,
    BBox,
    _check_overlap,
    _crs_string,
    _grid_bounds,
    _window_slices,
    aoi_to_crs,
    canonical_units,
    screen_values,
)
from hazards.layer import crs_of, make_layer, transform_of

log = logging.getLogger(__name__)


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


def _variable_units(
    ds: xr.Dataset, var: xr.DataArray, name: str, units: str | None, path: Path
) -> tuple[str, float, float]:
    """Canonical unit and conversion of a variable: ``units=`` first, then its CF attribute."""
    stated = units or _metadata(ds, var, "units")
    if not stated:
        raise HazardError(
            f"{path}: variable {name!r} does not state its units. Pass units= (one of "
            f"{_UNITS_HINT}) or set its CF units attribute."
        )
    return canonical_units(stated, str(path))


def _select_extra_dims(
    ds: xr.Dataset,
    var: xr.DataArray,
    name: str,
    spatial: tuple[str, str],
    time: int | str | Any,
    path: Path,
) -> tuple[dict[str, int], str | None]:
    """The index to take along each non-spatial dimension, and the time step's label.

    Length-1 dimensions are dropped, a time dimension needs ``time=`` (unless of length 1),
    other dimensions are refused.
    """
    ydim, xdim = spatial
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
    return selection, time_label


def _values(sub: xr.DataArray, name: str, path: Path) -> np.ndarray:
    """Load the selected values, turning a backend's read error into a HazardError."""
    try:
        return np.asarray(sub.values)
    except Exception as exc:  # backends raise RuntimeError/OSError on truncated data
        raise HazardError(
            f"{path}: the data of {name!r} cannot be read ({type(exc).__name__}: {exc}); "
            "is the file truncated? Re-export or download it again."
        ) from exc


def _json_or_text(text: str) -> Any:
    """A stored provenance record: parsed when it is JSON, else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


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

        unit, scale, offset = _variable_units(ds, var, name, units, path)
        selection, time_label = _select_extra_dims(ds, var, name, (ydim, xdim), time, path)

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
        values = _values(sub, name, path)
        if flip_y:
            values = values[::-1, :]
        if flip_x:
            values = values[:, ::-1]

        values = values.astype(np.float64 if (scale, offset) != (1.0, 0.0) else np.float32)
        if (scale, offset) != (1.0, 0.0):
            values = values * scale + offset
        values = screen_values(values, unit, str(path))
        window = None if aoi is None else f"rows {r0}:{r1}, cols {c0}:{c1}"
        provenance: dict[str, Any] = {"source": str(path), "variable": name, "window": window}
        if time_label is not None:
            provenance["time"] = time_label
        stored = _metadata(ds, var, "provenance")
        if stored:
            provenance["generator"] = _json_or_text(stored)
        return make_layer(
            values,
            transform @ Affine.translation(c0, r0),
            _crs_string(crs),
            units=unit,
            kind=kind or _metadata(ds, var, "kind") or "unknown",
            provenance=provenance,
            name=name,
        )


