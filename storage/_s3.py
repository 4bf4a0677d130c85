"""Any S3 API (MinIO, SeaweedFS, Ceph, AWS) through the minio client."""

from __future__ import annotations

import io
from collections.abc import Iterator

import urllib3
from minio import Minio
from minio.error import S3Error

from storage._errors import ObjectNotFound, StorageError
from storage._keys import check_key

_MISSING = {"NoSuchKey", "NoSuchObject"}


class S3Store:
    """One bucket; created when missing. Short timeouts so a dead server fails in seconds."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        *,
        secure: bool,
        region: str | None,
    ) -> None:
        self.bucket = bucket
        self.url = f"s3://{endpoint}/{bucket}"
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=3, read=30),
            retries=urllib3.Retry(
                total=2, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504)
            ),
        )
        try:
            self.client = Minio(
                endpoint,
                access_key=access_key,
                secret_key=secret_key,
                secure=secure,
                region=region,
                http_client=http,
            )
            if not self.client.bucket_exists(bucket):
                self.client.make_bucket(bucket)
        except ValueError as exc:
            raise StorageError(f"{self.url}: {exc}") from exc
        except (S3Error, urllib3.exceptions.HTTPError) as exc:
            raise _translate(exc, None, self.url) from exc

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        try:
            self.client.put_object(
                self.bucket, check_key(key), io.BytesIO(data), len(data), content_type=content_type
            )
        except (S3Error, urllib3.exceptions.HTTPError) as exc:
            raise _translate(exc, key, self.url) from exc

    def get(self, key: str) -> bytes:
        response = None
        try:
            response = self.client.get_object(self.bucket, check_key(key))
            return bytes(response.read())
        except (S3Error, urllib3.exceptions.HTTPError) as exc:
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
            if exc.code in _MISSING or exc.code == "NotFound":
                return False
            raise _translate(exc, key, self.url) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise _translate(exc, key, self.url) from exc

    def delete(self, key: str) -> None:
        if not self.exists(key):
            raise ObjectNotFound("không có đối tượng", key=key)
        try:
            self.client.remove_object(self.bucket, key)
        except (S3Error, urllib3.exceptions.HTTPError) as exc:
            raise _translate(exc, key, self.url) from exc

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        try:
            for entry in self.client.list_objects(self.bucket, prefix=prefix, recursive=True):
                if entry.object_name is not None:
                    yield entry.object_name
        except (S3Error, urllib3.exceptions.HTTPError) as exc:
            raise _translate(exc, None, self.url) from exc


def _translate(exc: Exception, key: str | None, url: str) -> StorageError:
    if isinstance(exc, S3Error):
        if exc.code in _MISSING:
            return ObjectNotFound("không có đối tượng", key=key)
        return StorageError(f"{url}: máy chủ S3 từ chối ({exc.code})", key=key)
    return StorageError(
        f"{url}: máy chủ S3 không trả lời ({type(exc).__name__})", key=key, retryable=True
    )
