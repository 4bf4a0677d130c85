"""Keys, certificates and images the engine signs with, loaded once per workspace.

The demo PKI keeps PKCS#12 files and their passphrase in the PKI folder; production points the
same folder at the agency's own files (tokens come with the signing issue).
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import ConfigError
from engine.workspace import Workspace
from signing import DemoPKI, SigningKey, load_demo_pki, load_pkcs12

IMAGES = "images"
SEAL_IMAGE = "seal.png"


def _pki(ws: Workspace) -> DemoPKI:
    cached = ws.caches.get("pki")
    if isinstance(cached, DemoPKI):
        return cached
    directory = ws.settings.effective_pki_dir
    if not directory.exists():
        raise ConfigError(f"không có thư mục khóa {directory} (chạy `vanthu setup-demo`)")
    pki = load_demo_pki(directory)
    ws.caches["pki"] = pki
    return pki


def _key(ws: Workspace, cache_key: str, path: Path) -> SigningKey:
    cached = ws.caches.get(cache_key)
    if isinstance(cached, SigningKey):
        return cached
    passphrase = _pki(ws).passphrase_file.read_bytes().strip()
    key = load_pkcs12(path, passphrase)
    ws.caches[cache_key] = key
    return key


def personal_key(ws: Workspace, username: str) -> SigningKey:
    people = _pki(ws).people
    if username not in people:
        raise ConfigError(f"người dùng '{username}' chưa có chứng thư số cá nhân")
    return _key(ws, f"key:{username}", people[username])


def agency_key(ws: Workspace) -> SigningKey:
    return _key(ws, "key:agency", _pki(ws).agency_p12)


def _image(ws: Workspace, name: str) -> bytes:
    path = ws.settings.effective_pki_dir / IMAGES / name
    if not path.exists():
        raise ConfigError(f"không có ảnh {path}")
    return path.read_bytes()


def signature_image(ws: Workspace, username: str) -> bytes:
    return _image(ws, f"{username}.png")


def seal_image(ws: Workspace) -> bytes:
    return _image(ws, SEAL_IMAGE)


def trust_roots(ws: Workspace) -> list[bytes]:
    paths = ws.settings.trust_roots or [_pki(ws).root_cert]
    return [path.read_bytes() for path in paths]
