"""The app's pages, one file each; each has ``render(cur)`` drawing the page for the
:class:`simulator.app.state.Current` plan, and runs it when ``st.navigation`` runs the file
as the page. ``app.py`` registers the pages of the deployment's role (:func:`pages_of`) under
their url_paths.
"""

from __future__ import annotations

from pathlib import Path

#: url_path of every page, in the navigation's order (``overview`` is the Summary page,
#: ``authority`` the Response page of :mod:`simulator.app.pages.authority`).
PAGES = ("overview", "scenario", "map", "plan", "delivery", "authority", "financing", "compare", "downloads")
#: The pages that show the delivery plan (its sites, schedule and days to pay): they wait for
#: it, which the others do not (it is made after a plan's figures, see
#: :func:`simulator.app.loaders.cached_result`).
DELIVERY_PAGES = ("delivery", "authority")
#: The file of each page.
FILES = {name: Path(__file__).resolve().parent / f"{'summary' if name == 'overview' else name}.py"
         for name in PAGES}
#: The pages of each role (:data:`simulator.app.settings.ROLES`), in its navigation's order; the
#: first is where the role lands. A disaster management authority lands on Response and has no
#: Financing or Compare page (see :mod:`simulator.app.settings` for what each role sees); the
#: Committee page (``app.py``) is every role's.
ROLE_PAGES = {
    "minister": PAGES,
    "planner": PAGES,
    "authority": ("authority", "overview", "scenario", "map", "plan", "delivery", "downloads"),
}


def pages_of(role: str) -> tuple[str, ...]:
    """The url_paths of the pages ``role`` has (a minister's for a role not listed)."""
    return ROLE_PAGES.get(role, ROLE_PAGES["minister"])


def published(cur) -> tuple[dict, dict | None]:
    """(plan, baseline totals) a visitor may see: the exact plan and what-if baseline for
    planners; for ministers (and authorities, outside their Response page) the published plan
    (perturbed by the cell-key method and small-cell suppressed,
    :func:`simulator.publish.disclosure.protect_plan`) and the published baseline, so that no
    exact figure, national ones included, reaches the minister's view."""
    if cur.cfg.planner:
        return cur.plan, cur.baseline
    baseline = None
    if cur.baseline is not None:
        from simulator.app import loaders

        base_plan = loaders.plan_for(cur.base, cur.source, cur.library)[0]
        baseline = loaders.shown_plan(base_plan, cur.base, cur.source, cur.library, cur.cfg)["totals"]
    return cur.shown, baseline
