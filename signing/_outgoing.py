"""The outgoing flow's two signatures: the leader certifies, the clerk issues with the seal.

The leader signs before the number exists, so the certification allows form filling only
(DocMDP level 2). The clerk's update fills number and date and signs the agency seal into the
field prepared for it, in one incremental update, so a validator reports the change after the
leader's signature as form filling and nothing else.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import DiffResult, ModificationLevel
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.signers import PdfSignatureMetadata
from pyhanko.sign.validation import read_certification_data
from pyhanko.sign.validation.generic_cms import validate_sig_integrity
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel

from signing._errors import SigningError
from signing._fields import FieldState, form_fields, has_signatures, open_for_update, read_pdf
from signing._filling import fill_text_field
from signing._fonts import SERIF_ITALIC, SERIF_REGULAR
from signing._layout import FIELD_DATE, FIELD_NUMBER, FIELD_SEAL, FIELD_SIGNER
from signing._policy import certificate_kind, common_name
from signing._sign import sign_failed, sign_into_field, signature_metadata
from signing._signer import SigningKey
from signing._stamps import PreparedAppearance, image_appearance
from vanthu.errors import Kind

DEFAULT_REASON = "Phê duyệt và ký ban hành"
SEAL_REASON = "Ban hành văn bản"
_ALLOWED_BEFORE_ISSUE = (ModificationLevel.NONE, ModificationLevel.FORM_FILLING)


def certify(
    pdf: bytes,
    key: SigningKey,
    signature_image: bytes,
    *,
    reason: str = DEFAULT_REASON,
    location: str | None = None,
) -> bytes:
    """The leader's certification signature in the signer field; later, form filling only."""
    if key.kind == "organisation":
        raise SigningError(
            "chứng thư số của cơ quan không dùng để ký phê duyệt: người có thẩm quyền ký bằng "
            "chứng thư số cá nhân",
            "the agency's certificate is not for the approval signature: the authorised person "
            "signs with a personal certificate",
            code="signing.policy.wrong_kind",
            certificate_serial=key.serial,
            expected="person",
            found="organisation",
        )
    key.check_usable()
    reader = read_pdf(pdf)
    if has_signatures(reader):
        raise SigningError(
            "PDF đã có chữ ký số: chữ ký phê duyệt (chứng nhận) phải là chữ ký đầu",
            "the PDF already has a digital signature: the approval (certification) signature "
            "must be the first",
            code="signing.certify.already_signed",
            kind=Kind.CONFLICT,
        )
    _require_empty_fields(form_fields(reader))
    writer = _writer(pdf)
    metadata = signature_metadata(FIELD_SIGNER, certify=True, reason=reason, location=location)
    style = image_appearance(signature_image, "chữ ký")
    return _sign(writer, metadata, key, style)


def issue(pdf: bytes, *, number: str, date_text: str, key: SigningKey, seal_image: bytes) -> bytes:
    """Fill number and date, then sign the agency seal: one incremental update."""
    if not number.strip() or not date_text.strip():
        raise SigningError(
            "cần cả số, ký hiệu và ngày tháng để ban hành",
            "issuing needs both the number and symbol and the date",
            code="signing.issue.number_missing",
            kind=Kind.INVALID,
        )
    if key.kind == "person":
        raise SigningError(
            "chứng thư số cá nhân không dùng để đóng dấu ban hành: cần chứng thư số của cơ quan",
            "a personal certificate is not for the issuing seal: the agency's certificate is "
            "needed",
            code="signing.policy.wrong_kind",
            certificate_serial=key.serial,
            expected="organisation",
            found="person",
        )
    key.check_usable()
    seal = image_appearance(seal_image, "con dấu", real_size=True)
    writer = open_for_update(pdf)
    _require_empty_fields(form_fields(writer.prev))
    _require_personal_certification(writer.prev, key)
    fill_text_field(writer, FIELD_NUMBER, number.strip(), SERIF_REGULAR)
    # the date line is italic in Decree 30 (Appendix I), like the place name before it
    fill_text_field(writer, FIELD_DATE, date_text.strip(), SERIF_ITALIC)
    metadata = signature_metadata(FIELD_SEAL, certify=False, reason=SEAL_REASON)
    return _sign(writer, metadata, key, seal)


def _writer(pdf: bytes) -> IncrementalPdfFileWriter:
    try:
        return IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    except (PdfError, ValueError, KeyError) as exc:
        raise SigningError(
            f"tệp PDF hỏng, không ghi thêm được: {exc}",
            f"the PDF is broken, nothing can be added to it: {exc}",
            code="signing.pdf.unreadable",
            kind=Kind.INVALID,
        ) from exc


def _sign(
    writer: IncrementalPdfFileWriter,
    metadata: PdfSignatureMetadata,
    key: SigningKey,
    style: PreparedAppearance,
) -> bytes:
    try:
        return sign_into_field(writer, metadata, key, style)
    except (PdfError, ValueError) as exc:  # pyHanko's SigningError is a ValueError
        raise sign_failed(exc, key) from exc


@dataclass(frozen=True)
class _Expected:
    """A field every Decree 30 document carries before it is issued."""

    name: str
    kind: str
    label: str


_EXPECTED = (
    _Expected(FIELD_NUMBER, "/Tx", "số, ký hiệu"),
    _Expected(FIELD_DATE, "/Tx", "ngày ban hành"),
    _Expected(FIELD_SEAL, "/Sig", "chữ ký của cơ quan"),
)
_LABELS_EN = {
    FIELD_NUMBER: "number and symbol",
    FIELD_DATE: "date of issue",
    FIELD_SEAL: "agency's signature",
    FIELD_SIGNER: "authorised person's signature",
}


def _require_empty_fields(fields: dict[str, FieldState]) -> None:
    """Refuse a PDF without the Decree 30 fields, or one already issued."""
    for expected in (*_EXPECTED, _Expected(FIELD_SIGNER, "/Sig", "chữ ký người có thẩm quyền")):
        state = fields.get(expected.name)
        if state is None or state.kind != expected.kind:
            raise SigningError(
                f"PDF thiếu trường {expected.label} ({expected.name}): "
                "tạo lại bằng add_form_fields",
                f"the PDF lacks the field {_LABELS_EN[expected.name]} ({expected.name}): make it "
                "again with add_form_fields",
                code="signing.fields.missing",
                field=expected.name,
            )
    filled = [e for e in _EXPECTED if fields[e.name].filled]
    if filled:
        raise SigningError(
            f"văn bản đã được ban hành (đã có {', '.join(e.label for e in filled)})",
            f"the document has already been issued (it has the "
            f"{', '.join(_LABELS_EN[e.name] for e in filled)})",
            code="signing.issue.already_issued",
            kind=Kind.CONFLICT,
        )


def _require_personal_certification(reader: PdfFileReader, key: SigningKey) -> None:
    """Seal only what a leader certified with a personal certificate, intact and unchanged."""
    certification = read_certification_data(reader)
    if certification is None:
        raise SigningError(
            "PDF chưa có chữ ký phê duyệt (chứng nhận) của người có thẩm quyền: không ban hành",
            "the PDF has no approval (certification) signature of the authorised person: not "
            "issued",
            code="signing.certification.missing",
        )
    if certification.permission != MDPPerm.FILL_FORMS:
        raise SigningError(
            "chữ ký phê duyệt không cho phép điền số và ngày "
            f"(DocMDP mức {certification.permission.value}, cần mức 2)",
            "the approval signature does not allow filling in the number and date "
            f"(DocMDP level {certification.permission.value}, level 2 needed)",
            code="signing.certification.docmdp_level",
            docmdp=certification.permission.value,
        )
    try:
        author = certification.author_sig.get_object()
        leader = next((s for s in reader.embedded_signatures if s.sig_object is author), None)
    except (PdfError, ValueError, KeyError) as exc:
        raise SigningError(
            f"không đọc được chữ ký phê duyệt: {exc}",
            f"the approval signature cannot be read: {exc}",
            code="signing.certification.unreadable",
        ) from exc
    if leader is None or leader.field_name != FIELD_SIGNER:
        raise SigningError(
            f"chữ ký phê duyệt không nằm trong trường {FIELD_SIGNER}",
            f"the approval signature is not in the field {FIELD_SIGNER}",
            code="signing.certification.misplaced",
            field=FIELD_SIGNER,
        )
    asn1_cert = _signer_certificate(leader)
    cert = x509.load_der_x509_certificate(asn1_cert.dump())
    if certificate_kind(cert) == "organisation" or cert.serial_number == key.serial:
        raise SigningError(
            f"văn bản được ký phê duyệt bằng chứng thư số của cơ quan "
            f"({common_name(cert.subject)}), không phải của cá nhân",
            f"the document's approval signature was made with the agency's certificate "
            f"({common_name(cert.subject)}), not a personal one",
            code="signing.certification.by_agency",
            certificate_serial=cert.serial_number,
        )
    _require_intact(leader, asn1_cert, cert)


def _signer_certificate(leader: EmbeddedPdfSignature) -> asn1_x509.Certificate:
    """The certificate the SignerInfo names, matched on the DER of issuer and serial.

    pyHanko's own lookup compares names with LDAP string preparation, ~4 ms for Vietnamese
    names; the leader's signature comes from Vanthu, which copies the issuer's DER as is.
    """
    try:
        sid = leader.signer_info["sid"]
        if sid.name != "issuer_and_serial_number":
            return leader.signer_cert
        issuer = sid.chosen["issuer"].dump()
        serial = sid.chosen["serial_number"].native
        for choice in leader.signed_data["certificates"]:
            found = choice.chosen
            named = choice.name == "certificate" and found.serial_number == serial
            if named and found.issuer.dump() == issuer:
                return found
        return leader.signer_cert
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise SigningError(
            f"không đọc được chứng thư số của chữ ký phê duyệt: {exc}",
            f"the approval signature's certificate cannot be read: {exc}",
            code="signing.certification.unreadable",
        ) from exc


def _require_intact(
    leader: EmbeddedPdfSignature, asn1_cert: asn1_x509.Certificate, cert: x509.Certificate
) -> None:
    try:
        leader.compute_integrity_info()
        intact, valid = _integrity(leader, asn1_cert, cert)
    except (PdfError, ValueError, KeyError) as exc:
        raise SigningError(
            f"không kiểm tra được chữ ký phê duyệt: {exc}",
            f"the approval signature cannot be checked: {exc}",
            code="signing.certification.unreadable",
            certificate_serial=cert.serial_number,
        ) from exc
    result = leader.diff_result
    unchanged = leader.coverage == SignatureCoverageLevel.ENTIRE_FILE
    filled_only = (
        isinstance(result, DiffResult) and result.modification_level in _ALLOWED_BEFORE_ISSUE
    )
    if not (intact and valid and (unchanged or filled_only)):
        raise SigningError(
            "chữ ký phê duyệt không còn nguyên vẹn hoặc PDF đã bị sửa sau khi ký: không ban hành",
            "the approval signature is no longer intact or the PDF was changed after signing: "
            "not issued",
            code="signing.certification.broken",
            certificate_serial=cert.serial_number,
        )


def _integrity(
    leader: EmbeddedPdfSignature, asn1_cert: asn1_x509.Certificate, cert: x509.Certificate
) -> tuple[bool, bool]:
    """(digest matches, signature verifies) for the signatures Vanthu makes: SHA-256 with
    RSA PKCS#1 v1.5 or ECDSA, content type data, the signing certificate's hash bound in the
    signed attributes. Anything else goes through pyHanko's general (slower) check."""
    info = leader.signer_info
    digest = leader.compute_digest()
    algorithm = info["signature_algorithm"]["algorithm"].native
    attrs = info["signed_attrs"]
    ours = info["digest_algorithm"]["algorithm"].native == "sha256" and algorithm in (
        "sha256_rsa",
        "rsassa_pkcs1v15",
        "sha256_ecdsa",
    )
    values = {a["type"].native: a["values"] for a in attrs} if ours else {}
    if not ours or set(values) - _KNOWN_ATTRIBUTES:
        return validate_sig_integrity(info, asn1_cert, "data", digest)
    if values["content_type"][0].native != "data":
        return False, False
    intact = values["message_digest"][0].native == digest
    bound = values.get("signing_certificate_v2")
    if bound is not None:
        first = bound[0]["certs"][0]
        if first["hash_algorithm"]["algorithm"].native != "sha256":
            return validate_sig_integrity(info, asn1_cert, "data", digest)
        if first["cert_hash"].native != hashlib.sha256(asn1_cert.dump()).digest():
            return intact, False
    signed = attrs.untag().dump()
    signature = info["signature"].native
    public_key = cert.public_key()
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, signed, ec.ECDSA(hashes.SHA256()))
        else:
            return validate_sig_integrity(info, asn1_cert, "data", digest)
    except InvalidSignature:
        return intact, False
    return intact, True


_KNOWN_ATTRIBUTES = {
    "content_type",
    "message_digest",
    "signing_certificate_v2",
    "signing_time",
}
