"""Run folders are safe under accident: written beside themselves and swapped in whole, under a
lock, and refused by readers when a file no longer matches manifest.json.

Each subprocess test kills or races a real writer process (``madad run`` or a small Python
script calling :func:`simulator.publish.write_run` with a hook that pauses it at a chosen point).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from hazards.errors import ExportError, WriteStopped
from simulator import plans, publish
from simulator import scenario as scenario_mod
from simulator.cli import app
from simulator.publish import atomic
from simulator.publish.runs import load_run

ROOT = Path(__file__).resolve().parents[1]
PYTHON = Path(sys.executable)
MADAD = PYTHON.parent / "madad"
runner = CliRunner()

#: A writer process: SCENARIO OUT RESULT HOOK MARKER, RESULT a pickled RunResult (saves running
#: the plan again). The hook pauses it (the marker file says where) so the test can kill it
#: there, or logs when it starts writing and when it has swapped.
WRITER = r'''
import os, pickle, sys, time
from pathlib import Path

scn_path, out, result, hook, marker = sys.argv[1:6]
from simulator import publish
from simulator.publish import atomic, xlsx

res = pickle.loads(Path(result).read_bytes())
target = Path(out).resolve()


def pause(where):
    Path(marker).write_text(where)
    time.sleep(600)


def log(event):
    with open(marker, "a") as fh:
        fh.write(f"{event} {os.getpid()} {time.time():.6f}\n")


if hook == "writing":  # killed with plan.json and plan.xlsx written, the rest not
    write_xlsx = xlsx.write_xlsx
    def slow_xlsx(plan, path):
        written = write_xlsx(plan, path)
        pause("writing")
        return written
    xlsx.write_xlsx = slow_xlsx
elif hook == "swapped":  # killed after the swap, before the old run is deleted
    remove = atomic._remove
    def slow_remove(path):
        pause("swapped")
        remove(path)
    atomic._remove = slow_remove
elif hook == "between-renames":  # the portable swap, killed with the old run set aside
    atomic._exchange = lambda a, b: False
    rename = os.rename
    def slow_rename(src, dst):
        rename(src, dst)
        if Path(src) == target:
            pause("between-renames")
    os.rename = slow_rename
elif hook == "slow":  # log when this writer starts writing and when it has swapped
    write_xlsx, swap_in = xlsx.write_xlsx, atomic.swap_in
    def slow_xlsx(plan, path):
        log("start")
        time.sleep(2.0)
        return write_xlsx(plan, path)
    def logged_swap(stage, out):
        swap_in(stage, out)
        log("end")
    xlsx.write_xlsx, atomic.swap_in = slow_xlsx, logged_swap

publish.write_run(res, out, scenario_path=scn_path)
'''


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """The demo scenario without its 20-member ensemble, on part of the river (seconds, not
    tens of seconds)."""
    text = (ROOT / "scenarios" / "indus-flood-demo.yaml").read_text(encoding="utf-8")
    text = "\n".join(line for line in text.splitlines() if not line.startswith("ensemble:"))
    bbox = "bbox: [66.5, 23.6, 72.0, 31.9]"
    assert bbox in text
    text = text.replace(bbox, "bbox: [67.5, 24.5, 69.0, 26.5]")
    path = tmp_path_factory.mktemp("scenario") / "small.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def results(small):
    """Two runs that differ (2,500 and 2,000 households): 'old' and 'new'."""
    scn = scenario_mod.load(small)
    return {n: plans.run(scn, base=small.parent, households=n) for n in (2500, 2000)}


@pytest.fixture(scope="module")
def writer(tmp_path_factory, results) -> Path:
    folder = tmp_path_factory.mktemp("writer")
    for n, res in results.items():
        (folder / f"{n}.pickle").write_bytes(pickle.dumps(res))
    path = folder / "writer.py"
    path.write_text(WRITER, encoding="utf-8")
    return path


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")


def rows(folder: Path) -> int:
    """Registry size of the run in ``folder``, after checking it against its manifest."""
    return load_run(folder).plan["registry"]["rows_read"]


def assert_complete(folder: Path) -> dict:
    """``folder`` verifies, holds exactly the files its manifest lists, and its parts agree."""
    run = load_run(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert sorted(os.listdir(folder)) == sorted([*manifest["outputs"], "manifest.json"])
    assert manifest["inputs"]["registry"]["synthetic_households"] == run.plan["registry"]["rows_read"]
    assert int(run.households.amount_pkr.sum()) == run.plan["totals"]["amount_pkr"]
    return manifest


def leftover(folder: Path) -> list[str]:
    return [p.name for p in atomic.leftovers(folder)]


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"writer exited {proc.returncode}: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("the writer never reached the hook")
        time.sleep(0.05)


def _spawn(writer, small, out, households, hook, marker) -> subprocess.Popen:
    return subprocess.Popen(
        [str(PYTHON), str(writer), str(small), str(out), str(writer.parent / f"{households}.pickle"),
         hook, str(marker)],
        cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


# -- writing and rerunning ---------------------------------------------------------------------


def test_write_run_swaps_in_one_complete_folder(tmp_path, results, small):
    out = tmp_path / "runs" / "demo"
    paths = publish.write_run(results[2500], out, scenario_path=small)
    assert set(paths) == {"plan.json", "plan.xlsx", "households.parquet", "hazard.tif", "manifest.json"}
    assert all(p.parent == out and p.exists() for p in paths.values())
    manifest = assert_complete(out)
    assert list(paths)[-1] == "manifest.json" and "manifest.json" not in manifest["outputs"]
    assert leftover(out) == []
    assert (out.parent / ".demo.lock").exists()
    assert sorted(p.name for p in out.parent.iterdir()) == [".demo.lock", "demo"]

    publish.write_run(results[2000], out, scenario_path=small)
    assert rows(out) == 2000
    assert_complete(out)
    assert sorted(p.name for p in out.parent.iterdir()) == [".demo.lock", "demo"]


def test_rerun_with_fewer_outputs_leaves_nothing_stale(tmp_path, results, small):
    res = results[2000]
    more = dataclasses.replace(
        res,
        hazards=[*res.hazards, res.hazard * 2],
        quarantine=pd.DataFrame({"row": [7], "field": ["pmt_score"], "reason": ["not a number"]}),
    )
    out = tmp_path / "run"
    publish.write_run(more, out, scenario_path=small)
    assert {"quarantine.csv", "hazard2.tif"} <= set(os.listdir(out))
    assert len(load_run(out).hazards) == 2
    publish.write_run(res, out, scenario_path=small)
    assert not (out / "quarantine.csv").exists() and not (out / "hazard2.tif").exists()
    manifest = assert_complete(out)
    assert set(manifest["outputs"]) == {"plan.json", "plan.xlsx", "households.parquet", "hazard.tif"}


def test_a_stale_file_of_an_in_place_run_is_ignored_then_removed(tmp_path, results, small, caplog):
    """A folder written in place by an older Madad can hold a hazard2.tif its manifest does not
    list: readers ignore it, and the next run removes it."""
    out = tmp_path / "run"
    publish.write_run(results[2000], out, scenario_path=small)
    (out / "hazard2.tif").write_bytes((out / "hazard.tif").read_bytes())
    with caplog.at_level(logging.WARNING, logger="simulator.publish.runs"):
        assert len(load_run(out).hazards) == 1
    assert "ignoring hazard2.tif, which manifest.json does not list" in caplog.text
    publish.write_run(results[2000], out, scenario_path=small)
    assert not (out / "hazard2.tif").exists()


def test_a_run_does_not_delete_files_it_did_not_write(tmp_path, results, small):
    out = tmp_path / "run"
    publish.write_run(results[2000], out, scenario_path=small)
    (out / "brief.pdf").write_bytes(b"%PDF-")
    with pytest.raises(ExportError, match=r"run: holds brief.pdf, which a run does not write.*"
                                          r"Move them elsewhere, or give --out a new folder"):
        publish.write_run(results[2500], out, scenario_path=small)
    assert (out / "brief.pdf").exists() and rows(out) == 2000 and leftover(out) == []
    result = runner.invoke(app, ["run", str(small), "--out", str(out), "--households", "2000"])
    assert result.exit_code == 2 and "holds brief.pdf, which a run does not write" in result.output
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportError, match="file: is a file, not a folder"):
        publish.write_run(results[2000], tmp_path / "file")
    # an existing empty folder (a fresh --out, or tmp_path_factory.mktemp) is fine
    (tmp_path / "empty").mkdir()
    publish.write_run(results[2000], tmp_path / "empty")
    assert_complete(tmp_path / "empty")


def test_a_failed_write_leaves_the_old_run(tmp_path, results, small, monkeypatch):
    out = tmp_path / "run"
    publish.write_run(results[2500], out, scenario_path=small)
    from simulator.publish import xlsx

    def broken(plan, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(xlsx, "write_xlsx", broken)
    with pytest.raises(OSError, match="No space left"):
        publish.write_run(results[2000], out, scenario_path=small)
    assert rows(out) == 2500 and leftover(out) == []
    assert_complete(out)


def test_household_table_started_early_gives_the_same_folder(tmp_path, results, small):
    """``madad run`` starts the household table while the plan is built (RunWriter.households):
    the folder is the one write_run writes, file for file."""
    res = results[2500]
    publish.write_run(res, tmp_path / "whole", scenario_path=small)
    with publish.RunWriter(tmp_path / "early", scenario_path=small) as writer:
        writer.households(res.households)
        assert leftover(tmp_path / "early") != []  # staged beside it, under the lock
        writer.finish(res)
    whole, early = (json.loads((tmp_path / d / "manifest.json").read_text()) for d in ("whole", "early"))
    # plan.xlsx carries the time it was written
    assert {k: v for k, v in early["outputs"].items() if k != "plan.xlsx"} == \
        {k: v for k, v in whole["outputs"].items() if k != "plan.xlsx"}
    assert set(early["outputs"]) == set(whole["outputs"])
    assert_complete(tmp_path / "early")
    assert leftover(tmp_path / "early") == []


def test_a_run_failing_after_its_table_started_leaves_the_old_run(tmp_path, results, small, monkeypatch):
    """The plan fails while the household table is being written: its writing is stopped between
    two slices, the staging folder removed, the lock freed, and the earlier run stays."""
    from simulator.publish import runs

    out = tmp_path / "run"
    publish.write_run(results[2500], out, scenario_path=small)
    monkeypatch.setattr(runs, "HOUSEHOLD_SLICE", 100)  # many slices: a stop is seen between two
    stopped: list[BaseException] = []
    write = runs.write_households

    def watched(*args, **kwargs):
        try:
            return write(*args, **kwargs)
        except WriteStopped as exc:
            stopped.append(exc)
            raise

    monkeypatch.setattr(runs, "write_households", watched)
    with pytest.raises(ValueError, match="the plan failed"):
        with publish.RunWriter(out, scenario_path=small) as writer:
            writer.households(results[2000].households)
            raise ValueError("the plan failed")
    assert stopped, "the table's writing was not stopped"
    assert rows(out) == 2500 and leftover(out) == []
    assert_complete(out)
    publish.write_run(results[2000], out, scenario_path=small, lock_timeout=5)  # the lock is free
    assert rows(out) == 2000


def test_portable_swap_without_rename_exchange(tmp_path, results, small, monkeypatch):
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    out = tmp_path / "run"
    publish.write_run(results[2500], out, scenario_path=small)
    publish.write_run(results[2000], out, scenario_path=small)
    assert rows(out) == 2000 and leftover(out) == []
    assert_complete(out)


# -- killed writers ----------------------------------------------------------------------------


@pytest.mark.parametrize("hook", ["writing", "swapped", "between-renames"])
def test_kill_9_leaves_a_complete_run(tmp_path, results, small, writer, hook):
    out = tmp_path / "run"
    publish.write_run(results[2500], out, scenario_path=small)
    marker = tmp_path / "marker"
    proc = _spawn(writer, small, out, 2000, hook, marker)
    _wait_for(marker, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    # the staging folder (complete or not), or the old run set aside beside the new one staged
    assert len(leftover(out)) == (2 if hook == "between-renames" else 1)

    if hook == "writing":  # killed before the swap: the old run, whole
        assert rows(out) == 2500
        assert_complete(out)
        staged = tmp_path / leftover(out)[0]
        assert (staged / "plan.xlsx").exists() and not (staged / "manifest.json").exists()
    elif hook == "swapped":  # killed after the swap: the new run, whole
        assert rows(out) == 2000
        assert_complete(out)
    else:  # the portable swap's one window: --out missing, the old run set aside
        assert not out.exists()
        with pytest.raises(ExportError, match=r"no such run folder \(a run into it is under way or was interrupted"):
            load_run(out)
        with atomic.locked(out.resolve()):
            atomic.tidy(out.resolve())
        assert rows(out) == 2500 and leftover(out) == []
        assert_complete(out)

    # the next run cleans up and replaces it
    publish.write_run(results[2000], out, scenario_path=small)
    assert rows(out) == 2000 and leftover(out) == []
    assert_complete(out)


def test_kill_9_of_madad_run_while_it_writes(tmp_path, results, small):
    """A real ``madad run``, killed as soon as its staging folder appears: --out is the old run
    or the new one, each complete."""
    out = tmp_path / "run"
    publish.write_run(results[2500], out, scenario_path=small)
    proc = subprocess.Popen(
        [str(MADAD), "run", str(small), "--out", str(out), "--households", "2000"],
        cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 120
    while not leftover(out) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert rows(out) in (2500, 2000)
    assert_complete(out)
    assert len(leftover(out)) <= 1
    result = runner.invoke(app, ["run", str(small), "--out", str(out), "--households", "2000"])
    assert result.exit_code == 0, result.output
    assert rows(out) == 2000 and leftover(out) == []


# -- concurrent writers ------------------------------------------------------------------------


def test_two_concurrent_runs_take_turns(tmp_path, small, writer):
    out = tmp_path / "run"
    log = tmp_path / "log"
    procs = [_spawn(writer, small, out, n, "slow", log) for n in (2500, 2000)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    assert rows(out) in (2500, 2000)
    assert_complete(out)
    assert leftover(out) == [] and sorted(os.listdir(tmp_path)) == [".run.lock", "log", "run"]
    events = [line.split() for line in log.read_text().splitlines()]
    spans = {}
    for event, pid, t in events:
        spans.setdefault(pid, {})[event] = float(t)
    assert len(spans) == 2 and all(set(s) == {"start", "end"} for s in spans.values())
    first, second = sorted(spans.values(), key=lambda s: s["start"])
    assert first["end"] <= second["start"], "the two writers overlapped"


def test_a_second_run_waits_for_the_lock(tmp_path, results, small, caplog):
    out = tmp_path / "run"
    publish.write_run(results[2500], out, scenario_path=small)
    done = threading.Event()
    errors = []

    def second():
        try:
            publish.write_run(results[2000], out, scenario_path=small)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        done.set()

    with caplog.at_level(logging.WARNING, logger="simulator.publish.atomic"):
        with atomic.locked(out.resolve()):
            thread = threading.Thread(target=second)
            thread.start()
            time.sleep(1.0)
            assert not done.is_set() and rows(out) == 2500 and leftover(out) == []
        thread.join(timeout=120)
    assert done.is_set() and not errors
    assert rows(out) == 2000
    assert "another run is writing this folder" in caplog.text and "waiting up to" in caplog.text


def test_a_run_gives_up_after_the_lock_timeout(tmp_path, results, small):
    out = tmp_path / "run"
    publish.write_run(results[2500], out, scenario_path=small)
    with atomic.locked(out.resolve()):
        with pytest.raises(ExportError, match=rf"run: another run is still writing this folder "
                                              rf"\(pid {os.getpid()}\) after 0.3 s \(lock file .*\.run\.lock\)"):
            publish.write_run(results[2000], out, scenario_path=small, lock_timeout=0.3)
    assert rows(out) == 2500 and leftover(out) == []


# -- readers -----------------------------------------------------------------------------------


@pytest.fixture
def two_runs(tmp_path, results, small) -> list[Path]:
    outs = [tmp_path / "a", tmp_path / "b"]
    for out, n in zip(outs, (2500, 2000), strict=True):
        publish.write_run(results[n], out, scenario_path=small)
    return outs


def test_a_tampered_file_is_refused(two_runs, small, tmp_path):
    a = two_runs[0]
    plan = json.loads((a / "plan.json").read_text())
    plan["totals"]["amount_pkr"] += 1
    (a / "plan.json").write_text(json.dumps(plan, indent=2) + "\n")
    want = (rf"{a / 'plan.json'}: does not match the sha256 manifest.json records for it.*"
            rf"rerun `madad run {small} --out {a}`")
    with pytest.raises(ExportError, match=want):
        load_run(a)
    with pytest.raises(ExportError, match="does not match the sha256"):
        load_run(a / "plan.json")

    result = runner.invoke(app, ["export", str(a), "--format", "json", "--out", str(tmp_path / "x.json")])
    assert result.exit_code == 2
    assert f"{a / 'plan.json'}: does not match the sha256" in result.output
    assert "rerun `madad run" in result.output and not (tmp_path / "x.json").exists()

    result = runner.invoke(app, ["compare", *map(str, two_runs)])
    assert result.exit_code == 2
    assert f"{a / 'plan.json'}: does not match the sha256" in result.output
    assert "rerun `madad run" in result.output


def test_a_changed_or_missing_household_file_is_refused(two_runs):
    a, b = two_runs
    with open(a / "households.parquet", "r+b") as fh:
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ExportError, match=r"households.parquet: does not match"):
        load_run(a)
    (b / "hazard.tif").unlink()
    with pytest.raises(ExportError, match=r"hazard.tif: missing, though manifest.json lists it; the run "
                                          r"folder is incomplete. rerun `madad run"):
        load_run(b)
    result = runner.invoke(app, ["compare", *map(str, two_runs)])
    assert result.exit_code == 2 and "rerun `madad run" in result.output


def test_a_damaged_manifest_is_refused(two_runs):
    a, b = two_runs
    (a / "manifest.json").write_text("{")
    with pytest.raises(ExportError, match=r"manifest.json: not valid JSON .*rerun `madad run SCENARIO"):
        load_run(a)
    manifest = json.loads((b / "manifest.json").read_text())
    manifest["outputs"]["../../etc/passwd"] = "0" * 64
    (b / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ExportError, match="field `outputs` must map each file name"):
        load_run(b)
    del manifest["outputs"]["../../etc/passwd"]
    del manifest["outputs"]["plan.json"]
    (b / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ExportError, match="does not list plan.json"):
        load_run(b)


def test_a_folder_without_manifest_is_read_with_a_warning(two_runs, caplog):
    a = two_runs[0]
    (a / "manifest.json").unlink()
    with caplog.at_level(logging.WARNING, logger="simulator.publish.runs"):
        run = load_run(a)
    assert run.plan["registry"]["rows_read"] == 2500 and run.outputs is None and len(run.hazards) == 1
    assert "no manifest.json, so its files cannot be checked" in caplog.text


def test_a_run_swapped_in_after_loading_is_not_mixed_in(tmp_path, results, small):
    """A folder loaded (and checked) before a rerun replaced it: its households and hazard layers,
    read later, are refused rather than mixed with the earlier plan."""
    out = tmp_path / "run"
    publish.write_run(results[2500], out, scenario_path=small)
    run = load_run(out)
    publish.write_run(results[2000], out, scenario_path=small)
    with pytest.raises(ExportError, match=r"households.parquet: changed since this run folder was "
                                          r"checked .*load the folder again"):
        _ = run.households
    with pytest.raises(ExportError, match=r"hazard.tif: changed since"):
        _ = run.hazards
    assert len(load_run(out).households) == 2000
