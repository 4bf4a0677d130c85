"""The four Decree 30 form fields: created on the unsigned PDF, inspected before each signature.

Every field must exist before the leader certifies: under DocMDP level 2 filling a field and
signing an existing empty signature field are allowed, adding a visible field is not. Only
the fields the issued original fills are made: an issued document carries no empty signature
field (an electronic copy adds its own, see :func:`signing.electronic_copy`).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.content import RawContent
from pyhanko.pdf_utils.generic import pdf_name, pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import BoxConstraints
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.rw_common import PdfHandler
from pyhanko.sign.fields import SigFieldSpec, append_signature_field

from signing import _speed  # noqa: F401  (pyHanko's slow PDF hex-string reader replaced)
from signing._errors import SigningError
from signing._layout import (
    FIELD_COPY,
    FIELD_DATE,
    FIELD_NUMBER,
    FIELD_SEAL,
    FIELD_SIGNER,
    Box,
    FormLayout,
)
from vanthu.errors import Kind

TEXT_FIELDS = {FIELD_NUMBER: "Số, ký hiệu văn bản", FIELD_DATE: "Ngày ban hành"}
SIGNATURE_FIELDS = {
    FIELD_SIGNER: "Chữ ký người có thẩm quyền",
    FIELD_SEAL: "Chữ ký của cơ quan",
}
_PRINT_FLAG = 4
_FORM_FONT = "/Helv"


@dataclass(frozen=True)
class FieldState:
    """One form field as found in a PDF."""

    name: str
    """Fully qualified field name."""
    kind: str
    """PDF field type: '/Tx', '/Sig', …"""
    filled: bool
    """True when the field has a value (text, or a signature dictionary)."""


def read_pdf(pdf: bytes) -> PdfFileReader:
    """Parse a PDF; anything that is not one is a SigningError naming what is wrong."""
    if b"%PDF-" not in pdf[:1024]:
        raise _not_pdf()
    try:
        return PdfFileReader(io.BytesIO(pdf), strict=False)
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise _unreadable(exc) from exc


def pdf_page_count(pdf: bytes) -> int:
    """Pages of a PDF that can be signed (readable, not encrypted, with a first page)."""
    reader = read_pdf(pdf)
    if reader.encrypted:
        raise SigningError(
            "PDF được mã hóa (đặt mật khẩu): không ký số được, cần bản không mã hóa",
            "the PDF is encrypted (password-protected): it cannot be signed, an unencrypted "
            "copy is needed",
            code="signing.pdf.encrypted",
            kind=Kind.INVALID,
        )
    try:
        pages = int(reader.root["/Pages"]["/Count"])
    except (PdfError, KeyError, ValueError, TypeError) as exc:
        raise SigningError(
            f"PDF không có danh sách trang đọc được: {exc}",
            f"the PDF has no readable page tree: {exc}",
            code="signing.pdf.no_pages",
            kind=Kind.INVALID,
        ) from exc
    first_page_box(reader)
    if pages < 1:
        raise SigningError(
            "PDF không có trang nào",
            "the PDF has no pages",
            code="signing.pdf.no_pages",
            kind=Kind.INVALID,
        )
    return pages


def open_for_update(pdf: bytes) -> IncrementalPdfFileWriter:
    """A writer for an incremental update; its ``prev`` is the parsed PDF, for the checks
    before signing (parsing once: pyHanko's object parser is the slow part of a seal)."""
    if b"%PDF-" not in pdf[:1024]:
        raise _not_pdf()
    try:
        return IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise _unreadable(exc) from exc


def _not_pdf() -> SigningError:
    return SigningError(
        "tệp không phải PDF (thiếu phần đầu %PDF-)",
        "the file is not a PDF (no %PDF- header)",
        code="signing.pdf.not_pdf",
        kind=Kind.INVALID,
    )


def _unreadable(exc: Exception) -> SigningError:
    return SigningError(
        f"tệp PDF hỏng, không đọc được: {exc}",
        f"the PDF is broken and cannot be read: {exc}",
        code="signing.pdf.unreadable",
        kind=Kind.INVALID,
    )


def form_fields(handler: PdfHandler) -> dict[str, FieldState]:
    """Every field of the document's form, by fully qualified name."""
    try:
        fields = handler.root["/AcroForm"]["/Fields"]
    except KeyError:
        return {}
    return {state.name: state for state in _walk(fields, "", None)}


def _walk(fields: generic.PdfObject, prefix: str, inherited: str | None) -> Iterator[FieldState]:
    if not isinstance(fields, generic.ArrayObject):
        return
    for ref in fields:
        field = ref.get_object()
        if not isinstance(field, generic.DictionaryObject) or "/T" not in field:
            continue
        name = f"{prefix}.{field['/T']}" if prefix else str(field["/T"])
        kind = str(field.get("/FT", inherited or ""))
        # raw_get: a signature's /V is the whole signature dictionary, not worth parsing here
        value = field.raw_get("/V") if "/V" in field else None
        filled = isinstance(value, generic.IndirectObject) or bool(value)
        yield FieldState(name=name, kind=kind, filled=filled)
        if "/Kids" in field:
            yield from _walk(field["/Kids"], name, kind)


def has_signatures(handler: PdfHandler) -> bool:
    """Whether any signature field carries a value, readable or not."""
    return any(state.kind == "/Sig" and state.filled for state in form_fields(handler).values())


def add_form_fields(pdf: bytes, layout: FormLayout) -> bytes:
    """Add the number and date text fields and the signer's and the seal's signature fields,
    unsigned yet: exactly what the issued original fills, so it keeps no empty field."""
    reader = read_pdf(pdf)
    if has_signatures(reader):
        raise SigningError(
            "PDF đã có chữ ký số: không thêm trường được nữa (chữ ký sẽ hỏng)",
            "the PDF is already signed: no more fields can be added (the signature would break)",
            code="signing.fields.already_signed",
            kind=Kind.CONFLICT,
        )
    existing = form_fields(reader)
    # a copy field already there is refused too: the electronic copy makes its own
    wanted = (FIELD_NUMBER, FIELD_DATE, FIELD_SIGNER, FIELD_SEAL, FIELD_COPY)
    clashes = [name for name in wanted if name in existing]
    if clashes:
        raise SigningError(
            f"PDF đã có trường {', '.join(clashes)}",
            f"the PDF already has the field(s) {', '.join(clashes)}",
            code="signing.fields.exist",
            kind=Kind.CONFLICT,
            field_names=", ".join(clashes),
        )
    boxes = {
        FIELD_NUMBER: layout.number,
        FIELD_DATE: layout.date,
        FIELD_SIGNER: layout.signer,
        FIELD_SEAL: layout.seal,
    }
    pages = int(reader.root["/Pages"]["/Count"])
    for name, box in boxes.items():
        _check_box(name, box, pages)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    for name, label in SIGNATURE_FIELDS.items():
        box = boxes[name]
        spec = SigFieldSpec(
            sig_field_name=name,
            on_page=box.page,
            box=box.as_tuple(),  # type: ignore[arg-type]  # pyHanko types it int, takes floats
            readable_field_name=label,
        )
        append_signature_field(writer, spec)
    _ensure_form_font(writer)
    for name, label in TEXT_FIELDS.items():
        _add_text_field(writer, name, label, boxes[name])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def first_page_box(reader: PdfFileReader) -> tuple[float, float, float, float]:
    """The first page's crop box (or media box), as (x1, y1, x2, y2)."""
    try:
        page = reader.root["/Pages"]
        while "/Kids" in page:
            page = page["/Kids"][0].get_object()
        rect = page.get("/CropBox") or page["/MediaBox"]
        x1, y1, x2, y2 = (float(v) for v in rect)
    except (PdfError, KeyError, IndexError, ValueError, TypeError) as exc:
        raise SigningError(
            f"PDF không có trang 1 đọc được: {exc}",
            f"the PDF has no readable page 1: {exc}",
            code="signing.pdf.no_pages",
            kind=Kind.INVALID,
        ) from exc
    return (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))


def _check_box(name: str, box: Box, pages: int) -> None:
    if not 0 <= box.page < pages:
        raise SigningError(
            f"trường {name}: trang {box.page + 1} không có (PDF có {pages} trang)",
            f"field {name}: there is no page {box.page + 1} (the PDF has {pages} pages)",
            code="signing.fields.page_missing",
            kind=Kind.INVALID,
            field=name,
            page=box.page + 1,
            pages=pages,
        )
    if box.width <= 0 or box.height <= 0:
        raise SigningError(
            f"trường {name}: khung {box.as_tuple()} có kích thước không dương",
            f"field {name}: the box {box.as_tuple()} does not have a positive size",
            code="signing.fields.box_empty",
            kind=Kind.INVALID,
            field=name,
        )


def _ensure_form_font(writer: IncrementalPdfFileWriter) -> None:
    """A default font for the form (/DR, /DA), which variable-text fields require."""
    form = writer.root["/AcroForm"]
    resources = form.setdefault(pdf_name("/DR"), generic.DictionaryObject())
    fonts = resources.setdefault(pdf_name("/Font"), generic.DictionaryObject())
    if _FORM_FONT not in fonts:
        fonts[pdf_name(_FORM_FONT)] = writer.add_object(
            generic.DictionaryObject(
                {
                    pdf_name("/Type"): pdf_name("/Font"),
                    pdf_name("/Subtype"): pdf_name("/Type1"),
                    pdf_name("/BaseFont"): pdf_name("/Helvetica"),
                    pdf_name("/Encoding"): pdf_name("/WinAnsiEncoding"),
                }
            )
        )
    form.setdefault(pdf_name("/DA"), pdf_string(f"{_FORM_FONT} 0 Tf 0 g"))
    writer.update_container(form)


def _add_text_field(writer: IncrementalPdfFileWriter, name: str, label: str, box: Box) -> None:
    page_ref = writer.find_page_for_modification(box.page)[0]
    blank = RawContent(b"", box=BoxConstraints(width=box.width, height=box.height))
    field = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Annot"),
            pdf_name("/Subtype"): pdf_name("/Widget"),
            pdf_name("/FT"): pdf_name("/Tx"),
            pdf_name("/T"): pdf_string(name),
            pdf_name("/TU"): pdf_string(label),
            pdf_name("/Rect"): generic.ArrayObject(generic.FloatObject(v) for v in box.as_tuple()),
            pdf_name("/F"): generic.NumberObject(_PRINT_FLAG),
            pdf_name("/P"): page_ref,
            pdf_name("/DA"): pdf_string(f"{_FORM_FONT} 13 Tf 0 g"),
            pdf_name("/AP"): generic.DictionaryObject(
                {pdf_name("/N"): writer.add_object(blank.as_form_xobject())}
            ),
        }
    )
    ref = writer.add_object(field)
    fields = writer.root["/AcroForm"]["/Fields"]
    fields.append(ref)
    writer.update_container(fields)
    writer.register_annotation(page_ref, ref)
