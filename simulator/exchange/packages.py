"""Signed, encrypted registry exchange between agencies, with an append-only audit log.

Federal and provincial agencies (BISP, the provincial social protection authorities, the PDMAs)
exchange pseudonymised registry tables as single-file *exchange packages*. A package is
encrypted for one receiving agency and signed by the sending agency; the receiver verifies
everything before a single row is read, and both sides append what they did to a hash-chained
audit log.

The wing is in modules, each readable on its own; this one holds the public operations
(:func:`pack`, :func:`unpack`, :func:`unpack_to`, :func:`verify`) and re-exports the rest, so
``from simulator.exchange.packages import ...`` keeps working for every name:

* :mod:`simulator.exchange.keys` -- agency identities (:func:`keygen`, :func:`load_identity`,
  :func:`load_private`);
* :mod:`simulator.exchange.container` -- the ``.madadpkg`` byte layout, its encryption and the
  checks on reading it;
* :mod:`simulator.exchange.payload` -- the Parquet payload and the refusal of raw CNICs;
* :mod:`simulator.exchange.audit` -- the hash-chained audit log (:func:`verify_audit_log`).

Agency identities
    :func:`keygen` makes an Ed25519 signing key pair and an X25519 encryption key pair. The
    private keys go to ``<agency>.key.pem`` (mode 0600, optionally passphrase-protected); the
    public keys go to ``<agency>.identity.json``, the file an agency shares with its partners.
    The *key id* is the first 128 bits of SHA-256 over both public keys; compare it over the
    phone or in a letter before trusting an identity file received by email.

Package
    One ``.madadpkg`` file (layout in :mod:`simulator.exchange.container`): a header, a signed
    manifest, the AES-256-GCM ciphertext of the Parquet payload and an Ed25519 signature. The
    manifest carries the format version, a package id, sender and recipient (agency id and key
    id), dataset, purpose, creation time (UTC), row count, column schema, the payload's size and
    SHA-256, the AES-GCM nonce and the sender's ephemeral X25519 public key.

Nothing in the manifest is a row of data, but it is readable without the key (a courier or
gateway can :func:`verify` a package): dataset, purpose, row count and column names travel in
clear.

Raw CNICs never travel: :func:`pack` refuses a frame with a CNIC-named column or a text column
holding 13-digit values (``12345-1234567-1`` or ``1234512345671``); pseudonymise first.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from cryptography.hazmat.primitives.asymmetric import x25519

from hazards.errors import ExchangeError
from simulator.exchange.audit import GENESIS, AuditSummary, _append_audit, verify_audit_log
from simulator.exchange.common import _atomic_write, _b64, _canonical, _clip, _now
from simulator.exchange.container import (
    _CHUNK,
    _HEADER,
    _KDF_INFO,
    _SIGN_CONTEXT,
    _U16,
    _U64,
    FORMAT_VERSION,
    MAGIC,
    MAX_MANIFEST_BYTES,
    NONCE_BYTES,
    PACKAGE_SUFFIX,
    SUPPORTED_VERSIONS,
    TAG_BYTES,
    _check_fields,
    _check_signature,
    _decrypt,
    _derive_key,
    _encrypt,
    _open,
    _Package,
    _parse,
    _party,
    _read,
)
from simulator.exchange.keys import (
    KEY_BYTES,
    SIGNATURE_BYTES,
    KeyFiles,
    PrivateIdentity,
    PublicIdentity,
    _raw,
    _who,
    is_passphrase_protected,
    keygen,
    load_identity,
    load_private,
)
from simulator.exchange.payload import _cnic_columns, _columns, _decode_payload, _payload

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


#: Names kept importable from this module for code written before the split (and for tests
#: that patch them here: :func:`pack` and :func:`unpack` look them up in this module).
_REEXPORTED = (
    GENESIS, AuditSummary, _append_audit, verify_audit_log, _atomic_write, _b64, _canonical,
    _clip, _now, _CHUNK, _HEADER, _KDF_INFO, _SIGN_CONTEXT, _U16, _U64, FORMAT_VERSION, MAGIC,
    MAX_MANIFEST_BYTES, NONCE_BYTES, PACKAGE_SUFFIX, SUPPORTED_VERSIONS, TAG_BYTES, _check_fields,
    _check_signature, _decrypt, _derive_key, _encrypt, _open, _Package, _parse, _party, _read,
    KEY_BYTES, SIGNATURE_BYTES, KeyFiles, PrivateIdentity, PublicIdentity,
    is_passphrase_protected, keygen, load_identity, load_private, _raw, _who, _cnic_columns,
    _columns, _decode_payload, _payload,
)


def _check_labels(dataset: str, purpose: str) -> None:
    """The dataset name and the purpose must be non-empty texts of bounded length."""
    for name, value, limit in (("dataset", dataset, 200), ("purpose", purpose, 2000)):
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            raise ExchangeError(f"{name} must be a non-empty text of at most {limit} characters.")


def _manifest(
    sender: PrivateIdentity,
    recipient: PublicIdentity,
    dataset: str,
    purpose: str,
    payload: bytes,
    schema: pa.Schema,
    rows: int,
    ephemeral_raw: bytes,
    nonce: bytes,
) -> dict:
    """The manifest of a new package (signed, and bound to the ciphertext as associated data)."""
    return {
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


def _seal(
    manifest: dict,
    payload: bytes,
    sender: PrivateIdentity,
    recipient: PublicIdentity,
    ephemeral: x25519.X25519PrivateKey,
    nonce: bytes,
) -> bytes:
    """Encrypt the payload for the recipient, frame it with the manifest and sign the whole."""
    manifest_bytes = _canonical(manifest)
    key = _derive_key(
        ephemeral.exchange(recipient.encryption_key),
        _raw(ephemeral.public_key()),
        _raw(recipient.encryption_key),
    )
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
    return body + _U16.pack(SIGNATURE_BYTES) + signature


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
        _check_labels(dataset, purpose)
        payload, schema, rows, _ = _payload(frame_or_parquet)
    except ExchangeError as exc:
        if audit_log is not None:
            _append_audit(audit_log, {**entry, "outcome": "refused", "reason": str(exc)})
        raise
    ephemeral = x25519.X25519PrivateKey.generate()
    nonce = os.urandom(NONCE_BYTES)
    manifest = _manifest(sender, recipient, dataset, purpose, payload, schema, rows,
                         _raw(ephemeral.public_key()), nonce)
    package = _seal(manifest, payload, sender, recipient, ephemeral, nonce)
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

