"""The PDF brief for ministers: two to four A4 pages, written section by section from the plan.

Every figure and every sentence about the policy comes from the plan (the policy actually run):
the heading is ``plan["scenario"]["title"]`` (which says "edited" when the planner changed the
library's policy) and the key assumptions are ``plan["assumptions"]``, generated from the active
policy. Nothing is restated from the library scenario file.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hazards.tables import BOUNDARY_ATTRIBUTION
from simulator import __version__
from simulator.plans.agencies import agencies, involved_provinces, paid_by_province
from simulator.publish.figures import _hazard_label, _image, _split_chart, map_figure
from simulator.publish.runs import Run, load_run
from simulator.publish.tables import _fmt, _modelled_on, _num, _pct, _pkr, _short_pkr
from simulator.publish.xlsx import approval_line, signature_rows

log = logging.getLogger(__name__)

__all__ = ["LANGS", "MAX_PAGES", "write_pdf"]

#: Languages of the brief: English (the whole brief) and Urdu (its headline pages, right to
#: left; :mod:`simulator.publish.pdf_ur`).
LANGS = ("en", "ur")

#: Most pages the brief for ministers may have.
MAX_PAGES = 4
#: Width of the text block [pt] (A4 less 18 mm margins).
_WIDTH_MM = 174


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


def numbered_canvas(draw_footer):
    """A ReportLab canvas class that knows the number of pages when it draws each page's footer:
    pages are kept until the document is saved, then ``draw_footer(canvas, page, pages, width)``
    is called on each before it is written."""
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
                draw_footer(self, self._pageNumber, len(self._pages), self._pagesize[0])
                super().showPage()
            super().save()

    return NumberedCanvas


def _numbered_canvas(footer: str):
    """A canvas class that writes 'page N of M' and ``footer`` on every page."""
    from reportlab.lib import colors
    from reportlab.lib.units import mm

    def draw(c, page: int, pages: int, width: float) -> None:
        c.setFont("Helvetica", 7)
        c.setFillColor(colors.HexColor("#777777"))
        c.drawString(18 * mm, 10 * mm, footer)
        c.drawRightString(width - 18 * mm, 10 * mm, f"page {page} of {pages}")

    return numbered_canvas(draw)


def _poverty_line(plan: dict) -> str:
    """Who counts as poor, as the plan's policy sets it (never a library default)."""
    line = (plan.get("targeting") or {}).get("poverty_line_pmt")
    return "households at or below the poverty line" if line is None else f"households with PMT <= {line:g}"


def _headline_tiles(plan: dict, st: dict):
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Table

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
            tile("Affected poor not paid", f"{t['affected_poor_unpaid_households']:,}", _poverty_line(plan)),
        ],
    ]
    w = 174 * mm / 3
    tbl = Table(cells, colWidths=[w] * 3, hAlign="LEFT")
    tbl.setStyle(tiles_style("LEFT"))
    return tbl


def tiles_style(reading_side: str, *, top: float = 4, bottom: float = 5):
    """The ReportLab style of page one's headline tiles (boxed, the first row shaded), padded
    on ``reading_side`` ("LEFT" for English, "RIGHT" for the Urdu brief)."""
    from reportlab.lib import colors
    from reportlab.platypus import TableStyle

    return TableStyle([
        ("BOX", (0, 0), (-1, -1), 0.6, colors.HexColor("#1a3a5a")),
        ("INNERGRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#c4ccd4")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef3f8")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        (f"{reading_side}PADDING", (0, 0), (-1, -1), 6),
        ("TOPPADDING", (0, 0), (-1, -1), top),
        ("BOTTOMPADDING", (0, 0), (-1, -1), bottom),
    ])


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


# ---------------------------------------------------------------------------------------------
# The brief, section by section: each function returns its flowables.
# ---------------------------------------------------------------------------------------------


def _heading(run: Run, st: dict) -> list:
    """Page 1 heading: the plan's scenario title (marked "edited" when the policy was), the
    "modelled on (not a reproduction)" line, and the run and registry it comes from."""
    from reportlab.platypus import Paragraph

    plan = run.plan
    t = plan["totals"]
    scenario = plan.get("scenario", {})
    modelled = _modelled_on(plan)
    rows_note = ""
    perturbed = plan.get("disclosure", {}).get("perturbation")
    unit = perturbed.get("unit_households_per_row", 1) if perturbed else None
    if perturbed and unit > 1:
        rows_note = f" ({plan['registry_rows']:,} rows, about {unit:,} households each)"
    elif not perturbed and plan.get("registry_rows") and plan["registry_rows"] != t["households"]:
        rows_note = f" ({plan['registry_rows']:,} rows standing for {t['households']:,} households)"
    return [
        Paragraph(_esc(scenario.get("title") or scenario.get("name", "Scenario")), st["title"]),
        Paragraph("Joint federal-provincial response plan: brief for ministers", st["subtitle"]),
        Paragraph(_esc(modelled) if modelled else "A modelled scenario, not a forecast.", st["modelled"]),
        Paragraph(
            f"Scenario <b>{_esc(scenario.get('name', ''))}</b> &middot; run of {_esc(run.created)} &middot; "
            f"registry: {_esc(plan.get('registry', {}).get('source', 'unknown'))}{rows_note}", st["small"]),
        *([Paragraph(_esc(protection_note(plan)), st["small"])] if perturbed else []),
    ]


def protection_note(plan: dict) -> str:
    """One sentence on the disclosure protection of a published plan (empty for an exact one)."""
    d = plan.get("disclosure", {})
    p = d.get("perturbation")
    if not p:
        return ""
    return (f"Published figures are protected: every count is perturbed by the cell-key method (noise of a "
            f"few households, at most {p['ptable_bound_rows'] * p['unit_households_per_row']:,}, zero on "
            f"average; PKR follow their count, to the nearest {p['pkr_base']:,}), so they differ slightly "
            f"from the plan's exact figures; districts add up to provinces and provinces to the Pakistan "
            f"totals, which are perturbed too. Cells under {d.get('k', 10)} households are hidden (\u2013).")


def _overview(run: Run, map_png: bytes, st: dict, *, boundaries: Any) -> list:
    """Page 1 body: headline figures, the narrative, the map and its caption."""
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, Paragraph, Spacer

    plan = run.plan
    story: list[Any] = [Spacer(1, 5), _headline_tiles(plan, st), Spacer(1, 6)]
    if plan.get("ensemble"):
        from simulator.plans.ensemble import likely

        e = plan["ensemble"]
        story += [Paragraph(_esc(f"{label}: {likely(e, metric)}"), st["body"])
                  for metric, label in (("affected_households", "Households affected"),
                                        ("paid_households", "Households paid"), ("amount_pkr", "Amount"))]
        story.append(Paragraph(_esc(e["note"]), st["body"]))
    if plan.get("delivery"):
        from simulator.plans.delivery_plan import headline

        story.append(Paragraph(_esc(headline(plan["delivery"])), st["body"]))
    story += [Paragraph(s, st["body"]) for s in _narrative(plan)]
    story += [Spacer(1, 4), _image(map_png, _WIDTH_MM * mm)]
    layer = run.hazards[0] if run.hazards else None
    hazard = (f"{_hazard_label(layer)} [{layer.attrs.get('units', '')}]"
              if layer is not None else "hazard (no raster in the run)")
    if len(run.hazards) > 1:
        hazard += f" (the first of {len(run.hazards)} hazard layers)"
    key = "households paid" if plan["totals"]["paid_households"] else "affected households"
    how = "shaded district boundaries" if boundaries is not None else "circles at district points (area proportional)"
    lines = ("dark grey lines are provinces, light grey lines districts; " if boundaries is None
             else "dark grey lines are provinces; ")
    story.append(Paragraph(
        f"Map: modelled {_esc(hazard)} and {key} by district ({how}); {lines}blue lines are rivers. "
        f"A modelled footprint, not an observed map. {_esc(BOUNDARY_ATTRIBUTION)}.", st["small"]))
    story.append(PageBreak())
    return story


def _provinces_shown(plan: dict) -> pd.DataFrame:
    """The involved provinces with what each pays into the pool, largest amount first."""
    provinces = pd.DataFrame(plan["provinces"])
    pays = paid_by_province(plan)
    provinces["pays_pkr"] = provinces.province_code.map(lambda c: pays.get(c, 0))
    shown = provinces[provinces.province_code.isin(involved_provinces(plan))]
    shown = shown.assign(_order=shown.amount_pkr.map(_num), _pays=shown.pays_pkr.map(_num))
    return shown.sort_values(["_order", "_pays"], ascending=False)


def _split_table(plan: dict, shown: pd.DataFrame, *, pooled: bool):
    """The federal-provincial split by province, with a Pakistan total row."""
    from reportlab.lib.units import mm

    t = plan["totals"]
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
    return _table(rows, widths, total=True)


def _pooled_transfers(plan: dict, st: dict) -> list:
    """The ten largest contributions one province makes for another's households (pooled keys)."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer

    transfers = [c for c in plan["cost_sharing"].get("contributions", [])
                 if c["benefiting_province"] != c["paying_province"] and c["amount_pkr"] is not None]
    if not transfers:
        return []
    provinces = pd.DataFrame(plan["provinces"])
    names = dict(zip(provinces.province_code, provinces.province, strict=True))
    rows = [["Paying province", "For households in", "Amount PKR"]]
    for c in sorted(transfers, key=lambda c: -c["amount_pkr"])[:10]:
        rows.append([names.get(c["paying_province"], c["paying_province"]),
                     names.get(c["benefiting_province"], c["benefiting_province"]), f"{c['amount_pkr']:,}"])
    return [Spacer(1, 4), Paragraph("Pooled contributions between provinces (largest first; "
                                    "a province's share for its own households is not listed)", st["cell"]),
            _table(rows, [50 * mm, 50 * mm, 30 * mm], numeric_from=2)]


def _who_pays(plan: dict, st: dict) -> list:
    """Page 2: the cost-sharing rule the plan used, the split by province (table and chart) and
    pooled contributions between provinces."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer

    shown = _provinces_shown(plan)
    pooled = any(c["benefiting_province"] != c["paying_province"]
                 for c in plan["cost_sharing"].get("contributions", []))
    story: list[Any] = [
        Paragraph("Who pays: the federal-provincial split by province", st["h2"]),
        Paragraph(_cost_sharing_text(plan), st["body"]),
        Spacer(1, 4),
        _split_table(plan, shown, pooled=pooled),
        Paragraph(
            "Amounts are for households in each province; federal and provincial PKR are the shares "
            "funding them" + ("; 'Province pays' is what each province contributes to the pool." if pooled else "."),
            st["small"]),
    ]
    known = shown[["amount_pkr", "federal_pkr", "provincial_pkr"]].notna().all(axis=1)
    paying = shown[known & (shown.amount_pkr.map(_num) > 0)].astype(
        {"amount_pkr": np.int64, "federal_pkr": np.int64, "provincial_pkr": np.int64})
    if len(paying):
        story += [Spacer(1, 4), _image(_split_chart(paying), _WIDTH_MM * mm * 0.92)]
    return story + _pooled_transfers(plan, st)


def _dedup_and_budget(plan: dict, st: dict) -> list:
    """Page 2: the dedup rule and its savings, the budget ceilings and who they leave out."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph

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
    rows = [[Paragraph(_esc(a), st["cell"]) if i else a, value] for i, (a, value) in enumerate(rows)]
    return [Paragraph("Deduplication and budget", st["h2"]), _table(rows, [112 * mm, 42 * mm])]


def _instalment_timeline(plan: dict, st: dict) -> list:
    """Page 2: when each instalment is paid and how it is funded; then a page break if the
    rest of page 2 is too short for the next section."""
    from reportlab.lib.units import mm
    from reportlab.platypus import CondPageBreak, KeepTogether, Paragraph, Spacer

    t = plan["totals"]
    block = [Paragraph("Instalment timeline", st["h2"]),
             Paragraph("Day 0 is the start of the response; each instalment but the last is rounded down "
                       "to the rupee, the last pays the remainder.", st["small"]), Spacer(1, 3)]
    rows = [["Instalment", "Day", "Share", "Amount PKR", "Federal PKR", "Provincial PKR"]]
    for i in plan.get("instalments", []):
        rows.append([str(i["instalment"]), str(i["day"]), f"{i['share']:.0%}", f"{i['amount_pkr']:,}",
                     f"{i['federal_pkr']:,}", f"{i['provincial_pkr']:,}"])
    rows.append(["Total", "", "100%", f"{t['amount_pkr']:,}", f"{t['federal_pkr']:,}", f"{t['provincial_pkr']:,}"])
    block.append(_table(rows, [22 * mm, 16 * mm, 16 * mm, 36 * mm, 36 * mm, 36 * mm], total=True))
    return [KeepTogether(block), CondPageBreak(70 * mm)]


def _delivery(plan: dict, st: dict) -> list:
    """Where and how fast the paid households are paid, per province (with a ``delivery``
    block in the scenario)."""
    from reportlab.lib.units import mm
    from reportlab.platypus import CondPageBreak, KeepTogether, Paragraph, Spacer

    d = plan.get("delivery")
    if not d:
        return []
    src = d["sites_source"]
    shown = " (ILLUSTRATIVE: not BISP's real list)" if src.get("illustrative") else ""
    block = [Paragraph("Delivery: sites, days to pay and campsites", st["h2"]),
             Paragraph(_esc(f"{d['totals']['sites']:,} sites from {Path(src['file']).name}"
                            f"{shown}; "
                            f"travel: {d['assumptions'].get('travel', 'straight line')}; sites close at "
                            f"tier {d['assumptions']['closure_tier']}. Campsites are provincial sites sited by "
                            f"{d.get('campsite_method') or 'none'}."), st["small"]), Spacer(1, 3)]
    rows = [["Province", "Households", "Days to pay", "Sites closed", "Campsites", f"Beyond {d['assumptions']['far_limit_km']:g} km"]]
    for p in d["provinces"]:
        rows.append([_esc(p["province_code"]), f"{p['households']:,}", f"{p['days_to_pay']:,}", f"{p['sites_closed']:,}",
                     f"{p['campsites']:,}", f"{p['beyond_limit_households']:,}"])
    block.append(_table(rows, [30 * mm, 30 * mm, 24 * mm, 26 * mm, 24 * mm, 28 * mm]))
    return [KeepTogether(block), CondPageBreak(70 * mm)]


def _top_districts(plan: dict, st: dict) -> list:
    """Page 3: the eight districts with the most affected households."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph

    districts = pd.DataFrame(plan["districts"])
    if not len(districts):
        return []
    districts = districts.assign(_a=districts.affected_households.map(_num), _m=districts.amount_pkr.map(_num))
    top = districts.sort_values(["_a", "_m"], ascending=False).head(8)
    rows = [["District", "Province", "Affected hh", "Displaced hh", "Paid hh", "Amount PKR"]]
    for d in top.itertuples():
        rows.append([d.district, d.province, _fmt(d.affected_households), _fmt(d.displaced_households),
                     _fmt(d.paid_households), _fmt(d.amount_pkr)])
    return [Paragraph(f"Districts most affected (top {len(top)} of {len(districts)} by affected "
                      "households)", st["h2"]),
            _table(rows, [40 * mm, 40 * mm, 22 * mm, 22 * mm, 20 * mm, 30 * mm], numeric_from=2)]


def _key_assumptions(plan: dict, st: dict, *, limit: int) -> list:
    """Page 3: the plan's assumptions, generated from the policy actually run (the first says
    the policy was edited, and how, when it was); the first ``limit`` of them."""
    from reportlab.platypus import Paragraph

    assumptions = list(plan.get("assumptions", []))
    story = [Paragraph("Key assumptions", st["h2"])]
    story += [Paragraph(_esc(a), st["bullet"], bulletText="\u2022") for a in assumptions[:limit]]
    if len(assumptions) > limit:
        story.append(Paragraph(f"... and {len(assumptions) - limit} more in plan.xlsx (sheet assumptions).", st["small"]))
    return story


def _responsible_agencies(plan: dict, st: dict) -> list:
    """Page 3: the disaster authority and programmes of each involved province."""
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Paragraph

    table = agencies(plan)
    table = table[table.province_code.isin(involved_provinces(plan))]
    rows = [["Province", "Disaster authority", "Federal programmes", "Provincial programme / authority"]]
    for a in table.itertuples():
        rows.append([Paragraph(_esc(a.province), st["cell"]), Paragraph(_esc(a.disaster_authority), st["cell"]),
                     Paragraph(_esc(a.federal_programmes), st["cell"]),
                     Paragraph(_esc(a.provincial_programme), st["cell"])])
    block = [Paragraph("Responsible agencies", st["h2"]),
             _table(rows, [36 * mm, 38 * mm, 30 * mm, 70 * mm], numeric_from=99),
             Paragraph("Federal coordination: NDMA; federal programmes pay through BISP. Source: "
                       "National Disaster Management Act 2010 and the authorities' sites (each province's "
                       "sources are listed in plan.xlsx, sheet summary).", st["small"])]
    return [KeepTogether(block)]


def _signatures(sign_off: dict, st: dict) -> list:
    """A signed plan's sign-off (``sign_off.signatures``, from the Committee's workspace): the
    plan code, version and manifest SHA-256 signed over, whether every required jurisdiction
    signed, and each signature (organisation, member, time, key id, verified)."""
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, TableStyle

    approval = approval_line(sign_off)
    red = colors.HexColor("#9c0006")
    rows = [["Jurisdiction", "Organisation", "Signed by", "Signed at (UTC)", "Key id", "Verified"]]
    rows += [[j, Paragraph(_esc(org), st["cell"]), Paragraph(_esc(member), st["cell"]), at, key, ok]
             for j, org, member, at, key, ok in signature_rows(sign_off)]
    table = _table(rows, [21 * mm, 34 * mm, 24 * mm, 33 * mm, 47 * mm, 15 * mm], numeric_from=99)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#8a96a3")),
                               ("FONT", (4, 1), (4, -1), "Helvetica", 7),
                               *(("TEXTCOLOR", (5, i), (5, i), red) for i, row in enumerate(rows)
                                 if i and row[5] != "yes")]))
    colour = "#7a1f1f" if approval.startswith("Awaiting") else "#1a5a2a"
    return [Paragraph(f"Plan <b>{_esc(sign_off.get('plan_code') or '')}</b>, version "
                      f"<b>{_esc(sign_off.get('version') or '')}</b>, signed over the SHA-256 of its "
                      f"manifest {_esc(sign_off.get('manifest_sha256') or '')}", st["body"]),
            Paragraph(f'<font color="{colour}"><b>{_esc(approval)}</b></font>', st["body"]), table]


def _sign_off(run: Run, st: dict) -> list:
    """The last section: names, designations and signatures to fill in, and the plan's version;
    for a plan signed in the Committee's workspace, its signatures (:func:`_signatures`)."""
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import CondPageBreak, KeepTogether, Paragraph, Spacer, TableStyle

    sign_off = run.plan.get("sign_off") or {}
    if "signatures" in sign_off:
        block = [Paragraph("Sign-off", st["h2"]), *_signatures(sign_off, st), Spacer(1, 4)]
    else:
        rows = [["", "Name", "Designation", "Signature", "Date"]]
        rows += [[r, "", "", "", ""] for r in ("Prepared by", "Reviewed by", "Approved by")]
        sign = _table(rows, [28 * mm, 44 * mm, 44 * mm, 34 * mm, 24 * mm], numeric_from=99)
        sign.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#8a96a3")),
                                  ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white]),
                                  ("FONT", (0, 1), (0, -1), "Helvetica-Bold", 7.8),
                                  ("TOPPADDING", (0, 1), (-1, -1), 9), ("BOTTOMPADDING", (0, 1), (-1, -1), 9)]))
        block = [Paragraph("Sign-off", st["h2"]), sign, Spacer(1, 4), Paragraph(
            "Plan version: ________________ &nbsp;&nbsp;&nbsp; Date of approval: ________________",
            st["body"])]
    block += [Paragraph(
        f"Plan schema {_esc(run.plan.get('schema_version', ''))}; produced with Madad {__version__} on "
        f"{_esc(run.created)}. Figures are modelled; all amounts in Pakistani rupees (PKR).", st["small"])]
    return [CondPageBreak(55 * mm), KeepTogether(block)]


def _brief_story(run: Run, map_png: bytes, *, boundaries: Any, max_assumptions: int) -> list:
    """The flowables of the brief (see :func:`write_pdf`), section by section."""
    plan = run.plan
    st = _styles()
    return [
        *_heading(run, st),  # page 1: the scenario, the headline figures and the map
        *_overview(run, map_png, st, boundaries=boundaries),
        *_who_pays(plan, st),  # page 2: who pays, dedup and budget, instalments
        *_dedup_and_budget(plan, st),
        *_instalment_timeline(plan, st),
        *_delivery(plan, st),
        *_top_districts(plan, st),  # page 3 (or the end of page 2): where, on what assumptions,
        *_key_assumptions(plan, st, limit=max_assumptions),  # who is responsible, who signs
        *_responsible_agencies(plan, st),
        *_sign_off(run, st),
        *_risk(plan),
    ]


def _risk(plan: dict) -> list:
    """The risk financing pages (a plan whose scenario declares ``financing.events``)."""
    if not plan.get("risk"):
        return []
    from reportlab.platypus import PageBreak

    from simulator.publish.risk import risk_pdf_pages

    return [PageBreak(), *risk_pdf_pages(plan["risk"])]


def write_pdf(
    run: Any,
    path: str | Path,
    *,
    boundaries: Any = None,
    lang: str = "en",
) -> Path:
    """Write the brief for ministers: two to four A4 pages.

    Page 1: headline figures in PKR, the scenario's "modelled on (not a reproduction)" line, a
    short narrative and the map. Page 2: the federal-provincial split by province (table and bar
    chart), dedup savings and budget shortfall, the instalment timeline. Page 3: the districts
    most affected, key assumptions, responsible agencies and a sign-off block (a plan signed in
    the Committee's workspace shows its signatures: organisation, member, time, key id and
    whether each verifies, and whether it is jointly approved). A scenario that
    declares ``financing.events`` adds the risk financing pages for finance ministers
    (:func:`simulator.publish.risk.risk_pdf_pages`) after the sign-off.

    Parameters
    ----------
    run : Run, RunResult, str or Path
        See :func:`load_run`.
    path : str or Path
        Output ``.pdf``.
    boundaries : geopandas.GeoDataFrame, str or Path, optional
        District polygons for the map (see :func:`map_figure`).
    lang : {"en", "ur"}, default "en"
        ``ur``: the headline pages in Urdu, right to left, with the same figures and map
        (:func:`simulator.publish.pdf_ur.write_pdf_ur`).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ExportError
        ``lang`` is not one of :data:`LANGS`, or the Urdu font or HarfBuzz is missing.
    """
    if lang != "en":
        if lang not in LANGS:
            from hazards.errors import ExportError

            raise ExportError(f"unknown brief language {lang!r}; use one of: {', '.join(LANGS)}.")
        from simulator.publish.pdf_ur import write_pdf_ur

        return write_pdf_ur(run, path, boundaries=boundaries)
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

