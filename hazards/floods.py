"""Floods on Pakistan's terrain: riverine (HAND and stage) and rain-driven (runoff, routing, ponding).

Both methods run on the shipped D8 flow tree of :mod:`hazards.terrain` (NOAA GLOBE 30 arc-second
DEM, about 1 km) and return a layer (see :mod:`hazards.layer`) on the DEM's own grid, a window
covering the requested bbox, NaN at sea. Everything is vectorized: the only Python loops run
over rivers and over the levels of the flow tree.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr
from scipy import ndimage
from scipy.ndimage import distance_transform_edt, gaussian_filter

from hazards import tables
from hazards.errors import HazardError
from hazards.layer import crs_of, make_layer, transform_of
from hazards.terrain import KM_PER_DEG, Terrain, Window, terrain

log = logging.getLogger(__name__)

#: Default bbox: the Indus from Tarbela to the sea, with the Punjab rivers.
RIVER_BBOX = (66.5, 23.6, 75.5, 35.5)
#: Sindh, Balochistan's Kachhi plain and Kirthar/Suleman ranges, south Punjab.
RAIN_BBOX = (66.0, 23.6, 72.5, 30.5)


def _gumbel_variate(return_period: float) -> float:
    p = 1.0 - 1.0 / return_period
    return -math.log(-math.log(p)) if p > 0 else -math.inf


def _modulation(t: Terrain, seed: int, key: int, amplitude: float) -> np.ndarray:
    """A seeded smooth field over the whole grid, mean 1, about +-``amplitude`` (1 sd), clipped
    to 1 +- 2.5 sd; correlation length about 50 km. Independent of the bbox."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, key]))
    f = 12  # a coarse grid of 12 x 12 cells, smoothed, interpolated bilinearly
    rows, cols = t.shape
    coarse = gaussian_filter(rng.standard_normal((rows // f + 2, cols // f + 2)), sigma=2.0)
    coarse = (coarse - coarse.mean()) / (coarse.std() or 1.0)
    field = ndimage.zoom(coarse, f, order=1)[:rows, :cols]
    return np.clip(1.0 + amplitude * field, 1.0 - 2.5 * amplitude, 1.0 + 2.5 * amplitude)


def _river_names(river: str | Sequence[str]) -> list[str] | None:
    """None for "all", else the names of rivers in data/rivers.csv."""
    names = [r.strip().lower() for r in (river.split(",") if isinstance(river, str) else river) if str(r).strip()]
    if not names:
        raise HazardError("no river given; name rivers of data/rivers.csv or 'all'.")
    if "all" in names:
        return None
    known = sorted(tables.rivers().river.unique())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise HazardError(f"river(s) {unknown} are not in data/rivers.csv; known rivers: {known} (or 'all').")
    return names


#: Upstream area [km2] from which a named river's drainage cells count as the river.
NAMED_RIVER_KM2 = 1_000.0


def _named_river_cells(t: Terrain, names: list[str], river_km2: float, snap_km: float) -> np.ndarray:
    """Cached :func:`_find_named_river_cells` (the same for every seed of an ensemble)."""
    return _named_cached(id(t), tuple(names), float(river_km2), float(snap_km))


@functools.lru_cache(maxsize=32)
def _named_cached(_key: int, names: tuple[str, ...], river_km2: float, snap_km: float) -> np.ndarray:
    cells = _find_named_river_cells(terrain(), list(names), river_km2, snap_km)
    cells.setflags(write=False)
    return cells


def _find_named_river_cells(t: Terrain, names: list[str], river_km2: float, snap_km: float) -> np.ndarray:
    """Flat indices of the river cells of the named rivers: drainage cells of >= ``river_km2``
    within ``snap_km`` of the river's waypoint line and downstream of one of its waypoints
    (snapped to the largest drainage within ``snap_km``), so a neighbouring river is not taken."""
    table = tables.rivers()
    big = np.isfinite(t.upstream_km2) & (t.upstream_km2 >= river_km2)
    near = np.zeros(t.shape, dtype=bool)
    seeds = np.zeros(t.shape)
    ny = max(int(math.ceil(snap_km / (KM_PER_DEG * abs(t.transform.e)))), 1)
    for name in names:  # a loop over rivers
        line = table[table.river == name][["lon", "lat"]].to_numpy(float)
        seg = np.hypot(*np.diff(line, axis=0).T)
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        s = np.arange(0.0, cum[-1] + abs(t.transform.a) / 2, abs(t.transform.a) / 2)
        row, col = t.rowcol(np.interp(s, cum, line[:, 0]), np.interp(s, cum, line[:, 1]))
        ok = (row >= 0) & (row < t.shape[0]) & (col >= 0) & (col < t.shape[1])
        mark = np.zeros(t.shape, dtype=bool)
        mark[row[ok], col[ok]] = True
        r0, r1 = max(row[ok].min() - 2 * ny, 0), min(row[ok].max() + 2 * ny + 1, t.shape[0])
        c0 = max(col[ok].min() - 3 * ny, 0)
        c1 = min(col[ok].max() + 3 * ny + 1, t.shape[1])
        lat0 = float(np.mean(line[:, 1]))
        dist = distance_transform_edt(
            ~mark[r0:r1, c0:c1],
            sampling=(KM_PER_DEG * abs(t.transform.e), KM_PER_DEG * abs(t.transform.a) * math.cos(math.radians(lat0))),
        )
        near[r0:r1, c0:c1] |= dist <= snap_km
        # snap each waypoint to the largest drainage within snap_km (a loop over waypoints)
        wr, wc = t.rowcol(line[:, 0], line[:, 1])
        nx = int(math.ceil(snap_km / (KM_PER_DEG * abs(t.transform.a) * math.cos(math.radians(lat0)))))
        for r, c in zip(wr, wc, strict=True):
            a0, a1, b0, b1 = max(r - ny, 0), min(r + ny + 1, t.shape[0]), max(c - nx, 0), min(c + nx + 1, t.shape[1])
            if a1 <= a0 or b1 <= b0:
                continue
            area = np.nan_to_num(t.upstream_km2[a0:a1, b0:b1], nan=-1.0)
            if area.max() >= river_km2:
                i = int(np.argmax(area))
                seeds[a0 + i // (b1 - b0), b0 + i % (b1 - b0)] = 1.0
    downstream_of_seed = t.accumulate(seeds) > 0
    return np.flatnonzero(big & near & downstream_of_seed)


def riverine_flood_terrain(
    river: str | Sequence[str] = "all",
    *,
    return_period: float = 100.0,
    bbox: Sequence[float] = RIVER_BBOX,
    seed: int = 0,
    river_km2: float = 5000.0,
    stage_m_ref: float = 1.5,
    area_ref_km2: float = 10_000.0,
    stage_exponent: float = 0.2,
    stage_growth: float = 0.3,
    modulation: float = 0.15,
    max_distance_km: float = 25.0,
    snap_km: float = 12.0,
) -> xr.DataArray:
    """Riverine flood depth [m] on the terrain: river stage above the height above nearest drainage.

    Parameters
    ----------
    river
        ``"all"`` (every drainage cell of at least ``river_km2`` in the bbox), a river of
        ``data/rivers.csv`` (indus, jhelum, chenab, ravi, sutlej, kabul, swat), a list of them
        or a comma-separated string.
    return_period
        Return period T [years], >= 1.
    bbox
        (lon_min, lat_min, lon_max, lat_max) [degrees]; the layer is the DEM window covering it.
    seed
        Seed of the smooth stage modulation (about +-``modulation``) along the rivers.
    river_km2
        Upstream area [km2] from which a drainage cell is a river: 5,000 km2 takes the main
        rivers; 500-1,000 km2 adds the hill torrents of the Suleman and Kirthar ranges. A named
        river uses at most :data:`NAMED_RIVER_KM2` (its cells are held to its waypoints), so the
        Swat, about 2,000 km2 at Kalam in this DEM, comes out from its upper valley.
    stage_m_ref, area_ref_km2, stage_exponent
        The 10-year stage [m] above the DEM's river cell at upstream area ``area_ref_km2``, and
        the hydraulic-geometry exponent b of ``h ~ A^b``.
    stage_growth
        Growth of the stage per unit of the Gumbel reduced variate above the 10-year value.
    modulation
        Standard deviation of the seeded stage modulation (0.15 = +-15 %).
    max_distance_km
        No cell farther than this [km] from a selected river cell floods.
    snap_km
        Named rivers: river cells within this distance [km] of the waypoint line.

    Returns
    -------
    xarray.DataArray
        Depth [m], ``kind="riverine-flood"``, EPSG:4326, on the DEM's grid over ``bbox``; 0 where
        dry, NaN at sea.

    Raises
    ------
    HazardError
        Unknown river, ``return_period`` < 1, a bbox outside the DEM or with no river cell.

    Notes
    -----
    **Rivers from the DEM.** The shipped D8 flow tree (``data/build_terrain.py``: pysheds
    pit and depression filling, flat resolution, the seven mapped river courses burnt into the
    plains) gives every cell its upstream area A [km2]. River cells are those with
    ``A >= river_km2``; a named river keeps those within ``snap_km`` of its waypoints in
    ``data/rivers.csv`` and downstream of one of them.

    **Height above the river** (HAND, Nobre et al. 2011): each cell's height above the drainage
    cell (>= 150 km2) it drains to along the D8 path, plus that drainage cell's height above the
    first river cell downstream, so a cell reaching the river through a side channel is measured
    against the river, as the flow goes. Cells that do not drain to a selected river stay dry.

    **Stage** (Zheng et al. 2018, HAND-based rating curves, simplified): at each river cell
    ``h(T) = stage_m_ref (A / area_ref_km2)^b g(T) m``, with ``b = stage_exponent``: flow depth
    grows as ``Q^0.4`` at a station and bankfull discharge as ``A^0.5-0.8`` (Leopold & Maddock
    1953), so ``b`` is about 0.2-0.3. ``g(T) = 1 + stage_growth (y_T - y_10)`` uses the Gumbel
    reduced variate ``y_T = -ln(-ln(1 - 1/T))`` (1.0, 1.5, 1.7, 2.2 times the 10-year stage at
    10, 50, 100, 500 years); ``m`` is a seeded smooth modulation (about +-15 %, 50 km
    correlation). Depth is ``h(T)`` at the river cell a cell drains to, minus its height above
    that cell, where positive and within ``max_distance_km`` of a river cell.

    Limits: no hydraulics, embankments (bunds), breaches, backwater or duration; a 1 km DEM
    with metre steps and vertical errors of metres in the plains and tens of metres in relief;
    the rivers on the plains follow burnt mapped courses; the stage coefficients are
    illustrative, not fitted to gauges. The DEM window ends at 78 E and 37.5 N: the upper
    Indus (Ladakh, Tibet) and the Sutlej's and Ravi's Indian headwaters are missing from the
    upstream areas, which lowers their stage by a few percent (A^0.2).

    References
    ----------
    Nobre, A. D. et al. (2011). Height Above the Nearest Drainage - a hydrologically relevant new
    terrain model. Journal of Hydrology 404(1-2), 13-29.
    Zheng, X., Tarboton, D. G., Maidment, D. R., Liu, Y. Y., Passalacqua, P. (2018). River channel
    geometry and rating curve estimation using height above the nearest drainage. JAWRA 54(4),
    785-806.
    Leopold, L. B., Maddock, T. (1953). The hydraulic geometry of stream channels and some
    physiographic implications. USGS Professional Paper 252.
    Gumbel, E. J. (1958). Statistics of Extremes. Columbia University Press.
    """
    if not return_period >= 1:
        raise HazardError(f"return_period must be >= 1 year, got {return_period}.")
    for label, value in (("river_km2", river_km2), ("stage_m_ref", stage_m_ref), ("area_ref_km2", area_ref_km2),
                         ("max_distance_km", max_distance_km), ("snap_km", snap_km)):
        if not value > 0:
            raise HazardError(f"{label} must be > 0, got {value}.")
    if not 0 <= modulation < 0.4:
        raise HazardError(f"modulation must be in [0, 0.4), got {modulation}.")
    names = _river_names(river)
    t = terrain()
    win = t.window(bbox)
    padded = t.window(bbox, pad_km=max_distance_km)

    threshold = river_km2 if names is None else min(river_km2, NAMED_RIVER_KM2)
    if names is None:
        river_flat = np.flatnonzero(np.isfinite(t.upstream_km2) & (t.upstream_km2 >= threshold))
    else:
        river_flat = _named_river_cells(t, names, threshold, snap_km)
    rr, cc = np.divmod(river_flat, t.shape[1])
    inside = (rr >= padded.r0) & (rr < padded.r1) & (cc >= padded.c0) & (cc < padded.c1)
    river_flat = river_flat[inside]
    if river_flat.size == 0:
        raise HazardError(
            f"river {river!r} does not cross bbox {tuple(bbox)} (no river cell of >= {threshold:,.0f} "
            "km2 in or near it); widen the bbox, choose a river that crosses it, or lower river_km2."
        )

    net = t.network
    selected = np.zeros(net.cells.size, dtype=bool)
    node = net.pos[river_flat]
    selected[node[node >= 0]] = True
    target = net.first_downstream(selected)  # node -> first river node downstream (-1: none)

    # stage at every river node
    y = _gumbel_variate(return_period) - _gumbel_variate(10.0)
    growth = max(1.0 + stage_growth * y, 0.1)
    area = t.upstream_km2.ravel()[net.cells]
    m = _modulation(t, seed, 29, modulation).ravel()[net.cells]
    stage_node = np.where(selected, stage_m_ref * (area / area_ref_km2) ** stage_exponent * growth * m, np.nan)
    elev_node = t.drain_elev_m.ravel()[net.cells].astype(np.float64)

    sl = win.slices
    drain = t.drain_index[sl]
    land = drain >= 0
    d_node = np.where(land, net.pos[np.maximum(drain, 0)], -1)
    tgt = np.where(d_node >= 0, target[np.maximum(d_node, 0)], -1)
    has = land & (tgt >= 0)
    safe_t = np.maximum(tgt, 0)
    height = t.hand_m[sl] + np.maximum(elev_node[np.maximum(d_node, 0)] - elev_node[safe_t], 0.0)
    depth = np.where(has, stage_node[safe_t] - height, 0.0)

    # distance to the nearest selected river cell (padded window, km)
    mark = np.zeros(padded.shape, dtype=bool)
    mark[rr[inside] - padded.r0, cc[inside] - padded.c0] = True
    lat0 = float(np.mean(t.lat[padded.r0:padded.r1]))
    dist = distance_transform_edt(
        ~mark, sampling=(KM_PER_DEG * abs(t.transform.e), KM_PER_DEG * abs(t.transform.a) * math.cos(math.radians(lat0)))
    )[win.r0 - padded.r0:win.r1 - padded.r0, win.c0 - padded.c0:win.c1 - padded.c0]
    depth = np.where((depth > 0) & (dist <= max_distance_km), depth, 0.0)
    depth[t.sea[sl]] = np.nan
    wet = np.nan_to_num(depth) > 0
    log.info("riverine_flood_terrain: %d river cells, %.1f %% of land cells wet", river_flat.size,
             100.0 * wet.sum() / max((~t.sea[sl]).sum(), 1))
    return make_layer(
        np.round(depth, 2), win.transform, t.crs, units="m", kind="riverine-flood", name="depth",
        provenance={
            "generator": "hazards.floods.riverine_flood_terrain",
            "method": "terrain: depth = stage(A, T) - height above the river along the D8 flow path "
                      "(HAND, Nobre et al. 2011; stage as in Zheng et al. 2018; h ~ A^b, Leopold & "
                      "Maddock 1953; Gumbel growth)",
            "terrain": "data/terrain (data/build_terrain.py from the NOAA GLOBE DEM)",
            "river": river if isinstance(river, str) else list(river),
            "return_period": return_period, "bbox": list(bbox), "seed": seed,
            "river_km2": river_km2, "stage_m_ref": stage_m_ref, "area_ref_km2": area_ref_km2,
            "stage_exponent": stage_exponent, "stage_growth": stage_growth, "modulation": modulation,
            "max_distance_km": max_distance_km, "snap_km": snap_km,
            "river_cells": int(river_flat.size), "wet_cells": int(wet.sum()),
        },
    )


# --------------------------------------------------------------------------------------------
# rain-driven flood
# --------------------------------------------------------------------------------------------


def scs_runoff_mm(rain_mm: np.ndarray, curve_number: np.ndarray | float, ia_ratio: float = 0.2) -> np.ndarray:
    """SCS curve-number runoff depth [mm] (USDA-NRCS TR-55): ``Q = (P - Ia)^2 / (P - Ia + S)``
    for ``P > Ia``, with ``S = 25400 / CN - 254`` [mm] and ``Ia = ia_ratio * S``."""
    cn = np.clip(np.asarray(curve_number, dtype=np.float64), 1.0, 100.0)
    s = 25400.0 / cn - 254.0
    ia = ia_ratio * s
    p = np.nan_to_num(np.asarray(rain_mm, dtype=np.float64), nan=0.0)
    excess = np.maximum(p - ia, 0.0)
    return np.where(excess > 0, excess * excess / np.maximum(excess + s, 1e-9), 0.0)


def default_curve_number(t: Terrain, plain_cn: float = 86.0, upland_cn: float = 80.0) -> np.ndarray:
    """Curve number by terrain: ``plain_cn`` on the flat alluvial plains (local relief < 10 m in
    5 km and ground below 300 m: silty clays of hydrologic soil group C-D, cultivated; TR-55
    table 2-2b row crops C-D 85-91), ``upland_cn`` elsewhere (arid rangeland and bare rock, fair
    to poor cover; TR-55 table 2-2d desert shrub and pinyon-juniper C-D 77-88)."""
    plain = (t.relief_m < 10.0) & (np.nan_to_num(t.elevation, nan=0.0) < 300.0)
    return np.where(plain, plain_cn, upland_cn)


def _rain_on_grid(rainfall: Any, t: Terrain, win: Window, seed: int) -> tuple[np.ndarray, Any]:
    """Rainfall [mm] on the full terrain grid (0 outside what is given) and a provenance label."""
    full = np.zeros(t.shape)
    if isinstance(rainfall, str):
        from hazards import climate  # optional: the climate engine's rainfall tables

        values = np.asarray(climate.rainfall_field(rainfall, transform=win.transform, shape=win.shape, seed=seed),
                            dtype=np.float64)
        if values.shape != win.shape:
            raise HazardError(f"rainfall_field({rainfall!r}) returned shape {values.shape}, expected {win.shape}.")
        full[win.slices] = values
        return full, {"rainfall_table": rainfall}
    if isinstance(rainfall, xr.DataArray):
        units = rainfall.attrs.get("units", "mm")
        if units != "mm":
            raise HazardError(f"the rainfall layer's units are {units!r}; give rainfall depth in mm.")
        tr = transform_of(rainfall)
        crs = crs_of(rainfall)
        if crs.upper() != "EPSG:4326" and "4326" not in crs:
            raise HazardError(f"the rainfall layer is in {crs}; regrid it to the terrain grid (EPSG:4326) first.")
        if not (math.isclose(tr.a, t.transform.a, rel_tol=1e-6) and math.isclose(tr.e, t.transform.e, rel_tol=1e-6)):
            raise HazardError(
                f"the rainfall layer's cell size ({tr.a}, {tr.e}) is not the terrain's ({t.transform.a}, "
                f"{t.transform.e}); regrid it onto the terrain grid (hazards.terrain.terrain().transform)."
            )
        c0 = (tr.c - t.transform.c) / t.transform.a
        r0 = (tr.f - t.transform.f) / t.transform.e
        if abs(c0 - round(c0)) > 1e-3 or abs(r0 - round(r0)) > 1e-3:
            raise HazardError("the rainfall layer's cells are not aligned with the terrain grid; regrid it first.")
        values = np.asarray(rainfall.values, dtype=np.float64)
        r0, c0 = int(round(r0)), int(round(c0))
        label: Any = {"layer": rainfall.attrs.get("provenance")}
    else:
        values = np.asarray(rainfall, dtype=np.float64)
        if values.shape == t.shape:
            r0, c0 = 0, 0
        elif values.shape == win.shape:
            r0, c0 = win.r0, win.c0
        else:
            raise HazardError(
                f"rainfall array of shape {values.shape} is neither the terrain grid {t.shape} nor the "
                f"bbox window {win.shape}; give it on the terrain grid."
            )
        label = "array"
    if values.ndim != 2:
        raise HazardError(f"rainfall must be 2-D (y, x); got shape {values.shape}.")
    if (np.nan_to_num(values) < 0).any():
        raise HazardError("rainfall has negative depths; give rainfall in mm >= 0.")
    a0, b0 = max(r0, 0), max(c0, 0)
    a1, b1 = min(r0 + values.shape[0], t.shape[0]), min(c0 + values.shape[1], t.shape[1])
    if a1 <= a0 or b1 <= b0:
        raise HazardError("the rainfall layer does not overlap the terrain grid.")
    full[a0:a1, b0:b1] = np.nan_to_num(values[a0 - r0:a1 - r0, b0 - c0:b1 - c0], nan=0.0)
    return full, label


def _fill_table(t: Terrain) -> tuple[np.ndarray, ...]:
    """Land cells sorted by (drainage node, HAND) with each node's running area and volume:
    cached on the terrain (about 1 s once)."""
    cached = getattr(t, "_fill_cache", None)
    if cached is not None:
        return cached
    net = t.network
    drain = t.drain_index.ravel()
    land = np.flatnonzero(drain >= 0)
    node = net.pos[drain[land]]
    hand = t.hand_m.ravel()[land].astype(np.float64)
    order = np.lexsort((hand, node))
    cells, node, hand = land[order], node[order], hand[order]
    area = np.broadcast_to(t.cell_km2, t.shape).ravel()[cells] * 1e6  # m2
    start = np.searchsorted(node, np.arange(net.cells.size))
    cum_a = np.cumsum(area)
    cum_ah = np.cumsum(area * hand)
    base_a = np.concatenate([[0.0], cum_a])[start][node]
    base_ah = np.concatenate([[0.0], cum_ah])[start][node]
    cum_a, cum_ah = cum_a - base_a, cum_ah - base_ah
    volume_at = hand * cum_a - cum_ah  # m3 stored when the water level reaches this cell's HAND
    cached = (cells, node, hand, area, cum_a, cum_ah, volume_at)
    object.__setattr__(t, "_fill_cache", cached)
    return cached


def rain_flood(
    rainfall: Any,
    *,
    bbox: Sequence[float] = RAIN_BBOX,
    seed: int = 0,
    curve_number: float | np.ndarray | None = None,
    ia_ratio: float = 0.2,
    pond_m_ref: float = 1.5,
    area_ref_km2: float = 1_000.0,
    pond_exponent: float = 0.2,
    modulation: float = 0.1,
    min_depth_m: float = 0.05,
    rain_scale: float = 1.0,
    max_relief_m: float | None = None,
) -> xr.DataArray:
    """Rain-driven (pluvial and hill-torrent) flood depth [m]: runoff, routed and ponded on the terrain.

    Parameters
    ----------
    rainfall
        Event or season rainfall [mm]: a layer (see :mod:`hazards.layer`) or an array on the
        terrain grid (the full grid, or the window of ``bbox``), or the name of a rainfall table
        for ``hazards.climate.rainfall_field`` (drawn on the bbox window with ``seed``).
        Rain outside what is given is 0.
    bbox
        (lon_min, lat_min, lon_max, lat_max) [degrees] of the output window. Routing runs on the
        whole grid, so runoff from outside the bbox (if given) reaches it.
    seed
        Seed of the smooth runoff modulation (antecedent wetness, +-``modulation``) and of a
        named rainfall field.
    curve_number
        SCS curve number: a number or an array on the terrain grid; None uses
        :func:`default_curve_number` (86 on flat alluvial plains, 80 elsewhere).
    ia_ratio
        Initial abstraction ratio Ia/S (TR-55: 0.2).
    pond_m_ref, area_ref_km2, pond_exponent
        Storage of each reach: water ponds up to ``pond_m_ref (A / area_ref_km2)^b`` [m] above
        its drainage cell (A its upstream area) before spilling downstream.
    modulation
        Standard deviation of the seeded runoff modulation.
    min_depth_m
        Depths below this [m] are reported as 0 (dry).
    max_relief_m
        None (default) or a local relief [m] (highest minus lowest ground in the 5 x 5 cells
        around a cell, about 4 km): cells in rougher terrain report depth 0. A 1 km DEM cannot
        resolve a mountain valley's floor, where a flash flood passes in hours rather than
        ponding for weeks; use it to keep the footprint on the plains.
    rain_scale
        Factor on the rainfall (1 = as given): a what-if for a wetter or drier event, or to
        turn a partial-period table into an event total (say so in the scenario).

    Returns
    -------
    xarray.DataArray
        Depth [m], ``kind="flash-flood"``, EPSG:4326, on the DEM's grid over ``bbox``, NaN at sea.

    Raises
    ------
    HazardError
        Rainfall not on the terrain grid, negative, or in other units; a bad curve number.

    Notes
    -----
    1. **Runoff** per cell by the SCS curve-number method (USDA-NRCS 1986, TR-55):
       ``Q = (P - Ia)^2 / (P - Ia + S)``, ``S = 25400/CN - 254`` mm, ``Ia = 0.2 S``, times a
       seeded smooth modulation (+-10 %, antecedent wetness). Default CN: 86 on the flat
       alluvial plains (hydrologic soil group C-D silty clays, cultivated), 80 on uplands (arid
       rangeland and rock, poor cover).
    2. **Routing and storage.** Each cell's runoff goes to the drainage cell (>= 150 km2 of
       upstream area) it drains to along the D8 path. Down the drainage network (one numpy
       step per level of the flow tree, :meth:`hazards.terrain.Terrain.route`) each reach keeps
       up to its capacity, the volume its cells hold below ``pond_m_ref (A/area_ref_km2)^0.2``
       above the channel (hydraulic geometry, as for rivers), and spills the rest downstream;
       what reaches the sea or the grid's edge is lost. Steep mountain reaches hold little, so
       hill-torrent runoff from the Kirthar and Suleman ranges reaches the plains below; flat
       low reaches (Sindh's left bank: Badin, Mirpur Khas; the Kachhi plain) hold a lot, so
       rain ponds near where it fell. Without capacity this is :meth:`Terrain.accumulate`.
    3. **Ponding.** A reach's stored volume fills its cells in order of height above nearest
       drainage (HAND, Nobre et al. 2011): the water level L solves
       ``sum(max(L - HAND, 0) * area) = volume``, found for all reaches at once by a group-wise
       sort and cumulative sums; depth is ``L - HAND`` where positive.

    Limits: no timing (event totals: evaporation, infiltration after the event and drainage
    by canals or pumps are ignored), no embankments, roads or canals that dam or guide water;
    1 km DEM with metre steps; curve numbers by terrain class, not from a soil or land-cover
    map; the upstream areas miss the basins beyond 78 E.

    References
    ----------
    USDA-NRCS (1986). Urban hydrology for small watersheds. Technical Release 55 (TR-55).
    Nobre, A. D. et al. (2011). Height Above the Nearest Drainage. J. Hydrology 404, 13-29.
    Leopold, L. B., Maddock, T. (1953). The hydraulic geometry of stream channels. USGS PP 252.
    """
    if not 0 < ia_ratio <= 0.5:
        raise HazardError(f"ia_ratio must be in (0, 0.5], got {ia_ratio}.")
    if not pond_m_ref > 0 or not area_ref_km2 > 0:
        raise HazardError("pond_m_ref and area_ref_km2 must be > 0.")
    if not 0 <= modulation < 0.4:
        raise HazardError(f"modulation must be in [0, 0.4), got {modulation}.")
    t = terrain()
    win = t.window(bbox)
    if not rain_scale > 0:
        raise HazardError(f"rain_scale must be > 0, got {rain_scale}.")
    rain, rain_label = _rain_on_grid(rainfall, t, win, seed)
    rain = rain * rain_scale
    if curve_number is None:
        cn = default_curve_number(t)
        cn_label: Any = "default: 86 flat alluvial plains, 80 elsewhere (TR-55)"
    else:
        cn = np.asarray(curve_number, dtype=np.float64)
        if cn.shape not in ((), t.shape) or not ((cn > 0) & (cn <= 100)).all():
            raise HazardError(f"curve_number must be in (0, 100], a number or an array of shape {t.shape}.")
        cn_label = float(cn) if cn.ndim == 0 else "array"
    runoff = scs_runoff_mm(rain, cn, ia_ratio) * _modulation(t, seed, 31, modulation)
    runoff[t.sea] = 0.0
    volume = runoff / 1000.0 * t.cell_km2 * 1e6  # m3

    net = t.network
    drain = t.drain_index.ravel()
    land = drain >= 0
    local = np.bincount(net.pos[drain[land]], weights=volume.ravel()[land], minlength=net.cells.size)

    cells, node, hand, cell_m2, cum_a, cum_ah, volume_at = _fill_table(t)
    pond = pond_m_ref * (t.upstream_km2.ravel()[net.cells] / area_ref_km2) ** pond_exponent
    capacity = np.bincount(node, weights=np.maximum(pond[node] - hand, 0.0) * cell_m2, minlength=net.cells.size)
    stored, lost = t.route(local, capacity)

    # water level per reach: the last cell (by HAND) whose level still holds no more than stored
    ok = volume_at <= stored[node]
    count = np.bincount(node, weights=ok, minlength=net.cells.size).astype(np.int64)
    start = np.searchsorted(node, np.arange(net.cells.size))
    k = np.where(count > 0, start + count - 1, 0)
    level = np.where((count > 0) & (stored > 0), (stored + cum_ah[k]) / np.maximum(cum_a[k], 1.0), -np.inf)
    depth_flat = np.zeros(t.down.size)
    depth_flat[cells] = np.maximum(level[node] - hand, 0.0)
    depth = depth_flat.reshape(t.shape)[win.slices].copy()
    depth[depth < min_depth_m] = 0.0
    if max_relief_m is not None:
        depth[t.relief_m[win.slices] > max_relief_m] = 0.0
    depth[t.sea[win.slices]] = np.nan
    total = float(volume.sum())
    log.info("rain_flood: runoff %.3g m3, stored %.3g m3, lost to sea/edge %.3g m3", total, float(stored.sum()), lost)
    return make_layer(
        np.round(depth, 2), win.transform, t.crs, units="m", kind="flash-flood", name="depth",
        provenance={
            "generator": "hazards.floods.rain_flood",
            "method": "SCS-CN runoff (TR-55), routed down the D8 drainage network with reach storage, "
                      "ponded in order of HAND (Nobre et al. 2011)",
            "terrain": "data/terrain (data/build_terrain.py from the NOAA GLOBE DEM)",
            "rainfall": rain_label, "bbox": list(bbox), "seed": seed, "curve_number": cn_label, "rain_scale": rain_scale,
            "max_relief_m": max_relief_m, "ia_ratio": ia_ratio, "pond_m_ref": pond_m_ref, "area_ref_km2": area_ref_km2,
            "pond_exponent": pond_exponent, "modulation": modulation, "min_depth_m": min_depth_m,
            "runoff_m3": round(total), "stored_m3": round(float(stored.sum())), "lost_m3": round(lost),
        },
    )
