"""The XML of a transfer package: root and representation METS (E-ARK CSIP 2.0), PREMIS 3,
a Dublin Core description in Vietnamese, the catalogue of documents (mục lục văn bản) that is
the package's documentation, and the XML schemas it carries. Values in, bytes out; nothing
here reads a store."""

from __future__ import annotations

import csv
import hashlib
import io
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata as package_metadata
from importlib import resources
from typing import Any
from urllib.parse import quote

from storage._records import RecordManifest

METS = "http://www.loc.gov/METS/"
CSIP = "https://DILCIS.eu/XML/METS/CSIPExtensionMETS"
XLINK = "http://www.w3.org/1999/xlink"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
PREMIS = "http://www.loc.gov/premis/v3"
DC = "http://purl.org/dc/elements/1.1/"
PROFILE = "https://earkcsip.dilcis.eu/profile/E-ARK-CSIP.xml"
CONTENT_TYPE = "Textual works – Digital"
"""A term of the CSIP content category vocabulary, spelt as it is there (an en dash)."""
OTHER_CONTENT_INFORMATION_TYPE = "Vanthu: hồ sơ điện tử (Thông tư 05/2025/TT-BNV)"
SCHEMA_LOCATIONS = (
    f"{METS} http://www.loc.gov/standards/mets/mets.xsd"
    f" {XLINK} http://www.loc.gov/standards/mets/xlink.xsd"
    f" {CSIP} https://earkcsip.dilcis.eu/schema/DILCISExtensionMETS.xsd"
)
SHA256 = "SHA-256"
SCHEMAS = ("mets.xsd", "xlink.xsd", "DILCISExtensionMETS.xsd")
"""The schemas the METS documents use, shipped in storage/schemas and carried in every package
(CSIP113): mets.xsd and xlink.xsd from the Library of Congress, DILCISExtensionMETS.xsd from
the DILCIS Board."""
CATALOGUE = "documentation/muc-luc-van-ban.csv"

for _prefix, _uri in (
    ("mets", METS),
    ("csip", CSIP),
    ("xlink", XLINK),
    ("xsi", XSI),
    ("premis", PREMIS),
    ("dc", DC),
):
    ET.register_namespace(_prefix, _uri)


@dataclass
class PackageFile:
    """One file of the package: its path under the package folder and its bytes."""

    path: str
    data: bytes
    mime: str
    created: datetime
    sha256: str = field(init=False)

    def __post_init__(self) -> None:
        self.sha256 = hashlib.sha256(self.data).hexdigest()


@dataclass
class PackageRecord:
    """One record as packaged: every revision's manifest and every distinct object."""

    record_id: str
    revisions: tuple[RecordManifest, ...]
    manifests: list[PackageFile]
    data: list[tuple[PackageFile, str, str]]
    """(file, role, original name) for every distinct object of every revision."""


def q(tag: str, namespace: str = METS) -> str:
    return f"{{{namespace}}}{tag}"


def iso(stamp: datetime) -> str:
    return stamp.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def software_version() -> str:
    try:
        return package_metadata.version("vanthu")
    except package_metadata.PackageNotFoundError:
        return "0"


def _mets_header(root: ET.Element, now: datetime, agency: str | None, package_type: str) -> None:
    header = ET.SubElement(
        root,
        q("metsHdr"),
        {
            "CREATEDATE": iso(now),
            "LASTMODDATE": iso(now),
            "RECORDSTATUS": "NEW",
            q("OAISPACKAGETYPE", CSIP): package_type,
        },
    )
    software = ET.SubElement(
        header, q("agent"), {"ROLE": "CREATOR", "TYPE": "OTHER", "OTHERTYPE": "SOFTWARE"}
    )
    ET.SubElement(software, q("name")).text = "Vanthu"
    ET.SubElement(
        software, q("note"), {q("NOTETYPE", CSIP): "SOFTWARE VERSION"}
    ).text = software_version()
    if agency:
        organisation = ET.SubElement(
            header, q("agent"), {"ROLE": "CREATOR", "TYPE": "ORGANIZATION"}
        )
        ET.SubElement(organisation, q("name")).text = agency


def _mets_root(objid: str, label: str | None) -> ET.Element:
    attributes = {
        "OBJID": objid,
        "TYPE": CONTENT_TYPE,
        q("CONTENTINFORMATIONTYPE", CSIP): "OTHER",
        q("OTHERCONTENTINFORMATIONTYPE", CSIP): OTHER_CONTENT_INFORMATION_TYPE,
        "PROFILE": PROFILE,
        q("schemaLocation", XSI): SCHEMA_LOCATIONS,
    }
    if label:
        attributes["LABEL"] = label
    return ET.Element(q("mets"), attributes)


def _file_attributes(item: PackageFile, identifier: str) -> dict[str, str]:
    return {
        "ID": identifier,
        "MIMETYPE": item.mime,
        "SIZE": str(len(item.data)),
        "CREATED": iso(item.created),
        "CHECKSUM": item.sha256,
        "CHECKSUMTYPE": SHA256,
    }


def _md_ref(parent: ET.Element, item: PackageFile, href: str, mdtype: str) -> None:
    attributes = {
        "LOCTYPE": "URL",
        q("type", XLINK): "simple",
        q("href", XLINK): quote(href),
        "MDTYPE": mdtype,
        "MIMETYPE": item.mime,
        "SIZE": str(len(item.data)),
        "CREATED": iso(item.created),
        "CHECKSUM": item.sha256,
        "CHECKSUMTYPE": SHA256,
    }
    if mdtype == "OTHER":
        attributes["OTHERMDTYPE"] = (
            "VANTHU-HO-SO-JSON" if item.path.endswith("ho-so.json") else "VANTHU-RECORD-JSON"
        )
    ET.SubElement(parent, q("mdRef"), attributes)


def root_mets(
    package_id: str,
    file_metadata: Mapping[str, Any],
    agency: str | None,
    package_type: str,
    now: datetime,
    descriptive: Sequence[PackageFile],
    premis: PackageFile,
    rep_mets: PackageFile,
    documentation: Sequence[PackageFile],
    schemas: Sequence[PackageFile],
) -> bytes:
    """The package's METS: its file groups Documentation, Schemas and Representations/rep1
    (CSIP60, CSIP113, CSIP114) and the CSIP structMap dividing it into Metadata,
    Documentation, Schemas and the representation (CSIP88–CSIP105)."""
    title = first_of(file_metadata, "title", "tiêu_đề", "tieu_de", "tên_hồ_sơ")
    root = _mets_root(package_id, title)
    _mets_header(root, now, agency, package_type)
    dmd_ids = []
    for number, item in enumerate(descriptive, start=1):
        identifier = f"dmd-{number}"
        dmd_ids.append(identifier)
        section = ET.SubElement(
            root,
            q("dmdSec"),
            {"ID": identifier, "CREATED": iso(item.created), "STATUS": "CURRENT"},
        )
        _md_ref(section, item, item.path, "DC" if item.path.endswith("dc.xml") else "OTHER")
    amd = ET.SubElement(root, q("amdSec"), {"ID": "amd-1"})
    digiprov = ET.SubElement(
        amd, q("digiprovMD"), {"ID": "digiprov-premis", "CREATED": iso(now), "STATUS": "CURRENT"}
    )
    _md_ref(digiprov, premis, premis.path, "PREMIS")
    file_sec = ET.SubElement(root, q("fileSec"), {"ID": "filesec-1"})
    _file_group(file_sec, "filegrp-documentation", "Documentation", "file-doc", documentation)
    _file_group(file_sec, "filegrp-schemas", "Schemas", "file-schema", schemas)
    rep_group = _file_group(file_sec, "filegrp-rep1", "Representations/rep1", "", [])
    rep_group.set(q("CONTENTINFORMATIONTYPE", CSIP), "OTHER")  # CSIP62, as the package's
    rep_group.set(q("OTHERCONTENTINFORMATIONTYPE", CSIP), OTHER_CONTENT_INFORMATION_TYPE)
    entry = ET.SubElement(rep_group, q("file"), _file_attributes(rep_mets, "file-rep1-mets"))
    ET.SubElement(
        entry,
        q("FLocat"),
        {"LOCTYPE": "URL", q("type", XLINK): "simple", q("href", XLINK): quote(rep_mets.path)},
    )
    struct = ET.SubElement(
        root, q("structMap"), {"ID": "structmap-csip", "TYPE": "PHYSICAL", "LABEL": "CSIP"}
    )
    top = ET.SubElement(struct, q("div"), {"ID": "div-root", "LABEL": package_id})
    ET.SubElement(
        top,
        q("div"),
        {
            "ID": "div-metadata",
            "LABEL": "Metadata",
            "DMDID": " ".join(dmd_ids),
            "ADMID": "digiprov-premis",
        },
    )
    for label, group_id in (
        ("Documentation", "filegrp-documentation"),
        ("Schemas", "filegrp-schemas"),
    ):
        division = ET.SubElement(top, q("div"), {"ID": f"div-{label.lower()}", "LABEL": label})
        ET.SubElement(division, q("fptr"), {"FILEID": group_id})
    rep = ET.SubElement(top, q("div"), {"ID": "div-rep1", "LABEL": "Representations/rep1"})
    ET.SubElement(
        rep,
        q("mptr"),
        {
            "LOCTYPE": "URL",
            q("type", XLINK): "simple",
            q("href", XLINK): quote(rep_mets.path),
            q("title", XLINK): "filegrp-rep1",
        },
    )
    return serialise(root)


def _file_group(
    parent: ET.Element, group_id: str, use: str, prefix: str, items: Sequence[PackageFile]
) -> ET.Element:
    group = ET.SubElement(parent, q("fileGrp"), {"ID": group_id, "USE": use})
    for number, item in enumerate(items, start=1):
        entry = ET.SubElement(group, q("file"), _file_attributes(item, f"{prefix}-{number}"))
        ET.SubElement(
            entry,
            q("FLocat"),
            {"LOCTYPE": "URL", q("type", XLINK): "simple", q("href", XLINK): quote(item.path)},
        )
    return group


def schema_files(now: datetime) -> list[PackageFile]:
    """The XML schemas of the package's METS, as files under schemas/."""
    folder = resources.files("storage").joinpath("schemas")
    return [
        PackageFile(f"schemas/{name}", folder.joinpath(name).read_bytes(), "application/xml", now)
        for name in SCHEMAS
    ]


def catalogue(records: Sequence[PackageRecord]) -> bytes:
    """The catalogue of documents in the case file (mục lục văn bản: number and symbol, date,
    author, summary, pages), one row per record, with where its PDF is in the package; CSV in
    UTF-8 with a byte order mark, so that a spreadsheet shows the Vietnamese as it is."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [
            "Số TT",
            "Số, ký hiệu văn bản",
            "Ngày tháng văn bản",
            "Tác giả văn bản",
            "Trích yếu nội dung văn bản",
            "Số trang",
            "Mã bản lưu",
            "Tệp trong gói",
        ]
    )
    for number, record in enumerate(records, start=1):
        meta = record.revisions[-1].metadata
        pdf = next((item.path for item, role, _ in record.data if role == "pdf"), "")
        writer.writerow(
            [
                number,
                number_and_symbol(meta) or "",
                _day(first_of(meta, "issued_at", "ngày_ban_hành", "ngày", "date")),
                first_of(meta, "agency", "tác_giả", "cơ_quan") or "",
                first_of(meta, "subject", "trích_yếu", "trich_yeu") or "",
                first_of(meta, "pages", "số_trang") or "",
                record.record_id,
                pdf,
            ]
        )
    return out.getvalue().encode("utf-8-sig")


def number_and_symbol(meta: Mapping[str, Any]) -> str | None:
    """'01/QĐ-SNV': a record's symbol when it holds the number already (as Vanthu's do),
    else its number and symbol joined, or the one given."""
    number = first_of(meta, "number", "số_ký_hiệu", "so_ky_hieu", "số")
    symbol = first_of(meta, "symbol", "ký_hiệu")
    if number and symbol and "/" not in symbol:
        return f"{number}/{symbol}"
    return symbol or number


def _day(value: str | None) -> str:
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value).strftime("%d/%m/%Y")
    except ValueError:
        return value


def representation_mets(
    package_id: str, data: Sequence[PackageFile], now: datetime, package_type: str
) -> bytes:
    root = _mets_root(f"{package_id}/rep1", None)
    _mets_header(root, now, None, package_type)
    file_sec = ET.SubElement(root, q("fileSec"), {"ID": "filesec-1"})
    group = ET.SubElement(file_sec, q("fileGrp"), {"ID": "filegrp-data", "USE": "Data"})
    struct = ET.SubElement(
        root, q("structMap"), {"ID": "structmap-csip", "TYPE": "PHYSICAL", "LABEL": "CSIP"}
    )
    top = ET.SubElement(struct, q("div"), {"ID": "div-root", "LABEL": "rep1"})
    division = ET.SubElement(top, q("div"), {"ID": "div-data", "LABEL": "Data"})
    for number, item in enumerate(data, start=1):
        identifier = f"file-{number}"
        entry = ET.SubElement(group, q("file"), _file_attributes(item, identifier))
        href = quote(item.path.removeprefix("representations/rep1/"))
        ET.SubElement(
            entry,
            q("FLocat"),
            {"LOCTYPE": "URL", q("type", XLINK): "simple", q("href", XLINK): href},
        )
        ET.SubElement(division, q("fptr"), {"FILEID": identifier})
    return serialise(root)


def first_of(values: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = values.get(name)
        if value not in (None, ""):
            return str(value)
    return None


def dublin_core(
    package_id: str,
    file_metadata: Mapping[str, Any],
    records: Sequence[PackageRecord],
    agency: str | None,
) -> bytes:
    root = ET.Element("metadata", {"xml:lang": "vi"})

    def add(tag: str, value: object) -> None:
        if value not in (None, ""):
            ET.SubElement(root, q(tag, DC)).text = str(value)

    add("identifier", first_of(file_metadata, "code", "mã_hồ_sơ", "ma_ho_so") or package_id)
    add("title", first_of(file_metadata, "title", "tiêu_đề", "tieu_de", "tên_hồ_sơ") or package_id)
    add("creator", agency or first_of(file_metadata, "agency", "cơ_quan", "đơn_vị", "unit"))
    add("type", "Hồ sơ")
    add("language", first_of(file_metadata, "language", "ngôn_ngữ") or "vi")
    add("rights", first_of(file_metadata, "access", "chế_độ_sử_dụng", "access_level"))
    start = first_of(file_metadata, "start_date", "thời_gian_bắt_đầu", "opened_at")
    end = first_of(file_metadata, "end_date", "thời_gian_kết_thúc", "closed_at")
    if start or end:
        add("date", f"{start or ''}/{end or ''}")
    keywords = file_metadata.get("keywords") or file_metadata.get("từ_khóa")
    if isinstance(keywords, list | tuple):
        for keyword in keywords:
            add("subject", keyword)
    elif keywords:
        add("subject", keywords)
    retention = first_of(file_metadata, "retention", "thời_hạn_bảo_quản", "retention_class")
    documents = len(records)
    summary = f"Hồ sơ gồm {documents} văn bản"
    if retention:
        summary += f"; thời hạn bảo quản: {retention}"
    add("description", summary + ".")
    for record in records:
        newest = record.revisions[-1]
        subject = first_of(newest.metadata, "subject", "trích_yếu", "trich_yeu")
        number = first_of(newest.metadata, "number", "số_ký_hiệu", "so_ky_hieu", "số")
        label = " — ".join(part for part in (number, subject) if part)
        add("relation", f"{record.record_id}: {label}" if label else record.record_id)
    add("format", "application/pdf")
    return serialise(root)


class _Premis:
    """A PREMIS 3 document under construction: objects first, then events, then agents."""

    def __init__(self, agency: str | None) -> None:
        self.root = ET.Element(q("premis", PREMIS), {"version": "3.0"})
        self.events: list[ET.Element] = []
        self.agents: list[tuple[tuple[str, str], str]] = [
            (("local", "vanthu"), "executing program")
        ]
        if agency:
            self.agents.append((("local", f"agency:{agency}"), "implementer"))

    def text(self, parent: ET.Element, tag: str, value: str) -> ET.Element:
        element = ET.SubElement(parent, q(tag, PREMIS))
        element.text = value
        return element

    def identifier(self, parent: ET.Element, tag: str, kind: str, value: str) -> None:
        holder = ET.SubElement(parent, q(tag, PREMIS))
        self.text(holder, f"{tag}Type", kind)
        self.text(holder, f"{tag}Value", value)

    def entity(self, record_id: str) -> None:
        entity = ET.SubElement(
            self.root, q("object", PREMIS), {q("type", XSI): "premis:intellectualEntity"}
        )
        self.identifier(entity, "objectIdentifier", "local", record_id)

    def file(self, item: PackageFile, original: str, record_id: str) -> None:
        obj = ET.SubElement(self.root, q("object", PREMIS), {q("type", XSI): "premis:file"})
        self.identifier(obj, "objectIdentifier", "local", item.path)
        characteristics = ET.SubElement(obj, q("objectCharacteristics", PREMIS))
        self.text(characteristics, "compositionLevel", "0")
        fixity = ET.SubElement(characteristics, q("fixity", PREMIS))
        self.text(fixity, "messageDigestAlgorithm", SHA256)
        self.text(fixity, "messageDigest", item.sha256)
        self.text(characteristics, "size", str(len(item.data)))
        fmt = ET.SubElement(characteristics, q("format", PREMIS))
        self.text(ET.SubElement(fmt, q("formatDesignation", PREMIS)), "formatName", item.mime)
        self.text(obj, "originalName", original)
        relation = ET.SubElement(obj, q("relationship", PREMIS))
        self.text(relation, "relationshipType", "structural")
        self.text(relation, "relationshipSubType", "is included in")
        self.identifier(relation, "relatedObjectIdentifier", "local", record_id)

    def event(self, kind: str, when: datetime, detail: str, objects: Sequence[str]) -> None:
        element = ET.Element(q("event", PREMIS))
        self.identifier(element, "eventIdentifier", "local", f"event-{len(self.events) + 1}")
        self.text(element, "eventType", kind)
        self.text(element, "eventDateTime", iso(when))
        information = ET.SubElement(element, q("eventDetailInformation", PREMIS))
        self.text(information, "eventDetail", detail)
        outcome = ET.SubElement(element, q("eventOutcomeInformation", PREMIS))
        self.text(outcome, "eventOutcome", "success")
        for (kind_of_id, value), role in self.agents:
            link = ET.SubElement(element, q("linkingAgentIdentifier", PREMIS))
            self.text(link, "linkingAgentIdentifierType", kind_of_id)
            self.text(link, "linkingAgentIdentifierValue", value)
            self.text(link, "linkingAgentRole", role)
        for value in objects:
            link = ET.SubElement(element, q("linkingObjectIdentifier", PREMIS))
            self.text(link, "linkingObjectIdentifierType", "local")
            self.text(link, "linkingObjectIdentifierValue", value)
        self.events.append(element)

    def finish(self, agency: str | None) -> bytes:
        self.root.extend(self.events)
        software = ET.SubElement(self.root, q("agent", PREMIS))
        self.identifier(software, "agentIdentifier", *self.agents[0][0])
        self.text(software, "agentName", "Vanthu")
        self.text(software, "agentType", "software")
        self.text(software, "agentVersion", software_version())
        if agency:
            body = ET.SubElement(self.root, q("agent", PREMIS))
            self.identifier(body, "agentIdentifier", *self.agents[1][0])
            self.text(body, "agentName", agency)
            self.text(body, "agentType", "organization")
        return serialise(self.root)


def premis_xml(
    records: Sequence[PackageRecord], now: datetime, agency: str | None, package_id: str
) -> bytes:
    """PREMIS 3: every data file with its SHA-256, each record as an intellectual entity, and
    the events: ingestion and revisions of each record, the fixity check and the transfer."""
    writer = _Premis(agency)
    all_files = []
    for record in records:
        writer.entity(record.record_id)
        for item, _, original in record.data:
            writer.file(item, original, record.record_id)
            all_files.append(item.path)
        first = record.revisions[0]
        first_shas = {ref.sha256 for ref in first.objects}
        first_files = [item.path for item, _, _ in record.data if item.sha256 in first_shas]
        writer.event(
            "ingestion",
            first.created_at,
            f"Lưu bản lưu {record.record_id} vào kho lưu trữ Vanthu",
            [record.record_id, *first_files],
        )
        for later in record.revisions[1:]:
            writer.event(
                "modification",
                later.revised_at or later.created_at,
                f"Phiên bản {later.revision} của bản lưu {record.record_id}: {later.reason or ''}",
                [record.record_id],
            )
    writer.event(
        "fixity check",
        now,
        f"Tính lại SHA-256 của {len(all_files)} tệp trước khi đóng gói: tất cả khớp",
        all_files,
    )
    writer.event(
        "transfer",
        now,
        f"Đóng gói {package_id} theo cấu trúc E-ARK CSIP để nộp lưu",
        [record.record_id for record in records],
    )
    return writer.finish(agency)


def serialise(root: ET.Element) -> bytes:
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
