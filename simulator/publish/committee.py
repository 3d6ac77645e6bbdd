"""The Coordination Committee's meeting minutes and action tracker, as a workbook and a PDF.

Written from plain records (the workspace's meetings and action points; this layer never imports
the workspace, which sits above it): each meeting ``{"id", "held_on", "title", "agenda",
"minutes", "revision", "actions"}`` and each action point ``{"id", "title", "owner", "due_on",
"status", "revision", "meeting", "overdue", "days_overdue", "history"}``. Every file is written
aside and swapped in (:func:`simulator.publish.risk._write_aside`), so a reader never sees half
a file; every text cell of the workbook is formula-injection safe
(:mod:`simulator.publish.cells`).

==========================  =====================================================================
:func:`write_minutes_xlsx`  sheets meetings, actions (overdue rows filled red, their count on top)
                            and action-history (every status change of every action point)
:func:`write_minutes_pdf`   A4: the overdue count, each meeting's agenda and minutes, the tracker
==========================  =====================================================================

Example
-------
>>> import datetime as dt
>>> write_minutes_xlsx(meetings, actions, "committee.xlsx", as_of=dt.date.today())  # doctest: +SKIP
PosixPath('committee.xlsx')
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hazards.errors import ExportError
from simulator import __version__
from simulator.publish.cells import neutral_text
from simulator.publish.pdf import _esc, _numbered_canvas, _styles, _table

log = logging.getLogger(__name__)

__all__ = ["ACTION_COLUMNS", "HISTORY_COLUMNS", "MEETING_COLUMNS", "SHEETS", "write_minutes_pdf",
           "write_minutes_xlsx"]

#: Sheets of the workbook, in order.
SHEETS = ("meetings", "actions", "action-history")
#: Columns of the meetings sheet.
MEETING_COLUMNS = ("date", "title", "agenda", "minutes", "revision", "action points")
#: Columns of the action tracker.
ACTION_COLUMNS = ("id", "title", "owner", "due", "status", "days overdue", "meeting")
#: Columns of the action-history sheet.
HISTORY_COLUMNS = ("action", "title", "revision", "status", "note", "member", "at")
#: Fill and text colour of an overdue action point (Excel's "light red fill, dark red text").
OVERDUE_FILL, OVERDUE_TEXT = "FFC7CE", "9C0006"
#: Most characters an Excel cell holds.
MAX_CELL_CHARS = 32_767
_DATE_FORMAT = "yyyy-mm-dd"


# ---------------------------------------------------------------------------------------------
# The records
# ---------------------------------------------------------------------------------------------


def _clean(value: Any) -> str:
    """Text without the control characters a workbook (or a PDF) cannot hold."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", "" if value is None else str(value))


def _day(value: Any) -> dt.date | None:
    """A date (an ISO string is read as one); None stays None."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _late(action: dict, as_of: dt.date) -> tuple[bool, int]:
    """Whether an action point is overdue and by how many days: as the record says, or (for a
    record without ``overdue``) open or in progress and due before ``as_of``."""
    if "overdue" in action:
        return bool(action["overdue"]), int(action.get("days_overdue") or 0)
    due = _day(action.get("due_on"))
    late = action.get("status") in ("open", "in_progress") and due is not None and due < as_of
    return late, (as_of - due).days if late else 0


def _overdue_line(actions: list[dict], as_of: dt.date) -> str:
    """"2 of 5 action points overdue as of 2026-12-01" (or "none of ...")."""
    n = sum(_late(a, as_of)[0] for a in actions)
    what = f"{len(actions)} action point{'s' * (len(actions) != 1)}"
    return f"{n if n else 'None'} of {what} overdue as of {as_of.isoformat()}"


def _write_aside(path: str | Path, write: Callable[[Path], Any], example: str) -> Path:
    """Write ``path`` aside, flush it and swap it in (the risk products' helper)."""
    from simulator.publish.risk import _write_aside as aside

    if Path(path).is_dir():
        raise ExportError(f"{path}: is a folder; give a file name such as {Path(path) / example}.")
    return aside(path, write)


# ---------------------------------------------------------------------------------------------
# The workbook
# ---------------------------------------------------------------------------------------------


def _cell_text(value: Any) -> Any:
    """A workbook cell's value: text cleaned, cut to Excel's limit and neutralised."""
    if value is None or isinstance(value, int | float | dt.date):
        return value
    text = _clean(value)
    if len(text) > MAX_CELL_CHARS:
        log.warning("a cell of %d characters is cut to Excel's %d", len(text), MAX_CELL_CHARS)
        text = text[: MAX_CELL_CHARS - 1] + "\u2026"
    return neutral_text(text)


def _write_sheet(ws, heading: str, note: str, columns: tuple[str, ...], rows: list[list[Any]],
                 widths: tuple[int, ...], *, wrap: tuple[str, ...] = ()) -> None:
    """A sheet: its heading and a note on rows 1 and 2, a bold frozen header on row 3, the rows
    below (dates as dates, long text wrapped in the ``wrap`` columns)."""
    from openpyxl.styles import Alignment, Font

    ws["A1"], ws["A2"] = _cell_text(heading), _cell_text(note)
    ws["A1"].font = Font(bold=True, size=13)
    for j, name in enumerate(columns, start=1):
        ws.cell(row=3, column=j, value=name).font = Font(bold=True)
    for i, values in enumerate(rows, start=4):
        for j, (name, value) in enumerate(zip(columns, values, strict=True), start=1):
            cell = ws.cell(row=i, column=j, value=_cell_text(value))
            if isinstance(value, dt.date):
                cell.number_format = _DATE_FORMAT
            cell.alignment = Alignment(vertical="top", wrap_text=name in wrap)
    ws.freeze_panes = "A4"
    for j, width in enumerate(widths, start=1):
        ws.column_dimensions[ws.cell(row=3, column=j).column_letter].width = width


def write_minutes_xlsx(meetings: list[dict], actions: list[dict], out: str | Path, *,
                       title: str = "Coordination Committee", as_of: dt.date) -> Path:
    """Write the Committee's meetings and action tracker as an Excel workbook.

    Parameters
    ----------
    meetings : list of dict
        Meetings as the workspace lists them: ``id``, ``held_on`` (date), ``title``, ``agenda``,
        ``minutes``, ``revision`` and ``actions`` (the ids of their action points).
    actions : list of dict
        Action points: ``id``, ``title``, ``owner``, ``due_on`` (date), ``status``,
        ``revision``, ``meeting`` (its meeting's title or None), ``overdue``, ``days_overdue``
        and ``history`` (``revision``, ``status``, ``note``, ``member``, ``at`` of each change).
    out : str or Path
        Output ``.xlsx``; its folder is created and an existing file replaced atomically.
    title : str, default "Coordination Committee"
        The heading of every sheet.
    as_of : datetime.date
        The day the tracker is reported for (shown with the overdue count).

    Returns
    -------
    Path
        ``out``. Sheets :data:`SHEETS`: ``meetings`` (:data:`MEETING_COLUMNS`), ``actions``
        (:data:`ACTION_COLUMNS`; row 2 counts the overdue action points, whose rows are filled
        red) and ``action-history`` (:data:`HISTORY_COLUMNS`). Headings on rows 1 and 2, the
        header on row 3 (frozen); every text cell is formula-injection safe.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    def write(tmp: Path) -> None:
        wb = Workbook()
        ws = wb.active
        ws.title = SHEETS[0]
        rows = [[_day(m.get("held_on")), m.get("title"), m.get("agenda"), m.get("minutes"),
                 m.get("revision"), ", ".join(str(i) for i in m.get("actions") or [])]
                for m in meetings]
        n = len(meetings)
        _write_sheet(ws, f"{title}: meetings", f"{n} meeting{'s' * (n != 1)} as of {as_of.isoformat()}",
                     MEETING_COLUMNS, rows, (12, 40, 50, 80, 10, 14), wrap=("title", "agenda", "minutes"))

        ws = wb.create_sheet(SHEETS[1])
        late = [_late(a, as_of) for a in actions]
        rows = [[a.get("id"), a.get("title"), a.get("owner"), _day(a.get("due_on")), a.get("status"),
                 days, a.get("meeting")] for a, (_, days) in zip(actions, late, strict=True)]
        _write_sheet(ws, f"{title}: action tracker", _overdue_line(actions, as_of), ACTION_COLUMNS, rows,
                     (6, 60, 20, 12, 12, 13, 40), wrap=("title", "meeting"))
        fill, red = PatternFill("solid", fgColor=OVERDUE_FILL), Font(color=OVERDUE_TEXT)
        if any(overdue for overdue, _ in late):
            ws["A2"].font = Font(bold=True, color=OVERDUE_TEXT)
        for i, (overdue, _) in enumerate(late, start=4):
            if overdue:
                for cell in ws[i]:
                    cell.fill, cell.font = fill, red

        ws = wb.create_sheet(SHEETS[2])
        rows = [[a.get("id"), a.get("title"), h.get("revision"), h.get("status"), h.get("note"),
                 h.get("member"), h.get("at")] for a in actions for h in a.get("history") or []]
        _write_sheet(ws, f"{title}: action point history", "every status change, oldest first per "
                     "action point", HISTORY_COLUMNS, rows, (8, 50, 10, 12, 50, 18, 22), wrap=("title", "note"))
        wb.properties.title, wb.properties.creator = _clean(title), f"Madad {__version__}"
        wb.save(tmp)

    log.info("writing %d meetings and %d action points to %s", len(meetings), len(actions), out)
    return _write_aside(out, write, "committee.xlsx")


# ---------------------------------------------------------------------------------------------
# The PDF
# ---------------------------------------------------------------------------------------------

#: Font names registered for the PDF (DejaVu Sans: Latin, Urdu and Arabic letters, dashes).
_FONT, _BOLD = "MadadSans", "MadadSans-Bold"


def _fonts() -> tuple[str, str]:
    """The regular and bold fonts of the PDF: DejaVu Sans (shipped with matplotlib), registered
    once, so text in Urdu and other scripts is drawn; Helvetica where it cannot be found."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if {_FONT, _BOLD} <= set(pdfmetrics.getRegisteredFontNames()):
        return _FONT, _BOLD
    try:
        import matplotlib

        folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
        pdfmetrics.registerFont(TTFont(_FONT, str(folder / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont(_BOLD, str(folder / "DejaVuSans-Bold.ttf")))
    except Exception as exc:  # noqa: BLE001 (any failure: fall back to the built-in font)
        log.warning("DejaVu Sans unavailable (%s); the PDF uses Helvetica, which lacks Urdu letters", exc)
        return "Helvetica", "Helvetica-Bold"
    pdfmetrics.registerFontFamily(_FONT, normal=_FONT, bold=_BOLD, italic=_FONT, boldItalic=_BOLD)
    return _FONT, _BOLD


def _committee_styles() -> dict:
    """The brief's paragraph styles (:func:`simulator.publish.pdf._styles`) in the Unicode font,
    with a red cell style for overdue action points."""
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle

    regular, bold = _fonts()
    st = {name: ParagraphStyle(f"committee-{name}", parent=style,
                               fontName=bold if "Bold" in style.fontName else regular)
          for name, style in _styles().items()}
    st["late"] = ParagraphStyle("committee-late", parent=st["cell"], textColor=colors.HexColor("#" + OVERDUE_TEXT))
    st["label"] = ParagraphStyle("committee-label", parent=st["body"], fontName=bold, spaceBefore=3)
    return st


def _urdu(text: str) -> bool:
    """Whether ``text`` is mostly in Arabic script (more of its letters than Latin ones)."""
    arabic = sum("\u0600" <= ch <= "\u06ff" or "\ufb50" <= ch <= "\ufeff" for ch in text)
    return arabic > 0 and arabic >= sum(ch.isascii() and ch.isalpha() for ch in text)


def _para(text: str, style) -> list:
    """One paragraph of a member's text (line breaks kept): mostly Urdu, shaped and laid right
    to left, one :class:`simulator.publish.pdf_ur.RtlParagraph` per line; else a ReportLab
    paragraph in the minutes' font."""
    from reportlab.platypus import Paragraph

    if not _urdu(text):
        return [Paragraph(_esc(text).replace("\n", "<br/>"), style)]
    from simulator.publish.pdf_ur import RtlParagraph

    # RtlParagraph reads <b> as bold: a member's own angle brackets are kept as text
    return [RtlParagraph(line.replace("<", "\u2039").replace(">", "\u203a"), style)
            for line in text.split("\n") if line.strip()]


def _paragraphs(text: Any, style, *, empty: str) -> list:
    """``text`` as paragraphs (blank lines between paragraphs, line breaks kept); long text
    wraps and flows over pages; Urdu shaped and right to left (:func:`_para`)."""
    from reportlab.platypus import Paragraph

    chunks = [c.strip() for c in _clean(text).replace("\r\n", "\n").split("\n\n") if c.strip()]
    if not chunks:
        return [Paragraph(f"<i>{_esc(empty)}</i>", style)]
    return [p for c in chunks for p in _para(c, style)]


def _meeting(m: dict, st: dict) -> list:
    """One meeting: date and title, agenda, minutes and its action points' ids."""
    from reportlab.platypus import Paragraph

    held = _day(m.get("held_on"))
    title = _clean(m.get("title"))
    heading = ([Paragraph(_esc(held.isoformat() if held else ""), st["h2"]), *_para(title, st["h2"])]
               if _urdu(title) else
               [Paragraph(_esc(f"{held.isoformat() if held else ''} \u00b7 {title}"), st["h2"])])
    story = [*heading,
             Paragraph("Agenda", st["label"]), *_paragraphs(m.get("agenda"), st["body"], empty="No agenda."),
             Paragraph("Minutes", st["label"]),
             *_paragraphs(m.get("minutes"), st["body"], empty="No minutes recorded.")]
    if m.get("actions"):
        ids = ", ".join(f"#{i}" for i in m["actions"])
        story.append(Paragraph(_esc(f"Action points: {ids} (in the tracker below)"), st["small"]))
    return story


def _tracker(actions: list[dict], st: dict, as_of: dt.date) -> list:
    """The action tracker: a table, overdue rows in red on a light red background."""
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, TableStyle

    if not actions:
        return [Paragraph("No action points.", st["body"])]
    rows: list[list[Any]] = [[c.replace("days ", "days\n") for c in ACTION_COLUMNS]]
    late_rows = []
    for i, a in enumerate(actions, start=1):
        overdue, days = _late(a, as_of)
        style = st["late" if overdue else "cell"]
        due = _day(a.get("due_on"))
        rows.append([_para(str(x), style) if _urdu(str(x)) else Paragraph(_esc(x), style) for x in (
            a.get("id", ""), _clean(a.get("title")), _clean(a.get("owner")), due.isoformat() if due else "",
            _clean(a.get("status")).replace("_", " "), f"{days:,}" if overdue else "", _clean(a.get("meeting")))])
        if overdue:
            late_rows.append(i)
    table = _table(rows, [8 * mm, 48 * mm, 29 * mm, 21 * mm, 21 * mm, 17 * mm, 30 * mm], numeric_from=99)
    _, bold = _fonts()
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, 0), bold, 7.8), ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#c4ccd4")),
        *(("BACKGROUND", (0, i), (-1, i), colors.HexColor("#" + OVERDUE_FILL)) for i in late_rows),
    ]))
    return [table]


def write_minutes_pdf(meetings: list[dict], actions: list[dict], out: str | Path, *,
                      title: str = "Coordination Committee", as_of: dt.date) -> Path:
    """Write the Committee's meeting minutes and action tracker as an A4 PDF.

    Parameters
    ----------
    meetings : list of dict
        Meetings, as for :func:`write_minutes_xlsx`.
    actions : list of dict
        Action points, as for :func:`write_minutes_xlsx`.
    out : str or Path
        Output ``.pdf``; its folder is created and an existing file replaced atomically.
    title : str, default "Coordination Committee"
        The document's heading.
    as_of : datetime.date
        The day the tracker is reported for.

    Returns
    -------
    Path
        ``out``. Page 1 opens with the count of overdue action points; then each meeting (date,
        title, agenda and minutes, wrapped and flowing over pages), then the action tracker
        (:data:`ACTION_COLUMNS`, overdue rows in red on a light red background). Text is set in
        DejaVu Sans; a member's text that is mostly Urdu (titles, agenda, minutes, tracker
        cells) is shaped with HarfBuzz and laid right to left in Noto Naskh Arabic, as the
        Urdu brief is (:class:`simulator.publish.pdf_ur.RtlParagraph`); no text breaks the
        layout.
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    st = _committee_styles()
    n_late = sum(_late(a, as_of)[0] for a in actions)
    colour = f"#{OVERDUE_TEXT}" if n_late else "#1a5a2a"
    story = [
        Paragraph(_esc(_clean(title)), st["title"]),
        Paragraph("Meeting minutes and action tracker", st["subtitle"]),
        Spacer(1, 4),
        Paragraph(f'<font color="{colour}"><b>{_esc(_overdue_line(actions, as_of))}</b></font>', st["body"]),
        Paragraph(_esc(f"{len(meetings)} meeting{'s' * (len(meetings) != 1)}; produced with Madad "
                       f"{__version__}."), st["small"]),
        Paragraph("Meetings", st["h2"]),
    ]
    for m in meetings:
        story += _meeting(m, st)
    if not meetings:
        story.append(Paragraph("No meetings recorded.", st["body"]))
    story += [Spacer(1, 6), Paragraph(_esc(f"Action tracker ({_overdue_line(actions, as_of)})"), st["h2"]),
              *_tracker(actions, st, as_of)]
    footer = f"Madad: minutes and action tracker as of {as_of.isoformat()}."

    def write(tmp: Path) -> None:
        doc = SimpleDocTemplate(
            str(tmp), pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=15 * mm,
            bottomMargin=17 * mm, title=_clean(title), author="Madad",
            subject="Meeting minutes and action tracker", creator=f"Madad {__version__}")
        doc.build(story, canvasmaker=_numbered_canvas(footer))

    log.info("writing %d meetings and %d action points to %s", len(meetings), len(actions), out)
    return _write_aside(out, write, "committee.pdf")
