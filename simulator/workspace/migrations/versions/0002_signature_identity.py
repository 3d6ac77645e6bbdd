"""Each signature keeps the public identity it was made with, so that an organisation changing
its key does not leave its earlier approvals unverifiable. Existing signatures get their
organisation's current identity (the one they were checked against, unless the key changed).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 23:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identity_json", sa.Text(), nullable=True))
    op.execute(
        "UPDATE signatures SET identity_json = (SELECT identity_json FROM organisations "
        "WHERE organisations.id = signatures.organisation_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_column("identity_json")
