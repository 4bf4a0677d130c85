"""Comments on a document: anyone who may read it writes one, and answers one with another.

A comment is an audit event (``commented``, its text in the detail) in one transaction with the
permission check: the document's history shows it with who wrote it and when, beside the
comments people gave with their actions (a return's reason, a consulted unit's opinion).
"""

from __future__ import annotations

from engine.core import audit
from engine.core.db import transaction
from engine.core.errors import InvalidInput
from engine.core.users import user_named
from engine.core.workspace import Workspace
from engine.workflow.documents import READ_REFUSED, may_read, read_refused
from engine.workflow.files import find_document

COMMENTED = "commented"
MAX_COMMENT = 4000
"""Characters in one comment."""


def add_comment(ws: Workspace, document_id: int, username: str, text: str) -> None:
    """``username`` comments on the document they may read (:func:`may_read`)."""
    text = text.strip()
    if not text or len(text) > MAX_COMMENT:
        raise InvalidInput(
            f"ý kiến phải có nội dung, tối đa {MAX_COMMENT} ký tự",
            f"a comment must have text, at most {MAX_COMMENT} characters",
            code="comment.invalid",
            document_id=document_id,
            length=len(text),
        )
    with transaction(ws.db) as session:
        user = user_named(session, username)
        decision = may_read(session, user, find_document(session, document_id))
        audit.append(
            session,
            actor=username,
            event=COMMENTED if decision.allowed else READ_REFUSED,
            document_id=document_id,
            detail={"comment": text}
            if decision.allowed
            else {
                "what": "comment",
                "reason": decision.reason,
                "role": user.role,
            },
        )
    if not decision.allowed:
        raise read_refused(username, user.role, document_id, restricted=decision.restricted)
