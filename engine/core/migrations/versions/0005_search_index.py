"""full-text search index over archive records

Revision ID: 0005
Revises: 0004

``archive_text`` holds each record's text and search tokens (engine/search.py). The index
itself is engine-specific and not part of the models: on SQLite an FTS5 table ``archive_fts``
with ``archive_text`` as its external content, kept in step by triggers; on PostgreSQL a stored
``tsv`` column (``to_tsvector('simple', tokens)``) with a GIN index, the row's wide values all
in TOAST so the heap stays narrow, and ``archive_text_matches()`` to read the matches by that
index (engine.archive.search._window). Both see the same tokens, so both find the same records
(engine.core.db.INDEX_OBJECTS lists what the model comparison must skip).
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
    # Keep the heap narrow: the text, the tokens and the tsvector all go to TOAST, so a search
    # that reads a few thousand matches to order them by key touches a few hundred pages
    # (about 90 bytes a row) instead of one page per match. The GIN index answers the
    # AND / NOT questions exactly, so ``tsv`` itself is never read back when searching.
    "ALTER TABLE archive_text SET (toast_tuple_target = 128)",
    # ``n`` records holding a tsquery, the newest (``newest``) or any. First the ``probe``
    # newest records are tested one by one (cheapest for a common word, which most of them
    # hold); if too few match, the GIN index answers (a bitmap scan never reads ``tsv`` back).
    # Left to itself the planner prices ``tsv @@ query`` as a cheap operator and walks the
    # table or its primary key filtering row by row, fetching and decompressing each tsvector
    # from TOAST, far past its estimate: half a second at 100 000 records. A function is the
    # one place its own planner settings hold for one query only.
    "CREATE FUNCTION archive_text_matches(query tsquery, n integer, probe integer, "
    "newest boolean) RETURNS SETOF integer LANGUAGE plpgsql STABLE STRICT "
    "SET enable_seqscan = off SET enable_indexscan = on SET jit = off "
    "SET max_parallel_workers_per_gather = 0 AS $$ DECLARE found integer[]; BEGIN "
    "found := ARRAY(SELECT record_pk FROM (SELECT record_pk, tsv FROM archive_text "
    "ORDER BY record_pk DESC LIMIT probe) AS recent WHERE tsv @@ query "
    "ORDER BY record_pk DESC LIMIT n); "
    "IF cardinality(found) >= n THEN RETURN QUERY SELECT unnest(found); RETURN; END IF; "
    "PERFORM set_config('enable_indexscan', 'off', true); "
    "IF newest THEN RETURN QUERY SELECT record_pk FROM archive_text WHERE tsv @@ query "
    "ORDER BY record_pk DESC LIMIT n; "
    "ELSE RETURN QUERY SELECT record_pk FROM archive_text WHERE tsv @@ query LIMIT n; "
    "END IF; END $$",
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
    else:
        op.execute(
            "DROP FUNCTION IF EXISTS archive_text_matches(tsquery, integer, integer, boolean)"
        )
    op.drop_table("archive_text")
