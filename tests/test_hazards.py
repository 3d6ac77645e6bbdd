"""Hazard layers: the generator, GeoTIFF round trips and reader errors."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine

from hazards import generators
from hazards.errors import HazardError
from hazards.io import read_geotiff, write_geotiff
from hazards.layer import bounds_of, make_layer

SMALL = (67.5, 24.5, 69.0, 26.5)


def test_flood_grows_with_return_period():
    depth = {t: generators.riverine_flood(return_period=t, bbox=SMALL, seed=1) for t in (10, 50, 200)}
    extent = {t: float((d > 0).mean()) for t, d in depth.items()}
    peak = {t: float(d.max()) for t, d in depth.items()}
    assert extent[10] < extent[50] < extent[200]
    assert peak[10] < peak[50] < peak[200]
    # deeper everywhere the smaller flood reached
    assert (depth[200].values >= depth[10].values).all()


def test_flood_is_seeded_and_described():
    a = generators.riverine_flood(bbox=SMALL, seed=3)
    b = generators.riverine_flood(bbox=SMALL, seed=3)
    c = generators.riverine_flood(bbox=SMALL, seed=4)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, c.values)
    assert a.attrs["units"] == "m" and a.attrs["kind"] == "riverine-flood"
    assert '"seed": 3' in a.attrs["provenance"]
    assert a.shape == (240, 180)
    np.testing.assert_allclose(bounds_of(a), SMALL)


def test_flood_follows_the_river():
    """Cells on the Indus near Kotri barrage (68.33 E, 25.37 N) are flooded; 100 km west not."""
    layer = generators.riverine_flood(bbox=SMALL, seed=0)
    from hazards.sampling import sample

    value, _ = sample(layer, np.array([68.33, 67.55]), np.array([25.37, 25.37]))
    assert value[0] > 1.0 and value[1] == 0.0


def test_unknown_river_and_bad_bbox():
    with pytest.raises(HazardError, match=r"\['amazon'\] are not in data/rivers.csv"):
        generators.riverine_flood("amazon")
    with pytest.raises(HazardError, match="does not cross bbox"):
        generators.riverine_flood(bbox=(61.0, 30.0, 62.0, 31.0))
    with pytest.raises(HazardError, match="left<right"):
        generators.riverine_flood(bbox=(70.0, 30.0, 69.0, 31.0))


def test_geotiff_round_trip(tmp_path, raster5):
    path = write_geotiff(raster5, tmp_path / "r.tif")
    back = read_geotiff(path)
    np.testing.assert_array_equal(back.values, raster5.values)
    assert back.attrs["units"] == "m" and back.attrs["kind"] == "riverine-flood"
    assert back.attrs["transform"] == raster5.attrs["transform"]
    assert back.attrs["crs"] == "EPSG:4326"


def test_window_read(tmp_path, raster5):
    path = write_geotiff(raster5, tmp_path / "r.tif")
    res = 1 / 120
    back = read_geotiff(path, bounds=(68.0 + 1.5 * res, 26.0 - 3.5 * res, 68.0 + 3.2 * res, 26.0 - 1.1 * res))
    np.testing.assert_array_equal(back.values, raster5.values[1:4, 1:4])


def _plain_tif(path, values, *, crs="EPSG:4326", units=None, nodata=None, scale=1.0):
    with rasterio.open(path, "w", driver="GTiff", height=values.shape[0], width=values.shape[1],
                       count=1, dtype=values.dtype, crs=crs, nodata=nodata,
                       transform=Affine(0.1, 0, 68.0, 0, -0.1, 26.0)) as dst:
        dst.write(values, 1)
        if units:
            dst.set_band_unit(1, units)
        if scale != 1.0:
            dst.scales = (scale,)
    return path


def test_units_nodata_and_scale_from_another_writer(tmp_path):
    values = np.array([[150, -1], [20, 0]], dtype=np.int16)
    path = _plain_tif(tmp_path / "cm.tif", values, units="cm", nodata=-1, scale=2.0)
    layer = read_geotiff(path)
    assert layer.attrs["units"] == "m"
    np.testing.assert_allclose(layer.values, [[3.0, np.nan], [0.4, 0.0]])
    kelvin = _plain_tif(tmp_path / "k.tif", np.array([[300.15]], np.float32), units="K")
    assert read_geotiff(kelvin).values[0, 0] == pytest.approx(27.0, abs=1e-3)


def test_reader_errors(tmp_path):
    with pytest.raises(HazardError, match="no such hazard raster"):
        read_geotiff(tmp_path / "none.tif")
    (tmp_path / "junk.tif").write_bytes(b"II*\x00garbage")
    with pytest.raises(HazardError, match=r"junk\.tif: not a readable raster"):
        read_geotiff(tmp_path / "junk.tif")
    nocrs = _plain_tif(tmp_path / "nocrs.tif", np.ones((2, 2), np.float32), crs=None, units="m")
    with pytest.raises(HazardError, match=r"nocrs\.tif: the raster has no CRS.*gdal_edit"):
        read_geotiff(nocrs)
    nounits = _plain_tif(tmp_path / "nounits.tif", np.ones((2, 2), np.float32))
    with pytest.raises(HazardError, match=r"nounits\.tif: the raster does not state its units"):
        read_geotiff(nounits)
    with pytest.raises(HazardError, match=r"unknown units 'furlong'"):
        read_geotiff(nounits, units="furlong")
    with pytest.raises(HazardError, match="does not overlap the area of interest"):
        read_geotiff(nounits, units="m", bounds=(70.0, 30.0, 71.0, 31.0))


def test_truncated_file(tmp_path, raster5):
    big = make_layer(np.random.default_rng(0).random((600, 600)), Affine(0.01, 0, 68, 0, -0.01, 26),
                     "EPSG:4326", units="m", kind="t", provenance={})
    path = write_geotiff(big, tmp_path / "big.tif")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(HazardError, match=r"big\.tif: .*(truncated|not a readable raster)"):
        read_geotiff(path)


def test_layer_refuses_bad_inputs():
    t = Affine(1, 0, 0, 0, -1, 0)
    with pytest.raises(HazardError, match="units 'ft'"):
        make_layer(np.zeros((2, 2)), t, "EPSG:4326", units="ft", kind="x", provenance={})
    with pytest.raises(HazardError, match="needs a CRS"):
        make_layer(np.zeros((2, 2)), t, "", units="m", kind="x", provenance={})
    with pytest.raises(HazardError, match="rotated"):
        make_layer(np.zeros((2, 2)), Affine(1, 0.1, 0, 0, -1, 0), "EPSG:4326", units="m", kind="x", provenance={})
