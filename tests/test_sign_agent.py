"""The leader signs on their own token, end to end: a real HTTP server, `vanthu sign-agent`
in its own process beside a SoftHSM2 token, the outgoing flow, pdfsig on the issued PDF."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from fixtures_pkcs11 import Tokens
from fixtures_web import serving
from sqlmodel import Session, select

from engine.core import audit
from engine.core.config import write_settings_file
from engine.core.errors import ConfigError, EngineError, NotAllowed
from engine.core.models import SignRequest
from engine.core.workspace import Workspace
from engine.http import agent
from engine.outgoing import create_outgoing
from engine.outgoing.agents import create_agent_token, registration_digest
from engine.signatures import keys
from engine.workflow import act, inbox
from engine.workflow.files import latest_file
from signing import TokenKey, open_personal_key, open_pkcs11_key, verify_document
from signing._pki import free_port
from signing.demo import DemoPKI
from storage import get_content
from tests_support import DECISION, open_task_steps, pdfsig_lines, refused

PIN_ENV = "VANTHU_TEST_TOKEN_PIN"


def _agent_agency(make_agency: Callable[..., Workspace], database_url: str, pki: Path) -> Workspace:
    """The demo agency signing on leaders' tokens, configured on disk for CLI processes too."""
    ws = make_agency(database_url, leader_signing="agent")
    write_settings_file(
        ws.settings.home,
        {
            "database_url": ws.settings.effective_database_url,
            "pki_dir": str(pki),
            "leader_signing": "agent",
        },
    )
    return ws


@pytest.fixture
def agent_agency(
    make_agency: Callable[..., Workspace], demo_keys: Path, demo_services: DemoPKI
) -> Workspace:
    """On SQLite."""
    return _agent_agency(make_agency, "", demo_keys)


@pytest.fixture
def agent_agency_each_db(
    make_agency: Callable[..., Workspace],
    database_url: str,
    demo_keys: Path,
    demo_services: DemoPKI,
) -> Workspace:
    """On SQLite, then on PostgreSQL."""
    return _agent_agency(make_agency, database_url, demo_keys)


@pytest.fixture
def server(agent_agency: Workspace) -> Iterator[str]:
    with serving(agent_agency) as url:
        yield url


@pytest.fixture
def leader_token(pkcs11_tokens: Tokens) -> Iterator[TokenKey]:
    """phogiamdoc's token, opened in this process (the agent's own steps, without a process)."""
    key = open_pkcs11_key(
        pkcs11_tokens.module, token_label=pkcs11_tokens.labels["phogiamdoc"], pin=pkcs11_tokens.pin
    )
    yield key
    key.close()


def _answer(response: httpx.Response) -> tuple[int, str]:
    """The status and the error's code, as an agent or a script reads a refusal."""
    return response.status_code, response.json()["code"]


def _client(server: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=server, headers={"Authorization": f"Bearer {token}"})


def _vanthu(home: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
        check=False,
    )


def _token_file(ws: Workspace, username: str, tmp_path: Path) -> Path:
    """A token made the way an administrator makes it: `vanthu agent-token create`."""
    made = _vanthu(ws.settings.home, "agent-token", "create", "--as", username, env={})
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("vtag_") and "không hiện lại" in made.stderr
    path = tmp_path / f"{username}.token"
    path.write_text(token + "\n", encoding="utf-8")
    return path


def _sign_agent(
    ws: Workspace, url: str, token_file: Path, tokens: Tokens, holder: str
) -> subprocess.CompletedProcess[str]:
    return _vanthu(
        ws.settings.home,
        "sign-agent",
        "--server", url,
        "--token-file", str(token_file),
        "--module", str(tokens.module),
        "--token-label", tokens.labels[holder],
        "--pin-env", PIN_ENV,
        "--once",
        env={**tokens.env, PIN_ENV: tokens.pin},
    )  # fmt: skip


def _approved_decision(ws: Workspace) -> int:
    doc = create_outgoing(ws, "chuyenvien", DECISION)
    act(ws, doc, "chuyenvien", "submit")
    act(ws, doc, "truongphong", "approve")
    return doc


def _requests(ws: Workspace, doc: int) -> list[SignRequest]:
    with Session(ws.db) as session:
        return list(session.exec(select(SignRequest).where(SignRequest.document_id == doc)).all())


def test_the_leader_signs_on_the_token_and_the_document_is_issued(
    agent_agency_each_db: Workspace,
    pkcs11_tokens: Tokens,
    demo_keys: Path,
    tmp_path: Path,
) -> None:
    ws = agent_agency_each_db
    with serving(ws) as server:
        _leader_signs_and_clerk_issues(ws, server, pkcs11_tokens, demo_keys, tmp_path)


def _leader_signs_and_clerk_issues(
    ws: Workspace, server: str, pkcs11_tokens: Tokens, demo_keys: Path, tmp_path: Path
) -> None:
    leader = _token_file(ws, "phogiamdoc", tmp_path)
    doc = _approved_decision(ws)
    with refused("certificate.not_registered", ConfigError, user="phogiamdoc"):
        act(ws, doc, "phogiamdoc", "sign")  # no agent has registered a certificate

    first = _sign_agent(ws, server, leader, pkcs11_tokens, "phogiamdoc")
    assert first.returncode == 0, first.stderr
    assert "Đã đăng ký chứng thư số" in first.stdout and "Đã ký" not in first.stdout

    move = act(ws, doc, "phogiamdoc", "sign", comment="Đồng ý ban hành")
    assert move.now_at == ("sign",) and open_task_steps(ws, doc) == ["sign"]
    [entry] = inbox(ws, "phogiamdoc")
    assert entry.document_id == doc and "chờ ký số trên thiết bị" in entry.step
    [waiting] = _requests(ws, doc)
    assert waiting.state == "waiting"

    other = tmp_path / "giamdoc.token"  # another leader's agent sees nothing of it
    other.write_text(create_agent_token(ws, "giamdoc")[1], encoding="utf-8")
    seen = _sign_agent(ws, server, other, pkcs11_tokens, "giamdoc")
    assert seen.returncode == 0, seen.stderr
    assert "Đã ký" not in seen.stdout and f"#{doc}" not in seen.stdout

    signed = _sign_agent(ws, server, leader, pkcs11_tokens, "phogiamdoc")
    assert signed.returncode == 0, signed.stderr
    assert f"Đã ký văn bản #{doc} (Quyết định: {DECISION.subject})" in signed.stdout
    assert open_task_steps(ws, doc) == ["issue"]
    assert [r.state for r in _requests(ws, doc)] == ["signed"]

    act(ws, doc, "vanthu", "issue")
    with Session(ws.db) as session:
        issued = get_content(ws.store, latest_file(session, doc, "issued").sha256)
    report = verify_document(issued, keys.trust_roots(ws))
    assert report.verdict == "valid", report
    leader_sig, seal = report.signatures
    assert leader_sig.certification and leader_sig.modification == "form_filling"
    assert "Phạm Minh Đức" in leader_sig.signer and "SỞ NỘI VỤ" in seal.signer
    path = tmp_path / "issued.pdf"
    path.write_bytes(issued)
    lines = pdfsig_lines(path, demo_keys / "root.pem", tmp_path / "nss")
    assert lines.count("  - Signature Validation: Signature is Valid.") == 2, lines
    assert lines.count("  - Certificate Validation: Certificate is Trusted.") == 2, lines
    assert audit.verify_chain(ws.db).intact


def _register_and_request(
    ws: Workspace, server: str, key: TokenKey
) -> tuple[int, httpx.Client, httpx.Client]:
    """A decision waiting for phogiamdoc's token; HTTP clients of both leaders' agents."""
    mine = _client(server, create_agent_token(ws, "phogiamdoc")[1])
    agent.register(mine, key, "phogiamdoc")
    doc = _approved_decision(ws)
    act(ws, doc, "phogiamdoc", "sign")
    return doc, mine, _client(server, create_agent_token(ws, "giamdoc")[1])


def test_a_tampered_or_foreign_signature_leaves_the_document_waiting(
    agent_agency: Workspace, server: str, leader_token: TokenKey
) -> None:
    ws = agent_agency
    doc, mine, theirs = _register_and_request(ws, server, leader_token)
    with closing(mine), closing(theirs):
        [pending] = mine.get("/api/agent/requests").json()
        assert pending["document_id"] == doc
        assert theirs.get("/api/agent/requests").json() == []
        request_id = pending["request_id"]
        url = f"/api/agent/requests/{request_id}/signature"
        wrong = base64.b64encode(bytes(256)).decode()
        refusal = mine.post(url, json={"signature": wrong})
        assert _answer(refusal) == (422, "signing.external.value_mismatch")
        assert refusal.json()["detail_en"] and refusal.json()["retryable"] is False
        foreign = theirs.post(url, json={"signature": wrong})
        # another user's request is as good as none
        assert _answer(foreign) == (404, "sign_request.not_found")
        anonymous = httpx.post(server + url, json={"signature": wrong})
        assert _answer(anonymous) == (403, "agent.token_missing")
        revoked = httpx.post(
            server + url, json={"signature": wrong}, headers={"Authorization": "Bearer vtag_x"}
        )
        assert _answer(revoked) == (403, "agent.token_invalid")
        not_base64 = mine.post(url, json={"signature": "*not base64*"})
        assert _answer(not_base64) == (422, "agent.value_not_base64")
        too_big = mine.post(url, content=b"{" + b" " * 100_000 + b"}")
        assert _answer(too_big) == (413, "input.too_large")
    assert open_task_steps(ws, doc) == ["sign"]
    assert [r.state for r in _requests(ws, doc)] == ["waiting"]
    with Session(ws.db) as session, pytest.raises(Exception, match="signed"):
        latest_file(session, doc, "signed")
    assert audit.verify_chain(ws.db).intact


def test_returning_the_document_cancels_the_waiting_signature(
    agent_agency: Workspace, server: str, leader_token: TokenKey
) -> None:
    ws = agent_agency
    doc, mine, theirs = _register_and_request(ws, server, leader_token)
    act(ws, doc, "phogiamdoc", "return", comment="Sửa Điều 2")
    assert [r.state for r in _requests(ws, doc)] == ["cancelled"]
    with closing(mine), closing(theirs):
        assert mine.get("/api/agent/requests").json() == []
        assert agent.sign_waiting(mine, leader_token) == []


def test_only_the_users_own_trusted_personal_certificate_registers(
    agent_agency: Workspace,
    server: str,
    pkcs11_tokens: Tokens,
    demo_pki: DemoPKI,
    tmp_path: Path,
) -> None:
    ws = agent_agency
    leader = _token_file(ws, "phogiamdoc", tmp_path)
    agency = _sign_agent(ws, server, leader, pkcs11_tokens, "agency")
    assert agency.returncode == 4, agency.stderr  # the server refused: not the user's own
    assert agency.stderr.startswith("Lỗi: ") and "Traceback" not in agency.stderr
    colleague = open_pkcs11_key(
        pkcs11_tokens.module, token_label=pkcs11_tokens.labels["giamdoc"], pin=pkcs11_tokens.pin
    )
    with (
        _client(server, leader.read_text().strip()) as client,
        refused(
            "certificate.name_mismatch",
            NotAllowed,
            status=403,
            user="phogiamdoc",
            certificate_name="DEMO Nguyễn Văn An",
        ),
    ):
        agent.register(client, colleague, "phogiamdoc")
    colleague.close()

    # the same name from a CA nobody configured: right person, untrusted certificate
    outsider = open_personal_key(demo_pki.people["phogiamdoc"], demo_pki.demo_pin("phogiamdoc"))
    from cryptography.hazmat.primitives.serialization import Encoding

    der = outsider.certificate.public_bytes(Encoding.DER)
    pem = b"".join(c.public_bytes(Encoding.PEM) for c in (outsider.certificate, *outsider.chain))
    proof = outsider.sign_digest(registration_digest("phogiamdoc", der))
    answer = httpx.post(
        f"{server}/api/agent/certificate",
        json={"certificate_pem": pem.decode(), "proof": base64.b64encode(proof).decode()},
        headers={"Authorization": f"Bearer {leader.read_text().strip()}"},
    )
    assert _answer(answer) == (422, "signing.policy.untrusted")

    doc = _approved_decision(ws)
    with refused("certificate.not_registered", ConfigError, user="phogiamdoc"):
        act(ws, doc, "phogiamdoc", "sign")
    assert open_task_steps(ws, doc) == ["sign"]


def test_a_revoked_agent_token_is_refused(
    agent_agency: Workspace, server: str, leader_token: TokenKey, tmp_path: Path
) -> None:
    ws = agent_agency
    leader = _token_file(ws, "phogiamdoc", tmp_path)
    revoked = _vanthu(ws.settings.home, "agent-token", "revoke", "--as", "phogiamdoc", env={})
    assert revoked.returncode == 0 and "Đã thu hồi mã truy cập #1" in revoked.stdout
    with (
        _client(server, leader.read_text().strip()) as client,
        refused("agent.token_invalid", NotAllowed, status=403),
    ):
        agent.register(client, leader_token, "phogiamdoc")


def test_a_server_that_does_not_answer_is_worth_trying_again(leader_token: TokenKey) -> None:
    with (
        httpx.Client(base_url=f"http://127.0.0.1:{free_port()}") as client,
        refused("agent.server_unreachable", EngineError) as caught,
    ):
        agent.sign_waiting(client, leader_token)
    assert caught.value.retryable and caught.value.kind == "unavailable"
