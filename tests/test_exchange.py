"""Exchange packages: round trips, every refusal (tamper, truncation, wrong key, wrong sender,
unknown version, raw CNICs), the hash-chained audit log, key files and the CLI."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import tarfile
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from hazards.errors import MadadError
from simulator import registry
from simulator.cli.exchange import exchange_app
from simulator.exchange import packages as exchange
from simulator.exchange.packages import ExchangeError

runner = CliRunner()


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def households() -> pd.DataFrame:
    return registry.generate(500, seed=1)


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, exchange.KeyFiles]:
    """Keys of BISP, PSPA Punjab and SSPA Sindh, each in its own folder."""
    root = tmp_path_factory.mktemp("keys")
    return {a: exchange.keygen(a, root / a) for a in ("bisp", "pspa-punjab", "sspa-sindh")}


@pytest.fixture(scope="module")
def package(tmp_path_factory, households, keys) -> Path:
    """A good package: BISP's 500 households for PSPA Punjab."""
    out = tmp_path_factory.mktemp("pkg") / "nser.madadpkg"
    exchange.pack(
        households,
        sender_private=keys["bisp"].private_key,
        recipient_public_identity=keys["pspa-punjab"].identity,
        dataset="nser-extract",
        purpose="dedup of flood response",
        out=out,
    )
    return out


@pytest.fixture
def no_import(monkeypatch) -> list:
    """Record every attempt to read rows from a payload; a refusal must leave it empty."""
    calls: list = []
    real = exchange._decode_payload

    def spy(payload: bytes) -> pd.DataFrame:
        calls.append(len(payload))
        return real(payload)

    monkeypatch.setattr(exchange, "_decode_payload", spy)
    return calls


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the name the generator gives a categorical's categories (Parquet does not keep it)."""
    frame = frame.copy()
    for col in frame.select_dtypes("category"):
        frame[col] = frame[col].cat.rename_categories(list(frame[col].cat.categories))
    return frame


def _regions(data: bytes) -> dict[str, tuple[int, int]]:
    """Byte ranges [start, end) of the package's parts (a tar archive, read with tarfile)."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert list(members) == ["payload.age", "manifest.json", "manifest.json.sig"]
    span = {name: (m.offset_data, m.offset_data + m.size) for name, m in members.items()}
    return {
        "header": (0, 512),
        "ciphertext": span["payload.age"],
        "manifest_header": (members["manifest.json"].offset, span["manifest.json"][0]),
        "manifest": span["manifest.json"],
        "signature": span["manifest.json.sig"],
        "end": (span["manifest.json.sig"][1], len(data)),
    }


def _unpack(path, keys, *, to="pspa-punjab", sender="bisp", **kw):
    return exchange.unpack(
        path,
        recipient_private=keys[to].private_key,
        sender_public_identity=keys[sender].identity,
        **kw,
    )


def _write(tmp_path: Path, data: bytes, name: str = "bad.madadpkg") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- round trips ------------------------------------------------------------------------------


def test_round_trip_frame_is_identical(package, households, keys, no_import):
    frame, manifest = _unpack(package, keys)
    pd.testing.assert_frame_equal(frame, _plain(households))
    assert manifest["rows"] == 500 and manifest["dataset"] == "nser-extract"
    assert manifest["sender"] == {"agency_id": "bisp", "key_id": keys["bisp"].key_id}
    assert manifest["recipient"]["agency_id"] == "pspa-punjab"
    assert [c["name"] for c in manifest["columns"]] == list(households.columns)
    assert no_import == [manifest["payload"]["bytes"]]


def test_geoparquet_file_travels_byte_for_byte(tmp_path, households, keys):
    src = tmp_path / "hh.parquet"
    registry.write(households, src)
    pkg = tmp_path / "hh.madadpkg"
    exchange.pack(
        src,
        sender_private=keys["bisp"].private_key,
        recipient_public_identity=keys["pspa-punjab"].identity,
        dataset="hh",
        purpose="test",
        out=pkg,
    )
    out = tmp_path / "received.parquet"
    exchange.unpack_to(
        pkg,
        out,
        recipient_private=keys["pspa-punjab"].private_key,
        sender_public_identity=keys["bisp"].identity,
    )
    assert out.read_bytes() == src.read_bytes()
    assert len(registry.load(out).households) == 500


def test_plaintext_is_not_in_the_package(package, households):
    data = package.read_bytes()
    for hid in households.household_id.head(20):
        assert hid.encode() not in data
    assert b"PAR1" not in data  # no Parquet magic: the payload is encrypted
    start, end = _regions(data)["ciphertext"]
    assert data[start:end].startswith(b"age-encryption.org/v1\n")


def test_verify_checks_signature_without_the_private_key(package, keys):
    manifest = exchange.verify(package, keys["bisp"].identity)
    assert manifest["rows"] == 500
    assert manifest["encryption"]["format"] == "age-encryption.org/v1"
    assert manifest["encryption"]["recipient"].startswith("age1")
    assert manifest["signature"]["format"] == "sshsig"


def test_passphrase_protected_keys(tmp_path, households, keys):
    files = exchange.keygen("pdma-sindh", tmp_path, passphrase="monsoon-2025")
    assert "ENCRYPTED PRIVATE KEY" in files.private_key.read_text()
    pkg = tmp_path / "p.madadpkg"
    exchange.pack(
        households.head(10),
        sender_private=keys["bisp"].private_key,
        recipient_public_identity=files.identity,
        dataset="d",
        purpose="p",
        out=pkg,
    )
    frame, _ = exchange.unpack(
        pkg,
        recipient_private=files.private_key,
        sender_public_identity=keys["bisp"].identity,
        passphrase="monsoon-2025",
    )
    assert len(frame) == 10
    with pytest.raises(ExchangeError, match="passphrase-protected"):
        exchange.load_private(files.private_key)
    with pytest.raises(ExchangeError, match="wrong passphrase"):
        exchange.load_private(files.private_key, passphrase="not-the-one")
    with pytest.raises(ExchangeError, match="too short"):
        exchange.keygen("pdma-punjab", tmp_path, passphrase="short")


# --- keys and identities ----------------------------------------------------------------------


def test_private_key_files_have_mode_0600(keys):
    for files in keys.values():
        assert files.private_key.stat().st_mode & 0o777 == 0o600
        assert files.private_key.name.endswith(".key.pem")
        ident = json.loads(files.identity.read_text())
        assert ident["agency_id"] == files.private_key.name.split(".")[0]
        assert ident["key_id"] == files.key_id and len(files.key_id) == 32
        assert "PRIVATE" not in files.identity.read_text()


def test_keygen_refuses_to_overwrite_and_bad_agency_ids(tmp_path):
    exchange.keygen("bisp", tmp_path)
    with pytest.raises(ExchangeError, match="already exists"):
        exchange.keygen("bisp", tmp_path)
    again = exchange.keygen("bisp", tmp_path, overwrite=True)
    assert exchange.load_private(again.private_key).key_id == again.key_id
    with pytest.raises(ExchangeError, match="not a valid agency id"):
        exchange.keygen("BISP Islamabad", tmp_path)


def test_readable_private_key_is_refused(tmp_path):
    files = exchange.keygen("bisp", tmp_path)
    os.chmod(files.private_key, 0o644)
    with pytest.raises(ExchangeError, match="chmod 600"):
        exchange.load_private(files.private_key)


def test_edited_identity_is_refused(tmp_path, keys):
    doc = json.loads(keys["bisp"].identity.read_text())
    doc["agency_id"] = "pspa-punjab"
    path = tmp_path / "edited.identity.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ExchangeError, match="self-signature fails"):
        exchange.load_identity(path)
    doc = json.loads(keys["bisp"].identity.read_text())
    doc["encryption_key"] = json.loads(keys["sspa-sindh"].identity.read_text())["encryption_key"]
    path.write_text(json.dumps(doc))
    with pytest.raises(ExchangeError, match="key_id .* does not match"):
        exchange.load_identity(path)


# --- tampering --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "where", "message"),
    [
        ("ciphertext", 0.5, "payload.age has SHA-256"),
        ("ciphertext", 0.0, "payload.age has SHA-256"),  # the age header
        ("ciphertext", 0.999, "payload.age has SHA-256"),  # inside the last chunk's tag
        ("header", 0.5, "tar header of payload.age is damaged"),
        ("manifest_header", 0.3, "tar header of manifest.json is damaged"),
        ("manifest", 0.5, "tampered"),
        ("manifest", 0.98, "tampered"),
        ("signature", 0.0, "signature check failed"),
        ("signature", 0.5, "signature check failed"),
        ("signature", 0.9, "signature check failed"),
        ("end", 0.5, "end of the archive is not zero"),
    ],
)
def test_flipped_byte_is_refused(tmp_path, package, keys, no_import, region, where, message):
    data = bytearray(package.read_bytes())
    start, end = _regions(bytes(data))[region]
    at = start + int(where * (end - start - 1))
    data[at] ^= 0x01
    bad = _write(tmp_path, bytes(data))
    with pytest.raises(ExchangeError, match=message) as info:
        _unpack(bad, keys)
    assert "tampered" in str(info.value)
    with pytest.raises(ExchangeError, match="tampered"):
        exchange.verify(bad, keys["bisp"].identity)
    assert no_import == []


@pytest.mark.parametrize(
    "cut",
    [0, 3, 8, 12, 14, 300, "ciphertext", "manifest_header", "manifest", "signature", "end", -1],
)
def test_truncated_package_is_refused(tmp_path, package, keys, no_import, cut):
    data = package.read_bytes()
    regions = _regions(data)
    at = {
        "ciphertext": sum(regions["ciphertext"]) // 2,
        "manifest_header": regions["manifest_header"][0] + 100,
        "manifest": sum(regions["manifest"]) // 2,
        "signature": regions["signature"][0] + 10,
        "end": regions["end"][0] + 600,
        -1: len(data) - 1,
    }.get(cut, cut)
    bad = _write(tmp_path, data[:at])
    with pytest.raises(ExchangeError, match="truncated package"):
        _unpack(bad, keys)
    with pytest.raises(ExchangeError, match="truncated package"):
        exchange.verify(bad, keys["bisp"].identity)
    assert no_import == []


def test_appended_bytes_and_other_files_are_refused(tmp_path, package, keys, no_import):
    with pytest.raises(ExchangeError, match="unexpected bytes after the end of the package"):
        _unpack(_write(tmp_path, package.read_bytes() + b"\x00"), keys)
    with pytest.raises(ExchangeError, match="not a Madad exchange package"):
        _unpack(_write(tmp_path, b"PAR1" + b"\x00" * 100), keys)
    with pytest.raises(ExchangeError, match="no such package"):
        _unpack(tmp_path / "missing.madadpkg", keys)
    assert no_import == []


def test_invalid_tag_is_refused_even_with_a_valid_signature(
    tmp_path, households, keys, monkeypatch, no_import
):
    """age's authentication stands on its own: a sender whose ciphertext is corrupt before it
    is hashed and signed."""
    real = exchange._encrypt

    class Flip:  # flips byte 300 of the age stream (past the header, in the first chunk)
        def __init__(self, writer):
            self.writer, self.pos = writer, 0

        def write(self, data):
            data = bytearray(data)
            if self.pos <= 300 < self.pos + len(data):
                data[300 - self.pos] ^= 0xFF
            self.pos += len(data)
            return self.writer.write(bytes(data))

        def flush(self):
            self.writer.flush()

    def corrupt(reader, writer, recipient):
        real(reader, Flip(writer), recipient)

    monkeypatch.setattr(exchange, "_encrypt", corrupt)
    pkg = tmp_path / "corrupt.madadpkg"
    exchange.pack(
        households.head(5),
        sender_private=keys["bisp"].private_key,
        recipient_public_identity=keys["pspa-punjab"].identity,
        dataset="d",
        purpose="p",
        out=pkg,
    )
    exchange.verify(pkg, keys["bisp"].identity)  # the signature holds
    with pytest.raises(ExchangeError, match="decryption failed"):
        _unpack(pkg, keys)
    assert no_import == []


# --- wrong parties, unknown version -----------------------------------------------------------


def test_wrong_recipient_private_key_is_refused(package, keys, no_import):
    with pytest.raises(
        ExchangeError, match="wrong recipient: the package is addressed to 'pspa-punjab'"
    ):
        _unpack(package, keys, to="sspa-sindh")
    assert no_import == []


def test_rotated_recipient_key_is_refused(tmp_path, package, keys, no_import):
    rotated = exchange.keygen("pspa-punjab", tmp_path)
    with pytest.raises(ExchangeError, match="wrong recipient key"):
        exchange.unpack(
            package,
            recipient_private=rotated.private_key,
            sender_public_identity=keys["bisp"].identity,
        )
    # Same names, other key material: the addressing check is passed, AES-GCM still refuses.
    impostor = dataclasses.replace(
        exchange.load_private(rotated.private_key), key_id=keys["pspa-punjab"].key_id
    )
    with pytest.raises(ExchangeError, match="decryption failed"):
        exchange.unpack(
            package, recipient_private=impostor, sender_public_identity=keys["bisp"].identity
        )
    assert no_import == []


def test_package_from_a_third_agency_presented_as_bisp_is_refused(
    tmp_path, households, keys, no_import
):
    honest = tmp_path / "sindh.madadpkg"
    exchange.pack(
        households.head(20),
        sender_private=keys["sspa-sindh"].private_key,
        recipient_public_identity=keys["pspa-punjab"].identity,
        dataset="d",
        purpose="p",
        out=honest,
    )
    with pytest.raises(
        ExchangeError, match="wrong sender: the package says it is from 'sspa-sindh'"
    ):
        _unpack(honest, keys, sender="bisp")
    # Sindh forges BISP's agency id and key id in the manifest but can only sign with its own key.
    forger = dataclasses.replace(
        exchange.load_private(keys["sspa-sindh"].private_key),
        agency_id="bisp",
        key_id=keys["bisp"].key_id,
    )
    forged = tmp_path / "forged.madadpkg"
    exchange.pack(
        households.head(20),
        sender_private=forger,
        recipient_public_identity=keys["pspa-punjab"].identity,
        dataset="d",
        purpose="p",
        out=forged,
    )
    with pytest.raises(ExchangeError, match="signature check failed.*not signed by bisp"):
        _unpack(forged, keys, sender="bisp")
    with pytest.raises(ExchangeError, match="signature check failed"):
        exchange.verify(forged, keys["bisp"].identity)
    assert no_import == []


def test_unknown_format_version_is_refused(tmp_path, households, keys, monkeypatch, no_import):
    pkg = tmp_path / "v3.madadpkg"
    with monkeypatch.context() as patch:  # a newer Madad wrote (and signed) this package
        patch.setattr(exchange, "FORMAT_VERSION", 3)
        exchange.pack(
            households.head(5),
            sender_private=keys["bisp"].private_key,
            recipient_public_identity=keys["pspa-punjab"].identity,
            dataset="d",
            purpose="p",
            out=pkg,
        )
    with tarfile.open(pkg) as tar:
        assert json.load(tar.extractfile("manifest.json"))["format_version"] == 3
    with pytest.raises(
        ExchangeError, match=r"unknown format version 3; this Madad reads version\(s\) \[2\]"
    ):
        _unpack(pkg, keys)
    with pytest.raises(ExchangeError, match="unknown format version 3"):
        exchange.verify(pkg, keys["bisp"].identity)
    # A package of the old, Madad-only container is named as such.
    old = _write(tmp_path, b"MADADPKG\x00\x01" + b"\x00" * 200, "old.madadpkg")
    with pytest.raises(ExchangeError, match="format version 1 .* pack it again"):
        _unpack(old, keys)
    assert no_import == []


# --- raw CNICs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "values", "why"),
    [
        ("cnic", ["a", "b", "c"], "'cnic' \\(its name\\)"),
        ("head_CNIC_no", ["a", "b", "c"], "\\(its name\\)"),
        ("national_id", ["a", "b", "c"], "\\(its name\\)"),
        ("ref", ["35202-1234567-1", "x", "y"], "'ref' \\(1 values of 13 digits\\)"),
        ("ref", ["3520212345671", "4210112345673", None], "2 values of 13 digits\\)"),
        ("ref", pd.Categorical(["42101-1234567-3"] * 3), "13 digits\\)"),
    ],
)
def test_raw_cnic_is_refused_at_pack_time(tmp_path, keys, column, values, why):
    frame = pd.DataFrame({"household_id": ["h1", "h2", "h3"], column: values})
    out = tmp_path / "x.madadpkg"
    log = tmp_path / "audit.jsonl"
    with pytest.raises(ExchangeError, match=f"{why} looks like raw CNICs.*Pseudonymise first"):
        exchange.pack(
            frame,
            sender_private=keys["bisp"].private_key,
            recipient_public_identity=keys["pspa-punjab"].identity,
            dataset="d",
            purpose="p",
            out=out,
            audit_log=log,
        )
    assert not out.exists()
    line = json.loads(log.read_text())
    assert line["operation"] == "pack" and line["outcome"] == "refused"
    assert "35202" not in log.read_text() and "3520212345671" not in log.read_text()


def test_pseudonyms_and_other_numbers_pass(tmp_path, keys):
    """Pseudonym columns and numbers that are not 13 digits are packed, and arrive unchanged."""
    frame = pd.DataFrame(
        {
            "cnic_pseudonym": ["3f9a0c1d2e4b5a69", "00aa", "ff"],
            "phone_digits": ["03001234567", "0300-1234567", "x"],  # 11 digits: not a CNIC
            "amount_pkr": [25_000, 25_000, 10_500],
        }
    )
    out = tmp_path / "ok.madadpkg"
    log = tmp_path / "audit.jsonl"
    manifest = exchange.pack(
        frame,
        sender_private=keys["bisp"].private_key,
        recipient_public_identity=keys["pspa-punjab"].identity,
        dataset="d",
        purpose="p",
        out=out,
        audit_log=log,
    )
    assert out.exists()
    assert manifest["rows"] == 3
    assert [c["name"] for c in manifest["columns"]] == list(frame.columns)
    line = json.loads(log.read_text())
    assert line["operation"] == "pack" and line["outcome"] == "ok"
    back, _ = _unpack(out, keys)
    pd.testing.assert_frame_equal(back, frame)


def test_exchange_error_is_a_madad_and_value_error():
    assert issubclass(ExchangeError, MadadError) and issubclass(ExchangeError, ValueError)


# --- audit log --------------------------------------------------------------------------------


@pytest.fixture
def audited(tmp_path, households, keys) -> Path:
    """An audit log of: pack ok, unpack ok, unpack refused (wrong recipient), pack ok."""
    log = tmp_path / "audit.jsonl"
    pkg = tmp_path / "a.madadpkg"
    common = {
        "sender_private": keys["bisp"].private_key,
        "audit_log": log,
        "recipient_public_identity": keys["pspa-punjab"].identity,
    }
    exchange.pack(households, dataset="nser", purpose="dedup", out=pkg, **common)
    _unpack(pkg, keys, audit_log=log)
    with pytest.raises(ExchangeError, match="wrong recipient"):
        _unpack(pkg, keys, to="sspa-sindh", audit_log=log)
    exchange.pack(households.head(50), dataset="nser-2", purpose="dedup", out=pkg, **common)
    return log


def test_audit_log_records_each_operation(audited, households, keys):
    lines = [json.loads(x) for x in audited.read_text().splitlines()]
    assert [(x["operation"], x["outcome"]) for x in lines] == [
        ("pack", "ok"),
        ("unpack", "ok"),
        ("unpack", "refused"),
        ("pack", "ok"),
    ]
    assert [x["seq"] for x in lines] == [1, 2, 3, 4]
    pack_ok, unpack_ok, refused, _ = lines
    assert pack_ok["agency"] == {"agency_id": "bisp", "key_id": keys["bisp"].key_id}
    assert pack_ok["counterparty"]["agency_id"] == "pspa-punjab"
    assert pack_ok["rows"] == 500 and pack_ok["dataset"] == "nser" and pack_ok["purpose"] == "dedup"
    assert pack_ok["direction"] == "outgoing" and unpack_ok["direction"] == "incoming"
    assert unpack_ok["payload_sha256"] == pack_ok["payload_sha256"]
    assert unpack_ok["package_sha256"] == pack_ok["package_sha256"]
    assert refused["agency"]["agency_id"] == "sspa-sindh" and "wrong recipient" in refused["reason"]
    for x in lines:
        assert x["time_utc"].endswith("Z") and len(x["prev_sha256"]) == 64
    text = audited.read_text()
    assert not any(hid in text for hid in households.household_id.head(50))
    summary = exchange.verify_audit_log(audited)
    assert summary.entries == 4
    assert summary.operations == {"pack ok": 2, "unpack ok": 1, "unpack refused": 1}


def test_audit_log_detects_an_edited_line(audited):
    lines = audited.read_text().splitlines(keepends=True)
    lines[0] = lines[0].replace('"rows":500', '"rows":400')
    audited.write_text("".join(lines))
    with pytest.raises(ExchangeError, match="line 2: hash chain broken"):
        exchange.verify_audit_log(audited)


def test_audit_log_detects_a_deleted_line(audited):
    lines = audited.read_text().splitlines(keepends=True)
    del lines[2]
    audited.write_text("".join(lines))
    with pytest.raises(ExchangeError, match="line 3: hash chain broken"):
        exchange.verify_audit_log(audited)


def test_audit_anchor_detects_deleted_newest_lines(audited):
    head = exchange.verify_audit_log(audited).head_sha256
    lines = audited.read_text().splitlines(keepends=True)
    audited.write_text("".join(lines[:-1]))
    assert exchange.verify_audit_log(audited).entries == 3  # the chain alone cannot tell
    with pytest.raises(ExchangeError, match="no longer in the log"):
        exchange.verify_audit_log(audited, anchor=head)


def test_audit_log_with_a_partial_last_line_takes_no_more_entries(audited, package, keys):
    with open(audited, "ab") as fh:
        fh.write(b'{"seq":5')
    with pytest.raises(ExchangeError, match="partial line"):
        _unpack(package, keys, audit_log=audited)
    with pytest.raises(ExchangeError, match="last line is incomplete"):
        exchange.verify_audit_log(audited)


# --- command line -----------------------------------------------------------------------------


def test_cli_keygen_pack_verify_unpack_audit(tmp_path, households):
    for agency in ("bisp", "pspa-punjab"):
        result = runner.invoke(exchange_app, ["keygen", agency, "--out", str(tmp_path / agency)])
        assert result.exit_code == 0, result.output
        assert "key id" in result.output
    assert (tmp_path / "bisp" / "bisp.key.pem").stat().st_mode & 0o777 == 0o600
    src = tmp_path / "hh.parquet"
    registry.write(households.head(100), src)
    bisp_key, bisp_id = tmp_path / "bisp" / "bisp.key.pem", tmp_path / "bisp" / "bisp.identity.json"
    pb_key = tmp_path / "pspa-punjab" / "pspa-punjab.key.pem"
    pb_id = tmp_path / "pspa-punjab" / "pspa-punjab.identity.json"
    pkg, log, out = tmp_path / "hh.madadpkg", tmp_path / "audit.jsonl", tmp_path / "got.parquet"

    result = runner.invoke(
        exchange_app,
        [
            "pack",
            str(src),
            "--to",
            str(pb_id),
            "--key",
            str(bisp_key),
            "--dataset",
            "nser",
            "--purpose",
            "flood dedup",
            "--out",
            str(pkg),
            "--audit",
            str(log),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "packed 100 rows" in result.output

    result = runner.invoke(exchange_app, ["verify", str(pkg), "--from", str(bisp_id)])
    assert result.exit_code == 0 and "ok: signed by bisp" in result.output

    result = runner.invoke(
        exchange_app,
        [
            "unpack",
            str(pkg),
            "--from",
            str(bisp_id),
            "--key",
            str(pb_key),
            "--out",
            str(out),
            "--audit",
            str(log),
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == src.read_bytes()

    result = runner.invoke(exchange_app, ["audit-verify", str(log)])
    assert result.exit_code == 0 and "ok: 2 entries" in result.output


def test_cli_refusals_exit_2_and_write_nothing(tmp_path, package, keys):
    data = bytearray(package.read_bytes())
    data[_regions(bytes(data))["ciphertext"][0] + 3] ^= 0x10
    bad = _write(tmp_path, bytes(data))
    out = tmp_path / "got.parquet"
    audit = tmp_path / "cli-audit.jsonl"
    args = [
        "--from",
        str(keys["bisp"].identity),
        "--key",
        str(keys["pspa-punjab"].private_key),
        "--out",
        str(out),
    ]
    result = runner.invoke(exchange_app, ["unpack", str(package), *args])
    assert result.exit_code == 2 and "needs --audit" in result.output and not out.exists()
    result = runner.invoke(exchange_app, ["unpack", str(bad), *args, "--audit", str(audit)])
    assert result.exit_code == 2 and "payload.age has SHA-256" in result.output
    assert not out.exists()
    assert not list(tmp_path.glob(".got.parquet*"))  # no scratch file left behind

    result = runner.invoke(
        exchange_app,
        [
            "unpack",
            str(package),
            "--from",
            str(keys["bisp"].identity),
            "--key",
            str(keys["sspa-sindh"].private_key),
            "--out",
            str(out),
            "--audit",
            str(audit),
        ],
    )
    assert result.exit_code == 2 and "wrong recipient" in result.output and not out.exists()

    result = runner.invoke(
        exchange_app, ["verify", str(package), "--from", str(keys["sspa-sindh"].identity)]
    )
    assert result.exit_code == 2 and "wrong sender" in result.output

    cnic = tmp_path / "raw.parquet"
    pd.DataFrame({"cnic": ["35202-1234567-1"]}).to_parquet(cnic)
    result = runner.invoke(
        exchange_app,
        [
            "pack",
            str(cnic),
            "--to",
            str(keys["pspa-punjab"].identity),
            "--key",
            str(keys["bisp"].private_key),
            "--dataset",
            "d",
            "--purpose",
            "p",
            "--out",
            str(tmp_path / "x.madadpkg"),
        ],
    )
    assert result.exit_code == 2 and "Pseudonymise first" in result.output
    assert "35202-1234567-1" not in result.output

    log = tmp_path / "audit.jsonl"
    log.write_text('{"seq":1,"prev_sha256":"nope"}\n')
    result = runner.invoke(exchange_app, ["audit-verify", str(log)])
    assert result.exit_code == 2 and "hash chain broken" in result.output


def test_cli_passphrase_from_environment(tmp_path, households, keys, monkeypatch):
    monkeypatch.setenv("MADAD_KEY_PASSPHRASE", "monsoon-2025")
    result = runner.invoke(
        exchange_app, ["keygen", "pdma-sindh", "--out", str(tmp_path), "--passphrase"]
    )
    assert result.exit_code == 0, result.output
    key = tmp_path / "pdma-sindh.key.pem"
    assert "ENCRYPTED PRIVATE KEY" in key.read_text()
    src = tmp_path / "hh.parquet"
    registry.write(households.head(10), src)

    def pack(out: str, **kwargs):
        args = ["pack", str(src), "--to", str(keys["bisp"].identity), "--key", str(key),
                "--dataset", "d", "--purpose", "p", "--out", str(tmp_path / out)]
        return runner.invoke(exchange_app, args, **kwargs)

    result = pack("p.madadpkg")
    assert result.exit_code == 0, result.output
    monkeypatch.delenv("MADAD_KEY_PASSPHRASE")
    result = pack("q.madadpkg", input="wrong-passphrase\n")
    assert result.exit_code == 2 and "wrong passphrase" in result.output


@pytest.mark.parametrize(
    "command", [[], ["keygen"], ["pack"], ["unpack"], ["verify"], ["audit-verify"]]
)
def test_cli_help_has_examples(command):
    result = runner.invoke(exchange_app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output
