"""Deadlines in working days: weekends and Vietnamese public holidays are skipped."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from engine.calendar import add_working_days, is_working_day, load_holidays
from engine.errors import ConfigError

HOLIDAYS = load_holidays()


def test_a_deadline_over_a_weekend_lands_on_monday() -> None:
    friday = datetime(2026, 3, 13, 15, 30)
    assert add_working_days(friday, 1, HOLIDAYS) == datetime(2026, 3, 16, 15, 30)
    assert add_working_days(friday, 5, HOLIDAYS) == datetime(2026, 3, 20, 15, 30)


def test_tet_2026_is_skipped() -> None:
    assert not is_working_day(date(2026, 2, 17), HOLIDAYS)  # mùng 1 Tết Bính Ngọ
    before_tet = datetime(2026, 2, 12, 9, 0)  # Thursday
    assert add_working_days(before_tet, 2, HOLIDAYS) == datetime(2026, 2, 23, 9, 0)


def test_national_day_and_new_year_are_holidays() -> None:
    assert not is_working_day(date(2026, 9, 2), HOLIDAYS)
    assert not is_working_day(date(2027, 1, 1), HOLIDAYS)
    assert is_working_day(date(2026, 9, 3), HOLIDAYS)


def test_a_broken_holiday_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "holidays.yaml"
    path.write_text("2026:\n  - [2026-02-20, 2026-02-14]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"holidays\.yaml: năm 2026"):
        load_holidays(path)
