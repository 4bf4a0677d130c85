"""A dossier's result as a real signed document: attached by the specialist, signed by the head
of the handling unit, numbered and sealed when it is an administrative decision.

The result is a file of the dossier's document, in the kinds an outgoing document uses: the
specialist's ``draft`` (DOCX or PDF) and the ``pdf`` made of it at once (so a missing signature
block is reported to the person uploading), the head's ``signed`` PDF, the ``issued`` one.

- A decision (procedure data ``result: decision``) goes the outgoing way with the same code,
  plugged in by name (this layer does not import engine.outgoing): the PDF gets the Decree 30
  fields (``form_layout`` hook), the head's ``sign`` action is the outgoing leader signature
  (certification, server key or token through the signing agent), then the automated steps
  number it in the agency's outgoing register (``assign_number``) and seal it (``apply_seal``).
- Another result (a licence, a written answer) is signed by the head in their signature block
  (:func:`signing.sign_approval`, server key) and issued as signed, without a number.

Either way the automated ``seal_result`` step marks the dossier processed (state 9) and hands it
to the desk on the control sheet, in the transaction that records the issued file.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

from sqlmodel import Session, select

from engine.core import audit
from engine.core.db import transaction
from engine.core.errors import ConfigError, Conflict, ConversionError, InvalidInput, NotAllowed
from engine.core.models import Agency, Document, Dossier, OutboxItem, User
from engine.core.programs import docx_to_pdf
from engine.core.users import user_named
from engine.core.workspace import Finisher, Workspace
from engine.onestop.dossiers import DESK, _dossier, _hand_over, procedure, waiting_for_fees
from engine.onestop.procedures import DECISION
from engine.onestop.states import DossierState
from engine.signatures import keys
from engine.workflow.actions import act, after_action
from engine.workflow.files import (
    DOCX_TYPE,
    PDF_TYPE,
    Upload,
    add_file,
    newest_file,
    record_file,
    require_step_file,
)
from engine.workflow.runtime import Move, claim_task, complete_task, instance_of, may_take
from engine.workflow.runtime import open_tasks as open_tasks_of
from signing import SigningError, add_form_fields, pdf_page_count, sign_approval
from storage import get_content, put_content
from vanthu import clock

PROCESS, SIGN_STEP, SIGN = "process", "sign_result", "sign"
DECISION_ABBR, DECISION_TYPE = "QĐ", "Quyết định"
"""A decision's type abbreviation: it takes the agency's register of decisions ('05/QĐ-SNV')."""
RESULT_REASON = "Ký kết quả giải quyết thủ tục hành chính"
_TYPES = {".docx": DOCX_TYPE, ".pdf": PDF_TYPE}


def attach_result(ws: Workspace, code: str, username: str, upload: Upload) -> int:
    """The specialist holding the dossier attaches the result's draft (DOCX or PDF); it is
    converted and checked at once. Returns its version (a returned result gets a new one)."""
    name = upload.filename.strip() or "ket-qua"
    suffix = PurePath(name).suffix.lower()
    if suffix not in _TYPES:
        raise InvalidInput(
            f"tệp kết quả '{name}' phải là DOCX hoặc PDF",
            f"the result file '{name}' must be a DOCX or a PDF",
            code="onestop.result_type",
            file=name,
        )
    limit = ws.settings.max_upload_bytes
    if not upload.data or len(upload.data) > limit:
        size = len(upload.data)
        raise InvalidInput(
            f"tệp kết quả '{name}' có {size:,} byte: phải từ 1 đến {limit:,} byte",
            f"the result file '{name}' has {size:,} bytes: 1 to {limit:,} are allowed",
            code="onestop.result_size",
            file=name,
            size=size,
            limit=limit,
        )
    with Session(ws.db) as session:  # refuse before the slow conversion
        dossier = _dossier(session, code)
        _result_holder(session, ws, dossier, username)
        kind = procedure(ws, dossier.procedure_code).result
    pdf = _prepared(ws, name, suffix, upload.data, kind)
    draft_sha = put_content(ws.store, upload.data, _TYPES[suffix])
    pdf_sha = put_content(ws.store, pdf, PDF_TYPE)
    with transaction(ws.db) as session:
        dossier = _dossier(session, code)
        user = _result_holder(session, ws, dossier, username)
        last = newest_file(session, dossier.document_id, "draft")
        version = last.version + 1 if last is not None else 1
        add_file(
            session, dossier.document_id, "draft", version, draft_sha, len(upload.data), name, user
        )
        pdf_name = PurePath(name).stem + ".pdf"
        add_file(session, dossier.document_id, "pdf", version, pdf_sha, len(pdf), pdf_name, user)
        dossier.result_kind = kind
        session.add(dossier)
        if kind == DECISION:  # numbered in the agency's register of decisions
            document = session.get(Document, dossier.document_id)
            assert document is not None
            document.type_abbr = DECISION_ABBR
            session.add(document)
        audit.append(
            session,
            actor=username,
            event="dossier_result_attached",
            document_id=dossier.document_id,
            detail={"code": dossier.code, "version": version, "kind": kind, "sha256": draft_sha},
        )
    return version


def _result_holder(session: Session, ws: Workspace, dossier: Dossier, username: str) -> User:
    """``username``, if they hold the dossier's open 'process' task (the specialist)."""
    user = user_named(session, username)
    if dossier.state == DossierState.WAITING_FEES:
        raise waiting_for_fees(dossier)
    instance = instance_of(session, dossier.document_id)
    assert instance.id is not None
    if any(
        task.step_id == PROCESS and may_take(task, user)
        for task in open_tasks_of(session, instance.id)
    ):
        return user
    raise NotAllowed(
        f"{username} không giữ bước xử lý hồ sơ {dossier.code}: không đính kèm kết quả được",
        f"{username} does not hold the processing step of the dossier {dossier.code}: no result "
        "can be attached",
        code="onestop.result_not_holder",
        dossier=dossier.code,
        user=username,
    )


def _prepared(ws: Workspace, name: str, suffix: str, data: bytes, kind: str) -> bytes:
    """The PDF the head will sign: a decision with its Decree 30 fields (number, date, signer,
    seal), another result as it prints, once its signature block is found."""
    try:
        if suffix == ".docx":
            _require_docx(name, data)
            pdf = docx_to_pdf(data, soffice=ws.settings.soffice)
        else:
            pdf_page_count(data)  # a readable PDF
            pdf = data
        if kind == DECISION:
            return add_form_fields(pdf, hook(ws, "form_layout")(pdf))
        hook(ws, "signer_box")(pdf)
        return pdf
    except ConversionError as exc:
        if exc.retryable:  # LibreOffice timed out: the same file may convert later
            raise
        laid_out = exc.code.startswith("layout.")
        raise InvalidInput(
            f"tệp kết quả '{name}': {exc.message}",
            f"the result file '{name}': {exc.message_en}",
            code="onestop.result_layout" if laid_out else "onestop.result_not_convertible",
            file=name,
            cause=exc.code,
        ) from exc
    except SigningError as exc:
        raise InvalidInput(
            f"tệp kết quả '{name}' không dùng được: {exc.message}",
            f"the result file '{name}' cannot be used: {exc.message_en}",
            code="onestop.result_unreadable",
            file=name,
            cause=exc.code,
        ) from exc


def _require_docx(name: str, data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if "word/document.xml" in archive.namelist():
                return
    except zipfile.BadZipFile:
        pass
    raise InvalidInput(
        f"tệp '{name}' không phải tài liệu Word (DOCX)",
        f"the file '{name}' is not a Word document (DOCX)",
        code="onestop.result_unreadable",
        file=name,
    )


def hook(ws: Workspace, name: str) -> Callable[..., Any]:
    """What a higher layer plugged in under ``name`` (the outgoing flow's layout finders)."""
    found = ws.plugins.hook(name)
    if found is None:
        raise ConfigError(
            f"chưa cài phần '{name}' (mở cơ quan bằng engine.automation.open_workspace)",
            f"nothing is plugged in as '{name}' (open the agency with "
            "engine.automation.open_workspace)",
            code="onestop.hook_missing",
            hook=name,
        )
    return found


def sign_result(
    ws: Workspace, code: str, username: str, *, comment: str | None, pin: str | None
) -> Move:
    """The head of the handling unit signs the result (the ``sign`` action at 'sign_result')."""
    with Session(ws.db) as session:
        dossier = _dossier(session, code)
        if dossier.state == DossierState.WAITING_FEES:
            raise waiting_for_fees(dossier)
        document_id, kind = dossier.document_id, dossier.result_kind
    if kind == DECISION:  # the outgoing leader signature, server key or signing agent
        return act(ws, document_id, username, SIGN, comment=comment, pin=pin)
    with Session(ws.db) as session:
        user = user_named(session, username)
        claim = claim_task(session, ws, document_id, user, SIGN)  # the chosen head, no one else
        if ws.settings.leader_signing == "agent":
            raise ConfigError(
                "kết quả không phải quyết định được ký bằng khóa trên máy chủ; cơ quan đang "
                'đặt leader_signing = "agent"',
                "a result that is not a decision is signed with the server-held key; the "
                'agency has leader_signing = "agent"',
                code="onestop.agent_signing_unsupported",
                dossier=code,
            )
        found = newest_file(session, document_id, "pdf")
        if found is None:
            raise Conflict(
                f"hồ sơ {code} chưa có kết quả để ký",
                f"the dossier {code} has no result to sign",
                code="onestop.result_missing",
                dossier=code,
            )
        pdf = get_content(ws.store, found.sha256)
        document = session.get(Document, document_id)
        assert document is not None
        agency = session.get(Agency, document.agency_id)
        assert agency is not None
        place = agency.place
    box = hook(ws, "signer_box")(pdf)
    key = keys.personal_key(ws, username, pin, document_id=document_id)
    with keys.signing_policy(ws, keys.PERSONAL_LEVEL):
        signed = sign_approval(
            pdf, key, keys.signature_image(ws, username), box, reason=RESULT_REASON, location=place
        )
    sha = put_content(ws.store, signed, PDF_TYPE)
    with transaction(ws.db) as session:
        user = user_named(session, username)
        again = claim_task(session, ws, document_id, user, SIGN)
        if again.task.id != claim.task.id:
            raise Conflict(
                "hồ sơ đã được xử lý trong lúc ký: hãy xem lại",
                "the dossier moved on while it was being signed: look again",
                code="onestop.moved_while_signing",
                dossier=code,
            )
        name = f"ket-qua-{code}-da-ky.pdf"
        add_file(session, document_id, "signed", found.version, sha, len(signed), name, user)
        audit.append(
            session,
            actor=username,
            event="signed",
            document_id=document_id,
            detail={"sha256": sha, "certificate_serial": key.serial},
        )
        move = complete_task(session, ws, again, user, comment=comment, chosen=None)
    return after_action(ws, move)


# --- the automated steps (registered in engine.automation.registry) --------------------------


def number_result(ws: Workspace, item: OutboxItem) -> Finisher:
    """A decision: its number from the outgoing register (the outgoing flow's own step)."""
    if _kind(ws, item.document_id) == DECISION:
        finisher: Finisher = ws.plugins.step("assign_number")(ws, item)
        return finisher
    return lambda session: {"numbered": False}


def seal_result(ws: Workspace, item: OutboxItem) -> Finisher:
    """A decision: number and date filled in and the agency's seal (the outgoing flow's own
    step); another result: issued as the head signed it. Either way the dossier is processed."""
    decision = _kind(ws, item.document_id) == DECISION
    if decision:
        issued: Finisher = ws.plugins.step("apply_seal")(ws, item)
    else:
        signed = require_step_file(ws, item.document_id, "signed", item.step_id)
        issued = record_file(
            item.document_id, "issued", signed.version, signed.sha256, signed.size, signed.filename
        )

    def finish(session: Session) -> dict[str, Any]:
        detail = issued(session)
        if decision:
            _as_issued_decision(session, item.document_id)
        _processed(session, item.document_id)
        return detail

    return finish


def _kind(ws: Workspace, document_id: int) -> str | None:
    with Session(ws.db) as session:
        dossier = session.exec(select(Dossier).where(Dossier.document_id == document_id)).one()
        return dossier.result_kind


def _as_issued_decision(session: Session, document_id: int) -> None:
    """The dossier's document as the outgoing register lists a decision it issued: its type,
    its subject (naming the procedure and the applicant), its signer and its addressee."""
    dossier = session.exec(select(Dossier).where(Dossier.document_id == document_id)).one()
    document = session.get(Document, document_id)
    signed = newest_file(session, document_id, "signed")
    assert document is not None and signed is not None
    name = dossier.procedure_name
    document.doc_type = DECISION_TYPE
    document.subject = f"Về việc giải quyết {name[:1].lower()}{name[1:]} cho {dossier.applicant}"
    document.signer_id = signed.created_by
    document.recipients = dossier.applicant
    session.add(document)


def _processed(session: Session, document_id: int) -> None:
    """State 9, and the signed result handed to the desk on the control sheet (once)."""
    dossier = session.exec(select(Dossier).where(Dossier.document_id == document_id)).one()
    if dossier.state == DossierState.PROCESSED:
        return
    signed = newest_file(session, document_id, "signed")
    assert signed is not None and signed.created_by is not None
    signer = session.get(User, signed.created_by)
    assert signer is not None
    now = clock.now()
    dossier.state, dossier.processed_at = int(DossierState.PROCESSED), now
    session.add(dossier)
    _hand_over(session, dossier, signer, SIGN_STEP, SIGN, None, now, to_name=DESK)


def issued_result(ws: Workspace, code: str) -> tuple[str, bytes]:
    """The issued result's file name and bytes (signed; numbered and sealed for a decision)."""
    with Session(ws.db) as session:
        dossier = _dossier(session, code)
        found = newest_file(session, dossier.document_id, "issued")
        if found is None:
            raise Conflict(
                f"hồ sơ {code} chưa có kết quả đã ký, ban hành",
                f"the dossier {code} has no signed, issued result yet",
                code="onestop.result_not_issued",
                dossier=code,
            )
    return found.filename, get_content(ws.store, found.sha256)
