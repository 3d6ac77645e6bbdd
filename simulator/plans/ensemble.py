"""Ensembles: a scenario's modelled hazards over several seeds, summarised as P10/P50/P90.

The members share the registry and the policy; only the modelled hazards' seed changes (member
0 is the scenario's own seed, whose plan and payout list are the exact ones). Each member runs
the engine once; the figures kept per member are households affected, households paid and PKR
paid, nationally, by province and by district. A file or a declared table is the same for every
member. Used by the plan (:func:`summary`) and the back-test (:func:`member_figures`).

Percentiles are over members (numpy's linear interpolation): with 20 members P10 lies between
the 2nd and 3rd lowest. They describe the spread of the modelled hazard alone, not the
uncertainty of the registry, the policy or the impact functions (see ``madad sensitivity``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

import numpy as np
import pandas as pd
import xarray as xr

from hazards import generators
from simulator import engine
from simulator.engine import targeting
from simulator.engine.aggregate import group_sum
from simulator.scenario import Scenario

#: The figures each member keeps.
METRICS = ("affected_households", "paid_households", "amount_pkr")
PERCENTILES = (("p10", 10), ("p50", 50), ("p90", 90))


#: Member hazards kept in memory (a generated layer is a pure function of its kind, parameters and
#: seed), so that a policy change reruns only the engine: 64 layers, at most about 1 GB for the
#: largest library hazard (17 MB each).
MEMBER_CACHE = 64


@functools.lru_cache(maxsize=MEMBER_CACHE)
def _generated(kind: str, seed: int, parameters: str):
    return generators.generate(kind, seed=seed, **json.loads(parameters))


def member_layers(scn: Scenario, layers: list, seed: int) -> list:
    """The hazard sources of the member with ``seed``: modelled hazards regenerated with it
    (kept in a small in-memory cache), files and declared tables as given."""
    return [_generated(spec.kind, seed, json.dumps(dict(spec.generator), sort_keys=True, default=str))
            if spec.generator is not None else layer for spec, layer in zip(scn.hazards, layers, strict=True)]


def reach_of(scn: Scenario, layers: list, members: list[list]) -> list[tuple] | None:
    """What decides, hazard by hazard, which rows some member can give a tier, made from the
    members' pixels alone (no household): the first half of :func:`reachable_rows`, so that a
    distributed run can send it to the workers holding the households (:func:`rows_reached`).

    One entry per ``scn.hazards``: ``("same", None)``, the source is the same in every member
    (a file or a declared table: the rows it gives a tier); ``("mask", raster)``, tier
    thresholds, 1 where the members' highest value reaches the first threshold; ``("bounds",
    (highest, lowest))``, an impact function, the members' pixel-wise highest and lowest values.
    None when the rows cannot be told without running every member (see :func:`reachable_rows`).
    """
    from hazards.sampling import same_grid

    if len(scn.hazards) > 1 and scn.combine != "max_tier":
        return None
    reach = []
    for j, spec in enumerate(scn.hazards):
        sources = [member[j] for member in members]
        if all(source is layers[j] for source in sources):
            reach.append(("same", None))
            continue
        first = sources[0]
        if not all(isinstance(source, xr.DataArray) and same_grid(source, first) for source in sources):
            return None
        stack = np.stack([np.asarray(source.values, dtype=np.float32) for source in sources])
        # fmax/fmin skip NaN: a pixel with no value in any member stays NaN (no warning)
        highest = np.fmax.reduce(stack)
        lowest = np.fmin.reduce(stack) if spec.impact is not None else None
        del stack
        if lowest is None:  # tier thresholds: the pixels the highest value gives a tier
            tiered = targeting.tiers(highest, spec.tier_thresholds()) > 0
            reach.append(("mask", first.copy(data=tiered.astype(np.float32))))
        else:
            reach.append(("bounds", (first.copy(data=highest), first.copy(data=lowest))))
    return reach


def rows_reached(scn: Scenario, reach: list[tuple], cols: dict[str, np.ndarray], layers: list,
                 points=None) -> np.ndarray:
    """The rows of ``cols`` that some member can give a tier (flat indices, rising), from
    :func:`reach_of`'s ``reach``: the second half of :func:`reachable_rows`. ``layers``: the
    hazard sources as these rows are overlaid (for the ``"same"`` entries); ``points``: a
    :class:`hazards.sampling.Points` of ``cols``."""
    from hazards.sampling import sample
    from simulator.engine import overlay

    hit = np.zeros(len(cols["lon"]), bool)
    for spec, layer, (how, what) in zip(scn.hazards, layers, reach, strict=True):
        if how == "same":
            hit |= overlay.hazard_tiers(spec, layer, cols, points)[1] > 0
        elif how == "mask":  # one gather of the reached pixels
            values = points.sample(what)[0] if points is not None else sample(what, cols["lon"], cols["lat"])[0]
            hit |= values > 0
        else:
            for bound in what:
                hit |= overlay.hazard_tiers(spec, bound, cols, points)[1] > 0
    return np.flatnonzero(hit)


def reachable_rows(scn: Scenario, cols: dict[str, np.ndarray], layers: list, members: list[list],
                   points=None) -> np.ndarray | None:
    """The rows that some member can give a tier (flat indices, rising), or None when that
    cannot be told without running every member.

    A row's tier in a member depends only on the member's value at the row's pixel (and the
    row's housing type), and is monotone in that value. Tier thresholds rise with it, so the
    members' pixel-wise highest value tells: the pixels where it reaches the first threshold are
    read at the rows in one gather. An impact function's tier may rise or fall, so the rows are
    those that an overlay of the highest or of the lowest values gives a tier (NaN, nodata,
    where no member has a value). Exact when the hazards combine by ``max_tier`` (or there is
    one) and each modelled hazard's members share one grid; else None. Declared tables and files
    are the same in every member, and are overlaid once. :func:`reach_of` (the pixels) then
    :func:`rows_reached` (the rows).

    ``members``: each member's hazard sources (:func:`member_layers`); ``points``: a
    :class:`hazards.sampling.Points` of ``cols`` to reuse its located pixels.
    """
    reach = reach_of(scn, layers, members)
    return None if reach is None else rows_reached(scn, reach, cols, layers, points)


def member_figures(
    scn: Scenario,
    cols: dict[str, np.ndarray],
    layers: list,
    seeds: list[int],
    *,
    n_districts: int | None = None,
    on_member: Callable[[int], None] | None = None,
    known: dict[int, engine.EngineResult] | None = None,
    evaluator: Callable[[Scenario, list, list | None], tuple[engine.EngineResult, dict[str, np.ndarray]]] | None = None,
    turn: Callable[[], None] | None = None,
) -> dict[str, np.ndarray]:
    """Per member, per district: households, affected, paid and PKR.

    Returns arrays of shape (members, districts) under ``households``, and under each of
    :data:`METRICS`, with districts indexed by the registry's district codes (``cols["district"]``;
    ``n_districts`` columns, default the highest code + 1).

    Every member's hazards are generated first, on two threads, or one at a time with
    ``turn()`` called before each (the app waits there while pages compute). Only the rows
    that some member can reach (:func:`reachable_rows`) are then run through the engine, with
    their registry positions (so impact-function draws and budget tie-breaks are the whole
    registry's): money goes only to rows with a tier, so the figures are the same as the
    engine's over every row (``tests/test_ensemble_reach.py`` checks both ways). A national ensemble of the demo reaches about
    4 % of the rows. When the rows cannot be told (see :func:`reachable_rows`) every row runs,
    the households located on the hazard grid once (:class:`hazards.sampling.Points`).
    ``known`` gives engine results already computed for some seeds on these same columns (the
    plan's own member), which are not run again. ``evaluator(member_scenario, member_sources,
    reach)`` runs the engine for a member instead and returns its result and the columns it ran
    on (a distributed run: the registry's summary, see :mod:`simulator.plans.distributed`);
    ``reach`` is :func:`reach_of` the members (None: every row must run), for the evaluator to
    run only the rows some member reaches, as here.
    """
    from concurrent.futures import ThreadPoolExecutor

    from hazards.sampling import Points

    if n_districts is None:
        n_districts = int(cols["district"].max()) + 1 if len(cols["district"]) else 0
    out = {m: np.zeros((len(seeds), n_districts)) for m in ("households", *METRICS)}
    known = known or {}
    to_run = [seed for seed in seeds if seed not in known]
    if turn is None:  # on two threads
        with ThreadPoolExecutor(2) as pool:
            sources = dict(zip(to_run, pool.map(lambda seed: member_layers(scn, layers, seed), to_run), strict=True))
    else:  # one at a time, each when its turn comes
        sources = {}
        for seed in to_run:  # loops over members
            turn()
            sources[seed] = member_layers(scn, layers, seed)
    points = Points(cols["lon"], cols["lat"]) if evaluator is None else None
    rows = None
    reach = reach_of(scn, layers, list(sources.values())) if to_run else None
    if evaluator is None and reach is not None:
        rows = rows_reached(scn, reach, cols, layers, points)
    run_cols, positions = cols, None
    if rows is not None:
        run_cols, positions = {k: v[rows] for k, v in cols.items()}, rows
        points = Points(run_cols["lon"], run_cols["lat"])
    # households per district: every row's weight (a split row's parts add up to its weight)
    everyone = group_sum(cols["district"], cols["weight"], n_districts).astype(np.float64) \
        if evaluator is None else None
    for i, seed in enumerate(seeds):
        member_cols = cols
        if seed in known:
            res = known[seed]
        else:
            member = scn.model_copy(update={"seed": seed})
            if evaluator is None:
                res = engine.evaluate(member, run_cols, sources.pop(seed), points=points, positions=positions)
                member_cols = run_cols
            else:
                res, member_cols = evaluator(member, sources.pop(seed), reach)
        district = member_cols["district"] if res.row is None else member_cols["district"][res.row]
        out["households"][i] = everyone if everyone is not None else \
            np.bincount(district, weights=res.weight.astype(np.float64), minlength=n_districts)
        # only affected rows carry a tier, a status or money
        at = np.flatnonzero(res.tier > 0)
        d_at, w_at = district[at], res.weight[at].astype(np.float64)
        out["affected_households"][i] = np.bincount(d_at, weights=w_at, minlength=n_districts)
        paid = res.status[at] == targeting.PAID
        out["paid_households"][i] = np.bincount(d_at[paid], weights=w_at[paid], minlength=n_districts)
        out["amount_pkr"][i] = np.bincount(district[res.affected_index],
                                           weights=res.sub["paid_pkr"].astype(np.float64), minlength=n_districts)
        if on_member:
            on_member(seed)
    return out


def _ranges(values: np.ndarray) -> dict:
    """P10/P50/P90 of each column of (members, areas) values; one dict per area."""
    q = np.percentile(values, [p for _, p in PERCENTILES], axis=0).round().astype(np.int64)
    return [{name: int(q[j, a]) for j, (name, _) in enumerate(PERCENTILES)} for a in range(values.shape[1])]


def summary(scn: Scenario, cols: dict[str, np.ndarray], layers: list, district_ids: pd.Index,
            province_of: pd.Series, *, on_member: Callable[[int], None] | None = None,
            known: dict[int, engine.EngineResult] | None = None,
            evaluator: Callable[[Scenario, list, list | None], tuple[engine.EngineResult, dict]] | None = None,
            turn: Callable[[], None] | None = None) -> dict:
    """The plan's ``ensemble`` block: members, seeds, and P10/P50/P90 of each metric nationally,
    by province and by district (districts with any affected household in any member).
    ``on_member`` is called with each member's seed as it finishes (for progress)."""
    seeds = [scn.seed + i for i in range(scn.ensemble.members)]
    figures = member_figures(scn, cols, layers, seeds, n_districts=len(district_ids), on_member=on_member,
                             known=known, evaluator=evaluator, turn=turn)
    provinces = sorted(set(province_of.astype(str)))
    prov_index = np.array([provinces.index(str(province_of.get(d, ""))) if str(province_of.get(d, "")) in provinces
                           else -1 for d in district_ids])
    block = {"members": len(seeds), "seeds": seeds, "member_in_tables": scn.seed,
             "note": "P10/P50/P90 over the members (the modelled hazards' seeds); the plan's tables "
                     f"are the member with seed {scn.seed}, from which the payout list is drawn.",
             "national": {}, "provinces": [], "districts": []}
    for metric in METRICS:
        block["national"][metric] = _ranges(figures[metric].sum(axis=1, keepdims=True))[0]
    by_prov = {m: np.stack([figures[m][:, prov_index == k].sum(axis=1) for k in range(len(provinces))], axis=1)
               for m in METRICS}
    for k, code in enumerate(provinces):
        block["provinces"].append({"province_code": code, **{m: _ranges(by_prov[m][:, [k]])[0] for m in METRICS}})
    hit = figures["affected_households"].max(axis=0) > 0
    for a in np.flatnonzero(hit):
        block["districts"].append({"district_id": str(district_ids[a]),
                                   **{m: _ranges(figures[m][:, [a]])[0] for m in METRICS}})
    return block


def likely(block: dict, metric: str) -> str:
    """One line for a headline figure: "likely between A and B (median C)"."""
    r = block["national"][metric]
    fmt = (lambda v: f"PKR {v:,}") if metric.endswith("_pkr") else (lambda v: f"{v:,}")
    return f"likely between {fmt(r['p10'])} and {fmt(r['p90'])} (median {fmt(r['p50'])}, {block['members']} members)"
