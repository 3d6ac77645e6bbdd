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
    _grid_bounds,
    _window_slices,
    aoi_to_crs,
    canonical_units,
    screen_values,
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


def _one_band(src: rasterio.DatasetReader, path: Path) -> None:
    """Refuse a raster with several bands: which one holds the intensity is not guessed."""
    if src.count == 1:
        return
    names = ", ".join(
        f"{i} ({d})" if d else str(i) for i, d in enumerate(src.descriptions or (), start=1)
    ) or ", ".join(str(i) for i in range(1, src.count + 1))
    raise HazardError(
        f"{path}: the raster has {src.count} bands ({names}); a hazard raster has one, and "
        "Madad does not guess which band holds the intensity. Extract the band you mean, e.g. "
        f"`gdal_translate -b 2 {path.name} band2.tif`, and give that file."
    )


def _north_up(transform: Affine, height: int, width: int) -> tuple[Affine, bool, bool]:
    """The north-up transform of a grid, and whether its rows (south-up) or columns
    (east-to-west) are stored reversed. The edges are the file's own: nothing is resampled."""
    if transform.b != 0 or transform.d != 0:
        return transform, False, False  # make_layer refuses rotated rasters, naming the fix
    a, c, e, f = transform.a, transform.c, transform.e, transform.f
    flip_x, flip_y = a < 0, e > 0
    left = c + a * width if flip_x else c
    top = f + e * height if flip_y else f
    return Affine(abs(a), 0.0, left, 0.0, -abs(e), top), flip_x, flip_y


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
    """Read a single-band GeoTIFF or COG as a hazard layer.

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
        Missing or unreadable file, no CRS, unknown units, no overlap with ``bounds``/``aoi``,
        more than one band.

    A south-up file (positive y pixel size, origin at the bottom) or an east-to-west one is read
    flipped to north-up with its own edges. Values that are +-inf or outside the plausible range
    of their units (:data:`hazards.georef.PLAUSIBLE_RANGE`) are read as nodata, with a warning.
    """
    path = Path(path)
    if bounds is not None and aoi is not None:
        raise HazardError(f"{path}: give bounds= (raster CRS) or aoi= (lon/lat), not both.")
    if not path.exists():
        raise HazardError(f"{path}: no such hazard raster.")
    with _open(path) as src:
        _one_band(src, path)
        tags = src.tags()
        unit, scale, offset = _units(src, tags, units, path)
        # A south-up (positive y pixel size) or east-to-west file is read flipped to north-up,
        # with the file's own edges; windows are found on the north-up grid, then mapped back.
        height, width = src.height, src.width
        transform, flip_x, flip_y = _north_up(src.transform, height, width)
        window = None
        r0, c0 = 0, 0
        if aoi is not None:
            bounds = aoi_to_crs(aoi, src.crs.to_wkt(), source=str(path))
        if bounds is not None:
            b = tuple(float(v) for v in bounds)
            _check_overlap(path, _grid_bounds(transform, height, width), b, str(src.crs), aoi)  # type: ignore[arg-type]
            r0, r1, c0, c1 = _window_slices(transform, height, width, b)  # type: ignore[arg-type]
            rows = (height - r1, height - r0) if flip_y else (r0, r1)
            cols = (width - c1, width - c0) if flip_x else (c0, c1)
            window = Window(cols[0], rows[0], cols[1] - cols[0], rows[1] - rows[0])
        values = _band1(src, window, path)
        # (rasterio's window_transform uses the deprecated `*`)
        transform = transform @ Affine.translation(c0, r0)
        arr = values.filled(np.nan)
        if flip_y:
            arr = arr[::-1, :]
        if flip_x:
            arr = arr[:, ::-1]
        arr = arr * np.float32(src.scales[0]) + np.float32(src.offsets[0])
        arr = arr * np.float32(scale) + np.float32(offset)
        arr = screen_values(arr, unit, str(path))
        return make_layer(
            np.ascontiguousarray(arr),
            transform,
            src.crs.to_wkt() if src.crs.to_epsg() is None else f"EPSG:{src.crs.to_epsg()}",
            units=unit,
            kind=kind or tags.get("kind") or "unknown",
            provenance=_provenance(path, window, tags),
        )


