"""The app's pages, one file each; each has ``render(cur)`` drawing the page for the
:class:`simulator.app.state.Current` plan, and runs it when ``st.navigation`` runs the file
as the page. ``app.py`` registers them under the url_paths of :data:`PAGES`.
"""

from __future__ import annotations

from pathlib import Path

#: url_path of every page, in the navigation's order (``overview`` is the Summary page).
PAGES = ("overview", "scenario", "map", "plan", "delivery", "financing", "compare", "downloads")
#: The file of each page.
FILES = {name: Path(__file__).resolve().parent / f"{'summary' if name == 'overview' else name}.py"
         for name in PAGES}


def published(cur) -> tuple[dict, dict | None]:
    """(plan, baseline totals) a visitor may see: the exact plan and what-if baseline for
    planners; for ministers the published plan (perturbed by the cell-key method and small-cell
    suppressed, :func:`simulator.publish.disclosure.protect_plan`) and the published baseline,
    so that no exact figure, national ones included, reaches the minister's view."""
    if cur.cfg.planner:
        return cur.plan, cur.baseline
    baseline = None
    if cur.baseline is not None:
        from simulator.app import loaders

        base_plan = loaders.plan_for(cur.base, cur.source, cur.library)[0]
        baseline = loaders.shown_plan(base_plan, cur.base, cur.source, cur.library, cur.cfg)["totals"]
    return cur.shown, baseline
