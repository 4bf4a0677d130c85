"""The apology and new appointment letter (Phiếu xin lỗi và hẹn lại ngày trả kết quả, Mẫu 05).

Before the appointment passes, the head of the handling unit issues it: drafted from the
agency's template, converted, signed with the head's own key in their signature block (PAdES,
:func:`signing.sign_approval`), then recorded in one transaction with the new date, the line on
the control sheet (to the citizen) and the audit event. The original appointment stays, so the
dossier still counts late in the on-time report.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlmodel import Session

from engine.core import audit
from engine.core.calendar import VIETNAM_TIME
from engine.core.db import transaction
from engine.core.errors import ConfigError, Conflict, ConversionError, InvalidInput, NotAllowed
from engine.core.models import Agency, Dossier, DossierHandover, User
from engine.core.programs import libreoffice_pdf
from engine.core.users import user_named
from engine.core.workspace import Workspace
from engine.onestop.dossiers import _dossier, _line, _person
from engine.onestop.forms import FORMS, ApologyLetter, form_docx
from engine.onestop.results import hook
from engine.onestop.states import DossierState
from engine.signatures import keys
from engine.workflow.files import PDF_TYPE, add_file, files_of_kind, newest_file
from signing import sign_approval
from storage import get_content, put_content
from vanthu import clock

APOLOGY = "apology"
"""The kind of the signed letters among the dossier document's files."""
REASON = "Xin lỗi và hẹn lại ngày trả kết quả"
_OPEN = (DossierState.RECEIVED, DossierState.PROCESSING, DossierState.WAITING_FEES)


def apologise(
    ws: Workspace,
    code: str,
    username: str,
    new_date: date,
    reason: str,
    *,
    pin: str | None = None,
) -> datetime:
    """The head of the handling unit signs and issues the apology letter with ``new_date`` as
    the new appointment (``pin`` opens their key). Refused after the appointment has passed, or
    for a dossier no longer in the unit's hands; nothing is recorded unless it is signed."""
    why = _line(reason, "lý do (--reason)", 1000)
    with Session(ws.db) as session:
        dossier = _dossier(session, code)
        head = _checked(session, dossier, username, new_date)
        letter = ApologyLetter(_due(new_date), why, head.full_name)
        document_id, was_due = dossier.document_id, dossier.due_at
        agency = session.get(Agency, dossier.agency_id)
        assert agency is not None
        place = agency.place
    pdf = libreoffice_pdf(
        form_docx(ws, code, "05", letter=letter),
        FORMS["05"].filename,
        "phiếu xin lỗi (mẫu số 05)",
        what_en="the apology letter (form 05)",
        soffice=ws.settings.soffice,
    )
    try:
        box = hook(ws, "signer_box")(pdf)
    except ConversionError as exc:
        raise ConfigError(
            f"mẫu số 05 của cơ quan không có khối chữ ký (chức vụ viết hoa, khoảng trống, họ "
            f"tên): {exc.message}",
            f"the agency's form 05 has no signature block (title in capitals, a gap, the "
            f"name): {exc.message_en}",
            code="onestop.template_no_signer",
            form="05",
            cause=exc.code,
        ) from exc
    key = keys.personal_key(ws, username, pin, document_id=document_id)
    with keys.signing_policy(ws, keys.PERSONAL_LEVEL):
        signed = sign_approval(
            pdf, key, keys.signature_image(ws, username), box, reason=REASON, location=place
        )
    sha = put_content(ws.store, signed, PDF_TYPE)
    with transaction(ws.db) as session:
        dossier = _dossier(session, code)
        head = _checked(session, dossier, username, new_date)
        if dossier.due_at != was_due:
            raise Conflict(
                "ngày hẹn của hồ sơ vừa thay đổi trong lúc ký phiếu: hãy xem lại",
                "the dossier's appointment changed while the letter was signed: look again",
                code="onestop.apology_moved",
                dossier=code,
            )
        now = clock.now()
        dossier.due_at = letter.new_due
        session.add(dossier)
        assert dossier.id is not None
        version = len(files_of_kind(session, document_id, APOLOGY)) + 1
        name = f"phieu-xin-loi-{code}-{version}.pdf"
        add_file(session, document_id, APOLOGY, version, sha, len(signed), name, head)
        session.add(
            DossierHandover(
                dossier_id=dossier.id,
                kind="apology",
                from_name=_person(session, head),
                to_name=f"Công dân ({dossier.applicant})",
                handed_at=now,
                due_at=dossier.due_at,
                done_at=now,
                note=f"Xin lỗi, hẹn lại ngày {new_date:%d/%m/%Y}. Lý do: {why}",
            )
        )
        audit.append(
            session,
            actor=username,
            event="dossier_apology",
            document_id=document_id,
            detail={
                "code": code,
                "new_date": new_date.isoformat(),
                "reason": why,
                "issued_to": dossier.applicant,
                "sha256": sha,
                "certificate_serial": key.serial,
            },
        )
        return letter.new_due


def _due(new_date: date) -> datetime:
    return datetime.combine(new_date, time(17, 0), tzinfo=VIETNAM_TIME)


def _checked(session: Session, dossier: Dossier, username: str, new_date: date) -> User:
    """The head, if they may issue the apology for this dossier now with this date."""
    head = user_named(session, username)
    if head.role not in ("head", "leader") or (
        head.role == "head" and head.unit_id != dossier.unit_id
    ):
        raise NotAllowed(
            f"{username} không phải lãnh đạo đơn vị giải quyết hồ sơ {dossier.code}",
            f"{username} is not a head of the unit handling the dossier {dossier.code}",
            code="onestop.apology_not_head",
            dossier=dossier.code,
        )
    if dossier.state not in _OPEN:
        raise Conflict(
            "hồ sơ không còn ở đơn vị giải quyết: không lập phiếu xin lỗi",
            "the dossier is no longer with the handling unit: no apology",
            code="onestop.apology_state",
            dossier=dossier.code,
            state=dossier.state,
        )
    assert dossier.due_at is not None
    if clock.now() > dossier.due_at:
        raise Conflict(
            "đã quá ngày hẹn trả: phiếu xin lỗi phải lập trước ngày hẹn",
            "the appointment has passed: the apology must come before it",
            code="onestop.apology_late",
            dossier=dossier.code,
        )
    old_due = dossier.due_at.astimezone(VIETNAM_TIME)
    if new_date <= old_due.date():
        raise InvalidInput(
            f"ngày hẹn mới phải sau ngày hẹn hiện tại {old_due:%d/%m/%Y}",
            f"the new date must come after the current appointment {old_due:%d/%m/%Y}",
            code="onestop.apology_date",
            dossier=dossier.code,
        )
    return head


def apology_letter(ws: Workspace, code: str) -> tuple[str, bytes]:
    """The latest signed apology letter of the dossier: file name and bytes."""
    with Session(ws.db) as session:
        dossier = _dossier(session, code)
        found = newest_file(session, dossier.document_id, APOLOGY)
        if found is None:
            raise Conflict(
                f"hồ sơ {code} chưa có phiếu xin lỗi",
                f"the dossier {code} has no apology letter",
                code="onestop.apology_missing",
                dossier=code,
            )
    return found.filename, get_content(ws.store, found.sha256)
