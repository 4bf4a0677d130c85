"""Full text of archived PDFs: the text layer as it is, scans through Vietnamese OCR."""

from __future__ import annotations

import io
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pikepdf
import pytest
from fixtures_db import WorkspaceFactory
from fpdf import FPDF
from PIL import Image

from engine.archive.extraction import ExtractedText, extract_text
from engine.archive.search import SearchQuery, index_record, search
from engine.core.db import transaction
from engine.core.errors import InvalidInput
from engine.core.models import ArchiveRecord
from engine.core.text import fold

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
DECISION = (
    "QUYẾT ĐỊNH\n"
    "Về việc bổ nhiệm Trưởng phòng Tổ chức cán bộ\n"
    "Điều 1. Bổ nhiệm ông Lê Văn Tám giữ chức Trưởng phòng."
)
REPORT = "BÁO CÁO\nTình hình thực hiện nhiệm vụ quý III năm 2026 của Sở Nội vụ."


def text_pdf(*pages: str) -> bytes:
    """A PDF whose pages carry a real text layer (DejaVu Serif has every Vietnamese glyph)."""
    pdf = FPDF()
    pdf.add_font("DejaVu", fname=FONT)
    for page in pages:
        pdf.add_page()
        pdf.set_font("DejaVu", size=16)
        pdf.multi_cell(0, 10, page)
    return bytes(pdf.output())


def scanned(pdf: bytes, tmp: Path) -> list[Image.Image]:
    """Each page of ``pdf`` as a 200 dpi grey image, the way a scanner would deliver it."""
    source = tmp / "source.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "200", "-png", str(source), str(tmp / "page")], check=True)
    return [Image.open(p).convert("L") for p in sorted(tmp.glob("page*.png"))]


def image_pdf(images: list[Image.Image]) -> bytes:
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=200, save_all=True, append_images=images[1:])
    return out.getvalue()


def test_the_text_layer_is_read_as_it_is() -> None:
    extracted = extract_text(text_pdf(DECISION, REPORT))
    assert extracted.pages == 2
    assert extracted.ocr_pdf is None and extracted.ocr_pages == ()
    first, second = extracted.text.split("\f")
    assert "Về việc bổ nhiệm Trưởng phòng Tổ chức cán bộ" in first
    assert "Tình hình thực hiện nhiệm vụ quý III" in second


@pytest.fixture(scope="module")
def ocr_of_a_scan(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, ExtractedText]:
    tmp = tmp_path_factory.mktemp("scan")
    scan = image_pdf(scanned(text_pdf(DECISION), tmp))
    return scan, extract_text(scan)


def test_a_scanned_page_goes_through_vietnamese_ocr(
    ocr_of_a_scan: tuple[bytes, ExtractedText],
) -> None:
    scan, extracted = ocr_of_a_scan
    plain = subprocess.run(["pdftotext", "-", "-"], input=scan, capture_output=True, check=True)
    assert plain.stdout.strip() == b""  # the scan has no text layer of its own
    assert extracted.pages == 1 and extracted.ocr_pages == (1,)
    assert "quyet dinh" in fold(extracted.text)
    assert "bổ nhiệm Trưởng phòng Tổ chức cán bộ" in extracted.text  # diacritics recognised
    # The two-layer PDF keeps the image and now has text a reader can select.
    assert extracted.ocr_pdf is not None
    layered = subprocess.run(
        ["pdftotext", "-", "-"], input=extracted.ocr_pdf, capture_output=True, check=True
    )
    assert "Lê Văn Tám" in layered.stdout.decode()
    layered_path = Path(tempfile.mkdtemp()) / "layered.pdf"
    layered_path.write_bytes(extracted.ocr_pdf)
    listed = subprocess.run(
        ["pdfimages", "-list", str(layered_path)], capture_output=True, text=True, check=True
    )
    assert len(listed.stdout.splitlines()) == 3  # header, rule, the one scanned image


def test_the_ocr_text_makes_a_scan_findable(
    ocr_of_a_scan: tuple[bytes, ExtractedText],
    database_url: str,
    make_agency: WorkspaceFactory,
) -> None:
    _, extracted = ocr_of_a_scan
    ws = make_agency(database_url)
    with transaction(ws.db) as session:
        record = ArchiveRecord(
            record_id="SCAN-1",
            direction="incoming",
            agency_code="UBND",
            doc_type="Quyết định",
            subject="Văn bản đến (bản quét)",
            issued_at=datetime(2026, 3, 5, tzinfo=UTC),
            pdf_sha256="0" * 64,
            search_text="van ban den",
        )
        session.add(record)
        session.flush()
        index_record(session, record, extracted.text)
    hits = search(ws, SearchQuery(text="quyet dinh bo nhiem le van tam"), username="luutru").hits
    assert [h.record_id for h in hits] == ["SCAN-1"]
    assert "«Tám»" in hits[0].snippet_text()


def test_only_the_scanned_page_of_a_mixed_pdf_is_ocred(tmp_path: Path) -> None:
    scan = image_pdf(scanned(text_pdf(REPORT), tmp_path))
    # Page 1 typed (with a text layer), page 2 scanned.
    mixed = pikepdf.Pdf.open(io.BytesIO(text_pdf(DECISION)))
    mixed.pages.extend(pikepdf.Pdf.open(io.BytesIO(scan)).pages)
    out = io.BytesIO()
    mixed.save(out)
    extracted = extract_text(out.getvalue())
    assert extracted.pages == 2 and extracted.ocr_pages == (2,)
    first, second = extracted.text.split("\f")
    assert "Lê Văn Tám" in first
    assert "nhiệm vụ" in second


def test_what_is_not_a_readable_pdf_is_refused_by_name() -> None:
    with pytest.raises(InvalidInput) as invalid:
        extract_text(b"PK\x03\x04 a DOCX, not a PDF")
    assert invalid.value.code == "extraction.not_pdf"
    with pytest.raises(InvalidInput) as invalid:
        extract_text(b"%PDF-1.7\nbroken beyond repair")
    assert invalid.value.code == "extraction.pdf_unreadable"
