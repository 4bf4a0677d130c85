"""The warm LibreOffice (unoserver): the same PDF as a cold soffice, and it survives a crash, a
hang and a missing python3-uno, each time still giving the PDF."""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_drafts import example

from engine.core import office
from engine.core.config import load_settings
from engine.core.programs import docx_to_pdf
from engine.outgoing.drafts import render_draft

SOFFICE = shutil.which("soffice") or "soffice"


@pytest.fixture(scope="module")
def docx() -> bytes:
    return render_draft(example("cong-van"))


@pytest.fixture()
def server() -> Iterator[office.OfficeServer]:
    """This process's warm server, answering."""
    office.configure(enabled=True)
    found = office.server_for(SOFFICE, now=True)
    assert found is not None, "the warm server could not start: is python3-uno installed?"
    assert found.wait_ready(), "the warm server did not answer within a minute"
    yield found
    office.configure(enabled=True)


def _layout(pdf: bytes, tmp: Path) -> str:
    """Every word with its box, as pdftotext prints them (the creation date left out)."""
    path = tmp / "in.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-bbox-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return re.sub(r'<meta name="CreationDate"[^>]*>', "", out)


def _cold(docx: bytes, tmp: Path) -> bytes:
    """What `soffice --convert-to pdf` makes of it, the way every conversion ran before."""
    (tmp / "du-thao.docx").write_bytes(docx)
    subprocess.run(
        [
            SOFFICE, f"-env:UserInstallation={(tmp / 'profile').as_uri()}", "--headless",
            "--norestore", "--convert-to", "pdf:writer_pdf_Export", "--outdir", str(tmp / "out"),
            str(tmp / "du-thao.docx"),
        ],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return (tmp / "out" / "du-thao.pdf").read_bytes()


def _group(leader: int) -> dict[int, str]:
    """The processes of a process group: pid → program name."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == leader and fields[0] != "Z":
            found[int(entry.name)] = name
    return found


def _libreoffice(server: office.OfficeServer) -> int:
    assert server.pid is not None
    pids = [pid for pid, name in _group(server.pid).items() if name == "soffice.bin"]
    assert len(pids) == 1, _group(server.pid)
    return pids[0]


def _gone(leader: int, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while _group(leader) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _group(leader)


def test_the_warm_server_prints_the_same_pdf_as_a_cold_soffice(
    server: office.OfficeServer, docx: bytes, tmp_path: Path
) -> None:
    before = server.conversions
    started = time.perf_counter()
    warm = docx_to_pdf(docx)
    took = time.perf_counter() - started
    assert server.conversions == before + 1, "the conversion did not go through the server"
    cold = _cold(docx, tmp_path)
    assert warm.startswith(b"%PDF-") and _layout(warm, tmp_path) == _layout(cold, tmp_path)
    assert took < 1.0, f"a warm conversion took {took:.2f} s"


def test_a_killed_libreoffice_is_restarted_and_the_next_conversion_still_succeeds(
    server: office.OfficeServer, docx: bytes, tmp_path: Path
) -> None:
    leader, starts = server.pid, server.starts
    assert leader is not None
    os.kill(_libreoffice(server), signal.SIGKILL)
    assert docx_to_pdf(docx).startswith(b"%PDF-")
    if server.starts == starts:  # unoserver had not yet noticed: the next conversion restarts
        time.sleep(0.5)
        assert docx_to_pdf(docx).startswith(b"%PDF-")
    assert server.starts == starts + 1 and server.pid != leader
    assert _gone(leader), "the old server's processes are still running"
    assert server.wait_ready()
    before = server.conversions
    assert _layout(docx_to_pdf(docx), tmp_path) == _layout(_cold(docx, tmp_path), tmp_path)
    assert server.conversions == before + 1


def test_a_hung_libreoffice_times_out_is_restarted_and_the_conversion_succeeds(
    server: office.OfficeServer, docx: bytes
) -> None:
    leader, starts = server.pid, server.starts
    assert leader is not None
    os.kill(_libreoffice(server), signal.SIGSTOP)
    started = time.perf_counter()
    # the cold retry has the same limit: room for a cold start on a busy machine
    pdf = docx_to_pdf(docx, timeout_s=10)
    took = time.perf_counter() - started
    assert pdf.startswith(b"%PDF-")
    assert 10 <= took < 10 + 30, f"took {took:.1f} s"
    assert server.starts == starts + 1 and server.pid != leader
    assert _gone(leader), "the hung LibreOffice was left running"
    assert server.wait_ready()
    before = server.conversions
    docx_to_pdf(docx)
    assert server.conversions == before + 1


@pytest.mark.parametrize(
    "python",
    ["/khong/co/python", sys.executable],  # no such program; a python without unoserver
    ids=["missing", "without-unoserver"],
)
def test_a_server_that_cannot_start_leaves_conversions_cold_logged_once(
    python: str, docx: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    office.configure(enabled=True, python=python)
    try:
        with caplog.at_level(logging.WARNING, logger="vanthu.office"):
            for _ in range(office.START_ON_CONVERSION):
                assert docx_to_pdf(docx).startswith(b"%PDF-")
            deadline = time.monotonic() + 20
            while office.server_for(SOFFICE) is not None and time.monotonic() < deadline:
                time.sleep(0.1)
            assert office.server_for(SOFFICE) is None
            assert docx_to_pdf(docx).startswith(b"%PDF-")
        warnings = [r for r in caplog.records if "could not start" in r.getMessage()]
        assert len(warnings) == 1 and python in warnings[0].getMessage()
    finally:
        office.configure(enabled=True)


def test_the_setting_turns_the_warm_server_off(
    server: office.OfficeServer, docx: bytes, tmp_path: Path
) -> None:
    leader = server.pid
    assert leader is not None
    load_settings(tmp_path, office_server=False)
    assert _gone(leader), "turning it off did not stop the running server"
    assert office.server_for(SOFFICE) is None
    assert docx_to_pdf(docx).startswith(b"%PDF-")
    load_settings(tmp_path)
    assert office.server_for(SOFFICE, now=True) is not None
