"""Small helpers shared by the exchange modules.

Canonical JSON (what is signed), base64 fields, UTC timestamps, quoting values read from
untrusted files in error messages, and atomic file replacement.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hazards.errors import ExchangeError


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any, size: int, what: str, source: str) -> bytes:
    try:
        data = base64.b64decode(str(text), validate=True)
    except (ValueError, TypeError) as exc:
        raise ExchangeError(f"{source}: {what} is not valid base64.") from exc
    if len(data) != size:
        raise ExchangeError(f"{source}: {what} has {len(data)} bytes, expected {size}.")
    return data


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _clip(value: Any, n: int = 64) -> str:
    """Quote a value taken from an untrusted file for an error message, clipped."""
    text = str(value)
    return repr(text if len(text) <= n else text[:n] + "...")


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

