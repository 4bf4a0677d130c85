"""Certificates a careful validator must not trust, made with `cryptography` against a DEMO PKI,
and PDFs signed with them through pyHanko directly (Vanthu's own signing refuses such keys).

- :func:`lookalike_chain`: a root that copies the DEMO root's names, serial, key identifier and
  validity but holds another key, a sub-CA and a leaf under it (the classic look-alike chain);
- :func:`odd_certificate`: a leaf issued by the real DEMO person CA, but wrong in one way (no
  signing key usage, a CA certificate, SHA-1, RSA-1024, not valid yet);
- :func:`sign_pdf`: a PAdES or adbe.pkcs7.detached signature, as other agencies' tools make.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pyhanko.keys import load_private_key_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers, timestamps
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.demo import DemoPKI, issued_certificates, load_ca
from vanthu import clock

FULL_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=True,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)
ENCRYPTION_ONLY = x509.KeyUsage(
    digital_signature=False,
    content_commitment=False,
    key_encipherment=True,
    data_encipherment=True,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)
CA_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


@dataclass(frozen=True)
class Chain:
    """A private key, its certificate and the CA certificates that come with it."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _copy_extensions(
    builder: x509.CertificateBuilder, source: x509.Certificate, new_key: rsa.RSAPrivateKey
) -> x509.CertificateBuilder:
    """Every extension of ``source``; the subject key identifier made for ``new_key``."""
    for extension in source.extensions:
        value = extension.value
        if isinstance(value, x509.SubjectKeyIdentifier):
            value = x509.SubjectKeyIdentifier.from_public_key(new_key.public_key())
        builder = builder.add_extension(value, extension.critical)
    return builder


def lookalike_chain(pki: DemoPKI, person: str = "giamdoc") -> Chain:
    """A chain that copies the DEMO root's names (and its key identifier) but not its key.

    The forged root has the real root's subject, issuer, serial, validity and every extension,
    its subject key identifier included; only the key differs. Under it: a sub-CA with the real
    person CA's names, and a leaf with ``person``'s names, without revocation pointers.
    """
    real_root = x509.load_pem_x509_certificate(pki.root_cert.read_bytes())
    real_ca, _ = load_ca(pki, "person")
    real_leaf = _leaf_of(pki, person)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    builder = (
        x509.CertificateBuilder()
        .subject_name(real_root.subject)
        .issuer_name(real_root.issuer)
        .public_key(root_key.public_key())
        .serial_number(real_root.serial_number)
        .not_valid_before(real_root.not_valid_before_utc)
        .not_valid_after(real_root.not_valid_after_utc)
    )
    for extension in real_root.extensions:  # the real root's key identifier, copied as is
        builder = builder.add_extension(extension.value, extension.critical)
    fake_root = builder.sign(root_key, hashes.SHA256())
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    builder = (
        x509.CertificateBuilder()
        .subject_name(real_ca.subject)
        .issuer_name(real_root.subject)
        .public_key(ca_key.public_key())
        .serial_number(real_ca.serial_number)
        .not_valid_before(real_ca.not_valid_before_utc)
        .not_valid_after(real_ca.not_valid_after_utc)
    )
    fake_ca = _copy_extensions(builder, real_ca, ca_key).sign(root_key, hashes.SHA256())
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    builder = (
        x509.CertificateBuilder()
        .subject_name(real_leaf.subject)
        .issuer_name(real_ca.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(real_leaf.not_valid_before_utc)
        .not_valid_after(real_leaf.not_valid_after_utc)
    )
    for extension in real_leaf.extensions:
        value = extension.value
        if isinstance(value, x509.AuthorityInformationAccess | x509.CRLDistributionPoints):
            continue  # the real CA's services know nothing of this certificate
        if isinstance(value, x509.AuthorityKeyIdentifier):
            value = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
        builder = builder.add_extension(value, extension.critical)
    fake_leaf = builder.sign(ca_key, hashes.SHA256())
    return Chain(leaf_key, fake_leaf, (fake_ca, fake_root))


def _leaf_of(pki: DemoPKI, person: str) -> x509.Certificate:
    return next(c for c in issued_certificates(pki) if c.name == person).load()


def odd_certificate(
    pki: DemoPKI,
    *,
    usage: x509.KeyUsage = FULL_USAGE,
    ca: bool = False,
    algorithm: hashes.HashAlgorithm | None = None,
    key_size: int = 2048,
    not_before: datetime | None = None,
    common_name: str = "DEMO Trần Thị Bình",
) -> Chain:
    """A leaf issued by the real DEMO person CA, wrong in the ways asked (nothing else).

    No revocation pointers (AIA, CRL): nothing but the asked defect can stand in the way.
    """
    ca_cert, ca_key = load_ca(pki, "person")
    root = x509.load_pem_x509_certificate(pki.root_cert.read_bytes())
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    start = not_before or clock.now() - timedelta(hours=1)
    subject = x509.Name(
        [
            x509.NameAttribute(x509.NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, "DEMO Sở Nội vụ tỉnh Mẫu"),
            x509.NameAttribute(x509.NameOID.COMMON_NAME, common_name),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(max(start, clock.now()) + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    certificate = builder.sign(ca_key, hashes.SHA256())
    if isinstance(algorithm, hashes.SHA1):
        certificate = _resigned_with_sha1(certificate, ca_key)
    return Chain(key, certificate, (ca_cert, root))


def _resigned_with_sha1(cert: x509.Certificate, issuer_key: rsa.RSAPrivateKey) -> x509.Certificate:
    """The same certificate signed with SHA-1 (``cryptography`` no longer makes such ones)."""
    parsed = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    tbs = parsed["tbs_certificate"]
    sha1_rsa = {"algorithm": "sha1_rsa", "parameters": None}
    tbs["signature"] = sha1_rsa
    tbs_der = tbs.dump(force=True)
    signature = issuer_key.sign(tbs_der, padding.PKCS1v15(), hashes.SHA1())
    resigned = asn1_x509.Certificate(
        {
            "tbs_certificate": asn1_x509.TbsCertificate.load(tbs_der),
            "signature_algorithm": sha1_rsa,
            "signature_value": signature,
        }
    )
    return x509.load_der_x509_certificate(resigned.dump())


def sign_pdf(
    pdf: bytes,
    chain: Chain,
    *,
    field: str = "Signature1",
    subfilter: fields.SigSeedSubFilter = fields.SigSeedSubFilter.PADES,
    tsa_url: str | None = None,
    md_algorithm: str = "sha256",
    password: str | None = None,
    certify: fields.MDPPerm | None = None,
) -> bytes:
    """A signature in a new field ``field`` (default: the name the government's tool uses).

    ``password``: the user password of an encrypted PDF ("" when it opens without one); the
    update is encrypted as the file is, as ISO 32000 requires. ``certify``: a certification
    signature permitting that much afterwards (DocMDP P=1, 2 or 3).
    """
    key_pem = chain.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    signer = signers.SimpleSigner(
        signing_cert=_asn1(chain.certificate),
        signing_key=load_private_key_from_pemder_data(key_pem, None),
        cert_registry=SimpleCertificateStore.from_certs([_asn1(c) for c in chain.chain]),
    )
    metadata = signers.PdfSignatureMetadata(
        field_name=field,
        subfilter=subfilter,
        md_algorithm=md_algorithm,
        certify=certify is not None,
        docmdp_permissions=certify or fields.MDPPerm.FILL_FORMS,
    )
    stamper = timestamps.HTTPTimeStamper(tsa_url) if tsa_url else None
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    if password is not None:
        writer.encrypt(password)
    pdf_signer = signers.PdfSigner(metadata, signer, timestamper=stamper)
    out = pdf_signer.sign_pdf(writer)
    return bytes(out.getvalue())
