"""Keys on a PKCS#11 token (SoftHSM2) and client-side signing, checked by pdfsig and ourselves."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures_pkcs11 import Tokens
from pdf_support import LAYOUT, text_pdf
from pki_support import refusal

from signing import (
    PreparedSignature,
    SigningPolicy,
    TokenKey,
    add_form_fields,
    certify,
    finish_signature,
    open_pkcs11_key,
    prepare_certification,
    signing_policy,
    verify_digest_signature,
    verify_document,
)
from signing.demo import DemoPKI, draw_signature_image
from tests_support import pdfsig_lines


def _pdf_with_fields() -> bytes:
    return add_form_fields(text_pdf([[(80, 600, b"Van ban ky tren thiet bi")]]), LAYOUT)


@pytest.fixture(scope="module")
def token_key(pkcs11_tokens: Tokens) -> Iterator[TokenKey]:
    key = open_pkcs11_key(
        pkcs11_tokens.module, token_label=pkcs11_tokens.labels["phogiamdoc"], pin=pkcs11_tokens.pin
    )
    yield key
    key.close()


@pytest.fixture
def policy(demo_services: DemoPKI) -> Iterator[SigningPolicy]:
    with signing_policy(SigningPolicy(trust_roots=(demo_services.root_cert.read_bytes(),))) as p:
        yield p


def _check_valid(pdf: bytes, pki: DemoPKI, tmp_path: Path) -> None:
    report = verify_document(pdf, [pki.root_cert.read_bytes()])
    assert report.verdict == "valid", report
    assert "Phạm Minh Đức" in report.signatures[0].signer
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf)
    lines = pdfsig_lines(path, pki.root_cert, tmp_path / "nss")
    assert "  - Signature Validation: Signature is Valid." in lines, lines
    assert "  - Certificate Validation: Certificate is Trusted." in lines, lines


def test_the_token_key_certifies_a_document_valid_for_pdfsig_and_us(
    token_key: TokenKey, policy: SigningPolicy, demo_services: DemoPKI, tmp_path: Path
) -> None:
    assert token_key.kind == "person" and "Phạm Minh Đức" in token_key.common_name
    assert [c.subject for c in token_key.chain] != []  # the CA certificate came off the token
    signed = certify(_pdf_with_fields(), token_key, draw_signature_image("Phạm Minh Đức"))
    _check_valid(signed, demo_services, tmp_path)


def test_a_wrong_pin_is_refused_in_vietnamese(pkcs11_tokens: Tokens) -> None:
    label = pkcs11_tokens.labels["giamdoc"]
    with refusal("signing.token.pin_incorrect", token=label) as refused:
        open_pkcs11_key(pkcs11_tokens.module, token_label=label, pin="000000")
    assert "sai mã PIN" in str(refused.value)


def test_missing_token_key_or_module_is_one_clear_sentence(
    pkcs11_tokens: Tokens, tmp_path: Path
) -> None:
    label = pkcs11_tokens.labels["giamdoc"]
    with refusal("signing.token.not_found", token="KHONG CO") as refused:
        open_pkcs11_key(pkcs11_tokens.module, token_label="KHONG CO", pin=pkcs11_tokens.pin)
    assert "'KHONG CO'" in str(refused.value)  # names the device the clerk asked for
    with refusal("signing.token.key_not_found", token=label, key_label="khac"):
        open_pkcs11_key(
            pkcs11_tokens.module, token_label=label, key_label="khac", pin=pkcs11_tokens.pin
        )
    missing = tmp_path / "none.so"
    with refusal("signing.token.module_missing", file=str(missing)) as refused:
        open_pkcs11_key(missing, token_label=label, pin=pkcs11_tokens.pin)
    assert refused.value.kind == "config"
    not_a_library = tmp_path / "fake.so"
    not_a_library.write_bytes(b"not an ELF file")
    with refusal("signing.token.module_unloadable", file=str(not_a_library)):
        open_pkcs11_key(not_a_library, token_label=label, pin=pkcs11_tokens.pin)


def test_a_digest_signed_on_the_token_verifies_with_its_certificate(token_key: TokenKey) -> None:
    digest = bytes(range(32))
    signature = token_key.sign_digest(digest)
    assert verify_digest_signature(token_key.certificate, digest, signature)
    assert not verify_digest_signature(token_key.certificate, bytes(32), signature)
    with refusal("signing.digest.not_sha256", length=5):
        token_key.sign_digest(b"short")


def test_interrupted_signing_survives_a_round_trip_through_json(
    token_key: TokenKey, policy: SigningPolicy, demo_services: DemoPKI, tmp_path: Path
) -> None:
    prepared = prepare_certification(
        _pdf_with_fields(),
        token_key.certificate,
        list(token_key.chain),
        draw_signature_image("Phạm Minh Đức"),
        location="Hà Nội",
    )
    stored = json.loads(json.dumps(prepared.state()))  # as the database keeps it
    assert "pdf" not in stored and stored["pdf_sha256"] == prepared.pdf_sha256
    resumed = PreparedSignature.from_state(stored, prepared.pdf)
    signature = token_key.sign_digest(resumed.digest_to_sign)
    _check_valid(finish_signature(resumed, signature), demo_services, tmp_path)


def test_a_tampered_signature_or_prepared_pdf_is_refused(
    token_key: TokenKey, policy: SigningPolicy
) -> None:
    prepared = prepare_certification(
        _pdf_with_fields(),
        token_key.certificate,
        list(token_key.chain),
        draw_signature_image("Phạm Minh Đức"),
    )
    signature = bytearray(token_key.sign_digest(prepared.digest_to_sign))
    signature[10] ^= 0x01
    mismatch = {"certificate_serial": token_key.serial}
    with refusal("signing.external.value_mismatch", **mismatch):
        finish_signature(prepared, bytes(signature))
    other = token_key.sign_digest(bytes(32))  # a real signature, of something else
    with refusal("signing.external.value_mismatch", **mismatch):
        finish_signature(prepared, other)
    changed = prepared.pdf.replace(b"Van ban ky", b"Van ban KY")
    with refusal("signing.external.pdf_mismatch"):
        PreparedSignature.from_state(prepared.state(), changed)


def test_under_a_b_t_policy_the_finished_signature_carries_a_timestamp(
    token_key: TokenKey, demo_services: DemoPKI, tmp_path: Path
) -> None:
    roots = (demo_services.root_cert.read_bytes(),)
    policy = SigningPolicy(trust_roots=roots, level="B-T", tsa_url=demo_services.tsa_url)
    with signing_policy(policy):
        prepared = prepare_certification(
            _pdf_with_fields(),
            token_key.certificate,
            list(token_key.chain),
            draw_signature_image("Phạm Minh Đức"),
        )
    assert prepared.state()["timestamp_url"] == demo_services.tsa_url
    # phase 3 in "another process": no policy active, the state says where the TSA is
    signed = finish_signature(prepared, token_key.sign_digest(prepared.digest_to_sign))
    [signature] = verify_document(signed, list(roots)).signatures
    assert signature.intact and signature.trusted and signature.timestamp_time is not None
    path = tmp_path / "b-t.pdf"
    path.write_bytes(signed)
    lines = pdfsig_lines(path, demo_services.root_cert, tmp_path / "nss")
    assert "  - Signature Validation: Signature is Valid." in lines, lines
