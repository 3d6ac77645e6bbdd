"""Where the synthetic registry puts households: inside their own district's polygon, urban
households in towns at the census urban share, villages on habitable land, census tehsil codes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from hazards import tables as data
from simulator.registry import synthetic


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return synthetic.generate(200_000, seed=0)


def _inside_own_polygon(frame: pd.DataFrame) -> np.ndarray:
    outlines = data.outlines("districts").set_index("district_id")
    geoms = outlines.geometry.reindex(frame.district_id.astype(str)).to_numpy()
    return shapely.contains_xy(geoms, frame.lon.to_numpy(), frame.lat.to_numpy())


def test_every_household_lies_inside_its_own_district(frame):
    assert len(frame) == 200_000
    assert _inside_own_polygon(frame).all()


def test_every_household_lies_inside_its_own_district_second_seed():
    assert _inside_own_polygon(synthetic.generate(200_000, seed=7)).all()


def test_karachi_central_households_lie_in_karachi_central(frame):
    """Karachi Central (69 km2, 0.65 M households) was the worst case of the anchor method."""
    kc = frame[frame.district_id == "sd_karachi_central"]
    assert len(kc) > 2_000
    assert _inside_own_polygon(kc).all()


def _within(rows: pd.DataFrame, places: pd.DataFrame, district_id: str) -> np.ndarray:
    """Whether each household lies within the radius of one of ``places``."""
    coslat = np.cos(np.radians(data.districts().set_index("district_id").lat[district_id]))
    dx = (rows.lon.to_numpy()[:, None] - places.lon.to_numpy()[None]) * synthetic.KM_PER_DEG * coslat
    dy = (rows.lat.to_numpy()[:, None] - places.lat.to_numpy()[None]) * synthetic.KM_PER_DEG
    return (np.hypot(dx, dy) <= places.radius_km.to_numpy()[None] * 1.01 + 0.01).any(axis=1)


def test_towns_are_denser_than_the_countryside(frame):
    """Households per km2 in Dadu's towns are over 20 times the district's average."""
    places = synthetic.settlements("sd_dadu", seed=0)
    towns = places[places.kind == "town"]
    rows = frame[frame.district_id == "sd_dadu"]
    in_town = _within(rows, towns, "sd_dadu")
    town_density = in_town.sum() / (np.pi * towns.radius_km**2).sum()
    district_density = len(rows) / data.districts().set_index("district_id").area_sqkm["sd_dadu"]
    assert town_density > 20 * district_density
    # One village per 150 rural census households
    table = data.districts().set_index("district_id")
    rural = table.households_2023["sd_dadu"] * (1 - table.urban_pct["sd_dadu"] / 100)
    assert (places.kind == "village").sum() == int(np.ceil(rural / synthetic.HOUSEHOLDS_PER_VILLAGE))


def test_urban_share_per_district_matches_the_census(frame):
    """Urban = within a town's radius of its centre. Tolerance: 4 binomial standard deviations
    plus 2 points (villages stay outside towns, but their households may spill over an edge)."""
    table = data.districts().set_index("district_id")
    for district_id, rows in frame.groupby("district_id", observed=True):
        towns = synthetic.settlements(district_id, seed=0).query("kind == 'town'")
        in_town = _within(rows, towns, district_id)
        p = table.urban_pct[district_id] / 100.0
        sd = np.sqrt(p * (1 - p) / len(rows))
        assert abs(in_town.mean() - p) <= 4 * sd + 0.02, district_id


def test_households_live_low_in_mountain_districts(frame):
    """Settlements favour low, flat land: in mountain districts the households' median
    elevation is well below the median of points spread uniformly over the district."""
    for district_id in ["kp_upper_chitral", "kp_swat", "ba_zhob"]:
        rows = frame[frame.district_id == district_id]
        elev_households, _ = synthetic._terrain_at(rows.lon.to_numpy(), rows.lat.to_numpy())
        d = int(pd.Index(data.districts().district_id).get_loc(district_id))
        sites = synthetic._sites(d)
        elev_uniform, _ = synthetic._terrain_at(sites.lon, sites.lat)
        assert np.median(elev_households) < np.median(elev_uniform) - 100, district_id


def test_tehsil_shares_match_the_census(frame):
    """Every household carries a tehsil of its own district; shares within each district are
    within 4.5 binomial standard deviations of the census households (591 tehsils)."""
    tehsils = synthetic.tehsils()
    assert frame.tehsil_id.notna().all()
    assert frame.tehsil_id.isin(set(tehsils.tehsil_id)).all()
    assert (frame.tehsil_id.str.split("__").str[0] == frame.district_id.astype(str)).all()
    got = tehsils.tehsil_id.map(frame.tehsil_id.value_counts()).fillna(0).to_numpy()
    per_district = tehsils.groupby("district_id").households.transform("sum").to_numpy()
    n = pd.Series(got).groupby(tehsils.district_id.to_numpy()).transform("sum").to_numpy()
    p = tehsils.households.to_numpy() / per_district
    sd = np.sqrt(p * (1 - p) / np.maximum(n, 1))
    assert (np.abs(got / np.maximum(n, 1) - p) <= 4.5 * sd + 1e-9).all()


def test_tehsil_table_is_consistent():
    tehsils = synthetic.tehsils()
    assert len(tehsils) == 591 and tehsils.tehsil_id.is_unique
    assert set(tehsils.district_id) == set(data.districts().district_id)
    assert (tehsils.tehsil_id.str.split("__").str[0] == tehsils.district_id).all()
    assert (tehsils.households > 0).all()


def test_places_are_seeded_and_chunk_independent():
    a = synthetic.generate(30_000, seed=5)
    b = pd.concat(list(synthetic.generate_chunks(30_000, seed=5, chunk_size=4_000)), ignore_index=True)
    pd.testing.assert_frame_equal(a, b)
    c = synthetic.generate(30_000, seed=5)
    pd.testing.assert_frame_equal(a, c)
    d = synthetic.generate(30_000, seed=6)
    assert not np.array_equal(a.lon.to_numpy(), d.lon.to_numpy())


def test_a_small_registry_samples_the_same_settlements():
    """The settlement pattern depends on the seed and district only, not on the registry size."""
    small = synthetic.generate(5_000, seed=3)
    villages = synthetic.settlements("sd_dadu", seed=3)
    rows = small[small.district_id == "sd_dadu"]
    assert len(rows) > 20
    assert _within(rows, villages, "sd_dadu").all()
