"""Vietnam time: what signatures show (/M) and what reports give users.

The CMS signing-time attribute is encoded in UTC anyway; everything a person reads is in
Asia/Ho_Chi_Minh (+07:00, no daylight saving).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from vanthu import clock

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def now_in_vietnam() -> datetime:
    return clock.now().astimezone(VIETNAM)


def in_vietnam(moment: datetime | None) -> datetime | None:
    """The same instant on Vietnam's clock; a naive time is taken as UTC, as pyHanko gives it."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(VIETNAM)
