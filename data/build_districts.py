"""Rebuild ``data/districts.csv`` and ``data/district_anchors.csv`` from public sources.

Run from the repository root, with ``../shared/data`` beside it (a developer's checkout)::

    .venv/bin/python data/build_districts.py [--shared ../shared/data]

What it writes (facts and derived points, never a copy of a source file):

``districts.csv``
    One row per district of the 2023 census (136): code, name, province, 2023 population,
    households, average household size, urban share and area from PBS Census 2023 (Tables 1 and
    22), and one representative point (lon/lat, 4 decimals) per district: shapely's
    ``point_on_surface`` of the district polygon in the OpenStreetMap-derived 2023 boundaries
    (ODbL). The point is guaranteed to lie inside its district.
``district_anchors.csv``
    16 settlement anchor points per district, sampled uniformly inside the district polygon with
    a fixed seed (20230301). The synthetic registry places rural villages around these anchors so
    that generated households fall inside their district without shipping any boundary.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

HERE = Path(__file__).resolve().parent
ANCHORS_PER_DISTRICT = 16
SEED = 20230301
PROVINCE_CODES = {
    "Punjab": "PB",
    "Sindh": "SD",
    "Khyber Pakhtunkhwa": "KP",
    "Balochistan": "BA",
    "Islamabad Capital Territory": "IS",
}


def _sample_inside(geom, n: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform points inside ``geom`` by rejection sampling from its bounding box."""
    minx, miny, maxx, maxy = geom.bounds
    out = np.empty((0, 2))
    prepared = shapely.prepared.prep(geom)
    while len(out) < n:
        cand = np.column_stack(
            [rng.uniform(minx, maxx, 20 * n), rng.uniform(miny, maxy, 20 * n)]
        )
        inside = np.fromiter(
            (prepared.contains(p) for p in shapely.points(cand)), bool, len(cand)
        )
        out = np.vstack([out, cand[inside]])
    return out[:n]


def main(shared: Path) -> None:
    census = pd.read_csv(shared / "census2023_district_population.csv")
    bounds = gpd.read_file(shared / "boundaries" / "pak_adm2_districts_2023.geojson")
    bounds = bounds.set_index("district_id")
    missing = set(census.district_id) - set(bounds.index)
    if missing:
        raise SystemExit(f"census districts without a boundary: {sorted(missing)}")

    geoms = bounds.loc[census.district_id, "geometry"].values
    rep = shapely.point_on_surface(geoms)
    table = pd.DataFrame(
        {
            "district_id": census.district_id,
            "district": bounds.loc[census.district_id, "district"].values,
            "province": census.province,
            "province_code": census.province.map(PROVINCE_CODES),
            "pop_2023": census.pop_2023.astype("int64"),
            "households_2023": census.households_2023.astype("int64"),
            "avg_hh_size": census.avg_hh_size,
            "urban_pct": census.urban_pct,
            "area_sqkm": census.area_sqkm,
            "lon": np.round(shapely.get_x(rep), 4),
            "lat": np.round(shapely.get_y(rep), 4),
        }
    ).sort_values("district_id")
    if table.province_code.isna().any():
        raise SystemExit("unknown province name in the census table")
    table.to_csv(HERE / "districts.csv", index=False)

    rng = np.random.default_rng(SEED)
    rows = []
    for district_id, geom in zip(census.district_id, geoms, strict=True):
        pts = _sample_inside(geom, ANCHORS_PER_DISTRICT, rng)
        rows.append(
            pd.DataFrame(
                {"district_id": district_id, "lon": pts[:, 0].round(4), "lat": pts[:, 1].round(4)}
            )
        )
    anchors = pd.concat(rows).sort_values(["district_id", "lon", "lat"])
    anchors.to_csv(HERE / "district_anchors.csv", index=False)
    print(f"wrote {len(table)} districts and {len(anchors)} anchors")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared" / "data")
    main(parser.parse_args().shared)
