"""Retention dates: whole seconds in UTC, never shortened, and the messages that refuse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from storage._errors import RetentionError, StorageError
from vanthu import clock
from vanthu.errors import Kind

PERMANENT = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
"""'Vĩnh viễn': the latest date a store keeps unless its server allows less (then extended)."""

Action = Literal["delete", "overwrite"]
_ACTIONS: dict[str, str] = {"delete": "xóa", "overwrite": "ghi đè"}


def normalise(until: datetime) -> datetime:
    """``until`` in UTC, rounded up to the whole second (S3 keeps seconds; never round down)."""
    if until.tzinfo is None or until.utcoffset() is None:
        raise StorageError(
            f"thời hạn lưu trữ {until.isoformat()} thiếu múi giờ",
            f"retention date {until.isoformat()} has no time zone",
            code="storage.retention.no_timezone",
            kind=Kind.INVALID,
        )
    until = until.astimezone(UTC)
    if until.microsecond:
        until = until.replace(microsecond=0) + timedelta(seconds=1)
    return until


def shown(until: datetime) -> str:
    """A date as users read it, with the ISO form for scripts."""
    return f"{until:%d/%m/%Y %H:%M:%S} UTC ({until.isoformat()})"


def refuse_if_locked(key: str, until: datetime | None, action: Action) -> None:
    """Raise RetentionError when ``until`` is still ahead (by Vanthu's clock)."""
    if until is not None and until > clock.now():
        raise RetentionError(
            f"không được {_ACTIONS[action]} trước khi hết thời hạn lưu trữ {shown(until)}",
            f"may not {action} before the retention date {shown(until)}",
            key=key,
            until=until,
        )


def refuse_if_shorter(key: str, current: datetime | None, until: datetime) -> None:
    if current is not None and until < current:
        raise RetentionError(
            f"không được rút ngắn thời hạn lưu trữ từ {shown(current)} xuống {shown(until)}",
            f"may not shorten the retention date from {shown(current)} to {shown(until)}",
            code="storage.retention.shorten",
            key=key,
            until=current,
        )
