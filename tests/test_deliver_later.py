"""The app's plans leave the delivery plan to a background thread (``deliver_later``): the
figures come first, and the plan it completes is the plan ``madad run`` writes, key for key."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pandas as pd

from simulator import plans, registry, scenario
from simulator.plans import delivery_plan

DEMO = Path(__file__).resolve().parents[1] / "scenarios" / "indus-flood-demo.yaml"


def test_delivery_later_completes_the_same_plan(monkeypatch):
    scn = scenario.load(DEMO)
    reg = registry.validate(registry.generate(4_000, seed=2), source="synthetic")
    layers, _ = plans.orchestrator.build_hazards(scn)
    now = plans.assemble(scn, reg, layers, library=scn, background=True).complete()

    release = threading.Event()
    plan_delivery = delivery_plan.plan_delivery

    def held(*args, **kwargs):  # the delivery plan waits until the figures have been read
        assert release.wait(60)
        return plan_delivery(*args, **kwargs)

    monkeypatch.setattr(delivery_plan, "plan_delivery", held)
    later = plans.assemble(scn, reg, layers, library=scn, background=True, deliver_later=True)
    assert later.later is not None and not later.later.done()
    assert "delivery" not in later.plan and "site_id" not in later.households  # the figures first
    assert later.plan["totals"] == now.plan["totals"]
    release.set()
    later.complete()
    assert list(later.plan) == list(now.plan)  # the same keys in the same order
    assert json.dumps(later.plan, default=str) == json.dumps(now.plan, default=str)
    pd.testing.assert_frame_equal(later.households, now.households)


def test_delivery_later_error_reaches_the_waiting_pages(monkeypatch):
    scn = scenario.load(DEMO)
    reg = registry.validate(registry.generate(2_000, seed=2), source="synthetic")
    layers, _ = plans.orchestrator.build_hazards(scn)

    def broken(*args, **kwargs):
        raise ValueError("no site can be reached")

    monkeypatch.setattr(delivery_plan, "plan_delivery", broken)
    later = plans.assemble(scn, reg, layers, library=scn, background=True, deliver_later=True)
    try:
        later.complete()
    except ValueError as exc:
        assert "no site can be reached" in str(exc)
    else:
        raise AssertionError("the delivery plan's error was lost")
    assert "delivery" not in later.plan


def test_background_work_takes_its_turn():
    """The app's gate (``turn``) is asked before the delivery plan and before each ensemble
    member's hazards, on the background threads: a page's figures come first."""
    scn = scenario.load(DEMO)
    reg = registry.validate(registry.generate(2_000, seed=2), source="synthetic")
    layers, _ = plans.orchestrator.build_hazards(scn)
    asked: list[str] = []
    result = plans.assemble(scn, reg, layers, library=scn, background=True, deliver_later=True,
                            turn=lambda: asked.append(threading.current_thread().name))
    result.complete()
    assert sum(name.startswith("madad-delivery") for name in asked) == 1
    assert sum(name.startswith("madad-ensemble") for name in asked) == scn.ensemble.members - 1  # its own member ran
    assert "delivery" in result.plan and "ensemble" in result.plan


def test_background_threads_yield_the_cpu():
    """The ensemble and a deferred delivery plan run at a lower priority than the thread that
    waits for the plan (Linux: a nice value per thread), so that the plan and the household table
    have the cores first."""
    import os

    import pytest

    from simulator.plans import orchestrator

    if not hasattr(os, "setpriority"):
        pytest.skip("no per-thread priorities here")
    scn = scenario.load(DEMO)
    reg = registry.validate(registry.generate(2_000, seed=2), source="synthetic")
    layers, _ = plans.orchestrator.build_hazards(scn)
    seen: dict[str, int] = {}

    def told(message: str) -> None:
        seen[threading.current_thread().name.split("_")[0]] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    plans.assemble(scn, reg, layers, library=scn, background=True, deliver_later=True, on_progress=told).complete()
    assert seen["madad-ensemble"] == min(mine + orchestrator.BACKGROUND_NICE, 19)
    assert seen["madad-delivery"] == min(mine + orchestrator.BACKGROUND_NICE, 19)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine  # this thread's own is unchanged
