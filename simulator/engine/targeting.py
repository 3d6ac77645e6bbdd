"""Who is affected, how severely, and who is eligible under each programme.

Pure functions over household columns (numpy arrays); no loop over households.
"""

from __future__ import annotations

import numpy as np

#: Household status codes: every household carries exactly one reason.
STATUS = (
    "paid",
    "not_affected",
    "outside_area",
    "no_hazard_data",
    "not_eligible",
    "over_budget",
    "duplicate",
)
PAID, NOT_AFFECTED, OUTSIDE_AREA, NO_HAZARD_DATA, NOT_ELIGIBLE, OVER_BUDGET, DUPLICATE = (
    np.int8(i) for i in range(len(STATUS))
)
TIER_NAMES = ("none", "affected", "severely_affected", "displaced")
ENROLMENT = {"kafaalat": "enrolled_kafaalat", "prov_uct": "enrolled_prov_uct", "prov_cct": "enrolled_prov_cct"}
PROVINCE_INDEX = {"PB": 0, "SD": 1, "KP": 2, "BA": 3, "IS": 4}


#: Households per block in :func:`tiers` (results do not depend on it).
BLOCK = 1 << 16


def tiers(intensity: np.ndarray, thresholds: list[float]) -> np.ndarray:
    """Severity tier 0-3 [int8]: the number of thresholds (tiers 1, 2, 3) the intensity reaches.

    NaN intensity (outside the raster, nodata) is tier 0. Worked in blocks of :data:`BLOCK`
    that stay in cache while every threshold is compared (one thread: the work per block is too
    small to gain from a second one).
    """
    intensity = np.asarray(intensity, dtype=np.float32)
    out = np.zeros(intensity.shape, dtype=np.int8)
    limits = [np.float32(t) for t in thresholds]
    flat, tier = intensity.reshape(-1), out.reshape(-1)
    reached = np.empty(min(flat.size, BLOCK), dtype=bool)
    with np.errstate(invalid="ignore"):
        for start in range(0, flat.size, BLOCK):
            x, o = flat[start:start + BLOCK], tier[start:start + BLOCK]
            r = reached[: len(x)]
            for t in limits:
                np.greater_equal(x, t, out=r)
                o += r
    return out


def affected(intensity: np.ndarray, overlay_status: np.ndarray, *, threshold: float) -> np.ndarray:
    """True where the household is inside the raster and intensity >= ``threshold``."""
    from hazards.sampling import INSIDE

    with np.errstate(invalid="ignore"):
        return (overlay_status == INSIDE) & (intensity >= threshold)


def programme_eligible(programme, cols: dict[str, np.ndarray], tier: np.ndarray) -> np.ndarray:
    """Households entitled under ``programme`` (a :class:`simulator.scenario.Programme`).

    ``cols`` holds the household columns (``province``, ``pmt_score``, ``enrolled_*``,
    ``female_headed``, ``disability``, ``children_under5``) for the households considered;
    ``tier`` their severity tier.
    """
    ok = tier >= TIER_NAMES.index(programme.min_tier)
    if programme.provinces is not None:
        ok &= np.isin(cols["province"], [PROVINCE_INDEX[p] for p in programme.provinces])
    enrolled = np.zeros(len(tier), dtype=bool)
    for name in programme.beneficiaries_of:
        enrolled |= cols[ENROLMENT[name]]
    category = {
        "female_headed": cols["female_headed"],
        "disability": cols["disability"],
        "children_under_five": cols["children_under5"] > 0,
    }
    if programme.categories:
        in_any = np.zeros(len(tier), dtype=bool)
        for name in programme.categories:
            in_any |= category[name]
        ok &= in_any
    if programme.expansion == "vertical":
        return ok & enrolled
    pmt = cols["pmt_score"]
    cutoff = pmt_cutoff(programme, cols["province"])
    under = pmt <= cutoff
    for name, limit in programme.category_pmt_max.items():
        under |= category[name] & (pmt <= limit)
    if programme.expansion == "horizontal":
        return ok & ~enrolled & under
    return ok & under  # all_affected: cut-off is +inf unless pmt_max is given


def pmt_cutoff(programme, province: np.ndarray) -> np.ndarray:
    """Each household's PMT cut-off under ``programme`` (by province where the policy says)."""
    base = programme.pmt_max if programme.pmt_max is not None else np.inf
    table = np.full(len(PROVINCE_INDEX), base, dtype=np.float32)
    for code, value in programme.pmt_max_by_province.items():
        table[PROVINCE_INDEX[code]] = value
    return table[province]
