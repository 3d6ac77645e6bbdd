"""How much each household is paid, in int64 PKR: tiers, household size, floors, caps, instalments."""

from __future__ import annotations

import numpy as np

from hazards.errors import ScenarioError
from simulator.engine.financing import mul_div
from simulator.scenario import MAX_HOUSEHOLD_PKR


def transfer_amount(transfer, tier: np.ndarray, hh_size: np.ndarray, entitled: np.ndarray) -> np.ndarray:
    """PKR under one programme's :class:`simulator.scenario.Transfer` (0 where not entitled).

    ``base(tier) + per_person_pkr * hh_size``, raised to ``floor_pkr`` and cut to ``cap_pkr``;
    a tier without an amount (below the lowest listed tier) gets nothing.
    """
    # The scenario's bounds keep every amount within MAX_HOUSEHOLD_PKR; a transfer built around
    # validation (or a household larger than the registry allows) is refused here, in Python
    # integers, before any int64 product is formed.
    largest = max(transfer.tier_table()) + int(transfer.per_person_pkr) * (int(hh_size.max()) if len(hh_size) else 0)
    largest = max(largest, int(transfer.floor_pkr))
    if transfer.cap_pkr is not None:
        largest = min(largest, int(transfer.cap_pkr))
    if largest > MAX_HOUSEHOLD_PKR or min(transfer.tier_table()) < 0 or transfer.per_person_pkr < 0:
        raise ScenarioError(
            f"transfer: a household could be paid PKR {largest:,}, more than PKR {MAX_HOUSEHOLD_PKR:,} "
            "(simulator.scenario.MAX_HOUSEHOLD_PKR), or an amount is negative; give by_tier_pkr, "
            "floor_pkr and cap_pkr within MAX_TRANSFER_PKR and per_person_pkr within MAX_PER_PERSON_PKR."
        )
    table = np.asarray(transfer.tier_table(), dtype=np.int64)
    if len(tier) > 4096 and tier.dtype.kind in "iu" and hh_size.dtype.kind in "iu":
        by_pair = _by_tier_and_size(transfer, table, tier, hh_size)
        if by_pair is not None:
            return np.where(entitled, by_pair, np.int64(0))
    base = table[tier]
    amount = base + np.int64(transfer.per_person_pkr) * hh_size.astype(np.int64)
    amount = np.maximum(amount, np.int64(transfer.floor_pkr))
    if transfer.cap_pkr is not None:
        amount = np.minimum(amount, np.int64(transfer.cap_pkr))
    return np.where(entitled & (base > 0), amount, np.int64(0))


def _by_tier_and_size(transfer, table: np.ndarray, tier: np.ndarray, hh_size: np.ndarray) -> np.ndarray | None:
    """The amounts of :func:`transfer_amount` before ``entitled``, looked up in a small table
    of every (tier, household size) pair, the same arithmetic applied to each pair; None when
    tiers or sizes fall outside such a table (then the amounts are worked row by row)."""
    t_lo, t_hi = int(tier.min()), int(tier.max())
    h_lo, h_hi = int(hh_size.min()), int(hh_size.max())
    if t_lo < 0 or t_hi >= len(table) or h_lo < 0 or h_hi >= 4096:
        return None
    sizes = np.arange(h_hi + 1, dtype=np.int64)
    base = table[:, None]
    amount = base + np.int64(transfer.per_person_pkr) * sizes[None, :]
    amount = np.maximum(amount, np.int64(transfer.floor_pkr))
    if transfer.cap_pkr is not None:
        amount = np.minimum(amount, np.int64(transfer.cap_pkr))
    amount = np.where(base > 0, amount, np.int64(0)).ravel()
    pair = tier.astype(np.intp) * (h_hi + 1)
    pair += hh_size
    return amount[pair]


def instalment_split(amount: np.ndarray, shares: list[float]) -> np.ndarray:
    """Amounts per instalment, (n_instalments, n) int64, each column summing exactly to ``amount``.

    Rounding rule: every instalment but the last is ``floor(amount * share)`` with the share in
    basis points (computed as quotient and remainder, so no product overflows int64); the last
    instalment takes the remainder.
    """
    amount = np.asarray(amount, dtype=np.int64)
    bp = [round(float(share) * 10_000) for share in shares]
    if not shares or any(b < 0 or b > 10_000 for b in bp) or sum(bp[:-1]) > 10_000:
        raise ScenarioError(
            f"policy.instalments: shares {list(shares)} must each lie in [0, 1] and add up to 1."
        )
    out = np.empty((len(shares), len(amount)), dtype=np.int64)
    paid = np.zeros(len(amount), dtype=np.int64)
    for k, b in enumerate(bp[:-1]):
        out[k] = mul_div(amount, b, 10_000)
        paid += out[k]
    out[-1] = amount - paid
    return out
