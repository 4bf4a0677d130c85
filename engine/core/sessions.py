"""Web sessions: login with a password and a second factor, login throttling, the session a
request carries, logout, and the messages a session's next page shows once.

- A web session is a random key in the browser's cookie; only its SHA-256 is kept. It ends
  after ``session_idle_minutes`` unused, at logout, and when the password changes. The key
  changes at login and again after the second factor (no fixation).
- A TOTP code is accepted once: a replayed code is refused.
- Login throttling: :data:`USER_FAILURES` failures for one username (since its last success)
  or :data:`ADDRESS_FAILURES` from one address within :data:`THROTTLE_WINDOW` refuse further
  attempts, without checking the password, until the oldest of them leaves the window. Refused
  logins are audited (``login_refused``); throttled attempts are not recorded (so hammering a
  refused login writes nothing).
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete
from sqlmodel import Session, col, func, select

from engine.core import audit
from engine.core.accounts import Account, as_account
from engine.core.credentials import password_matches, rehashed, totp_step
from engine.core.db import read_only, transaction
from engine.core.definitions import Role
from engine.core.errors import NotAllowed
from engine.core.models import LoginAttempt, Unit, User, WebSession
from engine.core.users import NAME_LIMIT
from engine.core.workspace import Workspace
from vanthu import clock

USER_FAILURES = 5
"""Failed logins for one username (since its last success) within the window that stop it."""
ADDRESS_FAILURES = 20
"""Failed logins from one network address within the window that stop it."""
THROTTLE_WINDOW = timedelta(minutes=15)
ATTEMPTS_KEPT = timedelta(days=1)
"""Login attempts older than this are deleted at the next login."""
SESSION_TOUCH = timedelta(seconds=60)
"""A session's last use is written at most this often (not on every request)."""
STAGE_ACTIVE, STAGE_TOTP = "active", "totp"

LOGIN_REFUSED_VI = "Tên đăng nhập hoặc mật khẩu không đúng."
LOGIN_REFUSED_EN = "The username or the password is wrong."


@dataclass(frozen=True)
class SessionGrant:
    """A session just opened: ``key`` goes into the browser's cookie and is never shown again."""

    key: str
    csrf_token: str
    username: str
    stage: str
    """``active``, or ``totp`` when the second factor is still to be given."""


@dataclass(frozen=True)
class SignedIn:
    """The session a request carries, and its person."""

    session_id: int
    stage: str
    csrf_token: str
    account: Account
    has_flashes: bool


# --- login ---------------------------------------------------------------------------------------


def login(ws: Workspace, username: str, password: str, *, address: str) -> SessionGrant:
    """Check ``username``'s password and open a session (stage ``totp`` when a second factor
    is enrolled: :func:`confirm_totp` finishes it). Refused with one message whatever was wrong
    (unknown user, wrong password, disabled account, no password set); each refusal recorded
    and audited in its own transaction; throttled as the module says."""
    name = username.strip()[:NAME_LIMIT]
    address = address[:NAME_LIMIT]
    now = clock.now()
    with Session(ws.db) as session:
        _throttle(session, name, address, now)
        user = session.exec(select(User).where(User.username == name)).first()
        stored = user.password_hash if user is not None else None
    matches = password_matches(stored, password)  # argon2: outside any transaction
    reason = None
    if user is None:
        reason = "unknown_user"
    elif not matches:
        reason = "no_password" if stored is None else "wrong_password"
    elif not user.active:
        reason = "disabled"
    required = (
        reason is None
        and user is not None
        and ws.settings.totp_for_signers
        and user.role == Role.LEADER.value
        and user.totp_secret is None
    )
    with transaction(ws.db) as session:
        if reason is not None or user is None:
            _refused(session, name, address, reason or "unknown_user")
            grant = None
        elif required:
            audit.append(
                session,
                actor=name,
                event="login_refused",
                detail={"reason": "totp_required", "address": address},
            )
            grant = None
        else:
            fresh = session.get(User, user.id)
            assert fresh is not None
            new_hash = rehashed(fresh.password_hash or "", password)
            if new_hash is not None:
                fresh.password_hash = new_hash
                session.add(fresh)
            _purge(session, timedelta(minutes=ws.settings.session_idle_minutes), now)
            stage = STAGE_TOTP if fresh.totp_secret else STAGE_ACTIVE
            grant = _open_session(session, fresh, stage, address)
            if stage == STAGE_ACTIVE:
                _logged_in(session, name, address, now, totp=False)
    if required:
        raise NotAllowed(
            "Lãnh đạo cần bật xác thực hai bước (mã TOTP) trước khi đăng nhập; hãy nhờ quản trị "
            "viên chạy `vanthu user totp`.",
            "Leaders need a second factor (TOTP) before they log in; ask an administrator to run "
            "`vanthu user totp`.",
            code="account.totp_required",
            user=name,
        )
    if grant is None:
        raise NotAllowed(LOGIN_REFUSED_VI, LOGIN_REFUSED_EN, code="account.login_refused")
    return grant


def confirm_totp(ws: Workspace, key: str, code: str, *, address: str) -> SessionGrant:
    """The second factor: with a valid, unused code the half-open session ``key`` is replaced
    by a new active one (a new key). A wrong code counts as a failed login."""
    address = address[:NAME_LIMIT]
    now = clock.now()
    idle = timedelta(minutes=ws.settings.session_idle_minutes)
    with Session(ws.db) as session:
        row = _session_keyed(session, key)
        if row is None or row.stage != STAGE_TOTP or row.last_seen_at < now - idle:
            raise NotAllowed(
                "Phiên đăng nhập đã hết; hãy nhập lại tên đăng nhập và mật khẩu.",
                "The login has expired; enter the username and password again.",
                code="account.session_expired",
            )
        user = session.get(User, row.user_id)
        assert user is not None and user.totp_secret is not None
        _throttle(session, user.username, address, now)
        step = totp_step(user.totp_secret, code, now, user.totp_last_step)
    with transaction(ws.db) as session:
        if step is None or not user.active:
            _refused(session, user.username, address, "totp")
            grant = None
        else:
            fresh = session.get(User, user.id)
            pending = _session_keyed(session, key)
            assert fresh is not None
            if pending is not None:
                session.delete(pending)
            fresh.totp_last_step = step
            session.add(fresh)
            grant = _open_session(session, fresh, STAGE_ACTIVE, address)
            _logged_in(session, fresh.username, address, now, totp=True)
    if grant is None:
        raise NotAllowed(
            "Mã xác thực không đúng hoặc đã dùng; hãy nhập mã mới trong ứng dụng xác thực.",
            "The code is wrong or was used already; enter a new code from the authenticator.",
            code="account.totp_refused",
        )
    return grant


def _throttle(session: Session, username: str, address: str, now: datetime) -> None:
    """Refuse (account.throttled) when too many recent failures name ``username`` or come from
    ``address``; says in how many minutes to try again."""
    since = now - THROTTLE_WINDOW
    last_success = session.exec(
        select(func.max(LoginAttempt.at))
        .where(LoginAttempt.username == username)
        .where(col(LoginAttempt.succeeded))
    ).one()
    user_since = max(since, last_success) if last_success is not None else since
    waits: list[datetime] = []
    for where, after, limit in (
        (LoginAttempt.username == username, user_since, USER_FAILURES),
        (LoginAttempt.address == address, since, ADDRESS_FAILURES),
    ):
        recent = session.exec(
            select(LoginAttempt.at)
            .where(where)
            .where(LoginAttempt.at > after)
            .where(col(LoginAttempt.succeeded).is_(False))
            .order_by(col(LoginAttempt.at).desc())
            .limit(limit)
        ).all()
        if len(recent) >= limit:
            waits.append(recent[-1] + THROTTLE_WINDOW)
    if waits:
        minutes = max(1, math.ceil((max(waits) - now).total_seconds() / 60))
        raise NotAllowed(
            f"Đăng nhập sai quá nhiều lần; hãy thử lại sau {minutes} phút.",
            f"Too many failed logins; try again in {minutes} minutes.",
            code="account.throttled",
            retry_after_minutes=minutes,
        )


def _refused(session: Session, username: str, address: str, reason: str) -> None:
    session.add(LoginAttempt(username=username, address=address, at=clock.now()))
    audit.append(
        session,
        actor=username or "?",
        event="login_refused",
        detail={"reason": reason, "address": address},
    )


def _logged_in(session: Session, username: str, address: str, now: datetime, *, totp: bool) -> None:
    session.add(LoginAttempt(username=username, address=address, at=now, succeeded=True))
    audit.append(session, actor=username, event="login", detail={"address": address, "totp": totp})


def _open_session(session: Session, user: User, stage: str, address: str) -> SessionGrant:
    assert user.id is not None
    key = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(
        WebSession(
            key_hash=_key_hash(key),
            user_id=user.id,
            stage=stage,
            csrf_token=csrf,
            address=address,
            created_at=now,
            last_seen_at=now,
        )
    )
    return SessionGrant(key=key, csrf_token=csrf, username=user.username, stage=stage)


def _purge(session: Session, idle: timedelta, now: datetime) -> None:
    session.exec(delete(WebSession).where(col(WebSession.last_seen_at) < now - idle))
    session.exec(delete(LoginAttempt).where(col(LoginAttempt.at) < now - ATTEMPTS_KEPT))


# --- the session a request carries ---------------------------------------------------------------


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _session_keyed(session: Session, key: str) -> WebSession | None:
    return session.exec(select(WebSession).where(WebSession.key_hash == _key_hash(key))).first()


_SESSION_LOOKUP = (
    select(WebSession, User, Unit)
    .where(WebSession.key_hash == bindparam("key_hash"))
    .where(WebSession.user_id == User.id)
    .where(User.unit_id == Unit.id)
)
"""Every request's first statement, built once (building it costs more than running it)."""


def signed_in(ws: Workspace, key: str) -> SignedIn | None:
    """The session ``key`` belongs to and its person; None when there is none, it has been idle
    too long (it ends, audited as ``session_expired``) or the person is disabled."""
    if not key or len(key) > 128:
        return None
    now = clock.now()
    idle = timedelta(minutes=ws.settings.session_idle_minutes)
    with Session(read_only(ws.db)) as session:
        found = session.execute(_SESSION_LOOKUP, {"key_hash": _key_hash(key)}).first()
    if found is None:
        return None
    row, user, unit = found
    if row.last_seen_at < now - idle or not user.active:
        with transaction(ws.db) as session:
            ended = session.exec(delete(WebSession).where(col(WebSession.id) == row.id))
            if ended.rowcount:
                audit.append(
                    session,
                    actor=user.username,
                    event="session_expired",
                    detail={"idle_minutes": ws.settings.session_idle_minutes},
                )
        return None
    if now - row.last_seen_at >= SESSION_TOUCH:
        with transaction(ws.db) as session:
            stored = session.get(WebSession, row.id)
            if stored is not None:
                stored.last_seen_at = now
                session.add(stored)
    assert row.id is not None
    return SignedIn(
        session_id=row.id,
        stage=row.stage,
        csrf_token=row.csrf_token,
        account=as_account(user, unit),
        has_flashes=bool(row.flash),
    )


def logout(ws: Workspace, key: str) -> bool:
    """End the session ``key``; audited. False when there was none."""
    with transaction(ws.db) as session:
        row = _session_keyed(session, key)
        if row is None:
            return False
        user = session.get(User, row.user_id)
        session.delete(row)
        audit.append(session, actor=user.username if user else "?", event="logout", detail={})
    return True


# --- messages shown once -------------------------------------------------------------------------


def add_flash(ws: Workspace, session_id: int, message: str, kind: str = "info") -> None:
    """A message the session's next page shows once (after a redirect)."""
    with transaction(ws.db) as session:
        row = session.get(WebSession, session_id)
        if row is None:
            return
        shown = json.loads(row.flash) if row.flash else []
        shown.append([kind, message])
        row.flash = json.dumps(shown[-10:], ensure_ascii=False)
        session.add(row)


def take_flashes(ws: Workspace, session_id: int) -> list[tuple[str, str]]:
    """The session's waiting messages (kind, text), removed as they are taken."""
    with transaction(ws.db) as session:
        row = session.get(WebSession, session_id)
        if row is None or not row.flash:
            return []
        shown = [(str(kind), str(text)) for kind, text in json.loads(row.flash)]
        row.flash = None
        session.add(row)
    return shown
