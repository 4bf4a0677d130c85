"""Search at scale: recency spans (migration 0018) and tiers asked without AND NOT give the same
answers on SQLite and PostgreSQL, for records indexed before the migration too."""

from __future__ import annotations

import re
import sys
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine

from engine.archive import search as search_module
from engine.archive.search import SearchQuery, index_entry, run_search
from engine.core.db import MIGRATIONS_DIR, make_engine, upgrade
from engine.core.models import ArchiveFile, ArchiveRecord, ArchiveText

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/ is not installed
from bench.archive import QUERIES, corpus

RECORDS = 120
SPAN = 7  # records per recency span here, so a hundred records make many spans


def _migrate(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _load(engine: Engine, count: int, *, with_spans: bool = True, start: int = 1) -> None:
    """``count`` synthetic archive records (the bench's corpus, keys from ``start``) and their
    index entries."""
    items = list(corpus(count, files=5, start=start))
    records = [
        {c.name: getattr(s.record, c.name) for c in ArchiveRecord.__table__.columns}  # type: ignore[attr-defined]
        for s in items
    ]
    entries = [index_entry(s.record, s.body, file_code=s.file_code) for s in items]
    if not with_spans:  # as index_entry wrote them before migration 0018
        for entry in entries:
            entry["tokens"] = re.sub(r" zr\d+$", "", entry["tokens"])
    files = [
        {
            "id": n,
            "code": f"HS.{n:04d}",
            "title": f"Hồ sơ {n}",
            "keywords": "",
            "opened_by": "luutru",
        }
        for n in range(1, 6)
    ]
    with engine.begin() as connection:
        connection.execute(insert(ArchiveFile.__table__), files)  # type: ignore[attr-defined]
        connection.execute(insert(ArchiveRecord.__table__), records)  # type: ignore[attr-defined]
        connection.execute(insert(ArchiveText.__table__), entries)  # type: ignore[attr-defined]


def _answer(engine: Engine, query: SearchQuery) -> tuple[int, bool, list[tuple[str, int]]]:
    found = run_search(engine, query, restricted=False)
    return found.total, found.total_exact, [(h.record_id, h.score) for h in found.hits]


QUESTIONS = [
    *QUERIES,
    SearchQuery(text="bổ nhiệm Trưởng phòng", limit=7, offset=5),
    SearchQuery(text="bao cao", limit=50),
    SearchQuery(text="cong tac", date_from=date(2016, 1, 1), date_to=date(2019, 12, 31)),
    SearchQuery(text="phòng", direction="incoming", limit=30),
    SearchQuery(text="cong tac", permanent=True, limit=5),  # a retention class: wider window
    SearchQuery(text="bao cao", retention_years=10, limit=3, offset=2),
    SearchQuery(text="bổ nhiệm Trưởng phòng", file_code="HS.0002", limit=50),  # narrow, tiers
    SearchQuery(text="cong tac", file_code="HS.0003"),  # narrow: few records, then the text
    SearchQuery(text="bao cao", symbol="BC", limit=40),
    # narrow with a date filter the index answers as "one of these months", and a page beyond
    SearchQuery(text="cong tac", file_code="HS.0001", date_from=date(2016, 1, 1), offset=3),
]


@pytest.mark.postgres
def test_the_same_answers_on_both_databases_across_many_spans(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "RECENCY_SPAN", SPAN)
    engines = [make_engine(f"sqlite:///{tmp_path / 'search.db'}"), make_engine(postgres_url)]
    for engine in engines:
        upgrade(engine)
        _load(engine, RECORDS)
    for query in QUESTIONS:
        sqlite, postgres = (_answer(engine, query) for engine in engines)
        assert postgres == sqlite, query
    # a window that holds just the page: a retention filter lets too few through, the wider
    # window (or the join) must give the same answer
    monkeypatch.setattr(search_module, "WINDOW_SLACK", 0)
    for query in QUESTIONS:
        assert _answer(engines[1], query) == _answer(engines[0], query), query
    monkeypatch.setattr(search_module, "NARROW_CAP", 3)  # too many for the narrow path: join
    for query in QUESTIONS[-3:]:
        assert _answer(engines[1], query) == _answer(engines[0], query), query
    # an old record is found through the spans when the newest ones do not hold the word
    oldest = run_search(engines[1], SearchQuery(text="bổ nhiệm", limit=100), restricted=False)
    assert oldest.hits and min(int(h.record_id[-7:]) for h in oldest.hits) < 2 * SPAN
    # pages follow each other: page 2 starts where page 1 ends
    whole = _answer(engines[1], SearchQuery(text="cong tac", limit=30))[2]
    pages = [
        _answer(engines[1], SearchQuery(text="cong tac", limit=10, offset=k))[2]
        for k in (0, 10, 20)
    ]
    assert [hit for page in pages for hit in page] == whole
    for engine in engines:
        engine.dispose()


def test_entries_indexed_before_0018_are_found_after_it(database_url: str) -> None:
    engine = make_engine(database_url)
    _migrate(engine, "0017")
    _load(engine, 30, with_spans=False)
    before = text("SELECT count(*) FROM archive_text WHERE tokens LIKE '% zr0%'")
    with engine.connect() as connection:
        assert connection.execute(before).scalar_one() == 0
    upgrade(engine)
    with engine.connect() as connection:
        tokens = connection.execute(text("SELECT tokens FROM archive_text")).scalars().all()
    assert len(tokens) == 30 and all(re.search(r" zr0$", t) for t in tokens)
    found = run_search(engine, SearchQuery(text="nghi dinh 30", limit=5), restricted=False)
    newest = text(
        "SELECT record_id FROM archive_record WHERE access <> 'restricted' ORDER BY id DESC"
    )
    with engine.connect() as connection:
        visible = connection.execute(newest).scalars().all()
    assert (found.total, found.total_exact) == (len(visible), True)
    assert [h.record_id for h in found.hits] == visible[:5]
    engine.dispose()


@pytest.mark.postgres
def test_entries_bulk_ingest_wrote_with_span_zero_get_their_own_after_0019(
    database_url: str,
) -> None:
    """Bulk ingest wrote ``zr0`` whatever the key from 0018 on; 0019 gives each entry the span
    of its key, and the search finds them newest first."""
    engine = make_engine(database_url)
    _migrate(engine, "0018")
    _load(engine, 30, with_spans=False, start=4001)
    with engine.begin() as connection:
        connection.execute(text("UPDATE archive_text SET tokens = tokens || ' zr0'"))
    upgrade(engine)
    with engine.connect() as connection:
        entries = connection.execute(text("SELECT record_pk, tokens FROM archive_text")).all()
    assert len(entries) == 30
    assert all(t.endswith(f" zr{pk // 2000}") and " zr0" not in t for pk, t in entries)
    found = run_search(engine, SearchQuery(text="nghi dinh 30", limit=5), restricted=False)
    newest = text(
        "SELECT record_id FROM archive_record WHERE access <> 'restricted' ORDER BY id DESC"
    )
    with engine.connect() as connection:
        visible = connection.execute(newest).scalars().all()
    assert [h.record_id for h in found.hits] == visible[:5]
    engine.dispose()


def _restricted(engine: Engine) -> int:
    with engine.connect() as connection:
        query = text("SELECT count(*) FROM archive_record WHERE access = 'restricted'")
        return int(connection.execute(query).scalar_one())
