"""Boundaries: the four file formats, CRS handling, clear refusals, and the 2023 district files."""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Polygon, box

from hazards import tables as data
from hazards.errors import BoundaryError, MadadError
from simulator.registry.boundaries import check_codes, load_boundaries, simplify_for_map

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
BOUNDARIES = SHARED / "boundaries"
needs_shared = pytest.mark.skipif(
    not BOUNDARIES.exists(), reason="../shared/data/boundaries is not beside this checkout"
)

# Two unit squares in Sindh: codes with stray case and spaces, which loading normalises.
SQUARES = [box(67.0, 25.0, 68.0, 26.0), box(68.0, 25.0, 69.0, 26.0)]


@pytest.fixture
def squares() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"district_id": [" SD_Dadu", "sd_larkana "], "district": ["Dadu", "Larkana"]},
        geometry=SQUARES,
        crs="EPSG:4326",
    )


def _write(gdf: gpd.GeoDataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        gdf.to_parquet(path)
    else:
        with warnings.catch_warnings():
            # Shapefiles warn that district_id is cut to district_i; that is what is tested.
            warnings.simplefilter("ignore")
            gdf.to_file(path)
    return path


def _check_squares(gdf: gpd.GeoDataFrame, *, names=("Dadu", "Larkana")) -> None:
    assert list(gdf.columns) == ["district_id", "name", "geometry"]
    assert gdf.crs.to_epsg() == 4326
    assert list(gdf.district_id) == ["sd_dadu", "sd_larkana"]
    assert list(gdf.name) == list(names)
    np.testing.assert_allclose(gdf.total_bounds, [67.0, 25.0, 69.0, 26.0], atol=1e-9)
    assert gdf.geometry.is_valid.all()


# --- formats -------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".parquet"])
def test_reads_each_format(squares, tmp_path, suffix):
    path = _write(squares, tmp_path / f"districts{suffix}")
    _check_squares(load_boundaries(path, name_column="district"))


def test_reads_shapefile_with_truncated_code_column(squares, tmp_path):
    # A Shapefile cuts column names to 10 characters: district_id is stored as district_i.
    path = _write(squares, tmp_path / "districts.shp")
    gdf = load_boundaries(path, name_column="district")
    _check_squares(gdf)
    assert gdf.attrs["source"] == str(path)


def test_reads_zipped_shapefile(squares, tmp_path):
    shp = _write(squares, tmp_path / "districts.shp")
    archive = tmp_path / "districts.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in tmp_path.glob("districts.*"):
            if part.suffix != ".zip":
                zf.write(part, part.name)
    shp.unlink()
    _check_squares(load_boundaries(archive, name_column="district"))


def test_name_defaults_to_code(squares, tmp_path):
    gdf = load_boundaries(_write(squares, tmp_path / "d.geojson"))
    _check_squares(gdf, names=("sd_dadu", "sd_larkana"))


def test_level_names_the_id_column(tmp_path):
    provinces = gpd.GeoDataFrame({"province_code": ["SD", "BA"]}, geometry=SQUARES, crs=4326)
    path = _write(provinces, tmp_path / "provinces.geojson")
    gdf = load_boundaries(path, code_column="province_code", level="province")
    assert list(gdf.columns) == ["province_id", "name", "geometry"]
    assert list(gdf.province_id) == ["ba", "sd"]
    assert check_codes(gdf, ["SD", "BA"], source="registry")["matched"] == 2


# --- CRS -----------------------------------------------------------------------------------------


def test_utm_is_reprojected_to_wgs84(squares, tmp_path):
    path = _write(squares.to_crs(32642), tmp_path / "utm42n.gpkg")
    assert gpd.read_file(path).crs.to_epsg() == 32642
    gdf = load_boundaries(path, name_column="district")
    _check_squares(gdf)  # bounds back at 67..69 E, 25..26 N (within 1e-9 degree)
    assert shapely.area(gdf.geometry.to_numpy()).sum() == pytest.approx(2.0, abs=1e-6)


@pytest.mark.parametrize("suffix", [".parquet", ".gpkg"])
def test_file_without_crs_is_refused(squares, tmp_path, suffix):
    path = tmp_path / f"nocrs{suffix}"
    bare = squares.set_crs(None, allow_override=True)
    if suffix == ".parquet":
        bare.to_parquet(path)
    else:
        with pytest.warns(UserWarning, match="crs"):
            bare.to_file(path)
    with pytest.raises(BoundaryError, match=r"no coordinate reference system.*set_crs\('EPSG:4326'\)"):
        load_boundaries(path)


def test_wrong_declared_crs_is_caught(squares, tmp_path):
    # UTM metres labelled as degrees: bounds far outside +-180/+-90.
    mislabelled = squares.to_crs(32642).set_crs(4326, allow_override=True)
    path = _write(mislabelled, tmp_path / "mislabelled.gpkg")
    with pytest.raises(BoundaryError, match="not longitudes/latitudes"):
        load_boundaries(path)


# --- refusals ------------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(BoundaryError, match=r"nope\.geojson: no such boundary file"):
        load_boundaries(tmp_path / "nope.geojson")


def test_unsupported_extension(tmp_path):
    path = tmp_path / "districts.kml"
    path.write_text("<kml/>")
    with pytest.raises(BoundaryError, match=r"districts\.kml: unsupported .*'\.kml'.*\.geojson.*\.gpkg.*\.shp.*\.zip.*\.parquet"):
        load_boundaries(path)


def test_missing_code_column_lists_columns(squares, tmp_path):
    path = _write(squares.rename(columns={"district_id": "dist_code"}), tmp_path / "d.geojson")
    with pytest.raises(BoundaryError, match=r"no column 'district_id'.*'dist_code'.*code_column="):
        load_boundaries(path)


def test_missing_code_column_suggests_close_name(squares, tmp_path):
    path = _write(squares.rename(columns={"district_id": "districtid"}), tmp_path / "d.geojson")
    with pytest.raises(BoundaryError, match=r"Did you mean code_column='districtid'"):
        load_boundaries(path)


def test_missing_name_column(squares, tmp_path):
    path = _write(squares, tmp_path / "d.geojson")
    with pytest.raises(BoundaryError, match=r"no column 'NAME_2'.*name_column="):
        load_boundaries(path, name_column="NAME_2")


def test_duplicate_codes(squares, tmp_path):
    squares["district_id"] = ["sd_dadu", " SD_DADU"]  # equal once normalised
    path = _write(squares, tmp_path / "d.geojson")
    with pytest.raises(BoundaryError, match=r"1 codes .* more than once \(sd_dadu\).*dissolve"):
        load_boundaries(path)


def test_blank_codes(squares, tmp_path):
    squares["district_id"] = ["sd_dadu", None]
    path = _write(squares, tmp_path / "d.geojson")
    with pytest.raises(BoundaryError, match=r"1 features have no code"):
        load_boundaries(path)


def test_errors_are_value_errors_too(tmp_path):
    with pytest.raises(ValueError):
        load_boundaries(tmp_path / "nope.gpkg")
    assert issubclass(BoundaryError, MadadError)


def test_unknown_level(squares, tmp_path):
    with pytest.raises(BoundaryError, match="level='county'"):
        load_boundaries(_write(squares, tmp_path / "d.geojson"), level="county")


# --- geometry ------------------------------------------------------------------------------------


def test_invalid_geometry_is_repaired(squares, tmp_path):
    bowtie = Polygon([(67, 25), (68, 26), (68, 25), (67, 26), (67, 25)])
    assert not bowtie.is_valid
    squares.loc[0, "geometry"] = bowtie
    gdf = load_boundaries(_write(squares, tmp_path / "d.gpkg"))
    assert gdf.geometry.is_valid.all()
    assert gdf.geometry.iloc[0].geom_type == "MultiPolygon"
    assert gdf.geometry.iloc[0].area == pytest.approx(0.5)


def test_empty_geometry_is_refused(squares, tmp_path):
    squares.loc[1, "geometry"] = Polygon()
    path = _write(squares, tmp_path / "d.gpkg")
    with pytest.raises(BoundaryError, match=r"empty or missing geometry \(codes sd_larkana\)"):
        load_boundaries(path)


def test_lines_are_refused(tmp_path):
    lines = gpd.GeoDataFrame(
        {"district_id": ["a", "b"]},
        geometry=[LineString([(67, 25), (68, 26)]), LineString([(68, 25), (69, 26)])],
        crs=4326,
    )
    with pytest.raises(BoundaryError, match="must be polygons"):
        load_boundaries(_write(lines, tmp_path / "lines.geojson"))


# --- GeoPackage layers ---------------------------------------------------------------------------


def _multi_layer(squares, tmp_path, names) -> Path:
    path = tmp_path / "admin.gpkg"
    for name in names:
        squares.to_file(path, layer=name)
    return path


def test_gpkg_picks_the_districts_layer(squares, tmp_path):
    path = _multi_layer(squares.assign(district_id=["x", "y"]), tmp_path, ["provinces"])
    squares.to_file(path, layer="districts")
    _check_squares(load_boundaries(path, name_column="district"))


def test_gpkg_ambiguous_layers_are_listed(squares, tmp_path):
    path = _multi_layer(squares, tmp_path, ["provinces", "divisions"])
    with pytest.raises(BoundaryError, match=r"layers \['provinces', 'divisions'\].*layer="):
        load_boundaries(path)
    # naming the layer works
    assert len(load_boundaries(path, layer="divisions")) == 2


def test_gpkg_unknown_layer(squares, tmp_path):
    path = _multi_layer(squares, tmp_path, ["districts"])
    with pytest.raises(BoundaryError, match=r"no layer 'tehsils'.*\['districts'\]"):
        load_boundaries(path, layer="tehsils")


def test_plain_parquet_is_refused(tmp_path):
    path = tmp_path / "plain.parquet"
    pd.DataFrame({"district_id": ["a"]}).to_parquet(path)
    with pytest.raises(BoundaryError, match="not a GeoParquet file"):
        load_boundaries(path)


# --- check_codes and simplify_for_map ------------------------------------------------------------


def test_check_codes_report(squares, tmp_path):
    gdf = load_boundaries(_write(squares, tmp_path / "d.geojson"))
    report = check_codes(gdf, pd.Series(["sd_dadu", "sd_dadu", None]), source="registry.csv")
    assert report == {
        "matched": 1,
        "boundaries_without_households": ["sd_larkana"],
        "registry_codes_without_boundary": [],
    }


def test_check_codes_missing(squares, tmp_path):
    gdf = load_boundaries(_write(squares, tmp_path / "d.geojson"))
    codes = ["sd_dadu"] + [f"xx_{i:02d}" for i in range(12)]
    with pytest.raises(BoundaryError) as info:
        check_codes(gdf, codes, source="registry.csv")
    message = str(info.value)
    assert message.startswith("registry.csv: 12 of 13 district codes have no boundary")
    assert "xx_09 and 2 more" in message and "xx_10" not in message
    assert "check code_column or use the 2023 census codes in data/districts.csv" in message
    report = check_codes(gdf, codes, source="registry.csv", strict=False)
    assert report["matched"] == 1 and len(report["registry_codes_without_boundary"]) == 12


def test_simplify_for_map(tmp_path):
    circle = shapely.Point(68.0, 26.0).buffer(0.5, quad_segs=64)
    gdf = gpd.GeoDataFrame({"district_id": ["a"], "name": ["a"]}, geometry=[circle], crs=4326)
    light = simplify_for_map(gdf, tolerance_deg=0.01)
    assert list(light.columns) == list(gdf.columns)
    assert shapely.get_num_coordinates(light.geometry.iloc[0]) < shapely.get_num_coordinates(circle)
    assert light.geometry.is_valid.all()
    assert light.geometry.iloc[0].area == pytest.approx(circle.area, rel=0.05)  # sagitta <= 0.01
    assert gdf.geometry.iloc[0] is circle  # the input is not modified
    with pytest.raises(BoundaryError, match="degrees"):
        simplify_for_map(gdf.to_crs(32642))


# --- the 2023 boundaries in ../shared/data -------------------------------------------------------


@pytest.mark.shared
@needs_shared
@pytest.mark.parametrize(
    ("name", "layer"),
    [("pak_adm2_districts_2023.geojson", None), ("pak_admin_2023.gpkg", "districts"),
     ("pak_admin_2023.gpkg", None)],
)
def test_shared_2023_districts_match_census_table(name, layer):
    gdf = load_boundaries(BOUNDARIES / name, layer=layer, name_column="district")
    assert len(gdf) == 156
    assert gdf.crs.to_epsg() == 4326
    report = check_codes(gdf, data.district_codes(), source="data/districts.csv")
    assert report["matched"] == len(data.districts()) == 136
    assert report["registry_codes_without_boundary"] == []
    assert len(report["boundaries_without_households"]) == 20  # AJK and Gilgit-Baltistan
    assert gdf.set_index("district_id").loc["pb_lahore", "name"] == "Lahore"


@pytest.mark.shared
@needs_shared
def test_shared_names_as_codes_do_not_match():
    gdf = load_boundaries(BOUNDARIES / "pak_adm2_districts_2023.geojson", code_column="district")
    with pytest.raises(BoundaryError, match=r"136 of 136 district codes have no boundary.*check code_column"):
        check_codes(gdf, data.district_codes(), source="data/districts.csv")


@pytest.mark.shared
@needs_shared
def test_shared_provinces_by_level():
    gdf = load_boundaries(
        BOUNDARIES / "pak_adm1_provinces.geojson", code_column="province_code", level="province"
    )
    assert len(gdf) == 7
    report = check_codes(gdf, data.PROVINCES, source="data.PROVINCES")
    assert report["matched"] == 5 and report["boundaries_without_households"] == ["ajk", "gb"]


@pytest.mark.shared
@needs_shared
def test_shared_simplified_districts_stay_valid():
    gdf = load_boundaries(BOUNDARIES / "pak_adm2_districts_2023.geojson")
    light = simplify_for_map(gdf)
    assert light.geometry.is_valid.all() and not light.geometry.is_empty.any()
    assert shapely.get_num_coordinates(light.geometry.to_numpy()).sum() < shapely.get_num_coordinates(
        gdf.geometry.to_numpy()
    ).sum()
