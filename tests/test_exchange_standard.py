"""Exchange packages in standard formats, checked by other tools than Madad's own code path.

A package is a tar archive (read here with :mod:`tarfile`) of ``payload.age`` (opened here with
pyrage, standing for ``age``/``rage``), ``manifest.json`` and ``manifest.json.sig`` (an SSH
signature, checked here with ``cryptography`` on the signed data rebuilt from OpenSSH's
PROTOCOL.sshsig, and with ``ssh-keygen -Y verify`` when it is installed). Also: replayed
packages, every flipped byte and truncation, a manifest re-signed by another key, control
characters in the dataset name or purpose, and the streamed CNIC scan.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import struct
import subprocess
import tarfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyrage
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519
from typer.testing import CliRunner

from simulator import registry
from simulator.cli.exchange import exchange_app
from simulator.exchange import container
from simulator.exchange import packages as exchange
from simulator.exchange.packages import ExchangeError

runner = CliRunner()
MEMBERS = ["payload.age", "manifest.json", "manifest.json.sig"]


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, exchange.KeyFiles]:
    root = tmp_path_factory.mktemp("keys")
    return {a: exchange.keygen(a, root / a) for a in ("bisp", "pspa-punjab", "sspa-sindh")}


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("src") / "households.parquet"
    registry.write(registry.generate(300, seed=3), path)
    return path


def _pack(keys, source, out: Path, *, sender="bisp", to="pspa-punjab", **kw) -> dict:
    kw = {"dataset": "nser-extract", "purpose": "flood dedup", **kw}
    return exchange.pack(
        source,
        sender_private=keys[sender].private_key,
        recipient_public_identity=keys[to].identity,
        out=out,
        **kw,
    )


@pytest.fixture(scope="module")
def package(tmp_path_factory, keys, source) -> Path:
    out = tmp_path_factory.mktemp("pkg") / "nser.madadpkg"
    _pack(keys, source, out)
    return out


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, mode="r:") as tar:
        names = tar.getnames()
        assert names == MEMBERS
        return {name: tar.extractfile(name).read() for name in names}


def _build(path: Path, members: dict[str, bytes]) -> Path:
    """Write a package with Python's tarfile (another writer than Madad's)."""
    with tarfile.open(path, mode="w:", format=tarfile.GNU_FORMAT) as tar:
        for name in MEMBERS:
            info = tarfile.TarInfo(name)
            info.size = len(members[name])
            tar.addfile(info, io.BytesIO(members[name]))
    return path


def _unpack_to(path, out, keys, *, to="pspa-punjab", sender="bisp", **kw):
    return exchange.unpack_to(
        path,
        out,
        recipient_private=keys[to].private_key,
        sender_public_identity=keys[sender].identity,
        **kw,
    )


def _age_identity(files: exchange.KeyFiles, passphrase: str | None = None) -> str:
    text = files.age_key.read_bytes()
    if passphrase is not None:
        text = pyrage.passphrase.decrypt(text, passphrase)
    return next(line for line in text.decode().splitlines() if line.startswith("AGE-SECRET-KEY-1"))


# --- sshsig, written from OpenSSH's PROTOCOL.sshsig for this test -----------------------------


def _ssh_fields(blob: bytes, pos: int, n: int) -> tuple[list[bytes], int]:
    out = []
    for _ in range(n):
        (length,) = struct.unpack_from(">I", blob, pos)
        out.append(blob[pos + 4 : pos + 4 + length])
        pos += 4 + length
    return out, pos


def _sshsig_verify(armored: bytes, message: bytes, public: ed25519.Ed25519PublicKey) -> None:
    """Raise unless ``armored`` is an SSH signature of ``message`` by ``public``."""
    lines = armored.decode().strip().splitlines()
    assert lines[0] == "-----BEGIN SSH SIGNATURE-----" and lines[-1] == "-----END SSH SIGNATURE-----"
    blob = base64.b64decode("".join(lines[1:-1]))
    assert blob[:6] == b"SSHSIG" and struct.unpack_from(">I", blob, 6)[0] == 1
    (key_blob, namespace, reserved, hash_alg, sig_blob), end = _ssh_fields(blob, 10, 5)
    assert end == len(blob)
    (key_type, key_raw), _ = _ssh_fields(key_blob, 0, 2)
    assert key_type == b"ssh-ed25519" and namespace == b"madad-exchange"
    (sig_type, signature), _ = _ssh_fields(sig_blob, 0, 2)
    assert sig_type == b"ssh-ed25519"
    assert key_raw == public.public_bytes_raw()
    string = lambda b: struct.pack(">I", len(b)) + b  # noqa: E731
    signed = (
        b"SSHSIG" + string(namespace) + string(reserved) + string(hash_alg)
        + string(hashlib.new(hash_alg.decode(), message).digest())
    )
    public.verify(signature, signed)  # raises InvalidSignature


def _signing_key(identity: Path) -> ed25519.Ed25519PublicKey:
    doc = json.loads(identity.read_text())
    return ed25519.Ed25519PublicKey.from_public_bytes(
        base64.b64decode(doc["signing_key"]["public_b64"])
    )


# --- other tools open and check a package -----------------------------------------------------


def test_package_is_a_tar_whose_payload_pyrage_decrypts(package, keys, source):
    parts = _members(package)
    identity = pyrage.x25519.Identity.from_str(_age_identity(keys["pspa-punjab"]))
    assert pyrage.decrypt(parts["payload.age"], [identity]) == source.read_bytes()
    manifest = json.loads(parts["manifest.json"])
    assert manifest["encryption"]["sha256"] == hashlib.sha256(parts["payload.age"]).hexdigest()
    assert manifest["payload"]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert manifest["encryption"]["recipient"] == str(identity.to_public())
    # Nobody else's age key opens it.
    other = pyrage.x25519.Identity.from_str(_age_identity(keys["sspa-sindh"]))
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(parts["payload.age"], [other])


def test_key_files_in_standard_formats(keys):
    files = keys["bisp"]
    assert files.age_key.stat().st_mode & 0o777 == 0o600
    ident = json.loads(files.identity.read_text())
    age = pyrage.x25519.Identity.from_str(_age_identity(files))
    assert ident["encryption_key"]["age_recipient"] == str(age.to_public())
    assert f"# public key: {age.to_public()}" in files.age_key.read_text()
    public = exchange.load_identity(files.identity)
    assert public.age_recipient == str(age.to_public())
    assert ident["signing_key"]["openssh"] == public.ssh_public_key
    assert public.ssh_public_key.startswith("ssh-ed25519 AAAA") and public.ssh_public_key.endswith(" bisp")
    assert files.allowed_signers.read_text() == (
        f'bisp namespaces="madad-exchange" {public.ssh_public_key}\n'
    )


def test_passphrase_protected_age_key(tmp_path):
    files = exchange.keygen("pdma-sindh", tmp_path, passphrase="monsoon-2025")
    assert files.age_key.read_bytes().startswith(b"-----BEGIN AGE ENCRYPTED FILE-----")
    assert b"AGE-SECRET-KEY" not in files.age_key.read_bytes()
    age = pyrage.x25519.Identity.from_str(_age_identity(files, "monsoon-2025"))
    assert str(age.to_public()) == exchange.load_identity(files.identity).age_recipient


def test_identity_files_without_the_standard_fields_still_load(tmp_path, keys):
    """Identity files written before the age and OpenSSH fields existed keep working."""
    from simulator.exchange.common import _b64, _canonical
    from simulator.exchange.keys import _IDENTITY_CONTEXT

    doc = json.loads(keys["bisp"].identity.read_text())
    del doc["signing_key"]["openssh"], doc["encryption_key"]["age_recipient"]
    del doc["self_signature_b64"]
    private = exchange.load_private(keys["bisp"].private_key)
    doc["self_signature_b64"] = _b64(private.signing_key.sign(_IDENTITY_CONTEXT + _canonical(doc)))
    old = tmp_path / "old.identity.json"
    old.write_text(json.dumps(doc))
    assert exchange.load_identity(old).age_recipient == private.public().age_recipient
    doc["encryption_key"]["age_recipient"] = exchange.load_identity(keys["sspa-sindh"].identity).age_recipient
    old.write_text(json.dumps(doc))
    with pytest.raises(ExchangeError, match="self-signature fails"):
        exchange.load_identity(old)


def test_signature_verifies_with_cryptography_alone(package, keys):
    parts = _members(package)
    _sshsig_verify(parts["manifest.json.sig"], parts["manifest.json"], _signing_key(keys["bisp"].identity))
    with pytest.raises((AssertionError, InvalidSignature)):  # another agency's key fails
        _sshsig_verify(
            parts["manifest.json.sig"], parts["manifest.json"], _signing_key(keys["sspa-sindh"].identity)
        )
    with pytest.raises(InvalidSignature):  # and so does an edited manifest
        _sshsig_verify(
            parts["manifest.json.sig"],
            parts["manifest.json"].replace(b"flood dedup", b"flood-dedup"),
            _signing_key(keys["bisp"].identity),
        )


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen is not installed")
def test_signature_verifies_with_ssh_keygen(tmp_path, package, keys):
    parts = _members(package)
    for name, data in parts.items():
        (tmp_path / name).write_bytes(data)

    def verify(signers: Path, manifest: bytes) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["ssh-keygen", "-Y", "verify", "-f", str(signers), "-I", "bisp", "-n", "madad-exchange",
             "-s", str(tmp_path / "manifest.json.sig")],
            input=manifest, capture_output=True, timeout=60,
        )

    good = verify(keys["bisp"].allowed_signers, parts["manifest.json"])
    assert good.returncode == 0, good.stderr
    assert b'Good "madad-exchange" signature for bisp' in good.stdout
    assert verify(keys["bisp"].allowed_signers, parts["manifest.json"] + b" ").returncode != 0
    impostor = tmp_path / "impostor_signers"
    impostor.write_text(keys["sspa-sindh"].allowed_signers.read_text().replace("sspa-sindh ", "bisp ", 1))
    assert verify(impostor, parts["manifest.json"]).returncode != 0


def test_a_package_rebuilt_by_tarfile_is_accepted(tmp_path, package, keys, source):
    """The format is the members, not Madad's writer: the same files re-tarred still open."""
    rebuilt = _build(tmp_path / "rebuilt.madadpkg", _members(package))
    out = tmp_path / "got.parquet"
    _unpack_to(rebuilt, out, keys)
    assert out.read_bytes() == source.read_bytes()


# --- replay ------------------------------------------------------------------------------------


def test_a_replayed_package_is_refused(tmp_path, package, keys, source):
    log, out = tmp_path / "audit.jsonl", tmp_path / "got.parquet"
    manifest = _unpack_to(package, out, keys, audit_log=log)
    out.unlink()
    with pytest.raises(ExchangeError, match=f"replayed package: package id {manifest['package_id']} was already opened by pspa-punjab .*line 1 of the audit log"):
        _unpack_to(package, out, keys, audit_log=log)
    assert not out.exists()
    with pytest.raises(ExchangeError, match="replayed package"):  # the same file under another name
        _unpack_to(_build(tmp_path / "copy.madadpkg", _members(package)), out, keys, audit_log=log)
    # Re-opening on purpose is allowed, and recorded as such.
    _unpack_to(package, out, keys, audit_log=log, allow_reopen=True)
    assert out.read_bytes() == source.read_bytes()
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert [(x["operation"], x["outcome"]) for x in lines] == [
        ("unpack", "ok"), ("unpack", "refused"), ("unpack", "refused"), ("unpack", "ok"),
    ]
    assert all(x["package_id"] == manifest["package_id"] for x in lines)
    assert "reopen_of_line" not in lines[0] and lines[3]["reopen_of_line"] == 1
    assert exchange.verify_audit_log(log).entries == 4
    # A refused attempt does not count as an opening: a fresh package opens after a refusal.
    fresh = tmp_path / "fresh.madadpkg"
    _pack(keys, source, fresh)
    with pytest.raises(ExchangeError, match="wrong recipient"):
        _unpack_to(fresh, out, keys, to="sspa-sindh", audit_log=log)
    _unpack_to(fresh, tmp_path / "fresh.parquet", keys, audit_log=log)


def test_every_package_has_its_own_uuid4(tmp_path, keys, source):
    ids = {_pack(keys, source, tmp_path / f"{i}.madadpkg")["package_id"] for i in range(3)}
    assert len(ids) == 3
    assert all(len(i) == 36 and i[14] == "4" for i in ids)


def test_cli_replay_and_allow_reopen(tmp_path, package, keys):
    log, out = tmp_path / "audit.jsonl", tmp_path / "got.parquet"
    args = ["unpack", str(package), "--from", str(keys["bisp"].identity),
            "--key", str(keys["pspa-punjab"].private_key), "--out", str(out), "--audit", str(log)]
    assert runner.invoke(exchange_app, args).exit_code == 0
    again = runner.invoke(exchange_app, [*args, "--force"])
    assert again.exit_code == 2 and "replayed package" in again.output and "--allow-reopen" in again.output
    reopened = runner.invoke(exchange_app, [*args, "--force", "--allow-reopen"])
    assert reopened.exit_code == 0, reopened.output


# --- tampering -------------------------------------------------------------------------------


def test_every_flipped_byte_is_refused(tmp_path, package, keys):
    """Headers (checksums), payload.age (hash), manifest (signature), signature (canonical
    armor), padding and the archive's end (zeros): no byte of a package can change unnoticed."""
    data = package.read_bytes()
    out = tmp_path / "got.parquet"
    positions = sorted({*range(0, len(data), max(1, len(data) // 97)), len(data) - 1, 148, 512})
    for at in positions:
        bad = bytearray(data)
        bad[at] ^= 0x20
        path = tmp_path / "bad.madadpkg"
        path.write_bytes(bytes(bad))
        with pytest.raises(ExchangeError):
            exchange.verify(path, keys["bisp"].identity)
        with pytest.raises(ExchangeError):
            _unpack_to(path, out, keys)
        assert not out.exists(), at


def test_every_truncation_is_refused(tmp_path, package, keys):
    data = package.read_bytes()
    for cut in sorted({*range(0, len(data), max(1, len(data) // 61)), len(data) - 1}):
        path = tmp_path / "short.madadpkg"
        path.write_bytes(data[:cut])
        with pytest.raises(ExchangeError, match="truncated package"):
            exchange.verify(path, keys["bisp"].identity)


def test_a_manifest_re_signed_by_another_key_is_refused(tmp_path, package, keys):
    parts = _members(package)
    manifest = json.loads(parts["manifest.json"])
    sindh = exchange.load_private(keys["sspa-sindh"].private_key)
    for edit in ({}, {"purpose": "something else"}):
        body = json.dumps({**manifest, **edit}, sort_keys=True, separators=(",", ":")).encode()
        forged = _build(tmp_path / "forged.madadpkg", {
            **parts, "manifest.json": body,
            "manifest.json.sig": container._sshsig_sign(sindh.signing_key, body),
        })
        with pytest.raises(ExchangeError, match="signature check failed.*not signed by bisp"):
            exchange.verify(forged, keys["bisp"].identity)
        with pytest.raises(ExchangeError, match="signature check failed.*not signed by bisp"):
            _unpack_to(forged, tmp_path / "got.parquet", keys)


def test_a_swapped_payload_is_refused(tmp_path, package, keys, source):
    """Another package's payload.age (same sender and recipient) under this signed manifest."""
    other = tmp_path / "other.madadpkg"
    _pack(keys, source, other)
    swapped = _build(tmp_path / "swapped.madadpkg", {**_members(package), "payload.age": _members(other)["payload.age"]})
    with pytest.raises(ExchangeError, match="payload.age has .* signed manifest"):
        _unpack_to(swapped, tmp_path / "got.parquet", keys)


def test_extra_or_missing_members_are_refused(tmp_path, package, keys):
    parts = _members(package)
    with tarfile.open(tmp_path / "extra.madadpkg", mode="w:", format=tarfile.GNU_FORMAT) as tar:
        for name in [*MEMBERS, "evil.sh"]:
            data = parts.get(name, b"echo hi\n")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(ExchangeError, match="unexpected bytes|tampered"):
        exchange.verify(tmp_path / "extra.madadpkg", keys["bisp"].identity)
    with tarfile.open(tmp_path / "short.madadpkg", mode="w:", format=tarfile.GNU_FORMAT) as tar:
        for name in MEMBERS[:2]:
            info = tarfile.TarInfo(name)
            info.size = len(parts[name])
            tar.addfile(info, io.BytesIO(parts[name]))
    with pytest.raises(ExchangeError, match="tampered|truncated"):
        exchange.verify(tmp_path / "short.madadpkg", keys["bisp"].identity)


# --- control characters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dataset", "nser\nforged line"),
        ("dataset", "nser\r"),
        ("purpose", "dedup\x1b[2J\x1b[31mAPPROVED"),
        ("purpose", "dedup\tx"),
        ("purpose", "dedup \u202egnp.exe"),
        ("purpose", "dedup\u2028x"),
        ("dataset", "nser\x85"),
    ],
)
def test_control_characters_in_labels_are_refused(tmp_path, keys, source, field, value):
    out, log = tmp_path / "x.madadpkg", tmp_path / "audit.jsonl"
    with pytest.raises(ExchangeError, match=f"{field} .* contains control characters") as info:
        _pack(keys, source, out, audit_log=log, **{field: value})
    message = str(info.value)
    assert not any(ch in message for ch in "\n\r\t\x1b\u202e\u2028\x85")
    assert not out.exists()
    line = log.read_text()
    assert line.count("\n") == 1 and "\x1b" not in line and "refused" in line
    args = ["pack", str(source), "--to", str(keys["pspa-punjab"].identity),
            "--key", str(keys["bisp"].private_key), "--dataset", "d", "--purpose", "p",
            "--out", str(out)]
    args[args.index(f"--{field}") + 1] = value
    result = runner.invoke(exchange_app, args)
    assert result.exit_code == 2 and "control characters" in result.output
    assert not any(ch in result.output for ch in "\x1b\u202e\u2028\x85\r\t")
    assert result.output.count("\n") == 1


def test_urdu_labels_pass(tmp_path, keys, source):
    purpose = "سیلاب زدگان کی امداد\u200c، ضلع راجن پور"
    manifest = _pack(keys, source, tmp_path / "u.madadpkg", purpose=purpose)
    assert exchange.verify(tmp_path / "u.madadpkg", keys["bisp"].identity)["purpose"] == purpose
    assert manifest["purpose"] == purpose


def test_a_signed_manifest_with_control_characters_is_refused(tmp_path, package, keys):
    """A sender's own (or a stolen) key signing a manifest made to drive the terminal."""
    parts = _members(package)
    bisp = exchange.load_private(keys["bisp"].private_key)
    for edit in ({"purpose": "ok\n\x1b[32mverified by BISP"}, {"created_utc": "\x1b[2J"},
                 {"recipient": {"agency_id": "pspa-punjab\x1b[0m", "key_id": keys["pspa-punjab"].key_id}}):
        body = json.dumps({**json.loads(parts["manifest.json"]), **edit}, sort_keys=True,
                          separators=(",", ":")).encode()
        crafted = _build(tmp_path / "crafted.madadpkg", {
            **parts, "manifest.json": body,
            "manifest.json.sig": container._sshsig_sign(bisp.signing_key, body),
        })
        with pytest.raises(ExchangeError) as info:
            exchange.verify(crafted, keys["bisp"].identity)
        assert "\x1b" not in str(info.value) and "\n" not in str(info.value)
        result = runner.invoke(exchange_app, ["verify", str(crafted), "--from", str(keys["bisp"].identity)])
        assert result.exit_code == 2 and "\x1b" not in result.output


# --- streaming ---------------------------------------------------------------------------------


def test_the_cnic_scan_reads_every_batch(tmp_path, keys, monkeypatch):
    """A raw CNIC deep in a later row group is found, batch by batch."""
    refs = [f"ref-{i}" for i in range(1000)]
    refs[937] = "35202-1234567-1"
    path = tmp_path / "late.parquet"
    pq.write_table(pa.table({"household_id": [f"h{i}" for i in range(1000)], "ref": refs}), path,
                   row_group_size=100)
    monkeypatch.setattr(exchange, "SCAN_BATCH_ROWS", 50)
    with pytest.raises(ExchangeError, match="'ref' .* looks like raw CNICs"):
        _pack(keys, path, tmp_path / "x.madadpkg")
    assert not (tmp_path / "x.madadpkg").exists()
    assert not list(tmp_path.glob(".x.madadpkg*"))


def test_pack_streams_the_file_and_leaves_no_scratch(tmp_path, keys, source, monkeypatch):
    """The Parquet file is never read whole (no read_bytes); only the package remains."""
    real = Path.read_bytes

    def guarded(self):
        assert self != source, "the payload was read whole"
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", guarded)
    out = tmp_path / "s.madadpkg"
    manifest = _pack(keys, source, out)
    assert manifest["payload"]["bytes"] == source.stat().st_size
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.madadpkg"]
    frame = pd.read_parquet(source)
    assert manifest["rows"] == len(frame)


def test_unpack_scans_the_payload_for_raw_cnics(tmp_path, keys, monkeypatch):
    """The receiving door: a package that carries a raw CNIC (a sender's bug, or a sender not
    running Madad) is refused on unpack, and nothing is written."""
    path = tmp_path / "leak.parquet"
    pq.write_table(pa.table({"household_id": ["h1", "h2"], "ref": ["ok", "3520212345671"]}), path)
    real_scan = exchange._scan
    monkeypatch.setattr(exchange, "_scan", lambda p: (pq.ParquetFile(p).schema_arrow, 2))
    _pack(keys, path, tmp_path / "leak.madadpkg")
    monkeypatch.setattr(exchange, "_scan", real_scan)
    out = tmp_path / "got.parquet"
    with pytest.raises(ExchangeError, match=r"leak\.madadpkg \(payload\).*'ref'.*looks like raw CNICs"):
        exchange.unpack_to(tmp_path / "leak.madadpkg", out, recipient_private=keys["pspa-punjab"].private_key,
                           sender_public_identity=keys["bisp"].identity, audit_log=tmp_path / "audit.jsonl")
    assert not out.exists() and not list(tmp_path.glob(".got.parquet*"))
