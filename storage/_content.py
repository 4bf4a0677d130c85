"""Content addressing: an object's key is its SHA-256, so equal content is stored once."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime

from storage._errors import IntegrityError, ObjectExists, StorageError
from storage._store import ObjectStore, ObjectWrite
from vanthu.errors import Kind

_SHA256 = re.compile(r"[0-9a-f]{64}")


def content_key(sha256: str) -> str:
    """'objects/sha256/ab/cd/abcd…': two folder levels keep any one folder small."""
    if not _SHA256.fullmatch(sha256):
        raise StorageError(
            f"không phải mã SHA-256 (64 chữ số hex thường): {sha256!r}",
            f"not a SHA-256 hash (64 lower-case hex digits): {sha256!r}",
            code="storage.sha256.invalid",
            kind=Kind.INVALID,
        )
    return f"objects/sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def put_content(
    store: ObjectStore, data: bytes, content_type: str, *, retain_until: datetime | None = None
) -> str:
    """Store ``data`` under its hash, once; return the hash.

    With ``retain_until`` the content is kept at least that long: content already stored (by
    another record, perhaps) has its retention extended when it is shorter, never shortened.
    """
    return put_content_version(store, data, content_type, retain_until=retain_until)[0]


def put_content_version(
    store: ObjectStore, data: bytes, content_type: str, *, retain_until: datetime | None = None
) -> tuple[str, str | None]:
    """``put_content`` that also returns the id of the version holding the content (None on a
    store without versions): the one written now, or for content stored before, its first
    version, the one written create-only (a later version is someone else's)."""
    sha = hashlib.sha256(data).hexdigest()
    key = content_key(sha)
    if not store.exists(key):
        try:
            version = store.create(key, data, content_type, retain_until=retain_until)
        except ObjectExists:
            pass  # someone stored the same bytes at the same moment
        else:
            return sha, version
    if retain_until is not None:
        current = store.retention(key)
        if current is None or current < retain_until:
            store.extend_retention(key, retain_until)
    return sha, first_version(store, key)


def put_contents(
    store: ObjectStore, contents: Sequence[tuple[bytes, datetime | None]], content_type: str
) -> list[tuple[str, str | None]]:
    """``put_content_version`` for a batch of (content, retain until), written together with
    ``create_many``: (hash, version) for each, in order. Content already stored (also twice in
    the batch) keeps its first version and has its retention extended when shorter."""
    hashes = [hashlib.sha256(data).hexdigest() for data, _ in contents]
    writes = [
        ObjectWrite(content_key(sha), data, content_type, until)
        for sha, (data, until) in zip(hashes, contents, strict=True)
    ]
    written = store.create_many(writes)
    results = []
    for sha, write, outcome in zip(hashes, writes, written, strict=True):
        if not isinstance(outcome, ObjectExists):
            results.append((sha, outcome))
            continue
        if write.retain_until is not None:
            current = store.retention(write.key)
            if current is None or current < write.retain_until:
                store.extend_retention(write.key, write.retain_until)
        results.append((sha, first_version(store, write.key)))
    return results


def first_version(store: ObjectStore, key: str) -> str | None:
    """The oldest real version of ``key`` (None on a store without versions)."""
    real = [v for v in store.versions(key) if not v.delete_marker]
    return real[0].version_id if real else None


def get_content(store: ObjectStore, sha256: str, *, version_id: str | None = None) -> bytes:
    """The content with this hash, checked: a changed byte raises IntegrityError. With
    ``version_id`` (recorded when it was archived) that version is read: a delete marker put
    over the object since, or a newer version written past the store, does not change what
    is read."""
    key = content_key(sha256)
    data = store.get(key, version_id=version_id)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise IntegrityError(
            f"nội dung không còn khớp mã SHA-256 {sha256[:12]}… (tệp đã bị thay đổi hoặc hỏng)",
            f"content no longer matches its SHA-256 {sha256[:12]}… (the file was changed or"
            " damaged)",
            key=key,
        )
    return data


def read_hidden(store: ObjectStore, key: str) -> bytes | None:
    """The newest real version of ``key`` when a delete marker hides it; None when the key is
    not hidden (or the store keeps no versions)."""
    versions = store.versions(key)
    current = [v for v in versions if v.latest]
    real = [v for v in versions if not v.delete_marker]
    if not current or not current[0].delete_marker or not real:
        return None
    return store.get(key, version_id=real[-1].version_id)
