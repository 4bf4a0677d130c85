"""The agencies documents are exchanged with: our organ id, the peers and their pinned
certificates, and what we hand a peer so it can add us."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import Encoding
from sqlmodel import Session, col, select

from engine.core import audit
from engine.core.agency import own_agency
from engine.core.db import transaction
from engine.core.errors import ConfigError, Conflict, InvalidInput, NotFound
from engine.core.models import ExchangePeer
from engine.core.users import admin_in
from engine.core.workspace import Workspace
from engine.signatures import keys

ORGAN_ID = re.compile(r"[0-9A-Za-z]{2,4}(\.[0-9A-Za-z]{2,4}){2,4}\Z")
"""A mã định danh as QĐ 20/2020/QĐ-TTg writes it: dotted groups, ``000.00.00.H41``."""
URL = re.compile(r"https?://[^\s/]+(/[^\s]*)?\Z")


@dataclass(frozen=True)
class Peer:
    """A configured peer, as people see it."""

    organ_id: str
    name: str
    url: str
    subject: str
    """The pinned certificate's subject."""
    fingerprint: str
    """SHA-256 of the pinned certificate (DER), hexadecimal."""
    not_after: datetime
    added_at: datetime
    active: bool


@dataclass(frozen=True)
class Identity:
    """What a peer needs to add us: our organ id, name and certificate (then its chain)."""

    organ_id: str
    name: str
    certificate_pem: str


def checked_organ_id(value: str) -> str:
    cleaned = value.strip()
    if not ORGAN_ID.match(cleaned):
        raise InvalidInput(
            f"mã định danh '{cleaned}' không đúng dạng (ví dụ 000.00.00.H41)",
            f"the organ id '{cleaned}' is not well formed (e.g. 000.00.00.H41)",
            code="exchange.organ_id_invalid",
            organ_id=cleaned,
        )
    return cleaned


def organ_id_of(session: Session) -> str:
    """Our organ id, or exchange.organ_id_missing saying how to set it."""
    agency = own_agency(session)
    if not agency.organ_id:
        raise ConfigError(
            "cơ quan chưa có mã định danh (chạy `vanthu exchange setup --organ-id …`)",
            "the agency has no organ id (run `vanthu exchange setup --organ-id …`)",
            code="exchange.organ_id_missing",
        )
    return agency.organ_id


def set_organ_id(ws: Workspace, actor: str, organ_id: str) -> str:
    """An administrator sets the agency's organ id (mã định danh)."""
    organ_id = checked_organ_id(organ_id)
    with transaction(ws.db) as session:
        admin_in(session, actor, "đặt mã định danh", "set the organ id")
        agency = own_agency(session)
        previous, agency.organ_id = agency.organ_id, organ_id
        session.add(agency)
        audit.append(
            session,
            actor=actor,
            event="exchange_setup",
            detail={"organ_id": organ_id, "previous": previous},
        )
    return organ_id


def load_certificates(pem: bytes, source: str) -> list[x509.Certificate]:
    """The certificates of a PEM file, the peer's own first; one clear line when it has none."""
    try:
        found = x509.load_pem_x509_certificates(pem)
    except ValueError:
        found = []
    if not found:
        raise InvalidInput(
            f"{source}: không có chứng thư số dạng PEM",
            f"{source}: no PEM certificate in it",
            code="exchange.certificate_invalid",
            file=source,
        )
    return found


def add_peer(
    ws: Workspace, actor: str, organ_id: str, name: str, url: str, pem: bytes, source: str
) -> Peer:
    """Pin a peer: its organ id, name, base URL and certificate (PEM, then its CA chain)."""
    organ_id = checked_organ_id(organ_id)
    name = " ".join(name.split())
    url = url.strip().rstrip("/")
    if not name or len(name) > 200:
        raise InvalidInput(
            "tên cơ quan (--name) cần từ 1 đến 200 ký tự",
            "the agency name (--name) needs 1 to 200 characters",
            code="exchange.peer_name_invalid",
        )
    if not URL.match(url) or len(url) > 500:
        raise InvalidInput(
            f"địa chỉ '{url}' không phải http(s)://…",
            f"the address '{url}' is not http(s)://…",
            code="exchange.peer_url_invalid",
            url=url,
        )
    certificates = load_certificates(pem, source)
    text = "".join(c.public_bytes(Encoding.PEM).decode("ascii") for c in certificates)
    with transaction(ws.db) as session:
        admin_in(session, actor, "thêm cơ quan liên thông", "add an exchange peer")
        if session.exec(select(ExchangePeer).where(ExchangePeer.organ_id == organ_id)).first():
            raise Conflict(
                f"đã có cơ quan liên thông {organ_id}",
                f"there is an exchange peer {organ_id} already",
                code="exchange.peer_exists",
                organ_id=organ_id,
            )
        peer = ExchangePeer(organ_id=organ_id, name=name, url=url, certificate=text)
        session.add(peer)
        audit.append(
            session,
            actor=actor,
            event="exchange_peer_added",
            detail={"organ_id": organ_id, "name": name, "url": url, **_pin(certificates[0])},
        )
    return _shown(peer)


def remove_peer(ws: Workspace, actor: str, organ_id: str) -> None:
    """Forget a peer: nothing more is sent to it or accepted from it (its messages are kept)."""
    with transaction(ws.db) as session:
        admin_in(session, actor, "xóa cơ quan liên thông", "remove an exchange peer")
        peer = peer_named(session, organ_id)
        session.delete(peer)
        audit.append(
            session,
            actor=actor,
            event="exchange_peer_removed",
            detail={"organ_id": peer.organ_id, "name": peer.name},
        )


def peer_named(session: Session, organ_id: str) -> ExchangePeer:
    peer = session.exec(
        select(ExchangePeer).where(ExchangePeer.organ_id == organ_id.strip())
    ).first()
    if peer is None:
        raise NotFound(
            f"không có cơ quan liên thông {organ_id}",
            f"no exchange peer {organ_id}",
            code="exchange.peer_not_found",
            organ_id=organ_id,
        )
    return peer


def list_peers(ws: Workspace) -> list[Peer]:
    with Session(ws.db) as session:
        found = session.exec(select(ExchangePeer).order_by(col(ExchangePeer.organ_id))).all()
        return [_shown(p) for p in found]


def identity(ws: Workspace) -> Identity:
    """Our organ id, name and the agency certificate with its chain, for a peer to pin."""
    with Session(ws.db) as session:
        organ_id = organ_id_of(session)
        name = own_agency(session).name
    key = keys.agency_key(ws)
    pem = "".join(
        c.public_bytes(Encoding.PEM).decode("ascii") for c in (key.certificate, *key.chain)
    )
    return Identity(organ_id=organ_id, name=name, certificate_pem=pem)


def match_recipient(peers: list[ExchangePeer], line: str) -> ExchangePeer | None:
    """The peer a recipient line names: its organ id or name (case and spaces aside), or
    ``Name <organ id>``."""
    cleaned = line.strip().rstrip(";.").strip()
    bracket = re.search(r"<\s*([^<>]+?)\s*>\s*\Z", cleaned)
    wanted = {_key(cleaned)}
    if bracket:
        wanted = {_key(bracket.group(1))}
    for peer in peers:
        if peer.active and ({_key(peer.organ_id), _key(peer.name)} & wanted):
            return peer
    return None


def _key(value: str) -> str:
    return " ".join(value.split()).casefold()


def _pin(certificate: x509.Certificate) -> dict[str, str]:
    return {
        "subject": certificate.subject.rfc4514_string(),
        "fingerprint": certificate.fingerprint(SHA256()).hex(),
    }


def _shown(peer: ExchangePeer) -> Peer:
    certificate = load_certificates(peer.certificate.encode("ascii"), peer.organ_id)[0]
    pin = _pin(certificate)
    return Peer(
        organ_id=peer.organ_id,
        name=peer.name,
        url=peer.url,
        subject=pin["subject"],
        fingerprint=pin["fingerprint"],
        not_after=certificate.not_valid_after_utc,
        added_at=peer.added_at,
        active=peer.active,
    )
