"""Outside programs the engine runs: LibreOffice headless for PDFs, each tool with a time limit.

A tool runs in its own process group, so a timeout also ends the children it spawned; a tool
that is missing, fails or times out is one :class:`ConversionError` naming it. A conversion to
PDF goes through this process's warm LibreOffice (:mod:`engine.core.office`) when it runs, and
otherwise, or when that fails, starts LibreOffice for the one file (cold): the same program
either way, so the same PDF.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from engine.core import office
from engine.core.errors import ConfigError, ConversionError

_STDERR_TAIL = 2000
_log = logging.getLogger("vanthu.office")


def docx_to_pdf(docx: bytes, *, soffice: str = "soffice", timeout_s: float = 120) -> bytes:
    """Convert a draft with headless LibreOffice."""
    return libreoffice_pdf(
        docx, "du-thao.docx", "dự thảo", what_en="the draft", soffice=soffice, timeout_s=timeout_s
    )


def libreoffice_pdf(
    data: bytes,
    filename: str,
    what: str,
    *,
    what_en: str = "the file",
    import_filter: str | None = None,
    soffice: str = "soffice",
    timeout_s: float = 120,
) -> bytes:
    """Convert ``data`` (named ``filename``, which gives LibreOffice its type) to PDF: on the
    warm server, else with a fresh profile per call so calls may run side by side; ``what``
    (``what_en`` in English) names it in errors."""
    executable = shutil.which(soffice)
    if executable is None:
        raise ConfigError(
            f"không tìm thấy LibreOffice '{soffice}': cài gói libreoffice hoặc sửa đường dẫn "
            "soffice trong cấu hình",
            f"LibreOffice '{soffice}' not found: install the libreoffice package or correct "
            "the soffice path in the configuration",
            code="conversion.soffice_missing",
            program=soffice,
        )
    with tempfile.TemporaryDirectory(prefix="vanthu-soffice-") as tmp:
        root = Path(tmp)
        source = root / filename
        source.write_bytes(data)
        result = root / "out" / (source.stem + ".pdf")
        if _convert_warm(executable, source, result, import_filter, timeout_s):
            return result.read_bytes()
        command = [
            executable,
            f"-env:UserInstallation={(root / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--nolockcheck",
            *([f"--infilter={import_filter}"] if import_filter else []),
            "--convert-to",
            "pdf:writer_pdf_Export",
            "--outdir",
            str(root / "out"),
            str(source),
        ]
        returncode, output = run_program(command, timeout_s, what="LibreOffice")
        if returncode != 0 or not result.is_file() or result.stat().st_size == 0:
            tail = output[-_STDERR_TAIL:].strip()
            raise ConversionError(
                f"LibreOffice không chuyển được {what} sang PDF (mã thoát {returncode}): "
                f"{tail or 'không có thông báo lỗi'}",
                f"LibreOffice could not convert {what_en} to PDF (exit code {returncode}): "
                f"{tail or 'no error message'}",
                code="conversion.failed",
                exit_code=returncode,
            )
        return result.read_bytes()


def _convert_warm(
    executable: str, source: Path, target: Path, import_filter: str | None, timeout_s: float
) -> bool:
    """Convert on this process's warm server; False when the caller must convert cold (no
    server, still starting, busy past ``timeout_s``, or the conversion failed on it)."""
    server = office.server_for(executable)
    if server is None:
        return False
    if not server.lock.acquire(timeout=timeout_s):
        return False
    try:
        if not server.ready():
            server.revive()
            return False
        target.parent.mkdir(exist_ok=True)
        server.convert(source, target, import_filter=import_filter, timeout_s=timeout_s)
    except office.WarmFailed as exc:
        _log.info("warm conversion of %s failed (%s), converting cold", source.name, exc)
        target.unlink(missing_ok=True)
        return False
    finally:
        server.lock.release()
    return target.is_file() and target.stat().st_size > 0


def run_program(command: Sequence[str], timeout_s: float, *, what: str) -> tuple[int, str]:
    """Run a tool in its own process group, so a timeout also ends the children it spawned."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise ConversionError(
            f"{what} chạy quá {timeout_s:g} giây, đã dừng",
            f"{what} ran longer than {timeout_s:g} seconds and was stopped",
            code="conversion.timeout",
            retryable=True,
            program=what,
            timeout_s=timeout_s,
        ) from None
    text = (stderr or b"").decode("utf-8", "replace") + (stdout or b"").decode("utf-8", "replace")
    return process.returncode, text


def html_to_pdf(html: str, *, soffice: str = "soffice", timeout_s: float = 120) -> bytes:
    """Convert with headless LibreOffice, the HTML opened as a Writer text."""
    return libreoffice_pdf(
        html.encode("utf-8"),
        "bao-cao.html",
        "báo cáo",
        what_en="the report",
        import_filter="HTML (StarWriter)",
        soffice=soffice,
        timeout_s=timeout_s,
    )


def _poppler(tool: str) -> str:
    executable = shutil.which(tool)
    if executable is None:
        raise ConfigError(
            f"không tìm thấy {tool}: cài gói poppler-utils",
            f"{tool} not found: install the poppler-utils package",
            code="conversion.poppler_missing",
            program=tool,
        )
    return executable


def pdf_page_count(pdf: bytes, *, timeout_s: float = 30) -> int:
    """How many pages ``pdf`` has (poppler's pdfinfo)."""
    with tempfile.TemporaryDirectory(prefix="vanthu-pages-") as tmp:
        source = Path(tmp) / "in.pdf"
        source.write_bytes(pdf)
        returncode, output = run_program(
            [_poppler("pdfinfo"), str(source)], timeout_s, what="pdfinfo"
        )
    for line in output.splitlines():
        name, _, value = line.partition(":")
        if returncode == 0 and name == "Pages" and value.strip().isdigit():
            return int(value)
    raise ConversionError(
        f"không đọc được số trang của tệp PDF (pdfinfo, mã thoát {returncode})",
        f"cannot read the number of pages of the PDF (pdfinfo, exit code {returncode})",
        code="conversion.pages_unreadable",
        exit_code=returncode,
    )


def pdf_page_png(pdf: bytes, page: int, width: int, *, timeout_s: float = 60) -> bytes:
    """Page ``page`` (from 1) of ``pdf`` as a PNG ``width`` pixels wide (poppler's pdftoppm)."""
    with tempfile.TemporaryDirectory(prefix="vanthu-pages-") as tmp:
        root = Path(tmp)
        source = root / "in.pdf"
        source.write_bytes(pdf)
        command = [
            _poppler("pdftoppm"),
            "-png",
            "-f", str(page), "-l", str(page),
            "-scale-to-x", str(width), "-scale-to-y", "-1",
            "-singlefile",
            str(source),
            str(root / "page"),
        ]  # fmt: skip
        returncode, output = run_program(command, timeout_s, what="pdftoppm")
        result = root / "page.png"
        if returncode != 0 or not result.is_file():
            tail = output[-_STDERR_TAIL:].strip()
            raise ConversionError(
                f"không vẽ được trang {page} của tệp PDF (pdftoppm, mã thoát {returncode}): "
                f"{tail or 'không có thông báo lỗi'}",
                f"cannot render page {page} of the PDF (pdftoppm, exit code {returncode}): "
                f"{tail or 'no error message'}",
                code="conversion.page_failed",
                exit_code=returncode,
                page=page,
            )
        return result.read_bytes()
