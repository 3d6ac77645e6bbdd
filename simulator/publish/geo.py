"""Districts as a map layer: the plan's figures on district points or boundary polygons, written
as GeoPackage or GeoJSON (EPSG:4326).

Polygons come from the boundaries the caller gives: a user's official file, or the shipped
2023 outlines (:func:`shipped_boundaries`); a file written from the shipped ones carries
:data:`hazards.tables.BOUNDARY_ATTRIBUTION` as its layer description (ODbL).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hazards.errors import ExportError, MadadError
from simulator.plans.build import FIGURES
from simulator.publish.runs import Run, load_run
from simulator.publish.tables import district_table

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

__all__ = ["attribution", "boundaries_frame", "district_layer", "shipped_boundaries", "write_geo"]


def shipped_boundaries() -> gpd.GeoDataFrame:
    """The shipped district outlines (``data/boundaries/pakistan_admin_2023.gpkg``, 156 districts
    including AJK and Gilgit-Baltistan), read as a user's file is: ``district_id``, ``name``,
    ``geometry``. Credit them with :data:`hazards.tables.BOUNDARY_ATTRIBUTION`."""
    from hazards import tables as data
    from simulator.registry import boundaries as boundaries_mod

    return boundaries_mod.load_boundaries(data.boundaries_path(), layer="districts",
                                          name_column="district")


def attribution(boundaries: Any) -> str | None:
    """:data:`hazards.tables.BOUNDARY_ATTRIBUTION` when ``boundaries`` (a path or a frame read by
    ``load_boundaries``) are the shipped file, else None (a user's file: their own terms)."""
    from hazards import tables as data

    source = boundaries if isinstance(boundaries, str | Path) else getattr(boundaries, "attrs", {}).get("source")
    if not source:
        return None
    try:
        shipped = Path(source).resolve() == data.boundaries_path().resolve()
    except (OSError, ValueError, MadadError):
        return None
    return data.BOUNDARY_ATTRIBUTION if shipped else None


def boundaries_frame(boundaries: Any) -> gpd.GeoDataFrame | None:
    if boundaries is None:
        return None
    from simulator.registry import boundaries as boundaries_mod

    if isinstance(boundaries, str | Path):
        return boundaries_mod.load_boundaries(boundaries)
    if "district_id" not in boundaries.columns:
        raise ExportError(
            "boundaries need a district_id column of 2023 census codes; read the file with "
            "simulator.boundaries.load_boundaries(path, code_column=...)."
        )
    if boundaries.crs is None:
        raise ExportError("boundaries have no CRS; read them with simulator.boundaries.load_boundaries.")
    return boundaries.to_crs(4326) if boundaries.crs.to_epsg() != 4326 else boundaries


def district_layer(run: Any, *, boundaries: Any = None) -> gpd.GeoDataFrame:
    """Districts with the plan's figures as a GeoDataFrame in EPSG:4326.

    Parameters
    ----------
    run : Run, RunResult, str or Path
        See :func:`load_run`.
    boundaries : geopandas.GeoDataFrame, str or Path, optional
        District polygons (a frame from :func:`simulator.boundaries.load_boundaries`, or a file it
        reads). Without them each district is a point at its ``data/districts.csv`` lon/lat.

    Returns
    -------
    geopandas.GeoDataFrame
        The columns of :func:`district_table` (without lon/lat) and ``geometry``: one point per
        census district, or one polygon per boundary (boundary districts outside the census frame,
        such as AJK, carry zeros).

    Raises
    ------
    BoundaryError
        A district with households has no polygon in ``boundaries``.
    """
    import geopandas as gpd

    run = load_run(run)
    table = _published_households(run, district_table(run))
    bounds = boundaries_frame(boundaries)
    if bounds is None:
        geometry = gpd.points_from_xy(table.lon, table.lat, crs="EPSG:4326")
        return gpd.GeoDataFrame(table.drop(columns=["lon", "lat"]), geometry=geometry, crs="EPSG:4326")
    from simulator.registry import boundaries as boundaries_mod

    # Every district with registry households needs a polygon (the exact household table says
    # which; a published plan's households are perturbed or empty).
    try:
        used = run.households["district_id"].astype(str).unique()
    except Exception:  # noqa: BLE001 (no household table: the districts the plan counts)
        used = table.loc[table.households.fillna(0) > 0, "district_id"]
    boundaries_mod.check_codes(bounds, used, source=f"{run.label} (districts with households)")
    merged = bounds[["district_id", "name", bounds.geometry.name]].merge(
        table.drop(columns=["lon", "lat"]), on="district_id", how="left"
    )
    merged["district"] = merged["district"].fillna(merged["name"])
    merged[["province_code", "province"]] = merged[["province_code", "province"]].fillna("")
    for c in FIGURES:
        merged[c] = merged[c].fillna(0).astype(np.int64)
    columns = ["district_id", "district", "province_code", "province", *FIGURES]
    return gpd.GeoDataFrame(merged[columns], geometry=merged.geometry.to_numpy(), crs="EPSG:4326")


def _published_households(run: Run, table):
    """A perturbed (published) plan's ``households``: the plan's for listed districts and
    empty for the rest, never the exact counts of the household table."""
    if "perturbation" not in run.plan.get("disclosure", {}):
        return table
    import pandas as pd

    listed = {d["district_id"]: d.get("households") for d in run.plan.get("districts", [])}
    values = table["district_id"].map(lambda d: listed.get(d, pd.NA))
    table = table.copy()
    table["households"] = pd.array(values.tolist(), dtype="Int64")
    return table


def write_geo(run: Run, path: Path, *, fmt: str, boundaries: Any) -> Path:
    """Write :func:`district_layer` as a GeoPackage (layer ``districts``) or GeoJSON; polygons
    from the shipped boundaries carry their attribution as the layer's description (GeoJSON's
    ``description`` member, the GeoPackage's ``gpkg_contents.description``)."""
    layer = district_layer(run, boundaries=boundaries)
    credit = attribution(boundaries) if boundaries is not None else None
    options = {"layer_options": {"DESCRIPTION": credit}} if credit else {}
    if path.exists():
        path.unlink()  # a GeoPackage would otherwise gain a layer, a GeoJSON fail to write
    if fmt == "gpkg":
        layer.to_file(path, driver="GPKG", layer="districts", **options)
    else:
        layer.to_file(path, driver="GeoJSON", **options)
    return path
