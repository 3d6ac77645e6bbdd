"""Observed footprints from published figures: where a satellite saw water, how many NDMA counted.

After a flood, two kinds of figures are published long before any household survey:

- a satellite flood extent (UNOSAT, Copernicus EMS), summarised as the share of each district's
  area under water;
- a count of people affected, by province and nationally (NDMA / NFRCC situation reports).

Neither says which households were affected. The extent says *where*, but it misses water under
cloud, in narrow valleys and in towns, and rain damage away from standing water; the count says
*how many*, but not where. :func:`dasymetric_shares` combines them, as dasymetric mapping does
(Mennis 2003; Eicher and Brewer 2001): each district's share affected is proportional to its
flooded share, ``min(1, k x flooded)``, with the one factor ``k`` set so that the affected
population over all districts equals the published count.

Limits: ``k`` is one factor for the whole area, so a district's affected share is wrong wherever
the extent under- or over-states the water there (hill torrents in Dera Ghazi Khan, reservoirs in
Haripur); a share of area is not a share of people (people cluster by rivers and towns).

>>> shares, k = dasymetric_shares(flooded=[0.6, 0.1, 0.0], population=[100, 300, 50], total=120)
"""

from __future__ import annotations

import numpy as np

from hazards.errors import HazardError


def dasymetric_shares(flooded, population, total: float) -> tuple[np.ndarray, float]:
    """Each area's share affected, ``min(1, k x flooded)``, with ``k`` such that the affected
    population sums to ``total``.

    Parameters
    ----------
    flooded
        Share of each area flooded [fraction 0-1].
    population
        People (or households) in each area [count >= 0].
    total
        The published number affected over all the areas [same unit as ``population``].

    Returns
    -------
    shares : numpy.ndarray
        float64 in [0, 1], one per area; 0 where nothing was flooded.
    k : float
        The factor [dimensionless]: how many times the flooded share the affected share is.

    Raises
    ------
    HazardError
        Shares outside [0, 1], negative populations, a negative total, or a total larger than
        the population of the areas that flooded at all (no ``k`` can reach it).

    Exact, not iterative: with areas sorted by flooded share, the ``j`` most flooded saturate
    at 1 and ``k = (total - their population) / sum(flooded x population of the rest)``; the
    ``j`` that is consistent (the ``j``-th saturates, the next does not) is found with
    cumulative sums in one vectorized pass.
    """
    f = np.asarray(flooded, dtype=np.float64)
    p = np.asarray(population, dtype=np.float64)
    if f.shape != p.shape or f.ndim != 1:
        raise HazardError(f"flooded {f.shape} and population {p.shape} must be 1-D arrays of one length.")
    if np.isnan(f).any() or (f < 0).any() or (f > 1).any():
        raise HazardError("flooded shares must lie in [0, 1] (divide percentages by 100).")
    if np.isnan(p).any() or (p < 0).any():
        raise HazardError("populations must be counts >= 0.")
    reach = float(p[f > 0].sum())
    if total < 0 or total > reach:
        raise HazardError(
            f"the total affected ({total:,.0f}) must lie between 0 and the population of the areas "
            f"that flooded at all ({reach:,.0f}).")
    if total == 0:
        return np.zeros_like(f), 0.0
    order = np.argsort(-f, kind="stable")
    fs, ps = f[order], p[order]
    # j saturated areas (0..n): population taken by them, and flooded-weighted rest
    saturated = np.concatenate([[0.0], np.cumsum(ps)])
    rest = np.concatenate([np.cumsum((fs * ps)[::-1])[::-1], [0.0]])
    n = len(fs)
    j = np.arange(n + 1)
    first_free = np.where(j < n, fs[np.minimum(j, n - 1)], 0.0)  # the (j+1)-th most flooded
    last_saturated = np.where(j > 0, fs[np.maximum(j - 1, 0)], np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = (total - saturated) / rest
        ok = np.isfinite(k) & (k >= 0) & (k * first_free <= 1 + 1e-12) & (k * last_saturated >= 1 - 1e-12)
    if not ok.any():  # every flooded area saturates exactly
        best = float(1.0 / fs[fs > 0].min())
    else:
        best = float(k[np.flatnonzero(ok)[0]])
    return np.minimum(1.0, best * f), best
