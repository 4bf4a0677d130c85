"""Shared fixtures live in tests/fixtures_*.py, one module per real part."""

import logging
from collections.abc import Iterator

import pytest

from vanthu import clock as vanthu_clock
from vanthu.clock import ManualClock

pytest_plugins = ["fixtures_db", "fixtures_s3", "fixtures_pki", "fixtures_pkcs11", "fixtures_web"]
pytest_plugins += ["fixtures_exchange"]


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    """Vanthu's clock, held by the test: ``clock.advance(days=3)`` instead of sleeping."""
    moved = ManualClock()
    with vanthu_clock.use(moved):
        yield moved


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Prefect stops its temporary server at exit and logs to a stream pytest has closed by
    then; that message is not worth a 'Logging error' traceback at the end of every run."""
    logging.raiseExceptions = False
