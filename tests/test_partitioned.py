"""Partitioned registry datasets: a folder of GeoParquet parts by province, read as one registry.

The parts, in _dataset.json's order, are row for row the single file of the same households and
seed; the dataset is validated once as a whole (duplicates across parts, dataset row numbers).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from hazards.errors import RegistryError
from simulator import registry
from simulator.cli import app
from simulator.registry import partitioned

ROOT = Path(__file__).resolve().parents[1]
N, SEED = 3000, 7
runner = CliRunner()


def _dataset(out: Path, *, n: int = N, seed: int = SEED, chunk_size: int = 2_000_000, **kw) -> dict:
    chunks = registry.generate_chunks(n, seed=seed, chunk_size=chunk_size)
    return registry.write_partitioned(chunks, out, households=n, seed=seed, **kw)


@pytest.fixture(scope="module")
def single(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("single") / "registry.parquet"
    registry.write(registry.generate_chunks(N, seed=SEED), path)
    return path


@pytest.fixture
def dataset(tmp_path) -> Path:
    _dataset(tmp_path / "ds")
    return tmp_path / "ds"


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _plant(part: Path, row: int, household_id: str) -> None:
    """Rewrite one part with ``household_id`` at ``row`` (0-based within the part)."""
    frame = registry.read_raw(part)
    ids = frame.household_id.astype(object).to_numpy().copy()
    ids[row] = household_id
    frame["household_id"] = pd.array(ids, dtype="string")
    registry.write(frame, part)


def test_layout_and_manifest(dataset):
    meta = json.loads((dataset / "_dataset.json").read_text())
    assert meta["format"] == "madad-registry-dataset" and meta["version"] == 1
    assert (meta["households"], meta["seed"]) == (N, SEED)
    assert sum(p["rows"] for p in meta["parts"]) == N
    assert [p["path"] for p in meta["parts"]] == [
        f"province_code={prov}/part-00000.parquet" for prov in ("BA", "IS", "KP", "PB", "SD")
    ]
    assert registry.is_dataset(dataset)
    assert registry.parts(dataset) == [dataset / p["path"] for p in meta["parts"]]
    for entry, part in zip(meta["parts"], registry.parts(dataset), strict=True):
        assert partitioned._sha256(part) == entry["sha256"]
        assert pq.read_metadata(part).num_rows == entry["rows"]
        raw = registry.read_raw(part)
        assert set(raw.province_code) == {entry["province_code"]}


def test_parts_are_geoparquet_written_as_one_file(dataset, single):
    """Each part has the single file's schema (columns, types, geo metadata)."""
    want = pq.read_schema(single)
    for part in registry.parts(dataset):
        got = pq.read_schema(part)
        assert got.equals(want, check_metadata=True), part
        assert json.loads(got.metadata[b"geo"])["columns"]["geometry"]["encoding"] == "WKB"


def test_round_trip_equals_single_file(dataset, single):
    raw, one = registry.read_raw(dataset), registry.read_raw(single)
    pd.testing.assert_frame_equal(raw, one)
    assert registry.read_dataset(dataset).schema.equals(
        pq.read_table(single).drop(["geometry"]).schema, check_metadata=False
    )
    got, want = registry.load(dataset), registry.load(single)
    pd.testing.assert_frame_equal(got.households, want.households)
    pd.testing.assert_frame_equal(got.quarantine, want.quarantine)
    assert got.report.rows_valid == want.report.rows_valid == N


def test_same_seed_same_bytes(tmp_path):
    _dataset(tmp_path / "a")
    _dataset(tmp_path / "b")
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a == b and "_dataset.json" in a
    _dataset(tmp_path / "c", seed=SEED + 1)
    assert _files(tmp_path / "c") != a


def test_parts_roll_over_at_the_cap(tmp_path, single):
    out = tmp_path / "ds"
    meta = _dataset(out, rows_per_part=400, chunk_size=500)
    rows = [p["rows"] for p in meta["parts"]]
    assert max(rows) == 400 and sum(rows) == N
    sd = [p for p in meta["parts"] if p["province_code"] == "SD"]
    assert len(sd) >= 2 and all(p["rows"] == 400 for p in sd[:-1])
    assert [p["path"] for p in sd] == [f"province_code=SD/part-{i:05d}.parquet" for i in range(len(sd))]
    # the parts in order are still the single file, row for row (categories included)
    pd.testing.assert_frame_equal(registry.read_raw(out), registry.read_raw(single))
    # sorted path order is the manifest's order: the folder reads the same without it
    (out / "_dataset.json").unlink()
    assert registry.is_dataset(out)
    assert registry.parts(out) == [out / p["path"] for p in meta["parts"]]
    pd.testing.assert_frame_equal(registry.read_raw(out), registry.read_raw(single))


def test_rewrite_replaces_a_dataset_but_not_other_folders(tmp_path):
    out = tmp_path / "ds"
    _dataset(out, rows_per_part=400)
    _dataset(out, n=500)
    assert json.loads((out / "_dataset.json").read_text())["households"] == 500
    assert len(registry.read_raw(out)) == 500
    assert not list(tmp_path.glob(".ds.*"))  # no temporary folder left
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("keep")
    with pytest.raises(RegistryError, match="not a registry dataset"):
        _dataset(other, n=100)
    assert (other / "notes.txt").read_text() == "keep"
    with pytest.raises(RegistryError, match="expected"):
        registry.write_partitioned(registry.generate_chunks(100, seed=1), tmp_path / "x", households=99, seed=1)
    assert not (tmp_path / "x").exists()


def test_duplicate_id_across_parts_quarantined(dataset):
    parts = registry.parts(dataset)
    first = registry.read_raw(parts[0]).household_id.iloc[5]
    _plant(parts[2], 10, first)
    rows_before = sum(pq.read_metadata(p).num_rows for p in parts[:2])
    reg = registry.load(dataset)
    assert reg.report.reasons == {"duplicate_id": 1}
    assert reg.quarantine.row.tolist() == [rows_before + 10 + 1]
    assert reg.report.rows_valid == N - 1
    # each part alone is clean: only the whole dataset shows the duplicate
    assert registry.load(parts[2]).report.rows_quarantined == 0


def test_cnic_id_in_one_part_quarantined_at_its_dataset_row(dataset, single, tmp_path):
    parts = registry.parts(dataset)
    _plant(parts[3], 7, "35202-1234567-1")
    rows_before = sum(pq.read_metadata(p).num_rows for p in parts[:3])
    reg = registry.load(dataset)
    assert reg.report.reasons == {"id_looks_like_cnic": 1}
    assert reg.quarantine.row.tolist() == [rows_before + 7 + 1]
    assert "35202-1234567-1" not in reg.quarantine.to_csv()
    # the same id at the same row of the single file: the same quarantine and households
    copy = tmp_path / "one.parquet"
    copy.write_bytes(single.read_bytes())
    _plant(copy, rows_before + 7, "35202-1234567-1")
    want = registry.load(copy)
    pd.testing.assert_frame_equal(reg.quarantine, want.quarantine)
    pd.testing.assert_frame_equal(reg.households, want.households)


def test_folder_of_parquet_files_without_manifest(tmp_path, single):
    """Any folder of .parquet files, in sorted path order; Hive values fill a dropped column;
    names starting with '.' or '_' are skipped."""
    import pyarrow.dataset as pds

    out = tmp_path / "plain"
    table = pq.read_table(single)
    pds.write_dataset(table, out, format="parquet", partitioning=["province_code"],
                      partitioning_flavor="hive", existing_data_behavior="error")
    (out / "_SUCCESS").write_text("")
    (out / ".hidden.parquet").write_text("not parquet")
    assert registry.is_dataset(out)
    assert "province_code" not in pq.read_schema(registry.parts(out)[0]).names
    raw = registry.read_raw(out)
    assert len(raw) == N and set(raw.province_code) == {"BA", "IS", "KP", "PB", "SD"}
    assert registry.load(out).report.rows_valid == N


def test_bad_folders_refused(tmp_path, dataset):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert not registry.is_dataset(empty)
    with pytest.raises(RegistryError, match="no _dataset.json and no .parquet"):
        registry.read_raw(empty)
    part = registry.parts(dataset)[2]
    table = pq.read_table(part)
    pq.write_table(table.append_column("CNIC No", table.column("household_id")), part)
    with pytest.raises(RegistryError, match=r"province_code=KP/part-00000\.parquet: column 'cnic_no'"):
        registry.load(dataset)
    pq.write_table(table.drop(["pmt_score"]), part)
    with pytest.raises(RegistryError, match=r"province_code=KP/part-00000\.parquet: .*pmt_score"):
        registry.load(dataset)
    meta = json.loads((dataset / "_dataset.json").read_text())
    meta["version"] = 99
    (dataset / "_dataset.json").write_text(json.dumps(meta))
    with pytest.raises(RegistryError, match="newer than this Madad reads"):
        registry.read_raw(dataset)
    meta["version"] = 1
    (dataset / "_dataset.json").write_text(json.dumps(meta))
    registry.parts(dataset)[1].unlink()
    with pytest.raises(RegistryError, match="part listed in _dataset.json is missing"):
        registry.load(dataset)


def test_cli_generate_partitioned(tmp_path, single):
    out = tmp_path / "nser"
    result = runner.invoke(app, ["registry", "generate", "--partitioned", "--households", str(N),
                                 "--seed", str(SEED), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {N:,} households to {out}" in result.output
    assert (out / "_dataset.json").is_file()
    pd.testing.assert_frame_equal(registry.read_raw(out), registry.read_raw(single))
    result = runner.invoke(app, ["registry", "validate", str(out)])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def small_scenario(tmp_path_factory) -> Path:
    """The demo scenario without its ensemble (its registry section kept)."""
    text = (ROOT / "scenarios" / "indus-flood-demo.yaml").read_text(encoding="utf-8")
    text = "\n".join(line for line in text.splitlines() if not line.startswith("ensemble:"))
    assert "registry:" in text
    path = tmp_path_factory.mktemp("scenario") / "small.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    return path


def test_run_on_a_dataset_gives_the_single_file_plan(tmp_path, small_scenario, single):
    from simulator.scenario import file_sha256

    ds = tmp_path / "ds"
    _dataset(ds, rows_per_part=1000)
    plans = {}
    for name, reg in (("one", single), ("ds", ds)):
        out = tmp_path / f"run-{name}"
        result = runner.invoke(app, ["run", str(small_scenario), "--registry", str(reg), "--out", str(out)])
        assert result.exit_code == 0, result.output
        plans[name] = json.loads((out / "plan.json").read_text())
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["inputs"]["registry"]["sha256"] == file_sha256(reg)
    assert plans["ds"]["totals"] == plans["one"]["totals"]
    assert plans["ds"]["totals"]["affected_households"] > 0
