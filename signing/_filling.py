"""Number and date written into their text fields, read-only, in the document's own type.

A field's box is the box of the printed word it continues ('Số:', the place name), as
:data:`signing._layout.LINE_BOX_EM` describes it; the text takes that word's size (13 pt after
'Số:', 13-14 pt after the place name, as Decree 30 sets them) and its baseline, so number and
'Số:', place and date each read as one line in one size. The appearance gets an opaque white
ground, because the number field covers the symbol hint printed after 'Số:'. The font comes
prepared (subset, widths, ToUnicode) from :func:`signing._fonts.prepared_font`, so filling a
field writes a few small objects and no font work happens per document.
"""

from __future__ import annotations

from pathlib import Path

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.form_tools import find_existing_empty_field, get_single_field_annot
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.writer import init_xobject_dictionary

from signing._errors import SigningError
from signing._fonts import UNITS_PER_EM, PreparedFont, prepared_font
from signing._layout import LINE_BASELINE_EM, LINE_BOX_EM
from vanthu.errors import Kind

MAX_TEXT_SIZE = 14.0
"""Decree 30 sets the number in 13 pt and the place and date in 13-14 pt; a taller box (a
layout not made from printed words) does not make the text larger than this."""
_SIDE_MARGIN = 1.0
_READ_ONLY = 1


def fill_text_field(writer: IncrementalPdfFileWriter, name: str, text: str, font: Path) -> None:
    """Write ``text`` into the empty text field ``name`` and make the field read-only."""
    try:
        field_ref = find_existing_empty_field(writer, name, "/Tx")
        field = field_ref.get_object()
        assert isinstance(field, generic.DictionaryObject)
        widget = get_single_field_annot(field)
        x1, y1, x2, y2 = (float(v) for v in widget["/Rect"])
    except (PdfError, KeyError, ValueError) as exc:
        raise SigningError(
            f"không điền được trường {name}: {exc}",
            f"the field {name} cannot be filled: {exc}",
            code="signing.fields.unfillable",
            kind=Kind.INVALID,
            field=name,
        ) from exc
    prepared = prepared_font(font, text)
    width, height = abs(x2 - x1), abs(y2 - y1)
    size, baseline = _fit(prepared, text, width, height)
    ops = b"q 1 g 0 0 %.3f %.3f re f Q BT /F1 %.2f Tf 0 g %.3f %.3f Td %s Tj ET" % (
        width,
        height,
        size,
        _SIDE_MARGIN,
        baseline,
        prepared.encode(text),
    )
    resources = generic.DictionaryObject(
        {pdf_name("/Font"): generic.DictionaryObject({pdf_name("/F1"): prepared.embed(writer)})}
    )
    appearance = init_xobject_dictionary(ops, width, height, resources)
    widget[pdf_name("/AP")] = generic.DictionaryObject(
        {pdf_name("/N"): writer.add_object(appearance)}
    )
    widget.pop(pdf_name("/AS"), None)
    writer.update_container(widget)
    field[pdf_name("/V")] = generic.TextStringObject(text)
    flags = int(field.get("/Ff", 0))
    field[pdf_name("/Ff")] = generic.NumberObject(flags | _READ_ONLY)
    field.pop(pdf_name("/DA"), None)
    writer.mark_update(field_ref)


def _fit(font: PreparedFont, text: str, width: float, height: float) -> tuple[float, float]:
    """Font size and baseline: the printed word's (from the box's height), narrowed to fit
    the width on the same baseline; never so low that the dot below ộ/ạ/ệ leaves the box."""
    line_size = height / LINE_BOX_EM
    size = min(round(line_size, 1), MAX_TEXT_SIZE)
    room = width - 2 * _SIDE_MARGIN
    natural = font.width(text, size)
    if natural > room > 0:
        size *= room / natural
    descent = -font.descent / UNITS_PER_EM
    return size, max(LINE_BASELINE_EM * line_size, descent * size)
