"""Object storage: one interface, a folder or any S3 API behind it; content-addressed records.

Nothing outside this package imports minio.
"""

from storage._content import content_key, get_content, put_content
from storage._errors import IntegrityError, ObjectNotFound, StorageError
from storage._open import open_store
from storage._records import (
    NewObject,
    ObjectRef,
    RecordManifest,
    check_record,
    list_records,
    read_record,
    write_record,
)
from storage._store import ObjectStore

__all__ = [
    "IntegrityError",
    "NewObject",
    "ObjectNotFound",
    "ObjectRef",
    "ObjectStore",
    "RecordManifest",
    "StorageError",
    "check_record",
    "content_key",
    "get_content",
    "list_records",
    "open_store",
    "put_content",
    "read_record",
    "write_record",
]
