"""Hazard layers for Madad, the lowest layer: it imports nothing from ``simulator``.

``errors``     the one error hierarchy every layer raises (:class:`hazards.errors.MadadError`)
``tables``     the tables shipped in ``data/`` (districts, rivers, outlines, the DEM)
``terrain``    the DEM's drainage (D8 flow, upstream area, HAND) and routing along it
``floods``     floods on the terrain: rivers by HAND and stage, rain routed and ponded
``climate``    station normals and event rainfall spread to the grid
``layer``      the layer model (xarray with CRS, units, kind, provenance)
``io``         GeoTIFF/COG, NetCDF and Zarr in and out
``admin``      declared districts (NDMA notifications) as a hazard
``generators`` modelled footprints of Pakistan's shocks
``impact``     impact functions (tiers by housing type), from ``data/impact``
``events``     stochastic event sets (sparse events x locations)
``sampling``   a layer's value at points, edges exact
"""
