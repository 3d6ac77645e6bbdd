"""The ``.madadpkg`` container: its byte layout, its encryption, and the checks on reading it.

Layout (all integers big-endian):

======  =====  ==============================================================================
offset  bytes  field
======  =====  ==============================================================================
0       8      magic ``MADADPKG``
8       2      format version (uint16), currently 1
10      4      manifest length *M* (uint32, at most 1 MiB)
14      *M*    manifest: UTF-8 JSON, sorted keys, no whitespace
14+M    8      ciphertext length *C* (uint64)
22+M    *C*    AES-256-GCM ciphertext of the Parquet payload followed by its 16-byte tag
22+M+C  2      signature length (uint16), always 64
24+M+C  64     Ed25519 signature over ``"madad-exchange/v1 signature\\0"`` + bytes [0, 22+M+C)
======  =====  ==============================================================================

The file ends exactly after the signature; a shorter file is *truncated*, a longer one is
refused too.

Encryption: a fresh ephemeral X25519 key per package agrees a secret with the recipient's
X25519 key; HKDF-SHA256 (info binds both public keys) turns it into a 256-bit AES-GCM key; the
exact manifest bytes are the associated data, so the manifest cannot be altered or swapped
without the tag failing. The signature covers header, manifest and ciphertext.

Reading is in steps, none of which trusts what the one before has not checked: :func:`_parse`
(framing, version, manifest encoding), :func:`_check_signature` (the expected sender signed
it), :func:`_check_fields` (the signed manifest is complete) and :func:`_open` (addressed to
this agency, AES-GCM tag, payload digest, row count and schema).
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hazards.errors import ExchangeError
from simulator.exchange.common import _clip, _unb64
from simulator.exchange.keys import (
    KEY_BYTES,
    SIGNATURE_BYTES,
    PrivateIdentity,
    PublicIdentity,
    _raw,
)
from simulator.exchange.payload import _columns

#: Version of the package container and manifest written by :func:`~simulator.exchange.packages.pack`.
FORMAT_VERSION = 1
#: Versions :func:`~simulator.exchange.packages.unpack` and ``verify`` understand.
SUPPORTED_VERSIONS = frozenset({1})
MAGIC = b"MADADPKG"
PACKAGE_SUFFIX = ".madadpkg"
MAX_MANIFEST_BYTES = 1 << 20
TAG_BYTES = 16
NONCE_BYTES = 12

_HEADER = struct.Struct(">8sHI")
_U64 = struct.Struct(">Q")
_U16 = struct.Struct(">H")
_SIGN_CONTEXT = b"madad-exchange/v1 signature\x00"
_KDF_INFO = b"madad-exchange/v1 aes-256-gcm\x00"
_CHUNK = 1 << 26  # AES-GCM update size [bytes]


# ---------------------------------------------------------------------------------------------
# Cryptography
# ---------------------------------------------------------------------------------------------


def _derive_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=_KDF_INFO + ephemeral + recipient
    ).derive(shared)


def _chunks(data: bytes | memoryview) -> Iterator[memoryview]:
    view = memoryview(data)
    for start in range(0, len(view), _CHUNK):
        yield view[start : start + _CHUNK]


def _encrypt(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(aad)
    parts = [enc.update(chunk) for chunk in _chunks(plaintext)]
    parts.append(enc.finalize())
    parts.append(enc.tag)
    return b"".join(parts)


def _decrypt(key: bytes, nonce: bytes, ciphertext: memoryview, aad: bytes) -> bytes:
    body, tag = ciphertext[:-TAG_BYTES], bytes(ciphertext[-TAG_BYTES:])
    dec = Cipher(algorithms.AES(key), modes.GCM(nonce, tag)).decryptor()
    dec.authenticate_additional_data(aad)
    parts = [dec.update(chunk) for chunk in _chunks(body)]
    parts.append(dec.finalize())  # raises InvalidTag before any plaintext is used
    return b"".join(parts)


# ---------------------------------------------------------------------------------------------
# Container
# ---------------------------------------------------------------------------------------------


@dataclass
class _Package:
    source: str
    data: bytes
    version: int
    manifest_bytes: bytes
    manifest: dict
    ciphertext: memoryview
    signed_end: int
    signature: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _read(path: str | Path) -> tuple[str, bytes]:
    src = str(path)
    try:
        return src, Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise ExchangeError(f"{src}: no such package file.") from exc
    except OSError as exc:
        raise ExchangeError(f"{src}: cannot read the package ({exc}).") from exc


def _parse(src: str, data: bytes) -> _Package:
    """Check the framing, version and manifest encoding; nothing is trusted yet."""
    n = len(data)

    def need(end: int, what: str) -> None:
        if end > n:
            raise ExchangeError(
                f"{src}: truncated package: the {what} needs {end - n:,} more bytes than the "
                f"file's {n:,}. Ask the sender to send it again; nothing was imported."
            )

    if n < len(MAGIC):
        if MAGIC.startswith(data):
            need(_HEADER.size, "header")
        raise ExchangeError(f"{src}: not a Madad exchange package (no MADADPKG header).")
    if data[: len(MAGIC)] != MAGIC:
        raise ExchangeError(f"{src}: not a Madad exchange package (no MADADPKG header).")
    need(_HEADER.size, "header")
    _, version, manifest_len = _HEADER.unpack_from(data)
    if version not in SUPPORTED_VERSIONS:
        raise ExchangeError(
            f"{src}: unknown format version {version}; this Madad reads version(s) "
            f"{sorted(SUPPORTED_VERSIONS)}. Upgrade Madad, or ask the sender to pack with "
            f"version {FORMAT_VERSION}; nothing was imported."
        )
    if manifest_len > MAX_MANIFEST_BYTES:
        raise ExchangeError(
            f"{src}: manifest length {manifest_len:,} exceeds {MAX_MANIFEST_BYTES:,} bytes: the "
            "package is corrupted or was tampered with."
        )
    pos = _HEADER.size
    need(pos + manifest_len, "manifest")
    manifest_bytes = data[pos : pos + manifest_len]
    pos += manifest_len
    need(pos + _U64.size, "payload length")
    (ct_len,) = _U64.unpack_from(data, pos)
    pos += _U64.size
    need(pos + ct_len, "encrypted payload")
    ciphertext = memoryview(data)[pos : pos + ct_len]
    signed_end = pos = pos + ct_len
    need(pos + _U16.size, "signature length")
    (sig_len,) = _U16.unpack_from(data, pos)
    pos += _U16.size
    if sig_len != SIGNATURE_BYTES:
        raise ExchangeError(
            f"{src}: signature length {sig_len}, expected {SIGNATURE_BYTES}: the package is "
            "corrupted or was tampered with."
        )
    need(pos + SIGNATURE_BYTES, "signature")
    signature = data[pos : pos + SIGNATURE_BYTES]
    pos += SIGNATURE_BYTES
    if pos != n:
        raise ExchangeError(
            f"{src}: {n - pos:,} unexpected bytes after the signature: the package was tampered "
            "with or two files were joined."
        )
    try:
        manifest = json.loads(manifest_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExchangeError(
            f"{src}: the manifest is unreadable: the package was tampered with or corrupted."
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != "madad-exchange":
        raise ExchangeError(
            f"{src}: the manifest is not a Madad exchange manifest: tampered or corrupted."
        )
    if manifest.get("format_version") != version:
        raise ExchangeError(
            f"{src}: the header says format version {version} but the manifest says "
            f"{_clip(manifest.get('format_version'))}: the package was tampered with."
        )
    return _Package(src, data, version, manifest_bytes, manifest, ciphertext, signed_end, signature)


def _party(manifest: dict, role: str, src: str) -> tuple[str, str]:
    party = manifest.get(role)
    if (
        not isinstance(party, dict)
        or not isinstance(party.get("agency_id"), str)
        or not isinstance(party.get("key_id"), str)
    ):
        raise ExchangeError(f"{src}: the manifest names no {role}: tampered or corrupted.")
    return party["agency_id"], party["key_id"]


def _check_signature(pkg: _Package, sender: PublicIdentity) -> None:
    claimed, claimed_key = _party(pkg.manifest, "sender", pkg.source)
    if claimed != sender.agency_id:
        raise ExchangeError(
            f"{pkg.source}: wrong sender: the package says it is from {_clip(claimed)}, not from "
            f"the expected sender {sender.agency_id!r}; refused. If you expected a package from "
            f"{_clip(claimed)}, give that agency's identity."
        )
    if claimed_key != sender.key_id:
        raise ExchangeError(
            f"{pkg.source}: wrong sender key: signed with key id {_clip(claimed_key)} but "
            f"{sender.agency_id}'s identity has key id {sender.key_id}. Get {sender.agency_id}'s "
            "current identity file (keys rotated?) or treat the package as forged."
        )
    view = memoryview(pkg.data)[: pkg.signed_end]
    try:
        sender.signing_key.verify(pkg.signature, _SIGN_CONTEXT + view)
    except InvalidSignature as exc:
        raise ExchangeError(
            f"{pkg.source}: signature check failed: the package was tampered with after signing "
            f"or was not signed by {sender.agency_id} (key id {sender.key_id}); nothing was imported."
        ) from exc


_REQUIRED_FIELDS: dict[str, type | tuple[type, ...]] = {
    "package_id": str,
    "created_utc": str,
    "dataset": str,
    "purpose": str,
    "rows": int,
    "columns": list,
    "payload": dict,
    "encryption": dict,
}


def _check_fields(pkg: _Package) -> tuple[bytes, bytes]:
    """Check the (signed) manifest's fields; return the ephemeral public key and the nonce."""
    m, src = pkg.manifest, pkg.source
    for name, typ in _REQUIRED_FIELDS.items():
        if not isinstance(m.get(name), typ) or isinstance(m.get(name), bool):
            raise ExchangeError(f"{src}: manifest field {name!r} is missing or malformed.")
    payload, enc = m["payload"], m["encryption"]
    if (
        payload.get("format") != "parquet"
        or not isinstance(payload.get("bytes"), int)
        or not isinstance(payload.get("sha256"), str)
    ):
        raise ExchangeError(f"{src}: manifest field 'payload' is malformed.")
    if (enc.get("algorithm"), enc.get("key_agreement"), enc.get("kdf")) != (
        "AES-256-GCM",
        "X25519",
        "HKDF-SHA256",
    ):
        raise ExchangeError(
            f"{src}: unsupported encryption {_clip(enc)}; expected AES-256-GCM/X25519/HKDF-SHA256."
        )
    if len(pkg.ciphertext) != payload["bytes"] + TAG_BYTES:
        raise ExchangeError(
            f"{src}: the encrypted payload has {len(pkg.ciphertext):,} bytes but the manifest "
            f"announces {payload['bytes']:,} + {TAG_BYTES}: tampered or corrupted."
        )
    ephemeral = _unb64(enc.get("ephemeral_public_key"), KEY_BYTES, "ephemeral_public_key", src)
    nonce = _unb64(enc.get("nonce"), NONCE_BYTES, "nonce", src)
    return ephemeral, nonce


def _open(pkg: _Package, recipient: PrivateIdentity, sender: PublicIdentity) -> bytes:
    """Run every check on a parsed package and return the verified Parquet payload."""
    _check_signature(pkg, sender)
    ephemeral, nonce = _check_fields(pkg)
    m, src = pkg.manifest, pkg.source
    to, to_key = _party(m, "recipient", src)
    if to != recipient.agency_id:
        raise ExchangeError(
            f"{src}: wrong recipient: the package is addressed to {_clip(to)}, not to "
            f"{recipient.agency_id!r}; refused and nothing imported. Only {_clip(to)} can open it."
        )
    if to_key != recipient.key_id:
        raise ExchangeError(
            f"{src}: wrong recipient key: the package is for {to} key id {_clip(to_key)}, but "
            f"this private key has key id {recipient.key_id}. Use the key file that matches "
            "(keys rotated?) or ask the sender to pack again for your current identity."
        )
    own = _raw(recipient.encryption_key.public_key())
    try:
        shared = recipient.encryption_key.exchange(
            x25519.X25519PublicKey.from_public_bytes(ephemeral)
        )
        key = _derive_key(shared, ephemeral, own)
        payload = _decrypt(key, nonce, pkg.ciphertext, pkg.manifest_bytes)
    except (InvalidTag, ValueError) as exc:
        raise ExchangeError(
            f"{src}: decryption failed (AES-GCM tag): the package was tampered with or was not "
            f"encrypted for this key ({recipient.agency_id}, key id {recipient.key_id})."
        ) from exc
    digest = hashlib.sha256(payload).hexdigest()
    if len(payload) != m["payload"]["bytes"] or digest != m["payload"]["sha256"]:
        raise ExchangeError(
            f"{src}: payload SHA-256 {digest} does not match the manifest: refused."
        )
    try:
        meta = pq.ParquetFile(pa.BufferReader(payload))
        rows, columns = meta.metadata.num_rows, _columns(meta.schema_arrow)
    except pa.ArrowException as exc:
        raise ExchangeError(f"{src}: the payload is not readable Parquet ({exc}).") from exc
    if rows != m["rows"]:
        raise ExchangeError(
            f"{src}: the payload has {rows:,} rows but the manifest says {m['rows']:,}."
        )
    if columns != m["columns"]:
        raise ExchangeError(f"{src}: the payload's columns do not match the manifest's schema.")
    return payload


