"""Impact functions: hand-computed answers, properties, shipped tables, and every error path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

from hazards import impact
from hazards.errors import HazardError
from hazards.layer import make_layer

HEADER = ",".join(impact.REGISTRY_COLUMNS)


@pytest.fixture
def toy_folder(tmp_path):
    """Factory: write a registry (rows without the header) and tables into a fresh folder."""
    counter = iter(range(1000))

    def make(rows: list[str], tables: dict[str, str] | None = None) -> Path:
        folder = tmp_path / f"impact{next(counter)}"
        folder.mkdir()
        (folder / impact.REGISTRY).write_text("# toy registry\n" + HEADER + "\n" + "\n".join(rows) + "\n")
        for name, text in (tables or {}).items():
            (folder / name).write_text(text)
        return folder

    return make


def _row(name="toy", kind="riverine-flood", units="m", form="piecewise_linear", housing="any",
         direction="increasing", table="toy.csv", params="", tiers=("1", "2", "3"), source="test"):
    return ",".join([name, kind, units, form, housing, direction, table, params, *tiers, source])


# ---------------------------------------------------------------------------------------------
# Known answers for each form


def test_piecewise_linear_known_answers(toy_folder):
    folder = toy_folder([_row()], {"toy.csv": "# c\nintensity,share\n0,0\n1,0.5\n3,0.9\n"})
    f = impact.load("toy", folder=folder)
    share = f.share(np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 10.0]))
    np.testing.assert_allclose(share, [0.0, 0.0, 0.25, 0.5, 0.7, 0.9, 0.9])
    tier = f.tier(np.array([0.99, 1.0, 1.99, 2.0, 3.0, 100.0]))
    np.testing.assert_array_equal(tier, [0, 1, 1, 2, 3, 3])
    assert tier.dtype == np.int8


def test_step_known_answers(toy_folder):
    folder = toy_folder([_row(form="step")], {"toy.csv": "intensity,share\n1,0.2\n2,0.6\n4,1\n"})
    f = impact.load("toy", folder=folder)
    share = f.share(np.array([0.0, 0.999, 1.0, 1.5, 2.0, 3.99, 4.0, 9.0]))
    np.testing.assert_allclose(share, [0, 0, 0.2, 0.2, 0.6, 0.6, 1.0, 1.0])


def test_sigmoid_known_answers(toy_folder):
    folder = toy_folder([_row(form="sigmoid", table="", params="midpoint=2; slope=3; top=0.8; cutoff=1")])
    f = impact.load("toy", folder=folder)
    share = f.share(np.array([0.0, 0.99, 1.0, 2.0, 3.0]))
    expected = [0.0, 0.0, 0.8 * expit(-3.0), 0.4, 0.8 * expit(3.0)]
    np.testing.assert_allclose(share, expected)


def test_decreasing_direction_known_answers(toy_folder):
    folder = toy_folder(
        [_row(form="step", direction="decreasing", tiers=("-1", "-1.5", "-2"), units="index", kind="drought")],
        {"toy.csv": "intensity,share\n-1,0.5\n-2,1\n"},
    )
    f = impact.load("toy", folder=folder)
    spi = np.array([1.0, 0.0, -0.99, -1.0, -1.5, -1.99, -2.0, -3.0])
    np.testing.assert_allclose(f.share(spi), [0, 0, 0, 0.5, 0.5, 0.5, 1.0, 1.0])
    np.testing.assert_array_equal(f.tier(spi), [0, 0, 0, 1, 2, 2, 3, 3])
    assert f.thresholds() == {"affected": -1.0, "severely_affected": -1.5, "displaced": -2.0}


def test_shipped_flood_curves():
    f = impact.load("flood_depth_damage")
    depth = np.array([0.0, 0.25, 0.5, 1.0, 2.0, 3.0, 6.0, 9.0])
    # JRC Asia residential: 0.327 at 0.5 m, 0.494 at 1 m, 0.721 at 2 m, 1 from 6 m
    np.testing.assert_allclose(f.share(depth, housing="pakka"),
                               [0, 0.1635, 0.327, 0.494, 0.721, 0.870, 1.0, 1.0])
    # kacha: the same curve at half the depth
    np.testing.assert_allclose(f.share(depth, housing="kacha"),
                               [0, 0.327, 0.494, 0.721, 0.931, 1.0, 1.0, 1.0])
    np.testing.assert_array_equal(f.tier(np.array([0.29, 0.3, 0.99, 1.0, 2.0]), housing="kacha"),
                                  [0, 1, 1, 2, 3])
    np.testing.assert_array_equal(f.tier(np.array([0.49, 0.5, 1.5, 2.99, 3.0]), housing="pakka"),
                                  [0, 1, 2, 2, 3])
    assert f.units == "m" and f.kind == "riverine-flood"


def test_shipped_step_sigmoid_and_spi():
    heat = impact.load("heat_tmax")
    np.testing.assert_allclose(heat.share(np.array([44.9, 45.0, 50.0])), [0, 1, 1])
    np.testing.assert_array_equal(heat.tier(np.array([44.9, 45.0, 46.9, 47.0, 55.0])), [0, 1, 1, 2, 2])
    quake = impact.load("earthquake_mmi")
    # Lagomarsino & Giovinazzi: half the damage scale at I = 13.1 - 6.25 V
    np.testing.assert_allclose(quake.share(np.array([7.6]), housing="kacha"), [0.5])
    np.testing.assert_allclose(quake.share(np.array([8.6]), housing="pakka"), [0.5])
    assert quake.share(np.array([4.99]), housing="kacha")[0] == 0.0
    np.testing.assert_array_equal(quake.tier(np.array([5.9, 6, 7, 8, 12]), housing="kacha"), [0, 1, 2, 3, 3])
    spi = impact.load("drought_spi")
    np.testing.assert_array_equal(spi.tier(np.array([0.5, -1.2, -1.7, -2.4])), [0, 1, 2, 3])


def test_nan_gives_zero_for_every_function():
    values = np.array([np.nan, np.nan])
    for name in impact.names():
        f = impact.load(name)
        housing = None if not f.by_housing else np.array(["kacha", "pakka"])
        np.testing.assert_array_equal(f.share(values, housing=housing), [0.0, 0.0])
        np.testing.assert_array_equal(f.tier(values, housing=housing), [0, 0])


# ---------------------------------------------------------------------------------------------
# Properties


def _severity_order(f, values):
    return np.sort(values) if f.direction == "increasing" else np.sort(values)[::-1]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-50, 200, allow_nan=False), min_size=1, max_size=60))
def test_share_monotone_and_bounded(values):
    for name in impact.names():
        f = impact.load(name)
        ordered = _severity_order(f, np.array(values))
        for key in f.housing:
            housing = None if key == "any" else key
            share = f.share(ordered, housing=housing)
            tier = f.tier(ordered, housing=housing)
            assert ((share >= 0) & (share <= 1)).all(), name
            assert (np.diff(share) >= 0).all(), name
            assert (np.diff(tier.astype(int)) >= 0).all(), name
            assert ((tier >= 0) & (tier <= 3)).all(), name


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 150, allow_nan=False), min_size=1, max_size=60))
def test_kacha_at_least_as_damaged_as_pakka(values):
    values = np.array(values)
    for name in impact.names():
        f = impact.load(name)
        if not f.by_housing:
            continue
        assert (f.share(values, housing="kacha") >= f.share(values, housing="pakka")).all(), name
        assert (f.tier(values, housing="kacha") >= f.tier(values, housing="pakka")).all(), name


def test_kacha_above_pakka_on_a_fine_depth_grid():
    f = impact.load("flood_depth_damage")
    depth = np.linspace(0, 8, 8001)
    assert (f.share(depth, housing="kacha") >= f.share(depth, housing="pakka")).all()
    assert (f.tier(depth, housing="kacha") >= f.tier(depth, housing="pakka")).all()


# ---------------------------------------------------------------------------------------------
# The shipped tables


def test_every_shipped_table_validates(root):
    loaded = impact.check_all()
    assert set(loaded) == {
        "flood_depth_damage", "flash_flood_depth", "flash_flood_rainfall", "heat_tmax",
        "heat_index", "drought_spi", "earthquake_mmi", "cyclone_wind",
    }
    folder = root / "data" / "impact"
    registry = (folder / impact.REGISTRY).read_text()
    readme = (folder / "README.md").read_text()
    for table in folder.glob("*.csv"):
        if table.name == impact.REGISTRY:
            continue
        assert table.name in registry, f"{table.name} is not registered"
        assert table.name in readme, f"{table.name} has no source in README.md"
        assert table.read_text().startswith("#"), f"{table.name} has no header comment"
    for name in loaded:
        assert impact.load(name).source


def test_names_by_kind_and_cache():
    assert impact.names("heatwave") == ["heat_index", "heat_tmax"]
    assert impact.load("cyclone_wind") is impact.load("cyclone_wind")
    with pytest.raises(HazardError, match="kind 'tsunami' is not one of"):
        impact.names("tsunami")


def test_housing_order_matches_registry():
    from simulator.registry import HOUSING

    assert list(impact.HOUSING) == list(HOUSING)


# ---------------------------------------------------------------------------------------------
# Housing and layers


def test_housing_as_strings_categorical_and_codes():
    f = impact.load("flood_depth_damage")
    depth = np.array([1.0, 1.0, 1.0])
    strings = f.share(depth, housing=np.array(["kacha", "pakka", "kacha"]))
    categorical = f.share(depth, housing=pd.Categorical(["kacha", "pakka", "kacha"], categories=["pakka", "kacha"]))
    series = f.share(depth, housing=pd.Series(["kacha", "pakka", "kacha"], dtype="category"))
    codes = f.share(depth, housing=np.array([0, 1, 0], dtype=np.int8))
    np.testing.assert_allclose(strings, [0.721, 0.494, 0.721])
    for other in (categorical, series, codes):
        np.testing.assert_array_equal(other, strings)
    # a scalar broadcasts; an 'any' function ignores housing
    np.testing.assert_allclose(f.share(depth, housing="pakka"), [0.494] * 3)
    heat = impact.load("heat_tmax")
    np.testing.assert_array_equal(heat.share(np.array([46.0]), housing="tent"), [1.0])


def test_housing_errors():
    f = impact.load("flood_depth_damage")
    depth = np.array([1.0, 2.0])
    with pytest.raises(HazardError, match="pass housing="):
        f.share(depth)
    with pytest.raises(HazardError, match=r"housing values \['tent'\] are not one of"):
        f.share(depth, housing=np.array(["kacha", "tent"]))
    with pytest.raises(HazardError, match="1 entries have no housing type"):
        f.share(depth, housing=pd.Categorical(["kacha", None], categories=["kacha", "pakka"]))
    with pytest.raises(HazardError, match="categories \\['mud'\\] are not in"):
        f.share(depth, housing=pd.Categorical(["mud", "kacha"]))
    with pytest.raises(HazardError, match="codes must be 0 \\(kacha\\) or 1 \\(pakka\\)"):
        f.share(depth, housing=np.array([0, 2]))
    with pytest.raises(HazardError, match="does not match intensity of shape"):
        f.share(depth, housing=np.array(["kacha", "pakka", "kacha"]))
    with pytest.raises(HazardError, match="housing 'tent' is not one of"):
        f.share(depth, housing="tent")


def _layer(units="m", kind="riverine-flood"):
    values = np.array([[0.0, 0.5], [1.0, np.nan]], dtype=np.float32)
    return make_layer(values, Affine(0.5, 0, 68, 0, -0.5, 26), "EPSG:4326", units=units, kind=kind,
                      provenance={"test": "layer"})


def test_layer_in_layer_out():
    f = impact.load("flood_depth_damage")
    layer = _layer()
    share = f.share(layer, housing="kacha")
    assert share.dims == ("y", "x") and share.attrs["units"] == "1"
    assert share.attrs["crs"] == "EPSG:4326" and share.attrs["impact_function"] == "flood_depth_damage"
    np.testing.assert_allclose(share.values, [[0.0, 0.494], [0.721, 0.0]])
    np.testing.assert_array_equal(share.x, layer.x)
    tier = f.tier(layer, housing="kacha")
    np.testing.assert_array_equal(tier.values, [[0, 1, ], [2, 0]])


def test_layer_units_and_kind_are_checked():
    f = impact.load("flood_depth_damage")
    with pytest.raises(HazardError, match="is in 'mm' but impact function 'flood_depth_damage' takes 'm'"):
        f.share(_layer(units="mm", kind="flash-flood"), housing="kacha")
    with pytest.raises(HazardError, match="is a 'flash-flood' hazard .* use one of \\['flash_flood_depth'"):
        f.share(_layer(kind="flash-flood"), housing="kacha")
    layer = _layer()
    del layer.attrs["units"]
    with pytest.raises(HazardError, match="has no units; set layer.attrs\\['units'\\]"):
        f.tier(layer, housing="kacha")


# ---------------------------------------------------------------------------------------------
# Bad tables: each raises HazardError naming the file, the line and the fix


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ("intensity,share\n0,0\n1,0.6\n2,0.4\n", r"toy.csv line 4: share 0.4 is below the line before"),
        ("intensity,share\n0,0\n1,1.2\n", r"toy.csv line 3: share 1.2 is outside \[0, 1\]"),
        ("intensity,share\n0,0\n2,0.5\n1,0.6\n", r"toy.csv line 4: intensity 1 does not increase .* sort the rows"),
        ("intensity,share\n0,0\n1,0.5\n1,0.6\n", r"line 4: intensity 1 does not increase"),
        ("intensity,share\n0,0\n1,abc\n", r"line 3: share 'abc' is not a number"),
        ("depth,share\n0,0\n1,1\n", r"columns \['intensity'\] are missing"),
        ("intensity,share\n0,0\n", r"a piecewise_linear table needs at least 2 rows"),
        ("intensity,share\n0,0\n1,nan\n", r"line 3: share is 'nan'; write a finite number"),
    ],
)
def test_bad_tables(toy_folder, table, match):
    folder = toy_folder([_row()], {"toy.csv": table})
    with pytest.raises(HazardError, match=match):
        impact.load("toy", folder=folder)


@pytest.mark.parametrize(
    ("row", "match"),
    [
        (_row(form="cubic"), r"functions.csv line 3: form 'cubic' is not one of \['step', 'piecewise_linear', 'sigmoid'\]"),
        (_row(kind="tsunami"), r"kind 'tsunami' is not one of"),
        (_row(units="ft"), r"units 'ft' is not one of"),
        (_row(housing="tent"), r"housing 'tent' is not one of \['any', 'kacha', 'pakka'\]"),
        (_row(direction="up"), r"direction 'up' is not one of"),
        (_row(tiers=("2", "1", "3")), r"line 3: tier thresholds .* must increase from affected to severely_affected"),
        (_row(tiers=("1", "", "3")), r"skip a tier; only the highest tiers may be left blank"),
        (_row(tiers=("", "", "")), r"the 'affected' threshold is empty"),
        (_row(tiers=("1", "x", "3")), r"severely_affected 'x' is not a number"),
        (_row(form="sigmoid", table="", params=""), r"a sigmoid needs params"),
        (_row(form="sigmoid", table="", params="midpoint=2"), r"a sigmoid needs params \['slope'\]"),
        (_row(form="sigmoid", table="", params="midpoint=2; slope=-1"), r"sigmoid slope -1 must be > 0"),
        (_row(form="sigmoid", table="", params="midpoint=2; slope=1; top=2"), r"sigmoid top 2 must be in \(0, 1\]"),
        (_row(form="sigmoid", table="", params="mid=2; slope=1"), r"params item 'mid=2' is not one of"),
        (_row(table="missing.csv"), r"missing.csv: missing"),
        (_row(table=""), r"a piecewise_linear function needs a table file"),
        (_row(housing="kacha"), r"function 'toy' has housing rows \['kacha'\]"),
        (_row(direction="decreasing", tiers=("-1", "-2", "-3")), r"intensity 1 does not decrease .* strictly decreasing"),
        (_row(direction="decreasing", tiers=("-1", "-2", "-0.5")), r"must decrease .*direction=decreasing"),
    ],
)
def test_bad_registry_rows(toy_folder, row, match):
    folder = toy_folder([row], {"toy.csv": "intensity,share\n0,0\n1,0.5\n"})
    with pytest.raises(HazardError, match=match):
        impact.load("toy", folder=folder)


def test_bad_registry_structure(toy_folder, tmp_path):
    folder = toy_folder([_row(housing="kacha"), _row(housing="pakka", units="mm")], {"toy.csv": "intensity,share\n0,0\n1,1\n"})
    with pytest.raises(HazardError, match=r"line 4: units 'mm' differs from line 3 \('m'\)"):
        impact.load("toy", folder=folder)
    folder = toy_folder([_row(), _row(name="other")], {"toy.csv": "intensity,share\n0,0\n1,1\n"})
    with pytest.raises(HazardError, match=r"impact function 'nope' is unknown; valid names: \['other', 'toy'\]"):
        impact.load("nope", folder=folder)
    with pytest.raises(HazardError, match="functions.csv: missing"):
        impact.load("toy", folder=tmp_path / "nowhere")
    folder = toy_folder([_row() + ",extra"], {"toy.csv": "intensity,share\n0,0\n1,1\n"})
    with pytest.raises(HazardError, match="line 3: 13 fields but the header has 12"):
        impact.load("toy", folder=folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / impact.REGISTRY).write_text("name,kind\n")
    with pytest.raises(HazardError, match=r"columns \[.*'units'.*\] are missing"):
        impact.names(folder=empty)


def test_unknown_shipped_name_lists_valid_ones():
    with pytest.raises(HazardError, match=r"'flood' is unknown; valid names: \['cyclone_wind'"):
        impact.load("flood")
