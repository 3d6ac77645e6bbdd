"""CNIC validation, keyed pseudonyms and the key ring (simulator.exchange.pseudonym)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import stat
import time

import numpy as np
import pandas as pd
import pytest

from hazards.errors import MadadError
from simulator.exchange import pseudonym as ps

CNIC = "35202-1234567-1"
CNIC_DIGITS = "3520212345671"
SECRET = bytes(range(32))
#: A pseudonym: key id, colon, 32 hex digits grouped 8-4-4-4-12.
PSEUDONYM_RE = re.compile(r"^k1:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
CNIC_LIKE = re.compile(r"\d{5}-?\d{7}-?\d|\d{13}")


@pytest.fixture
def key() -> ps.Key:
    return ps.Key("k1", SECRET)


def random_cnics(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    digits = rng.integers(0, 10, size=(n, 13))
    digits[:, 0] = rng.integers(1, 8, size=n)
    text = (digits + ord("0")).astype(np.uint8).view("S13").ravel()
    return text.astype(str).tolist()


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [CNIC, CNIC_DIGITS, f"  {CNIC} ", int(CNIC_DIGITS)])
def test_good_cnics_normalise_to_13_digits(value):
    assert ps.normalise_cnic([value]).tolist() == [CNIC_DIGITS.encode()]
    assert ps.is_valid_cnic([value]).tolist() == [True]


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("352021234567", "12 digits instead of 13"),
        ("35202123456712", "14 digits instead of 13"),
        ("35202-1234567-12", "14 digits"),
        ("35202123456A1", "other than digits"),
        ("35202 1234567 1", "other than digits"),
        ("3520-21234567-1", "dashes not in the 5-7-1 places"),
        ("35202-12345671", "dashes not in the 5-7-1 places"),
        ("352021234567-1", "dashes not in the 5-7-1 places"),
        ("35202--1234567-1", "dashes not in the 5-7-1 places"),
        ("", "empty"),
        (None, "missing"),
    ],
)
def test_bad_cnics_are_refused_naming_the_row_without_the_cnic(value, why):
    values = [CNIC, value, CNIC]
    with pytest.raises(ps.CnicError, match=rf"column .cnic.*row 2: [^(]*\([^)]*{why}") as info:
        ps.normalise_cnic(values)
    message = str(info.value)
    assert "row 1" not in message and "row 3" not in message
    if value:
        assert value not in message
        assert value.replace("-", "") not in message.replace("-", "").replace("*", "")
    assert not CNIC_LIKE.search(message)
    assert ps.is_valid_cnic(values).tolist() == [True, False, True]


def test_error_masks_the_middle_digits():
    assert ps.mask_cnic(CNIC) == "35202-*******-1"
    assert ps.mask_cnic(CNIC_DIGITS) == "35202*******1"
    assert ps.mask_cnic("123") == "***"
    with pytest.raises(ps.CnicError, match=r"35202\*{8}1"):
        ps.normalise_cnic(["35202123456781"])


def test_error_counts_rows_past_the_first_five():
    with pytest.raises(ps.CnicError, match=r"7 malformed CNIC\(s\).*row 5.*and 2 more"):
        ps.normalise_cnic(["x"] * 7)


def test_floats_are_refused():
    with pytest.raises(ps.CnicError, match="floating-point"):
        ps.normalise_cnic(pd.Series([3520212345671.0]))


def test_cnic_error_is_in_the_hierarchy():
    assert issubclass(ps.CnicError, MadadError) and issubclass(ps.CnicError, ValueError)
    assert issubclass(ps.KeyRingError, MadadError) and issubclass(ps.KeyRingError, ValueError)


# --- pseudonyms ------------------------------------------------------------------------------


def test_pseudonym_is_truncated_hmac_sha256_with_key_id(key):
    [pseudonym] = ps.pseudonymise([CNIC], key).tolist()
    expected = hmac.new(SECRET, CNIC_DIGITS.encode(), hashlib.sha256).hexdigest()[:32]
    assert PSEUDONYM_RE.match(pseudonym)
    assert pseudonym.removeprefix("k1:").replace("-", "") == expected


def test_pseudonyms_are_stable_for_a_key_and_differ_across_keys(key):
    cnics = random_cnics(200)
    first = ps.pseudonymise(cnics, key)
    again = ps.pseudonymise(pd.Series(cnics), ps.Key("k1", SECRET))
    other = ps.pseudonymise(cnics, ps.Key("k1", bytes(reversed(SECRET))))
    assert first.tolist() == again.tolist()
    assert not (first.to_numpy() == other.to_numpy()).any()
    assert first.is_unique
    dashed = [f"{c[:5]}-{c[5:12]}-{c[12]}" for c in cnics]
    assert ps.pseudonymise(dashed, key).tolist() == first.tolist()


def test_key_id_travels_with_the_pseudonym():
    ring = ps.KeyRing([ps.Key("k1", SECRET), ps.Key("k2", bytes(reversed(SECRET)))])
    ids = ps.pseudonymise([CNIC], ring)
    assert ids[0].startswith("k2:")
    assert ps.key_id_of(ids).tolist() == ["k2"]


def test_no_pseudonym_holds_a_cnic_like_run_of_digits(key):
    ids = ps.pseudonymise(random_cnics(20_000, seed=1), key)
    assert not ids.str.contains(r"\d{13}").any()
    assert not ids.str.contains(r"\d{5}-?\d{7}-?\d").any()
    # Even a digest whose hex is all decimal digits cannot form one: the 8-4-4-4-12 grouping.
    all_digits = bytes([0x12, 0x34, 0x56, 0x78, 0x90] * 6 + [0x12, 0x34])
    [worst] = ps._format("k1", all_digits, 1).to_pylist()
    assert worst == "k1:12345678-9012-3456-7890-123456789012"
    assert not CNIC_LIKE.search(worst)


def test_hmac_fast_path_matches_the_standard_library():
    messages = [b"", b"3520212345671", b"x" * 200]
    for secret in (SECRET, b"s" * 64, b"long" * 40):
        got = ps._hmac_many(secret, messages)
        want = b"".join(hmac.new(secret, m, hashlib.sha256).digest() for m in messages)
        assert got == want


def test_pseudonymise_frame_replaces_the_cnic_column(key):
    frame = pd.DataFrame({"cnic": [CNIC, "3720112345672"], "district_id": ["pb_lahore", "ba_sibi"]})
    out = ps.pseudonymise_frame(frame, key=key)
    assert list(out.columns) == ["household_id", "district_id"]
    assert out.household_id.str.match(PSEUDONYM_RE.pattern).all()
    assert out.district_id.tolist() == ["pb_lahore", "ba_sibi"]
    assert "cnic" in frame.columns  # the input is not changed
    assert not CNIC_LIKE.search(out.to_csv(index=False))


def test_pseudonymise_frame_error_paths(key):
    good = pd.DataFrame({"CNIC_NO": [CNIC]})
    with pytest.raises(ps.CnicError, match="column 'cnic' not found"):
        ps.pseudonymise_frame(good, key=key)
    out = ps.pseudonymise_frame(good, key=key, cnic_column="CNIC_NO")
    assert list(out.columns) == ["household_id"]
    with pytest.raises(ps.KeyRingError, match="already has a 'household_id'"):
        ps.pseudonymise_frame(pd.DataFrame({"cnic": [CNIC], "household_id": ["a"]}), key=key)
    with pytest.raises(ps.KeyRingError, match="'nic' also looks like a raw identity"):
        ps.pseudonymise_frame(pd.DataFrame({"cnic": [CNIC], "nic": [CNIC]}), key=key)
    bad = pd.DataFrame({"cnic": [CNIC, CNIC, "35202-1234567-"]})
    with pytest.raises(ps.CnicError, match=r"row 3: 35202\*+- ") as info:
        ps.pseudonymise_frame(bad, key=key)
    assert "1234567" not in str(info.value)


def test_logs_carry_counts_never_cnics(key, caplog):
    caplog.set_level(logging.DEBUG)
    ps.pseudonymise_frame(pd.DataFrame({"cnic": [CNIC, CNIC]}), key=key)
    with pytest.raises(ps.CnicError):
        ps.pseudonymise(["35202-1234567-12"], key)
    assert "pseudonymised 2 CNICs" in caplog.text
    assert "1234567" not in caplog.text and not CNIC_LIKE.search(caplog.text)


@pytest.mark.slow
def test_a_million_cnics_in_a_few_seconds(key):
    cnics = pd.Series(random_cnics(1_000_000, seed=2))
    start = time.perf_counter()
    ids = ps.pseudonymise(cnics, key)
    seconds = time.perf_counter() - start
    print(f"pseudonymised 1,000,000 CNICs in {seconds:.2f} s")
    assert len(ids) == 1_000_000 and ids.is_unique
    assert seconds < 15, f"1,000,000 pseudonyms took {seconds:.1f} s"


# --- keys and key ring -----------------------------------------------------------------------


def test_key_repr_never_shows_the_secret(key):
    text = repr(key) + repr(ps.KeyRing([key]))
    assert SECRET.hex() not in text and "k1" in text
    assert str(list(SECRET)) not in text


@pytest.mark.parametrize("key_id", ["", "1k", "k:1", "k 1", "k" * 17])
def test_bad_key_ids_are_refused(key_id):
    with pytest.raises(ps.KeyRingError, match="key id"):
        ps.Key(key_id, SECRET)


def test_short_secrets_are_refused():
    with pytest.raises(ps.KeyRingError, match="at least 16 bytes"):
        ps.Key("k1", b"short")


def test_generated_keys_are_random_32_bytes():
    a, b = ps.KeyRing.generate(), ps.KeyRing.generate()
    assert len(a.current.secret) == 32 and a.current.secret != b.current.secret
    assert a.key_ids == ["k1"]


def test_keyring_save_load_round_trip_with_0600_permissions(tmp_path):
    ring = ps.KeyRing.generate()
    ring.add_key()
    path = ring.save(tmp_path / "owner.keys")
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = ps.KeyRing.load(path)
    assert loaded.key_ids == ["k1", "k2"] and loaded.current.key_id == "k2"
    for key_id in ring.key_ids:
        assert loaded[key_id].secret == ring[key_id].secret
    assert ps.pseudonymise([CNIC], loaded).tolist() == ps.pseudonymise([CNIC], ring).tolist()
    assert CNIC not in path.read_text()


def test_keyring_save_refuses_to_overwrite_unless_asked(tmp_path):
    ring = ps.KeyRing.generate()
    path = ring.save(tmp_path / "owner.keys")
    with pytest.raises(ps.KeyRingError, match="overwrite=True"):
        ring.save(path)
    ring.add_key()
    ring.save(path, overwrite=True)
    assert ps.KeyRing.load(path).key_ids == ["k1", "k2"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_keyring_load_refuses_a_file_others_can_read(tmp_path):
    path = ps.KeyRing.generate().save(tmp_path / "owner.keys")
    path.chmod(0o644)
    with pytest.raises(ps.KeyRingError, match="chmod 600"):
        ps.KeyRing.load(path)


def test_keyring_load_error_paths(tmp_path):
    with pytest.raises(ps.KeyRingError, match="no such key ring"):
        ps.KeyRing.load(tmp_path / "absent.keys")
    path = tmp_path / "bad.keys"
    path.write_text(json.dumps({"format": "something-else"}))
    path.chmod(0o600)
    with pytest.raises(ps.KeyRingError, match="not a Madad key ring"):
        ps.KeyRing.load(path)
    path.write_text("{not json")
    with pytest.raises(ps.KeyRingError, match="not a Madad key ring"):
        ps.KeyRing.load(path)


def test_keyring_rules():
    with pytest.raises(ps.KeyRingError, match="at least one key"):
        ps.KeyRing([])
    with pytest.raises(ps.KeyRingError, match="appears twice"):
        ps.KeyRing([ps.Key("k1", SECRET), ps.Key("k1", SECRET)])
    ring = ps.KeyRing.generate()
    with pytest.raises(ps.KeyRingError, match="no key 'k9'"):
        ring["k9"]
    with pytest.raises(ps.KeyRingError, match="is current"):
        ring.retire("k1")
    ring.add_key("k2")
    ring.retire("k1")
    assert ring.key_ids == ["k2"]


def test_rotate_gives_old_and_new_pseudonyms_from_the_owners_table():
    ring = ps.KeyRing.generate()
    table = pd.DataFrame({"cnic": random_cnics(50), "name": ["x"] * 50})
    with pytest.raises(ps.KeyRingError, match="add a new key"):
        ring.rotate(table)
    before = ps.pseudonymise(table.cnic, ring)
    ring.add_key()
    mapping = ring.rotate(table)
    assert list(mapping.columns) == ["old_household_id", "new_household_id"]
    assert mapping.old_household_id.tolist() == before.tolist()
    assert mapping.new_household_id.tolist() == ps.pseudonymise(table.cnic, ring).tolist()
    assert mapping.new_household_id.str.startswith("k2:").all()
    assert not CNIC_LIKE.search(mapping.to_csv(index=False))
    rekeyed = before.map(dict(zip(mapping.old_household_id, mapping.new_household_id, strict=True)))
    assert rekeyed.tolist() == mapping.new_household_id.tolist()
    with pytest.raises(ps.KeyRingError, match="both 'k1'"):
        ring.rotate(table, old="k1", new="k1")
