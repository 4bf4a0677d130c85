"""Archive records: objects content-addressed, then a manifest JSON that names them.

The manifest is written last, so a crash never leaves one pointing at missing objects, and the
store alone holds enough to rebuild the database index.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from storage._content import content_key, put_content
from storage._errors import ObjectNotFound, StorageError
from storage._keys import check_key
from storage._open import ObjectStore

_PREFIX = "records/"


@dataclass(frozen=True)
class ObjectRef:
    """One object of a record."""

    role: str
    """What it is to the record: 'pdf', 'source', 'attachment-1'."""
    name: str
    """File name shown to users."""
    sha256: str
    size: int
    content_type: str


@dataclass(frozen=True)
class NewObject:
    """An object to archive."""

    role: str
    name: str
    data: bytes
    content_type: str


@dataclass(frozen=True)
class RecordManifest:
    """An archived record: its objects and metadata."""

    record_id: str
    created_at: datetime
    objects: tuple[ObjectRef, ...]
    metadata: Mapping[str, Any]

    def to_json(self) -> bytes:
        data = {
            "record_id": self.record_id,
            "created_at": self.created_at.isoformat(),
            "objects": [ref.__dict__ for ref in self.objects],
            "metadata": dict(self.metadata),
        }
        return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> RecordManifest:
        try:
            raw = json.loads(data.decode("utf-8"))
            return cls(
                record_id=raw["record_id"],
                created_at=datetime.fromisoformat(raw["created_at"]),
                objects=tuple(ObjectRef(**ref) for ref in raw["objects"]),
                metadata=raw["metadata"],
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise StorageError(f"tệp mô tả bản lưu hỏng: {exc}") from exc


def _manifest_key(record_id: str) -> str:
    return check_key(f"{_PREFIX}{record_id}.json")


def write_record(
    store: ObjectStore, record_id: str, objects: Sequence[NewObject], metadata: Mapping[str, Any]
) -> RecordManifest:
    """Archive once: the same objects again return the record; different ones are refused."""
    key = _manifest_key(record_id)
    refs = tuple(
        ObjectRef(o.role, o.name, hashlib.sha256(o.data).hexdigest(), len(o.data), o.content_type)
        for o in objects
    )
    if store.exists(key):
        existing = read_record(store, record_id)
        if [r.sha256 for r in existing.objects] == [r.sha256 for r in refs]:
            return existing
        raise StorageError(
            "bản lưu đã có với nội dung khác; bản lưu không bao giờ bị ghi đè", key=key
        )
    for item in objects:
        put_content(store, item.data, item.content_type)
    manifest = RecordManifest(record_id, datetime.now(UTC), refs, dict(metadata))
    store.put(key, manifest.to_json(), "application/json")
    return manifest


def read_record(store: ObjectStore, record_id: str) -> RecordManifest:
    return RecordManifest.from_json(store.get(_manifest_key(record_id)))


def list_records(store: ObjectStore) -> Iterator[str]:
    for key in store.list_keys(_PREFIX):
        if key.endswith(".json"):
            yield key[len(_PREFIX) : -len(".json")]


def check_record(store: ObjectStore, record_id: str) -> tuple[str, ...]:
    """What is wrong with a record's objects, in Vietnamese; empty when intact."""
    problems = []
    for ref in read_record(store, record_id).objects:
        try:
            data = store.get(content_key(ref.sha256))
        except ObjectNotFound:
            problems.append(f"{record_id}: thiếu tệp '{ref.name}' ({ref.role})")
            continue
        if hashlib.sha256(data).hexdigest() != ref.sha256:
            problems.append(f"{record_id}: tệp '{ref.name}' ({ref.role}) đã bị thay đổi")
    return tuple(problems)
