"""workflow definitions kept by digest; the machine and process that claimed an outbox item

Revision ID: 0008
Revises: 0007

Instances started before this migration have no kept YAML: they run on the definition of the
same name in the workflows folder, as they did before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workflow_definition_version",
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("yaml", sa.Text(), nullable=False),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    with op.batch_alter_table("workflow_definition_version", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_workflow_definition_version_name"), ["name"], unique=False
        )
    with op.batch_alter_table("outbox_item", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("claimed_host", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True)
        )
        batch_op.add_column(sa.Column("claimed_pid", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_item", schema=None) as batch_op:
        batch_op.drop_column("claimed_pid")
        batch_op.drop_column("claimed_host")
    with op.batch_alter_table("workflow_definition_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workflow_definition_version_name"))
    op.drop_table("workflow_definition_version")
