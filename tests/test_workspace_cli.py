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
