"""The back-test report (:func:`simulator.plans.backtest.footprint_check`) as an Excel sheet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from simulator.plans.backtest import report_table
from simulator.publish.cells import neutral_text, neutralise
from simulator.publish.tables import COUNT_FORMAT


def write_backtest_xlsx(report: dict, path: str | Path) -> Path:
    """Write ``report`` to ``path`` (.xlsx): a ``backtest`` sheet (one row per figure: P10, P50,
    P90, fact, gap, target, members that met it, source) under a title line naming the scenario,
    the event and the seeds. Written aside and moved into place, so a reader never sees half a
    file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = neutralise(report_table(report))  # no text cell can run as a formula
    tmp = path.with_name(f".{path.name}.tmp")
    with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        table.to_excel(writer, sheet_name="backtest", index=False, startrow=2)
        ws = writer.sheets["backtest"]
        ws.cell(row=1, column=1, value=neutral_text(f"{report['scenario']} against the {report['event']}, "
                                                    f"{len(report['seeds'])} seeds, {report['households']:,} households"))
        widths = {"A": 60, "B": 14, "C": 14, "D": 14, "E": 14, "F": 10, "G": 40, "H": 8, "I": 80}
        for column, width in widths.items():
            ws.column_dimensions[column].width = width
        for i, figure in enumerate(table["figure"], start=4):
            caseload = str(figure).startswith("caseload")
            for column in "BCDE":
                ws[f"{column}{i}"].number_format = COUNT_FORMAT if caseload else "0.00"
            ws[f"F{i}"].number_format = "0.0%" if caseload else "0.000"
    tmp.replace(path)
    return path
