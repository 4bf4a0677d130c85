"""Helpers for the PKI, revocation and PAdES-level tests: a PDF to sign, a private DEMO PKI,
and :func:`refusal`, which checks a SigningError by its code."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fixtures_pki import DEMO_AGENCY as AGENCY
from fixtures_pki import DEMO_OFFICIALS as OFFICIALS
from pdf_support import LAYOUT, text_pdf

from signing import (
    Level,
    SigningError,
    SigningKey,
    SigningPolicy,
    add_form_fields,
    certify,
    issue,
    load_pkcs12,
    open_personal_key,
    signing_policy,
)
from signing.demo import (
    DemoPKI,
    create_demo_pki,
    draw_seal_image,
    draw_signature_image,
    ensure_pki_services,
)


@contextmanager
def refusal(code: str, **fields: Any) -> Iterator[pytest.ExceptionInfo[SigningError]]:
    """``with refusal("signing.policy.revoked", certificate_serial=key.serial):`` — the block
    raises a SigningError with that code and those fields (compared by behaviour, not wording)."""
    with pytest.raises(SigningError) as caught:
        yield caught
    error = caught.value
    assert error.code == code, (error.code, str(error))
    found = error.fields()
    for name, value in fields.items():
        assert found.get(name) == value, (name, found.get(name), str(error))


NUMBER = "07/QĐ-SNV"
DATE = "ngày 07 tháng 01 năm 2026"


def one_page_pdf() -> bytes:
    return text_pdf([[(80, 600, b"QUYET DINH ve viec thu nghiem chu ky")]])


@dataclass(frozen=True)
class Keys:
    """A private DEMO PKI with its services running, and its keys loaded."""

    pki: DemoPKI
    leader: SigningKey
    deputy: SigningKey
    agency: SigningKey

    @property
    def roots(self) -> tuple[bytes, ...]:
        return (self.pki.root_cert.read_bytes(),)

    def policy(self, level: Level = "B-B") -> SigningPolicy:
        url = self.pki.tsa_url if level != "B-B" else None
        return SigningPolicy(trust_roots=self.roots, level=level, tsa_url=url)


def make_keys(directory: Path) -> Keys:
    pki = create_demo_pki(directory, AGENCY, OFFICIALS)
    ensure_pki_services(pki)
    return Keys(
        pki,
        open_personal_key(pki.people["giamdoc"], pki.demo_pin("giamdoc")),
        open_personal_key(pki.people["phogiamdoc"], pki.demo_pin("phogiamdoc")),
        load_pkcs12(pki.agency_p12, pki.passphrase()),
    )


def certified(keys: Keys, level: Level = "B-B", key: SigningKey | None = None) -> bytes:
    with signing_policy(keys.policy(level)):
        return certify(
            add_form_fields(one_page_pdf(), LAYOUT),
            key or keys.leader,
            draw_signature_image("Nguyễn Văn An"),
        )


def issued(keys: Keys, level: Level = "B-B") -> bytes:
    """Certified by the leader (B-B or B-T: a DSS added after it would not be form filling),
    then issued with the seal at ``level``."""
    pdf = certified(keys, "B-B" if level == "B-B" else "B-T")
    with signing_policy(keys.policy(level)):
        return issue(
            pdf,
            number=NUMBER,
            date_text=DATE,
            key=keys.agency,
            seal_image=draw_seal_image("DEMO Sở Nội vụ tỉnh Mẫu", "Ủy ban nhân dân tỉnh Mẫu"),
        )


def pyhanko_validate(pdf: Path, root: Path) -> subprocess.CompletedProcess[str]:
    """pyHanko's own CLI, trusting only ``root``; one run per file."""
    pyhanko = Path(sys.executable).with_name("pyhanko")
    return subprocess.run(
        [str(pyhanko), "sign", "validate", "--trust", str(root), "--trust-replace", str(pdf)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
