"""The hazard data model: a layer is an ``xarray.DataArray`` on a north-up grid.

A layer has dims ``(y, x)`` with pixel-centre coordinates, NaN as nodata, and attributes:

``crs``         the raster's CRS as WKT or an authority string (never assumed)
``transform``   the affine transform as six numbers ``(a, b, c, d, e, f)`` (rasterio order)
``units``       ``m``, ``degC``, ``mm``, ``g``, ``m/s`` or ``index``
``kind``        the hazard kind, e.g. ``riverine-flood``
``provenance``  JSON text: the source file or the generator and its parameters
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr
from affine import Affine

from hazards.errors import HazardError

UNITS = ("m", "degC", "mm", "g", "m/s", "index")
KINDS = ("riverine-flood", "flash-flood", "heatwave", "drought", "earthquake", "cyclone")


def make_layer(
    values: np.ndarray,
    transform: Affine,
    crs: str,
    *,
    units: str,
    kind: str,
    provenance: dict[str, Any],
    name: str = "intensity",
) -> xr.DataArray:
    """Wrap a 2-D array as a hazard layer (see the module docstring for the attributes)."""
    if units not in UNITS:
        raise HazardError(f"units {units!r} is not one of {UNITS}; convert the data first.")
    if not crs:
        raise HazardError("a hazard layer needs a CRS; pass e.g. crs='EPSG:4326'.")
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 2:
        raise HazardError(f"a hazard layer is 2-D (y, x); got shape {values.shape}.")
    if transform.b != 0 or transform.d != 0:
        raise HazardError("rotated rasters are not supported; warp the raster north-up first.")
    rows, cols = values.shape
    x = transform.c + transform.a * (np.arange(cols) + 0.5)
    y = transform.f + transform.e * (np.arange(rows) + 0.5)
    return xr.DataArray(
        values,
        dims=("y", "x"),
        coords={"y": y, "x": x},
        name=name,
        attrs={
            "crs": str(crs),
            "transform": tuple(float(v) for v in transform[:6]),
            "units": units,
            "kind": kind,
            "provenance": json.dumps(provenance, sort_keys=True, default=str),
        },
    )


def transform_of(layer: xr.DataArray) -> Affine:
    """The layer's affine transform."""
    try:
        return Affine(*layer.attrs["transform"])
    except KeyError:
        raise HazardError(
            f"layer {layer.name!r} has no 'transform' attribute; build it with make_layer()."
        ) from None


def crs_of(layer: xr.DataArray) -> str:
    """The layer's CRS; refuses to guess when it is missing."""
    crs = layer.attrs.get("crs")
    if not crs:
        raise HazardError(
            f"layer {layer.name!r} has no CRS; set layer.attrs['crs'] (e.g. 'EPSG:4326')."
        )
    return crs


def bounds_of(layer: xr.DataArray) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) in the layer's CRS."""
    t = transform_of(layer)
    rows, cols = layer.shape[-2:]
    xs = (t.c, t.c + t.a * cols)
    ys = (t.f, t.f + t.e * rows)
    return min(xs), min(ys), max(xs), max(ys)
