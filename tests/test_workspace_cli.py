"""`madad workspace ...` end to end on the demo workspace (SQLite), through the CLI's own code."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from simulator.cli import app
from simulator.workspace.demo import DEMO_PASSWORD, DEMO_PLAN

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(app, ["workspace", "demo", "--folder", str(folder)])
    assert result.exit_code == 0, result.output
    return folder


def _madad(demo, user, *args, password=DEMO_PASSWORD):
    env = {"MADAD_DATABASE_URL": f"sqlite:///{demo / 'workspace.db'}", "MADAD_PASSWORD": password}
    return CliRunner().invoke(app, ["workspace", "--as", user, *args], env=env)


def test_the_demo_workspace_has_the_plan_submitted(demo):
    out = _madad(demo, "world-bank", "status", "--json")
    assert out.exit_code == 0, out.output
    [plan] = json.loads(out.output)
    assert plan["code"] == DEMO_PLAN and plan["state"] == "awaiting signatures"
    assert plan["versions"][0]["required"] == ["federal", "KP", "PB", "SD"]


def test_sign_verify_and_the_tracker(demo, tmp_path):
    out = _madad(demo, "sspa-sindh", "sign", DEMO_PLAN, "--key",
                 str(demo / "keys" / "sspa-sindh.key.pem"))
    assert out.exit_code == 0, out.output
    assert "signed indus-flood-demo version 1 for SD" in out.output
    assert "still to sign: federal, KP, PB" in out.output
    sigs = tmp_path / "signatures.json"
    out = _madad(demo, "chair", "status", DEMO_PLAN, "--signatures", str(sigs))
    assert out.exit_code == 0 and "SD (sspa-sindh)" in out.output
    out = CliRunner().invoke(app, ["workspace", "verify", str(sigs), "--run",
                                   str(demo / "runs" / f"{DEMO_PLAN}-v1")])
    assert out.exit_code == 0, out.output
    assert "valid: SD by sspa-sindh" in out.output
    out = _madad(demo, "ndma", "action", "list", "--overdue")
    assert out.exit_code == 0 and "1 action points, 1 overdue" in out.output
    assert "OVERDUE" in out.output


def test_refusals_exit_4(demo):
    out = _madad(demo, "world-bank", "review", DEMO_PLAN, "--request-changes", "no")
    assert out.exit_code == 4 and "observers may comment" in out.output
    out = _madad(demo, "bisp", "status", password="not the password")
    assert out.exit_code == 4 and "unknown member or wrong password" in out.output
    out = _madad(demo, "bisp", "meeting", "add", "2026-12-01", "A meeting")
    assert out.exit_code == 4 and "chair or the secretariat" in out.output


def test_backup_and_restore(demo, tmp_path):
    out = _madad(demo, "secretariat", "backup", str(tmp_path / "b.jsonl.gz"))
    assert out.exit_code == 0, out.output
    out = CliRunner().invoke(app, ["workspace", "restore", str(tmp_path / "b.jsonl.gz"), "--into",
                                   f"sqlite:///{tmp_path / 'copy.db'}"])
    assert out.exit_code == 0 and "verified" in out.output, out.output


def test_exports(demo, tmp_path):
    out = _madad(demo, "chair", "export", DEMO_PLAN, "--out",
                 str(tmp_path / "signed.xlsx"))
    assert out.exit_code == 0 and (tmp_path / "signed.xlsx").stat().st_size > 0, out.output
    out = _madad(demo, "ndma", "export", "--minutes", "--out", str(tmp_path / "minutes.pdf"))
    assert out.exit_code == 0 and (tmp_path / "minutes.pdf").read_bytes()[:4] == b"%PDF"


def test_a_committee_from_scratch(demo, database_url, tmp_path):
    """init, members, keys, submit, review, sign, status, meeting, action, backup: the CLI on
    an empty database of each kind."""
    from simulator.exchange.keys import keygen

    env = {"MADAD_DATABASE_URL": database_url, "MADAD_PASSWORD": "chair's long password"}

    def madad(*args, user="chair", input_=None):
        return CliRunner().invoke(app, ["workspace", "--as", user, *args], env=env, input=input_)

    out = madad("init", "--chair", "chair", "--organisation", "mopass")
    assert out.exit_code == 0 and "13 organisations" in out.output, out.output
    for username, org in (("bisp", "bisp"), ("sspa", "sspa-sindh")):
        out = madad("member", "add", username, "--organisation", org,
                    input_="chair's long password\nchair's long password\n")
        assert out.exit_code == 0, out.output
        keygen(org, tmp_path / "keys")
        out = madad("key", org, str(tmp_path / "keys" / f"{org}.identity.json"))
        assert out.exit_code == 0 and "key id" in out.output, out.output
    run = demo / "runs" / f"{DEMO_PLAN}-v1"
    out = madad("submit", str(run), "--plan", "flood", "--note", "first", user="bisp")
    assert out.exit_code == 0 and "needs signatures from federal, KP, PB, SD" in out.output
    assert madad("review", "flood", "--comment", "fine", user="sspa").exit_code == 0
    out = madad("sign", "flood", "--key", str(tmp_path / "keys" / "sspa-sindh.key.pem"), user="sspa")
    assert out.exit_code == 0 and "still to sign: federal, KP, PB" in out.output, out.output
    out = madad("status", "--json")
    [plan] = json.loads(out.output)
    assert plan["versions"][0]["signatures"]["SD"]["valid"] is True
    assert madad("meeting", "add", "2026-10-01", "Q4").exit_code == 0
    out = madad("action", "add", "Campsites", "--owner", "sspa-sindh", "--due", "2020-01-01")
    assert out.exit_code == 0
    out = madad("action", "list", "--overdue", user="sspa")
    assert "1 action points, 1 overdue" in out.output
    out = madad("audit", "--limit", "3")
    assert out.exit_code == 0 and "hash chain verified" in out.output
    assert madad("backup", str(tmp_path / "b.jsonl.gz")).exit_code == 0
