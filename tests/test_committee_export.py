"""Committee exports: meeting minutes and the action tracker as xlsx and PDF, and a signed plan's
signatures in the plan workbook and the brief (issue 18). Hand-made records, no database."""

from __future__ import annotations

import copy
import datetime as dt
import unicodedata
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from hazards.errors import ExportError
from simulator import plans
from simulator import scenario as scenario_mod
from simulator.publish import committee
from simulator.publish.pdf import MAX_PAGES, write_pdf
from simulator.publish.runs import Run, load_run
from simulator.publish.xlsx import SIGN_OFF, SIGNATURE_COLUMNS, approval_line, write_xlsx

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "indus-flood-demo.yaml"
AS_OF = dt.date(2026, 12, 1)
URDU = "\u0627\u062c\u0644\u0627\u0633 \u06a9\u06cc \u06a9\u0627\u0631\u0631\u0648\u0627\u0626\u06cc"  # اجلاس کی کارروائی
LONG = " ".join(f"Point {i}: the provinces reviewed the campsite list and agreed the next steps." for i in range(60))
INJECTED = '=HYPERLINK("http://example.invalid","click")'


def _history(*statuses: str) -> list[dict]:
    return [{"revision": i, "status": s, "note": "added" if i == 1 else f"now {s}", "member": "chair",
             "at": f"2026-11-{i:02d}T09:00:00Z"} for i, s in enumerate(statuses, start=1)]


@pytest.fixture
def meetings() -> list[dict]:
    return [
        {"id": 2, "held_on": dt.date(2026, 11, 24), "title": "Quarterly meeting on the Indus flood plan",
         "agenda": "1. The flood plan: first draft\n2. Campsites", "minutes": f"{LONG}\n\n{URDU}",
         "revision": 3, "actions": [1, 2]},
        {"id": 1, "held_on": dt.date(2026, 8, 20), "title": "Inaugural meeting", "agenda": "",
         "minutes": "", "revision": 1, "actions": []},
    ]


@pytest.fixture
def actions() -> list[dict]:
    return [
        {"id": 1, "title": "PDMA Sindh to confirm the campsite list", "owner": "pdma-sindh",
         "due_on": dt.date(2026, 11, 24), "status": "open", "revision": 1,
         "meeting": "Quarterly meeting on the Indus flood plan", "overdue": True, "days_overdue": 7,
         "history": _history("open")},
        {"id": 2, "title": "BISP to share the NSER extract", "owner": "bisp", "due_on": dt.date(2026, 12, 22),
         "status": "in_progress", "revision": 2, "meeting": "Quarterly meeting on the Indus flood plan",
         "overdue": False, "days_overdue": 0, "history": _history("open", "in_progress")},
        {"id": 3, "title": INJECTED, "owner": "ndma", "due_on": dt.date(2026, 10, 1), "status": "done",
         "revision": 2, "meeting": None, "overdue": False, "days_overdue": 0,
         "history": _history("open", "done")},
    ]


def _flat(text: str) -> str:
    return " ".join(text.split())


def _pdf_text(path: Path) -> str:
    return _flat("\n".join(page.extract_text() for page in PdfReader(path).pages))


# ---------------------------------------------------------------------------------------------
# Minutes and action tracker
# ---------------------------------------------------------------------------------------------


def test_minutes_xlsx(meetings, actions, tmp_path):
    out = committee.write_minutes_xlsx(meetings, actions, tmp_path / "c" / "committee.xlsx", as_of=AS_OF)
    assert out == tmp_path / "c" / "committee.xlsx"
    assert [p.name for p in out.parent.iterdir()] == ["committee.xlsx"]  # nothing left aside
    wb = load_workbook(out)
    assert wb.sheetnames == list(committee.SHEETS)

    ws = wb["meetings"]
    assert [c.value for c in ws[3]] == list(committee.MEETING_COLUMNS)
    assert ws.freeze_panes == "A4"
    assert ws["A4"].value == dt.datetime(2026, 11, 24) and ws["A4"].number_format == "yyyy-mm-dd"
    assert ws["B4"].value == meetings[0]["title"]
    assert ws["D4"].value == meetings[0]["minutes"]
    assert ws["F4"].value == "1, 2"

    ws = wb["actions"]
    assert ws["A2"].value == "1 of 3 action points overdue as of 2026-12-01"
    assert [c.value for c in ws[3]] == list(committee.ACTION_COLUMNS)
    rows = {ws.cell(row=r, column=1).value: r for r in range(4, ws.max_row + 1)}
    assert set(rows) == {1, 2, 3}
    late, on_time = ws[rows[1]], ws[rows[2]]
    assert all(c.fill.fgColor.rgb.endswith(committee.OVERDUE_FILL) for c in late)
    assert late[5].value == 7  # days overdue
    assert not any(c.fill.fgColor.rgb.endswith(committee.OVERDUE_FILL) for c in on_time)
    injected = ws.cell(row=rows[3], column=2)
    assert injected.data_type == "s" and injected.value == "'" + INJECTED  # text, never a formula

    ws = wb["action-history"]
    history = [[c.value for c in row] for row in ws.iter_rows(min_row=4)]
    assert len(history) == 5
    assert history[2][:4] == [2, "BISP to share the NSER extract", 2, "in_progress"]
    assert history[-1][1] == "'" + INJECTED


def test_minutes_xlsx_replaces_an_existing_file_and_refuses_a_folder(meetings, actions, tmp_path):
    out = tmp_path / "committee.xlsx"
    out.write_text("an older export")
    committee.write_minutes_xlsx(meetings, actions, out, as_of=AS_OF)
    assert load_workbook(out).sheetnames == list(committee.SHEETS)
    with pytest.raises(ExportError, match="is a folder"):
        committee.write_minutes_xlsx(meetings, actions, tmp_path, as_of=AS_OF)


def test_minutes_pdf(meetings, actions, tmp_path):
    out = committee.write_minutes_pdf(meetings, actions, tmp_path / "committee.pdf",
                                      title="Coordination Committee", as_of=AS_OF)
    assert [p.name for p in tmp_path.iterdir()] == ["committee.pdf"]
    reader = PdfReader(out)
    text = _pdf_text(out)
    assert "Coordination Committee" in text
    assert "1 of 3 action points overdue as of 2026-12-01" in text
    assert text.index("1 of 3 action points overdue") < text.index("Quarterly meeting on the Indus flood plan")
    for m in meetings:
        assert m["title"] in text
    assert _flat(LONG) in text  # long minutes wrap over lines (and pages), none cut
    assert "No minutes recorded." in text
    for a in actions:  # titles wrap in their column (a long word too)
        assert "".join(a["title"].split()) in "".join(text.split()), a["title"]
    assert "2026-11-24 pdma-sindh" in text or "pdma-sindh 2026-11-24" in text
    fonts = {str(f) for page in reader.pages for f in (page["/Resources"].get("/Font") or {}).values()
             for f in [f.get_object()["/BaseFont"]]}
    assert any("DejaVuSans" in f for f in fonts)  # a Unicode font for the minutes
    # the Urdu minutes are shaped (joined forms, not letters one by one) in Noto Naskh Arabic,
    # and read back as the Urdu written
    assert any("NotoNaskhArabic" in f for f in fonts)
    raw = "".join(page.extract_text() for page in reader.pages)
    assert URDU.split()[0] not in raw  # not the letters as typed: their shaped forms
    assert URDU in unicodedata.normalize("NFKC", " ".join(raw.split()))


def test_minutes_pdf_with_nothing_recorded(tmp_path):
    out = committee.write_minutes_pdf([], [], tmp_path / "empty.pdf", as_of=AS_OF)
    text = _pdf_text(out)
    assert "None of 0 action points overdue" in text and "No meetings recorded." in text


# ---------------------------------------------------------------------------------------------
# A signed plan in the plan workbook and the brief
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run() -> Run:
    res = plans.run(scenario_mod.load(DEMO), base=DEMO.parent, households=5000)
    return load_run(res)


SIGNATURES = [
    {"jurisdiction": "federal", "organisation": "bisp", "organisation_name": "Benazir Income Support Programme",
     "member": "bisp", "member_name": "BISP planner (demo)", "signed_at": "2026-11-30T10:05:00Z",
     "key_id": "0123456789abcdef0123456789abcdef", "valid": True},
    {"jurisdiction": "SD", "organisation": "sspa-sindh",
     "organisation_name": "Sindh Social Protection Authority (SSPA)", "member": "sspa-sindh",
     "member_name": "SSPA Sindh planner (demo)", "signed_at": "2026-11-30T21:40:00Z",
     "key_id": "fedcba9876543210fedcba9876543210", "valid": True},
]


def _signed(run: Run, signatures: list[dict], required: list[str]) -> Run:
    plan = copy.deepcopy(run.plan)
    plan["sign_off"].update(signatures=copy.deepcopy(signatures), required=required,
                            jointly_approved=approval_line({"signatures": signatures, "required": required})
                            .startswith("Jointly"),
                            plan_code="indus-flood-demo", version=2, manifest_sha256="ab" * 32)
    return Run(plan, label=run.label, folder=run.folder, households=run._households,
               hazards=run._hazards, created=run.created)


def _summary(path: Path) -> dict[tuple[int, int], object]:
    ws = load_workbook(path)["summary"]
    return {(c.row, c.column): c.value for row in ws.iter_rows(min_col=4, max_col=9) for c in row
            if c.value is not None}


def test_approval_line():
    assert approval_line({"signatures": SIGNATURES, "required": ["federal", "SD"]}) == (
        "Jointly approved by every required signatory (federal, SD)")
    bad = [SIGNATURES[0], {**SIGNATURES[1], "valid": False}]
    assert approval_line({"signatures": bad, "required": ["federal", "SD", "KP"]}) == "Awaiting: SD, KP"


def test_signed_plan_xlsx(run, tmp_path):
    out = write_xlsx(_signed(run, SIGNATURES, ["federal", "SD"]).plan, tmp_path / "plan.xlsx")
    cells = _summary(out)
    values = set(cells.values())
    assert cells[(1, 4)] == "sign-off" and cells[(1, 5)] == "signed"
    assert {"indus-flood-demo", 2, "ab" * 32,
            "Jointly approved by every required signatory (federal, SD)"} <= values
    header = next(r for (r, c), v in cells.items() if v == "jurisdiction" and c == 4)
    assert [cells[(header, c)] for c in range(4, 10)] == list(SIGNATURE_COLUMNS)
    for i, s in enumerate(SIGNATURES, start=header + 1):
        assert [cells[(i, c)] for c in range(4, 10)] == [
            s["jurisdiction"], s["organisation_name"], s["member_name"], s["signed_at"], s["key_id"], "yes"]
    assert "responsible agencies" in values and "PDMA Sindh" in values  # still there, below

    awaiting = write_xlsx(_signed(run, SIGNATURES[:1], ["federal", "SD", "KP"]).plan, tmp_path / "a.xlsx")
    assert "Awaiting: SD, KP" in _summary(awaiting).values()


def test_signed_plan_xlsx_is_formula_safe(run, tmp_path):
    evil = [{**SIGNATURES[0], "member_name": "=cmd|' /C calc'!A0"}]
    ws = load_workbook(write_xlsx(_signed(run, evil, ["federal"]).plan, tmp_path / "p.xlsx"))["summary"]
    cell = next(c for row in ws.iter_rows() for c in row if isinstance(c.value, str) and "cmd|" in c.value)
    assert cell.data_type == "s" and cell.value.startswith("'=")


def test_signed_plan_pdf(run, tmp_path):
    out = write_pdf(_signed(run, SIGNATURES, ["federal", "SD"]), tmp_path / "brief.pdf")
    assert len(PdfReader(out).pages) <= MAX_PAGES
    text = _pdf_text(out)
    assert "Jointly approved by every required signatory (federal, SD)" in text
    assert "ab" * 32 in text and "indus-flood-demo" in text
    for s in SIGNATURES:
        for key in ("organisation_name", "member_name", "signed_at", "key_id"):
            assert s[key] in text, (key, s[key])
    assert "Plan version: ____" not in text and "Prepared by" not in text

    awaiting = [SIGNATURES[0], {**SIGNATURES[1], "valid": False}]
    text = _pdf_text(write_pdf(_signed(run, awaiting, ["federal", "SD", "PB"]), tmp_path / "a.pdf"))
    assert "Awaiting: SD, PB" in text and "NO" in text.split()


def test_unsigned_plan_renders_as_before(run, tmp_path):
    """Without ``sign_off.signatures`` the sign-off block is the one to fill in, unchanged."""
    assert "signatures" not in run.plan["sign_off"]
    cells = _summary(write_xlsx(run.plan, tmp_path / "plan.xlsx"))
    assert [cells.get((r, 4)) for r in range(1, 7)] == ["sign-off", *SIGN_OFF]
    assert cells[(1, 5)] == "fill in" and not any(cells.get((r, 5)) for r in range(2, 7))
    assert cells[(8, 4)] == "responsible agencies" and (9, 9) not in cells
    # a plan whose sign-off is filled in by hand keeps showing it in the block
    filled = copy.deepcopy(run.plan)
    filled["sign_off"].update(prepared_by="BISP", version="3")
    cells = _summary(write_xlsx(filled, tmp_path / "filled.xlsx"))
    assert cells[(2, 5)] == "BISP" and cells[(6, 5)] == "3"

    text = _pdf_text(write_pdf(run, tmp_path / "brief.pdf"))
    for words in ("Prepared by", "Reviewed by", "Approved by", "Plan version: ____", "Date of approval"):
        assert words in text, words
    assert "Key id" not in text and "Jointly approved" not in text and "Awaiting" not in text
