"""Small helpers shared by the exchange modules.

Canonical JSON (what is signed), base64 fields, UTC timestamps, quoting values read from
untrusted files in error messages, refusing texts that would drive a terminal (control
characters, bidirectional overrides), atomic file replacement, and the progress reports of
long operations (:data:`ProgressCallback`, :data:`STEP_UNITS`).
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
import unicodedata
from collections.abc import Callable
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


#: Bidirectional embeddings, overrides and isolates: they reorder what a terminal shows.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _check_text(what: str, value: Any, limit: int, source: str | None = None) -> str:
    """A non-empty label of at most ``limit`` characters, without control characters.

    Newlines, tabs, escape sequences (C0/C1 controls), line and paragraph separators and
    bidirectional overrides are refused: the dataset name and purpose are shown on the
    terminal and written to the audit log, and must show what they say. Urdu text, and the
    zero-width joiners and direction marks it uses, pass.
    """
    where = f"{source}: " if source else ""
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ExchangeError(f"{where}{what} must be a non-empty text of at most {limit} characters.")
    bad = sorted(
        {
            f"U+{ord(c):04X}"
            for c in value
            if c in _BIDI_CONTROLS or unicodedata.category(c) in ("Cc", "Cs", "Co", "Zl", "Zp")
        }
    )
    if bad:
        raise ExchangeError(
            f"{where}{what} {_clip(value)} contains control characters ({', '.join(bad[:5])}): "
            "newlines, tabs, escape sequences and direction overrides are refused. Use one "
            "line of plain text."
        )
    return value


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



# --- progress of long operations ----------------------------------------------------------------

#: ``on_progress(step, done, total)``: told how far a long operation (packing, unpacking,
#: encoding, linking a national registry) is. An operation runs one or more steps in turn;
#: within a step ``done`` rises from 0 to ``total`` (each value told once, at natural chunk
#: boundaries). The unit of each step is in :data:`STEP_UNITS`. The library never prints.
ProgressCallback = Callable[[str, int, int], None]

#: The steps, as told to a :data:`ProgressCallback`.
STEP_SCAN = "checking for raw CNICs"
STEP_ENCRYPT = "encrypting"
STEP_CHECK = "checking the package"
STEP_DECRYPT = "decrypting"
STEP_ENCODE = "encoding"
STEP_BLOCK = "blocking"
STEP_SCORE = "scoring pairs"
#: What each step counts: rows of the table, bytes of a file, parts of an encoding (the
#: records read, each linkage feature, the block keys), blocking passes or candidate pairs.
STEP_UNITS = {
    STEP_SCAN: "rows",
    STEP_ENCRYPT: "bytes",
    STEP_CHECK: "bytes",
    STEP_DECRYPT: "bytes",
    STEP_ENCODE: "parts",
    STEP_BLOCK: "passes",
    STEP_SCORE: "pairs",
}
#: Bytes between two reports of a byte-counting step.
PROGRESS_BYTES = 8 << 20


class _Ticker:
    """One step of a long operation, told to ``on_progress`` (may be None: then it does
    nothing): 0 when made, then after :meth:`add` once at least ``every`` more units are done,
    and ``total`` when reached. Counts above ``total`` are told as ``total``."""

    def __init__(
        self, on_progress: ProgressCallback | None, step: str, total: int, every: int = 1
    ) -> None:
        self.on_progress, self.step, self.total = on_progress, step, max(int(total), 0)
        self.every, self.done, self.told = max(int(every), 1), 0, -1
        self._tell()

    def _tell(self) -> None:
        if self.on_progress is not None and self.done != self.told:
            self.told = self.done
            self.on_progress(self.step, self.done, self.total)

    def add(self, n: int) -> None:
        """``n`` more units done."""
        self.done = min(self.done + int(n), self.total)
        if self.done - self.told >= self.every or self.done == self.total:
            self._tell()

    def finish(self) -> None:
        """The step is complete: tell ``total`` (once)."""
        self.done = self.total
        self._tell()
