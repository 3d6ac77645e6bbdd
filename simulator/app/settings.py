"""How this deployment of the app runs: every ``MADAD_*`` setting, read once at start-up.

Nothing else in the app reads ``os.environ``: :func:`load_settings` returns a frozen
:class:`Settings` that the app passes around.

Roles (fixed at start-up; a visitor cannot change them)
------------------------------------------------------
``minister`` (the default)
    Aggregates only: every district and tehsil table, the map's tooltips and hexagons and every
    download go through :func:`simulator.publish.disclosure.suppress_plan`, so no cell under k
    households is shown; no household list download; no registry upload.
``planner``
    Everything, including registry uploads (with their quarantined rows) and the household
    payout list.
``authority``
    A disaster management authority (NDMA, a PDMA). Its first page, Response
    (:mod:`simulator.app.pages.authority`), shows the exact operational figures a response is
    planned with: the hazard layers, affected people and households, severely affected and
    displaced households by district and by tehsil (not suppressed: an authority needs the
    numbers it shelters and supplies, and a tehsil is not a household), the plan's timeline by
    instalment and district, and the groups (female-headed, disability, children under five)
    by district. Its other pages (Summary, Scenario, Map, Plan, Delivery, Downloads, Committee)
    are the minister's: published figures, perturbed and small-cell suppressed. No household
    payout list, no household-level table or file, no registry upload (as for a minister); no
    Financing or Compare pages (the finance departments' and planners' work).

The role and k are read from, in order of precedence:

1. the environment: ``MADAD_ROLE=planner``, ``MADAD_MIN_CELL=10``;
2. a TOML file, ``MADAD_CONFIG=/path/to/file`` or else ``madad.toml`` beside ``app.py``
   (``MADAD_CONFIG=`` set empty reads no file)::

       [madad]
       role = "planner"    # or "minister", "authority"
       min_cell = 10       # k: smallest household count a minister (or authority's published page) shows

3. the defaults: minister, k = 10. A value that cannot be used is reported on the page and
   the minister's view is used.

Other environment variables
---------------------------
``MADAD_DEMO_HOUSEHOLDS``
    Households in the synthetic registry (default: the scenario's own number, 200,000 for the
    library). The tests use 20,000. A value that is not a whole number stops the run with a
    message on the page.
``MADAD_REGISTRY``
    A registry file (CSV, Parquet, GeoParquet) to use instead of the synthetic households, for
    a deployment on real data; validated as ``madad registry validate`` does.
``MADAD_BOUNDARIES`` (with ``MADAD_BOUNDARIES_LAYER``, ``MADAD_BOUNDARIES_CODE_COLUMN``,
``MADAD_BOUNDARIES_NAME_COLUMN``)
    District boundaries drawn as a choropleth; a planner or minister may also upload them.
``MADAD_DATABASE_URL``
    The Committee's workspace (the Committee page): ``sqlite:///PATH`` or
    ``postgresql+psycopg://...``. Unset: the demo workspace (``MADAD_DEMO_WORKSPACE``, default
    ``~/.local/share/madad/demo-workspace``).
``MADAD_WORKSPACE_RUNS``
    The only folder the Committee page accepts run folders from when a member submits a plan
    version (default ``runs`` in the app's working folder), so that no other file of the
    server can be read through the form.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hazards.errors import ScenarioError

# ---------------------------------------------------------------------------------------------
# Settings fixed at start-up: the role and the smallest published cell
# ---------------------------------------------------------------------------------------------

#: The roles, each fixed at start-up (see the module docstring for what each sees).
ROLES = ("minister", "planner", "authority")
DEFAULT_ROLE = "minister"
DEFAULT_MIN_CELL = 10
CONFIG_NAME = "madad.toml"


@dataclass(frozen=True)
class Settings:
    """How this deployment of the app runs.

    ``role`` is ``minister`` (aggregates only; small cells hidden), ``planner`` (everything,
    the household payout list included) or ``authority`` (NDMA/PDMA: the Response page's exact
    affected figures by district and tehsil, the minister's published view elsewhere, no
    household list); ``min_cell`` is k, the smallest household count a published figure shows;
    ``problems`` lists configuration mistakes (the safe default is used).
    """

    role: str = DEFAULT_ROLE
    min_cell: int = DEFAULT_MIN_CELL
    source: str = "default"
    problems: tuple[str, ...] = ()
    #: ``MADAD_DEMO_HOUSEHOLDS`` as written ("" when unset); see :attr:`demo_households`.
    demo_households_text: str = ""
    #: ``MADAD_REGISTRY``: a registry file used instead of the synthetic households ("" when unset).
    registry: str = ""
    #: ``MADAD_BOUNDARIES``: district boundaries drawn as a choropleth ("" when unset).
    boundaries: str = ""
    boundaries_layer: str | None = None
    boundaries_code_column: str = "district_id"
    boundaries_name_column: str | None = None
    #: ``MADAD_DATABASE_URL``: the Committee's workspace ("" when unset: the demo workspace).
    database_url: str = ""
    #: ``MADAD_WORKSPACE_RUNS``: where submitted run folders must be ("" when unset: ``runs``).
    workspace_runs: str = ""

    @property
    def planner(self) -> bool:
        """True for the planner's view (the exact plan, uploads, the household list)."""
        return self.role == "planner"

    @property
    def authority(self) -> bool:
        """True for a disaster management authority's view (NDMA/PDMA; see the module docstring)."""
        return self.role == "authority"

    @property
    def demo_households(self) -> int | None:
        """``MADAD_DEMO_HOUSEHOLDS`` as an int, or None to use the scenario's own number.

        Raises :class:`~hazards.errors.ScenarioError` when it is not a whole number (the page
        then reports it instead of running).
        """
        raw = self.demo_households_text.strip().replace(",", "").replace("_", "")
        if not raw:
            return None
        if not raw.isdigit():
            raise ScenarioError(
                f"MADAD_DEMO_HOUSEHOLDS={raw!r} is not a whole number; unset it or use e.g. 20000."
            )
        return int(raw)


def load_settings(environ: Mapping[str, str] | None = None, app_dir: str | Path | None = None) -> Settings:
    """The role and k from the environment and the config file.

    ``MADAD_ROLE`` and ``MADAD_MIN_CELL`` win over the ``[madad]`` table of the config file
    (``MADAD_CONFIG``, else ``madad.toml`` beside the app; ``MADAD_CONFIG=`` empty reads none)::

        [madad]
        role = "planner"   # or "minister" (the default), "authority" (NDMA/PDMA)
        min_cell = 10      # k: the smallest household count a published figure shows

    A value that cannot be used is reported in ``problems`` and the safe default (minister,
    k = 10) is used instead, so a typo never opens the planner's view.
    """
    env = os.environ if environ is None else environ
    problems: list[str] = []
    table: dict[str, Any] = {}
    if "MADAD_CONFIG" in env:  # set but empty: read no file
        path = Path(env["MADAD_CONFIG"]) if env["MADAD_CONFIG"].strip() else None
    else:
        path = Path(app_dir) / CONFIG_NAME if app_dir is not None else None
    source = "default"
    if path is not None and path.is_file():
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8")).get("madad", {})
            source = str(path)
        except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: cannot be read as TOML ({exc}); using the minister's view.")
        if not isinstance(table, dict):
            problems.append(f"{path}: [madad] must be a table; using the minister's view.")
            table = {}
    elif env.get("MADAD_CONFIG"):
        problems.append(f"MADAD_CONFIG={path}: no such file; using the minister's view.")

    role = str(table.get("role", DEFAULT_ROLE))
    if env.get("MADAD_ROLE"):
        role, source = env["MADAD_ROLE"], "MADAD_ROLE"
    role = role.strip().lower()
    if role not in ROLES:
        problems.append(f"role {role!r} is not one of {list(ROLES)}; using the minister's view.")
        role = DEFAULT_ROLE

    raw_k: Any = table.get("min_cell", DEFAULT_MIN_CELL)
    if env.get("MADAD_MIN_CELL"):
        raw_k = env["MADAD_MIN_CELL"]
    try:
        k = int(str(raw_k).strip())
        if k < 1:
            raise ValueError
    except ValueError:
        problems.append(f"min_cell {raw_k!r} is not a whole number >= 1; using {DEFAULT_MIN_CELL}.")
        k = DEFAULT_MIN_CELL
    return Settings(
        role=role, min_cell=k, source=source, problems=tuple(problems),
        demo_households_text=env.get("MADAD_DEMO_HOUSEHOLDS", ""),
        registry=env.get("MADAD_REGISTRY", "").strip(),
        boundaries=env.get("MADAD_BOUNDARIES", "").strip(),
        boundaries_layer=env.get("MADAD_BOUNDARIES_LAYER") or None,
        boundaries_code_column=env.get("MADAD_BOUNDARIES_CODE_COLUMN") or "district_id",
        boundaries_name_column=env.get("MADAD_BOUNDARIES_NAME_COLUMN") or None,
        database_url=env.get("MADAD_DATABASE_URL", "").strip(),
        workspace_runs=env.get("MADAD_WORKSPACE_RUNS", "").strip(),
    )

