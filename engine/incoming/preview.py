"""Looking before registering: the clerk sees a received PDF's verification verdict and any
duplicate (same number, symbol and sender) before anything is registered, then confirms.

Between the two steps the uploaded bytes wait in a staging folder of the agency's home
(``staging/incoming``), named by a random token that only the clerk who uploaded them can use;
they are removed when the clerk confirms or cancels, and after :data:`STAGED_FOR` otherwise.
Nothing enters the store, the database or a workflow until the clerk confirms.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from engine.core import audit
from engine.core.db import transaction
from engine.core.errors import NotFound
from engine.core.models import Document, Task, Unit, WorkflowInstance
from engine.core.workspace import Workspace
from engine.incoming.receiving import (
    Duplicate,
    IncomingRequest,
    check_readable_and_inert,
    check_upload,
    checked_request,
    clerk_named,
    duplicates_of,
    find_duplicates,
    receive_incoming,
)
from engine.signatures import keys
from engine.workflow.actions import act
from engine.workflow.files import Upload
from signing import verify_document
from vanthu import clock

STAGED_FOR = timedelta(hours=1)
"""How long an uploaded PDF waits for the clerk's confirmation."""
REGISTER_STEP = "register"
"""The incoming workflow's step (and action) where the clerk registers: the action gives the
incoming number and hands the document to the leaders for assignment."""
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
PREVIEWED = "incoming_previewed"
"""Audit event: a received PDF verified and checked for duplicates, nothing registered."""


@dataclass(frozen=True)
class IncomingPreview:
    """What the clerk sees before confirming: the verdict on every signature, duplicates."""

    token: str
    """Names the staged upload for :func:`receive_staged` (and :func:`discard_staged`)."""
    filename: str
    size: int
    sha256: str
    request: IncomingRequest
    """The clerk's fields, checked."""
    report: dict[str, Any]
    """The verification report (``signing.DocumentReport.to_json``)."""
    duplicates: tuple[Duplicate, ...]

    @property
    def verdict(self) -> str:
        """'valid', 'invalid', 'indeterminate' or 'unsigned'."""
        return str(self.report.get("verdict", "indeterminate"))


@dataclass(frozen=True)
class IncomingReceipt:
    """A received document after the clerk's confirmation."""

    document_id: int
    number: int | None
    """The incoming number (số đến); None when registering waits (worker runner)."""
    year: int | None
    verdict: str | None
    """The verification verdict, None while the step has not run yet."""
    duplicates: tuple[Duplicate, ...]
    registered: bool
    """The clerk's register action was taken: numbered and handed to the leaders."""


def preview_incoming(
    ws: Workspace, username: str, upload: Upload, request: IncomingRequest
) -> IncomingPreview:
    """Verify ``upload``'s signatures and look for duplicates WITHOUT registering anything;
    the bytes are staged for :func:`receive_staged`. Clerks only; audited."""
    check_upload(ws, upload)
    request = checked_request(request)
    with Session(ws.db) as session:
        clerk = clerk_named(session, username)
        unit = session.get(Unit, clerk.unit_id)
        assert unit is not None
        agency_id = unit.agency_id
    check_readable_and_inert(upload)
    report = verify_document(upload.data, keys.trust_roots(ws)).to_json()
    report = json.loads(json.dumps(report, ensure_ascii=False, default=str))
    sha = hashlib.sha256(upload.data).hexdigest()
    _discard_expired(ws)
    token = _stage(ws, username, upload, sha)
    with transaction(ws.db) as session:
        duplicates = find_duplicates(session, agency_id, request.sender, request.symbol)
        audit.append(
            session,
            actor=username,
            event=PREVIEWED,
            detail={
                "sha256": sha,
                "verdict": report.get("verdict"),
                "sender": request.sender,
                "symbol": request.symbol,
                "duplicates": [d.document_id for d in duplicates],
            },
        )
    return IncomingPreview(
        token=token,
        filename=upload.filename,
        size=len(upload.data),
        sha256=sha,
        request=request,
        report=report,
        duplicates=duplicates,
    )


def receive_staged(
    ws: Workspace, username: str, token: str, request: IncomingRequest
) -> IncomingReceipt:
    """Receive the PDF staged by :func:`preview_incoming` (the same clerk) and, once its
    signatures are verified, take the clerk's register action: the incoming number is given
    and the document goes to the leaders for assignment. The staged file is removed."""
    upload = staged_upload(ws, username, token)
    document_id = receive_incoming(ws, username, upload, request)
    discard_staged(ws, username, token)
    registered = _register_open(ws, document_id)
    if registered:
        act(ws, document_id, username, REGISTER_STEP)
    duplicates = duplicates_of(ws, document_id)
    with Session(ws.db) as session:
        document = session.get(Document, document_id)
        assert document is not None
        verdict = json.loads(document.verification)["verdict"] if document.verification else None
        return IncomingReceipt(
            document_id=document_id,
            number=document.number,
            year=document.year,
            verdict=verdict,
            duplicates=duplicates,
            registered=registered,
        )


def staged_upload(ws: Workspace, username: str, token: str) -> Upload:
    """The upload staged under ``token`` by ``username``; another person's token, an expired
    or unknown one are all 'not found' (nothing is said about someone else's upload)."""
    pdf, meta = _paths(ws, token)
    try:
        facts = json.loads(meta.read_text(encoding="utf-8"))
        data = pdf.read_bytes()
    except (OSError, ValueError):
        facts, data = None, b""
    if (
        not isinstance(facts, dict)
        or facts.get("username") != username
        or hashlib.sha256(data).hexdigest() != facts.get("sha256")
        or clock.now() - datetime.fromisoformat(str(facts.get("staged_at"))) > STAGED_FOR
    ):
        raise NotFound(
            "tệp đã tải lên không còn (quá một giờ hoặc đã vào sổ): hãy tải lên lại",
            "the uploaded file is gone (over an hour old or already registered): upload it again",
            code="incoming.staged_missing",
        )
    return Upload(str(facts.get("filename") or "van-ban-den.pdf"), data)


def discard_staged(ws: Workspace, username: str, token: str) -> None:
    """Remove ``username``'s staged upload ``token`` (nothing happens for another's or none)."""
    pdf, meta = _paths(ws, token)
    try:
        facts = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(facts, dict) and facts.get("username") == username:
        pdf.unlink(missing_ok=True)
        meta.unlink(missing_ok=True)


def _register_open(ws: Workspace, document_id: int) -> bool:
    """The document waits at the clerk's register step (its verification has run)."""
    with Session(ws.db) as session:
        found = session.exec(
            select(Task.id)
            .join(WorkflowInstance, col(WorkflowInstance.id) == Task.instance_id)
            .where(
                WorkflowInstance.document_id == document_id,
                Task.step_id == REGISTER_STEP,
                Task.state == "open",
            )
        ).first()
    return found is not None


def _folder(ws: Workspace) -> Path:
    return ws.settings.home / "staging" / "incoming"


def _paths(ws: Workspace, token: str) -> tuple[Path, Path]:
    if not _TOKEN.fullmatch(token):
        raise NotFound(
            "tệp đã tải lên không còn (quá một giờ hoặc đã vào sổ): hãy tải lên lại",
            "the uploaded file is gone (over an hour old or already registered): upload it again",
            code="incoming.staged_missing",
        )
    folder = _folder(ws)
    return folder / f"{token}.pdf", folder / f"{token}.json"


def _stage(ws: Workspace, username: str, upload: Upload, sha: str) -> str:
    folder = _folder(ws)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = secrets.token_urlsafe(32)
    pdf, meta = _paths(ws, token)
    _write_private(pdf, upload.data)
    facts = {
        "username": username,
        "filename": upload.filename,
        "sha256": sha,
        "staged_at": clock.now().isoformat(),
    }
    _write_private(meta, json.dumps(facts, ensure_ascii=False).encode("utf-8"))
    return token


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)


def _discard_expired(ws: Workspace) -> None:
    """Remove every staged upload older than :data:`STAGED_FOR`."""
    folder = _folder(ws)
    if not folder.is_dir():
        return
    oldest = clock.now() - STAGED_FOR
    for meta in folder.glob("*.json"):
        try:
            staged_at = datetime.fromisoformat(
                str(json.loads(meta.read_text(encoding="utf-8"))["staged_at"])
            )
        except (OSError, ValueError, KeyError, TypeError):
            staged_at = None
        if staged_at is None or staged_at < oldest:
            meta.with_suffix(".pdf").unlink(missing_ok=True)
            meta.unlink(missing_ok=True)
