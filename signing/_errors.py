"""The signing package's errors: :class:`SigningError` under Vanthu's one root.

Each raise names its situation with a stable code, ``signing.<area>.<situation>``
(``signing.pdf.not_pdf``, ``signing.policy.revoked``, ``signing.tsa.unavailable``), and carries a
Vietnamese message for clerks and an English one. The certificate concerned goes in
``certificate_serial`` (shown in the message's closing parenthesis), not in the text.

``retryable`` is False for everything that will fail again the same way (a wrong passphrase,
a PDF without the Decree 30 fields, a revoked certificate); True only where a later attempt may
succeed (a timestamp or revocation service that did not answer).
"""

from __future__ import annotations

from typing import Any, ClassVar

from vanthu.errors import Kind, VanthuError


class SigningError(VanthuError):
    """A key, a certificate, a PDF or a signature that cannot be used as asked."""

    code = "signing.error"
    kind = Kind.FAILED
    LABELS: ClassVar[dict[str, tuple[str, str]]] = {
        **VanthuError.LABELS,
        "certificate_serial": ("chứng thư số sê-ri {:x}", "certificate serial {:x}"),
    }

    def __init__(
        self,
        message: str,
        message_en: str,
        *,
        certificate_serial: int | None = None,
        **fields: Any,
    ) -> None:
        super().__init__(message, message_en, certificate_serial=certificate_serial, **fields)
        self.certificate_serial = certificate_serial
