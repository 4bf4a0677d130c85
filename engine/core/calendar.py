"""Working days: deadlines count Monday to Friday and skip Vietnamese public holidays.

The holiday list is configuration (engine/data/holidays.yaml): the Government fixes the exact
days off each year, and an agency corrects the file when an announcement differs. A Saturday
worked to make up for a swapped weekday (ngày làm bù) is a working day: the file lists those
under ``working_saturdays``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

from engine.core.errors import ConfigError, InvalidInput

HOLIDAYS_FILE = Path(__file__).parent / "data" / "holidays.yaml"

MAX_WORKING_DAYS = 100_000
"""About 380 years: counting further is a mistake, not a deadline (and slow to count)."""

VIETNAM_TIME = timezone(timedelta(hours=7), "ICT")
"""Vietnam keeps UTC+7 all year; a working day is a day on the agency's wall calendar."""


WORKING_SATURDAYS = "working_saturdays"
"""The file's key for make-up Saturdays, per year; every other key is a year of days off."""


class Holidays(frozenset[date]):
    """The days off, and the Saturdays worked instead (ngày làm bù).

    A frozenset of the days off, so callers that only know holidays keep working; the make-up
    Saturdays ride along and :func:`is_working_day` counts them.
    """

    working_saturdays: frozenset[date]

    def __new__(
        cls, days_off: Iterable[date] = (), working_saturdays: Iterable[date] = ()
    ) -> Holidays:
        made = super().__new__(cls, days_off)
        made.working_saturdays = frozenset(working_saturdays)
        return made


def is_working_day(day: date, holidays: Collection[date]) -> bool:
    """Monday to Friday and not a public holiday (or a weekday swapped into a holiday), or a
    make-up Saturday."""
    if day in getattr(holidays, "working_saturdays", ()):
        return True
    return day.weekday() < 5 and day not in holidays


def add_working_days(start: datetime, days: int, holidays: Collection[date]) -> datetime:
    """The moment ``days`` working days after ``start``, at the same time of day.

    Work that arrives on a weekend or a holiday counts from the next working day, so it still
    gets ``days`` whole working days: Saturday 10:00 plus one is Tuesday 10:00, like Monday 10:00.
    An aware ``start`` is counted on Vietnam's calendar (18:00 UTC on a Friday is already Saturday
    in Hà Nội) and returned in its own zone; a naive one is taken as Vietnam's local time.
    """
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"days must be a whole number of at least 1, not {days!r}")
    if days > MAX_WORKING_DAYS:
        raise _beyond_calendar(days)
    local = start.astimezone(VIETNAM_TIME) if start.tzinfo is not None else start
    try:
        while not is_working_day(local.date(), holidays):
            local += timedelta(days=1)
        while days:
            local += timedelta(days=1)
            if is_working_day(local.date(), holidays):
                days -= 1
    except OverflowError as exc:  # past 31/12/9999
        raise _beyond_calendar(days) from exc
    return local.astimezone(start.tzinfo) if start.tzinfo is not None else local


def _beyond_calendar(days: int) -> InvalidInput:
    return InvalidInput(
        f"hạn {days} ngày làm việc vượt quá lịch (tối đa {MAX_WORKING_DAYS} ngày)",
        f"a deadline of {days} working days runs past the calendar (at most "
        f"{MAX_WORKING_DAYS} days)",
        code="calendar.deadline_too_far",
        days=days,
    )


def load_holidays(path: Path | None = None) -> Holidays:
    """Read the holiday list: per year, single dates or [first, last] ranges; and, under
    ``working_saturdays``, per year the Saturdays worked instead of a swapped weekday."""
    path = path or HOLIDAYS_FILE
    try:
        years = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"không đọc được danh sách ngày nghỉ: {exc}",
            f"cannot read the list of holidays: {exc}",
            code="holidays.file_unreadable",
            file=str(path),
        ) from exc
    except ValueError as exc:  # PyYAML builds dates while parsing: 2026-13-01 fails there
        raise ConfigError(
            f"có ngày không có thật trong lịch ({exc})",
            f"a date that does not exist in the calendar ({exc})",
            code="holidays.date_invalid",
            file=str(path),
        ) from exc
    if not isinstance(years, dict):
        raise ConfigError(
            "cần các năm (2026:, 2027:...), mỗi năm một danh sách ngày nghỉ",
            "years are needed (2026:, 2027:...), each with a list of holidays",
            code="holidays.file_invalid",
            file=str(path),
        )
    saturdays = _working_saturdays(path, years.pop(WORKING_SATURDAYS, None))
    days: set[date] = set()
    for year, entries in years.items():
        if not isinstance(year, int) or isinstance(year, bool) or not isinstance(entries, list):
            raise ConfigError(
                f"mục '{year}' phải là một năm kèm danh sách ngày nghỉ",
                f"the entry '{year}' must be a year with a list of holidays",
                code="holidays.year_invalid",
                file=str(path),
                year=str(year),
            )
        for entry in entries:
            days.update(_days_of(path, year, entry))
    both = sorted(saturdays & days)
    if both:
        raise ConfigError(
            f"ngày {both[0]:%d/%m/%Y} vừa là ngày nghỉ vừa là ngày làm bù",
            f"{both[0]:%Y-%m-%d} is both a day off and a make-up working day",
            code="holidays.saturday_conflict",
            file=str(path),
        )
    return Holidays(days, saturdays)


def _working_saturdays(path: Path, section: Any) -> frozenset[date]:
    """The make-up Saturdays: ``{year: [date, ...]}``, each a Saturday of its year."""
    if section is None:
        return frozenset()
    if not isinstance(section, dict):
        raise ConfigError(
            f"'{WORKING_SATURDAYS}' cần các năm, mỗi năm một danh sách thứ Bảy làm bù",
            f"'{WORKING_SATURDAYS}' needs years, each with a list of make-up Saturdays",
            code="holidays.saturdays_invalid",
            file=str(path),
        )
    found: set[date] = set()
    for year, entries in section.items():
        if not isinstance(year, int) or isinstance(year, bool) or not isinstance(entries, list):
            raise ConfigError(
                f"{WORKING_SATURDAYS}: mục '{year}' phải là một năm kèm danh sách ngày",
                f"{WORKING_SATURDAYS}: the entry '{year}' must be a year with a list of days",
                code="holidays.saturdays_invalid",
                file=str(path),
                year=str(year),
            )
        for entry in entries:
            if not _is_day(entry) or entry.year != year or entry.weekday() != 5:
                raise ConfigError(
                    f"{WORKING_SATURDAYS}, năm {year}: '{entry}' không phải một thứ Bảy "
                    f"của năm {year}",
                    f"{WORKING_SATURDAYS}, year {year}: '{entry}' is not a Saturday of {year}",
                    code="holidays.saturday_invalid",
                    file=str(path),
                    year=year,
                )
            found.add(entry)
    return frozenset(found)


def _days_of(path: Path, year: int, entry: Any) -> list[date]:
    """The days of one entry: a date, or an inclusive [first, last] range inside ``year``."""
    first, last = (entry, entry) if _is_day(entry) else _pair(entry)
    if not (_is_day(first) and _is_day(last) and first <= last):
        raise ConfigError(
            f"năm {year}: mục '{entry}' không phải ngày (YYYY-MM-DD) "
            "hoặc khoảng [ngày đầu, ngày cuối]",
            f"year {year}: the entry '{entry}' is not a date (YYYY-MM-DD) "
            "or a range [first day, last day]",
            code="holidays.entry_invalid",
            file=str(path),
            year=year,
        )
    if first.year != year or last.year != year:
        raise ConfigError(
            f"năm {year}: mục '{entry}' nằm ngoài năm {year}",
            f"year {year}: the entry '{entry}' lies outside the year {year}",
            code="holidays.entry_outside_year",
            file=str(path),
            year=year,
        )
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _is_day(value: Any) -> bool:
    """A calendar day; a YAML timestamp with a time of day is a mistake here."""
    return isinstance(value, date) and not isinstance(value, datetime)


def _pair(entry: Any) -> tuple[Any, Any]:
    if isinstance(entry, list) and len(entry) == 2:
        return entry[0], entry[1]
    return None, None
