"""The Coordination Committee's workspace: joint plans versioned, reviewed and signed by each
government, meetings and action points, in a real database (SQLAlchemy 2 and Alembic; SQLite
embedded, PostgreSQL by URL).

The one way in is :class:`Workspace`; access rules are in :mod:`simulator.workspace.access`,
signatures in :mod:`simulator.workspace.signing`, backups in :mod:`simulator.workspace.backup`.
"""

from simulator.workspace.access import Actor
from simulator.workspace.service import (
    ActionView,
    PlanStatus,
    VersionStatus,
    Workspace,
    jurisdictions,
)

__all__ = ["ActionView", "Actor", "PlanStatus", "VersionStatus", "Workspace", "jurisdictions"]
