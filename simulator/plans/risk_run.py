"""An event-set run (``madad risk``): the scenario's policy over stochastic event sets, then what a
year of disasters costs each government, the layers that pay for it and the triggers.

Steps, each a function below:

=======================  ======================================================================
:func:`event_sets`       the sets to run: files, the scenario's ``financing.events``, or sets
                         generated from the scenario's hazards (cached by their recipe)
:func:`run`              registry -> household columns -> the event engine on every set
                         (:mod:`simulator.engine.events`) -> the event payout table ->
                         trigger indices -> the ``risk`` section (:mod:`simulator.plans.risk_plan`)
=======================  ======================================================================

Every set must stand for the same number of years (a multi-hazard mix is several sets over the
same simulated years: their events fall in the same years, so a year's loss adds them up).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hazards.errors import ScenarioError
from simulator import engine
from simulator.engine import events as ev_engine
from simulator.scenario import Scenario, file_sha256

log = logging.getLogger(__name__)

#: Environment variable naming the cache folder of generated event sets.
CACHE_ENV = "MADAD_CACHE"


def cache_dir() -> Path:
    """Where generated event sets are kept: ``$MADAD_CACHE/events`` or ``~/.cache/madad/events``."""
    root = os.environ.get(CACHE_ENV)
    return (Path(root) if root else Path.home() / ".cache" / "madad") / "events"


class SetInput:
    """One event set of a run, and where it came from (for the manifest).

    A set read from a file is loaded when first used and can be released after (a national
    mix of sets need not sit in memory at once); one given in memory stays."""

    def __init__(self, event_set=None, hazard: str | None = None, record: dict | None = None, *,
                 path: str | Path | None = None) -> None:
        if event_set is None and path is None:
            raise ValueError("SetInput needs an event set or the path of its file")
        self._set = event_set
        self.path = None if path is None else Path(path)
        self.hazard = hazard
        self.record = dict(record or {})
        if event_set is not None:
            self.kind, self.n_events = event_set.kind, event_set.n_events
            self.provenance = dict(event_set.provenance)
        else:
            from hazards.eventfile import read_metadata

            meta = read_metadata(self.path)
            self.kind, self.n_events = meta["kind"], int(meta["n_events"])
            self.provenance = dict(meta.get("provenance") or {})
        self.record.update(kind=self.kind, events=self.n_events)  # what the manifest says of it

    @property
    def event_set(self):
        """The set (read from its file on first use after a release)."""
        if self._set is None:
            from hazards import events

            self._set = events.load(self.path)
        return self._set

    def release(self) -> None:
        """Drop the set from memory when it can be read again from its file."""
        if self.path is not None:
            self._set = None


def recipe_path(kind: str, n: int, years: float, seed: int, params: dict, threshold: float | None = None) -> Path:
    from hazards.eventset import INTENSITY_THRESHOLDS
    from simulator import __version__

    text = json.dumps({"kind": kind, "events": n, "years": years, "seed": seed, "params": params,
                       "madad": __version__, "thresholds": {u: v for (k, u), v in INTENSITY_THRESHOLDS.items() if k == kind}
                       if threshold is None else threshold},
                      sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return cache_dir() / f"{kind}-{n}-{years:g}y-seed{seed}-{digest}.npz"


def generate_set(kind: str, n: int, *, years: float, seed: int, params: dict, workers: int = 1,
                 on_event: Callable[[], None] | None = None, threshold: float | None = None) -> tuple[object, dict]:
    """A stochastic set from a generator (:func:`hazards.stochastic.stochastic`), cached by its
    recipe (kind, events, years, seed, parameters, the kind's intensity threshold and Madad's
    version) in :func:`cache_dir`. Returns ``(set, record)``; the set is None when it was in
    the cache (read it when used: ``record["cache_file"]``)."""
    from hazards import events

    path = recipe_path(kind, n, years, seed, params, threshold)
    record = {"generate": {"kind": kind, "events": n, "years": years, "seed": seed, "params": params,
                           "threshold": threshold}}
    if path.exists():
        log.info("event set from the cache: %s", path)
        es = None  # read when used (SetInput)
    else:
        fp = events.return_period_footprint(kind, **params)
        es = events.stochastic(kind, n, years=years, seed=seed, footprint=fp, workers=workers, on_event=on_event,
                               intensity_threshold="default" if threshold is None else threshold)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.npz")
        es.save(tmp)
        os.replace(tmp, path)  # another run building the same recipe writes the same set
    record.update(cache_file=str(path), sha256=file_sha256(path))
    return es, record


def generator_params(spec) -> dict:
    """The hazard's generator parameters without the severity ones the return period sets."""
    severity = {"return_period", "anomaly_degc", "deficit", "delta_p_hpa", "magnitude", "seed"}
    return {k: (tuple(v) if isinstance(v, list) else v) for k, v in (spec.generator or {}).items() if k not in severity}


def event_sets(
    scn: Scenario,
    *,
    base: Path | None = None,
    files: Sequence[str | Path] = (),
    generate: int | None = None,
    years: float | None = None,
    workers: int = 1,
    on_event: Callable[[], None] | None = None,
) -> list[SetInput]:
    """The sets to run, in this order of choice: ``files``; else ``generate`` events for each of
    the scenario's modelled hazards over ``years`` (default: as many years as events); else the
    scenario's ``financing.events``.

    Raises
    ------
    ScenarioError
        Nothing to run, a set of a kind no scenario hazard reads, or a generated set asked of a
        hazard without a generator.
    """

    out: list[SetInput] = []
    if files:
        for f in files:
            path = Path(f)
            if not path.exists():
                raise ScenarioError(f"{path}: no such event set file; build one with madad hazard events.")
            out.append(SetInput(None, None, {"file": str(path), "sha256": file_sha256(path)}, path=path))
        return out
    if generate is not None:
        modelled = [h for h in scn.hazards if h.generator is not None]
        if not modelled:
            raise ScenarioError("--generate builds sets from the scenario's generators, and it has none; "
                                "give --events FILE (madad hazard events).")
        for i, spec in enumerate(modelled):
            es, record = generate_set(spec.kind, int(generate), years=float(years or generate), seed=scn.seed + i,
                                      params=generator_params(spec), workers=workers, on_event=on_event)
            out.append(SetInput(es, spec.label, record, path=record["cache_file"]))
        return out
    fin = scn.financing
    if fin is None or not fin.events:
        raise ScenarioError("no event set to run: give --events FILE (madad hazard events), --generate N, or "
                            "declare financing.events in the scenario.")
    for spec in fin.events:
        if spec.file is not None:
            path = Path(spec.file) if base is None or Path(spec.file).is_absolute() else base / spec.file
            if not path.exists():
                raise ScenarioError(f"financing.events: {path} does not exist; build it with madad hazard events.")
            out.append(SetInput(None, spec.hazard, {"file": str(path), "sha256": file_sha256(path)}, path=path))
        else:
            g = spec.generate
            params = {k: (tuple(v) if isinstance(v, list) else v) for k, v in g.params.items()}
            es, record = generate_set(g.kind, g.events, years=g.years, seed=g.seed, params=params,
                                      workers=workers, on_event=on_event, threshold=g.threshold)
            out.append(SetInput(es, spec.hazard, record, path=record["cache_file"]))
    return out


def set_years(sets: Sequence[SetInput], years: float | None = None) -> int:
    """The years the sets stand for: ``years`` or their provenance; all sets must agree."""
    found = {float(s.provenance.get("years")) for s in sets if s.provenance.get("years")}
    if years is not None:
        found = {float(years)}
    if not found:
        raise ScenarioError("the event sets do not say how many years they stand for; give --years.")
    if len(found) > 1:
        raise ScenarioError(f"the event sets stand for different numbers of years ({sorted(found)}); a mix needs "
                            "sets over the same simulated years.")
    n = found.pop()
    if n != int(n) or n < 1:
        raise ScenarioError(f"years {n:g} must be a whole number >= 1.")
    return int(n)


@dataclass
class RiskResult:
    """What :func:`run` returns: the payouts, their table, the ``risk`` section and provenance."""

    scenario: Scenario
    payouts: ev_engine.EventPayouts
    table: pd.DataFrame
    n_years: int
    section: dict
    inputs: dict
    timings: dict = field(default_factory=dict)


def _trigger_index(scn: Scenario, spec, s: SetInput, exp, first_kind: str) -> np.ndarray | None:
    """A trigger's index for the events of one set (None when the trigger reads another kind)."""
    from hazards.tables import district_codes

    ix = spec.index
    es = s.event_set
    if es.kind != (ix.hazard or first_kind):
        return None
    if ix.type == "point":
        got = ev_engine.point_index(es, ix.lon, ix.lat, ix.radius_km)
    else:
        codes = list(district_codes())
        tier = ("affected", "severely_affected", "displaced").index(ix.tier) + 1
        got = ev_engine.district_share_index(es, exp, [codes.index(d) for d in ix.districts], tier)
    if ix.forecast_error > 0:
        key = zlib.crc32(f"{scn.seed}:{spec.name}".encode())
        rng = np.random.default_rng([key, int(es.event_id.min(initial=0))])
        got = got * np.exp(rng.normal(0.0, ix.forecast_error, len(got)))
        if ix.type == "district_share":
            got = np.clip(got, 0.0, 1.0)
    return got


def run(
    scn: Scenario,
    sets: list[SetInput],
    *,
    base: Path | None = None,
    households: int | None = None,
    registry_path: str | Path | None = None,
    years: float | None = None,
    on_progress: Callable[[str], None] | None = None,
    on_events: Callable[[int], None] | None = None,
) -> RiskResult:
    """Run the scenario's policy over every event of ``sets`` and measure the risk.

    Parameters
    ----------
    scn
        The scenario (policy, budgets per event, ``financing:`` layers and triggers).
    sets
        From :func:`event_sets`.
    households, registry_path
        The registry, as for ``madad run``.
    years
        Years the sets stand for, when their provenance does not say.
    on_progress
        Called with a message as each stage starts.
    on_events
        Called with the number of events done after each chunk (for a progress bar).
    """

    say = on_progress or (lambda message: None)
    set_years(sets, years)  # refuse a mix of different years before reading the registry
    t0 = time.perf_counter()
    say("reading the registry...")
    cols, reg_info = registry_columns(scn, base=base, households=households, registry_path=registry_path)
    registry_s = time.perf_counter() - t0
    res = run_columns(scn, sets, cols, registry=reg_info, years=years,
                      on_progress=on_progress, on_events=on_events)
    res.timings = {"registry_s": registry_s, **res.timings}
    return res


def registry_columns(
    scn: Scenario,
    *,
    base: Path | None = None,
    households: int | None = None,
    registry_path: str | Path | None = None,
) -> tuple[dict[str, np.ndarray], dict]:
    """The registry read and checked as ``madad run`` does, kept as the engine's columns only
    (:func:`simulator.engine.household_columns`), and its description with the door's report.

    The registry's frame is dropped, and the memory Arrow's allocator keeps from reading it
    (about 2 GB for 35 M rows) is handed back to the system, so that the event sets have it.
    """
    import pyarrow as pa

    from simulator.plans import orchestrator

    reg, info = orchestrator.load_registry(scn, base=base, households=households,
                                           registry_path=registry_path)
    cols = engine.household_columns(reg.households)
    report = reg.report.to_dict() if hasattr(reg.report, "to_dict") else {}
    del reg
    pa.default_memory_pool().release_unused()
    return cols, {**info, "report": report}


def run_columns(
    scn: Scenario,
    sets: list[SetInput],
    cols: dict[str, np.ndarray],
    *,
    registry: dict | None = None,
    years: float | None = None,
    on_progress: Callable[[str], None] | None = None,
    on_events: Callable[[int], None] | None = None,
) -> RiskResult:
    """:func:`run` on household columns already built
    (:func:`simulator.engine.household_columns`), e.g. the app's cached registry; ``registry``
    describes them for the manifest."""
    from simulator.plans import risk_plan

    say = on_progress or (lambda message: None)
    timings: dict[str, float] = {}
    n_years = set_years(sets, years)
    triggers = list(scn.financing.triggers) if scn.financing is not None else []
    first_kind = sets[0].kind if sets else ""
    pieces: dict[str, list] = {spec.name: [] for spec in triggers}
    parts, offset = [], 0
    prices = ev_engine.RowPrices(scn, cols)  # a row's money at a tier is the same in every set
    for s in sets:  # one set in memory at a time
        es = s.event_set
        spec = ev_engine.hazard_spec(scn, es, s.hazard)
        t = time.perf_counter()
        say(f"grouping households on the {es.kind} grid...")
        exp = ev_engine.exposure(scn, spec, cols, es, prices=prices)
        say(f"{es.n_events:,} {es.kind} events...")
        parts.append(ev_engine.event_payouts(scn, cols, es, hazard=spec.label, exp=exp, id_offset=offset,
                                             on_progress=on_events))
        for trig in triggers:
            got = _trigger_index(scn, trig, s, exp, first_kind)
            pieces[trig.name].append(np.full(es.n_events, np.nan) if got is None else got)
        timings[f"events_{es.kind}_s"] = time.perf_counter() - t
        offset += es.n_events
        del exp, es
        s.release()
    payouts = ev_engine.EventPayouts.concat(parts)
    table = payouts.table()

    say("risk metrics, layers and triggers...")
    t = time.perf_counter()
    index = {name: np.concatenate(p) for name, p in pieces.items()}
    for name, values in index.items():
        if np.isnan(values).all():
            raise ScenarioError(f"trigger {name!r}: no event set of the kind its index reads.")
    affected = payouts.affected_households.sum(axis=0)
    exposure_shares = {p: float(affected[i]) for i, p in enumerate(ev_engine.PROVINCES[:4])}
    section = risk_plan.risk_section(
        table, n_years, scn.financing, trigger_index=index or None, event_year=payouts.year,
        exposure_shares=exposure_shares if sum(exposure_shares.values()) > 0 else None,
        event_sets=[s.record for s in sets],
    )
    section["evaluation"] = _event_summary(payouts, sets)
    timings["metrics_s"] = time.perf_counter() - t
    inputs = {"registry": registry or {}, "event_sets": [s.record for s in sets],
              "years": n_years, "seed": scn.seed}
    return RiskResult(scenario=scn, payouts=payouts, table=table, n_years=n_years, section=section,
                      inputs=inputs, timings=timings)


def _event_summary(payouts: ev_engine.EventPayouts, sets: list[SetInput]) -> dict:
    """How the events were evaluated: counts per hazard, exact (budget) events, expectations."""
    kinds, counts = np.unique(payouts.hazard.astype(str), return_counts=True)
    return {
        "events": int(payouts.n_events),
        "by_hazard": {str(k): int(c) for k, c in zip(kinds, counts, strict=True)},
        "events_with_payouts": int((payouts.total_pkr > 0).sum()),
        "queued_household_by_household": int(payouts.exact.sum()),
        "expected_values": bool(payouts.expected),
        "method": ("each event's payouts by the event engine (simulator.engine.events): identical to the "
                   "household engine on the event under tier rules; expectations over the impact "
                   "function's share under affected: share" + (" (as here)" if payouts.expected else "")
                   + "; events that meet a budget ceiling queued household by household"),
        "sets": [s.record for s in sets],
    }
