"""The leader signs on their own token: the server prepares, the signing agent signs, the server
finishes (``leader_signing = "agent"``).

When the leader acts ``sign``, the server checks the certificate their agent registered against
the signing policy, prepares the certification signature and keeps a :class:`SignRequest`; the
task stays open, "chờ ký số trên thiết bị". The agent (``vanthu sign-agent``, beside the token)
fetches the digest, signs it on the token and posts the value; the server checks it against the
registered certificate, finishes the PDF (the TSA's timestamp), records it as the document's
signed file and completes the leader's task. The private key never reaches the server.

Revocation checks, the timestamp and the store are asked before the transaction that records
their result, so no writer waits on the network.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from sqlmodel import Session, col, select

from engine.core import audit
from engine.core.db import transaction
from engine.core.definitions import ActionName
from engine.core.errors import Conflict, EngineError, InvalidInput, NotFound
from engine.core.models import Document, SigningCertificate, SignRequest, Unit
from engine.core.users import user_named
from engine.core.workspace import Workspace
from engine.outgoing.agents import AgentUser, parse_pem, refuse, registered_certificate
from engine.outgoing.leader import pdf_to_sign, place_of, record_signed
from engine.signatures import keys
from engine.workflow.actions import after_action, cancel_waiting, end_sign_request
from engine.workflow.files import PDF_TYPE, find_document
from engine.workflow.runtime import Claim, Move, claim_task, complete_task, waiting_at
from signing import (
    PreparedSignature,
    SigningError,
    check_signature_value,
    check_signing_policy,
    finish_signature,
    prepare_certification,
)
from storage import get_content, put_content
from vanthu import clock

SIGN = ActionName.SIGN.value


# --- phase 1: the leader acts `sign` --------------------------------------------------------


def request_signature(
    ws: Workspace, document_id: int, username: str, *, comment: str | None = None
) -> Move:
    """Prepare the certification signature for ``username``'s token and keep it waiting; the
    task stays open until the agent's signature comes back."""
    with Session(ws.db) as session:
        user = user_named(session, username)
        claim = claim_task(session, ws, document_id, user, SIGN)
        document = find_document(session, document_id)
        pdf = pdf_to_sign(session, ws, document, user)
        registered = registered_certificate(session, user)
        place = place_of(session, document)
    certificate, chain = parse_pem(registered.pem.encode("ascii"))
    check_signing_policy(certificate, chain, kind="person", trust_roots=keys.trust_roots(ws))
    with keys.signing_policy(ws, keys.PERSONAL_LEVEL):
        prepared = prepare_certification(
            pdf, certificate, chain, keys.signature_image(ws, username), location=place
        )
    put_content(ws.store, prepared.pdf, PDF_TYPE)
    with transaction(ws.db) as session:
        user = user_named(session, username)
        claim = same_task(claim, claim_task(session, ws, document_id, user, SIGN))
        cancel_waiting(session, claim.task, user, "có yêu cầu ký mới")
        assert user.id is not None and claim.task.id is not None and registered.id is not None
        request = SignRequest(
            document_id=document_id,
            user_id=user.id,
            task_id=claim.task.id,
            certificate_id=registered.id,
            prepared=json.dumps(prepared.state()),
            prepared_sha256=prepared.pdf_sha256,
            digest=prepared.digest_to_sign.hex(),
            comment=(comment or "").strip() or None,
        )
        session.add(request)
        session.flush()
        audit.append(
            session,
            actor=username,
            event="sign_requested",
            document_id=document_id,
            step=claim.step.id,
            detail={
                "request_id": request.id,
                "certificate_serial": registered.serial,
                "digest": request.digest,
            },
        )
        assert claim.task.instance_id is not None
        return Move(document_id, claim.step.id, SIGN, waiting_at(session, claim.task.instance_id))


def same_task(before: Claim, now: Claim) -> Claim:
    """The task claimed again in the recording transaction must be the one prepared for."""
    if before.task.id != now.task.id:
        raise Conflict(
            "bước ký của văn bản đã thay đổi trong lúc chuẩn bị chữ ký: ký lại",
            "the document's signing step changed while the signature was prepared: sign again",
            code="signing.task_changed",
            document_id=now.task.instance_id,
        )
    return now


# --- what the agent sees and sends back -----------------------------------------------------


@dataclass(frozen=True)
class PendingSignature:
    """One signature waiting for an agent, as the agent receives it."""

    request_id: int
    document_id: int
    doc_type: str
    subject: str
    unit: str
    digest: str
    """Hex SHA-256 of the signed attributes: what the token signs."""
    signed_attributes: str
    """Base64 DER of the CMS signed attributes, so the agent can check the digest."""
    certificate_serial: str
    created_at: datetime


def pending_for(ws: Workspace, agent: AgentUser) -> list[PendingSignature]:
    """The requests waiting for the token's user, and only theirs."""
    with transaction(ws.db) as session:
        rows = session.exec(
            select(SignRequest, Document, SigningCertificate, Unit)
            .where(SignRequest.user_id == agent.user_id, SignRequest.state == "waiting")
            .where(SignRequest.document_id == Document.id)
            .where(SignRequest.certificate_id == SigningCertificate.id)
            .where(Document.unit_id == Unit.id)
            .order_by(col(SignRequest.id))
        ).all()
        pending = [
            PendingSignature(
                request_id=request.id or 0,
                document_id=document.id or 0,
                doc_type=document.doc_type,
                subject=document.subject,
                unit=unit.name,
                digest=request.digest,
                signed_attributes=json.loads(request.prepared)["signed_attributes"],
                certificate_serial=certificate.serial,
                created_at=request.created_at,
            )
            for request, document, certificate, unit in rows
        ]
        audit.append(
            session,
            actor=agent.username,
            event="agent_call",
            detail={
                "call": "list_requests",
                "token_id": agent.token_id,
                "request_ids": [p.request_id for p in pending],
            },
        )
    return pending


def complete_signature(ws: Workspace, agent: AgentUser, request_id: int, signature: bytes) -> Move:
    """Check the agent's signature, finish the PDF and move the document on.

    A value that does not verify leaves the request waiting (the agent may try again) and is
    recorded as refused; a certificate revoked since preparation fails the request.
    """
    try:
        move = _complete(ws, agent, request_id, signature)
    except (SigningError, EngineError) as exc:
        refuse(ws, agent, f"post_signature #{request_id}", str(exc))
        raise
    return after_action(ws, move)


def _complete(ws: Workspace, agent: AgentUser, request_id: int, signature: bytes) -> Move:
    with Session(ws.db) as session:
        request = _own_request(session, agent, request_id)
        state, prepared_sha = json.loads(request.prepared), request.prepared_sha256
    prepared = PreparedSignature.from_state(state, get_content(ws.store, prepared_sha))
    check_signature_value(prepared, signature)  # before anything else: a bad value changes nothing
    certificate = prepared.signer_certificate
    chain = [x509.load_der_x509_certificate(c) for c in prepared.chain]
    try:  # revoked or expired since phase 1: this request cannot succeed any more
        check_signing_policy(certificate, chain, kind="person", trust_roots=keys.trust_roots(ws))
    except SigningError as exc:
        _fail(ws, agent, request_id, str(exc))
        raise
    signed = finish_signature(prepared, signature)  # the TSA is asked here, outside
    sha = put_content(ws.store, signed, PDF_TYPE)
    with transaction(ws.db) as session:
        request = _own_request(session, agent, request_id, lock=True)
        user = user_named(session, agent.username)
        claim = claim_task(session, ws, request.document_id, user, SIGN)
        if claim.task.id != request.task_id:
            raise Conflict(
                "bước ký của văn bản đã thay đổi từ khi chuẩn bị chữ ký: ký lại",
                "the document's signing step changed since the signature was prepared: sign again",
                code="signing.task_changed",
                document_id=request.document_id,
            )
        document = find_document(session, request.document_id)
        record_signed(
            session, document, user, sha, len(signed), certificate.serial_number, via="agent"
        )
        request.state, request.finished_at = "signed", clock.now()
        session.add(request)
        audit.append(
            session,
            actor=agent.username,
            event="sign_request_completed",
            document_id=request.document_id,
            detail={"request_id": request.id, "token_id": agent.token_id},
        )
        return complete_task(session, ws, claim, user, comment=request.comment, chosen=None)


def _fail(ws: Workspace, agent: AgentUser, request_id: int, reason: str) -> None:
    """The request can never succeed (the certificate was revoked since it was prepared)."""
    with transaction(ws.db) as session:
        request = _own_request(session, agent, request_id, lock=True)
        end_sign_request(session, request, "failed", agent.username, reason)


def _own_request(
    session: Session, agent: AgentUser, request_id: int, *, lock: bool = False
) -> SignRequest:
    query = select(SignRequest).where(SignRequest.id == request_id)
    request = session.exec(query.with_for_update() if lock else query).first()
    if request is None or request.user_id != agent.user_id:  # another's is as good as none
        raise NotFound(
            f"không có yêu cầu ký #{request_id} của {agent.username}",
            f"no signing request #{request_id} for {agent.username}",
            code="sign_request.not_found",
        )
    if request.state != "waiting":
        raise Conflict(
            f"yêu cầu ký #{request_id} không còn chờ ký (trạng thái: {request.state})",
            f"signing request #{request_id} is no longer waiting (state: {request.state})",
            code="sign_request.not_waiting",
            document_id=request.document_id,
        )
    return request


def decode_base64(value: str, what: tuple[str, str], max_bytes: int) -> bytes:
    """Base64 from an agent, refused with one sentence when malformed or too large; ``what``
    names the value in Vietnamese and in English."""
    if len(value) > (max_bytes * 4) // 3 + 4:
        raise InvalidInput(
            f"{what[0]} quá lớn",
            f"{what[1]} is too large",
            code="agent.value_too_large",
            max_bytes=max_bytes,
        )
    try:
        return base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise InvalidInput(
            f"{what[0]} không phải base64 hợp lệ",
            f"{what[1]} is not valid base64",
            code="agent.value_not_base64",
        ) from exc
