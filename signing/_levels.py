"""PAdES levels: B-B, B-T (RFC 3161 signature timestamp), B-LT (revocation data in the DSS),
B-LTA (document timestamp), and keeping archived PDFs verifiable by renewing that timestamp.

The level of a new signature comes from the active :class:`signing.SigningPolicy`; what goes to
the archive passes through :func:`make_archival`, and :func:`renew_archival_timestamp` adds a new
document timestamp before the last one's certificate expires.
"""

from __future__ import annotations

import io
import ssl
import threading
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import aiohttp
import certifi
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import timestamps
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers import PdfTimeStamper
from pyhanko.sign.validation.dss import (
    DocumentSecurityStore,
    collect_validation_info,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

from signing._aio import run_sync
from signing._cache import CachingFetcherBackend
from signing._certs import asn1_roots, to_asn1
from signing._errors import SigningError
from signing._fields import read_pdf
from signing._layout import FIELD_ATTACHMENT, FIELD_COPY, FIELD_SEAL, FIELD_SIGNER
from signing._policy import (
    FETCH_TIMEOUT,
    Level,
    SigningPolicy,
    active_policy,
    check_signing_policy,
    passed_in_this_block,
    remember_passed,
    self_signed_roots,
)
from signing._signer import SigningKey
from vanthu import clock
from vanthu.errors import Kind

DIGEST = "sha256"
BYTES_RESERVED_TIMESTAMPED = 32768
"""Room for the CMS when it carries a timestamp token (the TSA's chain comes with it)."""
TSA_CHAIN_KEPT = 600.0
"""Seconds a timestamper (with the TSA's certificates from its first answer) serves again."""
_PERSONAL_FIELDS = {FIELD_SIGNER}
_AGENCY_FIELDS = {FIELD_SEAL, FIELD_ATTACHMENT, FIELD_COPY}


def policy_for(key: SigningKey) -> SigningPolicy:
    """The active policy, or — outside any — B-B trusting the roots that came with the key."""
    active = active_policy()
    if active is not None:
        return active
    return SigningPolicy(trust_roots=self_signed_roots(key.chain))


def enforce_policy(key: SigningKey, field_name: str | None) -> SigningPolicy:
    """Check :func:`signing.check_signing_policy` for a signature into ``field_name``."""
    policy = policy_for(key)
    kind: Any = None
    if field_name in _PERSONAL_FIELDS:
        kind = "person"
    elif field_name in _AGENCY_FIELDS:
        kind = "organisation"
    if passed_in_this_block(key.certificate, kind):
        return policy
    check_signing_policy(
        key.certificate,
        key.chain,
        kind=kind,
        trust_roots=policy.trust_roots,
        check_revocation=policy.check_revocation,
    )
    remember_passed(key.certificate, kind)
    return policy


def level_options(level: Level, policy: SigningPolicy, key: SigningKey) -> dict[str, Any]:
    """Extra :class:`PdfSignatureMetadata` arguments for a level."""
    if level in ("B-B", "B-T"):
        return {}
    context = _context(_roots(tuple(policy.trust_roots)), _chain(tuple(key.chain)))
    return {
        "embed_validation_info": True,
        "validation_context": context,
        "use_pades_lta": level == "B-LTA",
    }


class _TimeStamper(timestamps.HTTPTimeStamper):
    """The TSA over HTTP; no answer is a SigningError naming the service (worth retrying).

    One per TSA and trust-root set serves a process for :data:`TSA_CHAIN_KEPT` seconds
    (:func:`_stamper_for`): pyHanko learns the TSA's certificates from a first (dummy) answer
    and keeps them in the instance, so a reused one saves that round trip and its chain
    validation on every later signature and document timestamp. Each request opens its own
    HTTP session (sessions belong to one event loop) with a TLS context made once.
    """

    def __init__(self, url: str) -> None:
        super().__init__(url, timeout=FETCH_TIMEOUT)
        self._where = url

    @asynccontextmanager
    async def _acquire_session(self) -> AsyncIterator[aiohttp.ClientSession]:
        # pyHanko's default loads certifi's bundle for every request (~50 ms of CPU)
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=_tls_context()))
        try:
            yield session
        finally:
            await session.close()

    async def async_request_tsa_response(self, req: Any) -> Any:
        try:
            return await super().async_request_tsa_response(req)
        except OSError as exc:  # TimestampRequestError is an OSError
            raise tsa_unavailable(self._where, exc) from exc


def tsa_unavailable(url: str, exc: Exception) -> SigningError:
    """The timestamping service did not answer: worth trying again later."""
    return SigningError(
        f"dịch vụ cấp dấu thời gian {url} không trả lời được: {exc}",
        f"the timestamping service {url} did not answer: {exc}",
        code="signing.tsa.unavailable",
        retryable=True,
        url=url,
    )


async def embed_earlier_validation(
    writer: IncrementalPdfFileWriter, context: ValidationContext
) -> None:
    """The validation data (certificates, OCSP answers, CRLs) of every signature already in
    the PDF, into the DSS of the update being written.

    pyHanko's B-LT embeds what the new signature needs; a document sent out at B-LT must also
    let its recipient validate the earlier ones (the leader's certification under the seal)
    without asking our OCSP responder or CRL service, which may be gone by then. Document
    timestamps are left to :func:`make_archival`.
    """
    for signature in writer.prev.embedded_regular_signatures:
        try:
            paths = await collect_validation_info(signature, context)
        except (PathBuildingError, PathValidationError, PyHankoSigningError, ValueError) as exc:
            raise SigningError(
                f"không thu thập được dữ liệu kiểm tra cho chữ ký {signature.field_name}: {exc}",
                f"the validation data for the signature {signature.field_name} could not be "
                f"collected: {exc}",
                code="signing.archival.validation_data",
                field=signature.field_name,
            ) from exc
        # no /VRI entry: one written now would be rewritten by make_archival later, and a
        # VRI entry that existed when the new signature was made must never change after it
        DocumentSecurityStore.supply_dss_in_writer(
            writer, None, validation_context=context, paths=paths
        )


def timestamper_for(policy: SigningPolicy) -> timestamps.HTTPTimeStamper | None:
    if policy.level == "B-B" or not policy.tsa_url:
        return None
    return _stamper_for(policy.tsa_url, policy.trust_roots)


@lru_cache(maxsize=16)
def _roots(roots: tuple[bytes, ...]) -> tuple[asn1_x509.Certificate, ...]:
    """The trust roots parsed once per process: a parsed certificate is a function of its
    bytes, and one kept keeps what pyHanko computes from it (key identifier, hashes) too, as
    :func:`signing._verify._setup` keeps its own."""
    return tuple(asn1_roots(roots))


@lru_cache(maxsize=16)
def _chain(chain: tuple[x509.Certificate, ...]) -> tuple[asn1_x509.Certificate, ...]:
    """A signing key's chain in pyHanko's form, parsed once per process (as :func:`_roots`)."""
    return tuple(to_asn1(cert) for cert in chain)


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certifi.where())


_stampers: dict[tuple[str, tuple[bytes, ...]], tuple[_TimeStamper, float]] = {}
_stampers_lock = threading.Lock()


def _stamper_for(url: str, roots: Sequence[bytes]) -> _TimeStamper:
    """The process's timestamper for ``url``, kept per trust-root set (another PKI behind the
    same address gets its own) and made again after :data:`TSA_CHAIN_KEPT` seconds, so a TSA
    that changes its certificate is learnt again."""
    key = (url, tuple(roots))
    now = time.monotonic()
    with _stampers_lock:
        kept = _stampers.get(key)
        if kept is not None and now - kept[1] < TSA_CHAIN_KEPT:
            return kept[0]
        if len(_stampers) > 16:
            _stampers.clear()
        stamper = _TimeStamper(url)
        _stampers[key] = (stamper, now)
        return stamper


def make_archival(pdf: bytes, *, trust_roots: Sequence[bytes], tsa_url: str) -> bytes:
    """B-LTA for the archive: validation data of every signature in the DSS, then a document
    timestamp (itself with its validation data)."""
    return run_sync(_make_archival(pdf, list(trust_roots), tsa_url))


def renew_archival_timestamp(pdf: bytes, *, trust_roots: Sequence[bytes], tsa_url: str) -> bytes:
    """Add the last document timestamp's validation data and a new document timestamp."""
    return run_sync(_renew(pdf, list(trust_roots), tsa_url))


def archival_timestamp_expiry(pdf: bytes) -> datetime | None:
    """When the last document timestamp stops proving anything (its certificates expire)."""
    reader = read_pdf(pdf)
    try:
        stamps = reader.embedded_timestamp_signatures
    except (PdfError, ValueError, KeyError) as exc:
        raise SigningError(
            f"không đọc được dấu thời gian tài liệu của PDF: {exc}",
            f"the PDF's document timestamps cannot be read: {exc}",
            code="signing.archival.timestamp_unreadable",
            kind=Kind.INVALID,
        ) from exc
    if not stamps:
        return None
    last = stamps[-1]
    ends = [last.signer_cert["tbs_certificate"]["validity"]["not_after"].native]
    for cert in last.signed_data["certificates"]:
        if cert.name == "certificate":
            ends.append(cert.chosen["tbs_certificate"]["validity"]["not_after"].native)
    return min(ends).astimezone(UTC)


async def _make_archival(pdf: bytes, roots: list[bytes], tsa_url: str) -> bytes:
    """One incremental update: the DSS with the validation data of every signature and of the
    TSA, then the document timestamp over it (pyHanko's ``update_before_ts``). One revision, not
    one per signature plus the timestamp's: every later validation compares fewer revisions."""
    context = _context(_roots(tuple(roots)))
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    signatures = writer.prev.embedded_regular_signatures
    if not signatures:
        raise SigningError(
            "PDF chưa có chữ ký số nào: không lập bản lưu trữ dài hạn",
            "the PDF has no digital signature yet: no long-term archival copy is made",
            code="signing.archival.unsigned",
        )
    timestamper = _stamper_for(tsa_url, roots)
    paths = []
    for signature in signatures:
        try:
            paths += await collect_validation_info(signature, context)
        except (PathBuildingError, PathValidationError, PyHankoSigningError, ValueError) as exc:
            raise SigningError(
                f"không thu thập được dữ liệu kiểm tra cho chữ ký {signature.field_name}: {exc}",
                f"the validation data for the signature {signature.field_name} could not be "
                f"collected: {exc}",
                code="signing.archival.validation_data",
                field=signature.field_name,
            ) from exc
    try:
        paths += [path async for path in timestamper.validation_paths(context)]
        DocumentSecurityStore.supply_dss_in_writer(
            writer, None, validation_context=context, paths=paths
        )
        result = await PdfTimeStamper(timestamper).async_timestamp_pdf(
            writer, DIGEST, bytes_reserved=BYTES_RESERVED_TIMESTAMPED
        )
    except OSError as exc:
        raise _no_document_timestamp(tsa_url, exc) from exc
    except (
        PathBuildingError,
        PathValidationError,
        PdfError,
        PyHankoSigningError,
        ValueError,
    ) as exc:
        raise SigningError(
            f"không lấy được dấu thời gian tài liệu từ {tsa_url}: {exc}",
            f"no document timestamp could be obtained from {tsa_url}: {exc}",
            code="signing.archival.timestamp_failed",
            url=tsa_url,
        ) from exc
    return bytes(result.getvalue())


async def _renew(pdf: bytes, roots: list[bytes], tsa_url: str) -> bytes:
    reader = _reader(pdf)
    if not reader.embedded_timestamp_signatures:
        raise SigningError(
            "PDF chưa có dấu thời gian tài liệu (mức B-LTA): dùng make_archival",
            "the PDF has no document timestamp yet (level B-LTA): use make_archival",
            code="signing.archival.no_timestamp",
        )
    stamper = PdfTimeStamper(_stamper_for(tsa_url, roots))
    try:
        result = await stamper.async_update_archival_timestamp_chain(
            reader, _context(_roots(tuple(roots))), in_place=False, output=io.BytesIO()
        )
    except (PathBuildingError, PathValidationError, PyHankoSigningError, ValueError) as exc:
        raise SigningError(
            f"không gia hạn được dấu thời gian tài liệu: {exc}",
            f"the document timestamp could not be renewed: {exc}",
            code="signing.archival.renewal_failed",
        ) from exc
    except OSError as exc:
        raise _no_document_timestamp(tsa_url, exc) from exc
    return bytes(result.getvalue())


def _no_document_timestamp(tsa_url: str, exc: OSError) -> SigningError:
    """The TSA did not answer the document timestamp request: worth trying again later."""
    return SigningError(
        f"không lấy được dấu thời gian tài liệu từ {tsa_url}: {exc}",
        f"no document timestamp could be obtained from {tsa_url}: {exc}",
        code="signing.tsa.unavailable",
        retryable=True,
        url=tsa_url,
    )


_BACKEND = RequestsFetcherBackend(per_request_timeout=FETCH_TIMEOUT)


def _context(
    roots: Sequence[asn1_x509.Certificate], other_certs: Sequence[asn1_x509.Certificate] = ()
) -> ValidationContext:
    """Fetching OCSP and CRLs (hard-fail) for what goes into a PDF now, through the process's
    kept answers (:mod:`signing._cache`): every document of a batch asks about the same
    certificates, and an answer serves until its nextUpdate."""
    moment = clock.now()
    return ValidationContext(
        trust_roots=list(roots),
        other_certs=list(other_certs),
        moment=moment,
        allow_fetching=True,
        revocation_mode="hard-fail",
        fetcher_backend=CachingFetcherBackend(_BACKEND, moment),
    )


def _reader(pdf: bytes) -> PdfFileReader:
    return read_pdf(pdf)
