"""Station climatology (hazards.climate) and the heatwave/drought defaults built on it."""

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.features import rasterize

from hazards import climate, tables
from hazards import generators as g
from hazards.layer import transform_of

GRID = (Affine(0.05, 0.0, 60.5, 0.0, -0.05, 37.5), (280, 350))  # Pakistan at 0.05 degree


def at(arr, transform, lon, lat):
    return float(arr[int((lat - transform.f) / transform.e), int((lon - transform.c) / transform.a)])


def test_tables_have_a_source_and_confidence_on_every_row():
    for table in (climate.normals(), climate.event_table("monsoon_2022")):
        assert table.source.astype(str).str.strip().str.len().gt(0).all()
        assert table.confidence.isin(["H", "M", "L"]).all()
    assert len(climate.normals()) >= 20
    assert set(climate.event_table("monsoon_2022").kind) <= {"observed", "observed_partial", "derived"}


def test_normal_tmax_hot_plains_and_cool_hills():
    t, shape = GRID
    tmax = climate.normals_field("tmax", transform=t, shape=shape)
    jacobabad, sibi = at(tmax, t, 68.45, 28.28), at(tmax, t, 67.88, 29.55)
    quetta, murree = at(tmax, t, 66.95, 30.25), at(tmax, t, 73.39, 33.91)
    assert min(jacobabad, sibi) > max(quetta, murree) + 5
    assert 42 < jacobabad < 47 and quetta < 38 and murree < 32
    assert np.isfinite(tmax).all()


def test_heatwave_default_is_plausible_over_sindh():
    layer = g.heatwave()
    t = transform_of(layer)
    prov = tables.outlines("provinces")
    sindh = rasterize([(geom, 1) for geom in prov[prov.province_code == "SD"].geometry],
                      out_shape=layer.shape, transform=t, fill=0).astype(bool)
    share = float(np.mean(layer.values[sindh] >= 45.0))
    assert 0.3 < share < 0.95
    assert float(np.mean(g.heatwave(anomaly_degc=0.0).values[sindh] >= 45.0)) < 0.1
    wide = g.heatwave(bbox=(66.5, 24.0, 69.0, 30.6), resolution=0.05)
    assert g.heatwave is not None
    tw = transform_of(wide)
    assert at(wide.values, tw, 66.95, 30.25) < at(wide.values, tw, 68.45, 28.28) - 5  # Quetta cooler


def test_monsoon_2022_wetter_in_upper_sindh_than_quetta_or_peshawar():
    t, shape = GRID
    rain = climate.rainfall_field("monsoon_2022", transform=t, shape=shape, seed=0, perturbation=0.0)
    wet = min(at(rain, t, 68.10, 26.77), at(rain, t, 68.21, 27.56))  # Padidan, Larkana
    dry = max(at(rain, t, 66.95, 30.25), at(rain, t, 71.52, 34.01))  # Quetta, Peshawar
    assert wet > 2 * dry
    assert np.isfinite(rain).all() and rain.min() >= 0
    # far from any event station: the July-August normal (Nokkundi desert, a few tens of mm)
    assert at(rain, t, 61.0, 29.3) < 100


def test_rainfall_field_is_seeded_and_full_grid_is_fast():
    import time

    t, shape = GRID
    a = climate.rainfall_field("monsoon_2022", transform=t, shape=shape, seed=7)
    b = climate.rainfall_field("monsoon_2022", transform=t, shape=shape, seed=7)
    c = climate.rainfall_field("monsoon_2022", transform=t, shape=shape, seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    with rasterio.open(tables.dem_path()) as src:
        dem_t, dem_shape = src.transform, src.shape
    climate.rainfall_field("monsoon_2022", transform=dem_t, shape=dem_shape, seed=1)
    start = time.perf_counter()
    full = climate.rainfall_field("monsoon_2022", transform=dem_t, shape=dem_shape, seed=1)
    assert time.perf_counter() - start < 2.0 and full.shape == dem_shape


def test_drought_default_stays_inside_pakistan_and_is_seeded():
    layer = g.drought()
    inside = climate.pakistan_mask(transform_of(layer), layer.shape)
    affected = np.nan_to_num(layer.values, nan=0.0) <= -1.0
    assert affected.any() and not (affected & ~inside).any()
    np.testing.assert_array_equal(layer.values, g.drought().values)
    assert not np.array_equal(np.nan_to_num(layer.values), np.nan_to_num(g.drought(seed=1).values))


def test_unknown_event_and_variable_fail_clearly():
    t, shape = GRID
    with pytest.raises(Exception, match="known events"):
        climate.rainfall_field("nope", transform=t, shape=shape, seed=0)
    with pytest.raises(Exception, match="not one of"):
        climate.normals_field("wind", transform=t, shape=shape)
