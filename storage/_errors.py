"""The storage package's exception root."""

from __future__ import annotations


class StorageError(Exception):
    """A store operation failed. ``retryable``: a timeout or a server that did not answer."""

    def __init__(self, message: str, *, key: str | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.key = key
        self.retryable = retryable

    def __str__(self) -> str:
        return f"{self.message} (đối tượng '{self.key}')" if self.key else self.message


class ObjectNotFound(StorageError):
    """No object under this key."""


class IntegrityError(StorageError):
    """An object's content no longer matches its SHA-256."""
