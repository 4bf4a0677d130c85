"""The signing package's errors: :class:`SigningError` under Vanthu's one root.

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
        message_en: str | None = None,
        *,
        certificate_serial: int | None = None,
        **fields: Any,
    ) -> None:
        super().__init__(
            message, message_en or message, certificate_serial=certificate_serial, **fields
        )
        self.certificate_serial = certificate_serial
