"""full-text search index over archive records

Revision ID: 0005
Revises: 0004

``archive_text`` holds each record's text and search tokens (engine/search.py). The index
itself is engine-specific and not part of the models: on SQLite an FTS5 table ``archive_fts``
with ``archive_text`` as its external content, kept in step by triggers; on PostgreSQL a stored
``tsv`` column (``to_tsvector('simple', tokens)``) with a GIN index. Both see the same tokens,
so both find the same records (engine.search.INDEX_OBJECTS lists what the model comparison
must skip).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_INDEX = [
    "CREATE VIRTUAL TABLE archive_fts USING fts5(tokens, content='archive_text', "
    "content_rowid='record_pk', tokenize='ascii', detail='none')",
    "CREATE TRIGGER archive_text_ai AFTER INSERT ON archive_text BEGIN "
    "INSERT INTO archive_fts(rowid, tokens) VALUES (new.record_pk, new.tokens); END",
    "CREATE TRIGGER archive_text_ad AFTER DELETE ON archive_text BEGIN "
    "INSERT INTO archive_fts(archive_fts, rowid, tokens) "
    "VALUES ('delete', old.record_pk, old.tokens); END",
    "CREATE TRIGGER archive_text_au AFTER UPDATE ON archive_text BEGIN "
    "INSERT INTO archive_fts(archive_fts, rowid, tokens) "
    "VALUES ('delete', old.record_pk, old.tokens); "
    "INSERT INTO archive_fts(rowid, tokens) VALUES (new.record_pk, new.tokens); END",
]
POSTGRES_INDEX = [
    "ALTER TABLE archive_text ADD COLUMN tsv tsvector "
    "GENERATED ALWAYS AS (strip(to_tsvector('simple'::regconfig, tokens))) STORED",
    "CREATE INDEX ix_archive_text_tsv ON archive_text USING gin (tsv)",
]


def upgrade() -> None:
    op.create_table(
        "archive_text",
        sa.Column("record_pk", sa.Integer(), nullable=False),
        sa.Column("tokens", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_pk"], ["archive_record.id"], name="fk_archive_text_record_pk_archive_record"
        ),
        sa.PrimaryKeyConstraint("record_pk"),
    )
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_INDEX if dialect == "sqlite" else POSTGRES_INDEX:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("archive_text_au", "archive_text_ad", "archive_text_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS archive_fts")
    op.drop_table("archive_text")
