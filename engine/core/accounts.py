"""Local accounts: argon2id passwords, an optional TOTP second factor, web sessions and login
throttling. The web office and the command line call these; they hold no rule of their own.

- Passwords are hashed with argon2id (argon2-cffi's RFC 9106 parameters); the hash is computed
  before the transaction that stores it. A password change or a disabled account ends the
  person's web sessions.
- A second factor (TOTP, RFC 6238, 6 digits, 30 s) is enrolled by the person or an
  administrator; its secret is shown once. With ``totp_for_signers`` leaders must have one.
  A code is accepted once: a replayed code is refused.
- A web session is a random key in the browser's cookie; only its SHA-256 is kept. It ends
  after ``session_idle_minutes`` unused, at logout, and when the password changes. The key
  changes at login and again after the second factor (no fixation).
- Login throttling: :data:`USER_FAILURES` failures for one username (since its last success)
  or :data:`ADDRESS_FAILURES` from one address within :data:`THROTTLE_WINDOW` refuse further
  attempts, without checking the password, until the oldest of them leaves the window. Refused
  logins are audited (``login_refused``); throttled attempts are not recorded (so hammering a
  refused login writes nothing).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import bindparam, delete
from sqlmodel import Session, col, func, select

from engine.core import audit
from engine.core.db import read_only, transaction
from engine.core.definitions import Role
from engine.core.errors import Conflict, InvalidInput, NotAllowed, NotFound
from engine.core.models import (
    Agency,
    LoginAttempt,
    SigningAuthority,
    Unit,
    User,
    WebSession,
)
from engine.core.users import SIGNING_PREFIXES, authority_line
from engine.core.workspace import Workspace
from vanthu import clock

ADMIN = Role.ADMIN.value
LEADER = Role.LEADER.value
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
"""Longer input is refused before hashing (argon2 hashes anything, slowly)."""
USER_FAILURES = 5
"""Failed logins for one username (since its last success) within the window that stop it."""
ADDRESS_FAILURES = 20
"""Failed logins from one network address within the window that stop it."""
THROTTLE_WINDOW = timedelta(minutes=15)
ATTEMPTS_KEPT = timedelta(days=1)
"""Login attempts older than this are deleted at the next login."""
SESSION_TOUCH = timedelta(seconds=60)
"""A session's last use is written at most this often (not on every request)."""
TOTP_DIGITS = 6
TOTP_ISSUER = "Vanthu"
STAGE_ACTIVE, STAGE_TOTP = "active", "totp"
USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
NAME_LIMIT = 64
"""A username as recorded in an attempt or the audit log, at most."""
DEMO_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
"""A DEMO password's letters: no 0/o, 1/l/i to misread."""

_hasher = PasswordHasher()  # argon2id: time 3, memory 64 MiB, parallelism 4 (RFC 9106, low memory)
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
"""Checked against when the username is unknown, so the answer takes as long either way."""

LOGIN_REFUSED_VI = "Tên đăng nhập hoặc mật khẩu không đúng."
LOGIN_REFUSED_EN = "The username or the password is wrong."


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


@dataclass(frozen=True)
class TotpEnrolment:
    """A second factor just enrolled: shown once, to be entered into an authenticator app."""

    username: str
    secret: str
    uri: str
    """``otpauth://totp/…``, for a QR code."""


# --- passwords -----------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``, after checking its length."""
    check_password(password)
    return _hasher.hash(password)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"mật khẩu cần ít nhất {MIN_PASSWORD_LENGTH} ký tự",
            f"a password needs at least {MIN_PASSWORD_LENGTH} characters",
            code="account.password_too_short",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"mật khẩu dài quá {MAX_PASSWORD_LENGTH} ký tự",
            f"a password is longer than {MAX_PASSWORD_LENGTH} characters",
            code="account.password_too_long",
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in password):
        raise InvalidInput(
            "mật khẩu không được chứa ký tự điều khiển (xuống dòng, tab…)",
            "a password may not contain control characters (newline, tab…)",
            code="account.password_invalid",
        )


def _verify(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; as slow when there is no hash to check."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def demo_password() -> str:
    """A random DEMO password: three groups of four letters and digits (about 59 bits)."""
    return "-".join("".join(secrets.choice(DEMO_ALPHABET) for _ in range(4)) for _ in range(3))


# --- people --------------------------------------------------------------------------------------


def _user(session: Session, username: str) -> User:
    """``username`` whether active or not."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(
            f"không có người dùng '{username}'",
            f"no user '{username}'",
            code="user.not_found",
            user=username,
        )
    return user


def _actor(session: Session, actor: str) -> User:
    user = session.exec(select(User).where(User.username == actor)).first()
    if user is None or not user.active:
        raise NotFound(
            f"không có người dùng '{actor}'",
            f"no user '{actor}'",
            code="user.not_found",
            user=actor,
        )
    return user


def _require_admin(session: Session, actor: str, what: str, what_en: str) -> User:
    user = _actor(session, actor)
    if user.role != ADMIN:
        raise NotAllowed(
            f"chỉ quản trị viên (vai trò admin) được {what}; {actor} không phải quản trị viên",
            f"only an administrator (role admin) may {what_en}; {actor} is not one",
            code="account.admin_required",
            user=actor,
        )
    return user


def _self_or_admin(session: Session, actor: str, username: str, what: str, what_en: str) -> None:
    if actor != username:
        _require_admin(session, actor, what, what_en)
    else:
        _actor(session, actor)


def _end_sessions(session: Session, user_id: int) -> int:
    ended = session.exec(delete(WebSession).where(col(WebSession.user_id) == user_id))
    return int(ended.rowcount or 0)


def _text(value: str, field: str, field_en: str, limit: int) -> str:
    cleaned = " ".join(value.split())
    if not cleaned or len(cleaned) > limit:
        raise InvalidInput(
            f"{field} cần từ 1 đến {limit} ký tự",
            f"{field_en} needs 1 to {limit} characters",
            code="account.field_invalid",
            field=field_en,
        )
    return cleaned


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
    roles = [r.value for r in Role]
    if role not in roles:
        raise InvalidInput(
            f"không có vai trò '{role}'; chọn một trong: {', '.join(roles)}",
            f"there is no role '{role}'; one of: {', '.join(roles)}",
            code="account.role_unknown",
            role=role,
        )
    full_name = _text(full_name, "họ và tên", "the full name", 200)
    title = _text(title, "chức danh", "the title", 100)
    with transaction(ws.db) as session:
        _require_admin(session, actor, "thêm người dùng", "add users")
        if session.exec(select(User).where(User.username == username)).first():
            raise Conflict(
                f"đã có người dùng '{username}'",
                f"there is a user '{username}' already",
                code="account.exists",
                user=username,
            )
        found = session.exec(select(Unit).where(Unit.code == unit)).first()
        if found is None or found.id is None:
            known = ", ".join(session.exec(select(Unit.code).order_by(col(Unit.code))).all())
            raise InvalidInput(
                f"không có đơn vị '{unit}'; các đơn vị: {known}",
                f"there is no unit '{unit}'; the units: {known}",
                code="account.unit_unknown",
                unit=unit,
            )
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
        return _account(user, found)


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
        user = _user(session, username)
        user.password_hash = hashed
        user.password_set_at = clock.now()
        session.add(user)
        assert user.id is not None
        ended = _end_sessions(session, user.id)
        audit.append(
            session,
            actor=actor,
            event="password_set",
            detail={"user": username, "sessions_ended": ended},
        )
    return ended


def set_initial_passwords(ws: Workspace, usernames: list[str]) -> dict[str, str]:
    """A random DEMO password for each of ``usernames`` (shown once by the caller), in one
    transaction; audited by the system (the demo sets them, no person)."""
    chosen = {name: demo_password() for name in usernames}
    hashes = {name: _hasher.hash(password) for name, password in chosen.items()}
    with transaction(ws.db) as session:
        for name, hashed in hashes.items():
            user = _user(session, name)
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
        _require_admin(session, actor, "khóa tài khoản", "disable accounts")
        user = _user(session, username)
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
        session.add(user)
        assert user.id is not None
        ended = _end_sessions(session, user.id)
        audit.append(
            session,
            actor=actor,
            event="user_disabled",
            detail={"user": username, "sessions_ended": ended},
        )
    return ended


def enrol_totp(ws: Workspace, actor: str, username: str) -> TotpEnrolment:
    """A new TOTP secret for ``username`` (their own doing or an administrator's): from now on
    login asks its 6-digit code. The secret is returned once; an earlier one stops working and
    the person's sessions end."""
    secret = pyotp.random_base32(32)
    with transaction(ws.db) as session:
        _self_or_admin(
            session, actor, username, "bật xác thực hai bước cho người khác", "enrol others"
        )
        user = _user(session, username)
        if not user.active:
            raise Conflict(
                f"tài khoản {username} đã bị khóa",
                f"the account {username} is disabled",
                code="account.already_disabled",
                user=username,
            )
        user.totp_secret, user.totp_last_step = secret, None
        session.add(user)
        assert user.id is not None
        _end_sessions(session, user.id)
        agency = session.exec(select(Agency.code)).first()
        audit.append(session, actor=actor, event="totp_enrolled", detail={"user": username})
    issuer = f"{TOTP_ISSUER} {agency}" if agency else TOTP_ISSUER
    uri = pyotp.TOTP(secret, digits=TOTP_DIGITS).provisioning_uri(name=username, issuer_name=issuer)
    return TotpEnrolment(username=username, secret=secret, uri=uri)


def account(ws: Workspace, username: str) -> Account:
    """The active person ``username`` as the web office shows them."""
    with Session(ws.db) as session:
        user = _actor(session, username)
        unit = session.get(Unit, user.unit_id)
        assert unit is not None
        return _account(user, unit)


def _account(user: User, unit: Unit) -> Account:
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


# --- login and sessions --------------------------------------------------------------------------


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


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
    matches = _verify(stored, password)  # argon2: outside any transaction
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
        and user.role == LEADER
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
            if _hasher.check_needs_rehash(fresh.password_hash or ""):
                fresh.password_hash = _hasher.hash(password)
                session.add(fresh)
            _purge(session, timedelta(minutes=ws.settings.session_idle_minutes), now)
            stage = STAGE_TOTP if fresh.totp_secret else STAGE_ACTIVE
            grant = _open_session(session, fresh, stage, address)
            if stage == STAGE_ACTIVE:
                session.add(LoginAttempt(username=name, address=address, at=now, succeeded=True))
                audit.append(
                    session, actor=name, event="login", detail={"address": address, "totp": False}
                )
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


def _totp_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step ``code`` belongs to (now, or one step either side), if it was not used."""
    code = code.strip().replace(" ", "")
    if not (len(code) == TOTP_DIGITS and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        expected = totp.generate_otp(step)
        if hmac.compare_digest(expected, code) and (last_step is None or step > last_step):
            return step
    return None


def confirm_totp(ws: Workspace, key: str, code: str, *, address: str) -> SessionGrant:
    """The second factor: with a valid, unused code the half-open session ``key`` is replaced
    by a new active one (a new key). A wrong code counts as a failed login."""
    address = address[:NAME_LIMIT]
    now = clock.now()
    idle = timedelta(minutes=ws.settings.session_idle_minutes)
    with Session(ws.db) as session:
        row = session.exec(select(WebSession).where(WebSession.key_hash == _key_hash(key))).first()
        if row is None or row.stage != STAGE_TOTP or row.last_seen_at < now - idle:
            raise NotAllowed(
                "Phiên đăng nhập đã hết; hãy nhập lại tên đăng nhập và mật khẩu.",
                "The login has expired; enter the username and password again.",
                code="account.session_expired",
            )
        user = session.get(User, row.user_id)
        assert user is not None and user.totp_secret is not None
        _throttle(session, user.username, address, now)
        step = _totp_step(user.totp_secret, code, now, user.totp_last_step)
    with transaction(ws.db) as session:
        if step is None or not user.active:
            _refused(session, user.username, address, "totp")
            grant = None
        else:
            fresh = session.get(User, user.id)
            pending = session.exec(
                select(WebSession).where(WebSession.key_hash == _key_hash(key))
            ).first()
            assert fresh is not None
            if pending is not None:
                session.delete(pending)
            fresh.totp_last_step = step
            session.add(fresh)
            grant = _open_session(session, fresh, STAGE_ACTIVE, address)
            session.add(
                LoginAttempt(username=fresh.username, address=address, at=now, succeeded=True)
            )
            audit.append(
                session,
                actor=fresh.username,
                event="login",
                detail={"address": address, "totp": True},
            )
    if grant is None:
        raise NotAllowed(
            "Mã xác thực không đúng hoặc đã dùng; hãy nhập mã mới trong ứng dụng xác thực.",
            "The code is wrong or was used already; enter a new code from the authenticator.",
            code="account.totp_refused",
        )
    return grant


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
        account=_account(user, unit),
        has_flashes=bool(row.flash),
    )


def logout(ws: Workspace, key: str) -> bool:
    """End the session ``key``; audited. False when there was none."""
    with transaction(ws.db) as session:
        row = session.exec(select(WebSession).where(WebSession.key_hash == _key_hash(key))).first()
        if row is None:
            return False
        user = session.get(User, row.user_id)
        session.delete(row)
        audit.append(session, actor=user.username if user else "?", event="logout", detail={})
    return True


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


# --- administration ------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserRow:
    """A person as the administrator's list shows them (no secret in it)."""

    username: str
    full_name: str
    role: str
    title: str
    unit_code: str
    unit_name: str
    active: bool
    has_password: bool
    totp: bool


@dataclass(frozen=True)
class UnitRow:
    code: str
    name: str
    people: int
    """Active people in it."""


@dataclass(frozen=True)
class AuthorityRow:
    """How a signer's signature block reads, and whether an administrator set it."""

    username: str
    full_name: str
    title: str
    line: str | None
    """``KT. GIÁM ĐỐC``; None: the signer signs in their own name (the agency's head)."""
    configured: bool


UNIT_CODE_PATTERN = re.compile(r"[A-Z][A-Z0-9]{0,19}")


def admin_in(session: Session, actor: str, what: str, what_en: str) -> User:
    """``actor`` if an active administrator, in an open session (for other engine packages'
    administrator functions); else account.admin_required naming ``what``."""
    return _require_admin(session, actor, what, what_en)


def require_admin(ws: Workspace, actor: str) -> None:
    """Refuse (account.admin_required) unless ``actor`` is an active administrator: for the
    administrator's read-only pages."""
    with Session(ws.db) as session:
        _require_admin(session, actor, "xem trang quản trị", "see the administration pages")


def list_users(ws: Workspace, actor: str) -> list[UserRow]:
    """Every person, active or not, by unit then username; for an administrator."""
    with Session(ws.db) as session:
        _require_admin(session, actor, "xem danh sách người dùng", "list users")
        rows = session.exec(
            select(User, Unit)
            .where(User.unit_id == Unit.id)
            .order_by(col(Unit.code), col(User.username))
        ).all()
    return [
        UserRow(
            username=user.username,
            full_name=user.full_name,
            role=user.role,
            title=user.title,
            unit_code=unit.code,
            unit_name=unit.name,
            active=user.active,
            has_password=user.password_hash is not None,
            totp=user.totp_secret is not None,
        )
        for user, unit in rows
    ]


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
    roles = [r.value for r in Role]
    if role is not None and role not in roles:
        raise InvalidInput(
            f"không có vai trò '{role}'; chọn một trong: {', '.join(roles)}",
            f"there is no role '{role}'; one of: {', '.join(roles)}",
            code="account.role_unknown",
            role=role,
        )
    if title is not None:
        title = _text(title, "chức danh", "the title", 100)
    with transaction(ws.db) as session:
        _require_admin(session, actor, "sửa thông tin người dùng", "change users")
        user = _user(session, username)
        before = {"role": user.role, "title": user.title, "unit": _unit_code(session, user)}
        if role is not None and username == actor and role != ADMIN:
            raise Conflict(
                "không tự bỏ vai trò quản trị của mình được (nhờ quản trị viên khác)",
                "you cannot take the administrator role from yourself (ask another one)",
                code="account.demote_self",
                user=username,
            )
        if unit is not None:
            found = _unit(session, unit)
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
        unit_row = session.get(Unit, user.unit_id)
        assert unit_row is not None
        return _account(user, unit_row)


def _unit_code(session: Session, user: User) -> str:
    unit = session.get(Unit, user.unit_id)
    return unit.code if unit is not None else "?"


def _unit(session: Session, code: str) -> Unit:
    found = session.exec(select(Unit).where(Unit.code == code)).first()
    if found is None:
        known = ", ".join(session.exec(select(Unit.code).order_by(col(Unit.code))).all())
        raise InvalidInput(
            f"không có đơn vị '{code}'; các đơn vị: {known}",
            f"there is no unit '{code}'; the units: {known}",
            code="account.unit_unknown",
            unit=code,
        )
    return found


def list_units(ws: Workspace, actor: str) -> list[UnitRow]:
    """The agency's units by code, with how many active people each has; for an administrator."""
    with Session(ws.db) as session:
        _require_admin(session, actor, "xem danh sách đơn vị", "list units")
        counts = dict(
            session.exec(
                select(User.unit_id, func.count())
                .where(col(User.active))
                .group_by(col(User.unit_id))
            ).all()
        )
        units = session.exec(select(Unit).order_by(col(Unit.code))).all()
    return [UnitRow(u.code, u.name, int(counts.get(u.id or 0, 0))) for u in units]


def add_unit(ws: Workspace, actor: str, code: str, name: str) -> UnitRow:
    """A new unit of the agency (``PC``, ``Phòng Pháp chế``), by an administrator; audited."""
    code = code.strip().upper()
    if not UNIT_CODE_PATTERN.fullmatch(code):
        raise InvalidInput(
            f"mã đơn vị '{code[:NAME_LIMIT]}' không hợp lệ: 1–20 chữ in hoa không dấu và chữ số, "
            "bắt đầu bằng chữ",
            f"the unit code '{code[:NAME_LIMIT]}' is not valid: 1–20 upper-case ASCII letters "
            "and digits, starting with a letter",
            code="account.unit_code_invalid",
        )
    name = _text(name, "tên đơn vị", "the unit's name", 200)
    with transaction(ws.db) as session:
        _require_admin(session, actor, "thêm đơn vị", "add units")
        if session.exec(select(Unit).where(Unit.code == code)).first() is not None:
            raise Conflict(
                f"đã có đơn vị '{code}'",
                f"there is a unit '{code}' already",
                code="account.unit_exists",
                unit=code,
            )
        agency = session.exec(select(Agency)).first()
        if agency is None or agency.id is None:
            raise Conflict(
                "chưa có cơ quan (chạy `vanthu setup-demo` hoặc tạo cơ quan trước)",
                "there is no agency yet (run `vanthu setup-demo` or create the agency first)",
                code="account.no_agency",
            )
        session.add(Unit(agency_id=agency.id, code=code, name=name))
        audit.append(session, actor=actor, event="unit_added", detail={"unit": code, "name": name})
    return UnitRow(code, name, 0)


def signing_authorities(ws: Workspace, actor: str) -> list[AuthorityRow]:
    """Every active leader (and anyone given an authority) with the line above their title;
    for an administrator."""
    with Session(ws.db) as session:
        _require_admin(session, actor, "xem thẩm quyền ký", "see signing authorities")
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
            if user.role == LEADER or user.id in set_for
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
    on_behalf_of = _text(on_behalf_of, "chức danh được ký thay", "the title signed for", 100)
    with transaction(ws.db) as session:
        _require_admin(session, actor, "đặt thẩm quyền ký", "set signing authorities")
        user = _user(session, username)
        found = session.exec(
            select(SigningAuthority).where(SigningAuthority.user_id == user.id)
        ).first()
        assert user.id is not None
        row = found or SigningAuthority(
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
        _require_admin(session, actor, "bỏ thẩm quyền ký", "remove signing authorities")
        user = _user(session, username)
        found = session.exec(
            select(SigningAuthority).where(SigningAuthority.user_id == user.id)
        ).first()
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
