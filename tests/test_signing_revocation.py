"""The policy before every signature: revoked, expired, untrusted, wrong-kind certificates are
refused with one sentence naming the certificate; an earlier timestamped signature survives a
later revocation. Each module run has its own DEMO PKI, since these tests revoke its keys."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pki_support import Keys, certified, make_keys, refusal
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend
from sqlmodel import Session, col, select

from engine.automation import open_workspace
from engine.core.config import load_settings
from engine.core.models import AuditEvent
from signing import check_signing_policy, open_personal_key, signing_policy, verify_document
from signing.demo import (
    Identity,
    create_demo_pki,
    ensure_pki_services,
    issue_demo_certificate,
    load_demo_pki,
    revoke,
    stop_pki_services,
)
from tests_support import Ran
from vanthu import clock as vanthu_clock
from vanthu.clock import ManualClock


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return make_keys(tmp_path_factory.mktemp("revocation-pki"))


def _named(message: str, cn: str, serial: int) -> None:
    assert cn in message and f"{serial:x}" in message, message


def test_revoked_before_signing_the_next_signature_is_refused(keys: Keys) -> None:
    now = datetime.now(UTC)
    path = issue_demo_certificate(
        keys.pki,
        "truongphong",
        Identity("DEMO Lê Thị Cúc", "DEMO Sở Nội vụ tỉnh Mẫu", None, "Trưởng phòng", None),
        kind="person",
        not_before=now - timedelta(hours=1),
        not_after=now + timedelta(days=60),
    )
    head = open_personal_key(path, keys.pki.demo_pin("truongphong"))
    assert certified(keys, key=head)  # good today
    revoke(keys.pki, head.serial, "key-compromise")
    with refusal("signing.policy.revoked", certificate_serial=head.serial) as refused:
        certified(keys, key=head)
    assert refused.value.fields()["reason"] == "key_compromise"
    # the clerk reads whose certificate it is and why, in Vietnamese
    message = str(refused.value)
    assert "lộ khóa bí mật" in message
    _named(message, "DEMO Lê Thị Cúc", head.serial)


def test_revoked_after_a_timestamped_signature_that_signature_stays_valid(
    keys: Keys, clock: ManualClock
) -> None:
    signed = certified(keys, "B-T", key=keys.deputy)
    clock.advance(seconds=2)  # revocations count whole seconds: revoke in a later one
    revoke(keys.pki, keys.deputy.serial, "affiliation-changed")

    # pyHanko's validator: valid when judged at the timestamp's time, revoked when judged now
    at_timestamp = _validate_with_pyhanko(signed, keys, at_timestamp=True)
    assert at_timestamp.bottom_line and not at_timestamp.revoked
    now = _validate_with_pyhanko(signed, keys, at_timestamp=False)
    assert now.revoked and not now.bottom_line
    report = verify_document(signed, list(keys.roots))
    [signature] = [s for s in report.signatures if s.type == "signature"]
    assert report.verdict == "valid", report.reasons
    assert signature.level == "B-T" and signature.timestamp_time is not None
    assert signature.revocation == "good"  # at signing time; revoked only later

    with refusal("signing.policy.revoked", certificate_serial=keys.deputy.serial):
        certified(keys, "B-T", key=keys.deputy)


def _validate_with_pyhanko(signed: bytes, keys: Keys, *, at_timestamp: bool) -> Any:
    embedded = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
    root = list(load_certs_from_pemder_data(keys.roots[0]))
    plain = validate_pdf_signature(embedded, ValidationContext(trust_roots=root))
    assert plain.timestamp_validity is not None
    moment = plain.timestamp_validity.timestamp if at_timestamp else vanthu_clock.now()
    context = ValidationContext(
        trust_roots=root,
        allow_fetching=True,
        revocation_mode="hard-fail",
        retroactive_revinfo=True,
        moment=moment,
        fetcher_backend=RequestsFetcherBackend(),
    )
    return validate_pdf_signature(embedded, context)


def test_an_expired_certificate_is_refused(keys: Keys) -> None:
    now = datetime.now(UTC)
    path = issue_demo_certificate(
        keys.pki,
        "nghihuu",
        Identity("DEMO Trần Văn Cũ", "DEMO Sở Nội vụ tỉnh Mẫu", None, "Giám đốc", None),
        kind="person",
        not_before=now - timedelta(days=400),
        not_after=now - timedelta(days=30),
    )
    old = open_personal_key(path, keys.pki.demo_pin("nghihuu"))
    expired = {"certificate_serial": old.serial}
    with refusal("signing.policy.expired", **expired) as refused:
        check_signing_policy(old.certificate, old.chain, kind="person", trust_roots=keys.roots)
    _named(str(refused.value), "DEMO Trần Văn Cũ", old.serial)
    with refusal("signing.policy.expired", **expired):
        certified(keys, key=old)


def test_a_certificate_from_an_untrusted_root_is_refused(keys: Keys, tmp_path: Path) -> None:
    stranger_pki = create_demo_pki(
        tmp_path / "other-pki",
        Identity("DEMO Cơ quan lạ", "DEMO Tỉnh khác", None, None, None),
        {"la": Identity("DEMO Người Lạ", "DEMO Cơ quan lạ", None, "Giám đốc", None)},
    )
    stranger = open_personal_key(stranger_pki.people["la"], stranger_pki.demo_pin("la"))
    untrusted = refusal("signing.policy.untrusted", certificate_serial=stranger.serial)
    with untrusted as refused, signing_policy(keys.policy()):
        certified(keys, key=stranger)
    _named(str(refused.value), "DEMO Người Lạ", stranger.serial)


def test_revocation_that_cannot_be_checked_refuses(tmp_path: Path) -> None:
    offline = create_demo_pki(
        tmp_path / "offline-pki",
        Identity("DEMO Cơ quan ngoại tuyến", "DEMO Tỉnh Mẫu", None, None, None),
        {"giamdoc": Identity("DEMO Ngô Văn Tắt", "DEMO Cơ quan ngoại tuyến", None, None, None)},
    )
    key = open_personal_key(offline.people["giamdoc"], offline.demo_pin("giamdoc"))
    roots = (offline.root_cert.read_bytes(),)
    with refusal("signing.policy.revocation_unknown") as refused:
        check_signing_policy(key.certificate, key.chain, kind="person", trust_roots=roots)
    assert refused.value.retryable  # the services may answer later
    ensure_pki_services(offline)
    try:
        check_signing_policy(key.certificate, key.chain, kind="person", trust_roots=roots)
    finally:
        stop_pki_services(offline)


def test_the_seal_key_cannot_make_a_personal_signature_nor_the_reverse(keys: Keys) -> None:
    seal_as_person = {"expected": "person", "found": "organisation"}
    with refusal("signing.policy.wrong_kind", **seal_as_person) as refused:
        check_signing_policy(
            keys.agency.certificate, keys.agency.chain, kind="person", trust_roots=keys.roots
        )
    _named(str(refused.value), "DEMO Sở Nội vụ tỉnh Mẫu", keys.agency.serial)
    with refusal("signing.policy.wrong_kind", expected="organisation", found="person"):
        check_signing_policy(
            keys.leader.certificate, keys.leader.chain, kind="organisation", trust_roots=keys.roots
        )
    check_signing_policy(keys.leader.certificate, keys.leader.chain, kind="person")


VANTHU = [sys.executable, "-m", "engine"]


def _vanthu(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*VANTHU, "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
        check=False,
    )


def test_vanthu_pki_revoke_through_the_cli_is_audited_and_seen(
    tmp_path: Path, vanthu_cli: Callable[..., Ran]
) -> None:
    home = tmp_path / "agency"
    assert vanthu_cli(home, "init").returncode == 0
    setup = vanthu_cli(home, "setup-demo")  # a PKI of its own: revoking changes it
    assert setup.returncode == 0, setup.stderr

    refused = vanthu_cli(home, "pki", "revoke", "--user", "phogiamdoc", "--as", "chuyenvien")
    # a clerk's (or the owner's) action: forbidden to the specialist
    assert refused.returncode == 4 and refused.stderr.startswith("Lỗi: chuyenvien"), refused.stderr
    done = _vanthu(  # the installed command, a process of its own
        home, "pki", "revoke", "--user", "phogiamdoc", "--reason", "superseded", "--as", "vanthu"
    )
    assert done.returncode == 0, done.stderr
    assert "Đã thu hồi" in done.stdout and "đã được thay thế" in done.stdout
    again = vanthu_cli(home, "pki", "revoke", "--user", "phogiamdoc", "--as", "vanthu")
    assert again.returncode == 5 and "đã bị thu hồi" in again.stderr  # already: a conflict

    listed = json.loads(vanthu_cli(home, "pki", "list", "--json").stdout)
    states = {row["name"]: row["revoked"] for row in listed if row["kind"] == "person"}
    assert states.pop("phogiamdoc") is True
    assert states["giamdoc"] is False and not any(states.values())  # leaders, heads untouched
    text = vanthu_cli(home, "pki", "list").stdout
    assert "ĐÃ THU HỒI" in text and "phogiamdoc" in text

    ws = open_workspace(load_settings(home))
    with Session(ws.db) as session:
        events = session.exec(
            select(AuditEvent).where(col(AuditEvent.event) == "certificate_revoked")
        ).all()
    assert [e.actor for e in events] == ["vanthu"]
    assert json.loads(events[0].detail)["name"] == "phogiamdoc"

    # another process (this one) sees it: the deputy's next signature is refused
    pki = load_demo_pki(home / "pki")
    deputy = open_personal_key(pki.people["phogiamdoc"], pki.demo_pin("phogiamdoc"))
    ensure_pki_services(pki)
    try:
        with refusal("signing.policy.revoked", certificate_serial=deputy.serial):
            check_signing_policy(deputy.certificate, deputy.chain, kind="person")
    finally:
        stop_pki_services(pki)
