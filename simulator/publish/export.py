"""Exports of a run: JSON (versioned), Excel, a PDF brief, districts as GeoPackage/GeoJSON and the
household payout list as Parquet/CSV.

One entry point, :func:`export`, takes a run folder (written by ``madad run``) or an in-memory
:class:`simulator.runner.RunResult` and a format name from :data:`FORMATS`. Every export is
written from the plan (``plan.json``) and the per-household table, so its totals equal the plan's
exactly: money is int64 PKR throughout and nothing is re-computed in floating point.

Example
-------
>>> from simulator import export
>>> export.export("runs/demo", "pdf", "brief.pdf")  # doctest: +SKIP
PosixPath('brief.pdf')
"""

from __future__ import annotations

import functools
import io
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hazards import tables as data
from hazards.errors import ExportError
from simulator import __version__
from simulator.plans.agencies import agencies, involved_provinces, paid_by_province
from simulator.plans.build import FIGURES, MONEY

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import xarray as xr

log = logging.getLogger(__name__)

PKR_FORMAT = '#,##0" PKR"'
COUNT_FORMAT = "#,##0"

#: Roles that sign off a joint response plan, in order.
SIGN_OFF = ("prepared by", "reviewed by", "approved by", "date", "version")

#: Columns of the household payout list (an allow-list: nothing else leaves the run, so no CNIC,
#: name, phone number or PMT score can slip into an export). ``weight`` is the number of
#: households a registry row stands for (1 in a real registry). Instalment columns are added.
PAYOUT_COLUMNS = (
    "household_id", "province_code", "district_id", "tehsil_id", "hh_size", "weight", "tier",
    "eligible", "status", "payer", "amount_pkr", "federal_pkr", "provincial_pkr",
)



# ---------------------------------------------------------------------------------------------
# Loading a run
# ---------------------------------------------------------------------------------------------


class Run:
    """A run to export: its plan, and (read when first needed) households and hazard layers.

    Build one with :func:`load_run`.
    """

    def __init__(
        self,
        plan: dict,
        *,
        label: str,
        folder: Path | None = None,
        households: pd.DataFrame | None = None,
        hazards: Sequence[xr.DataArray] | None = None,
        created: str | None = None,
    ) -> None:
        self.plan = plan
        self.label = label
        self.folder = folder
        self._households = households
        self._hazards = None if hazards is None else list(hazards)
        self.created = created or time.strftime("%Y-%m-%d", time.gmtime())

    @functools.cached_property
    def households(self) -> pd.DataFrame:
        """The per-household table (``households.parquet`` of a run folder)."""
        if self._households is not None:
            return self._households
        path = self.folder / "households.parquet"
        if not path.exists():
            raise ExportError(
                f"{path}: missing; the run folder is incomplete. Run the scenario again with "
                "`madad run SCENARIO --out DIR`."
            )
        return pq.read_table(path).to_pandas()

    @functools.cached_property
    def hazards(self) -> list[xr.DataArray]:
        """The hazard layers (``hazard.tif``, ``hazard2.tif``... of a run folder); may be empty."""
        if self._hazards is not None:
            return self._hazards
        from hazards.io import read_geotiff

        paths = [self.folder / "hazard.tif"]
        paths += sorted(self.folder.glob("hazard[0-9]*.tif"), key=lambda p: int(p.stem[6:] or 0))
        return [read_geotiff(p) for p in paths if p.exists()]


def load_run(run_dir_or_result: Any) -> Run:
    """A :class:`Run` from a run folder, a ``plan.json`` path or a ``RunResult``.

    Parameters
    ----------
    run_dir_or_result : str, Path, RunResult or Run
        A folder written by ``madad run`` (it holds ``plan.json``, ``households.parquet`` and
        ``hazard.tif``), or a result of :func:`simulator.runner.run`.

    Returns
    -------
    Run

    Raises
    ------
    ExportError
        The folder does not exist or has no readable ``plan.json`` with a ``schema_version``.
    """
    if isinstance(run_dir_or_result, Run):
        return run_dir_or_result
    if hasattr(run_dir_or_result, "plan") and hasattr(run_dir_or_result, "households"):
        res = run_dir_or_result
        import xarray as xr

        layers = [h for h in res.hazards if isinstance(h, xr.DataArray)]  # not declared-district tables
        return Run(res.plan, label="in-memory run", households=res.households, hazards=layers)
    folder = Path(run_dir_or_result)
    if folder.is_file() and folder.name == "plan.json":
        folder = folder.parent
    path = folder / "plan.json"
    if not folder.is_dir():
        raise ExportError(
            f"{folder}: no such run folder. Make one with `madad run SCENARIO --out {folder}`."
        )
    if not path.exists():
        raise ExportError(
            f"{folder}: not a run folder (no plan.json). Make one with "
            f"`madad run SCENARIO --out {folder}`."
        )
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ExportError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}).") from exc
    if not isinstance(plan, dict) or "schema_version" not in plan or "totals" not in plan:
        raise ExportError(f"{path}: not a Madad plan (no schema_version or totals).")
    created = None
    manifest = folder / "manifest.json"
    if manifest.exists():
        try:
            created = json.loads(manifest.read_text(encoding="utf-8")).get("created_utc", "")[:10] or None
        except json.JSONDecodeError:
            created = None
    return Run(plan, label=str(folder), folder=folder, created=created)


# ---------------------------------------------------------------------------------------------
# Tables shared by several exports
# ---------------------------------------------------------------------------------------------


def _num(value: Any) -> int:
    """A figure as a number for sorting and sizing: a suppressed (hidden) cell counts as 0."""
    return 0 if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) else int(value)


def _fmt(value: Any) -> str:
    """A figure for print: thousands separators, or an en dash where it is suppressed."""
    return "\u2013" if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) else f"{int(value):,}"


def district_table(run: Any) -> pd.DataFrame:
    """Every district of ``data/districts.csv`` with the plan's figures (zeros where unaffected).

    ``households`` comes from the per-household table (rows times their ``weight``), so it is
    right for unaffected districts too; every other figure is the plan's, whose districts list
    holds only affected districts.

    Parameters
    ----------
    run : Run, RunResult, str or Path
        See :func:`load_run`.

    Returns
    -------
    pandas.DataFrame
        ``district_id``, ``district``, ``province_code``, ``province``, ``lon``, ``lat``
        [degrees, a point inside the district] and every figure of :data:`simulator.plan.FIGURES`
        (int64; ``*_pkr`` in PKR). Column sums equal ``plan["totals"]``.
    """
    run = load_run(run)
    base = data.districts()[["district_id", "district", "province_code", "province", "lon", "lat"]]
    hh = run.households
    weights = hh["weight"].to_numpy(dtype=np.int64) if "weight" in hh.columns else np.ones(len(hh), np.int64)
    counts = pd.Series(weights).groupby(hh["district_id"].astype(str).to_numpy()).sum()
    figures = pd.DataFrame(run.plan["districts"])
    suppressed = bool(run.plan.get("disclosure", {}).get("hidden_cells"))
    cols = [c for c in FIGURES if c != "households"] if not suppressed else list(FIGURES)
    table = base.merge(
        figures[["district_id", *[c for c in cols if c in figures.columns]]] if len(figures) else
        pd.DataFrame(columns=["district_id"]),
        on="district_id", how="left",
    )
    listed = table["district_id"].isin(figures.get("district_id", pd.Series(dtype=str))).to_numpy()
    for c in cols:
        if c not in table.columns:
            table[c] = np.int64(0)
        elif suppressed:
            # A published (suppressed) plan: hidden cells stay empty. Unlisted districts (nobody
            # affected) show zeros, but not their household counts, which the disclosure rules
            # treat as a never-printed remainder.
            values = pd.to_numeric(table[c], errors="coerce").astype("Int64")
            fill = pd.NA if c == "households" else 0
            table[c] = values.where(listed, fill)
        else:
            table[c] = table[c].fillna(0).astype(np.int64)
    if not suppressed:
        table.insert(6, "households", base.district_id.map(counts).fillna(0).astype(np.int64).to_numpy())
    unknown = sorted(set(figures.get("district_id", [])) - set(base.district_id))
    if unknown:
        raise ExportError(
            f"{run.label}: the plan has districts {unknown} that data/districts.csv does not know; "
            "export with the data folder the run used (MADAD_DATA)."
        )
    return table[["district_id", "district", "province_code", "province", "lon", "lat", *FIGURES]]


def published(run: Run, min_cell: int | None) -> Run:
    """The run with its plan passed through small-cell suppression (cells under ``min_cell``
    households hidden, see :func:`simulator.disclosure.suppress_plan`); unchanged when
    ``min_cell`` is None or 0."""
    if not min_cell or "disclosure" in run.plan:
        return run
    from simulator.publish.disclosure import suppress_plan

    return Run(
        suppress_plan(run.plan, k=int(min_cell)), label=run.label, folder=run.folder,
        households=run._households, hazards=run._hazards, created=run.created,
    )


def payout_list(run: Any, *, all_households: bool = False) -> pd.DataFrame:
    """The household payout list: pseudonymous ids, where, how much and in which instalment.

    Parameters
    ----------
    run : Run, RunResult, str or Path
        See :func:`load_run`.
    all_households : bool, default False
        Every household with its status (a reason code when it is not paid), not only the paid.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`PAYOUT_COLUMNS` present in the run, then ``instalment_<k>_pkr``
        for each instalment (split by the plan's rule, so each row's instalments sum to its
        ``amount_pkr``). Only allow-listed columns are kept: never a CNIC, name or PMT score.
    """
    from simulator.engine.payouts import instalment_split

    run = load_run(run)
    households = run.households
    cols = [c for c in PAYOUT_COLUMNS if c in households.columns]
    table = households[cols]
    if not all_households:
        table = table[table["amount_pkr"].to_numpy() > 0]
    table = table.reset_index(drop=True).copy()
    for c in ("province_code", "district_id", "tier", "status", "payer"):
        if c in table.columns:
            table[c] = table[c].astype(str)
    shares = [float(i["share"]) for i in run.plan.get("instalments", [])]
    if len(shares) > 1:
        split = instalment_split(table["amount_pkr"].to_numpy(dtype=np.int64), shares)
        for k, values in enumerate(split, start=1):
            table[f"instalment_{k}_pkr"] = values
    return table


# ---------------------------------------------------------------------------------------------
# JSON and Parquet / CSV
# ---------------------------------------------------------------------------------------------


def write_json(plan: dict, path: str | Path) -> Path:
    """Write the plan as JSON for other systems.

    Parameters
    ----------
    plan : dict
        A plan from :func:`simulator.plan.build`; it carries ``schema_version``.
    path : str or Path
        Output ``.json``.

    Returns
    -------
    Path
        ``path``. Keys keep the plan's order; the text is UTF-8 with a final newline, so the same
        plan always gives the same bytes.
    """
    path = Path(path)
    path.write_text(json.dumps(plan, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def write_households(result: pd.DataFrame, path: str | Path) -> Path:
    """Write the per-household result as Parquet (zstd): pseudonymous ids only, never a CNIC.

    Parameters
    ----------
    result : pandas.DataFrame
        The per-household table of a run (:func:`simulator.runner.result_table`).
    path : str or Path
        Output ``.parquet``.

    Returns
    -------
    Path
        ``path``. Schema metadata is dropped so identical tables give identical bytes.
    """
    path = Path(path)
    table = pa.Table.from_pandas(result, preserve_index=False)
    table = table.replace_schema_metadata({})
    pq.write_table(table, path, compression="zstd")
    return path


def _write_payouts(run: Run, path: Path, *, fmt: str, all_households: bool) -> Path:
    table = payout_list(run, all_households=all_households)
    if fmt == "csv":
        table.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    else:
        write_households(table, path)
    return path


# ---------------------------------------------------------------------------------------------
# Excel
# ---------------------------------------------------------------------------------------------


def _sheet(writer: pd.ExcelWriter, name: str, frame: pd.DataFrame) -> None:
    frame.to_excel(writer, sheet_name=name, index=False)
    ws = writer.sheets[name]
    ws.freeze_panes = "A2"
    for idx, column in enumerate(frame.columns, start=1):
        letter = ws.cell(row=1, column=idx).column_letter
        width = max(len(str(column)), *(len(f"{v:,}") if isinstance(v, int) else len(str(v)) for v in frame[column].head(200))) if len(frame) else len(str(column))
        ws.column_dimensions[letter].width = min(max(10, width + 2), 60)
        fmt = PKR_FORMAT if column in MONEY else COUNT_FORMAT if column in FIGURES else None
        if fmt:
            for cell in ws.iter_rows(min_row=2, min_col=idx, max_col=idx):
                cell[0].number_format = fmt


def _summary_extras(ws, plan: dict) -> None:
    """The sign-off block and the responsible agencies beside the summary figures (column D on)."""
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    bold = Font(bold=True)
    thin = Side(style="thin", color="808080")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    fill = PatternFill("solid", fgColor="FFF8DC")
    ws["D1"], ws["E1"] = "sign-off", "fill in"
    ws["D1"].font = ws["E1"].font = bold
    prefilled = plan.get("sign_off") or {}
    for i, role in enumerate(SIGN_OFF, start=2):
        ws.cell(row=i, column=4, value=role).font = bold
        cell = ws.cell(row=i, column=5, value=prefilled.get(role.replace(" ", "_")) or None)
        cell.border, cell.fill = box, fill
    row = len(SIGN_OFF) + 3
    ws.cell(row=row, column=4, value="responsible agencies").font = bold
    header = ["province", "disaster authority", "federal programmes", "provincial programme / authority", "source"]
    table = agencies(plan)
    involved = set(involved_provinces(plan))
    table = table[table.province_code.isin(involved)] if involved else table
    for j, text in enumerate(header, start=4):
        ws.cell(row=row + 1, column=j, value=text).font = bold
    for i, rec in enumerate(table.itertuples(index=False), start=row + 2):
        values = [rec.province, rec.disaster_authority, rec.federal_programmes, rec.provincial_programme, rec.source]
        for j, v in enumerate(values, start=4):
            ws.cell(row=i, column=j, value=v).alignment = Alignment(wrap_text=j == 8, vertical="top")
    note = row + 2 + len(table)
    ws.cell(row=note, column=4, value="Federal coordination: NDMA; federal programmes pay through BISP.")
    for letter, width in zip("CDEFGH", (3, 24, 28, 20, 44, 60), strict=True):
        ws.column_dimensions[letter].width = width


def write_xlsx(plan: dict, path: str | Path) -> Path:
    """Write the Excel workbook the Coordination Committee reviews.

    Parameters
    ----------
    plan : dict
        A plan from :func:`simulator.plan.build`.
    path : str or Path
        Output ``.xlsx``.

    Returns
    -------
    Path
        ``path``. Sheets: ``summary`` (scenario, national figures, status counts, a sign-off
        block to fill in and the responsible agencies), ``provinces``, ``districts``,
        ``cost-sharing``, ``dedup-budget``, ``instalments``, ``assumptions``; PKR number formats
        and frozen header rows.
    """
    path = Path(path)
    scenario = plan.get("scenario", {})
    summary = pd.DataFrame(
        [
            {"figure": "scenario", "value": scenario.get("name", "")},
            {"figure": "title", "value": scenario.get("title", "")},
            {"figure": "modelled on", "value": _modelled_on(plan) or ""},
            {"figure": "schema version", "value": plan.get("schema_version", "")},
        ]
        + ([{"figure": "registry rows", "value": plan["registry_rows"]}] if "registry_rows" in plan else [])
        + [{"figure": k, "value": v} for k, v in plan["totals"].items()]
        + [{"figure": f"status: {k}", "value": v} for k, v in plan["status_counts"].items()]
    )
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        _sheet(writer, "summary", summary)
        ws = writer.sheets["summary"]
        for row in ws.iter_rows(min_row=2):
            if isinstance(row[1].value, int | float):
                row[1].number_format = PKR_FORMAT if str(row[0].value).endswith("_pkr") else COUNT_FORMAT
        ws.column_dimensions["B"].width = max(ws.column_dimensions["B"].width, 16)
        _summary_extras(ws, plan)
        _sheet(writer, "provinces", pd.DataFrame(plan["provinces"]))
        _sheet(writer, "districts", pd.DataFrame(plan["districts"], columns=_district_columns(plan)))
        contributions = pd.DataFrame(
            plan["cost_sharing"]["contributions"],
            columns=["benefiting_province", "paying_province", "amount_pkr"],
        )
        _sheet(writer, "cost-sharing", contributions)
        dedup = pd.DataFrame(
            [
                {"item": "dedup rule", "value": plan["dedup"]["rule"]},
                {"item": "overlap households", "value": plan["dedup"]["overlap_households"]},
                {"item": "dedup savings PKR", "value": plan["dedup"]["savings_pkr"]},
                {"item": "over-budget households", "value": plan["budget"]["over_budget_households"]},
                {"item": "budget shortfall PKR", "value": plan["budget"]["shortfall_pkr"]},
            ]
            + [
                {"item": f"programme: {p['name']} ({p['owner']}, {p['expansion']}) entitled households",
                 "value": p["entitled_households"]}
                for p in plan["programmes"]
            ]
        )
        _sheet(writer, "dedup-budget", dedup)
        ws = writer.sheets["dedup-budget"]
        for row in ws.iter_rows(min_row=2):
            if isinstance(row[1].value, int | float):
                row[1].number_format = PKR_FORMAT if str(row[0].value).endswith("PKR") else COUNT_FORMAT
        _sheet(writer, "instalments", pd.DataFrame(plan["instalments"]))
        _sheet(writer, "assumptions", pd.DataFrame({"assumption": plan["assumptions"]}))
        update = plan.get("nser_update")
        if update:
            _sheet(writer, "nser-update", pd.DataFrame(update["districts"]))
            _sheet(writer, "nser-update-provinces", pd.DataFrame(update["provinces"]))
            _sheet(writer, "nser-update-assumptions", pd.DataFrame({"assumption": update["assumptions"]}))
    return path


def _district_columns(plan: dict) -> list[str]:
    if plan["districts"]:
        return list(plan["districts"][0])
    return ["district_id", "district", "province_code", "province", *FIGURES]


# ---------------------------------------------------------------------------------------------
# GeoPackage / GeoJSON
# ---------------------------------------------------------------------------------------------


def _boundaries_frame(boundaries: Any) -> gpd.GeoDataFrame | None:
    if boundaries is None:
        return None
    from simulator.registry import boundaries as boundaries_mod

    if isinstance(boundaries, str | Path):
        return boundaries_mod.load_boundaries(boundaries)
    if "district_id" not in boundaries.columns:
        raise ExportError(
            "boundaries need a district_id column of 2023 census codes; read the file with "
            "simulator.boundaries.load_boundaries(path, code_column=...)."
        )
    if boundaries.crs is None:
        raise ExportError("boundaries have no CRS; read them with simulator.boundaries.load_boundaries.")
    return boundaries.to_crs(4326) if boundaries.crs.to_epsg() != 4326 else boundaries


def district_layer(run: Any, *, boundaries: Any = None) -> gpd.GeoDataFrame:
    """Districts with the plan's figures as a GeoDataFrame in EPSG:4326.

    Parameters
    ----------
    run : Run, RunResult, str or Path
        See :func:`load_run`.
    boundaries : geopandas.GeoDataFrame, str or Path, optional
        District polygons (a frame from :func:`simulator.boundaries.load_boundaries`, or a file it
        reads). Without them each district is a point at its ``data/districts.csv`` lon/lat.

    Returns
    -------
    geopandas.GeoDataFrame
        The columns of :func:`district_table` (without lon/lat) and ``geometry``: one point per
        census district, or one polygon per boundary (boundary districts outside the census frame,
        such as AJK, carry zeros).

    Raises
    ------
    BoundaryError
        A district with households has no polygon in ``boundaries``.
    """
    import geopandas as gpd

    run = load_run(run)
    table = district_table(run)
    bounds = _boundaries_frame(boundaries)
    if bounds is None:
        geometry = gpd.points_from_xy(table.lon, table.lat, crs="EPSG:4326")
        return gpd.GeoDataFrame(table.drop(columns=["lon", "lat"]), geometry=geometry, crs="EPSG:4326")
    from simulator.registry import boundaries as boundaries_mod

    used = table.loc[table.households > 0, "district_id"]
    boundaries_mod.check_codes(bounds, used, source=f"{run.label} (districts with households)")
    merged = bounds[["district_id", "name", bounds.geometry.name]].merge(
        table.drop(columns=["lon", "lat"]), on="district_id", how="left"
    )
    merged["district"] = merged["district"].fillna(merged["name"])
    merged[["province_code", "province"]] = merged[["province_code", "province"]].fillna("")
    for c in FIGURES:
        merged[c] = merged[c].fillna(0).astype(np.int64)
    columns = ["district_id", "district", "province_code", "province", *FIGURES]
    return gpd.GeoDataFrame(merged[columns], geometry=merged.geometry.to_numpy(), crs="EPSG:4326")


def _write_geo(run: Run, path: Path, *, fmt: str, boundaries: Any) -> Path:
    layer = district_layer(run, boundaries=boundaries)
    if path.exists():
        path.unlink()  # a GeoPackage would otherwise gain a layer, a GeoJSON fail to write
    if fmt == "gpkg":
        layer.to_file(path, driver="GPKG", layer="districts")
    else:
        layer.to_file(path, driver="GeoJSON")
    return path


# ---------------------------------------------------------------------------------------------
# PDF brief
# ---------------------------------------------------------------------------------------------

#: Most pages the brief for ministers may have.
MAX_PAGES = 4
#: Colours of the brief: federal, provincial (Okabe-Ito blue and orange), text grey.
FEDERAL_COLOUR = "#0072B2"
PROVINCIAL_COLOUR = "#E69F00"
#: What a hazard layer's values are, by units (and kind where units do not tell).
_HAZARD_LABELS = {"m": "flood depth", "mm": "rainfall", "m/s": "wind speed", "degC": "temperature",
                  "g": "peak ground acceleration", ("earthquake", "index"): "shaking intensity (MMI)",
                  ("drought", "index"): "SPI drought index"}
#: Colour maps by kind (drought reversed: the driest is darkest).
_CMAPS = {"riverine-flood": "Blues", "flash-flood": "Blues", "cyclone": "PuBu", "earthquake": "Reds",
          "heatwave": "YlOrRd", "drought": "YlOrBr_r"}


def _pkr(v: int | float | None) -> str:
    return "none" if v is None else f"PKR {int(v):,}"


def _short_pkr(v: int) -> str:
    """PKR in words a minister reads at a glance: 5.3 million, 12.4 billion."""
    v = int(v)
    for size, word in ((1e9, "billion"), (1e6, "million")):
        if abs(v) >= size:
            return f"PKR {v / size:,.{1 if abs(v) < 100 * size else 0}f} {word}"
    return f"PKR {v:,}"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _modelled_on(plan: dict) -> str | None:
    text = (plan.get("scenario") or {}).get("modelled_on")
    if not text:
        return None
    text = text.strip().rstrip(".")
    if "not a reproduction" not in text.lower():
        text += " (not a reproduction)"
    return text[0].upper() + text[1:] if text.lower().startswith("modelled on") else f"Modelled on {text}"


def _hazard_label(layer: xr.DataArray) -> str:
    kind, units = layer.attrs.get("kind", ""), layer.attrs.get("units", "")
    return _HAZARD_LABELS.get((kind, units)) or _HAZARD_LABELS.get(units) or f"{kind or 'hazard'} intensity"


def _hazard_mask(kind: str, values: np.ndarray) -> np.ndarray:
    """Pixels not to draw: no data, and where the hazard is absent (no water, wind, shaking;
    no rainfall deficit). Heat is drawn everywhere."""
    mask = ~np.isfinite(values)
    with np.errstate(invalid="ignore"):
        if kind == "drought":
            return mask | (values >= 0)
        if kind == "heatwave":
            return mask
        return mask | (values <= 0)


def _display_raster(layer: xr.DataArray, max_side: int = 1200) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The layer's values in EPSG:4326 for a picture, strided to ``max_side``, and its extent.

    Rasters in another CRS are warped (nearest neighbour) for display only; the analysis never
    resamples a raster.
    """
    from affine import Affine
    from pyproj import CRS

    values = np.asarray(layer.values, dtype=np.float32)
    transform = Affine(*layer.attrs["transform"])
    crs = CRS.from_user_input(layer.attrs["crs"])
    if crs.to_epsg() != 4326:
        from rasterio.warp import Resampling, calculate_default_transform, reproject

        rows, cols = values.shape
        left, top = transform.c, transform.f
        right, bottom = transform.c + transform.a * cols, transform.f + transform.e * rows
        dst_t, w, h = calculate_default_transform(
            crs, "EPSG:4326", cols, rows, left=min(left, right), bottom=min(top, bottom),
            right=max(left, right), top=max(top, bottom),
        )
        out = np.full((h, w), np.nan, dtype=np.float32)
        reproject(values, out, src_transform=transform, src_crs=crs, dst_transform=dst_t,
                  dst_crs="EPSG:4326", resampling=Resampling.nearest, src_nodata=np.nan, dst_nodata=np.nan)
        values, transform = out, dst_t
    step = max(1, math.ceil(max(values.shape) / max_side))
    shown = values[::step, ::step]
    rows, cols = values.shape  # north-up: no rotation terms
    x0, y0 = transform.c, transform.f
    x1, y1 = transform.c + transform.a * cols, transform.f + transform.e * rows
    return shown, (min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1))


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=200, bbox_inches="tight", pad_inches=0.04)
    return buf.getvalue()


def _image(png: bytes, width: float):
    """A reportlab image of ``png`` at ``width`` [pt], keeping its aspect ratio."""
    from PIL import Image as PILImage
    from reportlab.platypus import Image

    with PILImage.open(io.BytesIO(png)) as im:
        w, h = im.size
    return Image(io.BytesIO(png), width=width, height=width * h / w)


def map_figure(run: Any, *, boundaries: Any = None, size: tuple[float, float] = (7.0, 5.2)) -> bytes:
    """The brief's map as PNG bytes: the hazard raster and paid households by district.

    Parameters
    ----------
    run : Run, RunResult, str or Path
        See :func:`load_run`.
    boundaries : geopandas.GeoDataFrame, str or Path, optional
        District polygons, drawn shaded by paid households; without them districts are circles
        at their points, sized by paid households (affected households when nobody is paid).
    size : (float, float), default (7.0, 5.2)
        Figure size [inches].

    Returns
    -------
    bytes
        A PNG at 200 dpi (matplotlib's Agg renderer; no display, no basemap).
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    run = load_run(run)
    table = district_table(run)
    for c in FIGURES:  # suppressed cells draw no symbol
        table[c] = pd.to_numeric(table[c], errors="coerce").fillna(0).astype(np.int64)
    t = run.plan["totals"]
    key = "paid_households" if t["paid_households"] else "affected_households"
    fig = Figure(figsize=size)
    ax = fig.add_axes((0.08, 0.09, 0.68, 0.89))
    inset = fig.add_axes((0.79, 0.64, 0.2, 0.34))
    cax = fig.add_axes((0.82, 0.09, 0.025, 0.26))

    hit = table[table[key] > 0]
    layer = run.hazards[0] if run.hazards else None
    xs, ys = list(hit.lon), list(hit.lat)
    image = None
    if layer is not None:
        shown, extent = _display_raster(layer)
        kind = layer.attrs.get("kind", "")
        masked = np.ma.masked_where(_hazard_mask(kind, shown), shown)
        if masked.count():
            image = ax.imshow(masked, extent=extent, origin="upper", cmap=_CMAPS.get(kind, "viridis"),
                              interpolation="nearest", zorder=1, alpha=0.9)
            rows, cols = np.nonzero(~np.ma.getmaskarray(masked))
            dx = (extent[1] - extent[0]) / shown.shape[1]
            dy = (extent[3] - extent[2]) / shown.shape[0]
            xs += [extent[0] + cols.min() * dx, extent[0] + (cols.max() + 1) * dx]
            ys += [extent[3] - (rows.max() + 1) * dy, extent[3] - rows.min() * dy]
    x0, y0, x1, y1 = data.PAKISTAN_BBOX
    box = 0.68 * size[0] / (0.89 * size[1])  # width / height of the map axes
    if xs:
        pad = 0.5
        bx0, bx1 = max(min(xs) - pad, x0), min(max(xs) + pad, x1)
        by0, by1 = max(min(ys) - pad, y0), min(max(ys) + pad, y1)
    else:
        bx0, by0, bx1, by1 = x0, y0, x1, y1
    mid = math.cos(math.radians((by0 + by1) / 2))
    w, h = max(bx1 - bx0, 3.0), max(by1 - by0, 3.0)
    if w * mid / h < box:
        w = h * box / mid
    else:
        h = w * mid / box
    cx, cy = (bx0 + bx1) / 2, (by0 + by1) / 2
    bx0, bx1, by0, by1 = cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2

    bounds = _boundaries_frame(boundaries)
    if bounds is not None:
        layer_gdf = district_layer(run, boundaries=bounds)
        layer_gdf.plot(ax=ax, facecolor="none", edgecolor="#9a9a9a", linewidth=0.4, zorder=2)
        shaded = layer_gdf[layer_gdf[key] > 0]
        if len(shaded):
            from matplotlib.cm import ScalarMappable
            from matplotlib.colors import Normalize

            norm = Normalize(vmin=0, vmax=float(shaded[key].max()))
            shaded.plot(ax=ax, column=key, cmap="Oranges", norm=norm, alpha=0.55,
                        edgecolor="#7a4a00", linewidth=0.5, zorder=3)
            scale_ax = fig.add_axes((0.82, 0.41, 0.025, 0.17))
            cb2 = fig.colorbar(ScalarMappable(norm=norm, cmap="Oranges"), cax=scale_ax)
            cb2.set_label(key.replace("_", " "), fontsize=7)
            cb2.ax.tick_params(labelsize=6.5)
    else:
        ax.scatter(table.lon, table.lat, s=6, color="#9a9a9a", zorder=2, linewidths=0)
    rivers = data.rivers()
    for _, line in rivers.groupby("river"):
        ax.plot(line.lon, line.lat, color="#5b8fd6", linewidth=0.8, alpha=0.7, zorder=2)

    biggest = max(int(hit[key].max()) if len(hit) else 1, 1)
    scale = 700.0 / biggest  # marker area [pt^2] per household

    if bounds is None and len(hit):
        ax.scatter(hit.lon, hit.lat, s=hit[key] * scale + 6, facecolor=PROVINCIAL_COLOUR,
                   edgecolor="#5a3a00", alpha=0.6, linewidths=0.6, zorder=4)
    placed: list[tuple[float, float]] = []
    for rec in hit.nlargest(8, key).itertuples():
        near = any(abs(rec.lat - y) < 0.035 * h and abs(rec.lon - x) < 0.3 * w for x, y in placed)
        if bx0 <= rec.lon <= bx1 and by0 <= rec.lat <= by1 and not near and len(placed) < 6:
            placed.append((rec.lon, rec.lat))
            radius = math.sqrt(getattr(rec, key) * scale + 6) / 2 if bounds is None else 0
            ax.annotate(rec.district, (rec.lon, rec.lat), xytext=(radius + 2, 0), textcoords="offset points",
                        fontsize=6.5, color="#111111", va="center", zorder=5,
                        bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.7})
    ax.set_xlim(bx0, bx1)
    ax.set_ylim(by0, by1)
    ax.set_aspect(1 / mid)
    ax.tick_params(labelsize=6.5)
    ax.set_xlabel("longitude [degrees E]", fontsize=7)
    ax.set_ylabel("latitude [degrees N]", fontsize=7)
    ax.grid(color="#e6e6e6", linewidth=0.4, zorder=0)

    if image is not None:
        cb = fig.colorbar(image, cax=cax)
        units = layer.attrs.get("units", "")
        cb.set_label(f"{_hazard_label(layer)} [{units}]", fontsize=7)
        cb.ax.tick_params(labelsize=6.5)
    else:
        cax.set_axis_off()
    label = key.replace("_", " ")
    if bounds is None and len(hit):
        refs = sorted({max(1, int(round(biggest * f, -int(math.log10(max(biggest * f, 1)))))) for f in (0.1, 0.5, 1.0)})
        handles = [Line2D([], [], marker="o", linestyle="", markersize=math.sqrt(r * scale + 6),
                          markerfacecolor=PROVINCIAL_COLOUR, markeredgecolor="#5a3a00", alpha=0.6,
                          label=f"{r:,}") for r in refs]
        biggest_pt = math.sqrt(refs[-1] * scale + 6) / 6.5  # in font sizes
        fig.legend(handles=handles, title=label, fontsize=6.5, title_fontsize=7, loc="upper center",
                   bbox_to_anchor=(0.89, 0.60), frameon=False, borderpad=0.3, labelspacing=0.3,
                   handletextpad=0.6, handleheight=biggest_pt, handlelength=biggest_pt)

    inset.scatter(table.lon, table.lat, s=1.2, color="#8c8c8c", linewidths=0)
    inset.add_patch(Rectangle((bx0, by0), bx1 - bx0, by1 - by0, fill=False, edgecolor="#c00000", linewidth=0.9))
    inset.set_xlim(x0, x1)
    inset.set_ylim(y0, y1)
    inset.set_aspect(1 / math.cos(math.radians(30)))
    inset.set_xticks([])
    inset.set_yticks([])
    inset.set_facecolor("white")
    inset.set_title("Pakistan: map area in red", fontsize=6.5, pad=2)
    return _png(fig)


def _split_chart(provinces: pd.DataFrame, size: tuple[float, float] = (7.0, 2.3)) -> bytes:
    """Stacked horizontal bars: federal and provincial PKR per province [PKR million]."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0], 0.32 * len(provinces) + 0.75))
    ax = fig.add_axes((0.22, 0.3, 0.74, 0.65))
    rows = provinces.iloc[::-1]
    unit, word = (1e9, "billion") if provinces.amount_pkr.max() >= 1e9 else (1e6, "million")
    fed = rows.federal_pkr.to_numpy() / unit
    prov = rows.provincial_pkr.to_numpy() / unit
    ax.barh(rows.province, fed, color=FEDERAL_COLOUR, label="federal", height=0.6)
    ax.barh(rows.province, prov, left=fed, color=PROVINCIAL_COLOUR, label="provincial", height=0.6)
    for y, (f, p) in enumerate(zip(fed, prov, strict=True)):
        ax.text(f + p, y, f"  {f + p:,.{2 if f + p < 10 else 1}f}", va="center", fontsize=7)
    ax.set_xlim(0, max((fed + prov).max(), 1e-9) * 1.18)
    ax.set_xlabel(f"PKR {word}", fontsize=7.5)
    ax.tick_params(labelsize=7.5)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    return _png(fig)


def _styles():
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet

    base = getSampleStyleSheet()
    grey = colors.HexColor("#555555")
    return {
        "title": ParagraphStyle("t", parent=base["Title"], fontSize=17, leading=21, alignment=0, spaceAfter=2),
        "subtitle": ParagraphStyle("st", parent=base["Normal"], fontSize=10.5, leading=13, textColor=grey),
        "modelled": ParagraphStyle("m", parent=base["Normal"], fontName="Helvetica-Oblique", fontSize=9,
                                   leading=12, textColor=colors.HexColor("#7a1f1f"), spaceBefore=3, spaceAfter=6),
        "h2": ParagraphStyle("h2", parent=base["Heading2"], fontSize=12, leading=15, spaceBefore=8, spaceAfter=4,
                             textColor=colors.HexColor("#1a3a5a")),
        "body": ParagraphStyle("b", parent=base["Normal"], fontSize=9, leading=12.2, spaceAfter=2.5),
        "small": ParagraphStyle("s", parent=base["Normal"], fontSize=7.5, leading=9.5, textColor=grey),
        "cell": ParagraphStyle("c", parent=base["Normal"], fontSize=8, leading=10),
        "bullet": ParagraphStyle("bl", parent=base["Normal"], fontSize=8.2, leading=10.6, leftIndent=10,
                                 bulletIndent=0, spaceAfter=1.5),
        "tile_label": ParagraphStyle("tl", parent=base["Normal"], fontSize=7.5, leading=9, textColor=grey),
        "tile_value": ParagraphStyle("tv", parent=base["Normal"], fontName="Helvetica-Bold", fontSize=13,
                                     leading=16, textColor=colors.HexColor("#1a3a5a")),
        "tile_sub": ParagraphStyle("ts", parent=base["Normal"], fontSize=7.5, leading=9),
    }


def _esc(text: Any) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _table(rows: list[list[Any]], widths: list[float], *, numeric_from: int = 1, total: bool = False):
    """A reportlab table: bold header, light banding, numbers right-aligned."""
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    tbl = Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
    style = [
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 7.8),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 7.8),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1a3a5a")),
        ("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f2f5f8")]),
        ("LINEBELOW", (0, -1), (-1, -1), 0.5, colors.HexColor("#1a3a5a")),
        ("TOPPADDING", (0, 0), (-1, -1), 2.2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.2),
    ]
    if total:
        style += [("FONT", (0, -1), (-1, -1), "Helvetica-Bold", 7.8),
                  ("LINEABOVE", (0, -1), (-1, -1), 0.6, colors.HexColor("#1a3a5a"))]
    tbl.setStyle(TableStyle(style))
    return tbl


def _numbered_canvas(footer: str):
    """A canvas class that writes 'page N of M' and ``footer`` on every page."""
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    class NumberedCanvas(canvas.Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):  # noqa: N802 (reportlab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            for state in self._pages:
                self.__dict__.update(state)
                width, _ = self._pagesize
                self.setFont("Helvetica", 7)
                self.setFillColor(colors.HexColor("#777777"))
                self.drawString(18 * mm, 10 * mm, footer)
                self.drawRightString(width - 18 * mm, 10 * mm, f"page {self._pageNumber} of {len(self._pages)}")
                super().showPage()
            super().save()

    return NumberedCanvas


def _headline_tiles(plan: dict, st: dict):
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Table, TableStyle

    t = plan["totals"]

    def tile(label: str, value: str, sub: str):
        return [Paragraph(_esc(label), st["tile_label"]), Paragraph(_esc(value), st["tile_value"]),
                Paragraph(_esc(sub), st["tile_sub"])]

    amount = t["amount_pkr"]
    cells = [
        [
            tile("Total payout", _short_pkr(amount), _pkr(amount)),
            tile("Federal government", _short_pkr(t["federal_pkr"]), f"{_pkr(t['federal_pkr'])} ({_pct(t['federal_pkr'], amount)})"),
            tile("Provincial governments", _short_pkr(t["provincial_pkr"]), f"{_pkr(t['provincial_pkr'])} ({_pct(t['provincial_pkr'], amount)})"),
        ],
        [
            tile("Affected households", f"{t['affected_households']:,}", f"{t['affected_people']:,} people"),
            tile("Households paid", f"{t['paid_households']:,}", f"{t['paid_people']:,} people"),
            tile("Affected poor not paid", f"{t['affected_poor_unpaid_households']:,}",
                 f"households with PMT <= {plan.get('targeting', {}).get('poverty_line_pmt', 32):g}"),
        ],
    ]
    w = 174 * mm / 3
    tbl = Table(cells, colWidths=[w] * 3, hAlign="LEFT")
    tbl.setStyle(TableStyle([
        ("BOX", (0, 0), (-1, -1), 0.6, colors.HexColor("#1a3a5a")),
        ("INNERGRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#c4ccd4")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef3f8")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 6),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
    ]))
    return tbl


def _narrative(plan: dict) -> list[str]:
    """Plain sentences summing up the plan for page one."""
    t = plan["totals"]
    hit = [p["province"] for p in plan["provinces"] if p.get("affected_households", 0) != 0]
    n_districts = sum(1 for d in plan["districts"] if d.get("affected_households", 0) != 0)
    inst = plan.get("instalments", [])
    out = []
    if t["affected_households"]:
        where = ", ".join(hit[:-1]) + (" and " if len(hit) > 1 else "") + hit[-1]
        out.append(
            f"The modelled event affects <b>{t['affected_households']:,} households "
            f"({t['affected_people']:,} people)</b> in {n_districts} district{'s' * (n_districts != 1)} "
            f"of {where}; {t['severely_affected_households']:,} households are severely affected and "
            f"{t['displaced_households']:,} displaced."
        )
    else:
        out.append("The modelled event affects no household in the registry.")
    days = max((i["day"] for i in inst), default=0)
    when = (f"in {len(inst)} instalments over {days} days" if len(inst) > 1 else "in one instalment")
    out.append(
        f"Under the policy, <b>{t['paid_households']:,} households ({t['paid_people']:,} people) are paid "
        f"{_pkr(t['amount_pkr'])}</b> {when}: the federal government funds {_pkr(t['federal_pkr'])} "
        f"({_pct(t['federal_pkr'], t['amount_pkr'])}) and the provinces {_pkr(t['provincial_pkr'])} "
        f"({_pct(t['provincial_pkr'], t['amount_pkr'])})."
    )
    if t["dedup_overlap_households"]:
        out.append(
            f"Paying each household once across federal and provincial programmes saves "
            f"<b>{_pkr(t['dedup_savings_pkr'])}</b> ({t['dedup_overlap_households']:,} households are "
            "entitled under both)."
        )
    if t["over_budget_households"]:
        out.append(
            f"Budget ceilings leave <b>{t['over_budget_households']:,} entitled households unpaid</b>, "
            f"a shortfall of {_pkr(t['budget_shortfall_pkr'])}."
        )
    elif t["paid_households"]:
        out.append("The budgets cover every entitled household.")
    if t["affected_poor_unpaid_households"]:
        out.append(
            f"{t['affected_poor_unpaid_households']:,} affected households at or below the poverty line "
            "are not paid under this policy."
        )
    return out


def _cost_sharing_text(plan: dict) -> str:
    cs = plan["cost_sharing"]
    share = cs.get("federal_share")
    rule = cs.get("rule")
    text = {
        "fixed": f"the federal government pays {share:.0%} of every household's amount and the "
                 "household's province the rest",
        "ownership": "each programme's owner (federal or provincial) funds what it pays",
        "key": f"the federal government pays {share:.0%}; provinces pool the rest by the "
               f"{cs.get('key')} key",
    }.get(rule, str(rule))
    return f"Cost-sharing rule <b>{_esc(rule)}</b>: {_esc(text)}. Islamabad's provincial part is federal."


def _brief_story(run: Run, map_png: bytes, *, boundaries: Any, max_assumptions: int) -> list:
    """The flowables of the brief (see :func:`write_pdf`)."""
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        CondPageBreak,
        KeepTogether,
        PageBreak,
        Paragraph,
        Spacer,
    )

    plan = run.plan
    st = _styles()
    t = plan["totals"]
    scenario = plan.get("scenario", {})
    width = 174 * mm

    story: list[Any] = [
        Paragraph(_esc(scenario.get("title") or scenario.get("name", "Scenario")), st["title"]),
        Paragraph("Joint federal-provincial response plan: brief for ministers", st["subtitle"]),
    ]
    modelled = _modelled_on(plan)
    story.append(Paragraph(_esc(modelled) if modelled else "A modelled scenario, not a forecast.", st["modelled"]))
    rows_note = ""
    if plan.get("registry_rows") and plan["registry_rows"] != t["households"]:
        rows_note = f" ({plan['registry_rows']:,} rows standing for {t['households']:,} households)"
    story.append(Paragraph(
        f"Scenario <b>{_esc(scenario.get('name', ''))}</b> &middot; run of {_esc(run.created)} &middot; "
        f"registry: {_esc(plan.get('registry', {}).get('source', 'unknown'))}{rows_note}", st["small"]))
    story += [Spacer(1, 5), _headline_tiles(plan, st), Spacer(1, 6)]
    story += [Paragraph(s, st["body"]) for s in _narrative(plan)]
    story.append(Spacer(1, 4))
    story.append(_image(map_png, width))
    layer = run.hazards[0] if run.hazards else None
    hazard = (f"{_hazard_label(layer)} [{layer.attrs.get('units', '')}]"
              if layer is not None else "hazard (no raster in the run)")
    if len(run.hazards) > 1:
        hazard += f" (the first of {len(run.hazards)} hazard layers)"
    key = "households paid" if t["paid_households"] else "affected households"
    how = "shaded district boundaries" if boundaries is not None else "circles at district points (area proportional)"
    story.append(Paragraph(
        f"Map: modelled {_esc(hazard)} and {key} by district ({how}); blue lines are rivers. "
        "A modelled footprint, not an observed map.", st["small"]))
    story.append(PageBreak())

    # Page 2: who pays.
    provinces = pd.DataFrame(plan["provinces"])
    pays = paid_by_province(plan)
    provinces["pays_pkr"] = provinces.province_code.map(lambda c: pays.get(c, 0))
    shown = provinces[provinces.province_code.isin(involved_provinces(plan))]
    shown = shown.assign(_order=shown.amount_pkr.map(_num), _pays=shown.pays_pkr.map(_num))
    shown = shown.sort_values(["_order", "_pays"], ascending=False)
    pooled = any(c["benefiting_province"] != c["paying_province"]
                 for c in plan["cost_sharing"].get("contributions", []))
    story.append(Paragraph("Who pays: the federal-provincial split by province", st["h2"]))
    story.append(Paragraph(_cost_sharing_text(plan), st["body"]))
    story.append(Spacer(1, 4))
    rows = [["Province", "Affected hh", "Paid hh", "Paid people", "Amount PKR", "Federal PKR", "Provincial PKR", "Federal"]]
    for p in shown.itertuples():
        hidden = "\u2013" in (_fmt(p.federal_pkr), _fmt(p.amount_pkr))
        share = "\u2013" if hidden else _pct(p.federal_pkr, p.amount_pkr)
        rows.append([p.province, _fmt(p.affected_households), _fmt(p.paid_households), _fmt(p.paid_people),
                     _fmt(p.amount_pkr), _fmt(p.federal_pkr), _fmt(p.provincial_pkr), share])
    rows.append(["Pakistan", f"{t['affected_households']:,}", f"{t['paid_households']:,}", f"{t['paid_people']:,}",
                 f"{t['amount_pkr']:,}", f"{t['federal_pkr']:,}", f"{t['provincial_pkr']:,}", _pct(t["federal_pkr"], t["amount_pkr"])])
    widths = [39 * mm, 17 * mm, 16 * mm, 18 * mm, 23 * mm, 23 * mm, 23 * mm, 15 * mm]
    if pooled:
        rows[0].insert(7, "Province pays")
        for row, p in zip(rows[1:], list(shown.itertuples()) + [None], strict=True):
            row.insert(7, _fmt(p.pays_pkr if p is not None else t["provincial_pkr"]))
        widths = [30 * mm, 17 * mm, 14 * mm, 17 * mm, 21 * mm, 21 * mm, 22 * mm, 20 * mm, 12 * mm]
    story.append(_table(rows, widths, total=True))
    story.append(Paragraph(
        "Amounts are for households in each province; federal and provincial PKR are the shares "
        "funding them" + ("; 'Province pays' is what each province contributes to the pool." if pooled else "."),
        st["small"]))
    known = shown[["amount_pkr", "federal_pkr", "provincial_pkr"]].notna().all(axis=1)
    paying = shown[known & (shown.amount_pkr.map(_num) > 0)].astype(
        {"amount_pkr": np.int64, "federal_pkr": np.int64, "provincial_pkr": np.int64})
    if len(paying):
        story += [Spacer(1, 4), _image(_split_chart(paying), width * 0.92)]
    transfers = [c for c in plan["cost_sharing"].get("contributions", [])
                 if c["benefiting_province"] != c["paying_province"] and c["amount_pkr"] is not None]
    if transfers:
        names = dict(zip(provinces.province_code, provinces.province, strict=True))
        rows = [["Paying province", "For households in", "Amount PKR"]]
        for c in sorted(transfers, key=lambda c: -c["amount_pkr"])[:10]:
            rows.append([names.get(c["paying_province"], c["paying_province"]),
                         names.get(c["benefiting_province"], c["benefiting_province"]), f"{c['amount_pkr']:,}"])
        story += [Spacer(1, 4), Paragraph("Pooled contributions between provinces (largest first; "
                                           "a province's share for its own households is not listed)", st["cell"]),
                  _table(rows, [50 * mm, 50 * mm, 30 * mm], numeric_from=2)]

    story.append(Paragraph("Deduplication and budget", st["h2"]))
    b = plan["budget"]
    ceilings = [f"federal {_pkr(b.get('federal_ceiling_pkr'))}" if b.get("federal_ceiling_pkr") is not None else "federal: no ceiling"]
    ceilings += [f"{k} {_pkr(v)}" for k, v in (b.get("provincial_ceilings_pkr") or {}).items()]
    rows = [
        ["Item", "Value"],
        ["Dedup rule", plan["dedup"]["rule"].replace("_", "-")],
        ["Households entitled under federal and provincial programmes", f"{plan['dedup']['overlap_households']:,}"],
        ["Savings from paying each household once", _pkr(plan["dedup"]["savings_pkr"])],
        ["Budget ceilings", "; ".join(ceilings)],
        ["Entitled households left out by the ceilings", f"{b['over_budget_households']:,}"],
        ["Budget shortfall", _pkr(b["shortfall_pkr"])],
    ]
    rows += [[f"Entitled under {p['name']} ({p['owner']}, {p['expansion'].replace('_', ' ')})",
              f"{p['entitled_households']:,}"] for p in plan.get("programmes", [])]
    from reportlab.platypus import Paragraph as P

    rows = [[P(_esc(a), st["cell"]) if i else a, b_] for i, (a, b_) in enumerate(rows)]
    story.append(_table(rows, [112 * mm, 42 * mm]))

    inst = plan.get("instalments", [])
    block = [Paragraph("Instalment timeline", st["h2"]),
             Paragraph("Day 0 is the start of the response; each instalment but the last is rounded down "
                       "to the rupee, the last pays the remainder.", st["small"]), Spacer(1, 3)]
    rows = [["Instalment", "Day", "Share", "Amount PKR", "Federal PKR", "Provincial PKR"]]
    for i in inst:
        rows.append([str(i["instalment"]), str(i["day"]), f"{i['share']:.0%}", f"{i['amount_pkr']:,}",
                     f"{i['federal_pkr']:,}", f"{i['provincial_pkr']:,}"])
    rows.append(["Total", "", "100%", f"{t['amount_pkr']:,}", f"{t['federal_pkr']:,}", f"{t['provincial_pkr']:,}"])
    block.append(_table(rows, [22 * mm, 16 * mm, 16 * mm, 36 * mm, 36 * mm, 36 * mm], total=True))
    story.append(KeepTogether(block))
    story.append(CondPageBreak(70 * mm))

    # Page 3 (or the end of page 2): where, on what assumptions, who is responsible, who signs.
    districts = pd.DataFrame(plan["districts"])
    if len(districts):
        districts = districts.assign(_a=districts.affected_households.map(_num), _m=districts.amount_pkr.map(_num))
        top = districts.sort_values(["_a", "_m"], ascending=False).head(8)
        story.append(Paragraph(f"Districts most affected (top {len(top)} of {len(districts)} by affected "
                               "households)", st["h2"]))
        rows = [["District", "Province", "Affected hh", "Displaced hh", "Paid hh", "Amount PKR"]]
        for d in top.itertuples():
            rows.append([d.district, d.province, _fmt(d.affected_households), _fmt(d.displaced_households),
                         _fmt(d.paid_households), _fmt(d.amount_pkr)])
        story.append(_table(rows, [40 * mm, 40 * mm, 22 * mm, 22 * mm, 20 * mm, 30 * mm], numeric_from=2))

    story.append(Paragraph("Key assumptions", st["h2"]))
    assumptions = list(plan.get("assumptions", []))
    limit = max_assumptions
    for a in assumptions[:limit]:
        story.append(Paragraph(_esc(a), st["bullet"], bulletText="\u2022"))
    if len(assumptions) > limit:
        story.append(Paragraph(f"... and {len(assumptions) - limit} more in plan.xlsx (sheet assumptions).", st["small"]))

    table = agencies(plan)
    table = table[table.province_code.isin(involved_provinces(plan))]
    block = [Paragraph("Responsible agencies", st["h2"])]
    rows = [["Province", "Disaster authority", "Federal programmes", "Provincial programme / authority"]]
    for a in table.itertuples():
        rows.append([P(_esc(a.province), st["cell"]), P(_esc(a.disaster_authority), st["cell"]),
                     P(_esc(a.federal_programmes), st["cell"]), P(_esc(a.provincial_programme), st["cell"])])
    block.append(_table(rows, [36 * mm, 38 * mm, 30 * mm, 70 * mm], numeric_from=99))
    block.append(Paragraph("Federal coordination: NDMA; federal programmes pay through BISP. Source: "
                           "National Disaster Management Act 2010 and the authorities' sites (data/agencies.csv).",
                           st["small"]))
    story.append(KeepTogether(block))

    story.append(CondPageBreak(55 * mm))
    block = [Paragraph("Sign-off", st["h2"])]
    rows = [["", "Name", "Designation", "Signature", "Date"]]
    rows += [[r, "", "", "", ""] for r in ("Prepared by", "Reviewed by", "Approved by")]
    sign = _table(rows, [28 * mm, 44 * mm, 44 * mm, 34 * mm, 24 * mm], numeric_from=99)
    from reportlab.lib import colors
    from reportlab.platypus import TableStyle

    sign.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#8a96a3")),
                              ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white]),
                              ("FONT", (0, 1), (0, -1), "Helvetica-Bold", 7.8),
                              ("TOPPADDING", (0, 1), (-1, -1), 9), ("BOTTOMPADDING", (0, 1), (-1, -1), 9)]))
    block += [sign, Spacer(1, 4), Paragraph(
        "Plan version: ________________ &nbsp;&nbsp;&nbsp; Date of approval: ________________",
        st["body"]), Paragraph(
        f"Plan schema {_esc(plan.get('schema_version', ''))}; produced with Madad {__version__} on "
        f"{_esc(run.created)}. Figures are modelled; all amounts in Pakistani rupees (PKR).", st["small"])]
    story.append(KeepTogether(block))

    return story


def write_pdf(
    run: Any,
    path: str | Path,
    *,
    boundaries: Any = None,
) -> Path:
    """Write the brief for ministers: two to four A4 pages.

    Page 1: headline figures in PKR, the scenario's "modelled on (not a reproduction)" line, a
    short narrative and the map. Page 2: the federal-provincial split by province (table and bar
    chart), dedup savings and budget shortfall, the instalment timeline. Page 3: the districts
    most affected, key assumptions, responsible agencies and a sign-off block.

    Parameters
    ----------
    run : Run, RunResult, str or Path
        See :func:`load_run`.
    path : str or Path
        Output ``.pdf``.
    boundaries : geopandas.GeoDataFrame, str or Path, optional
        District polygons for the map (see :func:`map_figure`).

    Returns
    -------
    Path
        ``path``.
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    run = load_run(run)
    path = Path(path)
    scenario = run.plan.get("scenario", {})
    png = map_figure(run, boundaries=boundaries)
    footer = f"Madad brief: {scenario.get('name', '')}. Modelled scenario for planning, not a forecast."
    for limit in (18, 10, 5):  # fewer assumption bullets until the brief fits on four pages
        doc = SimpleDocTemplate(
            str(path), pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=15 * mm,
            bottomMargin=17 * mm, title=f"Madad brief: {scenario.get('title', '')}", author="Madad",
            subject="Joint federal-provincial response plan", creator=f"Madad {__version__}",
        )
        doc.build(_brief_story(run, png, boundaries=boundaries, max_assumptions=limit),
                  canvasmaker=_numbered_canvas(footer))
        if doc.page <= MAX_PAGES:
            break
        log.info("brief has %d pages with %d assumptions; shortening", doc.page, limit)
    return path


# ---------------------------------------------------------------------------------------------
# The dispatcher
# ---------------------------------------------------------------------------------------------


def _export_xlsx(run: Run, out: Path, **_: Any) -> Path:
    return write_xlsx(run.plan, out)


def _export_json(run: Run, out: Path, **_: Any) -> Path:
    if "schema_version" not in run.plan:
        raise ExportError(f"{run.label}: the plan has no schema_version; run the scenario again.")
    return write_json(run.plan, out)


def _export_pdf(run: Run, out: Path, *, boundaries: Any = None, min_cell: int | None = None, **_: Any) -> Path:
    return write_pdf(published(run, min_cell), out, boundaries=boundaries)


def _export_gpkg(run: Run, out: Path, *, boundaries: Any = None, **_: Any) -> Path:
    return _write_geo(run, out, fmt="gpkg", boundaries=boundaries)


def _export_geojson(run: Run, out: Path, *, boundaries: Any = None, min_cell: int | None = None, **_: Any) -> Path:
    return _write_geo(published(run, min_cell), out, fmt="geojson", boundaries=boundaries)


def _export_csv(run: Run, out: Path, *, all_households: bool = False, **_: Any) -> Path:
    return _write_payouts(run, out, fmt="csv", all_households=all_households)


def _export_parquet(run: Run, out: Path, *, all_households: bool = False, **_: Any) -> Path:
    return _write_payouts(run, out, fmt="parquet", all_households=all_households)


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


def export(
    run_dir_or_result: Any,
    fmt: str,
    out: str | Path,
    *,
    boundaries: Any = None,
    all_households: bool = False,
    min_cell: int | None = 10,
) -> Path:
    """Export a run in one format.

    Parameters
    ----------
    run_dir_or_result : str, Path or RunResult
        A run folder written by ``madad run`` or :func:`simulator.runner.write_run`, or an
        in-memory :class:`simulator.runner.RunResult`.
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
        ``pdf`` and ``geojson`` are published: district and tehsil cells under this many
        households are suppressed (with complementary cells, so none can be recovered from
        the totals). None or 0 publishes every cell.

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
    run = load_run(run_dir_or_result)
    out = Path(out)
    if out.is_dir():
        raise ExportError(f"{out}: is a folder; give a file name such as {out / ('plan.' + name)}.")
    out.parent.mkdir(parents=True, exist_ok=True)
    bounds = _boundaries_frame(boundaries)
    writer, _ = FORMATS[name]
    log.info("exporting %s as %s to %s", run.label, name, out)
    return writer(run, out, boundaries=bounds, all_households=all_households, min_cell=min_cell)
