"""Object storage: one interface, a folder or any S3 API behind it; content-addressed records.

Nothing outside this package imports minio.
"""

from storage._content import content_key, get_content, put_content
from storage._eark import export_package
from storage._eark_check import (
    PackageProblem,
    PackageRejected,
    import_package,
    package_file_metadata,
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
    RecordManifest,
    check_record,
    check_store,
    extend_record_retention,
    list_records,
    list_revisions,
    read_record,
    revise_record,
    write_record,
)
from storage._retention import PERMANENT
from storage._store import ObjectStore

__all__ = [
    "PERMANENT",
    "IntegrityError",
    "NewObject",
    "ObjectExists",
    "ObjectNotFound",
    "ObjectRef",
    "ObjectStore",
    "PackageProblem",
    "PackageRejected",
    "RecordManifest",
    "RetentionError",
    "StorageError",
    "check_record",
    "check_store",
    "content_key",
    "export_package",
    "extend_record_retention",
    "get_content",
    "import_package",
    "list_records",
    "list_revisions",
    "open_store",
    "package_file_metadata",
    "put_content",
    "read_record",
    "revise_record",
    "verify_package",
    "write_record",
]
