"""The command line a clerk can live with: usage errors are one Vietnamese line and exit 2, a
command that succeeds prints no library noise, and the command answers without loading what
it does not use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pdf_support import LAYOUT
from pki_support import one_page_pdf

from signing import SigningKey, SigningPolicy, add_form_fields, certify, signing_policy
from signing.demo import DemoPKI, draw_signature_image

VANTHU = [sys.executable, "-m", "engine"]
ENGLISH = ("Usage", "Error", "Try '", "Missing", "Invalid", "No such", "Show this", "Traceback")


def vanthu(
    home: Path, *args: str, python: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *python, "-m", "engine", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "VANTHU_HOME": ""},
        check=False,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("usage-agency")
    assert vanthu(home, "init").returncode == 0
    assert vanthu(home, "setup-demo").returncode == 0
    return home


USAGE_ERRORS = {
    "unknown option": (["inbox", "--as", "vanthu", "--colour"], "không có tùy chọn --colour"),
    "missing --as": (["inbox"], "thiếu tùy chọn --as"),
    "a word for a number": (["act", "một", "approve", "--as", "vt"], "document_id không hợp lệ"),
    "number too large": (["act", "9" * 20, "approve", "--as", "vanthu"], "tối đa 19 chữ số"),
    "--out into a missing folder": (
        ["doc", "export", "1", "/khong/co/thu-muc/x.pdf", "--as", "vanthu"],
        "không có thư mục /khong/co/thu-muc",
    ),
    "a number out of range": (
        ["archive", "search", "x", "--as", "luutru", "--limit", "0"],
        "--limit không hợp lệ",
    ),
    "unknown command": (["phe-duyet"], "không có lệnh 'phe-duyet'"),
    "missing argument": (["act", "1"], "thiếu tham số action"),
    "option without its value": (["inbox", "--as"], "tùy chọn --as cần một giá trị"),
    "a date that does not exist": (
        ["archive", "search", "--as", "luutru", "--from", "31/02/2026"],
        "--from: ngày '31/02/2026' không hợp lệ",
    ),
}


@pytest.mark.parametrize("case", USAGE_ERRORS)
def test_a_usage_error_is_one_vietnamese_line_and_exit_2(home: Path, case: str) -> None:
    args, said = USAGE_ERRORS[case]
    result = vanthu(home, *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Lỗi: "), result.stderr
    assert said in lines[0], lines[0]
    assert not any(word in result.stderr for word in ENGLISH), result.stderr


def test_help_is_in_vietnamese(home: Path) -> None:
    for args in ([], ["--help"], ["act", "--help"], ["archive", "file", "--help"]):
        shown = vanthu(home, *args)
        assert shown.returncode == 0, shown.stderr
        assert "Cách dùng: vanthu" in shown.stdout and "Hiện hướng dẫn này" in shown.stdout
        assert not any(word in shown.stdout for word in ENGLISH), shown.stdout
        assert "<str>" not in shown.stdout and "<path>" not in shown.stdout


def _imported(home: Path, *args: str) -> set[str]:
    result = vanthu(home, *args, python=("-X", "importtime"))
    assert result.returncode == 0, result.stderr
    return {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line}


@pytest.mark.parametrize("args", [["--help"], ["inbox", "--as", "vanthu"]], ids=["help", "inbox"])
def test_answering_loads_no_signing_scheduling_or_web_library(home: Path, args: list[str]) -> None:
    loaded = _imported(home, *args)
    assert {"pyhanko", "prefect", "fastapi"}.isdisjoint(loaded), sorted(
        name for name in loaded if name.split(".")[0] in ("pyhanko", "prefect", "fastapi")
    )


def test_a_worker_with_an_empty_queue_returns_without_starting_prefect(home: Path) -> None:
    result = vanthu(home, "worker", "--once")
    assert result.returncode == 0, result.stderr
    assert "Hàng đợi trống" in result.stdout
    assert not (home / "prefect").exists()  # Prefect keeps its state there once it starts
    assert "prefect" not in _imported(home, "worker", "--once")


def test_library_logging_goes_to_the_agency_log_not_the_terminal(
    home: Path, tmp_path: Path, demo_pki: DemoPKI, leader_key: SigningKey
) -> None:
    """A signature from a CA the agency does not trust: pyHanko logs why the path fails."""
    stranger = tmp_path / "co-quan-khac.pdf"
    policy = SigningPolicy(trust_roots=(demo_pki.root_cert.read_bytes(),))
    with signing_policy(policy):
        pdf = add_form_fields(one_page_pdf(), LAYOUT)
        stranger.write_bytes(certify(pdf, leader_key, draw_signature_image("Nguyễn Văn An")))
    quiet = vanthu(home, "verify", str(stranger))
    assert quiet.returncode == 2  # indeterminate: a verdict, not an error
    assert quiet.stderr == "", quiet.stderr
    assert "pyhanko" in (home / "logs" / "vanthu.log").read_text(encoding="utf-8")
    loud = vanthu(home, "-v", "verify", str(stranger))
    assert loud.returncode == 2 and "pyhanko" in loud.stderr, loud.stderr


def test_outside_an_agency_folder_no_log_file_is_left(tmp_path: Path) -> None:
    pdf = tmp_path / "van-ban.pdf"
    pdf.write_bytes(one_page_pdf())
    result = vanthu(tmp_path, "verify", str(pdf), "--trust", "khong-co.pem")
    assert result.returncode == 2 and "khong-co.pem" in result.stderr and "--trust" in result.stderr
    assert list(tmp_path.iterdir()) == [pdf]
