"""Who signs for whom: the line above a signer's title (``KT. GIÁM ĐỐC``) and how an
administrator sets it (Decree 30, Appendix I)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from engine.core import audit
from engine.core.db import transaction
from engine.core.definitions import Role
from engine.core.errors import InvalidInput, NotFound
from engine.core.models import Agency, SigningAuthority, User
from engine.core.users import admin_in, admin_text, known_user
from engine.core.workspace import Workspace
from vanthu import clock

SIGNING_PREFIXES = ("KT.", "TL.", "TUQ.", "Q.", "TM.")
"""How one signs for another (Decree 30, Appendix I): ký thay, thừa lệnh, thừa ủy quyền,
quyền, thay mặt."""


@dataclass(frozen=True)
class AuthorityRow:
    """How a signer's signature block reads, and whether an administrator set it."""

    username: str
    full_name: str
    title: str
    line: str | None
    """``KT. GIÁM ĐỐC``; None: the signer signs in their own name (the agency's head)."""
    configured: bool


def authority_line(session: Session, signer: User, head_title: str) -> str | None:
    """The line above ``signer``'s title: the one an administrator set (``TL. GIÁM ĐỐC``), or
    else ``KT.`` the agency head's title when the signer's differs; None for the head."""
    found = _authority_of(session, signer)
    if found is not None:
        return f"{found.prefix} {found.on_behalf_of.upper()}"
    if signer.title.upper() == head_title.upper():
        return None
    return f"KT. {head_title.upper()}"


def _authority_of(session: Session, signer: User) -> SigningAuthority | None:
    return session.exec(
        select(SigningAuthority).where(SigningAuthority.user_id == signer.id)
    ).first()


def signing_authorities(ws: Workspace, actor: str) -> list[AuthorityRow]:
    """Every active leader (and anyone given an authority) with the line above their title;
    for an administrator."""
    with Session(ws.db) as session:
        admin_in(session, actor, "xem thẩm quyền ký", "see signing authorities")
        agency = session.exec(select(Agency)).first()
        head = agency.leader_title if agency is not None else ""
        set_for = set(session.exec(select(SigningAuthority.user_id)).all())
        people = session.exec(
            select(User).where(col(User.active)).order_by(col(User.username))
        ).all()
        return [
            AuthorityRow(
                username=user.username,
                full_name=user.full_name,
                title=user.title,
                line=authority_line(session, user, head),
                configured=user.id in set_for,
            )
            for user in people
            if user.role == Role.LEADER.value or user.id in set_for
        ]


def set_signing_authority(
    ws: Workspace, actor: str, username: str, prefix: str, on_behalf_of: str
) -> str:
    """An administrator sets how ``username`` signs: ``prefix`` (KT., TL., TUQ., Q., TM.) and
    the title signed for; drafts made from now on carry it. Returns the line; audited."""
    if prefix not in SIGNING_PREFIXES:
        raise InvalidInput(
            f"không có hình thức ký '{prefix[:10]}'; chọn một trong: {', '.join(SIGNING_PREFIXES)}",
            f"there is no signing form '{prefix[:10]}'; one of: {', '.join(SIGNING_PREFIXES)}",
            code="account.authority_prefix_unknown",
        )
    on_behalf_of = admin_text(on_behalf_of, "chức danh được ký thay", "the title signed for", 100)
    with transaction(ws.db) as session:
        admin_in(session, actor, "đặt thẩm quyền ký", "set signing authorities")
        user = known_user(session, username)
        assert user.id is not None
        row = _authority_of(session, user) or SigningAuthority(
            user_id=user.id, prefix=prefix, on_behalf_of=on_behalf_of, set_by=actor
        )
        row.prefix, row.on_behalf_of = prefix, on_behalf_of
        row.set_by, row.set_at = actor, clock.now()
        session.add(row)
        line = f"{prefix} {on_behalf_of.upper()}"
        audit.append(
            session,
            actor=actor,
            event="signing_authority_set",
            detail={"user": username, "line": line},
        )
    return line


def clear_signing_authority(ws: Workspace, actor: str, username: str) -> None:
    """An administrator removes ``username``'s authority: the default applies again; audited."""
    with transaction(ws.db) as session:
        admin_in(session, actor, "bỏ thẩm quyền ký", "remove signing authorities")
        found = _authority_of(session, known_user(session, username))
        if found is None:
            raise NotFound(
                f"{username} không có thẩm quyền ký được đặt riêng",
                f"{username} has no signing authority set",
                code="account.authority_not_set",
                user=username,
            )
        session.delete(found)
        audit.append(
            session, actor=actor, event="signing_authority_removed", detail={"user": username}
        )
