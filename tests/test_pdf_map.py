"""The brief's map, read back from the PDF as an image: the province outlines lie along the
Sindh-Balochistan border, the flood lies along the Indus, and the ODbL attribution is on
the page.

The map is the one PNG embedded in page 1; pypdf extracts it losslessly (no poppler needed). A
lon/lat is placed on it with the map axes' own transform (:func:`map_axes`, the function
:func:`map_figure` saves), shifted by the tight bounding box ``savefig`` crops to.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import shapely
from PIL import Image
from pypdf import PdfReader

from hazards import tables as data
from hazards.generators import river_line
from simulator import plans, scenario
from simulator.publish import figures, pdf

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "indus-flood-demo.yaml"
DPI = 200  # figures._png
PAD_INCHES = 0.04
KHUZDAR = (66.6, 27.8)  # Balochistan, far from any river: no flood


@pytest.fixture(scope="module")
def run():
    return plans.run(scenario.load(DEMO), base=DEMO.parent, households=5000)


@pytest.fixture(scope="module")
def border() -> shapely.MultiLineString:
    """The Sindh-Balochistan border of the shipped provinces."""
    provinces = data.outlines("provinces").set_index("province_code").geometry
    return shapely.intersection(provinces["SD"].boundary, provinces["BA"].buffer(0.01))


def placed(run, **kwargs):
    """(map axes, lon/lat -> (column, row) on the saved PNG, PNG size) of the brief's map."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig, ax = figures.map_axes(run, **kwargs)
    canvas = FigureCanvasAgg(fig)
    fig.set_dpi(DPI)
    canvas.draw()
    box = fig.get_tightbbox(canvas.get_renderer()).padded(PAD_INCHES)

    def pixel(lon: float, lat: float) -> tuple[int, int]:
        x, y = ax.transData.transform((lon, lat))
        return int(round(x - box.x0 * DPI)), int(round(box.y1 * DPI - y))

    return ax, pixel, (round(box.width * DPI), round(box.height * DPI))


def rgb(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as im:
        return np.asarray(im.convert("RGB")).astype(int)


def near(image: np.ndarray, col: int, row: int, r: int = 3) -> np.ndarray:
    """The pixels within ``r`` of (col, row), as (n, 3)."""
    return image[max(row - r, 0):row + r + 1, max(col - r, 0):col + r + 1].reshape(-1, 3)


def outline_coloured(pixels: np.ndarray) -> bool:
    """Any pixel of the province outline's dark grey (#4d4d4d, anti-aliased on the land)?"""
    spread = pixels.max(axis=1) - pixels.min(axis=1)
    return bool(((spread <= 12) & (pixels.max(axis=1) < 130)).any())


def flood_coloured(pixels: np.ndarray) -> bool:
    """Any pixel of the flood's blues (matplotlib's Blues, mid to dark)?"""
    r, g, b = pixels.T
    return bool(((b - r > 60) & (b > 120)).any())


def indus_share(image: np.ndarray, pixel) -> float:
    """Share of the Indus's waypoints from Taunsa to the sea (data/rivers.csv) with flood blue
    within 10 px (about 12 km); the district circles cover some of them."""
    line = [(lon, lat) for lon, lat in river_line("indus") if lat < 30.8]
    return float(np.mean([flood_coloured(near(image, *pixel(lon, lat), r=10)) for lon, lat in line]))


def border_share(image: np.ndarray, ax, pixel, border) -> float:
    """Share of points every 0.1 degree along the border, inside the map, with outline grey nearby."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    points = [line.interpolate(d) for line in shapely.get_parts(border)
              for d in np.arange(0.05, line.length, 0.1)]
    points = [p for p in points if x0 < p.x < x1 and y0 < p.y < y1]
    assert len(points) > 30
    return float(np.mean([outline_coloured(near(image, *pixel(p.x, p.y))) for p in points]))


def pdf_map(path: Path) -> tuple[np.ndarray, str]:
    """(the map image of page 1 as RGB, the text of page 1)."""
    page = PdfReader(path).pages[0]
    images = page.images
    assert len(images) == 1, [im.name for im in images]
    return np.asarray(images[0].image.convert("RGB")).astype(int), page.extract_text()


def test_pdf_map_draws_provinces_under_the_flood(run, border, tmp_path):
    out = pdf.write_pdf(run, tmp_path / "brief.pdf")
    image, words = pdf_map(out)
    ax, pixel, size = placed(run)
    assert abs(image.shape[1] - size[0]) <= 1 and abs(image.shape[0] - size[1]) <= 1, (image.shape, size)
    assert border_share(image, ax, pixel, border) > 0.7
    assert indus_share(image, pixel) > 0.5
    assert not flood_coloured(near(image, *pixel(*KHUZDAR)))
    assert data.BOUNDARY_ATTRIBUTION in " ".join(words.split())  # the caption (lines rewrapped)


def test_map_without_outlines_has_no_border(run, border):
    ax, pixel, _ = placed(run, outlines=False)
    image = rgb(figures.map_figure(run, outlines=False))
    assert border_share(image, ax, pixel, border) < 0.1
    assert indus_share(image, pixel) > 0.5  # the same footprint, only the outlines gone


def line_colours(ax) -> set[str]:
    """Which outlines the map draws: "districts" and/or "provinces", by their colours."""
    from matplotlib.collections import LineCollection
    from matplotlib.colors import to_rgba

    kinds = {to_rgba(figures.DISTRICT_OUTLINE["color"]): "districts",
             to_rgba(figures.PROVINCE_OUTLINE["color"]): "provinces"}
    return {kinds[tuple(c.get_colors()[0])] for c in ax.collections
            if isinstance(c, LineCollection) and tuple(c.get_colors()[0]) in kinds}


def test_user_boundaries_replace_the_shipped_districts(run):
    import geopandas as gpd

    table = data.districts()
    squares = gpd.GeoDataFrame(
        {"district_id": table.district_id, "name": table.district},
        geometry=shapely.box(table.lon - 0.2, table.lat - 0.2, table.lon + 0.2, table.lat + 0.2),
        crs="EPSG:4326")
    assert line_colours(figures.map_axes(run)[1]) == {"districts", "provinces"}
    assert line_colours(figures.map_axes(run, boundaries=squares)[1]) == {"provinces"}
    assert line_colours(figures.map_axes(run, outlines=False)[1]) == set()


def test_exports_on_the_shipped_outlines_credit_them(run, tmp_path):
    import json
    import sqlite3

    from simulator.publish import export, geo

    shipped = geo.shipped_boundaries()
    assert len(shipped) == 156 and set(data.district_codes()) <= set(shipped.district_id)
    out = export.export(run, "geojson", tmp_path / "d.geojson", boundaries=shipped)
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["description"] == data.BOUNDARY_ATTRIBUTION
    assert {f["geometry"]["type"] for f in written["features"]} <= {"Polygon", "MultiPolygon"}
    out = export.export(run, "gpkg", tmp_path / "d.gpkg", boundaries=shipped)
    with sqlite3.connect(out) as db:
        assert db.execute("select description from gpkg_contents where table_name = 'districts'"
                          ).fetchone()[0] == data.BOUNDARY_ATTRIBUTION
    points = json.loads(export.export(run, "geojson", tmp_path / "p.geojson").read_text(encoding="utf-8"))
    assert "description" not in points  # district points: nothing of the shipped file
