"""Object storage: one interface, a folder or any S3 API behind it; content-addressed records.

Nothing outside this package imports minio.
"""

from storage._content import content_key, get_content, put_content, put_contents, read_hidden
from storage._eark import export_package
from storage._eark_check import (
    ImportedRecords,
    PackageProblem,
    PackageRejected,
    import_package,
    import_records,
    package_file_metadata,
    package_records,
    verify_package,
)
from storage._errors import (
    IntegrityError,
    ObjectExists,
    ObjectNotFound,
    RetentionError,
    StorageError,
)
from storage._open import open_store
from storage._records import (
    NewObject,
    ObjectRef,
    PendingRecord,
    RecordManifest,
    check_record,
    check_store,
    every_manifest,
    extend_record_retention,
    finish_pending,
    list_records,
    list_revisions,
    manifest_key,
    pending_record,
    pending_records,
    read_record,
    revise_record,
    write_record,
)
from storage._retention import PERMANENT
from storage._store import ObjectStore, ObjectVersion, ObjectWrite

__all__ = [
    "PERMANENT",
    "ImportedRecords",
    "IntegrityError",
    "NewObject",
    "ObjectExists",
    "ObjectNotFound",
    "ObjectRef",
    "ObjectStore",
    "ObjectVersion",
    "ObjectWrite",
    "PackageProblem",
    "PackageRejected",
    "PendingRecord",
    "RecordManifest",
    "RetentionError",
    "StorageError",
    "check_record",
    "check_store",
    "content_key",
    "every_manifest",
    "export_package",
    "extend_record_retention",
    "finish_pending",
    "get_content",
    "import_package",
    "import_records",
    "list_records",
    "list_revisions",
    "manifest_key",
    "open_store",
    "package_file_metadata",
    "package_records",
    "pending_record",
    "pending_records",
    "put_content",
    "put_contents",
    "read_hidden",
    "read_record",
    "revise_record",
    "verify_package",
    "write_record",
]
