"""A plan's delivery section: which sites close, where every paid household is paid, how fast,
which campsites the provinces open, and the load of each One Window Centre.

The stages are the pure functions of :mod:`simulator.plans.delivery` (closures, assignment,
distances, schedule) and :mod:`simulator.plans.campsites` (siting); :func:`plan_delivery`
strings them together for one engine result, in this order:

1. the hazard's tier at each site closes those at the scenario's ``closure.tier`` or above,
   for ``closure.days`` days or for the whole response;
2. every paid household goes to its nearest site offering payment that works at some time in
   the response (travel = straight line x ``detour_factor``);
3. the schedule pays each site's households at its capacity, instalment after instalment;
4. where households are beyond ``far_limit_km`` or a site needs more than
   ``campsites.max_days`` days, campsites are sited per province, added to the sites as
   provincial sites, and steps 2-3 run again with them;
5. registrations: the district's affected households missing from the registry
   (:mod:`simulator.plans.unregistered`) are taken to live where its affected registered
   households live, and go to the nearest open site offering registration;
6. complaints are ``complaints_share`` of the payments at each site (ASSUMPTION);
7. One Window Centres (declared by site id or kind) report the payments of both governments'
   programmes, the registrations and the complaints they take.

Everything is vectorized over households (KD-tree queries and bincounts); loops run over
hazard layers, instalments or provinces. Money stays int64 PKR and the delivery totals
reconcile exactly with the plan's paid total: scheduled + unassigned = paid.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from simulator.engine import targeting
from simulator.plans import delivery
from simulator.plans.build import group_sum

log = logging.getLogger(__name__)

#: Sites in plan.json: the columns kept from the sites table, then the loads.
SITE_FIELDS = ["site_id", "name", "kind", "operator", "partner", "province_code", "district_id", "lon", "lat",
               "services", "payments_per_day", "registrations_per_day", "campsite_payments_per_day",
               "campsite_registrations_per_day", "beside_site", "illustrative"]


@dataclass
class DeliveryResult:
    """The delivery section of a plan and each result row's site.

    ``section`` goes into plan.json as ``delivery``; ``site`` (int32 position in ``sites``,
    -1 where the row is unpaid or has no open site) and ``travel_km`` (float32, NaN likewise)
    give the household table's ``site_id`` and ``travel_km`` (:meth:`columns`); ``sites`` is
    the table used (the given sites, then the campsites).
    """

    section: dict
    site: np.ndarray
    travel_km: np.ndarray
    sites: pd.DataFrame

    def columns(self) -> dict[str, object]:
        """``site_id`` (categorical over the sites' ids, missing where no site) and
        ``travel_km`` [km] for the household table."""
        ids = pd.Index(self.sites.site_id.astype(str))
        return {"site_id": pd.Categorical.from_codes(self.site, categories=ids), "travel_km": self.travel_km}


def _closures(sites: pd.DataFrame, layers: list, specs: list, spec) -> tuple[delivery.Closures, list[str]]:
    """Closures over every raster hazard (highest tier of any: the hazard's tier thresholds, or
    its impact function's tier for pakka buildings, an ASSUMPTION for offices and camps); notes
    on hazards that cannot close a site (a declared-districts table has no intensity at a point)."""
    import xarray as xr

    n = len(sites)
    tier = np.zeros(n, np.int8)
    notes: list[str] = []
    for layer, hz in zip(layers, specs, strict=True):  # loops over hazard layers
        if not isinstance(layer, xr.DataArray):
            notes.append(f"hazard {hz.label!r} is a declared-districts table: it closes no site "
                         "(a table has no intensity at a site's point)")
            continue
        intensity = delivery.site_intensity(layer, sites.lon.to_numpy(), sites.lat.to_numpy())
        if getattr(hz, "impact", None):
            from hazards import impact

            # sites are offices and camps on firm ground: the pakka curve (ASSUMPTION)
            fn = impact.load(hz.impact)
            one_tier = np.asarray(fn.tier(intensity[0], housing="pakka" if fn.by_housing else None), np.int8)
        else:
            one_tier = delivery.closures(intensity, hz.tier_thresholds(), min_tier=spec.closure.tier,
                                         days=spec.closure.days).tier
        tier = np.maximum(tier, one_tier)
    closed = tier >= targeting.TIER_NAMES.index(spec.closure.tier)
    if spec.closure.days == 0:
        closed[:] = False
    days = spec.closure.days
    reopen = np.where(closed, delivery.CLOSED_FOR_RESPONSE if days is None else int(days), 0).astype(np.int32)
    return delivery.Closures(tier=tier, closed=closed, reopen_day=reopen), notes


@dataclass
class _Settings:
    """The scenario's ``delivery`` block and the road network, if any: :meth:`travel` sends
    households to their nearest usable site by road (:func:`simulator.plans.roads.assign`) or
    in a straight line times the detour factor (:func:`simulator.plans.delivery.assign`)."""

    spec: object
    roads: object = None

    def __getattr__(self, name: str):
        return getattr(self.spec, name)

    def travel(self, lon, lat, sites: pd.DataFrame, usable) -> delivery.Assignment:
        if self.roads is not None:
            from simulator.plans import roads

            return roads.assign(self.roads, lon, lat, sites.lon.to_numpy(), sites.lat.to_numpy(), usable=usable,
                                detour=self.spec.detour_factor)
        return delivery.assign(lon, lat, sites.lon.to_numpy(), sites.lat.to_numpy(), usable=usable,
                               detour=self.spec.detour_factor)


@dataclass
class _Pass:
    assignment: delivery.Assignment
    schedule: delivery.Schedule


def _usable(sites: pd.DataFrame, closed: delivery.Closures, service: str) -> np.ndarray:
    """Sites households can be sent to for ``service`` (payment or registration): offering it
    with a capacity, working at some time in the response, and not a campsite opened beside a
    site (whose capacity that site carries)."""
    capacity = "payments_per_day" if service == "payment" else "registrations_per_day"
    beside = sites["beside_site"].notna().to_numpy() if "beside_site" in sites else np.zeros(len(sites), bool)
    return (sites[f"offers_{service}"].to_numpy() & (sites[capacity].to_numpy() > 0) & closed.open_for_response
            & ~beside)


def _pay(sites: pd.DataFrame, closed: delivery.Closures, *, lon, lat, amount, weight, district, n_districts,
         instalments, spec, before: _Pass | None = None, new: np.ndarray | None = None) -> _Pass:
    """Assign the paid households and schedule them.

    With ``before`` (the pass without campsites), a household keeps its site when that was
    within the travel limit, open from day 0, and able to pay it within ``max_days``
    (:func:`_queue_excess`; a campsite opened beside a site adds to its capacity): a new
    campsite does not draw households that were well served. The others (the demand the
    campsites were sited for) fill the campsites (``new``: the rows that are campsites) nearest
    first, each up to what it pays in ``max_days`` (:func:`_fill_campsites`); any left stay at
    their site when it was within the limit (and wait), else go to their nearest site."""
    usable = _usable(sites, closed, "payment")
    where = spec.travel(lon, lat, sites, usable)
    if before is not None:
        old = before.assignment
        early = closed.reopen_day == 0
        days = np.maximum(spec.campsites.max_days - closed.reopen_day.astype(np.int64), 0)
        capacity = sites.payments_per_day.to_numpy(np.int64)
        with np.errstate(invalid="ignore"):
            keep = (old.distance_km <= spec.far_limit_km) & (old.site >= 0) & early[np.maximum(old.site, 0)] \
                & ~_queue_excess(old.site, weight, capacity, days)
        with np.errstate(invalid="ignore"):
            stay = keep | ((old.distance_km <= spec.far_limit_km) & (old.site >= 0))
        site = np.where(stay, old.site, where.site).astype(np.int32)
        km = np.where(stay, old.distance_km, where.distance_km).astype(np.float32)
        kept = np.bincount(old.site[keep], weights=np.asarray(weight, np.float64)[keep], minlength=len(capacity))
        room = capacity * days - kept.astype(np.int64)  # what each campsite can still pay in time
        moved = _fill_campsites(np.flatnonzero(~keep), lon, lat, weight, sites, usable & new, room, spec)
        site[moved.rows], km[moved.rows] = moved.site, moved.distance_km
        where = delivery.Assignment(site, km, where.detour)
    plan = delivery.schedule(where.site, amount, instalments, sites.payments_per_day.to_numpy(), weight=weight,
                             reopen_day=closed.reopen_day, district=district, n_districts=n_districts,
                             payments_per_staff_day=spec.payments_per_staff_day)
    return _Pass(where, plan)


#: Siting rounds: campsites are sited for the households the plan cannot pay in time, then again
#: for those the first campsites could not take (households move as campsites open).
CAMPSITE_ROUNDS = 2
#: Rounds of :func:`_fill_campsites` (each sends the households left over to their next
#: nearest campsite with room).
FILL_ROUNDS = 12


@dataclass
class _Moved:
    rows: np.ndarray
    site: np.ndarray
    distance_km: np.ndarray


def _fill_campsites(rows, lon, lat, weight, sites, campsites, room, spec) -> _Moved:
    """Send the households ``rows`` (too far from a site, or beyond what it pays in time) to
    the nearest campsite within the travel limit that still has room, in rounds: each round
    every household left goes to its nearest campsite with room; a campsite takes them in
    registry order up to its room (``payments_per_day x max_days`` households) and the rest try
    again next round, that campsite now full. Households no campsite within the limit can take
    after :data:`FILL_ROUNDS` rounds keep their nearest site. Returns the rows placed, their
    campsites and travel distances [km]."""
    room = np.where(campsites, room, 0).astype(np.int64)
    pending = np.asarray(rows, np.int64)
    out_rows, out_site, out_km = [], [], []
    w = np.asarray(weight, np.int64)
    for _ in range(FILL_ROUNDS):  # loops over rounds, not households
        if not len(pending) or not (room > 0).any():
            break
        near = spec.travel(lon[pending], lat[pending], sites, room > 0)
        with np.errstate(invalid="ignore"):
            within = near.distance_km <= spec.far_limit_km
        target = np.where(within, near.site, delivery.NO_SITE)
        over = _queue_excess(target, w[pending], room, np.ones(len(room), np.int64))
        placed = within & ~over
        out_rows.append(pending[placed])
        out_site.append(near.site[placed])
        out_km.append(near.distance_km[placed])
        room -= np.bincount(near.site[placed], weights=w[pending][placed], minlength=len(room)).astype(np.int64)
        full = np.zeros(len(room), bool)
        full[near.site[within & over]] = True
        room[full] = 0
        pending = pending[within & over]
    if not out_rows:
        return _Moved(np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32))
    return _Moved(np.concatenate(out_rows), np.concatenate(out_site).astype(np.int32),
                  np.concatenate(out_km).astype(np.float32))


def _queue_excess(site: np.ndarray, weight: np.ndarray, capacity: np.ndarray, days: np.ndarray) -> np.ndarray:
    """True for the households a site cannot pay within ``days`` [days, per site] at
    ``capacity`` [households/day, per site]: those queued (in registry order) after the first
    ``capacity x days`` of its households. They are the overload that :func:`campsites.demand`
    sited campsites for."""
    out = np.zeros(len(site), bool)
    rows = np.flatnonzero(site >= 0)
    if not len(rows):
        return out
    order = rows[np.argsort(site[rows], kind="stable")]
    s = site[order]
    w = np.asarray(weight, np.int64)[order]
    cum = np.cumsum(w)
    first = np.r_[True, s[1:] != s[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(len(s)), 0))
    ahead = cum - w - (cum[start] - w[start])  # households queued before the row at its site
    out[order] = ahead >= capacity[s] * days[s]
    return out


def _site_days(sched: delivery.Schedule, n_sites: int) -> np.ndarray:
    """Days each site takes to pay all its instalments' households [days] (0: none)."""
    out = np.zeros(n_sites, np.int64)
    if len(sched.sites):
        np.add.at(out, sched.sites.site.to_numpy(), sched.sites.days.to_numpy())
    return out


def _campsites(sites, closed, first: _Pass, *, lon, lat, weight, province, spec):
    """Campsites for the households the open sites serve too far away or too slowly
    (:mod:`simulator.plans.campsites`)."""
    from simulator.plans import campsites as camps

    need = camps.demand(
        lon, lat, province, first.assignment.distance_km, first.assignment.site,
        site_lon=sites.lon.to_numpy(), site_lat=sites.lat.to_numpy(),
        site_capacity=sites.payments_per_day.to_numpy(), weight=weight,
        site_province=sites.province_code.to_numpy(dtype=object), reopen_day=closed.reopen_day,
        limit_km=spec.far_limit_km, max_days=spec.campsites.max_days,
    )
    return camps.choose(need, limit_km=spec.far_limit_km, max_days=spec.campsites.max_days,
                        grid_km=spec.campsites.grid_km, detour=spec.detour_factor,
                        time_limit_s=spec.campsites.time_limit_s, mip_rel_gap=spec.campsites.mip_gap)


def _hosts(table: pd.DataFrame, closed: delivery.Closures, lon, lat, spec) -> np.ndarray:
    """For each campsite place [degrees]: its nearest payment site, when within half a grid cell
    and open from day 0, whose side it opens at (-1: none). A campsite nearest a site closed for
    some days stands alone: it replaces that site while it is closed."""
    from scipy.spatial import cKDTree

    hosts = np.flatnonzero(_usable(table, closed, "payment"))
    out = np.full(len(lon), -1, np.int64)
    if len(hosts) and len(lon):
        tree = cKDTree(delivery.unit_vectors(table.lon.to_numpy()[hosts], table.lat.to_numpy()[hosts]))
        chord, nearest = tree.query(delivery.unit_vectors(lon, lat))
        host = hosts[nearest]
        near = (delivery.chord_to_km(chord) <= spec.campsites.grid_km / 2) & (closed.reopen_day[host] == 0)
        out[near] = host[near]
    return out


def _beside(table: pd.DataFrame, camps: pd.DataFrame, closed: delivery.Closures, spec) -> pd.DataFrame:
    """The sites table with the campsites appended. A campsite within half a grid cell of an
    open payment site is opened beside it (:func:`_hosts`): the site carries the campsite's
    capacity (its ``campsite_payments_per_day``), because nearest-site assignment would send
    every household at that point to one of the two; the campsite row names the site in
    ``beside_site`` and receives no household itself."""
    table = table.copy()
    camps = camps.copy()
    host = _hosts(table, closed, camps.lon.to_numpy(), camps.lat.to_numpy(), spec)
    near = host >= 0
    camps["beside_site"] = pd.Series(pd.NA, index=camps.index, dtype="string")
    camps.loc[near, "beside_site"] = table.site_id.to_numpy()[host[near]]
    for to in ("payments_per_day", "registrations_per_day"):  # loops over the two capacities
        added = np.bincount(host[near], weights=camps[to].to_numpy(np.float64)[near], minlength=len(table))
        before = table[f"campsite_{to}"].to_numpy(np.int64) if f"campsite_{to}" in table else 0
        table[f"campsite_{to}"] = before + added.astype(np.int64)
        table[to] = table[to].to_numpy(np.int64) + added.astype(np.int64)
        camps[f"campsite_{to}"] = np.int64(0)
    if "beside_site" not in table:
        table["beside_site"] = pd.Series(pd.NA, index=table.index, dtype="string")
    return pd.concat([table, camps], ignore_index=True)


def _registrations(sites: pd.DataFrame, closed: delivery.Closures, *, lon, lat, weight, district,
                   district_ids: pd.Index, unregistered: dict | None, affected_registered: np.ndarray,
                   spec) -> tuple[np.ndarray, int]:
    """Registrations each site takes [households]: each district's affected unregistered
    households spread over its affected registered households' places, sent to the nearest
    open site offering registration. Returns (per site, households with no such site)."""
    n_sites = len(sites)
    rows = (unregistered or {}).get("districts") or []
    if not rows or not len(lon):
        return np.zeros(n_sites, np.int64), 0
    table = pd.DataFrame(rows).set_index("district_id")["affected_unregistered_households"]
    per_district = table.reindex(district_ids).fillna(0).to_numpy(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(affected_registered > 0, per_district / affected_registered, 0.0)
    usable = _usable(sites, closed, "registration")
    where = spec.travel(lon, lat, sites, usable)
    share = weight * ratio[district]
    has = where.site >= 0
    load = np.bincount(where.site[has], weights=share[has], minlength=n_sites)
    return np.rint(load).astype(np.int64), int(round(float(share[~has].sum())))


def _one_window(sites: pd.DataFrame, declared: list[str]) -> tuple[np.ndarray, list[str]]:
    """Sites acting as One Window Centres: the declared ids, every site of a declared kind, and
    sites of kind ``one_window_centre``. Unknown names are returned (the caller reports them)."""
    from simulator.registry.sites import KINDS

    ids = sites.site_id.astype(str).to_numpy()
    kinds = sites.kind.astype(str).to_numpy()
    names = set(declared)
    flag = np.isin(ids, list(names)) | np.isin(kinds, [k for k in names if k in KINDS]) | (kinds == "one_window_centre")
    unknown = sorted(names - set(ids) - set(KINDS))
    return flag, unknown


def plan_delivery(
    spec,
    *,
    sites,
    sites_input: dict,
    layers: list,
    hazard_specs: list,
    lon: np.ndarray,
    lat: np.ndarray,
    weight: np.ndarray,
    amount_pkr: np.ndarray,
    federal_pkr: np.ndarray,
    payer: np.ndarray,
    tier: np.ndarray,
    district: np.ndarray,
    district_ids: pd.Index,
    district_province: np.ndarray,
    instalments,
    unregistered: dict | None = None,
    roads=None,
) -> DeliveryResult:
    """The delivery section of a plan (see the module docstring).

    Parameters
    ----------
    spec
        The scenario's ``delivery`` block (:class:`simulator.scenario.Delivery`).
    sites
        Validated sites (:class:`simulator.registry.sites.Sites`); ``sites_input`` records where
        they came from (file, sha256, rows) for the plan.
    layers, hazard_specs
        The run's hazard sources and the scenario's hazard entries, in the same order.
    lon, lat
        Each result row's place [degrees, EPSG:4326].
    weight
        Households each row stands for.
    amount_pkr, federal_pkr
        Each row's payment and its federal part [int64 PKR].
    payer
        Each row's payer code (:data:`simulator.engine.PAYER`).
    tier
        Each row's hazard tier (0: not affected).
    district, district_ids, district_province
        Each row's district code, the district id of each code, and each code's province.
    instalments
        The policy's instalments (``day``, ``share``).
    unregistered
        The plan's ``unregistered`` block (per-district affected unregistered households).
    roads
        A road network (:class:`simulator.plans.roads.RoadNetwork`) for travel by road; None:
        straight lines times the detour factor.

    Returns
    -------
    DeliveryResult
    """
    table = sites.sites.reset_index(drop=True)
    spec = _Settings(spec, roads)
    n_rows = len(amount_pkr)
    n_districts = len(district_ids)
    paid = np.flatnonzero(np.asarray(amount_pkr) > 0)
    w = np.asarray(weight, np.int64)
    province_codes = np.asarray(district_province, dtype=object)
    closed, notes = _closures(table, layers, hazard_specs, spec)
    args = dict(lon=np.asarray(lon)[paid], lat=np.asarray(lat)[paid], weight=w[paid])
    first = _pay(table, closed, amount=np.asarray(amount_pkr)[paid], district=np.asarray(district)[paid],
                 n_districts=n_districts, instalments=instalments, spec=spec, **args)
    result, chosen = first, None
    if spec.campsites is not None and len(paid):
        from simulator.plans import campsites as camps
        from simulator.registry import sites as sites_mod

        rounds = []
        for k in range(CAMPSITE_ROUNDS):  # loops over siting rounds
            found = _campsites(table, closed, result, province=province_codes[np.asarray(district)[paid]], spec=spec,
                               **args)
            if not len(found.sites):
                break
            if k:  # ids of a later round: camp_SD_r2_1, ...
                found.sites["campsite_id"] = found.sites.campsite_id.str.replace(
                    r"^camp_([^_]+)_", rf"camp_\1_r{k + 1}_", regex=True)
            rounds.append(found)
            extra = sites_mod.validate(camps.as_sites(found), source="campsites chosen by the plan")
            clash = set(extra.sites.site_id) & set(table.site_id)
            if clash or extra.report.rows_quarantined:  # pragma: no cover - campsite ids are generated
                raise AssertionError(f"campsites: ids {sorted(clash)[:3]} clash with the sites table's, or rows "
                                     f"were quarantined: {extra.quarantine.head(3).to_dict('records')}")
            table = _beside(table, extra.sites, closed, spec)
            zeros = np.zeros(len(extra.sites))
            closed = delivery.Closures(
                tier=np.concatenate([closed.tier, zeros.astype(np.int8)]),
                closed=np.concatenate([closed.closed, zeros.astype(bool)]),
                reopen_day=np.concatenate([closed.reopen_day, zeros.astype(np.int32)]),
            )
            result = _pay(table, closed, amount=np.asarray(amount_pkr)[paid],
                          district=np.asarray(district)[paid], n_districts=n_districts,
                          instalments=instalments, spec=spec, before=result,
                          new=np.arange(len(table)) >= len(sites.sites), **args)
        if rounds:
            chosen = SimpleNamespace(sites=pd.concat([r.sites for r in rounds], ignore_index=True),
                                     method=rounds[0].method + (f"; {len(rounds)} siting rounds" if len(rounds) > 1 else ""))
    n_sites = len(table)
    site = result.assignment.site
    distance = result.assignment.distance_km
    sched = result.schedule

    # per site: households, money by government, payments by payer, days, staff
    placed = site >= 0
    s_codes = site[placed]
    amount_paid = np.asarray(amount_pkr, np.int64)[paid][placed]
    fed_paid = np.asarray(federal_pkr, np.int64)[paid][placed]
    wp = w[paid][placed]
    households = np.bincount(s_codes, weights=wp, minlength=n_sites).astype(np.int64)
    amount_site = group_sum(s_codes, amount_paid, n_sites)
    federal_site = group_sum(s_codes, fed_paid, n_sites)
    payer_paid = np.asarray(payer)[paid][placed]
    by_payer = {name: np.bincount(s_codes[payer_paid == code], weights=wp[payer_paid == code], minlength=n_sites)
                .astype(np.int64) for code, name in enumerate(("none", "federal", "provincial", "both"))
                if name != "none"}
    days = _site_days(sched, n_sites)
    last_day = np.full(n_sites, -1, np.int64)
    staff = np.zeros(n_sites, np.int64)
    if len(sched.sites):
        np.maximum.at(last_day, sched.sites.site.to_numpy(), sched.sites.last_day.to_numpy())
        np.add.at(staff, sched.sites.site.to_numpy(), sched.sites.staff_days.to_numpy())
    affected = np.asarray(tier) > 0
    affected_registered = np.bincount(np.asarray(district)[affected], weights=w[affected], minlength=n_districts)
    registrations, unplaced_registrations = _registrations(
        table, closed, lon=np.asarray(lon)[affected], lat=np.asarray(lat)[affected], weight=w[affected],
        district=np.asarray(district)[affected], district_ids=district_ids, unregistered=unregistered,
        affected_registered=affected_registered, spec=spec,
    )
    complaints = np.rint(households * spec.complaints_share).astype(np.int64)
    one_window, unknown = _one_window(table, spec.one_window_centres)
    if unknown:
        notes.append(f"one_window_centres: {unknown} are neither site ids of the sites table nor site kinds; "
                     "they were ignored (check the spelling)")

    status = np.where(closed.reopen_day == delivery.CLOSED_FOR_RESPONSE, "closed",
                      np.where(closed.closed, "closed_for_days", "open"))
    frame = table.reindex(columns=SITE_FIELDS).copy()
    frame["kind"] = frame["kind"].astype(str)
    frame["operator"] = frame["operator"].astype(str)
    is_camp = np.arange(n_sites) >= len(sites.sites)  # the campsites follow the given sites
    frame = frame.assign(
        status=status, tier=closed.tier.astype(np.int64),
        reopen_day=np.where(closed.reopen_day == delivery.CLOSED_FOR_RESPONSE, -1, closed.reopen_day).astype(np.int64),
        campsite_chosen=is_camp, one_window_centre=one_window,
        households=households, amount_pkr=amount_site, federal_pkr=federal_site,
        provincial_pkr=amount_site - federal_site,
        federal_payments=by_payer["federal"], provincial_payments=by_payer["provincial"],
        joint_payments=by_payer["both"], days=days, last_day=last_day, staff_days=staff,
        registrations=registrations, complaints=complaints,
    )
    for name in ("reopen_day", "last_day"):  # -1: none (closed for the response; nothing to pay)
        frame[name] = frame[name].astype(object).where(frame[name] >= 0, None)

    dist = delivery.distance_summary(np.asarray(district)[paid], distance, n_districts, weight=w[paid],
                                     limit_km=spec.far_limit_km)
    dist.insert(0, "district_id", district_ids.astype(str))
    dist.insert(1, "province_code", province_codes)
    if sched.districts is not None and len(sched.districts):
        last = sched.districts.groupby("district").last_day.max()
        dist["last_day"] = pd.Series(last).reindex(range(n_districts)).astype("Int64").array
    else:
        dist["last_day"] = pd.array([pd.NA] * n_districts, dtype="Int64")
    dist = dist[dist.households > 0].reset_index(drop=True)

    total_paid = int(np.asarray(amount_pkr, np.int64)[paid].sum())
    scheduled = int(sched.instalments.amount_pkr.sum())
    unassigned = int(sched.instalments.unassigned_pkr.sum())
    if scheduled + unassigned != total_paid:  # pragma: no cover - an invariant of schedule()
        raise AssertionError(f"delivery: scheduled {scheduled} + unassigned {unassigned} != paid {total_paid}")
    provinces = _provinces(frame, dist, chosen)
    if spec.campsites is not None and len(sched.instalments) and not sched.instalments.last_day.isna().all():
        late = int(sched.instalments.last_day.max()) + 1 - int(sched.instalments.day.max())
        if chosen is not None and len(chosen.sites) and late > spec.campsites.max_days:
            slow = frame.loc[frame.last_day.fillna(-1).astype(np.int64).idxmax()]
            notes.append(f"campsites were sited for payment within {spec.campsites.max_days} days, but the last "
                         f"instalment takes {late} days: the slowest site is {slow.site_id} ({slow.status}, "
                         f"{int(slow.households):,} households). Campsites are sited in up to {CAMPSITE_ROUNDS} "
                         "rounds and filled nearest first, a whole registry row at a time; households no "
                         "campsite within the limit has room for wait at their site (see delivery-sites)")
    with np.errstate(invalid="ignore"):
        beyond = int(dist.beyond_limit.sum())
    section = {
        "sites_source": _portable(sites_input),
        "assumptions": {
            "travel": ("by road over " + Path(roads.source).name + f" (legs off the network x {spec.detour_factor:g})"
                       if roads is not None else f"straight line x {spec.detour_factor:g}"),
            "detour_factor": spec.detour_factor, "far_limit_km": spec.far_limit_km,
            "payments_per_staff_day": spec.payments_per_staff_day, "closure_tier": spec.closure.tier,
            "closure_days": spec.closure.days, "complaints_share": spec.complaints_share,
            "campsite_max_days": None if spec.campsites is None else spec.campsites.max_days,
            "campsite_grid_km": None if spec.campsites is None else spec.campsites.grid_km,
            "basis": delivery.BASIS,
        },
        "totals": {
            "paid_households": int(w[paid].sum()),
            "assigned_households": int(households.sum()),
            "unassigned_households": int(w[paid][~placed].sum()),
            "paid_pkr": total_paid, "scheduled_pkr": scheduled, "unassigned_pkr": unassigned,
            "beyond_limit_households": beyond,
            "sites": int(n_sites - is_camp.sum()), "sites_closed": int((status == "closed").sum()),
            "sites_closed_for_days": int((status == "closed_for_days").sum()),
            "campsites": 0 if chosen is None else len(chosen.sites),
            "last_payment_day": None if sched.instalments.last_day.isna().all()
            else int(sched.instalments.last_day.max()),
            "days_to_pay": None if sched.instalments.last_day.isna().all()
            else int(sched.instalments.last_day.max()) + 1,
            "registrations": int(registrations.sum()), "registrations_without_site": unplaced_registrations,
            "complaints": int(complaints.sum()),
            "one_window_centres": int(one_window.sum()),
        },
        "instalments": _records(sched.instalments),
        "closed_sites": _records(frame.loc[status != "open", ["site_id", "name", "kind", "district_id",
                                                              "province_code", "tier", "reopen_day"]]),
        "provinces": _records(provinces),
        "districts": _records(dist),
        "campsites": [] if chosen is None else _campsite_records(chosen.sites, frame),
        "campsite_method": None if chosen is None else
        f"{chosen.method}; stops when proven within {spec.campsites.mip_gap:.0%} of the fewest campsites",
        "one_window": _records(frame.loc[one_window, ["site_id", "name", "kind", "district_id", "province_code",
                                                      "households", "federal_payments", "provincial_payments",
                                                      "joint_payments", "federal_pkr", "provincial_pkr",
                                                      "registrations", "complaints"]]),
        "sites": _records(frame),
        "cash_per_day": _records(sched.per_day.assign(site_id=table.site_id.to_numpy()[sched.per_day.site.to_numpy()])
                                 [["site_id", "instalment", "day", "households", "cash_pkr", "staff_days"]]),
        "notes": notes,
    }
    out_site = np.full(n_rows, delivery.NO_SITE, dtype=np.int32)
    out_km = np.full(n_rows, np.nan, dtype=np.float32)
    out_site[paid] = site
    out_km[paid] = distance
    log.info("delivery: %d households to %d sites, %d closed, %d campsites, last payment on day %s",
             section["totals"]["assigned_households"], n_sites, section["totals"]["sites_closed"],
             section["totals"]["campsites"], section["totals"]["last_payment_day"])
    return DeliveryResult(section=section, site=out_site, travel_km=out_km, sites=table)


def _campsite_records(chosen: pd.DataFrame, frame: pd.DataFrame) -> list[dict]:
    """The chosen campsites for plan.json: whole households, the site each opens beside, and
    what it serves (``paid_households``, ``registrations``, ``complaints``: the load of its row
    in the sites table, shared equally by campsites chosen at one place, which are one row).
    Matched by place: co-located campsites are one row of the sites table."""
    if not len(chosen):
        return []
    camps = frame[frame.campsite_chosen]
    place = pd.MultiIndex.from_arrays([camps.lon.round(6).to_numpy(), camps.lat.round(6).to_numpy()])
    first = ~place.duplicated()  # two rounds may site at one place: the first row there stands for it
    camps, place = camps[first], place[first]
    key = pd.MultiIndex.from_arrays([chosen.lon.round(6).to_numpy(), chosen.lat.round(6).to_numpy()])
    at = place.get_indexer(key)
    sharing = np.bincount(at[at >= 0], minlength=len(camps))[np.maximum(at, 0)]
    out = chosen.copy()
    for name in ("demand_households", "beyond_limit_households", "overload_households"):
        out[name] = np.rint(out[name].to_numpy(np.float64)).astype(np.int64)
    out["site_id"] = np.where(at >= 0, camps.site_id.to_numpy(dtype=object)[np.maximum(at, 0)], None)
    out["beside_site"] = np.where(at >= 0, camps.beside_site.astype(object).to_numpy()[np.maximum(at, 0)], None)
    for name, column in (("paid_households", "households"), ("registrations", "registrations"),
                         ("complaints", "complaints")):
        values = camps[column].to_numpy(np.float64)[np.maximum(at, 0)]
        out[name] = np.where(at >= 0, np.rint(values / np.maximum(sharing, 1)), 0).astype(np.int64)
    return _records(out)


def _provinces(frame: pd.DataFrame, dist: pd.DataFrame, chosen) -> pd.DataFrame:
    """Per province with payments, closed sites or campsites: households paid at its sites,
    days to pay, sites closed, campsites, registrations, complaints, and its districts'
    households beyond the travel limit."""
    work = frame.assign(province_code=frame.province_code.fillna("unknown"),
                        last_day=frame.last_day.fillna(-1).astype(np.int64),
                        closed=frame.status == "closed")
    by_site = work.groupby("province_code").agg(
        households=("households", "sum"), amount_pkr=("amount_pkr", "sum"), sites_closed=("closed", "sum"),
        last_day=("last_day", "max"),
        registrations=("registrations", "sum"), complaints=("complaints", "sum"),
    )
    far = dist.groupby("province_code").beyond_limit.sum().rename("beyond_limit_households")
    camps = (chosen.sites.groupby("province_code").size() if chosen is not None and len(chosen.sites)
             else pd.Series(dtype=np.int64)).rename("campsites")
    out = by_site.join(far, how="outer").join(camps, how="outer").fillna({"beyond_limit_households": 0}).fillna(0).reset_index()
    out = out.astype({c: np.int64 for c in out.columns if c != "province_code"})
    out["days_to_pay"] = np.where(out.last_day >= 0, out.last_day + 1, 0)
    out["last_day"] = out["last_day"].astype(object).where(out.last_day >= 0, None)
    keep = (out.households > 0) | (out.sites_closed > 0) | (out.campsites > 0) | (out.beyond_limit_households > 0)
    return out[keep].reset_index(drop=True)


def manifest_input(info: dict) -> dict:
    """What the manifest records of the sites (and roads) files: their absolute paths and hashes."""
    out = {k: v for k, v in info.items() if k != "quarantine"}
    out["file"] = out.pop("path", out.get("file"))
    if isinstance(out.get("roads"), dict):
        roads = dict(out["roads"])
        roads["file"] = roads.pop("path", roads.get("file"))
        out["roads"] = roads
    return out


def _portable(info: dict) -> dict:
    """A sites record without absolute paths (they stay in the manifest)."""
    out = {k: v for k, v in info.items() if k != "path"}
    if isinstance(out.get("roads"), dict):
        out["roads"] = {k: v for k, v in out["roads"].items() if k != "path"}
    return out


def _records(frame: pd.DataFrame) -> list[dict]:
    """JSON-ready rows: numpy scalars as Python numbers, NaN and NA as None."""
    clean = frame.astype(object).where(frame.notna(), None)
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
            for row in clean.to_dict(orient="records")]


def load_sites(spec, *, base: Path | None = None):
    """The scenario's sites table (or the shipped ILLUSTRATIVE one), what the manifest and plan
    record of it (file, sha256, rows read, valid and quarantined, illustrative or not; the road
    network's file, sha256, nodes and edges) and the road network (None without ``roads``)."""
    from simulator.plans import roads as roads_mod
    from simulator.registry import sites as sites_mod
    from simulator.scenario import file_sha256

    def resolve(name: str) -> Path:
        path = Path(name)
        return path if path.is_absolute() or base is None else base / path

    path = resolve(spec.sites) if spec.sites else sites_mod.illustrative_path()
    loaded = sites_mod.load(path)
    net = None
    road_info = None
    if getattr(spec, "roads", None):
        road_path = resolve(spec.roads)
        net = roads_mod.load(road_path, layer=spec.roads_layer)
        road_info = {"file": spec.roads, "path": str(road_path), "sha256": file_sha256(road_path), "nodes": net.nodes,
                     "edges": int(net.graph.nnz // 2)}
    info = {
        # as the scenario names it (the shipped table by its place in the repository), so that a
        # plan reads the same on every machine; ``path`` (absolute) is for the manifest
        "file": spec.sites or f"data/{sites_mod.ILLUSTRATIVE_FILE}", "path": str(path),
        "sha256": file_sha256(path), "rows_read": loaded.report.rows_read,
        "rows_valid": loaded.report.rows_valid, "rows_quarantined": loaded.report.rows_quarantined,
        "illustrative": bool(len(loaded.sites) and loaded.sites.illustrative.all()),
        "roads": road_info,
        "quarantine": _records(loaded.quarantine),
    }
    return loaded, info, net


def headline(section: dict) -> str:
    """One sentence of a delivery section for the brief, the app and the CLI: "Every paid
    household is paid within N days; M campsites needed: 12 in Sindh, 3 in Punjab; ..."."""
    t = section["totals"]
    from hazards.tables import PROVINCES as names
    parts = []
    if t["days_to_pay"] is not None:
        parts.append(f"paid within {t['days_to_pay']:,} days of the response's start")
    camps = [p for p in section["provinces"] if p["campsites"]]
    if camps:
        each = ", ".join(f"{p['campsites']:,} in {names.get(p['province_code'], p['province_code'])}" for p in camps)
        parts.append(f"{t['campsites']:,} campsites needed ({each})")
    if t["sites_closed"] or t["sites_closed_for_days"]:
        parts.append(f"{t['sites_closed'] + t['sites_closed_for_days']:,} of {t['sites']:,} sites closed by the hazard")
    if t["beyond_limit_households"]:
        parts.append(f"{t['beyond_limit_households']:,} households more than "
                     f"{section['assumptions']['far_limit_km']:g} km from their site")
    if t["unassigned_households"]:
        parts.append(f"{t['unassigned_households']:,} paid households have no open payment site")
    text = "; ".join(parts) if parts else "no household to pay"
    return "Delivery: " + text + "."
