"""The cell system of small-cell suppression and its protection: every published number is a
cell, every printed total an equation; primary suppression, complementary cells and the
linear-programming interval check (rules in :mod:`simulator.publish.disclosure`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog

from hazards.errors import DisclosureError

log = logging.getLogger(__name__)

#: Cells under this many households are not published.
K_DEFAULT = 10

#: Money and people columns of the plan, and the household count each one reveals.
PLAN_LINKS: dict[str, str] = {
    "affected_people": "affected_households",
    "eligible_people": "eligible_households",
    "paid_people": "paid_households",
    "amount_pkr": "paid_households",
    "federal_pkr": "paid_households",
    "provincial_pkr": "paid_households",
    "dedup_savings_pkr": "dedup_overlap_households",
    "budget_shortfall_pkr": "over_budget_households",
}

#: Exact relations between the plan's columns in every row: total = sum of parts.
PLAN_ROW_TOTALS: dict[str, tuple[str, ...]] = {
    "eligible_households": ("paid_households", "over_budget_households"),
    "amount_pkr": ("federal_pkr", "provincial_pkr"),
}


# --------------------------------------------------------------------------------------------
# The cell system: every published number is a cell; every printed total is an equation.
# --------------------------------------------------------------------------------------------


@dataclass
class _System:
    values: list[int] = field(default_factory=list)
    count: list[bool] = field(default_factory=list)  # primary rule applies
    hideable: list[bool] = field(default_factory=list)
    printed: list[bool] = field(default_factory=list)  # False: derivable remainder, never printed
    total: list[bool] = field(default_factory=list)  # a group or grand total
    labels: list[tuple] = field(default_factory=list)  # (block, row, column)
    parent: list[int] = field(default_factory=list)  # union-find over families
    equations: list[np.ndarray] = field(default_factory=list)  # [total, part, part, ...]

    def block(
        self,
        name: str,
        frame: pd.DataFrame,
        columns: Sequence[str],
        counts: set[str],
        *,
        hideable: bool = True,
        printed: bool = True,
        total: bool = False,
    ) -> np.ndarray:
        """Add one cell per (row, column) of ``frame``; return their ids as a rows x columns array."""
        ids = np.empty((len(frame), len(columns)), dtype=np.int64)
        for i in range(len(frame)):
            for j, col in enumerate(columns):
                value = int(frame[col].iloc[i])
                cell = len(self.values)
                ids[i, j] = cell
                self.values.append(value)
                self.count.append(col in counts)
                # A never-printed remainder that is zero is known to be zero: not a complement.
                self.hideable.append(hideable and (printed or value != 0))
                self.printed.append(printed)
                self.total.append(total)
                self.labels.append((name, i, col))
                self.parent.append(cell)
        return ids

    def equation(self, total: int, parts: Sequence[int]) -> None:
        self.equations.append(np.asarray([total, *parts], dtype=np.int64))

    def link(self, a: int, b: int) -> None:
        ra, rb = self._find(a), self._find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def _find(self, a: int) -> int:
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def families(self) -> np.ndarray:
        return np.array([self._find(i) for i in range(len(self.values))], dtype=np.int64)


def _row_links(
    sys: _System,
    ids: np.ndarray,
    columns: Sequence[str],
    linked: Mapping[str, str],
    row_totals: Mapping[str, Sequence[str]],
) -> None:
    """Families of linked columns and row-total equations, for every row of a block."""
    pos = {c: j for j, c in enumerate(columns)}
    for i in range(ids.shape[0]):
        for col, count in linked.items():
            sys.link(int(ids[i, pos[count]]), int(ids[i, pos[col]]))
        for tot, parts in row_totals.items():
            sys.equation(int(ids[i, pos[tot]]), [int(ids[i, pos[p]]) for p in parts])


def _sum_equations(sys: _System, total_ids: np.ndarray, part_ids: np.ndarray) -> None:
    """One equation per column: ``total_ids[j] = sum(part_ids[:, j])``."""
    for j in range(len(total_ids)):
        sys.equation(int(total_ids[j]), [int(c) for c in part_ids[:, j]])


# --------------------------------------------------------------------------------------------
# Protection: primary, complements, interval check.
# --------------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    hidden: np.ndarray
    reason: np.ndarray  # "", "primary", "secondary", "linked"
    unprotected: list[int]
    small_published: list[int]


class _State:
    """Hidden cells and, per equation, how many of its cells are hidden."""

    def __init__(self, sys: _System) -> None:
        self.sys = sys
        n = len(sys.values)
        self.values = np.asarray(sys.values, dtype=np.int64)
        self.hideable = np.asarray(sys.hideable, dtype=bool)
        # A lone part under a total that is never hidden equals it: hiding it would be useless.
        changed = True
        while changed:
            changed = False
            for cells in sys.equations:
                if len(cells) == 2 and not self.hideable[cells[0]] and self.hideable[cells[1]]:
                    self.hideable[cells[1]] = False
                    changed = True
        self.printed = np.asarray(sys.printed, dtype=bool)
        self.total = np.asarray(sys.total, dtype=bool)
        self.family = sys.families()
        order = np.argsort(self.family, kind="stable")
        bounds = np.flatnonzero(np.diff(self.family[order])) + 1
        self.members = {
            int(self.family[chunk[0]]): chunk for chunk in np.split(order, bounds) if len(chunk)
        }
        self.eqs_of: list[list[int]] = [[] for _ in range(n)]
        for e, cells in enumerate(sys.equations):
            for c in cells:
                self.eqs_of[int(c)].append(e)
        self.hidden = np.zeros(n, dtype=bool)
        self.hcount = np.zeros(len(sys.equations), dtype=np.int64)
        self.reason = np.full(n, "", dtype=object)

    def hide_family(self, cell: int, why: str) -> None:
        root = int(self.family[cell])  # the family's count cell (counts come first)
        for c in self.members[root]:
            c = int(c)
            if self.hidden[c]:
                continue
            self.hidden[c] = True
            self.reason[c] = why if c == root else "linked"
            if self.values[c] != 0:  # a hidden zero is still known to be zero
                for e in self.eqs_of[c]:
                    self.hcount[e] += 1

    def score(self, cell: int) -> tuple:
        """Preference of ``cell`` as a complement (smaller is better)."""
        touched: dict[int, int] = {}
        for c in self.members[int(self.family[cell])]:
            if self.values[c] == 0:
                continue
            for e in self.eqs_of[int(c)]:
                touched[e] = touched.get(e, 0) + 1
        created = sum(1 for e, m in touched.items() if self.hcount[e] == 0 and m == 1)
        fixed = sum(1 for e in touched if self.hcount[e] == 1)
        v = int(self.values[cell])
        return (bool(self.printed[cell]), bool(self.total[cell]), created - fixed, abs(v), cell)

    def best_candidate(self, equations: Sequence[int]) -> int | None:
        best: tuple | None = None
        for e in equations:
            for c in self.sys.equations[e]:
                c = int(c)
                if self.hidden[c] or not self.hideable[c] or self.values[c] == 0:
                    continue
                # The whole family must be hideable.
                if not self.hideable[self.members[int(self.family[c])]].all():
                    continue
                s = self.score(c)
                if best is None or s < best:
                    best = s
        return None if best is None else int(best[-1])


def _settle(state: _State, stuck: set[int], unprotected: list[int], sensitive: np.ndarray) -> None:
    """Hide complements until no equation has exactly one hidden non-zero cell (or none can be
    found: a sensitive lone cell is then unprotected; a lone complement may be worked out, which
    is harmless unless it pins a sensitive cell, as the interval check will tell)."""
    while True:
        singles = [int(e) for e in np.flatnonzero(state.hcount == 1) if int(e) not in stuck]
        if not singles:
            return
        e = singles[0]
        cand = state.best_candidate([e])
        if cand is None:
            stuck.add(e)
            cells = state.sys.equations[e]
            lone = int(cells[state.hidden[cells] & (state.values[cells] != 0)][0])
            if sensitive[lone] and lone not in unprotected:
                unprotected.append(lone)
            continue
        state.hide_family(cand, "secondary")


def _protect(sys: _System, *, k: int, min_width: float, upper: bool,
             forced: np.ndarray | None = None) -> _Outcome:
    """Hide the small cells, then complements until every sensitive hidden cell's feasible
    interval is wide enough. ``forced``: cells hidden from the start whatever their value
    (reason ``"forced"``), and protected as small cells are (their interval must be wide):
    a table linked to another, whose cells would give the other's hidden cells back."""
    if k < 1:
        raise DisclosureError(f"k must be a positive number of households, got {k}.")
    state = _State(sys)
    count = np.asarray(sys.count, dtype=bool)
    small = count & (state.values > 0) & (state.values < k)
    small_published = [int(c) for c in np.flatnonzero(small & ~state.hideable)]
    primary = small & state.hideable
    for c in np.flatnonzero(primary):
        state.hide_family(int(c), "primary")
    for c in np.flatnonzero(primary):
        state.reason[int(c)] = "primary"  # also when a linked family member hid it first
    linked = np.zeros(len(state.values), dtype=bool) if forced is None else (
        np.asarray(forced, dtype=bool) & state.hideable & ~primary)
    for c in np.flatnonzero(linked):
        state.hide_family(int(c), "forced")
        state.reason[int(c)] = "forced"
    # Sensitive: the non-zero cells of a small count's family (its money and people reveal it),
    # and of a forced cell's. Complements (counts of k or more) may be pinned without
    # disclosing anything by themselves.
    sensitive = np.isin(state.family, state.family[primary | linked]) & (state.values != 0)
    stuck: set[int] = set()
    unprotected: list[int] = []
    given_up: set[int] = set()
    cache: dict = {}
    while True:
        _settle(state, stuck, unprotected, sensitive)
        lo, hi, binding = _bounds(sys, state.hidden, cache, only=sensitive, quick=min_width)
        weak = [
            int(c)
            for c in np.flatnonzero(state.hidden)
            if int(c) not in given_up
            and sensitive[c]
            and (hi[c] - lo[c] < min_width - 1e-6 or (upper and primary[c] and hi[c] < k - 1e-6))
        ]
        if not weak:
            break
        cell = weak[0]
        # Widen the interval through an equation that bounds it (LP duals), else any of its own.
        cand = state.best_candidate(binding.get(cell) or state.eqs_of[cell])
        if cand is None:
            cand = state.best_candidate(state.eqs_of[cell])
        if cand is None:
            given_up.add(cell)
            if cell not in unprotected:
                unprotected.append(cell)
            continue
        state.hide_family(cand, "secondary")
    return _Outcome(state.hidden, state.reason, unprotected, small_published)


def _bounds(
    sys: _System,
    hidden: np.ndarray,
    cache: dict | None = None,
    only: np.ndarray | None = None,
    quick: float | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[int, list[int]]]:
    """Feasible interval of every hidden cell given the published cells and all equations.

    Visible cells get their own value as both bounds, and so do hidden zeros: zero cells are
    not sensitive and may be known from outside (Islamabad's provincial share is always zero),
    so they protect nothing. Hidden cells are split into connected components (cells that share
    an equation) and each is solved on its own (``cache`` keeps solved components between
    calls); with ``only``, just those cells are solved, and ``quick`` is passed on to
    :func:`_solve_component`. Also returns, per solved cell, the
    equations that bind its minimum or maximum.
    """
    values = np.asarray(sys.values, dtype=np.float64)
    hidden = hidden & (values != 0)
    lo = values.copy()
    hi = values.copy()
    binding: dict[int, list[int]] = {}
    cells = np.flatnonzero(hidden)
    if len(cells) == 0:
        return lo, hi, binding
    lo[cells] = 0.0
    hi[cells] = np.inf
    # Union-find over hidden cells sharing an equation.
    parent = {int(c): int(c) for c in cells}

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    active = []
    for e, eq in enumerate(sys.equations):
        h = [int(c) for c in eq if hidden[c]]
        if not h:
            continue
        active.append(e)
        root = find(h[0])
        for c in h[1:]:
            r = find(c)
            if r != root:
                parent[r] = root
    comp_eqs: dict[int, list[int]] = {}
    for e in active:
        first = next(int(c) for c in sys.equations[e] if hidden[c])
        comp_eqs.setdefault(find(first), []).append(e)
    comp_cells: dict[int, list[int]] = {}
    for c in cells:
        comp_cells.setdefault(find(int(c)), []).append(int(c))
    for root, members in comp_cells.items():
        eqs = comp_eqs.get(root, [])
        if not eqs:
            continue  # in no published equation: [0, inf)
        key = (tuple(members), tuple(eqs))
        if cache is not None and key in cache:
            solved = cache[key]
        else:
            wanted = members if only is None else [c for c in members if only[c]]
            solved = (
                _solve_component(sys, values, hidden, members, eqs, wanted, quick) if wanted else {}
            )
            if cache is not None:
                cache[key] = solved
        for c, (low, high, bind) in solved.items():
            lo[c], hi[c] = low, high
            binding[c] = bind
    return lo, hi, binding


def _solve_component(
    sys: _System,
    values: np.ndarray,
    hidden: np.ndarray,
    members: list[int],
    eqs: list[int],
    wanted: list[int],
    quick: float | None = None,
) -> dict[int, tuple[float, float, list[int]]]:
    """Minimum, maximum and binding equations of the ``wanted`` cells of one component.

    With ``quick``, the minimum is not solved (reported as 0) when the maximum already lies
    ``quick`` or more above the cell's value: the interval is then at least that wide.
    """
    index = {c: i for i, c in enumerate(members)}
    a_eq = np.zeros((len(eqs), len(members)))
    b_eq = np.zeros(len(eqs))
    for r, e in enumerate(eqs):
        for pos, c in enumerate(sys.equations[e]):
            coef = -1.0 if pos == 0 else 1.0
            if hidden[c]:
                a_eq[r, index[int(c)]] += coef
            else:
                b_eq[r] -= coef * values[c]
    out: dict[int, tuple[float, float, list[int]]] = {}
    if len(eqs) == 1:
        # One equation sum(a_i x_i) = b with a_i = +-1 and x >= 0, solved by hand: with s = a_c,
        # x_c = s b - (same-sign others) + (opposite-sign others).
        a = a_eq[0]
        for c in wanted:
            i = index[c]
            s = a[i]
            same = np.delete(a, i) == s
            opposite = np.delete(a, i) == -s
            low = 0.0 if same.any() else max(0.0, s * b_eq[0])
            high = np.inf if opposite.any() else s * b_eq[0]
            out[c] = (low, high, [eqs[0]])
        return out
    matrix = sparse.csr_array(a_eq) if a_eq.size > 40_000 else a_eq
    for c in wanted:
        obj = np.zeros(len(members))
        obj[index[c]] = 1.0
        high = linprog(-obj, A_eq=matrix, b_eq=b_eq, bounds=(0, None), method="highs")
        hi = float(-high.fun) if high.status == 0 else np.inf
        results = [high]
        if quick is not None and hi - values[c] >= quick:
            lo = 0.0  # not solved: the interval is at least hi - value >= quick wide anyway
        else:
            low = linprog(obj, A_eq=matrix, b_eq=b_eq, bounds=(0, None), method="highs")
            results.append(low)
            lo = float(low.fun) if low.status == 0 else 0.0
        if any(res.status == 2 for res in results):
            raise DisclosureError(
                "the published totals are inconsistent with the table (no non-negative "
                "solution); check that the totals are the sums of the rows."
            )
        duals = np.zeros(len(eqs))
        for res in results:
            if res.status == 0 and getattr(res, "eqlin", None) is not None:
                duals += np.abs(np.asarray(res.eqlin.marginals))
        out[c] = (lo, hi, [eqs[r] for r in np.flatnonzero(duals > 1e-9)])
    return out


_RULES = [
    "Count cells with 0 < households < k are hidden (primary); zero cells are shown.",
    "Money and people columns are hidden with the household count they reveal.",
    "No published total has exactly one hidden cell among its parts: a second cell is hidden "
    "(complementary), preferring rows to totals, the fewest new exposures, then the smallest; "
    "hidden zeros count as known.",
    "Every hidden small count, and the money and people linked to it, has a feasible interval "
    "(linear programming over all published totals, cells >= 0) at least min_width wide and, "
    "with upper, a maximum of at least k; otherwise more cells are hidden.",
    "Grand (national) totals are never hidden; a group with one row hides its group total too.",
]


def _report(sys: _System, out: _Outcome, *, k: int, min_width: float, upper: bool) -> dict:
    hidden = np.flatnonzero(out.hidden)
    printed = np.asarray(sys.printed, dtype=bool)
    cells = [
        {"block": sys.labels[c][0], "row": int(sys.labels[c][1]), "column": sys.labels[c][2],
         "reason": str(out.reason[c])}
        for c in hidden
        if printed[c]
    ]
    tally = {r: sum(1 for x in cells if x["reason"] == r) for r in ("primary", "secondary", "linked", "forced")}

    def label(c: int) -> dict:
        block, row, col = sys.labels[c]
        return {"block": block, "row": int(row), "column": col, "value_under_k": True}

    for c in out.small_published:
        log.warning("published grand total %s is under k=%d households", sys.labels[c][2], k)
    for c in out.unprotected:
        log.warning("hidden cell %s cannot be protected from the published totals", sys.labels[c])
    return {
        "k": k,
        "min_width": min_width,
        "upper": upper,
        "zero_cells": "shown",
        "hidden_cells": len(cells),
        **tally,
        "cells": cells,
        "unprotected": [
            {"block": sys.labels[c][0], "row": int(sys.labels[c][1]), "column": sys.labels[c][2]}
            for c in out.unprotected
        ],
        "small_published": [label(c) for c in out.small_published],
        "rules": list(_RULES),
    }
