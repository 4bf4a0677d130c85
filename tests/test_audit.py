"""The audit chain: every event carries the hash of the one before; tampering is found."""

from __future__ import annotations

from sqlalchemy import text

from engine.core import audit
from engine.core.db import make_engine, transaction, upgrade


def _chain(database_url: str, events: int = 5):  # type: ignore[no-untyped-def]
    engine = make_engine(database_url)
    upgrade(engine)
    for i in range(events):
        with transaction(engine) as session:
            audit.append(session, actor="vanthu", event="action", document_id=1, detail={"i": i})
    return engine


def test_an_untouched_chain_verifies(database_url: str) -> None:
    report = audit.verify_chain(_chain(database_url))
    assert report.intact and report.events == 5


def test_an_edited_event_is_named(database_url: str) -> None:
    engine = _chain(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor = 'ke_gian' WHERE seq = 3"))
    report = audit.verify_chain(engine)
    assert not report.intact
    assert any("#3" in p and "sửa" in p for p in report.problems)


def test_an_event_rehashed_after_editing_still_breaks_the_next_link(database_url: str) -> None:
    engine = _chain(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET hash = :h WHERE seq = 2"), {"h": "f" * 64})
    problems = audit.verify_chain(engine).problems
    assert any("#3" in p and "không nối" in p for p in problems)


def test_a_deleted_event_is_found(database_url: str) -> None:
    engine = _chain(database_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE seq = 2"))
    problems = audit.verify_chain(engine).problems
    assert any("#2" in p and "xóa" in p for p in problems)


def test_a_truncated_tail_is_found(database_url: str) -> None:
    engine = _chain(database_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE seq = 5"))
    problems = audit.verify_chain(engine).problems
    assert any("đầu chuỗi" in p for p in problems)
