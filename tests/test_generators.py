"""Hazard generators: defaults, seeds, physical sanity, the dispatcher and the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from typer.testing import CliRunner

from hazards import generators as g
from hazards import tables as data
from hazards.errors import HazardError
from hazards.io import read_geotiff
from hazards.layer import bounds_of, make_layer, transform_of
from simulator.cli.hazard import hazard_app, parse_bbox, parse_value

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
GLOBE = SHARED / "dem_globe_30arcsec_pakistan.tif"
RES = 1.0 / 120.0

UNITS = {
    "riverine-flood": "m",
    "flash-flood": "mm",
    "heatwave": "degC",
    "drought": "index",
    "earthquake": "g",
    "cyclone": "m/s",
}
#: Small extents where each kind has something to show (lon_min, lat_min, lon_max, lat_max).
SMALL = {
    "riverine-flood": (67.9, 25.0, 68.6, 25.6),  # the Indus at Kotri
    "flash-flood": (72.0, 34.4, 72.6, 35.0),  # Swat
    "heatwave": (67.8, 27.8, 68.6, 28.6),  # Jacobabad
    "drought": (69.5, 24.4, 70.5, 25.2),  # Tharparkar
    "earthquake": (73.3, 34.2, 73.9, 34.8),  # Muzaffarabad and Balakot
    "cyclone": (67.0, 23.6, 67.8, 24.2),  # Keti Bandar
}
#: Parameters that turn on the randomness of otherwise deterministic kinds.
RANDOM = {"earthquake": {"residuals": True}, "cyclone": {"track_jitter_km": 20.0}}


def needs_globe():
    if not GLOBE.exists():
        pytest.skip("../shared/data/dem_globe_30arcsec_pakistan.tif is not beside this checkout")
    return GLOBE


def dem_layer(values: np.ndarray, left: float, top: float) -> object:
    return make_layer(values, Affine(RES, 0, left, 0, -RES, top), "EPSG:4326", units="m",
                      kind="dem", provenance={"test": "synthetic dem"})


def value_at(layer, lon: float, lat: float) -> float:
    t = transform_of(layer)
    col = int(math.floor((lon - t.c) / t.a))
    row = int(math.floor((lat - t.f) / t.e))
    return float(layer.values[row, col])


# --------------------------------------------------------------------------------------------
# every kind
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(UNITS))
def test_every_kind_generates_with_defaults(kind):
    # riverine-flood's default method is now "terrain" (NaN at sea); this checks the band method
    layer = g.generate(kind, **({"method": "band"} if kind == "riverine-flood" else {}))
    assert layer.attrs["units"] == UNITS[kind]
    assert layer.attrs["kind"] == kind
    assert layer.attrs["crs"] == "EPSG:4326"
    t = transform_of(layer)
    assert t.a == pytest.approx(RES) and t.e == pytest.approx(-RES)
    assert layer.dims == ("y", "x") and layer.size > 10_000
    if kind in ("drought", "heatwave"):  # NaN outside Pakistan (India, the sea)
        assert 0.5 < np.isfinite(layer.values).mean() < 1.0
    else:
        assert np.isfinite(layer.values).all()
    prov = json.loads(layer.attrs["provenance"])
    assert prov["generator"] == f"hazards.generators.{kind.replace('-', '_')}"
    assert prov["seed"] == 0 and prov["method"]
    assert float(layer.max()) > float(layer.min())


@pytest.mark.parametrize("kind", list(UNITS))
def test_seeded_reproducibility(kind):
    extra = RANDOM.get(kind, {})
    a = g.generate(kind, bbox=SMALL[kind], seed=1, **extra)
    b = g.generate(kind, bbox=SMALL[kind], seed=1, **extra)
    c = g.generate(kind, bbox=SMALL[kind], seed=2, **extra)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, c.values)
    assert json.loads(a.attrs["provenance"])["seed"] == 1
    np.testing.assert_allclose(bounds_of(a), SMALL[kind])


@pytest.mark.parametrize("kind", ["earthquake", "cyclone"])
def test_deterministic_kinds_ignore_the_seed_by_default(kind):
    a = g.generate(kind, bbox=SMALL[kind], seed=1)
    b = g.generate(kind, bbox=SMALL[kind], seed=2)
    np.testing.assert_array_equal(a.values, b.values)


def test_dispatcher_refuses_unknown_kinds_and_parameters():
    with pytest.raises(HazardError, match=r"unknown hazard kind 'tsunami'; choose one of \['riverine-flood'"):
        g.generate("tsunami")
    with pytest.raises(HazardError, match=r"drought: unknown parameter\(s\) \['magnitude'\]; allowed: \['deficit'"):
        g.generate("drought", magnitude=7.0)
    with pytest.raises(HazardError, match="bad parameter value"):
        g.generate("earthquake", bbox=SMALL["earthquake"], magnitude="big")
    assert g.generate("flash_flood", bbox=SMALL["flash-flood"]).attrs["kind"] == "flash-flood"
    assert g.parameters("earthquake")["magnitude"] == 7.6
    assert set(g.GENERATORS) == set(UNITS)


def test_grid_limits():
    with pytest.raises(HazardError, match="over the limit"):
        g.drought(bbox=(60.0, 20.0, 80.0, 40.0), resolution=1 / 400)
    with pytest.raises(HazardError, match="four numbers"):
        g.heatwave(bbox=(67.0, 24.0, 68.0))
    with pytest.raises(HazardError, match="resolution must be > 0"):
        g.heatwave(bbox=SMALL["heatwave"], resolution=0)


# --------------------------------------------------------------------------------------------
# riverine flood
# --------------------------------------------------------------------------------------------


def test_rivers_table_has_the_seven_rivers_with_named_places():
    table = data.rivers()
    assert set(g.rivers()) == {"indus", "jhelum", "chenab", "ravi", "sutlej", "kabul", "swat"}
    for river, rows in table.groupby("river"):
        assert len(rows) >= 5, river
        assert rows.seq.is_monotonic_increasing and rows.seq.is_unique
        assert rows.place.str.len().min() > 3
        assert rows.lon.between(60.8, 77.9).all() and rows.lat.between(23.5, 37.1).all()
    places = " ".join(table.place)
    for name in ("Mangla", "Trimmu", "Marala", "Panjnad", "Attock", "Nowshera", "Charsadda",
                 "Mingora", "Kalam", "Balloki", "Sulemanki", "Warsak"):
        assert name in places


@pytest.mark.parametrize("river", ["jhelum", "chenab", "ravi", "sutlej", "kabul", "swat"])
def test_new_rivers_flood_along_their_line(river):
    line = g.river_line(river)
    lon, lat = line[len(line) // 2]
    layer = g.riverine_flood(river, bbox=(lon - 0.4, lat - 0.4, lon + 0.4, lat + 0.4), seed=0, method="band")
    assert value_at(layer, lon, lat) > 0.5
    assert float((layer.values > 0).mean()) < 0.9


def test_several_rivers_at_once():
    """The band method (hand-drawn river lines) takes several rivers at once."""
    bbox = (71.6, 30.8, 72.6, 31.6)  # Trimmu: the Jhelum meets the Chenab
    both = g.riverine_flood(["jhelum", "chenab"], bbox=bbox, method="band")
    jhelum = g.riverine_flood("jhelum", bbox=bbox, method="band")
    assert json.loads(both.attrs["provenance"])["rivers_in_bbox"] == ["jhelum", "chenab"]
    assert (both.values > 0).sum() > (jhelum.values > 0).sum()
    assert value_at(both, 72.15, 31.15) > 0.5
    assert g.riverine_flood("jhelum,chenab", bbox=bbox, method="band").equals(both)
    everything = g.riverine_flood("all", bbox=bbox, method="band")
    assert set(json.loads(everything.attrs["provenance"])["rivers_in_bbox"]) == {"jhelum", "chenab"}
    with pytest.raises(HazardError, match=r"none of the rivers \['kabul', 'swat'\] crosses bbox"):
        g.riverine_flood(["kabul", "swat"], bbox=bbox, method="band")


def _valley_dem(pit: bool = False):
    """A DEM around Kotri rising 1 m per km away from the Indus line, optionally with a pit."""
    left, top, n = 68.0, 25.7, 84
    x = left + RES * (np.arange(n) + 0.5)
    y = top - RES * (np.arange(n) + 0.5)
    lon, lat = np.meshgrid(x, y)
    pts, _ = g._densify(g.river_line("indus"), step_deg=RES / 4)
    km = np.full(lon.shape, np.inf)
    for px, py in pts:
        if abs(py - 25.35) < 0.6:
            km = np.minimum(km, np.hypot((lon - px) * 111.32 * np.cos(np.radians(25.4)), (lat - py) * 111.32))
    elev = 5.0 + km
    if pit:  # a closed depression, lower than the river, about 15 km east of it
        elev[np.hypot((lon - 68.52) * 100.6, (lat - 25.40) * 111.32) < 3.0] = 2.0
    return dem_layer(elev, left, top), elev


def test_hand_mode_is_dry_on_high_ground_and_grows_with_return_period():
    dem, elev = _valley_dem()
    depth = {t: g.riverine_flood(dem=dem, return_period=t, bbox=(68.0, 25.0, 68.7, 25.7)) for t in (10, 100)}
    for layer in depth.values():
        stage = json.loads(layer.attrs["provenance"])["stage_m"]
        height = elev - 5.0  # height above the river bed
        assert (layer.values[height > 1.4 * stage] == 0).all()  # the +-15 % modulation stays < 40 %
        assert (layer.values[height < 0.5] > 0).all()
        assert np.nanmax(layer.values) <= 1.4 * stage + 0.01
        np.testing.assert_allclose(bounds_of(layer), (68.0, 25.0, 68.7, 25.7))
    assert (depth[100].values > 0).sum() > (depth[10].values > 0).sum()
    assert (depth[100].values >= depth[10].values).all()
    assert json.loads(depth[10].attrs["provenance"])["dem"]["layer"] == {"test": "synthetic dem"}


def test_hand_mode_does_not_fill_a_closed_depression():
    dem, elev = _valley_dem(pit=True)
    layer = g.riverine_flood(dem=dem, return_period=500, bbox=(68.0, 25.0, 68.7, 25.7))
    assert (elev == 2.0).sum() > 20
    assert (layer.values[elev == 2.0] == 0).all()
    assert value_at(layer, 68.33, 25.37) > 0


def test_hand_mode_on_a_utm_dem():
    """A DEM in UTM 42N: the flood comes out on the DEM's own grid and CRS, dry on high ground."""
    from pyproj import Transformer

    x0, y0 = (round(v, -3) for v in Transformer.from_crs("EPSG:4326", "EPSG:32642", always_xy=True)
              .transform(68.0, 25.7))
    n, res = 80, 1000.0
    xx, yy = np.meshgrid(x0 + res * (np.arange(n) + 0.5), y0 - res * (np.arange(n) + 0.5))
    lon, lat = Transformer.from_crs("EPSG:32642", "EPSG:4326", always_xy=True).transform(xx, yy)
    pts, _ = g._densify(g.river_line("indus"), step_deg=RES / 4)
    km = np.full(lon.shape, np.inf)
    for px, py in pts[np.abs(pts[:, 1] - 25.35) < 0.6]:
        km = np.minimum(km, np.hypot((lon - px) * 111.32 * np.cos(np.radians(25.4)), (lat - py) * 111.32))
    dem = make_layer(5.0 + km, Affine(res, 0, x0, 0, -res, y0), "EPSG:32642", units="m", kind="dem",
                     provenance={})
    layer = g.riverine_flood(dem=dem, return_period=100, bbox=(68.05, 25.05, 68.6, 25.6))
    assert layer.attrs["crs"] == "EPSG:32642"
    t = transform_of(layer)
    assert t.a == res and (t.c - x0) % res == 0 and (y0 - t.f) % res == 0
    r0, c0 = int((y0 - t.f) / res), int((t.c - x0) / res)
    height = km[r0:r0 + layer.shape[0], c0:c0 + layer.shape[1]]
    stage = json.loads(layer.attrs["provenance"])["stage_m"]
    assert (layer.values[height > 1.4 * stage] == 0).all()
    assert (layer.values[height < 0.5] > 0).all()


def test_hand_mode_errors(tmp_path):
    with pytest.raises(HazardError, match="no such DEM"):
        g.riverine_flood(dem=tmp_path / "none.tif")
    dem, _ = _valley_dem()
    with pytest.raises(HazardError, match="does not overlap"):
        g.riverine_flood(dem=dem, bbox=(70.0, 30.0, 71.0, 31.0))
    feet = dem.copy()
    feet.attrs["units"] = "mm"
    with pytest.raises(HazardError, match="ground elevation in metres"):
        g.riverine_flood(dem=feet, bbox=(68.0, 25.0, 68.7, 25.7))


@pytest.mark.shared
def test_hand_mode_on_the_globe_dem():
    dem = needs_globe()
    bbox = (67.5, 24.8, 68.8, 26.0)  # Sehwan to Kotri, with the Kirthar and Lakhi hills
    depth = {t: g.riverine_flood(dem=dem, return_period=t, bbox=bbox) for t in (10, 100)}
    import rasterio

    with rasterio.open(dem) as src:
        window = src.window(*bbox)
        elev = src.read(1, window=window.round_offsets().round_lengths()).astype(float)
        origin = src.transform
    layer = depth[100]
    assert layer.shape == elev.shape == (144, 156)
    t = transform_of(layer)
    assert ((t.c - origin.c) / RES) == pytest.approx(round((t.c - origin.c) / RES))  # the DEM's grid
    assert (layer.values[elev > 100] == 0).all()  # high ground stays dry
    assert np.isnan(layer.values[elev <= 0]).all()
    wet10, wet100 = (depth[10].values > 0).sum(), (depth[100].values > 0).sum()
    assert 0 < wet10 < wet100 < 0.2 * layer.size
    near_kotri = g._haversine_km(layer.x.values[None, :], layer.y.values[:, None], 68.33, 25.37) < 3.0
    assert (layer.values[near_kotri] > 0).any()  # the river at Kotri barrage
    assert json.loads(layer.attrs["provenance"])["dem"] == str(dem)


# --------------------------------------------------------------------------------------------
# flash flood
# --------------------------------------------------------------------------------------------


def test_flash_flood_peaks_at_the_return_period_depth_and_decays():
    lon, lat = 71.0 + 60.5 * RES, 33.6 + 120.5 * RES  # a cell centre
    rain = {t: g.flash_flood(return_period=t, centres=[[lon, lat]], radius_km=20.0) for t in (10, 100)}
    for t, layer in rain.items():
        point = 70.0 + 30.0 * -math.log(-math.log(1 - 1 / t))
        assert value_at(layer, lon, lat) == pytest.approx(point, abs=0.1)
        assert float(layer.max()) == pytest.approx(point, abs=0.1)
    assert (rain[100].values >= rain[10].values).all()
    # the Gaussian cell: 60 km away (3 radii) the depth is exp(-4.5) of the peak
    east = value_at(rain[100], lon + 60 / (111.32 * math.cos(math.radians(lat))), lat)
    assert east == pytest.approx(float(rain[100].max()) * math.exp(-4.5), rel=0.05)


def test_flash_flood_areal_reduction():
    """Mean over 1,000 km2 around a 20 km Gaussian cell: (1 - e^-x)/x of the peak, x = A/(2 pi r^2)."""
    lon, lat = 72.0 + 36.5 * RES, 34.4 + 36.5 * RES
    layer = g.flash_flood(centres=[[lon, lat]], radius_km=20.0, bbox=SMALL["flash-flood"])
    d = g._haversine_km(layer.x.values[None, :], layer.y.values[:, None], lon, lat)
    x = 1000.0 / (2 * math.pi * 400.0)
    disc = layer.values[d <= math.sqrt(1000.0 / math.pi)]
    assert disc.mean() / float(layer.max()) == pytest.approx((1 - math.exp(-x)) / x, abs=0.02)


def test_flash_flood_errors():
    with pytest.raises(HazardError, match="return_period must be > 1"):
        g.flash_flood(return_period=1)
    with pytest.raises(HazardError, match="shape 'square'"):
        g.flash_flood(shape="square")
    with pytest.raises(HazardError, match="centres must be lon,lat pairs"):
        g.flash_flood(centres=[[72.0]])


# --------------------------------------------------------------------------------------------
# heatwave
# --------------------------------------------------------------------------------------------


def test_heatwave_hotter_at_low_elevation():
    elev = np.zeros((60, 60))
    elev[:, :30] = 2000.0
    dem = dem_layer(elev, 72.0, 31.5)
    layer = g.heatwave(dem=dem, anomaly_degc=0.0, daily_sd_k=0.0, bbox=(72.0, 31.0, 72.5, 31.5))
    high, low = layer.values[:, :30], layer.values[:, 30:]
    # 0.3 K: the station-normal baseline (data/climate) also varies across the 0.5 degree box
    np.testing.assert_allclose(low.mean() - high.mean(), 6.5 * 2.0, atol=0.3)


def test_heatwave_hotter_at_low_latitude_and_with_the_anomaly():
    bbox = (70.0, 26.0, 70.5, 32.0)
    calm = g.heatwave(anomaly_degc=0.0, daily_sd_k=0.0, bbox=bbox)
    south, north = np.nanmean(calm.values[-1]), np.nanmean(calm.values[0])
    assert south > north  # station normals (data/climate), no longer a fixed 0.5 K/degree
    hot = g.heatwave(anomaly_degc=5.0, bbox=bbox)
    assert float((hot - calm).mean()) == pytest.approx(5.0, abs=0.7)  # xarray skips NaN
    assert float((hot - calm).min()) > 0


def test_heatwave_sea_breeze_cools_karachi():
    layer = g.heatwave(anomaly_degc=0.0, daily_sd_k=0.0, bbox=(66.8, 24.6, 68.6, 28.4))
    assert value_at(layer, 68.44, 28.28) - value_at(layer, 67.01, 24.86) > 4.0  # Jacobabad vs Karachi


def test_heat_index_known_values_and_heatwave_option():
    def f2c(f):
        return (f - 32) * 5 / 9

    # NWS heat index table: 90 F at 70 % is 106 F; 95 F at 60 % is 113 F; 70 F at 50 % stays ~69 F.
    assert g.heat_index(f2c(90), 70) == pytest.approx(f2c(106), abs=0.6)
    assert g.heat_index(f2c(95), 60) == pytest.approx(f2c(113), abs=0.6)
    assert g.heat_index(f2c(70), 50) == pytest.approx(f2c(69), abs=0.6)
    bbox = (66.9, 24.7, 67.3, 25.1)  # Karachi
    t = g.heatwave(bbox=bbox, seed=3)
    hi = g.heatwave(bbox=bbox, seed=3, relative_humidity=60)
    land = np.isfinite(t.values)  # NaN at sea (outside Pakistan)
    assert land.mean() > 0.5 and (np.isfinite(hi.values) == land).all()
    assert (hi.values[land] > t.values[land]).all() and hi.name == "heat_index"
    with pytest.raises(HazardError, match="within 0-100"):
        g.heatwave(bbox=bbox, relative_humidity=120)
    with pytest.raises(HazardError, match="days must be >= 1"):
        g.heatwave(bbox=bbox, days=0)


# --------------------------------------------------------------------------------------------
# drought
# --------------------------------------------------------------------------------------------


def test_spi_is_roughly_standard_normal_in_a_typical_season():
    spi = g.drought(deficit=0.0, seed=5).values
    spi = spi[np.isfinite(spi)]  # NaN outside Pakistan
    assert abs(spi.mean()) < 0.25
    assert 0.7 < spi.std() < 1.3
    assert -3.5 <= spi.min() and spi.max() <= 3.5


def test_spi_is_negative_in_drought_and_falls_with_the_deficit():
    mild = g.drought(deficit=0.3, seed=5).values
    severe = g.drought(deficit=0.6, seed=5).values
    assert np.nanmean(g.drought(seed=5).values) < -0.9  # NaN outside Pakistan; station normals
    assert np.nanmean(severe) < np.nanmean(mild) < 0
    assert (severe[np.isfinite(mild)] <= mild[np.isfinite(mild)]).all()
    rain = g.drought(output="rainfall", bbox=SMALL["drought"])
    assert rain.attrs["units"] == "mm" and float(rain.min()) > 0
    with pytest.raises(HazardError, match="deficit must be < 1"):
        g.drought(deficit=1.0)
    with pytest.raises(HazardError, match="output 'pdsi'"):
        g.drought(output="pdsi")


# --------------------------------------------------------------------------------------------
# earthquake
# --------------------------------------------------------------------------------------------


def test_ba08_and_worden_known_values():
    # BA08 at R_JB = 0, Mw 7.6, reverse, Vs30 = 760: exp(e4 + (c1 + 3.1 c2) ln(1.35) + 0.35 c3)
    expected = math.exp(-0.50970 + (-0.66050 + 3.1 * 0.11970) * math.log(1.35) - 0.01151 * 0.35)
    assert g.ba08_pga(7.6, np.array([0.0]), mechanism="reverse")[0] == pytest.approx(expected, rel=1e-6)
    # Worden et al. (2012): 0.1 g = 98.07 cm/s2 -> -1.60 + 3.70 log10(98.07)
    np.testing.assert_allclose(g.mmi_from_pga(np.array([0.1, 0.01])),
                               [-1.60 + 3.70 * math.log10(98.0665), 1.78 + 1.55 * math.log10(9.80665)])
    assert g.mmi_from_pga(np.array([5.0]))[0] == 10.0 and g.mmi_from_pga(np.array([1e-6]))[0] == 1.0


def test_pga_decays_with_distance_and_grows_with_magnitude():
    bbox = (73.5, 34.4, 75.5, 34.6)
    point = g.earthquake(strike_deg=None, bbox=bbox)
    row = point.values[point.sizes["y"] // 2, 11:]  # from the epicentre (73.59 E) eastwards
    assert (np.diff(row) <= 1e-4).all() and row[0] > 5 * row[-1]
    at_50km = [value_at(g.earthquake(magnitude=m, strike_deg=None, bbox=bbox), 74.14, 34.49)
               for m in (5.5, 6.5, 7.0, 7.6)]
    assert at_50km == sorted(at_50km) and at_50km[0] < at_50km[-1]
    soft = g.earthquake(strike_deg=None, vs30=300.0, bbox=bbox)
    assert value_at(soft, 74.14, 34.49) > value_at(point, 74.14, 34.49)


def test_mmi_between_1_and_10_and_finite_rupture():
    mmi = g.earthquake(measure="mmi")
    assert mmi.attrs["units"] == "index" and 1.0 <= float(mmi.min()) and float(mmi.max()) <= 10.0
    assert float(mmi.max()) > 8.0  # near the rupture of a Kashmir-like Mw 7.6
    rupture = g.earthquake(bbox=SMALL["earthquake"])
    point = g.earthquake(strike_deg=None, bbox=SMALL["earthquake"])
    assert (rupture.values >= point.values - 1e-4).all()  # R_JB <= epicentral distance
    assert (rupture.values > point.values + 0.01).sum() > 100
    with pytest.raises(HazardError, match="magnitude must be a moment magnitude within 4-9"):
        g.earthquake(magnitude=10)
    with pytest.raises(HazardError, match="measure 'pgv'"):
        g.earthquake(measure="pgv")


# --------------------------------------------------------------------------------------------
# cyclone
# --------------------------------------------------------------------------------------------


def test_holland_profile_peaks_near_rmax_and_decays_outward():
    r = np.arange(1.0, 400.0, 0.5)
    v = g.holland_wind(r, delta_p_hpa=40.0, rmax_km=30.0, b=1.4, lat=23.9)
    assert 27.0 <= r[v.argmax()] <= 31.0
    assert v.max() == pytest.approx(math.sqrt(1.4 * 4000 / (1.15 * math.e)), rel=0.03)
    assert (np.diff(v[r > 31.0]) < 0).all()
    centre = (67.4 + 0.5 * RES, 23.9 + 0.5 * RES)
    layer = g.cyclone(track=[centre], translation_ms=0.0, bbox=(67.0, 23.5, 69.0, 24.3))
    row = layer.values[int((24.3 - centre[1]) / RES), int((centre[0] - 67.0) / RES):]
    km = np.arange(row.size) * RES * 111.32 * math.cos(math.radians(23.9))
    assert 25.0 <= km[row.argmax()] <= 35.0
    assert (np.diff(row[km > 35.0]) < 0.01).all() and row[-1] < 0.5 * row.max()
    assert float(layer.max()) == pytest.approx(0.8 * v.max(), rel=0.02)


def test_cyclone_right_of_track_is_stronger_and_decays_inland():
    swath = g.cyclone()
    prov = json.loads(swath.attrs["provenance"])
    assert prov["landfall"] == [67.4, 23.9] and 30.0 < prov["vmax_at_landfall_ms"] < 40.0
    # the default track heads north-north-east: east of it is its right-hand side
    assert value_at(swath, 67.9, 23.6) > value_at(swath, 66.7, 23.6)
    still = g.cyclone(decay_inland=False)
    assert value_at(swath, 68.8, 25.6) < value_at(still, 68.8, 25.6)
    assert value_at(swath, 67.2, 23.0) == pytest.approx(value_at(still, 67.2, 23.0))
    moved = g.cyclone(landfall=(66.9, 24.7))
    assert value_at(moved, 66.9, 24.7 + 0.3) > value_at(swath, 66.9, 24.7 + 0.3)
    with pytest.raises(HazardError, match="holland_b must be within 0.5-3"):
        g.cyclone(holland_b=5)


# --------------------------------------------------------------------------------------------
# the command line
# --------------------------------------------------------------------------------------------


def _bbox_arg(kind: str) -> str:
    return ",".join(str(v) for v in SMALL[kind])


@pytest.mark.parametrize("kind", list(UNITS))
def test_cli_generate_and_info_round_trip(tmp_path, kind):
    runner = CliRunner()
    out = tmp_path / f"{kind}.tif"
    result = runner.invoke(hazard_app, ["generate", kind, "--bbox", _bbox_arg(kind), "--seed", "4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    expected = g.generate(kind, bbox=SMALL[kind], seed=4)
    np.testing.assert_array_equal(read_geotiff(out).values, expected.values)
    info = runner.invoke(hazard_app, ["info", str(out)])
    assert info.exit_code == 0, info.output
    lines = dict(line.split(":", 1) for line in info.output.splitlines())
    assert lines["crs"].strip() == "EPSG:4326"
    assert lines["units"].strip() == UNITS[kind]
    assert lines["kind"].strip() == kind
    assert lines["nodata"].strip() == "0.00 % of cells"
    assert lines["shape"].strip() == f"{expected.shape[0]} rows x {expected.shape[1]} columns"
    assert lines["resolution"].strip().startswith("0.0083333333 x 0.0083333333")
    assert f"max {float(expected.max()):.6g}" in lines["values"]
    assert "mean" in lines["values"]
    left, bottom, right, top = SMALL[kind]
    assert lines["bounds"].strip().startswith(f"{left:.6f}, {bottom:.6f}, {right:.6f}, {top:.6f}")
    assert f"hazards.generators.{kind.replace('-', '_')}" in lines["provenance"]


def test_cli_first_class_options_and_params(tmp_path):
    runner = CliRunner()
    out = tmp_path / "q.tif"
    result = runner.invoke(hazard_app, [
        "generate", "earthquake", "--magnitude", "6.5", "--lon", "73.6", "--lat", "34.5", "--depth", "12",
        "-p", "measure=mmi", "-p", "strike_deg=none", "--bbox", _bbox_arg("earthquake"), "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    prov = json.loads(read_geotiff(out).attrs["provenance"])["generator"]
    assert prov["magnitude"] == 6.5 and prov["epicentre"] == [73.6, 34.5] and prov["depth_km"] == 12
    assert prov["measure"] == "mmi" and prov["strike_deg"] is None
    flood = tmp_path / "f.tif"
    result = runner.invoke(hazard_app, ["generate", "riverine-flood", "--river", "jhelum", "--river", "chenab",
                                        "-T", "100", "--bbox", "71.6,30.8,72.6,31.6", "--out", str(flood)])
    assert result.exit_code == 0, result.output
    prov = json.loads(read_geotiff(flood).attrs["provenance"])["generator"]
    assert prov["river"] == ["jhelum", "chenab"] and prov["return_period"] == 100
    storm = tmp_path / "s.tif"
    result = runner.invoke(hazard_app, ["generate", "flash-flood", "--lon", "72.3", "--lat", "34.7",
                                        "--bbox", _bbox_arg("flash-flood"), "--out", str(storm)])
    assert result.exit_code == 0, result.output
    assert json.loads(read_geotiff(storm).attrs["provenance"])["generator"]["centres"] == [[72.3, 34.7]]


@pytest.mark.shared
def test_cli_riverine_flood_with_the_globe_dem(tmp_path):
    dem = needs_globe()
    out = tmp_path / "hand.tif"
    result = CliRunner().invoke(hazard_app, ["generate", "riverine-flood", "--dem", str(dem), "--bbox",
                                             _bbox_arg("riverine-flood"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    info = CliRunner().invoke(hazard_app, ["info", str(out)])
    assert info.exit_code == 0 and "HAND-like" in info.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["generate", "tsunami"], "unknown hazard kind 'tsunami'; choose one of"),
        (["generate", "drought", "--bbox", "1,2,3"], "--bbox '1,2,3' must be four numbers"),
        (["generate", "drought", "-p", "foo=1"], r"unknown parameter\(s\) \['foo'\]; allowed"),
        (["generate", "drought", "-p", "foo"], "must be key=value"),
        (["generate", "drought", "--magnitude", "7"], r"unknown parameter\(s\) \['magnitude'\]"),
        (["generate", "heatwave", "--lon", "70", "--lat", "25"], "--lon/--lat do not apply to heatwave"),
        (["generate", "cyclone", "--lon", "67"], "give both --lon and --lat"),
        (["generate", "earthquake", "--magnitude", "7", "-p", "magnitude=6"], "magnitude is given twice"),
        (["generate", "riverine-flood", "--river", "amazon"], r"\['amazon'\] are not in data/rivers.csv"),
        (["generate", "riverine-flood", "--dem", "nowhere.tif"], "nowhere.tif: no such DEM"),
    ],
)
def test_cli_bad_input_exits_2(tmp_path, args, message):
    result = CliRunner().invoke(hazard_app, [*args, "--out", str(tmp_path / "x.tif")])
    assert result.exit_code == 2
    assert "error:" in result.output
    import re

    assert re.search(message, result.output.replace("\n", " "))
    assert not (tmp_path / "x.tif").exists()


def test_cli_info_errors_and_help(tmp_path):
    runner = CliRunner()
    result = runner.invoke(hazard_app, ["info", str(tmp_path / "none.tif")])
    assert result.exit_code == 2 and "no such hazard raster" in result.output
    for command in ("generate", "info"):
        help_text = runner.invoke(hazard_app, [command, "--help"]).output
        assert "Example: madad hazard " + command in help_text


def test_cli_help_lists_each_kinds_parameters():
    from simulator.cli.hazard import KIND_PARAMETERS

    assert list(KIND_PARAMETERS) == list(g.GENERATORS)
    for kind, names in KIND_PARAMETERS.items():
        own = [n for n in g.parameters(kind) if n not in ("bbox", "resolution", "seed")]
        assert names.split(", ") == own, kind


def test_parse_helpers():
    assert parse_value("7") == 7 and parse_value("0.5") == 0.5 and parse_value("true") is True
    assert parse_value("mmi") == "mmi" and parse_value("none") is None
    assert parse_value("73.5,34.2") == [73.5, 34.2]
    assert parse_value("[[72.3, 34.8], [72.6, 35.0]]") == [[72.3, 34.8], [72.6, 35.0]]
    assert parse_bbox("67.5, 24.5,69,26.5") == [67.5, 24.5, 69.0, 26.5]
    with pytest.raises(HazardError, match="four numbers"):
        parse_bbox("a,b,c,d")
