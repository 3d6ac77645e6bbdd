"""Every role's pages in a real browser: for the minister, the planner and the disaster
management authority, ``streamlit run app.py`` with ``MADAD_ROLE`` set, each page of the role's
navigation (:func:`simulator.app.pages.pages_of`, plus Committee) opened in Chromium, a
screenshot of each kept in the test's tmp folder (``<role>-<page>.png``), and no exception
shown and no empty map (the role's first map page is waited for and checked).

One Streamlit server per role (the role is fixed at start-up, so the three are started
together) and one Chromium for all three: its tab visits one role's pages while a second,
hidden tab opens the next role's landing page, so that its server computes the plan
meanwhile. The first page is opened by its URL, the others by clicking the navigation's links,
as a visitor would. Reuses the Chromium helpers of ``tests/test_browser.py`` (skips when
Chromium is absent).

Timing (two cores, Chromium's software WebGL): 10 to 20 s to draw each map page, 60 s for the
first role's first page (its plan computed); the three roles took 4 min 50 s (minister 137 s,
planner 85 s, authority 50 s, as the warming tab lets the later servers start early).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import time
import urllib.request

import numpy as np
import pytest
from test_browser import (
    CHROMIUM_FLAGS,
    HOUSEHOLDS,
    PAGE_STATE,
    DevTools,
    chromium_path,
    free_port,
    start_streamlit,
    stop,
    wait_for,
)

from simulator.app import text
from simulator.app.pages import pages_of

pytestmark = pytest.mark.slow

ROLES = ("minister", "planner", "authority")
#: The browser's window [CSS pixels].
WIDTH, HEIGHT = 1100, 850
#: Pages that draw a deck.gl map, whose canvas must not be empty.
MAP_PAGES = frozenset({"overview", "map", "delivery", "authority"})
#: Words on a page that mean something broke (Streamlit's exception box is checked apart).
BROKEN = ("Traceback", "Something went wrong", "Error running app")
#: The page's own title (the navigation names every page, so the body's text cannot tell).
MAIN_TITLE = "(() => { const h = document.querySelector('[data-testid=\"stMain\"] h1'); return h ? h.innerText.trim() : null; })()"
#: The canvas, scrolled into view, and its box on the screen [CSS pixels].
CANVAS_BOX = """(() => {
  const c = document.querySelector('[data-testid="stDeckGlJsonChart"] canvas');
  if (!c) return null;
  c.scrollIntoView({block: 'center'});
  const r = c.getBoundingClientRect();
  return {x: r.x, y: r.y, width: r.width, height: r.height};
})()"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """(DevTools of the visiting tab, DevTools of the warming tab, role -> base URL): Chromium
    and the three servers, started at once and stopped after the module's tests."""
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium is not installed (`apt-get install -y chromium`; `make test` installs it)")
    pytest.importorskip("websockets", reason="websockets (a Streamlit dependency) drives Chromium")
    folder = tmp_path_factory.mktemp("roles")
    port = free_port()
    with contextlib.ExitStack() as stack:
        proc = subprocess.Popen(
            [path, *CHROMIUM_FLAGS, f"--user-data-dir={folder / 'chromium'}", f"--remote-debugging-port={port}",
             f"--window-size={WIDTH},{HEIGHT}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        stack.callback(stop, proc)
        bases = {role: stack.enter_context(served(role, folder, folder / f"streamlit-{role}.log")) for role in ROLES}
        endpoint = f"http://127.0.0.1:{port}/json"
        tabs = wait_for(lambda: json.load(urllib.request.urlopen(endpoint, timeout=2)), 30,
                        "Chromium's DevTools endpoint")
        page = next(t for t in tabs if t.get("type") == "page")
        spare = json.load(urllib.request.urlopen(urllib.request.Request(f"{endpoint}/new?about:blank", method="PUT"),
                                                 timeout=10))
        tools = stack.enter_context(DevTools(page["webSocketDebuggerUrl"]))
        warm = stack.enter_context(DevTools(spare["webSocketDebuggerUrl"]))
        tools.call("Target.activateTarget", targetId=page["id"])
        tools.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT, deviceScaleFactor=1,
                   mobile=False)
        yield tools, warm, bases


@contextlib.contextmanager
def served(role: str, folder, log_path):
    """The app's base URL: ``streamlit run app.py`` as ``role`` on the small demo registry,
    no boundary or config file, and an empty Committee workspace (a SQLite file in ``folder``:
    the demo workspace takes a minute to seed); stopped after."""
    port = free_port()
    env = dict(os.environ, MADAD_DEMO_HOUSEHOLDS=str(HOUSEHOLDS), MADAD_CONFIG="", MADAD_ROLE=role,
               MADAD_DATABASE_URL=f"sqlite:///{folder / 'workspace.db'}",
               STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    for name in ("MADAD_BOUNDARIES", "MADAD_REGISTRY", "MADAD_MIN_CELL"):
        env.pop(name, None)
    server = None
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        try:
            server, base = start_streamlit(env, port, log, f"the {role}'s Streamlit server")
            yield base
        finally:
            stop(server)


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
        wait_for(lambda: (s := tools.evaluate(PAGE_STATE)) and not s["running"] and s["deckWidth"] > 0,
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
    """Open ``page`` by its URL and wait for its title (and its map's canvas) with nothing
    running; returns the page's state (:data:`test_browser.PAGE_STATE`)."""
    link = f'[data-testid="stSidebarNav"] a[href$="/{page}"]'
    clicked = page != landing and tools.evaluate(
        f"(() => {{ const a = document.querySelector('{link}'); if (a) a.click(); return !!a; }})()")
    if not clicked:  # the landing page, or no link to click: open it by its URL
        tools.call("Page.navigate", url=base + ("/" if page == landing else f"/{page}"))
    title = title_of(page)

    def rendered():
        state = tools.evaluate(PAGE_STATE)
        if not state or state["running"] or tools.evaluate(MAIN_TITLE) != title:
            return None
        if any(word in state["text"] for word in BROKEN) or state["exception"]:
            return state  # broken: report it now
        if map_page and not (state["deckCanvas"] and state["deckWidth"] > 0):
            return None
        return state

    return wait_for(rendered, timeout, f"the {page} page ({title!r})", interval=0.5)


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_the_role_renders_in_chromium(browser, role, tmp_path):
    tools, warm, bases = browser
    later = ROLES[ROLES.index(role) + 1:]
    if later:  # the next role's server computes its plan while this role's pages are drawn
        warm.call("Page.navigate", url=bases[later[0]] + "/")
    pages = [*pages_of(role), "committee"]
    # the role's first map (its landing page's for every role) is waited for and checked; the
    # others are drawn by the same code, checked in detail by test_browser_maps.py, and shot as
    # they are when their page has rendered (each map costs 10-20 s of software WebGL here)
    first_map = next(p for p in pages if p in MAP_PAGES)
    started = time.monotonic()
    seen = {}
    for i, page in enumerate(pages):
        t0 = time.monotonic()
        state = visit(tools, bases[role], page, pages[0], 300 if i == 0 else 120, map_page=page == first_map)
        assert not state["exception"], f"{role}/{page}: Streamlit's exception box"
        broken = [word for word in BROKEN if word in state["text"]]
        assert not broken, f"{role}/{page}: {broken}"
        out = tmp_path / f"{role}-{page}.png"
        drawn, coloured = screenshot(tools, out, map_page=page == first_map)
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
