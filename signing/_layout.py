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
    """Value after 'Số:', filled by the clerk with number and symbol, e.g. '05/QĐ-UBND'."""
    date: Box
    """After the place name, filled with 'ngày 05 tháng 01 năm 2026'."""
    signer: Box
    """The leader's signature image, between the signer's title and name."""
    seal: Box
    """The agency seal, real size, over about the left third of the signer's image."""


def seal_over_signer(signer: Box, diameter_mm: float = SEAL_DIAMETER_MM) -> Box:
    """The seal's square: centred on the left third of the signer's box, real size."""
    d = diameter_mm * MM
    cx = signer.x1 + signer.width / 3
    cy = (signer.y1 + signer.y2) / 2
    return Box(signer.page, cx - d / 2, cy - d / 2, cx + d / 2, cy + d / 2)


def top_right_box(
    page: tuple[float, float, float, float], width: float = STAMP_WIDTH_MM * MM
) -> Box:
    """The stamp's rectangle in the top right corner of the first page (``page``: its crop box)."""
    x1, _y1, x2, y2 = page
    right = x2 - STAMP_RIGHT_MM * MM
    top = y2 - STAMP_TOP_MM * MM
    left = max(x1, right - width)
    return Box(0, left, top - STAMP_HEIGHT, right, top)
