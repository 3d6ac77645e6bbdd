"""The synthetic registry generator and its sourced parameters.

Generates households at any scale up to the NSER's 35 million, district by district, each
district with its own seeded random stream, so that the result does not depend on chunking.
Households live in towns and villages inside their district's polygon, on habitable land (from
the shipped DEM), and carry a census tehsil code. Every assumption is a named constant below with its source.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from hazards import tables as data
from hazards.errors import DataFileError, RegistryError
from simulator.registry.schema import FLAGS, HOUSING

# --- Assumptions of the synthetic generator (each is a parameter, named and sourced) -------
#: BISP Kafaalat eligibility cut-off: PMT <= 32. Source: Economic Survey 2021-22 (FACTS.md s.2).
KAFAALAT_PMT_CUTOFF = 32.0
#: Take-up of Kafaalat among eligible households. Chosen so that the caseload share is about
#: 9.3 M of 35 M NSER households (26.6 %; BISP Jan-Mar 2024 cycle, FACTS.md s.2-3).
KAFAALAT_TAKEUP = 0.90
#: Mean PMT score / 100 for rural and urban households, before provincial shifts. Calibrated so
#: that about 29.5 % of households score <= 32 (26.6 % caseload / 0.90 take-up). Assumption.
PMT_MEAN = {"rural": 0.39, "urban": 0.52}
#: Provincial shift of the mean PMT / 100: Sindh and Balochistan poorer (assumption, in line with
#: the 2022 flood caseload's provincial split, FACTS.md s.5).
PMT_SHIFT = {"PB": 0.03, "SD": -0.05, "KP": -0.01, "BA": -0.07, "IS": 0.12}
PMT_CONCENTRATION = 7.0
#: Female-headed households (assumption, about 1 in 9; PSLM reports 8-12 %), households with a
#: member with a disability (assumption), kacha share at PMT 0 and its fall per PMT point.
P_FEMALE_HEADED = 0.11
P_DISABILITY = 0.05
#: Chance that each member other than the head is a child under five (assumption giving about
#: 0.85 per household of 6.3, in line with under-fives being about 14 % of the population).
P_UNDER_FIVE = 0.16
#: Households per synthetic village (assumption): a district has one village per 150 rural
#: households of the census, whatever the registry's size.
HOUSEHOLDS_PER_VILLAGE = 150
#: Radius of a village: its households lie within it, denser towards the centre [km] (assumption).
VILLAGE_RADIUS_KM = 0.8
#: Urban density used to size the towns [persons per km2] (assumption).
URBAN_DENSITY = 8000.0
#: Towns cover at most this share of their district's area (assumption; binds in Karachi, Lahore).
MAX_TOWN_AREA_SHARE = 0.8
#: One town per census tehsil (each has a headquarters town), at most this many; town sizes
#: follow the rank-size rule (the k-th town has 1/k of the largest's people) (assumption).
MAX_TOWNS = 6
#: Habitability of a place, from the shipped GLOBE DEM (assumption): people live on low, flat
#: land. Weight = exp(-slope / SLOPE_SCALE_DEG) * exp(-(elevation - the district's 5th
#: percentile) / ELEVATION_SCALE_M); slope is taken over about 1 km cells.
SLOPE_SCALE_DEG = 4.0
ELEVATION_SCALE_M = 500.0
#: Towns favour the most habitable places more strongly than villages: weight ** TOWN_POWER.
TOWN_POWER = 3.0
#: Candidate sites per district, drawn uniformly inside its polygon with a fixed seed; villages
#: and towns are placed at (villages: near) sites, weighted by habitability.
SITES_PER_DISTRICT = 2048
SITE_SEED = 20230301
#: Town centres are chosen among this many most habitable sites (their distance to the
#: boundary is computed).
TOWN_CANDIDATES = 128
#: A household drawn outside its district's polygon is drawn again up to this many times, then
#: placed at its village or town centre (which lies inside).
MAX_REDRAWS = 8
KM_PER_DEG = 111.32
#: Households in the NSER, the registry the synthetic one stands for: 35 M after the 2019-21
#: door-to-door update (BISP; FACTS.md s.2). The census 2023 counts 38.3 M households.
NSER_HOUSEHOLDS = 35_000_000
#: NSER coverage of census households by province. No provincial NSER counts were found, so every
#: province takes the national coverage, NSER_HOUSEHOLDS / census households (about 91.4 %);
#: replace an entry here when a province's count is published.
NSER_COVERAGE_BY_PROVINCE: dict[str, float] = {}
LOG = logging.getLogger(__name__)


def district_counts(households: int, seed: int) -> np.ndarray:
    """Households per district: a multinomial draw on the 2023 census household shares.

    Parameters
    ----------
    households
        Total rows to draw [households].
    seed
        Random seed.

    Returns
    -------
    numpy.ndarray
        int64 rows per district, in the order of ``data/districts.csv``; sums to ``households``.
    """
    table = data.districts()
    share = table.households_2023.to_numpy(dtype=float)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    return rng.multinomial(households, share / share.sum())


@functools.cache
def nser_households() -> np.ndarray:
    """NSER households per district [int64, order of ``data/districts.csv``]: census 2023
    households times the province's coverage (:data:`NSER_COVERAGE_BY_PROVINCE`, else the
    national :data:`NSER_HOUSEHOLDS` / census), apportioned to whole households by the
    largest-remainder method so that, without provincial figures, they add up to
    :data:`NSER_HOUSEHOLDS` exactly. The rows of the synthetic registry carry these as weights;
    the census households it does not hold are the unregistered (:mod:`simulator.plans.unregistered`).
    """
    table = data.districts()
    census = table.households_2023.to_numpy(dtype=np.int64)
    national = NSER_HOUSEHOLDS / census.sum()
    coverage = table.province_code.map(NSER_COVERAGE_BY_PROVINCE).fillna(national).to_numpy(dtype=float)
    quota = census * np.minimum(coverage, 1.0)
    base = np.floor(quota).astype(np.int64)
    target = int(round(quota.sum()))
    order = np.argsort(-(quota - base), kind="stable")
    base[order[: max(target - int(base.sum()), 0)]] += 1
    return base


def _pseudonyms(index: np.ndarray, seed: int) -> np.ndarray:
    """16-character pseudonyms: a bijective 64-bit mix (splitmix64) of the row index, written
    as hex digits except the 9th character, whose nibble is written with a letter ``g``-``v``.

    Distinct indices always give distinct ids (each nibble keeps its own symbol); the ids carry
    no personal information, and no id has more than 8 digits in a row, so a scan for CNICs
    (13 digits) never flags one.
    """
    key = np.uint64((seed * 0x9E3779B97F4A7C15) % 2**64)
    with np.errstate(over="ignore"):
        z = index.astype(np.uint64) + key
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    raw = z.astype(">u8").view(np.uint8).reshape(-1, 8)
    hexed = np.empty((len(z), 16), dtype=np.uint8)
    hexed[:, 0::2] = digits[raw >> 4]
    hexed[:, 1::2] = digits[raw & 15]
    # The 9th character's nibble as one of 16 letters: at most 8 digits in a row, never a CNIC
    # (13 digits; simulator.registry.cnic).
    letters = np.frombuffer(b"ghijklmnopqrstuv", dtype=np.uint8)
    hexed[:, 8] = letters[raw[:, 4] >> 4]
    return hexed.view("S16").ravel()


# --- Where households live: sites, towns and villages inside each district's polygon --------


tehsils = data.tehsils


@functools.cache
def _tehsil_shares() -> tuple[list[np.ndarray], np.ndarray, list[int]]:
    """Per district (census order): cumulative household shares of its tehsils, their row
    offset in :func:`tehsils`, and counts. Districts without tehsils have an empty array."""
    table = tehsils()
    order = pd.Index(data.districts().district_id)
    code = order.get_indexer(table.district_id)
    cums: list[np.ndarray] = []
    first = np.zeros(len(order), dtype=np.int64)
    counts: list[int] = []
    for d in range(len(order)):  # 136 districts, a few rows each
        rows = np.flatnonzero(code == d)
        h = table.households.to_numpy(dtype=float)[rows]
        cums.append(np.cumsum(h) / h.sum() if len(rows) else np.empty(0))
        first[d] = rows[0] if len(rows) else -1
        counts.append(len(rows))
    return cums, first, counts


@functools.cache
def _dem() -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The shipped DEM [m] and its (x0, dx, y0, dy) [degrees]."""
    import rasterio

    with rasterio.open(data.dem_path()) as src:
        t = src.transform
        return src.read(1), (t.c, t.a, t.f, t.e)


def _terrain_at(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Elevation [m] and slope [degrees] (centred differences over the neighbouring cells,
    about 1 km) of the DEM at points."""
    elev, (x0, dx, y0, dy) = _dem()
    h, w = elev.shape
    col = np.clip(((lon - x0) / dx).astype(np.int64), 1, w - 2)
    row = np.clip(((lat - y0) / dy).astype(np.int64), 1, h - 2)
    def at(r: np.ndarray, c: np.ndarray) -> np.ndarray:
        return elev[r, c].astype(np.float64)

    step_y = abs(dy) * KM_PER_DEG * 1000.0
    step_x = dx * KM_PER_DEG * 1000.0 * np.cos(np.radians(lat))
    gx = (at(row, col + 1) - at(row, col - 1)) / (2.0 * step_x)
    gy = (at(row + 1, col) - at(row - 1, col)) / (2.0 * step_y)
    return at(row, col), np.degrees(np.arctan(np.hypot(gx, gy)))


@functools.cache
def _polygons() -> np.ndarray:
    """The shipped outline of each census district, in the order of ``districts.csv``,
    prepared for fast point tests."""
    outlines = data.outlines("districts").set_index("district_id").geometry
    order = data.districts().district_id
    missing = sorted(set(order) - set(outlines.index))
    if missing:
        raise DataFileError(f"the shipped district outlines have no polygon for {missing}.")
    geoms = outlines.reindex(order).to_numpy()
    shapely.prepare(geoms)
    return geoms


def _polygon(d: int):
    """District ``d``'s polygon (prepared)."""
    return _polygons()[d]


@dataclass(frozen=True)
class _Sites:
    """Candidate places inside one district: lon/lat [degrees], habitability weight, distance
    to the boundary [km] of the first :data:`TOWN_CANDIDATES` (sites are sorted from the most
    habitable), cell size [km], cos(latitude)."""

    lon: np.ndarray
    lat: np.ndarray
    weight: np.ndarray
    edge_km: np.ndarray
    cell_km: float
    coslat: float


@functools.cache
def _sites(d: int) -> _Sites:
    """:data:`SITES_PER_DISTRICT` points uniformly inside district ``d`` (fixed seed, rounded to
    5 decimals and inside after rounding), with their habitability from the DEM."""
    geom = _polygon(d)
    rng = np.random.default_rng(np.random.SeedSequence([SITE_SEED, d]))
    x0, y0, x1, y1 = geom.bounds
    share = max(shapely.area(geom) / ((x1 - x0) * (y1 - y0)), 1e-3)
    lon = np.empty(0)
    lat = np.empty(0)
    while len(lon) < SITES_PER_DISTRICT:  # rejection sampling in bulk: one or two rounds
        n = int(1.2 * (SITES_PER_DISTRICT - len(lon)) / share) + 64
        x = rng.uniform(x0, x1, n).round(5)
        y = rng.uniform(y0, y1, n).round(5)
        inside = shapely.contains_xy(geom, x, y)
        lon, lat = np.concatenate([lon, x[inside]]), np.concatenate([lat, y[inside]])
    lon, lat = lon[:SITES_PER_DISTRICT], lat[:SITES_PER_DISTRICT]
    z, s = _terrain_at(lon, lat)
    floor = np.percentile(z, 5)
    weight = np.exp(-s / SLOPE_SCALE_DEG - np.maximum(z - floor, 0.0) / ELEVATION_SCALE_M)
    order = np.argsort(-weight, kind="stable")
    lon, lat, weight = lon[order], lat[order], weight[order]
    coslat = float(np.cos(np.radians(0.5 * (y0 + y1))))
    head = shapely.points(lon[:TOWN_CANDIDATES], lat[:TOWN_CANDIDATES])
    edge_km = shapely.distance(shapely.boundary(geom), head) * KM_PER_DEG * coslat
    area_km2 = shapely.area(geom) * KM_PER_DEG**2 * coslat
    return _Sites(lon, lat, np.maximum(weight, 1e-6), edge_km, float(np.sqrt(area_km2 / len(lon))), coslat)


@dataclass(frozen=True)
class _Settlement:
    """Towns and villages of one district for one seed (centres inside the polygon)."""

    town_lon: np.ndarray
    town_lat: np.ndarray
    town_km: np.ndarray
    town_cum: np.ndarray
    village_lon: np.ndarray
    village_lat: np.ndarray
    village_cum: np.ndarray
    coslat: float


def _inside_towns(lon, lat, town_lon, town_lat, town_km, coslat) -> np.ndarray:
    """Whether points lie within any town's radius (vectorized over points and towns)."""
    dx = (lon[:, None] - town_lon[None, :]) * KM_PER_DEG * coslat
    dy = (lat[:, None] - town_lat[None, :]) * KM_PER_DEG
    return (np.hypot(dx, dy) < town_km[None, :]).any(axis=1)


@functools.lru_cache(maxsize=1024)
def _settlement(d: int, seed: int) -> _Settlement:
    """The towns and villages of district ``d``: the same for every registry size and chunking.

    Towns: one per census tehsil (at most :data:`MAX_TOWNS`), rank-size shares of the district's
    urban people, each a disc of their area at :data:`URBAN_DENSITY` (together at most
    :data:`MAX_TOWN_AREA_SHARE` of the district), centred on a candidate site chosen with weight
    habitability ** :data:`TOWN_POWER`, damped near the boundary, apart from earlier towns.
    Villages: one per :data:`HOUSEHOLDS_PER_VILLAGE` rural census households, at sites outside
    the towns drawn with weight habitability, jittered within the site's cell; lognormal sizes.
    """
    row = data.districts().iloc[d]
    sites = _sites(d)
    geom = _polygon(d)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2, d]))

    n_towns = int(np.clip(_tehsil_shares()[2][d], 1, MAX_TOWNS))
    rank_share = 1.0 / np.arange(1, n_towns + 1)
    rank_share /= rank_share.sum()
    urban_km2 = row.pop_2023 * row.urban_pct / 100.0 / URBAN_DENSITY
    urban_km2 = min(urban_km2, MAX_TOWN_AREA_SHARE * sites.cell_km**2 * len(sites.lon))
    town_km = np.maximum(np.sqrt(urban_km2 * rank_share / np.pi), 0.5)
    head = slice(0, TOWN_CANDIDATES)
    base = sites.weight[head] ** TOWN_POWER
    chosen: list[int] = []
    for k in range(n_towns):  # at most MAX_TOWNS
        w = base * np.clip(sites.edge_km / town_km[k], 0.05, 1.0)
        if chosen:
            far = ~_inside_towns(
                sites.lon[head], sites.lat[head], sites.lon[chosen], sites.lat[chosen],
                town_km[: len(chosen)] + town_km[k], sites.coslat,
            )
            w = np.where(far, w, 0.0) if far.any() else w
        chosen.append(int(np.searchsorted(np.cumsum(w), rng.random() * w.sum(), side="right")))
    chosen_arr = np.minimum(np.array(chosen), TOWN_CANDIDATES - 1)
    town_lon, town_lat = sites.lon[chosen_arr], sites.lat[chosen_arr]

    census_rural = row.households_2023 * (1.0 - row.urban_pct / 100.0)
    n_villages = max(1, int(np.ceil(census_rural / HOUSEHOLDS_PER_VILLAGE)))
    rural_site = ~_inside_towns(sites.lon, sites.lat, town_lon, town_lat, town_km, sites.coslat)
    w = np.where(rural_site, sites.weight, 0.0) if rural_site.any() else sites.weight
    pick = np.minimum(
        np.searchsorted(np.cumsum(w), rng.random(n_villages) * w.sum(), side="right"), len(w) - 1
    )
    half = 0.5 * sites.cell_km
    v_lon = (sites.lon[pick] + rng.uniform(-half, half, n_villages) / (KM_PER_DEG * sites.coslat)).round(5)
    v_lat = (sites.lat[pick] + rng.uniform(-half, half, n_villages) / KM_PER_DEG).round(5)
    bad = ~shapely.contains_xy(geom, v_lon, v_lat)
    if rural_site.any():
        bad |= _inside_towns(v_lon, v_lat, town_lon, town_lat, town_km, sites.coslat)
    v_lon[bad], v_lat[bad] = sites.lon[pick[bad]], sites.lat[pick[bad]]
    size = np.cumsum(rng.lognormal(0.0, 0.8, n_villages))
    LOG.debug("%s: %d towns (largest %.1f km), %d villages", row.district_id, n_towns, town_km[0], n_villages)
    return _Settlement(
        town_lon, town_lat, town_km, np.cumsum(rank_share), v_lon, v_lat, size / size[-1], sites.coslat
    )


def settlements(district_id: str, seed: int = 0) -> pd.DataFrame:
    """The towns and villages the generator places a district's households in, for one seed.

    Parameters
    ----------
    district_id
        A census district (``data/districts.csv``).
    seed
        The registry's random seed.

    Returns
    -------
    pandas.DataFrame
        One row per town then village: ``kind`` ("town" or "village"), ``lon``, ``lat``
        [degrees, inside the district], ``radius_km`` [km; a household lies within it of its
        centre unless re-drawing failed, then at the centre] and ``share`` (of the district's
        urban, respectively rural, households).
    """
    d = int(pd.Index(data.districts().district_id).get_loc(district_id))
    s = _settlement(d, seed)
    n_t, n_v = len(s.town_lon), len(s.village_lon)
    return pd.DataFrame(
        {
            "kind": ["town"] * n_t + ["village"] * n_v,
            "lon": np.concatenate([s.town_lon, s.village_lon]),
            "lat": np.concatenate([s.town_lat, s.village_lat]),
            "radius_km": np.concatenate([s.town_km, np.full(n_v, VILLAGE_RADIUS_KM)]),
            "share": np.concatenate([np.diff(s.town_cum, prepend=0.0), np.diff(s.village_cum, prepend=0.0)]),
        }
    )


def _scatter(
    rng: np.random.Generator, geom, cx: np.ndarray, cy: np.ndarray, radius_km: np.ndarray, coslat: float
) -> tuple[np.ndarray, np.ndarray]:
    """Points around centres within ``radius_km``, denser towards the centre (radius uniform,
    so density falls as 1/r), rounded to 5 decimals; a point outside ``geom`` is drawn again up
    to :data:`MAX_REDRAWS` times, then put at its centre. Vectorized over points."""
    lon, lat = cx.copy(), cy.copy()
    todo = np.arange(len(cx))
    for _ in range(MAX_REDRAWS):  # rounds over ever fewer points, not a loop over households
        if not len(todo):
            break
        r = radius_km[todo] * rng.random(len(todo))
        a = (2.0 * np.pi) * rng.random(len(todo))
        x = (cx[todo] + r * np.cos(a) / (KM_PER_DEG * coslat)).round(5)
        y = (cy[todo] + r * np.sin(a) / KM_PER_DEG).round(5)
        ok = shapely.contains_xy(geom, x, y)
        lon[todo[ok]], lat[todo[ok]] = x[ok], y[ok]
        todo = todo[~ok]
    return lon, lat


def _place(d: int, urban: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of district ``d``'s households: urban ones in its towns, the rest in its
    villages, every one inside the district's polygon."""
    s = _settlement(d, seed)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 4, d]))
    u = rng.random(int(urban.sum()))
    cx, cy = np.empty(len(urban)), np.empty(len(urban))
    radius = np.full(len(urban), VILLAGE_RADIUS_KM)
    town = np.minimum(np.searchsorted(s.town_cum, u, side="right"), len(s.town_cum) - 1)
    cx[urban], cy[urban], radius[urban] = s.town_lon[town], s.town_lat[town], s.town_km[town]
    # Villages: a multinomial count per village, in village order (rows of a district are
    # exchangeable, so the order carries no information; cheaper than a search per household).
    rural = ~urban
    per_village = rng.multinomial(int(rural.sum()), np.diff(s.village_cum, prepend=0.0).clip(0.0))
    village = np.repeat(np.arange(len(per_village)), per_village)
    cx[rural], cy[rural] = s.village_lon[village], s.village_lat[village]
    return _scatter(rng, _polygon(d), cx, cy, radius, s.coslat)


def _tehsil_codes(d: int, count: int, seed: int) -> np.ndarray:
    """Row of :func:`tehsils` per household (-1 where the district has none), drawn in
    proportion to the tehsils' census households, independently of where the household lies."""
    cums, first, _ = _tehsil_shares()
    if not len(cums[d]):
        return np.full(count, -1, np.int32)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 3, d]))
    k = np.minimum(np.searchsorted(cums[d], rng.random(count), side="right"), len(cums[d]) - 1)
    return (first[d] + k).astype(np.int32)


def _generate_district(d: int, count: int, first_index: int, seed: int) -> dict[str, np.ndarray]:
    """Households of one district (vectorized over its households)."""
    table = data.districts()
    row = table.iloc[d]
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1, d]))
    urban = rng.random(count) < row.urban_pct / 100.0
    lon, lat = _place(d, urban, seed) if count else (np.empty(0), np.empty(0))

    size = np.clip(1 + rng.poisson(max(row.avg_hh_size - 1.0, 0.5), count), 1, 30).astype(np.int16)
    mean = np.where(urban, PMT_MEAN["urban"], PMT_MEAN["rural"]) + PMT_SHIFT[row.province_code]
    mean = np.clip(mean - 0.012 * (size - row.avg_hh_size), 0.05, 0.95)
    pmt = (100 * rng.beta(mean * PMT_CONCENTRATION, (1 - mean) * PMT_CONCENTRATION)).astype(
        np.float32
    ).round(2)
    poor = pmt <= KAFAALAT_PMT_CUTOFF
    kafaalat = poor & (rng.random(count) < KAFAALAT_TAKEUP)
    prov_uct = rng.random(count) < np.where(pmt <= 25, 0.25, np.where(pmt <= 40, 0.03, 0.0))
    prov_cct = rng.random(count) < np.where(pmt <= 35, 0.20, 0.0)
    female = rng.random(count) < P_FEMALE_HEADED
    disability = rng.random(count) < P_DISABILITY
    p_kacha = np.clip(np.where(urban, 0.35, 0.95) - pmt / 100.0, 0.02, 0.95)
    kacha = rng.random(count) < p_kacha
    under5 = rng.binomial(size.astype(np.int64) - 1, P_UNDER_FIVE).astype(np.int16)

    # Each row stands for NSER households: the district's NSER households (census households
    # times coverage) spread over its rows as evenly as integers allow (at least 1 per row), so
    # that a sample of any size sums to the NSER.
    base, extra = divmod(int(nser_households()[d]), count) if count else (1, 0)
    weight = np.full(count, max(base, 1), dtype=np.int32)
    if base >= 1:
        weight[:extra] += 1

    index = np.arange(first_index, first_index + count)
    return {
        "household_id": _pseudonyms(index, seed),
        "lon": lon,
        "lat": lat,
        "district": np.full(count, d, np.int16),
        "tehsil": _tehsil_codes(d, count, seed),
        "hh_size": size,
        "pmt_score": pmt,
        "enrolled_kafaalat": kafaalat,
        "enrolled_prov_uct": prov_uct,
        "enrolled_prov_cct": prov_cct,
        "female_headed": female,
        "disability": disability,
        "kacha": kacha,
        "children_under5": under5,
        "weight": weight,
    }


@functools.cache
def _tehsil_dictionary() -> pa.Array:
    return pa.array(tehsils().tehsil_id.astype(str).to_numpy(), type=pa.string())


def _tehsil_ids(codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Tehsil ids as a ``string`` array, built through a pyarrow dictionary (no Python strings
    per row); code -1 gives a missing value."""
    indices = pa.array(codes, type=pa.int32(), mask=codes < 0)
    ids = pa.DictionaryArray.from_arrays(indices, _tehsil_dictionary()).cast(pa.string())
    return pd.array(ids, dtype="string")


def _frame(parts: list[dict[str, np.ndarray]]) -> pd.DataFrame:
    table = data.districts()
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    prov_codes = pd.Categorical(table.province_code, categories=list(data.PROVINCES)).codes
    ids = pa.array(cols["household_id"], type=pa.binary(16)).cast(pa.string())
    return pd.DataFrame(
        {
            "household_id": pd.array(ids, dtype=pd.ArrowDtype(pa.string())),
            "lon": cols["lon"],
            "lat": cols["lat"],
            "province_code": pd.Categorical.from_codes(
                prov_codes[cols["district"]], categories=list(data.PROVINCES)
            ),
            "district_id": pd.Categorical.from_codes(cols["district"], categories=table.district_id),
            "tehsil_id": _tehsil_ids(cols["tehsil"]),
            "hh_size": cols["hh_size"],
            "pmt_score": cols["pmt_score"],
            **{name: cols[name] for name in FLAGS},
            "housing": pd.Categorical.from_codes(
                np.where(cols["kacha"], 0, 1).astype(np.int8), categories=HOUSING
            ),
            "children_under5": cols["children_under5"],
            "weight": cols["weight"],
        }
    )


def generate_chunks(
    households: int = 200_000,
    *,
    seed: int = 0,
    chunk_size: int = 2_000_000,
    on_progress: Callable[[int, int], None] | None = None,
) -> Iterator[pd.DataFrame]:
    """Synthetic households in chunks of whole districts (about ``chunk_size`` rows each).

    The result does not depend on ``chunk_size``: each district has its own seeded stream.

    Method: households per district are a multinomial draw on 2023 census household shares.
    Every household lies inside its own district's polygon in the shipped outlines
    (:func:`hazards.tables.outlines`): a district's urban share (census ``urban_pct``) lives in
    its towns, the rest in its villages (see :func:`settlements`). Towns: one per census tehsil
    (at most :data:`MAX_TOWNS`), rank-size shares of the urban people, discs sized at
    :data:`URBAN_DENSITY`, centred on the most habitable land away from the boundary. Villages:
    one per 150 rural households of the census, whatever the registry's size, at candidate
    sites inside the polygon drawn in proportion to habitability (assumption: people live on
    low, flat land; weight from slope and height above the district's valley floor in the
    shipped GLOBE DEM), outside the towns, with lognormal sizes. A household lies within its
    village's :data:`VILLAGE_RADIUS_KM` or its town's radius, denser towards the centre; one
    drawn outside the polygon is drawn again (then put at the centre). The settlement pattern
    depends on the seed and district only, so a small registry is a sample of the same pattern
    as a national one. Each household gets a ``tehsil_id`` of ``data/tehsils.csv`` drawn in
    proportion to the tehsils' census households; there are no tehsil polygons, so a tehsil's
    households lie anywhere in their district (the tehsil says nothing about the location).
    Household size is 1 + Poisson(census average - 1).
    PMT scores are Beta-distributed, poorer in rural areas, in Sindh and Balochistan and in larger
    households, calibrated so that about 29.5 % score <= 32; Kafaalat enrolment is 90 % of those
    (about 26.6 % of all, the share of 9.3 M beneficiaries in 35 M NSER households). Provincial
    programme enrolment, female headship, disability and housing are assumptions stated as
    constants in this module.
    Each row's ``weight`` is the number of NSER households it stands for (the district's
    NSER households, :func:`nser_households`, spread evenly over its rows, at least 1), so
    plans from a sample are at the NSER's national scale (35 M households; the census's 38.3 M
    less those the registry misses).

    Parameters
    ----------
    households
        Rows to generate [households]; 35,000,000 is the NSER's size.
    seed
        Random seed; the same seed gives the same households.
    chunk_size
        Rows per yielded frame, roughly (whole districts) [households].
    on_progress
        Called as ``on_progress(done_rows, total_rows)`` once with ``done_rows = 0`` before the
        first district, then after each district generated, ``done_rows`` rising to
        ``total_rows`` (= ``households``); e.g. to drive a progress bar. It does not change
        the households.

    Yields
    ------
    pandas.DataFrame
        Households with the columns of :data:`simulator.registry.schema.COLUMNS`
        (``lon``/``lat`` [degrees], ``hh_size`` and ``children_under5`` [persons], ``pmt_score``
        [0-100], ``weight`` [NSER households per row]).

    Raises
    ------
    RegistryError
        ``households`` is negative.
    """
    if households < 0:
        raise RegistryError(f"--households must be >= 0, got {households}.")
    counts = district_counts(households, seed)
    tell = on_progress or (lambda done, total: None)
    tell(0, households)
    parts: list[dict[str, np.ndarray]] = []
    in_chunk = 0
    first = 0
    for d, count in enumerate(counts):
        if count == 0:
            continue
        parts.append(_generate_district(d, int(count), first, seed))
        first += int(count)
        in_chunk += int(count)
        tell(first, households)
        if in_chunk >= chunk_size:
            yield _frame(parts)
            parts, in_chunk = [], 0
    if parts:
        yield _frame(parts)


def generate(
    households: int = 200_000,
    *,
    seed: int = 0,
    on_progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """A synthetic registry of ``households`` rows in memory (see :func:`generate_chunks`).

    Parameters
    ----------
    households
        Rows to generate [households].
    seed
        Random seed.
    on_progress
        Called as ``on_progress(done_rows, total_rows)`` as districts are generated (see
        :func:`generate_chunks`).

    Returns
    -------
    pandas.DataFrame
        One frame of households (see :func:`generate_chunks` for columns and units).
    """
    chunks = list(
        generate_chunks(households, seed=seed, chunk_size=max(households, 1), on_progress=on_progress)
    )
    if not chunks:
        return _frame([_generate_district(0, 0, 0, seed)])
    return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)

