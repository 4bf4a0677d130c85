"""Documents per second through the outgoing journey's automated steps (convert, then after the
leader's signature number, seal, deliver, archive) with 1, 2, 4 … `vanthu worker` processes
claiming from one PostgreSQL database and reporting to a Prefect server on PostgreSQL (the
production mode), and a second figure with the conversion replaced by an already-converted PDF:
the engine's own ceiling. Baseline, measured in the same run: the same documents run by one
process without Prefect (``outbox.run_pending``), which also gives the CPU time of each step.
With the workers, the CPU time per document of the worker processes and of the Prefect server
(what reporting each step as a task run costs it) over the same spans.

The time of a run is read from the outbox: from the first claim to the last step finished, for
the automated steps only (the people's steps between them are not counted). Needs PostgreSQL on
127.0.0.1:5432 (user postgres; VANTHU_BENCH_PG to change; databases dropped afterwards).

    python -m bench flow --workers 4 --documents 8 [--json]
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, col, select

from bench._postgres import postgres_database
from engine.automation import open_workspace
from engine.automation.worker import server_problem
from engine.core.agency import DEMO_AGENCY, DEMO_PEOPLE, create_demo_agency
from engine.core.config import load_settings
from engine.core.db import transaction
from engine.core.models import OutboxItem
from engine.core.workspace import Workspace
from engine.outgoing import DraftRequest, create_outgoing, render_request
from engine.outgoing.conversion import prepare_pdf
from engine.signatures import create_demo_keys, keys
from engine.workflow import act, outbox
from engine.workflow.files import PDF_TYPE, add_file
from storage import put_content

STEPS = ("convert", "number", "seal", "deliver", "archive")
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    """One batch of documents through the automated steps."""

    documents: int
    seconds: float = 0.0
    cpu_ms_by_step: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    worker_cpu_ms: float | None = None
    server_cpu_ms: float | None = None
    """The Prefect server's CPU time over the same spans as the workers'."""

    @property
    def per_second(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0


def worker_counts(most: int) -> list[int]:
    """1, 2, 4 … up to ``most``, and ``most`` itself."""
    counts, n = [], 1
    while n < most:
        counts.append(n)
        n *= 2
    return [*counts, most]


def _agency(home: Path, database_url: str) -> Workspace:
    home.mkdir()
    settings = load_settings(home, database_url=database_url, steps_runner="worker")
    ws = open_workspace(settings)
    create_demo_agency(ws)
    create_demo_keys(settings.effective_pki_dir, DEMO_AGENCY, DEMO_PEOPLE)
    return ws


def _ready_pdf(ws: Workspace, request: DraftRequest) -> tuple[str, int]:
    """One draft converted once: the 'already-converted PDF' of the ceiling runs."""
    data = prepare_pdf(ws, render_request(ws, "chuyenvien", request).data)
    return put_content(ws.store, data, PDF_TYPE), len(data)


def _approved(
    ws: Workspace, request: DraftRequest, count: int, pdf: tuple[str, int] | None
) -> list[int]:
    """Documents created and submitted, then approved together: their conversions queued."""
    docs = []
    for _ in range(count):
        doc = create_outgoing(ws, "chuyenvien", request)
        act(ws, doc, "chuyenvien", "submit")
        if pdf is not None:  # as if converted when uploaded: the convert step reuses it
            with transaction(ws.db) as session:
                add_file(session, doc, "pdf", 1, pdf[0], pdf[1], "du-thao.pdf")
        docs.append(doc)
    for doc in docs:
        act(ws, doc, "truongphong", "approve")
    return docs


def _issue(ws: Workspace, docs: list[int]) -> None:
    pin = keys.pki(ws).demo_pin("phogiamdoc")
    for doc in docs:
        act(ws, doc, "phogiamdoc", "sign", pin=pin)
    for doc in docs:
        act(ws, doc, "vanthu", "issue")


def _items(ws: Workspace, docs: list[int], steps: tuple[str, ...]) -> list[OutboxItem]:
    with Session(ws.db) as session:
        query = select(OutboxItem).where(
            col(OutboxItem.document_id).in_(docs), col(OutboxItem.step_id).in_(steps)
        )
        return list(session.exec(query).all())


def _wait_done(ws: Workspace, docs: list[int], steps: tuple[str, ...], timeout: float) -> float:
    """Seconds from the first claim to the last finish of these steps of these documents."""
    deadline = time.monotonic() + timeout
    while True:
        found = _items(ws, docs, steps)
        bad = [i for i in found if i.state in ("failed", "returned")]
        if bad:
            raise SystemExit(f"step {bad[0].step_id} failed: {bad[0].last_error}")
        if len(found) == len(docs) * len(steps) and all(i.state == "done" for i in found):
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"the workers did not finish {steps} within {timeout:.0f} s")
        time.sleep(0.1)
    lease = outbox.lease(ws)
    first = min(i.available_at - lease for i in found)  # claimed at: the lease's start
    last = max(i.finished_at for i in found if i.finished_at is not None)
    return (last - first).total_seconds()


def _in_process(
    ws: Workspace, request: DraftRequest, count: int, pdf: tuple[str, int] | None
) -> Run:
    """The baseline: one process runs the steps itself, no Prefect; each step's CPU time."""
    run = Run(count)

    def timed() -> float:
        started = time.perf_counter()
        for step in outbox.run_pending(ws):
            if not step.ok:
                raise SystemExit(f"step {step.step} failed: {step.error}")
            run.cpu_ms_by_step[step.step].append(step.cpu_ms or 0.0)
        return time.perf_counter() - started

    docs = _approved(ws, request, count, pdf)
    run.seconds = timed()
    _issue(ws, docs)
    run.seconds += timed()
    return run


def _cpu_ms(pids: list[int]) -> float:
    """User and system CPU time of these processes so far (Linux /proc)."""
    return sum(_cpu_ticks(_stat(pid)) for pid in pids) * 1000 / TICKS


def _group_cpu_ms(group: int) -> float:
    """User and system CPU time so far of the live processes of one process group."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = _stat(int(entry.name))
        except (FileNotFoundError, ProcessLookupError):  # ended meanwhile
            continue
        if int(fields[2]) == group:
            total += _cpu_ticks(fields)
    return total * 1000 / TICKS


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command's name (the state is field 0)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _cpu_ticks(fields: list[str]) -> int:
    return int(fields[11]) + int(fields[12])  # utime, stime


class _Workers:
    """N `vanthu worker` processes on the agency, reporting to the Prefect server."""

    def __init__(self, ws: Workspace, count: int, api_url: str, logs: Path) -> None:
        env = {
            **os.environ,
            "VANTHU_HOME": str(ws.settings.home),
            "VANTHU_DATABASE_URL": ws.settings.effective_database_url,
            "VANTHU_STEPS_RUNNER": "worker",
            "VANTHU_PREFECT_API_URL": api_url,
        }
        self.processes = []
        for i in range(count):
            with (logs / f"worker-{count}-{i}.log").open("wb") as log:
                self.processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "engine", "worker", "--poll", "0.1"],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # its LibreOffice with it, ended with it
                    )
                )

    def cpu_ms(self) -> float:
        return _cpu_ms([p.pid for p in self.processes])

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            process.wait(timeout=30)


def _with_workers(
    ws: Workspace,
    workers: _Workers,
    server: _Server,
    request: DraftRequest,
    count: int,
    pdf: tuple[str, int] | None,
) -> Run:
    run = Run(count)
    docs = _approved(ws, request, count, pdf)
    cpu, server_cpu = workers.cpu_ms(), server.cpu_ms()
    run.seconds = _wait_done(ws, docs, ("convert",), 600)
    cpu_after_convert, server_after_convert = workers.cpu_ms(), server.cpu_ms()
    _issue(ws, docs)  # the workers wait meanwhile: their CPU is counted from here again
    cpu_issued, server_issued = workers.cpu_ms(), server.cpu_ms()
    run.seconds += _wait_done(ws, docs, STEPS[1:], 600)
    run.worker_cpu_ms = (cpu_after_convert - cpu) + (workers.cpu_ms() - cpu_issued)
    run.server_cpu_ms = (server_after_convert - server_cpu) + (server.cpu_ms() - server_issued)
    return run


@dataclass(frozen=True)
class _Server:
    """The Prefect server the workers report to: its API, and its process group (it was
    started in a session of its own) for its CPU time."""

    api_url: str
    group: int

    def cpu_ms(self) -> float:
        return _group_cpu_ms(self.group)


@contextmanager
def _prefect_server(ws: Workspace, database_url: str, logs: Path) -> Iterator[_Server]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    command = [sys.executable, "-m", "engine", "prefect-server", "--port", str(port)]
    env = {**os.environ, "VANTHU_HOME": str(ws.settings.home)}
    with (logs / "prefect-server.log").open("wb") as log:
        server = subprocess.Popen(
            [*command, "--database-url", database_url],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    api_url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while server_problem(api_url, timeout=1) is not None:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the Prefect server did not start: see {logs}/prefect-server.log")
            time.sleep(0.5)
        yield _Server(api_url, server.pid)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


def measure(work: Path, request: DraftRequest, most: int, documents: int) -> dict[str, object]:
    """Every figure, as the JSON object prints it."""
    figures: dict[str, object] = {}
    logs = work / "logs"
    logs.mkdir()
    with postgres_database() as agency_db, postgres_database() as prefect_db:
        ws = _agency(work / "agency", agency_db)
        pdf = _ready_pdf(ws, request)
        _in_process(ws, request, 1, None)  # warm-up: fonts, LibreOffice, keys
        full = _in_process(ws, request, documents, None)
        ceiling = _in_process(ws, request, documents, pdf)
        figures["docs_per_s_in_process"] = full.per_second
        figures["ceiling_docs_per_s_in_process"] = ceiling.per_second
        figures["cpu_ms_per_doc_by_step"] = {
            step: statistics.median(full.cpu_ms_by_step[step]) for step in STEPS
        }
        figures["ceiling_cpu_ms_per_doc_by_step"] = {
            step: statistics.median(ceiling.cpu_ms_by_step[step]) for step in STEPS
        }
        with _prefect_server(ws, prefect_db, logs) as server:
            for count in worker_counts(most):
                workers = _Workers(ws, count, server.api_url, logs)
                try:
                    _with_workers(ws, workers, server, request, count, None)  # warm-up
                    full = _with_workers(ws, workers, server, request, documents, None)
                    ceiling = _with_workers(ws, workers, server, request, documents, pdf)
                finally:
                    workers.stop()
                figures[f"docs_per_s_workers_{count}"] = full.per_second
                figures[f"ceiling_docs_per_s_workers_{count}"] = ceiling.per_second
                assert full.worker_cpu_ms is not None and ceiling.worker_cpu_ms is not None
                figures[f"worker_cpu_ms_per_doc_workers_{count}"] = full.worker_cpu_ms / documents
                figures[f"ceiling_worker_cpu_ms_per_doc_workers_{count}"] = (
                    ceiling.worker_cpu_ms / documents
                )
                assert full.server_cpu_ms is not None and ceiling.server_cpu_ms is not None
                figures[f"server_cpu_ms_per_doc_workers_{count}"] = full.server_cpu_ms / documents
                figures[f"ceiling_server_cpu_ms_per_doc_workers_{count}"] = (
                    ceiling.server_cpu_ms / documents
                )
    return figures


def report(figures: dict[str, object], most: int, documents: int) -> None:
    """The figures for a person."""
    print(
        f"automated steps of the outgoing journey, {documents} documents, PostgreSQL, "
        "workers reporting to a Prefect server on PostgreSQL"
    )
    print(f"{'':<26}{'docs/s':>9}{'× 1 worker':>12}{'ceiling docs/s':>16}{'× 1 worker':>12}")
    one, one_ceiling = figures["docs_per_s_workers_1"], figures["ceiling_docs_per_s_workers_1"]
    assert isinstance(one, float) and isinstance(one_ceiling, float)
    rows = [("one process, no Prefect", "in_process")]
    rows += [(f"{n} worker{'s' if n > 1 else ''}", f"workers_{n}") for n in worker_counts(most)]
    for label, key in rows:
        rate, ceiling = figures[f"docs_per_s_{key}"], figures[f"ceiling_docs_per_s_{key}"]
        assert isinstance(rate, float) and isinstance(ceiling, float)
        print(
            f"{label:<26}{rate:>9.2f}{rate / one:>12.2f}{ceiling:>16.2f}"
            f"{ceiling / one_ceiling:>12.2f}"
        )
    by_step = figures["cpu_ms_per_doc_by_step"]
    assert isinstance(by_step, dict)
    steps = ", ".join(f"{step} {ms:.0f}" for step, ms in by_step.items())
    total = sum(by_step.values())
    print(f"CPU ms per document by step (one process, median): {steps}; total {total:.0f}")
    for n in worker_counts(most):
        print(
            f"worker processes' CPU ms per document, {n} worker(s) (Prefect included, LibreOffice "
            f"not): {figures[f'worker_cpu_ms_per_doc_workers_{n}']:.0f}, ceiling "
            f"{figures[f'ceiling_worker_cpu_ms_per_doc_workers_{n}']:.0f}; the Prefect "
            f"server's: {figures[f'server_cpu_ms_per_doc_workers_{n}']:.0f}, ceiling "
            f"{figures[f'ceiling_server_cpu_ms_per_doc_workers_{n}']:.0f}"
        )
