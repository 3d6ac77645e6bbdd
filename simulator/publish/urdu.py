"""Urdu for readers in Pakistan: numbers in lakh and crore, rupees, and place names.

Used by the app's Urdu view and meant for an Urdu brief too (it sits below both). Nothing here
imports Streamlit.

Conventions (stated once, here)
-------------------------------
Digits
    Western Arabic digits (0-9), not the Extended Arabic-Indic ones (۰-۹). Pakistani Urdu
    newspapers on the web and on television (Jang, Express, Dawn News Urdu, BBC Urdu) print
    figures with Western digits, and so do government notices; keeping them also lets a reader
    check a figure against the English view, the xlsx and the PDF character by character.
    The Extended digits remain the book-printing convention; they are not used here.
Large counts
    South Asian units, as Urdu readers say them: لاکھ (lakh, 10^5) and کروڑ (crore, 10^7),
    with three significant figures: 2,462,741 households -> ``24.6 لاکھ گھرانے``; 33,827 stays
    ``33,827`` (below a lakh the exact figure is short enough).
Rupees
    ``روپے`` after the number, never "PKR". Below a lakh the exact amount (``25,000 روپے``);
    then لاکھ and کروڑ; from 10^9 up ارب (arab, 10^9), which is how Pakistani budgets and news
    state large sums (the federal budget "14,460 ارب روپے", not "1,446,000 کروڑ"): PKR 61.5 bn
    -> ``61.5 ارب روپے``, PKR 58.7 m -> ``5.87 کروڑ روپے``. کھرب (10^11) is not used: it is
    rare in current usage and a reader may not know it.
Exact figures
    Tables keep exact integers with international thousands separators (``2,462,741``), as
    the State Bank and the Finance Division print them and as the xlsx has them; the Urdu
    unit words above are for headlines and sentences.
Direction
    A Latin or signed run inside right-to-left text is wrapped in Unicode isolates
    (:func:`isolate`), so that "2010" or "-84,660" keeps its place and its sign.

Place names
-----------
``data/names_ur.csv``: the seven provinces and territories and the 156 districts of the
shipped boundaries (the 136 census districts plus AJK and GB), each with a source and a
confidence. The spellings are the standard Urdu ones written from knowledge, not copied from
a published Urdu table (the ``source`` column says so); check them against PBS's Urdu census
tables before print.
"""

from __future__ import annotations

import csv
import logging
import math
from functools import lru_cache
from pathlib import Path

from hazards.tables import data_dir

log = logging.getLogger(__name__)

LAKH = 100_000
CRORE = 10_000_000
ARAB = 1_000_000_000

RUPEES = "روپے"
#: Unicode isolates: first-strong (FSI), left-to-right (LRI), and their closing mark (PDI).
FSI, LRI, PDI = "\u2068", "\u2066", "\u2069"

#: The table of Urdu place names (``code, kind, name_en, name_ur, source, confidence``).
NAMES_FILE = "names_ur.csv"


def _three_figures(x: float) -> str:
    """``24.6``, ``1.25``, ``828``, ``6,150``: three significant figures, no trailing zeros,
    and never fewer digits than the integer part has."""
    if x == 0:
        return "0"
    digits = max(0, 2 - int(math.floor(math.log10(abs(x)))))
    if digits:
        return f"{x:,.{digits}f}".rstrip("0").rstrip(".")
    return f"{x:,.0f}"


def isolate(run: str, *, ltr: bool = True) -> str:
    """``run`` wrapped in Unicode isolates so right-to-left text leaves it in place: LRI..PDI
    for a left-to-right run (a year, a signed number, a Latin code), FSI..PDI otherwise."""
    return f"{LRI if ltr else FSI}{run}{PDI}"


def count_ur(value: int | float | None, noun: str = "", *, hidden: str = "–") -> str:
    """A count for an Urdu sentence or headline: ``33,827``, ``24.6 لاکھ``, ``2.46 کروڑ``.

    Parameters
    ----------
    value
        The count (None: hidden, returns ``hidden``).
    noun
        A word to follow the number (``گھرانے``), with a space.

    Returns
    -------
    str
        Below a lakh the exact count with separators; then lakh (10^5) and crore (10^7) with
        three significant figures.
    """
    if value is None:
        return hidden
    v = float(value)
    if abs(v) >= CRORE:
        out = f"{_three_figures(v / CRORE)} کروڑ"
    elif abs(v) >= LAKH:
        out = f"{_three_figures(v / LAKH)} لاکھ"
    else:
        out = f"{int(round(v)):,}"
    if v < 0:
        out = isolate(out)
    return f"{out} {noun}".strip() if noun else out


def pkr_ur(value: int | float | None, *, hidden: str = "–") -> str:
    """Rupees in Urdu words: ``25,000 روپے``, ``5.87 کروڑ روپے``, ``61.5 ارب روپے``.

    Below a lakh the exact amount; then lakh (10^5), crore (10^7) and arab (10^9), three
    significant figures (see the module's conventions). [PKR]
    """
    if value is None:
        return hidden
    v = float(value)
    size, word = next(((s, w) for s, w in ((ARAB, "ارب"), (CRORE, "کروڑ"), (LAKH, "لاکھ")) if abs(v) >= s),
                      (1, ""))
    number = _three_figures(v / size) if word else f"{int(round(v)):,}"
    if v < 0:
        number = isolate(number)
    return " ".join(x for x in (number, word, RUPEES) if x)


def pkr_exact_ur(value: int | None, *, hidden: str = "–") -> str:
    """An exact amount with separators: ``58,700,000 روپے`` (``–`` when hidden). [PKR]"""
    if value is None:
        return hidden
    number = f"{int(value):,}"
    return f"{isolate(number) if int(value) < 0 else number} {RUPEES}"


# ---------------------------------------------------------------------------------------------
# Place names
# ---------------------------------------------------------------------------------------------


def names_path() -> Path:
    return data_dir() / NAMES_FILE


@lru_cache(maxsize=4)
def _names(path: str) -> dict[str, str]:
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    table = {}
    for i, row in enumerate(rows, start=2):
        code, name = (row.get("code") or "").strip(), (row.get("name_ur") or "").strip()
        if not code or not name:
            log.warning("%s line %d: no code or no name_ur; skipped", path, i)
            continue
        table[code] = name
    return table


def names_table() -> dict[str, str]:
    """Code (``sd_dadu``, ``SD``) -> Urdu name, from ``data/names_ur.csv`` (read once)."""
    return _names(str(names_path()))


def name_ur(district_id: str | None, default: str | None = None) -> str | None:
    """The Urdu name of a district (``sd_dadu`` -> ``دادو``); ``default`` when the table has none
    (a user's boundary file may have districts the table does not)."""
    if not district_id:
        return default
    return names_table().get(str(district_id), default)


def province_ur(code: str | None, default: str | None = None) -> str | None:
    """The Urdu name of a province or territory (``SD`` -> ``سندھ``; also ``AJK``, ``GB``, ``IS``);
    ``default`` when unknown."""
    if not code:
        return default
    return names_table().get(str(code).upper(), default)


# ---------------------------------------------------------------------------------------------
# Text for canvases that do not shape Arabic script (deck.gl's TextLayer)
# ---------------------------------------------------------------------------------------------

#: Letters that join only to the letter before them (right-joining): alef, dal, reh, waw,
#: yeh barree and their kin; hamza joins to neither side.
_RIGHT_JOINING = frozenset("اآأإٱدذرزژڈڑوؤےۓۃةۀ")
_NON_JOINING = frozenset("ء")
_LAM_ALEF = {"ا": "LAM WITH ALEF", "آ": "LAM WITH ALEF WITH MADDA ABOVE",
             "أ": "LAM WITH ALEF WITH HAMZA ABOVE", "إ": "LAM WITH ALEF WITH HAMZA BELOW"}
_MIRROR = str.maketrans("()[]{}<>", ")(][}{><")


def _is_letter(c: str) -> bool:
    return ("\u0620" <= c <= "\u064A" or "\u066E" <= c <= "\u06D3" or c == "\u06D5") and c not in "\u0640"


def _transparent(c: str) -> bool:
    return "\u064B" <= c <= "\u065F" or c == "\u0670"


def _form(c: str, form: str) -> str:
    import unicodedata

    try:
        return unicodedata.lookup(f"{unicodedata.name(c)} {form} FORM")
    except KeyError:  # no such presentation form in Unicode: the isolated one, else the letter
        if form != "ISOLATED":
            return _form(c, "ISOLATED")
        return c


def shape_for_canvas(s: str) -> str:
    """``s`` in Arabic presentation forms and in visual (left-to-right) order, for a renderer
    that draws code points one by one, as deck.gl's TextLayer does: each letter takes its
    initial, medial, final or isolated form from its neighbours (lam-alef as one ligature),
    then the line is reversed, runs of digits and Latin letters kept as they read and brackets
    mirrored. Enough for place names and short labels; not a full Unicode bidi. Text with no
    Arabic letters is returned unchanged.
    """
    if not any(_is_letter(c) for c in s):
        return s
    chars = list(s)
    n = len(chars)

    def neighbour(i: int, step: int) -> str | None:
        j = i + step
        while 0 <= j < n and _transparent(chars[j]):
            j += step
        return chars[j] if 0 <= j < n else None

    def joins_forward(c: str | None) -> bool:  # joins to the letter after it
        return c is not None and _is_letter(c) and c not in _RIGHT_JOINING and c not in _NON_JOINING

    def joins_back(c: str | None) -> bool:  # joins to the letter before it
        return c is not None and _is_letter(c) and c not in _NON_JOINING

    shaped: list[str] = []
    i = 0
    while i < n:
        c = chars[i]
        if not _is_letter(c):
            shaped.append(c)
            i += 1
            continue
        prev, nxt = neighbour(i, -1), neighbour(i, +1)
        back = joins_forward(prev) and joins_back(c)
        if c == "ل" and nxt in _LAM_ALEF and chars[i + 1] == nxt:
            import unicodedata

            shaped.append(unicodedata.lookup(f"ARABIC LIGATURE {_LAM_ALEF[nxt]} {'FINAL' if back else 'ISOLATED'} FORM"))
            i += 2
            continue
        forward = joins_forward(c) and joins_back(nxt)
        form = "MEDIAL" if back and forward else "FINAL" if back else "INITIAL" if forward else "ISOLATED"
        shaped.append(_form(c, form))
        i += 1
    # Visual order: the whole line reversed, left-to-right runs (digits, Latin) put back.
    out: list[str] = []
    run: list[str] = []
    for c in reversed(shaped):
        if c.isascii() and (c.isalnum() or (run and c in ".,:-/%")):
            run.append(c)
            continue
        if run:
            out.extend(reversed(run))
            run = []
        out.append(c.translate(_MIRROR))
    out.extend(reversed(run))
    return "".join(out)
