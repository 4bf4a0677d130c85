"""Fixtures: SoftHSM2 tokens holding the demo agency's keys, as a leader's USB token would.

Every token lives in one token folder made once per session: SoftHSM reads its configuration
(SOFTHSM2_CONF) when the module is first loaded, and a process loads a module only once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    pkcs12,
)

from signing import pkcs12_password
from signing.demo import DemoPKI, ensure_pki_services, load_demo_pki

SOFTHSM_MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
PIN = "246810"
SO_PIN = "13579135"
KEY_LABEL = "chu-ky-so"


@dataclass(frozen=True)
class Tokens:
    """SoftHSM2 tokens, one per holder, all with :data:`PIN`."""

    module: Path
    conf: Path
    """The SOFTHSM2_CONF file, for agent processes started by the tests."""
    pin: str
    labels: dict[str, str]
    """Holder (username, or 'agency') to token label."""

    @property
    def env(self) -> dict[str, str]:
        return {"SOFTHSM2_CONF": str(self.conf)}


def _run(*args: str, env: dict[str, str]) -> None:
    result = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {result.stderr or result.stdout}")


def _make_token(label: str, p12: Path, passphrase: bytes, work: Path, env: dict[str, str]) -> None:
    """A token with the key (imported as PKCS#8), its certificate and its CA chain."""
    key, cert, chain = pkcs12.load_key_and_certificates(p12.read_bytes(), passphrase)
    assert key is not None and cert is not None
    key_pem = work / f"{label}.key.pem"
    key_pem.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    key_pem.chmod(0o600)
    _run(
        "softhsm2-util", "--init-token", "--free", "--label", label,
        "--so-pin", SO_PIN, "--pin", PIN, env=env,
    )  # fmt: skip
    _run(
        "softhsm2-util", "--import", str(key_pem), "--token", label,
        "--label", KEY_LABEL, "--id", "01", "--pin", PIN, env=env,
    )  # fmt: skip
    key_pem.unlink()  # the key now lives on the token only
    certs = [(cert, "01", KEY_LABEL)] + [
        (ca, f"{index + 2:02d}", f"ca-{index + 1}")
        for index, ca in enumerate(c for c in chain if c.subject != c.issuer)
    ]
    for certificate, object_id, object_label in certs:
        der = work / f"{label}-{object_id}.der"
        der.write_bytes(certificate.public_bytes(Encoding.DER))
        _run(
            "pkcs11-tool", "--module", str(SOFTHSM_MODULE), "--token-label", label,
            "--login", "--pin", PIN, "--write-object", str(der), "--type", "cert",
            "--id", object_id, "--label", object_label, env=env,
        )  # fmt: skip


@pytest.fixture(scope="session")
def pkcs11_tokens(tmp_path_factory: pytest.TempPathFactory, demo_keys: Path) -> Tokens:
    """Tokens for both leaders of the demo agency and one with the agency's (seal) key."""
    if not SOFTHSM_MODULE.exists() or shutil.which("softhsm2-util") is None:
        pytest.fail("SoftHSM2 is missing: run scripts/install-system-deps.sh")
    if shutil.which("pkcs11-tool") is None:
        pytest.fail("pkcs11-tool (opensc) is missing: run scripts/install-system-deps.sh")
    work = tmp_path_factory.mktemp("softhsm")
    (work / "tokens").mkdir()
    conf = work / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {work / 'tokens'}\nobjectstore.backend = file\n"
        "log.level = ERROR\n",
        encoding="utf-8",
    )
    os.environ["SOFTHSM2_CONF"] = str(conf)  # before this process first loads the module
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    pki = load_demo_pki(demo_keys)
    passphrase = pki.passphrase_file.read_bytes().strip()
    labels = {name: f"DEMO {name}" for name in pki.people}
    for name, label in labels.items():  # each leader's key opens with their own (DEMO) PIN
        password = pkcs12_password(pki.people[name], pki.demo_pin(name))
        _make_token(label, pki.people[name], password, work, env)
    labels["agency"] = "DEMO co quan"
    _make_token(labels["agency"], pki.agency_p12, passphrase, work, env)
    return Tokens(module=SOFTHSM_MODULE, conf=conf, pin=PIN, labels=labels)


@pytest.fixture(scope="session")
def demo_services(demo_keys: Path) -> DemoPKI:
    """The demo PKI's OCSP, CRL and TSA answering, as every signature checks revocation."""
    pki = load_demo_pki(demo_keys)
    ensure_pki_services(pki)
    return pki
