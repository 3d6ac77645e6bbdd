"""Households by group in the plan (``plan["groups"]``): female-headed, with a member with a
disability, with children under five; affected and paid, per district, province and nation.

Hand-computed on the ten households of ``tests/test_engine.py``, a property test that the
levels reconcile, the xlsx ``Groups`` sheet, and the published (protected) plan.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine import FLAT, _rows, _scenario

from hazards import tables
from simulator import plans, registry, scenario
from simulator.engine.aggregate import flag_sums, group_sum
from simulator.engine.evaluation import EngineResult
from simulator.plans import build as plan
from simulator.plans.orchestrator import plan_of

#: Weights and flags of the ten households (h0..h9). Districts: h0-h4 Hyderabad (SD), h5-h7
#: Lahore (PB), h8-h9 Islamabad (IS). Under FLAT on raster5 the affected are h1, h2, h3, h5,
#: h6, h7, h8 and the paid h2, h3, h5, h7, h8 (tests/test_engine.py, by hand).
WEIGHT = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
FEMALE = [True, True, False, True, True, False, True, True, True, False]
DISABILITY = [False, True, True, False, False, True, False, False, False, True]
UNDER5 = [0, 1, 0, 2, 1, 0, 3, 1, 0, 0]


def _registry(**columns) -> registry.Registry:
    rows = _rows()
    for name, values in columns.items():
        rows[name] = values
    return registry.validate(rows, source="ten")


def _plan(reg: registry.Registry, raster5) -> dict:
    scn = _scenario(FLAT)
    res, cols = plans.compute(scn, reg.households, raster5)
    return plan_of(scn, res, cols, [raster5], report=reg.report.to_dict(), tehsil=None, weights=None)


@pytest.fixture
def ten(raster5) -> dict:
    reg = _registry(weight=WEIGHT, female_headed=FEMALE, disability=DISABILITY, children_under5=UNDER5)
    return _plan(reg, raster5)


def test_groups_by_hand(ten):
    g = ten["groups"]
    assert g["groups"] == ["female_headed", "disability", "children_under5"] and g["absent"] == []
    by = {d["district_id"]: d for d in g["districts"]}
    assert set(by) == {d["district_id"] for d in ten["districts"]} == {"sd_hyderabad", "pb_lahore", "is_islamabad"}
    # Hyderabad: affected h1 (w 2; female, disabled, 1 under five), h2 (w 3; disabled),
    # h3 (w 4; female, 2 under five); paid h2, h3.
    assert by["sd_hyderabad"] == {
        "district_id": "sd_hyderabad", "province_code": "SD",
        "female_headed_affected": 2 + 4, "female_headed_paid": 4,
        "disability_affected": 2 + 3, "disability_paid": 3,
        "children_under5_affected": 2 + 4, "children_under5_paid": 4,
    }
    # Lahore: affected h5 (w 6; disabled), h6 (w 7; female, 3 under five), h7 (w 8; female,
    # 1 under five); paid h5, h7.
    assert by["pb_lahore"] == {
        "district_id": "pb_lahore", "province_code": "PB",
        "female_headed_affected": 7 + 8, "female_headed_paid": 8,
        "disability_affected": 6, "disability_paid": 6,
        "children_under5_affected": 7 + 8, "children_under5_paid": 8,
    }
    # Islamabad: h8 (w 9; female) affected and paid; h9 outside the raster.
    assert by["is_islamabad"]["female_headed_affected"] == by["is_islamabad"]["female_headed_paid"] == 9
    assert by["is_islamabad"]["disability_affected"] == by["is_islamabad"]["children_under5_affected"] == 0
    assert g["national"] == {
        "female_headed": {"affected": 6 + 15 + 9, "paid": 4 + 8 + 9},
        "disability": {"affected": 5 + 6, "paid": 3 + 6},
        "children_under5": {"affected": 6 + 15, "paid": 4 + 8},
    }
    # A group never exceeds the district's affected or paid households (weighted alike).
    districts = {d["district_id"]: d for d in ten["districts"]}
    for d, row in by.items():
        for name in g["groups"]:
            assert row[f"{name}_affected"] <= districts[d]["affected_households"]
            assert row[f"{name}_paid"] <= districts[d]["paid_households"]
    assert "weighted registry households" in g["basis"] and "simulator/registry/synthetic.py" in g["basis"]


def test_levels_reconcile(ten):
    g = ten["groups"]
    _assert_reconciles(g)
    assert [p["province_code"] for p in g["provinces"]] == [p["province_code"] for p in ten["provinces"]]


def _assert_reconciles(g: dict) -> None:
    figures = list(plan.GROUP_FIGURES)
    districts = pd.DataFrame(g["districts"], columns=["district_id", "province_code", *figures])
    provinces = pd.DataFrame(g["provinces"]).set_index("province_code")[figures]
    sums = districts.groupby("province_code")[figures].sum().reindex(provinces.index, fill_value=0)
    assert (sums == provinces).all().all()
    for name in g["groups"]:
        for m in ("affected", "paid"):
            assert g["national"][name][m] == int(provinces[f"{name}_{m}"].sum())
            assert isinstance(g["national"][name][m], int)
    for row in [*g["provinces"], *g["districts"]]:
        assert all(isinstance(row[f], int) and row[f] >= 0 for f in figures)
        for name in g["groups"]:
            assert row[f"{name}_paid"] <= row[f"{name}_affected"]


def test_absent_columns_are_stated_not_invented(raster5):
    """A registry without the flags: figures are 0 by default and the basis says why."""
    reg = _registry(female_headed=FEMALE)  # no disability, no children_under5
    g = _plan(reg, raster5)["groups"]
    assert g["absent"] == ["disability", "children_under5"]
    assert "no disability, children_under5 column" in g["basis"]
    assert g["national"]["disability"] == {"affected": 0, "paid": 0}
    # unweighted: female-headed affected h1, h3, h6, h7, h8; paid h3, h7, h8
    assert g["national"]["female_headed"] == {"affected": 5, "paid": 3}


def test_flag_sums_by_hand():
    codes = np.array([0, 0, 1, 1, 1, 2])
    a = np.array([True, False, True, True, False, False])
    b = np.array([True, True, False, True, False, True])
    w = np.array([1, 10, 100, 1000, 10000, 100000])
    out = flag_sums(codes, [a, b], w, 3)
    # column c: bit 0 is a, bit 1 is b
    assert out.tolist() == [[0, 0, 10, 1], [10000, 100, 0, 1000], [0, 0, 100000, 0]]
    assert out.sum(axis=1).tolist() == group_sum(codes, w, 3).tolist()
    assert flag_sums(codes, [a], None, 3).tolist() == [[1, 1], [1, 2], [1, 0]]
    with pytest.raises(ValueError, match="at most 8 flags"):
        flag_sums(codes, [a] * 9, w, 3)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(0, 3000), seed=st.integers(0, 2**31 - 1))
def test_random_results_reconcile_and_match_a_reference(n, seed):
    """On random affected households: every figure equals a pandas reference and the levels add up."""
    rng = np.random.default_rng(seed)
    table = tables.districts()
    sub = {
        "district": rng.integers(0, len(table), n).astype(np.int16),
        "weight": rng.integers(1, 1000, n).astype(np.int64),
        "female_headed": rng.random(n) < 0.2,
        "disability": rng.random(n) < 0.1,
        "children_under5": rng.integers(0, 3, n).astype(np.int16),
        "paid_pkr": np.where(rng.random(n) < 0.4, 25_000, 0).astype(np.int64),
    }
    res = EngineResult(intensity={}, tier=np.ones(n, np.int8), status=np.zeros(n, np.int8),
                       weight=sub["weight"], affected_index=np.arange(n), sub=sub)
    affected = group_sum(sub["district"].astype(np.int64), sub["weight"], len(table))
    districts = pd.DataFrame({"district_id": table.district_id, "province_code": table.province_code,
                              "affected_households": affected})
    provinces = pd.DataFrame({"province_code": sorted(set(table.province_code))})
    g = plan.groups(res, districts, provinces, registry_report={})
    _assert_reconciles(g)
    frame = pd.DataFrame({"district_id": table.district_id.to_numpy()[sub["district"]], "w": sub["weight"],
                          "female_headed": sub["female_headed"], "disability": sub["disability"],
                          "children_under5": sub["children_under5"] > 0, "paid": sub["paid_pkr"] > 0})
    by = {d["district_id"]: d for d in g["districts"]}
    assert set(by) == set(frame.district_id)
    for name in g["groups"]:
        ref = frame[frame[name]].groupby("district_id").w.sum()
        ref_paid = frame[frame[name] & frame.paid].groupby("district_id").w.sum()
        for d, row in by.items():
            assert row[f"{name}_affected"] == int(ref.get(d, 0))
            assert row[f"{name}_paid"] == int(ref_paid.get(d, 0))


def test_xlsx_groups_sheet(ten, tmp_path):
    from openpyxl import load_workbook

    from simulator.publish.tables import COUNT_FORMAT
    from simulator.publish.xlsx import GROUP_HEADERS, write_xlsx

    ten["provinces"][0]["province"] = "=HYPERLINK(\"x\")"  # a hostile name stays text
    ten["groups"]["basis"] = "+basis"
    out = write_xlsx(ten, tmp_path / "plan.xlsx")
    wb = load_workbook(out)
    assert wb.sheetnames.index("groups") == wb.sheetnames.index("districts") + 1
    ws = wb["groups"]
    header = [c.value for c in ws[1]]
    assert header == ["level", "province", "district", *GROUP_HEADERS.values()]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2, max_row=ws.max_row)]
    table = [r for r in rows if r[0] in ("national", "province", "district")]
    assert table[0][:3] == ["national", "Pakistan", None]
    assert table[0][3:] == [30, 21, 11, 9, 21, 12]
    # provinces in code order (IS, PB, SD), each followed by its districts
    assert [(r[0], r[2]) for r in table[1:]] == [
        ("province", None), ("district", "Islamabad"), ("province", None), ("district", "Lahore"),
        ("province", None), ("district", "Hyderabad"),
    ]
    assert table[1][1] == "'=HYPERLINK(\"x\")"  # written as text, not run as a formula
    sd = next(r for r in table if r[0] == "district" and r[2] == "Hyderabad")
    assert sd[3:] == [6, 4, 5, 3, 6, 4]
    assert not any(isinstance(v, str) and v.startswith(("=", "+")) for r in rows for v in r)
    assert rows[-1][0] == "basis: +basis"
    assert ws.cell(row=2, column=4).number_format == COUNT_FORMAT


def test_published_plan_protects_group_cells(ten):
    from simulator.publish.disclosure import protect_plan, suppress_plan

    k = 5
    suppressed = suppress_plan(ten, k=k)
    g = suppressed["groups"]
    cells = [row[f] for row in [*g["provinces"], *g["districts"]] for f in plan.GROUP_FIGURES]
    assert None in cells and not any(v is not None and 0 < v < k for v in cells)
    assert g["national"] == ten["groups"]["national"]  # national figures stay published
    assert suppressed["disclosure"]["groups"]["hidden_cells"] == cells.count(None)
    assert ten["groups"]["districts"][0]["female_headed_affected"] is not None  # the exact plan is untouched

    published = protect_plan(ten, k=k, key=b"k" * 32)
    g = published["groups"]
    cells = [row[f] for row in [*g["provinces"], *g["districts"]] for f in plan.GROUP_FIGURES]
    assert not any(v is not None and 0 < v < k for v in cells)
    assert "groups" in published["disclosure"]
    assert {d["district_id"] for d in g["districts"]} <= {d["district_id"] for d in published["districts"]}
    for name in g["groups"]:
        for m in ("affected", "paid"):
            col = [p[f"{name}_{m}"] for p in g["provinces"]]
            if None not in col:
                assert g["national"][name][m] == sum(col)  # perturbed, still additive


def test_an_area_hidden_in_the_plan_has_its_groups_hidden(ten):
    """A group's count is a lower bound of its area's: a district or province with a hidden
    cell in the plan's own tables shows none of its group cells either (hidden from the start,
    "forced", and protected like small cells, so they cannot be taken back by subtraction)."""
    from simulator.publish.disclosure import suppress_plan

    for k in (5, 10, 20):
        out = suppress_plan(ten, k=k)
        for level, key in (("districts", "district_id"), ("provinces", "province_code")):
            hidden = {row[key] for row in out[level] if any(v is None for v in row.values())}
            for row in out["groups"][level]:
                if row[key] in hidden:
                    assert all(row[f] is None for f in plan.GROUP_FIGURES if ten["groups"]["national"]), \
                        f"k={k}: {level} {row[key]} is hidden in the plan but its groups are shown"
    report = suppress_plan(ten, k=10)["disclosure"]["groups"]  # Islamabad and Hyderabad hidden
    assert report["forced"] > 0 and "forced" in {c["reason"] for c in report["cells"]}


def test_no_affected_household(raster5):
    """Nothing affected: zero figures, no district rows, and the published plan still has them."""
    from simulator.publish.disclosure import protect_plan, suppress_plan

    reg = _registry(female_headed=FEMALE, disability=DISABILITY, children_under5=UNDER5)
    scn = scenario.parse(f"""
name: tiny
title: tiny
hazards:
  - file: tiny.tif
    tiers: {{affected: 1000, severely_affected: 2000, displaced: 3000}}
policy:
{FLAT}
""")
    res, cols = plans.compute(scn, reg.households, raster5)
    p = plan_of(scn, res, cols, [raster5], report=reg.report.to_dict(), tehsil=None, weights=None)
    g = p["groups"]
    assert g["districts"] == [] and all(v == {"affected": 0, "paid": 0} for v in g["national"].values())
    assert all(row[f] == 0 for row in g["provinces"] for f in plan.GROUP_FIGURES)
    assert suppress_plan(p, k=10)["groups"]["national"] == g["national"]
    assert protect_plan(p, k=10, key=b"k" * 32)["groups"]["districts"] == []
