"""An ensemble runs its members only over the rows some member can reach, with the same figures.

:func:`simulator.plans.ensemble.member_figures` runs the engine over :func:`reachable_rows` (with
their registry positions); these tests run every member over every row instead (through the
``evaluator`` hook, the engine as it is) and ask for the same numbers, float for float, across
the scenario library: thresholds and impact functions, rising and falling hazards, two hazards
under ``max_tier``, weighted rows that split, provincial duplicates and budgets that bind.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulator import engine, plans, registry, scenario
from simulator.plans import ensemble

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
LIBRARY = [
    "indus-flood-demo.yaml",
    "monsoon-flood-2022-style.yaml",
    "karachi-heatwave-2015-style.yaml",
    "kashmir-earthquake-2005-style.yaml",
    "tharparkar-drought.yaml",
    "biparjoy-cyclone-2023-style.yaml",
    "indus-riverine-2010-style.yaml",
]
MEMBERS = 4


@pytest.fixture(scope="module")
def households():
    return registry.validate(registry.generate(30_000, seed=5), source="synthetic").households


def _cols(households, layers, *, weighted: bool) -> dict[str, np.ndarray]:
    cols = engine.household_columns(households, tehsils=engine.needs_tehsils(layers))
    if weighted:  # rows standing for several households, some of them provincial duplicates
        rng = np.random.default_rng(3)
        cols["weight"] = rng.integers(1, 40, len(cols["weight"])).astype(cols["weight"].dtype)
        dup = rng.random(len(cols["weight"])) < 0.05
        cols["duplicate"] = dup
        cols["source"] = np.where(dup, 1, cols["source"]).astype(cols["source"].dtype)
    return cols


def _every_row(cols):
    """The engine over every row for each member: the figures without the reachable rows (the
    members' reach, handed to an evaluator, is left unused)."""
    return lambda member, sources, reach: (engine.evaluate(member, cols, sources), cols)


def _binding(scn: scenario.Scenario, plan_paid_pkr: int) -> scenario.Scenario:
    """The scenario with a federal budget of a third of what its plan pays: households are left
    out in priority order, ties broken by registry position."""
    budget = scn.budget.model_copy(update={"federal_pkr": max(plan_paid_pkr // 3, 1)})
    return scn.model_copy(update={"budget": budget})


@pytest.mark.parametrize("name", LIBRARY)
@pytest.mark.parametrize("weighted", [False, True], ids=["rows", "weighted"])
def test_reachable_rows_give_the_figures_of_every_row(households, name, weighted):
    scn = scenario.load(SCENARIOS / name)
    layers, _ = plans.orchestrator.build_hazards(scn, base=SCENARIOS)
    cols = _cols(households, layers, weighted=weighted)
    if weighted:
        paid = int(engine.evaluate(scn, cols, layers).sub["paid_pkr"].sum())
        scn = _binding(scn, paid)
    seeds = [scn.seed + i for i in range(MEMBERS)]
    fast = ensemble.member_figures(scn, cols, layers, seeds)
    slow = ensemble.member_figures(scn, cols, layers, seeds, evaluator=_every_row(cols))
    for key in slow:
        assert np.array_equal(fast[key], slow[key]), (name, key)
    assert fast["affected_households"].sum() > 0, f"{name}: no member reaches anyone, the check is empty"


@pytest.mark.parametrize("name", LIBRARY)
def test_every_affected_row_is_reachable(households, name):
    scn = scenario.load(SCENARIOS / name)
    layers, _ = plans.orchestrator.build_hazards(scn, base=SCENARIOS)
    cols = _cols(households, layers, weighted=False)
    seeds = [scn.seed + i for i in range(MEMBERS)]
    members = [ensemble.member_layers(scn, layers, seed) for seed in seeds]
    rows = ensemble.reachable_rows(scn, cols, layers, members)
    assert rows is not None
    reach = np.zeros(len(cols["lon"]), bool)
    reach[rows] = True
    for seed, sources in zip(seeds, members, strict=True):
        res = engine.evaluate(scn.model_copy(update={"seed": seed}), cols, sources)
        tier = res.tier if res.row is None else res.tier[: len(cols["lon"])]
        assert not (tier > 0)[~reach].any(), f"{name}, seed {seed}: a row with a tier was not reachable"
    assert len(rows) < len(cols["lon"]), f"{name}: every row reachable, the test shows nothing"


def test_rows_are_not_told_when_hazards_combine_by_intensity(households):
    scn = scenario.load(SCENARIOS / "monsoon-flood-2022-style.yaml")
    layers, _ = plans.orchestrator.build_hazards(scn, base=SCENARIOS)
    cols = _cols(households, layers, weighted=False)
    by_intensity = scn.model_copy(update={"combine": "max_intensity"})
    members = [ensemble.member_layers(scn, layers, scn.seed + i) for i in range(2)]
    assert ensemble.reachable_rows(by_intensity, cols, layers, members) is None
