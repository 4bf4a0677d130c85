"""Retention classes (thời hạn bảo quản) and the agency's list that assigns them.

The classes are those of Thông tư 10/2022/TT-BNV: Vĩnh viễn (permanent), 70, 50, 30, 20, 10 and
5 years. A period is counted from the end of the year the matter ends: a 5-year record of a
matter that ended in 2026 is kept until the end of 2031, i.e. until 1 January 2032, 00:00 Vietnam
time. Permanent is ``None`` here and in the database; in the store it is written as the latest
date the server accepts (``ObjectStore.max_retain_until``), extended later.

Which class a record gets is configuration: ``engine/data/retention.yaml`` by default, or the
agency's own file named by the setting ``retention_file``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from engine.core.errors import ConfigError, InvalidInput
from engine.core.text import VIETNAM, fold
from engine.core.workspace import Workspace
from storage import ObjectStore

PERMANENT_LABEL = "Vĩnh viễn"
YEAR_CLASSES = (70, 50, 30, 20, 10, 5)
"""Retention classes in years; together with Vĩnh viễn (None) the only ones allowed."""
SHIPPED = Path(__file__).parent / "data" / "retention.yaml"
_KEYS = frozenset({"default", "by_register", "by_doc_type", "restricted_doc_types"})


@dataclass(frozen=True)
class RetentionSchedule:
    """The agency's list: which retention class and access level a record gets."""

    default: int | None
    """The class of a record no entry names (None: Vĩnh viễn)."""
    by_register: Mapping[str, int | None] = field(default_factory=dict)
    """Register code (sổ đăng ký, e.g. 'QD') -> class; wins over the document type."""
    by_doc_type: Mapping[str, int | None] = field(default_factory=dict)
    """Document type name ('Quyết định') -> class."""
    restricted_doc_types: frozenset[str] = frozenset()
    """Document types whose records are restricted (hạn chế sử dụng)."""
    source: str = str(SHIPPED)
    """The file it was read from, for messages."""

    def years_for(self, doc_type: str, register_code: str | None = None) -> int | None:
        """The retention class of a record of ``doc_type`` entered in register ``register_code``."""
        if register_code is not None and register_code in self.by_register:
            return self.by_register[register_code]
        if doc_type in self.by_doc_type:
            return self.by_doc_type[doc_type]
        return self.default

    def access_for(self, doc_type: str) -> str:
        """'restricted' for the document types the agency restricts, else 'public'."""
        return "restricted" if doc_type in self.restricted_doc_types else "public"


def label(years: int | None) -> str:
    """How users read a class: 'Vĩnh viễn' or '20 năm'."""
    return PERMANENT_LABEL if years is None else f"{years} năm"


def parse_class(value: Any, where: str | None = None) -> int | None:
    """A class from configuration or the command line: 'Vĩnh viễn' (also 'vinh vien',
    'permanent') or one of 70, 50, 30, 20, 10, 5 (a number, or '20 năm'). ``where`` names the
    option or key in the refusal."""
    if isinstance(value, bool):
        value = str(value)
    if isinstance(value, int):
        years: int | None = value
    else:
        text = " ".join(fold(unicodedata.normalize("NFC", str(value))).split())
        if text in ("vinh vien", "permanent"):
            return None
        text = text.removesuffix(" nam").strip()
        years = int(text) if text.isdigit() else None
    if years is None or years not in YEAR_CLASSES:
        allowed = ", ".join([PERMANENT_LABEL, *(str(y) for y in YEAR_CLASSES)])
        raise InvalidInput(
            f"{where or 'thời hạn bảo quản'}: '{value}' không phải thời hạn bảo quản hợp lệ"
            f" ({allowed})",
            f"{where or 'retention class'}: '{value}' is not a valid retention class ({allowed})",
            code="retention.class_unknown",
            value=str(value),
        )
    return years


def longer(a: int | None, b: int | None) -> int | None:
    """The longer of two classes (Vĩnh viễn is the longest)."""
    if a is None or b is None:
        return None
    return max(a, b)


def retain_until(years: int | None, end_year: int) -> datetime | None:
    """The end of the retention period (UTC) of a matter that ended in ``end_year``; None for
    Vĩnh viễn. Counted from the end of that year: kept through 31 December of end_year+years."""
    if years is None:
        return None
    return datetime(end_year + years + 1, 1, 1, tzinfo=VIETNAM).astimezone(UTC)


def store_retain_until(store: ObjectStore, until: datetime | None) -> datetime:
    """The retention date to write objects with: Vĩnh viễn is the longest the store allows."""
    if until is None or until > store.max_retain_until:
        return store.max_retain_until
    return until


def schedule_for(ws: Workspace) -> RetentionSchedule:
    """The agency's list: the file the settings name, else the shipped one."""
    return load_schedule(ws.settings.retention_file or SHIPPED)


def load_schedule(path: Path) -> RetentionSchedule:
    """Read and check a retention list; a wrong entry is a ConfigError naming file, line and key."""
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    return _load(path, stamp)


def _unreadable(path: Path, exc: Exception) -> ConfigError:
    return ConfigError(
        f"không đọc được danh mục thời hạn bảo quản: {exc}",
        f"cannot read the retention schedule: {exc}",
        code="retention.file_unreadable",
        file=str(path),
    )


class _Checked:
    """Refusals for one retention list: its file, and the line each key stands on."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines: dict[tuple[str, ...], int] = {}
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            return
        if not isinstance(root, yaml.MappingNode):
            return
        for key, value in root.value:
            self.lines[(str(key.value),)] = key.start_mark.line + 1
            if isinstance(value, yaml.MappingNode):
                for inner, _ in value.value:
                    self.lines[(str(key.value), str(inner.value))] = inner.start_mark.line + 1

    def invalid(self, message: str, message_en: str, *key: str) -> ConfigError:
        return ConfigError(
            message,
            message_en,
            code="retention.file_invalid",
            file=str(self.path),
            line=self.lines.get(key),
            key=".".join(key) or None,
        )

    def years(self, value: Any, *key: str) -> int | None:
        try:
            return parse_class(value, ".".join(key))
        except InvalidInput as exc:
            raise self.invalid(exc.message, exc.message_en, *key) from exc


@cache
def _load(path: Path, _stamp: int) -> RetentionSchedule:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _unreadable(path, exc) from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        raise ConfigError(
            f"không đọc được danh mục thời hạn bảo quản: {exc}",
            f"cannot read the retention schedule: {exc}",
            code="retention.file_invalid",
            file=str(path),
            line=mark.line + 1 if mark is not None else None,
        ) from exc
    checked = _Checked(path, text)
    if not isinstance(raw, dict):
        raise checked.invalid(
            "danh mục thời hạn bảo quản phải là một bảng khóa: giá trị",
            "the retention schedule must be a table of key: value",
        )
    unknown = sorted(map(str, set(raw) - _KEYS))
    if unknown:
        raise checked.invalid(
            f"khóa không hợp lệ: {', '.join(unknown)}",
            f"unknown keys: {', '.join(unknown)}",
            unknown[0],
        )
    if "default" not in raw:
        raise checked.invalid(
            "thiếu 'default' (thời hạn mặc định)", "'default' (the default class) is missing"
        )
    restricted = raw.get("restricted_doc_types") or []
    if not isinstance(restricted, list):
        raise checked.invalid(
            "restricted_doc_types phải là một danh sách loại văn bản",
            "restricted_doc_types must be a list of document types",
            "restricted_doc_types",
        )
    return RetentionSchedule(
        default=checked.years(raw["default"], "default"),
        by_register=_mapping(checked, raw, "by_register"),
        by_doc_type=_mapping(checked, raw, "by_doc_type"),
        restricted_doc_types=frozenset(str(t) for t in restricted),
        source=str(path),
    )


def _mapping(checked: _Checked, raw: dict[str, Any], key: str) -> dict[str, int | None]:
    entries = raw.get(key) or {}
    if not isinstance(entries, dict):
        raise checked.invalid(
            f"'{key}' phải là một bảng tên: thời hạn",
            f"'{key}' must be a table of name: class",
            key,
        )
    return {str(name): checked.years(value, key, str(name)) for name, value in entries.items()}
