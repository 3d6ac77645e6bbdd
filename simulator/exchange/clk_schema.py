"""The linkage schema: Madad's CLK encoding written as a clkhash schema v3, and its hashing.

Madad's Bloom filters (:mod:`simulator.exchange.encoding`) follow the linkage schema v3 of
clkhash (Data61's encoder for anonlink, https://github.com/data61/clkhash, read at 0.18.3), so an
agency that does not run Madad can produce the same filters with clkhash from the same feature
table, and Madad's filters can be linked with anonlink:

* **Features.** A record becomes the clear-text feature table of :data:`FEATURES` (one column
  each, made by :func:`simulator.exchange.encoding.linkage_features`): the normalised name and
  father's name, the birth year, decade, the day and month *values* as an unordered pair (low,
  high), the day, the month and the district. It stays with the data owner; it is the CSV an
  agency gives ``anonlink hash`` / :func:`clkhash.clk.generate_clks`.
* **Tokens** (clkhash ``comparators``): names are ``{"type": "ngram", "n": q, "positional":
  false}``, i.e. the n-grams of the value padded with ``n - 1`` spaces on each side (``' a'``,
  ``'al'``, ``'li'``, ``'i '`` for ``ali``); every other feature is ``{"type": "exact"}`` (the
  whole value is one token). An empty value has no token and sets no bit.
* **Keys** (clkhash ``key_derivation``): HKDF (RFC 5869) with SHA-256, no salt, info
  ``madad-linkage-clk-v1``, derives ``2 * len(FEATURES)`` keys of 64 bytes from the secret; the
  first key of each pair (feature ``i`` uses key ``2 i``) keys that feature's hash, so the same
  bigram in the name and in the father's name sets different bits. The secret given to HKDF is
  the *text* :func:`clkhash_secret` (the base64 of the linkage key, as in the key file's
  ``secret`` value), encoded as UTF-8, which is what the clkhash command line and API receive.
* **Hash** (clkhash ``bloomfilter.blake_hash_token``, ``{"type": "blakeHash"}``): for a token
  ``t`` (UTF-8) set ``k`` bits (the feature's ``bitsPerToken``): ``BLAKE2b(t, key=field key,
  salt=str(j))`` for ``j = 0, 1, ...`` (64-byte digests) read as 32 little-endian unsigned
  16-bit integers each; the first ``k`` of them modulo ``l`` are the bit indices. The filter
  length ``l`` is a power of two. Unlike the double hashing ``h1 + i h2`` of Schnell et al.,
  the ``k`` indices are independent, which removes the structure Kroll and Steinmetzer (2015)
  exploit.
* **Bit order** (``bitarray``, big-endian): bit ``b`` of a filter is bit ``7 - b % 8`` (the most
  significant first) of byte ``b // 8``; the bytes are exactly ``bitarray.tobytes()``, whose
  base64 is an entry of anonlink's ``{"clks": [...]}`` file.

:func:`linkage_schema` gives the schema as a dictionary and :func:`save_schema` writes it as the
JSON file to hand to clkhash. Fields whose weight is 0 are ``ignored`` in the schema but keep
their place (the key of a feature depends on its position).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hazards.errors import LinkageError

__all__ = [
    "FEATURES",
    "EncodingConfig",
    "clkhash_secret",
    "field_keys",
    "linkage_schema",
    "ngrams",
    "save_schema",
    "token_bits",
]

#: HKDF ``info`` of the field keys (base64 of it in the schema): binds them to this use.
KDF_INFO = b"madad-linkage-clk-v1"
#: Bytes of each derived key (clkhash's default ``keySize``; BLAKE2b takes keys up to 64 bytes).
KEY_SIZE = 64
#: Keys clkhash derives per feature (its ``DEFAULT_NUM_HASHING_METHODS``); blakeHash uses the first.
KEYS_PER_FEATURE = 2


@dataclass(frozen=True)
class _Feature:
    identifier: str
    weight: str | None  # EncodingConfig attribute giving bitsPerToken; None: ignored column
    comparison: str  # "ngram" or "exact"
    fmt: dict
    description: str


def _int_format(low: int, high: int, what: str) -> dict:
    return {"type": "integer", "minimum": low, "maximum": high, "description": what}


_TEXT = {"type": "string", "encoding": "utf-8", "case": "lower"}

#: The feature table's columns, in schema order (the order fixes each feature's key).
FEATURES: tuple[_Feature, ...] = (
    _Feature("household_id", None, "", {"type": "string"}, "the owner's household id (not hashed)"),
    _Feature("name", "k_name", "ngram", {**_TEXT, "description": "normalised name"},
             "name, normalised by simulator.exchange.names.normalise_name"),
    _Feature("father_name", "k_father", "ngram",
             {**_TEXT, "description": "normalised father's or husband's name"},
             "father's or husband's name, normalised"),
    _Feature("birth_year", "k_year", "exact", _int_format(1850, 2100, "year of birth"),
             "year of birth"),
    _Feature("birth_decade", "k_decade", "exact", _int_format(185, 210, "year of birth // 10"),
             "decade of birth (year // 10)"),
    _Feature("birth_day_month_low", "k_day_month", "exact",
             _int_format(1, 31, "smaller of day and month"),
             "smaller of the day and month values (kept when they are transposed)"),
    _Feature("birth_day_month_high", "k_day_month", "exact",
             _int_format(1, 31, "larger of day and month"),
             "larger of the day and month values (kept when they are transposed)"),
    _Feature("birth_day", "k_day", "exact", _int_format(1, 31, "day of birth"), "day of birth"),
    _Feature("birth_month", "k_month", "exact", _int_format(1, 31, "month of birth"),
             "month of birth (up to 31 when day and month may be transposed)"),
    _Feature("district_id", "k_district", "exact", {**_TEXT, "description": "district code"},
             "2023 census district code, lower case"),
)


@dataclass(frozen=True)
class EncodingConfig:
    """Bloom-filter parameters; both parties must use the same ones (they make the schema).

    ``bits`` is the filter length ``l`` (a power of two, 64 to 65536), ``q`` the n of the name
    n-grams, and ``k_*`` the number of bits each token of a feature sets (clkhash's
    ``bitsPerToken``: the feature's weight in the Dice score; 0 leaves the feature out).
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
        if not 64 <= self.bits <= 65536 or self.bits & (self.bits - 1):
            raise LinkageError(
                f"bits must be a power of two between 64 and 65536 (clkhash's blakeHash needs "
                f"one), got {self.bits}."
            )
        if self.q < 1:
            raise LinkageError(f"q must be >= 1, got {self.q}.")
        for name, value in asdict(self).items():
            if name.startswith("k_") and not 0 <= value <= 64:
                raise LinkageError(f"{name} must be between 0 and 64, got {value}.")

    def bits_per_token(self, feature: _Feature) -> int:
        """Bits each token of ``feature`` sets (0 for the ignored id column)."""
        return 0 if feature.weight is None else int(getattr(self, feature.weight))


def linkage_schema(config: EncodingConfig | None = None) -> dict:
    """The clkhash linkage schema (version 3) of ``config``, as a JSON-ready dictionary.

    Hand it (:func:`save_schema`) with the feature table and the secret text
    (:func:`clkhash_secret`) to clkhash: its filters equal :func:`~simulator.exchange.encoding.encode`'s.
    """
    config = config or EncodingConfig()
    features: list[dict] = []
    for f in FEATURES:
        k = config.bits_per_token(f)
        if k == 0:
            features.append({"identifier": f.identifier, "ignored": True,
                             "description": f.description})
            continue
        comparison = ({"type": "ngram", "n": config.q, "positional": False}
                      if f.comparison == "ngram" else {"type": "exact"})
        features.append({
            "identifier": f.identifier,
            "description": f.description,
            "format": dict(f.fmt),
            "hashing": {
                "comparison": comparison,
                "strategy": {"bitsPerToken": k},
                "hash": {"type": "blakeHash"},
                "missingValue": {"sentinel": "", "replaceWith": ""},
            },
        })
    return {
        "version": 3,
        "clkConfig": {
            "l": config.bits,
            "kdf": {
                "type": "HKDF",
                "hash": "SHA256",
                "info": base64.b64encode(KDF_INFO).decode("ascii"),
                "keySize": KEY_SIZE,
            },
        },
        "features": features,
    }


def schema_json(config: EncodingConfig | None = None) -> str:
    """:func:`linkage_schema` as canonical JSON text (sorted keys, 2-space indent)."""
    return json.dumps(linkage_schema(config), indent=2, sort_keys=True) + "\n"


def schema_fingerprint(config: EncodingConfig | None = None, *, extra: str = "") -> str:
    """Short hash of the schema (and ``extra``, e.g. the variant table's digest)."""
    body = schema_json(config) + "\x1f" + extra
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def save_schema(path: str | Path, config: EncodingConfig | None = None) -> Path:
    """Write the linkage schema JSON file an agency passes to clkhash / ``anonlink hash``."""
    path = Path(path)
    path.write_text(schema_json(config), encoding="utf-8")
    return path


def clkhash_secret(secret: bytes) -> str:
    """The secret *text* clkhash is given: the standard base64 of the linkage key (the value of
    ``secret`` in a key file written by :meth:`~simulator.exchange.pseudonym.KeyRing.save`)."""
    return base64.b64encode(secret).decode("ascii")


def field_keys(secret: bytes) -> list[bytes]:
    """The BLAKE2b key of each feature of :data:`FEATURES` (clkhash ``generate_key_lists``)."""
    ikm = clkhash_secret(secret).encode("utf-8")
    n = len(FEATURES) * KEYS_PER_FEATURE
    okm = HKDF(algorithm=hashes.SHA256(), length=n * KEY_SIZE, salt=None, info=KDF_INFO).derive(ikm)
    return [okm[i * KEYS_PER_FEATURE * KEY_SIZE:][:KEY_SIZE] for i in range(len(FEATURES))]


def ngrams(word: str, n: int) -> list[str]:
    """clkhash's non-positional n-grams of ``word``: padded with ``n - 1`` spaces each side."""
    if not word:
        return []
    if n > 1:
        word = f"{' ' * (n - 1)}{word}{' ' * (n - 1)}"
    return [word[i: i + n] for i in range(len(word) - n + 1)]


def token_bits(token: str, k: int, key: bytes, bits: int) -> np.ndarray:
    """The ``k`` filter indices of one token (clkhash ``blake_hash_token``; may repeat)."""
    data = token.encode("utf-8")
    digests = b"".join(
        hashlib.blake2b(data, key=key, salt=str(j).encode()).digest() for j in range((k + 31) // 32)
    )
    return np.frombuffer(digests, dtype="<u2")[:k].astype(np.int64) % bits
