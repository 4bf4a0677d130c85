"""A draft to PDF with its Decree 30 form fields: LibreOffice prints it, the fields are placed.

The leader certifies the PDF with DocMDP level 2 before a number exists, so every field must
already be on the page then; this module finds their places from the printed text itself
(poppler's ``pdftotext -bbox-layout``), which works for our template and for a specialist's
own DOCX that follows Decree 30.
"""

from __future__ import annotations

import shutil
import tempfile
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.core.errors import ConfigError, ConversionError
from engine.core.programs import docx_to_pdf, run_program
from engine.core.workspace import Workspace
from signing import Box, FormLayout, add_form_fields, seal_over_signer

MM = 72 / 25.4
"""PDF points per millimetre."""
DATE_FIELD_EM = 11.6
"""'ngày 28 tháng 12 năm 2026' in Times New Roman Italic is 11.2 em; plus a little air."""
WORD_BOX_EM = 1.3
"""pdftotext's word box is about 1.3 em high for Times New Roman / Liberation Serif."""
SIGNER_FIELD_WIDTH = 50 * MM
MIN_SIGNATURE_GAP = 12 * MM
"""Less free height than this between title and name is not a place to sign."""
HEADER_SHARE = 0.4
"""The number and the date line sit in this top share of the first page."""
_XHTML = "{http://www.w3.org/1999/xhtml}"


@dataclass(frozen=True)
class _Word:
    """One word as pdftotext prints it; coordinates in points from the top-left corner."""

    text: str
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class _Line:
    """Words on one baseline within one column."""

    words: tuple[_Word, ...]

    @property
    def x1(self) -> float:
        return min(w.x1 for w in self.words)

    @property
    def x2(self) -> float:
        return max(w.x2 for w in self.words)

    @property
    def top(self) -> float:
        return min(w.y1 for w in self.words)

    @property
    def bottom(self) -> float:
        return max(w.y2 for w in self.words)

    @property
    def centre(self) -> float:
        return (self.x1 + self.x2) / 2

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


@dataclass(frozen=True)
class _Page:
    index: int
    """0 for the first page."""
    width: float
    height: float
    lines: tuple[_Line, ...]
    """Split where a wide gap shows two table columns."""

    @property
    def words(self) -> Iterator[_Word]:
        for line in self.lines:
            yield from line.words

    def box(self, x1: float, top: float, x2: float, bottom: float) -> Box:
        """A box from top-left coordinates, as PDF points from the bottom-left corner."""
        return Box(self.index, x1, self.height - bottom, x2, self.height - top)


def prepare_pdf(ws: Workspace, docx: bytes) -> bytes:
    """LibreOffice's PDF with the number, date, signer and seal fields placed by the layout."""
    pdf = docx_to_pdf(docx, soffice=ws.settings.soffice)
    return add_form_fields(pdf, find_form_layout(pdf))


# --- where the fields go -------------------------------------------------------------------


def find_form_layout(pdf: bytes) -> FormLayout:
    """The number, date, signer and seal boxes of a Decree 30 document."""
    pages = _read_words(pdf)
    if not pages:
        raise ConversionError(
            "tệp PDF không có trang nào", "the PDF has no pages", code="layout.no_pages"
        )
    first = pages[0]
    number_word = _number_anchor(first)
    date_word = _date_anchor(first, number_word)
    number = _number_box(first, number_word, date_word)
    date = _date_box(first, date_word)
    signer = _signer_box(pages)
    _check_free(pages[signer.page], signer, ("chữ ký của người ký", "the signer's signature"))
    return FormLayout(number=number, date=date, signer=signer, seal=seal_over_signer(signer))


def find_signer_box(pdf: bytes) -> Box:
    """Where the signer signs a document that is neither numbered nor sealed (a one-stop
    result that is not a decision, the apology letter): between their title and name."""
    pages = _read_words(pdf)
    if not pages:
        raise ConversionError(
            "tệp PDF không có trang nào", "the PDF has no pages", code="layout.no_pages"
        )
    signer = _signer_box(pages)
    _check_free(pages[signer.page], signer, ("chữ ký của người ký", "the signer's signature"))
    return signer


def _read_words(pdf: bytes) -> list[_Page]:
    if shutil.which("pdftotext") is None:
        raise ConfigError(
            "không tìm thấy pdftotext: cài gói poppler-utils",
            "pdftotext not found: install the poppler-utils package",
            code="conversion.pdftotext_missing",
        )
    with tempfile.TemporaryDirectory(prefix="vanthu-pdftotext-") as tmp:
        path = Path(tmp) / "van-ban.pdf"
        path.write_bytes(pdf)
        out = Path(tmp) / "words.html"
        returncode, output = run_program(
            ["pdftotext", "-bbox-layout", "-enc", "UTF-8", str(path), str(out)],
            60,
            what="pdftotext",
        )
        if returncode != 0 or not out.is_file():
            tail = output.strip()[-500:]
            raise ConversionError(
                f"không đọc được chữ trong PDF: {tail}",
                f"cannot read the text of the PDF: {tail}",
                code="conversion.text_unreadable",
                exit_code=returncode,
            )
        root = ET.fromstring(out.read_bytes())
    return [_page(index, page) for index, page in enumerate(root.iter(f"{_XHTML}page"))]


def _page(index: int, element: ET.Element) -> _Page:
    lines: list[_Line] = []
    for line in element.iter(f"{_XHTML}line"):
        words = [_word(w) for w in line.iter(f"{_XHTML}word")]
        lines.extend(_split_columns([w for w in words if w.text]))
    return _Page(
        index, float(element.attrib["width"]), float(element.attrib["height"]), tuple(lines)
    )


def _word(element: ET.Element) -> _Word:
    a = element.attrib
    text = unicodedata.normalize("NFC", (element.text or "").strip())
    return _Word(text, float(a["xMin"]), float(a["yMin"]), float(a["xMax"]), float(a["yMax"]))


def _split_columns(words: list[_Word]) -> Iterator[_Line]:
    """pdftotext may join two borderless table cells on one baseline; a gap of two line
    heights cannot be a space between words, so cut there."""
    current: list[_Word] = []
    for word in words:
        if current and word.x1 - current[-1].x2 > 2 * (word.y2 - word.y1):
            yield _Line(tuple(current))
            current = []
        current.append(word)
    if current:
        yield _Line(tuple(current))


def _header_words(page: _Page) -> list[_Word]:
    return [w for w in page.words if w.y2 < page.height * HEADER_SHARE]


def _number_anchor(page: _Page) -> _Word:
    for line in page.lines:
        for word, following in zip(line.words, (*line.words[1:], None), strict=True):
            if word.y2 >= page.height * HEADER_SHARE or word.x1 >= page.width / 2:
                continue
            if word.text == "Số:":
                return word
            if word.text == "Số" and following is not None and following.text == ":":
                return _Word("Số:", word.x1, word.y1, following.x2, word.y2)
    raise ConversionError(
        "không tìm thấy dòng 'Số:' ở phần đầu văn bản (bên trái, dưới tên cơ quan ban hành): "
        "văn bản phải theo thể thức Nghị định 30 để văn thư điền số",
        "no 'Số:' line at the head of the document (on the left, under the issuing agency's "
        "name): the document must follow the Decree 30 layout for the clerk to fill the number",
        code="layout.number_missing",
    )


def _date_anchor(page: _Page, number_word: _Word) -> _Word:
    """The place name ending with ',' right of 'Số:' on about its row ('Hà Nội,')."""
    height = number_word.y2 - number_word.y1
    left = max([page.width * 0.4, *(w.x1 - 10 for w in _national_title(page))])
    for word in sorted(_header_words(page), key=lambda w: (w.y1, w.x1)):
        if (
            word.text.endswith(",")
            and word.x1 > max(left, number_word.x2)
            and abs(word.y1 - number_word.y1) <= 2.5 * height
        ):
            return word
    raise ConversionError(
        "không tìm thấy dòng địa danh và ngày tháng (ví dụ 'Hà Nội, ') ở phần đầu văn bản, "
        "bên phải ngang dòng 'Số:': để trống phần ngày tháng sau dấu phẩy cho văn thư điền",
        "no place and date line (such as 'Hà Nội, ') at the head of the document, on the right "
        "level with the 'Số:' line: leave the date after the comma blank for the clerk to fill",
        code="layout.date_missing",
    )


def _national_title(page: _Page) -> list[_Word]:
    """The first word of 'CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM', when the page prints it."""
    return [w for w in _header_words(page) if w.text == "CỘNG"]


def _number_box(page: _Page, anchor: _Word, date_word: _Word) -> Box:
    """From right after 'Số:' to the edge of the left column; it covers the symbol hint."""
    right_column = [
        _phrase_start(page, date_word).x1,
        *(w.x1 for w in _national_title(page) if w.x1 > anchor.x2),
    ]
    x1 = anchor.x2 + 1.5
    x2 = min(min(right_column) - 8, x1 + 70 * MM)
    if x2 - x1 < 30 * MM:
        raise ConversionError(
            "sau chữ 'Số:' không đủ chỗ (cần khoảng 3 cm) cho số và ký hiệu văn bản",
            "there is not enough room after 'Số:' (about 3 cm is needed) for the number and symbol",
            code="layout.number_no_room",
        )
    box = page.box(x1, anchor.y1, x2, anchor.y2)
    # Whatever follows 'Số:' on its own line is the symbol hint or dots: the field covers it.
    same_line = {w for w in page.words if abs((w.y1 + w.y2) - (anchor.y1 + anchor.y2)) < 4}
    what = ("số và ký hiệu (sau 'Số:')", "the number and symbol (after 'Số:')")
    _check_free(page, box, what, allowed=same_line)
    return box


def _phrase_start(page: _Page, word: _Word) -> _Word:
    """The first word of the place name ending in ``word``: words one space apart."""
    line = next(line.words for line in page.lines if word in line.words)
    index = line.index(word)
    space = (word.y2 - word.y1) / WORD_BOX_EM * 0.6
    while index > 0 and line[index].x1 - line[index - 1].x2 < space:
        index -= 1
    return line[index]


def _date_box(page: _Page, anchor: _Word) -> Box:
    """Right of the place name after one space, as wide as the date in the line's size."""
    em = (anchor.y2 - anchor.y1) / WORD_BOX_EM
    x1 = anchor.x2 + 0.25 * em
    box = page.box(x1, anchor.y1, x1 + DATE_FIELD_EM * em, anchor.y2)
    if box.x2 > page.width - 5 * MM:
        raise ConversionError(
            f"sau '{anchor.text}' không đủ chỗ cho ngày ban hành trong lề phải: "
            "rút gọn địa danh hoặc để dòng ngày tháng ngắn hơn",
            f"there is not enough room after '{anchor.text}' for the date of issue within the "
            "right margin: shorten the place name or the date line",
            code="layout.date_no_room",
        )
    _check_free(page, box, ("ngày ban hành (sau địa danh)", "the date of issue (after the place)"))
    return box


def _signer_box(pages: Sequence[_Page]) -> Box:
    """Between the signer's title (capitals) and name, centred on them; the last such gap."""
    for page in reversed(pages):
        found = _signature_gap(page)
        if found is not None:
            title, name = found
            centre = (title.centre + name.centre) / 2
            x1 = max(centre - SIGNER_FIELD_WIDTH / 2, 0)
            x2 = min(x1 + SIGNER_FIELD_WIDTH, page.width)
            return page.box(x1, title.bottom + 2, x2, name.top - 2)
    raise ConversionError(
        "không tìm thấy khối chữ ký (chức vụ người ký viết hoa, khoảng trống để ký, họ tên "
        "người ký) ở bên phải cuối văn bản: không biết đặt chữ ký số của người ký ở đâu",
        "no signature block (the signer's title in capitals, a gap to sign in, the signer's "
        "name) on the right at the end of the document: nowhere to place the signer's signature",
        code="layout.signer_missing",
    )


def _signature_gap(page: _Page) -> tuple[_Line, _Line] | None:
    """The lowest (title, name) pair in the right part of the page with room to sign."""
    pairs = []
    for name in page.lines:
        if name.x1 < page.width * 0.4:
            continue
        title = _line_above(page, name)
        if (
            title is not None
            and title.x1 >= page.width * 0.4
            and _is_title(title)
            and name.top - title.bottom >= MIN_SIGNATURE_GAP
        ):
            pairs.append((title, name))
    return max(pairs, key=lambda pair: pair[1].top, default=None)


def _line_above(page: _Page, line: _Line) -> _Line | None:
    """The nearest line above whose span meets the signature's width around ``line``."""
    left = line.centre - SIGNER_FIELD_WIDTH / 2
    right = line.centre + SIGNER_FIELD_WIDTH / 2
    above = [
        other
        for other in page.lines
        if other.bottom <= line.top and other.x1 < right and other.x2 > left
    ]
    return max(above, key=lambda other: other.bottom, default=None)


def _is_title(line: _Line) -> bool:
    return any(c.isalpha() for c in line.text) and line.text == line.text.upper()


def _check_free(
    page: _Page,
    box: Box,
    what: tuple[str, str],
    *,
    allowed: frozenset[_Word] | set[_Word] = frozenset(),
) -> None:
    """A field drawn over printed words would hide them; say which words are in the way."""
    clash = [
        w.text
        for w in page.words
        if w not in allowed
        and w.x1 < box.x2
        and w.x2 > box.x1
        and page.height - w.y2 < box.y2
        and page.height - w.y1 > box.y1
    ]
    if clash:
        words = " ".join(clash)[:80]
        raise ConversionError(
            f"chỗ dành cho {what[0]} đã có chữ: '{words}': hãy để trống chỗ này",
            f"the place for {what[1]} already holds text: '{words}': leave it blank",
            code="layout.field_not_blank",
            words=words,
        )
