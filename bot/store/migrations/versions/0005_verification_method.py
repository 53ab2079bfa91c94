"""How control of a terminal's phone was proved: a one-time code, or a contact the platform
vouched for.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 19:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("verification", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("verification", schema=None) as batch_op:
        batch_op.drop_column("method")
