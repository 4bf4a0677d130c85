"""What an outgoing document's page shows beyond the workflow's view: the signer's line as the
document prints it (``KT. GIÁM ĐỐC`` above a deputy's title, or the ``TL.``/``TUQ.`` line an
administrator set: :func:`engine.core.authorities.authority_line`), and the verification report of
each signed file, as ``vanthu verify`` makes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from engine.core.authorities import authority_line
from engine.core.models import Agency, DocumentFile, Unit, User
from engine.core.workspace import Workspace
from engine.signatures.verification import verify_file
from engine.workflow.documents import DocumentView
from signing import SigningError
from storage import get_content

SIGNED_KINDS = ("signed", "issued", "attachment_issued", "copy")
"""Files that carry signatures: the newest of each kind is verified."""


@dataclass(frozen=True)
class SignerLine:
    """The signature block's words: ``authority`` (KT. …, None for the head) over ``title``."""

    authority: str | None
    title: str
    name: str


@dataclass(frozen=True)
class FileVerification:
    """A signed file and its report (``DocumentReport.to_json()``), or why it was unreadable."""

    file: DocumentFile
    report: dict[str, Any] | None
    error: str | None = None


def signer_line(ws: Workspace, view: DocumentView) -> SignerLine | None:
    """The signer's block of a document already read (None when it names no signer)."""
    document = view.document
    if document.signer_id is None:
        return None
    with Session(ws.db) as session:
        signer = session.get(User, document.signer_id)
        unit = session.get(Unit, document.unit_id)
        agency = session.get(Agency, unit.agency_id) if unit else None
        if signer is None or agency is None:
            return None
        authority = authority_line(session, signer, agency.leader_title)
    return SignerLine(authority, signer.title.upper(), signer.full_name)


def signature_reports(ws: Workspace, view: DocumentView) -> tuple[FileVerification, ...]:
    """The newest file of each signed kind of a document already read, each verified against
    the agency's trust lists as ``vanthu verify`` does (asking OCSP/CRL when the file does not
    carry the answers). A decided report is kept in memory by the file's SHA-256; an
    undecided one (a service that did not answer) is asked again next time."""
    newest: dict[str, DocumentFile] = {}
    for found in view.files:
        if found.kind in SIGNED_KINDS:
            newest[found.kind] = found
    return tuple(_verified(ws, f) for f in newest.values())


def _verified(ws: Workspace, found: DocumentFile) -> FileVerification:
    key = f"verification:{found.sha256}"
    cached = ws.caches.get(key)
    if isinstance(cached, FileVerification):
        return FileVerification(found, cached.report, cached.error)
    try:
        report = verify_file(ws, get_content(ws.store, found.sha256), [])
        made = FileVerification(found, report.to_json())
    except SigningError as exc:
        made = FileVerification(found, None, str(exc))
    if made.report is None or made.report["verdict"] != "indeterminate":
        ws.caches[key] = made
    return made
