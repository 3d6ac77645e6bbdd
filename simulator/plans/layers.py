"""Risk layers, co-financing pools and parametric triggers over an event set's losses.

Pure, vectorized functions downstream of :func:`simulator.plans.risk.annual_losses` (no files,
no printing; logging only): no Python loop over events or years (loops run over layers, payers
and funders).

======================  ========================================================================
:class:`Layer`          one layer of a payer's tower, in the Oasis financial-terms style
:class:`Pool`           who funds a pooled layer: the federal government and provinces by a key
:func:`check_layers`    validates a programme (one clear error per mistake)
:func:`apply_layers`    each layer's payout per year, what the payer retains, who funds what,
                        and per layer the expected annual cost, P(attach), P(exhaust), premium
:func:`pool_split`      an array of amounts split exactly over funders by a pool's key
:class:`Trigger`        a parametric trigger on a hazard index with a pre-arranged payout
:func:`evaluate_trigger`  how often it fires, basis risk against need, money released early
======================  ========================================================================

Layer terms (Oasis LMF financial module: attachment, limit, share; layers of one level apply
to the same loss, ktools ``docs/md/FinancialModule.md``)
---------------------------------------------------------------------------------------------
A layer of payer P (``"federal"``, a province code or ``"total"``) pays, on a loss ``x``
[PKR]::

    layer(x) = floor(share * min(max(x - attachment, 0), limit))      (limit None: no min)

in int64 PKR, the share used in parts per million (:data:`SHARE_DENOMINATOR`; a share given
more finely is rounded to the nearest ppm) by :func:`simulator.engine.financing.mul_div`
(exact, no overflow). Rounding: **floor**; the fraction of a rupee it drops, like the part of
the band outside the share, is **retained** by the payer. What no layer pays is retained:
``sum(layers) + retained = loss`` exactly, every year, for every payer.

* ``basis="occurrence"``: applied to each event's loss, the payouts summed per year.
* ``basis="aggregate"``: applied to the year's aggregate loss.
* A payer with both: occurrence layers apply first, per event, and aggregate layers apply to
  the year's sum of what the occurrence layers left (they *inure* to the aggregate layers,
  as a per-event cover inures to an annual stop-loss in reinsurance), so nothing is paid twice.
* ``order``: the layers of a payer are stacked by order (the reserve at 1, the fund above it,
  ...), all over the same loss; orders are unique per payer. Layers of a payer and basis may
  overlap (a quota share of one band) as long as their shares add up to at most 1 at every
  loss, so the layers never pay more than the loss.

Per layer (:func:`apply_layers`): the **expected annual cost** (mean over the ``n_years`` of
its annual payout), the **probability of attachment** (share of years in which the loss
passes the attachment: for an occurrence layer, some event's loss does), the **probability of
exhaustion** (share of years in which the loss reaches attachment + limit: for an occurrence
layer, some event's does; ``None`` for an unlimited layer) and the **indicative premium** =
expected annual cost x ``premium_multiple`` (:data:`PREMIUM_BASIS`): multiples of 1.5-3 are
typical of catastrophe layers (Mitchell-Wallace et al. 2017, ch. 7; the World Bank's
cat bonds and CCRIF's pricing sit in that range), but the multiple is the caller's
ASSUMPTION: a rough indication, not a quote.

Co-financing pools (:class:`Pool`)
----------------------------------
A layer with a pool is funded jointly. Its annual payout is split: the federal government
funds ``federal_share`` of it, rounded down to the rupee with the share in basis points (the
rule of :func:`simulator.engine.financing.split`), and the provinces fund the rest by
``key``: ``nfc7`` or ``population2023`` (``data/cost_sharing_keys.csv`` through
:func:`simulator.engine.financing.key_numerators`), ``exposure`` (shares the caller gives per
province, e.g. its share of exposed households) or ``equal`` (equal shares over the listed
provinces). The provincial part is split by the largest-remainder method, ties to the
province listed first (as :func:`simulator.engine.financing.largest_remainder`, here
vectorized over years): contributions add up to the payout exactly.

Parametric triggers (:class:`Trigger`, :func:`evaluate_trigger`)
----------------------------------------------------------------
A trigger compares a hazard index (a district's flooded share, river discharge, forecast
rainfall at a lead time ...; given by the caller per year, or per event and reduced to each
year's maximum for ``>=`` or minimum for ``<=``) with a threshold and releases a pre-arranged
payout, at most once a year. Basis risk is judged against **need**: years in which the
modelled payout (e.g. the total annual loss) exceeds a stated need threshold. Reported: fires
("once every N years", N = n_years / fires), hits, **false alarms** (fires without need),
**misses** (need without firing), hit rate (hits / years of need), false-alarm ratio (false
alarms / fires) and the money released early (payout x fires, and per year on average).
Terms follow the anticipatory-action literature (WMO forecast verification: hit rate, false
alarm ratio; the Red Cross 510 Impact-Based Forecasting and OCHA anticipatory frameworks).

Limits: layers price nothing: the premium is a stated multiple of the modelled expected loss,
not a market price; reinstatements, annual aggregate deductibles of occurrence layers, and
multi-year terms are not modelled. Towers of different payers are independent: a ``total``
tower and a province's tower cover overlapping money, so declare one or the other for a
given purpose. A trigger pays a fixed amount at most once a year; several payouts in a year
(several events) are not modelled.

References
----------
See :data:`REFERENCES` (and :data:`simulator.plans.risk.REFERENCES` for the loss metrics).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hazards.errors import ScenarioError
from simulator.engine import financing
from simulator.plans.build import group_sum
from simulator.plans.risk import PAYERS, AnnualLosses

log = logging.getLogger(__name__)

#: Kinds of layer (closed set; the kind is a label for reports, the terms do the work).
KINDS = ("reserve", "fund", "contingent_credit", "parametric_insurance", "cat_bond", "pool")
#: Bases a layer applies on.
LAYER_BASES = ("occurrence", "aggregate")
#: Keys a pool may be shared by.
POOL_KEYS = ("nfc7", "population2023", "exposure", "equal")
#: Governments that can fund a pooled layer (Islamabad has no provincial government).
FUNDERS: tuple[str, ...] = ("federal", "PB", "SD", "KP", "BA")
#: A layer's share is used in parts of this (parts per million).
SHARE_DENOMINATOR = 1_000_000
#: A pool's federal share is used in basis points, as in :func:`simulator.engine.financing.split`.
FEDERAL_SHARE_DENOMINATOR = 10_000
#: Directions a trigger may compare its index in.
DIRECTIONS = (">=", "<=")

#: How layer payouts are made, written into the results with them.
BASIS = (
    "Each layer pays floor(share x min(max(loss - attachment, 0), limit)) in int64 PKR (share to "
    "1 ppm), on each event's loss (occurrence basis, summed per year) or on the year's aggregate "
    "loss (aggregate basis); a payer's occurrence layers apply first and its aggregate layers to "
    "what they leave. What no layer pays, rounding included, is retained by the payer: layers + "
    "retained = loss exactly, every year. Expected annual cost = mean annual payout over the "
    "event set's years; P(attach) = share of years the loss passes the attachment; P(exhaust) = "
    "share of years it reaches attachment + limit. A pooled layer's payout is funded by the "
    "federal government (federal_share, floored to the rupee) and the provinces by the pool's "
    "key (largest remainder, exact)."
)
#: Basis of the indicative premium.
PREMIUM_BASIS = (
    "expected annual layer loss x premium_multiple (the multiple is a stated ASSUMPTION); a rough "
    "indication, not a quote: market prices add capital, expense and uncertainty loads and vary "
    "with the market cycle."
)
#: Basis of trigger verification.
TRIGGER_BASIS = (
    "The index (per year; per event reduced to the year's maximum for >= or minimum for <=) fires "
    "the trigger in years where it reaches the threshold; at most one payout a year. Need: years "
    "whose modelled payout exceeds the need threshold. Hit: fires with need; false alarm: fires "
    "without need; miss: need without firing. Hit rate = hits / years of need; false-alarm ratio "
    "= false alarms / fires; once every N years with N = n_years / fires."
)
#: The texts the layer and trigger terms follow.
REFERENCES = [
    "Oasis LMF. ktools documentation, Financial Module (attachment, limit, share; layers of a "
    "level applied to the same loss). github.com/OasisLMF/ktools, docs/md/FinancialModule.md.",
    "Grossi, P. and Kunreuther, H. (eds.) 2005. Catastrophe Modeling: A New Approach to Managing "
    "Risk. Springer. Ch. 7-8 (layers, risk transfer, pricing from the EP curve).",
    "Mitchell-Wallace, K., Jones, M., Hillier, J. and Foote, M. (eds.) 2017. Natural Catastrophe "
    "Risk Management and Modelling. Wiley. Ch. 7 (risk transfer, layer pricing, multiples of "
    "expected loss).",
    "World Bank 2014. Financial Protection Against Natural Disasters: An Operational Framework for "
    "Disaster Risk Financing and Insurance (risk layering: reserves, contingent credit, "
    "insurance).",
    "WMO 2012 / Jolliffe and Stephenson 2012. Forecast Verification, 2nd ed. Wiley (hit rate, "
    "false alarm ratio).",
]


# ---------------------------------------------------------------------------------------------
# Terms
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pool:
    """Who funds a pooled layer.

    Attributes
    ----------
    key
        One of :data:`POOL_KEYS`: ``nfc7``, ``population2023`` (the keys of
        ``data/cost_sharing_keys.csv``), ``exposure`` (``shares`` given) or ``equal``.
    federal_share
        Part the federal government funds [0-1], used in basis points; the provinces fund the
        rest by the key.
    shares
        ``exposure`` only: a weight per province (PB, SD, KP, BA), e.g. exposed households;
        normalised.
    provinces
        ``equal`` only: the provinces sharing equally (the four by default).
    """

    key: str
    federal_share: float = 0.0
    shares: Mapping[str, float] | None = None
    provinces: tuple[str, ...] = ("PB", "SD", "KP", "BA")


@dataclass(frozen=True)
class Layer:
    """One layer of a payer's tower (Oasis financial terms).

    Attributes
    ----------
    name
        Unique name in the programme.
    payer
        Whose loss the layer covers: ``"federal"``, a province code or ``"total"``
        (:data:`simulator.plans.risk.PAYERS`).
    attachment_pkr
        Loss at which the layer starts paying [PKR], >= 0.
    limit_pkr
        Most the layer's band holds [PKR], > 0; None: unlimited.
    share
        Part of the band the layer pays [0-1], > 0.
    order
        Position in the payer's tower (1 lowest); unique per payer.
    basis
        ``"occurrence"`` (per event) or ``"aggregate"`` (per year).
    premium_multiple
        Indicative premium = expected annual cost x this [-], >= 0; None: no premium.
    kind
        One of :data:`KINDS`.
    pool
        Who funds the layer when it is pooled (required for ``kind="pool"``); None: the payer
        funds it.
    """

    name: str
    payer: str
    attachment_pkr: int = 0
    limit_pkr: int | None = None
    share: float = 1.0
    order: int = 1
    basis: str = "aggregate"
    premium_multiple: float | None = None
    kind: str = "fund"
    pool: Pool | None = field(default=None)


def _whole(value, what: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float, np.floating)):
        raise ScenarioError(f"{what} {value!r} must be a whole number of PKR >= {minimum}.")
    if isinstance(value, (float, np.floating)) and (not math.isfinite(value) or value != int(value)):
        raise ScenarioError(f"{what} {value!r} must be a whole number of PKR >= {minimum}.")
    number = int(value)
    if number < minimum:
        raise ScenarioError(f"{what} {number:,} must be >= {minimum:,} PKR.")
    if number > financing.MAX_TOTAL_PKR:
        raise ScenarioError(f"{what} {number:,} exceeds PKR {financing.MAX_TOTAL_PKR:.3e} (int64 PKR must hold it exactly).")
    return number


def _check_pool(layer: Layer) -> None:
    pool = layer.pool
    where = f"layer {layer.name!r}: pool"
    if not isinstance(pool, Pool):
        raise ScenarioError(f"{where} must be a Pool(key=..., federal_share=...), got {type(pool).__name__}.")
    if pool.key not in POOL_KEYS:
        raise ScenarioError(f"{where} key {pool.key!r} is unknown; choose one of {list(POOL_KEYS)}.")
    if not (isinstance(pool.federal_share, (int, float)) and 0.0 <= pool.federal_share <= 1.0):
        raise ScenarioError(f"{where} federal_share {pool.federal_share!r} must lie in [0, 1].")
    if pool.key == "exposure":
        if not pool.shares:
            raise ScenarioError(
                f"{where} key 'exposure' needs shares: a weight per province, e.g. "
                "shares={'PB': 0.4, 'SD': 0.4, 'KP': 0.1, 'BA': 0.1} (exposed households)."
            )
        unknown = [p for p in pool.shares if p not in FUNDERS[1:]]
        if unknown:
            raise ScenarioError(f"{where} shares name {unknown}; give weights for provinces {list(FUNDERS[1:])} only "
                                "(the federal part is federal_share).")
        weights = np.array(list(pool.shares.values()), dtype=np.float64)
        if not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
            raise ScenarioError(f"{where} shares must be finite, >= 0 and not all 0, got {dict(pool.shares)}.")
    elif pool.shares is not None:
        raise ScenarioError(f"{where} shares are only for key 'exposure' (key is {pool.key!r}).")
    if pool.key == "equal":
        bad = [p for p in pool.provinces if p not in FUNDERS[1:]]
        if bad or not pool.provinces or len(set(pool.provinces)) != len(pool.provinces):
            raise ScenarioError(f"{where} provinces {list(pool.provinces)} must be distinct codes of {list(FUNDERS[1:])}.")
    if pool.key in ("nfc7", "population2023"):
        financing.key_numerators(pool.key)  # the key's table is readable and exact


def check_layers(layers: Sequence[Layer]) -> list[Layer]:
    """Validate a programme; returns its layers sorted by (payer, order).

    Raises
    ------
    ScenarioError
        An empty or duplicate name, an unknown payer, basis, kind or pool key, an attachment
        < 0, a limit <= 0, a share outside (0, 1], a negative premium multiple, two layers of a
        payer with one order, a pool missing for ``kind="pool"``, or layers of a payer and basis
        whose shares add up to more than 1 over some band of loss. Each message names the layer
        and the field.
    """
    layers = list(layers)
    names = set()
    for layer in layers:  # loops over the layers
        if not isinstance(layer, Layer):
            raise ScenarioError(f"a programme holds Layer objects, got {type(layer).__name__}.")
        if not isinstance(layer.name, str) or not layer.name.strip():
            raise ScenarioError("a layer needs a name (a non-empty string).")
        if layer.name in names:
            raise ScenarioError(f"layer name {layer.name!r} is used twice; give every layer its own name.")
        names.add(layer.name)
        where = f"layer {layer.name!r}:"
        if layer.payer not in PAYERS:
            raise ScenarioError(f"{where} payer {layer.payer!r} is unknown; choose one of {list(PAYERS)}.")
        _whole(layer.attachment_pkr, f"{where} attachment_pkr", minimum=0)
        if layer.limit_pkr is not None:
            _whole(layer.limit_pkr, f"{where} limit_pkr", minimum=1)
        share = layer.share
        if isinstance(share, bool) or not isinstance(share, (int, float, np.integer, np.floating)) \
                or not 0.0 < float(share) <= 1.0:
            raise ScenarioError(f"{where} share {share!r} must lie in (0, 1]: the part of the band the layer pays.")
        if round(float(share) * SHARE_DENOMINATOR) == 0:
            raise ScenarioError(f"{where} share {share!r} is below 1 ppm; give at least 1e-6.")
        if layer.basis not in LAYER_BASES:
            raise ScenarioError(f"{where} basis {layer.basis!r} is unknown; choose one of {list(LAYER_BASES)}.")
        if layer.kind not in KINDS:
            raise ScenarioError(f"{where} kind {layer.kind!r} is unknown; choose one of {list(KINDS)}.")
        if isinstance(layer.order, bool) or not isinstance(layer.order, (int, np.integer)):
            raise ScenarioError(f"{where} order {layer.order!r} must be a whole number (1: lowest in the tower).")
        multiple = layer.premium_multiple
        if multiple is not None and (isinstance(multiple, bool) or not isinstance(multiple, (int, float))
                                     or not math.isfinite(multiple) or multiple < 0):
            raise ScenarioError(f"{where} premium_multiple {multiple!r} must be a number >= 0 (or None).")
        if layer.kind == "pool" and layer.pool is None:
            raise ScenarioError(f"{where} kind 'pool' needs pool=Pool(key=..., federal_share=...).")
        if layer.pool is not None:
            _check_pool(layer)
    for payer in PAYERS:  # loops over the payers
        mine = [la for la in layers if la.payer == payer]
        orders = [int(la.order) for la in mine]
        if len(set(orders)) != len(orders):
            twice = sorted({o for o in orders if orders.count(o) > 1})
            raise ScenarioError(f"payer {payer!r}: order {twice} is given to more than one layer; "
                                "give each layer of a payer its own order.")
        for basis in LAYER_BASES:
            _check_overlap(payer, basis, [la for la in mine if la.basis == basis])
    return sorted(layers, key=lambda la: (PAYERS.index(la.payer), int(la.order)))


def _check_overlap(payer: str, basis: str, layers: list[Layer]) -> None:
    """Shares of layers over any band of loss add up to at most 1 (in ppm, exactly)."""
    if len(layers) < 2:
        return
    starts = [int(la.attachment_pkr) for la in layers]
    ends = [math.inf if la.limit_pkr is None else int(la.attachment_pkr) + int(la.limit_pkr) for la in layers]
    for point in sorted(set(starts)):  # loops over the layers' attachments
        covering = [la for la, s, e in zip(layers, starts, ends, strict=True) if s <= point < e]
        total = sum(round(float(la.share) * SHARE_DENOMINATOR) for la in covering)
        if total > SHARE_DENOMINATOR:
            raise ScenarioError(
                f"payer {payer!r}, {basis} layers {[la.name for la in covering]} overlap at a loss of "
                f"PKR {point:,} with shares adding up to {total / SHARE_DENOMINATOR:g} > 1; they would pay "
                "more than the loss. Move an attachment or lower a share."
            )


# ---------------------------------------------------------------------------------------------
# Exact splits
# ---------------------------------------------------------------------------------------------


def _share_ppm(share: float) -> int:
    return int(round(float(share) * SHARE_DENOMINATOR))


def _numerators(weights) -> np.ndarray:
    """Integer numerators of ``weights`` as :func:`financing.largest_remainder` makes them."""
    weights = np.asarray(weights)
    if np.issubdtype(weights.dtype, np.integer):
        return weights.astype(np.int64)
    weights = weights.astype(np.float64)
    total = weights.sum()
    return np.rint(weights / total * 1e9).astype(np.int64) if total > 0 else np.zeros(len(weights), np.int64)


def largest_remainder_many(totals, weights) -> np.ndarray:
    """Split each of ``totals`` [int64 >= 0] by ``weights`` into integers adding up to it exactly.

    Row ``i`` equals :func:`simulator.engine.financing.largest_remainder` ``(totals[i],
    weights)`` (same numerators, floors by :func:`~simulator.engine.financing.mul_div`, the
    rupees left over to the largest remainders, ties to the first), vectorized: shape
    (len(totals), len(weights)).
    """
    totals = np.asarray(totals, dtype=np.int64)
    numerators = _numerators(weights)
    denominator = int(numerators.sum())
    out = np.zeros((len(totals), len(numerators)), dtype=np.int64)
    if denominator == 0 or not len(totals):
        return out
    if (totals < 0).any():
        raise ScenarioError("largest_remainder_many: an amount to split is negative.")
    if (numerators < 0).any() or denominator > 3_000_000_000:
        raise ScenarioError("largest_remainder_many: integer weights must be >= 0 and add up to at most 3e9.")
    out = financing.mul_div(totals[:, None], numerators[None, :], denominator)
    remainder = ((totals % denominator)[:, None] * numerators[None, :]) % denominator
    left = totals - out.sum(axis=1)
    order = np.argsort(-remainder, axis=1, kind="stable")
    position = np.empty_like(order)
    np.put_along_axis(position, order, np.arange(len(numerators))[None, :].repeat(len(totals), axis=0), axis=1)
    return out + (position < left[:, None])


def pool_weights(pool: Pool) -> np.ndarray:
    """Integer weights of PB, SD, KP, BA for the provincial part of ``pool``."""
    if pool.key in ("nfc7", "population2023"):
        numerators = financing.key_numerators(pool.key)
        return np.array([numerators[financing.PROVINCES.index(p)] for p in FUNDERS[1:]], dtype=np.int64)
    if pool.key == "equal":
        return np.array([1 if p in pool.provinces else 0 for p in FUNDERS[1:]], dtype=np.int64)
    weights = np.array([float(pool.shares.get(p, 0.0)) for p in FUNDERS[1:]])
    return _numerators(weights)


def pool_split(amount_pkr, pool: Pool) -> pd.DataFrame:
    """Who funds each amount of a pooled layer [int64 PKR]: one column per :data:`FUNDERS`.

    The federal government funds ``floor(amount x federal_share)`` (share in basis points),
    the provinces the rest by the pool's key, by largest remainder: every row adds up to its
    amount exactly.

    Raises
    ------
    ScenarioError
        An unknown key (listing the valid ones), bad shares, or a negative amount.
    """
    _check_pool(Layer(name="pool_split", payer="total", kind="pool", pool=pool))
    amount = np.asarray(amount_pkr, dtype=np.int64)
    if len(amount) and int(amount.min()) < 0:
        raise ScenarioError("pool_split: an amount is negative; layer payouts are >= 0.")
    federal = financing.mul_div(amount, round(float(pool.federal_share) * FEDERAL_SHARE_DENOMINATOR),
                                FEDERAL_SHARE_DENOMINATOR)
    provinces = largest_remainder_many(amount - federal, pool_weights(pool))
    return pd.DataFrame(np.column_stack([federal, provinces]), columns=list(FUNDERS))


# ---------------------------------------------------------------------------------------------
# Applying a programme
# ---------------------------------------------------------------------------------------------


def layer_loss(loss_pkr, layer: Layer) -> np.ndarray:
    """What ``layer`` pays on each loss [int64 PKR]: ``floor(share x min(max(x - attachment, 0),
    limit))`` (exact; the share to 1 ppm)."""
    band = _band(np.asarray(loss_pkr, dtype=np.int64), layer)
    return financing.mul_div(band, _share_ppm(layer.share), SHARE_DENOMINATOR)


def _band(loss: np.ndarray, layer: Layer) -> np.ndarray:
    band = np.maximum(loss - np.int64(int(layer.attachment_pkr)), 0)
    return band if layer.limit_pkr is None else np.minimum(band, np.int64(int(layer.limit_pkr)))


@dataclass
class LayerResult:
    """A programme applied to an event set's losses.

    Attributes
    ----------
    n_years
        Years of the set.
    layers
        The programme, sorted by (payer, order).
    annual
        Each layer's payout per year [int64 PKR]: index ``year`` 1..n_years, one column per
        layer name.
    retained
        What each payer with a tower keeps per year [int64 PKR], one column per payer.
    loss
        Each such payer's annual aggregate loss [int64 PKR]; ``loss = retained + its layers``.
    attached, exhausted
        Per year and layer (bool): the loss passed the attachment / reached attachment + limit
        (for an occurrence layer: some event's did; exhausted is all False when unlimited).
    funding
        Long table ``year``, ``layer``, ``funder``, ``pkr`` [int64]: who funds each layer's
        payout (the payer, or the pool's funders); adds up to ``annual`` per layer and year.
    summary
        Per layer, JSON-ready (see :func:`apply_layers`).
    """

    n_years: int
    layers: list[Layer]
    annual: pd.DataFrame
    retained: pd.DataFrame
    loss: pd.DataFrame
    attached: pd.DataFrame
    exhausted: pd.DataFrame
    funding: pd.DataFrame
    summary: list[dict]

    def reconciles(self) -> bool:
        """True when, every year and for every payer, its layers + retained = its loss, and
        every layer's funding adds up to its payout."""
        for payer in self.loss.columns:  # loops over payers
            names = [la.name for la in self.layers if la.payer == payer]
            if not (self.annual[names].sum(axis=1) + self.retained[payer] == self.loss[payer]).all():
                return False
        funded = self.funding.groupby(["layer", "year"])["pkr"].sum().unstack("layer")
        funded = funded.reindex(index=self.annual.index, columns=self.annual.columns, fill_value=0)
        return bool((funded.to_numpy() == self.annual.to_numpy()).all())

    def to_dict(self) -> dict:
        """JSON-ready: ``basis``, ``premium_basis``, ``references``, ``n_years``, ``layers``
        (the summary) and ``retained`` (per payer: expected annual retained [PKR])."""
        return {
            "basis": BASIS,
            "premium_basis": PREMIUM_BASIS,
            "references": list(REFERENCES),
            "n_years": self.n_years,
            "layers": self.summary,
            "retained": {p: _mean_pkr(self.retained[p].to_numpy()) for p in self.retained.columns},
        }


def _mean_pkr(values: np.ndarray) -> int:
    total, n = int(values.sum(dtype=np.int64)), len(values)
    return (2 * total + n) // (2 * n)


def apply_layers(losses: AnnualLosses, layers: Sequence[Layer]) -> LayerResult:
    """Apply a programme of layers to each payer's losses, year by year and event by event.

    Parameters
    ----------
    losses
        From :func:`simulator.plans.risk.annual_losses`.
    layers
        The programme (:class:`Layer`; validated by :func:`check_layers`).

    Returns
    -------
    LayerResult
        With ``summary``: per layer ``name``, ``kind``, ``payer``, ``basis``, ``order``,
        ``attachment_pkr``, ``limit_pkr``, ``share``, ``expected_annual_cost_pkr`` (mean
        annual payout, to the rupee), ``max_annual_pkr``, ``p_attach``, ``p_exhaust`` (None
        when unlimited), ``premium_multiple``, ``indicative_premium_pkr`` (None without a
        multiple), ``premium_basis``, and ``funding``: ``{"funder": expected annual PKR}`` with
        the pool's ``key`` and ``federal_share`` when pooled.

    Raises
    ------
    ScenarioError
        As :func:`check_layers`.
    """
    layers = check_layers(layers)
    n = losses.n_years
    years = pd.RangeIndex(1, n + 1, name="year")
    event_year0 = losses.event_year - 1
    annual, attached, exhausted, retained, gross = {}, {}, {}, {}, {}
    for payer in dict.fromkeys(la.payer for la in layers):  # loops over the payers with layers
        col = losses.column(payer)
        event_loss = losses.event[:, col]
        event_net = event_loss.copy()
        for layer in (la for la in layers if la.payer == payer and la.basis == "occurrence"):
            band = _band(event_loss, layer)
            paid = financing.mul_div(band, _share_ppm(layer.share), SHARE_DENOMINATOR)
            event_net -= paid
            annual[layer.name] = group_sum(event_year0, paid, n)
            attached[layer.name] = group_sum(event_year0, band > 0, n) > 0
            exhausted[layer.name] = (np.zeros(n, bool) if layer.limit_pkr is None
                                     else group_sum(event_year0, band == int(layer.limit_pkr), n) > 0)
        net = group_sum(event_year0, event_net, n)
        for layer in (la for la in layers if la.payer == payer and la.basis == "aggregate"):
            band = _band(net, layer)
            annual[layer.name] = financing.mul_div(band, _share_ppm(layer.share), SHARE_DENOMINATOR)
            attached[layer.name] = band > 0
            exhausted[layer.name] = (np.zeros(n, bool) if layer.limit_pkr is None
                                     else band == int(layer.limit_pkr))
        gross[payer] = losses.aggregate[:, col]
        paid_all = sum((annual[la.name] for la in layers if la.payer == payer), np.zeros(n, np.int64))
        retained[payer] = gross[payer] - paid_all
    order = [la.name for la in layers]
    annual_df = pd.DataFrame({k: annual[k] for k in order}, index=years)
    funding, summary = [], []
    for layer in layers:  # loops over the layers
        paid = annual_df[layer.name].to_numpy()
        if layer.pool is None:
            split = pd.DataFrame({layer.payer: paid})
        else:
            split = pool_split(paid, layer.pool)
        for funder in split.columns:  # loops over the funders
            funding.append(pd.DataFrame({"year": years.to_numpy(), "layer": layer.name, "funder": funder,
                                         "pkr": split[funder].to_numpy()}))
        summary.append(_summary(layer, paid, attached[layer.name], exhausted[layer.name], split))
    result = LayerResult(
        n_years=n, layers=layers, annual=annual_df,
        retained=pd.DataFrame(retained, index=years), loss=pd.DataFrame(gross, index=years),
        attached=pd.DataFrame({k: attached[k] for k in order}, index=years),
        exhausted=pd.DataFrame({k: exhausted[k] for k in order}, index=years),
        funding=pd.concat(funding, ignore_index=True) if funding else
        pd.DataFrame({"year": [], "layer": [], "funder": [], "pkr": []}),
        summary=summary,
    )
    log.info("apply_layers: %d layers over %d years for payers %s", len(layers), n, list(retained))
    return result


def _summary(layer: Layer, paid: np.ndarray, attached: np.ndarray, exhausted: np.ndarray,
             split: pd.DataFrame) -> dict:
    n = len(paid)
    total = int(paid.sum(dtype=np.int64))
    multiple = layer.premium_multiple
    funding = {"expected_annual_pkr": {f: _mean_pkr(split[f].to_numpy()) for f in split.columns}}
    if layer.pool is not None:
        funding.update({"key": layer.pool.key, "federal_share": float(layer.pool.federal_share)})
    return {
        "name": layer.name,
        "kind": layer.kind,
        "payer": layer.payer,
        "basis": layer.basis,
        "order": int(layer.order),
        "attachment_pkr": int(layer.attachment_pkr),
        "limit_pkr": None if layer.limit_pkr is None else int(layer.limit_pkr),
        "share": float(layer.share),
        "expected_annual_cost_pkr": _mean_pkr(paid),
        "max_annual_pkr": int(paid.max()) if n else 0,
        "p_attach": round(float(attached.mean()), 6),
        "p_exhaust": None if layer.limit_pkr is None else round(float(exhausted.mean()), 6),
        "premium_multiple": None if multiple is None else float(multiple),
        "indicative_premium_pkr": None if multiple is None else int(round(total / n * float(multiple))),
        "premium_basis": PREMIUM_BASIS,
        "funding": funding,
    }


# ---------------------------------------------------------------------------------------------
# Parametric triggers
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trigger:
    """A parametric trigger: the index reaching ``threshold`` releases ``payout_pkr``.

    Attributes
    ----------
    name
        Label for reports.
    threshold
        Threshold of the index [index units].
    payout_pkr
        Pre-arranged payout [PKR, >= 0], released at most once a year.
    direction
        ``">="`` (fires when the index is at or above the threshold: discharge, flooded share)
        or ``"<="`` (at or below: rainfall deficit indices).
    index_units
        Units of the index, for reports (e.g. ``"m3/s"``, ``"1"``).
    """

    name: str
    threshold: float
    payout_pkr: int
    direction: str = ">="
    index_units: str = ""


def trigger_years(trigger: Trigger, index, need_pkr, *, need_threshold_pkr: int,
                  event_year=None) -> pd.DataFrame:
    """Year by year: the index, whether the trigger fires, and whether there is need.

    Parameters
    ----------
    trigger
        The trigger.
    index
        The hazard index [index units]: one value per year (length n_years, NaN: no value, no
        firing), or one per event when ``event_year`` is given.
    need_pkr
        Modelled payout per year [int64 PKR, length n_years] (e.g.
        ``AnnualLosses.annual("total")``); its length sets n_years.
    need_threshold_pkr
        A year has need when its modelled payout exceeds this [PKR, >= 0].
    event_year
        Year (1..n_years) of each value of ``index`` when given per event: the index is reduced
        to each year's maximum (``>=``) or minimum (``<=``); years without events get NaN.

    Returns
    -------
    pandas.DataFrame
        Index ``year`` 1..n_years; ``index``, ``fires``, ``need``, ``need_pkr``, ``paid_pkr``.

    Raises
    ------
    ScenarioError
        An unknown direction, a non-finite threshold, a negative payout or need threshold, or
        an index whose length does not match the years (or the events).
    """
    if trigger.direction not in DIRECTIONS:
        raise ScenarioError(f"trigger {trigger.name!r}: direction {trigger.direction!r} is unknown; choose one of {list(DIRECTIONS)}.")
    if not isinstance(trigger.threshold, (int, float, np.integer, np.floating)) or not math.isfinite(trigger.threshold):
        raise ScenarioError(f"trigger {trigger.name!r}: threshold {trigger.threshold!r} must be a finite number.")
    payout = _whole(trigger.payout_pkr, f"trigger {trigger.name!r}: payout_pkr", minimum=0)
    need_threshold = _whole(need_threshold_pkr, f"trigger {trigger.name!r}: need_threshold_pkr", minimum=0)
    need_pkr = np.asarray(need_pkr)
    if need_pkr.ndim != 1 or not len(need_pkr) or need_pkr.dtype.kind not in "iu":
        raise ScenarioError(f"trigger {trigger.name!r}: need_pkr must be integer PKR, one per year of the set.")
    n = len(need_pkr)
    values = np.asarray(index, dtype=np.float64)
    if event_year is None:
        if values.shape != (n,):
            raise ScenarioError(
                f"trigger {trigger.name!r}: the index has {values.size} values for {n} years; give one per year "
                "(NaN where none), or one per event with event_year."
            )
        per_year = values
    else:
        event_year = np.asarray(event_year, dtype=np.int64)
        if values.shape != event_year.shape or values.ndim != 1:
            raise ScenarioError(f"trigger {trigger.name!r}: index and event_year must have one value per event each.")
        if len(event_year) and (event_year.min() < 1 or event_year.max() > n):
            raise ScenarioError(f"trigger {trigger.name!r}: event_year must lie in 1..{n} (the years of need_pkr).")
        ok = np.isfinite(values)
        if trigger.direction == ">=":
            per_year = np.full(n, -np.inf)
            np.maximum.at(per_year, event_year[ok] - 1, values[ok])
            per_year[per_year == -np.inf] = np.nan
        else:
            per_year = np.full(n, np.inf)
            np.minimum.at(per_year, event_year[ok] - 1, values[ok])
            per_year[per_year == np.inf] = np.nan
    with np.errstate(invalid="ignore"):
        fires = per_year >= trigger.threshold if trigger.direction == ">=" else per_year <= trigger.threshold
    need = need_pkr.astype(np.int64) > need_threshold
    return pd.DataFrame({"index": per_year, "fires": fires, "need": need, "need_pkr": need_pkr.astype(np.int64),
                         "paid_pkr": np.where(fires, np.int64(payout), np.int64(0))},
                        index=pd.RangeIndex(1, n + 1, name="year"))


def evaluate_trigger(trigger: Trigger, index, need_pkr, *, need_threshold_pkr: int,
                     event_year=None) -> dict:
    """How often a trigger fires, its basis risk against need, and the money it releases early.

    Parameters are those of :func:`trigger_years`.

    Returns
    -------
    dict
        JSON-ready: ``name``, ``direction``, ``threshold``, ``index_units``, ``payout_pkr``,
        ``need_threshold_pkr``, ``n_years``, ``fires`` (years it fires), ``once_every_years``
        (n_years / fires, 2 decimals; None when it never fires), ``need_years``, ``hits``,
        ``false_alarms``, ``misses``, ``hit_rate`` (hits / need_years; None without need),
        ``false_alarm_ratio`` (false alarms / fires; None when it never fires),
        ``released_pkr`` (payout x fires over the set), ``released_per_year_pkr`` (its mean
        per year, to the rupee), ``released_without_need_pkr``, ``basis``, ``text``.
    """
    years = trigger_years(trigger, index, need_pkr, need_threshold_pkr=need_threshold_pkr, event_year=event_year)
    n = len(years)
    fires = years["fires"].to_numpy()
    need = years["need"].to_numpy()
    n_fires, n_need = int(fires.sum()), int(need.sum())
    hits = int((fires & need).sum())
    false_alarms = int((fires & ~need).sum())
    misses = int((need & ~fires).sum())
    payout = int(trigger.payout_pkr)
    every = None if n_fires == 0 else round(n / n_fires, 2)
    return {
        "name": trigger.name,
        "direction": trigger.direction,
        "threshold": float(trigger.threshold),
        "index_units": trigger.index_units,
        "payout_pkr": payout,
        "need_threshold_pkr": int(need_threshold_pkr),
        "n_years": n,
        "fires": n_fires,
        "once_every_years": every,
        "need_years": n_need,
        "hits": hits,
        "false_alarms": false_alarms,
        "misses": misses,
        "hit_rate": None if n_need == 0 else round(hits / n_need, 4),
        "false_alarm_ratio": None if n_fires == 0 else round(false_alarms / n_fires, 4),
        "released_pkr": payout * n_fires,
        "released_per_year_pkr": (2 * payout * n_fires + n) // (2 * n),
        "released_without_need_pkr": payout * false_alarms,
        "basis": TRIGGER_BASIS,
        "text": ("never fires in the set" if every is None else f"fires once every {every:g} years")
        + f"; {false_alarms} false alarm(s), {misses} miss(es) in {n} years",
    }
