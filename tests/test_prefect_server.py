"""Production mode: a real Prefect server on PostgreSQL and three `vanthu worker` processes
sharing the agency's PostgreSQL; one worker is killed (SIGKILL) mid-step and every document is
still completed exactly once, its number taken once, with no gap. Also: a step that outlasts its
lease keeps it while its worker lives, and a worker whose server does not answer keeps working.

The 200 documents are incoming ones: received by the clerk, their signatures verified
(automated), registered by the clerk (a person's step), numbered in the incoming register
(automated: the number is taken in the step's completing transaction, as the outgoing number
is). An outgoing document costs 1–2 s here between the leader's signature and the archive
(signature, seal, B-LTA archive, on a shared 2-core machine): 200 of them do not fit the suite's
budget, so two outgoing documents go through number, seal, delivery and archive in the same run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from active_pdfs import plain_pdf
from fixtures_db import PG_ADMIN_URL, postgres_available
from sqlmodel import Session, col, select

from engine.automation.worker import server_problem
from engine.core import audit
from engine.core.models import Document, OutboxItem, RegisterCounter, Task, WorkflowInstance
from engine.core.workspace import Finisher, Plugins, Workspace
from engine.incoming import IncomingRequest, receive_incoming
from engine.incoming.steps import verify_incoming
from engine.outgoing import create_outgoing
from engine.workflow import Upload, act, outbox
from tests_support import DECISION, open_task_steps, pin_of

DOCUMENTS = 200
WORKERS = 3
LEASE_SECONDS = 5


@pytest.fixture
def prefect_database() -> Iterator[str]:
    """A database of Prefect's own beside the agency's (Prefect never shares the agency's)."""
    if not postgres_available():
        pytest.skip(f"PostgreSQL không trả lời ({PG_ADMIN_URL}): bỏ qua máy chủ Prefect")
    name = f"vanthu_prefect_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(ws: Workspace, api_url: str = "") -> dict[str, str]:
    env = {
        **os.environ,
        "VANTHU_HOME": str(ws.settings.home),
        "VANTHU_PKI_DIR": str(ws.settings.effective_pki_dir),
        "VANTHU_STEPS_RUNNER": "worker",
        "VANTHU_DATABASE_URL": ws.settings.effective_database_url,
        "VANTHU_STEP_LEASE_SECONDS": str(LEASE_SECONDS),
        "VANTHU_PREFECT_API_URL": api_url,
        "PYTHONUNBUFFERED": "1",  # each worker's log complete up to its kill
    }
    env.pop("PREFECT_API_URL", None)
    return env


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End a process this test started, and everything it started (its own session)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _api(api_url: str, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        f"{api_url}/{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def _completed_task_runs(api_url: str, step_run: str) -> int:
    """Task runs of one automated step (named '<run>#<item>') the server saw completed."""
    body = {
        "task_runs": {
            "name": {"like_": f"{step_run}#"},
            "state": {"type": {"any_": ["COMPLETED"]}},
        }
    }
    return int(_api(api_url, "task_runs/count", body))


def _wait(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {seconds:.0f} s for {what}")
        time.sleep(0.2)


def _at_register(ws: Workspace) -> list[int]:
    """Incoming documents whose clerk's 'register' step is open (verified by a worker)."""
    with Session(ws.db) as session:
        query = (
            select(WorkflowInstance.document_id)
            .join(Task, col(Task.instance_id) == WorkflowInstance.id)
            .where(Task.step_id == "register", Task.state == "open")
        )
        return sorted(session.exec(query).all())


def _held_by(ws: Workspace, pid: int) -> list[OutboxItem]:
    with Session(ws.db) as session:
        query = select(OutboxItem).where(
            OutboxItem.state == "running", OutboxItem.claimed_pid == pid
        )
        return list(session.exec(query).all())


def _kill_mid_step(ws: Workspace, worker: subprocess.Popen[bytes]) -> OutboxItem | None:
    """Freeze the worker and look: when it holds a step it has not finished, SIGKILL it there;
    else let it run on and look again (half a second at most: the step just made is taken by
    one of the workers at its next poll); None if not caught."""
    for _ in range(70):
        assert worker.poll() is None, "the worker ended before it could be killed"
        os.kill(worker.pid, signal.SIGSTOP)
        held = _held_by(ws, worker.pid)
        if held:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
            return held[0]
        os.kill(worker.pid, signal.SIGCONT)
        time.sleep(0.002)
    return None


def _outgoing_at_issue(ws: Workspace) -> int:
    """An outgoing document the leader signed and the clerk issued: its number, seal, delivery
    and archive wait for the workers."""
    doc = create_outgoing(ws, "chuyenvien", DECISION)
    act(ws, doc, "chuyenvien", "submit")
    act(ws, doc, "truongphong", "approve")
    outbox.run_pending(ws)  # the conversion, here: the test is about what follows
    act(ws, doc, "phogiamdoc", "sign", pin=pin_of(ws, "phogiamdoc"))
    act(ws, doc, "vanthu", "issue")
    return doc


def _receive(ws: Workspace, number: int) -> int:
    return receive_incoming(
        ws,
        "vanthu",
        Upload(f"{number:03d}-UBND.pdf", plain_pdf(b"CONG VAN ve viec bao cao cong tac van thu")),
        IncomingRequest("ỦY BAN NHÂN DÂN HUYỆN MẪU", f"{number}/UBND-VP", "Công văn", "Báo cáo"),
    )


def slow_verify(ws: Workspace, item: OutboxItem) -> Finisher:
    """Plugged in below: a verification that outlasts the lease (a long conversion would)."""
    time.sleep(LEASE_SECONDS + 2)
    return verify_incoming(ws, item)


def test_a_step_that_outlasts_its_lease_keeps_it_while_its_worker_lives(
    make_agency: Callable[..., Workspace],
) -> None:
    ws = make_agency(steps_runner="worker", step_lease_seconds=LEASE_SECONDS)
    steps = {**ws.plugins.steps, "verify_incoming": "test_prefect_server:slow_verify"}
    ws = dataclasses.replace(ws, plugins=Plugins(steps, ws.plugins.actions, ws.plugins.hooks))
    doc = _receive(ws, 1)
    item = outbox.claim(ws)
    assert item is not None and item.step_id == "verify"
    runs: list[outbox.StepRun] = []
    running = threading.Thread(target=lambda: runs.append(outbox.execute(ws, item)))
    running.start()
    time.sleep(LEASE_SECONDS + 1)  # past the lease it was claimed with
    assert outbox.claim(ws) is None  # renewed: no second worker takes it
    running.join()
    assert [(r.step, r.ok) for r in runs] == [("verify", True)]
    [done] = outbox.items(ws)
    assert (done.state, done.attempts) == ("done", 1)
    assert open_task_steps(ws, doc) == ["register"]


def test_a_worker_whose_prefect_server_does_not_answer_says_so_and_keeps_working(
    make_agency: Callable[..., Workspace],
) -> None:
    ws = make_agency(steps_runner="worker")
    doc = _receive(ws, 1)
    nowhere = f"http://127.0.0.1:{_free_port()}/api"  # nothing listens there
    command = [sys.executable, "-m", "engine", "worker", "--once", "--prefect-api", nowhere]
    env = _environment(ws)
    ran = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
    assert f"Máy chủ Prefect {nowhere} không trả lời" in ran.stderr
    assert "Traceback" not in ran.stderr
    assert f"verify (văn bản #{doc}): xong" in ran.stdout
    assert open_task_steps(ws, doc) == ["register"]

    wrong = subprocess.run(
        [*command[:-1], "ftp://127.0.0.1/api"], env=env, capture_output=True, text=True
    )
    assert wrong.returncode == 6 and wrong.stderr.count("\n") == 1, wrong.stderr
    assert "--prefect-api 'ftp://127.0.0.1/api'" in wrong.stderr


@pytest.mark.postgres
def test_three_workers_report_to_a_prefect_server_and_a_killed_one_loses_no_document(
    make_agency: Callable[..., Workspace],
    postgres_url: str,
    prefect_database: str,
    tmp_path: Path,
) -> None:
    ws = make_agency(postgres_url, steps_runner="worker", step_lease_seconds=LEASE_SECONDS)
    outgoing = [_outgoing_at_issue(ws) for _ in range(2)]
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = _environment(ws, api_url)
    vanthu = [sys.executable, "-m", "engine"]
    server = _start(
        [*vanthu, "prefect-server", "--port", str(port), "--database-url", prefect_database],
        env,
        tmp_path / "prefect-server.log",
    )
    workers: list[subprocess.Popen[bytes]] = []
    try:
        _wait(lambda: server_problem(api_url, timeout=1) is None, 90, "the Prefect server")
        workers = [
            _start([*vanthu, "worker", "--poll", "0.2"], env, tmp_path / f"worker-{i}.log")
            for i in range(WORKERS)
        ]
        received = [_receive(ws, i) for i in range(1, DOCUMENTS + 1)]
        killed: OutboxItem | None = None
        registered: set[int] = set()
        deadline = time.monotonic() + 240
        while len(registered) < DOCUMENTS:
            assert time.monotonic() < deadline, f"only {len(registered)} verified in 240 s"
            ready = [doc for doc in _at_register(ws) if doc not in registered]
            hunting = killed is None and len(registered) >= DOCUMENTS // 4
            if hunting:  # one at a time, looked for at once: steps are over in a few ms
                ready = ready[:1]
            for doc in ready:  # the clerk registers each one the workers have verified
                act(ws, doc, "vanthu", "register")
                registered.add(doc)
            if hunting:
                killed = _kill_mid_step(ws, workers[0])
            assert all(w.poll() is None for w in workers[1:]), "a surviving worker ended"
            if not ready:
                time.sleep(0.1)
        assert killed is not None and killed.id is not None

        def drained() -> bool:
            return not outbox.items(ws, "pending") and not outbox.items(ws, "running")

        _wait(drained, 120, "the workers to drain the outbox")

        with Session(ws.db) as session:
            documents = session.exec(select(Document).where(col(Document.id).in_(received)))
            numbers = sorted(d.number or 0 for d in documents)
            taken = session.get(OutboxItem, killed.id)
            counters = {c.register_id: c.last_number for c in session.exec(select(RegisterCounter))}
            issued = [session.get(Document, doc) for doc in outgoing]
        assert numbers == list(range(1, DOCUMENTS + 1))  # 01 … 200: no gap, no duplicate
        assert sorted(counters.values()) == [2, DOCUMENTS]  # the outgoing register: 2
        assert sorted(d.symbol or "" for d in issued if d) == ["01/QĐ-SNV", "02/QĐ-SNV"]
        # the step the killed worker held was finished by another after the lease
        assert taken is not None and taken.state == "done"
        assert taken.attempts >= 2 and taken.claimed_pid != workers[0].pid
        assert {i.state for i in outbox.items(ws)} == {"done"}
        done = Counter(
            (e.document_id, e.step) for e in audit.events(ws.db) if e.event == "step_done"
        )
        for doc in received:  # each step completed exactly once
            assert (done[(doc, "verify")], done[(doc, "numbering")]) == (1, 1), doc
        for doc in outgoing:
            steps = ("number", "seal", "deliver", "archive")
            assert [done[(doc, step)] for step in steps] == [1, 1, 1, 1], doc

        # what Prefect's UI shows: every step a surviving worker ran, as a completed task run
        # (the server records them from the workers' events, seconds behind; the killed worker's
        # last events died with it: the outbox, not Prefect, is the record)
        survivors = {w.pid for w in workers[1:]}
        expected = Counter(i.run for i in outbox.items(ws) if i.claimed_pid in survivors)
        assert expected["register_incoming"] >= DOCUMENTS // 2  # the survivors did most
        shown: dict[str, int] = {}

        def reported() -> bool:
            shown.update({run: _completed_task_runs(api_url, run) for run in expected})
            return all(shown[run] >= n for run, n in expected.items())

        try:
            _wait(reported, 60, f"the Prefect server to show the task runs {dict(expected)}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; it shows {shown}") from None
        flows = {"flows": {"name": {"any_": ["vanthu-outbox"]}}}
        assert _api(api_url, "flow_runs/count", flows) >= WORKERS
    finally:
        for worker in workers:
            _stop(worker)
        _stop(server)
