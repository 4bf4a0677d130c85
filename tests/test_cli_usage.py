"""The command line a clerk can live with: usage errors are one Vietnamese line and exit 2, a
command that succeeds prints no library noise, and the command answers without loading what
it does not use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
        ["doc", "export", "1", "/khong/co/thu-muc/x.pdf"],
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
    home: Path, tmp_path: Path
) -> None:
    unsigned = tmp_path / "khong-ky.pdf"
    unsigned.write_bytes(
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 100 100]>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )
    quiet = vanthu(home, "verify", str(unsigned))
    assert quiet.returncode == 4  # unsigned: a verdict, not an error
    assert quiet.stderr == "", quiet.stderr
    assert (home / "logs" / "vanthu.log").is_file()
    loud = vanthu(home, "-v", "verify", str(unsigned))
    assert loud.returncode == 4 and "pyhanko" in loud.stderr.lower(), loud.stderr


def test_outside_an_agency_folder_no_log_file_is_left(tmp_path: Path) -> None:
    result = vanthu(tmp_path, "verify", str(tmp_path / "khong-co.pdf"), "--trust", "x.pem")
    assert result.returncode == 2 and "--trust x.pem" in result.stderr
    assert list(tmp_path.iterdir()) == []
