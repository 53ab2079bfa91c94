"""A ticket names one request per provider; a checked code counts for one conversation.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 11:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_request_provider_ticket", ["provider", "ticket"])
    with op.batch_alter_table("verification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verified_for", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("verification", schema=None) as batch_op:
        batch_op.drop_column("verified_for")
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.drop_constraint("uq_request_provider_ticket", type_="unique")
