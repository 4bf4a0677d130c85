"""A validation report a clerk can read and file: HTML (Jinja2), or PDF through LibreOffice."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

import jinja2

from engine.conversion import _run
from engine.errors import ConversionError
from signing import DocumentReport

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
REASONS = {
    "key_compromise": "lộ khóa bí mật",
    "ca_compromise": "lộ khóa của CA",
    "affiliation_changed": "thay đổi đơn vị công tác",
    "superseded": "đã được thay thế",
    "cessation_of_operation": "ngừng sử dụng",
    "certificate_hold": "tạm dừng",
    "privilege_withdrawn": "rút quyền",
    "unspecified": "không nêu lý do",
}
"""RFC 5280 revocation reasons as asn1crypto names them."""
_STDERR_TAIL = 2000

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
        reason_text=lambda reason: REASONS.get(reason, reason),
        yes_no=lambda value: "có" if value else "KHÔNG",
    )


def html_to_pdf(html: str, *, soffice: str = "soffice", timeout_s: float = 120) -> bytes:
    """Convert with headless LibreOffice (the HTML opened as a Writer text), a fresh profile."""
    executable = shutil.which(soffice)
    if executable is None:
        raise ConversionError(
            f"không tìm thấy LibreOffice '{soffice}': cài gói libreoffice hoặc sửa đường dẫn "
            "soffice trong cấu hình",
            retryable=False,
        )
    with tempfile.TemporaryDirectory(prefix="vanthu-report-") as tmp:
        root = Path(tmp)
        source = root / "bao-cao.html"
        source.write_text(html, encoding="utf-8")
        command = [
            executable,
            f"-env:UserInstallation={(root / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--infilter=HTML (StarWriter)",
            "--convert-to",
            "pdf:writer_pdf_Export",
            "--outdir",
            str(root / "out"),
            str(source),
        ]
        returncode, output = _run(command, timeout_s, what="LibreOffice")
        result = root / "out" / "bao-cao.pdf"
        if returncode != 0 or not result.is_file() or result.stat().st_size == 0:
            raise ConversionError(
                f"LibreOffice không chuyển được báo cáo sang PDF (mã thoát {returncode}): "
                f"{output[-_STDERR_TAIL:].strip() or 'không có thông báo lỗi'}"
            )
        return result.read_bytes()
