"""The agency's people as the engine looks them up."""

from __future__ import annotations

from sqlmodel import Session, select

from engine.core.errors import NotFound
from engine.core.models import SigningAuthority, User


def user_named(session: Session, username: str) -> User:
    """The active user ``username``; a disabled or unknown one is not found."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        raise NotFound(
            f"không có người dùng '{username}'",
            f"no user '{username}'",
            code="user.not_found",
            user=username,
        )
    return user


SIGNING_PREFIXES = ("KT.", "TL.", "TUQ.", "Q.", "TM.")
"""How one signs for another (Decree 30, Appendix I): ký thay, thừa lệnh, thừa ủy quyền,
quyền, thay mặt."""


def authority_line(session: Session, signer: User, head_title: str) -> str | None:
    """The line above ``signer``'s title: the one an administrator set (``TL. GIÁM ĐỐC``), or
    else ``KT.`` the agency head's title when the signer's differs; None for the head."""
    found = session.exec(
        select(SigningAuthority).where(SigningAuthority.user_id == signer.id)
    ).first()
    if found is not None:
        return f"{found.prefix} {found.on_behalf_of.upper()}"
    if signer.title.upper() == head_title.upper():
        return None
    return f"KT. {head_title.upper()}"
