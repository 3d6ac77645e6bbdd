"""The PostgreSQL harness of ``make test`` (tests/pgserver.py, issue 18).

Most tests need the server that ``python tests/pgserver.py run -- ...`` starts and names in
``MADAD_TEST_DATABASE_URL``; without it they skip. The binary finder is tested always.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pgserver import ENV_VAR, drop_database, find_pg_bindir, fresh_database
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

URL = os.environ.get(ENV_VAR)

needs_server = pytest.mark.skipif(
    not URL,
    reason=f"{ENV_VAR} is unset: run through `python tests/pgserver.py run -- ...` (make test does)",
)


def scalar(url: str, query: str):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(query)).scalar_one()
    finally:
        engine.dispose()


def database_exists(name: str) -> bool:
    return bool(scalar(URL, f"SELECT count(*) FROM pg_database WHERE datname = '{name}'"))


@needs_server
def test_the_server_answers():
    assert scalar(URL, "SELECT version()").startswith("PostgreSQL ")
    assert scalar(URL, "SELECT current_database()") == "madad_test"
    assert int(scalar(URL, "SHOW max_connections")) >= 150


@needs_server
def test_the_server_does_not_run_as_root():
    data = Path(scalar(URL, "SELECT current_setting('data_directory')"))
    if not data.is_dir():
        pytest.skip(f"the server's data directory {data} is not on this machine")
    assert data.stat().st_uid != 0, f"{data} belongs to root"
    try:
        pid = int((data / "postmaster.pid").read_text().split("\n", 1)[0])
    except OSError:
        return
    proc = Path(f"/proc/{pid}")
    if proc.exists():
        assert proc.stat().st_uid != 0, f"the postmaster (pid {pid}) runs as root"


@needs_server
def test_fresh_database_is_usable_and_empty_and_drop_removes_it():
    url = fresh_database(URL)
    name = make_url(url).database
    try:
        assert name.startswith("t") and len(name) <= 20 and name == name.lower()
        assert make_url(url).drivername == "postgresql+psycopg"
        assert scalar(url, "SELECT current_database()") == name
        assert scalar(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE payout (id serial PRIMARY KEY, amount numeric)"))
            conn.execute(text("INSERT INTO payout (amount) VALUES (12500), (7000)"))
        conn = engine.connect()  # a session still open: DROP ... WITH (FORCE) ends it
        assert conn.execute(text("SELECT sum(amount) FROM payout")).scalar_one() == 19500
        drop_database(url)
        with pytest.raises(OperationalError):
            conn.execute(text("SELECT 1"))
        conn.invalidate()
        engine.dispose()
        assert not database_exists(name)
    finally:
        drop_database(url)  # again: a database already gone is no error


@needs_server
def test_two_fresh_databases_are_distinct():
    first, second = fresh_database(URL, prefix="ab"), fresh_database(URL, prefix="ab")
    try:
        assert first != second
        assert make_url(first).database != make_url(second).database
        engine = create_engine(first)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE only_here (x int)"))
        engine.dispose()
        assert scalar(second, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
    finally:
        drop_database(first)
        drop_database(second)
    assert not database_exists(make_url(first).database)


def test_fresh_database_refuses_a_bad_prefix_and_drop_the_admin_database():
    url = "postgresql+psycopg://u:p@127.0.0.1:1/x"
    for prefix in ("1t", "t-x", "t; DROP", "a" * 13):
        with pytest.raises(ValueError):
            fresh_database(url, prefix)
    with pytest.raises(ValueError):
        drop_database("postgresql+psycopg://u:p@127.0.0.1:1/postgres")
    with pytest.raises(ValueError):
        fresh_database("sqlite:///x.db")


def make_tools(directory: Path, *tools: str) -> Path:
    directory.mkdir(parents=True)
    for tool in tools:
        (directory / tool).write_text("#!/bin/sh\n")
        (directory / tool).chmod(0o755)
    return directory


def test_the_finder(tmp_path, monkeypatch):
    found = find_pg_bindir()
    assert found is None or (found / "pg_ctl").is_file()

    monkeypatch.setenv("PATH", "")
    lib = tmp_path / "postgresql"
    assert find_pg_bindir(lib_root=lib) is None  # no such directory
    make_tools(lib / "9.6" / "bin", "initdb", "pg_ctl")
    make_tools(lib / "13" / "bin", "initdb", "pg_ctl")
    make_tools(lib / "17" / "bin", "pg_ctl")  # the highest, but without initdb
    make_tools(lib / "beta" / "bin", "initdb", "pg_ctl")  # not a version
    assert find_pg_bindir(lib_root=lib) == lib / "13" / "bin"

    # On PATH first, through a symlink to where the binaries are.
    on_path = make_tools(tmp_path / "bin")
    real = make_tools(tmp_path / "real", "initdb", "pg_ctl", "postgres")
    for tool in ("initdb", "pg_ctl"):
        (on_path / tool).symlink_to(real / tool)
    assert find_pg_bindir(path=str(on_path), lib_root=lib) == real
    monkeypatch.setenv("PATH", str(on_path))
    assert find_pg_bindir(lib_root=lib) == real
