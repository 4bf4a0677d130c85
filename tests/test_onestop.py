"""One-stop dossiers (một cửa): the third workflow, procedures as data, the desk's forms,
the control sheet, the portal states, the apology when late and the public look-up."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
import segno
from docx import Document
from fixtures_web import open_office, serving
from onestop_results import appraisal_docx
from sqlmodel import Session, col, select, update

from engine.core.calendar import VIETNAM_TIME
from engine.core.errors import ConfigError, Conflict
from engine.core.models import Dossier, User
from engine.core.workspace import Workspace
from engine.http.web import lookup
from engine.onestop import (
    DossierRequest,
    DossierState,
    act_on,
    apologise,
    attach_result,
    check_at_desk,
    close_dossier,
    dossier_filters,
    dossier_tracked,
    dossier_view,
    file_dossier,
    form_docx,
    form_pdf,
    list_dossiers,
    load_procedures,
    lookup_url,
    qr_png,
    receive,
    return_result,
)
from engine.workflow import Upload
from engine.workflow.ontime import classify, on_time_report
from tests_support import Ran, pin_of, refused
from vanthu.clock import ManualClock

PROCEDURE = "SNV-TCBC-01"
ALL_PAPERS = ("1", "2", "3", "4")
APPLICANT = "Công ty TNHH Ánh Dương"
OUTPUT = Path(__file__).parent.parent / "test-output" / "onestop"
THURSDAY = datetime(2026, 4, 23, 10, 0, tzinfo=VIETNAM_TIME)
"""15 working days later, past Giỗ Tổ (Mon 27/4), 30/4 and 1/5 and three weekends: 19/05."""
SIGNING_THURSDAY = datetime(2027, 1, 7, 10, 0, tzinfo=VIETNAM_TIME)
"""For flows where the head signs: within the DEMO certificates' validity (made today); 15
working days later is Thursday 28/01/2027."""


def _signed_result(ws: Workspace, code: str, head: str = "truongphong") -> None:
    """The specialist attaches the result and submits it; the head signs it (state 9)."""
    attach_result(ws, code, "chuyenvien", Upload("van-ban-tham-dinh.docx", appraisal_docx()))
    act_on(ws, code, "chuyenvien", "submit")
    act_on(ws, code, head, "approve", pin=pin_of(ws, head))


def _request(*papers: str, channel: int = 1) -> DossierRequest:
    return DossierRequest(
        PROCEDURE, APPLICANT, papers, "Số 5 Tràng Tiền, Hà Nội", "0243826", channel
    )


def _state(ws: Workspace, code: str) -> int:
    return dossier_view(ws, code).state


def _codes(ws: Workspace) -> list[str]:
    with Session(ws.db) as session:
        return list(session.exec(select(Dossier.code).order_by(col(Dossier.id))).all())


def _local(moment: datetime | None) -> datetime:
    """In Vietnam time, to the minute (the test's clock runs on from where it is set)."""
    assert moment is not None
    return moment.astimezone(VIETNAM_TIME).replace(second=0, microsecond=0)


def _pdf_text(pdf: bytes, tmp_path: Path, *, layout: bool = True) -> str:
    path = tmp_path / "form.pdf"
    path.write_bytes(pdf)
    flags = ["-layout"] if layout else []
    return subprocess.run(
        ["pdftotext", *flags, str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _pages(pdf: bytes, name: str) -> list[Path]:
    """The form's pages as PNG in test-output/onestop/ (for people to look at, and for zbar)."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / f"{name}.pdf").write_bytes(pdf)
    for old in OUTPUT.glob(f"{name}-*.png"):
        old.unlink()
    subprocess.run(
        ["pdftoppm", "-r", "110", "-png", str(OUTPUT / f"{name}.pdf"), str(OUTPUT / name)],
        check=True,
    )
    return sorted(OUTPUT.glob(f"{name}-*.png"))


def test_a_complete_dossier_moves_through_the_portal_states_and_the_control_sheet(
    agency: Workspace, clock: ManualClock
) -> None:
    clock.set(SIGNING_THURSDAY.astimezone(UTC))
    code = file_dossier(agency, "vanthu", _request(*ALL_PAPERS, channel=2))
    states = [_state(agency, code)]
    check_at_desk(agency, code, "vanthu")
    states.append(_state(agency, code))
    view = dossier_view(agency, code)
    assert _local(view.original_due_at) == datetime(2027, 1, 28, 10, 0, tzinfo=VIETNAM_TIME)
    clock.advance(hours=2)
    act_on(agency, code, "truongphong", "consult")
    states.append(_state(agency, code))
    act_on(agency, code, "phapche", "comment", comment="Đúng thẩm quyền")  # back to the head
    act_on(agency, code, "truongphong", "forward", choose="chuyenvien")
    clock.advance(days=3)
    _signed_result(agency, code)
    states.append(_state(agency, code))
    return_result(agency, code, "vanthu", "Trần Văn Nhận (giấy ủy quyền số 12)")
    states.append(_state(agency, code))
    assert states == [1, 2, 4, 9, 10]

    sheet = dossier_view(agency, code).handovers
    desk, head = "Bộ phận một cửa (Hoàng Thị Hoa)", "Phòng Tổ chức, biên chế (Lê Thị Cúc)"
    specialist = "Phòng Tổ chức, biên chế (Trần Thị Bình)"
    assert [(line.from_name, line.to_name) for line in sheet] == [
        (desk, head),
        (head, "Phòng Pháp chế"),
        ("Phòng Pháp chế (Võ Quốc Huy)", head),
        (head, specialist),
        (specialist, head),
        (head, "Bộ phận một cửa"),
        (desk, "Công dân (Trần Văn Nhận (giấy ủy quyền số 12))"),
    ]
    assert all(line.done_at is not None for line in sheet)
    assert all(line.outcome == "trước hạn" for line in sheet)
    assert sheet[1].handed_at == sheet[0].done_at  # each hand-over closes the line before it
    assert sheet[2].note == "Đúng thẩm quyền"


def test_missing_papers_ask_for_completion_then_the_dossier_is_received(
    make_agency: object, clock: ManualClock, tmp_path: Path
) -> None:
    ws = make_agency()  # type: ignore[operator]
    clock.set(THURSDAY.astimezone(UTC))
    code, move = receive(ws, "vanthu", _request("1", "Đề án thành lập tổ chức hành chính"))
    assert move.action == "return"
    view = dossier_view(ws, code)
    assert view.state == DossierState.WAITING_COMPLETION
    assert view.received_at is None and view.due_at is None  # no appointment for it yet
    missing = [c.name for c in view.components if c.missing]
    assert missing == [
        "Dự thảo quyết định thành lập tổ chức hành chính",
        "Văn bản thẩm định của cơ quan có liên quan",
    ]
    text = _pdf_text(form_pdf(ws, code, "02"), tmp_path)
    assert "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ" in text
    assert "Dự thảo quyết định thành lập tổ chức" in text and "Văn bản thẩm định" in text
    assert "Tờ trình đề nghị" not in text  # only what is missing
    with refused("onestop.form_not_applicable", Conflict):
        form_docx(ws, code, "01")  # no receipt before it is received

    clock.advance(days=6)  # Wednesday 29/4: the citizen brings the rest
    check_at_desk(ws, code, "vanthu", components=ALL_PAPERS)
    view = dossier_view(ws, code)
    assert view.state == DossierState.RECEIVED
    assert _local(view.received_at).date() == date(2026, 4, 29)
    assert [c.name for c in view.components if c.missing] == []


def test_a_refused_dossier_ends_with_its_reasons(
    make_agency: object, clock: ManualClock, tmp_path: Path
) -> None:
    ws = make_agency()  # type: ignore[operator]
    reason = "Thủ tục thuộc thẩm quyền của Ủy ban nhân dân tỉnh, không thuộc Sở Nội vụ"
    code, move = receive(ws, "vanthu", _request(*ALL_PAPERS), refuse=reason)
    assert move.now_at == ()
    view = dossier_view(ws, code)
    assert (view.state, view.reason) == (DossierState.REFUSED, reason)
    text = _pdf_text(form_pdf(ws, code, "03"), tmp_path)
    assert "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ" in text
    assert "thẩm quyền của Ủy ban nhân dân" in " ".join(text.split())
    with refused("document.not_waiting", Conflict):  # nothing follows a refusal
        act_on(ws, code, "truongphong", "forward", choose="chuyenvien")


def test_a_dossier_is_withdrawn_at_the_desk_or_stopped_by_its_unit(
    make_agency: object,
) -> None:
    ws = make_agency()  # type: ignore[operator]
    withdrawn, _ = receive(ws, "vanthu", _request("1"))  # waiting for completion (5)
    with refused("onestop.close_not_allowed"):
        close_dossier(ws, withdrawn, "truongphong", DossierState.WITHDRAWN, "Đơn rút hồ sơ")
    close_dossier(ws, withdrawn, "vanthu", DossierState.WITHDRAWN, "Đơn rút hồ sơ ngày 24/4")
    assert _state(ws, withdrawn) == DossierState.WITHDRAWN
    with refused("document.not_waiting", Conflict):  # its tasks are gone
        check_at_desk(ws, withdrawn, "vanthu", components=ALL_PAPERS)

    stopped, _ = receive(ws, "vanthu", _request(*ALL_PAPERS))
    act_on(ws, stopped, "truongphong", "forward", choose="chuyenvien")
    with refused("onestop.close_not_allowed"):
        close_dossier(ws, stopped, "phapche", DossierState.STOPPED, "Không đủ điều kiện")
    close_dossier(ws, stopped, "truongphong", DossierState.STOPPED, "Tổ chức đã giải thể")
    view = dossier_view(ws, stopped)
    assert (view.state, view.reason) == (DossierState.STOPPED, "Tổ chức đã giải thể")
    assert view.handovers[-1].kind == "closed.stopped"
    stopped_only = list_dossiers(ws, "vanthu", dossier_filters(state="8"))
    assert [row.code for row in stopped_only.rows] == [stopped] and stopped_only.total == 1
    assert {row.code for row in list_dossiers(ws, "chuyenvien").rows} == {stopped, withdrawn}
    assert list_dossiers(ws, "phapche").rows == ()  # another unit's, never consulted
    with refused("onestop.filter_invalid", field="state"):
        dossier_filters(state="42")
    with refused("onestop.close_state", Conflict):
        close_dossier(ws, stopped, "vanthu", DossierState.WITHDRAWN, "Rút")
    with refused("document.not_waiting", Conflict):  # the specialist's task went with it
        act_on(ws, stopped, "chuyenvien", "submit")


def test_dossier_codes_are_agency_day_serial_and_unique(
    make_agency: object, clock: ManualClock
) -> None:
    ws = make_agency()  # type: ignore[operator]
    clock.set(THURSDAY.astimezone(UTC))
    codes = [file_dossier(ws, "vanthu", _request(*ALL_PAPERS)) for _ in range(3)]
    clock.advance(days=1)
    codes.append(file_dossier(ws, "vanthu", _request(*ALL_PAPERS)))
    assert codes == ["SNV-260423-0001", "SNV-260423-0002", "SNV-260423-0003", "SNV-260424-0001"]
    with refused("onestop.clerk_only"):
        file_dossier(ws, "chuyenvien", _request(*ALL_PAPERS))
    with refused("onestop.procedure_unknown"):
        file_dossier(ws, "vanthu", DossierRequest("KHONG-CO", APPLICANT, ()))
    with refused("onestop.component_unknown"):
        file_dossier(ws, "vanthu", _request("Giấy khai sinh"))

    with Session(ws.db) as session:  # the handling unit loses its head
        session.exec(update(User).where(col(User.username) == "truongphong").values(active=False))
        session.commit()
    unit = "Phòng Tổ chức, biên chế"
    with refused("onestop.head_missing", ConfigError, unit=unit):
        receive(ws, "vanthu", _request(*ALL_PAPERS))
    assert _codes(ws) == codes  # checked before anything is stored
    refused_code, _ = receive(ws, "vanthu", _request(*ALL_PAPERS), refuse="Không thuộc thẩm quyền")
    assert _state(ws, refused_code) == DossierState.REFUSED  # a refusal needs no head


def test_the_appointment_skips_weekends_and_holidays(
    make_agency: object, clock: ManualClock
) -> None:
    ws = make_agency()  # type: ignore[operator]
    clock.set(THURSDAY.astimezone(UTC))
    code, _ = receive(ws, "vanthu", _request(*ALL_PAPERS))
    view = dossier_view(ws, code)
    assert _local(view.due_at) == datetime(2026, 5, 19, 10, 0, tzinfo=VIETNAM_TIME)
    # Friday evening, a 30-day procedure of another unit: Sat 29/8 to Wed 2/9 are off (National
    # Day), so day 1 is Thu 3/9 and day 30 Wed 14/10
    clock.set(datetime(2026, 8, 28, 18, 0, tzinfo=VIETNAM_TIME).astimezone(UTC))
    other, _ = receive(ws, "vanthu", DossierRequest("SNV-PC-01", APPLICANT, ("1", "2")))
    due = _local(dossier_view(ws, other).due_at).date()
    assert due == date(2026, 10, 14)
    assert dossier_view(ws, other).unit == "Phòng Pháp chế"


def test_late_dossier_gets_an_apology_and_still_counts_late(
    make_agency: object, clock: ManualClock, tmp_path: Path
) -> None:
    ws = make_agency()  # type: ignore[operator]
    clock.set(SIGNING_THURSDAY.astimezone(UTC))
    code, _ = receive(ws, "vanthu", _request(*ALL_PAPERS))
    act_on(ws, code, "truongphong", "forward", choose="chuyenvien")
    clock.set(datetime(2027, 1, 27, 9, 0, tzinfo=VIETNAM_TIME).astimezone(UTC))  # a day before
    pin = pin_of(ws, "truongphong")
    with refused("onestop.apology_not_head"):
        apologise(ws, code, "chuyenvien", date(2027, 2, 4), "Chờ ý kiến Bộ Nội vụ", pin=pin)
    with refused("onestop.apology_not_head"):
        apologise(ws, code, "phapche", date(2027, 2, 4), "Chờ ý kiến Bộ Nội vụ", pin=pin)
    new_due = apologise(ws, code, "truongphong", date(2027, 2, 4), "Chờ ý kiến Bộ Nội vụ", pin=pin)
    assert _local(new_due).date() == date(2027, 2, 4)
    view = dossier_view(ws, code)
    assert _local(view.original_due_at) == datetime(2027, 1, 28, 10, 0, tzinfo=VIETNAM_TIME)
    assert _local(view.due_at).date() == date(2027, 2, 4)
    apology = view.handovers[-1]
    assert apology.kind == "apology" and apology.to_name == f"Công dân ({APPLICANT})"
    letter = " ".join(_pdf_text(form_pdf(ws, code, "05"), tmp_path).split())
    assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in letter
    assert "ngày 28/01/2027" in letter and "ngày 04/02/2027" in letter
    assert "Chờ ý kiến Bộ Nội vụ" in letter and "Lê Thị Cúc" in letter

    clock.set(datetime(2027, 2, 1, 15, 0, tzinfo=VIETNAM_TIME).astimezone(UTC))
    _signed_result(ws, code)  # before the new date, after the original
    tracked = dossier_tracked(ws, date(2027, 1, 1), date(2027, 1, 31), None)
    assert len(tracked) == 1
    item = tracked[0]
    assert (item.kind, item.unit, item.person) == (
        "dossier",
        "Phòng Tổ chức, biên chế",
        "Trần Thị Bình",
    )
    assert item.due_at == view.original_due_at
    assert classify(item, datetime.now(UTC)) == "late"
    assert dossier_tracked(ws, date(2027, 1, 1), date(2027, 1, 31), "Phòng Pháp chế") == []
    assert dossier_tracked(ws, date(2027, 2, 1), date(2027, 2, 28), None) == []
    report = on_time_report(ws, "giamdoc", date(2027, 1, 1), date(2027, 1, 31))
    assert [(r.kind, r.received, r.late, r.rate) for r in report.rows if r.person is None] == [
        ("dossier", 1, 1, 0.0)
    ]  # the report counts dossiers beside incoming documents
    with refused("onestop.apology_state"):
        apologise(ws, code, "truongphong", date(2027, 2, 10), "Đã xử lý xong", pin=pin)


def test_no_apology_once_the_appointment_has_passed(
    make_agency: object, clock: ManualClock
) -> None:
    ws = make_agency()  # type: ignore[operator]
    clock.set(THURSDAY.astimezone(UTC))
    code, _ = receive(ws, "vanthu", _request(*ALL_PAPERS))
    clock.set(datetime(2026, 5, 19, 11, 0, tzinfo=VIETNAM_TIME).astimezone(UTC))
    with refused("onestop.apology_late", Conflict):
        apologise(ws, code, "truongphong", date(2026, 5, 26), "Quá hạn")
    act_on(ws, code, "truongphong", "forward", choose="chuyenvien")
    (item,) = dossier_tracked(ws, date(2026, 4, 23), date(2026, 4, 23), None)
    assert classify(item, datetime.now(UTC)) == "overdue"  # still open, past its appointment


def test_every_form_renders_and_the_receipt_carries_code_appointment_and_qr(
    make_agency: object, clock: ManualClock, tmp_path: Path
) -> None:
    ws = make_agency(lookup_url="https://dichvucong.snv.example.vn/tra-cuu")  # type: ignore[operator]
    clock.set(THURSDAY.astimezone(UTC))
    code, _ = receive(ws, "vanthu", _request(*ALL_PAPERS))
    receipt = form_pdf(ws, code, "01")
    text = " ".join(_pdf_text(receipt, tmp_path).split())
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in text
    assert f"Mã hồ sơ: {code}" in text
    assert "10 giờ 00 phút, ngày 19/05/2026" in text  # the appointment
    assert "15 ngày làm việc" in text and APPLICANT in text
    pages = _pages(receipt, "mau-01-giay-tiep-nhan")
    assert len(pages) == 1, "the receipt fits on one page"
    url = lookup_url(ws, code)
    assert url == f"https://dichvucong.snv.example.vn/tra-cuu?ma={code}"
    with zipfile.ZipFile(io.BytesIO(form_docx(ws, code, "01"))) as docx:
        images = [docx.read(n) for n in docx.namelist() if n.startswith("word/media/")]
    assert images == [qr_png(url)]  # the QR code segno builds for the look-up URL, and only it
    assert segno.make_qr(url, error="m").version <= 5  # small enough to scan at 28 mm
    if shutil.which("zbarimg"):  # and a reader finds that URL on the printed page
        decoded = subprocess.run(
            ["zbarimg", "--quiet", "--raw", str(pages[0])], capture_output=True, text=True
        )
        assert decoded.stdout.strip() == url

    clock.set(SIGNING_THURSDAY.astimezone(UTC))  # the head signs the apology within validity
    code, _ = receive(ws, "vanthu", _request(*ALL_PAPERS))
    act_on(ws, code, "truongphong", "forward", choose="chuyenvien")
    pin = pin_of(ws, "truongphong")
    apologise(ws, code, "truongphong", date(2027, 2, 4), "Chờ ý kiến thẩm định", pin=pin)
    refused_code, _ = receive(ws, "vanthu", _request(*ALL_PAPERS), refuse="Không thuộc thẩm quyền")
    waiting, _ = receive(ws, "vanthu", _request("1"))
    for number, name, dossier in (
        ("02", "mau-02-yeu-cau-bo-sung", waiting),
        ("03", "mau-03-tu-choi", refused_code),
        ("05", "mau-05-xin-loi", code),
        ("06", "mau-06-phieu-kiem-soat", code),
    ):
        assert _pages(form_pdf(ws, dossier, number), name)
    sheet = " ".join(_pdf_text(form_pdf(ws, code, "06"), tmp_path, layout=False).split())
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in sheet
    assert "Hoàng Thị Hoa" in sheet and "Trần Thị Bình" in sheet


def test_an_agency_replaces_a_form_template(
    make_agency: object, clock: ManualClock, tmp_path: Path
) -> None:
    forms = tmp_path / "mau"
    ws = make_agency(onestop_forms_dir=forms)  # type: ignore[operator]
    code, _ = receive(ws, "vanthu", _request(*ALL_PAPERS))
    forms.mkdir()
    own = Document()
    own.add_paragraph("GIẤY BIÊN NHẬN CỦA SỞ: {{ma_ho_so}} hẹn {{ngay_hen}}")
    own.save(str(forms / "mau-01-giay-tiep-nhan-ho-so-va-hen-tra-ket-qua.docx"))
    filled = Document(io.BytesIO(form_docx(ws, code, "01")))
    assert filled.paragraphs[0].text.startswith(f"GIẤY BIÊN NHẬN CỦA SỞ: {code} hẹn ")
    own.add_paragraph("{{so_tien}}")
    own.save(str(forms / "mau-01-giay-tiep-nhan-ho-so-va-hen-tra-ket-qua.docx"))
    with refused("onestop.template_field_unknown", ConfigError, field="so_tien"):
        form_docx(ws, code, "01")


def test_a_wrong_procedures_file_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "thu-tuc.yaml"
    path.write_text(
        "procedures:\n  - {code: A1, name: Thủ tục A, days: 0, unit: VP, components: []}\n",
        encoding="utf-8",
    )
    with refused("onestop.procedures_invalid", ConfigError, file=str(path)):
        load_procedures(path)
    shipped = load_procedures(None)
    assert len(shipped) == 3
    assert shipped[PROCEDURE].name == "Thủ tục thẩm định thành lập tổ chức hành chính"


@pytest.fixture(scope="module")
def desk_office(
    tmp_path_factory: pytest.TempPathFactory, demo_keys: Path
) -> Iterator[tuple[Workspace, str]]:
    ws = open_office(tmp_path_factory.mktemp("mot-cua"), demo_keys)
    with serving(ws) as url:
        yield ws, url
    ws.db.dispose()


def test_the_public_look_up_shows_the_state_and_no_personal_data(
    desk_office: tuple[Workspace, str],
) -> None:
    ws, url = desk_office
    code, _ = receive(ws, "vanthu", _request(*ALL_PAPERS))
    lookup._recent.clear()
    page = httpx.get(f"{url}/tra-cuu", params={"ma": code})
    assert page.status_code == 200
    assert "Đã tiếp nhận" in page.text and "Thủ tục thẩm định thành lập" in page.text
    for personal in (APPLICANT, "Tràng Tiền", "0243826"):
        assert personal not in page.text
    assert "Đăng xuất" not in page.text  # nobody is signed in
    act_on(ws, code, "truongphong", "forward", choose="chuyenvien")
    assert "Đang xử lý" in httpx.get(f"{url}/tra-cuu", params={"ma": code}).text
    missing = httpx.get(f"{url}/tra-cuu", params={"ma": "SNV-000000-9999"})
    assert missing.status_code == 404 and "Không có hồ sơ mã" in missing.text
    answers = [
        httpx.get(f"{url}/tra-cuu", params={"ma": code}).status_code
        for _ in range(lookup.LOOKUPS_PER_MINUTE)
    ]
    assert answers[-1] == 429 and 200 in answers
    lookup._recent.clear()


def test_the_desk_works_from_the_command_line(
    desk_office: tuple[Workspace, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    vanthu_cli: Callable[..., Ran],
) -> None:
    ws, _ = desk_office
    home = ws.settings.home

    def vanthu(*args: str) -> Ran:
        return vanthu_cli(home, "onestop", *args)

    listed = vanthu("procedures")
    assert listed.returncode == 0 and PROCEDURE in listed.stdout
    asked = vanthu(
        "receive", "--procedure", PROCEDURE, "--applicant", "Bà Lê Thị Mai",
        "--component", "1", "--as", "vanthu",
    )  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    assert "5 — Chờ bổ sung" in asked.stdout and "--form 02" in asked.stdout
    code = re.search(r"Hồ sơ (\S+)", asked.stdout).group(1)  # type: ignore[union-attr]
    args = [a for p in ALL_PAPERS for a in ("--component", p)]
    completed = vanthu("complete", code, *args, "--as", "vanthu")
    assert completed.returncode == 0 and "2 — Đã tiếp nhận" in completed.stdout
    forwarded = vanthu("act", code, "forward", "--to", "chuyenvien", "--as", "truongphong")
    assert forwarded.returncode == 0 and "4 — Đang xử lý" in forwarded.stdout
    mine = vanthu("list", "--state", "4", "--json", "--as", "chuyenvien")
    assert mine.returncode == 0, mine.stderr
    assert code in [row["code"] for row in json.loads(mine.stdout)]
    assert {row["state"] for row in json.loads(mine.stdout)} == {4}
    document_id = str(dossier_view(ws, code).document_id)
    bypass = vanthu_cli(home, "act", document_id, "submit", "--as", "chuyenvien")
    assert bypass.returncode != 0 and "vanthu onestop act" in bypass.stderr
    fee = vanthu("fees", code, "--amount", "150000", "--note", "Lệ phí", "--as", "chuyenvien")
    assert fee.returncode == 0 and "6 — Chờ thực hiện nghĩa vụ tài chính" in fee.stdout
    assert "150.000 đồng" in fee.stdout
    paid = vanthu("paid", code, "--amount", "150000", "--receipt", "BL-01", "--as", "vanthu")
    assert paid.returncode == 0 and "4 — Đang xử lý" in paid.stdout, paid.stderr
    result_file = tmp_path / "van-ban-tham-dinh.docx"
    result_file.write_bytes(appraisal_docx())
    attached = vanthu("result", code, "--file", str(result_file), "--as", "chuyenvien")
    assert attached.returncode == 0 and "bản 1" in attached.stdout, attached.stderr
    act_on(ws, code, "chuyenvien", "submit")  # the same engine calls as `vanthu onestop act`
    monkeypatch.setenv("VANTHU_PIN", pin_of(ws, "truongphong"))  # as a script gives it
    monkeypatch.setenv("VANTHU_PKI_DIR", str(ws.settings.effective_pki_dir))
    signed = vanthu("act", code, "approve", "--as", "truongphong")
    assert signed.returncode == 0 and "9 — Đã xử lý xong" in signed.stdout, signed.stderr
    out = tmp_path / "ket-qua.pdf"
    fetched = vanthu("result-pdf", code, "--out", str(out))
    assert fetched.returncode == 0 and out.read_bytes().startswith(b"%PDF-")
    given = vanthu("return", code, "--received-by", "Bà Lê Thị Mai", "--as", "vanthu")
    assert given.returncode == 0 and "10 — Đã trả kết quả" in given.stdout
    shown = vanthu("show", code, "--json")
    data = json.loads(shown.stdout)
    assert (data["state"], data["portal_code"]) == (10, 10)
    assert (data["result"]["kind"], data["result"]["signer"]) == ("document", "Lê Thị Cúc")
    assert [line["kind"] for line in data["handovers"]] == [
        "receive.return",
        "completion.register",
        "assign.forward",
        "fees.ask",
        "fees.paid",
        "process.submit",
        "sign_result.sign",
        "deliver.complete",
    ]
    wrong = vanthu(
        "apologise", code, "--new-date", "31/02/2026", "--reason", "x", "--as", "truongphong"
    )
    assert wrong.returncode == 2 and "Lỗi:" in wrong.stderr
    unknown = vanthu("show", "KHONG-CO")
    assert unknown.returncode == 3
