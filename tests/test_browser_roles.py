"""Every role's pages in a real browser: for the minister, the planner and the disaster
management authority, ``streamlit run app.py`` with ``MADAD_ROLE`` set, each page of the role's
navigation (:func:`simulator.app.pages.pages_of`, plus Committee) opened in Chromium, a
screenshot of each kept in the test's tmp folder (``<role>-<page>.png``), and no exception
shown and no empty map (each map page's map is waited for and checked in at least one role,
:data:`CHECKED_MAPS`).

The servers and the browser are the session's ``role_browser`` fixture (``tests/conftest.py``,
:func:`test_browser.role_servers`, shared with the Urdu test): one Streamlit server per role
(the role is fixed at start-up, so the three are started together) and one Chromium. Its tab
visits one role's pages while a second tab opens the next role's landing page, so that its
server computes the plan meanwhile. The first page is opened by its URL, the others by clicking
the navigation's links, as a visitor would; each is read once it has settled
(:func:`test_browser.settled`: its heading, nothing stale, no progress bar, its words still
for a second). Skips when Chromium is absent.

Timing (two cores, Chromium's software WebGL): 10 to 20 s to draw each map page; the three
roles took 89 s here on 2026-12-01 (minister 36 s with its plan computed, planner 26 s,
authority 20 s).
"""

from __future__ import annotations

import base64
import time

import numpy as np
import pytest
from test_browser import CANVAS_BOX, ROLES, SETTLE_STATE, settled, wait_for

from simulator.app import text
from simulator.app.pages import pages_of

pytestmark = pytest.mark.slow

#: Pages that draw a deck.gl map, whose canvas must not be empty.
MAP_PAGES = frozenset({"overview", "map", "delivery", "authority"})
#: The map pages whose maps are waited for and checked, by role: each role's landing map, and
#: every map page (Summary, Map, Delivery, Response) of some role, the minister's published sites
#: and the planner's catchments among them.
CHECKED_MAPS = {"minister": {"overview", "delivery"}, "planner": {"overview", "map", "delivery"},
                "authority": {"authority"}}
assert set().union(*CHECKED_MAPS.values()) == MAP_PAGES
#: Words on a page that mean something broke (Streamlit's exception box is checked apart).
BROKEN = ("Traceback", "Something went wrong", "Error running app")


def title_of(page: str) -> str:
    return text.text("en", "app_title" if page == "overview" else f"page_{page}")


def screenshot(tools, out, *, map_page: bool) -> tuple[float, float]:
    """A screenshot of the page written to ``out`` (the map scrolled into view on a map page)
    and, on a map page, (share of the canvas's pixels that differ from its most common colour,
    share in colour: the hazard, symbols or sites, not the grey outlines); (1, 1) elsewhere."""
    from PIL import Image

    if not map_page:
        out.write_bytes(base64.b64decode(tools.call("Page.captureScreenshot", format="png")["data"]))
        return 1.0, 1.0
    drawn = coloured = 0.0
    for _ in range(3):  # the Summary reruns once when the ensemble's ranges arrive: look again
        wait_for(lambda: (s := tools.evaluate(SETTLE_STATE)) and not s["running"] and s["deck"],
                 60, "the map's canvas")
        tools.evaluate(CANVAS_BOX)
        time.sleep(1.5)  # scrolled into view: let deck.gl draw its frames
        box = tools.evaluate(CANVAS_BOX)
        if box is None:
            continue
        out.write_bytes(base64.b64decode(tools.call("Page.captureScreenshot", format="png")["data"]))
        with Image.open(out) as im:
            x0, y0 = max(int(box["x"]), 0), max(int(box["y"]), 0)
            x1, y1 = min(int(box["x"] + box["width"]), im.width), min(int(box["y"] + box["height"]), im.height)
            pixels = np.asarray(im.convert("RGB"))[y0:y1, x0:x1].reshape(-1, 3).astype(int)
        _, counts = np.unique(pixels, axis=0, return_counts=True)
        drawn = 1.0 - counts.max() / max(len(pixels), 1)
        coloured = float(((pixels.max(axis=1) - pixels.min(axis=1)) > 40).mean()) if len(pixels) else 0.0
        if drawn > 0.02 and coloured > 0.002:
            break
    return drawn, coloured


def visit(tools, base: str, page: str, landing: str, timeout: float, *, map_page: bool) -> dict:
    """Open ``page`` (by clicking its link in the navigation, or by its URL for the landing
    page) and wait until it has settled (:func:`test_browser.settled`), its map's canvas drawn
    on a map page; returns the page's state (:data:`test_browser.SETTLE_STATE`)."""
    link = f'[data-testid="stSidebarNav"] a[href$="/{page}"]'
    clicked = page != landing and tools.evaluate(
        f"(() => {{ const a = document.querySelector('{link}'); if (a) a.click(); return !!a; }})()")
    if not clicked:  # the landing page, or no link to click: open it by its URL
        tools.call("Page.navigate", url=base + ("/" if page == landing else f"/{page}"))
    return settled(tools, title_of(page), timeout, deck=map_page)


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_the_role_renders_in_chromium(role_browser, role, tmp_path):
    tools, warm, bases = role_browser
    later = ROLES[ROLES.index(role) + 1:]
    if later:  # the next role's server computes its plan while this role's pages are drawn
        warm.call("Page.navigate", url=bases[later[0]] + "/")
    pages = [*pages_of(role), "committee"]
    # the maps of CHECKED_MAPS are waited for and checked: every map page once over the three
    # roles, each role's landing map; the others are shot as they are when their page has
    # rendered (each map costs 10-20 s of software WebGL here)
    checked = CHECKED_MAPS[role]
    started = time.monotonic()
    seen = {}
    for i, page in enumerate(pages):
        t0 = time.monotonic()
        state = visit(tools, bases[role], page, pages[0], 300 if i == 0 else 120, map_page=page in checked)
        assert not state["exception"], f"{role}/{page}: Streamlit's exception box"
        broken = [word for word in BROKEN if word in state["text"]]
        assert not broken, f"{role}/{page}: {broken}"
        out = tmp_path / f"{role}-{page}.png"
        drawn, coloured = screenshot(tools, out, map_page=page in checked)
        assert out.stat().st_size > 20_000, f"{role}/{page}: a blank screenshot"
        assert drawn > 0.02 and coloured > 0.002, \
            f"{role}/{page}: an empty map ({drawn:.1%} drawn, {coloured:.2%} in colour)"
        seen[page] = (state["text"], time.monotonic() - t0)
    # what each role sees: the authority lands on Response, with exact figures; the minister's
    # Response is from the published plan; only a planner has the household list
    if role == "authority":
        assert "Exact figures" in seen["authority"][0]
    elif role == "minister":
        assert "Published figures" in seen["authority"][0]
    assert (text.text("en", "dl_csv") in seen["downloads"][0]) == (role == "planner")
    timings = ", ".join(f"{page} {v[1]:.0f} s" for page, v in seen.items())
    print(f"{role}: {time.monotonic() - started:.0f} s; {timings}")  # noqa: T201 - the test's own timing
