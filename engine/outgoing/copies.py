"""Electronic copies (bản sao điện tử): the clerk copies an issued document, the agency signs
the copy field, showing the agency's name and the signing time (Decree 30 Appendix I)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from engine.core import audit
from engine.core.db import transaction
from engine.core.errors import Conflict, NotAllowed
from engine.core.models import Agency
from engine.core.users import user_named
from engine.core.workspace import Workspace
from engine.signatures import keys
from engine.workflow.files import PDF_TYPE, add_file, find_document, latest_file
from signing import Level, electronic_copy
from storage import get_content, put_content

COPY = "copy"
CLERK = "clerk"
COPY_LEVEL: Level = "B-T"
"""An electronic copy carries the TSA's time (PAdES B-T)."""


@dataclass(frozen=True)
class Copy:
    pdf: bytes
    symbol: str


def make_copy(ws: Workspace, document_id: int, username: str) -> Copy:
    """An electronic copy of an issued document, signed by the agency; clerks only, audited."""
    with Session(ws.db) as session:
        user = user_named(session, username)
        if user.role != CLERK:
            raise NotAllowed(
                f"{username} ({user.role}) không được sao văn bản: chỉ văn thư ký bản sao điện tử",
                f"{username} ({user.role}) may not copy documents: only clerks sign electronic "
                "copies",
                code="copy.clerk_only",
                document_id=document_id,
                user=username,
                role=user.role,
            )
        document = find_document(session, document_id)
        if document.direction != "outgoing" or not document.symbol:
            raise Conflict(
                "văn bản chưa ban hành nên chưa sao được",
                "the document has not been issued, so it cannot be copied yet",
                code="copy.not_issued",
                document_id=document_id,
            )
        issued = latest_file(session, document_id, "issued")
        agency = session.get(Agency, document.agency_id)
        assert agency is not None
        agency_name, symbol = agency.name, document.symbol
    original = get_content(ws.store, issued.sha256)
    with keys.signing_policy(ws, COPY_LEVEL):  # the agency's policy; the TSA's time
        pdf = electronic_copy(original, agency_name=agency_name, key=keys.agency_key(ws))
    sha = put_content(ws.store, pdf, PDF_TYPE)
    with transaction(ws.db) as session:
        clerk = user_named(session, username)
        name = f"{symbol.replace('/', '-')}-ban-sao.pdf"
        add_file(session, document_id, COPY, issued.version, sha, len(pdf), name, clerk)
        audit.append(
            session,
            actor=username,
            event="copied",
            document_id=document_id,
            detail={"sha256": sha, "from_sha256": issued.sha256, "agency": agency_name},
        )
    return Copy(pdf, symbol)
