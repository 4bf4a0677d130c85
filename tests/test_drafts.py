"""Decree 30 drafts as DOCX, and the check that keeps bad uploads away from LibreOffice."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt
from fixtures_db import WorkspaceFactory
from sqlmodel import Session

from engine.automation import open_workspace
from engine.core.agency import create_demo_agency
from engine.core.config import load_settings
from engine.core.errors import InvalidInput, NotAllowed
from engine.core.models import Document as DocumentRow
from engine.core.workspace import Workspace
from engine.outgoing import DraftRequest, create_outgoing, draft_signers
from engine.outgoing.conversion import prepare_pdf
from engine.outgoing.drafts import (
    NATIONAL_TITLE,
    DraftContent,
    check_docx,
    letter_subject,
    render_draft,
)
from engine.workflow.files import latest_file
from storage import get_content
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
    assert content.subject.startswith("Về việc ")
    texts = _texts(render_draft(content))
    assert f"V/v {content.subject.removeprefix('Về việc ')}" in texts  # 'V/v' replaces it
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


@pytest.mark.parametrize(
    "typed",
    [
        "đôn đốc báo cáo",
        "V/v đôn đốc báo cáo",
        "v/v: đôn đốc báo cáo",
        "Về việc đôn đốc báo cáo",
        "về việc đôn đốc báo cáo",
        "V/v Về việc đôn đốc báo cáo",
    ],
)
def test_a_letters_subject_gets_vv_exactly_once(typed: str) -> None:
    assert letter_subject(typed) == "V/v đôn đốc báo cáo"


def test_a_subject_merely_starting_like_vv_keeps_its_words() -> None:
    assert letter_subject("Về việcxyz") == "V/v Về việcxyz"  # not the words 'Về việc'


def test_one_addressee_is_centred_after_kinh_gui() -> None:
    content = replace(example("cong-van"), addressees=("Sở Tài chính tỉnh Mẫu.",))
    document = Document(io.BytesIO(render_draft(content)))
    [line] = [p for p in document.paragraphs if p.text.startswith("Kính gửi: Sở")]
    assert line.text == "Kính gửi: Sở Tài chính tỉnh Mẫu."
    assert line.alignment == WD_ALIGN_PARAGRAPH.CENTER
    texts = [p.text for p in document.paragraphs]
    assert texts.index(line.text) < next(  # under the header, before the body
        i for i, t in enumerate(texts) if t.startswith("Thực hiện")
    )


def test_several_addressees_are_dash_lines_aligned_after_kinh_gui() -> None:
    content = replace(
        example("cong-van"),
        addressees=("Sở Tài chính;", "- Sở Xây dựng;", "", "Ủy ban nhân dân các huyện."),
    )
    document = Document(io.BytesIO(render_draft(content)))
    texts = [p.text for p in document.paragraphs]
    start = texts.index("Kính gửi:\t- Sở Tài chính;")
    assert texts[start + 1 : start + 3] == ["- Sở Xây dựng;", "- Ủy ban nhân dân các huyện."]
    first, second = document.paragraphs[start], document.paragraphs[start + 1]
    indents = [p.paragraph_format.left_indent for p in (first, second)]
    assert [round(i.cm, 2) for i in indents if i is not None] == [5.5, 5.5]  # the list aligned
    hanging = first.paragraph_format.first_line_indent
    assert hanging is not None and round(hanging.cm, 2) == -2.5  # 'Kính gửi:' starts at 3 cm


def test_a_decision_prints_no_vv_line() -> None:
    content = example("quyet-dinh")
    assert not any(t.startswith("V/v") for t in _texts(render_draft(content)))


# --- a request through the engine: 'Kính gửi', urgency, the signers ---------------------------

SCREENS = Path(__file__).resolve().parents[1] / "test-output" / "screens"
KINH_GUI_LETTER = DraftRequest(
    doc_type="Công văn",
    subject="V/v đôn đốc báo cáo công tác văn thư",
    signer="phogiamdoc",
    body=("Đề nghị các cơ quan gửi báo cáo trước ngày 15/12./.",),
    recipients=("Như trên;",),
    addressees=("Sở Tài chính;", "Sở Xây dựng."),
)


def _draft_docx(ws: Workspace, document_id: int) -> bytes:
    with Session(ws.db) as session:
        return get_content(ws.store, latest_file(session, document_id, "draft").sha256)


def test_a_letter_with_kinh_gui_converts_with_it_and_vv_once(
    make_agency: WorkspaceFactory, tmp_path: Path
) -> None:
    ws = make_agency()
    document_id = create_outgoing(ws, "chuyenvien", KINH_GUI_LETTER)
    pdf = prepare_pdf(ws, _draft_docx(ws, document_id))  # LibreOffice, then the form boxes
    (tmp_path / "cong-van.pdf").write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "cong-van.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert text.count("V/v") == 1 and "V/v đôn đốc báo cáo" in text
    assert re.search(r"Kính gửi:\s+- Sở Tài chính;\n\s+- Sở Xây dựng\.", text), text
    assert "KT. GIÁM ĐỐC" in text  # the deputy signs for the director
    SCREENS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            *("pdftoppm", "-r", "60", "-png", "-singlefile", "-f", "1", "-l", "1"),
            *(str(tmp_path / "cong-van.pdf"), str(SCREENS / "drafts-cong-van-kinh-gui")),
        ],
        check=True,
    )


def test_kinh_gui_belongs_to_a_letter_only(make_agency: WorkspaceFactory) -> None:
    ws = make_agency()
    decision = replace(KINH_GUI_LETTER, doc_type="Quyết định")
    with refused("draft.addressees_not_letter", InvalidInput, doc_type="Quyết định"):
        create_outgoing(ws, "chuyenvien", decision)
    blank = replace(decision, addressees=("", "  "))  # empty lines are no addressee
    assert create_outgoing(ws, "chuyenvien", blank) > 0


def test_urgency_is_one_of_decree30s_marks(make_agency: WorkspaceFactory) -> None:
    ws = make_agency()
    with refused("draft.urgency_unknown", InvalidInput, urgency="Gấp"):
        create_outgoing(ws, "chuyenvien", replace(KINH_GUI_LETTER, urgency="Gấp"))
    ordinary = create_outgoing(ws, "chuyenvien", replace(KINH_GUI_LETTER, urgency="Thường"))
    urgent = create_outgoing(ws, "chuyenvien", replace(KINH_GUI_LETTER, urgency="Thượng khẩn"))
    with Session(ws.db) as session:
        stored = [session.get(DocumentRow, d) for d in (ordinary, urgent)]
        assert [d.urgency for d in stored if d is not None] == [None, "Thượng khẩn"]
    assert "THƯỢNG KHẨN" in _texts(_draft_docx(ws, urgent))


def test_the_signers_offered_are_the_leaders_head_first(make_agency: WorkspaceFactory) -> None:
    ws = make_agency()
    signers = draft_signers(ws, "chuyenvien")
    assert [(s.username, s.authority) for s in signers] == [
        ("giamdoc", None),
        ("phogiamdoc", "KT. GIÁM ĐỐC"),
    ]
    assert signers[1].title == "Phó Giám đốc"
    with refused("draft.not_allowed", NotAllowed, user="vanthu"):
        draft_signers(ws, "vanthu")  # a clerk does not draft


def test_vanthu_draft_new_takes_kinh_gui_repeated(tmp_path: Path) -> None:
    home = tmp_path / "agency"
    command = [sys.executable, "-m", "engine", "--home", str(home)]
    subprocess.run([*command, "init"], check=True, capture_output=True, timeout=300)
    ws = open_workspace(load_settings(home))
    create_demo_agency(ws)
    body = tmp_path / "body.txt"
    body.write_text("Đề nghị gửi báo cáo./.\n", encoding="utf-8")
    answer = subprocess.run(
        [
            *(*command, "draft", "new", "--as", "chuyenvien", "--type", "Công văn"),
            *("--subject", "Về việc báo cáo", "--signer", "giamdoc", "--body-file", str(body)),
            *("--kinh-gui", "Sở Tài chính;", "--kinh-gui", "Sở Xây dựng."),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert answer.returncode == 0, answer.stderr
    document_id = int(re.search(r"#(\d+)", answer.stdout).group(1))  # type: ignore[union-attr]
    texts = _texts(_draft_docx(ws, document_id))
    assert "Kính gửi:\t- Sở Tài chính;" in texts and "- Sở Xây dựng." in texts
    assert "V/v báo cáo" in texts
