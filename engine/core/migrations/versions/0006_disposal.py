"""disposal proposals, their items and disposed archive records

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "disposal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("proposed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("proposed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("disposed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("record_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("record_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("record_json", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["document.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("document_id"),
    )
    with op.batch_alter_table("disposal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disposal_state"), ["state"], unique=False)

    op.create_table(
        "disposal_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("disposal_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["disposal_id"],
            ["disposal.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("disposal_id", "record_id"),
    )
    with op.batch_alter_table("disposal_item", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_disposal_item_disposal_id"), ["disposal_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_disposal_item_record_id"), ["record_id"], unique=False)

    with op.batch_alter_table("archive_record", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("disposed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("archive_record", schema=None) as batch_op:
        batch_op.drop_column("disposed_at")

    with op.batch_alter_table("disposal_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disposal_item_record_id"))
        batch_op.drop_index(batch_op.f("ix_disposal_item_disposal_id"))

    op.drop_table("disposal_item")
    with op.batch_alter_table("disposal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disposal_state"))

    op.drop_table("disposal")
