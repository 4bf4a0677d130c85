"""Keys on a PKCS#11 token (USB token, HSM; SoftHSM2 in tests) behind the SigningKey interface.

The session is opened once and kept: logging in costs more than a signature. The private key
never leaves the token; pyHanko's PKCS#11 signer asks the token for each raw signature.
Production names the vendor's module (``.so``) in configuration.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pkcs11
from asn1crypto import algos, keys
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11 import exceptions as p11_errors
from pyhanko.sign.pkcs11 import PKCS11Signer

from signing._certs import to_asn1
from signing._errors import SigningError
from signing._signer import SigningKey, digest_not_sha256, verify_digest_signature
from vanthu.errors import Kind

_PIN_ERRORS: dict[type[Exception], tuple[str, str, str, Kind]] = {
    p11_errors.PinIncorrect: (
        "sai mã PIN",
        "wrong PIN",
        "signing.token.pin_incorrect",
        Kind.FAILED,
    ),
    p11_errors.PinLocked: (
        "thiết bị ký đã bị khóa vì nhập sai mã PIN quá số lần cho phép",
        "the signing device is locked after too many wrong PINs",
        "signing.token.pin_locked",
        Kind.FAILED,
    ),
    p11_errors.PinExpired: (
        "mã PIN đã hết hạn, cần đổi mã PIN trên thiết bị ký",
        "the PIN has expired, it must be changed on the signing device",
        "signing.token.pin_expired",
        Kind.FAILED,
    ),
    p11_errors.PinLenRange: (
        "mã PIN không đúng độ dài thiết bị ký yêu cầu",
        "the PIN does not have the length the signing device requires",
        "signing.token.pin_invalid",
        Kind.INVALID,
    ),
    p11_errors.PinInvalid: (
        "mã PIN có ký tự không hợp lệ",
        "the PIN has characters that are not allowed",
        "signing.token.pin_invalid",
        Kind.INVALID,
    ),
}
"""Why a login failed: Vietnamese, English, code, kind."""


class _SerialisedSigner(PKCS11Signer):
    """pyHanko's PKCS#11 signer, one token operation at a time: a PKCS#11 session may not run
    two signing operations at once, and a server signs from several threads."""

    def __init__(self, session: Any, lock: threading.Lock, **kwargs: Any) -> None:
        super().__init__(session, **kwargs)
        self._lock = lock

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        with self._lock:
            return bytes(await super().async_sign_raw(data, digest_algorithm, dry_run))


class TokenKey(SigningKey):
    """A private key on a token, with its certificate; one logged-in session kept open."""

    def __init__(
        self,
        session: Any,
        key: Any,
        certificate: x509.Certificate,
        chain: list[x509.Certificate],
        *,
        token_label: str,
    ) -> None:
        self._lock = threading.Lock()
        signer = _SerialisedSigner(
            session,
            self._lock,
            signing_cert=to_asn1(certificate),
            ca_chain=[to_asn1(c) for c in chain],
            key_id=key.id,
            other_certs_to_pull=(),
            signature_mechanism=algos.SignedDigestAlgorithm(
                {"algorithm": "sha256_rsa" if key.key_type == KeyType.RSA else "sha256_ecdsa"}
            ),
        )
        super().__init__(None, certificate, chain, signer=signer)
        self._session = session
        self._token_key = key
        self.token_label = token_label

    def sign_digest(self, digest: bytes) -> bytes:
        """Sign a SHA-256 digest on the token (prehashed: DigestInfo with raw RSA PKCS#1 v1.5)."""
        if len(digest) != hashes.SHA256.digest_size:
            raise digest_not_sha256(len(digest))
        try:
            with self._lock:  # one operation at a time per session, as PKCS#11 requires
                if self._token_key.key_type == KeyType.RSA:
                    info = algos.DigestInfo(
                        {"digest_algorithm": {"algorithm": "sha256"}, "digest": digest}
                    )
                    return bytes(self._token_key.sign(info.dump(), mechanism=Mechanism.RSA_PKCS))
                raw = bytes(self._token_key.sign(digest, mechanism=Mechanism.ECDSA))
        except p11_errors.PKCS11Error as exc:
            raise SigningError(
                f"thiết bị ký {self.token_label} không ký được: {_describe(exc)}",
                f"the signing device {self.token_label} could not sign: {_describe(exc)}",
                code="signing.token.sign_failed",
                certificate_serial=self.serial,
                token=self.token_label,
            ) from exc
        half = len(raw) // 2
        return keys.DSASignature(
            {"r": int.from_bytes(raw[:half], "big"), "s": int.from_bytes(raw[half:], "big")}
        ).dump()

    def close(self) -> None:
        # a token pulled out has nothing left to close
        with contextlib.suppress(p11_errors.PKCS11Error):
            self._session.close()


def open_pkcs11_key(
    module: Path,
    *,
    token_label: str,
    key_label: str | None = None,
    pin: str,
    chain: Sequence[x509.Certificate] = (),
) -> TokenKey:
    """Log in to the token named ``token_label`` and find its signing key and certificate.

    ``key_label`` picks one key when the token holds several. The certificate is the one with
    the key's CKA_ID (else its label); other certificates on the token, and ``chain``, form
    the chain embedded in signatures. Every failure is a SigningError in one sentence.
    """
    lib = _library(Path(module))
    try:
        token = lib.get_token(token_label=token_label)
    except p11_errors.NoSuchToken as exc:
        raise SigningError(
            f"không thấy thiết bị ký '{token_label}': kiểm tra thiết bị đã cắm và tên thiết bị",
            f"signing device '{token_label}' not found: check that it is plugged in and its name",
            code="signing.token.not_found",
            kind=Kind.NOT_FOUND,
            token=token_label,
        ) from exc
    except p11_errors.MultipleTokensReturned as exc:
        raise SigningError(
            f"có nhiều thiết bị ký cùng tên '{token_label}'",
            f"several signing devices are named '{token_label}'",
            code="signing.token.ambiguous",
            kind=Kind.INVALID,
            token=token_label,
        ) from exc
    except p11_errors.PKCS11Error as exc:
        raise SigningError(
            f"không đọc được thiết bị ký '{token_label}': {_describe(exc)}",
            f"signing device '{token_label}' cannot be read: {_describe(exc)}",
            code="signing.token.unreadable",
            token=token_label,
        ) from exc
    try:
        session = token.open(user_pin=pin)
    except p11_errors.PKCS11Error as exc:
        reason, reason_en, code, kind = _PIN_ERRORS.get(type(exc)) or (
            _describe(exc),
            _describe(exc),
            "signing.token.login_failed",
            Kind.FAILED,
        )
        raise SigningError(
            f"không đăng nhập được thiết bị ký '{token_label}': {reason}",
            f"cannot log in to signing device '{token_label}': {reason_en}",
            code=code,
            kind=kind,
            token=token_label,
        ) from exc
    try:
        key = _private_key(session, token_label, key_label)
        certificate, others = _certificates(session, key, token_label)
        extra = [c for c in chain if c not in others and c != certificate]
        token_key = TokenKey(session, key, certificate, [*others, *extra], token_label=token_label)
    except BaseException:
        session.close()
        raise
    _require_matching(token_key, token_label)
    return token_key


_libraries: dict[Path, Any] = {}
_libraries_lock = threading.Lock()


def _library(module: Path) -> Any:
    """The module, loaded once per process (C_Initialize may only run once)."""
    with _libraries_lock:
        if module in _libraries:
            return _libraries[module]
        if not module.is_file():
            raise SigningError(
                "không có thư viện PKCS#11 (kiểm tra cấu hình thiết bị ký)",
                "the PKCS#11 library is missing (check the signing device's configuration)",
                code="signing.token.module_missing",
                kind=Kind.CONFIG,
                file=str(module),
            )
        try:
            lib = pkcs11.lib(str(module))
        except (p11_errors.PKCS11Error, OSError) as exc:
            raise SigningError(
                "không nạp được thư viện PKCS#11: không phải thư viện của thiết bị ký "
                "hoặc không đúng kiến trúc máy",
                "the PKCS#11 library cannot be loaded: it is not a signing device's library or "
                "not built for this machine",
                code="signing.token.module_unloadable",
                kind=Kind.CONFIG,
                file=str(module),
            ) from exc
        _libraries[module] = lib
        return lib


def _private_key(session: Any, token_label: str, key_label: str | None) -> Any:
    query: dict[Attribute, Any] = {Attribute.CLASS: ObjectClass.PRIVATE_KEY}
    if key_label is not None:
        query[Attribute.LABEL] = key_label
    found = list(session.get_objects(query))
    named = f" có nhãn '{key_label}'" if key_label is not None else ""
    named_en = f" labelled '{key_label}'" if key_label is not None else ""
    if not found:
        raise SigningError(
            f"thiết bị ký '{token_label}' không có khóa bí mật{named}",
            f"signing device '{token_label}' has no private key{named_en}",
            code="signing.token.key_not_found",
            kind=Kind.NOT_FOUND,
            token=token_label,
            key_label=key_label,
        )
    if len(found) > 1:
        raise SigningError(
            f"thiết bị ký '{token_label}' có {len(found)} khóa bí mật{named}: chọn một bằng nhãn "
            "(--key-label)",
            f"signing device '{token_label}' has {len(found)} private keys{named_en}: choose one "
            "by its label (--key-label)",
            code="signing.token.key_ambiguous",
            kind=Kind.INVALID,
            token=token_label,
            key_label=key_label,
        )
    key = found[0]
    if key.key_type not in (KeyType.RSA, KeyType.EC):
        raise SigningError(
            f"thiết bị ký '{token_label}': loại khóa chưa được hỗ trợ",
            f"signing device '{token_label}': the key type is not supported",
            code="signing.key.unsupported",
            kind=Kind.CONFIG,
            token=token_label,
        )
    return key


def _certificates(
    session: Any, key: Any, token_label: str
) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """The key's certificate (same CKA_ID, else same label) and the token's other ones."""
    mine: x509.Certificate | None = None
    others: list[x509.Certificate] = []
    for obj in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE}):
        cert = x509.load_der_x509_certificate(bytes(obj[Attribute.VALUE]))
        same = (key.id and _attribute(obj, Attribute.ID) == key.id) or (
            not key.id and _attribute(obj, Attribute.LABEL) == key.label
        )
        if same and mine is None:
            mine = cert
        else:
            others.append(cert)
    if mine is None:
        raise SigningError(
            f"thiết bị ký '{token_label}' không có chứng thư số đi kèm khóa '{key.label}'",
            f"signing device '{token_label}' has no certificate for the key '{key.label}'",
            code="signing.token.certificate_missing",
            kind=Kind.CONFIG,
            token=token_label,
            key_label=key.label,
        )
    return mine, [c for c in others if c.subject != mine.subject]


def _attribute(obj: Any, attribute: Attribute) -> Any:
    try:
        return obj[attribute]
    except (p11_errors.AttributeTypeInvalid, p11_errors.AttributeSensitive):
        return None


def _require_matching(key: TokenKey, token_label: str) -> None:
    """A test signature checked with the certificate: a key and a certificate that do not
    belong together would otherwise only show up as invalid signatures later."""
    digest = hashes.Hash(hashes.SHA256())
    digest.update(b"vanthu: kiem tra khoa tren thiet bi ky")
    value = digest.finalize()
    signature = key.sign_digest(value)
    if not verify_digest_signature(key.certificate, value, signature):
        key.close()
        raise SigningError(
            f"khóa bí mật trên thiết bị ký '{token_label}' không khớp với chứng thư số trên đó",
            f"the private key on signing device '{token_label}' does not match the certificate "
            "on it",
            code="signing.token.key_mismatch",
            kind=Kind.CONFIG,
            certificate_serial=key.serial,
            token=token_label,
        )


def _describe(exc: Exception) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__
