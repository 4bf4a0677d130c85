"""search index: recency spans, so the newest matches of a common word come from a few spans

Revision ID: 0018
Revises: 0017

Each index entry gets one more token, ``zr<record_pk // 2000>`` (engine.archive.search
``RECENCY_SPAN``), added here to the entries already there; new entries carry it from
``index_entry``. On PostgreSQL ``archive_text_recent()`` reads the newest matches of a tsquery:
first the ``probe`` newest records tested one by one (a word most records hold); then, when the
probe says a span holds a page of matches, span by span, newest first, each one GIN scan that
only visits that span's matches (a word a tenth of the records hold: one span at any size,
where a plain bitmap scan visits and orders every match); else one bitmap scan (a word few
records hold: few matches to visit). SQLite's FTS5 reads its doclists newest first with the
LIMIT already, and ignores the token.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SPAN = 2000  # engine.archive.search.RECENCY_SPAN when this migration was written

RECENT = (
    "CREATE FUNCTION archive_text_recent(query tsquery, n integer, probe integer, span integer) "
    "RETURNS SETOF integer LANGUAGE plpgsql STABLE STRICT "
    "SET enable_seqscan = off SET enable_indexscan = on SET jit = off "
    "SET max_parallel_workers_per_gather = 0 AS $$ "
    "DECLARE here integer; got integer := 0; spans integer := 0; part integer[]; "
    "BEGIN "
    # A word most records hold: the newest ``probe`` records tested one by one find enough.
    "part := ARRAY(SELECT record_pk FROM (SELECT record_pk, tsv FROM archive_text "
    "ORDER BY record_pk DESC LIMIT probe) AS recent WHERE tsv @@ query "
    "ORDER BY record_pk DESC LIMIT n); "
    "IF cardinality(part) >= n THEN RETURN QUERY SELECT unnest(part); RETURN; END IF; "
    "SELECT max(record_pk) / span INTO here FROM archive_text; "
    "IF here IS NULL THEN RETURN; END IF; "
    "PERFORM set_config('enable_indexscan', 'off', true); "
    # Many hold it (a span should hold n of them, judged by the probe; two when counting,
    # without a probe): span by span, newest first, each a GIN scan of one span token (an OR of
    # span tokens costs as much as every match). A GIN scan reads every query token's posting
    # data whatever the span, so spans only pay when the matches are many.
    "IF (probe = 0 OR cardinality(part) * span >= n * probe) THEN "
    "WHILE here >= 0 AND got < n AND spans < CASE WHEN probe = 0 THEN 2 ELSE 8 END LOOP "
    "part := ARRAY(SELECT record_pk FROM archive_text "
    "WHERE tsv @@ (query && to_tsquery('simple', 'zr' || here)) "
    "ORDER BY record_pk DESC LIMIT n - got); "
    "RETURN QUERY SELECT unnest(part); "
    "got := got + cardinality(part); here := here - 1; spans := spans + 1; "
    "EXIT WHEN cardinality(part) = 0 AND spans > 1; "  # the newest span may be just begun
    "END LOOP; END IF; "
    # Few hold it: then every match is few, one bitmap scan of the rest.
    "IF got < n AND here >= 0 THEN "
    "RETURN QUERY SELECT record_pk FROM archive_text "
    "WHERE tsv @@ query AND record_pk < (here + 1) * span "
    "ORDER BY record_pk DESC LIMIT n - got; "
    "END IF; END $$"
)


def upgrade() -> None:
    op.execute(
        f"UPDATE archive_text SET tokens = tokens || ' zr' || CAST(record_pk / {SPAN} AS TEXT)"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(RECENT)


def downgrade() -> None:
    # The recency tokens stay in the entries: a token no query asks for changes no answer.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP FUNCTION IF EXISTS archive_text_recent(tsquery, integer, integer, integer)"
        )
