"""The Urdu brief: Noto Naskh Arabic embedded, letters joined by HarfBuzz, text that extracts back to
Urdu, and page 1 looked at as an image (right-aligned, right to left)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from hazards.errors import ExportError
from simulator import plans, publish
from simulator import scenario as scenario_mod
from simulator.cli import app
from simulator.publish import export, urdu
from simulator.publish.pdf_ur import _words, labels, visual_order

pdfium = pytest.importorskip("pypdfium2", reason="pypdfium2 (dev extra) renders the brief's pages")

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "indus-flood-demo.yaml"
HOUSEHOLDS = "گھرانے"
#: گھرانے as shaped: gaf initial, heh doachashmee medial, reh final, alef, noon initial,
#: yeh barree final (the presentation forms the font's cmap gives these glyphs)
HOUSEHOLDS_JOINED = "\ufb94\ufbad\ufeae\u0627\ufee7\ufbaf"
#: the same letters each in its isolated form: what an unshaped PDF would hold
HOUSEHOLDS_ISOLATED = "\ufb92\ufbaa\ufead\ufe8d\ufee5\ufbae"
MM = 72 / 25.4  # points per millimetre


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """The demo scenario on 2,000 synthetic households."""
    res = plans.run(scenario_mod.load(DEMO), base=DEMO.parent, households=2000)
    out = tmp_path_factory.mktemp("run")
    publish.write_run(res, out, scenario_path=DEMO)
    return out


@pytest.fixture(scope="module")
def brief(run_dir, tmp_path_factory) -> Path:
    return export.export(run_dir, "pdf", tmp_path_factory.mktemp("brief") / "brief.ur.pdf", lang="ur")


@pytest.fixture(scope="module")
def plan(run_dir) -> dict:
    """The plan as the brief publishes it (perturbed, small cells hidden: export's default)."""
    return export.protected(export.load_run(run_dir), 10).plan


def _fonts(reader: PdfReader) -> dict[str, dict]:
    out = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            out[str(font["/BaseFont"])] = font
    return out


def test_embeds_noto_naskh_arabic(brief):
    fonts = _fonts(PdfReader(brief))
    naskh = {name: f for name, f in fonts.items() if "NotoNaskhArabic" in name}
    assert naskh, sorted(fonts)
    for name, font in naskh.items():
        descriptor = font["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor, name  # the subset is embedded, not referenced
        assert "/ToUnicode" in font, name


def test_letters_are_joined_and_extract_as_urdu(brief, plan):
    reader = PdfReader(brief)
    raw = "".join(page.extract_text() for page in reader.pages)
    # the PDF holds shaped glyphs: joined forms of گھرانے, never its letters one by one
    assert HOUSEHOLDS_JOINED in raw
    assert HOUSEHOLDS_ISOLATED not in raw
    assert "\ufffd" not in raw
    # every glyph maps back to a letter through the ToUnicode map: no private-use code left
    # (the halves of lam-alef in لاکھ were U+E000 and U+E001 before _UrduFont named them)
    assert not [ch for ch in raw if 0xE000 <= ord(ch) <= 0xF8FF], "glyphs without a letter"
    # folded back to letters (NFKC), the text is the Urdu the brief was written in
    text = unicodedata.normalize("NFKC", raw)
    for word in (HOUSEHOLDS, "روپے", "لاکھ", "صوبہ", "سندھ", "دستخط", labels()["tile_total"]):
        assert word in text, word
    assert urdu.province_ur("SD") in text and urdu.name_ur("sd_hyderabad") in text
    # headline figures in lakh/crore/arab, as urdu.py writes them; exact figures in the tables
    t = plan["totals"]
    assert urdu.pkr_ur(t["amount_pkr"]).split()[0] in text
    assert f"{t['amount_pkr']:,}" in text
    # the scenario's Urdu title (title_ur in its YAML), and the ODbL attribution kept in English
    assert "سیلاب" in text
    assert "OpenStreetMap contributors (ODbL)" in " ".join(text.split())


def test_extraction_in_reading_order(brief):
    """PDFium puts right-to-left text back in logical order: the Urdu reads as written."""
    pdf = pdfium.PdfDocument(str(brief))
    text = unicodedata.normalize("NFKC", pdf[0].get_textpage().get_text_range())
    assert labels()["subtitle"] in text
    assert labels()["tile_affected"] in text


def test_page_one_as_an_image(brief, tmp_path):
    """Rasterise page 1 and look at it: ink on the page, the heading right-aligned."""
    pdf = pdfium.PdfDocument(str(brief))
    scale = 2.0
    image = pdf[0].render(scale=scale).to_pil()
    png = tmp_path / "brief-ur-page1.png"
    image.save(png)
    assert png.stat().st_size > 10_000
    ink = np.asarray(image.convert("L")) < 160
    height, width = ink.shape
    assert ink.mean() > 0.01  # not blank

    px = scale * MM  # pixels per millimetre
    # the heading: title, subtitle and "modelled on" lines, 15 to 42 mm from the top
    band = ink[int(15 * px):int(42 * px)]
    columns = np.flatnonzero(band.any(axis=0))
    assert len(columns), "no heading drawn"
    margin = 18 * px
    # right-aligned: the lines end at the right margin, and the left margin stays empty
    assert columns.max() > width - margin - 3 * px
    assert columns.max() < width - margin + 2 * px
    assert band[:, : int(margin)].sum() == 0
    # more ink in the right half than in the left (the shorter lines hang from the right)
    assert band[:, width // 2:].sum() > 1.3 * band[:, : width // 2].sum()


@pytest.mark.parametrize(("kinds", "expected"), [
    (["R", "R", "R"], [2, 1, 0]),  # Urdu words: the first on the right
    (["R", "N", "R"], [2, 1, 0]),  # a number keeps its place among them
    (["R", "L", "L", "R"], [3, 1, 2, 0]),  # a Latin run reads left to right
    (["R", "L", "N", "R"], [3, 1, 2, 0]),  # a number after Latin joins its run (W7)
    (["R", "N", "N", "R"], [3, 2, 1, 0]),  # two numbers apart: each its own run
    (["L", "O", "L"], [0, 1, 2]),  # punctuation between Latin words joins them (N1)
])
def test_visual_order(kinds, expected):
    assert visual_order(kinds) == expected


def test_isolates_keep_a_signed_number_whole():
    words = _words(f"فرق {urdu.isolate('-84,660')} گھرانے")
    assert [w for w, _, _ in words] == ["فرق", "-84,660", HOUSEHOLDS]
    assert [k for _, k, _ in words] == ["R", "L", "R"]


def test_unknown_language_and_format(run_dir, tmp_path):
    with pytest.raises(ExportError, match="unknown brief language 'fr'; use one of: en, ur"):
        export.export(run_dir, "pdf", tmp_path / "b.pdf", lang="fr")
    with pytest.raises(ExportError, match="only the pdf brief"):
        export.export(run_dir, "xlsx", tmp_path / "p.xlsx", lang="ur")
    result = CliRunner().invoke(app, ["export", str(run_dir), "--format", "xlsx", "--lang", "ur",
                                      "--out", str(tmp_path / "p.xlsx")])
    assert result.exit_code == 2, result.output
