"""Alembic environment of the Committee workspace.

Run through :func:`simulator.workspace.db.migrate` (``madad workspace init`` and every open of a
workspace); the connection comes from its ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

from simulator.workspace.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only through simulator.workspace.db
    raise RuntimeError("run the workspace migrations through simulator.workspace.db.migrate")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
