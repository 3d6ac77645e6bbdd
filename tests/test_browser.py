"""The app in a real browser: ``streamlit run app.py`` on a free port, opened in Debian's Chromium.

Chromium is driven through its DevTools protocol over a websocket (the ``websockets`` package,
which Streamlit itself depends on); Playwright's own browser download does not work on these
machines. The test skips when Chromium is not installed (``make test`` installs it with
apt-get). The server and the browser are always stopped, and the screenshot is kept in the
test's tmp folder.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from simulator import plans, scenario

ROOT = Path(__file__).resolve().parents[1]
HOUSEHOLDS = 20_000
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader",
    "--use-angle=swiftshader", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--hide-scrollbars",
)


def chromium_path() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, timeout: float, what: str, interval: float = 0.3):
    """Call ``check`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except Exception as exc:  # not up yet
            last = exc
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def stop(proc: subprocess.Popen | None) -> None:
    """Stop a process started in its own session, and everything it started."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


class DevTools:
    """The few Chrome DevTools Protocol calls the test needs (a context manager)."""

    def __init__(self, ws_url: str) -> None:
        self.ws_url = ws_url
        self.n = 0

    def __enter__(self) -> DevTools:
        from websockets.sync.client import connect

        self._connection = connect(self.ws_url, max_size=None, open_timeout=20)
        self.ws = self._connection.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._connection.__exit__(*exc)

    def call(self, method: str, **params):
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=60))
            if msg.get("id") == self.n:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if msg.get("method"):
                self.on_event(msg)

    def on_event(self, msg: dict) -> None:
        """An event (not a reply) read while waiting for a reply; ignored here."""

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")


PAGE_STATE = """(() => {
  const deck = document.querySelector('[data-testid="stDeckGlJsonChart"] canvas');
  return {
    deckCanvas: !!deck,
    deckWidth: deck ? deck.width : 0,
    running: !!document.querySelector('[data-testid="stStatusWidget"]'),
    exception: !!document.querySelector('[data-testid="stException"]'),
    text: document.body ? document.body.innerText : ''
  };
})()"""


#: The first deck.gl canvas, scrolled into view, and its box on the screen [CSS pixels].
CANVAS_BOX = """(() => {
  const c = document.querySelector('[data-testid="stDeckGlJsonChart"] canvas');
  if (!c) return null;
  c.scrollIntoView({block: 'center'});
  const r = c.getBoundingClientRect();
  return {x: r.x, y: r.y, width: r.width, height: r.height};
})()"""

#: What :func:`settled` reads of the page: its heading, whether a run is shown as going on
#: (the status widget, a spinner, a progress bar in the page, elements left from the previous
#: run, which Streamlit marks ``data-stale``), an exception box, a drawn deck.gl canvas and the
#: body's text.
SETTLE_STATE = """(() => ({
  running: !!document.querySelector('[data-testid="stStatusWidget"]'),
  spinner: !!document.querySelector('[data-testid="stSpinner"]'),
  progress: !!document.querySelector('[data-testid="stMain"] [data-testid="stProgress"]'),
  stale: !!document.querySelector('[data-testid="stMain"] [data-stale="true"]'),
  exception: !!document.querySelector('[data-testid="stException"]'),
  title: ((document.querySelector('[data-testid="stMain"] h1') || {}).innerText || '').trim(),
  deck: [...document.querySelectorAll('[data-testid="stDeckGlJsonChart"] canvas')].some(c => c.width > 0),
  path: location.pathname,
  text: document.body ? document.body.innerText : ''
}))()"""


def settled(tools: DevTools, title: str, timeout: float = 120, *, still: bool = False,
            deck: bool = False) -> dict:
    """The page's state (:data:`SETTLE_STATE`) once it shows ``title`` as its heading with no
    spinner, no progress bar and no stale element, and its words stay the same for a second;
    at once if it shows an exception. ``still``: also nothing running; ``deck``: also a drawn
    map canvas.

    Streamlit shows its "running" widget only some time after a run starts, and a cached
    function's progress bar is replayed on every cache hit, so "not running" alone can be read
    in the middle of a run. Digits may change meanwhile: while an ensemble's ranges are
    computed a fragment reruns every second ("member k of n")."""
    def words(state: dict) -> str:
        return "".join(ch for ch in state["text"] if not ch.isdigit())

    def ready(state: dict | None) -> bool:
        return bool(state) and (state["exception"] or (
            state["title"] == title and not (state["spinner"] or state["progress"] or state["stale"])
            and not (still and state["running"]) and not (deck and not state["deck"])))

    def check():
        first = tools.evaluate(SETTLE_STATE)
        if not ready(first):
            return None
        if first["exception"]:
            return first
        time.sleep(1.0)
        again = tools.evaluate(SETTLE_STATE)
        return again if ready(again) and words(again) == words(first) else None

    return wait_for(check, timeout, f"the page titled {title!r}", interval=0.4)


def start_streamlit(env: dict, port: int, log, what: str = "the Streamlit server"):
    """(server process, base URL): ``streamlit run app.py`` on ``127.0.0.1:port`` with ``env``,
    its output to ``log``, once its health check answers (stopped again if it never does)."""
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: urllib.request.urlopen(f"{base}/_stcore/health", timeout=2).read() == b"ok", 60, what)
    except BaseException:
        stop(server)
        raise
    return server, base


#: The roles the app is started as (:data:`simulator.app.settings.ROLES`), each on a server of
#: its own (the role is fixed at start-up).
ROLES = ("minister", "planner", "authority")
#: The window of the role servers' Chromium [CSS pixels].
ROLE_WINDOW = (1100, 850)


@contextlib.contextmanager
def served_as(role: str, folder: Path):
    """The app's base URL: ``streamlit run app.py`` as ``role`` on the small demo registry,
    no boundary or config file, and an empty Committee workspace (a SQLite file in ``folder``:
    the demo workspace takes a minute to seed); its output in ``folder/streamlit-<role>.log``;
    stopped after."""
    port = free_port()
    env = dict(os.environ, MADAD_DEMO_HOUSEHOLDS=str(HOUSEHOLDS), MADAD_CONFIG="", MADAD_ROLE=role,
               MADAD_DATABASE_URL=f"sqlite:///{folder / 'workspace.db'}",
               STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    for name in ("MADAD_BOUNDARIES", "MADAD_REGISTRY", "MADAD_MIN_CELL"):
        env.pop(name, None)
    server = None
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"streamlit-{role}.log").open("wb") as log:
        try:
            server, base = start_streamlit(env, port, log, f"the {role}'s Streamlit server")
            yield base
        finally:
            stop(server)


@contextlib.contextmanager
def role_servers(chromium: str, folder: Path):
    """(DevTools of the visiting tab, DevTools of a second tab, role -> base URL): one server
    per role of :data:`ROLES`, started together, and one Chromium with two tabs (the second
    opens a server's landing page so that it computes its plan while the first is busy);
    all stopped after."""
    port = free_port()
    with contextlib.ExitStack() as stack:
        proc = subprocess.Popen(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={folder / 'chromium'}", f"--remote-debugging-port={port}",
             "--window-size={},{}".format(*ROLE_WINDOW), "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        stack.callback(stop, proc)
        bases = {role: stack.enter_context(served_as(role, folder)) for role in ROLES}
        endpoint = f"http://127.0.0.1:{port}/json"
        tabs = wait_for(lambda: json.load(urllib.request.urlopen(endpoint, timeout=2)), 30,
                        "Chromium's DevTools endpoint")
        page = next(t for t in tabs if t.get("type") == "page")
        spare = json.load(urllib.request.urlopen(urllib.request.Request(f"{endpoint}/new?about:blank", method="PUT"),
                                                 timeout=10))
        tools = stack.enter_context(DevTools(page["webSocketDebuggerUrl"]))
        warm = stack.enter_context(DevTools(spare["webSocketDebuggerUrl"]))
        tools.call("Target.activateTarget", targetId=page["id"])
        tools.call("Emulation.setDeviceMetricsOverride", width=ROLE_WINDOW[0], height=ROLE_WINDOW[1],
                   deviceScaleFactor=1, mobile=False)
        yield tools, warm, bases


@pytest.fixture
def chromium():
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium is not installed (`apt-get install -y chromium`; `make test` installs it)")
    pytest.importorskip("websockets", reason="websockets (a Streamlit dependency) drives Chromium")
    return path


@contextlib.contextmanager
def app_in_chromium(chromium: str, tmp_path, devtools=None):
    """(DevTools of a page, the app's base URL): ``streamlit run app.py`` on the small demo
    registry, minister's role, no boundary file, and Chromium on a blank page; both stopped
    after. ``devtools`` is the :class:`DevTools` class to connect with."""
    port, debug_port = free_port(), free_port()
    env = dict(os.environ, MADAD_DEMO_HOUSEHOLDS=str(HOUSEHOLDS), MADAD_CONFIG="",
               STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    for name in ("MADAD_ROLE", "MADAD_BOUNDARIES", "MADAD_REGISTRY"):
        env.pop(name, None)
    server = browser = None
    log = (tmp_path / "streamlit.log").open("wb")
    try:
        server, base = start_streamlit(env, port, log)
        browser = subprocess.Popen(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium'}",
             f"--remote-debugging-port={debug_port}", "--window-size=1400,1100", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        tabs = wait_for(lambda: json.load(urllib.request.urlopen(f"http://127.0.0.1:{debug_port}/json", timeout=2)),
                        30, "Chromium's DevTools endpoint")
        page = next(t for t in tabs if t.get("type") == "page")
        with (devtools or DevTools)(page["webSocketDebuggerUrl"]) as tools:
            tools.call("Emulation.setDeviceMetricsOverride", width=1400, height=1100, deviceScaleFactor=1,
                       mobile=False)
            yield tools, base
    finally:
        stop(browser)
        stop(server)
        log.close()


def test_demo_renders_in_chromium(chromium, tmp_path):
    """The landing page a minister (the default role) sees: the published figures, perturbed by
    the cell-key method as the app does."""
    from simulator.app import settings
    from simulator.publish.disclosure import protect_plan

    res = plans.run(scenario.load(ROOT / "scenarios" / "indus-flood-demo.yaml"),
                    base=ROOT / "scenarios", households=HOUSEHOLDS)
    expected = protect_plan(res.plan, settings.Settings().min_cell, households=res.households)["totals"]
    with app_in_chromium(chromium, tmp_path) as (tools, base):
        tools.call("Page.navigate", url=base + "/")
        amount = f"PKR {expected['amount_pkr']:,}"

        def rendered():
            state = tools.evaluate(PAGE_STATE)
            done = (state and state["deckCanvas"] and state["deckWidth"] > 0 and amount in state["text"]
                    and not state["running"])
            return state if done else None

        state = wait_for(rendered, 120, f"the deck.gl map canvas and {amount}", interval=0.5)
        time.sleep(2)  # let deck.gl draw its first frames before the screenshot
        shot = tools.call("Page.captureScreenshot", format="png")
    assert not state["exception"]
    text = state["text"]
    assert "Madad" in text
    assert f"{expected['affected_households']:,}" in text
    assert "PKR" in text and "billion" in text
    out = tmp_path / "madad-summary.png"
    out.write_bytes(base64.b64decode(shot["data"]))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000


def test_committee_page_signs_in_in_chromium(chromium, tmp_path, monkeypatch):
    """The Committee page in a real browser: the demo workspace's sign-in form, a member
    signed in by typing, and the demo plan awaiting signatures."""
    from simulator.workspace.demo import DEMO_PASSWORD, open_demo

    folder = tmp_path / "demo-workspace"
    open_demo(folder).close()  # seeded here, so the page opens it at once
    monkeypatch.setenv("MADAD_DEMO_WORKSPACE", str(folder))
    monkeypatch.delenv("MADAD_DATABASE_URL", raising=False)
    with app_in_chromium(chromium, tmp_path) as (tools, base):
        tools.call("Page.navigate", url=base + "/committee")
        wait_for(lambda: (s := tools.evaluate(PAGE_STATE)) and not s["running"]
                 and "Sign in with a workspace account" in s["text"], 60, "the sign-in form")
        time.sleep(1)  # the page settled: typing now is not undone by a rerun
        for label, value in (("Username", "sspa-sindh"), ("Password", DEMO_PASSWORD)):
            # typed as a person would: focus, then key events (React sees them as input)
            tools.evaluate(f"document.querySelector('input[aria-label=\"{label}\"]').focus()")
            for ch in value:
                tools.call("Input.dispatchKeyEvent", type="keyDown", text=ch, key=ch)
                tools.call("Input.dispatchKeyEvent", type="keyUp", key=ch)
        typed = tools.evaluate("document.querySelector('input[aria-label=\"Username\"]').value")
        assert typed == "sspa-sindh"
        tools.evaluate("""[...document.querySelectorAll('button')]
                          .find(b => b.innerText.trim() == 'Sign in').click()""")
        state = wait_for(lambda: (s := tools.evaluate(PAGE_STATE)) and "awaiting signatures" in s["text"]
                         and not s["running"] and s, 60, "the plans after signing in")
        shot = tools.call("Page.captureScreenshot", format="png")
    assert not state["exception"]
    assert "Signed in as" in state["text"] and "indus-flood-demo" in state["text"]
    out = tmp_path / "madad-committee.png"
    out.write_bytes(base64.b64decode(shot["data"]))
    assert out.stat().st_size > 20_000
