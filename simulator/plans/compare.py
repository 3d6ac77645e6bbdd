"""Side-by-side comparison of plans: the policy each run used and the figures it gave.

Reading run folders and writing the table are publishing (:mod:`simulator.publish.compare`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from hazards.errors import ExportError
from simulator.plans.build import FIGURES

#: Label of the difference columns: ``"<DIFF_PREFIX><run label>"``.
DIFF_PREFIX = "diff vs first: "
#: What a difference cell says when a text row (a rule, a programme list) changes.
CHANGED = "changed"
#: Text cells longer than this are shortened by :func:`format_table` (not in the frame or xlsx).
TEXT_WIDTH = 48
_PROVINCE_PREFIXES = ("PB_", "SD_", "KP_", "BA_", "IS_")


def _policy_rows(plan: dict) -> dict[tuple[str, str], Any]:
    cs = plan.get("cost_sharing", {})
    budget = plan.get("budget", {})
    provincial = budget.get("provincial_ceilings_pkr") or {}
    programmes = "; ".join(
        f"{p['name']} ({p['owner']}, {p['expansion']})" for p in plan.get("programmes", [])
    )
    instalments = ", ".join(f"{i['share']:.0%} on day {i['day']}" for i in plan.get("instalments", []))
    return {
        ("policy", "programmes"): programmes,
        ("policy", "instalments"): instalments,
        ("policy", "dedup_rule"): plan.get("dedup", {}).get("rule"),
        ("policy", "cost_sharing_rule"): cs.get("rule"),
        ("policy", "cost_sharing_key"): cs.get("key") or "",
        ("policy", "federal_share"): cs.get("federal_share"),
        ("policy", "federal_ceiling_pkr"): budget.get("federal_ceiling_pkr"),
        ("policy", "provincial_ceilings_total_pkr"): sum(provincial.values()) if provincial else None,
        ("policy", "budget_priority"): " then ".join(budget.get("priority", [])),
    }


def _figure_rows(plan: dict) -> dict[tuple[str, str], Any]:
    t = plan["totals"]
    rows: dict[tuple[str, str], Any] = {("totals", k): t.get(k) for k in FIGURES}
    rows[("cost-sharing", "federal_share_of_amount")] = (
        round(t["federal_pkr"] / t["amount_pkr"], 4) if t.get("amount_pkr") else None
    )
    rows[("cost-sharing", "mean_per_paid_household_pkr")] = (
        t["amount_pkr"] // t["paid_households"] if t.get("paid_households") else None
    )
    for p in sorted(plan.get("provinces", []), key=lambda p: p["province_code"]):
        for k in ("amount_pkr", "federal_pkr", "provincial_pkr"):
            rows[("cost-sharing", f"{p['province_code']}_{k}")] = p[k]
    for prog in plan.get("programmes", []):
        rows[("programmes", f"{prog['name']}: entitled_households")] = prog["entitled_households"]
    return rows


def _labels(runs: Sequence[Any]) -> list[str]:
    labels = []
    for run in runs:
        name = run.plan.get("scenario", {}).get("name", "?")
        where = run.folder.name if run.folder is not None else run.label
        label = name if where == name else f"{name} ({where})"
        n, base = 2, label
        while label in labels:
            label, n = f"{base} #{n}", n + 1
        labels.append(label)
    return labels


def _difference(value: Any, first: Any) -> Any:
    numeric = (int, float)
    if isinstance(value, bool) or isinstance(first, bool):
        return "" if value == first else CHANGED
    if isinstance(value, numeric) and isinstance(first, numeric):
        diff = value - first
        return round(diff, 6) if isinstance(diff, float) else diff
    if value is None and first is None:
        return None
    if isinstance(value, numeric) or isinstance(first, numeric):
        return CHANGED if value != first else None
    return "" if value == first else CHANGED


def compare_runs(runs: Sequence[Any]) -> pd.DataFrame:
    """Compare two or more loaded runs side by side (:func:`simulator.publish.compare.compare` reads run folders first).

    Parameters
    ----------
    runs : sequence of Run
        Loaded runs (:func:`simulator.publish.load_run`): each has ``plan``, ``label`` and
        ``folder``; the first is the baseline.

    Returns
    -------
    pandas.DataFrame
        Rows indexed by ``(section, figure)``: the ``policy`` each run used (programmes,
        instalments, dedup and cost-sharing rules, federal share, budget ceilings [PKR]), the
        plan's ``totals`` (every figure of :data:`simulator.plans.build.FIGURES`, dedup savings and
        budget shortfall among them), ``cost-sharing`` (federal share of the amount, mean per
        paid household and each province's amount, federal and provincial PKR; provinces with
        nothing in any run are left out) and each programme's entitled households. One column
        per run, labelled ``"<scenario name> (<folder name>)"`` (the name alone when the folder
        has it), then one
        ``"diff vs first: <label>"`` column per later run: the run's value minus the first run's
        for numbers (exact int64 for counts and PKR), ``"changed"`` or ``""`` for text. A row
        absent from a run (a province or programme it does not have) is empty there.
        ``frame.attrs["runs"]`` lists the folders.

    Raises
    ------
    ExportError
        Fewer than two runs, or a folder that is not a run folder.
    """
    runs = list(runs)
    if len(runs) < 2:
        raise ExportError(f"compare needs at least two run folders; got {len(runs)}.")
    labels = _labels(runs)
    columns = {}
    for label, run in zip(labels, runs, strict=True):
        columns[label] = {**_policy_rows(run.plan), **_figure_rows(run.plan)}
    order: list[tuple[str, str]] = []
    for values in columns.values():
        order += [k for k in values if k not in order]
    # a province that pays and receives nothing in every run is left out
    order = [k for k in order if not (k[0] == "cost-sharing" and k[1][:3] in _PROVINCE_PREFIXES
                                      and not any(v.get(k) for v in columns.values()))]
    frame = pd.DataFrame(
        {label: [values.get(k) for k in order] for label, values in columns.items()},
        index=pd.MultiIndex.from_tuples(order, names=["section", "figure"]),
        dtype=object,
    )
    first = labels[0]
    for label in labels[1:]:
        frame[DIFF_PREFIX + label] = [
            _difference(v, f) for v, f in zip(frame[label], frame[first], strict=True)
        ]
    frame.attrs["runs"] = [r.label for r in runs]
    return frame
