"""Signing agents (``vanthu sign-agent``): their bearer tokens and the certificates they register.

A token acts for one user and is kept only as SHA-256. Before it can sign, an agent registers
the certificate on its token, proving it holds the key; every call, allowed or refused, leaves an
audit event.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlmodel import Session, col, select

from engine.core import audit
from engine.core.db import transaction
from engine.core.errors import ConfigError, InvalidInput, NotAllowed, NotFound
from engine.core.models import AgentToken, SigningCertificate, User
from engine.core.users import admin_in, user_named
from engine.core.workspace import Workspace
from engine.signatures import keys
from signing import SigningError, check_signing_policy, verify_digest_signature
from vanthu import clock

TOKEN_PREFIX = "vtag_"
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
            raise NotFound(
                f"{username} không có mã truy cập #{token_id} còn hiệu lực",
                f"{username} has no live access token #{token_id}",
                code="agent.token_not_found",
                user=username,
                token_id=token_id,
            )
        now = clock.now()
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
    refused = NotAllowed(
        "mã truy cập của chương trình ký không hợp lệ hoặc đã bị thu hồi",
        "the signing agent's access token is not valid or has been revoked",
        code="agent.token_invalid",
    )
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
        record.last_used_at = clock.now()
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
    certificate, chain = parse_pem(pem)
    der = certificate.public_bytes(serialization.Encoding.DER)
    named = _cn(certificate)
    if not _names_user(named, agent.full_name):
        refuse(ws, agent, "register_certificate", f"chứng thư số mang tên '{named}'")
        raise NotAllowed(
            f"chứng thư số mang tên '{named}', không phải {agent.full_name}: không đăng ký",
            f"the certificate names '{named}', not {agent.full_name}: not registered",
            code="certificate.name_mismatch",
            user=agent.username,
            certificate_name=named,
        )
    if not verify_digest_signature(certificate, registration_digest(agent.username, der), proof):
        refuse(ws, agent, "register_certificate", "không chứng minh được giữ khóa")
        raise NotAllowed(
            "chữ ký chứng minh giữ khóa bí mật không khớp với chứng thư số gửi lên",
            "the signature proving the private key is held does not match the certificate sent",
            code="certificate.proof_invalid",
            user=agent.username,
        )
    try:
        check_signing_policy(certificate, chain, kind="person", trust_roots=keys.trust_roots(ws))
    except SigningError as exc:
        refuse(ws, agent, "register_certificate", str(exc))
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


def refuse(ws: Workspace, agent: AgentUser, call: str, reason: str) -> None:
    with transaction(ws.db) as session:
        audit.append(
            session,
            actor=agent.username,
            event="agent_refused",
            detail={"call": call, "reason": reason, "token_id": agent.token_id},
        )


def parse_pem(pem: bytes) -> tuple[x509.Certificate, list[x509.Certificate]]:
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise InvalidInput(
            "chứng thư số gửi lên không đọc được (cần PEM)",
            "the certificate sent cannot be read (PEM is needed)",
            code="certificate.unreadable",
        ) from exc
    if not certs:
        raise InvalidInput(
            "không có chứng thư số nào trong dữ liệu gửi lên",
            "the data sent holds no certificate",
            code="certificate.missing",
        )
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


def registered_certificate(session: Session, user: User) -> SigningCertificate:
    found = session.exec(
        select(SigningCertificate)
        .where(SigningCertificate.user_id == user.id, col(SigningCertificate.active))
        .order_by(col(SigningCertificate.id).desc())
    ).first()
    if found is None:
        raise ConfigError(
            f"{user.full_name} chưa đăng ký chứng thư số trên thiết bị ký: chạy `vanthu sign-agent`"
            " trên máy cắm thiết bị ký rồi ký lại",
            f"{user.full_name} has not registered the certificate on their signing token: run "
            "`vanthu sign-agent` on the computer the token is plugged into, then sign again",
            code="certificate.not_registered",
            user=user.username,
        )
    return found


# --- for the administrator ------------------------------------------------------------------


@dataclass(frozen=True)
class TokenRow:
    """A signing agent's token as the administrator sees it (never the token itself)."""

    id: int
    username: str
    full_name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class CertificateRow:
    """A certificate a signing agent registered for its person."""

    username: str
    full_name: str
    serial: str
    subject: str
    registered_at: datetime
    active: bool


def agent_tokens(ws: Workspace, actor: str) -> list[TokenRow]:
    """Every signing agent token, newest first; for an administrator."""
    with Session(ws.db) as session:
        admin_in(session, actor, "xem mã truy cập của chương trình ký", "list agent tokens")
        rows = session.exec(
            select(AgentToken, User)
            .where(AgentToken.user_id == User.id)
            .order_by(col(AgentToken.id).desc())
        ).all()
    return [
        TokenRow(t.id or 0, u.username, u.full_name, t.created_at, t.last_used_at, t.revoked_at)
        for t, u in rows
    ]


def registered_certificates(ws: Workspace, actor: str) -> list[CertificateRow]:
    """Every certificate registered by a signing agent, newest first; for an administrator."""
    with Session(ws.db) as session:
        admin_in(session, actor, "xem chứng thư số đã đăng ký", "list registered certificates")
        rows = session.exec(
            select(SigningCertificate, User)
            .where(SigningCertificate.user_id == User.id)
            .order_by(col(SigningCertificate.id).desc())
        ).all()
    return [
        CertificateRow(u.username, u.full_name, c.serial, c.subject, c.registered_at, c.active)
        for c, u in rows
    ]


def issue_agent_token(ws: Workspace, actor: str, username: str) -> tuple[int, str]:
    """An administrator makes a token for ``username``'s signing agent; shown only now.
    Audited as the administrator's doing."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction(ws.db) as session:
        admin_in(session, actor, "tạo mã truy cập cho chương trình ký", "create agent tokens")
        user = user_named(session, username)
        assert user.id is not None
        record = AgentToken(user_id=user.id, token_hash=_token_hash(token))
        session.add(record)
        session.flush()
        assert record.id is not None
        audit.append(
            session,
            actor=actor,
            event="agent_token_created",
            detail={"token_id": record.id, "user": username},
        )
        return record.id, token


def revoke_agent_token(ws: Workspace, actor: str, token_id: int) -> str:
    """An administrator revokes the live token ``token_id``; returns whose it was. Audited."""
    with transaction(ws.db) as session:
        admin_in(session, actor, "thu hồi mã truy cập của chương trình ký", "revoke agent tokens")
        record = session.get(AgentToken, token_id)
        if record is None or record.revoked_at is not None:
            raise NotFound(
                f"không có mã truy cập #{token_id} còn hiệu lực",
                f"there is no live access token #{token_id}",
                code="agent.token_not_found",
                token_id=token_id,
            )
        user = session.get(User, record.user_id)
        owner = user.username if user is not None else "?"
        record.revoked_at = clock.now()
        session.add(record)
        audit.append(
            session,
            actor=actor,
            event="agent_token_revoked",
            detail={"token_ids": [token_id], "user": owner},
        )
        return owner
