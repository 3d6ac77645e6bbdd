"""Who funds what is paid: federal and provincial shares, in int64 PKR, by a rule chosen by name.

Rules
-----
``fixed``
    The federal government funds ``federal_share`` of every household's amount, the household's
    own province the rest.
``ownership``
    Each programme's owner funds what it delivers: federal programmes federally, provincial
    programmes by the province.
``key``
    Co-financing across provinces: the federal government funds ``federal_share``; the provincial
    part of every amount goes to a pool that the four provinces fund by a key from
    ``data/cost_sharing_keys.csv`` (the 7th NFC award's horizontal shares, or 2023 population
    shares), whichever province the benefits fall in.

Islamabad Capital Territory has no provincial government: under every rule the federal
government funds what a province would fund there.

Rounding rule (every rule): a household's federal share is rounded down to the rupee,
``federal = amount * share_bp // 10_000`` with the share in basis points, and the province (or
the pool) funds the rest, so shares add up exactly to each household's amount and therefore to
every district, province and national total. Under ``key``, each province's contribution to a
benefiting province's pool is apportioned by the largest-remainder method (ties to the province
listed first in the key), so contributions add up exactly too.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from hazards import tables as data
from hazards.errors import ScenarioError
from simulator.scenario import MAX_HOUSEHOLDS

RULES = ("fixed", "ownership", "key")
PROVINCES = tuple(data.PROVINCES)  # PB, SD, KP, BA, IS: the province index used everywhere
_IS = PROVINCES.index("IS")


@functools.cache
def keys() -> pd.DataFrame:
    """The cost-sharing keys table (``key``, ``province_code``, ``share_pct``, ``source``)."""
    path = data.data_dir() / "cost_sharing_keys.csv"
    table = pd.read_csv(path)
    for key, group in table.groupby("key"):
        total = group.share_pct.sum()
        if abs(total - 100.0) > 1e-6:
            raise ScenarioError(f"{path}: key {key!r} sums to {total}, not 100; fix its rows.")
    return table


def key_numerators(name: str) -> np.ndarray:
    """Shares of PB, SD, KP, BA, IS under key ``name`` as integers over :data:`KEY_DENOMINATOR`
    (IS is 0), adding up to it exactly; a share not given to 1e-4 of a percent is refused."""
    pct = key_shares(name) * 100.0
    numerators = np.rint(pct * 10_000).astype(np.int64)
    if np.abs(pct * 10_000 - numerators).max() > 1e-3 or int(numerators.sum()) != KEY_DENOMINATOR:
        raise ScenarioError(
            f"data/cost_sharing_keys.csv: key {name!r} must give share_pct to at most 4 decimals, "
            f"adding up to exactly 100 (got {pct.tolist()}); fix its rows."
        )
    return numerators


def key_shares(name: str) -> np.ndarray:
    """Shares (0-1) of PB, SD, KP, BA, IS under key ``name`` (IS is 0: it is federal)."""
    table = keys()
    rows = table[table.key == name]
    if rows.empty:
        raise ScenarioError(
            f"cost_sharing.key {name!r} is unknown; choose one of {sorted(table.key.unique())} "
            f"(data/cost_sharing_keys.csv)."
        )
    shares = np.zeros(len(PROVINCES))
    for code, pct in zip(rows.province_code, rows.share_pct, strict=True):
        shares[PROVINCES.index(code)] = pct / 100.0
    return shares


#: Largest total of money the engine apportions [PKR]: half of int64's range, so that a total,
#: its parts and any sum of two such totals stay exact (see the money bounds in
#: :mod:`simulator.scenario`).
MAX_TOTAL_PKR = 2**62
#: Denominator of a cost-sharing key's integer numerators: shares are given to 1e-4 of a percent.
KEY_DENOMINATOR = 1_000_000


def check_total(amount_pkr: np.ndarray, what: str) -> None:
    """Raise :class:`ScenarioError` unless ``amount_pkr`` is non-negative and its sum (and so any
    sum of its parts) is at most :data:`MAX_TOTAL_PKR`. The sum is taken in float64, whose
    relative error (about 1e-16 per addition) is far inside the factor 2 of headroom to int64."""
    amount = np.asarray(amount_pkr)
    if not len(amount):
        return
    if int(amount.min()) < 0:
        raise ScenarioError(f"{what}: an amount is negative ({int(amount.min()):,} PKR); amounts are >= 0.")
    total = float(amount.astype(np.float64).sum())
    if total > MAX_TOTAL_PKR:
        raise ScenarioError(
            f"{what}: the amounts add up to about PKR {total:.3e}, more than PKR {MAX_TOTAL_PKR:.3e} "
            "that int64 PKR can hold with its sums exact. Lower the transfers (transfer.by_tier_pkr, "
            "per_person_pkr) or the registry's weights (at most simulator.scenario.MAX_HOUSEHOLDS "
            "households in all)."
        )


def check_households(weight: np.ndarray) -> None:
    """Raise :class:`ScenarioError` unless the households a registry's rows stand for (their
    weights) add up to at most :data:`simulator.scenario.MAX_HOUSEHOLDS`, the count the money
    bounds are worked out for (every sum of PKR then fits int64; see :mod:`simulator.scenario`)."""
    weight = np.asarray(weight)
    # Non-negative integers: their bitwise or is >= 0 and at least their largest, which bounds
    # the sum, summed exactly in int64 when it cannot overflow (one pass each).
    bits = int(np.bitwise_or.reduce(weight)) if len(weight) and weight.dtype.kind in "iu" else -1
    if not len(weight):
        total = 0
    elif 0 <= bits <= np.iinfo(np.int64).max // len(weight):
        total = int(weight.sum(dtype=np.int64))
    else:
        total = float(weight.astype(np.float64).sum())
    if total > MAX_HOUSEHOLDS or (bits < 0 and len(weight) and int(weight.min()) < 0):
        raise ScenarioError(
            f"registry: its rows stand for {total:,.0f} households (the sum of weight), more than "
            f"{MAX_HOUSEHOLDS:,} (simulator.scenario.MAX_HOUSEHOLDS, about 8 times Pakistan's census "
            "households), or a weight is negative; lower the weight column."
        )


def mul_checked(a: np.ndarray, b: np.ndarray, what: str) -> np.ndarray:
    """``a * b`` element-wise in int64 for ``a, b >= 0``, refused with :class:`ScenarioError`
    (naming ``what``) where a product would pass :data:`MAX_TOTAL_PKR` instead of wrapping."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    if (a < 0).any() or (b < 0).any():
        raise ScenarioError(f"{what}: a negative count or cost; every count and cost is >= 0.")
    too_big = (b > 0) & (a > np.int64(MAX_TOTAL_PKR) // np.maximum(b, 1))
    if too_big.any():
        raise ScenarioError(
            f"{what}: a product passes PKR {MAX_TOTAL_PKR:.3e}, beyond what int64 PKR holds exactly; "
            "lower the counts or costs given."
        )
    return a * b


def mul_div(amount: np.ndarray, numerator: np.ndarray | int, denominator: int) -> np.ndarray:
    """``floor(amount * numerator / denominator)`` in int64 without forming the full product.

    ``amount = q * denominator + r`` gives ``q * numerator + (r * numerator) // denominator``,
    which is exact and never overflows when ``0 <= numerator <= denominator`` and
    ``denominator**2`` fits in int64 (``q * numerator <= amount``; ``r * numerator <
    denominator**2``). Works for negative amounts too (floor division throughout).
    """
    amount = np.asarray(amount, dtype=np.int64)
    numerator = np.asarray(numerator, dtype=np.int64)
    denominator = int(denominator)
    if denominator <= 0 or denominator > 3_000_000_000:
        raise ValueError(f"mul_div: denominator {denominator} must lie in [1, 3e9] so that its square fits int64")
    if ((numerator < 0) | (numerator > denominator)).any():
        raise ValueError(f"mul_div: numerators must lie in [0, {denominator}]")
    d = np.int64(denominator)
    return (amount // d) * numerator + ((amount % d) * numerator) // d


def _floor_share(amount: np.ndarray, share: float) -> np.ndarray:
    """``floor(amount * share)`` with the share in basis points (exact, no overflow)."""
    return mul_div(amount, round(share * 10_000), 10_000)


def split(
    amount_pkr: np.ndarray,
    federal_delivers_pkr: np.ndarray,
    province: np.ndarray,
    *,
    rule: str,
    federal_share: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Federal and provincial funding of each household's amount [PKR, int64].

    Parameters
    ----------
    amount_pkr
        What each household is paid.
    federal_delivers_pkr
        The part delivered by federal programmes (used by ``ownership``).
    province
        Province index of each household (PB, SD, KP, BA, IS = 0..4).
    """
    if rule not in RULES:
        raise ScenarioError(f"cost_sharing.rule {rule!r} is unknown; choose one of {RULES}.")
    if not 0.0 <= federal_share <= 1.0:
        raise ScenarioError(f"cost_sharing.federal_share must lie in [0, 1], got {federal_share}.")
    amount = np.asarray(amount_pkr, dtype=np.int64)
    check_total(amount, "cost sharing")
    if rule == "ownership":
        federal = np.asarray(federal_delivers_pkr, dtype=np.int64).copy()
    else:
        federal = _floor_share(amount, federal_share)
    federal = np.where(province == _IS, amount, federal)
    return federal, amount - federal


def split_fixed(amount_pkr: np.ndarray, *, federal_share: float) -> tuple[np.ndarray, np.ndarray]:
    """Federal and provincial PKR for a fixed federal share (0 to 1, to a basis point)."""
    amount = np.asarray(amount_pkr, dtype=np.int64)
    return split(amount, amount, np.zeros(len(amount), np.int8), rule="fixed", federal_share=federal_share)


def largest_remainder(total: int, shares: np.ndarray) -> np.ndarray:
    """Split an integer ``total`` >= 0 by ``shares`` into integers that add up to it exactly.

    Integer ``shares`` are used as they are (numerators over their sum); float shares are first
    made integers to 1e-9 of their sum. Each part is ``floor(total * n_i / N)`` computed as
    quotient and remainder (:func:`mul_div`, so no product can overflow int64 whatever the
    total), and the rupees left over go one each to the largest remainders (ties to the first).
    """
    shares = np.asarray(shares)
    total = int(total)
    if total < 0:
        raise ScenarioError(f"largest_remainder: the total to apportion is negative ({total:,} PKR).")
    if total > np.iinfo(np.int64).max:
        raise ScenarioError(f"largest_remainder: PKR {total:,} does not fit in int64.")
    if np.issubdtype(shares.dtype, np.integer):
        numerators = shares.astype(np.int64)
    else:
        shares = shares.astype(np.float64)
        if not np.isfinite(shares).all() or (shares < 0).any():
            raise ScenarioError(f"largest_remainder: shares must be finite and >= 0, got {shares.tolist()}.")
        s = shares.sum()
        numerators = np.rint(shares / s * 1e9).astype(np.int64) if s > 0 else np.zeros(len(shares), np.int64)
    denominator = int(numerators.sum())
    if total == 0 or denominator == 0:
        return np.zeros(len(shares), dtype=np.int64)
    if (numerators < 0).any() or denominator > 3_000_000_000:
        raise ScenarioError("largest_remainder: integer shares must be >= 0 and add up to at most 3e9.")
    base = mul_div(np.full(len(numerators), total, np.int64), numerators, denominator)
    remainder = (np.int64(total % denominator) * numerators) % np.int64(denominator)
    left = total - int(base.sum())
    order = np.argsort(-remainder, kind="stable")
    base[order[:left]] += 1
    return base


def contributions(provincial_by_province: np.ndarray, *, rule: str, key: str = "nfc7") -> np.ndarray:
    """Who funds each province's provincial part: a (benefiting x paying) matrix [PKR, int64].

    Rows and columns are PB, SD, KP, BA, IS. Under ``fixed`` and ``ownership`` each province
    funds its own (a diagonal); under ``key`` every row is apportioned over the four provinces.
    """
    totals = np.asarray(provincial_by_province, dtype=np.int64)
    if rule != "key":
        return np.diag(totals)
    numerators = key_numerators(key)
    return np.vstack([largest_remainder(int(t), numerators) for t in totals])


def pool_capacity(ceilings: dict[str, int], key: str) -> float:
    """Under ``key``, the largest pool the provinces' ceilings allow: min over provinces of
    ceiling / share, rounded down to the rupee (a province with no ceiling does not limit it).

    Exact: worked in Python integers over the key's integer numerators (a handful of provinces).
    Returns an int, or ``inf`` when no ceiling limits the pool (or the limit is beyond int64).
    """
    numerators = key_numerators(key)
    caps = [
        max(int(c), 0) * KEY_DENOMINATOR // int(numerators[PROVINCES.index(p)])
        for p, c in ceilings.items()
        if numerators[PROVINCES.index(p)] > 0
    ]
    if not caps or min(caps) > np.iinfo(np.int64).max:
        return float("inf")
    return min(caps)
