"""Signed, encrypted registry exchange between agencies, with an append-only audit log.

Federal and provincial agencies (BISP, the provincial social protection authorities, the PDMAs)
exchange pseudonymised registry tables as single-file *exchange packages*. A package is
encrypted for one receiving agency and signed by the sending agency; the receiver verifies
everything before a single row is read, and both sides append what they did to a hash-chained
audit log.

Agency identities
    :func:`keygen` makes an Ed25519 signing key pair and an X25519 encryption key pair. The
    private keys go to ``<agency>.key.pem`` (mode 0600, optionally passphrase-protected); the
    public keys go to ``<agency>.identity.json``, the file an agency shares with its partners.
    The *key id* is the first 128 bits of SHA-256 over both public keys; compare it over the
    phone or in a letter before trusting an identity file received by email.

Container (``.madadpkg``; all integers big-endian)

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
refused too. The manifest carries the format version, a package id, sender and recipient
(agency id and key id), dataset, purpose, creation time (UTC), row count, column schema, the
payload's size and SHA-256, the AES-GCM nonce and the sender's ephemeral X25519 public key.

Encryption: a fresh ephemeral X25519 key per package agrees a secret with the recipient's
X25519 key; HKDF-SHA256 (info binds both public keys) turns it into a 256-bit AES-GCM key; the
exact manifest bytes are the associated data, so the manifest cannot be altered or swapped
without the tag failing. The signature covers header, manifest and ciphertext.

Nothing in the manifest is a row of data, but it is readable without the key (a courier or
gateway can :func:`verify` a package): dataset, purpose, row count and column names travel in
clear.

Raw CNICs never travel: :func:`pack` refuses a frame with a CNIC-named column or a text column
holding 13-digit values (``12345-1234567-1`` or ``1234512345671``); pseudonymise first.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import re
import struct
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hazards.errors import ExchangeError
from simulator.registry import CNIC_COLUMN_NAMES

__all__ = [
    "AuditSummary",
    "ExchangeError",
    "FORMAT_VERSION",
    "KeyFiles",
    "PrivateIdentity",
    "PublicIdentity",
    "keygen",
    "load_identity",
    "is_passphrase_protected",
    "load_private",
    "pack",
    "unpack",
    "unpack_to",
    "verify",
    "verify_audit_log",
]

log = logging.getLogger(__name__)


#: Version of the package container and manifest written by :func:`pack`.
FORMAT_VERSION = 1
#: Versions :func:`unpack` and :func:`verify` understand.
SUPPORTED_VERSIONS = frozenset({1})
MAGIC = b"MADADPKG"
PACKAGE_SUFFIX = ".madadpkg"
MAX_MANIFEST_BYTES = 1 << 20
SIGNATURE_BYTES = 64
TAG_BYTES = 16
NONCE_BYTES = 12
KEY_BYTES = 32
#: Audit log ``prev_sha256`` of the first line.
GENESIS = "0" * 64

_HEADER = struct.Struct(">8sHI")
_U64 = struct.Struct(">Q")
_U16 = struct.Struct(">H")
_SIGN_CONTEXT = b"madad-exchange/v1 signature\x00"
_KDF_INFO = b"madad-exchange/v1 aes-256-gcm\x00"
_KEY_ID_CONTEXT = b"madad-key-id/v1\x00"
_IDENTITY_CONTEXT = b"madad-identity/v1\x00"
_CHUNK = 1 << 26  # AES-GCM update size [bytes]
_AGENCY_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_CNIC_NAME_RE = re.compile(
    r"^(?:.*[_\s-])?(?:cnic|nic|national_id|nationalid|b_form|bform)(?:[_\s-]?(?:no|num|number))?$",
    re.IGNORECASE,
)
#: A raw CNIC: 13 digits, with or without the dashes of the 5-7-1 layout.
_CNIC_VALUE_RE = r"^\s*\d{5}-?\d{7}-?\d\s*$"
_PEM_BLOCK_RE = re.compile(
    r"-----BEGIN ((?:ENCRYPTED )?PRIVATE KEY)-----\r?\n.*?-----END \1-----", re.DOTALL
)
_META_RE = re.compile(r"^(agency_id|key_id|created_utc):[ \t]*(\S+)[ \t]*$", re.MULTILINE)


# ---------------------------------------------------------------------------------------------
# Identities
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicIdentity:
    """An agency's public keys, as read from its shareable identity file.

    Attributes
    ----------
    agency_id : str
        Short lower-case agency name, e.g. ``"bisp"`` or ``"pspa-punjab"``.
    key_id : str
        32 hex digits: SHA-256 over both public keys, truncated to 128 bits.
    signing_key : Ed25519PublicKey
        Verifies the agency's package signatures.
    encryption_key : X25519PublicKey
        Packages for the agency are encrypted to this key.
    created_utc : str
        When the keys were made (ISO 8601, UTC).
    """

    agency_id: str
    key_id: str
    signing_key: ed25519.Ed25519PublicKey = field(repr=False)
    encryption_key: x25519.X25519PublicKey = field(repr=False)
    created_utc: str = ""


@dataclass(frozen=True)
class PrivateIdentity:
    """An agency's private keys (keep secret), as read from its ``.key.pem`` file.

    Attributes
    ----------
    agency_id, key_id : str
        As in :class:`PublicIdentity`.
    signing_key : Ed25519PrivateKey
        Signs the packages this agency sends.
    encryption_key : X25519PrivateKey
        Opens the packages sent to this agency.
    """

    agency_id: str
    key_id: str
    signing_key: ed25519.Ed25519PrivateKey = field(repr=False)
    encryption_key: x25519.X25519PrivateKey = field(repr=False)
    created_utc: str = ""

    def public(self) -> PublicIdentity:
        """The matching :class:`PublicIdentity`."""
        return PublicIdentity(
            self.agency_id,
            self.key_id,
            self.signing_key.public_key(),
            self.encryption_key.public_key(),
            self.created_utc,
        )


@dataclass(frozen=True)
class KeyFiles:
    """What :func:`keygen` wrote.

    Attributes
    ----------
    private_key : Path
        ``<agency>.key.pem``, mode 0600: both private keys. Never share it.
    identity : Path
        ``<agency>.identity.json``: both public keys. Share it with partner agencies.
    key_id : str
        The key id to confirm with partners out of band.
    """

    private_key: Path
    identity: Path
    key_id: str


def _raw(key: Any) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _key_id(signing: ed25519.Ed25519PublicKey, encryption: x25519.X25519PublicKey) -> str:
    return hashlib.sha256(_KEY_ID_CONTEXT + _raw(signing) + _raw(encryption)).hexdigest()[:32]


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


def _check_agency(agency_id: Any, source: str = "agency id") -> str:
    if not isinstance(agency_id, str) or not _AGENCY_RE.match(agency_id):
        raise ExchangeError(
            f"{source}: {_clip(agency_id)} is not a valid agency id. Use 2-64 lower-case letters, "
            "digits and dashes, e.g. 'bisp', 'pspa-punjab', 'sspa-sindh', 'pdma-sindh'."
        )
    return agency_id


def _passphrase_bytes(passphrase: str | bytes | None) -> bytes | None:
    if passphrase is None:
        return None
    data = passphrase.encode() if isinstance(passphrase, str) else bytes(passphrase)
    if len(data) < 8:
        raise ExchangeError("the passphrase is too short; use at least 8 characters.")
    return data


def _write_new(path: Path, data: bytes, mode: int, *, overwrite: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError as exc:
        raise ExchangeError(
            f"{path} already exists; keys are not replaced silently. Pass overwrite=True "
            "(--force) to replace them: packages already sent to the old keys can then no "
            "longer be opened."
        ) from exc
    with os.fdopen(fd, "wb") as fh:
        if hasattr(os, "fchmod"):
            os.fchmod(fh.fileno(), mode)
        fh.write(data)


def _identity_body(
    agency_id: str, key_id: str, created: str, sign_pub: bytes, enc_pub: bytes
) -> dict:
    return {
        "format": "madad-identity",
        "version": 1,
        "agency_id": agency_id,
        "key_id": key_id,
        "created_utc": created,
        "signing_key": {"algorithm": "Ed25519", "public_b64": _b64(sign_pub)},
        "encryption_key": {"algorithm": "X25519", "public_b64": _b64(enc_pub)},
    }


def keygen(
    agency_id: str,
    out_dir: str | Path,
    *,
    passphrase: str | bytes | None = None,
    overwrite: bool = False,
) -> KeyFiles:
    """Make an agency's signing (Ed25519) and encryption (X25519) key pairs.

    Parameters
    ----------
    agency_id : str
        Lower-case agency name, e.g. ``"bisp"``, ``"pspa-punjab"``, ``"sspa-sindh"``.
    out_dir : str or Path
        Folder to write ``<agency>.key.pem`` and ``<agency>.identity.json`` into (created).
    passphrase : str or bytes, optional
        Encrypt the private keys with this passphrase (at least 8 characters).
    overwrite : bool, default False
        Replace existing key files of the same agency in ``out_dir``.

    Returns
    -------
    KeyFiles
        Paths of the private key file (mode 0600) and the public identity file, and the key id.

    Raises
    ------
    ExchangeError
        Bad agency id, short passphrase, or key files already present without ``overwrite``.
    """
    _check_agency(agency_id)
    secret = _passphrase_bytes(passphrase)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    signing = ed25519.Ed25519PrivateKey.generate()
    encryption = x25519.X25519PrivateKey.generate()
    key_id = _key_id(signing.public_key(), encryption.public_key())
    created = _now()
    algorithm: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(secret) if secret else serialization.NoEncryption()
    )
    pem = [
        k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, algorithm)
        for k in (signing, encryption)
    ]
    header = (
        f"Madad private keys of agency {agency_id}: Ed25519 (signing), then X25519 (encryption).\n"
        "Keep this file secret (mode 0600): whoever holds it can sign packages as this agency\n"
        "and open packages sent to it. Share only the .identity.json file.\n"
        f"agency_id: {agency_id}\nkey_id: {key_id}\ncreated_utc: {created}\n"
    )
    private_path = out / f"{agency_id}.key.pem"
    identity_path = out / f"{agency_id}.identity.json"
    if not overwrite:
        for path in (private_path, identity_path):
            if path.exists():
                raise ExchangeError(
                    f"{path} already exists; keys are not replaced silently. Pass overwrite=True "
                    "(--force) to replace them: packages already sent to the old keys can then "
                    "no longer be opened."
                )
    _write_new(private_path, header.encode() + b"".join(pem), 0o600, overwrite=overwrite)
    body = _identity_body(
        agency_id, key_id, created, _raw(signing.public_key()), _raw(encryption.public_key())
    )
    body["self_signature_b64"] = _b64(signing.sign(_IDENTITY_CONTEXT + _canonical(body)))
    _write_new(
        identity_path, (json.dumps(body, indent=2) + "\n").encode(), 0o644, overwrite=overwrite
    )
    log.info("made keys for %s (key id %s) in %s", agency_id, key_id, out)
    return KeyFiles(private_path, identity_path, key_id)


def load_identity(identity: PublicIdentity | str | Path) -> PublicIdentity:
    """Read and check an agency's public identity file.

    Parameters
    ----------
    identity : PublicIdentity, str or Path
        An identity already loaded (returned as is) or the path of an ``.identity.json`` file.

    Returns
    -------
    PublicIdentity

    Raises
    ------
    ExchangeError
        The file is missing or malformed, its key id does not match its keys, or its
        self-signature fails (the file was edited).
    """
    if isinstance(identity, PublicIdentity):
        return identity
    path = Path(identity)
    src = str(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ExchangeError(
            f"{src}: no such identity file. Ask the agency for its .identity.json."
        ) from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExchangeError(f"{src}: not a readable identity file ({exc}).") from exc
    if not isinstance(doc, dict) or doc.get("format") != "madad-identity":
        raise ExchangeError(f'{src}: not a Madad identity file (no "format": "madad-identity").')
    if doc.get("version") != 1:
        raise ExchangeError(
            f"{src}: unknown identity version {_clip(doc.get('version'))}; this Madad reads version 1."
        )
    try:
        agency_id = _check_agency(doc["agency_id"], src)
        sign_raw = _unb64(doc["signing_key"]["public_b64"], KEY_BYTES, "signing_key", src)
        enc_raw = _unb64(doc["encryption_key"]["public_b64"], KEY_BYTES, "encryption_key", src)
        key_id, created, self_sig = doc["key_id"], doc["created_utc"], doc["self_signature_b64"]
    except (KeyError, TypeError) as exc:
        raise ExchangeError(f"{src}: identity file lacks the field {exc}.") from exc
    signing = ed25519.Ed25519PublicKey.from_public_bytes(sign_raw)
    encryption = x25519.X25519PublicKey.from_public_bytes(enc_raw)
    if key_id != _key_id(signing, encryption):
        raise ExchangeError(
            f"{src}: key_id {_clip(key_id)} does not match the keys: the file was edited."
        )
    body = _identity_body(str(agency_id), str(key_id), str(created), sign_raw, enc_raw)
    try:
        signing.verify(
            _unb64(self_sig, SIGNATURE_BYTES, "self_signature_b64", src),
            _IDENTITY_CONTEXT + _canonical(body),
        )
    except InvalidSignature as exc:
        raise ExchangeError(
            f"{src}: the identity's self-signature fails: the file was edited."
        ) from exc
    return PublicIdentity(agency_id, key_id, signing, encryption, str(created))


def load_private(
    key: PrivateIdentity | str | Path, *, passphrase: str | bytes | None = None
) -> PrivateIdentity:
    """Read an agency's private key file written by :func:`keygen`.

    Parameters
    ----------
    key : PrivateIdentity, str or Path
        Keys already loaded (returned as is) or the path of a ``.key.pem`` file.
    passphrase : str or bytes, optional
        The passphrase, when the keys were made with one.

    Returns
    -------
    PrivateIdentity

    Raises
    ------
    ExchangeError
        Missing file, readable by group or others (POSIX), wrong or missing passphrase,
        or not a Madad key file.
    """
    if isinstance(key, PrivateIdentity):
        return key
    path = Path(key)
    src = str(path)
    try:
        st = path.stat()
        text = path.read_text(encoding="ascii")
    except FileNotFoundError as exc:
        raise ExchangeError(
            f"{src}: no such private key file. Make one with `madad exchange keygen`."
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ExchangeError(f"{src}: not a readable private key file ({exc}).") from exc
    if os.name == "posix" and st.st_mode & 0o077:
        raise ExchangeError(
            f"{src}: private key file is readable by other users (mode {st.st_mode & 0o777:o}); "
            f"run `chmod 600 {src}` and check who may have copied it."
        )
    meta = dict(_META_RE.findall(text))
    blocks = [m.group(0).encode() for m in _PEM_BLOCK_RE.finditer(text)]
    if "agency_id" not in meta or "key_id" not in meta or len(blocks) != 2:
        raise ExchangeError(
            f"{src}: not a Madad private key file (needs agency_id:, key_id: and two PEM keys)."
        )
    encrypted = "ENCRYPTED PRIVATE KEY" in text
    if encrypted and passphrase is None:
        raise ExchangeError(
            f"{src}: the private keys are passphrase-protected; give the passphrase "
            "(the CLI reads $MADAD_KEY_PASSPHRASE or asks)."
        )
    secret = (
        (passphrase.encode() if isinstance(passphrase, str) else passphrase) if encrypted else None
    )
    keys = []
    for block in blocks:
        try:
            keys.append(serialization.load_pem_private_key(block, password=secret))
        except (ValueError, TypeError) as exc:
            why = "wrong passphrase" if encrypted else "damaged key"
            raise ExchangeError(f"{src}: cannot read the private keys ({why}).") from exc
    signing = next((k for k in keys if isinstance(k, ed25519.Ed25519PrivateKey)), None)
    encryption = next((k for k in keys if isinstance(k, x25519.X25519PrivateKey)), None)
    if signing is None or encryption is None:
        raise ExchangeError(f"{src}: needs one Ed25519 and one X25519 private key.")
    key_id = _key_id(signing.public_key(), encryption.public_key())
    if meta["key_id"] != key_id:
        raise ExchangeError(f"{src}: key_id line {_clip(meta['key_id'])} does not match the keys.")
    agency_id = _check_agency(meta["agency_id"], src)
    return PrivateIdentity(agency_id, key_id, signing, encryption, meta.get("created_utc", ""))


def is_passphrase_protected(path: str | Path) -> bool:
    """Whether a ``.key.pem`` file written by :func:`keygen` is passphrase-protected."""
    try:
        return "ENCRYPTED PRIVATE KEY" in Path(path).read_text(encoding="ascii", errors="replace")
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------
# Payload: Parquet bytes, CNIC refusal, schema
# ---------------------------------------------------------------------------------------------


def _cnic_columns(table: pa.Table) -> list[str]:
    """Columns of ``table`` that hold or are named like raw CNICs, each with the reason."""
    found = []
    for name in table.column_names:
        if name.lower() in CNIC_COLUMN_NAMES or _CNIC_NAME_RE.match(name):
            found.append(f"{name!r} (its name)")
            continue
        column = table.column(name)
        typ = column.type
        if pa.types.is_dictionary(typ):
            value_type = typ.value_type
            arrays = [chunk.dictionary for chunk in column.chunks]
        else:
            value_type = typ
            arrays = list(column.chunks)
        if not (
            pa.types.is_string(value_type)
            or pa.types.is_large_string(value_type)
            or pa.types.is_string_view(value_type)
        ):
            continue
        hits = sum(
            int(pc.sum(pc.match_substring_regex(a, _CNIC_VALUE_RE)).as_py() or 0) for a in arrays
        )
        if hits:
            found.append(f"{name!r} ({hits:,} values of 13 digits)")
    return found


def _columns(schema: pa.Schema) -> list[dict[str, str]]:
    return [{"name": f.name, "type": str(f.type)} for f in schema]


def _payload(frame_or_parquet: pd.DataFrame | str | Path) -> tuple[bytes, pa.Schema, int, str]:
    """Parquet bytes, their schema and row count, and a description of the source."""
    if isinstance(frame_or_parquet, pd.DataFrame):
        source = "the frame"
        try:
            table = pa.Table.from_pandas(frame_or_parquet)
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise ExchangeError(
                f"the frame cannot be written as Parquet ({exc}); give plain columns "
                "(a GeoDataFrame: write it to GeoParquet and pack the file)."
            ) from exc
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="zstd")
        payload = buf.getvalue()
    else:
        path = Path(frame_or_parquet)
        source = str(path)
        try:
            payload = path.read_bytes()
            table = pq.read_table(pa.BufferReader(payload))
        except FileNotFoundError as exc:
            raise ExchangeError(f"{source}: no such file to pack.") from exc
        except (OSError, pa.ArrowException) as exc:
            raise ExchangeError(f"{source}: not a readable Parquet file ({exc}).") from exc
    cnic = _cnic_columns(table)
    if cnic:
        raise ExchangeError(
            f"{source}: refused: column {', '.join(cnic)} looks like raw CNICs, which never leave "
            "the data owner. Pseudonymise first (replace CNICs with keyed-hash pseudonyms, "
            "simulator.pseudonym) and drop the raw column, then pack again."
        )
    schema = pq.read_schema(pa.BufferReader(payload))
    return payload, schema, table.num_rows, source


def _decode_payload(payload: bytes) -> pd.DataFrame:
    """Read the verified Parquet payload into a frame, restoring pyarrow-backed dtypes."""
    table = pq.read_table(pa.BufferReader(payload))
    frame = table.to_pandas()
    for col in (table.schema.pandas_metadata or {}).get("columns", []):
        name, numpy_type = col.get("field_name"), col.get("numpy_type")
        if (
            isinstance(numpy_type, str)
            and numpy_type.endswith("[pyarrow]")
            and name in frame.columns
            and not isinstance(frame[name].dtype, pd.ArrowDtype)
        ):
            frame[name] = pd.arrays.ArrowExtensionArray(table.column(name))
    return frame


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


# ---------------------------------------------------------------------------------------------
# Public operations
# ---------------------------------------------------------------------------------------------


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


def _who(identity: PublicIdentity | PrivateIdentity) -> dict[str, str]:
    return {"agency_id": identity.agency_id, "key_id": identity.key_id}


def pack(
    frame_or_parquet: pd.DataFrame | str | Path,
    *,
    sender_private: PrivateIdentity | str | Path,
    recipient_public_identity: PublicIdentity | str | Path,
    dataset: str,
    purpose: str,
    out: str | Path,
    passphrase: str | bytes | None = None,
    audit_log: str | Path | None = None,
) -> dict:
    """Encrypt a table for one agency, sign it, and write it as one ``.madadpkg`` file.

    Parameters
    ----------
    frame_or_parquet : DataFrame, str or Path
        A pseudonymised table, or the path of a Parquet/GeoParquet file (sent byte for byte).
    sender_private : PrivateIdentity, str or Path
        The sending agency's private keys (``.key.pem``).
    recipient_public_identity : PublicIdentity, str or Path
        The receiving agency's identity (``.identity.json``).
    dataset : str
        Name of what is sent, e.g. ``"nser-extract-2025q1"``.
    purpose : str
        Why it is sent (the legal basis or agreement clause), e.g. ``"dedup flood response"``.
    out : str or Path
        Package file to write (replaced atomically).
    passphrase : str or bytes, optional
        Passphrase of ``sender_private`` when it is a protected file.
    audit_log : str or Path, optional
        Audit log to append one line to, for a refusal too.

    Returns
    -------
    dict
        The manifest written.

    Raises
    ------
    ExchangeError
        A raw CNIC column (pseudonymise first), an unreadable input, bad keys or identity,
        or an empty dataset name or purpose.
    """
    sender = load_private(sender_private, passphrase=passphrase)
    recipient = load_identity(recipient_public_identity)
    out = Path(out)
    entry: dict[str, Any] = {
        "operation": "pack",
        "direction": "outgoing",
        "agency": _who(sender),
        "counterparty": _who(recipient),
        "dataset": dataset,
        "purpose": purpose,
        "package": out.name,
    }
    try:
        for name, value, limit in (("dataset", dataset, 200), ("purpose", purpose, 2000)):
            if not isinstance(value, str) or not value.strip() or len(value) > limit:
                raise ExchangeError(
                    f"{name} must be a non-empty text of at most {limit} characters."
                )
        payload, schema, rows, _ = _payload(frame_or_parquet)
    except ExchangeError as exc:
        if audit_log is not None:
            _append_audit(audit_log, {**entry, "outcome": "refused", "reason": str(exc)})
        raise
    ephemeral = x25519.X25519PrivateKey.generate()
    ephemeral_raw = _raw(ephemeral.public_key())
    recipient_raw = _raw(recipient.encryption_key)
    nonce = os.urandom(NONCE_BYTES)
    manifest = {
        "format": "madad-exchange",
        "format_version": FORMAT_VERSION,
        "package_id": uuid.uuid4().hex,
        "created_utc": _now(),
        "sender": _who(sender),
        "recipient": _who(recipient),
        "dataset": dataset,
        "purpose": purpose,
        "rows": rows,
        "columns": _columns(schema),
        "payload": {
            "format": "parquet",
            "bytes": len(payload),
            "sha256": hashlib.sha256(payload).hexdigest(),
        },
        "encryption": {
            "algorithm": "AES-256-GCM",
            "key_agreement": "X25519",
            "kdf": "HKDF-SHA256",
            "ephemeral_public_key": _b64(ephemeral_raw),
            "nonce": _b64(nonce),
        },
        "signature": {"algorithm": "Ed25519"},
    }
    manifest_bytes = _canonical(manifest)
    key = _derive_key(ephemeral.exchange(recipient.encryption_key), ephemeral_raw, recipient_raw)
    ciphertext = _encrypt(key, nonce, payload, manifest_bytes)
    body = b"".join(
        [
            _HEADER.pack(MAGIC, FORMAT_VERSION, len(manifest_bytes)),
            manifest_bytes,
            _U64.pack(len(ciphertext)),
            ciphertext,
        ]
    )
    signature = sender.signing_key.sign(_SIGN_CONTEXT + body)
    package = body + _U16.pack(SIGNATURE_BYTES) + signature
    _atomic_write(out, package)
    if audit_log is not None:
        _append_audit(
            audit_log,
            {
                **entry,
                "outcome": "ok",
                "package_id": manifest["package_id"],
                "rows": rows,
                "columns": len(schema),
                "payload_sha256": manifest["payload"]["sha256"],
                "package_sha256": hashlib.sha256(package).hexdigest(),
                "package_bytes": len(package),
            },
        )
    log.info("packed %s rows of %s for %s into %s", rows, dataset, recipient.agency_id, out)
    return manifest


def _receive(
    path: str | Path,
    recipient_private: PrivateIdentity | str | Path,
    sender_public_identity: PublicIdentity | str | Path,
    passphrase: str | bytes | None,
    audit_log: str | Path | None,
) -> tuple[bytes, dict]:
    recipient = load_private(recipient_private, passphrase=passphrase)
    sender = load_identity(sender_public_identity)
    entry: dict[str, Any] = {
        "operation": "unpack",
        "direction": "incoming",
        "agency": _who(recipient),
        "counterparty": _who(sender),
        "package": Path(path).name,
    }
    pkg = None
    try:
        src, data = _read(path)
        entry["package_sha256"] = hashlib.sha256(data).hexdigest()
        entry["package_bytes"] = len(data)
        pkg = _parse(src, data)
        payload = _open(pkg, recipient, sender)
    except ExchangeError as exc:
        if audit_log is not None:
            if pkg is not None and isinstance(pkg.manifest.get("package_id"), str):
                entry["package_id"] = pkg.manifest["package_id"][:64]
            _append_audit(audit_log, {**entry, "outcome": "refused", "reason": str(exc)})
        log.warning("refused package %s", path)
        raise
    m = pkg.manifest
    if audit_log is not None:
        _append_audit(
            audit_log,
            {
                **entry,
                "outcome": "ok",
                "dataset": m["dataset"],
                "purpose": m["purpose"],
                "package_id": m["package_id"],
                "rows": m["rows"],
                "columns": len(m["columns"]),
                "payload_sha256": m["payload"]["sha256"],
            },
        )
    log.info(
        "verified package %s: %s rows of %s from %s",
        path,
        m["rows"],
        m["dataset"],
        sender.agency_id,
    )
    return payload, m


def unpack(
    path: str | Path,
    *,
    recipient_private: PrivateIdentity | str | Path,
    sender_public_identity: PublicIdentity | str | Path,
    passphrase: str | bytes | None = None,
    audit_log: str | Path | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Verify a package completely, then decrypt and read its table.

    Checks in order, before any row is read: the container is complete and well formed (not
    truncated, nothing appended), the format version is known, the sender named in the manifest
    is the expected one and its Ed25519 signature holds, the package is addressed to this agency
    and key, the AES-GCM tag holds (manifest bound as associated data), and the payload's
    SHA-256, row count and column schema match the manifest.

    Parameters
    ----------
    path : str or Path
        The ``.madadpkg`` file.
    recipient_private : PrivateIdentity, str or Path
        This agency's private keys.
    sender_public_identity : PublicIdentity, str or Path
        Identity of the agency the package is expected from.
    passphrase : str or bytes, optional
        Passphrase of ``recipient_private`` when it is a protected file.
    audit_log : str or Path, optional
        Audit log to append one line to (``refused`` with the reason when a check fails).

    Returns
    -------
    frame : DataFrame
        The table as packed.
    manifest : dict
        The verified manifest.

    Raises
    ------
    ExchangeError
        Any check fails; nothing is returned or imported.
    """
    payload, manifest = _receive(
        path, recipient_private, sender_public_identity, passphrase, audit_log
    )
    return _decode_payload(payload), manifest


def unpack_to(
    path: str | Path,
    out: str | Path,
    *,
    recipient_private: PrivateIdentity | str | Path,
    sender_public_identity: PublicIdentity | str | Path,
    passphrase: str | bytes | None = None,
    audit_log: str | Path | None = None,
) -> dict:
    """Like :func:`unpack`, but write the verified Parquet payload to ``out`` byte for byte.

    ``out`` is written (atomically) only after every check has passed.

    Returns
    -------
    dict
        The verified manifest.

    Raises
    ------
    ExchangeError
        Any check fails; ``out`` is not created.
    """
    payload, manifest = _receive(
        path, recipient_private, sender_public_identity, passphrase, audit_log
    )
    _atomic_write(Path(out), payload)
    return manifest


def verify(path: str | Path, sender_public_identity: PublicIdentity | str | Path) -> dict:
    """Check a package's structure and signature without decrypting it (for a courier).

    Parameters
    ----------
    path : str or Path
        The ``.madadpkg`` file.
    sender_public_identity : PublicIdentity, str or Path
        Identity of the agency the package is expected from.

    Returns
    -------
    dict
        The signed manifest (the payload itself stays unread and encrypted).

    Raises
    ------
    ExchangeError
        Truncated, malformed, unknown version, wrong sender or failing signature.
    """
    sender = load_identity(sender_public_identity)
    pkg = _parse(*_read(path))
    _check_signature(pkg, sender)
    _check_fields(pkg)
    _party(pkg.manifest, "recipient", pkg.source)
    return pkg.manifest


# ---------------------------------------------------------------------------------------------
# Audit log
# ---------------------------------------------------------------------------------------------


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
