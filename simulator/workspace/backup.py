"""Back up a workspace to one file, and restore it into an empty database of either kind.

The backup is a gzip'd JSON-lines file that any database can take: a header line (format,
schema revision, time, row counts), then one line per row, table by table in the order their
foreign keys need, then a trailer with the SHA-256 of every line before it. Binary content is
base64; dates are ISO text. Restoring checks the trailer, migrates the target to the same
revision, refuses a target that already holds a workspace, inserts the rows in one transaction,
moves PostgreSQL's id sequences past them, and recomputes the audit chain.

So a Committee on SQLite can move to PostgreSQL (and back) by ``madad workspace backup`` then
``madad workspace restore``.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import json
import logging
import os
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Date, LargeBinary, func, insert, select, text, update

from hazards.errors import WorkspaceError
from simulator.workspace.db import head_revision
from simulator.workspace.models import AuditHead, Base, Member

__all__ = ["FORMAT", "backup", "restore"]

log = logging.getLogger(__name__)

FORMAT = "madad-workspace-backup/v1"


def _tables():
    # sorted_tables orders parents before children; the audit head is rewritten, not inserted
    return [t for t in Base.metadata.sorted_tables if t.name != "audit_head"]


def _encode(value, column):  # noqa: ANN001, ANN202
    if value is None:
        return None
    if isinstance(column.type, LargeBinary):
        return base64.b64encode(value).decode("ascii")
    if isinstance(column.type, Date):
        return value.isoformat()
    return value


def _decode(value, column):  # noqa: ANN001, ANN202
    if value is None:
        return None
    if isinstance(column.type, LargeBinary):
        return base64.b64decode(value)
    if isinstance(column.type, Date):
        return dt.date.fromisoformat(value)
    return value


def backup(workspace, path: str | Path) -> dict:  # noqa: ANN001
    """Write every table of ``workspace`` to ``path`` (written aside, then renamed into place).

    Call it through :meth:`Workspace.backup`, which checks that the member may.

    Returns
    -------
    dict
        The header: format, revision, created time and row count per table.
    """
    out = Path(path)
    tmp = out.with_name(f".{out.name}.partial")
    digest = hashlib.sha256()
    counts: dict[str, int] = {}
    with workspace.engine.connect() as conn:
        # One snapshot of everything (a repeatable read on PostgreSQL; SQLite's transaction
        # already is one).
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        tables = _tables()
        for t in tables:
            counts[t.name] = conn.scalar(select(func.count()).select_from(t))
        head = conn.execute(select(AuditHead.seq, AuditHead.last_hash)).one()
        header = {"format": FORMAT, "revision": MigrationContext.configure(conn).get_current_revision(),
                  "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                  "counts": counts, "audit_head": {"seq": head.seq, "last_hash": head.last_hash}}
        with gzip.open(tmp, "wt", encoding="utf-8") as fh:
            def line(obj: dict) -> None:
                text_ = json.dumps(obj, sort_keys=True, ensure_ascii=True) + "\n"
                digest.update(text_.encode("ascii"))
                fh.write(text_)

            line(header)
            for t in tables:
                pk = list(t.primary_key.columns)
                for row in conn.execute(select(t).order_by(*pk)).mappings():
                    line({"table": t.name,
                          "row": {c.name: _encode(row[c.name], c) for c in t.columns}})
            fh.write(json.dumps({"sha256": digest.hexdigest()}) + "\n")
    os.replace(tmp, out)
    log.info("workspace backed up to %s (%s rows)", out, sum(counts.values()))
    return header


def restore(path: str | Path, url: str | None = None):  # noqa: ANN201
    """Restore a backup into an empty database; the opened :class:`Workspace`.

    Raises
    ------
    WorkspaceError
        The file is damaged (its SHA-256 trailer does not match), from a newer schema, or the
        target already holds a workspace.
    """
    from simulator.workspace.service import Workspace

    src = Path(path)
    try:
        with gzip.open(src, "rt", encoding="utf-8") as fh:
            lines = fh.readlines()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise WorkspaceError(f"{src}: not a readable workspace backup ({exc}).") from exc
    if len(lines) < 2:
        raise WorkspaceError(f"{src}: empty or truncated backup.")
    digest = hashlib.sha256("".join(lines[:-1]).encode("ascii", errors="replace")).hexdigest()
    try:
        trailer = json.loads(lines[-1])
        header = json.loads(lines[0])
    except ValueError as exc:
        raise WorkspaceError(f"{src}: damaged backup ({exc}).") from exc
    if trailer.get("sha256") != digest:
        raise WorkspaceError(f"{src}: the backup's SHA-256 does not match its content: it was "
                             "truncated or altered. Use another copy.")
    if header.get("format") != FORMAT:
        raise WorkspaceError(f"{src}: not a Madad workspace backup (format {header.get('format')!r}).")
    if header.get("revision") != head_revision():
        raise WorkspaceError(f"{src}: made at schema revision {header.get('revision')}, this Madad "
                             f"is at {head_revision()}; restore it with the Madad that made it.")
    ws = Workspace(url)
    if not ws.is_empty():
        ws.close()
        raise WorkspaceError(f"{ws.url}: already holds a workspace; restore into an empty "
                             "database (a new SQLite file or a new PostgreSQL database).")
    tables = {t.name: t for t in _tables()}
    batches: dict[str, list[dict]] = {name: [] for name in tables}
    for raw in lines[1:-1]:
        rec = json.loads(raw)
        t = tables.get(rec.get("table"))
        if t is None:
            raise WorkspaceError(f"{src}: unknown table {rec.get('table')!r}.")
        batches[t.name].append({c.name: _decode(rec["row"].get(c.name), c) for c in t.columns})
    with ws.engine.begin() as conn:
        for name, t in tables.items():
            if batches[name]:
                conn.execute(insert(t), batches[name])
        head = header["audit_head"]
        conn.execute(update(AuditHead).where(AuditHead.id == 1)
                     .values(seq=head["seq"], last_hash=head["last_hash"]))
        if conn.dialect.name == "postgresql":
            for name, t in tables.items():
                if "id" in t.columns and name != "audit_events":  # audit ids are given
                    conn.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"))
    counts = {name: len(rows) for name, rows in batches.items()}
    if counts != header["counts"]:
        raise WorkspaceError(f"{src}: row counts {counts} differ from the header's "
                             f"{header['counts']}.")
    ws.verify_audit()
    with ws._session() as s:  # noqa: SLF001
        n = s.scalar(select(func.count()).select_from(Member))
    log.info("workspace restored from %s into %s (%d members)", src, ws.url, n)
    return ws
