"""Progress reports of long work (issue 13, item 6): the library's callbacks count up to their
totals at chunk boundaries and change nothing; the CLI's bars go to stderr only, so stdout and
the files written are the same with a terminal (bars drawn) as without (nothing drawn)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from simulator import registry
from simulator.cli import app
from simulator.exchange import common, container, linkage, matching
from simulator.exchange import packages as exchange

runner = CliRunner()


def _frame_hash(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()).hexdigest()


def _rising_to_total(calls: list[tuple[int, int]]) -> None:
    """``(done, total)`` calls: one total, ``done`` from 0 strictly up to it."""
    assert calls, "never called"
    totals = {total for _, total in calls}
    assert len(totals) == 1, totals
    done = [d for d, _ in calls]
    assert done[0] == 0 and done[-1] == calls[0][1], done
    assert all(a < b for a, b in zip(done, done[1:], strict=False)), done


def _steps(calls: list[tuple[str, int, int]]) -> dict[str, list[tuple[int, int]]]:
    """``(step, done, total)`` calls by step, checking that steps do not interleave."""
    by_step: dict[str, list[tuple[int, int]]] = defaultdict(list)
    order: list[str] = []
    for step, done, total in calls:
        if not order or order[-1] != step:
            assert step not in order, f"step {step!r} told again after another step"
            order.append(step)
        by_step[step].append((done, total))
    for step, told in by_step.items():
        assert step in common.STEP_UNITS, step
        _rising_to_total(told)
    return dict(by_step)


# --- the synthetic registry ------------------------------------------------------------------


def test_generation_reports_rows_and_changes_nothing():
    calls: list[tuple[int, int]] = []
    chunks = list(registry.generate_chunks(6_000, seed=4, chunk_size=1_000,
                                           on_progress=lambda d, t: calls.append((d, t))))
    _rising_to_total(calls)
    assert calls[-1] == (6_000, 6_000) and len(calls) > len(chunks) > 1
    with_bar = pd.concat(chunks, ignore_index=True)
    without = pd.concat(registry.generate_chunks(6_000, seed=4, chunk_size=1_000), ignore_index=True)
    assert _frame_hash(with_bar) == _frame_hash(without)
    seen: list[tuple[int, int]] = []
    assert _frame_hash(registry.generate(6_000, seed=4, on_progress=lambda d, t: seen.append((d, t)))) \
        == _frame_hash(registry.generate(6_000, seed=4))
    _rising_to_total(seen)


def test_generation_of_nothing_reports_zero_of_zero():
    calls: list[tuple[int, int]] = []
    assert len(registry.generate(0, seed=1, on_progress=lambda d, t: calls.append((d, t)))) == 0
    assert calls == [(0, 0)]


def test_cli_registry_generate_writes_the_same_file_with_a_bar(tmp_path, monkeypatch):
    plain = runner.invoke(app, ["registry", "generate", "-n", "3000", "--seed", "2", "--chunk-size", "500",
                                "--out", str(tmp_path / "plain.parquet")])
    assert plain.exit_code == 0, plain.output
    assert plain.stderr == ""  # not a terminal: no bar
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich: stderr is a terminal
    barred = runner.invoke(app, ["registry", "generate", "-n", "3000", "--seed", "2", "--chunk-size", "500",
                                 "--out", str(tmp_path / "bar.parquet")])
    assert barred.exit_code == 0, barred.output
    assert "generating" in barred.stderr and "households" in barred.stderr
    assert (tmp_path / "plain.parquet").read_bytes() == (tmp_path / "bar.parquet").read_bytes()

    def same(text: str) -> str:  # the file's name and the seconds differ
        return text.rsplit(" in ", 1)[0].replace("plain", "bar")

    assert same(plain.stdout) == same(barred.stdout)
    assert barred.stdout.startswith("wrote 3,000 households to ")


# --- exchange packages -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, exchange.KeyFiles]:
    root = tmp_path_factory.mktemp("keys")
    return {a: exchange.keygen(a, root / a) for a in ("bisp", "pspa-punjab")}


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("src") / "nser.parquet"
    registry.write(registry.generate(3_000, seed=3), path)
    return path


@pytest.fixture
def small_chunks(monkeypatch):
    """Scan batches of 400 rows and a byte report every 4 kB, so that small files report often."""
    monkeypatch.setattr(exchange, "SCAN_BATCH_ROWS", 400)
    for module in (container, exchange):
        monkeypatch.setattr(module, "PROGRESS_BYTES", 4096)


def _pack(keys, source: Path, out: Path, **kw) -> dict:
    return exchange.pack(source, sender_private=keys["bisp"].private_key,
                         recipient_public_identity=keys["pspa-punjab"].identity,
                         dataset="nser-extract", purpose="flood dedup", out=out, **kw)


def test_pack_unpack_and_verify_report_rows_and_bytes(tmp_path, keys, source, small_chunks):
    calls: list[tuple[str, int, int]] = []
    manifest = _pack(keys, source, tmp_path / "p.madadpkg", on_progress=lambda *a: calls.append(a))
    steps = _steps(calls)
    assert list(steps) == [common.STEP_SCAN, common.STEP_ENCRYPT]
    assert steps[common.STEP_SCAN][-1] == (3_000, 3_000) and len(steps[common.STEP_SCAN]) > 5
    size = source.stat().st_size
    assert steps[common.STEP_ENCRYPT][-1] == (size, size) and len(steps[common.STEP_ENCRYPT]) > 5
    assert manifest["rows"] == 3_000

    calls.clear()
    out = tmp_path / "got.parquet"
    exchange.unpack_to(tmp_path / "p.madadpkg", out, recipient_private=keys["pspa-punjab"].private_key,
                       sender_public_identity=keys["bisp"].identity, audit_log=tmp_path / "audit.jsonl",
                       on_progress=lambda *a: calls.append(a))
    steps = _steps(calls)
    assert list(steps) == [common.STEP_CHECK, common.STEP_DECRYPT, common.STEP_SCAN]
    package = (tmp_path / "p.madadpkg").stat().st_size
    assert steps[common.STEP_CHECK][-1] == (package, package)
    assert steps[common.STEP_DECRYPT][-1][0] == manifest["encryption"]["bytes"]
    assert steps[common.STEP_SCAN][-1] == (3_000, 3_000)
    assert out.read_bytes() == source.read_bytes()

    calls.clear()
    frame, _ = exchange.unpack(tmp_path / "p.madadpkg", recipient_private=keys["pspa-punjab"].private_key,
                               sender_public_identity=keys["bisp"].identity,
                               on_progress=lambda *a: calls.append(a))
    assert list(_steps(calls)) == [common.STEP_CHECK, common.STEP_DECRYPT]
    assert len(frame) == 3_000

    calls.clear()
    exchange.verify(tmp_path / "p.madadpkg", keys["bisp"].identity, on_progress=lambda *a: calls.append(a))
    assert list(_steps(calls)) == [common.STEP_CHECK]


def test_a_refused_pack_stops_its_report_short(tmp_path, keys, small_chunks):
    """A raw CNIC found in the scan: the report stops there and nothing is encrypted."""
    frame = pd.DataFrame({"household_id": [f"h{i}" for i in range(1_000)], "ref": ["x"] * 1_000})
    frame.loc[900, "ref"] = "35202-1234567-1"
    path = tmp_path / "leak.parquet"
    frame.to_parquet(path, index=False)
    calls: list[tuple[str, int, int]] = []
    with pytest.raises(exchange.ExchangeError, match="raw CNICs"):
        _pack(keys, path, tmp_path / "x.madadpkg", on_progress=lambda *a: calls.append(a))
    assert {step for step, _, _ in calls} == {common.STEP_SCAN}
    done = [d for _, d, _ in calls]
    assert done == sorted(set(done)) and done[-1] < 1_000


def test_cli_pack_and_unpack_print_the_same_with_a_bar(tmp_path, keys, source, monkeypatch):
    stderr: list[str] = []

    def roundtrip(tag: str) -> tuple[list[str], bytes]:
        pkg, out = tmp_path / f"{tag}.madadpkg", tmp_path / f"{tag}.parquet"
        packed = runner.invoke(app, ["exchange", "pack", str(source), "--to", str(keys["pspa-punjab"].identity),
                                     "--key", str(keys["bisp"].private_key), "--dataset", "d",
                                     "--purpose", "p", "--out", str(pkg)])
        assert packed.exit_code == 0, packed.output
        opened = runner.invoke(app, ["exchange", "unpack", str(pkg), "--from", str(keys["bisp"].identity),
                                     "--key", str(keys["pspa-punjab"].private_key), "--out", str(out),
                                     "--audit", str(tmp_path / f"{tag}.audit.jsonl")])
        assert opened.exit_code == 0, opened.output
        stderr.append(packed.stderr + opened.stderr)
        # the package id and hashes are new for each package; the rest is the same
        first = packed.stdout.splitlines()[0].replace(tag, "T")
        return [first, opened.stdout.replace(tag, "T")], out.read_bytes()

    plain = roundtrip("plain")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich: stderr is a terminal
    assert roundtrip("bar") == plain
    assert plain[1] == source.read_bytes()
    assert stderr[0] == ""
    for step in (common.STEP_SCAN, common.STEP_ENCRYPT, common.STEP_CHECK, common.STEP_DECRYPT):
        assert step in stderr[1]


# --- linkage -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def linkage_set():
    return linkage.synthetic_registries(400, 400, overlap=0.5, seed=3)


def test_encoding_and_linkage_report_and_change_nothing(linkage_set, monkeypatch):
    secret = b"progress-test-linkage-secret-32b"
    calls: list[tuple[str, int, int]] = []
    left = linkage.encode(linkage_set.left, secret, party="nser", on_progress=lambda *a: calls.append(a))
    steps = _steps(calls)
    assert list(steps) == [common.STEP_ENCODE]
    assert steps[common.STEP_ENCODE][-1][0] == len(linkage.FEATURES) + 2
    right = linkage.encode(linkage_set.right, secret, party="pser")
    assert np.array_equal(left.filters, linkage.encode(linkage_set.left, secret, party="nser").filters)

    plain = linkage.link(left, right)
    monkeypatch.setattr(matching, "_PAIR_CHUNK", 97)  # many scoring chunks
    calls.clear()
    pairs = linkage.link(left, right, on_progress=lambda *a: calls.append(a))
    steps = _steps(calls)
    assert list(steps) == [common.STEP_BLOCK, common.STEP_SCORE]
    assert steps[common.STEP_BLOCK][-1] == (3, 3)  # two passes, then their union
    compared = pairs.attrs["comparisons"]
    assert steps[common.STEP_SCORE][-1] == (compared, compared)
    assert len(steps[common.STEP_SCORE]) == -(-compared // 97) + 1
    pd.testing.assert_frame_equal(pairs, plain)


def test_candidate_pairs_are_numpy_unique_of_the_blocks(linkage_set):
    """The sort-based union of the blocking passes gives what np.unique gave."""
    secret = b"progress-test-linkage-secret-32b"
    left = linkage.encode(linkage_set.left, secret, party="nser")
    right = linkage.encode(linkage_set.right, secret, party="pser")
    li, ri = matching.candidate_pairs(left, right)
    codes = []
    for p in range(2):
        lk = pd.DataFrame({"k": left.block_keys[:, p], "i": np.arange(len(left))})
        rk = pd.DataFrame({"k": right.block_keys[:, p], "j": np.arange(len(right))})
        joined = lk[lk.k != 0].merge(rk[rk.k != 0], on="k")
        codes.append(joined.i.to_numpy(np.int64) * len(right) + joined.j.to_numpy(np.int64))
    unique = np.unique(np.concatenate(codes))
    assert np.array_equal(li, unique // len(right)) and np.array_equal(ri, unique % len(right))
    assert li.dtype == np.int64 and len(li) > 0
    empty = matching._sorted_unique(np.empty(0, np.int64))
    assert empty.dtype == np.int64 and len(empty) == 0


def test_cli_encode_and_link_write_the_same_with_a_bar(tmp_path, linkage_set, monkeypatch):
    secret = tmp_path / "linkage.key.json"
    assert runner.invoke(app, ["exchange", "secret", "--out", str(secret)]).exit_code == 0
    linkage_set.left.to_csv(tmp_path / "nser.csv", index=False)
    linkage_set.right.to_csv(tmp_path / "pser.csv", index=False)

    stderr: list[str] = []

    def run(tag: str) -> tuple[list[str], bytes, bytes]:
        outputs = []
        for party in ("nser", "pser"):
            result = runner.invoke(app, ["exchange", "encode", str(tmp_path / f"{party}.csv"), "--secret",
                                         str(secret), "--party", party, "--out",
                                         str(tmp_path / f"{party}-{tag}.clk.parquet")])
            assert result.exit_code == 0, result.output
            outputs.append(result.stdout.replace(tag, "T"))
            stderr.append(result.stderr)
        links = tmp_path / f"links-{tag}.csv"
        result = runner.invoke(app, ["exchange", "link", str(tmp_path / f"nser-{tag}.clk.parquet"),
                                     str(tmp_path / f"pser-{tag}.clk.parquet"), "--out", str(links)])
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout.replace(tag, "T"))
        stderr.append(result.stderr)
        encoded = pd.read_parquet(tmp_path / f"nser-{tag}.clk.parquet")
        return outputs, links.read_bytes(), _frame_hash(encoded).encode()

    plain = run("plain")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    barred = run("bar")
    assert barred == plain
    assert plain[0][2].startswith("linked ")
    assert stderr[:3] == ["", "", ""]
    assert common.STEP_ENCODE in stderr[3] and common.STEP_SCORE in stderr[5]


def test_no_terminal_no_bar(monkeypatch, capsys):
    """The CLI's bar draws nothing when stderr is not a terminal."""
    from simulator.cli.exchange import progress_bar

    monkeypatch.setenv("TTY_COMPATIBLE", "0")
    with progress_bar() as on_progress:
        on_progress(common.STEP_SCAN, 0, 10)
        on_progress(common.STEP_SCAN, 10, 10)
    assert capsys.readouterr() == ("", "")


def test_app_progress_bar_updates_few_times(monkeypatch):
    """The app's progress bar shows a new stage at once, and the figures of one stage at most
    every PROGRESS_EVERY_S: a cache hit replays every update, on every page that reads it."""
    from simulator.app import loaders

    updates = []

    class Slot:
        def progress(self, value, text):
            updates.append((value, text))

        def empty(self):
            updates.append(None)

    clock = [1000.0]
    monkeypatch.setattr(loaders.st, "empty", Slot)
    monkeypatch.setattr(loaders.time, "monotonic", lambda: clock[0])
    with loaders.progress_bar() as show:
        for done in range(0, 20_001, 100):  # 201 calls in 0.2 s: the first figure and the end
            show(done / 20_000, f"generating: {done:,} / 20,000")
            clock[0] += 0.001
        show(0.0, "evaluating: 0 / 5")  # a new stage: at once
        clock[0] += 1.0
        show(0.2, "evaluating: 1 / 5")  # later than PROGRESS_EVERY_S: shown
    assert updates == [(0, "generating: 0 / 20,000"), (100, "generating: 20,000 / 20,000"),
                       (0, "evaluating: 0 / 5"), (20, "evaluating: 1 / 5"), None]
