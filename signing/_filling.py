"""Number and date written into their text fields, read-only, in the document's own type.

The fields are filled with pyHanko's ``populate_static_text_field``. Its layout puts the
baseline on the bottom edge of what it lays out; here the text's em box (ascent to descent) is
centred in the field instead, which keeps the dot below ộ/ạ/ệ inside the field and sets the
baseline where the printed words on the same line have theirs. The appearance gets an opaque
white ground, because the number field covers the symbol hint printed after 'Số:'.
"""

from __future__ import annotations

from pathlib import Path

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.form_tools import (
    find_existing_empty_field,
    get_single_field_annot,
    populate_static_text_field,
)
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import AxisAlignment, InnerScaling, Margins, SimpleBoxLayoutRule
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.pdf_utils.writer import init_xobject_dictionary

from signing._errors import SigningError
from signing._fonts import font_factory, vertical_metrics

TEXT_SIZE = 13
"""Number and date in 13 pt, as Decree 30 sets them (13-14 pt)."""
_SIDE_MARGIN = 1.0
_FILLED = "/Filled"


def fill_text_field(writer: IncrementalPdfFileWriter, name: str, text: str, font: Path) -> None:
    """Write ``text`` into the empty text field ``name`` and make the field read-only."""
    try:
        field = find_existing_empty_field(writer, name, "/Tx").get_object()
        assert isinstance(field, generic.DictionaryObject)
        widget = get_single_field_annot(field)
        x1, y1, x2, y2 = (float(v) for v in widget["/Rect"])
        populate_static_text_field(writer, name, _style(font, abs(y2 - y1)), text)
    except (PdfError, KeyError, ValueError) as exc:
        raise SigningError(f"không điền được trường {name}: {exc}") from exc
    _put_on_white(writer, widget, abs(x2 - x1), abs(y2 - y1))


def _style(font: Path, height: float) -> TextBoxStyle:
    metrics = vertical_metrics(font)
    size = min(TEXT_SIZE, int(height / (metrics.ascent + metrics.descent)))
    centred = height / 2 - (metrics.ascent - metrics.descent) / 2 * size
    baseline = max(centred, metrics.descent * size)
    # pyHanko lays a line out as [baseline, baseline + size], taller than its letters, in a box
    # cut to whole points; a negative top margin stops it from shrinking the text to fit that.
    overflow = max(0.0, baseline + size - int(height))
    return TextBoxStyle(
        font=font_factory(font, size),
        font_size=size,
        text_color=(0, 0, 0),
        box_layout_rule=SimpleBoxLayoutRule(
            x_align=AxisAlignment.ALIGN_MIN,
            y_align=AxisAlignment.ALIGN_MIN,
            margins=_margins(top=-overflow, bottom=baseline),
            inner_content_scaling=InnerScaling.SHRINK_TO_FIT,
        ),
    )


def _margins(top: float, bottom: float) -> Margins:
    """pyHanko types margins as int but computes with any number; a baseline needs fractions."""
    return Margins(left=_SIDE_MARGIN, right=_SIDE_MARGIN, top=top, bottom=bottom)  # type: ignore[arg-type]


def _put_on_white(
    writer: IncrementalPdfFileWriter,
    widget: generic.DictionaryObject,
    width: float,
    height: float,
) -> None:
    """Wrap the new appearance in one that first paints the field's rectangle white."""
    text_appearance = widget["/AP"].raw_get("/N")
    # pyHanko cut the text's bounding box to whole points; give it the field's full height back
    text_appearance.get_object()["/BBox"] = generic.ArrayObject(
        generic.FloatObject(v) for v in (0, 0, width, height)
    )
    wrapper = init_xobject_dictionary(
        command_stream=b"q 1 g 0 0 %g %g re f Q %s Do" % (width, height, _FILLED.encode()),
        box_width=width,
        box_height=height,
        resources=generic.DictionaryObject(
            {pdf_name("/XObject"): generic.DictionaryObject({pdf_name(_FILLED): text_appearance})}
        ),
    )
    widget["/AP"] = generic.DictionaryObject({pdf_name("/N"): writer.add_object(wrapper)})
    writer.update_container(widget)
