"""PDFs for the signing tests, made the way another program would: Type 1 text, no fields yet,
and the Decree 30 field layout (number, date, signer, seal) the tests put on them."""

from __future__ import annotations

import io
from collections.abc import Sequence

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

from signing import Box, FormLayout, seal_over_signer

A4 = (595.0, 842.0)
SIGNER_BOX = Box(0, 360, 250, 520, 320)
LAYOUT = FormLayout(
    number=Box(0, 85, 745, 250, 765),
    date=Box(0, 372, 745, 560, 765),
    signer=SIGNER_BOX,
    seal=seal_over_signer(SIGNER_BOX),
)
Words = Sequence[tuple[int, int, bytes]]
"""(x, y, ASCII text) on a page, in PDF points from the bottom-left corner."""


def text_pdf(pages: Sequence[Words], size: tuple[float, float] = A4) -> bytes:
    """One page per entry of ``pages``, each with its words in 13 pt Times."""
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
    for words in pages:
        ops = b" ".join(b"BT /F1 13 Tf %d %d Td (%s) Tj ET" % word for word in words)
        page = PageObject(
            contents=writer.add_object(generic.StreamObject(stream_data=ops)),
            media_box=generic.ArrayObject(generic.FloatObject(v) for v in (0, 0, *size)),
            resources=generic.DictionaryObject(
                {pdf_name("/Font"): generic.DictionaryObject({pdf_name("/F1"): font})}
            ),
        )
        writer.insert_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
