"""Input files hashed ahead of time (``madad run --registry`` while its modules import) give the
digest of the file as it is when asked: a file changed since is read again."""

from __future__ import annotations

import hashlib
import os

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
