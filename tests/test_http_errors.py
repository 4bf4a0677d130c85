"""Errors as the HTTP API answers them: the status of their kind and one JSON body."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from engine.core.errors import Conflict, NotAllowed
from engine.http.errors import install
from signing import SigningError
from storage import ObjectNotFound, StorageError
from vanthu.errors import VanthuError

RAISED: dict[str, Exception] = {
    "store-timeout": StorageError(
        "kho lưu trữ không trả lời", "the store did not answer", key="a/b", retryable=True
    ),
    "missing": ObjectNotFound("không tìm thấy trong kho", "not found in the store", key="a/b"),
    "closed": Conflict("hồ sơ đã đóng", "the file is closed", code="case_file.closed"),
    "forbidden": NotAllowed("không được", "not allowed", code="action.not_allowed"),
    "revoked": SigningError(
        "chứng thư số đã bị thu hồi",
        "the certificate is revoked",
        code="signing.policy.revoked",
        certificate_serial=255,
    ),
    "defect": ZeroDivisionError("division by zero"),
}


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    app = FastAPI()
    install(app, tmp_path)

    @app.get("/raise/{name}")
    def raise_it(name: str) -> None:
        raise RAISED[name]

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("store-timeout", 503, "storage.unavailable"),
        ("missing", 404, "storage.not_found"),
        ("closed", 409, "case_file.closed"),
        ("forbidden", 403, "action.not_allowed"),
        ("revoked", 422, "signing.policy.revoked"),
        ("defect", 500, "internal.unexpected"),
    ],
)
def test_each_kind_of_error_has_its_status_and_code(
    client: TestClient, name: str, status: int, code: str
) -> None:
    answer = client.get(f"/raise/{name}")
    assert answer.status_code == status
    body = answer.json()
    assert body["code"] == code and body["detail"] and body["detail_en"]
    error = RAISED[name]
    if isinstance(error, VanthuError):
        assert body["retryable"] is error.retryable and body["kind"] == error.kind.value
    if status == 503:
        assert answer.headers["Retry-After"]


def test_a_defect_names_its_log_entry_and_the_log_holds_the_traceback(
    client: TestClient, tmp_path: Path
) -> None:
    (tmp_path / "vanthu.toml").write_text("", encoding="utf-8")  # an agency folder: it logs
    detail = client.get("/raise/defect").json()["detail"]
    entry = detail.rsplit("#", 1)[1]
    log = (tmp_path / "logs" / "vanthu.log").read_text(encoding="utf-8")
    assert f"[{entry}]" in log and "ZeroDivisionError" in log and "Traceback" in log
