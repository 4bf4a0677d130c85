"""Checking and importing transfer packages: nothing is trusted until every file matches its
METS checksum, and no zip entry may point outside the package."""

from __future__ import annotations

import hashlib
import json
import re
import stat
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote

from storage._content import put_content_version, read_hidden
from storage._eark_xml import CSIP, SHA256, XLINK, q
from storage._errors import ObjectExists, ObjectNotFound, StorageError
from storage._records import RecordManifest, manifest_key, read_record
from storage._store import ObjectStore
from vanthu import clock
from vanthu.errors import Kind

MAX_PACKAGE_BYTES = 20 * 2**30
"""Uncompressed bytes a package may hold before ``verify_package`` calls it oversize."""
MAX_METS_BYTES = 64 * 2**20
"""A METS or manifest larger than this is not parsed."""
MAX_ENTRIES = 100_000
MAX_RATIO = 200
"""Uncompressed/compressed ratio above which a large entry is taken for a zip bomb."""
_MANIFEST_PATH = re.compile(r"metadata/descriptive/records/(.+)/([0-9]{6})\.json")
_CHUNK = 2**20


_SHOWN = 5
"""Problems a PackageRejected message spells out; the rest are counted."""


class PackageProblem(str):
    """One reason a package does not verify: the Vietnamese line (the string itself), its
    English (``en``) and a stable code (``code``: 'storage.package.checksum' …).

    A string, so ``verify_package`` still returns Vietnamese lines; the code and the English
    travel with each line into :class:`PackageRejected`.
    """

    en: str
    code: str

    def __new__(cls, code: str, vi: str, en: str) -> PackageProblem:
        problem = super().__new__(cls, vi)
        problem.en = en
        problem.code = code
        return problem

    def __reduce__(self) -> tuple[Any, ...]:
        return (PackageProblem, (self.code, str(self), self.en))


class PackageRejected(StorageError):
    """A package that does not verify; ``problems`` lists why, in Vietnamese.

    ``code`` is the problems' code when they share one ('storage.package.checksum'), else
    'storage.package.rejected'; ``codes`` has each problem's. A problem given as a plain
    string (a caller's own check) has the code 'storage.package.rejected' and no English of
    its own: the English message shows it as given.
    """

    code = "storage.package.rejected"
    kind = Kind.INVALID

    def __init__(self, path: Path, problems: Sequence[str]) -> None:
        codes = tuple(getattr(p, "code", PackageRejected.code) for p in problems)
        english = [getattr(p, "en", p) for p in problems]
        super().__init__(
            f"gói bị từ chối: {_listing(problems, 'và {} lỗi khác')}",
            f"package refused: {_listing(english, 'and {} more problems')}",
            code=codes[0] if len(set(codes)) == 1 else PackageRejected.code,
            file=str(path),
            problems=[str(p) for p in problems],
        )
        self.problems = tuple(problems)
        self.codes = codes


def _listing(problems: Sequence[str], more: str) -> str:
    shown = "; ".join(problems[:_SHOWN])
    if len(problems) > _SHOWN:
        shown += "; " + more.format(len(problems) - _SHOWN)
    return shown


def _problem(code: str, vi: str, en: str) -> PackageProblem:
    return PackageProblem(f"storage.package.{code}", vi, en)


# --- verification ---------------------------------------------------------------------------

_Problems = list[PackageProblem]
_ROOT_METS = ("METS.xml gốc", "root METS.xml")
"""How messages name the root METS (Vietnamese, English); another METS is named by its path."""


@dataclass(frozen=True)
class _Listed:
    """A file a METS lists: its path in the package and what the METS says about it."""

    path: str
    checksum: str | None
    checksum_type: str | None
    size: str | None
    mime: str | None
    where: tuple[str, str]
    """Which METS lists it, for messages (Vietnamese, English)."""


def verify_package(path: Path, *, max_bytes: int = MAX_PACKAGE_BYTES) -> list[str]:
    """Problems with a package, in Vietnamese, one per line; empty when it verifies.

    Checks the zip (no absolute or '..' entries, no links, not oversize), the root and
    representation METS (well-formed, CSIP attributes present), and every file each lists
    (present, size and SHA-256 as listed); a file no METS lists is a problem too. Each line is
    a :class:`PackageProblem`, which also carries its English and its code.
    """
    problems: list[str] = list(_verify(path, max_bytes))
    return problems


def _verify(path: Path, max_bytes: int = MAX_PACKAGE_BYTES) -> _Problems:
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return [
            _problem(
                "not_zip",
                f"{path.name}: không phải tệp zip đọc được ({exc})",
                f"{path.name}: not a readable zip file ({exc})",
            )
        ]
    with archive:
        problems = _check_entries(archive, max_bytes)
        if problems:
            return problems
        return _check_contents(archive)


def _check_entries(archive: zipfile.ZipFile, max_bytes: int) -> _Problems:
    problems = []
    entries = archive.infolist()
    if len(entries) > MAX_ENTRIES:
        return [
            _problem(
                "oversize",
                f"gói quá lớn: {len(entries)} mục (tối đa {MAX_ENTRIES})",
                f"package too large: {len(entries)} entries (at most {MAX_ENTRIES})",
            )
        ]
    names: set[str] = set()
    total = 0
    for info in entries:
        name = info.filename
        parts = PurePosixPath(name).parts
        if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
            problems.append(
                _problem(
                    "unsafe_entry",
                    f"mục '{name}' có đường dẫn tuyệt đối",
                    f"entry '{name}' has an absolute path",
                )
            )
        elif ".." in parts or "\\" in name:
            problems.append(
                _problem(
                    "unsafe_entry",
                    f"mục '{name}' trỏ ra ngoài gói ('..' hoặc '\\')",
                    f"entry '{name}' points outside the package ('..' or '\\')",
                )
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            problems.append(
                _problem(
                    "unsafe_entry",
                    f"mục '{name}' là liên kết tượng trưng",
                    f"entry '{name}' is a symbolic link",
                )
            )
        if name in names:
            problems.append(
                _problem(
                    "duplicate_entry",
                    f"mục '{name}' xuất hiện hai lần",
                    f"entry '{name}' appears twice",
                )
            )
        names.add(name)
        total += info.file_size
        if info.file_size > 2**20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            problems.append(
                _problem(
                    "zip_bomb",
                    f"mục '{name}' nén bất thường (nghi bom zip)",
                    f"entry '{name}' is compressed abnormally (a suspected zip bomb)",
                )
            )
    if total > max_bytes:
        problems.append(
            _problem(
                "oversize",
                f"gói quá lớn: {total} byte khi giải nén (tối đa {max_bytes})",
                f"package too large: {total} bytes uncompressed (at most {max_bytes})",
            )
        )
    tops = {PurePosixPath(name).parts[0] for name in names if PurePosixPath(name).parts}
    if not problems and len(tops) != 1:
        problems.append(
            _problem(
                "layout",
                "gói phải có đúng một thư mục gốc mang mã gói",
                "a package must have exactly one top folder named after the package",
            )
        )
    return problems


def _root_folder(archive: zipfile.ZipFile) -> str:
    return PurePosixPath(archive.infolist()[0].filename).parts[0]


def _read_entry(archive: zipfile.ZipFile, name: str) -> bytes:
    with archive.open(name) as handle:
        return handle.read()


def _parse(
    archive: zipfile.ZipFile, name: str, shown: tuple[str, str]
) -> tuple[ET.Element | None, PackageProblem | None]:
    vi, en = shown
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None, _problem("mets_missing", f"thiếu {vi}", f"{en} is missing")
    if info.file_size > MAX_METS_BYTES:
        return None, _problem(
            "mets",
            f"{vi} quá lớn ({info.file_size} byte)",
            f"{en} is too large ({info.file_size} bytes)",
        )
    try:
        return ET.fromstring(_read_entry(archive, name)), None
    except ET.ParseError as exc:
        line, column = exc.position
        return None, _problem(
            "mets",
            f"{vi} không đúng cú pháp XML (dòng {line}, cột {column})",
            f"{en} is not well-formed XML (line {line}, column {column})",
        )
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        return None, _problem(
            "mets", f"{vi} không đọc được ({exc})", f"{en} cannot be read ({exc})"
        )


_ROOT_REQUIRED = ("OBJID", "TYPE", "PROFILE", q("CONTENTINFORMATIONTYPE", CSIP))
_FILE_REQUIRED = ("ID", "MIMETYPE", "SIZE", "CREATED", "CHECKSUM", "CHECKSUMTYPE")


def _check_mets_shape(mets: ET.Element, shown: tuple[str, str]) -> _Problems:
    vi, en = shown
    problems = []
    if mets.tag != q("mets"):
        return [
            _problem(
                "mets",
                f"{vi}: phần tử gốc không phải mets:mets",
                f"{en}: the root element is not mets:mets",
            )
        ]
    for attribute in _ROOT_REQUIRED:
        if not mets.get(attribute):
            problems.append(
                _problem(
                    "mets",
                    f"{vi}: thiếu thuộc tính bắt buộc {_plain(attribute)} của mets",
                    f"{en}: mets lacks the required attribute {_plain(attribute)}",
                )
            )
    header = mets.find(q("metsHdr"))
    if header is None:
        problems.append(_problem("mets", f"{vi}: thiếu metsHdr", f"{en}: metsHdr is missing"))
    else:
        for attribute in ("CREATEDATE", q("OAISPACKAGETYPE", CSIP)):
            if not header.get(attribute):
                problems.append(
                    _problem(
                        "mets",
                        f"{vi}: thiếu thuộc tính bắt buộc {_plain(attribute)} của metsHdr",
                        f"{en}: metsHdr lacks the required attribute {_plain(attribute)}",
                    )
                )
        if header.find(q("agent")) is None:
            problems.append(
                _problem("mets", f"{vi}: metsHdr thiếu agent", f"{en}: metsHdr has no agent")
            )
    structs = [s for s in mets.findall(q("structMap")) if s.get("LABEL") == "CSIP"]
    if len(structs) != 1:
        problems.append(
            _problem(
                "mets",
                f'{vi}: cần đúng một structMap LABEL="CSIP"',
                f'{en}: exactly one structMap LABEL="CSIP" is needed',
            )
        )
    elif structs[0].get("TYPE") != "PHYSICAL":
        problems.append(
            _problem(
                "mets",
                f'{vi}: structMap CSIP phải có TYPE="PHYSICAL"',
                f'{en}: the CSIP structMap must have TYPE="PHYSICAL"',
            )
        )
    return problems


def _plain(attribute: str) -> str:
    if attribute.startswith("{"):
        namespace, _, local = attribute[1:].partition("}")
        return f"csip:{local}" if namespace == CSIP else local
    return attribute


def _href(element: ET.Element) -> str | None:
    value = element.get(q("href", XLINK))
    return unquote(value) if value is not None else None


def _listed(mets: ET.Element, shown: tuple[str, str], base: str) -> tuple[list[_Listed], _Problems]:
    """Files a METS names (mdRef and file/FLocat), with paths relative to the package root."""
    vi, en = shown
    found: list[_Listed | None] = []
    problems: _Problems = []
    for ref in mets.iter(q("mdRef")):
        found.append(_entry(ref, ref, shown, base, problems, metadata=True))
    for item in mets.iter(q("file")):
        location = item.find(q("FLocat"))
        if location is None:
            identifier = item.get("ID", "?")
            problems.append(
                _problem(
                    "mets",
                    f"{vi}: tệp {identifier} thiếu FLocat",
                    f"{en}: file {identifier} has no FLocat",
                )
            )
            continue
        found.append(_entry(item, location, shown, base, problems, metadata=False))
    return [f for f in found if f is not None], problems


def _entry(
    described: ET.Element,
    location: ET.Element,
    shown: tuple[str, str],
    base: str,
    problems: _Problems,
    *,
    metadata: bool,
) -> _Listed | None:
    vi, en = shown
    href = _href(location)
    label = href or described.get("ID") or "?"
    required = _FILE_REQUIRED[1:] if metadata else _FILE_REQUIRED
    missing = [a for a in required if not described.get(a)]
    if missing:
        problems.append(
            _problem(
                "mets",
                f"{vi}: tệp '{label}' thiếu thuộc tính {', '.join(missing)}",
                f"{en}: file '{label}' lacks the attributes {', '.join(missing)}",
            )
        )
    if href is None:
        problems.append(
            _problem(
                "mets",
                f"{vi}: một tham chiếu tệp thiếu xlink:href",
                f"{en}: a file reference has no xlink:href",
            )
        )
        return None
    parts = PurePosixPath(href).parts
    if href.startswith("/") or "\\" in href or ".." in parts or "://" in href or not parts:
        problems.append(
            _problem(
                "unsafe_path",
                f"{vi}: đường dẫn '{href}' không hợp lệ (tuyệt đối hoặc có '..')",
                f"{en}: invalid path '{href}' (absolute or with '..')",
            )
        )
        return None
    return _Listed(
        path=f"{base}{href}",
        checksum=described.get("CHECKSUM"),
        checksum_type=described.get("CHECKSUMTYPE"),
        size=described.get("SIZE"),
        mime=described.get("MIMETYPE"),
        where=shown,
    )


def _check_contents(archive: zipfile.ZipFile) -> _Problems:
    root = _root_folder(archive)
    problems: _Problems = []
    mets, problem = _parse(archive, f"{root}/METS.xml", _ROOT_METS)
    if mets is None:
        return [problem or _problem("mets_missing", "thiếu METS.xml gốc", "no root METS.xml")]
    problems += _check_mets_shape(mets, _ROOT_METS)
    objid = mets.get("OBJID")
    if objid and objid != root:
        problems.append(
            _problem(
                "mets",
                f"METS.xml gốc: OBJID '{objid}' khác tên thư mục gói '{root}'",
                f"root METS.xml: OBJID '{objid}' differs from the package folder '{root}'",
            )
        )
    listed, found = _listed(mets, _ROOT_METS, "")
    problems += found
    for item in list(listed):
        if PurePosixPath(item.path).name == "METS.xml" and item.path != "METS.xml":
            shown = (item.path, item.path)
            rep, problem = _parse(archive, f"{root}/{item.path}", shown)
            if rep is None:
                problems.append(
                    problem
                    or _problem("mets_missing", f"thiếu {item.path}", f"{item.path} is missing")
                )
                continue
            problems += _check_mets_shape(rep, shown)
            base = str(PurePosixPath(item.path).parent) + "/"
            inner, found = _listed(rep, shown, base)
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
        unlisted = extra.removeprefix(root + "/")
        problems.append(
            _problem(
                "unlisted_file",
                f"tệp '{unlisted}' có trong gói nhưng không có trong METS",
                f"file '{unlisted}' is in the package but not in the METS",
            )
        )
    return problems


def _check_file(archive: zipfile.ZipFile, name: str, item: _Listed) -> _Problems:
    shown = item.path
    where_vi, where_en = item.where
    try:
        info = archive.getinfo(name)
    except KeyError:
        return [
            _problem(
                "file_missing",
                f"thiếu tệp '{shown}' ({where_vi} có ghi)",
                f"file '{shown}' is missing (listed in {where_en})",
            )
        ]
    problems = []
    if (item.checksum_type or "").upper() != SHA256:
        problems.append(
            _problem(
                "checksum_type",
                f"tệp '{shown}': loại mã kiểm tra {item.checksum_type!r} không hỗ trợ"
                " (cần SHA-256)",
                f"file '{shown}': checksum type {item.checksum_type!r} is not supported"
                " (SHA-256 is needed)",
            )
        )
    if item.size is not None and item.size != str(info.file_size):
        problems.append(
            _problem(
                "size",
                f"tệp '{shown}': kích thước {info.file_size} byte, METS ghi {item.size}",
                f"file '{shown}': {info.file_size} bytes, the METS says {item.size}",
            )
        )
    digest = hashlib.sha256()
    try:
        with archive.open(info) as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        return [
            *problems,
            _problem(
                "corrupt",
                f"tệp '{shown}' hỏng trong zip ({exc})",
                f"file '{shown}' is damaged in the zip ({exc})",
            ),
        ]
    if item.checksum is not None and digest.hexdigest() != item.checksum.lower():
        problems.append(
            _problem(
                "checksum",
                f"tệp '{shown}': mã SHA-256 không khớp METS (tệp đã bị thay đổi)",
                f"file '{shown}': its SHA-256 does not match the METS (the file was changed)",
            )
        )
    return problems


# --- import ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportedRecords:
    """What ``import_records`` did."""

    record_ids: tuple[str, ...]
    """Every record the package holds, in order."""
    written: tuple[RecordManifest, ...]
    """The manifests (revisions) this import wrote, as stored; those already in the store
    identically are not written again."""


def import_package(store: ObjectStore, path: Path) -> list[str]:
    """``import_records``, returning the ids of the package's records."""
    return list(import_records(store, path).record_ids)


def import_records(store: ObjectStore, path: Path) -> ImportedRecords:
    """Verify the package, then store its records (every revision, every object).

    Everything is checked before anything is written, so a refused package stores nothing: a
    package that does not verify raises PackageRejected with the reasons; a record whose
    revision differs from the one in the store raises StorageError
    ('storage.package.record_differs') naming the record and what differs (an archived
    record is never replaced). A record already in the store identically is left as it is
    (importing twice is harmless). Manifests are written with this store's version ids."""
    _refuse_unverified(path)
    with zipfile.ZipFile(path) as archive:
        manifests, by_sha = _read_checked(archive, path)
        stored = {at: _stored(store, *at) for at in manifests}
        _refuse_differences(manifests, stored)
        written = []
        for (record_id, revision), (manifest, _) in sorted(manifests.items()):
            if stored[record_id, revision] is not None:
                continue
            until = manifest.retain_until
            future = until if until is not None and until > clock.now() else None
            versions = {}
            for ref in manifest.objects:
                data = _read_entry(archive, by_sha[ref.sha256])
                sha, versions[sha] = put_content_version(
                    store, data, ref.content_type, retain_until=future
                )
            local = manifest.without_versions()
            local = replace(
                local,
                objects=tuple(replace(r, version_id=versions[r.sha256]) for r in local.objects),
            )
            try:
                store.create(
                    manifest_key(record_id, revision),
                    local.to_json(),
                    "application/json",
                    retain_until=future,
                )
            except ObjectExists:  # written since the check, by someone else
                _refuse_differences(
                    manifests, {(record_id, revision): _stored(store, record_id, revision)}
                )
                continue
            written.append(local)
    return ImportedRecords(tuple(sorted({r for r, _ in manifests})), tuple(written))


def package_records(path: Path) -> dict[str, RecordManifest]:
    """The newest revision of every record a package holds, once it verifies and is complete
    (PackageRejected otherwise): what an importing archive checks before writing anything."""
    _refuse_unverified(path)
    with zipfile.ZipFile(path) as archive:
        manifests, _ = _read_checked(archive, path)
    newest: dict[str, RecordManifest] = {}
    for (record_id, _), (manifest, _) in sorted(manifests.items()):
        newest[record_id] = manifest
    return newest


def _refuse_unverified(path: Path) -> None:
    problems = _verify(path)
    if problems:
        raise PackageRejected(path, problems)


def _read_checked(archive: zipfile.ZipFile, path: Path) -> tuple[_Manifests, dict[str, str]]:
    """The manifests of a package that verified and its data files by SHA-256, once the
    records are complete."""
    root = _root_folder(archive)
    manifests = dict(_manifests(archive, root, path))
    by_sha = _data_by_sha(archive, root)
    problems = _incomplete(manifests, by_sha)
    if problems:
        raise PackageRejected(path, problems)
    return manifests, by_sha


def _stored(store: ObjectStore, record_id: str, revision: int) -> RecordManifest | None:
    """The store's revision of the record, hidden by a delete marker or not; None if absent."""
    try:
        return read_record(store, record_id, revision=revision)
    except ObjectNotFound:
        hidden = read_hidden(store, manifest_key(record_id, revision))
        return None if hidden is None else RecordManifest.from_json(hidden)


def _refuse_differences(
    manifests: _Manifests, stored: Mapping[tuple[str, int], RecordManifest | None]
) -> None:
    """Raise naming every record (and what in it) that the package would replace."""
    found = [
        (at, _differences(before, manifests[at][0]))
        for at, before in sorted(stored.items())
        if before is not None and before != manifests[at][0]
    ]
    if not found:
        return
    vi = "; ".join(f"bản lưu {r} phiên bản {n}: {', '.join(d[0])}" for (r, n), d in found)
    en = "; ".join(f"record {r} revision {n}: {', '.join(d[1])}" for (r, n), d in found)
    records = sorted({record_id for (record_id, _), _ in found})
    raise StorageError(
        f"gói có bản lưu khác với bản đang lưu trong kho ({vi}); bản lưu đã lưu không bao giờ"
        " bị thay, không nhập gì",
        f"the package holds records that differ from those in the store ({en}); an archived"
        " record is never replaced, nothing was imported",
        code="storage.package.record_differs",
        kind=Kind.CONFLICT,
        key=manifest_key(*found[0][0]),
        record_id=records[0],
        records=records,
        objects=sorted({o for _, d in found for o in d[2]}),
    )


_FIELDS = {
    "created_at": "thời điểm lưu",
    "revised_at": "thời điểm sửa",
    "reason": "lý do",
    "retain_until": "thời hạn lưu giữ",
}


def _differences(
    stored: RecordManifest, incoming: RecordManifest
) -> tuple[list[str], list[str], list[str]]:
    """What differs (Vietnamese, English, and the objects concerned as 'role name')."""
    vi: list[str] = []
    en: list[str] = []
    objects: list[str] = []
    mine = {ref.role: ref for ref in stored.objects}
    theirs = {ref.role: ref for ref in incoming.objects}
    for role in [*mine, *(r for r in theirs if r not in mine)]:
        a, b = mine.get(role), theirs.get(role)
        if a == b:
            continue
        if a is not None and b is not None:
            vi.append(
                f"tệp {role} '{a.name}' (kho: sha256 {a.sha256[:12]}…, gói: '{b.name}' sha256"
                f" {b.sha256[:12]}…)"
            )
            en.append(
                f"file {role} '{a.name}' (store: sha256 {a.sha256[:12]}…, package: '{b.name}'"
                f" sha256 {b.sha256[:12]}…)"
            )
        elif a is not None:
            vi.append(f"tệp {role} '{a.name}' có trong kho, không có trong gói")
            en.append(f"file {role} '{a.name}' is in the store, not in the package")
        elif b is not None:
            vi.append(f"tệp {role} '{b.name}' có trong gói, không có trong kho")
            en.append(f"file {role} '{b.name}' is in the package, not in the store")
        shown = a or b
        objects.append(f"{role} '{shown.name}'" if shown is not None else role)
    keys = sorted(
        k
        for k in {*stored.metadata, *incoming.metadata}
        if stored.metadata.get(k) != incoming.metadata.get(k)
    )
    if keys:
        vi.append(f"siêu dữ liệu khác ở {', '.join(keys)}")
        en.append(f"metadata differs in {', '.join(keys)}")
    for name, label in _FIELDS.items():
        if getattr(stored, name) != getattr(incoming, name):
            vi.append(f"{label} khác")
            en.append(f"{name.replace('_', ' ')} differs")
    return vi, en, objects


_Manifests = dict[tuple[str, int], tuple[RecordManifest, bytes]]


def _incomplete(manifests: _Manifests, by_sha: dict[str, str]) -> _Problems:
    """Records whose revisions do not run 1, 2, 3… or whose objects the package lacks."""
    if not manifests:
        return [
            _problem(
                "no_records",
                "gói không có bản lưu nào (metadata/descriptive/records/)",
                "the package holds no records (metadata/descriptive/records/)",
            )
        ]
    problems = []
    for record_id in sorted({record_id for record_id, _ in manifests}):
        numbers = sorted(n for r, n in manifests if r == record_id)
        if numbers != list(range(1, len(numbers) + 1)):
            problems.append(
                _problem(
                    "incomplete",
                    f"bản lưu {record_id}: thiếu phiên bản (có {numbers}, cần từ 1)",
                    f"record {record_id}: revisions are missing (has {numbers}, needs from 1)",
                )
            )
    for (record_id, revision), (manifest, _) in sorted(manifests.items()):
        problems += [
            _problem(
                "incomplete",
                f"bản lưu {record_id} phiên bản {revision}: thiếu tệp '{ref.name}' trong gói",
                f"record {record_id} revision {revision}: file '{ref.name}' is not in the package",
            )
            for ref in manifest.objects
            if ref.sha256 not in by_sha
        ]
    return problems


def package_file_metadata(path: Path) -> dict[str, Any]:
    """The case file's (hồ sơ) metadata a verified package carries (its ho-so.json), so the
    importing side can register the file; PackageRejected when the package does not verify."""
    problems = _verify(path)
    if problems:
        raise PackageRejected(path, problems)
    with zipfile.ZipFile(path) as archive:
        name = f"{_root_folder(archive)}/metadata/descriptive/ho-so.json"
        try:
            value = json.loads(_read_entry(archive, name).decode("utf-8"))
        except KeyError:
            return {}
        except ValueError as exc:
            raise PackageRejected(
                path,
                [
                    _problem(
                        "metadata",
                        f"ho-so.json không phải JSON ({exc})",
                        f"ho-so.json is not JSON ({exc})",
                    )
                ],
            ) from exc
    if not isinstance(value, dict):
        raise PackageRejected(
            path,
            [
                _problem(
                    "metadata",
                    "ho-so.json không phải một đối tượng JSON",
                    "ho-so.json is not a JSON object",
                )
            ],
        )
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
            raise PackageRejected(
                path, [_problem("manifest", f"{inner}: {exc}", f"{inner}: {exc.english}")]
            ) from exc
        if manifest.record_id != record_id or manifest.revision != revision:
            raise PackageRejected(
                path,
                [
                    _problem(
                        "manifest",
                        f"{inner}: tệp mô tả ghi bản lưu {manifest.record_id!r}"
                        f" phiên bản {manifest.revision}",
                        f"{inner}: the manifest names record {manifest.record_id!r}"
                        f" revision {manifest.revision}",
                    )
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
