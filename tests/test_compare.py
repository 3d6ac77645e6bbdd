"""compare(): two runs with different policies side by side, and the difference columns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from simulator import plans, publish
from simulator import scenario as scenario_mod
from simulator.publish import compare as compare_mod
from simulator.publish import export
from simulator.publish.compare import DIFF_PREFIX, compare, write_compare_xlsx

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "indus-flood-demo.yaml"


def _write(scn, out: Path) -> Path:
    publish.write_run(plans.run(scn, base=DEMO.parent, households=5000), out)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[Path]:
    """The demo (PKR 25,000, 50% federal) and a what-if (PKR 20,000, 70% federal, key rule)."""
    base = scenario_mod.load(DEMO)
    raw = scenario_mod.with_what_if(base, transfer_pkr=20_000, federal_share=0.7).model_dump(mode="python")
    raw["cost_sharing"]["rule"] = "key"
    other = scenario_mod.Scenario.model_validate(raw)
    root = tmp_path_factory.mktemp("compare")
    return [_write(base, root / "bisp-25k"), _write(other, root / "bisp-20k")]


def _plans(runs):
    return [json.loads((r / "plan.json").read_text()) for r in runs]


def test_columns_and_differences(runs):
    a, b = _plans(runs)
    frame = compare(runs)
    first, second = "indus-flood-demo (bisp-25k)", "indus-flood-demo (bisp-20k)"
    assert list(frame.columns) == [first, second, DIFF_PREFIX + second]
    diff = frame[DIFF_PREFIX + second]
    for k in ("amount_pkr", "federal_pkr", "provincial_pkr", "paid_households", "affected_households"):
        assert frame.loc[("totals", k), first] == a["totals"][k]
        assert frame.loc[("totals", k), second] == b["totals"][k]
        assert diff[("totals", k)] == b["totals"][k] - a["totals"][k]
    # Same hazard and eligibility: the same households are paid, PKR 5,000 less each.
    assert diff[("totals", "paid_households")] == 0
    assert diff[("totals", "amount_pkr")] == -5_000 * a["totals"]["paid_households"]
    assert diff[("policy", "federal_share")] == pytest.approx(0.2)
    assert diff[("policy", "cost_sharing_rule")] == compare_mod.CHANGED
    assert diff[("policy", "dedup_rule")] == ""
    assert frame.loc[("cost-sharing", "mean_per_paid_household_pkr"), first] == 25_000
    assert frame.loc[("cost-sharing", "federal_share_of_amount"), second] == pytest.approx(0.7, abs=1e-3)
    assert frame.attrs["runs"] == [str(r) for r in runs]


def test_three_runs_and_unique_labels(runs):
    frame = compare([runs[0], runs[1], runs[0]])
    assert len(frame.columns) == 5
    assert len(set(frame.columns)) == 5
    third = frame.columns[2]
    assert third.endswith("#2")
    assert frame[DIFF_PREFIX + third][("totals", "amount_pkr")] == 0


def test_format_table_signs_and_separators(runs):
    text = compare_mod.format_table(compare(runs))
    a, b = _plans(runs)
    assert f"{a['totals']['amount_pkr']:,}" in text
    assert f"{b['totals']['amount_pkr'] - a['totals']['amount_pkr']:+,}" in text


def test_write_compare_xlsx(runs, tmp_path):
    frame = compare(runs)
    out = write_compare_xlsx(frame, tmp_path / "cmp.xlsx")
    ws = load_workbook(out)["compare"]
    header = [c.value for c in ws[1]]
    assert header[:2] == ["section", "figure"] and header[2:] == list(frame.columns)
    assert ws.freeze_panes == "C2"
    rows = {(r[0].value, r[1].value): r for r in ws.iter_rows(min_row=2)}
    amount = rows[("totals", "amount_pkr")]
    assert [c.value for c in amount[2:]] == list(frame.loc[("totals", "amount_pkr")])
    assert amount[2].number_format == export.PKR_FORMAT


def test_needs_two_run_folders(runs, tmp_path):
    with pytest.raises(export.ExportError, match="at least two run folders; got 1"):
        compare(runs[:1])
    with pytest.raises(export.ExportError, match="not a run folder"):
        compare([runs[0], tmp_path])
