"""The signing package's exception root: one type, carrying what a user needs to act on it."""

from __future__ import annotations


class SigningError(Exception):
    """A key, a certificate, a PDF or a signature that cannot be used as asked.

    ``retryable`` is False for everything that will fail again the same way (a wrong passphrase,
    a PDF without the Decree 30 fields); True only where a later attempt may succeed.
    """

    def __init__(
        self,
        message: str,
        *,
        certificate_serial: int | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.certificate_serial = certificate_serial
        self.retryable = retryable

    def __str__(self) -> str:
        if self.certificate_serial is None:
            return self.message
        return f"{self.message} (chứng thư số sê-ri {self.certificate_serial:x})"
