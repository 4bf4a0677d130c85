"""Keys loaded once and kept parsed, so each signature costs a few milliseconds.

pyHanko's ``SimpleSigner`` re-parses the private key (and re-runs RSA key checks, ~48 ms) on
every signature; this signer keeps the parsed key instead. A key on a token (signing/_pkcs11.py)
wears the same :class:`SigningKey` interface around pyHanko's PKCS#11 signer.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from asn1crypto import algos
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.sign.general import get_pyca_cryptography_hash
from pyhanko.sign.signers import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing._certs import to_asn1
from signing._errors import SigningError
from signing._policy import CertificateKind, certificate_kind, common_name
from vanthu import clock
from vanthu.errors import Kind

_PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class _KeptKeySigner(Signer):
    """A pyHanko signer holding an already parsed private key."""

    def __init__(
        self, key: _PrivateKey, cert: asn1_x509.Certificate, others: list[asn1_x509.Certificate]
    ) -> None:
        registry = SimpleCertificateStore()
        registry.register_multiple(others)
        algorithm = "sha256_rsa" if isinstance(key, rsa.RSAPrivateKey) else "sha256_ecdsa"
        super().__init__(
            signing_cert=cert,
            cert_registry=registry,
            signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": algorithm}),
        )
        self._key = key

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        hash_algorithm = get_pyca_cryptography_hash(digest_algorithm)
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), hash_algorithm)
        return self._key.sign(data, ec.ECDSA(hash_algorithm))


class SigningKey:
    """A private key with its certificate and chain, ready to sign many documents."""

    def __init__(
        self,
        key: _PrivateKey | None,
        certificate: x509.Certificate,
        chain: list[x509.Certificate],
        *,
        signer: Signer | None = None,
    ) -> None:
        """A parsed private ``key``; or, with ``key=None``, a ready pyHanko ``signer`` (a token)."""
        self._certificate = certificate
        self._chain = tuple(chain)
        self._key = key
        if signer is None:
            if key is None:
                raise SigningError(
                    "cần khóa bí mật hoặc thiết bị ký để tạo khóa ký",
                    "a signing key needs a private key or a signing device",
                    code="signing.key.missing",
                    kind=Kind.INVALID,
                )
            signer = _KeptKeySigner(key, to_asn1(certificate), [to_asn1(c) for c in chain])
        self._signer = signer

    @property
    def certificate(self) -> x509.Certificate:
        return self._certificate

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """The CA certificates that came with the key, embedded in every signature."""
        return self._chain

    @property
    def certificate_subject(self) -> str:
        return self._certificate.subject.rfc4514_string()

    @property
    def common_name(self) -> str:
        return common_name(self._certificate.subject)

    @property
    def serial(self) -> int:
        return self._certificate.serial_number

    @property
    def kind(self) -> CertificateKind:
        return certificate_kind(self._certificate)

    @property
    def pyhanko_signer(self) -> Signer:
        return self._signer

    def sign_digest(self, digest: bytes) -> bytes:
        """The raw signature of a SHA-256 ``digest`` computed elsewhere (client-side signing):
        PKCS#1 v1.5 for RSA, ECDSA otherwise, as the certificate's key requires."""
        if len(digest) != hashes.SHA256.digest_size:
            raise digest_not_sha256(len(digest))
        if self._key is None:
            raise SigningError(
                "khóa này chỉ ký qua pyHanko",
                "this key signs through pyHanko only",
                code="signing.key.digest_unsupported",
                certificate_serial=self.serial,
            )
        algorithm = Prehashed(hashes.SHA256())
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(digest, padding.PKCS1v15(), algorithm)
        return self._key.sign(digest, ec.ECDSA(algorithm))

    def close(self) -> None:
        """Let go of what the key holds open (a token session); a file key holds nothing."""

    def check_usable(self, now: datetime | None = None) -> None:
        """Refuse to sign with a certificate outside its validity period."""
        now = now or clock.now()
        cert = self._certificate
        if now < cert.not_valid_before_utc:
            raise SigningError(
                f"chứng thư số của {self.common_name} chưa có hiệu lực "
                f"(từ {cert.not_valid_before_utc:%d/%m/%Y})",
                f"the certificate of {self.common_name} is not valid yet "
                f"(from {cert.not_valid_before_utc:%Y-%m-%d})",
                code="signing.policy.not_yet_valid",
                certificate_serial=self.serial,
                valid_from=cert.not_valid_before_utc.isoformat(),
            )
        if now > cert.not_valid_after_utc:
            raise SigningError(
                f"chứng thư số của {self.common_name} đã hết hạn "
                f"(ngày {cert.not_valid_after_utc:%d/%m/%Y})",
                f"the certificate of {self.common_name} has expired "
                f"(on {cert.not_valid_after_utc:%Y-%m-%d})",
                code="signing.policy.expired",
                certificate_serial=self.serial,
                valid_until=cert.not_valid_after_utc.isoformat(),
            )

    def __repr__(self) -> str:
        return f"SigningKey({self.certificate_subject!r}, serial={self.serial:x})"


def load_pkcs12(path: Path, passphrase: bytes) -> SigningKey:
    """Load a PKCS#12 file; a wrong passphrase or a file that is not PKCS#12 is a SigningError."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningError(
            f"không đọc được tệp khóa: {exc.strerror}",
            f"the key file cannot be read: {exc.strerror}",
            code="signing.key.file_unreadable",
            kind=Kind.CONFIG,
            file=str(path),
        ) from exc
    try:
        key, cert, others = pkcs12.load_key_and_certificates(data, passphrase)
    except ValueError as exc:
        raise SigningError(
            "không mở được tệp khóa: sai mật khẩu hoặc không phải tệp PKCS#12",
            "the key file cannot be opened: wrong passphrase or not a PKCS#12 file",
            code="signing.key.wrong_passphrase",
            kind=Kind.CONFIG,
            file=str(path),
        ) from exc
    if cert is None or key is None:
        raise SigningError(
            "tệp khóa không có đủ khóa bí mật và chứng thư số",
            "the key file does not hold both a private key and a certificate",
            code="signing.key.incomplete",
            kind=Kind.CONFIG,
            file=str(path),
        )
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise SigningError(
            f"loại khóa {type(key).__name__} chưa được hỗ trợ",
            f"the key type {type(key).__name__} is not supported",
            code="signing.key.unsupported",
            kind=Kind.CONFIG,
            file=str(path),
            certificate_serial=cert.serial_number,
        )
    return SigningKey(key, cert, list(others))


def digest_not_sha256(length: int) -> SigningError:
    """A digest handed over for signing that is not a SHA-256 one."""
    return SigningError(
        "giá trị băm cần ký phải là SHA-256 (32 byte)",
        "the digest to sign must be SHA-256 (32 bytes)",
        code="signing.digest.not_sha256",
        kind=Kind.INVALID,
        length=length,
    )


def verify_digest_signature(certificate: x509.Certificate, digest: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is the certificate key's signature of the SHA-256 ``digest``."""
    public = certificate.public_key()
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        elif isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True
