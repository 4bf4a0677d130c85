"""Opening a store from its URL: a folder path, file:///path or s3://KEY:SECRET@host:port/bucket."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from storage._errors import StorageError
from storage._folder import FolderStore
from storage._retention import PERMANENT
from storage._store import ObjectStore
from vanthu import clock
from vanthu.errors import Kind

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_S3_OPTIONS = ("secure", "region", "timeout", "max_retention_years")
_YES, _NO = ("true", "1", "yes"), ("false", "0", "no")
_CONFIG = Kind.CONFIG
DEFAULT_TIMEOUT = 15.0
"""Seconds an S3 server may stay silent; the connection itself gets at most 3."""


def open_store(url: str) -> ObjectStore:
    """Open the store a URL names; a bad URL raises StorageError saying what is wrong."""
    if "://" not in url:
        if not url.strip():
            raise StorageError(
                "chưa cấu hình kho lưu trữ (URL rỗng)",
                "no store is configured (the URL is empty)",
                code="storage.url.missing",
                kind=_CONFIG,
            )
        return FolderStore(Path(url).expanduser().resolve())
    parts = urlsplit(url)
    if parts.scheme == "file":
        path = unquote(parts.netloc + parts.path)
        if not path:
            raise StorageError(
                f"URL kho lưu trữ thiếu đường dẫn thư mục: {url!r}",
                f"the store URL has no folder path: {url!r}",
                code="storage.url.invalid",
                kind=_CONFIG,
            )
        return FolderStore(Path(path).expanduser().resolve())
    if parts.scheme == "s3":
        # lazy: minio costs ~0.2 s at start-up, needed only for an S3 store
        from storage._s3 import S3Store, S3Target

        return S3Store(S3Target(**_s3_target(parts.netloc, parts.path, parts.query)))
    raise StorageError(
        f"kho lưu trữ '{parts.scheme}://' không được hỗ trợ (dùng file:// hoặc s3://)",
        f"stores of type '{parts.scheme}://' are not supported (use file:// or s3://)",
        code="storage.url.scheme",
        kind=_CONFIG,
    )


def _s3_target(netloc: str, path: str, query: str) -> dict[str, Any]:
    """The S3Target's fields from the URL's parts, each checked."""
    credentials, _, endpoint = netloc.rpartition("@")
    access_key, _, secret_key = credentials.partition(":")
    bucket = path.strip("/")
    shown = f"s3://{endpoint}/{bucket}"
    if not endpoint or not bucket:
        raise StorageError(
            f"{shown}: URL S3 cần dạng s3://KHÓA:BÍ_MẬT@máy:cổng/bucket",
            f"{shown}: an S3 URL has the form s3://KEY:SECRET@host:port/bucket",
            code="storage.url.invalid",
            kind=_CONFIG,
            url=shown,
        )
    if not access_key or not secret_key:
        raise StorageError(
            f"{shown}: URL S3 thiếu khóa truy cập hoặc khóa bí mật",
            f"{shown}: the S3 URL lacks the access key or the secret key",
            code="storage.url.credentials",
            kind=_CONFIG,
            url=shown,
        )
    _check_endpoint(endpoint, shown)
    _check_bucket(bucket, shown)
    options = _options(query, shown)
    return dict(
        endpoint=endpoint,
        access_key=unquote(access_key),
        secret_key=unquote(secret_key),
        bucket=bucket,
        secure=_flag(options.get("secure", "true"), shown),
        region=options.get("region") or None,
        timeout=_timeout(options.get("timeout"), shown),
        max_retain_until=_max_retention(options.get("max_retention_years"), shown),
    )


def _check_endpoint(endpoint: str, shown: str) -> None:
    host, colon, port = endpoint.rpartition(":")
    if not colon or endpoint.endswith("]"):  # no port, or a bare IPv6 address
        host, port = endpoint, "1"
    if not host or not (port.isdigit() and 0 < int(port) < 65536):
        raise StorageError(
            f"{shown}: địa chỉ máy chủ S3 phải là máy:cổng, cổng từ 1 đến 65535",
            f"{shown}: the S3 server's address must be host:port, the port from 1 to 65535",
            code="storage.url.invalid",
            kind=_CONFIG,
            url=shown,
        )


def _check_bucket(bucket: str, shown: str) -> None:
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise StorageError(
            f"{shown}: tên bucket {bucket!r} không hợp lệ (3–63 ký tự: chữ thường, số, '.', '-';"
            " không có '/')",
            f"{shown}: invalid bucket name {bucket!r} (3–63 characters: lower-case letters,"
            " digits, '.', '-'; no '/')",
            code="storage.bucket.invalid",
            kind=_CONFIG,
            url=shown,
        )


def _options(query: str, shown: str) -> dict[str, str]:
    options = dict(parse_qsl(query, keep_blank_values=True))
    unknown = sorted(set(options) - set(_S3_OPTIONS))
    if unknown:
        raise StorageError(
            f"{shown}: tham số không biết {', '.join(unknown)} (chỉ có {', '.join(_S3_OPTIONS)})",
            f"{shown}: unknown option {', '.join(unknown)} (only {', '.join(_S3_OPTIONS)})",
            code="storage.url.option_unknown",
            kind=_CONFIG,
            url=shown,
            options=unknown,
        )
    return options


def _flag(value: str, shown: str) -> bool:
    if value.lower() in _YES + _NO:
        return value.lower() in _YES
    raise StorageError(
        f"{shown}: secure={value!r} không hợp lệ (true hoặc false)",
        f"{shown}: invalid secure={value!r} (true or false)",
        code="storage.url.option_invalid",
        kind=_CONFIG,
        url=shown,
        option="secure",
    )


def _timeout(value: str | None, shown: str) -> float:
    if value is None:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 300:
        raise StorageError(
            f"{shown}: timeout={value!r} không hợp lệ (số giây, từ 0 đến 300)",
            f"{shown}: invalid timeout={value!r} (seconds, from 0 to 300)",
            code="storage.url.option_invalid",
            kind=_CONFIG,
            url=shown,
            option="timeout",
        )
    return seconds


def _max_retention(value: str | None, shown: str) -> datetime:
    """The latest retention date a server accepts: ``max_retention_years`` from today, for
    servers that cap object lock; without it, 31/12/9999 (SeaweedFS accepts it)."""
    if value is None:
        return PERMANENT
    if not value.isdigit() or not 1 <= int(value) <= 7000:
        raise StorageError(
            f"{shown}: max_retention_years={value!r} không hợp lệ (số năm, từ 1 đến 7000)",
            f"{shown}: invalid max_retention_years={value!r} (years, from 1 to 7000)",
            code="storage.url.option_invalid",
            kind=_CONFIG,
            url=shown,
            option="max_retention_years",
        )
    today = clock.now().replace(microsecond=0)
    try:
        return today.replace(year=today.year + int(value))
    except ValueError:  # 29 February
        return today.replace(year=today.year + int(value), day=28)
