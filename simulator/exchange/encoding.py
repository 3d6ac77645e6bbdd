"""Encoding for privacy-preserving linkage: clkhash-compatible CLK Bloom filters and keyed block keys.

Run by each data owner on its own registry with the shared linkage secret (:func:`encode`); only
the resulting :class:`EncodedRegistry` (household ids, filters, block keys) leaves the owner.
:func:`linkage_features` gives the clear-text feature table the filters are made of (it stays
with the owner); the filters follow clkhash's linkage schema v3 (keyed BLAKE2b, HKDF field keys,
clkhash's n-grams and bit order; :mod:`simulator.exchange.clk_schema`), so clkhash given that
table, :func:`~simulator.exchange.clk_schema.save_schema`'s schema and the secret text makes the
same filters. The block keys are Madad's own (keyed HMAC-SHA256). The scheme is described in
:mod:`simulator.exchange.linkage`.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hazards.errors import LinkageError
from simulator.exchange.clk_schema import (
    FEATURES,
    EncodingConfig,
    field_keys,
    ngrams,
    schema_fingerprint,
    schema_json,
    token_bits,
)
from simulator.exchange.common import STEP_ENCODE, ProgressCallback, _Ticker
from simulator.exchange.names import _block_word, _soundex, _variants, normalise_name
from simulator.exchange.pseudonym import Key, KeyRing, _hmac_many

log = logging.getLogger(__name__)

__all__ = [
    "COLUMNS", "FEATURES", "EncodedRegistry", "EncodingConfig", "encode", "linkage_features",
]

#: Columns :func:`encode` reads (rename yours with ``columns=``).
COLUMNS = ("household_id", "name", "father_name", "dob", "district_id")
#: Version of the encoding file format (1: Madad's HMAC double hashing, no longer read).
FORMAT_VERSION = 2


def _fingerprint(config: EncodingConfig) -> str:
    """Hash of the schema and of the variant table: equal on both sides or no link."""
    return schema_fingerprint(config, extra=_variants().digest)


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
        Bloom filters, shape (records, bits / 64), ``uint64`` words holding clkhash's bytes:
        bit ``b`` of a filter is bit ``7 - b % 8`` of byte ``b // 8`` of the row
        (``filters[i].tobytes()`` is clkhash's ``bitarray.tobytes()``).
    block_keys
        ``uint64`` of shape (records, passes); 0 means no key (the field was missing).
    encoding
        Fingerprint of the linkage schema (:class:`EncodingConfig`) and variant table used.
    key_check
        Check value of the linkage secret (not the secret): both sides must match; empty for
        filters made outside Madad (:meth:`from_clks`), which cannot be checked.
    schema
        The clkhash linkage schema (JSON text) the filters were made with.
    """

    party: str
    ids: np.ndarray
    filters: np.ndarray
    block_keys: np.ndarray
    encoding: str
    key_check: str
    schema: str = ""

    def __len__(self) -> int:
        return len(self.ids)

    @cached_property
    def popcounts(self) -> np.ndarray:
        """Set bits of each filter (int32)."""
        return _popcount(self.filters).sum(axis=1, dtype=np.int32)

    def _meta(self) -> dict[str, object]:
        return {
            "format": "madad-linkage-encoding",
            "version": FORMAT_VERSION,
            "scheme": "clkhash-v3",
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
        frame.attrs.update(self._meta(), schema=self.schema)
        return frame

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, **meta: object) -> EncodedRegistry:
        """The inverse of :meth:`to_frame` (metadata from ``frame.attrs`` or keywords)."""
        meta = {**frame.attrs, **meta}
        if int(meta.get("version", FORMAT_VERSION)) != FORMAT_VERSION:
            raise LinkageError(
                f"encoding format version {meta.get('version')} is not read any more (Madad's "
                f"filters follow clkhash's schema since version {FORMAT_VERSION}); re-encode "
                "the registry with `madad exchange encode`."
            )
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
            schema=str(meta.get("schema", "")),
        )

    def to_clks(self) -> dict[str, list[str]]:
        """The filters as anonlink's CLK JSON (``{"clks": [base64, ...]}``, record order)."""
        raw = np.ascontiguousarray(self.filters, dtype="<u8").view(np.uint8)
        return {"clks": [base64.b64encode(row.tobytes()).decode("ascii") for row in raw]}

    @classmethod
    def from_clks(
        cls,
        clks: Mapping[str, Iterable[str]] | Iterable[str],
        ids: Iterable[object],
        *,
        party: str,
        config: EncodingConfig | None = None,
        key_check: str = "",
    ) -> EncodedRegistry:
        """Filters made by clkhash (``anonlink hash``) from a :func:`linkage_features` table.

        ``clks`` is anonlink's CLK JSON (or its list of base64 strings), ``ids`` the household
        ids in the same order, ``config`` the parameters the schema was written from. The result
        has no block keys, so :func:`~simulator.exchange.matching.link` compares all pairs, and
        no key check unless ``key_check`` is given (the other side's
        :attr:`EncodedRegistry.key_check` for the same secret).
        """
        config = config or EncodingConfig()
        items = list(clks["clks"] if isinstance(clks, Mapping) else clks)
        ids_arr = pd.array([str(i) for i in ids], dtype="string")
        if len(ids_arr) != len(items):
            raise LinkageError(f"{party}: {len(items)} CLKs but {len(ids_arr)} ids.")
        if pd.Series(ids_arr).duplicated().any():
            raise LinkageError(f"{party}: household ids repeat; ids must be unique.")
        width = config.bits // 8
        try:
            raw = [base64.b64decode(c, validate=True) for c in items]
        except (ValueError, TypeError) as exc:
            raise LinkageError(f"{party}: a CLK is not base64 ({exc}).") from exc
        bad = [i for i, r in enumerate(raw) if len(r) != width]
        if bad:
            raise LinkageError(
                f"{party}: CLK {bad[0] + 1} has {len(raw[bad[0]]) * 8} bits, the schema "
                f"{config.bits}."
            )
        filters = np.frombuffer(b"".join(raw), dtype="<u8").reshape(len(raw), width // 8)
        return cls(
            party=party,
            ids=np.asarray(ids_arr, dtype=object),
            filters=filters.astype(np.uint64),
            block_keys=np.zeros((len(raw), 0), dtype=np.uint64),
            encoding=_fingerprint(config),
            key_check=key_check,
            schema=schema_json(config),
        )

    def save(self, path: str | Path) -> Path:
        """Write the encoding as Parquet (metadata in the schema's ``madad`` key)."""
        path = Path(path)
        frame = self.to_frame()
        table = pa.Table.from_pandas(frame.drop(columns=["clk"]), preserve_index=False)
        table = table.add_column(1, "clk", self._clk_array())
        meta = {**(table.schema.metadata or {}), b"madad": json.dumps(self._meta()).encode()}
        if self.schema:
            meta[b"clkhash_schema"] = self.schema.encode()
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
        schema = (table.schema.metadata or {}).get(b"clkhash_schema", b"").decode()
        return cls.from_frame(frame, **json.loads(raw), schema=schema)


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


def _feature_filters(
    values: np.ndarray, key: bytes, k: int, config: EncodingConfig, ngram: bool
) -> np.ndarray:
    """Packed filters (records x words) of one feature, built once per distinct value.

    Each distinct token is hashed once (clkhash's blakeHash with the feature's key); the filter of
    a value is the OR of its tokens' rows. ``values`` holds strings, ``None`` where missing.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    words = config.bits // 64
    vocab: dict[str, int] = {}
    rows: list[np.ndarray] = []
    per_unique: list[list[int]] = []
    for value in uniques:
        ids = []
        for token in ngrams(value, config.q) if ngram else [value]:
            i = vocab.get(token)
            if i is None:
                i = vocab[token] = len(rows)
                bits = np.zeros(config.bits, dtype=bool)
                bits[token_bits(token, k, key, config.bits)] = True
                rows.append(np.packbits(bits, bitorder="big").view("<u8"))
            ids.append(i)
        per_unique.append(ids)
    lengths = np.array([len(p) for p in per_unique], dtype=np.int64)
    table = np.zeros((len(uniques) + 1, words), dtype=np.uint64)  # last row: missing value
    has = np.flatnonzero(lengths > 0)
    if len(has):
        stacked = np.stack(rows).astype(np.uint64)
        flat = np.fromiter((t for i in has for t in per_unique[i]), dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths[has])[:-1]])
        table[has] = np.bitwise_or.reduceat(stacked[flat], starts, axis=0)
    return table[np.where(codes < 0, len(uniques), codes)]


def _int_text(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Integers as decimal text (``None`` where not ``present``)."""
    return np.where(present, values.astype(str).astype(object), None)


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


def _prepare(
    frame: pd.DataFrame, columns: Mapping[str, str] | None, party: str
) -> tuple[pd.Series, dict[str, np.ndarray], np.ndarray]:
    """Checked ids, the feature values (strings, ``None`` where missing) and the birth years."""
    names = {c: c for c in COLUMNS} | dict(columns or {})
    ids = _checked_ids(frame, names, party)
    name = _canonical(frame[names["name"]])
    father = _canonical(frame[names["father_name"]])
    y, m, d = _dob_parts(frame[names["dob"]].reset_index(drop=True))
    has = y > 0
    district = frame[names["district_id"]].astype("string").str.strip().str.lower()
    district_arr = district.astype(object).where(district.notna(), None).to_numpy(dtype=object)
    district_arr = np.where(district_arr == "", None, district_arr)
    values = {
        "household_id": ids.to_numpy(dtype=object),
        "name": name,
        "father_name": father,
        "birth_year": _int_text(y, has),
        "birth_decade": _int_text(y // 10, has),
        "birth_day_month_low": _int_text(np.minimum(m, d), has),
        "birth_day_month_high": _int_text(np.maximum(m, d), has),
        "birth_day": _int_text(d, has),
        "birth_month": _int_text(m, has),
        "district_id": district_arr,
    }
    return ids, values, y


def linkage_features(
    frame: pd.DataFrame, *, party: str = "left", columns: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The clear-text feature table the Bloom filters are made of (it never leaves the owner).

    One string column per feature of :data:`~simulator.exchange.clk_schema.FEATURES`, in schema
    order (``household_id``, normalised ``name`` and ``father_name``, ``birth_year``,
    ``birth_decade``, ``birth_day_month_low``/``_high``, ``birth_day``, ``birth_month``,
    ``district_id``), ``""`` where a value is missing. Written as CSV (header included), it is
    what clkhash / ``anonlink hash`` takes with the schema of
    :func:`~simulator.exchange.clk_schema.save_schema` and the secret text
    :func:`~simulator.exchange.clk_schema.clkhash_secret` to make the filters of :func:`encode`.

    Raises
    ------
    LinkageError
        As :func:`encode`.
    """
    _, values, _ = _prepare(frame, columns, party)
    return pd.DataFrame(
        {f.identifier: pd.Series(values[f.identifier], dtype=object).fillna("").astype(str)
         for f in FEATURES}
    )


def encode(
    frame: pd.DataFrame,
    secret: bytes | Key | KeyRing,
    *,
    party: str = "left",
    config: EncodingConfig | None = None,
    columns: Mapping[str, str] | None = None,
    on_progress: ProgressCallback | None = None,
) -> EncodedRegistry:
    """Encode one party's records as Bloom filters and keyed block keys (run by the data owner).

    The filters are those clkhash makes from :func:`linkage_features` with the schema of
    ``config`` (:func:`~simulator.exchange.clk_schema.linkage_schema`) and the secret text
    :func:`~simulator.exchange.clk_schema.clkhash_secret` ``(secret)``.

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
    on_progress
        ``on_progress(step, done, total)`` (:data:`~simulator.exchange.common.ProgressCallback`):
        told ``"encoding"`` as each part is done: the records read and normalised, then each
        feature's filters, then the block keys (``total`` = number of features + 2).

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
    ticker = _Ticker(on_progress, STEP_ENCODE, len(FEATURES) + 2)
    ids, values, y = _prepare(frame, columns, party)
    ticker.add(1)
    n = len(frame)
    filters = np.zeros((n, config.bits // 64), dtype=np.uint64)
    for feature, field_key in zip(FEATURES, field_keys(key), strict=True):
        k = config.bits_per_token(feature)
        if k:
            filters |= _feature_filters(
                values[feature.identifier], field_key, k, config, feature.comparison == "ngram"
            )
        ticker.add(1)
    block_keys = _block_keys(values["name"], y, values["district_id"], key)
    ticker.finish()
    log.info(
        "encoded %d records of %s (clkhash schema v3, %d bits), %d without a date of birth",
        n, party, config.bits, int((y == 0).sum()),
    )
    return EncodedRegistry(
        party=party,
        ids=ids.to_numpy(dtype=object),
        filters=np.ascontiguousarray(filters).reshape(n, config.bits // 64),
        block_keys=block_keys,
        encoding=_fingerprint(config),
        key_check=_hmac_many(key, [b"madad-linkage-key-check"])[:8].hex(),
        schema=schema_json(config),
    )
