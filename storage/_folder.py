"""The embedded default: objects as files under one folder, written atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from storage._errors import ObjectNotFound, StorageError
from storage._keys import check_key

_TEMP_PREFIX = ".tmp-"


class FolderStore:
    """Objects under ``root``; a put writes a temporary file, syncs it and renames it in place."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = root.as_uri()
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"không tạo được thư mục lưu trữ {root}: {exc.strerror}") from exc

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomically(path, data)
        except OSError as exc:
            raise StorageError(f"không ghi được vào {self.root}: {exc.strerror}", key=key) from exc

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ObjectNotFound("không tìm thấy trong kho", key=key) from exc
        except OSError as exc:
            raise StorageError(f"không đọc được: {exc.strerror}", key=key) from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ObjectNotFound("không tìm thấy trong kho", key=key) from exc
        except OSError as exc:
            raise StorageError(f"không xóa được: {exc.strerror}", key=key) from exc

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        # Walk only the folder the prefix names, not the whole store.
        folder = prefix.rpartition("/")[0]
        start = self._path(folder) if folder else self.root
        keys = []
        for directory, _, files in os.walk(start):
            base = Path(directory).relative_to(self.root).as_posix()
            for name in files:
                key = name if base == "." else f"{base}/{name}"
                if not name.startswith(_TEMP_PREFIX) and key.startswith(prefix):
                    keys.append(key)
        yield from sorted(keys, key=str.encode)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write a temporary file beside ``path``, fsync it, rename it over ``path``, sync the dir."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=_TEMP_PREFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
