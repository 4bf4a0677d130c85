"""Results of one-stop procedures for the tests: a decision (Decree 30 template, number and date
left blank for the register) and a written appraisal that is signed only."""

from __future__ import annotations

import io

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm, Pt

from engine.outgoing.drafts import DraftContent, render_draft

DECISION_SUBJECT = "Về việc công nhận Ban vận động thành lập Hội Văn thư - Lưu trữ tỉnh"


def decision_docx() -> bytes:
    """The Quyết định công nhận ban vận động (SNV-PC-01), signed by the head of Pháp chế."""
    return render_draft(
        DraftContent(
            doc_type="Quyết định",
            parent_agency="ỦY BAN NHÂN DÂN THÀNH PHỐ HÀ NỘI",
            agency_name="SỞ NỘI VỤ",
            place="Hà Nội",
            subject=DECISION_SUBJECT,
            body=(
                "Căn cứ quy định của pháp luật về tổ chức, hoạt động và quản lý hội;",
                "Xét đề nghị của Trưởng phòng Pháp chế,",
                "QUYẾT ĐỊNH:",
                "Điều 1. Công nhận Ban vận động thành lập Hội Văn thư - Lưu trữ tỉnh gồm 05 thành "
                "viên có tên trong danh sách kèm theo.",
                "Điều 2. Quyết định có hiệu lực kể từ ngày ký./.",
            ),
            authority="TL. GIÁM ĐỐC",
            signer_title="TRƯỞNG PHÒNG PHÁP CHẾ",
            signer_name="Võ Quốc Huy",
            recipients=("Như Điều 1;",),
            archive_line="Lưu: VT, PC.",
            symbol_hint="/QĐ-SNV",
        )
    )


def appraisal_docx(signer_title: str = "TRƯỞNG PHÒNG", signer_name: str = "Lê Thị Cúc") -> bytes:
    """A written appraisal (văn bản thẩm định, SNV-TCBC-01): not a decision, signed only."""
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    style = document.styles["Normal"]
    style.font.name, style.font.size = "Times New Roman", Pt(13)

    def para(where: object, text: str, *, bold: bool = False, centre: bool = True) -> None:
        paragraph = where.add_paragraph()  # type: ignore[attr-defined]
        paragraph.paragraph_format.space_after = Pt(0)
        if centre:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        if text:
            run = paragraph.add_run(text)
            run.bold = bold

    header = document.add_table(rows=1, cols=2)
    left, right = header.rows[0].cells
    para(left, "SỞ NỘI VỤ", bold=True)
    para(left, "PHÒNG TỔ CHỨC, BIÊN CHẾ", bold=True)
    para(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True)
    para(right, "Độc lập - Tự do - Hạnh phúc", bold=True)
    para(document, "")
    para(document, "VĂN BẢN THẨM ĐỊNH", bold=True)
    para(document, "Đề án thành lập Trung tâm Lưu trữ lịch sử tỉnh", bold=True)
    para(document, "")
    para(
        document,
        "Phòng Tổ chức, biên chế đã thẩm định hồ sơ đề nghị thành lập tổ chức hành chính. Đề án "
        "đáp ứng các điều kiện thành lập theo quy định.",
        centre=False,
    )
    para(document, "")
    signature = document.add_table(rows=1, cols=2)
    cell = signature.rows[0].cells[1]
    para(cell, signer_title, bold=True)
    for _ in range(4):
        para(cell, "")
    para(cell, signer_name, bold=True)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
