"""How much each household is paid, in int64 PKR."""

from __future__ import annotations

import numpy as np


def flat_transfer(paid: np.ndarray, *, transfer_pkr: int) -> np.ndarray:
    """``transfer_pkr`` [PKR] to every household where ``paid`` is true, else 0 (int64)."""
    return np.where(paid, np.int64(transfer_pkr), np.int64(0)).astype(np.int64)
