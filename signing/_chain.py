"""Our own look at a signer's certificate, beside pyHanko's: is there a path to a configured
root whose every signature verifies, and what is wrong with the certificate itself.

pyHanko's certificate validation folds many causes into one ETSI sub-indication
(CERTIFICATE_CHAIN_GENERAL_FAILURE covers a forged chain as well as a missing OCSP answer). A
report that blames revocation for a chain copied from the trusted root's names, or calls a
SHA-1 certificate "not chained to a trusted root", misleads the clerk. So:

- :func:`verify_chain` builds the path from the signer's certificate up to a configured root
  by names and checks every signature on it with ``cryptography``, the root's own key last;
  ``verified`` is true only then. A chain that reaches a root's *name* but not its key (a
  look-alike root) is told apart from one that reaches no root at all.
- :func:`certificate_defects` names what makes the certificate unfit to sign, each with the
  ETSI sub-indication it explains: no digitalSignature/nonRepudiation key usage, a CA
  certificate, a weak algorithm (SHA-1, MD5, RSA under 2048 bits), not yet valid, a CA
  certificate in the chain outside its validity.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa

from signing._clock import in_vietnam
from signing._policy import common_name

MAX_DEPTH = 8
"""Longest path tried (leaf and CAs); real chains have three or four certificates."""
MIN_RSA_BITS = 2048
WEAK_HASHES = {"md5": "MD5", "sha1": "SHA-1", "md2": "MD2"}


@dataclass(frozen=True)
class ChainCheck:
    """What :func:`verify_chain` found for one signer's certificate."""

    verified: bool
    """A path to a configured root exists and every signature on it verifies."""
    anchor: x509.Certificate | None = None
    """The configured root the verified path ends at."""
    lookalike: bool = False
    """A path reaches a configured root's name, but a signature on it does not verify with the
    key it names (a root copied by names, or a certificate altered)."""
    path: tuple[x509.Certificate, ...] = ()
    """The verified path, signer first, root excluded; or the longest one tried."""


@dataclass(frozen=True)
class Defect:
    """Something wrong with the signer's certificate, in both languages."""

    kind: str
    """'key_usage', 'ca', 'weak_algorithm', 'chain_validity', 'not_yet_valid'."""
    vi: str
    en: str


def verify_chain(
    leaf: x509.Certificate,
    pool: Iterable[x509.Certificate],
    roots: Sequence[x509.Certificate],
) -> ChainCheck:
    """The signer's certificate against ``roots``, with ``pool`` (the certificates the file
    carries) as candidate intermediates. Only a configured root ends a path."""
    anchors = list(roots)
    candidates = [c for c in pool if c not in anchors]
    lookalike = False
    longest: tuple[x509.Certificate, ...] = ()

    def climb(cert: x509.Certificate, path: tuple[x509.Certificate, ...]) -> ChainCheck | None:
        nonlocal lookalike, longest
        if len(path) > len(longest):
            longest = path
        for root in anchors:
            if root.subject != cert.issuer:
                continue
            if cert == root or _signed_by(cert, root):
                return ChainCheck(True, root, False, path)
            lookalike = True  # the root's name, not its key
        if len(path) >= MAX_DEPTH:
            return None
        for issuer in candidates:
            if issuer in path or issuer.subject != cert.issuer or issuer == cert:
                continue
            if not _signed_by(cert, issuer):
                continue
            found = climb(issuer, (*path, issuer))
            if found is not None:
                return found
        return None

    if leaf in anchors:
        return ChainCheck(True, leaf, False, ())
    found = climb(leaf, (leaf,))
    if found is not None:
        return found
    return ChainCheck(False, None, lookalike, longest)


@lru_cache(maxsize=1024)
def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer``'s key made the signature on ``cert`` (any hash, SHA-1 included: a
    weak algorithm is a separate finding, not a broken chain). Kept per process: a fact about
    the two certificates' bytes alone (certificates compare and hash by their encoding)."""
    key = issuer.public_key()
    signature, data = cert.signature, cert.tbs_certificate_bytes
    try:
        algorithm = cert.signature_hash_algorithm
        if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(signature, data)
        elif algorithm is None:
            return False
        elif isinstance(key, rsa.RSAPublicKey):
            params = cert.signature_algorithm_parameters
            pad = params if isinstance(params, padding.PSS) else padding.PKCS1v15()
            key.verify(signature, data, pad, algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(key, dsa.DSAPublicKey):
            key.verify(signature, data, algorithm)
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False
    return True


def certificate_defects(
    leaf: x509.Certificate,
    path: Sequence[x509.Certificate],
    *,
    digest_algorithm: str | None,
    signature_algorithm: str | None,
    signing_time: datetime,
) -> list[Defect]:
    """What makes ``leaf`` unfit to have made this signature at ``signing_time``.

    ``path`` is the chain above it (the root excluded: a trust anchor's own signature does not
    count); ``digest_algorithm`` and ``signature_algorithm`` are the CMS's names (asn1crypto).
    """
    defects: list[Defect] = []
    named = _name(leaf)
    if _is_ca(leaf):
        defects.append(
            Defect(
                "ca",
                f"chứng thư dùng để ký ({named}) là chứng thư của tổ chức cung cấp dịch vụ "
                "chứng thực (CA), không phải chứng thư ký số của người ký hay cơ quan",
                f"the certificate used to sign ({named}) is a certification authority's (CA) "
                "certificate, not a signer's or an agency's signing certificate",
            )
        )
    usage = _key_usage(leaf)
    if usage is not None and not (usage.digital_signature or usage.content_commitment):
        defects.append(
            Defect(
                "key_usage",
                f"chứng thư số ({named}) không có mục đích sử dụng khóa digitalSignature hay "
                "nonRepudiation: không dùng để ký số",
                f"the certificate ({named}) has neither the digitalSignature nor the "
                "nonRepudiation key usage: it is not for signing",
            )
        )
    weak = list(_weak_algorithms(leaf, path, digest_algorithm, signature_algorithm))
    if weak:
        defects.append(
            Defect(
                "weak_algorithm",
                "thuật toán mật mã yếu, không còn được chấp nhận: "
                + "; ".join(vi for vi, _en in weak),
                "weak cryptographic algorithm, no longer accepted: "
                + "; ".join(en for _vi, en in weak),
            )
        )
    for ca in path:
        if ca is leaf or ca.not_valid_before_utc <= signing_time <= ca.not_valid_after_utc:
            continue
        defects.append(
            Defect(
                "chain_validity",
                f"chứng thư «{_name(ca)}» trong chuỗi không còn hoặc chưa có hiệu lực vào thời "
                f"điểm ký (hiệu lực {ca.not_valid_before_utc:%d/%m/%Y}–"
                f"{ca.not_valid_after_utc:%d/%m/%Y})",
                f"the certificate '{_name(ca)}' in the chain was not valid at the signing time "
                f"(valid {ca.not_valid_before_utc:%Y-%m-%d} to {ca.not_valid_after_utc:%Y-%m-%d})",
            )
        )
    starts = leaf.not_valid_before_utc
    if signing_time < starts:
        shown = in_vietnam(starts)
        assert shown is not None
        defects.append(
            Defect(
                "not_yet_valid",
                f"chứng thư số ({named}) chưa có hiệu lực vào thời điểm ký: có hiệu lực từ "
                f"{shown:%H:%M:%S ngày %d/%m/%Y} (giờ Việt Nam)",
                f"the certificate ({named}) was not yet valid at the signing time: it is valid "
                f"from {starts:%Y-%m-%d %H:%M:%S} UTC",
            )
        )
    return defects


def _weak_algorithms(
    leaf: x509.Certificate,
    path: Sequence[x509.Certificate],
    digest_algorithm: str | None,
    signature_algorithm: str | None,
) -> Iterable[tuple[str, str]]:
    for name in {digest_algorithm, _hash_of(signature_algorithm)} - {None}:
        assert name is not None
        if name in WEAK_HASHES:
            shown = WEAK_HASHES[name]
            yield (f"chữ ký dùng hàm băm {shown}", f"the signature uses the {shown} hash")
    for cert in (leaf, *[c for c in path if c is not leaf]):
        hashed = cert.signature_hash_algorithm
        if hashed is not None and hashed.name in WEAK_HASHES:
            shown = WEAK_HASHES[hashed.name]
            yield (
                f"chứng thư «{_name(cert)}» được ký bằng {shown}",
                f"the certificate '{_name(cert)}' is signed with {shown}",
            )
        key = cert.public_key()
        if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
            yield (
                f"khóa RSA {key.key_size} bit của chứng thư «{_name(cert)}» (cần từ "
                f"{MIN_RSA_BITS} bit)",
                f"the RSA key of the certificate '{_name(cert)}' has {key.key_size} bits "
                f"({MIN_RSA_BITS} needed)",
            )


def _hash_of(signature_algorithm: str | None) -> str | None:
    """'sha1' of 'sha1_rsa', 'sha1_ecdsa'…; None when the name carries no hash."""
    if not signature_algorithm:
        return None
    head = signature_algorithm.split("_", 1)[0]
    return head if head.startswith(("sha", "md")) else None


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    return bool(constraints.ca)


def _key_usage(cert: x509.Certificate) -> x509.KeyUsage | None:
    try:
        return cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None


def _name(cert: x509.Certificate) -> str:
    return common_name(cert.subject)
