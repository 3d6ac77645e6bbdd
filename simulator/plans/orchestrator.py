"""The one orchestrator: scenario -> hazards -> registry -> engine -> the complete plan.

Each stage is a pure function elsewhere; this module strings them together and times them.
:func:`run` does it all from a scenario; :func:`assemble` does the engine and the plan for a
registry and hazards already loaded (the app caches those), so every front end gets the same
plan. Writing a run folder is publishing: :func:`simulator.publish.runfolder.write_run`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from hazards import generators
from simulator import engine, registry
from simulator.engine import targeting
from simulator.plans import agencies, delivery_plan, policy, unregistered
from simulator.plans import assumptions as assumptions_mod
from simulator.plans import build as plan
from simulator.registry import boundaries as boundaries_mod
from simulator.scenario import Scenario, file_sha256

log = logging.getLogger(__name__)

RESULT_COLUMNS = [
    "household_id", "province_code", "district_id", "tehsil_id", "hh_size", "pmt_score",
    "weight", "intensity", "tier", "eligible", "amount_pkr", "federal_pkr", "provincial_pkr", "payer", "status",
]


@dataclass
class RunResult:
    """Everything a run produced, in memory."""

    scenario: Scenario
    plan: dict
    households: pd.DataFrame  #: one row per engine result row (a split weighted row twice)
    hazards: list[xr.DataArray]
    quarantine: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)
    inputs: dict[str, dict] = field(default_factory=dict)
    library: Scenario | None = None  #: the library scenario this run's policy started from
    rows: np.ndarray | None = None  #: registry row of each household row (None: the same rows)
    #: Work still running on a background thread (the ensemble, see :func:`assemble`'s
    #: ``background``); :meth:`complete` waits for it.
    pending: Future | None = None
    #: The delivery plan left running in the background (``deliver_later``; see :func:`assemble`).
    later: Future | None = None

    def complete(self) -> RunResult:
        """Wait for the work :func:`assemble` left running in the background, which puts its
        figures in :attr:`plan` (its error, if any, is raised here); returns ``self``."""
        if self.later is not None:
            self.later.result()
        pending = self.pending
        if pending is not None:
            pending.result()  # every caller waits: the reference is dropped only after
            self.pending = None
        return self

    @property
    def hazard(self) -> xr.DataArray | None:
        """The first raster hazard layer (None when every hazard is a declared-districts table)."""
        found = rasters(self.hazards)
        return found[0] if found else None


def _resolve(path: str, base: Path | None) -> Path:
    p = Path(path)
    return p if p.is_absolute() or base is None else (base / p)


def build_hazards(
    scn: Scenario, *, base: Path | None = None, aoi: tuple[float, float, float, float] | None = None
) -> tuple[list, list[dict]]:
    """The scenario's hazard sources (raster layers, or declared-district tables) and, for
    each, where it came from. ``aoi`` (lon/lat box of the registry) limits raster reads."""
    from hazards.admin import read_admin_table
    from hazards.io import read_raster

    layers, inputs = [], []
    for spec in scn.hazards:
        if spec.file is not None:
            path = _resolve(spec.file, base)
            layers.append(
                read_raster(path, aoi=aoi, units=spec.units, kind=spec.kind, variable=spec.variable, time=spec.time)
            )
            inputs.append({"hazard": spec.label, "file": str(path), "sha256": file_sha256(path)})
        elif spec.admin_table is not None:
            path = _resolve(spec.admin_table, base)
            layers.append(read_admin_table(path))
            inputs.append({"hazard": spec.label, "admin_table": str(path), "sha256": file_sha256(path)})
        else:
            params = dict(spec.generator)
            layers.append(generators.generate(spec.kind, seed=scn.seed, **params))
            inputs.append({"hazard": spec.label, "generator": spec.kind, "params": params, "seed": scn.seed})
    return layers, inputs


def rasters(layers: list) -> list[xr.DataArray]:
    """The raster layers among a run's hazard sources."""
    return [layer for layer in layers if isinstance(layer, xr.DataArray)]


def build_hazard(scn: Scenario, *, base: Path | None = None) -> tuple[xr.DataArray, dict]:
    """The scenario's first hazard layer (see :func:`build_hazards`)."""
    layers, inputs = build_hazards(scn, base=base)
    return layers[0], inputs[0]


def load_registry(
    scn: Scenario, *, base: Path | None = None, households: int | None = None,
    registry_path: str | Path | None = None,
) -> tuple[registry.Registry, dict]:
    """Validated households: the given file, the scenario's file, or the synthetic generator;
    with the scenario's provincial registries merged in, duplicates marked."""
    path = registry_path or (scn.registry.path and _resolve(scn.registry.path, base))
    if path:
        from concurrent.futures import ThreadPoolExecutor

        # hashed on a second thread while it is read (hashlib releases the GIL on large blocks)
        with ThreadPoolExecutor(1) as pool:
            digest = pool.submit(file_sha256, path) if Path(path).exists() else None
            reg = registry.load(path)
            info: dict = {"file": str(path), "sha256": digest.result() if digest else file_sha256(path)}
    else:
        n = scn.registry.synthetic_households if households is None else households
        frame = registry.generate(n, seed=scn.seed)
        reg = registry.validate(frame, source=f"synthetic registry ({n:,} households, seed {scn.seed})")
        info = {"synthetic_households": n, "seed": scn.seed}
    if scn.registry.provincial:
        extra, info["provincial"] = [], []
        for spec in scn.registry.provincial:
            p = _resolve(spec.path, base)
            links = registry.read_links(_resolve(spec.links, base)) if spec.links else None
            extra.append((spec.province, registry.load(p), links))
            entry = {"province": spec.province, "file": str(p), "sha256": file_sha256(p)}
            if spec.links:
                entry["links"] = {"file": str(_resolve(spec.links, base)), "sha256": file_sha256(_resolve(spec.links, base))}
            info["provincial"].append(entry)
        reg = registry.merge(reg, extra)
    return reg, info


def result_table(households: pd.DataFrame, res: engine.EngineResult) -> pd.DataFrame:
    """The per-household result: pseudonymous id, intensity, tier, eligibility, money, payer, status."""
    intensity = {
        ("intensity" if len(res.intensity) == 1 else f"intensity_{label}"): values
        for label, values in res.intensity.items()
    }
    frame = pd.DataFrame(
        {
            "household_id": households["household_id"].array,
            "province_code": households["province_code"].array,
            "district_id": households["district_id"].array,
            "tehsil_id": households["tehsil_id"].array,
            "hh_size": households["hh_size"].to_numpy(),
            "pmt_score": households["pmt_score"].to_numpy(),
            "weight": res.weight.astype(np.int32),
            **intensity,
            "tier": pd.Categorical.from_codes(res.tier, categories=list(targeting.TIER_NAMES)),
            "eligible": res.eligible,
            "amount_pkr": res.amount_pkr,
            "federal_pkr": res.federal_pkr,
            "provincial_pkr": res.provincial_pkr,
            "payer": pd.Categorical.from_codes(res.payer, categories=list(engine.PAYER)),
            "status": pd.Categorical.from_codes(res.status, categories=list(targeting.STATUS)),
        },
        copy=False,  # the columns as they are: no 35 M-row copy into consolidated blocks
    )
    if "source" in households:
        frame.insert(1, "source", households["source"].array)
    return frame


def compute(scn: Scenario, households: pd.DataFrame, layers: list | xr.DataArray,
            cols: dict[str, np.ndarray] | None = None):
    """Engine results and the engine's columns for validated ``households`` (``cols``: their
    columns already built by :func:`simulator.engine.household_columns`)."""
    layers = [layers] if isinstance(layers, xr.DataArray | pd.DataFrame) else layers
    if cols is None:
        cols = engine.household_columns(households, tehsils=engine.needs_tehsils(layers))
    res = engine.evaluate(scn, cols, layers)
    if res.row is not None:  # weighted rows split into an affected part and the rest
        cols = {k: v[res.row] for k, v in cols.items()}
        cols["weight"] = res.weight
    return res, cols


def result_rows(households: pd.DataFrame, res) -> pd.DataFrame:
    """The registry rows behind each row of an engine result (the split rows of a weighted
    registry repeated; see :attr:`simulator.engine.EngineResult.row`)."""
    return households if res.row is None else households.iloc[res.row].reset_index(drop=True)


class _Clock:
    """Seconds per stage, kept by the orchestrator (the engine and the plan know no clocks)."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings

    @contextmanager
    def stage(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0


def check_boundaries(bounds, households: pd.DataFrame, *, source: str) -> dict:
    """Every registry district code must have a boundary (:func:`simulator.registry.boundaries.check_codes`);
    returns what the manifest records of the boundary file."""
    return boundary_input(bounds, households["district_id"].unique(), source=source)


def boundary_input(bounds, codes, *, source: str) -> dict:
    """:func:`check_boundaries` for the district codes in use (any iterable of codes)."""
    match = boundaries_mod.check_codes(bounds, codes, source=source)
    where = bounds.attrs["source"]
    return {"file": where, "sha256": file_sha256(where), **match}


def assemble(
    scn: Scenario,
    reg: registry.Registry,
    layers: list,
    *,
    library: Scenario | None = None,
    boundaries=None,
    inputs: dict | None = None,
    timings: dict[str, float] | None = None,
    on_progress: Callable[[str], None] | None = None,
    background: bool = False,
    sites=None,
    base: Path | None = None,
    on_table: Callable[[pd.DataFrame], None] | None = None,
    deliver_later: bool = False,
    turn: Callable[[], None] | None = None,
) -> RunResult:
    """The complete plan of ``scn`` for a validated registry and its hazard sources.

    This is the one place a plan is built: the CLI (:func:`run`), the app (with its cached
    registry and hazards) and the notebooks all come here, so a plan shown on a screen is the
    plan ``madad run`` writes.

    Parameters
    ----------
    scn : Scenario
        The scenario actually run (the policy used).
    reg : Registry
        Validated households (:func:`load_registry`).
    layers : list
        One hazard source per ``scn.hazards`` entry (:func:`build_hazards`).
    library : Scenario, optional
        The library file's scenario that ``scn`` started from; when their policies differ the
        plan is marked edited, with every difference (:mod:`simulator.plans.policy`).
    boundaries : GeoDataFrame, optional
        District boundaries; every registry district code must have one (else
        :class:`BoundaryError`), and the match is recorded in ``inputs["boundaries"]``.
    inputs, timings : dict, optional
        What the caller already recorded (registry and hazard inputs, seconds per stage).
    on_progress : callable, optional
        Called with a short message as each stage starts, and for each ensemble member (a
        national ensemble runs for minutes), e.g. to update a spinner.
    background : bool
        Run the ensemble on a background thread, started as soon as the engine has run (its
        members run while the plan, delivery and risk run are made), and return without
        waiting for it: the plan's ``ensemble`` block (and ``ensemble_s``) appear when
        :meth:`RunResult.complete` returns, after the plan's other keys. The CLI writes the
        household table meanwhile; the plan is the same either way. Background threads run at a
        lower priority (:func:`yield_cpu`): the work a result waits for has the cores first.
    sites : tuple, optional
        The delivery sites and their record (:func:`simulator.plans.delivery_plan.load_sites`)
        for a scenario with a ``delivery`` block; loaded here (relative to the working
        folder) when not given.
    base : Path, optional
        The scenario file's folder, for the event set files its ``financing.events`` names.
    on_table : callable, optional
        Called with the per-household table as soon as it is complete (after the engine and
        the delivery plan, before the plan's tables are built): ``madad run`` starts writing it
        then (:class:`simulator.publish.runfolder.RunWriter`).
    deliver_later : bool
        With ``background``, and unless ``on_table`` is given or the scenario has a risk run:
        plan delivery on a background thread after the plan is returned (the app: a what-if's
        figures do not wait for it). The plan's ``delivery`` block, and the household table's
        delivery columns (in :attr:`RunResult.households`, then a new frame), appear when
        :attr:`RunResult.later` is done; :meth:`RunResult.complete` waits for it, and the
        ensemble's block goes in after it.
    turn : callable, optional
        Called on the background threads before the delivery plan starts and before each
        ensemble member's hazards are generated: the app waits there while pages compute their
        figures.

    Returns
    -------
    RunResult
        The plan with its agencies, NSER update costing, sign-off fields and policy record;
        the per-household table; the hazards; the quarantine.
    """
    timings = {} if timings is None else timings
    inputs = dict(inputs or {})
    clock = _Clock(timings)
    say = on_progress or (lambda message: None)
    if boundaries is not None:
        source = (inputs.get("registry") or {}).get("file", "the synthetic registry")
        inputs["boundaries"] = check_boundaries(boundaries, reg.households, source=source)
    say("running the payout engine...")
    with clock.stage("engine_s"):
        base_cols = engine.household_columns(reg.households, tehsils=engine.needs_tehsils(layers))
        res, cols = compute(scn, reg.households, layers, base_cols)
    pending, plan_future = None, Future()
    if scn.ensemble is not None and background:
        # the members need only the engine's columns and result: they run on the second core
        # while the plan, the delivery and the risk run are made on this one, and their block
        # goes into the plan once those are done
        pending = _ensemble_of(scn, reg, base_cols, layers, res, plan_future, clock, say, background, turn)
    # a delivery plan left for the background (the app): no risk run to keep after it, no
    # table to hand over before the plan
    later = (deliver_later and background and scn.delivery is not None and on_table is None
             and not (scn.financing is not None and scn.financing.events))

    def delivery_step(table: pd.DataFrame, unregistered_block: dict):
        """The delivery plan, its sites' record in ``inputs`` and its columns put in ``table``."""
        nonlocal sites
        say("planning delivery: sites, closures, travel, schedule, campsites...")
        with clock.stage("delivery_s"):
            sites = sites or delivery_plan.load_sites(scn.delivery)
            inputs["sites"] = delivery_plan.manifest_input(sites[1])
            hh = reg.households
            done = deliver(scn, unregistered_block, res, cols, layers, sites,
                           district_ids=hh["district_id"].cat.categories, provinces=hh["province_code"].cat.categories)
            for name, values in done.columns().items():
                table[name] = values
        return done

    try:
        with clock.stage("plan_s"):
            table = result_table(result_rows(reg.households, res), res)
        done = districts = None
        if scn.delivery is not None and not later:
            # before the plan's tables: the household table is then complete, and ``on_table``
            # can start writing it while they are built; the district table serves both
            with clock.stage("plan_s"):
                districts = plan.district_table(res, cols["district"], poverty_line=scn.policy.poverty_line_pmt)
            done = delivery_step(table, unregistered.estimate(districts))
        if on_table is not None:
            on_table(table)
        say("building the plan...")
        with clock.stage("plan_s"):
            the_plan = build_plan(scn, res, cols, reg, layers, library=library, districts=districts)
        if done is not None:
            the_plan["delivery"] = done.section
        if scn.financing is not None and scn.financing.events:
            from simulator.plans import risk_run

            say("risk financing: the policy over every event of the scenario's event sets...")
            with clock.stage("risk_s"):
                sets = risk_run.event_sets(scn, base=base)
                risk = risk_run.run_columns(scn, sets, base_cols)
                the_plan["risk"] = risk.section
                inputs["event_sets"] = risk.inputs["event_sets"]
        if scn.ensemble is not None and pending is None:
            pending = _ensemble_of(scn, reg, base_cols, layers, res, the_plan, clock, say, background, turn)
        result = RunResult(
            scenario=scn,
            plan=the_plan,
            households=table,
            hazards=layers,
            quarantine=reg.quarantine,
            timings=timings,
            inputs=inputs,
            library=library,
            rows=res.row,
            pending=pending,
        )
    except BaseException as exc:
        plan_future.set_exception(exc)
        raise
    if later:
        def deliver_now() -> None:
            yield_cpu()
            try:
                if turn is not None:
                    turn()
                # the columns go into a new frame (the shown one is not changed under a reader)
                delivered = table.copy(deep=False)
                done = delivery_step(delivered, the_plan["unregistered"])
                the_plan["delivery"] = done.section
                result.households = delivered
            except BaseException as exc:
                plan_future.set_exception(exc)
                raise
            plan_future.set_result(the_plan)

        worker = ThreadPoolExecutor(1, thread_name_prefix="madad-delivery")
        result.later = worker.submit(deliver_now)
        worker.shutdown(wait=False)
        return result
    # the block goes in only now, after delivery and risk: the plan's keys keep one order
    plan_future.set_result(the_plan)
    return result


#: How much a background thread yields the CPU to the run's own work [nice increment, Linux]:
#: with 5, ``madad run`` on 35 M households took 23.5-24.9 s (6 runs), with 2 25.5-25.8 s and with
#: 10 24.7-26.1 s (the ensemble, starved, then ended last), with none 25.5-27 s.
BACKGROUND_NICE = 5


def yield_cpu(nice: int = BACKGROUND_NICE) -> None:
    """Lower the calling thread's priority (and that of the threads it starts) by ``nice``, so
    that the cores go first to the work a result waits for (the plan, the household table; a
    page's figures) and the background work (an ensemble, a deferred delivery plan) takes what
    is left. Linux sets a nice value per thread; elsewhere, or if refused, nothing changes."""
    import os

    if not hasattr(os, "setpriority") or not hasattr(threading, "get_native_id"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(os.getpriority(os.PRIO_PROCESS, tid) + nice, 19))
    except OSError:  # pragma: no cover - a platform without per-thread priorities
        log.debug("could not lower a background thread's priority")


def _ensemble_of(scn: Scenario, reg: registry.Registry, base_cols: dict, layers: list, res, the_plan: dict | Future,
                 clock: _Clock, say: Callable[[str], None], background: bool,
                 turn: Callable[[], None] | None = None) -> Future | None:
    """:func:`run_ensemble` of the scenario's ensemble (:func:`simulator.plans.ensemble.summary`),
    the engine's result ``res`` its own member; ``turn`` is called before each member's hazards
    are generated."""
    from simulator.plans import ensemble

    hh = reg.households
    return run_ensemble(scn, the_plan, clock, say, background, lambda on_member: ensemble.summary(
        scn, base_cols, layers, hh["district_id"].cat.categories,
        registry.province_of_districts(hh), on_member=on_member,
        known={scn.seed: res},  # the plan's own member: the engine has run it already
        turn=turn,
    ))


def deliver(scn: Scenario, unregistered_block: dict | None, res, cols: dict, layers: list, sites, *, district_ids,
            provinces):
    """The plan's delivery (:mod:`simulator.plans.delivery_plan`; its ``section`` is the plan's
    ``delivery``) for an engine result and its columns (``lon``/``lat`` needed for the affected
    rows; the ``district`` and ``province`` codes index ``district_ids`` and ``provinces``);
    ``unregistered_block``: the plan's ``unregistered`` estimate, for the campsites' demand.
    Returns the :class:`~simulator.plans.delivery_plan.DeliveryResult`."""
    of_district = np.zeros(len(district_ids), np.int64)
    of_district[cols["district"]] = cols["province"]  # each district lies in one province
    done = delivery_plan.plan_delivery(
        scn.delivery, sites=sites[0], sites_input=sites[1], layers=layers, hazard_specs=scn.hazards,
        lon=cols["lon"], lat=cols["lat"], weight=res.weight, amount_pkr=res.amount_pkr,
        federal_pkr=res.federal_pkr, payer=res.payer, tier=res.tier, district=cols["district"],
        district_ids=district_ids, district_province=np.asarray(provinces)[of_district],
        instalments=scn.policy.instalments, unregistered=unregistered_block,
        roads=sites[2] if len(sites) > 2 else None,
    )
    return done


def run_ensemble(scn: Scenario, the_plan: dict | Future, clock: _Clock, say: Callable[[str], None], background: bool,
                 block: Callable[[Callable[[int], None]], dict]) -> Future | None:
    """Put the plan's ``ensemble`` block in ``the_plan``: ``block(on_member)`` computes it
    (:func:`simulator.plans.ensemble.summary`), told of each member as it ends, which is said
    as "ensemble: member k of n". With ``background`` it runs on a thread of its own and the
    Future is returned (see :meth:`RunResult.complete`); else now, and None. ``the_plan`` may
    be a Future of the plan (``background`` only): the members then run while the plan is
    built, and the block is put in the plan once both are there (an error building the plan,
    set on that Future, ends the ensemble's wait)."""

    def members() -> None:
        if background:
            yield_cpu()
        with clock.stage("ensemble_s"):
            n, done = scn.ensemble.members, []
            say(f"ensemble: member 1 of {n}...")

            def member(_seed: int) -> None:
                done.append(_seed)
                if len(done) < n:
                    say(f"ensemble: member {len(done) + 1} of {n}...")

            figures = block(member)
            (the_plan.result() if isinstance(the_plan, Future) else the_plan)["ensemble"] = figures

    if not background:
        members()
        return None
    worker = ThreadPoolExecutor(1, thread_name_prefix="madad-ensemble")
    pending = worker.submit(members)
    worker.shutdown(wait=False)
    return pending


def build_plan(scn: Scenario, res, cols, reg: registry.Registry, layers: list, *,
               library: Scenario | None = None, districts: pd.DataFrame | None = None) -> dict:
    """The plan of an engine result over a validated registry (:func:`plan_of`)."""
    hh = reg.households
    weights = (len(hh), int(hh["weight"].sum())) if "weight" in hh and len(hh) else None
    return plan_of(scn, res, cols, layers, report=reg.report.to_dict(),
                   tehsil=result_rows(hh, res)["tehsil_id"], weights=weights, library=library,
                   districts=districts)


def plan_of(scn: Scenario, res, cols, layers: list, *, report: dict, tehsil: pd.Series | None,
            weights: tuple[int, int] | None, library: Scenario | None = None,
            registry_rows: int | None = None, districts: pd.DataFrame | None = None) -> dict:
    """The plan of an engine result: figures (:func:`simulator.plans.build.build`), then the
    NSER update costing, the agencies of the provinces involved, empty sign-off fields and
    the policy record (edited or not, with its differences).

    ``report``: the registry's validation report; ``tehsil``: the tehsil code of each result
    row; ``weights``: registry rows and the households they stand for (None: no weights);
    ``registry_rows``: rows of the whole registry when ``res`` covers a summary of it (a
    distributed run), else ``len(res.tier)``; ``districts``: the plan's district table, when
    made already (:func:`simulator.plans.build.district_table`).
    """
    changes = policy.differences(library, scn)
    the_plan = plan.build(
        res,
        cols["district"],
        scn=scn,
        registry_report=report,
        assumptions=assumptions_mod.assumptions(scn, layers, weights=weights, changes=changes),
        tehsil=tehsil,
        districts=districts,
    )
    if registry_rows is not None:
        the_plan["registry_rows"] = registry_rows
    the_plan["scenario"]["title"] = policy.edited_title(scn.title, changes)
    the_plan["policy"] = policy.record(library, scn, changes)
    if scn.nser_update is not None:
        the_plan["nser_update"] = nser_update_cost(scn, the_plan)
    the_plan["agencies"] = agencies.for_plan(the_plan)
    the_plan["sign_off"] = dict.fromkeys(("prepared_by", "reviewed_by", "approved_by", "date", "version"))
    return the_plan


def run(
    scn: Scenario,
    *,
    base: Path | None = None,
    households: int | None = None,
    registry_path: str | Path | None = None,
    boundaries=None,
    library: Scenario | None = None,
    on_progress: Callable[[str], None] | None = None,
    background: bool = False,
    on_table: Callable[[pd.DataFrame], None] | None = None,
) -> RunResult:
    """Run a scenario in memory: registry, hazards, engine and the complete plan (:func:`assemble`).

    ``boundaries`` (a frame from :func:`simulator.registry.boundaries.load_boundaries`) is
    checked against the registry's district codes before the engine runs. ``library`` is the
    library scenario ``scn`` was edited from, if any; a scenario read from its file is its own
    library, and is not edited. ``on_progress`` is told each stage as it starts,
    ``background`` leaves the ensemble running and ``on_table`` is given the household table
    as soon as it is complete (see :func:`assemble`).
    """
    timings: dict[str, float] = {}
    clock = _Clock(timings)
    say = on_progress or (lambda message: None)

    def hazards(aoi) -> tuple[list, list[dict]]:
        with clock.stage("hazard_s"):
            return build_hazards(scn, base=base, aoi=aoi)

    with ThreadPoolExecutor(1) as pool:
        # no raster file to clip to the registry's box: the hazards are built on the second core
        # while the registry is read and checked (the stages then overlap); said from this
        # thread only, so that the messages keep one order
        early = pool.submit(hazards, None) if all(spec.file is None for spec in scn.hazards) else None
        say("reading and checking the registry, building the hazards meanwhile..." if early is not None
            else "reading and checking the registry...")
        with clock.stage("registry_s"):
            reg, registry_input = load_registry(scn, base=base, households=households, registry_path=registry_path)
        if early is not None:
            layers, hazard_inputs = early.result()
        else:
            from hazards.io import aoi_of_points

            # padded, so that one household or households on one latitude still give a box
            hh = reg.households
            say("building the hazards...")
            layers, hazard_inputs = hazards(aoi_of_points(hh.lon.to_numpy(), hh.lat.to_numpy()) if len(hh) else None)
    sites = delivery_plan.load_sites(scn.delivery, base=base) if scn.delivery is not None else None
    return assemble(
        scn, reg, layers,
        sites=sites,
        library=scn if library is None else library,
        boundaries=boundaries,
        inputs={"hazards": hazard_inputs, "registry": registry_input},
        timings=timings,
        on_progress=on_progress,
        background=background,
        base=base,
        on_table=on_table,
    )


def nser_update_cost(scn: Scenario, the_plan: dict) -> dict:
    """The scenario's NSER update survey, costed (see :mod:`simulator.plans.nser_update`): every
    registry household of the districts with affected households, or every census household."""
    from simulator.plans import nser_update

    spec = scn.nser_update
    households = None
    if spec.scope == "affected_districts":
        households = {
            d["district_id"]: int(d["households"]) for d in the_plan["districts"] if d["affected_households"]
        }
    return nser_update.cost_update(
        coverage=spec.coverage, rule=spec.rule, federal_share=spec.federal_share, key=spec.key,
        households=households,
    )


