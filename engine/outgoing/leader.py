"""What the leader signs and what is kept of it, however the signature is made.

Only the signer the document names may sign it; the signed PDF becomes the document's
``signed`` file, with its audit event, in the transaction that completes the leader's task.
"""

from __future__ import annotations

from sqlmodel import Session

from engine.core import audit
from engine.core.errors import NotAllowed
from engine.core.models import Agency, Document, User
from engine.core.workspace import Workspace
from engine.workflow.files import add_file, latest_file
from storage import get_content

SIGNED = "signed"


def pdf_to_sign(session: Session, ws: Workspace, document: Document, user: User) -> bytes:
    """The converted PDF, if ``user`` is the signer the document names."""
    assert document.id is not None
    if document.signer_id is not None and document.signer_id != user.id:
        intended = session.get(User, document.signer_id)
        name = intended.full_name if intended else document.signer_id
        raise NotAllowed(
            f"văn bản ghi người ký là {name}; {user.full_name} không ký thay được",
            f"the document names {name} as its signer; {user.full_name} cannot sign for them",
            code="signing.not_the_signer",
            document_id=document.id,
        )
    return get_content(ws.store, latest_file(session, document.id, "pdf").sha256)


def place_of(session: Session, document: Document) -> str:
    """Where the agency signs (the /Location of the signature)."""
    agency = session.get(Agency, document.agency_id)
    assert agency is not None
    return agency.place


def record_signed(
    session: Session,
    document: Document,
    user: User,
    sha256: str,
    size: int,
    certificate_serial: int,
    *,
    via: str | None = None,
) -> None:
    """Record the signed PDF (already in the store) as the document's ``signed`` file.

    ``via`` names where the key was when it is not on the server ('agent': the leader's token).
    """
    assert document.id is not None
    version = latest_file(session, document.id, "pdf").version
    name = f"van-ban-{document.id}-da-ky.pdf"
    add_file(session, document.id, SIGNED, version, sha256, size, name, user)
    detail: dict[str, object] = {"sha256": sha256, "certificate_serial": certificate_serial}
    if via is not None:
        detail["via"] = via
    audit.append(
        session, actor=user.username, event="signed", document_id=document.id, detail=detail
    )
