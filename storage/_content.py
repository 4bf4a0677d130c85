"""Content addressing: an object's key is its SHA-256, so equal content is stored once."""

from __future__ import annotations

import hashlib

from storage._errors import IntegrityError, StorageError
from storage._open import ObjectStore


def content_key(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise StorageError(f"không phải mã SHA-256: {sha256!r}")
    return f"objects/sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def put_content(store: ObjectStore, data: bytes, content_type: str) -> str:
    sha = hashlib.sha256(data).hexdigest()
    key = content_key(sha)
    if not store.exists(key):
        store.put(key, data, content_type)
    return sha


def get_content(store: ObjectStore, sha256: str) -> bytes:
    key = content_key(sha256)
    data = store.get(key)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise IntegrityError("nội dung không khớp mã SHA-256 (tệp đã bị thay đổi)", key=key)
    return data
