"""Decree 30 drafts as DOCX, and the check that keeps bad uploads away from LibreOffice."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import yaml
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt

from engine.core.errors import InvalidInput
from engine.outgoing.drafts import NATIONAL_TITLE, DraftContent, check_docx, render_draft
from tests_support import refused

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "drafts"


def example(name: str) -> DraftContent:
    """A sample draft from examples/drafts/<name>.yaml."""
    data = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8"))
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return DraftContent(**fields)


def _texts(docx: bytes) -> list[str]:
    document = Document(io.BytesIO(docx))
    cells = [
        p.text for t in document.tables for c in t._cells for p in c.paragraphs if p.text.strip()
    ]
    return cells + [p.text for p in document.paragraphs if p.text.strip()]


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_decision_has_a4_page_margins_header_and_bold_articles() -> None:
    data = render_draft(example("quyet-dinh"))
    check_docx(data, "du-thao.docx")
    document = Document(io.BytesIO(data))
    section = document.sections[0]
    sizes = [section.page_width, section.page_height, section.top_margin]
    sizes += [section.bottom_margin, section.left_margin, section.right_margin]
    assert [round(size.mm, 1) for size in sizes if size is not None] == [210, 297, 20, 20, 30, 15]
    texts = _texts(data)
    assert NATIONAL_TITLE in texts
    assert "QUYẾT ĐỊNH" in texts
    assert "GIÁM ĐỐC SỞ NỘI VỤ" in texts  # who decides, above the legal grounds
    assert any(t.startswith("Số:") and t.endswith("/QĐ-SNV") for t in texts)
    assert "- Lưu: VT, TCBC." in texts
    article = next(p for p in document.paragraphs if p.text.startswith("Điều 1."))
    assert article.runs[0].text == "Điều 1." and article.runs[0].bold
    assert not article.runs[1].bold
    assert article.alignment == WD_ALIGN_PARAGRAPH.JUSTIFY
    assert article.paragraph_format.first_line_indent == Cm(1.27)
    assert article.paragraph_format.space_after == Pt(6)
    assert article.runs[1].font.size == Pt(14)


def test_letter_puts_subject_after_vv_and_prints_urgency() -> None:
    content = example("cong-van")
    texts = _texts(render_draft(content))
    assert f"V/v {content.subject}" in texts
    assert "KHẨN" in texts
    assert "CÔNG VĂN" not in texts  # a Công văn has no type name line
    assert content.signer_name in texts and "GIÁM ĐỐC" in texts


def test_check_docx_refuses_a_png_renamed_docx() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    with refused("draft.not_docx", InvalidInput, file="anh-chup.docx"):
        check_docx(png, "anh-chup.docx")


def test_check_docx_refuses_an_oversized_file() -> None:
    data = render_draft(example("cong-van"))
    with refused("draft.too_large", InvalidInput, file="lon.docx", max_bytes=len(data) - 1):
        check_docx(data, "lon.docx", max_bytes=len(data) - 1)


def test_check_docx_refuses_a_zip_without_document_xml() -> None:
    data = _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})
    with refused("draft.not_docx", InvalidInput, file="bang.docx"):
        check_docx(data, "bang.docx")


def test_check_docx_refuses_a_password_protected_document() -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
    with refused("draft.encrypted_or_doc", InvalidInput, file="mat-khau.docx"):
        check_docx(ole, "mat-khau.docx")


def test_check_docx_refuses_a_truncated_or_inflating_archive() -> None:
    data = render_draft(example("cong-van"))
    with refused("draft.not_docx", InvalidInput, file="cut.docx"):
        check_docx(data[: len(data) // 2], "cut.docx")
    bomb = _zip({"word/document.xml": b"<w:document/>", "word/media/x.bin": b"\0" * 2_000_000})
    with refused("draft.unpacked_too_large", InvalidInput, file="bom.docx"):
        check_docx(bomb, "bom.docx", max_bytes=100_000)
