"""Publications that resist differencing (issue 14, part 5): two publications from registries
that differ by one household must not give away its district, tier or payment.

The protection is the cell-key perturbation of :mod:`simulator.publish.disclosure.cellkey`
(then small-cell suppression). The attacker's test, as defined in that module's docstring:

- The attacker holds the published plan of the full registry and of the registry without one
  household ``h``, knows exactly one household went, and knows the method and its parameters
  but not the registry key. They see every perturbed cell, the ones suppression would hide
  included (a stronger attacker than the published output allows: suppression only removes
  cells).
- District: for every district listed in either publication, the sum over the count columns
  of (first - second); the guess is the largest (the likelihood-ratio test of a +1 shift under
  independent, equal-variance noise). It must be right no more often than chance (one over the
  districts in play) plus ``MARGIN``.
- Tier: the tier hypothesis (none, affected, severely affected, displaced: shifts of 0/1 in the
  national affected, severely affected and displaced counts) nearest, in squared distance, to
  the national differences; right no more often than the most common tier's share plus
  ``MARGIN``.
- Payment: the national amount difference rounded to the nearest possible payment; right no
  more often than the most common payment's share plus ``MARGIN``.
- Hexagons: the hexagon with the largest drop; right no more often than chance plus ``MARGIN``.

Many removed households are simulated by subtracting one household's figures from the exact
plan; :func:`test_removal_arithmetic_matches_a_rerun` checks that this equals a real run on the
registry file with the row dropped.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator import plans, registry
from simulator import scenario as scenario_mod
from simulator.publish import export
from simulator.publish.disclosure import perturb_hexagons, perturb_plan, protect_plan, registry_key
from simulator.publish.disclosure.cellkey import PTABLE_BOUND, ptable, ptable_moments, unit_of

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
N = 3000
TRIALS = 80
MARGIN = 0.12
COUNTS = ("households", "affected_households", "severely_affected_households", "displaced_households",
          "eligible_households", "paid_households", "over_budget_households", "affected_poor_unpaid_households")


def registry_frame(n: int = N, seed: int = 5) -> pd.DataFrame:
    """A registry of ``n`` real-scale rows (weight 1 each), as tests/test_app.py writes them."""
    frame = registry.generate(n, seed=seed).drop(columns=["weight"])
    return frame.astype({"district_id": str, "province_code": str, "tehsil_id": "string"})


@pytest.fixture(scope="module")
def scn():
    s = scenario_mod.load(SCENARIOS / "indus-flood-demo.yaml")
    return s.model_copy(update={"ensemble": None})


@pytest.fixture(scope="module")
def runs(scn, tmp_path_factory):
    """The full registry's run and the run of the registry without one affected household."""
    folder = tmp_path_factory.mktemp("differencing")
    frame = registry_frame()
    full_path = folder / "registry.csv"
    frame.to_csv(full_path, index=False)
    full = plans.run(scn, base=SCENARIOS, registry_path=full_path)
    hh = full.households
    affected = np.flatnonzero((hh["tier"].astype(str) != "none").to_numpy() & (hh["amount_pkr"].to_numpy() > 0))
    drop = int(affected[len(affected) // 2])
    less_path = folder / "registry-less-one.csv"
    frame.drop(index=drop).to_csv(less_path, index=False)
    less = plans.run(scn, base=SCENARIOS, registry_path=less_path)
    return full, less, drop, frame


# --- removing one household by arithmetic --------------------------------------------------------


def contribution(hh: pd.DataFrame, i: int, poverty_line: float) -> dict[str, int]:
    """What household row ``i`` adds to each figure of its tehsil, district, province and nation
    (the demo scenario: no dedup, budget ceilings or expansions)."""
    row = hh.iloc[i]
    w = int(row["weight"])
    size = int(row["hh_size"]) * w
    tier = str(row["tier"])
    affected = tier != "none"
    paid = int(row["amount_pkr"]) > 0
    eligible = bool(row["eligible"]) and affected
    return {
        "households": w,
        "affected_households": w * affected,
        "affected_people": size * affected,
        "severely_affected_households": w * (tier in ("severely_affected", "displaced")),
        "displaced_households": w * (tier == "displaced"),
        "eligible_households": w * eligible,
        "eligible_people": size * eligible,
        "paid_households": w * paid,
        "paid_people": size * paid,
        "amount_pkr": int(row["amount_pkr"]),
        "federal_pkr": int(row["federal_pkr"]),
        "provincial_pkr": int(row["provincial_pkr"]),
        "over_budget_households": w * (str(row["status"]) == "over_budget"),
        "affected_poor_unpaid_households": w * (affected and not paid and float(row["pmt_score"]) <= poverty_line),
    }


def without(plan: dict, hh: pd.DataFrame, i: int) -> dict:
    """The exact plan of the registry without household row ``i``."""
    out = json.loads(json.dumps(plan))
    line = float(plan["targeting"].get("poverty_line_pmt") or 32.0)
    c = contribution(hh, i, line)
    row = hh.iloc[i]
    where = {"totals": None, "provinces": ("province_code", str(row["province_code"])),
             "districts": ("district_id", str(row["district_id"])),
             "tehsils": ("tehsil_id", None if pd.isna(row["tehsil_id"]) else str(row["tehsil_id"]))}
    for level, match in where.items():
        rows = [out["totals"]] if match is None else [r for r in out[level] if r.get(match[0]) == match[1]]
        for r in rows:
            for k, v in c.items():
                if k in r:
                    r[k] -= v
    for level in ("districts", "tehsils"):  # areas left with nobody affected are not listed
        out[level] = [r for r in out[level] if r["affected_households"] > 0]
    out["registry_rows"] -= 1
    return out


def test_removal_arithmetic_matches_a_rerun(runs):
    full, less, drop, _ = runs
    expected = without(full.plan, full.households, drop)
    for level in ("provinces", "districts", "tehsils"):
        assert pd.DataFrame(expected[level]).reset_index(drop=True).equals(
            pd.DataFrame(less.plan[level]).reset_index(drop=True)), level
    assert expected["totals"] == less.plan["totals"]
    # The registry key of the rerun is the key of the household table less the row.
    assert registry_key(less.households) == registry_key(full.households.drop(index=drop))
    assert registry_key(less.households) != registry_key(full.households)


# --- the method --------------------------------------------------------------------------------


def test_ptable_has_zero_mean_and_bounded_variance():
    table = ptable()
    assert table.p.abs().max() <= PTABLE_BOUND
    for n, m in ptable_moments().items():
        assert abs(m["mean"]) < 1e-6, n
        assert 0 < m["variance"] <= 25.0, n
        assert (table[table.n == n].p >= -n).all()  # never a negative count


def test_same_cell_same_noise_and_planner_exports_exact(runs, tmp_path):
    full, *_ = runs
    key = registry_key(full.households)
    a = perturb_plan(full.plan, key)
    b = perturb_plan(full.plan, key)
    assert a == b  # a repeated publication is identical: nothing to average
    # A policy change leaves the registry key, so cells it does not change keep their noise.
    assert registry_key(full.households[["household_id", "district_id", "tehsil_id", "hh_size",
                                         "pmt_score", "weight", "province_code"]]) == key
    # The planner's exports stay exact.
    out = export.export(full, "json", tmp_path / "plan.json")
    assert json.loads(out.read_text())["totals"] == json.loads(json.dumps(full.plan["totals"]))


def test_published_figures_add_up(runs):
    full, *_ = runs
    pub = protect_plan(full.plan, 10, households=full.households)
    assert pub["disclosure"]["perturbation"]["key_source"] == "registry"
    t = pub["totals"]
    perturbed = perturb_plan(full.plan, registry_key(full.households))
    assert perturbed["totals"] == t
    prov = pd.DataFrame(perturbed["provinces"])
    shown = pd.DataFrame(pub["provinces"])
    for c in ("households", "affected_households", "paid_households", "amount_pkr", "federal_pkr"):
        assert prov[c].sum() == t[c], c  # provinces add up to the published national totals
        # Suppression hides some of them; what it shows is the perturbed figure.
        assert ((shown[c].isna()) | (shown[c] == prov[c])).all(), c
    assert t["amount_pkr"] == t["federal_pkr"] + t["provincial_pkr"]
    assert t["eligible_households"] == t["paid_households"] + t["over_budget_households"]
    assert sum(i["amount_pkr"] for i in pub["instalments"]) == t["amount_pkr"]
    assert t["amount_pkr"] % 1000 == 0
    for d in pub["districts"]:
        if d["amount_pkr"] is not None and d["federal_pkr"] is not None and d["provincial_pkr"] is not None:
            assert d["amount_pkr"] == d["federal_pkr"] + d["provincial_pkr"]
    # Hidden cells are not recoverable from the published (perturbed) totals.
    from simulator.publish.disclosure import is_recoverable

    perturbed.pop("perturbation")
    assert not is_recoverable(pub, perturbed)


def test_exported_publications_differ_everywhere(runs, tmp_path):
    """The PDF/GeoJSON route: publishing both registries, more than the household's district
    changes, and its district's published drop is not the exact one-household drop."""
    full, less, drop, _ = runs
    a = export.protected(export.load_run(full), 10).plan
    b = export.protected(export.load_run(less), 10).plan
    district = str(full.households.iloc[drop]["district_id"])
    da = {d["district_id"]: d for d in a["districts"]}
    db = {d["district_id"]: d for d in b["districts"]}
    changed = [d for d in set(da) | set(db) if da.get(d, {}).get("households") != db.get(d, {}).get("households")]
    assert len(changed) > 1  # every cell is re-keyed, not only the household's district's
    assert a["totals"]["households"] - b["totals"]["households"] != 1
    geo = tmp_path / "a.geojson"
    export.export(full, "geojson", geo)
    layer = json.loads(geo.read_text())
    exact = {d["district_id"]: d["households"] for d in full.plan["districts"]}
    shown = {f["properties"]["district_id"]: f["properties"]["households"] for f in layer["features"]}
    assert any(shown.get(d) not in (None, v) for d, v in exact.items())  # perturbed, not exact
    assert district  # (the household's district is only used by the statistical test below)


# --- the attacker's test over many removed households --------------------------------------------


def _district_scores(first: dict, second: dict) -> dict[str, float]:
    a = {d["district_id"]: d for d in first["districts"]}
    b = {d["district_id"]: d for d in second["districts"]}
    scores = {}
    for d in set(a) | set(b):
        scores[d] = sum(float((a.get(d, {}).get(c) or 0) - (b.get(d, {}).get(c) or 0)) for c in COUNTS)
    return scores


TIER_SHIFTS = {"none": (0, 0, 0), "affected": (1, 0, 0), "severely_affected": (1, 1, 0), "displaced": (1, 1, 1)}


def test_one_household_differences_are_not_recoverable(runs):
    full, _, _, frame = runs
    hh = full.households
    rng = np.random.default_rng(14)
    affected = np.flatnonzero((hh["tier"].astype(str) != "none").to_numpy())
    picks = rng.choice(affected, size=min(TRIALS, len(affected)), replace=False)
    unit = unit_of(full.plan)
    first = perturb_plan(full.plan, registry_key(hh), unit=unit)
    payments = sorted({0, *hh["amount_pkr"].to_numpy()[affected].tolist()})
    hits = Counter()
    chance = []
    truths = Counter()
    true_pay = Counter()
    for i in picks:
        i = int(i)
        second = perturb_plan(without(full.plan, hh, i), registry_key(hh.drop(index=hh.index[i])), unit=unit)
        scores = _district_scores(first, second)
        guess = max(scores, key=scores.get)
        hits["district"] += guess == str(hh.iloc[i]["district_id"])
        chance.append(1 / len(scores))
        ta, tb = first["totals"], second["totals"]
        delta = np.array([ta[c] - tb[c] for c in ("affected_households", "severely_affected_households",
                                                  "displaced_households")], dtype=float)
        tier = min(TIER_SHIFTS, key=lambda t: float(((delta - np.array(TIER_SHIFTS[t])) ** 2).sum()))
        truths[str(hh.iloc[i]["tier"])] += 1
        hits["tier"] += tier == str(hh.iloc[i]["tier"])
        pay = int(hh.iloc[i]["amount_pkr"])
        true_pay[pay] += 1
        d_amount = ta["amount_pkr"] - tb["amount_pkr"]
        hits["payment"] += min(payments, key=lambda p: abs(p - d_amount)) == pay
        exact = (ta["paid_households"] - tb["paid_households"] == (pay > 0)
                 and d_amount == pay)
        hits["exact_national"] += exact
    n = len(picks)
    rates = {k: v / n for k, v in hits.items()}
    district_chance = float(np.mean(chance))
    tier_prior = max(truths.values()) / n
    pay_prior = max(true_pay.values()) / n
    print(f"attacker over {n} households: {rates}; district chance {district_chance:.3f}, "
          f"tier prior {tier_prior:.3f}, payment prior {pay_prior:.3f}")
    assert rates.get("district", 0) <= district_chance + MARGIN
    assert rates.get("tier", 0) <= tier_prior + MARGIN
    assert rates.get("payment", 0) <= pay_prior + MARGIN
    assert rates.get("exact_national", 0) <= 0.1  # the exact national drop is almost never shown
    # Without protection the same attacker is always right about the district.
    exact_hits = 0
    for i in picks[:20]:
        scores = _district_scores(full.plan, without(full.plan, hh, int(i)))
        exact_hits += max(scores, key=scores.get) == str(hh.iloc[int(i)]["district_id"])
    assert exact_hits == 20


def test_hexagons_are_perturbed_and_resist_differencing(runs):
    from simulator.app.deck import hex_bins

    full, _, _, frame = runs
    hh = full.households
    hit = (hh["tier"].astype(str) != "none").to_numpy()
    lon, lat = frame["lon"].to_numpy(), frame["lat"].to_numpy()
    assert len(frame) == len(hh)  # weight-1 rows: one household row per registry row
    exact = hex_bins(lon[hit], lat[hit])
    key = registry_key(hh)
    first = perturb_hexagons(exact, key)
    assert not first["count"].equals(exact["count"])  # perturbed
    assert perturb_hexagons(exact, key).equals(first)  # the same cells, the same noise
    rng = np.random.default_rng(7)
    picks = rng.choice(np.flatnonzero(hit), size=min(TRIALS, int(hit.sum())), replace=False)
    right, chance = 0, []
    for i in picks:
        keep = hit.copy()
        keep[i] = False
        second = perturb_hexagons(hex_bins(lon[keep], lat[keep]), registry_key(hh.drop(index=hh.index[i])))
        a = first.set_index(["q", "r"])["count"]
        b = second.set_index(["q", "r"])["count"]
        drop = a.sub(b, fill_value=0)
        guess = drop.idxmax()
        own = hex_bins(lon[[i]], lat[[i]])
        right += guess == (int(own.q[0]), int(own.r[0]))
        chance.append(1 / len(drop))
    assert right / len(picks) <= float(np.mean(chance)) + MARGIN
