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
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from signing._errors import SigningError
from signing._pin import protect_with_pin
from signing._policy import POLICY_ORGANISATION, POLICY_PERSON, common_name
from vanthu import clock
from vanthu.errors import Kind

MANIFEST = "pki.json"
DEMO_PINS = "DEMO-PINS.json"
ROOT_CN = "DEMO RootCA chuyên dùng Vanthu"
PERSON_CA_CN = "DEMO CA phục vụ cá nhân Vanthu"
AGENCY_CA_CN = "DEMO CA phục vụ các cơ quan Vanthu"
DEMO_ORG = "DEMO Vanthu - không có giá trị pháp lý"
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_CN_MAX = 64
KEYS_DIR = "services"
CERTS_DIR = "issued"
CA_FILES = {"root": "root.pem", "person": "ca-ca-nhan.pem", "agency": "ca-co-quan.pem"}
"""The three CAs by short name, as URLs and the index of issued certificates spell them."""
TSA_CN = "DEMO Dịch vụ cấp dấu thời gian Vanthu"
OCSP_CN = "DEMO Máy chủ OCSP"
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
    """Username to that person's PKCS#12 file, opened only with that person's PIN."""
    passphrase_file: Path
    """The passphrase of the agency's key, the CAs' and the services' keys (not of the people's:
    each opens with its owner's PIN), readable by the owner only."""
    port: int = 0
    """The local port of the PKI's HTTP services (OCSP, CRL, TSA, CA certificates)."""

    @property
    def base_url(self) -> str:
        """Where the services answer: ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def tsa_url(self) -> str:
        """The RFC 3161 timestamping service."""
        return f"{self.base_url}/tsa"

    def ca_path(self, ca: str) -> Path:
        """The certificate (PEM) of one CA: ``root``, ``person`` or ``agency``."""
        return self.directory / CA_FILES[ca]

    def ca_key_path(self, ca: str) -> Path:
        """The private key (PEM, encrypted with the passphrase) of one CA."""
        return self.directory / KEYS_DIR / f"{ca}.key.pem"

    def responder_path(self, ca: str) -> Path:
        """The OCSP responder's PKCS#12 (certificate issued by ``ca``)."""
        return self.directory / KEYS_DIR / f"ocsp-{ca}.p12"

    @property
    def tsa_p12(self) -> Path:
        """The timestamping unit's key and certificate."""
        return self.directory / KEYS_DIR / "tsa.p12"

    @property
    def certificates_dir(self) -> Path:
        """Every certificate the demo CAs issued, one PEM per serial (hex)."""
        return self.directory / CERTS_DIR

    def passphrase(self) -> bytes:
        return self.passphrase_file.read_bytes().strip()

    @property
    def demo_pins_file(self) -> Path:
        """The DEMO people's PINs, generated at run time (JSON, owner only): the demo and the
        tests read them; a real agency's people choose their own and no file holds them."""
        return self.directory / DEMO_PINS

    def demo_pin(self, username: str) -> str:
        """The DEMO PIN of ``username``'s key (gone once they chose their own)."""
        try:
            pins = json.loads(self.demo_pins_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pins = {}
        pin = pins.get(username) if isinstance(pins, dict) else None
        if not isinstance(pin, str):
            raise SigningError(
                f"không có mã PIN DEMO của '{username}' ({DEMO_PINS})",
                f"there is no DEMO PIN for '{username}' ({DEMO_PINS})",
                code="signing.demo.pin_unknown",
                kind=Kind.NOT_FOUND,
                user=username,
            )
        return pin


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
    port: int | None = None,
) -> DemoPKI:
    """Make the whole PKI in ``directory``; refuses a folder that already holds one.

    Each person's key opens with a PIN of its own, generated here and kept only in
    :attr:`DemoPKI.demo_pins_file`. Besides the CAs and the signing certificates: a TSA
    certificate, an OCSP responder per CA,
    and every certificate below the root pointing (AIA, CRL distribution point) at
    ``http://127.0.0.1:<port>/…``; ``port`` (default: a free one now) is kept in the manifest,
    and :func:`signing.ensure_pki_services` serves it.
    """
    directory = Path(directory)
    if (directory / MANIFEST).exists():
        raise SigningError(
            f"thư mục {directory} đã có bộ khóa DEMO ({MANIFEST}); không ghi đè",
            f"the folder {directory} already holds a DEMO PKI ({MANIFEST}); not overwritten",
            code="signing.demo.exists",
            kind=Kind.CONFLICT,
            directory=str(directory),
        )
    for username in people:
        if not _USERNAME.match(username):
            raise SigningError(
                f"tên người dùng '{username}' không dùng được làm tên tệp khóa",
                f"the user name '{username}' cannot be used as a key file name",
                code="signing.demo.bad_name",
                kind=Kind.INVALID,
                name=username,
            )
    if valid_days < 1:
        raise SigningError(
            f"thời hạn chứng thư phải từ 1 ngày trở lên, không phải {valid_days}",
            f"a certificate must be valid for 1 day or more, not {valid_days}",
            code="signing.demo.bad_validity",
            kind=Kind.INVALID,
            valid_days=valid_days,
        )
    directory.mkdir(parents=True, exist_ok=True)
    start = clock.now() - timedelta(hours=1)
    ca_end = start + timedelta(days=valid_days + 365)
    end = start + timedelta(days=valid_days)
    port = port or free_port()
    urls = _Urls(f"http://127.0.0.1:{port}")

    root = _self_signed_root(start, ca_end)
    person_ca = _sub_ca(root, PERSON_CA_CN, start, ca_end, urls.of("root"))
    agency_ca = _sub_ca(root, AGENCY_CA_CN, start, ca_end, urls.of("root"))
    passphrase = secrets.token_urlsafe(24).encode()

    pki = DemoPKI(
        directory=directory,
        root_cert=directory / "root.pem",
        agency_p12=directory / "co-quan.p12",
        people=MappingProxyType({name: directory / f"{name}.p12" for name in people}),
        passphrase_file=directory / "passphrase.txt",
        port=port,
    )
    _write_private(pki.passphrase_file, passphrase + b"\n")
    (directory / KEYS_DIR).mkdir(exist_ok=True)
    pki.certificates_dir.mkdir(exist_ok=True)
    cas = {"root": root, "person": person_ca, "agency": agency_ca}
    index: list[dict[str, str]] = []
    for ca_id, ca in cas.items():
        pki.ca_path(ca_id).write_bytes(ca.cert.public_bytes(serialization.Encoding.PEM))
        _write_private(pki.ca_key_path(ca_id), _encrypted_key(ca.key, passphrase))
        issuer = "root" if ca_id != "root" else ""
        _register(pki, index, ca.cert, kind="ca", issuer=issuer, name=ca_id)
        responder = _responder(ca, start, ca_end)
        _write_p12(pki.responder_path(ca_id), f"ocsp-{ca_id}", responder, ca, root, passphrase)
        _register(pki, index, responder.cert, kind="ocsp", issuer=ca_id, name=f"ocsp-{ca_id}")
    tsa = _tsa(root, start, ca_end, urls.of("root"))
    _write_p12(pki.tsa_p12, "tsa", tsa, root, root, passphrase)
    _register(pki, index, tsa.cert, kind="tsa", issuer="root", name="tsa")

    seal = _leaf(agency_ca, agency, POLICY_ORGANISATION, start, end, urls.of("agency"))
    _write_p12(pki.agency_p12, "co-quan", seal, agency_ca, root, passphrase)
    _register(pki, index, seal.cert, kind="organisation", issuer="agency", name="co-quan")
    for username, person in people.items():
        issued = _leaf(person_ca, person, POLICY_PERSON, start, end, urls.of("person"))
        _write_personal(pki, pki.people[username], username, issued, person_ca, root)
        _register(pki, index, issued.cert, kind="person", issuer="person", name=username)
    _write_manifest(pki, index)
    return pki


def forget_demo_pin(pki: DemoPKI, username: str) -> None:
    """Drop ``username``'s DEMO PIN from the DEMO PIN file: they chose a PIN of their own."""
    try:
        pins = json.loads(pki.demo_pins_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(pins, dict) and pins.pop(username, None) is not None:
        _write_private(pki.demo_pins_file, (json.dumps(pins, indent=2) + "\n").encode("utf-8"))


def _write_personal(
    pki: DemoPKI, path: Path, name: str, leaf: _Issued, ca: _Issued, root: _Issued
) -> None:
    """A person's key file under a new random DEMO PIN, recorded in the DEMO PIN file."""
    pin = secrets.token_urlsafe(9)
    protect_with_pin(path, name, leaf.key, leaf.cert, [ca.cert, root.cert], pin)
    try:
        pins = json.loads(pki.demo_pins_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        pins = {}
    pins[name] = pin
    _write_private(pki.demo_pins_file, (json.dumps(pins, indent=2) + "\n").encode("utf-8"))


@dataclass(frozen=True)
class IssuedCertificate:
    """One certificate a demo CA issued, as the PKI's index lists it."""

    serial: int
    kind: str
    """'ca', 'ocsp', 'tsa', 'person' or 'organisation'."""
    issuer: str
    """The issuing CA's short name ('root', 'person', 'agency'); empty for the root itself."""
    name: str
    """The username, 'co-quan', the CA's or the service's short name."""
    path: Path
    """The certificate, PEM."""

    def load(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.path.read_bytes())


def issued_certificates(pki: DemoPKI) -> list[IssuedCertificate]:
    """Every certificate of the PKI's index, in the order issued."""
    data = _read_manifest(pki.directory)
    return [
        IssuedCertificate(
            serial=int(item["serial"], 16),
            kind=item["kind"],
            issuer=item["issuer"],
            name=item["name"],
            path=pki.certificates_dir / f"{item['serial']}.pem",
        )
        for item in data.get("certificates", [])
    ]


def issue_demo_certificate(
    pki: DemoPKI,
    name: str,
    identity: Identity,
    *,
    kind: str,
    not_before: datetime,
    not_after: datetime,
) -> Path:
    """Issue one more person ('person') or agency ('organisation') certificate into a PKCS#12.

    Used to add an official later, or to make an expired certificate; the new certificate is
    registered in the index, so the OCSP responder answers for it. A person's key gets its
    own DEMO PIN (:meth:`DemoPKI.demo_pin`).
    """
    if kind not in ("person", "organisation"):
        raise SigningError(
            f"loại chứng thư '{kind}' không có; chọn person hoặc organisation",
            f"there is no certificate kind '{kind}'; choose person or organisation",
            code="signing.demo.bad_kind",
            kind=Kind.INVALID,
        )
    if not _USERNAME.match(name):
        raise SigningError(
            f"tên '{name}' không dùng được làm tên tệp khóa",
            f"the name '{name}' cannot be used as a key file name",
            code="signing.demo.bad_name",
            kind=Kind.INVALID,
            name=name,
        )
    ca_id = "person" if kind == "person" else "agency"
    passphrase = pki.passphrase()
    ca = _load_ca(pki, ca_id, passphrase)
    root = _load_ca(pki, "root", passphrase)
    policy = POLICY_PERSON if kind == "person" else POLICY_ORGANISATION
    urls = _Urls(pki.base_url)
    issued = _leaf(ca, identity, policy, not_before, not_after, urls.of(ca_id))
    path = pki.directory / f"{name}.p12"
    if kind == "person":
        _write_personal(pki, path, name, issued, ca, root)
    else:
        _write_p12(path, name, issued, ca, root, passphrase)
    index = [dict(item) for item in _read_manifest(pki.directory).get("certificates", [])]
    _register(pki, index, issued.cert, kind=kind, issuer=ca_id, name=name)
    _write_manifest(pki, index)
    return path


def load_ca(pki: DemoPKI, ca_id: str) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """One CA's certificate and private key (the services sign CRLs with it)."""
    issued = _load_ca(pki, ca_id, pki.passphrase())
    return issued.cert, issued.key


def _load_ca(pki: DemoPKI, ca_id: str, passphrase: bytes) -> _Issued:
    if ca_id not in CA_FILES:
        raise SigningError(
            f"không có CA '{ca_id}' trong bộ khóa DEMO",
            f"there is no CA '{ca_id}' in the DEMO PKI",
            code="signing.demo.ca_unknown",
            kind=Kind.NOT_FOUND,
            ca=ca_id,
        )
    try:
        cert = x509.load_pem_x509_certificate(pki.ca_path(ca_id).read_bytes())
        key = serialization.load_pem_private_key(pki.ca_key_path(ca_id).read_bytes(), passphrase)
    except (OSError, ValueError) as exc:
        raise SigningError(
            f"bộ khóa {pki.directory}: không đọc được khóa của CA {ca_id}",
            f"PKI {pki.directory}: the key of CA {ca_id} cannot be read",
            code="signing.demo.key_unreadable",
            kind=Kind.CONFIG,
            directory=str(pki.directory),
            ca=ca_id,
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SigningError(
            f"bộ khóa {pki.directory}: khóa của CA {ca_id} không phải RSA",
            f"PKI {pki.directory}: the key of CA {ca_id} is not RSA",
            code="signing.key.unsupported",
            kind=Kind.CONFIG,
            directory=str(pki.directory),
            ca=ca_id,
        )
    return _Issued(key, cert)


def free_port() -> int:
    """A TCP port nobody listens on right now on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class _Urls:
    base: str

    def of(self, ca_id: str) -> _Pointers:
        return _Pointers(
            ocsp=f"{self.base}/ocsp/{ca_id}",
            ca_issuers=f"{self.base}/ca/{ca_id}.cer",
            crl=f"{self.base}/crl/{ca_id}.crl",
        )


@dataclass(frozen=True)
class _Pointers:
    """Where a certificate's issuer answers: AIA (OCSP, caIssuers) and the CRL."""

    ocsp: str
    ca_issuers: str
    crl: str


def _register(
    pki: DemoPKI,
    index: list[dict[str, str]],
    cert: x509.Certificate,
    *,
    kind: str,
    issuer: str,
    name: str,
) -> None:
    serial = f"{cert.serial_number:x}"
    (pki.certificates_dir / f"{serial}.pem").write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
    )
    index.append({"serial": serial, "kind": kind, "issuer": issuer, "name": name})


def _encrypted_key(key: rsa.RSAPrivateKey, passphrase: bytes) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )


def load_demo_pki(directory: Path) -> DemoPKI:
    """Read the manifest written by :func:`create_demo_pki` and check every file is there."""
    directory = Path(directory)
    manifest = directory / MANIFEST
    try:
        data = _read_manifest(directory)
        pki = DemoPKI(
            directory=directory,
            root_cert=directory / data["root_cert"],
            agency_p12=directory / data["agency_p12"],
            people=MappingProxyType({u: directory / f for u, f in data["people"].items()}),
            passphrase_file=directory / data["passphrase_file"],
            port=int(data.get("port", 0)),
        )
    except FileNotFoundError as exc:
        raise SigningError(
            "không có tệp mô tả bộ khóa",
            "the PKI's manifest is missing",
            code="signing.demo.manifest_missing",
            kind=Kind.CONFIG,
            file=str(manifest),
        ) from exc
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SigningError(
            f"tệp mô tả bộ khóa hỏng: {exc}",
            f"the PKI's manifest is broken: {exc}",
            code="signing.demo.manifest_corrupt",
            kind=Kind.CONFIG,
            file=str(manifest),
        ) from exc
    for path in (pki.root_cert, pki.agency_p12, pki.passphrase_file, *pki.people.values()):
        if not path.is_file():
            raise SigningError(
                f"bộ khóa {directory} thiếu tệp {path.name}",
                f"the PKI {directory} lacks the file {path.name}",
                code="signing.demo.file_missing",
                kind=Kind.CONFIG,
                directory=str(directory),
                missing=path.name,
            )
    return pki


def _read_manifest(directory: Path) -> dict[str, Any]:
    data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("không phải một đối tượng JSON")
    return data


def _write_manifest(pki: DemoPKI, certificates: list[dict[str, str]]) -> None:
    data = {
        "root_cert": pki.root_cert.name,
        "agency_p12": pki.agency_p12.name,
        "people": {username: path.name for username, path in pki.people.items()},
        "passphrase_file": pki.passphrase_file.name,
        "port": pki.port,
        "certificates": certificates,
    }
    text = json.dumps(data, ensure_ascii=False, indent=2)
    temporary = pki.directory / f".{MANIFEST}.{os.getpid()}.tmp"
    temporary.write_text(text + "\n", encoding="utf-8")
    os.replace(temporary, pki.directory / MANIFEST)


def _write_private(path: Path, data: bytes) -> None:
    """Create the file readable by its owner only, from the first byte on."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _write_p12(
    path: Path, alias: str, leaf: _Issued, ca: _Issued, root: _Issued, passphrase: bytes
) -> None:
    chain = [ca.cert] if ca.cert == root.cert else [ca.cert, root.cert]
    data = pkcs12.serialize_key_and_certificates(
        alias.encode(),
        leaf.key,
        leaf.cert,
        chain,
        serialization.BestAvailableEncryption(passphrase),
    )
    _write_private(path, data)


def _demo(value: str) -> str:
    """Every name in the demo PKI says DEMO."""
    return value if "DEMO" in value else f"DEMO {value}"


def _attribute(oid: x509.ObjectIdentifier, value: str, what: str) -> x509.NameAttribute:
    if not value.strip() or len(value) > _CN_MAX:
        raise SigningError(
            f"{what} '{value}' phải có từ 1 đến {_CN_MAX} ký tự",
            f"{_WHAT_EN.get(what, what)} '{value}' must have 1 to {_CN_MAX} characters",
            code="signing.demo.bad_name",
            kind=Kind.INVALID,
            name=value,
        )
    return x509.NameAttribute(oid, value)


_WHAT_EN = {
    "quốc gia": "the country",
    "tên tổ chức": "the organisation's name",
    "đơn vị": "the unit",
    "chức vụ": "the title",
    "tên": "the name",
}


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


def _key_usage(
    *, signing: bool = False, non_repudiation: bool = False, ca: bool = False
) -> x509.KeyUsage:
    """Only what is asked: digitalSignature, nonRepudiation (PAdES validators expect both of a
    signer), or keyCertSign + cRLSign for a CA."""
    return x509.KeyUsage(
        digital_signature=signing,
        content_commitment=non_repudiation,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _self_signed_root(start: datetime, end: datetime) -> _Issued:
    key = _new_key()
    name = _ca_name(ROOT_CN)
    cert = (
        _builder(name, name, key, start, end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .sign(key, hashes.SHA256())
    )
    return _Issued(key, cert)


def _authority_key_id(issuer: _Issued) -> x509.AuthorityKeyIdentifier:
    return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key())


def _with_pointers(builder: x509.CertificateBuilder, where: _Pointers) -> x509.CertificateBuilder:
    """AIA (OCSP and caIssuers) and the CRL distribution point of the issuing CA."""
    return builder.add_extension(
        x509.AuthorityInformationAccess(
            [
                x509.AccessDescription(
                    AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(where.ocsp)
                ),
                x509.AccessDescription(
                    AuthorityInformationAccessOID.CA_ISSUERS,
                    x509.UniformResourceIdentifier(where.ca_issuers),
                ),
            ]
        ),
        critical=False,
    ).add_extension(
        x509.CRLDistributionPoints(
            [
                x509.DistributionPoint(
                    full_name=[x509.UniformResourceIdentifier(where.crl)],
                    relative_name=None,
                    reasons=None,
                    crl_issuer=None,
                )
            ]
        ),
        critical=False,
    )


def _sub_ca(
    root: _Issued, common_name: str, start: datetime, end: datetime, where: _Pointers
) -> _Issued:
    key = _new_key()
    builder = (
        _builder(_ca_name(common_name), root.cert.subject, key, start, end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(_authority_key_id(root), critical=False)
    )
    return _Issued(key, _with_pointers(builder, where).sign(root.key, hashes.SHA256()))


def _responder(ca: _Issued, start: datetime, end: datetime) -> _Issued:
    """The CA's delegated OCSP responder: OCSPSigning, and no revocation check on itself."""
    key = _new_key()
    ca_cn = common_name(ca.cert.subject).replace("DEMO ", "")
    subject = _ca_name(f"{OCSP_CN} - {ca_cn}"[:_CN_MAX])
    cert = (
        _builder(subject, ca.cert.subject, key, start, end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signing=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
        .add_extension(x509.OCSPNoCheck(), critical=False)
        .add_extension(_authority_key_id(ca), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    return _Issued(key, cert)


def _tsa(root: _Issued, start: datetime, end: datetime, where: _Pointers) -> _Issued:
    """The timestamping unit: timeStamping as its only, critical, extended key usage."""
    key = _new_key()
    builder = (
        _builder(_ca_name(TSA_CN), root.cert.subject, key, start, end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signing=True, non_repudiation=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(_authority_key_id(root), critical=False)
    )
    return _Issued(key, _with_pointers(builder, where).sign(root.key, hashes.SHA256()))


def _leaf(
    ca: _Issued,
    identity: Identity,
    policy: str,
    start: datetime,
    end: datetime,
    where: _Pointers,
) -> _Issued:
    key = _new_key()
    builder = _with_pointers(
        _builder(_subject(identity), ca.cert.subject, key, start, end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signing=True, non_repudiation=True), critical=True)
        .add_extension(_authority_key_id(ca), critical=False)
        .add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(x509.ObjectIdentifier(policy), None)]),
            critical=False,
        ),
        where,
    )
    if identity.email:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.RFC822Name(identity.email)]), critical=False
        )
    return _Issued(key, builder.sign(ca.key, hashes.SHA256()))
