"""E-ARK CSIP transfer packages: export → verify → import on both backends, and tampered
packages refused with the reason."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree as ET

import pytest

from storage import (
    NewObject,
    ObjectStore,
    PackageProblem,
    PackageRejected,
    RecordManifest,
    StorageError,
    check_store,
    content_key,
    export_package,
    get_content,
    import_package,
    list_records,
    list_revisions,
    open_store,
    package_file_metadata,
    revise_record,
    verify_package,
    write_record,
)
from vanthu.errors import Kind

Corrupt = Callable[[ObjectStore, str], None]
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
NS = {
    "mets": "http://www.loc.gov/METS/",
    "csip": "https://DILCIS.eu/XML/METS/CSIPExtensionMETS",
    "xlink": "http://www.w3.org/1999/xlink",
    "premis": "http://www.loc.gov/premis/v3",
    "dc": "http://purl.org/dc/elements/1.1/",
}
HREF = "{http://www.w3.org/1999/xlink}href"
PKG = "HS-2026-TCCB-01"
FILE_METADATA = {
    "mã_hồ_sơ": "2026.TCCB.01",
    "tiêu_đề": "Hồ sơ bổ nhiệm cán bộ năm 2026",
    "thời_hạn_bảo_quản": "70 năm",
    "chế_độ_sử_dụng": "Hạn chế",
    "từ_khóa": ["bổ nhiệm", "cán bộ"],
}


@pytest.fixture
def archived(any_store: ObjectStore) -> ObjectStore:
    """Two records, one revised (an LTV refresh), as the archive holds them."""
    write_record(
        any_store,
        "SNV-2026-QD-0001",
        [
            NewObject("pdf", "01-QĐ-SNV.pdf", b"%PDF-1.7 Quyet dinh bo nhiem, da ky", PDF),
            NewObject("source", "01-QĐ-SNV.docx", b"PK du thao quyet dinh", DOCX),
        ],
        {"số": "01/QĐ-SNV", "trích_yếu": "Về việc bổ nhiệm cán bộ"},
    )
    revise_record(
        any_store,
        "SNV-2026-QD-0001",
        objects=[NewObject("pdf", "01-QĐ-SNV.pdf", b"%PDF-1.7 Quyet dinh + LTV", PDF)],
        reason="Bổ sung dữ liệu kiểm tra chữ ký dài hạn (LTV)",
    )
    write_record(
        any_store,
        "SNV-2026-TB-0002",
        [NewObject("pdf", "02-TB-SNV.pdf", b"%PDF-1.7 Thong bao", PDF)],
        {"số": "02/TB-SNV", "trích_yếu": "Thông báo kết quả"},
    )
    return any_store


def _export(store: ObjectStore, out: Path) -> Path:
    return export_package(
        store,
        package_id=PKG,
        file_metadata=FILE_METADATA,
        record_ids=["SNV-2026-QD-0001", "SNV-2026-TB-0002"],
        out=out,
        agency="Sở Nội vụ tỉnh Ninh Bình",
    )


def _fresh_like(store: ObjectStore, request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if store.url.startswith("file:"):
        return open_store((tmp_path / "lich-su").as_uri())
    return open_store(request.getfixturevalue("s3_server").fresh_url())


def _xml(package: Path, inner: str) -> ET.Element:
    with zipfile.ZipFile(package) as archive:
        return ET.fromstring(archive.read(f"{PKG}/{inner}"))


def test_export_verify_import_keeps_every_record_revision_and_hash(
    archived: ObjectStore, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    package = _export(archived, tmp_path)
    assert package == tmp_path / f"{PKG}.zip"
    assert verify_package(package) == []
    assert package_file_metadata(package) == FILE_METADATA
    fresh = _fresh_like(archived, request, tmp_path)
    assert import_package(fresh, package) == ["SNV-2026-QD-0001", "SNV-2026-TB-0002"]
    assert list(list_records(fresh)) == list(list_records(archived))
    for record_id in list_records(archived):
        assert list_revisions(fresh, record_id) == list_revisions(archived, record_id)
        for manifest in list_revisions(archived, record_id):
            for ref in manifest.objects:
                data = get_content(fresh, ref.sha256)
                assert hashlib.sha256(data).hexdigest() == ref.sha256
    # the manifest travels unchanged, but for the S3 version ids of its objects (each store's own)
    travelled = RecordManifest.from_json(fresh.get("records/SNV-2026-QD-0001.json"))
    original = RecordManifest.from_json(archived.get("records/SNV-2026-QD-0001.json"))
    assert travelled.without_versions().to_json() == original.without_versions().to_json()
    if fresh.url.startswith("file:"):
        assert fresh.get("records/SNV-2026-QD-0001.json") == archived.get(
            "records/SNV-2026-QD-0001.json"
        )
    else:
        assert all(ref.version_id for ref in travelled.objects)
        for ref in travelled.objects:
            assert get_content(fresh, ref.sha256, version_id=ref.version_id)
    assert dict(check_store(fresh)) == {"SNV-2026-QD-0001": (), "SNV-2026-TB-0002": ()}
    before = sorted(fresh.list_keys())
    assert import_package(fresh, package) == ["SNV-2026-QD-0001", "SNV-2026-TB-0002"]
    assert sorted(fresh.list_keys()) == before  # importing twice changes nothing


def test_the_package_has_the_csip_shape(archived: ObjectStore, tmp_path: Path) -> None:
    package = _export(archived, tmp_path / "goi.zip")
    with zipfile.ZipFile(package) as archive:
        names = set(archive.namelist())
    assert {
        f"{PKG}/METS.xml",
        f"{PKG}/metadata/descriptive/dc.xml",
        f"{PKG}/metadata/descriptive/ho-so.json",
        f"{PKG}/metadata/descriptive/records/SNV-2026-QD-0001/000001.json",
        f"{PKG}/metadata/descriptive/records/SNV-2026-QD-0001/000002.json",
        f"{PKG}/metadata/preservation/premis.xml",
        f"{PKG}/representations/rep1/METS.xml",
        f"{PKG}/representations/rep1/data/SNV-2026-QD-0001/01-QĐ-SNV.pdf",  # newest: plain name
        f"{PKG}/representations/rep1/data/SNV-2026-QD-0001/r1-01-QĐ-SNV.pdf",  # superseded
        f"{PKG}/representations/rep1/data/SNV-2026-TB-0002/02-TB-SNV.pdf",
    } <= names
    mets = _xml(package, "METS.xml")
    assert mets.get("OBJID") == PKG
    assert mets.get("PROFILE") == "https://earkcsip.dilcis.eu/profile/E-ARK-CSIP.xml"
    assert mets.get("TYPE") and mets.get(f"{{{NS['csip']}}}CONTENTINFORMATIONTYPE") == "OTHER"
    assert mets.get("LABEL") == "Hồ sơ bổ nhiệm cán bộ năm 2026"
    header = mets.find("mets:metsHdr", NS)
    assert header is not None and header.get(f"{{{NS['csip']}}}OAISPACKAGETYPE") == "SIP"
    agents = [a.findtext("mets:name", namespaces=NS) for a in header.findall("mets:agent", NS)]
    assert agents == ["Vanthu", "Sở Nội vụ tỉnh Ninh Bình"]
    dmd = [unquote(r.get(HREF, "")) for r in mets.findall("mets:dmdSec/mets:mdRef", NS)]
    assert all(href.startswith("metadata/descriptive/") for href in dmd) and len(dmd) == 5
    premis_ref = mets.find("mets:amdSec/mets:digiprovMD/mets:mdRef", NS)
    assert premis_ref is not None and premis_ref.get("MDTYPE") == "PREMIS"
    assert unquote(premis_ref.get(HREF, "")) == "metadata/preservation/premis.xml"
    divs = [d.get("LABEL") for d in mets.iterfind("mets:structMap[@LABEL='CSIP']//mets:div", NS)]
    assert divs == [PKG, "Metadata", "Documentation", "Schemas", "Representations/rep1"]

    rep = _xml(package, "representations/rep1/METS.xml")
    with zipfile.ZipFile(package) as archive:
        for item in rep.iterfind(".//mets:file", NS):
            location = item.find("mets:FLocat", NS)
            assert location is not None
            data = archive.read(f"{PKG}/representations/rep1/{unquote(location.get(HREF, ''))}")
            assert item.get("CHECKSUMTYPE") == "SHA-256"
            assert item.get("CHECKSUM") == hashlib.sha256(data).hexdigest()
            assert item.get("SIZE") == str(len(data)) and item.get("MIMETYPE") in (PDF, DOCX)

    premis = _xml(package, "metadata/preservation/premis.xml")
    events = [
        e.findtext("premis:eventType", namespaces=NS) for e in premis.iterfind("premis:event", NS)
    ]
    assert events == ["ingestion", "modification", "ingestion", "fixity check", "transfer"]
    digests = {d.text for d in premis.iterfind(".//premis:messageDigest", NS)}
    pdf = list_revisions(archived, "SNV-2026-QD-0001")[-1].objects[0]
    assert pdf.sha256 in digests
    assert premis.findtext("premis:agent/premis:agentName", namespaces=NS) == "Vanthu"

    dc = _xml(package, "metadata/descriptive/dc.xml")
    assert dc.findtext("dc:title", namespaces=NS) == "Hồ sơ bổ nhiệm cán bộ năm 2026"
    assert dc.findtext("dc:identifier", namespaces=NS) == "2026.TCCB.01"
    assert "thời hạn bảo quản: 70 năm" in (dc.findtext("dc:description", namespaces=NS) or "")
    with zipfile.ZipFile(package) as archive:
        stored = json.loads(archive.read(f"{PKG}/metadata/descriptive/ho-so.json"))
    assert stored == FILE_METADATA


def test_a_damaged_record_is_not_exported(
    archived: ObjectStore, corrupt: Corrupt, tmp_path: Path
) -> None:
    pdf = list_revisions(archived, "SNV-2026-TB-0002")[-1].objects[0]
    corrupt(archived, content_key(pdf.sha256))
    out = tmp_path / "out"
    out.mkdir()
    if pdf.version_id is not None:
        # S3: the damage is a newer version written past the store; the export reads the
        # version recorded at archiving, which the lock kept as it was.
        with zipfile.ZipFile(_export(archived, out)) as package:
            [name] = [n for n in package.namelist() if n.endswith("/02-TB-SNV.pdf")]
            assert hashlib.sha256(package.read(name)).hexdigest() == pdf.sha256
        return
    with pytest.raises(StorageError) as caught:
        _export(archived, out)
    error = caught.value
    assert (error.code, error.key) == ("storage.export.object_changed", content_key(pdf.sha256))
    assert error.fields()["record_id"] == "SNV-2026-TB-0002"
    assert "02-TB-SNV.pdf" in str(error) and "02-TB-SNV.pdf" in error.english
    assert list(out.iterdir()) == []  # no half-written package


# --- tampered packages ----------------------------------------------------------------------


def _rewrite(
    package: Path,
    target: Path,
    change: Callable[[str, bytes], bytes | None] = lambda name, data: data,
    extra: dict[str, bytes] | None = None,
) -> Path:
    with zipfile.ZipFile(package) as source, zipfile.ZipFile(target, "w") as out:
        for info in source.infolist():
            data = change(info.filename.removeprefix(f"{PKG}/"), source.read(info))
            if data is not None:
                out.writestr(info.filename, data)
        for name, data in (extra or {}).items():
            out.writestr(name, data)
    return target


def _flip(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


TB_PDF = "representations/rep1/data/SNV-2026-TB-0002/02-TB-SNV.pdf"


@pytest.fixture
def package(folder_store: ObjectStore, tmp_path: Path) -> Path:
    write_record(
        folder_store, "SNV-2026-TB-0002", [NewObject("pdf", "02-TB-SNV.pdf", b"%PDF tb", PDF)], {}
    )
    write_record(
        folder_store, "SNV-2026-QD-0001", [NewObject("pdf", "01-QĐ-SNV.pdf", b"%PDF qd", PDF)], {}
    )
    return _export(folder_store, tmp_path / "goc.zip")


def _problems(path: Path) -> list[PackageProblem]:
    """What verify_package finds: Vietnamese lines that carry their code and English."""
    problems = verify_package(path)
    assert all(isinstance(problem, PackageProblem) for problem in problems), problems
    return [problem for problem in problems if isinstance(problem, PackageProblem)]


def _refused(path: Path, tmp_path: Path, code: str, naming: str) -> list[PackageProblem]:
    """The package fails with ``code`` (every problem has it) for something named ``naming``
    (a file or entry), and importing it is refused with that code, storing nothing."""
    problems = _problems(path)
    assert problems and {p.code for p in problems} == {code}, problems
    assert any(naming in problem and naming in problem.en for problem in problems), problems
    target = open_store((tmp_path / "dich").as_uri())
    with pytest.raises(PackageRejected) as caught:
        import_package(target, path)
    error = caught.value
    assert (error.code, error.kind, error.file) == (code, Kind.INVALID, str(path))
    assert not error.retryable
    assert naming in str(error) and naming in error.english
    assert list(target.list_keys()) == []  # nothing imported
    return problems


def test_a_changed_file_is_named(package: Path, tmp_path: Path) -> None:
    bad = _rewrite(package, tmp_path / "x.zip", lambda n, d: _flip(d) if n == TB_PDF else d)
    problems = _refused(bad, tmp_path, "storage.package.checksum", TB_PDF)
    assert len(problems) == 1


def test_a_removed_file_is_named(package: Path, tmp_path: Path) -> None:
    bad = _rewrite(package, tmp_path / "x.zip", lambda n, d: None if n == TB_PDF else d)
    _refused(bad, tmp_path, "storage.package.file_missing", TB_PDF)


def test_an_edited_checksum_in_the_mets_is_caught(package: Path, tmp_path: Path) -> None:
    sha = hashlib.sha256(b"%PDF tb").hexdigest()

    def edit(name: str, data: bytes) -> bytes:
        if name == "representations/rep1/METS.xml":
            return data.replace(sha.encode(), ("0" * 64).encode())
        return data

    bad = _rewrite(package, tmp_path / "x.zip", edit)
    problems = _refused(bad, tmp_path, "storage.package.checksum", TB_PDF)
    assert any("'representations/rep1/METS.xml'" in p for p in problems)  # it changed too

    def edit_root(name: str, data: bytes) -> bytes:  # the root METS has no checksum of its own
        if name == "METS.xml":
            dc = hashlib.sha256(_read(package, "metadata/descriptive/dc.xml")).hexdigest()
            return data.replace(dc.encode(), ("f" * 64).encode())
        return data

    _refused(
        _rewrite(package, tmp_path / "y.zip", edit_root),
        tmp_path,
        "storage.package.checksum",
        "metadata/descriptive/dc.xml",
    )


def _read(package: Path, inner: str) -> bytes:
    with zipfile.ZipFile(package) as archive:
        return archive.read(f"{PKG}/{inner}")


@pytest.mark.parametrize(
    "entry",
    [f"{PKG}/../../etc/cron.d/x", "/etc/passwd", f"{PKG}/representations\\rep1\\x"],
)
def test_entries_escaping_the_package_are_refused(
    package: Path, tmp_path: Path, entry: str
) -> None:
    bad = _rewrite(package, tmp_path / "x.zip", extra={entry: b"evil"})
    _refused(bad, tmp_path, "storage.package.unsafe_entry", f"'{entry}'")
    assert not (tmp_path.parent / "etc").exists()


def test_broken_or_incomplete_mets_and_extra_files(package: Path, tmp_path: Path) -> None:
    broken = _rewrite(package, tmp_path / "a.zip", lambda n, d: d[:-40] if n == "METS.xml" else d)
    (problem,) = _refused(broken, tmp_path, "storage.package.mets", "METS.xml")
    assert "XML" in problem.en
    no_objid = _rewrite(
        package,
        tmp_path / "b.zip",
        lambda n, d: d.replace(f'OBJID="{PKG}"'.encode(), b"") if n == "METS.xml" else d,
    )
    _refused(no_objid, tmp_path, "storage.package.mets", "OBJID")
    extra = _rewrite(
        package, tmp_path / "c.zip", extra={f"{PKG}/representations/rep1/data/x.pdf": b"x"}
    )
    _refused(extra, tmp_path, "storage.package.unlisted_file", "representations/rep1/data/x.pdf")
    no_mets = _rewrite(package, tmp_path / "d.zip", lambda n, d: None if n == "METS.xml" else d)
    _refused(no_mets, tmp_path, "storage.package.mets_missing", "METS.xml")
    not_zip = tmp_path / "e.zip"
    not_zip.write_bytes(b"PK not really")
    _refused(not_zip, tmp_path, "storage.package.not_zip", "e.zip")


def test_an_oversize_package_is_refused(package: Path) -> None:
    problems = verify_package(package, max_bytes=100)
    assert len(problems) == 1
    assert isinstance(problems[0], PackageProblem)
    assert problems[0].code == "storage.package.oversize"


def test_a_package_conflicting_with_the_store_is_refused(package: Path, tmp_path: Path) -> None:
    target = open_store((tmp_path / "dich").as_uri())
    write_record(target, "SNV-2026-TB-0002", [NewObject("pdf", "khac.pdf", b"%PDF other", PDF)], {})
    with pytest.raises(StorageError) as caught:
        import_package(target, package)
    error = caught.value
    assert (error.code, error.kind) == ("storage.package.record_differs", Kind.CONFLICT)
    assert error.key == "records/SNV-2026-TB-0002.json"
    assert error.fields()["records"] == ["SNV-2026-TB-0002"]
    assert "pdf 'khac.pdf'" in str(error) and "SNV-2026-TB-0002" in str(error)
    assert list(list_records(target)) == ["SNV-2026-TB-0002"]  # the other record not imported
    assert len(list(target.list_keys("objects/"))) == 1


def test_a_refusal_from_plain_reasons_keeps_the_model(tmp_path: Path) -> None:
    """Callers may refuse a package with their own Vietnamese reasons (the engine does)."""
    path = tmp_path / "goi.zip"
    plain = PackageRejected(path, ["gói không có ho-so.json"])
    assert (plain.code, plain.kind, plain.file) == (
        "storage.package.rejected",
        Kind.INVALID,
        str(path),
    )
    assert "gói không có ho-so.json" in str(plain) and "gói không có ho-so.json" in plain.english
    size = PackageProblem("storage.package.size", "kích thước sai", "wrong size")
    checksum = PackageProblem("storage.package.checksum", "mã sai", "wrong hash")
    assert PackageRejected(path, [checksum, checksum]).code == "storage.package.checksum"
    mixed = PackageRejected(path, [size, checksum])
    assert mixed.code == "storage.package.rejected"
    assert mixed.codes == ("storage.package.size", "storage.package.checksum")
    assert "wrong size; wrong hash" in mixed.english
