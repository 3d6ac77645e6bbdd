"""The Committee workspace (issue 18) on SQLite and on the real PostgreSQL server `make test`
starts (``tests/pgserver.py``; the PostgreSQL cases skip when it is not running).

The plans are real run folders: the demo's flood cut to Sindh's bounding box on a 20,000-row
registry, so that only the federal government and Sindh must sign; version 2 raises the transfer
from PKR 25,000 to 30,000.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path

import pytest
import yaml
from sqlalchemy import inspect, text

from hazards.errors import ConflictError, ForbiddenError, WorkspaceError
from simulator.workspace import Workspace, signing
from simulator.workspace.access import Actor, refusal
from simulator.workspace.demo import read_organisations

ROOT = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 12, 1)
PASSWORD = "a long enough password"
#: (username, organisation, role, view)
MEMBERS = (
    ("secretariat", "bisp", "secretariat", "planner"),
    ("bisp", "bisp", "member", "planner"),
    ("sspa", "sspa-sindh", "member", "planner"),
    ("pspa", "pspa-punjab", "member", "planner"),
    ("pdma", "pdma-sindh", "member", "authority"),
    ("minister", "mopass", "member", "minister"),
    ("wb", "world-bank", "observer", "minister"),
)


def _run(folder: Path, transfer: int) -> Path:
    from simulator import scenario
    from simulator.plans import run
    from simulator.publish import write_run

    spec = yaml.safe_load((ROOT / "scenarios" / "indus-flood-demo.yaml").read_text())
    spec.pop("ensemble")
    spec.pop("delivery")
    spec["registry"] = {"synthetic_households": 20_000}
    spec["hazards"][0]["generator"]["bbox"] = [66.9, 23.6, 70.6, 27.7]  # Sindh only
    spec["policy"]["programmes"][0]["transfer"] = {"by_tier_pkr": {"affected": transfer}}
    path = folder / f"sindh-{transfer}.yaml"
    path.write_text(yaml.safe_dump(spec))
    out = folder / f"run-{transfer}"
    write_run(run(scenario.load(path), base=ROOT / "scenarios"), out, scenario_path=path)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    return {"v1": _run(folder, 25_000), "v2": _run(folder, 30_000)}


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    from simulator.exchange.keys import keygen

    folder = tmp_path_factory.mktemp("keys")
    for code in ("bisp", "sspa-sindh", "pspa-punjab"):
        keygen(code, folder)
    return folder


@pytest.fixture
def url(database_url):
    return database_url  # SQLite and the PostgreSQL server make test starts (conftest.py)


@pytest.fixture
def ws(url, keys):
    w = Workspace(url, today=lambda: TODAY)
    w.bootstrap(read_organisations(), {"username": "chair", "name": "Chair",
                                        "organisation": "mopass", "password": PASSWORD,
                                        "view": "minister"})
    for username, org, role, view in MEMBERS:
        w.add_member("chair", {"username": username, "organisation": org, "role": role,
                               "view": view, "password": PASSWORD})
    for code in ("bisp", "sspa-sindh", "pspa-punjab"):
        w.register_key("chair", code, keys / f"{code}.identity.json")
    yield w
    w.close()


def test_a_quarter(ws, runs, keys, tmp_path):
    """Submit a plan, review it, change it, have BISP and Sindh sign the new version, record a
    meeting and its action points, and show one overdue."""
    assert ws.submit("bisp", runs["v1"], plan="sindh-flood", note="first draft") == 1
    [st] = ws.status("wb")
    assert st.latest.required == ("federal", "SD")  # Sindh-only footprint
    ws.review("sspa", "sindh-flood", 1, "comment", "Numbers look plausible for Dadu.")
    ws.review("pdma", "sindh-flood", 1, "request_changes", "Raise the transfer to PKR 30,000.")
    assert ws.status("chair")[0].state == "changes requested"

    assert ws.submit("bisp", runs["v2"], plan="sindh-flood", note="PKR 30,000",
                     expected_latest=1) == 2
    diff = ws.diff("wb", "sindh-flood", 1, 2)
    changed = {row["field"]: (row["a"], row["b"]) for row in diff["policy"]}
    assert changed["policy.programmes[BISP flood relief].transfer.by_tier_pkr.affected"] == (
        25_000, 30_000)
    amount = next(r for r in diff["totals"] if r["figure"] == "amount_pkr")
    paid = ws.status("chair")[0].versions[0].totals["paid_households"]
    assert amount["change"] == 5_000 * paid  # same households, PKR 5,000 more each
    assert [r["province_code"] for r in diff["provinces"]] == ["SD"]
    assert diff["districts"] and all(r["amount_pkr_change"] > 0 for r in diff["districts"])

    ws.approve("bisp", "sindh-flood", 2, keys / "bisp.key.pem")
    assert ws.status("chair")[0].latest.missing == ("SD",)
    ws.approve("sspa", "sindh-flood", 2, keys / "sspa-sindh.key.pem", text="Agreed for Sindh.")
    st = ws.status("minister")[0]
    assert st.state == "jointly approved"
    assert st.latest.jointly_approved and not st.versions[0].jointly_approved
    assert {j: s["organisation"] for j, s in st.latest.signatures.items()} == {
        "federal": "bisp", "SD": "sspa-sindh"}

    # the signatures verify outside the database, against the run folder that was signed
    sig_file = tmp_path / "signatures.json"
    sig_file.write_text(json.dumps(ws.signatures("wb", "sindh-flood", 2)))
    payloads = signing.verify_file(sig_file, runs["v2"])
    assert sorted(p["jurisdiction"] for p in payloads) == ["SD", "federal"]
    with pytest.raises(WorkspaceError, match="over another version"):
        signing.verify_file(sig_file, runs["v1"])

    meeting = ws.meeting("secretariat", dt.date(2026, 10, 15), "Q4 2026 Committee",
                         "1. Sindh flood plan")
    ws.record_minutes("secretariat", meeting, "The plan was agreed; campsites to be confirmed.",
                      expected_revision=1)
    late = ws.add_action("secretariat", "Confirm campsite list", "pdma-sindh",
                         dt.date(2026, 11, 20), meeting_id=meeting)
    on_time = ws.add_action("secretariat", "Share NSER extract", "bisp", dt.date(2027, 1, 15),
                            meeting_id=meeting)
    ws.update_action("bisp", on_time, "in_progress", "extract being prepared",
                     expected_revision=1)
    overdue = ws.actions("wb", overdue=True)
    assert [(a.id, a.owner, a.days_overdue) for a in overdue] == [(late, "pdma-sindh", 11)]
    tracker = {a.id: a for a in ws.actions("minister")}
    assert tracker[on_time].status == "in_progress" and len(tracker[on_time].history) == 2
    assert ws.meetings("wb")[0]["minutes"].startswith("The plan was agreed")
    assert ws.verify_audit() == len(ws.audit("chair"))


def test_forbidden_actions_are_refused_and_audited(ws, runs, keys):
    ws.submit("bisp", runs["v1"], plan="sindh-flood")
    action = ws.add_action("chair", "Confirm campsite list", "pdma-sindh", dt.date(2026, 11, 20))
    before = ws.verify_audit()
    attempts = [
        ("observers cannot approve", lambda: ws.approve("wb", "sindh-flood", 1,
                                                         keys / "bisp.key.pem")),
        ("observers may comment", lambda: ws.review("wb", "sindh-flood", 1, "request_changes")),
        ("observers may comment", lambda: ws.submit("wb", runs["v2"], plan="sindh-flood")),
        # Punjab is not involved in a Sindh-only plan: it cannot approve it
        ("does not need PB", lambda: ws.approve("pspa", "sindh-flood", 1,
                                                keys / "pspa-punjab.key.pem")),
        ("signs for no jurisdiction", lambda: ws.approve("pdma", "sindh-flood", 1,
                                                         keys / "sspa-sindh.key.pem")),
        ("aggregates only", lambda: ws.household_list("minister", "sindh-flood")),
        ("aggregates only", lambda: ws.household_list("pdma", "sindh-flood")),
        ("aggregates only", lambda: ws.household_list("wb", "sindh-flood")),
        ("chair or the secretariat", lambda: ws.meeting("bisp", TODAY, "a meeting")),
        ("chair or the secretariat", lambda: ws.add_action("sspa", "x", "bisp", TODAY)),
        ("member of pdma-sindh", lambda: ws.update_action("sspa", action, "done")),
        ("chair or the secretariat", lambda: ws.audit("bisp")),
        ("chair or the secretariat", lambda: ws.backup("sspa", "/tmp/never.gz")),
        ("chair or the secretariat", lambda: ws.add_member("bisp", {"username": "eve",
                                                                     "organisation": "bisp"})),
        ("not a member", lambda: ws.status("mallory")),
    ]
    for why, attempt in attempts:
        with pytest.raises(ForbiddenError, match=why):
            attempt()
    refused = [e for e in ws.audit("chair") if e["outcome"] == "refused"]
    assert len(refused) == len(attempts) - 1  # an unknown user is refused before any audit
    assert ws.verify_audit() == before + len(attempts) - 1  # reads are not audited
    # nothing changed: no signature, no review, no meeting, the action point untouched
    st = ws.status("chair")[0]
    assert st.latest.signatures == {} and st.latest.reviews == ()
    assert ws.meetings("chair") == [] and ws.actions("chair")[0].revision == 1
    # a key that is not the organisation's own is refused before anything is stored
    with pytest.raises(WorkspaceError, match="registered for the organisation"):
        ws.approve("sspa", "sindh-flood", 1, keys / "bisp.key.pem")
    # one signature per jurisdiction and version
    ws.approve("sspa", "sindh-flood", 1, keys / "sspa-sindh.key.pem")
    with pytest.raises(ConflictError, match="already signed"):
        ws.approve("sspa", "sindh-flood", 1, keys / "sspa-sindh.key.pem")


def test_a_province_approves_only_for_itself():
    sindh = Actor(1, "sspa", "SSPA", "sspa-sindh", "provincial", "SD", "SD", "member", "planner")
    assert refusal(sindh, "plan.approve", jurisdiction="SD", required=("federal", "SD")) is None
    assert "not for federal" in refusal(sindh, "plan.approve", jurisdiction="federal",
                                        required=("federal", "SD"))
    assert "not for PB" in refusal(sindh, "plan.approve", jurisdiction="PB",
                                   required=("federal", "PB", "SD"))
    assert refusal(sindh, "no.such.action") == "unknown action 'no.such.action'"


def test_household_lists_stay_with_their_agency(ws, runs):
    ws.submit("bisp", runs["v1"], plan="sindh-flood")
    sindh = ws.household_list("sspa", "sindh-flood")
    assert len(sindh) > 0 and set(sindh["province_code"].astype(str)) == {"SD"}
    assert (sindh["amount_pkr"] > 0).all()
    assert len(ws.household_list("pspa", "sindh-flood")) == 0  # Punjab's own: none here
    federal = ws.household_list("bisp", "sindh-flood")
    assert (federal["federal_pkr"] > 0).all() and len(federal) == len(sindh)


def test_a_changed_plan_needs_new_signatures(ws, runs, keys, url):
    ws.submit("bisp", runs["v1"], plan="sindh-flood")
    ws.approve("bisp", "sindh-flood", 1, keys / "bisp.key.pem")
    ws.approve("sspa", "sindh-flood", 1, keys / "sspa-sindh.key.pem")
    assert ws.status("chair")[0].state == "jointly approved"
    ws.submit("bisp", runs["v2"], plan="sindh-flood")
    st = ws.status("chair")[0]
    assert st.state == "awaiting signatures" and st.latest.missing == ("federal", "SD")
    with pytest.raises(WorkspaceError, match="nothing changed"):
        ws.submit("bisp", runs["v2"], plan="sindh-flood")
    # a signature altered in the database no longer counts
    with ws.engine.begin() as conn:
        conn.execute(text("UPDATE signatures SET payload = REPLACE(payload, :a, :b) "
                          "WHERE jurisdiction = 'SD'"), {"a": '"version":1', "b": '"version":2'})
    v1 = ws.status("chair")[0].versions[0]
    assert v1.signatures["SD"]["valid"] is False and v1.missing == ("SD",)


def test_stale_submissions_and_edits_are_refused(ws, runs):
    ws.submit("bisp", runs["v1"], plan="sindh-flood")
    ws.submit("bisp", runs["v2"], plan="sindh-flood", expected_latest=1)
    with pytest.raises(ConflictError, match="at version 2, not 1"):
        ws.submit("sspa", runs["v1"], plan="sindh-flood", expected_latest=1)
    meeting = ws.meeting("chair", TODAY, "Q4")
    ws.record_minutes("chair", meeting, "draft", expected_revision=1)
    with pytest.raises(ConflictError, match="saved by someone else"):
        ws.record_minutes("secretariat", meeting, "other draft", expected_revision=1)


def test_the_audit_trail_is_append_only(ws, runs):
    ws.submit("bisp", runs["v1"], plan="sindh-flood")
    n = ws.verify_audit()
    for sql in ("UPDATE audit_events SET actor = 'someone' WHERE id = 1",
                "DELETE FROM audit_events WHERE id = 1"):
        with pytest.raises(Exception, match="append-only"), ws.engine.begin() as conn:
            conn.execute(text(sql))
    assert ws.verify_audit() == n


def test_login_uses_argon2(ws):
    assert ws.login("sspa", PASSWORD).organisation == "sspa-sindh"
    with ws.engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM members WHERE username='sspa'")).scalar()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    for user, password in (("sspa", "wrong password!"), ("nobody", PASSWORD)):
        with pytest.raises(ForbiddenError, match="unknown member or wrong password"):
            ws.login(user, password)
    assert [e["target"] for e in ws.audit("chair") if e["action"] == "login"] == [
        "sspa", "sspa", "nobody"]
    with pytest.raises(WorkspaceError, match="at least 10 characters"):
        ws.add_member("chair", {"username": "short", "organisation": "bisp", "password": "x"})


def test_backup_and_restore(ws, runs, keys, tmp_path):
    ws.submit("bisp", runs["v1"], plan="sindh-flood")
    ws.approve("sspa", "sindh-flood", 1, keys / "sspa-sindh.key.pem")
    ws.add_action("chair", "Confirm campsite list", "pdma-sindh", dt.date(2026, 11, 20))
    path = tmp_path / "workspace.jsonl.gz"
    header = ws.backup("chair", path)
    assert header["counts"]["signatures"] == 1
    from simulator.workspace.backup import restore

    copy = restore(path, f"sqlite:///{tmp_path / 'restored.db'}")
    try:
        assert copy.status("chair") == ws.status("chair")
        assert copy.verify_audit() == header["audit_head"]["seq"]
        assert [a.title for a in copy.actions("chair")] == ["Confirm campsite list"]
        copy.review("sspa", "sindh-flood", 1, "comment", "after restore")  # ids continue
        with pytest.raises(WorkspaceError, match="already holds a workspace"):
            restore(path, f"sqlite:///{tmp_path / 'restored.db'}")
    finally:
        copy.close()
    server = os.environ.get("MADAD_TEST_DATABASE_URL")
    if server:  # and across databases: SQLite to PostgreSQL, PostgreSQL to PostgreSQL
        from pgserver import drop_database, fresh_database

        target = fresh_database(server, prefix="restore")
        try:
            moved = restore(path, target)
            assert moved.status("chair") == ws.status("chair")
            moved.review("sspa", "sindh-flood", 1, "comment", "ids continue on PostgreSQL")
            moved.close()
        finally:
            drop_database(target)
    damaged = tmp_path / "damaged.jsonl.gz"
    import gzip

    lines = gzip.open(path, "rt").read().splitlines(keepends=True)
    i = next(i for i, line in enumerate(lines) if '"table": "plans"' in line)
    lines[i] = lines[i].replace("sindh-flood", "sindh-fl00d")
    with gzip.open(damaged, "wt") as fh:
        fh.writelines(lines)
    with pytest.raises(WorkspaceError, match="truncated or altered"):
        restore(damaged, f"sqlite:///{tmp_path / 'other.db'}")


def test_the_migrations_make_the_models_schema(url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from simulator.workspace.db import head_revision, revision_of
    from simulator.workspace.models import Base

    w = Workspace(url)
    try:
        assert revision_of(w.engine) == head_revision()
        with w.engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diffs == []
        Workspace(url).close()  # opening again migrates nothing and fails nothing
    finally:
        w.close()


def _concurrently(n: int, work) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def go(i: int) -> None:
        try:
            barrier.wait()
            work(i)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@pytest.mark.slow
def test_concurrent_reviewers_lose_nothing(ws, runs, url):
    """50 reviewers at once (10 on SQLite, which takes one writer at a time): every review is
    kept, and every status edit of one shared action point lands exactly once, each retrying
    after a lost optimistic check."""
    n = 50 if url.startswith("postgresql") else 10
    for i in range(n):
        ws.add_member("chair", {"username": f"rev{i:02d}", "organisation": "bisp"})
    ws.submit("bisp", runs["v1"], plan="sindh-flood")
    action = ws.add_action("chair", "Shared action", "bisp", dt.date(2027, 1, 1))
    conflicts = []

    def review_and_edit(i: int) -> None:
        ws.review(f"rev{i:02d}", "sindh-flood", 1, "comment", f"review {i}")
        while True:
            seen = next(a.revision for a in ws.actions(f"rev{i:02d}") if a.id == action)
            try:
                ws.update_action(f"rev{i:02d}", action, "in_progress", f"edit {i}",
                                 expected_revision=seen)
                return
            except ConflictError:
                conflicts.append(i)

    assert _concurrently(n, review_and_edit) == []
    st = ws.status("chair")[0]
    assert sorted(r["text"] for r in st.latest.reviews) == sorted(f"review {i}" for i in range(n))
    [a] = ws.actions("chair")
    assert a.revision == n + 1 and len(a.history) == n + 1
    assert sorted(h["note"] for h in a.history[1:]) == sorted(f"edit {i}" for i in range(n))
    assert ws.verify_audit() == len(ws.audit("chair"))

    # two members submitting the next version at once: one wins, the other is told
    outcomes = []

    def submit(i: int) -> None:
        try:
            outcomes.append(ws.submit("bisp" if i else "sspa", runs["v2"], plan="sindh-flood",
                                      expected_latest=1))
        except ConflictError:
            outcomes.append("conflict")

    assert _concurrently(2, submit) == []
    assert sorted(map(str, outcomes)) == ["2", "conflict"]


def test_the_signed_plan_and_the_minutes_export(ws, runs, keys, tmp_path):
    from openpyxl import load_workbook
    from pypdf import PdfReader

    ws.submit("bisp", runs["v1"], plan="sindh-flood")
    ws.approve("sspa", "sindh-flood", 1, keys / "sspa-sindh.key.pem")
    key_id = ws.status("chair")[0].latest.signatures["SD"]["key_id"]
    book = ws.export_plan("minister", "sindh-flood", 1, "xlsx", tmp_path / "plan.xlsx")
    cells = [str(c) for row in load_workbook(book)["summary"].iter_rows(values_only=True)
             for c in row if c is not None]
    assert "Awaiting: federal" in cells and key_id in cells
    assert "Sindh Social Protection Authority (SSPA)" in cells
    brief = ws.export_plan("minister", "sindh-flood", 1, "pdf", tmp_path / "brief.pdf")
    text_ = " ".join(p.extract_text() for p in PdfReader(brief).pages)
    assert "Awaiting: federal" in text_ and key_id in text_
    meeting = ws.meeting("chair", dt.date(2026, 10, 15), "Q4 2026 Committee")
    ws.add_action("chair", "Confirm campsite list", "pdma-sindh", dt.date(2026, 11, 20),
                  meeting_id=meeting)
    minutes = ws.export_minutes("wb", "pdf", tmp_path / "minutes.pdf")
    text_ = " ".join(p.extract_text() for p in PdfReader(minutes).pages)
    assert "Q4 2026 Committee" in text_ and "Confirm campsite list" in text_
    assert ws.export_minutes("wb", "xlsx", tmp_path / "minutes.xlsx").exists()


def test_submissions_only_from_the_runs_root(url, runs, tmp_path):
    w = Workspace(url, runs_root=runs["v1"].parent / "run-25000")
    try:
        w.bootstrap(read_organisations(), {"username": "chair", "organisation": "mopass"})
        with pytest.raises(WorkspaceError, match="run folders under"):
            w.submit("chair", runs["v2"], plan="sindh-flood")
        assert w.submit("chair", runs["v1"], plan="sindh-flood") == 1
    finally:
        w.close()


def test_a_new_key_keeps_earlier_signatures_valid(ws, runs, keys, tmp_path):
    from simulator.exchange.keys import keygen

    ws.submit("bisp", runs["v1"], plan="sindh-flood")
    ws.approve("sspa", "sindh-flood", 1, keys / "sspa-sindh.key.pem")
    new = keygen("sspa-sindh", tmp_path / "new-keys")
    ws.register_key("chair", "sspa-sindh", new.identity)  # Sindh changes its key
    assert ws.status("chair")[0].latest.signatures["SD"]["valid"] is True
    ws.submit("bisp", runs["v2"], plan="sindh-flood")
    with pytest.raises(WorkspaceError, match="registered for the organisation"):
        ws.approve("sspa", "sindh-flood", 2, keys / "sspa-sindh.key.pem")  # the old key
    ws.approve("sspa", "sindh-flood", 2, new.private_key)
    for number, run in ((1, runs["v1"]), (2, runs["v2"])):
        path = tmp_path / f"v{number}.json"
        path.write_text(json.dumps(ws.signatures("wb", "sindh-flood", number)))
        assert [p["key_id"] for p in signing.verify_file(path, run)] == [
            ws.status("chair")[0].versions[number - 1].signatures["SD"]["key_id"]]


def test_migration_0002_down_and_up_keeps_signatures_verifiable(ws, runs, keys):
    """Revision 0002 gives each signature the identity it was made with; going back to 0001
    and up again fills it from the organisation's key, and the signature still verifies."""
    from alembic import command

    from simulator.workspace.db import _config

    ws.submit("bisp", runs["v1"], plan="sindh-flood")
    ws.approve("sspa", "sindh-flood", 1, keys / "sspa-sindh.key.pem")
    ws.engine.dispose()
    with ws.engine.begin() as conn:
        command.downgrade(_config(conn), "0001")
    with ws.engine.begin() as conn:
        assert "identity_json" not in {c["name"] for c in inspect(conn).get_columns("signatures")}
    ws.engine.dispose()
    with ws.engine.begin() as conn:
        command.upgrade(_config(conn), "head")
    ws.engine.dispose()
    assert ws.status("chair")[0].latest.signatures["SD"]["valid"] is True


def test_members_are_updated_by_officers_only(ws):
    ws.update_member("secretariat", "sspa", email="planner@sspa.gos.pk")
    assert ws.actor_for_email("planner@sspa.gos.pk").username == "sspa"
    with pytest.raises(ForbiddenError, match="chair or the secretariat"):
        ws.update_member("bisp", "sspa", role="chair")
    ws.update_member("chair", "wb", active=False)  # left the Committee: kept, but inactive
    with pytest.raises(ForbiddenError, match="no longer an active member"):
        ws.status("wb")
    assert {m["username"]: m["active"] for m in ws.members()}["wb"] is False
    with pytest.raises(WorkspaceError, match="cannot deactivate yourself"):
        ws.update_member("chair", "chair", active=False)
    ws.update_member("chair", "pdma", password="a new long password")
    assert ws.login("pdma", "a new long password").username == "pdma"
    assert [e["action"] for e in ws.audit("chair")].count("member.update") == 3
