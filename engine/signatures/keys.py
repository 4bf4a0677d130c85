"""Keys, certificates and images the engine signs with.

The agency's seal key opens with the agency passphrase in the PKI folder and is loaded once per
workspace (the clerk seals, the server holds it). A leader's server-held key opens only with that
leader's own PIN, asked at every signature: it is never cached, so no one else (the clerk, an
administrator, a process that reads the passphrase file) can sign as the leader. A wrong PIN is
refused and audited; after :data:`MAX_PIN_TRIES` wrong PINs in a row the key is locked, as a
token locks, until an administrator unlocks it (``vanthu pin unlock``): that lets the leader try
again and signs nothing. The DEMO PKI generates each leader's PIN at run time into its DEMO PIN
file; production points the same folder at the agency's own files, and each leader sets their
own PIN (``vanthu pin set``).
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from pathlib import Path

from sqlmodel import Session, col, or_, select

from engine.core import audit
from engine.core.db import transaction
from engine.core.errors import ConfigError, NotAllowed
from engine.core.models import AuditEvent
from engine.core.users import user_named
from engine.core.workspace import Workspace
from signing import (
    Level,
    SigningError,
    SigningKey,
    SigningPolicy,
    change_pin,
    government_trust_roots,
    load_pkcs12,
    make_archival,
    open_personal_key,
)
from signing import signing_policy as policy_for
from signing.demo import (
    DemoPKI,
    IssuedCertificate,
    ensure_pki_services,
    forget_demo_pin,
    issued_certificates,
    load_demo_pki,
)
from vanthu.errors import Kind

MIN_PIN_LENGTH = 8
"""A PIN a leader chooses: long enough that guessing it against a copied key file (scrypt,
0.1 s a guess) takes years."""
MAX_PIN_TRIES = 5
"""Wrong PINs in a row that lock a leader's key until an administrator unlocks it."""
PIN_REFUSED, PIN_CHANGED, PIN_UNLOCKED = "pin_refused", "pin_changed", "pin_unlocked"
"""Audit events: a wrong PIN given (or a locked key tried), a leader's new PIN set, a locked key
unlocked by an administrator."""
_PIN_RESETS = frozenset({"signed", PIN_CHANGED})
"""The leader's own events that prove they knew their PIN: the wrong tries before no longer
count."""
ADMIN = "admin"
PERSONAL_LEVEL: Level = "B-T"
"""The leader's signature carries the TSA's time, as the agency seal does."""
IMAGES = "images"
SEAL_IMAGE = "seal.png"


def pki(ws: Workspace) -> DemoPKI:
    """The workspace's PKI, loaded once; its OCSP, CRL and TSA services answering."""
    cached = ws.caches.get("pki")
    if isinstance(cached, DemoPKI):
        return cached
    directory = ws.settings.effective_pki_dir
    if not directory.exists():
        raise ConfigError(
            f"không có thư mục khóa {directory} (chạy `vanthu setup-demo`)",
            f"no key folder {directory} (run `vanthu setup-demo`)",
            code="keys.folder_missing",
        )
    loaded = load_demo_pki(directory)
    if loaded.port:  # OCSP, CRL and TSA: every signature and archival timestamp asks them
        ensure_pki_services(loaded)
    ws.caches["pki"] = loaded
    return loaded


def issued(ws: Workspace) -> list[IssuedCertificate]:
    """The certificates the workspace's PKI issued, in order."""
    return issued_certificates(pki(ws))


def tsa_url(ws: Workspace) -> str:
    """The RFC 3161 timestamping service the workspace's signatures and archives use."""
    return ws.settings.tsa_url or pki(ws).tsa_url


def signing_policy(ws: Workspace, level: Level = "B-B") -> AbstractContextManager[SigningPolicy]:
    """``with keys.signing_policy(ws, "B-T"):`` — signatures inside follow the workspace's policy:
    its trust roots, revocation checked, and the PAdES level asked for."""
    url = tsa_url(ws) if level != "B-B" else None
    policy = SigningPolicy(trust_roots=tuple(trust_roots(ws)), level=level, tsa_url=url)
    return policy_for(policy)


def archival(ws: Workspace, pdf: bytes) -> bytes:
    """The PDF as the archive keeps it: PAdES B-LTA (validation data + document timestamp)."""
    return make_archival(pdf, trust_roots=trust_roots(ws), tsa_url=tsa_url(ws))


def _key(ws: Workspace, cache_key: str, path: Path) -> SigningKey:
    cached = ws.caches.get(cache_key)
    if isinstance(cached, SigningKey):
        return cached
    passphrase = pki(ws).passphrase_file.read_bytes().strip()
    key = load_pkcs12(path, passphrase)
    ws.caches[cache_key] = key
    return key


def _personal_file(ws: Workspace, username: str) -> Path:
    people = pki(ws).people
    if username not in people:
        raise ConfigError(
            f"người dùng '{username}' chưa có chứng thư số cá nhân",
            f"the user '{username}' has no personal certificate yet",
            code="keys.personal_missing",
            user=username,
        )
    return people[username]


def _require_pin(pin: str | None, username: str) -> str:
    if not pin:
        raise SigningError(
            f"cần mã PIN của {username} để ký: chỉ người ký mới mở được khóa của mình",
            f"{username}'s PIN is needed to sign: only the signer opens their own key",
            code="signing.pin_required",
            kind=Kind.INVALID,
            user=username,
        )
    return pin


def _refused(
    ws: Workspace, username: str, error: SigningError, document_id: int | None, purpose: str
) -> SigningError:
    """Record a wrong PIN in the audit chain, in a transaction of its own (the refusal stands
    whatever happens next); the error to raise."""
    with transaction(ws.db) as session:
        audit.append(
            session,
            actor=username,
            event=PIN_REFUSED,
            document_id=document_id,
            detail={"purpose": purpose, "code": error.code},
        )
    return error


def wrong_pins(ws: Workspace, username: str) -> int:
    """How many wrong PINs ``username`` gave in a row, from the audit chain: since their last
    signature, new PIN or unlocking."""
    with Session(ws.db) as session:
        recent = session.exec(
            select(AuditEvent)
            .where(
                or_(
                    (col(AuditEvent.actor) == username)
                    & col(AuditEvent.event).in_([PIN_REFUSED, *_PIN_RESETS]),
                    col(AuditEvent.event) == PIN_UNLOCKED,
                )
            )
            .order_by(col(AuditEvent.seq).desc())
            .limit(200)
        ).all()
    count = 0
    for event in recent:
        if event.event == PIN_UNLOCKED:
            if json.loads(event.detail).get("user") == username:
                break
        elif event.event in _PIN_RESETS:
            break
        else:
            count += 1
    return count


def _wrong_pin(ws: Workspace, username: str) -> SigningError:
    """The refusal of a wrong PIN, saying how many tries are left before the key locks."""
    left = max(MAX_PIN_TRIES - wrong_pins(ws, username) - 1, 0)
    return SigningError(
        f"mã PIN của {username} không đúng (còn {left} lần thử trước khi khóa ký số bị khóa)",
        f"{username}'s PIN is not correct ({left} tries left before the signing key locks)",
        code="signing.pin_incorrect",
        kind=Kind.FAILED,
        user=username,
        tries_left=left,
    )


def _refuse_if_locked(ws: Workspace, username: str, document_id: int | None, purpose: str) -> None:
    if wrong_pins(ws, username) < MAX_PIN_TRIES:
        return
    raise _refused(
        ws,
        username,
        SigningError(
            f"khóa ký số của {username} đã bị khóa sau {MAX_PIN_TRIES} lần nhập sai mã PIN;"
            " quản trị viên mở khóa: vanthu pin unlock",
            f"{username}'s signing key is locked after {MAX_PIN_TRIES} wrong PINs; an"
            " administrator unlocks it: vanthu pin unlock",
            code="signing.pin_locked",
            kind=Kind.FORBIDDEN,
            user=username,
            tries=MAX_PIN_TRIES,
        ),
        document_id,
        purpose,
    )


def personal_key(
    ws: Workspace, username: str, pin: str | None, *, document_id: int | None = None
) -> SigningKey:
    """``username``'s own signing key, opened with their ``pin`` now and kept by no one.

    A missing PIN is ``signing.pin_required``; a wrong one ``signing.pin_incorrect``, audited
    (``pin_refused``, naming ``document_id`` when signing one); after :data:`MAX_PIN_TRIES`
    wrong ones in a row, ``signing.pin_locked``."""
    path = _personal_file(ws, username)
    pin = _require_pin(pin, username)
    _refuse_if_locked(ws, username, document_id, "sign")
    try:
        return open_personal_key(path, pin)
    except SigningError as error:
        if error.code != "signing.pin_incorrect":
            raise
        raise _refused(ws, username, _wrong_pin(ws, username), document_id, "sign") from None


def set_pin(ws: Workspace, username: str, current: str | None, new: str | None) -> None:
    """``username`` replaces the PIN of their server-held key: ``current`` proves it is them,
    ``new`` (at least :data:`MIN_PIN_LENGTH` characters) opens the key from now on. Only that
    key file is re-encrypted; a DEMO PIN the DEMO file kept for them is forgotten. Audited
    (``pin_changed``), a wrong current PIN too (``pin_refused``)."""
    with Session(ws.db) as session:
        user_named(session, username)
    path = _personal_file(ws, username)
    current = _require_pin(current, username)
    if new is None or len(new) < MIN_PIN_LENGTH:
        raise SigningError(
            f"mã PIN mới phải có ít nhất {MIN_PIN_LENGTH} ký tự",
            f"the new PIN must have at least {MIN_PIN_LENGTH} characters",
            code="signing.pin_too_short",
            kind=Kind.INVALID,
            minimum=MIN_PIN_LENGTH,
        )
    _refuse_if_locked(ws, username, None, "pin_set")
    try:
        change_pin(path, current, new)
    except SigningError as error:
        if error.code != "signing.pin_incorrect":
            raise
        raise _refused(ws, username, _wrong_pin(ws, username), None, "pin_set") from None
    forget_demo_pin(pki(ws), username)
    with transaction(ws.db) as session:
        audit.append(session, actor=username, event=PIN_CHANGED, detail={"key": path.name})


def agency_key(ws: Workspace) -> SigningKey:
    return _key(ws, "key:agency", pki(ws).agency_p12)


def _image(ws: Workspace, name: str) -> bytes:
    path = ws.settings.effective_pki_dir / IMAGES / name
    if not path.exists():
        raise ConfigError(
            "không có tệp ảnh này",
            "no such image file",
            code="keys.image_missing",
            file=str(path),
        )
    return path.read_bytes()


def signature_image(ws: Workspace, username: str) -> bytes:
    return _image(ws, f"{username}.png")


def seal_image(ws: Workspace) -> bytes:
    return _image(ws, SEAL_IMAGE)


def trust_roots(ws: Workspace) -> list[bytes]:
    """The configured trust roots (PEM or DER), read once per workspace: the agency's own, and
    with ``government_trust`` the government's list shipped with Vanthu (each file checked by
    its published fingerprint; one that does not match is refused by name)."""
    cached = ws.caches.get("trust_roots")
    if isinstance(cached, list):
        return list(cached)
    paths = ws.settings.trust_roots or [pki(ws).root_cert]
    roots = [path.read_bytes() for path in paths]
    if ws.settings.government_trust:
        roots += government_trust_roots()
    ws.caches["trust_roots"] = roots
    return list(roots)


def unlock_pin(ws: Workspace, actor: str, username: str) -> int:
    """An administrator (``actor``) lets ``username`` try their PIN again after a lock; the
    wrong tries counted so far are returned. It opens no key and changes no PIN. Audited."""
    with Session(ws.db) as session:
        admin = user_named(session, actor)
        user_named(session, username)
    if admin.role != ADMIN:
        raise NotAllowed(
            f"{admin.full_name} ({actor}) không được mở khóa mã PIN: việc của quản trị viên",
            f"{admin.full_name} ({actor}) may not unlock a PIN: an administrator's work",
            code="signing.pin_unlock_admin_only",
            username=actor,
            role=admin.role,
        )
    tries = wrong_pins(ws, username)
    with transaction(ws.db) as session:
        audit.append(
            session,
            actor=actor,
            event=PIN_UNLOCKED,
            detail={"user": username, "wrong_tries": tries},
        )
    return tries
