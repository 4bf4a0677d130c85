"""The leader's signature, the ``sign`` action: a certification signature that permits only
form filling (DocMDP level 2), so the clerk can fill in the number and date and seal it later.

With ``leader_signing = "server"`` the leader's key is on the server, opened by the leader's own
PIN, and the signature is made here; with ``"agent"`` the server prepares it and the leader's own
token signs it (:mod:`engine.outgoing.remote_signing`). The timestamp server and the revocation
services are asked before the transaction that records the signed PDF and moves the document on.
"""

from __future__ import annotations

from sqlmodel import Session

from engine.core.db import transaction
from engine.core.definitions import ActionName
from engine.core.users import user_named
from engine.core.workspace import Workspace
from engine.outgoing.leader import pdf_to_sign, place_of, record_signed
from engine.outgoing.remote_signing import request_signature, same_task
from engine.signatures import keys
from engine.workflow.actions import cancel_waiting
from engine.workflow.files import PDF_TYPE, find_document
from engine.workflow.runtime import Move, claim_task, complete_task
from signing import certify
from storage import put_content

SIGN = ActionName.SIGN.value


def sign(
    ws: Workspace,
    document_id: int,
    username: str,
    *,
    comment: str | None = None,
    pin: str | None = None,
) -> Move:
    """``username`` signs the document's converted PDF (the ``sign`` action).

    On the server the leader's key opens with their ``pin`` only, after their task is claimed
    (someone else is refused before any PIN is tried). With ``leader_signing = "agent"`` the
    token's own PIN is asked by the signing agent and ``pin`` is not used."""
    if ws.settings.leader_signing == "agent":
        return request_signature(ws, document_id, username, comment=comment)
    with Session(ws.db) as session:
        user = user_named(session, username)
        claim = claim_task(session, ws, document_id, user, SIGN)
        document = find_document(session, document_id)
        pdf = pdf_to_sign(session, ws, document, user)
        place = place_of(session, document)
    key = keys.personal_key(ws, username, pin, document_id=document_id)
    with keys.signing_policy(ws, keys.PERSONAL_LEVEL):
        signed = certify(pdf, key, keys.signature_image(ws, username), location=place)
    sha = put_content(ws.store, signed, PDF_TYPE)
    with transaction(ws.db) as session:
        user = user_named(session, username)
        claim = same_task(claim, claim_task(session, ws, document_id, user, SIGN))
        cancel_waiting(session, claim.task, user, "lãnh đạo đã ký trên máy chủ")
        document = find_document(session, document_id)
        record_signed(session, document, user, sha, len(signed), key.serial)
        return complete_task(session, ws, claim, user, comment=comment, chosen=None)
