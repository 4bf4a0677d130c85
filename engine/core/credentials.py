"""What a person proves themselves with: an argon2id password and a TOTP code.

Passwords are hashed with argon2id (argon2-cffi's RFC 9106 parameters). A TOTP second factor
follows RFC 6238: 6 digits, 30 s, a code accepted once. Nothing here touches the database.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from engine.core.errors import InvalidInput

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
"""Longer input is refused before hashing (argon2 hashes anything, slowly)."""
DEMO_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
"""A DEMO password's letters: no 0/o, 1/l/i to misread."""
TOTP_DIGITS = 6
TOTP_ISSUER = "Vanthu"

_hasher = PasswordHasher()  # argon2id: time 3, memory 64 MiB, parallelism 4 (RFC 9106, low memory)
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
"""Checked against when the username is unknown, so the answer takes as long either way."""


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


def password_matches(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; as slow when there is no hash to check."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def rehashed(stored: str, password: str) -> str | None:
    """A new hash of the just verified ``password`` when ``stored`` has outdated parameters."""
    return _hasher.hash(password) if _hasher.check_needs_rehash(stored) else None


def demo_password() -> str:
    """A random DEMO password: three groups of four letters and digits (about 59 bits)."""
    return "-".join("".join(secrets.choice(DEMO_ALPHABET) for _ in range(4)) for _ in range(3))


def new_totp_secret() -> str:
    return pyotp.random_base32(32)


def totp_uri(secret: str, username: str, agency: str | None) -> str:
    """``otpauth://totp/…`` for an authenticator app (a QR code), naming the agency."""
    issuer = f"{TOTP_ISSUER} {agency}" if agency else TOTP_ISSUER
    return pyotp.TOTP(secret, digits=TOTP_DIGITS).provisioning_uri(
        name=username, issuer_name=issuer
    )


def totp_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
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
