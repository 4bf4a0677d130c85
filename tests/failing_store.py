"""A real S3 server (SeaweedFS) behind a small HTTP relay the test can switch to refusing writes:
the store answers reads as usual and "503 Service Unavailable" to every PUT while ``refusing``,
as an overloaded or read-only object store does. Nothing in Vanthu is replaced."""

from __future__ import annotations

import http.client
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fixtures_s3 import ACCESS_KEY, SECRET_KEY

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection"}
_UNAVAILABLE = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)


@dataclass
class Relay:
    """Where the relay listens, and the switch."""

    endpoint: str
    refusing: threading.Event = field(default_factory=threading.Event)
    refused: list[str] = field(default_factory=list)
    """The paths of the writes refused, in order."""

    def fresh_url(self) -> str:
        bucket = f"vanthu-{uuid.uuid4().hex[:12]}"
        return f"s3://{ACCESS_KEY}:{SECRET_KEY}@{self.endpoint}/{bucket}?secure=false&timeout=10"


@contextmanager
def relay_to(upstream: str) -> Iterator[Relay]:
    """A relay on loopback in front of the S3 server at ``upstream`` (host:port)."""
    host, port = upstream.rsplit(":", 1)
    state: dict[str, Relay] = {}

    class Handler(BaseHTTPRequestHandler):
        def _relay(self) -> None:
            relay = state["relay"]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            if self.command == "PUT" and relay.refusing.is_set():
                relay.refused.append(self.path)
                self._answer(503, {"Content-Type": "application/xml"}, _UNAVAILABLE)
                return
            connection = http.client.HTTPConnection(host, int(port), timeout=30)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                data = answer.read()
                kept = {
                    k: v
                    for k, v in answer.getheaders()
                    if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length"
                }
                self._answer(answer.status, kept, data, declared=answer.getheader("Content-Length"))
            finally:
                connection.close()

        def _answer(
            self, status: int, headers: dict[str, str], data: bytes, declared: str | None = None
        ) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            # a HEAD answer declares the object's length but carries no body
            self.send_header("Content-Length", declared if self.command == "HEAD" and declared
                             else str(len(data)))  # fmt: skip
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["relay"] = Relay(f"127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["relay"]
    finally:
        server.shutdown()
        server.server_close()
