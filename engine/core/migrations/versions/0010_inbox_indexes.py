"""inbox indexes: open tasks by person, and by role and unit

Revision ID: 0010
Revises: 0009

An inbox is the open tasks a person may take: their own, or their role's in their unit or in any
unit (engine.workflow.inbox). Both indexes are partial, over open tasks only: years of done
tasks never make an inbox slower, and the indexes stay as small as the open work. The inbox's
query writes ``state = 'open'`` as a literal so both SQLite and PostgreSQL may use them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_TASK = "state = 'open'"
OPEN_ROLE_TASK = "state = 'open' AND user_id IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.create_index(
            "ix_task_open_person",
            ["user_id", "due_at"],
            unique=False,
            sqlite_where=sa.text(OPEN_TASK),
            postgresql_where=sa.text(OPEN_TASK),
        )
        batch_op.create_index(
            "ix_task_open_role",
            ["role", "unit_id", "due_at"],
            unique=False,
            sqlite_where=sa.text(OPEN_ROLE_TASK),
            postgresql_where=sa.text(OPEN_ROLE_TASK),
        )


def downgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_open_role")
        batch_op.drop_index("ix_task_open_person")
