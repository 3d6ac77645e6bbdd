"""Small-cell suppression of one table (districts or tehsils of a province) and what an outsider
can learn about its hidden cells: :func:`suppress`, :func:`intervals`, :func:`is_recoverable`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from hazards.errors import DisclosureError
from simulator.publish.disclosure.plan import _plan_system
from simulator.publish.disclosure.protection import (
    K_DEFAULT,
    PLAN_LINKS,
    PLAN_ROW_TOTALS,
    _bounds,
    _protect,
    _report,
    _row_links,
    _sum_equations,
    _System,
)

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
    published = _hide(table, columns, rows, out.hidden)
    report = _report(sys, out, k=int(k), min_width=min_width, upper=upper)
    if gids is not None:
        report["totals"] = _group_totals(sys, out.hidden, columns, group_column, groups, gids)
    if grand is not None:
        report["grand_total"] = {c: int(sys.values[grand[0, j]]) for j, c in enumerate(columns)}
    return published, report


def _hide(table: pd.DataFrame, columns: list[str], rows: np.ndarray, hidden: np.ndarray) -> pd.DataFrame:
    """A copy of ``table`` with ``columns`` as nullable integers, ``<NA>`` in hidden cells."""
    published = table.copy()
    for j, col in enumerate(columns):
        values = published[col].astype("Int64")
        mask = hidden[rows[:, j]]
        published[col] = values.mask(pd.Series(mask, index=published.index))
    return published


def _group_totals(sys: _System, hidden: np.ndarray, columns: list[str], group_column: str,
                  groups, gids: np.ndarray) -> list[dict]:
    """Each group's published totals, ``None`` where a total is hidden."""
    return [
        {
            group_column: _jsonable(g),
            **{c: None if hidden[gids[i, j]] else int(sys.values[gids[i, j]]) for j, c in enumerate(columns)},
        }
        for i, g in enumerate(groups)
    ]


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
        sys, hidden = _table_hidden(published, original, count_columns=count_columns,
                                    group_column=group_column, total_row=total_row, linked=linked,
                                    row_totals=row_totals, totals=totals)
    lo, hi, _ = _bounds(sys, hidden)
    return _interval_rows(sys, hidden, lo, hi, min_width=min_width, k=k)


def _table_hidden(published: pd.DataFrame, original: pd.DataFrame, *, count_columns, group_column,
                  total_row, linked, row_totals, totals) -> tuple[_System, np.ndarray]:
    """The system of ``original`` (see :func:`_table_system`) and which of its cells
    ``published`` (and the published group ``totals``) hide."""
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
    return sys, hidden


def _interval_rows(sys: _System, hidden: np.ndarray, lo: np.ndarray, hi: np.ndarray, *,
                   min_width: float, k: int) -> pd.DataFrame:
    """One row per hidden cell with its feasible interval and whether it discloses (see
    :func:`intervals`)."""
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
