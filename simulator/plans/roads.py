"""Travel over a road network: each household's nearest site by road, when a network is given.

A road network is any line file GeoPandas reads (GeoPackage, GeoParquet, GeoJSON, Shapefile; an
OpenStreetMap extract exported as lines, for example with ``ogr2ogr`` or ``osmium export``), in
any CRS (reprojected to EPSG:4326). Every line is a two-way road; its vertices are the network's
nodes (vertices closer than :data:`NODE_DECIMALS` decimal degrees are one node, so that lines
meeting at a point connect) and each segment between consecutive vertices an edge whose length
is its great-circle length [km].

:func:`assign` sends households to their nearest usable site by road, with one shortest-path
search from all sites at once (``scipy.sparse.csgraph.dijkstra`` with ``min_only=True``:
multi-source Dijkstra, Dijkstra 1959), so that the cost does not grow with the number of sites:

    travel = access x detour + road distance between the two nodes + egress x detour

where access (egress) is the great-circle distance from the household (site) to its nearest
node, off the network, times the straight-line detour factor. Limits: the nearest site is chosen
by the road distance between nodes (the access legs are added after); every road is two-way and
as fast as any other (distance, not time); a flooded road is not closed unless the file leaves
it out; a household whose node reaches no usable site (another component of the network) gets
no site by road, and the plan counts it (``no_site``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hazards.errors import ScenarioError
from simulator.plans import delivery

log = logging.getLogger(__name__)

#: Vertices are merged into one node when equal at this many decimals of a degree (about 0.1 m).
NODE_DECIMALS = 6


@dataclass
class RoadNetwork:
    """Nodes [degrees, EPSG:4326] and a symmetric sparse matrix of edge lengths [km]."""

    lon: np.ndarray
    lat: np.ndarray
    graph: object  # scipy.sparse.csr_matrix, n_nodes x n_nodes
    source: str

    @property
    def nodes(self) -> int:
        return len(self.lon)


def from_lines(geometries, *, source: str = "<roads>") -> RoadNetwork:
    """A network from (Multi)LineString geometries [EPSG:4326 degrees] (a GeoSeries or an array
    of shapely geometries); other geometry types are refused.

    Raises
    ------
    ScenarioError
        No line, or a geometry that is not a line (the message names the first row).
    """
    import shapely
    from scipy import sparse

    geoms = np.asarray(getattr(geometries, "values", geometries), dtype=object)
    kinds = shapely.get_type_id(geoms)
    bad = ~np.isin(kinds, [1, 5])  # LineString, MultiLineString
    if bad.any():
        row = int(np.argmax(bad))
        raise ScenarioError(f"{source}: row {row + 1} is a {shapely.get_type_id(geoms[row])} geometry, not a line; "
                            "a road network holds LineString or MultiLineString roads.")
    parts = shapely.get_parts(geoms)
    coords, index = shapely.get_coordinates(parts, return_index=True)
    if len(coords) < 2:
        raise ScenarioError(f"{source}: no road line; give a file of LineString roads.")
    key = np.round(coords, NODE_DECIMALS)
    nodes, node_of = np.unique(key, axis=0, return_inverse=True)
    node_of = node_of.reshape(-1)
    same_line = index[1:] == index[:-1]
    a, b = node_of[:-1][same_line], node_of[1:][same_line]
    keep = a != b
    a, b = a[keep], b[keep]
    km = delivery.great_circle_km(nodes[a, 0], nodes[a, 1], nodes[b, 0], nodes[b, 1])
    n = len(nodes)
    # both directions; two lines over one segment keep the shorter length
    row, col, data = np.r_[a, b], np.r_[b, a], np.r_[km, km]
    order = np.lexsort((data, col, row))
    row, col, data = row[order], col[order], data[order]
    first = np.r_[True, (row[1:] != row[:-1]) | (col[1:] != col[:-1])]
    graph = sparse.csr_matrix((data[first], (row[first], col[first])), shape=(n, n))
    log.info("%s: road network of %d nodes and %d edges", source, n, graph.nnz // 2)
    return RoadNetwork(nodes[:, 0].copy(), nodes[:, 1].copy(), graph, source)


def load(path: str | Path, *, layer: str | None = None) -> RoadNetwork:
    """Read a road network file (see the module docstring).

    Raises
    ------
    ScenarioError
        The file is missing or unreadable, has no CRS, or holds no line (the message names the
        file and the fix).
    """
    import geopandas as gpd

    path = Path(path)
    if not path.exists():
        raise ScenarioError(f"{path}: no such road network file; give a GeoPackage, GeoParquet or GeoJSON of "
                            "road lines (e.g. an OpenStreetMap extract), or leave delivery.roads out.")
    try:
        frame = gpd.read_parquet(path) if path.suffix.lower() in (".parquet", ".geoparquet") else \
            gpd.read_file(path, layer=layer)
    except Exception as exc:  # noqa: BLE001 - any reader failure is the file's problem
        raise ScenarioError(f"{path}: cannot be read as a road network ({exc}).") from exc
    if frame.crs is None:
        raise ScenarioError(f"{path}: the road lines have no CRS; set one (e.g. EPSG:4326) and save again.")
    return from_lines(frame.geometry.to_crs(4326), source=str(path))


def assign(net: RoadNetwork, lon, lat, site_lon, site_lat, *, usable=None,
           detour: float = delivery.DETOUR_FACTOR) -> delivery.Assignment:
    """Send every household to its nearest usable site by road (see the module docstring).

    Parameters as :func:`simulator.plans.delivery.assign`; ``detour`` applies to the legs off
    the network only. Returns an :class:`~simulator.plans.delivery.Assignment` (travel [km]).
    """
    from scipy.sparse.csgraph import dijkstra
    from scipy.spatial import cKDTree

    lon, lat = np.asarray(lon, np.float64), np.asarray(lat, np.float64)
    site_lon, site_lat = np.asarray(site_lon, np.float64), np.asarray(site_lat, np.float64)
    usable = np.ones(len(site_lon), bool) if usable is None else np.asarray(usable, bool)
    n = len(lon)
    site = np.full(n, delivery.NO_SITE, np.int32)
    distance = np.full(n, np.nan, np.float32)
    candidates = np.flatnonzero(usable & np.isfinite(site_lon) & np.isfinite(site_lat))
    if not n or not len(candidates):
        return delivery.Assignment(site, distance, float(detour))
    tree = cKDTree(delivery.unit_vectors(net.lon, net.lat))
    chord, site_node = tree.query(delivery.unit_vectors(site_lon[candidates], site_lat[candidates]))
    egress = delivery.chord_to_km(chord) * detour
    # one site per node: the one nearest it (the others at that node are never nearer by road)
    order = np.lexsort((egress, site_node))
    first = np.r_[True, site_node[order][1:] != site_node[order][:-1]]
    best = order[first]
    source_nodes = site_node[best]
    road, _, nearest_node = dijkstra(net.graph, directed=False, indices=source_nodes, min_only=True,
                                     return_predecessors=True)
    at_node = np.full(net.nodes, -1, np.int64)
    at_node[source_nodes] = best
    ok = np.isfinite(lon) & np.isfinite(lat)
    for start in range(0, n, delivery.BLOCK):  # blocks of households, each one vectorized query
        stop = min(start + delivery.BLOCK, n)
        chord_h, node = tree.query(delivery.unit_vectors(np.where(ok[start:stop], lon[start:stop], 0.0),
                                                         np.where(ok[start:stop], lat[start:stop], 0.0)))
        reach = ok[start:stop] & (nearest_node[node] >= 0) & np.isfinite(road[node])
        which = at_node[np.where(reach, nearest_node[node], source_nodes[0])]
        site[start:stop] = np.where(reach, candidates[which], delivery.NO_SITE)
        distance[start:stop] = np.where(
            reach, delivery.chord_to_km(chord_h) * detour + road[node] + egress[which], np.nan)
    unreached = int((ok & (site < 0)).sum())
    if unreached:
        log.warning("%s: %d households reach no usable site by road (another part of the network)",
                    net.source, unreached)
    return delivery.Assignment(site, distance, float(detour))
