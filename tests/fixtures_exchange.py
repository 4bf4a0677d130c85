"""Fixtures for the exchange: three agencies on localhost, each with its own DEMO PKI and organ
id, peers of one another. The sender (SNV) runs on PostgreSQL and SeaweedFS, the recipients on
SQLite and the folder store; the third recipient (STP) is started only when a test asks, so a
peer that is down at first can be tried."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fixtures_s3 import S3Server
from fixtures_web import _postgres_database, bound_port, serving

from engine.automation import open_workspace
from engine.core.agency import (
    DEMO_AGENCY,
    DEMO_PEOPLE,
    DEMO_REGISTERS,
    DEMO_UNITS,
    create_agency,
)
from engine.core.config import load_settings, write_settings_file
from engine.core.models import Agency
from engine.core.workspace import Workspace
from engine.exchange import add_peer, identity, set_organ_id
from engine.signatures import create_demo_keys
from signing._pki import load_demo_pki

ADMIN = "quantri"


@dataclass
class Office:
    """One agency of the exchange: its workspace, organ id and address."""

    ws: Workspace
    organ_id: str
    name: str
    url: str
    listener: socket.socket
    """Bound to the office's port from the start, so its peers' address for it stays its own."""
    up: bool = False

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])


@dataclass
class Network:
    """The agencies of one test module, by their code."""

    offices: dict[str, Office]
    stack: ExitStack = field(default_factory=ExitStack)

    def __getitem__(self, code: str) -> Office:
        return self.offices[code]

    def start(self, code: str) -> Office:
        """Serve ``code`` (once), on the port its peers already know."""
        office = self.offices[code]
        if not office.up:
            self.stack.enter_context(serving(office.ws, office.port, office.listener))
            office.up = True
        return office


AGENCIES = {
    "SNV": (DEMO_AGENCY, "000.00.01.H26"),
    "STC": (
        Agency(
            code="STC",
            name="SỞ TÀI CHÍNH",
            parent_name="ỦY BAN NHÂN DÂN THÀNH PHỐ HÀ NỘI",
            place="Hà Nội",
            leader_title="Giám đốc",
        ),
        "000.00.02.H26",
    ),
    "STP": (
        Agency(
            code="STP",
            name="SỞ TƯ PHÁP",
            parent_name="ỦY BAN NHÂN DÂN THÀNH PHỐ HÀ NỘI",
            place="Hà Nội",
            leader_title="Giám đốc",
        ),
        "000.00.03.H26",
    ),
}


def make_office(
    home: Path,
    pki: Path,
    code: str,
    *,
    roots: list[Path],
    database_url: str = "",
    store_url: str = "",
) -> Office:
    """``code``'s agency; it trusts ``roots``: every agency's DEMO root, as real agencies all
    trust the government CA's root (so each validates the others' PDF signatures)."""
    agency, organ_id = AGENCIES[code]
    home.mkdir(parents=True, exist_ok=True)
    values = {"database_url": database_url, "store_url": store_url, "pki_dir": str(pki)}
    write_settings_file(home, {k: v for k, v in values.items() if v})  # for `vanthu --home`
    settings = load_settings(
        home,
        database_url=database_url,
        store_url=store_url,
        pki_dir=pki,
        trust_roots=roots,
        steps_runner="inline",
        insecure_cookies=True,  # the web office over http on 127.0.0.1 (tests/test_exchange.py)
    )
    ws = open_workspace(settings)
    create_agency(ws, agency, DEMO_UNITS, DEMO_PEOPLE, DEMO_REGISTERS)
    set_organ_id(ws, ADMIN, organ_id)
    listener = bound_port()
    port = listener.getsockname()[1]
    return Office(ws, organ_id, agency.name, f"http://127.0.0.1:{port}", listener)


def introduce(office: Office, peer: Office, folder: Path) -> None:
    """``office`` pins ``peer``: what `vanthu exchange identity --out` and `peer add` do."""
    pem = folder / f"{peer.organ_id}.pem"
    pem.write_text(identity(peer.ws).certificate_pem, encoding="ascii")
    add_peer(office.ws, ADMIN, peer.organ_id, peer.name, peer.url, pem.read_bytes(), str(pem))


@pytest.fixture(scope="module")
def network(
    tmp_path_factory: pytest.TempPathFactory, demo_keys: Path, s3_server: S3Server
) -> Iterator[Network]:
    """SNV (PostgreSQL + SeaweedFS) sends; STC and STP (SQLite + folder) receive. SNV and STC
    are served; STP waits for ``network.start("STP")``. STC does not know STP."""
    base = tmp_path_factory.mktemp("exchange")
    keys = {"SNV": demo_keys}
    for code in ("STC", "STP"):
        keys[code] = base / f"pki-{code}"
        create_demo_keys(keys[code], AGENCIES[code][0], DEMO_PEOPLE)
    roots = [load_demo_pki(directory).root_cert for directory in keys.values()]
    with _postgres_database() as database_url:
        offices = {
            "SNV": make_office(
                base / "snv",
                keys["SNV"],
                "SNV",
                database_url=database_url,
                store_url=s3_server.fresh_url(),
                roots=roots,
            ),
            "STC": make_office(base / "stc", keys["STC"], "STC", roots=roots),
            "STP": make_office(base / "stp", keys["STP"], "STP", roots=roots),
        }
        for a, b in (("SNV", "STC"), ("STC", "SNV"), ("SNV", "STP"), ("STP", "SNV")):
            introduce(offices[a], offices[b], base)
        net = Network(offices)
        with net.stack:
            net.start("SNV")
            net.start("STC")
            yield net
        for office in offices.values():
            office.ws.db.dispose()
            office.listener.close()  # one never served is still open
