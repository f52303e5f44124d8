"""When things happen: daily prompt times and pairing round slots, in a guild's own timezone.

Pure and DST-safe. Every function takes and returns *aware* UTC datetimes (a naive datetime is
rejected, because silently treating it as local or UTC is how off-by-an-hour bugs are born), and
does its calendar arithmetic on local dates, never by adding 24 hours to an instant. That way the
local wall time stays fixed across daylight-saving changes and the UTC instant moves instead.

Local times that do not exist or exist twice are resolved as ``zoneinfo`` does with ``fold=0``:

* a time in the spring-forward gap moves forward by the length of the gap (02:30 on the day New
  York skips 02:00-03:00 becomes 03:30 local), so the post is late, never skipped;
* a time in the fall-back overlap is its first occurrence (01:30 on the day New York repeats
  01:00-02:00 is 01:30 EDT), so the post is not delayed by an hour.

A local date on which the time cannot fall at all (a zone that skipped a whole day, as
Pacific/Apia did on 2011-12-30) has no slot and is skipped.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, NamedTuple, get_args
from zoneinfo import ZoneInfo

__all__ = [
    "CADENCES",
    "CATCH_UP_WINDOW",
    "WEEKDAYS",
    "Cadence",
    "DueSlot",
    "format_hhmm",
    "latest_due_post",
    "local_date_of",
    "midpoint",
    "next_daily_post",
    "next_round_slot",
    "parse_hhmm",
    "parse_local_date",
    "round_anchor",
    "scheduled_utc",
    "slot_key",
]

WEEKDAYS: tuple[str, ...] = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
"""Weekday names indexed like ``date.weekday()`` (0 = Monday), for command choices."""

Cadence = Literal["weekly", "biweekly", "monthly"]
CADENCES: tuple[str, ...] = get_args(Cadence)

CATCH_UP_WINDOW = timedelta(hours=6)
"""A daily post missed by less than this (bot down at the time) is still posted on startup."""

_HHMM = re.compile(r"([0-9]{1,2}):([0-9]{2})", re.ASCII)
_SATURDAY = 5
_SEARCH_DAYS = 8  # one week plus a spare day is enough to find the next matching weekday


class DueSlot(NamedTuple):
    """A daily slot that has come: the guild's local date and the UTC instant it was due."""

    local_date: date
    due_utc: datetime


# -- parsing and formatting ----------------------------------------------------------------------


def parse_hhmm(text: str) -> time:
    """Parse a 24-hour ``HH:MM`` (or ``H:MM``) time; surrounding spaces are ignored.

    "7pm", "24:00", "12:60" and "" are rejected with a ``ValueError`` whose message is shown to
    the admin as is, so it says what to type instead.
    """
    candidate = text.strip()
    match = _HHMM.fullmatch(candidate)
    if match is not None:
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour <= 23 and minute <= 59:
            return time(hour, minute)
    shown = candidate.replace("`", "'")[:20]
    lead = f"`{shown}` is not a time." if shown else "A time is needed."
    raise ValueError(f"{lead} Use 24-hour HH:MM, for example 07:30 or 16:45.")


def format_hhmm(at: time) -> str:
    """The time as admins type it, e.g. ``07:30``."""
    return f"{at.hour:02d}:{at.minute:02d}"


# -- local dates and instants --------------------------------------------------------------------


def local_date_of(utc_dt: datetime, tz: ZoneInfo) -> date:
    """The calendar date in ``tz`` at the instant ``utc_dt``."""
    return _aware(utc_dt).astimezone(tz).date()


def scheduled_utc(local_date: date, tz: ZoneInfo, at: time) -> datetime:
    """The UTC instant of wall time ``at`` on ``local_date`` in ``tz`` (gap/overlap as above)."""
    wall = datetime.combine(local_date, at.replace(tzinfo=None, fold=0), tzinfo=tz)
    return wall.astimezone(UTC)


def slot_key(slot_utc: datetime) -> str:
    """A stable text key for a slot, for UNIQUE constraints: UTC, to the minute.

    It is in the database time format (``YYYY-MM-DD HH:MM:SS``), so a slot column can be the
    key and a readable time at once. Seconds are zeroed: slots are whole minutes, and a slot
    recomputed a few seconds apart must still claim the same row.
    """
    utc = _aware(slot_utc).astimezone(UTC)
    return utc.replace(second=0, microsecond=0).strftime("%Y-%m-%d %H:%M:%S")


def midpoint(a: datetime, b: datetime) -> datetime:
    """Halfway from ``a`` to ``b`` (the check-in time between two rounds), whole seconds, UTC.

    Computed on the instants, not wall times: "halfway" is about elapsed time, and a DST change
    in between should not move it.
    """
    start, end = _aware(a).astimezone(UTC), _aware(b).astimezone(UTC)
    if end < start:
        raise ValueError(f"midpoint: {end.isoformat()} is before {start.isoformat()}")
    return (start + (end - start) / 2).replace(microsecond=0)


# -- daily prompts -------------------------------------------------------------------------------


def next_daily_post(after_utc: datetime, tz: ZoneInfo, at: time, weekends: bool) -> datetime:
    """The first daily slot strictly after ``after_utc``, in UTC; Sat/Sun only with ``weekends``.

    "Strictly after" lets the handler pass the slot it just served and get the following one.
    """
    start = local_date_of(after_utc, tz)
    for offset in range(_SEARCH_DAYS):
        day = start + timedelta(days=offset)
        slot = _slot_on(day, tz, at) if _posts_on(day, weekends) else None
        if slot is not None and slot > after_utc:
            return slot
    raise AssertionError("unreachable: a week always contains a weekday slot")


def latest_due_post(now_utc: datetime, tz: ZoneInfo, at: time, weekends: bool) -> DueSlot | None:
    """The most recent daily slot at or before ``now_utc``: the one a catch-up would serve.

    ``None`` only if no slot exists in the past week (not possible with a real timezone).
    """
    today = local_date_of(now_utc, tz)
    for offset in range(_SEARCH_DAYS):
        day = today - timedelta(days=offset)
        slot = _slot_on(day, tz, at) if _posts_on(day, weekends) else None
        if slot is not None and slot <= now_utc:
            return DueSlot(day, slot)
    return None


# -- pairing rounds ------------------------------------------------------------------------------


def next_round_slot(
    after_utc: datetime,
    tz: ZoneInfo,
    cadence: Cadence | str,
    weekday: int,
    at: time,
    anchor: date,
) -> datetime:
    """The first pairing slot strictly after ``after_utc``, in UTC.

    * ``weekly``: every ``weekday`` at ``at``.
    * ``biweekly``: every 14 days, on the dates ``first + 14k`` where ``first`` is the first
      ``weekday`` on or after ``anchor`` (the local date the schedule was set; see
      :func:`round_anchor`). No slot falls before the anchor.
    * ``monthly``: the first ``weekday`` of each month ("the first Tuesday"), because a fixed
      day-of-month would land on weekends and a "last Tuesday" is harder to announce.

    ``anchor`` is used by ``biweekly`` only.
    """
    _check_weekday(weekday)
    if cadence == "weekly":
        return _next_weekly(after_utc, tz, weekday, at)
    if cadence == "biweekly":
        return _next_biweekly(after_utc, tz, weekday, at, anchor)
    if cadence == "monthly":
        return _next_monthly(after_utc, tz, weekday, at)
    raise ValueError(f"unknown cadence {cadence!r}; use one of {', '.join(CADENCES)}")


def round_anchor(now_utc: datetime, tz: ZoneInfo, weekday: int, at: time) -> date:
    """The anchor to store when an admin sets a pairing schedule: the date of the next weekly slot.

    Anchoring on that date (rather than on today) means a biweekly schedule set on a Monday
    afternoon for "Monday 09:00" first runs next Monday, not in two weeks.
    """
    _check_weekday(weekday)
    return local_date_of(_next_weekly(now_utc, tz, weekday, at), tz)


# -- helpers -------------------------------------------------------------------------------------


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected an aware UTC datetime, got naive {moment.isoformat()}")
    return moment


def _check_weekday(weekday: int) -> None:
    if not 0 <= weekday <= 6:
        raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {weekday}")


def _posts_on(day: date, weekends: bool) -> bool:
    return weekends or day.weekday() < _SATURDAY


def _slot_on(day: date, tz: ZoneInfo, at: time) -> datetime | None:
    """The slot on ``day``, or ``None`` if resolving the time lands on another local date."""
    slot = scheduled_utc(day, tz, at)
    return slot if local_date_of(slot, tz) == day else None


def _first_on_or_after(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def _first_after(after_utc: datetime, tz: ZoneInfo, at: time, days: list[date]) -> datetime | None:
    for day in days:
        slot = _slot_on(day, tz, at)
        if slot is not None and slot > after_utc:
            return slot
    return None


def _next_weekly(after_utc: datetime, tz: ZoneInfo, weekday: int, at: time) -> datetime:
    first = _first_on_or_after(local_date_of(after_utc, tz), weekday)
    slot = _first_after(after_utc, tz, at, [first + timedelta(weeks=k) for k in range(3)])
    if slot is None:
        raise AssertionError("unreachable: no weekly slot in three weeks")
    return slot


def _next_biweekly(
    after_utc: datetime, tz: ZoneInfo, weekday: int, at: time, anchor: date
) -> datetime:
    first = _first_on_or_after(anchor, weekday)
    today = local_date_of(after_utc, tz)
    periods_passed = max(0, (today - first).days // 14)
    days = [first + timedelta(days=14 * (periods_passed + k)) for k in range(3)]
    slot = _first_after(after_utc, tz, at, days)
    if slot is None:
        raise AssertionError("unreachable: no biweekly slot in six weeks")
    return slot


def _next_monthly(after_utc: datetime, tz: ZoneInfo, weekday: int, at: time) -> datetime:
    today = local_date_of(after_utc, tz)
    days = [_first_on_or_after(_add_months(today.replace(day=1), k), weekday) for k in range(3)]
    slot = _first_after(after_utc, tz, at, days)
    if slot is None:
        raise AssertionError("unreachable: no monthly slot in three months")
    return slot


def _add_months(first_of_month: date, months: int) -> date:
    index = first_of_month.month - 1 + months
    return date(first_of_month.year + index // 12, index % 12 + 1, 1)


_LOCAL_DATE = re.compile(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*")


def parse_local_date(text: str, what: str = "date") -> date:
    """`YYYY-MM-DD` as a local date; the ValueError names `what` and quotes the input."""
    match = _LOCAL_DATE.fullmatch(text)
    if match is None:
        raise ValueError(f"The {what} `{text.strip()[:40]}` is not a date; write it as YYYY-MM-DD.")
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError as exc:
        raise ValueError(f"The {what} `{text.strip()}` is not a real date ({exc}).") from None
