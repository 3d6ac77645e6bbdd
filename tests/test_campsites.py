"""Campsites per province: demand beyond the limit or over capacity, the capacitated location set
covering MILP, and the rows for the sites table. Tiny synthetic inputs, hand-computed answers."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hazards.errors import ScenarioError
from simulator.plans import campsites as cs
from simulator.plans import delivery as dv
from simulator.registry import sites as st

KM_PER_DEG = dv.EARTH_RADIUS_KM * np.pi / 180.0  # 111.1951 km per degree of arc


def _points(lon, lat, households, province="SD", source="beyond_limit"):
    """Demand points as campsites.demand returns them."""
    n = len(lon)
    return pd.DataFrame({
        "province_code": [province] * n if isinstance(province, str) else list(province),
        "lon": np.asarray(lon, float), "lat": np.asarray(lat, float),
        "households": np.asarray(households, float), "source": source, "site": -1,
    })


def _demand_from_sites(lon, lat, province, site_lon, site_lat, capacity, *, weight=None, max_days=14,
                       reopen_day=None, site_province=None):
    got = dv.assign(lon, lat, site_lon, site_lat)
    return cs.demand(lon, lat, province, got.distance_km, got.site, site_lon=site_lon, site_lat=site_lat,
                     site_capacity=capacity, weight=weight, max_days=max_days, reopen_day=reopen_day,
                     site_province=site_province)


# ---------------------------------------------------------------------------------------------
# Demand
# ---------------------------------------------------------------------------------------------


def test_households_100_km_away_get_one_campsite_that_serves_them_all():
    # one site at 67 E 25 N; ten households about 1 degree of longitude east at 25 N:
    # 1 x 111.2 x cos(25) = 100.8 km, x 1.3 = 131 km of travel > 25 km: all ten are demand
    rng = np.random.default_rng(0)
    lon = 68.0 + rng.uniform(-0.005, 0.005, 10)  # within about 0.5 km: one 10 km cell
    lat = 25.0 + rng.uniform(-0.005, 0.005, 10)
    points = _demand_from_sites(lon, lat, ["SD"] * 10, [67.0], [25.0], [500])
    assert len(points) == 10 and (points.source == "beyond_limit").all()
    assert points.households.sum() == 10
    got = cs.choose(points, payments_per_day=500, registrations_per_day=40)
    assert len(got.sites) == 1
    camp = got.sites.iloc[0]
    assert camp.campsite_id == "camp_SD_1" and camp.province_code == "SD"
    # at the households' centroid: within a km of 68 E 25 N
    assert dv.great_circle_km([camp.lon], [camp.lat], [68.0], [25.0])[0] < 1.0
    assert camp.demand_households == pytest.approx(10.0)
    assert camp.days == 1  # ceil(10 / 500)
    assert camp.reason == "beyond_limit"
    prov = got.provinces.iloc[0]
    assert prov.demand_households == 10 and prov.covered_households == pytest.approx(10.0)
    assert prov.uncovered_households == pytest.approx(0.0) and prov.campsites == 1
    assert prov.status == "optimal" and got.method == cs.METHOD


def test_two_clusters_200_km_apart_need_two_campsites():
    # 2 degrees of longitude at 25 N = 2 x 111.2 x cos(25) = 201.6 km: no campsite reaches both
    points = _points([68.0, 68.001, 70.0, 70.001], [25.0, 25.0, 25.0, 25.0], [5, 5, 7, 7])
    got = cs.choose(points, payments_per_day=500, registrations_per_day=40)
    assert len(got.sites) == 2
    assert sorted(got.sites.demand_households.round(6)) == [10.0, 14.0]
    assert sorted(got.sites.lon.round(0)) == [68.0, 70.0]
    assert got.provinces.covered_households.iloc[0] == pytest.approx(24.0)


def test_clusters_within_reach_share_one_campsite():
    # 0.1 degree of longitude at 25 N = 10.1 km apart (x 1.3 = 13.1 km < 25 km); one campsite
    # at either point serves both (each cell is a single point: radius 0)
    points = _points([68.0, 68.1], [25.0, 25.0], [5, 5])
    got = cs.choose(points, payments_per_day=500, registrations_per_day=40)
    assert len(got.sites) == 1 and got.sites.demand_households.iloc[0] == pytest.approx(10.0)


def test_demand_over_one_campsites_capacity_gets_several_campsites():
    # capacity of a campsite: 10 payments a day x 5 days = 50 households; 120 households at one
    # point need ceil(120 / 50) = 3 campsites, side by side, 40 households each (4 days)
    points = _points([68.0, 68.0, 68.0], [25.0, 25.0, 25.0], [40, 40, 40])
    got = cs.choose(points, payments_per_day=10, registrations_per_day=4, max_days=5)
    assert len(got.sites) == 3
    assert got.sites.campsite_id.tolist() == ["camp_SD_1", "camp_SD_2", "camp_SD_3"]
    assert got.sites.demand_households.tolist() == pytest.approx([40.0, 40.0, 40.0])
    assert got.sites.days.tolist() == [4, 4, 4]
    assert (got.sites.days <= 5).all()
    # as a sites table they are one site with three campsites' capacity
    rows = cs.as_sites(got)
    assert len(rows) == 1
    assert rows.payments_per_day.iloc[0] == 30 and rows.registrations_per_day.iloc[0] == 12
    assert rows.name.iloc[0] == "Campsite SD 1 (3 campsites)"


def test_an_overloaded_site_gets_a_campsite_for_its_excess():
    # 1000 households at the site, 50 payments a day, 10 days: 500 paid in time, 500 in excess
    lon, lat = np.full(1000, 67.0), np.full(1000, 25.0)
    points = _demand_from_sites(lon, lat, ["SD"] * 1000, [67.0], [25.0], [50], max_days=10)
    assert len(points) == 1
    row = points.iloc[0]
    assert row.source == "overload" and row.site == 0 and row.households == 500
    assert (row.lon, row.lat, row.province_code) == (67.0, 25.0, "SD")
    # a campsite of 50 a day pays 50 x 10 = 500 in 10 days: one campsite beside the site
    got = cs.choose(points, payments_per_day=50, registrations_per_day=5, max_days=10)
    assert len(got.sites) == 1
    camp = got.sites.iloc[0]
    assert camp.reason == "overload" and camp.days == 10
    assert camp.demand_households == pytest.approx(500.0) and camp.overload_households == pytest.approx(500.0)
    assert dv.great_circle_km([camp.lon], [camp.lat], [67.0], [25.0])[0] < 1e-6


def test_a_site_reopening_late_has_fewer_days_so_more_excess():
    # reopens on day 4 of 10: 6 days x 50 = 300 paid in time, 1000 - 300 = 700 in excess
    lon, lat = np.full(10, 67.0), np.full(10, 25.0)
    points = _demand_from_sites(lon, lat, ["SD"] * 10, [67.0], [25.0], [50], weight=np.full(10, 100),
                                max_days=10, reopen_day=[4])
    assert points.households.tolist() == [700.0]


def test_overloaded_site_takes_its_own_province_else_that_of_most_households():
    # 3 households of BA and 1 of SD at a site of capacity 1 a day over 1 day: excess 3
    lon, lat = np.full(4, 67.0), np.full(4, 25.0)
    prov = ["BA", "BA", "BA", "SD"]
    points = _demand_from_sites(lon, lat, prov, [67.0], [25.0], [1], max_days=1)
    assert points.province_code.tolist() == ["BA"] and points.households.tolist() == [3.0]
    points = _demand_from_sites(lon, lat, prov, [67.0], [25.0], [1], max_days=1,
                                site_province=pd.Series(["SD"], index=[7]))
    assert points.province_code.tolist() == ["SD"]


def test_households_served_in_time_within_the_limit_make_no_demand_and_no_campsites():
    # 0.1 degree of latitude from the site = 11.1 km, x 1.3 = 14.5 km < 25 km; 20 households at
    # 500 a day: paid on day 1
    lon, lat = np.full(20, 67.0), np.full(20, 25.1)
    points = _demand_from_sites(lon, lat, ["SD"] * 20, [67.0], [25.0], [500])
    assert points.empty and points.columns.tolist() == cs.DEMAND_COLUMNS
    got = cs.choose(points, payments_per_day=500, registrations_per_day=40)
    assert got.sites.empty and got.sites.columns.tolist() == cs.SITE_COLUMNS
    assert got.provinces.empty and got.provinces.columns.tolist() == cs.PROVINCE_COLUMNS
    rows = cs.as_sites(got)
    assert rows.empty and rows.columns.tolist() == cs.SITES_TABLE_COLUMNS


def test_unpaid_households_make_no_demand():
    points = _demand_from_sites([68.0, 68.0], [25.0, 25.0], ["SD", "SD"], [67.0], [25.0], [500],
                                weight=[0, 3])
    assert points.households.tolist() == [3.0]


# ---------------------------------------------------------------------------------------------
# Provinces, caps, errors
# ---------------------------------------------------------------------------------------------


def test_provinces_are_served_separately():
    # one point of SD and one of BA 100 m apart: each province opens its own campsite
    points = _points([68.0, 68.001, 66.0], [25.0, 25.0, 28.0], [4, 6, 8], province=["SD", "BA", "BA"])
    got = cs.choose(points, payments_per_day=500, registrations_per_day=40)
    assert sorted(got.sites.campsite_id) == ["camp_BA_1", "camp_BA_2", "camp_SD_1"]
    by = got.sites.groupby("province_code").demand_households.sum()
    assert by["SD"] == pytest.approx(4.0) and by["BA"] == pytest.approx(14.0)
    assert got.provinces.province_code.tolist() == ["BA", "SD"]
    assert got.provinces.campsites.tolist() == [2, 1]


def test_a_cap_per_province_serves_the_largest_demand_first():
    # at most one campsite: capacitated maximal covering serves the cluster of 20, not that of 10
    points = _points([68.0, 70.0], [25.0, 25.0], [10, 20])
    got = cs.choose(points, payments_per_day=500, registrations_per_day=40, max_per_province=1)
    assert len(got.sites) == 1 and got.sites.lon.iloc[0] == pytest.approx(70.0)
    prov = got.provinces.iloc[0]
    assert prov.covered_households == pytest.approx(20.0) and prov.uncovered_households == pytest.approx(10.0)
    assert got.method.startswith(cs.METHOD_CAPPED)


def test_capacity_defaults_come_from_the_shipped_assumptions():
    pay, reg = cs.campsite_capacity()
    table = st.capacity_assumptions().set_index("kind")
    assert pay == table.loc["campsite", "payments_per_day"] == 500
    assert reg == table.loc["bisp_tehsil_office", "registrations_per_day"] == 40
    got = cs.choose(_points([68.0], [25.0], [1]))
    assert got.payments_per_day == 500 and got.sites.payments_per_day.tolist() == [500]


@pytest.mark.parametrize(("options", "match"), [
    ({"grid_km": 30.0}, "grid_km < 27.2"),
    ({"grid_km": 0.0}, "grid_km 0.0 must be > 0"),
    ({"max_days": 0}, "max_days 0 must be >= 1"),
    ({"limit_km": -1.0}, "limit_km -1.0 must be > 0"),
    ({"detour": 0.9}, "detour factor 0.9 must be >= 1"),
    ({"payments_per_day": 0}, "payments_per_day 0 must be >= 1"),
    ({"max_per_province": -1}, "max_per_province -1 must be >= 0"),
    ({"time_limit_s": 0}, "time_limit_s 0 must be > 0"),
])
def test_bad_parameters_are_refused_with_the_valid_range(options, match):
    with pytest.raises(ScenarioError, match=match):
        cs.choose(_points([68.0], [25.0], [1]), **{"payments_per_day": 500, "registrations_per_day": 40,
                                                   **options})


def test_demand_points_without_a_column_are_refused():
    with pytest.raises(ScenarioError, match=r"lack columns \['households'\]"):
        cs.choose(pd.DataFrame({"province_code": ["SD"], "lon": [68.0], "lat": [25.0]}),
                  payments_per_day=500, registrations_per_day=40)


def test_demand_arrays_of_unequal_length_are_refused():
    with pytest.raises(ScenarioError, match="equal lengths"):
        cs.demand([68.0], [25.0], ["SD"], [np.nan, 1.0], [-1], site_lon=[67.0], site_lat=[25.0],
                  site_capacity=[500])


# ---------------------------------------------------------------------------------------------
# Back to the sites table and delivery
# ---------------------------------------------------------------------------------------------


def _spread_cluster(n=400, seed=3):
    """n households spread over about 60 x 60 km around 68.5 E 26 N (far from the site at 67 E)."""
    rng = np.random.default_rng(seed)
    return 68.5 + rng.uniform(-0.3, 0.3, n), 26.0 + rng.uniform(-0.27, 0.27, n)


def _site_table():
    return pd.DataFrame({
        "site_id": ["office"], "name": ["Tehsil office"], "kind": ["bisp_tehsil_office"],
        "lon": [67.0], "lat": [26.0], "services": ["payment;registration;complaints"],
        "operator": ["federal"], "payments_per_day": [500], "registrations_per_day": [40],
        "province_code": ["SD"], "illustrative": [True],
    })


def test_as_sites_rows_validate_as_campsites():
    lon, lat = _spread_cluster()
    points = _demand_from_sites(lon, lat, ["SD"] * len(lon), [67.0], [26.0], [500])
    got = cs.choose(points)
    rows = cs.as_sites(got)
    checked = st.validate(rows, source="campsites")
    assert checked.quarantine.empty and len(checked.sites) == len(rows) >= 1
    assert (checked.sites.kind == "campsite").all() and (checked.sites.operator == "provincial").all()
    assert checked.sites.offers_payment.all() and checked.sites.offers_registration.all()
    assert checked.sites.payments_per_day.sum() == 500 * len(got.sites)
    assert rows.placement.iloc[0] == f"chosen by {got.method} over 10 km demand grid"
    assert rows.illustrative.all() and (rows.province_code == "SD").all()


def test_after_adding_the_campsites_every_far_household_is_within_the_limit():
    lon, lat = _spread_cluster()
    base = st.validate(_site_table(), source="test").sites
    before = dv.assign(lon, lat, base.lon, base.lat)
    assert (before.distance_km > dv.FAR_LIMIT_KM).all()  # 1.5 degrees away: about 150 km
    points = cs.demand(lon, lat, ["SD"] * len(lon), before.distance_km, before.site, site_lon=base.lon,
                       site_lat=base.lat, site_capacity=base.payments_per_day)
    got = cs.choose(points)
    # 400 households fit one campsite's capacity (7000); reach, not capacity, sets the count:
    # the cluster is about 60 km across and a campsite reaches 25 / 1.3 = 19.2 km around it
    assert len(got.sites) >= 2
    assert got.provinces.covered_households.iloc[0] == pytest.approx(400.0)
    table = st.validate(pd.concat([_site_table(), cs.as_sites(got)], ignore_index=True), source="test")
    assert table.quarantine.empty
    usable = dv.payment_sites(table.sites.offers_payment, table.sites.payments_per_day)
    after = dv.assign(lon, lat, table.sites.lon, table.sites.lat, usable=usable)
    assert (after.distance_km <= dv.FAR_LIMIT_KM).all()
    assert (after.site >= 1).all()  # every household now goes to a campsite
    plan = dv.schedule(after.site, np.full(len(lon), 25_000), [(0, 1.0)], table.sites.payments_per_day)
    assert plan.sites.last_day.max() < cs.MAX_DAYS


#: Two solves on two threads overlapping, then one on the main thread writing a stray line at
#: the C level, then the process's own output (what the app benchmark does, in small).
_OVERLAP = textwrap.dedent("""
    import os, threading
    from simulator.plans import campsites as cs
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    def a():
        with cs._solver_output_to_log():
            a_in.set(); b_in.wait()
        a_out.set()
    def b():
        a_in.wait()
        with cs._solver_output_to_log():
            b_in.set(); print("said while a background solve runs", flush=True); a_out.wait()
    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    [t.start() for t in threads]; [t.join() for t in threads]
    with cs._solver_output_to_log():
        os.write(1, b"HighsMipSolverData stray line\\n")
    print('{"figures": 1}')
""")


def test_solver_output_is_kept_from_stdout_and_background_solves_leave_it_alone():
    """Solves on background threads (the app's delivery plans) never move the process's stdout
    (two of them, restoring out of order, once left it on a closed temporary file: a JSON line
    printed after was lost); a solve on the main thread keeps the solver's stray line out."""
    out = subprocess.run([sys.executable, "-c", _OVERLAP], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert out.stdout.splitlines() == ["said while a background solve runs", '{"figures": 1}']
