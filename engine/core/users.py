"""The agency's people as the engine looks them up."""

from __future__ import annotations

from sqlmodel import Session, select

from engine.core.errors import NotFound
from engine.core.models import User


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
