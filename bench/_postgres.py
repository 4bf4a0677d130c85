"""A throw-away PostgreSQL database for a benchmark run (VANTHU_BENCH_PG names the server)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

PG_ADMIN_URL = os.environ.get("VANTHU_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def postgres_database(prefix: str = "vanthu_bench") -> Iterator[str]:
    """The URL of a new, empty database, dropped afterwards even if connections are left open."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
