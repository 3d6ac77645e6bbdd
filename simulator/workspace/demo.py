"""A demonstration workspace: the Committee's organisations, a member for each, their signing
keys, and the demo plan submitted as version 1, with a meeting and its action points.

``make run`` opens it (the app's Committee page) and ``madad workspace demo`` makes it. It lives
in its own folder (default ``$XDG_DATA_HOME/madad/demo-workspace``: ``workspace.db``, ``keys/``,
``runs/``), never in the workspace a Committee really uses. Every demo account shares
:data:`DEMO_PASSWORD`, shown on screen: a demo is for trying the workflow, not for real plans.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import os
import sqlite3
from pathlib import Path

from hazards import tables
from simulator.workspace.service import Workspace

__all__ = ["DEMO_MEMBERS", "DEMO_PASSWORD", "DEMO_PLAN", "demo_folder", "open_demo",
           "read_organisations", "seed"]

log = logging.getLogger(__name__)

#: The one password of every demo account (shown on the demo's sign-in form).
DEMO_PASSWORD = "madad-demo-only"
#: Code of the demo plan.
DEMO_PLAN = "indus-flood-demo"
#: (username, name, organisation, role, view) of the demo's members.
DEMO_MEMBERS = (
    ("chair", "Committee chair (demo)", "mopass", "chair", "minister"),
    ("secretariat", "Committee secretariat (demo)", "bisp", "secretariat", "planner"),
    ("bisp", "BISP planner (demo)", "bisp", "member", "planner"),
    ("sspa-sindh", "SSPA Sindh planner (demo)", "sspa-sindh", "member", "planner"),
    ("pspa-punjab", "PSPA Punjab planner (demo)", "pspa-punjab", "member", "planner"),
    ("swd-kp", "KP Social Welfare planner (demo)", "swd-kp", "member", "planner"),
    ("bspa-balochistan", "Balochistan SPA planner (demo)", "bspa-balochistan", "member", "planner"),
    ("ndma", "NDMA officer (demo)", "ndma", "member", "authority"),
    ("pdma-sindh", "PDMA Sindh officer (demo)", "pdma-sindh", "member", "authority"),
    ("world-bank", "World Bank observer (demo)", "world-bank", "observer", "minister"),
)


def demo_folder() -> Path:
    """``$MADAD_DEMO_WORKSPACE`` or ``$XDG_DATA_HOME/madad/demo-workspace``."""
    env = os.environ.get("MADAD_DEMO_WORKSPACE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "madad" / "demo-workspace"


def read_organisations(path: str | Path | None = None) -> list[dict]:
    """Rows of ``data/committee/organisations.csv`` (or ``path``)."""
    src = Path(path) if path else tables.data_dir() / "committee" / "organisations.csv"
    with open(src, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def open_demo(folder: str | Path | None = None) -> Workspace:
    """The demo workspace in ``folder``, seeded on first use (:func:`seed`)."""
    import fcntl

    where = Path(folder) if folder else demo_folder()
    where.mkdir(parents=True, exist_ok=True)
    db = where / "workspace.db"
    # one seeding at a time: two app sessions (or an app and `madad workspace demo`) starting
    # together wait for the first instead of clashing
    with open(where / ".seed.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not db.exists():
            # seeded aside and renamed into place: a failed seeding leaves no half demo
            partial = where / "workspace.db.partial"
            for leftover in where.glob("workspace.db.partial*"):
                leftover.unlink()
            ws = Workspace(f"sqlite:///{partial}")
            try:
                seed(ws, where)
            finally:
                ws.close()
            with sqlite3.connect(partial) as conn:  # fold the write-ahead log into the file
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.execute("PRAGMA journal_mode=DELETE")
            os.replace(partial, db)
    return Workspace(f"sqlite:///{db}", runs_root=where / "runs")


def seed(ws: Workspace, folder: Path, *, today: dt.date | None = None) -> None:
    """Fill an empty workspace with the demo: organisations, members, keys, the demo plan as
    version 1, and a meeting with two action points (one of them overdue)."""
    from simulator.exchange.keys import keygen
    from simulator.plans import run as run_plan
    from simulator.publish import write_run
    from simulator.scenario import load

    today = today or dt.date.today()
    orgs = read_organisations()
    chair = DEMO_MEMBERS[0]
    ws.bootstrap(orgs, {"username": chair[0], "name": chair[1], "organisation": chair[2],
                        "view": chair[4], "password": DEMO_PASSWORD})
    for username, name, org, role, view in DEMO_MEMBERS[1:]:
        ws.add_member(chair[0], {"username": username, "name": name, "organisation": org,
                                 "role": role, "view": view, "password": DEMO_PASSWORD})
    keys = folder / "keys"
    for row in orgs:
        if row.get("signs_for"):
            code = row["code"]
            if not (keys / f"{code}.identity.json").exists():
                keygen(code, keys)
            ws.register_key(chair[0], code, keys / f"{code}.identity.json")
    scenario = Path(__file__).resolve().parents[2] / "scenarios" / "indus-flood-demo.yaml"
    out = folder / "runs" / f"{DEMO_PLAN}-v1"
    log.info("running the demo scenario for the demo workspace into %s", out)
    write_run(run_plan(load(scenario), base=scenario.parent), out, scenario_path=scenario)
    ws.submit("bisp", out, plan=DEMO_PLAN, note="first draft (demo)")
    quarter = ws.meeting(chair[0], today - dt.timedelta(days=30),
                         "Coordination Committee, quarterly meeting (demo)",
                         "1. The Indus flood plan: first draft\n2. Campsites for registration")
    ws.record_minutes(chair[0], quarter, "The draft was presented; Sindh and Punjab to review.")
    ws.add_action(chair[0], "PDMA Sindh to confirm the campsite list for the flood plan",
                  "pdma-sindh", today - dt.timedelta(days=7), meeting_id=quarter)
    ws.add_action(chair[0], "BISP to share the updated NSER extract with the provinces",
                  "bisp", today + dt.timedelta(days=21), meeting_id=quarter)
