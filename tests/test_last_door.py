"""The last door: a raw CNIC that got past validation (a bug, an edited table) stops a run or
an export before anything is swapped in."""

from __future__ import annotations

from pathlib import Path

import pytest

from hazards.errors import CnicError
from simulator import plans, publish, scenario
from simulator.publish.export import export

ROOT = Path(__file__).resolve().parents[1]


def _result():
    path = ROOT / "scenarios" / "indus-flood-demo.yaml"
    scn = scenario.load(path).model_copy(update={"ensemble": None})
    return plans.run(scn, base=path.parent, households=2_000), path


def test_run_with_a_raw_cnic_is_not_written(tmp_path):
    res, path = _result()
    out = tmp_path / "run"
    publish.write_run(res, out, scenario_path=path)
    before = (out / "households.parquet").read_bytes()
    res.households["household_id"] = res.households["household_id"].astype(str)
    res.households.loc[0, "household_id"] = "35202-1234567-1"
    with pytest.raises(CnicError, match=r"households\.parquet.*household_id") as err:
        publish.write_run(res, out, scenario_path=path)
    assert "1234567" not in str(err.value)
    assert (out / "households.parquet").read_bytes() == before  # the old run stays whole
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run.tmp")]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_with_a_raw_cnic_is_not_written(tmp_path, fmt):
    res, _ = _result()
    res.households["household_id"] = res.households["household_id"].astype(str)
    paid = res.households.index[res.households["amount_pkr"] > 0][0]
    res.households.loc[paid, "household_id"] = "3520212345671"
    out = tmp_path / f"payouts.{fmt}"
    with pytest.raises(CnicError):
        export(res, fmt, out)
    assert not out.exists() and list(tmp_path.iterdir()) == []
