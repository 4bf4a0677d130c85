"""Working days: deadlines count Monday to Friday and skip Vietnamese public holidays."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta
from pathlib import Path

import yaml

from engine.errors import ConfigError

HOLIDAYS_FILE = Path(__file__).parent / "data" / "holidays.yaml"


def is_working_day(day: date, holidays: Collection[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_working_days(start: datetime, days: int, holidays: Collection[date]) -> datetime:
    """The moment ``days`` working days after ``start``, at the same time of day."""
    if days < 1:
        raise ValueError("days must be at least 1")
    moment = start
    while days:
        moment += timedelta(days=1)
        if is_working_day(moment.date(), holidays):
            days -= 1
    return moment


def load_holidays(path: Path | None = None) -> frozenset[date]:
    """Read the holiday list: single dates or [first, last] ranges, grouped by year."""
    path = path or HOLIDAYS_FILE
    try:
        years = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: không đọc được danh sách ngày nghỉ: {exc}") from exc
    days: set[date] = set()
    for year, entries in years.items():
        for entry in entries or []:
            first, last = (entry, entry) if isinstance(entry, date) else tuple(entry)
            if not isinstance(first, date) or not isinstance(last, date) or last < first:
                raise ConfigError(
                    f"{path}: năm {year}: mục '{entry}' không phải ngày hoặc khoảng ngày"
                )
            days.update(first + timedelta(n) for n in range((last - first).days + 1))
    return frozenset(days)
