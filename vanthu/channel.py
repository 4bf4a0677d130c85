"""Which face the current work came through, for the audit log: set once by each face.

The command line, the HTTP API, the web office and the Prefect worker each enter
``with channel("cli", os_user=…):`` around what they run; every audit event appended inside
records it (``engine.core.audit`` reads :func:`current`). Work no face started is ``system``.
A context variable, so concurrent requests of one server each keep their own; this module
imports nothing, so the command line sets it before any engine module is loaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

CHANNELS = ("cli", "api", "web", "worker", "system")
"""The command line, the HTTP API (signing agents), the web office, a Prefect worker, or
automated work in process that no face started."""
SYSTEM = "system"
OS_USER_MAX = 64


@dataclass(frozen=True)
class Channel:
    """The face the current work came through, and who ran it on the machine (CLI only)."""

    name: str
    os_user: str | None = None


_SYSTEM = Channel(SYSTEM)
_current: ContextVar[Channel | None] = ContextVar("vanthu_channel", default=None)


@contextmanager
def channel(name: str, *, os_user: str | None = None) -> Iterator[Channel]:
    """Within the block, audit events record channel ``name`` (and ``os_user``); the previous
    channel is back afterwards. ``os_user`` None keeps the enclosing one's (automated work
    started from the command line still names who ran it)."""
    if name not in CHANNELS:
        raise ValueError(f"unknown channel {name!r}; one of {', '.join(CHANNELS)}")
    user = os_user if os_user is not None else current().os_user
    found = Channel(name, user[:OS_USER_MAX] if user else None)
    token = _current.set(found)
    try:
        yield found
    finally:
        _current.reset(token)


def current() -> Channel:
    """The channel events appended now record."""
    return _current.get() or _SYSTEM
