"""edXML (QCVN 102:2016/BTTTT): documents and status messages between agencies, built and read.

A pure format module: no database, no workspace. What we write has the shape the public SDKs
write (``<edXML>`` holding ``edXMLEnvelope`` — header, manifest — and ``AttachmentEncoded`` with
the base64 files), signed as a whole with an enveloped XML signature, so that changing one byte
of an attachment breaks the signature. What we read is looser, as other systems are: any
namespace prefix (or another namespace), the envelope as the root, dates as ``yyyy/MM/dd``,
``yyyy/MM/dd HH:mm:ss`` or ``dd/MM/yyyy``, unknown elements kept aside and ignored.

Two additions ride in the header, ignored by other systems: ``MessageId`` (one per message,
for receivers to refuse replays) and, in a status message, ``To`` (who is told, by name).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from lxml import etree

from engine.exchange._errors import EdxmlUnreadable
from engine.exchange._safe import load
from engine.exchange._xmldsig import DSIG, SignatureCheck, sign, signature_value_digest, verify
from signing import SigningKey
from vanthu import clock

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
VIETNAM = timezone(timedelta(hours=7), "ICT")
"""edXML times are written in Vietnam time, without an offset."""
MAX_BYTES = 100 * 1024 * 1024

BUSINESS: dict[int, str] = {0: "new", 1: "recall", 2: "update", 3: "replacement"}
"""TraceHeaderList/Bussiness/BussinessDocType."""
_BUSINESS_CODES = {name: code for code, name in BUSINESS.items()}

STATUS_DESCRIPTIONS: dict[str, str] = {
    "01": "Đã đến",
    "02": "Từ chối tiếp nhận",
    "03": "Đã tiếp nhận",
    "04": "Đã phân công",
    "05": "Đang xử lý",
    "06": "Hoàn thành",
    "13": "Đề nghị lấy lại văn bản",
    "15": "Đồng ý",
    "16": "Từ chối",
}
"""The status codes of QCVN 102 with the wording deployed systems show."""

TYPE_CODES: dict[str, str] = {
    "1": "NQ",
    "2": "QĐ",
    "3": "CT",
    "4": "QC",
    "5": "QyĐ",
    "6": "TC",
    "7": "TB",
    "8": "HD",
    "9": "CTr",
    "18": "CV",
    "19": "CĐ",
    "20": "BGN",
    "22": "BTT",
    "24": "GUQ",
    "25": "GM",
    "26": "GGT",
}
"""DocumentType/Type → the abbreviation of Decree 30 (18 is the công văn, which has none)."""

PRIORITIES: dict[int, str] = {0: "Thường", 1: "Khẩn", 2: "Thượng khẩn", 3: "Hỏa tốc"}


def _now() -> datetime:
    return clock.now().astimezone(UTC).replace(microsecond=0)


def _message_id() -> str:
    return uuid.uuid4().hex


def _utc_seconds(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("an edXML timestamp must be timezone-aware")
    return value.astimezone(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class Organ:
    """An agency as edXML names it (From, To)."""

    organ_id: str
    """Mã định danh, e.g. ``000.00.00.H41``."""
    name: str
    in_charge: str = ""
    address: str = ""
    email: str = ""
    telephone: str = ""
    fax: str = ""
    website: str = ""


@dataclass(frozen=True)
class Attachment:
    """A file carried by a document envelope."""

    name: str
    """AttachmentName, e.g. ``01-QD-SNV.pdf``."""
    content_type: str
    data: bytes
    """Decoded, as sent: a zipped ``.doc`` stays zipped (see :meth:`unzipped`)."""
    content_id: str = ""
    """``cid:1``; given in order when left empty."""

    def unzipped(self) -> tuple[str, bytes]:
        """The single file inside a zipped attachment (name, bytes), or this one as it is."""
        if not zipfile.is_zipfile(io.BytesIO(self.data)):
            return self.name, self.data
        with zipfile.ZipFile(io.BytesIO(self.data)) as archive:
            files = [i for i in archive.infolist() if not i.is_dir()]
            if len(files) != 1:
                return self.name, self.data
            return files[0].filename, archive.read(files[0])


@dataclass(frozen=True)
class ResponseFor:
    """The document a reply answers."""

    organ_id: str
    code: str
    promulgation_date: date | None
    document_id: str


@dataclass(frozen=True)
class DocumentEnvelope:
    """A document sent to other agencies (new, or recalling/updating/replacing one)."""

    sender: Organ
    recipients: tuple[Organ, ...]
    document_id: str
    """``<sender OrganId>,<yyyy/MM/dd>,<số/ký hiệu>``: see :func:`make_document_id`."""
    code_number: str
    code_notation: str
    place: str
    promulgation_date: date
    type_code: str
    """DocumentType/Type: ``2`` Quyết định, ``18`` công văn (see :data:`TYPE_CODES`)."""
    type_name: str
    subject: str
    attachments: tuple[Attachment, ...]
    content: str = ""
    signer_competence: str = ""
    signer_position: str = ""
    signer_name: str = ""
    due_date: date | None = None
    priority: int = 0
    """0 normal, 1 Khẩn, 2 Thượng khẩn, 3 Hỏa tốc."""
    steering_type: str = ""
    to_places: tuple[str, ...] = ()
    response_for: ResponseFor | None = None
    business: str = "new"
    """One of :data:`BUSINESS`' values."""
    business_document_id: str = ""
    """The DocumentId a recall, update or replacement is about."""
    business_reason: str = ""
    staff: str = ""
    """StaffInfo/Staff: who sent it."""
    timestamp: datetime = field(default_factory=_now)
    """TraceHeader Timestamp (aware; kept in UTC to the second, written in Vietnam time)."""
    message_id: str = field(default_factory=_message_id)
    """Unique per message; from a foreign envelope without one, a digest of it."""

    def __post_init__(self) -> None:
        if self.business not in _BUSINESS_CODES:
            raise ValueError(f"business must be one of {sorted(_BUSINESS_CODES)}")
        numbered = tuple(
            a if a.content_id else replace(a, content_id=f"cid:{i}")
            for i, a in enumerate(self.attachments, 1)
        )
        object.__setattr__(self, "recipients", tuple(self.recipients))
        object.__setattr__(self, "attachments", numbered)
        object.__setattr__(self, "to_places", tuple(self.to_places))
        object.__setattr__(self, "timestamp", _utc_seconds(self.timestamp))

    @property
    def code(self) -> str:
        """Số/ký hiệu as written on the document: ``05/QĐ-SNV``."""
        return "/".join(p for p in (self.code_number, self.code_notation) if p)


@dataclass(frozen=True)
class StatusMessage:
    """A recipient telling the sender where its document stands."""

    sender: Organ
    """Who reports: the recipient of the document."""
    recipient: Organ
    """Who is told: the document's sender."""
    document_id: str
    """ResponseFor/DocumentId."""
    status_code: str
    """``01``…``06``, ``13``, ``15``, ``16`` (:data:`STATUS_DESCRIPTIONS`)."""
    description: str
    """The standard description; the reason, when given, follows it on the wire after ': '."""
    reason: str = ""
    staff: str = ""
    timestamp: datetime = field(default_factory=_now)
    message_id: str = field(default_factory=_message_id)

    def __post_init__(self) -> None:
        object.__setattr__(self, "timestamp", _utc_seconds(self.timestamp))


def status_message(
    sender: Organ,
    recipient: Organ,
    document_id: str,
    status_code: str,
    reason: str = "",
    **more: Any,
) -> StatusMessage:
    """A status message with the standard description of its code."""
    description = STATUS_DESCRIPTIONS.get(status_code)
    if description is None:
        raise ValueError(f"unknown status code {status_code!r}")
    return StatusMessage(sender, recipient, document_id, status_code, description, reason, **more)


@dataclass(frozen=True)
class Parsed:
    """A message read from bytes, its own signature checked."""

    message: DocumentEnvelope | StatusMessage
    signature: SignatureCheck
    warnings: tuple[str, ...]
    """What was tolerated: ``3 stray bytes before the XML (offset 3) were skipped``."""
    unknown_elements: tuple[str, ...]
    """Elements this reader does not know (``MessageHeader/Foo``), ignored."""

    @property
    def kind(self) -> str:
        return "document" if isinstance(self.message, DocumentEnvelope) else "status"


def make_document_id(organ_id: str, issued: date, symbol: str) -> str:
    """``000.00.00.H41,2026/12/05,05/QĐ-SNV``."""
    return f"{organ_id},{issued:%Y/%m/%d},{symbol}"


# --- building -------------------------------------------------------------------------------


def build_document(envelope: DocumentEnvelope, key: SigningKey) -> bytes:
    """The signed edXML file of ``envelope``."""
    root = etree.Element(_q("edXML"), nsmap={None: NS})
    edxml = _sub(root, "edXMLEnvelope")
    header = _sub(edxml, "edXMLHeader")
    _message_header(_sub(header, "MessageHeader"), envelope)
    _trace_headers(_sub(header, "TraceHeaderList"), envelope)
    manifest = _sub(_sub(edxml, "edXMLBody"), "edXMLManifest")
    manifest.set("version", "1.0")
    encoded = _sub(root, "AttachmentEncoded") if envelope.attachments else None
    for attachment in envelope.attachments:
        reference = _sub(manifest, "Reference")
        _text(reference, "ContentId", attachment.content_id)
        _text(reference, "ContentType", attachment.content_type)
        _text(reference, "AttachmentName", attachment.name)
        assert encoded is not None
        item = _sub(encoded, "Attachment")
        _text(item, "ContentId", attachment.content_id.removeprefix("cid:"))
        _text(item, "AttachmentName", attachment.name)
        _text(item, "ContentType", attachment.content_type)
        _text(item, "ContentTransferEncoded", base64.b64encode(attachment.data).decode())
    sign(root, header, key)
    return _serialise(root)


def build_status(status: StatusMessage, key: SigningKey) -> bytes:
    """The signed status message."""
    root = etree.Element(_q("edXMLEnvelope"), nsmap={None: NS})
    header = _sub(root, "edXMLHeader")
    node = _sub(header, "MessageStatus")
    response = _sub(node, "ResponseFor")
    organ_id, issued, code = _split_document_id(status.document_id)
    _text(response, "OrganId", organ_id or status.recipient.organ_id)
    _text(response, "Code", code)
    _text(response, "PromulgationDate", f"{issued:%Y/%m/%d}" if issued else "")
    _text(response, "DocumentId", status.document_id)
    _organ(_sub(node, "From"), status.sender)
    _text(node, "StatusCode", status.status_code)
    description = status.description
    if status.reason:
        description = f"{description}: {status.reason}"
    _text(node, "Description", description)
    _text(node, "Timestamp", _write_time(status.timestamp))
    staff = _sub(node, "StaffInfo")
    _text(staff, "Department", "")
    _text(staff, "Staff", status.staff)
    _organ(_sub(node, "To"), status.recipient)
    _text(node, "MessageId", status.message_id)
    _sub(root, "edXMLBody")
    sign(root, header, key)
    return _serialise(root)


def _message_header(node: etree._Element, e: DocumentEnvelope) -> None:
    _organ(_sub(node, "From"), e.sender)
    for recipient in e.recipients:
        _organ(_sub(node, "To"), recipient)
    code = _sub(node, "Code")
    _text(code, "CodeNumber", e.code_number)
    _text(code, "CodeNotation", e.code_notation)
    promulgation = _sub(node, "PromulgationInfo")
    _text(promulgation, "Place", e.place)
    _text(promulgation, "PromulgationDate", f"{e.promulgation_date:%Y/%m/%d}")
    kind = _sub(node, "DocumentType")
    _text(kind, "Type", e.type_code)
    _text(kind, "TypeName", e.type_name)
    _text(node, "Subject", e.subject)
    _text(node, "Content", e.content)
    signer = _sub(node, "SignerInfo")
    _text(signer, "Competence", e.signer_competence)
    _text(signer, "Position", e.signer_position)
    _text(signer, "FullName", e.signer_name)
    if e.due_date is not None:
        _text(node, "DueDate", f"{e.due_date:%Y/%m/%d}")
    places = _sub(node, "ToPlaces")
    for place in e.to_places:
        _text(places, "Place", place)
    _text(_sub(node, "OtherInfo"), "Priority", str(e.priority))
    _text(node, "SteeringType", e.steering_type)
    _text(node, "DocumentId", e.document_id)
    if e.response_for is not None:
        r = e.response_for
        response = _sub(node, "ResponseFor")
        _text(response, "OrganId", r.organ_id)
        _text(response, "Code", r.code)
        _text(response, "PromulgationDate", _write_date(r.promulgation_date))
        _text(response, "DocumentId", r.document_id)


def _trace_headers(node: etree._Element, e: DocumentEnvelope) -> None:
    trace = _sub(node, "TraceHeader")
    _text(trace, "OrganId", e.sender.organ_id)
    _text(trace, "Timestamp", _write_time(e.timestamp))
    business = _sub(node, "Bussiness")
    _text(business, "BussinessDocType", str(_BUSINESS_CODES[e.business]))
    _text(business, "BussinessDocReason", e.business_reason)
    if e.business_document_id:
        _text(business, "DocumentId", e.business_document_id)
    staff = _sub(business, "StaffInfo")
    _text(staff, "Department", "")
    _text(staff, "Staff", e.staff)
    _text(business, "Paper", "0")
    _text(node, "MessageId", e.message_id)


def _organ(node: etree._Element, organ: Organ) -> None:
    _text(node, "OrganId", organ.organ_id)
    _text(node, "OrganizationInCharge", organ.in_charge)
    _text(node, "OrganName", organ.name)
    _text(node, "OrganAdd", organ.address)
    _text(node, "Email", organ.email)
    _text(node, "Telephone", organ.telephone)
    _text(node, "Fax", organ.fax)
    _text(node, "Website", organ.website)


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def _sub(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, _q(name))


def _text(parent: etree._Element, name: str, value: str) -> None:
    _sub(parent, name).text = value


def _write_time(value: datetime) -> str:
    return f"{value.astimezone(VIETNAM):%Y/%m/%d %H:%M:%S}"


def _write_date(value: date | None) -> str:
    return f"{value:%Y/%m/%d}" if value else ""


def _serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _split_document_id(document_id: str) -> tuple[str, date | None, str]:
    parts = document_id.split(",", 2)
    if len(parts) != 3:
        return "", None, ""
    try:
        issued = datetime.strptime(parts[1].strip(), "%Y/%m/%d").date()
    except ValueError:
        issued = None
    return parts[0].strip(), issued, parts[2].strip()


# --- reading --------------------------------------------------------------------------------

_KNOWN = frozenset(
    {
        "edXML",
        "edXMLEnvelope",
        "edXMLHeader",
        "edXMLBody",
        "edXMLManifest",
        "Reference",
        "MessageHeader",
        "From",
        "To",
        "OrganId",
        "OrganizationInCharge",
        "OrganName",
        "OrganAdd",
        "Email",
        "Telephone",
        "Fax",
        "Website",
        "Code",
        "CodeNumber",
        "CodeNotation",
        "PromulgationInfo",
        "Place",
        "PromulgationDate",
        "DocumentType",
        "Type",
        "TypeDetail",
        "TypeName",
        "Subject",
        "Content",
        "SignerInfo",
        "Competence",
        "Position",
        "FullName",
        "DueDate",
        "ToPlaces",
        "OtherInfo",
        "Priority",
        "SphereOfPromulgation",
        "TyperNotation",
        "PromulgationAmount",
        "PageAmount",
        "Direction",
        "Appendixes",
        "Appendix",
        "SteeringType",
        "DocumentId",
        "ResponseFor",
        "TraceHeaderList",
        "TraceHeader",
        "Timestamp",
        "Bussiness",
        "BussinessDocType",
        "BussinessDocReason",
        "BussinessDocumentInfo",
        "StaffInfo",
        "Department",
        "Staff",
        "Mobile",
        "Paper",
        "MessageId",
        "AttachmentEncoded",
        "Attachment",
        "ContentId",
        "ContentType",
        "AttachmentName",
        "Description",
        "ContentTransferEncoded",
        "MessageStatus",
        "Status",
        "StatusCode",
        "Envelope",
        "Header",
        "Body",
        "DigitalSignature",
        "ApplicationType",
    }
)
"""Local names this reader knows; others are reported in ``Parsed.unknown_elements``."""
_DATE_FORMATS = ("%Y/%m/%d", "%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y")
_TIME_FORMATS = ("%H:%M:%S", "%H:%M")


def parse(data: bytes, *, max_bytes: int = MAX_BYTES) -> Parsed:
    """Read an edXML document envelope or status message; :class:`EdxmlUnreadable` (one line
    naming the problem, the field or the offset) when it cannot be read."""
    loaded = load(data, max_bytes)
    root = loaded.root
    if _local(root) not in {"edXML", "edXMLEnvelope", "Envelope"}:
        raise _not_edxml(f"the root element is <{_local(root)}>")
    warnings = list(loaded.warnings)
    reader = _Reader(warnings)
    message: DocumentEnvelope | StatusMessage
    header = reader.first(root, "MessageHeader")
    if header is not None:
        message = reader.document(root, header)
    else:
        status = reader.first(root, "MessageStatus")
        if status is None:
            status = reader.first(root, "Status")
        if status is None:
            raise _not_edxml("no MessageHeader or MessageStatus")
        message = reader.status(root, status)
    if not reader.message_id:
        digest = signature_value_digest(root) or hashlib.sha256(loaded.data).hexdigest()
        message = replace(message, message_id=digest)
    check = verify(root, loaded.data)
    if check.present and check.weak:
        warnings.append(f"the signature uses {check.algorithm} (SHA-1, weak)")
    return Parsed(message, check, tuple(warnings), tuple(_unknown(root)))


class _Reader:
    """Field reading by local name, whatever the prefix or namespace."""

    def __init__(self, warnings: list[str]) -> None:
        self.warnings = warnings
        self.message_id = ""

    def first(self, node: etree._Element, name: str) -> etree._Element | None:
        return next(_descendants(node, name), None)

    def child(self, node: etree._Element | None, name: str) -> etree._Element | None:
        if node is None:
            return None
        return next((c for c in _children(node) if _local(c) == name), None)

    def text(self, node: etree._Element | None, *path: str) -> str:
        for name in path:
            node = self.child(node, name)
        return (node.text or "").strip() if node is not None else ""

    def organ(self, node: etree._Element) -> Organ:
        return Organ(
            organ_id=self.text(node, "OrganId"),
            name=self.text(node, "OrganName"),
            in_charge=self.text(node, "OrganizationInCharge"),
            address=self.text(node, "OrganAdd"),
            email=self.text(node, "Email"),
            telephone=self.text(node, "Telephone"),
            fax=self.text(node, "Fax"),
            website=self.text(node, "Website"),
        )

    def document(self, root: etree._Element, header: etree._Element) -> DocumentEnvelope:
        sender_node = self.child(header, "From")
        sender = self.organ(sender_node) if sender_node is not None else None
        if sender is None or not sender.organ_id:
            raise _missing("MessageHeader/From/OrganId")
        recipients = tuple(self.organ(c) for c in _children(header) if _local(c) == "To")
        if not recipients:
            self.warnings.append("the envelope names no recipient (To)")
        issued = self.date(
            self.text(header, "PromulgationInfo", "PromulgationDate"),
            "PromulgationInfo/PromulgationDate",
        )
        if issued is None:
            raise _missing("MessageHeader/PromulgationInfo/PromulgationDate")
        number = self.text(header, "Code", "CodeNumber")
        notation = self.text(header, "Code", "CodeNotation")
        document_id = self.text(header, "DocumentId")
        if not document_id:
            symbol = "/".join(p for p in (number, notation) if p)
            document_id = make_document_id(sender.organ_id, issued, symbol)
            self.warnings.append(f"no DocumentId: made {document_id!r} from From, Code and date")
        subject = self.text(header, "Subject")
        if not subject:
            self.warnings.append("the envelope has no Subject")
        trace = self.first(root, "TraceHeaderList")
        business = self.child(trace, "Bussiness")
        self.message_id = self.text(trace, "MessageId")
        return DocumentEnvelope(
            sender=sender,
            recipients=recipients,
            document_id=document_id,
            code_number=number,
            code_notation=notation,
            place=self.text(header, "PromulgationInfo", "Place"),
            promulgation_date=issued,
            type_code=self.text(header, "DocumentType", "Type"),
            type_name=self.text(header, "DocumentType", "TypeName"),
            subject=subject,
            attachments=tuple(self.attachments(root)),
            content=self.text(header, "Content"),
            signer_competence=self.text(header, "SignerInfo", "Competence"),
            signer_position=self.text(header, "SignerInfo", "Position"),
            signer_name=self.text(header, "SignerInfo", "FullName"),
            due_date=self.date(self.text(header, "DueDate"), "DueDate"),
            priority=self.priority(self.text(header, "OtherInfo", "Priority")),
            steering_type=self.text(header, "SteeringType"),
            to_places=tuple(
                (p.text or "").strip()
                for p in _children(self.child(header, "ToPlaces"))
                if _local(p) == "Place" and (p.text or "").strip()
            ),
            response_for=self.response_for(self.child(header, "ResponseFor")),
            business=self.business(self.text(business, "BussinessDocType")),
            business_document_id=self.text(business, "DocumentId"),
            business_reason=self.text(business, "BussinessDocReason"),
            staff=self.text(business, "StaffInfo", "Staff"),
            timestamp=self.time(
                self.text(trace, "TraceHeader", "Timestamp"), "TraceHeader/Timestamp"
            ),
            message_id=self.message_id or "-",
        )

    def status(self, root: etree._Element, node: etree._Element) -> StatusMessage:
        sender_node = self.child(node, "From")
        sender = self.organ(sender_node) if sender_node is not None else None
        if sender is None or not sender.organ_id:
            raise _missing("MessageStatus/From/OrganId")
        code = self.text(node, "StatusCode")
        if not code:
            raise _missing("MessageStatus/StatusCode")
        code = code.zfill(2)
        if code not in STATUS_DESCRIPTIONS:
            self.warnings.append(f"status code {code!r} is not one of QCVN 102's")
        to_node = self.child(node, "To")
        recipient = (
            self.organ(to_node)
            if to_node is not None
            else Organ(self.text(node, "ResponseFor", "OrganId"), "")
        )
        description, reason = self.text(node, "Description"), ""
        standard = STATUS_DESCRIPTIONS.get(code, "")
        if standard and description.startswith(f"{standard}: "):
            description, reason = standard, description[len(standard) + 2 :]
        self.message_id = self.text(node, "MessageId")
        return StatusMessage(
            sender=sender,
            recipient=recipient,
            document_id=self.text(node, "ResponseFor", "DocumentId"),
            status_code=code,
            description=description or standard,
            reason=reason,
            staff=self.text(node, "StaffInfo", "Staff"),
            timestamp=self.time(self.text(node, "Timestamp"), "MessageStatus/Timestamp"),
            message_id=self.message_id or "-",
        )

    def response_for(self, node: etree._Element | None) -> ResponseFor | None:
        if node is None:
            return None
        return ResponseFor(
            organ_id=self.text(node, "OrganId"),
            code=self.text(node, "Code"),
            promulgation_date=self.date(
                self.text(node, "PromulgationDate"), "ResponseFor/PromulgationDate"
            ),
            document_id=self.text(node, "DocumentId"),
        )

    def attachments(self, root: etree._Element) -> Iterator[Attachment]:
        listed = [
            (self.text(r, "ContentId"), self.text(r, "ContentType"), self.text(r, "AttachmentName"))
            for r in _descendants(root, "Reference")
            if _local(r.getparent()) == "edXMLManifest"
        ]
        carried = [
            a
            for a in _descendants(root, "Attachment")
            if self.child(a, "ContentTransferEncoded") is not None
        ]
        by_id = {_bare(self.text(a, "ContentId")): a for a in carried}
        used: set[int] = set()
        for content_id, content_type, name in listed:
            node = by_id.get(_bare(content_id)) if content_id else None
            if node is None:
                node = next((a for a in carried if self.text(a, "AttachmentName") == name), None)
            if node is None or id(node) in used:
                self.warnings.append(f"attachment {name or content_id!r} is listed but not carried")
                continue
            used.add(id(node))
            yield self.attachment(node, name, content_type, content_id)
        for node in carried:
            if id(node) not in used:
                name = self.text(node, "AttachmentName")
                self.warnings.append(f"attachment {name!r} is carried but not in the manifest")
                yield self.attachment(node, name, self.text(node, "ContentType"), "")

    def attachment(
        self, node: etree._Element, name: str, content_type: str, content_id: str
    ) -> Attachment:
        name = name or self.text(node, "AttachmentName")
        encoded = "".join((self.text(node, "ContentTransferEncoded")).split())
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise EdxmlUnreadable(
                f"tệp đính kèm '{name}': mã base64 hỏng ({exc})",
                f"attachment '{name}': broken base64 ({exc})",
                code="exchange.edxml.bad_base64",
                attachment=name,
            ) from None
        content_id = content_id or "cid:" + _bare(self.text(node, "ContentId"))
        if not content_id.startswith("cid:"):
            content_id = f"cid:{content_id}"
        return Attachment(
            name=name,
            content_type=content_type
            or self.text(node, "ContentType")
            or "application/octet-stream",
            data=data,
            content_id=content_id,
        )

    def date(self, value: str, where: str) -> date | None:
        if not value:
            return None
        moment = _read_moment(value)
        if moment is None:
            raise _bad_date(where, value)
        return moment.date()

    def time(self, value: str, where: str) -> datetime:
        if not value:
            self.warnings.append(f"no {where} time: the time of reading is used")
            return _now()
        moment = _read_moment(value)
        if moment is None:
            raise _bad_date(where, value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=VIETNAM)
        return moment

    def priority(self, value: str) -> int:
        if not value:
            return 0
        if value.isdigit() and int(value) in PRIORITIES:
            return int(value)
        self.warnings.append(f"priority {value!r} is not 0–3: read as normal")
        return 0

    def business(self, value: str) -> str:
        if not value:
            return "new"
        if value.isdigit() and int(value) in BUSINESS:
            return BUSINESS[int(value)]
        raise EdxmlUnreadable(
            f"BussinessDocType '{value}' không phải 0, 1, 2 hay 3",
            f"BussinessDocType '{value}' is not 0, 1, 2 or 3",
            code="exchange.edxml.bad_business",
        )


def _read_moment(value: str) -> datetime | None:
    value = value.strip()
    for day in _DATE_FORMATS:
        for pattern in (day, *(f"{day} {t}" for t in _TIME_FORMATS)):
            try:
                return datetime.strptime(value, pattern)
            except ValueError:
                continue
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _local(node: etree._Element | None) -> str:
    if node is None or not isinstance(node.tag, str):
        return ""
    return etree.QName(node).localname


def _children(node: etree._Element | None) -> Iterator[etree._Element]:
    if node is None:
        return iter(())
    return (c for c in node if isinstance(c.tag, str))


def _descendants(node: etree._Element, name: str) -> Iterator[etree._Element]:
    for found in node.iter():
        if _local(found) == name and not _in_signature(found):
            yield found


def _in_signature(node: etree._Element) -> bool:
    return any(
        isinstance(a.tag, str) and etree.QName(a).namespace == DSIG for a in node.iterancestors()
    )


def _unknown(root: etree._Element) -> list[str]:
    found: list[str] = []
    for node in root.iter():
        if not isinstance(node.tag, str) or etree.QName(node).namespace == DSIG:
            continue
        parent = _local(node.getparent())
        if _local(node) not in _KNOWN and parent in _KNOWN and not _in_signature(node):
            path = f"{parent}/{_local(node)}"
            if path not in found:
                found.append(path)
    return found


def _bare(content_id: str) -> str:
    return re.sub(r"^cid:", "", content_id.strip()).strip("<>")


def _not_edxml(why: str) -> EdxmlUnreadable:
    return EdxmlUnreadable(
        f"không phải thông điệp edXML ({why})",
        f"not an edXML message ({why})",
        code="exchange.edxml.not_edxml",
    )


def _missing(path: str) -> EdxmlUnreadable:
    return EdxmlUnreadable(
        f"thiếu trường bắt buộc {path}",
        f"the required field {path} is missing",
        code="exchange.edxml.missing_field",
        field=path,
    )


def _bad_date(where: str, value: str) -> EdxmlUnreadable:
    return EdxmlUnreadable(
        f"ngày giờ không đọc được ở {where}: '{value}'",
        f"unreadable date or time in {where}: '{value}'",
        code="exchange.edxml.bad_date",
        field=where,
    )
