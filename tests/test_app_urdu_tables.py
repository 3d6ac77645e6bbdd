"""The Urdu view's tables: Streamlit draws a dataframe on a canvas, so the browser's text check
(``tests/test_browser_urdu.py``) cannot read its cells. Here every page of a planner's view
(:data:`simulator.app.pages.PAGES`) is run in Urdu with Streamlit's AppTest, and every text
cell and column name of every table is checked for Latin words outside the Urdu test's
allowed list. Two exceptions, both stated on the page or in the method:

- tehsil names stay in the census's Latin spelling (PBS lists tehsils in English; no Urdu
  table of the 600-odd tehsils with a source was found), so the tehsil column is not read;
- the Compare page's "every figure" table names the export's fields as the files do
  (``totals / affected_households``), said so in its caption (``compare_all_fields``)."""

from __future__ import annotations

import pandas as pd
import pytest
from app_pages import APP, ROOT, app_env, ok
from streamlit.testing.v1 import AppTest
from test_browser_urdu import stray_latin

from simulator.app import text
from simulator.app.pages import FILES, PAGES

#: Expanders whose tables are read as they are in the files, said so on the page.
AS_IN_FILES = frozenset({text.text("ur", "compare_all")})
#: The tehsil column, in the census's Latin spelling.
TEHSIL = text.text("ur", "col_tehsil_id")


@pytest.fixture
def env(monkeypatch):
    env = app_env(monkeypatch)
    env.setenv("MADAD_ROLE", "planner")
    return env


def table_words(frame: pd.DataFrame) -> str:
    """The column names and text cells of a table (numbers apart), one per line."""
    cells = [str(c) for c in frame.columns]
    for col in [c for c in frame.columns if c != TEHSIL]:
        values = frame[col]
        if values.dtype == object or isinstance(values.dtype, pd.StringDtype | pd.CategoricalDtype):
            cells += [str(v) for v in values.dropna().unique()]
    return "\n".join(cells)


def test_every_table_is_in_urdu(env):
    found, tables = {}, {}
    for page in PAGES:
        # each page opened in Urdu from the start (AppTest replays a radio's value by its label,
        # which the switch of language changes)
        at = AppTest.from_file(str(APP), default_timeout=180)
        at.session_state["lang"] = "ur"
        at.switch_page(str(FILES[page].relative_to(ROOT)))
        at.run()
        ok(at)
        as_in_files = [d.proto for e in at.expander if e.label in AS_IN_FILES for d in e.dataframe]
        shown = [d for d in at.dataframe if not any(d.proto is q for q in as_in_files)]
        words = sorted({w for d in shown for w in stray_latin(table_words(d.value))}
                       | {w for t in at.table for w in stray_latin(table_words(t.value))})
        tables[page] = len(shown) + len(at.table)
        if words:
            found[page] = words
    assert sum(tables.values()) >= 5, f"too few tables to check: {tables}"
    assert not found, f"Latin words in the Urdu view's tables: {found}"
