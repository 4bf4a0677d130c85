"""Any S3 API (MinIO, SeaweedFS, Ceph, AWS) through the minio client.

Buckets are created with object lock (which turns versioning on). Retention is COMPLIANCE mode:
the server itself refuses to delete a locked version or shorten its date. Because a versioned
bucket accepts a new version over a locked one and answers a plain DELETE with a delete marker
(the locked version stays), this store also refuses, on its own side, to overwrite or delete a
key whose current version is locked, and its ``delete`` removes every version of the key so a
deletion after expiry really deletes.

Writes return the version they made; records name it and reads ask for it, so a delete marker
sent past the store (the object still there, a plain read failing) or a newer version put over
a key does not change what an archived record reads. ``hidden_keys`` finds such markers and
``unhide`` removes them (a marker holds no content and no lock).

The lock binds the S3 API only. On SeaweedFS (checked with 4.48) the filer's own HTTP API
deletes a locked object without a question, so a deployment exposes only the S3 port and keeps
the filer, master and volume ports closed (as the folder store relies on file permissions).
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE
from minio.error import InvalidResponseError, MinioException, S3Error, ServerError
from minio.retention import Retention
from minio.time import to_iso8601utc

from storage._errors import (
    ObjectExists,
    RetentionError,
    StorageError,
    already_exists,
    not_found,
)
from storage._keys import check_key
from storage._retention import PERMANENT, normalise, refuse_if_locked, refuse_if_shorter, shown
from storage._store import ObjectVersion, ObjectWrite
from vanthu.errors import Kind

_MISSING = frozenset({"NoSuchKey", "NoSuchObject", "NotFound", "NoSuchVersion"})
_CREDENTIALS = frozenset(
    {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken"}
)
_TRANSIENT = frozenset({"InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout"})
_ERRORS = (MinioException, urllib3.exceptions.HTTPError)
_NO_BUCKET = "NoSuchBucket"
_NO_LOCK = frozenset(
    {"InvalidRequest", "ObjectLockConfigurationNotFoundError", "InvalidBucketState"}
)
_SENDERS = 32
"""Concurrent PUTs of one ``create_many`` (the connection pool keeps as many open)."""


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
    max_retain_until: datetime = PERMANENT
    """The latest retention date the server accepts; 'permanent' is this, extended later."""

    @property
    def url(self) -> str:
        return f"s3://{self.endpoint}/{self.bucket}"


class S3Store:
    """One bucket, created when missing. Short timeouts so a dead server fails in seconds."""

    def __init__(self, target: S3Target) -> None:
        self.bucket = target.bucket
        self.url = target.url
        self.max_retain_until = target.max_retain_until
        http = urllib3.PoolManager(
            maxsize=_SENDERS,
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
            raise StorageError(
                f"{self.url}: {exc}",
                f"{self.url}: {exc}",
                code="storage.url.invalid",
                kind=Kind.CONFIG,
                url=self.url,
            ) from exc
        try:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket, object_lock=True)
        except S3Error as exc:
            # Two processes opening a new bucket at once both try to create it; ours lost.
            if exc.code != "BucketAlreadyOwnedByYou":
                raise _translate(exc, None, self.url) from exc
        except _ERRORS as exc:
            raise _translate(exc, None, self.url) from exc

    def put(
        self,
        key: str,
        data: bytes,
        content_type: str = "application/octet-stream",
        *,
        retain_until: datetime | None = None,
    ) -> str | None:
        until = normalise(retain_until) if retain_until is not None else None
        refuse_if_locked(key, self._current_retention(check_key(key)), "overwrite")
        retention = Retention(COMPLIANCE, until) if until is not None else None
        try:
            written = self.client.put_object(
                self.bucket,
                key,
                io.BytesIO(data),
                len(data),
                content_type=content_type,
                retention=retention,
            )
        except _ERRORS as exc:
            raise self._retention_problem(exc, key) from exc
        return written.version_id

    def create(
        self,
        key: str,
        data: bytes,
        content_type: str = "application/octet-stream",
        *,
        retain_until: datetime | None = None,
    ) -> str | None:
        """A conditional PUT (If-None-Match: *): the server refuses it when the key exists."""
        headers: dict[str, str | list[str] | tuple[str]] = {
            "Content-Type": content_type,
            "Content-MD5": base64.b64encode(hashlib.md5(data).digest()).decode(),
            "If-None-Match": "*",
        }
        if retain_until is not None:
            headers["x-amz-object-lock-mode"] = COMPLIANCE
            headers["x-amz-object-lock-retain-until-date"] = str(
                to_iso8601utc(normalise(retain_until))
            )
        try:
            # minio 7.2 has no public way to send If-None-Match on a PUT; _execute is the
            # client's own request method (signing, retries, error parsing included).
            response = self.client._execute(
                "PUT", self.bucket, check_key(key), body=data, headers=headers
            )
        except S3Error as exc:
            if exc.code == "PreconditionFailed" or exc.response.status == 412:
                raise already_exists(key) from exc
            raise self._retention_problem(exc, key) from exc
        except _ERRORS as exc:
            raise _translate(exc, key, self.url) from exc
        version: str | None = response.headers.get("x-amz-version-id")
        return version

    def create_many(self, writes: Sequence[ObjectWrite]) -> list[str | ObjectExists | None]:
        """The conditional PUTs sent concurrently; the server makes each durable before it
        answers. A key given twice in the batch is sent once."""
        first: dict[str, int] = {}
        for index, write in enumerate(writes):
            first.setdefault(write.key, index)
        results: list[str | ObjectExists | None] = [already_exists(write.key) for write in writes]
        with ThreadPoolExecutor(min(_SENDERS, len(first)) or 1) as senders:
            sent = {
                index: senders.submit(self._create_one, writes[index]) for index in first.values()
            }
            for index, future in sent.items():
                results[index] = future.result()
        return results

    def _create_one(self, write: ObjectWrite) -> str | ObjectExists | None:
        try:
            return self.create(
                write.key, write.data, write.content_type, retain_until=write.retain_until
            )
        except ObjectExists as exc:
            return exc

    def get(self, key: str, *, version_id: str | None = None) -> bytes:
        response = None
        try:
            response = self.client.get_object(self.bucket, check_key(key), version_id=version_id)
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
        """Remove every version of the key; refused while any of them is under retention."""
        versions = self._versions(check_key(key))
        if not any(not marker for _, marker in versions):
            raise not_found(key)
        for version, marker in versions:
            if not marker:
                refuse_if_locked(key, self._retention_of(key, version), "delete")
        for version, _ in versions:
            try:
                self.client.remove_object(self.bucket, key, version_id=version)
            except _ERRORS as exc:
                raise self._retention_problem(exc, key) from exc

    def retention(self, key: str) -> datetime | None:
        if not self.exists(key):
            raise not_found(key)
        return self._current_retention(key)

    def extend_retention(self, key: str, until: datetime) -> None:
        until = normalise(until)
        if not self.exists(key):
            raise not_found(key)
        refuse_if_shorter(key, self._current_retention(key), until)
        try:
            self.client.set_object_retention(self.bucket, key, Retention(COMPLIANCE, until))
        except _ERRORS as exc:
            raise self._retention_problem(exc, key) from exc

    def _current_retention(self, key: str) -> datetime | None:
        return self._retention_of(key, None)

    def _retention_of(self, key: str, version: str | None) -> datetime | None:
        try:
            found = self.client.get_object_retention(self.bucket, key, version_id=version)
        except S3Error as exc:
            if exc.code in _MISSING or exc.code in _NO_LOCK:
                return None
            raise _translate(exc, key, self.url) from exc
        except _ERRORS as exc:
            raise _translate(exc, key, self.url) from exc
        if found is None or found.retain_until_date is None:
            return None
        return normalise(found.retain_until_date)

    def _versions(self, key: str) -> list[tuple[str | None, bool]]:
        """(version id, is a delete marker) for every version of exactly this key."""
        return [(v.version_id, v.delete_marker) for v in self.versions(key)]

    def versions(self, key: str) -> tuple[ObjectVersion, ...]:
        found = self._listed_versions(check_key(key), key)
        return found.get(key, ())

    def hidden_keys(self, prefix: str = "") -> Iterator[str]:
        listed = self._listed_versions(prefix, None)
        yield from sorted((key for key, found in listed.items() if _hidden(found)), key=str.encode)

    def unhide(self, key: str) -> tuple[str, ...]:
        """Remove the delete markers: they carry no content and no lock, so the server lets
        them go, and the newest real version (still locked) is the current one again."""
        markers = tuple(v.version_id for v in self.versions(key) if v.delete_marker)
        for version in markers:
            try:
                self.client.remove_object(self.bucket, key, version_id=version)
            except _ERRORS as exc:
                raise _translate(exc, key, self.url) from exc
        return markers

    def _listed_versions(
        self, prefix: str, key: str | None
    ) -> dict[str, tuple[ObjectVersion, ...]]:
        """Every version under ``prefix`` by key, each key's oldest first."""
        found: dict[str, list[ObjectVersion]] = {}
        try:
            entries = self.client.list_objects(
                self.bucket, prefix=prefix, recursive=True, include_version=True
            )
            for entry in entries:
                if entry.object_name is None or entry.version_id is None:
                    continue
                found.setdefault(entry.object_name, []).append(
                    ObjectVersion(
                        version_id=entry.version_id,
                        delete_marker=bool(entry.is_delete_marker),
                        latest=str(entry.is_latest).lower() == "true",
                        modified=entry.last_modified,
                    )
                )
        except _ERRORS as exc:
            raise _translate(exc, key, self.url) from exc
        return {name: tuple(sorted(v, key=_age)) for name, v in found.items()}

    def _retention_problem(self, exc: Exception, key: str) -> StorageError:
        """A refusal to change a locked version, or a bucket without object lock, said plainly."""
        if isinstance(exc, S3Error) and exc.code == "AccessDenied":
            until = self._current_retention(key)
            if until is not None:
                return RetentionError(
                    f"{self.url}: máy chủ S3 từ chối vì đối tượng còn trong thời hạn lưu trữ"
                    f" {shown(until)}",
                    f"{self.url}: the S3 server refuses because the object is under retention"
                    f" until {shown(until)}",
                    key=key,
                    until=until,
                    url=self.url,
                )
        if isinstance(exc, S3Error) and exc.code in _NO_LOCK:
            return StorageError(
                f"{self.url}: bucket không bật khóa đối tượng (object lock) nên không đặt được"
                f" thời hạn lưu trữ ({exc.code}); tạo bucket mới qua Vanthu hoặc bật object lock",
                f"{self.url}: the bucket has no object lock, so no retention date can be set"
                f" ({exc.code}); create a new bucket through Vanthu or turn object lock on",
                code="storage.object_lock.unsupported",
                kind=Kind.CONFIG,
                key=key,
                url=self.url,
                s3_code=exc.code,
            )
        return _translate(exc, key, self.url)

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        # Sorted here: SeaweedFS lists folder by folder ('a/b' before 'a.txt'), not in the
        # byte order S3 promises, and callers rely on one order on every backend.
        try:
            entries = self.client.list_objects(self.bucket, prefix=prefix, recursive=True)
            keys = [entry.object_name for entry in entries if entry.object_name is not None]
        except _ERRORS as exc:
            raise _translate(exc, None, self.url) from exc
        yield from sorted(keys, key=str.encode)


def _age(version: ObjectVersion) -> tuple[bool, datetime]:
    """Oldest first; the current version last whatever the clocks say."""
    return (version.latest, version.modified or datetime.min.replace(tzinfo=UTC))


def _hidden(versions: tuple[ObjectVersion, ...]) -> bool:
    """A delete marker is the current version and a real version stands under it."""
    current = [v for v in versions if v.latest]
    return bool(current) and current[0].delete_marker and any(not v.delete_marker for v in versions)


def _translate(exc: Exception, key: str | None, url: str) -> StorageError:
    """One StorageError per client error: its code only, never the request (it has the key)."""
    if isinstance(exc, S3Error):
        return _s3_error(exc, key, url)
    if isinstance(exc, ServerError):
        status = exc.status_code
        if status >= 500:
            return StorageError(
                f"{url}: máy chủ S3 lỗi HTTP {status}",
                f"{url}: the S3 server failed with HTTP {status}",
                code="storage.s3.unavailable",
                retryable=True,
                key=key,
                url=url,
                status=status,
            )
        return StorageError(
            f"{url}: máy chủ S3 lỗi HTTP {status}",
            f"{url}: the S3 server failed with HTTP {status}",
            code="storage.s3.http_error",
            key=key,
            url=url,
            status=status,
        )
    if isinstance(exc, InvalidResponseError):
        return StorageError(
            f"{url}: máy chủ không trả lời theo giao thức S3 (có đúng địa chỉ, cổng và"
            " secure=true/false không?)",
            f"{url}: the server does not answer in the S3 protocol (are the address, the port"
            " and secure=true/false right?)",
            code="storage.s3.protocol",
            kind=Kind.CONFIG,
            key=key,
            url=url,
        )
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    if isinstance(exc, urllib3.exceptions.SSLError):
        return StorageError(
            f"{url}: lỗi TLS khi nối máy chủ S3 (máy chủ chỉ dùng HTTP? thêm ?secure=false)",
            f"{url}: TLS error connecting to the S3 server (does it speak only HTTP? add"
            " ?secure=false)",
            code="storage.s3.tls",
            kind=Kind.CONFIG,
            key=key,
            url=url,
        )
    code, vi, en = _network_problem(exc)
    return StorageError(f"{url}: {vi}", f"{url}: {en}", code=code, retryable=True, key=key, url=url)


def _network_problem(exc: Exception) -> tuple[str, str, str]:
    """(code, Vietnamese, English) for a server that did not answer as it should."""
    name = type(exc).__name__
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
        return (
            "storage.timeout",
            "máy chủ S3 không trả lời kịp (quá thời gian chờ)",
            "the S3 server did not answer in time (timed out)",
        )
    if isinstance(exc, urllib3.exceptions.NewConnectionError | urllib3.exceptions.TimeoutError):
        return (
            "storage.connection.failed",
            f"không kết nối được máy chủ S3 ({name})",
            f"could not connect to the S3 server ({name})",
        )
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        return (
            "storage.connection.lost",
            "máy chủ S3 ngắt kết nối giữa chừng",
            "the S3 server dropped the connection midway",
        )
    return (
        "storage.unavailable",
        f"máy chủ S3 không trả lời ({name})",
        f"the S3 server does not answer ({name})",
    )


def _s3_error(exc: S3Error, key: str | None, url: str) -> StorageError:
    code = exc.code or "?"
    if code in _MISSING:
        return not_found(key)
    if code in _CREDENTIALS:
        return StorageError(
            f"{url}: máy chủ S3 từ chối khóa truy cập hoặc khóa bí mật ({code})",
            f"{url}: the S3 server refuses the access key or the secret key ({code})",
            code="storage.s3.credentials",
            kind=Kind.CONFIG,
            key=key,
            url=url,
            s3_code=code,
        )
    vi, en = f"{url}: máy chủ S3 từ chối ({code})", f"{url}: the S3 server refuses ({code})"
    if code == _NO_BUCKET:
        return StorageError(
            vi, en, code="storage.bucket.missing", kind=Kind.CONFIG, key=key, url=url, s3_code=code
        )
    if code in _TRANSIENT or exc.response.status >= 500:
        return StorageError(
            vi, en, code="storage.s3.unavailable", retryable=True, key=key, url=url, s3_code=code
        )
    return StorageError(vi, en, code="storage.s3.refused", key=key, url=url, s3_code=code)
