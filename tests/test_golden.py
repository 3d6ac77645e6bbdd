"""Behaviour stays identical: every library scenario gives the same plan and households as the
golden plans in ``tests/golden/`` (every figure, table, agency, assumption and NSER update line).

A change meant to alter figures regenerates them with ``tests/golden/regenerate.py`` and says
why in its commit and in ``tests/golden/README.md``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from simulator import plans, scenario

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
LIBRARY = sorted((ROOT / "scenarios").glob("*.yaml"))
REGENERATED: set[str] = set()
ADDED: set[str] = set()


def digest(households) -> str:
    """A digest of the per-household table that does not depend on the pandas version."""
    h = hashlib.sha256()
    for column in households.columns:
        h.update(column.encode())
        h.update("\x1f".join(map(repr, households[column].tolist())).encode())
    return h.hexdigest()


@pytest.fixture(scope="module")
def household_digests() -> dict[str, str]:
    lines = (GOLDEN / "households.sha256").read_text().split("\n")
    return dict(line.split() for line in lines if line.strip())


@pytest.mark.slow
@pytest.mark.parametrize("path", LIBRARY, ids=[p.stem for p in LIBRARY])
def test_library_plan_is_unchanged(path, household_digests):
    scn = scenario.load(path)
    res = plans.run(scn, base=path.parent, households=20_000)
    now = json.loads(json.dumps(res.plan, default=str))
    before = json.loads((GOLDEN / f"{scn.name}.json").read_text())
    assert set(now) - set(before) == ADDED
    for key in before:
        if key not in REGENERATED:
            assert now[key] == before[key], f"{scn.name}: plan[{key!r}] changed"
    assert now["policy"]["edited"] is False
    assert digest(res.households) == household_digests[scn.name]


def test_a_changed_figure_is_caught():
    """The comparison can fail: one household more in a golden total is a difference."""
    before = json.loads((GOLDEN / "indus-flood-demo.json").read_text())
    changed = json.loads(json.dumps(before))
    changed["totals"]["paid_households"] += 1
    assert changed["totals"] != before["totals"]
