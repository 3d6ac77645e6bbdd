"""The Downloads page: Excel, PDF brief, GeoPackage, GeoJSON, JSON and, for planners, the
household payout list, each written by :func:`simulator.publish.export.export` from the plan
of :func:`simulator.plans.assemble`.

Each file is written when its button is pressed (Streamlit's deferred download), never served
in place of a file it could not write: a file that fails is not served at all (the button says
the download failed), the problem is kept in the session (``download_failed``, by plan and
format) and the page then shows it as an error, with no button for that file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import streamlit as st

from hazards.errors import DownloadError
from simulator.app import loaders
from simulator.app.loaders import RegistrySource
from simulator.app.state import Current, T, current
from simulator.app.widgets import scenario_heading
from simulator.scenario import Scenario

log = logging.getLogger("madad.app")

#: (format, label key, file name suffix, MIME type) of every download.

DOWNLOADS = (
    ("xlsx", "dl_xlsx", "plan.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("pdf", "dl_pdf", "brief.pdf", "application/pdf"),
    ("pdf_ur", "dl_pdf_ur", "brief.ur.pdf", "application/pdf"),
    ("gpkg", "dl_gpkg", "districts.gpkg", "application/geopackage+sqlite3"),
    ("geojson", "dl_geojson", "districts.geojson", "application/geo+json"),
    ("json", "dl_json", "plan.json", "application/json"),
    ("csv", "dl_csv", "payouts.csv", "text/csv"),
    ("parquet", "dl_parquet", "payouts.parquet", "application/vnd.apache.parquet"),
)


def plan_key(scn: Scenario, source: RegistrySource, library: Scenario | None,
             boundaries: str | None) -> str:
    """What the downloads of a plan depend on: scenario (with the what-if), registry, library
    scenario and the boundaries' name."""
    return loaders.cache_key(scn, source, library, boundaries)


def failures() -> dict:
    """This session's downloads that could not be written: (plan key, format) -> problem."""
    return st.session_state.setdefault("download_failed", {})


def build(failed: dict, key: str, fmt: str, make: Callable[[], bytes]) -> bytes:
    """The bytes ``make`` writes; when it fails, the problem is kept in ``failed`` (the page
    shows it from its next run) and :class:`DownloadError` raised, so that no file is served.
    Runs on Streamlit's thread of the download, outside the script (no ``st.*`` calls here)."""
    try:
        return make()
    except Exception as exc:
        log.exception("writing %s failed", fmt)
        failed[(key, fmt)] = str(exc).strip() or type(exc).__name__
        raise DownloadError(f"{fmt} could not be written") from exc


def file_bytes(cur: Current, fmt: str) -> bytes:
    """The bytes of one download of the current plan: the plan of the scenario with the
    what-if, marked edited against the library scenario (raises when it cannot be written)."""
    full = cur.bounds[0] if cur.bounds else None
    return loaders.make_file(fmt, cur.scn, cur.source, cur.cfg, full, cur.library)


def render(cur: Current) -> None:
    st.title(T("page_downloads"))
    scenario_heading(cur)
    if not cur.cfg.planner:
        st.info(T("dl_minister", k=cur.k))
    full = cur.bounds[0] if cur.bounds else None
    hidden = bool(cur.shown.get("disclosure", {}).get("hidden_cells"))
    key = plan_key(cur.scn, cur.source, cur.library, cur.bounds[3] if cur.bounds else None)
    failed = failures()
    for fmt, label, suffix, mime in DOWNLOADS:
        if fmt in loaders.PLANNER_ONLY and not cur.cfg.planner:
            continue
        c = st.columns([3, 2])
        c[0].markdown(f"**{T(label)}**  \n{T(label + '_help')}")
        name = f"{cur.scn.name}-{suffix}"
        if (key, fmt) in failed:  # asked for before and not written: said, and not offered again
            c[1].error(T("dl_failed", name=name, problem=failed[(key, fmt)]))
            if c[1].button(T("dl_retry"), key=f"download_retry_{fmt}"):
                failed.pop((key, fmt), None)
                st.rerun()
            continue
        data: Any = lambda fmt=fmt: build(  # noqa: E731
            failed, key, fmt, lambda: file_bytes(cur, fmt))
        if hidden and fmt == "pdf":
            # Written here once per plan, so that a brief the exporter cannot write from a plan
            # with hidden cells is reported on the page rather than as a broken file.
            try:
                data = loaders.cached_minister_pdf(key, cur.k, cur.scn, cur.source, cur.cfg, full,
                                                   cur.library)
            except Exception as exc:
                log.warning("minister's PDF brief not written: %s", exc)
                c[1].caption(T("dl_pdf_hidden_unavailable", k=cur.k))
                continue
        c[1].download_button(
            T("dl_button", name=name), data=data,
            file_name=name, mime=mime, key=f"download_{fmt}", on_click="ignore",
        )
    if not cur.cfg.planner:
        st.caption(T("dl_no_households"))


if __name__ == "__main__":  # st.navigation runs this file as the page
    render(current())
