"""Comparisons read from run folders, printed for a terminal and written to Excel.

Example
-------
>>> from simulator.publish.compare import compare, write_compare_xlsx
>>> table = compare(["runs/bisp-25k", "runs/bisp-20k"])  # doctest: +SKIP
>>> write_compare_xlsx(table, "compare.xlsx")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from simulator.plans.compare import CHANGED, DIFF_PREFIX, TEXT_WIDTH, compare_runs
from simulator.publish.cells import neutralise
from simulator.publish.runs import load_run
from simulator.publish.tables import COUNT_FORMAT, PKR_FORMAT

__all__ = ["CHANGED", "DIFF_PREFIX", "compare", "format_table", "write_compare_xlsx"]


def compare(run_dirs: Iterable[Any]) -> pd.DataFrame:
    """Compare run folders (or in-memory results): :func:`simulator.plans.compare.compare_runs`
    of each one loaded with :func:`simulator.publish.load_run`."""
    return compare_runs([load_run(r) for r in run_dirs])


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
