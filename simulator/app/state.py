"""What every page shares: the visitor's language, the session's scenario and library
scenario, the sidebar (language, role, quick what-if) and the :class:`Current` plan.

Session state the app keeps:

``active_scn``
    The scenario shown (the Scenario page's last run; the demo at first).
``library_scn``
    The library scenario (``scenarios/*.yaml``) the active policy started from, or None for a
    scenario built from scratch in the Scenario page's builder. Every plan is assembled with it
    as ``library``, so an edited policy (Scenario page's policy editor, sidebar what-if) says
    "edited" with what changed, on the pages and in every download.
``hazard_file``, ``declared_file``, ``registry_file``, ``boundaries_file``, ``upload_dir``
    The session's uploads ({path, name, sha, ...} each) and their folder, removed with the
    session (:func:`simulator.app.loaders.upload_folder`).
``saved``
    The scenarios and policies kept for the Compare page ({scn, library, n} each).
``kept/<widget key>``
    A widget's value kept where leaving its page does not drop it (:func:`restore_widget`,
    :func:`keep_widget`), e.g. the Compare page's selection.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
import xarray as xr

from hazards.errors import MadadError, ScenarioError
from simulator import scenario as scenario_mod
from simulator.app import builder, loaders, style, text
from simulator.app.loaders import RegistrySource
from simulator.app.settings import Settings
from simulator.plans import policy as policy_mod
from simulator.scenario import Scenario

log = logging.getLogger("madad.app")

QUICK_KEYS = ("transfer_pkr", "pmt_max", "threshold", "federal_share_pct")
#: The st.Page of every url_path, for st.page_link (filled by app.py).
PAGE_OBJECTS: dict[str, Any] = {}
#: The Current plan of the run under way in this thread (one script run per session thread).
_RUN = threading.local()


def lang() -> str:
    """The visitor's language (a preference, kept in the session)."""
    return st.session_state.get("lang", "en")


def T(key: str, **values: Any) -> str:  # noqa: N802 - short on purpose: every label goes through it
    """The label ``key`` in the visitor's language (see :data:`simulator.app.text.LABELS`)."""
    return text.text(lang(), key, **values)


def show_bad_file(name: str, exc: Exception) -> None:
    """A clear message for a file that cannot be used; the traceback goes to the server log."""
    if not isinstance(exc, MadadError):
        log.exception("reading %s failed", name)
    problem = str(exc).strip() or type(exc).__name__
    st.error(T("bad_file", name=name, problem=problem))


def restore_widget(key: str, default: Any) -> None:
    """Before the widget ``key`` is drawn: its value from the last run that drew it (kept by
    :func:`keep_widget`), else ``default``. Streamlit drops a widget's value from the session
    when a run does not draw it, i.e. as soon as the visitor opens another page."""
    ss = st.session_state
    if key not in ss:
        ss[key] = ss.get(f"kept/{key}", default)


def keep_widget(key: str) -> None:
    """After the widget ``key`` is drawn: keep its value under ``kept/<key>``, a key that is
    not a widget's and so survives leaving the page."""
    st.session_state[f"kept/{key}"] = st.session_state.get(key)


def registry_source(scn: Scenario, cfg: Settings) -> RegistrySource:
    """:func:`simulator.app.loaders.registry_source` with this session's upload."""
    return loaders.registry_source(scn, cfg, st.session_state.get("registry_file"))


def active_boundaries(cfg: Settings):
    """(full, light, report, label) of the boundaries in use, or None; an unusable
    ``MADAD_BOUNDARIES`` file is reported on the page."""
    up = st.session_state.get("boundaries_file")
    if up:
        try:
            full, light, report = loaders.cached_boundaries(up["path"], None, up["code_column"],
                                                            up["name_column"], up["sha"])
            return full, light, report, up["name"]
        except Exception as exc:  # a file that read before reads again; guard anyway
            show_bad_file(up["name"], exc)
            return None
    path = cfg.boundaries
    if not path:
        return None
    if not Path(path).exists():
        st.error(T("env_boundaries_missing", path=path))
        return None
    try:
        full, light, report = loaders.env_boundaries(cfg)
    except Exception as exc:
        show_bad_file(path, exc)
        st.caption(T("boundaries_fallback"))
        return None
    return full, light, report, Path(path).name


@dataclass
class Current:
    """What every page shows: the scenario (with the what-if), its plan and the map inputs."""

    cfg: Settings
    base: Scenario
    scn: Scenario
    library: Scenario | None  # the library scenario the policy started from (None: built here)
    source: RegistrySource
    plan: dict
    shown: dict  # the plan a visitor may see (suppressed for ministers)
    hexes: pd.DataFrame
    layers: list
    baseline: dict | None = None
    seconds: float = 0.0
    changes: list = field(default_factory=list)
    bounds: tuple | None = None  # (full, light, code report, name) of the boundaries in use
    #: The plan's ensemble (its ranges come later: ``plan`` has no "ensemble" block until then)
    ensemble: loaders.Ensemble | None = None

    @property
    def k(self) -> int:
        return self.cfg.min_cell

    @property
    def title(self) -> str:
        """The plan's title: the scenario's, with "(edited: ...)" when the policy differs
        from the library file's."""
        return self.plan["scenario"]["title"]


def set_current(cur: Current) -> None:
    """Hand the run's :class:`Current` to the page file that ``st.navigation`` runs next."""
    _RUN.current = cur


def current() -> Current:
    """The :class:`Current` plan of this run (set by ``app.py`` before the page runs)."""
    return _RUN.current


# --- the quick what-if (sidebar): the scenario's headline policy ---------------------------------


def units_of(scn: Scenario) -> str:
    source = loaders.hazards_of(scn)[0]
    return source.attrs.get("units", "") if isinstance(source, xr.DataArray) else ""


def quick_defaults(scn: Scenario) -> dict[str, Any]:
    now = scenario_mod.headline_policy(scn)
    return {
        "transfer_pkr": int(now["transfer_pkr"]),
        "pmt_max": int(round(now["pmt_max"])),
        "threshold": None if now["threshold"] is None else float(now["threshold"]),
        "federal_share_pct": int(round(now["federal_share"] * 100)),
    }


def reset_quick(scn: Scenario) -> None:
    defaults = quick_defaults(scn)
    for key in QUICK_KEYS:
        if defaults[key] is None:
            st.session_state.pop(key, None)
        else:
            st.session_state[key] = defaults[key]
    st.session_state["quick_for"] = scn.model_dump_json()


def back_to_library(base: Scenario, library: Scenario | None) -> None:
    """The sidebar's "Back to the scenario's policy": the library scenario's policy when the
    active one was edited from it (the Scenario page's editor, whose widgets start again from
    the file), else the active scenario's (the what-if undone)."""
    if library is None:
        reset_quick(base)
        return
    use_scenario(library, library)
    for key in [k for k in st.session_state if str(k).startswith(f"pol/lib:{library.name}/")]:
        del st.session_state[key]
    reset_quick(library)


def quick_sidebar(base: Scenario) -> tuple[Scenario, list]:
    """Sidebar controls of the headline policy; returns the scenario they describe and the
    changes against the active scenario ((label key, new, old) each).

    "Back to the scenario's policy" is offered only when there is something to go back from:
    a what-if, or an active policy edited from the library scenario's."""
    ss = st.session_state
    if ss.get("quick_for") != base.model_dump_json():
        reset_quick(base)
    else:  # a run that did not draw the sidebar (e.g. st.switch_page) drops the widgets' values
        for key, value in ss.get("quick_values", {}).items():
            ss.setdefault(key, value)
    sb = st.sidebar
    sb.subheader(T("quick_title"))
    sb.caption(T("quick_help"))
    before = quick_defaults(base)
    sb.number_input(T("q_transfer"), min_value=0, max_value=1_000_000, step=1_000, key="transfer_pkr",
                    help=T("q_transfer_help"))
    sb.slider(T("q_pmt"), min_value=0, max_value=100, step=1, key="pmt_max", help=T("q_pmt_help"))
    units = units_of(base)
    if before["threshold"] is not None:
        tiers = base.hazards[0].tier_thresholds()
        lo, hi, step = builder.threshold_range(units, before["threshold"], tiers[1])
        if not lo <= ss.get("threshold", before["threshold"]) <= hi:
            ss["threshold"] = before["threshold"]
        what = T(style.hazard_style(base.hazards[0].kind, units, tiers).what)
        sb.slider(T("q_threshold_units", what=what, units=text.unit_text(units, lang())),
                  min_value=lo, max_value=hi, step=step, key="threshold", help=T("q_threshold_help"))
    if base.cost_sharing.rule in ("fixed", "key"):
        sb.slider(T("q_federal"), min_value=0, max_value=100, step=1, key="federal_share_pct",
                  help=T("q_federal_help"))
    after = {k: ss.get(k) for k in QUICK_KEYS}
    ss["quick_values"] = {k: v for k, v in after.items() if v is not None}
    if after["threshold"] is not None:
        after["threshold"] = round(float(after["threshold"]), 6)
    changes = builder.what_if_changes(before, after, units)
    library = ss.get("library_scn")
    edited = library is not None and bool(policy_mod.differences(library, base))
    if changes or edited:
        sb.button(T("q_reset"), key="quick_reset", on_click=back_to_library,
                  args=(base, library if edited else None))
    if not changes:
        return base, []
    moved = {key for key, *_ in changes}
    scn = scenario_mod.with_what_if(
        base,
        transfer_pkr=int(after["transfer_pkr"]) if "q_transfer" in moved else None,
        pmt_max=float(after["pmt_max"]) if "q_pmt" in moved else None,
        threshold=after["threshold"] if "q_threshold" in moved else None,
        federal_share=round(after["federal_share_pct"] / 100, 4) if "q_federal" in moved else None,
    )
    return scn, changes


def compute_current(cfg: Settings, *, delivered: bool = False) -> Current:
    """The active scenario with the sidebar's what-if, run (cached) and made safe to show.

    Only the engine and the plan run for a new policy (the registry and hazards are cached);
    an ensemble's ranges come later (:attr:`Current.ensemble`, :func:`simulator.app.widgets.show_ranges`),
    and so does the delivery plan, unless ``delivered`` (a page that shows it) waits for it.
    """
    ss = st.session_state
    base = ss["active_scn"]
    library = ss.get("library_scn")
    source = registry_source(base, cfg)
    loaders.prefetch_registry(base, source)  # a registry file is read while the hazards are built
    try:
        scn, changes = quick_sidebar(base)
    except ScenarioError as exc:
        st.error(T("whatif_invalid", problem=str(exc)))
        scn, changes = base, []
    t0 = time.perf_counter()
    with st.spinner(T("computing")):
        if not cfg.planner:  # the registry's key of the published figures, while the engine runs
            loaders.start_registry_key(scn, source)
        the_plan, hexes, _ = loaders.plan_for(scn, source, library, delivered=delivered)
        ensemble = loaders.ensemble_of(scn, source, library)
        baseline = loaders.plan_for(base, source, library)[0]["totals"] if changes else None
        shown = loaders.shown_plan(the_plan, scn, source, library, cfg)
        layers = loaders.hazards_of(scn)
    if not cfg.planner:
        hexes = loaders.published_hexagons(scn, source, library, hexes)
        hexes = hexes[hexes["count"] >= cfg.min_cell]
    return Current(cfg=cfg, base=base, scn=scn, library=library, source=source, plan=the_plan, shown=shown,
                   hexes=hexes, layers=layers, baseline=baseline, seconds=time.perf_counter() - t0,
                   changes=changes, ensemble=ensemble)


# --- session and sidebar --------------------------------------------------------------------------


def use_scenario(scn: Scenario, library: Scenario | None) -> None:
    """Make ``scn`` the active scenario, started from ``library`` (None: built here)."""
    st.session_state["active_scn"] = scn
    st.session_state["library_scn"] = library


def init_state() -> None:
    """The session's first scenario (the demo); at the server's start, the uploads of sessions
    older than :data:`simulator.app.loaders.UPLOAD_MAX_AGE_H` hours are removed."""
    loaders.sweep_old_uploads()  # once per server process (cached)
    ss = st.session_state
    if "active_scn" not in ss:
        demo = loaders.library_scenario(loaders.DEMO_NAME)
        use_scenario(demo, demo)


def sidebar_top(cfg: Settings) -> None:
    sb = st.sidebar
    sb.radio(text.text("en", "language") + " / " + text.text("ur", "language"), list(text.LANGUAGES),
             format_func=text.LANGUAGES.get, key="lang", horizontal=True)
    if cfg.planner:
        sb.caption(T("role_planner"))
    elif cfg.authority:
        sb.caption(T("role_authority", k=cfg.min_cell))
    else:
        sb.caption(T("role_minister", k=cfg.min_cell))


def rtl_css() -> None:
    """Right-to-left text for Urdu where Streamlit allows it (maps and tables stay as they are),
    and the served Urdu font (:func:`simulator.app.style.urdu_font_css`) with the Urdu words of
    Streamlit's own widgets, once per page run, whatever the page."""
    text = ("[data-testid='stMain'] h1, [data-testid='stMain'] h2, [data-testid='stMain'] h3,"
            "[data-testid='stSidebar'] h1, [data-testid='stSidebar'] h2, [data-testid='stSidebar'] h3,"
            "[data-testid='stMarkdownContainer'], [data-testid='stCaptionContainer'],"
            "[data-testid='stMetricLabel'], [data-testid='stWidgetLabel'], [data-testid='stAlert']")
    st.html(
        "<style>"
        f"{text} {{direction: rtl; text-align: right;}}"
        f"{text}, [data-testid='stMetricValue']"
        f" {{font-family: '{style.URDU_FONT}', '{style.STREAMLIT_FONT}', sans-serif;}}"
        "[data-testid='stMarkdownContainer'] p, [data-testid='stCaptionContainer'] {line-height: 2.1;}"
        "[data-testid='stMain'] h1 {line-height: 1.9;}"
        # lists: bullets and numbers on the right, indented from the right
        "[data-testid='stMarkdownContainer'] :is(ul, ol) {padding-left: 0; padding-right: 1.5em;"
        " margin-left: 0; margin-right: 0;}"
        "[data-testid='stMarkdownContainer'] li {margin-left: 0; direction: rtl; text-align: right;}"
        # columns read from the right: the first on the right
        "[data-testid='stMain'] [data-testid='stHorizontalBlock'] {flex-direction: row-reverse;}"
        # the sidebar on the right of the page, its navigation and widgets right to left
        "[data-testid='stAppViewContainer'] {flex-direction: row-reverse;}"
        "[data-testid='stSidebar'] {direction: rtl;}"
        "</style>"
    )
    size_mb = int(st.get_option("server.maxUploadSize"))
    size = f"{size_mb // 1024} جی بی" if size_mb >= 1024 and size_mb % 1024 == 0 else f"{size_mb} ایم بی"
    st.html(style.urdu_font_css() + style.urdu_widget_css(T("w_upload_browse"), T("w_upload_limit", size=size)))
