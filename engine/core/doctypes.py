"""Decree 30 document types and their abbreviations (shipped as engine/data)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from engine.core.errors import InvalidInput

_DATA = Path(__file__).parent / "data" / "document_types.yaml"


@cache
def document_types() -> dict[str, str | None]:
    """Type name -> abbreviation used in the symbol (None for Công văn, Thư công)."""
    entries = yaml.safe_load(_DATA.read_text(encoding="utf-8"))
    return {entry["name"]: entry["abbr"] for entry in entries}


def type_abbreviation(name: str) -> str | None:
    types = document_types()
    if name not in types:
        known = ", ".join(types)
        raise InvalidInput(
            f"loại văn bản '{name}' không có trong Nghị định 30 (có: {known})",
            f"the document type '{name}' is not in Decree 30 (there are: {known})",
            code="doctype.unknown",
            doc_type=name,
        )
    return types[name]
