"""Deadlines in working days: weekends and Vietnamese public holidays are skipped."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from engine.core.calendar import VIETNAM_TIME, add_working_days, is_working_day, load_holidays
from engine.core.errors import ConfigError
from tests_support import refused

HOLIDAYS = load_holidays()


def test_a_deadline_over_a_weekend_lands_after_it_at_the_same_time() -> None:
    friday = datetime(2026, 3, 13, 15, 30)
    assert add_working_days(friday, 1, HOLIDAYS) == datetime(2026, 3, 16, 15, 30)
    assert add_working_days(friday, 5, HOLIDAYS) == datetime(2026, 3, 20, 15, 30)
    saturday, sunday, monday = (datetime(2026, 3, day, 9, 0) for day in (14, 15, 16))
    for arrival in (saturday, sunday, monday):  # weekend work counts from Monday
        assert add_working_days(arrival, 1, HOLIDAYS) == datetime(2026, 3, 17, 9, 0)
    assert add_working_days(datetime(2026, 3, 10, 9, 0), 2, HOLIDAYS) == datetime(2026, 3, 12, 9)


def test_tet_2026_is_skipped() -> None:
    assert not is_working_day(date(2026, 2, 17), HOLIDAYS)  # mùng 1 Tết Bính Ngọ, a Tuesday
    thursday_before = datetime(2026, 2, 12, 9, 0)
    assert add_working_days(thursday_before, 1, HOLIDAYS) == datetime(2026, 2, 13, 9, 0)
    assert add_working_days(thursday_before, 2, HOLIDAYS) == datetime(2026, 2, 23, 9, 0)
    assert add_working_days(datetime(2026, 2, 13, 16, 45), 3, HOLIDAYS) == datetime(
        2026, 2, 25, 16, 45
    )


def test_the_swapped_days_of_2026_are_holidays() -> None:
    assert not is_working_day(date(2026, 1, 2), HOLIDAYS)  # Friday swapped after Tết Dương lịch
    assert not is_working_day(date(2026, 4, 27), HOLIDAYS)  # Giỗ Tổ fell on Sunday 26/4
    assert not is_working_day(date(2026, 8, 31), HOLIDAYS)  # Monday swapped before Quốc khánh
    assert not is_working_day(date(2026, 9, 1), HOLIDAYS)  # the day next to Quốc khánh
    assert is_working_day(date(2026, 9, 3), HOLIDAYS)
    new_year_eve = datetime(2025, 12, 31, 10, 0)
    assert add_working_days(new_year_eve, 1, HOLIDAYS) == datetime(2026, 1, 5, 10, 0)


@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_each_year_has_every_public_holiday(year: int) -> None:
    """The Labour Code's 11 days; Tết Nguyên đán is five working days off (art. 112)."""
    weekdays_off = {d for d in HOLIDAYS if d.year == year and d.weekday() < 5}
    tet = {d for d in weekdays_off if date(year, 1, 15) <= d <= date(year, 2, 28)}
    assert len(tet) == 5, sorted(tet)
    assert date(year, 1, 1) in HOLIDAYS
    assert {date(year, 4, 30), date(year, 9, 2)} <= HOLIDAYS
    for holiday in (date(year, 5, 1), date(year, 9, 2)):
        assert holiday in HOLIDAYS
        if holiday.weekday() >= 5:  # on a weekend: the next working day is off instead
            monday = holiday + timedelta(days=7 - holiday.weekday())
            assert monday in HOLIDAYS
    national_day_pair = {date(year, 9, 1), date(year, 9, 3)} & weekdays_off
    assert national_day_pair, "Quốc khánh needs its adjacent day"
    hung_kings = {d for d in weekdays_off if date(year, 4, 1) <= d <= date(year, 4, 29)}
    assert len(hung_kings) == 1, sorted(hung_kings)


def test_an_aware_moment_counts_on_the_vietnamese_calendar() -> None:
    # 18:00 UTC on Friday 13 March is 01:00 on Saturday in Hà Nội: it counts from Monday.
    friday_utc = datetime(2026, 3, 13, 18, 0, tzinfo=UTC)
    due = add_working_days(friday_utc, 1, HOLIDAYS)
    assert due == datetime(2026, 3, 16, 18, 0, tzinfo=UTC) and due.tzinfo is UTC
    assert due.astimezone(VIETNAM_TIME) == datetime(2026, 3, 17, 1, 0, tzinfo=VIETNAM_TIME)
    # 16:00 UTC on Thursday 12 March is 23:00 the same Thursday in Hà Nội: Friday comes next.
    thursday_utc = datetime(2026, 3, 12, 16, 0, tzinfo=UTC)
    assert add_working_days(thursday_utc, 1, HOLIDAYS) == datetime(2026, 3, 13, 16, 0, tzinfo=UTC)
    # 23:00 UTC on Friday 13 February is Saturday 14 in Hà Nội, the first day of the Tết leave:
    # it counts from Monday 23, so it is due on Tuesday 24 at 06:00 in Hà Nội.
    assert add_working_days(datetime(2026, 2, 13, 23, 0, tzinfo=UTC), 1, HOLIDAYS) == datetime(
        2026, 2, 23, 23, 0, tzinfo=UTC
    )


@pytest.mark.parametrize("days", [0, -1, True])
def test_a_deadline_needs_at_least_one_day(days: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        add_working_days(datetime(2026, 3, 13, 9, 0), days, HOLIDAYS)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("2026:\n  - [2026-02-20, 2026-02-14]\n", "holidays.entry_invalid"),
        ("2026:\n  - 2026-13-01\n", "holidays.date_invalid"),
        ("2026:\n  - 2027-01-01\n", "holidays.entry_outside_year"),
        ("2026:\n  - 2026-01-01 08:00:00\n", "holidays.entry_invalid"),
        ("2026: 2026-01-01\n", "holidays.year_invalid"),
        ("- 2026-01-01\n", "holidays.file_invalid"),
        ("2026:\n  - [2026-01-01\n", "holidays.file_unreadable"),
    ],
    ids=[
        "range backwards",
        "no such date",
        "wrong year",
        "a time",
        "not a list",
        "no years",
        "yaml",
    ],
)
def test_a_broken_holiday_file_is_named(tmp_path: Path, text: str, code: str) -> None:
    path = tmp_path / "holidays.yaml"
    path.write_text(text, encoding="utf-8")
    with refused(code, ConfigError, file=str(path)) as caught:
        load_holidays(path)
    assert str(caught.value).startswith(f"{path}: "), caught.value
    assert caught.value.english.startswith(f"{path}: "), caught.value.english


def test_an_agency_can_correct_the_holiday_file(tmp_path: Path) -> None:
    path = tmp_path / "holidays.yaml"
    path.write_text("2026:\n  - 2026-11-24  # Ngày Văn hóa Việt Nam\n", encoding="utf-8")
    holidays = load_holidays(path)
    assert holidays == {date(2026, 11, 24)}
    assert add_working_days(datetime(2026, 11, 23, 9), 1, holidays) == datetime(2026, 11, 25, 9)
