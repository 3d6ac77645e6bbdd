"""Comparisons read from run folders, printed for a terminal and written to Excel.

Example
-------
>>> from simulator.publish.compare import compare, format_for_terminal, load_runs
>>> runs = load_runs(["runs/bisp-25k", "runs/bisp-20k"])  # doctest: +SKIP
>>> table = compare(runs)  # doctest: +SKIP
>>> print(format_for_terminal(table, runs, width=80))  # doctest: +SKIP
>>> write_compare_xlsx(table, "compare.xlsx")  # doctest: +SKIP
"""

from __future__ import annotations

import textwrap
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from simulator.plans.compare import CHANGED, DIFF_PREFIX, TEXT_WIDTH, compare_runs
from simulator.publish.cells import neutralise
from simulator.publish.runs import Run, load_run
from simulator.publish.tables import COUNT_FORMAT, PKR_FORMAT

__all__ = [
    "CHANGED",
    "DIFF_PREFIX",
    "MIN_WIDTH",
    "compare",
    "format_for_terminal",
    "format_summary",
    "format_table",
    "load_runs",
    "pooling_notes",
    "write_compare_xlsx",
]

#: The narrowest layout of :func:`format_summary` (a narrower terminal still gets this many columns).
MIN_WIDTH = 60
#: What a shortened name ends with.
ELLIPSIS = "…"
_GAP = "  "
_LABEL_MAX = 28


def compare(run_dirs: Iterable[Any]) -> pd.DataFrame:
    """Compare run folders (or in-memory results): :func:`simulator.plans.compare.compare_runs`
    of each one loaded with :func:`simulator.publish.load_run`."""
    return compare_runs([load_run(r) for r in run_dirs])


def load_runs(run_dirs: Iterable[Any]) -> list[Run]:
    """Each run folder (or in-memory result) loaded once with :func:`simulator.publish.load_run`,
    for :func:`compare` and :func:`format_for_terminal` to share."""
    return [load_run(r) for r in run_dirs]


def format_table(frame: pd.DataFrame) -> str:
    """The comparison as aligned text for a terminal.

    Parameters
    ----------
    frame : pandas.DataFrame
        The result of :func:`compare`.

    Returns
    -------
    str
        The table with thousands separators, a sign on every difference, and text cells cut to
        :data:`TEXT_WIDTH` characters.
    """

    def cell(value: Any, signed: bool) -> str:
        if value is None or (isinstance(value, float) and pd.isna(value)):
            return ""
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, int):
            return f"{value:+,}" if signed else f"{value:,}"
        if isinstance(value, float):
            return f"{value:+,.4g}" if signed else f"{value:,.4g}"
        text = str(value)
        return text if len(text) <= TEXT_WIDTH else text[: TEXT_WIDTH - 3] + "..."

    shown = pd.DataFrame(
        {c: [cell(v, c.startswith(DIFF_PREFIX)) for v in frame[c]] for c in frame.columns},
        index=frame.index,
    )
    return shown.to_string()


def _printable(text: str) -> str:
    """``text`` with control characters (line breaks, terminal escapes) shown as ``?``."""
    return "".join("?" if unicodedata.category(ch) == "Cc" else ch for ch in str(text))


def _shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, ending with an ellipsis when cut."""
    text = _printable(text)
    return text if len(text) <= width else text[: max(width - 1, 0)] + ELLIPSIS


def _wrap(text: str, width: int, indent: str = "") -> list[str]:
    """``text`` wrapped to ``width`` (hyphenated names kept whole where they fit)."""
    return textwrap.wrap(_printable(text), width, subsequent_indent=indent,
                         break_on_hyphens=False) or [""]


def _contributions(plan: dict) -> dict[tuple[str, str], int]:
    """PKR each province pays towards each province's provincial share: ``(benefiting, paying)``.

    A plan without ``cost_sharing.contributions`` (fixed rule): each province pays its own share.
    """
    listed = (plan.get("cost_sharing") or {}).get("contributions")
    if listed is None:
        return {(p["province_code"], p["province_code"]): p.get("provincial_pkr") or 0
                for p in plan.get("provinces", [])}
    out: dict[tuple[str, str], int] = {}
    for c in listed:
        k = (c["benefiting_province"], c["paying_province"])
        out[k] = out.get(k, 0) + (c.get("amount_pkr") or 0)
    return out


def _pooled(plan: dict) -> dict[str, list[str]]:
    """Under the key rule: each province whose provincial PKR other provinces fund, with those
    provinces (largest contribution first). Empty for a fixed-rule plan."""
    if (plan.get("cost_sharing") or {}).get("rule") != "key":
        return {}
    by: dict[str, dict[str, int]] = {}
    for (benefiting, paying), amount in _contributions(plan).items():
        if paying != benefiting and amount > 0:
            by.setdefault(benefiting, {})[paying] = amount
    funded = sorted(by, key=lambda b: (-sum(by[b].values()), b))  # most funded by others first
    return {b: sorted(by[b], key=lambda p: (-by[b][p], p)) for b in funded}


def _summary_rows(plans: Sequence[dict]) -> list[tuple[str, list[Any], str]]:
    """The headline figures of each plan: ``(label, value per plan, kind)``, kind one of
    ``count``, ``pkr``, ``ceiling`` (PKR or none), ``share``, ``text``, ``heading`` or ``programme``
    (label: its name)."""
    rows: list[tuple[str, list[Any], str]] = []
    totals = [p.get("totals") or {} for p in plans]
    for label, key, kind in (
        ("Households affected", "affected_households", "count"),
        ("Households paid", "paid_households", "count"),
        ("Amount PKR", "amount_pkr", "pkr"),
        ("Federal PKR", "federal_pkr", "pkr"),
        ("Provincial PKR", "provincial_pkr", "pkr"),
    ):
        rows.append((label, [t.get(key) for t in totals], kind))
    provinces = [{p["province_code"]: p for p in plan.get("provinces", [])} for plan in plans]
    codes = sorted({code for by in provinces for code in by})
    for code in codes:
        values = [by[code].get("provincial_pkr") if code in by else None for by in provinces]
        if any(values):
            rows.append((f"  spent in {code}", values, "pkr"))
    if any(_pooled(plan) for plan in plans):  # what each province pays differs from what it gets
        paid = []
        for plan in plans:
            by: dict[str, int] = {}
            for (_, paying), amount in _contributions(plan).items():
                by[paying] = by.get(paying, 0) + amount
            paid.append(by)
        for code in sorted({c for by in paid for c in by}):
            values = [by.get(code, 0) for by in paid]
            if any(values):
                rows.append((f"  paid by {code}", values, "pkr"))
    budgets = [p.get("budget") or {} for p in plans]
    ceilings = [b.get("provincial_ceilings_pkr") or {} for b in budgets]
    if any(ceilings):
        rows.append(("Provincial ceilings PKR", [sum(c.values()) if c else None for c in ceilings],
                     "ceiling"))
        for code in sorted({code for c in ceilings for code in c}):
            rows.append((f"  ceiling of {code}", [c.get(code) for c in ceilings], "ceiling"))
    federal_ceilings = [b.get("federal_ceiling_pkr") for b in budgets]
    if any(v is not None for v in federal_ceilings):
        rows.append(("Federal ceiling PKR", federal_ceilings, "ceiling"))
    for label, key, kind in (("Over budget households", "over_budget_households", "count"),
                             ("Budget shortfall PKR", "budget_shortfall_pkr", "pkr")):
        values = [t.get(key) for t in totals]
        if any(values):
            rows.append((label, values, kind))
    sharing = [p.get("cost_sharing") or {} for p in plans]
    rows.append(("Cost-sharing rule",
                 [" ".join(str(v) for v in (cs.get("rule"), cs.get("key")) if v) or None
                  for cs in sharing], "text"))
    rows.append(("Federal share", [cs.get("federal_share") for cs in sharing], "share"))
    names: list[str] = []
    for plan in plans:
        names += [g["name"] for g in plan.get("programmes", []) if g["name"] not in names]
    if names:
        rows.append(("Entitled households by programme", [None] * len(plans), "heading"))
        for name in names:
            entitled = [{g["name"]: g.get("entitled_households") for g in plan.get("programmes", [])}
                        for plan in plans]
            rows.append((name, [e.get(name) for e in entitled], "programme"))
    return rows


def _cell(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "none" if kind == "ceiling" else ""
    if kind == "share" and isinstance(value, int | float):
        return f"{value:.1%}"
    if isinstance(value, bool) or kind == "text":
        return _shorten(str(value), 16)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}"
    return _shorten(str(value), 16)


def _change(value: Any, first: Any, kind: str) -> str:
    if kind == "text" or isinstance(value, str) or isinstance(first, str):
        return "" if value == first else CHANGED
    if value is None or first is None:
        return "" if value is first else CHANGED
    diff = value - first
    if kind == "share":
        return "0" if abs(diff) < 5e-4 else f"{diff * 100:+.1f} pts"
    if isinstance(diff, float):
        return "0" if diff == 0 else f"{diff:+,.0f}"
    return "0" if diff == 0 else f"{diff:+,}"


def _keys(n: int) -> list[str]:
    """Column keys of ``n`` runs: A, B, ..., Z, AA, AB, ..."""
    out = []
    for i in range(n):
        key = ""
        i += 1
        while i:
            i, r = divmod(i - 1, 26)
            key = chr(65 + r) + key
        out.append(key)
    return out


def _listing(codes: Sequence[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    return codes[0] if len(codes) == 1 else ", ".join(codes[:-1]) + " and " + codes[-1]


def _footnotes(plans: Sequence[dict], keys: Sequence[str]) -> list[str]:
    """One note per NFC-key pooling in the runs (runs pooling alike share a note)."""
    groups: dict[tuple, list[str]] = {}
    for key, plan in zip(keys, plans, strict=True):
        pooled = _pooled(plan)
        if pooled:
            cs = plan.get("cost_sharing") or {}
            k = (cs.get("key"), tuple((b, tuple(p)) for b, p in pooled.items()))
            groups.setdefault(k, []).append(key)
    with_ceilings = any((p.get("budget") or {}).get("provincial_ceilings_pkr") for p in plans)
    notes = []
    for (nfc, pooled), which in groups.items():
        funded = "; ".join(
            f"{b}'s provincial PKR includes contributions from {_listing(p)}" if i == 0
            else f"{b}'s from {_listing(p)}"
            for i, (b, p) in enumerate(pooled)
        )
        runs = ("run " if len(which) == 1 else "runs ") + _listing(which)
        ceilings = ("the provincial ceilings apply" if with_ceilings
                    else "provincial ceilings, when set, apply")
        notes.append(
            f"Note ({runs}): under the NFC key (cost_sharing.rule: key"
            f"{f', cost_sharing.key: {nfc}' if nfc else ''}) provinces fund a pooled provincial share: "
            f"{funded}. The 'spent in' rows are the provincial PKR paid out in each province, the "
            f"'paid by' rows what each province contributes; {ceilings} to each province's "
            "contribution, not to the PKR spent in it, so a province's provincial PKR can exceed "
            "its own ceiling while the ceilings still hold."
        )
    return notes


def pooling_notes(plans: Sequence[dict], names: Sequence[str]) -> list[str]:
    """The notes :func:`format_summary` prints under a comparison, for plans held in memory
    (the app's Compare page): one per NFC-key pooling (``cost_sharing.rule: key``), saying
    which province funds which and that ceilings apply to each province's contribution, not to
    the PKR spent in it. ``names``: what each plan is called in the notes."""
    return _footnotes(plans, names)


def format_summary(frame: pd.DataFrame, runs: Sequence[Any], width: int = 80) -> str:
    """The headline figures of a comparison, laid out to fit ``width`` columns.

    Parameters
    ----------
    frame : pandas.DataFrame
        The result of :func:`compare` of ``runs`` (its first columns are the runs' labels).
    runs : sequence of Run
        The runs compared (:func:`load_runs`), the first the baseline.
    width : int
        Terminal columns; no line is longer (at least :data:`MIN_WIDTH`).

    Returns
    -------
    str
        One row per headline figure (households affected and paid, amount, federal and
        provincial PKR, the provincial PKR spent in each province and, under the NFC key, what
        each province pays; budget ceilings, the cost-sharing rule and federal share, each
        programme's entitled households) and one column per run (``A``, ``B``, ...) then its
        change from the first (``B-A``): numbers right-aligned with thousands separators. Runs
        of more columns than fit are shown in blocks. Then a legend with the runs' full labels
        and folders and any shortened programme name in full, and a note for each run whose
        provinces fund a pooled provincial share (``cost_sharing.rule: key``).
    """
    width = max(int(width), MIN_WIDTH)
    runs = [load_run(r) for r in runs]
    plans = [r.plan for r in runs]
    labels = [str(c) for c in frame.columns[: len(runs)]]
    keys = _keys(len(runs))
    rows = _summary_rows(plans)

    columns: list[tuple[str, str, list[str]]] = []  # (key, name, cells)
    names: list[str] = []  # column headers: folder names, numbered as the labels are
    for r in runs:
        name = base = r.folder.name if r.folder is not None else str(r.label)
        n = 2
        while name in names:
            name, n = f"{base} #{n}", n + 1
        names.append(name)
    for i, (key, name) in enumerate(zip(keys, names, strict=True)):
        columns.append((key, name, [_cell(v[i], kind) for _, v, kind in rows]))
        if i:
            columns.append((f"{key}-{keys[0]}", "change",
                            [_change(v[i], v[0], kind) if kind != "heading" else ""
                             for _, v, kind in rows]))
    widths = [max(len(key), *(len(c) for c in cells), min(len(name), 12))
              for key, name, cells in columns]
    longest = max(len(("  " + label) if kind == "programme" else label)
                  for label, _, kind in rows if kind != "heading")
    label_w = max(12, min(longest, _LABEL_MAX, width - len(_GAP) - max(widths)))

    shortened: list[tuple[str, str]] = []
    row_labels = []
    for label, _, kind in rows:
        if kind == "programme":
            text = "  " + _printable(label)
            if len(text) > label_w:
                tag = f"P{len(shortened) + 1}"
                shortened.append((tag, label))
                text = _shorten(f"  {tag} {label}", label_w)
            row_labels.append(text)
        elif kind == "heading":
            row_labels.append(_shorten(label, width))
        else:
            row_labels.append(_shorten(label, label_w))

    blocks: list[list[int]] = [[]]
    used = label_w
    for j, w in enumerate(widths):
        if blocks[-1] and used + len(_GAP) + w > width:
            blocks.append([])
            used = label_w
        blocks[-1].append(j)
        used += len(_GAP) + w

    lines = _wrap(f"Comparison of {len(runs)} runs: {keys[0]} is the baseline; "
                  f"{keys[1]}-{keys[0]} is {keys[1]}'s change from {keys[0]}.", width)
    for block in blocks:
        lines.append("")
        for header in (0, 1):
            cells = [(columns[j][header] if header == 0 else _shorten(columns[j][1], widths[j]))
                     .rjust(widths[j]) for j in block]
            lines.append(" " * label_w + "".join(_GAP + c for c in cells))
        for i, (text, (_, _, kind)) in enumerate(zip(row_labels, rows, strict=True)):
            if kind == "heading":
                lines.append(text)
                continue
            cells = [columns[j][2][i].rjust(widths[j]) for j in block]
            lines.append(text.ljust(label_w) + "".join(_GAP + c for c in cells).rstrip())
    lines.append("")
    lines.append("Runs:")
    for key, label, run in zip(keys, labels, runs, strict=True):
        where = "" if run.label in (label, None) else f": {run.label}"
        lines += _wrap(f"  {key}  {label}{where}", width, indent=" " * (len(key) + 4))
    if shortened:
        lines.append("Programmes:")
        lines += [line for tag, name in shortened
                  for line in _wrap(f"  {tag}  {name}", width, indent=" " * (len(tag) + 4))]
    for note in _footnotes(plans, keys):
        lines.append("")
        lines += _wrap(note, width)
    return "\n".join(line.rstrip() for line in lines)


def format_for_terminal(frame: pd.DataFrame, runs: Sequence[Any], width: int = 80,
                        out: str | Path | None = None) -> str:
    """What ``madad compare`` prints: :func:`format_summary`, then the full table
    (:func:`format_table`) when it fits ``width``, else a line saying where it is: the name of
    ``out`` (the ``.xlsx`` being written) or how to write it (``--out FILE.xlsx``)."""
    width = max(int(width), MIN_WIDTH)
    text = format_summary(frame, runs, width)
    full = format_table(frame)
    if max(len(line) for line in full.splitlines()) <= width:
        return f"{text}\n\nFull table:\n{full}"
    size = f"{len(frame)} rows, {len(frame.columns)} columns"
    where = f"it is in {Path(out).name}" if out is not None else "write it with --out FILE.xlsx"
    hint = f"The full table (policy, totals, cost-sharing, programmes: {size}) is wider than " \
           f"{width} columns; {where}."
    return text + "\n\n" + "\n".join(_wrap(hint, width))


def write_compare_xlsx(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a comparison (from :func:`compare`) as an Excel sheet.

    Parameters
    ----------
    frame : pandas.DataFrame
        The result of :func:`compare`.
    path : str or Path
        Output ``.xlsx``.

    Returns
    -------
    Path
        ``path``: one sheet ``compare`` with the section and figure in the first two columns, a
        frozen header row and frozen row labels, PKR formats on ``*_pkr`` rows, thousands
        separators on counts and a percentage format on shares.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    flat = neutralise(frame.reset_index())  # no text cell (a run's label, a title) can run as a formula
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        flat.to_excel(writer, sheet_name="compare", index=False)
        ws = writer.sheets["compare"]
        ws.freeze_panes = "C2"
        ws.column_dimensions["A"].width = 14
        ws.column_dimensions["B"].width = 34
        for j, column in enumerate(flat.columns[2:], start=3):
            ws.column_dimensions[ws.cell(row=1, column=j).column_letter].width = min(max(18, len(str(column)) + 2), 48)
        for i, figure in enumerate(flat["figure"], start=2):
            figure = str(figure)
            fmt = (PKR_FORMAT if figure.endswith("_pkr") else "0.00%" if "share" in figure else COUNT_FORMAT)
            for j in range(3, len(flat.columns) + 1):
                cell = ws.cell(row=i, column=j)
                if isinstance(cell.value, int | float) and not isinstance(cell.value, bool):
                    cell.number_format = fmt
    return path
