"""Risk metrics of an event set: what a year of disasters costs the federal government and each province.

Pure, vectorized functions (no files, no printing; logging only) downstream of the **event
payout table** that an event-set run produces: no Python loop over events or years (loops run
over payers and return periods).

=============================  ================================================================
:func:`validate_payout_table`  checks the table (columns, money >= 0, years in 1..n_years,
                               one row per event and province, one year per event)
:func:`annual_losses`          per payer: each event's loss, each year's aggregate loss (AEP
                               basis) and each year's largest single-event loss (OEP basis)
:func:`average_annual_loss`    AAL, its standard error and normal-approximation interval, the
                               year-to-year standard deviation and coefficient of variation
:func:`return_period_losses`   losses at return periods with exact order-statistic intervals
:func:`exceedance_curve`       the empirical exceedance curve of one vector of annual losses
:func:`exceedance_curves`      every payer's AEP and OEP curves, one long table (for plotting)
:func:`risk_metrics`           all of it per payer as a JSON-ready dict with its basis stated
=============================  ================================================================

The contract (input)
--------------------
A :class:`pandas.DataFrame` with one row per (event, province): ``event_id`` (int64), ``year``
(int64, 1..n_years; several events may fall in one year; years without an event have no
rows), ``hazard`` (str), ``province_code`` (PB, SD, KP, BA, IS), ``federal_pkr`` and
``provincial_pkr`` (int64 PKR: what each government pays for that event in that province) and
``households`` (int64 paid); plus ``n_years``, the years the set stands for, years without
events included.

Payers (:data:`PAYERS`)
-----------------------
``federal`` (its ``federal_pkr`` summed over provinces), each province's own share (``PB``,
``SD``, ``KP``, ``BA``, ``IS``: its ``provincial_pkr``; ``IS`` is normally 0, the federal
government paying there) and ``total`` (federal + provincial). An event's loss to a payer is
what that payer pays for the event.

Definitions (the standard ones: Grossi and Kunreuther 2005, ch. 2 and 7; Mitchell-Wallace et
al. 2017, ch. 2 and 5; Oasis LMF ``ordleccalc``)
-------------------------------------------------------------------------------------------
* **Annual aggregate loss** (AEP basis): the sum of a payer's losses over the events of a
  year; 0 in a year without events. **Annual occurrence loss** (OEP basis): the largest single
  event loss in the year; 0 without events. Oasis's ``ordleccalc`` uses the same two
  reductions of a period's event losses ("sum" for AEP, "maximum" for OEP).
* **AAL** (average annual loss): the mean annual aggregate loss over the ``n_years``. With
  each event's frequency 1/n_years this equals CLIMADA's ``Impact.aai_agg`` (``sum(at_event
  * frequency)``, ``climada/engine/impact_calc.py``) and Oasis's ``aalcalc`` mean. Its
  standard error is ``s / sqrt(n_years)`` with ``s`` the sample standard deviation of the
  annual losses (ddof 1), and its interval the normal approximation ``AAL +- z s/sqrt(n)``
  (lower end clipped at 0): fair for a long set, optimistic for a short set with a heavy tail.
* **Empirical exceedance probability** ("full uncertainty" EP table of Oasis LMF, here with
  one loss per year): rank the ``n`` annual losses from largest, ``x_(1) >= ... >= x_(n)``;
  the loss of rank ``i`` is reached or exceeded in ``i`` of ``n`` years, so its exceedance
  probability is ``i / n`` and its return period ``n / i`` [years] (``ordleccalc``:
  ``retperiod = max_retperiod / i``).
* **Return-period loss** at ``T`` [years], exceedance probability ``p = 1/T``: with
  ``k = n / T``, the loss of rank ``k`` when ``k`` is a whole number; otherwise the linear
  interpolation in return period between the two neighbouring ranks ``floor(k)`` and
  ``floor(k) + 1`` (the rule of Oasis ktools ``aggreports::GetLoss``, which interpolates
  linearly between the computed return periods; unlike ``GetLoss`` a zero neighbour is
  interpolated like any other, so the curve stays continuous). Chosen because it is the
  industry's published rule, needs no distribution, and gives the exact order statistic
  whenever ``n / T`` is whole (for ``n`` a multiple of 250, at every standard ``T``). CLIMADA's
  ``Impact.calc_freq_curve`` differs in two ways: it ranks *events* by their cumulated
  frequency (an exceedance-frequency curve, close to OEP for rare losses) and interpolates
  with ``np.interp`` in return period, clamping outside the range.
* ``T > n_years``: the set holds no year that rare. :func:`return_period_losses` refuses (or,
  asked to, reports ``None`` with the reason); ``ordleccalc`` likewise skips return periods
  beyond the number of periods. ``T < 1`` is refused (an exceedance probability above 1).
* **Interval of a return-period loss**: distribution-free, from order statistics (David and
  Nagaraja 2003, "Order Statistics", 3rd ed., sec. 7.1; Hahn and Meeker 1991, "Statistical
  Intervals", ch. 5): with ``q = 1 - 1/T`` and ``B ~ Binomial(n, q)``, the ascending order
  statistics ``[X_(r), X_(s)]`` cover the q-quantile of the annual loss with probability at
  least ``P(r <= B <= s - 1)``. ``r`` is the largest with ``P(B <= r - 1) <= alpha/2`` and
  ``s`` the smallest with ``P(B <= s - 1) >= 1 - alpha/2`` (equal tails, exact, no random
  draws); the coverage reached is reported. ``r = 0`` means no order statistic is low enough
  (the lower end is then 0, the least possible loss) and ``s = n + 1`` that none is high
  enough (the upper end is ``None``: the set is too short to bound it).

Limits: the metrics describe the event set, not the world: they are only as good as the
hazard model, the event frequencies and the policy applied. Years are treated as independent
and identically distributed (no trend, no clustering beyond what the set holds). The AAL
interval is a normal approximation; the return-period intervals are exact only for a
continuous loss distribution and conservative otherwise (ties, many zero years).

References
----------
See :data:`REFERENCES`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from hazards.errors import ScenarioError
from simulator.engine import financing
from simulator.plans.build import group_sum

log = logging.getLogger(__name__)

#: Provinces in the order used everywhere (PB, SD, KP, BA, IS).
PROVINCES: tuple[str, ...] = financing.PROVINCES
#: Payers whose losses are measured: the federal government, each province, and the total.
PAYERS: tuple[str, ...] = ("federal", *PROVINCES, "total")
#: Return periods reported by default [years] (issue 17).
RETURN_PERIODS: tuple[int, ...] = (5, 10, 25, 50, 100, 250)
#: Confidence level of every interval by default [-].
CONFIDENCE = 0.90
#: Columns of the event payout table, with their kinds (i: integer, O: text).
COLUMNS = {
    "event_id": "i", "year": "i", "hazard": "O", "province_code": "O",
    "federal_pkr": "i", "provincial_pkr": "i", "households": "i",
}
#: The two bases of annual loss.
BASES = ("aep", "oep")

#: How the metrics are made, written into the results with them.
BASIS = (
    "Per payer (federal: the federal share summed over provinces; each province: its provincial "
    "share; total), each year's aggregate loss (sum over the year's events, 0 in a year without "
    "events: the AEP basis) and largest single-event loss (the OEP basis). AAL = mean annual "
    "aggregate loss; its standard error = sample standard deviation (ddof 1) / sqrt(n_years), "
    "its interval the normal approximation (lower end clipped at 0). Return-period loss at T: "
    "annual losses ranked from largest, rank i has exceedance probability i/n_years and return "
    "period n_years/i (Oasis LMF full-uncertainty EP table); at T the loss of rank n_years/T, "
    "interpolated linearly in return period between neighbouring ranks when n_years/T is not "
    "whole (Oasis ktools); T > n_years is not reported. Its interval: distribution-free "
    "order-statistic interval from Binomial(n_years, 1 - 1/T), exact, equal tails."
)
#: The standard texts the definitions follow.
REFERENCES = [
    "Grossi, P. and Kunreuther, H. (eds.) 2005. Catastrophe Modeling: A New Approach to Managing "
    "Risk. Springer. Ch. 2 (exceedance probability curve, AAL) and ch. 7 (risk financing).",
    "Mitchell-Wallace, K., Jones, M., Hillier, J. and Foote, M. (eds.) 2017. Natural Catastrophe "
    "Risk Management and Modelling: A Practitioner's Guide. Wiley. Ch. 2 and 5 (ELT, YLT, AEP, "
    "OEP, AAL).",
    "Oasis LMF. ktools documentation, 4.3 ORD Output Components (ordleccalc: AEP = sum, OEP = "
    "maximum of a period's event losses; full-uncertainty EP table; aalcalc), and "
    "src/leccalc/aggreports.cpp (return period = periods / rank; GetLoss: linear interpolation "
    "between computed return periods). github.com/OasisLMF/ktools.",
    "CLIMADA. climada/engine/impact.py, Impact.calc_freq_curve (events ranked by exceedance "
    "frequency, np.interp in return period) and climada/engine/impact_calc.py, aai_agg = "
    "sum(at_event * frequency). github.com/CLIMADA-project/climada_python (snapshot of "
    "2025-09-30).",
    "David, H. A. and Nagaraja, H. N. 2003. Order Statistics, 3rd ed. Wiley. Sec. 7.1 "
    "(distribution-free confidence intervals for quantiles).",
    "Hahn, G. J. and Meeker, W. Q. 1991. Statistical Intervals: A Guide for Practitioners. Wiley. "
    "Ch. 5 (distribution-free intervals).",
]


# ---------------------------------------------------------------------------------------------
# The event payout table
# ---------------------------------------------------------------------------------------------


def _check_n_years(n_years) -> int:
    if isinstance(n_years, bool) or not isinstance(n_years, (int, np.integer)) or int(n_years) < 1:
        raise ScenarioError(
            f"n_years {n_years!r} must be a whole number >= 1: the years the event set stands for, "
            "years without events included."
        )
    return int(n_years)


def _where(frame: pd.DataFrame, bad: np.ndarray) -> str:
    row = frame.iloc[int(np.argmax(bad))]
    return f"row {int(np.argmax(bad))} (event_id {row['event_id']}, province_code {row['province_code']!r})"


def validate_payout_table(table: pd.DataFrame, n_years: int) -> pd.DataFrame:
    """Check an event payout table and return a clean copy (integer columns as int64).

    Parameters
    ----------
    table
        The event payout table (see the module docstring for its columns).
    n_years
        Years the set stands for [years], >= 1.

    Returns
    -------
    pandas.DataFrame
        The table's columns of :data:`COLUMNS`, integer columns as int64, index reset.

    Raises
    ------
    ScenarioError
        A missing column, a money or households column that is not integer or is negative, a
        year outside 1..n_years, an unknown province code, a duplicate (event_id,
        province_code), an event given different years, or sums beyond what int64 PKR holds.
        Each message names the column (and the first row at fault) and the fix.
    """
    n_years = _check_n_years(n_years)
    if not isinstance(table, pd.DataFrame):
        raise ScenarioError(f"event payout table: expected a pandas DataFrame, got {type(table).__name__}.")
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ScenarioError(
            f"event payout table: missing column(s) {missing}; it needs {list(COLUMNS)} "
            "(one row per event and province)."
        )
    out = table.loc[:, list(COLUMNS)].reset_index(drop=True).copy()
    for column, kind in COLUMNS.items():
        if kind != "i":
            continue
        values = out[column]
        if not pd.api.types.is_integer_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
            raise ScenarioError(
                f"event payout table: column {column!r} must hold integers (int64{' PKR' if column.endswith('_pkr') else ''}), "
                f"got dtype {values.dtype}; round and convert it with .astype('int64') (no missing values)."
            )
        out[column] = values.astype(np.int64)
    out["province_code"] = out["province_code"].astype(str)
    out["hazard"] = out["hazard"].astype(str)
    for column in ("federal_pkr", "provincial_pkr", "households"):
        bad = out[column].to_numpy() < 0
        if bad.any():
            raise ScenarioError(
                f"event payout table: column {column!r} is negative at {_where(out, bad)} "
                f"({int(out[column].to_numpy()[bad][0]):,}); payouts and households are >= 0."
            )
    year = out["year"].to_numpy()
    bad = (year < 1) | (year > n_years)
    if bad.any():
        raise ScenarioError(
            f"event payout table: year {int(year[bad][0])} at {_where(out, bad)} lies outside "
            f"1..n_years = 1..{n_years}; number the years from 1, or give the n_years the set stands for."
        )
    bad = ~out["province_code"].isin(PROVINCES).to_numpy()
    if bad.any():
        raise ScenarioError(
            f"event payout table: province_code {out['province_code'].to_numpy()[bad][0]!r} at "
            f"{_where(out, bad)} is not one of {list(PROVINCES)}."
        )
    bad = out.duplicated(["event_id", "province_code"]).to_numpy()
    if bad.any():
        raise ScenarioError(
            f"event payout table: (event_id, province_code) appears twice at {_where(out, bad)}; "
            "give one row per event and province (sum the duplicates)."
        )
    years = out.groupby("event_id", sort=False)["year"].agg(["min", "max"])
    split = years["min"] != years["max"]
    if split.any():
        raise ScenarioError(
            f"event payout table: event_id {split.index[split.to_numpy()][0]} is given more than one year "
            f"({sorted(out.loc[out.event_id == split.index[split.to_numpy()][0], 'year'].unique().tolist())}); "
            "an event falls in one year: fix its rows."
        )
    financing.check_total(
        np.concatenate([out["federal_pkr"].to_numpy(), out["provincial_pkr"].to_numpy()]),
        "event payout table (federal_pkr + provincial_pkr)",
    )
    return out


# ---------------------------------------------------------------------------------------------
# Per-payer event and annual losses
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnnualLosses:
    """Each payer's losses per event and per year [int64 PKR].

    Attributes
    ----------
    n_years
        Years the set stands for.
    payers
        Column order of every matrix (:data:`PAYERS`).
    event_id, event_year
        Each event of the table (sorted by event_id) and its year (1..n_years).
    event
        Loss of each event to each payer, shape (n_events, n_payers).
    aggregate
        Each year's sum of event losses (the AEP basis), shape (n_years, n_payers); row ``y - 1``
        is year ``y``; 0 in years without events.
    occurrence
        Each year's largest single-event loss (the OEP basis), same shape.
    """

    n_years: int
    payers: tuple[str, ...]
    event_id: np.ndarray
    event_year: np.ndarray
    event: np.ndarray
    aggregate: np.ndarray
    occurrence: np.ndarray

    def column(self, payer: str) -> int:
        """Column of ``payer`` in the matrices (a :class:`ScenarioError` names the valid ones)."""
        if payer not in self.payers:
            raise ScenarioError(f"payer {payer!r} is unknown; choose one of {list(self.payers)}.")
        return self.payers.index(payer)

    def annual(self, payer: str, basis: str = "aep") -> np.ndarray:
        """One payer's annual losses [int64 PKR, length n_years] on ``basis`` ``aep`` or ``oep``."""
        if basis not in BASES:
            raise ScenarioError(f"basis {basis!r} is unknown; choose one of {list(BASES)}.")
        matrix = self.aggregate if basis == "aep" else self.occurrence
        return matrix[:, self.column(payer)]

    def frame(self, basis: str = "aep") -> pd.DataFrame:
        """The annual losses as a DataFrame: index ``year`` 1..n_years, one column per payer."""
        if basis not in BASES:
            raise ScenarioError(f"basis {basis!r} is unknown; choose one of {list(BASES)}.")
        matrix = self.aggregate if basis == "aep" else self.occurrence
        return pd.DataFrame(matrix, columns=list(self.payers),
                            index=pd.RangeIndex(1, self.n_years + 1, name="year"))


def annual_losses(table: pd.DataFrame, n_years: int) -> AnnualLosses:
    """Each payer's loss per event, per year in aggregate (AEP basis) and per year at most
    (OEP basis) [int64 PKR], from an event payout table (validated first).

    Exact in int64: sums by :func:`simulator.plans.build.group_sum`; per-year maxima by
    ``np.maximum.at`` (loops run over the payers only).

    Raises
    ------
    ScenarioError
        As :func:`validate_payout_table`.
    """
    clean = validate_payout_table(table, n_years)
    n_years = int(n_years)
    codes, event_id = pd.factorize(clean["event_id"], sort=True)
    n_events = len(event_id)
    n_prov = len(PROVINCES)
    prov = pd.Categorical(clean["province_code"], categories=list(PROVINCES)).codes.astype(np.int64)
    cell = codes.astype(np.int64) * n_prov + prov
    federal = group_sum(cell, clean["federal_pkr"].to_numpy(), n_events * n_prov).reshape(n_events, n_prov)
    provincial = group_sum(cell, clean["provincial_pkr"].to_numpy(), n_events * n_prov).reshape(n_events, n_prov)
    event = np.empty((n_events, len(PAYERS)), dtype=np.int64)
    event[:, 0] = federal.sum(axis=1)
    event[:, 1:1 + n_prov] = provincial
    event[:, -1] = event[:, 0] + provincial.sum(axis=1)
    event_year = np.zeros(n_events, dtype=np.int64)
    event_year[codes] = clean["year"].to_numpy()
    aggregate = np.empty((n_years, len(PAYERS)), dtype=np.int64)
    occurrence = np.zeros((n_years, len(PAYERS)), dtype=np.int64)
    for p in range(len(PAYERS)):  # loops over the payers
        aggregate[:, p] = group_sum(event_year - 1, event[:, p], n_years)
        column = occurrence[:, p].copy()
        np.maximum.at(column, event_year - 1, event[:, p])
        occurrence[:, p] = column
    log.info("annual_losses: %d events in %d years (%d with events)", n_events, n_years,
             len(np.unique(event_year)))
    return AnnualLosses(n_years=n_years, payers=PAYERS, event_id=np.asarray(event_id, dtype=np.int64),
                        event_year=event_year, event=event, aggregate=aggregate, occurrence=occurrence)


# ---------------------------------------------------------------------------------------------
# Metrics of one vector of annual losses
# ---------------------------------------------------------------------------------------------


def _annual_vector(annual_pkr) -> np.ndarray:
    values = np.asarray(annual_pkr)
    if values.ndim != 1 or not len(values):
        raise ScenarioError("annual losses: give a 1-D array with one loss per year (n_years >= 1).")
    if values.dtype.kind not in "iu":
        raise ScenarioError(f"annual losses must be integer PKR (int64), got dtype {values.dtype}.")
    values = values.astype(np.int64)
    if int(values.min()) < 0:
        raise ScenarioError(f"annual losses: a year's loss is negative ({int(values.min()):,} PKR); losses are >= 0.")
    return values


def _check_confidence(confidence: float) -> float:
    if not 0.0 < float(confidence) < 1.0:
        raise ScenarioError(f"confidence {confidence} must lie strictly between 0 and 1 (e.g. 0.90).")
    return float(confidence)


def _round_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to the nearest integer, halves up (exact, ints >= 0)."""
    return (2 * numerator + denominator) // (2 * denominator)


def average_annual_loss(annual_pkr, *, confidence: float = CONFIDENCE) -> dict:
    """AAL and the year-to-year spread of a vector of annual aggregate losses.

    Parameters
    ----------
    annual_pkr
        One payer's annual aggregate losses [int64 PKR], one per year of the set (zeros for
        years without events), e.g. :meth:`AnnualLosses.annual`.
    confidence
        Level of the AAL's interval [-], 0-1 (:data:`CONFIDENCE`).

    Returns
    -------
    dict
        ``aal_pkr`` (mean, to the rupee, halves up), ``se_pkr`` (standard error of the mean:
        ``std / sqrt(n)``), ``ci_pkr`` ([lower, upper]: ``aal +- z se``, normal approximation,
        lower end clipped at 0), ``confidence``, ``std_pkr`` (sample standard deviation of the
        annual losses, ddof 1; ``None`` when n = 1), ``cv`` (std / AAL, 4 decimals; ``None``
        when the AAL is 0 or n = 1), ``n_years``, ``years_with_loss``. PKR as Python ints.
    """
    from scipy.stats import norm

    values = _annual_vector(annual_pkr)
    confidence = _check_confidence(confidence)
    n = len(values)
    total = int(values.sum(dtype=np.int64))
    mean = total / n
    std = float(values.std(ddof=1)) if n > 1 else None
    se = std / math.sqrt(n) if std is not None else None
    z = float(norm.ppf(0.5 + confidence / 2.0))
    return {
        "aal_pkr": _round_div(total, n),
        "se_pkr": None if se is None else int(round(se)),
        "ci_pkr": None if se is None else [int(round(max(mean - z * se, 0.0))), int(round(mean + z * se))],
        "confidence": confidence,
        "std_pkr": None if std is None else int(round(std)),
        "cv": None if std is None or total == 0 else round(std / mean, 4),
        "n_years": n,
        "years_with_loss": int((values > 0).sum()),
    }


def order_statistic_interval(n: int, q: float, confidence: float = CONFIDENCE) -> tuple[int, int, float]:
    """Ranks of a distribution-free equal-tailed interval for the q-quantile from ``n`` values.

    With ``B ~ Binomial(n, q)`` and ``F`` its CDF: ``r`` is the largest in 0..n with
    ``F(r - 1) <= (1 - confidence) / 2`` (``F(-1) = 0``) and ``s`` the smallest in 1..n+1 with
    ``F(s - 1) >= (1 + confidence) / 2``; the ascending order statistics ``[X_(r), X_(s)]``
    then cover the quantile with probability at least ``F(s - 1) - F(r - 1)`` (David and
    Nagaraja 2003, sec. 7.1), which is returned as the coverage.

    Returns
    -------
    (r, s, coverage)
        1-based ascending ranks; ``r = 0``: no lower order statistic qualifies; ``s = n + 1``:
        no upper one does.
    """
    from scipy.stats import binom

    confidence = _check_confidence(confidence)
    alpha = 1.0 - confidence
    cdf = binom.cdf(np.arange(n + 1), n, q)  # F(0..n); F(n) = 1
    lower_k = int(np.searchsorted(cdf, alpha / 2.0, side="right")) - 1  # largest k with F(k) <= a/2
    upper_k = int(np.searchsorted(cdf, 1.0 - alpha / 2.0, side="left"))  # smallest k with F(k) >= 1-a/2
    upper_k = min(upper_k, n)
    r = lower_k + 1
    s = upper_k + 1
    coverage = float(cdf[upper_k]) - (float(cdf[lower_k]) if lower_k >= 0 else 0.0)
    return r, s, coverage


def _return_period_fraction(period) -> Fraction:
    try:
        t = Fraction(period)
    except (TypeError, ValueError) as exc:
        raise ScenarioError(f"return period {period!r} must be a number of years >= 1.") from exc
    if not math.isfinite(float(t)) or t < 1:
        raise ScenarioError(f"return period {period!r} must be >= 1 year (an exceedance probability of at most 1).")
    return t


def return_period_losses(annual_pkr, return_periods: Sequence[float] = RETURN_PERIODS, *,
                         confidence: float = CONFIDENCE, beyond_set: str = "refuse") -> list[dict]:
    """Losses at return periods [PKR] with their order-statistic intervals.

    The rule (module docstring): annual losses ranked from largest, rank ``i`` has exceedance
    probability ``i / n`` and return period ``n / i``; the loss at ``T`` is that of rank
    ``k = n / T`` when whole, else interpolated linearly in return period between ranks
    ``floor(k)`` and ``floor(k) + 1`` (Oasis ktools ``GetLoss``). ``k`` is found in exact
    rational arithmetic, so ``T = n / i`` always hits rank ``i`` exactly.

    Parameters
    ----------
    annual_pkr
        Annual losses [int64 PKR], one per year (AEP basis: aggregate; OEP basis: largest event).
    return_periods
        Return periods [years], each >= 1.
    confidence
        Level of the intervals [-] (:data:`CONFIDENCE`).
    beyond_set
        ``"refuse"`` raises for ``T > n_years``; ``"none"`` reports ``loss_pkr`` None with the
        reason in ``note``.

    Returns
    -------
    list of dict
        One per return period, in the order given: ``return_period_years``,
        ``exceedance_probability`` (1/T, 6 significant digits), ``loss_pkr`` (int, rounded to
        the rupee), ``rank`` (the rank k = n/T, a float when interpolated), ``interpolated``,
        ``ci_pkr`` ([lower, upper]; upper ``None`` when no order statistic bounds it),
        ``ci_ranks`` (descending ranks of the bounds, None where unbounded), ``coverage``
        (probability the interval holds the quantile, >= confidence), ``note``.

    Raises
    ------
    ScenarioError
        A return period below 1, or above n_years with ``beyond_set="refuse"``, or an unknown
        ``beyond_set``.
    """
    if beyond_set not in ("refuse", "none"):
        raise ScenarioError(f"beyond_set {beyond_set!r} is unknown; choose 'refuse' or 'none'.")
    values = _annual_vector(annual_pkr)
    confidence = _check_confidence(confidence)
    n = len(values)
    asc = np.sort(values)
    desc = asc[::-1]
    out = []
    for period in return_periods:  # loops over the return periods
        t = _return_period_fraction(period)
        entry = {"return_period_years": float(t) if t.denominator != 1 else int(t),
                 "exceedance_probability": float(f"{1 / float(t):.6g}")}
        if t > n:
            reason = (f"T = {float(t):g} years exceeds the {n} years of the event set: no year of the set is "
                      f"that rare; use a set of at least {math.ceil(t)} years.")
            if beyond_set == "refuse":
                raise ScenarioError(f"return period: {reason}")
            out.append({**entry, "loss_pkr": None, "rank": None, "interpolated": None, "ci_pkr": None,
                        "ci_ranks": None, "coverage": None, "note": reason})
            continue
        k = Fraction(n) / t
        i = math.floor(k)
        if k == i:
            loss = float(desc[i - 1])
        else:  # between return periods n/i (rank i) and n/(i+1) (rank i+1), linear in T
            rp_hi, rp_lo = Fraction(n, i), Fraction(n, i + 1)
            x_hi, x_lo = int(desc[i - 1]), int(desc[i])
            loss = float(x_lo + (t - rp_lo) * (x_hi - x_lo) / (rp_hi - rp_lo))
        r, s, coverage = order_statistic_interval(n, 1.0 - 1.0 / float(t), confidence)
        lower = int(asc[r - 1]) if r >= 1 else 0
        upper = int(asc[s - 1]) if s <= n else None
        out.append({
            **entry,
            "loss_pkr": int(round(loss)),
            "rank": int(k) if k == i else round(float(k), 6),
            "interpolated": bool(k != i),
            "ci_pkr": [lower, upper],
            "ci_ranks": [n + 1 - r if r >= 1 else None, n + 1 - s if s <= n else None],
            "coverage": round(coverage, 6),
            "note": None if s <= n else
            f"no upper bound: {n} years are too few to bound the 1-in-{float(t):g} loss at {confidence:.0%}",
        })
    return out


def exceedance_curve(annual_pkr) -> pd.DataFrame:
    """The empirical exceedance curve of annual losses, for plotting.

    Returns
    -------
    pandas.DataFrame
        One row per year of the set, largest loss first: ``rank`` (1..n), ``loss_pkr``
        (int64), ``exceedance_probability`` (rank / n: the share of years with a loss at least
        this large; tied losses get one point per rank, the last of them at the tie's true
        empirical probability) and ``return_period_years`` (n / rank). Years without loss are
        included (loss 0).
    """
    values = _annual_vector(annual_pkr)
    n = len(values)
    rank = np.arange(1, n + 1, dtype=np.int64)
    return pd.DataFrame({
        "rank": rank,
        "loss_pkr": np.sort(values)[::-1],
        "exceedance_probability": rank / n,
        "return_period_years": n / rank,
    })


def exceedance_curves(losses: AnnualLosses, payers: Sequence[str] | None = None) -> pd.DataFrame:
    """Every payer's AEP and OEP exceedance curves in one long table (for plotting).

    Columns: ``payer``, ``basis`` (``aep``/``oep``), then those of :func:`exceedance_curve`.
    Sorted once for all payers (``np.sort`` along the years).
    """
    payers = list(losses.payers if payers is None else payers)
    columns = [losses.column(p) for p in payers]
    n = losses.n_years
    rank = np.arange(1, n + 1, dtype=np.int64)
    frames = []
    for basis, matrix in (("aep", losses.aggregate), ("oep", losses.occurrence)):  # two bases
        desc = np.sort(matrix[:, columns], axis=0)[::-1]
        frames.append(pd.DataFrame({
            "payer": np.repeat(payers, n),
            "basis": basis,
            "rank": np.tile(rank, len(payers)),
            "loss_pkr": desc.T.reshape(-1),
            "exceedance_probability": np.tile(rank / n, len(payers)),
            "return_period_years": np.tile(n / rank, len(payers)),
        }))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------------------------
# All metrics, JSON-ready
# ---------------------------------------------------------------------------------------------


def risk_metrics(table: pd.DataFrame | AnnualLosses, n_years: int | None = None, *,
                 return_periods: Sequence[float] = RETURN_PERIODS,
                 confidence: float = CONFIDENCE, payers: Sequence[str] | None = None) -> dict:
    """Every payer's AAL, spread and AEP/OEP return-period losses, JSON-ready.

    Parameters
    ----------
    table
        The event payout table (then ``n_years`` is needed) or :class:`AnnualLosses`.
    n_years
        Years the set stands for (ignored for :class:`AnnualLosses`).
    return_periods
        [years] (:data:`RETURN_PERIODS`); those above ``n_years`` are reported with
        ``loss_pkr`` None and the reason.
    confidence
        Level of every interval [-] (:data:`CONFIDENCE`).
    payers
        Payers to report (all of :data:`PAYERS` when None).

    Returns
    -------
    dict
        ``basis``, ``references``, ``n_years``, ``n_events``, ``confidence``,
        ``return_periods``, and ``payers``: per payer ``{"aal": ...}`` (see
        :func:`average_annual_loss`), ``"aep"`` and ``"oep"`` (lists from
        :func:`return_period_losses`) and ``"max_annual_pkr"`` (largest annual aggregate).
    """
    if isinstance(table, AnnualLosses):
        losses = table
    else:
        if n_years is None:
            raise ScenarioError("risk_metrics: give n_years, the years the event set stands for.")
        losses = annual_losses(table, n_years)
    payers = list(losses.payers if payers is None else payers)
    result = {}
    for payer in payers:  # loops over the payers
        aep = losses.annual(payer, "aep")
        result[payer] = {
            "aal": average_annual_loss(aep, confidence=confidence),
            "max_annual_pkr": int(aep.max()),
            "aep": return_period_losses(aep, return_periods, confidence=confidence, beyond_set="none"),
            "oep": return_period_losses(losses.annual(payer, "oep"), return_periods,
                                        confidence=confidence, beyond_set="none"),
        }
    return {
        "basis": BASIS,
        "references": list(REFERENCES),
        "n_years": losses.n_years,
        "n_events": len(losses.event_id),
        "confidence": float(confidence),
        "return_periods": [float(t) if Fraction(t).denominator != 1 else int(t) for t in return_periods],
        "payers": result,
    }
