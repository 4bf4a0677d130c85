"""Checking and importing transfer packages: nothing is trusted until every file matches its
METS checksum, and no zip entry may point outside the package."""

from __future__ import annotations

import hashlib
import json
import re
import stat
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote

from storage._content import put_content
from storage._eark_xml import CSIP, SHA256, XLINK, q
from storage._errors import ObjectExists, StorageError
from storage._records import RecordManifest, _manifest_key, _revision_key, read_record
from storage._store import ObjectStore
from vanthu import clock

MAX_PACKAGE_BYTES = 20 * 2**30
"""Uncompressed bytes a package may hold before ``verify_package`` calls it oversize."""
MAX_METS_BYTES = 64 * 2**20
"""A METS or manifest larger than this is not parsed."""
MAX_ENTRIES = 100_000
MAX_RATIO = 200
"""Uncompressed/compressed ratio above which a large entry is taken for a zip bomb."""
_MANIFEST_PATH = re.compile(r"metadata/descriptive/records/(.+)/([0-9]{6})\.json")
_CHUNK = 2**20


class PackageRejected(StorageError):
    """A package that does not verify; ``problems`` lists why, in Vietnamese."""

    def __init__(self, path: Path, problems: Sequence[str]) -> None:
        shown = "; ".join(problems[:5]) + (
            f"; và {len(problems) - 5} lỗi khác" if len(problems) > 5 else ""
        )
        super().__init__(f"gói {path.name} bị từ chối: {shown}")
        self.problems = tuple(problems)


# --- verification ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Listed:
    """A file a METS lists: its path in the package and what the METS says about it."""

    path: str
    checksum: str | None
    checksum_type: str | None
    size: str | None
    mime: str | None
    where: str
    """Which METS lists it, for messages."""


def verify_package(path: Path, *, max_bytes: int = MAX_PACKAGE_BYTES) -> list[str]:
    """Problems with a package, in Vietnamese, one per line; empty when it verifies.

    Checks the zip (no absolute or '..' entries, no links, not oversize), the root and
    representation METS (well-formed, CSIP attributes present), and every file each lists
    (present, size and SHA-256 as listed); a file no METS lists is a problem too.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return [f"{path.name}: không phải tệp zip đọc được ({exc})"]
    with archive:
        problems = _check_entries(archive, max_bytes)
        if problems:
            return problems
        return _check_contents(archive)


def _check_entries(archive: zipfile.ZipFile, max_bytes: int) -> list[str]:
    problems = []
    entries = archive.infolist()
    if len(entries) > MAX_ENTRIES:
        return [f"gói quá lớn: {len(entries)} mục (tối đa {MAX_ENTRIES})"]
    names: set[str] = set()
    total = 0
    for info in entries:
        name = info.filename
        parts = PurePosixPath(name).parts
        if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
            problems.append(f"mục '{name}' có đường dẫn tuyệt đối")
        elif ".." in parts or "\\" in name:
            problems.append(f"mục '{name}' trỏ ra ngoài gói ('..' hoặc '\\')")
        if stat.S_ISLNK(info.external_attr >> 16):
            problems.append(f"mục '{name}' là liên kết tượng trưng")
        if name in names:
            problems.append(f"mục '{name}' xuất hiện hai lần")
        names.add(name)
        total += info.file_size
        if info.file_size > 2**20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            problems.append(f"mục '{name}' nén bất thường (nghi bom zip)")
    if total > max_bytes:
        problems.append(f"gói quá lớn: {total} byte khi giải nén (tối đa {max_bytes})")
    tops = {PurePosixPath(name).parts[0] for name in names if PurePosixPath(name).parts}
    if not problems and len(tops) != 1:
        problems.append("gói phải có đúng một thư mục gốc mang mã gói")
    return problems


def _root_folder(archive: zipfile.ZipFile) -> str:
    return PurePosixPath(archive.infolist()[0].filename).parts[0]


def _read_entry(archive: zipfile.ZipFile, name: str) -> bytes:
    with archive.open(name) as handle:
        return handle.read()


def _parse(archive: zipfile.ZipFile, name: str, shown: str) -> tuple[ET.Element | None, str | None]:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None, f"thiếu {shown}"
    if info.file_size > MAX_METS_BYTES:
        return None, f"{shown} quá lớn ({info.file_size} byte)"
    try:
        return ET.fromstring(_read_entry(archive, name)), None
    except ET.ParseError as exc:
        line, column = exc.position
        return None, f"{shown} không đúng cú pháp XML (dòng {line}, cột {column})"
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        return None, f"{shown} không đọc được ({exc})"


_ROOT_REQUIRED = ("OBJID", "TYPE", "PROFILE", q("CONTENTINFORMATIONTYPE", CSIP))
_FILE_REQUIRED = ("ID", "MIMETYPE", "SIZE", "CREATED", "CHECKSUM", "CHECKSUMTYPE")


def _check_mets_shape(mets: ET.Element, shown: str) -> list[str]:
    problems = []
    if mets.tag != q("mets"):
        return [f"{shown}: phần tử gốc không phải mets:mets"]
    for attribute in _ROOT_REQUIRED:
        if not mets.get(attribute):
            problems.append(f"{shown}: thiếu thuộc tính bắt buộc {_plain(attribute)} của mets")
    header = mets.find(q("metsHdr"))
    if header is None:
        problems.append(f"{shown}: thiếu metsHdr")
    else:
        for attribute in ("CREATEDATE", q("OAISPACKAGETYPE", CSIP)):
            if not header.get(attribute):
                problems.append(
                    f"{shown}: thiếu thuộc tính bắt buộc {_plain(attribute)} của metsHdr"
                )
        if header.find(q("agent")) is None:
            problems.append(f"{shown}: metsHdr thiếu agent")
    structs = [s for s in mets.findall(q("structMap")) if s.get("LABEL") == "CSIP"]
    if len(structs) != 1:
        problems.append(f'{shown}: cần đúng một structMap LABEL="CSIP"')
    elif structs[0].get("TYPE") != "PHYSICAL":
        problems.append(f'{shown}: structMap CSIP phải có TYPE="PHYSICAL"')
    return problems


def _plain(attribute: str) -> str:
    if attribute.startswith("{"):
        namespace, _, local = attribute[1:].partition("}")
        return f"csip:{local}" if namespace == CSIP else local
    return attribute


def _href(element: ET.Element) -> str | None:
    value = element.get(q("href", XLINK))
    return unquote(value) if value is not None else None


def _listed(mets: ET.Element, shown: str, base: str) -> tuple[list[_Listed], list[str]]:
    """Files a METS names (mdRef and file/FLocat), with paths relative to the package root."""
    found: list[_Listed | None] = []
    problems: list[str] = []
    for ref in mets.iter(q("mdRef")):
        found.append(_entry(ref, ref, shown, base, problems, metadata=True))
    for item in mets.iter(q("file")):
        location = item.find(q("FLocat"))
        if location is None:
            problems.append(f"{shown}: tệp {item.get('ID', '?')} thiếu FLocat")
            continue
        found.append(_entry(item, location, shown, base, problems, metadata=False))
    return [f for f in found if f is not None], problems


def _entry(
    described: ET.Element,
    location: ET.Element,
    shown: str,
    base: str,
    problems: list[str],
    *,
    metadata: bool,
) -> _Listed | None:
    href = _href(location)
    label = href or described.get("ID") or "?"
    required = _FILE_REQUIRED[1:] if metadata else _FILE_REQUIRED
    missing = [a for a in required if not described.get(a)]
    if missing:
        problems.append(f"{shown}: tệp '{label}' thiếu thuộc tính {', '.join(missing)}")
    if href is None:
        problems.append(f"{shown}: một tham chiếu tệp thiếu xlink:href")
        return None
    parts = PurePosixPath(href).parts
    if href.startswith("/") or "\\" in href or ".." in parts or "://" in href or not parts:
        problems.append(f"{shown}: đường dẫn '{href}' không hợp lệ (tuyệt đối hoặc có '..')")
        return None
    return _Listed(
        path=f"{base}{href}",
        checksum=described.get("CHECKSUM"),
        checksum_type=described.get("CHECKSUMTYPE"),
        size=described.get("SIZE"),
        mime=described.get("MIMETYPE"),
        where=shown,
    )


def _check_contents(archive: zipfile.ZipFile) -> list[str]:
    root = _root_folder(archive)
    problems: list[str] = []
    mets, problem = _parse(archive, f"{root}/METS.xml", "METS.xml gốc")
    if mets is None:
        return [problem or "thiếu METS.xml gốc"]
    problems += _check_mets_shape(mets, "METS.xml gốc")
    if mets.get("OBJID") and mets.get("OBJID") != root:
        problems.append(f"METS.xml gốc: OBJID '{mets.get('OBJID')}' khác tên thư mục gói '{root}'")
    listed, found = _listed(mets, "METS.xml gốc", "")
    problems += found
    for item in list(listed):
        if PurePosixPath(item.path).name == "METS.xml" and item.path != "METS.xml":
            rep, problem = _parse(archive, f"{root}/{item.path}", item.path)
            if rep is None:
                problems.append(problem or f"thiếu {item.path}")
                continue
            problems += _check_mets_shape(rep, item.path)
            base = str(PurePosixPath(item.path).parent) + "/"
            inner, found = _listed(rep, item.path, base)
            problems += found
            listed += inner
    names = {info.filename for info in archive.infolist() if not info.is_dir()}
    seen = {f"{root}/METS.xml"}
    for item in listed:
        name = f"{root}/{item.path}"
        if name in seen:
            continue
        seen.add(name)
        problems += _check_file(archive, name, item)
    for extra in sorted(names - seen):
        problems.append(
            f"tệp '{extra.removeprefix(root + '/')}' có trong gói nhưng không có trong METS"
        )
    return problems


def _check_file(archive: zipfile.ZipFile, name: str, item: _Listed) -> list[str]:
    shown = item.path
    try:
        info = archive.getinfo(name)
    except KeyError:
        return [f"thiếu tệp '{shown}' ({item.where} có ghi)"]
    problems = []
    if (item.checksum_type or "").upper() != SHA256:
        problems.append(
            f"tệp '{shown}': loại mã kiểm tra {item.checksum_type!r} không hỗ trợ (cần SHA-256)"
        )
    if item.size is not None and item.size != str(info.file_size):
        problems.append(f"tệp '{shown}': kích thước {info.file_size} byte, METS ghi {item.size}")
    digest = hashlib.sha256()
    try:
        with archive.open(info) as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        return [*problems, f"tệp '{shown}' hỏng trong zip ({exc})"]
    if item.checksum is not None and digest.hexdigest() != item.checksum.lower():
        problems.append(f"tệp '{shown}': mã SHA-256 không khớp METS (tệp đã bị thay đổi)")
    return problems


# --- import ---------------------------------------------------------------------------------


def import_package(store: ObjectStore, path: Path) -> list[str]:
    """Verify the package, then store its records (every revision, every object); return their
    ids. A package that does not verify raises PackageRejected with the reasons and stores
    nothing; a record already in the store identically is left as it is (importing twice is
    harmless), one that differs is refused before anything is written."""
    problems = verify_package(path)
    if problems:
        raise PackageRejected(path, problems)
    with zipfile.ZipFile(path) as archive:
        root = _root_folder(archive)
        manifests = dict(_manifests(archive, root, path))
        by_sha = _data_by_sha(archive, root)
        problems = _incomplete(manifests, by_sha)
        if problems:
            raise PackageRejected(path, problems)
        for (record_id, revision), (manifest, _) in sorted(manifests.items()):
            _refuse_conflict(store, record_id, revision, manifest)
        for (record_id, revision), (manifest, body) in sorted(manifests.items()):
            until = manifest.retain_until
            future = until if until is not None and until > clock.now() else None
            for ref in manifest.objects:
                data = _read_entry(archive, by_sha[ref.sha256])
                put_content(store, data, ref.content_type, retain_until=future)
            try:
                store.create(
                    _key(record_id, revision), body, "application/json", retain_until=future
                )
            except ObjectExists:
                _refuse_conflict(store, record_id, revision, manifest)
    return sorted({record_id for record_id, _ in manifests})


_Manifests = dict[tuple[str, int], tuple[RecordManifest, bytes]]


def _key(record_id: str, revision: int) -> str:
    return _manifest_key(record_id) if revision == 1 else _revision_key(record_id, revision)


def _incomplete(manifests: _Manifests, by_sha: dict[str, str]) -> list[str]:
    """Records whose revisions do not run 1, 2, 3… or whose objects the package lacks."""
    if not manifests:
        return ["gói không có bản lưu nào (metadata/descriptive/records/)"]
    problems = []
    for record_id in sorted({record_id for record_id, _ in manifests}):
        numbers = sorted(n for r, n in manifests if r == record_id)
        if numbers != list(range(1, len(numbers) + 1)):
            problems.append(f"bản lưu {record_id}: thiếu phiên bản (có {numbers}, cần từ 1)")
    for (record_id, revision), (manifest, _) in sorted(manifests.items()):
        problems += [
            f"bản lưu {record_id} phiên bản {revision}: thiếu tệp '{ref.name}' trong gói"
            for ref in manifest.objects
            if ref.sha256 not in by_sha
        ]
    return problems


def _refuse_conflict(
    store: ObjectStore, record_id: str, revision: int, manifest: RecordManifest
) -> None:
    key = _key(record_id, revision)
    if store.exists(key) and read_record(store, record_id, revision=revision) != manifest:
        raise StorageError(
            f"bản lưu {record_id} phiên bản {revision} đã có trong kho với nội dung khác;"
            " không nhập đè",
            key=key,
        )


def package_file_metadata(path: Path) -> dict[str, Any]:
    """The case file's (hồ sơ) metadata a verified package carries (its ho-so.json), so the
    importing side can register the file; PackageRejected when the package does not verify."""
    problems = verify_package(path)
    if problems:
        raise PackageRejected(path, problems)
    with zipfile.ZipFile(path) as archive:
        name = f"{_root_folder(archive)}/metadata/descriptive/ho-so.json"
        try:
            value = json.loads(_read_entry(archive, name).decode("utf-8"))
        except KeyError:
            return {}
        except ValueError as exc:
            raise PackageRejected(path, [f"ho-so.json không phải JSON ({exc})"]) from exc
    if not isinstance(value, dict):
        raise PackageRejected(path, ["ho-so.json không phải một đối tượng JSON"])
    return value


def _manifests(
    archive: zipfile.ZipFile, root: str, path: Path
) -> Iterator[tuple[tuple[str, int], tuple[RecordManifest, bytes]]]:
    for info in archive.infolist():
        inner = info.filename.removeprefix(f"{root}/")
        match = _MANIFEST_PATH.fullmatch(inner)
        if not match:
            continue
        record_id, revision = match.group(1), int(match.group(2))
        body = _read_entry(archive, info.filename)
        try:
            manifest = RecordManifest.from_json(body)
        except StorageError as exc:
            raise PackageRejected(path, [f"{inner}: {exc}"]) from exc
        if manifest.record_id != record_id or manifest.revision != revision:
            raise PackageRejected(
                path,
                [
                    f"{inner}: tệp mô tả ghi bản lưu {manifest.record_id!r}"
                    f" phiên bản {manifest.revision}"
                ],
            )
        yield (record_id, revision), (manifest, body)


def _data_by_sha(archive: zipfile.ZipFile, root: str) -> dict[str, str]:
    found = {}
    prefix = f"{root}/representations/rep1/data/"
    for info in archive.infolist():
        if info.filename.startswith(prefix) and not info.is_dir():
            digest = hashlib.sha256()
            with archive.open(info) as handle:
                for chunk in iter(lambda: handle.read(_CHUNK), b""):
                    digest.update(chunk)
            found[digest.hexdigest()] = info.filename
    return found
