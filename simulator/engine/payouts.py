"""How much each household is paid, in int64 PKR: tiers, household size, floors, caps, instalments."""

from __future__ import annotations

import numpy as np


def transfer_amount(transfer, tier: np.ndarray, hh_size: np.ndarray, entitled: np.ndarray) -> np.ndarray:
    """PKR under one programme's :class:`simulator.scenario.Transfer` (0 where not entitled).

    ``base(tier) + per_person_pkr * hh_size``, raised to ``floor_pkr`` and cut to ``cap_pkr``;
    a tier without an amount (below the lowest listed tier) gets nothing.
    """
    table = np.asarray(transfer.tier_table(), dtype=np.int64)
    base = table[tier]
    amount = base + np.int64(transfer.per_person_pkr) * hh_size.astype(np.int64)
    amount = np.maximum(amount, np.int64(transfer.floor_pkr))
    if transfer.cap_pkr is not None:
        amount = np.minimum(amount, np.int64(transfer.cap_pkr))
    return np.where(entitled & (base > 0), amount, np.int64(0))


def instalment_split(amount: np.ndarray, shares: list[float]) -> np.ndarray:
    """Amounts per instalment, (n_instalments, n) int64, each column summing exactly to ``amount``.

    Rounding rule: every instalment but the last is ``floor(amount * share)`` with the share in
    basis points; the last instalment takes the remainder.
    """
    amount = np.asarray(amount, dtype=np.int64)
    out = np.empty((len(shares), len(amount)), dtype=np.int64)
    paid = np.zeros(len(amount), dtype=np.int64)
    for k, share in enumerate(shares[:-1]):
        out[k] = amount * np.int64(round(share * 10_000)) // np.int64(10_000)
        paid += out[k]
    out[-1] = amount - paid
    return out
