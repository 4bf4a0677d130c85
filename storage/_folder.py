"""The embedded default: objects as files under one folder, written atomically.

Retention lives beside the objects under the reserved folder '.retention/' (no key may start
with a dot, so no object can collide with it or list it): one small JSON file per retained
object, written atomically and read-only, like the object itself. The store refuses to delete
or overwrite an object, or to shorten its retention, before that date.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TypeVar, cast

from storage._errors import ObjectExists, StorageError, already_exists, not_found
from storage._keys import check_key
from storage._retention import PERMANENT, normalise, refuse_if_locked, refuse_if_shorter
from storage._store import ObjectVersion, ObjectWrite
from vanthu.errors import Kind

_TEMP_PREFIX = ".tmp-"
_RETENTION = ".retention"
_SIDE_SUFFIX = ".json"
_READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
_WRITABLE = stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH
_SYNCERS = 16
"""Threads syncing a batch where syncfs is missing: the file system joins concurrent fsyncs into
one journal commit, where one after another each waits for its own (about 4 ms on a virtual
disk)."""
_T = TypeVar("_T")


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

    def create_many(self, writes: Sequence[ObjectWrite]) -> list[str | ObjectExists | None]:
        """Every file of the batch written to a temporary name first, all synced at once, then
        the retention files put in place and their folders synced, then the objects linked in
        place (create-only) and their folders synced: the guarantees of ``create`` one by one,
        with a few journal commits for the whole batch instead of four per object."""
        results: list[str | ObjectExists | None] = [None] * len(writes)
        batch = _Batch()
        taken: set[str] = set()
        key = ""
        try:
            for index, write in enumerate(writes):
                key = write.key
                path = self._path(write.key)
                if write.key in taken or path.is_file():
                    results[index] = already_exists(write.key)
                    continue
                taken.add(write.key)
                until = normalise(write.retain_until) if write.retain_until is not None else None
                if until is not None:
                    self._stage_retention(batch, write.key, until)
                mode = _READ_ONLY if until is not None else _WRITABLE
                batch.objects.append((index, batch.stage(path, write.data, mode), path))
            batch.sync_staged()
            for temp, path in batch.sides:
                os.replace(temp, path)
                del batch.temps[temp]  # nothing left to discard under that name
            batch.sync_folders(path for _, path in batch.sides)
            batch.sides.clear()
            for index, temp, path in batch.objects:
                key = writes[index].key
                try:
                    os.link(temp, path)
                except FileExistsError:  # another writer created it meanwhile
                    results[index] = already_exists(key)
            batch.sync_folders(path for _, _, path in batch.objects)
        except OSError as exc:
            raise self._unwritable(key, exc) from exc
        finally:
            batch.discard()
        return results

    def _stage_retention(self, batch: _Batch, key: str, until: datetime) -> None:
        """The retention file of ``key`` to write with the batch, unless it already says as
        long (a run stopped between the two files left it)."""
        current = self._read_retention(key)
        if current is not None and current >= until:
            return
        side = self._sidecar(key)
        body = {"key": key, "mode": "COMPLIANCE", "retain_until": until.isoformat()}
        text = json.dumps(body, ensure_ascii=False, sort_keys=True) + "\n"
        batch.sides.append((batch.stage(side, text.encode("utf-8"), _READ_ONLY), side))

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


class _Batch:
    """The files of one ``create_many``: temporary files written but not yet in place."""

    def __init__(self) -> None:
        self.staged: list[int] = []
        """Open descriptors of the temporary files, synced together."""
        self.temps: dict[Path, None] = {}
        """Temporary files still under their temporary name (ordered, removed in O(1))."""
        self.sides: list[tuple[Path, Path]] = []
        """(temporary file, retention file it becomes)"""
        self.objects: list[tuple[int, Path, Path]] = []
        """(index of the write, temporary file, object path it is linked to)"""
        self.made: set[Path] = set()
        """Folders created for the batch: their parents are synced with the batch."""
        self.present: set[Path] = set()
        """Folders known to exist: a batch of manifests asks for the same one 200 times."""
        self.watched: dict[int, int] = {}
        """For syncfs: a descriptor open on each file system the batch writes to, by device,
        opened before the batch's first change there (syncfs reports the write-back errors of
        the file system since its descriptor was opened, not those before)."""
        self.syncers: ThreadPoolExecutor | None = None
        """One set of threads for all the batch's syncs (started at the first)."""
        self.tag = secrets.token_hex(6)
        self.counter = 0

    def stage(self, path: Path, data: bytes, mode: int) -> Path:
        """``data`` in a new temporary file beside ``path``, not yet synced. Named from the
        batch's random tag and a counter (mkstemp's random name per file cost more than the
        write)."""
        self._folder(path.parent)
        while True:
            self.counter += 1
            temp = path.parent / f"{_TEMP_PREFIX}{self.tag}-{self.counter}"
            try:
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            except FileExistsError:
                continue
            break
        self.temps[temp] = None
        self.staged.append(fd)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fchmod(fd, mode)
        return temp

    def _folder(self, folder: Path) -> None:
        if folder in self.present:
            return
        wanted, missing = folder, []
        while not folder.is_dir():
            missing.append(folder)
            folder = folder.parent
        self._watch(folder)  # the folders made below it are on its file system
        for made in reversed(missing):
            made.mkdir(exist_ok=True)
            self.made.add(made)
        self.present.add(wanted)

    def _watch(self, folder: Path) -> None:
        if _SYNCFS is None:
            return
        device = folder.stat().st_dev
        if device not in self.watched:
            self.watched[device] = os.open(folder, os.O_RDONLY | os.O_CLOEXEC)

    def sync_staged(self) -> None:
        if _SYNCFS is not None:
            self._close()
            self._sync_file_systems()
            return
        self._in_parallel(os.fsync, self.staged)
        self._close()

    def sync_folders(self, paths: Iterable[Path]) -> None:
        if _SYNCFS is not None:
            self.made.clear()
            self._sync_file_systems()
            return
        folders = {path.parent for path in paths}
        folders |= {made.parent for made in self.made}
        self.made.clear()
        self._in_parallel(_sync_folder, sorted(folders))

    def _sync_file_systems(self) -> None:
        """Every file system the batch wrote to made durable, its files, folders and renames
        alike: one syncfs each instead of an fsync per file and per folder."""
        assert _SYNCFS is not None
        for fd in self.watched.values():
            if _SYNCFS(fd) != 0:
                code = ctypes.get_errno()
                raise OSError(code, os.strerror(code))

    def _in_parallel(self, action: Callable[[_T], object], items: Sequence[_T]) -> None:
        """``action`` on every item, the items shared among ``_SYNCERS`` threads (a task per
        thread, not per item: a future costs about what an fsync does)."""
        if len(items) < 2:
            for item in items:
                action(item)
            return
        if self.syncers is None:
            self.syncers = ThreadPoolExecutor(_SYNCERS)
        threads = min(_SYNCERS, len(items))

        def run(share: Sequence[_T]) -> None:
            for item in share:
                action(item)

        for _ in self.syncers.map(run, [items[n::threads] for n in range(threads)]):
            pass

    def _close(self) -> None:
        for fd in self.staged:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.staged.clear()

    def discard(self) -> None:
        """Close and remove the temporary files (those linked in place stay under their key)."""
        self._close()
        for fd in self.watched.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self.watched.clear()
        if self.syncers is not None:
            self.syncers.shutdown()
            self.syncers = None
        for temp in self.temps:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
        self.temps.clear()


def _find_syncfs() -> Callable[[int], int] | None:
    """Linux's syncfs(2), or None elsewhere. Since Linux 5.8 it reports a failed write-back of the
    file system as fsync does (Debian 12 runs 6.1)."""
    try:
        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    syncfs.argtypes = [ctypes.c_int]
    syncfs.restype = ctypes.c_int
    return cast(Callable[[int], int], syncfs)


_SYNCFS = _find_syncfs()


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
