"""The synthetic registry generator and its sourced parameters.

Generates households at any scale up to the NSER's 35 million, district by district, each
district with its own seeded random stream, so that the result does not depend on chunking.
Every assumption is a named constant below with its source.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa

from hazards import tables as data
from hazards.errors import RegistryError
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
#: Households per synthetic village and the spread of villages around anchors.
HOUSEHOLDS_PER_VILLAGE = 150
#: Urban density used to size the town around a district's point [persons per km2] (assumption).
URBAN_DENSITY = 8000.0
KM_PER_DEG = 111.32



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


def _pseudonyms(index: np.ndarray, seed: int) -> np.ndarray:
    """16-hex-digit pseudonyms: a bijective 64-bit mix (splitmix64) of the row index.

    Distinct indices always give distinct ids; the ids carry no personal information.
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
    return hexed.view("S16").ravel()


def _generate_district(
    d: int, count: int, first_index: int, seed: int, anchors: np.ndarray
) -> dict[str, np.ndarray]:
    """Households of one district (vectorized over its households)."""
    table = data.districts()
    row = table.iloc[d]
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1, d]))
    urban = rng.random(count) < row.urban_pct / 100.0
    lon = np.empty(count)
    lat = np.empty(count)
    coslat = np.cos(np.radians(row.lat))

    # Towns: a normal spread around the district's point, sized by the urban population.
    n_urban = int(urban.sum())
    urban_km = max(1.0, 0.5 * np.sqrt(row.pop_2023 * row.urban_pct / 100.0 / URBAN_DENSITY))
    lon[urban] = row.lon + rng.normal(0, urban_km, n_urban) / (KM_PER_DEG * coslat)
    lat[urban] = row.lat + rng.normal(0, urban_km, n_urban) / KM_PER_DEG

    # Villages: a fixed set per district, as many as the census's rural households / 150,
    # scattered around the district's anchors with lognormal sizes. The set depends on the seed
    # and district only, so a small registry is a sample of the same settlement pattern as a
    # national one. Households are jittered within about 300 m of their village centre.
    rural = ~urban
    n_rural = count - n_urban
    census_rural = row.households_2023 * (1.0 - row.urban_pct / 100.0)
    n_villages = max(1, int(np.ceil(census_rural / HOUSEHOLDS_PER_VILLAGE)))
    vrng = np.random.default_rng(np.random.SeedSequence([seed, 2, d]))
    spread_km = 0.3 * np.sqrt(row.area_sqkm / max(len(anchors), 1))
    which = vrng.integers(0, len(anchors), n_villages)
    v_lon = anchors[which, 0] + vrng.normal(0, spread_km, n_villages) / (KM_PER_DEG * coslat)
    v_lat = anchors[which, 1] + vrng.normal(0, spread_km, n_villages) / KM_PER_DEG
    weight = np.cumsum(vrng.lognormal(0.0, 0.8, n_villages))
    village = np.searchsorted(weight, rng.random(n_rural) * weight[-1], side="right")
    lon[rural] = v_lon[village] + rng.normal(0, 0.3, n_rural) / (KM_PER_DEG * coslat)
    lat[rural] = v_lat[village] + rng.normal(0, 0.3, n_rural) / KM_PER_DEG
    x0, y0, x1, y1 = data.PAKISTAN_BBOX
    lon = np.clip(lon, x0, x1).round(5)
    lat = np.clip(lat, y0, y1).round(5)

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

    # Each row stands for census households: the district's households_2023 spread over its
    # rows as evenly as integers allow (at least 1 per row), so that a sample of any size sums
    # to the census.
    base, extra = divmod(int(row.households_2023), count) if count else (1, 0)
    weight = np.full(count, max(base, 1), dtype=np.int32)
    if base >= 1:
        weight[:extra] += 1

    index = np.arange(first_index, first_index + count)
    return {
        "household_id": _pseudonyms(index, seed),
        "lon": lon,
        "lat": lat,
        "district": np.full(count, d, np.int16),
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
            "tehsil_id": pd.array([pd.NA] * len(cols["lon"]), dtype="string"),
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
    households: int = 200_000, *, seed: int = 0, chunk_size: int = 2_000_000
) -> Iterator[pd.DataFrame]:
    """Synthetic households in chunks of whole districts (about ``chunk_size`` rows each).

    The result does not depend on ``chunk_size``: each district has its own seeded stream.

    Method: households per district are a multinomial draw on 2023 census household shares;
    a district's urban share (census) is placed as a town around its representative point, the
    rest in villages around 16 anchor points sampled inside the district polygon
    (``data/district_anchors.csv``); a district has one village per 150 rural households of the
    census, whatever the registry's size. Household size is 1 + Poisson(census average - 1).
    PMT scores are Beta-distributed, poorer in rural areas, in Sindh and Balochistan and in larger
    households, calibrated so that about 29.5 % score <= 32; Kafaalat enrolment is 90 % of those
    (about 26.6 % of all, the share of 9.3 M beneficiaries in 35 M NSER households). Provincial
    programme enrolment, female headship, disability and housing are assumptions stated as
    constants in this module. Tehsil codes are left empty (no tehsil geometry is shipped).
    Each row's ``weight`` is the number of census households it stands for (the district's
    2023 households spread evenly over its rows, at least 1), so plans from a sample are at
    national scale.

    Parameters
    ----------
    households
        Rows to generate [households]; 35,000,000 is the NSER's size.
    seed
        Random seed; the same seed gives the same households.
    chunk_size
        Rows per yielded frame, roughly (whole districts) [households].

    Yields
    ------
    pandas.DataFrame
        Households with the columns of :data:`simulator.registry.schema.COLUMNS`
        (``lon``/``lat`` [degrees], ``hh_size`` and ``children_under5`` [persons], ``pmt_score``
        [0-100], ``weight`` [census households per row]).

    Raises
    ------
    RegistryError
        ``households`` is negative.
    """
    if households < 0:
        raise RegistryError(f"--households must be >= 0, got {households}.")
    counts = district_counts(households, seed)
    anchor_table = data.anchors()
    table = data.districts()
    groups = anchor_table.groupby("district_id")[["lon", "lat"]]
    anchor_arrays = {k: v.to_numpy() for k, v in groups}
    parts: list[dict[str, np.ndarray]] = []
    in_chunk = 0
    first = 0
    for d, count in enumerate(counts):
        if count == 0:
            continue
        anchors = anchor_arrays.get(table.district_id[d], table.loc[[d], ["lon", "lat"]].to_numpy())
        parts.append(_generate_district(d, int(count), first, seed, anchors))
        first += int(count)
        in_chunk += int(count)
        if in_chunk >= chunk_size:
            yield _frame(parts)
            parts, in_chunk = [], 0
    if parts:
        yield _frame(parts)


def generate(households: int = 200_000, *, seed: int = 0) -> pd.DataFrame:
    """A synthetic registry of ``households`` rows in memory (see :func:`generate_chunks`).

    Parameters
    ----------
    households
        Rows to generate [households].
    seed
        Random seed.

    Returns
    -------
    pandas.DataFrame
        One frame of households (see :func:`generate_chunks` for columns and units).
    """
    chunks = list(generate_chunks(households, seed=seed, chunk_size=max(households, 1)))
    if not chunks:
        return _frame([_generate_district(0, 0, 0, seed, data.anchors()[["lon", "lat"]].to_numpy()[:1])])
    return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)

