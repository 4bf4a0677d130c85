"""One clock for all of Vanthu, so tests move time instead of waiting for it.

Everything that asks "what time is it" (deadlines, numbering years, retention dates, revocation
times, signing times, the DEMO TSA) asks :func:`now`. Production reads the system clock; a test
holds a :class:`ManualClock` with :func:`use` and moves it. Times are aware, in UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


_current: Clock = system_clock


def now() -> datetime:
    """The current time, aware, in UTC."""
    return _current()


@contextmanager
def use(clock: Clock) -> Iterator[Clock]:
    """Within the block, every part of Vanthu (threads included) reads ``clock``."""
    global _current
    previous, _current = _current, clock
    try:
        yield clock
    finally:
        _current = previous


class ManualClock:
    """A clock that runs with the system's but can be moved: ``clock.advance(days=3)``."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.offset = offset

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta | None = None, **units: float) -> datetime:
        """Move forward by ``delta`` or by keyword units (``seconds=``, ``days=`` …)."""
        self.offset += delta if delta is not None else timedelta(**units)
        return self()

    def set(self, moment: datetime) -> None:
        """From now on the clock reads ``moment`` (and runs on from there)."""
        self.offset = moment - datetime.now(UTC)
