"""Small-cell suppression for published tables of household counts (statistical disclosure control).

What is published (the minister view, the PDF brief, the GeoJSON export, the plan's district and
tehsil tables) must not show a count of fewer than ``k`` households, nor let anyone work one out
from the row, column and group totals printed beside it.

Rules
-----
Primary suppression
    A count cell (a ``*_households`` column) is hidden when ``0 < value < k`` (``k = 10`` by
    default). **Zero cells are shown**: "no household of this kind here" says nothing about any
    household, and hiding zeros would blank most of a district table for no protection. This is
    the usual convention of statistical offices. The other side of the rule: a zero is treated as
    known even where it is hidden (a zero money cell beside a hidden count, Islamabad's
    provincial share, which is zero by rule), so zeros never serve as complements and never count
    as protection.
Linked cells
    Money and people columns are hidden together with the count they follow (``PLAN_LINKS``:
    ``amount_pkr``, ``federal_pkr``, ``provincial_pkr`` and ``paid_people`` with
    ``paid_households`` and so on), because money divided by the transfer value, or people
    divided by household size, gives the count back. A count and its linked cells form one
    *family* that is always hidden as a unit.
Secondary (complementary) suppression
    Every published total is a linear equation over cells: a group total (a province) is the sum
    of its rows (districts), the grand total (the nation) is the sum of the group totals, and a row
    total (``row_totals``, such as ``eligible = paid + over_budget``) is the sum of its parts in
    every row. An equation with exactly one hidden cell gives that cell away by subtraction, so a
    second non-zero cell of the same equation is hidden, and the check repeats over every equation
    until none has exactly one hidden non-zero cell. The complement is chosen, in this order: a
    cell that is never printed anyway (the derivable remainder of districts missing from the
    plan's list), a row before a group total (totals stay published as long as possible), the
    cell whose hiding creates the fewest new one-hidden-cell equations (and closes the most), then
    the smallest value.
Interval check
    Two hidden cells per equation is necessary but not sufficient. After the equations settle, the
    feasible interval of every hidden non-zero cell is computed by linear programming
    (:func:`scipy.optimize.linprog`, minimising and maximising the cell subject to every published
    equation and to cells being non-negative; a component held together by one equation is solved
    by hand). A cell whose interval is narrower than ``min_width`` (1 by default: its minimum and
    maximum must differ) is *pinned*. With ``upper`` (the default) a primary cell must also be
    able to reach ``k``: if two hidden cells of 3 and 4 households had a derivable sum of 7, both
    would be known to be small. Either way another cell of an equation that bounds the cell (a
    non-zero dual of the linear programme) is hidden and the whole process repeats. Only
    *sensitive* cells must stay unpinned: small counts and the money and people linked to them. A
    complement of ``k`` or more households may end up worked out, which discloses nothing by
    itself (the check would catch it if it pinned a small cell).
Groups with a single row
    The row equals its group total (Islamabad Capital Territory is one district): hiding the row
    forces hiding the group total for that column, which in turn forces a second group total and a
    row under it. Groups are not merged, so the table keeps its shape.
Grand totals
    Are never hidden ("national totals stay published"), nor is a group total equal to one (a
    table with a single group). A grand-total cell under ``k`` is left
    published and listed under ``small_published`` in the report (and logged); a cell that could
    only be protected by hiding a grand total is listed under ``unprotected``.

Limits: only equalities are modelled. Nested columns (``affected >= eligible >= paid``) are not
equations, so a small difference such as "affected but not eligible" can still be derived from two
published counts; declare such a relation in ``row_totals`` when it matters. Known ratios (under
the ``fixed`` rule ``federal_pkr`` is a set share of ``amount_pkr``; a flat transfer makes
``amount_pkr`` a multiple of ``paid_households``) are not modelled: a money column is hidden with
its count, so such a ratio only rescales an interval the count's protection already keeps wide.
The interval check is the linear relaxation: it can miss a cell pinned only by integrality (rare
outside 3-way tables).
"""

from __future__ import annotations

import copy
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


def _protect(sys: _System, *, k: int, min_width: float, upper: bool) -> _Outcome:
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
    # Sensitive: the non-zero cells of a small count's family (its money and people reveal it).
    # Complements (counts of k or more) may be pinned without disclosing anything by themselves.
    sensitive = np.isin(state.family, state.family[primary]) & (state.values != 0)
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


# --------------------------------------------------------------------------------------------
# DataFrames: suppress, intervals, is_recoverable.
# --------------------------------------------------------------------------------------------


def _columns(
    table: pd.DataFrame,
    count_columns: Sequence[str],
    linked: Mapping[str, str] | None,
    row_totals: Mapping[str, Sequence[str]] | None,
) -> tuple[list[str], set[str], dict[str, str], dict[str, tuple[str, ...]]]:
    counts = list(count_columns)
    if not counts:
        raise DisclosureError("count_columns is empty; name the household-count columns to protect.")
    if linked is None:
        linked = {c: n for c, n in PLAN_LINKS.items() if c in table.columns and n in counts}
    if row_totals is None:
        row_totals = {
            t: tuple(p)
            for t, p in PLAN_ROW_TOTALS.items()
            if all(c in table.columns for c in (t, *p))
        }
    linked = dict(linked)
    row_totals = {t: tuple(p) for t, p in row_totals.items()}
    for col, count in linked.items():
        if count not in counts:
            raise DisclosureError(
                f"linked column {col!r} follows {count!r}, which is not in count_columns {counts}."
            )
    columns = counts + [c for c in linked if c not in counts]
    for t, parts in row_totals.items():
        for c in (t, *parts):
            if c not in columns:
                raise DisclosureError(
                    f"row_totals {t!r} = {' + '.join(parts)}: column {c!r} is neither a count nor "
                    f"a linked column; add it to count_columns or linked."
                )
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DisclosureError(f"columns {missing} are not in the table (it has {list(table.columns)}).")
    for c in columns:
        col = table[c]
        if col.isna().any():
            raise DisclosureError(f"column {c!r} has missing values; pass the unsuppressed table.")
        if (col < 0).any():
            raise DisclosureError(f"column {c!r} has negative values; counts and amounts must be >= 0.")
    return columns, set(counts), linked, row_totals


def _table_system(
    table: pd.DataFrame,
    columns: list[str],
    counts: set[str],
    linked: dict[str, str],
    row_totals: dict[str, tuple[str, ...]],
    group_column: str | None,
    total_row: bool,
) -> tuple[_System, np.ndarray, np.ndarray | None, list, np.ndarray | None]:
    """Cells of a table, its group totals and grand total, with every published equation."""
    sys = _System()
    frame = table.reset_index(drop=True)
    rows = sys.block("row", frame, columns, counts)
    _row_links(sys, rows, columns, linked, row_totals)
    groups: list = []
    gids = None
    grand = None
    if total_row:
        if group_column is not None:
            if group_column not in frame.columns:
                raise DisclosureError(f"group_column {group_column!r} is not a column of the table.")
            codes, uniques = pd.factorize(frame[group_column], sort=True)
            groups = list(uniques)
            gframe = frame.groupby(codes, sort=True)[columns].sum()
            gids = sys.block("total", gframe, columns, counts, total=True)
            _row_links(sys, gids, columns, linked, row_totals)
            for g in range(len(groups)):
                _sum_equations(sys, gids[g], rows[codes == g])
            parts = gids
        else:
            parts = rows
        grand_frame = frame[columns].sum().to_frame().T
        grand = sys.block("grand", grand_frame, columns, counts, hideable=False, total=True)
        _row_links(sys, grand, columns, linked, row_totals)
        _sum_equations(sys, grand[0], parts)
    return sys, rows, gids, groups, grand


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    return value


def suppress(
    table: pd.DataFrame,
    *,
    count_columns: Sequence[str],
    k: int = K_DEFAULT,
    group_column: str | None = "province_code",
    total_row: bool = True,
    linked: Mapping[str, str] | None = None,
    row_totals: Mapping[str, Sequence[str]] | None = None,
    min_width: float = 1.0,
    upper: bool = True,
) -> tuple[pd.DataFrame, dict]:
    """Hide small counts and enough other cells that none can be worked back from the totals.

    Parameters
    ----------
    table
        One row per area (district, tehsil) with non-negative integer columns.
    count_columns
        Household-count columns [households]: the primary rule applies to them.
    k
        Smallest count that may be shown [households]; cells with ``0 < value < k`` are hidden.
    group_column
        Rows are grouped by this column (districts within a province) and, with ``total_row``,
        every group's column totals are published. ``None``: one group, the whole table.
    total_row
        Whether column totals are published: per group and a grand total over all rows. Without
        it, only ``row_totals`` relate cells.
    linked
        Columns hidden together with a count: ``{"amount_pkr": "paid_households", ...}``.
        ``None`` uses :data:`PLAN_LINKS` for the columns present; ``{}`` links nothing.
    row_totals
        Row relations ``{total_column: (part, part, ...)}`` that hold in every row and are
        published. ``None`` uses :data:`PLAN_ROW_TOTALS` where all its columns are present.
    min_width
        A hidden cell is protected when its feasible interval is at least this wide [cell units].
    upper
        Also require every primary cell's feasible maximum to reach ``k``, so that the published
        totals do not even tell that the cell is small (two hidden cells of 3 and 4 households
        whose sum can be derived would otherwise both be known to be under 8).

    Returns
    -------
    published : pandas.DataFrame
        A copy of ``table`` whose count and linked columns are nullable integers (``Int64``)
        with ``<NA>`` in every hidden cell.
    report : dict
        JSON-ready: ``k``, counts of ``primary``, ``secondary`` and ``linked`` cells, ``cells``
        (row position, column, reason), ``totals`` (each group's published totals, ``None``
        where hidden), ``grand_total``, ``unprotected`` and ``small_published`` (grand-total
        cells under ``k``, which stay published), and ``rules`` (a sentence each).

    Raises
    ------
    DisclosureError
        Unknown or missing columns, missing or negative values, ``k < 1``.
    """
    columns, counts, linked_map, rt = _columns(table, count_columns, linked, row_totals)
    sys, rows, gids, groups, grand = _table_system(
        table, columns, counts, linked_map, rt, group_column, total_row
    )
    out = _protect(sys, k=int(k), min_width=min_width, upper=upper)
    published = table.copy()
    for j, col in enumerate(columns):
        values = published[col].astype("Int64")
        mask = out.hidden[rows[:, j]]
        values = values.mask(pd.Series(mask, index=published.index))
        published[col] = values
    report = _report(sys, out, k=int(k), min_width=min_width, upper=upper)
    if gids is not None:
        report["totals"] = [
            {
                group_column: _jsonable(g),
                **{c: None if out.hidden[gids[i, j]] else int(sys.values[gids[i, j]])
                   for j, c in enumerate(columns)},
            }
            for i, g in enumerate(groups)
        ]
    if grand is not None:
        report["grand_total"] = {c: int(sys.values[grand[0, j]]) for j, c in enumerate(columns)}
    return published, report


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
    tally = {r: sum(1 for x in cells if x["reason"] == r) for r in ("primary", "secondary", "linked")}

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


def _hidden_from(published: pd.DataFrame, columns: list[str]) -> np.ndarray:
    return published[columns].isna().to_numpy()


def intervals(
    published,
    original,
    *,
    count_columns: Sequence[str] | None = None,
    group_column: str | None = "province_code",
    total_row: bool = True,
    linked: Mapping[str, str] | None = None,
    row_totals: Mapping[str, Sequence[str]] | None = None,
    totals: pd.DataFrame | Sequence[Mapping] | None = None,
    min_width: float = 1.0,
    k: int = K_DEFAULT,
) -> pd.DataFrame:
    """What an outsider can learn about each hidden cell from everything published beside it.

    Each hidden cell is minimised and maximised by linear programming subject to the published
    cells, every published total (group and grand totals, row totals) and non-negativity.

    Parameters
    ----------
    published
        The suppressed table (hidden cells are ``<NA>``), or a plan dict from :func:`suppress_plan`.
    original
        The same table (or plan dict) before suppression: it supplies the true values and the
        published totals.
    count_columns, group_column, total_row, linked, row_totals
        As given to :func:`suppress` (ignored for plan dicts).
    totals
        The published group totals (``report["totals"]`` of :func:`suppress`), ``None`` where a
        total is hidden. ``None``: every group total is published.
    min_width
        Narrower intervals are *pinned* [cell units].
    k
        Smallest count that may be shown: a hidden count under ``k`` is ``small``, and
        ``reaches_k`` says whether its feasible maximum reaches ``k``.

    Returns
    -------
    pandas.DataFrame
        One row per hidden cell: ``block``, ``row``, ``column``, ``value``, ``lo``, ``hi``,
        ``pinned`` (non-zero and narrower than ``min_width``), ``sensitive`` (a count under
        ``k`` or a money or people cell linked to one), ``disclosed`` (pinned and sensitive: a
        complement of ``k`` or more households may be pinned without disclosing a small cell),
        ``small`` and ``reaches_k``. Hidden zeros count as known (``lo = hi = nan``).
    """
    if isinstance(published, Mapping):
        sys, hidden = _plan_system(original, published=published)
    else:
        if count_columns is None:
            raise DisclosureError("count_columns is required for a table.")
        columns, counts, linked_map, rt = _columns(original, count_columns, linked, row_totals)
        sys, rows, gids, groups, grand = _table_system(
            original, columns, counts, linked_map, rt, group_column, total_row
        )
        hidden = np.zeros(len(sys.values), dtype=bool)
        mask = _hidden_from(published.reset_index(drop=True), columns)
        hidden[rows[mask]] = True
        if gids is not None and totals is not None:
            tframe = pd.DataFrame(list(totals) if not isinstance(totals, pd.DataFrame) else totals)
            tframe = tframe.set_index(group_column)
            for i, g in enumerate(groups):
                for j, c in enumerate(columns):
                    if pd.isna(tframe.loc[g, c]):
                        hidden[gids[i, j]] = True
    lo, hi, _ = _bounds(sys, hidden)
    values = np.asarray(sys.values, dtype=np.int64)
    small_cells = np.asarray(sys.count, dtype=bool) & (values > 0) & (values < k)
    family = sys.families()
    sensitive = np.isin(family, family[small_cells]) & (values != 0)
    rows_out = []
    for c in np.flatnonzero(hidden):
        block, row, col = sys.labels[c]
        v = int(values[c])
        low, high = (float(lo[c]), float(hi[c])) if v != 0 else (np.nan, np.nan)
        pinned = bool(v != 0 and high - low < min_width - 1e-6)
        small = bool(small_cells[c])
        rows_out.append(
            {"block": block, "row": int(row), "column": col, "value": v, "lo": low, "hi": high,
             "pinned": pinned, "sensitive": bool(sensitive[c]),
             "disclosed": pinned and bool(sensitive[c]), "small": small,
             "reaches_k": bool(not small or high >= k - 1e-6)}
        )
    return pd.DataFrame(
        rows_out,
        columns=["block", "row", "column", "value", "lo", "hi", "pinned", "sensitive", "disclosed",
                 "small", "reaches_k"],
    )


def is_recoverable(published, original, **options) -> bool:
    """True when a hidden small count (or money or people linked to one) can be worked out
    exactly from what is published.

    Takes the same arguments as :func:`intervals` (a table with its options, or two plan dicts).
    """
    return bool(intervals(published, original, **options).disclosed.any())


# --------------------------------------------------------------------------------------------
# Plans.
# --------------------------------------------------------------------------------------------


def _plan_columns(plan: dict) -> tuple[list[str], set[str], dict[str, str], dict[str, tuple[str, ...]]]:
    figures = [c for c in plan["totals"] if isinstance(plan["totals"][c], (int, np.integer))]
    counts = [c for c in figures if c == "households" or c.endswith("_households")]
    linked: dict[str, str] = {}
    for c in figures:
        if c in counts:
            continue
        if c in PLAN_LINKS and PLAN_LINKS[c] in counts:
            linked[c] = PLAN_LINKS[c]
        elif c.endswith("_people") and c.replace("_people", "_households") in counts:
            linked[c] = c.replace("_people", "_households")
        elif c.endswith("_pkr") and "paid_households" in counts:
            log.warning("money column %s is not in PLAN_LINKS; hidden with paid_households", c)
            linked[c] = "paid_households"
        else:
            counts.append(c)  # unknown figure: treated as a count (the cautious choice)
    row_totals = {
        t: p for t, p in PLAN_ROW_TOTALS.items() if all(c in figures for c in (t, *p))
    }
    columns = counts + list(linked)
    return columns, set(counts), linked, row_totals


def _frame(records: list[dict], columns: list[str], level: str) -> pd.DataFrame:
    frame = pd.DataFrame(records)
    if frame.empty:
        return pd.DataFrame(columns=columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DisclosureError(f"plan {level}: columns {missing} are missing.")
    return frame


def _plan_system(plan: dict, *, published: dict | None = None) -> tuple[_System, np.ndarray]:
    """The plan's cells (national, provinces, districts, tehsils and the derivable remainders of
    unlisted districts and tehsils) and equations; with ``published``, which cells it hides."""
    columns, counts, linked, row_totals = _plan_columns(plan)
    sys = _System()
    blocks: dict[str, tuple[pd.DataFrame, np.ndarray]] = {}

    def add(name: str, frame: pd.DataFrame, **flags) -> np.ndarray:
        if frame[columns].isna().to_numpy().any():
            raise DisclosureError(
                f"plan {name} already has hidden (null) cells; pass the unsuppressed plan."
            )
        ids = sys.block(name, frame, columns, counts, **flags)
        _row_links(sys, ids, columns, linked, row_totals)
        blocks[name] = (frame, ids)
        return ids

    national = pd.DataFrame([{c: plan["totals"][c] for c in columns}])
    nat = add("national", national, hideable=False, total=True)
    provinces = _frame(plan.get("provinces", []), ["province_code", *columns], "provinces")
    districts = _frame(plan.get("districts", []), ["district_id", "province_code", *columns], "districts")
    tehsils = _frame(plan.get("tehsils", []), ["district_id", "tehsil_id", *columns], "tehsils")
    prov = add("provinces", provinces, total=True)
    _check_sum(national[columns].iloc[0], provinces[columns].sum(), "provinces", "the national totals")
    _sum_equations(sys, nat[0], prov)
    dist = add("districts", districts)
    _nest(sys, add, "provinces", provinces, prov, "province_code", districts, dist, columns)
    if len(tehsils):
        teh = add("tehsils", tehsils)
        _nest(sys, add, "districts", districts, dist, "district_id", tehsils, teh, columns)
    hidden = np.zeros(len(sys.values), dtype=bool)
    if published is not None:
        for name in ("provinces", "districts", "tehsils"):
            if name not in blocks:
                continue
            frame, ids = blocks[name]
            pub = _frame(published.get(name, []), columns, f"published {name}")
            if len(pub) != len(frame):
                raise DisclosureError(f"published plan {name}: {len(pub)} rows, original {len(frame)}.")
            hidden[ids[pub[columns].isna().to_numpy()]] = True
        # A remainder is never printed: an outsider knows it only by subtraction, so it is
        # unknown (hidden) as soon as another cell of its equation is hidden, unless it is zero
        # (unlisted rows have no affected households, which the listing itself tells).
        for eq in sys.equations:
            rem = [int(c) for c in eq if not sys.printed[c]]
            if rem and any(hidden[int(c)] for c in eq if sys.printed[c]):
                for c in rem:
                    hidden[c] = sys.values[c] != 0
    return sys, hidden


def _check_sum(total: pd.Series, parts: pd.Series, what: str, of: str) -> None:
    diff = (total.astype(np.int64) - parts.astype(np.int64))
    if (diff != 0).any():
        bad = list(diff[diff != 0].index)
        raise DisclosureError(f"plan {what} do not add up to {of} in {bad}; the plan is inconsistent.")


def _nest(
    sys: _System,
    add,
    parent_name: str,
    parents: pd.DataFrame,
    parent_ids: np.ndarray,
    key: str,
    children: pd.DataFrame,
    child_ids: np.ndarray,
    columns: list[str],
) -> None:
    """Equations parent = listed children + remainder (the unlisted children, derivable and never
    printed) for every parent that has listed children or a non-zero remainder."""
    parent_keys = list(parents[key])
    unknown = sorted(set(children[key]) - set(parent_keys))
    if unknown:
        raise DisclosureError(f"plan: {key} values {unknown} have no row among the {parent_name}.")
    sums = children.groupby(key)[columns].sum()
    remainder = parents.set_index(key)[columns] - sums.reindex(parent_keys, fill_value=0)
    if (remainder < 0).to_numpy().any():
        raise DisclosureError(f"plan: listed rows exceed their {parent_name} totals; the plan is inconsistent.")
    nonzero = remainder[(remainder != 0).any(axis=1)]
    rem_ids = (
        add(f"{parent_name}-remainder", nonzero.reset_index(drop=True), printed=False)
        if len(nonzero) else np.empty((0, len(columns)), dtype=np.int64)
    )
    rem_pos = {p: i for i, p in enumerate(nonzero.index)}
    child_keys = children[key].to_numpy()
    for i, p in enumerate(parent_keys):
        members = child_ids[child_keys == p]
        if p in rem_pos:
            members = np.vstack([members, rem_ids[rem_pos[p]][None, :]])
        if len(members):
            _sum_equations(sys, parent_ids[i], members)


def suppress_plan(
    plan_dict: dict, k: int = K_DEFAULT, *, min_width: float = 1.0, upper: bool = True
) -> dict:
    """A copy of a plan safe to publish: small districts and tehsils hidden, totals kept.

    Province, district and tehsil rows are suppressed together as one hierarchy (tehsils sum to
    their district, districts to their province, provinces to the nation), with the rules of the
    module docstring. National totals and every national figure stay published; a province cell
    is hidden only when it is itself under ``k`` or is the only way to protect a district (a
    one-district province such as Islamabad). Districts and tehsils left out of the plan's lists
    (no affected households) enter as a never-printed remainder per province or district.

    Parameters
    ----------
    plan_dict
        A plan from :func:`simulator.plan.build` (not already suppressed).
    k
        Smallest household count that may be shown.
    min_width
        Smallest feasible-interval width of a hidden cell [cell units].
    upper
        Also require each hidden small cell's feasible maximum to reach ``k`` (see :func:`suppress`).

    Returns
    -------
    dict
        A deep copy with hidden cells set to ``None`` in ``provinces``, ``districts`` and
        ``tehsils``; ``cost_sharing.contributions`` amounts set to ``None`` for a benefiting
        province whose ``provincial_pkr`` is hidden (they add up to it); and a ``disclosure``
        entry with the report (see :func:`suppress`).

    Raises
    ------
    DisclosureError
        The plan's levels do not add up, or it already has hidden cells.
    """
    columns, *_ = _plan_columns(plan_dict)
    sys, _ = _plan_system(plan_dict)
    out = _protect(sys, k=int(k), min_width=min_width, upper=upper)
    plan = copy.deepcopy(plan_dict)
    for c in np.flatnonzero(out.hidden):
        block, row, col = sys.labels[c]
        if block in ("provinces", "districts", "tehsils"):
            plan[block][row][col] = None
    hidden_prov = {
        p["province_code"] for p in plan.get("provinces", []) if p.get("provincial_pkr", 0) is None
    }
    for entry in plan.get("cost_sharing", {}).get("contributions", []):
        if entry.get("benefiting_province") in hidden_prov:
            entry["amount_pkr"] = None
    report = _report(sys, out, k=int(k), min_width=min_width, upper=upper)
    report["columns"] = columns
    plan["disclosure"] = report
    return plan
