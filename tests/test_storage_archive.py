"""Archive depth on both backends: retention (object lock), revisions, create-only manifests,
fixity. The S3 side runs against a real SeaweedFS with object lock in COMPLIANCE mode."""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from fixtures_s3 import ACCESS_KEY, SECRET_KEY, S3Server

from storage import (
    PERMANENT,
    NewObject,
    ObjectExists,
    ObjectNotFound,
    ObjectStore,
    RetentionError,
    StorageError,
    check_record,
    check_store,
    content_key,
    extend_record_retention,
    get_content,
    list_records,
    list_revisions,
    open_store,
    put_content,
    read_record,
    revise_record,
    write_record,
)

Corrupt = Callable[[ObjectStore, str], None]
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
SHORT = 3
"""Seconds of retention for tests that wait for it to pass."""


def _folder_root(store: ObjectStore) -> Path | None:
    parts = urlsplit(store.url)
    return Path(unquote(parts.path)) if parts.scheme == "file" else None


def _decision() -> list[NewObject]:
    return [
        NewObject("pdf", "01-QĐ-SNV.pdf", b"%PDF-1.7 signed decision", PDF),
        NewObject("source", "du-thao.docx", b"PK docx draft", DOCX),
    ]


def _with_bucket(store: ObjectStore, bucket: str) -> str:
    """The URL of another bucket on the same test server (with the test credentials)."""
    endpoint = urlsplit(store.url).netloc
    return f"s3://{ACCESS_KEY}:{SECRET_KEY}@{endpoint}/{bucket}?secure=false"


def _soon(seconds: float = SHORT) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def _wait_past(until: datetime) -> None:
    while datetime.now(UTC) <= until + timedelta(milliseconds=300):
        time.sleep(0.2)


# --- retention ------------------------------------------------------------------------------


def test_a_retained_object_cannot_be_deleted_or_overwritten_until_its_date(
    any_store: ObjectStore,
) -> None:
    until = _soon()
    any_store.put("luu-tru/qd.pdf", b"%PDF signed", PDF, retain_until=until)
    stored = any_store.retention("luu-tru/qd.pdf")
    assert stored is not None and stored.tzinfo is not None
    assert until <= stored <= until + timedelta(seconds=1)  # whole seconds, rounded up
    with pytest.raises(RetentionError) as caught:
        any_store.delete("luu-tru/qd.pdf")
    error = caught.value
    assert error.key == "luu-tru/qd.pdf" and error.until == stored
    assert "luu-tru/qd.pdf" in str(error) and stored.isoformat() in str(error)
    assert "không được xóa" in str(error) and not error.retryable
    with pytest.raises(RetentionError, match="ghi đè"):
        any_store.put("luu-tru/qd.pdf", b"%PDF forged", PDF)
    assert any_store.get("luu-tru/qd.pdf") == b"%PDF signed"
    assert list(any_store.list_keys()) == ["luu-tru/qd.pdf"]  # no retention file listed

    _wait_past(stored)
    any_store.delete("luu-tru/qd.pdf")  # the disposal workflow's step, after expiry
    assert not any_store.exists("luu-tru/qd.pdf")
    assert list(any_store.list_keys()) == []
    with pytest.raises(ObjectNotFound):
        any_store.delete("luu-tru/qd.pdf")
    any_store.put("luu-tru/qd.pdf", b"a new object may take the key", PDF)
    assert any_store.retention("luu-tru/qd.pdf") is None


def test_retention_is_extended_never_shortened(any_store: ObjectStore) -> None:
    until = _soon()
    any_store.put("ho-so/bien-ban.pdf", b"%PDF", PDF, retain_until=until)
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3650)
    any_store.extend_retention("ho-so/bien-ban.pdf", later)
    assert any_store.retention("ho-so/bien-ban.pdf") == later
    with pytest.raises(RetentionError, match="rút ngắn") as caught:
        any_store.extend_retention("ho-so/bien-ban.pdf", later - timedelta(days=1))
    assert caught.value.until == later
    assert any_store.retention("ho-so/bien-ban.pdf") == later
    _wait_past(until)  # the first date has passed; the extended one still holds
    with pytest.raises(RetentionError):
        any_store.delete("ho-so/bien-ban.pdf")
    with pytest.raises(ObjectNotFound):
        any_store.extend_retention("ho-so/khong-co.pdf", later)
    with pytest.raises(StorageError, match="múi giờ"):
        any_store.extend_retention("ho-so/bien-ban.pdf", datetime(2100, 1, 1))


def test_permanent_retention_is_the_longest_the_store_allows(any_store: ObjectStore) -> None:
    any_store.put("vinh-vien.pdf", b"%PDF", PDF, retain_until=any_store.max_retain_until)
    assert any_store.max_retain_until == PERMANENT
    assert any_store.retention("vinh-vien.pdf") == PERMANENT
    with pytest.raises(RetentionError, match="31/12/9999"):
        any_store.delete("vinh-vien.pdf")


def test_an_object_without_retention_deletes_as_before(any_store: ObjectStore) -> None:
    any_store.put("nhap.docx", b"draft", DOCX)
    assert any_store.retention("nhap.docx") is None
    any_store.delete("nhap.docx")
    assert not any_store.exists("nhap.docx")
    with pytest.raises(ObjectNotFound):
        any_store.retention("nhap.docx")


def test_folder_retention_lives_beside_the_object_read_only(folder_store: ObjectStore) -> None:
    root = _folder_root(folder_store)
    assert root is not None
    folder_store.put("a/b.pdf", b"%PDF", PDF, retain_until=PERMANENT)
    sidecar = root / ".retention" / "a" / "b.pdf.json"
    assert json.loads(sidecar.read_text(encoding="utf-8")) == {
        "key": "a/b.pdf",
        "mode": "COMPLIANCE",
        "retain_until": PERMANENT.isoformat(),
    }
    assert sidecar.stat().st_mode & 0o222 == 0
    assert (root / "a" / "b.pdf").stat().st_mode & 0o222 == 0
    sidecar.chmod(0o644)
    sidecar.write_text("{broken", encoding="utf-8")  # a damaged date unlocks nothing
    with pytest.raises(StorageError, match="hỏng"):
        folder_store.delete("a/b.pdf")
    assert folder_store.exists("a/b.pdf")


@pytest.mark.s3
def test_s3_locked_version_survives_a_plain_delete_marker(s3_store: ObjectStore) -> None:
    """SeaweedFS itself refuses to delete a locked version; a plain DELETE only adds a marker,
    so the store refuses on its own side too and deletes every version after expiry."""
    until = _soon()
    s3_store.put("k.pdf", b"%PDF", PDF, retain_until=until)
    client, bucket = s3_store.client, s3_store.bucket  # type: ignore[attr-defined]
    (version,) = [v.version_id for v in client.list_objects(bucket, include_version=True)]
    with pytest.raises(Exception) as refused:  # the server's own COMPLIANCE refusal
        client.remove_object(bucket, "k.pdf", version_id=version)
    assert getattr(refused.value, "code", None) == "AccessDenied"
    client.remove_object(bucket, "k.pdf")  # no version: a delete marker
    assert not s3_store.exists("k.pdf")
    versions = list(client.list_objects(bucket, include_version=True))
    assert sorted(v.is_delete_marker for v in versions) == [False, True]
    _wait_past(until + timedelta(seconds=1))  # the store keeps whole seconds, rounded up
    s3_store.put("k.pdf", b"%PDF again", PDF)
    s3_store.delete("k.pdf")
    assert list(client.list_objects(bucket, include_version=True)) == []


# --- create-only ----------------------------------------------------------------------------


def test_create_refuses_an_existing_key(any_store: ObjectStore) -> None:
    any_store.create("records/R.json", b"first", "application/json")
    with pytest.raises(ObjectExists) as caught:
        any_store.create("records/R.json", b"second", "application/json")
    assert caught.value.key == "records/R.json"
    assert any_store.get("records/R.json") == b"first"


def test_of_writers_racing_for_a_new_key_exactly_one_wins(any_store: ObjectStore) -> None:
    writers = 6
    barrier = threading.Barrier(writers)
    won: list[int] = []
    lost: list[int] = []

    def write(number: int) -> None:
        barrier.wait()
        try:
            any_store.create("race.json", f"writer {number}".encode(), "application/json")
            won.append(number)
        except ObjectExists:
            lost.append(number)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and len(lost) == writers - 1
    assert any_store.get("race.json") == f"writer {won[0]}".encode()


def test_two_archivers_of_one_record_cannot_both_write_it(any_store: ObjectStore) -> None:
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def archive(name: str, body: bytes) -> None:
        objects = [NewObject("pdf", f"{name}.pdf", body, PDF)]
        barrier.wait()
        try:
            results[name] = write_record(any_store, "R-RACE", objects, {"bởi": name})
        except StorageError as exc:
            results[name] = exc

    threads = [
        threading.Thread(target=archive, args=(name, f"%PDF {name}".encode()))
        for name in ("a", "b")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refused = [r for r in results.values() if isinstance(r, StorageError)]
    assert len(refused) == 1 and "ghi đè" in str(refused[0])
    stored = read_record(any_store, "R-RACE")
    assert stored.metadata["bởi"] in ("a", "b")
    assert results[str(stored.metadata["bởi"])] == stored


# --- revisions ------------------------------------------------------------------------------


def test_a_revision_keeps_the_earlier_one_and_replaces_objects_by_role(
    any_store: ObjectStore,
) -> None:
    first = write_record(any_store, "R-5", _decision(), {"số": "01/QĐ-SNV", "hồ_sơ": None})
    ltv = NewObject("pdf", "01-QĐ-SNV.pdf", b"%PDF-1.7 signed decision + LTV", PDF)
    second = revise_record(any_store, "R-5", objects=[ltv], reason="Bổ sung dữ liệu LTV")
    assert second.revision == 2 and second.reason == "Bổ sung dữ liệu LTV"
    assert second.revised_at is not None and second.revised_at >= first.created_at
    assert second.created_at == first.created_at
    assert [r.role for r in second.objects] == ["pdf", "source"]
    assert second.objects[0].sha256 != first.objects[0].sha256
    assert second.objects[1] == first.objects[1]
    third = revise_record(any_store, "R-5", metadata={"hồ_sơ": "HS-2026-01"}, reason="Vào hồ sơ")
    assert third.metadata == {"số": "01/QĐ-SNV", "hồ_sơ": "HS-2026-01"}
    assert third.objects == second.objects

    assert read_record(any_store, "R-5") == third
    assert read_record(any_store, "R-5", revision=1) == first
    assert read_record(any_store, "R-5", revision=2) == second
    assert list_revisions(any_store, "R-5") == (first, second, third)
    assert list(list_records(any_store)) == ["R-5"]
    assert get_content(any_store, first.objects[0].sha256) == _decision()[0].data  # kept
    with pytest.raises(ObjectNotFound, match="phiên bản 9"):
        read_record(any_store, "R-5", revision=9)
    with pytest.raises(StorageError, match="lý do"):
        revise_record(any_store, "R-5", metadata={"x": 1}, reason="  ")
    with pytest.raises(ObjectNotFound):
        revise_record(any_store, "R-none", reason="không có")
    # the original archive step, retried, still finds its record and writes nothing
    assert write_record(any_store, "R-5", _decision(), {}) == third
    attachment = NewObject("attachment-1", "phu-luc.pdf", b"%PDF annex", PDF)
    fourth = revise_record(any_store, "R-5", objects=[attachment], reason="Thêm phụ lục")
    assert [r.role for r in fourth.objects] == ["pdf", "source", "attachment-1"]


def test_concurrent_revisions_are_numbered_one_after_the_other(any_store: ObjectStore) -> None:
    write_record(any_store, "R-6", _decision(), {"n": 0})
    barrier = threading.Barrier(3)

    def revise(number: int) -> None:
        barrier.wait()
        revise_record(any_store, "R-6", metadata={f"k{number}": number}, reason=f"sửa {number}")

    threads = [threading.Thread(target=revise, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    revisions = list_revisions(any_store, "R-6")
    assert [m.revision for m in revisions] == [1, 2, 3, 4]
    assert set(revisions[-1].metadata) == {"n", "k0", "k1", "k2"}  # each built on the last


def test_a_retained_record_keeps_its_revisions_locked(any_store: ObjectStore) -> None:
    until = _soon(3600)
    first = write_record(any_store, "R-7", _decision(), {}, retain_until=until)
    assert first.retain_until == until.replace(microsecond=0) + timedelta(seconds=1)
    ltv = NewObject("pdf", "01-QĐ-SNV.pdf", b"%PDF LTV", PDF)
    second = revise_record(any_store, "R-7", objects=[ltv], reason="LTV")
    assert second.retain_until == first.retain_until
    for key in (
        "records/R-7.json",
        "revisions/R-7/000002.json",
        *(content_key(r.sha256) for r in (*first.objects, *second.objects)),
    ):
        assert any_store.retention(key) == first.retain_until, key
        with pytest.raises(RetentionError):
            any_store.delete(key)
    with pytest.raises(RetentionError):
        any_store.put("records/R-7.json", b"{}")
    extend_record_retention(any_store, "R-7", PERMANENT)
    assert any_store.retention(content_key(first.objects[0].sha256)) == PERMANENT
    assert any_store.retention("revisions/R-7/000002.json") == PERMANENT


def test_shared_content_gets_the_longer_retention(any_store: ObjectStore) -> None:
    data = b"%PDF shared annex"
    sha = put_content(any_store, data, PDF, retain_until=_soon(60))
    put_content(any_store, data, PDF, retain_until=_soon(7200))
    later = any_store.retention(content_key(sha))
    assert later is not None and later > _soon(3600)
    put_content(any_store, data, PDF, retain_until=_soon(60))  # never shortened
    assert any_store.retention(content_key(sha)) == later


# --- fixity ---------------------------------------------------------------------------------


def test_fixity_names_the_record_and_file_with_a_flipped_byte(
    any_store: ObjectStore, corrupt: Corrupt
) -> None:
    write_record(any_store, "R-8", _decision(), {}, retain_until=_soon(3600))
    second = revise_record(
        any_store,
        "R-8",
        objects=[NewObject("pdf", "01-QĐ-SNV-ltv.pdf", b"%PDF LTV version", PDF)],
        reason="LTV",
    )
    write_record(any_store, "R-9", [NewObject("pdf", "khac.pdf", b"%PDF other", PDF)], {})
    assert dict(check_store(any_store)) == {"R-8": (), "R-9": ()}
    corrupt(any_store, content_key(second.objects[0].sha256), 5)
    problems = dict(check_store(any_store))
    assert problems["R-9"] == ()
    (problem,) = problems["R-8"]
    assert problem.startswith("R-8: tệp '01-QĐ-SNV-ltv.pdf'") and "đã bị thay đổi" in problem
    any_store.put("records/R-9.json", b"not json")
    assert "hỏng" in dict(check_store(any_store))["R-9"][0]
    assert check_record(any_store, "R-8") == (problem,)


@pytest.mark.s3
def test_a_server_cap_on_retention_is_configured_and_later_extended(s3_server: S3Server) -> None:
    store = open_store(s3_server.fresh_url() + "&max_retention_years=100")
    cap = store.max_retain_until
    assert datetime.now(UTC) + timedelta(days=365 * 99) < cap < PERMANENT
    write_record(store, "R-10", _decision(), {}, retain_until=cap)
    assert store.retention("records/R-10.json") == cap
    extend_record_retention(store, "R-10", PERMANENT)  # years later, the next extension
    assert store.retention("records/R-10.json") == PERMANENT
    with pytest.raises(StorageError, match="max_retention_years"):
        open_store(s3_server.fresh_url() + "&max_retention_years=0")


@pytest.mark.s3
def test_a_bucket_without_object_lock_says_so(s3_store: ObjectStore) -> None:
    client = s3_store.client  # type: ignore[attr-defined]
    url = s3_store.url
    plain = f"vanthu-plain-{abs(hash(url)) % 10**8}"
    client.make_bucket(plain)  # made elsewhere, without object lock
    store = open_store(_with_bucket(s3_store, plain))
    store.put("k", b"no retention is fine")
    with pytest.raises(StorageError, match="không bật khóa đối tượng") as caught:
        store.put("k2", b"x", retain_until=_soon(60))
    assert not isinstance(caught.value, RetentionError)
    store.put("k", b"overwritten in place")
    store.delete("k")  # an unversioned bucket deletes too
    assert not store.exists("k") and list(store.list_keys()) == []


def _archive_in_process(url: str, name: str, barrier: Any, results: Any) -> None:
    store = open_store(url)
    objects = [NewObject("pdf", f"{name}.pdf", f"%PDF from process {name}".encode(), PDF)]
    barrier.wait()
    try:
        write_record(store, "R-PROC", objects, {"bởi": name})
        results.put((name, "written"))
    except StorageError as exc:
        results.put((name, str(exc)))


@pytest.mark.parametrize("backend", ["folder", pytest.param("s3", marks=pytest.mark.s3)])
def test_two_processes_archiving_one_record_at_once_write_it_once(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = (
        (tmp_path / "store").as_uri()
        if backend == "folder"
        else request.getfixturevalue("s3_store_url")
    )
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(4), context.Queue()
    names = ["p1", "p2", "p3", "p4"]
    processes = [
        context.Process(target=_archive_in_process, args=(url, name, barrier, results))
        for name in names
    ]
    for process in processes:
        process.start()
    outcome = dict(results.get(timeout=60) for _ in names)
    for process in processes:
        process.join(timeout=30)
    written = [name for name, result in outcome.items() if result == "written"]
    assert len(written) == 1, outcome
    assert all("đã có với nội dung khác" in r for n, r in outcome.items() if n != written[0])
    record = read_record(open_store(url), "R-PROC")
    assert record.metadata == {"bởi": written[0]} and record.objects[0].name == f"{written[0]}.pdf"
