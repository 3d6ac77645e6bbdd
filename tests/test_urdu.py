"""Urdu for readers in Pakistan: lakh and crore, rupees, place names, scenario titles, the
served font (:mod:`simulator.publish.urdu`, :mod:`simulator.app.text`, :mod:`simulator.app.style`)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from simulator.app import style, text
from simulator.publish import urdu

ROOT = Path(__file__).resolve().parents[1]
ARABIC = re.compile(r"^[\u0600-\u06FF\s()]+$")


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    (0, "0"),
    (33_827, "33,827"),            # below a lakh: the exact count
    (99_999, "99,999"),
    (100_000, "1 لاکھ"),            # 10^5
    (2_462_741, "24.6 لاکھ"),       # 24.62741 lakh, three figures
    (9_999_999, "100 لاکھ"),        # rounds to 100.0 lakh, still below a crore
    (10_000_000, "1 کروڑ"),         # 10^7
    (246_274_100, "24.6 کروڑ"),
])
def test_counts_in_lakh_and_crore(value, expected):
    assert urdu.count_ur(value) == expected


def test_a_count_with_its_noun_and_hidden():
    assert urdu.count_ur(2_462_741, "گھرانے") == "24.6 لاکھ گھرانے"
    assert urdu.count_ur(None) == "–"


@pytest.mark.parametrize("value, expected", [
    (25_000, "25,000 روپے"),                  # below a lakh: exact
    (150_000, "1.5 لاکھ روپے"),               # 1.5 x 10^5
    (58_700_000, "5.87 کروڑ روپے"),           # 5.87 x 10^7
    (61_500_000_000, "61.5 ارب روپے"),        # 61.5 x 10^9
    (14_460_000_000_000, "14,460 ارب روپے"),  # a federal budget: still arab, never kharab
])
def test_rupees_in_lakh_crore_and_arab(value, expected):
    assert urdu.pkr_ur(value) == expected


def test_signed_figures_keep_their_sign_in_right_to_left_text():
    # -84,660 inside Urdu text: isolated left-to-right, so the minus stays before the digits
    assert urdu.count_ur(-84_660) == "\u2066-84,660\u2069"
    assert urdu.pkr_exact_ur(-5_000) == "\u2066-5,000\u2069 روپے"
    assert text.fmt_delta(-84_660, False, "ur") == "\u2066-84,660\u2069"
    assert text.fmt_delta(5_000, True, "ur") == "\u2066+5,000\u2069 روپے"
    assert text.fmt_delta(5_000, True) == "+PKR 5,000"  # English unchanged


def test_the_app_formats_use_urdu_words_and_western_digits():
    assert text.fmt_pkr_short(9_851_925_000, "ur") == "9.85 ارب روپے"
    assert text.fmt_pkr_short(9_851_925_000) == "PKR 9.85 billion"
    assert text.fmt_pkr(58_700_000, "ur") == "58,700,000 روپے"
    assert text.fmt_pkr(58_700_000) == "PKR 58,700,000"
    assert text.fmt_count_short(1_415_714, "ur") == "14.2 لاکھ"
    assert text.fmt_count_short(1_415_714) == "1,415,714"
    assert text.fmt_value(0.5, "m", "ur") == "0.5 میٹر"
    assert not re.search(r"[\u06F0-\u06F9]", text.fmt_pkr_short(9_851_925_000, "ur"))  # no ۰-۹


# --- names -----------------------------------------------------------------------------------


def test_the_names_table_covers_every_district_and_province_with_a_source():
    import pandas as pd

    with open(ROOT / "data" / "names_ur.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    codes = {r["code"] for r in rows}
    census = set(pd.read_csv(ROOT / "data" / "districts.csv").district_id)
    assert len(census) == 136 and census <= codes
    assert {"PB", "SD", "KP", "BA", "IS", "AJK", "GB"} <= codes
    assert len(codes) == len(rows) == 7 + 156  # one row each
    for r in rows:
        assert ARABIC.match(r["name_ur"]), r
        assert r["source"] and r["confidence"] in {"H", "M", "L"}, r


def test_the_names_table_matches_the_shipped_boundaries():
    gpd = pytest.importorskip("geopandas")
    ids = set(gpd.read_file(ROOT / "data" / "boundaries" / "pakistan_admin_2023.gpkg", layer="districts").district_id)
    assert len(ids) == 156
    assert all(urdu.name_ur(i) for i in ids)


def test_place_names_in_urdu_fall_back_to_english():
    assert urdu.name_ur("sd_dadu") == "دادو"
    assert urdu.province_ur("sd") == "سندھ"
    assert urdu.province_ur("AJK") == "آزاد جموں و کشمیر"
    assert urdu.name_ur("xx_nowhere") is None
    assert text.district_name("ur", "xx_nowhere", "Nowhere") == "Nowhere"
    assert text.district_name("en", "sd_dadu", "Dadu") == "Dadu"
    assert text.province_name("ur", "PB") == "پنجاب"
    assert text.province_name("en", "PB") == "Punjab"


def test_plan_tables_name_places_in_urdu():
    rows = [{"district": "Dadu", "district_id": "sd_dadu", "province": "Sindh", "province_code": "SD",
             "affected_households": 1_234, "amount_pkr": 5_000}]
    table = text.display_table(rows, ["district", "province"], "ur", figures=("affected_households", "amount_pkr"))
    assert table.iloc[0].tolist() == ["دادو", "سندھ", "1,234", "5,000 روپے"]
    assert text.display_table(rows, ["district"], "en", figures=()).iloc[0].tolist() == ["Dadu"]


# --- scenarios, programmes, registry ---------------------------------------------------------


def test_every_library_scenario_has_urdu_titles_and_programme_names():
    from simulator import scenario

    paths = sorted((ROOT / "scenarios").glob("*.yaml")) + sorted((ROOT / "scenarios" / "risk").glob("*.yaml"))
    assert paths
    for path in paths:
        scn = scenario.load(path)
        assert scn.title_ur and re.search(r"[\u0600-\u06FF]", scn.title_ur), path.name
        assert scn.description_ur, path.name
        assert not re.search(r"[A-Za-z]", scn.title_ur + scn.description_ur), path.name
        assert all(p.name_ur for p in scn.policy.programmes), path.name
        assert text.scenario_title("ur", scn) == scn.title_ur
        assert text.scenario_title("en", scn) == scn.title


def test_names_fall_back_to_the_english_given():
    prog = {"name": "BISP flood relief"}
    assert text.programme_name("ur", prog) == "BISP flood relief"
    assert text.programme_name("ur", prog | {"name_ur": "بی آئی ایس پی سیلاب امداد"}) == "بی آئی ایس پی سیلاب امداد"
    assert text.scenario_title("ur", {"title": "Only English"}) == "Only English"


def test_the_registry_source_and_rules_in_urdu():
    assert text.registry_source_text("ur", "synthetic registry (20,000 households, seed 7)") == \
        "فرضی رجسٹری (20,000 گھرانے، سیڈ نمبر 7)"
    assert text.registry_source_text("ur", "my-registry.csv") == "my-registry.csv"
    assert text.rule_name("ur", "fixed") == text.text("ur", "rule_fixed")


def test_policy_changes_in_urdu():
    changes = [{"field": "policy.programmes[0].transfer.by_tier_pkr.affected", "label": "BISP flood relief: "
                "transfer (affected)", "library": 25_000, "active": 30_000, "text": "..."},
               {"field": "cost_sharing.rule", "label": "cost-sharing rule", "library": "fixed", "active": "key",
                "text": "..."}]
    scn = {"policy": {"programmes": [{"name": "BISP flood relief", "name_ur": "بی آئی ایس پی سیلاب امداد"}]}}
    line = text.changes_text("ur", changes, scn)
    assert "بی آئی ایس پی سیلاب امداد: رقم (متاثرہ) 30,000 روپے (لائبریری میں 25,000 روپے)" in line
    assert text.text("ur", "rule_key") in line and not re.search(r"[A-Za-z]", line)


def test_labels_have_the_same_keys_and_no_bare_english_in_urdu():
    en, ur = text.LABELS["en"], text.LABELS["ur"]
    assert set(en) == set(ur)
    for key in ("registry_source_synthetic", "w_choose", "w_upload_browse", "chg_line", "title_edited"):
        assert re.search(r"[\u0600-\u06FF]", ur[key]), key


# --- the font --------------------------------------------------------------------------------


def test_the_served_font_is_a_small_subset_that_draws_urdu():
    import io

    from fontTools.ttLib import TTFont

    woff = style.urdu_font_woff("Regular")
    assert woff[:4] == b"wOFF" and len(woff) < 60_000  # the file is 176 kB
    cmap = TTFont(io.BytesIO(woff)).getBestCmap()
    for ch in "ہےںھٹڈڑۓۃ۔":
        assert ord(ch) in cmap, ch
    assert 0xFBA6 in cmap and 0xFBAE in cmap  # ہ and ے presentation forms (pre-shaped map labels)
    assert "GSUB" in TTFont(io.BytesIO(woff))  # joining forms kept


def test_the_stylesheet_declares_the_font_for_urdu_text():
    css = style.urdu_font_css()
    assert css.startswith("<style>") and css.endswith("</style>")
    assert css.count("@font-face") == 4  # regular and bold, under two family names
    assert "font-family: 'Noto Naskh Arabic'" in css and "font-family: 'Source Sans'" in css
    assert "unicode-range: U+0600-06FF" in css
    assert style.urdu_font_css() is css  # built once
    assert len(css) < 200_000


# --- text for deck.gl's canvas (no Arabic shaping there) -------------------------------------


def test_shaping_for_a_canvas_joins_letters_and_reverses_the_line():
    # دادو: dal, alef and waw join to nothing after them, so all four stand isolated;
    # drawn left to right: waw, dal, alef, dal
    assert urdu.shape_for_canvas("دادو") == "\uFEED\uFEA9\uFE8D\uFEA9"
    # کے: kaf initial (U+FB90), yeh barree final (U+FBAF); visual order reversed
    assert urdu.shape_for_canvas("کے") == "\uFBAF\uFB90"
    # لاہور: lam-alef as one ligature (U+FEFB), heh goal initial after it (U+FBA8)
    assert urdu.shape_for_canvas("لاہور") == "\uFEAD\uFEEE\uFBA8\uFEFB"
    # digits keep their order, brackets mirror, Latin text is left alone
    assert urdu.shape_for_canvas("2010 کے") == "\uFBAF\uFB90 2010"
    assert urdu.shape_for_canvas("کچھی (بولان)").startswith("(") and urdu.shape_for_canvas("Dadu") == "Dadu"


def test_every_shaped_place_name_has_its_glyphs_in_the_served_font():
    import io

    from fontTools.ttLib import TTFont

    cmap = TTFont(io.BytesIO(style.urdu_font_woff("Regular"))).getBestCmap()
    for code, name in urdu.names_table().items():
        for ch in urdu.shape_for_canvas(name):
            assert ch in " ()" or ord(ch) in cmap, (code, name, ch)


def test_site_names_in_urdu_are_made_from_their_parts():
    """Delivery sites and campsites are named in Urdu from kind, place, number and
    "illustrative", as their English names are made; a user's own site keeps its name."""
    from simulator.app.text import site_name

    office = {"name": "BISP tehsil office Rahim Yar Khan 2 (illustrative)", "kind": "bisp_tehsil_office",
              "district_id": "pb_rahim_yar_khan", "province_code": "PB"}
    assert site_name("en", office) == office["name"]
    assert site_name("ur", office) == "بی آئی ایس پی کا تحصیل دفتر رحیم یار خان 2 (فرضی)"
    assert site_name("ur", {"name": "Campsite SD 35 (2 campsites)", "kind": "campsite"}) == "کیمپ سندھ 35 (2 کیمپ)"
    assert site_name("ur", {"campsite_id": "camp_KP_1"}) == "کیمپ خیبر پختونخوا 1"
    assert site_name("ur", {"site_id": "camp_SD_r2_3", "name": "camp_SD_r2_3"}) == "کیمپ سندھ 3 (مرحلہ 2)"
    assert site_name("ur", {"name": "Hall 4, Sukkur", "kind": "school"}) == "Hall 4, Sukkur"
