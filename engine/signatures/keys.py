"""Keys, certificates and images the engine signs with, loaded once per workspace.

The demo PKI keeps PKCS#12 files and their passphrase in the PKI folder; production points the
same folder at the agency's own files (tokens come with the signing issue).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from engine.core.errors import ConfigError
from engine.core.workspace import Workspace
from signing import Level, SigningKey, SigningPolicy, load_pkcs12, make_archival
from signing import signing_policy as policy_for
from signing.demo import (
    DemoPKI,
    IssuedCertificate,
    ensure_pki_services,
    issued_certificates,
    load_demo_pki,
)

PERSONAL_LEVEL: Level = "B-T"
"""The leader's signature carries the TSA's time, as the agency seal does."""
IMAGES = "images"
SEAL_IMAGE = "seal.png"


def pki(ws: Workspace) -> DemoPKI:
    """The workspace's PKI, loaded once; its OCSP, CRL and TSA services answering."""
    cached = ws.caches.get("pki")
    if isinstance(cached, DemoPKI):
        return cached
    directory = ws.settings.effective_pki_dir
    if not directory.exists():
        raise ConfigError(
            f"không có thư mục khóa {directory} (chạy `vanthu setup-demo`)",
            f"no key folder {directory} (run `vanthu setup-demo`)",
            code="keys.folder_missing",
        )
    loaded = load_demo_pki(directory)
    if loaded.port:  # OCSP, CRL and TSA: every signature and archival timestamp asks them
        ensure_pki_services(loaded)
    ws.caches["pki"] = loaded
    return loaded


def issued(ws: Workspace) -> list[IssuedCertificate]:
    """The certificates the workspace's PKI issued, in order."""
    return issued_certificates(pki(ws))


def tsa_url(ws: Workspace) -> str:
    """The RFC 3161 timestamping service the workspace's signatures and archives use."""
    return ws.settings.tsa_url or pki(ws).tsa_url


def signing_policy(ws: Workspace, level: Level = "B-B") -> AbstractContextManager[SigningPolicy]:
    """``with keys.signing_policy(ws, "B-T"):`` — signatures inside follow the workspace's policy:
    its trust roots, revocation checked, and the PAdES level asked for."""
    url = tsa_url(ws) if level != "B-B" else None
    policy = SigningPolicy(trust_roots=tuple(trust_roots(ws)), level=level, tsa_url=url)
    return policy_for(policy)


def archival(ws: Workspace, pdf: bytes) -> bytes:
    """The PDF as the archive keeps it: PAdES B-LTA (validation data + document timestamp)."""
    return make_archival(pdf, trust_roots=trust_roots(ws), tsa_url=tsa_url(ws))


def _key(ws: Workspace, cache_key: str, path: Path) -> SigningKey:
    cached = ws.caches.get(cache_key)
    if isinstance(cached, SigningKey):
        return cached
    passphrase = pki(ws).passphrase_file.read_bytes().strip()
    key = load_pkcs12(path, passphrase)
    ws.caches[cache_key] = key
    return key


def personal_key(ws: Workspace, username: str) -> SigningKey:
    people = pki(ws).people
    if username not in people:
        raise ConfigError(
            f"người dùng '{username}' chưa có chứng thư số cá nhân",
            f"the user '{username}' has no personal certificate yet",
            code="keys.personal_missing",
            user=username,
        )
    return _key(ws, f"key:{username}", people[username])


def agency_key(ws: Workspace) -> SigningKey:
    return _key(ws, "key:agency", pki(ws).agency_p12)


def _image(ws: Workspace, name: str) -> bytes:
    path = ws.settings.effective_pki_dir / IMAGES / name
    if not path.exists():
        raise ConfigError(
            "không có tệp ảnh này",
            "no such image file",
            code="keys.image_missing",
            file=str(path),
        )
    return path.read_bytes()


def signature_image(ws: Workspace, username: str) -> bytes:
    return _image(ws, f"{username}.png")


def seal_image(ws: Workspace) -> bytes:
    return _image(ws, SEAL_IMAGE)


def trust_roots(ws: Workspace) -> list[bytes]:
    """The configured trust roots (PEM or DER), read once per workspace."""
    cached = ws.caches.get("trust_roots")
    if isinstance(cached, list):
        return list(cached)
    paths = ws.settings.trust_roots or [pki(ws).root_cert]
    roots = [path.read_bytes() for path in paths]
    ws.caches["trust_roots"] = roots
    return list(roots)
