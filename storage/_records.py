"""Archive records: objects content-addressed, then a manifest JSON that names them.

The manifest is written last, so a crash never leaves one pointing at missing objects, and the
store alone holds enough to rebuild the database index.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from storage._content import content_key, put_content
from storage._errors import ObjectNotFound, StorageError
from storage._keys import check_key
from storage._store import ObjectStore

_PREFIX = "records/"
_SUFFIX = ".json"


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
    """An archived record: its objects and metadata, stored as 'records/<record_id>.json'."""

    record_id: str
    """Stable identifier, also the manifest's key."""
    created_at: datetime
    """When it was archived (UTC)."""
    objects: tuple[ObjectRef, ...]
    """The record's objects, in the order they were given."""
    metadata: Mapping[str, Any]
    """Descriptive fields (number, subject, signer…), JSON values."""

    def to_json(self) -> bytes:
        """UTF-8 JSON a person can read: Vietnamese as is, keys sorted, indented."""
        data = {
            "record_id": self.record_id,
            "created_at": self.created_at.isoformat(),
            "objects": [asdict(ref) for ref in self.objects],
            "metadata": dict(self.metadata),
        }
        try:
            text = json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2)
        except (TypeError, ValueError) as exc:
            problem = f"bản lưu {self.record_id}: siêu dữ liệu không ghi được thành JSON: {exc}"
            raise StorageError(problem) from exc
        return text.encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> RecordManifest:
        try:
            raw = json.loads(data.decode("utf-8"))
            manifest = cls(
                record_id=raw["record_id"],
                created_at=datetime.fromisoformat(raw["created_at"]),
                objects=tuple(ObjectRef(**ref) for ref in raw["objects"]),
                metadata=raw["metadata"],
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise StorageError(f"tệp mô tả bản lưu hỏng: {type(exc).__name__}: {exc}") from exc
        if manifest.created_at.tzinfo is None:
            raise StorageError(f"tệp mô tả bản lưu {manifest.record_id}: thời điểm thiếu múi giờ")
        return manifest


def _manifest_key(record_id: str) -> str:
    return check_key(f"{_PREFIX}{record_id}{_SUFFIX}")


def _refs(objects: Sequence[NewObject]) -> tuple[ObjectRef, ...]:
    roles = [item.role for item in objects]
    repeated = sorted({role for role in roles if roles.count(role) > 1})
    if repeated:
        raise StorageError(f"một bản lưu không có hai tệp cùng vai trò: {', '.join(repeated)}")
    return tuple(
        ObjectRef(o.role, o.name, hashlib.sha256(o.data).hexdigest(), len(o.data), o.content_type)
        for o in objects
    )


def _same_objects(a: Sequence[ObjectRef], b: Sequence[ObjectRef]) -> bool:
    return [(r.role, r.sha256) for r in a] == [(r.role, r.sha256) for r in b]


def write_record(
    store: ObjectStore, record_id: str, objects: Sequence[NewObject], metadata: Mapping[str, Any]
) -> RecordManifest:
    """Archive once: the same objects again return the stored record; different ones are refused.

    A retried archive step therefore never duplicates or rewrites a record.
    """
    key = _manifest_key(record_id)
    refs = _refs(objects)
    if store.exists(key):
        existing = read_record(store, record_id)
        if _same_objects(existing.objects, refs):
            return existing
        raise StorageError(
            f"bản lưu {record_id} đã có với nội dung khác; bản lưu không bao giờ bị ghi đè", key=key
        )
    manifest = RecordManifest(record_id, datetime.now(UTC), refs, dict(metadata))
    body = manifest.to_json()  # refuse bad metadata before writing anything
    for item in objects:
        put_content(store, item.data, item.content_type)
    store.put(key, body, "application/json")
    return manifest


def read_record(store: ObjectStore, record_id: str) -> RecordManifest:
    """The manifest; ObjectNotFound when there is no such record."""
    manifest = RecordManifest.from_json(store.get(_manifest_key(record_id)))
    if manifest.record_id != record_id:
        raise StorageError(
            f"tệp mô tả bản lưu {record_id} lại ghi mã {manifest.record_id!r}",
            key=_manifest_key(record_id),
        )
    return manifest


def list_records(store: ObjectStore) -> Iterator[str]:
    for key in store.list_keys(_PREFIX):
        if key.endswith(_SUFFIX):
            yield key[len(_PREFIX) : -len(_SUFFIX)]


def check_record(store: ObjectStore, record_id: str) -> tuple[str, ...]:
    """What is wrong with a record's objects, in Vietnamese, one line each; empty when intact.

    Raises ObjectNotFound when the record itself does not exist.
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
    return tuple(problems)
