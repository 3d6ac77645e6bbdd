"""The app shows a plan before its ensemble's ranges, and the ranges when they are there.

The ensemble (``simulator.plans.ensemble.summary``) is held back by an event in these tests,
so that a page that waited for it would time out: the headline figures must be on the page
while it is held, with "member k of n", and the "likely between" ranges after it is let go;
the cached plan then has its ensemble block, the downloads wait for it, and nothing is
computed twice. Each test uses its own registry size, so that no other test's cache serves it.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from simulator import plans, registry, scenario
from simulator.app import deck, loaders, settings, text
from simulator.plans import ensemble as ensemble_mod
from simulator.publish.disclosure import cellkey

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
DEMO = ROOT / "scenarios" / "indus-flood-demo.yaml"
ENV_NAMES = ("MADAD_BOUNDARIES", "MADAD_BOUNDARIES_LAYER", "MADAD_BOUNDARIES_CODE_COLUMN",
             "MADAD_BOUNDARIES_NAME_COLUMN", "MADAD_ROLE", "MADAD_MIN_CELL", "MADAD_CONFIG",
             "MADAD_REGISTRY")
#: Longest any wait here may take [s] (the ensemble of a few thousand households: a second).
PATIENCE_S = 120


@pytest.fixture
def env(monkeypatch):
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MADAD_CONFIG", "")
    return monkeypatch


@pytest.fixture
def held(monkeypatch):
    """The ensemble held back until the test lets it go (``held.set()``), with a count of the
    ensembles, engine-and-plan runs and registries computed; always let go at the end."""
    gate = threading.Event()
    counts = {"ensemble": 0, "assemble": 0, "registry": 0}
    summary, assemble, generate = ensemble_mod.summary, plans.assemble, registry.generate

    def slow_summary(*args, **kwargs):
        # only this test's registry (MADAD_DEMO_HOUSEHOLDS rows): an earlier test's ensemble may
        # still be queued in the background, and is neither held nor counted
        mine = os.environ.get("MADAD_DEMO_HOUSEHOLDS", "").replace("_", "")
        if not mine or len(args[1]["district"]) != int(mine):
            return summary(*args, **kwargs)
        counts["ensemble"] += 1
        assert gate.wait(PATIENCE_S), "the test never let the ensemble go"
        return summary(*args, **kwargs)

    def counted_assemble(*args, **kwargs):
        counts["assemble"] += 1
        return assemble(*args, **kwargs)

    def counted_generate(*args, **kwargs):
        counts["registry"] += 1
        return generate(*args, **kwargs)

    monkeypatch.setattr(ensemble_mod, "summary", slow_summary)
    monkeypatch.setattr(plans, "assemble", counted_assemble)
    monkeypatch.setattr(registry, "generate", counted_generate)
    gate.counts = counts
    try:
        yield gate
    finally:
        gate.set()


def has_ranges(at: AppTest) -> bool:
    return any("likely between" in m.value for m in at.markdown)


def pending_note(at: AppTest) -> str | None:
    found = [c.value for c in at.caption if c.value.startswith("Likely ranges being computed")]
    return found[0] if found else None


def wait_for_ranges(at: AppTest) -> None:
    """Rerun the page, as the app's own poll does, until the ranges are on it."""
    deadline = time.monotonic() + PATIENCE_S
    while not has_ranges(at):
        assert time.monotonic() < deadline, "the ranges never appeared"
        time.sleep(0.2)
        at.run()


def current_run(at: AppTest, households: int, role: str):
    """(scenario, registry source, library) the app's landing page ran."""
    scn = at.session_state["active_scn"]
    cfg = settings.Settings(role=role, demo_households_text=str(households))
    return scn, loaders.registry_source(scn, cfg), at.session_state["library_scn"]


@pytest.mark.parametrize("role, households", [("planner", 11_111), ("minister", 12_222)])
def test_landing_page_shows_figures_before_the_ranges_and_the_ranges_after(env, held, role, households):
    env.setenv("MADAD_ROLE", role)
    env.setenv("MADAD_DEMO_HOUSEHOLDS", str(households))
    at = AppTest.from_file(str(APP), default_timeout=PATIENCE_S)
    at.run()  # the ensemble is held: a page that waited for it would time out here
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    assert len(at.metric) >= 6 and "PKR" in at.metric[3].value  # the headline figures
    assert any("**" in m.value and "PKR" in m.value for m in at.markdown)  # the headline sentence
    assert not has_ranges(at)
    note = pending_note(at)
    assert note is not None and " of 20)" in note, [c.value for c in at.caption]
    scn, source, library = current_run(at, households, role)
    result = loaders.result_of(scn, source, library)[0]
    assert result.pending is not None and "ensemble" not in result.plan

    # a download asked for meanwhile waits for the ranges, so that every file has them
    files: dict = {}
    cfg = settings.Settings(role=role, demo_households_text=str(households))
    writer = threading.Thread(target=lambda: files.update(json=loaders.make_file("json", scn, source, cfg,
                                                                                 library=library)))
    writer.start()
    writer.join(1.0)
    assert writer.is_alive(), "the download did not wait for the ensemble"

    held.set()
    wait_for_ranges(at)
    assert pending_note(at) is None
    writer.join(PATIENCE_S)
    assert "ensemble" in json.loads(files["json"])
    assert "ensemble" in result.plan and result.pending is None  # the cached run, completed
    assert any(c.value.startswith("Ranges over 20 members") for c in at.caption)
    assert held.counts == {"ensemble": 1, "assemble": 1, "registry": 1}  # nothing computed twice


def test_a_what_if_does_not_wait_for_any_ensemble(env, held):
    env.setenv("MADAD_ROLE", "planner")
    env.setenv("MADAD_DEMO_HOUSEHOLDS", "13_333")
    at = AppTest.from_file(str(APP), default_timeout=PATIENCE_S)
    at.run()
    assert pending_note(at) is not None
    at.number_input(key="transfer_pkr").set_value(30_000).run()  # both ensembles held
    assert not at.exception and not at.error
    assert any("PKR 30,000" in i.value for i in at.info)
    assert not has_ranges(at) and pending_note(at) is not None
    # the engine and the plan only: the registry and the hazards are not computed again
    # (the base plan's ensemble is held, or still queued behind an earlier test's: 0 or 1 started)
    assert held.counts["ensemble"] <= 1 and held.counts["assemble"] == 2 and held.counts["registry"] == 1
    held.set()
    wait_for_ranges(at)
    deadline = time.monotonic() + PATIENCE_S
    while held.counts["ensemble"] < 2 and time.monotonic() < deadline:  # the base's, queued
        time.sleep(0.1)
    assert held.counts == {"ensemble": 2, "assemble": 2, "registry": 1}


def test_a_failed_ensemble_leaves_the_figures_and_says_so(env, monkeypatch):
    env.setenv("MADAD_ROLE", "planner")
    env.setenv("MADAD_DEMO_HOUSEHOLDS", "14_444")

    def broken(*args, **kwargs):
        raise RuntimeError("no members today")

    monkeypatch.setattr(ensemble_mod, "summary", broken)
    at = AppTest.from_file(str(APP), default_timeout=PATIENCE_S)
    at.run()
    deadline = time.monotonic() + PATIENCE_S
    while not any("could not be computed" in w.value for w in at.warning):
        assert time.monotonic() < deadline
        time.sleep(0.2)
        at.run()
    assert "no members today" in at.warning[0].value
    assert not at.exception and len(at.metric) >= 6


# --- the pieces ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name, weighted", [("monsoon-flood-2022-style", True), ("indus-flood-demo", True),
                                            ("indus-flood-demo", False)])
def test_registry_key_is_the_library_s_key_of_any_run(name, weighted):
    """The app's key of a registry (computed once, from its rows) is byte for byte
    :func:`cellkey.registry_key` of a run's household table, split weighted rows included."""
    scn = scenario.load(ROOT / "scenarios" / f"{name}.yaml").model_copy(update={"ensemble": None})
    frame = registry.generate(4_000, seed=3)
    if not weighted:
        frame = frame.drop(columns=["weight"])
    reg = registry.validate(frame, source="test")
    layers, _ = plans.build_hazards(scn, base=ROOT / "scenarios")
    res = plans.assemble(scn, reg, layers)
    if name.startswith("monsoon"):
        assert res.rows is not None  # weighted rows were split: the library merges them back
    assert loaders.registry_key(reg.households) == cellkey.registry_key(res.households)


def test_registry_key_with_repeated_ids_is_the_library_s():
    reg = registry.validate(registry.generate(2_000, seed=4), source="test")
    hh = reg.households
    twice = pd.concat([hh, hh.iloc[:10]], ignore_index=True)
    cols = [c for c in cellkey.REGISTRY_COLUMNS if c in plans.orchestrator.RESULT_COLUMNS]
    assert loaders.registry_key(twice) == cellkey.registry_key(twice[cols])


def test_hex_bins_dense_and_sparse_counting_agree(monkeypatch):
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(66, 72, 50_000), rng.uniform(24, 30, 50_000)
    weights = rng.integers(0, 4, 50_000)
    dense = deck.hex_bins(lon, lat, weights=weights)
    monkeypatch.setattr(deck, "DENSE_HEX_CELLS", 0)
    sparse = deck.hex_bins(lon, lat, weights=weights)
    pd.testing.assert_frame_equal(dense, sparse)
    assert dense["count"].sum() == weights.sum()
    assert (dense[["q", "r"]].diff().dropna().apply(tuple, axis=1) != (0, 0)).all()


def test_both_languages_have_the_pending_note():
    for lg in text.LANGUAGES:
        assert "{k}" in text.LABELS[lg]["ens_pending"] and "{n}" in text.LABELS[lg]["ens_pending"]
