"""Points located once (hazards.sampling.Points): the same answers as sample(), bit for bit, on
edges, outside, on nodata, in a projected CRS, across layers on one grid and on other grids;
and the engine gives the same results with a shared Points object as without."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from pyproj import Transformer

from hazards import sampling
from hazards.layer import make_layer
from hazards.sampling import INSIDE, NODATA, OUTSIDE, Points, sample
from simulator import engine, registry
from simulator.scenario import Scenario

RES = 1.0 / 120.0
ROWS, COLS = 168, 210
LEFT, TOP = 66.0, 30.0


def _layer(values, transform=None, crs="EPSG:4326", units="m"):
    transform = transform or Affine(RES, 0.0, LEFT, 0.0, -RES, TOP)
    return make_layer(np.asarray(values, np.float32), transform, crs, units=units, kind="riverine-flood",
                      provenance={"test": "points"})


def _values(seed: int, shape=(ROWS, COLS), nodata: float = 0.1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = rng.uniform(0, 3, shape).astype(np.float32)
    values[rng.random(shape) < nodata] = np.nan
    return values


def _points(n: int = 60_000, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Points on every kind of place: exact pixel edges and corners (also of the outer edges),
    coordinates rounded to 4 and 5 decimals, anywhere, outside the raster, and not numbers."""
    rng = np.random.default_rng(seed)
    c = rng.integers(-3, COLS + 4, n)
    r = rng.integers(-3, ROWS + 4, n)
    lon = LEFT + c / 120.0
    lat = TOP - r / 120.0
    k = n // 5
    lon[k:2 * k] = lon[k:2 * k].round(4)
    lat[k:2 * k] = lat[k:2 * k].round(5)
    lon[2 * k:3 * k] = LEFT - 0.05 + rng.random(k) * (COLS * RES + 0.1)
    lat[2 * k:3 * k] = TOP + 0.05 - rng.random(k) * (ROWS * RES + 0.1)
    # Within the edge tolerance of an edge, on both sides, and just beyond it.
    tol = sampling.GEOGRAPHIC_EDGE_TOL
    lon[3 * k:4 * k] += rng.choice([-tol, tol, -1.01 * tol, 1.01 * tol, -0.99 * tol, 0.99 * tol], k)
    lon[::997] = np.nan
    lat[::991] = np.inf
    return lon, lat


def _same(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> None:
    """Bitwise equal intensity (NaN payloads included) and equal status codes."""
    assert a[0].dtype == b[0].dtype == np.float32 and a[1].dtype == b[1].dtype == np.int8
    np.testing.assert_array_equal(a[0].view(np.int32), b[0].view(np.int32))
    np.testing.assert_array_equal(a[1], b[1])


@pytest.fixture
def small_blocks(monkeypatch):
    """Many blocks on two threads (the defaults would take these points in one block)."""
    monkeypatch.setattr(sampling, "BLOCK", 4096)
    monkeypatch.setattr(sampling, "THREADS", 2)


def test_points_sample_equals_sample_bitwise(small_blocks):
    layer = _layer(_values(3))
    lon, lat = _points()
    expected = sample(layer, lon, lat)
    status = expected[1]
    # every case is present: inside, outside, nodata
    assert {INSIDE, OUTSIDE, NODATA} <= set(np.unique(status).tolist())
    points = Points(lon, lat)
    _same(points.sample(layer), expected)
    _same(points.sample(layer), expected)  # from the cached index
    for tol in (0.0, 1e-3):
        _same(points.sample(layer, edge_tol=tol), sample(layer, lon, lat, edge_tol=tol))


def test_threads_and_blocks_do_not_change_results(monkeypatch):
    layer = _layer(_values(4))
    lon, lat = _points(seed=2)
    whole = sample(layer, lon, lat)  # one block
    monkeypatch.setattr(sampling, "BLOCK", 1000)
    for threads in (1, 2):
        monkeypatch.setattr(sampling, "THREADS", threads)
        _same(sample(layer, lon, lat), whole)
        _same(Points(lon, lat).sample(layer), whole)


def test_edges_by_hand():
    # The 5x5 hand case of tests/test_overlay.py, through Points.
    values = (10 * np.arange(5)[:, None] + np.arange(5)[None, :]).astype(np.float32)
    values[2, 2] = np.nan
    layer = _layer(values, Affine(RES, 0.0, 68.0, 0.0, -RES, 26.0))
    lon = np.array([68.0 + 2 * RES, 68.0 + 0.5 * RES, 68.0 + 3 * RES, 68.0, 68.0 + 5 * RES, 68.0 + 2.5 * RES])
    lat = np.array([26.0 - 0.5 * RES, 26.0 - 1 * RES, 26.0 - 4 * RES, 26.0, 26.0 - 0.5 * RES, 26.0 - 2.5 * RES])
    value, status = Points(lon, lat).sample(layer)
    np.testing.assert_array_equal(value[:4], np.array([2, 10, 43, 0], np.float32))
    assert np.isnan(value[4:]).all()
    assert status.tolist() == [INSIDE] * 4 + [OUTSIDE, NODATA]


def test_projected_raster(small_blocks):
    """A UTM 42N raster with nodata: points are transformed per block, on two threads."""
    transform = Affine(1000.0, 0.0, 300_000.0, 0.0, -1000.0, 3_400_000.0)
    values = _values(5, shape=(200, 150))
    layer = _layer(values, transform, crs="EPSG:32642")
    rng = np.random.default_rng(6)
    n = 30_000
    x = 300_000.0 + 1000.0 * rng.integers(-3, 154, n) + np.where(rng.random(n) < 0.5, 0.0, rng.random(n) * 1000)
    y = 3_400_000.0 - 1000.0 * rng.integers(-3, 204, n)
    lon, lat = Transformer.from_crs(32642, 4326, always_xy=True).transform(x, y)
    expected = sample(layer, lon, lat)
    assert {INSIDE, OUTSIDE, NODATA} <= set(np.unique(expected[1]).tolist())
    points = Points(lon, lat)
    _same(points.sample(layer), expected)
    _same(points.sample(_layer(values * 2, transform, crs="EPSG:32642")),
          sample(_layer(values * 2, transform, crs="EPSG:32642"), lon, lat))


def test_second_layer_on_the_same_grid_is_only_gathered(small_blocks, monkeypatch):
    lon, lat = _points(seed=3)
    first, second = _layer(_values(7)), _layer(_values(8, nodata=0.3))
    points = Points(lon, lat)
    _same(points.sample(first), sample(first, lon, lat))
    expected = sample(second, lon, lat)
    located = []
    locate = sampling._Grid.locate
    monkeypatch.setattr(sampling._Grid, "locate", lambda self, *a: located.append(1) or locate(self, *a))
    _same(points.sample(second), expected)
    assert not located  # the second member on the grid was not located again
    assert len(points._index) == 1


def test_layers_on_other_grids(small_blocks):
    lon, lat = _points(seed=4)
    points = Points(lon, lat, max_grids=2)
    base = _layer(_values(9))
    coarse = _layer(_values(10, shape=(50, 60)), Affine(0.01, 0.0, LEFT + 0.3, 0.0, -0.01, TOP - 0.2))
    shifted = _layer(_values(9), Affine(RES, 0.0, LEFT + RES / 2, 0.0, -RES, TOP))
    south_up = _layer(_values(11), Affine(RES, 0.0, LEFT, 0.0, RES, TOP - ROWS * RES))
    for layer in (base, coarse, shifted, south_up, base, coarse):
        _same(points.sample(layer), sample(layer, lon, lat))
    assert len(points._index) == 2  # only the two most recent grids are kept


def test_points_refuse_unequal_lengths():
    with pytest.raises(Exception, match="differ in length"):
        Points([68.0, 68.1], [25.0])


# ---------------------------------------------------------------------------------------------
# The engine with a shared Points object
# ---------------------------------------------------------------------------------------------


def _national(seed: int, res: float = 0.05, nodata: float = 0.05, shift: float = 0.0, width: float = 17.5):
    rows, cols = int(14 / res), int(width / res)
    values = _values(seed, shape=(rows, cols), nodata=nodata) * np.float32(1.2)
    return _layer(values, Affine(res, 0.0, 60.5 + shift, 0.0, -res, 37.5))


def _scenario(hazards: list[dict]) -> Scenario:
    return Scenario.model_validate({
        "name": "t", "title": "t", "seed": 7,
        "hazards": hazards,
        "policy": {"programmes": [
            {"name": "relief", "owner": "federal", "expansion": "all_affected", "pmt_max": 40,
             "transfer": {"by_tier_pkr": {"affected": 10000, "severely_affected": 15000, "displaced": 20000}}},
            {"name": "sindh", "owner": "provincial", "expansion": "all_affected", "provinces": ["SD"],
             "transfer": {"by_tier_pkr": {"affected": 5000}}},
        ]},
        "dedup": {"rule": "top_up", "base": "federal"},
    })


@pytest.fixture(scope="module")
def cols():
    frame = registry.generate(20_000, seed=5)
    return engine.household_columns(registry.validate(frame, source="test").households)


def _same_result(a: engine.EngineResult, b: engine.EngineResult) -> None:
    assert a.intensity.keys() == b.intensity.keys()
    for label in a.intensity:
        np.testing.assert_array_equal(a.intensity[label].view(np.int32), b.intensity[label].view(np.int32))
    for name in ("tier", "status", "weight", "affected_index"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert (a.row is None) == (b.row is None)
    if a.row is not None:
        np.testing.assert_array_equal(a.row, b.row)
    assert a.sub.keys() == b.sub.keys()
    for key in a.sub:
        np.testing.assert_array_equal(a.sub[key], b.sub[key])
    assert a.programme_households == b.programme_households and a.duplicates == b.duplicates


TIERS = {"kind": "riverine-flood", "file": "a.tif", "tiers": {"affected": 0.3, "severely_affected": 1.5, "displaced": 3.0}}
SHARE = {"kind": "riverine-flood", "file": "b.tif", "impact": "flood_depth_damage"}


def test_evaluate_with_points_equals_without(cols, small_blocks):
    points = Points(cols["lon"], cols["lat"])
    scn = _scenario([TIERS])
    # An ensemble's members: one grid, other values; each gives what a fresh overlay gives.
    for seed in (20, 21, 22):
        layer = _national(seed)
        _same_result(engine.evaluate(scn, cols, [layer], points=points), engine.evaluate(scn, cols, [layer]))
    assert len(points._index) == 1


def test_evaluate_with_points_splits_rows_as_without(cols, small_blocks):
    """An impact function's share splits weighted rows after the overlay; the same Points
    object (of the registry's rows) serves every member."""
    assert cols["weight"].max() > 1
    points = Points(cols["lon"], cols["lat"])
    scn = _scenario([SHARE])
    for seed in (30, 31):
        layer = _national(seed)
        with_points = engine.evaluate(scn, cols, [layer], points=points)
        assert with_points.row is not None  # rows were split
        _same_result(with_points, engine.evaluate(scn, cols, [layer]))


def test_evaluate_two_hazards_on_two_grids(cols, small_blocks):
    points = Points(cols["lon"], cols["lat"])
    second = dict(TIERS, file="c.tif", name="second")
    scn = _scenario([TIERS, second])
    # The second covers the west only: households east of it are outside it.
    layers = [_national(40), _national(41, res=0.1, nodata=0.2, shift=0.3, width=8.0)]
    _same_result(engine.evaluate(scn, cols, layers, points=points), engine.evaluate(scn, cols, layers))
    _, status = sampling.sample(layers[1], cols["lon"], cols["lat"])
    assert (status == OUTSIDE).any() and (status == INSIDE).any()
    assert len(points._index) == 2


def test_evaluate_refuses_points_of_other_households(cols):
    points = Points(cols["lon"][:10], cols["lat"][:10])
    with pytest.raises(ValueError, match="points"):
        engine.evaluate(_scenario([TIERS]), cols, [_national(50)], points=points)
