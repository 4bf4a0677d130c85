"""`vanthu prefect-server`: Prefect's own server for the production mode, started with the
environment it needs (what an administrator would otherwise assemble by hand).

Prefect keeps its runs in a database of its own, never the agency's: PostgreSQL in production
(``postgresql://…`` is handed to Prefect as ``postgresql+asyncpg://…``), else SQLite inside the
agency folder. Workers on any machine report to it through ``prefect_api_url``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from engine.core.config import Settings
from engine.core.errors import ConfigError

_ASYNC_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgresql+psycopg": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}


@dataclass(frozen=True)
class PrefectServer:
    """How to start the server: the command, its environment, and the addresses to give out."""

    command: list[str]
    environment: dict[str, str]
    ui_url: str
    api_url: str
    database: str
    """The database as shown to people: no password."""


def prefect_database_url(url: str, prefect_home: Path) -> str:
    """The URL Prefect's server takes for its own database (async drivers); SQLite in
    ``prefect_home`` when ``url`` is empty."""
    if not url:
        return f"sqlite+aiosqlite:///{prefect_home / 'prefect.db'}"
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in _ASYNC_DRIVERS:
        raise ConfigError(
            f"--database-url {scheme or url}://… không dùng được cho máy chủ Prefect: dùng "
            "postgresql://NGƯỜI-DÙNG@MÁY/CSDL (một CSDL riêng cho Prefect)",
            f"--database-url {scheme or url}://… cannot hold Prefect's server: use "
            "postgresql://USER@HOST/DB (a database of Prefect's own)",
            code="config.prefect_database_url_unsupported",
            scheme=scheme,
        )
    return _ASYNC_DRIVERS[scheme] + url[len(scheme) :]


def shown(url: str) -> str:
    """A database URL without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def prefect_server(
    settings: Settings, *, host: str, port: int, database_url: str = ""
) -> PrefectServer:
    """The server of the agency in ``settings.home``: its state in ``<home>/prefect``, its
    database ``database_url`` (else SQLite there), listening on ``host:port``."""
    if not 1 <= port <= 65535:
        raise ConfigError(
            f"--port {port} không hợp lệ (1–65535)",
            f"--port {port} is not valid (1–65535)",
            code="config.prefect_port_invalid",
            port=port,
        )
    prefect_home = settings.home / "prefect"
    database = prefect_database_url(database_url, prefect_home)
    environment = {
        **os.environ,
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_DATABASE_CONNECTION_URL": database,
        "PREFECT_LOGGING_LEVEL": os.environ.get("PREFECT_LOGGING_LEVEL", "WARNING"),
    }
    environment.pop("PREFECT_API_URL", None)  # the server is the API; it must not call another
    reachable = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", host]
    command += ["--port", str(port)]
    return PrefectServer(
        command=command,
        environment=environment,
        ui_url=f"http://{reachable}:{port}",
        api_url=f"http://{reachable}:{port}/api",
        database=shown(database),
    )
