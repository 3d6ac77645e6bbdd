"""Campsites: where each province opens temporary payment and registration camps after a disaster.

The Bhurban declaration's item 6: provinces provide campsites for payments and registration after
disasters. This module says where, per province, from the households that the open sites cannot
serve well. Pure functions over numpy arrays (no files, no printing; logging only), no Python loop
over households or grid cells (loops run over provinces):

====================  =========================================================================
:func:`demand`        the demand points: paid households with no open site within the limit, and
                      the excess of each overloaded site (at the site)
:func:`choose`        per province, the fewest campsites that serve that demand within the limit
                      and within their capacity (capacitated location set covering, a MILP)
:func:`as_sites`      the chosen campsites as rows of a sites table, to append and re-run
                      :func:`simulator.plans.delivery.assign` and
                      :func:`~simulator.plans.delivery.schedule`
====================  =========================================================================

Method. The demand is gridded on an equal-area grid (Lambert cylindrical equal-area, standard
parallel :data:`GRID_STANDARD_PARALLEL`, cells of ``grid_km``; a cell never spans two provinces):
each cell's demand [households] sits at its demand-weighted spherical centroid, which is also a
candidate campsite location. Per province, the capacitated location set covering problem
(Toregas et al. 1971, with capacities as in Church and Murray 2018)::

    minimise    sum_j y_j  (+ a tie-break < 1 on demand-weighted travel distance)
    subject to  sum_j x_ij = 1                     every coverable cell i is served in full
                sum_i q_i x_ij <= C y_j            a candidate's demand within its camps' capacity
                x_ij <= y_j                        serve only from an open candidate (tightens the
                                                   LP relaxation; valid as y_j >= 1 when open)
                y_j in {0, 1, 2, ...}, 0 <= x_ij <= 1, x_ij only where cell i reaches j

``y_j`` is the number of campsites at candidate j (an integer, so a cell whose demand exceeds one
campsite's capacity gets several campsites side by side), ``x_ij`` the share of cell i's demand
``q_i`` served there (a cell's households may be split between campsites), and
``C = payments_per_day x max_days`` a campsite's capacity [households]. Cell i reaches candidate
j when ``detour x (d_ij + r_i) <= limit_km``, with ``d_ij`` the great-circle distance between
the centroids and ``r_i`` the farthest of cell i's demand points from its centroid [km]: by the
triangle inequality every household of a covered cell is then within ``limit_km`` of travel of
its campsite (a guarantee, slightly conservative, not a cell-centroid approximation). With
``max_per_province`` the problem becomes the capacitated maximal covering problem (Church and
ReVelle 1974): at most that many campsites, as much demand served as possible.

The MILP is built as sparse matrices (no per-variable Python objects) and solved by HiGHS
(Huangfu and Hall 2018) through :func:`scipy.optimize.milp`, already a dependency of Madad, with a
time limit per province; a solution not proven optimal is reported as such (status and MIP gap).
PySAL's ``spopt.locate.LSCP`` states the same capacitated model, but it builds a dense
candidates x cells model in PuLP object by object and allows one facility per candidate
(``spopt.locate.base.FacilityModelBuilder.add_facility_integer_variable``: 0 or 1); it is not used.

Assumptions (each a named constant or a shipped table, each overridable by keyword)

* A campsite's payment capacity [households/day] is the ``campsite`` row of
  ``data/sites/capacity_assumptions.csv`` (:func:`campsite_capacity`; 500 = 5 counters at
  :data:`~simulator.plans.delivery.PAYMENTS_PER_STAFF_DAY`, an ASSUMPTION stated there). Its
  registration capacity is the ``bisp_tehsil_office`` row's (40: 2 desks at 20 registrations per
  staff-day), since that row's campsite is the one a tehsil office runs (ASSUMPTION; the
  ``campsite`` row registers nobody).
* :data:`MAX_DAYS` 14: a household should be paid within two weeks of the response starting
  (ASSUMPTION, no published BISP standard); a site's excess beyond ``capacity x max_days`` goes to
  a campsite beside it.
* :data:`GRID_KM` 10 km cells: fine enough that a cell's spread (at most about 7 km from its
  centroid) leaves reach within the 25 km limit, coarse enough that a province has a few thousand
  cells at most (ASSUMPTION, a trade-off).
* Travel distance and the limit are those of :mod:`simulator.plans.delivery`
  (:data:`~simulator.plans.delivery.DETOUR_FACTOR`,
  :data:`~simulator.plans.delivery.FAR_LIMIT_KM`).

Limits: straight-line distance times a factor is not a road network, and a campsite needs ground
that is dry, reachable and safe, which this module does not see: the locations are a starting
point for provincial planners, not sites. Candidates are the demand cells' centroids only. A
province with more than ``max_cells`` cells is solved on a coarser grid (logged and stated in the
result). Co-located campsites become one site in :func:`as_sites`, because
:func:`~simulator.plans.delivery.assign` sends a household to its nearest site whatever its
capacity: after re-assignment a campsite beside an overloaded site may receive many more, or
fewer, households than it was chosen for, and the schedule shows it. Registration demand is not
modelled: campsites are sized on payments.

References

* Toregas, C., Swain, R., ReVelle, C. and Bergman, L. (1971). The location of emergency service
  facilities. Operations Research 19(6): 1363-1373.
* Church, R. and ReVelle, C. (1974). The maximal covering location problem. Papers of the
  Regional Science Association 32: 101-118.
* Church, R. L. and Murray, A. T. (2018). Location Covering Models. Springer.
* Huangfu, Q. and Hall, J. A. J. (2018). Parallelizing the dual revised simplex method.
  Mathematical Programming Computation 10: 119-142 (HiGHS).
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hazards.errors import ScenarioError
from simulator.plans.delivery import (
    CLOSED_FOR_RESPONSE,
    DETOUR_FACTOR,
    EARTH_RADIUS_KM,
    FAR_LIMIT_KM,
    chord_to_km,
    unit_vectors,
)

log = logging.getLogger(__name__)

#: Edge of a demand grid cell [km] (ASSUMPTION; see the module docstring).
GRID_KM = 10.0
#: Standard parallel of the equal-area grid [degrees N] (mid-Pakistan: scale within 8 % over 24-37 N).
GRID_STANDARD_PARALLEL = 30.0
#: Days within which a household should be paid [days] (ASSUMPTION; see the module docstring).
MAX_DAYS = 14
#: Cells per province above which the grid is coarsened (bounds the MILP's size).
MAX_CELLS = 4000
#: Solver time limit per province [s].
TIME_LIMIT_S = 60.0
#: Relative MIP gap at which HiGHS stops as optimal [-] (HiGHS's default).
MIP_REL_GAP = 1e-4
#: Coarser grids tried for a province whose MILP found no solution in time.
RETRIES = 2
#: Demand sources: households beyond the limit, and the excess of overloaded sites.
SOURCES = ("beyond_limit", "overload")
#: Services and operator of a campsite in the sites table (Bhurban item 6).
CAMPSITE_SERVICES = "payment;registration;complaints"
METHOD = "capacitated LSCP (scipy.optimize.milp / HiGHS)"
METHOD_CAPPED = "capacitated MCLP (scipy.optimize.milp / HiGHS)"

DEMAND_COLUMNS = ["province_code", "lon", "lat", "households", "source", "site"]
SITE_COLUMNS = [
    "campsite_id", "province_code", "lon", "lat", "demand_households", "beyond_limit_households",
    "overload_households", "payments_per_day", "days", "reason",
]
PROVINCE_COLUMNS = [
    "province_code", "demand_households", "beyond_limit_households", "overload_households", "cells",
    "grid_km", "campsites", "covered_households", "uncovered_households", "status", "mip_gap",
    "seconds", "method",
]
SITES_TABLE_COLUMNS = [
    "site_id", "name", "kind", "lon", "lat", "services", "operator", "payments_per_day",
    "registrations_per_day", "district_id", "province_code", "illustrative", "placement",
]


@dataclass
class Campsites:
    """The campsites chosen per province.

    Attributes
    ----------
    sites
        One row per campsite (:data:`SITE_COLUMNS`): ``campsite_id`` (``camp_<province>_<k>``),
        ``province_code``, ``lon``/``lat`` [degrees, EPSG:4326], ``demand_households``
        [households it is expected to serve; float, a cell may be split],
        ``beyond_limit_households`` and ``overload_households`` (its demand by source),
        ``payments_per_day`` [households/day], ``days`` (ceil(demand / capacity), at most
        ``max_days``), ``reason`` (``beyond_limit``, ``overload`` or ``beyond_limit;overload``).
        Campsites at one candidate share its demand equally.
    provinces
        One row per province with demand (:data:`PROVINCE_COLUMNS`): demand by source
        [households], ``cells`` and ``grid_km`` of its MILP, ``campsites``,
        ``covered_households`` (served by a campsite within the limit), ``uncovered_households``,
        the solver ``status``, ``mip_gap`` [-], ``seconds`` and ``method``.
    method
        The method and, when any province's solution is not proven optimal, which.
    grid_km
        The grid asked for [km] (a province may have been solved coarser: ``provinces.grid_km``).
    payments_per_day, registrations_per_day
        A campsite's capacities [households/day].
    max_days
        Days within which a campsite pays its households [days].
    limit_km
        Travel distance limit [km].
    """

    sites: pd.DataFrame
    provinces: pd.DataFrame
    method: str
    grid_km: float
    payments_per_day: int
    registrations_per_day: int
    max_days: int
    limit_km: float


def campsite_capacity() -> tuple[int, int]:
    """A campsite's assumed (payments, registrations) per day [households/day]: the ``campsite``
    row's payments and the ``bisp_tehsil_office`` row's registrations of
    ``data/sites/capacity_assumptions.csv`` (see the module docstring; both ASSUMPTIONS).

    Raises
    ------
    DataFileError
        The table is missing or lacks a kind.
    """
    from simulator.registry.sites import capacity_assumptions

    table = capacity_assumptions().set_index("kind")
    payments = int(table.loc["campsite", "payments_per_day"])
    registrations = int(table.loc["campsite", "registrations_per_day"]) or \
        int(table.loc["bisp_tehsil_office", "registrations_per_day"])
    return payments, registrations


# ---------------------------------------------------------------------------------------------
# Demand
# ---------------------------------------------------------------------------------------------


def _labels(values, n: int) -> np.ndarray:
    """Province labels as an object array of str ('unknown' where missing)."""
    series = pd.Series(values).astype("string") if values is not None else pd.Series(pd.NA, index=range(n),
                                                                                     dtype="string")
    return series.fillna("unknown").to_numpy(dtype=object)


def demand(lon, lat, province, distance_km, site, *, site_lon, site_lat, site_capacity,
           weight=None, site_province=None, reopen_day=None, limit_km: float = FAR_LIMIT_KM,
           max_days: int = MAX_DAYS) -> pd.DataFrame:
    """The demand for campsites: households the open sites cannot serve well.

    1. Each paid household with no open site within ``limit_km`` of travel (``distance_km`` NaN or
       above the limit), at its own location, source ``beyond_limit``.
    2. Each overloaded site's excess, at the site, source ``overload``: a site with H households
       within the limit, ``c`` payments a day and ``D = max(0, max_days - reopen_day)`` working
       days pays ``c x D`` of them in time; the excess ``max(0, H - c x D)`` needs a campsite
       beside it.

    Parameters
    ----------
    lon, lat
        Household coordinates [degrees, EPSG:4326].
    province
        Each household's province code (array-like of labels; missing: ``"unknown"``).
    distance_km
        Travel distance to the assigned site [km] (:attr:`delivery.Assignment.distance_km`; NaN:
        no site).
    site
        Index of the assigned site (:attr:`delivery.Assignment.site`; -1: none).
    site_lon, site_lat
        Site coordinates [degrees, EPSG:4326], indexed like ``site``.
    site_capacity
        Each site's payments per day [households/day].
    weight
        Households each row stands for (1 each when None; 0: not paid, ignored).
    site_province
        Each site's province code; missing (None or NA) entries take the province of most of the
        site's households.
    reopen_day
        Each site's first working day (:attr:`delivery.Closures.reopen_day`); 0 for all when None.
    limit_km
        Travel distance limit [km].
    max_days
        Days within which households should be paid [days].

    Returns
    -------
    pandas.DataFrame
        One row per demand point (:data:`DEMAND_COLUMNS`): ``province_code``, ``lon``, ``lat``
        [degrees], ``households`` [float64], ``source`` (:data:`SOURCES`), ``site`` (index of the
        overloaded site; -1 for households beyond the limit). Beyond-limit rows come first, in
        household order.

    Raises
    ------
    ScenarioError
        Arrays of unequal lengths, a limit <= 0 or ``max_days`` < 1.
    """
    lon, lat = np.asarray(lon, np.float64), np.asarray(lat, np.float64)
    d = np.asarray(distance_km, np.float64)
    s = np.asarray(site, np.int64)
    n = len(lon)
    w = np.ones(n) if weight is None else np.asarray(weight, np.float64)
    s_lon, s_lat = np.asarray(site_lon, np.float64), np.asarray(site_lat, np.float64)
    cap = np.asarray(site_capacity, np.float64)
    n_sites = len(s_lon)
    if not (len(lat) == len(d) == len(s) == len(w) == n) or not (len(s_lat) == len(cap) == n_sites):
        raise ScenarioError("campsites.demand: household arrays (lon, lat, province, distance_km, site, "
                            "weight) and site arrays (site_lon, site_lat, site_capacity) must each have "
                            "equal lengths.")
    if not limit_km > 0:
        raise ScenarioError(f"campsites.demand: limit_km {limit_km} must be > 0 [km].")
    if not max_days >= 1:
        raise ScenarioError(f"campsites.demand: max_days {max_days} must be >= 1 [days].")
    prov = _labels(province, n)
    if len(prov) != n:
        raise ScenarioError("campsites.demand: province must have one label per household.")
    paid = w > 0
    with np.errstate(invalid="ignore"):
        within = paid & (d <= limit_km) & (s >= 0)
    far = paid & ~within
    beyond = pd.DataFrame({
        "province_code": prov[far], "lon": lon[far], "lat": lat[far], "households": w[far],
        "source": SOURCES[0], "site": np.int64(-1),
    })

    reopen = np.zeros(n_sites, np.int64) if reopen_day is None else np.asarray(reopen_day, np.int64)
    days = np.where(reopen == CLOSED_FOR_RESPONSE, 0, np.clip(max_days - reopen, 0, max_days))
    held = np.bincount(s[within], weights=w[within], minlength=n_sites)
    excess = np.maximum(0.0, held - cap * days)
    over = np.flatnonzero(excess > 0)
    # the province of each overloaded site: its own label, else that of most of its households
    codes, names = pd.factorize(pd.Series(prov[within]))
    votes = np.bincount(s[within] * max(len(names), 1) + codes, weights=w[within],
                        minlength=n_sites * max(len(names), 1)).reshape(n_sites, max(len(names), 1))
    plural = np.asarray(names, dtype=object)[votes.argmax(axis=1)] if len(names) else \
        np.full(n_sites, "unknown", dtype=object)
    own = pd.Series(site_province if site_province is not None else [pd.NA] * n_sites).astype("string")
    own = own.reset_index(drop=True)
    if len(own) != n_sites:
        raise ScenarioError("campsites.demand: site_province must have one label per site.")
    site_prov = own.fillna(pd.Series(plural, dtype="string")).to_numpy(dtype=object)
    overload = pd.DataFrame({
        "province_code": site_prov[over], "lon": s_lon[over], "lat": s_lat[over],
        "households": excess[over], "source": SOURCES[1], "site": over.astype(np.int64),
    })
    frames = [f for f in (beyond, overload) if len(f)]
    points = pd.concat(frames, ignore_index=True) if frames else beyond
    points = points[DEMAND_COLUMNS]
    points["province_code"] = points["province_code"].astype("string")
    log.info("campsites.demand: %.0f households beyond %g km, %.0f in excess at %d overloaded sites "
             "(%d days)", float(w[far].sum()), limit_km, float(excess.sum()), len(over), max_days)
    return points


# ---------------------------------------------------------------------------------------------
# Grid
# ---------------------------------------------------------------------------------------------


@dataclass
class _Cells:
    lon: np.ndarray
    lat: np.ndarray
    households: np.ndarray
    beyond: np.ndarray
    overload: np.ndarray
    radius_km: np.ndarray


def _grid(lon, lat, households, overload, grid_km: float) -> _Cells:
    """Aggregate points to equal-area cells: weighted spherical centroid, demand by source, and
    each cell's radius (farthest point from the centroid, great-circle) [km]."""
    phi0 = math.radians(GRID_STANDARD_PARALLEL)
    x = EARTH_RADIUS_KM * np.radians(lon) * math.cos(phi0)
    y = EARTH_RADIUS_KM * np.sin(np.radians(lat)) / math.cos(phi0)
    ix = np.floor(x / grid_km).astype(np.int64)
    iy = np.floor(y / grid_km).astype(np.int64)
    ix -= ix.min(initial=0)
    iy -= iy.min(initial=0)
    key = ix * (int(iy.max(initial=0)) + 1) + iy
    _, cell = np.unique(key, return_inverse=True)
    n = int(cell.max(initial=-1)) + 1
    q = np.bincount(cell, weights=households, minlength=n)
    xyz = unit_vectors(lon, lat)
    # weighted mean of the unit vectors, back on the sphere (a cell with zero weight: plain mean)
    wt = np.where(q[cell] > 0, households, 1.0)
    centre = np.column_stack([np.bincount(cell, weights=wt * xyz[:, k], minlength=n) for k in range(3)])
    centre /= np.linalg.norm(centre, axis=1, keepdims=True)
    radius = np.zeros(n)
    np.maximum.at(radius, cell, chord_to_km(np.linalg.norm(xyz - centre[cell], axis=1)))
    over = np.bincount(cell, weights=households * overload, minlength=n)
    return _Cells(
        lon=np.degrees(np.arctan2(centre[:, 1], centre[:, 0])),
        lat=np.degrees(np.arcsin(np.clip(centre[:, 2], -1.0, 1.0))),
        households=q, beyond=q - over, overload=over, radius_km=radius,
    )


def _reach(cells: _Cells, limit_gc_km: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (cell i, candidate j, great-circle km) with ``d_ij + r_i <= limit_gc_km``, self
    pairs included, sorted by i then j."""
    from scipy.spatial import cKDTree

    n = len(cells.lon)
    xyz = unit_vectors(cells.lon, cells.lat)
    chord = 2.0 * math.sin(min(limit_gc_km / (2.0 * EARTH_RADIUS_KM), math.pi / 2))
    pairs = cKDTree(xyz).query_pairs(chord, output_type="ndarray").astype(np.int64)
    i = np.concatenate([np.arange(n), pairs[:, 0], pairs[:, 1]])
    j = np.concatenate([np.arange(n), pairs[:, 1], pairs[:, 0]])
    d = chord_to_km(np.linalg.norm(xyz[i] - xyz[j], axis=1))
    d[:n] = 0.0
    keep = d + cells.radius_km[i] <= limit_gc_km
    i, j, d = i[keep], j[keep], d[keep]
    order = np.lexsort((j, i))
    return i[order], j[order], d[order]


# ---------------------------------------------------------------------------------------------
# The MILP
# ---------------------------------------------------------------------------------------------


@dataclass
class _Solution:
    y: np.ndarray        # campsites per candidate
    x: np.ndarray        # share of cell i served at j, per pair
    status: str
    gap: float
    solved: bool


@contextlib.contextmanager
def _solver_output_to_log():
    """HiGHS writes a line of its own to the process's stdout even with ``disp`` off (e.g.
    "HighsMipSolverData::transformNewIntegerFeasibleSolution ...", a bare ``printf``), which
    would land in a command's output or a JSON line: on the main thread (the CLI's solves), its
    stdout goes to a temporary file for the solve and what it wrote is logged at DEBUG.

    File descriptor 1 belongs to the whole process, so it is never redirected from any other
    thread (the app's delivery plans are solved in the background): whatever the main thread
    wrote meanwhile would go to the file, and two solves on two threads, restoring out of
    order, left stdout pointed at a closed temporary file for good (the app benchmark's JSON
    line vanished that way). There a stray HiGHS line goes to the process's stdout (the app
    server's console)."""
    import os
    import sys
    import tempfile

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # no real stdout (a notebook, a test capture)
        yield
        return
    sys.stdout.flush()
    _flush_c_stdio()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), fd)
        try:
            yield
        finally:
            _flush_c_stdio()  # HiGHS's printf is buffered by the C library when stdout is a pipe
            os.dup2(saved, fd)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode(errors="replace").strip()
            if text:
                log.debug("HiGHS: %s", text)


def _flush_c_stdio() -> None:
    """``fflush(NULL)``: the C library's buffered output is written out now, to the file
    descriptor it is meant for (a no-op where there is no C library to ask)."""
    import ctypes

    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):
        pass


def _solve(cells: _Cells, i: np.ndarray, j: np.ndarray, d: np.ndarray, *, capacity: float,
           limit_gc_km: float, cap_count: int | None, time_limit_s: float,
           mip_rel_gap: float) -> _Solution:
    """Capacitated LSCP (or MCLP with ``cap_count``) over one province's cells (see module)."""
    from scipy import sparse
    from scipy.optimize import Bounds, LinearConstraint, milp

    n, m = len(cells.households), len(i)
    q = cells.households
    coverable = np.bincount(i, minlength=n) > 0
    rows_i = np.flatnonzero(coverable)
    row_of = np.cumsum(coverable) - 1
    reach_q = np.bincount(j, weights=q[i], minlength=n)
    upper = np.ceil(reach_q / capacity - 1e-9)
    if cap_count is not None:
        upper = np.minimum(upper, cap_count)
    total = max(float(q.sum()), 1.0)
    pair = np.arange(m)
    # columns: y_0..y_{n-1}, x_0..x_{m-1}
    serve = sparse.csr_matrix((np.ones(m), (row_of[i], n + pair)), shape=(len(rows_i), n + m))
    load = sparse.csr_matrix(
        (np.concatenate([q[i], -capacity * np.ones(n)]), (np.concatenate([j, np.arange(n)]),
                                                          np.concatenate([n + pair, np.arange(n)]))),
        shape=(n, n + m))
    link = sparse.csr_matrix((np.concatenate([np.ones(m), -np.ones(m)]),
                              (np.concatenate([pair, pair]), np.concatenate([n + pair, j]))),
                             shape=(m, n + m))
    # the tie-break on demand-weighted distance sums to < 0.5, so it never buys a campsite
    tie = 0.5 * q[i] * d / (total * max(limit_gc_km, 1e-9))
    if cap_count is None:
        cost = np.concatenate([np.ones(n), tie])
        constraints = [LinearConstraint(serve, 1.0, 1.0)]
    else:
        # maximal covering: each household served outweighs the campsites (1e-3 each) and the tie-break
        cost = np.concatenate([np.full(n, 1e-3), -q[i] + tie * 1e-3])
        count = sparse.csr_matrix((np.ones(n), (np.zeros(n, np.int64), np.arange(n))), shape=(1, n + m))
        constraints = [LinearConstraint(serve, 0.0, 1.0), LinearConstraint(count, 0.0, float(cap_count))]
    constraints += [LinearConstraint(load, -np.inf, 0.0), LinearConstraint(link, -np.inf, 0.0)]
    integrality = np.concatenate([np.ones(n), np.zeros(m)])
    bounds = Bounds(np.zeros(n + m), np.concatenate([upper, np.ones(m)]))
    with _solver_output_to_log():
        res = milp(cost, constraints=constraints, integrality=integrality, bounds=bounds,
                   options={"time_limit": float(time_limit_s), "mip_rel_gap": float(mip_rel_gap),
                            "disp": False})
    gap = float(res.mip_gap) if getattr(res, "mip_gap", None) is not None else float("nan")
    if res.x is None:
        return _Solution(np.zeros(n), np.zeros(m), f"no solution ({res.message})", gap, False)
    status = "optimal" if res.status == 0 else f"feasible, not proven optimal (gap {gap:.2%})"
    y = np.rint(res.x[:n])
    x = np.clip(res.x[n:], 0.0, 1.0) * (y[j] > 0)
    if cap_count is None:  # rows sum to 1 up to the solver's tolerance: make them exact
        x /= np.maximum(np.bincount(i, weights=x, minlength=n)[i], 1e-12)
    return _Solution(y, x, status, gap, True)


# ---------------------------------------------------------------------------------------------
# Choose
# ---------------------------------------------------------------------------------------------


def _check(limit_km, payments_per_day, max_days, grid_km, detour, max_per_province, max_cells,
           time_limit_s) -> None:
    if not limit_km > 0:
        raise ScenarioError(f"campsites: limit_km {limit_km} must be > 0 [km].")
    if not payments_per_day >= 1:
        raise ScenarioError(f"campsites: payments_per_day {payments_per_day} must be >= 1 [households/day].")
    if not max_days >= 1:
        raise ScenarioError(f"campsites: max_days {max_days} must be >= 1 [days].")
    if not detour >= 1.0:
        raise ScenarioError(f"campsites: detour factor {detour} must be >= 1.")
    half_diagonal = grid_km * math.sqrt(0.5) if grid_km > 0 else math.inf
    if not (grid_km > 0 and detour * half_diagonal < limit_km):
        raise ScenarioError(
            f"campsites: grid_km {grid_km} must be > 0 and small enough that a cell's households lie "
            f"within the limit of its centre: detour x grid_km / sqrt(2) < limit_km, i.e. grid_km < "
            f"{limit_km / (detour * math.sqrt(0.5)):.1f} km (default {GRID_KM:g}).")
    if max_per_province is not None and not max_per_province >= 0:
        raise ScenarioError(f"campsites: max_per_province {max_per_province} must be >= 0 or None.")
    if not max_cells >= 1:
        raise ScenarioError(f"campsites: max_cells {max_cells} must be >= 1.")
    if not time_limit_s > 0:
        raise ScenarioError(f"campsites: time_limit_s {time_limit_s} must be > 0 [s].")


def _empty(method: str, grid_km: float, pay: int, reg: int, max_days: int, limit_km: float) -> Campsites:
    sites = pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(SITE_COLUMNS, [
        "string", "string", "float64", "float64", "float64", "float64", "float64", "int64", "int64",
        "string"], strict=True)})
    provinces = pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(PROVINCE_COLUMNS, [
        "string", "float64", "float64", "float64", "int64", "float64", "int64", "float64", "float64",
        "string", "float64", "float64", "string"], strict=True)})
    return Campsites(sites, provinces, method, float(grid_km), pay, reg, int(max_days), float(limit_km))


def choose(points: pd.DataFrame, *, limit_km: float = FAR_LIMIT_KM,
           payments_per_day: int | None = None, registrations_per_day: int | None = None,
           max_days: int = MAX_DAYS, grid_km: float = GRID_KM, detour: float = DETOUR_FACTOR,
           max_per_province: int | None = None, max_cells: int = MAX_CELLS,
           time_limit_s: float = TIME_LIMIT_S, mip_rel_gap: float = MIP_REL_GAP) -> Campsites:
    """Choose campsites per province for the demand points (see the module docstring).

    Parameters
    ----------
    points
        Demand points with ``province_code``, ``lon``, ``lat`` [degrees, EPSG:4326] and
        ``households`` (:func:`demand`); ``source`` (:data:`SOURCES`) optional (all
        ``beyond_limit`` when absent).
    limit_km
        Travel distance within which a campsite serves a household [km].
    payments_per_day, registrations_per_day
        A campsite's capacities [households/day]; None: :func:`campsite_capacity` (ASSUMPTIONS).
    max_days
        Days a campsite pays [days]: its capacity is ``payments_per_day x max_days`` households.
    grid_km
        Edge of a demand cell [km] (:data:`GRID_KM`); must satisfy
        ``detour x grid_km / sqrt(2) < limit_km``.
    detour
        Travel distance / great-circle distance [-].
    max_per_province
        At most this many campsites per province (capacitated maximal covering); None: as many
        as needed to serve every household (capacitated set covering).
    max_cells
        A province with more cells is solved on a grid coarsened by doubling (logged; the result
        says so), while cells still fit in the limit.
    time_limit_s
        Solver time limit per province [s]; the best solution found by then is kept and its
        status says it is not proven optimal. A province without any solution in time is solved
        again on a coarser grid (:data:`RETRIES` times); failing that it is left uncovered.
    mip_rel_gap
        Relative gap at which the solver stops as optimal [-].

    Returns
    -------
    Campsites

    Raises
    ------
    ScenarioError
        A parameter out of range (the message gives the valid range) or a column missing.
    """
    if payments_per_day is None or registrations_per_day is None:
        pay0, reg0 = campsite_capacity()
        payments_per_day = pay0 if payments_per_day is None else payments_per_day
        registrations_per_day = reg0 if registrations_per_day is None else registrations_per_day
    _check(limit_km, payments_per_day, max_days, grid_km, detour, max_per_province, max_cells, time_limit_s)
    missing = [c for c in ("province_code", "lon", "lat", "households") if c not in points.columns]
    if missing:
        raise ScenarioError(f"campsites.choose: demand points lack columns {missing}; build them with "
                            "campsites.demand(...).")
    pay, reg = int(payments_per_day), int(registrations_per_day)
    method = METHOD if max_per_province is None else METHOD_CAPPED
    lon = points["lon"].to_numpy(np.float64)
    lat = points["lat"].to_numpy(np.float64)
    q = points["households"].to_numpy(np.float64)
    ok = np.isfinite(lon) & np.isfinite(lat) & (q > 0)
    if (~np.isfinite(lon) | ~np.isfinite(lat)).any():
        log.warning("campsites.choose: %d demand points without coordinates ignored",
                    int((~np.isfinite(lon) | ~np.isfinite(lat)).sum()))
    over = (points["source"].to_numpy(dtype=object) == SOURCES[1]) if "source" in points.columns else \
        np.zeros(len(points), bool)
    prov = _labels(points["province_code"], len(points))
    if not ok.any():
        log.info("campsites.choose: no demand; no campsites")
        return _empty(method, grid_km, pay, reg, max_days, limit_km)
    capacity = float(pay * max_days)
    limit_gc = limit_km / detour
    site_frames, province_rows = [], []
    for code in sorted(set(prov[ok])):  # loops over provinces
        sel = ok & (prov == code)
        started = time.perf_counter()
        g = float(grid_km)
        cells = _grid(lon[sel], lat[sel], q[sel], over[sel].astype(np.float64), g)
        while len(cells.households) > max_cells and detour * 2 * g * math.sqrt(0.5) < limit_km:
            g *= 2
            log.warning("campsites.choose: %s has more than %d cells; grid coarsened to %g km",
                        code, max_cells, g)
            cells = _grid(lon[sel], lat[sel], q[sel], over[sel].astype(np.float64), g)
        retries = 0
        while True:
            i, j, d = _reach(cells, limit_gc)
            sol = _solve(cells, i, j, d, capacity=capacity, limit_gc_km=limit_gc,
                         cap_count=max_per_province, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
            if sol.solved or retries >= RETRIES or not detour * 2 * g * math.sqrt(0.5) < limit_km:
                break
            retries += 1
            g *= 2
            log.warning("campsites.choose: %s: %s in %g s; solving again on a %g km grid",
                        code, sol.status, time_limit_s, g)
            cells = _grid(lon[sel], lat[sel], q[sel], over[sel].astype(np.float64), g)
        n = len(cells.households)
        served_i = np.bincount(i, weights=sol.x, minlength=n)
        covered = float((cells.households * served_i).sum())
        at_j = {name: np.bincount(j, weights=sol.x * v[i], minlength=n)
                for name, v in (("q", cells.households), ("b", cells.beyond), ("o", cells.overload))}
        cand = np.flatnonzero(sol.y > 0)
        count = sol.y[cand].astype(np.int64)
        rep = np.repeat(cand, count)  # one row per campsite; co-located ones share the demand
        share = 1.0 / np.repeat(count, count)
        dem = at_j["q"][rep] * share
        b, o = at_j["b"][rep] * share, at_j["o"][rep] * share
        reason = np.where(b > 1e-9, SOURCES[0], "")
        reason = np.where(o > 1e-9, np.where(reason == "", SOURCES[1], reason + ";" + SOURCES[1]), reason)
        site_frames.append(pd.DataFrame({
            "campsite_id": [f"camp_{code}_{k}" for k in range(1, len(rep) + 1)],
            "province_code": code, "lon": cells.lon[rep], "lat": cells.lat[rep],
            "demand_households": dem, "beyond_limit_households": b, "overload_households": o,
            "payments_per_day": pay,
            "days": np.ceil(dem / pay - 1e-9).astype(np.int64), "reason": reason,
        }))
        province_method = method + ("" if g == grid_km else f", grid coarsened to {g:g} km")
        province_rows.append({
            "province_code": code, "demand_households": float(cells.households.sum()),
            "beyond_limit_households": float(cells.beyond.sum()),
            "overload_households": float(cells.overload.sum()), "cells": n, "grid_km": g,
            "campsites": len(rep), "covered_households": covered,
            "uncovered_households": float(cells.households.sum()) - covered,
            "status": sol.status, "mip_gap": sol.gap, "seconds": time.perf_counter() - started,
            "method": province_method,
        })
        log.info("campsites.choose: %s: %d campsites for %.0f households in %d cells (%g km), %s, %.1f s",
                 code, len(rep), cells.households.sum(), n, g, sol.status, province_rows[-1]["seconds"])
    base = _empty(method, grid_km, pay, reg, max_days, limit_km)
    sites = pd.concat([base.sites, *site_frames], ignore_index=True).astype(base.sites.dtypes.to_dict())
    provinces = pd.DataFrame(province_rows, columns=PROVINCE_COLUMNS).astype(base.provinces.dtypes.to_dict())
    notes = [f"{r.province_code}: {r.status}" for r in provinces.itertuples() if r.status != "optimal"]
    notes += [f"{r.province_code}: grid {r.grid_km:g} km" for r in provinces.itertuples() if r.grid_km != grid_km]
    return Campsites(sites, provinces, method + (f"; {'; '.join(notes)}" if notes else ""), float(grid_km),
                     pay, reg, int(max_days), float(limit_km))


# ---------------------------------------------------------------------------------------------
# Sites table rows
# ---------------------------------------------------------------------------------------------


def as_sites(campsites: Campsites) -> pd.DataFrame:
    """The chosen campsites as rows of a sites table (:mod:`simulator.registry.sites` schema).

    Campsites at one location (several at one candidate) become one site whose capacities are
    their sum, because :func:`~simulator.plans.delivery.assign` sends each household to its
    nearest site: of two sites at one point, one would receive every household.

    Returns
    -------
    pandas.DataFrame
        :data:`SITES_TABLE_COLUMNS`: ``site_id`` (the first campsite's id), ``name``,
        ``kind="campsite"``, ``lon``/``lat`` [degrees], ``services`` (:data:`CAMPSITE_SERVICES`),
        ``operator="provincial"``, ``payments_per_day`` and ``registrations_per_day``
        [households/day], ``district_id`` (missing), ``province_code``, ``illustrative=True``,
        ``placement``. Append to the sites frame and validate with
        :func:`simulator.registry.sites.validate`.
    """
    s = campsites.sites
    if s.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in SITES_TABLE_COLUMNS})
    key = s["province_code"].astype(str) + "|" + s["lon"].map(repr) + "|" + s["lat"].map(repr)
    first = ~key.duplicated()
    count = key.map(key.value_counts()).to_numpy()
    top = s[first.to_numpy()]
    n = count[first.to_numpy()]
    name = "Campsite " + top["campsite_id"].str.removeprefix("camp_").str.replace("_", " ", regex=False)
    name = name.where(n == 1, name + " (" + pd.Series(n, index=top.index).astype(str) + " campsites)")
    placement = f"chosen by {campsites.method} over {campsites.grid_km:g} km demand grid"
    return pd.DataFrame({
        "site_id": top["campsite_id"].astype(str).to_numpy(),
        "name": name.to_numpy(),
        "kind": "campsite",
        "lon": top["lon"].to_numpy(),
        "lat": top["lat"].to_numpy(),
        "services": CAMPSITE_SERVICES,
        "operator": "provincial",
        "payments_per_day": (n * campsites.payments_per_day).astype(np.int64),
        "registrations_per_day": (n * campsites.registrations_per_day).astype(np.int64),
        "district_id": pd.NA,
        "province_code": top["province_code"].astype(str).to_numpy(),
        "illustrative": True,
        "placement": placement,
    })[SITES_TABLE_COLUMNS]
