"""Stochastic event sets: many footprints drawn by return period, standing for many years.

:func:`stochastic` draws ``n_events`` return periods (a Poisson process with stratified
severities) and calls a footprint function for each; :func:`return_period_footprint` makes such
a function from a generator of :mod:`hazards.generators`. The result is an
:class:`~hazards.eventset.EventSet`.
"""

from __future__ import annotations

import functools
import logging
import math
import multiprocessing
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import xarray as xr

from hazards.errors import HazardError
from hazards.eventset import EventSet
from hazards.layer import KINDS

log = logging.getLogger(__name__)

#: A footprint function for :func:`stochastic`: called as ``footprint(return_period=T, seed=s)``
#: and returning a 2-D hazard layer (see :mod:`hazards.layer`).
Footprint = Callable[..., xr.DataArray]


def _describe(func: Any) -> str:
    """A stable text for a callable (no memory addresses, so provenance is reproducible)."""
    if isinstance(func, functools.partial):
        args = [repr(a) for a in func.args] + [f"{k}={v!r}" for k, v in sorted(func.keywords.items())]
        return f"partial({_describe(func.func)}, {', '.join(args)})"
    name = getattr(func, "__qualname__", None) or type(func).__qualname__
    module = getattr(func, "__module__", None)
    return f"{module}.{name}" if module else name



def _check_arguments(kind: str, n_events: int, years: float, footprint: Footprint) -> None:
    if kind not in KINDS:
        raise HazardError(f"kind {kind!r} is not one of {list(KINDS)}.")
    if int(n_events) < 1:
        raise HazardError(f"n_events must be >= 1, got {n_events}.")
    if not years > 0:
        raise HazardError(f"years must be > 0, got {years}.")
    if not callable(footprint):
        raise HazardError("footprint must be a callable footprint(return_period=T, seed=s) -> 2-D layer.")


def _draws(
    n_events: int, years: float, seed: int, max_return_period: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return period of each event, the period passed to the footprint (capped), its year and
    its seed: stratified severities of a Poisson process (see :func:`stochastic`)."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 20250601]))
    strata = rng.permutation(n_events)
    u = (strata + rng.random(n_events)) / n_events  # stratified in [0, 1)
    q = 1.0 - u  # in (0, 1]
    return_period = years / (n_events * q)
    passed = return_period if max_return_period is None else np.minimum(return_period, max_return_period)
    year = rng.integers(0, max(int(math.ceil(years)), 1), n_events)
    seeds = rng.integers(0, 2**31 - 1, n_events)
    return return_period, passed, year, seeds


#: The footprint function of a build's worker processes (set before they fork: any callable
#: works, closures included, as nothing is pickled but its arguments and results).
_WORKER_FOOTPRINT: Footprint | None = None


def _worker_call(args: tuple[float, int]) -> xr.DataArray:
    return _WORKER_FOOTPRINT(return_period=args[0], seed=args[1])


def _footprints(
    footprint: Footprint, kind: str, passed: np.ndarray, seeds: np.ndarray, workers: int = 1,
    on_event: Callable[[], None] | None = None,
) -> Iterable[xr.DataArray]:
    """The events' footprints, in order, made one at a time (or by ``workers`` forked
    processes, a few events ahead); each must be of ``kind``."""
    args = [(float(p), int(s)) for p, s in zip(passed, seeds, strict=True)]
    if workers > 1 and len(args) > 1 and "fork" in multiprocessing.get_all_start_methods():
        global _WORKER_FOOTPRINT
        _WORKER_FOOTPRINT = footprint
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                yield from _checked(pool.imap(_worker_call, args, chunksize=4), kind, on_event)
        finally:
            _WORKER_FOOTPRINT = None
        return
    yield from _checked((footprint(return_period=p, seed=s) for p, s in args), kind, on_event)


def _checked(layers: Iterable[xr.DataArray], kind: str, on_event) -> Iterable[xr.DataArray]:
    for i, layer in enumerate(layers):
        got = getattr(layer, "attrs", {}).get("kind")
        if got != kind:
            raise HazardError(
                f"event {i}: the footprint returned kind {got!r}, not {kind!r}; pass a "
                f"footprint for {kind!r}."
            )
        if on_event is not None:
            on_event()
        yield layer


def stochastic(
    kind: str,
    n_events: int,
    *,
    years: float,
    seed: int,
    footprint: Footprint,
    max_return_period: float | None = None,
    workers: int = 1,
    on_event: Callable[[], None] | None = None,
    intensity_threshold: float | None | str = "default",
) -> EventSet:
    """A stochastic event set: ``n_events`` footprints standing for ``years`` simulated years.

    Method. The events are the occurrences of a Poisson process with rate
    ``lambda = n_events / years`` per year; each has annual frequency ``1 / years`` and is placed
    in a year drawn uniformly from ``0 .. years - 1`` (so the count per year is approximately
    Poisson(lambda)). Severity is drawn through the event's return period: with ``q`` the
    chance that one occurrence is at least this severe, an event of return period T is reached
    at the annual rate ``lambda * q = 1 / T``, so ``T = years / (n_events * q)``. ``q`` is drawn
    by stratified sampling (one draw in each of ``n_events`` equal strata of (0, 1], shuffled),
    which makes the empirical exceedance frequency of return period T close to ``1 / T`` for
    every T from ``years / n_events`` up to about ``years``. The footprint turns T into
    intensity; a footprint whose intensity grows with ln T (as the generators in
    :mod:`hazards.generators` do) gives Gumbel-like annual maxima. E.g. 10,000 monsoon floods
    over 10,000 years: one flood a year on average, return periods from 1 year upwards.

    Parameters
    ----------
    kind
        Hazard kind; every footprint must carry it in ``attrs['kind']``.
    n_events
        Number of events (>= 1).
    years
        Simulated years the set stands for (> 0).
    seed
        Seed of every draw: the same seed gives the same set.
    footprint
        Called once per event as ``footprint(return_period=T, seed=s)`` and returning a 2-D
        hazard layer (:func:`hazards.layer.make_layer`) on a grid shared by all events. Bind
        the other parameters first, e.g. for the generators::

            from functools import partial
            from hazards import generators
            fp = partial(generators.riverine_flood, "indus", resolution=1 / 60)
            floods = stochastic("riverine-flood", 10_000, years=10_000, seed=1, footprint=fp)

        A hazard whose generator is not parameterised by return period needs a small adapter
        that maps T to its parameters (e.g. magnitude from a Gutenberg-Richter relation for
        earthquakes, a seeded epicentre from ``seed``).
        The smallest T drawn is ``years / n_events``; footprints that refuse T < 1 (such as
        ``generators.riverine_flood``) need ``years >= n_events``.
    max_return_period
        Optional cap on T passed to the footprint (the frequencies are unchanged), for
        footprints whose growth with T is only credible up to some period.
    workers
        Processes making footprints (forked, where the platform forks; else one): the set is
        the same whatever the number, as each event's footprint depends only on its own T and
        seed.
    on_event
        Called after each event's footprint is made (e.g. to advance a progress bar).
    intensity_threshold
        Values that do not reach it are not stored (:meth:`EventSet.from_layers`): by default
        :data:`hazards.eventset.INTENSITY_THRESHOLDS` for the kind and units (heat, drought,
        cyclone wind and shaking are dense fields; only their hazardous part is kept), None to
        keep every nonzero value. The value used is in the set's provenance.

    Returns
    -------
    EventSet with ``event_attrs`` ``return_period`` [years], ``year`` and ``seed`` per event.

    Notes
    -----
    Building calls the footprint once per event (a Python loop over events, each call
    vectorized over cells); every analysis on the result is vectorized. Footprints are
    sparsified as they arrive, so only one dense footprint is held at a time.
    """
    _check_arguments(kind, n_events, years, footprint)
    n_events = int(n_events)
    return_period, passed, year, seeds = _draws(n_events, years, seed, max_return_period)
    layers = _footprints(footprint, kind, passed, seeds, max(int(workers), 1), on_event)
    provenance = {
        "method": "hazards.events.stochastic",
        "footprint": _describe(footprint),
        "kind": kind,
        "n_events": n_events,
        "years": years,
        "seed": int(seed),
        "max_return_period": max_return_period,
        "occurrence": "Poisson, rate n_events/years; frequency 1/years per event",
        "severity": "T = years / (n_events q), q stratified uniform on (0, 1]",
    }
    log.info("building %d %s events over %g years", n_events, kind, years)
    return EventSet.from_layers(
        layers,
        np.full(n_events, 1.0 / years),
        provenance=provenance,
        event_attrs={"return_period": return_period, "year": year.astype(np.int64),
                     "seed": seeds.astype(np.int64)},
        intensity_threshold=intensity_threshold,
    )


#: How a return period T [years] sets each generator's severity parameter, for kinds whose
#: generator is not parameterised by T. ILLUSTRATIVE relations, not fitted to Pakistani records:
#: they make severity grow with ln T (Gumbel-like maxima) or, for earthquakes, follow a
#: Gutenberg-Richter law with b = 1 (Mw 5.5 once in 5 years in the region, capped at 8.0).
def _severity_for(kind: str, return_period: float, rng: np.random.Generator, params: dict) -> dict:
    t = max(float(return_period), 1.0)
    if kind in ("riverine-flood", "flash-flood"):
        return {"return_period": t}
    if kind == "heatwave":
        return {"anomaly_degc": 3.0 + 1.2 * math.log(t)}
    if kind == "drought":
        return {"deficit": float(min(0.15 + 0.12 * math.log(t), 0.9))}
    if kind == "cyclone":
        return {"delta_p_hpa": float(min(15.0 + 12.0 * math.log(t), 90.0))}
    if kind == "earthquake":
        magnitude = min(5.5 + math.log10(t / 5.0), 8.0) if t >= 5.0 else 5.5 - math.log10(5.0 / t)
        out = {"magnitude": float(magnitude)}
        bbox = params.get("bbox")
        if bbox is not None and "lon" not in params:
            out["lon"] = float(rng.uniform(bbox[0], bbox[2]))
            out["lat"] = float(rng.uniform(bbox[1], bbox[3]))
        return out
    raise HazardError(f"kind {kind!r} is not one of {list(KINDS)}.")


def return_period_footprint(kind: str, **params: Any) -> Footprint:
    """A footprint ``f(return_period=T, seed=s)`` for :func:`stochastic` from a generator.

    ``params`` are fixed generator parameters (e.g. ``bbox``, ``river``); the severity
    parameter comes from T by the illustrative relations of :func:`_severity_for` (return period
    for floods, ln T growth of heat anomaly, rainfall deficit and cyclone pressure deficit, and a
    Gutenberg-Richter magnitude with an epicentre drawn in ``bbox`` for earthquakes).
    """
    from hazards import generators

    generators.parameters(kind)  # refuses an unknown kind with the valid ones

    def footprint(*, return_period: float, seed: int) -> xr.DataArray:
        rng = np.random.default_rng(seed)
        severity = _severity_for(kind, return_period, rng, params)
        return generators.generate(kind, **{**params, **severity, "seed": seed})

    footprint.__name__ = f"{kind}-by-return-period"
    return footprint
