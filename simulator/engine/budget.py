"""Budget ceilings: when money is short, who is funded first and who is left out.

Rule: households are queued by the scenario's priority (by default severity tier, most severe
first, then PMT score, poorest first; then registry order). Each ceiling funds its queue strictly
in that order: once a household's share would take a budget over its ceiling, that household and
every later household drawing on the same budget are left out (``over_budget``); nobody is funded
ahead of a higher-priority household. Provincial ceilings are applied first, each to its own
province's queue (under the ``key`` rule, to the shared provincial pool, sized so that no
province's contribution can exceed its ceiling); the federal ceiling then applies to the
households still funded. A household that does not draw on a budget is never left out by it.
"""

from __future__ import annotations

import numpy as np

from hazards.errors import ScenarioError
from simulator.engine import financing
from simulator.scenario import MAX_BUDGET_PKR

N_PROVINCES = len(financing.PROVINCES)


def priority_key(tier: np.ndarray, pmt: np.ndarray, index: np.ndarray, order: list[str]) -> np.ndarray:
    """An int64 sort key: smaller is funded first. Bits: severity (2), PMT x 100 (14), index (32)."""
    severity = (3 - tier.astype(np.int64)) & 3
    pmt_int = np.clip(np.rint(np.asarray(pmt, dtype=np.float64) * 100), 0, 16_383).astype(np.int64)
    index = index.astype(np.int64)
    parts = {"severity": (severity, 2), "pmt": (pmt_int, 14)}
    key = np.zeros(len(index), dtype=np.int64)
    for name in order:
        value, bits = parts[name]
        key = (key << bits) | value
    return (key << 32) | index


def priority_order(key: np.ndarray) -> np.ndarray:
    """Positions that sort ``key`` (stable): ``np.argsort(key, kind="stable")``, faster.

    Keys from :func:`priority_key` carry the registry index in their low 32 bits; when those
    rise along the array (households in registry order, as the engine gives them) and the
    priority bits above them fit 16 bits, a stable sort on the priority bits alone (numpy's
    radix sort) gives the same order.
    """
    key = np.asarray(key)
    if key.dtype == np.int64 and len(key) > 1 and int(key.min()) >= 0 and int(key.max()) < 2**48:
        low = key & np.int64(0xFFFFFFFF)
        if bool((low[1:] > low[:-1]).all()):
            return np.argsort((key >> 32).astype(np.uint16), kind="stable")
    return np.argsort(key, kind="stable")


def _ceiling(value: int, field: str) -> int:
    """A budget ceiling as a Python int, refused unless within [0, MAX_BUDGET_PKR]."""
    if not 0 <= int(value) <= MAX_BUDGET_PKR:
        raise ScenarioError(
            f"{field}: PKR {int(value):,} is outside [0, {MAX_BUDGET_PKR:,}] "
            "(simulator.scenario.MAX_BUDGET_PKR); give a ceiling within it."
        )
    return int(value)


def _within(cost: np.ndarray, ceiling: float | int, segment: np.ndarray | None = None) -> np.ndarray:
    """Whether each household is funded when ``cost`` (in priority order) is drawn against a
    ceiling: the running sum is int64 (its total is bounded, see financing.check_total) and the
    ceiling an int, or ``inf`` for none, so the comparison is exact. ``segment`` (sorted, in
    the same order): the running sum restarts at each segment."""
    financing.check_total(cost, "budget")
    running = np.cumsum(cost)
    if segment is not None and len(segment):
        running -= _segment_base(running, segment)
    with np.errstate(invalid="ignore"):
        return (running <= ceiling) | (cost == 0)


def _segment_base(running: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """The running sum before each element's segment starts (``segment`` sorted)."""
    first = np.flatnonzero(np.concatenate([[True], segment[1:] != segment[:-1]]))
    before = np.concatenate([[0], running])[first]
    return np.repeat(before, np.diff(np.append(first, len(segment))))


def apply(
    key: np.ndarray,
    federal_pkr: np.ndarray,
    provincial_pkr: np.ndarray,
    province: np.ndarray,
    *,
    federal_ceiling: int | None,
    provincial_ceilings: dict[str, int],
    rule: str,
    cost_key: str = "nfc7",
    segment: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Which entitled households are funded: (funded, left_out_by) where left_out_by is
    0 funded, 1 a provincial ceiling, 2 the federal ceiling. Arrays are over entitled households.

    ``segment`` (int, >= 0): independent queues with the same ceilings, e.g. the events of an
    event set (:mod:`simulator.engine.events`); each segment is funded exactly as if it were
    alone. None: one queue.
    """
    n = len(key)
    seg = np.zeros(n, np.int64) if segment is None else np.asarray(segment, dtype=np.int64)
    ok_prov = np.ones(n, dtype=bool)
    by_key = None  # priority order within segments, sorted once
    if provincial_ceilings:
        if rule == "key":
            capacity = financing.pool_capacity(
                {p: _ceiling(c, f"budget.provincial_pkr.{p}") - N_PROVINCES for p, c in provincial_ceilings.items()},
                cost_key,
            )
            order = by_key = _order(key, segment)
            ok_prov[order] = _within(provincial_pkr[order], capacity, seg[order])
        else:
            # int64 ceilings (no ceiling: int64's largest), so that running sums compare exactly.
            ceiling = np.full(N_PROVINCES, np.iinfo(np.int64).max, dtype=np.int64)
            for code, value in provincial_ceilings.items():
                ceiling[financing.PROVINCES.index(code)] = _ceiling(value, f"budget.provincial_pkr.{code}")
            order = np.lexsort((key, province, seg))
            cost = provincial_pkr[order]
            queue = seg[order] * N_PROVINCES + province[order]
            ok_prov[order] = _within_queues(cost, ceiling[province[order]], queue)
    ok_fed = np.ones(n, dtype=bool)
    if federal_ceiling is not None:
        order = _order(key, segment) if by_key is None else by_key
        cost = np.where(ok_prov, federal_pkr, 0)[order]
        ok_fed[order] = _within(cost, _ceiling(federal_ceiling, "budget.federal_pkr"), seg[order])
    funded = ok_prov & ok_fed
    left_out_by = np.where(~ok_prov, 1, np.where(~ok_fed, 2, 0)).astype(np.int8)
    return funded, left_out_by


def _order(key: np.ndarray, segment: np.ndarray | None) -> np.ndarray:
    """Priority order: by segment, then key (stable)."""
    if segment is None:
        return priority_order(key)
    return np.lexsort((key, np.asarray(segment)))


def _within_queues(cost: np.ndarray, ceiling: np.ndarray, queue: np.ndarray) -> np.ndarray:
    """:func:`_within` over queues sorted together (``queue`` sorted), each element against its
    own ``ceiling`` (int64)."""
    financing.check_total(cost, "budget")
    running = np.cumsum(cost)
    running -= _segment_base(running, queue)
    return (running <= ceiling) | (cost == 0)
