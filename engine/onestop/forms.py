"""The one-stop forms of Thông tư 01/2018/TT-VPCP as DOCX templates, filled per dossier.

Each form is a DOCX with fields written ``{{ma_ho_so}}``; a table row holding ``{{thanh_phan.ten}}``
is repeated for each item of the list ``thanh_phan``; a paragraph that is only ``{{qr}}`` becomes
the QR code of the public look-up. The shipped templates are built here with python-docx (as
engine.outgoing.drafts builds the Decree 30 draft); an agency puts its own, same file names, in
the folder of the setting ``onestop_forms_dir`` (`vanthu onestop forms --out DIR` writes ours to
start from). Filled forms become PDF through LibreOffice.
"""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import segno
from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from engine.core.calendar import VIETNAM_TIME
from engine.core.errors import ConfigError, Conflict, InvalidInput
from engine.core.programs import libreoffice_pdf
from engine.core.workspace import Workspace
from engine.onestop.dossiers import procedures
from engine.onestop.states import DossierState
from engine.onestop.views import DossierView, dossier_view
from vanthu import clock

FONT = "Times New Roman"


@dataclass(frozen=True)
class Form:
    """A legal form the desk prints."""

    number: str
    """Its number in Thông tư 01/2018/TT-VPCP: '01'."""
    title: str
    """'GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ'."""
    filename: str
    """The template's file name, after the form: 'mau-01-giay-tiep-nhan-….docx'."""


FORMS = {
    "01": Form(
        "01",
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        "mau-01-giay-tiep-nhan-ho-so-va-hen-tra-ket-qua.docx",
    ),
    "02": Form(
        "02",
        "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
        "mau-02-phieu-yeu-cau-bo-sung-hoan-thien-ho-so.docx",
    ),
    "03": Form(
        "03",
        "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
        "mau-03-phieu-tu-choi-tiep-nhan-giai-quyet-ho-so.docx",
    ),
    "05": Form(
        "05",
        "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
        "mau-05-phieu-xin-loi-va-hen-lai-ngay-tra-ket-qua.docx",
    ),
    "06": Form(
        "06",
        "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
        "mau-06-phieu-kiem-soat-qua-trinh-giai-quyet-ho-so.docx",
    ),
}
"""The forms by number (Mẫu 04, the notice of a dossier sent on to another level, is not used
by an agency that settles its own procedures)."""

_FIELD = re.compile(r"\{\{\s*([a-z_]+)(?:\.([a-z_]+))?\s*\}\}")


# --- the shipped templates ------------------------------------------------------------------


def _run(
    paragraph: Paragraph, text: str, *, size: float = 13, bold: bool = False, italic: bool = False
) -> None:
    run = paragraph.add_run(text)
    run.font.name, run.font.size, run.bold, run.italic = FONT, Pt(size), bold, italic


def _para(
    where: DocxDocument | _Cell,
    text: str = "",
    *,
    size: float = 13,
    bold: bool = False,
    italic: bool = False,
    align: int | None = None,
    after: float = 3,
) -> Paragraph:
    paragraph = where.add_paragraph()
    if isinstance(where, _Cell) and len(where.paragraphs) > 1 and not where.paragraphs[0].text:
        where.paragraphs[0]._element.getparent().remove(where.paragraphs[0]._element)
    paragraph.paragraph_format.space_after = Pt(after)
    paragraph.paragraph_format.space_before = Pt(0)
    if align is not None:
        paragraph.alignment = align
    if text:
        _run(paragraph, text, size=size, bold=bold, italic=italic)
    return paragraph


def _labelled(document: DocxDocument, label: str, field: str) -> None:
    paragraph = _para(document)
    _run(paragraph, label)
    _run(paragraph, field, bold=True)


def _grid(
    document: DocxDocument,
    widths_mm: Sequence[float],
    header: Sequence[str],
    row: Sequence[str],
    *,
    size: float = 12,
) -> None:
    table = document.add_table(rows=2, cols=len(widths_mm))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _widths(table, widths_mm)
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        _para(cell, text, size=size, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    for index, (cell, text) in enumerate(zip(table.rows[1].cells, row, strict=True)):
        align = WD_ALIGN_PARAGRAPH.LEFT if index == 1 else WD_ALIGN_PARAGRAPH.CENTER
        _para(cell, text, size=size, align=align, after=0)


def _widths(table: Table, widths_mm: Sequence[float]) -> None:
    """Fixed column widths (LibreOffice reads the grid, Word the cells)."""
    table.autofit = False
    for index, width in enumerate(widths_mm):
        table.columns[index].width = Mm(width)
        for row in table.rows:
            row.cells[index].width = Mm(width)


def _header(document: DocxDocument, form: Form) -> None:
    table = document.add_table(rows=1, cols=2)
    _widths(table, (68, 97))
    left, right = table.rows[0].cells
    _para(left, "{{co_quan_chu_quan}}", size=12, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _para(left, "{{co_quan}}", size=12, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _para(left, "{{bo_phan}}", size=12, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _para(left, "———", size=10, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _para(left, "Số: {{ma_ho_so}}", size=12, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _para(
        right,
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        size=12,
        bold=True,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        after=0,
    )
    _para(
        right,
        "Độc lập - Tự do - Hạnh phúc",
        size=13,
        bold=True,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        after=0,
    )
    _para(right, "———————————", size=10, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _para(right, "{{dia_danh}}, {{ngay_lap}}", italic=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(document, "")
    _para(document, f"Mẫu số {form.number}", size=11, italic=True, align=WD_ALIGN_PARAGRAPH.RIGHT)
    _para(document, form.title, size=14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=2)
    _para(document, "Mã hồ sơ: {{ma_ho_so}}", bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=8)


def _signatures(document: DocxDocument, left: str, right: str, name_right: str) -> None:
    _para(document, "")
    table = document.add_table(rows=1, cols=2)
    cells = table.rows[0].cells
    if left:  # the citizen signs the receipt too; the notices only the desk's officer
        _para(cells[0], left, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
        _para(
            cells[0], "(Ký và ghi rõ họ tên)", size=12, italic=True, align=WD_ALIGN_PARAGRAPH.CENTER
        )
    _para(cells[1], right, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _para(cells[1], "(Ký và ghi rõ họ tên)", size=12, italic=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    for _ in range(2):
        _para(cells[1], "")
    _para(cells[1], name_right, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)


def _new_document() -> DocxDocument:
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    style = document.styles["Normal"]
    style.font.name, style.font.size = FONT, Pt(13)
    return document


def _receipt(document: DocxDocument) -> None:
    _para(document, "Bộ phận một cửa tiếp nhận hồ sơ của:")
    _labelled(document, "Ông/Bà/Tổ chức: ", "{{nguoi_nop}}")
    _labelled(document, "Địa chỉ: ", "{{dia_chi}}")
    _labelled(document, "Số điện thoại: ", "{{dien_thoai}}")
    _labelled(document, "Nội dung yêu cầu giải quyết: ", "{{thu_tuc}} (mã {{ma_thu_tuc}})")
    _labelled(document, "Kênh nộp hồ sơ: ", "{{kenh}}")
    _para(document, "1. Thành phần hồ sơ nộp gồm:")
    _grid(
        document,
        (12, 113, 20, 20),
        ("TT", "Tên giấy tờ", "Bản chính", "Bản sao"),
        (
            "{{thanh_phan.tt}}",
            "{{thanh_phan.ten}}",
            "{{thanh_phan.ban_chinh}}",
            "{{thanh_phan.ban_sao}}",
        ),
    )
    _labelled(document, "2. Số lượng hồ sơ: ", "01 bộ")
    _labelled(document, "3. Thời gian giải quyết theo quy định: ", "{{so_ngay}} ngày làm việc")
    _labelled(document, "4. Thời gian nhận hồ sơ: ", "{{ngay_nhan}}")
    _labelled(document, "5. Thời gian trả kết quả giải quyết hồ sơ: ", "{{ngay_hen}}")
    _labelled(document, "6. Đơn vị giải quyết: ", "{{don_vi}}")
    table = document.add_table(rows=1, cols=2)
    _widths(table, (130, 35))
    text, code = table.rows[0].cells
    _para(
        text,
        "Tra cứu tình trạng hồ sơ: quét mã QR bên cạnh, hoặc vào trang",
        size=12,
        italic=True,
        after=0,
    )
    _para(text, "{{url_tra_cuu}}", size=12, italic=True)
    _para(code, "{{qr}}", align=WD_ALIGN_PARAGRAPH.RIGHT, after=0)
    _signatures(document, "NGƯỜI NỘP HỒ SƠ", "NGƯỜI TIẾP NHẬN HỒ SƠ", "{{can_bo}}")


def _completion(document: DocxDocument) -> None:
    _labelled(document, "Hồ sơ của: ", "{{nguoi_nop}}")
    _labelled(document, "Nội dung yêu cầu giải quyết: ", "{{thu_tuc}}")
    _para(
        document,
        "Ngày {{ngay_nop}}, Bộ phận một cửa đã nhận hồ sơ trên. Sau khi kiểm tra, "
        "hồ sơ chưa đủ điều kiện để tiếp nhận. Đề nghị Ông/Bà/Tổ chức bổ sung, hoàn thiện hồ sơ "
        "gồm những nội dung sau:",
    )
    _grid(
        document,
        (12, 113, 20, 20),
        ("TT", "Giấy tờ cần bổ sung", "Bản chính", "Bản sao"),
        (
            "{{thanh_phan.tt}}",
            "{{thanh_phan.ten}}",
            "{{thanh_phan.ban_chinh}}",
            "{{thanh_phan.ban_sao}}",
        ),
    )
    _labelled(document, "Lý do: ", "{{ly_do}}")
    _para(
        document,
        "Trong quá trình hoàn thiện hồ sơ, nếu có vướng mắc, xin liên hệ Bộ phận "
        "một cửa để được hướng dẫn. Xin trân trọng cảm ơn.",
    )
    _signatures(document, "", "NGƯỜI HƯỚNG DẪN", "{{can_bo}}")


def _refusal(document: DocxDocument) -> None:
    _labelled(document, "Hồ sơ của: ", "{{nguoi_nop}}")
    _labelled(document, "Nội dung yêu cầu giải quyết: ", "{{thu_tuc}}")
    _para(
        document,
        "Ngày {{ngay_nop}}, Bộ phận một cửa đã nhận hồ sơ trên. Sau khi xem xét, "
        "Bộ phận một cửa từ chối tiếp nhận hồ sơ với lý do sau:",
    )
    _para(document, "{{ly_do}}", bold=True)
    _para(document, "Xin thông báo để Ông/Bà/Tổ chức được biết và thực hiện.")
    _signatures(document, "", "NGƯỜI TIẾP NHẬN HỒ SƠ", "{{can_bo}}")


def _apology(document: DocxDocument) -> None:
    _labelled(document, "Kính gửi: ", "{{nguoi_nop}}")
    _para(
        document,
        "Ngày {{ngay_nhan_ngan}}, Bộ phận một cửa tiếp nhận hồ sơ {{thu_tuc}}, "
        "mã hồ sơ {{ma_ho_so}}; thời gian hẹn trả kết quả giải quyết hồ sơ là {{ngay_hen_cu}}.",
    )
    _para(
        document,
        "Tuy nhiên, đến nay {{don_vi}} chưa trả kết quả giải quyết hồ sơ cho "
        "Ông/Bà/Tổ chức đúng hẹn. Lý do: {{ly_do}}",
    )
    _para(
        document,
        "Sự chậm trễ này đã gây phiền hà, tốn kém chi phí, công sức của "
        "Ông/Bà/Tổ chức. {{don_vi}} xin lỗi Ông/Bà/Tổ chức và hẹn lại thời gian trả kết quả "
        "là {{ngay_hen}}.",
    )
    _para(document, "Xin trân trọng cảm ơn sự hợp tác của Ông/Bà/Tổ chức.")
    _para(document, "")
    table = document.add_table(rows=1, cols=2)
    cell = table.rows[0].cells[1]
    # the head signs digitally between title and name (engine.onestop.apology finds the gap)
    _para(cell, "{{chuc_vu_ky}}", bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    for _ in range(4):
        _para(cell, "", after=0)
    _para(cell, "{{can_bo}}", bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)


def _control_sheet(document: DocxDocument) -> None:
    _labelled(document, "Kèm theo hồ sơ của: ", "{{nguoi_nop}}")
    _labelled(document, "Nội dung yêu cầu giải quyết: ", "{{thu_tuc}}")
    _labelled(document, "Ngày nhận: ", "{{ngay_nhan}}")
    _labelled(document, "Ngày hẹn trả: ", "{{ngay_hen}}")
    _grid(
        document,
        (32, 32, 24, 24, 24, 29),
        (
            "Giao",
            "Nhận",
            "Thời gian giao, nhận",
            "Hạn giải quyết",
            "Hoàn thành",
            "Kết quả, ghi chú",
        ),
        (
            "{{luan_chuyen.giao}}",
            "{{luan_chuyen.nhan}}",
            "{{luan_chuyen.luc}}",
            "{{luan_chuyen.han}}",
            "{{luan_chuyen.xong}}",
            "{{luan_chuyen.ket_qua}}",
        ),
        size=10,
    )


_BODIES = {"01": _receipt, "02": _completion, "03": _refusal, "05": _apology, "06": _control_sheet}


@lru_cache(maxsize=len(FORMS))
def shipped_template(number: str) -> bytes:
    """The form's template as Vanthu ships it."""
    form = FORMS[number]
    document = _new_document()
    _header(document, form)
    _BODIES[number](document)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def template(ws: Workspace, number: str) -> tuple[bytes, str]:
    """The agency's template of the form (from ``onestop_forms_dir``) or the shipped one, and
    where it came from."""
    form = FORMS[number]
    folder = ws.settings.onestop_forms_dir
    if folder is not None and (folder / form.filename).is_file():
        path = folder / form.filename
        return path.read_bytes(), str(path)
    return shipped_template(number), f"(mẫu có sẵn) {form.filename}"


def write_templates(folder: Path) -> list[Path]:
    """Write the shipped templates into ``folder`` for an agency to edit."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for number, form in FORMS.items():
        path = folder / form.filename
        path.write_bytes(shipped_template(number))
        written.append(path)
    return written


# --- filling -------------------------------------------------------------------------------


def fill(
    data: bytes,
    source: str,
    values: Mapping[str, str],
    lists: Mapping[str, Sequence[Mapping[str, str]]],
    images: Mapping[str, bytes],
) -> bytes:
    """The template ``data`` (read from ``source``) with its fields filled."""
    try:
        document = Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several kinds for a file that is not DOCX
        raise ConfigError(
            f"mẫu {source} không phải tệp DOCX đọc được: {exc}",
            f"the template {source} is not a readable DOCX: {exc}",
            code="onestop.template_invalid",
            template=source,
        ) from exc
    for table in _tables(document):
        _repeat_rows(table, lists, source)
    for paragraph in _paragraphs(document):
        _fill_paragraph(paragraph, values, images, source)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _tables(document: DocxDocument) -> Iterator[Table]:
    pending = list(document.tables)
    while pending:
        table = pending.pop()
        yield table
        for row in table.rows:
            for cell in row.cells:
                pending.extend(cell.tables)


def _paragraphs(document: DocxDocument) -> Iterator[Paragraph]:
    yield from document.paragraphs
    for table in _tables(document):
        for row in table.rows:
            for cell in row.cells:
                yield from cell.paragraphs


def _repeat_rows(
    table: Table, lists: Mapping[str, Sequence[Mapping[str, str]]], source: str
) -> None:
    for row in list(table.rows):
        names = {m.group(1) for cell in row.cells for m in _FIELD.finditer(cell.text) if m.group(2)}
        if not names:
            continue
        name = sorted(names)[0]
        if name not in lists:
            raise _unknown(source, name)
        for item in lists[name]:
            clone = copy.deepcopy(row._tr)
            row._tr.addprevious(clone)
            for paragraph in clone.iter(
                "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}p"
            ):
                cloned = Paragraph(paragraph, row._parent)
                _fill_paragraph(cloned, {}, {}, source, item=(name, item))
        row._tr.getparent().remove(row._tr)


def _fill_paragraph(
    paragraph: Paragraph,
    values: Mapping[str, str],
    images: Mapping[str, bytes],
    source: str,
    *,
    item: tuple[str, Mapping[str, str]] | None = None,
) -> None:
    if "{{" not in paragraph.text:
        return

    def value(match: re.Match[str]) -> str:
        name, field = match.group(1), match.group(2)
        if field is not None:
            if item is None or item[0] != name or field not in item[1]:
                raise _unknown(source, f"{name}.{field}")
            return item[1][field]
        if name not in values:
            raise _unknown(source, name)
        return values[name]

    whole = _FIELD.fullmatch(paragraph.text.strip())
    if whole is not None and whole.group(1) in images and whole.group(2) is None:
        for run in paragraph.runs:
            run.text = ""
        paragraph.runs[0].add_picture(io.BytesIO(images[whole.group(1)]), width=Mm(28))
        return
    runs = paragraph.runs
    if all(_FIELD.sub("", run.text).count("{{") == 0 for run in runs) and any(
        _FIELD.search(run.text) for run in runs
    ):
        for run in runs:  # each field inside one run: each run keeps its own formatting
            if "{{" in run.text:
                run.text = _FIELD.sub(value, run.text)
        return
    text = _FIELD.sub(value, paragraph.text)  # a field split across runs (Word does that)
    for run in runs[1:]:
        run.text = ""
    runs[0].text = text


def _unknown(source: str, name: str) -> ConfigError:
    return ConfigError(
        f"mẫu {source} có trường '{{{{{name}}}}}' không có trong hồ sơ",
        f"the template {source} has the field '{{{{{name}}}}}', which no dossier has",
        code="onestop.template_field_unknown",
        template=source,
        field=name,
    )


# --- per dossier --------------------------------------------------------------------------


def _moment(value: datetime | None) -> str:
    if value is None:
        return "—"
    local = value.astimezone(VIETNAM_TIME)
    return f"{local:%H} giờ {local:%M} phút, ngày {local:%d/%m/%Y}"


def _day(value: datetime | None) -> str:
    return "—" if value is None else f"{value.astimezone(VIETNAM_TIME):%d/%m/%Y}"


def _short(value: datetime | None) -> str:
    return "—" if value is None else f"{value.astimezone(VIETNAM_TIME):%H:%M %d/%m/%Y}"


def _name_in(line: str) -> str:
    found = re.search(r"\(([^()]*)\)\s*$", line)
    return found.group(1) if found else line


def qr_png(text: str) -> bytes:
    """A QR code of ``text`` as PNG (error correction M, 4-module quiet zone)."""
    out = io.BytesIO()
    segno.make_qr(text, error="m").save(out, kind="png", scale=8, border=4)
    return out.getvalue()


def lookup_url(ws: Workspace, code: str) -> str:
    return f"{ws.settings.lookup_url}?ma={code}"


@dataclass(frozen=True)
class ApologyLetter:
    """What the apology letter (Mẫu 05) says before it is recorded: it is signed first."""

    new_due: datetime
    reason: str
    signer: str
    """The head's full name."""


def _when_allowed(view: DossierView, number: str) -> None:
    allowed = {
        "01": view.received_at is not None,
        "02": view.state == DossierState.WAITING_COMPLETION,
        "03": view.state == DossierState.REFUSED,
        "05": any(line.kind == "apology" for line in view.handovers),
        "06": True,
    }
    if number not in FORMS:
        known = ", ".join(FORMS)
        raise InvalidInput(
            f"không có mẫu số {number} (có: {known})",
            f"no form {number} (known: {known})",
            code="onestop.form_unknown",
            form=number,
        )
    if not allowed[number]:
        raise Conflict(
            f"hồ sơ {view.code} ({view.state_name}) không có {FORMS[number].title.lower()}",
            f"the dossier {view.code} has no form {number} in its state ({view.state})",
            code="onestop.form_not_applicable",
            dossier=view.code,
            form=number,
        )


def form_docx(
    ws: Workspace, code: str, number: str, *, letter: ApologyLetter | None = None
) -> bytes:
    """Form ``number`` filled for the dossier ``code``, as DOCX; ``letter``: the letter
    (Mẫu 05) about to be signed, from these values rather than the recorded ones."""
    view = dossier_view(ws, code)
    if letter is None or number != "05":
        _when_allowed(view, number)
    data, source = template(ws, number)
    apology = [line for line in view.handovers if line.kind == "apology"]
    desk = [line for line in view.handovers if line.kind.split(".")[0] in ("receive", "completion")]
    signer = (
        apology[-1].from_name
        if number == "05" and apology
        else (desk[-1].from_name if desk else "")
    )
    now = clock.now().astimezone(VIETNAM_TIME)
    values = {
        "co_quan_chu_quan": (view.parent_agency or "").upper(),
        "co_quan": view.agency_name,
        "bo_phan": view.unit.upper() if number == "05" else "BỘ PHẬN MỘT CỬA",
        "dia_danh": view.place,
        "ngay_lap": f"ngày {now:%d} tháng {now:%m} năm {now:%Y}",
        "ngay_lap_ngan": _day(now),
        "ngay_nop": _day(view.filed_at),
        "ma_ho_so": view.code,
        "thu_tuc": view.procedure_name,
        "ma_thu_tuc": view.procedure_code,
        "nguoi_nop": view.applicant,
        "dia_chi": view.address or "—",
        "dien_thoai": view.phone or "—",
        "kenh": view.channel_name,
        "don_vi": view.unit,
        "so_ngay": str(_days(ws, view)),
        "ngay_nhan": _moment(view.received_at or view.filed_at),
        "ngay_nhan_ngan": _day(view.received_at or view.filed_at),
        "ngay_hen": _moment(view.due_at),
        "ngay_hen_cu": _moment(view.original_due_at),
        "ly_do": (apology[-1].note or "").split("Lý do: ", 1)[-1]
        if number == "05" and apology
        else (view.reason or ""),
        "url_tra_cuu": lookup_url(ws, view.code),
        "can_bo": _name_in(signer),
        "chuc_vu_ky": "TRƯỞNG PHÒNG" if "Phòng" in view.unit else "THỦ TRƯỞNG ĐƠN VỊ",
    }
    components = [c for c in view.components if (c.missing if number == "02" else not c.missing)]
    lists = {
        "thanh_phan": [
            {"tt": str(i), "ten": c.name, "ban_chinh": str(c.originals), "ban_sao": str(c.copies)}
            for i, c in enumerate(components, 1)
        ],
        "luan_chuyen": [
            {
                "giao": line.from_name,
                "nhan": line.to_name or "—",
                "luc": _short(line.handed_at),
                "han": _short(line.due_at),
                "xong": _short(line.done_at),
                "ket_qua": "; ".join(x for x in (line.outcome, line.note) if x) or "—",
            }
            for line in view.handovers
        ],
    }
    if letter is not None and number == "05":
        values["ngay_hen"] = _moment(letter.new_due)
        values["ly_do"] = letter.reason
        values["can_bo"] = letter.signer
    images = {"qr": qr_png(lookup_url(ws, view.code))}
    return fill(data, source, values, lists, images)


def _days(ws: Workspace, view: DossierView) -> int:
    found = procedures(ws).get(view.procedure_code)
    return found.days if found else 0


def form_pdf(ws: Workspace, code: str, number: str) -> bytes:
    """Form ``number`` filled for the dossier ``code``, as PDF."""
    return libreoffice_pdf(
        form_docx(ws, code, number),
        FORMS[number].filename,
        f"mẫu số {number}",
        what_en=f"the form {number}",
        soffice=ws.settings.soffice,
    )
