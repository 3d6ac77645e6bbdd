"""Privacy-preserving record linkage (simulator.exchange.linkage)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from hazards.errors import MadadError
from simulator.exchange import clk_schema as cs
from simulator.exchange import linkage as lk
from simulator.exchange import pseudonym as ps

SECRET = b"linkage secret shared by both parties"[:32]


def registry(rows: list[tuple[str, str, str | None, str | None, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["household_id", "name", "father_name", "dob", "district_id"])


@pytest.fixture
def federal() -> pd.DataFrame:
    return registry([
        ("f1", "Muhammad Ahmad Khan", "Ghulam Rasool Khan", "1978-03-14", "pb_lahore"),
        ("f2", "Zainab Bibi", "Muhammad Aslam", "1985-07-02", "sd_dadu"),
        ("f3", "Rehmatullah", "Abdullah", "1966-11-23", "kp_peshawar"),
        ("f4", "Fatima Hussain", "Ali Hussain", "1990-05-09", "pb_multan"),
        ("f5", "Imran Ali", "Tariq Mehmood", "1981-01-30", "ba_quetta"),
    ])


@pytest.fixture
def provincial() -> pd.DataFrame:
    return registry([
        ("p1", "MOHAMMAD AHMED KHAN", "GHULAM RASOOL KHAN", "1978-03-14", "pb_lahore"),
        ("p2", "Zainab Bi Bi", "Mohd. Aslam", "1985-07-02", "sd_dadu"),
        ("p3", "Rehmat Ulla", "Abdulla", "1966-11-23", "kp_peshawar"),
        ("p4", "Fatimah Husain", "Aly Husain", "1990-09-05", "pb_multan"),  # day/month swapped
        ("p5", "Imarn Ali", "Tariq Mehmood", "1981-01-30", "ba_quetta"),  # typo
        ("p6", "Saima Noreen", "Nasir Mehmood", "1978-03-14", "pb_lahore"),  # someone else
    ])


def encode_both(left: pd.DataFrame, right: pd.DataFrame, **kw) -> tuple:
    return lk.encode(left, SECRET, party="nser", **kw), lk.encode(right, SECRET, party="pser", **kw)


@pytest.fixture(scope="module")
def generated() -> lk.SyntheticLinkageSet:
    return lk.synthetic_registries(3_000, 3_000, overlap=0.5, seed=5)


# --- normalisation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variants", "canonical"),
    [
        (["Muhammad", "Mohammad", "Muhammed", "Mohammed", "Mohd", "Mohd.", "Md", "MUHAMAD"],
         "muhammad"),
        (["Bibi", "Bi Bi", "Bibee", "bi-bi"], "bibi"),
        (["Khan", "KHAAN", " khan "], "khan"),
        (["Rehmatullah", "Rehmat Ullah", "Rehmatulla", "Rehmat-Ulla", "rehmat ulla"],
         "rehmatullah"),
        (["Ali", "Aly"], "ali"),
        (["Hussain", "Husain", "Hussein"], "hussain"),
        (["Fatima", "Fatimah", "Fátima"], "fatima"),
        (["Ahmad", "Ahmed"], "ahmad"),
        (["Rehman", "Rahman"], "rahman"),
        (["Salah-ud-Din", "Salah ud Din", "Salahuddin", "Salah Uddin"], "salahuddin"),
    ],
)
def test_transliteration_variants_normalise_to_one_spelling(variants, canonical):
    assert {lk.normalise_name(v) for v in variants} == {canonical}


def test_normalise_strips_case_punctuation_and_spaces():
    assert lk.normalise_name("  Mohd.   Rehmat-Ulla,  KHAAN ") == "muhammad rehmatullah khan"
    assert lk.normalise_name("Sa'adia  Bibi") == "saadia bibi"
    assert lk.normalise_name(None) == "" and lk.normalise_name(float("nan")) == ""


@pytest.mark.parametrize(
    ("word", "code"),
    [("robert", "r163"), ("rupert", "r163"), ("ashcraft", "a261"), ("tymczak", "t522"),
     ("pfister", "p236"), ("muhammad", "m530"), ("", "")],
)
def test_soundex(word, code):
    assert lk._soundex(word) == code


def test_variant_table_is_data_with_a_source_note(root):
    text = (root / "data" / "linkage_variants.csv").read_text()
    assert "Source: ASSUMPTION" in text
    table = pd.read_csv(root / "data" / "linkage_variants.csv", comment="#")
    assert set(table.kind) <= set(lk._VARIANT_KINDS)
    assert {"mohammad", "bi bi", "ahmed", "ulla"} <= set(table.variant)


# --- encoding --------------------------------------------------------------------------------


def test_encoding_shares_no_clear_text(federal, tmp_path):
    enc = lk.encode(federal, SECRET, party="nser")
    assert {f.name for f in dataclasses.fields(enc)} == {
        "party", "ids", "filters", "block_keys", "encoding", "key_check", "schema"}
    assert json.loads(enc.schema) == lk.linkage_schema()
    assert enc.filters.dtype == np.uint64 and enc.filters.shape == (5, 16)
    assert enc.block_keys.dtype == np.uint64 and enc.block_keys.shape == (5, 2)
    frame = enc.to_frame()
    assert list(frame.columns) == ["household_id", "clk", "block_1", "block_2"]
    path = enc.save(tmp_path / "nser.parquet")
    raw = path.read_bytes().lower()
    for clear in (b"lahore", b"ahmad", b"khan", b"zainab", b"1978", b"rasool"):
        assert clear not in raw
    loaded = lk.EncodedRegistry.load(path)
    assert (loaded.filters == enc.filters).all() and (loaded.block_keys == enc.block_keys).all()
    assert list(loaded.ids) == list(enc.ids) and loaded.party == "nser"
    assert loaded.schema == enc.schema and loaded.encoding == enc.encoding
    assert (lk.EncodedRegistry.from_frame(frame).filters == enc.filters).all()


def test_encoding_depends_on_the_secret(federal):
    a = lk.encode(federal, SECRET)
    b = lk.encode(federal, bytes(reversed(SECRET)))
    assert (a.filters != b.filters).any() and (a.block_keys != b.block_keys).all()
    assert a.key_check != b.key_check
    ring = ps.KeyRing([ps.Key("l1", SECRET)])
    assert (lk.encode(federal, ring).filters == a.filters).all()


def test_encode_error_paths(federal):
    with pytest.raises(lk.LinkageError, match=r"columns \['father_name'\] are missing"):
        lk.encode(federal.drop(columns="father_name"), SECRET)
    renamed = federal.rename(columns={"name": "head_name"})
    assert len(lk.encode(renamed, SECRET, columns={"name": "head_name"})) == 5
    dup = federal.assign(household_id=["a", "b", "a", "c", "d"])
    with pytest.raises(lk.LinkageError, match="row 3 repeats a household_id"):
        lk.encode(dup, SECRET)
    with pytest.raises(lk.LinkageError, match="row 2 has no household_id"):
        lk.encode(federal.assign(household_id=["a", None, "c", "d", "e"]), SECRET)
    with pytest.raises(lk.LinkageError, match="at least 16 bytes"):
        lk.encode(federal, b"short")
    with pytest.raises(lk.LinkageError, match="power of two"):
        lk.EncodingConfig(bits=1000)
    with pytest.raises(lk.LinkageError, match="power of two"):
        lk.EncodingConfig(bits=1 << 17)
    assert issubclass(lk.LinkageError, MadadError) and issubclass(lk.LinkageError, ValueError)


def test_fields_use_their_own_keys_and_set_independent_bits():
    keys = cs.field_keys(SECRET)
    assert len(keys) == len(lk.FEATURES) and len(set(keys)) == len(keys)
    assert all(len(k) == 64 for k in keys)
    one = cs.token_bits(" a", 10, keys[1], 1024)
    assert one.shape == (10,) and ((0 <= one) & (one < 1024)).all()
    # no arithmetic progression (h1 + i*h2): the steps between indices are not all equal
    assert len(set(np.diff(one) % 1024)) > 1
    assert not np.array_equal(one, cs.token_bits(" a", 10, keys[2], 1024))
    assert lk.ngrams("ali", 2) == [" a", "al", "li", "i "] and lk.ngrams("", 2) == []


def test_old_encodings_are_refused(federal, tmp_path):
    frame = lk.encode(federal, SECRET).to_frame()
    frame.attrs["version"] = 1
    with pytest.raises(lk.LinkageError, match="version 1 is not read any more"):
        lk.EncodedRegistry.from_frame(frame)


def test_dates_as_datetimes_encode_like_text(federal):
    as_dates = federal.assign(dob=pd.to_datetime(federal.dob))
    assert (lk.encode(as_dates, SECRET).filters == lk.encode(federal, SECRET).filters).all()


# --- linking ---------------------------------------------------------------------------------


def test_exact_duplicates_link_with_score_one(federal):
    a, b = encode_both(federal, federal.assign(household_id=[f"p{i}" for i in range(5)]))
    pairs = lk.link(a, b)
    assert len(pairs) == 5 and (pairs.score == 1.0).all()
    assert pairs.left_id.tolist() == ["f1", "f2", "f3", "f4", "f5"]
    assert pairs.right_id.tolist() == ["p0", "p1", "p2", "p3", "p4"]


def test_variants_typos_and_swapped_dates_link_and_strangers_do_not(federal, provincial):
    a, b = encode_both(federal, provincial)
    pairs = lk.link(a, b).set_index("left_id")
    assert pairs.right_id.to_dict() == {"f1": "p1", "f2": "p2", "f3": "p3", "f4": "p4", "f5": "p5"}
    assert pairs.loc[["f1", "f2", "f3"], "score"].tolist() == [1.0, 1.0, 1.0]  # variants only
    assert lk.DEFAULT_THRESHOLD <= pairs.loc["f4", "score"] < 1.0  # day/month swapped
    assert lk.DEFAULT_THRESHOLD <= pairs.loc["f5", "score"] < 1.0  # typo
    assert "p6" not in set(pairs.right_id)
    # The stranger shares district and birth date with f1 but scores far below the threshold.
    stranger = lk.dice(a, b, np.array([0]), np.array([5]))[0]
    assert stranger < 0.65


def test_link_is_one_to_one(federal):
    twins = registry([
        ("p1", "Muhammad Ahmad Khan", "Ghulam Rasool Khan", "1978-03-14", "pb_lahore"),
        ("p2", "Muhammad Ahmad Khan", "Ghulam Rasool Khan", "1978-03-14", "pb_lahore"),
    ])
    for method in lk.MATCHING_METHODS:
        pairs = lk.link(*encode_both(federal, twins), method=method)
        assert pairs.left_id.tolist() == ["f1"] and pairs.right_id.tolist() == ["p1"]


def test_generated_links_are_one_to_one(generated):
    a, b = encode_both(generated.left, generated.right)
    for method in lk.MATCHING_METHODS:
        pairs = lk.link(a, b, 0.5, method=method)
        assert pairs.left_id.is_unique and pairs.right_id.is_unique


def test_blocking_compares_few_pairs_and_second_pass_finds_a_wrong_year(federal):
    off = federal.iloc[[0]].assign(household_id="p1", dob="1979-03-14")
    a, b = encode_both(federal, off)
    assert (a.block_keys[0, 0] != b.block_keys[0, 0]) and (a.block_keys[0, 1] == b.block_keys[0, 1])
    li, ri = lk.candidate_pairs(a, b)
    assert list(zip(li, ri, strict=True)) == [(0, 0)]
    assert lk.link(a, b).right_id.tolist() == ["p1"]


def test_records_without_a_date_still_block_on_the_name(federal):
    a, b = encode_both(federal, federal.iloc[[1]].assign(household_id="p1", dob=None))
    assert b.block_keys[0, 0] == 0 and b.block_keys[0, 1] != 0
    assert lk.link(a, b, 0.6).left_id.tolist() == ["f2"]


def test_link_error_paths(federal):
    a = lk.encode(federal, SECRET)
    with pytest.raises(lk.LinkageError, match="different linkage secrets"):
        lk.link(a, lk.encode(federal, bytes(reversed(SECRET))))
    with pytest.raises(lk.LinkageError, match="different parameters"):
        lk.link(a, lk.encode(federal, SECRET, config=lk.EncodingConfig(k_name=9)))
    with pytest.raises(lk.LinkageError, match=r"unknown matching method 'best'.*greedy"):
        lk.link(a, a, method="best")
    with pytest.raises(lk.LinkageError, match="threshold must be in"):
        lk.link(a, a, 1.5)
    with pytest.raises(lk.LinkageError, match="max_comparisons=1"):
        lk.link(a, a, max_comparisons=1)


def test_targets_met_on_a_generated_set(generated):
    a, b = encode_both(generated.left, generated.right)
    pairs = lk.link(a, b)
    scores = lk.evaluate(pairs, generated.truth)
    assert scores["true_links"] == 1_500
    assert scores["precision"] >= 0.98, scores
    assert scores["recall"] >= 0.95, scores
    assert pairs.attrs["comparisons"] < pairs.attrs["all_pairs"] / 100
    assert pairs.attrs["all_pairs"] == 9_000_000
    assert pairs.attrs["left"] == "nser" and pairs.attrs["right"] == "pser"


@pytest.fixture(scope="module")
def encoded_20000() -> tuple:
    data = lk.synthetic_registries(20_000, 20_000, overlap=0.5, seed=2024)
    return data, *encode_both(data.left, data.right)


@pytest.mark.slow
@pytest.mark.parametrize("method", lk.MATCHING_METHODS)
def test_targets_met_at_20000_by_20000(method, encoded_20000):
    data, a, b = encoded_20000
    pairs = lk.link(a, b, method=method)
    scores = lk.evaluate(pairs, data.truth)
    assert scores["precision"] >= 0.98 and scores["recall"] >= 0.95, scores
    assert pairs.attrs["comparisons"] < 0.001 * pairs.attrs["all_pairs"]


# --- generator -------------------------------------------------------------------------------


def test_generator_is_seeded_and_consistent():
    one = lk.synthetic_registries(300, 200, overlap=0.5, seed=3)
    two = lk.synthetic_registries(300, 200, overlap=0.5, seed=3)
    other = lk.synthetic_registries(300, 200, overlap=0.5, seed=4)
    pd.testing.assert_frame_equal(one.left, two.left)
    pd.testing.assert_frame_equal(one.right, two.right)
    assert not one.left.name.equals(other.left.name)
    assert len(one.left) == 300 and len(one.right) == 200 and len(one.truth) == 100
    assert set(one.truth.left_id) <= set(one.left.household_id)
    assert set(one.truth.right_id) <= set(one.right.household_id)
    assert one.left.household_id.is_unique and one.right.household_id.is_unique
    assert list(one.left.columns) == list(lk.COLUMNS)
    with pytest.raises(lk.LinkageError, match="overlap must be between 0 and 1"):
        lk.synthetic_registries(10, 10, overlap=2)


def test_generator_corrupts_the_second_copy(generated):
    truth = generated.truth
    left = generated.left.set_index("household_id").loc[truth.left_id]
    right = generated.right.set_index("household_id").loc[truth.right_id]
    same_name = (left.name.str.lower().to_numpy() == right.name.str.lower().to_numpy()).mean()
    assert 0.4 < same_name < 0.95  # variants and typos
    assert 0.02 < right.father_name.isna().mean() < 0.09  # missing father's name
    assert (left.dob.to_numpy() != right.dob.to_numpy()).mean() > 0.03  # swaps, years, 1 Jan
    assert left.district_id.tolist() == right.district_id.tolist()


def test_evaluate():
    truth = pd.DataFrame({"left_id": ["a", "b", "c", "d"], "right_id": ["1", "2", "3", "4"]})
    pairs = pd.DataFrame({"left_id": ["a", "b", "c"], "right_id": ["1", "2", "9"]})
    scores = lk.evaluate(pairs, truth)
    assert scores["precision"] == pytest.approx(2 / 3) and scores["recall"] == pytest.approx(0.5)
    assert scores["f1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))


# --- to the engine's dedup -------------------------------------------------------------------


def test_linked_pairs_to_dedup_maps_provincial_to_federal_ids(federal, provincial):
    pairs = lk.link(*encode_both(federal, provincial))
    mapping = lk.linked_pairs_to_dedup(pairs)
    assert mapping.index.name == "provincial_household_id"
    assert mapping.name == "federal_household_id"
    assert mapping.to_dict() == {"p1": "f1", "p2": "f2", "p3": "f3", "p4": "f4", "p5": "f5"}
    looked_up = mapping.reindex(pd.Index(["p6", "p2"], dtype="string"))
    assert looked_up.isna().tolist() == [True, False] and looked_up.iloc[1] == "f2"
    swapped = lk.linked_pairs_to_dedup(
        pairs.rename(columns={"left_id": "right_id", "right_id": "left_id"}), federal="right"
    )
    assert swapped.to_dict() == mapping.to_dict()


def test_linked_pairs_to_dedup_refuses_bad_input():
    twice = pd.DataFrame({"left_id": ["f1", "f1"], "right_id": ["p1", "p2"], "score": [1, 1]})
    with pytest.raises(lk.LinkageError, match="not one-to-one"):
        lk.linked_pairs_to_dedup(twice)
    with pytest.raises(lk.LinkageError, match="federal must be 'left' or 'right'"):
        lk.linked_pairs_to_dedup(twice, federal="nser")
    with pytest.raises(lk.LinkageError, match="lack columns"):
        lk.linked_pairs_to_dedup(pd.DataFrame({"a": [1]}))
