"""the exchange between agencies (edXML): peers, messages sent and received, arrivals

Revision ID: 0012
Revises: 0011

An agency gets its organ id (mã định danh); each peer is pinned by its certificate; every
envelope and status message sent or received is a row, the envelope itself in the store.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    with op.batch_alter_table("agency", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organ_id", _text(64), nullable=True))
    op.create_table(
        "exchange_peer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organ_id", _text(64), nullable=False),
        sa.Column("name", _text(200), nullable=False),
        sa.Column("url", _text(500), nullable=False),
        sa.Column("certificate", sa.Text(), nullable=False),
        sa.Column("added_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organ_id"),
    )
    op.create_table(
        "exchange_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("direction", _text(3), nullable=False),
        sa.Column("peer", _text(64), nullable=False),
        sa.Column("kind", _text(10), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("edxml_document_id", _text(200), nullable=False),
        sa.Column("business", _text(12), nullable=False),
        sa.Column("status_code", _text(2), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("message_id", _text(64), nullable=False),
        sa.Column("sha256", _text(64), nullable=False),
        sa.Column("state", _text(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("available_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["document.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("direction", "message_id"),
    )
    for column in ("peer", "document_id", "edxml_document_id", "state"):
        op.create_index(f"ix_exchange_message_{column}", "exchange_message", [column])
    op.create_table(
        "exchange_inbound",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("edxml_document_id", _text(200), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("sender", _text(64), nullable=False),
        sa.Column("state", _text(10), nullable=False),
        sa.Column("request", _text(12), nullable=True),
        sa.Column("request_reason", sa.Text(), nullable=True),
        sa.Column("replacement_message", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["document.id"]),
        sa.ForeignKeyConstraint(["replacement_message"], ["exchange_message.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("document_id"),
        sa.UniqueConstraint("edxml_document_id"),
    )
    op.create_index("ix_exchange_inbound_sender", "exchange_inbound", ["sender"])


def downgrade() -> None:
    op.drop_index("ix_exchange_inbound_sender", table_name="exchange_inbound")
    op.drop_table("exchange_inbound")
    for column in ("peer", "document_id", "edxml_document_id", "state"):
        op.drop_index(f"ix_exchange_message_{column}", table_name="exchange_message")
    op.drop_table("exchange_message")
    op.drop_table("exchange_peer")
    with op.batch_alter_table("agency", schema=None) as batch_op:
        batch_op.drop_column("organ_id")
