"""The products of a plan's ``risk`` section: a workbook for the finance departments, a PDF for
finance ministers, and the exceedance-curve picture for the README.

Written from the section (:func:`simulator.plans.risk_plan.risk_section`) and the event payout
table it was made from, so every figure equals the section's exactly (int64 PKR throughout).
Every file is written aside and swapped in (``os.replace`` after an fsync), so a reader never
sees half a file; every text cell of the workbook is formula-injection safe
(:mod:`simulator.publish.cells`).

=======================  ========================================================================
:func:`write_risk_xlsx`  sheets risk-summary, risk-metrics, risk-return-periods, risk-curves,
                         risk-layers, risk-retained, risk-pools, risk-triggers, risk-events
:func:`write_risk_pdf`   A4 pages: headline sentences, AAL and return-period payouts by payer,
                         the exceedance curve, the layer tower, layers, pools and triggers
:func:`risk_pdf_pages`   the same pages as reportlab flowables (to append to another document)
:func:`exceedance_png`   the exceedance-curve picture as a PNG file
=======================  ========================================================================
"""

from __future__ import annotations

import logging
import os
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hazards.errors import ExportError
from simulator import __version__
from simulator.plans import risk as R
from simulator.plans.risk_plan import PAYER_NAMES, headline
from simulator.publish import atomic
from simulator.publish.figures import FEDERAL_COLOUR, PROVINCIAL_COLOUR, _image, _png
from simulator.publish.xlsx import _sheet

log = logging.getLogger(__name__)

__all__ = ["RISK_SHEETS", "exceedance_figure", "exceedance_png", "risk_pdf_pages", "risk_tables",
           "tower_figure", "write_risk_pdf", "write_risk_xlsx"]

#: Sheets of the risk workbook, in order.
RISK_SHEETS = ("risk-summary", "risk-metrics", "risk-return-periods", "risk-curves", "risk-layers",
               "risk-retained", "risk-pools", "risk-triggers", "risk-events")
#: Most rows a sheet holds (Excel's limit, header included).
MAX_SHEET_ROWS = 1_048_576
#: Return periods of the PDF's table [years] (those the section reports).
PDF_RETURN_PERIODS = (10, 25, 100, 250)
#: Colours of the curves: total (black), federal, provinces together, and each province.
TOTAL_COLOUR = "#222222"
_PROVINCE_COLOURS = {"PB": "#009E73", "SD": "#D55E00", "KP": "#CC79A7", "BA": "#56B4E9", "IS": "#999999"}
_KIND_COLOURS = {"reserve": "#56B4E9", "fund": "#0072B2", "contingent_credit": "#009E73",
                 "parametric_insurance": "#CC79A7", "cat_bond": "#D55E00", "pool": "#E69F00"}


# ---------------------------------------------------------------------------------------------
# Writing aside
# ---------------------------------------------------------------------------------------------


def _write_aside(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Write ``path`` through ``write(tmp)`` beside it, flush it, then swap it in."""
    path = Path(path)
    if path.is_dir():
        raise ExportError(f"{path}: is a folder; give a file name such as {path / 'risk.xlsx'}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        write(tmp)
        atomic.fsync_file(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


# ---------------------------------------------------------------------------------------------
# Tables of the section
# ---------------------------------------------------------------------------------------------


def _metrics_table(section: dict) -> pd.DataFrame:
    rows = []
    for payer, m in section["metrics"].items():  # loops over the payers
        aal = m["aal"]
        ci = aal["ci_pkr"] or [None, None]
        rows.append({"payer": payer, "aal_pkr": aal["aal_pkr"], "aal_low_pkr": ci[0], "aal_high_pkr": ci[1],
                     "se_pkr": aal["se_pkr"], "std_pkr": aal["std_pkr"], "cv": aal["cv"],
                     "max_annual_pkr": m["max_annual_pkr"], "years_with_loss": aal["years_with_loss"],
                     "n_years": aal["n_years"], "confidence": aal["confidence"]})
    return pd.DataFrame(rows)


def _return_period_table(section: dict) -> pd.DataFrame:
    rows = []
    for payer, m in section["metrics"].items():  # loops over the payers
        for basis in R.BASES:
            for e in m[basis]:
                ci = e["ci_pkr"] or [None, None]
                rows.append({"payer": payer, "basis": basis, "return_period_years": e["return_period_years"],
                             "exceedance_probability": e["exceedance_probability"], "loss_pkr": e["loss_pkr"],
                             "low_pkr": ci[0], "high_pkr": ci[1], "coverage": e["coverage"],
                             "interpolated": e["interpolated"], "note": e["note"]})
    return pd.DataFrame(rows)


def _curve_table(section: dict) -> pd.DataFrame:
    frames = []
    for payer, bases in section["curves"].items():  # loops over the payers
        for basis, c in bases.items():
            frames.append(pd.DataFrame({"payer": payer, "basis": basis, "rank": c["rank"],
                                        "return_period_years": c["return_period_years"],
                                        "exceedance_probability": c["exceedance_probability"],
                                        "loss_pkr": np.asarray(c["loss_pkr"], dtype=np.int64)}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


LAYER_COLUMNS = ["name", "kind", "payer", "basis", "order", "attachment_pkr", "limit_pkr", "share",
                 "expected_annual_cost_pkr", "max_annual_pkr", "p_attach", "p_exhaust", "premium_multiple",
                 "indicative_premium_pkr", "source", "note"]
TRIGGER_COLUMNS = ["name", "evaluated", "index_type", "index_hazard", "index_where", "lead_days", "forecast_error",
                   "direction", "threshold", "index_units", "payout_pkr", "need_payer", "need_threshold_pkr",
                   "n_years", "fires", "once_every_years", "need_years", "hits", "false_alarms", "misses",
                   "hit_rate", "false_alarm_ratio", "released_pkr", "released_per_year_pkr",
                   "released_without_need_pkr", "text", "source", "note"]


def _where(index: dict) -> str:
    if index["type"] == "point":
        radius = f" within {index['radius_km']:g} km" if index.get("radius_km") else ""
        return f"{index['lon']:g} E, {index['lat']:g} N{radius}"
    return f"{', '.join(index['districts'])} at {index['tier']} or above"


def _trigger_table(section: dict) -> pd.DataFrame:
    rows = []
    for t in section.get("triggers") or []:  # loops over the triggers
        index = t["index"]
        rows.append({**{c: t.get(c) for c in TRIGGER_COLUMNS},
                     "index_type": index["type"], "index_hazard": index.get("hazard"), "index_where": _where(index),
                     "lead_days": index.get("lead_days"), "forecast_error": index.get("forecast_error")})
    return pd.DataFrame(rows, columns=TRIGGER_COLUMNS)


def _pool_table(section: dict) -> pd.DataFrame:
    rows = []
    for p in section.get("pools") or []:  # loops over the pools
        for funder, pkr in p["expected_annual_pkr"].items():
            rows.append({"layer": p["layer"], "payer": p["payer"], "key": p["key"],
                         "federal_share": p["federal_share"], "funder": funder, "expected_annual_pkr": pkr,
                         "max_annual_pkr": p["max_annual_pkr"][funder]})
    return pd.DataFrame(rows, columns=["layer", "payer", "key", "federal_share", "funder", "expected_annual_pkr",
                                       "max_annual_pkr"])


def _retained_table(section: dict) -> pd.DataFrame:
    rows = []
    for payer, r in (section.get("retained") or {}).items():  # loops over the payers
        row = {"payer": payer, "layers": "; ".join(r["layers"]), "aal_pkr": r["aal_pkr"],
               "covered_pkr": r["covered_pkr"], "retained_pkr": r["retained_pkr"],
               "retained_max_pkr": r["retained_max_pkr"]}
        for e in r["retained_return_periods"]:
            row[f"retained_1_in_{e['return_period_years']:g}_pkr"] = e["loss_pkr"]
        rows.append(row)
    return pd.DataFrame(rows)


def _summary_table(section: dict) -> pd.DataFrame:
    rows = [{"figure": "headline", "value": line} for line in headline(section)]
    rows += [{"figure": "simulated years", "value": section["n_years"]},
             {"figure": "paying events", "value": section["events"]},
             {"figure": "confidence of intervals", "value": section["confidence"]}]
    for h in section["by_hazard"]:  # loops over the hazards
        rows.append({"figure": f"AAL PKR, {h['hazard']} ({h['events']} events)", "value": h["aal_pkr"]})
    for es in section.get("event_sets") or []:
        rows.append({"figure": "event set", "value": ", ".join(f"{k}={v}" for k, v in es.items())})
    rows += [{"figure": f"basis: {k}", "value": v} for k, v in section["basis"].items()]
    rows += [{"figure": "reference", "value": r} for r in section["references"]]
    return pd.DataFrame(rows, columns=["figure", "value"])


def risk_tables(section: dict, table: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """The workbook's sheets as DataFrames, by sheet name (:data:`RISK_SHEETS`); ``risk-events``
    is :func:`event_rows` of the event payout table (left out when ``table`` is None: a plan's
    workbook, whose risk section comes without the table)."""
    layers = pd.DataFrame([{c: la.get(c) for c in LAYER_COLUMNS} for la in section.get("layers") or []],
                          columns=LAYER_COLUMNS)
    return {
        "risk-summary": _summary_table(section),
        "risk-metrics": _metrics_table(section),
        "risk-return-periods": _return_period_table(section),
        "risk-curves": _curve_table(section),
        "risk-layers": layers,
        "risk-retained": _retained_table(section),
        "risk-pools": _pool_table(section),
        "risk-triggers": _trigger_table(section),
    } | ({} if table is None else {"risk-events": event_rows(table)})


def event_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The event payout table as one row per event that pays anything, sorted by ``event_id``:
    ``event_id``, ``year``, ``hazard``, ``federal_pkr``, ``provincial_pkr``, ``total_pkr``,
    ``households``, then each province's total (``PB_pkr`` ...). A sheet of thousands of
    events, not five times as many rows; the full table is ``event_payouts.parquet``. Exact:
    the figures are integer sums of the table's rows."""
    t = table.loc[:, list(R.COLUMNS)]
    total = t.federal_pkr.to_numpy(np.int64) + t.provincial_pkr.to_numpy(np.int64)
    by_event = t.assign(total_pkr=total).groupby("event_id", sort=True)
    out = by_event.agg(year=("year", "first"), hazard=("hazard", "first"), federal_pkr=("federal_pkr", "sum"),
                       provincial_pkr=("provincial_pkr", "sum"), total_pkr=("total_pkr", "sum"),
                       households=("households", "sum"))
    wide = t.assign(total_pkr=total).pivot_table(index="event_id", columns="province_code", values="total_pkr",
                                                 aggfunc="sum", fill_value=0)
    for code in R.PAYERS:
        if code in wide.columns:
            out[f"{code}_pkr"] = wide[code].astype(np.int64)
    out = out[out.total_pkr > 0].reset_index()
    return out


def write_risk_xlsx(section: dict, table: pd.DataFrame, path: str | Path) -> Path:
    """Write the risk workbook.

    Parameters
    ----------
    section
        From :func:`simulator.plans.risk_plan.risk_section`.
    table
        The event payout table the section was made from (its paying events as ``risk-events``,
        :func:`event_rows`).
    path
        Output ``.xlsx``; written aside and swapped in.

    Returns
    -------
    Path
        ``path``. Sheets :data:`RISK_SHEETS`, text cells neutralised against formula
        injection, PKR number formats, frozen header rows.

    Raises
    ------
    ExportError
        A sheet longer than Excel holds (:data:`MAX_SHEET_ROWS`) or a folder as ``path``.
    """
    sheets = risk_tables(section, table)
    for name, frame in sheets.items():  # loops over the sheets
        if len(frame) + 1 > MAX_SHEET_ROWS:
            raise ExportError(f"sheet {name}: {len(frame):,} rows exceed Excel's {MAX_SHEET_ROWS - 1:,}; "
                              "write the event payout table as Parquet or CSV instead.")

    def write(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for name, frame in sheets.items():  # loops over the sheets
                _sheet(writer, name, frame)
            ws = writer.sheets["risk-summary"]
            ws.column_dimensions["B"].width = 110
            from simulator.publish.tables import PKR_FORMAT

            for row in ws.iter_rows(min_row=2):
                if isinstance(row[1].value, int) and "PKR" in str(row[0].value):
                    row[1].number_format = PKR_FORMAT

    out = _write_aside(path, write)
    log.info("wrote risk workbook %s (%d events)", out, int(section["events"]))
    return out


# ---------------------------------------------------------------------------------------------
# Pictures
# ---------------------------------------------------------------------------------------------


def _plain_text(text: Any) -> str:
    """Text for a matplotlib label: ``$`` escaped so that no name is read as mathtext."""
    return str(text).replace("$", r"\$")


def _unit(values) -> tuple[float, str]:
    top = max([0, *values])
    return (1e9, "billion") if top >= 1e9 else (1e6, "million")


def exceedance_figure(section: dict, *, basis: str = "aep", size: tuple[float, float] = (7.0, 3.4)):
    """The exceedance curves (matplotlib Figure, Agg; no display): annual loss [PKR] against
    return period [years, log scale] for all governments, the federal government, the
    provinces together and each province that pays."""
    from matplotlib.figure import Figure

    curves = section["curves"]
    fig = Figure(figsize=size)
    ax = fig.add_axes((0.1, 0.15, 0.62, 0.78))
    # the provinces together drawn under the federal line, wider, so that a 50/50 split (two
    # equal curves) still shows both
    shown = [("total", TOTAL_COLOUR, 2.0, "-"), ("provinces", PROVINCIAL_COLOUR, 3.2, "-"),
             ("federal", FEDERAL_COLOUR, 1.3, "-")]
    shown += [(p, _PROVINCE_COLOURS[p], 0.9, "--") for p in R.PROVINCES
              if p in curves and section["metrics"][p]["aal"]["aal_pkr"] > 0]
    unit, word = _unit(curves["total"][basis]["loss_pkr"])
    for payer, colour, width, style in shown:  # loops over the curves drawn
        c = curves[payer][basis]
        label = {"total": "all governments", "federal": "federal", "provinces": "provinces together"}.get(
            payer, PAYER_NAMES.get(payer, payer))
        # points joined by straight lines: the reported 1-in-T losses interpolate between ranks
        ax.plot(c["return_period_years"], np.asarray(c["loss_pkr"], dtype=float) / unit,
                color=colour, lw=width, ls=style, label=label)
    ax.set_xscale("log")
    from matplotlib.ticker import FuncFormatter, NullFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(1, max(section["n_years"], 2))
    ax.set_ylim(bottom=0)
    ax.set_xlabel("return period [years] (1 / annual exceedance probability)", fontsize=7.5)
    what = "aggregate" if basis == "aep" else "largest event"
    ax.set_ylabel(f"annual loss ({what}) [PKR {word}]", fontsize=7.5)
    marks = [t for t in section["return_periods"] if t <= section["n_years"]]
    for t in marks:
        ax.axvline(t, color="#dddddd", lw=0.6, zorder=0)
    ax.set_xticks(sorted({1, *marks, section["n_years"]}))
    ax.tick_params(labelsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    ax.set_title(f"{basis.upper()} exceedance curves, {section['n_years']:,} simulated years", fontsize=8.5,
                 loc="left")
    return fig


def exceedance_png(section: dict, path: str | Path, *, basis: str = "aep") -> Path:
    """Write :func:`exceedance_figure` as a PNG (200 dpi), aside and swapped in."""
    png = _png(exceedance_figure(section, basis=basis))
    return _write_aside(path, lambda tmp: tmp.write_bytes(png))


def tower_figure(section: dict, size: tuple[float, float] = (7.0, 3.2)):
    """The layer towers (matplotlib Figure): one column per payer with layers; each layer a box
    from its attachment to attachment + limit [PKR] (an unlimited layer drawn to the payer's
    largest annual loss, open at the top), as wide as its share, labelled with its expected
    annual cost; the payer's 1-in-N losses marked beside it."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    layers = section.get("layers") or []
    payers = list(dict.fromkeys(la["payer"] for la in layers))
    fig = Figure(figsize=size)
    ax = fig.add_axes((0.1, 0.12, 0.88, 0.8))
    if not payers:
        ax.text(0.5, 0.5, "no layers declared", ha="center", va="center", fontsize=9)
        ax.set_axis_off()
        return fig
    tops = []
    for la in layers:
        top = la["attachment_pkr"] + (la["limit_pkr"] if la["limit_pkr"] is not None
                                      else max(section["metrics"][la["payer"]]["max_annual_pkr"] - la["attachment_pkr"], 1))
        tops.append(top)
    marks = [e["loss_pkr"] for p in payers for e in section["metrics"][p]["aep"]
             if e["loss_pkr"] is not None and e["return_period_years"] in (10, 100)]
    unit, word = _unit(tops + marks)
    ymax = max(tops + marks) / unit * 1.12  # the 1-in-10 and 1-in-100 marks inside the axes
    inch_per_unit = size[0] * 0.88 / (len(payers) + 0.2)
    for x, payer in enumerate(payers):  # loops over the payers
        mine = [(la, top) for la, top in zip(layers, tops, strict=True) if la["payer"] == payer]
        both = len({la["basis"] for la, _ in mine}) == 2  # aggregate left half, per event right half
        drawn: list[tuple[str, float, float, float]] = []  # basis, y0, y1, right edge
        for la, top in mine:
            y0, y1 = la["attachment_pkr"] / unit, top / unit
            full = 0.35 if both else 0.7
            start = x - 0.35 + (0.35 if both and la["basis"] == "occurrence" else 0.0)
            # a quota share of a band already drawn goes beside it
            x0 = max([start, *(e for b, a, t, e in drawn if b == la["basis"] and a < y1 and y0 < t)])
            width = full * float(la["share"])
            drawn.append((la["basis"], y0, y1, x0 + width))
            ax.add_patch(Rectangle((x0, y0), width, y1 - y0, facecolor=_KIND_COLOURS.get(la["kind"], "#999999"),
                                   edgecolor="white", lw=1.0, alpha=0.9,
                                   hatch="//" if la["basis"] == "occurrence" else None))
            chars = max(int(width * inch_per_unit / 0.05), 4)  # bold 6 pt: about 0.05 inch a character
            label = "\n".join([*textwrap.wrap(_plain_text(la["name"]), chars)[:3],
                               f"{la['expected_annual_cost_pkr'] / unit:,.1f} {'bn' if word == 'billion' else 'm'}/yr"]
                              + ([] if la["limit_pkr"] is not None else ["(no limit)"]))
            if chars >= 8:
                ax.text(x0 + width / 2, (y0 + y1) / 2, label, ha="center", va="center", fontsize=6,
                        color="white", fontweight="bold", clip_on=True)
            else:  # a narrow box: the label beside it
                label = "\n".join([*textwrap.wrap(_plain_text(la["name"]), 14)[:3], label.rsplit("\n", 1)[-1]])
                ax.text(x0 + width + 0.02, (y0 + y1) / 2, label, ha="left", va="center", fontsize=5.5,
                        color="#333333", clip_on=True)
        for e in section["metrics"][payer]["aep"]:
            if e["loss_pkr"] is None or e["return_period_years"] not in (10, 100):
                continue
            y = e["loss_pkr"] / unit
            ax.plot([x - 0.42, x + 0.42], [y, y], color="#333333", lw=0.8, ls=":")
            ax.text(x + 0.43, y, f"1-in-{e['return_period_years']:g}", fontsize=5.5, va="center", clip_on=True)
    ax.set_xlim(-0.6, len(payers) - 0.4)
    ax.set_ylim(0, ymax)
    ax.set_xticks(range(len(payers)), [PAYER_NAMES.get(p, p) for p in payers], fontsize=7)
    ax.set_ylabel(f"loss [PKR {word}]", fontsize=7.5)
    ax.tick_params(labelsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title("Layer towers: attachment to limit, expected annual cost (hatched: per event)", fontsize=8.5,
                 loc="left")
    return fig


# ---------------------------------------------------------------------------------------------
# The PDF
# ---------------------------------------------------------------------------------------------


def _pkr_cell(pkr: int | None, ci: list | None = None) -> str:
    """A table cell in PKR billion with its interval below: ``12.3`` / ``(10.1-14.5)``."""
    if pkr is None:
        return "beyond the set"
    text = f"{pkr / 1e9:,.2f}"
    if ci:
        low, high = ci
        text += f"\n({low / 1e9:,.2f}-{'?' if high is None else f'{high / 1e9:,.2f}'})"
    return text


def _payers_shown(section: dict) -> list[str]:
    return ["federal", *[p for p in R.PROVINCES if section["metrics"][p]["aal"]["aal_pkr"] > 0], "total"]


def _metrics_rows(section: dict) -> list[list[str]]:
    periods = [t for t in section["return_periods"] if t in PDF_RETURN_PERIODS]
    if not any(t <= section["n_years"] for t in periods):  # a short set: its own rarest periods
        periods = [t for t in section["return_periods"] if t <= section["n_years"]][-4:]
    head = ["payer", "average year", *[f"1-in-{t}" for t in periods]]
    rows = [head]
    for payer in _payers_shown(section):  # loops over the payers shown
        m = section["metrics"][payer]
        row = [PAYER_NAMES[payer], _pkr_cell(m["aal"]["aal_pkr"], m["aal"]["ci_pkr"])]
        for t in periods:
            e = next(x for x in m["aep"] if x["return_period_years"] == t)
            row.append(_pkr_cell(e["loss_pkr"], e["ci_pkr"]))
        rows.append(row)
    return rows


def _pct_or_dash(p: float | None) -> str:
    return "-" if p is None else f"{p:.1%}"


def risk_pdf_pages(section: dict, *, title: str | None = None) -> list:
    """The risk pages as reportlab flowables (to build alone, :func:`write_risk_pdf`, or to
    append to another document): headline sentences, the payers' average and 1-in-N years, the
    exceedance curve, the layer tower and tables of layers, pools and triggers, the basis."""
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Paragraph, Spacer

    from simulator.publish.pdf import _esc, _styles, _table

    st = _styles()
    width = 174 * mm
    story: list = [Paragraph(_esc(title or "Disaster risk financing"), st["title"]),
                   Paragraph(_esc(f"What a year of disasters costs each government: {section['n_years']:,} simulated "
                                  f"years, {section['events']:,} paying events. A model of the risk, not a forecast."),
                             st["subtitle"]),
                   Spacer(1, 4)]
    story += [Paragraph(_esc(line), st["bullet"], bulletText="\u2022") for line in headline(section)]
    story += [Paragraph("What each government pays [PKR billion, 90% interval below]".replace(
        "90%", f"{section['confidence']:.0%}"), st["h2"])]
    rows = _metrics_rows(section)
    cols = len(rows[0])
    story.append(_table(rows, [width * 0.28] + [width * 0.72 / (cols - 1)] * (cols - 1), total=True))
    story.append(Paragraph(_esc("Annual aggregate losses (AEP). '?': the set is too short to bound the interval "
                                "from above; 'beyond the set': a return period longer than the set's years."),
                           st["small"]))
    story.append(KeepTogether([Paragraph("How often losses this large come", st["h2"]),
                               _image(_png(exceedance_figure(section)), width * 0.9)]))
    if section.get("layers") is not None:
        story.append(KeepTogether([Paragraph("Layers: who pays which band of the loss", st["h2"]),
                                   _image(_png(tower_figure(section)), width)]))
        if section["layers"]:
            head = ["layer", "payer", "band [PKR bn]", "expected/yr", "P(used)", "P(exhausted)", "premium/yr"]
            rows = [head]
            for la in section["layers"]:  # loops over the layers
                top = "" if la["limit_pkr"] is None else f"{(la['attachment_pkr'] + la['limit_pkr']) / 1e9:,.1f}"
                band = f"{la['attachment_pkr'] / 1e9:,.1f}-{top or 'no limit'}"
                band += " per event" if la["basis"] == "occurrence" else ""
                rows.append([la["name"], la["payer"], band, _pkr_cell(la["expected_annual_cost_pkr"]),
                             _pct_or_dash(la["p_attach"]), _pct_or_dash(la["p_exhaust"]),
                             "-" if la["indicative_premium_pkr"] is None else
                             f"{_pkr_cell(la['indicative_premium_pkr'])} ({la['premium_multiple']:g}x)"])
            story.append(_table(rows, [w * width for w in (0.24, 0.08, 0.2, 0.12, 0.1, 0.11, 0.15)], numeric_from=2))
            story.append(Paragraph(_esc("PKR billion. Premium: expected annual cost x the stated multiple, an "
                                        "indication, not a quote."), st["small"]))
        if section.get("pools"):
            story.append(Paragraph("Pooled layers: who funds them in an average year [PKR billion]", st["h2"]))
            funders = list(section["pools"][0]["expected_annual_pkr"])
            rows = [["layer", "key", *funders]]
            for p in section["pools"]:  # loops over the pools
                rows.append([p["layer"], f"{p['key']}, {p['federal_share']:.0%} federal",
                             *[_pkr_cell(p["expected_annual_pkr"][f]) for f in funders]])
            story.append(_table(rows, [width * 0.26, width * 0.24] + [width * 0.5 / len(funders)] * len(funders),
                                numeric_from=2))
        if section.get("triggers"):
            story.append(Paragraph("Parametric triggers: money released early, and basis risk", st["h2"]))
            rows = [["trigger", "index", "fires", "payout", "false al.", "misses", "hit rate"]]
            for t in section["triggers"]:  # loops over the triggers
                where = _where(t["index"])
                units = f" {t['index_units']}" if t.get("index_units") not in (None, "", "1") else ""
                index = f"{t['direction']} {t['threshold']:g}{units} at {where}"
                if t["index"].get("lead_days"):
                    index += f", forecast {t['index']['lead_days']} days ahead"
                if not t.get("evaluated"):
                    rows.append([t["name"], index, "not evaluated", _pkr_cell(t["payout_pkr"]), "-", "-", "-"])
                    continue
                fires = "never" if t["once_every_years"] is None else f"1 in {t['once_every_years']:g} yrs"
                rows.append([t["name"], index, fires, _pkr_cell(t["payout_pkr"]), str(t["false_alarms"]),
                             str(t["misses"]), _pct_or_dash(t["hit_rate"])])
            cell = st["cell"]
            rows = [rows[0]] + [[Paragraph(_esc(r[0]), cell), Paragraph(_esc(r[1]), cell), *r[2:]] for r in rows[1:]]
            story.append(_table(rows, [w * width for w in (0.18, 0.34, 0.12, 0.09, 0.09, 0.08, 0.1)], numeric_from=2))
            story.append(Paragraph(_esc("Payout in PKR billion, at most once a year. False alarm: fires in a year "
                                        "without need; miss: need without firing; hit rate: years of need it fires in."),
                                   st["small"]))
    story += [Paragraph("Basis", st["h2"])]
    story += [Paragraph(_esc(f"{k}: {v}"), st["small"]) for k, v in section["basis"].items()]
    story += [Spacer(1, 3), Paragraph("References", st["h2"])]
    story += [Paragraph(_esc(r), st["small"]) for r in section["references"]]
    return story


def write_risk_pdf(section: dict, path: str | Path, *, title: str | None = None, scenario: str | None = None) -> Path:
    """Write the risk brief for finance ministers (A4), aside and swapped in.

    Parameters
    ----------
    section
        From :func:`simulator.plans.risk_plan.risk_section`.
    path
        Output ``.pdf``.
    title
        Heading (default "Disaster risk financing").
    scenario
        The scenario's name, for the footer.

    Returns
    -------
    Path
        ``path``.
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    from simulator.publish.pdf import _numbered_canvas

    footer = f"Madad risk brief{': ' + scenario if scenario else ''}. Modelled risk for planning, not a forecast."

    def write(tmp: Path) -> None:
        doc = SimpleDocTemplate(str(tmp), pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=15 * mm,
                                bottomMargin=17 * mm, title=title or "Madad risk brief", author="Madad",
                                subject="Disaster risk financing", creator=f"Madad {__version__}")
        doc.build(risk_pdf_pages(section, title=title), canvasmaker=_numbered_canvas(footer))

    out = _write_aside(path, write)
    log.info("wrote risk brief %s", out)
    return out
