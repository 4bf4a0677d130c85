"""The agency's people as the engine looks them up, and who may administer them."""

from __future__ import annotations

from sqlmodel import Session, select

from engine.core.definitions import Role
from engine.core.errors import InvalidInput, NotAllowed, NotFound
from engine.core.models import User
from engine.core.workspace import Workspace

NAME_LIMIT = 64
"""A username or code as quoted in a message, a login attempt or the audit log, at most."""


def user_named(session: Session, username: str) -> User:
    """The active user ``username``; a disabled or unknown one is not found."""
    return _named(session, username, active_only=True)


def known_user(session: Session, username: str) -> User:
    """The user ``username``, active or disabled."""
    return _named(session, username, active_only=False)


def _named(session: Session, username: str, *, active_only: bool) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or (active_only and not user.active):
        raise NotFound(
            f"không có người dùng '{username}'",
            f"no user '{username}'",
            code="user.not_found",
            user=username,
        )
    return user


def admin_in(session: Session, actor: str, what: str, what_en: str) -> User:
    """``actor`` if an active administrator, in an open session; else account.admin_required
    naming ``what`` (``what_en`` in English)."""
    user = user_named(session, actor)
    if user.role != Role.ADMIN.value:
        raise NotAllowed(
            f"chỉ quản trị viên (vai trò admin) được {what}; {actor} không phải quản trị viên",
            f"only an administrator (role admin) may {what_en}; {actor} is not one",
            code="account.admin_required",
            user=actor,
        )
    return user


def require_admin(ws: Workspace, actor: str) -> None:
    """Refuse (account.admin_required) unless ``actor`` is an active administrator: for the
    administrator's read-only pages."""
    with Session(ws.db) as session:
        admin_in(session, actor, "xem trang quản trị", "see the administration pages")


def admin_text(value: str, field: str, field_en: str, limit: int) -> str:
    """An administrator's one-line entry, spaces tidied; 1 to ``limit`` characters."""
    cleaned = " ".join(value.split())
    if not cleaned or len(cleaned) > limit:
        raise InvalidInput(
            f"{field} cần từ 1 đến {limit} ký tự",
            f"{field_en} needs 1 to {limit} characters",
            code="account.field_invalid",
            field=field_en,
        )
    return cleaned
