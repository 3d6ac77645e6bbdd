"""compare(): two runs with different policies side by side, and the difference columns; the
attribution of a difference to the policy parameters that differ (simulator.plans.attribution)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from hazards.errors import ScenarioError
from simulator import plans, publish
from simulator import scenario as scenario_mod
from simulator.plans import attribution
from simulator.publish import compare as compare_mod
from simulator.publish import export
from simulator.publish.compare import DIFF_PREFIX, compare, write_compare_xlsx
from simulator.scenario import Scenario

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


# --- what `madad compare` prints: fitted to the terminal, a legend, the NFC note -----------------


def _compare_cli(monkeypatch, args, columns: int):
    from typer.testing import CliRunner

    from simulator.cli import app

    monkeypatch.setenv("COLUMNS", str(columns))
    result = CliRunner().invoke(app, ["compare", *map(str, args)], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.output


def _row(text: str, label: str) -> list[str]:
    """The cells of the summary row whose label is ``label``."""
    for line in text.splitlines():
        if line.startswith(label + "  "):
            return line[len(label):].split()
    raise AssertionError(f"no row {label!r} in:\n{text}")


def test_cli_compare_fits_80_columns_with_headline_figures(runs, monkeypatch):
    a, b = _plans(runs)
    text = _compare_cli(monkeypatch, runs, 80)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    for label, key in (("Households affected", "affected_households"),
                       ("Households paid", "paid_households"), ("Amount PKR", "amount_pkr"),
                       ("Federal PKR", "federal_pkr"), ("Provincial PKR", "provincial_pkr")):
        first, second = a["totals"][key], b["totals"][key]
        change = f"{second - first:+,}" if second != first else "0"
        assert _row(text, label) == [f"{first:,}", f"{second:,}", change], label
    provinces = [{p["province_code"]: p for p in plan["provinces"]} for plan in (a, b)]
    for code in ("PB", "SD"):
        first, second = (by[code]["provincial_pkr"] for by in provinces)
        assert _row(text, f"  spent in {code}") == [f"{first:,}", f"{second:,}", f"{second - first:+,}"]
    # what SD pays under the key: its contributions to every province's provincial share
    paid = sum(c["amount_pkr"] for c in b["cost_sharing"]["contributions"] if c["paying_province"] == "SD")
    assert _row(text, "  paid by SD")[1] == f"{paid:,}"
    assert _row(text, "Cost-sharing rule") == ["fixed", "key", "nfc7", compare_mod.CHANGED]
    # the runs' full labels and folders in the legend, the NFC note, and where the wide table is
    flat = " ".join(text.split())
    assert f"A indus-flood-demo (bisp-25k): {runs[0]}" in flat
    assert f"B indus-flood-demo (bisp-20k): {runs[1]}" in flat
    assert "Note (run B): under the NFC key (cost_sharing.rule: key" in flat
    assert "SD's provincial PKR includes contributions from PB" in flat
    assert "not to the PKR spent in it" in flat
    assert "is wider than 80 columns; write it with --out FILE.xlsx." in flat
    assert "Full table:" not in text


def test_cli_compare_fixed_rule_runs_have_no_nfc_note(runs, monkeypatch):
    text = _compare_cli(monkeypatch, [runs[0], runs[0]], 80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "NFC key" not in text and "paid by" not in text
    assert _row(text, "Amount PKR")[-1] == "0"
    assert "bisp-25k #2" in text  # the same folder twice: numbered headers


def test_cli_compare_narrow_wide_and_xlsx(runs, monkeypatch, tmp_path):
    text = _compare_cli(monkeypatch, [runs[0], runs[1], runs[0]], 60)
    assert max(len(line) for line in text.splitlines()) <= 60
    assert text.count("Households paid") == 2  # two blocks of columns at 60 columns
    assert "C-A" in text
    wide = _compare_cli(monkeypatch, runs, 400)
    assert "Full table:" in wide and "write it with --out" not in wide
    assert max(len(line) for line in wide.splitlines()) <= 400
    out = tmp_path / "cmp.xlsx"
    text = _compare_cli(monkeypatch, [*runs, "--out", out], 80)
    assert "is wider than 80 columns; it is in cmp.xlsx." in " ".join(text.split())
    assert f"wrote {out}" in text and out.exists()


def test_summary_shortens_long_programme_names_and_shows_ceilings(runs):
    a, b = _plans(runs)
    long = "BISP Benazir Taleemi Wazaif flood top-up for katcha-area households in lower Sindh"
    for plan in (a, b):
        plan["programmes"][0]["name"] = long
    b["budget"]["provincial_ceilings_pkr"] = {"PB": 900_000_000, "SD": 800_000_000}
    loaded = [publish.Run(a, label="before"), publish.Run(b, label="after")]
    text = compare_mod.format_summary(compare(loaded), loaded, width=80)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    row = next(line for line in lines if line.startswith("  P1 "))
    assert long not in row and "…" in row
    assert row.split()[-3:] == [f"{a['programmes'][0]['entitled_households']:,}"] * 2 + ["0"]
    assert f"P1 {long}" in " ".join(text.split())  # the full name in the legend
    assert _row(text, "Provincial ceilings PKR") == ["none", "1,700,000,000", compare_mod.CHANGED]
    assert _row(text, "  ceiling of SD")[:2] == ["none", "800,000,000"]
    assert "the provincial ceilings apply to each province's contribution" in " ".join(text.split())


# --- attribution of a difference to the policy parameters (simulator.plans.attribution) ----------


@pytest.fixture(scope="module")
def lean_demo():
    """The demo without its ensemble and delivery (they do not change the totals)."""
    return scenario_mod.load(DEMO).model_copy(update={"ensemble": None, "delivery": None})


@pytest.fixture(scope="module")
def build(lean_demo):
    """The real engine and plan on one small synthetic registry and the demo's hazard, built
    once; counts the plans it builds."""
    reg, _ = plans.load_registry(lean_demo, households=3000)
    layers, _ = plans.build_hazards(lean_demo, base=DEMO.parent)

    def plan_of(scn):
        plan_of.calls += 1
        return plans.assemble(scn, reg, layers).plan

    plan_of.calls = 0
    return plan_of


def _raw_with(scn, **changes) -> Scenario:
    raw = scn.model_dump(mode="python")
    prog = raw["policy"]["programmes"][0]
    for k, v in changes.items():
        prog[k] = v
    return Scenario.model_validate(raw)


def _totals(build, scn) -> dict:
    return {f: build(scn)["totals"][f] for f in attribution.FIGURES}


def test_parameters_name_what_differs(lean_demo):
    other = scenario_mod.with_what_if(lean_demo, transfer_pkr=30_000, pmt_max=40, federal_share=0.7)
    rows = attribution.parameters([lean_demo, other])
    assert [r.parameter.label for r in rows] == [
        "BISP flood relief: transfer", "BISP flood relief: PMT cut-off", "poverty line (PMT)", "federal share"]
    assert rows[0].values[0]["by_tier_pkr"] == {"affected": 25_000}
    assert rows[0].values[1]["by_tier_pkr"] == {"affected": 30_000}
    assert rows[1].values == ((32.0, {}, {}), (40.0, {}, {}))
    assert rows[3].values == (0.5, 0.7)
    assert attribution.parameters([lean_demo, lean_demo]) == []
    every = attribution.parameters([lean_demo, other], every=True)
    assert {r.parameter.kind for r in every} >= {"transfer", "pmt_cutoff", "expansion", "cost_sharing_rule",
                                                  "federal_share", "federal_budget", "provincial_budgets", "tiers"}
    assert set(attribution.KINDS) >= {r.parameter.kind for r in every}


def test_every_policy_field_has_a_parameter_or_is_the_scenario():
    """A field no parameter covers would change the figures without a row: each field of the
    policy's models is a parameter, the scenario's (footprint, seed, registry) or a citation."""
    from simulator import scenario as s

    covered = {n for _, names in attribution._PROGRAMME for n in names} | set(attribution.IGNORED["programme"])
    assert set(s.Programme.model_fields) == covered
    hazard = {n for _, names in attribution._HAZARD for n in names}
    assert set(s.HazardSpec.model_fields) == hazard | set(attribution.FOOTPRINT) | set(attribution.IGNORED["hazard"])
    paths = {path for _, ps in attribution._SCENARIO for path in ps}
    for section, model in (("dedup", s.Dedup), ("budget", s.Budget), ("cost_sharing", s.CostSharing)):
        fields = {p[1] for p in paths if p[0] == section} | set(attribution.IGNORED.get(section, ()))
        assert set(model.model_fields) == fields, section
    assert set(s.Policy.model_fields) == {"programmes", "instalments", "poverty_line_pmt"}


def test_a_transfer_change_alone_is_all_the_difference(lean_demo, build):
    other = scenario_mod.with_what_if(lean_demo, transfer_pkr=30_000)
    att = attribution.attribute(lean_demo, other, build)
    paid = build(lean_demo)["totals"]["paid_households"]
    assert paid > 0
    # the same households, PKR 5,000 more each
    assert att.total["paid_households"] == 0 and att.total["amount_pkr"] == 5_000 * paid
    assert [p.label for p in att.parts] == ["BISP flood relief: transfer"]
    assert att.parts[0].change == att.total
    assert att.interaction == dict.fromkeys(attribution.FIGURES, 0)


def test_transfer_and_cut_off_add_up_with_their_interaction(lean_demo, build):
    """PKR 25,000 -> 30,000 and PMT 32 -> 40 on the demo (one tier, so every household paid
    gets the transfer): by hand, with P0 paid before and P1 after,
    transfer alone: 0 households, 5,000 x P0; cut-off alone: P1 - P0 households, 25,000 x (P1 - P0);
    together: 5,000 x (P1 - P0), the higher transfer to the households the cut-off adds."""
    other = scenario_mod.with_what_if(lean_demo, transfer_pkr=30_000, pmt_max=40)
    before = build.calls
    att = attribution.attribute(lean_demo, other, build)
    assert build.calls - before == 2 + 3  # base, other, and one plan per parameter
    p0 = build(lean_demo)["totals"]["paid_households"]
    p1 = build(other)["totals"]["paid_households"]
    assert p1 > p0
    parts = {p.label: p.change for p in att.parts}
    assert parts["BISP flood relief: transfer"]["paid_households"] == 0
    assert parts["BISP flood relief: transfer"]["amount_pkr"] == 5_000 * p0
    assert parts["BISP flood relief: PMT cut-off"]["paid_households"] == p1 - p0
    assert parts["BISP flood relief: PMT cut-off"]["amount_pkr"] == 25_000 * (p1 - p0)
    assert parts["poverty line (PMT)"] == dict.fromkeys(attribution.FIGURES, 0)  # it only counts the missed
    assert att.interaction["paid_households"] == 0
    assert att.interaction["amount_pkr"] == 5_000 * (p1 - p0)
    assert att.total["amount_pkr"] == 30_000 * p1 - 25_000 * p0
    for f in attribution.FIGURES:  # the parts and the interaction are the whole difference, exactly
        assert sum(p.change[f] for p in att.parts) + att.interaction[f] == att.total[f]
        assert isinstance(att.total[f], int)


def test_federal_share_moves_only_the_federal_pkr(lean_demo, build):
    other = scenario_mod.with_what_if(lean_demo, federal_share=0.7)
    att = attribution.attribute(lean_demo, other, build)
    amount = build(lean_demo)["totals"]["amount_pkr"]
    (part,) = att.parts
    assert part.label == "federal share"
    assert part.change["paid_households"] == 0 and part.change["amount_pkr"] == 0
    assert part.change["federal_pkr"] == pytest.approx(0.2 * amount, abs=len(build(lean_demo)["districts"]))
    assert att.interaction == dict.fromkeys(attribution.FIGURES, 0)


def test_a_parameter_that_cannot_apply_alone_goes_to_the_interaction(lean_demo, build):
    """Base: horizontal expansion under PMT 40. Other: every affected household, no cut-off.
    No cut-off alone leaves a horizontal expansion without its cut-off (invalid): its part is
    None and what it does is in the interaction."""
    base = _raw_with(lean_demo, expansion="horizontal", pmt_max=40.0)
    other = _raw_with(lean_demo, expansion="all_affected", pmt_max=None)
    with pytest.raises(ScenarioError, match="cannot be applied alone.*horizontal expansion needs pmt_max"):
        attribution.apply(base, other, [r.parameter for r in attribution.parameters([base, other])
                                        if r.parameter.kind == "pmt_cutoff"])
    att = attribution.attribute(base, other, build)
    parts = {p.parameters[0].kind: p for p in att.parts}
    assert parts["pmt_cutoff"].change is None and "cannot be applied alone" in parts["pmt_cutoff"].problem
    assert parts["expansion"].change is not None
    for f in attribution.FIGURES:
        assert parts["expansion"].change[f] + att.interaction[f] == att.total[f]


def test_a_different_scenario_is_not_split(lean_demo, build):
    other = lean_demo.model_copy(update={"seed": lean_demo.seed + 1})
    other = scenario_mod.with_what_if(other, transfer_pkr=30_000)
    assert attribution.scenario_differences(lean_demo, other) == ["seed"]
    att = attribution.attribute(lean_demo, other, lambda s: {"totals": dict.fromkeys(attribution.FIGURES, 1)})
    assert not att.attributed and att.parts == [] and att.scenario == ["seed"]
    drought = scenario_mod.load(ROOT / "scenarios" / "tharparkar-drought.yaml")
    beyond = attribution.scenario_differences(lean_demo, drought)
    assert "hazards[0].generator" in beyond and "hazards[0].kind" in beyond
    att = attribution.attribute(lean_demo, lean_demo, lambda s: {"totals": dict.fromkeys(attribution.FIGURES, 1)},
                                same_households=False)
    assert att.scenario == ["registry source"]


def test_many_parameters_are_bounded(lean_demo):
    """Beyond ``max_parameters`` the rest are one part; the stub counts the plans built."""
    other = scenario_mod.with_what_if(lean_demo, transfer_pkr=30_000, pmt_max=40, federal_share=0.7)
    calls = []

    def stub(scn):
        calls.append(scn)
        t = scn.policy.programmes[0].transfer.by_tier_pkr["affected"]
        return {"totals": {"paid_households": int(scn.policy.programmes[0].pmt_max), "amount_pkr": t,
                           "federal_pkr": int(scn.cost_sharing.federal_share * 10)}}

    att = attribution.attribute(lean_demo, other, stub, max_parameters=2)
    assert len(calls) == 2 + 2
    assert [p.label for p in att.parts] == [
        "BISP flood relief: transfer", "BISP flood relief: PMT cut-off + poverty line (PMT) + federal share"]
    assert att.parts[0].change == {"paid_households": 0, "amount_pkr": 5_000, "federal_pkr": 0}
    assert att.parts[1].change == {"paid_households": 8, "amount_pkr": 0, "federal_pkr": 2}
    assert att.interaction == dict.fromkeys(attribution.FIGURES, 0)
