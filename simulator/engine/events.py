"""Event-set runs: a scenario's policy applied to every event of a stochastic set, exactly.

What a year of disasters costs each government needs the payouts of thousands of events, not
one. Running the household engine (:func:`simulator.engine.evaluation.evaluate`) once per event
would cost thousands of national runs. This module gets the same totals by aggregating first:

1. **Group** the registry's rows once by what an event can tell apart: the event grid's cell and,
   for impact functions with kacha and pakka curves, the housing type (:func:`exposure`).
2. **Price** each group once per severity tier with the engine's own steps (eligibility, transfer,
   dedup across programmes, cost-sharing, :mod:`simulator.engine.evaluation`), every row of the
   group at that tier: federal PKR, provincial PKR, paid and affected households, by province.
3. **Evaluate** the events as sparse matrix products (:func:`event_payouts`): for tier ``t``,
   the events x groups indicator of "this event puts this group at tier t" times the groups x
   figures table of tier ``t``. In int64 the products are sums of integers: exact.

No Python loop over households, cells or events: loops run over tiers (three), housing types
(two) and chunks of stored values (to bound memory).

Exactness, and its two stated limits
------------------------------------
* Tier rules (``threshold``, ``tiers``, or an impact function under ``affected: tier``): each
  event's federal and provincial PKR and households by province are **identical** to the
  household engine run on that event's footprint (tests/test_event_engine.py proves it on a
  sample of events and policies), because every row of a group is at the same tier in an event
  and every step of the policy after the overlay is row by row.
* Impact functions under ``affected: share`` (each household affected with the function's
  share, a seeded draw): the engine's draw makes one realisation; an event set asks what each
  event costs **in expectation**, which is ``share x`` the group's figures exactly (the draw
  is unbiased: :func:`simulator.engine.overlay.affected_counts`). These events' figures are the
  expectations, rounded to the rupee (and to the household) per event and province, federal and
  provincial each; their sum is the reported total, so the money still reconciles exactly.
* Budgets (``budget:``) are per event: an event whose entitlements stay within every ceiling is
  funded in full (the engine's rule funds everyone then). An event that meets a ceiling is
  evaluated **household by household** with the engine's own steps and the same priority queue
  (:func:`simulator.engine.budget.apply` with the events as segments), all such events together
  in vectorized batches: identical to the engine on that event (under ``share``, on the
  engine's own seeded draw).

Each event is one hazard's: the scenario hazard whose kind matches the set applies (its tiers or
impact function); the scenario's other hazards do not occur in that event. A stored value of 0
(every cell an event does not touch) must be tier 0: a tier threshold at 0 is refused.

References: the events x exposure product is CLIMADA's ``ImpactCalc`` (Aznar-Siguan and Bresch
2019, doi:10.5194/gmd-12-3085-2019), here with a social-protection policy in place of a damage
function and the exposure grouped before the product; the event loss table follows Oasis LMF's
ELT (ktools ``eltcalc``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from hazards.errors import ScenarioError
from simulator.engine import budget, evaluation, financing, overlay, targeting
from simulator.engine.aggregate import group_sum

log = logging.getLogger(__name__)

PROVINCES = financing.PROVINCES
N_PROVINCES = len(PROVINCES)
#: The figures of each event and province, in the column blocks of a group table.
FIGURES = ("federal_pkr", "provincial_pkr", "households", "affected_households")
#: Stored values handled at once (bounds memory; results do not depend on it).
CHUNK_VALUES = 30_000_000
#: Household-event pairs handled at once on the exact path of events that meet a ceiling.
CHUNK_PAIRS = 8_000_000
#: Money classes are coded in one int64 while their combinations stay below this.
MAX_CLASS_CODE = 1 << 62
#: (group, money class) pairs counted densely up to this many combinations, else sorted.
DENSE_PAIRS = 1 << 25


# ---------------------------------------------------------------------------------------------
# Exposure: the registry grouped once per event grid
# ---------------------------------------------------------------------------------------------


class RowPrices:
    """Each registry row's money at each tier, priced once for every event set of a run: a
    row's federal and provincial PKR and entitlement at a tier do not depend on the set, only
    the grouping does.

    Rows the policy cannot tell apart (:func:`money_classes`: the same province, record source,
    weight and, where the policy reads them, enrolments, categories, household size and side of
    every PMT cut-off) get the same money, so one row of each class is priced with the engine's
    steps and the rows read their class's figures: a national registry of 35 M rows has a few
    thousand classes."""

    def __init__(self, scn, cols: dict[str, np.ndarray]) -> None:
        self.scn, self.cols = scn, cols
        self._classes: tuple[np.ndarray, np.ndarray] | None = None
        self._tiers: dict[int, dict[str, np.ndarray]] = {}

    @property
    def row_class(self) -> np.ndarray:
        """Class of each row (:func:`money_classes`)."""
        if self._classes is None:
            self._classes = money_classes(self.scn, self.cols)
            log.info("event engine: %d rows in %d money classes", len(self._classes[0]),
                     len(self._classes[1]))
        return self._classes[0]

    @property
    def representatives(self) -> np.ndarray:
        """One row of each class."""
        self.row_class  # noqa: B018 - computes the classes
        return self._classes[1]

    def classes(self, tier: int) -> dict[str, np.ndarray]:
        """Each class's federal PKR, provincial PKR and entitlement of one of its rows at
        ``tier`` (before budgets), with the engine's steps."""
        entry = self._tiers.get(tier)
        if entry is None:
            rep = self.representatives
            entry = self._tiers[tier] = _money(self.scn, evaluation._rows(self.cols, rep),
                                               np.full(rep.size, tier, np.int8))
        return entry


def money_classes(scn, cols: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose money the policy cannot tell apart at any tier: ``(class of each row (int32),
    one row of each class)``.

    The steps after the overlay (:func:`_money`: eligibility, transfer, dedup, cost-sharing) read
    a row's province, record source and weight; the enrolments a programme's
    ``beneficiaries_of`` names; the categories when a programme has ``categories`` or
    ``category_pmt_max``; the household size when a transfer pays per person; and the PMT score
    only through ``pmt <= cut-off`` against the policy's cut-offs, so only the interval between
    consecutive cut-offs matters (float32, as the engine compares). Rows equal in all of these
    are paid the same at every tier; tests/test_event_engine.py checks every class against its
    rows priced one by one, for many policies.
    """
    from simulator.engine.targeting import ENROLMENT

    programmes = scn.policy.programmes
    parts: list[tuple[np.ndarray, int]] = [(cols["province"], N_PROVINCES), (cols["source"], 2)]
    for column in sorted({ENROLMENT[name] for p in programmes for name in p.beneficiaries_of}):
        parts.append((cols[column], 2))
    if any(p.categories or p.category_pmt_max for p in programmes):
        parts += [(cols["female_headed"], 2), (cols["disability"], 2), (cols["children_under5"] > 0, 2)]
    if any(p.transfer.per_person_pkr for p in programmes):
        size = cols["hh_size"].astype(np.int64)
        parts.append((size - int(size.min(initial=0)), int(np.ptp(size)) + 1 if size.size else 1))
    cuts = {np.float32(np.inf)}
    for p in programmes:
        if p.expansion != "vertical":
            cuts |= {np.float32(v) for v in (p.pmt_max, *p.pmt_max_by_province.values(),
                                              *p.category_pmt_max.values()) if v is not None}
    cuts_sorted = np.sort(np.fromiter(cuts, np.float32))
    # pmt in (cut[i-1], cut[i]] compares alike with every cut-off; NaN lands past the last
    parts.append((np.searchsorted(cuts_sorted, cols["pmt_score"].astype(np.float32), side="left"),
                  len(cuts_sorted) + 1))
    weight = cols["weight"]
    if weight.size and int(weight.min()) != int(weight.max()):
        if 0 <= int(weight.min()) and int(weight.max()) < 1 << 24:  # a dense map, no sort
            present = np.bincount(weight) > 0
            parts.append(((np.cumsum(present, dtype=np.int64) - 1)[weight], int(present.sum())))
        else:
            values, inverse = np.unique(weight, return_inverse=True)
            parts.append((inverse, len(values)))
    stride = 1
    for _, radix in parts:
        stride *= max(int(radix), 1)
    if stride >= MAX_CLASS_CODE:  # too many combinations for one int64 code: rows as tuples (slow)
        _, row_class = np.unique(np.stack([v.astype(np.int64) for v, _ in parts], axis=1),
                                 axis=0, return_inverse=True)
        row_class = row_class.reshape(-1).astype(np.int32)
        rep = np.zeros(int(row_class.max(initial=-1)) + 1, np.int64)
        rep[row_class] = np.arange(len(row_class))
        return row_class, rep
    kind = np.int32 if stride < 1 << 31 else np.int64  # half the memory traffic when it fits
    code = np.zeros(len(weight), kind)
    stride = 1
    for values, radix in parts:
        code += values.astype(kind) * kind(stride)
        stride *= max(int(radix), 1)
    if stride <= 1 << 26:  # a dense count over the codes, no sort
        present = np.bincount(code, minlength=stride) > 0
        row_class = (np.cumsum(present, dtype=np.int64) - 1)[code]
        n_classes = int(present.sum())
    else:
        _, row_class = np.unique(code, return_inverse=True)
        n_classes = int(row_class.max(initial=-1)) + 1
    row_class = row_class.astype(np.int32)
    rep = np.zeros(n_classes, np.int64)
    rep[row_class] = np.arange(len(row_class))  # any row of a class stands for it
    return row_class, rep


@dataclass
class Exposure:
    """The registry's rows grouped by event-grid cell (and housing type), priced per tier.

    Built by :func:`exposure`; reused for every event set on the same grid and hazard.
    """

    scn: object
    spec: object
    cols: dict[str, np.ndarray]
    n_groups: int
    #: Position of each grid cell's group for each housing type (int32, -1: no household).
    cell_group: np.ndarray  # (2 or 1, n_cells)
    #: Group of each registry row (-1: outside the grid or a duplicate record).
    row_group: np.ndarray
    #: The groups' rows by money class: group, class and number of rows of each pair that
    #: occurs (:func:`money_classes`), so that a group is priced from its classes' money.
    pair_group: np.ndarray
    pair_class: np.ndarray
    pair_rows: np.ndarray
    #: The rows' money classes and their money per tier, shared by the exposures of one run.
    prices: RowPrices
    #: Affected households of each group by province (tier-independent): (n_groups, 5) int64.
    affected: np.ndarray
    _priced: dict[int, np.ndarray] = field(default_factory=dict)
    _stacked: dict[tuple, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    _sorted: tuple[np.ndarray, np.ndarray] | None = None

    def stacked(self, top: int, dtype) -> tuple[np.ndarray, np.ndarray]:
        """Tiers 1..``top`` of :meth:`priced` stacked (the product's right side), as
        ``dtype``, with only the figures that are ever non-zero, and those figures' columns."""
        key = (top, np.dtype(dtype).str)
        if key not in self._stacked:
            table = np.vstack([self.priced(t) for t in range(1, top + 1)])
            used = np.flatnonzero(table.any(axis=0))  # figures of provinces with households
            self._stacked[key] = (np.ascontiguousarray(table[:, used], dtype=dtype), used)
        return self._stacked[key]

    def priced(self, tier: int) -> np.ndarray:
        """(n_groups, 20) int64: federal PKR, provincial PKR, paid households and affected
        households by province, every row of each group at ``tier`` (before budgets)."""
        if tier not in self._priced:
            self._priced[tier] = _price(self, tier)
        return self._priced[tier]

    @property
    def group_rows(self) -> np.ndarray:
        """Rows sorted by group (for the household-by-household path)."""
        return self._rows_sorted()[0]

    @property
    def group_start(self) -> np.ndarray:
        """Where each group's rows start in :attr:`group_rows` (n_groups + 1)."""
        return self._rows_sorted()[1]

    def _rows_sorted(self) -> tuple[np.ndarray, np.ndarray]:
        if self._sorted is None:
            rows = np.flatnonzero(self.row_group >= 0)
            order = rows[np.argsort(self.row_group[rows], kind="stable")]
            start = np.searchsorted(self.row_group[order], np.arange(self.n_groups + 1))
            self._sorted = (order, start)
        return self._sorted


def exposure(scn, spec, cols: dict[str, np.ndarray], event_set, *, cells: np.ndarray | None = None,
             prices: RowPrices | None = None) -> Exposure:
    """Group the registry's rows by the event grid's cell (and housing type).

    Parameters
    ----------
    scn, spec
        The scenario and the hazard entry whose tiers apply.
    cols
        Household columns (:func:`simulator.engine.evaluation.household_columns`).
    event_set
        The :class:`hazards.eventset.EventSet` whose grid the groups follow.
    cells
        Each row's flat cell index on that grid (-1 outside), when already located.
    prices
        The rows' money per tier shared with the run's other event sets (:class:`RowPrices`);
        default: this exposure's own.
    """
    financing.check_households(cols["weight"])
    cells = event_set.cell_index(cols["lon"], cols["lat"]) if cells is None else np.asarray(cells, dtype=np.int64)
    function = _function(spec)
    by_housing = function is not None and function.by_housing
    inside = (cells >= 0) & ~cols["duplicate"]
    n_cells = event_set.shape[0] * event_set.shape[1]
    n_housing = 2 if by_housing else 1
    # a dense count over the (housing x cell) codes: groups are the codes that hold a row, no sort
    code = np.where(inside, cells, 0)
    if by_housing:
        code += cols["housing"].astype(np.int64) * n_cells
    size = n_housing * n_cells
    present = np.bincount(code[inside], minlength=size) > 0
    group_of_code = np.cumsum(present, dtype=np.int64) - 1
    n_groups = int(present.sum())
    row_group = np.where(inside, group_of_code[code], -1)
    del code
    cell_group = np.where(present, group_of_code, -1).astype(np.int32).reshape(n_housing, n_cells)
    prices = RowPrices(scn, cols) if prices is None else prices
    n_classes = len(prices.representatives)
    # each (group, money class) that occurs, with its number of rows: a dense count when the
    # pairs fit, else a sort
    pair = row_group[inside] * n_classes
    pair += prices.row_class[inside]
    if n_groups * n_classes <= DENSE_PAIRS:
        counts = np.bincount(pair, minlength=n_groups * n_classes)
        codes = np.flatnonzero(counts)
        counts = counts[codes]
    else:
        codes, counts = np.unique(pair, return_counts=True)
    del pair
    pair_group, pair_class = np.divmod(codes, n_classes)
    rep = prices.representatives
    province = cols["province"][rep].astype(np.int64)[pair_class]
    affected = group_sum(pair_group * N_PROVINCES + province, counts * cols["weight"][rep][pair_class],
                         n_groups * N_PROVINCES).reshape(n_groups, N_PROVINCES)
    log.info("event engine: %d rows in %d groups (%s), %d (group, money class) pairs",
             int(inside.sum()), n_groups, "cell x housing" if by_housing else "cell", len(codes))
    return Exposure(scn=scn, spec=spec, cols=cols, n_groups=n_groups, cell_group=cell_group,
                    row_group=row_group, pair_group=pair_group, pair_class=pair_class,
                    pair_rows=counts, prices=prices, affected=affected)


def _function(spec):
    if spec.impact is None:
        return None
    from hazards import impact

    return impact.load(spec.impact)


def _money(scn, sub: dict[str, np.ndarray], t: np.ndarray) -> dict[str, np.ndarray]:
    """The engine's steps after the overlay, before budgets, per row [PKR per row, int64]."""
    ent = evaluation._entitlements(scn, sub, t)
    _, fed_row, prov_row = evaluation._dedup(scn, ent, sub["weight"])
    entitled_amount = fed_row + prov_row
    federal, provincial = evaluation._cost_sharing(scn, entitled_amount, fed_row, sub["province"])
    return {"federal": federal, "provincial": provincial, "entitled": entitled_amount > 0}


def _price(exp: Exposure, tier: int) -> np.ndarray:
    """Every group's rows priced at ``tier``, summed by group and province: each (group, class)
    pair's rows times its class's money (exact int64 sums)."""
    money = exp.prices.classes(tier)
    rep = exp.prices.representatives
    c = exp.pair_class
    codes = exp.pair_group * N_PROVINCES + exp.cols["province"][rep].astype(np.int64)[c]
    size = exp.n_groups * N_PROVINCES
    n = exp.pair_rows
    paid = np.where(money["entitled"], exp.cols["weight"][rep], 0)
    blocks = [group_sum(codes, n * v[c], size).reshape(exp.n_groups, N_PROVINCES)
              for v in (money["federal"], money["provincial"], paid)]
    return np.hstack([*blocks, exp.affected])


# ---------------------------------------------------------------------------------------------
# Tiers of the events' stored values
# ---------------------------------------------------------------------------------------------


def _tiers_and_shares(spec, values: np.ndarray, housing: int, shares: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Tier (int8) and, under ``affected: share`` (and ``shares``), the share (float64) of each
    stored value."""
    function = _function(spec)
    if function is None:
        return targeting.tiers(values, spec.tier_thresholds()), None
    from hazards.impact import HOUSING

    kind = HOUSING[housing]  # every value here is of one housing type
    tier = np.asarray(function.tier(values, housing=kind), dtype=np.int8)
    share = None
    if spec.affected == "share" and shares:
        share = np.where(tier > 0, np.asarray(function.share(values, housing=kind), dtype=np.float64), 0.0)
    return tier, share


def check_hazard(spec, event_set) -> None:
    """Refuse an event set the hazard entry cannot read: another kind, other units, or a tier
    reached at 0 (every cell an event leaves out would then be affected)."""
    if event_set.kind != spec.kind:
        raise ScenarioError(
            f"event set of kind {event_set.kind!r} given for hazard {spec.label!r} of kind {spec.kind!r}; "
            "give a set of the hazard's kind, or name the hazard it stands for."
        )
    function = _function(spec)
    if function is not None and function.units != event_set.units:
        raise ScenarioError(
            f"hazard {spec.label!r}: impact function {function.name!r} reads {function.units}, the event set "
            f"holds {event_set.units}; build the set in {function.units}."
        )
    if spec.admin_table is not None:
        raise ScenarioError(f"hazard {spec.label!r} is a declared table; an event set needs a raster hazard's tiers.")
    kept = (event_set.provenance or {}).get("intensity_threshold")
    if kept is not None:
        if function is not None:
            starts = [v for h in function.housing if (v := function.thresholds(h)["affected"]) is not None]
            mildest = min(starts) if kept >= 0 else max(starts)
        else:
            mildest = spec.tier_thresholds()[0]
        if (kept >= 0 and mildest < kept) or (kept < 0 and mildest > kept):
            raise ScenarioError(
                f"hazard {spec.label!r}: the event set stores only intensities at or beyond {kept:g} "
                f"{event_set.units}, but its affected tier starts at {mildest:g}; rebuild the set with a threshold "
                f"at or below it (madad hazard events --threshold {mildest:g})."
            )
    for h in range(2):
        tier, _ = _tiers_and_shares(spec, np.zeros(1, np.float32), h)
        if tier[0] > 0:
            raise ScenarioError(
                f"hazard {spec.label!r}: intensity 0 already reaches a tier, so every household would be "
                "affected by every event; give an affected threshold above 0."
            )


# ---------------------------------------------------------------------------------------------
# The event payout table
# ---------------------------------------------------------------------------------------------


@dataclass
class EventPayouts:
    """Each event's federal and provincial PKR and households by province (int64, events x 5).

    ``federal_pkr`` and ``provincial_pkr`` are what each government pays for the event's payouts
    in each province (after budgets); ``households`` are paid, ``affected_households`` at tier 1
    or above; ``entitled_pkr`` what the policy entitles before budgets. ``exact`` marks the
    events evaluated household by household (they met a budget ceiling); ``expected`` is True
    when figures are expectations over the impact function's share.
    """

    event_id: np.ndarray
    year: np.ndarray
    hazard: np.ndarray  # str per event
    federal_pkr: np.ndarray
    provincial_pkr: np.ndarray
    households: np.ndarray
    affected_households: np.ndarray
    entitled_pkr: np.ndarray
    exact: np.ndarray
    expected: bool = False

    @property
    def n_events(self) -> int:
        return len(self.event_id)

    @property
    def total_pkr(self) -> np.ndarray:
        """Each event's total [PKR]: federal + provincial summed over provinces."""
        return (self.federal_pkr + self.provincial_pkr).sum(axis=1)

    def table(self) -> pd.DataFrame:
        """The event payout table: one row per (event, province), in
        :mod:`simulator.plans.risk`'s contract, plus ``affected_households`` and ``entitled_pkr``."""
        n = self.n_events
        return pd.DataFrame({
            "event_id": np.repeat(self.event_id, N_PROVINCES),
            "year": np.repeat(self.year, N_PROVINCES),
            "hazard": np.repeat(self.hazard, N_PROVINCES),
            "province_code": np.tile(np.array(PROVINCES, dtype=object), n),
            "federal_pkr": self.federal_pkr.ravel(),
            "provincial_pkr": self.provincial_pkr.ravel(),
            "households": self.households.ravel(),
            "affected_households": self.affected_households.ravel(),
            "entitled_pkr": self.entitled_pkr.ravel(),
        })

    @classmethod
    def concat(cls, parts: Sequence[EventPayouts]) -> EventPayouts:
        """Several sets' payouts as one (a multi-hazard mix); event ids must stay unique."""
        if not parts:
            raise ScenarioError("no event sets to combine.")
        out = cls(**{
            name: np.concatenate([getattr(p, name) for p in parts])
            for name in ("event_id", "year", "hazard", "federal_pkr", "provincial_pkr", "households",
                         "affected_households", "entitled_pkr", "exact")
        }, expected=any(p.expected for p in parts))
        if len(np.unique(out.event_id)) != out.n_events:
            raise ScenarioError("event ids repeat across the sets; give each set its own id_offset.")
        return out


def _entries(m: sparse.csr_matrix, exp: Exposure, lo: int, hi: int, shares: bool = True):
    """Stored values of events (rows of ``m``) ``lo..hi-1`` in cells with households: (event,
    group, tier, share) per housing type, tier > 0 only."""
    a, b = int(m.indptr[lo]), int(m.indptr[hi])
    data = m.data[a:b]
    cells = m.indices[a:b]
    event = np.repeat(np.arange(hi - lo, dtype=np.int64), np.diff(m.indptr[lo:hi + 1]))
    for h in range(exp.cell_group.shape[0]):
        group = exp.cell_group[h][cells]
        keep = np.flatnonzero(group >= 0)
        if not keep.size:
            continue
        tier, share = _tiers_and_shares(exp.spec, data[keep], h, shares)
        hit = np.flatnonzero(tier > 0)
        yield (event[keep[hit]], group[keep[hit]].astype(np.int64), tier[hit],
               None if share is None else share[hit])


def _chunks(indptr: np.ndarray, limit: int) -> list[tuple[int, int]]:
    """Ranges of events holding at most ``limit`` stored values each (an event alone may hold
    more)."""
    n = len(indptr) - 1
    out, lo = [], 0
    while lo < n:
        hi = int(np.searchsorted(indptr, indptr[lo] + limit, side="right")) - 1
        hi = min(max(hi, lo + 1), n)
        out.append((lo, hi))
        lo = hi
    return out


def _rows_of(event_set, lo: int, hi: int) -> sparse.csr_matrix:
    """Events ``lo..hi-1`` of the set: a matrix over the set's own stored values (no copy)."""
    m = event_set.intensity
    if (lo, hi) == (0, m.shape[0]):
        return m
    a, b = int(m.indptr[lo]), int(m.indptr[hi])
    return sparse.csr_matrix((m.data[a:b], m.indices[a:b], m.indptr[lo:hi + 1] - a),
                             shape=(hi - lo, m.shape[1]), copy=False)


def _tiered(exp: Exposure, m: sparse.csr_matrix, h: int, shares: bool):
    """Each stored value's group (for housing type ``h``), tier and share: ``(group int32,
    tier int8, share or None, valid)`` where ``valid`` marks values in a group at tier > 0."""
    g = exp.cell_group[h][m.indices]
    tier, share = _tiers_and_shares(exp.spec, m.data, h, shares)
    return g, tier, share, (g >= 0) & (tier > 0)


def _aggregate(event_set, exp: Exposure, on_progress: Callable[[int], None] | None) -> tuple[np.ndarray, bool]:
    """(n_events, 20) figures of every event by sparse products over the groups; float64
    expectations (rounded later) under ``affected: share``, else exact int64.

    Per chunk of events and housing type: each stored value's group and tier, then one product
    of the events x (tier, group) indicator (1, or the share) with the groups' figures stacked
    by tier (:meth:`Exposure.priced`: cheap, from the groups' money classes)."""
    share_mode = exp.spec.impact is not None and exp.spec.affected == "share"
    chunks = _chunks(event_set.intensity.indptr, CHUNK_VALUES)
    n_housing = exp.cell_group.shape[0]
    dtype = np.float64 if share_mode else np.int64
    out = np.zeros((event_set.n_events, len(FIGURES) * N_PROVINCES), dtype)
    n = exp.n_groups
    for lo, hi in chunks:
        m = _rows_of(event_set, lo, hi)
        for h in range(n_housing):
            g, tier, share, valid = _tiered(exp, m, h, shares=share_mode)
            hit = np.flatnonzero(valid)
            if not hit.size:
                continue
            top = int(tier[hit].max())
            column = (tier[hit].astype(np.int64) - 1) * n + g[hit]
            data = share[hit] if share_mode else np.ones(hit.size, np.int64)
            indptr = np.searchsorted(hit, m.indptr)  # hits before each row's start
            mt = sparse.csr_matrix((data, column, indptr), shape=(hi - lo, top * n))
            table, used = exp.stacked(top, dtype)
            out[lo:hi, used] += mt @ table
        if on_progress is not None:
            on_progress(hi - lo)
    return out, share_mode


def _over_ceilings(scn, federal: np.ndarray, provincial: np.ndarray) -> np.ndarray:
    """Events whose entitlements meet a budget ceiling (they need the household queue)."""
    b = scn.budget
    over = np.zeros(len(federal), bool)
    if b.federal_pkr is not None:
        over |= federal.sum(axis=1) > int(b.federal_pkr)
    if b.provincial_pkr:
        if scn.cost_sharing.rule == "key":
            capacity = financing.pool_capacity(
                {p: int(c) - N_PROVINCES for p, c in b.provincial_pkr.items()}, scn.cost_sharing.key)
            over |= provincial.sum(axis=1) > capacity
        else:
            for code, ceiling in b.provincial_pkr.items():
                over |= provincial[:, PROVINCES.index(code)] > int(ceiling)
    return over


def _exact(event_set, exp: Exposure, events: np.ndarray) -> np.ndarray:
    """(len(events), 20) figures of the given events, household by household with the engine's
    steps and budgets queued per event (exact; under ``share``, the engine's seeded draw)."""
    scn, cols = exp.scn, exp.cols
    out = np.zeros((len(events), len(FIGURES) * N_PROVINCES), np.int64)
    sizes = np.diff(exp.group_start)
    # Pairs per event, to batch the events without a loop over them.
    m = event_set.intensity[events]
    for lo, hi in _pair_chunks(m, exp, sizes):
        e_parts, r_parts, t_parts, s_parts = [], [], [], []
        for event, group, tier, share in _entries(m, exp, lo, hi):
            count = sizes[group]
            first = np.repeat(exp.group_start[group] - np.cumsum(count) + count, count)
            rows = exp.group_rows[first + np.arange(int(count.sum()))]
            e_parts.append(np.repeat(event, count))  # relative to lo
            r_parts.append(rows)
            t_parts.append(np.repeat(tier, count))
            s_parts.append(None if share is None else np.repeat(share, count))
        if not e_parts:
            continue
        ev = np.concatenate(e_parts)
        rows = np.concatenate(r_parts)
        t = np.concatenate(t_parts)
        weight = cols["weight"][rows]
        if s_parts[0] is not None:
            n = np.floor(weight * np.concatenate(s_parts) + overlay.uniform_draws(rows, scn.seed, "affected"))
            weight = np.clip(n.astype(np.int64), 0, weight)
        keep = np.flatnonzero(weight > 0)
        ev, rows, t, weight = ev[keep], rows[keep], t[keep], weight[keep]
        sub = evaluation._rows(cols, rows)
        sub["weight"] = weight
        money = _money(scn, sub, t)
        e = np.flatnonzero(money["entitled"])
        b = scn.budget
        key = budget.priority_key(t[e], sub["pmt_score"][e], rows[e], list(b.priority))
        funded = np.zeros(len(rows), bool)
        funded[e], _ = budget.apply(
            key, money["federal"][e], money["provincial"][e], sub["province"][e],
            federal_ceiling=b.federal_pkr, provincial_ceilings=dict(b.provincial_pkr),
            rule=scn.cost_sharing.rule, cost_key=scn.cost_sharing.key, segment=ev[e],
        )
        codes = ev * N_PROVINCES + sub["province"].astype(np.int64)
        size = (hi - lo) * N_PROVINCES
        keep_money = funded.astype(np.int64)
        blocks = [group_sum(codes, v, size).reshape(hi - lo, N_PROVINCES) for v in (
            money["federal"] * keep_money, money["provincial"] * keep_money, weight * keep_money, weight)]
        out[lo:hi] = np.hstack(blocks)
    return out


def _pair_chunks(m, exp: Exposure, sizes: np.ndarray) -> list[tuple[int, int]]:
    """Ranges of events with at most :data:`CHUNK_PAIRS` household-event pairs each (upper
    bound: every stored value of a cell with households counts its rows of every housing)."""
    cell_rows = np.zeros(exp.cell_group.shape[1], np.int64)
    for h in range(exp.cell_group.shape[0]):
        g = exp.cell_group[h]
        cell_rows += np.where(g >= 0, sizes[np.maximum(g, 0)], 0)
    per_value = cell_rows[m.indices]
    bound = np.concatenate([[0], np.cumsum(per_value)])[m.indptr]
    return _chunks(bound, CHUNK_PAIRS)


def event_payouts(
    scn,
    cols: dict[str, np.ndarray],
    event_set,
    *,
    hazard: str | None = None,
    exp: Exposure | None = None,
    id_offset: int = 0,
    on_progress: Callable[[int], None] | None = None,
) -> EventPayouts:
    """Apply the scenario's policy to every event of ``event_set``.

    Parameters
    ----------
    scn
        The scenario: eligibility, tiers, transfers, dedup, cost-sharing and budgets (per event).
    cols
        Household columns (:func:`simulator.engine.evaluation.household_columns`).
    event_set
        A :class:`hazards.eventset.EventSet` with a ``year`` per event (0-based, as
        :func:`hazards.stochastic.stochastic` makes it).
    hazard
        The label of the scenario hazard whose tiers apply; default: the one of the set's kind.
    exp
        The grouped registry (:func:`exposure`), when already built for this grid and hazard.
    id_offset
        Added to the set's event ids (to keep ids unique in a mix of sets).
    on_progress
        Called with the number of events done after each chunk.

    Returns
    -------
    EventPayouts
        Years 1..n as the risk metrics count them (the set's 0-based year + 1).
    """
    spec = hazard_spec(scn, event_set, hazard)
    check_hazard(spec, event_set)
    if "year" not in event_set.event_attrs:
        raise ScenarioError("the event set has no 'year' per event; build it with madad hazard events "
                            "(hazards.events.stochastic), which places every event in a year.")
    if exp is None:
        exp = exposure(scn, spec, cols, event_set)
    figures, share_mode = _aggregate(event_set, exp, on_progress)
    if share_mode:
        figures = np.rint(figures).astype(np.int64)
    blocks = np.split(figures, len(FIGURES), axis=1)
    entitled = blocks[0] + blocks[1]
    exact = _over_ceilings(scn, blocks[0], blocks[1])
    if exact.any():
        which = np.flatnonzero(exact)
        log.info("event engine: %d of %d events meet a budget ceiling; queued household by household",
                 len(which), event_set.n_events)
        figures[which] = _exact(event_set, exp, which)
        blocks = np.split(figures, len(FIGURES), axis=1)
        # Entitlements before budgets stay the aggregated ones (the queue changes only who is funded).
    return EventPayouts(
        event_id=event_set.event_id.astype(np.int64) + int(id_offset),
        year=np.asarray(event_set.event_attrs["year"], dtype=np.int64) + 1,
        hazard=np.full(event_set.n_events, event_set.kind, dtype=object),
        federal_pkr=blocks[0], provincial_pkr=blocks[1], households=blocks[2],
        affected_households=blocks[3], entitled_pkr=entitled, exact=exact, expected=share_mode,
    )


def hazard_spec(scn, event_set, hazard: str | None = None):
    """The scenario hazard whose tiers apply to the set: named, or the one of the set's kind."""
    if hazard is not None:
        for spec in scn.hazards:
            if spec.label == hazard:
                return spec
        raise ScenarioError(f"hazard {hazard!r} is not in the scenario; choose one of "
                            f"{[h.label for h in scn.hazards]}.")
    same = [spec for spec in scn.hazards if spec.kind == event_set.kind and spec.admin_table is None]
    if not same:
        raise ScenarioError(
            f"the scenario has no {event_set.kind} hazard to read the event set's intensity with; add one "
            f"(its tiers or impact function apply), or name a hazard."
        )
    return same[0]


# ---------------------------------------------------------------------------------------------
# Hazard indices per event, for parametric triggers
# ---------------------------------------------------------------------------------------------


def point_index(event_set, lon: float, lat: float, radius_km: float = 0.0) -> np.ndarray:
    """Each event's intensity at a point [the set's units]: the cell holding it, or the largest
    value of the cells whose centres lie within ``radius_km`` of it (the most severe for a
    ``decreasing`` hazard such as SPI: its smallest value). 0 where an event leaves those cells
    out; refused outside the grid.

    Distances are great-circle on a sphere of radius 6,371 km from the cells' centres (EPSG:4326
    grids) or Euclidean in metres (projected grids).
    """
    cell = int(event_set.cell_index(np.array([lon]), np.array([lat]))[0])
    if cell < 0:
        raise ScenarioError(f"trigger point ({lon}, {lat}) lies outside the event set's grid; move it inside.")
    cells = np.array([cell])
    if radius_km > 0:
        rows, cols_ = event_set.shape
        a, _, c, _, e, f = event_set.transform
        r0, c0 = divmod(cell, cols_)
        span_r = int(np.ceil(radius_km / (abs(e) * 111.0))) + 1
        span_c = int(np.ceil(radius_km / (abs(a) * 111.0 * max(np.cos(np.radians(lat)), 0.05)))) + 1
        rr, cc = np.mgrid[max(r0 - span_r, 0):min(r0 + span_r + 1, rows), max(c0 - span_c, 0):min(c0 + span_c + 1, cols_)]
        x = c + (cc + 0.5) * a
        y = f + (rr + 0.5) * e
        if "4326" in str(event_set.crs):
            p1, p2 = np.radians(lat), np.radians(y)
            h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(x - lon) / 2) ** 2
            km = 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
        else:  # pragma: no cover - projected event grids are rare
            from hazards.sampling import to_raster_crs

            px, py = to_raster_crs(event_set.template(), np.array([lon]), np.array([lat]))
            km = np.hypot(x - px[0], y - py[0]) / 1000.0
        cells = np.union1d(cells, (rr * cols_ + cc)[km <= radius_km])
    picked = event_set.intensity[:, cells]
    worst = picked.min(axis=1) if _decreasing(event_set) else picked.max(axis=1)
    return np.asarray(worst.toarray()).ravel().astype(np.float64)


def _decreasing(event_set) -> bool:
    from hazards.impact import load, names

    fns = [load(n) for n in names(kind=event_set.kind)]
    return bool(fns) and all(f.direction == "decreasing" for f in fns)


def district_share_index(event_set, exp: Exposure, districts: Sequence[int], min_tier: int = 1) -> np.ndarray:
    """Each event's share [0-1] of the registry's households in ``districts`` (district codes of
    the household columns) at ``min_tier`` or above: what a flooded-share trigger reads from an
    observed or forecast footprint. Households, not area: the share of people at risk, as the
    anticipatory-action protocols state their thresholds."""
    rows = np.flatnonzero(exp.row_group >= 0)
    in_list = np.isin(exp.cols["district"][rows], np.asarray(districts))
    weight = np.where(in_list, exp.cols["weight"][rows], 0)
    by_group = group_sum(exp.row_group[rows], weight, exp.n_groups)
    total = int(weight.sum())
    if total == 0:
        raise ScenarioError("no registry household lies in the trigger's districts on the event grid; check the "
                            "district codes (district_id, e.g. as in data/districts.csv).")
    reached = np.zeros(event_set.n_events, np.int64)
    for lo, hi in _chunks(event_set.intensity.indptr, CHUNK_VALUES):
        for event, group, tier, _ in _entries(event_set.intensity, exp, lo, hi):
            at = tier >= min_tier
            reached[lo:hi] += group_sum(event[at], by_group[group[at]], hi - lo)
    return reached / total
