"""Words and numbers on the page: the labels of both languages and the formats.

The labels are data, ``labels/en.json`` and ``labels/ur.json`` beside this module, with the
same keys in both (a test checks it); :func:`text` looks one up. Money is int64 PKR and
numbers keep Latin digits in both languages. Nothing here imports Streamlit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

# ---------------------------------------------------------------------------------------------
# Labels: one table per language, the same keys in each
# ---------------------------------------------------------------------------------------------

LANGUAGES = {"en": "English", "ur": "اردو"}
RTL = frozenset({"ur"})
LABEL_DIR = Path(__file__).resolve().parent / "labels"


def load_labels(folder: Path = LABEL_DIR) -> dict[str, dict[str, str]]:
    """The label tables of :data:`LANGUAGES`, read from ``labels/<lang>.json``."""
    return {lang: json.loads((folder / f"{lang}.json").read_text(encoding="utf-8")) for lang in LANGUAGES}


#: Label tables: language -> key -> template (``str.format`` fields in braces).
LABELS: dict[str, dict[str, str]] = load_labels()


def text(lang: str, key: str, **values: Any) -> str:
    """The label ``key`` in ``lang`` (``en`` or ``ur``), formatted with ``values``.

    Raises KeyError for an unknown key, so a missing translation fails the tests.
    """
    table = LABELS[lang if lang in LABELS else "en"]
    template = table[key]
    return template.format(**values) if values else template


# ---------------------------------------------------------------------------------------------
# Formats: money is int64 PKR, numbers keep Latin digits in both languages
# ---------------------------------------------------------------------------------------------

HIDDEN = "–"


def fmt_count(value: int | None) -> str:
    """A count with thousands separators: ``33,827`` (``–`` when hidden)."""
    return HIDDEN if value is None else f"{int(value):,}"


def fmt_pkr(value: int | None) -> str:
    """Rupees with thousands separators: ``PKR 58,700,000`` (``–`` when hidden)."""
    return HIDDEN if value is None else f"PKR {int(value):,}"


def _three_figures(x: float) -> str:
    """``11.6``, ``1.25``, ``828``: three significant figures, no trailing zeros."""
    if x == 0:
        return "0"
    digits = max(0, 2 - int(math.floor(math.log10(abs(x)))))
    return f"{x:,.{digits}f}".rstrip("0").rstrip(".") if digits else f"{x:,.0f}"


def fmt_pkr_short(value: int | None, lang: str = "en") -> str:
    """Rupees in words: ``PKR 11.6 billion``, ``PKR 58.7 million`` (Urdu: ``11.6 ارب روپے``)."""
    if value is None:
        return HIDDEN
    value = int(value)
    for size, key in ((1_000_000_000, "billion"), (1_000_000, "million")):
        if abs(value) >= size:
            return text(lang, f"pkr_{key}", n=_three_figures(value / size))
    return text(lang, "pkr_plain", n=f"{value:,}")


def fmt_delta(value: int, money: bool) -> str | None:
    """A signed difference for st.metric, or None when there is none."""
    if value == 0:
        return None
    sign = "+" if value > 0 else "-"
    return f"{sign}{'PKR ' if money else ''}{abs(int(value)):,}"


UNIT_TEXT = {"m": "m", "mm": "mm", "degC": "°C", "g": "g", "m/s": "m/s", "index": ""}


def fmt_value(value: float, units: str) -> str:
    """A hazard value with its units: ``0.5 m``, ``45 °C``, ``-1.5`` (an index)."""
    unit = UNIT_TEXT.get(units, units)
    return f"{value:g} {unit}".strip()



# ---------------------------------------------------------------------------------------------
# Comparison of plans held in memory
# ---------------------------------------------------------------------------------------------

#: Rows of the comparison: (label key, where in the plan, money?).
COMPARE_ROWS = (
    ("f_affected_households", ("totals", "affected_households"), False),
    ("f_affected_people", ("totals", "affected_people"), False),
    ("f_eligible_households", ("totals", "eligible_households"), False),
    ("f_paid_households", ("totals", "paid_households"), False),
    ("f_amount_pkr", ("totals", "amount_pkr"), True),
    ("f_federal_pkr", ("totals", "federal_pkr"), True),
    ("f_provincial_pkr", ("totals", "provincial_pkr"), True),
    ("f_dedup_savings_pkr", ("totals", "dedup_savings_pkr"), True),
    ("f_over_budget_households", ("totals", "over_budget_households"), False),
    ("f_budget_shortfall_pkr", ("totals", "budget_shortfall_pkr"), True),
    ("f_affected_poor_unpaid_households", ("totals", "affected_poor_unpaid_households"), False),
)


def compare_table(plans: Sequence[dict], labels: Sequence[str], lang: str) -> pd.DataFrame:
    """National figures of two to four plans side by side, with each one's difference from the
    first (exact integers; money as ``PKR 1,234``)."""
    rows = []
    first = plans[0]
    for key, (section, name), money in COMPARE_ROWS:
        fmt = fmt_pkr if money else fmt_count
        row = {text(lang, "c_figure"): text(lang, key)}
        for label, p in zip(labels, plans, strict=True):
            row[label] = fmt(p[section][name])
        for label, p in zip(labels[1:], plans[1:], strict=True):
            diff = int(p[section][name]) - int(first[section][name])
            row[text(lang, "c_diff", label=label)] = "0" if diff == 0 else (
                ("+" if diff > 0 else "-") + fmt(abs(diff)))
        rows.append(row)
    policy = {
        "c_programmes": lambda p: ", ".join(prog["name"] for prog in p.get("programmes", [])),
        "c_cost_rule": lambda p: p.get("cost_sharing", {}).get("rule", ""),
    }
    for key, fn in policy.items():
        row = {text(lang, "c_figure"): text(lang, key)}
        for label, p in zip(labels, plans, strict=True):
            row[label] = fn(p)
        for label, p in zip(labels[1:], plans[1:], strict=True):
            row[text(lang, "c_diff", label=label)] = "" if fn(p) == fn(first) else text(lang, "c_changed")
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Tables for display (hidden cells shown as "–")
# ---------------------------------------------------------------------------------------------

TABLE_FIGURES = ("affected_households", "affected_people", "paid_households", "amount_pkr",
                 "federal_pkr", "provincial_pkr")


def display_table(records: Sequence[Mapping[str, Any]], keys: Sequence[str], lang: str,
                  figures: Sequence[str] = TABLE_FIGURES) -> pd.DataFrame:
    """Rows of a plan level as text cells: counts ``1,234``, money ``PKR 1,234``, hidden ``–``."""
    out = []
    for rec in records:
        row = {text(lang, "col_" + k): rec.get(k, "") for k in keys}
        for f in figures:
            v = rec.get(f)
            row[text(lang, "f_" + f)] = fmt_pkr(v) if f.endswith("_pkr") else fmt_count(v)
        out.append(row)
    columns = [text(lang, "col_" + k) for k in keys] + [text(lang, "f_" + f) for f in figures]
    return pd.DataFrame(out, columns=columns)


def small_cells_shown(frame: pd.DataFrame, k: int) -> list[tuple[int, str, int]]:
    """(row, column, value) of every household-count cell of a display table in 1..k-1 (a
    disclosure check for tests: a minister's tables must return [])."""
    found = []
    for col in frame.columns:
        for i, v in enumerate(frame[col].tolist()):
            if isinstance(v, str) and v.replace(",", "").isdigit():
                n = int(v.replace(",", ""))
                if 0 < n < k:
                    found.append((i, str(col), n))
    return found
