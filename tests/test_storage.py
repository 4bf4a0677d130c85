"""The object store on both backends: a folder and a real SeaweedFS S3 server."""

from __future__ import annotations

import hashlib
import time

import pytest

from storage import (
    IntegrityError,
    NewObject,
    ObjectNotFound,
    ObjectStore,
    StorageError,
    check_record,
    content_key,
    get_content,
    list_records,
    open_store,
    put_content,
    read_record,
    write_record,
)


def test_round_trip_overwrite_list_and_delete(any_store: ObjectStore) -> None:
    any_store.put("a/b/1.txt", "Quyết định".encode())
    any_store.put("a/b/1.txt", b"v2")
    any_store.put("a/c.txt", b"x")
    any_store.put("z.txt", b"y")
    assert any_store.get("a/b/1.txt") == b"v2"
    assert sorted(any_store.list_keys("a/")) == ["a/b/1.txt", "a/c.txt"]
    any_store.delete("a/c.txt")
    assert not any_store.exists("a/c.txt")
    with pytest.raises(ObjectNotFound):
        any_store.get("a/c.txt")
    with pytest.raises(ObjectNotFound):
        any_store.delete("a/c.txt")


@pytest.mark.parametrize(
    "key", ["../escape", "/etc/passwd", "a/../../b", "a\\b", "", "a//b", "có dấu"]
)
def test_keys_that_could_escape_are_refused(any_store: ObjectStore, key: str) -> None:
    with pytest.raises(StorageError, match="khóa"):
        any_store.put(key, b"x")


def test_content_is_addressed_by_its_hash_and_checked_on_read(any_store: ObjectStore) -> None:
    data = b"%PDF-1.7 van ban"
    sha = put_content(any_store, data, "application/pdf")
    assert sha == hashlib.sha256(data).hexdigest()
    assert put_content(any_store, data, "application/pdf") == sha
    assert list(any_store.list_keys("objects/")) == [content_key(sha)]
    any_store.put(content_key(sha), b"%PDF-1.7 van bam")  # one byte changed behind our back
    with pytest.raises(IntegrityError):
        get_content(any_store, sha)


def test_a_record_is_written_once_and_never_rewritten(any_store: ObjectStore) -> None:
    objects = [
        NewObject("pdf", "01-QĐ-SNV.pdf", b"%PDF signed", "application/pdf"),
        NewObject("source", "du-thao.docx", b"PK docx", "application/octet-stream"),
    ]
    first = write_record(any_store, "SNV-2026-QD-0001", objects, {"trích_yếu": "Bổ nhiệm"})
    again = write_record(any_store, "SNV-2026-QD-0001", objects, {"trích_yếu": "Bổ nhiệm"})
    assert again == first
    assert read_record(any_store, "SNV-2026-QD-0001").metadata["trích_yếu"] == "Bổ nhiệm"
    assert "Bổ nhiệm".encode() in any_store.get("records/SNV-2026-QD-0001.json")
    with pytest.raises(StorageError, match="ghi đè"):
        write_record(any_store, "SNV-2026-QD-0001", objects[:1], {})
    assert list(list_records(any_store)) == ["SNV-2026-QD-0001"]


def test_check_record_names_a_changed_and_a_missing_object(any_store: ObjectStore) -> None:
    objects = [
        NewObject("pdf", "a.pdf", b"%PDF a", "application/pdf"),
        NewObject("source", "a.docx", b"PK a", "application/octet-stream"),
    ]
    manifest = write_record(any_store, "R1", objects, {})
    assert check_record(any_store, "R1") == ()
    pdf, source = manifest.objects
    any_store.put(content_key(pdf.sha256), b"%PDF b")
    any_store.delete(content_key(source.sha256))
    problems = check_record(any_store, "R1")
    assert any("a.pdf" in p and "thay đổi" in p for p in problems)
    assert any("a.docx" in p and "thiếu" in p for p in problems)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host/x", "không được hỗ trợ"),
        ("s3://127.0.0.1:9000/bucket", "thiếu khóa"),
        ("s3://k:s@127.0.0.1:9000", "s3://KHÓA"),
    ],
)
def test_bad_urls_are_named(url: str, message: str) -> None:
    with pytest.raises(StorageError, match=message):
        open_store(url)


def test_an_unreachable_s3_server_fails_fast_and_retryable() -> None:
    started = time.monotonic()
    with pytest.raises(StorageError) as caught:
        open_store("s3://key:very-secret@127.0.0.1:9/bucket?secure=false")
    assert caught.value.retryable
    assert "very-secret" not in str(caught.value)
    assert time.monotonic() - started < 15
