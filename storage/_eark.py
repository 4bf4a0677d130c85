"""Transfer packages in the E-ARK CSIP 2.0 shape (the basis of Thông tư 05/2025/TT-BNV).

One zip holds one folder named after the package::

    <package_id>/METS.xml                                 root METS (CSIP profile)
    <package_id>/metadata/descriptive/dc.xml              Dublin Core description, Vietnamese
    <package_id>/metadata/descriptive/ho-so.json          the case file's (hồ sơ) metadata
    <package_id>/metadata/descriptive/records/<record_id>/<NNNNNN>.json
                                                          every revision of every record manifest
    <package_id>/metadata/preservation/premis.xml         PREMIS 3: objects, events, agents
    <package_id>/documentation/muc-luc-van-ban.csv        the catalogue of documents (mục lục)
    <package_id>/schemas/mets.xsd, xlink.xsd, DILCISExtensionMETS.xsd
                                                          the schemas of the METS documents
    <package_id>/representations/rep1/METS.xml            representation METS
    <package_id>/representations/rep1/data/<record_id>/…  the PDFs, sources and attachments

Every file carries its SHA-256, size and MIME type in a METS (metadata through mdRef in the
root METS, the data files in the representation METS), so ``verify_package`` can name the file
that changed; ``import_package`` verifies first and refuses a package that does not verify.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from storage._content import content_key, get_content
from storage._eark_xml import (
    CATALOGUE,
    PackageFile,
    PackageRecord,
    catalogue,
    dublin_core,
    premis_xml,
    representation_mets,
    root_mets,
    schema_files,
)
from storage._errors import IntegrityError, ObjectNotFound, StorageError
from storage._records import _manifest_key, _revision_key, list_revisions
from storage._store import ObjectStore
from vanthu import clock
from vanthu.errors import Kind

_PACKAGE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


def export_package(
    store: ObjectStore,
    *,
    package_id: str,
    file_metadata: Mapping[str, Any],
    record_ids: Sequence[str],
    out: Path,
    agency: str | None = None,
    package_type: str = "SIP",
) -> Path:
    """Write the records (every revision, every object) and the case file's metadata as a
    CSIP zip; return its path (``out`` itself, or ``out/<package_id>.zip`` when ``out`` is a
    folder). Every object is read and hashed again first: a missing or changed one stops the
    export with StorageError naming the record and the file."""
    if not _PACKAGE_ID.fullmatch(package_id):
        raise StorageError(
            f"mã gói {package_id!r} không hợp lệ (chữ, số, '.', '_', '-'; tối đa 200 ký tự)",
            f"invalid package id {package_id!r} (letters, digits, '.', '_', '-'; at most 200"
            " characters)",
            code="storage.export.id_invalid",
            kind=Kind.INVALID,
        )
    if not record_ids:
        raise StorageError(
            f"gói {package_id}: không có bản lưu nào để đóng gói",
            f"package {package_id}: no records to package",
            code="storage.export.no_records",
            kind=Kind.INVALID,
        )
    if len(set(record_ids)) != len(record_ids):
        raise StorageError(
            f"gói {package_id}: một bản lưu được nêu hai lần",
            f"package {package_id}: a record is named twice",
            code="storage.export.duplicate_record",
            kind=Kind.INVALID,
        )
    if package_type not in ("SIP", "AIP", "DIP"):
        raise StorageError(
            f"loại gói {package_type!r} không hợp lệ (SIP, AIP hoặc DIP)",
            f"invalid package type {package_type!r} (SIP, AIP or DIP)",
            code="storage.export.type_invalid",
            kind=Kind.INVALID,
        )
    now = clock.now().replace(microsecond=0)
    records = [_collect(store, record_id) for record_id in record_ids]
    try:
        description = json.dumps(dict(file_metadata), ensure_ascii=False, sort_keys=True, indent=2)
    except (TypeError, ValueError) as exc:
        raise StorageError(
            f"gói {package_id}: siêu dữ liệu hồ sơ không ghi được thành JSON",
            f"package {package_id}: the case file's metadata cannot be written as JSON",
            code="storage.export.metadata",
            kind=Kind.INVALID,
        ) from exc

    file_json = PackageFile(
        "metadata/descriptive/ho-so.json", description.encode(), "application/json", now
    )
    dc = PackageFile(
        "metadata/descriptive/dc.xml",
        dublin_core(package_id, file_metadata, records, agency),
        "text/xml",
        now,
    )
    data_files = [item for record in records for item in record.data]
    rep_mets = PackageFile(
        "representations/rep1/METS.xml",
        representation_mets(package_id, [f for f, _, _ in data_files], now, package_type),
        "text/xml",
        now,
    )
    premis = PackageFile(
        "metadata/preservation/premis.xml",
        premis_xml(records, now, agency, package_id),
        "text/xml",
        now,
    )
    manifests = [m for record in records for m in record.manifests]
    documentation = [PackageFile(CATALOGUE, catalogue(records), "text/csv", now)]
    schemas = schema_files(now)
    root = root_mets(
        package_id,
        file_metadata,
        agency,
        package_type,
        now,
        [dc, file_json, *manifests],
        premis,
        rep_mets,
        documentation,
        schemas,
    )
    files = [
        dc,
        file_json,
        *manifests,
        premis,
        *documentation,
        *schemas,
        rep_mets,
        *(f for f, _, _ in data_files),
    ]
    target = out / f"{package_id}.zip" if out.is_dir() else out
    _write_zip(target, package_id, root, files)
    return target


def _collect(store: ObjectStore, record_id: str) -> PackageRecord:
    revisions = list_revisions(store, record_id)
    manifests = []
    for manifest in revisions:
        key = (
            _manifest_key(record_id)
            if manifest.revision == 1
            else _revision_key(record_id, manifest.revision)
        )
        manifests.append(
            PackageFile(
                f"metadata/descriptive/records/{record_id}/{manifest.revision:06d}.json",
                store.get(key),
                "application/json",
                manifest.revised_at or manifest.created_at,
            )
        )
    data: list[tuple[PackageFile, str, str]] = []
    used: dict[str, str] = {}  # file name in the package -> sha256
    seen: set[str] = set()
    for manifest in reversed(revisions):  # the newest revision's objects get the plain names
        for ref in manifest.objects:
            if ref.sha256 in seen:
                continue
            seen.add(ref.sha256)
            try:
                content = get_content(store, ref.sha256, version_id=ref.version_id)
            except (IntegrityError, ObjectNotFound) as exc:
                changed = isinstance(exc, IntegrityError)
                problem, problem_en = (
                    ("bị thay đổi", "changed") if changed else ("bị thiếu", "missing")
                )
                raise StorageError(
                    f"không đóng gói được bản lưu {record_id}: tệp '{ref.name}' ({ref.role})"
                    f" {problem} trong kho",
                    f"record {record_id} cannot be packaged: its file '{ref.name}' ({ref.role})"
                    f" is {problem_en} in the store",
                    code="storage.export.object_changed"
                    if changed
                    else "storage.export.object_missing",
                    key=content_key(ref.sha256),
                    record_id=record_id,
                ) from exc
            name = _safe_name(ref.name, ref.role)
            for candidate in (name, f"r{manifest.revision}-{name}", f"{ref.sha256[:16]}-{name}"):
                if candidate not in used:
                    name = candidate
                    break
            used[name] = ref.sha256
            path = f"representations/rep1/data/{record_id}/{name}"
            created = manifest.revised_at or manifest.created_at
            data.append((PackageFile(path, content, ref.content_type, created), ref.role, ref.name))
    return PackageRecord(record_id, revisions, manifests, data)


def _safe_name(name: str, role: str) -> str:
    cleaned = _UNSAFE.sub("_", unicodedata.normalize("NFC", name)).lstrip(".").strip()
    return cleaned[:200] or role


def _write_zip(
    target: Path, package_id: str, root_mets: bytes, files: Sequence[PackageFile]
) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".zip")
    try:
        with os.fdopen(fd, "wb") as handle:
            with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(f"{package_id}/METS.xml", root_mets)
                for item in files:
                    archive.writestr(f"{package_id}/{item.path}", item.data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
