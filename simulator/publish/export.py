"""Exports of a run: JSON (versioned), Excel, a PDF brief, districts as GeoPackage/GeoJSON and the
household payout list as Parquet/CSV.

One entry point, :func:`export`, takes a run folder (written by ``madad run``) or an in-memory
:class:`simulator.plans.RunResult` and a format name from :data:`FORMATS`. Every export is
written from the plan (``plan.json``) and the per-household table, so its totals equal the plan's
exactly: money is int64 PKR throughout and nothing is re-computed in floating point.

The writers live beside this module, one per thing published: :mod:`~simulator.publish.runs`
(the run, ``plan.json``, ``households.parquet``), :mod:`~simulator.publish.tables` (district
table, payout list, the published plan), :mod:`~simulator.publish.xlsx`,
:mod:`~simulator.publish.pdf` (the brief) with :mod:`~simulator.publish.figures` (its map and
chart), and :mod:`~simulator.publish.geo` (the district layer). Their public names are
re-exported here.

Example
-------
>>> from simulator import export
>>> export.export("runs/demo", "pdf", "brief.pdf")  # doctest: +SKIP
PosixPath('brief.pdf')
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hazards.errors import ExportError
from simulator.plans.agencies import agencies
from simulator.publish.figures import _display_raster, map_figure
from simulator.publish.geo import boundaries_frame, district_layer, write_geo
from simulator.publish.pdf import LANGS, MAX_PAGES, write_pdf
from simulator.publish.runs import Run, load_run, write_households, write_json
from simulator.publish.tables import (
    COUNT_FORMAT,
    PAYOUT_COLUMNS,
    PKR_FORMAT,
    _modelled_on,
    district_table,
    payout_list,
    published,
    write_payouts,
)
from simulator.publish.xlsx import SIGN_OFF, write_xlsx
from simulator.registry import cnic

__all__ = [
    "COUNT_FORMAT", "FORMATS", "MAX_PAGES", "PAYOUT_COLUMNS", "PKR_FORMAT", "SIGN_OFF", "ExportError", "Run",
    "_display_raster", "_modelled_on", "agencies", "district_layer", "district_table", "export", "load_run",
    "map_figure", "payout_list", "protected", "published", "write_households", "write_json", "write_pdf", "write_xlsx",
]

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# The dispatcher
# ---------------------------------------------------------------------------------------------


def _export_xlsx(run: Run, out: Path, **_: Any) -> Path:
    return write_xlsx(run.plan, out)


def _export_json(run: Run, out: Path, **_: Any) -> Path:
    if "schema_version" not in run.plan:
        raise ExportError(f"{run.label}: the plan has no schema_version; run the scenario again.")
    return write_json(run.plan, out)


def protected(run: Run, min_cell: int | None) -> Run:
    """The run as it may be published: its plan perturbed by the cell-key method (keyed by the
    registry's content) and then small-cell suppressed (cells under ``min_cell`` hidden), see
    :func:`simulator.publish.disclosure.protect_plan`; unchanged when ``min_cell`` is None or 0
    or the plan is already protected (it has a ``disclosure`` report)."""
    if not min_cell or "disclosure" in run.plan:
        return run
    from simulator.publish.disclosure import protect_plan

    try:
        households = run.households
    except Exception:  # noqa: BLE001 (no household table: key the noise by the plan)
        households = None
    plan = protect_plan(run.plan, k=int(min_cell), households=households)
    return Run(plan, label=run.label, folder=run.folder, households=run._households,
               hazards=run._hazards, created=run.created)


def _export_pdf(run: Run, out: Path, *, boundaries: Any = None, min_cell: int | None = None, lang: str = "en",
                **_: Any) -> Path:
    return write_pdf(protected(run, min_cell), out, boundaries=boundaries, lang=lang)


def _export_gpkg(run: Run, out: Path, *, boundaries: Any = None, **_: Any) -> Path:
    return write_geo(run, out, fmt="gpkg", boundaries=boundaries)


def _export_geojson(run: Run, out: Path, *, boundaries: Any = None, min_cell: int | None = None, **_: Any) -> Path:
    return write_geo(protected(run, min_cell), out, fmt="geojson", boundaries=boundaries)


def _export_csv(run: Run, out: Path, *, all_households: bool = False, **_: Any) -> Path:
    return write_payouts(run, out, fmt="csv", all_households=all_households)


def _export_parquet(run: Run, out: Path, *, all_households: bool = False, **_: Any) -> Path:
    return write_payouts(run, out, fmt="parquet", all_households=all_households)


#: Export formats by name, and what each writes.
FORMATS: dict[str, tuple[Callable[..., Path], str]] = {
    "xlsx": (_export_xlsx, "Excel workbook for the Coordination Committee, with sign-off block"),
    "pdf": (_export_pdf, "brief for ministers (A4, 2 to 4 pages) with map and federal-provincial split"),
    "gpkg": (_export_gpkg, "GeoPackage of districts with the plan's figures (EPSG:4326)"),
    "geojson": (_export_geojson, "GeoJSON of districts with the plan's figures (EPSG:4326)"),
    "csv": (_export_csv, "household payout list, pseudonymous ids only"),
    "parquet": (_export_parquet, "household payout list, pseudonymous ids only"),
    "json": (_export_json, "the plan for other systems, with schema_version"),
}


#: Formats whose files are scanned for raw CNICs before they are swapped in (the household
#: tables and the plan's records; the xlsx, PDF and GeoPackage are built from the same plan).
SCANNED = ("csv", "parquet", "json", "geojson")


def export(
    run_dir_or_result: Any,
    fmt: str,
    out: str | Path,
    *,
    boundaries: Any = None,
    all_households: bool = False,
    min_cell: int | None = 10,
    lang: str = "en",
) -> Path:
    """Export a run in one format.

    Parameters
    ----------
    run_dir_or_result : str, Path or RunResult
        A run folder written by ``madad run`` or :func:`simulator.publish.write_run`, or an
        in-memory :class:`simulator.plans.RunResult`.
    fmt : {"xlsx", "pdf", "gpkg", "geojson", "csv", "parquet", "json"}
        The format (see :data:`FORMATS`); case-insensitive.
    out : str or Path
        The file to write; its folder is created. An existing file is replaced.
    boundaries : geopandas.GeoDataFrame, str or Path, optional
        District polygons for ``gpkg``/``geojson`` (polygons instead of points) and the ``pdf``
        map. A path is read with :func:`simulator.boundaries.load_boundaries`.
    all_households : bool, default False
        ``csv``/``parquet``: every household with its status, not only the paid ones.
    min_cell : int or None, default 10
        ``pdf`` and ``geojson`` are published: every figure is perturbed by the cell-key method
        (so that publications from registries differing by one household do not give it away;
        :mod:`simulator.publish.disclosure.cellkey`), then district and tehsil cells under this
        many households are suppressed (with complementary cells, so none can be recovered from
        the totals). None or 0 publishes every cell exactly.
    lang : {"en", "ur"}, default "en"
        ``pdf`` only: the brief's language; ``ur`` writes its headline pages in Urdu
        (:mod:`simulator.publish.pdf_ur`). Another format with ``ur`` is an error.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    ExportError
        Unknown format (the message lists the valid ones), or not a run folder.
    BoundaryError
        ``boundaries`` cannot be read or lack a district that has households.
    """
    name = str(fmt).lower().lstrip(".")
    if name not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; use one of: {', '.join(FORMATS)}.")
    if lang not in LANGS:
        raise ExportError(f"unknown brief language {lang!r}; use one of: {', '.join(LANGS)}.")
    if lang != "en" and name != "pdf":
        raise ExportError(f"language {lang!r}: only the pdf brief has one; export {name} in en (the default).")
    run = load_run(run_dir_or_result)
    out = Path(out)
    if out.is_dir():
        raise ExportError(f"{out}: is a folder; give a file name such as {out / ('plan.' + name)}.")
    out.parent.mkdir(parents=True, exist_ok=True)
    bounds = boundaries_frame(boundaries)
    writer, _ = FORMATS[name]
    log.info("exporting %s as %s to %s", run.label, name, out)
    # written aside, scanned for raw CNICs, then swapped in: a reader never sees half a file
    tmp = out.with_name(f".{out.stem}.tmp-{os.getpid()}{out.suffix}")
    try:
        writer(run, tmp, boundaries=bounds, all_households=all_households, min_cell=min_cell, lang=lang)
        if name in SCANNED:
            cnic.scan_file(tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
