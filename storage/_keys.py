"""Object keys: relative, slash-separated, from a small alphabet, so none escapes its store."""

from __future__ import annotations

import re

from storage._errors import StorageError
from vanthu.errors import Kind

_PART = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
MAX_KEY_LENGTH = 1024
"""S3's limit, applied to the folder store too so a key works on both."""


def check_key(key: str) -> str:
    """Return ``key`` if it is safe on every backend, else raise naming the rule it breaks.

    A part may not start with a dot: that rules out '.' and '..', and hides nothing from
    listings (the folder store's temporary files start with a dot).
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        raise StorageError(
            f"khóa đối tượng không hợp lệ: {key!r} (rỗng hoặc dài quá)",
            f"invalid object key: {key!r} (empty or too long)",
            code="storage.key.invalid",
            kind=Kind.INVALID,
        )
    if not all(_PART.fullmatch(part) for part in key.split("/")):
        raise StorageError(
            f"khóa đối tượng không hợp lệ: {key!r} (chỉ dùng A-Z a-z 0-9 . _ - và '/' giữa các"
            " phần; không '..', không bắt đầu bằng '/' hay '.', không '\\')",
            f"invalid object key: {key!r} (use only A-Z a-z 0-9 . _ - and '/' between parts;"
            " no '..', no leading '/' or '.', no '\\')",
            code="storage.key.invalid",
            kind=Kind.INVALID,
        )
    return key
