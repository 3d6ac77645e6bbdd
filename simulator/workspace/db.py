"""Where the workspace lives: the database URL, the engine, and the schema migrations.

SQLite is the embedded default (``$MADAD_DATABASE_URL`` unset: a file ``workspace.db`` under
``$XDG_DATA_HOME/madad``, or ``~/.local/share/madad``), and PostgreSQL is selected by URL
(``MADAD_DATABASE_URL=postgresql+psycopg://user:password@host/db``). Opening a workspace upgrades
its schema to the newest Alembic revision (``simulator/workspace/migrations``), under a lock so
that two processes opening the same database at once do not both migrate it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from hazards.errors import WorkspaceError

__all__ = ["MIGRATIONS", "database_url", "head_revision", "make_engine", "migrate", "revision_of"]

log = logging.getLogger(__name__)

#: Folder of the Alembic environment and its revisions.
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: Key of the PostgreSQL advisory lock held while migrating (any fixed 64-bit number).
_MIGRATION_LOCK = 0x4D414441_44000001


def default_path() -> Path:
    """The embedded SQLite file: ``$XDG_DATA_HOME/madad/workspace.db`` (``~/.local/share``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "madad" / "workspace.db"


def database_url(url: str | None = None) -> str:
    """The URL to use: ``url``, else ``$MADAD_DATABASE_URL``, else the embedded SQLite file."""
    chosen = url or os.environ.get("MADAD_DATABASE_URL")
    if chosen:
        return chosen
    path = default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _hidden(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unreadable URL>"


def make_engine(url: str | None = None) -> Engine:
    """An engine for the workspace database (not yet migrated; see :func:`migrate`).

    SQLite gets foreign keys on, a 30 s busy timeout and write-ahead logging, so that readers
    and one writer at a time work side by side; PostgreSQL gets a pool sized for a Committee's
    concurrent reviewers.

    Raises
    ------
    WorkspaceError
        The URL is malformed or names a database driver that is not installed.
    """
    chosen = database_url(url)
    try:
        parsed = make_url(chosen)
    except ArgumentError as exc:
        raise WorkspaceError(
            f"database URL {_hidden(chosen)!r} is malformed ({exc}); give sqlite:///PATH or "
            "postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE (MADAD_DATABASE_URL)."
        ) from exc
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed, connect_args={"timeout": 30})

            @event.listens_for(engine, "connect")
            def _pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
                dbapi_connection.isolation_level = None  # transactions begin below, not in pysqlite
                cur = dbapi_connection.cursor()
                cur.execute("PRAGMA foreign_keys=ON")
                if parsed.database not in (None, "", ":memory:"):
                    cur.execute("PRAGMA journal_mode=WAL")
                cur.close()

            @event.listens_for(engine, "begin")
            def _immediate(conn) -> None:  # noqa: ANN001
                # Take the write lock when a transaction starts, so that two writers queue (the
                # busy timeout) instead of one failing when it upgrades a read to a write.
                conn.exec_driver_sql("BEGIN IMMEDIATE")

            return engine
        return create_engine(parsed, pool_size=10, max_overflow=60, pool_pre_ping=True)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise WorkspaceError(
            f"database URL {_hidden(chosen)!r}: its driver is not installed ({exc}). Madad "
            "supports sqlite:/// and postgresql+psycopg:// (psycopg is installed with Madad)."
        ) from exc


def _config(connection):  # noqa: ANN001, ANN202
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest migration's revision id."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def revision_of(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database's schema to ``revision`` (all migrations by default).

    Raises
    ------
    WorkspaceError
        The database cannot be reached, or is at a revision this Madad does not know (made by a
        newer Madad).
    """
    from alembic import command
    from alembic.util.exc import CommandError

    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            command.upgrade(_config(conn), revision)
    except OperationalError as exc:
        raise WorkspaceError(
            f"cannot open the workspace database {_hidden(str(engine.url))}: "
            f"{str(exc.orig).strip().splitlines()[0] if exc.orig else exc}. Check that the server "
            "runs and the URL (MADAD_DATABASE_URL) is right."
        ) from exc
    except CommandError as exc:
        raise WorkspaceError(
            f"workspace database {_hidden(str(engine.url))}: {exc}. It was made by a newer "
            "Madad; upgrade Madad (pip install -U madad) before opening it."
        ) from exc
    log.info("workspace database %s at revision %s", _hidden(str(engine.url)), revision)
