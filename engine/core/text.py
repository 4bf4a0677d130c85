"""Vietnamese text helpers."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def fold(text: str) -> str:
    """Lower case without diacritics, so 'quyet dinh' matches 'Quyết định' (đ folds to d)."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def vietnam_time(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VIETNAM)


def date_line(moment: datetime) -> str:
    """'ngày 05 tháng 01 năm 2026': days below 10 and months 1-2 take a leading zero."""
    local = vietnam_time(moment)
    month = f"{local.month:02d}" if local.month <= 2 else str(local.month)
    return f"ngày {local.day:02d} tháng {month} năm {local.year}"
