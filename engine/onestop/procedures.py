"""Administrative procedures as data: what the one-stop desk checks a dossier against.

The list is a YAML file an agency replaces (setting ``procedures_file``); the shipped one holds
samples. Every mistake is refused when the file is read, naming the file and the procedure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from engine.core.errors import ConfigError

SHIPPED = Path(__file__).parent / "data" / "procedures.yaml"
"""The sample list shipped with Vanthu (used when ``procedures_file`` is not set)."""

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,39}\Z")
_MAX_DAYS = 365
_MAX_FEE = 1_000_000_000
_KEYS = {"code", "name", "days", "unit", "components"}
_OPTIONAL = {"result", "fee"}

DECISION = "decision"
"""The result is an administrative decision (Quyết định): numbered in the agency's outgoing
register and sealed, as an outgoing document is."""
DOCUMENT = "document"
"""The result is another document (a licence, a certificate, a written answer): signed by the
head of the handling unit, not numbered."""
RESULT_KINDS = {DECISION: "Quyết định hành chính", DOCUMENT: "Văn bản, giấy tờ khác"}


@dataclass(frozen=True)
class Component:
    """One paper a procedure requires (thành phần hồ sơ)."""

    name: str
    """'Tờ trình đề nghị thành lập tổ chức hành chính'."""
    originals: int
    """How many originals (bản chính)."""
    copies: int
    """How many copies (bản sao)."""


@dataclass(frozen=True)
class Procedure:
    """An administrative procedure (thủ tục hành chính) the agency settles."""

    code: str
    """The procedure's code, printed on the receipt."""
    name: str
    """'Thủ tục thẩm định thành lập tổ chức hành chính'."""
    days: int
    """The legal time limit in working days, counted from receipt of a complete dossier."""
    unit: str
    """The handling unit's code ('TCBC')."""
    components: tuple[Component, ...]
    """The papers required, in the order the desk checks them."""
    result: str = DOCUMENT
    """:data:`DECISION` or :data:`DOCUMENT` (key ``result``, default ``document``)."""
    fee: int = 0
    """Fees and charges in đồng (key ``fee``, default 0): what the unit asks for by default."""


def load_procedures(path: Path | None) -> dict[str, Procedure]:
    """The procedures of ``path`` (default the shipped samples), by code."""
    source = path or SHIPPED
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _bad(
            source, f"không đọc được tệp: {exc.strerror}", f"cannot read it: {exc.strerror}"
        ) from exc
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise _bad(
            source, f"không phải YAML UTF-8 hợp lệ: {exc}", f"not valid UTF-8 YAML: {exc}"
        ) from exc
    items = raw.get("procedures") if isinstance(raw, dict) else None
    if not isinstance(items, list) or not items:
        raise _bad(source, "cần danh sách 'procedures'", "a list 'procedures' is needed")
    found: dict[str, Procedure] = {}
    for index, item in enumerate(items, 1):
        procedure = _procedure(source, index, item)
        if procedure.code in found:
            raise _bad(
                source, f"mã thủ tục '{procedure.code}' trùng", f"duplicate code '{procedure.code}'"
            )
        found[procedure.code] = procedure
    return found


def _procedure(source: Path, index: int, item: Any) -> Procedure:
    where, where_en = f"thủ tục thứ {index}", f"procedure {index}"
    if not isinstance(item, dict) or not _KEYS <= set(item) <= _KEYS | _OPTIONAL:
        raise _bad(
            source,
            f"{where}: cần các khóa code, name, days, unit, components (thêm được result, fee)",
            f"{where_en}: the keys code, name, days, unit, components are needed (result and "
            "fee may follow)",
        )
    code, name, days, unit = item["code"], item["name"], item["days"], item["unit"]
    if not isinstance(code, str) or not _CODE.match(code):
        raise _bad(source, f"{where}: mã '{code}' không hợp lệ", f"{where_en}: bad code '{code}'")
    if not isinstance(name, str) or not name.strip():
        raise _bad(source, f"{where} ({code}): thiếu tên", f"{where_en} ({code}): no name")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= _MAX_DAYS:
        raise _bad(
            source,
            f"{where} ({code}): thời hạn phải là số ngày làm việc từ 1 đến {_MAX_DAYS}",
            f"{where_en} ({code}): days must be a number of working days from 1 to {_MAX_DAYS}",
        )
    if not isinstance(unit, str) or not unit.strip():
        raise _bad(source, f"{where} ({code}): thiếu đơn vị", f"{where_en} ({code}): no unit")
    components = item["components"]
    if not isinstance(components, list) or not components:
        raise _bad(
            source,
            f"{where} ({code}): thiếu thành phần hồ sơ",
            f"{where_en} ({code}): no components",
        )
    result, fee = item.get("result", DOCUMENT), item.get("fee", 0)
    if result not in RESULT_KINDS:
        raise _bad(
            source,
            f"{where} ({code}): result là decision (quyết định) hoặc document, không phải "
            f"'{result}'",
            f"{where_en} ({code}): result is decision or document, not '{result}'",
        )
    if isinstance(fee, bool) or not isinstance(fee, int) or not 0 <= fee <= _MAX_FEE:
        raise _bad(
            source,
            f"{where} ({code}): fee là số tiền (đồng) từ 0 đến {_MAX_FEE}",
            f"{where_en} ({code}): fee is an amount in đồng from 0 to {_MAX_FEE}",
        )
    return Procedure(
        code,
        name.strip(),
        days,
        unit.strip(),
        tuple(_component(source, code, c) for c in components),
        result,
        fee,
    )


def _component(source: Path, code: str, item: Any) -> Component:
    if (
        not isinstance(item, dict)
        or set(item) != {"name", "originals", "copies"}
        or not isinstance(item["name"], str)
        or not item["name"].strip()
        or not all(
            isinstance(item[k], int) and not isinstance(item[k], bool) and 0 <= item[k] <= 99
            for k in ("originals", "copies")
        )
    ):
        raise _bad(
            source,
            f"thủ tục {code}: mỗi thành phần cần name, originals, copies (số bản từ 0 đến 99)",
            f"procedure {code}: each component needs name, originals, copies (0 to 99)",
        )
    return Component(item["name"].strip(), item["originals"], item["copies"])


def _bad(source: Path, problem: str, problem_en: str) -> ConfigError:
    return ConfigError(
        f"danh mục thủ tục {source}: {problem}",
        f"procedure list {source}: {problem_en}",
        code="onestop.procedures_invalid",
        file=str(source),
    )
