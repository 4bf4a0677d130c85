"""Full text of archived PDFs: the PDF's own text layer, OCR in Vietnamese for scanned pages.

Text comes from poppler's ``pdftotext`` page by page. A page with no text layer (a scan) makes
the whole file go through ``ocrmypdf`` with Tesseract's Vietnamese model (``--skip-text``: pages
that already carry text are left as they are), which returns a two-layer PDF (the image plus an
invisible text layer); its text is then read the same way. Every external program runs with a
time limit and fails with one Vietnamese sentence naming the problem.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from engine.core.errors import ConfigError, EngineError, InvalidInput
from vanthu.errors import Kind

PDFTOTEXT_TIMEOUT = 120
"""Seconds for reading the text layer of one PDF."""
OCR_TIMEOUT = 900
"""Seconds for OCR of one PDF (Tesseract takes a few seconds a page)."""
OCR_LANGUAGE = "vie"
MIN_PAGE_CHARS = 3
"""A page with fewer letters or digits than this is taken as having no text layer."""


class ExtractionError(EngineError):
    """The text of a PDF could not be read (missing tool, damaged file, time limit)."""

    code = "extraction.failed"
    kind = Kind.FAILED
    retryable = False


class ExtractionNotInstalled(ExtractionError, ConfigError):
    """A program or language model text extraction needs is not installed: an administrator
    must install it. Still an ExtractionError, so archiving falls back to the text layer."""

    code = "extraction.tool_missing"
    kind = Kind.CONFIG


@dataclass(frozen=True)
class ExtractedText:
    """The text of a PDF. ``ocr_pdf`` is the two-layer PDF when OCR was needed, else None."""

    text: str
    pages: int
    ocr_pdf: bytes | None = None
    ocr_pages: tuple[int, ...] = ()
    """1-based numbers of the pages that had no text layer and went through OCR."""


def extract_text(pdf: bytes, *, ocr: bool = True) -> ExtractedText:
    """The text of ``pdf``, pages separated by form feeds, normalised to NFC.

    Pages without a text layer go through OCR in Vietnamese when ``ocr`` is true; with ``ocr``
    false they simply contribute no text.
    """
    if not pdf.startswith(b"%PDF"):
        raise InvalidInput(
            "tệp không phải PDF (thiếu phần đầu '%PDF'), không đọc được nội dung",
            "the file is not a PDF (no '%PDF' header), its content cannot be read",
            code="extraction.not_pdf",
        )
    pages = _page_texts(pdf)
    empty = tuple(i + 1 for i, page in enumerate(pages) if is_blank(page))
    if not empty or not ocr:
        return ExtractedText(_join(pages), len(pages))
    layered = ocr_pdf(pdf)
    ocr_pages = _page_texts(layered)
    if len(ocr_pages) != len(pages):
        raise ExtractionError(
            f"OCR trả về {len(ocr_pages)} trang trong khi bản gốc có {len(pages)} trang",
            f"OCR returned {len(ocr_pages)} pages where the original has {len(pages)}",
            code="ocr.page_count_mismatch",
        )
    merged = [ocr_pages[i] if (i + 1) in empty else pages[i] for i in range(len(pages))]
    return ExtractedText(_join(merged), len(pages), layered, empty)


def ocr_pdf(pdf: bytes, *, language: str = OCR_LANGUAGE, timeout: float = OCR_TIMEOUT) -> bytes:
    """A copy of ``pdf`` with an invisible OCR text layer on every page that had none."""
    if importlib.util.find_spec("ocrmypdf") is None:
        raise ExtractionNotInstalled(
            "thiếu gói ocrmypdf để nhận dạng chữ trên bản quét (pip install ocrmypdf)",
            "the ocrmypdf package, needed to recognise text on scans, is missing"
            " (pip install ocrmypdf)",
            tool="ocrmypdf",
        )
    if shutil.which("tesseract") is None:
        raise ExtractionNotInstalled(
            "thiếu chương trình tesseract để nhận dạng chữ trên bản quét "
            "(apt-get install tesseract-ocr tesseract-ocr-vie)",
            "the tesseract program, needed to recognise text on scans, is missing "
            "(apt-get install tesseract-ocr tesseract-ocr-vie)",
            tool="tesseract",
        )
    _require_language(language)
    with tempfile.TemporaryDirectory(prefix="vanthu-ocr-") as tmp:
        source = Path(tmp) / "in.pdf"
        target = Path(tmp) / "out.pdf"
        source.write_bytes(pdf)
        command = [
            "ocrmypdf",
            "--language",
            language,
            "--skip-text",
            "--output-type",
            "pdf",
            "--optimize",
            "0",
            "--quiet",
            str(source),
            str(target),
        ]
        # The module of this interpreter, so an unactivated venv still finds it.
        command[0:1] = [sys.executable, "-m", "ocrmypdf"]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ExtractionError(
                f"nhận dạng chữ (OCR) quá {timeout:.0f} giây, bỏ dở",
                f"text recognition (OCR) took more than {timeout:.0f} seconds, abandoned",
                code="extraction.timeout",
                retryable=True,
                tool="ocrmypdf",
            ) from exc
        if done.returncode != 0 or not target.is_file():
            reason = _last_line(done.stderr) or f"mã lỗi {done.returncode}"
            raise ExtractionError(
                f"nhận dạng chữ (OCR) thất bại: {reason}",
                f"text recognition (OCR) failed: {reason}",
                code="ocr.failed",
            )
        return target.read_bytes()


def _require_language(language: str) -> None:
    try:
        listed = subprocess.run(
            ["tesseract", "--list-langs"], capture_output=True, text=True, timeout=30, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ExtractionError(
            "tesseract không trả lời khi hỏi danh sách ngôn ngữ",
            "tesseract did not answer when asked for its languages",
            code="extraction.timeout",
            retryable=True,
            tool="tesseract",
        ) from exc
    languages = set((listed.stdout + listed.stderr).split())
    if language not in languages:
        raise ExtractionNotInstalled(
            f"tesseract chưa có dữ liệu tiếng Việt '{language}'"
            " (apt-get install tesseract-ocr-vie)",
            f"tesseract has no data for the language '{language}'"
            " (apt-get install tesseract-ocr-vie)",
            code="ocr.language_missing",
            language=language,
        )


def _page_texts(pdf: bytes) -> list[str]:
    """The text layer of every page (pdftotext separates pages with form feeds)."""
    if shutil.which("pdftotext") is None:
        raise ExtractionNotInstalled(
            "thiếu chương trình pdftotext (apt-get install poppler-utils)",
            "the pdftotext program is missing (apt-get install poppler-utils)",
            tool="pdftotext",
        )
    try:
        done = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", "-", "-"],
            input=pdf,
            capture_output=True,
            timeout=PDFTOTEXT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ExtractionError(
            f"đọc chữ trong PDF quá {PDFTOTEXT_TIMEOUT} giây, bỏ dở",
            f"reading the text of the PDF took more than {PDFTOTEXT_TIMEOUT} seconds, abandoned",
            code="extraction.timeout",
            retryable=True,
            tool="pdftotext",
        ) from exc
    if done.returncode != 0:
        reason = _last_line(done.stderr) or f"mã lỗi {done.returncode}"
        raise InvalidInput(
            f"không đọc được chữ trong PDF (tệp hỏng?): {reason}",
            f"the text of the PDF cannot be read (a damaged file?): {reason}",
            code="extraction.pdf_unreadable",
        )
    text = unicodedata.normalize("NFC", done.stdout.decode("utf-8", errors="replace"))
    if text.endswith("\f"):
        text = text[:-1]  # pdftotext ends every page, the last one too, with a form feed
    return text.split("\f")


def is_blank(page: str) -> bool:
    """Fewer than ``MIN_PAGE_CHARS`` letters or digits: a scan. Stops at the last one needed
    (counting every character of every page cost bulk ingest a tenth of a worker's time)."""
    found = 0
    for char in page:
        if char.isalnum():
            found += 1
            if found >= MIN_PAGE_CHARS:
                return False
    return True


def _join(pages: list[str]) -> str:
    return "\f".join(page.strip() for page in pages)


def _last_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", errors="replace").splitlines()]
    lines = [line for line in lines if line]
    return lines[-1] if lines else ""
