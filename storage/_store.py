"""The interface every backend offers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol


class ObjectStore(Protocol):
    """Bytes under keys such as 'objects/sha256/ab/cd/…'; keys are checked by ``check_key``."""

    url: str
    """The store's address without secrets, for messages."""

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Store ``data`` whole: a reader sees the old object or the new one, never a part."""
        ...

    def get(self, key: str) -> bytes:
        """The object's bytes; ``ObjectNotFound`` when there is none."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the object; ``ObjectNotFound`` when there is none."""
        ...

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with ``prefix``, in the same (byte-wise) order on every backend."""
        ...
