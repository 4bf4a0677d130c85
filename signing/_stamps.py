"""The visible parts of Vanthu's signatures, as Decree 30 Appendix I prescribes them.

- the signer (chữ ký số của người có thẩm quyền): the blue signature image, no text;
- the agency (chữ ký số của cơ quan): the red seal at real size, no text;
- an attachment in its own file (văn bản kèm theo không cùng tệp): the agency's signature shown
  as text in the top right corner of page 1, no image: the main document's number and symbol,
  and the signing time in ISO 8601 on Vietnam's clock, Times New Roman 10 pt regular black
  (Liberation Serif here: the same metrics, every Vietnamese letter);
- an electronic copy (bản sao điện tử): the same place, the copying agency's name and the time;
  on a certified document (every document Vanthu issues) the copy's signature is invisible,
  its agency and time in the signature itself, since under the certification (DocMDP level 2)
  a new visible field would break the leader's signature for strict validators (pyHanko).

Everything that does not change between documents (the decoded image, the font subset, its
widths and ToUnicode map) is prepared once and kept; a signature only writes those bytes and a
few lines of content stream, so the appearance costs well under a millisecond.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import BoxConstraints
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import BasePdfFileWriter, init_xobject_dictionary
from pyhanko.sign.fields import SigFieldSpec, append_signature_field
from pyhanko.sign.validation import read_certification_data
from pyhanko.stamp import BaseStampStyle

from signing._clock import now_in_vietnam
from signing._errors import SigningError
from signing._fields import first_page_box, form_fields, open_for_update
from signing._fonts import SERIF_REGULAR, PreparedFont, prepared_font
from signing._images import prepared_image
from signing._layout import FIELD_ATTACHMENT, FIELD_COPY, STAMP_HEIGHT, top_right_box
from signing._sign import sign_failed, sign_into_field, signature_metadata
from signing._signer import SigningKey
from vanthu.errors import Kind

STAMP_SIZE = 10.0
"""Decree 30: the stamp text is 10 pt."""
STAMP_LEADING = 12.0
_PAD = 2.0
ATTACHMENT_REASON = "Ký văn bản kèm theo"
COPY_REASON = "Sao văn bản điện tử"

Draw = Callable[[BasePdfFileWriter, float, float], generic.StreamObject]
"""Makes the appearance XObject for a field of the given width and height."""


@dataclass(frozen=True)
class PreparedAppearance(BaseStampStyle):
    """A pyHanko stamp style whose appearance comes from pieces prepared in advance."""

    draw: Draw | None = None

    def create_stamp(  # type: ignore[override]  # pyHanko only calls apply_appearance
        self, writer: BasePdfFileWriter, box: BoxConstraints, text_params: dict[str, Any]
    ) -> _Stamp:
        assert self.draw is not None
        return _Stamp(writer, self.draw(writer, box.width, box.height))


class _Stamp:
    def __init__(self, writer: BasePdfFileWriter, xobject: generic.StreamObject) -> None:
        self._writer = writer
        self._xobject = xobject

    def apply_appearance(self, annot: generic.DictionaryObject) -> None:
        annot[pdf_name("/AP")] = generic.DictionaryObject(
            {pdf_name("/N"): self._writer.add_object(self._xobject)}
        )
        annot.pop(pdf_name("/AS"), None)


def image_appearance(png: bytes, what: str, *, real_size: bool = False) -> PreparedAppearance:
    """The image alone, centred, undistorted: at real size (a seal) or as large as fits."""
    image = prepared_image(png, what)

    def draw(writer: BasePdfFileWriter, width: float, height: float) -> generic.StreamObject:
        at = image.placement(width, height, real_size=real_size)
        ops = b"q %.3f 0 0 %.3f %.3f %.3f cm /Im0 Do Q" % (at.width, at.height, at.x, at.y)
        resources = generic.DictionaryObject(
            {
                pdf_name("/XObject"): generic.DictionaryObject(
                    {pdf_name("/Im0"): image.embed(writer)}
                )
            }
        )
        return init_xobject_dictionary(ops, width, height, resources)

    return PreparedAppearance(draw=draw)


def text_appearance(font: PreparedFont, lines: Sequence[str]) -> PreparedAppearance:
    """Lines of 10 pt black text, right-aligned at the field's right edge, from its top."""

    def draw(writer: BasePdfFileWriter, width: float, height: float) -> generic.StreamObject:
        widest = max(font.width(line, STAMP_SIZE) for line in lines)
        # a box narrower than the text (another agency's long name) shrinks the text to fit
        size = STAMP_SIZE * min(1.0, (width - 2 * _PAD) / widest) if widest else STAMP_SIZE
        leading = STAMP_LEADING * size / STAMP_SIZE
        baseline = height - _PAD - font.ascent * size / 1000
        ops = [b"BT /F1 %.2f Tf 0 g" % size]
        for line in lines:
            x = width - _PAD - font.width(line, size)
            ops.append(b"1 0 0 1 %.3f %.3f Tm %s Tj" % (x, baseline, font.encode(line)))
            baseline -= leading
        ops.append(b"ET")
        resources = generic.DictionaryObject(
            {pdf_name("/Font"): generic.DictionaryObject({pdf_name("/F1"): font.embed(writer)})}
        )
        return init_xobject_dictionary(b" ".join(ops), width, height, resources)

    return PreparedAppearance(draw=draw)


def stamp_time(moment: datetime) -> str:
    """ISO 8601 with seconds and Vietnam's offset, e.g. '2026-01-05T09:30:00+07:00'."""
    return moment.replace(microsecond=0).isoformat()


def sign_attachment(
    pdf: bytes, *, main_symbol: str, key: SigningKey, reason: str = ATTACHMENT_REASON
) -> bytes:
    """The agency's signature on an attachment kept in its own file.

    A new signature field in the top right corner of page 1 shows the main document's number
    and symbol and the signing time; the same time is the signature's own.
    """
    symbol = unicodedata.normalize("NFC", main_symbol.strip())
    if not symbol:
        raise SigningError(
            "cần số, ký hiệu của văn bản chính để ký văn bản kèm theo",
            "signing an attachment needs the main document's number and symbol",
            code="signing.attachment.symbol_missing",
            kind=Kind.INVALID,
        )
    _require_agency_key(key, "ký văn bản kèm theo", "sign an attachment")
    writer = open_for_update(pdf)
    reader = writer.prev
    if FIELD_ATTACHMENT in form_fields(reader):
        raise SigningError(
            "văn bản kèm theo đã được ký (đã có trường chữ ký kèm theo)",
            "the attachment is already signed (it has the attachment signature field)",
            code="signing.attachment.already_signed",
            kind=Kind.CONFLICT,
        )
    _refuse_certified(reader, "văn bản kèm theo", "the attachment")
    when = now_in_vietnam().replace(microsecond=0)
    lines = (symbol, stamp_time(when))
    return _sign_new_field(writer, FIELD_ATTACHMENT, lines, key, when, reason)


def electronic_copy(
    pdf: bytes, *, agency_name: str, key: SigningKey, reason: str = COPY_REASON
) -> bytes:
    """A bản sao điện tử: the copying agency's signature, its name and the signing time.

    An uncertified PDF gets a new field in the top right corner of page 1 showing the name and
    the time. A certified one (every document Vanthu issues: the leader certifies, DocMDP
    level 2) gets a new *invisible* signature field: ISO 32000 lets signing follow a level-2
    certification, and validators (pyHanko's strictest policy among them) accept a new
    invisible signature field there, while a new visible one, or any drawing on the page,
    would count as changing the certified document. The agency and the time are then in the
    signature itself, where every validator shows them. A PDF made before issued documents
    stopped carrying an empty copy field has its copy signed into that field, as before.
    """
    name = unicodedata.normalize("NFC", " ".join(agency_name.split()))
    if not name:
        raise SigningError(
            "cần tên cơ quan sao để ký bản sao điện tử",
            "signing an electronic copy needs the copying agency's name",
            code="signing.copy.agency_missing",
            kind=Kind.INVALID,
        )
    _require_agency_key(key, "ký bản sao điện tử", "sign an electronic copy")
    writer = open_for_update(pdf)
    reader = writer.prev
    when = now_in_vietnam().replace(microsecond=0)
    lines = (name, stamp_time(when))
    field = form_fields(reader).get(FIELD_COPY)
    if field is None:
        if _is_certified(reader, "văn bản", "the document"):
            return _sign_invisible_field(writer, FIELD_COPY, key, when, reason)
        return _sign_new_field(writer, FIELD_COPY, lines, key, when, reason)
    if field.kind != "/Sig":
        raise SigningError(
            f"trường {FIELD_COPY} của PDF không phải trường chữ ký",
            f"the PDF's field {FIELD_COPY} is not a signature field",
            code="signing.copy.field_not_signature",
            field=FIELD_COPY,
        )
    if field.filled:
        raise SigningError(
            "PDF đã là bản sao điện tử (trường chữ ký bản sao đã được ký)",
            "the PDF is already an electronic copy (the copy signature field is signed)",
            code="signing.copy.already_made",
            kind=Kind.CONFLICT,
        )
    style = text_appearance(prepared_font(SERIF_REGULAR, "".join(lines)), lines)
    metadata = signature_metadata(FIELD_COPY, certify=False, reason=reason)
    return _signed(writer, metadata, key, style, when)


def _require_agency_key(key: SigningKey, what: str, what_en: str) -> None:
    if key.kind == "person":
        raise SigningError(
            f"chứng thư số cá nhân không dùng để {what}: cần chứng thư số của cơ quan",
            f"a personal certificate cannot be used to {what_en}: the agency's certificate is "
            "needed",
            code="signing.policy.wrong_kind",
            certificate_serial=key.serial,
            expected="organisation",
            found="person",
        )
    key.check_usable()


def _is_certified(reader: PdfFileReader, what: str, what_en: str) -> bool:
    try:
        return read_certification_data(reader) is not None
    except (PdfError, ValueError, KeyError) as exc:
        raise SigningError(
            f"không đọc được chữ ký chứng nhận của {what}: {exc}",
            f"the certification signature of {what_en} cannot be read: {exc}",
            code="signing.certification.unreadable",
        ) from exc


def _refuse_certified(reader: PdfFileReader, what: str, what_en: str) -> None:
    if _is_certified(reader, what, what_en):
        raise SigningError(
            f"{what} đã được chứng nhận (DocMDP) và không có trường chữ ký dành sẵn: "
            "thêm chữ ký mới sẽ làm hỏng chữ ký chứng nhận",
            f"{what_en} is certified (DocMDP) and has no signature field set aside: a new "
            "signature would break the certification signature",
            code="signing.certification.no_room",
            kind=Kind.CONFLICT,
        )


def _sign_new_field(
    writer: IncrementalPdfFileWriter,
    field: str,
    lines: tuple[str, str],
    key: SigningKey,
    when: datetime,
    reason: str,
) -> bytes:
    font = prepared_font(SERIF_REGULAR, "".join(lines))
    # whole points and some slack: pyHanko rounds the field's rectangle
    width = math.ceil(max(font.width(line, STAMP_SIZE) for line in lines) + 2 * _PAD) + 2
    box = top_right_box(_first_page_box(writer.prev), width)
    spec = SigFieldSpec(
        sig_field_name=field,
        on_page=0,
        box=box.as_tuple(),  # type: ignore[arg-type]  # pyHanko types it int, takes floats
    )
    try:
        append_signature_field(writer, spec)
    except (PdfError, ValueError, KeyError) as exc:
        raise SigningError(
            f"không thêm được trường chữ ký vào trang 1: {exc}",
            f"no signature field can be added to page 1: {exc}",
            code="signing.fields.unaddable",
            field=field,
        ) from exc
    metadata = signature_metadata(field, certify=False, reason=reason)
    return _signed(writer, metadata, key, text_appearance(font, lines), when)


def _sign_invisible_field(
    writer: IncrementalPdfFileWriter,
    field: str,
    key: SigningKey,
    when: datetime,
    reason: str,
) -> bytes:
    """A new signature field without a widget area, signed: nothing drawn on any page."""
    try:
        append_signature_field(writer, SigFieldSpec(sig_field_name=field, on_page=0, box=None))
    except (PdfError, ValueError, KeyError) as exc:
        raise SigningError(
            f"không thêm được trường chữ ký: {exc}",
            f"no signature field can be added: {exc}",
            code="signing.fields.unaddable",
            field=field,
        ) from exc
    metadata = signature_metadata(field, certify=False, reason=reason)
    return _signed(writer, metadata, key, None, when)


def _first_page_box(reader: PdfFileReader) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = first_page_box(reader)
    if x2 - x1 < STAMP_HEIGHT or y2 - y1 < 2 * STAMP_HEIGHT:
        raise SigningError(
            "trang 1 của PDF quá nhỏ để đặt chữ ký",
            "page 1 of the PDF is too small to hold the signature",
            code="signing.pdf.page_too_small",
            kind=Kind.INVALID,
        )
    return (x1, y1, x2, y2)


def _signed(
    writer: IncrementalPdfFileWriter,
    metadata: Any,
    key: SigningKey,
    style: PreparedAppearance | None,
    when: datetime,
) -> bytes:
    try:
        return sign_into_field(writer, metadata, key, style, when=when)
    except (PdfError, ValueError) as exc:  # pyHanko's SigningError is a ValueError
        raise sign_failed(exc, key) from exc
