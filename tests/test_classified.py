"""Classified documents (Mật, Tối mật, Tuyệt mật): numbered in a series of their own, in the
secret registers, listed there only, and marked under the number (Decree 30 Art. 15.2,
Appendix I field 10a)."""

from __future__ import annotations

import dataclasses
import io
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from active_pdfs import plain_pdf
from docx import Document as Docx
from fixtures_web import PageFactory, WebOffice, login, screenshot
from playwright.sync_api import Page, expect
from sqlmodel import Session, col, func, select

from engine.automation import open_workspace
from engine.core.agency import create_demo_agency
from engine.core.config import load_settings
from engine.core.db import transaction
from engine.core.errors import InvalidInput
from engine.core.models import Agency, Document, Register
from engine.core.registers import next_number, register_for
from engine.core.workspace import Workspace
from engine.incoming import IncomingRequest, receive_incoming
from engine.outgoing import create_outgoing
from engine.workflow import Upload, act
from engine.workflow.files import latest_file
from engine.workflow.registers import RegisterFilters, register_rows
from storage import get_content
from tests_support import DECISION, LETTER, issue_document, refused

_XHTML = "{http://www.w3.org/1999/xhtml}"
SECRET_DECISION = dataclasses.replace(
    DECISION, subject="Về việc phê duyệt phương án bảo vệ bí mật nhà nước", secrecy="Mật"
)
SECRET_LETTER = dataclasses.replace(LETTER, secrecy="Tối mật")


@dataclass
class Office:
    ws: Workspace
    home: Path
    decisions: tuple[int, int]
    """Two ordinary Quyết định, issued first."""
    secret_decision: int
    secret_letter: int
    incoming: int
    """An ordinary incoming document, registered."""
    secret_incoming: int
    """A 'Mật' incoming document, registered after it."""


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory, demo_keys: Path) -> Iterator[Office]:
    home = tmp_path_factory.mktemp("classified")
    ws = open_workspace(load_settings(home, pki_dir=demo_keys, steps_runner="inline"))
    create_demo_agency(ws)
    decisions = (issue_document(ws, DECISION), issue_document(ws, DECISION))
    secret_decision = issue_document(ws, SECRET_DECISION)
    secret_letter = issue_document(ws, SECRET_LETTER)
    pdf = _issued(ws, decisions[0])
    received = []
    for symbol, secrecy in (("01/QĐ-UBND", None), ("02/QĐ-UBND", "Mật")):
        request = IncomingRequest(
            "UBND HUYỆN MẪU", symbol, "Quyết định", "Về việc kiểm kê", secrecy=secrecy
        )
        document_id = receive_incoming(ws, "vanthu", Upload("den.pdf", pdf), request)
        act(ws, document_id, "vanthu", "register")
        received.append(document_id)
    yield Office(ws, home, decisions, secret_decision, secret_letter, *received)
    ws.db.dispose()


def _issued(ws: Workspace, document_id: int) -> bytes:
    with Session(ws.db) as session:
        return get_content(ws.store, latest_file(session, document_id, "issued").sha256)


def _numbering(ws: Workspace, document_id: int) -> tuple[str | None, int | None, str, bool]:
    """Symbol, number, register code and whether the register is a secret one."""
    with Session(ws.db) as session:
        document = session.get(Document, document_id)
        assert document is not None and document.register_id is not None
        register = session.get(Register, document.register_id)
        assert register is not None
        return document.symbol, document.number, register.code, register.secret


def test_a_secret_decision_takes_01_of_its_own_series_after_ordinary_ones(
    office: Office,
) -> None:
    assert [_numbering(office.ws, d) for d in office.decisions] == [
        ("01/QĐ-SNV", 1, "QD", False),
        ("02/QĐ-SNV", 2, "QD", False),
    ]
    assert _numbering(office.ws, office.secret_decision) == ("01/QĐ-SNV", 1, "VBMDI", True)
    # one secret series for every type (văn bản mật được cấp số riêng): the letter is 02
    symbol, number, code, secret = _numbering(office.ws, office.secret_letter)
    assert (number, code, secret) == (2, "VBMDI", True) and symbol == "02/SNV-TCBC"
    with Session(office.ws.db) as session:
        document = session.get(Document, office.secret_decision)
        assert document is not None and document.secrecy == "Mật"


def _words(pdf: bytes, tmp_path: Path) -> list[tuple[str, float, float, float, float]]:
    """The first page's words with xMin, yMin, xMax, yMax (y down), as pdftotext finds them."""
    path = tmp_path / "issued.pdf"
    path.write_bytes(pdf)
    html = subprocess.run(
        ["pdftotext", "-bbox-layout", "-f", "1", "-l", "1", str(path), "-"],
        capture_output=True,
        check=True,
    ).stdout
    return [
        (
            (word.text or "").strip(),
            *(float(word.attrib[k]) for k in ("xMin", "yMin", "xMax", "yMax")),
        )
        for word in ET.fromstring(html).iter(f"{_XHTML}word")
    ]


def test_the_issued_pdf_shows_the_secrecy_mark_under_the_number(
    office: Office, tmp_path: Path
) -> None:
    words = _words(_issued(office.ws, office.secret_decision), tmp_path)
    number = next(w for w in words if w[0] == "01/QĐ-SNV")
    marks = [w for w in words if w[0] == "MẬT"]
    assert len(marks) == 1, [w[0] for w in words[:40]]
    mark = marks[0]
    _, x_min, y_min, x_max, _ = mark
    assert y_min > number[4]  # below the number line …
    assert y_min - number[4] < 40  # … just under it, not further down the page
    assert number[1] - 60 < x_min and x_max < 290  # in the left (agency) column, under it
    letter = [w[0] for w in _words(_issued(office.ws, office.secret_letter), tmp_path)]
    assert "TỐI" in letter and "MẬT" in letter
    ordinary = [w[0] for w in _words(_issued(office.ws, office.decisions[0]), tmp_path)]
    assert "MẬT" not in ordinary


def test_a_secret_incoming_document_is_numbered_in_the_secret_incoming_register(
    office: Office,
) -> None:
    assert _numbering(office.ws, office.incoming)[1:] == (1, "VBDEN", False)
    assert _numbering(office.ws, office.secret_incoming)[1:] == (1, "VBMDEN", True)


def test_registers_list_classified_documents_only_in_their_own_registers(
    office: Office,
) -> None:
    ws = office.ws
    ordinary = register_rows(ws, "vanthu", "outgoing")
    assert [r.document_id for r in ordinary.rows] == list(office.decisions)
    assert ordinary.title == "SỔ ĐĂNG KÝ VĂN BẢN ĐI"
    assert ("VBMDI", "Sổ đăng ký văn bản đi mật") in ordinary.registers  # a choice of the filter
    secret = register_rows(ws, "vanthu", "outgoing", RegisterFilters(secret=True))
    assert [r.document_id for r in secret.rows] == [office.secret_decision, office.secret_letter]
    assert secret.title == "SỔ ĐĂNG KÝ VĂN BẢN ĐI MẬT"
    assert [r.cells["note"] for r in secret.rows] == ["Mật", "Tối mật"]
    assert (secret.first_number, secret.last_number) == (1, 2)
    chosen = register_rows(ws, "vanthu", "outgoing", RegisterFilters(register_code="VBMDI"))
    assert [r.document_id for r in chosen.rows] == [office.secret_decision, office.secret_letter]
    assert chosen.register_name == "Sổ đăng ký văn bản đi mật"
    incoming = register_rows(ws, "vanthu", "incoming")
    assert [r.document_id for r in incoming.rows] == [office.incoming]
    secret_in = register_rows(ws, "vanthu", "incoming", RegisterFilters(secret=True))
    assert [r.document_id for r in secret_in.rows] == [office.secret_incoming]
    assert secret_in.rows[0].cells["note"].startswith("Mật")


def _documents(ws: Workspace) -> int:
    with Session(ws.db) as session:
        return int(session.exec(select(func.count(col(Document.id)))).one())


def test_a_secrecy_that_is_not_one_of_the_three_is_refused(office: Office) -> None:
    before = _documents(office.ws)
    with refused("secrecy.unknown", InvalidInput, field="--secrecy", secrecy="Bí mật"):
        create_outgoing(office.ws, "chuyenvien", dataclasses.replace(DECISION, secrecy="Bí mật"))
    request = IncomingRequest("UBND", "3/UBND", "Công văn", "Về việc", secrecy="Rất mật")
    with refused("secrecy.unknown", InvalidInput, secrecy="Rất mật"):
        receive_incoming(
            office.ws, "vanthu", Upload("x.pdf", _issued(office.ws, office.decisions[0])), request
        )
    assert _documents(office.ws) == before


def test_the_cli_refuses_a_bad_secrecy_in_one_line(office: Office) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine",
            "--home",
            str(office.home),
            "draft",
            "new",
            "--as",
            "chuyenvien",
            "--type",
            "Quyết định",
            "--subject",
            "Về việc thử",
            "--signer",
            "giamdoc",
            "--secrecy",
            "Tuyệt mặt",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "Tuyệt mặt" in lines[0] and "Mật, Tối mật, Tuyệt mật" in lines[0]


def test_the_web_office_drafts_and_receives_classified_documents(
    page: Page, browser_page: PageFactory, web_office: WebOffice, tmp_path: Path
) -> None:
    login(page, "chuyenvien")
    page.goto("/drafts/new")
    page.get_by_label("Loại văn bản").select_option("Quyết định")
    page.get_by_label("Trích yếu nội dung").fill("Về việc bảo vệ bí mật nhà nước")
    page.get_by_label("Nội dung", exact=True).fill("Điều 1. Ban hành Quy chế./.")
    page.get_by_label("Nơi nhận").fill("Như Điều 1;")
    secrecy = page.get_by_label("Độ mật")
    expect(secrecy.locator("option")).to_have_text(["Không mật", "Mật", "Tối mật", "Tuyệt mật"])
    secrecy.select_option("Tuyệt mật")
    screenshot(page, "drafts-new-secret")
    page.get_by_role("button", name="Tạo dự thảo").click()
    page.wait_for_url(re.compile(r"/documents/\d+$"))
    document_id = int(page.url.rsplit("/", 1)[1])
    with Session(web_office.ws.db) as session:
        document = session.get(Document, document_id)
        assert document is not None and document.secrecy == "Tuyệt mật"
        draft = get_content(web_office.ws.store, latest_file(session, document_id, "draft").sha256)
    texts = [p.text for t in Docx(io.BytesIO(draft)).tables for c in t._cells for p in c.paragraphs]
    assert "TUYỆT MẬT" in texts

    pdf = tmp_path / "den-mat.pdf"
    pdf.write_bytes(plain_pdf())
    page = browser_page(web_office)  # the clerk, in a browser of her own
    login(page, "vanthu")
    page.goto("/incoming/new")
    page.get_by_label("Tệp văn bản đến (PDF)").set_input_files(str(pdf))
    page.get_by_label("Cơ quan ban hành (tác giả)").fill("UBND HUYỆN MẪU")
    page.get_by_label("Số, ký hiệu văn bản").fill("09/UBND-VP")
    page.get_by_label("Loại văn bản").select_option("Công văn")
    page.get_by_label("Trích yếu nội dung").fill("Về việc rà soát tài liệu mật")
    page.get_by_label("Độ mật").select_option("Mật")
    page.get_by_role("button", name="Kiểm tra văn bản").click()
    expect(page.locator("dl.facts")).to_contain_text("Mật (vào sổ văn bản đến mật)")
    screenshot(page, "clerk-incoming-secret-preview")
    page.get_by_role("button", name="Vào sổ và chuyển lãnh đạo").click()
    page.wait_for_url("**/registers/incoming")
    with Session(web_office.ws.db) as session:
        received = session.exec(
            select(Document).where(Document.sender_symbol == "09/UBND-VP")
        ).one()
        register = session.get(Register, received.register_id)
        assert received.secrecy == "Mật" and received.number == 1
        assert register is not None and register.secret
    expect(page.get_by_role("row").filter(has_text="09/UBND-VP")).to_have_count(0)
    page.goto(f"/registers/incoming?register={register.code}")
    row = page.get_by_role("row").filter(has_text="09/UBND-VP")
    expect(row.locator("td.col-note")).to_contain_text("Mật")
    screenshot(page, "register-incoming-secret")


def test_the_secret_register_is_made_once_and_numbers_on_its_own(agency: Workspace) -> None:
    """On SQLite and PostgreSQL: the agency's first classified document makes its secret
    register of that direction; later ones find it; the ordinary registers keep their series."""
    with transaction(agency.db) as session:
        sub = session.exec(select(Agency).where(Agency.code == "SNV")).one()
        ordinary = register_for(session, sub, "outgoing", "QĐ")
        assert ordinary.id is not None and not ordinary.secret
        assert [next_number(session, ordinary.id, 2026) for _ in range(3)] == [1, 2, 3]
        secret = register_for(session, sub, "outgoing", "QĐ", secret=True)
        assert (secret.code, secret.secret) == ("VBMDI", True) and secret.id is not None
        assert next_number(session, secret.id, 2026) == 1
    with transaction(agency.db) as session:
        sub = session.exec(select(Agency).where(Agency.code == "SNV")).one()
        assert register_for(session, sub, "outgoing", None, secret=True).id == secret.id
        incoming = register_for(session, sub, "incoming", None, secret=True)
        assert (incoming.code, incoming.secret) == ("VBMDEN", True)
        assert register_for(session, sub, "incoming", None).code == "VBDEN"  # not the secret one
        assert next_number(session, secret.id, 2026) == 2
