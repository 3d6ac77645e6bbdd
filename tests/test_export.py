"""Exports: every format opens in its own reader and its totals equal plan.json's exactly."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely
from openpyxl import load_workbook
from pypdf import PdfReader

from hazards import tables as data
from hazards.errors import BoundaryError
from simulator import plans, publish
from simulator import scenario as scenario_mod
from simulator.plans.build import FIGURES
from simulator.publish import export
from simulator.publish.xlsx import DELIVERY_SHEETS

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "indus-flood-demo.yaml"
MONEY_AND_PAID = ("amount_pkr", "federal_pkr", "provincial_pkr", "paid_households")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """The demo scenario on 5,000 synthetic households, paid in two instalments."""
    scn = scenario_mod.load(DEMO)
    raw = scn.model_dump(mode="python")
    raw["policy"]["instalments"] = [{"share": 0.6, "day": 0}, {"share": 0.4, "day": 45}]
    scn = scenario_mod.Scenario.model_validate(raw)
    res = plans.run(scn, base=DEMO.parent, households=5000)
    out = tmp_path_factory.mktemp("run")
    publish.write_run(res, out, scenario_path=DEMO)
    return out


@pytest.fixture(scope="module")
def plan(run_dir) -> dict:
    return json.loads((run_dir / "plan.json").read_text())


@pytest.fixture(scope="module")
def households(run_dir) -> pd.DataFrame:
    return pq.read_table(run_dir / "households.parquet").to_pandas()


def square_boundaries(codes=None, half: float = 0.05) -> gpd.GeoDataFrame:
    """A small square around every census district point: synthetic district polygons."""
    table = data.districts()
    if codes is not None:
        table = table[table.district_id.isin(codes)]
    geoms = shapely.box(table.lon - half, table.lat - half, table.lon + half, table.lat + half)
    return gpd.GeoDataFrame(
        {"district_id": table.district_id.to_numpy(), "name": table.district.to_numpy()},
        geometry=geoms, crs="EPSG:4326",
    )


def test_run_has_paid_households(plan):
    assert plan["totals"]["paid_households"] > 0
    assert len(plan["instalments"]) == 2


def test_xlsx_totals_sign_off_and_agencies(run_dir, plan, tmp_path):
    out = export.export(run_dir, "xlsx", tmp_path / "plan.xlsx")
    wb = load_workbook(out)
    assert wb.sheetnames == [
        "summary", "provinces", "districts", "groups", "cost-sharing", "dedup-budget", "instalments", "assumptions", "unregistered",
        *(name for name, _ in DELIVERY_SHEETS), "ensemble",
    ]
    ws = wb["summary"]
    figures = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2).value for r in range(2, ws.max_row + 1)}
    for k in FIGURES:
        assert figures[k] == plan["totals"][k], k
    assert figures["scenario"] == "indus-flood-demo"
    assert "not a reproduction" in figures["modelled on"]
    assert ws.freeze_panes == "A2"
    assert ws["B" + str(list(figures).index("amount_pkr") + 2)].number_format == export.PKR_FORMAT

    labels = {ws.cell(row=r, column=4).value: r for r in range(1, ws.max_row + 1)}
    for role in export.SIGN_OFF:
        assert role in labels, role
        assert ws.cell(row=labels[role], column=5).value is None  # left empty to fill in
    cells = {str(c.value) for row in ws.iter_rows(min_col=4, max_col=8) for c in row if c.value}
    assert {"PDMA Sindh", "BISP", "Sindh Social Protection Authority (SSPA)"} <= cells

    provinces = pd.read_excel(out, sheet_name="provinces")
    for k in MONEY_AND_PAID:
        assert int(provinces[k].sum()) == plan["totals"][k]
    instalments = pd.read_excel(out, sheet_name="instalments")
    assert int(instalments.amount_pkr.sum()) == plan["totals"]["amount_pkr"]


def test_pdf_brief(run_dir, plan, tmp_path):
    out = export.export(run_dir, "pdf", tmp_path / "brief.pdf")
    reader = PdfReader(out)
    assert 2 <= len(reader.pages) <= 4
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    text = "\n".join(page.extract_text() for page in reader.pages)
    # The brief is published: it shows the published plan (cell-key perturbed, then suppressed;
    # issue 14 part 5), whose figures differ slightly from the exact plan's.
    t = export.protected(export.load_run(run_dir), 10).plan["totals"]
    assert t != plan["totals"]
    assert "Published figures are protected" in text
    assert f"PKR {t['amount_pkr']:,}" in text
    assert f"PKR {t['federal_pkr']:,}" in text and f"PKR {t['provincial_pkr']:,}" in text
    assert f"{t['affected_households']:,}" in text and f"{t['paid_households']:,}" in text
    assert "(not a reproduction)" in text
    for words in ("Prepared by", "Reviewed by", "Approved by", "Plan version", "Instalment timeline",
                  "Key assumptions", "PDMA Sindh", "Deduplication and budget"):
        assert words in text, words
    assert len(reader.pages[0].images) >= 1  # the map


@pytest.mark.parametrize("fmt", ["gpkg", "geojson"])
def test_districts_as_points(run_dir, plan, households, tmp_path, fmt):
    out = export.export(run_dir, fmt, tmp_path / f"districts.{fmt}")
    layer = gpd.read_file(out)
    assert layer.crs.to_epsg() == 4326
    assert len(layer) == len(data.districts())
    assert set(layer.geom_type) == {"Point"}
    hyd = layer.set_index("district_id").loc["sd_hyderabad"]
    point = data.districts().set_index("district_id").loc["sd_hyderabad"]
    assert (hyd.geometry.x, hyd.geometry.y) == pytest.approx((point.lon, point.lat))
    if fmt == "gpkg":  # the planner's GeoPackage is exact
        for k in FIGURES:
            assert int(layer[k].sum()) == plan["totals"][k], k
        assert int(hyd.households) == int(households.weight[households.district_id == "sd_hyderabad"].sum())
        return
    # The GeoJSON is published (issue 14 part 5): the published plan's perturbed district figures.
    published = pd.DataFrame(export.protected(export.load_run(run_dir), 10).plan["districts"])
    for k in FIGURES:
        assert int(layer[k].fillna(0).sum()) == int(published[k].fillna(0).sum()), k


def test_districts_as_polygons(run_dir, plan, tmp_path):
    bounds = square_boundaries()
    extra = gpd.GeoDataFrame({"district_id": ["ajk_muzaffarabad"], "name": ["Muzaffarabad"]},
                             geometry=[shapely.box(73.4, 34.3, 73.5, 34.4)], crs="EPSG:4326")
    bounds = pd.concat([bounds, extra], ignore_index=True)
    out = export.export(run_dir, "gpkg", tmp_path / "districts.gpkg", boundaries=bounds)
    layer = gpd.read_file(out, layer="districts")
    assert layer.crs.to_epsg() == 4326 and set(layer.geom_type) == {"Polygon"}
    assert len(layer) == len(bounds)
    for k in MONEY_AND_PAID:
        assert int(layer[k].sum()) == plan["totals"][k], k
    ajk = layer.set_index("district_id").loc["ajk_muzaffarabad"]
    assert ajk.district == "Muzaffarabad" and int(ajk.households) == 0


def test_polygons_must_cover_every_district_with_households(run_dir, households, tmp_path):
    used = sorted(households.district_id.astype(str).unique())
    bounds = square_boundaries(codes=used[1:])
    with pytest.raises(BoundaryError, match=rf"1 of {len(used)} district codes have no boundary.*{used[0]}"):
        export.export(run_dir, "geojson", tmp_path / "d.geojson", boundaries=bounds)


def test_polygons_in_the_pdf_map(run_dir, tmp_path):
    png = export.map_figure(run_dir, boundaries=square_boundaries(half=0.2))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize("everyone", [False, True])
def test_household_payout_list(run_dir, plan, households, tmp_path, fmt, everyone):
    out = export.export(run_dir, fmt, tmp_path / f"payouts.{fmt}", all_households=everyone)
    if fmt == "parquet":
        table = pq.read_table(out).to_pandas()
    else:
        with open(out, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        table = pd.DataFrame(rows)
        for c in table.columns:
            if c.endswith("_pkr"):
                table[c] = table[c].astype(np.int64)
    assert not [c for c in table.columns if "cnic" in c.lower() or "name" in c.lower()]
    assert "pmt_score" not in table.columns
    assert set(table.household_id) <= set(households.household_id)
    assert table.household_id.is_unique
    t = plan["totals"]
    paid = table.amount_pkr > 0
    assert len(table) == (len(households) if everyone else int((households.amount_pkr > 0).sum()))
    assert everyone or paid.all()
    # a row stands for `weight` households (1 in a real registry) and is paid for all of them
    assert int(table.weight.astype(np.int64)[paid].sum()) == t["paid_households"]
    for k in ("amount_pkr", "federal_pkr", "provincial_pkr"):
        assert int(table[k].sum()) == t[k], k
    parts = table[["instalment_1_pkr", "instalment_2_pkr"]].to_numpy().sum(axis=1)
    assert (parts == table.amount_pkr.to_numpy()).all()
    for i, inst in enumerate(plan["instalments"], start=1):
        assert int(table[f"instalment_{i}_pkr"].sum()) == inst["amount_pkr"]


def test_payout_list_never_carries_a_cnic(plan, households):
    leaky = households.assign(cnic="35202-1234567-1", full_name="x")
    run = export.Run(plan, label="test", households=leaky, hazards=[])
    table = export.payout_list(run)
    assert "cnic" not in table.columns and "full_name" not in table.columns


def test_json_for_other_systems(run_dir, plan, tmp_path):
    out = export.export(run_dir, "JSON", tmp_path / "plan.json")
    again = json.loads(out.read_text(encoding="utf-8"))
    assert again == plan and again["schema_version"] == plan["schema_version"]
    assert out.read_bytes() == (run_dir / "plan.json").read_bytes()


def test_export_from_an_in_memory_result(tmp_path):
    res = plans.run(scenario_mod.load(DEMO), base=DEMO.parent, households=2000)
    out = export.export(res, "parquet", tmp_path / "p.parquet")
    assert int(pq.read_table(out).column("amount_pkr").to_numpy().sum()) == res.plan["totals"]["amount_pkr"]
    out = export.export(res, "geojson", tmp_path / "d.geojson")
    # Published: the perturbed districts of the published plan (issue 14 part 5).
    published = export.protected(export.load_run(res), 10).plan
    assert int(gpd.read_file(out).amount_pkr.fillna(0).sum()) == sum(d["amount_pkr"] or 0 for d in published["districts"])


def test_unknown_format_lists_the_valid_ones(run_dir, tmp_path):
    with pytest.raises(export.ExportError, match="unknown export format 'docx'; use one of: "
                       "xlsx, pdf, gpkg, geojson, csv, parquet, json"):
        export.export(run_dir, "docx", tmp_path / "x.docx")


def test_not_a_run_folder(tmp_path):
    with pytest.raises(export.ExportError, match="not a run folder .no plan.json"):
        export.export(tmp_path, "json", tmp_path / "x.json")
    with pytest.raises(export.ExportError, match="no such run folder"):
        export.export(tmp_path / "missing", "json", tmp_path / "x.json")
    (tmp_path / "plan.json").write_text("{not json")
    with pytest.raises(export.ExportError, match=r"plan.json:1: not valid JSON"):
        export.load_run(tmp_path)


def test_agencies_table_has_a_source_for_every_province():
    table = export.agencies()
    assert sorted(table.province_code) == sorted(data.PROVINCES)
    assert (table.source.str.len() > 10).all()
    by_code = table.set_index("province_code")
    assert by_code.loc["BA", "provincial_programme"].endswith("(status unverified)")
    assert by_code.loc["PB", "disaster_authority"] == "PDMA Punjab"
    assert "DDMA Islamabad" in by_code.loc["IS", "disaster_authority"]
    assert set(table.federal_programmes) == {"BISP"}


def test_modelled_on_line():
    assert export._modelled_on({"scenario": {"modelled_on": "the 2010 floods"}}) == (
        "Modelled on the 2010 floods (not a reproduction)"
    )
    assert export._modelled_on({"scenario": {"modelled_on": None}}) is None


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # rasterio uses Affine * Affine
def test_map_warps_a_projected_raster_for_display_only():
    from affine import Affine

    from hazards.layer import make_layer

    values = np.ones((50, 60), dtype=np.float32)
    layer = make_layer(values, Affine(1000.0, 0.0, 500_000.0, 0.0, -1000.0, 3_000_000.0), "EPSG:32642",
                       units="m", kind="riverine-flood", provenance={"test": "utm"})
    shown, (x0, x1, y0, y1) = export._display_raster(layer)
    assert 68.9 < x0 < x1 < 69.7 and 26.6 < y0 < y1 < 27.2  # UTM 42N around (69.0 E, 27.1 N)
    assert np.isfinite(shown).any()
    assert layer.values.shape == (50, 60)  # the layer itself is untouched


def test_pdf_stays_within_four_pages(run_dir, plan, tmp_path):
    long_plan = dict(plan, assumptions=[f"Assumption {i}: " + "a long sentence of caveats " * 12
                                        for i in range(40)])
    run = export.Run(long_plan, label="long", folder=run_dir)
    reader = PdfReader(export.write_pdf(run, tmp_path / "long.pdf"))
    assert 2 <= len(reader.pages) <= export.MAX_PAGES
    assert "more in plan.xlsx" in "".join(p.extract_text() for p in reader.pages)


def test_published_exports_suppress_small_cells(tmp_path):
    """The PDF brief and the GeoJSON are published: district cells under min_cell households are
    hidden (null in GeoJSON, a dash in the PDF); the national totals are the published
    (perturbed) ones."""
    import json

    import pypdf

    from simulator import plans, scenario

    path = Path(__file__).resolve().parents[1] / "scenarios" / "tharparkar-drought.yaml"
    res = plans.run(scenario.load(path), base=path.parent, households=3_000)
    k = 100_000  # large enough, with ~13,000 households a row, to hide some district cells
    geo = export.export(res, "geojson", tmp_path / "d.geojson", min_cell=k)
    features = json.loads(geo.read_text())["features"]
    hidden = [f for f in features if f["properties"]["paid_households"] is None]
    assert hidden
    shown = [f["properties"]["paid_households"] for f in features if f["properties"]["paid_households"]]
    assert all(v >= k for v in shown)
    full = json.loads(export.export(res, "geojson", tmp_path / "full.geojson", min_cell=0).read_text())
    assert all(f["properties"]["paid_households"] is not None for f in full["features"])
    pdf = export.export(res, "pdf", tmp_path / "brief.pdf", min_cell=k)
    text = "".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)
    # National totals are published perturbed (issue 14 part 5), as the protected plan has them.
    assert f"{export.protected(export.load_run(res), k).plan['totals']['amount_pkr']:,}" in text
    assert "nan" not in text.lower().replace("financ", "").replace("nance", "")


# ---------------------------------------------------------------------------------------------
# What exports say of the policy, and what they must not cite
# ---------------------------------------------------------------------------------------------


def _pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def _xlsx_text(path: Path) -> str:
    wb = load_workbook(path)
    return "\n".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row
                     if c.value is not None)


@pytest.fixture(scope="module")
def edited(tmp_path_factory) -> Path:
    """The demo with the transfer raised to PKR 30,000 and the PMT cut-off to 35: an edited policy."""
    library = scenario_mod.load(DEMO)
    mine = scenario_mod.with_what_if(library, transfer_pkr=30000, pmt_max=35)
    res = plans.run(mine, base=DEMO.parent, households=5000, library=library)
    assert res.plan["policy"]["edited"]
    out = tmp_path_factory.mktemp("edited")
    publish.write_run(res, out, scenario_path=DEMO)
    return out


def test_edited_plan_exports_say_edited(edited, tmp_path):
    xlsx = export.export(edited, "xlsx", tmp_path / "plan.xlsx")
    wb = load_workbook(xlsx)
    assert "policy-changes" in wb.sheetnames
    ws = wb["summary"]
    figures = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2).value for r in range(2, ws.max_row + 1)}
    assert "edited" in figures["policy"] and "edited" in figures["title"]
    changes = pd.read_excel(xlsx, sheet_name="policy-changes")
    assert list(changes.columns[:3]) == ["change", "library", "active"]
    transfer = changes[changes.change.str.contains("transfer")].iloc[0]
    assert (transfer.library, transfer.active) == ("PKR 25,000", "PKR 30,000")
    cutoff = changes[changes.change.str.contains("PMT cut-off")].iloc[0]
    assert (str(cutoff.library), str(cutoff.active)) == ("32", "35")
    text = _xlsx_text(xlsx)
    assert "edited" in text and "30,000" in text

    pdf = _pdf_text(export.export(edited, "pdf", tmp_path / "brief.pdf"))
    assert "edited" in pdf and "30,000" in pdf
    assert "PMT <= 35" in pdf  # the poverty line of the policy used
    for stale in ("25,000 per family", "PMT score <= 32", "PMT <= 32 "):
        assert stale not in pdf, stale


def test_library_plan_summary_says_not_edited(run_dir, tmp_path):
    wb = load_workbook(export.export(run_dir, "xlsx", tmp_path / "plan.xlsx"))
    ws = wb["summary"]
    figures = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2).value for r in range(2, ws.max_row + 1)}
    assert "edited" not in str(figures.get("policy", "")).replace("not edited", "")
    assert "policy-changes" not in wb.sheetnames


def test_manifest_records_the_policy(edited, run_dir):
    manifest = json.loads((edited / "manifest.json").read_text())
    plan = json.loads((edited / "plan.json").read_text())
    assert manifest["policy"] == plan["policy"] and manifest["policy"]["edited"]
    assert json.loads((run_dir / "manifest.json").read_text())["policy"]["edited"] is False


@pytest.mark.parametrize("which", ["library", "edited"])
def test_exports_cite_no_private_file(run_dir, edited, tmp_path, which):
    """No export cites a file the reader does not have (the maintainers' notes)."""
    folder = run_dir if which == "library" else edited
    texts = {
        "xlsx": _xlsx_text(export.export(folder, "xlsx", tmp_path / "plan.xlsx")),
        "pdf": _pdf_text(export.export(folder, "pdf", tmp_path / "brief.pdf")),
        "json": export.export(folder, "json", tmp_path / "plan.json").read_text(encoding="utf-8"),
        "geojson": export.export(folder, "geojson", tmp_path / "d.geojson").read_text(encoding="utf-8"),
    }
    for fmt, text in texts.items():
        for private in ("FACTS.md", "../shared"):
            assert private not in text, (fmt, private)
