"""The Excel workbook the Coordination Committee reviews: the plan's tables sheet by sheet, a
summary with a sign-off block and the responsible agencies, and, when the policy was edited from
the library scenario, every change beside the library's value.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from simulator.plans.agencies import agencies, involved_provinces
from simulator.plans.build import FIGURES, MONEY
from simulator.plans.policy import _show as show_value
from simulator.publish.cells import neutral_text, neutralise
from simulator.publish.tables import COUNT_FORMAT, PKR_FORMAT, _modelled_on

__all__ = ["SIGNATURE_COLUMNS", "SIGN_OFF", "approval_line", "signature_rows", "write_xlsx"]

#: The delivery sheets (with ``delivery:`` in the scenario): sheet name, plan.json key.
DELIVERY_SHEETS = (
    ("delivery", "headline"), ("delivery-provinces", "provinces"), ("delivery-districts", "districts"),
    ("delivery-sites", "sites"), ("delivery-closed", "closed_sites"), ("delivery-schedule", "instalments"),
    ("delivery-cash-per-day", "cash_per_day"), ("delivery-campsites", "campsites"),
    ("delivery-one-window", "one_window"),
)
#: Roles that sign off a joint response plan, in order.
SIGN_OFF = ("prepared by", "reviewed by", "approved by", "date", "version")
#: Columns of a signed plan's signatures table (``sign_off.signatures``, from the workspace).
SIGNATURE_COLUMNS = ("jurisdiction", "organisation", "signed by", "signed at", "key id", "verified")


def _sheet(writer: pd.ExcelWriter, name: str, frame: pd.DataFrame) -> None:
    # Text that a spreadsheet would run as a formula (a title "=HYPERLINK(...)") is written
    # with a leading quote (simulator.publish.cells); numbers stay numbers.
    frame = neutralise(frame)
    frame.to_excel(writer, sheet_name=name, index=False)
    ws = writer.sheets[name]
    ws.freeze_panes = "A2"
    for idx, column in enumerate(frame.columns, start=1):
        letter = ws.cell(row=1, column=idx).column_letter
        width = max(len(str(column)), *(len(f"{v:,}") if isinstance(v, int) else len(str(v)) for v in frame[column].head(200))) if len(frame) else len(str(column))
        ws.column_dimensions[letter].width = min(max(10, width + 2), 60)
        money = column in MONEY or "pkr" in str(column).split("_")
        fmt = PKR_FORMAT if money else COUNT_FORMAT if column in FIGURES or str(column).endswith("_households") else None
        if fmt:
            for cell in ws.iter_rows(min_row=2, min_col=idx, max_col=idx):
                cell[0].number_format = fmt


def _summary_extras(ws, plan: dict) -> None:
    """The sign-off block (to fill in, or the signatures of a signed plan) and the responsible
    agencies beside the summary figures (column D on)."""
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    bold = Font(bold=True)
    thin = Side(style="thin", color="808080")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    fill = PatternFill("solid", fgColor="FFF8DC")
    prefilled = plan.get("sign_off") or {}
    signed = "signatures" in prefilled  # signed in the Committee's workspace
    ws["D1"], ws["E1"] = "sign-off", "signed" if signed else "fill in"
    ws["D1"].font = ws["E1"].font = bold
    if signed:
        row = _signed(ws, prefilled, bold=bold, box=box) + 2
    else:
        for i, role in enumerate(SIGN_OFF, start=2):
            ws.cell(row=i, column=4, value=role).font = bold
            cell = ws.cell(row=i, column=5, value=neutral_text(prefilled.get(role.replace(" ", "_")) or None))
            cell.border, cell.fill = box, fill
        row = len(SIGN_OFF) + 3
    ws.cell(row=row, column=4, value="responsible agencies").font = bold
    header = ["province", "disaster authority", "federal programmes", "provincial programme / authority", "source"]
    table = agencies(plan)
    involved = set(involved_provinces(plan))
    table = table[table.province_code.isin(involved)] if involved else table
    for j, text in enumerate(header, start=4):
        ws.cell(row=row + 1, column=j, value=neutral_text(text)).font = bold
    for i, rec in enumerate(table.itertuples(index=False), start=row + 2):
        values = [rec.province, rec.disaster_authority, rec.federal_programmes, rec.provincial_programme, rec.source]
        for j, v in enumerate(values, start=4):
            ws.cell(row=i, column=j, value=neutral_text(v)).alignment = Alignment(wrap_text=j == 8, vertical="top")
    note = row + 2 + len(table)
    ws.cell(row=note, column=4, value="Federal coordination: NDMA; federal programmes pay through BISP.")
    for letter, width in zip("CDEFGH", (3, 24, 28, 20, 44, 60), strict=True):
        ws.column_dimensions[letter].width = width


def signature_rows(sign_off: dict) -> list[list[str]]:
    """A signed plan's signatures, one row each as :data:`SIGNATURE_COLUMNS`: jurisdiction,
    organisation name, signed by (member name), signed at, key id, verified ("yes" or "NO")."""
    return [[str(s.get("jurisdiction", "")), str(s.get("organisation_name") or s.get("organisation", "")),
             str(s.get("member_name") or s.get("member", "")), str(s.get("signed_at", "")),
             str(s.get("key_id", "")), "yes" if s.get("valid") else "NO"]
            for s in sign_off.get("signatures") or []]


def approval_line(sign_off: dict) -> str:
    """"Jointly approved by every required signatory (federal, SD)", or "Awaiting: KP, PB": the
    required jurisdictions (``sign_off.required``) without a verified signature."""
    signatures = sign_off.get("signatures") or []
    required = list(sign_off.get("required") or dict.fromkeys(s.get("jurisdiction") for s in signatures))
    signed = {s.get("jurisdiction") for s in signatures if s.get("valid")}
    missing = [j for j in required if j not in signed]
    if missing:
        return "Awaiting: " + ", ".join(map(str, missing))
    return f"Jointly approved by every required signatory ({', '.join(map(str, required))})"


def _signed(ws, sign_off: dict, *, bold, box) -> int:
    """A signed plan's sign-off block from row 2 (plan code, version, the manifest SHA-256 signed
    over, whether jointly approved, then the signatures table, column D on); its last row."""
    from openpyxl.styles import Font

    approval = approval_line(sign_off)
    items = (("plan", sign_off.get("plan_code")), ("version", sign_off.get("version")),
             ("manifest SHA-256", sign_off.get("manifest_sha256")), ("approval", approval))
    for i, (label, value) in enumerate(items, start=2):
        ws.cell(row=i, column=4, value=label).font = bold
        ws.cell(row=i, column=5, value=neutral_text(value)).border = box
    if approval.startswith("Awaiting"):
        ws.cell(row=len(items) + 1, column=5).font = Font(bold=True, color="9C0006")
    top = len(items) + 3
    for j, text in enumerate(SIGNATURE_COLUMNS, start=4):
        ws.cell(row=top, column=j, value=text).font = bold
    rows = signature_rows(sign_off)
    for i, values in enumerate(rows, start=top + 1):
        for j, v in enumerate(values, start=4):
            ws.cell(row=i, column=j, value=neutral_text(v)).border = box
        if values[-1] != "yes":
            ws.cell(row=i, column=4 + len(values) - 1).font = Font(bold=True, color="9C0006")
    ws.column_dimensions["I"].width = 10
    return top + len(rows)


def _policy_status(plan: dict) -> str | None:
    """The summary's "policy" line: edited from the library scenario (and how many changes), the
    library scenario as its file has it, or None for a plan without a policy record."""
    record = plan.get("policy")
    if not record:
        return None
    library = record.get("library")
    if record.get("edited"):
        n = len(record.get("changes", []))
        return (f"edited from the library scenario {library}: {n} change{'s' * (n != 1)} "
                "(sheet policy-changes)")
    return f"as in the library scenario {library} (not edited)" if library else "built without a library scenario"


def _summary(plan: dict) -> pd.DataFrame:
    """The summary sheet's figures: scenario, policy status, national totals and status counts."""
    scenario = plan.get("scenario", {})
    status = _policy_status(plan)
    return pd.DataFrame(
        [
            {"figure": "scenario", "value": scenario.get("name", "")},
            {"figure": "title", "value": scenario.get("title", "")},
            {"figure": "modelled on", "value": _modelled_on(plan) or ""},
        ]
        + ([{"figure": "policy", "value": status}] if status is not None else [])
        + [{"figure": "schema version", "value": plan.get("schema_version", "")}]
        + ([{"figure": "registry rows", "value": plan["registry_rows"]}] if "registry_rows" in plan else [])
        + [{"figure": k, "value": v} for k, v in plan["totals"].items()]
        + [{"figure": f"status: {k}", "value": v} for k, v in plan["status_counts"].items()]
        + _unregistered_summary(plan)
    )


def _unregistered_summary(plan: dict) -> list[dict]:
    """The unregistered estimate's national figures, labelled as an estimate outside the paid."""
    block = plan.get("unregistered")
    if not block:
        return []
    t = block["totals"]
    return [
        {"figure": "registry coverage of census households", "value": f"{t['coverage']:.1%}"},
        {"figure": "unregistered households (estimate, not in the figures above)", "value": t["unregistered_households"]},
        {"figure": "affected unregistered households (estimate)", "value": t["affected_unregistered_households"]},
        {"figure": "of whom would qualify if registered (estimate)", "value": t["eligible_unregistered_households"]},
        {"figure": "PKR to pay them if registered (estimate)", "value": t["pkr_if_registered"]},
        {"figure": "basis of the unregistered estimate", "value": block["basis"]},
    ]


def _policy_changes(plan: dict) -> pd.DataFrame:
    """One row per policy change: what changed, the library file's value and the value used."""
    rows = [
        {"change": c["label"], "library": show_value(c["field"], c["library"]),
         "active": show_value(c["field"], c["active"]), "field": c["field"]}
        for c in (plan.get("policy") or {}).get("changes", [])
    ]
    return pd.DataFrame(rows, columns=["change", "library", "active", "field"])


def _dedup_budget(plan: dict) -> pd.DataFrame:
    return pd.DataFrame(
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


def _number_formats(ws, pkr_suffix: str) -> None:
    """PKR or count formats on column B of an item/value sheet, by the item's name."""
    for row in ws.iter_rows(min_row=2):
        if isinstance(row[1].value, int | float):
            name = str(row[0].value)
            row[1].number_format = PKR_FORMAT if name.endswith(pkr_suffix) or name.startswith("PKR ") else COUNT_FORMAT


def write_xlsx(plan: dict, path: str | Path) -> Path:
    """Write the Excel workbook the Coordination Committee reviews.

    Parameters
    ----------
    plan : dict
        A plan from :func:`simulator.plans.build.build`.
    path : str or Path
        Output ``.xlsx``.

    Returns
    -------
    Path
        ``path``. Sheets: ``summary`` (scenario, whether the policy was edited, national figures,
        status counts, a sign-off block to fill in (for a plan signed in the Committee's
        workspace: the plan code, version, manifest SHA-256 signed over, whether jointly approved
        and each signature, :data:`SIGNATURE_COLUMNS`) and the responsible agencies),
        ``policy-changes`` (only for an edited policy: each change, the library value and the
        value used), ``provinces``, ``districts``, ``Groups`` (affected and paid households
        female-headed, with a disabled member and with children under five, national, by
        province and district, with the basis as a note row), ``cost-sharing``, ``dedup-budget``,
        ``instalments``, ``assumptions``, the ``delivery-*`` sheets of :data:`DELIVERY_SHEETS`
        (with ``delivery:`` in the scenario), ``ensemble`` (with ``ensemble:`` in the scenario: P10,
        P50 and P90 over the members, national, by province and district); PKR number formats
        and frozen header rows.
    """
    path = Path(path)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        _sheet(writer, "summary", _summary(plan))
        ws = writer.sheets["summary"]
        _number_formats(ws, "_pkr")
        ws.column_dimensions["B"].width = max(ws.column_dimensions["B"].width, 16)
        _summary_extras(ws, plan)
        if (plan.get("policy") or {}).get("edited"):
            _sheet(writer, "policy-changes", _policy_changes(plan))
        _sheet(writer, "provinces", pd.DataFrame(plan["provinces"]))
        _sheet(writer, "districts", pd.DataFrame(plan["districts"], columns=_district_columns(plan)))
        if plan.get("groups"):
            _groups_sheet(writer, plan)
        contributions = pd.DataFrame(
            plan["cost_sharing"]["contributions"],
            columns=["benefiting_province", "paying_province", "amount_pkr"],
        )
        _sheet(writer, "cost-sharing", contributions)
        _sheet(writer, "dedup-budget", _dedup_budget(plan))
        _number_formats(writer.sheets["dedup-budget"], "PKR")
        _sheet(writer, "instalments", pd.DataFrame(plan["instalments"]))
        _sheet(writer, "assumptions", pd.DataFrame({"assumption": plan["assumptions"]}))
        update = plan.get("nser_update")
        if update:
            _sheet(writer, "nser-update", pd.DataFrame(update["districts"]))
            _sheet(writer, "nser-update-provinces", pd.DataFrame(update["provinces"]))
            _sheet(writer, "nser-update-assumptions", pd.DataFrame({"assumption": update["assumptions"]}))
        if plan.get("unregistered"):
            _sheet(writer, "unregistered", pd.DataFrame(plan["unregistered"]["districts"]))
        delivery = plan.get("delivery")
        if delivery:
            for name, key in DELIVERY_SHEETS:  # loops over sheets
                if key == "headline":
                    from simulator.plans.delivery_plan import headline

                    frame = pd.DataFrame({"delivery": [headline(delivery)], "basis": [delivery["assumptions"]["basis"]]})
                else:
                    frame = pd.DataFrame(delivery[key])
                _sheet(writer, name, frame)
        if plan.get("risk"):
            from simulator.publish.risk import risk_tables

            for name, frame in risk_tables(plan["risk"], None).items():  # loops over sheets
                _sheet(writer, name, frame)
        if plan.get("ensemble"):
            _sheet(writer, "ensemble", ensemble_table(plan["ensemble"]))
            for row in writer.sheets["ensemble"].iter_rows(min_row=2, min_col=3, max_col=6):
                for cell in row[1:]:
                    cell.number_format = PKR_FORMAT if str(row[0].value).endswith("_pkr") else COUNT_FORMAT
    return path


#: The Groups sheet's figure columns: plan.json name (``plan["groups"]`` rows), header in words.
GROUP_HEADERS = {
    "female_headed_affected": "female-headed households affected",
    "female_headed_paid": "female-headed households paid",
    "disability_affected": "households with a disabled member affected",
    "disability_paid": "households with a disabled member paid",
    "children_under5_affected": "households with children under five affected",
    "children_under5_paid": "households with children under five paid",
}


def groups_table(plan: dict) -> pd.DataFrame:
    """``plan["groups"]`` as one table in words: Pakistan, then each province followed by its
    districts (by name); affected and paid households of each group [weighted households]."""
    block = plan["groups"]
    names = {p["province_code"]: p.get("province") or p["province_code"] for p in plan.get("provinces", [])}
    district_names = {d["district_id"]: d.get("district") or d["district_id"] for d in plan.get("districts", [])}
    figures = list(GROUP_HEADERS)
    national = {f"{g}_{m}": v for g, item in block["national"].items() for m, v in item.items()}
    top = pd.DataFrame([{"level": "national", "province": "Pakistan", "district": "", **national}])
    provinces = pd.DataFrame(block["provinces"], columns=["province_code", *figures])
    provinces.insert(0, "level", "province")
    districts = pd.DataFrame(block["districts"], columns=["district_id", "province_code", *figures])
    districts.insert(0, "level", "district")
    districts["district"] = districts.district_id.map(lambda d: district_names.get(d, d))
    rows = pd.concat([provinces.assign(district=""), districts], ignore_index=True)
    rows["_rank"] = (rows.level == "district").astype(int)
    rows = rows.sort_values(["province_code", "_rank", "district"], kind="stable")
    rows["province"] = rows.province_code.map(lambda c: names.get(c, c))
    table = pd.concat([top, rows[["level", "province", "district", *figures]]], ignore_index=True)
    return table.rename(columns=GROUP_HEADERS)[["level", "province", "district", *GROUP_HEADERS.values()]]


def _groups_sheet(writer: pd.ExcelWriter, plan: dict) -> None:
    """The ``Groups`` sheet (:func:`groups_table`), count formats, and the basis as a note row
    under the table."""
    table = groups_table(plan)
    _sheet(writer, "groups", table)
    ws = writer.sheets["groups"]
    for row in ws.iter_rows(min_row=2, min_col=4, max_col=table.shape[1]):
        for cell in row:
            cell.number_format = COUNT_FORMAT
    basis = plan["groups"].get("basis", "")
    ws.cell(row=len(table) + 3, column=1, value=neutral_text(f"basis: {basis}"))


def ensemble_table(block: dict) -> pd.DataFrame:
    """The plan's ensemble block as one table: level, area, metric, P10, P50, P90."""
    rows = [{"level": "national", "area": "Pakistan", "metric": m, **r} for m, r in block["national"].items()]
    for level, key in (("province", "province_code"), ("district", "district_id")):
        for item in block[level + "s"]:
            rows.extend({"level": level, "area": item[key], "metric": m, **item[m]}
                        for m in block["national"])
    return pd.DataFrame(rows, columns=["level", "area", "metric", "p10", "p50", "p90"])


def _district_columns(plan: dict) -> list[str]:
    if plan["districts"]:
        return list(plan["districts"][0])
    return ["district_id", "district", "province_code", "province", *FIGURES]

