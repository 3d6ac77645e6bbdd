"""Input files hashed ahead of time (``madad run --registry`` while its modules import) give the
digest of the file as it is when asked: a file changed since is read again. A file hashed while
it is written (a run's household table) gives the digest of the whole file, or fails."""

from __future__ import annotations

import hashlib
import os
import threading
import time

import pytest

from simulator import digests
from simulator.cli import _registry_argument


def test_a_file_hashed_ahead_gives_its_digest(tmp_path):
    path = tmp_path / "registry.parquet"
    path.write_bytes(os.urandom(3 << 20))
    digests.hash_ahead(path)
    assert digests.file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_file_changed_after_its_hash_ahead_is_read_again(tmp_path):
    path = tmp_path / "registry.parquet"
    path.write_bytes(b"old" * 1000)
    digests.hash_ahead(path)
    assert digests.file_sha256(path) == hashlib.sha256(b"old" * 1000).hexdigest()
    path.write_bytes(b"new, and longer" * 1000)  # another size: another stamp
    assert digests.file_sha256(path) == hashlib.sha256(b"new, and longer" * 1000).hexdigest()


def test_folders_and_missing_files_are_not_hashed_ahead(tmp_path):
    digests.hash_ahead(tmp_path)
    digests.hash_ahead(tmp_path / "missing.parquet")
    (tmp_path / "a.txt").write_text("a")
    assert digests.file_sha256(tmp_path) == digests.file_sha256(tmp_path)  # a tree digest, as before


def test_only_madad_run_registry_is_read_from_the_command_line():
    assert _registry_argument(["/x/bin/madad", "run", "s.yaml", "--registry", "nser.parquet", "--out", "o"]) == "nser.parquet"
    assert _registry_argument(["madad", "run", "s.yaml", "--registry=nser.parquet"]) == "nser.parquet"
    assert _registry_argument(["madad", "export", "--registry", "nser.parquet"]) is None
    assert _registry_argument(["pytest", "run", "--registry", "nser.parquet"]) is None
    assert _registry_argument(["madad", "run", "s.yaml"]) is None


def _append(path, chunks, written: threading.Event, pause: float = 0.01) -> threading.Thread:
    """A writer appending ``chunks`` to ``path`` on a thread, a pause between them (the hash
    catches up and waits), ``written`` set once the file is closed."""
    def work():
        time.sleep(pause)  # the hash starts before the file exists
        with open(path, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
                fh.flush()
                time.sleep(pause)
        written.set()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def test_a_file_hashed_while_it_is_written_gives_its_digest(tmp_path, monkeypatch):
    monkeypatch.setattr(digests, "BLOCK", 1 << 16)  # several reads per chunk, and partial ones
    path = tmp_path / "households.parquet"
    chunks = [os.urandom(n) for n in (100_000, 1, 70_000, 0, 300_000, 5)]
    written = threading.Event()
    digest = digests.follow(path, written)
    _append(path, chunks, written).join()
    assert digest.result(timeout=30) == hashlib.sha256(b"".join(chunks)).hexdigest()
    assert digest.result() == digests.file_sha256(path)


def test_a_file_rewritten_while_it_is_hashed_fails(tmp_path):
    path = tmp_path / "households.parquet"
    path.write_bytes(os.urandom(200_000))
    written = threading.Event()
    digest = digests.follow(path, written)
    time.sleep(0.3)  # hashed as far as it goes
    path.write_bytes(b"short")  # not appended: rewritten
    written.set()
    with pytest.raises(OSError, match="hashed while it was written"):
        digest.result(timeout=30)


def test_a_file_never_written_fails(tmp_path):
    written = threading.Event()
    digest = digests.follow(tmp_path / "households.parquet", written)
    written.set()
    with pytest.raises(FileNotFoundError, match="not written"):
        digest.result(timeout=30)
