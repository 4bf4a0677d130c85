"""Decree 30 drafts as DOCX: the template a specialist starts from, and the check on uploads.

The layout follows Appendix I of Decree 30/2020/NĐ-CP. It also leaves blank space where the
clerk's number, the issue date and the leader's signature go, because the converted PDF gets
form fields exactly there (see engine.outgoing.conversion.find_form_layout).
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.section import Section
from docx.shared import Cm, Mm, Pt, RGBColor
from docx.table import _Cell
from docx.text.paragraph import Paragraph

from engine.core.errors import InvalidInput

FONT = "Times New Roman"
NATIONAL_TITLE = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
CONG_VAN = "Công văn"
AUTHORITY_PREFIXES = ("KT.", "TM.", "TL.", "TUQ.", "Q.")

_TEXT_WIDTH_MM = 165
"""A4 width less the 30 mm left and 15 mm right margins."""
_HEADER_RIGHT_MM = (95, 105)
"""National title column: 95 mm holds the title (12 pt bold, 88 mm) and a date line after a
short place name; it widens to 105 mm for a long one ('Thành phố Hồ Chí Minh')."""
_FOOTER_LEFT_MM = 80
"""'Nơi nhận' column; the signer block is centred in the remaining 85 mm."""
_DATE_WIDTH_EM = 11.2
"""'ngày 28 tháng 12 năm 2026' in Times New Roman Italic, the widest issue date, in em."""
_NBSP_EM = 0.25
_ITALIC_EM = dict(
    zip(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ ,.-'()/đĐ",
        (
            *(500, 500, 444, 500, 444, 278, 500, 500, 278, 278, 444, 278, 722, 500, 500, 500),
            *(500, 389, 389, 278, 500, 444, 667, 444, 444, 389, 611, 611, 667, 722, 611, 611),
            *(722, 722, 333, 444, 667, 556, 833, 667, 722, 611, 722, 611, 500, 556, 722, 611),
            *(833, 611, 556, 556, 250, 250, 250, 333, 214, 333, 333, 278, 500, 722),
        ),
        strict=True,
    )
)
"""Advance widths of Times New Roman Italic (= Liberation Serif Italic) in 1/1000 em."""
_NUMBER_GAP = " " * 10
"""Room after 'Số:' for the number the clerk assigns (the symbol hint follows it)."""
_SIGNATURE_LINES = 7
"""Empty 14 pt lines between the signer's title and name: room for the 36 mm seal, so the seal
over the signature's left third covers neither the title nor the name (about 110 pt)."""
_DRAFT_MAX_UNCOMPRESSED_RATIO = 10
"""A DOCX inflating to more than ten times its upload limit is refused (zip bomb)."""

_SUBJECT_PREFIXES = ("V/v", "Về việc")
"""How people start a Công văn's subject; the template prints 'V/v' itself (compared ignoring
case)."""
_ADDRESSEE_INDENT_CM = (3.0, 5.5)
"""Several addressees: 'Kính gửi:' starts 3 cm in, the '- ' lines at 5.5 cm (Appendix I)."""
_ARTICLE = re.compile(r"^(Điều\s+\d+[a-z]?\.)(\s.*)$", re.DOTALL)
_ENCRYPTED_OFFICE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""OLE compound file: Word saves password-protected DOCX (and old .doc) in this wrapper."""


@dataclass(frozen=True)
class DraftContent:
    """Everything a Decree 30 draft shows; the number and date stay blank for the clerk."""

    doc_type: str
    """Decree 30 type name: 'Quyết định', 'Công văn', ..."""
    parent_agency: str | None
    """Cơ quan chủ quản, e.g. 'ỦY BAN NHÂN DÂN TỈNH MẪU'; None for a top-level agency."""
    agency_name: str
    """Issuing agency, e.g. 'SỞ NỘI VỤ'."""
    place: str
    """Place name that opens the date line, e.g. 'Hà Nội'."""
    subject: str
    """Trích yếu."""
    body: tuple[str, ...]
    """Paragraphs; a Quyết định gives its articles as 'Điều 1. ...'."""
    authority: str | None
    """'KT. GIÁM ĐỐC' and the like; None when the head signs himself."""
    signer_title: str
    """'PHÓ GIÁM ĐỐC'."""
    signer_name: str
    """'Nguyễn Văn An'."""
    recipients: tuple[str, ...]
    """Nơi nhận, one per line: 'Như Điều 3;', 'UBND tỉnh (để b/c);'."""
    archive_line: str
    """Last recipient line: 'Lưu: VT, VP.'."""
    symbol_hint: str
    """'/QĐ-SNV', shown after 'Số:'; the clerk's number field later covers the whole value."""
    urgency: str | None = None
    """'Khẩn', 'Thượng khẩn' or 'Hỏa tốc', printed as a bold mark under the number."""
    addressees: tuple[str, ...] = ()
    """A Công văn's 'Kính gửi:' (those it is addressed to), one per line."""
    secrecy: str | None = None
    """'Mật', 'Tối mật' or 'Tuyệt mật', printed as a boxed mark under the number (above the
    urgency mark)."""


def render_draft(content: DraftContent) -> bytes:
    """The draft as DOCX bytes, laid out per Decree 30 Appendix I."""
    document = Document()
    _setup_page(document)
    _header(document, content)
    if content.doc_type != CONG_VAN:
        _title(document, content)
    elif content.addressees:
        _addressees(document, content.addressees)
    _body(document, content.body)
    _footer(document, content)
    properties = document.core_properties
    properties.title = f"{content.doc_type} {content.subject}"
    properties.author = content.agency_name
    properties.language = "vi-VN"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def check_docx(data: bytes, filename: str, *, max_bytes: int = 20 * 1024 * 1024) -> None:
    """Refuse what LibreOffice should never see: oversized, encrypted, non-DOCX files."""
    if len(data) > max_bytes:
        size, limit = f"{len(data) / 1048576:.1f}", f"{max_bytes / 1048576:.0f}"
        raise InvalidInput(
            f"tệp quá lớn: {size} MB (tối đa {limit} MB)",
            f"the file is too large: {size} MB (at most {limit} MB)",
            code="draft.too_large",
            file=filename,
            max_bytes=max_bytes,
        )
    if data.startswith(_ENCRYPTED_OFFICE):
        raise InvalidInput(
            "tệp được đặt mật khẩu hoặc là định dạng Word cũ (.doc): "
            "hãy bỏ mật khẩu và lưu lại dưới dạng .docx",
            "the file has a password or is in the old Word format (.doc): "
            "remove the password and save it again as .docx",
            code="draft.encrypted_or_doc",
            file=filename,
        )
    buffer = io.BytesIO(data)
    if not zipfile.is_zipfile(buffer):
        raise InvalidInput(
            "tệp không phải tệp Word .docx (nội dung không đúng)",
            "the file is not a Word .docx file (its content is not)",
            code="draft.not_docx",
            file=filename,
        )
    try:
        with zipfile.ZipFile(buffer) as archive:
            _check_docx_archive(archive, filename, max_bytes * _DRAFT_MAX_UNCOMPRESSED_RATIO)
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
        # RuntimeError: zipfile's answer to an entry encrypted with a password.
        raise InvalidInput(
            "tệp bị hỏng hoặc được mã hóa, không đọc được",
            "the file is damaged or encrypted and cannot be read",
            code="draft.unreadable",
            file=filename,
        ) from exc


def _check_docx_archive(archive: zipfile.ZipFile, filename: str, max_inflated: int) -> None:
    if "word/document.xml" not in archive.namelist():
        raise InvalidInput(
            "tệp không phải tệp Word .docx: thiếu word/document.xml",
            "the file is not a Word .docx file: word/document.xml is missing",
            code="draft.not_docx",
            file=filename,
        )
    if sum(info.file_size for info in archive.infolist()) > max_inflated:
        raise InvalidInput(
            "tệp giải nén ra quá lớn, không nhận",
            "the file is too large once unpacked: refused",
            code="draft.unpacked_too_large",
            file=filename,
        )
    broken = archive.testzip()
    if broken is not None:
        raise InvalidInput(
            f"tệp bị hỏng: phần '{broken}' không đọc được",
            f"the file is damaged: its part '{broken}' cannot be read",
            code="draft.damaged",
            file=filename,
            part=broken,
        )


# --- page and styles -------------------------------------------------------------------------


def _setup_page(document: DocxDocument) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.header_distance, section.footer_distance = Mm(10), Mm(10)
    _page_numbers(section)
    styles = document.styles.element
    r_pr = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    # Explicit fonts instead of the template's theme fonts (Calibri/Cambria).
    fonts = r_pr.find(qn("w:rFonts"))
    for attr in list(fonts.attrib):
        del fonts.attrib[attr]
    for slot in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(slot), FONT)
    r_pr.find(qn("w:sz")).set(qn("w:val"), "28")
    r_pr.find(qn("w:szCs")).set(qn("w:val"), "28")
    r_pr.find(qn("w:lang")).set(qn("w:val"), "vi-VN")
    p_pr = styles.find(qn("w:docDefaults")).find(qn("w:pPrDefault")).find(qn("w:pPr"))
    spacing = p_pr.find(qn("w:spacing"))
    spacing.set(qn("w:after"), "0")
    spacing.set(qn("w:line"), "240")


def _page_numbers(section: Section) -> None:
    """Centred in the top margin from page 2 on; page 1 has none (Decree 30)."""
    section.different_first_page_header_footer = True
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "2"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _paragraph(
    where: _Cell | DocxDocument,
    align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.CENTER,
    *,
    before: float = 0,
    after: float = 0,
) -> Paragraph:
    paragraph = where.add_paragraph()
    paragraph.alignment = align
    fmt = paragraph.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    return paragraph


def _text(
    paragraph: Paragraph,
    text: str,
    size: float,
    *,
    bold: bool = False,
    italic: bool = False,
    underline: bool = False,
    color: RGBColor | None = None,
) -> None:
    run = paragraph.add_run(text)
    run.font.size = Pt(size)
    run.font.bold, run.font.italic, run.font.underline = bold, italic, underline
    if color is not None:
        run.font.color.rgb = color


def _border(paragraph: Paragraph, *edges: str) -> None:
    """A solid 0.75 pt line on the given sides of the paragraph."""
    p_pr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    for edge in edges:
        line = OxmlElement(f"w:{edge}")
        line.set(qn("w:val"), "single")
        line.set(qn("w:sz"), "6")
        line.set(qn("w:space"), "1")
        line.set(qn("w:color"), "auto")
        borders.append(line)
    p_pr.append(borders)


def _short_rule(where: _Cell | DocxDocument, column_mm: float, length_mm: float) -> None:
    """The short centred line Decree 30 puts under the agency name and the subject."""
    paragraph = _paragraph(where, before=3)
    side = max(0.0, (column_mm - length_mm) / 2)
    fmt = paragraph.paragraph_format
    fmt.left_indent, fmt.right_indent = Mm(side), Mm(side)
    fmt.line_spacing = Pt(2)
    _text(paragraph, "", 1)
    _border(paragraph, "top")


def _estimated_width_mm(text: str, size: float) -> float:
    """Capitals of Times New Roman Bold average about 0.7 em; close enough for a rule."""
    return len(text) * 0.7 * size * 25.4 / 72


# --- the parts of the page -------------------------------------------------------------------


def _table(document: DocxDocument, left_mm: float, rows: int) -> list[tuple[_Cell, _Cell]]:
    """A borderless two-column table filling the text width; returns its rows' cells."""
    table = document.add_table(rows=rows, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    table.autofit = False
    widths = (Mm(left_mm), Mm(_TEXT_WIDTH_MM - left_mm))
    margins = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        margin = OxmlElement(f"w:{edge}")
        margin.set(qn("w:w"), "0")
        margin.set(qn("w:type"), "dxa")
        margins.append(margin)
    table._tbl.tblPr.append(margins)
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    cells = []
    for row in table.rows:
        # A row never breaks across pages: the signer's title and name stay together.
        row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
        left, right = row.cells
        for cell, width in zip((left, right), widths, strict=True):
            cell.width = width
            # A new cell holds one empty paragraph; every part adds its own.
            cell._tc.remove(cell.paragraphs[0]._p)
        cells.append((left, right))
    return cells


def _header(document: DocxDocument, content: DraftContent) -> None:
    """Agency and national title side by side, then number and date line on one row."""
    date_size, right_mm = _date_line_fit(content.place)
    left_mm = _TEXT_WIDTH_MM - right_mm
    (agency, nation), (number, date) = _table(document, left_mm, rows=2)
    if content.parent_agency:
        _text(_paragraph(agency), content.parent_agency.upper(), 12)
    _text(_paragraph(agency), content.agency_name.upper(), 12, bold=True)
    agency_width = _estimated_width_mm(content.agency_name, 12)
    _short_rule(agency, left_mm, min(agency_width, left_mm) * 0.45)
    _text(_paragraph(nation), NATIONAL_TITLE, 12, bold=True)
    _text(_paragraph(nation), MOTTO, 13, bold=True, underline=True)
    _text(_paragraph(number, before=6), f"Số:{_NUMBER_GAP}{content.symbol_hint}", 13)
    if content.doc_type == CONG_VAN:
        _text(_paragraph(number, before=3), letter_subject(content.subject), 12)
    if content.secrecy:
        _mark(number, left_mm, content.secrecy)  # field 10a
    if content.urgency:
        _urgency(number, left_mm, content.urgency)  # field 10b
    # The blank for the date must count when LibreOffice centres the line, or the place name
    # sits in the middle and the date runs past the margin: trailing spaces, even
    # non-breaking ones, hang outside the line in a table cell unless a (zero-width, not
    # extracted) word joiner ends it.
    blank = "\u00a0" * math.ceil(_DATE_WIDTH_EM / _NBSP_EM) + "\u2060"
    _text(_paragraph(date, before=6), f"{content.place}, {blank}", date_size, italic=True)


def letter_subject(subject: str) -> str:
    """A Công văn's subject line: 'V/v' once, whether it was typed with 'V/v' or 'Về việc'."""
    text = subject.strip()
    stripped = True
    while stripped:  # 'V/v Về việc …' too
        stripped = False
        for prefix in _SUBJECT_PREFIXES:
            head, rest = text[: len(prefix)], text[len(prefix) :]
            if head.casefold() == prefix.casefold() and (not rest or rest[0] in " :."):
                text, stripped = rest.lstrip(" :."), True
    return f"V/v {text}"


def _date_line_fit(place: str) -> tuple[int, int]:
    """Font size (14, else 13) and right column width (mm) that hold the whole date line."""
    line_em = _italic_width_em(f"{place}, ") + _DATE_WIDTH_EM
    for size in (14, 13):
        for right_mm in _HEADER_RIGHT_MM:
            if line_em * size + 6 <= right_mm * 72 / 25.4:
                return size, right_mm
    return 13, _HEADER_RIGHT_MM[-1]


def _italic_width_em(text: str) -> float:
    """Vietnamese letters take their base letter's width; ơ and ư are a little wider."""
    total = 0
    for char in text:
        base = unicodedata.normalize("NFD", char)[0] if char not in "đĐ" else char
        total += _ITALIC_EM.get(base, 500) + (40 if char.lower() in "ơờớởỡợưừứửữự" else 0)
    return total / 1000


def _urgency(cell: _Cell, column_mm: float, urgency: str) -> None:
    """The urgency mark, boxed, under the number (Decree 30 Appendix I, field 10b)."""
    _mark(cell, column_mm, urgency)


def _mark(cell: _Cell, column_mm: float, mark: str) -> None:
    """A boxed red capitals mark under the number: the secrecy (field 10a) or the urgency
    (field 10b) of Decree 30 Appendix I."""
    paragraph = _paragraph(cell, before=8)
    side = max(0.0, (column_mm - _estimated_width_mm(mark, 13) - 8) / 2)
    fmt = paragraph.paragraph_format
    fmt.left_indent, fmt.right_indent = Mm(side), Mm(side)
    _text(paragraph, mark.upper(), 13, bold=True, color=RGBColor(0xC0, 0, 0))
    _border(paragraph, "top", "left", "bottom", "right")


def _title(document: DocxDocument, content: DraftContent) -> None:
    _text(_paragraph(document, before=24), content.doc_type.upper(), 14, bold=True)
    _text(_paragraph(document), content.subject, 14, bold=True)
    subject_width = min(_estimated_width_mm(content.subject, 14) * 0.8, _TEXT_WIDTH_MM)
    _short_rule(document, _TEXT_WIDTH_MM, max(subject_width / 3, 30))
    if content.doc_type == "Quyết định":
        _text(_paragraph(document, before=12, after=6), _issuer(content), 14, bold=True)


def _issuer(content: DraftContent) -> str:
    """Who decides, as the line above the legal grounds: 'GIÁM ĐỐC SỞ NỘI VỤ'."""
    head = content.signer_title
    if content.authority:
        head = content.authority
        for prefix in AUTHORITY_PREFIXES:
            head = head.removeprefix(prefix).strip()
    agency = content.agency_name.upper()
    return agency if agency.startswith(head.upper()) else f"{head.upper()} {agency}"


def _addressees(document: DocxDocument, addressees: tuple[str, ...]) -> None:
    """'Kính gửi:' under the header of a Công văn (Decree 30 Appendix I, field 9a): centred
    with one addressee; with several, one '- ' line each, aligned after 'Kính gửi:'."""
    names = [line.strip() for line in addressees if line.strip()]
    if len(names) == 1:
        _text(_paragraph(document, before=12, after=6), f"Kính gửi: {names[0]}", 14)
        return
    start, items = (Cm(value) for value in _ADDRESSEE_INDENT_CM)
    for index, name in enumerate(names):
        item = name if name.startswith("- ") else f"- {name.lstrip('-').strip()}"
        paragraph = _paragraph(
            document,
            WD_ALIGN_PARAGRAPH.LEFT,
            before=12 if index == 0 else 0,
            after=6 if index == len(names) - 1 else 0,
        )
        fmt = paragraph.paragraph_format
        fmt.left_indent = items
        if index == 0:
            fmt.first_line_indent = start - items  # hanging: 'Kính gửi:' then a tab to the list
            fmt.tab_stops.add_tab_stop(items)
            _text(paragraph, f"Kính gửi:\t{item}", 14)
        else:
            _text(paragraph, item, 14)


def _body(document: DocxDocument, paragraphs: Iterable[str]) -> None:
    written: list[Paragraph] = []
    for text in paragraphs:
        if text.strip():
            before = 0 if written else 12
            written.append(_body_paragraph(document, text.strip(), before=before))
    if written:
        # Decree 30 practice: the signature page carries some of the text, never the block alone.
        written[-1].paragraph_format.keep_with_next = True


def _body_paragraph(document: DocxDocument, text: str, *, before: float) -> Paragraph:
    if text.endswith(":") and text == text.upper() and any(c.isalpha() for c in text):
        # "QUYẾT ĐỊNH:" between the legal grounds and the articles.
        paragraph = _paragraph(document, before=max(before, 6), after=6)
        _text(paragraph, text, 14, bold=True)
        return paragraph
    if text.startswith("Kính gửi:"):
        paragraph = _paragraph(document, before=max(before, 6), after=6)
        _text(paragraph, text, 14)
        return paragraph
    paragraph = _paragraph(document, WD_ALIGN_PARAGRAPH.JUSTIFY, before=before, after=6)
    paragraph.paragraph_format.first_line_indent = Cm(1.27)
    article = _ARTICLE.match(text)
    if article:
        _text(paragraph, article.group(1), 14, bold=True)
        _text(paragraph, article.group(2), 14)
    else:
        _text(paragraph, text, 14)
    return paragraph


def _footer(document: DocxDocument, content: DraftContent) -> None:
    _paragraph(document, after=6).paragraph_format.keep_with_next = True
    ((left, right),) = _table(document, _FOOTER_LEFT_MM, rows=1)
    label = _paragraph(left, WD_ALIGN_PARAGRAPH.LEFT)
    _text(label, "Nơi nhận:", 12, bold=True, italic=True)
    for line in (*content.recipients, content.archive_line):
        _text(_paragraph(left, WD_ALIGN_PARAGRAPH.LEFT), f"- {line.strip()}", 11)
    if content.authority:
        _text(_paragraph(right), content.authority.upper(), 14, bold=True)
    _text(_paragraph(right), content.signer_title.upper(), 14, bold=True)
    for _ in range(_SIGNATURE_LINES):
        _text(_paragraph(right), "", 14)
    _text(_paragraph(right), content.signer_name, 14, bold=True)
