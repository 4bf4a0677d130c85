"""archive records and case files

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "archive_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("retention_years", sa.Integer(), nullable=True),
        sa.Column("access", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("keywords", sa.Text(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("opened_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("opened_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("closed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    with op.batch_alter_table("archive_file", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_archive_file_state"), ["state"], unique=False)

    with op.batch_alter_table("archive_record", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "direction",
                sqlmodel.sql.sqltypes.AutoString(length=10),
                nullable=False,
                server_default=sa.text("'outgoing'"),
            )
        )
        batch_op.add_column(
            sa.Column(
                "agency_code",
                sqlmodel.sql.sqltypes.AutoString(length=20),
                nullable=False,
                server_default=sa.text("''"),
            )
        )
        batch_op.add_column(
            sa.Column(
                "agency_name",
                sqlmodel.sql.sqltypes.AutoString(length=200),
                nullable=False,
                server_default=sa.text("''"),
            )
        )
        batch_op.add_column(
            sa.Column("register_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch_op.add_column(sa.Column("number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("pages", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "language",
                sqlmodel.sql.sqltypes.AutoString(length=10),
                nullable=False,
                server_default=sa.text("'vi'"),
            )
        )
        batch_op.add_column(sa.Column("retention_years", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("retain_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "access",
                sqlmodel.sql.sqltypes.AutoString(length=10),
                nullable=False,
                server_default=sa.text("'public'"),
            )
        )
        batch_op.add_column(
            sa.Column(
                "signature_verdict",
                sqlmodel.sql.sqltypes.AutoString(length=20),
                nullable=False,
                server_default=sa.text("'unsigned'"),
            )
        )
        batch_op.add_column(sa.Column("file_id", sa.Integer(), nullable=True))
        batch_op.alter_column("document_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_index(
            batch_op.f("ix_archive_record_agency_code"), ["agency_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_archive_record_doc_type"), ["doc_type"], unique=False)
        batch_op.create_index(batch_op.f("ix_archive_record_file_id"), ["file_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_archive_record_issued_at"), ["issued_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_archive_record_number"), ["number"], unique=False)
        batch_op.create_index(batch_op.f("ix_archive_record_symbol"), ["symbol"], unique=False)
        batch_op.create_foreign_key(
            "fk_archive_record_file_id", "archive_file", ["file_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("archive_record", schema=None) as batch_op:
        batch_op.drop_constraint("fk_archive_record_file_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_archive_record_symbol"))
        batch_op.drop_index(batch_op.f("ix_archive_record_number"))
        batch_op.drop_index(batch_op.f("ix_archive_record_issued_at"))
        batch_op.drop_index(batch_op.f("ix_archive_record_file_id"))
        batch_op.drop_index(batch_op.f("ix_archive_record_doc_type"))
        batch_op.drop_index(batch_op.f("ix_archive_record_agency_code"))
        batch_op.alter_column("document_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column("file_id")
        batch_op.drop_column("signature_verdict")
        batch_op.drop_column("access")
        batch_op.drop_column("retain_until")
        batch_op.drop_column("retention_years")
        batch_op.drop_column("language")
        batch_op.drop_column("pages")
        batch_op.drop_column("number")
        batch_op.drop_column("register_name")
        batch_op.drop_column("agency_name")
        batch_op.drop_column("agency_code")
        batch_op.drop_column("direction")

    with op.batch_alter_table("archive_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_archive_file_state"))

    op.drop_table("archive_file")
