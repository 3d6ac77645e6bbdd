"""Terrain floods (hazards.terrain, hazards.floods) checked against places with known positions.

Place coordinates: data/rivers.csv (barrages and towns on the rivers, each with its place name;
../shared/data/FACTS.md section 10 lists the rivers and barrages), and for places off the
rivers their commonly published coordinates (Wikipedia / GeoNames):
Quetta 67.00 E 30.18 N (valley floor ~1,680 m); Murree 73.39 E 33.91 N (hill station ~2,290 m);
Mithi 69.80 E 24.74 N and Islamkot 70.18 E 24.70 N (Tharparkar desert);
Badin 68.84 E 24.66 N; Mirpur Khas 69.01 E 25.53 N (left-bank plain of the lower Indus).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr

from hazards import floods, tables
from hazards import generators as g
from hazards.errors import DataFileError, HazardError
from hazards.layer import make_layer
from hazards.terrain import terrain

SUKKUR = (68.85, 27.68)  # Sukkur barrage, data/rivers.csv indus 13
KOTRI = (68.33, 25.37)  # Kotri barrage, data/rivers.csv indus 21
JHANG = (72.28, 31.30)  # Chenab west of Jhang, data/rivers.csv chenab 5
TRIMMU = (72.15, 31.15)  # Trimmu barrage, Jhelum-Chenab confluence, data/rivers.csv
QUETTA = (67.00, 30.18)
MURREE = (73.39, 33.91)
MITHI = (69.80, 24.74)
ISLAMKOT = (70.18, 24.70)
BADIN = (68.84, 24.66)
MIRPUR_KHAS = (69.01, 25.53)
BBOX = (66.5, 23.6, 74.0, 34.5)


def _near(layer: xr.DataArray, lon: float, lat: float, km: float) -> np.ndarray:
    """Values of the layer's cells within ``km`` of a point."""
    dy = (layer.y.values - lat) * 111.32
    dx = (layer.x.values - lon) * 111.32 * math.cos(math.radians(lat))
    mask = dy[:, None] ** 2 + dx[None, :] ** 2 <= km * km
    return layer.values[mask]


@pytest.fixture(scope="module")
def flood100():
    return floods.riverine_flood_terrain("all", return_period=100, bbox=BBOX, seed=0)


def test_terrain_loads_on_the_dem_grid():
    t = terrain()
    assert t.shape == (1680, 2100) and t.crs == "EPSG:4326"
    assert t.transform.c == pytest.approx(60.5) and t.transform.f == pytest.approx(37.5)
    assert np.isnan(t.upstream_km2[t.sea]).all() and (t.drain_index[t.sea] == -1).all()
    # the Indus near the sea drains most of the window: > 800,000 km2 (the real basin is
    # ~950,000 km2; its part beyond 78 E is outside the DEM)
    assert np.nanmax(t.upstream_km2) > 800_000


def test_accumulation_reconciles_and_matches_the_shipped_upstream_area():
    t = terrain()
    w = np.where(t.sea, 0.0, np.broadcast_to(t.cell_km2, t.shape))
    acc = t.accumulate(w)
    outlets = (t.down < 0) & ~t.sea.ravel()
    assert acc.ravel()[outlets].sum() == pytest.approx(w.sum(), rel=1e-9)  # nothing lost or made
    land = ~t.sea
    np.testing.assert_allclose(acc[land], t.upstream_km2[land], rtol=6e-3)  # 3 significant digits
    with pytest.raises(HazardError, match="terrain grid"):
        t.accumulate(np.ones((3, 3)))


def test_hand_is_zero_on_the_main_rivers():
    t = terrain()
    main = t.upstream_km2 >= 5000
    assert np.nanmedian(t.hand_m[main]) < 1.0
    drains = np.unique(t.drain_index[t.drain_index >= 0])
    assert np.nanmax(t.hand_m.ravel()[drains]) == 0  # a drainage cell is its own drainage
    assert np.nanmin(t.hand_m) >= 0


@pytest.mark.parametrize("river", ["indus", "jhelum", "chenab", "ravi", "sutlej", "kabul", "swat"])
def test_derived_network_follows_the_mapped_rivers(river):
    t = terrain()
    # the Swat above Chakdara drains less than 5,000 km2 (Kalam ~2,000 km2): use 1,000 km2 there
    threshold = 1000 if river == "swat" else 5000
    rows, cols = np.nonzero(t.upstream_km2 >= threshold)
    pts = tables.rivers()
    pts = pts[pts.river == river]
    lat0 = math.radians(float(pts.lat.mean()))
    near = []
    for lon, lat in zip(pts.lon, pts.lat, strict=True):  # a loop over a dozen waypoints
        d = np.hypot((t.lon[cols] - lon) * math.cos(lat0), t.lat[rows] - lat) * 111.32
        near.append(d.min() <= 5.0)
    assert np.mean(near) >= 0.8, f"{river}: {np.round(np.mean(near), 2)} of waypoints within 5 km"


def test_flood_wets_the_rivers_and_leaves_the_hills_and_the_desert_dry(flood100):
    layer = flood100
    assert layer.attrs["units"] == "m" and layer.attrs["kind"] == "riverine-flood"
    assert layer.attrs["crs"] == "EPSG:4326"
    for place in (SUKKUR, KOTRI, JHANG, TRIMMU):
        assert np.nanmax(_near(layer, *place, km=5)) > 0.5, place
    for place in (QUETTA, MURREE, MITHI, ISLAMKOT):
        assert np.nanmax(_near(layer, *place, km=5)) == 0.0, place
    assert np.isnan(_near(layer, 66.8, 24.0, km=5)).all()  # the Arabian Sea west of the delta
    share = np.nanmean(layer.values > 0)
    assert 0.02 < share < 0.2


def test_flood_grows_with_return_period_and_seeds_differ_reproducibly():
    bbox = (68.0, 25.0, 69.0, 28.0)
    f10 = floods.riverine_flood_terrain("indus", return_period=10, bbox=bbox, seed=1)
    f100 = floods.riverine_flood_terrain("indus", return_period=100, bbox=bbox, seed=1)
    again = floods.riverine_flood_terrain("indus", return_period=100, bbox=bbox, seed=1)
    other = floods.riverine_flood_terrain("indus", return_period=100, bbox=bbox, seed=2)
    np.testing.assert_array_equal(f100.values, again.values)
    assert not np.array_equal(f100.values, other.values)
    assert (np.nan_to_num(f100.values) >= np.nan_to_num(f10.values) - 1e-6).mean() > 0.99
    assert np.nansum(f100.values > 0) > np.nansum(f10.values > 0)
    assert json.loads(f100.attrs["provenance"])["river"] == "indus"


def test_named_river_stays_on_its_river():
    chenab = floods.riverine_flood_terrain("chenab", return_period=100, bbox=(71.5, 30.0, 74.7, 33.0))
    assert np.nanmax(_near(chenab, *JHANG, km=5)) > 0
    assert np.nanmax(_near(chenab, 74.30, 31.60, km=5)) == 0  # the Ravi at Lahore is not the Chenab
    torrents = floods.riverine_flood_terrain("all", return_period=100, bbox=(69.5, 29.5, 70.8, 31.0),
                                             river_km2=500)
    main = floods.riverine_flood_terrain("all", return_period=100, bbox=(69.5, 29.5, 70.8, 31.0))
    assert np.nansum(torrents.values > 0) > np.nansum(main.values > 0)  # Suleman hill torrents
    with pytest.raises(HazardError, match="not in data/rivers.csv"):
        floods.riverine_flood_terrain("amazon")
    with pytest.raises(HazardError, match="outside the terrain grid"):
        floods.riverine_flood_terrain(bbox=(10.0, 10.0, 11.0, 11.0))


def _monsoon_rain(t, lon0=69.0, lat0=25.2, mm=300.0, sigma=0.6):
    lon, lat = t.lon[None, :], t.lat[:, None]
    return mm * np.exp(-((lon - lon0) ** 2 + (lat - lat0) ** 2) / (2 * sigma**2))


def test_rain_on_the_left_bank_ponds_at_badin_and_mirpur_khas():
    t = terrain()
    bbox = (67.5, 24.0, 70.5, 26.5)
    layer = floods.rain_flood(_monsoon_rain(t), bbox=bbox, seed=0)
    assert layer.attrs["units"] == "m" and layer.attrs["kind"] == "flash-flood"
    for place in (BADIN, MIRPUR_KHAS):
        wet = _near(layer, *place, km=15)
        assert np.nanmean(wet > 0) > 0.1 and np.nanmax(wet) > 0.3, place
    prov = json.loads(layer.attrs["provenance"])
    # mass balance: every m3 of runoff is stored or leaves the grid
    assert prov["stored_m3"] + prov["lost_m3"] == pytest.approx(prov["runoff_m3"], rel=1e-6)
    dry = floods.rain_flood(np.zeros(t.shape), bbox=bbox, seed=0)
    assert np.nanmax(dry.values) == 0
    a = floods.rain_flood(_monsoon_rain(t), bbox=bbox, seed=1)
    b = floods.rain_flood(_monsoon_rain(t), bbox=bbox, seed=1)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, layer.values)


def test_hill_torrent_runoff_reaches_the_plain():
    # rain only on the Kirthar range west of Larkana (above 300 m); water must reach low ground
    t = terrain()
    rain = np.where(np.nan_to_num(t.elevation) > 300, _monsoon_rain(t, 67.3, 27.3, 250, 0.4), 0.0)
    layer = floods.rain_flood(rain, bbox=(66.5, 26.0, 69.0, 28.5), seed=0)
    win = t.window((66.5, 26.0, 69.0, 28.5))
    z = t.elevation[win.slices]
    wet = np.nan_to_num(layer.values) > 0.05
    assert (wet & (z < 150)).sum() > 50


def test_rain_flood_accepts_layers_and_rejects_bad_input():
    t = terrain()
    bbox = (68.0, 24.5, 69.5, 25.8)
    win = t.window(bbox)
    rain = _monsoon_rain(t)[win.slices]
    layer = make_layer(rain, win.transform, "EPSG:4326", units="mm", kind="flash-flood", provenance={})
    from_layer = floods.rain_flood(layer, bbox=bbox)
    from_array = floods.rain_flood(rain, bbox=bbox)
    np.testing.assert_array_equal(from_layer.values, from_array.values)
    with pytest.raises(HazardError, match="neither the terrain grid"):
        floods.rain_flood(np.ones((5, 5)), bbox=bbox)
    with pytest.raises(HazardError, match="negative"):
        floods.rain_flood(-rain, bbox=bbox)


def test_generators_dispatch_the_methods():
    bbox = (67.9, 25.0, 68.6, 25.6)
    terrain_layer = g.riverine_flood(bbox=bbox, return_period=100)
    assert json.loads(terrain_layer.attrs["provenance"])["via"] == "hazards.floods.riverine_flood_terrain"
    band = g.riverine_flood(bbox=bbox, method="band")
    assert "distance-decay" in json.loads(band.attrs["provenance"])["method"]
    with pytest.raises(HazardError, match="needs a dem"):
        g.riverine_flood(bbox=bbox, method="hand")
    with pytest.raises(HazardError, match="method 'x'"):
        g.riverine_flood(bbox=bbox, method="x")
    storm = g.flash_flood(centres=[[68.9, 25.0]], radius_km=40.0, return_period=100, bbox=(68.0, 24.3, 69.8, 25.8),
                          method="terrain")
    assert storm.attrs["units"] == "m" and np.nanmax(storm.values) > 0


def test_missing_terrain_files_name_the_build_script(tmp_path, monkeypatch):
    from hazards import terrain as terrain_module

    monkeypatch.setenv("MADAD_DATA", str(tmp_path))
    terrain_module.terrain.cache_clear()
    try:
        with pytest.raises(DataFileError, match="data/build_terrain.py"):
            terrain_module.terrain()
    finally:
        monkeypatch.delenv("MADAD_DATA")
        terrain_module.terrain.cache_clear()
