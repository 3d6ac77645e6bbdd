"""The vectorized payout engine: overlay -> tiers -> programmes -> dedup -> cost-sharing -> budgets.

Works on numpy columns. Every step after the overlay runs on the affected households only, so a
national registry costs little more than its overlay. No Python loop over households, pixels or
events; the loops here are over hazards and programmes (a handful each). Arrays in, arrays out:
no files and no clocks (a caller times the stages through ``evaluate``'s ``on_stage``).

The steps of :func:`evaluate`, each a function below, and the stage name reported after each:

==================  ===================================================================
``overlay``         :func:`simulator.engine.overlay.overlay_all`: intensity, tier, status
``duplicates``      :func:`_duplicate_savings`: what removed provincial duplicates would cost
``targeting_payouts`` :func:`_entitlements`: each programme's eligibility and transfer
``dedup``           :func:`_dedup`: one payment per household across owners, times weights
``cost_sharing``    :func:`_cost_sharing`: federal and provincial funding of each payment
``budget``          :func:`_budgets`: ceilings applied in priority order
``results``         :func:`_statuses` and :func:`_result`: one status per household
==================  ===================================================================
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hazards import sampling
from simulator.engine import budget, dedup, financing, payouts, targeting
from simulator.engine.overlay import affected_counts, overlay_all

#: Who delivers a household's payment.
PAYER = ("none", "federal", "provincial", "federal+provincial")
# _statuses shifts overlay status codes onto household status codes in one addition.
assert (
    targeting.NOT_AFFECTED - sampling.INSIDE
    == targeting.OUTSIDE_AREA - sampling.OUTSIDE
    == targeting.NO_HAZARD_DATA - sampling.NODATA
)
EXPANSIONS = ("vertical", "horizontal", "all_affected")
#: Stage names passed to ``evaluate``'s ``on_stage``, in order.
STAGES = ("overlay", "duplicates", "targeting_payouts", "dedup", "cost_sharing", "budget", "results")
#: Household columns the steps after the overlay do not need.
_OVERLAY_ONLY = ("lon", "lat", "housing")

def needs_tehsils(layers) -> bool:
    """Whether any hazard layer is an admin table that declares tehsils (the households' tehsil
    codes are then needed: ``household_columns(..., tehsils=True)``)."""
    from hazards.admin import has_tehsils

    layers = layers if isinstance(layers, list | tuple) else [layers]
    return any(isinstance(layer, pd.DataFrame) and has_tehsils(layer) for layer in layers)


def tehsil_positions(households: pd.DataFrame) -> np.ndarray:
    """Each household's position in ``hazards.tables.tehsil_codes()`` [int16], -1 where its
    ``tehsil_id`` is missing or not a census tehsil."""
    from hazards import tables

    if "tehsil_id" not in households:
        return np.full(len(households), -1, np.int16)
    ids = pd.Categorical(households["tehsil_id"].array, categories=tables.tehsil_codes())
    return np.asarray(ids.codes).astype(np.int16)


def household_columns(households: pd.DataFrame, *, tehsils: bool = False) -> dict[str, np.ndarray]:
    """The engine's view of a validated registry frame: plain numpy columns.

    Parameters
    ----------
    households
        Validated (or merged) households, see :mod:`simulator.registry`.
    tehsils
        Also give ``tehsil`` codes (:func:`tehsil_positions`), for admin tables that declare
        tehsils (:func:`needs_tehsils`); off by default, as matching ids costs time on a
        national registry.

    Returns
    -------
    dict of str to numpy.ndarray
        ``lon``/``lat`` [degrees], ``province`` and ``district`` codes, ``hh_size`` and
        ``children_under5`` [persons], ``pmt_score`` [0-100], flags, ``housing`` (0 kacha,
        1 pakka), ``weight`` [households per row], ``source`` (0 federal, 1 provincial) and
        ``duplicate``; and ``tehsil`` when asked.
    """
    n = len(households)
    extra = {"tehsil": tehsil_positions(households)} if tehsils else {}

    def flag(name: str) -> np.ndarray:
        return households[name].to_numpy(dtype=bool) if name in households else np.zeros(n, bool)

    under5 = (
        households["children_under5"].to_numpy(dtype=np.int16)
        if "children_under5" in households
        else np.zeros(n, np.int16)
    )
    return {
        "lon": households["lon"].to_numpy(dtype=np.float64),
        "lat": households["lat"].to_numpy(dtype=np.float64),
        "province": households["province_code"].cat.codes.to_numpy().astype(np.int8),
        "district": households["district_id"].cat.codes.to_numpy().astype(np.int16),
        "hh_size": households["hh_size"].to_numpy(dtype=np.int16),
        "pmt_score": households["pmt_score"].to_numpy(dtype=np.float32),
        "enrolled_kafaalat": flag("enrolled_kafaalat"),
        "enrolled_prov_uct": flag("enrolled_prov_uct"),
        "enrolled_prov_cct": flag("enrolled_prov_cct"),
        "female_headed": flag("female_headed"),
        "disability": flag("disability"),
        "children_under5": under5,
        # 0 kacha, 1 pakka; unknown housing counts as kacha, the more vulnerable (stated in
        # the README), so that impact functions by housing type apply to every household.
        "housing": _housing_codes(households),
        "weight": (
            households["weight"].to_numpy(dtype=np.int64)
            if "weight" in households
            else np.ones(n, np.int64)
        ),
        # 0: a federal (NSER) record, 1: a provincial registry's record (federal programmes do
        # not reach it); duplicate: a provincial record of a household the federal registry has.
        "source": (
            households["source"].cat.codes.to_numpy().astype(np.int8)
            if "source" in households
            else np.zeros(n, np.int8)
        ),
        "duplicate": (
            households["duplicate_of"].to_numpy() >= 0
            if "duplicate_of" in households
            else np.zeros(n, bool)
        ),
        **extra,
    }


def _housing_codes(households: pd.DataFrame) -> np.ndarray:
    if "housing" not in households:
        return np.zeros(len(households), np.int8)
    codes = households["housing"].cat.codes.to_numpy().astype(np.int8)
    return np.where(codes < 0, 0, codes).astype(np.int8)


@dataclass
class EngineResult:
    """Per-household results and the affected subset's working columns.

    Money and payer are held for the affected households only (``sub``); the full-length
    arrays (zero elsewhere) are built on first use.
    """

    intensity: dict[str, np.ndarray]  # per hazard label, float32, NaN outside / nodata
    tier: np.ndarray  # int8 0-3
    status: np.ndarray  # int8, targeting.STATUS
    weight: np.ndarray  # int64, households each row stands for (1 in a real registry)
    affected_index: np.ndarray  # positions of households with tier > 0
    sub: dict[str, np.ndarray] = field(default_factory=dict)  # columns over affected_index
    programme_households: dict[str, int] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)  # affected provincial duplicates removed
    #: The registry row of each result row, when weighted rows were split into an affected part
    #: and an unaffected rest (:func:`_expected_counts`); None when rows are the registry's.
    row: np.ndarray | None = None

    def _full(self, name: str, dtype) -> np.ndarray:
        out = np.zeros(len(self.tier), dtype=dtype)
        out[self.affected_index] = self.sub[name]
        return out

    @functools.cached_property
    def counted_weight(self) -> np.ndarray | None:
        """Households each row counts for: its weight, 0 for duplicate records (provincial copies
        of federal households). None when every row counts once (a real registry without
        duplicates), so that counts need no weights."""
        duplicate = self.status == targeting.DUPLICATE
        if not duplicate.any():
            return None if bool((self.weight == 1).all()) else self.weight
        out = self.weight.copy()
        out[duplicate] = 0
        return out

    @functools.cached_property
    def amount_pkr(self) -> np.ndarray:
        """PKR paid to each household (int64)."""
        return self._full("paid_pkr", np.int64)

    @functools.cached_property
    def federal_pkr(self) -> np.ndarray:
        """PKR funded federally for each household (int64)."""
        return self._full("federal_pkr", np.int64)

    @functools.cached_property
    def provincial_pkr(self) -> np.ndarray:
        """PKR funded by provinces for each household (int64)."""
        return self._full("provincial_pkr", np.int64)

    @functools.cached_property
    def payer(self) -> np.ndarray:
        """Who delivers each household's payment (int8 codes of PAYER)."""
        return self._full("payer", np.int8)

    @functools.cached_property
    def eligible(self) -> np.ndarray:
        """Entitled under at least one programme (before budgets)."""
        return self._full("entitled", bool)


# ---------------------------------------------------------------------------------------------
# The steps of evaluate
# ---------------------------------------------------------------------------------------------


def _expected_counts(cols, tier, where, intensity, share, seed, positions=None):
    """Who is affected under an impact function's share (:func:`overlay.affected_counts`).

    A row whose every household or none is affected keeps its tier or drops to 0. A weighted
    row of which only part is affected (a synthetic row standing for w households, ``0 < n <
    w``) is split: the row keeps ``n`` households at its tier, and a copy appended at the end
    holds the other ``w - n`` households, not affected. Returns the columns, tier, status and
    intensity (extended when rows were split) and the registry row of each row (None if none
    was split).
    """
    n = affected_counts(tier, share, cols["weight"], seed, positions)
    weight = cols["weight"]
    tier = np.where(n > 0, tier, 0).astype(np.int8)
    split = np.flatnonzero((n > 0) & (n < weight))
    if not split.size:
        return cols, tier, where, intensity, None
    cols = {k: np.concatenate([v, v[split]]) for k, v in cols.items()}
    cols["weight"][split] = n[split]
    cols["weight"][len(tier):] = weight[split] - n[split]
    intensity = {k: np.concatenate([v, v[split]]) for k, v in intensity.items()}
    row = np.concatenate([np.arange(len(tier)), split])
    return cols, np.concatenate([tier, np.zeros(split.size, np.int8)]), np.concatenate([where, where[split]]), intensity, row


def _rows(cols: dict[str, np.ndarray], index: np.ndarray) -> dict[str, np.ndarray]:
    """The columns the steps after the overlay use, at ``index``."""
    return {k: v[index] for k, v in cols.items() if k not in _OVERLAY_ONLY}


def _duplicate_savings(scn, cols: dict[str, np.ndarray], tier: np.ndarray) -> dict[str, int]:
    """What affected duplicates (provincial records of federal households) would have been paid
    by provincial programmes had they not been removed: the savings of cross-registry dedup.

    Returns ``households`` [households, weighted], ``records`` [rows] and ``savings_pkr`` [PKR].
    """
    if cols["duplicate"].any():
        dup_idx = np.flatnonzero((tier > 0) & cols["duplicate"])
    else:
        dup_idx = np.zeros(0, np.intp)
    dup_cols = _rows(cols, dup_idx)
    dup_tier = tier[dup_idx]
    savings = np.zeros(len(dup_idx), np.int64)
    for prog in scn.policy.programmes:
        if prog.owner == "provincial":
            entitled = targeting.programme_eligible(prog, dup_cols, dup_tier)
            amount = payouts.transfer_amount(prog.transfer, dup_tier, dup_cols["hh_size"], entitled)
            np.maximum(savings, amount, out=savings)
    savings *= dup_cols["weight"]
    return {
        "households": int(dup_cols["weight"].sum()),
        "records": len(dup_idx),
        "savings_pkr": int(savings.sum()),
    }


@dataclass
class _Entitlements:
    """Per affected household [PKR per household, int64]: the largest federal and provincial
    entitlement, their sum over programmes and the number of programmes; what each expansion
    reaches; weighted households per programme."""

    federal: np.ndarray
    provincial: np.ndarray
    total: np.ndarray
    count: np.ndarray
    reach: dict[str, np.ndarray]
    programme_households: dict[str, int]


def _entitlements(scn, sub: dict[str, np.ndarray], t: np.ndarray) -> _Entitlements:
    """Each programme's eligibility and transfer over the affected households (loop over
    programmes); federal programmes reach federal (NSER) records only."""
    m = len(t)
    ent = _Entitlements(
        federal=np.zeros(m, np.int64),
        provincial=np.zeros(m, np.int64),
        total=np.zeros(m, np.int64),
        count=np.zeros(m, np.int8),
        reach={e: np.zeros(m, bool) for e in EXPANSIONS},
        programme_households={},
    )
    federal_record = sub["source"] == 0
    for prog in scn.policy.programmes:
        entitled = targeting.programme_eligible(prog, sub, t)
        if prog.owner == "federal":
            entitled &= federal_record
        amount = payouts.transfer_amount(prog.transfer, t, sub["hh_size"], entitled)
        got = amount > 0
        ent.programme_households[prog.name] = int(sub["weight"][got].sum())
        ent.reach[prog.expansion] |= got
        ent.total += amount
        ent.count += got
        largest = ent.federal if prog.owner == "federal" else ent.provincial
        np.maximum(largest, amount, out=largest)
    return ent


def _dedup(scn, ent: _Entitlements, weight: np.ndarray) -> tuple[dedup.Resolved, np.ndarray, np.ndarray]:
    """One payment per household under the scenario's dedup rule, then each row's money: the
    household's amount times its ``weight`` (1 in a real registry).

    Returns the resolution and the federally and provincially delivered PKR per row.
    """
    d = scn.dedup
    resolved = dedup.resolve(
        ent.federal, ent.provincial, ent.total, ent.count, rule=d.rule, base=d.base, order=tuple(d.order)
    )
    return resolved, resolved.federal_delivers_pkr * weight, resolved.provincial_delivers_pkr * weight


def _cost_sharing(
    scn, entitled_pkr: np.ndarray, federal_delivers_pkr: np.ndarray, province: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Federal and provincial funding [PKR per row] of each entitlement (the scenario's rule)."""
    cs = scn.cost_sharing
    return financing.split(
        entitled_pkr, federal_delivers_pkr, province, rule=cs.rule, federal_share=cs.federal_share
    )


def _budgets(
    scn,
    entitled: np.ndarray,
    t: np.ndarray,
    sub: dict[str, np.ndarray],
    idx: np.ndarray,
    federal: np.ndarray,
    provincial: np.ndarray,
    positions: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Which entitled households are funded within the ceilings [PKR], in priority order, and
    which ceiling left the others out (``budget.apply`` codes; 0 for the rest). Ties are broken
    by registry position: ``idx``, or ``positions[idx]`` when rows are not the whole registry."""
    funded = entitled.copy()
    left_out_by = np.zeros(len(t), np.int8)
    b = scn.budget
    if b.federal_pkr is not None or b.provincial_pkr:
        cs = scn.cost_sharing
        e = np.flatnonzero(entitled)
        key = budget.priority_key(t[e], sub["pmt_score"][e], idx[e] if positions is None else positions[idx[e]],
                                  list(b.priority))
        ok, why = budget.apply(
            key, federal[e], provincial[e], sub["province"][e],
            federal_ceiling=b.federal_pkr, provincial_ceilings=dict(b.provincial_pkr),
            rule=cs.rule, cost_key=cs.key,
        )
        funded[e] = ok
        left_out_by[e] = why
    return funded, left_out_by


def _statuses(
    where: np.ndarray, idx: np.ndarray, duplicate: np.ndarray, entitled: np.ndarray, funded: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One ``targeting.STATUS`` code per household, and the affected households' codes."""
    # Outside the area, on nodata, or else (for now) not affected: the overlay status codes
    # INSIDE, OUTSIDE, NODATA (0, 1, 2) shifted onto NOT_AFFECTED, OUTSIDE_AREA, NO_HAZARD_DATA.
    status = np.add(where, np.int8(targeting.NOT_AFFECTED - sampling.INSIDE), dtype=np.int8)
    sub_status = np.where(
        ~entitled, targeting.NOT_ELIGIBLE, np.where(funded, targeting.PAID, targeting.OVER_BUDGET)
    ).astype(np.int8)
    status[idx] = sub_status
    if duplicate.any():
        status[duplicate] = targeting.DUPLICATE
    return status, sub_status


def _result(
    *,
    cols: dict[str, np.ndarray],
    intensity: dict[str, np.ndarray],
    tier: np.ndarray,
    where: np.ndarray,
    idx: np.ndarray,
    sub: dict[str, np.ndarray],
    t: np.ndarray,
    ent: _Entitlements,
    resolved: dedup.Resolved,
    fed_row: np.ndarray,
    prov_row: np.ndarray,
    entitled_amount: np.ndarray,
    entitled: np.ndarray,
    federal: np.ndarray,
    provincial: np.ndarray,
    funded: np.ndarray,
    left_out_by: np.ndarray,
    duplicates: dict[str, int],
) -> EngineResult:
    """Statuses for every household and the affected households' money [PKR per row]: what is
    paid is the entitlement of funded households, zero for the others."""
    status, sub_status = _statuses(where, idx, cols["duplicate"], entitled, funded)
    keep = funded.astype(np.int64)
    paid_amount = entitled_amount * keep
    payer_sub = ((fed_row * keep > 0).astype(np.int8) + 2 * (prov_row * keep > 0).astype(np.int8)).astype(np.int8)
    sub.update(
        tier=t,
        entitled=entitled,
        entitled_pkr=entitled_amount,
        paid_pkr=paid_amount,
        federal_pkr=federal * keep,
        provincial_pkr=provincial * keep,
        payer=payer_sub,
        overlap=resolved.overlap,
        dedup_savings_pkr=resolved.savings_pkr * sub["weight"],
        shortfall_pkr=entitled_amount - paid_amount,
        over_budget=entitled & ~funded,
        left_out_by=left_out_by,
        vertical=ent.reach["vertical"] & funded,
        horizontal=ent.reach["horizontal"] & funded,
        status=sub_status,
    )
    return EngineResult(
        intensity=intensity,
        tier=tier,
        status=status,
        weight=cols["weight"],
        affected_index=idx,
        sub=sub,
        programme_households=ent.programme_households,
        duplicates=duplicates,
    )


def evaluate(
    scn,
    cols: dict[str, np.ndarray],
    layers: list,
    *,
    on_stage: Callable[[str], None] | None = None,
    points: sampling.Points | None = None,
    overlay: tuple | None = None,
    positions: np.ndarray | None = None,
) -> EngineResult:
    """Run the engine for scenario ``scn`` over household columns and hazard sources.

    Parameters
    ----------
    scn
        The scenario (hazards, policy, dedup, cost sharing, budget, seed).
    cols
        Household columns, as from :func:`household_columns`: ``lon``/``lat`` [degrees],
        ``hh_size`` [persons], ``pmt_score`` [0-100], ``weight`` [households per row], codes and
        flags.
    layers
        One source per ``scn.hazards`` entry: a raster layer (xarray) or a declared districts
        table (pandas, from :func:`hazards.admin.read_admin_table`).
    on_stage
        Called with each stage's name (:data:`STAGES`) when that stage ends, e.g. to time the
        stages; the engine itself keeps no clock.
    points
        Optional :class:`hazards.sampling.Points` built from ``cols["lon"]``/``cols["lat"]``
        (every row of ``cols``, in order), shared across calls on the same households: each
        raster grid is then located once, and another layer on that grid (an ensemble member:
        same CRS, transform and shape) costs only a gather. The overlay runs on the rows of
        ``cols`` before any are split (:func:`_expected_counts`), so the same object serves
        every call. Results are identical to ``points=None``, which samples afresh.
    overlay
        The overlay of these rows already made (what
        :func:`simulator.engine.overlay.overlay_all` returns: intensity, tier, where, share),
        e.g. by workers over the parts of a partitioned registry; ``layers`` are then not sampled.
    positions
        Each row's position in the whole registry [int64, rising], when ``cols`` holds only some
        of its rows (a distributed run gathers the affected households and one weighted row per
        group of the others): impact-function draws and the budget's tie-break use them, so the
        result is the whole registry's. Default: the rows' own positions.

    Returns
    -------
    EngineResult
        Tiers and statuses for every household; money [PKR, int64, times the row's weight] and
        payer for the affected ones.

    Raises
    ------
    ScenarioError
        Hazards that cannot be combined as the scenario asks.
    ValueError
        ``points`` of another number of households than ``cols``.
    """
    stage = on_stage or (lambda name: None)
    financing.check_households(cols["weight"])  # every sum over households stays inside int64

    intensity, tier, where, share = overlay_all(scn, layers, cols, points) if overlay is None else overlay
    row = None
    if share is not None:
        cols, tier, where, intensity, row = _expected_counts(cols, tier, where, intensity, share, scn.seed, positions)
    stage("overlay")

    duplicate = cols["duplicate"]
    duplicates = _duplicate_savings(scn, cols, tier)
    stage("duplicates")

    idx = np.flatnonzero((tier > 0) & ~duplicate if duplicate.any() else tier > 0)
    sub = _rows(cols, idx)
    t = tier[idx]
    ent = _entitlements(scn, sub, t)
    stage("targeting_payouts")

    resolved, fed_row, prov_row = _dedup(scn, ent, sub["weight"])
    entitled_amount = fed_row + prov_row
    stage("dedup")

    federal, provincial = _cost_sharing(scn, entitled_amount, fed_row, sub["province"])
    stage("cost_sharing")

    entitled = entitled_amount > 0
    funded, left_out_by = _budgets(scn, entitled, t, sub, idx, federal, provincial, positions)
    stage("budget")

    result = _result(
        cols=cols, intensity=intensity, tier=tier, where=where, idx=idx, sub=sub, t=t, ent=ent,
        resolved=resolved, fed_row=fed_row, prov_row=prov_row, entitled_amount=entitled_amount,
        entitled=entitled, federal=federal, provincial=provincial, funded=funded,
        left_out_by=left_out_by, duplicates=duplicates,
    )
    result.row = row
    stage("results")
    return result
