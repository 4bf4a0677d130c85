"""Backups that restore: `vanthu backup --to DIR [--full]` and `vanthu restore FROM --into HOME`.

Thông tư 05/2025/TT-BNV asks for daily incremental and monthly full backups of electronic
archives. A backup folder holds numbered sets, ``set-0001``, ``set-0002``…; each set is:

- ``manifest.json``: every file the agency needs, with its SHA-256, its size and the set whose
  ``blobs/`` folder holds its bytes: the database as of one instant, the PKI folder, the
  configuration (with the files it names), and every object of the store (with its retention
  date). The manifest names the set before it by the SHA-256 of its manifest.
- ``manifest.p7s``: a detached CMS signature of the manifest's bytes with the agency's key,
  timestamped by the TSA (``openssl cms -verify -binary -inform DER`` checks it too).
- ``blobs/ab/<sha256>``: the bytes this set is the first to hold. An incremental set copies only
  what the sets before it lack; ``--full`` copies everything, so the set stands alone.

The database is copied as of one instant: SQLite through its online backup API, PostgreSQL by
``pg_dump`` on a snapshot exported from the transaction that reads the audit head. The store is
listed after that instant, so every object the database names is there (objects are stored
before the transaction that records them); anchors of the audit chain newer than the copied
head are left out, since the copied chain does not reach them.

``restore`` checks the signature and then every file's hash before it writes anything, and
builds the agency in a folder beside the target that becomes the target only when complete.
A set is written as ``set-NNNN.partial`` and renamed when signed, so a crash leaves no set that
looks whole. A backup folder holds the agency's private keys: it is readable by its owner only.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlmodel import Session, col, select

from engine.archive.records import require_keeper
from engine.automation.registry import open_workspace
from engine.core import audit
from engine.core.config import CONFIG_FILE, Settings, load_settings
from engine.core.db import make_engine, transaction
from engine.core.errors import ConfigError, Conflict, EngineError, InvalidInput, NotFound
from engine.core.models import Agency
from engine.core.workspace import Workspace
from engine.signatures import keys
from engine.signatures.anchors import anchor_seq
from signing import DetachedVerdict, sign_bytes, verify_bytes
from storage import ObjectNotFound, ObjectStore, open_store
from vanthu import clock
from vanthu.errors import VanthuError

FORMAT = "vanthu-backup/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.p7s"
BLOBS = "blobs"
LOCK = ".lock"
PARTIAL = ".partial"
_CHUNK = 1024 * 1024
_SET = re.compile(r"set-(\d{4,})")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CONTENT_KEY = re.compile(r"objects/sha256/[0-9a-f]{2}/[0-9a-f]{2}/([0-9a-f]{64})")
_AREAS = {"database": "cơ sở dữ liệu", "pki": "bộ khóa", "config": "cấu hình", "store": "kho"}
_DIR_MODE = 0o700
_FILE_MODE = 0o600
DUMP_TIMEOUT_S = 6 * 3600.0
"""The longest a database dump or restore may run."""
_SETTINGS_MOVED = ("home", "database_url", "store_url", "pki_dir")
_SETTINGS_FILES = ("trust_roots", "retention_file", "workflows_dir")


@dataclass(frozen=True)
class Entry:
    """One file of a set: where it goes back, its hash, and which set holds its bytes."""

    area: str
    """``database``, ``pki`` (a file of the PKI folder), ``config`` (a file the configuration
    names) or ``store`` (an object of the store)."""
    name: str
    """The path inside its area, or the store key."""
    sha256: str
    size: int
    holder: int
    """The set whose blobs/ folder holds the bytes."""
    mode: int | None = None
    """File permissions, for the PKI folder (the passphrase is for its owner only)."""
    retain_until: str | None = None
    """A store object's retention date (ISO 8601, UTC)."""

    @property
    def shown(self) -> str:
        """How a person reads it in a message: 'kho: objects/sha256/…'."""
        return f"{_AREAS.get(self.area, self.area)}: {self.name}"

    def to_json(self) -> dict[str, Any]:
        found = {
            "area": self.area,
            "name": self.name,
            "sha256": self.sha256,
            "size": self.size,
            "set": self.holder,
        }
        if self.mode is not None:
            found["mode"] = self.mode
        if self.retain_until is not None:
            found["retain_until"] = self.retain_until
        return found

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Entry:
        """One entry of a manifest; ValueError when a field could lead outside the backup."""
        entry = cls(
            area=str(value["area"]),
            name=str(value["name"]),
            sha256=str(value["sha256"]),
            size=int(value["size"]),
            holder=int(value["set"]),
            mode=int(value["mode"]) & 0o777 if value.get("mode") is not None else None,
            retain_until=value.get("retain_until"),
        )
        if entry.area not in _AREAS or not _SHA256.fullmatch(entry.sha256) or entry.holder < 1:
            raise ValueError(f"entry {entry.name!r}")
        if entry.retain_until is not None:
            datetime.fromisoformat(entry.retain_until)
        return entry


@dataclass(frozen=True)
class BackupResult:
    """What `vanthu backup` made."""

    number: int
    directory: Path
    full: bool
    objects: int
    """Objects of the store listed in the manifest."""
    new_objects: int
    """Of those, how many this set is the first to hold."""
    new_bytes: int
    """Bytes written into this set's blobs (database and PKI included)."""
    audit_seq: int
    """The last audit event in the copied database."""
    warnings: tuple[str, ...] = ()
    """Store objects that no longer match their own hash (run `vanthu archive check`)."""


@dataclass(frozen=True)
class RestoreResult:
    """What `vanthu restore` rebuilt."""

    home: Path
    number: int
    objects: int
    audit_seq: int
    signer: str
    signed_at: datetime | None
    trust_from_backup: bool
    """The signature was judged against the roots inside the backup (no --trust given)."""


@dataclass
class _Set:
    """A set being written."""

    number: int
    path: Path
    full: bool
    known: dict[str, int] = field(default_factory=dict)
    """SHA-256 → the set holding those bytes (this one included)."""
    entries: list[Entry] = field(default_factory=list)
    new_bytes: int = 0

    def add(self, area: str, name: str, data: bytes, **extra: Any) -> Entry:
        sha = hashlib.sha256(data).hexdigest()
        holder = self.known.get(sha)
        if holder is None:
            _write_file(_blob_path(self.path, sha), data)
            holder = self.known[sha] = self.number
            self.new_bytes += len(data)
        entry = Entry(area, name, sha, len(data), holder, **extra)
        self.entries.append(entry)
        return entry

    def add_file(self, area: str, name: str, path: Path) -> Entry:
        """Like :meth:`add` for a file of this set's folder (the database copy), moved into
        blobs/ without being read whole."""
        digest, size = hashlib.sha256(), 0
        with path.open("rb") as source:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
            os.fsync(source.fileno())
        sha = digest.hexdigest()
        holder = self.known.get(sha)
        if holder is None:
            blob = _blob_path(self.path, sha)
            blob.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
            os.replace(path, blob)
            holder = self.known[sha] = self.number
            self.new_bytes += size
        else:
            path.unlink()
        entry = Entry(area, name, sha, size, holder)
        self.entries.append(entry)
        return entry


# --- Backup ---------------------------------------------------------------------------------


def make_backup(ws: Workspace, username: str, target: Path, *, full: bool = False) -> BackupResult:
    """Write the next set into ``target``; archivists and administrators only."""
    require_keeper(ws, username, "sao lưu dữ liệu của cơ quan", "back up the agency's data")
    target = _backup_folder(target, _kept_folders(ws))
    with _locked(target):
        for stale in target.glob(f"set-*{PARTIAL}"):
            shutil.rmtree(stale, ignore_errors=True)
        numbers = complete_sets(target)
        previous = numbers[-1] if numbers else None
        full = full or previous is None  # the first set holds everything
        writing = _Set(
            (previous or 0) + 1, target / f"set-{(previous or 0) + 1:04d}{PARTIAL}", full
        )
        reused: dict[str, Entry] = {}
        link: dict[str, Any] | None = None
        if previous is not None and full:
            with contextlib.suppress(VanthuError):  # a full set does not need the one before
                manifest_bytes, _ = _previous(ws, target, previous)
                link = {"set": previous, "sha256": hashlib.sha256(manifest_bytes).hexdigest()}
        elif previous is not None:
            manifest_bytes, entries = _previous(ws, target, previous)
            link = {"set": previous, "sha256": hashlib.sha256(manifest_bytes).hexdigest()}
            for entry in entries:
                if _blob_intact_size(target, entry):
                    writing.known.setdefault(entry.sha256, entry.holder)
                    if entry.area == "store":
                        reused[entry.name] = entry
        _make_folder(writing.path)
        try:
            result = _write_set(ws, username, writing, reused, link)
        except BaseException:
            shutil.rmtree(writing.path, ignore_errors=True)
            raise
    with transaction(ws.db) as session:
        audit.append(
            session,
            actor=username,
            event="backup_made",
            detail={
                "set": result.number,
                "full": full,
                "directory": str(target),
                "objects": result.objects,
                "new_objects": result.new_objects,
                "new_bytes": result.new_bytes,
                "audit_seq": result.audit_seq,
            },
        )
    return result


def complete_sets(folder: Path) -> list[int]:
    """The numbers of the signed sets in a backup folder, in order."""
    found = []
    for path in folder.iterdir() if folder.is_dir() else ():
        matched = _SET.fullmatch(path.name)
        if matched and (path / MANIFEST).is_file() and (path / SIGNATURE).is_file():
            found.append(int(matched.group(1)))
    return sorted(found)


def _write_set(
    ws: Workspace,
    username: str,
    writing: _Set,
    reused: Mapping[str, Entry],
    link: dict[str, Any] | None,
) -> BackupResult:
    dump = writing.path / f"database{PARTIAL}"
    engine_name, head_seq, head_hash = _snapshot_database(ws.db, dump)
    writing.add_file("database", engine_name, dump)
    values, files, roots = _configuration(ws)
    for area, name, path in files:
        writing.add(
            area, name, _read_file(path), **({"mode": _mode(path)} if area == "pki" else {})
        )
    objects, new_objects, warnings = 0, 0, []
    for key in ws.store.list_keys(""):
        seq = anchor_seq(key)
        if seq is not None and seq > head_seq:
            continue  # an anchor of events the copied database does not hold yet
        known = len(writing.known)
        try:
            warning = _add_object(ws.store, writing, key, reused.get(key))
        except ObjectNotFound:
            continue  # removed since it was listed (a disposal): not part of this instant
        objects += 1
        new_objects += len(writing.known) > known
        warnings += [warning] if warning else []
    with Session(ws.db) as session:
        agency = session.exec(select(Agency).order_by(col(Agency.id))).first()
    manifest = {
        "format": FORMAT,
        "set": writing.number,
        "full": writing.full,
        "previous": link,
        "created_at": clock.now().astimezone(UTC).isoformat(),
        "created_by": username,
        "agency": {"code": agency.code, "name": agency.name} if agency else None,
        "database": {"engine": engine_name, "audit_seq": head_seq, "audit_hash": head_hash},
        "settings": values,
        "trust_roots": roots,
        "entries": [e.to_json() for e in sorted(writing.entries, key=_order)],
    }
    body = (json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode()
    with keys.signing_policy(ws, "B-T"):
        signature = sign_bytes(keys.agency_key(ws), body)
    _write_file(writing.path / MANIFEST, body)
    _write_file(writing.path / SIGNATURE, signature)
    final = writing.path.with_name(f"set-{writing.number:04d}")
    os.rename(writing.path, final)
    _sync_folder(final.parent)
    return BackupResult(
        writing.number,
        final,
        writing.full,
        objects,
        new_objects,
        writing.new_bytes,
        head_seq,
        tuple(warnings),
    )


def _add_object(store: ObjectStore, writing: _Set, key: str, before: Entry | None) -> str | None:
    """List one object of the store in the set, copying its bytes unless a set holds them; a
    warning when a content-addressed object no longer matches its own hash."""
    until = store.retention(key)
    retain = until.astimezone(UTC).isoformat() if until is not None else None
    addressed = _CONTENT_KEY.fullmatch(key)
    if before is not None and addressed and before.sha256 == addressed.group(1):
        # Content-addressed and already held: its key is its hash, nothing to read again.
        writing.entries.append(
            Entry("store", key, before.sha256, before.size, before.holder, None, retain)
        )
        return None
    data = store.get(key)
    writing.add("store", key, data, retain_until=retain)
    if addressed and hashlib.sha256(data).hexdigest() != addressed.group(1):
        return (
            f"đối tượng {key} trong kho không còn khớp mã SHA-256 của nó "
            "(chạy `vanthu archive check`; một bộ sao lưu trước có thể còn bản đúng)"
        )
    return None


def _order(entry: Entry) -> tuple[int, str]:
    return (list(_AREAS).index(entry.area), entry.name)


def _previous(ws: Workspace, folder: Path, number: int) -> tuple[bytes, list[Entry]]:
    """The latest set's manifest, its signature checked against the agency's roots."""
    path = folder / f"set-{number:04d}"
    body = _read_file(path / MANIFEST)
    verdict = _verdict(body, _read_file(path / SIGNATURE), keys.trust_roots(ws), path)
    if not verdict.valid:
        raise EngineError(
            f"bộ sao lưu trước {path.name} không còn nguyên vẹn ("
            + "; ".join(verdict.problems)
            + "): hãy sao lưu toàn bộ (--full)",
            f"the previous backup set {path.name} is no longer intact ("
            + "; ".join(verdict.problems_en)
            + "): make a full backup (--full)",
            code="backup.previous_invalid",
            set=number,
        )
    return body, _entries(_manifest(body, path))


def _configuration(ws: Workspace) -> tuple[dict[str, Any], list[tuple[str, str, Path]], list[Any]]:
    """The settings to restore (without what the restore chooses anew), the files they name
    and the PKI folder's files (area, name, path), and where the trust roots are among them."""
    settings = ws.settings
    pki_dir = settings.effective_pki_dir
    values = settings.model_dump(mode="json", exclude_defaults=True)
    for name in (*_SETTINGS_MOVED, *_SETTINGS_FILES):
        values.pop(name, None)
    files: list[tuple[str, str, Path]] = []
    for path in sorted(p for p in pki_dir.rglob("*") if p.is_file() and not p.is_symlink()):
        files.append(("pki", path.relative_to(pki_dir).as_posix(), path))
    roots: list[dict[str, str]] = []
    for index, path in enumerate(settings.trust_roots or [keys.pki(ws).root_cert]):
        resolved = path.resolve()
        if resolved.is_relative_to(pki_dir.resolve()):
            roots.append(
                {"area": "pki", "name": resolved.relative_to(pki_dir.resolve()).as_posix()}
            )
        else:
            name = f"trust/{index + 1}-{path.name}"
            files.append(("config", name, path))
            roots.append({"area": "config", "name": name})
    values["trust_roots"] = list(roots) if settings.trust_roots else None
    if settings.retention_file is not None:
        name = f"retention/{settings.retention_file.name}"
        files.append(("config", name, settings.retention_file))
        values["retention_file"] = name
    if settings.workflows_dir is not None:
        for path in sorted(settings.workflows_dir.glob("*.y*ml")):
            files.append(("config", f"workflows/{path.name}", path))
        values["workflows_dir"] = "workflows"
    return values, files, roots


# --- The database at one instant ------------------------------------------------------------


def _snapshot_database(engine: Engine, dest: Path) -> tuple[str, int, str]:
    """Copy the database into ``dest`` as of one instant; its engine and audit head."""
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if not database or database == ":memory:":
            raise ConfigError(
                "không sao lưu được cơ sở dữ liệu SQLite trong bộ nhớ",
                "an in-memory SQLite database cannot be backed up",
                code="backup.database_unsupported",
            )
        seq, head = _sqlite_snapshot(Path(database), dest)
        return "sqlite", seq, head
    if engine.dialect.name == "postgresql":
        seq, head = _pg_snapshot(engine, dest)
        return "postgresql", seq, head
    raise ConfigError(
        f"chưa sao lưu được cơ sở dữ liệu loại {engine.dialect.name}",
        f"databases of type {engine.dialect.name} cannot be backed up yet",
        code="backup.database_unsupported",
    )


def _sqlite_snapshot(source: Path, dest: Path) -> tuple[int, str]:
    """SQLite's online backup API: one read transaction, so the copy is of one instant."""
    try:
        with (
            contextlib.closing(sqlite3.connect(source, timeout=60)) as src,
            contextlib.closing(sqlite3.connect(dest)) as copy,
        ):
            src.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            row = copy.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    except sqlite3.Error as exc:
        raise EngineError(
            f"không sao chép được cơ sở dữ liệu SQLite {source}: {exc}",
            f"the SQLite database {source} cannot be copied: {exc}",
            code="backup.database_dump_failed",
        ) from exc
    os.chmod(dest, _FILE_MODE)
    return (int(row[0]), str(row[1])) if row else (0, audit.GENESIS)


def _pg_snapshot(engine: Engine, dest: Path) -> tuple[int, str]:
    """``pg_dump`` on the snapshot of the transaction that reads the audit head."""
    program = _program("pg_dump")
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            row = connection.execute(text("SELECT seq, hash FROM audit_head WHERE id = 1")).first()
            _run(
                [
                    program,
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    f"--file={dest}",
                    _libpq_url(engine.url),
                ],
                engine.url,
                what="pg_dump",
                code="backup.database_dump_failed",
            )
    os.chmod(dest, _FILE_MODE)
    return (int(row[0]), str(row[1])) if row else (0, audit.GENESIS)


def _program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ConfigError(
            f"không tìm thấy {name}: cài gói postgresql-client (scripts/install-system-deps.sh)",
            f"{name} not found: install the postgresql-client package "
            "(scripts/install-system-deps.sh)",
            code="backup.pg_tools_missing",
            program=name,
        )
    return found


def _libpq_url(url: URL) -> str:
    """The URL as libpq reads it: no driver, no password (that goes in PGPASSWORD)."""
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False)


def _run(command: list[str], url: URL, *, what: str, code: str) -> None:
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            env=env,
            stdin=subprocess.DEVNULL,
            timeout=DUMP_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise EngineError(
            f"{what} chạy quá {DUMP_TIMEOUT_S:g} giây, đã dừng",
            f"{what} ran longer than {DUMP_TIMEOUT_S:g} seconds and was stopped",
            code=code,
            retryable=True,
        ) from exc
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip()[-1000:]
        raise EngineError(
            f"{what} không thành công (mã thoát {done.returncode}): {tail}",
            f"{what} failed (exit code {done.returncode}): {tail}",
            code=code,
            exit_code=done.returncode,
        )


# --- Restore ---------------------------------------------------------------------------------


def restore_backup(
    source: Path,
    home: Path,
    *,
    number: int | None = None,
    database_url: str = "",
    store_url: str = "",
    trust_roots: Sequence[bytes] = (),
) -> RestoreResult:
    """Rebuild an agency in the empty folder ``home`` from the set ``number`` (default: the
    latest) of the backup in ``source`` (the backup folder, or one set's folder).

    Nothing is written before the manifest's signature and every file's hash have been checked.
    A PostgreSQL backup needs ``database_url``, an empty database; ``store_url`` (default: a
    folder store in ``home``) must be an empty store."""
    folder, number = _locate(source, number)
    path = folder / f"set-{number:04d}"
    body = _read_file(path / MANIFEST)
    manifest = _manifest(body, path)
    entries = _entries(manifest)
    by_name = {(e.area, e.name): e for e in entries}
    home = home.expanduser().resolve()
    _check_target(home)
    engine_name = str(manifest["database"].get("engine", ""))
    database_url = _check_database(engine_name, database_url)
    store = _check_store(store_url) if store_url else None
    from_backup = not trust_roots
    roots = list(trust_roots) or [
        _blob(folder, by_name[(r["area"], r["name"])]) for r in _root_refs(manifest, by_name, path)
    ]
    verdict = _verdict(body, _read_file(path / SIGNATURE), roots, path)
    if not verdict.valid:
        raise EngineError(
            f"chữ ký của bản kê {path.name} không hợp lệ: " + "; ".join(verdict.problems),
            f"the signature of the manifest of {path.name} is not valid: "
            + "; ".join(verdict.problems_en),
            code="backup.signature_invalid",
            set=number,
        )
    for entry in entries:
        _check_blob(folder, entry)  # every hash checked before anything is written
    staging = home.parent / f".{home.name}.restoring-{uuid.uuid4().hex[:8]}"
    _make_folder(staging)
    try:
        _rebuild(folder, manifest, entries, staging, home, database_url, store_url, store)
        if home.exists():
            home.rmdir()  # empty, checked above
        os.rename(staging, home)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    seq = int(manifest["database"].get("audit_seq", 0))
    ws = open_workspace(load_settings(home, database_url=database_url, store_url=store_url))
    try:
        with transaction(ws.db) as session:
            audit.append(
                session,
                actor="system",
                event="backup_restored",
                detail={
                    "source": str(path),
                    "set": number,
                    "manifest_sha256": hashlib.sha256(body).hexdigest(),
                    "audit_seq": seq,
                    "signer": verdict.signer,
                },
            )
    finally:
        ws.db.dispose()
    objects = sum(1 for e in entries if e.area == "store")
    return RestoreResult(home, number, objects, seq, verdict.signer, verdict.timestamp, from_backup)


def read_roots(paths: Sequence[Path]) -> list[bytes]:
    """Trust roots given on the command line (PEM or DER files)."""
    roots = []
    for path in paths:
        try:
            roots.append(path.read_bytes())
        except OSError as exc:
            raise InvalidInput(
                f"không đọc được chứng thư gốc {path}: {exc.strerror or exc}",
                f"cannot read the root certificate {path}: {exc.strerror or exc}",
                code="restore.trust_unreadable",
                file=str(path),
            ) from exc
    return roots


def _locate(source: Path, number: int | None) -> tuple[Path, int]:
    source = source.expanduser().resolve()
    matched = _SET.fullmatch(source.name)
    if matched and (source / MANIFEST).exists():
        if number is not None and number != int(matched.group(1)):
            raise InvalidInput(
                f"{source} là bộ số {int(matched.group(1))}, không phải bộ số {number}",
                f"{source} is set {int(matched.group(1))}, not set {number}",
                code="backup.set_mismatch",
            )
        return source.parent, int(matched.group(1))
    numbers = complete_sets(source)
    if not numbers:
        raise NotFound(
            f"không có bộ sao lưu nào trong {source}",
            f"there is no backup set in {source}",
            code="backup.not_found",
            directory=str(source),
        )
    if number is None:
        return source, numbers[-1]
    if number not in numbers:
        raise NotFound(
            f"không có bộ sao lưu số {number} trong {source} (có: "
            + ", ".join(str(n) for n in numbers)
            + ")",
            f"there is no backup set {number} in {source} (there are: "
            + ", ".join(str(n) for n in numbers)
            + ")",
            code="backup.not_found",
            directory=str(source),
        )
    return source, number


def _check_target(home: Path) -> None:
    if home.exists() and (not home.is_dir() or any(home.iterdir())):
        raise Conflict(
            f"thư mục {home} không trống: chỉ khôi phục vào một thư mục mới hoặc trống",
            f"the folder {home} is not empty: a restore goes into a new or empty folder only",
            code="restore.target_not_empty",
            directory=str(home),
        )
    if not home.parent.is_dir():
        raise InvalidInput(
            f"không có thư mục {home.parent} để tạo {home.name}",
            f"there is no folder {home.parent} to create {home.name} in",
            code="restore.target_invalid",
            directory=str(home),
        )


def _check_database(engine_name: str, database_url: str) -> str:
    """The URL to restore into (empty: SQLite in the new folder), checked against the backup."""
    if engine_name == "sqlite":
        if database_url:
            raise InvalidInput(
                "bản sao lưu này là của SQLite: khôi phục vào tệp SQLite trong thư mục mới "
                "(bỏ --database-url)",
                "this backup is of SQLite: it restores into a SQLite file in the new folder "
                "(leave out --database-url)",
                code="restore.database_mismatch",
            )
        return ""
    if engine_name != "postgresql":
        raise InvalidInput(
            f"bản kê ghi loại cơ sở dữ liệu lạ: {engine_name!r}",
            f"the manifest names an unknown database type: {engine_name!r}",
            code="backup.manifest_unreadable",
        )
    if not database_url.startswith(("postgresql://", "postgresql+psycopg://")):
        raise InvalidInput(
            "bản sao lưu này là của PostgreSQL: cho biết một cơ sở dữ liệu PostgreSQL trống "
            "(--database-url postgresql://…)",
            "this backup is of PostgreSQL: name an empty PostgreSQL database "
            "(--database-url postgresql://…)",
            code="restore.database_url_required",
        )
    engine = make_engine(database_url)
    try:
        tables = inspect(engine).get_table_names()
    except Exception as exc:  # any driver error: the database cannot be reached
        shown = engine.url.render_as_string(hide_password=True)
        raise ConfigError(
            f"không kết nối được cơ sở dữ liệu {shown}: {' '.join(str(exc).split())[:300]}",
            f"cannot connect to the database {shown}: {' '.join(str(exc).split())[:300]}",
            code="database.unavailable",
            retryable=True,
        ) from exc
    finally:
        engine.dispose()
    if tables:
        raise Conflict(
            f"cơ sở dữ liệu {engine.url.render_as_string(hide_password=True)} không trống "
            f"({len(tables)} bảng): chỉ khôi phục vào một cơ sở dữ liệu trống",
            f"the database {engine.url.render_as_string(hide_password=True)} is not empty "
            f"({len(tables)} tables): a restore goes into an empty database only",
            code="restore.database_not_empty",
        )
    return database_url


def _check_store(store_url: str) -> ObjectStore:
    store = open_store(store_url)
    if next(iter(store.list_keys("")), None) is not None:
        raise Conflict(
            f"kho {store.url} không trống: chỉ khôi phục vào một kho trống",
            f"the store {store.url} is not empty: a restore goes into an empty store only",
            code="restore.store_not_empty",
        )
    return store


def _root_refs(
    manifest: Mapping[str, Any], by_name: Mapping[tuple[str, str], Entry], path: Path
) -> list[Mapping[str, str]]:
    refs = manifest.get("trust_roots") or []
    if not refs or any((r.get("area"), r.get("name")) not in by_name for r in refs):
        raise _unreadable(path, "thiếu gốc tin cậy", "the trust roots are missing")
    return list(refs)


def _rebuild(
    folder: Path,
    manifest: Mapping[str, Any],
    entries: Sequence[Entry],
    staging: Path,
    home: Path,
    database_url: str,
    store_url: str,
    store: ObjectStore | None,
) -> None:
    """Write everything into ``staging`` (the database and the store where the URLs say)."""
    for entry in entries:
        if entry.area == "pki":
            _write_file(staging / "pki" / _safe(entry.name), _blob(folder, entry), entry.mode)
        elif entry.area == "config":
            _write_file(staging / "config" / _safe(entry.name), _blob(folder, entry))
    _write_settings(staging, home, manifest, database_url, store_url)
    [database] = [e for e in entries if e.area == "database"]
    if database_url:
        dump = staging / f"database{PARTIAL}"
        _check_blob(folder, database, dump)
        url = make_url(database_url)
        _run(
            [
                _program("pg_restore"),
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                f"--dbname={_libpq_url(url)}",
                str(dump),
            ],
            url,
            what="pg_restore",
            code="restore.database_failed",
        )
        dump.unlink()
    else:
        _check_blob(folder, database, staging / "vanthu.db")
    target = store or open_store(str(staging / "store"))
    now = clock.now()
    for entry in entries:
        if entry.area != "store":
            continue
        until = datetime.fromisoformat(entry.retain_until) if entry.retain_until else None
        kind = "application/json" if entry.name.endswith(".json") else "application/octet-stream"
        target.create(
            entry.name,
            _blob(folder, entry),
            kind,
            retain_until=until if until is not None and until > now else None,
        )


def _write_settings(
    staging: Path,
    home: Path,
    manifest: Mapping[str, Any],
    database_url: str,
    store_url: str,
) -> None:
    """vanthu.toml for the new folder: the backed-up settings, the files they name moved in,
    the database and the store restored into."""
    known = set(Settings.model_fields) - set(_SETTINGS_MOVED)
    values = {k: v for k, v in dict(manifest.get("settings") or {}).items() if k in known}
    if database_url:
        values["database_url"] = database_url
    if store_url:
        values["store_url"] = store_url
    roots = values.pop("trust_roots", None)
    if roots:
        values["trust_roots"] = [
            str(home / ("pki" if r["area"] == "pki" else "config") / _safe(r["name"]))
            for r in roots
        ]
    if values.get("retention_file"):
        values["retention_file"] = str(home / "config" / _safe(values["retention_file"]))
    if values.get("workflows_dir"):
        values["workflows_dir"] = str(home / "config" / _safe(values["workflows_dir"]))
    lines = ["# Cấu hình Vanthu, khôi phục từ bản sao lưu. Biến môi trường VANTHU_* được ưu tiên."]
    lines += [
        f"{key} = {json.dumps(value, ensure_ascii=False)}"
        for key, value in sorted(values.items())
        if value is not None
    ]
    _write_file(staging / CONFIG_FILE, ("\n".join(lines) + "\n").encode("utf-8"))


def _safe(name: str) -> Path:
    """A relative path from a manifest, refused if it would leave its folder."""
    relative = Path(name)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise InvalidInput(
            f"bản kê có đường dẫn không hợp lệ: {name!r}",
            f"the manifest holds an invalid path: {name!r}",
            code="backup.manifest_unreadable",
        )
    return relative


# --- Reading and writing the backup folder ---------------------------------------------------


def _manifest(body: bytes, path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _unreadable(path, "không phải JSON", "it is not JSON") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _unreadable(path, f"không phải bản kê {FORMAT}", f"it is not a {FORMAT} manifest")
    shapes = {"database": dict, "settings": dict, "trust_roots": list, "entries": list}
    for name, shape in shapes.items():
        if not isinstance(manifest.get(name), shape):
            raise _unreadable(path, f"thiếu mục '{name}'", f"the part '{name}' is missing")
    if not all(isinstance(r, dict) for r in manifest["trust_roots"]):
        raise _unreadable(path, "mục 'trust_roots' sai dạng", "the part 'trust_roots' is wrong")
    return manifest


def _entries(manifest: Mapping[str, Any]) -> list[Entry]:
    try:
        entries = [Entry.from_json(value) for value in manifest["entries"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(
            f"bản kê sao lưu hỏng: {exc}",
            f"the backup manifest is broken: {exc}",
            code="backup.manifest_unreadable",
        ) from exc
    if sum(e.area == "database" for e in entries) != 1:
        raise InvalidInput(
            "bản kê sao lưu không có đúng một cơ sở dữ liệu",
            "the backup manifest does not hold exactly one database",
            code="backup.manifest_unreadable",
        )
    return entries


def _unreadable(path: Path, why: str, why_en: str) -> InvalidInput:
    return InvalidInput(
        f"bản kê sao lưu {path / MANIFEST} không đọc được: {why}",
        f"the backup manifest {path / MANIFEST} cannot be read: {why_en}",
        code="backup.manifest_unreadable",
        file=str(path / MANIFEST),
    )


def _verdict(body: bytes, signature: bytes, roots: Sequence[bytes], path: Path) -> DetachedVerdict:
    try:
        return verify_bytes(body, signature, trust_roots=roots)
    except VanthuError as exc:
        raise EngineError(
            f"chữ ký của bản kê {path.name} không đọc được: {exc}",
            f"the signature of the manifest of {path.name} cannot be read: {exc.english}",
            code="backup.signature_invalid",
        ) from exc


def _blob_path(set_path: Path, sha256: str) -> Path:
    return set_path / BLOBS / sha256[:2] / sha256


def _blob_intact_size(folder: Path, entry: Entry) -> bool:
    """Whether the set holding ``entry`` still has a file of its size (a cheap look)."""
    path = _blob_path(folder / f"set-{entry.holder:04d}", entry.sha256)
    try:
        return path.stat().st_size == entry.size
    except OSError:
        return False


def _blob(folder: Path, entry: Entry) -> bytes:
    """The bytes of ``entry``, checked against the manifest (see :func:`_check_blob`)."""
    path = _blob_path(folder / f"set-{entry.holder:04d}", entry.sha256)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _blob_missing(entry) from exc
    if len(data) != entry.size or hashlib.sha256(data).hexdigest() != entry.sha256:
        raise _blob_altered(entry)
    return data


def _check_blob(folder: Path, entry: Entry, copy_to: Path | None = None) -> None:
    """Read the bytes of ``entry`` in pieces and check them against the manifest, copying them
    to ``copy_to`` on the way (put in place only when they match); the one line naming the
    object when they are missing or changed."""
    path = _blob_path(folder / f"set-{entry.holder:04d}", entry.sha256)
    digest, size = hashlib.sha256(), 0
    temporary = copy_to.with_name(f".{copy_to.name}.tmp") if copy_to is not None else None
    try:
        with contextlib.ExitStack() as stack:
            source = stack.enter_context(path.open("rb"))
            out = None
            if temporary is not None:
                fd = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, _FILE_MODE)
                out = stack.enter_context(open(fd, "wb"))
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                if out is not None:
                    out.write(chunk)
            if out is not None:
                out.flush()
                os.fsync(out.fileno())
    except FileNotFoundError as exc:
        raise _blob_missing(entry) from exc
    except OSError as exc:
        if temporary is not None and temporary.exists():
            temporary.unlink()
        raise _unwritable(copy_to or path, exc) from exc
    if size != entry.size or digest.hexdigest() != entry.sha256:
        if temporary is not None:
            temporary.unlink()
        raise _blob_altered(entry)
    if temporary is not None and copy_to is not None:
        os.replace(temporary, copy_to)


def _blob_missing(entry: Entry) -> EngineError:
    return EngineError(
        f"bản sao lưu thiếu {entry.shown} (bộ {entry.holder:04d})",
        f"the backup lacks {entry.area}: {entry.name} (set {entry.holder:04d})",
        code="backup.object_missing",
        object=entry.name,
        set=entry.holder,
    )


def _blob_altered(entry: Entry) -> EngineError:
    return EngineError(
        f"bản sao lưu đã bị sửa: {entry.shown} (bộ {entry.holder:04d}) không khớp mã SHA-256 "
        "trong bản kê đã ký",
        f"the backup was altered: {entry.area}: {entry.name} (set {entry.holder:04d}) does "
        "not match the SHA-256 in the signed manifest",
        code="backup.object_tampered",
        object=entry.name,
        set=entry.holder,
    )


def _kept_folders(ws: Workspace) -> list[Path]:
    """What a backup copies from folders: a backup inside one of them would copy itself."""
    kept = [ws.settings.effective_pki_dir.resolve()]
    url = ws.settings.effective_store_url
    if "://" not in url or url.startswith("file://"):
        kept.append(Path(unquote(urlsplit(url).path if "://" in url else url)).resolve())
    return kept


def _backup_folder(target: Path, kept: Sequence[Path]) -> Path:
    target = target.expanduser().resolve()
    inside = next((folder for folder in kept if target.is_relative_to(folder)), None)
    if inside is not None:
        raise InvalidInput(
            f"thư mục sao lưu {target} nằm trong {inside}, nơi được sao lưu: chọn thư mục khác",
            f"the backup folder {target} is inside {inside}, which is backed up: choose another",
            code="backup.target_invalid",
            directory=str(target),
        )
    try:
        target.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(
            f"không dùng được thư mục sao lưu {target}: {exc.strerror or exc}",
            f"the backup folder {target} cannot be used: {exc.strerror or exc}",
            code="backup.target_invalid",
            directory=str(target),
        ) from exc
    return target


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One backup at a time into a folder."""
    handle = os.open(folder / LOCK, os.O_CREAT | os.O_RDWR, _FILE_MODE)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise Conflict(
                f"đang có một lần sao lưu khác vào {folder}: chờ nó xong",
                f"another backup into {folder} is running: wait for it to finish",
                code="backup.busy",
                directory=str(folder),
            ) from exc
        yield
    finally:
        os.close(handle)


def _make_folder(path: Path) -> None:
    try:
        path.mkdir(mode=_DIR_MODE)
    except OSError as exc:
        raise _unwritable(path, exc) from exc


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise EngineError(
            f"không đọc được {path}: {exc.strerror or exc}",
            f"cannot read {path}: {exc.strerror or exc}",
            code="backup.file_unreadable",
            file=str(path),
        ) from exc


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def _write_file(path: Path, data: bytes, mode: int | None = None) -> None:
    """Written whole (a temporary file synced, then renamed), for its owner only."""
    try:
        path.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
        with open(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, _FILE_MODE), "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as exc:
        raise _unwritable(path, exc) from exc


def _sync_folder(path: Path) -> None:
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _unwritable(path: Path, exc: OSError) -> EngineError:
    return EngineError(
        f"không ghi được {path}: {exc.strerror or exc}",
        f"cannot write {path}: {exc.strerror or exc}",
        code="backup.write_failed",
        file=str(path),
    )
