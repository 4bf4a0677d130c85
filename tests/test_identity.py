"""Who acted is proven: a leader's own PIN for their signature, the channel and OS user of every
audit event, every read checked and audited, and an agency folder nobody else reads."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, select

from engine.archive import case_files as files
from engine.archive import records
from engine.automation.worker import run_worker
from engine.core import audit
from engine.core.agency import DEMO_PEOPLE
from engine.core.db import MIGRATIONS_DIR, make_engine, transaction, upgrade
from engine.core.errors import NotAllowed, NotFound
from engine.core.models import ArchiveRecord, AuditEvent, Unit, User
from engine.core.workspace import Workspace
from engine.http import create_app
from engine.outgoing import create_outgoing
from engine.outgoing.agents import create_agent_token
from engine.signatures import keys
from engine.workflow import act
from engine.workflow import documents as reading
from signing import SigningError, SigningKey, load_pkcs12, verify_document
from signing.demo import load_demo_pki
from tests_support import (
    DECISION,
    LETTER,
    Ran,
    cli_agency,
    issue_document,
    open_task_steps,
    pin_of,
    refused,
)

VANTHU = [sys.executable, "-m", "engine"]
Factory = Callable[..., Workspace]


def _vanthu(
    home: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*VANTHU, "--home", str(home), *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=300,
        env={**os.environ, **(env or {})},
        check=False,
    )


def _one_line(result: subprocess.CompletedProcess[str] | Ran) -> str:
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    return result.stderr


@pytest.fixture
def own_keys(demo_keys: Path, tmp_path: Path) -> Path:
    """A copy of the session's DEMO keys a test may change (a leader's PIN)."""
    copy = tmp_path / "pki"
    shutil.copytree(demo_keys, copy)
    return copy


def _at_sign(ws: Workspace, request: object = DECISION) -> int:
    doc = create_outgoing(ws, "chuyenvien", request)  # type: ignore[arg-type]
    act(ws, doc, "chuyenvien", "submit")
    act(ws, doc, "truongphong", "approve")
    assert open_task_steps(ws, doc) == ["sign"]
    return doc


def _add_user(ws: Workspace, username: str, role: str, unit_code: str, title: str) -> None:
    with transaction(ws.db) as session:
        unit = session.exec(select(Unit).where(Unit.code == unit_code)).one()
        assert unit.id is not None
        session.add(
            User(username=username, full_name=title, role=role, unit_id=unit.id, title=title)
        )


def _add_admin(ws: Workspace, username: str = "quantri") -> None:
    if username != "quantri":  # the demo agency's own administrator is there already
        _add_user(ws, username, "admin", "VP", "Quản trị hệ thống")


def _events(ws: Workspace, event: str) -> list[AuditEvent]:
    return [e for e in audit.events(ws.db) if e.event == event]


# --- 1. a personal signature needs the signer's own PIN -----------------------------------------


def test_a_leader_signs_with_their_own_pin_and_a_wrong_one_is_refused_and_audited(
    make_agency: Factory,
) -> None:
    ws = make_agency()
    doc = _at_sign(ws)
    with refused("signing.pin_required", SigningError, user="phogiamdoc"):
        act(ws, doc, "phogiamdoc", "sign")
    agency_passphrase = keys.pki(ws).passphrase().decode()
    with refused("signing.pin_incorrect", SigningError, user="phogiamdoc") as caught:
        act(ws, doc, "phogiamdoc", "sign", pin=agency_passphrase)
    assert caught.value.kind == "failed" and "PIN" in str(caught.value)
    [wrong] = _events(ws, keys.PIN_REFUSED)
    assert (wrong.actor, wrong.document_id) == ("phogiamdoc", doc)
    assert json.loads(wrong.detail)["code"] == "signing.pin_incorrect"
    assert open_task_steps(ws, doc) == ["sign"]  # nothing moved

    move = act(ws, doc, "phogiamdoc", "sign", pin=pin_of(ws, "phogiamdoc"))
    assert move.action == "sign" and open_task_steps(ws, doc) == ["issue"]
    _found, signed = reading.file_content(ws, doc, "signed", "phogiamdoc")
    report = verify_document(signed, keys.trust_roots(ws))
    assert [s.signer for s in report.signatures] == ["DEMO Phạm Minh Đức"]
    assert audit.verify_chain(ws.db).intact


def test_no_one_else_can_sign_as_a_leader(make_agency: Factory) -> None:
    ws = make_agency()
    _add_admin(ws)
    doc = _at_sign(ws)
    pki = keys.pki(ws)
    deputy = pki.demo_pin("phogiamdoc")
    for other in ("vanthu", "quantri", "giamdoc"):  # the clerk, an administrator, the director
        with pytest.raises(NotAllowed):
            act(ws, doc, other, "sign", pin=deputy)  # even holding the deputy's PIN
    # a process with the agency's passphrase file opens no leader's key
    passphrase = pki.passphrase()
    for username, path in pki.people.items():
        with refused("signing.key.wrong_passphrase", SigningError):
            load_pkcs12(path, passphrase)
        with refused("signing.pin_incorrect", SigningError, user=username):
            keys.personal_key(ws, username, passphrase.decode())
    # nor does one leader's PIN open the other's key
    with refused("signing.pin_incorrect", SigningError, user="giamdoc"):
        keys.personal_key(ws, "giamdoc", deputy)
    # the agency seal stays server-held: the clerk seals without anyone's PIN
    assert keys.agency_key(ws).kind == "organisation"


def test_an_opened_personal_key_is_never_kept(make_agency: Factory) -> None:
    ws = make_agency()
    opened = keys.personal_key(ws, "giamdoc", pin_of(ws, "giamdoc"))
    assert isinstance(opened, SigningKey)
    assert not [v for v in ws.caches.values() if isinstance(v, SigningKey) and v.kind == "person"]
    with refused("signing.pin_required", SigningError):  # the next use asks again
        keys.personal_key(ws, "giamdoc", None)


def test_wrong_pins_in_a_row_lock_the_key_until_an_administrator_unlocks_it(
    make_agency: Factory,
) -> None:
    ws = make_agency()
    _add_admin(ws)
    right = pin_of(ws, "giamdoc")
    for tries_left in range(keys.MAX_PIN_TRIES - 1, -1, -1):
        with refused("signing.pin_incorrect", SigningError, tries_left=tries_left):
            keys.personal_key(ws, "giamdoc", "000000")
    with refused("signing.pin_locked", SigningError, user="giamdoc") as caught:
        keys.personal_key(ws, "giamdoc", right)  # locked: even the right PIN
    assert caught.value.kind == "forbidden"
    keys.personal_key(ws, "phogiamdoc", pin_of(ws, "phogiamdoc"))  # the other key is not locked
    with refused("signing.pin_unlock_admin_only", NotAllowed):
        keys.unlock_pin(ws, "vanthu", "giamdoc")
    assert keys.unlock_pin(ws, "quantri", "giamdoc") == keys.MAX_PIN_TRIES + 1
    [unlocked] = _events(ws, keys.PIN_UNLOCKED)
    assert unlocked.actor == "quantri" and json.loads(unlocked.detail)["user"] == "giamdoc"
    assert keys.personal_key(ws, "giamdoc", right).kind == "person"


def test_a_leader_sets_their_own_pin_and_only_their_key_changes(
    make_agency: Factory, own_keys: Path
) -> None:
    ws = make_agency(pki_dir=own_keys)
    pki = keys.pki(ws)
    demo = pki.demo_pin("giamdoc")
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in own_keys.glob("*.p12")}
    with refused("signing.pin_too_short", SigningError, minimum=keys.MIN_PIN_LENGTH):
        keys.set_pin(ws, "giamdoc", demo, "1234")
    with refused("signing.pin_incorrect", SigningError):
        keys.set_pin(ws, "giamdoc", "không phải mã này", "Mã-PIN-mới-2026")
    keys.set_pin(ws, "giamdoc", demo, "Mã-PIN-mới-2026")
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in own_keys.glob("*.p12")}
    assert [name for name in before if before[name] != after[name]] == ["giamdoc.p12"]
    assert stat.S_IMODE((own_keys / "giamdoc.p12").stat().st_mode) == 0o600
    with refused("signing.pin_incorrect", SigningError):
        keys.personal_key(ws, "giamdoc", demo)
    assert keys.personal_key(ws, "giamdoc", "Mã-PIN-mới-2026").kind == "person"
    with refused("signing.demo.pin_unknown", SigningError):  # the DEMO file forgot it
        pki.demo_pin("giamdoc")
    assert pki.demo_pin("phogiamdoc")
    assert [e.actor for e in _events(ws, keys.PIN_CHANGED)] == ["giamdoc"]
    assert [json.loads(e.detail)["purpose"] for e in _events(ws, keys.PIN_REFUSED)] == [
        "pin_set",
        "sign",
    ]


def test_the_demo_pins_are_a_private_demo_file_made_at_run_time(demo_keys: Path) -> None:
    pins_file = load_demo_pki(demo_keys).demo_pins_file
    assert pins_file.name.startswith("DEMO")
    assert stat.S_IMODE(pins_file.stat().st_mode) == 0o600
    pins = json.loads(pins_file.read_text(encoding="utf-8"))
    signers = {p.username for p in DEMO_PEOPLE if p.role in ("leader", "head")}
    assert set(pins) == signers and len(set(pins.values())) == len(signers)  # each their own
    tracked = subprocess.run(
        ["git", "ls-files"], capture_output=True, text=True, check=True, cwd=Path(__file__).parent
    ).stdout
    assert "DEMO-PINS" not in tracked and ".pin.json" not in tracked


def test_the_command_asks_the_pin_and_sets_a_new_one(
    tmp_path: Path, own_keys: Path, vanthu_cli: Callable[..., Ran]
) -> None:
    home = cli_agency(tmp_path / "agency", own_keys)
    demo = load_demo_pki(own_keys).demo_pin("giamdoc")
    short = vanthu_cli(home, "pin", "set", "--as", "giamdoc", stdin=f"{demo}\n123\n")
    assert short.returncode == 2 and "ít nhất 8 ký tự" in _one_line(short)
    wrong = vanthu_cli(home, "pin", "set", "--as", "giamdoc", stdin="sai-ma-pin\nMa-PIN-moi-2026\n")
    assert wrong.returncode == 1 and "mã PIN của giamdoc không đúng" in _one_line(wrong)
    # the installed command itself, reading the PINs from its standard input
    done = _vanthu(home, "pin", "set", "--as", "giamdoc", stdin=f"{demo}\nMa-PIN-moi-2026\n")
    assert done.returncode == 0, done.stderr
    assert "Đã đặt mã PIN mới" in done.stdout
    body = tmp_path / "body.txt"
    body.write_text("Điều 1. Thử ký bằng mã PIN riêng./.\n", encoding="utf-8")
    created = vanthu_cli(
        home, "draft", "new", "--as", "chuyenvien", "--type", "Quyết định", "--subject",
        "Về việc thử mã PIN", "--signer", "giamdoc", "--body-file", str(body),
    )  # fmt: skip
    doc = created.stdout.splitlines()[0].rsplit("#", 1)[1]
    for action, user in (("submit", "chuyenvien"), ("approve", "truongphong")):
        assert vanthu_cli(home, "act", doc, action, "--as", user).returncode == 0
    no_pin = vanthu_cli(home, "act", doc, "sign", "--as", "giamdoc")
    assert no_pin.returncode == 2 and "cần mã PIN" in _one_line(no_pin)
    old = vanthu_cli(home, "act", doc, "sign", "--as", "giamdoc", env={"VANTHU_PIN": demo})
    assert old.returncode == 1 and "không đúng" in _one_line(old)
    signed = vanthu_cli(
        home, "act", doc, "sign", "--as", "giamdoc", env={"VANTHU_PIN": "Ma-PIN-moi-2026"}
    )
    assert signed.returncode == 0, signed.stderr
    log = vanthu_cli(home, "audit", "log", "--document", doc).stdout
    assert "giamdoc [cli:" in log and "pin_refused" in log and " signed " in log


# --- 2. every audit event records its channel -------------------------------------------------


def test_every_event_records_its_channel_and_the_chain_covers_it(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with transaction(engine) as session:
        audit.append(session, actor="system", event="step_done")
    with audit.channel("cli", os_user="nguyenvana"), transaction(engine) as session:
        audit.append(session, actor="vanthu", event="action", document_id=1)
    with audit.channel("api"), transaction(engine) as session:
        audit.append(session, actor="giamdoc", event="agent_call")
    found = [(e.actor, e.channel, e.os_user) for e in audit.events(engine)]
    assert found == [
        ("system", "system", None),
        ("vanthu", "cli", "nguyenvana"),
        ("giamdoc", "api", None),
    ]
    assert audit.verify_chain(engine).intact
    with engine.begin() as connection:  # someone claims it came from the web office instead
        connection.execute(text("UPDATE audit_event SET channel = 'web' WHERE seq = 2"))
    assert any("#2" in p for p in audit.verify_chain(engine).problems)
    with engine.begin() as connection:  # or wipes the channel and OS user of an event
        connection.execute(
            text("UPDATE audit_event SET channel = NULL, os_user = NULL WHERE seq = 3")
        )
    assert any("#3" in p for p in audit.verify_chain(engine).problems)


def _old_digest(row: dict[str, object]) -> str:
    """How events were hashed before migration 0007 (no channel, no OS user)."""
    canonical = json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_events_written_before_the_migration_still_verify(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
    at = "2026-01-05T01:02:03.000000+00:00"
    row = {
        "seq": 1,
        "at": at,
        "actor": "vanthu",
        "event": "action",
        "document_id": None,
        "step": None,
        "detail": "{}",
        "prev_hash": audit.GENESIS,
    }
    old_hash = _old_digest(row)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_event (seq, at, actor, event, document_id, step, detail,"
                " prev_hash, hash) VALUES (1, :at, 'vanthu', 'action', NULL, NULL, '{}', :p, :h)"
            ),
            {"at": "2026-01-05 01:02:03.000000", "p": audit.GENESIS, "h": old_hash},
        )
        connection.execute(text("UPDATE audit_head SET seq = 1, hash = :h"), {"h": old_hash})
    upgrade(engine)
    with audit.channel("cli", os_user="nguyenvana"), transaction(engine) as session:
        audit.append(session, actor="luutru", event="action")
    first, second = audit.events(engine)
    assert (first.channel, first.os_user) == (None, None)
    assert (second.channel, second.prev_hash) == ("cli", old_hash)
    report = audit.verify_chain(engine)
    assert report.intact and report.events == 2, report.problems


def test_the_api_the_worker_and_in_process_steps_name_their_channel(make_agency: Factory) -> None:
    ws = make_agency(steps_runner="worker")
    _id, token = create_agent_token(ws, "giamdoc")
    with TestClient(create_app(ws)) as client:
        answer = client.get("/api/agent/whoami", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    [made, call] = [e for e in audit.events(ws.db) if e.actor == "giamdoc"]
    assert (made.event, made.channel) == ("agent_token_created", "system")  # in this process
    assert (call.event, call.channel, call.os_user) == ("agent_call", "api", None)

    doc = create_outgoing(ws, "chuyenvien", DECISION)
    act(ws, doc, "chuyenvien", "submit")
    act(ws, doc, "truongphong", "approve")
    assert [r["ok"] for r in run_worker(ws, once=True, poll_seconds=0.1)] == [True]
    [done] = _events(ws, "step_done")
    assert done.channel == "worker"
    inline = make_agency()  # steps run right after the action, in this process
    other = create_outgoing(inline, "chuyenvien", LETTER)
    with audit.channel("cli", os_user="nguyenvana"):
        act(inline, other, "chuyenvien", "submit")
        act(inline, other, "truongphong", "approve")
    approve = [e for e in _events(inline, "action") if e.actor == "truongphong"]
    assert [(e.channel, e.os_user) for e in approve] == [("cli", "nguyenvana")]
    [converted] = _events(inline, "step_done")
    assert (converted.channel, converted.os_user) == ("system", "nguyenvana")


# --- 3. every read is authorised and audited ----------------------------------------------------


def test_reading_a_document_is_for_those_involved_and_is_audited(make_agency: Factory) -> None:
    ws = make_agency()
    doc = issue_document(ws, LETTER)  # drafted in TCBC, signed by giamdoc, issued by vanthu
    assert reading.RESTRICTED_READERS == records.RESTRICTED_READERS
    for reader in ("chuyenvien", "truongphong", "giamdoc", "phogiamdoc", "vanthu", "luutru"):
        assert reading.document_view(ws, doc, reader).document.id == doc
    with refused("document.read_not_allowed", NotAllowed, username="phapche", document_id=doc):
        reading.document_view(ws, doc, "phapche")  # another unit's head, never involved
    with refused("document.read_not_allowed", NotAllowed, username="phapche"):
        reading.file_content(ws, doc, "issued", "phapche")
    with refused("document.read_not_allowed", NotAllowed):  # no hint of which files exist
        reading.file_content(ws, doc, "no-such-kind", "phapche")
    with refused("user.not_found", NotFound):
        reading.document_view(ws, doc, "nobody")
    found, pdf = reading.file_content(ws, doc, "issued", "giamdoc")
    assert pdf.startswith(b"%PDF")
    viewed = _events(ws, reading.VIEWED)
    assert [e.actor for e in viewed][:2] == ["chuyenvien", "truongphong"]
    [handed] = _events(ws, reading.FILE_READ)
    assert handed.actor == "giamdoc" and json.loads(handed.detail)["sha256"] == found.sha256
    refusals = _events(ws, reading.READ_REFUSED)
    assert [(e.actor, e.document_id) for e in refusals] == [("phapche", doc)] * 3
    history = reading.document_view(ws, doc, "vanthu").history
    assert reading.document_view(ws, doc, "vanthu").history == history  # reads stay out of it


def test_an_unarchived_document_is_not_the_archivists(make_agency: Factory) -> None:
    ws = make_agency()
    doc = _at_sign(ws, LETTER)
    with refused("document.read_not_allowed", NotAllowed, username="luutru"):
        reading.document_view(ws, doc, "luutru")
    assert reading.document_view(ws, doc, "giamdoc").signer is not None  # the signer reads it


def test_a_restricted_document_and_file_are_refused_to_those_not_entitled(
    make_agency: Factory,
) -> None:
    ws = make_agency()
    doc = issue_document(ws, LETTER)
    with Session(ws.db) as session:
        record = session.exec(select(ArchiveRecord).where(ArchiveRecord.document_id == doc)).one()
    files.open_file(
        ws, "luutru", code="2026.TCBC.09", title="Hồ sơ mật", retention_class="20",
        unit="TCBC", access="restricted",
    )  # fmt: skip
    _add_user(ws, "chuyenvien2", "specialist", "TCBC", "Chuyên viên")
    _add_user(ws, "vanthu2", "clerk", "VP", "Văn thư")
    assert reading.document_view(ws, doc, "chuyenvien2").document.id == doc  # its unit's
    assert reading.document_view(ws, doc, "vanthu2").document.id == doc  # a clerk
    files.add_record(ws, "luutru", "2026.TCBC.09", record.record_id)
    for colleague in ("chuyenvien2", "vanthu2"):  # no longer, neither of them
        with refused("document.restricted", NotAllowed, username=colleague):
            reading.document_view(ws, doc, colleague)
    assert reading.document_view(ws, doc, "truongphong").document.id == doc  # who approved it
    assert reading.document_view(ws, doc, "chuyenvien").document.id == doc  # its author
    assert reading.file_content(ws, doc, "issued", "luutru")[1].startswith(b"%PDF")
    with refused("case_file.restricted", NotAllowed, username="vanthu"):
        files.catalogue(ws, "2026.TCBC.09", "vanthu")  # a clerk reads records, not this file
    with refused("case_file.restricted", NotAllowed, username="chuyenvien"):
        files.catalogue(ws, "2026.TCBC.09", "chuyenvien")
    shown = files.catalogue(ws, "2026.TCBC.09", "luutru")
    assert [r.record_id for r in shown.records] == [record.record_id]
    outcomes = [
        (e.event, e.actor)
        for e in audit.events(ws.db)
        if e.event in (files.CATALOGUE_VIEWED, files.CATALOGUE_REFUSED)
    ]
    assert outcomes == [
        (files.CATALOGUE_REFUSED, "vanthu"),
        (files.CATALOGUE_REFUSED, "chuyenvien"),
        (files.CATALOGUE_VIEWED, "luutru"),
    ]


def test_a_public_file_hides_its_restricted_records_from_those_not_entitled(
    make_agency: Factory,
) -> None:
    ws = make_agency()
    doc = issue_document(ws, LETTER)
    files.open_file(
        ws, "luutru", code="2026.VP.01", title="Hồ sơ công khai", retention_class="20",
        unit="VP",
    )  # fmt: skip
    with Session(ws.db) as session:
        record = session.exec(select(ArchiveRecord).where(ArchiveRecord.document_id == doc)).one()
        record_id = record.record_id
    files.add_record(ws, "luutru", "2026.VP.01", record_id)
    with ws.db.begin() as connection:  # the record alone is restricted (its retention list)
        connection.execute(
            text("UPDATE archive_record SET access = 'restricted' WHERE record_id = :r"),
            {"r": record_id},
        )
    assert files.catalogue(ws, "2026.VP.01", "vanthu").records == ()
    assert len(files.catalogue(ws, "2026.VP.01", "giamdoc").records) == 1
    with refused("case_file.read_not_allowed", NotAllowed, username="chuyenvien"):
        files.catalogue(ws, "2026.VP.01", "chuyenvien")  # another unit's specialist


def test_reads_from_the_command_line_name_the_reader(tmp_path: Path) -> None:
    home = tmp_path / "agency"
    assert _vanthu(home, "init").returncode == 0
    for args in (
        ("doc", "show", "1"),
        ("doc", "export", "1", str(tmp_path / "x.pdf")),
        ("archive", "file", "show", "2026.VP.01"),
    ):
        missing = _vanthu(home, *args)
        assert missing.returncode == 2 and "thiếu tùy chọn --as" in _one_line(missing), args


# --- 4. the agency folder is private --------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_makes_the_agency_private_and_doctor_names_what_is_opened(tmp_path: Path) -> None:
    home = tmp_path / "agency"
    assert _vanthu(home, "init").returncode == 0
    assert _vanthu(home, "setup-demo").returncode == 0
    assert _mode(home) == 0o700
    for folder in ("store", "pki", "logs"):
        assert _mode(home / folder) == 0o700, folder
    for name in ("vanthu.db", "vanthu.toml", "logs/vanthu.log"):
        assert _mode(home / name) == 0o600, name
    for key in (home / "pki").glob("*.p12"):
        assert _mode(key) == 0o600, key
    healthy = _vanthu(home, "doctor")
    assert "[OK ] quyền truy cập tệp" in healthy.stdout, healthy.stdout
    (home / "store").chmod(0o755)
    (home / "vanthu.db").chmod(0o644)
    warned = _vanthu(home, "doctor")
    line = next(s for s in warned.stdout.splitlines() if "quyền truy cập tệp" in s)
    assert line.startswith("[CẢNH BÁO]")
    assert f"{home / 'store'} mở cho người khác (quyền 0755)" in line
    assert f"{home / 'vanthu.db'} mở cho người khác (quyền 0644)" in line
    assert str(home / "pki") not in line and warned.returncode == 0
