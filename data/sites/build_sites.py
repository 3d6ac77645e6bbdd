"""Build ``data/sites/sites_illustrative.csv``: an ILLUSTRATIVE national table of BISP sites.

Run from the repository root (reads only files shipped in ``data/``; seeded, so the output is
byte-identical on every run)::

    .venv/bin/python data/sites/build_sites.py

What it places (counts from ``../shared/data/FACTS.md``; places are assumptions, stated here):

* 1 BISP headquarters in Islamabad (FACTS.md section 4: "HQ Islamabad"), at the Islamabad
  district point of ``data/districts.csv``.
* 6 regional offices (FACTS.md section 4), ASSUMED one per province or region (Punjab, Sindh,
  Khyber Pakhtunkhwa, Balochistan, Azad Jammu and Kashmir, Gilgit-Baltistan) at the point of the
  district holding its capital (Lahore, the most populous Karachi district, Peshawar, Quetta,
  Muzaffarabad, Gilgit). BISP's list of regional offices was not available.
* 33 divisional offices (FACTS.md section 4), ASSUMED at the 31 divisions of the 2023 census
  frame plus one in AJK (Muzaffarabad division) and one in GB (Gilgit division); each at the
  point of the division's headquarters district, taken as the district named like the division
  where one exists, else the division's most populous district.
* 385 tehsil offices (FACTS.md section 4) spread over the 136 census districts in proportion to
  their census tehsils (``data/tehsils.csv``; largest remainders, at least one per district).
* 501 NSER registration centres ("over 500 ... at tehsil level", FACTS.md section 2; 501 is the
  smallest count that is over 500), spread the same way.

District, division and regional points are the district points of ``data/districts.csv``
(``point_on_surface`` of the district polygon; AJK and GB districts: the same, computed here from
``data/boundaries/pakistan_admin_2023.gpkg``). Tehsil offices and registration centres are placed
near their district's point with a seeded jitter: uniform in a disc of radius half that of a disc
of the district's area, redrawn (up to 50 times, else the district point) until it falls inside
the district's polygon. They are NOT the real addresses of BISP's offices.

Capacities and services per kind come from ``data/sites/capacity_assumptions.csv`` (each row an
ASSUMPTION with its basis). Every row carries ``illustrative = true``; a user's real list of
sites (``simulator.registry.sites.load``) replaces this table.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

HERE = Path(__file__).resolve().parent
DATA = HERE.parent
OUT = HERE / "sites_illustrative.csv"
SEED = 20260301
TEHSIL_OFFICES = 385
REGISTRATION_CENTRES = 501
DIVISIONS_OUTSIDE_CENSUS = ("Muzaffarabad", "Gilgit")
REGIONAL_DISTRICTS = {
    "PB": "pb_lahore", "SD": "sd_karachi_east", "KP": "kp_peshawar", "BA": "ba_quetta",
    "AJK": "ajk_muzaffarabad", "GB": "gb_gilgit",
}
KM_PER_DEG = 111.32


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def apportion(total: int, weights: np.ndarray, minimum: int = 1) -> np.ndarray:
    """``total`` split in proportion to ``weights`` by largest remainders, at least ``minimum``
    each; ties go to the earlier row."""
    quota = total * weights / weights.sum()
    n = np.maximum(np.floor(quota).astype(int), minimum)
    spare = total - int(n.sum())
    frac = quota - n
    if spare > 0:
        n[np.argsort(-frac, kind="stable")[:spare]] += 1
    elif spare < 0:
        order = [i for i in np.argsort(frac, kind="stable") if n[i] > minimum]
        n[order[:-spare]] -= 1
    assert n.sum() == total
    return n


def jittered(rng, polygon, lon: float, lat: float, area_km2: float, count: int) -> np.ndarray:
    """``count`` points near (lon, lat) inside ``polygon`` (see the module docstring)."""
    radius_km = 0.5 * np.sqrt(area_km2 / np.pi)
    out = np.empty((count, 2))
    for k in range(count):
        for _ in range(50):
            r = radius_km * np.sqrt(rng.random())
            theta = 2 * np.pi * rng.random()
            x = lon + r * np.cos(theta) / (KM_PER_DEG * np.cos(np.radians(lat)))
            y = lat + r * np.sin(theta) / KM_PER_DEG
            if polygon.contains(shapely.Point(x, y)):
                break
        else:
            x, y = lon, lat
        out[k] = (x, y)
    return out


def main() -> None:
    rng = np.random.default_rng(SEED)
    districts = pd.read_csv(DATA / "districts.csv").sort_values("district_id").reset_index(drop=True)
    tehsils = pd.read_csv(DATA / "tehsils.csv")
    capacity = pd.read_csv(HERE / "capacity_assumptions.csv").set_index("kind")
    outlines = gpd.read_file(DATA / "boundaries" / "pakistan_admin_2023.gpkg", layer="districts")
    outlines = outlines.set_index("district_id")
    points = districts.set_index("district_id")[["lon", "lat", "province_code", "district", "pop_2023"]]
    extra = outlines[~outlines.index.isin(points.index)]
    surface = shapely.point_on_surface(extra.geometry.values)
    points = pd.concat([points, pd.DataFrame({
        "lon": np.round(shapely.get_x(surface), 4), "lat": np.round(shapely.get_y(surface), 4),
        "province_code": extra.province_code.values, "district": extra.district.values,
        "pop_2023": 0}, index=extra.index)])

    rows: list[dict] = []

    def add(site_id: str, name: str, kind: str, district_id: str, lon: float, lat: float,
            placement: str) -> None:
        rows.append({
            "site_id": site_id, "name": name, "kind": kind,
            "lon": round(float(lon), 4), "lat": round(float(lat), 4),
            "services": capacity.loc[kind, "services"], "operator": "federal",
            "payments_per_day": int(capacity.loc[kind, "payments_per_day"]),
            "registrations_per_day": int(capacity.loc[kind, "registrations_per_day"]),
            "district_id": district_id, "province_code": points.loc[district_id, "province_code"],
            "illustrative": "true", "placement": placement,
        })

    def at_district(site_id: str, name: str, kind: str, district_id: str, placement: str) -> None:
        p = points.loc[district_id]
        add(site_id, name, kind, district_id, p.lon, p.lat, placement)

    at_district("bisp_hq", "BISP headquarters, Islamabad", "bisp_headquarters", "is_islamabad",
                "district point of Islamabad")
    for code, district_id in REGIONAL_DISTRICTS.items():
        at_district(f"bisp_ro_{code.lower()}", f"BISP regional office {code} (illustrative)",
                    "bisp_regional_office", district_id,
                    f"assumed at the district point of {points.loc[district_id, 'district']}")

    in_census = outlines[outlines.in_census_2023.astype(bool) | outlines.division.isin(DIVISIONS_OUTSIDE_CENSUS)]
    divisions = sorted(d for d in in_census.division.unique()
                       if d in DIVISIONS_OUTSIDE_CENSUS or outlines.loc[outlines.division == d, "in_census_2023"].astype(bool).all())
    assert len(divisions) == 33, len(divisions)
    for division in divisions:
        members = in_census[in_census.division == division]
        named = [i for i in members.index if slug(points.loc[i, "district"]) == slug(division)]
        if named:
            hq, how = named[0], "district named like the division"
        else:
            pops = points.loc[members.index, "pop_2023"]
            hq, how = pops.sort_values(ascending=False, kind="stable").index[0], "most populous district of the division"
        at_district(f"bisp_do_{slug(division)}", f"BISP divisional office {division} (illustrative)",
                    "bisp_divisional_office", hq, f"assumed at the district point of {points.loc[hq, 'district']} ({how})")

    per_district = tehsils.groupby("district_id").size().reindex(districts.district_id).to_numpy(float)
    for kind, total, prefix, label in (
        ("bisp_tehsil_office", TEHSIL_OFFICES, "bisp_to", "BISP tehsil office"),
        ("nser_registration_centre", REGISTRATION_CENTRES, "nser_rc", "NSER registration centre"),
    ):
        counts = apportion(total, per_district)
        for d, n in zip(districts.itertuples(), counts, strict=True):
            xy = jittered(rng, outlines.loc[d.district_id, "geometry"], d.lon, d.lat, d.area_sqkm, int(n))
            for k, (x, y) in enumerate(xy, start=1):
                add(f"{prefix}_{d.district_id}_{k}", f"{label} {d.district} {k} (illustrative)", kind,
                    d.district_id, x, y, "seeded jitter near the district point, inside the district")

    table = pd.DataFrame(rows)
    assert table.site_id.is_unique
    table.to_csv(OUT, index=False, lineterminator="\n")
    print(f"wrote {OUT.relative_to(DATA.parent)}: {len(table)} sites "
          f"{table.kind.value_counts().to_dict()}")


if __name__ == "__main__":
    main()
