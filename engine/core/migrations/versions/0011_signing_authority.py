"""who signs for whom (a signer's authority line: KT., TL., TUQ. …); inbox indexes end in id

Revision ID: 0011
Revises: 0010

Without a row a signer keeps the rule drafting had before: ``KT.`` the agency head's title when
the signer's own title differs from it.

The open-task indexes of 0010 get ``id`` as their last column: an inbox page is ordered by
deadline then id, so PostgreSQL reads the first page in index order and stops, instead of
fetching every open task of the role and sorting (SQLite's rowid already did this).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


OPEN_TASK = "state = 'open'"
OPEN_ROLE_TASK = "state = 'open' AND user_id IS NULL"
INDEXES = {
    "ix_task_open_person": (["user_id", "due_at"], OPEN_TASK),
    "ix_task_open_role": (["role", "unit_id", "due_at"], OPEN_ROLE_TASK),
}


def _indexes(with_id: bool) -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        for name, (columns, where) in INDEXES.items():
            batch_op.drop_index(name)
            batch_op.create_index(
                name,
                [*columns, "id"] if with_id else columns,
                unique=False,
                sqlite_where=sa.text(where),
                postgresql_where=sa.text(where),
            )


def upgrade() -> None:
    _indexes(with_id=True)
    op.create_table(
        "signing_authority",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("prefix", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("on_behalf_of", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("set_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("set_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id"),
    )


def downgrade() -> None:
    op.drop_table("signing_authority")
    _indexes(with_id=False)
