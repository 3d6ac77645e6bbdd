"""Runs on Dask: a real cluster of separate processes gives the in-memory plan.

The fixture starts ``dask scheduler`` and two ``dask worker`` processes on localhost (the
distributed package's own commands) and stops them after. A partitioned registry with weighted
rows, a bad row, CNIC-shaped cells and ids repeated across parts is run in memory and through
``tcp://127.0.0.1:PORT``; plan.json, the quarantine and the household table must be identical,
for scenarios that exercise ensembles, split weighted rows (impact functions), declared
tehsils and a national budget ranked across parts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

import dask
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hazards import tables as data
from simulator import registry
from simulator import scenario as scenario_mod
from simulator.plans import distributed, ensemble, orchestrator
from simulator.registry import validation

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SCENARIOS = ROOT / "scenarios"
N, SEED, PART_ROWS = 24_000, 5, 3_000
#: Dask's bound on a task graph's size before it warns, lowered to what this small registry's
#: per-part data would pass (tasks here are about 5 kB; with the data inside, 19-180 kB; the
#: default, 10 MB, a national run passed)
GRAPH_WARNING, GRAPH_BOUND = "distributed.admin.large-graph-warning-threshold", "12kB"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two workers, each its own process, on 127.0.0.1; yields the address."""
    folder = tmp_path_factory.mktemp("dask")
    file = folder / "scheduler.json"
    env = dict(os.environ, DASK_LOGGING__DISTRIBUTED="warning")
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(file)],
                              cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert file.exists(), "dask scheduler did not start"
        for i in range(2):
            procs.append(subprocess.Popen(
                [str(BIN / "dask"), "worker", "--scheduler-file", str(file), "--nworkers", "1", "--nthreads", "1",
                 "--memory-limit", "2GB", "--name", f"w{i}", "--no-dashboard", "--local-directory", str(folder)],
                cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        address = json.loads(file.read_text())["address"]
        with distributed.connect(address) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """A partitioned registry of weighted rows with a bad row, CNIC-shaped cells in an extra
    column and ids repeated within a part and across parts."""
    out = tmp_path_factory.mktemp("registry") / "nser"
    frame = registry.generate(N, seed=SEED)
    ids = frame["household_id"].astype(object).to_numpy().copy()
    ids[100] = ids[20_000]  # across parts (the later one is quarantined)
    ids[23_500] = ids[7]
    ids[9_001] = ids[9_000]  # within a part
    frame["household_id"] = pd.array(ids, dtype="string")
    frame.loc[5, "pmt_score"] = 250.0
    registry.write_partitioned(frame, out, households=N, seed=SEED, rows_per_part=PART_ROWS)
    parts = registry.parts(out)
    assert len(parts) >= 8
    for k, part in enumerate(parts):  # a column outside the schema, with a CNIC in two parts
        table = pq.read_table(part)
        notes = np.full(table.num_rows, "", dtype=object)
        if k in (0, len(parts) - 1):
            notes[3] = "35202-1234567-1"
        pq.write_table(table.append_column("notes", pa.array(notes, pa.string())), part)
    return out


def _scenarios() -> dict[str, scenario_mod.Scenario]:
    demo = scenario_mod.load(SCENARIOS / "indus-flood-demo.yaml")
    budget = demo.budget.model_copy(update={"federal_pkr": 2_000_000_000})
    return {
        # a federal ceiling that leaves most entitled households out: ranked across every part
        "budget": demo.model_copy(update={"budget": budget, "ensemble": None}),
        # two modelled hazards with impact functions (split weighted rows) and a 20-member ensemble
        "2022": scenario_mod.load(SCENARIOS / "monsoon-flood-2022-style.yaml"),
        # declared districts and tehsils
        "observed": scenario_mod.load(SCENARIOS / "monsoon-flood-2022-observed.yaml"),
    }


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(**{c: frame[c].astype(str) for c in frame.columns
                           if isinstance(frame[c].dtype, pd.CategoricalDtype)})


@pytest.fixture(scope="module")
def raster_scenario(tmp_path_factory) -> scenario_mod.Scenario:
    """The demo with its hazard read from a GeoTIFF file: each worker reads only its window."""
    from hazards.io import write_geotiff

    demo = scenario_mod.load(SCENARIOS / "indus-flood-demo.yaml")
    layers, _ = orchestrator.build_hazards(demo, base=SCENARIOS)
    path = write_geotiff(layers[0], tmp_path_factory.mktemp("hazard") / "flood.tif")
    spec = demo.hazards[0].model_copy(update={"file": str(path), "generator": None})
    return demo.model_copy(update={"hazards": [spec], "ensemble": None})


@pytest.mark.parametrize("name", ["budget", "2022", "observed", "file"])
def test_cluster_plan_is_the_in_memory_plan(cluster, dataset, raster_scenario, name):
    scn = raster_scenario if name == "file" else _scenarios()[name]
    memory = orchestrator.run(scn, base=SCENARIOS, registry_path=dataset)
    # data goes to the workers as data, not inside tasks: the household table's results of each
    # part were once sent in its task's graph (Dask warned of a large graph on a national run)
    with distributed.connect(cluster) as client, dask.config.set({GRAPH_WARNING: GRAPH_BOUND}), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = distributed.run(scn, client, base=SCENARIOS, registry_path=dataset)
        tables = list(res.households)
    large = [str(w.message).splitlines()[0] for w in caught if "large graph" in str(w.message)]
    assert not large, sorted(set(large))
    assert json.dumps(res.plan, sort_keys=True) == json.dumps(memory.plan, sort_keys=True)
    pd.testing.assert_frame_equal(res.quarantine, memory.quarantine)
    assert set(res.quarantine.reason) >= {"duplicate_id", "pmt_out_of_range", "extra_column_looks_like_cnic"}
    table = pd.concat(tables, ignore_index=True)
    assert len(table) == len(res.households) == len(memory.households)
    pd.testing.assert_frame_equal(_plain(table), _plain(memory.households))
    if name == "budget":
        assert memory.plan["budget"]["over_budget_households"] > 0
    if name == "file":  # the workers read windows of the file: the same overlay
        assert memory.plan["totals"]["affected_households"] > 0
        assert "flood.tif" in res.inputs["hazards"][0]["file"]
    if name == "2022":
        assert memory.rows is not None  # weighted rows were split
        assert res.plan["ensemble"]["members"] == scn.ensemble.members > 1


@pytest.mark.parametrize(("name", "kinds"), [("demo", ["mask"]), ("2022", ["bounds", "bounds"])])
def test_members_on_the_cluster_run_only_reached_rows_with_the_same_figures(cluster, dataset, name, kinds):
    """An ensemble's members overlay only the rows some member reaches (each part's, found once
    on its worker) and count the others once: every member figure, households included, is the
    one the overlay of every row gives. The demo's tier thresholds are read from one mask of
    pixels; the 2022-style scenario's two impact functions from the highest and lowest values."""
    scn = scenario_mod.load(SCENARIOS / "indus-flood-demo.yaml") if name == "demo" else _scenarios()[name]
    layers, _ = orchestrator.build_hazards(scn, base=SCENARIOS)
    seeds = [scn.seed + 1, scn.seed + 2, scn.seed + 3]
    with distributed.connect(cluster) as client:
        door = distributed._open(client, distributed.part_specs(dataset), str(dataset), lambda _: None)
        _, summary, _ = distributed._evaluate(client, door, scn, layers, distributed.worker_sources(scn, layers, SCENARIOS))
        figures = {}
        for how in ("reached", "every row"):
            member = distributed.member_evaluator(client, door, scn, layers, SCENARIOS)
            evaluator = member if how == "reached" else (lambda m, sources, reach, member=member: member(m, sources, None))
            figures[how] = ensemble.member_figures(scn, summary.cols, layers, seeds, n_districts=len(data.districts()),
                                                   evaluator=evaluator)
        reach = ensemble.reach_of(scn, layers, [ensemble.member_layers(scn, layers, seed) for seed in seeds])
        [shipped, own] = client.scatter([reach, distributed.worker_sources(scn, layers, SCENARIOS)], broadcast=True)
        parts = client.gather([client.submit(distributed.reach_part, p, scn, own, shipped) for p in door.parts])
    assert reach is not None and [how for how, _ in reach] == kinds
    reached = sum(len(p.rows) for p in parts)
    assert 0 < reached < door.valid / 2, "the members reach every row: the check is empty"
    for key, values in figures["every row"].items():
        assert np.array_equal(figures["reached"][key], values), key
    assert figures["reached"]["households"].sum(axis=1).tolist() == [door.weight] * len(seeds)
    assert figures["reached"]["affected_households"].sum() > 0


def test_single_file_split_by_row_groups(cluster, dataset, tmp_path):
    """A single Parquet file runs as parts of whole row groups: the same plan."""
    path = tmp_path / "nser.parquet"
    registry.write(registry.read_raw(dataset).drop(columns=["notes"]), path)
    pq.write_table(pq.read_table(path), path, row_group_size=4_000)  # geo metadata kept
    scn = _scenarios()["budget"]
    specs = distributed.part_specs(path, rows_per_part=5_000)
    assert len(specs) == 5 and all(s.row_groups is not None for s in specs)
    memory = orchestrator.run(scn, base=SCENARIOS, registry_path=path)
    with distributed.connect(cluster) as client:
        res = distributed.run(scn, client, base=SCENARIOS, registry_path=path, rows_per_part=5_000)
        list(res.households)
    assert json.dumps(res.plan, sort_keys=True) == json.dumps(memory.plan, sort_keys=True)


def test_cli_scheduler_address(cluster, dataset, tmp_path):
    """madad run --scheduler tcp://...: the dashboard's address is shown and serves, and the run
    folder's plan.json is byte for byte the in-memory run's."""
    scenario = SCENARIOS / "indus-flood-demo.yaml"
    madad = str(BIN / "madad")
    done = subprocess.run([madad, "run", str(scenario), "--registry", str(dataset), "--scheduler", cluster,
                           "--out", str(tmp_path / "dask")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr + done.stdout
    line = next(x for x in done.stdout.splitlines() if x.startswith("Dask scheduler"))
    assert cluster in line and "2 workers" in line
    dashboard = line.split("dashboard ")[1].strip()
    assert dashboard.startswith("http://")
    with urllib.request.urlopen(dashboard, timeout=30) as page:
        assert page.status == 200
    memory = subprocess.run([madad, "run", str(scenario), "--registry", str(dataset), "--out", str(tmp_path / "mem")],
                            capture_output=True, text=True, timeout=600)
    assert memory.returncode == 0, memory.stderr
    assert (tmp_path / "dask" / "plan.json").read_bytes() == (tmp_path / "mem" / "plan.json").read_bytes()
    assert (tmp_path / "dask" / "quarantine.csv").read_bytes() == (tmp_path / "mem" / "quarantine.csv").read_bytes()
    a = pq.read_table(tmp_path / "dask" / "households.parquet").to_pandas()
    b = pq.read_table(tmp_path / "mem" / "households.parquet").to_pandas()
    pd.testing.assert_frame_equal(_plain(a), _plain(b))
    shutil.rmtree(tmp_path / "dask")


def test_local_cluster_from_the_cli(dataset, tmp_path):
    """--scheduler local starts worker processes on this machine and stops them after."""
    done = subprocess.run([str(BIN / "madad"), "run", str(SCENARIOS / "tharparkar-drought.yaml"), "--registry",
                           str(dataset), "--scheduler", "local", "--out", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "Dask scheduler tcp://127.0.0.1:" in done.stdout
    plan = json.loads((tmp_path / "run" / "plan.json").read_text())
    assert plan["registry"]["rows_read"] == N


# --------------------------------------------------------------------------------------------
# Without a cluster
# --------------------------------------------------------------------------------------------


def test_reports_merged_from_parts_equal_the_whole(dataset):
    """Validating part by part and merging gives the whole registry's report, except the ids
    repeated across parts (the distributed run adds those itself)."""
    whole = registry.load(dataset).report
    parts = [registry.validate(s.frame(), source=s.label).report for s in distributed.part_specs(dataset)]
    merged = validation.merge_reports(parts, str(dataset))
    across = whole.reasons["duplicate_id"] - merged.reasons["duplicate_id"]
    assert across == 2
    assert merged.rows_read == whole.rows_read
    assert merged.rows_valid - across == whole.rows_valid
    assert {k: v for k, v in merged.reasons.items() if k != "duplicate_id"} == \
        {k: v for k, v in whole.reasons.items() if k != "duplicate_id"}
    assert merged.notes == whole.notes
    assert any("2 value(s) shaped like a CNIC" in note for note in merged.notes)


def test_groups_decode_their_keys():
    rng = np.random.default_rng(0)
    n = 5000
    cols = {"district": rng.integers(0, 160, n).astype(np.int16), "province": rng.integers(0, 5, n).astype(np.int8),
            "tehsil": rng.integers(-1, 600, n).astype(np.int16)}
    labels = rng.integers(-1, 40, n).astype(np.int32)
    group, groups = distributed._grouped(cols, labels)
    for name, values in (("district", cols["district"]), ("province", cols["province"]),
                         ("tehsil", cols["tehsil"]), ("tehsil_label", labels)):
        np.testing.assert_array_equal(groups[name][group], values)


def test_part_specs_of_a_parquet_file_keep_row_groups_whole(tmp_path):
    path = tmp_path / "r.parquet"
    frame = registry.generate(2_000, seed=1)
    pq.write_table(pq.read_table(_written(frame, tmp_path)), path, row_group_size=300)
    specs = distributed.part_specs(path, rows_per_part=1_000)
    groups = [g for s in specs for g in s.row_groups]
    assert groups == list(range(pq.ParquetFile(path).metadata.num_row_groups))
    assert len(specs) == 2
    assert sum(len(s.frame()) for s in specs) == 2_000


def _written(frame: pd.DataFrame, folder: Path) -> Path:
    path = folder / "w.parquet"
    registry.write(frame, path)
    return path


def test_refusals(dataset, tmp_path):
    scn = _scenarios()["budget"]
    with pytest.raises(distributed.SchedulerError, match="--registry"):
        distributed.run(scn, client=None)
    demo = scenario_mod.load(SCENARIOS / "indus-flood-demo.yaml")
    spec = scenario_mod.ProvincialRegistry(province="SD", path="sindh.parquet")
    provincial = demo.model_copy(update={"registry": demo.registry.model_copy(update={"provincial": [spec]})})
    with pytest.raises(distributed.SchedulerError, match="provincial"):
        distributed.run(provincial, client=None, registry_path=dataset)
    with pytest.raises(distributed.SchedulerError, match="local, auto"), distributed.connect("nonsense"):
        pass
    from typer.testing import CliRunner

    from simulator.cli import app

    result = CliRunner().invoke(app, ["run", str(SCENARIOS / "indus-flood-demo.yaml"), "--households", "100",
                                      "--scheduler", "local", "--out", str(tmp_path / "x")])
    assert result.exit_code != 0 and "--registry" in result.output


@pytest.mark.parametrize("weighted", [True, False])
def test_packed_columns_unpack_to_the_engine_s(dataset, tmp_path, weighted):
    """A worker keeps a part's columns packed (flags as bits, sizes as int8, no weight when every
    one is 1): unpacked, they are household_columns of the validated part, dtypes included."""
    from simulator import engine

    spec = distributed.part_specs(dataset)[0]
    if not weighted:
        frame = spec.frame().drop(columns=["notes"]).assign(weight=1)
        path = tmp_path / "unit.parquet"
        registry.write(frame, path)
        spec = distributed.part_specs(path)[0]
    part, door = distributed.open_part(spec)
    expected = engine.household_columns(registry.validate(spec.frame()).households, tehsils=True)
    got = distributed.engine_columns(part)
    assert set(got) == set(expected)
    for name, values in expected.items():
        assert got[name].dtype == values.dtype, name
        np.testing.assert_array_equal(got[name], values, err_msg=name)
    assert (part.packed["weight"] is None) == (not weighted)
    at = np.array([0, 5, 17])
    for name, values in distributed.engine_columns(part, at).items():
        np.testing.assert_array_equal(values, expected[name][at], err_msg=name)
    assert door["weight"] == int(expected["weight"].sum())
