"""one-stop results and fees: the result's kind, the fees asked and paid (state 6)

Revision ID: 0016
Revises: 0015

A dossier's result is a file of its document (draft, PDF, signed, issued, like an outgoing
document's); the dossier keeps whether it is an administrative decision (numbered and sealed)
or another document (signed only). The handling unit may ask for fees (state 6); the desk
records the payment and its receipt.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("result_kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True)
        )
        batch_op.add_column(sa.Column("fee_amount", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("fee_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("fee_paid", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("fee_receipt", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True)
        )
        batch_op.add_column(
            sa.Column("fee_paid_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        for name in (
            "fee_paid_at",
            "fee_receipt",
            "fee_paid",
            "fee_note",
            "fee_amount",
            "result_kind",
        ):
            batch_op.drop_column(name)
