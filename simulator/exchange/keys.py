"""Agency identities: key generation, identity files and private key files.

:func:`keygen` makes an Ed25519 signing key pair and an X25519 encryption key pair. The private
keys go to ``<agency>.key.pem`` (mode 0600, optionally passphrase-protected); the public keys go
to ``<agency>.identity.json``, the file an agency shares with its partners. The identity file is
self-signed, so an edited file is refused by :func:`load_identity`.

The same keys in standard formats, so that other tools can open and check packages:

* the X25519 key *is* the agency's age key (https://age-encryption.org/v1): its public half is
  the age recipient ``age1...`` (:attr:`PublicIdentity.age_recipient`, also written into the
  identity file), its private half the age identity ``AGE-SECRET-KEY-1...`` that
  :func:`keygen` writes to ``<agency>.age-key.txt`` (mode 0600; age-encrypted with the
  passphrase when one is given) for ``age -d -i <agency>.age-key.txt``;
* the Ed25519 key is an OpenSSH ``ssh-ed25519`` key (:attr:`PublicIdentity.ssh_public_key`);
  :func:`keygen` writes ``<agency>.allowed_signers``, the line ``ssh-keygen -Y verify`` needs to
  check the agency's package signatures.

Key files made before these formats existed keep working: both are derived from the same keys.

The *key id* is the first 128 bits of SHA-256 over both public keys; compare it over the phone or
in a letter before trusting an identity file received by email.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyrage
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

from hazards.errors import ExchangeError
from simulator.exchange.common import _b64, _canonical, _clip, _now, _unb64

__all__ = [
    "SSH_NAMESPACE",
    "KeyFiles",
    "PrivateIdentity",
    "PublicIdentity",
    "identity_from_json",
    "is_passphrase_protected",
    "keygen",
    "load_identity",
    "load_private",
]

log = logging.getLogger(__name__)

#: Size of an Ed25519 signature [bytes].
SIGNATURE_BYTES = 64
#: Size of a raw Ed25519 or X25519 public key [bytes].
KEY_BYTES = 32

_KEY_ID_CONTEXT = b"madad-key-id/v1\x00"
_IDENTITY_CONTEXT = b"madad-identity/v1\x00"
_AGENCY_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_PEM_BLOCK_RE = re.compile(
    r"-----BEGIN ((?:ENCRYPTED )?PRIVATE KEY)-----\r?\n.*?-----END \1-----", re.DOTALL
)
#: Namespace of the agency's SSH signatures (``ssh-keygen -Y ... -n madad-exchange``).
SSH_NAMESPACE = "madad-exchange"
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_META_RE = re.compile(r"^(agency_id|key_id|created_utc):[ \t]*(\S+)[ \t]*$", re.MULTILINE)


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

    @property
    def age_recipient(self) -> str:
        """The encryption key as an age X25519 recipient, ``age1...``."""
        return _age_recipient(self.encryption_key)

    @property
    def ssh_public_key(self) -> str:
        """The signing key as an OpenSSH public key, ``ssh-ed25519 AAAA... <agency>``."""
        return _ssh_public_key(self.signing_key, self.agency_id)

    @property
    def allowed_signers(self) -> str:
        """The ``ssh-keygen -Y verify`` allowed-signers line of this agency's signatures."""
        return f'{self.agency_id} namespaces="{SSH_NAMESPACE}" {self.ssh_public_key}'


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

    @property
    def age_identity(self) -> str:
        """The encryption key as an age X25519 identity, ``AGE-SECRET-KEY-1...`` (secret)."""
        raw = self.encryption_key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return _bech32("age-secret-key-", raw).upper()


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
    age_key : Path or None
        ``<agency>.age-key.txt``, mode 0600: the X25519 key as an age identity, for opening
        packages with ``age``/``rage``. Never share it.
    allowed_signers : Path or None
        ``<agency>.allowed_signers``: the Ed25519 key as an ``ssh-keygen -Y verify`` line.
        Share it with partner agencies.
    """

    private_key: Path
    identity: Path
    key_id: str
    age_key: Path | None = None
    allowed_signers: Path | None = None


def _raw(key: Any) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _key_id(signing: ed25519.Ed25519PublicKey, encryption: x25519.X25519PublicKey) -> str:
    return hashlib.sha256(_KEY_ID_CONTEXT + _raw(signing) + _raw(encryption)).hexdigest()[:32]


def _bech32_polymod(values: list[int]) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            if (top >> i) & 1:
                chk ^= gen[i]
    return chk


def _bech32(hrp: str, data: bytes) -> str:
    """BIP 173 Bech32 of ``data`` (the encoding of age keys), lower case."""
    acc = bits = 0
    digits: list[int] = []
    for byte in data:
        acc, bits = (acc << 8) | byte, bits + 8
        while bits >= 5:
            bits -= 5
            digits.append((acc >> bits) & 31)
    if bits:
        digits.append((acc << (5 - bits)) & 31)
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    check = _bech32_polymod(expanded + digits + [0] * 6) ^ 1
    digits += [(check >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32[d] for d in digits)


def _age_recipient(encryption: x25519.X25519PublicKey) -> str:
    return _bech32("age", _raw(encryption))


def _ssh_public_key(signing: ed25519.Ed25519PublicKey, comment: str = "") -> str:
    text = signing.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode("ascii")
    return f"{text} {comment}".strip()



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
    agency_id: str,
    key_id: str,
    created: str,
    sign_pub: bytes,
    enc_pub: bytes,
    standard: dict | None = None,
) -> dict:
    """The self-signed part of an identity file; ``standard`` adds the keys in standard
    notations (age recipient, OpenSSH key), absent from files written before they were added."""
    body = {
        "format": "madad-identity",
        "version": 1,
        "agency_id": agency_id,
        "key_id": key_id,
        "created_utc": created,
        "signing_key": {"algorithm": "Ed25519", "public_b64": _b64(sign_pub)},
        "encryption_key": {"algorithm": "X25519", "public_b64": _b64(enc_pub)},
    }
    if standard:
        body["signing_key"]["openssh"] = standard["openssh"]
        body["encryption_key"]["age_recipient"] = standard["age_recipient"]
    return body


def keygen(
    agency_id: str,
    out_dir: str | Path,
    *,
    passphrase: str | bytes | None = None,
    overwrite: bool = False,
) -> KeyFiles:
    """Make an agency's signing (Ed25519) and encryption (X25519) key pairs.

    Writes ``<agency>.key.pem`` and ``<agency>.identity.json`` (Madad's files), and the same
    keys in standard formats: ``<agency>.age-key.txt`` (the age identity, secret) and
    ``<agency>.allowed_signers`` (the OpenSSH signing key, public).

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
        Paths of the private key files (mode 0600), the public identity and allowed-signers
        files, and the key id.

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
    age_path = out / f"{agency_id}.age-key.txt"
    signers_path = out / f"{agency_id}.allowed_signers"
    if not overwrite:
        for path in (private_path, identity_path, age_path, signers_path):
            if path.exists():
                raise ExchangeError(
                    f"{path} already exists; keys are not replaced silently. Pass overwrite=True "
                    "(--force) to replace them: packages already sent to the old keys can then "
                    "no longer be opened."
                )
    _write_new(private_path, header.encode() + b"".join(pem), 0o600, overwrite=overwrite)
    private = PrivateIdentity(agency_id, key_id, signing, encryption, created)
    public = private.public()
    standard = {"openssh": public.ssh_public_key, "age_recipient": public.age_recipient}
    body = _identity_body(
        agency_id,
        key_id,
        created,
        _raw(signing.public_key()),
        _raw(encryption.public_key()),
        standard,
    )
    body["self_signature_b64"] = _b64(signing.sign(_IDENTITY_CONTEXT + _canonical(body)))
    _write_new(
        identity_path, (json.dumps(body, indent=2) + "\n").encode(), 0o644, overwrite=overwrite
    )
    age_text = (
        f"# Madad age identity of agency {agency_id} (key id {key_id}): the X25519 key of\n"
        f"# {agency_id}.key.pem, for `age -d -i {age_path.name}`. Keep it secret (mode 0600).\n"
        f"# created: {created}\n# public key: {public.age_recipient}\n{private.age_identity}\n"
    ).encode()
    if secret:  # age's passphrase (scrypt) recipient; `age -d -i` asks for the passphrase
        age_text = pyrage.passphrase.encrypt(age_text, secret.decode(), armored=True)
    _write_new(age_path, age_text, 0o600, overwrite=overwrite)
    _write_new(signers_path, (public.allowed_signers + "\n").encode(), 0o644, overwrite=overwrite)
    log.info("made keys for %s (key id %s) in %s", agency_id, key_id, out)
    return KeyFiles(private_path, identity_path, key_id, age_path, signers_path)


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
    return identity_from_json(doc, src)


def identity_from_json(doc: Any, src: str = "identity") -> PublicIdentity:
    """Check an identity file's parsed JSON (as :func:`load_identity` does) and return its keys.

    Raises
    ------
    ExchangeError
        As :func:`load_identity`; messages name ``src``.
    """
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
    standard = None
    if "openssh" in doc["signing_key"] or "age_recipient" in doc["encryption_key"]:
        standard = {
            "openssh": doc["signing_key"].get("openssh"),
            "age_recipient": doc["encryption_key"].get("age_recipient"),
        }
    body = _identity_body(str(agency_id), str(key_id), str(created), sign_raw, enc_raw, standard)
    try:
        signing.verify(
            _unb64(self_sig, SIGNATURE_BYTES, "self_signature_b64", src),
            _IDENTITY_CONTEXT + _canonical(body),
        )
    except InvalidSignature as exc:
        raise ExchangeError(
            f"{src}: the identity's self-signature fails: the file was edited."
        ) from exc
    public = PublicIdentity(agency_id, key_id, signing, encryption, str(created))
    if standard is not None and standard != {
        "openssh": public.ssh_public_key,
        "age_recipient": public.age_recipient,
    }:
        raise ExchangeError(
            f"{src}: the identity's openssh or age_recipient field does not match its keys; "
            "ask the agency for a fresh identity file (`madad exchange keygen`)."
        )
    return public


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



def _who(identity: PublicIdentity | PrivateIdentity) -> dict[str, str]:
    return {"agency_id": identity.agency_id, "key_id": identity.key_id}

