"""The tables the project ships in ``data/``: districts and tehsils of the 2023 census, rivers,
the base geography (district and province outlines, the GLOBE elevation raster).

Nothing here reads ``../shared``: the embedded demo must work on a user's clone alone.
Set ``MADAD_DATA`` to use another folder with the same files.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pandas as pd

from hazards.errors import DataFileError

#: Pakistan's working bounding box (lon_min, lat_min, lon_max, lat_max), degrees.
#: Source: ../shared/data/FACTS.md section 10 (pak-geodata's validation box, widened to 77.9 E).
PAKISTAN_BBOX = (60.8, 23.5, 77.9, 37.1)

#: Province codes used in every table (2023 census frame).
PROVINCES = {
    "PB": "Punjab",
    "SD": "Sindh",
    "KP": "Khyber Pakhtunkhwa",
    "BA": "Balochistan",
    "IS": "Islamabad Capital Territory",
}


def data_dir() -> Path:
    """Folder of the shipped tables: ``$MADAD_DATA`` or the repository's ``data/``."""
    env = os.environ.get("MADAD_DATA")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "data"


#: Shown wherever the shipped boundaries are drawn (ODbL requires the attribution).
BOUNDARY_ATTRIBUTION = "Boundaries \u00a9 OpenStreetMap contributors (ODbL), via github.com/AbuBakrCh/pakistan-map"
#: Credit for the shipped elevation raster (public domain; credit is courtesy).
DEM_ATTRIBUTION = "Elevation: NOAA GLOBE 30 arc-second DEM (public domain)"
BOUNDARIES_FILE = "boundaries/pakistan_admin_2023.gpkg"
DEM_FILE = "dem/dem_globe_30arcsec_pakistan.tif"


def _shipped(name: str, rebuild: str) -> Path:
    path = data_dir() / name
    if not path.exists():
        raise DataFileError(
            f"{path}: missing. It ships with the repository; restore it with "
            f"`git checkout -- data/{name}` or rebuild it with {rebuild}."
        )
    return path


def dem_path() -> Path:
    """The shipped NOAA GLOBE 30 arc-second elevation raster of Pakistan [m], EPSG:4326."""
    return _shipped(DEM_FILE, "data/build_geography.py")


def boundaries_path() -> Path:
    """The shipped GeoPackage of 2023 boundaries: layers ``provinces`` and ``districts``."""
    return _shipped(BOUNDARIES_FILE, "data/build_geography.py")


@functools.cache
def outlines(level: str = "districts"):
    """The shipped ``provinces`` or ``districts`` outlines as a GeoDataFrame (EPSG:4326).

    Districts carry ``district_id``, ``district``, ``division``, ``province``,
    ``province_code`` and ``in_census_2023`` (156 rows: the 136 census districts, 10 in AJK and
    10 in GB); provinces carry ``province_code``, ``province`` and ``kind`` (7 rows). Simplified
    to about 200 m for display. Attribution: :data:`BOUNDARY_ATTRIBUTION`.
    """
    import geopandas as gpd

    if level not in ("provinces", "districts"):
        raise DataFileError(f"outline level {level!r} is not one of ['districts', 'provinces'].")
    return gpd.read_file(boundaries_path(), layer=level)


def _read(name: str, required: list[str]) -> pd.DataFrame:
    path = data_dir() / name
    if not path.exists():
        raise DataFileError(
            f"{path}: missing. It ships with the repository; restore it with "
            f"`git checkout -- data/{name}` or rebuild it with data/build_districts.py."
        )
    table = pd.read_csv(path)
    absent = [c for c in required if c not in table.columns]
    if absent:
        raise DataFileError(f"{path}: columns {absent} are missing; expected {required}.")
    return table


@functools.cache
def districts() -> pd.DataFrame:
    """The 136 districts of the 2023 census, one row each, sorted by ``district_id``.

    Columns: ``district_id``, ``district``, ``province``, ``province_code``, ``pop_2023``
    [persons], ``households_2023``, ``avg_hh_size`` [persons], ``urban_pct`` [%],
    ``area_sqkm`` [km2], ``lon``, ``lat`` [degrees, a point inside the district].
    Source: Pakistan Bureau of Statistics, Census 2023 (see data/README.md).
    """
    table = _read(
        "districts.csv",
        ["district_id", "district", "province", "province_code", "pop_2023",
         "households_2023", "avg_hh_size", "urban_pct", "area_sqkm", "lon", "lat"],
    )
    table = table.sort_values("district_id").reset_index(drop=True)
    if table.district_id.duplicated().any():
        raise DataFileError(f"{data_dir() / 'districts.csv'}: duplicate district_id values.")
    return table


@functools.cache
def rivers() -> pd.DataFrame:
    """River centre-line waypoints (``river``, ``seq``, ``lon``, ``lat``, ``place``)."""
    return _read("rivers.csv", ["river", "seq", "lon", "lat"]).sort_values(["river", "seq"])


def district_codes() -> pd.Index:
    """Sorted district ids; a household's ``district_code`` is its position here."""
    return pd.Index(districts().district_id)


@functools.cache
def tehsils() -> pd.DataFrame:
    """The 591 census tehsils (``data/tehsils.csv``): ``district_id``, ``tehsil_id``, ``tehsil``,
    ``unit_type``, ``households``, sorted by ``district_id`` and ``tehsil_id``.

    Tehsils, talukas, sub-divisions and Balochistan's sub-tehsils, the leaf units below the
    district. Source: PBS Census 2023 (see data/README.md). The units carry no geometry.
    """
    table = _read("tehsils.csv", ["district_id", "tehsil_id", "households"])
    return table.sort_values(["district_id", "tehsil_id"]).reset_index(drop=True)


def tehsil_codes() -> pd.Index:
    """Sorted tehsil ids (``district__tehsil``); a household's tehsil code is its position here."""
    return pd.Index(tehsils().tehsil_id)
