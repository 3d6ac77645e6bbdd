"""Travel by road: a river crossed by one bridge makes the straight-line nearest site the far one
by road; hand-computed distances; files and bad input."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from hazards.errors import ScenarioError
from simulator.plans import delivery as dv
from simulator.plans import roads


def _lines():
    """West bank road at 67.9 E and east bank road at 68.1 E (24.5-26.5 N, a vertex every 0.5
    degree), a bridge between them at 26.0 N, and an island road with no site."""
    lats = [24.5, 25.0, 25.5, 26.0, 26.5]
    return [
        shapely.LineString([(67.9, y) for y in lats]),
        shapely.LineString([(68.1, y) for y in lats]),
        shapely.LineString([(67.9, 26.0), (68.1, 26.0)]),
        shapely.LineString([(70.0, 27.0), (70.1, 27.0)]),
    ]


SITES_LON, SITES_LAT = np.array([68.1, 67.9]), np.array([25.0, 25.5])  # A across the river, B up the bank


def test_the_bridge_decides_the_nearest_site_by_road():
    net = roads.from_lines(_lines())
    assert net.nodes == 12 and net.graph.nnz // 2 == 4 + 4 + 1 + 1
    # straight line: A (0.2 degree of longitude, about 20 km) is nearest
    straight = dv.assign([67.9], [25.0], SITES_LON, SITES_LAT)
    assert straight.site.tolist() == [0]
    # by road: A is up to the bridge and back (about 111 + 20 + 111 km); B is 0.5 degree up the bank
    by_road = roads.assign(net, [67.9], [25.0], SITES_LON, SITES_LAT)
    assert by_road.site.tolist() == [1]
    expected = dv.great_circle_km([67.9], [25.0], [67.9], [25.5])[0]
    assert by_road.distance_km[0] == pytest.approx(expected, rel=1e-5)
    # B closed: A by road, over the bridge (vertex to vertex along both banks)
    only_a = roads.assign(net, [67.9], [25.0], SITES_LON, SITES_LAT, usable=[True, False])
    legs = dv.great_circle_km([67.9, 67.9, 68.1], [25.0, 26.0, 26.0], [67.9, 68.1, 68.1], [26.0, 26.0, 25.0])
    assert only_a.site.tolist() == [0]
    assert only_a.distance_km[0] == pytest.approx(legs.sum(), rel=1e-5)


def test_access_legs_off_the_network_take_the_detour_factor():
    net = roads.from_lines(_lines())
    # a household 0.05 degree west of the west bank road's 25.0 N vertex
    got = roads.assign(net, [67.85], [25.0], SITES_LON, SITES_LAT, detour=1.3)
    access = dv.great_circle_km([67.85], [25.0], [67.9], [25.0])[0] * 1.3
    along = dv.great_circle_km([67.9], [25.0], [67.9], [25.5])[0]
    assert got.site.tolist() == [1]
    assert got.distance_km[0] == pytest.approx(access + along, rel=1e-5)


def test_household_on_a_road_without_sites_gets_none():
    net = roads.from_lines(_lines())
    got = roads.assign(net, [70.05, np.nan], [27.0, 25.0], SITES_LON, SITES_LAT)
    assert got.site.tolist() == [dv.NO_SITE, dv.NO_SITE] and np.isnan(got.distance_km).all()


def test_files_and_bad_input(tmp_path):
    path = tmp_path / "roads.gpkg"
    gpd.GeoDataFrame(geometry=_lines(), crs=4326).to_crs(32642).to_file(path)  # UTM 42N: reprojected back
    net = roads.load(path)
    assert net.nodes == 12
    assert roads.assign(net, [67.9], [25.0], SITES_LON, SITES_LAT).site.tolist() == [1]
    with pytest.raises(ScenarioError, match="row 2 is a 3 geometry, not a line"):
        roads.from_lines([_lines()[0], shapely.box(0, 0, 1, 1)])
    with pytest.raises(ScenarioError, match="no such road network file"):
        roads.load(tmp_path / "missing.gpkg")
    bare = tmp_path / "bare.gpkg"  # (GeoJSON is EPSG:4326 by definition; a GeoPackage may lack one)
    with pytest.warns(UserWarning, match="crs"):
        gpd.GeoDataFrame(geometry=_lines()).to_file(bare)
    with pytest.raises(ScenarioError, match="no CRS"):
        roads.load(bare)


def test_a_delivery_plan_travels_by_road(tmp_path):
    from types import SimpleNamespace

    import pandas as pd

    from simulator import scenario as scenario_mod
    from simulator.plans import delivery_plan
    from simulator.registry import sites as st

    sites = st.validate(pd.DataFrame({
        "site_id": ["A", "B"], "kind": ["bisp_tehsil_office"] * 2, "lon": SITES_LON, "lat": SITES_LAT,
        "services": ["payment"] * 2, "operator": ["federal"] * 2, "payments_per_day": [10, 10],
        "registrations_per_day": [0, 0], "province_code": ["SD"] * 2,
    }))
    n = 5
    done = delivery_plan.plan_delivery(
        scenario_mod.Delivery(campsites=None, far_limit_km=100), sites=sites, sites_input={}, layers=[],
        hazard_specs=[], lon=np.full(n, 67.9), lat=np.full(n, 25.0), weight=np.ones(n, np.int64),
        amount_pkr=np.full(n, 100, np.int64), federal_pkr=np.zeros(n, np.int64), payer=np.full(n, 2, np.int8),
        tier=np.ones(n, np.int8), district=np.zeros(n, np.int64), district_ids=pd.Index(["sd_a"]),
        district_province=np.array(["SD"]), instalments=[SimpleNamespace(day=0, share=1.0)],
        roads=roads.from_lines(_lines()),
    )
    assert set(done.columns()["site_id"].astype(str)) == {"B"}
    assert done.section["districts"][0]["within_25km"] == 0.0 and done.section["districts"][0]["max_km"] < 60
