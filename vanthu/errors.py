"""Vanthu's one error model, shared by engine, signing and storage.

Every error a person or a program may see is a :class:`VanthuError`: a stable ``code``
(``document.not_found``, ``signing.policy.revoked``, ``storage.unavailable``), a Vietnamese and an
English message, whether trying again may help (``retryable``), and the fields a caller needs
(document, step, file, line, and details such as a certificate's serial).

Codes are what programs and tests compare; messages are for people and may change. The ``kind``
says what sort of failure it is; each face turns kinds into its own signals in one place (the
CLI into exit codes, the HTTP layer into status codes).
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

CODE_PATTERN = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+")
"""A code is dotted lower-case words, the first naming the area: ``storage.unavailable``."""


class Kind(StrEnum):
    """What sort of failure an error is; the faces map kinds to exit and status codes."""

    INVALID = "invalid"
    """The request cannot be accepted as given: an option, a field, a file."""
    NOT_FOUND = "not_found"
    """What was named does not exist."""
    FORBIDDEN = "forbidden"
    """The person acting may not do this."""
    CONFLICT = "conflict"
    """The state of things does not allow it now (already issued, file closed, under retention)."""
    CONFIG = "config"
    """The installation is incomplete or wrong; an administrator must act."""
    UNAVAILABLE = "unavailable"
    """A service did not answer in time; the same request may succeed later."""
    FAILED = "failed"
    """The operation was attempted and refused or failed (a revoked certificate, a bad PDF)."""


class VanthuError(Exception):
    """Root of every error Vanthu reports to a person or a program."""

    code: str = "vanthu.error"
    kind: Kind = Kind.FAILED
    retryable: bool = False

    def __init__(
        self,
        message: str,
        message_en: str,
        *,
        code: str | None = None,
        kind: Kind | None = None,
        retryable: bool | None = None,
        document_id: int | None = None,
        step: str | None = None,
        file: str | None = None,
        line: int | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.message_en = message_en
        if code is not None:
            self.code = code
        if kind is not None:
            self.kind = kind
        if retryable is not None:
            self.retryable = retryable
        if self.retryable:
            self.kind = Kind.UNAVAILABLE
        self.document_id = document_id
        self.step = step
        self.file = file
        self.line = line
        self.details: dict[str, Any] = details

    LABELS: ClassVar[dict[str, tuple[str, str]]] = {
        "document_id": ("văn bản #{}", "document #{}"),
        "step": ("bước '{}'", "step '{}'"),
    }
    """How a field shows in the message's closing parenthesis (Vietnamese, English)."""

    def _where(self, language: int) -> str:
        fields = self.fields()
        parts = [
            labels[language].format(fields[name])
            for name, labels in self.LABELS.items()
            if name in fields
        ]
        return f" ({', '.join(parts)})" if parts else ""

    def _located(self, text: str) -> str:
        if self.file is None or text.startswith(self.file):
            return text
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {text}"

    def __str__(self) -> str:
        return self._located(self.message) + self._where(0)

    @property
    def english(self) -> str:
        """The English message with the same location."""
        return self._located(self.message_en) + self._where(1)

    def fields(self) -> dict[str, Any]:
        """The fields a caller needs, without the empty ones."""
        named = {
            "document_id": self.document_id,
            "step": self.step,
            "file": self.file,
            "line": self.line,
        }
        return {k: v for k, v in {**named, **self.details}.items() if v is not None}

    def to_json(self) -> dict[str, Any]:
        """The error as programs receive it (the HTTP body, ``--json`` output): plain JSON
        values only (times in ISO 8601, other objects as text)."""
        return {
            "code": self.code,
            "kind": self.kind.value,
            "message": str(self),
            "message_en": self.english,
            "retryable": self.retryable,
            **{name: _plain(value) for name, value in self.fields().items()},
        }

    def __reduce__(self) -> tuple[Any, ...]:
        # The constructor needs both messages, so rebuild from the state, not from ``args``
        # (which holds only the Vietnamese): an error that crosses a process keeps its code,
        # kind and fields.
        return (_rebuilt, (type(self), self.args), self.__dict__)


def _rebuilt(cls: type[VanthuError], args: tuple[Any, ...]) -> VanthuError:
    error = cls.__new__(cls)
    error.args = args
    return error


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)
