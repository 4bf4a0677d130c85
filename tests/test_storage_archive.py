"""Archive depth on both backends: retention (object lock), revisions, create-only manifests,
fixity. The S3 side runs against a real SeaweedFS with object lock in COMPLIANCE mode.

No test waits for a date: the folder store decides retention with Vanthu's clock, which a test
moves (the ``clock`` fixture); an S3 server decides with its own, so there the tests check what
the server holds and refuses now."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from fixtures_s3 import ACCESS_KEY, SECRET_KEY, Corrupt, S3Server
from minio.commonconfig import COMPLIANCE
from minio.error import S3Error

from storage import (
    PERMANENT,
    NewObject,
    ObjectExists,
    ObjectNotFound,
    ObjectRef,
    ObjectStore,
    RecordManifest,
    RetentionError,
    StorageError,
    check_record,
    check_store,
    content_key,
    extend_record_retention,
    finish_pending,
    get_content,
    list_records,
    list_revisions,
    open_store,
    pending_record,
    put_content,
    read_record,
    revise_record,
    write_record,
)
from vanthu import clock as vanthu_clock
from vanthu.clock import ManualClock
from vanthu.errors import Kind

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DAY = 24 * 3600


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


def _soon(seconds: float) -> datetime:
    """A date ``seconds`` ahead by Vanthu's clock, a quarter second past a whole second."""
    return vanthu_clock.now().replace(microsecond=250_000) + timedelta(seconds=seconds)


def _whole(until: datetime) -> datetime:
    """The date a store keeps for ``until`` from ``_soon``: whole seconds, rounded up."""
    return until.replace(microsecond=0) + timedelta(seconds=1)


# --- retention ------------------------------------------------------------------------------


def test_a_retained_object_cannot_be_deleted_or_overwritten_before_its_date(
    any_store: ObjectStore,
) -> None:
    until = _soon(DAY)
    any_store.put("luu-tru/qd.pdf", b"%PDF signed", PDF, retain_until=until)
    stored = any_store.retention("luu-tru/qd.pdf")
    assert stored == _whole(until) and stored.tzinfo is not None  # whole seconds, rounded up
    with pytest.raises(RetentionError) as caught:
        any_store.delete("luu-tru/qd.pdf")
    error = caught.value
    assert (error.code, error.key, error.until) == ("storage.retention", "luu-tru/qd.pdf", stored)
    assert error.kind is Kind.CONFLICT and not error.retryable
    for text in (str(error), error.english):  # the person reading it learns what and until when
        assert "luu-tru/qd.pdf" in text and stored.isoformat() in text
    with pytest.raises(RetentionError) as caught:
        any_store.put("luu-tru/qd.pdf", b"%PDF forged", PDF)
    assert (caught.value.code, caught.value.until) == ("storage.retention", stored)
    assert any_store.get("luu-tru/qd.pdf") == b"%PDF signed"
    assert list(any_store.list_keys()) == ["luu-tru/qd.pdf"]  # no retention file listed


def test_after_its_date_a_retained_object_may_be_deleted(
    folder_store: ObjectStore, clock: ManualClock
) -> None:
    """The folder store decides with Vanthu's clock: the test moves it past the date."""
    folder_store.put("luu-tru/qd.pdf", b"%PDF signed", PDF, retain_until=_soon(DAY))
    stored = folder_store.retention("luu-tru/qd.pdf")
    assert stored is not None
    clock.set(stored - timedelta(seconds=1))
    with pytest.raises(RetentionError):
        folder_store.delete("luu-tru/qd.pdf")
    clock.set(stored + timedelta(seconds=1))
    folder_store.delete("luu-tru/qd.pdf")  # the disposal workflow's step, after expiry
    assert not folder_store.exists("luu-tru/qd.pdf")
    assert list(folder_store.list_keys()) == []
    with pytest.raises(ObjectNotFound) as caught:
        folder_store.delete("luu-tru/qd.pdf")
    assert (caught.value.code, caught.value.key) == ("storage.not_found", "luu-tru/qd.pdf")
    folder_store.put("luu-tru/qd.pdf", b"a new object may take the key", PDF)
    assert folder_store.retention("luu-tru/qd.pdf") is None


@pytest.mark.s3
def test_s3_the_server_itself_holds_the_lock(s3_store: ObjectStore, clock: ManualClock) -> None:
    """What SeaweedFS holds for a retained object: COMPLIANCE mode and the exact date, and it
    refuses to delete the version now, even when Vanthu's clock is past the date.

    The server decides with its own clock, which a test cannot move, so that the lock ends at
    the date is tested on the folder store only (it decides with Vanthu's clock); waiting for a
    real date to pass would make the test slow and depend on timing.
    """
    s3_store.put("k.pdf", b"%PDF", PDF, retain_until=_soon(DAY))
    stored = s3_store.retention("k.pdf")
    client, bucket = s3_store.client, s3_store.bucket  # type: ignore[attr-defined]
    held = client.get_object_retention(bucket, "k.pdf")
    assert held.mode == COMPLIANCE and held.retain_until_date == stored
    (version,) = [v.version_id for v in client.list_objects(bucket, include_version=True)]
    with pytest.raises(S3Error) as refused:  # the server's own COMPLIANCE refusal
        client.remove_object(bucket, "k.pdf", version_id=version)
    assert refused.value.code == "AccessDenied"

    assert stored is not None
    clock.set(stored + timedelta(days=1))  # Vanthu's clock past the date, the server's not
    with pytest.raises(RetentionError) as caught:
        s3_store.delete("k.pdf")  # the store lets it through; the server refuses
    error = caught.value
    assert (error.code, error.key, error.until) == ("storage.retention", "k.pdf", stored)
    assert s3_store.get("k.pdf") == b"%PDF"


@pytest.mark.s3
def test_s3_locked_version_survives_a_plain_delete_marker(s3_store: ObjectStore) -> None:
    """A plain DELETE only adds a delete marker over a locked version, so the store refuses on
    its own side while any version is locked, and its delete removes every version (markers
    included) so a deletion really deletes."""
    s3_store.put("k.pdf", b"%PDF", PDF, retain_until=_soon(DAY))
    stored = s3_store.retention("k.pdf")
    client, bucket = s3_store.client, s3_store.bucket  # type: ignore[attr-defined]
    client.remove_object(bucket, "k.pdf")  # no version: a delete marker
    assert not s3_store.exists("k.pdf")
    versions = list(client.list_objects(bucket, include_version=True))
    assert sorted(v.is_delete_marker for v in versions) == [False, True]
    with pytest.raises(RetentionError) as caught:
        s3_store.delete("k.pdf")
    assert (caught.value.code, caught.value.until) == ("storage.retention", stored)

    s3_store.put("d.pdf", b"%PDF 1", PDF)  # no retention: versions and a marker, all deleted
    client.remove_object(bucket, "d.pdf")
    s3_store.put("d.pdf", b"%PDF 2", PDF)
    s3_store.delete("d.pdf")
    assert not s3_store.exists("d.pdf")
    left = [
        v for v in client.list_objects(bucket, include_version=True) if v.object_name == "d.pdf"
    ]
    assert left == []


def test_retention_is_extended_never_shortened(any_store: ObjectStore, clock: ManualClock) -> None:
    until = _soon(60)
    any_store.put("ho-so/bien-ban.pdf", b"%PDF", PDF, retain_until=until)
    later = vanthu_clock.now().replace(microsecond=0) + timedelta(days=3650)
    any_store.extend_retention("ho-so/bien-ban.pdf", later)
    assert any_store.retention("ho-so/bien-ban.pdf") == later
    with pytest.raises(RetentionError) as caught:
        any_store.extend_retention("ho-so/bien-ban.pdf", later - timedelta(days=1))
    assert (caught.value.code, caught.value.until) == ("storage.retention.shorten", later)
    assert caught.value.key == "ho-so/bien-ban.pdf"
    assert any_store.retention("ho-so/bien-ban.pdf") == later
    clock.set(_whole(until) + timedelta(seconds=1))  # the first date passed; the later holds
    with pytest.raises(RetentionError) as caught:
        any_store.delete("ho-so/bien-ban.pdf")
    assert (caught.value.code, caught.value.until) == ("storage.retention", later)
    with pytest.raises(ObjectNotFound) as missing:
        any_store.extend_retention("ho-so/khong-co.pdf", later)
    assert (missing.value.code, missing.value.key) == ("storage.not_found", "ho-so/khong-co.pdf")
    with pytest.raises(StorageError) as naive:
        any_store.extend_retention("ho-so/bien-ban.pdf", datetime(2100, 1, 1))
    assert naive.value.code == "storage.retention.no_timezone"


def test_permanent_retention_is_the_longest_the_store_allows(any_store: ObjectStore) -> None:
    any_store.put("vinh-vien.pdf", b"%PDF", PDF, retain_until=any_store.max_retain_until)
    assert any_store.max_retain_until == PERMANENT
    assert any_store.retention("vinh-vien.pdf") == PERMANENT
    with pytest.raises(RetentionError) as caught:
        any_store.delete("vinh-vien.pdf")
    assert (caught.value.code, caught.value.until) == ("storage.retention", PERMANENT)


def test_an_object_without_retention_deletes_as_before(any_store: ObjectStore) -> None:
    any_store.put("nhap.docx", b"draft", DOCX)
    assert any_store.retention("nhap.docx") is None
    any_store.delete("nhap.docx")
    assert not any_store.exists("nhap.docx")
    with pytest.raises(ObjectNotFound) as caught:
        any_store.retention("nhap.docx")
    assert (caught.value.code, caught.value.key) == ("storage.not_found", "nhap.docx")


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
    with pytest.raises(StorageError) as caught:
        folder_store.delete("a/b.pdf")
    assert (caught.value.code, caught.value.key) == ("storage.folder.retention_damaged", "a/b.pdf")
    assert folder_store.exists("a/b.pdf")


# --- create-only ----------------------------------------------------------------------------


def test_create_refuses_an_existing_key(any_store: ObjectStore) -> None:
    any_store.create("records/R.json", b"first", "application/json")
    with pytest.raises(ObjectExists) as caught:
        any_store.create("records/R.json", b"second", "application/json")
    assert (caught.value.code, caught.value.key) == ("storage.exists", "records/R.json")
    assert caught.value.kind is Kind.CONFLICT
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
    assert len(refused) == 1 and refused[0].code == "storage.record.exists"
    assert refused[0].key == "records/R-RACE.json"
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
    with pytest.raises(ObjectNotFound) as missing:
        read_record(any_store, "R-5", revision=9)
    assert missing.value.code == "storage.record.not_found"
    assert missing.value.key == "revisions/R-5/000009.json"
    assert missing.value.fields()["revision"] == 9
    with pytest.raises(StorageError) as refused:
        revise_record(any_store, "R-5", metadata={"x": 1}, reason="  ")
    assert refused.value.code == "storage.record.reason_missing"
    with pytest.raises(ObjectNotFound) as missing:
        revise_record(any_store, "R-none", reason="không có")
    assert missing.value.code == "storage.record.not_found"
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
    assert first.retain_until == _whole(until)
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
    assert vanthu_clock.now() + timedelta(days=365 * 99) < cap < PERMANENT
    write_record(store, "R-10", _decision(), {}, retain_until=cap)
    assert store.retention("records/R-10.json") == cap
    extend_record_retention(store, "R-10", PERMANENT)  # years later, the next extension
    assert store.retention("records/R-10.json") == PERMANENT
    with pytest.raises(StorageError) as caught:
        open_store(s3_server.fresh_url() + "&max_retention_years=0")
    assert caught.value.code == "storage.url.option_invalid"
    assert caught.value.fields()["option"] == "max_retention_years"


@pytest.mark.s3
def test_a_bucket_without_object_lock_says_so(s3_store: ObjectStore) -> None:
    client = s3_store.client  # type: ignore[attr-defined]
    url = s3_store.url
    plain = f"vanthu-plain-{abs(hash(url)) % 10**8}"
    client.make_bucket(plain)  # made elsewhere, without object lock
    store = open_store(_with_bucket(s3_store, plain))
    store.put("k", b"no retention is fine")
    with pytest.raises(StorageError) as caught:
        store.put("k2", b"x", retain_until=_soon(60))
    assert not isinstance(caught.value, RetentionError)
    assert caught.value.code == "storage.object_lock.unsupported"
    assert caught.value.kind is Kind.CONFIG and caught.value.key == "k2"
    store.put("k", b"overwritten in place")
    store.delete("k")  # an unversioned bucket deletes too
    assert not store.exists("k") and list(store.list_keys()) == []


def _archive_in_process(url: str, name: str, barrier: Any, results: Any) -> None:
    """Always reports (a crash too), so the test fails instead of waiting for a result."""
    try:
        store = open_store(url)  # all four at once: each may be the one that makes the bucket
        objects = [NewObject("pdf", f"{name}.pdf", f"%PDF from process {name}".encode(), PDF)]
        barrier.wait(timeout=60)
        write_record(store, "R-PROC", objects, {"bởi": name})
        results.put((name, "written"))
    except StorageError as exc:
        results.put((name, exc.code))
    except Exception as exc:
        results.put((name, repr(exc)))


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
        context.Process(target=_archive_in_process, args=(url, name, barrier, results), daemon=True)
        for name in names
    ]
    for process in processes:
        process.start()
    outcome = dict(results.get(timeout=60) for _ in names)
    for process in processes:
        process.join(timeout=30)
    written = [name for name, result in outcome.items() if result == "written"]
    assert len(written) == 1, outcome
    assert all(r == "storage.record.exists" for n, r in outcome.items() if n != written[0])
    record = read_record(open_store(url), "R-PROC")
    assert record.metadata == {"bởi": written[0]} and record.objects[0].name == f"{written[0]}.pdf"


# --- versions, delete markers, interrupted writes ---------------------------------------------


def test_a_record_names_the_version_of_each_object_and_reads_it(any_store: ObjectStore) -> None:
    manifest = write_record(any_store, "R-20", _decision(), {}, retain_until=_soon(DAY))
    for ref in manifest.objects:
        versions = any_store.versions(content_key(ref.sha256))
        assert ref.version_id == (versions[0].version_id if versions else None)
        assert get_content(any_store, ref.sha256, version_id=ref.version_id)
    if manifest.objects[0].version_id is None:  # the folder store: manifests as they were
        assert b"version_id" not in any_store.get("records/R-20.json")
    assert list(any_store.hidden_keys()) == []
    assert any_store.unhide("records/R-20.json") == ()


@pytest.mark.s3
def test_s3_a_delete_marker_hides_and_unhide_removes_it(s3_store: ObjectStore) -> None:
    manifest = write_record(s3_store, "R-21", _decision(), {}, retain_until=_soon(DAY))
    key = content_key(manifest.objects[0].sha256)
    client, bucket = s3_store.client, s3_store.bucket  # type: ignore[attr-defined]
    client.remove_object(bucket, key)  # a plain DELETE past the store
    assert not s3_store.exists(key)
    assert list(s3_store.hidden_keys()) == [key]
    assert list(s3_store.hidden_keys("records/")) == []
    ref = manifest.objects[0]
    assert get_content(s3_store, ref.sha256, version_id=ref.version_id) == _decision()[0].data
    [marker] = [v.version_id for v in s3_store.versions(key) if v.delete_marker]
    assert s3_store.unhide(key) == (marker,)
    assert s3_store.get(key) == _decision()[0].data and list(s3_store.hidden_keys()) == []
    assert [v.delete_marker for v in s3_store.versions(key)] == [False]


def test_an_interrupted_write_is_finished_from_its_pending_note(any_store: ObjectStore) -> None:
    """What write_record leaves when it stops between the objects and the manifest: the note
    and the objects, locked. The retry finishes the record with those objects."""
    until = _whole(_soon(DAY))
    objects = _decision()
    refs = tuple(
        ObjectRef(o.role, o.name, hashlib.sha256(o.data).hexdigest(), len(o.data), o.content_type)
        for o in objects
    )
    meant = RecordManifest("R-22", vanthu_clock.now(), refs, {"số": 22}, retain_until=until)
    any_store.put("pending/R-22.json", meant.without_versions().to_json())
    assert pending_record(any_store, "R-22") is not None
    for item in objects[:1]:
        put_content(any_store, item.data, item.content_type, retain_until=until)
    partial = pending_record(any_store, "R-22")
    assert partial is not None and not partial.complete
    assert [r.role for r in partial.present] == ["pdf"]
    with pytest.raises(StorageError) as caught:
        finish_pending(any_store, partial)
    assert caught.value.code == "storage.record.pending_incomplete"
    put_content(any_store, objects[1].data, objects[1].content_type, retain_until=until)
    whole = pending_record(any_store, "R-22")
    assert whole is not None and whole.complete
    finished = finish_pending(any_store, whole)
    assert read_record(any_store, "R-22") == finished == meant
    assert not any_store.exists("pending/R-22.json")
    assert pending_record(any_store, "R-22") is None  # the manifest is there now
    for ref in finished.objects:
        assert any_store.retention(content_key(ref.sha256)) == until
        assert get_content(any_store, ref.sha256, version_id=ref.version_id)
