"""Hostile inputs (issue 14, part 8): each once crashed a run or was read wrong without a word."""

from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from typer.testing import CliRunner

from hazards.errors import HazardError, ScenarioError
from hazards.georef import PLAUSIBLE_RANGE
from hazards.io import aoi_of_points, read_raster, write_geotiff, write_netcdf, write_zarr
from hazards.layer import make_layer
from hazards.sampling import INSIDE, NODATA, sample
from simulator import plans, registry, scenario
from simulator.cli import app

ROOT = Path(__file__).resolve().parents[1]
#: A 0.1-degree depth grid over all of Pakistan (60-78 E, 23-37 N), 3 m everywhere: displaced.
PAKISTAN = Affine(0.1, 0.0, 60.0, 0.0, -0.1, 37.0)


def _pakistan_layer():
    return make_layer(np.full((140, 180), 3.0, np.float32), PAKISTAN, "EPSG:4326", units="m",
                      kind="riverine-flood", provenance={"test": "hostile"})


def _scenario(folder: Path, hazard_file: str) -> Path:
    """The demo scenario with its modelled flood replaced by a raster file (one member)."""
    text = (ROOT / "scenarios" / "indus-flood-demo.yaml").read_text(encoding="utf-8")
    text = text.replace("ensemble: {members: 20}\n", "").replace(
        "    generator:\n      river: indus\n      return_period: 50\n"
        "      bbox: [66.5, 23.6, 72.0, 31.9]\n",
        f"    file: {hazard_file}\n",
    )
    assert f"file: {hazard_file}" in text
    path = folder / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _write_tif(path: Path, values: np.ndarray, transform: Affine, **profile) -> Path:
    values = np.asarray(values, np.float32)
    if values.ndim == 2:
        values = values[None]
    with rasterio.open(path, "w", driver="GTiff", height=values.shape[1], width=values.shape[2],
                       count=values.shape[0], dtype="float32", crs="EPSG:4326",
                       transform=transform, **profile) as dst:
        dst.write(values)
        for band in range(1, values.shape[0] + 1):
            dst.set_band_unit(band, "m")
    return path


# ------------------------------------------------------------------------------------------
# 1. a Zarr hazard (a directory) is hashed, not opened as a file


def test_zarr_hazard_runs_and_its_directory_is_hashed_deterministically(tmp_path):
    store = write_zarr(_pakistan_layer(), tmp_path / "flood.zarr")
    scn = scenario.load(_scenario(tmp_path, "flood.zarr"))
    result = plans.run(scn, base=tmp_path, households=2000)  # was IsADirectoryError
    digest = result.inputs["hazards"][0]["sha256"]
    assert digest == scenario.file_sha256(store) and len(digest) == 64
    assert (result.households.tier == "displaced").all()

    # the same tree elsewhere hashes the same; one changed byte, or a renamed file, does not
    copy = shutil.copytree(store, tmp_path / "elsewhere" / "copy.zarr")
    assert scenario.file_sha256(copy) == digest
    chunk = next(p for p in sorted(copy.rglob("*")) if p.is_file() and p.name[0].isdigit())
    chunk.write_bytes(chunk.read_bytes() + b"\0")
    assert scenario.file_sha256(copy) != digest
    # a file's digest is still the plain SHA-256 of its bytes
    tif = write_geotiff(_pakistan_layer(), tmp_path / "flood.tif")
    assert scenario.file_sha256(tif) == hashlib.sha256(tif.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------------------
# 2. a south-up GeoTIFF is read north-up, with exact edges


def test_south_up_geotiff_reads_like_the_north_up_one(tmp_path):
    res = 0.25
    north = (10 * np.arange(8)[:, None] + np.arange(6)[None, :]).astype(np.float32)  # 8 x 6
    up = _write_tif(tmp_path / "north.tif", north, Affine(res, 0, 68.0, 0, -res, 27.0))
    # the same grid stored south-up: origin at the bottom-left, positive y pixel size
    down = _write_tif(tmp_path / "south.tif", north[::-1], Affine(res, 0, 68.0, 0, res, 25.0))

    whole_up, whole_down = read_raster(up), read_raster(down)
    np.testing.assert_array_equal(whole_down.values, north)
    assert whole_down.attrs["transform"] == whole_up.attrs["transform"] == (res, 0, 68.0, 0, -res, 27.0)
    np.testing.assert_array_equal(whole_down.y, whole_up.y)

    aoi = (68.3, 25.6, 68.9, 26.4)  # was "does not overlap"
    part_up, part_down = read_raster(up, aoi=aoi), read_raster(down, aoi=aoi)
    np.testing.assert_array_equal(part_down.values, part_up.values)
    np.testing.assert_array_equal(part_down.values, north[2:6, 1:4])
    assert part_down.attrs["transform"] == part_up.attrs["transform"] == (res, 0, 68.25, 0, -res, 26.5)

    # exact edges: a point on a pixel's left or top edge belongs to that pixel
    lon = np.array([68.25, 68.5, 68.0, 69.25, 68.25])
    lat = np.array([26.0, 25.75, 27.0, 25.25, 25.0])
    np.testing.assert_array_equal(sample(whole_down, lon, lat)[0], sample(whole_up, lon, lat)[0])
    np.testing.assert_array_equal(sample(whole_down, lon, lat)[0], [41, 52, 0, 75, np.nan])
    np.testing.assert_array_equal(sample(part_down, lon[:2], lat[:2])[0], [41, 52])


# ------------------------------------------------------------------------------------------
# 3. +-inf and implausible intensities are nodata, with a warning; several bands are refused


@pytest.mark.parametrize("suffix", [".tif", ".nc"])
def test_infinite_and_implausible_intensities_are_nodata_with_a_warning(tmp_path, suffix, caplog):
    values = np.full((4, 5), 1.0, np.float32)
    values[0, 0] = np.inf
    values[0, 1] = -np.inf
    values[1, 1] = 1e38
    values[2, 2] = -3.4e38
    values[3, 3] = 250.0  # metres of water: implausible
    values[3, 4] = 99.0  # deep but possible
    layer = make_layer(values, Affine(0.25, 0, 68.0, 0, -0.25, 26.0), "EPSG:4326", units="m",
                       kind="riverine-flood", provenance={})
    writer = write_geotiff if suffix == ".tif" else write_netcdf
    path = writer(layer, tmp_path / f"hostile{suffix}")
    with caplog.at_level(logging.WARNING):
        back = read_raster(path)
    bad = np.zeros(values.shape, bool)
    bad[[0, 0, 1, 2, 3], [0, 1, 1, 2, 3]] = True
    assert np.isnan(back.values[bad]).all()
    assert np.isfinite(back.values[~bad]).all() and back.values[3, 4] == 99.0
    message = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert str(path) in message
    assert "2 cell(s) are +-inf and 3 cell(s) lie outside the plausible range [-100, 100] m" in message
    # a household under 1e38 is not displaced: it has no hazard data
    _, status = sample(back, [68.3, 68.1], [25.7, 25.1])
    assert list(status) == [NODATA, INSIDE]
    assert set(PLAUSIBLE_RANGE) == {"m", "degC", "mm", "g", "m/s", "index"}
    assert PLAUSIBLE_RANGE["degC"][1] == 70 and PLAUSIBLE_RANGE["m/s"][1] == 150
    assert PLAUSIBLE_RANGE["index"][1] == 12


def test_multi_band_geotiff_is_refused_naming_the_bands_and_the_fix(tmp_path):
    path = _write_tif(tmp_path / "two.tif", np.ones((2, 3, 3)), Affine(0.25, 0, 68.0, 0, -0.25, 26.0))
    with pytest.raises(HazardError, match=r"two\.tif: the raster has 2 bands .*gdal_translate -b 2"):
        read_raster(path)


# ------------------------------------------------------------------------------------------
# 4. one household, or households on one latitude: the area of interest is padded


def test_registry_of_one_household_or_one_latitude_runs(tmp_path):
    write_geotiff(_pakistan_layer(), tmp_path / "flood.tif")
    scn = scenario.load(_scenario(tmp_path, "flood.tif"))
    one = plans.run(scn, base=tmp_path, households=1)  # was "aoi ... must be lon_min<lon_max"
    assert len(one.households) == 1 and one.households.tier.iloc[0] == "displaced"

    frame = registry.generate(300, seed=1)
    frame["lat"] = 30.0
    frame.to_csv(tmp_path / "one_latitude.csv", index=False)
    flat = plans.run(scn, base=tmp_path, registry_path=tmp_path / "one_latitude.csv")
    assert len(flat.households) == 300 and (flat.households.tier == "displaced").all()

    assert aoi_of_points([70.0], [30.0]) == pytest.approx((69.99, 29.99, 70.01, 30.01))
    assert aoi_of_points([np.nan], [30.0]) is None
    assert aoi_of_points([70.0], [90.0])[3] == 90.0


# ------------------------------------------------------------------------------------------
# 5. a scenario file that is not UTF-8 is refused with its line and the fix


def test_non_utf8_scenario_names_the_line_and_the_fix(tmp_path):
    text = (ROOT / "scenarios" / "indus-flood-demo.yaml").read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    lines[3] = "title: Lower Indus flood (Sukkur \u2013 Thatta), caf\u00e9 demo\n"
    # an editor saving in Windows-1252 could not keep the Urdu fields: a file without them
    lines = [line for line in lines if not line.lstrip().startswith(("title_ur:", "modelled_on_ur:",
                                                                     "description_ur:", "name_ur:"))]
    path = tmp_path / "latin1.yaml"
    path.write_bytes("".join(lines).encode("cp1252"))
    with pytest.raises(ScenarioError, match=r"latin1\.yaml: line 4: byte 0x96 is not UTF-8.*iconv"):
        scenario.load(path)
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code != 0
    assert "line 4" in result.output and "Traceback" not in result.output
    assert not isinstance(result.exception, UnicodeDecodeError)


def test_latin1_registry_names_the_line_and_the_fix(tmp_path):
    """A Latin-1 registry CSV: the message names the line and the re-encoding fix."""
    from hazards.errors import RegistryError
    from simulator import registry

    frame = registry.generate(50, seed=1).drop(columns=["weight"])
    frame["household_id"] = frame["household_id"].astype(str)
    frame.loc[30, "household_id"] = "caf\u00e9-30"
    path = tmp_path / "latin1.csv"
    frame.to_csv(path, index=False, encoding="latin-1")
    with pytest.raises(RegistryError, match=r"latin1\.csv: line 32: byte 0xe9 is not UTF-8.*iconv"):
        registry.load(path)


# Newlines and control characters in an exchange package's dataset or purpose: refused at pack
# and on reading a manifest (tests/test_exchange_standard.py).
