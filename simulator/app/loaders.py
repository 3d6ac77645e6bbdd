"""Everything the app caches, in one place: the scenario library, uploaded files, hazard
layers, registries, plans (full and as a minister may see them), hazard images and the
minister's PDF brief.

Every cache entry whose arguments Streamlit cannot hash is keyed by :func:`cache_key`, built
from the scenario's JSON, the registry source's key and the library scenario's JSON (an
edited policy is a different plan from the library's, if only in its title). Hazards and the
registry are cached apart from the policy, so a policy change reruns only the engine and the
plan. Every plan comes from :func:`simulator.plans.assemble`: the app builds none of its own.

Uploaded files are kept under the system temporary folder (``madad-uploads/``), named by
their SHA-256, and read with the CLI's own readers.

Long work shows a progress bar (:func:`progress_bar`) fed by the library's callbacks: the
synthetic registry's generation and a plan with an ensemble, the first time they are computed.
The bar is made and emptied inside the cached function: Streamlit replays a cached function's
elements on a cache hit, and an element made outside it could not be replayed.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
import xarray as xr

from hazards import tables as data
from hazards.errors import MadadError
from simulator import plans
from simulator import scenario as scenario_mod
from simulator.app import builder, deck, style, text
from simulator.app.settings import Settings
from simulator.scenario import Scenario

log = logging.getLogger("madad.app")

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS_DIR = ROOT / "scenarios"
DEMO_NAME = "indus-flood-demo"
UPLOAD_DIR = Path(tempfile.gettempdir()) / "madad-uploads"
#: Downloads only a planner may have: the household payout list.
PLANNER_ONLY = frozenset({"csv", "parquet"})


def cache_key(*parts: Any) -> str:
    """The key of a cache entry: each part as text, joined by ``|``.

    A scenario (any pydantic model) counts by its JSON, a :class:`RegistrySource` by its key,
    None (no library: a scenario built from scratch) as an empty part; anything else by ``str``.
    """
    out = []
    for part in parts:
        if part is None:
            out.append("")
        elif isinstance(part, RegistrySource):
            out.append(part.key)
        elif hasattr(part, "model_dump_json"):
            out.append(part.model_dump_json())
        else:
            out.append(str(part))
    return "|".join(out)


# --- progress of long work ----------------------------------------------------------------------


def _lang() -> str:
    """The visitor's language (English outside a session)."""
    try:
        return st.session_state.get("lang", "en")
    except Exception:  # no session (a script run bare)
        return "en"


@contextmanager
def progress_bar() -> Iterator[Callable[[float, str], None]]:
    """A progress bar on the page while the block runs, emptied when it ends.

    Call it inside the cached function that does the work: the bar's updates are then part of
    what Streamlit replays on a cache hit, where they end emptied, so a hit shows nothing (an
    element made outside a cached function and updated inside it breaks the replay).

    Yields
    ------
    callable
        ``show(fraction, message)``: the share done (0 to 1) and a line of text; the page is
        updated only when the whole percent or the text changes.
    """
    slot = st.empty()
    shown: list = [None]

    def show(fraction: float, message: str) -> None:
        now = (int(100 * min(max(fraction, 0.0), 1.0)), message)
        if now != shown[0]:
            shown[0] = now
            slot.progress(now[0], text=now[1])

    try:
        yield show
    finally:
        slot.empty()


# --- the scenario library -----------------------------------------------------------------------


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
        out[scn.name] = {"title": scn.title, "path": str(path), "raw": builder.scenario_raw(scn)}
    return out


def library_now() -> dict[str, dict]:
    return library(tuple(sorted((p.name, p.stat().st_mtime) for p in SCENARIOS_DIR.glob("*.yaml"))))


def library_scenario(name: str) -> Scenario:
    return Scenario.model_validate(library_now()[name]["raw"])


# --- uploaded files: kept by content in a temporary folder, read with the CLI's own readers -------


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


def file_stamp(path: str) -> str:
    st_ = Path(path).stat()
    return f"{st_.st_size}-{st_.st_mtime_ns}"


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
    """Boundaries read by :func:`simulator.registry.boundaries.load_boundaries`: (full,
    simplified for the map, code report against the 2023 census districts)."""
    import shapely

    from simulator.registry import boundaries

    frame = boundaries.load_boundaries(path, layer=layer, code_column=code_column,
                                       name_column=name_column)
    report = boundaries.check_codes(frame, data.district_codes(), source="data/districts.csv",
                                    strict=False)
    light = boundaries.simplify_for_map(frame, tolerance_deg=0.01)
    light = light.set_geometry(shapely.transform(light.geometry.values, lambda xy: np.round(xy, 4)))
    return frame, light, report


def env_boundaries(cfg: Settings):
    """(full, light, report) of ``MADAD_BOUNDARIES`` (raises when it cannot be read)."""
    return cached_boundaries(cfg.boundaries, cfg.boundaries_layer, cfg.boundaries_code_column,
                             cfg.boundaries_name_column, file_stamp(cfg.boundaries))


# --- hazards and the registry, cached apart from the policy ---------------------------------------


def hazard_key(spec, seed: int) -> str:
    """What a hazard layer depends on: its source and parameters and the seed (not its tiers)."""
    return cache_key(spec.model_dump_json(exclude={"threshold", "tiers", "impact", "name"}), f"seed={seed}")


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


def registry_source(scn: Scenario, cfg: Settings, upload: dict | None = None) -> RegistrySource:
    """The households a scenario runs on: a planner's ``upload`` ({path, name, sha}), else
    ``MADAD_REGISTRY``, else the scenario's registry file, else the synthetic registry."""
    if upload and cfg.planner:
        return RegistrySource(f"file|{upload['sha']}", upload["path"], upload["name"])
    env = cfg.registry
    if env:
        return RegistrySource(f"file|{env}|{file_stamp(env) if Path(env).exists() else 'missing'}",
                              env, Path(env).name)
    if scn.registry.path:
        path = str((SCENARIOS_DIR / scn.registry.path).resolve())
        return RegistrySource(f"file|{path}|{file_stamp(path) if Path(path).exists() else 'missing'}",
                              path, Path(path).name)
    n = cfg.demo_households
    n = scn.registry.synthetic_households if n is None else n
    return RegistrySource(f"synthetic|{n}|{scn.seed}", None, "synthetic", n)


@st.cache_resource(show_spinner=False, max_entries=8)
def cached_registry(key: str, _source: RegistrySource, _seed: int):
    """The validated registry of a :class:`RegistrySource` (a synthetic one generated under a
    progress bar)."""
    from simulator import registry

    if _source.path is not None:
        if not Path(_source.path).exists():
            raise MadadError(f"{_source.path}: no such registry file.")
        return registry.validate(registry.read_raw(_source.path), source=_source.label)
    english, label = _lang() == "en", text.text(_lang(), "computing")
    with progress_bar() as show:
        shown = [-1]

        def generated(done: int, total: int) -> None:
            percent = 100 * done // max(total, 1)
            if percent != shown[0]:  # one update per percent, not one per district
                shown[0] = percent
                what = "generating the synthetic registry:" if english else label
                show(percent / 100, f"{what} {done:,} / {total:,}")

        frame = registry.generate(_source.households, seed=_seed, on_progress=generated)
    return registry.validate(
        frame, source=f"synthetic registry ({_source.households:,} households, seed {_seed})")


def registry_of(scn: Scenario, source: RegistrySource):
    return cached_registry(cache_key(source, f"seed={scn.seed}"), source, scn.seed)


# --- plans: every one from simulator.plans.assemble ---------------------------------------------


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_result(key: str, _scn: Scenario, _source: RegistrySource, _library: Scenario | None):
    """(run result, seconds) of one scenario, registry and library scenario (``key``:
    :func:`cache_key` of the three), from :func:`simulator.plans.assemble`. Kept as one object,
    not copied on each read: its household table is as long as the registry. Only the engine
    and the plan run when the hazards and the registry are cached; with an ensemble, under a
    progress bar."""
    t0 = time.perf_counter()
    reg, layers = registry_of(_scn, _source), hazards_of(_scn)
    if _scn.ensemble is None:  # the engine and the plan: about a second at most
        result = plans.assemble(_scn, reg, layers, library=_library)
        return result, time.perf_counter() - t0
    # an ensemble runs for minutes: a bar fed by assemble's messages (engine, plan, then one
    # per member)
    steps = 2 + _scn.ensemble.members
    told = [0]
    label = text.text(_lang(), "computing")
    with progress_bar() as show:

        def say(message: str) -> None:
            show(told[0] / steps, message if _lang() == "en" else label)
            told[0] += 1

        result = plans.assemble(_scn, reg, layers, library=_library, on_progress=say)
    return result, time.perf_counter() - t0


@st.cache_data(show_spinner=False, max_entries=64)
def cached_plan(key: str, _scn: Scenario, _source: RegistrySource, _library: Scenario | None):
    """(plan, the affected households binned to hexagons, seconds): a copy for each page, so
    that nothing a page does reaches the cached result.

    The hexagons are exact, as the plan is: :func:`published_hexagons` gives a minister's."""
    result, seconds = cached_result(key, _scn, _source, _library)
    reg = registry_of(_scn, _source)
    hit = result.households["tier"].cat.codes.to_numpy() > 0
    rows = reg.households if result.rows is None else reg.households.iloc[result.rows]
    hexes = deck.hex_bins(rows["lon"].to_numpy()[hit], rows["lat"].to_numpy()[hit],
                          weights=result.households["weight"].to_numpy()[hit])
    return result.plan, hexes, seconds


@st.cache_data(show_spinner=False, max_entries=64)
def cached_published_hexagons(key: str, _hexes: pd.DataFrame, _result) -> pd.DataFrame:
    """A minister's hexagons: perturbed by the cell-key method
    (:func:`simulator.publish.disclosure.perturb_hexagons`, keyed by the registry's content as
    the minister's plan is); the page then hides those under ``min_cell``."""
    from simulator.publish.disclosure import perturb_hexagons
    from simulator.publish.disclosure.cellkey import unit_of

    return perturb_hexagons(_hexes, cached_registry_key(key, _result), unit_of(_result.plan))


def published_hexagons(scn: Scenario, source: RegistrySource, library: Scenario | None,
                       hexes: pd.DataFrame) -> pd.DataFrame:
    """The hexagons of :func:`plan_for` as a minister may see them (perturbed)."""
    key = cache_key(scn, source, library)
    return cached_published_hexagons(key, hexes, cached_result(key, scn, source, library)[0])


@st.cache_data(show_spinner=False, max_entries=64)
def cached_registry_key(key: str, _result) -> bytes:
    """The registry version's key of the cell-key perturbation
    (:func:`simulator.publish.disclosure.registry_key` of the run's household table)."""
    from simulator.publish.disclosure import registry_key

    return registry_key(_result.households)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_suppressed(key: str, k: int, _plan: dict, _registry_key: bytes | None = None) -> dict:
    """The plan as a minister may see it (:func:`simulator.publish.disclosure.protect_plan`:
    perturbed by the cell-key method with the registry's key, then small-cell suppressed).

    Without disclosure control the minister's view is not shown at all (it fails closed).
    """
    try:
        from simulator.publish.disclosure import protect_plan
    except ImportError as exc:
        raise MadadError(f"disclosure control (simulator.publish.disclosure) is not available ({exc}); "
                         "the minister's view needs it. Set MADAD_ROLE=planner only where planners work.") from exc
    return protect_plan(_plan, k=k, key=_registry_key)


def plan_for(scn: Scenario, source: RegistrySource, library: Scenario | None):
    """(plan, hexagons, seconds) of ``scn`` on ``source``, marked edited against ``library``."""
    return cached_plan(cache_key(scn, source, library), scn, source, library)


def shown_plan(plan: dict, scn: Scenario, source: RegistrySource, library: Scenario | None,
               cfg: Settings) -> dict:
    """``plan`` as this visitor may see it: whole for planners, perturbed and suppressed for
    ministers (the same figures as the published PDF brief and GeoJSON)."""
    if cfg.planner:
        return plan
    key = cache_key(scn, source, library)
    reg_key = cached_registry_key(key, cached_result(key, scn, source, library)[0])
    return cached_suppressed(key, cfg.min_cell, plan, reg_key)


def full_result(scn: Scenario, source: RegistrySource, library: Scenario | None) -> plans.RunResult:
    """The in-memory run with its per-household table, for the downloads (built on click)."""
    return cached_result(cache_key(scn, source, library), scn, source, library)[0]


# --- the map's hazard images ----------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=32)
def cached_hazard_image(key: str, ramp: style.HazardStyle, _layer: xr.DataArray):
    """(PNG data URL, lon/lat bounds, bounds of the coloured pixels) of one raster
    (``key``: :func:`hazard_key`)."""
    values, bounds = style.display_grid(_layer)
    rgba = style.colorize(values, ramp)
    return style.png_data_url(rgba), bounds, style.visible_bounds(rgba, bounds)


# --- the map's outlines -----------------------------------------------------------------------------


@st.cache_resource(show_spinner=False, max_entries=8)
def cached_outline_paths(key: str, _light) -> list:
    """District outline paths of a user's boundaries (``key``: a hash of their geometries),
    shared between reruns and pages, never modified."""
    return deck.outline_paths(_light.geometry.values)


def outline_layers(light=None) -> list:
    """The map's province and district outlines (:func:`simulator.app.deck.outline_layers`):
    districts from ``light`` (a user's boundaries simplified for the map) when given, else
    the shipped ones. Show :data:`hazards.tables.BOUNDARY_ATTRIBUTION` with them."""
    paths = None
    if light is not None:
        import shapely

        key = hashlib.sha1(b"".join(shapely.to_wkb(light.geometry.values)), usedforsecurity=False)
        paths = cached_outline_paths(key.hexdigest(), light)
    return deck.outline_layers(paths)


# --- downloads ------------------------------------------------------------------------------------


def make_file(fmt: str, scn: Scenario, source: RegistrySource, cfg: Settings, boundaries=None,
              library: Scenario | None = None) -> bytes:
    """One download's bytes, written by :func:`simulator.publish.export.export`.

    A minister's files are written from the suppressed plan (hidden cells stay empty); the
    published formats (PDF brief, GeoJSON) are suppressed for planners too, as the CLI does.
    ``library`` is the library scenario the policy started from (the plan says "edited").
    """
    from simulator.publish import export

    if fmt in PLANNER_ONLY and not cfg.planner:
        raise PermissionError("the household payout list is for planners")
    result = full_result(scn, source, library)
    run: Any = result
    if not cfg.planner:
        shown = shown_plan(result.plan, scn, source, library, cfg)
        run = export.Run(shown, label=scn.name, households=result.households,
                         hazards=[h for h in result.hazards if isinstance(h, xr.DataArray)])
    with tempfile.TemporaryDirectory(prefix="madad-app-") as tmp:
        out = Path(tmp) / f"file.{fmt}"
        export.export(run, fmt, out, boundaries=boundaries, min_cell=cfg.min_cell)
        return out.read_bytes()


def safe_file(fmt: str, scn: Scenario, source: RegistrySource, cfg: Settings, boundaries=None,
              library: Scenario | None = None) -> bytes:
    """:func:`make_file`, or a short text naming the problem (never a traceback)."""
    try:
        return make_file(fmt, scn, source, cfg, boundaries, library)
    except Exception as exc:
        log.exception("writing %s failed", fmt)
        return f"Madad could not write this file: {exc}\n".encode()


@st.cache_data(show_spinner=False, max_entries=8)
def cached_minister_pdf(key: str, k: int, _scn: Scenario, _source: RegistrySource, _cfg: Settings,
                        _boundaries, _library: Scenario | None) -> bytes:
    """The minister's PDF brief of a plan with hidden cells (``key``: :func:`cache_key` of the
    scenario, registry, library and boundaries)."""
    return make_file("pdf", _scn, _source, _cfg, _boundaries, _library)
