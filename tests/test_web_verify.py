"""The public ``/verify`` page in a real browser (and httpx): anyone uploads a PDF and reads the
engine's report, a signed document issued by the demo agency, a tampered copy, an unsigned one;
bad files get one line; nothing is stored, audited or left in a temporary folder."""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pikepdf
import pytest
from active_pdfs import plain_pdf
from fixtures_web import PHONE, PageFactory, WebOffice, login, screenshot
from playwright.sync_api import Page, expect
from sqlmodel import Session, func, select

from engine.core import audit
from engine.core.models import Document, DocumentFile, WebSession
from engine.signatures.verification import verify_upload
from engine.workflow.files import latest_file
from storage import get_content
from tests_support import issue_document

VERDICT = ".verdict-text"
SIGNERS = ["DEMO Phạm Minh Đức", "DEMO SỞ NỘI VỤ"]
"""The demo decision's signatures: the deputy director's, then the agency's seal."""
GARBAGE = b"%PDF-1.7\n" + bytes(range(256)) * 40


@dataclass(frozen=True)
class Pdfs:
    signed: bytes
    tampered: bytes


@pytest.fixture(scope="module")
def pdfs(web_office: WebOffice) -> Pdfs:
    """A decision the demo agency issued (signed by the leader, sealed by the clerk), and a copy
    with one byte changed inside what the signatures cover."""
    document_id = issue_document(web_office.ws)
    with Session(web_office.ws.db) as session:
        signed = get_content(
            web_office.ws.store, latest_file(session, document_id, "issued").sha256
        )
    tampered = bytearray(signed)
    position = tampered.index(b"/Contents") - 200  # inside the first signature's byte range
    tampered[position] = ord("X") if tampered[position] != ord("X") else ord("Y")
    return Pdfs(signed, bytes(tampered))


@dataclass(frozen=True)
class Kept:
    """What the agency holds: audit events, store objects, documents and files, sessions."""

    events: int
    objects: frozenset[str]
    rows: tuple[int, int, int]


def _kept(office: WebOffice) -> Kept:
    with Session(office.ws.db) as session:
        rows = tuple(
            session.exec(select(func.count()).select_from(table)).one()
            for table in (Document, DocumentFile, WebSession)
        )
    return Kept(
        events=len(audit.events(office.ws.db)),
        objects=frozenset(office.ws.store.list_keys()),
        rows=(rows[0], rows[1], rows[2]),
    )


@pytest.fixture
def private_tmp(tmp_path: Path) -> Iterator[Path]:
    """Python's temporary folder, for this test only (the server runs in this process)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    saved = tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = saved


def _upload(page: Page, name: str, data: bytes) -> None:
    page.get_by_label("Tệp PDF cần kiểm tra").set_input_files(
        {"name": name, "mimeType": "application/pdf", "buffer": data}
    )
    page.get_by_role("button", name="Kiểm tra", exact=True).click()
    page.wait_for_load_state()


def test_anyone_checks_a_signed_pdf_without_logging_in_and_nothing_is_kept(
    page: Page, web_office: WebOffice, pdfs: Pdfs, private_tmp: Path
) -> None:
    engine_report = verify_upload(web_office.ws, pdfs.signed)
    before = _kept(web_office)
    page.goto("/verify")
    expect(page).to_have_url(re.compile(r"/verify$"))  # no login asked
    expect(page.get_by_role("heading", name="Kiểm tra chữ ký số của tệp PDF")).to_be_visible()
    expect(page.get_by_role("navigation", name="Chức năng")).to_have_count(0)  # nobody signed in
    screenshot(page, "verify-form")
    _upload(page, "quyet-dinh-bo-nhiem.pdf", pdfs.signed)

    expect(page.locator(VERDICT)).to_have_text("HỢP LỆ")
    expect(page.locator(".verdict")).to_have_class(re.compile(r"verdict-valid"))
    expect(page.get_by_role("cell", name="quyet-dinh-bo-nhiem.pdf", exact=False)).to_be_visible()
    signatures = page.locator("section.signature")
    expect(signatures).to_have_count(2)
    for signature, signer in zip(signatures.all(), SIGNERS, strict=True):
        expect(signature.get_by_role("heading")).to_contain_text(signer)
        expect(signature.get_by_role("heading")).to_contain_text("HỢP LỆ")
        facts = signature.locator("table.facts")
        expect(facts).to_contain_text("Tổ chức cấp chứng thư")
        expect(facts).to_contain_text("DEMO")  # the demo sub-CA issued it
        expect(
            facts.get_by_role("row", name=re.compile("Nội dung đã ký còn nguyên vẹn"))
        ).to_contain_text("có")
        expect(
            facts.get_by_role("row", name=re.compile("Chứng thư dẫn tới gốc tin cậy"))
        ).to_contain_text("có (chứng thư gốc của cơ quan)")
        expect(facts.get_by_role("row", name=re.compile("Tình trạng thu hồi"))).to_contain_text(
            "chưa bị thu hồi"
        )
        expect(facts.get_by_role("row", name=re.compile("Thời điểm ký"))).to_contain_text(
            re.compile(r"\d\d:\d\d:\d\d ngày \d\d/\d\d/\d{4}")
        )
        stamped = next(s for s in engine_report.signatures if s.signer == signer)
        expect(facts.get_by_role("row", name=re.compile("Dấu thời gian"))).to_contain_text(
            "có, lúc" if stamped.timestamp_time else "không có"  # as the engine found it
        )
    expect(signatures.first.get_by_role("row", name=re.compile("DocMDP"))).to_contain_text(
        "điền biểu mẫu"  # the leader's certification lets the clerk add number and seal
    )
    screenshot(page, "verify-report-valid")

    assert _kept(web_office) == before  # no document, file, object, event or session
    assert list(private_tmp.iterdir()) == []


def test_a_tampered_copy_is_invalid_in_red(
    browser_page: PageFactory, web_office: WebOffice, pdfs: Pdfs
) -> None:
    page = browser_page(web_office, viewport=PHONE)
    page.goto("/verify")
    screenshot(page, "verify-form-phone")
    _upload(page, "ban-sua.pdf", pdfs.tampered)
    expect(page.locator(VERDICT)).to_have_text("KHÔNG HỢP LỆ")
    expect(page.locator(".verdict")).to_have_class(re.compile(r"verdict-invalid"))
    first = page.locator("section.signature").first
    expect(first.get_by_role("row", name=re.compile("nguyên vẹn"))).to_contain_text("KHÔNG")
    expect(page.get_by_role("heading", name="Lý do")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the report scrolls sideways on a phone: {width}px"
    screenshot(page, "verify-report-invalid-phone")


def _large_unsigned_pdf() -> bytes:
    """An unsigned PDF over 1 MB: Starlette keeps a larger upload in a temporary file."""
    with pikepdf.open(io.BytesIO(plain_pdf())) as pdf:
        pdf.Root.Padding = pdf.make_stream(bytes(range(256)) * 5000)  # stored as is
        out = io.BytesIO()
        pdf.save(out, compress_streams=False)
    data = out.getvalue()
    assert len(data) > 1024 * 1024
    return data


def test_an_unsigned_pdf_says_so_to_a_signed_in_person_too(
    page: Page, web_office: WebOffice, private_tmp: Path
) -> None:
    login(page, "chuyenvien")
    before = _kept(web_office)
    page.get_by_role("navigation", name="Chức năng").get_by_role(
        "link", name="Kiểm tra chữ ký"
    ).click()
    _upload(page, "chua-ky.pdf", _large_unsigned_pdf())
    expect(page.locator(VERDICT)).to_have_text("KHÔNG CÓ CHỮ KÝ SỐ")
    expect(page.locator("section.signature")).to_have_count(0)
    expect(page.get_by_role("link", name="Kiểm tra chữ ký")).to_have_attribute(
        "aria-current", "page"
    )
    assert _kept(web_office) == before
    assert list(private_tmp.iterdir()) == []  # the upload's temporary file is gone


def _form_token(client: httpx.Client) -> str:
    form = client.get("/verify")
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert form.status_code == 200 and found is not None
    return found.group(1)


@pytest.mark.parametrize(
    ("name", "data", "status", "message"),
    [
        ("rong.pdf", b"", 422, "rong.pdf: Tệp rỗng: hãy chọn một tệp PDF."),
        ("anh.pdf", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, 422, "anh.pdf: Tệp không phải PDF."),
        (
            "hong.pdf",
            b"%PDF-1.7\n" + bytes(range(256)) * 40,
            422,
            "hong.pdf: Tệp PDF hỏng, không đọc được",
        ),
        ("", b"", 400, "Chưa chọn tệp PDF để kiểm tra."),
    ],
    ids=["empty", "png", "corrupt", "no file"],
)
def test_a_file_that_is_not_a_readable_pdf_gets_one_line(
    web_office: WebOffice, name: str, data: bytes, status: int, message: str
) -> None:
    before = _kept(web_office)
    with httpx.Client(base_url=web_office.url) as client:
        token = _form_token(client)
        answer = client.post(
            "/verify",
            data={"csrf_token": token},
            files={"pdf": (name, data, "application/pdf")},
        )
    assert answer.status_code == status, answer.text
    errors = re.findall(r'<p class="flash flash-error" role="alert"[^>]*>([^<]*)</p>', answer.text)
    assert len(errors) == 1 and errors[0].startswith(message), errors
    assert "\n" not in errors[0] and "Traceback" not in answer.text
    assert _kept(web_office) == before


def test_a_post_without_the_pages_token_is_refused(web_office: WebOffice, pdfs: Pdfs) -> None:
    with httpx.Client(base_url=web_office.url) as client:
        _form_token(client)  # the cookie, but a forged form
        answer = client.post(
            "/verify",
            data={"csrf_token": "gia-mao"},
            files={"pdf": ("a.pdf", pdfs.signed, "application/pdf")},
        )
    assert answer.status_code == 403
    assert "mã chống giả mạo" in answer.text and "HỢP LỆ" not in answer.text
