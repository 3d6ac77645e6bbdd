"""Hostile values: money at and beyond its declared bounds, seeds out of range, and text that a
spreadsheet would run as a formula (issue 14, parts 3 and 4).

Money is int64 PKR, whose arithmetic wraps silently: every amount a scenario declares has a
ceiling (``simulator.scenario.MAX_*``), beyond which validation refuses it with a message naming
the file, line and field; at the ceilings a run reconciles exactly. Every xlsx and CSV Madad
writes carries text cells that begin with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
behind a single quote, so that none runs as a formula.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from hazards.errors import ScenarioError
from simulator import scenario
from simulator.cli import app
from simulator.engine import budget, financing, payouts
from simulator.publish.cells import FORMULA_STARTS, neutral_text, neutralise

runner = CliRunner()
INT64_MAX = np.iinfo(np.int64).max

#: Household ids that a spreadsheet would run, one per dangerous first character.
HOSTILE_IDS = ["=cmd|' /C calc'!A0", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)*cmd", "\t=1+1", "\r=1+1"]
HOSTILE_TITLE = '=HYPERLINK("http://x","y")'


# ---------------------------------------------------------------------------------------------
# Helpers: a small declared-districts scenario over a CSV registry
# ---------------------------------------------------------------------------------------------


def _registry(tmp_path: Path, n: int = 240, *, weight: int = 1, ids: list[str] | None = None,
              bad_ids: list[str] | None = None) -> tuple[Path, list[str]]:
    """A CSV registry of ``n`` rows in a few districts; its districts are returned too."""
    from simulator import registry

    frame = registry.generate(4000, seed=3).drop(columns=["weight"])
    frame = frame.astype({"district_id": str, "province_code": str, "tehsil_id": "string", "household_id": str})
    districts = ["sd_dadu", "pb_lahore", "kp_peshawar", "ba_quetta", "is_islamabad"]
    frame = frame[frame.district_id.isin(districts)].head(n).reset_index(drop=True)
    assert len(frame) == n, "the synthetic registry has too few rows in the chosen districts"
    frame["weight"] = weight
    if ids:
        frame.loc[: len(ids) - 1, "household_id"] = ids
    if bad_ids:  # rows quarantined (PMT out of range), with hostile ids
        k = len(ids or [])
        frame.loc[k : k + len(bad_ids) - 1, "household_id"] = bad_ids
        frame.loc[k : k + len(bad_ids) - 1, "pmt_score"] = 150.0
    path = tmp_path / "households.csv"
    frame.to_csv(path, index=False)
    return path, districts


def _scenario(tmp_path: Path, districts: list[str], *, title: str = "Hostile values", transfer: str,
              extra: str = "", programmes: str | None = None, cost_sharing: str = "{rule: fixed, federal_share: 0.5}",
              name: str = "hostile") -> Path:
    table = tmp_path / "declared.csv"
    pd.DataFrame({"district_id": districts, "severity": "displaced"}).to_csv(table, index=False)
    progs = programmes or f"""
    - name: relief
      owner: federal
      expansion: all_affected
      transfer: {transfer}"""
    text = f"""
name: {name}
title: {json.dumps(title)}
seed: 7
hazards:
  - {{name: declared, kind: riverine-flood, admin_table: declared.csv}}
policy:
  programmes:{progs}
  instalments: [{{share: 0.3333, day: 0}}, {{share: 0.6667, day: 90}}]
cost_sharing: {cost_sharing}
{extra}
"""
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _yaml_with(tmp_path: Path, transfer: str = "{by_tier_pkr: {affected: 25000}}", **kw) -> Path:
    _, districts = _registry(tmp_path, 20)
    return _scenario(tmp_path, districts, transfer=transfer, **kw)


# ---------------------------------------------------------------------------------------------
# Money bounds: validation
# ---------------------------------------------------------------------------------------------


def test_bounds_are_declared_and_fit_int64():
    from simulator.registry.schema import MAX_HH_SIZE

    assert scenario.MAX_HH_SIZE == MAX_HH_SIZE
    household = scenario.MAX_TRANSFER_PKR + MAX_HH_SIZE * scenario.MAX_PER_PERSON_PKR
    assert household == scenario.MAX_HOUSEHOLD_PKR
    # every programme's entitlement summed, for every household a plan may count
    assert scenario.MAX_PROGRAMMES * household * scenario.MAX_HOUSEHOLDS < financing.MAX_TOTAL_PKR
    assert scenario.MAX_PROGRAMMES * household * 10**6 < INT64_MAX  # one row at the largest weight
    assert financing.MAX_TOTAL_PKR * 2 - 1 == INT64_MAX
    assert scenario.MAX_BUDGET_PKR < 2**53  # a ceiling compared as a float is exact
    assert scenario.MAX_SEED == 2**32 - 1


def _base(**transfer) -> dict:
    return {
        "name": "x", "title": "x",
        "hazards": [{"admin_table": "t.csv"}],
        "policy": {"programmes": [{"name": "p", "owner": "federal", "expansion": "all_affected",
                                   "transfer": {"by_tier_pkr": {"affected": 25_000}, **transfer}}]},
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"by_tier_pkr": {"affected": 4 * 10**18}}, "by_tier_pkr.affected"),
        ({"by_tier_pkr": {"affected": 10**17}}, "by_tier_pkr.affected"),
        ({"by_tier_pkr": {"affected": 10**30}}, "by_tier_pkr.affected"),
        ({"by_tier_pkr": {"affected": -1}}, "by_tier_pkr.affected"),
        ({"by_tier_pkr": {"affected": scenario.MAX_TRANSFER_PKR + 1}}, "by_tier_pkr.affected"),
        ({"per_person_pkr": scenario.MAX_PER_PERSON_PKR + 1}, "per_person_pkr"),
        ({"per_person_pkr": -5}, "per_person_pkr"),
        ({"floor_pkr": 10**30}, "floor_pkr"),
        ({"cap_pkr": 10**19}, "cap_pkr"),
    ],
)
def test_transfer_out_of_bounds_is_refused(change, field):
    import yaml

    text = yaml.safe_dump(_base(**change))
    with pytest.raises(ScenarioError) as err:
        scenario.parse(text, source="s.yaml")
    message = str(err.value)
    assert f"policy.programmes.0.transfer.{field}" in message and "s.yaml:" in message
    assert "simulator/scenario.py" in message  # names the bound and where it is explained


def test_transfer_at_bounds_is_accepted():
    t = scenario.MAX_TRANSFER_PKR
    scn = scenario.Scenario.model_validate(_base(by_tier_pkr={"affected": t}, per_person_pkr=scenario.MAX_PER_PERSON_PKR,
                                                 floor_pkr=t, cap_pkr=t))
    assert scn.policy.programmes[0].transfer.cap_pkr == t


@pytest.mark.parametrize(
    ("budget", "field"),
    [
        ({"federal_pkr": scenario.MAX_BUDGET_PKR + 1}, "budget.federal_pkr"),
        ({"federal_pkr": 10**30}, "budget.federal_pkr"),
        ({"federal_pkr": -1}, "budget.federal_pkr"),
        ({"provincial_pkr": {"SD": 10**30}}, "budget.provincial_pkr.SD"),
        ({"provincial_pkr": {"SD": -1}}, "budget.provincial_pkr.SD"),
    ],
)
def test_budget_out_of_bounds_is_refused(budget, field):
    import yaml

    with pytest.raises(ScenarioError, match=rf"s.yaml:\d+: {field.replace('.', '[.]')}: .*MAX_BUDGET_PKR"):
        scenario.parse(yaml.safe_dump({**_base(), "budget": budget}), source="s.yaml")
    ok = {"federal_pkr": scenario.MAX_BUDGET_PKR, "provincial_pkr": {"SD": scenario.MAX_BUDGET_PKR}}
    assert scenario.Scenario.model_validate({**_base(), "budget": ok}).budget.federal_pkr == scenario.MAX_BUDGET_PKR


@pytest.mark.parametrize("seed", [-1, 2**32, 10**30])
def test_seed_out_of_range_is_refused(seed):
    import yaml

    with pytest.raises(ScenarioError, match=r"s.yaml:\d+: seed: .*MAX_SEED"):
        scenario.parse(yaml.safe_dump({**_base(), "seed": seed}), source="s.yaml")
    assert scenario.Scenario.model_validate({**_base(), "seed": scenario.MAX_SEED}).seed == scenario.MAX_SEED


def test_too_many_programmes_is_refused():
    import yaml

    base = _base()
    prog = base["policy"]["programmes"][0]
    base["policy"]["programmes"] = [{**prog, "name": f"p{i}"} for i in range(scenario.MAX_PROGRAMMES + 1)]
    with pytest.raises(ScenarioError, match="policy.programmes"):
        scenario.parse(yaml.safe_dump(base))


def test_what_if_beyond_the_bound_is_refused():
    scn = scenario.Scenario.model_validate(_base())
    with pytest.raises(ScenarioError, match="what-if change is not possible"):
        scenario.with_what_if(scn, transfer_pkr=4 * 10**18)


@pytest.mark.parametrize(
    ("transfer", "extra", "field"),
    [
        ("{by_tier_pkr: {affected: 4000000000000000000}}", "", "by_tier_pkr.affected"),
        ("{by_tier_pkr: {affected: 100000000000000000}}", "", "by_tier_pkr.affected"),
        ("{by_tier_pkr: {affected: 1000000000000000000000000000000}}", "", "by_tier_pkr.affected"),
        ("{by_tier_pkr: {affected: -25000}}", "", "by_tier_pkr.affected"),
        ("{by_tier_pkr: {affected: 25000}}", "budget: {federal_pkr: 1000000000000000000000000000000}", "budget.federal_pkr"),
    ],
)
def test_cli_validate_and_run_refuse_out_of_bounds(tmp_path, transfer, extra, field):
    path = _yaml_with(tmp_path, transfer=transfer, extra=extra)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert field in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "run"),
                                 "--registry", str(tmp_path / "households.csv")])
    assert result.exit_code == 2, result.output
    assert field in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run" / "plan.json").exists()


def test_cli_seed_minus_one_fails_validation(tmp_path):
    path = _yaml_with(tmp_path)
    path.write_text(path.read_text().replace("seed: 7", "seed: -1"))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2 and "seed" in result.output and "MAX_SEED" in result.output


# ---------------------------------------------------------------------------------------------
# Money bounds: exact arithmetic
# ---------------------------------------------------------------------------------------------


def test_split_is_exact_where_the_plain_product_would_wrap():
    amount = np.array([10**17, 10**17 + 1, 4 * 10**18, 7, 0], dtype=np.int64)
    federal, provincial = financing.split_fixed(amount, federal_share=0.5)
    assert federal.tolist() == [5 * 10**16, 5 * 10**16, 2 * 10**18, 3, 0]
    assert (federal + provincial == amount).all() and (provincial >= 0).all()
    for share in (0.0, 0.3333, 0.9999, 1.0):
        f, p = financing.split_fixed(amount, federal_share=share)
        bp = round(share * 10_000)
        assert f.tolist() == [int(a) * bp // 10_000 for a in amount]  # Python ints: the exact answer
        assert (f + p == amount).all()


def test_split_refuses_totals_beyond_the_bound():
    amount = np.array([2**62, 2**62], dtype=np.int64)
    with pytest.raises(ScenarioError, match="add up to about PKR .* Lower the transfers"):
        financing.split_fixed(amount, federal_share=0.5)
    with pytest.raises(ScenarioError, match="negative"):
        financing.split_fixed(np.array([-5], np.int64), federal_share=0.5)


def test_instalments_exact_at_large_amounts():
    amount = np.array([INT64_MAX // 2, 10**17 + 3, 1], dtype=np.int64)
    parts = payouts.instalment_split(amount, [0.3333, 0.3333, 0.3334])
    assert (parts.sum(axis=0) == amount).all() and (parts >= 0).all()
    assert parts[0].tolist() == [int(a) * 3333 // 10_000 for a in amount]


@pytest.mark.parametrize("total", [0, 1, 10**12 + 7, 10**17 + 3, 4 * 10**18 + 11, INT64_MAX])
def test_key_contributions_exact_at_large_totals(total):
    numerators = financing.key_numerators("nfc7")
    assert int(numerators.sum()) == financing.KEY_DENOMINATOR
    parts = financing.largest_remainder(total, numerators)
    assert int(parts.sum()) == total and (parts >= 0).all()
    exact = [total * int(n) // financing.KEY_DENOMINATOR for n in numerators]
    assert all(0 <= int(p) - e <= 1 for p, e in zip(parts, exact, strict=True))
    matrix = financing.contributions(np.array([total, 0, 0, 0, 0], np.int64), rule="key", key="population2023")
    assert int(matrix.sum()) == total


def test_pool_capacity_is_exact():
    cap = financing.pool_capacity({"SD": scenario.MAX_BUDGET_PKR}, "nfc7")
    n = int(financing.key_numerators("nfc7")[financing.PROVINCES.index("SD")])
    assert cap == scenario.MAX_BUDGET_PKR * financing.KEY_DENOMINATOR // n
    assert cap * n // financing.KEY_DENOMINATOR <= scenario.MAX_BUDGET_PKR


def test_budget_refuses_ceiling_beyond_bound():
    key = np.arange(3, dtype=np.int64)
    cost = np.array([1, 2, 3], np.int64)
    with pytest.raises(ScenarioError, match="budget.federal_pkr.*MAX_BUDGET_PKR"):
        budget.apply(key, cost, cost, np.zeros(3, np.int8), federal_ceiling=10**30,
                     provincial_ceilings={}, rule="fixed")
    funded, _ = budget.apply(key, cost, cost, np.zeros(3, np.int8), federal_ceiling=scenario.MAX_BUDGET_PKR,
                             provincial_ceilings={"PB": 3}, rule="fixed")
    assert funded.tolist() == [True, True, False]


def test_registry_weights_beyond_the_bound_are_refused():
    rows = scenario.MAX_HOUSEHOLDS // 10**6  # rows of the largest weight, 1e6, at the bound exactly
    financing.check_households(np.full(rows, 10**6))
    with pytest.raises(ScenarioError, match="MAX_HOUSEHOLDS"):
        financing.check_households(np.full(rows, 10**6) + 1)


def test_transfer_built_around_validation_is_refused():
    t = scenario.Transfer.model_construct(by_tier_pkr={"affected": 4 * 10**18}, per_person_pkr=0, floor_pkr=0, cap_pkr=None)
    with pytest.raises(ScenarioError, match="MAX_HOUSEHOLD_PKR"):
        payouts.transfer_amount(t, np.array([1]), np.array([5], np.int16), np.array([True]))


def test_nser_update_refuses_households_beyond_bound():
    from simulator.plans import nser_update

    with pytest.raises(ScenarioError, match="MAX_HOUSEHOLDS"):
        nser_update.cost_update(households={"sd_dadu": 10**30})
    with pytest.raises(ScenarioError, match="MAX_HOUSEHOLDS"):
        nser_update.cost_update(households={"sd_dadu": scenario.MAX_HOUSEHOLDS, "pb_lahore": 1})
    result = nser_update.cost_update(households={"sd_dadu": scenario.MAX_HOUSEHOLDS}, coverage=2, rule="key")
    nser_update.check_reconciles(result)


def _plan_reconciles(run: Path) -> dict:
    plan = json.loads((run / "plan.json").read_text())
    hh = pd.read_parquet(run / "households.parquet")
    amount = hh.amount_pkr.to_numpy(np.int64)
    federal = hh.federal_pkr.to_numpy(np.int64)
    provincial = hh.provincial_pkr.to_numpy(np.int64)
    assert (federal + provincial == amount).all()
    assert (federal >= 0).all() and (provincial >= 0).all()
    t = plan["totals"]
    assert int(amount.sum()) == t["amount_pkr"]
    assert int(federal.sum()) == t["federal_pkr"] and int(provincial.sum()) == t["provincial_pkr"]
    assert t["federal_pkr"] + t["provincial_pkr"] == t["amount_pkr"]
    assert sum(p["amount_pkr"] for p in plan["provinces"]) == t["amount_pkr"]
    assert sum(d["amount_pkr"] for d in plan["districts"]) == t["amount_pkr"]
    paid_by = sum(c["amount_pkr"] for c in plan["cost_sharing"]["contributions"])
    assert paid_by == sum(p["provincial_pkr"] for p in plan["provinces"])
    return plan


def test_run_at_the_declared_maxima_reconciles(tmp_path):
    """Every row at the largest weight, every amount at its bound, budgets at theirs: the plan
    adds up to the rupee (largest weight 1e6 x 100 rows = MAX_HOUSEHOLDS households)."""
    reg, districts = _registry(tmp_path, 100, weight=10**6)
    t, pp, b = scenario.MAX_TRANSFER_PKR, scenario.MAX_PER_PERSON_PKR, scenario.MAX_BUDGET_PKR
    programmes = f"""
    - name: federal relief
      owner: federal
      expansion: all_affected
      transfer: {{by_tier_pkr: {{affected: {t}}}, per_person_pkr: {pp}, floor_pkr: {t}}}
    - name: provincial relief
      owner: provincial
      expansion: all_affected
      transfer: {{by_tier_pkr: {{affected: {t // 2}, displaced: {t}}}, per_person_pkr: {pp}}}"""
    for i, (rule, budgets) in enumerate([
        ("{rule: fixed, federal_share: 0.5}", f"budget: {{federal_pkr: {b}, provincial_pkr: {{SD: {b}, PB: {b}}}}}"),
        ("{rule: key, federal_share: 0.3333, key: nfc7}", f"budget: {{provincial_pkr: {{SD: {b}}}}}"),
        ("{rule: ownership}", ""),
        ("{rule: fixed, federal_share: 0.5}", ""),
    ]):
        path = _scenario(tmp_path, districts, transfer="", programmes=programmes, cost_sharing=rule,
                         extra=budgets + "\ndedup: {rule: top_up, base: provincial}", name=f"max{i}")
        out = tmp_path / f"run{i}"
        result = runner.invoke(app, ["run", str(path), "--out", str(out), "--registry", str(reg)])
        assert result.exit_code == 0, result.output
        plan = _plan_reconciles(out)
        if not budgets:
            assert plan["totals"]["amount_pkr"] > 10**16  # far beyond float64's exact integers
            hh = pd.read_parquet(out / "households.parquet")
            size = hh.hh_size.to_numpy(np.int64)
            assert (hh.amount_pkr.to_numpy(np.int64) == (t + pp * size) * 10**6).all()
        else:
            assert plan["budget"]["over_budget_households"] > 0
        csv = tmp_path / f"pay{i}.csv"
        assert runner.invoke(app, ["export", str(out), "--format", "csv", "--out", str(csv)]).exit_code == 0
        pay = pd.read_csv(csv)
        inst = pay.filter(like="instalment_").sum(axis=1).to_numpy(np.int64)
        assert (inst == pay.amount_pkr.to_numpy(np.int64)).all()
        assert int(pay.amount_pkr.sum()) == plan["totals"]["amount_pkr"]


# ---------------------------------------------------------------------------------------------
# Formula injection
# ---------------------------------------------------------------------------------------------


def test_neutral_text_and_neutralise():
    for start in FORMULA_STARTS:
        assert neutral_text(start + "x") == "'" + start + "x"
    assert neutral_text("-5") == "'-5" and neutral_text(-5) == -5 and neutral_text(None) is None
    assert neutral_text("Dadu") == "Dadu" and neutral_text(2.5) == 2.5
    frame = pd.DataFrame({
        "id": ["=a", "b", None, "@c"], "n": [-1, 2, 3, -4], "x": [-1.5, 2.0, np.nan, 0.0],
        "mixed": ["-5", -5, 1.5, "+"], "cat": pd.Categorical(["=k", "k", "k", "=k"]),
        "s": pd.array(["\tq", "q", None, "\rq"], dtype="string"), "ok": [True, False, True, False],
    })
    out = neutralise(frame)
    assert out["id"].tolist()[:2] == ["'=a", "b"] and pd.isna(out["id"][2]) and out["id"][3] == "'@c"
    assert out["n"].dtype == np.int64 and out["n"].tolist() == [-1, 2, 3, -4]
    assert out["x"].dtype == np.float64
    assert out["mixed"].tolist() == ["'-5", -5, 1.5, "'+"]
    assert out["cat"].tolist() == ["'=k", "k", "k", "'=k"]
    assert out["s"].tolist()[0] == "'\tq" and out["s"].tolist()[3] == "'\rq"
    assert out["ok"].dtype == bool
    assert frame["id"][0] == "=a"  # the input is not changed
    assert list(neutralise(pd.DataFrame({"=h": [1]})).columns) == ["'=h"]


def _bad_text(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def _check_xlsx(path: Path) -> int:
    book = load_workbook(path)
    cells = 0
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                cells += cell.value is not None
                assert cell.data_type != "f", f"{path.name}!{ws.title}!{cell.coordinate}: a formula {cell.value!r}"
                assert not _bad_text(cell.value), f"{path.name}!{ws.title}!{cell.coordinate}: {cell.value!r}"
    return cells


def _check_csv(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column in frame.columns:
        assert not _bad_text(column)
        bad = frame[column].map(_bad_text)
        assert not bad.any(), f"{path.name}: column {column}: {frame[column][bad].tolist()}"
    return frame


def test_formula_cells_are_neutralised_in_every_export(tmp_path):
    reg, districts = _registry(tmp_path, 240, ids=HOSTILE_IDS)
    path = _scenario(tmp_path, districts, title=HOSTILE_TITLE,
                     transfer="{by_tier_pkr: {affected: 25000}}",
                     extra="assumptions: ['=1+1', '-cmd', '@x']\nmodelled_on: '+2010 floods'")
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", str(path), "--out", str(out), "--registry", str(reg)])
    assert result.exit_code == 0, result.output
    assert _check_xlsx(out / "plan.xlsx") > 0
    summary = load_workbook(out / "plan.xlsx")["summary"]
    values = [c.value for row in summary.iter_rows() for c in row]
    assert "'" + HOSTILE_TITLE in values  # shown as text, not dropped
    assert any(isinstance(v, int) and v > 0 for v in values)  # numbers stay numbers
    exports = tmp_path / "exports"
    for fmt in ("xlsx", "csv", "parquet", "json", "geojson", "gpkg", "pdf"):
        target = exports / f"plan.{fmt}"
        result = runner.invoke(app, ["export", str(out), "--format", fmt, "--out", str(target)])
        assert result.exit_code == 0, (fmt, result.output)
        assert target.exists()
    _check_xlsx(exports / "plan.xlsx")
    paid = _check_csv(exports / "plan.csv")
    payouts_ = pd.read_parquet(exports / "plan.parquet")
    # the registry strips spaces, tabs and CRs around ids; the other hostile ids are paid as given
    stored = {i.strip() for i in HOSTILE_IDS}
    assert set(payouts_.household_id) >= stored  # data files keep the ids as they are
    assert set(paid.household_id) >= {"'" + i for i in stored}  # the CSV carries them as text
    assert pd.read_csv(exports / "plan.csv").amount_pkr.dtype == np.int64  # numbers stay numbers
    everyone = tmp_path / "all.csv"
    result = runner.invoke(app, ["export", str(out), "--format", "csv", "--all", "--out", str(everyone)])
    assert result.exit_code == 0
    _check_csv(everyone)
    # the comparison workbook
    target = tmp_path / "compare.xlsx"
    result = runner.invoke(app, ["compare", str(out), str(out), "--out", str(target)])
    assert result.exit_code == 0, result.output
    _check_xlsx(target)


def test_quarantine_csv_of_registry_validate_is_neutralised(tmp_path):
    reg, _ = _registry(tmp_path, 60, bad_ids=HOSTILE_IDS)
    target = tmp_path / "quarantine.csv"
    result = runner.invoke(app, ["registry", "validate", str(reg), "--quarantine", str(target)])
    assert result.exit_code == 3, result.output
    frame = _check_csv(target)
    assert len(frame) == len(HOSTILE_IDS)
    raw = target.read_text()
    assert "\n=cmd" not in raw and ",=cmd" not in raw


def test_backtest_and_compare_writers_neutralise(tmp_path):
    from simulator.publish.backtest import write_backtest_xlsx
    from simulator.publish.compare import write_compare_xlsx

    frame = pd.DataFrame(
        {"A": [HOSTILE_TITLE, 5, -5], "diff vs first: B": ["-3", -3, 2.5]},
        index=pd.MultiIndex.from_tuples([("=s", "@f_pkr"), ("totals", "amount_pkr"), ("t", "x")],
                                        names=["section", "figure"]),
    )
    path = write_compare_xlsx(frame, tmp_path / "c.xlsx")
    _check_xlsx(path)
    ws = load_workbook(path)["compare"]
    assert ws["D3"].value == -3 and ws["C4"].value == -5  # negative numbers stay numbers

    import simulator.publish.backtest as bt

    report = {"scenario": "=evil", "event": "+x", "seeds": [1], "households": 10}
    original = bt.report_table
    bt.report_table = lambda r: pd.DataFrame({"figure": ["=HYPERLINK(1)", "caseload"], "p50": [1.0, -2.0],
                                              "source": ["-x", "@y"]})
    try:
        _check_xlsx(write_backtest_xlsx(report, tmp_path / "b.xlsx"))
    finally:
        bt.report_table = original


def test_run_folder_quarantine_csv_is_neutralised(tmp_path):
    reg, districts = _registry(tmp_path, 120, bad_ids=HOSTILE_IDS)
    path = _scenario(tmp_path, districts, transfer="{by_tier_pkr: {affected: 25000}}")
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", str(path), "--out", str(out), "--registry", str(reg)])
    assert result.exit_code == 0, result.output
    _check_csv(out / "quarantine.csv")
