"""Spreadsheet cells that cannot run as formulas (CSV and formula injection, OWASP).

A spreadsheet program reads a text cell that begins with ``=``, ``+``, ``-`` or ``@`` (or with a
tab or a carriage return, which some programs strip before looking) as a formula: a scenario
title ``=HYPERLINK(...)`` or a household id ``=cmd|' /C calc'!A0`` would run when a planner opens
the file. OWASP's rule, applied to every xlsx and CSV Madad writes: such a text cell is written
with a single quote ``'`` in front, which spreadsheets show as text. Numbers stay numbers (a
negative number stored as a number is not touched); text is neutralised whatever it looks like,
so the text ``"-5"`` becomes ``"'-5"``.

Example
-------
>>> neutral_text("=1+1")
"'=1+1"
>>> neutral_text(-5)
-5
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["FORMULA_STARTS", "is_formula_like", "neutral_text", "neutralise"]

#: First characters that make a spreadsheet read a text cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PATTERN = r"^[=+\-@\t\r]"


def is_formula_like(value: Any) -> bool:
    """Whether ``value`` is text a spreadsheet would read as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def neutral_text(value: Any) -> Any:
    """``value`` with ``'`` in front when it is text that begins with a formula character;
    anything else (numbers, None, dates, safe text) unchanged."""
    return "'" + value if is_formula_like(value) else value


def _column(values: pd.Series) -> pd.Series:
    """One column neutralised; columns without text come back unchanged (the same object)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
        return values
    text = values.astype(object)
    try:
        # Non-text cells of an object column (numbers, None) give NA here, so stay as they are.
        mask = text.str.match(_PATTERN, na=False).to_numpy(dtype=bool)
    except AttributeError:  # no text at all (e.g. an object column of numbers)
        return values
    if not mask.any():
        return values
    out = text.copy()
    out[mask] = "'" + text[mask]
    return out


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names are neutralised (:func:`neutral_text`).

    Vectorized over each text column (object, string or categorical dtype); numeric, boolean and
    date columns are returned as they are. The index is left alone (writers here use
    ``index=False``).
    """
    out = frame.copy()
    for i in range(frame.shape[1]):
        out.isetitem(i, _column(frame.iloc[:, i]))
    out.columns = [neutral_text(c) for c in frame.columns]
    return out
