"""The agency's people as an administrator keeps them: add, change, disable, passwords, the
second factor, the list. The web office and the command line call these.

- A password is hashed (:mod:`engine.core.credentials`) before the transaction that stores
  it. A password change, a new second factor or a disabled account ends the person's web
  sessions.
- A second factor (TOTP) is enrolled by the person or an administrator; its secret is shown
  once. With ``totp_for_signers`` leaders must have one to log in (:mod:`engine.core.sessions`).
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass

from sqlalchemy import delete
from sqlmodel import Session, col, select

from engine.core import audit
from engine.core.credentials import demo_password, hash_password, new_totp_secret, totp_uri
from engine.core.db import transaction
from engine.core.definitions import Role
from engine.core.errors import Conflict, InvalidInput
from engine.core.models import Agency, Unit, User, WebSession
from engine.core.units import unit_coded
from engine.core.users import NAME_LIMIT, admin_in, admin_text, known_user, user_named
from engine.core.workspace import Workspace
from vanthu import clock

USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")


@dataclass(frozen=True)
class Account:
    """A person as the web office shows them (no secret in it)."""

    id: int
    username: str
    full_name: str
    role: str
    title: str
    unit_code: str
    unit_name: str
    totp: bool
    """A second factor is enrolled."""


@dataclass(frozen=True)
class UserRow(Account):
    """A person as the administrator's list shows them, disabled or not (no secret in it)."""

    active: bool
    has_password: bool


@dataclass(frozen=True)
class TotpEnrolment:
    """A second factor just enrolled: shown once, to be entered into an authenticator app."""

    username: str
    secret: str
    uri: str
    """``otpauth://totp/…``, for a QR code."""


def account(ws: Workspace, username: str) -> Account:
    """The active person ``username`` as the web office shows them."""
    with Session(ws.db) as session:
        return _account_in(session, user_named(session, username))


def as_account(user: User, unit: Unit) -> Account:
    """``user`` of ``unit`` as the web office shows them."""
    assert user.id is not None
    return Account(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=user.role,
        title=user.title,
        unit_code=unit.code,
        unit_name=unit.name,
        totp=user.totp_secret is not None,
    )


def _account_in(session: Session, user: User) -> Account:
    unit = session.get(Unit, user.unit_id)
    assert unit is not None
    return as_account(user, unit)


def list_users(ws: Workspace, actor: str) -> list[UserRow]:
    """Every person, active or not, by unit then username; for an administrator."""
    with Session(ws.db) as session:
        admin_in(session, actor, "xem danh sách người dùng", "list users")
        rows = session.exec(
            select(User, Unit)
            .where(User.unit_id == Unit.id)
            .order_by(col(Unit.code), col(User.username))
        ).all()
    return [
        UserRow(
            **vars(as_account(user, unit)),
            active=user.active,
            has_password=user.password_hash is not None,
        )
        for user, unit in rows
    ]


def add_user(
    ws: Workspace, actor: str, username: str, *, full_name: str, role: str, unit: str, title: str
) -> Account:
    """A new person (no password yet: ``set_password``), by an administrator; audited."""
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidInput(
            f"tên đăng nhập '{username[:NAME_LIMIT]}' không hợp lệ: 2–64 ký tự gồm chữ thường "
            "không dấu, chữ số, dấu chấm, gạch dưới, gạch ngang",
            f"the username '{username[:NAME_LIMIT]}' is not valid: 2–64 characters of lower-case "
            "ASCII letters, digits, dot, underscore, hyphen",
            code="account.username_invalid",
        )
    _check_role(role)
    full_name = admin_text(full_name, "họ và tên", "the full name", 200)
    title = admin_text(title, "chức danh", "the title", 100)
    with transaction(ws.db) as session:
        admin_in(session, actor, "thêm người dùng", "add users")
        if session.exec(select(User).where(User.username == username)).first():
            raise Conflict(
                f"đã có người dùng '{username}'",
                f"there is a user '{username}' already",
                code="account.exists",
                user=username,
            )
        found = unit_coded(session, unit)
        assert found.id is not None
        user = User(
            username=username, full_name=full_name, role=role, unit_id=found.id, title=title
        )
        session.add(user)
        session.flush()
        audit.append(
            session,
            actor=actor,
            event="user_added",
            detail={"user": username, "role": role, "unit": unit, "title": title},
        )
        return as_account(user, found)


def change_user(
    ws: Workspace,
    actor: str,
    username: str,
    *,
    role: str | None = None,
    title: str | None = None,
    unit: str | None = None,
) -> Account:
    """An administrator changes ``username``'s role, title or unit (what is given); audited
    with the values before and after. Their open sessions see the change at the next page."""
    if role is not None:
        _check_role(role)
    if title is not None:
        title = admin_text(title, "chức danh", "the title", 100)
    with transaction(ws.db) as session:
        admin_in(session, actor, "sửa thông tin người dùng", "change users")
        user = known_user(session, username)
        before = {"role": user.role, "title": user.title, "unit": _unit_code(session, user)}
        if role is not None and username == actor and role != Role.ADMIN.value:
            raise Conflict(
                "không tự bỏ vai trò quản trị của mình được (nhờ quản trị viên khác)",
                "you cannot take the administrator role from yourself (ask another one)",
                code="account.demote_self",
                user=username,
            )
        if unit is not None:
            found = unit_coded(session, unit)
            assert found.id is not None
            user.unit_id = found.id
        if role is not None:
            user.role = role
        if title is not None:
            user.title = title
        session.add(user)
        session.flush()
        after = {"role": user.role, "title": user.title, "unit": _unit_code(session, user)}
        changed = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
        if not changed:
            raise InvalidInput(
                f"không có gì thay đổi cho {username}",
                f"nothing changes for {username}",
                code="account.nothing_changed",
                user=username,
            )
        audit.append(
            session, actor=actor, event="user_changed", detail={"user": username, **changed}
        )
        return _account_in(session, user)


def _check_role(role: str) -> None:
    roles = [r.value for r in Role]
    if role not in roles:
        raise InvalidInput(
            f"không có vai trò '{role}'; chọn một trong: {', '.join(roles)}",
            f"there is no role '{role}'; one of: {', '.join(roles)}",
            code="account.role_unknown",
            role=role,
        )


def _unit_code(session: Session, user: User) -> str:
    unit = session.get(Unit, user.unit_id)
    return unit.code if unit is not None else "?"


def set_password(ws: Workspace, actor: str, username: str, password: str) -> int:
    """Set ``username``'s password (their own, or an administrator's doing); their web sessions
    end. Returns how many ended. Audited, without the password."""
    hashed = hash_password(password)
    if hmac.compare_digest(password.casefold(), username.casefold()):
        raise InvalidInput(
            "mật khẩu không được trùng tên đăng nhập",
            "the password may not be the username",
            code="account.password_is_username",
        )
    with transaction(ws.db) as session:
        _self_or_admin(session, actor, username, "đặt mật khẩu cho người khác", "set passwords")
        user = known_user(session, username)
        user.password_hash = hashed
        user.password_set_at = clock.now()
        return _store_signed_out(session, actor, user, "password_set")


def set_initial_passwords(ws: Workspace, usernames: list[str]) -> dict[str, str]:
    """A random DEMO password for each of ``usernames`` (shown once by the caller), in one
    transaction; audited by the system (the demo sets them, no person)."""
    chosen = {name: demo_password() for name in usernames}
    hashes = {name: hash_password(password) for name, password in chosen.items()}
    with transaction(ws.db) as session:
        for name, hashed in hashes.items():
            user = known_user(session, name)
            user.password_hash = hashed
            user.password_set_at = clock.now()
            session.add(user)
        audit.append(
            session,
            actor="system",
            event="password_set",
            detail={"users": sorted(usernames), "demo": True},
        )
    return chosen


def disable_user(ws: Workspace, actor: str, username: str) -> int:
    """An administrator disables ``username``: no login, no action, their sessions end (the
    number returned). Their documents and history stay."""
    with transaction(ws.db) as session:
        admin_in(session, actor, "khóa tài khoản", "disable accounts")
        user = known_user(session, username)
        if username == actor:
            raise Conflict(
                "không tự khóa tài khoản của mình được (nhờ quản trị viên khác)",
                "you cannot disable your own account (ask another administrator)",
                code="account.disable_self",
                user=username,
            )
        if not user.active:
            raise Conflict(
                f"tài khoản {username} đã bị khóa",
                f"the account {username} is disabled already",
                code="account.already_disabled",
                user=username,
            )
        user.active = False
        return _store_signed_out(session, actor, user, "user_disabled")


def enrol_totp(ws: Workspace, actor: str, username: str) -> TotpEnrolment:
    """A new TOTP secret for ``username`` (their own doing or an administrator's): from now on
    login asks its 6-digit code. The secret is returned once; an earlier one stops working and
    the person's sessions end."""
    secret = new_totp_secret()
    with transaction(ws.db) as session:
        _self_or_admin(
            session, actor, username, "bật xác thực hai bước cho người khác", "enrol others"
        )
        user = known_user(session, username)
        if not user.active:
            raise Conflict(
                f"tài khoản {username} đã bị khóa",
                f"the account {username} is disabled",
                code="account.already_disabled",
                user=username,
            )
        user.totp_secret, user.totp_last_step = secret, None
        _store_signed_out(session, actor, user, "totp_enrolled", count=False)
        agency = session.exec(select(Agency.code)).first()
    uri = totp_uri(secret, username, agency)
    return TotpEnrolment(username=username, secret=secret, uri=uri)


def _self_or_admin(session: Session, actor: str, username: str, what: str, what_en: str) -> None:
    if actor != username:
        admin_in(session, actor, what, what_en)
    else:
        user_named(session, actor)


def _store_signed_out(
    session: Session, actor: str, user: User, event: str, *, count: bool = True
) -> int:
    """Store the change to ``user``, end their web sessions and audit ``event`` (with how many
    ended when ``count``); returns how many ended."""
    session.add(user)
    assert user.id is not None
    ended = session.exec(delete(WebSession).where(col(WebSession.user_id) == user.id))
    detail: dict[str, object] = {"user": user.username}
    if count:
        detail["sessions_ended"] = int(ended.rowcount or 0)
    audit.append(session, actor=actor, event=event, detail=detail)
    return int(ended.rowcount or 0)
