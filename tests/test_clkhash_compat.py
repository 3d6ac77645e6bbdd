"""Madad's linkage filters are clkhash's (schema v3, blakeHash): interoperability with anonlink.

Two checks:

* reference vectors: filters and a derived key computed by clkhash 0.18.3 (bitarray 2.9.3,
  CPython 3.11, x86-64) in an isolated virtual environment from the feature table, schema and
  secret text below (``clkhash.clk.generate_clk_from_csv``, ``clkhash.key_derivation.
  generate_key_lists``; base64 as ``clkhash.serialization.serialize_bitarray``). They run always.
* a live run: the same records encoded by Madad and, in a subprocess, by clkhash installed in its
  own virtual environment (its pins -- cryptography 40 -- conflict with this project's). Skipped
  when clkhash cannot be installed (no registry); point ``MADAD_CLKHASH_PYTHON`` at a Python
  that has clkhash to use it instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator.exchange import clk_schema as cs
from simulator.exchange import linkage as lk

SECRET = b"linkage secret shared by both parties"[:32]

RECORDS = pd.DataFrame(
    [
        ("f1", "Muhammad Ahmad Khan", "Ghulam Rasool Khan", "1978-03-14", "pb_lahore"),
        ("f2", "Zainab Bi Bi", None, "1985-07-02", "sd_dadu"),
        ("f3", "Rehmat Ulla", "Abdulla", None, "kp_peshawar"),
        ("f4", "Fátima Husain", "Aly Husain", "1990-09-05", None),
    ],
    columns=list(lk.COLUMNS),
)

#: clkhash 0.18.3 on RECORDS' feature table, the default schema (EncodingConfig()).
CLKHASH_DEFAULT = [
    "Ci05KQgBoAIjHCaQiTHJBghUVoEQCESGgUxaJ2QCSkEIwDQBBSjIKaYjhLEhgPggLQDiJlwDIJqhNogsQYx3OANEqhQQ"
    "FJLcoEeCkOIiEQhAMogAmBAanAAQUEGAgQPKkAyADoABqBQIglQAgFxAgMQSLHqBEQqqiU5AAhASZQ4=",
    "EGBAkyRYAAAYgBACAgAFwICYIAA4AAAIiQCUrIAGGAgEBVoBgCAAkQQBkCEgAEBCxJooEAGAQwKCiAAgBrFAUEIEUJRS"
    "AICeZQAABAAEtACJBYEAAEkAEAoAAaBgAAASRhBAgAhAAAlEAgCggACQBARBh0GDADhEoAEAdYaYAzE=",
    "AgGAAQQYUAaAGBQAIwhIkApBAACAWEBIAICoDkUCIAEIMUAgBACAAyEAABAiACAAwAAGEjGDUCBAIAKQAYQAAAgAIIAg"
    "ACEChwMGEEAKBQgEADCAAgAQAAKABEQAEYCAACYCAgQIAACAAAQAJAKCAiEgCKCCAAKggIEACogADgA=",
    "BgBBQCgidQIB4BhMAQpAg4loAJQQUESJWAUrBkAAAABIgBFERCQg75sJABH0wIgEoAIwgADAIAKB1y0Gp4bAYVBkElBj"
    "mABSMhSEUGCSZAEYKAUJRMmQRABBg7JAGwagYQIDSaAEwBgIAC4BDAGACoBQBLCqAEKwyM1IBgAIGBU=",
]
#: Another schema: 512 bits, trigrams, 40 bits per name token (two BLAKE2b calls per token),
#: the father's name ignored.
OTHER = cs.EncodingConfig(bits=512, q=3, k_name=40, k_father=0, k_year=33, k_decade=1,
                          k_day_month=1, k_day=1, k_month=1, k_district=2)
CLKHASH_OTHER = [
    "Nt7/l72Hf393/X8f7/v73+v/+y//6X/5163/f/vT4801/fevP17//7/9xaPz+l1f23/97//9u7s9/tff93n7/w==",
    "yXX/2/9bvd6+fV/tzzV9/O6au/t1nVPeZLr1s2+a/v/voXJJ3P357f7Leh3hbr3bwJ/+O9Kr/62//o3Hz2f97w==",
    "vd7LOiX3+Df7fvj27/v/P6m79+t3/X+zatHvh/3p/+4H/b0P6zp2L00t5RdFo//aLM7/P9LecPX5DfZP5s3f1g==",
    "va/j+X4/vr7r/O/fnz/fz6k1d/N/v/r5F5Xf/wvvn/5+f/dzf5216+vvr/dfaeNX+X+bo0e//v8NULy/fu869w==",
]
#: clkhash generate_key_lists(secret text, 10, info=b"madad-linkage-clk-v1")[1][0] (the name key).
CLKHASH_NAME_KEY = (
    "1a29f4e94a6646bdda661144d28662e94c94b0f8cadcd6bbc2b0ec77c79002505039614722278a01090ba6543e4"
    "8a2071ea809383539260ffcf348e9dc486c96"
)


def test_feature_table_is_what_clkhash_hashes():
    table = lk.linkage_features(RECORDS)
    assert list(table.columns) == [f.identifier for f in cs.FEATURES]
    assert table.iloc[0].tolist() == ["f1", "muhammad ahmad khan", "ghulam rasool khan", "1978",
                                      "197", "3", "14", "14", "3", "pb_lahore"]
    assert table.iloc[2].tolist()[3:9] == [""] * 6 and table.iloc[1].father_name == ""
    assert table.iloc[3]["name"] == "fatima hussain" and table.iloc[3]["district_id"] == ""


def test_filters_match_clkhash_reference_vectors():
    assert lk.encode(RECORDS, SECRET).to_clks() == {"clks": CLKHASH_DEFAULT}
    assert lk.encode(RECORDS, SECRET, config=OTHER).to_clks() == {"clks": CLKHASH_OTHER}
    assert cs.field_keys(SECRET)[1].hex() == CLKHASH_NAME_KEY


def test_schema_is_a_clkhash_v3_schema(tmp_path):
    schema = json.loads(cs.save_schema(tmp_path / "linkage-schema.json").read_text())
    assert schema["version"] == 3
    assert schema["clkConfig"]["l"] == 1024
    assert schema["clkConfig"]["kdf"] == {"type": "HKDF", "hash": "SHA256", "keySize": 64,
                                          "info": "bWFkYWQtbGlua2FnZS1jbGstdjE="}
    assert [f["identifier"] for f in schema["features"]] == [f.identifier for f in cs.FEATURES]
    assert schema["features"][0]["ignored"] is True
    name = schema["features"][1]["hashing"]
    assert name["hash"] == {"type": "blakeHash"}
    assert name["comparison"] == {"type": "ngram", "n": 2, "positional": False}
    assert name["strategy"] == {"bitsPerToken": 10}
    assert schema["features"][3]["hashing"]["comparison"] == {"type": "exact"}
    ignored = cs.linkage_schema(OTHER)["features"][2]
    assert ignored == {"identifier": "father_name", "ignored": True,
                       "description": ignored["description"]}


def test_clks_round_trip_and_link_without_block_keys():
    data = lk.synthetic_registries(300, 300, overlap=0.5, seed=11)
    left = lk.encode(data.left, SECRET, party="nser")
    right = lk.encode(data.right, SECRET, party="pser")
    imported = lk.EncodedRegistry.from_clks(right.to_clks(), right.ids, party="pser")
    assert (imported.filters == right.filters).all() and imported.block_keys.shape == (300, 0)
    assert imported.encoding == right.encoding and imported.key_check == ""
    pairs = lk.link(left, imported)
    assert pairs.attrs["comparisons"] == 90_000  # no block keys: every pair
    scores = lk.evaluate(pairs, data.truth)
    assert scores["precision"] >= 0.98 and scores["recall"] >= 0.95, scores
    with pytest.raises(lk.LinkageError, match="no block keys"):
        lk.link(left, imported, max_comparisons=1000)
    with pytest.raises(lk.LinkageError, match="CLK 1 has 512 bits"):
        lk.EncodedRegistry.from_clks(lk.encode(RECORDS, SECRET, config=OTHER).to_clks(),
                                     RECORDS.household_id, party="x")
    with pytest.raises(lk.LinkageError, match="4 CLKs but 3 ids"):
        lk.EncodedRegistry.from_clks(CLKHASH_DEFAULT, ["a", "b", "c"], party="x")


# --- live: clkhash itself, in its own virtual environment ------------------------------------

_CLKHASH_RUN = """
import json, sys
from clkhash import clk, schema
from clkhash.serialization import serialize_bitarray
folder = sys.argv[1]
with open(folder + "/linkage-schema.json") as f:
    loaded = schema.from_json_file(f)  # validates against clkhash's master schema v3
with open(folder + "/secret.txt") as f:
    secret = f.read()
with open(folder + "/features.csv", newline="") as f:
    clks = clk.generate_clk_from_csv(f, secret, loaded, validate=True, header=True,
                                     progress_bar=False, max_workers=1)
with open(folder + "/clks.json", "w") as f:
    json.dump({"clks": [serialize_bitarray(c) for c in clks]}, f)
"""


def _has_clkhash(python: Path) -> bool:
    try:
        return subprocess.run([str(python), "-c", "import clkhash.clk"], capture_output=True,
                              timeout=120).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.fixture(scope="session")
def clkhash_python() -> Path:
    """A Python with clkhash: $MADAD_CLKHASH_PYTHON, or a cached venv made with pip."""
    given = os.environ.get("MADAD_CLKHASH_PYTHON")
    if given:
        if not _has_clkhash(Path(given)):
            pytest.skip(f"MADAD_CLKHASH_PYTHON={given} cannot import clkhash")
        return Path(given)
    home = Path(tempfile.gettempdir()) / "madad-clkhash-venv"
    python = home / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    if python.exists() and _has_clkhash(python):
        return python
    try:
        venv.EnvBuilder(with_pip=True, clear=True).create(home)
        done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "clkhash"],
                              capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot make a virtual environment for clkhash: {exc}")
    if done.returncode != 0 or not _has_clkhash(python):
        pytest.skip(f"clkhash cannot be installed here: {done.stderr.strip()[-300:]}")
    return python


@pytest.mark.parametrize("config", [cs.EncodingConfig(), OTHER], ids=["default", "other"])
def test_clkhash_makes_the_same_filters(clkhash_python, tmp_path, config):
    data = lk.synthetic_registries(400, 400, overlap=0.5, seed=21)
    people = pd.concat([data.right, RECORDS], ignore_index=True)
    lk.linkage_features(people).to_csv(tmp_path / "features.csv", index=False)
    cs.save_schema(tmp_path / "linkage-schema.json", config)
    (tmp_path / "secret.txt").write_text(cs.clkhash_secret(SECRET))
    (tmp_path / "run.py").write_text(_CLKHASH_RUN)
    done = subprocess.run([str(clkhash_python), str(tmp_path / "run.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    theirs = json.loads((tmp_path / "clks.json").read_text())
    ours = lk.encode(people, SECRET, party="pser", config=config)
    assert ours.to_clks() == theirs
    imported = lk.EncodedRegistry.from_clks(theirs, people.household_id, party="pser",
                                            config=config)
    assert np.array_equal(imported.filters, ours.filters)
