"""Helpers of the app's page tests (imported by tests/test_app*.py; not a test file)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from simulator.app.pages import FILES

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"


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
