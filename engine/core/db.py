"""Database connection, transactions and migrations.

SQLite runs every transaction as BEGIN IMMEDIATE: writers queue on the file lock up front
instead of failing when a read lock cannot be upgraded. PostgreSQL relies on row locks. A
session that only reads, on the web office's every request, opens on :func:`read_only` (a plain
BEGIN: in WAL mode readers neither wait for the writer nor for each other).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, create_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
POOL_SIZE = 16
"""Connections a process keeps open once it has needed them (opened lazily): past this many, a
connection is opened and closed per use (a new PostgreSQL backend, SQLite's pragmas again)."""
POOL_OVERFLOW = 24
"""More, opened and closed as needed, beyond :data:`POOL_SIZE` (up to the web server's 40
worker threads)."""


def make_engine(url: str) -> Engine:
    """An engine for ``url``; psycopg 3 for PostgreSQL URLs given without a driver."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        database = make_url(url).database or ":memory:"
        in_file = database != ":memory:" and not database.startswith("file:")
        pool: dict[str, Any] = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW}
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 60},
            **(pool if in_file else {}),  # an in-memory database has a pool of one
        )
        _create_private(engine.url.database)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)


def _create_private(database: str | None) -> None:
    """Create a new SQLite file readable by its owner only (SQLite gives its WAL and shared
    memory files the database file's permissions); an existing file is left as it is."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.exists() or not path.parent.is_dir():
        return  # SQLite says what is wrong with a missing folder when it connects
    with suppress(OSError):  # made by another process just now, or SQLite will say why not
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


READ_ONLY = "vanthu_read_only"
"""The execution option of :func:`read_only` engines."""


def read_only(engine: Engine) -> Engine:
    """``engine`` for a session that only reads: on SQLite its transactions begin deferred, so
    concurrent readers (the web office's requests) do not queue on the write lock. Writing
    through it is a mistake: use :func:`transaction`."""
    cached = engine.__dict__.get("_vanthu_read_only")
    if cached is None:
        cached = engine.execution_options(**{READ_ONLY: True})
        engine.__dict__["_vanthu_read_only"] = cached
    return cached


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commits on success, rolls back on any exception."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


_REVISION = re.compile(r'^(down_)?revision\b[^=]*=\s*"([^"]+)"', re.M)


@cache
def heads() -> frozenset[str]:
    """The newest migrations, read from the migration files' text (alembic not imported)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for down, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            (parents if down else revisions).add(value)
    return frozenset(revisions - parents)


def is_current(engine: Engine) -> bool:
    """Whether the database is at the newest migration already."""
    try:
        with engine.connect() as connection:
            found = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError as exc:
        if "alembic_version" in str(exc.orig):  # a new database: no table yet
            return False
        raise
    return frozenset(row[0] for row in found) == heads()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent; quick when already there)."""
    if is_current(engine):
        return
    # lazy: alembic and the migration scripts cost ~0.2 s, needed only when the schema changes
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


INDEX_OBJECTS = frozenset({"archive_fts", "ix_archive_text_tsv", "tsv"})
"""The search index's objects made by migration 0005 outside the models (plus SQLite's FTS5 shadow
tables ``archive_fts_*``)."""


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic ``include_object``: leave the engine-specific full-text index out of model
    comparisons."""
    if name is None:
        return True
    return not (name in INDEX_OBJECTS or name.startswith("archive_fts_"))
