"""Shared fixtures live in tests/fixtures_*.py, one module per real part."""

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from tests_support import Ran, run_vanthu, stop_own_pki
from vanthu import clock as vanthu_clock
from vanthu.clock import ManualClock

pytest_plugins = ["fixtures_db", "fixtures_s3", "fixtures_pki", "fixtures_pkcs11", "fixtures_web"]
pytest_plugins += ["fixtures_exchange"]

# Prefect reads its settings once, when first imported by some test of a process: the worker's
# longer wait for its ephemeral server (engine.automation.worker.configure_prefect) is set here
# too, before that import, or a busy machine fails a test that would pass.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    """Vanthu's clock, held by the test: ``clock.advance(days=3)`` instead of sleeping."""
    moved = ManualClock()
    with vanthu_clock.use(moved):
        yield moved


@pytest.fixture
def vanthu_cli() -> Iterator[Callable[..., Ran]]:
    """`vanthu --home HOME ARGS…` run in this process (:func:`tests_support.run_vanthu`); the
    DEMO PKI services its commands started for an agency's own keys stop when the test ends."""
    homes: set[Path] = set()

    def cli(
        home: Path, *args: str, stdin: str | None = None, env: Mapping[str, str] | None = None
    ) -> Ran:
        homes.add(home)
        return run_vanthu(home, *args, stdin=stdin, env=env)

    yield cli
    for home in homes:
        stop_own_pki(home)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Prefect stops its temporary server at exit and logs to a stream pytest has closed by
    then; that message is not worth a 'Logging error' traceback at the end of every run."""
    logging.raiseExceptions = False
