"""The app's pages, one file each; each has ``render(cur)`` drawing the page for the
:class:`simulator.app.state.Current` plan, and runs it when ``st.navigation`` runs the file
as the page. ``app.py`` registers them under the url_paths of :data:`PAGES`.
"""

from __future__ import annotations

from pathlib import Path

#: url_path of every page, in the navigation's order (``overview`` is the Summary page).
PAGES = ("overview", "scenario", "map", "plan", "compare", "downloads")
#: The file of each page.
FILES = {name: Path(__file__).resolve().parent / f"{'summary' if name == 'overview' else name}.py"
         for name in PAGES}
