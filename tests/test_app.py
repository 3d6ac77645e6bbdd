"""The Streamlit app, run headless with streamlit.testing, and its pure map helpers.

The app runs on a 20,000-household demo registry (``MADAD_DEMO_HOUSEHOLDS``) to stay fast;
every figure it shows is compared with a direct ``runner.run`` of the same scenario.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from simulator import runner, scenario

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
DEMO = ROOT / "scenarios" / "indus-flood-demo.yaml"
HOUSEHOLDS = 20_000
MAX_DECK_BYTES = 5 * 1024 * 1024


def _load_app_module():
    """app.py imported as a module (its page only runs as ``__main__``)."""
    spec = importlib.util.spec_from_file_location("madad_app", APP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


app = _load_app_module()


@pytest.fixture
def env(monkeypatch):
    """A small demo registry and no boundary file, whatever the caller's environment."""
    monkeypatch.setenv("MADAD_DEMO_HOUSEHOLDS", str(HOUSEHOLDS))
    for name in ("MADAD_BOUNDARIES", "MADAD_BOUNDARIES_LAYER", "MADAD_BOUNDARIES_CODE_COLUMN",
                 "MADAD_BOUNDARIES_NAME_COLUMN"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture(scope="module")
def demo():
    return scenario.load(DEMO)


@pytest.fixture(scope="module")
def expected(demo):
    """The demo plan computed without the app."""
    return runner.run(demo, base=DEMO.parent, households=HOUSEHOLDS).plan


def run_app() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def formatted(totals: dict) -> dict[str, str]:
    """The headline figures as the app formats them."""
    return {
        "Affected households": f"{totals['affected_households']:,}",
        "Affected people": f"{totals['affected_people']:,}",
        "Paid households": f"{totals['paid_households']:,}",
        "Total amount": f"PKR {totals['amount_pkr']:,}",
        "Federal share": f"PKR {totals['federal_pkr']:,}",
        "Provincial share": f"PKR {totals['provincial_pkr']:,}",
    }


def deck_spec(at: AppTest) -> tuple[dict, int]:
    charts = at.get("deck_gl_json_chart")
    assert len(charts) == 1
    text = charts[0].proto.json
    return json.loads(text), len(text.encode("utf-8"))


def layers_by_type(spec: dict) -> dict[str, dict]:
    return {layer["@@type"]: layer for layer in spec["layers"]}


# --- the page ----------------------------------------------------------------------------------


def test_landing_page_shows_the_demo_plan(env, demo, expected):
    at = run_app()
    assert not at.exception
    assert not at.error
    assert at.title[0].value.startswith("Madad")
    assert at.header[0].value == demo.title
    assert any("not a reproduction" in c.value for c in at.caption)
    assert metrics(at) == formatted(expected["totals"])
    assert expected["totals"]["amount_pkr"] > 0


def test_map_sends_aggregates_only(env, expected):
    at = run_app()
    spec, size = deck_spec(at)
    assert size < MAX_DECK_BYTES
    layers = layers_by_type(spec)
    assert {"BitmapLayer", "PolygonLayer", "ScatterplotLayer"} <= set(layers)
    assert "GeoJsonLayer" not in layers
    assert not str(spec.get("mapStyle") or "").startswith("mapbox://")

    bitmap = layers["BitmapLayer"]
    assert bitmap["image"].startswith("data:image/png;base64,")
    left, bottom, right, top = bitmap["bounds"]
    assert left < right and bottom < top

    hexes = layers["PolygonLayer"]["data"]
    assert all(len(h["polygon"]) == 6 for h in hexes)
    counts = [int(h["tip"].split()[0].replace(",", "")) for h in hexes]
    assert sum(counts) == expected["totals"]["affected_households"]
    assert len(hexes) < expected["totals"]["affected_households"]

    symbols = layers["ScatterplotLayer"]["data"]
    assert len(symbols) == len(expected["districts"])
    assert all("Affected people" in s["tip"] and "PKR" in s["tip"] for s in symbols)
    view = spec["initialViewState"]
    assert 23 < view["latitude"] < 32 and 66 < view["longitude"] < 72


def test_tables_assumptions_and_downloads(env, expected):
    at = run_app()
    provinces, districts = at.dataframe[0].value, at.dataframe[1].value
    assert list(provinces["Province"]) == [p["province"] for p in expected["provinces"]]
    assert int(provinces["Amount"].sum()) == expected["totals"]["amount_pkr"]
    assert len(districts) == len(expected["districts"])
    text = at.markdown[0].value
    assert all(a in text for a in expected["assumptions"])
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download plan.json", "Download plan.xlsx"]


def test_transfer_change_reruns_the_plan(env, expected):
    at = run_app()
    at.number_input(key="transfer_pkr").set_value(20_000).run()
    assert not at.exception
    shown = metrics(at)
    paid = expected["totals"]["paid_households"]
    assert shown["Paid households"] == f"{paid:,}"
    assert shown["Total amount"] == f"PKR {paid * 20_000:,}"
    assert any("PKR 20,000" in line for line in at.markdown[0].value.splitlines())


def test_threshold_and_share_match_a_direct_run(env, demo):
    at = run_app()
    at.slider(key="threshold_m").set_value(1.0)
    at.slider(key="federal_share_pct").set_value(30).run()
    assert not at.exception
    changed = scenario.with_what_if(demo, threshold=1.0, federal_share=0.3)
    totals = runner.run(changed, base=DEMO.parent, households=HOUSEHOLDS).plan["totals"]
    assert metrics(at) == formatted(totals)


def test_missing_boundary_file_is_an_error_not_a_crash(env, tmp_path):
    missing = tmp_path / "no-such-boundaries.gpkg"
    env.setenv("MADAD_BOUNDARIES", str(missing))
    at = run_app()
    assert not at.exception
    assert any(str(missing) in e.value for e in at.error)
    spec, _ = deck_spec(at)
    assert "ScatterplotLayer" in layers_by_type(spec)  # falls back to symbols


def test_boundaries_draw_a_choropleth(env, tmp_path, expected):
    pytest.importorskip("simulator.boundaries")
    gpd = pytest.importorskip("geopandas")
    from shapely.geometry import box

    from simulator import data

    table = data.districts()
    frame = gpd.GeoDataFrame(
        {"district_id": table.district_id, "district": table.district},
        geometry=[box(x - 0.2, y - 0.2, x + 0.2, y + 0.2) for x, y in zip(table.lon, table.lat, strict=True)],
        crs="EPSG:4326",
    )
    path = tmp_path / "districts.geojson"
    frame.to_file(path, driver="GeoJSON")
    env.setenv("MADAD_BOUNDARIES", str(path))
    at = run_app()
    assert not at.exception
    assert not at.error
    layers = layers_by_type(deck_spec(at)[0])
    assert "ScatterplotLayer" not in layers
    features = layers["GeoJsonLayer"]["data"]["features"]
    assert len(features) == len(table)
    tips = [f["properties"]["tip"] for f in features]
    shaded = [f for f in features if f["properties"]["fill"][3] > 0]
    assert len(shaded) == len(expected["districts"])
    assert any("Affected households" in t for t in tips)


# --- pure helpers --------------------------------------------------------------------------------


def test_hex_bins_count_every_point_once_in_the_nearest_hexagon():
    rng = np.random.default_rng(7)
    lon = rng.uniform(67.0, 69.0, 5_000)
    lat = rng.uniform(24.0, 27.0, 5_000)
    hexes = app.hex_bins(lon, lat)
    assert hexes["count"].sum() == len(lon)
    assert not hexes.duplicated(["q", "r"]).any()

    kx, ky = app._hex_scale()
    # Adjacent centres are one hexagon width (5 km) apart.
    two = app.hex_bins(np.array([68.0, 68.0 + 5.0 / kx]), np.array([25.0, 25.0]))
    assert len(two) == 2
    step = math.hypot((two.lon[1] - two.lon[0]) * kx, (two.lat[1] - two.lat[0]) * ky)
    assert step == pytest.approx(app.HEX_WIDTH_KM)

    # Each point's hexagon centre is the nearest of all centres (what cube rounding promises).
    sample = slice(0, 300)
    x, y = lon[sample] * kx, lat[sample] * ky
    cx, cy = hexes.lon.to_numpy() * kx, hexes.lat.to_numpy() * ky
    nearest = np.argmin((x[:, None] - cx) ** 2 + (y[:, None] - cy) ** 2, axis=1)
    own = app.hex_bins(lon[sample], lat[sample])
    assert own["count"].sum() == 300
    got = {(q, r) for q, r in zip(own.q, own.r, strict=True)}
    want = {(hexes.q[i], hexes.r[i]) for i in nearest}
    assert got == want


def test_hex_polygons_are_hexagons_around_their_centres():
    hexes = app.hex_bins(np.array([68.3]), np.array([26.1]))
    corners = app.hex_polygons(hexes)
    assert corners.shape == (1, 6, 2)
    kx, ky = app._hex_scale()
    radius = np.hypot((corners[0, :, 0] - hexes.lon[0]) * kx, (corners[0, :, 1] - hexes.lat[0]) * ky)
    assert radius == pytest.approx(app.HEX_WIDTH_KM / math.sqrt(3), rel=5e-3)


def test_depth_rgba_is_transparent_where_dry_or_nodata():
    depth = np.array([[0.0, np.nan, 0.2, 0.6, 3.5]], dtype=np.float32)
    rgba = app.depth_rgba(depth, threshold=0.5)
    assert rgba.dtype == np.uint8 and rgba.shape == (1, 5, 4)
    assert list(rgba[0, :, 3]) == [0, 0, app.ALPHA_BELOW, app.ALPHA_AFFECTING, app.ALPHA_AFFECTING]
    assert rgba[0, 4, 2] < rgba[0, 3, 2]  # deeper is darker


def test_depth_png_is_downsampled(demo):
    layer, _ = runner.build_hazard(demo, base=DEMO.parent)
    url = app.depth_png(layer, 0.5, max_side=200)
    import base64
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert max(image.size) <= 200


def test_plan_files_are_the_exports(expected):
    import io

    import pandas as pd

    assert json.loads(app.plan_file(expected, "plan.json")) == json.loads(json.dumps(expected))
    sheets = pd.read_excel(io.BytesIO(app.plan_file(expected, "plan.xlsx")), sheet_name=None)
    assert list(sheets) == ["summary", "provinces", "districts", "cost-sharing", "dedup-budget", "instalments", "assumptions"]
    assert len(sheets["districts"]) == len(expected["districts"])


def test_formats():
    assert app.fmt_pkr(58_700_000) == "PKR 58,700,000"
    assert app.fmt_count(33_827) == "33,827"
    assert app.fmt_pkr_short(1_250_000_000) == "PKR 1.25 billion"
    assert app.fmt_delta(-5_000, money=True) == "-PKR 5,000"
    assert app.fmt_delta(0, money=False) is None
