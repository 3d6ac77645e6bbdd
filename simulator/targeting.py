"""Who is affected and who is eligible: pure functions over household columns."""

from __future__ import annotations

import numpy as np

from simulator.overlay import INSIDE

#: Household status codes: every household carries exactly one.
STATUS = ("paid", "not_affected", "outside_area", "no_hazard_data", "not_eligible")
PAID, NOT_AFFECTED, OUTSIDE_AREA, NO_HAZARD_DATA, NOT_ELIGIBLE = (np.int8(i) for i in range(5))


def affected(intensity: np.ndarray, overlay_status: np.ndarray, *, threshold: float) -> np.ndarray:
    """True where the household is inside the raster and intensity >= ``threshold``."""
    with np.errstate(invalid="ignore"):
        return (overlay_status == INSIDE) & (intensity >= threshold)


def eligible(pmt_score: np.ndarray, *, pmt_max: float) -> np.ndarray:
    """True where the PMT score is at or below the cut-off (BISP Kafaalat: 32)."""
    return np.asarray(pmt_score) <= pmt_max
