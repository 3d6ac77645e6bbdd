"""Derive the terrain rasters of ``data/terrain/`` from the shipped GLOBE DEM (pysheds, build time).

Reads ``data/dem/dem_globe_30arcsec_pakistan.tif`` (NOAA GLOBE, int16 m, 30 arc-seconds,
60.5-78.0 E, 23.5-37.5 N, EPSG:4326; the sea is coded 0) and writes, on the DEM's exact grid
(deflate-compressed GeoTIFFs):

- ``flowdir_d8.tif``      uint8, D8 flow direction, pysheds/ESRI codes N=64 NE=128 E=1 SE=2 S=4
                          SW=8 W=16 NW=32; 0 = no downstream cell (sea, DEM edge, outlet).
- ``upstream_km2.tif``    float32, upstream area [km2] including the cell, from a flow
                          accumulation weighted by the cell area (which shrinks with cos(lat));
                          rounded to three significant digits. NaN at sea.
- ``hand_dm.tif``         int16, height above the nearest drainage cell along the flow path
                          (HAND, Nobre et al. 2011) in decimetres; -32768 at sea.
- ``drain_index.tif``     int32, flat index (row * 2100 + col) of the drainage cell each cell
                          drains to (pysheds ``compute_hand(return_index=True)``); -1 at sea.
- ``drain_elev_m.tif``    float32, conditioned elevation [m] of the drainage cells (NaN
                          elsewhere), so height above any downstream river cell can be computed
                          at runtime: ``z(cell) = hand(cell) + drain_elev[drain_index(cell)]``.
- ``flow_level.tif``      uint16, topological level of each cell in the D8 tree (0 for cells with
                          no upstream neighbour; a cell's level is 1 + the highest level of the
                          cells draining into it), so runtime routing can loop over levels.

Drainage cells: upstream area >= ``DRAIN_KM2`` (150 km2). The DEM is conditioned with pysheds'
``fill_pits``, ``fill_depressions`` (priority flood) and ``resolve_flats`` (Barnes et al. 2014),
with the sea (elevation 0) as nodata: every land cell drains to the sea or the window's edge.

Run from the repository root: ``.venv/bin/python data/build_terrain.py`` (needs pysheds, a dev
dependency; the runtime only reads the outputs).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import rasterio

ROOT = Path(__file__).resolve().parent
DEM = ROOT / "dem" / "dem_globe_30arcsec_pakistan.tif"
OUT = ROOT / "terrain"
DRAIN_KM2 = 150.0  # drainage network threshold [km2] for HAND
KM_PER_DEG = 111.32
DIRMAP = (64, 128, 1, 2, 4, 8, 16, 32)  # N, NE, E, SE, S, SW, W, NW
D_ROW = np.array([-1, -1, 0, 1, 1, 1, 0, -1])
D_COL = np.array([0, 1, 1, 1, 0, -1, -1, -1])
SEA_M = 0  # GLOBE codes the sea as 0 in this file
NODATA = -9999.0
BURN_M = 10.0  # mapped river courses run this much [m] below their running-minimum ground ...
BURN_BELOW_M = 500.0  # ... where the ground is below this elevation [m] (the Indus plains)

log = logging.getLogger("build_terrain")


def downstream_index(fdir: np.ndarray, sea: np.ndarray) -> np.ndarray:
    """Flat index of each cell's D8 downstream cell; -1 at outlets, the sea and off-grid."""
    rows, cols = fdir.shape
    down = np.full(fdir.size, -1, dtype=np.int64)
    r, c = np.divmod(np.arange(fdir.size), cols)
    f = fdir.ravel()
    for k, code in enumerate(DIRMAP):  # a loop over the 8 directions
        sel = np.flatnonzero(f == code)
        rr, cc = r[sel] + D_ROW[k], c[sel] + D_COL[k]
        ok = (rr >= 0) & (rr < rows) & (cc >= 0) & (cc < cols)
        sel, rr, cc = sel[ok], rr[ok], cc[ok]
        target = rr * cols + cc
        keep = ~sea.ravel()[target]
        down[sel[keep]] = target[keep]
    return down


def burn(z: np.ndarray, transform, sea: np.ndarray) -> tuple[np.ndarray, int]:
    """Lower the river courses of ``data/rivers.csv`` (waypoint polylines, 8-connected) below
    ``BURN_BELOW_M``: each line's bed is the running minimum of the ground along it (upstream
    first) less ``BURN_M``, so the burnt course runs downhill across the small rises (e.g. the
    limestone ridge at Sukkur-Rohri) that a 1 km DEM puts in its way."""
    import pandas as pd

    table = pd.read_csv(ROOT / "rivers.csv").sort_values(["river", "seq"])
    out = z.copy()
    burnt = np.zeros(z.shape, dtype=bool)
    step = abs(transform.a) / 4
    for _, g in table.groupby("river"):  # a loop over the seven rivers
        line = g[["lon", "lat"]].to_numpy(float)
        seg = np.hypot(*np.diff(line, axis=0).T)
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        s = np.arange(0.0, cum[-1] + step, step)
        lon, lat = np.interp(s, cum, line[:, 0]), np.interp(s, cum, line[:, 1])
        col = np.floor((lon - transform.c) / transform.a).astype(int)
        row = np.floor((lat - transform.f) / transform.e).astype(int)
        ok = (row >= 0) & (row < z.shape[0]) & (col >= 0) & (col < z.shape[1])
        row, col = row[ok], col[ok]
        ok = ~sea[row, col]
        row, col = row[ok], col[ok]
        bed = np.minimum.accumulate(z[row, col]) - BURN_M
        low = z[row, col] < BURN_BELOW_M
        row, col, bed = row[low], col[low], bed[low]
        np.minimum.at(out, (row, col), bed)
        burnt[row, col] = True
    return out, int(burnt.sum())


def flow_levels(down: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Topological level of each cell (Kahn's algorithm, one numpy step per level)."""
    n = down.size
    has_down = down >= 0
    indeg = np.bincount(down[has_down], minlength=n)
    level = np.full(n, -1, dtype=np.int64)
    frontier = np.flatnonzero(valid & (indeg == 0))
    current = 0
    while frontier.size:
        level[frontier] = current
        d = down[frontier]
        d = d[d >= 0]
        u, counts = np.unique(d, return_counts=True)
        indeg[u] -= counts
        frontier = u[indeg[u] == 0]
        current += 1
    if (level[valid] < 0).any():
        raise RuntimeError(f"{int((level[valid] < 0).sum())} cells are in flow cycles")
    return level


def write(name: str, values: np.ndarray, profile: dict, nodata: float | int | None, predictor: int,
          **extra) -> Path:
    path = OUT / name
    p = dict(profile)
    p.update(dtype=values.dtype.name, count=1, compress="deflate", zlevel=9, tiled=True,
             blockxsize=256, blockysize=256, nodata=nodata, predictor=predictor)
    with rasterio.open(path, "w", **p) as dst:
        dst.write(values, 1)
        dst.update_tags(**{k: str(v) for k, v in extra.items()})
    return path


def main() -> None:
    from pysheds.grid import Grid
    from pysheds.sview import Raster, ViewFinder

    if not hasattr(np, "in1d"):  # pysheds 0.5 calls np.in1d, removed in NumPy 2.4
        np.in1d = np.isin

    t0 = time.perf_counter()
    OUT.mkdir(exist_ok=True)
    with rasterio.open(DEM) as src:
        z = src.read(1).astype(np.float64)
        transform, crs = src.transform, src.crs
        profile = {"driver": "GTiff", "width": src.width, "height": src.height, "crs": crs,
                   "transform": transform}
    rows, cols = z.shape
    sea = z <= SEA_M
    z[sea] = NODATA
    view = ViewFinder(affine=transform, shape=z.shape, crs=crs.to_proj4() if hasattr(crs, "to_proj4") else crs,
                      nodata=NODATA)
    grid = Grid(viewfinder=view)
    # Stream burning (as in HydroSHEDS): on the flat plains a 1 km DEM with 1 m steps cannot
    # resolve rivers that run on their own alluvial ridges, so the mapped courses are lowered.
    z_raw = z.copy()
    z, n_burnt = burn(z_raw, transform, sea)
    log.info("burnt %d river cells (%.0f m below the running minimum along each course)", n_burnt, BURN_M)
    dem = Raster(z, viewfinder=view)

    log.info("conditioning: fill pits, fill depressions, resolve flats")
    filled = grid.fill_pits(dem)
    filled = grid.fill_depressions(filled)
    inflated = grid.resolve_flats(filled, max_iter=100_000)
    fdir = grid.flowdir(inflated, dirmap=DIRMAP, nodata_out=0, flats=0, pits=0)
    fdir = np.asarray(fdir).astype(np.int64)
    fdir[sea] = 0
    log.info("unresolved flats/pits (outlets): %d land cells", int(((fdir == 0) & ~sea).sum()))

    # cell area [km2]: (1/120 deg)^2 * 111.32^2 * cos(lat)
    lat = transform.f + transform.e * (np.arange(rows) + 0.5)
    area = np.repeat((abs(transform.a) * KM_PER_DEG) * (abs(transform.e) * KM_PER_DEG)
                     * np.cos(np.radians(lat))[:, None], cols, axis=1)
    area[sea] = 0.0
    fdir_r = Raster(fdir, viewfinder=ViewFinder(affine=transform, shape=z.shape, crs=view.crs, nodata=0))
    acc = np.asarray(grid.accumulation(fdir_r, weights=Raster(area, viewfinder=view), dirmap=DIRMAP))

    # check against our own downstream pointers (the runtime's routing)
    down = downstream_index(fdir, sea)
    level = flow_levels(down, ~sea.ravel())
    log.info("flow tree: %d levels", int(level.max()) + 1)

    drainage = (acc >= DRAIN_KM2) & ~sea
    hand_idx = np.asarray(grid.compute_hand(fdir_r, inflated, Raster(drainage, viewfinder=ViewFinder(affine=transform, shape=z.shape, crs=view.crs, nodata=False)),
                                            dirmap=DIRMAP, return_index=True)).astype(np.int64)
    hand_idx[sea] = -1
    # heights from the unburned DEM (pits filled), so burning does not raise HAND
    zc = np.asarray(grid.fill_pits(Raster(z_raw, viewfinder=view)), dtype=np.float64)
    hand = np.where(hand_idx >= 0, zc - zc.ravel()[np.maximum(hand_idx, 0)], np.nan)
    hand[sea] = np.nan
    missing = (~sea) & (hand_idx < 0)
    log.info("cells with no drainage cell downstream: %d", int(missing.sum()))
    # cells that reach no drainage cell (small coastal or edge catchments): their own outlet
    # is their drainage cell, found by pointer jumping along the D8 tree.
    if missing.any():
        ptr = np.where(down >= 0, down, np.arange(down.size))
        for _ in range(40):
            nxt = ptr[ptr]
            if np.array_equal(nxt, ptr):
                break
            ptr = nxt
        outlet = ptr.reshape(z.shape)
        hand_idx[missing] = outlet[missing]
        hand[missing] = zc[missing] - zc.ravel()[outlet[missing]]
    hand = np.clip(hand, 0.0, None)

    # three significant digits (0.5 % at most): enough for thresholds and hydraulic geometry
    magnitude = 10.0 ** (np.floor(np.log10(np.maximum(acc, 1e-3))) - 2)
    upstream = (np.round(acc / magnitude) * magnitude).astype(np.float32)
    upstream[sea] = np.nan
    hand_dm = np.where(sea, -32768, np.clip(np.round(hand * 10), 0, 32767)).astype(np.int16)
    drain_cells = np.zeros(z.size, dtype=bool)
    drain_cells[hand_idx[~sea]] = True
    drain_elev = np.full(z.shape, np.nan, dtype=np.float32)
    drain_elev.ravel()[drain_cells] = np.round(zc.ravel()[drain_cells], 2)
    fdir8 = fdir.astype(np.uint8)
    fdir8[down.reshape(z.shape) < 0] = 0

    params = dict(burn_m=BURN_M, burn_below_m=BURN_BELOW_M, source="NOAA GLOBE 30 arc-second DEM (public domain), data/dem/dem_globe_30arcsec_pakistan.tif",
                  built_by="data/build_terrain.py", drain_km2=DRAIN_KM2)
    write("flowdir_d8.tif", fdir8, profile, None, 1, dirmap=json.dumps(DIRMAP), **params)
    write("upstream_km2.tif", upstream, profile, float("nan"), 1, units="km2", **params)
    write("hand_dm.tif", hand_dm, profile, -32768, 2, units="decimetres", **params)
    write("drain_index.tif", hand_idx.astype(np.int32), profile, -1, 1, **params)
    write("drain_elev_m.tif", drain_elev, profile, float("nan"), 1, units="m", **params)
    write("flow_level.tif", level.reshape(z.shape).astype(np.uint16), profile, None, 1, **params)
    total = sum(p.stat().st_size for p in OUT.glob("*.tif"))
    for p in sorted(OUT.glob("*.tif")):
        log.info("%-20s %6.2f MB", p.name, p.stat().st_size / 1e6)
    log.info("total %.2f MB; built in %.1f s", total / 1e6, time.perf_counter() - t0)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    main()
