"""Serving the app with uvicorn: one process, or several sharing one listening socket.

With ``workers`` > 1 the socket is bound here rather than by uvicorn, as a TCP socket by
protocol number: the connections each worker accepts then inherit it, and asyncio turns Nagle's
algorithm off for them as it does in one process. (uvicorn binds ``socket.socket(family)``,
protocol 0, and its workers' answers then wait ~40 ms for the client's delayed ACK.)
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from uvicorn.supervisors import Multiprocess

from engine.core.workspace import Workspace
from engine.http.app import create_app


@contextmanager
def serving_in_thread(
    ws: Workspace,
    port: int,
    *,
    listener: socket.socket | None = None,
    start_timeout_s: float = 30,
) -> Iterator[str]:
    """The app on 127.0.0.1:``port`` in a thread of this process while the block runs (tests and
    benchmarks that drive two agencies from one process); its address. ``listener``: a socket
    bound to ``port`` when the port was chosen, served as it is — a port only picked as free
    can be taken by another process before the server binds it."""
    server = uvicorn.Server(
        uvicorn.Config(create_app(ws), host="127.0.0.1", port=port, log_level="warning")
    )
    sockets = None if listener is None else [listener]
    thread = threading.Thread(target=server.run, kwargs={"sockets": sockets}, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:  # waiting for the server to listen, not for a date
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server on port {port} did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def serve(ws: Workspace, *, host: str, port: int, workers: int = 1) -> None:
    """Serve the agency of ``ws`` until interrupted; each worker opens the agency again."""
    if workers == 1:
        uvicorn.run(create_app(ws), host=host, port=port, log_level="warning")
        return
    ws.db.dispose()
    os.environ["VANTHU_HOME"] = str(ws.settings.home)  # what each worker process opens
    if ws.settings.insecure_cookies:
        os.environ["VANTHU_INSECURE_COOKIES"] = "true"
    config = uvicorn.Config(
        "engine.http.app:app_from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="warning",
    )
    Multiprocess(config, sockets=[_listening(host, port)]).run()


def _listening(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host.strip("[]"), port))
    listener.listen(2048)
    listener.set_inheritable(True)
    return listener
