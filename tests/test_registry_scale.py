"""The registry's door at national scale: the vectorized paths give the same answers as the plain ones.

Validation works on Arrow text and on the distinct values of low-cardinality columns, finds
repeated ids by hashing, and counts a CNIC's digits by 8-byte words when every string is as
long; these tests hold each fast path to a plain reference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from simulator.registry import cnic, validation
from simulator.registry.synthetic import generate


def _random_ids(rng: np.random.Generator, n: int, length: int, alphabet: str = "0123456789abcdef") -> list[str]:
    chars = np.array(list(alphabet))
    return ["".join(row) for row in chars[rng.integers(0, len(chars), size=(n, length))]]


def test_string_hashes_equal_for_equal_strings_whatever_the_layout():
    rng = np.random.default_rng(1)
    ids = _random_ids(rng, 2000, 16)
    fixed = validation._string_hashes(pa.chunked_array([pa.array(ids)]))
    # the same strings among others of other lengths, in two chunks, as large_string
    mixed = ids + ["x", "", "abc", "a" * 40]
    both = validation._string_hashes(pa.chunked_array([pa.array(mixed[:1000]), pa.array(mixed[1000:])]))
    large = validation._string_hashes(pa.chunked_array([pa.array(mixed, pa.large_string())]))
    assert np.array_equal(fixed, both[:2000])
    assert np.array_equal(both, large)
    assert len(np.unique(fixed)) == len(set(ids))  # no collision among 2,000 random ids


def _reference_duplicates(frame: pd.DataFrame) -> np.ndarray:
    """The rule, plainly: among rows valid otherwise, later repeats of a stripped id."""
    reg = validation.validate(frame, source="ref")
    return np.sort(reg.quarantine.loc[reg.quarantine.reason.str.contains("duplicate_id"), "row"].to_numpy())


@pytest.mark.parametrize("collide", [False, True])
def test_duplicate_ids_found_exactly_even_when_every_hash_collides(monkeypatch, collide):
    frame = generate(3000, seed=5)
    ids = frame["household_id"].astype(object).to_numpy().copy()
    ids[100] = ids[7]                      # a repeat
    ids[200] = " " + ids[7] + " "          # a repeat once stripped
    ids[300] = ids[8][:5]                  # another length
    ids[301] = ids[8][:5]                  # ... repeated
    ids[400] = ids[9]
    frame["household_id"] = pd.array(ids, dtype="string")
    frame.loc[9, "hh_size"] = 0            # the first holder of ids[9] is invalid: row 400 is kept
    if collide:  # every id hashes alike: only the exact comparison separates them
        monkeypatch.setattr(validation, "_string_hashes", lambda arr: np.zeros(len(arr), np.uint64))
    rows = _reference_duplicates(frame)
    assert rows.tolist() == [101, 201, 302]


def test_fixed_width_digit_count_matches_the_general_path():
    rng = np.random.default_rng(2)
    for length in (8, 16, 24):
        ids = _random_ids(rng, 5000, length, alphabet="0123456789ab")
        ids[:4] = [("35202" + "1234567" + "1" + "0" * 64)[:length], "۳" * (length // 2),
                   ("ab" + "3" * 13 + "x" * 64)[:length], "-" * length]
        fast = cnic._text_rule(pa.array(ids), False)
        general = cnic._text_rule(pa.array([*ids, "x"]), False)[:-1]  # another length: general path
        assert np.array_equal(fast, general)


def test_arrow_backed_and_object_columns_validate_alike():
    frame = generate(2000, seed=3).astype(
        {"district_id": object, "tehsil_id": object, "housing": object, "enrolled_kafaalat": object})
    frame.loc[5, "district_id"] = " " + frame.loc[5, "district_id"].upper() + " "  # case and spaces
    frame.loc[6, "tehsil_id"] = "  " + str(frame.loc[6, "tehsil_id"]).upper()
    frame.loc[7, "tehsil_id"] = "35202-1234567-1"
    frame.loc[8, "housing"] = "Pakka "
    frame.loc[9, "enrolled_kafaalat"] = "maybe"
    arrow = frame.astype({"household_id": "string", "tehsil_id": "string", "district_id": "category",
                          "housing": "category", "enrolled_kafaalat": "string"})
    as_text = frame.astype(object).astype(str).replace({"<NA>": None, "nan": None, "None": None})
    one = validation.validate(arrow, source="arrow")
    two = validation.validate(as_text, source="text")
    pd.testing.assert_frame_equal(one.quarantine, two.quarantine)
    pd.testing.assert_frame_equal(one.households, two.households)
    assert isinstance(one.households["tehsil_id"].dtype, pd.CategoricalDtype)
    reasons = dict(zip(one.quarantine.row, one.quarantine.reason, strict=True))
    assert reasons[8] == "tehsil_id_looks_like_cnic"
    assert reasons[10] == "invalid_enrolled_kafaalat"
    kept = one.households.set_index("household_id")
    assert kept.loc[frame.loc[6, "household_id"], "tehsil_id"] == str(frame.loc[6, "tehsil_id"]).strip().lower()
    assert kept.loc[frame.loc[8, "household_id"], "housing"] == "pakka"
