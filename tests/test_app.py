"""The Streamlit app, run headless with streamlit.testing, and its pure helpers (simulator.app).

The app runs on a 20,000-household demo registry (``MADAD_DEMO_HOUSEHOLDS``) to stay fast;
every figure it shows is compared with a direct ``plans.run`` of the same scenario. Pages are
opened with AppTest's ``switch_page`` by their files (``simulator.app.pages.FILES``), which
``st.navigation`` registers under their ``url_path``.
"""

from __future__ import annotations

import io
import json
import math
import os
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from affine import Affine
from app_pages import HOUSEHOLDS, app_env, goto, metrics, ok, run_app
from streamlit.testing.v1 import AppTest

from hazards import tables as data
from hazards.layer import make_layer
from simulator import plans, scenario
from simulator.app import builder, deck, loaders, settings, style, text
from simulator.app.pages import PAGES
from simulator.publish.export import write_json

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
DEMO = ROOT / "scenarios" / "indus-flood-demo.yaml"
#: Streamlit refuses messages over server.maxMessageSize (200 MB); the map stays far below.
MAX_DECK_BYTES = 3 * 1024 * 1024


@pytest.fixture
def env(monkeypatch):
    """A small demo registry, the default (minister) role and no boundary file, whatever the
    caller's environment."""
    return app_env(monkeypatch)


@pytest.fixture
def planner(env):
    env.setenv("MADAD_ROLE", "planner")
    return env


@pytest.fixture(scope="module")
def demo():
    return scenario.load(DEMO)


@pytest.fixture(scope="module")
def expected(demo):
    """The demo plan computed without the app."""
    return plans.run(demo, base=DEMO.parent, households=HOUSEHOLDS).plan


@pytest.fixture(scope="module")
def published(demo):
    """The demo plan as a minister sees it: perturbed by the cell-key method with the run's
    registry key, then small-cell suppressed (:func:`protect_plan`), as the app does."""
    from simulator.publish.disclosure import protect_plan

    res = plans.run(demo, base=DEMO.parent, households=HOUSEHOLDS)
    return protect_plan(res.plan, settings.Settings().min_cell, households=res.households)


def headline(totals: dict) -> dict[str, str]:
    """The six headline metrics as the app shows them (money in words; exact in the caption)."""
    return {
        "Affected households": f"{totals['affected_households']:,}",
        "Affected people": f"{totals['affected_people']:,}",
        "Households paid": f"{totals['paid_households']:,}",
        "Total cost": text.fmt_pkr_short(totals["amount_pkr"]),
        "Federal share": text.fmt_pkr_short(totals["federal_pkr"]),
        "Provincial share": text.fmt_pkr_short(totals["provincial_pkr"]),
    }


def deck_spec(at: AppTest) -> tuple[dict, int]:
    charts = at.get("deck_gl_json_chart")
    assert len(charts) == 1
    text = charts[0].proto.json
    return json.loads(text), len(text.encode("utf-8"))


def layers_by_id(spec: dict) -> dict[str, dict]:
    return {layer["id"]: layer for layer in spec["layers"]}


def layers_by_type(spec: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for layer in spec["layers"]:
        out.setdefault(layer["@@type"], []).append(layer)
    return out


def tables(at: AppTest) -> list[pd.DataFrame]:
    return [d.value for d in at.dataframe]


# --- fixtures: files a user might upload ----------------------------------------------------------


def flood_layer(crs: str = "EPSG:4326"):
    """A 60 x 60 flood-depth raster over lower Sindh: 0-3 m, deepest along a diagonal."""
    rows = cols = 60
    yy, xx = np.mgrid[0:rows, 0:cols]
    depth = np.clip(3.0 - np.abs(yy - xx) * 0.25, 0, None).astype(np.float32)
    if crs == "EPSG:4326":
        transform = Affine(0.05, 0, 67.5, 0, -0.05, 27.5)
    else:  # UTM 42N, the same area roughly
        transform = Affine(5_000, 0, 250_000, 0, -5_000, 3_040_000)
    return make_layer(depth, transform, crs, units="m", kind="riverine-flood", provenance={"test": 1})


def geotiff_bytes(tmp_path: Path, crs: str = "EPSG:4326") -> bytes:
    from hazards.io import write_geotiff

    return write_geotiff(flood_layer(crs), tmp_path / "flood.tif").read_bytes()


def netcdf_bytes(tmp_path: Path) -> bytes:
    from hazards.io import write_netcdf

    return write_netcdf(flood_layer(), tmp_path / "flood.nc").read_bytes()


def registry_csv(n: int = 3000, seed: int = 5, bad_rows: bool = True) -> bytes:
    """A registry of ``n`` real-scale rows (weight 1 each), with three bad rows."""
    from simulator import registry

    frame = registry.generate(n, seed=seed).drop(columns=["weight"])
    frame = frame.astype({"district_id": str, "province_code": str, "tehsil_id": "string"})
    if bad_rows:
        frame.loc[0, "pmt_score"] = 150.0
        frame.loc[1, "district_id"] = "xx_nowhere"
        frame.loc[2, ["lon", "lat"]] = frame.loc[2, ["lat", "lon"]].to_numpy()
    return frame.to_csv(index=False).encode()


def boundary_frame():
    gpd = pytest.importorskip("geopandas")
    from shapely.geometry import box

    table = data.districts()
    return gpd.GeoDataFrame(
        {"district_id": table.district_id, "district": table.district},
        geometry=[box(x - 0.2, y - 0.2, x + 0.2, y + 0.2) for x, y in zip(table.lon, table.lat, strict=True)],
        crs="EPSG:4326",
    )


def boundary_file(tmp_path: Path, kind: str) -> tuple[str, bytes]:
    frame = boundary_frame()
    if kind == "geojson":
        path = tmp_path / "districts.geojson"
        frame.to_file(path, driver="GeoJSON")
    elif kind == "gpkg":
        path = tmp_path / "districts.gpkg"
        frame.to_file(path, driver="GPKG", layer="districts")
    elif kind == "zip":
        folder = tmp_path / "shp"
        folder.mkdir()
        with warnings.catch_warnings():  # a Shapefile cuts district_id to district_i; the loader knows
            warnings.simplefilter("ignore")
            frame.to_file(folder / "districts.shp")
        path = tmp_path / "districts.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for part in folder.iterdir():
                zf.write(part, part.name)
    else:
        path = tmp_path / "districts.parquet"
        frame.to_parquet(path)
    return path.name, path.read_bytes()


# --- landing page ---------------------------------------------------------------------------------


def test_landing_page_shows_headline_figures_and_map_without_a_click(env, demo, expected, published):
    """A minister (the default role) sees the published figures: perturbed, never the exact
    plan's; a planner sees the exact ones."""
    at = run_app()
    ok(at)
    assert at.title[0].value.startswith("Madad")
    assert at.subheader[0].value == demo.title
    assert any("not a reproduction" in c.value for c in at.caption)
    assert metrics(at) == headline(published["totals"])
    assert metrics(at) != headline(expected["totals"])
    note = text.text("en", "published_note")
    assert any(c.value == note for c in at.caption)  # the minister is told the figures are protected
    env.setenv("MADAD_ROLE", "planner")
    at = run_app()
    ok(at)
    assert metrics(at) == headline(expected["totals"])
    assert not any(c.value == note for c in at.caption)
    exact = f"PKR {expected['totals']['amount_pkr']:,}"
    assert any(c.value == exact for c in at.caption)  # national-scale rupees, digit for digit
    assert "billion" in metrics(at)["Total cost"]
    assert any("PKR" in m.value and "billion" in m.value for m in at.markdown if "**" in m.value)


def test_map_sends_aggregates_only_and_is_light(planner, expected):
    at = run_app()
    spec, size = deck_spec(at)
    assert size < MAX_DECK_BYTES
    types = layers_by_type(spec)
    assert {"BitmapLayer", "PolygonLayer", "ScatterplotLayer", "TextLayer"} <= set(types)
    assert "GeoJsonLayer" not in types
    bitmap = types["BitmapLayer"][0]
    assert bitmap["image"].startswith("data:image/png;base64,")
    left, bottom, right, top = bitmap["bounds"]
    assert left < right and bottom < top
    hexes = layers_by_id(spec)["hexagons"]["data"]
    assert all(len(h["polygon"]) == 6 for h in hexes)
    counts = [int(h["tip"].split()[0].replace(",", "")) for h in hexes]
    assert sum(counts) == expected["totals"]["affected_households"]  # weights (~1,900 each) >= k
    symbols = layers_by_id(spec)["districts"]["data"]
    assert len(symbols) == len(expected["districts"])
    assert all("Affected people" in s["tip"] and "PKR" in s["tip"] for s in symbols)
    view = spec["initialViewState"]
    assert 23 < view["latitude"] < 32 and 66 < view["longitude"] < 72


def test_map_page_layers_can_be_switched_off(env):
    at = run_app("map")
    ok(at)
    assert {"BitmapLayer", "PolygonLayer"} <= set(layers_by_type(deck_spec(at)[0]))
    at.toggle(key="show_hazard").set_value(False)
    at.toggle(key="show_households").set_value(False).run()
    ok(at)
    types = set(layers_by_type(deck_spec(at)[0]))
    assert "BitmapLayer" not in types and "PolygonLayer" not in types
    assert any("Flood depth" in h.proto.body for h in at.get("html"))  # the legend stays


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(env, page):
    at = run_app(page)
    ok(at)
    want = "app_title" if page == "overview" else f"page_{page}"
    assert at.title[0].value == text.text("en", want)


# --- policy -----------------------------------------------------------------------------------------


def test_transfer_change_reruns_the_plan(planner, expected):
    at = run_app()
    at.number_input(key="transfer_pkr").set_value(20_000).run()
    ok(at)
    paid = expected["totals"]["paid_households"]
    assert metrics(at)["Households paid"] == f"{paid:,}"
    assert any(c.value == f"PKR {paid * 20_000:,}" for c in at.caption)
    assert any("PKR 20,000" in i.value for i in at.info)  # the what-if is stated


def test_threshold_and_share_match_a_direct_run(planner, demo):
    at = run_app()
    at.slider(key="threshold").set_value(1.0)
    at.slider(key="federal_share_pct").set_value(30).run()
    ok(at)
    changed = scenario.with_what_if(demo, threshold=1.0, federal_share=0.3)
    totals = plans.run(changed, base=DEMO.parent, households=HOUSEHOLDS).plan["totals"]
    assert metrics(at) == headline(totals)
    at.button(key="quick_reset").click().run()
    assert at.slider(key="threshold").value == 0.5


def test_impossible_what_if_is_an_error_not_a_crash(env):
    at = run_app()
    at.slider(key="threshold").set_value(at.slider(key="threshold").max).run()
    assert not at.exception


def test_scenario_pick_and_run(planner):
    pick = "tharparkar-drought"
    at = run_app("scenario")
    at.selectbox(key="lib_pick").set_value(pick).run()
    at.button(key="run_scenario_top").click().run()
    ok(at)
    assert any(pick.split("-")[0].title() in s.value for s in at.success)
    goto(at, "overview")
    ok(at)
    want = plans.run(scenario.load(ROOT / "scenarios" / f"{pick}.yaml"), base=DEMO.parent,
                      households=HOUSEHOLDS).plan["totals"]
    assert metrics(at) == headline(want)
    spec, _ = deck_spec(at)
    assert "hazard-drought" in layers_by_id(spec)


def test_policy_editor_change_is_validated_like_the_cli(env):
    at = run_app("scenario")
    tid = "lib:indus-flood-demo"
    at.number_input(key=f"pol/{tid}/0/affected").set_value(30_000)
    at.number_input(key=f"pol/{tid}/0/severely_affected").set_value(10_000)  # falls as severity rises
    at.button(key="run_scenario").click().run()
    assert not at.exception
    assert any("not valid" in e.value for e in at.error)
    text = " ".join(c.value for c in at.get("code"))
    assert "by_tier_pkr must not fall" in text and "<scenario built in the app>" in text


def test_policy_editor_budget_and_cost_sharing(planner, demo):
    at = run_app("scenario")
    tid = "lib:indus-flood-demo"
    at.number_input(key=f"pol/{tid}/b_fed").set_value(1_000_000_000)
    at.selectbox(key=f"pol/{tid}/cs_rule").set_value("key")
    at.button(key="run_scenario").click().run()
    ok(at)
    goto(at, "plan")
    ok(at)
    raw = builder.scenario_raw(demo)
    raw["budget"]["federal_pkr"] = 1_000_000_000
    raw["cost_sharing"]["rule"] = "key"
    want = plans.run(builder.validate_raw(raw), base=DEMO.parent, households=HOUSEHOLDS).plan
    assert want["budget"]["shortfall_pkr"] > 0
    shown = {m.label: m.value for m in at.metric}
    assert shown["Budget shortfall"] == f"PKR {want['budget']['shortfall_pkr']:,}"
    assert any(s.value for s in at.subheader if s.value == "Federal and provincial shares")


# --- every kind of hazard ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(builder.BUILDER))
def test_built_hazard_of_every_kind_runs_and_maps(env, kind):
    at = run_app("scenario")
    at.radio(key="src").set_value("build").run()
    at.selectbox(key="b_kind").set_value(kind).run()
    at.button(key="run_scenario").click().run()
    ok(at)
    goto(at, "map")
    ok(at)
    spec, size = deck_spec(at)
    assert size < MAX_DECK_BYTES
    bitmap = layers_by_id(spec)[f"hazard-{kind}"]
    assert bitmap["image"].startswith("data:image/png")
    legend = " ".join(h.proto.body for h in at.get("html"))
    assert "affected" in legend


def test_hazard_styles_follow_units_kind_and_tiers():
    depth = style.hazard_style("riverine-flood", "m", [0.5, 1.5, 2.5])
    spi = style.hazard_style("drought", "index", [-1.0, -1.5, -2.0], "decreasing")
    mmi = style.hazard_style("earthquake", "index", [6.0, 7.0, 8.0])
    heat = style.hazard_style("heatwave", "degC", [45.0, 47.0, None])
    wind = style.hazard_style("cyclone", "m/s", [17.5, 24.7, 32.9])
    rain = style.hazard_style("flash-flood", "mm", [64.5, 115.6, 204.5])
    pga = style.hazard_style("earthquake", "g", [0.1, 0.2, 0.4])
    assert [s.what for s in (depth, spi, mmi, heat, wind, rain, pga)] == [
        "hz_depth", "hz_spi", "hz_mmi", "hz_temp", "hz_wind", "hz_rain", "hz_pga"]
    assert len({s.palette for s in (depth, spi, heat, wind, rain)}) == 5
    # SPI: lower is worse, so -2.5 is darker (less light) than -1.2, and +0.5 is transparent.
    px = style.colorize(np.array([[-2.5, -1.2, -0.8, 0.5, np.nan]]), spi)
    assert px[0, 0, :3].sum() < px[0, 1, :3].sum()
    assert list(px[0, :, 3]) == [style.ALPHA_AFFECTING, style.ALPHA_AFFECTING, style.ALPHA_BELOW, 0, 0]
    # Depth: dry and nodata transparent, below the threshold faint, deeper darker.
    px = style.colorize(np.array([[0.0, np.nan, 0.2, 0.6, 3.5]], dtype=np.float32), depth)
    assert list(px[0, :, 3]) == [0, 0, style.ALPHA_BELOW, style.ALPHA_AFFECTING, style.ALPHA_AFFECTING]
    assert px[0, 4, :3].sum() < px[0, 3, :3].sum()
    # Legends mark the thresholds in the layer's units.
    html = style.legend_html(heat, "en", "Temperature")
    assert "45 °C" in html and "affected" in html and "severely affected" in html


def test_declared_districts_show_on_the_map(env):
    picked = ["sd_dadu", "sd_jacobabad", "ba_jaffarabad"]
    at = run_app("scenario")
    at.radio(key="src").set_value("declared").run()
    at.multiselect(key="d_districts").set_value(picked)
    at.selectbox(key="d_severity").set_value("severely_affected").run()
    at.button(key="run_scenario").click().run()
    ok(at)
    goto(at, "map")
    ok(at)
    spec, _ = deck_spec(at)
    declared = layers_by_id(spec)["declared-districts"]["data"]
    assert sorted(d["district_id"] for d in declared) == sorted(picked)
    assert all("Declared: severely affected" in d["tip"] for d in declared)


# --- uploads ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["tif", "nc", "utm"])
def test_uploaded_raster_runs_and_maps(env, tmp_path, fmt):
    name, content = {
        "tif": ("flood.tif", lambda: geotiff_bytes(tmp_path)),
        "nc": ("flood.nc", lambda: netcdf_bytes(tmp_path)),
        "utm": ("flood-utm.tif", lambda: geotiff_bytes(tmp_path, "EPSG:32642")),
    }[fmt]
    at = run_app("scenario")
    at.radio(key="src").set_value("upload").run()
    at.file_uploader(key="up_hazard").set_value((name, content(), "application/octet-stream")).run()
    ok(at)
    assert any("60 x 60" in s.value for s in at.success)
    at.button(key="run_scenario").click().run()
    ok(at)
    goto(at, "map")
    ok(at)
    spec, _ = deck_spec(at)
    left, bottom, right, top = layers_by_id(spec)["hazard-riverine-flood"]["bounds"]
    assert 60 < left < right < 75 and 20 < bottom < top < 32  # drawn in lon/lat


@pytest.mark.parametrize("name, content", [
    ("broken.tif", b"this is not a GeoTIFF"),
    ("broken.nc", b"CDF\x01 truncated"),
])
def test_bad_raster_is_a_clear_error(env, name, content):
    at = run_app("scenario")
    at.radio(key="src").set_value("upload").run()
    at.file_uploader(key="up_hazard").set_value((name, content, "application/octet-stream")).run()
    assert not at.exception
    assert any(e.value.startswith(f"{name} cannot be used:") for e in at.error)


def test_registry_upload_shows_quarantine_and_is_used(planner):
    at = run_app("scenario")
    at.file_uploader(key="up_registry").set_value(("my_households.csv", registry_csv(), "text/csv")).run()
    ok(at)
    assert any("my_households.csv" in s.value and "2,997" in s.value for s in at.success)
    shown = metrics(at)
    assert shown["Quarantined rows"] == "3"
    quarantine = at.dataframe[-1].value
    assert len(quarantine) == 3
    reasons = " ".join(quarantine.iloc[:, -1])
    assert "pmt_out_of_range" in reasons and "unknown_district" in reasons and "coords_swapped" in reasons
    goto(at, "overview")
    ok(at)
    assert any("2,997 registry rows standing for 2,997 households" in c.value for c in at.caption)


@pytest.mark.parametrize("name, content", [
    ("no_columns.csv", b"a,b\n1,2\n"),
    ("broken.parquet", b"PAR1 not really"),
    ("with_cnic.csv", b"household_id,cnic,lon,lat,district_id,hh_size,pmt_score\n"),
])
def test_bad_registry_is_a_clear_error(planner, name, content):
    at = run_app("scenario")
    at.file_uploader(key="up_registry").set_value((name, content, "text/csv")).run()
    assert not at.exception
    assert any(e.value.startswith(f"{name} cannot be used:") for e in at.error)


@pytest.mark.parametrize("kind", ["geojson", "gpkg", "zip", "parquet"])
def test_boundaries_upload_draws_a_choropleth(planner, tmp_path, expected, kind):
    name, content = boundary_file(tmp_path, kind)
    at = run_app("scenario")
    at.file_uploader(key="up_boundaries").set_value((name, content, "application/octet-stream")).run()
    ok(at)
    assert any(name in s.value and "136 of 136" in s.value for s in at.success)
    goto(at, "map")
    ok(at)
    layers = layers_by_id(deck_spec(at)[0])
    assert "districts" not in layers  # no symbols: every district has a polygon
    features = layers["district-choropleth"]["data"]["features"]
    assert len(features) == 136
    shaded = [f for f in features if f["properties"]["fill"][3] > 0]
    assert len(shaded) == len(expected["districts"])


def test_bad_boundaries_are_a_clear_error(env, tmp_path):
    at = run_app("scenario")
    at.file_uploader(key="up_boundaries").set_value(("broken.gpkg", b"not a geopackage", "application/octet-stream")).run()
    assert not at.exception
    assert any(e.value.startswith("broken.gpkg cannot be used:") for e in at.error)
    name, content = boundary_file(tmp_path, "geojson")
    at.text_input(key="u_code_column").set_value("district")  # names, not codes
    at.file_uploader(key="up_boundaries").set_value((name, content, "application/geo+json")).run()
    assert not at.exception
    assert any(e.value.startswith(f"{name} cannot be used:") and "sd_dadu" in e.value for e in at.error)


def test_bad_declared_table_is_a_clear_error(env):
    at = run_app("scenario")
    at.radio(key="src").set_value("declared").run()
    at.radio(key="d_how").set_value("file").run()
    at.file_uploader(key="up_declared").set_value(("calamity.csv", b"district_id,severity\nsd_nowhere,affected\n",
                                                   "text/csv")).run()
    assert not at.exception
    assert any(e.value.startswith("calamity.csv cannot be used:") and "sd_nowhere" in e.value for e in at.error)


def test_missing_boundary_file_in_the_environment_is_an_error_not_a_crash(env, tmp_path):
    missing = tmp_path / "no-such-boundaries.gpkg"
    env.setenv("MADAD_BOUNDARIES", str(missing))
    at = run_app()
    assert not at.exception
    assert any(str(missing) in e.value for e in at.error)
    assert "districts" in layers_by_id(deck_spec(at)[0])  # falls back to symbols


# --- roles ------------------------------------------------------------------------------------------


def test_household_list_is_for_planners_only(env):
    at = run_app("downloads")
    ok(at)
    minister = {b.key for b in at.get("download_button")}
    assert minister == {"download_xlsx", "download_pdf", "download_pdf_ur", "download_gpkg", "download_geojson",
                        "download_json"}
    env.setenv("MADAD_ROLE", "planner")
    at = run_app("downloads")
    ok(at)
    assert {b.key for b in at.get("download_button")} == minister | {"download_csv", "download_parquet"}


def test_ministers_cannot_upload_a_registry(env):
    at = run_app("scenario")
    ok(at)
    assert not [u for u in at.get("file_uploader") if u.key == "up_registry"]
    env.setenv("MADAD_ROLE", "planner")
    at = run_app("scenario")
    assert [u for u in at.get("file_uploader") if u.key == "up_registry"]


def test_no_district_cell_under_k_is_shown_to_ministers(env, tmp_path):
    path = tmp_path / "registry.csv"
    path.write_bytes(registry_csv(bad_rows=False))
    env.setenv("MADAD_REGISTRY", str(path))
    at = run_app("plan")
    ok(at)
    for shown in tables(at):
        assert text.small_cells_shown(shown, 10) == []
    assert any("–" in str(v) for t in tables(at) for v in t.to_numpy().ravel())
    spec, _ = deck_spec(goto(at, "map"))
    for layer in spec["layers"]:
        for item in layer.get("data") or []:
            if isinstance(item, dict) and "tip" in item:
                for line in item["tip"].splitlines()[1:]:
                    value = line.rsplit(": ", 1)[-1].replace("PKR ", "").replace(",", "")
                    assert not (value.isdigit() and 0 < int(value) < 10 and "household" in line.lower()), line
    goto(at, "downloads")
    ok(at)  # the PDF brief is offered only if the exporter can write it without the hidden cells
    scn = scenario.load(DEMO)
    source = loaders.RegistrySource(f"file|{path}", str(path), path.name)
    geo = json.loads(loaders.make_file("geojson", scn, source, settings.Settings()))
    for feature in geo["features"]:
        for key, value in feature["properties"].items():
            if key.endswith(("_households", "_people", "_pkr")):
                assert value is None or isinstance(value, int), (key, value)
            if key.endswith("_households") and value is not None:
                assert not 0 < value < 10, (key, value)
    assert any(v is None for f in geo["features"] for v in f["properties"].values())
    env.setenv("MADAD_ROLE", "planner")
    at = run_app("plan")
    planner_cells = [c for t in tables(at) for c in text.small_cells_shown(t, 10)]
    assert planner_cells  # the same plan has small cells that planners see


def test_role_comes_from_the_config_file_and_bad_values_fall_back_to_minister(env, tmp_path):
    cfg = tmp_path / "madad.toml"
    cfg.write_text('[madad]\nrole = "planner"\nmin_cell = 20\n')
    env.setenv("MADAD_CONFIG", str(cfg))
    at = run_app()
    ok(at)
    assert any("Planner's view" in c.value for c in at.sidebar.caption)
    env.setenv("MADAD_ROLE", "admin")
    at = run_app()
    assert not at.exception
    assert any("'admin'" in e.value for e in at.error)
    assert any("Minister's view" in c.value for c in at.sidebar.caption)


def test_load_settings_precedence(tmp_path):
    cfg = tmp_path / "madad.toml"
    cfg.write_text('[madad]\nrole = "planner"\nmin_cell = 25\n')
    assert settings.load_settings({}, tmp_path) == settings.Settings("planner", 25, str(cfg))
    got = settings.load_settings({"MADAD_ROLE": "minister", "MADAD_MIN_CELL": "5"}, tmp_path)
    assert (got.role, got.min_cell, got.problems) == ("minister", 5, ())
    assert settings.load_settings({}, tmp_path / "nowhere").role == "minister"
    bad = settings.load_settings({"MADAD_MIN_CELL": "zero"}, tmp_path / "nowhere")
    assert bad.min_cell == 10 and bad.problems
    cfg.write_text("[madad\nrole=")
    broken = settings.load_settings({}, tmp_path)
    assert broken.role == "minister" and broken.problems


def test_authority_role_from_the_environment_or_the_config_file(tmp_path):
    assert "authority" in settings.ROLES
    got = settings.load_settings({"MADAD_ROLE": " Authority "}, tmp_path / "nowhere")
    assert (got.role, got.authority, got.planner, got.problems) == ("authority", True, False, ())
    cfg = tmp_path / "madad.toml"
    cfg.write_text('[madad]\nrole = "authority"\n')
    assert settings.load_settings({}, tmp_path).role == "authority"
    assert settings.load_settings({"MADAD_ROLE": "minister"}, tmp_path).role == "minister"  # env wins
    typo = settings.load_settings({"MADAD_ROLE": "authorty"}, tmp_path)
    assert typo.role == "minister" and "'authority'" in typo.problems[0]  # the valid roles are listed


# --- language ---------------------------------------------------------------------------------------


def test_both_languages_have_the_same_labels():
    assert set(text.LABELS["en"]) == set(text.LABELS["ur"])
    for key, template in text.LABELS["en"].items():
        fields = {f for f in __import__("string").Formatter().parse(template) if f[1]}
        urdu = {f for f in __import__("string").Formatter().parse(text.LABELS["ur"][key]) if f[1]}
        assert {f[1] for f in fields} == {f[1] for f in urdu}, key
    assert text.LABELS["ur"]["m_affected_households"] == "متاثرہ گھرانے"
    for lang in ("en", "ur"):  # the labels are data files, read by the text function
        table = json.loads((ROOT / "simulator" / "app" / "labels" / f"{lang}.json").read_text(encoding="utf-8"))
        assert table == text.LABELS[lang]
        assert text.text(lang, "app_title") == table["app_title"]


def test_switching_language_changes_the_headings(env):
    at = run_app()
    english = [t.value for t in at.title] + list(metrics(at))
    at.radio(key="lang").set_value("ur").run()
    ok(at)
    urdu = [t.value for t in at.title] + list(metrics(at))
    assert urdu != english
    assert at.title[0].value == text.LABELS["ur"]["app_title"]
    assert "متاثرہ گھرانے" in metrics(at)
    assert any("ارب روپے" in m for m in metrics(at).values())
    goto(at, "plan")
    ok(at)
    assert at.title[0].value == "منصوبہ"


# --- compare and downloads -------------------------------------------------------------------------


def test_compare_two_scenarios(planner, expected):
    at = run_app("compare")
    ok(at)
    at.multiselect(key="compare_pick").set_value(["current", "lib:tharparkar-drought"]).run()
    ok(at)
    table = at.dataframe[0].value
    drought = plans.run(scenario.load(ROOT / "scenarios" / "tharparkar-drought.yaml"), base=DEMO.parent,
                         households=HOUSEHOLDS).plan["totals"]
    row = table[table.iloc[:, 0] == "Amount"].iloc[0]
    assert row.iloc[1] == f"PKR {expected['totals']['amount_pkr']:,}"
    assert row.iloc[2] == f"PKR {drought['amount_pkr']:,}"
    diff = drought["amount_pkr"] - expected["totals"]["amount_pkr"]
    assert row.iloc[3] == ("+" if diff > 0 else "-") + f"PKR {abs(diff):,}"


def test_compare_a_saved_policy_with_the_current_one(env):
    at = run_app("compare")
    at.button(key="compare_save").click().run()
    at.number_input(key="transfer_pkr").set_value(30_000).run()
    picked = at.multiselect(key="compare_pick").value
    assert "saved:0" in picked
    at.multiselect(key="compare_pick").set_value(["saved:0", "current"]).run()
    ok(at)
    table = at.dataframe[0].value
    row = table[table.iloc[:, 0] == "Households paid"].iloc[0]
    assert row.iloc[3] == "0"  # the same households, paid more


@pytest.mark.parametrize("role", ["minister", "planner"])
def test_download_files_are_the_exports(env, role, expected):
    cfg = settings.Settings(role=role)
    scn = scenario.load(DEMO)
    source = loaders.RegistrySource(f"synthetic|{HOUSEHOLDS}|{scn.seed}", None, "synthetic", HOUSEHOLDS)
    files = {fmt: loaders.make_file(fmt, scn, source, cfg, library=scn)
             for fmt in ("xlsx", "json", "pdf", "geojson", "gpkg")}
    plan = json.loads(files["json"])
    assert ("disclosure" in plan) == (role == "minister")
    if role == "planner":
        assert plan["totals"] == expected["totals"]
    else:  # published: perturbed, never the exact totals
        assert plan["totals"] != expected["totals"]
        assert plan["disclosure"]["perturbation"]
    sheets = pd.read_excel(io.BytesIO(files["xlsx"]), sheet_name=None)
    assert "districts" in sheets
    assert files["pdf"].startswith(b"%PDF")
    if role == "minister":  # the Urdu brief, from the same published plan, in the served font
        urdu = loaders.make_file("pdf_ur", scn, source, cfg, library=scn)
        assert urdu.startswith(b"%PDF") and b"NotoNaskhArabic" in urdu
    geo = json.loads(files["geojson"])
    assert len(geo["features"]) >= len(plan["districts"])
    assert files["gpkg"][:16] == b"SQLite format 3\x00"
    if role == "planner":
        payouts = pd.read_csv(io.BytesIO(loaders.make_file("csv", scn, source, cfg)))
        assert int(payouts["amount_pkr"].sum()) == expected["totals"]["amount_pkr"]
        assert "household_id" in payouts and "pmt_score" not in payouts
    else:
        with pytest.raises(PermissionError):
            loaders.make_file("csv", scn, source, cfg)


def app_download(at: AppTest, fmt: str, scn, library) -> bytes:
    """The bytes the Downloads page offers for ``scn`` and ``library`` under the app's settings
    (the button's data is written on click, by :func:`simulator.app.loaders.make_file`)."""
    goto(at, "downloads")
    ok(at)
    assert f"download_{fmt}" in {b.key for b in at.get("download_button")}
    cfg = settings.load_settings(os.environ, ROOT)
    return loaders.make_file(fmt, scn, loaders.registry_source(scn, cfg), cfg, library=library)


def test_app_plan_download_equals_madad_run(planner, tmp_path):
    at = run_app()
    ok(at)
    demo = scenario.load(DEMO)
    assert at.session_state["active_scn"] == demo and at.session_state["library_scn"] == demo
    got = app_download(at, "json", demo, at.session_state["library_scn"])
    want = plans.run(scenario.load(DEMO), base=ROOT / "scenarios", households=HOUSEHOLDS).plan
    assert got == write_json(want, tmp_path / "plan.json").read_bytes()
    plan = json.loads(got)
    assert {"agencies", "sign_off", "policy"} <= set(plan)  # and nser_update when the scenario has one
    assert plan["policy"]["edited"] is False and plan["scenario"]["title"] == demo.title


def test_edited_policy_says_so_on_the_summary_and_in_the_downloads(planner, tmp_path):
    at = run_app()
    at.number_input(key="transfer_pkr").set_value(30_000).run()
    ok(at)
    heading = at.subheader[0].value
    demo = scenario.load(DEMO)
    assert heading.startswith(demo.title + " (edited: ") and "PKR 30,000" in heading
    assert any(c.value.startswith("Edited from the library scenario") for c in at.caption)
    edited = scenario.with_what_if(demo, transfer_pkr=30_000)
    got = app_download(at, "json", edited, demo)
    plan = json.loads(got)
    assert plan["scenario"]["title"] == heading
    assert plan["policy"]["edited"] and plan["policy"]["library"] == demo.name
    assert [c["active"] for c in plan["policy"]["changes"]] == [30_000]
    assert "PKR 30,000" in plan["policy"]["changes"][0]["text"]
    want = plans.run(edited, base=ROOT / "scenarios", households=HOUSEHOLDS, library=demo).plan
    assert got == write_json(want, tmp_path / "plan.json").read_bytes()
    goto(at, "compare")
    ok(at)
    assert any(heading in m.value for m in at.markdown)  # the Compare page's label says "edited"


def test_a_scenario_built_in_the_app_has_no_library(env):
    at = run_app("scenario")
    at.radio(key="src").set_value("build").run()
    at.button(key="run_scenario").click().run()
    ok(at)
    assert at.session_state["library_scn"] is None
    at.number_input(key="transfer_pkr").set_value(30_000).run()
    goto(at, "overview")
    ok(at)
    assert "edited" not in at.subheader[0].value


# --- pure helpers -----------------------------------------------------------------------------------


def test_hex_bins_count_every_point_once_in_the_nearest_hexagon():
    rng = np.random.default_rng(7)
    lon = rng.uniform(67.0, 69.0, 5_000)
    lat = rng.uniform(24.0, 27.0, 5_000)
    hexes = deck.hex_bins(lon, lat)
    assert hexes["count"].sum() == len(lon)
    assert not hexes.duplicated(["q", "r"]).any()
    kx, ky = deck.hex_scale()
    two = deck.hex_bins(np.array([68.0, 68.0 + 5.0 / kx]), np.array([25.0, 25.0]))
    assert len(two) == 2
    step = math.hypot((two.lon[1] - two.lon[0]) * kx, (two.lat[1] - two.lat[0]) * ky)
    assert step == pytest.approx(deck.HEX_WIDTH_KM)
    sample = slice(0, 300)
    x, y = lon[sample] * kx, lat[sample] * ky
    cx, cy = hexes.lon.to_numpy() * kx, hexes.lat.to_numpy() * ky
    nearest = np.argmin((x[:, None] - cx) ** 2 + (y[:, None] - cy) ** 2, axis=1)
    own = deck.hex_bins(lon[sample], lat[sample])
    assert {(q, r) for q, r in zip(own.q, own.r, strict=True)} == {(hexes.q[i], hexes.r[i]) for i in nearest}
    weighted = deck.hex_bins(lon[:10], lat[:10], weights=np.full(10, 190))
    assert weighted["count"].sum() == 1_900
    assert len(deck.hex_bins(np.array([]), np.array([]))) == 0


def test_hex_polygons_are_hexagons_around_their_centres():
    hexes = deck.hex_bins(np.array([68.3]), np.array([26.1]))
    corners = deck.hex_polygons(hexes)
    assert corners.shape == (1, 6, 2)
    kx, ky = deck.hex_scale()
    radius = np.hypot((corners[0, :, 0] - hexes.lon[0]) * kx, (corners[0, :, 1] - hexes.lat[0]) * ky)
    assert radius == pytest.approx(deck.HEX_WIDTH_KM / math.sqrt(3), rel=5e-3)


def test_display_grid_is_small_and_in_lonlat(demo):
    layer, _ = plans.build_hazard(demo, base=DEMO.parent)
    values, bounds = style.display_grid(layer, max_side=200)
    assert max(values.shape) <= 200
    left, bottom, right, top = bounds
    assert 66 < left < right < 73 and 23 < bottom < top < 33
    utm = flood_layer("EPSG:32642")
    values, (left, bottom, right, top) = style.display_grid(utm, max_side=100)
    assert max(values.shape) <= 100 and np.isfinite(values).any()
    assert 60 < left < right < 75 and 20 < bottom < top < 32


def test_formats():
    assert text.fmt_pkr(11_591_325_000) == "PKR 11,591,325,000"
    assert text.fmt_pkr_short(11_591_325_000) == "PKR 11.6 billion"
    assert text.fmt_pkr_short(1_250_000_000) == "PKR 1.25 billion"
    assert text.fmt_pkr_short(58_700_000) == "PKR 58.7 million"
    assert text.fmt_pkr_short(828_485_000) == "PKR 828 million"
    assert text.fmt_pkr_short(11_591_325_000, "ur") == "11.6 ارب روپے"
    assert text.fmt_count(33_827) == "33,827"
    assert text.fmt_count(None) == text.fmt_pkr(None) == "–"
    assert text.fmt_delta(-5_000, money=True) == "-PKR 5,000"
    assert text.fmt_delta(0, money=False) is None
    assert builder.equal_instalments(3, 30) == [{"share": 0.3333, "day": 0}, {"share": 0.3333, "day": 30},
                                           {"share": 0.3334, "day": 60}]


def test_small_cells_shown_finds_counts_under_k():
    frame = pd.DataFrame({"District": ["A", "B"], "Households paid": ["7", "1,234"], "Amount": ["PKR 5", "–"]})
    assert text.small_cells_shown(frame, 10) == [(0, "Households paid", 7)]
