"""The web office under load: the inbox at 10 000 open tasks and a document's page, against a
static file served by the same process in the same run.

For SQLite and PostgreSQL (a scratch database on 127.0.0.1:5432, created through the database
``test`` as user postgres and dropped afterwards; skipped with the reason when it does not
answer): a demo agency whose clerk has ``--tasks`` open tasks in their inbox (rows inserted with
one executemany per table, not through the workflow), ``vanthu serve --insecure-cookies`` started
as a process of its own on a free port, 8 httpx clients logged in through the login form, then
for ``--seconds`` each, 8 concurrent users asking over and over for:

- ``GET /static/vanthu.css``, the baseline (no database, no template);
- ``GET /inbox``, the first page of the clerk's inbox (the menu's count included);
- ``GET /documents/{id}``, one of those documents (its status is reported: a page another
  part of the office has not built yet answers 404, and is measured as such);
- and ``GET /inbox`` again by one user alone (``inbox_1user``): what a request costs without
  the others, so what the 8 add (one process: Python runs one request at a time) shows.

Prints p50/p95 in ms, requests per second and the ratio of p95 to the baseline's; ``--json``
prints one JSON object instead (``inbox_p95_ms_sqlite``, ``document_rps_postgresql``, …).
Target: inbox p95 ≤ 100 ms at 10 000 tasks. The machine's other work shows in the figures.

    python -m bench web [--json] [--tasks 10000] [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import insert
from sqlmodel import Session, select

from bench._postgres import PG_ADMIN_URL, postgres_database
from engine.automation import open_workspace
from engine.core import accounts
from engine.core.agency import create_demo_agency
from engine.core.config import load_settings
from engine.core.models import Document, Task, User, WorkflowInstance
from engine.core.workspace import Workspace
from signing._pki import free_port
from vanthu import clock

USERS = 8
PERSON = "vanthu"
"""The clerk whose inbox holds every open task."""
PASSWORD = "bench-mat-khau-vanthu"
TARGET_P95_MS = 100.0
ROUTES = ("static", "inbox", "document")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Figures:
    """One route under load: latencies in ms, requests per second, the statuses seen."""

    p50: float
    p95: float
    rps: float
    statuses: tuple[int, ...]


# --- the agency ----------------------------------------------------------------------------------


def _seed(ws: Workspace, tasks: int) -> int:
    """``tasks`` outgoing documents waiting at the clerk's issue step, each after two done
    tasks (so the inbox has someone who sent it); returns the first document's id."""
    with Session(ws.db) as session:
        people = {u.username: u for u in session.exec(select(User)).all()}
    author, head = people["chuyenvien"], people["truongphong"]
    digest = ws.definition("outgoing").digest
    now = clock.now()
    documents, instances, rows = [], [], []
    for n in range(1, tasks + 1):
        documents.append(
            {
                "id": n,
                "agency_id": 1,
                "direction": "outgoing",
                "doc_type": "Quyết định",
                "subject": f"Về việc thử tải hộp việc số {n}",
                "unit_id": author.unit_id,
                "author_id": author.id,
                "recipients": "",
                "urgency": "Hỏa tốc" if n % 97 == 0 else None,
                "created_at": now,
            }
        )
        instances.append(
            {
                "id": n,
                "definition": "outgoing",
                "definition_digest": digest,
                "document_id": n,
                "initiator_id": author.id,
                "status": "active",
                "started_at": now,
            }
        )
        for back in (3, 2):
            rows.append(_task(n, "review", "head", author.unit_id, "done", now, back, head.id))
        open_task = _task(n, "issue", "clerk", None, "open", now, 1, None)
        open_task["due_at"] = now + timedelta(days=(n % 20) - 5, minutes=n % 60)
        rows.append(open_task)
    with ws.db.begin() as connection:
        for model, values in ((Document, documents), (WorkflowInstance, instances), (Task, rows)):
            connection.execute(insert(model), values)
        if ws.db.dialect.name == "postgresql":
            for name in ("document", "workflow_instance", "task"):
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT max(id) FROM {name}))"
                )
    if ws.db.dialect.name == "postgresql":  # as autovacuum leaves it: statistics, visibility map
        with ws.db.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    return 1


def _task(
    instance: int,
    step: str,
    role: str,
    unit: int | None,
    state: str,
    now: datetime,
    days_ago: int,
    done_by: int | None,
) -> dict[str, Any]:
    return {
        "instance_id": instance,
        "step_id": step,
        "role": role,
        "unit_id": unit,
        "user_id": None,
        "state": state,
        "due_at": None,
        "created_at": now - timedelta(days=days_ago),
        "completed_at": now - timedelta(days=days_ago - 1) if state == "done" else None,
        "completed_by": done_by,
        "action": "approve" if state == "done" else None,
    }


def _make_agency(home: Path, database_url: str, tasks: int) -> int:
    """The demo agency in ``home`` with the clerk's password and open tasks; a document id."""
    home.mkdir(parents=True, exist_ok=True)
    ws = open_workspace(load_settings(home, database_url=database_url))
    try:
        create_demo_agency(ws)
        accounts.set_password(ws, PERSON, PERSON, PASSWORD)
        return _seed(ws, tasks)
    finally:
        ws.db.dispose()


# --- the server ----------------------------------------------------------------------------------


@contextmanager
def _served(home: Path, database_url: str, workers: int) -> Iterator[str]:
    """``vanthu serve --insecure-cookies --workers N`` on a free port, as a process of its own."""
    port = free_port()
    env = {**os.environ, "VANTHU_HOME": str(home), "VANTHU_DATABASE_URL": database_url}
    log = (home / "serve.log").open("wb")
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "engine", "serve", "--port", str(port)),
            *("--insecure-cookies", "--workers", str(workers)),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"vanthu serve stopped: {(home / 'serve.log').read_text()[-800:]}")
            try:
                if httpx.get(f"{url}/static/vanthu.css", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("vanthu serve did not answer within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _logged_in(url: str) -> httpx.Client:
    """A client signed in as the clerk through the login form."""
    client = httpx.Client(base_url=url, follow_redirects=False, timeout=30)
    form = client.get("/login")
    token = _CSRF.search(form.text)
    if token is None:
        raise SystemExit(f"the login page has no CSRF field (HTTP {form.status_code})")
    done = client.post(
        "/login", data={"username": PERSON, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    if done.status_code != 303:
        raise SystemExit(f"login refused: HTTP {done.status_code}")
    return client


# --- measuring -----------------------------------------------------------------------------------


def _load(clients: list[httpx.Client], path: str, seconds: float) -> Figures:
    """Every client asks for ``path`` again and again for ``seconds``, all at once."""
    timings: list[list[float]] = [[] for _ in clients]
    statuses: set[int] = set()
    start = threading.Barrier(len(clients))
    lock = threading.Lock()

    def user(index: int) -> None:
        client, took = clients[index], timings[index]
        start.wait()
        stop = time.perf_counter() + seconds
        seen: set[int] = set()
        while time.perf_counter() < stop:
            began = time.perf_counter()
            response = client.get(path)
            took.append((time.perf_counter() - began) * 1000)
            seen.add(response.status_code)
        with lock:
            statuses.update(seen)

    for client in clients:  # one request each first: connections open, caches warm
        client.get(path)
    threads = [threading.Thread(target=user, args=(i,)) for i in range(len(clients))]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    every = [t for took in timings for t in took]
    if len(every) < 2:
        every = every * 2 or [0.0, 0.0]
    cuts = statistics.quantiles(every, n=100, method="inclusive")
    return Figures(
        p50=statistics.median(every),
        p95=cuts[94],
        rps=len(every) / elapsed,
        statuses=tuple(sorted(statuses)),
    )


def run_backend(
    work: Path, name: str, database_url: str, tasks: int, seconds: float, workers: int
) -> dict[str, Figures]:
    """The three routes measured against one database."""
    home = work / name
    document = _make_agency(home, database_url, tasks)
    with _served(home, database_url, workers) as url:
        clients = [_logged_in(url) for _ in range(USERS)]
        try:
            inbox = clients[0].get("/inbox")
            if inbox.status_code != 200:
                raise SystemExit(f"/inbox answered HTTP {inbox.status_code}")
            paths = {
                "static": "/static/vanthu.css",
                "inbox": "/inbox",
                "document": f"/documents/{document}",
            }
            found = {route: _load(clients, paths[route], seconds) for route in ROUTES}
            found["inbox_1user"] = _load(clients[:1], paths["inbox"], seconds)
            return found
        finally:
            for client in clients:
                client.close()


def _postgres_reason() -> str | None:
    """Why PostgreSQL is skipped, or None when it answers."""
    try:
        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        return f"PostgreSQL không trả lời ({PG_ADMIN_URL}): {' '.join(str(exc).split())}"
    return None


def _as_json(
    results: dict[str, dict[str, Figures]], skipped: dict[str, str], workers: int
) -> dict[str, Any]:
    out: dict[str, Any] = {"server_workers": workers}
    for backend, figures in results.items():
        baseline = figures["static"].p95 or 1e-9
        for route, f in figures.items():
            out[f"{route}_p50_ms_{backend}"] = round(f.p50, 2)
            out[f"{route}_p95_ms_{backend}"] = round(f.p95, 2)
            out[f"{route}_rps_{backend}"] = round(f.rps, 1)
            out[f"{route}_status_{backend}"] = list(f.statuses)
            if route in ("inbox", "document"):
                out[f"{route}_p95_ratio_{backend}"] = round(f.p95 / baseline, 1)
    for backend, reason in skipped.items():
        out[f"skipped_{backend}"] = reason
    return out


def _print(
    results: dict[str, dict[str, Figures]], tasks: int, seconds: float, workers: int
) -> None:
    print(
        f"{USERS} người dùng đồng thời, {seconds:g} s mỗi trang, hộp việc {tasks} việc đang mở, "
        f"{workers} tiến trình phục vụ "
        f"(mục tiêu p95 hộp việc ≤ {TARGET_P95_MS:.0f} ms)"
    )
    print(
        f"{'database':<12}{'page':<13}{'users':>6}{'p50 ms':>9}{'p95 ms':>9}{'req/s':>9}"
        f"{'p95 × css':>11}  HTTP"
    )
    for backend, figures in results.items():
        baseline = figures["static"].p95 or 1e-9
        for route, f in figures.items():
            ratio = f"{f.p95 / baseline:.1f}x" if route in ("inbox", "document") else ""
            users = 1 if route == "inbox_1user" else USERS
            verdict = ""
            if route == "inbox":
                verdict = "  đạt" if f.p95 <= TARGET_P95_MS else "  CHƯA ĐẠT"
            statuses = ",".join(str(s) for s in f.statuses)
            print(
                f"{backend:<12}{route:<13}{users:>6}{f.p50:>9.1f}{f.p95:>9.1f}{f.rps:>9.0f}{ratio:>11}"
                f"  {statuses}{verdict}"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench web", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--json", action="store_true", help="one JSON object on standard output")
    parser.add_argument("--tasks", type=int, default=10_000, help="open tasks in the inbox")
    parser.add_argument("--seconds", type=float, default=5.0, help="load per page, seconds")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--workers",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="server processes (vanthu serve --workers); default the CPUs, at most 4",
    )
    args = parser.parse_args(argv)
    if args.tasks < 1 or args.seconds <= 0 or args.workers < 1:
        parser.error("--tasks, --seconds and --workers must be positive")
    work = Path(tempfile.mkdtemp(prefix="vanthu-bench-web-"))
    results: dict[str, dict[str, Figures]] = {}
    skipped: dict[str, str] = {}
    try:
        results["sqlite"] = run_backend(
            work,
            "sqlite",
            f"sqlite:///{work / 'sqlite' / 'vanthu.db'}",
            args.tasks,
            args.seconds,
            args.workers,
        )
        reason = "--skip-postgres" if args.skip_postgres else _postgres_reason()
        if reason is None:
            with postgres_database("vanthu_bench_web") as url:
                results["postgresql"] = run_backend(
                    work, "postgresql", url, args.tasks, args.seconds, args.workers
                )
        else:
            skipped["postgresql"] = reason
            if not args.json:
                print(f"bỏ qua PostgreSQL: {reason}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(_as_json(results, skipped, args.workers), ensure_ascii=False))
    else:
        _print(results, args.tasks, args.seconds, args.workers)


if __name__ == "__main__":
    main()
