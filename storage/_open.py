"""Opening a store from its URL: file:///path or s3://KEY:SECRET@host:port/bucket?secure=false."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from storage._errors import StorageError
from storage._folder import FolderStore
from storage._s3 import S3Store


class ObjectStore(Protocol):
    """What every backend offers. Keys are relative paths such as 'objects/sha256/ab/…'."""

    url: str
    """The store's address without secrets, for messages."""

    def put(
        self, key: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> None: ...
    def get(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def list_keys(self, prefix: str = "") -> Iterator[str]: ...


def open_store(url: str) -> ObjectStore:
    if "://" not in url:
        return FolderStore(Path(url).expanduser().resolve())
    parts = urlsplit(url)
    if parts.scheme == "file":
        path = unquote(parts.netloc + parts.path)
        if not path:
            raise StorageError(f"URL kho lưu trữ thiếu đường dẫn: {url!r}")
        return FolderStore(Path(path).expanduser().resolve())
    if parts.scheme == "s3":
        return _s3(parts.netloc, parts.path, parse_qs(parts.query))
    raise StorageError(
        f"kho lưu trữ '{parts.scheme}://' không được hỗ trợ (dùng file:// hoặc s3://)"
    )


def _s3(netloc: str, path: str, query: dict[str, list[str]]) -> S3Store:
    credentials, _, endpoint = netloc.rpartition("@")
    access_key, _, secret_key = credentials.partition(":")
    bucket = path.strip("/")
    shown = f"s3://{endpoint}/{bucket}"
    if not endpoint or not bucket or "/" in bucket:
        raise StorageError(f"{shown}: URL S3 cần dạng s3://KHÓA:BÍ_MẬT@máy:cổng/bucket")
    if not access_key or not secret_key:
        raise StorageError(f"{shown}: URL S3 thiếu khóa truy cập hoặc khóa bí mật")
    secure = query.get("secure", ["true"])[0].lower() not in ("false", "0", "no")
    region = query.get("region", [None])[0]
    return S3Store(
        endpoint, unquote(access_key), unquote(secret_key), bucket, secure=secure, region=region
    )
