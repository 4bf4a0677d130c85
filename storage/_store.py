"""The interface every backend offers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Protocol


class ObjectStore(Protocol):
    """Bytes under keys such as 'objects/sha256/ab/cd/…'; keys are checked by ``check_key``.

    Retention: an object written with ``retain_until`` (or given one by ``extend_retention``)
    cannot be deleted or overwritten before that date, and the date cannot be brought forward;
    both raise ``RetentionError`` naming the key and the date. After the date ``delete`` works.
    """

    url: str
    """The store's address without secrets, for messages."""

    max_retain_until: datetime
    """The latest retention date this store accepts ('vĩnh viễn' is written as this)."""

    def put(
        self,
        key: str,
        data: bytes,
        content_type: str = "application/octet-stream",
        *,
        retain_until: datetime | None = None,
    ) -> None:
        """Store ``data`` whole: a reader sees the old object or the new one, never a part.

        ``RetentionError`` when an object under retention already has this key.
        """
        ...

    def create(
        self,
        key: str,
        data: bytes,
        content_type: str = "application/octet-stream",
        *,
        retain_until: datetime | None = None,
    ) -> None:
        """Like ``put`` but only when the key is free: ``ObjectExists`` otherwise, also when
        another writer creates it at the same instant (exactly one of them succeeds)."""
        ...

    def get(self, key: str) -> bytes:
        """The object's bytes; ``ObjectNotFound`` when there is none."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the object; ``ObjectNotFound`` when there is none, ``RetentionError`` when
        its retention date has not passed."""
        ...

    def retention(self, key: str) -> datetime | None:
        """The object's retention date (UTC, whole seconds), None when it has none."""
        ...

    def extend_retention(self, key: str, until: datetime) -> None:
        """Keep the object at least until ``until``; ``RetentionError`` if that is earlier."""
        ...

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with ``prefix``, in the same (byte-wise) order on every backend."""
        ...
