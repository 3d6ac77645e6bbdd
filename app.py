"""Madad's Streamlit app: disaster scenarios, maps, joint response plans and their downloads.

Run it with ``make run`` (``make run ROLE=planner`` for the planner's view,
``ROLE=authority`` for a disaster management authority's) or ``streamlit run app.py``. It opens
on the Summary page with the demo scenario (``scenarios/indus-flood-demo.yaml``): headline
figures in PKR and the map, with no click (an authority opens on its Response page).

Pages: Summary, Scenario (pick a library scenario or build one; upload a hazard raster, a
registry or district boundaries; set the policy; run), Map, Plan (tables and charts), Delivery
(where the paid households are paid: sites open and closed by the hazard, campsites, One Window
Centres, travel and the cash-per-day plan; the scenario's ``delivery:`` block), Response (what
NDMA and the PDMAs plan with: the hazard layers, affected people and households, severely
affected and displaced, by district and tehsil, the plan's timeline by instalment and district
and the groups by district; :mod:`simulator.app.pages.authority`), Financing
(what a year of disasters costs each government: the policy over a stochastic event set, the
average and 1-in-T years with their intervals, exceedance curves, the scenario's layers, pools
and triggers, risk.xlsx and risk.pdf; the ``financing:`` block), Compare
(two to four scenarios or policies side by side), Downloads (Excel, PDF brief, GeoPackage,
GeoJSON, JSON and, for planners, the household payout list) and Committee (the Coordination
Committee's workspace: plans and their versions, diffs, review and signing, meetings and the
action tracker; ``MADAD_DATABASE_URL``, else the demo workspace, see
:mod:`simulator.app.pages.committee`; it runs no scenario). The sidebar switches the language
(English / Urdu) and holds a quick what-if of the headline policy.

Every plan comes from :func:`simulator.plans.assemble`, with the library scenario the policy
started from (``st.session_state["library_scn"]``; none for a scenario built in the app). A
policy changed from the library file's, in the Scenario page's policy editor or the sidebar's
what-if, is "edited": the Summary heading, the Compare page's labels and every download say so,
with what changed (``plan["scenario"]["title"]`` and ``plan["policy"]``).

Roles and settings
------------------
Three roles, fixed at start-up (a visitor cannot change them): ``minister`` (the default;
aggregates only, no cell under k households, no household list, no registry upload),
``planner`` (everything) and ``authority`` (NDMA/PDMA: lands on Response, whose figures are
exact, and has the minister's published Summary, Scenario, Map, Plan, Delivery, Downloads and
Committee pages; no Financing or Compare, no household list, no registry upload). Each role's
pages are :data:`simulator.app.pages.ROLE_PAGES`. The role and k come from ``MADAD_ROLE`` /
``MADAD_MIN_CELL``, else
``MADAD_CONFIG`` or ``madad.toml`` beside ``app.py`` (``[madad] role, min_cell``), else the
minister's view with k = 10. ``MADAD_DEMO_HOUSEHOLDS``, ``MADAD_REGISTRY`` and
``MADAD_BOUNDARIES*`` set the registry size, a registry file and district boundaries. All are
read once, in :mod:`simulator.app.settings` (whose docstring has the details).

Layout
------
This file is the entry point only: page config, settings, sidebar, ``st.navigation`` and error
handling. The pages are the files of :mod:`simulator.app.pages` (one each, url_paths
``overview``, ``scenario``, ``map``, ``plan``, ``delivery``, ``authority``, ``financing``,
``compare``, ``downloads``; a test opens one with ``AppTest.switch_page("simulator/app/pages/map.py")``);
everything cached is in :mod:`simulator.app.loaders`; session state and the sidebar in
:mod:`simulator.app.state`; the labels of both languages in ``simulator/app/labels/*.json``.

Uploaded files are kept in a folder of the session under the system temporary folder
(``madad-uploads/<session>/``), removed with the session or once nothing uses them, and read
with the CLI's own readers (:mod:`simulator.app.loaders`). ``.streamlit/config.toml`` turns
off usage statistics, hides the developer toolbar and tracebacks, and raises the upload cap to
1 GB.

Speed and weight: the hazard layers and the registry are cached by content apart from the
policy, so a policy change reruns only the engine and the plan (a registry file is read while
the hazards are built). A scenario's ensemble runs in the background: the headline figures are
shown at once, with "likely ranges being computed (member k of n)" until its ranges are there
(the page then reruns by itself); the downloads wait for them. What reaches the browser is
aggregated on the server: each hazard raster as one PNG, one polygon per non-empty ~5 km
hexagon and one feature per district; household locations never leave the server.

Flow: a scenario run on the Scenario page opens the Summary page with its headline figures
("Done: now showing ..."). The sidebar says "Plan computed in X s" only on the run that first
shows a plan just computed (by this run, or by the Scenario page's run just before); a plan
from the cache gets no caption.
"""

from __future__ import annotations

import logging
import os
import time
import weakref
from pathlib import Path

import streamlit as st

from hazards.errors import MadadError
from simulator.app import loaders, text
from simulator.app.pages import DELIVERY_PAGES, FILES, pages_of
from simulator.app.settings import Settings, load_settings
from simulator.app.state import (
    PAGE_OBJECTS,
    T,
    active_boundaries,
    compute_current,
    init_state,
    lang,
    rtl_css,
    set_current,
    sidebar_top,
    use_scenario,
)

log = logging.getLogger("madad.app")

APP_DIR = Path(__file__).resolve().parent
ICONS = {"overview": ":material/home:", "scenario": ":material/tune:", "map": ":material/map:",
         "plan": ":material/table:", "delivery": ":material/local_shipping:",
         "financing": ":material/account_balance:", "compare": ":material/compare_arrows:",
         "downloads": ":material/download:", "authority": ":material/emergency_home:"}
#: The Committee page (the Coordination Committee's workspace: :mod:`simulator.workspace`).
COMMITTEE = APP_DIR / "simulator" / "app" / "pages" / "committee.py"


def settings() -> Settings:
    """Every ``MADAD_*`` setting and ``madad.toml``, read once per run (see
    :mod:`simulator.app.settings`)."""
    return load_settings(os.environ, APP_DIR)


@st.cache_resource(show_spinner=False)
def plans_shown() -> weakref.WeakSet:
    """The cached runs (their :class:`simulator.app.loaders.Ensemble`) some page has shown
    already, in this server process."""
    return weakref.WeakSet()


def computed_now(cur) -> float | None:
    """Seconds the plan of ``cur`` took, when this run is the first to show it (computed by this
    run or by the Scenario page's run just before); None for a plan from the cache."""
    shown = plans_shown()
    if cur.ensemble is None or cur.ensemble in shown:
        return None
    shown.add(cur.ensemble)
    return loaders.result_of(cur.scn, cur.source, cur.library)[1]


def main() -> None:
    started = time.perf_counter()
    st.set_page_config(page_title="Madad", page_icon=":material/volunteer_activism:", layout="wide")
    cfg = settings()
    init_state()
    sidebar_top(cfg)
    if lang() in text.RTL:
        rtl_css()
    for problem in cfg.problems:
        st.error(T("config_problem", problem=problem))

    PAGE_OBJECTS.clear()
    names = pages_of(cfg.role)  # the role's pages; it lands on the first
    for name in names:
        PAGE_OBJECTS[name] = st.Page(FILES[name], title=T("page_" + name), icon=ICONS[name],
                                     url_path=name, default=name == names[0])
    PAGE_OBJECTS["committee"] = st.Page(COMMITTEE, title=T("page_committee"),
                                        icon=":material/groups:", url_path="committee")
    nav = st.navigation(list(PAGE_OBJECTS.values()))
    if nav.url_path == "committee":  # the Committee's workspace runs no scenario
        nav.run()
        return
    page = nav.url_path or names[0]  # the landing page's url_path is ""
    try:
        cur = compute_current(cfg, delivered=page in DELIVERY_PAGES)
        cur.bounds = active_boundaries(cfg)
    except MadadError as exc:
        log.warning("run failed: %s", exc)
        st.error(T("run_failed", problem=str(exc)))
        if st.button(T("back_to_demo"), key="back_to_demo"):
            demo = loaders.library_scenario(loaders.DEMO_NAME)
            use_scenario(demo, demo)
            st.rerun()
        return
    set_current(cur)
    if page == "overview" and "flash" in st.session_state:  # the Summary, after a scenario's run
        st.success(T("run_done", title=st.session_state.pop("flash")))
    nav.run()
    seconds = computed_now(cur)
    if seconds is not None:
        st.sidebar.caption(T("computed_in", s=f"{seconds:.2f}"))
    log.info("page %s: plan %.3f s, whole run %.3f s", page, cur.seconds,
             time.perf_counter() - started)


if __name__ == "__main__":
    if not log.handlers:  # the app, not the library, configures its log (once per process)
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    try:
        main()
    except MadadError as exc:  # anything the library raises on purpose is the user's to read
        log.warning("%s", exc)
        st.error(str(exc))
    except Exception:  # never a traceback on the page; the server log has it
        log.exception("the Madad app failed")
        st.error("Something went wrong; the server log has the details. / کچھ غلط ہو گیا؛ تفصیل سرور کے لاگ میں ہے۔")
