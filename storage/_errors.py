"""The storage package's exception root: what went wrong, on which key, and whether to retry."""

from __future__ import annotations

from datetime import datetime


class StorageError(Exception):
    """A store operation failed.

    ``retryable`` is True only when trying again may help (a timeout, a server that did not
    answer or answered 5xx); a missing object, a changed one or a bad URL never heals by itself.
    """

    def __init__(self, message: str, *, key: str | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.key = key
        self.retryable = retryable

    def __str__(self) -> str:
        text = f"{self.message} (đối tượng '{self.key}')" if self.key else self.message
        return f"{text}; lỗi tạm thời, có thể thử lại" if self.retryable else text


class ObjectNotFound(StorageError):
    """No object under this key."""


class IntegrityError(StorageError):
    """An object's content no longer matches its SHA-256."""


class ObjectExists(StorageError):
    """A create-only write found the key already taken (another writer got there first)."""


class RetentionError(StorageError):
    """The object is under retention: it may not be deleted, overwritten or kept shorter.

    ``until`` is the retention date (UTC) that forbids it.
    """

    def __init__(self, message: str, *, key: str | None = None, until: datetime) -> None:
        super().__init__(message, key=key)
        self.until = until
