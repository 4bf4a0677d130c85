"""Any S3 API (MinIO, SeaweedFS, Ceph, AWS) through the minio client."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import urllib3
from minio import Minio
from minio.error import InvalidResponseError, MinioException, S3Error, ServerError

from storage._errors import ObjectNotFound, StorageError
from storage._keys import check_key

_MISSING = frozenset({"NoSuchKey", "NoSuchObject", "NotFound"})
_CREDENTIALS = frozenset(
    {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken"}
)
_TRANSIENT = frozenset({"InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout"})
_ERRORS = (MinioException, urllib3.exceptions.HTTPError)


@dataclass(frozen=True)
class S3Target:
    """Where and how to reach one bucket; the secret never appears in ``url``."""

    endpoint: str
    """host:port"""
    access_key: str
    secret_key: str
    bucket: str
    secure: bool
    """HTTPS when True."""
    region: str | None
    timeout: float
    """Seconds to wait for the server to connect or to send the next bytes."""

    @property
    def url(self) -> str:
        return f"s3://{self.endpoint}/{self.bucket}"


class S3Store:
    """One bucket, created when missing. Short timeouts so a dead server fails in seconds."""

    def __init__(self, target: S3Target) -> None:
        self.bucket = target.bucket
        self.url = target.url
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=min(target.timeout, 3.0), read=target.timeout),
            retries=urllib3.Retry(
                total=2, read=1, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504)
            ),
        )
        try:
            self.client = Minio(
                target.endpoint,
                access_key=target.access_key,
                secret_key=target.secret_key,
                secure=target.secure,
                region=target.region,
                http_client=http,
            )
        except ValueError as exc:
            raise StorageError(f"{self.url}: {exc}") from exc
        try:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)
        except _ERRORS as exc:
            raise _translate(exc, None, self.url) from exc

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        try:
            self.client.put_object(
                self.bucket, check_key(key), io.BytesIO(data), len(data), content_type=content_type
            )
        except _ERRORS as exc:
            raise _translate(exc, key, self.url) from exc

    def get(self, key: str) -> bytes:
        response = None
        try:
            response = self.client.get_object(self.bucket, check_key(key))
            return bytes(response.read())
        except _ERRORS as exc:
            raise _translate(exc, key, self.url) from exc
        finally:
            if response is not None:
                response.close()
                response.release_conn()

    def exists(self, key: str) -> bool:
        try:
            self.client.stat_object(self.bucket, check_key(key))
            return True
        except S3Error as exc:
            if exc.code in _MISSING:
                return False
            raise _translate(exc, key, self.url) from exc
        except _ERRORS as exc:
            raise _translate(exc, key, self.url) from exc

    def delete(self, key: str) -> None:
        # S3 deletes a missing key silently; the folder store does not, so ask first.
        if not self.exists(key):
            raise ObjectNotFound("không tìm thấy trong kho", key=key)
        try:
            self.client.remove_object(self.bucket, key)
        except _ERRORS as exc:
            raise _translate(exc, key, self.url) from exc

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        # Sorted here: SeaweedFS lists folder by folder ('a/b' before 'a.txt'), not in the
        # byte order S3 promises, and callers rely on one order on every backend.
        try:
            entries = self.client.list_objects(self.bucket, prefix=prefix, recursive=True)
            keys = [entry.object_name for entry in entries if entry.object_name is not None]
        except _ERRORS as exc:
            raise _translate(exc, None, self.url) from exc
        yield from sorted(keys, key=str.encode)


def _translate(exc: Exception, key: str | None, url: str) -> StorageError:
    """One StorageError per client error: its code only, never the request (it has the key)."""
    if isinstance(exc, S3Error):
        return _s3_error(exc, key, url)
    if isinstance(exc, ServerError):
        transient = exc.status_code >= 500
        return StorageError(
            f"{url}: máy chủ S3 lỗi HTTP {exc.status_code}", key=key, retryable=transient
        )
    if isinstance(exc, InvalidResponseError):
        return StorageError(
            f"{url}: máy chủ không trả lời theo giao thức S3 (có đúng địa chỉ, cổng và"
            " secure=true/false không?)",
            key=key,
        )
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    if isinstance(exc, urllib3.exceptions.SSLError):
        return StorageError(
            f"{url}: lỗi TLS khi nối máy chủ S3 (máy chủ chỉ dùng HTTP? thêm ?secure=false)",
            key=key,
        )
    return StorageError(f"{url}: {_network_problem(exc)}", key=key, retryable=True)


def _network_problem(exc: Exception) -> str:
    name = type(exc).__name__
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
        return "máy chủ S3 không trả lời kịp (quá thời gian chờ)"
    if isinstance(exc, urllib3.exceptions.NewConnectionError | urllib3.exceptions.TimeoutError):
        return f"không kết nối được máy chủ S3 ({name})"
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        return "máy chủ S3 ngắt kết nối giữa chừng"
    return f"máy chủ S3 không trả lời ({name})"


def _s3_error(exc: S3Error, key: str | None, url: str) -> StorageError:
    code = exc.code or "?"
    if code in _MISSING:
        return ObjectNotFound("không tìm thấy trong kho", key=key)
    if code in _CREDENTIALS:
        return StorageError(
            f"{url}: máy chủ S3 từ chối khóa truy cập hoặc khóa bí mật ({code})", key=key
        )
    transient = code in _TRANSIENT or exc.response.status >= 500
    return StorageError(f"{url}: máy chủ S3 từ chối ({code})", key=key, retryable=transient)
