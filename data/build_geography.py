"""Rebuild the base geography shipped in ``data/`` from ``../shared/data/``.

Writes
- ``data/boundaries/pakistan_admin_2023.gpkg``: layers ``provinces`` (7) and ``districts`` (156),
  EPSG:4326, simplified to 0.002 degrees (about 200 m) for display and point-in-polygon work.
  Boundaries (c) OpenStreetMap contributors (ODbL), via github.com/AbuBakrCh/pakistan-map.
- ``data/dem/dem_globe_30arcsec_pakistan.tif``: the NOAA GLOBE 30 arc-second DEM (public domain),
  copied unchanged.

Run from the repository root: ``.venv/bin/python data/build_geography.py``. Needs ``../shared``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import shapely

ROOT = Path(__file__).resolve().parent
SHARED = ROOT.parent.parent / "shared" / "data"
TOLERANCE_DEG = 0.002
KEEP = {
    "provinces": ["province_code", "province", "kind"],
    "districts": ["district_id", "district", "division", "province", "province_code", "in_census_2023"],
}


def _polygonal(geom):
    """The polygonal part of a geometry (make_valid can return a collection with lines)."""
    geom = shapely.make_valid(geom)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts)


def main() -> None:
    out = ROOT / "boundaries" / "pakistan_admin_2023.gpkg"
    out.parent.mkdir(exist_ok=True)
    tmp = out.with_suffix(".tmp.gpkg")
    tmp.unlink(missing_ok=True)
    src = SHARED / "boundaries" / "pak_admin_2023.gpkg"
    for layer, columns in KEEP.items():
        gdf = gpd.read_file(src, layer=layer)[columns + ["geometry"]]
        gdf["geometry"] = [_polygonal(g) for g in gdf.geometry.simplify(TOLERANCE_DEG, preserve_topology=True)]
        gdf.sort_values(columns[0]).to_file(tmp, layer=layer, driver="GPKG")
    tmp.replace(out)
    dem = ROOT / "dem" / "dem_globe_30arcsec_pakistan.tif"
    dem.parent.mkdir(exist_ok=True)
    shutil.copyfile(SHARED / "dem_globe_30arcsec_pakistan.tif", dem)
    print(f"wrote {out} and {dem}")


if __name__ == "__main__":
    main()
