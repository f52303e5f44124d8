"""Meeting times to propose in an intro: when every member of a group is free.

Why a module: an intro that names a time gets a conversation; this picks the times, from the
members' weekly windows in their own timezones, as plain UTC instants the intro shows with
``discord.utils.format_dt`` (each reader sees their local time). Pure: no discord, no database.

API::

    propose_slots(schedules: Sequence[Schedule], now: datetime, count: int = 3)
        -> tuple[datetime, ...]
        Up to ``count`` starts (aware, UTC) of SLOT_LENGTH slots, ascending; empty when the
        group has no common time (the intro then says so, with each member's local time now:
        ``now.astimezone(schedule.zone)``).

The rules (PRODUCT.md, "Meeting times"): each slot lies entirely inside EVERY member's
availability (``Schedule.windows``, or 07:00-21:00 local without windows), starts at least
``MIN_LEAD`` after ``now``, ends within ``HORIZON`` of it, and starts on a quarter-hour. Slots
fall on different days where possible - different local dates for every member - taking the
earliest such day each time and, within a day, preferring a start on the hour or half-hour in
every member's local time. Only when fewer distinct days exist are further slots taken on days
already used (never overlapping a chosen slot).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import numpy as np

from .availability import QUARTER, Schedule, free_timeline, quarter_floor

SLOT_LENGTH = timedelta(minutes=30)
MIN_LEAD = timedelta(hours=12)
HORIZON = timedelta(days=7)
_SLOT_QUARTERS = SLOT_LENGTH // QUARTER


def propose_slots(
    schedules: Sequence[Schedule], now: datetime, count: int = 3
) -> tuple[datetime, ...]:
    """Up to ``count`` meeting starts for the group (see the module docstring)."""
    if now.tzinfo is None:
        raise ValueError("pass an aware datetime")
    if not schedules or count <= 0:
        return ()
    earliest = now + MIN_LEAD
    start = quarter_floor(earliest)
    if start < earliest:
        start += QUARTER
    quarters = (now + HORIZON - start) // QUARTER
    free = np.ones(quarters, dtype=bool)
    for schedule in schedules:
        free &= free_timeline(schedule, start, quarters)
    # A slot may start at q when it is free for its whole length and ends inside the horizon.
    fits = free[: quarters - _SLOT_QUARTERS + 1].copy()
    for k in range(1, _SLOT_QUARTERS):
        fits &= free[k : quarters - _SLOT_QUARTERS + 1 + k]
    candidates = [start + int(q) * QUARTER for q in np.flatnonzero(fits)]
    return _choose(candidates, schedules, count)


def _choose(
    candidates: list[datetime], schedules: Sequence[Schedule], count: int
) -> tuple[datetime, ...]:
    """Earliest distinct days first (round local times preferred), then any free slot."""

    # Each candidate's local dates and "on the hour or half-hour" flag, computed once (the
    # loop below asks for them on every pass).
    local = {t: [t.astimezone(s.zone) for s in schedules] for t in candidates}
    day_of = {t: tuple(lt.date() for lt in local[t]) for t in candidates}
    is_round = {t: all(lt.minute % 30 == 0 for lt in local[t]) for t in candidates}

    def dates(t: datetime) -> tuple[date, ...]:
        return day_of[t]

    def round_time(t: datetime) -> bool:
        return is_round[t]

    chosen: list[datetime] = []
    used: list[set[date]] = [set() for _ in schedules]

    def clear_of_chosen(t: datetime) -> bool:
        return all(abs(t - c) >= SLOT_LENGTH for c in chosen)

    while len(chosen) < count:
        fresh = [
            t
            for t in candidates
            if clear_of_chosen(t) and all(d not in u for d, u in zip(dates(t), used, strict=True))
        ]
        if not fresh:
            break
        day = dates(fresh[0])
        same_day = [t for t in fresh if dates(t) == day]
        pick = next((t for t in same_day if round_time(t)), same_day[0])
        chosen.append(pick)
        for d, u in zip(dates(pick), used, strict=True):
            u.add(d)
    for t in sorted(candidates, key=lambda t: not round_time(t)):
        if len(chosen) >= count:
            break
        if clear_of_chosen(t):
            chosen.append(t)
    return tuple(sorted(t.astimezone(UTC) for t in chosen))
