"""Exports of a plan: JSON (versioned), Excel with formatted sheets, the household payout list."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from simulator.plan import FIGURES, MONEY

PKR_FORMAT = '#,##0" PKR"'
COUNT_FORMAT = "#,##0"


def write_json(plan: dict, path: str | Path) -> Path:
    """The plan as JSON with ``schema_version``, keys in a stable order."""
    path = Path(path)
    path.write_text(json.dumps(plan, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def write_households(result: pd.DataFrame, path: str | Path) -> Path:
    """The per-household result as Parquet: pseudonymous ids only, never a CNIC."""
    path = Path(path)
    table = pa.Table.from_pandas(result, preserve_index=False)
    table = table.replace_schema_metadata({})
    pq.write_table(table, path, compression="zstd")
    return path


def _sheet(writer: pd.ExcelWriter, name: str, frame: pd.DataFrame) -> None:
    frame.to_excel(writer, sheet_name=name, index=False)
    ws = writer.sheets[name]
    ws.freeze_panes = "A2"
    for idx, column in enumerate(frame.columns, start=1):
        letter = ws.cell(row=1, column=idx).column_letter
        width = max(len(str(column)), *(len(f"{v:,}") if isinstance(v, int) else len(str(v)) for v in frame[column].head(200))) if len(frame) else len(str(column))
        ws.column_dimensions[letter].width = min(max(10, width + 2), 60)
        fmt = PKR_FORMAT if column in MONEY else COUNT_FORMAT if column in FIGURES else None
        if fmt:
            for cell in ws.iter_rows(min_row=2, min_col=idx, max_col=idx):
                cell[0].number_format = fmt


def write_xlsx(plan: dict, path: str | Path) -> Path:
    """Excel workbook for the Committee: summary, provinces, districts, cost-sharing, dedup and
    budget, instalments, assumptions; PKR number formats, frozen header rows."""
    path = Path(path)
    summary = pd.DataFrame(
        [{"figure": k, "value": v} for k, v in plan["totals"].items()]
        + [{"figure": f"status: {k}", "value": v} for k, v in plan["status_counts"].items()]
    )
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        _sheet(writer, "summary", summary)
        ws = writer.sheets["summary"]
        for row in ws.iter_rows(min_row=2):
            fmt = PKR_FORMAT if str(row[0].value).endswith("_pkr") else COUNT_FORMAT
            row[1].number_format = fmt
        _sheet(writer, "provinces", pd.DataFrame(plan["provinces"]))
        _sheet(writer, "districts", pd.DataFrame(plan["districts"], columns=_district_columns(plan)))
        contributions = pd.DataFrame(
            plan["cost_sharing"]["contributions"],
            columns=["benefiting_province", "paying_province", "amount_pkr"],
        )
        _sheet(writer, "cost-sharing", contributions)
        dedup = pd.DataFrame(
            [
                {"item": "dedup rule", "value": plan["dedup"]["rule"]},
                {"item": "overlap households", "value": plan["dedup"]["overlap_households"]},
                {"item": "dedup savings PKR", "value": plan["dedup"]["savings_pkr"]},
                {"item": "over-budget households", "value": plan["budget"]["over_budget_households"]},
                {"item": "budget shortfall PKR", "value": plan["budget"]["shortfall_pkr"]},
            ]
            + [
                {"item": f"programme: {p['name']} ({p['owner']}, {p['expansion']}) entitled households",
                 "value": p["entitled_households"]}
                for p in plan["programmes"]
            ]
        )
        _sheet(writer, "dedup-budget", dedup)
        _sheet(writer, "instalments", pd.DataFrame(plan["instalments"]))
        _sheet(writer, "assumptions", pd.DataFrame({"assumption": plan["assumptions"]}))
    return path


def _district_columns(plan: dict) -> list[str]:
    if plan["districts"]:
        return list(plan["districts"][0])
    return ["district_id", "district", "province_code", "province", *FIGURES]
