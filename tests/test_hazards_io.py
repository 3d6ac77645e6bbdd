"""Hazard readers and writers: GeoTIFF/COG, NetCDF, Zarr, windows, CRSs, errors; admin tables."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import netCDF4
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from affine import Affine
from pyproj import Transformer

from hazards import tables as data
from hazards.admin import TIERS, admin_intensity, read_admin_table
from hazards.errors import HazardError
from hazards.io import (
    aoi_to_crs,
    read_geotiff,
    read_raster,
    write_geotiff,
    write_netcdf,
    write_zarr,
)
from hazards.layer import bounds_of, make_layer
from hazards.sampling import sample

RES = 1.0 / 120.0
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
WRITERS = {".tif": write_geotiff, ".nc": write_netcdf, ".zarr": write_zarr}
UTM = "EPSG:32642"
#: A 1 km UTM 42N grid, 300 x 200 pixels, over lower Sindh (about 67.0-70.0 E, 25.3-27.1 N).
UTM_TRANSFORM = Affine(1000.0, 0.0, 300000.0, 0.0, -1000.0, 3000000.0)


def _utm_layer() -> xr.DataArray:
    # unique per pixel, 0-59.999 m: inside the plausible depth range (hazards.georef.PLAUSIBLE_RANGE)
    values = (np.arange(200 * 300) / 1000).astype(np.float32).reshape(200, 300)
    values[0, 0] = np.nan
    return make_layer(values, UTM_TRANSFORM, UTM, units="m", kind="riverine-flood",
                      provenance={"test": "utm"})


def _lonlat_coords(lon, lat, *, lon_units="degrees_east", lat_units="degrees_north"):
    return {"lat": ("lat", np.asarray(lat), {"units": lat_units}),
            "lon": ("lon", np.asarray(lon), {"units": lon_units})}


def _grid_nc(path, values=None, *, attrs=None, name="depth", extra=None, **coords):
    """A NetCDF written by xarray on a 0.1-degree lon/lat grid, north-up."""
    values = np.ones((3, 4), np.float32) if values is None else values
    lon = coords.pop("lon", 68.05 + 0.1 * np.arange(values.shape[-1]))
    lat = coords.pop("lat", 25.25 - 0.1 * np.arange(values.shape[-2]))
    ds = xr.Dataset({name: (("lat", "lon"), values, {"units": "m", **(attrs or {})}), **(extra or {})},
                    coords=_lonlat_coords(lon, lat, **coords))
    ds.to_netcdf(path)
    return path


# ------------------------------------------------------------------------------------------
# round trips and windows


@pytest.mark.parametrize("suffix", list(WRITERS))
def test_round_trip(tmp_path, raster5, suffix):
    path = WRITERS[suffix](raster5, tmp_path / f"r{suffix}")
    back = read_raster(path)
    np.testing.assert_array_equal(back.values, raster5.values)  # NaN where NaN
    assert back.dtype == np.float32 and back.dims == ("y", "x")
    for key in ("crs", "transform", "units", "kind"):
        assert back.attrs[key] == raster5.attrs[key], key
    provenance = json.loads(back.attrs["provenance"])
    assert provenance["generator"] == {"test": "raster5"}
    assert provenance["source"] == str(path)
    np.testing.assert_array_equal(back.x, raster5.x)
    np.testing.assert_array_equal(back.y, raster5.y)


@pytest.mark.parametrize("suffix", list(WRITERS))
def test_round_trip_projected(tmp_path, suffix):
    layer = _utm_layer()
    back = read_raster(WRITERS[suffix](layer, tmp_path / f"u{suffix}"))
    np.testing.assert_array_equal(back.values, layer.values)
    assert back.attrs["crs"] == UTM
    assert back.attrs["transform"] == layer.attrs["transform"]


def test_written_netcdf_is_cf(tmp_path, raster5):
    """The NetCDF holds CF coordinates, a grid mapping with the CRS and NaN fill."""
    path = write_netcdf(raster5, tmp_path / "r.nc")
    with netCDF4.Dataset(path) as nc:
        assert nc.Conventions == "CF-1.8"
        var = nc["intensity"]
        assert var.units == "m" and var.grid_mapping == "spatial_ref"
        assert np.isnan(var._FillValue)
        assert "WGS 84" in nc["spatial_ref"].crs_wkt
        assert nc["spatial_ref"].grid_mapping_name == "latitude_longitude"
        assert nc["lat"].units == "degrees_north" and nc["lon"].units == "degrees_east"
        assert nc["lat"][0] > nc["lat"][-1]  # north-up


@pytest.mark.parametrize("suffix", list(WRITERS))
def test_window_read_in_lon_lat(tmp_path, raster5, suffix):
    path = WRITERS[suffix](raster5, tmp_path / f"r{suffix}")
    aoi = (68.0 + 1.5 * RES, 26.0 - 3.5 * RES, 68.0 + 3.2 * RES, 26.0 - 1.1 * RES)
    back = read_raster(path, aoi=aoi)
    np.testing.assert_array_equal(back.values, raster5.values[1:4, 1:4])
    assert back.attrs["transform"] == pytest.approx((RES, 0, 68.0 + RES, 0, -RES, 26.0 - RES))


def test_geotiff_bounds_still_work(tmp_path, raster5):
    path = write_geotiff(raster5, tmp_path / "r.tif")
    bounds = (68.0 + 1.5 * RES, 26.0 - 3.5 * RES, 68.0 + 3.2 * RES, 26.0 - 1.1 * RES)
    np.testing.assert_array_equal(read_geotiff(path, bounds=bounds).values, raster5.values[1:4, 1:4])
    with pytest.raises(HazardError, match=r"r\.tif: give bounds= .* or aoi= .*not both"):
        read_geotiff(path, bounds=bounds, aoi=bounds)


@pytest.mark.parametrize("suffix", list(WRITERS))
def test_point_value_survives_utm(tmp_path, suffix):
    """A lon/lat point sampled from a UTM 42N raster read with a lon/lat aoi gets the value of
    the pixel that contains it, and only the window covering the aoi is read."""
    layer = _utm_layer()
    path = WRITERS[suffix](layer, tmp_path / f"u{suffix}")
    aoi = (68.6, 26.0, 69.4, 26.4)  # straddles the zone's central meridian, 69 E
    lon = np.array([68.6, 69.0003, 69.3999, 68.7234, 68.9996])  # off pixel edges (x=500 km)
    lat = np.array([26.0, 26.2, 26.3999, 26.3456, 26.0])
    back = read_raster(path, aoi=aoi)

    # hand computation: project the points, floor into the full raster's pixels
    x, y = Transformer.from_crs(4326, 32642, always_xy=True).transform(lon, lat)
    col = np.floor((x - 300000.0) / 1000.0).astype(int)
    row = np.floor((3000000.0 - y) / 1000.0).astype(int)
    expected = layer.values[row, col]
    value, status = sample(back, lon, lat)
    np.testing.assert_array_equal(value, expected)
    assert (status == 0).all()

    # the window covers the aoi (edges densified) and at most one pixel more on each side
    left, bottom, right, top = bounds_of(back)
    want = aoi_to_crs(aoi, UTM)
    assert left <= want[0] < left + 1000 and right - 1000 < want[2] <= right
    assert bottom <= want[1] < bottom + 1000 and top - 1000 < want[3] <= top
    assert back.shape == (int(round((top - bottom) / 1000)), int(round((right - left) / 1000)))
    assert back.shape == (46, 82) and back.size < layer.size
    # the aoi's southern edge sags below its corners at the central meridian: densified edges
    corners = Transformer.from_crs(4326, 32642, always_xy=True).transform(
        [aoi[0], aoi[0], aoi[2], aoi[2]], [aoi[1], aoi[3], aoi[1], aoi[3]])
    assert want[1] < min(corners[1])


def test_aoi_partly_outside_is_clipped(tmp_path, raster5):
    path = write_netcdf(raster5, tmp_path / "r.nc")
    back = read_raster(path, aoi=(67.0, 25.0, 68.0 + 1.5 * RES, 26.0 - 3.5 * RES))
    np.testing.assert_array_equal(back.values, raster5.values[3:5, 0:2])


# ------------------------------------------------------------------------------------------
# files written by other tools


@pytest.mark.parametrize("fill_attr", ["_FillValue", "missing_value"])
def test_netcdf4_library_file(tmp_path, fill_attr):
    """Written with netCDF4 directly: packed int16 with scale/offset, a fill value, units cm,
    float32 coordinates, latitude increasing (south-up)."""
    path = tmp_path / "direct.nc"
    packed = np.array([[0, 10, 20, -999], [30, 40, 50, 60], [70, 80, 90, 100]], np.int16)
    with netCDF4.Dataset(path, "w", format="NETCDF4_CLASSIC") as nc:
        nc.createDimension("lat", 3)
        nc.createDimension("lon", 4)
        lat = nc.createVariable("lat", "f4", ("lat",))
        lat.units, lat.standard_name = "degrees_north", "latitude"
        lat[:] = [25.05, 25.15, 25.25]  # south first
        lon = nc.createVariable("lon", "f4", ("lon",))
        lon.units, lon.standard_name = "degrees_east", "longitude"
        lon[:] = [68.05, 68.15, 68.25, 68.35]
        kw = {"fill_value": np.int16(-999)} if fill_attr == "_FillValue" else {}
        depth = nc.createVariable("depth", "i2", ("lat", "lon"), **kw)
        depth.set_auto_maskandscale(False)
        if fill_attr == "missing_value":
            depth.missing_value = np.int16(-999)
        depth.scale_factor = 0.5
        depth.add_offset = 10.0
        depth.units = "cm"
        depth[:] = packed
    layer = read_raster(path)
    stored_cm = np.where(packed == -999, np.nan, packed * 0.5 + 10.0)
    expected_m = stored_cm[::-1] / 100.0  # north-up, metres
    np.testing.assert_allclose(layer.values, expected_m, rtol=1e-6)
    assert np.isnan(layer.values[2, 3])
    assert layer.attrs["units"] == "m" and layer.attrs["crs"] == "EPSG:4326"
    # float32 coordinate noise is removed: a clean 0.1-degree grid with its top-left at 68, 25.3
    assert layer.attrs["transform"] == (0.1, 0.0, 68.0, 0.0, -0.1, 25.3)
    value, _ = sample(layer, [68.12, 68.36], [25.29, 25.01])
    np.testing.assert_allclose(value, [(80 * 0.5 + 10) / 100, np.nan], rtol=1e-6)


def test_kelvin_netcdf_in_degc(tmp_path):
    path = _grid_nc(tmp_path / "t.nc", np.full((3, 4), 300.15, np.float32), attrs={"units": "K"})
    layer = read_raster(path, kind="heatwave")
    np.testing.assert_allclose(layer.values, 27.0, atol=1e-4)
    assert layer.attrs["units"] == "degC" and layer.attrs["kind"] == "heatwave"


def test_float32_national_grid_snaps_to_its_resolution(tmp_path):
    """A 1/120-degree national grid with float32 coordinates and no GeoTransform."""
    cols, rows = 2052, 1632
    lon = (60.8 + RES * (np.arange(cols) + 0.5)).astype(np.float32)
    lat = (37.1 - RES * (np.arange(rows) + 0.5)).astype(np.float32)
    values = np.zeros((rows, cols), np.float32)
    layer = read_raster(_grid_nc(tmp_path / "n.nc", values, lon=lon, lat=lat))
    a, _, c, _, e, f = layer.attrs["transform"]
    assert a == pytest.approx(RES, rel=1e-9) and e == pytest.approx(-RES, rel=1e-9)
    assert c == pytest.approx(60.8, abs=1e-9) and f == pytest.approx(37.1, abs=1e-9)


gdal = pytest.mark.skipif(shutil.which("gdal_translate") is None,
                          reason="gdal_translate (Debian gdal-bin) is not installed")


def _gdal_translate(*args):
    subprocess.run(["gdal_translate", "-q", *map(str, args)], check=True, capture_output=True)


@gdal
@pytest.mark.parametrize("fmt, suffix", [("COG", ".tif"), ("netCDF", ".nc")])
def test_gdal_translate_output(tmp_path, raster5, fmt, suffix):
    src = write_geotiff(raster5, tmp_path / "src.tif")
    out = tmp_path / f"out{suffix}"
    _gdal_translate("-of", fmt, src, out)
    layer = read_raster(out)
    np.testing.assert_array_equal(layer.values, raster5.values)
    assert layer.attrs["crs"] == "EPSG:4326"
    assert layer.attrs["transform"] == pytest.approx(raster5.attrs["transform"], abs=1e-12)
    assert layer.attrs["units"] == "m"


@gdal
def test_gdal_translate_utm_netcdf_with_aoi(tmp_path):
    """GDAL writes NetCDF south-up with its own grid mapping; a UTM point still samples right."""
    layer = _utm_layer()
    out = tmp_path / "u.nc"
    _gdal_translate("-of", "netCDF", write_geotiff(layer, tmp_path / "u.tif"), out)
    back = read_raster(out, aoi=(68.0, 26.0, 68.5, 26.4))
    assert back.attrs["crs"] == UTM and back.shape == (46, 52)
    x, y = Transformer.from_crs(4326, 32642, always_xy=True).transform(68.25, 26.2)
    expected = layer.values[int((3000000 - y) // 1000), int((x - 300000) // 1000)]
    assert sample(back, [68.25], [26.2])[0][0] == expected


# ------------------------------------------------------------------------------------------
# variables and time


def _time_nc(path, steps=3):
    values = np.arange(steps * 12, dtype=np.float32).reshape(steps, 3, 4)
    ds = xr.Dataset(
        {"rain": (("time", "lat", "lon"), values, {"units": "mm"})},
        coords={"time": pd.date_range("2022-08-29", periods=steps),
                **_lonlat_coords(68.05 + 0.1 * np.arange(4), 25.25 - 0.1 * np.arange(3))},
    )
    ds.to_netcdf(path)
    return path, values


def test_time_dimension(tmp_path):
    path, values = _time_nc(tmp_path / "rain.nc")
    with pytest.raises(HazardError, match=r"rain\.nc: .*'time' dimension with 3 time steps: "
                       r"2022-08-29, 2022-08-30, 2022-08-31\. Pick one with time="):
        read_raster(path)
    np.testing.assert_array_equal(read_raster(path, time=1).values, values[1])
    np.testing.assert_array_equal(read_raster(path, time=-1).values, values[2])
    layer = read_raster(path, time="2022-08-30")
    np.testing.assert_array_equal(layer.values, values[1])
    assert json.loads(layer.attrs["provenance"])["time"] == "2022-08-30"
    np.testing.assert_array_equal(read_raster(path, time=np.datetime64("2022-08-31")).values,
                                  values[2])
    with pytest.raises(HazardError, match=r"time='2022-09-01' matches none of the 3 time steps"):
        read_raster(path, time="2022-09-01")
    with pytest.raises(HazardError, match=r"time=3 is out of range"):
        read_raster(path, time=3)
    with pytest.raises(HazardError, match=r"time='2022-08' matches 3"):
        read_raster(path, time="2022-08")


def test_single_time_step_needs_no_time(tmp_path):
    path, values = _time_nc(tmp_path / "one.nc", steps=1)
    np.testing.assert_array_equal(read_raster(path).values, values[0])


def test_time_given_without_time_dimension(tmp_path):
    with pytest.raises(HazardError, match=r"has no time dimension.*drop time="):
        read_raster(_grid_nc(tmp_path / "g.nc"), time=0)


def test_several_variables(tmp_path):
    extra = {"velocity": (("lat", "lon"), np.full((3, 4), 2.0, np.float32), {"units": "m/s"}),
             "lat_bnds": (("lat", "nv"), np.zeros((3, 2)))}
    path = _grid_nc(tmp_path / "two.nc", extra=extra)
    with pytest.raises(HazardError, match=r"two\.nc: several variables: \['depth', 'velocity'\]\. "
                       r"Pick one with variable="):
        read_raster(path)
    assert read_raster(path, variable="velocity").attrs["units"] == "m/s"
    assert read_raster(path, variable="depth").name == "depth"
    with pytest.raises(HazardError, match=r"no variable 'speed'; the gridded variables are "
                       r"\['depth', 'velocity'\]"):
        read_raster(path, variable="speed")


def test_extra_dimension_refused(tmp_path):
    ds = xr.Dataset({"depth": (("level", "lat", "lon"), np.ones((2, 3, 4)), {"units": "m"})},
                    coords=_lonlat_coords(68.05 + 0.1 * np.arange(4), 25.25 - 0.1 * np.arange(3)))
    ds.to_netcdf(tmp_path / "lev.nc")
    with pytest.raises(HazardError, match=r"dimension 'level' of length 2.*isel\(level=0\)"):
        read_raster(tmp_path / "lev.nc")


# ------------------------------------------------------------------------------------------
# errors: each names the file and the fix


def test_missing_crs(tmp_path):
    ds = xr.Dataset({"depth": (("y", "x"), np.ones((3, 4)), {"units": "m"})},
                    coords={"y": [3.5e6, 3.4e6, 3.3e6], "x": [1e5, 2e5, 3e5, 4e5]})
    ds.to_netcdf(tmp_path / "nocrs.nc")
    with pytest.raises(HazardError, match=r"nocrs\.nc: variable 'depth' has no CRS.*crs_wkt.*"
                       r"grid_mapping"):
        read_raster(tmp_path / "nocrs.nc")
    # lon/lat names alone are not enough: CF needs degree units to say "geographic"
    path = _grid_nc(tmp_path / "nounits.nc", lon_units="", lat_units="")
    with pytest.raises(HazardError, match=r"nounits\.nc: .*has no CRS.*degrees_east"):
        read_raster(path)
    # a grid mapping that names a missing variable
    path = _grid_nc(tmp_path / "gm.nc", attrs={"grid_mapping": "crs"})
    with pytest.raises(HazardError, match=r"gm\.nc: .*grid_mapping 'crs', which is not in the "
                       r"file"):
        read_raster(path)


def test_no_overlap(tmp_path, raster5):
    far = (70.0, 30.0, 71.0, 31.0)
    for suffix in WRITERS:
        path = WRITERS[suffix](raster5, tmp_path / f"r{suffix}")
        with pytest.raises(HazardError, match=rf"r\{suffix}: the raster .* does not overlap the "
                           r"area of interest \(70\.0, 30\.0, 71\.0, 31\.0\).*give the right aoi"):
            read_raster(path, aoi=far)
    utm = write_netcdf(_utm_layer(), tmp_path / "u.nc")
    with pytest.raises(HazardError, match=r"u\.nc: the raster .* in WGS 84 / UTM zone 42N\) does not "
                       r"overlap"):
        read_raster(utm, aoi=far)


def test_bad_aoi(tmp_path, raster5):
    path = write_netcdf(raster5, tmp_path / "r.nc")
    with pytest.raises(HazardError, match=r"r\.nc: aoi=.* must be \(lon_min, lat_min, lon_max, "
                       r"lat_max\)"):
        read_raster(path, aoi=(69.0, 25.0, 68.0, 26.0))
    with pytest.raises(HazardError, match=r"is not \(lon_min, lat_min, lon_max, lat_max\)"):
        read_raster(path, aoi=(68.0, 25.0))


def test_unknown_and_missing_units(tmp_path):
    path = _grid_nc(tmp_path / "furlong.nc", attrs={"units": "furlong"})
    with pytest.raises(HazardError, match=r"furlong\.nc: unknown units 'furlong'\. Give one of "
                       r"m, cm, mm, degC, K"):
        read_raster(path)
    assert read_raster(path, units="cm").attrs["units"] == "m"  # units= overrides the file
    ds = xr.Dataset({"depth": (("lat", "lon"), np.ones((3, 4)))},
                    coords=_lonlat_coords(68.05 + 0.1 * np.arange(4), 25.25 - 0.1 * np.arange(3)))
    ds.to_netcdf(tmp_path / "bare.nc")
    with pytest.raises(HazardError, match=r"bare\.nc: variable 'depth' does not state its units\. "
                       r"Pass units="):
        read_raster(tmp_path / "bare.nc")


def test_corrupt_files(tmp_path):
    (tmp_path / "junk.nc").write_bytes(b"\x89HDF\r\n\x1a\n" + b"garbage" * 20)
    with pytest.raises(HazardError, match=r"junk\.nc: not a readable NetCDF file.*truncated or "
                       r"corrupt"):
        read_raster(tmp_path / "junk.nc")
    (tmp_path / "text.nc").write_text("this is not netcdf")
    with pytest.raises(HazardError, match=r"text\.nc: not a readable NetCDF file"):
        read_raster(tmp_path / "text.nc")
    (tmp_path / "junk.tif").write_bytes(b"II*\x00garbage")
    with pytest.raises(HazardError, match=r"junk\.tif: not a readable raster.*truncated or corrupt"):
        read_raster(tmp_path / "junk.tif")
    (tmp_path / "empty.nc").write_bytes(b"CDF\x01" + b"\x00" * 28)
    with pytest.raises(HazardError, match=r"empty\.nc: .*(holds no variables|not a readable)"):
        read_raster(tmp_path / "empty.nc")


def _big_layer():
    return make_layer(np.random.default_rng(0).random((400, 400)),
                      Affine(0.01, 0, 68, 0, -0.01, 26), "EPSG:4326", units="m", kind="t",
                      provenance={})


@pytest.mark.parametrize("fmt", ["NETCDF4", "NETCDF3_CLASSIC"])
@pytest.mark.parametrize("keep", [0.9, 0.5, 0.05])
def test_truncated_netcdf(tmp_path, fmt, keep):
    full = write_netcdf(_big_layer(), tmp_path / "full.nc")
    if fmt == "NETCDF3_CLASSIC":  # the C library reads a short classic file as fill values
        with xr.open_dataset(full) as ds:
            ds.load().to_netcdf(tmp_path / "classic.nc", format=fmt)
        full = tmp_path / "classic.nc"
    cut = tmp_path / "cut.nc"
    data_bytes = full.read_bytes()
    cut.write_bytes(data_bytes[: int(len(data_bytes) * keep)])
    with pytest.raises(HazardError, match=r"cut\.nc: .*(truncated|not a readable NetCDF)"):
        read_raster(cut)


def test_truncated_geotiff_through_read_raster(tmp_path):
    path = write_geotiff(_big_layer(), tmp_path / "big.tif")
    data_bytes = path.read_bytes()
    path.write_bytes(data_bytes[: len(data_bytes) // 2])
    with pytest.raises(HazardError, match=r"big\.tif: .*(truncated|not a readable raster)"):
        read_raster(path)


@pytest.mark.parametrize("name", ["flood.jpg", "points.xyz", "README"])
def test_unsupported_format(tmp_path, name):
    (tmp_path / name).write_bytes(b"\xff\xd8\xff")
    with pytest.raises(HazardError, match=r"unsupported hazard raster type.*Supported: GeoTIFF/COG "
                       r"\(\.tif, \.tiff\), NetCDF \(\.nc, \.nc4\), Zarr"):
        read_raster(tmp_path / name)


def test_missing_file_and_non_zarr_directory(tmp_path):
    with pytest.raises(HazardError, match=r"none\.nc: no such hazard raster"):
        read_raster(tmp_path / "none.nc")
    (tmp_path / "folder").mkdir()
    with pytest.raises(HazardError, match=r"folder: a directory but not a Zarr store"):
        read_raster(tmp_path / "folder")


def test_irregular_spacing(tmp_path):
    path = _grid_nc(tmp_path / "gauss.nc", lat=[25.3, 25.2, 24.9])
    with pytest.raises(HazardError, match=r"gauss\.nc: coordinate 'lat' is not regularly spaced"
                       r".*regrid"):
        read_raster(path)


def test_variable_or_time_for_a_geotiff(tmp_path, raster5):
    path = write_geotiff(raster5, tmp_path / "r.tif")
    with pytest.raises(HazardError, match=r"r\.tif: variable= and time= apply to NetCDF and Zarr"):
        read_raster(path, time=0)


# ------------------------------------------------------------------------------------------
# admin-declared hazards


def _code(district_id):
    return data.district_codes().get_loc(district_id)


def test_admin_table_and_intensity(tmp_path):
    path = tmp_path / "notified.csv"
    path.write_text(
        "district_id,severity,share_affected,notified\n"
        "sd_dadu,displaced,0.36,21-Aug-2022\n"
        " SD_Badin ,2,0.6,12-Aug-2022\n"
        "pb_rajanpur,Severely affected,0,02-Aug-2022\n"
        "ba_quetta,none,0.0,\n"
    )
    table = read_admin_table(path)
    assert list(table.district_id) == ["ba_quetta", "pb_rajanpur", "sd_badin", "sd_dadu"]
    assert table.severity.dtype == np.int8 and table.share_affected.dtype == np.float32
    assert list(table.severity) == [0, 2, 2, 3] and "notified" in table.columns

    codes = np.array([_code("sd_dadu"), _code("ba_awaran"), -1, _code("sd_badin"),
                      _code("sd_dadu"), _code("ba_quetta")])
    got = admin_intensity(table, codes)
    np.testing.assert_array_equal(got.severity, np.array([3, 0, 0, 2, 3, 0], np.int8))
    np.testing.assert_array_equal(got.share_affected,
                                  np.array([0.36, np.nan, np.nan, 0.6, 0.36, 0.0], np.float32))
    np.testing.assert_array_equal(got.declared, [True, False, False, True, True, True])
    assert got.severity.dtype == np.int8 and got.share_affected.dtype == np.float32
    assert TIERS[got.severity[0]] == "displaced"

    # the registry's district_id column (a Categorical over all districts) and plain ids agree
    ids = data.district_codes()[np.maximum(codes, 0)]
    cat = pd.Categorical.from_codes(codes, categories=data.district_codes())
    for households in (cat, pd.Series(cat), np.where(codes >= 0, ids, "none").astype(object)):
        again = admin_intensity(table, households)
        np.testing.assert_array_equal(again.severity, got.severity)
        np.testing.assert_array_equal(again.share_affected, got.share_affected)


def test_admin_table_by_tehsil(tmp_path):
    """Tehsil rows (as notified calamity tehsils) apply to households carrying that tehsil; the
    rest of the district takes the district's row, or nothing."""
    path = tmp_path / "tehsils.csv"
    path.write_text(
        "district_id,tehsil_id,severity,share_affected\n"
        ",sd_dadu__mehar,displaced,0.8\n"
        "sd_dadu,sd_dadu__johi,affected,0.3\n"
        "sd_dadu,,affected,0.1\n"
        ",sd_badin__matli,severely_affected,0.5\n"
    )
    table = read_admin_table(path)
    assert list(table.district_id) == ["sd_badin", "sd_dadu", "sd_dadu", "sd_dadu"]
    assert list(table.tehsil_id) == ["sd_badin__matli", "", "sd_dadu__johi", "sd_dadu__mehar"]
    tehsil = data.tehsil_codes()
    d = np.array([_code("sd_dadu")] * 4 + [_code("sd_badin")] * 3)
    t = np.array([tehsil.get_loc("sd_dadu__mehar"), tehsil.get_loc("sd_dadu__johi"),
                  tehsil.get_loc("sd_dadu__dadu"), -1,
                  tehsil.get_loc("sd_badin__matli"), tehsil.get_loc("sd_badin__talhar"), -1])
    got = admin_intensity(table, d, t)
    np.testing.assert_array_equal(got.severity, [3, 1, 1, 1, 2, 0, 0])
    np.testing.assert_allclose(got.share_affected, [0.8, 0.3, 0.1, 0.1, 0.5, np.nan, np.nan])
    np.testing.assert_array_equal(got.declared, [True] * 5 + [False, False])
    # without tehsil codes only district rows apply
    np.testing.assert_array_equal(admin_intensity(table, d).declared, [True] * 4 + [False] * 3)


def test_tehsil_declaration_through_the_engine(tmp_path):
    """BISP's 2022 rule was set by notified tehsils: the engine pays only the listed tehsil's
    households of a district when the table names tehsils."""
    from simulator import engine, registry
    from simulator.scenario import Scenario

    hh = registry.validate(registry.generate(20_000, seed=3), source="t").households
    path = tmp_path / "notified.csv"
    path.write_text("tehsil_id,severity\nsd_dadu__mehar,affected\n")
    scn = Scenario.model_validate({
        "name": "t", "title": "t", "seed": 7,
        "hazards": [{"name": "notified", "kind": "riverine-flood", "admin_table": str(path)}],
        "policy": {"programmes": [{"name": "p", "owner": "federal", "expansion": "all_affected",
                                   "transfer": {"by_tier_pkr": {"affected": 1000}}}]},
    })
    layers = [read_admin_table(path)]
    assert engine.needs_tehsils(layers)
    with pytest.raises(Exception, match="tehsil codes"):
        engine.evaluate(scn, engine.household_columns(hh), layers)
    cols = engine.household_columns(hh, tehsils=True)
    res = engine.evaluate(scn, cols, layers)
    rows = res.row if res.row is not None else np.arange(len(hh))
    affected = res.tier > 0
    assert affected.any()
    assert set(hh["tehsil_id"].to_numpy()[rows[affected]]) == {"sd_dadu__mehar"}
    in_mehar = (hh["tehsil_id"] == "sd_dadu__mehar").to_numpy()
    assert res.weight[affected].sum() == hh["weight"].to_numpy()[in_mehar].sum()


def test_admin_table_with_one_column(tmp_path):
    path = tmp_path / "share.csv"
    path.write_text("district_id,share_affected\nsd_larkana,0.95\n")
    got = admin_intensity(read_admin_table(path), np.array([_code("sd_larkana"), 0]))
    assert got.severity is None
    np.testing.assert_allclose(got.share_affected, [0.95, np.nan])


def test_admin_intensity_scales(tmp_path):
    """A million households map through the lookup arrays (no per-household loop)."""
    path = tmp_path / "t.csv"
    path.write_text("district_id,severity\nsd_dadu,3\n")
    codes = np.random.default_rng(0).integers(-1, len(data.district_codes()), 1_000_000)
    got = admin_intensity(read_admin_table(path), codes)
    assert (got.declared == (codes == _code("sd_dadu"))).all()
    assert got.severity.sum() == 3 * (codes == _code("sd_dadu")).sum()


@pytest.mark.parametrize("body, match", [
    ("district_id,severity\nsd_dadoo,1\nxx_nowhere,2\n",
     r"bad\.csv: 2 district id\(s\) are not 2023 census districts: 'sd_dadoo' \(did you mean "
     r"'sd_dadu'\?\), 'xx_nowhere'\. Use the ids in data/districts\.csv"),
    ("district_id,severity\n" + "".join(f"zz_{i:02d},1\n" for i in range(12)),
     r"12 district id\(s\).*'zz_09' and 2 more\. Use the ids"),
    ("district_id,severity\nsd_dadu,1\nsd_badin,2\nSD_DADU,3\n",
     r"bad\.csv: districts or tehsils listed more than once: \['sd_dadu'\] \(lines 2, 4\)\. Keep one row"),
    ("district_id,severity\nsd_dadu,4\nsd_badin,catastrophic\n",
     r"bad\.csv: severity on line\(s\) 2, 3 is not one of \['none', 'affected', "
     r"'severely_affected', 'displaced'\] or 0-3"),
    ("district_id,share_affected\nsd_dadu,1.5\nsd_badin,-0.1\nsd_thatta,abc\n",
     r"share_affected on line\(s\) 2, 3, 4 is not a number in \[0, 1\]"),
    ("district_id,share_affected\nsd_dadu,36\nsd_badin,60.7\n",
     r"not a number in \[0, 1\].*\(percentages\? divide by 100\)"),
    ("district_id,share_affected\nsd_dadu,\n", r"share_affected on line\(s\) 2 "),
    ("district_id,pct_area_flooded\nsd_dadu,36\n",
     r"an admin table needs district_id \(or tehsil_id\) and severity .* and/or share_affected"),
    ("tehsil_id,severity\nsd_dadu__meharr,1\n",
     r"1 tehsil id\(s\) are not census tehsils: 'sd_dadu__meharr' \(did you mean 'sd_dadu__mehar'\?\)"),
    ("district_id,tehsil_id,severity\nsd_badin,sd_dadu__mehar,1\n",
     r"on line\(s\) 2 the tehsil is not in the row's district_id"),
    ("tehsil_id,severity\nsd_dadu__mehar,1\nSD_DADU__MEHAR,2\n",
     r"districts or tehsils listed more than once: \['sd_dadu \(sd_dadu__mehar\)'\]"),
    ("district_id,severity\n,1\n", r"district_id is empty on line\(s\) 2"),
])
def test_admin_table_errors(tmp_path, body, match):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(HazardError, match=match):
        read_admin_table(path)


def test_admin_missing_file_and_bad_codes(tmp_path):
    with pytest.raises(HazardError, match=r"none\.csv: no such admin-declared hazard table"):
        read_admin_table(tmp_path / "none.csv")
    path = tmp_path / "t.csv"
    path.write_text("district_id,severity\nsd_dadu,3\n")
    with pytest.raises(HazardError, match=r"district codes must be positions"):
        admin_intensity(read_admin_table(path), np.array([0, 10_000]))


@pytest.mark.shared
def test_calamity_districts_2022(tmp_path):
    """The 2022 calamity notifications (../shared/data/events), converted to an admin table:
    notified districts, severely affected where UNOSAT saw a quarter or more flooded."""
    source = SHARED / "events" / "calamity_districts_2022.csv"
    if not source.exists():
        pytest.skip("../shared/data is not beside this checkout")
    events = pd.read_csv(source)
    notified = events[events.status.isin(["notified", "partly_notified"])]
    share = notified.pct_area_flooded / 100.0
    admin = pd.DataFrame({
        "district_id": notified.district_id,
        "severity": np.where(share >= 0.25, "severely_affected", "affected"),
        "share_affected": share.round(5),
        "source": notified.notified_date_or_list,
    })
    admin.to_csv(tmp_path / "calamity_2022.csv", index=False)

    table = read_admin_table(tmp_path / "calamity_2022.csv")
    assert len(table) == 45
    assert set(table.district_id) <= set(data.district_codes())
    got = admin_intensity(table, np.arange(len(data.district_codes())))
    assert got.declared.sum() == 45
    by_id = dict(zip(data.district_codes(), got.share_affected, strict=True))
    assert by_id["sd_larkana"] == pytest.approx(0.95417, abs=1e-5)
    assert np.isnan(by_id["pb_lahore"])
    tiers = dict(zip(data.district_codes(), got.severity, strict=True))
    assert tiers["sd_jacobabad"] == 2 and tiers["ba_quetta"] == 1 and tiers["pb_lahore"] == 0
    # all 23 Sindh districts were notified
    assert table.district_id.str.startswith("sd_").sum() == 23
