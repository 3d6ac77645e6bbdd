"""Rebuild ``data/districts.csv`` and ``data/tehsils.csv`` from public sources.

Run from the repository root, with ``../shared/data`` beside it (a developer's checkout)::

    .venv/bin/python data/build_districts.py [--shared ../shared/data]

What it writes (facts and derived points, never a copy of a source file):

``districts.csv``
    One row per district of the 2023 census (136): code, name, province, 2023 population,
    households, average household size, urban share and area from PBS Census 2023 (Tables 1 and
    22), and one representative point (lon/lat, 4 decimals) per district: shapely's
    ``point_on_surface`` of the district polygon in the OpenStreetMap-derived 2023 boundaries
    (ODbL). The point is guaranteed to lie inside its district.
``tehsils.csv``
    One row per census unit below the district (591: tehsils, talukas, sub-divisions,
    Balochistan sub-tehsils and one de-excluded area): ``district_id``, ``tehsil_id``
    (``<district_id>__<slug of the unit name>``; where two units of a district share a name, the
    one that is not a TEHSIL gets its unit type appended), ``tehsil`` (the census spelling),
    ``unit_type`` and ``households`` (the census population divided by the unit's average
    household size, as compiled; they sum to about 1 % more than Table 22's district households,
    so use them as shares within a district). The units carry no geometry.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

HERE = Path(__file__).resolve().parent
PROVINCE_CODES = {
    "Punjab": "PB",
    "Sindh": "SD",
    "Khyber Pakhtunkhwa": "KP",
    "Balochistan": "BA",
    "Islamabad Capital Territory": "IS",
}


def _slug(text: pd.Series) -> pd.Series:
    """Lower-case ASCII slugs: runs of other characters become one underscore."""
    return text.str.lower().map(lambda s: re.sub(r"[^a-z0-9]+", "_", s).strip("_"))


def build_tehsils(census: pd.DataFrame, districts: pd.Index) -> pd.DataFrame:
    """The tehsil table from the census's leaf units (see the module docstring).

    Parameters
    ----------
    census
        ``census2023_tehsil_population.csv``: one row per unit below the district.
    districts
        The district ids of ``districts.csv``; every unit must belong to one of them.

    Returns
    -------
    pandas.DataFrame
        ``district_id``, ``tehsil_id``, ``tehsil``, ``unit_type``, ``households``, sorted by
        ``tehsil_id``.
    """
    unknown = set(census.district_id) - set(districts)
    if unknown:
        raise SystemExit(f"tehsils in unknown districts: {sorted(unknown)}")
    slug = _slug(census.unit_name)
    clash = pd.DataFrame({"d": census.district_id, "s": slug}).duplicated(keep=False)
    rename = clash & (census.unit_type != "TEHSIL")
    slug = slug.where(~rename, slug + "_" + _slug(census.unit_type))
    table = pd.DataFrame(
        {
            "district_id": census.district_id,
            "tehsil_id": census.district_id + "__" + slug,
            "tehsil": census.unit_name.str.strip(),
            "unit_type": census.unit_type,
            "households": census.est_households_2023.astype("int64"),
        }
    ).sort_values("tehsil_id")
    if table.tehsil_id.duplicated().any():
        raise SystemExit(f"duplicate tehsil ids: {table.tehsil_id[table.tehsil_id.duplicated()].tolist()}")
    if (table.households <= 0).any():
        raise SystemExit("a tehsil without households")
    return table


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

    tehsils = build_tehsils(
        pd.read_csv(shared / "census2023_tehsil_population.csv"), pd.Index(table.district_id)
    )
    tehsils.to_csv(HERE / "tehsils.csv", index=False)
    print(f"wrote {len(table)} districts and {len(tehsils)} tehsils")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared" / "data")
    main(parser.parse_args().shared)
