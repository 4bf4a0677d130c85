"""What a validation found, for a clerk to read and a machine to store."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


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
    """When the signer says they signed (or the timestamp, if any), in Vietnam time."""
    intact: bool
    """The signed bytes are unchanged and the cryptographic signature matches the certificate."""
    trusted: bool
    """The certificate chains to one of the trusted roots."""
    covers_whole_file: bool
    """Nothing was appended after this signature."""
    modification: str
    """What changed after signing: 'none', 'form_filling', 'annotations' or 'other'."""
    certification: bool
    """A certification (author) signature, which sets what later changes are allowed."""
    docmdp: str | None
    """Changes this signature allows afterwards: 'no_changes', 'form_filling', 'annotations'."""
    valid: bool
    """Intact, trusted, and later changes only as allowed."""
    problems: tuple[str, ...]
    """What is wrong, in Vietnamese; empty for a valid signature."""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["signing_time"] = self.signing_time.isoformat() if self.signing_time else None
        data["serial"] = f"{self.serial:x}"
        data["problems"] = list(self.problems)
        return data


@dataclass(frozen=True)
class DocumentReport:
    """Every signature of a PDF and the verdict on the whole file."""

    signatures: tuple[SignatureReport, ...]
    """In signing order."""
    verdict: str
    """'valid', 'invalid', 'indeterminate' (intact but not trusted) or 'unsigned'."""
    reasons: tuple[str, ...]
    """Why the verdict is not 'valid', in Vietnamese."""

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "signatures": [signature.to_json() for signature in self.signatures],
        }
