"""The interface every backend offers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from storage._errors import ObjectExists


@dataclass(frozen=True)
class ObjectVersion:
    """One version of a key on a store that keeps versions (S3 with object lock)."""

    version_id: str
    """The server's id of this version."""
    delete_marker: bool
    """A delete marker: a plain DELETE's mark, no content; the versions under it stay."""
    latest: bool
    """The key's current version: what a plain read sees (nothing, when it is a marker)."""
    modified: datetime | None
    """When it was written (UTC), as the server says."""


@dataclass(frozen=True)
class ObjectWrite:
    """One object of a batch given to ``ObjectStore.create_many``."""

    key: str
    data: bytes
    content_type: str = "application/octet-stream"
    retain_until: datetime | None = None
    """Written under retention until then (UTC), as ``create`` does; None: no retention."""


class ObjectStore(Protocol):
    """Bytes under keys such as 'objects/sha256/ab/cd/…'; keys are checked by ``check_key``.

    Retention: an object written with ``retain_until`` (or given one by ``extend_retention``)
    cannot be deleted or overwritten before that date, and the date cannot be brought forward;
    both raise ``RetentionError`` naming the key and the date. After the date ``delete`` works.

    Versions: an S3 store keeps every version of a key; ``put`` and ``create`` return the id of
    the version they wrote, ``get`` reads a given version, and a plain DELETE sent past the store
    (a delete marker) hides a locked object without removing it (``hidden_keys``, ``unhide``).
    The folder store keeps no versions: it returns None for ids, ignores ``version_id`` and has
    nothing hidden.
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
    ) -> str | None:
        """Store ``data`` whole: a reader sees the old object or the new one, never a part.
        Returns the id of the version written (None on a store without versions).

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
    ) -> str | None:
        """Like ``put`` but only when the key is free: ``ObjectExists`` otherwise, also when
        another writer creates it at the same instant (exactly one of them succeeds)."""
        ...

    def create_many(self, writes: Sequence[ObjectWrite]) -> list[str | ObjectExists | None]:
        """``create`` for each write of a batch at once (a folder syncs the whole batch to disk
        together, S3 sends the PUTs concurrently). One result per write, in order: the id of
        the version written, or the ``ObjectExists`` of a key already taken (also by an earlier
        write of the same batch). When it returns, every object it wrote is durable. Any other
        failure raises; objects written before it stay, each whole."""
        ...

    def get(self, key: str, *, version_id: str | None = None) -> bytes:
        """The object's bytes (of version ``version_id`` when given and the store keeps
        versions); ``ObjectNotFound`` when there is none."""
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

    def versions(self, key: str) -> tuple[ObjectVersion, ...]:
        """Every version of exactly this key, delete markers included, oldest first; empty on
        a store without versions."""
        ...

    def hidden_keys(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with ``prefix`` whose current version is a delete marker standing
        over a real version: the object is there, a plain read fails. Byte-wise order."""
        ...

    def unhide(self, key: str) -> tuple[str, ...]:
        """Remove the key's delete markers so its newest real version reads again; returns the
        markers' version ids (none removed: empty)."""
        ...
