"""Signed, encrypted registry exchange between agencies, with an append-only audit log.

Federal and provincial agencies (BISP, the provincial social protection authorities, the PDMAs)
exchange pseudonymised registry tables as single-file *exchange packages*. A package is
encrypted for one receiving agency and signed by the sending agency; the receiver verifies
everything before a single row is read, and both sides append what they did to a hash-chained
audit log, which also refuses a package opened a second time (a replay).

The wing is in modules, each readable on its own; this one holds the public operations
(:func:`pack`, :func:`unpack`, :func:`unpack_to`, :func:`verify`) and re-exports the rest, so
``from simulator.exchange.packages import ...`` keeps working for every name:

* :mod:`simulator.exchange.keys` -- agency identities (:func:`keygen`, :func:`load_identity`,
  :func:`load_private`), also as an age identity and an OpenSSH signing key;
* :mod:`simulator.exchange.container` -- the package (a tar of ``payload.age``,
  ``manifest.json`` and its SSH signature ``manifest.json.sig``) and the checks on reading it;
* :mod:`simulator.exchange.payload` -- the Parquet payload and the refusal of raw CNICs;
* :mod:`simulator.exchange.audit` -- the hash-chained audit log (:func:`verify_audit_log`).

Agency identities
    :func:`keygen` makes an Ed25519 signing key pair and an X25519 encryption key pair. The
    private keys go to ``<agency>.key.pem`` (mode 0600, optionally passphrase-protected); the
    public keys go to ``<agency>.identity.json``, the file an agency shares with its partners.
    The *key id* is the first 128 bits of SHA-256 over both public keys; compare it over the
    phone or in a letter before trusting an identity file received by email. The same keys are
    written in standard formats: ``<agency>.age-key.txt`` (age identity, secret) and
    ``<agency>.allowed_signers`` (OpenSSH signing key, public).

Package
    One ``.madadpkg`` file, a plain tar archive of standard files (layout in
    :mod:`simulator.exchange.container`): ``payload.age``, the Parquet payload encrypted with age
    to the recipient's X25519 key; ``manifest.json``, naming the format version, a package id
    (UUID4), sender and recipient (agency id and key id), dataset, purpose, creation time (UTC),
    row count, column schema, and the size and SHA-256 of the payload and of ``payload.age``;
    and ``manifest.json.sig``, the sender's SSH signature (Ed25519) of the manifest. ``tar``,
    ``ssh-keygen -Y verify`` and ``age -d`` check and open a package without Madad.

Both :func:`pack` and :func:`unpack_to` stream: the Parquet file is read, encrypted and written
in chunks (and scanned for raw CNICs batch by batch), so memory stays flat with the table's
size.

Each operation takes an optional ``on_progress(step, done, total)``
(:data:`~simulator.exchange.common.ProgressCallback`), told at chunk boundaries how many rows
have been scanned and bytes encrypted, checked or decrypted, e.g. for a progress bar; it
changes nothing in what is written.

Nothing in the manifest is a row of data, but it is readable without the key (a courier or
gateway can :func:`verify` a package): dataset, purpose, row count and column names travel in
clear.

Raw CNICs never travel: :func:`pack` refuses a frame with a CNIC-named column or a text column
holding 13-digit values (``12345-1234567-1`` or ``1234512345671``); pseudonymise first.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hazards.errors import ExchangeError
from simulator.exchange.audit import (
    GENESIS,
    AuditSummary,
    _append_audit,
    _opened,
    verify_audit_log,
)
from simulator.exchange.common import (
    PROGRESS_BYTES,
    STEP_ENCRYPT,
    STEP_SCAN,
    ProgressCallback,
    _atomic_write,
    _b64,
    _canonical,
    _check_text,
    _clip,
    _now,
    _Ticker,
)
from simulator.exchange.container import (
    _CHUNK,
    AGE_FORMAT,
    BLOCK,
    FORMAT_VERSION,
    MANIFEST_MEMBER,
    MAX_MANIFEST_BYTES,
    PACKAGE_SUFFIX,
    PAYLOAD_MEMBER,
    SIGNATURE_MEMBER,
    SUPPORTED_VERSIONS,
    _archive_end,
    _authenticate,
    _check_addressee,
    _check_ciphertext,
    _check_fields,
    _check_signature,
    _decrypt,
    _decrypt_to,
    _encrypt,
    _HashingReader,
    _HashingWriter,
    _load,
    _open,
    _Package,
    _pad,
    _parse,
    _party,
    _read,
    _sshsig_sign,
    _tar_header,
)
from simulator.exchange.keys import (
    KEY_BYTES,
    SIGNATURE_BYTES,
    SSH_NAMESPACE,
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
    GENESIS, AuditSummary, _append_audit, _opened, verify_audit_log, _atomic_write, _b64,
    _canonical, _clip, _now, _CHUNK, AGE_FORMAT, BLOCK, FORMAT_VERSION, MANIFEST_MEMBER,
    MAX_MANIFEST_BYTES, PACKAGE_SUFFIX, PAYLOAD_MEMBER, SIGNATURE_MEMBER, SUPPORTED_VERSIONS,
    _authenticate, _check_addressee, _check_ciphertext, _check_fields, _check_signature,
    _decrypt, _decrypt_to, _encrypt, _open, _Package, _parse, _party, _read, KEY_BYTES,
    SIGNATURE_BYTES, SSH_NAMESPACE, KeyFiles, PrivateIdentity, PublicIdentity,
    is_passphrase_protected, keygen, load_identity, load_private, _raw, _who, _cnic_columns,
    _columns, _decode_payload, _payload,
)

#: Rows per batch when a Parquet file is scanned for raw CNICs before packing.
SCAN_BATCH_ROWS = 256_000


def _check_labels(dataset: str, purpose: str) -> None:
    """The dataset name and the purpose: non-empty, bounded, one line of printable text."""
    _check_text("dataset", dataset, 200)
    _check_text("purpose", purpose, 2000)


def _refuse_cnic(source: str, found: list[str]) -> ExchangeError:
    return ExchangeError(
        f"{source}: refused: column {', '.join(found)} looks like raw CNICs, which never leave "
        "the data owner. Pseudonymise first (replace CNICs with keyed-hash pseudonyms, "
        "simulator.exchange.pseudonym) and drop the raw column, then pack again."
    )


def _scan(path: Path, on_progress: ProgressCallback | None = None) -> tuple[pa.Schema, int]:
    """Schema and row count of a Parquet file, refused when it holds raw CNICs.

    Read batch by batch (:data:`SCAN_BATCH_ROWS` rows, within one row group at a time), so a
    national extract is checked without being held in memory; ``on_progress`` is told the rows
    checked after each batch (step :data:`~simulator.exchange.common.STEP_SCAN`).
    """
    source = str(path)
    try:
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
        ticker = _Ticker(on_progress, STEP_SCAN, parquet.metadata.num_rows)
        found = _cnic_columns(schema.empty_table())
        for group in range(parquet.metadata.num_row_groups):
            if found:
                break
            # A fresh reader per row group: one reader over the whole file keeps buffers
            # alive (its memory grew with the file's size: about 1 GB at 35 M rows).
            with pq.ParquetFile(path) as part:
                for batch in part.iter_batches(batch_size=SCAN_BATCH_ROWS, row_groups=[group]):
                    found = _cnic_columns(pa.Table.from_batches([batch], schema=batch.schema))
                    if found:
                        break
                    ticker.add(batch.num_rows)
    except FileNotFoundError as exc:
        raise ExchangeError(f"{source}: no such file to pack.") from exc
    except (OSError, pa.ArrowException) as exc:
        raise ExchangeError(f"{source}: not a readable Parquet file ({exc}).") from exc
    if found:
        raise _refuse_cnic(source, found)
    ticker.finish()
    return schema, parquet.metadata.num_rows


def _scan_telling(path: Path, on_progress: ProgressCallback | None) -> tuple[pa.Schema, int]:
    """:func:`_scan`, given ``on_progress`` only when there is one (tests replace :func:`_scan`
    of this module by a one-argument function)."""
    return _scan(path) if on_progress is None else _scan(path, on_progress)


def _manifest(
    sender: PrivateIdentity,
    recipient: PublicIdentity,
    dataset: str,
    purpose: str,
    schema: pa.Schema,
    rows: int,
    payload: _HashingReader,
    ciphertext: _HashingWriter,
) -> dict:
    """The manifest of a new package (signed by the sender in ``manifest.json.sig``)."""
    return {
        "format": "madad-exchange",
        "format_version": FORMAT_VERSION,
        "package_id": str(uuid.uuid4()),
        "created_utc": _now(),
        "sender": _who(sender),
        "recipient": _who(recipient),
        "dataset": dataset,
        "purpose": purpose,
        "rows": rows,
        "columns": _columns(schema),
        "payload": {
            "format": "parquet",
            "bytes": payload.bytes,
            "sha256": payload.sha256.hexdigest(),
        },
        "encryption": {
            "format": AGE_FORMAT,
            "member": PAYLOAD_MEMBER,
            "recipient": recipient.age_recipient,
            "bytes": ciphertext.bytes,
            "sha256": ciphertext.sha256.hexdigest(),
        },
        "signature": {
            "format": "sshsig",
            "member": SIGNATURE_MEMBER,
            "namespace": SSH_NAMESPACE,
            "hash": "sha512",
        },
    }


def _seal(
    source: Path,
    out: Path,
    sender: PrivateIdentity,
    recipient: PublicIdentity,
    dataset: str,
    purpose: str,
    schema: pa.Schema,
    rows: int,
    on_progress: ProgressCallback | None = None,
) -> tuple[dict, str, int]:
    """Stream ``source`` into a new package at ``out``: encrypt, describe, sign, frame.

    ``payload.age`` comes first in the archive so that it is written as it is encrypted; its
    tar header (which holds its size) is written last, over a placeholder. The file appears at
    ``out`` only when complete. Returns the manifest, the package's SHA-256 and size.
    ``on_progress`` is told the bytes of ``source`` encrypted (step
    :data:`~simulator.exchange.common.STEP_ENCRYPT`).
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    mtime = int(time.time())
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w+b") as fh:
            fh.write(b"\0" * BLOCK)
            with open(source, "rb") as plain:
                size = os.fstat(plain.fileno()).st_size
                ticker = _Ticker(on_progress, STEP_ENCRYPT, size, PROGRESS_BYTES)
                reader = _HashingReader(plain, on_read=ticker.add)
                writer = _HashingWriter(fh)
                _encrypt(reader, writer, recipient.age_recipient)
                ticker.finish()
            fh.write(_pad(writer.bytes))
            manifest = _manifest(
                sender, recipient, dataset, purpose, schema, rows, reader, writer
            )
            manifest_bytes = _canonical(manifest)
            signature = _sshsig_sign(sender.signing_key, manifest_bytes)
            for name, data in ((MANIFEST_MEMBER, manifest_bytes), (SIGNATURE_MEMBER, signature)):
                fh.write(_tar_header(name, len(data), mtime) + data + _pad(len(data)))
            pos = fh.tell()
            fh.write(b"\0" * (_archive_end(pos) - pos))
            fh.seek(0)
            fh.write(_tar_header(PAYLOAD_MEMBER, writer.bytes, mtime))
            fh.flush()
            os.fsync(fh.fileno())
            whole = _HashingReader(fh)
            whole.drain()
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return manifest, whole.sha256.hexdigest(), whole.bytes


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
    on_progress: ProgressCallback | None = None,
) -> dict:
    """Encrypt a table for one agency, sign it, and write it as one ``.madadpkg`` file.

    A Parquet file is streamed: scanned for raw CNICs batch by batch, then encrypted in chunks
    (memory stays flat with its size) and sent byte for byte.

    Parameters
    ----------
    frame_or_parquet : DataFrame, str or Path
        A pseudonymised table, or the path of a Parquet/GeoParquet file (sent byte for byte).
    sender_private : PrivateIdentity, str or Path
        The sending agency's private keys (``.key.pem``).
    recipient_public_identity : PublicIdentity, str or Path
        The receiving agency's identity (``.identity.json``).
    dataset : str
        Name of what is sent, e.g. ``"nser-extract-2025q1"``: one line, no control characters.
    purpose : str
        Why it is sent (the legal basis or agreement clause), e.g. ``"dedup flood response"``:
        one line, no control characters.
    out : str or Path
        Package to write (appears only when complete).
    passphrase : str or bytes, optional
        Passphrase of ``sender_private`` when it is a protected file.
    audit_log : str or Path, optional
        Audit log to append one line to, for a refusal too.
    on_progress : callable, optional
        ``on_progress(step, done, total)``: told the rows scanned for raw CNICs
        (``"checking for raw CNICs"``), then the bytes encrypted (``"encrypting"``).

    Returns
    -------
    dict
        The manifest written (its ``package_id`` is a fresh UUID4).

    Raises
    ------
    ExchangeError
        A raw CNIC column (pseudonymise first), an unreadable input, bad keys or identity,
        or an empty dataset name or purpose, or one with control characters.
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
    scratch: Path | None = None
    try:
        try:
            _check_labels(dataset, purpose)
            if isinstance(frame_or_parquet, pd.DataFrame):
                payload, _, _, _ = _payload(frame_or_parquet)  # refuses raw CNICs
                out.parent.mkdir(parents=True, exist_ok=True)
                fd, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".parquet")
                scratch = Path(name)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(payload)
                del payload
                source = scratch
            else:
                source = Path(frame_or_parquet)
            schema, rows = _scan_telling(source, on_progress)
        except ExchangeError as exc:
            if audit_log is not None:
                _append_audit(audit_log, {**entry, "outcome": "refused", "reason": str(exc)})
            raise
        manifest, package_sha256, package_bytes = _seal(
            source, out, sender, recipient, dataset, purpose, schema, rows, on_progress
        )
    finally:
        if scratch is not None:
            scratch.unlink(missing_ok=True)
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
                "package_sha256": package_sha256,
                "package_bytes": package_bytes,
            },
        )
    log.info("packed %s rows of %s for %s into %s", rows, dataset, recipient.agency_id, out)
    return manifest


def _file_sha256(path: str | Path) -> str | None:
    try:
        with open(path, "rb") as fh:
            reader = _HashingReader(fh)
            reader.drain()
    except OSError:
        return None
    return reader.sha256.hexdigest()


def _receive(
    path: str | Path,
    dest: Path,
    recipient_private: PrivateIdentity | str | Path,
    sender_public_identity: PublicIdentity | str | Path,
    passphrase: str | bytes | None,
    audit_log: str | Path | None,
    allow_reopen: bool,
    on_progress: ProgressCallback | None = None,
) -> dict:
    """Check a package completely and decrypt its payload to the scratch file ``dest``.

    On a refusal ``dest`` is removed and the refusal is audited. The replay check runs after
    the signature and addressing checks and before decryption. ``on_progress`` is told the
    bytes checked, then decrypted.
    """
    recipient = load_private(recipient_private, passphrase=passphrase)
    sender = load_identity(sender_public_identity)
    entry: dict[str, Any] = {
        "operation": "unpack",
        "direction": "incoming",
        "agency": _who(recipient),
        "counterparty": _who(sender),
        "package": Path(path).name,
    }
    pkg: _Package | None = None
    try:
        src = str(path)
        if Path(path).is_file():  # recorded even when the package turns out unreadable
            entry["package_bytes"] = Path(path).stat().st_size
        pkg = _load(path)
        with pkg:
            _authenticate(pkg, sender, on_progress)
            entry["package_sha256"] = pkg.sha256
            _check_addressee(pkg, recipient)
            m = pkg.manifest
            if audit_log is None:
                log.warning(
                    "%s: no audit log given: a replayed package cannot be recognised", src
                )
            else:
                prior = _opened(audit_log, m["package_id"], recipient.agency_id)
                if prior is not None and not allow_reopen:
                    line, record = prior
                    raise ExchangeError(
                        f"{src}: replayed package: package id {m['package_id']} was already "
                        f"opened by {recipient.agency_id} at {_clip(record.get('time_utc'))} "
                        f"(line {line} of the audit log {audit_log}); refused and nothing "
                        "imported. If the first output was lost and you need the contents "
                        "again, re-open it on purpose with --allow-reopen (allow_reopen=True); "
                        "the re-opening is recorded in the audit log."
                    )
                if prior is not None:
                    entry["reopen_of_line"] = prior[0]
            _decrypt_to(pkg, recipient, dest, on_progress)
    except ExchangeError as exc:
        dest.unlink(missing_ok=True)
        if audit_log is not None:
            if pkg is not None and isinstance(pkg.manifest.get("package_id"), str):
                entry["package_id"] = pkg.manifest["package_id"][:64]
            if "package_sha256" not in entry and "package_bytes" in entry:
                entry["package_sha256"] = _file_sha256(path)
            _append_audit(audit_log, {**entry, "outcome": "refused", "reason": str(exc)})
        log.warning("refused package %s", path)
        raise
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
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
        "verified package %s: %s rows of %s from %s%s",
        path,
        m["rows"],
        m["dataset"],
        sender.agency_id,
        " (re-opened on purpose)" if "reopen_of_line" in entry else "",
    )
    return m


def unpack(
    path: str | Path,
    *,
    recipient_private: PrivateIdentity | str | Path,
    sender_public_identity: PublicIdentity | str | Path,
    passphrase: str | bytes | None = None,
    audit_log: str | Path | None = None,
    allow_reopen: bool = False,
    on_progress: ProgressCallback | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Verify a package completely, then decrypt and read its table.

    Checks in order, before any row is read: the archive is complete and well formed (not
    truncated, nothing appended, every tar header's checksum), the format version is known,
    the manifest's SSH signature holds and is the expected sender's key, the manifest is
    complete, ``payload.age`` has the SHA-256 the manifest names, the package is addressed to
    this agency and key, it was not opened before (with an audit log), age's authentication
    holds on every chunk, and the payload's SHA-256, row count and column schema match the
    manifest.

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
        Audit log to append one line to (``refused`` with the reason when a check fails). It
        is also the record of the packages opened: a package id opened before is refused as a
        replay. Without it, replays are not recognised (a warning is logged).
    allow_reopen : bool, default False
        Open a package this agency opened before (its first output lost); recorded as a
        re-opening in the audit log.
    on_progress : callable, optional
        ``on_progress(step, done, total)``: told the bytes of the package checked
        (``"checking the package"``), then the bytes of ``payload.age`` decrypted
        (``"decrypting"``).

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
    with tempfile.TemporaryDirectory(prefix="madad-unpack-") as tmp:
        scratch = Path(tmp) / "payload.parquet"
        manifest = _receive(
            path, scratch, recipient_private, sender_public_identity, passphrase, audit_log,
            allow_reopen, on_progress,
        )
        return _decode_payload(scratch.read_bytes()), manifest


def unpack_to(
    path: str | Path,
    out: str | Path,
    *,
    recipient_private: PrivateIdentity | str | Path,
    sender_public_identity: PublicIdentity | str | Path,
    passphrase: str | bytes | None = None,
    audit_log: str | Path | None = None,
    allow_reopen: bool = False,
    on_progress: ProgressCallback | None = None,
) -> dict:
    """Like :func:`unpack`, but write the verified Parquet payload to ``out`` byte for byte.

    Decrypted in chunks into a scratch file beside ``out``, which becomes ``out`` only after
    every check has passed: memory stays flat with the package's size. ``on_progress`` is told
    the bytes checked and decrypted as by :func:`unpack`, then the rows of the payload scanned
    for raw CNICs (``"checking for raw CNICs"``).

    Returns
    -------
    dict
        The verified manifest.

    Raises
    ------
    ExchangeError
        Any check fails; ``out`` is not created.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part")
    os.close(fd)
    scratch = Path(name)
    try:
        manifest = _receive(
            path, scratch, recipient_private, sender_public_identity, passphrase, audit_log,
            allow_reopen, on_progress,
        )
        # the receiving door: a sender's bug must not bring a raw CNIC into this agency either
        try:
            _scan_telling(scratch, on_progress)
        except ExchangeError as exc:
            raise ExchangeError(str(exc).replace(str(scratch), f"{path} (payload)")) from None
        os.replace(scratch, out)
    finally:
        scratch.unlink(missing_ok=True)
    return manifest


def verify(
    path: str | Path,
    sender_public_identity: PublicIdentity | str | Path,
    *,
    on_progress: ProgressCallback | None = None,
) -> dict:
    """Check a package's structure, signature and ciphertext hash without decrypting it
    (for a courier or gateway: no private key needed).

    Parameters
    ----------
    path : str or Path
        The ``.madadpkg`` file.
    sender_public_identity : PublicIdentity, str or Path
        Identity of the agency the package is expected from.
    on_progress : callable, optional
        ``on_progress(step, done, total)``: told the bytes of the package checked
        (``"checking the package"``).

    Returns
    -------
    dict
        The signed manifest (the payload itself stays unread and encrypted).

    Raises
    ------
    ExchangeError
        Truncated, malformed, unknown version, wrong sender, failing signature, or a
        ``payload.age`` other than the one the manifest names.
    """
    sender = load_identity(sender_public_identity)
    with _load(path) as pkg:
        _authenticate(pkg, sender, on_progress)
    return pkg.manifest
