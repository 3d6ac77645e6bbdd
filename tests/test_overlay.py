"""Overlay: hand-computed answers on a 5x5 raster, exact edges, outside and nodata."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.transform import rowcol

from hazards.io import write_geotiff
from hazards.layer import make_layer
from hazards.sampling import INSIDE, NODATA, OUTSIDE, sample

RES = 1.0 / 120.0


def test_pixel_centres(raster5):
    # centre of pixel (r, c) has value 10 r + c
    r, c = np.meshgrid(np.arange(5), np.arange(5), indexing="ij")
    lon = 68.0 + (c.ravel() + 0.5) * RES
    lat = 26.0 - (r.ravel() + 0.5) * RES
    value, status = sample(raster5, lon, lat)
    expected = (10 * r + c).ravel().astype(float)
    expected[12] = np.nan
    np.testing.assert_array_equal(value, expected.astype(np.float32))
    assert status[12] == NODATA
    assert (np.delete(status, 12) == INSIDE).all()


def test_edges_belong_to_left_and_top_pixel(raster5):
    # The point on the edge between columns 1 and 2 (x = 68 + 2/120) belongs to column 2
    # (its left edge); the edge between rows 0 and 1 (y = 26 - 1/120) to row 1 (its top edge).
    lon = np.array([68.0 + 2 * RES, 68.0 + 0.5 * RES, 68.0 + 3 * RES, 68.0])
    lat = np.array([26.0 - 0.5 * RES, 26.0 - 1 * RES, 26.0 - 4 * RES, 26.0])
    value, status = sample(raster5, lon, lat)
    # (row 0, col 2) = 2; (row 1, col 0) = 10; corner (row 4, col 3) = 43; top-left corner = 0
    np.testing.assert_array_equal(value, np.array([2, 10, 43, 0], np.float32))
    assert (status == INSIDE).all()


def test_outside_and_far_edges(raster5):
    # Right and bottom outer edges belong to pixels outside the raster.
    lon = np.array([68.0 + 5 * RES, 68.0 + 0.5 * RES, 67.99, 68.0 + 0.5 * RES, np.nan])
    lat = np.array([26.0 - 0.5 * RES, 26.0 - 5 * RES, 25.99, 26.01, 25.99])
    value, status = sample(raster5, lon, lat)
    assert np.isnan(value).all()
    assert (status == OUTSIDE).all()


@pytest.mark.parametrize("decimals", [None, 5, 4])
def test_grid_edges_and_corners_exact(decimals):
    """Points built on every edge and corner of a 1/120-degree national-size grid, optionally
    rounded to 4 or 5 decimals as registries store them, land in the pixel whose left/top edge
    they lie on."""
    cols, rows = 2100, 1680
    left, top = 60.5, 37.5
    transform = Affine(RES, 0.0, left, 0.0, -RES, top)
    values = np.arange(rows * cols, dtype=np.float64).reshape(rows, cols).astype(np.float32)
    # float32 holds integers exactly up to 2**24 = 16.7 M > 3.5 M cells
    layer = make_layer(values, transform, "EPSG:4326", units="index", kind="test", provenance={})
    rng = np.random.default_rng(7)
    r = rng.integers(0, rows, 200_000)
    c = rng.integers(0, cols, 200_000)
    lon = left + c / 120.0
    lat = top - r / 120.0
    if decimals is not None:
        lon, lat = lon.round(decimals), lat.round(decimals)
    value, status = sample(layer, lon, lat)
    assert (status == INSIDE).all()
    np.testing.assert_array_equal(value.astype(np.int64), r * cols + c)


def test_rasterio_rowcol_misassigns_edges():
    """Why the overlay does its own indexing: the plain inverse transform gets edges wrong."""
    transform = Affine(RES, 0.0, 60.5, 0.0, -RES, 37.5)
    rng = np.random.default_rng(3)
    c = rng.integers(0, 2100, 10_000)
    r = rng.integers(0, 1680, 10_000)
    rr, cc = rowcol(transform, 60.5 + c / 120.0, 37.5 - r / 120.0)
    wrong = (np.asarray(rr) != r) | (np.asarray(cc) != c)
    assert wrong.mean() > 0.05


def test_projected_raster(tmp_path):
    """A UTM 42N raster: points are transformed to the raster's CRS, not the reverse."""
    from pyproj import Transformer

    transform = Affine(1000.0, 0.0, 300_000.0, 0.0, -1000.0, 3_000_000.0)
    values = np.arange(100, dtype=np.float32).reshape(10, 10)
    layer = make_layer(values, transform, "EPSG:32642", units="m", kind="test", provenance={})
    to_geo = Transformer.from_crs(32642, 4326, always_xy=True)
    x = 300_000.0 + 1000.0 * np.array([3.5, 7.2])
    y = 3_000_000.0 - 1000.0 * np.array([4.5, 0.1])
    lon, lat = to_geo.transform(x, y)
    value, status = sample(layer, lon, lat)
    np.testing.assert_array_equal(value, np.array([43, 7], np.float32))
    # Same answer after a round trip through a GeoTIFF on disk.
    path = write_geotiff(layer, tmp_path / "utm.tif")
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 32642


def test_south_up_raster():
    values = np.array([[1, 2], [3, 4]], np.float32)  # row 0 is the southern row
    layer = make_layer(values, Affine(1.0, 0, 60.0, 0, 1.0, 24.0), "EPSG:4326",
                       units="m", kind="test", provenance={})
    # y = 25 is the top edge of row 0 and the bottom edge of row 1: it belongs to row 0.
    value, _ = sample(layer, np.array([60.5, 60.5, 61.0]), np.array([24.5, 25.0, 25.5]))
    np.testing.assert_array_equal(value, np.array([1, 1, 4], np.float32))
