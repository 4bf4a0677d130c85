"""Validation keeps OCSP answers and CRLs between documents (signing._cache), and that never
changes a verdict: a revoked certificate is found revoked, another trust-root set or another
validation time judges as it would without the cache. Each comparison validates the same file
once with the kept answers and once with none (the cache emptied first), as a process that has
just started would. What is kept because it depends on bytes alone (name comparisons, signature
checks, signing._speed) must give asn1crypto's and pyHanko's answer for those bytes, and
nothing more. This module has its own DEMO PKI: it revokes certificates."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from asn1crypto.algos import SignedDigestAlgorithm
from asn1crypto.core import OctetString, Sequence
from asn1crypto.keys import PublicKeyInfo
from asn1crypto.x509 import GeneralName, Name
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pki_support import Keys, certified, make_keys
from pyhanko_certvalidator.sig_validate import DefaultSignatureValidator
from trust_support import lookalike_chain

from signing import DocumentReport, SigningKey, open_personal_key, verify_document
from signing._cache import clear
from signing._services import OCSP_LIFETIME
from signing.demo import (
    Identity,
    ensure_pki_services,
    issue_demo_certificate,
    revoke,
    stop_pki_services,
)
from vanthu.clock import ManualClock

GOVERNMENT_ROOT = Path(__file__).parents[1] / "signing" / "trust" / "vgca-rootca-g2.pem"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keys]:
    made = make_keys(tmp_path_factory.mktemp("cache-pki"))
    yield made
    stop_pki_services(made.pki)


def _officer(keys: Keys, username: str, name: str) -> SigningKey:
    """A certificate of its own for each test that revokes one."""
    now = datetime.now(UTC)
    path = issue_demo_certificate(
        keys.pki,
        username,
        Identity(name, "DEMO Sở Nội vụ tỉnh Mẫu", None, "Chuyên viên", None),
        kind="person",
        not_before=now - timedelta(hours=1),
        not_after=now + timedelta(days=60),
    )
    return open_personal_key(path, keys.pki.demo_pin(username))


def _facts(report: DocumentReport) -> list[object]:
    """What a reader of the report acts on."""
    return [
        report.verdict,
        [(s.field, s.verdict, s.subindication, s.trusted, s.revocation) for s in report.signatures],
    ]


def _uncached(pdf: bytes, roots: list[bytes]) -> DocumentReport:
    clear()
    try:
        return verify_document(pdf, roots)
    finally:
        clear()


def test_a_certificate_revoked_here_is_found_revoked_at_once(keys: Keys) -> None:
    signer = _officer(keys, "chuyenvien1", "DEMO Trần Văn Bình")
    pdf = certified(keys, key=signer)
    roots = list(keys.roots)
    assert verify_document(pdf, roots).verdict == "valid"  # its answer 'good' is kept now

    revoke(keys.pki, signer.serial, "key-compromise")
    report = verify_document(pdf, roots)
    [signature] = report.signatures
    assert report.verdict != "valid" and signature.revocation == "revoked", report.reasons
    assert _facts(report) == _facts(_uncached(pdf, roots))


def test_a_revocation_made_elsewhere_is_found_once_the_kept_answer_runs_out(
    keys: Keys, clock: ManualClock
) -> None:
    signer = _officer(keys, "chuyenvien2", "DEMO Phạm Thị Dung")
    pdf = certified(keys, key=signer)
    roots = list(keys.roots)
    assert verify_document(pdf, roots).verdict == "valid"

    # revoked by another process (the CA's own tool): nothing tells this one
    clock.advance(seconds=2)  # revocations count whole seconds: after the signature
    code = (
        "import sys; from datetime import datetime; from pathlib import Path; "
        "from signing.demo import load_demo_pki, revoke; "
        "revoke(load_demo_pki(Path(sys.argv[1])), int(sys.argv[2]), 'affiliation-changed', "
        "datetime.fromisoformat(sys.argv[3]))"
    )
    arguments = [str(keys.pki.directory), str(signer.serial), clock().isoformat()]
    done = subprocess.run(
        [sys.executable, "-c", code, *arguments],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr

    clock.advance(OCSP_LIFETIME + timedelta(minutes=1))  # past the kept answer's nextUpdate
    report = verify_document(pdf, roots)
    [signature] = report.signatures
    assert report.verdict != "valid" and signature.revocation == "revoked", report.reasons
    assert _facts(report) == _facts(_uncached(pdf, roots))


def test_kept_answers_serve_the_next_documents_until_their_next_update(
    keys: Keys, clock: ManualClock
) -> None:
    pdf = certified(keys)
    other = certified(keys)  # another document of the same signer
    roots = list(keys.roots)
    assert verify_document(pdf, roots).verdict == "valid"
    stop_pki_services(keys.pki)  # the responder stops answering
    try:
        kept = verify_document(other, roots)
        assert kept.verdict == "valid", kept.reasons
        assert kept.signatures[0].revocation == "good"
        asked = _uncached(other, roots)  # nothing kept: the responder must answer, and cannot
        assert asked.verdict == "indeterminate", asked.reasons
        verify_document(pdf, roots)  # only a fresh answer would be kept: there is none
        clock.advance(OCSP_LIFETIME)
        assert verify_document(pdf, roots).verdict == "indeterminate"
    finally:
        ensure_pki_services(keys.pki)


def test_another_trust_root_set_judges_as_without_the_cache(keys: Keys) -> None:
    pdf = certified(keys)
    assert verify_document(pdf, list(keys.roots)).verdict == "valid"
    government = [GOVERNMENT_ROOT.read_bytes()]
    report = verify_document(pdf, government)
    assert report.verdict != "valid" and not report.signatures[0].trusted
    assert _facts(report) == _facts(_uncached(pdf, government))
    both = [*keys.roots, *government]
    assert _facts(verify_document(pdf, both)) == _facts(_uncached(pdf, both))


def test_a_time_before_the_certificate_is_valid_judges_as_without_the_cache(
    keys: Keys, clock: ManualClock
) -> None:
    pdf = certified(keys)
    roots = list(keys.roots)
    assert verify_document(pdf, roots).verdict == "valid"  # answers produced now are kept
    clock.set(keys.leader.certificate.not_valid_before_utc - timedelta(days=1))
    report = verify_document(pdf, roots)
    assert report.verdict != "valid", report.reasons
    assert _facts(report) == _facts(_uncached(pdf, roots))


def test_names_compare_by_rfc_5280_whatever_was_compared_before() -> None:
    """Name comparisons are kept per pair of encodings: each answer is still RFC 5280's, in
    both orders, asked again, and for a name inside an explicitly tagged GeneralName (the
    signing-certificate attribute's issuer)."""
    spaced = Name.build({"common_name": "DEMO  Nguyễn Văn An", "country_name": "VN"})
    cased = Name.build({"common_name": "demo nguyễn văn an", "country_name": "vn"})
    other = Name.build({"common_name": "DEMO Nguyễn Văn Ân", "country_name": "VN"})
    for _ in range(2):
        assert spaced == cased and cased == spaced
        assert spaced != other and other != cased
        assert spaced.hashable == cased.hashable != other.hashable
    tagged = GeneralName(name="directory_name", value=Name.load(spaced.dump())).chosen
    assert tagged.dump() != spaced.dump()  # the explicit [4] tag
    assert tagged == cased and cased == tagged and tagged != other


class _Pair(Sequence):
    _fields: ClassVar[list[tuple[str, type[OctetString]]]] = [("value", OctetString)]


def test_a_value_whose_length_ends_in_0x80_keeps_its_bytes_and_ber_is_still_made_der(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """asn1crypto took a definite length ending in the byte 0x80 (1152 bytes here, the DEMO
    personal CA's certificate) for an indefinite one and encoded it again on every dump."""
    content = bytes(range(256)) * 4 + bytes(124)  # 1148 bytes: 04 82 04 7c, 1152 in all
    der = b"\x30\x82\x04\x80\x04\x82\x04\x7c" + content
    ber = b"\x30\x80\x04\x01A\x00\x00"  # a real indefinite length
    assert _Pair.load(ber).dump() == b"\x30\x03\x04\x01A"

    def encoded_again(self: _Pair, force: bool = False) -> None:
        raise AssertionError("encoded again")

    monkeypatch.setattr(_Pair, "_set_contents", encoded_again)
    parsed = _Pair.load(der)
    assert parsed["value"].native == content
    assert parsed.dump() == der and parsed.dump() == der
    with pytest.raises(AssertionError, match="encoded again"):
        _Pair.load(ber).dump()


def test_a_root_with_the_same_names_but_another_key_is_not_taken_for_the_kept_one(
    keys: Keys,
) -> None:
    """Names, their comparisons and the roots' parsed forms are kept between validations; a
    root that copies the trusted root's names (not its key) must still vouch for nothing."""
    pdf = certified(keys)
    roots = list(keys.roots)
    assert verify_document(pdf, roots).verdict == "valid"  # names and answers kept now
    forged = [lookalike_chain(keys.pki).chain[-1].public_bytes(Encoding.PEM)]
    report = verify_document(pdf, forged)
    assert report.verdict != "valid" and not report.signatures[0].trusted, report.reasons
    assert _facts(report) == _facts(_uncached(pdf, forged))
    assert verify_document(pdf, roots).verdict == "valid"


def test_a_signature_check_is_kept_only_for_the_bytes_that_verified() -> None:
    """Signature checks are kept between validations: the same signature on the same bytes
    with the same key passes again; another signature, other bytes or another key is checked
    and fails, every time it is asked."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    data = b"Quyet dinh so 12/QD-SNV"
    signature = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    algorithm = SignedDigestAlgorithm({"algorithm": "sha256_rsa"})

    def check(sig: bytes, signed: bytes, signer: rsa.RSAPrivateKey) -> None:
        spki = signer.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        DefaultSignatureValidator().validate_signature(
            sig, signed, PublicKeyInfo.load(spki), algorithm
        )

    for _ in range(2):
        check(signature, data, key)
        with pytest.raises(InvalidSignature):
            check(signature, data + b".", key)
        with pytest.raises(InvalidSignature):
            check(signature, data, other)
        with pytest.raises(InvalidSignature):
            check(signature[:-1] + bytes([signature[-1] ^ 1]), data, key)
