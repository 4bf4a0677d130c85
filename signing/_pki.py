"""A DEMO PKI made at run time: root, two sub-CAs, personal and agency certificates.

It mirrors the shape of the government's specialised CA (a root, one CA for people, one for
agencies) so the rest of Vanthu meets the same chains in tests as in production. Nothing here has
legal value, and every name says DEMO so nobody mistakes it for a real certificate.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from signing._errors import SigningError
from signing._policy import POLICY_ORGANISATION, POLICY_PERSON

MANIFEST = "pki.json"
ROOT_CN = "DEMO RootCA chuyên dùng Vanthu"
PERSON_CA_CN = "DEMO CA phục vụ cá nhân Vanthu"
AGENCY_CA_CN = "DEMO CA phục vụ các cơ quan Vanthu"
DEMO_ORG = "DEMO Vanthu - không có giá trị pháp lý"
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_CN_MAX = 64
"""X.520 upper bound for CN, O and OU; cryptography refuses longer values."""


@dataclass(frozen=True)
class Identity:
    """Who a certificate names."""

    common_name: str
    """The person's full name or the agency's name (CN)."""
    organisation: str
    """The person's agency, or the agency's parent body (O)."""
    unit: str | None
    """Unit inside the organisation (OU), if any."""
    title: str | None
    """The person's position, e.g. 'Giám đốc' (title)."""
    email: str | None
    """Put in the subject alternative name, if given."""


@dataclass(frozen=True)
class DemoPKI:
    """Where the files of a demo PKI are."""

    directory: Path
    """The folder holding everything below."""
    root_cert: Path
    """The DEMO root certificate, PEM: the trust anchor for validation."""
    agency_p12: Path
    """The agency's key and certificate (the seal signature)."""
    people: Mapping[str, Path]
    """Username to that person's PKCS#12 file."""
    passphrase_file: Path
    """The passphrase of every PKCS#12 file above, readable by the owner only."""


@dataclass(frozen=True)
class _Issued:
    """A key and its certificate."""

    key: rsa.RSAPrivateKey
    cert: x509.Certificate


def create_demo_pki(
    directory: Path,
    agency: Identity,
    people: Mapping[str, Identity],
    *,
    valid_days: int = 3 * 365,
) -> DemoPKI:
    """Make the whole PKI in ``directory``; refuses a folder that already holds one."""
    directory = Path(directory)
    if (directory / MANIFEST).exists():
        raise SigningError(f"thư mục {directory} đã có bộ khóa DEMO ({MANIFEST}); không ghi đè")
    for username in people:
        if not _USERNAME.match(username):
            raise SigningError(f"tên người dùng '{username}' không dùng được làm tên tệp khóa")
    if valid_days < 1:
        raise SigningError(f"thời hạn chứng thư phải từ 1 ngày trở lên, không phải {valid_days}")
    directory.mkdir(parents=True, exist_ok=True)
    start = datetime.now(UTC) - timedelta(hours=1)
    ca_end = start + timedelta(days=valid_days + 365)
    end = start + timedelta(days=valid_days)

    root = _self_signed_root(start, ca_end)
    person_ca = _sub_ca(root, PERSON_CA_CN, start, ca_end)
    agency_ca = _sub_ca(root, AGENCY_CA_CN, start, ca_end)
    passphrase = secrets.token_urlsafe(24).encode()

    pki = DemoPKI(
        directory=directory,
        root_cert=directory / "root.pem",
        agency_p12=directory / "co-quan.p12",
        people=MappingProxyType({name: directory / f"{name}.p12" for name in people}),
        passphrase_file=directory / "passphrase.txt",
    )
    _write_private(pki.passphrase_file, passphrase + b"\n")
    pki.root_cert.write_bytes(root.cert.public_bytes(serialization.Encoding.PEM))
    for ca, name in ((person_ca, "ca-ca-nhan.pem"), (agency_ca, "ca-co-quan.pem")):
        (directory / name).write_bytes(ca.cert.public_bytes(serialization.Encoding.PEM))

    seal = _leaf(agency_ca, agency, POLICY_ORGANISATION, start, end)
    _write_p12(pki.agency_p12, "co-quan", seal, agency_ca, root, passphrase)
    for username, person in people.items():
        issued = _leaf(person_ca, person, POLICY_PERSON, start, end)
        _write_p12(pki.people[username], username, issued, person_ca, root, passphrase)
    _write_manifest(pki)
    return pki


def load_demo_pki(directory: Path) -> DemoPKI:
    """Read the manifest written by :func:`create_demo_pki` and check every file is there."""
    directory = Path(directory)
    manifest = directory / MANIFEST
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        pki = DemoPKI(
            directory=directory,
            root_cert=directory / data["root_cert"],
            agency_p12=directory / data["agency_p12"],
            people=MappingProxyType({u: directory / f for u, f in data["people"].items()}),
            passphrase_file=directory / data["passphrase_file"],
        )
    except FileNotFoundError as exc:
        raise SigningError(f"không có tệp mô tả bộ khóa {manifest}") from exc
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SigningError(f"tệp mô tả bộ khóa {manifest} hỏng: {exc}") from exc
    for path in (pki.root_cert, pki.agency_p12, pki.passphrase_file, *pki.people.values()):
        if not path.is_file():
            raise SigningError(f"bộ khóa {directory} thiếu tệp {path.name}")
    return pki


def _write_manifest(pki: DemoPKI) -> None:
    data = {
        "root_cert": pki.root_cert.name,
        "agency_p12": pki.agency_p12.name,
        "people": {username: path.name for username, path in pki.people.items()},
        "passphrase_file": pki.passphrase_file.name,
    }
    text = json.dumps(data, ensure_ascii=False, indent=2)
    (pki.directory / MANIFEST).write_text(text + "\n", encoding="utf-8")


def _write_private(path: Path, data: bytes) -> None:
    """Create the file readable by its owner only, from the first byte on."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _write_p12(
    path: Path, alias: str, leaf: _Issued, ca: _Issued, root: _Issued, passphrase: bytes
) -> None:
    data = pkcs12.serialize_key_and_certificates(
        alias.encode(),
        leaf.key,
        leaf.cert,
        [ca.cert, root.cert],
        serialization.BestAvailableEncryption(passphrase),
    )
    _write_private(path, data)


def _demo(value: str) -> str:
    """Every name in the demo PKI says DEMO."""
    return value if "DEMO" in value else f"DEMO {value}"


def _attribute(oid: x509.ObjectIdentifier, value: str, what: str) -> x509.NameAttribute:
    if not value.strip() or len(value) > _CN_MAX:
        raise SigningError(f"{what} '{value}' phải có từ 1 đến {_CN_MAX} ký tự")
    return x509.NameAttribute(oid, value)


def _subject(identity: Identity) -> x509.Name:
    attributes = [
        _attribute(NameOID.COUNTRY_NAME, "VN", "quốc gia"),
        _attribute(NameOID.ORGANIZATION_NAME, _demo(identity.organisation), "tên tổ chức"),
    ]
    if identity.unit:
        attributes.append(_attribute(NameOID.ORGANIZATIONAL_UNIT_NAME, identity.unit, "đơn vị"))
    if identity.title:
        attributes.append(_attribute(NameOID.TITLE, identity.title, "chức vụ"))
    attributes.append(_attribute(NameOID.COMMON_NAME, _demo(identity.common_name), "tên"))
    return x509.Name(attributes)


def _ca_name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEMO_ORG),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _builder(
    subject: x509.Name, issuer: x509.Name, key: rsa.RSAPrivateKey, start: datetime, end: datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _signing_usage() -> x509.KeyUsage:
    """digitalSignature + nonRepudiation: what PAdES validators expect of a signer."""
    return x509.KeyUsage(
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


def _self_signed_root(start: datetime, end: datetime) -> _Issued:
    key = _new_key()
    name = _ca_name(ROOT_CN)
    cert = (
        _builder(name, name, key, start, end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(_ca_usage(), critical=True)
        .sign(key, hashes.SHA256())
    )
    return _Issued(key, cert)


def _authority_key_id(issuer: _Issued) -> x509.AuthorityKeyIdentifier:
    return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key())


def _sub_ca(root: _Issued, common_name: str, start: datetime, end: datetime) -> _Issued:
    key = _new_key()
    cert = (
        _builder(_ca_name(common_name), root.cert.subject, key, start, end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_usage(), critical=True)
        .add_extension(_authority_key_id(root), critical=False)
        .sign(root.key, hashes.SHA256())
    )
    return _Issued(key, cert)


def _leaf(ca: _Issued, identity: Identity, policy: str, start: datetime, end: datetime) -> _Issued:
    key = _new_key()
    builder = (
        _builder(_subject(identity), ca.cert.subject, key, start, end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_signing_usage(), critical=True)
        .add_extension(_authority_key_id(ca), critical=False)
        .add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(x509.ObjectIdentifier(policy), None)]),
            critical=False,
        )
    )
    if identity.email:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.RFC822Name(identity.email)]), critical=False
        )
    return _Issued(key, builder.sign(ca.key, hashes.SHA256()))
