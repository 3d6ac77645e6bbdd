"""Hazard rasters in and out: GeoTIFF through rasterio."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import rasterio
import xarray as xr
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from hazards.layer import UNITS, crs_of, make_layer, transform_of
from simulator.errors import HazardError

#: Unit spellings found in files, mapped to the canonical unit and a conversion.
_UNIT_ALIASES = {
    "m": ("m", 1.0, 0.0),
    "metre": ("m", 1.0, 0.0),
    "meter": ("m", 1.0, 0.0),
    "meters": ("m", 1.0, 0.0),
    "cm": ("m", 0.01, 0.0),
    "mm": ("mm", 1.0, 0.0),
    "degc": ("degC", 1.0, 0.0),
    "celsius": ("degC", 1.0, 0.0),
    "k": ("degC", 1.0, -273.15),
    "kelvin": ("degC", 1.0, -273.15),
    "g": ("g", 1.0, 0.0),
    "m/s": ("m/s", 1.0, 0.0),
    "m s-1": ("m/s", 1.0, 0.0),
    "index": ("index", 1.0, 0.0),
}


def canonical_units(units: str, source: str) -> tuple[str, float, float]:
    """(canonical unit, scale, offset) for a unit spelling; an unknown one is refused."""
    found = _UNIT_ALIASES.get(str(units).strip().lower())
    if found is None:
        raise HazardError(
            f"{source}: unknown units {units!r}. Give one of {sorted(_UNIT_ALIASES)} "
            f"(stored as {UNITS}), e.g. --units m."
        )
    return found


def _window(src: rasterio.DatasetReader, bounds: tuple[float, float, float, float]) -> Window:
    """The smallest whole-pixel window covering ``bounds`` (raster CRS), clipped to the raster."""
    t = src.transform
    inv = ~t
    xs = (bounds[0], bounds[2])
    ys = (bounds[1], bounds[3])
    cols, rows = zip(*(inv @ (x, y) for x in xs for y in ys), strict=True)
    c0 = max(int(np.floor(min(cols))), 0)
    r0 = max(int(np.floor(min(rows))), 0)
    c1 = min(int(np.ceil(max(cols))), src.width)
    r1 = min(int(np.ceil(max(rows))), src.height)
    return Window(c0, r0, max(c1 - c0, 1), max(r1 - r0, 1))


def write_geotiff(layer: xr.DataArray, path: str | Path) -> Path:
    """Write a layer as a deflate-compressed float32 GeoTIFF with NaN nodata and its metadata."""
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
    bounds: tuple[float, float, float, float] | None = None,
    units: str | None = None,
    kind: str | None = None,
) -> xr.DataArray:
    """Read band 1 of a GeoTIFF as a hazard layer.

    Parameters
    ----------
    path
        GeoTIFF or COG.
    bounds
        (left, bottom, right, top) in the raster's CRS: only this window is read.
    units
        Units of the stored values when the file does not say (``cm`` and ``K`` are converted).
    kind
        Hazard kind when the file does not say.

    Raises
    ------
    HazardError
        Missing or unreadable file, no CRS, unknown units, no overlap with ``bounds``.
    """
    path = Path(path)
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
                f"{sorted(_UNIT_ALIASES)})."
            )
        unit, scale, offset = canonical_units(stated, str(path))
        window = None
        if bounds is not None:
            left, bottom, right, top = src.bounds
            b = bounds
            if b[0] >= right or b[2] <= left or b[1] >= top or b[3] <= bottom:
                raise HazardError(
                    f"{path}: the raster ({src.bounds}) does not overlap the area of interest "
                    f"{tuple(round(v, 4) for v in b)} in {src.crs}. Check the raster covers the "
                    "registry's districts."
                )
            window = _window(src, b)
        try:
            values = src.read(1, window=window, masked=True).astype(np.float32)
        except RasterioIOError as exc:
            raise HazardError(f"{path}: the raster's data cannot be read ({exc}); is it truncated?") from exc
        transform = src.window_transform(window) if window is not None else src.transform
        arr = values.filled(np.nan)
        arr = arr * np.float32(src.scales[0]) + np.float32(src.offsets[0])
        arr = arr * np.float32(scale) + np.float32(offset)
        provenance = {"source": str(path), "window": None if window is None else str(window)}
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
