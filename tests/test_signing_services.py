"""The DEMO PKI's certificates and its HTTP services, checked over real HTTP.

OCSP answers and CRLs are parsed and their signatures checked with cryptography; the TSA's
tokens are verified by `openssl ts -verify`, an independent implementation of RFC 3161.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID
from pki_support import Keys, make_keys, refusal

from signing import open_personal_key
from signing.demo import (
    Identity,
    issue_demo_certificate,
    issued_certificates,
    load_demo_pki,
    revoke,
)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return make_keys(tmp_path_factory.mktemp("services-pki"))


def _ca(keys: Keys, ca_id: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(keys.pki.ca_path(ca_id).read_bytes())


def _post(url: str, body: bytes, content_type: str) -> bytes:
    request = urllib.request.Request(url, body, {"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return bytes(reply.read())


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return bytes(reply.read())


def _ocsp_url(cert: x509.Certificate) -> str:
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    return next(
        str(d.access_location.value)
        for d in aia
        if d.access_method == AuthorityInformationAccessOID.OCSP
    )


def _ask_ocsp(cert: x509.Certificate, issuer: x509.Certificate) -> ocsp.OCSPResponse:
    request = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build()
    body = request.public_bytes(serialization.Encoding.DER)
    response = ocsp.load_der_ocsp_response(_post(_ocsp_url(cert), body, "application/ocsp-request"))
    assert response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    responder = response.certificates[0]
    # signed by a responder the CA delegated: issued by it, OCSPSigning, no check on itself
    assert responder.issuer == issuer.subject
    issuer_key = issuer.public_key()
    assert isinstance(issuer_key, rsa.RSAPublicKey)
    issuer_key.verify(
        responder.signature,
        responder.tbs_certificate_bytes,
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    eku = responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.OCSP_SIGNING in eku
    responder.extensions.get_extension_for_class(x509.OCSPNoCheck)
    responder_key = responder.public_key()
    assert isinstance(responder_key, rsa.RSAPublicKey)
    responder_key.verify(
        response.signature, response.tbs_response_bytes, padding.PKCS1v15(), hashes.SHA256()
    )
    assert response.serial_number == cert.serial_number
    return response


def test_every_certificate_is_shaped_as_a_signing_ca_issues_it(keys: Keys) -> None:
    base = f"http://127.0.0.1:{keys.pki.port}"
    assert load_demo_pki(keys.pki.directory).port == keys.pki.port > 0
    for issued in issued_certificates(keys.pki):
        cert = issued.load()
        assert "DEMO" in cert.subject.rfc4514_string(), issued.name
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
        assert usage.critical
        if issued.kind == "ca":
            assert usage.value.key_cert_sign and usage.value.crl_sign
            assert not usage.value.digital_signature
        elif issued.kind in ("person", "organisation", "tsa"):
            assert usage.value.digital_signature and usage.value.content_commitment
            assert not usage.value.key_cert_sign
        if issued.issuer and issued.kind != "ocsp":  # everything below the root says where
            aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess)
            urls = {str(d.access_location.value) for d in aia.value}
            assert urls == {f"{base}/ocsp/{issued.issuer}", f"{base}/ca/{issued.issuer}.cer"}
            points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints)
            [point] = points.value
            assert [str(n.value) for n in point.full_name or []] == [
                f"{base}/crl/{issued.issuer}.crl"
            ]
    kinds = sorted(c.kind for c in issued_certificates(keys.pki))
    assert kinds.count("ca") == 3 and kinds.count("ocsp") == 3 and kinds.count("tsa") == 1
    tsa = next(c for c in issued_certificates(keys.pki) if c.kind == "tsa").load()
    eku = tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]


def test_ocsp_says_good_then_revoked_over_http(keys: Keys) -> None:
    person_ca = _ca(keys, "person")
    good = _ask_ocsp(keys.deputy.certificate, person_ca)
    assert good.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert good.next_update_utc is not None and good.next_update_utc > datetime.now(UTC)

    revoke(keys.pki, keys.deputy.serial, "key-compromise")
    revoked = _ask_ocsp(keys.deputy.certificate, person_ca)
    assert revoked.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert revoked.revocation_reason == x509.ReasonFlags.key_compromise
    # the leader's certificate from the same CA is untouched
    other = _ask_ocsp(keys.leader.certificate, person_ca)
    assert other.certificate_status == ocsp.OCSPCertStatus.GOOD
    # a sub-CA's status comes from the root's responder
    sub_ca = _ask_ocsp(person_ca, _ca(keys, "root"))
    assert sub_ca.certificate_status == ocsp.OCSPCertStatus.GOOD
    with refusal("signing.demo.already_revoked", certificate_serial=keys.deputy.serial) as again:
        revoke(keys.pki, keys.deputy.serial, "superseded")
    assert again.value.kind == "conflict"


def test_crl_lists_a_revoked_serial_signed_by_its_ca(keys: Keys, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    path = issue_demo_certificate(
        keys.pki,
        "nhanvien",
        Identity("DEMO Đỗ Văn Em", "DEMO Sở Nội vụ tỉnh Mẫu", None, "Chuyên viên", None),
        kind="person",
        not_before=now - timedelta(hours=1),
        not_after=now + timedelta(days=30),
    )
    employee = open_personal_key(path, keys.pki.demo_pin("nhanvien"))
    person_ca = _ca(keys, "person")
    url = str(
        employee.certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints)
        .value[0]
        .full_name[0]  # type: ignore[index]
        .value
    )
    before = x509.load_der_x509_crl(_get(url))
    assert before.get_revoked_certificate_by_serial_number(employee.serial) is None

    revoke(keys.pki, employee.serial, "cessation-of-operation")
    crl = x509.load_der_x509_crl(_get(url))
    assert crl.is_signature_valid(person_ca.public_key())  # type: ignore[arg-type]
    assert crl.issuer == person_ca.subject
    entry = crl.get_revoked_certificate_by_serial_number(employee.serial)
    assert entry is not None
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason == x509.ReasonFlags.cessation_of_operation
    assert crl.next_update_utc is not None
    assert crl.next_update_utc - datetime.now(UTC) <= timedelta(minutes=10)
    # the seal's CA publishes its own list, without the person's revocation
    agency_crl = x509.load_der_x509_crl(_get(f"{keys.pki.base_url}/crl/agency.crl"))
    assert agency_crl.get_revoked_certificate_by_serial_number(employee.serial) is None


def test_ca_issuers_url_serves_the_ca_certificate(keys: Keys) -> None:
    aia = keys.agency.certificate.extensions.get_extension_for_class(
        x509.AuthorityInformationAccess
    ).value
    url = next(
        str(d.access_location.value)
        for d in aia
        if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS
    )
    assert x509.load_der_x509_certificate(_get(url)) == _ca(keys, "agency")


def test_tsa_token_verifies_with_openssl(keys: Keys, tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes("Văn bản cần dấu thời gian".encode())
    query = tmp_path / "request.tsq"
    subprocess.run(
        ["openssl", "ts", "-query", "-data", str(data), "-sha256", "-cert", "-out", str(query)],
        check=True,
        capture_output=True,
    )
    reply = tmp_path / "reply.tsr"
    reply.write_bytes(_post(keys.pki.tsa_url, query.read_bytes(), "application/timestamp-query"))
    _, tsa_cert, _ = pkcs12.load_key_and_certificates(
        keys.pki.tsa_p12.read_bytes(), keys.pki.passphrase()
    )
    assert tsa_cert is not None
    untrusted = tmp_path / "tsa.pem"
    untrusted.write_bytes(tsa_cert.public_bytes(serialization.Encoding.PEM))
    verify = [
        "openssl", "ts", "-verify", "-in", str(reply), "-CAfile", str(keys.pki.root_cert),
        "-untrusted", str(untrusted),
    ]  # fmt: skip
    good = subprocess.run([*verify, "-data", str(data)], capture_output=True, text=True)
    assert good.returncode == 0 and "Verification: OK" in good.stdout, good.stderr
    data.write_bytes(b"something else")
    bad = subprocess.run([*verify, "-data", str(data)], capture_output=True, text=True)
    assert bad.returncode != 0


_OTHER_PROCESS = """
import sys
from signing.demo import ensure_pki_services, load_demo_pki, revoke
pki = load_demo_pki(sys.argv[1])
print(ensure_pki_services(pki))
revoke(pki, int(sys.argv[2], 16), "superseded")
"""


def test_another_process_reuses_the_services_and_its_revocation_is_seen(keys: Keys) -> None:
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS, str(keys.pki.directory), f"{keys.agency.serial:x}"],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == keys.pki.base_url
    answer = _ask_ocsp(keys.agency.certificate, _ca(keys, "agency"))
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_reason == x509.ReasonFlags.superseded
