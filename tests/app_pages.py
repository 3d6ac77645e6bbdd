"""Helpers of the app's page tests (imported by tests/test_app*.py; not a test file)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from simulator.app.pages import FILES

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
#: Households of the small demo registry the page tests run on.
HOUSEHOLDS = 20_000
#: Settings the page tests clear, whatever the caller's environment holds.
ENV_NAMES = ("MADAD_BOUNDARIES", "MADAD_BOUNDARIES_LAYER", "MADAD_BOUNDARIES_CODE_COLUMN",
             "MADAD_BOUNDARIES_NAME_COLUMN", "MADAD_ROLE", "MADAD_MIN_CELL", "MADAD_CONFIG",
             "MADAD_REGISTRY", "MADAD_DATABASE_URL")


def app_env(monkeypatch):
    """A small demo registry, the default (minister) role, no boundary file and no config file
    (even if a madad.toml lies beside app.py); returns ``monkeypatch``."""
    monkeypatch.setenv("MADAD_DEMO_HOUSEHOLDS", str(HOUSEHOLDS))
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MADAD_CONFIG", "")
    return monkeypatch


def run_app(page: str | None = None) -> AppTest:
    """The app run once, then (if given) page ``page`` opened."""
    at = AppTest.from_file(str(APP), default_timeout=180)
    at.run()
    if page is not None:
        goto(at, page)
    return at


def goto(at: AppTest, page: str) -> AppTest:
    """Open the page registered under ``url_path=page``."""
    at.switch_page(str(FILES[page].relative_to(ROOT)))
    at.run()
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def open_page(name: str, scn, *, timeout: float = 180) -> AppTest:
    """Page ``name`` of the app (a key of ``simulator.app.pages.FILES``) with ``scn`` as the
    session's scenario and its library scenario, run once."""
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    at.session_state["active_scn"] = scn
    at.session_state["library_scn"] = scn
    at.switch_page(str(FILES[name].relative_to(ROOT)))
    at.run()
    return at


def ok(at: AppTest) -> None:
    """No exception and no error shown on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
