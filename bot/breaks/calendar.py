"""School breaks as a calendar (pure): the rules a new break must meet, and which break a day
falls in.

Educator communities live by the school calendar. A break is a span of the guild's *local*
dates, both ends inclusive, so "2026-12-21 to 2027-01-01" means those calendar days wherever
the guild is, across DST changes. Nothing here touches the clock or the database: callers pass
today's local date and the guild's breaks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

MAX_BREAK_DAYS = 120  # longer than any school holiday; a longer pause is /admin ... pause
MAX_BREAKS = 25  # current and coming breaks a guild may hold at once (a school year's worth)
MAX_NOTE_LENGTH = 200


class BreakError(ValueError):
    """A break (or a date) that cannot be accepted; the message says how to fix it."""


@dataclass(frozen=True, slots=True)
class SchoolBreak:
    """A span of local dates, both inclusive, with the admin's note."""

    id: int
    start: date
    end: date
    note: str = ""

    def covers(self, day: date) -> bool:
        """Whether `day` (a local date) is inside the break."""
        return self.start <= day <= self.end

    @property
    def days(self) -> int:
        """How many calendar days the break lasts."""
        return (self.end - self.start).days + 1


def check_new_break(
    start: date, end: date, note: str, today: date, existing: Iterable[SchoolBreak]
) -> None:
    """Raise `BreakError` unless a break from `start` to `end` may be added `today`.

    Refused: an end before the start, a start in the past, more than `MAX_BREAK_DAYS`, a note
    over `MAX_NOTE_LENGTH`, an overlap with another break (named by id), or too many breaks.
    """
    if end < start:
        raise BreakError(f"The break ends ({end}) before it starts ({start}); swap the dates.")
    if start < today:
        raise BreakError(
            f"The break would start in the past ({start}; today is {today} here). "
            "Breaks are for today or later."
        )
    days = (end - start).days + 1
    if days > MAX_BREAK_DAYS:
        raise BreakError(
            f"That break is {days} days long; a break can last at most {MAX_BREAK_DAYS} days. "
            "Split it, or pause prompts and pairing instead."
        )
    if len(note) > MAX_NOTE_LENGTH:
        raise BreakError(f"The note is {len(note)} characters; keep it to {MAX_NOTE_LENGTH}.")
    coming = [b for b in existing if b.end >= today]
    for other in coming:
        if other.start <= end and start <= other.end:
            raise BreakError(
                f"That overlaps break #{other.id} ({other.start} to {other.end}). "
                f"Remove it with /admin breaks remove {other.id}, or choose other dates."
            )
    if len(coming) >= MAX_BREAKS:
        raise BreakError(
            f"There are already {len(coming)} current and coming breaks; remove one first."
        )


def break_on(day: date, breaks: Iterable[SchoolBreak]) -> SchoolBreak | None:
    """The break that covers the local date `day`, if any."""
    return next((b for b in breaks if b.covers(day)), None)


def current_or_next(today: date, breaks: Iterable[SchoolBreak]) -> SchoolBreak | None:
    """The break covering today, else the next one to start (None if none is coming)."""
    coming = sorted((b for b in breaks if b.end >= today), key=lambda b: b.start)
    return coming[0] if coming else None


def day_after(school_break: SchoolBreak) -> date:
    """The first local date after the break (when things resume)."""
    return school_break.end + timedelta(days=1)
