"""Shared fixtures live in tests/fixtures_*.py, one module per real part."""

import logging

import pytest

pytest_plugins = ["fixtures_db", "fixtures_s3", "fixtures_pki", "fixtures_pkcs11"]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Prefect stops its temporary server at exit and logs to a stream pytest has closed by
    then; that message is not worth a 'Logging error' traceback at the end of every run."""
    logging.raiseExceptions = False
