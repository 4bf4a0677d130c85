"""The embedded default: objects as files under one folder, written atomically.

Retention lives beside the objects under the reserved folder '.retention/' (no key may start
with a dot, so no object can collide with it or list it): one small JSON file per retained
object, written atomically and read-only, like the object itself. The store refuses to delete
or overwrite an object, or to shorten its retention, before that date.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from storage._errors import StorageError, already_exists, not_found
from storage._keys import check_key
from storage._retention import PERMANENT, normalise, refuse_if_locked, refuse_if_shorter
from storage._store import ObjectVersion
from vanthu.errors import Kind

_TEMP_PREFIX = ".tmp-"
_RETENTION = ".retention"
_SIDE_SUFFIX = ".json"
_READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
_WRITABLE = stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH


class FolderStore:
    """Objects under ``root``; a put writes a temporary file, syncs it and renames it in place."""

    max_retain_until = PERMANENT

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = root.as_uri()
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"không tạo được thư mục lưu trữ {root}: {exc.strerror}",
                f"could not create the store folder {root}: {exc.strerror}",
                code="storage.folder.unusable",
                kind=Kind.CONFIG,
            ) from exc

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _sidecar(self, key: str) -> Path:
        return self.root / _RETENTION / f"{check_key(key)}{_SIDE_SUFFIX}"

    def put(
        self,
        key: str,
        data: bytes,
        content_type: str = "application/octet-stream",
        *,
        retain_until: datetime | None = None,
    ) -> str | None:
        if self._path(key).is_file():
            refuse_if_locked(key, self._read_retention(key), "overwrite")
        self._write(key, data, retain_until, new=False)
        return None  # a folder keeps no versions

    def create(
        self,
        key: str,
        data: bytes,
        content_type: str = "application/octet-stream",
        *,
        retain_until: datetime | None = None,
    ) -> str | None:
        if self._path(key).is_file():
            raise already_exists(key)
        self._write(key, data, retain_until, new=True)
        return None

    def _write(self, key: str, data: bytes, retain_until: datetime | None, *, new: bool) -> None:
        """The retention sidecar first, then the object (read-only while retained)."""
        path = self._path(key)
        until = normalise(retain_until) if retain_until is not None else None
        try:
            if until is not None:
                self._write_retention(key, until)
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomically(path, data, _READ_ONLY if until is not None else _WRITABLE, new=new)
        except FileExistsError as exc:
            raise already_exists(key) from exc
        except OSError as exc:
            raise self._unwritable(key, exc) from exc

    def get(self, key: str, *, version_id: str | None = None) -> bytes:
        # A folder keeps one version of each key: ``version_id`` (from an S3 store) is moot.
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise not_found(key) from exc
        except OSError as exc:
            raise StorageError(
                f"không đọc được: {exc.strerror}",
                f"could not read: {exc.strerror}",
                code="storage.read_failed",
                key=key,
            ) from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        path = self._path(key)
        if not path.is_file():
            raise not_found(key)
        refuse_if_locked(key, self._read_retention(key), "delete")
        try:
            path.unlink()
            self._sidecar(key).unlink(missing_ok=True)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise not_found(key) from exc
        except OSError as exc:
            raise StorageError(
                f"không xóa được: {exc.strerror}",
                f"could not delete: {exc.strerror}",
                code="storage.delete_failed",
                key=key,
            ) from exc

    def retention(self, key: str) -> datetime | None:
        if not self._path(key).is_file():
            raise not_found(key)
        return self._read_retention(key)

    def extend_retention(self, key: str, until: datetime) -> None:
        until = normalise(until)
        if not self._path(key).is_file():
            raise not_found(key)
        refuse_if_shorter(key, self._read_retention(key), until)
        try:
            self._write_retention(key, until)
            self._path(key).chmod(_READ_ONLY)
        except OSError as exc:
            raise self._unwritable(key, exc) from exc

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        # Walk only the folder the prefix names, not the whole store.
        folder = prefix.rpartition("/")[0]
        start = self._path(folder) if folder else self.root
        keys = []
        for directory, folders, files in os.walk(start):
            folders[:] = [name for name in folders if not name.startswith(".")]
            base = Path(directory).relative_to(self.root).as_posix()
            for name in files:
                key = name if base == "." else f"{base}/{name}"
                if not name.startswith(_TEMP_PREFIX) and key.startswith(prefix):
                    keys.append(key)
        yield from sorted(keys, key=str.encode)

    def versions(self, key: str) -> tuple[ObjectVersion, ...]:
        check_key(key)
        return ()

    def hidden_keys(self, prefix: str = "") -> Iterator[str]:
        # Nothing is hidden in a folder: a deleted file is gone (and refused while retained).
        return iter(())

    def unhide(self, key: str) -> tuple[str, ...]:
        check_key(key)
        return ()

    def _read_retention(self, key: str) -> datetime | None:
        side = self._sidecar(key)
        try:
            raw = json.loads(side.read_text(encoding="utf-8"))
            until = datetime.fromisoformat(raw["retain_until"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # A damaged retention file must not unlock anything: refuse until someone looks.
            raise StorageError(
                f"tệp thời hạn lưu trữ {side} hỏng ({type(exc).__name__}); không xử lý được",
                f"the retention file {side} is damaged ({type(exc).__name__}); cannot proceed",
                code="storage.folder.retention_damaged",
                key=key,
            ) from exc
        if raw.get("key") != key or until.tzinfo is None:
            raise StorageError(
                f"tệp thời hạn lưu trữ {side} không khớp đối tượng",
                f"the retention file {side} does not match the object",
                code="storage.folder.retention_mismatch",
                key=key,
            )
        return until

    def _unwritable(self, key: str, exc: OSError) -> StorageError:
        return StorageError(
            f"không ghi được vào {self.root}: {exc.strerror}",
            f"could not write to {self.root}: {exc.strerror}",
            code="storage.write_failed",
            key=key,
        )

    def _write_retention(self, key: str, until: datetime) -> None:
        """Record ``until`` (never an earlier date than the one already recorded)."""
        current = self._read_retention(key)
        if current is not None and current >= until:
            return
        side = self._sidecar(key)
        side.parent.mkdir(parents=True, exist_ok=True)
        body = {"key": key, "mode": "COMPLIANCE", "retain_until": until.isoformat()}
        text = json.dumps(body, ensure_ascii=False, sort_keys=True) + "\n"
        _write_atomically(side, text.encode("utf-8"), _READ_ONLY)


def _write_atomically(path: Path, data: bytes, mode: int, *, new: bool = False) -> None:
    """Write a temporary file beside ``path``, fsync it, put it in place, sync the folder.

    In place means renamed over ``path``, or with ``new`` hard-linked to it, which fails with
    FileExistsError when ``path`` exists: of two writers racing for a new key, one wins whole.
    """
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=_TEMP_PREFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        if new:
            os.link(temp, path)
            os.unlink(temp)
        else:
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
