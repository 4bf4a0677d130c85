"""The leader signs on their own token: the server prepares, the signing agent signs, the server
finishes (``leader_signing = "agent"``).

When the leader acts ``sign``, the server checks the certificate their agent registered against
the signing policy, prepares the certification signature and keeps a :class:`SignRequest`; the
task stays open, "chờ ký số trên thiết bị". The agent (``vanthu sign-agent``, beside the token)
fetches the digest, signs it on the token and posts the value; the server checks it against the
registered certificate, finishes the PDF, records it as the document's signed file and completes
the leader's task, in one transaction. The private key never reaches the server.

Agents authenticate with bearer tokens, one user each, kept only as SHA-256.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlmodel import Session, col, select

from engine import audit, keys, outbox
from engine.db import transaction
from engine.definitions import ActionName
from engine.errors import ConfigError, EngineError, InvalidInput, NotAllowed, NotFound
from engine.models import (
    Agency,
    AgentToken,
    Document,
    SigningCertificate,
    SignRequest,
    Task,
    Unit,
    User,
)
from engine.runtime import Claim, Move, claim_task, complete_task, user_named, waiting_at
from engine.workspace import Workspace
from signing import (
    PreparedSignature,
    SigningError,
    check_signature_value,
    check_signing_policy,
    finish_signature,
    prepare_certification,
    verify_digest_signature,
)
from storage import get_content, put_content

TOKEN_PREFIX = "vtag_"
WAITING_LABEL = "chờ ký số trên thiết bị"
REGISTRATION_CONTEXT = b"vanthu: dang ky chung thu so cho "
"""What an agent signs to prove it holds the key of the certificate it registers."""
_DEMO_MARK = "DEMO "


def registration_digest(username: str, certificate_der: bytes) -> bytes:
    """SHA-256 the agent signs at registration: the context, the user and the certificate."""
    return hashlib.sha256(
        REGISTRATION_CONTEXT + username.encode("utf-8") + certificate_der
    ).digest()


# --- agent tokens ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentUser:
    """Whom a bearer token acts for."""

    user_id: int
    username: str
    full_name: str
    token_id: int


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_agent_token(ws: Workspace, username: str) -> tuple[int, str]:
    """A new token for ``username``'s signing agent; the token itself is shown only now."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction(ws.db) as session:
        user = user_named(session, username)
        assert user.id is not None
        record = AgentToken(user_id=user.id, token_hash=_token_hash(token))
        session.add(record)
        session.flush()
        assert record.id is not None
        audit.append(
            session, actor=username, event="agent_token_created", detail={"token_id": record.id}
        )
        return record.id, token


def revoke_agent_tokens(ws: Workspace, username: str, token_id: int | None = None) -> list[int]:
    """Revoke one of ``username``'s tokens, or all of them; returns the ids revoked."""
    with transaction(ws.db) as session:
        user = user_named(session, username)
        query = select(AgentToken).where(
            AgentToken.user_id == user.id, col(AgentToken.revoked_at).is_(None)
        )
        if token_id is not None:
            query = query.where(AgentToken.id == token_id)
        tokens = list(session.exec(query).all())
        if token_id is not None and not tokens:
            raise NotFound(f"{username} không có mã truy cập #{token_id} còn hiệu lực")
        now = datetime.now(UTC)
        for token in tokens:
            token.revoked_at = now
            session.add(token)
        revoked = [t.id for t in tokens if t.id is not None]
        audit.append(
            session, actor=username, event="agent_token_revoked", detail={"token_ids": revoked}
        )
        return revoked


def authenticate(ws: Workspace, token: str) -> AgentUser:
    """The user a live token acts for; anything else is NotAllowed (one message for all)."""
    refused = NotAllowed("mã truy cập của chương trình ký không hợp lệ hoặc đã bị thu hồi")
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise refused
    with transaction(ws.db) as session:
        record = session.exec(
            select(AgentToken).where(AgentToken.token_hash == _token_hash(token))
        ).first()
        if record is None or record.revoked_at is not None or record.id is None:
            raise refused
        user = session.get(User, record.user_id)
        if user is None or not user.active or user.id is None:
            raise refused
        record.last_used_at = datetime.now(UTC)
        session.add(record)
        return AgentUser(user.id, user.username, user.full_name, record.id)


def record_call(ws: Workspace, agent: AgentUser, call: str, detail: dict[str, object]) -> None:
    """An agent call that changes nothing still leaves an audit event."""
    with transaction(ws.db) as session:
        audit.append(
            session,
            actor=agent.username,
            event="agent_call",
            detail={"call": call, "token_id": agent.token_id, **detail},
        )


# --- registered certificates ----------------------------------------------------------------


@dataclass(frozen=True)
class RegisteredCertificate:
    serial: str
    subject: str
    fingerprint: str


def register_certificate(
    ws: Workspace, agent: AgentUser, pem: bytes, proof: bytes
) -> RegisteredCertificate:
    """Register the certificate on the agent's token for its user.

    Refused unless: it chains to the configured roots and passes the signing policy as a
    person's certificate, its CN is the user's full name, and ``proof`` is the token's
    signature of :func:`registration_digest` (the agent holds the key).
    """
    certificate, chain = _parse_pem(pem)
    der = certificate.public_bytes(serialization.Encoding.DER)
    named = _cn(certificate)
    if not _names_user(named, agent.full_name):
        _refuse(ws, agent, "register_certificate", f"chứng thư số mang tên '{named}'")
        raise NotAllowed(
            f"chứng thư số mang tên '{named}', không phải {agent.full_name}: không đăng ký"
        )
    if not verify_digest_signature(certificate, registration_digest(agent.username, der), proof):
        _refuse(ws, agent, "register_certificate", "không chứng minh được giữ khóa")
        raise NotAllowed("chữ ký chứng minh giữ khóa bí mật không khớp với chứng thư số gửi lên")
    try:
        check_signing_policy(certificate, chain, kind="person", trust_roots=keys.trust_roots(ws))
    except SigningError as exc:
        _refuse(ws, agent, "register_certificate", str(exc))
        raise
    fingerprint = hashlib.sha256(der).hexdigest()
    with transaction(ws.db) as session:
        for older in session.exec(
            select(SigningCertificate).where(
                SigningCertificate.user_id == agent.user_id, col(SigningCertificate.active)
            )
        ).all():
            older.active = False
            session.add(older)
        session.add(
            SigningCertificate(
                user_id=agent.user_id,
                serial=f"{certificate.serial_number:x}",
                fingerprint=fingerprint,
                subject=certificate.subject.rfc4514_string(),
                pem=_pem(certificate, chain),
            )
        )
        audit.append(
            session,
            actor=agent.username,
            event="signing_certificate_registered",
            detail={
                "serial": f"{certificate.serial_number:x}",
                "fingerprint": fingerprint,
                "token_id": agent.token_id,
            },
        )
    return RegisteredCertificate(
        f"{certificate.serial_number:x}", certificate.subject.rfc4514_string(), fingerprint
    )


def _refuse(ws: Workspace, agent: AgentUser, call: str, reason: str) -> None:
    with transaction(ws.db) as session:
        audit.append(
            session,
            actor=agent.username,
            event="agent_refused",
            detail={"call": call, "reason": reason, "token_id": agent.token_id},
        )


def _parse_pem(pem: bytes) -> tuple[x509.Certificate, list[x509.Certificate]]:
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise InvalidInput("chứng thư số gửi lên không đọc được (cần PEM)") from exc
    if not certs:
        raise InvalidInput("không có chứng thư số nào trong dữ liệu gửi lên")
    return certs[0], certs[1:]


def _pem(certificate: x509.Certificate, chain: list[x509.Certificate]) -> str:
    return "".join(
        c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in (certificate, *chain)
    )


def _cn(certificate: x509.Certificate) -> str:
    values = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(values[0].value) if values else certificate.subject.rfc4514_string()


def _names_user(common_name: str, full_name: str) -> bool:
    """The CN is the person's full name (a DEMO certificate's CN starts with 'DEMO ')."""
    cn = unicodedata.normalize("NFC", common_name).strip()
    cn = cn.removeprefix(_DEMO_MARK)
    return cn == unicodedata.normalize("NFC", full_name).strip()


def _registered(session: Session, user: User) -> SigningCertificate:
    found = session.exec(
        select(SigningCertificate)
        .where(SigningCertificate.user_id == user.id, col(SigningCertificate.active))
        .order_by(col(SigningCertificate.id).desc())
    ).first()
    if found is None:
        raise ConfigError(
            f"{user.full_name} chưa đăng ký chứng thư số trên thiết bị ký: chạy `vanthu sign-agent`"
            " trên máy cắm thiết bị ký rồi ký lại"
        )
    return found


# --- phase 1: the leader acts `sign` --------------------------------------------------------


def request_signature(
    session: Session,
    ws: Workspace,
    claim: Claim,
    document: Document,
    user: User,
    pdf: bytes,
    *,
    comment: str | None,
) -> Move:
    """Prepare the certification signature for ``user``'s token and keep it waiting, in the
    caller's transaction; the task stays open until the agent's signature comes back."""
    assert document.id is not None and user.id is not None and claim.task.id is not None
    registered = _registered(session, user)
    assert registered.id is not None
    certificate, chain = _parse_pem(registered.pem.encode("ascii"))
    check_signing_policy(certificate, chain, kind="person", trust_roots=keys.trust_roots(ws))
    with keys.signing_policy(ws, keys.PERSONAL_LEVEL):
        prepared = prepare_certification(
            pdf,
            certificate,
            chain,
            keys.signature_image(ws, user.username),
            location=_place(session, document),
        )
    put_content(ws.store, prepared.pdf, "application/pdf")
    request = SignRequest(
        document_id=document.id,
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
        actor=user.username,
        event="sign_requested",
        document_id=document.id,
        step=claim.step.id,
        detail={
            "request_id": request.id,
            "certificate_serial": registered.serial,
            "digest": request.digest,
        },
    )
    assert claim.task.instance_id is not None
    return Move(
        document.id,
        claim.step.id,
        claim.action.name.value,
        waiting_at(session, claim.task.instance_id),
    )


def cancel_waiting(session: Session, task: Task, user: User, reason: str) -> None:
    """Cancel the requests still waiting on ``task`` (the leader returned it, or signs again)."""
    for request in session.exec(
        select(SignRequest).where(SignRequest.task_id == task.id, SignRequest.state == "waiting")
    ).all():
        request.state, request.finished_at, request.error = "cancelled", datetime.now(UTC), reason
        session.add(request)
        audit.append(
            session,
            actor=user.username,
            event="sign_request_cancelled",
            document_id=request.document_id,
            detail={"request_id": request.id, "reason": reason},
        )


def waiting_task_ids(session: Session) -> set[int]:
    """Tasks whose signature is out on a token: the inbox shows them as such."""
    return set(
        session.exec(select(SignRequest.task_id).where(SignRequest.state == "waiting")).all()
    )


def _place(session: Session, document: Document) -> str:
    agency = session.get(Agency, document.agency_id)
    assert agency is not None
    return agency.place


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
    """Check the agent's signature, finish the PDF and move the document on, at once.

    A value that does not verify leaves the request waiting (the agent may try again) and
    is recorded as refused; a certificate revoked since preparation fails the request.
    """
    try:
        with transaction(ws.db) as session:
            request = _own_request(session, agent, request_id)
            move = _finish(session, ws, agent, request, signature)
    except (SigningError, EngineError) as exc:
        _refuse(ws, agent, f"post_signature #{request_id}", str(exc))
        raise
    if ws.settings.steps_runner != "inline":
        return move
    outbox.run_pending(ws)
    with Session(ws.db) as session:
        request_now = session.get(SignRequest, request_id)
        assert request_now is not None
        task = session.get(Task, request_now.task_id)
        assert task is not None
        return dataclasses.replace(move, now_at=waiting_at(session, task.instance_id))


def _own_request(session: Session, agent: AgentUser, request_id: int) -> SignRequest:
    request = session.exec(
        select(SignRequest).where(SignRequest.id == request_id).with_for_update()
    ).first()
    if request is None or request.user_id != agent.user_id:  # another's is as good as none
        raise NotFound(f"không có yêu cầu ký #{request_id} của {agent.username}")
    if request.state != "waiting":
        raise InvalidInput(
            f"yêu cầu ký #{request_id} không còn chờ ký (trạng thái: {request.state})",
            document_id=request.document_id,
        )
    return request


def _finish(
    session: Session, ws: Workspace, agent: AgentUser, request: SignRequest, signature: bytes
) -> Move:
    from engine.documents import store_signed  # documents imports this module

    prepared = PreparedSignature.from_state(
        json.loads(request.prepared), get_content(ws.store, request.prepared_sha256)
    )
    check_signature_value(prepared, signature)  # before anything else: a bad value changes nothing
    user = user_named(session, agent.username)
    certificate = prepared.signer_certificate
    chain = [x509.load_der_x509_certificate(c) for c in prepared.chain]
    try:  # revoked or expired since phase 1: this request cannot succeed any more
        check_signing_policy(certificate, chain, kind="person", trust_roots=keys.trust_roots(ws))
    except SigningError as exc:
        request.state, request.finished_at, request.error = "failed", datetime.now(UTC), str(exc)
        session.add(request)
        audit.append(
            session,
            actor=agent.username,
            event="sign_request_failed",
            document_id=request.document_id,
            detail={"request_id": request.id, "reason": str(exc)},
        )
        session.commit()
        raise
    signed = finish_signature(prepared, signature)
    claim = claim_task(session, ws, request.document_id, user, ActionName.SIGN.value)
    if claim.task.id != request.task_id:
        raise InvalidInput(
            "bước ký của văn bản đã thay đổi từ khi chuẩn bị chữ ký: ký lại",
            document_id=request.document_id,
        )
    document = session.get(Document, request.document_id)
    assert document is not None
    store_signed(session, ws, document, user, signed, certificate.serial_number, via="agent")
    request.state, request.finished_at = "signed", datetime.now(UTC)
    session.add(request)
    audit.append(
        session,
        actor=agent.username,
        event="sign_request_completed",
        document_id=request.document_id,
        detail={"request_id": request.id, "token_id": agent.token_id},
    )
    return complete_task(session, ws, claim, user, comment=request.comment, chosen=None)


def decode_base64(value: str, what: str, max_bytes: int) -> bytes:
    """Base64 from an agent, refused with one sentence when malformed or too large."""
    if len(value) > (max_bytes * 4) // 3 + 4:
        raise InvalidInput(f"{what} quá lớn")
    try:
        return base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise InvalidInput(f"{what} không phải base64 hợp lệ") from exc
