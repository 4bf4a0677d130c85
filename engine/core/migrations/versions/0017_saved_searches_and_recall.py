"""saved searches; an outgoing document recalled by its sender

Revision ID: 0017
Revises: 0016

Decree 30 Appendix VI, row 9: ``saved_search`` keeps a person's search of the archive (its
filters as JSON) under a name, private or shared with their unit. Row 11: when the sender
recalls (thu hồi) an issued outgoing document, ``document.recalled_at`` and ``recall_reason``
freeze it: no action, version or envelope after that.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("recalled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("recall_reason", sa.Text(), nullable=True))
    op.create_table(
        "saved_search",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner_id", "name"),
    )
    with op.batch_alter_table("saved_search", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_saved_search_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_saved_search_unit_id"), ["unit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("saved_search", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_search_unit_id"))
        batch_op.drop_index(batch_op.f("ix_saved_search_owner_id"))
    op.drop_table("saved_search")
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_column("recall_reason")
        batch_op.drop_column("recalled_at")
