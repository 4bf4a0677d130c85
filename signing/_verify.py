"""Validate every signature of any PDF: integrity, chain, revocation at signing time, changes.

A broken or malformed signature is a finding, reported as invalid, never an exception: the
clerk receiving a document from another agency must get a report whatever arrives.

Each signature goes through ETSI EN 319 102-1 as pyHanko implements it: the basic process for a
signature without any timestamp (B-B), the long-term process (with time, past validation, the
document timestamps as evidence) otherwise. Revocation data comes from the PDF (DSS, the signed
revocation attribute) first, then from the OCSP responders and CRLs the certificates name
(``fetch``); a certificate that names a service which does not answer leaves the signature
indeterminate. Before pyHanko runs, our own checks look at /ByteRange and /Contents, so that a
malformed or wrapped signature is called by its name.

Beside pyHanko, our own checks (:mod:`signing._chain`) verify the path to a configured root
signature by signature — ``trusted`` means that and nothing less — and name what is wrong with
the certificate, so that each reason matches the ETSI sub-indication; the roots come in named
trust lists (:mod:`signing._trust`), and the report says which one vouched. Changes after a
signature are judged by pyHanko's difference analysis plus comments under DocMDP P=3
(:mod:`signing._diff`).

What does not depend on the document (the trust roots, the validation policy, the fetcher
backend, the thread's event loop) is built once per process and reused. The signatures of one
file are judged at the same moment, so they share its validation data handlers: an OCSP answer
or CRL fetched for one serves the others. Fetched answers are kept for the next files until
their nextUpdate, and used only for a validation time they cover (:mod:`signing._cache`);
pyHanko still checks each one against the validation's own roots and time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import threading
from collections.abc import Coroutine, Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.crypt import AuthStatus
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate, AdESPassed, AdESSubIndic
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import ades as pyhanko_ades
from pyhanko.sign.validation import async_validate_pdf_timestamp, read_certification_data
from pyhanko.sign.validation.generic_cms import extract_tst_data_iter
from pyhanko.sign.validation.pdf_embedded import (
    EmbeddedPdfSignature,
    report_seed_value_validation,
)
from pyhanko.sign.validation.policy_decl import (
    LocalKnowledge,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
    bootstrap_validation_data_handlers,
)
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import (
    PdfSignatureStatus,
    SignatureCoverageLevel,
    SignatureStatus,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec, ValidationDataHandlers
from pyhanko_certvalidator.fetchers.api import FetcherBackend
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend
from pyhanko_certvalidator.ltv.poe import ValidationObject, ValidationObjectType
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleTrustManager

from signing._aio import run_sync
from signing._cache import CachingFetcherBackend, load_certificate
from signing._certs import asn1_roots
from signing._chain import certificate_defects, verify_chain
from signing._clock import now_in_vietnam
from signing._diff import DIFF_POLICY
from signing._errors import SigningError
from signing._fields import read_pdf
from signing._findings import (
    Context,
    Finding,
    Problems,
    RevocationFacts,
    TrustFacts,
    broken,
    revocation_facts,
    signature_finding,
    timestamp_finding,
)
from signing._policy import FETCH_TIMEOUT
from signing._report import DocumentReport, DocumentVerdict
from signing._trust import TrustList, TrustListName, named_lists
from vanthu import clock
from vanthu.errors import Kind

_DOCUMENT_TIMESTAMP = "/DocTimeStamp"
_HEX = re.compile(rb"<[0-9A-Fa-f\s]*>")
_BACKEND = RequestsFetcherBackend(per_request_timeout=FETCH_TIMEOUT)
"""One fetcher backend for the process: it keeps nothing between validations (each gets fresh
fetchers), so reuse is safe; each validation puts the kept answers in front of it."""
_REVOCATION = RevocationCheckingPolicy(
    ee_certificate_rule=RevocationCheckingRule.CHECK_IF_DECLARED,
    intermediate_ca_cert_rule=RevocationCheckingRule.CHECK_IF_DECLARED,
)
"""A certificate naming an OCSP responder or a CRL must be checked; no answer, no 'valid'."""
_SIGNING_USAGE = KeyUsageConstraints(
    key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False
)
"""A signer's certificate needs digitalSignature or nonRepudiation (ETSI EN 319 412-2 allows
either for signatures and seals; Vanthu's own certificates carry both)."""
_FORMATS = {
    "/ETSI.CAdES.detached": "PAdES",
    "/adbe.pkcs7.detached": "PKCS#7",
    "/adbe.pkcs7.sha1": "PKCS#7 SHA-1",
    "/ETSI.RFC3161": "RFC 3161",
}
"""The signature's /SubFilter as a report names it: only ETSI.CAdES.detached is PAdES."""


def verify_document(
    pdf: bytes,
    trust_roots: Sequence[bytes] = (),
    *,
    fetch: bool = True,
    trust_lists: Sequence[TrustList] = (),
) -> DocumentReport:
    """Validate every signature against ``trust_roots`` and ``trust_lists`` (PEM or DER).

    ``trust_roots`` are the configured roots: the agency's own, and the government's list when
    it is among them; ``trust_lists`` adds named ones (``given``: roots for this one check).
    Each signature's report names the list its chain ends at. ``fetch`` lets validation ask the
    OCSP responders and CRL services the certificates name when the PDF carries no revocation
    data of its own. A PDF encrypted with an owner password only (it opens without one) is
    read as any viewer reads it. Raises :class:`SigningError` only for a file that is not a
    readable PDF, one that needs a password to open, or an unreadable trust root.
    """
    setup = _setup(tuple(trust_roots), tuple(trust_lists), fetch)
    reader = read_pdf(pdf)
    if reader.encrypted:
        _open_without_password(reader)
    return _run(_verify(reader, setup, len(pdf)))


def _open_without_password(reader: PdfFileReader) -> None:
    """Decrypt with the empty user password, as a viewer does; a PDF that needs one to open
    cannot be checked without it."""
    try:
        opened = reader.decrypt("").status is not AuthStatus.FAILED
    except Exception:  # another security handler (certificates), or a broken /Encrypt
        opened = False
    if not opened:
        raise SigningError(
            "PDF được mã hóa bằng mật khẩu mở tệp: không kiểm tra được chữ ký khi chưa có "
            "bản không mã hóa",
            "the PDF is encrypted with a password needed to open it: its signatures cannot "
            "be checked without an unencrypted copy",
            code="signing.pdf.password_required",
            kind=Kind.INVALID,
        )


_LOOPS = threading.local()


def _run(coroutine: Coroutine[Any, Any, DocumentReport]) -> DocumentReport:
    """Run on this thread's own event loop, kept for its next validation.

    A loop per call (``asyncio.run``) costs a selector, a wake-up pipe and a fresh executor
    thread for the fetches each time. Inside a running loop the coroutine goes to a thread of
    its own (:func:`run_sync`).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return run_sync(coroutine)
    loop: asyncio.AbstractEventLoop | None = getattr(_LOOPS, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _LOOPS.loop = loop
    try:
        return loop.run_until_complete(coroutine)
    finally:
        _cancel_leftovers(loop)


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    """What one validation started and left running ends with it, as ``asyncio.run`` does."""
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


@dataclasses.dataclass(frozen=True)
class _Setup:
    roots: tuple[asn1_x509.Certificate, ...]
    spec: PdfSignatureValidationSpec
    fetch: bool
    anchors: tuple[tuple[x509.Certificate, TrustListName], ...]
    """Every root with the name of its list (the first list that has it)."""
    lists: tuple[TrustListName, ...]
    """The lists that judged: those with at least one root."""


@lru_cache(maxsize=16)
def _setup(
    trust_roots: tuple[bytes, ...], trust_lists: tuple[TrustList, ...], fetch: bool
) -> _Setup:
    lists = named_lists(trust_roots, trust_lists)
    roots = tuple(asn1_roots([root for trust_list in lists for root in trust_list.roots]))
    anchors: dict[x509.Certificate, TrustListName] = {}
    for trust_list in lists:
        for cert in asn1_roots(trust_list.roots):
            anchors.setdefault(x509.load_der_x509_certificate(cert.dump()), trust_list.name)
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=roots),
        revinfo_policy=CertRevTrustPolicy(_REVOCATION),
    )
    gathering = RevocationInfoGatheringSpec(
        online_fetching_rule=(
            RevinfoOnlineFetchingRule.NO_HISTORICAL_FETCH
            if fetch
            else RevinfoOnlineFetchingRule.LOCAL_ONLY
        ),
        fetcher_backend=_BACKEND,
    )
    spec = SignatureValidationSpec(
        cert_validation_policy=policy,
        revinfo_gathering_policy=gathering,
        key_usage_settings=_SIGNING_USAGE,
    )
    return _Setup(
        roots,
        PdfSignatureValidationSpec(spec, diff_policy=DIFF_POLICY),
        fetch,
        tuple(anchors.items()),
        tuple(trust_list.name for trust_list in lists),
    )


@dataclasses.dataclass
class _Document:
    """What every signature of one file shares."""

    reader: PdfFileReader
    size: int
    setup: _Setup
    spec: PdfSignatureValidationSpec
    """The setup's spec with the PDF's own revocation data (DSS) as local knowledge."""
    embedded_revinfo: set[bytes]
    has_dss_revinfo: bool
    timing: ValidationTimingInfo
    backend: FetcherBackend
    """The process's fetcher backend behind the OCSP answers and CRLs kept between
    validations (:mod:`signing._cache`), for this validation's time."""
    handlers: ValidationDataHandlers | None = None
    """Validation data handlers shared by the signatures judged with the document's own
    knowledge (see :func:`_handlers`): each OCSP responder and CRL is asked once per file."""


async def _verify(reader: PdfFileReader, setup: _Setup, size: int) -> DocumentReport:
    try:
        found = list(enumerate_sig_fields(reader, filled_status=True))
    except Exception as exc:  # a malformed form tree is a finding about the file
        problems = Problems()
        problems.add(
            f"không đọc được danh sách chữ ký của PDF: {exc}",
            f"cannot read the PDF's list of signatures: {exc}",
        )
        return _verdict(reader, (), problems, setup.lists)
    if not found:
        return _verdict(reader, (), Problems(), setup.lists)
    document = _document(reader, setup, size)
    fields = [(str(name), field.get_object()) for name, _value, field in found]
    entries = [(name, field, _position(field)) for name, field in fields]
    stamps = [pos for name, field, pos in entries if _is_document_timestamp(field)]
    findings = [
        await _one(document, name, field, position, any(s > position for s in stamps))
        for name, field, position in entries
    ]
    findings.sort(key=lambda finding: finding.position)
    return _verdict(reader, tuple(findings), Problems(), setup.lists)


def _document(reader: PdfFileReader, setup: _Setup, size: int) -> _Document:
    timing = _now()
    backend = CachingFetcherBackend(_BACKEND, timing.validation_time)
    spec = setup.spec
    if setup.fetch:
        signature_spec = spec.signature_validation_spec
        gathering = dataclasses.replace(
            signature_spec.revinfo_gathering_policy, fetcher_backend=backend
        )
        signature_spec = dataclasses.replace(signature_spec, revinfo_gathering_policy=gathering)
        spec = dataclasses.replace(spec, signature_validation_spec=signature_spec)
    embedded: set[bytes] = set()
    has_revinfo = False
    try:
        dss = pyhanko_ades._dss_to_local_knowledge(reader)
    except Exception:  # a broken DSS holds nothing we can use; the signatures still count
        dss = LocalKnowledge()
    if dss.known_ocsps or dss.known_crls or dss.known_certs:
        has_revinfo = bool(dss.known_ocsps or dss.known_crls)
        embedded.update(o.ocsp_response_data.dump() for o in dss.known_ocsps)
        embedded.update(c.crl_data.dump() for c in dss.known_crls)
        signature_spec = dataclasses.replace(spec.signature_validation_spec, local_knowledge=dss)
        spec = dataclasses.replace(spec, signature_validation_spec=signature_spec)
    return _Document(
        reader=reader,
        size=size,
        setup=setup,
        spec=spec,
        embedded_revinfo=embedded,
        has_dss_revinfo=has_revinfo,
        timing=timing,
        backend=backend,
    )


def _revinfo_added_after(reader: PdfFileReader, signed_revision: int) -> bool:
    """Whether an update after the signed revision put OCSP answers or CRLs into the DSS:
    PAdES B-LT adds the validation data after the signature; a signature made after the DSS
    was written (an electronic copy of a B-LT document) is not B-LT by that DSS."""
    try:
        before = _revinfo_refs(reader.get_historical_resolver(signed_revision).root)
        return bool(_revinfo_refs(reader.root) - before)
    except Exception:  # an unreadable DSS history: claim nothing
        return False


def _revinfo_refs(root: generic.DictionaryObject) -> set[tuple[int, int]]:
    if "/DSS" not in root:
        return set()
    dss = root["/DSS"]
    found = set()
    for key in ("/OCSPs", "/CRLs"):
        items = dss.get(key) if isinstance(dss, generic.DictionaryObject) else None
        for item in items if isinstance(items, generic.ArrayObject) else ():
            if isinstance(item, generic.IndirectObject):
                found.add((item.idnum, item.generation))
    return found


def _now() -> ValidationTimingInfo:
    """pyHanko's ``ValidationTimingInfo.now()`` on Vanthu's clock: a live validation, now."""
    moment = clock.now()
    return ValidationTimingInfo(
        validation_time=moment, best_signature_time=moment, point_in_time_validation=False
    )


async def _one(
    document: _Document,
    name: str,
    field: generic.DictionaryObject,
    position: int,
    stamped_later: bool,
) -> Finding:
    reader = document.reader
    structure = _structure_problems(reader, field, document.size)
    try:
        embedded = EmbeddedPdfSignature(reader, field, name)
        embedded.compute_integrity_info(diff_policy=DIFF_POLICY)
    except Exception as exc:  # malformed signature dictionary: no /ByteRange, bad /Contents
        problems = Problems()
        problems.extend(structure)
        problems.add(
            f"chữ ký không đọc được (từ điển chữ ký, /ByteRange hoặc /Contents hỏng): {exc}",
            f"the signature cannot be read (signature dictionary, /ByteRange or /Contents "
            f"broken): {exc}",
        )
        return broken(name, _embedded_or_none(reader, field, name), problems, position)
    try:
        context = Context(
            name=name,
            embedded=embedded,
            position=position,
            level=None,
            signed_revision=embedded.signed_revision + 1,
            certification=_is_certification(reader, embedded),
            structure=structure,
            format=_format(embedded),
        )
        if embedded.sig_object_type == _DOCUMENT_TIMESTAMP:
            stamp = await async_validate_pdf_timestamp(embedded, _timestamp_context(document))
            return timestamp_finding(context, stamp, _trust_facts(document, embedded, stamp, None))
        return await _signature(document, context, stamped_later)
    except Exception as exc:  # whatever fails inside pyHanko is a finding about this signature
        problems = Problems()
        problems.extend(structure)
        problems.add(
            f"không kiểm tra được chữ ký: {exc}", f"the signature could not be validated: {exc}"
        )
        return broken(name, embedded, problems, position, _format(embedded))


async def _signature(document: _Document, context: Context, stamped_later: bool) -> Finding:
    embedded = context.embedded
    has_timestamp = next(extract_tst_data_iter(embedded.signer_info, signed=False), None)
    ria = pyhanko_ades._adobe_revinfo_archival_to_local_knowledge(embedded)
    embedded_ids = set(document.embedded_revinfo)
    embedded_ids.update(o.ocsp_response_data.dump() for o in ria.known_ocsps)
    embedded_ids.update(c.crl_data.dump() for c in ria.known_crls)
    level = "B-B"
    if has_timestamp is not None:
        level = "B-T"
        added_after = document.has_dss_revinfo and _revinfo_added_after(
            document.reader, embedded.signed_revision
        )
        if added_after or ria.known_ocsps or ria.known_crls:
            level = "B-LTA" if stamped_later else "B-LT"
    best_time: datetime | None
    result: pyhanko_ades.AdESBasicValidationResult[PdfSignatureStatus]
    if has_timestamp is not None:
        timed = await _with_time(document, embedded, ria)
        result, best_time = timed, timed.best_signature_time
    else:
        result = await _basic(document, embedded)
        best_time = None
    status = result.api_status
    subindication: AdESSubIndic = result.ades_subindic
    if not isinstance(status, PdfSignatureStatus):
        reason = result.failure_msg or subindication.standard_name
        raise SigningError(reason, reason, code="signing.verify.no_status")
    if status.seed_value_constraint_error is None:
        stamp = status.timestamp_validity
        stamped = stamp is not None and stamp.valid and stamp.trusted
        if status.validation_path is not None:
            seed = report_seed_value_validation(embedded, status.validation_path, stamped)
            status = dataclasses.replace(status, **seed)
    facts = _revocation(status, result.validation_objects, embedded_ids)
    if subindication is AdESPassed.OK and facts.status == "revoked" and best_time is None:
        subindication = AdESIndeterminate.REVOKED_NO_POE  # never 'valid' with a revoked cert
    trust = _trust_facts(document, embedded, status, best_time)
    subindication = _explained(subindication, trust, best_time)
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        locked = _locked_field_changes(document.reader, embedded.signed_revision)
        if locked.vi:
            structure = Problems()
            structure.extend(context.structure)
            structure.extend(locked)
            context = dataclasses.replace(context, structure=structure)
    # PAdES levels name PAdES signatures only (ETSI EN 319 142-1)
    context = dataclasses.replace(context, level=level if context.format == "PAdES" else None)
    return signature_finding(
        context, status, subindication, result.failure_msg, facts, best_time, trust
    )


def _trust_facts(
    document: _Document,
    embedded: EmbeddedPdfSignature,
    status: SignatureStatus,
    best_time: datetime | None,
) -> TrustFacts:
    """Our own chain check and the certificate's defects (see :mod:`signing._chain`)."""
    leaf = load_certificate(status.signing_cert.dump())
    known = document.spec.signature_validation_spec.local_knowledge.known_certs
    pool = [*_carried(embedded), *_certificates(known)]
    anchors = dict(document.setup.anchors)
    chain = verify_chain(leaf, pool, list(anchors))
    at = best_time or document.timing.validation_time
    defects = certificate_defects(
        leaf,
        chain.path[1:] if chain.path else [],
        digest_algorithm=status.md_algorithm,
        signature_algorithm=status.pkcs7_signature_mechanism,
        signing_time=at,
    )
    trust_list = anchors.get(chain.anchor) if chain.anchor is not None else None
    return TrustFacts(chain.verified, chain.lookalike, tuple(defects), trust_list)


def _carried(embedded: EmbeddedPdfSignature) -> list[x509.Certificate]:
    """The certificates the signature's CMS carries."""
    found = []
    for choice in embedded.signed_data["certificates"] or ():
        if choice.name == "certificate":
            try:
                found.append(load_certificate(choice.chosen.dump()))
            except ValueError:  # one unreadable certificate does not hide the others
                continue
    return found


def _certificates(certs: Iterable[asn1_x509.Certificate]) -> list[x509.Certificate]:
    found = []
    for cert in certs:
        try:
            found.append(load_certificate(cert.dump()))
        except ValueError:
            continue
    return found


_BY_DEFECT: dict[str, AdESSubIndic] = {
    "ca": AdESIndeterminate.CHAIN_CONSTRAINTS_FAILURE,
    "key_usage": AdESIndeterminate.CHAIN_CONSTRAINTS_FAILURE,
    "weak_algorithm": AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE,
    "chain_validity": AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE,
}
_KEPT = frozenset(
    {
        AdESFailure.FORMAT_FAILURE,
        AdESFailure.HASH_FAILURE,
        AdESFailure.SIG_CRYPTO_FAILURE,
        AdESFailure.REVOKED,
        AdESIndeterminate.REVOKED_NO_POE,
        AdESIndeterminate.REVOKED_CA_NO_POE,
        AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE_NO_POE,
    }
)
"""pyHanko's findings that say more than ours: the signature itself broken, or revoked."""


def _explained(
    subindication: AdESSubIndic, trust: TrustFacts, best_time: datetime | None
) -> AdESSubIndic:
    """The ETSI sub-indication our own findings explain, so that the reasons match it.

    pyHanko folds a forged chain, a certificate not valid yet and missing revocation data into
    CERTIFICATE_CHAIN_GENERAL_FAILURE, and passes a CA certificate that allows signing; the most
    serious thing we found names the sub-indication instead.
    """
    if subindication in _KEPT:
        return subindication
    if not trust.verified:
        if trust.lookalike:
            return AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE
        return AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND
    kinds = [defect.kind for defect in trust.defects]
    if "not_yet_valid" in kinds:
        # proven by a timestamp: it failed; judged now: it cannot be valid yet
        if best_time is not None:
            return AdESFailure.NOT_YET_VALID
        return AdESIndeterminate.NOT_YET_VALID
    for kind in kinds:
        if kind in _BY_DEFECT:
            if kind == "weak_algorithm" and subindication in (
                AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE,
                AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE_NO_POE,
            ):
                return subindication
            return _BY_DEFECT[kind]
    return subindication


async def _with_time(
    document: _Document, embedded: EmbeddedPdfSignature, ria: LocalKnowledge
) -> pyhanko_ades.AdESWithTimeValidationResult:
    """ETSI's process for a signature with time: judged now, its timestamp as proof it existed
    then (a certificate revoked after the timestamp leaves it valid). Only when that cannot
    pass — the certificate has expired since — does the long-term process look at the PDF's
    own validation data and document timestamps (B-LT, B-LTA)."""
    spec = document.spec.signature_validation_spec
    known = spec.local_knowledge
    handlers: ValidationDataHandlers | None = None
    if ria.known_ocsps or ria.known_crls:
        known = dataclasses.replace(
            known,
            known_ocsps=[*known.known_ocsps, *ria.known_ocsps],
            known_crls=[*known.known_crls, *ria.known_crls],
        )
        spec = dataclasses.replace(spec, local_knowledge=known)
    else:  # the document's own knowledge: share what its other signatures fetched
        handlers = _handlers(document)
    result = await pyhanko_ades.ades_with_time_validation(
        embedded.signed_data,
        spec,
        timing_info=document.timing,
        raw_digest=embedded.compute_digest(),
        validation_data_handlers=handlers,
        extra_status_kwargs=embedded.summarise_integrity_info(),
        status_cls=PdfSignatureStatus,
    )
    if result.ades_subindic in _EXPIRED_SINCE and (known.known_ocsps or known.known_crls):
        full = dataclasses.replace(document.spec, signature_validation_spec=spec)
        return await pyhanko_ades.ades_lta_validation(embedded, full, timing_info=document.timing)
    return result


_EXPIRED_SINCE = (
    AdESIndeterminate.OUT_OF_BOUNDS_NO_POE,
    AdESIndeterminate.OUT_OF_BOUNDS_NOT_REVOKED,
)


async def _basic(
    document: _Document, embedded: EmbeddedPdfSignature
) -> pyhanko_ades.AdESBasicValidationResult:
    result = await pyhanko_ades.ades_basic_validation(
        embedded.signed_data,
        document.spec.signature_validation_spec,
        timing_info=document.timing,
        raw_digest=embedded.compute_digest(),
        validation_data_handlers=_handlers(document),
    )
    status = result.api_status
    if status is None or isinstance(status, PdfSignatureStatus):
        return result
    # pyHanko 0.38 builds its basic result with the plain CMS class whatever status_cls says:
    # add what the PDF says (coverage, changes after signing, /M) here.
    kwargs = {f.name: getattr(status, f.name) for f in dataclasses.fields(status)}
    kwargs.update(embedded.summarise_integrity_info())
    if kwargs.get("signer_reported_dt") is None:
        kwargs["signer_reported_dt"] = embedded.self_reported_timestamp
    return dataclasses.replace(result, api_status=PdfSignatureStatus(**kwargs))


def _handlers(document: _Document) -> ValidationDataHandlers:
    """The document's validation data handlers, made on first use: every signature of the file
    is judged at the same moment, so an OCSP answer or CRL fetched for one serves the others."""
    if document.handlers is None:
        spec = document.spec.signature_validation_spec
        document.handlers = bootstrap_validation_data_handlers(spec, document.timing)
    return document.handlers


def _revocation(
    status: PdfSignatureStatus,
    objects: Iterable[ValidationObject],
    embedded_ids: set[bytes],
) -> RevocationFacts:
    cert = status.signing_cert
    ocsps, crls = [], []
    for item in objects:
        kind = item.object_type
        if kind is ValidationObjectType.OCSP_RESPONSE:
            ocsps.append(item.value)
        elif kind is ValidationObjectType.CRL:
            crls.append(item.value)
    return revocation_facts(cert.serial_number, cert.issuer, ocsps, crls, embedded_ids)


def _timestamp_context(document: _Document) -> ValidationContext:
    return ValidationContext(
        trust_roots=list(document.setup.roots),
        moment=document.timing.validation_time,
        allow_fetching=document.setup.fetch,
        revocation_mode="soft-fail",
        fetcher_backend=document.backend,
        other_certs=list(document.spec.signature_validation_spec.local_knowledge.known_certs),
    )


def _structure_problems(
    reader: PdfFileReader, field: generic.DictionaryObject, size: int
) -> Problems:
    """Universal signature forgery and signature wrapping, named before pyHanko looks.

    The /ByteRange must be four non-negative integers [0 a b c] with a < b, b + c at most the
    file's length, the gap between a and b exactly the hex string of /Contents, and that string
    the same bytes the signature dictionary holds.
    """
    problems = Problems()
    try:
        value = field["/V"]
        sig = value.get_object() if isinstance(value, generic.IndirectObject) else value
    except Exception:  # no value: enumerate_sig_fields listed it as filled, so it is broken
        problems.add("trường chữ ký không có giá trị (/V)", "the signature field has no value (/V)")
        return problems
    if not isinstance(sig, generic.DictionaryObject):
        problems.add(
            "giá trị của trường chữ ký không phải từ điển chữ ký",
            "the signature field's value is not a signature dictionary",
        )
        return problems
    ranges = _plain(sig.get("/ByteRange"))
    # /Contents is never encrypted (ISO 32000-1 7.6.1): read it as written
    contents = (
        sig.raw_get("/Contents", decrypt=generic.EncryptedObjAccess.RAW)
        if "/Contents" in sig
        else None
    )
    if not isinstance(ranges, generic.ArrayObject) or len(ranges) != 4:
        problems.add(
            "/ByteRange thiếu hoặc không phải mảng 4 số nguyên",
            "/ByteRange is missing or not an array of four integers",
        )
        return problems
    numbers = [int(n) for n in ranges if isinstance(n, int) and not isinstance(n, bool)]
    if len(numbers) != 4 or any(n < 0 for n in numbers):
        problems.add(
            "/ByteRange chứa giá trị không phải số nguyên không âm",
            "/ByteRange holds values that are not non-negative integers",
        )
        return problems
    start, first, second, length = numbers
    if start != 0 or first >= second or second + length > size:
        problems.add(
            f"/ByteRange [{start} {first} {second} {length}] không hợp lệ: phải bắt đầu từ 0, "
            f"hai đoạn không chồng nhau và nằm trong tệp ({size} byte)",
            f"/ByteRange [{start} {first} {second} {length}] is invalid: it must start at 0, "
            f"its two parts must not overlap, and must lie inside the file ({size} bytes)",
        )
        return problems
    if not isinstance(contents, generic.ByteStringObject | generic.TextStringObject):
        problems.add(
            "/Contents thiếu hoặc không phải chuỗi byte",
            "/Contents is missing or not a byte string",
        )
        return problems
    gap = _gap(reader, first, second)
    if gap is None or not _HEX.fullmatch(gap):
        problems.add(
            "khoảng trống giữa hai đoạn /ByteRange không phải đúng chuỗi /Contents (chữ ký bị "
            "bọc lại hoặc /ByteRange bị dời)",
            "the gap between the two /ByteRange parts is not exactly the /Contents string "
            "(signature wrapping or a moved /ByteRange)",
        )
        return problems
    hex_digits = re.sub(rb"\s", b"", gap[1:-1])
    try:
        in_gap = bytes.fromhex(hex_digits.decode("ascii"))
    except ValueError:
        in_gap = b""
    held = (
        bytes(contents) if isinstance(contents, bytes) else getattr(contents, "original_bytes", b"")
    )
    if in_gap != held:
        problems.add(
            "chuỗi /Contents trong khoảng trống của /ByteRange không phải chuỗi mà từ điển chữ "
            "ký chứa (chữ ký bị bọc lại)",
            "the /Contents string in the /ByteRange gap is not the one the signature dictionary "
            "holds (signature wrapping)",
        )
    return problems


def _locked_field_changes(reader: PdfFileReader, signed_revision: int) -> Problems:
    """Read-only form fields whose value changed after the signed revision (shadow 'replace').

    DocMDP level 2 lets later updates fill forms; a field already filled and made read-only
    when this signature was made is not a form left to fill.
    """
    problems = Problems()
    try:
        before = _field_values(reader.get_historical_resolver(signed_revision).root)
        after = _field_values(reader.root)
    except Exception:  # an unreadable form tree: the diff analysis reports the change
        return problems
    for name, (read_only, value) in before.items():
        if read_only and name in after and after[name][1] != value:
            problems.add(
                f"giá trị trường chỉ đọc «{name}» bị thay đổi sau khi ký",
                f"the value of the read-only field '{name}' was changed after signing",
            )
    return problems


def _field_values(root: generic.DictionaryObject) -> dict[str, tuple[bool, str]]:
    found: dict[str, tuple[bool, str]] = {}
    try:
        fields = root["/AcroForm"]["/Fields"]
    except (KeyError, TypeError):
        return found

    def walk(items: generic.PdfObject, prefix: str, depth: int) -> None:
        if not isinstance(items, generic.ArrayObject) or depth > 32:
            return
        for ref in items:
            field = ref.get_object()
            if not isinstance(field, generic.DictionaryObject):
                continue
            name = f"{prefix}.{field.get('/T', '')}" if prefix else str(field.get("/T", ""))
            value = field.raw_get("/V") if "/V" in field else None
            if isinstance(value, generic.IndirectObject):
                shown = f"{value.idnum} {value.generation} R"
            else:
                shown = repr(_plain(value))
            read_only = bool(int(field.get("/Ff", 0)) & 1)
            found[name] = (read_only, shown)
            if "/Kids" in field:
                walk(field["/Kids"], name, depth + 1)

    walk(fields, "", 0)
    return found


def _plain(value: object) -> object:
    """The object itself, behind an indirect reference or an encrypted file's decrypting
    proxy."""
    if isinstance(value, generic.IndirectObject | generic.DecryptedObjectProxy):
        return value.get_object()
    return value


def _gap(reader: PdfFileReader, first: int, second: int) -> bytes | None:
    stream = reader.stream
    try:
        stream.seek(first)
        return bytes(stream.read(second - first))
    except (OSError, ValueError, OverflowError):
        return None


def _embedded_or_none(
    reader: PdfFileReader, field: generic.DictionaryObject, name: str
) -> EmbeddedPdfSignature | None:
    try:
        return EmbeddedPdfSignature(reader, field, name)
    except Exception:  # nothing readable to name the signer with
        return None


def _is_document_timestamp(field: generic.DictionaryObject) -> bool:
    try:
        return str(field["/V"].get_object().get("/Type")) == _DOCUMENT_TIMESTAMP
    except Exception:  # unreadable: the signature's own finding says so
        return False


def _format(embedded: EmbeddedPdfSignature) -> str:
    """'PAdES', 'PKCS#7', 'RFC 3161', or the /SubFilter as written when we do not know it."""
    try:
        subfilter = str(embedded.sig_object.get("/SubFilter", ""))
    except Exception:  # no readable /SubFilter: the format is not known
        return "?"
    return _FORMATS.get(subfilter, subfilter.lstrip("/") or "?")


def _is_certification(reader: PdfFileReader, embedded: EmbeddedPdfSignature) -> bool:
    try:
        data = read_certification_data(reader)
        return data is not None and data.author_sig.get_object() is embedded.sig_object
    except Exception:  # a broken /Perms entry certifies nothing
        return False


def _position(field: generic.DictionaryObject) -> int:
    """Where the signature's contents end in the file: later signatures end later."""
    try:
        return int(field["/V"]["/ByteRange"][2])
    except Exception:  # no readable /ByteRange: list it last
        return 1 << 62


def _verdict(
    reader: PdfFileReader,
    findings: tuple[Finding, ...],
    unreadable: Problems,
    lists: tuple[TrustListName, ...],
) -> DocumentReport:
    signatures = tuple(finding.report for finding in findings)
    reasons = list(unreadable.vi)
    reasons_en = list(unreadable.en)
    for report in signatures:
        reasons.extend(f"{report.field} ({report.signer}): {p}" for p in report.problems)
        reasons_en.extend(f"{report.field} ({report.signer}): {p}" for p in report.problems_en)
    verdict: DocumentVerdict
    if not signatures:
        verdict = "invalid" if unreadable.vi else "unsigned"
        if not reasons:
            reasons, reasons_en = ["tệp không có chữ ký số"], ["the file has no signature"]
    elif unreadable.vi or any(finding.fatal for finding in findings):
        verdict = "invalid"
    elif any(report.verdict != "valid" for report in signatures):
        verdict = "indeterminate"
    else:
        verdict = "valid"
    try:
        revisions = reader.xrefs.total_revisions
    except Exception:  # a reader without xref sections has one revision at most
        revisions = 1
    return DocumentReport(
        signatures=signatures,
        verdict=verdict,
        reasons=tuple(reasons),
        reasons_en=tuple(reasons_en),
        revisions=revisions,
        validated_at=now_in_vietnam(),
        trust_lists=lists,
    )
