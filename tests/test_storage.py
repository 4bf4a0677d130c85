"""The object store on both backends: a folder and a real SeaweedFS S3 server."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from fixtures_s3 import SECRET_KEY, S3Server, run_seaweedfs

from storage import (
    PERMANENT,
    IntegrityError,
    NewObject,
    ObjectExists,
    ObjectNotFound,
    ObjectStore,
    ObjectWrite,
    RecordManifest,
    RetentionError,
    StorageError,
    check_record,
    content_key,
    get_content,
    list_records,
    open_store,
    put_content,
    put_contents,
    read_record,
    write_record,
)
from vanthu.errors import Kind

Corrupt = Callable[[ObjectStore, str], None]
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _folder_root(store: ObjectStore) -> Path | None:
    parts = urlsplit(store.url)
    return Path(unquote(parts.path)) if parts.scheme == "file" else None


def _decision() -> list[NewObject]:
    return [
        NewObject("pdf", "01-QĐ-SNV.pdf", b"%PDF-1.7 signed decision", PDF),
        NewObject("source", "du-thao.docx", b"PK docx draft", DOCX),
    ]


# --- objects --------------------------------------------------------------------------------


def test_round_trip_exists_and_delete(any_store: ObjectStore) -> None:
    any_store.put("van-ban/2026/quyet-dinh.txt", "Quyết định số 01/QĐ-SNV".encode())
    any_store.put("empty", b"")
    assert any_store.get("van-ban/2026/quyet-dinh.txt").decode() == "Quyết định số 01/QĐ-SNV"
    assert any_store.get("empty") == b""
    assert any_store.exists("empty")
    any_store.delete("empty")
    assert not any_store.exists("empty")
    assert not any_store.exists("van-ban")  # a folder is not an object
    with pytest.raises(ObjectNotFound) as caught:
        any_store.get("empty")
    assert caught.value.key == "empty"
    assert not caught.value.retryable
    with pytest.raises(ObjectNotFound):
        any_store.delete("empty")
    with pytest.raises(ObjectNotFound):
        any_store.get("van-ban")


def test_a_reader_never_sees_half_an_overwrite(any_store: ObjectStore) -> None:
    old, new = b"A" * 2**20, b"B" * 2**20
    any_store.put("doc.pdf", old)

    def overwrite() -> None:
        for i in range(12):
            any_store.put("doc.pdf", (new, old)[i % 2])

    writer = threading.Thread(target=overwrite)
    seen: list[bytes] = []
    writer.start()
    while writer.is_alive():
        seen.append(any_store.get("doc.pdf"))
    writer.join()
    torn = [len(data) for data in seen if data not in (old, new)]
    assert torn == [], f"{len(torn)}/{len(seen)} reads saw part of an object"
    assert any_store.get("doc.pdf") == old
    root = _folder_root(any_store)
    if root is not None:
        assert [p.name for p in root.iterdir()] == ["doc.pdf"]  # no temporary file left behind


def test_list_keys_by_prefix_in_the_same_order_on_both_backends(any_store: ObjectStore) -> None:
    keys = ["z.txt", "a/c.txt", "ab", "a.txt", "a/b/1.txt", "records/R-1.json"]
    for key in keys:
        any_store.put(key, key.encode())
    assert list(any_store.list_keys()) == sorted(keys)  # byte order: '.' < '/' < 'b'
    assert list(any_store.list_keys("a/")) == ["a/b/1.txt", "a/c.txt"]
    assert list(any_store.list_keys("a")) == ["a.txt", "a/b/1.txt", "a/c.txt", "ab"]
    assert list(any_store.list_keys("a/b/")) == ["a/b/1.txt"]
    assert list(any_store.list_keys("records/R")) == ["records/R-1.json"]
    assert list(any_store.list_keys("nothing/")) == []


@pytest.mark.parametrize(
    "key",
    ["../x", "/abs", "a/../../x", "a\\b", "", "a//b", "a/", "./a", ".hidden", "có-dấu", "a b"],
)
def test_keys_that_could_escape_or_differ_between_backends_are_refused(
    any_store: ObjectStore, key: str, tmp_path: Path
) -> None:
    for action in (
        lambda: any_store.put(key, b"x"),
        lambda: any_store.get(key),
        lambda: any_store.exists(key),
        lambda: any_store.delete(key),
    ):
        with pytest.raises(StorageError) as caught:
            action()
        assert caught.value.code == "storage.key.invalid"
        assert caught.value.kind is Kind.INVALID and not caught.value.retryable
    assert not (tmp_path / "x").exists()
    assert list(any_store.list_keys()) == []


def test_a_batch_is_created_whole_and_refuses_keys_already_taken(
    any_store: ObjectStore,
) -> None:
    until = datetime(2031, 1, 1, tzinfo=UTC)
    any_store.put("lo/da-co", b"old")
    writes = [
        ObjectWrite("lo/01.pdf", b"%PDF one", PDF, until),
        ObjectWrite("lo/da-co", b"new"),
        ObjectWrite("lo/sau/02.json", '{"trích_yếu": 2}'.encode(), "application/json"),
        ObjectWrite("lo/01.pdf", b"%PDF one again", PDF, until),  # twice in one batch
    ]
    done = any_store.create_many(writes)
    assert [isinstance(d, ObjectExists) for d in done] == [False, True, False, True]
    assert isinstance(done[1], ObjectExists) and done[1].key == "lo/da-co"
    assert any_store.get("lo/01.pdf") == b"%PDF one"
    assert any_store.get("lo/da-co") == b"old"
    assert json.loads(any_store.get("lo/sau/02.json")) == {"trích_yếu": 2}
    assert any_store.retention("lo/01.pdf") == until
    assert any_store.retention("lo/sau/02.json") is None
    with pytest.raises(RetentionError):
        any_store.delete("lo/01.pdf")
    assert list(any_store.list_keys("lo/")) == ["lo/01.pdf", "lo/da-co", "lo/sau/02.json"]
    if _folder_root(any_store) is None:  # S3: the version written reads back
        assert isinstance(done[0], str)
        assert any_store.get("lo/01.pdf", version_id=done[0]) == b"%PDF one"
    else:
        assert done[0] is None and done[2] is None
        assert not [p for p in _folder_root(any_store).rglob(".tmp-*")]  # type: ignore[union-attr]
    assert any_store.create_many([]) == []


def test_a_folder_batch_whose_disk_fails_to_sync_puts_nothing_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch is made durable with one syncfs per file system: when the disk reports a failed
    write-back there (EIO; a failing disk cannot run here, so syncfs is replaced), the batch
    stops with a clear error before any object is under its key, and leaves no temporary file.
    Where syncfs is missing, files and folders are synced one by one, with the same outcome."""
    from storage import _folder

    if _folder._SYNCFS is None:
        pytest.skip("this system has no syncfs(2): the one-by-one path is the only one")
    store = open_store((tmp_path / "kho").as_uri())
    writes = [ObjectWrite(f"lo/{n:02d}.pdf", b"%%PDF %d" % n, PDF) for n in range(3)]

    def failing(fd: int) -> int:
        import ctypes

        ctypes.set_errno(5)  # EIO
        return -1

    monkeypatch.setattr(_folder, "_SYNCFS", failing)
    with pytest.raises(StorageError) as failed:
        store.create_many(writes)
    assert failed.value.code == "storage.write_failed"
    assert "Input/output error" in str(failed.value)
    assert list(store.list_keys()) == []
    assert not list((tmp_path / "kho").rglob(".tmp-*"))

    monkeypatch.setattr(_folder, "_SYNCFS", None)  # the path of a system without syncfs
    assert store.create_many(writes) == [None, None, None]
    assert [store.get(w.key) for w in writes] == [w.data for w in writes]


def test_contents_of_a_batch_are_stored_once_with_the_longest_retention(
    any_store: ObjectStore,
) -> None:
    short, long = datetime(2030, 1, 1, tzinfo=UTC), datetime(2040, 1, 1, tzinfo=UTC)
    earlier = put_content(any_store, b"%PDF before", PDF, retain_until=short)
    stored = put_contents(
        any_store,
        [(b"%PDF before", long), (b"%PDF new", short), (b"%PDF new", long)],
        PDF,
    )
    shas = [sha for sha, _ in stored]
    assert shas == [earlier, *[hashlib.sha256(b"%PDF new").hexdigest()] * 2]
    assert [get_content(any_store, sha, version_id=v) for sha, v in stored] == [
        b"%PDF before",
        b"%PDF new",
        b"%PDF new",
    ]
    assert stored[1][1] == stored[2][1]  # the one version written
    assert any_store.retention(content_key(earlier)) == long
    assert any_store.retention(content_key(shas[1])) == long


# --- content addressing ---------------------------------------------------------------------


def test_content_is_stored_once_under_its_hash(any_store: ObjectStore) -> None:
    data = "%PDF-1.7 Quyết định".encode()
    sha = put_content(any_store, data, PDF)
    assert sha == hashlib.sha256(data).hexdigest()
    assert put_content(any_store, data, PDF) == sha
    assert content_key(sha) == f"objects/sha256/{sha[:2]}/{sha[2:4]}/{sha}"
    assert list(any_store.list_keys()) == [content_key(sha)]
    assert get_content(any_store, sha) == data


@pytest.mark.parametrize("bad", ["", "abc", "A" * 64, "g" * 64, "0" * 63, "../" + "0" * 61])
def test_content_key_refuses_what_is_not_a_sha256(bad: str) -> None:
    with pytest.raises(StorageError) as caught:
        content_key(bad)
    assert caught.value.code == "storage.sha256.invalid"


def test_get_content_detects_one_flipped_byte(any_store: ObjectStore, corrupt: Corrupt) -> None:
    data = b"%PDF-1.7 van ban da ky"
    sha = put_content(any_store, data, PDF)
    corrupt(any_store, content_key(sha))
    damaged = any_store.get(content_key(sha))
    assert len(damaged) == len(data) and damaged != data
    with pytest.raises(IntegrityError) as caught:
        get_content(any_store, sha)
    assert caught.value.code == "storage.integrity"
    assert caught.value.key == content_key(sha)
    assert not caught.value.retryable


def test_get_content_of_unknown_hash_is_not_found(any_store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFound) as caught:
        get_content(any_store, "0" * 64)
    assert caught.value.code == "storage.not_found"
    assert caught.value.key == content_key("0" * 64)


# --- records --------------------------------------------------------------------------------


def test_a_record_is_written_once_and_never_rewritten(any_store: ObjectStore) -> None:
    metadata = {"trích_yếu": "Bổ nhiệm cán bộ", "số": "01/QĐ-SNV", "năm": 2026}
    first = write_record(any_store, "SNV-2026-QD-0001", _decision(), metadata)
    assert write_record(any_store, "SNV-2026-QD-0001", _decision(), {"khác": 1}) == first
    assert read_record(any_store, "SNV-2026-QD-0001") == first
    assert first.created_at.tzinfo is UTC
    assert [ref.size for ref in first.objects] == [len(o.data) for o in _decision()]
    changed = [_decision()[0], NewObject("source", "du-thao.docx", b"PK edited", DOCX)]
    with pytest.raises(StorageError) as caught:
        write_record(any_store, "SNV-2026-QD-0001", changed, metadata)
    assert caught.value.code == "storage.record.exists"
    assert caught.value.key == "records/SNV-2026-QD-0001.json"
    assert caught.value.kind is Kind.CONFLICT and not caught.value.retryable
    assert read_record(any_store, "SNV-2026-QD-0001") == first
    assert list(list_records(any_store)) == ["SNV-2026-QD-0001"]


def test_the_manifest_is_readable_utf8_json_with_sorted_keys(any_store: ObjectStore) -> None:
    manifest = write_record(any_store, "R-1", _decision(), {"trích_yếu": "Bổ nhiệm", "a": 1})
    stored = any_store.get("records/R-1.json")
    assert "Bổ nhiệm".encode() in stored  # not \\u escapes
    raw = json.loads(stored)
    assert stored.decode() == json.dumps(raw, ensure_ascii=False, sort_keys=True, indent=2)
    expected = {
        "role": "pdf",
        "name": "01-QĐ-SNV.pdf",
        "sha256": manifest.objects[0].sha256,
        "size": len(_decision()[0].data),
        "content_type": PDF,
    }
    if any_store.versions(content_key(manifest.objects[0].sha256)):  # S3: the version written
        expected["version_id"] = any_store.versions(content_key(expected["sha256"]))[0].version_id
    assert raw["objects"][0] == expected
    assert RecordManifest.from_json(stored) == manifest
    assert get_content(any_store, manifest.objects[1].sha256) == _decision()[1].data


def test_nothing_is_written_when_the_record_cannot_be(any_store: ObjectStore) -> None:
    with pytest.raises(StorageError) as caught:
        write_record(any_store, "R-2", _decision(), {"ngày": object()})
    assert caught.value.code == "storage.record.metadata"
    twice = [_decision()[0], _decision()[0]]
    with pytest.raises(StorageError) as caught:
        write_record(any_store, "R-2", twice, {})
    assert caught.value.code == "storage.record.duplicate_role"
    assert caught.value.fields()["roles"] == ["pdf"]
    with pytest.raises(StorageError) as caught:
        write_record(any_store, "../R-2", _decision(), {})
    assert caught.value.code == "storage.key.invalid"
    assert list(any_store.list_keys()) == []


def test_check_record_names_a_missing_and_a_changed_object(
    any_store: ObjectStore, corrupt: Corrupt
) -> None:
    manifest = write_record(any_store, "R-3", _decision(), {})
    assert check_record(any_store, "R-3") == ()
    pdf, source = manifest.objects
    corrupt(any_store, content_key(pdf.sha256))
    any_store.delete(content_key(source.sha256))
    problems = check_record(any_store, "R-3")
    assert len(problems) == 2
    assert "01-QĐ-SNV.pdf" in problems[0] and "đã bị thay đổi" in problems[0]
    assert "du-thao.docx" in problems[1] and "bị thiếu" in problems[1]
    with pytest.raises(ObjectNotFound) as caught:
        check_record(any_store, "R-unknown")
    assert caught.value.code == "storage.record.not_found"
    assert caught.value.key == "records/R-unknown.json"


def test_a_damaged_manifest_is_reported(any_store: ObjectStore) -> None:
    write_record(any_store, "R-4", _decision(), {})
    any_store.put("records/R-4.json", b'{"record_id": "R-4"')
    with pytest.raises(StorageError) as caught:
        read_record(any_store, "R-4")
    assert caught.value.code == "storage.record.damaged"


# --- opening stores -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("", "storage.url.missing"),
        ("ftp://host/x", "storage.url.scheme"),
        ("file://", "storage.url.invalid"),
        ("s3://127.0.0.1:9000/bucket", "storage.url.credentials"),
        ("s3://k:topsecret@127.0.0.1:9000", "storage.url.invalid"),
        ("s3://k:topsecret@127.0.0.1:99999/bucket", "storage.url.invalid"),
        ("s3://k:topsecret@127.0.0.1:x/bucket", "storage.url.invalid"),
        ("s3://k:topsecret@127.0.0.1:9000/Hồ_Sơ", "storage.bucket.invalid"),
        ("s3://k:topsecret@127.0.0.1:9000/a/b", "storage.bucket.invalid"),
        ("s3://k:topsecret@127.0.0.1:9000/bucket?secure=maybe", "storage.url.option_invalid"),
        ("s3://k:topsecret@127.0.0.1:9000/bucket?timeout=-1", "storage.url.option_invalid"),
        ("s3://k:topsecret@127.0.0.1:9000/bucket?colour=red", "storage.url.option_unknown"),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, code: str) -> None:
    with pytest.raises(StorageError) as caught:
        open_store(url)
    error = caught.value
    assert error.code == code
    assert error.kind is Kind.CONFIG and not error.retryable
    assert "topsecret" not in str(error) and "topsecret" not in error.english
    assert "topsecret" not in json.dumps(error.to_json())


def test_folder_urls_absolute_relative_and_bare(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    open_store("file://./relative").put("k", b"1")
    open_store("bare/path").put("k", b"2")
    absolute = open_store((tmp_path / "thư mục").as_uri())
    absolute.put("k", b"3")
    assert (tmp_path / "relative" / "k").read_bytes() == b"1"
    assert (tmp_path / "bare" / "path" / "k").read_bytes() == b"2"
    assert open_store(absolute.url).get("k") == b"3"  # its url opens it again


# --- a real S3 server that refuses, hangs or stops ------------------------------------------


@pytest.mark.s3
def test_s3_options_and_a_url_without_the_secret(s3_server: S3Server) -> None:
    store = open_store(s3_server.fresh_url() + "&region=us-east-1&timeout=5")
    store.put("k", b"v")
    assert store.get("k") == b"v"
    assert SECRET_KEY not in store.url
    assert store.url.startswith("s3://127.0.0.1:")


@pytest.mark.s3
def test_wrong_credentials_are_refused_and_not_retried(s3_server: S3Server) -> None:
    url = s3_server.fresh_url().replace(SECRET_KEY, "wrong-secret-value")
    with pytest.raises(StorageError) as caught:
        open_store(url)
    assert caught.value.code == "storage.s3.credentials"
    assert caught.value.kind is Kind.CONFIG and not caught.value.retryable
    assert "wrong-secret-value" not in json.dumps(caught.value.to_json())


@pytest.mark.s3
def test_wrong_scheme_for_the_server_is_named(s3_server: S3Server) -> None:
    https = s3_server.fresh_url().replace("secure=false", "secure=true")
    with pytest.raises(StorageError) as caught:
        open_store(https)
    assert caught.value.code == "storage.s3.tls"
    assert caught.value.kind is Kind.CONFIG and not caught.value.retryable


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A server that takes connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


def _fails_retryable(action: Callable[[], object]) -> StorageError:
    """The action fails with an error that says to try again (the tests' own time limit,
    ``pytest.mark.timeout``, catches a client that would hang instead)."""
    with pytest.raises(StorageError) as caught:
        action()
    assert caught.value.retryable, str(caught.value)
    assert caught.value.kind is Kind.UNAVAILABLE
    return caught.value


@pytest.mark.timeout(60)
def test_a_closed_port_fails_fast_and_retryable(closed_port: int) -> None:
    url = f"s3://key:very-secret@127.0.0.1:{closed_port}/bucket?secure=false"
    error = _fails_retryable(lambda: open_store(url))
    assert error.code == "storage.connection.failed"
    assert "very-secret" not in json.dumps(error.to_json())
    assert error.fields()["url"] == f"s3://127.0.0.1:{closed_port}/bucket"


@pytest.mark.timeout(60)
def test_a_silent_server_times_out_retryable(silent_port: int) -> None:
    url = f"s3://key:very-secret@127.0.0.1:{silent_port}/bucket?secure=false&timeout=1"
    error = _fails_retryable(lambda: open_store(url))
    assert error.code == "storage.timeout"


@pytest.mark.s3
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_server_that_stops_gives_retryable_errors(tmp_path: Path) -> None:
    with run_seaweedfs(tmp_path) as server:
        store = open_store(server.fresh_url())
        sha = put_content(store, b"before the outage", PDF)
    error = _fails_retryable(lambda: get_content(store, sha))
    assert error.code.startswith("storage.connection.")
    assert error.key == content_key(sha)
    _fails_retryable(lambda: store.put("k", b"x"))
    assert os.path.exists(server.log)


# --- the errors themselves ------------------------------------------------------------------


def test_an_error_says_in_both_languages_whether_to_try_again() -> None:
    lasting = StorageError("không đọc được", "could not read", key="a/b.pdf")
    assert lasting.code == "storage.error" and lasting.kind is Kind.FAILED
    assert str(lasting) == "không đọc được (đối tượng 'a/b.pdf')"
    assert lasting.english == "could not read (object 'a/b.pdf')"
    passing = StorageError("không trả lời", "no answer", key="a/b.pdf", retryable=True)
    assert passing.code == "storage.unavailable" and passing.kind is Kind.UNAVAILABLE
    assert str(passing).endswith("; lỗi tạm thời, có thể thử lại")
    assert passing.english.endswith("; a temporary error, may be retried")
    with pytest.raises(TypeError):
        StorageError("chỉ tiếng Việt")  # type: ignore[call-arg]


def test_an_error_crosses_a_process_whole(folder_store: ObjectStore) -> None:
    folder_store.put("k", b"v", retain_until=PERMANENT)
    with pytest.raises(RetentionError) as caught:
        folder_store.delete("k")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is RetentionError
    assert (copy.code, copy.key, copy.until, copy.retryable) == (
        "storage.retention",
        "k",
        PERMANENT,
        False,
    )
    assert str(copy) == str(caught.value) and copy.english == caught.value.english
    assert copy.to_json() == caught.value.to_json()
    json.dumps(copy.to_json())  # the retention date travels as ISO text


@pytest.mark.s3
def test_stores_opening_a_new_bucket_at_once_all_open_it(s3_server: S3Server) -> None:
    """Each sees no bucket and creates it; the losers' 'already yours' is not an error."""
    url = s3_server.fresh_url()
    barrier = threading.Barrier(6)
    failed: list[StorageError] = []

    def open_it() -> None:
        barrier.wait()
        try:
            open_store(url)
        except StorageError as exc:
            failed.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [error.code for error in failed] == []
    open_store(url).put("k", b"v", retain_until=PERMANENT)  # made with object lock
