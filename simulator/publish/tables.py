"""The tables every export publishes from: districts with the plan's figures, the published
(small-cell suppressed) plan, the household payout list; and the number formats they share.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hazards import tables as data
from hazards.errors import ExportError
from simulator.plans.build import FIGURES
from simulator.publish.cells import neutralise
from simulator.publish.runs import Run, load_run, write_households

__all__ = ["COUNT_FORMAT", "PAYOUT_COLUMNS", "PKR_FORMAT", "district_table", "payout_list", "published"]

PKR_FORMAT = '#,##0" PKR"'
COUNT_FORMAT = "#,##0"

#: Columns of the household payout list (an allow-list: nothing else leaves the run, so no CNIC,
#: name, phone number or PMT score can slip into an export). ``weight`` is the number of
#: households a registry row stands for (1 in a real registry). Instalment columns are added.
PAYOUT_COLUMNS = (
    "household_id", "province_code", "district_id", "tehsil_id", "hh_size", "weight", "tier",
    "eligible", "status", "payer", "amount_pkr", "federal_pkr", "provincial_pkr",
)


def _num(value: Any) -> int:
    """A figure as a number for sorting and sizing: a suppressed (hidden) cell counts as 0."""
    return 0 if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) else int(value)


def _fmt(value: Any) -> str:
    """A figure for print: thousands separators, or an en dash where it is suppressed."""
    return "\u2013" if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) else f"{int(value):,}"


def _pkr(v: int | float | None) -> str:
    return "none" if v is None else f"PKR {int(v):,}"


def _short_pkr(v: int) -> str:
    """PKR in words a minister reads at a glance: 5.3 million, 12.4 billion."""
    v = int(v)
    for size, word in ((1e9, "billion"), (1e6, "million")):
        if abs(v) >= size:
            return f"PKR {v / size:,.{1 if abs(v) < 100 * size else 0}f} {word}"
    return f"PKR {v:,}"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _modelled_on(plan: dict) -> str | None:
    text = (plan.get("scenario") or {}).get("modelled_on")
    if not text:
        return None
    text = text.strip().rstrip(".")
    if "not a reproduction" not in text.lower():
        text += " (not a reproduction)"
    return text[0].upper() + text[1:] if text.lower().startswith("modelled on") else f"Modelled on {text}"

def district_table(run: Any) -> pd.DataFrame:
    """Every district of ``data/districts.csv`` with the plan's figures (zeros where unaffected).

    ``households`` comes from the per-household table (rows times their ``weight``), so it is
    right for unaffected districts too; every other figure is the plan's, whose districts list
    holds only affected districts.

    Parameters
    ----------
    run : Run, RunResult, str or Path
        See :func:`load_run`.

    Returns
    -------
    pandas.DataFrame
        ``district_id``, ``district``, ``province_code``, ``province``, ``lon``, ``lat``
        [degrees, a point inside the district] and every figure of :data:`simulator.plans.build.FIGURES`
        (int64; ``*_pkr`` in PKR). Column sums equal ``plan["totals"]``.
    """
    run = load_run(run)
    base = data.districts()[["district_id", "district", "province_code", "province", "lon", "lat"]]
    hh = run.households
    weights = hh["weight"].to_numpy(dtype=np.int64) if "weight" in hh.columns else np.ones(len(hh), np.int64)
    counts = pd.Series(weights).groupby(hh["district_id"].astype(str).to_numpy()).sum()
    figures = pd.DataFrame(run.plan["districts"])
    suppressed = bool(run.plan.get("disclosure", {}).get("hidden_cells"))
    cols = [c for c in FIGURES if c != "households"] if not suppressed else list(FIGURES)
    table = base.merge(
        figures[["district_id", *[c for c in cols if c in figures.columns]]] if len(figures) else
        pd.DataFrame(columns=["district_id"]),
        on="district_id", how="left",
    )
    listed = table["district_id"].isin(figures.get("district_id", pd.Series(dtype=str))).to_numpy()
    for c in cols:
        if c not in table.columns:
            table[c] = np.int64(0)
        elif suppressed:
            # A published (suppressed) plan: hidden cells stay empty. Unlisted districts (nobody
            # affected) show zeros, but not their household counts, which the disclosure rules
            # treat as a never-printed remainder.
            values = pd.to_numeric(table[c], errors="coerce").astype("Int64")
            fill = pd.NA if c == "households" else 0
            table[c] = values.where(listed, fill)
        else:
            table[c] = table[c].fillna(0).astype(np.int64)
    if not suppressed:
        table.insert(6, "households", base.district_id.map(counts).fillna(0).astype(np.int64).to_numpy())
    unknown = sorted(set(figures.get("district_id", [])) - set(base.district_id))
    if unknown:
        raise ExportError(
            f"{run.label}: the plan has districts {unknown} that data/districts.csv does not know; "
            "export with the data folder the run used (MADAD_DATA)."
        )
    return table[["district_id", "district", "province_code", "province", "lon", "lat", *FIGURES]]


def published(run: Run, min_cell: int | None) -> Run:
    """The run with its plan passed through small-cell suppression (cells under ``min_cell``
    households hidden, see :func:`simulator.publish.disclosure.suppress_plan`); unchanged when
    ``min_cell`` is None or 0."""
    if not min_cell or "disclosure" in run.plan:
        return run
    from simulator.publish.disclosure import suppress_plan

    return Run(
        suppress_plan(run.plan, k=int(min_cell)), label=run.label, folder=run.folder,
        households=run._households, hazards=run._hazards, created=run.created,
    )


def payout_list(run: Any, *, all_households: bool = False) -> pd.DataFrame:
    """The household payout list: pseudonymous ids, where, how much and in which instalment.

    Parameters
    ----------
    run : Run, RunResult, str or Path
        See :func:`load_run`.
    all_households : bool, default False
        Every household with its status (a reason code when it is not paid), not only the paid.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`PAYOUT_COLUMNS` present in the run, then ``instalment_<k>_pkr``
        for each instalment (split by the plan's rule, so each row's instalments sum to its
        ``amount_pkr``). Only allow-listed columns are kept: never a CNIC, name or PMT score.
    """
    from simulator.engine.payouts import instalment_split

    run = load_run(run)
    households = run.households
    cols = [c for c in PAYOUT_COLUMNS if c in households.columns]
    table = households[cols]
    if not all_households:
        table = table[table["amount_pkr"].to_numpy() > 0]
    table = table.reset_index(drop=True).copy()
    for c in ("province_code", "district_id", "tier", "status", "payer"):
        if c in table.columns:
            table[c] = table[c].astype(str)
    shares = [float(i["share"]) for i in run.plan.get("instalments", [])]
    if len(shares) > 1:
        split = instalment_split(table["amount_pkr"].to_numpy(dtype=np.int64), shares)
        for k, values in enumerate(split, start=1):
            table[f"instalment_{k}_pkr"] = values
    return table



def write_payouts(run: Run, path: Path, *, fmt: str, all_households: bool) -> Path:
    table = payout_list(run, all_households=all_households)
    if fmt == "csv":
        # A household id such as "=cmd|' /C calc'!A0" is written as text, never as a formula.
        neutralise(table).to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    else:
        write_households(table, path)
    return path
