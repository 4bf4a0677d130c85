"""The DEMO PKI's services over local HTTP: OCSP, CRL, RFC 3161 timestamps, CA certificates.

One small threaded server per PKI, on the port its manifest names:

- ``POST /ocsp/<ca>`` (or ``GET /ocsp/<ca>/<base64 request>``): an OCSP answer signed by that
  CA's responder certificate, 'revoked' for what the PKI's revocation list holds;
- ``GET /crl/<ca>.crl``: a CRL signed by the CA now, valid for :data:`CRL_LIFETIME`;
- ``POST /tsa``: an RFC 3161 timestamp from the PKI's TSA certificate;
- ``GET /ca/<ca>.cer``: the CA's certificate (the AIA caIssuers pointer);
- ``GET /health``: which PKI answers here (the root's SHA-256 fingerprint).

All state lives in the PKI folder, so any number of processes agree: the first to need the
services starts them in a daemon thread; the others find them answering and use them.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from asn1crypto import cms, core, keys, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import ocsp
from pyhanko.sign import general
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing._aio import run_sync
from signing._errors import SigningError
from signing._pki import (
    CA_FILES,
    DemoPKI,
    IssuedCertificate,
    issued_certificates,
    load_ca,
    load_demo_pki,
)
from signing._revocation import Revocation, revocations, revoked_by
from vanthu import clock
from vanthu.errors import Kind

CRL_LIFETIME = timedelta(minutes=10)
OCSP_LIFETIME = timedelta(minutes=10)
TSA_POLICY = "2.25.255604434232389424616958385346497613312"
"""The DEMO TSA's policy (a UUID-based OID, no registration needed)."""
_HEALTH_TIMEOUT = 2.0

_servers: dict[int, ThreadingHTTPServer] = {}
_servers_lock = threading.Lock()


def ensure_pki_services(pki: DemoPKI) -> str:
    """The base URL of the PKI's services, starting them in this process if nobody answers."""
    if not pki.port:
        raise SigningError(
            f"bộ khóa {pki.directory} được tạo trước khi có dịch vụ OCSP/CRL/TSA: tạo lại bộ khóa",
            f"the PKI {pki.directory} was made before the OCSP/CRL/TSA services existed: make "
            "it again",
            code="signing.demo.no_services",
            kind=Kind.CONFIG,
            directory=str(pki.directory),
        )
    with _servers_lock:
        if pki.port in _servers:
            return pki.base_url
        if _answers_for(pki):
            return pki.base_url
        try:
            server = _Server(pki, pki.port)
        except OSError as exc:
            if _answers_for(pki):  # another process won the race for the port
                return pki.base_url
            raise _port_unusable(pki.port, exc) from exc
        _servers[pki.port] = server
        threading.Thread(target=server.serve_forever, name="vanthu-pki", daemon=True).start()
    return pki.base_url


def serve_pki(pki: DemoPKI, port: int | None = None) -> None:
    """Serve the PKI in the foreground until interrupted (``vanthu pki serve``)."""
    try:
        server = _Server(pki, port or pki.port)
    except OSError as exc:
        raise _port_unusable(port or pki.port, exc) from exc
    try:
        server.serve_forever()
    finally:
        server.server_close()


def _port_unusable(port: int, exc: OSError) -> SigningError:
    return SigningError(
        f"không mở được cổng {port} cho dịch vụ của bộ khóa DEMO: {exc.strerror}",
        f"port {port} cannot be opened for the DEMO PKI's services: {exc.strerror}",
        code="signing.demo.port_unusable",
        kind=Kind.CONFIG,
        port=port,
    )


def stop_pki_services(pki: DemoPKI) -> None:
    """Stop the server this process started for ``pki``, if any."""
    with _servers_lock:
        server = _servers.pop(pki.port, None)
    if server is not None:
        server.shutdown()
        server.server_close()


def _answers_for(pki: DemoPKI) -> bool:
    try:
        with urllib.request.urlopen(f"{pki.base_url}/health", timeout=_HEALTH_TIMEOUT) as reply:
            data = json.loads(reply.read())
    except (OSError, ValueError, urllib.error.URLError):
        return False
    if data.get("root") == _fingerprint(pki):
        return True
    raise SigningError(
        f"cổng {pki.port} đang có dịch vụ của một bộ khóa khác, không phải bộ khóa {pki.directory}",
        f"port {pki.port} serves another PKI, not the PKI {pki.directory}",
        code="signing.demo.port_taken",
        kind=Kind.CONFIG,
        port=pki.port,
        directory=str(pki.directory),
    )


def _fingerprint(pki: DemoPKI) -> str:
    cert = x509.load_pem_x509_certificate(pki.root_cert.read_bytes())
    return cert.fingerprint(hashes.SHA256()).hex()


class _Authority:
    """One CA as the services see it: certificate, key, OCSP responder."""

    def __init__(self, pki: DemoPKI, ca_id: str) -> None:
        self.cert, self.key = load_ca(pki, ca_id)
        key, cert, _ = pkcs12.load_key_and_certificates(
            pki.responder_path(ca_id).read_bytes(), pki.passphrase()
        )
        if not isinstance(key, rsa.RSAPrivateKey) or cert is None:
            raise SigningError(
                f"bộ khóa {pki.directory}: hỏng tệp khóa OCSP của CA {ca_id}",
                f"PKI {pki.directory}: the OCSP key file of CA {ca_id} is broken",
                code="signing.demo.key_unreadable",
                kind=Kind.CONFIG,
                directory=str(pki.directory),
                ca=ca_id,
            )
        self.responder_cert, self.responder_key = cert, key
        public = self.cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.PKCS1
        )
        self.key_hashes = {
            "sha1": _digest(hashes.SHA1(), public),
            "sha256": _digest(hashes.SHA256(), public),
        }


def _digest(algorithm: hashes.HashAlgorithm, data: bytes) -> bytes:
    digest = hashes.Hash(algorithm)
    digest.update(data)
    return digest.finalize()


class _TimeStamper(DummyTimeStamper):
    """pyHanko's RFC 3161 responder logic, with the TSA key parsed once and our policy OID.

    Its time is Vanthu's clock (:func:`vanthu.clock.now`), as the OCSP and CRL answers are."""

    def __init__(
        self, cert: x509.Certificate, key: rsa.RSAPrivateKey, chain: list[asn1_x509.Certificate]
    ) -> None:
        der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        super().__init__(
            tsa_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
            tsa_key=keys.PrivateKeyInfo.load(der),
            certs_to_embed=SimpleCertificateStore.from_certs(chain),
        )
        self._key = key

    @property  # pyHanko's attribute, read once per request
    def fixed_dt(self) -> datetime:
        """pyHanko stamps ``fixed_dt`` or the system's time: here, always Vanthu's clock."""
        return clock.now()

    @fixed_dt.setter
    def fixed_dt(self, value: datetime | None) -> None:
        """pyHanko's constructor sets it (to None); the clock wins."""

    def _build_tst_info(
        self, message_imprint: tsp.MessageImprint, dt: datetime, req: tsp.TimeStampReq
    ) -> tsp.TSTInfo:
        info = super()._build_tst_info(message_imprint, dt, req)
        info["policy"] = tsp.ObjectIdentifier(TSA_POLICY)
        return info

    def _sign_tst_info(
        self, tst_info_data: bytes, md_algorithm: str, dt: datetime
    ) -> tuple[bytes, cms.CMSAttributes]:
        hash_algorithm = general.get_pyca_cryptography_hash(md_algorithm)
        attributes = cms.CMSAttributes(
            [
                general.simple_cms_attribute("content_type", "tst_info"),
                general.simple_cms_attribute(
                    "signing_time", cms.Time({"utc_time": core.UTCTime(dt)})
                ),
                general.simple_cms_attribute(
                    "signing_certificate", general.as_signing_certificate(self.tsa_cert)
                ),
                general.simple_cms_attribute(
                    "message_digest", _digest(hash_algorithm, tst_info_data)
                ),
            ]
        )
        signature = self._key.sign(attributes.dump(), padding.PKCS1v15(), hash_algorithm)
        return signature, attributes


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, pki: DemoPKI, port: int) -> None:
        self.pki = load_demo_pki(pki.directory)
        self.authorities = {ca_id: _Authority(self.pki, ca_id) for ca_id in CA_FILES}
        key, cert, chain = pkcs12.load_key_and_certificates(
            self.pki.tsa_p12.read_bytes(), self.pki.passphrase()
        )
        if not isinstance(key, rsa.RSAPrivateKey) or cert is None:
            raise SigningError(
                f"bộ khóa {pki.directory}: hỏng tệp khóa của dịch vụ dấu thời gian",
                f"PKI {pki.directory}: the timestamping service's key file is broken",
                code="signing.demo.key_unreadable",
                kind=Kind.CONFIG,
                directory=str(pki.directory),
            )
        asn1_chain = [
            asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in chain
        ]
        self.timestamper = _TimeStamper(cert, key, asn1_chain)
        self.fingerprint = _fingerprint(self.pki)
        super().__init__(("127.0.0.1", port), _Handler)

    def known_since(
        self, ca_id: str, revoked: list[tuple[IssuedCertificate, Revocation]]
    ) -> datetime:
        """Since when the CA's revocation list is what it is now: its last revocation, or the
        CA's start. OCSP thisUpdate and CRL lastUpdate say so, which lets a validator use a
        fresh answer for a signature made any time since (and no earlier)."""
        since = self.authorities[ca_id].cert.not_valid_before_utc
        if revoked:
            since = max(since, max(r.revoked_at for _, r in revoked))
        return min(since, clock.now())

    def crl(self, ca_id: str) -> bytes:
        authority = self.authorities[ca_id]
        now = clock.now()
        revoked = revoked_by(self.pki, ca_id)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(authority.cert.subject)
            .last_update(self.known_since(ca_id, revoked))
            .next_update(now + CRL_LIFETIME)
            .add_extension(x509.CRLNumber(int(now.timestamp() * 1000)), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.key.public_key()),
                critical=False,
            )
        )
        for issued, revocation in revoked:
            entry = (
                x509.RevokedCertificateBuilder()
                .serial_number(issued.serial)
                .revocation_date(revocation.revoked_at)
            )
            if revocation.flag != x509.ReasonFlags.unspecified:
                entry = entry.add_extension(x509.CRLReason(revocation.flag), critical=False)
            builder = builder.add_revoked_certificate(entry.build())
        crl = builder.sign(authority.key, hashes.SHA256())
        return crl.public_bytes(serialization.Encoding.DER)

    def ocsp(self, ca_id: str, request_der: bytes) -> bytes:
        try:
            request = ocsp.load_der_ocsp_request(request_der)
        except ValueError:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.MALFORMED_REQUEST
            ).public_bytes(serialization.Encoding.DER)
        authority = self.authorities[ca_id]
        algorithm = request.hash_algorithm.name
        if authority.key_hashes.get(algorithm) != request.issuer_key_hash:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.UNAUTHORIZED
            ).public_bytes(serialization.Encoding.DER)
        known = {c.serial for c in issued_certificates(self.pki) if c.issuer == ca_id}
        revoked = revocations(self.pki).get(request.serial_number)
        now = clock.now()
        since = self.known_since(ca_id, revoked_by(self.pki, ca_id))
        if request.serial_number not in known:
            status, when, reason = ocsp.OCSPCertStatus.UNKNOWN, None, None
        elif revoked is not None:
            status, when, reason = ocsp.OCSPCertStatus.REVOKED, revoked.revoked_at, revoked.flag
        else:
            status, when, reason = ocsp.OCSPCertStatus.GOOD, None, None
        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response_by_hash(
                issuer_name_hash=request.issuer_name_hash,
                issuer_key_hash=request.issuer_key_hash,
                serial_number=request.serial_number,
                algorithm=request.hash_algorithm,
                cert_status=status,
                this_update=since,
                next_update=now + OCSP_LIFETIME,
                revocation_time=when,
                revocation_reason=reason,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, authority.responder_cert)
            .certificates([authority.responder_cert])
        )
        for extension in request.extensions:
            if isinstance(extension.value, x509.OCSPNonce):
                builder = builder.add_extension(extension.value, critical=False)
        response = builder.sign(authority.responder_key, hashes.SHA256())
        return response.public_bytes(serialization.Encoding.DER)

    def timestamp(self, request_der: bytes) -> bytes:
        try:
            request = tsp.TimeStampReq.load(request_der)
            request.native  # noqa: B018  (parse everything now, fail here)
        except ValueError:
            failed = tsp.TimeStampResp(
                {"status": tsp.PKIStatusInfo({"status": "rejection", "fail_info": {"bad_request"}})}
            )
            return bytes(failed.dump())
        response = run_sync(self.timestamper.async_request_tsa_response(request))
        return bytes(response.dump())


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        parts = self.path.split("?")[0].strip("/").split("/")
        if parts == ["health"]:
            body = json.dumps({"root": self.server.fingerprint}).encode()
            self._reply(200, "application/json", body)
        elif len(parts) == 2 and parts[0] == "ca" and _ca(parts[1], ".cer") in CA_FILES:
            cert = self.server.authorities[_ca(parts[1], ".cer")].cert
            self._reply(200, "application/pkix-cert", cert.public_bytes(serialization.Encoding.DER))
        elif len(parts) == 2 and parts[0] == "crl" and _ca(parts[1], ".crl") in CA_FILES:
            self._reply(200, "application/pkix-crl", self.server.crl(_ca(parts[1], ".crl")))
        elif len(parts) >= 3 and parts[0] == "ocsp" and parts[1] in CA_FILES:
            try:
                request = base64.b64decode("/".join(parts[2:]), validate=False)
            except binascii.Error:
                request = b""
            self._reply(200, "application/ocsp-response", self.server.ocsp(parts[1], request))
        else:
            self._reply(404, "text/plain; charset=utf-8", "không có dịch vụ này\n".encode())

    def do_POST(self) -> None:
        parts = self.path.split("?")[0].strip("/").split("/")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if 0 < length <= 1 << 20 else b""
        if len(parts) == 2 and parts[0] == "ocsp" and parts[1] in CA_FILES:
            self._reply(200, "application/ocsp-response", self.server.ocsp(parts[1], body))
        elif parts == ["tsa"]:
            self._reply(200, "application/timestamp-reply", self.server.timestamp(body))
        else:
            self._reply(404, "text/plain; charset=utf-8", "không có dịch vụ này\n".encode())

    def _reply(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


def _ca(name: str, suffix: str) -> str:
    return name[: -len(suffix)] if name.endswith(suffix) else ""
