"""Archive records: objects content-addressed, then a manifest JSON that names them.

The manifest is written last, so a crash never leaves one pointing at missing objects, and the
store alone holds enough to rebuild the database index. Before the objects, the manifest as it
will be goes to 'pending/<record_id>.json' (no retention): a crash between the objects and the
manifest leaves that note, and a retry finishes the record from it with the objects already
written (``pending_record``, ``finish_pending``) instead of locking a second set for ever.

A record is never rewritten. Its first manifest is 'records/<record_id>.json', written
create-only (of two processes archiving the same record at once exactly one writes it). A
change (a refreshed signature, a case file, corrected metadata) is a new revision,
'revisions/<record_id>/<NNNNNN>.json' with its number, time and reason; earlier manifests and
their objects stay.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Container, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from storage._content import content_key, first_version, put_content_version, read_hidden
from storage._errors import ObjectExists, ObjectNotFound, StorageError
from storage._keys import check_key
from storage._retention import normalise
from storage._store import ObjectStore
from vanthu import clock
from vanthu.errors import Kind

_PREFIX = "records/"
_SUFFIX = ".json"
_REVISIONS = "revisions/"
_PENDING = "pending/"
_REVISION_DIGITS = 6
_RACE_ATTEMPTS = 5


@dataclass(frozen=True)
class ObjectRef:
    """One archived object of a record, as its manifest names it."""

    role: str
    """What it is to the record: 'pdf', 'source', 'attachment-1'."""
    name: str
    """File name shown to users."""
    sha256: str
    """Hex SHA-256 of the content; also its address in the store."""
    size: int
    """Bytes."""
    content_type: str
    """MIME type, e.g. 'application/pdf'."""
    version_id: str | None = field(default=None, compare=False)
    """The store's version holding it when the record was written (S3); None on a store
    without versions. Reads ask for it, so a delete marker or a newer version put over the key
    past the store changes nothing. Where the bytes are, not what they are: records that differ
    only here are the same record."""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if self.version_id is None:
            del data["version_id"]  # the folder store's manifests stay as they were
        return data


@dataclass(frozen=True)
class NewObject:
    """An object to archive with a record."""

    role: str
    """What it is to the record: 'pdf', 'source', 'attachment-1'."""
    name: str
    """File name shown to users."""
    data: bytes
    """The content."""
    content_type: str
    """MIME type, e.g. 'application/pdf'."""


@dataclass(frozen=True)
class RecordManifest:
    """An archived record (one revision of it): its objects and metadata."""

    record_id: str
    """Stable identifier, also the manifest's key."""
    created_at: datetime
    """When the record was first archived (UTC); the same in every revision."""
    objects: tuple[ObjectRef, ...]
    """The record's objects, in the order they were given."""
    metadata: Mapping[str, Any]
    """Descriptive fields (number, subject, signer…), JSON values."""
    revision: int = 1
    """1 for the record as first archived, then 2, 3…"""
    revised_at: datetime | None = None
    """When this revision was written (UTC); None for revision 1."""
    reason: str | None = None
    """Why this revision was made; None for revision 1."""
    retain_until: datetime | None = None
    """The retention date its objects were written with (UTC), None when none."""

    def to_json(self) -> bytes:
        """UTF-8 JSON a person can read: Vietnamese as is, keys sorted, indented."""
        data = {
            "record_id": self.record_id,
            "created_at": self.created_at.isoformat(),
            "objects": [ref.to_json() for ref in self.objects],
            "metadata": dict(self.metadata),
            "revision": self.revision,
            "revised_at": _iso(self.revised_at),
            "reason": self.reason,
            "retain_until": _iso(self.retain_until),
        }
        try:
            text = json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2)
        except (TypeError, ValueError) as exc:
            raise StorageError(
                f"bản lưu {self.record_id}: siêu dữ liệu không ghi được thành JSON: {exc}",
                f"record {self.record_id}: its metadata cannot be written as JSON: {exc}",
                code="storage.record.metadata",
                kind=Kind.INVALID,
                record_id=self.record_id,
            ) from exc
        return text.encode("utf-8")

    @property
    def digest(self) -> str:
        """SHA-256 of the manifest as written (``to_json``): what the audit log records."""
        return hashlib.sha256(self.to_json()).hexdigest()

    def without_versions(self) -> RecordManifest:
        """The same record with no store's version ids (for another store)."""
        return replace(self, objects=tuple(replace(r, version_id=None) for r in self.objects))

    @classmethod
    def from_json(cls, data: bytes) -> RecordManifest:
        try:
            raw = json.loads(data.decode("utf-8"))
            manifest = cls(
                record_id=raw["record_id"],
                created_at=datetime.fromisoformat(raw["created_at"]),
                objects=tuple(ObjectRef(**ref) for ref in raw["objects"]),
                metadata=raw["metadata"],
                revision=int(raw.get("revision", 1)),
                revised_at=_parse(raw.get("revised_at")),
                reason=raw.get("reason"),
                retain_until=_parse(raw.get("retain_until")),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StorageError(
                f"tệp mô tả bản lưu hỏng: {type(exc).__name__}: {exc}",
                f"damaged record manifest: {type(exc).__name__}: {exc}",
                code="storage.record.damaged",
            ) from exc
        stamps = (manifest.created_at, manifest.revised_at, manifest.retain_until)
        if any(stamp is not None and stamp.tzinfo is None for stamp in stamps):
            raise StorageError(
                f"tệp mô tả bản lưu {manifest.record_id}: thời điểm thiếu múi giờ",
                f"record manifest {manifest.record_id}: a time without a time zone",
                code="storage.record.damaged",
                record_id=manifest.record_id,
            )
        return manifest


def _iso(stamp: datetime | None) -> str | None:
    return None if stamp is None else stamp.isoformat()


def _parse(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _manifest_key(record_id: str) -> str:
    return check_key(f"{_PREFIX}{record_id}{_SUFFIX}")


def _revision_key(record_id: str, revision: int) -> str:
    return check_key(f"{_REVISIONS}{record_id}/{revision:0{_REVISION_DIGITS}d}{_SUFFIX}")


def manifest_key(record_id: str, revision: int = 1) -> str:
    """Where revision ``revision`` of the record's manifest is kept."""
    return _manifest_key(record_id) if revision == 1 else _revision_key(record_id, revision)


def _pending_key(record_id: str) -> str:
    return check_key(f"{_PENDING}{record_id}{_SUFFIX}")


def _ref(item: NewObject) -> ObjectRef:
    sha = hashlib.sha256(item.data).hexdigest()
    return ObjectRef(item.role, item.name, sha, len(item.data), item.content_type)


def _refs(objects: Sequence[NewObject]) -> tuple[ObjectRef, ...]:
    roles = [item.role for item in objects]
    repeated = sorted({role for role in roles if roles.count(role) > 1})
    if repeated:
        raise StorageError(
            f"một bản lưu không có hai tệp cùng vai trò: {', '.join(repeated)}",
            f"a record has no two files with the same role: {', '.join(repeated)}",
            code="storage.record.duplicate_role",
            kind=Kind.INVALID,
            roles=repeated,
        )
    return tuple(_ref(item) for item in objects)


def _same_objects(a: Sequence[ObjectRef], b: Sequence[ObjectRef]) -> bool:
    return [(r.role, r.sha256) for r in a] == [(r.role, r.sha256) for r in b]


def write_record(
    store: ObjectStore,
    record_id: str,
    objects: Sequence[NewObject],
    metadata: Mapping[str, Any],
    *,
    retain_until: datetime | None = None,
) -> RecordManifest:
    """Archive once: the same objects again return the stored record; different ones are refused.

    A retried archive step therefore never duplicates or rewrites a record, and two processes
    archiving it at the same instant cannot both write it (the manifest is created only if
    absent). With ``retain_until`` every object and the manifest are kept at least that long.
    The manifest names the version of each object the store wrote (S3), for reads.
    """
    key = _manifest_key(record_id)
    refs = _refs(objects)
    if store.exists(key):
        return _same_or_refuse(store, record_id, refs)
    until = normalise(retain_until) if retain_until is not None else None
    manifest = RecordManifest(record_id, clock.now(), refs, dict(metadata), retain_until=until)
    body = manifest.to_json()  # refuse bad metadata before writing anything
    store.put(_pending_key(record_id), body, "application/json")
    versions = {}
    for item in objects:
        sha, versions[sha] = put_content_version(
            store, item.data, item.content_type, retain_until=until
        )
    return _create_manifest(store, manifest, versions)


def _create_manifest(
    store: ObjectStore, manifest: RecordManifest, versions: Mapping[str, str | None]
) -> RecordManifest:
    """Create revision 1 naming each object's version, then drop the pending note."""
    refs = tuple(replace(ref, version_id=versions.get(ref.sha256)) for ref in manifest.objects)
    manifest = replace(manifest, objects=refs)
    try:
        store.create(
            _manifest_key(manifest.record_id),
            manifest.to_json(),
            "application/json",
            retain_until=manifest.retain_until,
        )
    except ObjectExists:
        return _same_or_refuse(store, manifest.record_id, refs)
    _drop_pending(store, manifest.record_id)
    return manifest


def _drop_pending(store: ObjectStore, record_id: str) -> None:
    with contextlib.suppress(ObjectNotFound):
        store.delete(_pending_key(record_id))


@dataclass(frozen=True)
class PendingRecord:
    """A record whose writing stopped between its objects and its manifest."""

    manifest: RecordManifest
    """The manifest as the interrupted write meant it (no version ids yet)."""
    present: tuple[ObjectRef, ...]
    """Its objects already in the store, their content checked."""

    @property
    def complete(self) -> bool:
        """Every object is there: only the manifest is missing."""
        return len(self.present) == len(self.manifest.objects)


def pending_record(store: ObjectStore, record_id: str) -> PendingRecord | None:
    """The interrupted write of ``record_id``, if one left its note and no manifest."""
    if store.exists(_manifest_key(record_id)):
        return None
    try:
        manifest = RecordManifest.from_json(store.get(_pending_key(record_id)))
    except ObjectNotFound:
        return None
    if manifest.record_id != record_id:
        return None  # not this record's note: ignored, never trusted
    present = []
    for ref in manifest.objects:
        key = content_key(ref.sha256)
        try:
            data = store.get(key)
        except ObjectNotFound:
            continue
        if hashlib.sha256(data).hexdigest() == ref.sha256:
            present.append(ref)
    return PendingRecord(manifest, tuple(present))


def pending_records(store: ObjectStore) -> Iterator[RecordManifest]:
    """Every pending note in the store (records whose write has not finished)."""
    for key in store.list_keys(_PENDING):
        if key.endswith(_SUFFIX):
            try:
                yield RecordManifest.from_json(store.get(key))
            except (ObjectNotFound, StorageError):
                continue


def finish_pending(store: ObjectStore, pending: PendingRecord) -> RecordManifest:
    """Write the manifest of an interrupted record whose objects are all in the store; they
    are kept as the record meant (retention extended if need be), not written again."""
    if not pending.complete:
        missing = [r.name for r in pending.manifest.objects if r not in pending.present]
        raise StorageError(
            f"bản lưu {pending.manifest.record_id}: chưa đủ tệp để hoàn tất ({', '.join(missing)})",
            f"record {pending.manifest.record_id}: files are missing to finish it"
            f" ({', '.join(missing)})",
            code="storage.record.pending_incomplete",
            kind=Kind.CONFLICT,
            record_id=pending.manifest.record_id,
        )
    until = pending.manifest.retain_until
    versions = {}
    for ref in pending.manifest.objects:
        key = content_key(ref.sha256)
        if until is not None:
            current = store.retention(key)
            if current is None or current < until:
                store.extend_retention(key, until)
        versions[ref.sha256] = first_version(store, key)
    return _create_manifest(store, pending.manifest, versions)


def _same_or_refuse(
    store: ObjectStore, record_id: str, refs: tuple[ObjectRef, ...]
) -> RecordManifest:
    existing = read_record(store, record_id, revision=1)
    if _same_objects(existing.objects, refs):
        _drop_pending(store, record_id)  # a crash after the manifest left the note behind
        return read_record(store, record_id)
    raise StorageError(
        f"bản lưu {record_id} đã có với nội dung khác; bản lưu không bao giờ bị ghi đè"
        " (thay đổi thì tạo một phiên bản mới)",
        f"record {record_id} already exists with other content; a record is never overwritten"
        " (for a change, write a new revision)",
        code="storage.record.exists",
        kind=Kind.CONFLICT,
        key=_manifest_key(record_id),
        record_id=record_id,
    )


def revise_record(
    store: ObjectStore,
    record_id: str,
    *,
    objects: Sequence[NewObject] = (),
    metadata: Mapping[str, Any] | None = None,
    reason: str,
) -> RecordManifest:
    """Write a new revision of an archived record and return it; earlier ones stay as they are.

    ``objects`` replace the newest revision's object with the same role (its slot: 'pdf',
    'source'…) or are added after them; ``metadata`` is merged over the newest revision's
    (keys given replace, others stay). The revision keeps the record's retention date. Two
    revisions written at once both succeed, numbered one after the other.
    """
    if not reason.strip():
        raise StorageError(
            f"bản lưu {record_id}: phiên bản mới phải ghi lý do",
            f"record {record_id}: a new revision must give a reason",
            code="storage.record.reason_missing",
            kind=Kind.INVALID,
            record_id=record_id,
        )
    new_refs = _refs(objects)
    for _ in range(_RACE_ATTEMPTS):
        current = read_record(store, record_id)
        by_role = {ref.role: ref for ref in new_refs}
        kept = tuple(by_role.pop(ref.role, ref) for ref in current.objects)
        merged = {**current.metadata, **(metadata or {})}
        revision = replace(
            current,
            objects=kept + tuple(by_role.values()),
            metadata=merged,
            revision=current.revision + 1,
            revised_at=clock.now(),
            reason=reason.strip(),
        )
        revision.to_json()  # refuse bad metadata before writing anything
        versions = {}
        for item in objects:
            sha, versions[sha] = put_content_version(
                store, item.data, item.content_type, retain_until=current.retain_until
            )
        revision = replace(
            revision,
            objects=tuple(
                replace(ref, version_id=versions[ref.sha256]) if ref.sha256 in versions else ref
                for ref in revision.objects
            ),
        )
        try:
            store.create(
                _revision_key(record_id, revision.revision),
                revision.to_json(),
                "application/json",
                retain_until=current.retain_until,
            )
        except ObjectExists:
            continue  # another revision took this number; build on it
        return revision
    raise StorageError(
        f"bản lưu {record_id}: không ghi được phiên bản mới vì nhiều nơi cùng sửa; thử lại",
        f"record {record_id}: no new revision written because several writers revise it at"
        " once; try again",
        code="storage.record.contention",
        retryable=True,
        record_id=record_id,
    )


def _revision_numbers(store: ObjectStore, record_id: str) -> list[int]:
    prefix = f"{_REVISIONS}{check_key(record_id)}/"
    numbers = []
    for key in store.list_keys(prefix):
        stem = key[len(prefix) :].removesuffix(_SUFFIX)
        if stem.isdigit() and len(stem) == _REVISION_DIGITS and key.endswith(_SUFFIX):
            numbers.append(int(stem))
    return sorted(numbers)


def read_record(
    store: ObjectStore, record_id: str, *, revision: int | None = None
) -> RecordManifest:
    """The newest revision of the record, or revision ``revision``; ObjectNotFound when there
    is no such record or revision."""
    if revision is None:
        numbers = _revision_numbers(store, record_id)
        revision = numbers[-1] if numbers else 1
    key = _manifest_key(record_id) if revision == 1 else _revision_key(record_id, revision)
    if revision < 1:
        raise ObjectNotFound(
            f"bản lưu {record_id} không có phiên bản {revision}",
            f"record {record_id} has no revision {revision}",
            code="storage.record.not_found",
            key=key,
            record_id=record_id,
            revision=revision,
        )
    try:
        manifest = RecordManifest.from_json(store.get(key))
    except ObjectNotFound as exc:
        what = f"bản lưu {record_id}" + ("" if revision == 1 else f" phiên bản {revision}")
        what_en = f"record {record_id}" + ("" if revision == 1 else f" revision {revision}")
        raise ObjectNotFound(
            f"không tìm thấy {what} trong kho",
            f"{what_en} not found in the store",
            code="storage.record.not_found",
            key=key,
            record_id=record_id,
            revision=revision,
        ) from exc
    if manifest.record_id != record_id or manifest.revision != revision:
        raise StorageError(
            f"tệp mô tả bản lưu {record_id} (phiên bản {revision}) lại ghi mã"
            f" {manifest.record_id!r}, phiên bản {manifest.revision}",
            f"the manifest of record {record_id} (revision {revision}) names"
            f" {manifest.record_id!r}, revision {manifest.revision}",
            code="storage.record.mismatch",
            key=key,
            record_id=record_id,
            revision=revision,
        )
    return manifest


def list_revisions(store: ObjectStore, record_id: str) -> tuple[RecordManifest, ...]:
    """Every revision of the record, oldest first; ObjectNotFound when there is no record."""
    first = read_record(store, record_id, revision=1)
    later = (read_record(store, record_id, revision=n) for n in _revision_numbers(store, record_id))
    return (first, *later)


def every_manifest(store: ObjectStore, *, skip: Container[str] = ()) -> Iterator[RecordManifest]:
    """Every manifest in the store, each revision of each record (but those of ``skip``), those
    hidden by a delete marker too; one that cannot be read is passed over (``check_record``
    and the engine's check name it)."""
    keys = [*store.list_keys(_PREFIX), *store.list_keys(_REVISIONS)]
    hidden = [*store.hidden_keys(_PREFIX), *store.hidden_keys(_REVISIONS)]
    for key in sorted({*keys, *hidden}, key=str.encode):
        if _record_of(key) in skip or _record_of(key) is None:
            continue
        try:
            data = store.get(key) if key in keys else read_hidden(store, key)
            if data is not None:
                yield RecordManifest.from_json(data)
        except StorageError:
            continue


def _record_of(key: str) -> str | None:
    if key.startswith(_PREFIX) and key.endswith(_SUFFIX):
        return key[len(_PREFIX) : -len(_SUFFIX)]
    if key.startswith(_REVISIONS):
        return key[len(_REVISIONS) :].partition("/")[0]
    return None


def list_records(store: ObjectStore) -> Iterator[str]:
    for key in store.list_keys(_PREFIX):
        if key.endswith(_SUFFIX):
            yield key[len(_PREFIX) : -len(_SUFFIX)]


def extend_record_retention(store: ObjectStore, record_id: str, until: datetime) -> None:
    """Keep every object and manifest of every revision of the record at least until ``until``
    (for 'vĩnh viễn' written as the longest a server allows, extended as time goes by)."""
    until = normalise(until)
    revisions = list_revisions(store, record_id)
    keys = {content_key(ref.sha256) for manifest in revisions for ref in manifest.objects}
    keys.add(_manifest_key(record_id))
    keys.update(_revision_key(record_id, m.revision) for m in revisions if m.revision > 1)
    for key in sorted(keys):
        current = store.retention(key)
        if current is None or current < until:
            store.extend_retention(key, until)


def check_record(store: ObjectStore, record_id: str) -> tuple[str, ...]:
    """What is wrong with the newest revision's objects, in Vietnamese, one line each (the
    record, the file name, its role and hash, missing or changed); empty when intact.

    Every object is read and hashed again. Raises ObjectNotFound when the record does not exist.
    """
    problems = []
    for ref in read_record(store, record_id).objects:
        label = f"{record_id}: tệp '{ref.name}' ({ref.role}, sha256 {ref.sha256[:12]}…)"
        try:
            data = store.get(content_key(ref.sha256))
        except ObjectNotFound:
            problems.append(f"{label} bị thiếu trong kho")
            continue
        if hashlib.sha256(data).hexdigest() != ref.sha256:
            problems.append(f"{label} đã bị thay đổi: nội dung không khớp mã SHA-256")
        elif len(data) != ref.size:
            problems.append(f"{label} có kích thước {len(data)} byte, tệp mô tả ghi {ref.size}")
    return tuple(problems)


def check_store(store: ObjectStore) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Every record in the store with its problems (empty when intact), in record order.

    A manifest that cannot be read is a problem of its record, not an exception, so one bad
    record never stops a check of the whole archive.
    """
    for record_id in list_records(store):
        try:
            yield record_id, check_record(store, record_id)
        except StorageError as exc:
            yield record_id, (f"{record_id}: {exc}",)
