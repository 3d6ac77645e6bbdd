"""The Downloads page: Excel, PDF brief, GeoPackage, GeoJSON, JSON and, for planners, the
household payout list, each written by :func:`simulator.publish.export.export` from the plan
of :func:`simulator.plans.assemble`."""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st

from simulator.app import loaders
from simulator.app.state import Current, T, current
from simulator.app.widgets import scenario_heading

log = logging.getLogger("madad.app")

#: (format, label key, file name suffix, MIME type) of every download.

DOWNLOADS = (
    ("xlsx", "dl_xlsx", "plan.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("pdf", "dl_pdf", "brief.pdf", "application/pdf"),
    ("gpkg", "dl_gpkg", "districts.gpkg", "application/geopackage+sqlite3"),
    ("geojson", "dl_geojson", "districts.geojson", "application/geo+json"),
    ("json", "dl_json", "plan.json", "application/json"),
    ("csv", "dl_csv", "payouts.csv", "text/csv"),
    ("parquet", "dl_parquet", "payouts.parquet", "application/vnd.apache.parquet"),
)


def file_bytes(cur: Current, fmt: str) -> bytes:
    """The bytes of one download of the current plan (or a short text naming the problem):
    the plan of the scenario with the what-if, marked edited against the library scenario."""
    full = cur.bounds[0] if cur.bounds else None
    return loaders.safe_file(fmt, cur.scn, cur.source, cur.cfg, full, cur.library)


def render(cur: Current) -> None:
    st.title(T("page_downloads"))
    scenario_heading(cur)
    if not cur.cfg.planner:
        st.info(T("dl_minister", k=cur.k))
    full = cur.bounds[0] if cur.bounds else None
    hidden = bool(cur.shown.get("disclosure", {}).get("hidden_cells"))
    for fmt, label, suffix, mime in DOWNLOADS:
        if fmt in loaders.PLANNER_ONLY and not cur.cfg.planner:
            continue
        c = st.columns([3, 2])
        c[0].markdown(f"**{T(label)}**  \n{T(label + '_help')}")
        data: Any = lambda fmt=fmt: file_bytes(cur, fmt)  # noqa: E731
        if hidden and fmt == "pdf":
            # Written here once per plan, so that a brief the exporter cannot write from a plan
            # with hidden cells is reported on the page rather than as a broken file.
            try:
                key = loaders.cache_key(cur.scn, cur.source, cur.library, cur.bounds[3] if cur.bounds else None)
                data = loaders.cached_minister_pdf(key, cur.k, cur.scn, cur.source, cur.cfg, full, cur.library)
            except Exception as exc:
                log.warning("minister's PDF brief not written: %s", exc)
                c[1].caption(T("dl_pdf_hidden_unavailable", k=cur.k))
                continue
        c[1].download_button(
            T("dl_button", name=f"{cur.scn.name}-{suffix}"), data=data,
            file_name=f"{cur.scn.name}-{suffix}", mime=mime, key=f"download_{fmt}", on_click="ignore",
        )
    if not cur.cfg.planner:
        st.caption(T("dl_no_households"))


if __name__ == "__main__":  # st.navigation runs this file as the page
    render(current())
