"""Content addressing: an object's key is its SHA-256, so equal content is stored once."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from storage._errors import IntegrityError, ObjectExists, StorageError
from storage._store import ObjectStore
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
    sha = hashlib.sha256(data).hexdigest()
    key = content_key(sha)
    if not store.exists(key):
        try:
            store.create(key, data, content_type, retain_until=retain_until)
        except ObjectExists:
            pass  # someone stored the same bytes at the same moment
        else:
            return sha
    if retain_until is not None:
        current = store.retention(key)
        if current is None or current < retain_until:
            store.extend_retention(key, retain_until)
    return sha


def get_content(store: ObjectStore, sha256: str) -> bytes:
    """The content with this hash, checked: a changed byte raises IntegrityError."""
    key = content_key(sha256)
    data = store.get(key)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise IntegrityError(
            f"nội dung không còn khớp mã SHA-256 {sha256[:12]}… (tệp đã bị thay đổi hoặc hỏng)",
            f"content no longer matches its SHA-256 {sha256[:12]}… (the file was changed or"
            " damaged)",
            key=key,
        )
    return data
