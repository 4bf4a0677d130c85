"""Text people type into a document's fields (subject, sender, symbol, body lines), checked once
before anything is stored: a bounded length and no control characters.

A control character cannot be written into a DOCX (XML refuses it), breaks a one-line field in
every register and report, and a bidirectional override makes a subject read differently from
what it holds; all are refused with the field named, never left to fail in a library.
"""

from __future__ import annotations

import unicodedata

from engine.core.errors import InvalidInput

SUBJECT_MAX = 255
"""A subject (trích yếu) is one sentence; 255 is also the DOCX title property's limit."""
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def checked_line(value: str, field: str, *, max_length: int) -> str:
    """``value`` stripped and in NFC, if it is one line of at most ``max_length`` characters
    without control characters; ``field`` names it for the person (``--subject``)."""
    text = unicodedata.normalize("NFC", value.strip())
    _refuse_controls(text, field, allow_tab=False)
    if len(text) > max_length:
        raise InvalidInput(
            f"{field} dài {len(text)} ký tự, tối đa {max_length}",
            f"{field} is {len(text)} characters long, at most {max_length}",
            code="input.text_too_long",
            field=field,
            length=len(text),
            max_length=max_length,
        )
    return text


def checked_lines(lines: tuple[str, ...], field: str) -> tuple[str, ...]:
    """Paragraphs (a body, recipients): each without control characters (a tab is allowed)."""
    for number, line in enumerate(lines, start=1):
        _refuse_controls(line, field, allow_tab=True, line=number)
    return tuple(unicodedata.normalize("NFC", line) for line in lines)


def _refuse_controls(text: str, field: str, *, allow_tab: bool, line: int | None = None) -> None:
    for position, char in enumerate(text, start=1):
        if char == "\t" and allow_tab:
            continue
        if unicodedata.category(char) in ("Cc", "Cs") or char in _BIDI_CONTROLS:
            where = f" dòng {line}," if line else ""
            where_en = f" line {line}," if line else ""
            raise InvalidInput(
                f"{field}:{where} có ký tự điều khiển U+{ord(char):04X} ở vị trí {position}",
                f"{field}:{where_en} has the control character U+{ord(char):04X} at position "
                f"{position}",
                code="input.text_control",
                field=field,
                character=f"U+{ord(char):04X}",
                position=position,
                text_line=line,
            )
