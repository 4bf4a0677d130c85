"""The storage package's errors: :class:`StorageError` under Vanthu's one root.

``retryable`` is True only when trying again may help (a timeout, a server that did not answer
or answered 5xx); a missing object, a changed one or a bad URL never heals by itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from vanthu.errors import Kind, VanthuError


class StorageError(VanthuError):
    """A store operation failed."""

    code = "storage.error"
    kind = Kind.FAILED
    LABELS: ClassVar[dict[str, tuple[str, str]]] = {
        **VanthuError.LABELS,
        "key": ("đối tượng '{}'", "object '{}'"),
    }

    def __init__(
        self, message: str, message_en: str, *, key: str | None = None, **fields: Any
    ) -> None:
        super().__init__(message, message_en, key=key, **fields)
        self.key = key
        if self.retryable and self.code == StorageError.code:
            self.code = "storage.unavailable"

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text}; lỗi tạm thời, có thể thử lại" if self.retryable else text

    @property
    def english(self) -> str:
        text = super().english
        return f"{text}; a temporary error, may be retried" if self.retryable else text


class ObjectNotFound(StorageError):
    """No object under this key."""

    code = "storage.not_found"
    kind = Kind.NOT_FOUND


class IntegrityError(StorageError):
    """An object's content no longer matches its SHA-256."""

    code = "storage.integrity"


class ObjectExists(StorageError):
    """A create-only write found the key already taken (another writer got there first)."""

    code = "storage.exists"
    kind = Kind.CONFLICT


def not_found(key: str | None) -> ObjectNotFound:
    """The one message for a key with no object, on every backend."""
    return ObjectNotFound("không tìm thấy trong kho", "not found in the store", key=key)


def already_exists(key: str) -> ObjectExists:
    """The one message for a create-only write that found its key taken."""
    return ObjectExists(
        "đã có đối tượng này trong kho; không ghi đè",
        "the store already holds this object; it is not overwritten",
        key=key,
    )


class RetentionError(StorageError):
    """The object is under retention: it may not be deleted, overwritten or kept shorter.

    ``until`` is the retention date (UTC) that forbids it.
    """

    code = "storage.retention"
    kind = Kind.CONFLICT

    def __init__(
        self,
        message: str,
        message_en: str,
        *,
        key: str | None = None,
        until: datetime,
        **fields: Any,
    ) -> None:
        super().__init__(message, message_en, key=key, until=until, **fields)
        self.until = until
