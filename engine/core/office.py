"""A warm LibreOffice kept running between conversions: ``unoserver`` run by Debian's python3.

A cold ``soffice --convert-to`` starts LibreOffice for every file (about 1.2 s); a warm one
converts the same DOCX in about 0.25 s. Each process (a worker, the web server, a test session)
runs its own server on free ports with its own LibreOffice profile, started in the background
on its first conversion; until it answers, conversions go the cold way, so nobody waits for it.
The conversions of one process go through it one at a time (a lock). A conversion that fails or
passes its time on the server has the server killed and restarted, and is retried once the cold
way; a server that cannot start at all (no python3-uno, no unoserver) leaves the process on the
cold way, logged once. The server's process group is killed when the process exits.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import logging
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path

_log = logging.getLogger("vanthu.office")

PROJECT_UNO_PYTHON = Path(__file__).resolve().parents[2] / ".venv-uno" / "bin" / "python"
"""Where ``make install`` puts unoserver: a venv of Debian's python3 that sees python3-uno."""
SYSTEM_PYTHON = "/usr/bin/python3"
START_TIMEOUT_S = 60.0
"""A server not answering this long after its start is given up."""
_PROBE_INTERVAL_S = 0.2
START_ON_CONVERSION = 2
"""The conversion of a process that starts its server (it answers a second or two later): a
command that converts one file never pays for starting one."""
_LAUNCHER = (
    "import sys, time, types, unoserver.server as s\n"
    "s.time = types.SimpleNamespace(sleep=lambda t: time.sleep(min(t, 0.5)))\n"
    "sys.exit(s.main())\n"
)
"""``python -m unoserver.server``, with its fixed waits (5 s before it looks for LibreOffice,
2 s between tries) cut to 0.5 s: it answers once LibreOffice is up, about 1 s instead of 7 s,
and still tries 20 times (10 s) for a LibreOffice slow to start (unoserver 3.7 only calls
``time.sleep``)."""


@dataclass
class _Config:
    enabled: bool
    python: str


def _default_config() -> _Config:
    value = os.environ.get("VANTHU_OFFICE_SERVER", "true").strip().lower()
    return _Config(
        enabled=value not in ("0", "false", "no", "off", "cold"),
        python=os.environ.get("VANTHU_OFFICE_PYTHON", ""),
    )


_config = _default_config()
_servers: dict[tuple[str, str], OfficeServer] = {}
_broken: set[tuple[str, str]] = set()
"""(soffice, python) pairs whose server could not start: this process stays cold for them."""
_asked: dict[tuple[str, str], int] = {}
_registry_lock = threading.Lock()


def configure(*, enabled: bool, python: str = "") -> None:
    """Turn the warm server on or off for this process (``office_server`` in the settings) and
    choose the python that runs unoserver (empty: the project's .venv-uno, else /usr/bin/python3).
    Turning it off stops the running servers."""
    global _config
    new = _Config(enabled=enabled, python=python)
    if new == _config:
        return
    _config = new
    if not enabled:
        stop_all()


def uno_python() -> str:
    """The python that runs unoserver under the current configuration."""
    if _config.python:
        return _config.python
    return str(PROJECT_UNO_PYTHON) if PROJECT_UNO_PYTHON.is_file() else SYSTEM_PYTHON


def server_for(soffice: str, *, now: bool = False) -> OfficeServer | None:
    """This process's server for the LibreOffice ``soffice`` (an absolute path), started if it
    is not yet (on the :data:`START_ON_CONVERSION`-th conversion that asks, or at once with
    ``now``); None when it is off, not started yet or cannot start."""
    if not _config.enabled:
        return None
    key = (soffice, uno_python())
    with _registry_lock:
        if key in _broken:
            return None
        server = _servers.get(key)
        if server is None:
            _asked[key] = _asked.get(key, 0) + 1
            if not now and _asked[key] < START_ON_CONVERSION:
                return None
            server = OfficeServer(soffice, key[1])
            _servers[key] = server
            server.start()
    if server.failed:
        with _registry_lock:
            if _servers.get(key) is server:
                del _servers[key]
                _broken.add(key)
        return None
    return server


def stop_all() -> None:
    """Stop every server this process started (at exit, or when turned off)."""
    with _registry_lock:
        servers = list(_servers.values())
        _servers.clear()
    for server in servers:
        server.stop()


class WarmFailed(Exception):
    """The server did not convert; ``server_fault`` when it answered with an error (the document),
    otherwise it died, hung or passed its time and has been restarted."""

    def __init__(self, reason: str, *, server_fault: bool) -> None:
        super().__init__(reason)
        self.server_fault = server_fault


class OfficeServer:
    """One unoserver (and its LibreOffice) in its own process group, on free ports."""

    def __init__(self, soffice: str, python: str) -> None:
        self.soffice = soffice
        self.python = python
        self.lock = threading.Lock()
        """Held for a conversion: LibreOffice converts one document at a time."""
        self.failed = False
        """It could not start: this process converts cold."""
        self.starts = 0
        """How many times it was started (a restart counts)."""
        self.conversions = 0
        """How many conversions it made."""
        self._state_lock = threading.RLock()
        self._process: subprocess.Popen[bytes] | None = None
        self._profile: tempfile.TemporaryDirectory[str] | None = None
        self._port = 0
        self._ready = threading.Event()

    # --- life -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start unoserver in the background; :meth:`ready` tells when it answers."""
        with self._state_lock:
            self._kill_locked()
            self._ready = threading.Event()
            self._profile = tempfile.TemporaryDirectory(
                prefix="vanthu-office-", ignore_cleanup_errors=True
            )
            profile = Path(self._profile.name)
            self._port, uno_port = _free_port(), _free_port()
            command = [
                self.python, "-c", _LAUNCHER,
                "--interface", "127.0.0.1", "--port", str(self._port),
                "--uno-interface", "127.0.0.1", "--uno-port", str(uno_port),
                "--executable", self.soffice,
                "--user-installation", str(profile / "profile"),
                "--quiet",
            ]  # fmt: skip
            try:
                with (profile / "unoserver.log").open("wb") as log:
                    process = subprocess.Popen(
                        command,
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=log,
                        start_new_session=True,
                    )
            except OSError as exc:
                self._give_up(f"{self.python}: {exc.strerror or exc}")
                return
            self._process = process
            self.starts += 1
            ready = self._ready
        threading.Thread(
            target=self._watch_start, args=(process, ready), name="vanthu-office", daemon=True
        ).start()

    def _watch_start(self, process: subprocess.Popen[bytes], ready: threading.Event) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            try:
                self._call(1.0).system.listMethods()
            except (OSError, http.client.HTTPException, xmlrpc.client.Error):
                time.sleep(_PROBE_INTERVAL_S)
                continue
            with self._state_lock:
                if self._process is process:
                    ready.set()
            return
        with self._state_lock:
            if self._process is not process:
                return  # stopped or restarted meanwhile
            self._give_up(self._log_tail() or f"exit code {process.poll()}")

    def _give_up(self, reason: str) -> None:
        """Called with the state lock held."""
        self._kill_locked()
        self.failed = True
        _log.warning(
            "LibreOffice server (unoserver, %s) could not start, conversions run cold "
            "(soffice for each file): %s",
            self.python,
            reason,
        )

    def ready(self) -> bool:
        return self._ready.is_set() and self._process is not None and self._process.poll() is None

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> bool:
        """Block until it answers (tests, benchmarks); False if it did not in ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not self.failed:
            if self.ready():
                return True
            time.sleep(0.05)
        return self.ready()

    def revive(self) -> None:
        """Restart a server that died after it was ready (a crash between conversions)."""
        with self._state_lock:
            dead = self._process is None or self._process.poll() is not None
            if dead and self._ready.is_set() and not self.failed:
                self.restart()

    def restart(self) -> None:
        _log.info("restarting the LibreOffice server (unoserver)")
        self.start()

    def stop(self) -> None:
        with self._state_lock:
            self._kill_locked()

    def _kill_locked(self) -> None:
        process, self._process = self._process, None
        self._ready.clear()
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if self._profile is not None:
            self._profile.cleanup()
            self._profile = None

    # --- what tests look at ---------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """unoserver's process (the group leader)."""
        return self._process.pid if self._process is not None else None

    def _log_tail(self) -> str:
        if self._profile is None:
            return ""
        try:
            text = (Path(self._profile.name) / "unoserver.log").read_text(errors="replace")
        except OSError:
            return ""
        return text.strip()[-500:]

    # --- conversions ----------------------------------------------------------------------

    def _call(self, timeout_s: float) -> xmlrpc.client.ServerProxy:
        return xmlrpc.client.ServerProxy(
            f"http://127.0.0.1:{self._port}",
            transport=_TimeoutTransport(timeout_s),
            allow_none=True,
        )

    def convert(
        self, source: Path, target: Path, *, import_filter: str | None, timeout_s: float
    ) -> None:
        """Write ``source`` as PDF to ``target`` (both on this machine); the caller holds
        :attr:`lock`. Raises :class:`WarmFailed`; a dead or hung server is restarted first."""
        try:
            self._call(timeout_s).convert(
                str(source), None, str(target), "pdf", "writer_pdf_Export", [], False,
                import_filter, None,
            )  # fmt: skip
            self.conversions += 1
        except xmlrpc.client.Fault as exc:
            if self._process is not None and self._process.poll() is None:
                raise WarmFailed(exc.faultString[-300:], server_fault=True) from exc
            self.restart()
            raise WarmFailed(
                f"the server died: {exc.faultString[-300:]}", server_fault=False
            ) from exc
        except (OSError, http.client.HTTPException, xmlrpc.client.Error) as exc:
            self.restart()
            reason = "timed out" if isinstance(exc, TimeoutError) else str(exc) or repr(exc)
            raise WarmFailed(reason, server_fault=False) from exc


class _TimeoutTransport(xmlrpc.client.Transport):
    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self._timeout_s = timeout_s

    def make_connection(self, host: tuple[str, dict[str, str]] | str) -> http.client.HTTPConnection:
        connection = super().make_connection(host)
        connection.timeout = self._timeout_s
        return connection


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _forget_after_fork() -> None:
    """A forked child must not use (or kill) its parent's server: it starts its own."""
    global _registry_lock
    _servers.clear()
    _asked.clear()
    _registry_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
atexit.register(stop_all)
