"""A delivered reply's receipt in columns of its own: what the platform said of it, and the id
of its message with buttons (a tap on any other is on an earlier message) — recorded with one
statement, found through an index on the chat instead of by reading JSON. And an index on a
request's terminal: "one open request per terminal" is asked at every filing.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 23:10:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("receipt", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("keyboard", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_outbox_chat", ["channel", "user_id", "id"], unique=False)
    op.create_index("ix_request_terminal", "request", ["merchant_id", "serial"], unique=False)
    outbox = sa.table(
        "outbox",
        sa.column("id", sa.Integer),
        sa.column("payload", sa.String),
        sa.column("keyboard", sa.BigInteger),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(outbox.c.id, outbox.c.payload).where(outbox.c.payload.like('%"sent_as"%'))
    )
    for outbox_id, raw in rows.all():
        payload = json.loads(raw)
        if payload.get("buttons") and isinstance(payload.get("sent_as"), int):
            connection.execute(
                sa.update(outbox)
                .where(outbox.c.id == outbox_id)
                .values(keyboard=payload["sent_as"])
            )


def downgrade() -> None:
    op.drop_index("ix_request_terminal", table_name="request")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_chat")
        batch_op.drop_column("keyboard")
        batch_op.drop_column("receipt")
