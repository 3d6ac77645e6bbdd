"""Registry: schema validation with quarantine, file round trips, the synthetic generator."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from hazards import tables as data
from hazards.errors import RegistryError
from simulator import registry


def _good_rows(n: int = 4) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "household_id": [f"hh{i:04d}" for i in range(n)],
            "lon": [68.37] * n,
            "lat": [25.39] * n,
            "district_id": ["sd_hyderabad"] * n,
            "hh_size": [5] * n,
            "pmt_score": [20.5] * n,
            "enrolled_kafaalat": [True] * n,
            "housing": ["kacha"] * n,
        }
    )


def test_valid_rows_pass_and_province_is_derived():
    reg = registry.validate(_good_rows(), source="t")
    assert reg.report.rows_valid == 4 and reg.report.rows_quarantined == 0
    assert (reg.households.province_code == "SD").all()
    assert "province_code absent: derived from district_id" in reg.report.notes
    assert "enrolled_prov_uct absent: assumed false for every household" in reg.report.notes


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("lon", 10.0, "coords_outside_pakistan"),
        ("district_id", "xx_nowhere", "unknown_district"),
        ("hh_size", 0, "impossible_size"),
        ("hh_size", 2.5, "impossible_size"),
        ("hh_size", 80, "impossible_size"),
        ("pmt_score", 101, "pmt_out_of_range"),
        ("pmt_score", -1, "pmt_out_of_range"),
        ("housing", "tent", "invalid_housing"),
        ("enrolled_kafaalat", "maybe", "invalid_enrolled_kafaalat"),
        ("household_id", "35202-1234567-1", "id_looks_like_cnic"),
        ("lon", None, "missing_lon"),
    ],
)
def test_bad_rows_quarantined_with_reason(column, value, reason):
    rows = _good_rows().astype({column: object})
    rows.loc[2, column] = value
    reg = registry.validate(rows, source="t")
    assert reg.report.rows_quarantined == 1
    assert reg.report.reasons == {reason: 1}
    assert reg.quarantine.row.tolist() == [3]
    assert reg.quarantine.reason.tolist() == [reason]
    assert len(reg.households) == 3


def test_swapped_coordinates_detected():
    rows = _good_rows()
    rows.loc[1, ["lon", "lat"]] = [25.39, 68.37]
    reg = registry.validate(rows, source="t")
    assert reg.report.reasons == {"coords_swapped": 1}


def test_duplicate_ids_keep_first():
    rows = _good_rows()
    rows.loc[3, "household_id"] = "hh0001"
    reg = registry.validate(rows, source="t")
    assert reg.report.reasons == {"duplicate_id": 1}
    assert reg.quarantine.row.tolist() == [4]
    assert reg.households.household_id.tolist() == ["hh0000", "hh0001", "hh0002"]


def test_province_mismatch_and_several_reasons():
    rows = _good_rows()
    rows["province_code"] = "SD"
    rows.loc[0, "province_code"] = "PB"
    rows.loc[1, ["hh_size", "pmt_score"]] = [0, 200]
    reg = registry.validate(rows, source="t")
    assert reg.report.reasons == {"province_mismatch": 1, "impossible_size": 1, "pmt_out_of_range": 1}
    assert reg.quarantine.reason.tolist() == ["province_mismatch", "impossible_size;pmt_out_of_range"]


def test_province_of_districts_is_each_present_district_s_province():
    """The districts a registry holds and their provinces, as its rows give them (first row of
    each district), without the rows that validation quarantined for a disagreeing province."""
    hh = registry.validate(registry.generate(5_000, seed=3), source="synthetic").households
    rows = hh.drop_duplicates("district_id").set_index("district_id")["province_code"].astype(str)
    got = registry.province_of_districts(hh)
    assert got.index.name == "district_id" and got.notna().all()
    assert got.sort_index().to_dict() == rows.sort_index().to_dict()
    assert 1 < len(got) < len(data.districts())  # only the districts present
    # a row whose given province disagrees is quarantined, so it names no province here
    mixed = _good_rows()
    mixed["province_code"] = "SD"
    mixed.loc[0, ["district_id", "province_code"]] = ["pb_lahore", "SD"]
    reg = registry.validate(mixed, source="t")
    assert registry.province_of_districts(reg.households).to_dict() == {"sd_hyderabad": "SD"}


def test_cnic_never_reaches_quarantine():
    rows = _good_rows()
    rows.loc[0, "household_id"] = "3520212345671"
    reg = registry.validate(rows, source="t")
    assert "3520212345671" not in reg.quarantine.to_csv()


def test_cnic_column_refused(tmp_path):
    rows = _good_rows()
    rows["CNIC"] = "35202-1234567-1"
    path = tmp_path / "r.csv"
    rows.to_csv(path, index=False)
    with pytest.raises(RegistryError, match=r"r\.csv: column 'cnic' looks like a raw CNIC"):
        registry.read_raw(path)


def test_missing_required_column(tmp_path):
    path = tmp_path / "r.csv"
    _good_rows().drop(columns=["pmt_score"]).to_csv(path, index=False)
    with pytest.raises(RegistryError, match=r"r\.csv: required columns \['pmt_score'\] are missing"):
        registry.load(path)


def test_unsupported_and_missing_files(tmp_path):
    with pytest.raises(RegistryError, match="no such registry file"):
        registry.load(tmp_path / "nope.csv")
    (tmp_path / "r.xlsx").write_bytes(b"x")
    with pytest.raises(RegistryError, match="unsupported registry format"):
        registry.load(tmp_path / "r.xlsx")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(RegistryError, match="cannot be read as a registry"):
        registry.load(tmp_path / "bad.parquet")


def test_csv_with_text_values(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(
        "household_id,lon,lat,district_id,hh_size,pmt_score,female_headed,housing\n"
        "a1,68.37,25.39,SD_HYDERABAD,4,12,yes,Kacha\n"
        "a2,sixty,25.39,sd_hyderabad,4,12,no,pakka\n"
    )
    reg = registry.load(path)
    assert reg.report.rows_valid == 1
    assert reg.households.female_headed.tolist() == [True]
    assert reg.households.housing.tolist() == ["kacha"]
    assert reg.quarantine.reason.tolist() == ["missing_lon"]


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_round_trip(tmp_path, suffix):
    frame = registry.generate(3_000, seed=5)
    path = tmp_path / f"reg{suffix}"
    assert registry.write(frame, path) == 3_000
    back = registry.load(path)
    assert back.report.rows_quarantined == 0
    pd.testing.assert_frame_equal(
        back.households.drop(columns=["tehsil_id"]).reset_index(drop=True),
        frame.drop(columns=["tehsil_id"]).reset_index(drop=True),
        check_dtype=False,
        check_categorical=False,
    )


def test_geoparquet_is_readable_by_geopandas(tmp_path):
    import geopandas

    path = tmp_path / "reg.parquet"
    frame = registry.generate(500, seed=1)
    registry.write(frame, path)
    geo = json.loads(pq.read_schema(path).metadata[b"geo"])
    assert geo["primary_column"] == "geometry"
    gdf = geopandas.read_parquet(path)
    assert gdf.crs.to_epsg() == 4326
    np.testing.assert_allclose(gdf.geometry.x.to_numpy(), frame.lon.to_numpy())
    np.testing.assert_allclose(gdf.geometry.y.to_numpy(), frame.lat.to_numpy())


def test_generator_is_seeded_and_chunk_independent():
    a = registry.generate(20_000, seed=11)
    b = pd.concat(list(registry.generate_chunks(20_000, seed=11, chunk_size=3_000)), ignore_index=True)
    pd.testing.assert_frame_equal(a, b)
    c = registry.generate(20_000, seed=12)
    assert not a.household_id.equals(c.household_id)
    assert a.household_id.is_unique


def test_generated_district_counts_match_census_shares():
    """Tolerance: every district's count is within 4 binomial standard deviations of its
    census share (a multinomial draw), and the largest absolute share error is below 0.1 pp."""
    n = 400_000
    frame = registry.generate(n, seed=3)
    table = data.districts()
    share = table.households_2023 / table.households_2023.sum()
    counts = frame.district_id.value_counts().reindex(table.district_id, fill_value=0).to_numpy()
    expected = n * share.to_numpy()
    sd = np.sqrt(n * share.to_numpy() * (1 - share.to_numpy()))
    assert (np.abs(counts - expected) <= 4 * sd + 1).all()
    assert np.abs(counts / n - share.to_numpy()).max() < 0.001


def test_generated_households_are_valid_and_plausible():
    frame = registry.generate(100_000, seed=4)
    reg = registry.validate(frame, source="synthetic")
    assert reg.report.rows_quarantined == 0
    poor = (frame.pmt_score <= registry.KAFAALAT_PMT_CUTOFF).mean()
    assert 0.27 <= poor <= 0.32  # target 29.5 %
    assert 0.245 <= frame.enrolled_kafaalat.mean() <= 0.29  # target 26.6 % (9.3 M of 35 M)
    assert not (frame.enrolled_kafaalat & (frame.pmt_score > registry.KAFAALAT_PMT_CUTOFF)).any()
    # Mean household size within 0.1 of the census's 6.31
    assert abs(frame.hh_size.mean() - 6.31) < 0.1
    # Sindh and Balochistan poorer than Punjab, as assumed
    by_prov = frame.groupby("province_code", observed=True).pmt_score.mean()
    assert by_prov["SD"] < by_prov["PB"] and by_prov["BA"] < by_prov["PB"]


def test_generated_points_fall_near_their_district():
    """Households are generated around points inside their district: the median distance to
    the district's representative point is well under the district's own size."""
    frame = registry.generate(50_000, seed=2)
    table = data.districts().set_index("district_id")
    pts = table.loc[frame.district_id.astype(str), ["lon", "lat", "area_sqkm"]].to_numpy()
    dx = (frame.lon.to_numpy() - pts[:, 0]) * 111.32 * np.cos(np.radians(pts[:, 1]))
    dy = (frame.lat.to_numpy() - pts[:, 1]) * 111.32
    ratio = np.hypot(dx, dy) / np.sqrt(pts[:, 2])
    assert np.median(ratio) < 0.8


def test_package_reexports_each_step():
    """The registry is split by step (schema, read, validation, synthetic, merging); the package
    keeps every public name at ``simulator.registry.<name>``."""
    from simulator.registry import merging, read, schema, synthetic, validation

    for name in registry.__all__:
        assert getattr(registry, name) is not None, name
    assert registry.validate is validation.validate
    assert registry.load is read.load and registry.write is read.write
    assert registry.generate is synthetic.generate and registry.merge is merging.merge
    assert registry.Registry is schema.Registry and registry.CNIC_COLUMN_NAMES is schema.CNIC_COLUMN_NAMES


def test_validation_counts_every_reason_once_per_row():
    """A row breaking several rules is quarantined once, with its codes in alphabetical order."""
    rows = _good_rows(3)
    rows.loc[0, ["lon", "hh_size", "pmt_score"]] = [0.0, 0, 150]
    rows.loc[2, "household_id"] = "hh0001"
    reg = registry.validate(rows, source="t")
    assert reg.report.rows_quarantined == 2 and reg.report.rows_valid == 1
    assert reg.quarantine.reason.tolist() == [
        "coords_outside_pakistan;impossible_size;pmt_out_of_range", "duplicate_id",
    ]
    assert reg.report.reasons == {
        "coords_outside_pakistan": 1, "impossible_size": 1, "pmt_out_of_range": 1, "duplicate_id": 1,
    }
