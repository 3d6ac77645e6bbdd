"""The app's Committee page (simulator/app/pages/committee.py): the Coordination Committee's
workspace, run headless with streamlit.testing on the demo workspace.

The demo workspace (:func:`simulator.workspace.demo.open_demo`: organisations, members, keys and
the demo plan submitted as version 1, a meeting and two action points, one overdue) is seeded
once per module (about 20 s) and copied for each test into its own folder
(``MADAD_DEMO_WORKSPACE``), so that every test starts from the same record. What the page did is
checked by reading the workspace directly (:class:`simulator.workspace.Workspace`).
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path

import pytest
from app_pages import ok
from streamlit.testing.v1 import AppTest

from simulator.app import text
from simulator.workspace import Workspace
from simulator.workspace.demo import DEMO_MEMBERS, DEMO_PASSWORD, DEMO_PLAN, open_demo

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
PAGE = "simulator/app/pages/committee.py"
DEMO = ROOT / "scenarios" / "indus-flood-demo.yaml"
ENV_NAMES = ("MADAD_DATABASE_URL", "MADAD_ROLE", "MADAD_MIN_CELL", "MADAD_REGISTRY",
             "MADAD_BOUNDARIES")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Path:
    """The demo workspace, seeded once for the module."""
    folder = tmp_path_factory.mktemp("committee") / "demo"
    open_demo(folder).close()
    return folder


@pytest.fixture
def folder(seeded, tmp_path, monkeypatch) -> Path:
    """This test's copy of the demo workspace, the one the page opens."""
    mine = tmp_path / "demo"
    shutil.copytree(seeded, mine)
    monkeypatch.setenv("MADAD_DEMO_WORKSPACE", str(mine))
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MADAD_CONFIG", "")
    return mine


@pytest.fixture
def ws(folder):
    """The test's workspace, read directly (as the CLI would)."""
    with Workspace(f"sqlite:///{folder / 'workspace.db'}") as w:
        yield w


@pytest.fixture(scope="module")
def second_run(seeded) -> Path:
    """A run folder of the demo with a higher transfer (a second version to submit)."""
    from simulator.plans import run as run_plan
    from simulator.publish import write_run
    from simulator.scenario import load, with_what_if

    out = seeded.parent / "runs" / "transfer-30000"
    scn = with_what_if(load(DEMO), transfer_pkr=30_000)
    write_run(run_plan(scn, base=DEMO.parent), out, scenario_path=DEMO)
    return out


def page(user: str | None = None, *, lang: str = "en") -> AppTest:
    """The Committee page, signed in as ``user`` (as the sign-in form leaves the session)."""
    at = AppTest.from_file(str(APP), default_timeout=120)
    if user is not None:
        at.session_state["committee_user"] = user
    at.session_state["lang"] = lang
    at.switch_page(PAGE)
    at.run()
    return at


def keys(at: AppTest, kind: str = "button") -> list[str]:
    return [w.key for w in at.get(kind) if w.key]


def shown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def tables(at: AppTest, column: str) -> list:
    """The tables with ``column``, in the page's order."""
    return [d.value for d in at.dataframe if column in d.value.columns]


def frame(at: AppTest, column: str):
    """The one table with ``column``."""
    found = tables(at, column)
    assert len(found) == 1, column
    return found[0]


def password_input(at: AppTest):
    return next(t for t in at.text_input if t.label == text.text("en", "cm_password"))


# --- sign-in --------------------------------------------------------------------------------------


def test_sign_in_form_and_demo_banner(folder):
    at = page()
    ok(at)
    assert at.title[0].value == "Committee"
    banner = "\n".join(i.value for i in at.info)
    assert "Demo workspace" in banner and DEMO_PASSWORD in banner
    for username, *_ in DEMO_MEMBERS:
        assert f"`{username}`" in banner
    assert "Sindh Social Protection Authority (SSPA), member" in banner  # organisation, role
    assert keys(at) == ["cm_login_submit"]  # only the form: no tabs before signing in
    assert not at.tabs and not at.metric
    assert "Sign in with your organisation" not in [b.label for b in at.button]  # no [auth]


def test_wrong_password_is_refused_then_the_right_one_signs_in(folder):
    at = page()
    at.text_input(key="cm_login_username").set_value("sspa-sindh")
    password_input(at).set_value("not-the-password")
    at.button(key="cm_login_submit").click().run()
    assert not at.exception
    assert any("unknown member or wrong password" in e.value for e in at.error)
    assert "committee_user" not in at.session_state

    at.text_input(key="cm_login_username").set_value("sspa-sindh")
    password_input(at).set_value(DEMO_PASSWORD)
    at.button(key="cm_login_submit").click().run()
    ok(at)
    assert at.session_state["committee_user"] == "sspa-sindh"
    assert [s.value for s in at.success] == ["Signed in as SSPA Sindh planner (demo)."]
    assert "awaiting signatures" in shown(at)
    assert [t.label for t in at.tabs] == ["Plans", "Compare versions", "Meetings", "Action tracker"]
    assert DEMO_PASSWORD not in repr(at.session_state)  # the password is not kept

    at.button(key="cm_sign_out").click().run()
    ok(at)
    assert "committee_user" not in at.session_state
    assert "cm_login_submit" in keys(at)


def test_identity_provider_email_maps_to_a_member(folder, ws):
    ws.add_member("chair", {"username": "sd-oidc", "name": "SSPA planner (OIDC)",
                            "organisation": "sspa-sindh", "role": "member", "view": "planner",
                            "email": "planner@sspa.example"})
    auth = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
            "client_id": "madad", "client_secret": "secret",
            "server_metadata_url": "https://idp.example/.well-known/openid-configuration"}
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.secrets["auth"] = auth
    at.user = {"is_logged_in": True, "email": "planner@sspa.example"}
    at.switch_page(PAGE)
    at.run()
    ok(at)
    assert at.session_state["committee_user"] == "sd-oidc"
    assert "`sd-oidc`" in shown(at)

    stranger = AppTest.from_file(str(APP), default_timeout=120)
    stranger.secrets["auth"] = auth
    stranger.user = {"is_logged_in": True, "email": "someone@else.example"}
    stranger.switch_page(PAGE)
    stranger.run()
    assert any("not the e-mail of any member" in e.value for e in stranger.error)
    assert "committee_user" not in stranger.session_state
    assert "cm_login_submit" in keys(stranger)  # the local form stays available
    if importlib.util.find_spec("authlib") is None:  # st.login needs it: said, not offered
        assert any("Authlib" in w.value for w in stranger.warning)
        assert "cm_oidc_0" not in keys(stranger)
    else:
        assert stranger.button(key="cm_oidc_0").label == "Sign in with your organisation"


# --- plans ----------------------------------------------------------------------------------------


def test_sindh_signs_with_the_demo_key(folder, ws):
    at = page("sspa-sindh")
    ok(at)
    assert "awaiting signatures" in shown(at)
    assert "Approve and sign for Sindh" in [b.label for b in at.button]
    at.button(key=f"cm_demo_sign_{DEMO_PLAN}").click().run()
    ok(at)
    assert [s.value for s in at.success] == [f"Sindh signed {DEMO_PLAN} version 1."]
    status = ws.status("chair", DEMO_PLAN)[0].latest
    assert status.signatures["SD"]["valid"] and status.signatures["SD"]["member"] == "sspa-sindh"
    assert "SD" not in status.missing
    assert f"cm_demo_sign_{DEMO_PLAN}" not in keys(at)  # signed: nothing more to sign
    sigs = frame(at, "Signed by")
    assert sigs["For"].tolist() == ["Sindh"] and sigs["Signature"].tolist() == ["valid"]
    assert "Still to sign: Federal government, Khyber Pakhtunkhwa, Punjab" in shown(at)


def test_punjab_signs_with_an_uploaded_key_left_nowhere(folder, ws):
    before = set(Path(tempfile.gettempdir()).glob("madad-key-*"))
    at = page("pspa-punjab")
    wrong = (folder / "keys" / "sspa-sindh.key.pem").read_bytes()
    at.file_uploader[0].set_value(
        ("sspa-sindh.key.pem", wrong, "application/x-pem-file"))
    at.button(key=f"cm_approve_send_{DEMO_PLAN}").click().run()
    assert not at.exception and at.error  # another organisation's key is refused
    assert "PB" not in ws.status("chair", DEMO_PLAN)[0].latest.signatures

    right = (folder / "keys" / "pspa-punjab.key.pem").read_bytes()
    at.file_uploader[0].set_value(
        ("pspa-punjab.key.pem", right, "application/x-pem-file"))
    at.button(key=f"cm_approve_send_{DEMO_PLAN}").click().run()
    ok(at)
    assert [s.value for s in at.success] == [f"Punjab signed {DEMO_PLAN} version 1."]
    assert ws.status("chair", DEMO_PLAN)[0].latest.signatures["PB"]["valid"]
    assert set(Path(tempfile.gettempdir()).glob("madad-key-*")) == before  # the key is gone


def test_observer_sees_no_approve_household_or_submit_control(folder):
    at = page("world-bank")
    ok(at)
    assert "awaiting signatures" in shown(at)
    for prefix in ("cm_approve_send", "cm_demo_sign", "cm_households", "cm_submit_send",
                   "cm_add_send", "cm_update_send", "cm_meeting_send", "cm_minutes_send"):
        assert not any(k.startswith(prefix) for k in keys(at)), prefix
    # an observer may comment, not request changes
    assert at.radio(key=f"cm_review_kind_{DEMO_PLAN}").options == ["comment"]


def test_a_review_is_recorded(folder, ws):
    at = page("pspa-punjab")
    at.radio(key=f"cm_review_kind_{DEMO_PLAN}").set_value("request_changes")
    at.text_area(key=f"cm_review_text_{DEMO_PLAN}").set_value("Raise the transfer in Punjab.")
    at.button(key=f"cm_review_send_{DEMO_PLAN}").click().run()
    ok(at)
    plan = ws.status("chair", DEMO_PLAN)[0]
    assert plan.state == "changes requested"
    assert plan.latest.reviews[-1]["text"] == "Raise the transfer in Punjab."
    assert "changes requested" in shown(at) and "pspa-punjab" in shown(at)


def test_planner_gets_their_own_households(folder, ws):
    at = page("sspa-sindh")
    at.button(key=f"cm_households_{DEMO_PLAN}").click().run()
    ok(at)
    table = ws.household_list("sspa-sindh", DEMO_PLAN)
    assert len(table) > 0 and set(table["province_code"].astype(str)) == {"SD"}
    assert f"**{len(table):,}** households that sspa-sindh pays" in shown(at)
    by_district = frame(at, "District code")
    assert sum(int(n.replace(",", "")) for n in by_district["Households"]) == len(table)
    download = at.get("download_button")
    assert [d.label for d in download] == [
        f"Download {DEMO_PLAN}-v1-sspa-sindh-households.csv"]


# --- versions -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_new_version_is_submitted_and_compared(folder, ws, second_run):
    # the demo takes run folders from its own runs/ only
    second_run = shutil.copytree(second_run, folder / "runs" / second_run.name)
    at = page("bisp")
    assert any("No plan has two versions" in i.value for i in at.info)
    ws.submit("bisp", second_run, plan=DEMO_PLAN, note="meanwhile")  # someone else, meanwhile
    at.text_input(key=f"cm_submit_folder_{DEMO_PLAN}").set_value(str(second_run))
    at.button(key=f"cm_submit_send_{DEMO_PLAN}").click().run()
    assert any("someone submitted a version meanwhile" in e.value for e in at.error)
    assert ws.status("chair", DEMO_PLAN)[0].latest.number == 2  # nothing stacked on it

    at = page("bisp")
    ok(at)
    assert at.selectbox(key=f"cm_compare_a_{DEMO_PLAN}").value == 1
    assert at.selectbox(key=f"cm_compare_b_{DEMO_PLAN}").value == 2
    policy = frame(at, "Field")
    assert "30000" in policy.loc[policy["Field"].str.contains("transfer"), "Version 2"].tolist()
    totals = frame(at, "Figure").set_index("Figure")
    diff = ws.diff("chair", DEMO_PLAN, 1, 2)
    amount = next(r for r in diff["totals"] if r["figure"] == "amount_pkr")
    assert totals.loc["Amount", "Change"] == f"+PKR {amount['change']:,}"
    provinces, districts = tables(at, "Amount: change")
    assert set(provinces["Code"]) == {r["province_code"] for r in diff["provinces"]}
    assert "Amount: change" in provinces.columns
    assert "Households paid: change" not in provinces.columns  # the same households are paid
    assert districts["Code"].tolist() == [r["district_id"] for r in diff["districts"]]

    at.selectbox(key=f"cm_compare_a_{DEMO_PLAN}").set_value(2).run()
    assert any("two different versions" in i.value for i in at.info)


# --- meetings and the action tracker --------------------------------------------------------------


def test_the_tracker_shows_one_overdue_item(folder):
    at = page("sspa-sindh")
    ok(at)
    assert {m.label: m.value for m in at.metric}["Overdue"] == "1"
    table = frame(at, "Action point")
    late = table[table["Overdue"] != ""]
    assert late["Owner"].tolist() == ["pdma-sindh"] and late["Overdue"].iloc[0].endswith("7 days")
    assert "cm_update_send" not in keys(at)  # sspa-sindh owns no action point
    assert "cm_add_send" not in keys(at)


def test_the_owner_updates_an_action_point_once(folder, ws):
    at = page("pdma-sindh")
    status = next(s for s in keys(at, "selectbox") if s.startswith("cm_update_status"))
    ws.update_action("chair", 1, "in_progress", "by the chair, meanwhile")
    at.selectbox(key=status).set_value("done")
    at.button(key="cm_update_send").click().run()
    assert any("updated by someone else meanwhile" in e.value for e in at.error)
    assert ws.actions("chair")[0].status == "in_progress"

    at = page("pdma-sindh")
    status = next(s for s in keys(at, "selectbox") if s.startswith("cm_update_status"))
    at.selectbox(key=status).set_value("done")
    at.button(key="cm_update_send").click().run()
    ok(at)
    assert [s.value for s in at.success] == ["Action point #1 is now done."]
    assert {m.label: m.value for m in at.metric}["Overdue"] == "0"


def test_an_officer_adds_an_action_point_and_a_meeting(folder, ws):
    at = page("chair")
    ok(at)
    at.text_input(key="cm_add_title").set_value("NDMA to share the flood extent")
    at.selectbox(key="cm_add_owner").set_value("ndma")
    at.selectbox(key="cm_add_meeting").set_value(1)
    at.button(key="cm_add_send").click().run()
    ok(at)
    added = max(ws.actions("chair"), key=lambda a: a.id)
    meeting = "Coordination Committee, quarterly meeting (demo)"
    assert (added.title, added.owner, added.meeting) == (
        "NDMA to share the flood extent", "ndma", meeting)
    assert [s.value for s in at.success] == [f"Action point #{added.id} added, owned by ndma."]
    assert "NDMA to share the flood extent" in frame(at, "Action point")["Action point"].tolist()

    at.text_input(key="cm_meeting_title").set_value("Extraordinary meeting on the floods")
    at.text_area(key="cm_meeting_agenda").set_value("1. Sign the plan")
    at.button(key="cm_meeting_send").click().run()
    ok(at)
    titles = [m["title"] for m in ws.meetings("chair")]
    assert "Extraordinary meeting on the floods" in titles


def test_minutes_are_saved_with_a_revision_check(folder, ws):
    at = page("secretariat")
    box = next(t for t in keys(at, "text_area") if t.startswith("cm_minutes_text_1_"))
    at.text_area(key=box).set_value("Sindh signed; Punjab to review by Friday.")
    at.button(key="cm_minutes_send").click().run()
    ok(at)
    assert ws.meetings("chair")[0]["minutes"] == "Sindh signed; Punjab to review by Friday."

    box = next(t for t in keys(at, "text_area") if t.startswith("cm_minutes_text_1_"))
    ws.record_minutes("chair", 1, "The chair's version.")  # saved by someone else meanwhile
    at.text_area(key=box).set_value("Mine.")
    at.button(key="cm_minutes_send").click().run()
    assert any("saved by someone else meanwhile" in e.value for e in at.error)
    assert ws.meetings("chair")[0]["minutes"] == "The chair's version."


def test_the_page_in_urdu(folder):
    at = page("sspa-sindh", lang="ur")
    ok(at)
    assert at.title[0].value == text.text("ur", "page_committee")
    assert text.text("ur", "cm_state_awaiting_signatures") in shown(at)
    assert [t.label for t in at.tabs][0] == text.text("ur", "cm_tab_plans")


def test_a_workspace_by_url_is_no_demo(folder, tmp_path, monkeypatch):
    monkeypatch.setenv("MADAD_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    at = page()
    ok(at)
    assert not any("Demo workspace" in i.value for i in at.info)
    assert any("no members yet" in i.value for i in at.info)

    monkeypatch.setenv("MADAD_DATABASE_URL", f"sqlite:///{folder / 'workspace.db'}")
    at = page()
    ok(at)
    assert not at.info  # a real workspace: no banner, no password on the page
    at.text_input(key="cm_login_username").set_value("sspa-sindh")
    password_input(at).set_value(DEMO_PASSWORD)
    at.button(key="cm_login_submit").click().run()
    ok(at)
    assert at.session_state["committee_user"] == "sspa-sindh"
    assert f"cm_approve_send_{DEMO_PLAN}" in keys(at)  # signing with the organisation's key file
    assert f"cm_demo_sign_{DEMO_PLAN}" not in keys(at)  # and no demo key
