"""Real LibreOffice turns drafts into one-page A4 PDFs; the form boxes land on blank space."""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import pytest
from docx import Document
from test_drafts import example

from engine.core.errors import ConfigError, ConversionError
from engine.core.programs import docx_to_pdf
from engine.outgoing.conversion import find_form_layout
from engine.outgoing.drafts import (
    MOTTO,
    NATIONAL_TITLE,
    DraftContent,
    letter_subject,
    render_draft,
)
from signing import Box, FormLayout, seal_over_signer
from tests_support import refused

MM = 72 / 25.4
A4 = (595.3, 841.9)
_WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
)


@dataclass(frozen=True)
class Word:
    """A printed word, PDF points from the bottom-left corner (like Box)."""

    text: str
    box: Box


@dataclass(frozen=True)
class Converted:
    content: DraftContent
    pdf: bytes
    text: str
    """pdftotext output, whitespace collapsed."""
    page_sizes: list[tuple[float, float]]
    words: list[Word]
    layout: FormLayout


def _poppler(pdf: bytes, *args: str) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(pdf)
        file.flush()
        return subprocess.run(
            [*args, file.name, "-"], check=True, capture_output=True, text=True
        ).stdout


DRAFTS = {
    "quyet-dinh": lambda: example("quyet-dinh"),
    "cong-van": lambda: example("cong-van"),
    # A place name Decree 30 wants in full: the date line needs a wider column and 13 pt.
    "quyet-dinh-hcm": lambda: replace(example("quyet-dinh"), place="Thành phố Hồ Chí Minh"),
}


def _convert(name: str) -> Converted:
    content = DRAFTS[name]()
    pdf = docx_to_pdf(render_draft(content))
    bbox = _poppler(pdf, "pdftotext", "-bbox")
    sizes = re.findall(r'<page width="([\d.]+)" height="([\d.]+)"', bbox)
    height = float(sizes[0][1])
    words = [
        Word(t, Box(0, float(x1), height - float(y2), float(x2), height - float(y1)))
        for x1, y1, x2, y2, t in _WORD.findall(bbox)
    ]
    text = " ".join(_poppler(pdf, "pdftotext").split())
    return Converted(
        content,
        pdf,
        text,
        [(float(w), float(h)) for w, h in sizes],
        words,
        find_form_layout(pdf),
    )


@pytest.fixture(scope="module")
def converted() -> dict[str, Converted]:
    # Side by side on purpose: each call must bring its own LibreOffice profile.
    with ThreadPoolExecutor(len(DRAFTS)) as pool:
        return dict(zip(DRAFTS, pool.map(_convert, DRAFTS), strict=True))


def _overlaps(a: Box, b: Box) -> bool:
    return a.x1 < b.x2 and b.x1 < a.x2 and a.y1 < b.y2 and b.y1 < a.y2


def _word(doc: Converted, text: str) -> Word:
    return next(w for w in doc.words if w.text == text)


@pytest.mark.parametrize("name", DRAFTS)
def test_draft_becomes_one_a4_page_with_the_decree30_text(
    converted: dict[str, Converted], name: str
) -> None:
    doc = converted[name]
    assert doc.pdf.startswith(b"%PDF-")
    assert len(doc.page_sizes) == 1
    assert doc.page_sizes[0] == pytest.approx(A4, abs=0.5)
    for expected in (
        NATIONAL_TITLE,
        MOTTO,
        doc.content.agency_name,
        doc.content.body[-1],
        "Nơi nhận:",
        doc.content.archive_line,
        doc.content.signer_title,
        doc.content.signer_name,
    ):
        assert expected in doc.text
    if doc.content.doc_type == "Công văn":
        # typed 'Về việc …': printed 'V/v …', the prefix once
        assert letter_subject(doc.content.subject) in doc.text and "KHẨN" in doc.text
        assert doc.text.count("V/v") == 1 and "Về việc" not in doc.text
    else:
        assert f"{doc.content.doc_type.upper()} {doc.content.subject}" in doc.text


@pytest.mark.parametrize("name", DRAFTS)
def test_boxes_sit_where_the_clerk_and_the_signer_write(
    converted: dict[str, Converted], name: str
) -> None:
    doc = converted[name]
    width, height = doc.page_sizes[0]
    number, date, signer = doc.layout.number, doc.layout.date, doc.layout.signer
    so, place = _word(doc, "Số:"), _word(doc, doc.content.place.split()[-1] + ",")
    # Number: right after "Số:", in the upper-left quarter, one line high.
    assert 0 <= number.x1 - so.box.x2 < 3 and number.x2 < width / 2 and number.y1 > height * 0.75
    assert (number.y1, number.y2) == pytest.approx((so.box.y1, so.box.y2), abs=1)
    assert number.width > 35 * MM
    # Date: after "Hà Nội,", upper right, room for "ngày 28 tháng 12 năm 2026" (11.2 em) in
    # the date line's italic, 14 pt unless the place name is long.
    size = 13 if name.endswith("hcm") else 14
    assert 0 < date.x1 - place.box.x2 < 6 and date.x1 > width / 2 and date.y1 > height * 0.75
    assert date.width >= 11.2 * size and date.x2 <= width - 15 * MM
    assert date.height == pytest.approx(place.box.height, abs=0.5)
    # Signer: right half, below every word of the body, between title and name.
    title_words = [w for w in doc.words if w.text in doc.content.signer_title.split()]
    name_words = [w for w in doc.words if w.text in doc.content.signer_name.split()]
    assert (signer.x1 + signer.x2) / 2 > width / 2
    assert all(w.box.y1 >= signer.y2 for w in title_words if w.box.x1 > width / 2)
    assert all(w.box.y2 <= signer.y1 for w in name_words if w.box.x1 > width / 2)
    assert signer.width == pytest.approx(50 * MM) and signer.height > 20 * MM
    last_body_word = _word(doc, doc.content.body[-1].split()[-1])
    assert signer.y2 < last_body_word.box.y1
    if name.startswith("quyet-dinh"):
        assert signer.y2 < height / 2
    assert doc.layout.seal == seal_over_signer(signer)
    assert {number.page, date.page, signer.page} == {0}
    boxes = [number, date, signer]
    assert not any(_overlaps(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


@pytest.mark.parametrize("name", DRAFTS)
def test_boxes_cover_no_printed_word(converted: dict[str, Converted], name: str) -> None:
    doc = converted[name]
    hint = doc.content.symbol_hint  # the clerk's number replaces the hint on purpose
    for field in ("number", "date", "signer"):
        box = getattr(doc.layout, field)
        covered = [w.text for w in doc.words if _overlaps(w.box, box) and w.text != hint]
        assert covered == [], field
    assert [w.text for w in doc.words if _overlaps(w.box, doc.layout.number)] == [hint]


def _without_signer_block(docx: bytes) -> bytes:
    document = Document(io.BytesIO(docx))
    footer = document.tables[-1]._tbl
    footer.getparent().remove(footer)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _with_date_written(docx: bytes) -> bytes:
    document = Document(io.BytesIO(docx))
    for table in document.tables[:1]:
        for cell in table._cells:
            for paragraph in cell.paragraphs:
                if paragraph.text.startswith("Hà Nội,"):
                    paragraph.runs[0].text = "Hà Nội, ngày 05 tháng 01 năm 2026"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _plain_letter(_: bytes) -> bytes:
    document = Document()
    document.add_paragraph("Kính gửi anh Bình, gửi anh bản báo cáo.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        (_without_signer_block, "layout.signer_missing", None),
        (_with_date_written, "layout.field_not_blank", "ngày 05 tháng 01"),
        (_plain_letter, "layout.number_missing", None),
    ],
)
def test_documents_without_room_for_a_field_are_refused_by_name(
    change: Callable[[bytes], bytes], code: str, words: str | None
) -> None:
    pdf = docx_to_pdf(change(render_draft(example("quyet-dinh"))))
    with refused(code, ConversionError) as caught:
        find_form_layout(pdf)
    assert not caught.value.retryable and caught.value.message != caught.value.message_en
    if words is not None:
        assert caught.value.fields()["words"].startswith(words)


def test_missing_soffice_is_named_and_not_retryable() -> None:
    with refused("conversion.soffice_missing", ConfigError, program="/khong/co/soffice") as e:
        docx_to_pdf(b"x", soffice="/khong/co/soffice")
    assert e.value.retryable is False and e.value.kind == "config"


def test_failing_converter_is_reported_with_its_exit_code() -> None:
    with refused("conversion.failed", ConversionError, exit_code=1) as e:
        docx_to_pdf(render_draft(example("cong-van")), soffice="false")
    assert e.value.retryable is False


def test_a_conversion_past_its_time_is_stopped_and_retryable() -> None:
    # a limit neither a warm nor a cold LibreOffice can keep
    with refused("conversion.timeout", ConversionError, timeout_s=0.01) as e:
        docx_to_pdf(render_draft(example("cong-van")), timeout_s=0.01)
    assert e.value.retryable is True and e.value.kind == "unavailable"


def test_a_file_that_is_not_a_pdf_is_refused() -> None:
    with refused("conversion.text_unreadable", ConversionError):
        find_form_layout(b"%PDF-1.7 but nothing else")
