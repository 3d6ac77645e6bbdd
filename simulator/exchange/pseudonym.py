"""CNIC validation and keyed pseudonyms: the only step that ever sees a raw CNIC.

A data owner (BISP for the NSER, a provincial authority for its registry) turns each CNIC into a
pseudonym with a secret key it alone holds::

    pseudonym = key_id + ":" + first 16 bytes of HMAC-SHA256(secret, 13-digit CNIC), as hex

The hex is grouped 8-4-4-4-12 (``k1:3f2a9c1e-5b7d-4e21-9a0c-1f2e3d4c5b6a``) so that a pseudonym
never holds a run of more than 12 decimal digits nor the 5-7-1 shape of a CNIC: a scanner that
looks for CNICs in outputs never flags one. The key id prefix lets keys rotate: a
:class:`KeyRing` keeps the current key (for new pseudonyms) and older ones, and
:meth:`KeyRing.rotate` gives the old and new pseudonym of each CNIC of the owner's mapping table.

Without the key, a pseudonym cannot be linked back to a CNIC by trying all 10^13 numbers; whoever
holds the key can, so the key file is written with 0600 permissions and never travels. Two owners
with different keys give different pseudonyms to the same person: linking across registries is
the job of :mod:`simulator.exchange.linkage`, not of shared keys.

Raw CNICs appear only in the input of this module. Errors mask them (``35202-*******-1``) and name
the row; the log records counts only.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import secrets
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hazards.errors import CnicError, KeyRingError
from simulator.registry.keyed import hmac_many

log = logging.getLogger(__name__)

__all__ = [
    "CnicError",
    "Key",
    "KeyRing",
    "KeyRingError",
    "is_valid_cnic",
    "key_id_of",
    "mask_cnic",
    "normalise_cnic",
    "pseudonymise",
    "pseudonymise_frame",
]

#: A CNIC as written: 13 digits, or 5-7-1 digits with both dashes (``35202-1234567-1``).
CNIC_PATTERN = r"^(?:[0-9]{13}|[0-9]{5}-[0-9]{7}-[0-9])$"
#: Bytes of the HMAC kept in a pseudonym (128 bits: collisions are negligible at 10^8 ids).
PSEUDONYM_BYTES = 16
#: Bytes of a newly generated secret (256 bits, the HMAC-SHA256 block-size-safe maximum strength).
SECRET_BYTES = 32
#: Shortest secret accepted from a file or a caller.
MIN_SECRET_BYTES = 16
KEYRING_FORMAT = "madad-keyring"
KEYRING_VERSION = 1
_KEY_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,15}$")
#: How many bad rows an error names before it summarises the rest.
_ROWS_NAMED = 5


# ---------------------------------------------------------------------------------------------
# CNIC validation
# ---------------------------------------------------------------------------------------------


def mask_cnic(value: object) -> str:
    """A CNIC with its middle hidden, safe for messages: ``35202-*******-1``.

    Only the first five characters (the locality code) and the last one are kept, and only when
    the value is at least 10 characters long; shorter values are masked entirely.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "<missing>"
    text = str(value).strip()
    if len(text) < 10:
        return "*" * len(text) if text else "<empty>"
    if text[5:6] == "-" and text[-2:-1] == "-":
        return f"{text[:5]}-{'*' * (len(text) - 8)}-{text[-1]}"
    return f"{text[:5]}{'*' * (len(text) - 6)}{text[-1]}"


def _as_arrow(values: object) -> pa.Array:
    """Values as an Arrow string array (integers are written in decimal; floats are refused)."""
    if isinstance(values, str | bytes):
        values = [values]
    if isinstance(values, pa.ChunkedArray | pa.Array):
        values = values.to_pandas()
    if isinstance(values, pd.Series):
        series = values
    elif isinstance(values, pd.Index | np.ndarray):
        series = pd.Series(values)
    else:
        series = pd.Series(np.asarray(list(values), dtype=object))
    if pd.api.types.is_float_dtype(series.dtype):
        raise CnicError(
            "CNICs were read as floating-point numbers, which can change digits; read the "
            "column as text (e.g. pd.read_csv(..., dtype={'cnic': str}))."
        )
    if series.dtype == object:
        try:
            return pa.array(series.to_numpy(), type=pa.string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass  # mixed types: pandas writes integers in decimal below
    return pa.array(series.astype("string"), type=pa.string())


def _check(values: object) -> tuple[pa.Array, np.ndarray]:
    array = pc.utf8_trim_whitespace(_as_arrow(values))
    ok = pc.fill_null(pc.match_substring_regex(array, CNIC_PATTERN), False)
    return array, np.asarray(ok, dtype=bool)


def is_valid_cnic(values: Iterable[object]) -> np.ndarray:
    """Whether each value is a well-formed CNIC (13 digits, or 5-7-1 digits with dashes)."""
    return _check(values)[1]


def normalise_cnic(values: Iterable[object], *, column: str = "cnic") -> np.ndarray:
    """Validate CNICs and return them as 13-digit ASCII bytes (numpy ``S13``).

    Parameters
    ----------
    values
        CNICs as text (``3520212345671`` or ``35202-1234567-1``; surrounding spaces ignored) or
        integers. Floats are refused: they can silently change digits.
    column
        Name of the column the values come from, used in error messages.

    Raises
    ------
    CnicError
        Some value is missing or malformed. The message names the rows (1-based position in
        ``values``) and shows each bad value masked, never in full.
    """
    array, ok = _check(values)
    if not ok.all():
        bad = np.flatnonzero(~ok)
        raw = array.to_pylist()
        named = "; ".join(
            f"row {i + 1}: {mask_cnic(raw[i])} ({_why(raw[i])})" for i in bad[:_ROWS_NAMED]
        )
        more = f"; and {len(bad) - _ROWS_NAMED:,} more" if len(bad) > _ROWS_NAMED else ""
        log.warning("CNIC validation: %d of %d values malformed", len(bad), len(ok))
        raise CnicError(
            f"column {column!r}: {len(bad):,} malformed CNIC(s): {named}{more}. A CNIC is 13 "
            "digits, written #####-#######-# or without the dashes; fix or remove these rows."
        )
    digits = pc.replace_substring(array, "-", "").cast(pa.binary())
    _, offsets, data = digits.buffers()
    if len(digits) and digits.offset == 0 and np.frombuffer(offsets, np.int32, count=1)[0] == 0:
        # Every value is 13 ASCII bytes: the data buffer is the S13 array itself.
        return np.frombuffer(data, dtype="S13", count=len(digits)).copy()
    return np.asarray(digits.to_numpy(zero_copy_only=False), dtype="S13")


def _why(value: str | None) -> str:
    if value is None:
        return "missing"
    if value == "":
        return "empty"
    if not re.fullmatch(r"[0-9-]*", value):
        return "contains characters other than digits and dashes"
    digits = value.replace("-", "")
    if len(digits) != 13:
        return f"{len(digits)} digits instead of 13"
    return "dashes not in the 5-7-1 places"


# ---------------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """A secret key and its identifier. Its ``repr`` never shows the secret."""

    key_id: str
    secret: bytes
    created: str = ""

    def __post_init__(self) -> None:
        if not _KEY_ID_RE.match(self.key_id):
            raise KeyRingError(
                f"key id {self.key_id!r} is not valid: use a letter then up to 15 letters, digits "
                "or underscores (e.g. 'k1')."
            )
        if not isinstance(self.secret, bytes) or len(self.secret) < MIN_SECRET_BYTES:
            raise KeyRingError(
                f"key {self.key_id!r}: the secret must be at least {MIN_SECRET_BYTES} bytes; "
                "generate one with KeyRing.generate()."
            )

    @classmethod
    def generate(cls, key_id: str = "k1") -> Key:
        """A new key with a random 32-byte secret (``secrets.token_bytes``)."""
        return cls(key_id, secrets.token_bytes(SECRET_BYTES), _now())

    @property
    def fingerprint(self) -> str:
        """A short check value (not the secret) to tell keys apart: SHA-256 of a keyed tag."""
        return _hmac_many(self.secret, [b"madad-key-check"])[:6].hex()

    def __repr__(self) -> str:
        return f"Key(key_id={self.key_id!r}, fingerprint={self.fingerprint!r})"


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


_hmac_many = hmac_many  # the one keyed hash (simulator.registry.keyed)


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
#: Where each of the 32 hex digits goes in the 36-character 8-4-4-4-12 layout.
_SLOTS = np.array([i + (i >= 8) + (i >= 12) + (i >= 16) + (i >= 20) for i in range(32)])


def _format(key_id: str, digests: bytes, n: int) -> pa.Array:
    raw = np.frombuffer(digests, dtype=np.uint8).reshape(n, 32)[:, :PSEUDONYM_BYTES]
    prefix = np.frombuffer(f"{key_id}:".encode(), dtype=np.uint8)
    width = len(prefix) + 36
    out = np.empty((n, width), dtype=np.uint8)
    out[:, : len(prefix)] = prefix
    body = out[:, len(prefix):]
    body[:, [8, 13, 18, 23]] = ord("-")
    hexed = np.empty((n, 32), dtype=np.uint8)
    hexed[:, 0::2] = _HEX[raw >> 4]
    hexed[:, 1::2] = _HEX[raw & 15]
    body[:, _SLOTS] = hexed
    return pa.array(np.ascontiguousarray(out).view(f"S{width}").ravel(), type=pa.binary(width)).cast(
        pa.string()
    )


def pseudonymise(values: Iterable[object], key: Key | KeyRing, *, column: str = "cnic") -> pd.Series:
    """Keyed pseudonyms of CNICs: ``key_id:`` + HMAC-SHA256 truncated to 16 bytes, grouped hex.

    Parameters
    ----------
    values
        CNICs (see :func:`normalise_cnic`); the same CNIC with or without dashes gives the same
        pseudonym.
    key
        A :class:`Key`, or a :class:`KeyRing` whose current key is used.
    column
        Name used in error messages.

    Returns
    -------
    pandas.Series
        Pseudonyms (Arrow-backed strings), in the order of ``values``.

    Raises
    ------
    CnicError
        A CNIC is malformed (the message masks it).
    """
    key = key.current if isinstance(key, KeyRing) else key
    cnics = normalise_cnic(values, column=column)
    digests = _hmac_many(key.secret, cnics.tolist())
    ids = _format(key.key_id, digests, len(cnics))
    log.info("pseudonymised %d CNICs with key %s", len(cnics), key.key_id)
    return pd.Series(ids, dtype=pd.ArrowDtype(pa.string()), name="household_id")


def key_id_of(pseudonyms: Iterable[str]) -> pd.Series:
    """The key id of each pseudonym (the part before ``:``)."""
    series = pd.Series(pseudonyms, dtype="string")
    return series.str.split(":", n=1).str[0]


def pseudonymise_frame(
    frame: pd.DataFrame,
    *,
    key: Key | KeyRing,
    cnic_column: str = "cnic",
    id_column: str = "household_id",
) -> pd.DataFrame:
    """A copy of ``frame`` with a pseudonymous ``household_id`` first and the CNIC column removed.

    Parameters
    ----------
    frame
        Rows with a raw CNIC column.
    key
        The data owner's :class:`Key` or :class:`KeyRing` (its current key).
    cnic_column
        Column holding the CNICs.
    id_column
        Name of the pseudonym column to add.

    Raises
    ------
    CnicError
        The CNIC column is missing, or a CNIC is malformed (the message names the row and masks
        the value).
    KeyRingError
        The frame already has ``id_column``, or still holds another column that looks like a raw
        identity number: by its name (normalised: ``nic``, ``father_cnic``, ``ID Card``; see
        :func:`simulator.registry.cnic.cnic_column_names`) or by its values (see
        :func:`simulator.registry.cnic.looks_like_cnic`).
    """
    from simulator.registry.cnic import cnic_column_names, looks_like_cnic

    if cnic_column not in frame.columns:
        raise CnicError(
            f"column {cnic_column!r} not found; the frame has {list(frame.columns)}. "
            "Pass cnic_column= to name the CNIC column."
        )
    if id_column in frame.columns:
        raise KeyRingError(
            f"the frame already has a {id_column!r} column; drop it or pass id_column= for the "
            "pseudonym column."
        )
    others = [c for c in cnic_column_names(frame.columns) if c != cnic_column]
    if others:
        raise KeyRingError(
            f"column {others[0]!r} also looks like a raw identity number; pseudonymise it "
            "separately or drop it before pseudonymising."
        )
    holding = [
        c for c in frame.columns  # loops over columns, each vectorized
        if c != cnic_column and looks_like_cnic(frame[c], name=str(c)).any()
    ]
    if holding:
        raise KeyRingError(
            f"column {holding[0]!r} also holds values shaped like a CNIC (13 digits); "
            "pseudonymise it separately or drop it before pseudonymising."
        )
    ids = pseudonymise(frame[cnic_column], key, column=cnic_column)
    out = frame.drop(columns=[cnic_column])
    out.insert(0, id_column, ids.array)
    duplicated = int(ids.duplicated().sum())
    if duplicated:
        log.warning("pseudonymise_frame: %d rows repeat a CNIC seen earlier", duplicated)
    return out


# ---------------------------------------------------------------------------------------------
# Key ring
# ---------------------------------------------------------------------------------------------


class KeyRing:
    """The data owner's keys: a current one for new pseudonyms and older ones kept to rotate.

    Examples
    --------
    >>> ring = KeyRing.generate()                     # one key, "k1"
    >>> ring.save("owner.keys")                        # 0600; keep it off shared drives
    >>> ids = pseudonymise(["35202-1234567-1"], ring)  # "k1:..."
    >>> ring.add_key()                                 # "k2" becomes current
    >>> mapping = ring.rotate(owner_table)             # old_household_id -> new_household_id
    """

    def __init__(self, keys: Iterable[Key], current: str | None = None) -> None:
        self._keys: dict[str, Key] = {}
        for key in keys:
            if key.key_id in self._keys:
                raise KeyRingError(f"key id {key.key_id!r} appears twice in the key ring.")
            self._keys[key.key_id] = key
        if not self._keys:
            raise KeyRingError("a key ring needs at least one key; use KeyRing.generate().")
        current = current if current is not None else list(self._keys)[-1]
        if current not in self._keys:
            raise KeyRingError(
                f"current key {current!r} is not in the key ring ({list(self._keys)})."
            )
        self._current = current

    @classmethod
    def generate(cls, key_id: str = "k1") -> KeyRing:
        """A key ring with one new random key."""
        return cls([Key.generate(key_id)])

    @property
    def current(self) -> Key:
        """The key used for new pseudonyms."""
        return self._keys[self._current]

    @property
    def key_ids(self) -> list[str]:
        """Key ids, oldest first."""
        return list(self._keys)

    def __getitem__(self, key_id: str) -> Key:
        try:
            return self._keys[key_id]
        except KeyError:
            raise KeyRingError(
                f"no key {key_id!r} in the key ring; it holds {self.key_ids}."
            ) from None

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"KeyRing(keys={self.key_ids}, current={self._current!r})"

    def add_key(self, key_id: str | None = None) -> Key:
        """Generate a new key, make it current and return it (ids ``k1``, ``k2``, ... by default)."""
        if key_id is None:
            n = len(self._keys) + 1
            while f"k{n}" in self._keys:
                n += 1
            key_id = f"k{n}"
        if key_id in self._keys:
            raise KeyRingError(f"key id {key_id!r} is already in the key ring.")
        key = Key.generate(key_id)
        self._keys[key_id] = key
        self._current = key_id
        log.info("key ring: added key %s (now current)", key_id)
        return key

    def retire(self, key_id: str) -> None:
        """Forget an old key once every stored pseudonym has been rotated away from it."""
        if key_id == self._current:
            raise KeyRingError(f"key {key_id!r} is current; add a new key before retiring it.")
        self[key_id]
        del self._keys[key_id]

    def rotate(
        self,
        table: pd.DataFrame,
        *,
        cnic_column: str = "cnic",
        old: str | None = None,
        new: str | None = None,
    ) -> pd.DataFrame:
        """Old and new pseudonym of each CNIC in the data owner's mapping table.

        Re-keying needs the raw CNIC (a pseudonym cannot be turned into another), so only the data
        owner can do it, from the table that maps its CNICs. Apply the result to stored tables
        with ``ids.map(dict(zip(out.old_household_id, out.new_household_id)))``.

        Parameters
        ----------
        table
            The owner's table with a CNIC column.
        old, new
            Key ids; by default the key before the current one and the current key.

        Returns
        -------
        pandas.DataFrame
            ``old_household_id``, ``new_household_id``, one row per row of ``table``; no CNIC.
        """
        if new is None:
            new = self._current
        if old is None:
            order = self.key_ids
            position = order.index(new)
            if position == 0:
                raise KeyRingError(
                    f"no key older than {new!r} to rotate from; add a new key with "
                    "KeyRing.add_key() first, or pass old= and new=."
                )
            old = order[position - 1]
        if old == new:
            raise KeyRingError(f"old and new key are both {old!r}; rotate between two keys.")
        if cnic_column not in table.columns:
            raise CnicError(f"column {cnic_column!r} not found; pass cnic_column=.")
        cnics = normalise_cnic(table[cnic_column], column=cnic_column).tolist()
        n = len(cnics)
        out = pd.DataFrame(
            {
                "old_household_id": pd.Series(
                    _format(old, _hmac_many(self[old].secret, cnics), n),
                    dtype=pd.ArrowDtype(pa.string()),
                ),
                "new_household_id": pd.Series(
                    _format(new, _hmac_many(self[new].secret, cnics), n),
                    dtype=pd.ArrowDtype(pa.string()),
                ),
            }
        )
        log.info("key rotation %s -> %s: %d pseudonyms", old, new, n)
        return out

    # --- files ------------------------------------------------------------------------------

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the key ring as JSON readable by its owner only (mode 0600), atomically.

        Raises
        ------
        KeyRingError
            The file exists and ``overwrite`` is false.
        """
        path = Path(path)
        if path.exists() and not overwrite:
            raise KeyRingError(f"{path}: exists; pass overwrite=True to replace the key ring.")
        body = {
            "format": KEYRING_FORMAT,
            "version": KEYRING_VERSION,
            "current": self._current,
            "keys": [
                {
                    "key_id": k.key_id,
                    "secret": base64.b64encode(k.secret).decode("ascii"),
                    "created": k.created,
                }
                for k in self._keys.values()
            ],
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".keyring-", dir=path.parent)
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(body, handle, indent=1)
                handle.write("\n")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        if os.name == "posix":
            os.chmod(path, 0o600)
        log.info("key ring saved: %d keys", len(self._keys))
        return path

    @classmethod
    def load(cls, path: str | Path) -> KeyRing:
        """Read a key ring written by :meth:`save`.

        Raises
        ------
        KeyRingError
            The file is missing, malformed, or readable or writable by other users (on POSIX;
            fix with ``chmod 600 <file>``).
        """
        path = Path(path)
        if not path.exists():
            raise KeyRingError(
                f"{path}: no such key ring; create one with KeyRing.generate().save(path)."
            )
        if os.name == "posix":
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                raise KeyRingError(
                    f"{path}: permissions {mode:04o} let other users read the keys; run "
                    f"`chmod 600 {path}` and keep the file private."
                )
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            if body.get("format") != KEYRING_FORMAT:
                raise ValueError(f"format is {body.get('format')!r}, not {KEYRING_FORMAT!r}")
            if body.get("version") != KEYRING_VERSION:
                raise ValueError(f"version {body.get('version')!r} is not {KEYRING_VERSION}")
            keys = [
                Key(k["key_id"], base64.b64decode(k["secret"], validate=True), k.get("created", ""))
                for k in body["keys"]
            ]
            current = body["current"]
        except KeyRingError:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyRingError(f"{path}: not a Madad key ring ({exc}).") from None
        return cls(keys, current)
