"""The hazard overlay: every household's intensity, tier and overlay status for each hazard.

Rasters are sampled with :func:`hazards.sampling.sample` (vectorized over households), or with a
caller's :class:`hazards.sampling.Points` (the households located once per raster grid, for
ensembles whose members share households and grid); a declared districts table
(:mod:`hazards.admin`) is looked up by district. The loop is over hazards only.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from hazards import sampling
from hazards.errors import ScenarioError
from simulator.engine import targeting


def hazard_tiers(
    spec, source, cols: dict[str, np.ndarray], points: sampling.Points | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Intensity, tier and overlay status of one hazard for every household.

    Parameters
    ----------
    spec
        The scenario's hazard entry (``label``, ``impact``, ``tier_thresholds()``).
    source
        A raster layer (xarray, sampled at ``cols["lon"]``/``cols["lat"]`` [degrees]), or an
        admin table (pandas, see :mod:`hazards.admin`): then a declared ``severity`` is the tier,
        and a declared ``share_affected`` is the share of the district's households affected
        (alone, at the ``affected`` tier), counted as for an impact function's share.
    cols
        Household columns (``lon``, ``lat``, ``district``, ``housing``; ``tehsil`` for an admin
        table that declares tehsils).
    points
        The households of ``cols`` (every row, in order) as :class:`hazards.sampling.Points`,
        to sample a raster through its cached pixel index; the answer is the same as without.
        None samples ``cols["lon"]``/``cols["lat"]`` afresh.

    Returns
    -------
    intensity : numpy.ndarray
        float32 in the hazard's units (NaN outside the raster or on nodata); for an admin table
        the declared severity, or the share affected [0-1].
    tier : numpy.ndarray
        int8 0-3.
    where : numpy.ndarray
        int8 overlay status (``hazards.sampling.INSIDE``, ``OUTSIDE``, ``NODATA``).
    share : numpy.ndarray or None
        An impact function under ``affected: share``: its share at each household's intensity
        where the tier is > 0 (1 elsewhere); None otherwise.
    """
    if isinstance(source, pd.DataFrame):
        from hazards.admin import admin_intensity, has_tehsils

        if has_tehsils(source) and "tehsil" not in cols:
            raise ScenarioError(
                f"hazard {spec.label}: its table declares tehsils, but the household columns carry "
                "no tehsil codes; build them with household_columns(households, tehsils=True).")
        declared = admin_intensity(source, cols["district"], cols.get("tehsil"))
        where = np.where(declared.declared, sampling.INSIDE, sampling.OUTSIDE).astype(np.int8)
        share = None
        if declared.share_affected is not None:
            share = np.nan_to_num(declared.share_affected, nan=0.0).astype(np.float64)
        if declared.severity is not None:
            tier = declared.severity.astype(np.int8)
            intensity = tier.astype(np.float32)
        else:
            tier = (share > 0).astype(np.int8)
            intensity = declared.share_affected.astype(np.float32)
        return intensity, tier, where, share
    if points is None:
        values, where = sampling.sample(source, cols["lon"], cols["lat"])
    else:
        _check_points(points, cols)
        values, where = points.sample(source)
    share = None
    if spec.impact is not None:
        from hazards import impact

        function = impact.load(spec.impact)
        tier = function.tier(values, housing=cols["housing"]).astype(np.int8)
        if getattr(spec, "affected", "share") == "share":
            share = _shares(tier, values, cols["housing"], function)
    else:
        tier = targeting.tiers(values, spec.tier_thresholds())
    return values, tier, where, share


def _check_points(points: sampling.Points, cols: dict[str, np.ndarray]) -> None:
    """Refuse a :class:`hazards.sampling.Points` that is not the households of ``cols``."""
    if len(points) != len(cols["lon"]):
        raise ValueError(
            f"points: {len(points)} points for {len(cols['lon'])} households; build them with "
            "hazards.sampling.Points(cols['lon'], cols['lat']) from the same columns."
        )


def uniform_draws(index: np.ndarray, seed: int, label: str) -> np.ndarray:
    """A uniform [0, 1) number for each household position in ``index``, fixed by seed and label.

    Counter-based (SplitMix64 of the position and a key; Steele, Lea and Flood 2014), so a
    household's number does not depend on which other households are drawn: the draw of a
    household stays the same when the hazard moves, and chunks of a registry give the same draws
    as the whole.
    """
    key = np.uint64(zlib.crc32(f"{seed}:{label}".encode()) * 0x9E3779B97F4A7C15 % 2**64)
    with np.errstate(over="ignore"):
        z = index.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + key
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _shares(tier, values, housing, function) -> np.ndarray:
    """The impact function's share at each household's intensity where its tier is > 0 (a share
    below the affected tier's threshold makes no one affected), 1 elsewhere."""
    out = np.ones(len(tier))
    at = np.flatnonzero(tier > 0)
    if at.size:
        out[at] = np.asarray(function.share(values[at], housing=housing[at]), dtype=np.float64)
    return out


def affected_counts(tier: np.ndarray, share: np.ndarray, weight: np.ndarray, seed: int,
                    positions: np.ndarray | None = None) -> np.ndarray:
    """Households affected in each row: ``floor(weight x share + u)`` where the tier is > 0.

    ``u`` is the row's uniform number (:func:`uniform_draws`), so a row of one household is
    affected with probability ``share`` (a seeded draw), and a weighted row standing for ``w``
    households counts ``floor(w share)`` or ``ceil(w share)`` of them, whose expectation is the
    expected count ``w share`` exactly (stochastic rounding). ``positions``: each row's position
    in the whole registry, when the rows are a part of it (default: their own positions), so
    that a part draws what the whole registry draws.
    """
    out = np.zeros(len(tier), dtype=np.int64)
    at = np.flatnonzero(tier > 0)
    if at.size:
        w = weight[at].astype(np.int64)
        n = np.floor(w * share[at] + uniform_draws(at if positions is None else positions[at], seed, "affected")).astype(np.int64)
        out[at] = np.clip(n, 0, w)
    return out


def overlay_all(
    scn, sources: list, cols: dict[str, np.ndarray], points: sampling.Points | None = None
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray | None]:
    """Overlay every hazard of a scenario and combine them into one tier per household.

    Parameters
    ----------
    scn
        The scenario (``hazards``, ``combine``, ``seed``).
    sources
        One source per ``scn.hazards`` entry (see :func:`hazard_tiers`).
    cols
        Household columns.
    points
        Optional :class:`hazards.sampling.Points` of every row of ``cols`` (in order), reused
        across calls: each raster grid is located once, and a layer on a grid seen before costs
        only a gather. Results are identical to ``points=None``.

    Returns
    -------
    intensity : dict of str to numpy.ndarray
        Per hazard label, float32 intensity (see :func:`hazard_tiers`).
    tier : numpy.ndarray
        int8 0-3: the highest tier over hazards (``max_tier``), or the tier of the highest
        intensity (``max_intensity``, rasters in the same units).
    where : numpy.ndarray
        int8: ``INSIDE`` if inside any hazard, else ``NODATA`` if on nodata of any, else
        ``OUTSIDE``.
    share : numpy.ndarray or None
        With impact functions under ``affected: share``: the chance [0-1] that a household at
        ``tier`` > 0 is affected, ``1 - prod(1 - share_h)`` over the hazards that reach it
        (independent hazards; a hazard under a tier rule counts 1); None when no hazard has a
        share. :func:`affected_counts` turns it into households.

    Raises
    ------
    ScenarioError
        ``max_intensity`` with admin tables, impact functions or mixed units.
    """
    intensity, tier_list, status_list, share_list = {}, [], [], []
    for spec, source in zip(scn.hazards, sources, strict=True):
        values, tier_h, where, share_h = hazard_tiers(spec, source, cols, points)
        intensity[spec.label] = values
        status_list.append(where)
        tier_list.append(tier_h)
        share_list.append(share_h)
    if scn.combine == "max_tier" or len(sources) == 1:
        tier = np.maximum.reduce(tier_list) if len(tier_list) > 1 else tier_list[0]
    else:
        if any(isinstance(src, pd.DataFrame) for src in sources) or any(h.impact for h in scn.hazards):
            raise ScenarioError("combine: max_intensity needs rasters with thresholds or tiers; use max_tier.")
        units = {src.attrs.get("units") for src in sources}
        if len(units) > 1:
            raise ScenarioError(
                f"combine: max_intensity needs hazards in the same units, got {sorted(units)}; "
                "use combine: max_tier."
            )
        stacked = np.fmax.reduce(list(intensity.values()))
        tier = targeting.tiers(stacked, scn.hazards[0].tier_thresholds())
    if len(status_list) == 1:
        # One hazard: its own status codes (INSIDE, OUTSIDE or NODATA) are the combination.
        where = status_list[0]
    else:
        inside_any = np.zeros(len(tier), dtype=bool)
        nodata_any = np.zeros(len(tier), dtype=bool)
        for where in status_list:
            inside_any |= where == sampling.INSIDE
            nodata_any |= where == sampling.NODATA
        where = np.where(inside_any, sampling.INSIDE, np.where(nodata_any, sampling.NODATA, sampling.OUTSIDE))
    share = None
    if any(s is not None for s in share_list):
        missed = np.ones(len(tier))
        for tier_h, share_h in zip(tier_list, share_list, strict=True):
            missed *= np.where(tier_h > 0, 1.0 - (1.0 if share_h is None else share_h), 1.0)
        share = 1.0 - missed
    return intensity, tier, where.astype(np.int8, copy=False), share
