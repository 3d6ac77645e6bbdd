"""Encoding for privacy-preserving linkage: CLK Bloom filters and keyed block keys.

Run by each data owner on its own registry with the shared linkage secret (:func:`encode`); only
the resulting :class:`EncodedRegistry` (household ids, filters, block keys) leaves the owner.
The scheme (tokens, keyed double hashing, the two blocking passes) is described in
:mod:`simulator.exchange.linkage`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hazards.errors import LinkageError
from simulator.exchange.names import _block_word, _soundex, _variants, normalise_name
from simulator.exchange.pseudonym import Key, KeyRing, _hmac_many

log = logging.getLogger(__name__)

__all__ = ["COLUMNS", "EncodedRegistry", "EncodingConfig", "encode"]

#: Columns :func:`encode` reads (rename yours with ``columns=``).
COLUMNS = ("household_id", "name", "father_name", "dob", "district_id")



@dataclass(frozen=True)
class EncodingConfig:
    """Bloom-filter parameters; both parties must use the same ones.

    ``k_*`` is the number of bits each token of a field sets (its weight in the Dice score).
    """

    bits: int = 1024
    q: int = 2
    k_name: int = 10
    k_father: int = 5
    k_year: int = 30
    k_decade: int = 12
    k_day_month: int = 24
    k_day: int = 10
    k_month: int = 10
    k_district: int = 8

    def __post_init__(self) -> None:
        if self.bits < 64 or self.bits % 64:
            raise LinkageError(f"bits must be a positive multiple of 64, got {self.bits}.")
        if self.q < 1:
            raise LinkageError(f"q must be >= 1, got {self.q}.")
        for name, value in asdict(self).items():
            if name.startswith("k_") and not 0 <= value <= 64:
                raise LinkageError(f"{name} must be between 0 and 64, got {value}.")

    def k(self, tag: str) -> int:
        return {
            "n": self.k_name, "f": self.k_father, "y": self.k_year, "c": self.k_decade,
            "dm": self.k_day_month, "d": self.k_day, "m": self.k_month, "g": self.k_district,
        }[tag]

    def fingerprint(self) -> str:
        """Hash of the parameters and of the variant table: equal on both sides or no link."""
        body = json.dumps({**asdict(self), "variants": _variants().digest}, sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()[:16]


def _popcount(words: np.ndarray) -> np.ndarray:
    """Set bits of each uint64 (same shape, uint8)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(words)
    table = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
    as_bytes = np.ascontiguousarray(words).view(np.uint8).reshape(*words.shape, 8)
    return table[as_bytes].sum(axis=-1, dtype=np.uint8)


@dataclass(frozen=True, eq=False)
class EncodedRegistry:
    """What one party shares for linkage: ids, Bloom filters and keyed block keys. No clear text.

    Attributes
    ----------
    party
        Name of the registry, e.g. ``nser`` or ``pser``.
    ids
        Household ids (the owner's pseudonyms), one per record.
    filters
        Bloom filters, ``uint64`` of shape (records, bits / 64), bit ``b`` in word ``b // 64``.
    block_keys
        ``uint64`` of shape (records, passes); 0 means no key (the field was missing).
    encoding
        Fingerprint of the :class:`EncodingConfig` and variant table used.
    key_check
        Check value of the linkage secret (not the secret): both sides must match.
    """

    party: str
    ids: np.ndarray
    filters: np.ndarray
    block_keys: np.ndarray
    encoding: str
    key_check: str

    def __len__(self) -> int:
        return len(self.ids)

    @cached_property
    def popcounts(self) -> np.ndarray:
        """Set bits of each filter (int32)."""
        return _popcount(self.filters).sum(axis=1, dtype=np.int32)

    def _meta(self) -> dict[str, object]:
        return {
            "format": "madad-linkage-encoding",
            "version": 1,
            "party": self.party,
            "encoding": self.encoding,
            "key_check": self.key_check,
            "bits": int(self.filters.shape[1] * 64),
        }

    def _clk_array(self) -> pa.FixedSizeBinaryArray:
        """The filters as an Arrow fixed-size binary array (no copy of the bits per row)."""
        width = self.filters.shape[1] * 8
        buffer = pa.py_buffer(np.ascontiguousarray(self.filters, dtype="<u8").tobytes())
        return pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), len(self), [None, buffer])

    def to_frame(self) -> pd.DataFrame:
        """A table (``household_id``, ``clk`` bytes, ``block_1``, ``block_2``, ...) with the
        metadata in ``attrs``: what an exchange package carries."""
        frame = pd.DataFrame({"household_id": pd.array(self.ids, dtype="string")})
        frame["clk"] = self._clk_array().to_numpy(zero_copy_only=False)
        for p in range(self.block_keys.shape[1]):
            frame[f"block_{p + 1}"] = self.block_keys[:, p]
        frame.attrs.update(self._meta())
        return frame

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, **meta: object) -> EncodedRegistry:
        """The inverse of :meth:`to_frame` (metadata from ``frame.attrs`` or keywords)."""
        meta = {**frame.attrs, **meta}
        missing = [k for k in ("party", "encoding", "key_check") if k not in meta]
        if missing or "clk" not in frame.columns or "household_id" not in frame.columns:
            raise LinkageError(
                f"not a linkage encoding: needs columns household_id, clk, block_* and "
                f"metadata party, encoding, key_check (missing {missing or ['columns']})."
            )
        blocks = sorted((c for c in frame.columns if str(c).startswith("block_")),
                        key=lambda c: int(str(c)[6:]))
        clk = frame["clk"].to_numpy()
        width = len(clk[0]) if len(clk) else int(meta.get("bits", 1024)) // 8
        if any(len(b) != width for b in clk):
            raise LinkageError("clk values differ in length: the encoding is corrupt.")
        filters = np.frombuffer(b"".join(clk), dtype="<u8").reshape(len(clk), width // 8)
        ids = frame["household_id"].astype("string")
        if ids.isna().any() or ids.duplicated().any():
            raise LinkageError("household_id values are missing or repeated: not a valid encoding.")
        return cls(
            party=str(meta["party"]),
            ids=ids.to_numpy(dtype=object),
            filters=filters.astype(np.uint64),
            block_keys=frame[blocks].to_numpy(dtype=np.uint64).reshape(len(frame), len(blocks)),
            encoding=str(meta["encoding"]),
            key_check=str(meta["key_check"]),
        )

    def save(self, path: str | Path) -> Path:
        """Write the encoding as Parquet (metadata in the schema's ``madad`` key)."""
        path = Path(path)
        frame = self.to_frame()
        table = pa.Table.from_pandas(frame.drop(columns=["clk"]), preserve_index=False)
        table = table.add_column(1, "clk", self._clk_array())
        meta = {**(table.schema.metadata or {}), b"madad": json.dumps(self._meta()).encode()}
        pq.write_table(table.replace_schema_metadata(meta), path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> EncodedRegistry:
        """Read an encoding written by :meth:`save`."""
        path = Path(path)
        if not path.exists():
            raise LinkageError(f"{path}: no such encoding file.")
        table = pq.read_table(path)
        raw = (table.schema.metadata or {}).get(b"madad")
        if raw is None:
            raise LinkageError(f"{path}: not a Madad linkage encoding (no 'madad' metadata).")
        frame = table.to_pandas()
        frame["clk"] = table.column("clk").to_pylist()
        return cls.from_frame(frame, **json.loads(raw))


def _secret_of(secret: bytes | Key | KeyRing) -> bytes:
    if isinstance(secret, KeyRing):
        secret = secret.current
    if isinstance(secret, Key):
        return secret.secret
    if not isinstance(secret, bytes) or len(secret) < 16:
        raise LinkageError(
            "the linkage secret must be at least 16 bytes (or a pseudonym.Key / KeyRing); "
            "generate one with simulator.exchange.pseudonym.KeyRing.generate('l1')."
        )
    return secret


def _dob_parts(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day of each date of birth (0 where missing or unreadable).

    Dates are ``YYYY-MM-DD`` text (``/`` or ``.`` also accepted) or datetimes. Month and day are
    kept when either is 13 to 31, as a transposed day/month can be.
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        dt = values.dt
        parts = [dt.year, dt.month, dt.day]
        return tuple(p.fillna(0).to_numpy(dtype=np.int64) for p in parts)  # type: ignore[return-value]
    text = values.astype("string")
    found = text.str.extract(r"^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
    ymd = [pd.to_numeric(found[i], errors="coerce").fillna(0).to_numpy(np.int64) for i in range(3)]
    y, m, d = ymd
    bad = (y < 1850) | (y > 2100) | (m < 1) | (m > 31) | (d < 1) | (d > 31) | ((m > 12) & (d > 12))
    y, m, d = (np.where(bad, 0, a) for a in (y, m, d))
    return y, m, d


def _bigrams(text: str, q: int) -> list[str]:
    if not text:
        return []
    padded = f"{' ' * (q - 1)}{text}{' ' * (q - 1)}"
    return sorted({padded[i: i + q] for i in range(len(padded) - q + 1)})


def _dob_tokens(key: int) -> list[tuple[str, str]]:
    y, m, d = key // 10000, key // 100 % 100, key % 100
    return [
        ("y", str(y)), ("c", str(y // 10)),
        *[("dm", str(v)) for v in sorted({m, d})],
        ("d", str(d)), ("m", str(m)),
    ]


class _Vocabulary:
    """Tokens seen so far and the filter bits each sets (hashed once per distinct token)."""

    def __init__(self, secret: bytes, config: EncodingConfig) -> None:
        self.secret = secret
        self.config = config
        self.index: dict[tuple[str, str], int] = {}
        self.rows: list[np.ndarray] = []

    def ids(self, tokens: Iterable[tuple[str, str]]) -> list[int]:
        out = []
        for token in tokens:
            i = self.index.get(token)
            if i is None:
                i = self.index[token] = len(self.index)
                self.rows.append(self._row(token))
            out.append(i)
        return out

    def _row(self, token: tuple[str, str]) -> np.ndarray:
        """The token's bits as a packed filter: double hashing on HMAC-SHA256."""
        tag, text = token
        digest = _hmac_many(self.secret, [f"{tag}\x1f{text}".encode()])
        h1 = int.from_bytes(digest[:8], "big")
        h2 = int.from_bytes(digest[8:16], "big") | 1
        m = self.config.bits
        bits = np.zeros(m, dtype=bool)
        bits[[(h1 + i * h2) % m for i in range(self.config.k(tag))]] = True
        return np.packbits(bits, bitorder="little").view("<u8").astype(np.uint64)

    def filters(
        self, values: np.ndarray, tokenizer: Callable[[object], list[tuple[str, str]]]
    ) -> np.ndarray:
        """Packed filters (records x words) of one field, built once per distinct value."""
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        words = self.config.bits // 64
        per_unique = [self.ids(tokenizer(u)) for u in uniques]
        lengths = np.array([len(p) for p in per_unique], dtype=np.int64)
        table = np.zeros((len(uniques) + 1, words), dtype=np.uint64)  # last row: missing value
        has = np.flatnonzero(lengths > 0)
        if len(has):
            rows = np.stack(self.rows)
            flat = np.fromiter((t for i in has for t in per_unique[i]), dtype=np.int64)
            starts = np.concatenate([[0], np.cumsum(lengths[has])[:-1]])
            table[has] = np.bitwise_or.reduceat(rows[flat], starts, axis=0)
        return table[np.where(codes < 0, len(uniques), codes)]


def _canonical(values: pd.Series) -> np.ndarray:
    """Normalised names (None where empty), normalising each distinct value once."""
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    canon = np.array([normalise_name(u) or None for u in uniques] + [None], dtype=object)
    return canon[np.where(codes < 0, len(uniques), codes)]


def _block_hashes(keys: np.ndarray, secret: bytes, tag: str) -> np.ndarray:
    """Keyed 64-bit hashes of block-key strings (0 where the key is None)."""
    codes, uniques = pd.factorize(keys, use_na_sentinel=True)
    digests = _hmac_many(secret, [f"{tag}\x1f{u}".encode() for u in uniques])
    hashed = np.frombuffer(digests, dtype=">u8").reshape(-1, 4)[:, 0].astype(np.uint64)
    hashed = np.where(hashed == 0, np.uint64(1), hashed)
    return np.where(codes >= 0, np.append(hashed, np.uint64(0))[codes], np.uint64(0))


def _checked_ids(frame: pd.DataFrame, names: dict[str, str], party: str) -> pd.Series:
    """The household ids, once every column is present and every id given and unique."""
    missing = [names[c] for c in COLUMNS if names[c] not in frame.columns]
    if missing:
        raise LinkageError(
            f"{party}: columns {missing} are missing; encode needs {list(COLUMNS)} "
            "(map yours with columns={'name': 'your_column', ...})."
        )
    ids = frame[names["household_id"]].astype("string")
    bad = ids.isna().to_numpy(dtype=bool) | (ids.str.strip() == "").fillna(True).to_numpy(bool)
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + 1
        raise LinkageError(f"{party}: row {row} has no household_id; every record needs one.")
    dup = ids.duplicated().to_numpy(dtype=bool)
    if dup.any():
        row = int(np.flatnonzero(dup)[0]) + 1
        raise LinkageError(
            f"{party}: row {row} repeats a household_id of an earlier row; ids must be unique."
        )
    return ids


def _block_keys(
    name: np.ndarray, year: np.ndarray, district: np.ndarray, key: bytes
) -> np.ndarray:
    """Keyed block keys (records x 2): district + birth year, district + Soundex of the name."""
    dist_text = pd.Series(district, dtype="string")
    codes, uniques = pd.factorize(name, use_na_sentinel=True)
    sounds = np.array([_soundex(_block_word(u)) for u in uniques] + [None], dtype=object)
    words = pd.Series(sounds[np.where(codes < 0, len(uniques), codes)], dtype="string")
    block1 = (dist_text + "\x1f" + pd.Series(np.where(year > 0, year, None), dtype="string"))
    block2 = dist_text + "\x1f" + words
    return np.column_stack(
        [
            _block_hashes(block1.to_numpy(dtype=object, na_value=None), key, "block1"),
            _block_hashes(block2.to_numpy(dtype=object, na_value=None), key, "block2"),
        ]
    ).astype(np.uint64).reshape(len(name), 2)


def encode(
    frame: pd.DataFrame,
    secret: bytes | Key | KeyRing,
    *,
    party: str = "left",
    config: EncodingConfig | None = None,
    columns: Mapping[str, str] | None = None,
) -> EncodedRegistry:
    """Encode one party's records as Bloom filters and keyed block keys (run by the data owner).

    Parameters
    ----------
    frame
        One row per person with ``household_id``, ``name``, ``father_name`` (father's or
        husband's name), ``dob`` (``YYYY-MM-DD`` text or datetimes) and ``district_id``. Missing
        names or dates are allowed (they set no bits and give no block key).
    secret
        The linkage secret shared by the two parties (bytes, at least 16), or a
        :class:`~simulator.exchange.pseudonym.Key` / :class:`~simulator.exchange.pseudonym.KeyRing`.
    party
        Name of the registry, e.g. ``nser`` or ``pser`` (carried into :func:`link`'s output).
    config
        Encoding parameters (default :class:`EncodingConfig`); must match the other party's.
    columns
        Your column names for the standard ones, e.g. ``{"name": "head_name"}``.

    Returns
    -------
    EncodedRegistry

    Raises
    ------
    LinkageError
        A column is missing, or an id is missing or repeated (the message names the row).
    """
    config = config or EncodingConfig()
    key = _secret_of(secret)
    names = {c: c for c in COLUMNS} | dict(columns or {})
    ids = _checked_ids(frame, names, party)
    n = len(frame)
    vocab = _Vocabulary(key, config)
    name = _canonical(frame[names["name"]])
    father = _canonical(frame[names["father_name"]])
    y, m, d = _dob_parts(frame[names["dob"]].reset_index(drop=True))
    dob = np.where(y > 0, y * 10000 + m * 100 + d, -1)
    district = frame[names["district_id"]].astype("string").str.strip().str.lower()
    district_arr = district.astype(object).where(district.notna(), None).to_numpy(dtype=object)
    district_arr = np.where(district_arr == "", None, district_arr)

    q = config.q
    filters = (
        vocab.filters(name, lambda s: [("n", g) for g in _bigrams(s, q)])
        | vocab.filters(father, lambda s: [("f", g) for g in _bigrams(s, q)])
        | vocab.filters(np.where(dob > 0, dob, np.nan), lambda v: _dob_tokens(int(v)))
        | vocab.filters(district_arr, lambda s: [("g", s)])
    )
    block_keys = _block_keys(name, y, district_arr, key)
    log.info(
        "encoded %d records of %s: %d distinct tokens, %d without a date of birth",
        n, party, len(vocab.rows), int((y == 0).sum()),
    )
    return EncodedRegistry(
        party=party,
        ids=ids.to_numpy(dtype=object),
        filters=np.ascontiguousarray(filters).reshape(n, config.bits // 64),
        block_keys=block_keys,
        encoding=config.fingerprint(),
        key_check=_hmac_many(key, [b"madad-linkage-key-check"])[:8].hex(),
    )


