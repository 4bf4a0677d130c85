"""What validation may reuse between documents: OCSP answers and CRLs until their nextUpdate,
and parsed certificates.

Every document of a batch names the same OCSP responders and CRLs (the agency's seal, the same
leaders), and each answer says how long it holds: the CA promises nothing changes before its
nextUpdate. So an answer fetched for one validation serves the next ones, per process, bounded
(LRU), on three conditions checked at each use against that validation's own time ``moment``
(the "as of" time of an archival validation, or now):

- the answer was produced and its thisUpdate is at or before ``moment`` (never an answer from
  after the time asked for);
- ``moment`` is before its nextUpdate (an answer without nextUpdate is never kept);
- it is the answer for the same certificate (issuer and serial) from the same service.

Only the fetching is cached: pyHanko still checks each answer (signature, responder, freshness,
status) with the validation's own trust roots and time, so a different trust-root set or
validation time gives the same verdict as without the cache. A revocation made through
:func:`signing._revocation.revoke` in this process forgets the answers about that certificate
(:func:`forget_serial`); one made elsewhere is seen once the cached answer's nextUpdate passes,
as any OCSP client that honours nextUpdate sees it (RFC 5019).

Certificates parsed from DER (:func:`load_certificate`) are kept too: a parsed certificate is
a function of its bytes, whatever trust or time it is later judged against.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

from asn1crypto import cms, crl, ocsp, x509
from cryptography import x509 as crypto_x509
from pyhanko_certvalidator.authority import Authority
from pyhanko_certvalidator.fetchers.api import (
    CRLFetcher,
    FetcherBackend,
    Fetchers,
    OCSPFetcher,
)
from pyhanko_certvalidator.util import get_relevant_crl_dps, issuer_serial


@functools.lru_cache(maxsize=512)
def load_certificate(der: bytes) -> crypto_x509.Certificate:
    """A certificate parsed once per process: the same few (the agency's seal, its leaders, the
    CAs) arrive in every document. Raises ValueError for bytes that are not one."""
    return crypto_x509.load_der_x509_certificate(der)


MAX_ENTRIES = 1024
"""Answers kept per kind: a few per certificate of a batch; the oldest used go first."""

Certificate: TypeAlias = x509.Certificate | cms.AttributeCertificateV2


@dataclass(frozen=True)
class _Kept:
    value: object
    produced: datetime
    this_update: datetime
    next_update: datetime

    def usable_at(self, moment: datetime) -> bool:
        return self.produced <= moment and self.this_update <= moment < self.next_update


class _Lru:
    """A bounded map, safe to share between the threads that validate."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Hashable, _Kept] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, moment: datetime) -> _Kept | None:
        with self._lock:
            kept = self._items.get(key)
            if kept is None:
                return None
            if not kept.usable_at(moment):
                if moment >= kept.next_update:
                    del self._items[key]  # stale for any later validation too
                return None
            self._items.move_to_end(key)
            return kept

    def put(self, key: Hashable, kept: _Kept) -> None:
        with self._lock:
            self._items[key] = kept
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def forget(self, matches: object) -> None:
        with self._lock:
            for key in [k for k in self._items if _mentions(k, matches)]:
                del self._items[key]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _mentions(key: Hashable, serial: object) -> bool:
    return isinstance(key, tuple) and serial in key


_OCSP = _Lru(MAX_ENTRIES)
_CRL = _Lru(MAX_ENTRIES)


def clear() -> None:
    """Forget every kept answer (tests, and a process told its CA's data changed)."""
    _OCSP.clear()
    _CRL.clear()


def forget_serial(serial: int) -> None:
    """Forget the OCSP answers about certificates with this serial number (any issuer) and
    every CRL: a revocation made here is seen by the next validation."""
    _OCSP.forget(serial)
    _CRL.clear()


def _ocsp_kept(response: ocsp.OCSPResponse) -> _Kept | None:
    """The answer with its times, or None when it must not be kept."""
    try:
        if response["response_status"].native != "successful":
            return None
        data = response.response_data
        single = data["responses"][0]
        next_update = single["next_update"].native
        if next_update is None:
            return None
        return _Kept(
            response, data["produced_at"].native, single["this_update"].native, next_update
        )
    except (KeyError, IndexError, ValueError, TypeError, AttributeError):
        return None


def _crls_kept(crls: list[crl.CertificateList]) -> _Kept | None:
    """A certificate's CRLs, kept as long as every one of them holds."""
    if not crls:
        return None
    try:
        this_updates = [c["tbs_cert_list"]["this_update"].native for c in crls]
        next_updates = [c["tbs_cert_list"]["next_update"].native for c in crls]
    except (KeyError, ValueError, TypeError):
        return None
    if any(n is None for n in next_updates):
        return None
    latest = max(this_updates)
    return _Kept(list(crls), latest, latest, min(next_updates))


def _serial(cert: Certificate) -> int:
    if isinstance(cert, x509.Certificate):
        return int(cert.serial_number)
    return int(cert["ac_info"]["serial_number"].native)


class _CachingOCSPFetcher(OCSPFetcher):
    """The backend's fetcher, asked only when no kept answer holds at ``moment``."""

    def __init__(self, inner: OCSPFetcher, moment: datetime) -> None:
        self._inner = inner
        self._moment = moment
        self._reused: dict[Hashable, ocsp.OCSPResponse] = {}

    async def fetch(self, cert: Certificate, authority: Authority) -> ocsp.OCSPResponse:
        subject = issuer_serial(cert)
        key = (subject, authority.hashable, _serial(cert))
        kept = _OCSP.get(key, self._moment)
        if kept is not None and isinstance(kept.value, ocsp.OCSPResponse):
            self._reused[subject] = kept.value
            return kept.value
        response = await self._inner.fetch(cert, authority)
        fresh = _ocsp_kept(response)
        if fresh is not None:
            _OCSP.put(key, fresh)
        return response

    def fetched_responses(self) -> Iterable[ocsp.OCSPResponse]:
        return [*self._inner.fetched_responses(), *self._reused.values()]

    def fetched_responses_for_cert(self, cert: Certificate) -> Iterable[ocsp.OCSPResponse]:
        found = list(self._inner.fetched_responses_for_cert(cert))
        reused = self._reused.get(issuer_serial(cert))
        return [*found, reused] if reused is not None else found


class _CachingCRLFetcher(CRLFetcher):
    """The backend's CRL fetcher, asked only when the kept CRLs do not all hold at
    ``moment``."""

    def __init__(self, inner: CRLFetcher, moment: datetime) -> None:
        self._inner = inner
        self._moment = moment
        self._reused: dict[Hashable, list[crl.CertificateList]] = {}

    async def fetch(
        self, cert: Certificate, *, use_deltas: bool | None = None
    ) -> Iterable[crl.CertificateList]:
        subject = issuer_serial(cert)
        try:
            points = tuple(
                repr(point.native) for point in get_relevant_crl_dps(cert, use_deltas=use_deltas)
            )
        except (ValueError, TypeError, AttributeError):
            points = ()
        key = (points, bool(use_deltas))
        if points:
            kept = _CRL.get(key, self._moment)
            if kept is not None and isinstance(kept.value, list):
                self._reused[subject] = kept.value
                return list(kept.value)
        found = list(await self._inner.fetch(cert, use_deltas=use_deltas))
        fresh = _crls_kept(found)
        if points and fresh is not None:
            _CRL.put(key, fresh)
        return found

    def fetched_crls(self) -> Iterable[crl.CertificateList]:
        found = list(self._inner.fetched_crls())
        for crls in self._reused.values():
            found.extend(c for c in crls if c not in found)
        return found

    def fetched_crls_for_cert(self, cert: Certificate) -> Iterable[crl.CertificateList]:
        reused = self._reused.get(issuer_serial(cert))
        if reused is not None:
            return reused
        return self._inner.fetched_crls_for_cert(cert)


class CachingFetcherBackend(FetcherBackend):
    """``inner``'s fetchers behind the process's kept answers, for one validation at
    ``moment``."""

    def __init__(self, inner: FetcherBackend, moment: datetime) -> None:
        self._inner = inner
        self._moment = moment

    def get_fetchers(self) -> Fetchers:
        fetchers = self._inner.get_fetchers()
        return Fetchers(
            ocsp_fetcher=_CachingOCSPFetcher(fetchers.ocsp_fetcher, self._moment),
            crl_fetcher=_CachingCRLFetcher(fetchers.crl_fetcher, self._moment),
            cert_fetcher=fetchers.cert_fetcher,
        )

    async def close(self) -> None:
        await self._inner.close()
