"""Disclosure control of published outputs: cell-key perturbation, then small-cell suppression.

Published outputs (the minister's view, the PDF brief, the GeoJSON export, the map's hexagons)
are first perturbed by the ABS cell-key method (:mod:`simulator.publish.disclosure.cellkey`:
its method, parameters, the attacker's test and references), so that two publications from
registries differing by one household do not give that household away, and then pass through
the small-cell suppression below (:func:`protect_plan` does both). The planner's exports stay
exact.

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

from hazards.errors import DisclosureError
from simulator.publish.disclosure.cellkey import (
    perturb_hexagons,
    perturb_plan,
    protect_plan,
    registry_key,
)
from simulator.publish.disclosure.plan import suppress_plan
from simulator.publish.disclosure.protection import K_DEFAULT, PLAN_LINKS, PLAN_ROW_TOTALS
from simulator.publish.disclosure.tables import intervals, is_recoverable, suppress

__all__ = [
    "K_DEFAULT", "PLAN_LINKS", "PLAN_ROW_TOTALS", "DisclosureError", "intervals", "is_recoverable",
    "perturb_hexagons", "perturb_plan", "protect_plan", "registry_key", "suppress", "suppress_plan",
]
