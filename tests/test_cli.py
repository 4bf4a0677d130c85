"""The `vanthu` command as a user runs it: one line per error, exit codes a script can use."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests_support import Ran, demo_pin

VANTHU = [sys.executable, "-m", "engine"]
Vanthu = Callable[..., Ran | subprocess.CompletedProcess[str]]


def vanthu(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*VANTHU, "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        check=False,
    )


def _draft(home: Path, tmp_path: Path, subject: str, signer: str, cli: Vanthu | None = None) -> str:
    """A Quyết định drafted by the specialist through the CLI (the installed command, or ``cli``
    run in this process); returns its document number."""
    body = tmp_path / "body.txt"
    body.write_text("Điều 1. Ban hành Quy chế.\nĐiều 2. Hiệu lực kể từ ngày ký./.\n", "utf-8")
    created = (cli or vanthu)(
        home,
        "draft",
        "new",
        "--as",
        "chuyenvien",
        "--type",
        "Quyết định",
        "--subject",
        subject,
        "--signer",
        signer,
        "--body-file",
        str(body),
        "--recipient",
        "Như Điều 2;",
    )
    assert created.returncode == 0, created.stderr
    return created.stdout.splitlines()[0].rsplit("#", 1)[1]


def _new_agency(home: Path) -> Path:
    assert vanthu(home, "init").returncode == 0
    result = vanthu(home, "setup-demo")
    assert result.returncode == 0, result.stderr
    return home


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo agency shared by the tests that leave its data as they found it."""
    return _new_agency(tmp_path_factory.mktemp("cli-agency"))


def test_refused_action_is_one_vietnamese_line_without_traceback(
    home: Path, tmp_path: Path
) -> None:
    doc = _draft(home, tmp_path, "Về việc thử nghiệm", "giamdoc")
    refused = vanthu(home, "act", doc, "approve", "--as", "vanthu")
    assert refused.returncode == 4  # forbidden
    assert refused.stderr.startswith("Lỗi: vanthu (clerk) không được xử lý")
    assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    inbox = vanthu(home, "inbox", "--as", "chuyenvien", "--json")
    assert json.loads(inbox.stdout)[0]["document_id"] == int(doc)


def test_a_non_docx_upload_is_refused_by_name(home: Path, tmp_path: Path) -> None:
    fake = tmp_path / "bao-cao.docx"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n not a document")
    result = vanthu(
        home,
        "draft",
        "new",
        "--as",
        "chuyenvien",
        "--type",
        "Công văn",
        "--subject",
        "Thử",
        "--signer",
        "giamdoc",
        "--docx",
        str(fake),
    )
    assert result.returncode == 2 and "bao-cao.docx" in result.stderr  # invalid input
    assert "Traceback" not in result.stderr


def test_verify_exit_codes(home: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"this is not a pdf")
    assert vanthu(home, "verify", str(garbage), "--json").returncode == 3
    assert vanthu(home, "verify", str(tmp_path / "missing.pdf")).returncode == 3
    unsigned = tmp_path / "unsigned.pdf"
    soffice = shutil.which("soffice")
    assert soffice is not None
    (tmp_path / "a.txt").write_text("Không có chữ ký", encoding="utf-8")
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(tmp_path / "a.txt"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (tmp_path / "a.pdf").rename(unsigned)
    result = vanthu(home, "verify", str(unsigned), "--json")
    assert result.returncode == 4 and json.loads(result.stdout)["verdict"] == "unsigned"


def test_audit_verify_reports_a_tampered_chain(tmp_path: Path) -> None:
    home = _new_agency(tmp_path / "agency")
    assert vanthu(home, "audit", "verify").returncode == 0
    import sqlite3

    with sqlite3.connect(home / "vanthu.db") as conn:
        conn.execute("UPDATE audit_event SET actor = 'ai_do' WHERE seq = 1")
    result = vanthu(home, "audit", "verify")
    assert result.returncode == 1 and "#1" in result.stderr


def test_a_missing_agency_or_database_is_one_clear_line(tmp_path: Path) -> None:
    missing = vanthu(tmp_path / "khong-co", "inbox", "--as", "vanthu")
    assert missing.returncode == 6 and "vanthu init" in missing.stderr  # installation
    refused = vanthu(
        tmp_path,
        "inbox",
        "--as",
        "vanthu",
        env={"VANTHU_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/x"},
    )
    assert refused.returncode == 7  # unavailable: try again later
    assert "không kết nối được cơ sở dữ liệu" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr


def test_doctor_checks_every_part(home: Path) -> None:
    result = vanthu(home, "doctor")
    assert result.returncode == 0, result.stdout
    for part in ("cơ sở dữ liệu", "kho lưu trữ", "khóa và chứng thư", "LibreOffice"):
        assert f"[OK ] {part}" in result.stdout
    broken = vanthu(home, "doctor", env={"VANTHU_SOFFICE": "/khong/co/soffice"})
    assert broken.returncode == 1 and "[LỖI] LibreOffice" in broken.stdout


def test_the_readme_walkthrough_from_draft_to_archive(
    home: Path, tmp_path: Path, vanthu_cli: Vanthu
) -> None:
    def ok(*args: str) -> str:
        result = vanthu_cli(home, *args)
        assert result.returncode == 0, (args, result.stderr)
        return result.stdout

    doc = _draft(home, tmp_path, "Về việc ban hành Quy chế văn thư", "phogiamdoc", vanthu_cli)
    ok("act", doc, "submit", "--as", "chuyenvien")
    ok("act", doc, "return", "--as", "truongphong", "--comment", "Bổ sung căn cứ")
    draft = tmp_path / "du-thao.docx"
    ok("doc", "export", doc, str(draft), "--kind", "draft", "--as", "chuyenvien")
    assert "phiên bản 2" in ok("draft", "upload", doc, str(draft), "--as", "chuyenvien")
    ok("act", doc, "submit", "--as", "chuyenvien")
    ok("act", doc, "consult", "--as", "truongphong")
    ok("act", doc, "comment", "--as", "phapche", "--comment", "Đồng ý")
    ok("act", doc, "comment", "--as", "chanhvanphong", "--comment", "Đồng ý")
    ok("act", doc, "approve", "--as", "truongphong")
    pin = {"VANTHU_PIN": demo_pin(home, "phogiamdoc")}
    signed = vanthu_cli(home, "act", doc, "sign", "--as", "phogiamdoc", env=pin)
    assert signed.returncode == 0, signed.stderr
    said = ok("act", doc, "issue", "--as", "vanthu")
    assert "đã kết thúc quy trình" in said and "Số, ký hiệu: 01/QĐ-SNV" in said
    assert "Bản lưu: SNV-" in said and "-DI-QD-0001" in said and "Tệp ban hành: file://" in said
    shown = ok("doc", "show", doc, "--as", "chuyenvien")
    assert "Số, ký hiệu: 01/QĐ-SNV" in shown and "Lịch sử:" in shown
    assert "Lê Thị Cúc: trả lại ở bước 'Lãnh đạo phòng xem xét' — “Bổ sung căn cứ”" in shown
    assert not any(word in shown for word in ("submit", "approve", "form_filling", "issued"))
    issued = tmp_path / "issued.pdf"
    ok("doc", "export", doc, str(issued), "--as", "vanthu")
    report = json.loads(ok("verify", str(issued), "--json"))
    assert report["verdict"] == "valid"
    assert [s["modification"] for s in report["signatures"]] == ["form_filling", "none"]
    found = json.loads(ok("archive", "search", "quy che van thu", "--as", "luutru", "--json"))
    records = found["results"]
    assert [r["symbol"] for r in records] == ["01/QĐ-SNV"]
    files = ok(
        "archive",
        "get",
        records[0]["record_id"],
        "--as",
        "luutru",
        "--out",
        str(tmp_path / "ban-luu"),
    )
    assert any(line.endswith(".pdf") for line in files.splitlines())
    assert "nguyên vẹn" in ok("audit", "verify")


def test_receiving_says_the_incoming_number_and_the_verdict_in_words(
    home: Path, tmp_path: Path, vanthu_cli: Vanthu
) -> None:
    doc = _draft(home, tmp_path, "Về việc gửi văn bản liên thông", "giamdoc", vanthu_cli)
    pin = {"VANTHU_PIN": demo_pin(home, "giamdoc")}
    for args in (
        ("submit", "--as", "chuyenvien"),
        ("approve", "--as", "truongphong"),
        ("sign", "--as", "giamdoc"),
        ("issue", "--as", "vanthu"),
    ):
        assert vanthu_cli(home, "act", doc, *args, env=pin).returncode == 0
    pdf = tmp_path / "den.pdf"
    assert vanthu_cli(home, "doc", "export", doc, str(pdf), "--as", "vanthu").returncode == 0
    received = vanthu_cli(
        home, "incoming", "receive", str(pdf), "--as", "vanthu", "--from", "Sở Nội vụ",
        "--symbol", "01/CV-SNV", "--type", "Công văn", "--subject", "Về việc liên thông",
    )  # fmt: skip
    assert received.returncode == 0, received.stderr
    assert "Chữ ký số: HỢP LỆ" in received.stdout and "valid" not in received.stdout
    number = received.stdout.splitlines()[0].split("#")[1].split(":")[0]
    assert f"vanthu act {number} register --as vanthu" in received.stdout
    registered = vanthu_cli(home, "act", number, "register", "--as", "vanthu")
    assert registered.returncode == 0 and "Số đến: " in registered.stdout, registered.stderr
