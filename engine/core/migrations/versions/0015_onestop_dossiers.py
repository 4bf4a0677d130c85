"""one-stop dossiers (một cửa): dossiers, their components, the control sheet's hand-overs

Revision ID: 0015
Revises: 0014

A citizen's dossier runs the 'mot_cua' workflow through a document of direction 'dossier'; its
state is the national portal's code (1…10); the appointment given at receipt is kept apart from
a later one (an apology's new date), so a late dossier stays late.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _moment(name: str, *, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sqlmodel.sql.sqltypes.UTCDateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "dossier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", _text(60), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("procedure_code", _text(40), nullable=False),
        sa.Column("procedure_name", sa.Text(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("applicant", _text(200), nullable=False),
        sa.Column("applicant_address", _text(300), nullable=False),
        sa.Column("applicant_phone", _text(30), nullable=False),
        sa.Column("channel", sa.Integer(), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        _moment("filed_at", nullable=False),
        _moment("received_at"),
        _moment("original_due_at"),
        _moment("due_at"),
        _moment("processed_at"),
        _moment("returned_at"),
        sa.Column("returned_to", _text(200), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.ForeignKeyConstraint(["document_id"], ["document.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
        sa.UniqueConstraint("document_id"),
    )
    op.create_index("ix_dossier_procedure_code", "dossier", ["procedure_code"])
    op.create_index("ix_dossier_state", "dossier", ["state"])
    op.create_table(
        "dossier_component",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("originals", sa.Integer(), nullable=False),
        sa.Column("copies", sa.Integer(), nullable=False),
        sa.Column("missing", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_dossier_component_dossier_id", "dossier_component", ["dossier_id"])
    op.create_table(
        "dossier_handover",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("kind", _text(100), nullable=False),
        sa.Column("from_name", _text(300), nullable=False),
        sa.Column("to_name", _text(300), nullable=True),
        _moment("handed_at", nullable=False),
        _moment("due_at"),
        _moment("done_at"),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_dossier_handover_dossier_id", "dossier_handover", ["dossier_id"])


def downgrade() -> None:
    op.drop_index("ix_dossier_handover_dossier_id", table_name="dossier_handover")
    op.drop_table("dossier_handover")
    op.drop_index("ix_dossier_component_dossier_id", table_name="dossier_component")
    op.drop_table("dossier_component")
    op.drop_index("ix_dossier_state", table_name="dossier")
    op.drop_index("ix_dossier_procedure_code", table_name="dossier")
    op.drop_table("dossier")
