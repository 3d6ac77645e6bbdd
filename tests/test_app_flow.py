"""The app's flow (issue 15, "Flow"), run headless with streamlit.testing on a 20,000-household
demo registry: a scenario's run opens the Summary with its headline; "Back to the scenario's
policy" shows only when there is something to go back from; "Plan computed in" only on the run
that computed the plan; a download that cannot be written is an error, never a file; an upload
replaced by another leaves one file in the session's folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from app_pages import HOUSEHOLDS, app_env, goto, metrics, ok, run_app
from streamlit.testing.v1 import AppTest

from hazards.errors import DownloadError
from hazards.layer import make_layer
from simulator import plans, scenario
from simulator.app import loaders, settings, text
from simulator.app.pages import downloads as downloads_page

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
DEMO = ROOT / "scenarios" / "indus-flood-demo.yaml"


@pytest.fixture
def env(monkeypatch):
    """A small demo registry, the default (minister) role and no boundary file."""
    return app_env(monkeypatch)


@pytest.fixture
def planner(env):
    env.setenv("MADAD_ROLE", "planner")
    return env


def has_reset(at: AppTest) -> bool:
    return any(b.key == "quick_reset" for b in at.button)


def computed_captions(at: AppTest) -> list[str]:
    return [c.value for c in at.sidebar.caption if c.value.startswith("Plan computed in")]


def geotiff(tmp_path: Path, depth_m: float) -> bytes:
    """A 30 x 30 flood-depth GeoTIFF over lower Sindh, ``depth_m`` deep at most."""
    from hazards.io import write_geotiff

    yy, xx = np.mgrid[0:30, 0:30]
    depth = np.clip(depth_m - np.abs(yy - xx) * 0.2, 0, None).astype(np.float32)
    layer = make_layer(depth, Affine(0.1, 0, 67.5, 0, -0.1, 27.5), "EPSG:4326", units="m",
                       kind="riverine-flood", provenance={"test": depth_m})
    return write_geotiff(layer, tmp_path / f"flood-{depth_m:g}.tif").read_bytes()


# --- 1. a run opens the Summary with the new headline ---------------------------------------------


def test_running_a_scenario_opens_the_summary_with_its_headline(planner):
    pick = "tharparkar-drought"
    at = run_app("scenario")
    at.selectbox(key="lib_pick").set_value(pick).run()
    at.button(key="run_scenario_top").click().run()
    ok(at)
    assert at.title[0].value == text.text("en", "app_title")  # the Summary page
    assert any("Tharparkar" in s.value for s in at.success)  # "Done: now showing ..."
    want = plans.run(scenario.load(ROOT / "scenarios" / f"{pick}.yaml"), base=DEMO.parent,
                     households=HOUSEHOLDS).plan["totals"]
    assert metrics(at)["Households paid"] == f"{want['paid_households']:,}"
    assert metrics(at)["Affected households"] == f"{want['affected_households']:,}"
    at.run()  # the note is said once
    assert not any("Tharparkar" in s.value for s in at.success)


def test_a_failed_run_stays_on_the_scenario_page(env):
    at = run_app("scenario")
    tid = "lib:indus-flood-demo"
    at.number_input(key=f"pol/{tid}/0/affected").set_value(30_000)
    at.number_input(key=f"pol/{tid}/0/severely_affected").set_value(10_000)
    at.button(key="run_scenario").click().run()
    assert not at.exception
    assert at.title[0].value == text.text("en", "page_scenario")
    assert any("not valid" in e.value for e in at.error)


# --- 2. "Back to the scenario's policy" only when something changed -------------------------------


def test_back_to_the_policy_only_after_a_what_if(env):
    at = run_app()
    ok(at)
    assert not has_reset(at)
    at.number_input(key="transfer_pkr").set_value(31_000).run()
    ok(at)
    assert has_reset(at)
    at.button(key="quick_reset").click().run()
    ok(at)
    assert not has_reset(at)
    assert at.number_input(key="transfer_pkr").value != 31_000


def test_back_to_the_policy_after_an_edit_in_the_policy_editor(env):
    at = run_app("scenario")
    at.button(key="run_scenario").click().run()  # the library's policy, unchanged
    ok(at)
    assert not has_reset(at)
    demo = at.session_state["library_scn"]
    goto(at, "scenario")
    at.number_input(key="pol/lib:indus-flood-demo/0/affected").set_value(27_000)
    at.button(key="run_scenario").click().run()
    ok(at)
    assert at.session_state["active_scn"] != demo
    assert "edited" in at.subheader[0].value
    assert has_reset(at)
    at.button(key="quick_reset").click().run()
    ok(at)
    assert at.session_state["active_scn"] == demo
    assert "edited" not in at.subheader[0].value
    assert not has_reset(at)


# --- 3. "Plan computed in" only when the plan was computed ---------------------------------------


def test_computed_in_only_when_the_plan_was_computed(env):
    at = run_app()
    ok(at)
    at.run()  # the same plan again: from the cache
    ok(at)
    assert computed_captions(at) == []
    at.number_input(key="transfer_pkr").set_value(23_457).run()  # a plan no test has asked for
    ok(at)
    assert len(computed_captions(at)) == 1
    goto(at, "plan")  # the same plan on another page: from the cache
    ok(at)
    assert computed_captions(at) == []


# --- 4. a download that cannot be written ---------------------------------------------------------


def test_a_failed_download_is_an_error_and_no_button(planner):
    at = run_app("downloads")
    ok(at)
    buttons = {b.key for b in at.get("download_button")}
    assert {"download_xlsx", "download_json"} <= buttons

    def broken(*args, **kwargs):
        raise RuntimeError("the exporter ran out of disk")

    # what the browser's click does: Streamlit calls the button's deferred builder
    scn, library = at.session_state["active_scn"], at.session_state["library_scn"]
    cfg = settings.load_settings(os.environ, ROOT)
    source = loaders.registry_source(scn, cfg)
    key = downloads_page.plan_key(scn, source, library, None)
    failed = at.session_state["download_failed"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(loaders, "make_file", broken)
        with pytest.raises(DownloadError):  # no bytes: Streamlit serves no file
            downloads_page.build(failed, key, "xlsx",
                                 lambda: loaders.make_file("xlsx", scn, source, cfg, None, library))
        at.run()
    assert not at.exception
    said = "plan.xlsx could not be written: the exporter ran out of disk"
    assert any(said in e.value for e in at.error)
    buttons = {b.key for b in at.get("download_button")}
    assert "download_xlsx" not in buttons and "download_json" in buttons
    at.button(key="download_retry_xlsx").click().run()
    assert not at.error
    assert "download_xlsx" in {b.key for b in at.get("download_button")}


# --- 5. uploads: one folder per session, one file per upload --------------------------------------


def test_a_replaced_upload_leaves_one_file_in_the_sessions_folder(env, tmp_path):
    at = run_app("scenario")
    at.radio(key="src").set_value("upload").run()
    uploader = at.file_uploader(key="up_hazard")
    uploader.set_value(("first.tif", geotiff(tmp_path, 2.0), "image/tiff")).run()
    ok(at)
    folder = at.session_state["upload_dir"].path
    assert folder.parent == loaders.UPLOAD_DIR
    assert [str(p) for p in folder.iterdir()] == [at.session_state["hazard_file"]["path"]]
    uploader = at.file_uploader(key="up_hazard")
    uploader.set_value(("second.tif", geotiff(tmp_path, 3.0), "image/tiff")).run()
    ok(at)
    files = list(folder.iterdir())
    assert len(files) == 1 and files[0].name.endswith("second.tif")
    assert str(files[0]) == at.session_state["hazard_file"]["path"]


def test_old_session_folders_are_swept(env, tmp_path):
    root = tmp_path / "uploads"
    old, new = root / "old-session", root / "new-session"
    for folder in (old, new):
        folder.mkdir(parents=True)
        (folder / "hazard_file-x.tif").write_bytes(b"x")
    stale = loaders.UPLOAD_MAX_AGE_H * 3600 + 60
    os.utime(old, (old.stat().st_atime - stale, old.stat().st_mtime - stale))
    env.setattr(loaders, "UPLOAD_DIR", root)
    assert loaders.sweep_old_uploads.__wrapped__() == 1
    assert not old.exists() and new.exists()
