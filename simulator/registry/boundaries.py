"""Administrative boundaries: read district (or province) polygons and check them against a registry.

Boundaries are optional in Madad: the engine places households by their ``district_id`` and
never needs a polygon. They are used to draw maps and to check that a registry's district codes
are the ones a boundary file knows (a registry coded with another vintage of districts, or with
district names instead of codes, is caught here before a map silently shows blank districts).

Every reader returns the same small frame: ``district_id`` (normalised: stripped, lower-case),
``name`` and ``geometry`` in EPSG:4326, one row per district, sorted by ``district_id``.

Supported files: GeoJSON (``.geojson``, ``.json``), GeoPackage (``.gpkg``), Shapefile (``.shp``
or a ``.zip`` holding one) and GeoParquet (``.parquet``, ``.geoparquet``).

Example
-------
>>> from simulator import boundaries, data
>>> gdf = boundaries.load_boundaries("pak_admin_2023.gpkg", name_column="district")  # doctest: +SKIP
>>> boundaries.check_codes(gdf, data.district_codes(), source="data/districts.csv")  # doctest: +SKIP
{'matched': 136, 'boundaries_without_households': [...], 'registry_codes_without_boundary': []}
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from hazards.errors import BoundaryError

log = logging.getLogger(__name__)

#: File suffixes :func:`load_boundaries` reads, and the kind of file each one is.
SUPPORTED = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".gpkg": "GeoPackage",
    ".shp": "Shapefile",
    ".zip": "zipped Shapefile",
    ".parquet": "GeoParquet",
    ".geoparquet": "GeoParquet",
}
#: Administrative levels understood by :func:`load_boundaries` (the id column is ``<level>_id``).
LEVELS = ("province", "division", "district", "tehsil")
#: How many codes an error message lists before it says "and N more".
SHOW = 10
_SUPPORTED_TEXT = ", ".join(SUPPORTED)
_FIX_CRS = (
    "Declare the CRS the coordinates are in, for example in Python "
    "`gdf.set_crs('EPSG:4326').to_file('fixed.gpkg')` (use the right EPSG code if the "
    "coordinates are not longitude/latitude), or with GDAL "
    "`ogr2ogr -a_srs EPSG:4326 fixed.gpkg <file>`; a Shapefile needs its .prj file beside it."
)


def _shorten(items: Iterable[str], limit: int = SHOW) -> str:
    items = list(items)
    text = ", ".join(items[:limit])
    return text + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _choose_layer(path: Path, layer: str | None, level: str) -> str | None:
    """The layer to read: the given one, the only one, or the one named like ``level``."""
    import pyogrio

    try:
        layers = [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    except Exception as exc:  # pyogrio.errors.DataSourceError and friends
        raise BoundaryError(
            f"{path}: cannot be opened as a boundary file ({exc}). Check that it is a complete, "
            f"uncorrupted {SUPPORTED[path.suffix.lower()]} file."
        ) from exc
    if layer is not None:
        if layer not in layers:
            raise BoundaryError(
                f"{path}: no layer {layer!r}; the file has the layers {layers}. "
                f"Pass one of them as layer=."
            )
        return layer
    if len(layers) == 1:
        return layers[0]
    pattern = re.compile(rf"(^|[^a-z]){level}s?($|[^a-z])")
    named = [name for name in layers if pattern.search(name.lower())]
    if len(named) == 1:
        log.info("%s: reading layer %r of %s", path, named[0], layers)
        return named[0]
    raise BoundaryError(
        f"{path}: the file has {len(layers)} layers {layers} and "
        + (f"several look like {level}s ({named})" if named else f"none is named like '{level}s'")
        + "; choose one with layer= (in a scenario: boundaries.layer)."
    )


def _read(path: Path, layer: str | None, level: str) -> gpd.GeoDataFrame:
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".geoparquet"}:
        try:
            return gpd.read_parquet(path)
        except ValueError as exc:  # plain Parquet without 'geo' metadata, or no geometry column
            raise BoundaryError(
                f"{path}: not a GeoParquet file ({exc}). Write it with geopandas "
                "`gdf.to_parquet(path)` so that it carries its geometry column and CRS."
            ) from exc
        except Exception as exc:
            raise BoundaryError(f"{path}: cannot be read as GeoParquet ({exc}).") from exc
    chosen = _choose_layer(path, layer, level)
    try:
        return gpd.read_file(path, layer=chosen)
    except Exception as exc:
        raise BoundaryError(
            f"{path}: cannot read layer {chosen!r} ({exc}). Check that the file opens in QGIS "
            "or with `ogrinfo`."
        ) from exc


def _resolve_column(
    frame: pd.DataFrame, column: str, *, path: Path, argument: str, role: str, is_shapefile: bool
) -> str:
    """``column`` if present; for a Shapefile also its 10-character truncation."""
    if column in frame.columns:
        return column
    if is_shapefile and len(column) > 10 and column[:10] in frame.columns:
        log.info("%s: using %r, the Shapefile truncation of %r", path, column[:10], column)
        return column[:10]
    present = [str(c) for c in frame.columns if c != frame.geometry.name]
    close = difflib.get_close_matches(column, present, n=1, cutoff=0.6)
    hint = f" Did you mean {argument}={close[0]!r}?" if close else ""
    raise BoundaryError(
        f"{path}: no column {column!r}; the columns present are {present}.{hint} "
        f"Pass the column that holds the {role} as {argument}= "
        f"(in a scenario: boundaries.{argument})."
    )


def _clean_geometry(geoms: gpd.GeoSeries, codes: pd.Series, path: Path) -> gpd.GeoSeries:
    """Repair invalid polygons with ``make_valid``; refuse missing, empty or non-polygon shapes."""
    values = geoms.to_numpy()
    empty = shapely.is_missing(values) | shapely.is_empty(values)
    if empty.any():
        raise BoundaryError(
            f"{path}: {int(empty.sum())} features have an empty or missing geometry "
            f"(codes {_shorten(codes[empty])}). Delete those features or redraw them."
        )
    invalid = ~shapely.is_valid(values)
    if invalid.any():
        log.warning(
            "%s: %d invalid geometries repaired with make_valid (codes %s)",
            path, int(invalid.sum()), _shorten(codes[invalid]),
        )
        repaired = shapely.make_valid(values[invalid])
        # make_valid can return a collection with stray lines or points; keep the polygon parts.
        for i, geom in enumerate(repaired):
            if shapely.get_type_id(geom) == 7:  # GeometryCollection
                parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6)]
                repaired[i] = shapely.union_all(parts) if parts else shapely.Polygon()
        values = values.copy()
        values[invalid] = repaired
    polygonal = np.isin(shapely.get_type_id(values), (3, 6))  # Polygon, MultiPolygon
    empty = shapely.is_empty(values)
    if empty.any():
        raise BoundaryError(
            f"{path}: {int(empty.sum())} geometries are empty after repair with make_valid "
            f"(codes {_shorten(codes[empty])}). Redraw those districts."
        )
    if not polygonal.all():
        kinds = sorted(set(shapely.get_type_id(values[~polygonal]).tolist()))
        names = [shapely.GeometryType(k).name for k in kinds]
        raise BoundaryError(
            f"{path}: boundaries must be polygons, but {int((~polygonal).sum())} features are "
            f"{names} (codes {_shorten(codes[~polygonal])}). Use the district polygon layer."
        )
    return gpd.GeoSeries(values, index=geoms.index, crs=geoms.crs)


def load_boundaries(
    path: str | Path,
    *,
    layer: str | None = None,
    code_column: str = "district_id",
    name_column: str | None = None,
    level: str = "district",
) -> gpd.GeoDataFrame:
    """Read administrative boundaries into a small, checked frame in EPSG:4326.

    Parameters
    ----------
    path : str or Path
        GeoJSON (``.geojson``/``.json``), GeoPackage (``.gpkg``), Shapefile (``.shp``, or a
        ``.zip`` holding one) or GeoParquet (``.parquet``/``.geoparquet``).
    layer : str, optional
        Layer to read from a multi-layer file. When omitted, a file with one layer is read as is;
        a file with several layers must have exactly one named like ``level`` (``districts``,
        ``pak_district``...), otherwise a :class:`BoundaryError` lists the layers.
    code_column : str, default ``"district_id"``
        Column holding the codes that join to the registry (2023 census codes such as
        ``pb_lahore``, see ``data/districts.csv``). In a Shapefile, where column names are cut
        to 10 characters, the truncated name (``district_i``) is accepted too.
    name_column : str, optional
        Column holding a display name. When omitted, the name is the code.
    level : {"district", "province", "division", "tehsil"}, default ``"district"``
        Administrative level: chooses the layer of a multi-layer file and names the id column
        of the result (``district_id``, ``province_id``...).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``<level>_id`` (codes stripped and lower-cased), ``name`` and ``geometry``
        (Polygon or MultiPolygon, EPSG:4326), one row per code, sorted by code. Invalid
        polygons are repaired with ``make_valid``. ``attrs["source"]`` holds the file path.

    Raises
    ------
    BoundaryError
        The file is missing, of an unsupported type or unreadable; it has no CRS; the layer or a
        column is absent; codes are missing or duplicated; a geometry is empty or not a polygon.
    """
    path = Path(path)
    if level not in LEVELS:
        raise BoundaryError(f"level={level!r} is not known; use one of {list(LEVELS)}.")
    if not path.exists():
        raise BoundaryError(
            f"{path}: no such boundary file. Give the path to a {_SUPPORTED_TEXT} file "
            "(relative paths in a scenario are relative to the scenario file)."
        )
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise BoundaryError(
            f"{path}: unsupported boundary file type {suffix or '(no extension)'!r}. "
            f"Supported: {_SUPPORTED_TEXT}. Convert it, e.g. "
            "`ogr2ogr -f GPKG boundaries.gpkg <file>`."
        )
    raw = _read(path, layer, level)

    if raw.crs is None:
        raise BoundaryError(f"{path}: the file has no coordinate reference system (CRS). {_FIX_CRS}")
    is_shapefile = suffix in {".shp", ".zip"}
    code_col = _resolve_column(
        raw, code_column, path=path, argument="code_column", role=f"{level} codes",
        is_shapefile=is_shapefile,
    )
    name_col = (
        None
        if name_column is None
        else _resolve_column(
            raw, name_column, path=path, argument="name_column", role=f"{level} names",
            is_shapefile=is_shapefile,
        )
    )

    codes = raw[code_col].astype("string").str.strip().str.lower()
    blank = (codes.isna() | (codes == "")).to_numpy(dtype=bool)
    if blank.any():
        rows = (np.flatnonzero(blank) + 1).astype(str)
        raise BoundaryError(
            f"{path}: {int(blank.sum())} features have no code in column {code_col!r} "
            f"(features {_shorten(rows)}). Fill in their codes or delete them."
        )
    dup = codes.duplicated(keep=False).to_numpy(dtype=bool)
    if dup.any():
        repeated = sorted(set(codes[dup]))
        raise BoundaryError(
            f"{path}: {len(repeated)} codes in column {code_col!r} appear more than once "
            f"({_shorten(repeated)}). Each {level} must be one feature: merge the pieces "
            f"(`gdf.dissolve(by={code_col!r})`) or pick the column of unique codes as code_column=."
        )

    geometry = _clean_geometry(raw.geometry, codes.to_numpy(dtype=object), path)
    if raw.crs.to_epsg() != 4326:
        log.info("%s: reprojecting from %s to EPSG:4326", path, raw.crs.to_string())
        try:
            geometry = geometry.to_crs(4326)
        except Exception as exc:
            raise BoundaryError(
                f"{path}: cannot reproject from {raw.crs.to_string()} to EPSG:4326 ({exc}). "
                f"{_FIX_CRS}"
            ) from exc
    else:
        geometry = geometry.set_crs(4326, allow_override=True)
    x0, y0, x1, y1 = geometry.total_bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise BoundaryError(
            f"{path}: after conversion to EPSG:4326 the bounds are ({x0:.1f}, {y0:.1f}, "
            f"{x1:.1f}, {y1:.1f}), which are not longitudes/latitudes: the file's declared CRS "
            f"({raw.crs.to_string()}) is probably wrong. {_FIX_CRS}"
        )

    names = (
        codes if name_col is None else raw[name_col].astype("string").str.strip().fillna(codes)
    )
    out = gpd.GeoDataFrame(
        {
            f"{level}_id": codes.to_numpy(dtype=object),
            "name": names.to_numpy(dtype=object),
        },
        geometry=geometry.to_numpy(),
        crs="EPSG:4326",
    )
    out = out.sort_values(f"{level}_id", kind="stable").reset_index(drop=True)
    out.attrs["source"] = str(path)
    out.attrs["level"] = level
    return out


def load_spec(spec, *, base: Path | None = None) -> gpd.GeoDataFrame:
    """Load the boundaries a scenario names (:class:`simulator.scenario.BoundarySpec`).

    ``spec.path`` is resolved against ``base`` (the scenario's folder) when it is relative.
    """
    path = Path(spec.path)
    if base is not None and not path.is_absolute():
        path = Path(base) / path
    return load_boundaries(
        path, layer=spec.layer, code_column=spec.code_column, name_column=spec.name_column
    )


def _id_column(boundaries: gpd.GeoDataFrame) -> str:
    if "district_id" in boundaries.columns:
        return "district_id"
    ids = [c for c in boundaries.columns if str(c).endswith("_id")]
    if len(ids) != 1:
        raise BoundaryError(
            "check_codes needs a frame from load_boundaries (with a district_id column); "
            f"got columns {[str(c) for c in boundaries.columns]}."
        )
    return ids[0]


def check_codes(
    boundaries: gpd.GeoDataFrame, codes: Iterable[str], *, source: str, strict: bool = True
) -> dict:
    """Compare boundary codes with a registry's (or ``data/districts.csv``'s) district codes.

    Parameters
    ----------
    boundaries : geopandas.GeoDataFrame
        A frame from :func:`load_boundaries`.
    codes : iterable of str
        District codes in use, e.g. ``data.district_codes()`` or the distinct ``district_id``
        values of a registry. Codes are compared stripped and lower-cased; missing values are
        ignored.
    source : str
        Where ``codes`` come from (a registry file, ``data/districts.csv``), for the message.
    strict : bool, default True
        Raise when some codes have no boundary. With ``False`` the report lists them instead.

    Returns
    -------
    dict
        ``matched`` (number of codes that have a boundary), ``boundaries_without_households``
        (sorted boundary codes not in ``codes``; e.g. AJK and Gilgit-Baltistan districts, which
        are outside the 2023 census frame) and ``registry_codes_without_boundary`` (sorted codes
        with no boundary; empty unless ``strict=False``).

    Raises
    ------
    BoundaryError
        Some of ``codes`` have no boundary (``strict=True``). The message lists up to 10 of them
        and their count.
    """
    column = _id_column(boundaries)
    have = set(boundaries[column].astype(str))
    wanted = pd.Series(list(codes), dtype="string").str.strip().str.lower().dropna()
    wanted = set(wanted[wanted != ""])
    missing = sorted(wanted - have)
    report = {
        "matched": len(wanted & have),
        "boundaries_without_households": sorted(have - wanted),
        "registry_codes_without_boundary": missing,
    }
    if missing and strict:
        where = boundaries.attrs.get("source", "the boundaries")
        raise BoundaryError(
            f"{source}: {len(missing)} of {len(wanted)} district codes have no boundary in "
            f"{where} ({_shorten(missing)}); {report['matched']} matched. The boundary codes "
            f"look like {_shorten(sorted(have), 3)}: check code_column or use the 2023 census "
            "codes in data/districts.csv."
        )
    return report


def simplify_for_map(gdf: gpd.GeoDataFrame, tolerance_deg: float = 0.01) -> gpd.GeoDataFrame:
    """A copy with lighter polygons for web maps (pydeck, folium), not for analysis.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Boundaries in a geographic CRS (as returned by :func:`load_boundaries`).
    tolerance_deg : float, default 0.01
        Douglas-Peucker tolerance in degrees (0.01 degree is about 1.1 km at the equator).

    Returns
    -------
    geopandas.GeoDataFrame
        The same rows and columns; each geometry simplified with ``preserve_topology=True`` so it
        stays a valid, non-empty polygon. Neighbouring districts are simplified independently,
        so thin slivers or gaps can appear along shared borders at large tolerances.

    Raises
    ------
    BoundaryError
        ``tolerance_deg`` is negative, or the frame is not in a geographic CRS.
    """
    if tolerance_deg < 0:
        raise BoundaryError(f"tolerance_deg must be >= 0, got {tolerance_deg}.")
    if gdf.crs is None or not gdf.crs.is_geographic:
        raise BoundaryError(
            f"simplify_for_map works in degrees; the frame's CRS is {gdf.crs}. "
            "Use load_boundaries (EPSG:4326) or gdf.to_crs(4326) first."
        )
    out = gdf.copy()
    out[out.geometry.name] = gdf.geometry.simplify(tolerance_deg, preserve_topology=True)
    return out
