"""The audit chain anchored outside the database: its head signed with the agency's key,
timestamped by the TSA and kept create-only in the store, so that someone with access to the
database who edits an event and recomputes every hash after it is found all the same."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from engine.automation import open_workspace
from engine.automation.schedules import SCHEDULES, TIMEZONE, next_run
from engine.automation.worker import configure_prefect
from engine.core import audit
from engine.core.agency import create_demo_agency
from engine.core.config import load_settings, write_settings_file
from engine.core.db import transaction
from engine.core.models import AuditEvent, AuditHead
from engine.core.text import VIETNAM
from engine.core.workspace import Workspace
from engine.signatures import anchors
from storage import RetentionError
from vanthu import clock


def _events(ws: Workspace, count: int) -> int:
    """``count`` more events in the chain; returns the head's sequence number."""
    for i in range(count):
        with transaction(ws.db) as session:
            audit.append(session, actor="vanthu", event="action", detail={"i": i})
    with Session(ws.db) as session:
        head = session.get(AuditHead, 1)
        assert head is not None
        return head.seq


def _rewrite_from(ws: Workspace, seq: int) -> None:
    """What an attacker with the database does: edit event ``seq``, then recompute its hash and
    every hash after it, and the head, so that the chain itself verifies again."""
    with transaction(ws.db) as session:
        events = session.exec(
            select(AuditEvent).where(col(AuditEvent.seq) >= seq).order_by(col(AuditEvent.seq))
        ).all()
        previous = events[0].prev_hash
        for event in events:
            if event.seq == seq:
                event.actor = "ke_gian"
            event.prev_hash = previous
            event.hash = audit._digest(audit._values(event))
            previous = event.hash
            session.add(event)
        head = session.get(AuditHead, 1)
        assert head is not None
        head.hash = previous
        session.add(head)


def _anchor_keys(ws: Workspace) -> list[str]:
    return list(ws.store.list_keys(anchors.PREFIX))


def _openssl_verifies(data: bytes, signature: bytes, root: Path, tmp_path: Path) -> bool:
    """OpenSSL, not our code, checks the detached CMS signature against the DEMO root."""
    (tmp_path / "data").write_bytes(data)
    (tmp_path / "sig.der").write_bytes(signature)
    done = subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(tmp_path / "sig.der"),
            "-content",
            str(tmp_path / "data"),
            "-CAfile",
            str(root),
            "-purpose",
            "any",
            "-out",
            os.devnull,
        ],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def test_verify_anchors_the_head_signed_and_timestamped_outside_the_database(
    agency: Workspace, demo_keys: Path, tmp_path: Path
) -> None:
    head = _events(agency, 4)
    report = anchors.verify_audit(agency)
    assert report.intact and report.anchor_error is None
    assert report.anchored is not None and report.anchored.seq == head
    key = f"audit/anchors/{head:012d}.json"
    assert _anchor_keys(agency) == [key]
    body = json.loads(agency.store.get(key))
    statement = json.loads(body["statement"])
    with Session(agency.db) as session:
        event = session.get(AuditEvent, head)
        assert event is not None
    assert (statement["seq"], statement["hash"], statement["agency"]) == (head, event.hash, "SNV")
    signature = base64.b64decode(body["signature"])
    signed = body["statement"].encode("utf-8")
    assert _openssl_verifies(signed, signature, demo_keys / "root.pem", tmp_path)
    assert not _openssl_verifies(
        signed.replace(b'"seq"', b'"Seq"'), signature, demo_keys / "root.pem", tmp_path
    )
    printed = subprocess.run(
        ["openssl", "cms", "-cmsout", "-print", "-inform", "DER"],
        input=signature,
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert "id-smime-aa-timeStampToken" in printed  # the TSA's token rides along
    # Create-only, under retention: nobody rewrites or removes it.
    with pytest.raises(RetentionError):
        agency.store.put(key, b"{}")
    with pytest.raises(RetentionError):
        agency.store.delete(key)

    again = anchors.verify_audit(agency)  # nothing new: the same anchor, no second object
    assert again.intact and again.anchors.matched == 1 and _anchor_keys(agency) == [key]
    assert again.anchored is not None and again.anchored.seq == head
    checked = anchors.check_anchors(agency)
    assert checked.ok and checked.anchors == checked.matched == 1


def test_a_chain_recomputed_after_an_edit_no_longer_matches_its_anchors(
    agency: Workspace,
) -> None:
    first = _events(agency, 3)
    assert anchors.verify_audit(agency).anchored is not None
    second = _events(agency, 4)
    assert anchors.verify_audit(agency).anchored is not None
    _events(agency, 2)  # not anchored yet
    edited = first + 2
    assert first < edited <= second

    _rewrite_from(agency, edited)
    assert audit.verify_chain(agency.db).intact  # the chain alone no longer tells

    report = anchors.verify_audit(agency)
    assert not report.intact
    assert report.anchors.untrusted_from == first + 1
    assert report.anchors.matched == 1  # the first anchor, before the edit, still holds
    assert f"không tin cậy được từ sự kiện #{first + 1}" in report.problems[0]
    assert any(f"#{second}" in p and "đã khác" in p for p in report.problems)
    assert report.anchored is None  # a rewritten chain is never anchored
    assert len(_anchor_keys(agency)) == 2


def test_a_truncated_chain_is_found_by_the_anchor_of_its_lost_tail(agency: Workspace) -> None:
    head = _events(agency, 5)
    assert anchors.verify_audit(agency).anchored is not None
    with transaction(agency.db) as session:  # drop the last two events, move the head back
        session.execute(text("DELETE FROM audit_event WHERE seq > :s"), {"s": head - 2})
        kept = session.get(AuditEvent, head - 2)
        state = session.get(AuditHead, 1)
        assert kept is not None and state is not None
        state.seq, state.hash = kept.seq, kept.hash
        session.add(state)
    assert audit.verify_chain(agency.db).intact
    report = anchors.verify_audit(agency)
    assert not report.intact and report.anchors.untrusted_from == 1
    assert any(f"không còn sự kiện #{head}" in p for p in report.problems)


def test_an_anchor_not_signed_by_the_agency_vouches_for_nothing(
    agency: Workspace, tmp_path: Path
) -> None:
    head = _events(agency, 2)
    assert anchors.verify_audit(agency).intact
    # Someone with write access to the store, without the agency's key, adds an anchor of
    # their own, signed with a key they made (OpenSSL), to bless a chain they rewrite later.
    forged_seq = head + 5
    statement = json.dumps(
        {"kind": anchors.KIND, "version": 1, "agency": "SNV", "seq": forged_seq,
         "hash": "a" * 64, "anchored_at": clock.now().isoformat()},
        sort_keys=True, separators=(",", ":"),
    )  # fmt: skip
    (tmp_path / "statement").write_text(statement, encoding="utf-8")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=DEMO SỞ NỘI VỤ",
            "-utf8",
            "-keyout",
            str(tmp_path / "k.pem"),
            "-out",
            str(tmp_path / "c.pem"),
        ],
        capture_output=True,
        check=True,
    )
    signature = subprocess.run(
        [
            "openssl",
            "cms",
            "-sign",
            "-binary",
            "-outform",
            "DER",
            "-in",
            str(tmp_path / "statement"),
            "-signer",
            str(tmp_path / "c.pem"),
            "-inkey",
            str(tmp_path / "k.pem"),
        ],
        capture_output=True,
        check=True,
    ).stdout
    body = {"statement": statement, "signature": base64.b64encode(signature).decode()}
    agency.store.create(anchors.anchor_key(forged_seq), json.dumps(body).encode())

    report = anchors.check_anchors(agency)
    assert report.anchors == 2 and report.matched == 1
    [problem] = report.problems
    assert problem.seq == forged_seq and "không đáng tin" in problem.message
    assert "gốc tin cậy" in problem.message
    assert report.untrusted_from is None  # it proves nothing either way


# --- The command line and the schedule ------------------------------------------------------


def _vanthu(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ},
        check=False,
    )


@pytest.fixture
def home(tmp_path: Path, demo_keys: Path) -> Path:
    """A demo agency the `vanthu` command opens (SQLite, folder store, the session's PKI)."""
    folder = tmp_path / f"agency-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    write_settings_file(folder, {"pki_dir": str(demo_keys)})
    ws = open_workspace(load_settings(folder))
    create_demo_agency(ws)
    ws.db.dispose()
    return folder


def test_audit_verify_says_from_which_event_the_log_cannot_be_trusted(home: Path) -> None:
    ws = open_workspace(load_settings(home))
    first = _events(ws, 3)
    verified = _vanthu(home, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert f"Đã neo đầu chuỗi #{first}" in verified.stdout
    _events(ws, 3)
    assert _vanthu(home, "audit", "verify").returncode == 0
    _rewrite_from(ws, first + 1)
    ws.db.dispose()

    refused = _vanthu(home, "audit", "verify")
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert lines[0].startswith("nhật ký đã bị viết lại: không tin cậy được từ sự kiện")
    assert f"#{first + 1} trở đi" in lines[0]
    assert "Traceback" not in refused.stderr


def test_the_chain_is_anchored_every_hour_by_a_prefect_flow(home: Path) -> None:
    [hourly] = [s for s in SCHEDULES if s.flow_name == "vanthu-audit-anchor"]
    assert TIMEZONE == "Asia/Ho_Chi_Minh"
    at_ten = datetime(2026, 11, 27, 10, 0, tzinfo=VIETNAM)
    assert next_run(hourly, at_ten) == datetime(2026, 11, 27, 10, 5, tzinfo=VIETNAM)
    assert next_run(hourly, next_run(hourly, at_ten)) == datetime(
        2026, 11, 27, 11, 5, tzinfo=VIETNAM
    )

    settings = load_settings(home)
    configure_prefect(settings)
    # Prefect reads PREFECT_HOME when imported: only after configure_prefect
    from prefect.settings import temporary_settings

    from engine.automation.flows import audit_anchor_flow

    ws = open_workspace(settings)
    head = _events(ws, 2)
    with temporary_settings(updates={"server.ephemeral.startup_timeout_seconds": 120}):
        done = audit_anchor_flow(str(home))
    assert done["anchored_seq"] == head and done["anchor_key"] == anchors.anchor_key(head)
    assert ws.store.exists(anchors.anchor_key(head))
