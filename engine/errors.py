"""The engine's exception root. Each error carries what a user needs to act on it.

Errors become messages in exactly one place per interface (the CLI wrapper, the HTTP handler);
everything below raises these and never prints.
"""

from __future__ import annotations


class EngineError(Exception):
    """Root of every error the engine reports to a user.

    ``retryable`` tells the outbox whether running the same step again may succeed (a store
    that timed out) or never will (a definition that is wrong, a certificate that is revoked).
    """

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        document_id: int | None = None,
        step: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.document_id = document_id
        self.step = step
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        where = []
        if self.document_id is not None:
            where.append(f"văn bản #{self.document_id}")
        if self.step:
            where.append(f"bước '{self.step}'")
        return f"{self.message} ({', '.join(where)})" if where else self.message


class DefinitionError(EngineError):
    """A workflow definition is wrong; the message names the file, the line and the step."""

    def __init__(
        self, file: str, problem: str, *, step: str | None = None, line: int | None = None
    ):
        location = file if line is None else f"{file}:{line}"
        if step:
            location += f": step '{step}'"
        super().__init__(f"{location}: {problem}")
        self.file = file
        self.line = line
        self.problem = problem
        self.definition_step = step


class InvalidInput(EngineError):
    """Input from a user (a file, a field, an option) that cannot be accepted."""


class NotFound(EngineError):
    """A document, user, task or record that does not exist."""


class NotAllowed(EngineError):
    """The acting user may not take this action here."""


class ConversionError(EngineError):
    """LibreOffice could not turn a draft into PDF, or the PDF lacks the Decree 30 anchors."""


class ConfigError(EngineError):
    """The configuration (TOML file or environment) is incomplete or contradictory."""
