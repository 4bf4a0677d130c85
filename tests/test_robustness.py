"""Bad input never ends in a traceback: each case below once ended in one (or in a 500). Each runs
as a person would: the `vanthu` command in its own process (or the HTTP API), and gets exactly
one line on standard error, in Vietnamese, with the exit code of its kind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fixtures_db import WorkspaceFactory

from engine.automation import open_workspace
from engine.core.agency import create_demo_agency
from engine.core.config import load_settings
from engine.http.api import create_app
from engine.outgoing.agents import create_agent_token
from workflows import DEFINITIONS_DIR

VANTHU = [sys.executable, "-m", "engine"]


def vanthu(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*VANTHU, "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **env},
    )


def one_line(answer: subprocess.CompletedProcess[str], exit_code: int) -> str:
    """The single line of the refusal, checked: its exit code, one line, no traceback."""
    assert answer.returncode == exit_code, (answer.returncode, answer.stderr)
    assert "Traceback" not in answer.stderr and "vanthu.log#" not in answer.stderr, answer.stderr
    lines = answer.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Lỗi: "), answer.stderr
    return lines[0]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo agency's people on disk after `vanthu init` (SQLite; no keys: nothing is signed)."""
    folder = tmp_path_factory.mktemp("robust") / "agency"
    assert vanthu(folder, "init").returncode == 0
    create_demo_agency(open_workspace(load_settings(folder)))
    return folder


def draft(
    home: Path, subject: str, body: bytes = b"Noi dung.\n"
) -> subprocess.CompletedProcess[str]:
    body_file = home.parent / "body.txt"
    body_file.write_bytes(body)
    return vanthu(
        home,
        *("draft", "new", "--as", "chuyenvien", "--type", "Công văn", "--subject", subject),
        *("--signer", "giamdoc", "--body-file", str(body_file), "--recipient", "Như trên;"),
    )


def test_a_subject_over_255_characters_is_refused_naming_its_length(home: Path) -> None:
    line = one_line(draft(home, "Về việc " + "rất " * 70), 2)
    assert "--subject dài 287 ký tự, tối đa 246" in line  # "Công văn " + it: 255 at most
    assert draft(home, "Về việc " + "ổn " * 79).returncode == 0  # 244 characters: accepted


@pytest.mark.parametrize("subject", ["Về việc\x1b[31m thử", "Về việc\nthứ hai", "Về \u202eviệc"])
def test_a_subject_with_control_characters_is_refused(home: Path, subject: str) -> None:
    line = one_line(draft(home, subject), 2)
    assert "--subject" in line and "ký tự điều khiển U+" in line


def test_a_body_file_that_is_not_utf8_or_holds_control_characters_is_refused(
    home: Path,
) -> None:
    assert "không phải văn bản UTF-8" in one_line(draft(home, "Thử", b"N\xe9i dung\n"), 2)
    line = one_line(draft(home, "Thử", "Căn cứ;\nNội dung\x00có ký tự lạ\n".encode()), 2)
    assert "--body-file: dòng 2" in line and "U+0000" in line


def test_incoming_fields_longer_than_the_register_keeps_are_refused(home: Path) -> None:
    pdf = home.parent / "den.pdf"
    pdf.write_bytes(b"%PDF-1.7\n")  # never read: the fields are refused first
    answer = vanthu(
        home,
        *("incoming", "receive", str(pdf), "--as", "vanthu", "--from", "Ủy ban " * 40),
        *("--symbol", "1/UBND", "--type", "Công văn", "--subject", "Thử"),
    )
    assert "--from" in one_line(answer, 2)


def test_trust_roots_naming_a_missing_file_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "agency"
    folder.mkdir()
    missing = tmp_path / "khong-co" / "root.pem"
    (folder / "vanthu.toml").write_text(f'trust_roots = ["{missing}"]\n', encoding="utf-8")
    line = one_line(vanthu(folder, "inbox", "--as", "vanthu"), 6)
    assert "trust_roots" in line and str(missing) in line


def test_vanthu_toml_that_is_a_folder_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "agency"
    (folder / "vanthu.toml").mkdir(parents=True)
    line = one_line(vanthu(folder, "inbox", "--as", "vanthu"), 6)
    assert "vanthu.toml là một thư mục" in line


@pytest.mark.parametrize("url", ["mysql://vanthu@db/vanthu", "oracle+cx_oracle://a@b/c", "vanthu"])
def test_an_unsupported_database_url_is_one_line(tmp_path: Path, url: str) -> None:
    folder = tmp_path / "agency"
    line = one_line(vanthu(folder, "init", "--database-url", url), 6)
    assert "database_url" in line and "postgresql://" in line
    assert not (folder / "vanthu.toml").exists()  # no configuration naming it
    folder.mkdir(exist_ok=True)
    line = one_line(vanthu(folder, "inbox", "--as", "vanthu", VANTHU_DATABASE_URL=url), 6)
    assert "database_url" in line and "không được hỗ trợ" in line


def test_a_deadline_so_large_the_date_overflows_is_refused_with_file_and_line(
    tmp_path: Path,
) -> None:
    workflows = tmp_path / "workflows"
    shutil.copytree(DEFINITIONS_DIR, workflows, ignore=shutil.ignore_patterns("*.py", "__*"))
    text = (workflows / "outgoing.yaml").read_text(encoding="utf-8")
    (workflows / "outgoing.yaml").write_text(
        text.replace("deadline_days: 3", "deadline_days: 99999999999", 1), encoding="utf-8"
    )
    line_number = next(
        n
        for n, line in enumerate((workflows / "outgoing.yaml").read_text().splitlines(), 1)
        if "99999999999" in line
    )
    folder = tmp_path / "agency"
    answer = vanthu(folder, "init", VANTHU_WORKFLOWS_DIR=str(workflows))
    line = one_line(answer, 6)
    assert f"outgoing.yaml:{line_number}" in line and "deadline_days" in line
    checked = vanthu(folder, "workflows-check", str(workflows))
    assert "deadline_days" in one_line(checked, 6)


@pytest.fixture
def api(make_agency: WorkspaceFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    ws = make_agency()
    _token_id, token = create_agent_token(ws, "phogiamdoc")
    with TestClient(create_app(ws), raise_server_exceptions=False) as client:
        yield client, {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("request_id", ["99999999999999999999", "9223372036854775808", "0", "-1"])
def test_a_number_out_of_range_in_the_api_path_is_422_not_500(
    api: tuple[TestClient, dict[str, str]], request_id: str
) -> None:
    client, auth = api
    answer = client.post(
        f"/api/agent/requests/{request_id}/signature", json={"signature": "AAAA"}, headers=auth
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "input.invalid"
    assert "request_id" in answer.json()["detail_en"]
    within = client.post(
        "/api/agent/requests/9223372036854775807/signature",
        json={"signature": "AAAA"},
        headers=auth,
    )
    assert within.status_code == 404, within.text  # the largest row number: simply not there
