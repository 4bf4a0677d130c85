"""What a validation found, for a clerk to read and a machine to store.

The JSON form (:meth:`DocumentReport.to_json`) is a stable interface: the README documents every
field, the incoming flow stores it with the document, and scripts read `vanthu verify --json`.
Fields are only ever added, never renamed or removed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from signing._trust import TrustListName

Verdict = Literal["valid", "invalid", "indeterminate"]
DocumentVerdict = Literal["valid", "invalid", "indeterminate", "unsigned"]


@dataclass(frozen=True)
class SignatureReport:
    """One signature of a PDF and what its validation found."""

    field: str
    """Name of the signature field."""
    signer: str
    """Common name (CN) of the signer's certificate, '?' when unreadable."""
    organisation: str | None
    """Organisation (O) of the signer's certificate."""
    serial: int
    """Serial number of the signer's certificate, 0 when unreadable."""
    issuer: str
    """Common name of the certificate's issuer."""
    signing_time: datetime | None
    """The best known signing time: the timestamp's when trusted, else the signer's claim."""
    intact: bool
    """The signed bytes are unchanged and the cryptographic signature matches the certificate."""
    trusted: bool
    """A path from the certificate to one of the trusted roots was verified, every signature
    on it checked with its issuer's key (names alone, or a copied key identifier, never
    count)."""
    covers_whole_file: bool
    """Nothing was appended after this signature."""
    modification: str
    """What changed after signing: 'none', 'form_filling', 'annotations' or 'other'."""
    certification: bool
    """A certification (author) signature, which sets what later changes are allowed."""
    docmdp: str | None
    """Changes this signature allows afterwards: 'no_changes', 'form_filling', 'annotations'."""
    valid: bool
    """Intact, trusted, not revoked at signing time, and later changes only as allowed."""
    problems: tuple[str, ...]
    """What is wrong, in Vietnamese; empty for a valid signature."""
    problems_en: tuple[str, ...] = ()
    """The same problems in English, in the same order."""
    type: Literal["signature", "document_timestamp"] = "signature"
    """A signature (/Sig) or a document timestamp (/DocTimeStamp, PAdES B-LTA)."""
    kind: str = "unknown"
    """The certificate's kind by its policy: 'person', 'organisation' (an agency), 'unknown'."""
    claimed_signing_time: datetime | None = None
    """The time the signer's own computer wrote into the signature (not proven)."""
    timestamp_time: datetime | None = None
    """The time a trusted timestamp proves the signature existed at, if any."""
    revocation: Literal["good", "revoked", "unknown"] = "unknown"
    """The certificate's revocation status at the signing time."""
    revocation_time: datetime | None = None
    """When the certificate was revoked, if it was (even after signing)."""
    revocation_reason: str | None = None
    """The revocation reason (RFC 5280 name, e.g. 'key_compromise'), if revoked."""
    revocation_source: Literal["embedded", "online"] | None = None
    """Where the revocation answer came from: inside the PDF, or fetched from the CA's service."""
    covers: Literal["whole_file", "earlier_revision", "partial"] = "partial"
    """The whole file, an earlier revision of it, or less than a whole revision (broken)."""
    signed_revision: int | None = None
    """The revision (1 = the first) this signature signs."""
    level: str | None = None
    """PAdES level reached: 'B-B', 'B-T', 'B-LT', 'B-LTA'; None for a document timestamp and
    for a signature that is not PAdES (see :attr:`format`)."""
    indication: str = "INDETERMINATE"
    """ETSI EN 319 102-1 indication: 'TOTAL_PASSED', 'INDETERMINATE' or 'TOTAL_FAILED'."""
    subindication: str | None = None
    """ETSI sub-indication when not passed, e.g. 'REVOKED_NO_POE', 'TRY_LATER', 'HASH_FAILURE'."""
    verdict: Verdict = "indeterminate"
    """This signature's own verdict."""
    format: str = "?"
    """The signature's format by its /SubFilter: 'PAdES' (ETSI.CAdES.detached), 'PKCS#7'
    (adbe.pkcs7.detached, as older tools and the government's desktop tool make), 'PKCS#7
    SHA-1' (adbe.pkcs7.sha1), 'RFC 3161' (a document timestamp)."""
    trust_list: TrustListName | None = None
    """The trust list whose root vouched for the certificate: 'agency' (the agency's own
    roots), 'government' (the government's list shipped with Vanthu), 'given' (roots given
    for this check, ``--trust``); None when not trusted."""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("signing_time", "claimed_signing_time", "timestamp_time", "revocation_time"):
            moment = getattr(self, name)
            data[name] = moment.isoformat() if moment else None
        data["serial"] = f"{self.serial:x}"
        data["problems"] = list(self.problems)
        data["problems_en"] = list(self.problems_en)
        return data


@dataclass(frozen=True)
class DocumentReport:
    """Every signature of a PDF and the verdict on the whole file."""

    signatures: tuple[SignatureReport, ...]
    """In signing order."""
    verdict: DocumentVerdict
    """'valid', 'invalid', 'indeterminate' (could not be decided) or 'unsigned'."""
    reasons: tuple[str, ...]
    """Why the verdict is not 'valid', in Vietnamese."""
    reasons_en: tuple[str, ...] = ()
    """The same reasons in English."""
    revisions: int = 0
    """How many revisions (incremental updates + 1) the file has."""
    validated_at: datetime | None = None
    """When the validation ran (Vietnam time)."""
    trust_lists: tuple[TrustListName, ...] = ()
    """The trust lists that judged the file ('agency', 'government', 'given')."""

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "reasons_en": list(self.reasons_en),
            "revisions": self.revisions,
            "validated_at": self.validated_at.isoformat() if self.validated_at else None,
            "trust_lists": list(self.trust_lists),
            "signatures": [signature.to_json() for signature in self.signatures],
        }
