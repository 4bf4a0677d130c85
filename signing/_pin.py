"""A person's key file opened with their own PIN, and nobody else's secret.

A leader's server-held key is a PKCS#12 file whose password is derived from the leader's PIN
with scrypt (a fresh random salt per key, kept beside it in ``<name>.pin.json``), so guessing a
PIN against a stolen file costs a tenth of a second per guess instead of PKCS#12's fraction of a
millisecond. A key file without that companion (one a CA delivered, protected by the PIN as it
was chosen) opens with the PIN itself; the first change of PIN adds the companion.

Nothing here keeps a PIN or a decrypted key: every signature opens the file again.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from signing._errors import SigningError
from signing._signer import SigningKey, load_pkcs12
from vanthu.errors import Kind

PIN_SUFFIX = ".pin.json"
"""The companion of ``<name>.p12`` holding the PIN's key-derivation salt and parameters."""
KDF = {"kdf": "scrypt", "n": 2**15, "r": 8, "p": 1}
"""scrypt's cost: about 0.1 s and 32 MiB per guess."""
_MAX_MEM = 2**27
MAX_PIN_LENGTH = 128


def companion(path: Path) -> Path:
    """Where the PIN's salt of key file ``path`` lives."""
    return path.with_name(path.stem + PIN_SUFFIX)


def pkcs12_password(path: Path, pin: str) -> bytes:
    """The password of the PKCS#12 file ``path`` for ``pin``: the PIN stretched with scrypt
    and the key's own salt, or the PIN itself for a key file without a companion."""
    _check_shape(pin)
    secret = pin.encode("utf-8")
    found = companion(Path(path))
    if not found.exists():
        return secret
    try:
        params = json.loads(found.read_text(encoding="utf-8"))
        salt = bytes.fromhex(params["salt"])
        n, r, p = int(params["n"]), int(params["r"]), int(params["p"])
        if params.get("kdf") != "scrypt" or len(salt) < 16:
            raise ValueError("not a scrypt salt")
        derived = hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, maxmem=_MAX_MEM, dklen=32)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SigningError(
            f"không đọc được tệp tham số mã PIN {found.name}",
            f"the PIN parameters file {found.name} cannot be read",
            code="signing.pin_file_unreadable",
            kind=Kind.CONFIG,
            file=str(found),
        ) from exc
    return derived.hex().encode("ascii")


def open_personal_key(path: Path, pin: str) -> SigningKey:
    """The person's key and certificate from ``path``, opened with their ``pin``; a wrong PIN is
    :class:`SigningError` ``signing.pin_incorrect``."""
    try:
        return load_pkcs12(path, pkcs12_password(path, pin))
    except SigningError as error:
        if error.code == "signing.key.wrong_passphrase":
            raise pin_incorrect(path) from None
        raise


def protect_with_pin(
    path: Path,
    alias: str,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    certificate: x509.Certificate,
    chain: list[x509.Certificate],
    pin: str,
) -> None:
    """Write a new key file ``path`` (and its companion) that only ``pin`` opens."""
    _check_shape(pin)
    _write_companion(companion(Path(path)))
    data = pkcs12.serialize_key_and_certificates(
        alias.encode(),
        key,
        certificate,
        chain,
        serialization.BestAvailableEncryption(pkcs12_password(path, pin)),
    )
    _replace_private(Path(path), data)


def change_pin(path: Path, current: str, new: str) -> None:
    """Re-encrypt the key file ``path`` from ``current`` to ``new``; nothing else changes.

    The key's salt stays (a key file without a companion gets one first), so the file is
    replaced in one atomic rename and a crash leaves either the old or the new PIN working.
    """
    path = Path(path)
    _check_shape(new)
    old_password = pkcs12_password(path, current)
    try:
        loaded = pkcs12.load_pkcs12(path.read_bytes(), old_password)
    except ValueError:
        raise pin_incorrect(path) from None
    except OSError as exc:
        raise SigningError(
            f"không đọc được tệp khóa: {exc.strerror}",
            f"the key file cannot be read: {exc.strerror}",
            code="signing.key.file_unreadable",
            kind=Kind.CONFIG,
            file=str(path),
        ) from exc
    if loaded.key is None or loaded.cert is None:
        raise SigningError(
            "tệp khóa không có đủ khóa bí mật và chứng thư số",
            "the key file does not hold both a private key and a certificate",
            code="signing.key.incomplete",
            kind=Kind.CONFIG,
            file=str(path),
        )
    created = not companion(path).exists()
    if created:
        _write_companion(companion(path))
    data = pkcs12.serialize_key_and_certificates(
        loaded.cert.friendly_name,
        loaded.key,  # type: ignore[arg-type]
        loaded.cert.certificate,
        [c.certificate for c in loaded.additional_certs],
        serialization.BestAvailableEncryption(pkcs12_password(path, new)),
    )
    try:
        _replace_private(path, data)
    except BaseException:
        if created:  # the file still opens with the PIN itself, as before
            companion(path).unlink(missing_ok=True)
        raise


def pin_incorrect(path: Path) -> SigningError:
    return SigningError(
        "mã PIN không đúng",
        "the PIN is not correct",
        code="signing.pin_incorrect",
        kind=Kind.FAILED,
        file=str(path),
    )


def _check_shape(pin: str) -> None:
    if not pin or len(pin) > MAX_PIN_LENGTH or any(ord(c) < 32 for c in pin):
        raise SigningError(
            f"mã PIN phải có từ 1 đến {MAX_PIN_LENGTH} ký tự, không có ký tự điều khiển",
            f"a PIN must have 1 to {MAX_PIN_LENGTH} characters and no control characters",
            code="signing.pin_malformed",
            kind=Kind.INVALID,
        )


def _write_companion(path: Path) -> None:
    params = {**KDF, "salt": secrets.token_bytes(16).hex()}
    _replace_private(path, (json.dumps(params, indent=2) + "\n").encode("utf-8"))


def _replace_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` readable by its owner only, replacing it atomically."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
