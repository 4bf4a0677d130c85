"""Verification that never misleads: `trusted` means a verified path to a configured root, the
reasons say what is really wrong, and the government's trust list ships checked.

The certificates a careful validator must refuse are made here with `cryptography`
(tests/trust_support.py): a look-alike root that copies the DEMO root's names, serial and key
identifier but not its key; leaves of the real DEMO CA without a signing key usage, with the CA
flag, signed with SHA-1, with an RSA-1024 key, or not valid yet. Each signs a PDF through pyHanko
directly, as another agency's tool would (Vanthu's own signing refuses such keys).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from pki_support import one_page_pdf, refusal
from trust_support import CA_USAGE, ENCRYPTION_ONLY, Chain, lookalike_chain, odd_certificate
from trust_support import sign_pdf as sign_with

from signing import DocumentReport, SignatureReport, government_trust_roots, verify_document
from signing.demo import DemoPKI
from vanthu import clock

VANTHU = [sys.executable, "-m", "engine"]
GOVERNMENT = Path(__file__).resolve().parent.parent / "signing" / "trust"
CHAIN_DOES_NOT_VERIFY = "the certificate chain does not verify to a trusted root"
CHAIN_DOES_NOT_VERIFY_VI = "chuỗi chứng thư số không xác minh được tới chứng thư gốc tin cậy"
NO_CHAIN = "does not chain to a trusted root"


def _roots(pki: DemoPKI) -> list[bytes]:
    return [pki.root_cert.read_bytes()]


def _only(report: DocumentReport) -> SignatureReport:
    assert len(report.signatures) == 1, report.to_json()
    return report.signatures[0]


def _vanthu(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*VANTHU, "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


# --- 1. a look-alike chain is not trusted -----------------------------------------------------


@pytest.fixture(scope="module")
def lookalike(demo_pki: DemoPKI) -> Chain:
    return lookalike_chain(demo_pki)


def test_the_lookalike_root_copies_the_real_roots_names_and_key_identifier(
    demo_pki: DemoPKI, lookalike: Chain
) -> None:
    """The test's premise: only the key tells the two roots apart."""
    real = x509.load_pem_x509_certificate(demo_pki.root_cert.read_bytes())
    fake = lookalike.chain[-1]
    assert (fake.subject, fake.issuer, fake.serial_number) == (
        real.subject,
        real.issuer,
        real.serial_number,
    )
    ski = x509.SubjectKeyIdentifier
    assert (
        fake.extensions.get_extension_for_class(ski).value
        == real.extensions.get_extension_for_class(ski).value
    )
    raw = serialization.PublicFormat.SubjectPublicKeyInfo
    encoding = serialization.Encoding.DER
    assert fake.public_key().public_bytes(encoding, raw) != real.public_key().public_bytes(
        encoding, raw
    )


@pytest.mark.parametrize("tsa", [False, True], ids=["B-B", "B-T"])
def test_a_chain_copying_the_trusted_roots_names_is_not_trusted(
    demo_pki: DemoPKI, lookalike: Chain, tsa: bool
) -> None:
    signed = sign_with(one_page_pdf(), lookalike, tsa_url=demo_pki.tsa_url if tsa else None)
    report = verify_document(signed, _roots(demo_pki))
    signature = _only(report)
    assert signature.intact  # the signature value itself is fine: only the chain is forged
    assert not signature.trusted and signature.trust_list is None
    assert not signature.valid and report.verdict == "indeterminate"
    assert signature.subindication == "CERTIFICATE_CHAIN_GENERAL_FAILURE"
    assert any(p.startswith(CHAIN_DOES_NOT_VERIFY) for p in signature.problems_en)
    assert any(p.startswith(CHAIN_DOES_NOT_VERIFY_VI) for p in signature.problems)
    # the revocation service is not what failed, and the report must not say so
    assert not any("revocation" in p for p in signature.problems_en), signature.problems_en
    assert not any("thu hồi" in p for p in signature.problems), signature.problems


def test_vanthu_verify_says_the_lookalike_chain_is_not_trusted(
    demo_pki: DemoPKI, lookalike: Chain, tmp_path: Path
) -> None:
    pdf = tmp_path / "gia-mao.pdf"
    pdf.write_bytes(sign_with(one_page_pdf(), lookalike))
    nowhere = tmp_path / "khong-phai-co-quan"
    nowhere.mkdir()
    text = _vanthu(nowhere, "verify", str(pdf), "--trust", str(demo_pki.root_cert))
    assert text.returncode == 2, text.stdout + text.stderr  # indeterminate
    assert "tin cậy: KHÔNG" in text.stdout and "tin cậy: có" not in text.stdout, text.stdout
    assert CHAIN_DOES_NOT_VERIFY_VI in text.stdout
    answer = _vanthu(nowhere, "verify", str(pdf), "--trust", str(demo_pki.root_cert), "--json")
    report = json.loads(answer.stdout)
    assert report["signatures"][0]["trusted"] is False
    assert any(CHAIN_DOES_NOT_VERIFY in reason for reason in report["reasons_en"])


def test_a_chain_to_the_real_root_is_trusted_and_names_its_list(demo_pki: DemoPKI) -> None:
    """The control: a certificate of the same DEMO CA, nothing odd about it."""
    report = verify_document(sign_with(one_page_pdf(), odd_certificate(demo_pki)), _roots(demo_pki))
    signature = _only(report)
    assert report.verdict == "valid", report.reasons
    assert signature.trusted and signature.trust_list == "agency"
    assert report.trust_lists == ("agency",)


# --- 2. each reason says what is wrong ---------------------------------------------------------


@dataclass(frozen=True)
class Odd:
    make: str
    subindication: str
    vi: str
    en: str


ODD = {
    "no_signing_usage": Odd(
        "usage", "CHAIN_CONSTRAINTS_FAILURE", "digitalSignature hay nonRepudiation", "key usage"
    ),
    "ca_certificate": Odd("ca", "CHAIN_CONSTRAINTS_FAILURE", "(CA)", "certification authority"),
    "sha1": Odd("sha1", "CRYPTO_CONSTRAINTS_FAILURE", "SHA-1", "SHA-1"),
    "rsa_1024": Odd("rsa1024", "CRYPTO_CONSTRAINTS_FAILURE", "RSA 1024 bit", "1024 bits"),
    "not_yet_valid": Odd("future", "NOT_YET_VALID", "chưa có hiệu lực", "not yet valid"),
}


def _odd(pki: DemoPKI, make: str) -> Chain:
    if make == "usage":
        return odd_certificate(pki, usage=ENCRYPTION_ONLY)
    if make == "ca":  # a CA certificate whose key usage even allows signing
        return odd_certificate(pki, usage=CA_USAGE, ca=True)
    if make == "sha1":
        return odd_certificate(pki, algorithm=hashes.SHA1())
    if make == "rsa1024":
        return odd_certificate(pki, key_size=1024)
    return odd_certificate(pki, not_before=clock.now() + timedelta(days=2))


@pytest.mark.parametrize("case", sorted(ODD))
def test_each_reason_says_what_is_wrong_with_the_certificate(demo_pki: DemoPKI, case: str) -> None:
    odd = ODD[case]
    report = verify_document(sign_with(one_page_pdf(), _odd(demo_pki, odd.make)), _roots(demo_pki))
    signature = _only(report)
    assert report.verdict != "valid" and not signature.valid
    assert signature.subindication == odd.subindication, signature.to_json()
    assert signature.trusted  # the chain itself verifies: the certificate is what is wrong
    assert any(odd.vi in p for p in signature.problems), signature.problems
    assert any(odd.en in p for p in signature.problems_en), signature.problems_en
    assert len(signature.problems) == len(signature.problems_en)
    assert not any(NO_CHAIN in p for p in signature.problems_en), signature.problems_en
    assert not any("revocation" in p for p in signature.problems_en), signature.problems_en
    assert any(odd.en in r for r in report.reasons_en)


def test_a_timestamp_proving_the_certificate_was_not_yet_valid_fails_it(demo_pki: DemoPKI) -> None:
    future = _odd(demo_pki, "future")
    report = verify_document(
        sign_with(one_page_pdf(), future, tsa_url=demo_pki.tsa_url), _roots(demo_pki)
    )
    signature = _only(report)
    assert (signature.indication, signature.subindication) == ("TOTAL_FAILED", "NOT_YET_VALID")
    assert report.verdict == "invalid"


# --- 6. the government's trust list ------------------------------------------------------------

PUBLISHED = {
    "vgca-ca-chinh-phu-g1.pem": "75E969C07BA35C29C72BBC1BFB880F20F3891A619B00B77EB02CA6160736A1FE",
    "vgca-ca-co-quan-nha-nuoc-g2.pem": (
        "D8CAB7A4AEF92E6BB2509D7C61CEE7B44F3731B2D21074963530277B366FAE4B"
    ),
    "vgca-rootca-g1.pem": "F7BC89054CEC7F12730D7B8CD3EB7955B163835087E5EB873EDFB584763B3F90",
    "vgca-rootca-g2.pem": "F04BA4B459A7C9A1B971AD9B1CB833E695A80C79AEA63B174B66A70EDFE2FDB8",
    "vietnam-national-root-ca.pem": (
        "BAC8BF609AB420A8EE1780D74F4DE5C7F7184959D2A7375B0A75E4C29F0908E7"
    ),
}
"""The fingerprints as the CAs publish them, copied from outside the code that checks them."""


def _fingerprint(pem: bytes) -> str:
    cert = x509.load_pem_x509_certificate(pem)
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()


def test_the_government_list_ships_the_five_published_certificates() -> None:
    assert sorted(p.name for p in GOVERNMENT.glob("*.pem")) == sorted(PUBLISHED)
    loaded = government_trust_roots()
    assert sorted(_fingerprint(pem) for pem in loaded) == sorted(PUBLISHED.values())
    names = {x509.load_pem_x509_certificate(pem).subject.rfc4514_string() for pem in loaded}
    assert any("RootCA chuyên dùng Chính phủ G2" in name for name in names)
    assert any("Vietnam National Root CA" in name for name in names)


def test_a_shipped_file_that_does_not_match_its_fingerprint_is_refused_by_name(
    demo_pki: DemoPKI, tmp_path: Path
) -> None:
    copy = tmp_path / "trust"
    shutil.copytree(GOVERNMENT, copy)
    replaced = copy / "vgca-rootca-g2.pem"
    replaced.write_bytes(demo_pki.root_cert.read_bytes())  # same place, another certificate
    with refusal("signing.trust_list.fingerprint_mismatch", file=str(replaced)) as caught:
        government_trust_roots(copy)
    assert caught.value.kind == "config"
    assert "vgca-rootca-g2.pem" in str(caught.value)
    replaced.write_bytes(b"-----BEGIN CERTIFICATE-----\nhong\n-----END CERTIFICATE-----\n")
    with refusal("signing.trust_list.fingerprint_mismatch", file=str(replaced)):
        government_trust_roots(copy)
    replaced.unlink()
    with refusal("signing.trust_list.file_missing", file=str(replaced)):
        government_trust_roots(copy)
