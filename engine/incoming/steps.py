"""The incoming flow's automated steps: verify every signature, then register (số đến)."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session

from engine.core.models import Agency, Document, OutboxItem
from engine.core.registers import next_number, register_for
from engine.core.text import vietnam_time
from engine.core.workspace import Finisher, Workspace
from engine.signatures import keys
from engine.workflow.files import require_step_file
from signing import verify_document
from storage import get_content
from vanthu import clock


def verify_incoming(ws: Workspace, item: OutboxItem) -> Finisher:
    """Verify every signature of a received PDF and keep the verdict with the document."""
    received = require_step_file(ws, item.document_id, "received", item.step_id)
    report = verify_document(get_content(ws.store, received.sha256), keys.trust_roots(ws))

    def finish(session: Session) -> dict[str, Any]:
        document = session.get(Document, item.document_id, with_for_update=True)
        assert document is not None
        document.verification = json.dumps(report.to_json(), ensure_ascii=False, default=str)
        session.add(document)
        return {"verdict": report.verdict, "signatures": len(report.signatures)}

    return finish


def register_incoming(ws: Workspace, item: OutboxItem) -> Finisher:
    """The incoming number (số đến): consecutive within the year, in order of registration."""

    def finish(session: Session) -> dict[str, Any]:
        document = session.get(Document, item.document_id, with_for_update=True)
        assert document is not None
        if document.number is not None:
            return {"number": document.number, "reused": True}
        agency = session.get(Agency, document.agency_id)
        assert agency is not None
        register = register_for(
            session, agency, "incoming", None, secret=document.secrecy is not None
        )
        assert register.id is not None
        year = vietnam_time(clock.now()).year
        document.register_id, document.year = register.id, year
        document.number = next_number(session, register.id, year)
        session.add(document)
        return {"number": document.number, "register": register.code}

    return finish
