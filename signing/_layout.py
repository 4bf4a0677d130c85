"""Where the fields of a Decree 30 document sit on the PDF page.

The engine finds these positions on the converted draft; the signing package creates the form
fields there before the leader certifies (under DocMDP level 2 a field added later would
invalidate the leader's signature).
"""

from __future__ import annotations

from dataclasses import dataclass

MM = 72 / 25.4
"""PDF points per millimetre."""

SEAL_DIAMETER_MM = 36.0
"""Real size of an agency seal (Decree 99/2016 seals of provincial departments are 35-36 mm)."""

FIELD_NUMBER = "so_ky_hieu"
FIELD_DATE = "ngay_ban_hanh"
FIELD_SIGNER = "chu_ky_nguoi_ky"
FIELD_SEAL = "chu_ky_co_quan"
FIELD_COPY = "chu_ky_ban_sao"
"""The copying agency's signature (bản sao điện tử), prepared empty before the leader certifies."""
FIELD_ATTACHMENT = "chu_ky_van_ban_kem_theo"
"""The agency's signature on an attachment in its own file (văn bản kèm theo không cùng tệp)."""

SEAL_OVER_SIGNATURE = 1 / 3
"""Share of the signer's box, from its left, that the seal covers (Decree 30 Appendix I: "dấu
đóng trùm lên khoảng 1/3 chữ ký về phía bên trái"); the rest of the seal sticks out to the left."""

LINE_BOX_EM = 1.3
"""A text field's box is the box of the printed word it continues, as poppler measures it: 1.3
em high, poppler's default ascent (0.95 em) and descent (0.35 em) for the fonts LibreOffice
embeds without vertical metrics. The filled text takes the size this gives ..."""
LINE_BASELINE_EM = 0.35
"""... and its baseline 0.35 em above the box's bottom, so it sits on the line of the words
beside it ('Số:', 'Hà Nội,') in their size."""

STAMP_RIGHT_MM = 15.0
"""The stamps' right edge sits on the page's narrowest right margin (Decree 30: 15-20 mm)."""
STAMP_TOP_MM = 7.0
"""Their top edge: inside the top margin (20-25 mm), above the national title."""
STAMP_WIDTH_MM = 85.0
STAMP_HEIGHT = 28.0
"""Two lines of 10 pt at 12 pt leading, with 2 pt above and below."""


@dataclass(frozen=True)
class Box:
    """A rectangle on one page, in PDF points, origin at the page's bottom-left corner."""

    page: int
    """Page index, 0 for the first page."""
    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)


@dataclass(frozen=True)
class FormLayout:
    """The four fields every issued document carries."""

    number: Box
    """Value after 'Số:', filled by the clerk with number and symbol, e.g. '05/QĐ-UBND'; the
    box of 'Số:' moved right (see :data:`LINE_BOX_EM`)."""
    date: Box
    """After the place name, filled with 'ngày 05 tháng 01 năm 2026'; the box of the place
    name moved right."""
    signer: Box
    """The leader's signature image, between the signer's title and name (neither inside)."""
    seal: Box
    """The agency seal, real size, over about the left third of the signer's image."""


def seal_over_signer(signer: Box, diameter_mm: float = SEAL_DIAMETER_MM) -> Box:
    """The seal's square, real size: its right edge a third into the signer's box, the rest
    sticking out to the left, so the seal covers the left third of the signature and leaves
    the rest (and the name under it) to be read; centred on the box's height; kept on the
    page (shifted right if the signature sits nearer the left edge than the seal is wide)."""
    d = diameter_mm * MM
    x1 = max(signer.x1 + signer.width * SEAL_OVER_SIGNATURE - d, 0.0)
    cy = (signer.y1 + signer.y2) / 2
    return Box(signer.page, x1, cy - d / 2, x1 + d, cy + d / 2)


def top_right_box(
    page: tuple[float, float, float, float], width: float = STAMP_WIDTH_MM * MM
) -> Box:
    """The stamp's rectangle in the top right corner of the first page (``page``: its crop box)."""
    x1, _y1, x2, y2 = page
    right = x2 - STAMP_RIGHT_MM * MM
    top = y2 - STAMP_TOP_MM * MM
    left = max(x1, right - width)
    return Box(0, left, top - STAMP_HEIGHT, right, top)
