"""GeoTIFF and Cloud-Optimised GeoTIFF (COG) through rasterio: :func:`write_geotiff`, :func:`read_geotiff`.

Read with :func:`hazards.io.read_raster` (which picks the reader from the file type) or
directly; either way the layer keeps the file's CRS, NaN nodata and canonical units.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import xarray as xr
from affine import Affine
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from hazards.errors import HazardError
from hazards.georef import (
    _UNITS_HINT,
    BBox,
    _check_overlap,
    _window,
    aoi_to_crs,
    canonical_units,
)
from hazards.layer import crs_of, make_layer, transform_of

log = logging.getLogger(__name__)


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


def _open(path: Path) -> rasterio.DatasetReader:
    """Open a raster that has a CRS."""
    try:
        src = rasterio.open(path)
    except RasterioIOError as exc:
        raise HazardError(
            f"{path}: not a readable raster ({exc}). Give a GeoTIFF/COG; re-export it if it is "
            "truncated or corrupt."
        ) from exc
    if src.crs is None:
        src.close()
        raise HazardError(
            f"{path}: the raster has no CRS. Set one, e.g. "
            f"`gdal_edit.py -a_srs EPSG:4326 {path.name}`, and read it again."
        )
    return src


def _units(
    src: rasterio.DatasetReader, tags: dict, units: str | None, path: Path
) -> tuple[str, float, float]:
    """Canonical unit and conversion of band 1: ``units=`` first, then the file's."""
    stated = units or src.units[0] or tags.get("units")
    if not stated:
        raise HazardError(
            f"{path}: the raster does not state its units. Pass units= (one of "
            f"{_UNITS_HINT}; in a scenario, `units:` on the hazard; a 0/1 flood extent is "
            "`units: index` with `threshold: 1`)."
        )
    return canonical_units(stated, str(path))


def _band1(src: rasterio.DatasetReader, window: Window | None, path: Path) -> np.ma.MaskedArray:
    """Band 1 (of the window) as masked float32."""
    try:
        return src.read(1, window=window, masked=True).astype(np.float32)
    except RasterioIOError as exc:
        raise HazardError(
            f"{path}: the raster's data cannot be read ({exc}); is it truncated? Re-export "
            "or download it again."
        ) from exc


def _provenance(path: Path, window: Window | None, tags: dict) -> dict[str, Any]:
    """The layer's provenance: the file, the window read and the generator's own record."""
    provenance: dict[str, Any] = {
        "source": str(path), "window": None if window is None else str(window)
    }
    if tags.get("provenance"):
        try:
            provenance["generator"] = json.loads(tags["provenance"])
        except ValueError:
            provenance["generator"] = tags["provenance"]
    return provenance


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
    with _open(path) as src:
        tags = src.tags()
        unit, scale, offset = _units(src, tags, units, path)
        window = None
        if aoi is not None:
            bounds = aoi_to_crs(aoi, src.crs.to_wkt(), source=str(path))
        if bounds is not None:
            b = tuple(float(v) for v in bounds)
            _check_overlap(path, tuple(src.bounds), b, str(src.crs), aoi)  # type: ignore[arg-type]
            window = _window(src, b)  # type: ignore[arg-type]
        values = _band1(src, window, path)
        transform = src.transform
        if window is not None:  # (rasterio's window_transform uses the deprecated `*`)
            transform = transform @ Affine.translation(window.col_off, window.row_off)
        arr = values.filled(np.nan)
        arr = arr * np.float32(src.scales[0]) + np.float32(src.offsets[0])
        arr = arr * np.float32(scale) + np.float32(offset)
        return make_layer(
            arr,
            transform,
            src.crs.to_wkt() if src.crs.to_epsg() is None else f"EPSG:{src.crs.to_epsg()}",
            units=unit,
            kind=kind or tags.get("kind") or "unknown",
            provenance=_provenance(path, window, tags),
        )


