"""Outside work never inside a database transaction: while the leader's signature waits on a
slow timestamp server, another person's action goes through on SQLite."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fixtures_db import WorkspaceFactory

from engine.outgoing import create_outgoing
from engine.signatures import keys
from engine.workflow import act
from tests_support import DECISION, LETTER, open_task_steps, pin_of


@contextmanager
def held_tsa(target: str, arrived: threading.Event, release: threading.Event) -> Iterator[str]:
    """A timestamp server that answers only once ``release`` is set: it forwards each request
    to ``target`` and tells ``arrived`` it has one waiting."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            arrived.set()
            release.wait(timeout=120)
            request = urllib.request.Request(
                target, data=body, headers={"Content-Type": self.headers["Content-Type"]}
            )
            with urllib.request.urlopen(request, timeout=30) as answer:
                data = answer.read()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa"
    finally:
        release.set()
        server.shutdown()


def test_a_slow_timestamp_server_does_not_block_another_persons_action(
    make_agency: WorkspaceFactory,
) -> None:
    probe = make_agency()
    real_tsa = keys.tsa_url(probe)
    arrived, release = threading.Event(), threading.Event()
    with held_tsa(real_tsa, arrived, release) as slow_tsa:
        ws = make_agency(tsa_url=slow_tsa)
        signed_doc = create_outgoing(ws, "chuyenvien", DECISION)
        other_doc = create_outgoing(ws, "chuyenvien", LETTER)
        for who, action in (("chuyenvien", "submit"), ("truongphong", "approve")):
            act(ws, signed_doc, who, action)
        errors: list[BaseException] = []

        def sign() -> None:
            try:
                act(ws, signed_doc, "phogiamdoc", "sign", pin=pin_of(ws, "phogiamdoc"))
            except BaseException as exc:  # reported below, in the test's own thread
                errors.append(exc)

        signer = threading.Thread(target=sign)
        signer.start()
        assert arrived.wait(timeout=120), "the signature never asked the timestamp server"
        # the signature now waits on the TSA; another person's action must not wait on it
        moved = act(ws, other_doc, "chuyenvien", "submit")
        assert moved.now_at == ("review",) and signer.is_alive()
        release.set()
        signer.join(timeout=300)
    assert errors == []
    assert open_task_steps(ws, signed_doc) == ["issue"]
