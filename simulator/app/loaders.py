"""Everything the app caches, in one place: the scenario library, uploaded files, hazard
layers, registries, plans (full and as a minister may see them), hazard images and the
minister's PDF brief.

Every cache entry whose arguments Streamlit cannot hash is keyed by :func:`cache_key`, built
from the scenario's JSON, the registry source's key and the library scenario's JSON (an
edited policy is a different plan from the library's, if only in its title). Hazards and the
registry are cached apart from the policy, so a policy change reruns only the engine and the
plan. Every plan comes from :func:`simulator.plans.assemble`: the app builds none of its own.

Uploaded files (hazard rasters, registries, boundaries, declared districts) are kept in a
folder of the visitor's session under the system temporary folder
(``madad-uploads/<session>/``, :func:`upload_folder`), named by their slot and SHA-256, and read
with the CLI's own readers. Nothing collects there: a file is removed as soon as no slot of the
session and no scenario of the session uses it (:func:`tidy_uploads`, after each upload, swap
or removal), the folder is removed when the session ends, and at start-up the folders (and
loose files) older than :data:`UPLOAD_MAX_AGE_H` hours are removed (:func:`sweep_old_uploads`).

Long work shows a progress bar (:func:`progress_bar`) fed by the library's callbacks: the
synthetic registry's generation, the first time it is made. The bar is made and emptied inside
the cached function: Streamlit replays a cached function's elements on a cache hit, and an
element made outside it could not be replayed.

A plan with an ensemble is shown before its ranges: :func:`cached_result` asks
:func:`simulator.plans.assemble` for the engine and the plan only (``background=True``) and
returns at once; the ensemble fills the cached plan's ``ensemble`` block later (its
:class:`Ensemble` tells how far it is; :data:`GATE` runs ensembles one at a time, behind the
pages' own work). :func:`plan_for` gives the plan without the block until it is there, then
with it; the downloads (:func:`full_result`) wait for it.

The Financing page's risk runs (:func:`cached_risk`) are cached per scenario policy, registry and
event-set recipe (:class:`RiskRecipe`); a generated event set is also kept on disk by
:mod:`simulator.plans.risk_run`, so it is built once (:func:`risk_to_build` tells whether it
must be), and risk.xlsx / risk.pdf are written once per run (:func:`cached_risk_file`).
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import tempfile
import threading
import time
import types
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

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
#: Session folders (and loose files) under :data:`UPLOAD_DIR` older than this are removed at
#: start-up [hours]: their sessions have ended (a live session's folder is touched on each upload).
UPLOAD_MAX_AGE_H = 24
#: The session-state keys of the uploads a session keeps ({path, name, sha, ...} each).
UPLOAD_SLOTS = ("hazard_file", "declared_file", "registry_file", "boundaries_file")
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


#: Least time between two updates of a progress bar's figures [s].
PROGRESS_EVERY_S = 0.25


@contextmanager
def progress_bar() -> Iterator[Callable[[float, str], None]]:
    """A progress bar on the page while the block runs, emptied when it ends.

    Call it inside the cached function that does the work: the bar's updates are then part of
    what Streamlit replays on a cache hit, where they end emptied, so a hit shows nothing (an
    element made outside a cached function and updated inside it breaks the replay).

    Yields
    ------
    callable
        ``show(fraction, message)``: the share done (0 to 1) and a line of text. The page is
        updated at most every :data:`PROGRESS_EVERY_S` while only the figures change (a new
        stage's words, or the end, show at once): a cache hit replays every update, on each
        page that reads the cached value.
    """
    slot = st.empty()
    shown: list = [None, "", -PROGRESS_EVERY_S]  # (percent, text), its words, when shown

    def show(fraction: float, message: str) -> None:
        now = (int(100 * min(max(fraction, 0.0), 1.0)), message)
        words = re.sub(r"[\d,.]", "", message)
        t = time.monotonic()
        if now != shown[0] and (words != shown[1] or now[0] == 100 or t - shown[2] >= PROGRESS_EVERY_S):
            shown[:] = [now, words, t]
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


# --- uploaded files: kept in a folder of the session, read with the CLI's own readers ------------


class UploadFolder:
    """The uploads folder of one session (kept in ``st.session_state["upload_dir"]``): removed
    with its files when the session ends (its session state, and so this object, is freed)."""

    def __init__(self, root: Path) -> None:
        self.path = root / uuid4().hex
        self.path.mkdir(parents=True, exist_ok=True)
        weakref.finalize(self, shutil.rmtree, str(self.path), True)

    def __repr__(self) -> str:
        return f"UploadFolder({str(self.path)!r})"


@st.cache_resource(show_spinner=False)
def sweep_old_uploads(max_age_h: float = UPLOAD_MAX_AGE_H) -> int:
    """Remove the session folders and loose files under :data:`UPLOAD_DIR` not touched for
    ``max_age_h`` hours: those of sessions that ended without their folder being removed (a
    server stopped). Run once per server process, at its first session; returns how many."""
    if not UPLOAD_DIR.is_dir():
        return 0
    cutoff = time.time() - max_age_h * 3600
    removed = 0
    for entry in UPLOAD_DIR.iterdir():
        try:
            if entry.stat().st_mtime >= cutoff:
                continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed += 1
        except OSError as exc:
            log.info("old upload %s not removed: %s", entry, exc)
    if removed:
        log.info("removed %d old upload folders or files from %s", removed, UPLOAD_DIR)
    return removed


def upload_folder() -> Path:
    """This session's uploads folder (made, and kept in the session, at the first upload)."""
    ss = st.session_state
    holder = ss.get("upload_dir")
    if not isinstance(holder, UploadFolder):
        holder = ss["upload_dir"] = UploadFolder(UPLOAD_DIR)
    holder.path.mkdir(parents=True, exist_ok=True)  # in case a sweep took it
    return holder.path


def _paths_in(value: Any) -> set[str]:
    """Every file path a scenario's hazards name (``file``, ``admin_table``)."""
    out: set[str] = set()
    for spec in getattr(value, "hazards", None) or []:
        for name in ("file", "admin_table"):
            found = getattr(spec, name, None)
            if found:
                out.add(str(found))
    return out


def uploads_in_use() -> set[str]:
    """The paths this session still uses: its upload slots and its scenarios' files."""
    ss = st.session_state
    used = {str(ss[slot]["path"]) for slot in UPLOAD_SLOTS if ss.get(slot)}
    for key in ("active_scn", "library_scn"):
        used |= _paths_in(ss.get(key))
    return used


def tidy_uploads(*keep: str) -> None:
    """Remove the files of this session's folder that nothing uses (see :func:`uploads_in_use`)
    apart from ``keep``: a file replaced by another, removed, or no longer run."""
    holder = st.session_state.get("upload_dir")
    if not isinstance(holder, UploadFolder) or not holder.path.is_dir():
        return
    used = uploads_in_use() | {str(k) for k in keep}
    for path in holder.path.iterdir():
        if str(path) not in used:
            path.unlink(missing_ok=True)


def save_upload(uploaded, slot: str = "upload") -> dict:
    """Write an uploaded file in this session's folder, named by ``slot`` and its content hash;
    returns {path, name, sha}. The slot's earlier file goes unless the session still uses it."""
    content = uploaded.getvalue()
    sha = hashlib.sha256(content).hexdigest()
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(uploaded.name).name)[-80:] or "upload"
    path = upload_folder() / f"{slot}-{sha[:16]}-{safe}"
    if not path.exists():
        path.write_bytes(content)
    tidy_uploads(str(path))
    return {"path": str(path), "name": uploaded.name, "sha": sha}


def save_text(slot: str, content: str, suffix: str = ".csv") -> Path:
    """A file the app writes for the session (e.g. the declared districts picked), kept as an
    upload is: in this session's folder, removed once nothing uses it."""
    sha = hashlib.sha256(content.encode()).hexdigest()
    path = upload_folder() / f"{slot}-{sha[:16]}{suffix}"
    if not path.exists():
        path.write_text(content, encoding="utf-8")
    tidy_uploads(str(path))
    return path


def use_upload(slot: str, info: dict | None) -> None:
    """Keep ``info`` (None: nothing) as this session's ``slot``; the file it replaces is removed
    unless a scenario of the session still runs on it."""
    if info is None:
        st.session_state.pop(slot, None)
    else:
        st.session_state[slot] = info
    tidy_uploads()


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


def prefetch_registry(scn: Scenario, source: RegistrySource) -> None:
    """Start reading a registry file on a thread of its own, so that the hazards are built
    meanwhile (a national file takes the longest of all); :func:`registry_of` then waits for
    it (Streamlit computes one cache entry once). A synthetic registry is generated where it
    is asked for (under its progress bar); a file's errors are raised there again."""
    if source.path is None or not Path(source.path).exists():
        return

    def read() -> None:
        try:
            registry_of(scn, source)
        except Exception as exc:  # told again, on the page, by the run that waits for it
            log.info("reading the registry ahead failed: %s", exc)

    from streamlit.runtime.scriptrunner import add_script_run_ctx

    thread = threading.Thread(target=read, name="madad-registry-read", daemon=True)
    add_script_run_ctx(thread)
    thread.start()


# --- plans: every one from simulator.plans.assemble ---------------------------------------------


class _Gate:
    """Who computes when, on a 2-core server: the plans a page waits for come first.

    Ensembles (left running by :func:`simulator.plans.assemble` with ``background=True``) run
    one at a time, and each member starts only while no page is computing a plan (a what-if's
    engine run, its hexagons or its disclosure control), so that a page's figures are never
    slowed by ranges it can show later. A member already running is not interrupted.
    """

    #: Longest an ensemble member waits for the pages' work [s] (a stuck page never stops it).
    PATIENCE_S = 120.0

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy = 0
        self._holder: object | None = None

    @contextmanager
    def foreground(self) -> Iterator[None]:
        """Around work a page waits for."""
        with self._cond:
            self._busy += 1
        try:
            yield
        finally:
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()

    def idle(self) -> None:
        """Wait until no page is computing (at most :attr:`PATIENCE_S`): background work other
        than an ensemble's members (a delivery plan) starts only then."""
        with self._cond:
            self._cond.wait_for(lambda: self._busy == 0, timeout=self.PATIENCE_S)

    def member(self, owner: object) -> None:
        """Called on an ensemble's thread before each member: waits for its turn."""
        with self._cond:
            self._cond.wait_for(lambda: self._holder in (None, owner))
            self._holder = owner
            self._cond.wait_for(lambda: self._busy == 0, timeout=self.PATIENCE_S)

    def release(self, owner: object) -> None:
        """The ensemble of ``owner`` ended (or failed): the next one may start."""
        with self._cond:
            if self._holder is owner:
                self._holder = None
                self._cond.notify_all()


GATE = _Gate()
_MEMBER = re.compile(r"member (\d+) of (\d+)")


class Ensemble:
    """The ensemble of one cached run: how far it is, and a wait for it.

    :func:`simulator.plans.assemble` (``background=True``) returns the plan at once and leaves
    the ensemble running; its ``ensemble`` block appears in the cached plan when it ends. The
    pages show the headline figures meanwhile, with "member k of n".
    """

    def __init__(self, members: int) -> None:
        self.members = members  #: n (0: the scenario has no ensemble)
        self.member = 0  #: the member being computed (1 to n; 0 before the first)
        self.result: plans.RunResult | None = None
        self.future: Future | None = None

    def told(self, message: str) -> None:
        """``assemble``'s ``on_progress``: counts the members (on the ensemble's thread)."""
        found = _MEMBER.search(message)
        if found and message.startswith("ensemble"):
            GATE.member(self)
            self.member = int(found.group(1))

    def attach(self, result: plans.RunResult) -> None:
        self.result, self.future = result, result.pending
        if self.future is not None:
            self.future.add_done_callback(lambda _f: GATE.release(self))

    @property
    def ready(self) -> bool:
        """True when the plan has its ranges, or never will (no ensemble, or it failed)."""
        return self.future is None or self.future.done()

    @property
    def error(self) -> BaseException | None:
        """Why the ensemble failed (None while it runs or when it succeeded)."""
        if self.future is None or not self.future.done() or self.future.cancelled():
            return None
        return self.future.exception()

    def wait(self) -> plans.RunResult:
        """The run with its ``ensemble`` block, once it is there (raises the ensemble's error)."""
        assert self.result is not None
        if self.future is not None:
            self.future.result()  # our own reference: complete() below is then instantaneous
            self.result.complete()
        return self.result


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_result(key: str, _scn: Scenario, _source: RegistrySource, _library: Scenario | None):
    """(run result, seconds, :class:`Ensemble`) of one scenario, registry and library scenario
    (``key``: :func:`cache_key` of the three), from :func:`simulator.plans.assemble`. Kept as
    one object, not copied on each read: its household table is as long as the registry.

    Only the engine and the plan run before it returns (the hazards and the registry are
    cached apart); an ensemble goes on in the background (``background=True``) and fills the
    cached plan's ``ensemble`` block when it ends: wait for it with :meth:`Ensemble.wait`.
    """
    t0 = time.perf_counter()
    reg, layers = registry_of(_scn, _source), hazards_of(_scn)
    ensemble = Ensemble(_scn.ensemble.members if _scn.ensemble is not None else 0)
    with GATE.foreground():
        # the delivery plan too is made after the figures are shown (pages that show it wait:
        # plan_for(..., delivered=True))
        result = plans.assemble(_scn, reg, layers, library=_library, on_progress=ensemble.told,
                                background=True, deliver_later=True, turn=GATE.idle)
    ensemble.attach(result)
    seconds = time.perf_counter() - t0
    log.info("plan of %s: %.2f s (engine %.2f s, plan %.2f s)%s", _scn.name, seconds,
             result.timings.get("engine_s", 0.0), result.timings.get("plan_s", 0.0),
             f"; ensemble of {ensemble.members} members under way" if ensemble.members else "")
    return result, seconds, ensemble


def result_of(scn: Scenario, source: RegistrySource, library: Scenario | None):
    """:func:`cached_result` of ``scn`` on ``source``, marked edited against ``library``."""
    return cached_result(cache_key(scn, source, library), scn, source, library)


def ensemble_of(scn: Scenario, source: RegistrySource, library: Scenario | None) -> Ensemble:
    """The :class:`Ensemble` of the plan of :func:`plan_for` (computing it if need be)."""
    return result_of(scn, source, library)[2]


@st.cache_data(show_spinner=False, max_entries=64)
def cached_plan(key: str, ranges: bool, delivered: bool, _scn: Scenario, _source: RegistrySource,
                _library: Scenario | None):
    """(plan, seconds): a copy for each page, so that nothing a page does reaches the cached
    result. ``ranges``: with the ensemble's block (it has ended; it is waited for), else
    without it (the figures shown while the ensemble runs); ``delivered``: with the delivery
    plan (it has ended), else without it (made in the background, see :func:`cached_result`)."""
    result, seconds, ensemble = cached_result(key, _scn, _source, _library)
    if ranges:
        ensemble.wait()
    # dict() copies the top level at once (the background threads may add their blocks
    # meanwhile); st.cache_data then copies the rest
    plan = dict(result.plan)
    if not ranges:
        plan.pop("ensemble", None)
    if not delivered:
        plan.pop("delivery", None)
    return plan, seconds


@st.cache_data(show_spinner=False, max_entries=64)
def cached_hexes(key: str, _scn: Scenario, _source: RegistrySource, _library: Scenario | None):
    """The affected households of a plan binned to hexagons (:func:`simulator.app.deck.hex_bins`):
    exact, as the plan is; :func:`published_hexagons` gives a minister's. Only the affected
    rows' points are read (no copy of the registry)."""
    result = cached_result(key, _scn, _source, _library)[0]
    with GATE.foreground():
        reg = registry_of(_scn, _source)
        hit = np.flatnonzero(result.households["tier"].cat.codes.to_numpy() > 0)
        rows = hit if result.rows is None else np.asarray(result.rows)[hit]
        return deck.hex_bins(reg.households["lon"].to_numpy()[rows], reg.households["lat"].to_numpy()[rows],
                             weights=result.households["weight"].to_numpy()[hit])


def plan_for(scn: Scenario, source: RegistrySource, library: Scenario | None, *, delivered: bool = False):
    """(plan, hexagons, seconds) of ``scn`` on ``source``, marked edited against ``library``.

    The plan has its ensemble's ``ensemble`` block when the ensemble has ended; before that,
    none (:func:`ensemble_of` tells how far it is). A failed ensemble leaves it out too. Its
    ``delivery`` block is there once the delivery plan, made in the background, has ended;
    ``delivered`` waits for it (the pages that show delivery; its error is raised).
    """
    key = cache_key(scn, source, library)
    result, _, ensemble = cached_result(key, scn, source, library)
    if delivered and result.later is not None:
        result.later.result()
    has_delivery = result.later is None or (result.later.done() and result.later.exception() is None)
    ranges = ensemble.ready and ensemble.error is None
    the_plan, seconds = cached_plan(key, ranges, has_delivery, scn, source, library)
    return the_plan, cached_hexes(key, scn, source, library), seconds


@st.cache_data(show_spinner=False, max_entries=64)
def cached_published_hexagons(key: str, _hexes: pd.DataFrame, _result, _reg_key: bytes) -> pd.DataFrame:
    """A minister's hexagons: perturbed by the cell-key method
    (:func:`simulator.publish.disclosure.perturb_hexagons`, keyed by the registry's content as
    the minister's plan is); the page then hides those under ``min_cell``."""
    from simulator.publish.disclosure import perturb_hexagons
    from simulator.publish.disclosure.cellkey import unit_of

    with GATE.foreground():
        return perturb_hexagons(_hexes, _reg_key, unit_of(_result.plan))


def published_hexagons(scn: Scenario, source: RegistrySource, library: Scenario | None,
                       hexes: pd.DataFrame) -> pd.DataFrame:
    """The hexagons of :func:`plan_for` as a minister may see them (perturbed)."""
    key = cache_key(scn, source, library)
    return cached_published_hexagons(key, hexes, cached_result(key, scn, source, library)[0],
                                     registry_key_of(scn, source))


# --- the registry's key of the cell-key perturbation ---------------------------------------------

def registry_key(households: pd.DataFrame) -> bytes:
    """:func:`simulator.publish.disclosure.registry_key` of the household table of any run on
    this registry, computed from the registry itself: byte for byte the same.

    The key is policy-independent by design (a weighted row the hazard splits is merged back),
    so it is computed once per registry, from its rows: the household table's columns among
    ``REGISTRY_COLUMNS``, the weight 1 when the registry has none.
    """
    from simulator.plans.orchestrator import RESULT_COLUMNS
    from simulator.publish.disclosure import cellkey

    cols = [c for c in cellkey.REGISTRY_COLUMNS if c in RESULT_COLUMNS]
    n = len(households)
    # the engine's weight is 1 a row in a registry without one, as the run's table has it
    frame = pd.DataFrame({c: (np.ones(n, np.int32) if c == "weight" and c not in households
                              else households[c].array) for c in cols}, copy=False)
    return cellkey.registry_key(frame)


@st.cache_resource(show_spinner=False, max_entries=8)
def cached_registry_key(key: str, _scn: Scenario, _source: RegistrySource) -> Future:
    """The :func:`registry_key` of a registry (``key``: its :func:`cache_key`), started on a
    thread of its own as soon as asked for, so that it overlaps the engine's run."""
    reg = registry_of(_scn, _source)
    worker = ThreadPoolExecutor(1, thread_name_prefix="madad-registry-key")
    future = worker.submit(registry_key, reg.households)
    worker.shutdown(wait=False)
    return future


def start_registry_key(scn: Scenario, source: RegistrySource) -> None:
    """Start the registry's key (a minister's view needs it) while the plan is computed."""
    cached_registry_key(cache_key(source, f"seed={scn.seed}"), scn, source)


def registry_key_of(scn: Scenario, source: RegistrySource) -> bytes:
    """The key of ``source``'s registry (:func:`registry_key`), computed once per registry."""
    return cached_registry_key(cache_key(source, f"seed={scn.seed}"), scn, source).result()


@st.cache_data(show_spinner=False, max_entries=64)
def cached_suppressed(key: str, k: int, _plan: dict, _registry_key: bytes | None = None) -> dict:
    """The plan as a minister may see it (:func:`simulator.publish.disclosure.protect_plan`:
    perturbed by the cell-key method with the registry's key, then small-cell suppressed).
    ``key`` tells apart a plan with and without its ensemble's ranges.

    Without disclosure control the minister's view is not shown at all (it fails closed).
    """
    try:
        from simulator.publish.disclosure import protect_plan
    except ImportError as exc:
        raise MadadError(f"disclosure control (simulator.publish.disclosure) is not available ({exc}); "
                         "the minister's view needs it. Set MADAD_ROLE=planner only where planners work.") from exc
    with GATE.foreground():
        return protect_plan(_plan, k=k, key=_registry_key)


def shown_plan(plan: dict, scn: Scenario, source: RegistrySource, library: Scenario | None,
               cfg: Settings) -> dict:
    """``plan`` as this visitor may see it: whole for planners, perturbed and suppressed for
    ministers (the same figures as the published PDF brief and GeoJSON)."""
    if cfg.planner:
        return plan
    key = cache_key(scn, source, library) + ("|ensemble" if "ensemble" in plan else "") + \
        ("|delivery" if "delivery" in plan else "")
    return cached_suppressed(key, cfg.min_cell, plan, registry_key_of(scn, source))


def full_result(scn: Scenario, source: RegistrySource, library: Scenario | None) -> plans.RunResult:
    """The in-memory run with its per-household table and its ensemble's ranges, for the
    downloads (built on click): waits for an ensemble still running, so that every file has
    them (raises its error if it failed)."""
    return result_of(scn, source, library)[2].wait()


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
    """One download's bytes, written by :func:`simulator.publish.export.export` (``pdf_ur``:
    the PDF brief in Urdu).

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
    fmt, lang = ("pdf", "ur") if fmt == "pdf_ur" else (fmt, "en")  # the Urdu brief
    with tempfile.TemporaryDirectory(prefix="madad-app-") as tmp:
        out = Path(tmp) / f"file.{fmt}"
        export.export(run, fmt, out, boundaries=boundaries, min_cell=cfg.min_cell,
                      **({"lang": lang} if lang != "en" else {}))
        return out.read_bytes()


@st.cache_data(show_spinner=False, max_entries=8)
def cached_minister_pdf(key: str, k: int, _scn: Scenario, _source: RegistrySource, _cfg: Settings,
                        _boundaries, _library: Scenario | None) -> bytes:
    """The minister's PDF brief of a plan with hidden cells (``key``: :func:`cache_key` of the
    scenario, registry, library and boundaries)."""
    return make_file("pdf", _scn, _source, _cfg, _boundaries, _library)


# --- risk financing: a scenario's policy over stochastic event sets (the Financing page) ---------

#: Sizes of the event sets the Financing page offers to generate: N events over N simulated years.
RISK_EVENT_CHOICES = (100, 300, 1000)
#: About how long one event of one hazard takes to build the first time [s] (the page's estimate).
RISK_BUILD_S_PER_EVENT = 0.3


@dataclass(frozen=True)
class RiskRecipe:
    """The event sets of a risk run: ``events`` events over as many simulated years generated
    from each of the scenario's modelled hazards, or (``events`` None) the scenario's
    ``financing.events``."""

    events: int | None = None

    @property
    def key(self) -> str:
        return "financing.events" if self.events is None else f"generate={self.events}x{self.events}y"


def risk_to_build(scn: Scenario, recipe: RiskRecipe) -> list[tuple[str, int]]:
    """(hazard kind, events) of each generated set of ``recipe`` not yet in the event-set cache
    (:func:`simulator.plans.risk_run.cache_dir`); empty when every set is there or is a file.

    Asks :mod:`simulator.plans.risk_run` where it keeps a recipe's set; should that ever fail,
    every generated set counts as to be built (the page then asks before computing).
    """
    from simulator.plans import risk_run

    wanted: list[tuple[str, int, float, int, dict]] = []
    if recipe.events is not None:
        modelled = [h for h in scn.hazards if h.generator is not None]
        for i, spec in enumerate(modelled):  # as risk_run.event_sets numbers their seeds
            wanted.append((spec.kind, recipe.events, float(recipe.events), scn.seed + i,
                           risk_run.generator_params(spec)))
    elif scn.financing is not None:
        for spec in scn.financing.events:
            g = spec.generate
            if g is not None:
                params = {k: (tuple(v) if isinstance(v, list) else v) for k, v in g.params.items()}
                wanted.append((g.kind, g.events, g.years, g.seed, params))
    out = []
    for kind, n, years, seed, params in wanted:
        try:
            there = risk_run.recipe_path(kind, n, years, seed, params).exists()
        except Exception:  # a private helper: if it changes, ask before building
            log.info("cannot tell whether the %s set is cached; asking before building", kind)
            there = False
        if not there:
            out.append((kind, n))
    return out


@st.cache_resource(show_spinner=False, max_entries=8)
def cached_risk(key: str, _scn: Scenario, _source: RegistrySource, _recipe: RiskRecipe):
    """The risk run (:class:`simulator.plans.risk_run.RiskResult`) of a scenario's policy on a
    registry over the event sets of a recipe (``key``: :func:`cache_key` of the three).

    The sets come from :func:`simulator.plans.risk_run.event_sets` (a generated set is built
    once, then read from its cache on disk); the engine's columns are made from the app's cached
    registry (:func:`registry_of`, as :func:`simulator.plans.assemble` makes them) and every
    event runs through :func:`simulator.plans.risk_run.run_columns`, under a progress bar.
    Kept as one object, never modified by the pages.
    """
    from simulator import engine
    from simulator.plans import risk_run

    t0 = time.perf_counter()
    lg = _lang()
    with progress_bar() as show, GATE.foreground():
        to_build = max(sum(n for _, n in risk_to_build(_scn, _recipe)), 1)
        built = [0]

        def one_built() -> None:
            built[0] += 1
            show(built[0] / to_build, text.text(lg, "fin_progress_build", done=f"{built[0]:,}", total=f"{to_build:,}"))

        sets = risk_run.event_sets(_scn, base=SCENARIOS_DIR, generate=_recipe.events, years=_recipe.events,
                                   on_event=one_built)
        reg = registry_of(_scn, _source)
        cols = engine.household_columns(reg.households)
        total = max(sum(s.event_set.n_events for s in sets), 1)
        done = [0]

        def evaluated(n: int) -> None:
            done[0] += n
            show(done[0] / total, text.text(lg, "fin_progress_eval", done=f"{done[0]:,}", total=f"{total:,}"))

        show(0.0, text.text(lg, "fin_progress_eval", done="0", total=f"{total:,}"))
        described = ({"synthetic_households": _source.households, "seed": _scn.seed} if _source.path is None
                     else {"file": _source.label})
        result = risk_run.run_columns(_scn, sets, cols, registry=described, on_events=evaluated)
    log.info("risk run of %s (%s): %d events over %d years in %.1f s", _scn.name, _recipe.key,
             result.section["events"], result.n_years, time.perf_counter() - t0)
    return result


@st.cache_data(show_spinner=False, max_entries=16)
def cached_risk_file(key: str, fmt: str, title: str, _result) -> bytes:
    """risk.xlsx (:func:`simulator.publish.risk.write_risk_xlsx`) or risk.pdf
    (:func:`~simulator.publish.risk.write_risk_pdf`) of a :func:`cached_risk` run (``key``: its
    key), written to a temporary folder and read back. Raises when it cannot be written (the
    page says so; no other file is served in its place)."""
    from simulator.publish import risk as publish_risk

    with tempfile.TemporaryDirectory(prefix="madad-risk-") as tmp:
        out = Path(tmp) / f"risk.{fmt}"
        if fmt == "xlsx":
            publish_risk.write_risk_xlsx(_result.section, _result.table, out)
        elif fmt == "pdf":
            publish_risk.write_risk_pdf(_result.section, out, title=title, scenario=_result.scenario.name)
        else:
            raise ValueError(f"unknown risk file format {fmt!r}; give xlsx or pdf")
        return out.read_bytes()
