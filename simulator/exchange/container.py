"""The ``.madadpkg`` package: a plain tar archive of standard files, and every check on reading it.

A package is an uncompressed tar archive (GNU format: ``tar``, ``bsdtar``, 7-Zip and Python's
:mod:`tarfile` list and extract it) holding exactly these three members, in this order:

=====================  ============================================================================
member                 content
=====================  ============================================================================
``payload.age``        the Parquet payload encrypted with age (https://age-encryption.org/v1) to
                       the recipient's X25519 age recipient (``age1...``): ChaCha20-Poly1305 in
                       64 KiB chunks, so it is written and read as a stream
``manifest.json``      what the package holds: format version, package id (UUID4), sender and
                       recipient (agency id, key id), dataset, purpose, creation time, row count,
                       column schema, size and SHA-256 of the Parquet payload and of
                       ``payload.age``; UTF-8 JSON, sorted keys
``manifest.json.sig``  an SSH signature (OpenSSH ``PROTOCOL.sshsig``, namespace ``madad-exchange``,
                       SHA-512) of ``manifest.json`` by the sender's Ed25519 key
=====================  ============================================================================

The archive ends with two zero blocks padded to a 10 KiB record, as ``tar`` writes it. A
shorter file is *truncated*; a longer one, a member out of place, a header whose checksum fails
or a non-zero padding byte is refused too.

Another tool checks and opens a package without Madad::

    tar -xf pser.madadpkg
    ssh-keygen -Y verify -f pspa-punjab.allowed_signers -I pspa-punjab -n madad-exchange \\
        -s manifest.json.sig < manifest.json
    sha256sum payload.age          # equals manifest.json's encryption.sha256
    age -d -i bisp.age-key.txt -o pser.parquet payload.age

Reading is in steps, none of which trusts what the one before has not checked: :func:`_parse`
(archive framing, manifest encoding and version), :func:`_check_signature` (the expected sender
signed the manifest), :func:`_check_fields` (the signed manifest is complete and its texts
printable), :func:`_check_ciphertext` (``payload.age`` is the file the manifest names, by
SHA-256), :func:`_check_addressee` (addressed to this agency and key) and :func:`_decrypt_to`
(age's authentication, then the payload's SHA-256, row count and schema). Files are read in
chunks: memory does not grow with the package's size.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import struct
import tarfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq
import pyrage
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from hazards.errors import ExchangeError
from simulator.exchange.common import (
    PROGRESS_BYTES,
    STEP_CHECK,
    STEP_DECRYPT,
    ProgressCallback,
    _check_text,
    _clip,
    _Ticker,
)
from simulator.exchange.keys import (
    KEY_BYTES,
    SIGNATURE_BYTES,
    SSH_NAMESPACE,
    PrivateIdentity,
    PublicIdentity,
    _check_agency,
    _raw,
)
from simulator.exchange.payload import _columns

#: Version of the package and manifest written by :func:`~simulator.exchange.packages.pack`.
FORMAT_VERSION = 2
#: Versions :func:`~simulator.exchange.packages.unpack` and ``verify`` understand.
SUPPORTED_VERSIONS = frozenset({2})
PACKAGE_SUFFIX = ".madadpkg"
PAYLOAD_MEMBER = "payload.age"
MANIFEST_MEMBER = "manifest.json"
SIGNATURE_MEMBER = "manifest.json.sig"
MEMBERS = (PAYLOAD_MEMBER, MANIFEST_MEMBER, SIGNATURE_MEMBER)
MAX_MANIFEST_BYTES = 1 << 20
MAX_SIGNATURE_BYTES = 4096
AGE_FORMAT = "age-encryption.org/v1"
#: The magic of the version-1 container, to name it when one is presented.
OLD_MAGIC = b"MADADPKG"

BLOCK = tarfile.BLOCKSIZE
RECORD = tarfile.RECORDSIZE
_CHUNK = 1 << 20  # read size when hashing or copying [bytes]
_TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
_KEY_ID_RE = re.compile(r"^[0-9a-f]{32}$")
_SSHSIG_MAGIC = b"SSHSIG"
_SSH_HASH = "sha512"
_ARMOR_BEGIN = b"-----BEGIN SSH SIGNATURE-----\n"
_ARMOR_END = b"-----END SSH SIGNATURE-----\n"


# ---------------------------------------------------------------------------------------------
# Streams
# ---------------------------------------------------------------------------------------------


class _HashingWriter:
    """A writer that counts and hashes what passes through it (age writes in 64 KiB pieces)."""

    def __init__(self, fh: BinaryIO):
        self.fh, self.bytes, self.sha256 = fh, 0, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.bytes += len(data)
        return self.fh.write(data)

    def flush(self) -> None:
        self.fh.flush()


class _HashingReader:
    """A reader of ``size`` bytes of ``fh`` from ``start`` (all of it when None), hashing them;
    ``on_read`` (optional) is told the size of each piece read (for a progress report)."""

    def __init__(
        self,
        fh: BinaryIO,
        start: int = 0,
        size: int | None = None,
        on_read: Callable[[int], None] | None = None,
    ):
        fh.seek(start)
        self.fh, self.left, self.bytes, self.sha256 = fh, size, 0, hashlib.sha256()
        self.on_read = on_read

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = _CHUNK
        if self.left is not None:
            n = min(n, self.left)
        data = self.fh.read(n) if n else b""
        if self.left is not None:
            self.left -= len(data)
        self.bytes += len(data)
        self.sha256.update(data)
        if self.on_read is not None and data:
            self.on_read(len(data))
        return data

    def drain(self) -> None:
        while self.read(_CHUNK):
            pass


def _encrypt(reader: Any, writer: Any, recipient: str) -> None:
    """Encrypt the stream ``reader`` to ``writer`` for one age recipient (``age1...``)."""
    pyrage.encrypt_io(reader, writer, [pyrage.x25519.Recipient.from_str(recipient)])


def _decrypt(reader: Any, writer: Any, identity: str) -> None:
    """Decrypt the age stream ``reader`` to ``writer`` with an age identity; raises on any
    failed chunk (the plaintext written so far must then be discarded)."""
    pyrage.decrypt_io(reader, writer, [pyrage.x25519.Identity.from_str(identity)])


# ---------------------------------------------------------------------------------------------
# SSH signatures (OpenSSH PROTOCOL.sshsig)
# ---------------------------------------------------------------------------------------------


def _ssh_string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _ssh_ed25519_blob(key: ed25519.Ed25519PublicKey) -> bytes:
    return _ssh_string(b"ssh-ed25519") + _ssh_string(_raw(key))


def _sshsig_signed_data(message: bytes, namespace: str, hash_alg: str) -> bytes:
    digest = hashlib.new(hash_alg, message).digest()
    return (
        _SSHSIG_MAGIC
        + _ssh_string(namespace.encode())
        + _ssh_string(b"")
        + _ssh_string(hash_alg.encode())
        + _ssh_string(digest)
    )


def _armor(blob: bytes) -> bytes:
    text = base64.b64encode(blob)
    lines = [text[i : i + 70] for i in range(0, len(text), 70)]
    return _ARMOR_BEGIN + b"\n".join(lines) + b"\n" + _ARMOR_END


def _sshsig_sign(key: ed25519.Ed25519PrivateKey, message: bytes) -> bytes:
    """An armored SSH signature of ``message``, as ``ssh-keygen -Y sign -n madad-exchange``."""
    signature = key.sign(_sshsig_signed_data(message, SSH_NAMESPACE, _SSH_HASH))
    blob = (
        _SSHSIG_MAGIC
        + struct.pack(">I", 1)
        + _ssh_string(_ssh_ed25519_blob(key.public_key()))
        + _ssh_string(SSH_NAMESPACE.encode())
        + _ssh_string(b"")
        + _ssh_string(_SSH_HASH.encode())
        + _ssh_string(_ssh_string(b"ssh-ed25519") + _ssh_string(signature))
    )
    return _armor(blob)


@dataclass(frozen=True)
class _SshSig:
    public_key: bytes
    namespace: str
    hash_alg: str
    signature: bytes


def _sshsig_parse(text: bytes, src: str) -> _SshSig:
    bad = ExchangeError(
        f"{src}: signature check failed: {SIGNATURE_MEMBER} is not a well-formed SSH signature "
        "of an Ed25519 key: the package was tampered with or corrupted; nothing was imported."
    )
    if not (text.startswith(_ARMOR_BEGIN) and text.endswith(_ARMOR_END)):
        raise bad
    body = text[len(_ARMOR_BEGIN) : -len(_ARMOR_END)]
    try:
        blob = base64.b64decode(body.replace(b"\n", b""), validate=True)
    except ValueError as exc:
        raise bad from exc
    if _armor(blob) != text:  # one canonical spelling: no byte of the file is left unchecked
        raise bad
    fields: list[bytes] = []
    pos = len(_SSHSIG_MAGIC) + 4
    if blob[: len(_SSHSIG_MAGIC)] != _SSHSIG_MAGIC or blob[6:pos] != b"\x00\x00\x00\x01":
        raise bad
    while pos < len(blob) and len(fields) < 5:
        if pos + 4 > len(blob):
            raise bad
        (n,) = struct.unpack_from(">I", blob, pos)
        if pos + 4 + n > len(blob):
            raise bad
        fields.append(blob[pos + 4 : pos + 4 + n])
        pos += 4 + n
    if len(fields) != 5 or pos != len(blob):
        raise bad
    public, namespace, _reserved, hash_alg, sig = fields
    key_type, sig_type = _ssh_string(b"ssh-ed25519"), _ssh_string(b"ssh-ed25519")
    if (
        len(public) != len(key_type) + 4 + KEY_BYTES
        or not public.startswith(key_type)
        or public[len(key_type) : len(key_type) + 4] != struct.pack(">I", KEY_BYTES)
        or len(sig) != len(sig_type) + 4 + SIGNATURE_BYTES
        or not sig.startswith(sig_type)
        or sig[len(sig_type) : len(sig_type) + 4] != struct.pack(">I", SIGNATURE_BYTES)
    ):
        raise bad
    try:
        return _SshSig(public[-KEY_BYTES:], namespace.decode(), hash_alg.decode(), sig[-64:])
    except UnicodeDecodeError as exc:
        raise bad from exc


def _sshsig_holds(sig: _SshSig, message: bytes) -> bool:
    """Whether ``sig`` is a valid signature of ``message`` by the key it names."""
    if sig.namespace != SSH_NAMESPACE or sig.hash_alg not in ("sha512", "sha256"):
        return False
    key = ed25519.Ed25519PublicKey.from_public_bytes(sig.public_key)
    try:
        key.verify(sig.signature, _sshsig_signed_data(message, sig.namespace, sig.hash_alg))
    except InvalidSignature:
        return False
    return True


def _ssh_fingerprint(raw: bytes) -> str:
    blob = _ssh_string(b"ssh-ed25519") + _ssh_string(raw)
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


# ---------------------------------------------------------------------------------------------
# Archive
# ---------------------------------------------------------------------------------------------


def _tar_header(name: str, size: int, mtime: int) -> bytes:
    """One 512-byte GNU tar header (base-256 sizes above 8 GiB keep it one block)."""
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode, info.type = size, mtime, 0o644, tarfile.REGTYPE
    header = info.tobuf(format=tarfile.GNU_FORMAT, encoding="utf-8", errors="strict")
    assert len(header) == BLOCK
    return header


def _pad(size: int) -> bytes:
    return b"\0" * (-size % BLOCK)


def _archive_end(pos: int) -> int:
    """Where an archive whose last member ends at ``pos`` ends: two zero blocks, then the
    padding to a whole record."""
    end = pos + 2 * BLOCK
    return end + (-end % RECORD)


@dataclass
class _Package:
    """A package whose framing has been checked; nothing in it is trusted yet."""

    source: str
    fh: BinaryIO
    size: int
    version: int
    manifest_bytes: bytes
    manifest: dict
    signature: bytes
    payload_offset: int
    payload_size: int
    _sha256: str | None = None

    def close(self) -> None:
        self.fh.close()

    def __enter__(self) -> _Package:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def sha256(self) -> str:
        """SHA-256 of the whole package file (read in chunks)."""
        if self._sha256 is None:
            reader = _HashingReader(self.fh)
            reader.drain()
            self._sha256 = reader.sha256.hexdigest()
        return self._sha256


def _read(path: str | Path) -> tuple[str, BinaryIO]:
    src = str(path)
    try:
        return src, open(path, "rb")  # noqa: SIM115 - closed by _Package.close
    except FileNotFoundError as exc:
        raise ExchangeError(f"{src}: no such package file.") from exc
    except OSError as exc:
        raise ExchangeError(f"{src}: cannot read the package ({exc}).") from exc


def _load(path: str | Path) -> _Package:
    """Open and parse a package file (:func:`_read`, :func:`_parse`); the file is closed if
    parsing fails, else by the package."""
    src, fh = _read(path)
    try:
        return _parse(src, fh)
    except BaseException:
        fh.close()
        raise


def _parse(src: str, fh: BinaryIO) -> _Package:
    """Check the archive's framing, the manifest's encoding and version; trust nothing yet."""
    size = os.fstat(fh.fileno()).st_size

    def need(end: int, what: str) -> None:
        if end > size:
            raise ExchangeError(
                f"{src}: truncated package: the {what} needs {end - size:,} more bytes than the "
                f"file's {size:,}. Ask the sender to send it again; nothing was imported."
            )

    def read(at: int, n: int) -> bytes:
        fh.seek(at)
        return fh.read(n)

    def tampered(what: str) -> ExchangeError:
        return ExchangeError(
            f"{src}: {what}: the package was tampered with or corrupted; nothing was imported."
        )

    head = read(0, BLOCK)
    if head.startswith(OLD_MAGIC):
        raise ExchangeError(
            f"{src}: a format version 1 Madad package (the old MADADPKG container, which no "
            f"other tool can open); this Madad reads version(s) {sorted(SUPPORTED_VERSIONS)} "
            "(a tar of age-encrypted Parquet and an SSH-signed manifest). Ask the sender to "
            "pack it again with a current Madad; nothing was imported."
        )
    name_field = PAYLOAD_MEMBER.encode() + b"\0"
    if not name_field.startswith(head[: len(name_field)]):
        raise ExchangeError(
            f"{src}: not a Madad exchange package (a tar archive starting with "
            f"{PAYLOAD_MEMBER}). Check the file name; nothing was imported."
        )
    pos, spans = 0, {}
    for name in MEMBERS:
        need(pos + BLOCK, f"tar header of {name}")
        try:
            info = tarfile.TarInfo.frombuf(read(pos, BLOCK), "utf-8", "strict")
        except (tarfile.HeaderError, UnicodeDecodeError) as exc:
            raise tampered(f"the tar header of {name} is damaged (checksum)") from exc
        if info.name != name or info.type != tarfile.REGTYPE:
            raise tampered(
                f"tar member {_clip(info.name)} found where the file {name} belongs"
            )
        limit = {MANIFEST_MEMBER: MAX_MANIFEST_BYTES, SIGNATURE_MEMBER: MAX_SIGNATURE_BYTES}
        if name in limit and info.size > limit[name]:
            raise tampered(f"{name} has {info.size:,} bytes, more than {limit[name]:,}")
        start = pos + BLOCK
        need(start + info.size, name)
        padding = -info.size % BLOCK
        need(start + info.size + padding, f"padding after {name}")
        if padding and read(start + info.size, padding).strip(b"\0"):
            raise tampered(f"the padding after {name} is not zero")
        spans[name] = (start, info.size)
        pos = start + info.size + padding
    end = _archive_end(pos)
    need(end, "end of the archive")
    if size > end:
        raise ExchangeError(
            f"{src}: {size - end:,} unexpected bytes after the end of the package: it was "
            "tampered with or two files were joined; nothing was imported."
        )
    fh.seek(pos)
    while pos < end:
        block = fh.read(min(RECORD, end - pos))
        if block.strip(b"\0"):
            raise tampered("the end of the archive is not zero")
        pos += len(block)
    manifest_bytes = read(*spans[MANIFEST_MEMBER])
    signature = read(*spans[SIGNATURE_MEMBER])
    try:
        manifest = json.loads(manifest_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise tampered(f"{MANIFEST_MEMBER} is not readable JSON") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != "madad-exchange":
        raise tampered(f"{MANIFEST_MEMBER} is not a Madad exchange manifest")
    version = manifest.get("format_version")
    if version not in SUPPORTED_VERSIONS or isinstance(version, bool):
        raise ExchangeError(
            f"{src}: unknown format version "
            f"{version if isinstance(version, int) else _clip(version)}; this Madad reads version(s) "
            f"{sorted(SUPPORTED_VERSIONS)}. Upgrade Madad, or ask the sender to pack with "
            f"version {FORMAT_VERSION}; nothing was imported."
        )
    start, length = spans[PAYLOAD_MEMBER]
    return _Package(src, fh, size, version, manifest_bytes, manifest, signature, start, length)


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------


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
    """The manifest is signed, by the expected sender's key, and names that sender."""
    src = pkg.source
    claimed, claimed_key = _party(pkg.manifest, "sender", src)
    sig = _sshsig_parse(pkg.signature, src)
    if not _sshsig_holds(sig, pkg.manifest_bytes):
        raise ExchangeError(
            f"{src}: signature check failed: {SIGNATURE_MEMBER} does not verify over "
            f"{MANIFEST_MEMBER}: the package was tampered with after signing; nothing was "
            "imported."
        )
    if sig.public_key != _raw(sender.signing_key):
        if claimed != sender.agency_id:
            raise ExchangeError(
                f"{src}: wrong sender: the package says it is from {_clip(claimed)}, not from "
                f"the expected sender {sender.agency_id!r}; refused. If you expected a package "
                f"from {_clip(claimed)}, give that agency's identity."
            )
        raise ExchangeError(
            f"{src}: signature check failed: the manifest names {sender.agency_id} but was "
            f"signed by another key ({_ssh_fingerprint(sig.public_key)}), not signed by "
            f"{sender.agency_id} (key id {sender.key_id}): forged, or tampered with and "
            "re-signed; nothing was imported."
        )
    if claimed != sender.agency_id:
        raise ExchangeError(
            f"{src}: wrong sender: {sender.agency_id} signed a manifest naming "
            f"{_clip(claimed)} as the sender; refused. Ask {sender.agency_id} to pack again."
        )
    if claimed_key != sender.key_id:
        raise ExchangeError(
            f"{src}: wrong sender key: the manifest names key id {_clip(claimed_key)} but "
            f"{sender.agency_id}'s identity has key id {sender.key_id}. Get "
            f"{sender.agency_id}'s current identity file (keys rotated?) or treat the package "
            "as forged."
        )


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


def _check_fields(pkg: _Package) -> None:
    """The signed manifest is complete, its texts printable, and it announces this archive's
    ``payload.age`` (by size; :func:`_check_ciphertext` checks the SHA-256)."""
    m, src = pkg.manifest, pkg.source
    for name, typ in _REQUIRED_FIELDS.items():
        if not isinstance(m.get(name), typ) or isinstance(m.get(name), bool):
            raise ExchangeError(f"{src}: manifest field {name!r} is missing or malformed.")
    try:
        if uuid.UUID(m["package_id"]).version != 4 or len(m["package_id"]) != 36:
            raise ValueError(m["package_id"])
    except ValueError as exc:
        raise ExchangeError(
            f"{src}: manifest field 'package_id' {_clip(m['package_id'])} is not a UUID4."
        ) from exc
    if not _TIME_RE.match(m["created_utc"]):
        raise ExchangeError(
            f"{src}: manifest field 'created_utc' {_clip(m['created_utc'])} is not a UTC time "
            "like 2025-07-01T09:30:00Z."
        )
    to, to_key = _party(m, "recipient", src)
    _check_agency(to, f"{src}: manifest field 'recipient'")
    if not _KEY_ID_RE.match(to_key):
        raise ExchangeError(f"{src}: manifest field 'recipient' has a malformed key id.")
    _check_text("manifest field 'dataset'", m["dataset"], 200, src)
    _check_text("manifest field 'purpose'", m["purpose"], 2000, src)
    payload, enc = m["payload"], m["encryption"]
    if (
        payload.get("format") != "parquet"
        or not isinstance(payload.get("bytes"), int)
        or not isinstance(payload.get("sha256"), str)
    ):
        raise ExchangeError(f"{src}: manifest field 'payload' is malformed.")
    if (
        enc.get("format") != AGE_FORMAT
        or enc.get("member") != PAYLOAD_MEMBER
        or not isinstance(enc.get("recipient"), str)
        or not isinstance(enc.get("bytes"), int)
        or not isinstance(enc.get("sha256"), str)
    ):
        raise ExchangeError(
            f"{src}: unsupported encryption {_clip(enc, 200)}; expected {AGE_FORMAT} in "
            f"{PAYLOAD_MEMBER} with its recipient, bytes and sha256."
        )
    if pkg.payload_size != enc["bytes"]:
        raise ExchangeError(
            f"{src}: {PAYLOAD_MEMBER} has {pkg.payload_size:,} bytes but the signed manifest "
            f"announces {enc['bytes']:,}: the package was tampered with; nothing was imported."
        )


def _check_ciphertext(pkg: _Package, on_progress: ProgressCallback | None = None) -> None:
    """``payload.age`` is, by SHA-256, the file the signed manifest names.

    One pass over the file in chunks, which also gives the whole package's SHA-256;
    ``on_progress`` is told the bytes read (step :data:`~simulator.exchange.common.STEP_CHECK`).
    """
    ticker = _Ticker(on_progress, STEP_CHECK, pkg.size, PROGRESS_BYTES)
    pkg.fh.seek(0)
    whole = hashlib.sha256(pkg.fh.read(pkg.payload_offset))
    ticker.add(pkg.payload_offset)
    reader = _HashingReader(pkg.fh, pkg.payload_offset, pkg.payload_size, on_read=ticker.add)
    while chunk := reader.read(_CHUNK):
        whole.update(chunk)
    tail = _HashingReader(pkg.fh, pkg.payload_offset + pkg.payload_size, on_read=ticker.add)
    while chunk := tail.read(_CHUNK):
        whole.update(chunk)
    ticker.finish()
    pkg._sha256 = whole.hexdigest()
    digest = reader.sha256.hexdigest()
    if digest != pkg.manifest["encryption"]["sha256"]:
        raise ExchangeError(
            f"{pkg.source}: {PAYLOAD_MEMBER} has SHA-256 {digest}, not the "
            f"{_clip(pkg.manifest['encryption']['sha256'], 64)} of the signed manifest: the "
            "package was tampered with after signing or damaged in transit; nothing was "
            "imported."
        )


def _check_addressee(pkg: _Package, recipient: PrivateIdentity) -> None:
    """The package is addressed to this agency and this key id (whether it was encrypted to
    this key is age's own check, on decryption)."""
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


def _decrypt_to(
    pkg: _Package,
    recipient: PrivateIdentity,
    out: Path,
    on_progress: ProgressCallback | None = None,
) -> None:
    """Decrypt ``payload.age`` into the file ``out`` in chunks, then check it against the
    manifest (size, SHA-256, row count, schema). ``out`` is a scratch file: on a refusal the
    caller deletes it, and nothing in it was read as rows. ``on_progress`` is told the bytes
    of ``payload.age`` read (step :data:`~simulator.exchange.common.STEP_DECRYPT`)."""
    m, src = pkg.manifest, pkg.source
    ticker = _Ticker(on_progress, STEP_DECRYPT, pkg.payload_size, PROGRESS_BYTES)
    reader = _HashingReader(pkg.fh, pkg.payload_offset, pkg.payload_size, on_read=ticker.add)
    try:
        with open(out, "wb") as fh:
            writer = _HashingWriter(fh)
            _decrypt(reader, writer, recipient.age_identity)
    except (pyrage.DecryptError, pyrage.IdentityError, OSError, ValueError) as exc:
        raise ExchangeError(
            f"{src}: decryption failed (age: {exc}): the package was tampered with or was not "
            f"encrypted for this key ({recipient.agency_id}, key id {recipient.key_id}); "
            "nothing was imported."
        ) from exc
    digest = writer.sha256.hexdigest()
    if writer.bytes != m["payload"]["bytes"] or digest != m["payload"]["sha256"]:
        raise ExchangeError(
            f"{src}: payload SHA-256 {digest} ({writer.bytes:,} bytes) does not match the "
            "signed manifest: refused; nothing was imported."
        )
    try:
        meta = pq.ParquetFile(out)
        rows, columns = meta.metadata.num_rows, _columns(meta.schema_arrow)
    except (pa.ArrowException, OSError) as exc:
        raise ExchangeError(f"{src}: the payload is not readable Parquet ({exc}).") from exc
    if rows != m["rows"]:
        raise ExchangeError(
            f"{src}: the payload has {rows:,} rows but the manifest says {m['rows']:,}."
        )
    if columns != m["columns"]:
        raise ExchangeError(f"{src}: the payload's columns do not match the manifest's schema.")


def _authenticate(
    pkg: _Package, sender: PublicIdentity, on_progress: ProgressCallback | None = None
) -> None:
    """Every check that needs no private key: signature, fields, ``payload.age``'s hash
    (whose reading is told to ``on_progress``)."""
    _check_signature(pkg, sender)
    _check_fields(pkg)
    _party(pkg.manifest, "recipient", pkg.source)
    _check_ciphertext(pkg, on_progress)


def _open(
    pkg: _Package,
    recipient: PrivateIdentity,
    sender: PublicIdentity,
    out: Path,
    on_progress: ProgressCallback | None = None,
) -> None:
    """Run every check on a parsed package and decrypt its verified payload to ``out``."""
    _authenticate(pkg, sender, on_progress)
    _check_addressee(pkg, recipient)
    _decrypt_to(pkg, recipient, out, on_progress)
