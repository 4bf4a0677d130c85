"""A person's signature alone, visible where they sign: a document that is signed but neither
numbered nor sealed (a licence or a written answer of a one-stop procedure, the apology letter).

Unlike :func:`signing.certify`, nothing is left to fill afterwards, so the PDF needs no Decree 30
number, date or seal fields: the signature field is made in the signer's box and signed in one
incremental update (an approval signature, PAdES).
"""

from __future__ import annotations

from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign.fields import SigFieldSpec, append_signature_field

from signing._errors import SigningError
from signing._fields import form_fields, has_signatures, open_for_update, pdf_page_count
from signing._layout import FIELD_SIGNER, Box
from signing._sign import sign_failed, sign_into_field, signature_metadata
from signing._signer import SigningKey
from signing._stamps import image_appearance
from vanthu.errors import Kind

APPROVAL_REASON = "Ký duyệt"


def sign_approval(
    pdf: bytes,
    key: SigningKey,
    signature_image: bytes,
    box: Box,
    *,
    reason: str = APPROVAL_REASON,
    location: str | None = None,
) -> bytes:
    """``key``'s holder signs ``pdf`` in ``box`` with their signature image (personal key only)."""
    if key.kind == "organisation":
        raise SigningError(
            "chứng thư số của cơ quan không dùng để ký duyệt: người có thẩm quyền ký bằng "
            "chứng thư số cá nhân",
            "the agency's certificate is not for this signature: the authorised person signs "
            "with a personal certificate",
            code="signing.policy.wrong_kind",
            certificate_serial=key.serial,
            expected="person",
            found="organisation",
        )
    key.check_usable()
    if not 0 <= box.page < pdf_page_count(pdf):
        raise SigningError(
            f"PDF không có trang {box.page + 1} để đặt chữ ký",
            f"the PDF has no page {box.page + 1} to hold the signature",
            code="signing.fields.bad_box",
            kind=Kind.INVALID,
        )
    writer = open_for_update(pdf)
    if has_signatures(writer.prev) or FIELD_SIGNER in form_fields(writer.prev):
        raise SigningError(
            "PDF đã có chữ ký số hoặc trường chữ ký của người ký: không ký thêm được",
            "the PDF already has a digital signature or a signer field: it cannot be signed again",
            code="signing.approval.already_signed",
            kind=Kind.CONFLICT,
        )
    spec = SigFieldSpec(
        sig_field_name=FIELD_SIGNER,
        on_page=box.page,
        box=box.as_tuple(),  # type: ignore[arg-type]  # pyHanko types it int, takes floats
    )
    try:
        append_signature_field(writer, spec)
    except (PdfError, ValueError, KeyError) as exc:
        raise SigningError(
            f"không thêm được trường chữ ký: {exc}",
            f"no signature field can be added: {exc}",
            code="signing.fields.unaddable",
            field=FIELD_SIGNER,
        ) from exc
    metadata = signature_metadata(FIELD_SIGNER, certify=False, reason=reason, location=location)
    try:
        return sign_into_field(writer, metadata, key, image_appearance(signature_image, "chữ ký"))
    except (PdfError, ValueError) as exc:  # pyHanko's SigningError is a ValueError
        raise sign_failed(exc, key) from exc
