"""Shared fixtures: tiny synthetic inputs, nothing read at import time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from affine import Affine

from hazards.layer import make_layer

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


#: ``make test`` runs the suite on two pytest-xdist workers with ``--dist loadfile``: each test
#: file runs whole on one worker, in its own order, and builds its module-scoped fixtures (a demo
#: run, a Dask cluster, a writer process's results) once, as without xdist. The files below share
#: one unit of work: they start long-lived processes (a Streamlit server and a Chromium; a Dask
#: scheduler and workers), so they run one after another on one worker and never while another
#: of them is up. (``--dist loadgroup`` with ``xdist_group`` marks would say the same, but with
#: pytest 9.2 and pytest-xdist 3.8 it silently stops grouping: pytest-xdist issue #1386.)
SHARED_UNITS = {
    "tests/test_browser.py": "servers",
    "tests/test_browser_maps.py": "servers",
    "tests/test_browser_roles.py": "servers",
    "tests/test_browser_urdu.py": "servers",
    "tests/test_distributed.py": "servers",
}
#: Units handed out first, so that none of these long ones is left to run alone at the end
#: (the rest go by number of tests, most first, as pytest-xdist orders them).
LONG_UNITS = ("servers", "tests/test_run_atomic.py", "tests/test_benchmarks.py")


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: unknown without it
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class Scheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            return SHARED_UNITS.get(scope, scope)

        def _assign_work_unit(self, node) -> None:
            for scope in reversed(LONG_UNITS):
                if scope in self.workqueue:
                    self.workqueue.move_to_end(scope, last=False)
            super()._assign_work_unit(node)

    return Scheduling(config, log)


@pytest.fixture(scope="session")
def role_browser(tmp_path_factory):
    """(DevTools of the visiting tab, DevTools of a second tab, role -> base URL): the app
    served as each role and one Chromium (:func:`test_browser.role_servers`), shared by the
    browser tests of the roles and of Urdu (one unit of :data:`SHARED_UNITS`, so one worker's
    session), stopped at the session's end; skipped without Chromium."""
    from test_browser import chromium_path, role_servers

    path = chromium_path()
    if path is None:
        pytest.skip("Chromium is not installed (`apt-get install -y chromium`; `make test` installs it)")
    pytest.importorskip("websockets", reason="websockets (a Streamlit dependency) drives Chromium")
    with role_servers(path, tmp_path_factory.mktemp("roles")) as opened:
        yield opened


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """An empty database of each kind: a SQLite file, and a new database on the PostgreSQL
    server `make test` starts (``tests/pgserver.py``; skipped without it), dropped after."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'workspace.db'}"
        return
    import os

    server = os.environ.get("MADAD_TEST_DATABASE_URL")
    if not server:
        pytest.skip("no PostgreSQL server: run through `python tests/pgserver.py run -- ...` "
                    "(make test does)")
    from pgserver import drop_database, fresh_database

    url = fresh_database(server, prefix="t")
    yield url
    drop_database(url)


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def shared_data() -> Path:
    if not SHARED.exists():
        pytest.skip("../shared/data is not beside this checkout")
    return SHARED


@pytest.fixture
def demo_scenario_path() -> Path:
    return ROOT / "scenarios" / "indus-flood-demo.yaml"


@pytest.fixture
def raster5():
    """A 5x5 raster at 1/120 degree with values 10*row + col and one nodata pixel (2, 2)."""
    res = 1.0 / 120.0
    values = (10 * np.arange(5)[:, None] + np.arange(5)[None, :]).astype(np.float32)
    values[2, 2] = np.nan
    transform = Affine(res, 0.0, 68.0, 0.0, -res, 26.0)
    return make_layer(values, transform, "EPSG:4326", units="m", kind="riverine-flood",
                      provenance={"test": "raster5"})
