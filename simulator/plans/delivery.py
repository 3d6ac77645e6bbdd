"""Delivery: which sites close, where each paid household goes to be paid, and when.

Pure functions over numpy arrays (no files, no printing; logging only), no Python loop over
households or sites (loops run over instalments, layers or tiers):

=======================  ==========================================================================
:func:`site_intensity`   hazard intensity at each site, per layer (``hazards.sampling.sample``)
:func:`closures`         sites in a stated tier or above close, for the response or a stated days
:func:`assign`           each household to its nearest open site offering payment (KD-tree)
:func:`distance_summary` per district: shares within 5, 10 and 25 km, households beyond a limit
:func:`schedule`         per site and district: days to pay, last-payment day per instalment,
                         payments, staff-days and cash [PKR] per site per day
=======================  ==========================================================================

Assumptions (each a named constant, each overridable by keyword)

* :data:`DETOUR_FACTOR` 1.3: travel distance = 1.3 x great-circle distance. Road distance
  exceeds the straight line by a circuity factor, typically 1.2-1.4 between places (Ballou,
  Rahardja and Sakai 2002, "Selected country circuity factors for road travel distance
  estimation", Transportation Research Part A 36(9): 843-848). No Pakistan-specific factor was
  found: 1.3 is a planning ASSUMPTION.
* :data:`FAR_LIMIT_KM` 25 km travel distance: households farther are flagged (ASSUMPTION: about
  a day's return journey for a woman without her own transport; no published BISP standard).
* :data:`PAYMENTS_PER_STAFF_DAY` 100: ASSUMPTION, about 4-5 minutes per beneficiary (biometric
  verification and hand-over of cash) over a 7-8 hour working day. Site capacities in the
  shipped ILLUSTRATIVE sites table are this rate times assumed counters
  (``data/sites/capacity_assumptions.csv``).
* Distances are great-circle on a sphere of radius :data:`EARTH_RADIUS_KM` (IUGG mean radius);
  the ellipsoid differs by under 0.5 % and the detour factor dwarfs it.

Limits: straight-line distance times a factor is not a road network: rivers, mountains and
flooded roads are not seen. A site closed for some days still receives its households, who are
paid from its reopening day; only sites closed for the whole response are skipped by
:func:`assign`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hazards.errors import RegistryError, ScenarioError
from simulator.engine import targeting
from simulator.engine.payouts import instalment_split
from simulator.plans.build import group_sum

log = logging.getLogger(__name__)

#: How the delivery figures are made, written into the plan with them.
BASIS = (
    "Sites close where the hazard's tier at the site reaches the stated closure tier. Each paid "
    "household goes to its nearest site offering payment that works in the response; travel is "
    "the great-circle distance times a detour factor (ASSUMPTION, Ballou et al. 2002), not a road "
    "network. Each site pays its households at its stated capacity per day, one instalment after "
    "the other, from the instalment's day or its reopening day. Capacities of the ILLUSTRATIVE "
    "sites are ASSUMPTIONS (data/sites/capacity_assumptions.csv)."
)
#: Mean Earth radius [km] (IUGG: R1 of GRS 80, Moritz 2000).
EARTH_RADIUS_KM = 6371.0088
#: Travel distance / great-circle distance [-] (ASSUMPTION; see the module docstring).
DETOUR_FACTOR = 1.3
#: Distance bands reported per district [km, travel distance].
DISTANCE_BANDS_KM = (5.0, 10.0, 25.0)
#: Households farther than this [km, travel distance] are flagged (ASSUMPTION).
FAR_LIMIT_KM = 25.0
#: Payments one staff member makes in a day [households/staff-day] (ASSUMPTION).
PAYMENTS_PER_STAFF_DAY = 100
#: Site index of a household with no open payment site.
NO_SITE = -1
#: ``reopen_day`` of a site closed for the whole response.
CLOSED_FOR_RESPONSE = np.iinfo(np.int32).max
#: Households queried per KD-tree block (bounds the temporaries; results do not depend on it).
BLOCK = 1 << 20


# ---------------------------------------------------------------------------------------------
# Closures
# ---------------------------------------------------------------------------------------------


@dataclass
class Closures:
    """Which sites close, and until when.

    Attributes
    ----------
    tier
        Severity tier 0-3 at each site [int8] (highest over the layers given).
    closed
        True where the site is closed at the start of the response.
    reopen_day
        First day the site works again [day after the response starts, int32]: 0 when open,
        :data:`CLOSED_FOR_RESPONSE` when closed for the whole response.
    """

    tier: np.ndarray
    closed: np.ndarray
    reopen_day: np.ndarray

    @property
    def open_for_response(self) -> np.ndarray:
        """Sites that work at some time in the response (open, or closed for some days)."""
        return self.reopen_day != CLOSED_FOR_RESPONSE


def site_intensity(layers, lon, lat) -> np.ndarray:
    """Hazard intensity at each site [layer units], shape (n_layers, n_sites), NaN outside.

    ``layers``: one 2-D hazard layer (``xarray.DataArray``, see :mod:`hazards.layer`) or a
    sequence of them; ``lon``, ``lat``: site coordinates [degrees, EPSG:4326]. Points are
    transformed to each raster's CRS by :func:`hazards.sampling.sample`.
    """
    from hazards.sampling import sample

    if not isinstance(layers, (list, tuple)):
        layers = [layers]
    return np.stack([sample(layer, lon, lat)[0] for layer in layers]) if layers else \
        np.zeros((0, len(lon)), np.float32)


def closures(intensity, thresholds: Sequence[float], *, min_tier: int | str = "severely_affected",
             days: int | None = None) -> Closures:
    """Close the sites whose hazard puts them in ``min_tier`` or above.

    Parameters
    ----------
    intensity
        Hazard intensity at each site [layer units]: shape (n_sites,) or (n_layers, n_sites)
        (e.g. from :func:`site_intensity`); NaN (outside the hazard) counts as tier 0.
    thresholds
        Intensities at which tiers 1, 2 and 3 start (the scenario hazard's
        ``tier_thresholds()``), same units.
    min_tier
        The lowest tier that closes a site: 1-3, or a name of
        :data:`simulator.engine.targeting.TIER_NAMES` (``"affected"``, ``"severely_affected"``,
        ``"displaced"``).
    days
        Days a closed site stays closed [days]; ``None`` closes it for the whole response.

    Returns
    -------
    Closures

    Raises
    ------
    ScenarioError
        An unknown tier name, a tier outside 1-3, or negative ``days``.
    """
    if isinstance(min_tier, str):
        if min_tier not in targeting.TIER_NAMES[1:]:
            raise ScenarioError(f"closure tier {min_tier!r} is not one of {list(targeting.TIER_NAMES[1:])}.")
        min_tier = targeting.TIER_NAMES.index(min_tier)
    if not 1 <= int(min_tier) <= 3:
        raise ScenarioError(f"closure tier {min_tier} must be 1, 2 or 3 ({list(targeting.TIER_NAMES[1:])}).")
    if days is not None and days < 0:
        raise ScenarioError(f"closure days {days} must be >= 0 (or None: closed for the response).")
    values = np.atleast_2d(np.asarray(intensity, dtype=np.float32))
    tier = targeting.tiers(values, list(thresholds)).max(axis=0) if values.shape[0] else \
        np.zeros(values.shape[1], np.int8)
    closed = tier >= int(min_tier)
    if days == 0:
        closed[:] = False
    reopen = np.where(closed, CLOSED_FOR_RESPONSE if days is None else int(days), 0).astype(np.int32)
    log.info("closures: %d of %d sites closed (tier >= %d, %s)", int(closed.sum()), len(tier), min_tier,
             "for the response" if days is None else f"for {days} days")
    return Closures(tier=tier.astype(np.int8), closed=closed, reopen_day=reopen)


# ---------------------------------------------------------------------------------------------
# Assignment
# ---------------------------------------------------------------------------------------------


def unit_vectors(lon, lat) -> np.ndarray:
    """Points on the unit sphere, shape (n, 3) float64, from lon/lat [degrees]."""
    lam = np.radians(np.asarray(lon, dtype=np.float64))
    phi = np.radians(np.asarray(lat, dtype=np.float64))
    cos_phi = np.cos(phi)
    return np.column_stack([cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)])


def chord_to_km(chord: np.ndarray) -> np.ndarray:
    """Great-circle distance [km] from the chord between two unit vectors [-]:
    ``2 R asin(chord / 2)`` (monotone, so the nearest by chord is the nearest by arc)."""
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(np.asarray(chord) / 2.0, 0.0, 1.0))


def great_circle_km(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Great-circle distance [km] between points [degrees] (the chord form: exact at any range)."""
    return chord_to_km(np.linalg.norm(unit_vectors(lon1, lat1) - unit_vectors(lon2, lat2), axis=1))


@dataclass
class Assignment:
    """Each household's payment site.

    Attributes
    ----------
    site
        Index of the site in the arrays given to :func:`assign` [int32]; :data:`NO_SITE` (-1)
        where no site could be used.
    distance_km
        Travel distance [km, float32]: ``detour x`` great-circle distance; NaN where no site.
    detour
        The detour factor used [-].
    """

    site: np.ndarray
    distance_km: np.ndarray
    detour: float


def assign(lon, lat, site_lon, site_lat, *, usable=None, detour: float = DETOUR_FACTOR,
           workers: int = -1) -> Assignment:
    """Send every household to its nearest usable site (nearest by great-circle distance).

    A KD-tree (``scipy.spatial.cKDTree``) over the sites' 3-D unit-sphere coordinates: the chord
    is monotone in the arc, so the order is exactly the great-circle order; the chord found is
    converted to the arc (:func:`chord_to_km`). Households are queried in blocks of
    :data:`BLOCK`.

    Parameters
    ----------
    lon, lat
        Household coordinates [degrees, EPSG:4326], array-likes of equal length.
    site_lon, site_lat
        Site coordinates [degrees, EPSG:4326].
    usable
        Boolean mask over the sites: those households may go to (e.g. offering payment with
        capacity and open for the response, see :func:`payment_sites`); all when None.
    detour
        Travel distance / great-circle distance [-], >= 1 (:data:`DETOUR_FACTOR`).
    workers
        Threads for the KD-tree query (-1: all cores; results do not depend on it).

    Returns
    -------
    Assignment
        ``site`` (index into the site arrays, -1 where no site is usable or the household has
        no coordinates) and ``distance_km`` (travel distance).

    Raises
    ------
    ScenarioError
        ``detour`` below 1, or coordinate arrays of different lengths.
    """
    from scipy.spatial import cKDTree

    if not detour >= 1.0:
        raise ScenarioError(f"detour factor {detour} must be >= 1 (travel is never shorter than the straight line).")
    lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    site_lon, site_lat = np.asarray(site_lon, np.float64), np.asarray(site_lat, np.float64)
    if lon.shape != lat.shape or site_lon.shape != site_lat.shape:
        raise ScenarioError("assign: lon and lat (and site_lon and site_lat) must have equal lengths.")
    usable = np.ones(len(site_lon), bool) if usable is None else np.asarray(usable, bool)
    candidates = np.flatnonzero(usable & np.isfinite(site_lon) & np.isfinite(site_lat))
    n = len(lon)
    site = np.full(n, NO_SITE, dtype=np.int32)
    distance = np.full(n, np.nan, dtype=np.float32)
    if not len(candidates) or not n:
        if n:
            log.warning("assign: no usable site; %d households have none", n)
        return Assignment(site, distance, float(detour))
    tree = cKDTree(unit_vectors(site_lon[candidates], site_lat[candidates]))
    for start in range(0, n, BLOCK):  # blocks of households, each one vectorized query
        stop = min(start + BLOCK, n)
        xyz = unit_vectors(lon[start:stop], lat[start:stop])
        ok = np.isfinite(xyz).all(axis=1)
        chord, nearest = tree.query(np.where(ok[:, None], xyz, 0.0), k=1, workers=workers)
        site[start:stop] = np.where(ok, candidates[np.minimum(nearest, len(candidates) - 1)], NO_SITE)
        distance[start:stop] = np.where(ok, chord_to_km(chord) * detour, np.nan)
    return Assignment(site, distance, float(detour))


def payment_sites(offers_payment, payments_per_day, closed: Closures | None = None) -> np.ndarray:
    """Sites households can be sent to for payment: offering payment, with a capacity > 0
    [households/day], and not closed for the whole response."""
    ok = np.asarray(offers_payment, bool) & (np.asarray(payments_per_day) > 0)
    return ok if closed is None else ok & closed.open_for_response


# ---------------------------------------------------------------------------------------------
# Distances per district
# ---------------------------------------------------------------------------------------------


def distance_summary(district, distance_km, n_districts: int, *, weight=None,
                     bands_km: Sequence[float] = DISTANCE_BANDS_KM,
                     limit_km: float = FAR_LIMIT_KM) -> pd.DataFrame:
    """Travel distances per district.

    Parameters
    ----------
    district
        Each household's district code (position in the district table, 0..n_districts-1).
    distance_km
        Travel distance [km] (:attr:`Assignment.distance_km`; NaN: no site).
    n_districts
        Number of districts (rows of the result).
    weight
        Households each row stands for (1 each when None).
    bands_km
        Distances [km] for the ``within_<d>km`` shares.
    limit_km
        Households farther than this [km] are counted in ``beyond_limit``.

    Returns
    -------
    pandas.DataFrame
        One row per district code: ``households``, ``no_site`` (households without a site),
        ``within_<d>km`` (share of the district's households within d km of travel [0-1]; a
        household without a site is within no band), ``beyond_limit`` (households farther than
        ``limit_km`` or without a site), ``mean_km`` and ``max_km`` (over those with a site;
        NaN when none).
    """
    district = np.asarray(district, dtype=np.int64)
    d = np.asarray(distance_km, dtype=np.float64)
    w = np.ones(len(d)) if weight is None else np.asarray(weight, dtype=np.float64)
    has = np.isfinite(d)
    total = np.bincount(district, weights=w, minlength=n_districts)
    with_site = np.bincount(district, weights=w * has, minlength=n_districts)
    out = {"households": total.astype(np.int64), "no_site": (total - with_site).astype(np.int64)}
    with np.errstate(invalid="ignore", divide="ignore"):
        for band in bands_km:  # loops over the bands
            within = np.bincount(district, weights=w * (has & (d <= band)), minlength=n_districts)
            out[f"within_{band:g}km"] = np.where(total > 0, within / total, np.nan)
        far = np.bincount(district, weights=w * (~has | (d > limit_km)), minlength=n_districts)
        out["beyond_limit"] = far.astype(np.int64)
        summed = np.bincount(district, weights=w * np.where(has, d, 0.0), minlength=n_districts)
        out["mean_km"] = np.where(with_site > 0, summed / with_site, np.nan)
    top = np.full(n_districts, -np.inf)
    np.maximum.at(top, district[has], d[has])
    out["max_km"] = np.where(np.isfinite(top), top, np.nan)
    frame = pd.DataFrame(out)
    frame.index.name = "district"
    return frame


# ---------------------------------------------------------------------------------------------
# Schedule
# ---------------------------------------------------------------------------------------------


@dataclass
class Schedule:
    """When and where payments are made, and the cash and staff each site needs per day.

    Attributes
    ----------
    per_day
        One row per (site, instalment, day) with payments: ``site``, ``instalment`` (1-based),
        ``day`` [day after the response starts], ``households`` [paid that day], ``cash_pkr``
        [int64 PKR paid that day], ``staff_days`` [staff needed that day:
        ceil(households / payments_per_staff_day)]. ``cash_pkr`` sums exactly to each
        instalment's amount.
    sites
        One row per (site, instalment) with households: ``site``, ``instalment``,
        ``households``, ``amount_pkr``, ``start_day``, ``last_day``, ``days`` (last_day -
        start_day + 1), ``staff_days``.
    districts
        One row per (district, instalment) with households (when districts were given):
        ``district``, ``instalment``, ``households``, ``amount_pkr``, ``last_day``, ``days``
        (days from the instalment's day to its last payment in the district, both counted).
    instalments
        One row per instalment: ``instalment``, ``day``, ``share``, ``households``,
        ``amount_pkr`` (scheduled), ``unassigned_households`` and ``unassigned_pkr`` (paid
        households without a site: not scheduled), ``last_day``.
    payments_per_staff_day
        The staffing assumption used [households/staff-day].
    """

    per_day: pd.DataFrame
    sites: pd.DataFrame
    districts: pd.DataFrame | None
    instalments: pd.DataFrame
    payments_per_staff_day: int


def _instalment_terms(instalments) -> tuple[list[int], list[float]]:
    days, shares = [], []
    for inst in instalments:  # loops over instalments
        day, share = (inst.day, inst.share) if hasattr(inst, "share") else (inst[0], inst[1])
        days.append(int(day))
        shares.append(float(share))
    if not days:
        raise ScenarioError("schedule: at least one instalment (day, share) is needed.")
    return days, shares


def schedule(site, amount_pkr, instalments, payments_per_day, *, weight=None, reopen_day=None,
             district=None, n_districts: int | None = None,
             payments_per_staff_day: int = PAYMENTS_PER_STAFF_DAY) -> Schedule:
    """Days to pay every household, per site and district, with staff and cash per site per day.

    Rules: a site pays up to ``payments_per_day`` households a day, its households in the order
    given (the registry's). Instalment k starts at a site on the latest of: the instalment's day,
    the site's reopening day, and the day after the site's last payment of instalment k-1 (a
    site finishes one instalment before starting the next). Each household's total is split into
    instalments by :func:`simulator.engine.payouts.instalment_split` (int64, exact), and every
    paid household comes to each instalment. A weighted row (``weight`` > 1, a synthetic
    registry's) is spread over the days its households fall on, its amount split in proportion,
    floored, the last day taking the remainder: totals stay exact.

    Parameters
    ----------
    site
        Each household's site index (:attr:`Assignment.site`; -1: no site, not scheduled but
        counted as ``unassigned``).
    amount_pkr
        Each household's total payment [int64 PKR] (0: not paid, ignored); a weighted row's
        amount is for all its households.
    instalments
        The policy's instalments: objects with ``day`` and ``share`` (``scenario.Instalment``),
        or ``(day, share)`` pairs; days after the response starts, shares adding to 1.
    payments_per_day
        Each site's payment capacity [households/day], indexed like the sites.
    weight
        Households each row stands for (1 each when None).
    reopen_day
        Each site's first working day (:attr:`Closures.reopen_day`); 0 for all when None.
    district, n_districts
        Each household's district code and the number of districts, for the per-district table.
    payments_per_staff_day
        Staffing assumption [households/staff-day] (:data:`PAYMENTS_PER_STAFF_DAY`).

    Returns
    -------
    Schedule

    Raises
    ------
    RegistryError
        A household sent to a site without payment capacity or closed for the whole response
        (the message names the site index and the fix).
    ScenarioError
        No instalments, shares not adding to 1, or a staffing rate below 1.
    """
    days_k, shares = _instalment_terms(instalments)
    if payments_per_staff_day < 1:
        raise ScenarioError(f"payments_per_staff_day {payments_per_staff_day} must be >= 1.")
    site = np.asarray(site, dtype=np.int64)
    amount = np.asarray(amount_pkr, dtype=np.int64)
    capacity = np.asarray(payments_per_day, dtype=np.int64)
    n_sites = len(capacity)
    reopen = np.zeros(n_sites, np.int64) if reopen_day is None else np.asarray(reopen_day, np.int64)
    w_all = np.ones(len(site), np.int64) if weight is None else np.asarray(weight, np.int64)
    split_all = instalment_split(amount, shares)

    paid = amount > 0
    placed = paid & (site >= 0)
    lost = paid & (site < 0)
    rows = np.flatnonzero(placed)
    order = rows[np.argsort(site[rows], kind="stable")]
    s = site[order]
    bad = (capacity[s] <= 0) | (reopen[s] == CLOSED_FOR_RESPONSE)
    if bad.any():
        first = int(s[np.argmax(bad)])
        raise RegistryError(
            f"schedule: households are sent to site {first}, which has no payment capacity or is "
            "closed for the response; assign with usable=payment_sites(...) so that only open "
            "sites with payments_per_day > 0 receive households."
        )
    w = w_all[order]
    cap = capacity[s]
    m = len(order)
    is_start = np.ones(m, bool)
    is_start[1:] = s[1:] != s[:-1]
    starts = np.flatnonzero(is_start)
    group = np.cumsum(is_start) - 1  # group number of each row
    used_sites = s[starts]
    cum = np.cumsum(w)
    before = cum - w
    c0 = before - before[starts][group]  # households ahead of the row at its site
    c1 = c0 + w
    site_households = np.add.reduceat(w, starts) if m else np.zeros(0, np.int64)
    site_days = -(-site_households // capacity[used_sites]) if m else np.zeros(0, np.int64)

    d0 = c0 // cap
    d1 = (c1 - 1) // cap
    span = d1 - d0 + 1
    rep = np.repeat(np.arange(m), span)
    offset = np.arange(len(rep)) - np.repeat(np.cumsum(span) - span, span)
    rel_day = d0[rep] + offset
    piece_hh = np.minimum(c1[rep], (rel_day + 1) * cap[rep]) - np.maximum(c0[rep], rel_day * cap[rep])
    last_piece = np.zeros(len(rep), bool)
    last_piece[np.cumsum(span) - 1] = True
    piece_site = s[rep]
    boundary = np.ones(len(rep), bool)
    boundary[1:] = (piece_site[1:] != piece_site[:-1]) | (rel_day[1:] != rel_day[:-1])
    cuts = np.flatnonzero(boundary)
    cell_site = piece_site[cuts]
    cell_rel = rel_day[cuts]
    cell_hh = np.add.reduceat(piece_hh, cuts) if len(cuts) else np.zeros(0, np.int64)

    district_codes = None if district is None else np.asarray(district, np.int64)[order]
    prev_last = np.full(n_sites, -1, np.int64)
    per_day, per_site, per_district, per_inst = [], [], [], []
    for k, (day_k, share_k) in enumerate(zip(days_k, shares, strict=True)):  # loops over instalments
        a = split_all[k][order]
        q, r = np.divmod(a, w)
        piece_cash = q[rep] * piece_hh + (r[rep] * piece_hh) // w[rep]
        # the last piece of each row takes what flooring left
        row_sum = np.add.reduceat(piece_cash, np.cumsum(span) - span) if m else np.zeros(0, np.int64)
        piece_cash[last_piece] += a - row_sum
        start = np.maximum(np.maximum(day_k, reopen[used_sites]), prev_last[used_sites] + 1)
        last = start + site_days - 1
        prev_last[used_sites] = last
        start_of = np.zeros(n_sites, np.int64)
        start_of[used_sites] = start
        cell_cash = np.add.reduceat(piece_cash, cuts) if len(cuts) else np.zeros(0, np.int64)
        per_day.append(pd.DataFrame({
            "site": cell_site, "instalment": k + 1, "day": start_of[cell_site] + cell_rel,
            "households": cell_hh, "cash_pkr": cell_cash,
            "staff_days": -(-cell_hh // payments_per_staff_day),
        }))
        site_amount = np.add.reduceat(a, starts) if m else np.zeros(0, np.int64)
        site_staff = np.bincount(np.searchsorted(used_sites, cell_site), weights=-(-cell_hh // payments_per_staff_day),
                                 minlength=len(used_sites)).astype(np.int64)
        per_site.append(pd.DataFrame({
            "site": used_sites, "instalment": k + 1, "households": site_households,
            "amount_pkr": site_amount, "start_day": start, "last_day": last, "days": last - start + 1,
            "staff_days": site_staff,
        }))
        if district_codes is not None:
            size = int(n_districts) if n_districts is not None else int(district_codes.max(initial=-1)) + 1
            row_last = start_of[s] + d1
            latest = np.full(size, -1, np.int64)
            np.maximum.at(latest, district_codes, row_last)
            hh = np.bincount(district_codes, weights=w, minlength=size).astype(np.int64)
            has = hh > 0
            per_district.append(pd.DataFrame({
                "district": np.flatnonzero(has), "instalment": k + 1, "households": hh[has],
                "amount_pkr": group_sum(district_codes, a, size)[has],
                "last_day": latest[has], "days": latest[has] - day_k + 1,
            }))
        per_inst.append({
            "instalment": k + 1, "day": day_k, "share": share_k,
            "households": int(w.sum()), "amount_pkr": int(a.sum()),
            "unassigned_households": int(w_all[lost].sum()), "unassigned_pkr": int(split_all[k][lost].sum()),
            "last_day": int(last.max()) if len(last) else None,
        })
    result = Schedule(
        per_day=pd.concat(per_day, ignore_index=True).sort_values(["site", "instalment", "day"], kind="stable")
        .reset_index(drop=True),
        sites=pd.concat(per_site, ignore_index=True).sort_values(["site", "instalment"], kind="stable")
        .reset_index(drop=True),
        districts=None if district_codes is None else pd.concat(per_district, ignore_index=True),
        instalments=pd.DataFrame(per_inst),
        payments_per_staff_day=int(payments_per_staff_day),
    )
    if lost.any():
        log.warning("schedule: %d paid households have no open payment site (not scheduled)", int(w_all[lost].sum()))
    return result


def far_households(distance_km, *, limit_km: float = FAR_LIMIT_KM) -> np.ndarray:
    """True where the travel distance [km] exceeds ``limit_km`` or there is no site (NaN)."""
    d = np.asarray(distance_km, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return ~(d <= limit_km)
