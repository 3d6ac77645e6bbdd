"""The exchange audit log: append-only JSON lines, each holding the SHA-256 of the line before.

Both sides of an exchange append what they did (``pack``, ``unpack``; ``ok`` or ``refused`` with
the reason) with :func:`_append_audit`. :func:`verify_audit_log` walks the hash chain and finds
the first line that was edited, deleted, reordered or inserted; an *anchor* (a ``head_sha256``
kept elsewhere) also detects deletion of the newest lines.

The recipient's log is also its memory of what it opened: :func:`_opened` finds an earlier
successful ``unpack`` of a package id, so a package presented a second time (a replay) is
refused unless the recipient re-opens it on purpose (``reopen``, recorded as such).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from hazards.errors import ExchangeError
from simulator.exchange.common import _clip, _now

__all__ = ["GENESIS", "AuditSummary", "verify_audit_log"]

#: Audit log ``prev_sha256`` of the first line.
GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditSummary:
    """Result of :func:`verify_audit_log`.

    Attributes
    ----------
    entries : int
        Lines in the log.
    head_sha256 : str
        SHA-256 of the last line; keep it elsewhere (a letter, another system) to detect
        later deletion of the newest lines, which a hash chain alone cannot see.
    operations : dict
        Count of lines by ``"<operation> <outcome>"``, e.g. ``{"pack ok": 3}``.
    """

    entries: int
    head_sha256: str
    operations: dict[str, int]


def _line_hash(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


def _last_line(path: Path) -> bytes | None:
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        if size == 0:
            return None
        fh.seek(size - 1)
        if fh.read(1) != b"\n":
            raise ExchangeError(
                f"{path}: the audit log ends in a partial line; nothing more is appended. Run "
                "`madad exchange audit-verify` and keep the damaged log as evidence."
            )
        block, tail = 4096, b""
        while True:
            start = max(0, size - 1 - len(tail) - block)
            fh.seek(start)
            tail = fh.read(size - 1 - start)
            cut = tail.rfind(b"\n")
            if cut >= 0:
                return tail[cut + 1 :]
            if start == 0:
                return tail
            block *= 2


def _append_audit(path: str | Path, entry: dict) -> dict:
    """Append one hash-chained JSON line; the file is only ever opened for appending."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as fh:
        try:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - not POSIX
            pass
        last = _last_line(path)
        if last is None:
            seq, prev = 0, GENESIS
        else:
            try:
                seq = int(json.loads(last)["seq"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ExchangeError(
                    f"{path}: the last audit line is not a Madad audit entry; nothing more is "
                    "appended. Run `madad exchange audit-verify`."
                ) from exc
            prev = _line_hash(last)
        record = {"seq": seq + 1, "time_utc": _now(), **entry, "prev_sha256": prev}
        fh.write(json.dumps(record, separators=(",", ":"), ensure_ascii=True).encode() + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    return record


def _opened(path: str | Path, package_id: str, agency_id: str) -> tuple[int, dict] | None:
    """The first ``unpack ok`` line (number, record) of ``package_id`` by ``agency_id``.

    Read line by line; lines that are not JSON are skipped here (``audit-verify`` reports
    them, and appending to a damaged log is refused anyway).
    """
    path = Path(path)
    if not path.exists():
        return None
    needle = json.dumps(package_id).encode()
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            if needle not in line:  # cheap test before parsing
                continue
            try:
                record = json.loads(line)
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue
            if (
                isinstance(record, dict)
                and record.get("operation") == "unpack"
                and record.get("outcome") == "ok"
                and record.get("package_id") == package_id
                and isinstance(record.get("agency"), dict)
                and record["agency"].get("agency_id") == agency_id
            ):
                return number, record
    return None


def verify_audit_log(path: str | Path, *, anchor: str | None = None) -> AuditSummary:
    """Check an audit log's hash chain: no line edited, deleted, reordered or inserted.

    Parameters
    ----------
    path : str or Path
        The JSON-lines audit log.
    anchor : str, optional
        A ``head_sha256`` recorded earlier; that line must still be in the chain (detects
        deletion of the newest lines and rewriting of the whole log).

    Returns
    -------
    AuditSummary

    Raises
    ------
    ExchangeError
        The first broken line, with its number.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ExchangeError(f"{path}: no such audit log.") from exc
    if data and not data.endswith(b"\n"):
        raise ExchangeError(f"{path}: the last line is incomplete (truncated or edited).")
    prev, hashes, ops = GENESIS, set(), {}
    lines = data.split(b"\n")[:-1] if data else []
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ExchangeError(
                f"{path}: line {number} is not valid JSON: edited or damaged."
            ) from exc
        if not isinstance(record, dict):
            raise ExchangeError(f"{path}: line {number} is not an audit entry.")
        if record.get("prev_sha256") != prev:
            raise ExchangeError(
                f"{path}: line {number}: hash chain broken (prev_sha256 does not match line "
                f"{number - 1}): an earlier line was edited, deleted or inserted."
            )
        if record.get("seq") != number:
            raise ExchangeError(
                f"{path}: line {number} has seq {_clip(record.get('seq'))}: lines were deleted "
                "or reordered."
            )
        prev = _line_hash(line)
        hashes.add(prev)
        key = f"{record.get('operation')} {record.get('outcome')}"
        ops[key] = ops.get(key, 0) + 1
    if anchor is not None and anchor not in hashes:
        raise ExchangeError(
            f"{path}: the anchored line {anchor[:16]}... is no longer in the log: lines were "
            "deleted from its end or the log was rewritten."
        )
    return AuditSummary(len(lines), prev, dict(sorted(ops.items())))
