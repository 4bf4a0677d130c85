"""``/drafts/new``: a specialist (or a head) drafts an outgoing document from the Decree 30
template with a form, or uploads a DOCX of their own; the engine creates it (and refuses what
is wrong, shown next to its field) and the person lands on the document's page."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from engine.core.doctypes import document_types
from engine.core.errors import InvalidInput, NotFound
from engine.core.registers import SECRECY_LEVELS
from engine.http.web.pages import flash, redirect, render
from engine.http.web.session import CurrentUser, workspace
from engine.outgoing import URGENCIES, DraftRequest, create_outgoing, draft_signers
from engine.workflow.files import Upload
from vanthu.errors import VanthuError

router = APIRouter()

CONG_VAN = "Công văn"
ORDINARY = "Thường"
TEMPLATE = "drafts/new.html"

FIELD_OF_FLAG = {
    "--type": "doc_type",
    "--subject": "subject",
    "--body-file": "body",
    "--recipient": "recipients",
    "--kinh-gui": "addressees",
    "--signer": "signer",
    "--docx": "docx",
    "--secrecy": "secrecy",
}
"""The engine names a field by its command-line option; the form's field of each."""
FIELD_OF_CODE = {
    "doctype.unknown": "doc_type",
    "draft.subject_missing": "subject",
    "draft.body_missing": "body",
    "draft.addressees_not_letter": "addressees",
    "draft.urgency_unknown": "urgency",
    "secrecy.unknown": "secrecy",
    "signer.not_leader": "signer",
    "user.not_found": "signer",
}
WORDS_OF_FLAG = {
    "--type": "loại văn bản",
    "--subject": "trích yếu",
    "--body-file": "nội dung",
    "--recipient": "nơi nhận",
    "--kinh-gui": "Kính gửi",
    "--signer": "người ký",
    "--docx": "tệp DOCX",
    "--secrecy": "độ mật",
}
_FLAG_IN_BRACKETS = re.compile(r" \((--[a-z-]+)\)")
_FLAG = re.compile(r"--[a-z-]+")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


@dataclass
class DraftForm:
    """What the person typed, kept to show the form again after a refusal."""

    doc_type: str = CONG_VAN
    subject: str = ""
    body: str = ""
    addressees: str = ""
    recipients: str = ""
    urgency: str = ORDINARY
    signer: str = ""
    secrecy: str = ""
    """'' (not classified) or a secrecy level."""
    errors: dict[str, str] = field(default_factory=dict)
    """Field name -> the engine's message; ``form`` for one that belongs to no field."""

    def request(self) -> DraftRequest:
        return DraftRequest(
            doc_type=self.doc_type,
            subject=self.subject,
            signer=self.signer,
            body=paragraphs(self.body),
            recipients=lines(self.recipients),
            urgency=self.urgency,
            addressees=lines(self.addressees),  # the engine refuses them on another type
            secrecy=self.secrecy or None,
        )


def lines(text: str) -> tuple[str, ...]:
    """One entry per non-blank line."""
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def paragraphs(text: str) -> tuple[str, ...]:
    """Paragraphs separated by blank lines; the line breaks inside one become spaces."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return tuple(" ".join(part.split()) for part in _PARAGRAPH_BREAK.split(text) if part.strip())


def field_of(error: VanthuError) -> str:
    """The form field an engine refusal is about (``form`` when none)."""
    fields = error.fields()
    flag = fields.get("field")
    if isinstance(flag, str) and flag in FIELD_OF_FLAG:
        return FIELD_OF_FLAG[flag]
    if error.code.startswith("draft.") and "file" in fields:
        return "docx"
    if error.code in ("draft.layout_missing", "draft.not_convertible"):
        return "docx"
    return FIELD_OF_CODE.get(error.code, "form")


def form_message(error: VanthuError) -> str:
    """The engine's Vietnamese message with the form's words for command-line options."""
    text = _FLAG_IN_BRACKETS.sub("", error.message)
    text = _FLAG.sub(lambda m: WORDS_OF_FLAG.get(m.group(0), m.group(0)), text)
    return text[:1].upper() + text[1:]


def _page(request: Request, user_name: str, form: DraftForm, status: int = 200) -> HTMLResponse:
    ws = workspace(request)
    signers = draft_signers(ws, user_name)  # NotAllowed for someone who does not draft
    if not form.signer and signers:
        form.signer = signers[0].username
    return render(
        request,
        TEMPLATE,
        status_code=status,
        title="Soạn văn bản",
        form=form,
        doc_types=list(document_types()),
        urgencies=[ORDINARY, *URGENCIES],
        secrecy_levels=SECRECY_LEVELS,
        signers=signers,
        cong_van=CONG_VAN,
        max_mb=ws.settings.max_upload_bytes // (1024 * 1024),
    )


@router.get("/drafts/new")
def new_draft(request: Request, user: CurrentUser) -> HTMLResponse:
    return _page(request, user.username, DraftForm())


@router.post("/drafts/new")
def create_draft(
    request: Request,
    user: CurrentUser,
    doc_type: Annotated[str, Form()] = CONG_VAN,
    subject: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    addressees: Annotated[str, Form()] = "",
    recipients: Annotated[str, Form()] = "",
    urgency: Annotated[str, Form()] = ORDINARY,
    signer: Annotated[str, Form()] = "",
    secrecy: Annotated[str, Form()] = "",
    docx: Annotated[UploadFile | None, File()] = None,
) -> Response:
    ws = workspace(request)
    form = DraftForm(doc_type, subject, body, addressees, recipients, urgency, signer, secrecy)
    upload = None
    if docx is not None and docx.filename:
        # one byte past the limit is enough for the engine to refuse the size by name
        data = docx.file.read(ws.settings.max_upload_bytes + 1)
        upload = Upload(docx.filename, data)
    try:
        document_id = create_outgoing(ws, user.username, form.request(), upload)
    except (InvalidInput, NotFound) as exc:
        if isinstance(exc, NotFound) and exc.code != "user.not_found":
            raise
        form.errors[field_of(exc)] = form_message(exc)
        return _page(request, user.username, form, status=422)
    flash(request, f"Đã tạo dự thảo văn bản #{document_id}: {form.subject.strip()}.", "success")
    return redirect(f"/documents/{document_id}")
