"""Object keys: relative, slash-separated, from a small alphabet, so none escapes its store."""

from __future__ import annotations

import re

from storage._errors import StorageError

_ALLOWED = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")


def check_key(key: str) -> str:
    parts = key.split("/")
    if not _ALLOWED.match(key) or any(part in (".", "..") for part in parts):
        raise StorageError(f"khóa đối tượng không hợp lệ: {key!r}", key=None)
    return key
