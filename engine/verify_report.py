"""A validation report a clerk can read and file: HTML (Jinja2), or PDF through LibreOffice."""

from __future__ import annotations

import hashlib
from datetime import datetime

import jinja2

from engine.conversion import libreoffice_pdf
from signing import DocumentReport, reason_text

TEMPLATE = "verify_report.html"
VERDICTS = {
    "valid": "HỢP LỆ",
    "invalid": "KHÔNG HỢP LỆ",
    "indeterminate": "CHƯA XÁC ĐỊNH ĐƯỢC",
    "unsigned": "KHÔNG CÓ CHỮ KÝ SỐ",
}
VERDICTS_EN = {
    "valid": "valid",
    "invalid": "invalid",
    "indeterminate": "indeterminate",
    "unsigned": "unsigned",
}
COLOURS = {
    "valid": "#0a5d1e",
    "invalid": "#a30000",
    "indeterminate": "#8a5a00",
    "unsigned": "#444444",
}
KINDS = {
    "person": "chứng thư cá nhân",
    "organisation": "chứng thư cơ quan, tổ chức",
    "unknown": "không xác định",
}
REVOCATIONS = {
    "good": "chưa bị thu hồi",
    "revoked": "ĐÃ BỊ THU HỒI",
    "unknown": "không xác định được",
}
SOURCES = {"embedded": "thông tin kèm trong tệp", "online": "hỏi dịch vụ OCSP/CRL"}
COVERS = {
    "whole_file": "toàn bộ tệp",
    "earlier_revision": "một phiên bản trước của tệp (có cập nhật sau khi ký)",
    "partial": "không phủ trọn phiên bản đã ký",
}
CHANGES = {
    "none": "không có",
    "form_filling": "điền biểu mẫu (số, ngày, chữ ký tiếp theo)",
    "annotations": "thêm chú thích",
    "other": "THAY ĐỔI NỘI DUNG KHÁC",
    "no_changes": "không được thay đổi",
}

_environment = jinja2.Environment(
    loader=jinja2.PackageLoader("engine", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%H:%M:%S ngày %d/%m/%Y (%z)") if moment else "—"


_environment.filters["when"] = _when


def render_html(report: DocumentReport, file_name: str, pdf: bytes) -> str:
    """The report as one self-contained HTML page, in Vietnamese with English reasons."""
    return _environment.get_template(TEMPLATE).render(
        report=report,
        file_name=file_name,
        sha256=hashlib.sha256(pdf).hexdigest(),
        verdicts=VERDICTS,
        verdicts_en=VERDICTS_EN,
        colours=COLOURS,
        kinds=KINDS,
        revocations=REVOCATIONS,
        sources=SOURCES,
        covers=COVERS,
        changes=CHANGES,
        reason_text=reason_text,
        yes_no=lambda value: "có" if value else "KHÔNG",
    )


def html_to_pdf(html: str, *, soffice: str = "soffice", timeout_s: float = 120) -> bytes:
    """Convert with headless LibreOffice, the HTML opened as a Writer text."""
    return libreoffice_pdf(
        html.encode("utf-8"),
        "bao-cao.html",
        "báo cáo",
        import_filter="HTML (StarWriter)",
        soffice=soffice,
        timeout_s=timeout_s,
    )
