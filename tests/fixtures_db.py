"""Fixtures: databases (SQLite always, PostgreSQL when it answers) and an open demo agency."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from engine.automation import open_workspace
from engine.core.agency import DEMO_AGENCY, DEMO_PEOPLE, create_demo_agency
from engine.core.config import load_settings
from engine.core.workspace import Workspace
from engine.signatures import create_demo_keys

PG_ADMIN_URL = os.environ.get("VANTHU_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
_pg_state: dict[str, bool] = {}


def postgres_available() -> bool:
    if "up" not in _pg_state:
        try:
            psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
            _pg_state["up"] = True
        except psycopg.OperationalError:
            _pg_state["up"] = False
    return _pg_state["up"]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    if not postgres_available():
        pytest.skip(f"PostgreSQL không trả lời ({PG_ADMIN_URL}): bỏ qua phần chạy trên PostgreSQL")
    name = f"vanthu_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every data-layer test runs on both databases."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'vanthu.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(scope="session")
def demo_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo agency's DEMO PKI, made once per test session (RSA key generation is slow)."""
    directory = tmp_path_factory.mktemp("pki")
    shutil.rmtree(directory)
    create_demo_keys(directory, DEMO_AGENCY, DEMO_PEOPLE)
    return directory


WorkspaceFactory = Callable[..., Workspace]


@pytest.fixture
def make_agency(tmp_path: Path, demo_keys: Path) -> WorkspaceFactory:
    """Open a demo agency on the given database and store (defaults: SQLite, folder)."""

    def make(database_url: str = "", store_url: str = "", **overrides: object) -> Workspace:
        home = tmp_path / f"agency-{uuid.uuid4().hex[:6]}"
        home.mkdir()
        values: dict[str, object] = {"pki_dir": demo_keys, "steps_runner": "inline", **overrides}
        settings = load_settings(home, database_url=database_url, store_url=store_url, **values)
        ws = open_workspace(settings)
        create_demo_agency(ws)
        return ws

    return make


@pytest.fixture
def agency(make_agency: WorkspaceFactory, database_url: str) -> Workspace:
    """The demo agency on each database in turn, with a folder store."""
    return make_agency(database_url)
