"""The engine's errors: :class:`EngineError` under Vanthu's one root, a subclass per kind.

Errors become messages in exactly one place per interface (the CLI, the HTTP layer); everything
below raises these and never prints. Each raise gives a stable ``code`` and both messages.
"""

from __future__ import annotations

from typing import Any

from vanthu.errors import Kind, VanthuError


class EngineError(VanthuError):
    """Root of the engine's errors. ``retryable`` tells the outbox whether running the same step
    again may succeed (a store that timed out) or never will (a definition that is wrong)."""

    code = "engine.error"

    def __init__(self, message: str, message_en: str, **fields: Any) -> None:
        super().__init__(message, message_en, **fields)


class InvalidInput(EngineError):
    """Input from a user (a file, a field, an option) that cannot be accepted."""

    code = "input.invalid"
    kind = Kind.INVALID


class NotFound(EngineError):
    """A document, user, task or record that does not exist."""

    code = "engine.not_found"
    kind = Kind.NOT_FOUND


class NotAllowed(EngineError):
    """The acting user may not take this action here."""

    code = "permission.denied"
    kind = Kind.FORBIDDEN


class Conflict(EngineError):
    """The state of things does not allow the action now (already issued, file closed)."""

    code = "state.conflict"
    kind = Kind.CONFLICT


class ConversionError(EngineError):
    """LibreOffice could not turn a draft into PDF, or the PDF lacks the Decree 30 anchors."""

    code = "conversion.failed"


class ConfigError(EngineError):
    """The configuration (TOML file or environment) is incomplete or contradictory."""

    code = "config.invalid"
    kind = Kind.CONFIG


class DefinitionError(EngineError):
    """A workflow definition is wrong; the message names the file, the line and the step."""

    code = "workflow.definition.invalid"
    kind = Kind.CONFIG

    def __init__(
        self,
        file: str,
        problem: str,
        problem_en: str,
        *,
        step: str | None = None,
        line: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(
            (f"bước '{step}': " if step else "") + problem,
            (f"step '{step}': " if step else "") + problem_en,
            file=file,
            line=line,
            code=code,
            definition_step=step,
        )
        self.problem = problem
        self.definition_step = step
