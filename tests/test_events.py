"""Event sets: hand-computed exceedance on 3 events, dense cross-checks, files, stochastic sets."""

from __future__ import annotations

import json
from functools import partial

import numpy as np
import pytest
import xarray as xr
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from hazards import events, impact
from hazards.errors import HazardError
from hazards.events import EventSet, stochastic
from hazards.layer import make_layer

TRANSFORM = (1.0, 0.0, 68.0, 0.0, -1.0, 26.0)  # 2x2 grid of 1-degree cells, top-left (68E, 26N)


@pytest.fixture
def three_events() -> EventSet:
    """Three flood events on a 2x2 grid (cells 0..3 row-major), depths in m.

    event 0 (freq 0.10/yr): cell 0 1.0 m, cell 2 2.0 m
    event 1 (freq 0.01/yr): cell 0 0.5 m, cell 1 1.5 m
    event 2 (freq 0.02/yr): cell 0 3.0 m, cell 2 0.5 m
    """
    dense = np.array([[1.0, 0.0, 2.0, 0.0], [0.5, 1.5, 0.0, 0.0], [3.0, 0.0, 0.5, 0.0]], np.float32)
    return EventSet(
        intensity=sparse.csr_matrix(dense),
        frequency=np.array([0.10, 0.01, 0.02]),
        event_id=np.array([11, 12, 13]),
        kind="riverine-flood",
        units="m",
        crs="EPSG:4326",
        transform=TRANSFORM,
        shape=(2, 2),
        provenance={"test": "three_events", "tuple": (1, 2)},
    )


@pytest.fixture
def rng():
    return np.random.default_rng(20250601)


def random_set(rng, n_events=300, rows=20, cols=25, density=0.05) -> EventSet:
    matrix = sparse.random(n_events, rows * cols, density=density, format="csr", random_state=rng,
                           data_rvs=lambda n: rng.uniform(0.01, 6.0, n)).astype(np.float32)
    return EventSet(intensity=matrix, frequency=rng.uniform(0, 0.01, n_events),
                    event_id=np.arange(n_events), kind="riverine-flood", units="m",
                    crs="EPSG:4326", transform=(0.1, 0, 68, 0, -0.1, 26), shape=(rows, cols))


def disc_footprint(*, return_period: float, seed: int, size: int = 50) -> object:
    """A flood disc on a 50x50 grid: radius and depth grow with ln(return period); seeded jitter."""
    jitter = np.random.default_rng(seed).uniform(-1.0, 1.0)
    r, c = np.mgrid[0:size, 0:size]
    radius = min(2.0 + 4.0 * np.log(return_period) + jitter, size / 2 - 1)
    depth = 0.5 + 0.5 * np.log(return_period)
    inside = np.hypot(r - size // 2, c - size // 2) <= radius
    values = np.where(inside, depth, 0.0)
    return make_layer(values, Affine(0.01, 0, 70.0, 0, -0.01, 28.0), "EPSG:4326", units="m",
                      kind="riverine-flood", provenance={"disc": return_period, "seed": seed})


# ---------------------------------------------------------------------------------------------
# Hand-computed answers on three events


def test_exceedance_frequency_by_hand(three_events):
    # cell 0 reaches 1.0 m in events 0 (0.10) and 2 (0.02); cell 1 in event 1 (0.01);
    # cell 2 in event 0 (0.10); cell 3 never.
    np.testing.assert_allclose(three_events.exceedance_frequency(1.0), [0.12, 0.01, 0.10, 0.0])
    np.testing.assert_allclose(three_events.exceedance_frequency(3.0), [0.02, 0.0, 0.0, 0.0])
    # 0 m is reached by every event everywhere (unstored cells read as 0)
    np.testing.assert_allclose(three_events.exceedance_frequency(0.0), [0.13] * 4)
    both = three_events.exceedance_frequency([0.5, 2.0])
    np.testing.assert_allclose(both, [[0.13, 0.01, 0.12, 0.0], [0.02, 0.0, 0.10, 0.0]])
    # the other direction: frequency of depth <= 0.5 m
    np.testing.assert_allclose(three_events.exceedance_frequency(0.5, direction="decreasing"),
                               [0.01, 0.12, 0.03, 0.13])


def test_return_level_by_hand(three_events):
    # cell 0 ranked: 3.0 m (0.02), 1.0 m (cum 0.12), 0.5 m (cum 0.13)
    levels = three_events.return_level([10, 50, 100, 1000])
    np.testing.assert_allclose(levels, [
        [1.0, 0.0, 2.0, 0.0],   # 1/10 = 0.10
        [3.0, 0.0, 2.0, 0.0],   # 1/50 = 0.02
        [3.0, 1.5, 2.0, 0.0],   # 1/100 = 0.01
        [3.0, 1.5, 2.0, 0.0],
    ])
    # 1/8 = 0.125 is reached in cell 0 only at its third event (cum 0.13); 1/5 nowhere
    np.testing.assert_allclose(three_events.return_level(8), [0.5, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(three_events.return_level(5), [0.0, 0.0, 0.0, 0.0])


def test_tier_frequency_and_expected_annual_by_hand(three_events):
    f = impact.load("flood_depth_damage")
    # kacha tiers start at 0.3 / 1.0 / 2.0 m
    np.testing.assert_allclose(three_events.tier_frequency(f, housing="kacha"), [
        [0.13, 0.01, 0.12, 0.0],
        [0.12, 0.01, 0.10, 0.0],
        [0.02, 0.0, 0.10, 0.0],
    ])
    # kacha shares: 0.5 m 0.494, 1.0 m 0.721, 1.5 m 0.870, 2.0 m 0.931, 3.0 m 1.0
    expected = [0.10 * 0.721 + 0.01 * 0.494 + 0.02 * 1.0, 0.01 * 0.870, 0.10 * 0.931 + 0.02 * 0.494, 0.0]
    np.testing.assert_allclose(three_events.expected_annual(f, housing="kacha"), expected)
    with pytest.raises(HazardError, match="pass housing='kacha' or housing='pakka'"):
        three_events.tier_frequency(f)


def test_heat_tiers_without_displaced():
    es = EventSet(intensity=sparse.csr_matrix(np.array([[46.0, 48.0]])), frequency=[0.5],
                  event_id=[0], kind="heatwave", units="degC", crs="EPSG:4326",
                  transform=TRANSFORM, shape=(1, 2))
    np.testing.assert_allclose(es.tier_frequency(impact.load("heat_tmax")), [[0.5, 0.5], [0.0, 0.5], [0.0, 0.0]])


# ---------------------------------------------------------------------------------------------
# Cross-checks against dense computations


def test_expected_annual_equals_dense(rng):
    es = random_set(rng)
    f = impact.load("flood_depth_damage")
    housing = rng.integers(0, 2, es.n_cells).astype(np.int8)
    dense = es.intensity.toarray()
    share = f.share(dense, housing=np.broadcast_to(housing, dense.shape))
    np.testing.assert_allclose(es.expected_annual(f, housing=housing), es.frequency @ share, rtol=1e-12)
    np.testing.assert_allclose(es.expected_annual(f, housing="pakka"),
                               es.frequency @ f.share(dense, housing="pakka"), rtol=1e-12)
    assert sparse.issparse(es.impact(f, housing=housing))


def test_exceedance_and_return_level_equal_dense(rng):
    es = random_set(rng)
    dense = es.intensity.toarray()
    for t in (-1.0, 0.0, 0.5, 2.0, 5.9):
        np.testing.assert_allclose(es.exceedance_frequency(t), es.frequency @ (dense >= t), rtol=1e-12)
    levels = es.return_level([20.0, 200.0])
    for k, period in enumerate((20.0, 200.0)):
        for cell in range(es.n_cells):  # brute force, one cell at a time
            order = np.argsort(-dense[:, cell], kind="stable")
            order = order[dense[order, cell] > 0]
            cum = np.cumsum(es.frequency[order])
            hit = np.flatnonzero(cum >= 1 / period * (1 - 1e-9))
            expected = dense[order[hit[0]], cell] if len(hit) else 0.0
            assert levels[k, cell] == pytest.approx(expected), (period, cell)
    # float64 intensities take the other (rank-based) sort key and give the same levels
    es64 = EventSet(intensity=es.intensity.astype(np.float64), frequency=es.frequency,
                    event_id=es.event_id, kind=es.kind, units=es.units, crs=es.crs,
                    transform=es.transform, shape=es.shape)
    np.testing.assert_array_equal(es64.return_level([20.0, 200.0]), levels)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-1, 7, allow_nan=False), min_size=2, max_size=8))
def test_exceedance_never_rises_with_threshold(thresholds):
    es = random_set(np.random.default_rng(7), n_events=40, rows=4, cols=5, density=0.3)
    ordered = np.sort(thresholds)
    freq = es.exceedance_frequency(ordered)
    assert (np.diff(freq, axis=0) <= 1e-15).all()


def test_expected_annual_at_points(three_events):
    f = impact.load("flood_depth_damage")
    lon = np.array([68.5, 69.5, 68.5, 69.5, 75.0])  # cell centres 0..3, then outside
    lat = np.array([25.5, 25.5, 24.5, 24.5, 25.0])
    housing = np.array(["kacha", "pakka", "pakka", "kacha", "kacha"])
    out = three_events.expected_annual_at(f, lon, lat, housing=housing)
    kacha = three_events.expected_annual(f, housing="kacha")
    pakka = three_events.expected_annual(f, housing="pakka")
    np.testing.assert_allclose(out[:4], [kacha[0], pakka[1], pakka[2], kacha[3]])
    assert np.isnan(out[4])


def test_impact_function_checks(three_events, tmp_path):
    with pytest.raises(HazardError, match="event set is in 'm' but impact function 'heat_tmax' takes 'degC'"):
        three_events.expected_annual(impact.load("heat_tmax"))
    with pytest.raises(HazardError, match="is a 'riverine-flood' hazard but impact function 'flash_flood_depth'"):
        three_events.expected_annual(impact.load("flash_flood_depth"), housing="kacha")
    (tmp_path / "functions.csv").write_text(
        ",".join(impact.REGISTRY_COLUMNS) + "\n"
        "bare,riverine-flood,m,sigmoid,any,increasing,,midpoint=1; slope=1,1,2,3,test\n"
    )
    bare = impact.load("bare", folder=tmp_path)
    with pytest.raises(HazardError, match="gives share 0.269 at intensity 0.*give the function a cutoff"):
        three_events.expected_annual(bare)


# ---------------------------------------------------------------------------------------------
# Cells, sampling and footprints


def test_cell_index_uses_overlay_edges(three_events):
    # (68.5, 25.5) centre of cell 0; x = 69.0 is the edge between columns 0 and 1 -> column 1;
    # y = 25.0 the edge between rows 0 and 1 -> row 1; the right/bottom outer edges are outside.
    lon = np.array([68.5, 69.0, 68.5, 70.0, 68.5, np.nan])
    lat = np.array([25.5, 25.5, 25.0, 25.5, 24.0, 25.5])
    np.testing.assert_array_equal(three_events.cell_index(lon, lat), [0, 1, 2, -1, -1, -1])


def test_sample_cells(three_events):
    lon = np.array([69.5, 68.5, 80.0, 68.5])
    lat = np.array([25.5, 24.5, 25.0, 25.5])
    matrix, cells = three_events.sample_cells(lon, lat)
    np.testing.assert_array_equal(cells, [1, 2, -1, 0])
    dense = three_events.intensity.toarray()
    expected = np.column_stack([dense[:, 1], dense[:, 2], np.zeros(3), dense[:, 0]])
    np.testing.assert_array_equal(matrix.toarray(), expected)
    assert matrix.shape == (3, 4)


def test_footprint_and_template(three_events):
    layer = three_events.footprint(2)
    np.testing.assert_array_equal(layer.values, [[3.0, 0.0], [0.5, 0.0]])
    assert layer.attrs["units"] == "m" and layer.attrs["kind"] == "riverine-flood"
    assert json.loads(layer.attrs["provenance"])["event_id"] == 13
    assert three_events.template().shape == (2, 2)
    with pytest.raises(HazardError, match="event position 3 is outside 0..2"):
        three_events.footprint(3)


def test_from_layers_drops_zero_and_nan():
    layers = [disc_footprint(return_period=t, seed=1) for t in (2.0, 20.0)]
    layers[0].values[0, 0] = np.nan
    es = EventSet.from_layers(layers, [0.5, 0.05], provenance={"from": "test"})
    assert es.n_events == 2 and es.n_cells == 2500 and es.shape == (50, 50)
    assert np.isfinite(es.intensity.data).all() and (es.intensity.data != 0).all()
    np.testing.assert_allclose(es.footprint(1).values, layers[1].values)
    stacked = EventSet.from_layers(xr.concat(layers, dim="event"), [0.5, 0.05])
    assert (stacked.intensity != es.intensity).nnz == 0


def test_from_layers_errors(monkeypatch):
    a = disc_footprint(return_period=5.0, seed=1)
    b = make_layer(a.values, Affine(0.02, 0, 70.0, 0, -0.02, 28.0), "EPSG:4326", units="m",
                   kind="riverine-flood", provenance={})
    with pytest.raises(HazardError, match="event 1: transform .* differs from the first event's"):
        EventSet.from_layers([a, b], [1.0, 1.0])
    with pytest.raises(HazardError, match="2 footprints but 1 frequencies"):
        EventSet.from_layers([a, a], [1.0])
    with pytest.raises(HazardError, match="no footprints were given"):
        EventSet.from_layers([], [])
    with pytest.raises(HazardError, match="event 0: a footprint must be a 2-D hazard layer"):
        EventSet.from_layers([np.zeros((2, 2))], [1.0])
    monkeypatch.setenv(events.MAX_NNZ_ENV, "10")
    with pytest.raises(HazardError, match="exceeds 10 stored values at event 0.*MADAD_MAX_EVENT_NNZ"):
        EventSet.from_layers([a], [1.0])


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"frequency": [0.1, -0.01, 0.02]}, "frequency must be finite and >= 0"),
        ({"frequency": [0.1, 0.01]}, r"intensity has shape \(3, 4\) but 2 frequencies"),
        ({"event_id": [1, 1, 2]}, "event_id values must be unique"),
        ({"kind": "tsunami"}, "kind 'tsunami' is not one of"),
        ({"units": "ft"}, "units 'ft' is not one of"),
        ({"crs": ""}, "needs a CRS"),
        ({"transform": (1, 0.5, 68, 0, -1, 26)}, "rotated grids are not supported"),
        ({"shape": (4, 2)}, r"a 4x2 grid need \(3, 8\)"),
        ({"intensity": sparse.csr_matrix(np.array([[np.nan, 0, 0, 0]] * 3))}, "holds NaN or infinite"),
        ({"event_attrs": {"year": np.arange(2)}}, "event attribute 'year' must be a numeric array of 3"),
    ],
)
def test_event_set_validation(three_events, change, match):
    fields = {name: getattr(three_events, name) for name in (
        "intensity", "frequency", "event_id", "kind", "units", "crs", "transform", "shape")}
    fields.update(change)
    with pytest.raises(HazardError, match=match):
        EventSet(**fields)


# ---------------------------------------------------------------------------------------------
# Files


def _assert_same(a: EventSet, b: EventSet) -> None:
    for name in ("data", "indices", "indptr"):
        x, y = getattr(a.intensity, name), getattr(b.intensity, name)
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)
    assert a.intensity.shape == b.intensity.shape
    for name in ("frequency", "event_id"):
        assert getattr(a, name).dtype == getattr(b, name).dtype
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert (a.kind, a.units, a.crs, a.transform, a.shape) == (b.kind, b.units, b.crs, b.transform, b.shape)
    assert a.provenance == b.provenance
    assert sorted(a.event_attrs) == sorted(b.event_attrs)
    for name, values in a.event_attrs.items():
        assert values.dtype == b.event_attrs[name].dtype
        np.testing.assert_array_equal(values, b.event_attrs[name])


def test_round_trip_exact(three_events, tmp_path):
    path = three_events.save(tmp_path / "sets" / "three.npz")
    back = events.load(path)
    _assert_same(three_events, back)
    assert back.provenance == {"test": "three_events", "tuple": [1, 2]}
    # the same set gives a byte-identical file
    again = back.save(tmp_path / "again.npz")
    assert again.read_bytes() == path.read_bytes()


def test_round_trip_stochastic(tmp_path):
    es = stochastic("riverine-flood", 30, years=300, seed=5, footprint=disc_footprint)
    back = EventSet.load(es.save(tmp_path / "floods.bin"))  # any suffix; nothing is appended
    _assert_same(es, back)
    assert (tmp_path / "floods.bin").exists()


def test_load_errors(three_events, tmp_path):
    with pytest.raises(HazardError, match="no such event set file; write one with EventSet.save"):
        events.load(tmp_path / "absent.npz")
    good = three_events.save(tmp_path / "good.npz").read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(HazardError, match="truncated.npz: not a readable event set .npz.*truncated or corrupt"):
        events.load(truncated)
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(HazardError, match="text.npz: not a readable event set"):
        events.load(text)
    other = tmp_path / "other.npz"
    np.savez_compressed(other, data=np.arange(3))
    with pytest.raises(HazardError, match=r"entries \['metadata', 'indices'.*are missing"):
        events.load(other)
    with np.load(tmp_path / "good.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(str(arrays["metadata"]))
    meta["version"] = 99
    arrays["metadata"] = np.array(json.dumps(meta))
    newer = tmp_path / "newer.npz"
    np.savez_compressed(newer, **arrays)
    with pytest.raises(HazardError, match="format version 99; this Madad reads version 1"):
        events.load(newer)


# ---------------------------------------------------------------------------------------------
# Stochastic sets


def test_stochastic_frequencies_and_return_periods():
    years, n = 2000.0, 400
    es = stochastic("riverine-flood", n, years=years, seed=3, footprint=disc_footprint)
    assert es.n_events == n and es.shape == (50, 50)
    np.testing.assert_allclose(es.frequency, 1 / years)
    rp = es.event_attrs["return_period"]
    assert rp.min() >= years / n
    # stratified draws: the count of events with T >= t is years / t to within one event
    for t in (5.0, 10.0, 50.0, 100.0, 500.0):
        assert abs((rp >= t).sum() - years / t) <= 1.0, t
    years_drawn = es.event_attrs["year"]
    assert years_drawn.min() >= 0 and years_drawn.max() < years
    # the centre cell's depth grows with T, so its exceedance frequency of depth(t) is ~1/t
    centre = 25 * 50 + 25
    for t in (10.0, 100.0):
        aef = es.exceedance_frequency(0.5 + 0.5 * np.log(t) - 1e-6)[centre]
        assert aef == pytest.approx(1 / t, abs=1.5 / years)
        assert es.return_level(t)[centre] == pytest.approx(0.5 + 0.5 * np.log(t), abs=0.05)
    assert es.provenance["footprint"] == f"{disc_footprint.__module__}.disc_footprint"
    assert es.provenance["seed"] == 3 and es.provenance["years"] == years


def test_stochastic_is_reproducible_and_seeded():
    a = stochastic("riverine-flood", 20, years=100, seed=9, footprint=disc_footprint)
    b = stochastic("riverine-flood", 20, years=100, seed=9, footprint=disc_footprint)
    c = stochastic("riverine-flood", 20, years=100, seed=10, footprint=disc_footprint)
    _assert_same(a, b)
    assert not np.array_equal(a.event_attrs["return_period"], c.event_attrs["return_period"])


def test_stochastic_partial_and_cap():
    fp = partial(disc_footprint, size=30)
    es = stochastic("riverine-flood", 10, years=10, seed=1, footprint=fp, max_return_period=50.0)
    assert es.shape == (30, 30)
    assert es.provenance["footprint"] == f"partial({disc_footprint.__module__}.disc_footprint, size=30)"
    assert es.intensity.data.max() <= 0.5 + 0.5 * np.log(50.0) + 1e-6


def test_stochastic_errors():
    with pytest.raises(HazardError, match="event 0: the footprint returned kind 'riverine-flood', not 'cyclone'"):
        stochastic("cyclone", 3, years=10, seed=1, footprint=disc_footprint)
    with pytest.raises(HazardError, match="kind 'tsunami' is not one of"):
        stochastic("tsunami", 3, years=10, seed=1, footprint=disc_footprint)
    with pytest.raises(HazardError, match="n_events must be >= 1"):
        stochastic("riverine-flood", 0, years=10, seed=1, footprint=disc_footprint)
    with pytest.raises(HazardError, match="years must be > 0"):
        stochastic("riverine-flood", 3, years=0, seed=1, footprint=disc_footprint)
    with pytest.raises(HazardError, match="footprint must be a callable"):
        stochastic("riverine-flood", 3, years=10, seed=1, footprint=None)
    with pytest.raises(HazardError, match="return periods must be finite and > 0"):
        stochastic("riverine-flood", 3, years=10, seed=1, footprint=disc_footprint).return_level(0)
    with pytest.raises(HazardError, match="direction 'down' is not one of"):
        stochastic("riverine-flood", 3, years=10, seed=1, footprint=disc_footprint).exceedance_frequency(1, direction="down")
