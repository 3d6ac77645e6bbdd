"""The brief for ministers in Urdu: the headline pages of :mod:`simulator.publish.pdf`, right to left.

What it holds: page 1 with the scenario's Urdu title (``title_ur``; the English title when the
scenario has none), the headline figures in lakh, crore and arab rupees
(:mod:`simulator.publish.urdu`), the narrative and the same map as the English brief, whose
boundary attribution stays in English (the ODbL requires it); then the federal-provincial split
by province, the instalment timeline, the districts most affected (province and district names
in Urdu from ``data/names_ur.csv``) and a sign-off block. Assumptions, agencies and the budget
detail stay in the English brief and ``plan.xlsx`` (the Urdu brief says so). Tables run right
to left: their first column is on the right. The strings are in ``labels/brief_ur.json``.

How Urdu is set
---------------
Shaping
    The font is Noto Naskh Arabic (``data/fonts``, SIL OFL), registered with ReportLab as a
    shapable TrueType font; ReportLab shapes every word with HarfBuzz (``uharfbuzz``), which
    picks each letter's joined form (initial, medial, final) and the lam-alef ligature. The
    embedded subset's ToUnicode map gives each glyph its letter, so text copied or extracted
    from the PDF is Urdu again (:class:`_UrduFont`).
Direction
    ReportLab reorders right-to-left text only with the ``rlbidi`` package, which no package
    index here carries. So this module lays out each line itself (:class:`RtlParagraph`): it
    breaks the text into lines in logical order, puts each line's words in visual order (a
    word-level form of the Unicode bidi algorithm for a right-to-left paragraph: Urdu words
    right to left, a run of Latin words or a number left to right, a run marked with Unicode
    isolates by :func:`simulator.publish.urdu.isolate` kept whole) and hands the line to a
    right-aligned ReportLab paragraph that shapes its words. A word that mixes Urdu letters
    and digits with no space between them is split in two; a bracket beside Urdu text is not
    mirrored (the labels use none).
Fonts per word
    Noto Naskh Arabic has Urdu letters, Western digits and a little punctuation but no Latin
    letters: a word it cannot draw (``PKR``, ``indus-flood-demo``, ``12%``, the en dash of a
    hidden cell) is set in Helvetica.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from reportlab.platypus import Flowable

from hazards.errors import ExportError
from hazards.tables import BOUNDARY_ATTRIBUTION, data_dir
from simulator import __version__
from simulator.publish import urdu
from simulator.publish.figures import _hazard_label, _image, map_figure
from simulator.publish.runs import Run, load_run
from simulator.publish.tables import _fmt, _num, _pct

log = logging.getLogger(__name__)

__all__ = ["FONT", "FONT_BOLD", "RtlParagraph", "labels", "visual_order", "write_pdf_ur"]

#: ReportLab names of the Urdu fonts (Noto Naskh Arabic, regular and bold).
FONT, FONT_BOLD = "MadadNaskh", "MadadNaskh-Bold"
#: Their files under the data folder.
FONT_FILES = {FONT: "fonts/NotoNaskhArabic-Regular.ttf", FONT_BOLD: "fonts/NotoNaskhArabic-Bold.ttf"}
#: The Latin fallback for words the Urdu font cannot draw.
LATIN, LATIN_BOLD = "Helvetica", "Helvetica-Bold"
#: The strings of the Urdu brief.
LABELS = Path(__file__).resolve().parent / "labels" / "brief_ur.json"

_WIDTH_MM = 174
_NAVY, _GREY = "#1a3a5a", "#555555"
_ISOLATE = re.compile("([\u2066\u2067\u2068][^\u2069]*\u2069?)")
#: Bidi controls dropped before drawing (the layout here has already used them).
_MIRROR = {"(": ")", ")": "(", "[": "]", "]": "[", "{": "}", "}": "{", "<": ">", ">": "<", "\u00ab": "\u00bb",
           "\u00bb": "\u00ab"}
_TRAILING = "\u060c\u061b\u06d4:,.;"
_CONTROLS = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


@lru_cache(maxsize=1)
def labels() -> dict[str, str]:
    """The Urdu brief's strings (``labels/brief_ur.json``), read once."""
    return json.loads(LABELS.read_text(encoding="utf-8"))


def _l(key: str, **fields: Any) -> str:
    text = labels()[key]
    return text.format(**fields) if fields else text


# ---------------------------------------------------------------------------------------------
# The font: shaped by HarfBuzz, with a ToUnicode map that gives each shaped glyph its letter
# ---------------------------------------------------------------------------------------------


def _font_class():
    from reportlab.pdfbase.ttfonts import TTFont

    class _UrduFont(TTFont):
        """A shapable TrueType font whose embedded ToUnicode map names the letter of each shaped
        glyph.

        ReportLab gives a glyph that HarfBuzz chose but the font's cmap lacks (the two halves
        of lam-alef, for instance) a private-use code, and its ToUnicode map then says that
        code: text extracted from the PDF would show U+E000 where the reader sees a letter.
        Noto names such glyphs after the presentation form they draw (``uniFEDF.rlig`` is lam's
        initial form), so the map is rewritten to that form, which Unicode normalisation
        (NFKC) folds back to the letter.
        """

        def __init__(self, *args: Any, **kwargs: Any):
            super().__init__(*args, **kwargs)
            self._private_names: dict[int, str] = {}

        def hbFont(self, fontSize=10):  # noqa: N802, N803 (ReportLab's names)
            font = super().hbFont(fontSize)
            add = self.hbAddPrivate

            def add_and_remember(name, gid, advance):
                code = add(name, gid, advance)
                self._private_names[code] = name
                return code

            self.hbAddPrivate = add_and_remember
            return font

        def addObjects(self, doc):  # noqa: N802 (ReportLab's name)
            super().addObjects(doc)
            probed = _probed_letters(self.face._ttf_data)
            letters = {code: _glyph_letter(name) or probed.get(name, "")
                       for code, name in self._private_names.items()}
            letters = {code: text for code, text in letters.items() if text}
            if not letters:
                return
            face = "+" + self.face.name.decode("latin-1")
            for key, obj in doc.idToObject.items():
                if isinstance(key, str) and key.startswith("toUnicodeCMap:") and key.endswith(face):
                    obj.content = re.sub(
                        r"<([0-9A-F]{2})> <([0-9A-F]{4})>",
                        lambda m: (f"<{m[1]}> <{_utf16(letters[int(m[2], 16)])}>"
                                   if int(m[2], 16) in letters else m[0]),
                        obj.content)

    return _UrduFont


def _glyph_letter(name: str) -> str:
    """The character a glyph named ``uniFEDF.rlig`` or ``u1EE00.init`` draws ('' if unknown)."""
    m = re.match(r"(?:uni([0-9A-F]{4})|u([0-9A-F]{4,6}))(?:[._]|$)", name)
    if not m:
        return ""
    return chr(int(m[1] or m[2], 16))


#: Words whose shaping uses glyphs named neither after a character nor a presentation form
#: (in Noto Naskh Arabic, the alef of a medial lam-alef is ``_1008``).
_PROBES = tuple(f"{pre}\u0644{alef}" for pre in ("", "\u0640", "\u0628") for alef in "\u0627\u0623\u0625\u0622")


@lru_cache(maxsize=4)
def _probed_letters(ttf_data: bytes) -> dict[str, str]:
    """Glyph name -> the letter HarfBuzz drew it for, from shaping :data:`_PROBES`."""
    import uharfbuzz

    font = uharfbuzz.Font(uharfbuzz.Face(uharfbuzz.Blob(ttf_data)))
    out: dict[str, str] = {}
    for text in _PROBES:
        buf = uharfbuzz.Buffer()
        buf.add_str(text)
        buf.guess_segment_properties()
        uharfbuzz.shape(font, buf, {})
        for info in buf.glyph_infos:
            out.setdefault(font.glyph_to_string(info.codepoint), text[info.cluster])
    return out


def _utf16(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


@lru_cache(maxsize=1)
def register_fonts() -> tuple[str, str]:
    """Register Noto Naskh Arabic with ReportLab (once), shaped by HarfBuzz.

    Returns
    -------
    tuple of str
        The regular and bold font names (:data:`FONT`, :data:`FONT_BOLD`).

    Raises
    ------
    ExportError
        The font files are missing, or ``uharfbuzz`` is not installed (without it ReportLab
        would draw every letter in its isolated form).
    """
    from reportlab.pdfbase import pdfmetrics

    try:
        import uharfbuzz  # noqa: F401 (ReportLab shapes with it)
    except ImportError as exc:
        raise ExportError("the Urdu brief needs HarfBuzz to join its letters: pip install uharfbuzz "
                          "(a dependency of madad; reinstall with pip install -e .).") from exc
    cls = _font_class()
    for name, rel in FONT_FILES.items():
        path = data_dir() / rel
        if not path.is_file():
            raise ExportError(f"{path}: missing; the Urdu brief needs Noto Naskh Arabic (data/fonts/README.md "
                              "says where it comes from).")
        pdfmetrics.registerFont(cls(name, str(path), shapable=True))
    return FONT, FONT_BOLD


@lru_cache(maxsize=1)
def _urdu_chars() -> frozenset[int]:
    from reportlab.pdfbase import pdfmetrics

    return frozenset(pdfmetrics.getFont(register_fonts()[0]).face.charToGlyph)


# ---------------------------------------------------------------------------------------------
# Direction: words in visual order
# ---------------------------------------------------------------------------------------------


def _strong(text: str) -> str | None:
    """'R' or 'L' for the first strong character of ``text``; None when it has none."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return "R"
        if kind == "L":
            return "L"
    return None


def _kind(text: str) -> str:
    """'R' (Urdu), 'L' (Latin), 'N' (a number: digits with no letter) or 'O' (punctuation)."""
    strong = _strong(text)
    if strong:
        return strong
    return "N" if any(unicodedata.bidirectional(ch) in ("EN", "AN") for ch in text) else "O"


def _pieces(word: str) -> list[str]:
    """A word split where Urdu letters meet digits or Latin (``2022ء`` -> ``2022``, ``ء``) and
    around brackets (``(نمونہ،`` -> ``(``, ``نمونہ،``), each piece drawn on its own."""
    out, cur, cur_r = [], "", None
    for ch in word:
        if ch in _MIRROR:
            out += [cur, ch] if cur else [ch]
            cur, cur_r = "", None
            continue
        kind = unicodedata.bidirectional(ch)
        is_r = True if kind in ("R", "AL", "NSM") else False if kind in ("L", "EN", "AN") else None
        if cur and is_r is not None and cur_r is not None and is_r != cur_r:
            out.append(cur)
            cur = ""
        cur += ch
        if is_r is not None and kind != "NSM":
            cur_r = is_r
    return [*out, cur] if cur else out


def _rtl_number(word: str) -> str:
    """A number's trailing punctuation moved to its left, where a right-to-left line puts it
    (``21،`` is drawn ``،21``)."""
    body = word.rstrip(_TRAILING)
    return word[len(body):][::-1] + body if body != word and body else word


def _words(text: str) -> list[tuple[str, str, bool]]:
    """``(word, kind, bold)`` in logical order. ``<b>``/``</b>`` mark bold runs; a run inside
    Unicode isolates keeps its words' direction (LRI: left to right; FSI: its first strong)."""
    out: list[tuple[str, str, bool]] = []
    bold = False
    for chunk in re.split(r"(</?b>)", text):
        if chunk in ("<b>", "</b>"):
            bold = chunk == "<b>"
            continue
        for part in _ISOLATE.split(chunk):
            if part[:1] in ("\u2066", "\u2067", "\u2068"):
                inner = part.translate(_CONTROLS)
                forced = {"\u2066": "L", "\u2067": "R"}.get(part[0]) or _strong(inner) or "L"
                out += [(w, "L" if forced == "L" else _kind(w), bold) for w in inner.split()]
            else:
                for w in part.translate(_CONTROLS).split():
                    out += [(p, _kind(p), bold) for p in _pieces(w)]
    return out


def visual_order(kinds: list[str]) -> list[int]:
    """The visual order, left to right, of a right-to-left line's words.

    A word-level form of the Unicode bidi algorithm (UAX #9) for a right-to-left paragraph:
    a number after a Latin word joins its run (rule W7), punctuation between two left-to-right
    words joins them (N1), anything else takes the paragraph's direction (N2); then the line
    is reversed and each run of left-to-right words is put back in reading order (L2).

    Parameters
    ----------
    kinds : list of str
        Each word's kind in logical order: 'R', 'L', 'N' (number) or 'O' (neutral).

    Returns
    -------
    list of int
        Indices into ``kinds``, leftmost word first.

    Examples
    --------
    >>> visual_order(["R", "N", "R"])  # Urdu, a number, Urdu: read from the right
    [2, 1, 0]
    >>> visual_order(["R", "L", "L", "R"])  # a Latin run of two words stays in order
    [3, 1, 2, 0]
    """
    resolved = _resolve(kinds)
    order = list(range(len(kinds)))[::-1]
    out: list[int] = []
    run: list[int] = []
    for i in order:
        if resolved[i] == "L":
            run.append(i)
            continue
        out += run[::-1] + [i]
        run = []
    return out + run[::-1]


def _resolve(kinds: list[str]) -> list[str]:
    """Each word's direction, 'L', 'R' or 'N' (a number left to right in a right-to-left run):
    rules W7, N1 and N2 of UAX #9 at the level of words."""
    resolved = list(kinds)
    last_strong = "R"
    for i, k in enumerate(kinds):
        if k in ("R", "L"):
            last_strong = k
        elif k == "N" and last_strong == "L":
            resolved[i] = "L"
    for i, k in enumerate(resolved):
        if k == "O":
            before = next((resolved[j] for j in range(i - 1, -1, -1) if resolved[j] != "O"), "R")
            after = next((resolved[j] for j in range(i + 1, len(resolved)) if resolved[j] != "O"), "R")
            resolved[i] = "L" if before == after == "L" else "R"
    return resolved


# ---------------------------------------------------------------------------------------------
# A right-to-left paragraph
# ---------------------------------------------------------------------------------------------


def _esc(text: Any) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _font_for(word: str, bold: bool) -> str:
    chars = _urdu_chars()
    if all(ord(ch) in chars for ch in word):
        return FONT_BOLD if bold else FONT
    if all(ord(ch) < 0x0250 or ch in "\u2013\u2014\u2018\u2019\u201c\u201d\u2022\u2026\u20ac" for ch in word):
        return LATIN_BOLD if bold else LATIN
    return FONT_BOLD if bold else FONT


def _width(word: str, font: str, size: float) -> float:
    """The width of ``word`` as ReportLab will draw it (shaped when the font is) [pt]."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import shapeStr

    if font in (FONT, FONT_BOLD):
        shaped = shapeStr(word, font, size)
        data = getattr(shaped, "__shapeData__", None)
        if data:
            return sum(d.x_advance for d in data) * size / 1000
    return pdfmetrics.stringWidth(word, font, size)


class RtlParagraph(Flowable):
    """A right-to-left paragraph: ``text`` in logical order, laid out in lines whose words are
    in visual order, each line a right-aligned (or centred) ReportLab paragraph that shapes its
    words. ``<b>...</b>`` marks bold; isolates (:func:`simulator.publish.urdu.isolate`) keep a
    Latin or signed run whole.

    Parameters
    ----------
    text : str
        The paragraph in logical order.
    style : reportlab.lib.styles.ParagraphStyle
        Font size, leading, colour and spacing; its font is replaced per word (Noto Naskh
        Arabic, or Helvetica for a Latin word), bold when its ``fontName`` ends in ``-Bold``.
    align : {"right", "centre"}, default "right"
    """

    def __init__(self, text: str, style: Any, *, align: str = "right"):
        super().__init__()
        self.text, self.style, self.align = text, style, align
        self._lines: list[Any] = []
        self._base_bold = str(style.fontName).endswith("-Bold")

    def getSpaceBefore(self):  # noqa: N802 (ReportLab's name)
        return self.style.spaceBefore

    def getSpaceAfter(self):  # noqa: N802 (ReportLab's name)
        return self.style.spaceAfter

    def _line_paragraphs(self, width: float) -> list:
        from reportlab.lib.enums import TA_CENTER, TA_RIGHT
        from reportlab.lib.styles import ParagraphStyle
        from reportlab.platypus import Paragraph

        register_fonts()
        size = self.style.fontSize
        words = [(w, k, b or self._base_bold) for w, k, b in _words(self.text)]
        fonts = [_font_for(w, b) for w, _, b in words]
        space = _width(" ", FONT, size)
        lines: list[list[int]] = [[]]
        used = 0.0
        limit = width * 0.98  # a little slack: the line's paragraph must not wrap again
        for i, (w, _, _) in enumerate(words):
            need = _width(w, fonts[i], size)
            if lines[-1] and used + space + need > limit:
                lines.append([])
                used = 0.0
            used += (space if lines[-1] else 0) + need
            lines[-1].append(i)
        style = ParagraphStyle(
            "rtl-line", parent=self.style, fontName=FONT, spaceBefore=0, spaceAfter=0, shaping=1,
            alignment=TA_CENTER if self.align == "centre" else TA_RIGHT, wordWrap=None)
        out = []
        for line in lines:
            kinds = [words[i][1] for i in line]
            resolved = _resolve(kinds)
            drawn = []
            for j in visual_order(kinds):
                word = words[line[j]][0]
                if resolved[j] != "L":  # right to left: brackets mirrored, a number's comma to its left
                    word = word.translate(str.maketrans(_MIRROR)) if kinds[j] == "O" else word
                    word = _rtl_number(word) if kinds[j] == "N" else word
                drawn.append(f'<font face="{fonts[line[j]]}">{_esc(word)}</font>')
            markup = " ".join(drawn)
            out.append(Paragraph(markup, style))
        return out

    def wrap(self, availWidth, availHeight):  # noqa: N803 (ReportLab's names)
        self._width = availWidth
        self._lines = self._line_paragraphs(availWidth)
        self._heights = [p.wrap(availWidth, availHeight)[1] for p in self._lines]
        self.height = sum(self._heights)
        self.width = availWidth
        return availWidth, self.height

    def draw(self):
        y = self.height
        for p, h in zip(self._lines, self._heights, strict=True):
            y -= h
            p.drawOn(self.canv, 0, y)

    def split(self, availWidth, availHeight):  # noqa: N803 (ReportLab's names)
        lines = self._line_paragraphs(availWidth)
        return lines if len(lines) > 1 else []


# ---------------------------------------------------------------------------------------------
# The brief's parts
# ---------------------------------------------------------------------------------------------


def _styles() -> dict:
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle

    register_fonts()
    grey, navy = colors.HexColor(_GREY), colors.HexColor(_NAVY)

    def style(name: str, size: float, leading: float, **kw: Any) -> ParagraphStyle:
        return ParagraphStyle(name, fontName=kw.pop("fontName", FONT), fontSize=size, leading=leading, **kw)

    # Naskh needs about 1.6 times its size between lines (its marks sit high and low)
    return {
        "title": style("t", 17, 29, fontName=FONT_BOLD, spaceAfter=2, textColor=navy),
        "subtitle": style("st", 10.5, 17, textColor=grey),
        "modelled": style("m", 9.5, 16, textColor=colors.HexColor("#7a1f1f"), spaceBefore=2, spaceAfter=4),
        "h2": style("h2", 12, 20, fontName=FONT_BOLD, spaceBefore=6, spaceAfter=3, textColor=navy),
        "body": style("b", 9.5, 16, spaceAfter=2),
        "small": style("s", 8, 13, textColor=grey),
        "small_en": ParagraphStyle("se", fontName=LATIN, fontSize=7.5, leading=9.5, textColor=grey),
        "cell": style("c", 8, 12.5),
        "cell_head": style("ch", 8, 12.5, fontName=FONT_BOLD, textColor=colors.white),
        "tile_label": style("tl", 8, 12.5, textColor=grey),
        "tile_value": style("tv", 13, 20, fontName=FONT_BOLD, textColor=navy),
        "tile_sub": style("ts", 7.5, 12),
    }


def _p(text: str, st: dict, key: str, **kw: Any) -> RtlParagraph:
    return RtlParagraph(text, st[key], **kw)


def _table(rows: list[list[Any]], widths: list[float], st: dict, *, total: bool = False, grid: bool = False):
    """A right-to-left table: the columns of ``rows`` (given first column first, as read) are
    laid out from the right; header and text cells are shaped paragraphs, figures right-aligned
    in Helvetica."""
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    navy = colors.HexColor(_NAVY)
    cells = []
    for r, row in enumerate(rows):
        out = []
        for value in reversed(row):
            if isinstance(value, str) and _strong(value) == "R":
                value = RtlParagraph(value, st["cell_head" if r == 0 else "cell"])
            out.append(value)
        cells.append(out)
    tbl = Table(cells, colWidths=list(reversed(widths)), repeatRows=1, hAlign="RIGHT")
    style = [
        ("FONT", (0, 0), (-1, -1), LATIN, 7.8),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("BACKGROUND", (0, 0), (-1, 0), navy),
        ("ALIGN", (0, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f2f5f8")]),
        ("LINEBELOW", (0, -1), (-1, -1), 0.5, navy),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]
    if total:
        style += [("FONT", (0, -1), (-1, -1), LATIN_BOLD, 7.8), ("LINEABOVE", (0, -1), (-1, -1), 0.6, navy)]
    if grid:
        style += [("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#8a96a3")),
                  ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white]),
                  ("TOPPADDING", (0, 1), (-1, -1), 8), ("BOTTOMPADDING", (0, 1), (-1, -1), 8)]
    tbl.setStyle(TableStyle(style))
    return tbl


def _scenario_ur(run: Run) -> dict:
    """``title_ur``, ``modelled_on_ur`` and programmes' ``name_ur`` for the plan's scenario:
    from the plan when it carries them, else from the scenario file the run records (only
    where the plan's English text is the file's: an edited plan's title says "edited", which
    the file's Urdu title does not)."""
    plan = run.plan
    scenario = plan.get("scenario") or {}
    out = {k: scenario.get(k) for k in ("title_ur", "modelled_on_ur")}
    out["programmes"] = {p.get("name"): p.get("name_ur") for p in plan.get("programmes", []) if p.get("name_ur")}
    if (out["title_ur"] and out["modelled_on_ur"]) or run.folder is None:
        return out
    try:
        manifest = json.loads((Path(run.folder) / "manifest.json").read_text(encoding="utf-8"))
        path = Path(manifest["scenario_file"]["path"])
        if not path.is_absolute():
            path = Path(run.folder) / path if (Path(run.folder) / path).is_file() else path
        import yaml

        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, KeyError, TypeError, ValueError) as exc:
        log.info("no Urdu scenario text for %s: %s", run.label, exc)
        return out
    except Exception as exc:  # noqa: BLE001 (a YAML error: fall back to English)
        log.info("no Urdu scenario text for %s: %s", run.label, exc)
        return out
    if raw.get("title") == scenario.get("title"):
        out["title_ur"] = out["title_ur"] or raw.get("title_ur")
    if raw.get("modelled_on") == scenario.get("modelled_on"):
        out["modelled_on_ur"] = out["modelled_on_ur"] or raw.get("modelled_on_ur")
    for p in (raw.get("policy") or {}).get("programmes") or []:
        if isinstance(p, dict) and p.get("name_ur"):
            out["programmes"].setdefault(p.get("name"), p["name_ur"])
    return out


def _province(code: str | None, english: str | None) -> str:
    return urdu.province_ur(code) or urdu.isolate(str(english or code or ""))


def _district(district_id: str | None, english: str | None) -> str:
    return urdu.name_ur(district_id) or urdu.isolate(str(english or district_id or ""))


def _joined(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return "، ".join(names[:-1]) + f" {_l('and')} " + names[-1]


def _pct_text(part: Any, whole: Any) -> str:
    return urdu.isolate(_pct(part, whole))


def _heading(run: Run, st: dict, ur: dict) -> list:
    plan = run.plan
    t = plan["totals"]
    scenario = plan.get("scenario") or {}
    title = ur.get("title_ur") or urdu.isolate(scenario.get("title") or scenario.get("name") or _l("title_default"))
    event = ur.get("modelled_on_ur") or (urdu.isolate(scenario["modelled_on"]) if scenario.get("modelled_on") else "")
    registry = urdu.isolate(str((plan.get("registry") or {}).get("source", "unknown")))
    perturbed = (plan.get("disclosure") or {}).get("perturbation")
    unit = perturbed.get("unit_households_per_row", 1) if perturbed else None
    rows = ""
    if perturbed and unit > 1:
        rows = "، " + _l("rows_per_household", rows=f"{plan['registry_rows']:,}", unit=f"{unit:,}")
    elif not perturbed and plan.get("registry_rows") and plan["registry_rows"] != t["households"]:
        rows = "، " + _l("rows_standing_for", rows=f"{plan['registry_rows']:,}", households=f"{t['households']:,}")
    story = [
        _p(title, st, "title"),
        _p(_l("subtitle"), st, "subtitle"),
        _p(_l("modelled_on", event=event) if event else _l("modelled_default"), st, "modelled"),
        _p(_l("run_line", name=urdu.isolate(scenario.get("name", "")), created=urdu.isolate(str(run.created)),
              registry=registry) + rows, st, "small"),
    ]
    if perturbed:
        d = plan["disclosure"]
        story.append(_p(_l("protected", bound=f"{perturbed['ptable_bound_rows'] * perturbed['unit_households_per_row']:,}",
                           k=d.get("k", 10)), st, "small"))
    return story


def _tiles(plan: dict, st: dict):
    from reportlab.lib.units import mm
    from reportlab.platypus import Table

    from simulator.publish.pdf import tiles_style

    t = plan["totals"]
    amount = t["amount_pkr"]
    line = (plan.get("targeting") or {}).get("poverty_line_pmt")
    poverty = _l("poverty_line") if line is None else _l("poverty_line_pmt", line=f"{line:g}")

    def tile(label: str, value: str, sub: str) -> list:
        return [_p(label, st, "tile_label"), _p(value, st, "tile_value"), _p(sub, st, "tile_sub")]

    def share(key: str) -> str:
        return _l("share_of_total", amount=urdu.pkr_exact_ur(t[key]), pct=_pct_text(t[key], amount))

    def people(n: int) -> str:
        return _l("people", people=urdu.count_ur(n))

    rows = [
        [tile(_l("tile_total"), urdu.pkr_ur(amount), urdu.pkr_exact_ur(amount)),
         tile(_l("tile_federal"), urdu.pkr_ur(t["federal_pkr"]), share("federal_pkr")),
         tile(_l("tile_provincial"), urdu.pkr_ur(t["provincial_pkr"]), share("provincial_pkr"))],
        [tile(_l("tile_affected"), urdu.count_ur(t["affected_households"]), people(t["affected_people"])),
         tile(_l("tile_paid"), urdu.count_ur(t["paid_households"]), people(t["paid_people"])),
         tile(_l("tile_poor_unpaid"), urdu.count_ur(t["affected_poor_unpaid_households"]), poverty)],
    ]
    w = _WIDTH_MM * mm / 3
    tbl = Table([row[::-1] for row in rows], colWidths=[w] * 3, hAlign="RIGHT")
    tbl.setStyle(tiles_style("RIGHT", top=3, bottom=4))
    return tbl


def _narrative(plan: dict) -> list[str]:
    """Page 1's sentences, in Urdu (the English brief's :func:`simulator.publish.pdf._narrative`)."""
    t = plan["totals"]
    c = urdu.count_ur
    hit = [_province(p.get("province_code"), p.get("province")) for p in plan["provinces"]
           if p.get("affected_households", 0) != 0]
    n_districts = sum(1 for d in plan["districts"] if d.get("affected_households", 0) != 0)
    inst = plan.get("instalments", [])
    out = []
    if t["affected_households"]:
        out.append(_l("affected", where=_joined(hit), districts=n_districts, households=c(t["affected_households"]),
                      people=c(t["affected_people"]), severe=c(t["severely_affected_households"]),
                      displaced=c(t["displaced_households"])))
    else:
        out.append(_l("affected_none"))
    days = max((i["day"] for i in inst), default=0)
    when = _l("when_many", n=len(inst), days=days) if len(inst) > 1 else _l("when_one")
    out.append(_l("paid", households=c(t["paid_households"]), people=c(t["paid_people"]),
                  amount=urdu.pkr_ur(t["amount_pkr"]), when=when, federal=urdu.pkr_ur(t["federal_pkr"]),
                  federal_pct=_pct_text(t["federal_pkr"], t["amount_pkr"]),
                  provincial=urdu.pkr_ur(t["provincial_pkr"]),
                  provincial_pct=_pct_text(t["provincial_pkr"], t["amount_pkr"])))
    if t["dedup_overlap_households"]:
        out.append(_l("dedup", savings=urdu.pkr_ur(t["dedup_savings_pkr"]), households=c(t["dedup_overlap_households"])))
    if t["over_budget_households"]:
        out.append(_l("over_budget", households=c(t["over_budget_households"]),
                      shortfall=urdu.pkr_ur(t["budget_shortfall_pkr"])))
    elif t["paid_households"]:
        out.append(_l("budget_covers"))
    if t["affected_poor_unpaid_households"]:
        out.append(_l("poor_unpaid", households=c(t["affected_poor_unpaid_households"])))
    return out


def _overview(run: Run, map_png: bytes, st: dict, *, boundaries: Any) -> list:
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, Paragraph, Spacer

    plan = run.plan
    story: list[Any] = [Spacer(1, 4), _tiles(plan, st), Spacer(1, 5)]
    story += [_p(s, st, "body") for s in _narrative(plan)]
    story += [Spacer(1, 3), _image(map_png, _WIDTH_MM * mm)]
    layer = run.hazards[0] if run.hazards else None
    hazard = f"{_hazard_label(layer)} [{layer.attrs.get('units', '')}]" if layer is not None else "hazard"
    what = _l("map_paid") if plan["totals"]["paid_households"] else _l("map_affected")
    story.append(_p(_l("map_caption", hazard=urdu.isolate(hazard), what=what), st, "small"))
    # the attribution the boundaries' licence (ODbL) requires, in English as in the English brief
    how = "shaded district boundaries" if boundaries is not None else "circles at district points (area proportional)"
    story.append(Paragraph(_esc(f"Map: modelled {hazard} and {'households paid' if plan['totals']['paid_households'] else 'affected households'} "
                                f"by district ({how}). {BOUNDARY_ATTRIBUTION}."), st["small_en"]))
    story.append(PageBreak())
    return story


def _who_pays(plan: dict, st: dict) -> list:
    from reportlab.lib.units import mm
    from reportlab.platypus import Spacer

    from simulator.publish.pdf import _provinces_shown

    t = plan["totals"]
    cs = plan["cost_sharing"]
    share = urdu.isolate(f"{cs['federal_share']:.0%}") if cs.get("federal_share") is not None else ""
    rule = cs.get("rule")
    text = {"fixed": lambda: _l("rule_fixed", share=share), "ownership": lambda: _l("rule_ownership"),
            "key": lambda: _l("rule_key", share=share, key=urdu.isolate(str(cs.get("key"))))}.get(
        rule, lambda: _l("rule_other", rule=urdu.isolate(str(rule))))()
    shown = _provinces_shown(plan)
    pooled = any(c["benefiting_province"] != c["paying_province"] for c in cs.get("contributions", []))
    head = [_l("col_province"), _l("col_affected"), _l("col_paid"), _l("col_paid_people"), _l("col_amount"),
            _l("col_federal"), _l("col_provincial"), _l("col_federal_share")]
    rows = [head]
    for p in shown.itertuples():
        hidden = "\u2013" in (_fmt(p.federal_pkr), _fmt(p.amount_pkr))
        rows.append([_province(p.province_code, p.province), _fmt(p.affected_households), _fmt(p.paid_households),
                     _fmt(p.paid_people), _fmt(p.amount_pkr), _fmt(p.federal_pkr), _fmt(p.provincial_pkr),
                     "\u2013" if hidden else _pct(p.federal_pkr, p.amount_pkr)])
    rows.append([_l("pakistan"), f"{t['affected_households']:,}", f"{t['paid_households']:,}", f"{t['paid_people']:,}",
                 f"{t['amount_pkr']:,}", f"{t['federal_pkr']:,}", f"{t['provincial_pkr']:,}",
                 _pct(t["federal_pkr"], t["amount_pkr"])])
    widths = [30 * mm, 18 * mm, 20 * mm, 20 * mm, 23 * mm, 23 * mm, 23 * mm, 15 * mm]
    if pooled:
        rows[0].insert(7, _l("col_province_pays"))
        for row, p in zip(rows[1:], [*shown.itertuples(), None], strict=True):
            row.insert(7, _fmt(p.pays_pkr if p is not None else t["provincial_pkr"]))
        widths = [24 * mm, 16 * mm, 17 * mm, 17 * mm, 21 * mm, 21 * mm, 21 * mm, 22 * mm, 13 * mm]
    return [_p(_l("h_who_pays"), st, "h2"), _p(text, st, "body"), Spacer(1, 3),
            _table(rows, widths, st, total=True),
            _p(_l("split_note_pooled" if pooled else "split_note"), st, "small")]


def _instalments(plan: dict, st: dict) -> list:
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Spacer

    t = plan["totals"]
    rows = [[_l("col_instalment"), _l("col_day"), _l("col_share"), _l("col_amount"), _l("col_federal"),
             _l("col_provincial")]]
    for i in plan.get("instalments", []):
        rows.append([str(i["instalment"]), str(i["day"]), f"{i['share']:.0%}", f"{i['amount_pkr']:,}",
                     f"{i['federal_pkr']:,}", f"{i['provincial_pkr']:,}"])
    rows.append([_l("total"), "", "100%", f"{t['amount_pkr']:,}", f"{t['federal_pkr']:,}", f"{t['provincial_pkr']:,}"])
    return [KeepTogether([_p(_l("h_instalments"), st, "h2"), _p(_l("instalments_note"), st, "small"), Spacer(1, 2),
                          _table(rows, [22 * mm, 16 * mm, 16 * mm, 36 * mm, 36 * mm, 36 * mm], st, total=True)])]


def _top_districts(plan: dict, st: dict) -> list:
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether

    districts = pd.DataFrame(plan["districts"])
    if not len(districts):
        return []
    districts = districts.assign(_a=districts.affected_households.map(_num), _m=districts.amount_pkr.map(_num))
    top = districts.sort_values(["_a", "_m"], ascending=False).head(8)
    rows = [[_l("col_district"), _l("col_province"), _l("col_affected"), _l("col_displaced"), _l("col_paid"),
             _l("col_amount")]]
    for d in top.itertuples():
        rows.append([_district(d.district_id, d.district), _province(d.province_code, d.province),
                     _fmt(d.affected_households), _fmt(d.displaced_households), _fmt(d.paid_households),
                     _fmt(d.amount_pkr)])
    return [KeepTogether([_p(_l("h_districts", shown=len(top), of=len(districts)), st, "h2"),
                          _table(rows, [34 * mm, 34 * mm, 24 * mm, 24 * mm, 28 * mm, 30 * mm], st)])]


def _sign_off(run: Run, st: dict) -> list:
    from reportlab.lib.units import mm
    from reportlab.platypus import CondPageBreak, KeepTogether, Spacer

    rows = [["", _l("col_name"), _l("col_designation"), _l("col_signature"), _l("col_date")]]
    rows += [[_l(k), "", "", "", ""] for k in ("sign_prepared", "sign_reviewed", "sign_approved")]
    block = [_p(_l("h_sign_off"), st, "h2"),
             _table(rows, [30 * mm, 44 * mm, 44 * mm, 32 * mm, 24 * mm], st, grid=True), Spacer(1, 3),
             _p(_l("more_in_english"), st, "small"),
             _p(_l("provenance", schema=urdu.isolate(str(run.plan.get("schema_version", ""))),
                   version=urdu.isolate(__version__), created=urdu.isolate(str(run.created))), st, "small")]
    return [CondPageBreak(60 * mm), KeepTogether(block)]


def _canvas(footer: str):
    """A canvas class writing the Urdu footer and "page N of M" (shaped) on every page."""
    from reportlab.lib.units import mm

    from simulator.publish.pdf import numbered_canvas

    st = _styles()

    def draw(c, page: int, pages: int, width: float) -> None:
        for text, x, w in ((footer, width - 18 * mm - 130 * mm, 130 * mm),
                           (_l("page", page=page, pages=pages), 18 * mm, 40 * mm)):
            p = RtlParagraph(text, st["small"])
            _, h = p.wrap(w, 20 * mm)
            p.drawOn(c, x, 14 * mm - h)

    return numbered_canvas(draw)


def write_pdf_ur(run: Any, path: str | Path, *, boundaries: Any = None) -> Path:
    """Write the brief's headline pages in Urdu (see the module's docstring).

    Parameters
    ----------
    run : Run, RunResult, str or Path
        See :func:`simulator.publish.runs.load_run`.
    path : str or Path
        Output ``.pdf``.
    boundaries : geopandas.GeoDataFrame, str or Path, optional
        District polygons for the map (see :func:`simulator.publish.figures.map_figure`).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ExportError
        The Urdu font or HarfBuzz is missing (:func:`register_fonts`).
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    register_fonts()
    run = load_run(run)
    path = Path(path)
    plan = run.plan
    scenario = plan.get("scenario") or {}
    ur = _scenario_ur(run)
    st = _styles()
    png = map_figure(run, boundaries=boundaries)
    story = [
        *_heading(run, st, ur),  # page 1: the scenario, the headline figures and the map
        *_overview(run, png, st, boundaries=boundaries),
        *_who_pays(plan, st),  # page 2: who pays, instalments; then where and who signs
        *_instalments(plan, st),
        *_top_districts(plan, st),
        *_sign_off(run, st),
    ]
    doc = SimpleDocTemplate(
        str(path), pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=15 * mm, bottomMargin=19 * mm,
        title=ur.get("title_ur") or f"Madad brief: {scenario.get('title', '')}", author="Madad",
        subject="Joint federal-provincial response plan (Urdu)", creator=f"Madad {__version__}", lang="ur",
    )
    doc.build(story, canvasmaker=_canvas(_l("footer", name=urdu.isolate(scenario.get("name", "")))))
    log.info("wrote the Urdu brief %s (%d pages)", path, doc.page)
    return path
