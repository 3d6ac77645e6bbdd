"""The Map page in a real browser: the deck.gl map Streamlit sends carries the province and
district outlines (so Pakistan shows without a tile server), the browser draws them, the flood
stays blue under the households' hexagons as they are drawn by default, the view opens on the
affected provinces, the legend says what each symbol counts, and the boundaries' ODbL
attribution is on the page.

Reuses the Chromium helpers of ``tests/test_browser.py`` (skips when Chromium is absent). The
deck's JSON is read from the websocket frames Streamlit sends (DevTools ``Network`` events), as
the browser received it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import time

import numpy as np
import pytest
from test_browser import (
    CANVAS_BOX,
    PAGE_STATE,
    DevTools,
    chromium_path,
    wait_for,
)
from test_browser import app_in_chromium as browser_app

from hazards.tables import BOUNDARY_ATTRIBUTION, PAKISTAN_BBOX
from simulator.app import deck, style, text

#: The start of the deck's JSON (compact_deck sorts its keys).
DECK_START = b'{"initialViewState"'


@pytest.fixture
def browser_exe() -> str:
    """Chromium's path (skips as ``tests/test_browser.py`` does when it is not installed)."""
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium is not installed (`apt-get install -y chromium`; `make test` installs it)")
    pytest.importorskip("websockets", reason="websockets (a Streamlit dependency) drives Chromium")
    return path


class RecordingDevTools(DevTools):
    """:class:`DevTools` that keeps the events (websocket frames...) it reads between replies."""

    def __enter__(self) -> RecordingDevTools:
        super().__enter__()
        self.events: list[dict] = []
        return self

    def on_event(self, msg: dict) -> None:
        self.events.append(msg)

    def decks(self) -> list[dict]:
        """Every deck.gl JSON Streamlit has sent so far, oldest first."""
        found = []
        for event in self.events:
            if event["method"] != "Network.webSocketFrameReceived":
                continue
            frame = event["params"]["response"]
            raw = (base64.b64decode(frame["payloadData"]) if frame.get("opcode") == 2
                   else frame["payloadData"].encode())
            start = raw.find(DECK_START)
            if start >= 0:
                text = raw[start:].decode("utf-8", errors="replace")
                found.append(json.JSONDecoder().raw_decode(text)[0])
        return found


@contextlib.contextmanager
def app_in_chromium(chromium: str, tmp_path):
    """:func:`test_browser.app_in_chromium` with the frames recorded (DevTools ``Network`` on)."""
    with browser_app(chromium, tmp_path, devtools=RecordingDevTools) as (tools, base):
        tools.call("Network.enable")
        yield tools, base


def screen(lon: float, lat: float, view: dict, size: tuple[int, int]) -> tuple[int, int]:
    """(column, row) of a lon/lat on a deck.gl canvas of ``size`` (width, height) [CSS pixels]
    showing ``view`` (web Mercator: the world is 512 * 2**zoom pixels wide)."""
    scale = 512 * 2 ** view["zoom"]

    def world(lo: float, la: float) -> tuple[float, float]:
        y = math.log(math.tan(math.pi / 4 + math.radians(la) / 2))
        return (lo + 180) / 360 * scale, (1 - y / math.pi) / 2 * scale

    (x, y), (cx, cy) = world(lon, lat), world(view["longitude"], view["latitude"])
    return round(size[0] / 2 + x - cx), round(size[1] / 2 + y - cy)


def border_share(image: np.ndarray, view: dict, shift: float = 0.0) -> float:
    """Share of points every 0.1 degree along the shipped Sindh-Balochistan border, inside the
    canvas, with the province outline's dark grey within 3 pixels."""
    import shapely

    from hazards import tables as data

    provinces = data.outlines("provinces").set_index("province_code").geometry
    border = shapely.intersection(provinces["SD"].boundary, provinces["BA"].buffer(0.01))
    rows, cols = image.shape[:2]
    found = []
    for line in shapely.get_parts(border):
        for d in np.arange(0.05, line.length, 0.1):
            p = line.interpolate(d)
            c, r = screen(p.x + shift, p.y, view, (cols, rows))
            if 3 <= c < cols - 3 and 3 <= r < rows - 3:
                near = image[r - 3:r + 4, c - 3:c + 4].reshape(-1, 3)
                spread = near.max(axis=1) - near.min(axis=1)
                found.append(bool(((spread <= 10) & (near.max(axis=1) < 150)).any()))
    assert len(found) > 20, len(found)
    return float(np.mean(found))


def flood_under_hexagons(sent: dict) -> np.ndarray:
    """lon/lat (n, 2) of the sent flood image's pixels at or past the "affected" depth
    (:data:`simulator.app.style.ALPHA_AFFECTING`) that lie in a hexagon the deck draws: where
    households and hazard meet. The image's rows are equal steps of web-Mercator y."""
    import io

    from PIL import Image
    from scipy.spatial import cKDTree

    image = next(layer for layer in sent["layers"] if layer["id"].startswith("hazard-"))
    png = base64.b64decode(image["image"].split(",", 1)[1])
    with Image.open(io.BytesIO(png)) as im:
        alpha = np.asarray(im.convert("RGBA"))[:, :, 3]
    left, bottom, right, top = image["bounds"]
    rows, cols = np.nonzero(alpha >= style.ALPHA_AFFECTING)
    merc = lambda la: np.log(np.tan(np.pi / 4 + np.radians(la) / 2))  # noqa: E731
    my = merc(top) + (merc(bottom) - merc(top)) * (rows + 0.5) / alpha.shape[0]
    lon = left + (right - left) * (cols + 0.5) / alpha.shape[1]
    lat = np.degrees(2 * np.arctan(np.exp(my)) - np.pi / 2)
    centres = np.array([np.mean(h["polygon"], axis=0) for h in
                        next(layer for layer in sent["layers"] if layer["id"] == "hexagons")["data"]])
    kx, ky = deck.hex_scale()
    dist, _ = cKDTree(centres * [kx, ky]).query(np.column_stack([lon, lat]) * [kx, ky])
    inside = dist < deck.HEX_WIDTH_KM / 2  # within the hexagon's inscribed circle [km]
    return np.column_stack([lon, lat])[inside]


def blue_minus_red(image: np.ndarray, points: np.ndarray, view: dict) -> np.ndarray:
    """Blue minus red [0-255] of the canvas pixel of each point inside the canvas."""
    rows, cols = image.shape[:2]
    found = []
    for lon, lat in points:
        c, r = screen(lon, lat, view, (cols, rows))
        if 0 <= c < cols and 0 <= r < rows:
            found.append(image[r, c, 2] - image[r, c, 0])
    assert len(found) > 50, len(found)
    return np.array(found)




def test_map_page_draws_outlines_and_credits_them(browser_exe, tmp_path):
    with app_in_chromium(browser_exe, tmp_path) as (tools, base):
        tools.call("Page.navigate", url=base + "/map")

        def rendered():
            state = tools.evaluate(PAGE_STATE)
            done = (state and state["deckCanvas"] and state["deckWidth"] > 0 and not state["running"]
                    and BOUNDARY_ATTRIBUTION in state["text"] and tools.decks())
            return state if done else None

        state = wait_for(rendered, 120, "the Map page's deck.gl canvas and the attribution", interval=0.5)
        time.sleep(2)  # let deck.gl draw its first frames
        box = tools.evaluate(CANVAS_BOX)
        time.sleep(0.5)
        box = tools.evaluate(CANVAS_BOX)
        shot = tools.call("Page.captureScreenshot", format="png",
                          clip={**box, "scale": 1})
        sent = tools.decks()[-1]
    assert not state["exception"]
    assert "Map" in state["text"]
    # the legend says what each symbol counts
    assert text.text("en", "lg_hexagon", km=f"{deck.HEX_WIDTH_KM:g}") in state["text"]
    assert text.text("en", "lg_circle") in state["text"]

    layers = {layer["id"]: layer for layer in sent["layers"]}
    order = [layer["id"] for layer in sent["layers"]]
    assert order[:2] == list(deck.OUTLINE_IDS), order  # beneath the hazard, hexagons and symbols
    assert order.index("province-outlines") < min(order.index(i) for i in order if i.startswith("hazard-"))
    districts, provinces = (layers[i]["data"] for i in deck.OUTLINE_IDS)
    assert len(districts) > 1000 and len(provinces) > 100  # paths of the shipped outlines
    lons = np.array([xy[0] for p in provinces for xy in p["path"]])
    lats = np.array([xy[1] for p in provinces for xy in p["path"]])
    assert 60.5 < lons.min() < 62 and 77 < lons.max() < 78 and 23.5 < lats.min() < 24.5 and 36.5 < lats.max() < 37.5
    size = len(json.dumps(sent, separators=(",", ":")))  # as compact_deck writes it
    assert size < 3 * 1024 * 1024, size

    # The browser drew them: the province lines' dark grey lies along the Sindh-Balochistan
    # border where the view state puts it on the canvas.
    from PIL import Image

    (tmp_path / "madad-map-deck.json").write_text(json.dumps(sent))  # kept with the screenshot
    png = tmp_path / "madad-map.png"
    png.write_bytes(base64.b64decode(shot["data"]))
    with Image.open(png) as im:
        image = np.asarray(im.convert("RGB")).astype(int)
    view = sent["initialViewState"]
    share = border_share(image, view)
    assert share > 0.6, share
    assert (image.max(axis=2) - image.min(axis=2) > 30).mean() > 0.01  # not an empty map

    # The view opens on the affected provinces (the demo: Sindh and Punjab), not all Pakistan.
    assert 66.6 < view["longitude"] < 75.4 and 24 < view["latitude"] < 34
    assert view["zoom"] > deck.view_for(PAKISTAN_BBOX, height_px=680).zoom + 0.2

    # The flood stays visible under the hexagons drawn by default (sheer): where flood and
    # households meet, the canvas is still bluish (blue above red) but for the names, circles
    # and lines on top. (Hexagons of alpha 90 of 255 turned it purple: a median of -13.)
    bluer = blue_minus_red(image, flood_under_hexagons(sent), view)
    assert np.median(bluer) > 5 and (bluer > 0).mean() > 0.55, (np.median(bluer), (bluer > 0).mean())
    names = layers["district-names"]["data"]
    assert names and {n["anchor"] for n in names} <= {"start", "end", "middle"}
