"""Small-cell suppression: hand-computed tables, a property test on random tables, plans."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from simulator.publish import disclosure
from simulator.publish.disclosure import (
    DisclosureError,
    intervals,
    is_recoverable,
    suppress,
    suppress_plan,
)

K = 10


def _hidden(published: pd.DataFrame, columns: list[str]) -> set[tuple[int, str]]:
    return {(i, c) for c in columns for i in np.flatnonzero(published[c].isna().to_numpy())}


# ---------------------------------------------------------------------------------------------
# Hand-computed tables
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def three_by_three() -> pd.DataFrame:
    """Rows r1-r3, columns a-c with a published row total and column totals (39, 82, 110, 231)."""
    t = pd.DataFrame({"area": ["r1", "r2", "r3"], "a": [20, 4, 15], "b": [30, 40, 12], "c": [25, 35, 50]})
    t["total"] = t[["a", "b", "c"]].sum(axis=1)
    return t


THREE = {"count_columns": ["a", "b", "c", "total"], "group_column": None,
         "row_totals": {"total": ("a", "b", "c")}, "linked": {}}


def test_three_by_three_hand_computed(three_by_three):
    published, report = suppress(three_by_three, **THREE)
    # r2.a = 4 is primary. Row r2 then has one hidden cell: its smallest other part c = 35 is
    # hidden. Column a has one: r3.a = 15 (smaller than r1.a = 20). Column c now has r2.c only:
    # r3.c = 50 closes both column c and row r3 (r1.c = 25 would open row r1), so it is chosen.
    assert _hidden(published, ["a", "b", "c", "total"]) == {(1, "a"), (1, "c"), (2, "a"), (2, "c")}
    assert [(c["row"], c["column"], c["reason"]) for c in report["cells"]] == [
        (1, "a", "primary"), (1, "c", "secondary"), (2, "a", "secondary"), (2, "c", "secondary")
    ]
    assert (report["primary"], report["secondary"], report["linked"]) == (1, 3, 0)
    # Published totals unchanged; the published cells keep their values.
    assert report["grand_total"] == {"a": 39, "b": 82, "c": 110, "total": 231}
    assert published.total.tolist() == [75, 79, 77]
    assert published.loc[0, ["a", "b", "c"]].tolist() == [20, 30, 25]
    # By hand: a2 + c2 = 39, a3 + c3 = 65, a2 + a3 = 19, c2 + c3 = 85, so a2 lies in [0, 19].
    iv = intervals(published, three_by_three, **THREE).set_index(["row", "column"])
    assert (iv.loc[(1, "a"), "lo"], iv.loc[(1, "a"), "hi"]) == (0.0, 19.0)
    assert (iv.loc[(2, "c"), "lo"], iv.loc[(2, "c"), "hi"]) == (46.0, 65.0)
    assert not is_recoverable(published, three_by_three, **THREE)
    assert iv.reaches_k.all()
    assert report["unprotected"] == [] and report["small_published"] == []


def test_single_suppression_is_recoverable(three_by_three):
    """The check itself: hiding only the small cell leaves it pinned by its row total."""
    naive = three_by_three.astype({"a": "Int64"})
    naive.loc[1, "a"] = pd.NA
    iv = intervals(naive, three_by_three, **THREE)
    assert iv.disclosed.tolist() == [True]
    assert (iv.lo.iloc[0], iv.hi.iloc[0]) == (4.0, 4.0)
    assert is_recoverable(naive, three_by_three, **THREE)


def test_zero_cells_are_shown(three_by_three):
    t = three_by_three.copy()
    t.loc[0, "b"] = 0
    t["total"] = t[["a", "b", "c"]].sum(axis=1)
    published, _ = suppress(t, **THREE)
    assert published.loc[0, "b"] == 0


def _districts() -> pd.DataFrame:
    """Two provinces; district A (3 paid households) is the only small cell."""
    return pd.DataFrame(
        {
            "district_id": ["A", "B", "C", "D", "E"],
            "province_code": ["SD", "SD", "SD", "PB", "PB"],
            "paid_households": [3, 40, 25, 50, 60],
            "amount_pkr": [75_000, 1_000_000, 625_000, 1_250_000, 1_500_000],
        }
    )


def test_money_follows_its_count():
    published, report = suppress(_districts(), count_columns=["paid_households"])
    # A is primary; its province has no other hidden cell, so the smallest other district (C) goes.
    assert _hidden(published, ["paid_households"]) == {(0, "paid_households"), (2, "paid_households")}
    assert _hidden(published, ["amount_pkr"]) == {(0, "amount_pkr"), (2, "amount_pkr")}
    assert (report["primary"], report["secondary"], report["linked"]) == (1, 1, 2)
    # Amount / 25,000 would give A's count back: its interval is as wide as the count's.
    iv = intervals(published, _districts(), count_columns=["paid_households"]).set_index(["row", "column"])
    assert iv.loc[(0, "amount_pkr"), "hi"] - iv.loc[(0, "amount_pkr"), "lo"] == 700_000
    assert report["totals"] == [
        {"province_code": "PB", "paid_households": 110, "amount_pkr": 2_750_000},
        {"province_code": "SD", "paid_households": 68, "amount_pkr": 1_700_000},
    ]
    assert published.dtypes["amount_pkr"] == "Int64"
    assert not is_recoverable(published, _districts(), count_columns=["paid_households"],
                              totals=report["totals"])


def test_money_is_never_primary():
    t = _districts()
    t.loc[3, "amount_pkr"] = 5  # a small amount with a large count: shown
    t.loc[4, "amount_pkr"] = 1_500_000 + 1_250_000 - 5
    published, _ = suppress(t, count_columns=["paid_households"])
    assert published.loc[3, "amount_pkr"] == 5


def test_one_district_province_hides_group_totals():
    """Islamabad is one district: its row equals its province total, so both are hidden, then
    a second province total (PB, the smaller) and a district under it (the smaller, 30)."""
    t = pd.DataFrame(
        {
            "district_id": ["is", "pb1", "pb2", "sd1", "sd2"],
            "province_code": ["IS", "PB", "PB", "SD", "SD"],
            "paid_households": [4, 30, 50, 20, 70],
        }
    )
    published, report = suppress(t, count_columns=["paid_households"], linked={})
    assert _hidden(published, ["paid_households"]) == {(0, "paid_households"), (1, "paid_households")}
    assert report["totals"] == [
        {"province_code": "IS", "paid_households": None},
        {"province_code": "PB", "paid_households": None},
        {"province_code": "SD", "paid_households": 90},
    ]
    assert report["grand_total"] == {"paid_households": 174}
    iv = intervals(published, t, count_columns=["paid_households"], linked={},
                   totals=report["totals"]).set_index(["block", "row"])
    # is + pb1 = 174 - 90 - 50 = 34.
    assert (iv.loc[("row", 0), "lo"], iv.loc[("row", 0), "hi"]) == (0.0, 34.0)
    assert not iv.disclosed.any()
    # Read as if every province total were published, Islamabad's row would be given away.
    assert is_recoverable(published, t, count_columns=["paid_households"], linked={})


def test_row_total_equation_across_columns():
    """eligible = paid + over_budget in every row: hiding paid alone would be undone by subtraction."""
    t = pd.DataFrame(
        {
            "province_code": ["SD"] * 3,
            "eligible_households": [45, 30, 60],
            "paid_households": [40, 30, 55],
            "over_budget_households": [5, 0, 5],
        }
    )
    cols = ["eligible_households", "paid_households", "over_budget_households"]
    published, report = suppress(t, count_columns=cols)
    assert published.loc[0, "over_budget_households"] is pd.NA
    assert published.loc[0, "paid_households"] is pd.NA  # row 0 closes with paid (its smallest)
    assert not is_recoverable(published, t, count_columns=cols, totals=report["totals"])


def test_no_total_row_only_row_relations(three_by_three):
    published, report = suppress(three_by_three, **{**THREE, "total_row": False})
    assert _hidden(published, ["a", "b", "c", "total"]) == {(1, "a"), (1, "c")}
    assert "grand_total" not in report


def test_k_is_configurable(three_by_three):
    published, report = suppress(three_by_three, **THREE, k=13)
    assert report["primary"] == 2  # 4 and 12
    assert published.loc[2, "b"] is pd.NA
    published, report = suppress(three_by_three, **THREE, k=1)
    assert report["hidden_cells"] == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"count_columns": []}, "count_columns is empty"),
        ({"count_columns": ["nope"]}, r"columns \['nope'\] are not in the table"),
        ({"count_columns": ["paid_households"], "linked": {"amount_pkr": "x"}}, "not in count_columns"),
        ({"count_columns": ["paid_households"], "k": 0}, "k must be a positive"),
        ({"count_columns": ["paid_households"], "group_column": "region"}, "group_column 'region'"),
        ({"count_columns": ["paid_households"], "row_totals": {"paid_households": ("zz",)}},
         "neither a count nor a linked column"),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(DisclosureError, match=match):
        suppress(_districts(), **kwargs)


def test_negative_or_missing_values_refused():
    t = _districts()
    t.loc[0, "paid_households"] = -1
    with pytest.raises(DisclosureError, match="negative"):
        suppress(t, count_columns=["paid_households"])
    t = _districts().astype({"paid_households": "Int64"})
    t.loc[0, "paid_households"] = pd.NA
    with pytest.raises(DisclosureError, match="missing values"):
        suppress(t, count_columns=["paid_households"])
    assert issubclass(DisclosureError, ValueError)


# ---------------------------------------------------------------------------------------------
# Property test
# ---------------------------------------------------------------------------------------------

CELL = st.one_of(st.just(0), st.integers(1, 12), st.integers(10, 150))


@st.composite
def tables(draw):
    n_groups = draw(st.integers(1, 3))
    ncols = draw(st.integers(1, 3))
    rows = []
    for g in range(n_groups):
        # A one-row group (Islamabad) needs another group to hide its total against.
        for _ in range(draw(st.integers(1 if n_groups > 1 else 2, 4))):
            rows.append({"province_code": f"P{g}", **{f"c{j}": draw(CELL) for j in range(ncols)}})
    frame = pd.DataFrame(rows)
    counts = [f"c{j}" for j in range(ncols)]
    row_totals = {}
    if ncols > 1 and draw(st.booleans()):
        frame["total"] = frame[counts].sum(axis=1)
        row_totals = {"total": tuple(counts)}
        counts = [*counts, "total"]
    per_household = draw(st.sampled_from([25_000, 13_500]))
    frame["amount_pkr"] = frame["c0"] * per_household
    group = draw(st.sampled_from(["province_code", None]))
    options = {"count_columns": counts, "group_column": group, "row_totals": row_totals,
               "linked": {"amount_pkr": "c0"}}
    return frame, options


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_property_no_small_cell_shown_or_recoverable(case):
    frame, options = case
    counts = options["count_columns"]
    # A national total under k stays published by design; leave such tables out.
    assume((frame[counts].sum() >= K).all() or (frame[counts].sum() == 0).all())
    published, report = suppress(frame, **options)
    for c in counts:
        shown = published[c].dropna().astype(int)
        assert not ((shown > 0) & (shown < K)).any(), c
    for total in report.get("totals", []):
        for c in counts:
            v = total[c]
            assert v is None or not 0 < v < K
    # Money follows its count, exactly.
    assert (published.amount_pkr.isna() == published.c0.isna()).all()
    # Published cells keep their values; totals unchanged.
    for c in [*counts, "amount_pkr"]:
        keep = published[c].notna()
        assert (published.loc[keep, c].astype(int) == frame.loc[keep, c]).all()
    assert report["grand_total"] == {c: int(frame[c].sum()) for c in [*counts, "amount_pkr"]}
    assert report["unprotected"] == []
    iv = intervals(published, frame, totals=report.get("totals"), **options)
    assert not iv.disclosed.any(), iv[iv.disclosed]
    assert iv.reaches_k.all(), iv[~iv.reaches_k]


# ---------------------------------------------------------------------------------------------
# Plans
# ---------------------------------------------------------------------------------------------

FIG = ["households", "affected_households", "affected_people", "eligible_households",
       "paid_households", "paid_people", "over_budget_households", "amount_pkr", "federal_pkr",
       "provincial_pkr"]


def _row(did, prov, households, affected, paid, over=0, transfer=25_000):
    amount = paid * transfer
    federal = amount if prov == "IS" else amount // 2  # ICT is funded federally
    return {
        "district_id": did, "district": did.title(), "province_code": prov, "province": prov,
        "households": households, "affected_households": affected, "affected_people": 6 * affected,
        "eligible_households": paid + over, "paid_households": paid, "paid_people": 6 * paid,
        "over_budget_households": over, "amount_pkr": amount, "federal_pkr": federal,
        "provincial_pkr": amount - federal,
    }


def _plan_dict() -> dict:
    """A plan-shaped dict: SD with one small district (A, 4 paid), PB all large, IS one district
    with 3 paid, and an unlisted PB district of 500 households (no affected households)."""
    districts = [
        _row("sd_a", "SD", 300, 9, 4),
        _row("sd_b", "SD", 900, 80, 40, over=12),
        _row("sd_c", "SD", 400, 30, 25),
        _row("pb_d", "PB", 800, 70, 50),
        _row("pb_e", "PB", 700, 90, 60, over=15),
        _row("is_f", "IS", 200, 12, 3),
    ]
    frame = pd.DataFrame(districts)
    provinces = frame.groupby(["province_code", "province"], sort=True)[FIG].sum().reset_index()
    provinces.loc[provinces.province_code == "PB", "households"] += 500  # the unlisted district
    totals = {c: int(provinces[c].sum()) for c in FIG}
    contributions = [
        {"benefiting_province": p, "paying_province": p, "amount_pkr": int(v)}
        for p, v in zip(provinces.province_code, provinces.provincial_pkr, strict=True) if v
    ]
    return {
        "schema_version": "1.1",
        "totals": totals,
        "provinces": [{k: (int(v) if isinstance(v, np.integer) else v) for k, v in r.items()}
                      for r in provinces.to_dict(orient="records")],
        "districts": districts,
        "tehsils": [],
        "cost_sharing": {"rule": "fixed", "contributions": contributions},
    }


@pytest.fixture
def plan() -> dict:
    return _plan_dict()


def _shown_counts(records: list[dict]) -> list[int]:
    return [v for r in records for c, v in r.items()
            if (c == "households" or c.endswith("_households")) and v is not None]


def test_suppress_plan_hides_small_districts_keeps_totals(plan):
    before = copy.deepcopy(plan)
    out = suppress_plan(plan, k=K)
    assert plan == before  # the input is not modified
    assert out["totals"] == plan["totals"]  # national totals stay published
    d = {r["district_id"]: r for r in out["districts"]}
    assert d["sd_a"]["paid_households"] is None and d["sd_a"]["amount_pkr"] is None
    assert d["sd_a"]["affected_households"] is None and d["sd_a"]["affected_people"] is None
    assert d["is_f"]["paid_households"] is None and d["is_f"]["households"] == 200
    assert d["sd_b"]["paid_households"] == 40 and d["sd_b"]["amount_pkr"] == 1_000_000
    assert d["sd_c"]["affected_households"] is None and d["sd_c"]["paid_households"] == 25
    assert d["pb_d"]["paid_households"] is None and d["pb_e"]["paid_households"] == 60
    p = {r["province_code"]: r for r in out["provinces"]}
    # Islamabad's province total equals its district (3 paid): hidden. A second province total
    # must go (Sindh's, which also covers sd_a), and a third: Islamabad's provincial share is
    # zero by rule, so with IS and SD hidden, SD's provincial_pkr (= paid x 12,500) would follow
    # from the national total. PB goes too, with pb_d under it.
    assert all(p[c]["paid_households"] is None for c in ("IS", "PB", "SD"))
    assert (p["IS"]["affected_households"], p["PB"]["affected_households"]) == (12, 160)
    assert all(not 0 < v < K for v in _shown_counts(out["districts"] + out["provinces"]))
    # Contributions of a province whose provincial money is hidden are hidden too.
    assert all(c["amount_pkr"] is None for c in out["cost_sharing"]["contributions"])
    iv = intervals(out, plan)
    assert iv.small.any() and iv.reaches_k.all()
    # Publishing PB again would give Sindh's figures away through Islamabad's zero.
    naive = copy.deepcopy(out)
    naive["provinces"] = [
        dict(o) if o["province_code"] == "PB" else n
        for o, n in zip(plan["provinces"], out["provinces"], strict=True)
    ]
    naive["districts"][3] = dict(plan["districts"][3])
    assert is_recoverable(naive, plan)
    rep = out["disclosure"]
    assert rep["k"] == K and rep["unprotected"] == [] and rep["primary"] >= 3
    assert not is_recoverable(out, plan)


def test_suppress_plan_unlisted_remainder(plan):
    """A district left out of the list leaves a derivable remainder; a small one is protected."""
    small = copy.deepcopy(plan)
    for r in small["provinces"]:
        if r["province_code"] == "PB":
            r["households"] -= 495  # the unlisted PB district now has 5 households
    small["totals"]["households"] -= 495
    out = suppress_plan(small)
    shown = [r["households"] for r in out["districts"] if r["province_code"] == "PB"]
    assert None in shown  # a listed PB district hides its households to cover the remainder
    assert not is_recoverable(out, small)
    iv = intervals(out, small)
    assert "provinces-remainder" in set(iv.block)


def test_suppress_plan_tehsils(plan):
    """Tehsils sum to their district: a small tehsil is hidden with a complement tehsil."""
    teh = [
        {**_row("sd_b", "SD", 500, 50, 30, over=12), "tehsil_id": "b1"},
        {**_row("sd_b", "SD", 390, 24, 7), "tehsil_id": "b2"},
        {**_row("sd_b", "SD", 10, 6, 3), "tehsil_id": "b3"},
    ]
    for r in teh:
        for c in ("district", "province_code", "province"):
            r.pop(c)
    plan["tehsils"] = teh
    out = suppress_plan(plan)
    t = {r["tehsil_id"]: r for r in out["tehsils"]}
    assert t["b2"]["paid_households"] is None and t["b3"]["paid_households"] is None
    assert t["b1"]["paid_households"] == 30  # b2 + b3 = 10 can reach k: b1 stays
    assert t["b3"]["households"] == 10  # k itself is shown
    assert all(not 0 < v < K for v in _shown_counts(out["tehsils"]))
    assert not is_recoverable(out, plan)


def test_suppress_plan_reports_what_it_cannot_protect():
    """Punjab (1 paid) and Islamabad (9) alone: Islamabad's provincial share is zero by rule, so the
    published national provincial_pkr is Punjab's. National totals stay published; the report says
    which cells an outsider can still work out."""
    districts = [_row("pb_a", "PB", 40, 1, 1), _row("is_b", "IS", 60, 9, 9)]
    frame = pd.DataFrame(districts)
    provinces = frame.groupby(["province_code", "province"], sort=True)[FIG].sum().reset_index()
    original = {
        "totals": {c: int(provinces[c].sum()) for c in FIG},
        "provinces": [{k: (int(v) if isinstance(v, np.integer) else v) for k, v in r.items()}
                      for r in provinces.to_dict(orient="records")],
        "districts": districts,
        "tehsils": [],
    }
    out = suppress_plan(original)
    assert out["totals"]["provincial_pkr"] == 12_500
    unprotected = {(c["block"], c["row"], c["column"]) for c in out["disclosure"]["unprotected"]}
    assert ("provinces", 1, "provincial_pkr") in unprotected  # PB
    iv = intervals(out, original)
    assert is_recoverable(out, original)
    assert set(zip(iv[iv.disclosed].block, iv[iv.disclosed].row, iv[iv.disclosed].column,
                   strict=True)) <= unprotected


def test_suppress_plan_errors(plan):
    out = suppress_plan(plan)
    with pytest.raises(DisclosureError, match="already has hidden"):
        suppress_plan(out)
    bad = copy.deepcopy(plan)
    bad["totals"]["paid_households"] += 1
    with pytest.raises(DisclosureError, match="do not add up"):
        suppress_plan(bad)
    bad = copy.deepcopy(plan)
    bad["districts"][0]["paid_households"] += 100
    with pytest.raises(DisclosureError, match="exceed"):
        suppress_plan(bad)
    bad = copy.deepcopy(plan)
    bad["tehsils"] = [{**_row("zz", "SD", 1, 1, 1), "tehsil_id": "z"}]
    with pytest.raises(DisclosureError, match="no row among the districts"):
        suppress_plan(bad)


@st.composite
def plans(draw):
    """Random plan dicts: provinces > districts > tehsils, lists filtered to affected > 0 as
    :func:`simulator.plans.build.build` does, so unlisted rows leave a remainder in ``households``."""
    small = st.one_of(st.just(0), st.integers(1, 12), st.integers(10, 60))
    districts, tehsils = [], []
    with_tehsils = draw(st.booleans())
    for p in draw(st.lists(st.sampled_from(["PB", "SD", "KP", "IS"]), min_size=2, max_size=3,
                           unique=True)):
        for d in range(draw(st.integers(1, 3))):
            did = f"{p.lower()}_{d}"
            parts = []
            for t in range(draw(st.integers(1, 3)) if with_tehsils else 1):
                paid, over, extra = draw(small), draw(small), draw(small)
                affected = paid + over + extra
                parts.append({**_row(did, p, affected + draw(small), affected, paid, over),
                              "tehsil_id": f"t{t}"})
            total = {c: sum(r[c] for r in parts) for c in FIG}
            districts.append({**_row(did, p, 0, 0, 0), **total})
            if with_tehsils:
                for r in parts:
                    tehsils.append({k: v for k, v in r.items()
                                    if k not in ("district", "province_code", "province")})
    frame = pd.DataFrame(districts)
    provinces = frame.groupby(["province_code", "province"], sort=True)[FIG].sum().reset_index()
    totals = {c: int(provinces[c].sum()) for c in FIG}
    return {
        "totals": totals,
        "provinces": [{k: (int(v) if isinstance(v, np.integer) else v) for k, v in r.items()}
                      for r in provinces.to_dict(orient="records")],
        "districts": [r for r in districts if r["affected_households"] > 0],
        "tehsils": [r for r in tehsils if r["affected_households"] > 0],
        "cost_sharing": {"rule": "fixed", "contributions": []},
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_property_suppress_plan(original):
    counts = [c for c in FIG if c.endswith("households")]
    assume(all(original["totals"][c] == 0 or original["totals"][c] >= K for c in counts))
    out = suppress_plan(original)
    assert out["totals"] == original["totals"]
    rows = out["provinces"] + out["districts"] + out["tehsils"]
    assert all(not 0 < v < K for v in _shown_counts(rows))
    for r in rows:
        assert (r["amount_pkr"] is None) == (r["paid_households"] is None)
    iv = intervals(out, original)
    weak = iv[iv.disclosed | ~iv.reaches_k]
    reported = {(c["block"], c["row"], c["column"]) for c in out["disclosure"]["unprotected"]}
    # The report is honest: whatever can be worked out is listed as unprotected...
    assert set(zip(weak.block, weak.row, weak.column, strict=True)) <= reported
    # ...and that happens only when Islamabad (whose provincial share is zero by rule) is the only
    # other province paying out: the national provincial_pkr then gives the province's away.
    paying = [p for p in original["provinces"] if p["province_code"] != "IS" and p["provincial_pkr"]]
    if len(paying) >= 2:
        assert reported == set(), reported


def test_plan_links_cover_every_money_and_people_figure():
    from simulator.plans.build import FIGURES

    for f in FIGURES:
        if f.endswith(("_pkr", "_people")):
            assert f in disclosure.PLAN_LINKS, f
            assert disclosure.PLAN_LINKS[f] in FIGURES


def test_suppress_plan_on_a_demo_run(root):
    from simulator import plans, scenario

    demo = root / "scenarios" / "indus-flood-demo.yaml"
    original = plans.run(scenario.load(demo), base=demo.parent, households=20_000).plan
    out = suppress_plan(original)
    assert out["totals"] == original["totals"]
    assert all(not 0 < v < K for v in _shown_counts(out["districts"] + out["provinces"]))
    assert out["disclosure"]["unprotected"] == []
    assert not is_recoverable(out, original)


def test_registry_key_is_of_the_rows_content_only():
    """The registry key hashes each row's values in numpy (v2): rows in any order give the same
    key, one value changed anywhere gives another, and a column's type (int32 or int64,
    float32 or float64, text or categorical) does not count, only its values."""
    from simulator.publish.disclosure import cellkey

    rng = np.random.default_rng(7)
    n = 2_000
    frame = pd.DataFrame({
        "household_id": pd.array([f"h{i:06x}" for i in rng.permutation(n)], dtype="string"),
        "district_id": pd.Categorical(rng.choice(["sd_dadu", "pb_lahore", "kp_swat"], n)),
        "hh_size": rng.integers(1, 12, n).astype(np.int16),
        "pmt_score": rng.uniform(0, 100, n).astype(np.float32),
        "weight": np.ones(n, np.int32),
        "lon": rng.uniform(61, 77, n), "lat": rng.uniform(24, 37, n),
    })
    key = cellkey.registry_key(frame)
    assert cellkey.registry_key(frame.sample(frac=1.0, random_state=1)) == key  # any order
    recast = frame.assign(weight=frame.weight.astype(np.int64), pmt_score=frame.pmt_score.astype(np.float64),
                          district_id=frame.district_id.astype("string"))
    assert cellkey.registry_key(recast) == key  # the values, not the types
    for column, value in (("hh_size", 13), ("pmt_score", 50.5), ("lon", 70.0), ("district_id", "kp_swat"),
                          ("household_id", "h-new")):
        changed = frame.copy()
        if column == "district_id":
            changed[column] = changed[column].cat.add_categories([]).astype("string")
            value = "ba_quetta"
        changed.loc[17, column] = value
        assert cellkey.registry_key(changed) != key, column
    # whole columns swapped between rows keep each row's multiset of values but not its rows
    swapped = frame.copy()
    swapped["hh_size"] = swapped["hh_size"].to_numpy()[::-1]
    assert cellkey.registry_key(swapped) != key
