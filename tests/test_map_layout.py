"""The map's layout, without a browser: district names decluttered by priority and kept off
their circles, the view that opens on the affected provinces, the legend of what each symbol
counts (both languages), sheer hexagons over the hazard, and the brief's map names."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hazards import tables as data
from simulator.app import deck, text
from simulator.publish import figures

ROOT = Path(__file__).resolve().parents[1]


def overlaps(a, b, margin: float = 0.0) -> bool:
    return a[0] < b[2] + margin and b[0] < a[2] + margin and a[1] < b[3] + margin and b[1] < a[3] + margin


def district(*names: str) -> pd.DataFrame:
    table = data.districts().set_index("district")
    return table.loc[list(names)].reset_index()


# --- declutter: greedy by priority, first free candidate place ----------------------------------------


def test_declutter_keeps_the_higher_priority_of_two_overlapping_boxes():
    # A (0..10) and B (5..15) overlap; C (20..30) overlaps neither. B has the highest priority,
    # so B is placed first, A is dropped (its only place overlaps B), C is kept.
    boxes = np.array([[0, 0, 10, 10], [5, 5, 15, 15], [20, 0, 30, 10]], dtype=float)
    assert figures.declutter(boxes, [1, 2, 0]).tolist() == [-1, 0, 0]
    # priorities swapped between A and B: A wins
    assert figures.declutter(boxes, [2, 1, 0]).tolist() == [0, -1, 0]
    # ties keep the given order
    assert figures.declutter(boxes, [1, 1, 1]).tolist() == [0, -1, 0]
    # a margin of 10 makes C (10 to the right of A) touch A too
    assert figures.declutter(boxes, [2, 1, 0], margin=10.5).tolist() == [0, -1, -1]


def test_declutter_tries_each_label_s_places_in_order():
    # A's first place overlaps B's (placed first); its second place (left, -12..-2) is free.
    boxes = np.array([[[0, 0, 10, 10], [-12, 0, -2, 10]],
                      [[5, 0, 15, 10], [30, 0, 40, 10]]], dtype=float)
    assert figures.declutter(boxes, [1, 2]).tolist() == [1, 0]
    assert figures.declutter(np.zeros((0, 2, 4)), []).tolist() == []


def test_declutter_weighs_at_most_its_limit(monkeypatch):
    monkeypatch.setattr(figures, "MAX_DECLUTTER", 3)
    boxes = np.array([[10 * i, 0, 10 * i + 5, 5] for i in range(5)], dtype=float)  # none overlap
    chosen = figures.declutter(boxes, [5, 4, 3, 2, 1])
    assert chosen.tolist() == [0, 0, 0, -1, -1]


# --- district names on the app's map -----------------------------------------------------------------


def test_thatta_and_sujawal_do_not_both_keep_overlapping_labels():
    """Adjacent districts ~45 km apart: at a province's zoom their names would collide. The more
    affected one keeps its first place (right of its circle); the other is moved or dropped,
    never drawn over it."""
    both = district("Thatta", "Sujawal")
    radius = np.array([12_000.0, 15_000.0])
    for priority, winner in (([38_096, 61_977], 1), ([61_977, 38_096], 0)):
        for zoom in (5.0, 5.5, 6.0, 6.5, 7.0):
            placed = deck.place_labels(both.lon, both.lat, both.district, priority, zoom=zoom, radius_m=radius)
            assert placed.keep[winner] and placed.side[winner] == "right"
            if placed.keep.all():
                assert not overlaps(placed.box[0], placed.box[1])
    # with one place each (right of the circle) the less affected one is dropped where they collide
    # (at zoom 5 Sujawal lies 12 px below and 8 px right of Thatta: the boxes, 16 px high and
    # 47 and 55 px wide, overlap)
    x, y = deck.world_px(both.lon.to_numpy(), both.lat.to_numpy(), 5.0)
    width = np.array([len(n) for n in both.district]) * deck.LABEL_FONT_PX * deck.LABEL_CHAR_EM
    boxes = np.stack([x + 10, y - 8, x + 10 + width, y + 8], -1)
    assert overlaps(boxes[0], boxes[1])
    assert figures.declutter(boxes, [38_096, 61_977]).tolist() == [-1, 0]


def test_kept_labels_never_overlap_and_stay_off_their_circles():
    """All the districts of Sindh and Punjab at a provincial zoom: kept boxes are pairwise apart,
    none lies on its own circle, and the most affected is always kept."""
    table = data.districts()
    table = table[table.province_code.isin(["SD", "PB"])].reset_index(drop=True)
    rng = np.random.default_rng(7)
    priority = rng.integers(1, 200_000, len(table))
    radius = 25_000.0 * np.sqrt(priority / priority.max())
    zoom = 6.2
    t0 = time.perf_counter()
    placed = deck.place_labels(table.lon, table.lat, table.district, priority, zoom=zoom, radius_m=radius)
    assert time.perf_counter() - t0 < 1.0  # vectorized: ~80 labels
    kept = placed[placed.keep]
    assert 10 < len(kept) < len(table)
    assert bool(placed.keep[int(np.argmax(priority))])
    boxes = np.array(kept.box.tolist())
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not overlaps(boxes[i], boxes[j]), (kept.index[i], kept.index[j])
    # off the circle: the disc (radius in pixels at the zoom) does not reach into the label's box
    x, y = deck.world_px(table.lon.to_numpy(), table.lat.to_numpy(), zoom)
    m_per_px = deck.EQUATOR_M_PER_PX / 2 ** zoom * np.cos(np.radians(table.lat.to_numpy()))
    r_px = np.maximum(radius / m_per_px, deck.SYMBOL_MIN_PX)
    for i in kept.index:
        x0, y0, x1, y1 = placed.box[i]
        nearest = (min(max(x[i], x0), x1), min(max(y[i], y0), y1))
        assert math.dist(nearest, (x[i], y[i])) >= r_px[i] - 1e-6, table.district[i]


def test_label_anchor_lies_on_the_circle_s_edge():
    # Sujawal at 24.52 N with a 10 km circle: the right-hand label's anchor is 10 km east,
    # 10 / (111.32 * cos 24.52) = 0.0989 degrees; text starts there ("start"), 4 px further.
    one = district("Sujawal")
    placed = deck.place_labels(one.lon, one.lat, one.district, [1], zoom=12, radius_m=10_000.0)
    row = placed.iloc[0]
    assert row.side == "right" and row.anchor == "start" and row.baseline == "center"
    assert row.lon == pytest.approx(one.lon[0] + 10 / (111.32 * math.cos(math.radians(one.lat[0]))), abs=2e-4)
    assert row.lat == pytest.approx(one.lat[0], abs=1e-4)
    assert (row.dx, row.dy) == (deck.LABEL_GAP_PX, 0)


def test_label_layer_sends_placed_names_only():
    table = data.districts()
    sd = table[table.province_code == "SD"].assign(affected_households=np.arange(1, 31) * 1000,
                                                   affected_people=np.arange(1, 31) * 6000)
    layer = deck.label_layer(sd, zoom=6.0)
    rows = layer.data
    assert 0 < len(rows) < len(sd)
    assert {"lon", "lat", "name", "anchor", "baseline", "offset"} <= set(rows[0])
    assert sd.district.iloc[-1] in {r["name"] for r in rows}  # the most affected is kept
    assert deck.label_layer(sd, zoom=6.0, max_labels=5).data.__len__() == 5
    assert deck.label_layer(sd.iloc[:0]).data == []
    # without a zoom: the view of the points (as the landing page's map calls it)
    assert len(deck.label_layer(sd.iloc[-12:]).data) >= 6


# --- the view opens on the affected provinces -----------------------------------------------------------


def figures_with(counts: dict[str, int | None]) -> pd.DataFrame:
    table = data.districts()[["district_id", "district", "province", "province_code", "lon", "lat"]]
    n = table.district_id.map(counts)
    values = [None if d in counts and counts[d] is None else (0 if pd.isna(v) else int(v))
              for d, v in zip(table.district_id, n, strict=True)]
    return table.assign(affected_households=pd.Series(values, dtype=object))


def test_view_fits_the_provinces_holding_the_affected_households():
    provinces = data.outlines("provinces").set_index("province_code").geometry
    # Sindh 74 %, Punjab 25 %, KP 0.6 %: Sindh and Punjab hold 95 %, KP is left out.
    f = figures_with({"sd_hyderabad": 740_000, "pb_rajanpur": 250_000, "kp_dera_ismail_khan": 6_000})
    box = deck.affected_bounds(f)
    want = deck.union_bounds(provinces["SD"].bounds, provinces["PB"].bounds)
    assert box == pytest.approx((want[0] - 0.1, want[1] - 0.1, want[2] + 0.1, want[3] + 0.1))
    # all three provinces at share 1
    box = deck.affected_bounds(f, share=1.0)
    assert box[3] == pytest.approx(provinces["KP"].bounds[3] + 0.1)
    # Sindh alone
    box = deck.affected_bounds(figures_with({"sd_thatta": 10, "sd_sujawal": 20}))
    assert box == pytest.approx(tuple(np.add(provinces["SD"].bounds, (-0.1, -0.1, 0.1, 0.1))))
    # nobody affected: no box; hidden figures (a minister's) still frame their province
    assert deck.affected_bounds(figures_with({})) is None
    box = deck.affected_bounds(figures_with({"ba_quetta": None}))
    assert box == pytest.approx(tuple(np.add(provinces["BA"].bounds, (-0.1, -0.1, 0.1, 0.1))))
    # the view of that box is centred on Sindh and closer than Pakistan's
    view = deck.view_for(deck.affected_bounds(figures_with({"sd_thatta": 10})), height_px=680)
    assert 66.6 < view.longitude < 71.2 and 24 < view.latitude < 28.5
    assert view.zoom > deck.view_for(data.PAKISTAN_BBOX, height_px=680).zoom + 0.5


# --- legends and hexagons ------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "ur"])
def test_legend_states_what_each_symbol_counts(lang):
    html = deck.map_legend_html(lang, hexagons=True, circles=True, choropleth=True, min_cell=10)
    for key in ("lg_title", "lg_circle", "lg_choropleth", "lg_names", "lg_lines"):
        assert text.text(lang, key) in html
    assert text.text(lang, "lg_hexagon", km="5") in html
    assert text.text(lang, "map_note_minister", k=10) in html
    assert html.count("<svg") == 5
    assert ('dir="rtl"' in html) == (lang == "ur")
    bare = deck.map_legend_html(lang, hexagons=False, circles=False, labels=False)
    assert text.text(lang, "lg_circle") not in bare and text.text(lang, "lg_lines") in bare


def test_hexagons_are_sheer_over_a_hazard_and_solid_on_request():
    hexes = deck.hex_bins(np.array([68.3, 68.3, 68.5]), np.array([26.1, 26.1, 26.4]))
    sheer = deck.hex_layer(hexes, "en")
    solid = deck.hex_layer(hexes, "en", solid=True)
    assert {row["fill"][3] for row in sheer.data} == {deck.HEX_SHEER_ALPHA}
    assert {row["fill"][3] for row in solid.data} == {deck.HEX_SOLID_ALPHA}
    assert deck.HEX_SHEER_ALPHA < 128  # more of the hazard shows through than is hidden
    assert sheer.stroked and not solid.stroked
    assert sheer.data[0]["tip"].split()[0] in {"1", "2"}  # the count leads the tip


# --- the brief's map ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_run():
    from simulator import plans, scenario

    path = ROOT / "scenarios" / "indus-flood-demo.yaml"
    return plans.run(scenario.load(path), base=path.parent, households=5000)


def test_brief_map_names_do_not_overlap(demo_run):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig, ax = figures.map_axes(demo_run)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    names = [t for t in ax.texts if t.get_text() in set(data.districts().district)]
    assert 3 <= len(names) <= figures.PDF_LABELS
    boxes = [t.get_window_extent(renderer) for t in names]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j]), (names[i].get_text(), names[j].get_text())


# --- the Map page (Streamlit's AppTest, no browser) ------------------------------------------------------


def test_map_page_draws_sheer_hexagons_under_names_and_opens_on_the_provinces(monkeypatch):
    from app_pages import app_env, ok, run_app

    app_env(monkeypatch)
    at = run_app("map")
    ok(at)

    def sent() -> dict:
        import json

        charts = at.get("deck_gl_json_chart")
        assert len(charts) == 1
        return json.loads(charts[0].proto.json)

    spec = sent()
    order = [layer["id"] for layer in spec["layers"]]
    # outlines, hazard, rivers, hexagons, circles, names: bottom to top
    assert order[:2] == list(deck.OUTLINE_IDS) and order[-1] == "district-names"
    assert min(order.index(i) for i in order if i.startswith("hazard-")) < order.index("hexagons") < order.index("districts")
    layers = {layer["id"]: layer for layer in spec["layers"]}
    assert {h["fill"][3] for h in layers["hexagons"]["data"]} == {deck.HEX_SHEER_ALPHA}
    names = layers["district-names"]["data"]
    assert 5 <= len(names) <= 60 and all("offset" in n for n in names)
    view = spec["initialViewState"]
    assert 66.6 < view["longitude"] < 75.4 and 24 < view["latitude"] < 34  # Sindh and Punjab
    legend = " ".join(h.proto.body for h in at.get("html"))
    assert text.text("en", "lg_hexagon", km="5") in legend and text.text("en", "lg_circle") in legend
    assert text.text("en", "map_note_minister", k=10) in legend  # a minister's hexagons

    at.toggle(key="solid_hexagons").set_value(True).run()
    ok(at)
    assert {h["fill"][3] for h in {layer["id"]: layer for layer in sent()["layers"]}["hexagons"]["data"]} == {
        deck.HEX_SOLID_ALPHA}
    at.toggle(key="show_hazard").set_value(False).run()  # nothing beneath: solid, no choice shown
    ok(at)
    assert not [t for t in at.toggle if t.key == "solid_hexagons"]
    assert {h["fill"][3] for h in {layer["id"]: layer for layer in sent()["layers"]}["hexagons"]["data"]} == {
        deck.HEX_SOLID_ALPHA}
