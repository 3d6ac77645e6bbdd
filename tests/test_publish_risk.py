"""The risk workbook, PDF and picture (simulator.publish.risk), from the hand-made 10-event, 8-year
section of tests/test_risk_plan.py."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import openpyxl
import pandas as pd
import pytest
from pypdf import PdfReader
from test_risk_plan import EVENT_YEAR, KOTRI, N_YEARS, _financing_dict, _table

from simulator import scenario as S
from simulator.plans import risk_plan as RP
from simulator.publish import risk as PR

B = 10**9


def _section(**over) -> dict:
    fin = S.Financing.model_validate(_financing_dict(**over))
    return RP.risk_section(_table(), N_YEARS, fin, trigger_index={"Kotri depth": KOTRI}, event_year=EVENT_YEAR,
                           exposure_shares={"PB": 1, "SD": 3})


@pytest.fixture(scope="module")
def section() -> dict:
    return _section()


def test_workbook_sheets_and_exact_events(section, tmp_path):
    out = PR.write_risk_xlsx(section, _table(), tmp_path / "risk.xlsx")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == list(PR.RISK_SHEETS)
    assert not list(tmp_path.glob(".*tmp*"))  # written aside, nothing left over
    events = pd.read_excel(out, sheet_name="risk-events")
    # the events sheet: one row per paying event, to the rupee
    table = _table()
    paying = (table.federal_pkr + table.provincial_pkr).groupby(table.event_id).sum()
    assert events["event_id"].tolist() == paying[paying > 0].index.tolist()
    for column in ("federal_pkr", "provincial_pkr", "households"):
        assert events[column].astype(np.int64).tolist() == table.groupby("event_id")[column].sum()[paying > 0].tolist()
    assert (events.total_pkr == events.federal_pkr + events.provincial_pkr).all()
    by_province = [c for c in events.columns if c.endswith("_pkr") and c[:2] in ("PB", "SD", "KP", "BA", "IS")]
    assert (events[by_province].sum(axis=1) == events.total_pkr).all()
    assert int(events["federal_pkr"].sum() + events["provincial_pkr"].sum()) == 124 * B
    # the other sheets carry the section's figures
    metrics = pd.read_excel(out, sheet_name="risk-metrics").set_index("payer")
    assert int(metrics.loc["total", "aal_pkr"]) == section["metrics"]["total"]["aal"]["aal_pkr"] == 15_500_000_000
    rps = pd.read_excel(out, sheet_name="risk-return-periods")
    row = rps[(rps.payer == "total") & (rps.basis == "aep") & (rps.return_period_years == 5)].iloc[0]
    assert int(row.loss_pkr) == 30 * B and bool(row.interpolated)
    layers = pd.read_excel(out, sheet_name="risk-layers").set_index("name")
    assert int(layers.loc["Cat bond", "expected_annual_cost_pkr"]) == 2_187_500_000
    pools = pd.read_excel(out, sheet_name="risk-pools")
    assert int(pools.expected_annual_pkr.sum()) == 5 * B  # the funders add up to the layer's cost
    triggers = pd.read_excel(out, sheet_name="risk-triggers").set_index("name")
    assert int(triggers.loc["Kotri depth", "false_alarms"]) == 1
    curves = pd.read_excel(out, sheet_name="risk-curves")
    total = curves[(curves.payer == "total") & (curves.basis == "aep")]
    assert total.loss_pkr.astype(np.int64).tolist() == section["curves"]["total"]["aep"]["loss_pkr"]
    summary = pd.read_excel(out, sheet_name="risk-summary")
    assert summary.value.astype(str).str.contains("fires once every 2.67 years").any()
    # PKR columns get the PKR number format
    assert wb["risk-events"]["E2"].number_format.endswith('" PKR"')


def test_formula_injection_in_a_layer_name_is_neutralised(tmp_path):
    bad = "=HYPERLINK(\"http://x\",\"fund\")"
    layers = _financing_dict()["layers"]
    layers[0] = {**layers[0], "name": bad, "note": "+1+1"}
    section = _section(layers=layers)
    table = _table()
    table["hazard"] = table["hazard"].where(table.event_id != 1, "@SUM(1)")
    out = PR.write_risk_xlsx(section, table, tmp_path / "risk.xlsx")
    wb = openpyxl.load_workbook(out)
    ws = wb["risk-layers"]
    names = [c.value for c in ws["A"][1:]]
    assert "'" + bad in names and bad not in names
    notes = [c.value for c in ws["P"][1:]]
    assert "'+1+1" in notes
    for sheet in wb.worksheets:  # no cell anywhere is a formula
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
    assert wb["risk-events"]["C2"].value == "'@SUM(1)"
    # the PDF and the picture draw the name as text
    pdf = PR.write_risk_pdf(section, tmp_path / "risk.pdf")
    assert "HYPERLINK" in "".join(p.extract_text() for p in PdfReader(pdf).pages)


def test_pdf_renders(section, tmp_path):
    out = PR.write_risk_pdf(section, tmp_path / "risk.pdf", title="Lower Indus: risk financing",
                            scenario="indus-flood-demo")
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 20_000
    reader = PdfReader(out)
    assert 2 <= len(reader.pages) <= 6
    text = " ".join(p.extract_text() for p in reader.pages)
    assert "Lower Indus: risk financing" in text
    assert "In an average year the federal government pays PKR 7.9 billion" in text
    assert "Kotri depth" in text and "Provincial pool" in text and "page 1 of" in text
    # the payers' table: the 1-in-8 year is the set's rarest; the federal one is 30 bn
    assert "30.00" in text
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(out), str(tmp_path / "page")],
                       check=True, timeout=120)
        (png,) = tmp_path.glob("page*.png")
        assert png.read_bytes().startswith(b"\x89PNG")


def test_pdf_without_financing(tmp_path):
    section = RP.risk_section(_table(), N_YEARS)
    out = PR.write_risk_pdf(section, tmp_path / "risk.pdf")
    text = " ".join(p.extract_text() for p in PdfReader(out).pages)
    assert "What each government pays" in text and "Layers" not in text


def test_exceedance_png(section, tmp_path):
    out = PR.exceedance_png(section, tmp_path / "sub" / "curve.png")
    from PIL import Image

    with Image.open(out) as im:
        assert im.format == "PNG" and im.size[0] > 800


def test_a_folder_is_refused(section, tmp_path):
    from hazards.errors import ExportError

    with pytest.raises(ExportError, match="is a folder"):
        PR.write_risk_xlsx(section, _table(), tmp_path)
