"""The Scenario page: pick a library scenario or build one (generated, uploaded raster or
declared districts); upload a registry (planners) or district boundaries; set the policy; run.

A run that succeeds opens the Summary page with the new headline figures (and a "done" note);
a run that fails stays here with the problem beside the button pressed. Uploaded files are kept
in the session's own folder (:func:`simulator.app.loaders.upload_folder`): a file replaced or
removed here is deleted once the session's scenario no longer runs on it."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import numpy as np
import streamlit as st

from hazards import tables as data
from hazards.errors import MadadError, ScenarioError
from simulator.app import builder, loaders, text
from simulator.app.pages.policy import policy_editor
from simulator.app.state import (
    PAGE_OBJECTS,
    Current,
    T,
    current,
    lang,
    registry_source,
    show_bad_file,
    use_scenario,
)
from simulator.app.widgets import show_registry_report
from simulator.scenario import Scenario

log = logging.getLogger("madad.app")

HAZARD_TYPES = ["tif", "tiff", "nc", "nc4"]
REGISTRY_TYPES = ["csv", "parquet", "geoparquet"]
BOUNDARY_TYPES = ["geojson", "json", "gpkg", "zip", "parquet", "geoparquet"]
DECLARED_TYPES = ["csv"]


def render(cur: Current) -> None:
    """The Scenario page. Running a library scenario keeps it as the library the policy started
    from (so a changed policy is "edited"); a scenario built here has no library."""
    st.title(T("page_scenario"))
    ss = st.session_state
    st.caption(T("now_showing", title=text.scenario_title(lang(), cur.base)))
    st.header(T("s_hazard"))
    sources = ["library", "build", "upload", "declared"]
    src = st.radio(T("s_source"), sources, format_func=lambda s: T("src_" + s), key="src", horizontal=True)
    lib = loaders.library_now()
    template: Scenario
    hazards: list[dict] | None = None
    run_top = False
    top_messages = None
    if src == "library":
        names = list(lib)
        default = names.index(cur.base.name) if cur.base.name in names else names.index(loaders.DEMO_NAME)
        lg = lang()
        pick = st.selectbox(T("s_pick"), names, index=default,
                            format_func=lambda n: text.scenario_title(lg, lib[n]["raw"]), key="lib_pick")
        template = loaders.library_scenario(pick)
        st.caption(text.scenario_description(lg, template))
        run_top = st.button(T("run"), type="primary", key="run_scenario_top", help=T("run_top_help"))
        top_messages = st.container()
        tid = "lib:" + pick
    else:
        template = cur.base
        tid = "active:" + hashlib.sha1(cur.base.model_dump_json().encode()).hexdigest()[:10]
        if src == "build":
            hazards = hazard_builder()
        elif src == "upload":
            hazards = hazard_upload()
        else:
            hazards = declared_builder()

    st.header(T("s_households"))
    registry_section(cur)

    st.header(T("s_policy"))
    policy = policy_editor(template, tid)

    st.header(T("s_boundaries"))
    boundaries_section()

    st.divider()
    run_bottom = st.button(T("run"), type="primary", key="run_scenario")
    if not (run_bottom or run_top):
        return
    box = top_messages if run_top else st.container()  # messages beside the button pressed
    if src != "library" and hazards is None:
        box.error(T("need_hazard"))
        return
    raw = builder.scenario_raw(template)
    if src != "library":
        kind = "declared" if "admin_table" in hazards[0] else hazards[0].get("kind", "riverine-flood")
        raw.update(name=f"custom-{kind}", title=f"Scenario built in the app: {kind.replace('-', ' ')}",
                   modelled_on=None, description="Built in the Madad app.", assumptions=[],
                   hazards=hazards, combine="max_tier")
        if not any("generator" in h for h in hazards):  # an uploaded footprint has no seeds to vary
            raw.pop("ensemble", None)
    for section, value in policy.items():  # what the editor does not set stays the file's
        raw[section] = {**raw[section], **value} if isinstance(raw.get(section), dict) else value
    library = template if src == "library" else None
    try:
        scn = builder.validate_raw(raw)
        with box, st.spinner(T("computing")):
            loaders.plan_for(scn, registry_source(scn, cur.cfg), library)
    except ScenarioError as exc:
        box.error(T("scenario_invalid"))
        box.code(str(exc), language=None)
        return
    except MadadError as exc:
        box.error(T("run_failed", problem=str(exc)))
        return
    except Exception as exc:  # never a traceback on the page
        log.exception("running the built scenario failed")
        box.error(T("run_failed", problem=str(exc) or type(exc).__name__))
        return
    use_scenario(scn, library)
    loaders.tidy_uploads()  # a file the previous scenario ran on and nothing uses now
    ss["flash"] = text.scenario_title(lang(), scn)  # said on the Summary page (app.py)
    st.switch_page(PAGE_OBJECTS["overview"])


def hazard_builder() -> list[dict]:
    """A generated hazard: kind, a few parameters and how severity is judged."""
    from hazards import impact

    kinds = list(builder.BUILDER)
    kind = st.selectbox(T("b_kind"), kinds, format_func=lambda k: T("kind_" + k), key="b_kind")
    spec = builder.BUILDER[kind]
    cols = st.columns(max(len(spec.params), 1))
    values: dict[str, Any] = {}
    for col, p in zip(cols, spec.params, strict=False):
        key = f"b_{kind}_{p.name}"
        with col:
            if p.kind == "multiselect":
                values[p.name] = st.multiselect(T(p.label), list(p.options), default=list(p.default), key=key,
                                                format_func=lambda r: T("river_" + r), placeholder=T("w_choose"))
            elif p.kind == "select":
                values[p.name] = st.select_slider(T(p.label), options=list(p.options), value=p.default, key=key,
                                                  format_func=lambda v: T("return_period_value", n=f"{v:g}"))
            elif p.kind == "int":
                values[p.name] = st.number_input(T(p.label), min_value=int(p.min), max_value=int(p.max),
                                                 value=int(p.default), step=int(p.step), key=key)
            else:
                values[p.name] = st.number_input(T(p.label), min_value=float(p.min), max_value=float(p.max),
                                                 value=float(p.default), step=float(p.step), key=key)
    params = builder.generator_params(kind, values)
    units = {"riverine-flood": "m", "flash-flood": "mm", "heatwave": "degC", "drought": "index",
             "earthquake": "index", "cyclone": "m/s"}[kind]
    severity = severity_inputs(kind, units, [n for n in impact.names(kind=kind) if impact.load(n).units == units],
                               spec.tiers, spec.impact, prefix=f"b_{kind}")
    return [{"name": kind, "kind": kind, "generator": params, **severity}]


def severity_inputs(kind: str, units: str, impacts: list[str], tiers, impact_default: str | None,
                    prefix: str) -> dict:
    """How a raster's intensity becomes a tier: an impact function or three thresholds."""
    decreasing = kind == "drought" and units == "index"
    options = (["impact"] if impacts else []) + ([] if decreasing else ["tiers"])
    if not options:
        options = ["tiers"]
    how = st.radio(T("b_how"), options, format_func=lambda o: T("how_" + o), key=f"{prefix}_how",
                   horizontal=True)
    if how == "impact":
        name = st.selectbox(T("b_impact"), impacts,
                            index=impacts.index(impact_default) if impact_default in impacts else 0,
                            key=f"{prefix}_impact")
        return builder.severity_raw("impact", None, name)
    defaults = list(tiers or (1.0, None, None))
    unit = text.unit_text(units, lang())
    cols = st.columns(3)
    values = []
    for i, (col, label) in enumerate(zip(cols, ("tier_affected", "tier_severe", "tier_displaced"), strict=True)):
        d = defaults[i] if i < len(defaults) else None
        v = col.number_input(f"{T(label)} ({unit})" if unit else T(label), value=None if d is None else float(d),
                             key=f"{prefix}_t{i}", placeholder=T("tier_unused"), format="%g")
        values.append(v)
    if values[0] is None:
        values[0] = defaults[0]
    return builder.severity_raw("tiers", values, None)


def hazard_upload() -> list[dict] | None:
    """A hazard raster uploaded by the visitor (GeoTIFF or NetCDF), read by the CLI's reader."""
    from hazards import impact
    from hazards.layer import KINDS

    ss = st.session_state
    up = st.file_uploader(T("u_hazard"), type=HAZARD_TYPES, key="up_hazard", help=T("u_hazard_help"))
    if up is not None:
        info = loaders.save_upload(up, "hazard_file")
        if ss.get("hazard_file") != info:
            loaders.use_upload("hazard_file", info)
    info = ss.get("hazard_file")
    if not info:
        st.caption(T("u_hazard_none"))
        return None
    with st.expander(T("u_netcdf_options"), expanded=False):
        c = st.columns(3)
        units = c[0].selectbox(T("u_units"), ["", "m", "cm", "mm", "degC", "K", "g", "m/s", "index"],
                               key="u_units", format_func=lambda u: u or T("u_units_file"))
        variable = c[1].text_input(T("u_variable"), key="u_variable")
        time_step = c[2].text_input(T("u_time"), key="u_time")
    try:
        layer = loaders.cached_raster(info["path"], units or None, variable or None, time_step or None)
    except Exception as exc:
        show_bad_file(info["name"], exc)
        return None
    vals = layer.values[np.isfinite(layer.values)]
    st.success(T("u_hazard_ok", name=info["name"], rows=layer.shape[0], cols=layer.shape[1],
                 units=layer.attrs.get("units", "?"),
                 lo=f"{float(vals.min()):g}" if vals.size else "–", hi=f"{float(vals.max()):g}" if vals.size else "–"))
    file_kind = layer.attrs.get("kind")
    kinds = list(KINDS)
    kind = st.selectbox(T("b_kind"), kinds, index=kinds.index(file_kind) if file_kind in kinds else 0,
                        format_func=lambda k: T("kind_" + k), key="u_kind")
    lunits = layer.attrs.get("units", "")
    impacts = [n for n in impact.names(kind=kind) if impact.load(n).units == lunits]
    spec = builder.BUILDER.get(kind)
    tiers = spec.tiers if spec is not None and lunits == {"riverine-flood": "m", "flash-flood": "mm",
                                                            "heatwave": "degC", "cyclone": "m/s",
                                                            "earthquake": "index"}.get(kind) else None
    severity = severity_inputs(kind, lunits, impacts, tiers, impacts[0] if impacts else None, prefix="u")
    out = {"name": kind, "kind": kind, "file": info["path"], **severity}
    if units:
        out["units"] = units
    if variable:
        out["variable"] = variable
    if time_step:
        out["time"] = int(time_step) if time_step.lstrip("-").isdigit() else time_step
    return [out]


def declared_builder() -> list[dict] | None:
    """Districts declared calamity-hit: picked here, or a CSV (the NDMA/PDMA notification)."""
    from hazards.admin import read_admin_table

    ss = st.session_state
    how = st.radio(T("d_how"), ["pick", "file"], format_func=lambda o: T("d_" + o), key="d_how",
                   horizontal=True)
    table = data.districts()
    if how == "pick":
        lg = lang()
        names = {d: f"{text.district_name(lg, d, n)} ({text.province_name(lg, c, p)})"
                 for d, n, c, p in zip(table.district_id, table.district, table.province_code, table.province,
                                       strict=True)}
        picked = st.multiselect(T("d_districts"), list(names), format_func=names.get, key="d_districts",
                                placeholder=T("w_choose"))
        severity = st.selectbox(T("d_severity"), ["affected", "severely_affected", "displaced"],
                                format_func=lambda s: T({"affected": "tier_affected",
                                                          "severely_affected": "tier_severe",
                                                          "displaced": "tier_displaced"}[s]),
                                key="d_severity")
        if not picked:
            st.caption(T("d_none"))
            return None
        csv = "district_id,severity\n" + "".join(f"{d},{severity}\n" for d in picked)
        path = loaders.save_text("declared_pick", csv)
        return [{"name": "declared", "kind": "riverine-flood", "admin_table": str(path)}]
    up = st.file_uploader(T("d_upload"), type=DECLARED_TYPES, key="up_declared", help=T("d_upload_help"))
    if up is not None:
        info = loaders.save_upload(up, "declared_file")
        if ss.get("declared_file") != info:
            loaders.use_upload("declared_file", info)
    info = ss.get("declared_file")
    if not info:
        return None
    try:
        found = read_admin_table(info["path"])
    except Exception as exc:
        show_bad_file(info["name"], exc)
        return None
    st.success(T("d_ok", name=info["name"], n=len(found)))
    return [{"name": "declared", "kind": "riverine-flood", "admin_table": info["path"]}]


def registry_section(cur: Current) -> None:
    """Planners may upload a registry (CSV, Parquet): validated as the CLI does, quarantine shown."""
    ss = st.session_state
    if not cur.cfg.planner:
        st.caption(T("registry_minister"))
        return
    up = st.file_uploader(T("u_registry"), type=REGISTRY_TYPES, key="up_registry", help=T("u_registry_help"))
    if up is not None:
        info = loaders.save_upload(up, "registry_file")
        try:
            reg = loaders.cached_registry_file(info["path"], info["sha"])
        except Exception as exc:
            show_bad_file(up.name, exc)
            return
        if reg.report.rows_valid == 0:
            st.error(T("bad_file", name=up.name, problem=T("registry_empty")))
            show_quarantine(reg)
            return
        if ss.get("registry_file") != info:
            loaders.use_upload("registry_file", info)
            st.rerun()
    info = ss.get("registry_file")
    if not info:
        st.caption(T("registry_synthetic", n=f"{cur.plan['registry'].get('rows_valid', 0):,}"))
        return
    reg = loaders.cached_registry_file(info["path"], info["sha"])
    st.success(T("registry_using", name=info["name"], n=f"{reg.report.rows_valid:,}"))
    show_quarantine(reg)
    # while the uploader holds the file, dropping it would take it again at once: no button then
    if up is None and st.button(T("registry_drop"), key="registry_drop"):
        loaders.use_upload("registry_file", None)
        st.rerun()


def show_quarantine(reg) -> None:
    show_registry_report(reg.report.to_dict())
    if len(reg.quarantine):
        st.subheader(T("quarantine_title"))
        shown = reg.quarantine.head(1000).rename(columns={"row": T("col_row"), "household_id": T("col_household"),
                                                          "reason": T("col_reason")})
        st.dataframe(shown, hide_index=True, key="quarantine_rows")


def boundaries_section() -> None:
    """District boundaries for the map and the downloads (GeoJSON, GeoPackage, zipped
    Shapefile, GeoParquet), read by :func:`simulator.boundaries.load_boundaries`."""
    ss = st.session_state
    c = st.columns([2, 1, 1])
    up = c[0].file_uploader(T("u_boundaries"), type=BOUNDARY_TYPES, key="up_boundaries",
                            help=T("u_boundaries_help"))
    code_col = c[1].text_input(T("u_code_column"), value="district_id", key="u_code_column")
    name_col = c[2].text_input(T("u_name_column"), value="", key="u_name_column")
    if up is not None:
        info = loaders.save_upload(up, "boundaries_file")
        info.update(code_column=code_col or "district_id", name_column=name_col or None)
        try:
            _, _, report = loaders.cached_boundaries(info["path"], None, info["code_column"], info["name_column"],
                                             info["sha"])
        except Exception as exc:
            show_bad_file(up.name, exc)
            return
        if report["matched"] == 0:
            sample = ", ".join(report["boundaries_without_households"][:3])
            st.error(T("bad_file", name=up.name, problem=T("boundaries_no_match", column=info["code_column"],
                                                              sample=sample)))
            return
        if ss.get("boundaries_file") != info:
            loaders.use_upload("boundaries_file", info)
            st.rerun()
    info = ss.get("boundaries_file")
    if info:
        _, _, report = loaders.cached_boundaries(info["path"], None, info["code_column"], info["name_column"],
                                         info["sha"])
        st.success(T("boundaries_using", name=info["name"], matched=report["matched"],
                     total=len(data.district_codes())))
        if report.get("registry_codes_without_boundary"):
            st.caption(T("boundaries_missing", n=len(report["registry_codes_without_boundary"])))
        if up is None and st.button(T("boundaries_drop"), key="boundaries_drop"):  # as the registry's
            loaders.use_upload("boundaries_file", None)
            st.rerun()
    else:
        st.caption(T("boundaries_none"))


if __name__ == "__main__":  # st.navigation runs this file as the page
    render(current())
