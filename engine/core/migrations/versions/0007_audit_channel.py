"""the channel of each audit event (cli, api, web, worker, system) and the CLI's OS user

Revision ID: 0007
Revises: 0006

Events written before this migration keep both columns empty (NULL): their hash was computed
without them and still verifies (engine.core.audit covers the two fields only when set).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True)
        )
        batch_op.add_column(
            sa.Column("os_user", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("os_user")
        batch_op.drop_column("channel")
