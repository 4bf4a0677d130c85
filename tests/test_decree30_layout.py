"""Decree 30 Appendix I, measured on issued PDFs: where the seal falls on the leader's signature,
'Số:' and the number on one line, place and date in one size, a Công văn's 'V/v' and 'Kính gửi:'.

The documents go through the whole outgoing flow (LibreOffice, the leader's certification, the
clerk's number, date and seal); the measures come from programs that read the PDF as a viewer
does: poppler's pdftotext for the words, PDFium (Chrome's PDF engine) for baselines and sizes.
"""

from __future__ import annotations

import ctypes
import io
import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlmodel import Session

from engine.automation import open_workspace
from engine.core.agency import create_demo_agency
from engine.core.config import load_settings
from engine.outgoing import DraftRequest
from engine.workflow.files import latest_file
from signing import FIELD_DATE, FIELD_NUMBER, FIELD_SEAL, FIELD_SIGNER
from storage import get_content
from tests_support import DECISION, issue_document

MM = 72 / 25.4
SEAL_MM = 36.0
LETTER = DraftRequest(
    doc_type="Công văn",
    subject="V/v đôn đốc báo cáo công tác văn thư",  # typed with 'V/v': printed once
    signer="giamdoc",
    body=("Đề nghị các cơ quan gửi báo cáo trước ngày 15/12./.",),
    recipients=("Như trên;",),
    addressees=("Sở Tài chính;", "Sở Xây dựng."),
)
KINDS = ("quyet-dinh", "cong-van")
_XHTML = "{http://www.w3.org/1999/xhtml}"


@dataclass(frozen=True)
class Rect:
    """PDF points from the page's bottom-left corner."""

    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    def meets(self, other: Rect) -> bool:
        return (
            self.x1 < other.x2 and other.x1 < self.x2 and self.y1 < other.y2 and other.y1 < self.y2
        )


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory, demo_keys: Path) -> Iterator[dict[str, Path]]:
    """A Quyết định and a Công văn, issued: their PDFs by kind."""
    home = tmp_path_factory.mktemp("decree30")
    ws = open_workspace(load_settings(home, pki_dir=demo_keys, steps_runner="inline"))
    create_demo_agency(ws)
    paths = {}
    for kind, request in zip(KINDS, (DECISION, LETTER), strict=True):
        document_id = issue_document(ws, request)
        with Session(ws.db) as session:
            pdf = get_content(ws.store, latest_file(session, document_id, "issued").sha256)
        paths[kind] = home / f"{kind}.pdf"
        paths[kind].write_bytes(pdf)
    yield paths
    ws.db.dispose()


def _fields(pdf: Path) -> dict[str, generic.DictionaryObject]:
    reader = PdfFileReader(io.BytesIO(pdf.read_bytes()), strict=False)
    return {
        str(ref.get_object()["/T"]): ref.get_object() for ref in reader.root["/AcroForm"]["/Fields"]
    }


def _widgets(pdf: Path) -> dict[str, generic.DictionaryObject]:
    """Each field's (single) widget: the field itself, or its one kid."""
    return {
        name: field["/Kids"][0].get_object() if "/Kids" in field else field
        for name, field in _fields(pdf).items()
    }


def _rect(widget: generic.DictionaryObject) -> Rect:
    x1, y1, x2, y2 = (float(v) for v in widget["/Rect"])
    return Rect(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))


def _drawn_image(widget: generic.DictionaryObject) -> Rect:
    """Where the signature image is painted: the 'cm' before 'Do' in the field's appearance."""
    stream = widget["/AP"]["/N"].get_object().data
    match = re.search(rb"([-\d.]+) 0 0 ([-\d.]+) ([-\d.]+) ([-\d.]+) cm /\w+ Do", stream)
    assert match is not None, stream
    width, height, x, y = (float(v) for v in match.groups())
    box = _rect(widget)
    return Rect(box.x1 + x, box.y1 + y, box.x1 + x + width, box.y1 + y + height)


def _words(pdf: Path) -> list[tuple[str, Rect]]:
    """The first page's words (page text and filled fields) as pdftotext finds them."""
    html = subprocess.run(
        ["pdftotext", "-bbox-layout", "-f", "1", "-l", "1", str(pdf), "-"],
        capture_output=True,
        check=True,
    ).stdout
    page = next(ET.fromstring(html).iter(f"{_XHTML}page"))
    height = float(page.attrib["height"])
    return [
        (
            (word.text or "").strip(),
            Rect(
                float(word.attrib["xMin"]),
                height - float(word.attrib["yMax"]),
                float(word.attrib["xMax"]),
                height - float(word.attrib["yMin"]),
            ),
        )
        for word in page.iter(f"{_XHTML}word")
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_the_seal_covers_the_left_third_of_the_signature_and_no_words(
    issued: dict[str, Path], kind: str
) -> None:
    widgets = _widgets(issued[kind])
    seal, signer = _rect(widgets[FIELD_SEAL]), _rect(widgets[FIELD_SIGNER])
    image = _drawn_image(widgets[FIELD_SIGNER])
    assert seal.width == pytest.approx(SEAL_MM * MM, abs=0.5)  # real size
    # Appendix I: the seal over about the left third of the signature, the rest of it out left
    assert seal.x1 < signer.x1 < seal.x2 < signer.x2
    assert 0.25 <= (seal.x2 - signer.x1) / signer.width <= 0.4
    assert 0.2 <= (seal.x2 - image.x1) / image.width <= 0.4
    assert seal.x1 >= 0 and seal.meets(image)
    # The signer's box holds the image only; title above, name below. The seal hides no
    # printed word: not the title, not the name, not the body or the recipients.
    words = _words(issued[kind])
    assert [text for text, box in words if box.meets(signer)] == []
    assert [text for text, box in words if box.meets(seal)] == []


def _baselines(pdf: Path) -> tuple[str, list[tuple[float, float]]]:
    """The first page's text with each character's baseline (PDF y) and font size, filled
    fields included (PDFium flattens them into the page first, as printing does)."""
    document = pdfium.PdfDocument(str(pdf))
    try:
        document.init_forms()
        page = document[0]
        assert page.flatten() == pdfium_c.FLATTEN_SUCCESS
        page.close()
        page = document[0]
        text_page = page.get_textpage()
        text = text_page.get_text_range()
        x, y = ctypes.c_double(), ctypes.c_double()
        chars = []
        for index in range(text_page.count_chars()):
            assert pdfium_c.FPDFText_GetCharOrigin(text_page.raw, index, x, y)
            chars.append((y.value, pdfium_c.FPDFText_GetFontSize(text_page.raw, index)))
        return text, chars
    finally:
        document.close()


def _line_of(text: str, chars: list[tuple[float, float]], phrase: str) -> tuple[float, float]:
    """(baseline, size) of ``phrase``, the same for each of its letters."""
    start = text.find(phrase)
    assert start >= 0, (phrase, text[:300])
    letters = {
        (round(y, 2), round(size, 2))
        for char, (y, size) in zip(phrase, chars[start : start + len(phrase)], strict=True)
        if not char.isspace()
    }
    assert len(letters) == 1, (phrase, letters)
    return letters.pop()


@pytest.mark.parametrize("kind", KINDS)
def test_number_sits_on_the_line_of_so_and_the_date_in_the_size_of_the_place(
    issued: dict[str, Path], kind: str
) -> None:
    fields = _fields(issued[kind])
    number, date = str(fields[FIELD_NUMBER]["/V"]), str(fields[FIELD_DATE]["/V"])
    text, chars = _baselines(issued[kind])
    so_line, number_line = _line_of(text, chars, "Số:"), _line_of(text, chars, number)
    place_line, date_line = _line_of(text, chars, "Hà Nội,"), _line_of(text, chars, date)
    assert number_line[0] == pytest.approx(so_line[0], abs=0.25)  # one baseline
    assert number_line[1] == pytest.approx(so_line[1], abs=0.05) == 13  # 13 pt, as 'Số:'
    assert date_line[0] == pytest.approx(place_line[0], abs=0.25)
    assert date_line[1] == pytest.approx(place_line[1], abs=0.05)  # the place's 14 pt
    assert re.fullmatch(r"ngày \d\d tháng \d\d năm \d{4}", date) and "/" in number


def test_an_issued_letter_reads_vv_once_and_kinh_gui(issued: dict[str, Path]) -> None:
    text = subprocess.run(
        ["pdftotext", "-layout", str(issued["cong-van"]), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert text.count("V/v") == 1 and "V/v đôn đốc báo cáo công tác văn thư" in text
    assert re.search(r"Kính gửi:\s+- Sở Tài chính;\n\s+- Sở Xây dựng\.", text), text
