"""Who pays: federal and provincial shares of every household's amount, in int64 PKR.

Rounding rule (every rule): the federal share of a household's amount is rounded down to the
rupee, ``federal = amount * share_bp // 10_000`` with the share in basis points, and the province
pays the rest, ``provincial = amount - federal``. Shares therefore add up exactly to each
household's amount, and so to every district, province and national total.
"""

from __future__ import annotations

import numpy as np

from simulator.errors import ScenarioError

RULES = ("fixed",)


def split_fixed(amount_pkr: np.ndarray, *, federal_share: float) -> tuple[np.ndarray, np.ndarray]:
    """Federal and provincial PKR for a fixed federal share (0 to 1, to a basis point)."""
    if not 0.0 <= federal_share <= 1.0:
        raise ScenarioError(f"cost_sharing.federal_share must lie in [0, 1], got {federal_share}.")
    share_bp = np.int64(round(federal_share * 10_000))
    amount = np.asarray(amount_pkr, dtype=np.int64)
    federal = amount * share_bp // np.int64(10_000)
    return federal, amount - federal
