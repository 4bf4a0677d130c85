"""search index: the newest matches read span by span from the start, without a probe

Revision ID: 0019
Revises: 0018

``archive_text_recent()`` (migration 0018) first tested the newest records one by one, each
tsvector fetched from TOAST and decompressed (about 5 KB a record, 1-2 ms per question), and
only used the recency spans when that probe judged a word common; a word a few percent of the
records hold then went to one bitmap scan over every match (thousands of heap visits). A span
read through the GIN index costs less than the probe whatever the word (it visits at most
``span`` consecutive rows, a few heap pages), so now the spans come first, newest first, up to
``spans`` of them; once a whole span has been read and the rate so far says the rest would take
more spans than are left, one bitmap scan reads the rest (a rare word: few matches to visit).
The question now comes as an array of tsqueries (one a token or group, engine.archive.search
``_Sql.tsqueries``), each its own index condition: GIN walks one long AND of common words several
times slower than as many single conditions (5-10 ms against 1-2 for the 38 tokens of a
seven-word query with diacritics). The answer is the same: the ``n`` newest matches, newest
first. SQLite's FTS5 is untouched.

Also on both databases: the entries bulk ingest wrote from 0018 on carried ``zr0`` whatever
their key (the token was made before the record had one), which hid those records from every
span but the oldest; they get the token of their key (the last token of an entry is always
its recency token, and ``zr0`` is right only below the first span).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_SIGNATURE = "archive_text_recent(tsquery, integer, integer, integer)"
SIGNATURE = "archive_text_recent(tsquery[], integer, integer, integer)"

SLOTS = (4, 8, 16, 32)
"""The statements come in these sizes: a query's parts fill the smallest that holds them."""


def _by_size(statement: str) -> str:
    """``statement`` (its full-text condition written ``{conditions}``) once for each size of
    ``SLOTS``, the one for the query's number of parts chosen at run time. Static statements,
    so PL/pgSQL plans each once a session (``plan_cache_mode``), where a statement built as a
    string is planned at every EXECUTE (about 0.8 ms for 30 conditions, more than reading the
    span). Parts beyond the largest size are ANDed into its last conditions."""
    branches = []
    for size in SLOTS:
        conditions = " AND ".join(f"tsv @@ q[{i}]" for i in range(1, size + 1))
        test = (
            "ELSE"
            if size == SLOTS[-1]
            else f"ELSIF k <= {size} THEN"
            if branches
            else f"IF k <= {size} THEN"
        )
        branches.append(f"{test} {statement.format(conditions=conditions)} ")
    return "".join(branches) + "END IF; "


LARGEST = SLOTS[-1]
RECENT = (
    "CREATE FUNCTION archive_text_recent(parts tsquery[], n integer, spans integer, span integer) "
    "RETURNS SETOF integer LANGUAGE plpgsql STABLE STRICT "
    "SET enable_seqscan = off SET enable_indexscan = on SET jit = off "
    "SET max_parallel_workers_per_gather = 0 SET plan_cache_mode = force_generic_plan AS $$ "
    "DECLARE top integer; here integer; got integer := 0; done integer := 0; "
    "part integer[]; q tsquery[]; spell tsquery; k integer := cardinality(parts); slots integer; "
    "BEGIN "
    "SELECT max(record_pk) INTO top FROM archive_text; "
    "IF top IS NULL OR n <= 0 OR k = 0 THEN RETURN; END IF; "
    # One index condition per part: GIN walks one long AND of common words far slower than as
    # many single conditions (5-10 ms against 1-2 for a query of 38 tokens). The slots the
    # parts do not fill repeat the first part (GIN reads a repeated token once).
    f"slots := (SELECT min(s) FROM unnest(ARRAY{list(SLOTS)}) AS s WHERE s >= k); "
    f"q := parts[1:{LARGEST}]; "
    f"FOR i IN {LARGEST + 1}..k LOOP "
    f"q[{LARGEST} - (i - 1) % 8] := q[{LARGEST} - (i - 1) % 8] && parts[i]; END LOOP; "
    f"FOR i IN k + 1..coalesce(slots, {LARGEST}) LOOP q[i] := parts[1]; END LOOP; "
    "here := top / span + 1; "
    "PERFORM set_config('enable_indexscan', 'off', true); "
    # Span by span, newest first, each one GIN scan of the span's token and the query's (an OR
    # of span tokens costs as much as every match); ``here`` is the span just read.
    "WHILE here > 0 AND got < n AND done < spans LOOP "
    "here := here - 1; spell := ('zr' || here)::tsquery; "
    # The newest span just begun: read with the one before it, one statement less.
    "IF done = 0 AND here > 0 AND top - here * span + 1 < span THEN "
    "here := here - 1; spell := spell || ('zr' || here)::tsquery; END IF; "
    + _by_size(
        "part := ARRAY(SELECT record_pk FROM archive_text WHERE {conditions} AND tsv @@ spell "
        "ORDER BY record_pk DESC LIMIT n - got);"
    )
    + "RETURN QUERY SELECT unnest(part); "
    "got := got + cardinality(part); done := done + 1; "
    # A whole span read (the newest may be just begun) and, at the rate so far, the rest would
    # take more spans than are left: one bitmap scan of the rest (the matches are few).
    "EXIT WHEN top - here * span + 1 >= span "
    "AND got::bigint * (spans - done) * span < (n - got)::bigint * (top - here * span + 1); "
    "END LOOP; "
    "IF got < n AND here > 0 THEN "
    + _by_size(
        "RETURN QUERY SELECT record_pk FROM archive_text WHERE {conditions} "
        "AND record_pk < here * span ORDER BY record_pk DESC LIMIT n - got;"
    )
    + "END IF; END $$"
)


SPAN = 2000  # engine.archive.search.RECENCY_SPAN when this migration was written


def upgrade() -> None:
    op.execute(
        "UPDATE archive_text SET tokens = substr(tokens, 1, length(tokens) - 4) || ' zr' || "
        f"CAST(record_pk / {SPAN} AS TEXT) WHERE record_pk >= {SPAN} AND tokens LIKE '% zr0'"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {OLD_SIGNATURE}")
        op.execute(RECENT)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        from importlib.util import module_from_spec, spec_from_file_location
        from pathlib import Path

        # 0018's function as it was (its module is not importable by name: it starts with a digit)
        path = Path(__file__).with_name("0018_search_recency_spans.py")
        spec = spec_from_file_location("migration_0018", path)
        assert spec is not None and spec.loader is not None
        module = module_from_spec(spec)
        spec.loader.exec_module(module)
        op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
        op.execute(module.RECENT)
