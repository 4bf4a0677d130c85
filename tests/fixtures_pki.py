"""Fixtures: a DEMO PKI made once per session, and keys loaded from it."""

from __future__ import annotations

import pytest

from signing import SigningKey, load_pkcs12, open_personal_key
from signing.demo import DemoPKI, Identity, create_demo_pki, ensure_pki_services

DEMO_AGENCY = Identity(
    common_name="DEMO Sở Nội vụ tỉnh Mẫu",
    organisation="DEMO Ủy ban nhân dân tỉnh Mẫu",
    unit=None,
    title=None,
    email=None,
)
DEMO_OFFICIALS = {
    "giamdoc": Identity(
        common_name="DEMO Nguyễn Văn An",
        organisation="DEMO Sở Nội vụ tỉnh Mẫu",
        unit="Ban Giám đốc",
        title="Giám đốc",
        email="giamdoc@snv.mau.example",
    ),
    "phogiamdoc": Identity(
        common_name="DEMO Phạm Minh Đức",
        organisation="DEMO Sở Nội vụ tỉnh Mẫu",
        unit="Ban Giám đốc",
        title="Phó Giám đốc",
        email=None,
    ),
}


@pytest.fixture(scope="session")
def demo_pki(tmp_path_factory: pytest.TempPathFactory) -> DemoPKI:
    """Root, two sub-CAs, the agency's seal certificate and two leaders' personal ones.

    Its OCSP, CRL and TSA services run for the whole session: every signature checks them.
    """
    pki = create_demo_pki(tmp_path_factory.mktemp("demo-pki"), DEMO_AGENCY, DEMO_OFFICIALS)
    ensure_pki_services(pki)
    return pki


@pytest.fixture(scope="session")
def leader_key(demo_pki: DemoPKI) -> SigningKey:
    """The director's personal key (certifies outgoing documents)."""
    return open_personal_key(demo_pki.people["giamdoc"], demo_pki.demo_pin("giamdoc"))


@pytest.fixture(scope="session")
def agency_key(demo_pki: DemoPKI) -> SigningKey:
    """The agency's key (the seal signature the clerk applies at issuance)."""
    return load_pkcs12(demo_pki.agency_p12, demo_pki.passphrase_file.read_bytes().strip())
