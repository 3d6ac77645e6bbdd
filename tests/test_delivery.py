"""Delivery sites, closures, assignment and the payment schedule: tiny cases with hand-computed
answers, the shipped illustrative table, and exact money reconciliation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from affine import Affine

from hazards.errors import DataFileError, RegistryError, ScenarioError
from hazards.layer import make_layer
from simulator.engine.payouts import instalment_split
from simulator.plans import delivery as dv
from simulator.registry import sites as st

KM_PER_DEG = dv.EARTH_RADIUS_KM * np.pi / 180.0  # 111.1951 km per degree of arc


def _flood():
    """2x2 cells of 1 degree from 67 E, 26 N: 2 m of water in the north-west cell, dry elsewhere."""
    values = np.array([[2.0, 0.0], [0.0, 0.0]], dtype=np.float32)
    return make_layer(values, Affine(1.0, 0.0, 67.0, 0.0, -1.0, 26.0), "EPSG:4326", units="m",
                      kind="riverine-flood", provenance={"test": "delivery"})


# ---------------------------------------------------------------------------------------------
# Closures and assignment
# ---------------------------------------------------------------------------------------------


def test_site_in_the_flood_is_closed_and_its_household_goes_to_the_next_nearest():
    # sites: A in the flooded cell, B 1 degree east (dry), C 1 degree south (dry)
    site_lon, site_lat = np.array([67.5, 68.5, 67.5]), np.array([25.5, 25.5, 24.5])
    intensity = dv.site_intensity(_flood(), site_lon, site_lat)
    assert intensity.shape == (1, 3) and intensity[0, 0] == 2.0
    # tiers start at 0.1, 0.5 and 1.5 m: A (2 m) is tier 3 >= severely_affected (2): closed
    shut = dv.closures(intensity, [0.1, 0.5, 1.5], min_tier="severely_affected")
    assert shut.tier.tolist() == [3, 0, 0]
    assert shut.closed.tolist() == [True, False, False]
    assert shut.reopen_day[0] == dv.CLOSED_FOR_RESPONSE
    usable = dv.payment_sites([True, True, True], [100, 100, 100], shut)
    # the household 0.1 degree east of A: A would be nearest; B is 0.9 degree of longitude away
    # at 25.5 N (about 90 km), C about 1 degree of latitude (111 km): B
    before = dv.assign([67.6], [25.5], site_lon, site_lat)
    after = dv.assign([67.6], [25.5], site_lon, site_lat, usable=usable)
    assert before.site.tolist() == [0]
    assert after.site.tolist() == [1]
    expected = dv.great_circle_km([67.6], [25.5], [68.5], [25.5])[0] * dv.DETOUR_FACTOR
    assert after.distance_km[0] == pytest.approx(expected, rel=1e-6)


def test_closure_for_a_stated_number_of_days_delays_payment():
    shut = dv.closures([2.0, 0.0], [0.1, 0.5, 1.5], min_tier=3, days=7)
    assert shut.reopen_day.tolist() == [7, 0]
    assert shut.open_for_response.all()  # still assigned to, paid from day 7
    plan = dv.schedule([0, 1], [1000, 1000], [(0, 1.0)], [10, 10], reopen_day=shut.reopen_day)
    assert plan.sites.start_day.tolist() == [7, 0]


def test_closure_rule_errors():
    with pytest.raises(ScenarioError, match="not one of"):
        dv.closures([1.0], [0.1, 0.5, 1.5], min_tier="flooded")
    with pytest.raises(ScenarioError, match="must be 1, 2 or 3"):
        dv.closures([1.0], [0.1, 0.5, 1.5], min_tier=0)


def test_distance_and_detour_factor():
    # 0.1 degree of longitude on the equator is 0.1 degree of arc: 11.1195 km straight
    straight = dv.assign([0.1], [0.0], [0.0], [0.0], detour=1.0)
    assert straight.distance_km[0] == pytest.approx(0.1 * KM_PER_DEG, rel=1e-6)
    assert straight.distance_km[0] == pytest.approx(11.1195, abs=1e-3)
    # with the default detour factor 1.3: 14.4554 km of travel
    travel = dv.assign([0.1], [0.0], [0.0], [0.0])
    assert travel.distance_km[0] == pytest.approx(1.3 * 11.1195, abs=2e-3)
    with pytest.raises(ScenarioError, match=">= 1"):
        dv.assign([0.1], [0.0], [0.0], [0.0], detour=0.9)


def test_nearest_is_great_circle_nearest_and_no_site_is_flagged():
    # at 35 N, 1 degree of longitude (91 km) is shorter than 0.9 degree of latitude (100 km)
    got = dv.assign([70.0, 70.0], [35.0, 35.0], [71.0, 70.0], [35.0, 35.9], usable=[True, True])
    assert got.site.tolist() == [0, 0]
    none = dv.assign([70.0, np.nan], [35.0, 30.0], [71.0], [35.0], usable=[False])
    assert none.site.tolist() == [dv.NO_SITE, dv.NO_SITE] and np.isnan(none.distance_km).all()


def test_distance_shares_per_district():
    # district 0: travel 3, 7, 20 and 40 km; district 1: one household without a site
    district = np.array([0, 0, 0, 0, 1])
    km = np.array([3.0, 7.0, 20.0, 40.0, np.nan])
    table = dv.distance_summary(district, km, 2)
    assert table.loc[0, "within_5km"] == 0.25  # 3 km
    assert table.loc[0, "within_10km"] == 0.5  # 3, 7
    assert table.loc[0, "within_25km"] == 0.75  # 3, 7, 20
    assert table.loc[0, "beyond_limit"] == 1  # 40 > 25 km
    assert table.loc[0, "mean_km"] == pytest.approx(17.5) and table.loc[0, "max_km"] == 40.0
    assert table.loc[1, "no_site"] == 1 and table.loc[1, "beyond_limit"] == 1
    assert table.loc[1, "within_25km"] == 0.0
    assert dv.far_households(km).tolist() == [False, False, False, True, True]
    # weights: the 3 km row standing for 5 households gives 5/8 within 5 km
    weighted = dv.distance_summary(district, km, 2, weight=[5, 1, 1, 1, 1])
    assert weighted.loc[0, "within_5km"] == pytest.approx(5 / 8)


# ---------------------------------------------------------------------------------------------
# Schedule
# ---------------------------------------------------------------------------------------------


def test_capacity_sets_the_days():
    # 1,000 households at 200 a day: days 0-4, 5 days; staff: 200 / 100 per staff-day = 2 a day
    plan = dv.schedule(np.zeros(1000, int), np.full(1000, 25_000), [(0, 1.0)], [200],
                       district=np.zeros(1000, int), n_districts=1)
    assert plan.sites.days.tolist() == [5]
    assert plan.sites.last_day.tolist() == [4]
    assert plan.per_day.households.tolist() == [200] * 5
    assert plan.per_day.cash_pkr.tolist() == [5_000_000] * 5
    assert plan.per_day.staff_days.tolist() == [2] * 5
    assert plan.districts.last_day.tolist() == [4] and plan.districts.days.tolist() == [5]


def test_second_instalment_waits_for_the_first_at_a_site():
    # 300 at 100 a day: instalment 1 on days 0-2; instalment 2 due on day 1 starts on day 3
    plan = dv.schedule(np.zeros(300, int), np.full(300, 10_000), [(0, 0.5), (1, 0.5)], [100])
    assert plan.sites.start_day.tolist() == [0, 3]
    assert plan.instalments.last_day.tolist() == [2, 5]


def test_money_reconciles_exactly():
    rng = np.random.default_rng(7)
    n = 5_000
    site = rng.integers(-1, 40, n)  # -1: no site
    amount = rng.integers(0, 60_001, n)
    weight = rng.integers(1, 300, n)
    inst = [(0, 0.3333), (30, 0.3333), (60, 0.3334)]
    district = rng.integers(0, 12, n)
    plan = dv.schedule(site, amount, inst, rng.integers(50, 500, 40), weight=weight,
                       reopen_day=rng.integers(0, 10, 40), district=district, n_districts=12)
    split = instalment_split(amount, [s for _, s in inst])
    placed = (site >= 0) & (amount > 0)
    for k in range(3):
        cash = plan.per_day[plan.per_day.instalment == k + 1].cash_pkr
        assert cash.dtype == np.int64
        assert int(cash.sum()) == int(split[k][placed].sum())
        assert int(plan.instalments.amount_pkr[k] + plan.instalments.unassigned_pkr[k]) == int(split[k].sum())
        assert int(plan.districts[plan.districts.instalment == k + 1].amount_pkr.sum()) == int(split[k][placed].sum())
        per_site = plan.per_day[plan.per_day.instalment == k + 1].groupby("site").households.sum()
        assert (per_site.to_numpy() == plan.sites[plan.sites.instalment == k + 1].households.to_numpy()).all()
    assert int(plan.per_day.households.sum()) == 3 * int(weight[placed].sum())
    assert (plan.per_day.cash_pkr >= 0).all()


def test_household_at_a_closed_site_is_refused():
    with pytest.raises(RegistryError, match="usable=payment_sites"):
        dv.schedule([0], [100], [(0, 1.0)], [10], reopen_day=[dv.CLOSED_FOR_RESPONSE])


# ---------------------------------------------------------------------------------------------
# Sites tables
# ---------------------------------------------------------------------------------------------

HEADER = "site_id,kind,lon,lat,services,operator,payments_per_day,registrations_per_day\n"


def test_bad_site_rows_are_quarantined(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text(
        HEADER
        + "a,campsite,67.0,25.0,payment,federal,200,0\n"  # row 1: good
        + ",campsite,67.0,25.0,payment,federal,200,0\n"  # row 2: missing id
        + "b,castle,67.0,25.0,payment,federal,200,0\n"  # row 3: bad kind
        + "c,campsite,200.0,25.0,payment,federal,200,0\n"  # row 4: bad coordinates
        + "d,campsite,67.0,25.0,payment,federal,-5,0\n"  # row 5: negative capacity
        + "a,bank_branch,67.1,25.1,payment,provincial,100,0\n"  # row 6: duplicate id
        + "e,campsite,25.0,67.0,payment;complaints,federal,,0\n",  # row 7: swapped (blank: default)
        encoding="utf-8",
    )
    got = st.load(path)
    assert got.sites.site_id.tolist() == ["a"]
    reasons = dict(zip(got.quarantine.row, got.quarantine.reason, strict=True))
    assert reasons == {
        2: "missing_site_id", 3: "unknown_kind", 4: "coords_outside_pakistan",
        5: "negative_payments_per_day;payment_without_capacity", 6: "duplicate_id", 7: "coords_swapped",
    }
    assert got.report.rows_read == 7 and got.report.rows_valid + got.report.rows_quarantined == 7
    assert any("blank cell" in note for note in got.report.notes)


def test_missing_column_and_file_errors(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text("site_id,kind,lon,lat\na,campsite,67,25\n", encoding="utf-8")
    with pytest.raises(RegistryError, match=r"sites.csv: required columns \['services', 'operator'\]"):
        st.load(path)
    with pytest.raises(RegistryError, match="no such sites file"):
        st.load(tmp_path / "absent.csv")
    with pytest.raises(RegistryError, match="unsupported sites format"):
        (tmp_path / "sites.xlsx").write_text("x")
        st.load(tmp_path / "sites.xlsx")


def test_geopackage_points_are_reprojected_and_need_a_crs(tmp_path):
    gpd = pytest.importorskip("geopandas")
    import shapely

    frame = pd.DataFrame({"id": ["a", "b"], "kind": ["campsite", "bank_agent"],
                          "services": ["payment", "payment"], "operator": ["federal", "provincial"]})
    points = gpd.GeoSeries(shapely.points([67.0, 70.0], [25.0, 30.0]), crs=4326).to_crs(3857)
    gpd.GeoDataFrame(frame, geometry=points).to_file(tmp_path / "sites.gpkg")
    got = st.load(tmp_path / "sites.gpkg")
    assert got.sites.site_id.tolist() == ["a", "b"]
    assert got.sites.lon.to_numpy() == pytest.approx([67.0, 70.0])
    assert got.sites.payments_per_day.tolist() == [500, 50]  # assumed defaults by kind, noted
    assert any("absent" in note for note in got.report.notes)
    gpd.GeoDataFrame(frame, geometry=shapely.points([67.0, 70.0], [25.0, 30.0])).to_parquet(tmp_path / "s.parquet")
    with pytest.raises(RegistryError, match="no CRS"):
        st.load(tmp_path / "s.parquet")


def test_illustrative_table_validates_with_the_stated_counts():
    got = st.load()
    assert got.report.rows_quarantined == 0 and got.quarantine.empty
    counts = got.sites.kind.value_counts()
    assert counts["bisp_headquarters"] == 1
    assert counts["bisp_regional_office"] == 6
    assert counts["bisp_divisional_office"] == 33
    assert counts["bisp_tehsil_office"] == 385
    assert counts["nser_registration_centre"] > 500
    assert got.sites.illustrative.all()
    assert got.sites.site_id.is_unique
    assert (got.sites.offers_payment == (got.sites.payments_per_day > 0)).all()


def test_illustrative_path_missing_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("MADAD_DATA", str(tmp_path))
    with pytest.raises(DataFileError, match="build_sites.py"):
        st.illustrative_path()


def test_every_district_reaches_a_payment_site_in_the_illustrative_table():
    from hazards import tables

    got = st.load().sites
    table = tables.districts()
    usable = dv.payment_sites(got.offers_payment, got.payments_per_day)
    a = dv.assign(table.lon, table.lat, got.lon, got.lat, usable=usable)
    assert (a.site >= 0).all()
    assert got.offers_payment.to_numpy()[a.site].all()
    assert np.nanmax(a.distance_km) < 300  # every district point has a tehsil office nearby
