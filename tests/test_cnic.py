"""Raw CNICs never pass the registry's door (issue 14): the one detector (simulator.registry.cnic),
validation's quarantine, the final scan of written files, the exchange's refusals, and synthetic
ids that never look like a CNIC.

Variants are generated: a seeded numpy generator writes thousands of CNICs in every written form
(separators, prefixes, quotes, ``.0``, Urdu digits) and dtype (text, int64, float64,
categorical, Arrow), and hypothesis composes forms one by one.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hazards.errors import CnicError, ExchangeError, KeyRingError, RegistryError
from simulator import registry
from simulator.exchange import pseudonym as ps
from simulator.exchange.payload import _cnic_columns
from simulator.registry import cnic
from simulator.registry.synthetic import _pseudonyms

#: A raw CNIC in any message or output: 5-7-1 digits with or without separators.
RAW = re.compile(r"(?<!\d)\d{5}[-_ ./]?\d{7}[-_ ./]?\d(?!\d)")

SEPARATORS = ["", "-", " ", "_", ".", "/", " - ", "\u2013", "  "]
PREFIXES = ["", "CNIC", "CNIC:", "CNIC ", "cnic#", "'", '"', "NIC-", "id=", "("]
SUFFIXES = ["", ".0", '"', "'", " ", ")", " (head)"]
URDU = str.maketrans("0123456789", "\u06f0\u06f1\u06f2\u06f3\u06f4\u06f5\u06f6\u06f7\u06f8\u06f9")


def _cnic_bytes(n: int, seed: int) -> np.ndarray:
    """``n`` random CNICs as an (n, 13) array of ASCII digits (first digit 1-7, the province)."""
    rng = np.random.default_rng(seed)
    digits = rng.integers(0, 10, size=(n, 13))
    digits[:, 0] = rng.integers(1, 8, size=n)
    return (digits + ord("0")).astype(np.uint8)


def cnic_digits(n: int, seed: int) -> np.ndarray:
    """``n`` random 13-digit CNICs as strings."""
    return _cnic_bytes(n, seed).view("S13").ravel().astype(str)


def cnic_variants(n: int, seed: int) -> np.ndarray:
    """``n`` CNICs, each in a random written form (vectorized string building)."""
    rng = np.random.default_rng(seed)
    d = _cnic_bytes(n, seed)
    first = d[:, :5].copy().view("S5").ravel().astype(str)
    middle = d[:, 5:12].copy().view("S7").ravel().astype(str)
    last = d[:, 12:].copy().view("S1").ravel().astype(str)
    pick = lambda options: np.array(options)[rng.integers(0, len(options), n)]  # noqa: E731
    sep = pick(SEPARATORS)
    sep2 = np.where(rng.random(n) < 0.8, sep, pick(SEPARATORS))  # mostly the same separator twice
    text = np.char.add(np.char.add(np.char.add(np.char.add(first, sep), middle), sep2), last)
    text = np.char.add(np.char.add(pick(PREFIXES), text), pick(SUFFIXES))
    urdu = rng.random(n) < 0.05
    out = text.astype(object)
    out[urdu] = np.char.translate(text[urdu], URDU)
    return out.astype(str)


def good_rows(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "household_id": [f"hh{i:06d}" for i in range(n)],
            "lon": np.full(n, 68.37),
            "lat": np.full(n, 25.39),
            "district_id": ["sd_hyderabad"] * n,
            "hh_size": np.full(n, 5),
            "pmt_score": np.full(n, 20.5),
        }
    )


# --- the detector -----------------------------------------------------------------------------


def test_generated_variants_are_detected_in_every_container():
    values = cnic_variants(5000, seed=1)
    assert cnic.looks_like_cnic(values).all()
    assert cnic.looks_like_cnic(list(values)).all()
    assert cnic.looks_like_cnic(pd.Series(values, dtype=object)).all()
    assert cnic.looks_like_cnic(pd.Series(values, dtype="string")).all()
    assert cnic.looks_like_cnic(pd.Series(values, dtype="string[pyarrow]")).all()
    assert cnic.looks_like_cnic(pd.Series(values).astype("category")).all()
    assert cnic.looks_like_cnic(pa.chunked_array([values[:2500], values[2500:]])).all()
    assert cnic.looks_like_cnic(pa.array(values).dictionary_encode()).all()
    assert cnic.looks_like_cnic(np.char.encode(values.astype(str), "utf-8")).all()


def test_numbers_of_13_digits_are_detected_in_every_dtype():
    digits = cnic_digits(3000, seed=2)
    ints = digits.astype(np.int64)
    for values in (
        ints,
        ints.astype(np.float64),
        pd.Series(ints, dtype="Int64"),
        pd.Series(ints.astype(float)),
        pa.array(ints),
        pa.array(ints.astype(np.float64)),
        pa.array(ints).cast(pa.decimal128(20, 0)),
        list(ints),
        [float(v) for v in ints[:50]],
        np.char.add(digits, ".0"),  # a float written as text
        np.array([f"{v:.12e}" for v in ints[:200].astype(float)]),  # scientific notation
    ):
        assert cnic.looks_like_cnic(values).all(), type(values)


@settings(max_examples=300, deadline=None)
@given(
    number=st.integers(10**12, 10**13 - 1),
    prefix=st.sampled_from(PREFIXES),
    sep1=st.sampled_from(SEPARATORS),
    sep2=st.sampled_from(SEPARATORS),
    suffix=st.sampled_from(SUFFIXES),
)
def test_any_composed_form_is_detected(number, prefix, sep1, sep2, suffix):
    d = str(number)
    value = f"{prefix}{d[:5]}{sep1}{d[5:12]}{sep2}{d[12]}{suffix}"
    assert cnic.looks_like_cnic([value]).all(), value
    assert cnic.looks_like_cnic(pd.Series([value, "x"], dtype="category")).tolist() == [True, False]


def test_issue_variants_that_passed_before():
    values = [
        "35202 1234567 1",
        "35202_1234567_1",
        "3520212345671.0",
        "'3520212345671",
        "CNIC35202-1234567-1",
        "35202.1234567.1",
        "35202/1234567/1",
        "CNIC: 35202 - 1234567 - 1",
        '"3520212345671"',
        "3.520212345671e+12",
        "352021234567.1",
        "35202.12345671",
        "\u06f3\u06f5\u06f2\u06f0\u06f2-\u06f1\u06f2\u06f3\u06f4\u06f5\u06f6\u06f7-\u06f1",
        "35202-1234567-1",
        "3520212345671",
    ]
    assert cnic.looks_like_cnic(values).all()


def test_what_is_not_a_cnic():
    rng = np.random.default_rng(3)
    n = 20_000
    lon = rng.uniform(60.9, 77.8, n)
    lat = rng.uniform(23.7, 37.1, n)
    assert not cnic.looks_like_cnic(lon).any() and not cnic.looks_like_cnic(lat).any()
    # Coordinates and scores written as text with every digit float64 keeps (CSV outputs).
    assert not cnic.looks_like_cnic(lon.astype(str)).any()
    assert not cnic.looks_like_cnic(
        np.char.add(np.char.add(lon.astype(str), ","), lat.astype(str))
    ).any()
    pmt = rng.uniform(0, 100, n)
    assert (
        not cnic.looks_like_cnic(pmt).any()
        and not cnic.looks_like_cnic(pmt.astype(np.float32)).any()
    )
    weights = rng.integers(1, 10**6, n)
    assert (
        not cnic.looks_like_cnic(weights).any()
        and not cnic.looks_like_cnic(weights.astype(str)).any()
    )
    # Exchange pseudonyms (k1: and 8-4-4-4-12 hex), all-digit groups too, and synthetic ids.
    exchange = ps.pseudonymise(cnic_digits(n, seed=6), ps.Key("k1", b"s" * 32))
    assert not cnic.looks_like_cnic(exchange).any()
    worst = "k1:12345678-1234-1234-1234-123456789012"
    assert not cnic.looks_like_cnic([worst]).any()
    assert not cnic.looks_like_cnic(_pseudonyms(np.arange(n), 5)).any()
    # District and tehsil codes from the shipped tables; short numbers; phone numbers.
    from hazards import tables as data

    assert not cnic.looks_like_cnic(data.districts().district_id).any()
    assert not cnic.looks_like_cnic(data.tehsils().tehsil_id).any()
    others = [
        "03001234567",
        "0300-1234567",
        "+92 300 1234567",
        "352021234567",
        "35202-1234567-12",
        "12345.1234567",
        "67.1234567890123",
        "2023-08-01",
        "1,500,000,000,000",
        "",
        None,
    ]
    assert not cnic.looks_like_cnic(others).any()


def test_numeric_columns_decisions():
    # An integral 13-digit value is an identifier whatever the column (a weight of 10^12 is not
    # a weight); a column named as a money amount is exempt from this numeric rule.
    assert cnic.looks_like_cnic(pd.Series([1234567890123.0]), name="weight").all()
    assert not cnic.looks_like_cnic(pd.Series([1_500_000_000_000]), name="cost_pkr").any()
    assert not cnic.looks_like_cnic(pd.Series(["1500000000000"]), name="total_payout_pkr").any()
    assert cnic.looks_like_cnic(pd.Series(["CNIC 35202-1234567-1"]), name="amount_pkr").all()
    assert cnic.looks_like_cnic(pd.Series([3520212345671]), name="payout_id").all()
    assert not cnic.looks_like_cnic(pd.Series([12_345_678_901_234, 123_456_789_012])).any()
    assert not cnic.looks_like_cnic(pd.Series([True, False])).any()
    assert not cnic.looks_like_cnic(pd.Series(pd.to_datetime(["2022-08-01"]))).any()


def test_column_names_are_normalised():
    flagged = [
        "CNIC ",
        "cnic",
        "cnic number",
        "CNIC_No.",
        "nic_no",
        "NIC #",
        "id_card",
        "ID Card No",
        "father_cnic",
        "fatherCnic",
        "Father's CNIC",
        "national_id",
        "National Identity No",
        "shanakhti",
        "Shanakhti Card",
        "\u0634\u0646\u0627\u062e\u062a\u06cc \u06a9\u0627\u0631\u0688",
        "b_form",
        "B-Form No",
        "snic",
        "NICOP",
        "head_CNIC_no",
        "C.N.I.C",
    ]
    kept = [
        "household_id",
        "tehsil_id",
        "district_id",
        "province_code",
        "cnic_pseudonym",
        "cnic_hash",
        "picnic_spot",
        "nickname",
        "nationality",
        "valid_card",
        "unicef_no",
        "technical",
        "id",
        "hh_id",
        "ref",
        "amount_pkr",
    ]
    assert cnic.cnic_column_names(flagged + kept) == flagged
    assert cnic.normalise_column_name("  CNIC No. ") == "cnic_no"


def test_redaction_never_shows_the_number():
    values = cnic_variants(500, seed=4)
    for value in values[:200]:  # a message per value
        shown = cnic.redact(value)
        assert not cnic.looks_like_cnic([shown]).any() and not RAW.search(shown)
    assert cnic.redact("35202-1234567-1") == "35202-*******-1"
    assert cnic.redact(3520212345671.0) == "35202*******1"


# --- the registry's door ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "column",
    cnic.cnic_column_names(
        ["CNIC ", "cnic number", "nic_no", "id_card", "father_cnic", "Shanakhti Card"]
    ),
)
def test_cnic_named_columns_are_refused(tmp_path, column):
    rows = good_rows(3).assign(**{column: ["a", "b", "c"]})
    with pytest.raises(
        RegistryError,
        match=rf"t: column '{cnic.normalise_column_name(column)}' looks like a raw CNIC",
    ):
        registry.validate(rows, source="t")
    path = tmp_path / "r.csv"
    rows.to_csv(path, index=False)
    with pytest.raises(
        RegistryError, match=r"r\.csv: column .* looks like a raw CNIC.*pseudonymous"
    ):
        registry.read_raw(path)


def test_cnic_ids_go_to_quarantine_redacted():
    n = 3000
    rows = good_rows(n)
    variants = cnic_variants(n // 2, seed=5)
    rows["household_id"] = np.concatenate([variants, [f"hh{i:06d}" for i in range(n - n // 2)]])
    reg = registry.validate(rows, source="t")
    assert reg.report.reasons == {"id_looks_like_cnic": n // 2}
    assert len(reg.households) == n - n // 2
    assert (reg.quarantine.household_id == "<redacted: looked like a CNIC>").all()
    dump = reg.quarantine.to_csv() + reg.households.to_csv() + json.dumps(reg.report.to_dict())
    assert not RAW.search(dump) and not cnic.looks_like_cnic(reg.households.household_id).any()


@pytest.mark.parametrize("dtype", ["int64", "float64", "Int64", "object"])
def test_numeric_cnic_ids_go_to_quarantine(dtype):
    rows = good_rows(4)
    ids = pd.Series([3520212345671, 4210112345673, 11, 12]).astype(dtype)
    rows["household_id"] = ids
    reg = registry.validate(rows, source="t")
    assert reg.report.reasons == {"id_looks_like_cnic": 2}
    assert reg.quarantine.row.tolist() == [1, 2]
    assert not RAW.search(reg.quarantine.to_csv() + reg.households.to_csv())


def test_cnic_in_tehsil_and_other_cells_goes_to_quarantine():
    rows = good_rows(6)
    rows["tehsil_id"] = [
        "sd_hyd_t1",
        "35202-1234567-1",
        None,
        "sd_hyd_t1",
        "sd_hyd_t1",
        "sd_hyd_t1",
    ]
    rows["remarks"] = ["ok", "ok", "head CNIC 42101 1234567 3", "ok", "ok", "ok"]
    rows["weight"] = [1, 1, 1, 1234567890123.0, 1, 1]
    rows.loc[4, "district_id"] = "3520212345671"
    reg = registry.validate(rows, source="t")
    assert reg.report.reasons == {
        "tehsil_id_looks_like_cnic": 1,
        "extra_column_looks_like_cnic": 1,
        "weight_looks_like_cnic": 1,
        "invalid_weight": 1,
        "district_id_looks_like_cnic": 1,
        "unknown_district": 1,
    }
    assert reg.quarantine.row.tolist() == [2, 3, 4, 5]
    assert list(reg.households.columns) == registry.COLUMNS  # extra columns are never kept
    assert any("'remarks'" in note and "not kept" in note for note in reg.report.notes)
    dump = reg.quarantine.to_csv() + reg.households.to_csv() + reg.report.summary()
    assert not RAW.search(dump) and "42101" not in dump


def test_files_with_cnic_ids_are_quarantined(tmp_path):
    rows = good_rows(4)
    ints = pd.Series([3520212345671, 4210112345673, 7, 8])
    for name, ids in {
        "int": ints,
        "float": ints.astype(float),
        "text": ints.astype(str) + ".0",
    }.items():
        frame = rows.assign(
            household_id=ids, tehsil_id=["sd_hyd_t1", "35202_1234567_1", None, None]
        )
        for path in (tmp_path / f"{name}.parquet", tmp_path / f"{name}.csv"):
            frame.to_parquet(path) if path.suffix == ".parquet" else frame.to_csv(path, index=False)
            reg = registry.load(path)
            assert reg.report.reasons == {
                "id_looks_like_cnic": 2,
                "tehsil_id_looks_like_cnic": 1,
            }, path
            assert reg.households.household_id.tolist() in (["7", "8"], ["7.0", "8.0"]), path


def test_synthetic_registry_passes_clean():
    frame = registry.generate(20_000, seed=11)
    reg = registry.validate(frame, source="synthetic")
    assert not any(code.endswith("looks_like_cnic") for code in reg.report.reasons)
    assert reg.report.rows_quarantined == 0
    assert cnic.scan_table(frame, source="synthetic") == []


# --- synthetic ids -----------------------------------------------------------------------------


@pytest.mark.slow
def test_five_million_synthetic_ids_never_look_like_a_cnic():
    ids = _pseudonyms(np.arange(5_000_000), 0)
    assert ids.dtype == np.dtype("S16") and len(np.unique(ids)) == len(ids)
    assert np.array_equal(ids[:1000], _pseudonyms(np.arange(1000), 0))  # deterministic
    chars = ids.view(np.uint8).reshape(-1, 16)
    digit = (chars >= ord("0")) & (chars <= ord("9"))
    run = np.zeros(len(ids), np.int8)
    longest = np.zeros(len(ids), np.int8)
    for j in range(16):  # loops over the 16 character positions
        run = np.where(digit[:, j], run + 1, 0).astype(np.int8)
        longest = np.maximum(longest, run)
    assert longest.max() <= 8
    assert not cnic.looks_like_cnic(ids).any()
    assert not cnic.looks_like_cnic(_pseudonyms(np.arange(1_000_000), 12345)).any()


# --- the final scan of written files -------------------------------------------------------------


def _leaky_frame(n: int = 50) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "household_id": [f"hh{i:04d}" for i in range(n)],
            "lon": np.linspace(61.123456789012345, 75.98765432101234, n),
            "payout_pkr": np.full(n, 25_000),
            "total_pkr": np.full(n, 1_500_000_000_000),
        }
    )
    frame.loc[7, "household_id"] = "CNIC 35202 1234567 1"
    return frame


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json", ".xlsx", ".txt", ".jsonl"])
def test_scan_file_names_the_file_column_and_row_redacted(tmp_path, suffix):
    frame = _leaky_frame()
    path = tmp_path / f"out{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path)
    elif suffix == ".json":
        path.write_text(json.dumps({"plan": {"households": frame.to_dict(orient="records")}}))
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    elif suffix == ".xlsx":
        frame.to_excel(path, index=False, startrow=2)
    else:  # plain text has no column names, so no money column is exempt: leave it out
        path.write_text(frame.drop(columns="total_pkr").to_string())
    found = cnic.scan_file(path, raise_error=False)
    assert len(found) == 1, found
    f = found[0]
    assert f.count == 1 and "CNIC 35202 ******* 1" in f.example and str(path) in f.source
    expected = {
        ".csv": ("household_id", 9),
        ".parquet": ("household_id", 8),
        ".xlsx": ("A (household_id)", 11),
        ".txt": ("", 9),
    }
    if suffix in expected:
        assert (f.column, f.row) == expected[suffix]
    else:
        assert f.column.endswith("household_id")
    column = "" if suffix == ".txt" else ".*household_id"
    with pytest.raises(
        CnicError, match=rf"{re.escape(path.name)}: raw CNICs found: {column}.*35202 \*{{7}} 1"
    ) as info:
        cnic.scan_file(path)
    assert not RAW.search(str(info.value))
    clean = frame.drop(index=7)
    clean_path = tmp_path / f"clean{suffix}"
    if suffix == ".csv":
        clean.to_csv(clean_path, index=False)
    elif suffix == ".parquet":
        clean.to_parquet(clean_path)
    elif suffix == ".json":
        clean_path.write_text(json.dumps({"households": clean.to_dict(orient="records")}))
    elif suffix == ".jsonl":
        clean.to_json(clean_path, orient="records", lines=True)
    elif suffix == ".xlsx":
        clean.to_excel(clean_path, index=False)
    else:
        clean_path.write_text(clean.drop(columns="total_pkr").to_string())
    assert cnic.scan_file(clean_path) == []


def test_scan_file_numeric_id_columns_and_names(tmp_path):
    ids = pd.Series([3520212345671, 12, 13])
    for name, values in {"int": ids, "float": ids.astype(float)}.items():
        path = tmp_path / f"{name}.parquet"
        pq.write_table(pa.table({"hh": values, "lat": [25.1, 25.2, 25.3]}), path)
        (f,) = cnic.scan_file(path, raise_error=False)
        assert (f.column, f.row, f.example) == ("hh", 1, "35202*******1")
        csv_path = tmp_path / f"{name}.csv"
        pd.DataFrame({"hh": values}).to_csv(csv_path, index=False)
        (f,) = cnic.scan_file(csv_path, raise_error=False)
        assert (f.column, f.row) == ("hh", 2)
    named = tmp_path / "named.csv"
    pd.DataFrame({"Father CNIC": ["x"]}).to_csv(named, index=False)
    assert [f.kind for f in cnic.scan_file(named, raise_error=False)] == ["name"]
    assert not cnic.can_scan(tmp_path / "plan.pdf")
    with pytest.raises(CnicError, match="not scanned"):
        (tmp_path / "plan.pdf").write_bytes(b"%PDF")
        cnic.scan_file(tmp_path / "plan.pdf")


def test_scan_table_on_frames_and_arrow():
    frame = _leaky_frame()
    with pytest.raises(CnicError, match=r"frame: raw CNICs found: column 'household_id': 1 value"):
        cnic.scan_table(frame, source="frame")
    assert len(cnic.scan_table(pa.Table.from_pandas(frame), raise_error=False)) == 1
    nested = pa.table({"members": [[{"cnic_ref": "a"}, {"cnic_ref": "35202-1234567-1"}], []]})
    (f,) = cnic.scan_table(nested, raise_error=False)
    assert f.column == "members" and f.row == 1


# --- the exchange asks the same detector ---------------------------------------------------------


def test_exchange_detection_uses_the_detector():
    table = pa.table(
        {
            "ref": ["35202 1234567 1", "x", "y"],
            "hh": pa.array([3520212345671.0, 1.0, 2.0]),
            "nic no": ["a", "b", "c"],
            "amount_pkr": [25_000, 25_000, 1_500_000_000_000],
            "cnic_pseudonym": ["3f9a0c1d2e4b5a69", "00aa", "ff"],
        }
    )
    assert _cnic_columns(table) == [
        "'ref' (1 values of 13 digits)",
        "'hh' (1 values of 13 digits)",
        "'nic no' (its name)",
    ]
    key = ps.Key("k1", b"s" * 32)
    with pytest.raises(KeyRingError, match="'Father CNIC' also looks like"):
        ps.pseudonymise_frame(
            pd.DataFrame({"cnic": ["35202-1234567-1"], "Father CNIC": ["x"]}), key=key
        )
    with pytest.raises(KeyRingError, match="'notes' also holds values shaped like a CNIC"):
        ps.pseudonymise_frame(
            pd.DataFrame({"cnic": ["35202-1234567-1"], "notes": ["42101_1234567_3"]}), key=key
        )
    assert issubclass(CnicError, ValueError) and issubclass(ExchangeError, ValueError)


def test_reason_codes_in_a_plan_are_not_cnic_names(tmp_path):
    """A plan's registry report counts rows per reason code, e.g. ``extra_column_looks_like_cnic``:
    a count, not a CNIC column (a run with such rows used to be refused at its last scan)."""
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"registry": {"reasons": {"extra_column_looks_like_cnic": 2,
                                                         "tehsil_id_looks_like_cnic": 1}}}))
    assert cnic.scan_file(path) == []
    path.write_text(json.dumps({"rows": [{"father_cnic": "x"}]}))
    assert cnic.scan_file(path, raise_error=False)
