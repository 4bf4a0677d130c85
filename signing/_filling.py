"""Number and date written into their text fields, read-only, in the document's own type.

The text's em box (ascent to descent) is centred in the field, which keeps the dot below ộ/ạ/ệ
inside the field and sets the baseline where the printed words on the same line have theirs.
The appearance gets an opaque white ground, because the number field covers the symbol hint
printed after 'Số:'. The font comes prepared (subset, widths, ToUnicode) from
:func:`signing._fonts.prepared_font`, so filling a field writes a few small objects and no
font work happens per document.
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
from vanthu.errors import Kind

TEXT_SIZE = 13
"""Number and date in 13 pt, as Decree 30 sets them (13-14 pt)."""
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
    """Font size and baseline: at most 13 pt, the em box centred, narrowed to fit the width."""
    ascent, descent = font.ascent / UNITS_PER_EM, -font.descent / UNITS_PER_EM
    size = float(min(TEXT_SIZE, int(height / (ascent + descent))))
    room = width - 2 * _SIDE_MARGIN
    natural = font.width(text, size)
    if natural > room > 0:
        size *= room / natural
    centred = height / 2 - (ascent - descent) / 2 * size
    return size, max(centred, descent * size)
