"""Small factories shared by the engine tests."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from engine.archive import search
from engine.automation import open_workspace
from engine.cli import run
from engine.cli.app import configure
from engine.core.agency import create_demo_agency
from engine.core.config import load_settings, write_settings_file
from engine.core.models import ArchiveRecord, Task, WorkflowInstance
from engine.core.workspace import Workspace
from engine.outgoing import DraftRequest, create_outgoing
from engine.signatures import keys
from engine.workflow import act
from signing.demo import load_demo_pki, stop_pki_services
from vanthu.errors import VanthuError

DECISION = DraftRequest(
    doc_type="Quyết định",
    subject="Về việc bổ nhiệm Phó Trưởng phòng Tổ chức, biên chế",
    signer="phogiamdoc",
    body=(
        "Căn cứ Luật Cán bộ, công chức;",
        "QUYẾT ĐỊNH:",
        "Điều 1. Bổ nhiệm bà Trần Thị Bình giữ chức vụ Phó Trưởng phòng.",
        "Điều 2. Quyết định có hiệu lực kể từ ngày ký./.",
    ),
    recipients=("Như Điều 2;",),
)
LETTER = DraftRequest(
    doc_type="Công văn",
    subject="Về việc đôn đốc báo cáo công tác văn thư",
    signer="giamdoc",
    body=("Kính gửi: các phòng thuộc Sở.", "Đề nghị gửi báo cáo trước ngày 15/12./."),
    recipients=("Như trên;",),
)


@contextmanager
def refused(
    code: str, error: type[VanthuError] = VanthuError, **fields: Any
) -> Iterator[pytest.ExceptionInfo[VanthuError]]:
    """Expect the body to be refused with ``code`` (an ``error``) and these ``fields``: tests
    compare what programs compare, never the wording of the message."""
    with pytest.raises(error) as caught:
        yield caught
    assert caught.value.code == code, f"{caught.value.code}: {caught.value}"
    found = caught.value.fields()
    for name, value in fields.items():
        assert found.get(name) == value, (name, found)


def open_task_steps(ws: Workspace, document_id: int) -> list[str]:
    with Session(ws.db) as session:
        instance = session.exec(
            select(WorkflowInstance).where(WorkflowInstance.document_id == document_id)
        ).one()
        return sorted(
            session.exec(
                select(Task.step_id)
                .where(Task.instance_id == instance.id, Task.state == "open")
                .order_by(col(Task.id))
            ).all()
        )


def archived_documents(ws: Workspace, text: str, **filters: object) -> list[int]:
    """The documents whose archive records the archivist finds with ``text`` and filters."""
    query = search.SearchQuery(text=text, **filters)  # type: ignore[arg-type]
    hits = search.search(ws, query, username="luutru").hits
    with Session(ws.db) as session:
        by_record = {
            r.record_id: r.document_id
            for r in session.exec(
                select(ArchiveRecord).where(
                    col(ArchiveRecord.record_id).in_([h.record_id for h in hits])
                )
            )
        }
    return [d for h in hits if (d := by_record[h.record_id]) is not None]


def pin_of(ws: Workspace, username: str) -> str:
    """The DEMO PIN of ``username``'s key, as the DEMO PKI generated it (DEMO-PINS.json)."""
    return keys.pki(ws).demo_pin(username)


def demo_pin(home: Path, username: str) -> str:
    """The DEMO PIN of ``username`` in the agency folder ``home`` (for tests of the command)."""
    return load_demo_pki(home / "pki").demo_pin(username)


def issue_document(ws: Workspace, request: DraftRequest = DECISION) -> int:
    """Drive one outgoing document from draft to archive with the inline runner."""
    doc = create_outgoing(ws, "chuyenvien", request)
    act(ws, doc, "chuyenvien", "submit")
    act(ws, doc, "truongphong", "approve")
    act(ws, doc, request.signer, "sign", pin=pin_of(ws, request.signer))
    act(ws, doc, "vanthu", "issue")
    return doc


def pdfsig_lines(pdf: Path, root_pem: Path, nss_dir: Path) -> list[str]:
    """poppler's pdfsig, an independent validator, trusting only ``root_pem`` (NSS database)."""
    nss_dir.mkdir(parents=True, exist_ok=True)
    database = f"sql:{nss_dir}"
    subprocess.run(["certutil", "-N", "-d", database, "--empty-password"], check=True)
    subprocess.run(
        [
            "certutil",
            "-A",
            "-d",
            database,
            "-n",
            "vanthu-demo-root",
            "-t",
            "CT,C,C",
            "-i",
            str(root_pem),
        ],
        check=True,
    )
    result = subprocess.run(
        ["pdfsig", "-nssdir", database, str(pdf)],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.splitlines()


@dataclass(frozen=True)
class Ran:
    """A `vanthu` command's exit code and what it printed, named as subprocess.run names them."""

    returncode: int
    stdout: str
    stderr: str


def run_vanthu(
    home: Path | None, *args: str, stdin: str | None = None, env: Mapping[str, str] | None = None
) -> Ran:
    """`vanthu --home HOME ARGS…` in this process, through the command's own entry
    (engine.cli.run: parsing, one-line errors, exit codes) without the 1–2 s of imports a new
    process pays; on this process's clock (a test's ManualClock too). ``stdin`` is not a
    terminal, as a pipe is not. The environment (``env`` is set for this call only), standard
    streams, working folder, logging and the command's options are as they were afterwards, so
    nothing reaches the next call or test."""
    argv = [*(("--home", str(home)) if home is not None else ()), *args]
    root = logging.getLogger()
    handlers, level, showwarning = list(root.handlers), root.level, warnings.showwarning
    cwd = os.getcwd()
    try:
        with CliRunner().isolation(input=stdin, env=env) as (out, err, _):
            try:
                code = run(argv)
            except SystemExit as ended:  # as the interpreter turns it into an exit code
                code = ended.code if isinstance(ended.code, int) else int(ended.code is not None)
            sys.stdout.flush()
            sys.stderr.flush()
            stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    finally:
        for handler in root.handlers:
            if handler not in handlers:  # the agency's log file, opened by the command
                handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)
        if warnings.showwarning is not showwarning:
            logging.captureWarnings(False)
        os.chdir(cwd)
        configure(None, False)
    return Ran(code, stdout, stderr)


def stop_own_pki(home: Path) -> None:
    """Stop the DEMO PKI services a command run in this process started for the agency's own
    key folder (``home/pki``), as the end of the command's process would have."""
    if (home / "pki" / "pki.json").is_file():  # the manifest of a PKI made there
        stop_pki_services(load_demo_pki(home / "pki"))


def cli_agency(home: Path, pki_dir: Path) -> Path:
    """An agency folder for the command, as `vanthu init` and `vanthu setup-demo` leave it but
    with the DEMO keys ``pki_dir`` made once per session (setup-demo's RSA keys take seconds)
    and no login passwords: for tests of other commands."""
    home.mkdir(parents=True, exist_ok=True)
    write_settings_file(home, {"pki_dir": str(pki_dir)})
    assert run_vanthu(home, "init").returncode == 0
    ws = open_workspace(load_settings(home))
    create_demo_agency(ws)
    ws.db.dispose()
    return home
