"""Madad's Streamlit app: disaster scenarios, maps, joint response plans and their downloads.

Run it with ``make run`` (``make run ROLE=planner`` for the planner's view) or
``streamlit run app.py``. It opens on the Summary page with the demo scenario
(``scenarios/indus-flood-demo.yaml``): headline figures in PKR and the map, with no click.

Pages: Summary, Scenario (pick a library scenario or build one; upload a hazard raster, a
registry or district boundaries; set the policy; run), Map, Plan (tables and charts), Compare
(two to four scenarios or policies side by side) and Downloads (Excel, PDF brief, GeoPackage,
GeoJSON, JSON and, for planners, the household payout list). The sidebar switches the language
(English / Urdu) and holds a quick what-if of the headline policy.

Roles (fixed at start-up; a visitor cannot change them)
------------------------------------------------------
``minister`` (the default)
    Aggregates only: every district and tehsil table, the map's tooltips and hexagons and every
    download go through :func:`simulator.disclosure.suppress_plan`, so no cell under k
    households is shown; no household list download; no registry upload.
``planner``
    Everything, including registry uploads (with their quarantined rows) and the household
    payout list.

The role and k are read from, in order of precedence:

1. the environment: ``MADAD_ROLE=planner``, ``MADAD_MIN_CELL=10``;
2. a TOML file, ``MADAD_CONFIG=/path/to/file`` or else ``madad.toml`` beside ``app.py``
   (``MADAD_CONFIG=`` set empty reads no file)::

       [madad]
       role = "planner"    # or "minister"
       min_cell = 10       # k: smallest household count a minister sees

3. the defaults: minister, k = 10. A value that cannot be used is reported on the page and
   the minister's view is used.

Other environment variables
---------------------------
``MADAD_DEMO_HOUSEHOLDS``
    Households in the synthetic registry (default: the scenario's own number, 200,000 for the
    library). The tests use 20,000.
``MADAD_REGISTRY``
    A registry file (CSV, Parquet, GeoParquet) to use instead of the synthetic households, for
    a deployment on real data; validated as ``madad registry validate`` does.
``MADAD_BOUNDARIES`` (with ``MADAD_BOUNDARIES_LAYER``, ``MADAD_BOUNDARIES_CODE_COLUMN``,
``MADAD_BOUNDARIES_NAME_COLUMN``)
    District boundaries drawn as a choropleth; a planner or minister may also upload them.

Uploaded files are kept under the system temporary folder (``madad-uploads/``), named by
their SHA-256, and read with the CLI's own readers. ``.streamlit/config.toml`` turns off usage
statistics, hides the developer toolbar and tracebacks, and raises the upload cap to 1 GB.

Speed and weight: the hazard layers and the registry are cached by content apart from the
policy, so a policy change reruns only the engine and the plan. What reaches the browser is
aggregated on the server: each hazard raster as one PNG, one polygon per non-empty ~5 km
hexagon and one feature per district; household locations never leave the server.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
import xarray as xr

from hazards import tables as data
from hazards.errors import MadadError, ScenarioError
from simulator import plans
from simulator import scenario as scenario_mod
from simulator.app import ui
from simulator.scenario import Scenario

log = logging.getLogger("madad.app")

APP_DIR = Path(__file__).resolve().parent
SCENARIOS_DIR = APP_DIR / "scenarios"
DEMO_NAME = "indus-flood-demo"
UPLOAD_DIR = Path(tempfile.gettempdir()) / "madad-uploads"
MAP_HEIGHT_PX = 560
#: District names drawn on the map (the most affected first).
MAX_LABELS = 12
PAGES = ("overview", "scenario", "map", "plan", "compare", "downloads")
HAZARD_TYPES = ["tif", "tiff", "nc", "nc4"]
REGISTRY_TYPES = ["csv", "parquet", "geoparquet"]
BOUNDARY_TYPES = ["geojson", "json", "gpkg", "zip", "parquet", "geoparquet"]
DECLARED_TYPES = ["csv"]
QUICK_KEYS = ("transfer_pkr", "pmt_max", "threshold", "federal_share_pct")


# ---------------------------------------------------------------------------------------------
# Language and settings
# ---------------------------------------------------------------------------------------------


def lang() -> str:
    """The visitor's language (a preference, kept in the session)."""
    return st.session_state.get("lang", "en")


def T(key: str, **values: Any) -> str:  # noqa: N802 - short on purpose: every label goes through it
    """The label ``key`` in the visitor's language (see :data:`simulator.ui.LABELS`)."""
    return ui.text(lang(), key, **values)


def settings() -> ui.Settings:
    """Role and k from the environment and ``madad.toml`` (see the module docstring)."""
    return ui.load_settings(os.environ, APP_DIR)


def demo_households() -> int | None:
    """``MADAD_DEMO_HOUSEHOLDS`` as an int, or None to use the scenario's own number."""
    raw = os.environ.get("MADAD_DEMO_HOUSEHOLDS", "").strip().replace(",", "").replace("_", "")
    if not raw:
        return None
    if not raw.isdigit():
        raise ScenarioError(
            f"MADAD_DEMO_HOUSEHOLDS={raw!r} is not a whole number; unset it or use e.g. 20000."
        )
    return int(raw)


# ---------------------------------------------------------------------------------------------
# The scenario library
# ---------------------------------------------------------------------------------------------


@st.cache_data(show_spinner=False)
def library(_mtimes: tuple) -> dict[str, dict]:
    """The scenarios of ``scenarios/*.yaml``: name -> {title, path, raw} (invalid files skipped
    and logged; ``madad validate`` reports them)."""
    out = {}
    for path in sorted(SCENARIOS_DIR.glob("*.yaml")):
        try:
            scn = scenario_mod.load(path)
        except MadadError as exc:
            log.warning("library scenario skipped: %s", exc)
            continue
        out[scn.name] = {"title": scn.title, "path": str(path), "raw": ui.scenario_raw(scn)}
    return out


def library_now() -> dict[str, dict]:
    return library(tuple(sorted((p.name, p.stat().st_mtime) for p in SCENARIOS_DIR.glob("*.yaml"))))


def library_scenario(name: str) -> Scenario:
    return Scenario.model_validate(library_now()[name]["raw"])


# ---------------------------------------------------------------------------------------------
# Uploaded files: kept by content in a temporary folder, read with the CLI's own readers
# ---------------------------------------------------------------------------------------------


def save_upload(uploaded) -> dict:
    """Write an uploaded file under its content hash; returns {path, name, sha}."""
    content = uploaded.getvalue()
    sha = hashlib.sha256(content).hexdigest()
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(uploaded.name).name)[-80:] or "upload"
    UPLOAD_DIR.mkdir(parents=True, exist_ok=True)
    path = UPLOAD_DIR / f"{sha[:16]}-{safe}"
    if not path.exists():
        path.write_bytes(content)
    return {"path": str(path), "name": uploaded.name, "sha": sha}


def show_bad_file(name: str, exc: Exception) -> None:
    """A clear message for a file that cannot be used; the traceback goes to the server log."""
    if not isinstance(exc, MadadError):
        log.exception("reading %s failed", name)
    problem = str(exc).strip() or type(exc).__name__
    st.error(T("bad_file", name=name, problem=problem))


@st.cache_resource(show_spinner=False, max_entries=8)
def cached_raster(path: str, units: str | None, variable: str | None, time_step: str | None) -> xr.DataArray:
    """An uploaded raster read by :func:`hazards.io.read_raster` (the path is content-addressed)."""
    from hazards.io import read_raster

    step: Any = int(time_step) if time_step and time_step.lstrip("-").isdigit() else (time_step or None)
    return read_raster(path, units=units or None, variable=variable or None, time=step)


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_registry_file(path: str, stamp: str):
    """A registry file read and validated as ``madad registry validate`` does it
    (:func:`simulator.registry.read_raw` then :func:`simulator.registry.validate`)."""
    from simulator import registry

    return registry.validate(registry.read_raw(path), source=Path(path).name.split("-", 1)[-1])


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_boundaries(path: str, layer: str | None, code_column: str, name_column: str | None,
                      stamp: str):
    """Boundaries read by :func:`simulator.boundaries.load_boundaries`: (full, simplified for
    the map, code report against the 2023 census districts)."""
    from simulator.registry import boundaries

    frame = boundaries.load_boundaries(path, layer=layer, code_column=code_column,
                                       name_column=name_column)
    report = boundaries.check_codes(frame, data.district_codes(), source="data/districts.csv",
                                    strict=False)
    light = boundaries.simplify_for_map(frame, tolerance_deg=0.01)
    light = light.set_geometry(_round_geometry(light.geometry))
    return frame, light, report


def _round_geometry(geoms):
    import shapely

    return shapely.transform(geoms.values, lambda xy: np.round(xy, 4))


def file_stamp(path: str) -> str:
    st_ = Path(path).stat()
    return f"{st_.st_size}-{st_.st_mtime_ns}"


def active_boundaries():
    """(full, light, report, label) of the boundaries in use, or None; an unusable
    ``MADAD_BOUNDARIES`` file is reported once on the page."""
    up = st.session_state.get("boundaries_file")
    if up:
        try:
            full, light, report = cached_boundaries(up["path"], None, up["code_column"],
                                                    up["name_column"], up["sha"])
            return full, light, report, up["name"]
        except Exception as exc:  # a file that read before reads again; guard anyway
            show_bad_file(up["name"], exc)
            return None
    path = os.environ.get("MADAD_BOUNDARIES", "").strip()
    if not path:
        return None
    if not Path(path).exists():
        st.error(T("env_boundaries_missing", path=path))
        return None
    try:
        full, light, report = cached_boundaries(
            path, os.environ.get("MADAD_BOUNDARIES_LAYER") or None,
            os.environ.get("MADAD_BOUNDARIES_CODE_COLUMN") or "district_id",
            os.environ.get("MADAD_BOUNDARIES_NAME_COLUMN") or None, file_stamp(path))
    except Exception as exc:
        show_bad_file(path, exc)
        st.caption(T("boundaries_fallback"))
        return None
    return full, light, report, Path(path).name


# ---------------------------------------------------------------------------------------------
# The cached pipeline: hazards and registry apart from the policy
# ---------------------------------------------------------------------------------------------


def hazard_key(spec, seed: int) -> str:
    """What a hazard layer depends on: its source and parameters and the seed (not its tiers)."""
    return spec.model_dump_json(exclude={"threshold", "tiers", "impact", "name"}) + f"|seed={seed}"


@st.cache_resource(show_spinner=False, max_entries=16)
def cached_hazard(key: str, _spec, _seed: int):
    """One hazard source (a raster layer or a declared-districts table), built as the CLI does."""
    holder = types.SimpleNamespace(hazards=[_spec], seed=_seed)
    layers, _ = plans.build_hazards(holder, base=SCENARIOS_DIR)
    return layers[0]


def hazards_of(scn: Scenario) -> list:
    return [cached_hazard(hazard_key(spec, scn.seed), spec, scn.seed) for spec in scn.hazards]


@dataclass(frozen=True)
class RegistrySource:
    """Where the households come from: a file (uploaded, ``MADAD_REGISTRY`` or the scenario's)
    or the seeded generator."""

    key: str
    path: str | None
    label: str
    households: int | None = None


def registry_source(scn: Scenario, cfg: ui.Settings) -> RegistrySource:
    up = st.session_state.get("registry_file") if cfg.planner else None
    if up:
        return RegistrySource(f"file|{up['sha']}", up["path"], up["name"])
    env = os.environ.get("MADAD_REGISTRY", "").strip()
    if env:
        return RegistrySource(f"file|{env}|{file_stamp(env) if Path(env).exists() else 'missing'}",
                              env, Path(env).name)
    if scn.registry.path:
        path = str((SCENARIOS_DIR / scn.registry.path).resolve())
        return RegistrySource(f"file|{path}|{file_stamp(path) if Path(path).exists() else 'missing'}",
                              path, Path(path).name)
    n = demo_households()
    n = scn.registry.synthetic_households if n is None else n
    return RegistrySource(f"synthetic|{n}|{scn.seed}", None, "synthetic", n)


@st.cache_resource(show_spinner=False, max_entries=8)
def cached_registry(key: str, _source: RegistrySource, _seed: int):
    """The validated registry of a :class:`RegistrySource`."""
    from simulator import registry

    if _source.path is not None:
        if not Path(_source.path).exists():
            raise MadadError(f"{_source.path}: no such registry file.")
        return registry.validate(registry.read_raw(_source.path), source=_source.label)
    frame = registry.generate(_source.households, seed=_seed)
    return registry.validate(
        frame, source=f"synthetic registry ({_source.households:,} households, seed {_seed})")


def registry_of(scn: Scenario, source: RegistrySource):
    return cached_registry(source.key + f"|seed={scn.seed}", source, scn.seed)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_plan(key: str, _scn: Scenario, _source: RegistrySource, _library: Scenario | None):
    """The plan and the affected households binned to hexagons for one scenario and registry
    (``key`` is the scenario's JSON and the registry key). Only the engine and the plan run
    when the hazards and the registry are cached."""
    t0 = time.perf_counter()
    layers = hazards_of(_scn)
    reg = registry_of(_scn, _source)
    result = plans.assemble(_scn, reg, layers, library=_library)
    the_plan = result.plan
    tier = result.households["tier"].cat.codes.to_numpy()
    hit = tier > 0
    hexes = ui.hex_bins(reg.households["lon"].to_numpy()[hit], reg.households["lat"].to_numpy()[hit],
                        weights=result.households["weight"].to_numpy()[hit])
    return the_plan, hexes, time.perf_counter() - t0, result.households


@st.cache_data(show_spinner=False, max_entries=64)
def cached_suppressed(key: str, k: int, _plan: dict) -> dict:
    """The plan as a minister may see it (:func:`simulator.disclosure.suppress_plan`).

    Without disclosure control the minister's view is not shown at all (it fails closed).
    """
    try:
        from simulator.publish.disclosure import suppress_plan
    except ImportError as exc:
        raise MadadError(f"disclosure control (simulator.disclosure) is not available ({exc}); "
                         "the minister's view needs it. Set MADAD_ROLE=planner only where planners work.") from exc
    return suppress_plan(_plan, k=k)


def plan_for(scn: Scenario, source: RegistrySource, library: Scenario | None = None):
    lib = "" if library is None else library.model_dump_json()
    return cached_plan(scn.model_dump_json() + "|" + source.key + "|" + lib, scn, source, library)[:3]


def full_result(scn: Scenario, source: RegistrySource, library: Scenario | None = None) -> plans.RunResult:
    """The in-memory run with its per-household table, for the downloads (built on click)."""
    lib = "" if library is None else library.model_dump_json()
    the_plan, _, _, households = cached_plan(scn.model_dump_json() + "|" + source.key + "|" + lib,
                                             scn, source, library)
    reg = registry_of(scn, source)
    return plans.RunResult(scenario=scn, plan=the_plan, households=households,
                           hazards=hazards_of(scn), quarantine=reg.quarantine, library=library)


@dataclass
class Current:
    """What every page shows: the scenario (with the what-if), its plan and the map inputs."""

    cfg: ui.Settings
    base: Scenario
    scn: Scenario
    source: RegistrySource
    plan: dict
    shown: dict  # the plan a visitor may see (suppressed for ministers)
    hexes: pd.DataFrame
    layers: list
    baseline: dict | None = None
    seconds: float = 0.0
    changes: list = field(default_factory=list)
    bounds: tuple | None = None  # (full, light, code report, name) of the boundaries in use

    @property
    def k(self) -> int:
        return self.cfg.min_cell


# ---------------------------------------------------------------------------------------------
# Quick what-if (sidebar): the scenario's headline policy
# ---------------------------------------------------------------------------------------------


def units_of(scn: Scenario) -> str:
    source = hazards_of(scn)[0]
    return source.attrs.get("units", "") if isinstance(source, xr.DataArray) else ""


def quick_defaults(scn: Scenario) -> dict[str, Any]:
    now = scenario_mod.headline_policy(scn)
    return {
        "transfer_pkr": int(now["transfer_pkr"]),
        "pmt_max": int(round(now["pmt_max"])),
        "threshold": None if now["threshold"] is None else float(now["threshold"]),
        "federal_share_pct": int(round(now["federal_share"] * 100)),
    }


def reset_quick(scn: Scenario) -> None:
    defaults = quick_defaults(scn)
    for key in QUICK_KEYS:
        if defaults[key] is None:
            st.session_state.pop(key, None)
        else:
            st.session_state[key] = defaults[key]
    st.session_state["quick_for"] = scn.model_dump_json()


def quick_sidebar(base: Scenario) -> tuple[Scenario, list]:
    """Sidebar controls of the headline policy; returns the scenario they describe and the
    changes against the scenario file ((label key, new, old) each)."""
    ss = st.session_state
    if ss.get("quick_for") != base.model_dump_json():
        reset_quick(base)
    sb = st.sidebar
    sb.subheader(T("quick_title"))
    sb.caption(T("quick_help"))
    before = quick_defaults(base)
    sb.number_input(T("q_transfer"), min_value=0, max_value=1_000_000, step=1_000, key="transfer_pkr",
                    help=T("q_transfer_help"))
    sb.slider(T("q_pmt"), min_value=0, max_value=100, step=1, key="pmt_max", help=T("q_pmt_help"))
    units = units_of(base)
    if before["threshold"] is not None:
        tiers = base.hazards[0].tier_thresholds()
        lo, hi, step = ui.threshold_range(units, before["threshold"], tiers[1])
        if not lo <= ss.get("threshold", before["threshold"]) <= hi:
            ss["threshold"] = before["threshold"]
        what = T(ui.hazard_style(base.hazards[0].kind, units, tiers).what)
        sb.slider(T("q_threshold_units", what=what, units=ui.UNIT_TEXT.get(units, units)),
                  min_value=lo, max_value=hi, step=step, key="threshold", help=T("q_threshold_help"))
    if base.cost_sharing.rule in ("fixed", "key"):
        sb.slider(T("q_federal"), min_value=0, max_value=100, step=1, key="federal_share_pct",
                  help=T("q_federal_help"))
    sb.button(T("q_reset"), key="quick_reset", on_click=reset_quick, args=(base,))
    after = {k: ss.get(k) for k in QUICK_KEYS}
    if after["threshold"] is not None:
        after["threshold"] = round(float(after["threshold"]), 6)
    changes = ui.what_if_changes(before, after, units)
    if not changes:
        return base, []
    moved = {key for key, *_ in changes}
    scn = scenario_mod.with_what_if(
        base,
        transfer_pkr=int(after["transfer_pkr"]) if "q_transfer" in moved else None,
        pmt_max=float(after["pmt_max"]) if "q_pmt" in moved else None,
        threshold=after["threshold"] if "q_threshold" in moved else None,
        federal_share=round(after["federal_share_pct"] / 100, 4) if "q_federal" in moved else None,
    )
    return scn, changes


def compute_current(cfg: ui.Settings) -> Current:
    """The active scenario with the sidebar's what-if, run (cached) and made safe to show."""
    base = st.session_state["active_scn"]
    try:
        scn, changes = quick_sidebar(base)
    except ScenarioError as exc:
        st.error(T("whatif_invalid", problem=str(exc)))
        scn, changes = base, []
    source = registry_source(base, cfg)
    t0 = time.perf_counter()
    with st.spinner(T("computing")):
        the_plan, hexes, _ = plan_for(scn, source, base)
        baseline = plan_for(base, source, base)[0]["totals"] if changes else None
        shown = the_plan if cfg.planner else cached_suppressed(
            scn.model_dump_json() + "|" + source.key, cfg.min_cell, the_plan)
        layers = hazards_of(scn)
    if not cfg.planner:
        hexes = hexes[hexes["count"] >= cfg.min_cell]
    return Current(cfg=cfg, base=base, scn=scn, source=source, plan=the_plan, shown=shown, hexes=hexes,
                   layers=layers, baseline=baseline, seconds=time.perf_counter() - t0, changes=changes)


# ---------------------------------------------------------------------------------------------
# The map
# ---------------------------------------------------------------------------------------------


def style_of(spec, layer: xr.DataArray) -> ui.HazardStyle:
    """Colour ramp of a raster from its units, kind and the scenario's tiers (or impact
    function's thresholds, with its direction: lower SPI is worse)."""
    units = layer.attrs.get("units", "")
    kind = spec.kind or layer.attrs.get("kind")
    if spec.impact is not None:
        from hazards import impact

        fn = impact.load(spec.impact)
        th = fn.thresholds(fn.housing[0])
        return ui.hazard_style(kind, units, [th["affected"], th["severely_affected"], th["displaced"]],
                               fn.direction)
    return ui.hazard_style(kind, units, spec.tier_thresholds())


@st.cache_data(show_spinner=False, max_entries=32)
def cached_hazard_image(key: str, style: ui.HazardStyle, _layer: xr.DataArray):
    """(PNG data URL, lon/lat bounds, bounds of the coloured pixels) of one raster."""
    values, bounds = ui.display_grid(_layer)
    rgba = ui.colorize(values, style)
    return ui.png_data_url(rgba), bounds, ui.visible_bounds(rgba, bounds)


def build_deck(cur: Current, *, hazard: bool = True, households: bool = True, districts: bool = True,
               height: int = MAP_HEIGHT_PX):
    """The pydeck map and the legends (HTML) that explain it."""
    lg = lang()
    bounds = cur.bounds
    light = bounds[1] if bounds else None
    figures = ui.district_figures(cur.shown)
    layers, legends, boxes = [], [], []
    styles = []
    for spec, source in zip(cur.scn.hazards, cur.layers, strict=True):
        if isinstance(source, xr.DataArray):
            style = style_of(spec, source)
            styles.append(style)
            if hazard:
                url, img_bounds, seen = cached_hazard_image(hazard_key(spec, cur.scn.seed), style, source)
                layers.append(ui.bitmap_layer(url, img_bounds, f"hazard-{spec.label}"))
                boxes.append(seen)
            title = T(style.what) if len(cur.scn.hazards) == 1 else f"{spec.label}: {T(style.what)}"
            legends.append(ui.legend_html(style, lg, title[:1].upper() + title[1:]))
        elif hazard:
            layers.append(ui.declared_layer(source, figures, lg, light))
            declared = figures[figures.district_id.isin(source.district_id)]
            if len(declared):
                boxes.append((declared.lon.min() - 0.3, declared.lat.min() - 0.3,
                              declared.lon.max() + 0.3, declared.lat.max() + 0.3))
            legends.append(declared_legend())
    palette = styles[0].count_palette if styles else ui.COUNT_PALETTES["warm"]
    if districts and light is not None:
        layers.insert(0, ui.choropleth_layer(light, figures, lg))
    layers.append(ui.river_layer())
    hexes = cur.hexes
    if households and len(hexes):
        layers.append(ui.hex_layer(hexes, lg, palette))
        boxes.append((hexes.lon.min(), hexes.lat.min(), hexes.lon.max(), hexes.lat.max()))
    affected = figures[[(v is None) or v > 0 for v in figures["affected_households"]]]
    if districts:
        unshaped = affected if light is None else affected[~affected.district_id.isin(light.district_id)]
        if len(unshaped):
            layers.append(ui.symbol_layer(unshaped, lg))
    top = sorted(affected.to_dict(orient="records"), key=lambda r: -(r["affected_households"] or 0))
    layers.append(ui.label_layer(pd.DataFrame(top[:MAX_LABELS], columns=affected.columns)))
    extent = ui.union_bounds(*boxes) or data.PAKISTAN_BBOX
    tip_style = {"fontSize": "13px", "whiteSpace": "pre", "color": "white"}
    if lg in ui.RTL:
        tip_style["direction"] = "rtl"
    deck = ui.compact_deck(layers=layers, initial_view_state=ui.view_for(extent, height_px=height),
                           map_style=None, tooltip={"text": "{tip}", "style": tip_style})
    return deck, legends, palette, bounds


def declared_legend() -> str:
    chips = "".join(
        f'<span style="display:inline-block;margin-right:1rem"><span style="display:inline-block;'
        f'width:12px;height:12px;background:rgb{rgb};margin:0 4px;vertical-align:middle"></span>'
        f"{T(key)}</span>"
        for key, rgb in (("tier_affected", ui.DECLARED_RGB[1]), ("tier_severe", ui.DECLARED_RGB[2]),
                         ("tier_displaced", ui.DECLARED_RGB[3])))
    return f'<div style="font-size:0.85rem"><b>{T("declared_title")}</b><br>{chips}</div>'


def count_legend(palette: np.ndarray) -> str:
    grad = ", ".join(f"rgb{tuple(int(c) for c in rgb)}" for rgb in palette)
    return (f'<div style="font-size:0.8rem;max-width:520px"><b>{T("legend_households")}</b>'
            f'<div dir="ltr" style="height:10px;border-radius:3px;background:linear-gradient(to right, {grad})"></div>'
            f'<div dir="ltr" style="display:flex;justify-content:space-between"><span>{T("legend_few")}</span>'
            f'<span>{T("legend_many")}</span></div></div>')


def show_map(cur: Current, *, height: int = MAP_HEIGHT_PX, toggles: bool = False, key: str = "map") -> None:
    """The map, its legends and what it shows."""
    show = {"hazard": True, "households": True, "districts": True}
    if toggles:
        cols = st.columns(3)
        show["hazard"] = cols[0].toggle(T("layer_hazard"), value=True, key="show_hazard")
        show["households"] = cols[1].toggle(T("layer_households"), value=True, key="show_households")
        show["districts"] = cols[2].toggle(T("layer_districts"), value=True, key="show_districts")
    deck, legends, palette, bounds = build_deck(cur, height=height, **show)
    st.pydeck_chart(deck, height=height, key=key, alt=T("map_alt"))
    left, right = st.columns(2)
    with left:
        for html in legends:
            st.html(html)
    with right:
        st.html(count_legend(palette))
        st.caption(T("map_districts_choropleth") if bounds else T("map_districts_symbols"))
    note = T("map_note")
    if not cur.cfg.planner:
        note += " " + T("map_note_minister", k=cur.k)
    st.caption(note)


# ---------------------------------------------------------------------------------------------
# Shared page parts
# ---------------------------------------------------------------------------------------------

HEADLINES = (
    ("m_affected_households", "affected_households", False),
    ("m_affected_people", "affected_people", False),
    ("m_paid_households", "paid_households", False),
    ("m_amount", "amount_pkr", True),
    ("m_federal", "federal_pkr", True),
    ("m_provincial", "provincial_pkr", True),
)


def show_metrics(totals: dict, baseline: dict | None) -> None:
    """Headline figures in two rows of three; money also in words; deltas against the file."""
    rows = [st.columns(3), st.columns(3)]
    for i, (label, key, money) in enumerate(HEADLINES):
        value = totals[key]
        delta = ui.fmt_delta(value - baseline[key], money) if baseline else None
        cell = rows[i // 3][i % 3]
        cell.metric(T(label), ui.fmt_pkr_short(value, lang()) if money else ui.fmt_count(value),
                    delta=delta, delta_color="off", border=True,
                    help=ui.fmt_pkr(value) if money else None)
        if money:
            cell.caption(ui.fmt_pkr(value))


def scenario_heading(cur: Current) -> None:
    st.subheader(cur.scn.title)
    if cur.scn.modelled_on:
        st.caption(T("modelled_on", what=cur.scn.modelled_on.removesuffix(" (not a reproduction)")))
    st.caption(T("registry_line", source=cur.plan["registry"].get("source", "?"),
                 rows=f"{cur.plan['registry'].get('rows_valid', 0):,}",
                 households=f"{cur.plan['totals']['households']:,}"))
    if cur.changes:
        st.info(T("whatif_active", changes="; ".join(
            f"{T(key)} {new} ({T('was')} {old})" for key, new, old in cur.changes)))


def summary_sentence(totals: dict) -> str:
    lg = lang()
    if not totals["affected_households"]:
        return T("summary_none")
    return T("summary", affected=ui.fmt_count(totals["affected_households"]),
             people=ui.fmt_count(totals["affected_people"]), paid=ui.fmt_count(totals["paid_households"]),
             amount=ui.fmt_pkr_short(totals["amount_pkr"], lg),
             federal=ui.fmt_pkr_short(totals["federal_pkr"], lg),
             provincial=ui.fmt_pkr_short(totals["provincial_pkr"], lg))


def rtl_css() -> None:
    """Right-to-left text for Urdu where Streamlit allows it (maps and tables stay as they are)."""
    text = ("[data-testid='stMain'] h1, [data-testid='stMain'] h2, [data-testid='stMain'] h3,"
            "[data-testid='stSidebar'] h1, [data-testid='stSidebar'] h2, [data-testid='stSidebar'] h3,"
            "[data-testid='stMarkdownContainer'], [data-testid='stCaptionContainer'],"
            "[data-testid='stMetricLabel'], [data-testid='stWidgetLabel'], [data-testid='stAlert']")
    st.html(
        "<style>"
        f"{text} {{direction: rtl; text-align: right;}}"
        f"{text}, [data-testid='stMetricValue']"
        " {font-family: 'Noto Nastaliq Urdu', 'Jameel Noori Nastaleeq',"
        " 'Urdu Typesetting', 'Noto Naskh Arabic', 'Segoe UI', Tahoma, sans-serif;}"
        "[data-testid='stMarkdownContainer'] p, [data-testid='stCaptionContainer'] {line-height: 2.1;}"
        "[data-testid='stMain'] h1 {line-height: 1.9;}"
        "</style>"
    )


def table_height(n: int) -> int:
    return min(35 * (n + 1) + 3, 640)


# ---------------------------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------------------------


def page_overview(cur: Current) -> None:
    """Landing page: headline figures and the map, no click needed."""
    st.title(T("app_title"))
    scenario_heading(cur)
    st.markdown(summary_sentence(cur.plan["totals"]))
    show_metrics(cur.plan["totals"], cur.baseline)
    show_map(cur, key="overview_map")
    cols = st.columns(3)
    cols[0].page_link(PAGE_OBJECTS["map"], label=T("go_map"), icon=":material/map:")
    cols[1].page_link(PAGE_OBJECTS["plan"], label=T("go_plan"), icon=":material/table:")
    cols[2].page_link(PAGE_OBJECTS["scenario"], label=T("go_scenario"), icon=":material/tune:")


def page_map(cur: Current) -> None:
    st.title(T("page_map"))
    scenario_heading(cur)
    show_map(cur, height=680, toggles=True, key="map_page")
    bounds = cur.bounds
    if bounds:
        report = bounds[2]
        st.caption(T("boundaries_in_use", name=bounds[3], matched=report["matched"],
                     total=len(data.district_codes())))


def page_plan(cur: Current) -> None:
    st.title(T("page_plan"))
    scenario_heading(cur)
    show_metrics(cur.plan["totals"], cur.baseline)
    plan = cur.shown
    if not cur.cfg.planner:
        hidden = plan.get("disclosure", {}).get("hidden_cells", 0)
        st.caption(T("minister_tables", k=cur.k, hidden=hidden))
    tabs = st.tabs([T("tab_places"), T("tab_money"), T("tab_budget"), T("tab_programmes"),
                    T("tab_registry"), T("tab_assumptions")])
    with tabs[0]:
        st.subheader(T("by_province"))
        st.dataframe(ui.display_table(plan["provinces"], ["province"], lang()), hide_index=True,
                     key="table_provinces")
        st.subheader(T("by_district"))
        districts = sorted(plan["districts"], key=lambda d: -(d["affected_households"] or 0))
        if not districts:
            st.info(T("no_districts"))
        else:
            st.dataframe(ui.display_table(districts, ["district", "province"], lang()), hide_index=True,
                         height=table_height(len(districts)), key="table_districts")
        if plan.get("tehsils"):
            st.subheader(T("by_tehsil"))
            st.dataframe(ui.display_table(plan["tehsils"], ["district_id", "tehsil_id"], lang()),
                         hide_index=True, height=table_height(len(plan["tehsils"])), key="table_tehsils")
    with tabs[1]:
        st.subheader(T("split_title"))
        t = cur.plan["totals"]
        c = st.columns(3)
        c[0].metric(T("m_federal"), ui.fmt_pkr_short(t["federal_pkr"], lang()))
        c[1].metric(T("m_provincial"), ui.fmt_pkr_short(t["provincial_pkr"], lang()))
        c[2].metric(T("cost_rule"), T("rule_" + cur.scn.cost_sharing.rule))
        split = pd.DataFrame(
            [{T("col_province"): p["province"], T("m_federal"): p["federal_pkr"] / 1e6,
              T("m_provincial"): p["provincial_pkr"] / 1e6}
             for p in plan["provinces"] if p["amount_pkr"] and None not in (p["federal_pkr"], p["provincial_pkr"])])
        if len(split):
            st.bar_chart(split, x=T("col_province"), y=[T("m_federal"), T("m_provincial")],
                         y_label=T("pkr_million_axis"), stack=True, color=["#0072B2", "#E69F00"])
        contributions = plan["cost_sharing"].get("contributions", [])
        pooled = [x for x in contributions if x["benefiting_province"] != x["paying_province"]]
        if pooled:
            st.caption(T("pooled_note"))
            st.dataframe(pd.DataFrame([{T("col_paying"): x["paying_province"],
                                        T("col_benefiting"): x["benefiting_province"],
                                        T("f_amount_pkr"): ui.fmt_pkr(x["amount_pkr"])} for x in pooled]),
                         hide_index=True)
        st.subheader(T("dedup_title"))
        d = cur.plan["dedup"]
        c = st.columns(2)
        c[0].metric(T("dedup_overlap"), ui.fmt_count(d["overlap_households"]))
        c[1].metric(T("dedup_savings"), ui.fmt_pkr(d["savings_pkr"]),
                    help=ui.fmt_pkr_short(d["savings_pkr"], lang()))
        savings = pd.DataFrame([{T("col_province"): p["province"], T("dedup_savings"): p["dedup_savings_pkr"] / 1e6}
                                for p in plan["provinces"] if p["dedup_savings_pkr"]])
        if len(savings):
            st.bar_chart(savings, x=T("col_province"), y=T("dedup_savings"), y_label=T("pkr_million_axis"),
                         color="#009E73")
        else:
            st.caption(T("dedup_none"))
        st.subheader(T("instalments_title"))
        inst = pd.DataFrame([{T("col_instalment"): i["instalment"], T("col_day"): i["day"],
                              T("col_share"): f"{i['share']:.1%}", T("f_amount_pkr"): ui.fmt_pkr(i["amount_pkr"]),
                              T("m_federal"): ui.fmt_pkr(i["federal_pkr"]),
                              T("m_provincial"): ui.fmt_pkr(i["provincial_pkr"])}
                             for i in cur.plan["instalments"]])
        st.dataframe(inst, hide_index=True)
        timeline = pd.DataFrame({T("col_day"): [i["day"] for i in cur.plan["instalments"]],
                                 T("pkr_million_axis"): [i["amount_pkr"] / 1e6 for i in cur.plan["instalments"]]})
        st.bar_chart(timeline, x=T("col_day"), y=T("pkr_million_axis"), color="#56B4E9")
    with tabs[2]:
        b = cur.plan["budget"]
        c = st.columns(2)
        c[0].metric(T("budget_shortfall"), ui.fmt_pkr(b["shortfall_pkr"]),
                    help=ui.fmt_pkr_short(b["shortfall_pkr"], lang()))
        c[1].metric(T("budget_left_out"), ui.fmt_count(b["over_budget_households"]))
        rows = []
        if b["federal_ceiling_pkr"] is not None:
            rows.append({T("col_who"): T("federal"), T("col_ceiling"): ui.fmt_pkr(b["federal_ceiling_pkr"]),
                         T("col_spent"): ui.fmt_pkr(cur.plan["totals"]["federal_pkr"])})
        by_code = {p["province_code"]: p for p in plan["provinces"]}
        for code, ceiling in b["provincial_ceilings_pkr"].items():
            spent = by_code.get(code, {}).get("provincial_pkr", 0)
            rows.append({T("col_who"): data.PROVINCES.get(code, code), T("col_ceiling"): ui.fmt_pkr(ceiling),
                         T("col_spent"): ui.fmt_pkr(spent)})
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True)
            short = pd.DataFrame([{T("col_province"): p["province"],
                                   T("budget_shortfall"): p["budget_shortfall_pkr"] / 1e6}
                                  for p in plan["provinces"] if p["budget_shortfall_pkr"]])
            if len(short):
                st.bar_chart(short, x=T("col_province"), y=T("budget_shortfall"),
                             y_label=T("pkr_million_axis"), color="#D55E00")
        else:
            st.caption(T("no_ceilings"))
    with tabs[3]:
        progs = pd.DataFrame([{T("col_programme"): p["name"], T("col_owner"): T(p["owner"]),
                               T("col_expansion"): T("exp_" + p["expansion"]),
                               T("col_entitled"): ui.fmt_count(p["entitled_households"])}
                              for p in cur.plan["programmes"]])
        st.dataframe(progs, hide_index=True)
        tiers = pd.DataFrame([{T("col_tier"): T(k), T("col_households"): ui.fmt_count(v)}
                              for k, v in zip(("tier_none", "tier_affected", "tier_severe", "tier_displaced"),
                                              cur.plan["tiers"].values(), strict=False)])
        st.dataframe(tiers, hide_index=True)
    with tabs[4]:
        show_registry_report(cur.plan["registry"])
        status = pd.DataFrame([{T("col_status"): T("st_" + k) if ("st_" + k) in ui.LABELS["en"] else k,
                                T("col_households"): ui.fmt_count(v)}
                               for k, v in cur.plan["status_counts"].items()])
        st.dataframe(status, hide_index=True)
    with tabs[5]:
        st.markdown("\n".join(f"- {a}".replace("$", r"\$") for a in cur.plan["assumptions"]))


def show_registry_report(report: dict) -> None:
    c = st.columns(3)
    c[0].metric(T("rows_read"), ui.fmt_count(report.get("rows_read", 0)))
    c[1].metric(T("rows_valid"), ui.fmt_count(report.get("rows_valid", 0)))
    c[2].metric(T("rows_quarantined"), ui.fmt_count(report.get("rows_quarantined", 0)))
    if report.get("reasons"):
        st.dataframe(pd.DataFrame([{T("col_reason"): k, T("col_rows"): ui.fmt_count(v)}
                                   for k, v in report["reasons"].items()]), hide_index=True)
    for note in report.get("notes", []):
        st.caption(note)


# --- Scenario page ------------------------------------------------------------------------------


def page_scenario(cur: Current) -> None:
    st.title(T("page_scenario"))
    ss = st.session_state
    if ss.get("flash"):
        st.success(T("run_done", title=ss.pop("flash")))
        st.page_link(PAGE_OBJECTS["overview"], label=T("go_summary"), icon=":material/home:")
    st.caption(T("now_showing", title=cur.base.title))
    st.header(T("s_hazard"))
    sources = ["library", "build", "upload", "declared"]
    src = st.radio(T("s_source"), sources, format_func=lambda s: T("src_" + s), key="src", horizontal=True)
    lib = library_now()
    template: Scenario
    hazards: list[dict] | None = None
    run_top = False
    top_messages = None
    if src == "library":
        names = list(lib)
        default = names.index(cur.base.name) if cur.base.name in names else names.index(DEMO_NAME)
        pick = st.selectbox(T("s_pick"), names, index=default, format_func=lambda n: lib[n]["title"],
                            key="lib_pick")
        template = library_scenario(pick)
        st.caption(template.description)
        run_top = st.button(T("run"), type="primary", key="run_scenario_top", help=T("run_top_help"))
        top_messages = st.container()
        tid = "lib:" + pick
    else:
        template = cur.base
        tid = "active:" + hashlib.sha1(cur.base.model_dump_json().encode()).hexdigest()[:10]
        if src == "build":
            hazards = hazard_builder()
        elif src == "upload":
            hazards = hazard_upload()
        else:
            hazards = declared_builder()

    st.header(T("s_households"))
    registry_section(cur)

    st.header(T("s_policy"))
    policy = policy_editor(template, tid)

    st.header(T("s_boundaries"))
    boundaries_section()

    st.divider()
    run_bottom = st.button(T("run"), type="primary", key="run_scenario")
    if not (run_bottom or run_top):
        return
    box = top_messages if run_top else st.container()  # messages beside the button pressed
    if src != "library" and hazards is None:
        box.error(T("need_hazard"))
        return
    raw = ui.scenario_raw(template)
    if src != "library":
        kind = "declared" if "admin_table" in hazards[0] else hazards[0].get("kind", "riverine-flood")
        raw.update(name=f"custom-{kind}", title=f"Scenario built in the app: {kind.replace('-', ' ')}",
                   modelled_on=None, description="Built in the Madad app.", assumptions=[],
                   hazards=hazards, combine="max_tier")
    raw.update(policy)
    try:
        scn = ui.validate_raw(raw)
        with box, st.spinner(T("computing")):
            plan_for(scn, registry_source(scn, cur.cfg))
    except ScenarioError as exc:
        box.error(T("scenario_invalid"))
        box.code(str(exc), language=None)
        return
    except MadadError as exc:
        box.error(T("run_failed", problem=str(exc)))
        return
    except Exception as exc:  # never a traceback on the page
        log.exception("running the built scenario failed")
        box.error(T("run_failed", problem=str(exc) or type(exc).__name__))
        return
    ss["active_scn"] = scn
    ss["flash"] = scn.title
    st.rerun()


def hazard_builder() -> list[dict]:
    """A generated hazard: kind, a few parameters and how severity is judged."""
    from hazards import impact

    kinds = list(ui.BUILDER)
    kind = st.selectbox(T("b_kind"), kinds, format_func=lambda k: T("kind_" + k), key="b_kind")
    spec = ui.BUILDER[kind]
    cols = st.columns(max(len(spec.params), 1))
    values: dict[str, Any] = {}
    for col, p in zip(cols, spec.params, strict=False):
        key = f"b_{kind}_{p.name}"
        with col:
            if p.kind == "multiselect":
                values[p.name] = st.multiselect(T(p.label), list(p.options), default=list(p.default), key=key,
                                                format_func=lambda r: T("river_" + r))
            elif p.kind == "select":
                values[p.name] = st.select_slider(T(p.label), options=list(p.options), value=p.default, key=key,
                                                  format_func=lambda v: T("return_period_value", n=f"{v:g}"))
            elif p.kind == "int":
                values[p.name] = st.number_input(T(p.label), min_value=int(p.min), max_value=int(p.max),
                                                 value=int(p.default), step=int(p.step), key=key)
            else:
                values[p.name] = st.number_input(T(p.label), min_value=float(p.min), max_value=float(p.max),
                                                 value=float(p.default), step=float(p.step), key=key)
    params = ui.generator_params(kind, values)
    units = {"riverine-flood": "m", "flash-flood": "mm", "heatwave": "degC", "drought": "index",
             "earthquake": "index", "cyclone": "m/s"}[kind]
    severity = severity_inputs(kind, units, [n for n in impact.names(kind=kind) if impact.load(n).units == units],
                               spec.tiers, spec.impact, prefix=f"b_{kind}")
    return [{"name": kind, "kind": kind, "generator": params, **severity}]


def severity_inputs(kind: str, units: str, impacts: list[str], tiers, impact_default: str | None,
                    prefix: str) -> dict:
    """How a raster's intensity becomes a tier: an impact function or three thresholds."""
    decreasing = kind == "drought" and units == "index"
    options = (["impact"] if impacts else []) + ([] if decreasing else ["tiers"])
    if not options:
        options = ["tiers"]
    how = st.radio(T("b_how"), options, format_func=lambda o: T("how_" + o), key=f"{prefix}_how",
                   horizontal=True)
    if how == "impact":
        name = st.selectbox(T("b_impact"), impacts,
                            index=impacts.index(impact_default) if impact_default in impacts else 0,
                            key=f"{prefix}_impact")
        return ui.severity_raw("impact", None, name)
    defaults = list(tiers or (1.0, None, None))
    unit = ui.UNIT_TEXT.get(units, units)
    cols = st.columns(3)
    values = []
    for i, (col, label) in enumerate(zip(cols, ("tier_affected", "tier_severe", "tier_displaced"), strict=True)):
        d = defaults[i] if i < len(defaults) else None
        v = col.number_input(f"{T(label)} ({unit})" if unit else T(label), value=None if d is None else float(d),
                             key=f"{prefix}_t{i}", placeholder=T("tier_unused"), format="%g")
        values.append(v)
    if values[0] is None:
        values[0] = defaults[0]
    return ui.severity_raw("tiers", values, None)


def hazard_upload() -> list[dict] | None:
    """A hazard raster uploaded by the visitor (GeoTIFF or NetCDF), read by the CLI's reader."""
    from hazards import impact
    from hazards.layer import KINDS

    ss = st.session_state
    up = st.file_uploader(T("u_hazard"), type=HAZARD_TYPES, key="up_hazard", help=T("u_hazard_help"))
    if up is not None:
        ss["hazard_file"] = save_upload(up)
    info = ss.get("hazard_file")
    if not info:
        st.caption(T("u_hazard_none"))
        return None
    with st.expander(T("u_netcdf_options"), expanded=False):
        c = st.columns(3)
        units = c[0].selectbox(T("u_units"), ["", "m", "cm", "mm", "degC", "K", "g", "m/s", "index"],
                               key="u_units", format_func=lambda u: u or T("u_units_file"))
        variable = c[1].text_input(T("u_variable"), key="u_variable")
        time_step = c[2].text_input(T("u_time"), key="u_time")
    try:
        layer = cached_raster(info["path"], units or None, variable or None, time_step or None)
    except Exception as exc:
        show_bad_file(info["name"], exc)
        return None
    vals = layer.values[np.isfinite(layer.values)]
    st.success(T("u_hazard_ok", name=info["name"], rows=layer.shape[0], cols=layer.shape[1],
                 units=layer.attrs.get("units", "?"),
                 lo=f"{float(vals.min()):g}" if vals.size else "–", hi=f"{float(vals.max()):g}" if vals.size else "–"))
    file_kind = layer.attrs.get("kind")
    kinds = list(KINDS)
    kind = st.selectbox(T("b_kind"), kinds, index=kinds.index(file_kind) if file_kind in kinds else 0,
                        format_func=lambda k: T("kind_" + k), key="u_kind")
    lunits = layer.attrs.get("units", "")
    impacts = [n for n in impact.names(kind=kind) if impact.load(n).units == lunits]
    spec = ui.BUILDER.get(kind)
    tiers = spec.tiers if spec is not None and lunits == {"riverine-flood": "m", "flash-flood": "mm",
                                                            "heatwave": "degC", "cyclone": "m/s",
                                                            "earthquake": "index"}.get(kind) else None
    severity = severity_inputs(kind, lunits, impacts, tiers, impacts[0] if impacts else None, prefix="u")
    out = {"name": kind, "kind": kind, "file": info["path"], **severity}
    if units:
        out["units"] = units
    if variable:
        out["variable"] = variable
    if time_step:
        out["time"] = int(time_step) if time_step.lstrip("-").isdigit() else time_step
    return [out]


def declared_builder() -> list[dict] | None:
    """Districts declared calamity-hit: picked here, or a CSV (the NDMA/PDMA notification)."""
    from hazards.admin import read_admin_table

    ss = st.session_state
    how = st.radio(T("d_how"), ["pick", "file"], format_func=lambda o: T("d_" + o), key="d_how",
                   horizontal=True)
    table = data.districts()
    if how == "pick":
        names = dict(zip(table.district_id, table.district + " (" + table.province + ")", strict=True))
        picked = st.multiselect(T("d_districts"), list(names), format_func=names.get, key="d_districts")
        severity = st.selectbox(T("d_severity"), ["affected", "severely_affected", "displaced"],
                                format_func=lambda s: T({"affected": "tier_affected",
                                                          "severely_affected": "tier_severe",
                                                          "displaced": "tier_displaced"}[s]),
                                key="d_severity")
        if not picked:
            st.caption(T("d_none"))
            return None
        csv = "district_id,severity\n" + "".join(f"{d},{severity}\n" for d in picked)
        path = UPLOAD_DIR / f"declared-{hashlib.sha256(csv.encode()).hexdigest()[:16]}.csv"
        UPLOAD_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(csv, encoding="utf-8")
        return [{"name": "declared", "kind": "riverine-flood", "admin_table": str(path)}]
    up = st.file_uploader(T("d_upload"), type=DECLARED_TYPES, key="up_declared", help=T("d_upload_help"))
    if up is not None:
        ss["declared_file"] = save_upload(up)
    info = ss.get("declared_file")
    if not info:
        return None
    try:
        found = read_admin_table(info["path"])
    except Exception as exc:
        show_bad_file(info["name"], exc)
        return None
    st.success(T("d_ok", name=info["name"], n=len(found)))
    return [{"name": "declared", "kind": "riverine-flood", "admin_table": info["path"]}]


def registry_section(cur: Current) -> None:
    """Planners may upload a registry (CSV, Parquet): validated as the CLI does, quarantine shown."""
    ss = st.session_state
    if not cur.cfg.planner:
        st.caption(T("registry_minister"))
        return
    up = st.file_uploader(T("u_registry"), type=REGISTRY_TYPES, key="up_registry", help=T("u_registry_help"))
    if up is not None:
        info = save_upload(up)
        try:
            reg = cached_registry_file(info["path"], info["sha"])
        except Exception as exc:
            show_bad_file(up.name, exc)
            return
        if reg.report.rows_valid == 0:
            st.error(T("bad_file", name=up.name, problem=T("registry_empty")))
            show_quarantine(reg)
            return
        if ss.get("registry_file") != info:
            ss["registry_file"] = info
            st.rerun()
    info = ss.get("registry_file")
    if not info:
        st.caption(T("registry_synthetic", n=f"{cur.plan['registry'].get('rows_valid', 0):,}"))
        return
    reg = cached_registry_file(info["path"], info["sha"])
    st.success(T("registry_using", name=info["name"], n=f"{reg.report.rows_valid:,}"))
    show_quarantine(reg)
    if st.button(T("registry_drop"), key="registry_drop"):
        ss.pop("registry_file", None)
        st.rerun()


def show_quarantine(reg) -> None:
    show_registry_report(reg.report.to_dict())
    if len(reg.quarantine):
        st.subheader(T("quarantine_title"))
        shown = reg.quarantine.head(1000).rename(columns={"row": T("col_row"), "household_id": T("col_household"),
                                                          "reason": T("col_reason")})
        st.dataframe(shown, hide_index=True, key="quarantine_rows")


def boundaries_section() -> None:
    """District boundaries for the map and the downloads (GeoJSON, GeoPackage, zipped
    Shapefile, GeoParquet), read by :func:`simulator.boundaries.load_boundaries`."""
    ss = st.session_state
    c = st.columns([2, 1, 1])
    up = c[0].file_uploader(T("u_boundaries"), type=BOUNDARY_TYPES, key="up_boundaries",
                            help=T("u_boundaries_help"))
    code_col = c[1].text_input(T("u_code_column"), value="district_id", key="u_code_column")
    name_col = c[2].text_input(T("u_name_column"), value="", key="u_name_column")
    if up is not None:
        info = save_upload(up)
        info.update(code_column=code_col or "district_id", name_column=name_col or None)
        try:
            _, _, report = cached_boundaries(info["path"], None, info["code_column"], info["name_column"],
                                             info["sha"])
        except Exception as exc:
            show_bad_file(up.name, exc)
            return
        if report["matched"] == 0:
            sample = ", ".join(report["boundaries_without_households"][:3])
            st.error(T("bad_file", name=up.name, problem=T("boundaries_no_match", column=info["code_column"],
                                                              sample=sample)))
            return
        if ss.get("boundaries_file") != info:
            ss["boundaries_file"] = info
            st.rerun()
    info = ss.get("boundaries_file")
    if info:
        _, _, report = cached_boundaries(info["path"], None, info["code_column"], info["name_column"],
                                         info["sha"])
        st.success(T("boundaries_using", name=info["name"], matched=report["matched"],
                     total=len(data.district_codes())))
        if report.get("registry_codes_without_boundary"):
            st.caption(T("boundaries_missing", n=len(report["registry_codes_without_boundary"])))
        if st.button(T("boundaries_drop"), key="boundaries_drop"):
            ss.pop("boundaries_file", None)
            st.rerun()
    else:
        st.caption(T("boundaries_none"))


def policy_editor(template: Scenario, tid: str) -> dict:
    """The policy of the scenario: programmes, dedup, cost-sharing, budgets, instalments.

    Widgets start from ``template`` (keys namespaced by ``tid`` so a new template resets them);
    returns the scenario-dict entries they describe.
    """
    ss = st.session_state
    raw = ui.scenario_raw(template)
    programmes = raw["policy"]["programmes"]
    n_key = f"pol/{tid}/n"
    if n_key not in ss:
        ss[n_key] = len(programmes)
    out_programmes = []
    for i in range(ss[n_key]):
        base = programmes[i] if i < len(programmes) else ui.default_programme() | {"name": f"Programme {i + 1}"}
        p = f"pol/{tid}/{i}"
        with st.expander(T("programme_n", n=i + 1, name=base["name"]), expanded=i == 0):
            keep = st.checkbox(T("p_include"), value=True, key=f"{p}/keep")
            c = st.columns(3)
            name = c[0].text_input(T("p_name"), value=base["name"], key=f"{p}/name")
            owner = c[1].selectbox(T("p_owner"), ["federal", "provincial"],
                                   index=["federal", "provincial"].index(base["owner"]),
                                   format_func=T, key=f"{p}/owner")
            expansions = ["all_affected", "vertical", "horizontal"]
            expansion = c[2].selectbox(T("p_expansion"), expansions, index=expansions.index(base["expansion"]),
                                       format_func=lambda e: T("exp_" + e), key=f"{p}/expansion",
                                       help=T("p_expansion_help"))
            c = st.columns(3)
            tiers = base["transfer"]["by_tier_pkr"]
            amounts = []
            for col, tier, label in zip(c, ("affected", "severely_affected", "displaced"),
                                        ("tier_affected", "tier_severe", "tier_displaced"), strict=True):
                amounts.append(col.number_input(T("p_amount", tier=T(label)), min_value=0, step=1000,
                                                value=int(tiers[tier]) if tier in tiers else None,
                                                placeholder=T("p_same_as_below"), key=f"{p}/{tier}"))
            c = st.columns(3)
            use_pmt = c[0].checkbox(T("p_use_pmt"), value=base.get("pmt_max") is not None, key=f"{p}/use_pmt")
            pmt = c[0].slider(T("p_pmt"), 0.0, 100.0, float(base.get("pmt_max") or 32.0), 1.0, key=f"{p}/pmt",
                              disabled=not use_pmt)
            enrol = c[1].multiselect(T("p_beneficiaries"), ["kafaalat", "prov_uct", "prov_cct"],
                                     default=base.get("beneficiaries_of") or [], key=f"{p}/benef",
                                     format_func=lambda e: T("enr_" + e), disabled=expansion == "all_affected")
            provinces = c[2].multiselect(T("p_provinces"), list(data.PROVINCES),
                                         default=base.get("provinces") or [], format_func=data.PROVINCES.get,
                                         key=f"{p}/prov", help=T("p_provinces_help"))
            min_tier = st.selectbox(T("p_min_tier"), ["affected", "severely_affected", "displaced"],
                                    index=["affected", "severely_affected", "displaced"].index(base.get("min_tier", "affected")),
                                    format_func=lambda s: T({"affected": "tier_affected", "severely_affected": "tier_severe",
                                                              "displaced": "tier_displaced"}[s]), key=f"{p}/min_tier")
        if not keep:
            continue
        by_tier = {t: int(a) for t, a in zip(("affected", "severely_affected", "displaced"), amounts, strict=True)
                   if a is not None}
        prog = dict(base)
        prog.update(name=name, owner=owner, expansion=expansion, pmt_max=float(pmt) if use_pmt else None,
                    beneficiaries_of=[] if expansion == "all_affected" else enrol, provinces=provinces or None, min_tier=min_tier,
                    transfer={**base["transfer"], "by_tier_pkr": by_tier or {"affected": 0}})
        out_programmes.append(prog)
    if st.button(T("p_add"), key=f"pol/{tid}/add"):
        ss[n_key] += 1
        st.rerun()

    st.subheader(T("s_cost_sharing"))
    cs = raw["cost_sharing"]
    c = st.columns(3)
    rules = ["fixed", "ownership", "key"]
    rule = c[0].selectbox(T("cost_rule"), rules, index=rules.index(cs["rule"]), format_func=lambda r: T("rule_" + r),
                          key=f"pol/{tid}/cs_rule")
    share = c[1].slider(T("q_federal"), 0.0, 100.0, round(cs["federal_share"] * 100, 2), 0.5,
                        key=f"pol/{tid}/cs_share", disabled=rule == "ownership", format="%g")
    keys = ["nfc7", "population2023"]
    key = c[2].selectbox(T("cs_key"), keys, index=keys.index(cs["key"]) if cs["key"] in keys else 0,
                         format_func=lambda k: T("key_" + k), key=f"pol/{tid}/cs_key", disabled=rule != "key")
    dd = raw["dedup"]
    c = st.columns(2)
    drule = c[0].selectbox(T("dedup_rule"), ["top_up", "priority"], index=["top_up", "priority"].index(dd["rule"]),
                           format_func=lambda r: T("dedup_" + r), key=f"pol/{tid}/dd_rule")
    first = c[1].selectbox(T("dedup_first"), ["federal", "provincial"],
                           index=["federal", "provincial"].index(dd["base"] if dd["rule"] == "top_up" else dd["order"][0]),
                           format_func=T, key=f"pol/{tid}/dd_first")

    st.subheader(T("s_budget"))
    b = raw["budget"]
    c = st.columns(6)
    fed = c[0].number_input(T("federal"), min_value=0, step=10_000_000, value=b.get("federal_pkr"),
                            placeholder=T("no_ceiling"), key=f"pol/{tid}/b_fed")
    prov_ceilings = {}
    for col, code in zip(c[1:], data.PROVINCES, strict=False):
        v = col.number_input(data.PROVINCES[code], min_value=0, step=10_000_000,
                             value=b.get("provincial_pkr", {}).get(code), placeholder=T("no_ceiling"),
                             key=f"pol/{tid}/b_{code}")
        if v is not None:
            prov_ceilings[code] = int(v)
    st.caption(T("budget_help"))

    st.subheader(T("instalments_title"))
    inst = raw["policy"]["instalments"]
    st.caption(T("instalments_now", text=", ".join(
        T("inst_on_day", share=f"{100 * i['share']:.4g}%", day=i["day"])
        for i in inst)))
    c = st.columns(3)
    change = c[0].checkbox(T("inst_change"), key=f"pol/{tid}/inst_change")
    n_inst = c[1].number_input(T("inst_n"), 1, 12, len(inst), key=f"pol/{tid}/inst_n", disabled=not change)
    gap = c[2].number_input(T("inst_gap"), 0, 365, int(inst[1]["day"] - inst[0]["day"]) if len(inst) > 1 else 30,
                            key=f"pol/{tid}/inst_gap", disabled=not change)
    instalments = ui.equal_instalments(n_inst, gap) if change else inst
    return {
        "policy": {**raw["policy"], "programmes": out_programmes, "instalments": instalments},
        "cost_sharing": {"rule": rule, "federal_share": round(share / 100, 6), "key": key},
        "dedup": {"rule": drule, "base": first, "order": [first, "provincial" if first == "federal" else "federal"]},
        "budget": {**b, "federal_pkr": None if fed is None else int(fed), "provincial_pkr": prov_ceilings},
    }


# --- Compare page -------------------------------------------------------------------------------


def page_compare(cur: Current) -> None:
    st.title(T("page_compare"))
    st.caption(T("compare_help"))
    ss = st.session_state
    saved: list[dict] = ss.setdefault("saved", [])
    lib = library_now()
    if "compare_pick" not in ss:
        ss["compare_pick"] = ["current", compare_partner(cur, lib)]
    if st.button(T("compare_save"), key="compare_save"):
        label = cur.scn.title + (" — " + "; ".join(f"{T(k)} {new}" for k, new, _ in cur.changes) if cur.changes else "")
        known = [s["label"] for s in saved]
        if label not in known:
            saved.append({"label": label, "scn": cur.scn})
        option = f"saved:{known.index(label) if label in known else len(saved) - 1}"
        if option not in ss["compare_pick"]:
            ss["compare_pick"] = [*ss["compare_pick"], option][-4:]
    options = ["current"] + [f"saved:{i}" for i in range(len(saved))] + [f"lib:{n}" for n in lib]

    def label_of(o: str) -> str:
        if o == "current":
            return T("compare_current", title=cur.scn.title)
        if o.startswith("saved:"):
            return saved[int(o[6:])]["label"]
        return lib[o[4:]]["title"]

    ss["compare_pick"] = [o for o in ss["compare_pick"] if o in options]
    picked = st.multiselect(T("compare_pick"), options, format_func=label_of, key="compare_pick",
                            max_selections=4)
    if len(picked) < 2:
        st.info(T("compare_need_two"))
        return
    scns = []
    for o in picked:
        if o == "current":
            scns.append(cur.scn)
        elif o.startswith("saved:"):
            scns.append(saved[int(o[6:])]["scn"])
        else:
            scns.append(library_scenario(o[4:]))
    plans = []
    try:
        with st.spinner(T("computing")):
            for scn in scns:
                plans.append(plan_for(scn, registry_source(scn, cur.cfg))[0])
    except MadadError as exc:
        st.error(T("run_failed", problem=str(exc)))
        return
    st.markdown("\n".join(f"{i + 1}. {label_of(o)}" for i, o in enumerate(picked)))
    labels = [str(i + 1) for i in range(len(picked))]
    table = ui.compare_table(plans, labels, lang())
    st.dataframe(table, hide_index=True, key="compare_table", height=table_height(len(table)))
    chart = pd.DataFrame({T("c_option"): [str(i + 1) for i in range(len(plans))],
                          T("m_amount"): [p["totals"]["amount_pkr"] / 1e6 for p in plans]})
    st.bar_chart(chart, x=T("c_option"), y=T("m_amount"), y_label=T("pkr_million_axis"), color="#0072B2")
    with st.expander(T("compare_all")):
        try:
            from simulator.publish import compare, export
        except ImportError:
            st.caption(T("unavailable", what="simulator.plans.compare"))
        else:
            shown = plans if cur.cfg.planner else [
                cached_suppressed(scn.model_dump_json() + "|" + registry_source(scn, cur.cfg).key, cur.k, p)
                for scn, p in zip(scns, plans, strict=True)]
            runs = [export.Run(p, label=f"{label}. {label_of(o)}")
                    for p, label, o in zip(shown, labels, picked, strict=True)]
            try:
                frame = compare.compare(runs)
                frame.columns = [str(c) for c in frame.columns]
                frame.index = [" / ".join(map(str, i)) for i in frame.index]
                st.dataframe(frame.astype(str), key="compare_full")
            except Exception as exc:
                show_bad_file("simulator.plans.compare", exc)


def compare_partner(cur: Current, lib: dict) -> str:
    """A first comparison that means something: the scenario file itself when a what-if is
    active, else another library scenario of the same kind of hazard (else the demo)."""
    if cur.changes and cur.base.name in lib:
        return f"lib:{cur.base.name}"
    kind = cur.base.hazards[0].kind
    same = [n for n in lib if n != cur.scn.name and lib[n]["raw"]["hazards"][0]["kind"] == kind]
    others = [n for n in lib if n != cur.scn.name]
    return f"lib:{(same or others or [DEMO_NAME])[0]}"


# --- Downloads page -----------------------------------------------------------------------------

DOWNLOADS = (
    ("xlsx", "dl_xlsx", "plan.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("pdf", "dl_pdf", "brief.pdf", "application/pdf"),
    ("gpkg", "dl_gpkg", "districts.gpkg", "application/geopackage+sqlite3"),
    ("geojson", "dl_geojson", "districts.geojson", "application/geo+json"),
    ("json", "dl_json", "plan.json", "application/json"),
    ("csv", "dl_csv", "payouts.csv", "text/csv"),
    ("parquet", "dl_parquet", "payouts.parquet", "application/vnd.apache.parquet"),
)
PLANNER_ONLY = frozenset({"csv", "parquet"})


def make_file(fmt: str, scn: Scenario, source: RegistrySource, cfg: ui.Settings, boundaries=None,
              library: Scenario | None = None) -> bytes:
    """One download's bytes, written by :func:`simulator.export.export`.

    A minister's files are written from the suppressed plan (hidden cells stay empty); the
    published formats (PDF brief, GeoJSON) are suppressed for planners too, as the CLI does.
    """
    from simulator.publish import export

    if fmt in PLANNER_ONLY and not cfg.planner:
        raise PermissionError("the household payout list is for planners")
    result = full_result(scn, source, library)
    run: Any = result
    if not cfg.planner:
        shown = cached_suppressed(scn.model_dump_json() + "|" + source.key, cfg.min_cell, result.plan)
        run = export.Run(shown, label=scn.name, households=result.households,
                         hazards=[h for h in result.hazards if isinstance(h, xr.DataArray)])
    with tempfile.TemporaryDirectory(prefix="madad-app-") as tmp:
        out = Path(tmp) / f"file.{fmt}"
        export.export(run, fmt, out, boundaries=boundaries, min_cell=cfg.min_cell)
        return out.read_bytes()


def safe_file(fmt: str, scn: Scenario, source: RegistrySource, cfg: ui.Settings, boundaries=None,
              library: Scenario | None = None) -> bytes:
    """:func:`make_file`, or a short text naming the problem (never a traceback)."""
    try:
        return make_file(fmt, scn, source, cfg, boundaries, library)
    except Exception as exc:
        log.exception("writing %s failed", fmt)
        return f"Madad could not write this file: {exc}\n".encode()


@st.cache_data(show_spinner=False, max_entries=8)
def cached_minister_pdf(key: str, k: int, _scn: Scenario, _source: RegistrySource, _cfg: ui.Settings,
                        _boundaries) -> bytes:
    """The minister's PDF brief of a plan with hidden cells (``key``: scenario and registry)."""
    return make_file("pdf", _scn, _source, _cfg, _boundaries)


def page_downloads(cur: Current) -> None:
    st.title(T("page_downloads"))
    scenario_heading(cur)
    if not cur.cfg.planner:
        st.info(T("dl_minister", k=cur.k))
    full = cur.bounds[0] if cur.bounds else None
    hidden = bool(cur.shown.get("disclosure", {}).get("hidden_cells"))
    for fmt, label, suffix, mime in DOWNLOADS:
        if fmt in PLANNER_ONLY and not cur.cfg.planner:
            continue
        c = st.columns([3, 2])
        c[0].markdown(f"**{T(label)}**  \n{T(label + '_help')}")
        data: Any = lambda fmt=fmt: safe_file(fmt, cur.scn, cur.source, cur.cfg, full, cur.base)  # noqa: E731
        if hidden and fmt == "pdf":
            # Written here once per plan, so that a brief the exporter cannot write from a plan
            # with hidden cells is reported on the page rather than as a broken file.
            try:
                data = cached_minister_pdf(cur.scn.model_dump_json() + "|" + cur.source.key, cur.k,
                                           cur.scn, cur.source, cur.cfg, full)
            except Exception as exc:
                log.warning("minister's PDF brief not written: %s", exc)
                c[1].caption(T("dl_pdf_hidden_unavailable", k=cur.k))
                continue
        c[1].download_button(
            T("dl_button", name=f"{cur.scn.name}-{suffix}"), data=data,
            file_name=f"{cur.scn.name}-{suffix}", mime=mime, key=f"download_{fmt}", on_click="ignore",
        )
    if not cur.cfg.planner:
        st.caption(T("dl_no_households"))


# ---------------------------------------------------------------------------------------------
# The app
# ---------------------------------------------------------------------------------------------

PAGE_OBJECTS: dict[str, Any] = {}


def init_state() -> None:
    ss = st.session_state
    if "active_scn" not in ss:
        ss["active_scn"] = library_scenario(DEMO_NAME)


def sidebar_top(cfg: ui.Settings) -> None:
    sb = st.sidebar
    sb.radio(ui.text("en", "language") + " / " + ui.text("ur", "language"), list(ui.LANGUAGES),
             format_func=ui.LANGUAGES.get, key="lang", horizontal=True)
    if cfg.planner:
        sb.caption(T("role_planner"))
    else:
        sb.caption(T("role_minister", k=cfg.min_cell))


def main() -> None:
    started = time.perf_counter()
    st.set_page_config(page_title="Madad", page_icon=":material/volunteer_activism:", layout="wide")
    cfg = settings()
    init_state()
    sidebar_top(cfg)
    if lang() in ui.RTL:
        rtl_css()
    for problem in cfg.problems:
        st.error(T("config_problem", problem=problem))
    try:
        cur = compute_current(cfg)
        cur.bounds = active_boundaries()
    except MadadError as exc:
        log.warning("run failed: %s", exc)
        st.error(T("run_failed", problem=str(exc)))
        if st.button(T("back_to_demo"), key="back_to_demo"):
            st.session_state["active_scn"] = library_scenario(DEMO_NAME)
            st.rerun()
        return

    def page(fn):
        def run_page() -> None:
            fn(cur)
        run_page.__name__ = fn.__name__
        return run_page

    icons = {"overview": ":material/home:", "scenario": ":material/tune:", "map": ":material/map:",
             "plan": ":material/table:", "compare": ":material/compare_arrows:",
             "downloads": ":material/download:"}
    fns = {"overview": page_overview, "scenario": page_scenario, "map": page_map, "plan": page_plan,
           "compare": page_compare, "downloads": page_downloads}
    PAGE_OBJECTS.clear()
    for name in PAGES:
        PAGE_OBJECTS[name] = st.Page(page(fns[name]), title=T("page_" + name), icon=icons[name],
                                     url_path=name, default=name == "overview")
    nav = st.navigation(list(PAGE_OBJECTS.values()))
    nav.run()
    st.sidebar.caption(T("computed_in", s=f"{cur.seconds:.2f}"))
    log.info("page %s: plan %.3f s, whole run %.3f s", nav.url_path or "overview", cur.seconds,
             time.perf_counter() - started)


if __name__ == "__main__":
    if not log.handlers:  # the app, not the library, configures its log (once per process)
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    try:
        main()
    except MadadError as exc:  # anything the library raises on purpose is the user's to read
        log.warning("%s", exc)
        st.error(str(exc))
    except Exception:  # never a traceback on the page; the server log has it
        log.exception("the Madad app failed")
        st.error("Something went wrong; the server log has the details. / کچھ غلط ہو گیا؛ تفصیل سرور کے لاگ میں ہے۔")
