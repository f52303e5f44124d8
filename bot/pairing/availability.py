"""When a member is free: `/pair availability` text, its stored form, and the coming week in UTC.

Why a module: the same weekly windows are read from a member's text, stored, shown back, and
turned into UTC bitsets for the pairing engine's overlap and the meeting-time proposals; one
definition keeps them in step. Pure: no discord, no database.

A member's windows are 672 quarter-hour bits of their LOCAL week (bit ``i`` is quarter-hour
``i`` counted from Monday 00:00: ``weekday * 96 + hour * 4 + minute // 15``). Local, because a
teacher free "weekdays 16:00-18:00" stays free then when the clocks change. Only for a given
week are the bits laid onto UTC, with that week's offsets (DST-correct, see ``utc_week``).

API (what the cogs, the round and the privacy code call)::

    parse_availability(text: str) -> Availability | None
        `/pair availability when:` text -> windows; None for "clear" (the default applies
        again). Bad input raises bot.errors.UserError quoting the part it could not read.
    Availability.to_text() -> str          canonical text, e.g. "Mon-Thu 16:00-18:00, Sat
                                           09:00-12:00" (for /pair status, /privacy show;
                                           parse_availability(a.to_text()) == a)
    Availability.to_storage() -> str       168 hex digits, the form to store in the database
                                           (the bits, not the text: a stored value does not
                                           depend on how a later parser reads text)
    Availability.from_storage(text) -> Availability
    DEFAULT_WINDOWS: Availability          07:00-21:00 every day (members who set none)
    Schedule(zone: ZoneInfo, windows: Availability | None = None)
                                           a member: their timezone and windows (None: default)
    utc_week(schedules, week_start) -> np.ndarray
                                           (WORDS, n) uint64: bit q of column k = member k is
                                           free in the q-th quarter-hour from week_start
    overlap_minutes(schedules, week_start) -> int
                                           minutes in the week from week_start when ALL are free
    free_timeline(schedule, start, quarters) -> np.ndarray
                                           bool per quarter-hour from start (meeting_times)

Accepted text (case-insensitive): groups separated by ``,`` ``;`` or new lines; in each, days
then one or more windows (``Mon 09:00-10:00 16:00-18:00``). Days: ``Mon``..``Sun`` or full
names, ranges ``Mon-Fri`` (a range may wrap: ``Fri-Mon`` is Fri, Sat, Sun, Mon), ``weekdays``,
``weekends``, ``daily``, several days before one window (``Mon Wed 16:00-18:00``). Times:
``16:00``, ``16``, ``4pm``, ``4:30pm``; ``24:00`` as an end; ``to`` or a dash between start and
end. A group of windows without days continues the previous group's days (``Mon 09:00-10:00,
16:00-18:00``); a day after a window starts a new group (``Mon 9-10 Tue 11-12``). A window whose
end is before its start crosses midnight and is split (``Fri 22:00-01:00`` is Fri 22:00-24:00
and Sat 00:00-01:00; Sunday's spills into Monday). ``clear`` alone means "no windows".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from bot.errors import UserError

QUARTERS_PER_DAY = 96
WEEK_QUARTERS = 7 * QUARTERS_PER_DAY  # 672
#: uint64 words per member bitset (704 bits, the last 32 unused).
WORDS = (WEEK_QUARTERS + 63) // 64
QUARTER = timedelta(minutes=15)
_WEEK_BYTES = WEEK_QUARTERS // 8  # 84
_ALL = (1 << WEEK_QUARTERS) - 1
MAX_TEXT = 400

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
EXAMPLE = "`Mon-Thu 16:00-18:00, Sat 09:00-12:00`"

_DAYS = {
    **{name.lower(): k for k, name in enumerate(DAY_NAMES)},
    **{
        name: k
        for k, names in enumerate(
            (
                ("monday",),
                ("tues", "tuesday"),
                ("weds", "wednesday"),
                ("thur", "thurs", "thursday"),
                ("friday",),
                ("saturday",),
                ("sunday",),
            )
        )
        for name in names
    },
}
_DAY_SETS = {
    "weekdays": (0, 1, 2, 3, 4),
    "weekends": (5, 6),
    "weekend": (5, 6),
    "daily": tuple(range(7)),
    "everyday": tuple(range(7)),
}
_TIME = r"(\d{1,2})(?::(\d{2}))?(am|pm)?"
_WINDOW_RE = re.compile(rf"{_TIME}-{_TIME}")
_SINGLE_TIME_RE = re.compile(rf"{_TIME}")


@dataclass(frozen=True)
class Availability:
    """A member's weekly windows: bit ``i`` = local quarter-hour ``i`` from Monday 00:00."""

    bits: int

    def __post_init__(self) -> None:
        if not 0 <= self.bits <= _ALL:
            raise ValueError("availability bits out of range")

    @property
    def minutes(self) -> int:
        """Free minutes per week."""
        return 15 * self.bits.bit_count()

    def to_storage(self) -> str:
        """168 hex digits (fixed width): what the database keeps."""
        return format(self.bits, f"0{WEEK_QUARTERS // 4}x")

    @classmethod
    def from_storage(cls, text: str) -> Availability:
        """The inverse of ``to_storage``; a corrupt value raises ValueError."""
        if len(text) != WEEK_QUARTERS // 4:
            raise ValueError(f"stored availability has {len(text)} hex digits, not 168")
        return cls(int(text, 16))

    def local_bytes(self) -> bytes:
        """84 bytes, little-endian: byte ``b`` bit ``k`` is quarter-hour ``8 * b + k``."""
        return self.bits.to_bytes(_WEEK_BYTES, "little")

    def day_windows(self, day: int) -> list[tuple[int, int]]:
        """The day's windows as (start, end) quarter-hours of that day, end exclusive."""
        row = (self.bits >> (day * QUARTERS_PER_DAY)) & ((1 << QUARTERS_PER_DAY) - 1)
        out: list[tuple[int, int]] = []
        q = 0
        while q < QUARTERS_PER_DAY:
            if not row >> q & 1:
                q += 1
                continue
            end = q
            while end < QUARTERS_PER_DAY and row >> end & 1:
                end += 1
            out.append((q, end))
            q = end
        return out

    def to_text(self) -> str:
        """Canonical text: days with the same windows together, in week order.

        ``parse_availability`` reads it back to the same bits, so it can be shown, copied and
        edited. A window crossing midnight shows as two (``Fri 22:00-24:00, Sat 00:00-01:00``).
        """
        by_windows: dict[tuple[tuple[int, int], ...], list[int]] = {}
        for day in range(7):
            windows = tuple(self.day_windows(day))
            if windows:
                by_windows.setdefault(windows, []).append(day)
        parts = []
        for windows, days in by_windows.items():
            times = " ".join(f"{_clock(a)}-{_clock(b)}" for a, b in windows)
            parts.append(f"{_days_text(days)} {times}")
        return ", ".join(parts)


#: Members who set no windows count as free 07:00-21:00 local time every day.
DEFAULT_WINDOWS = Availability(
    sum(((1 << (21 - 7) * 4) - 1) << (day * QUARTERS_PER_DAY + 7 * 4) for day in range(7))
)


@dataclass(frozen=True)
class Schedule:
    """A member's timezone and weekly windows (``None``: ``DEFAULT_WINDOWS``)."""

    zone: ZoneInfo
    windows: Availability | None = None

    @property
    def effective(self) -> Availability:
        """The windows that count: the member's own, or the default."""
        return self.windows if self.windows is not None else DEFAULT_WINDOWS


# --------------------------------------------------------------------------------------------
# Parsing


def parse_availability(text: str) -> Availability | None:
    """`/pair availability when:` text -> windows, or None for ``clear`` (see module doc).

    Raises ``UserError`` quoting the first part it could not read, with an example.
    """
    raw = text.strip()
    if not raw:
        raise UserError(
            f"Tell me when you are free, for example {EXAMPLE}, or `clear` to go back to "
            "07:00-21:00 every day."
        )
    if len(raw) > MAX_TEXT:
        raise UserError(
            f"That is {len(raw)} characters; I read at most {MAX_TEXT}. Join days that share "
            f"windows, for example {EXAMPLE}."
        )
    if raw.lower() == "clear":
        return None
    bits = 0
    days: tuple[int, ...] = ()
    for group in re.split(r"[,;\n]", raw):
        tokens = _tokens(group)
        if not tokens:
            continue
        pending: list[int] = []  # days read in this group, waiting for their first window
        pending_text: list[str] = []
        for token in tokens:
            found = _read_days(token)
            if found is not None:
                if not pending:
                    pending_text = []
                pending.extend(found)
                pending_text.append(token)
                continue
            if token.lower() == "clear":
                raise _error(token, "write `clear` alone to remove all your windows.")
            start, end = _read_window(token)
            if pending:
                days, pending = tuple(dict.fromkeys(pending)), []
            elif not days:
                raise _error(
                    token,
                    "there is no day before it. Start with the days, for example "
                    "`weekdays 16:00-18:00`.",
                )
            for day in days:
                bits |= _window_bits(day, start, end)
        if pending:
            shown = " ".join(pending_text)
            raise _error(
                shown,
                "no time window follows it. Give one, for example "
                f"`{shown} 16:00-18:00`; several days can share one window "
                "(`Mon Wed 16:00-18:00`).",
            )
    if not bits:
        raise UserError(f"I found no day and time in that. For example: {EXAMPLE}.")
    return Availability(bits)


def _tokens(group: str) -> list[str]:
    """Split one group into day and window tokens (dashes and ``to`` glued to their ends)."""
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", group.strip())
    text = re.sub(r"\s+to\s+", "-", text, flags=re.IGNORECASE)
    text = re.sub(r"\s*-\s*", "-", text)
    text = re.sub(r"(\d)\s+(am|pm)\b", r"\1\2", text, flags=re.IGNORECASE)
    text = text.replace("/", " ")
    return text.split()


def _read_days(token: str) -> tuple[int, ...] | None:
    """The days a token names (``Mon``, ``Mon-Fri``, ``weekdays``), or None if not days."""
    low = token.lower()
    if low in _DAY_SETS:
        return _DAY_SETS[low]
    first, sep, last = low.partition("-")
    if first not in _DAYS or (sep and last not in _DAYS):
        if first in _DAYS and sep:
            shown = token.partition("-")[2] or "?"
            raise _error(token, f"`{shown}` is not a day. Days are Mon, Tue ... Sun.")
        return None
    a = _DAYS[first]
    b = _DAYS[last] if sep else a
    return tuple((a + k) % 7 for k in range((b - a) % 7 + 1))


def _read_window(token: str) -> tuple[int, int]:
    """A window token -> (start, end) quarter-hours of the day; the end may be <= the start
    (the window crosses midnight) and may be 96 (24:00)."""
    m = _WINDOW_RE.fullmatch(token.lower())
    if m is None:
        if _SINGLE_TIME_RE.fullmatch(token.lower()):
            raise _error(
                token,
                "it is one time, not a window. Give a start and an end, for example `16:00-18:00`.",
            )
        raise _error(
            token,
            "it is neither days (Mon ... Sun, Mon-Fri, weekdays, weekends) nor a time "
            "window (16:00-18:00).",
        )
    start_text, end_text = token.split("-", 1)
    start = _quarter(start_text, *m.group(1, 2, 3))
    end = _quarter(end_text, *m.group(4, 5, 6))
    if start == QUARTERS_PER_DAY:
        raise _error(token, "a window cannot start at 24:00. Write 00:00 on the next day.")
    if start == end:
        raise _error(token, "it starts and ends at the same time. Give an end after the start.")
    return start, end


def _quarter(text: str, hour_text: str, minute_text: str | None, half: str | None) -> int:
    """``16:30`` / ``4:30pm`` -> quarter-hour of the day (0..96)."""
    hour, minute = int(hour_text), int(minute_text or 0)
    if half is not None:
        if not 1 <= hour <= 12:
            raise _error(text, "with am/pm the hour runs from 1 to 12.")
        hour = hour % 12 + (12 if half == "pm" else 0)
    if minute >= 60 or hour > 24 or (hour == 24 and minute):
        raise _error(text, "a time of day runs from 00:00 to 24:00.")
    if minute % 15:
        raise _error(
            text, "times go in steps of 15 minutes (:00, :15, :30, :45), for example `16:15`."
        )
    return hour * 4 + minute // 15


def _window_bits(day: int, start: int, end: int) -> int:
    """Bits of ``day start-end``; a window crossing midnight continues the next day."""
    begin = day * QUARTERS_PER_DAY + start
    length = end - start if end > start else QUARTERS_PER_DAY - start + end
    bits = ((1 << length) - 1) << begin
    # Sunday's window past midnight continues on Monday (bit 0): the week wraps.
    return (bits | bits >> WEEK_QUARTERS) & _ALL


def _error(part: str, why: str) -> UserError:
    """The error for a part of the text: quoted (backticks neutralised, cut at 40), why, and
    the example every message ends with."""
    shown = part.strip().replace("`", "'")[:40]
    return UserError(f"I could not read `{shown}`: {why} For example: {EXAMPLE}.")


def _clock(quarter: int) -> str:
    return f"{quarter // 4:02d}:{quarter % 4 * 15:02d}"


def _days_text(days: list[int]) -> str:
    """[0, 1, 2, 4] -> ``Mon-Wed Fri`` (runs of consecutive days as ranges)."""
    runs: list[list[int]] = []
    for d in days:
        if runs and runs[-1][-1] == d - 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return " ".join(
        DAY_NAMES[r[0]] if len(r) == 1 else f"{DAY_NAMES[r[0]]}-{DAY_NAMES[r[-1]]}" for r in runs
    )


# --------------------------------------------------------------------------------------------
# The coming week in UTC


def quarter_floor(moment: datetime) -> datetime:
    """``moment`` in UTC, rounded down to a quarter-hour (the grid every bitset shares)."""
    if moment.tzinfo is None:
        raise ValueError("pass an aware datetime")
    utc = moment.astimezone(UTC)
    return utc.replace(minute=utc.minute - utc.minute % 15, second=0, microsecond=0)


@lru_cache(maxsize=512)
def _local_quarters(zone: ZoneInfo, start: datetime, count: int) -> np.ndarray:
    """For each of ``count`` UTC quarter-hours from ``start``: the local-week quarter-hour
    then in ``zone`` (each instant converted on its own, so a DST change mid-week is exact:
    a skipped local hour maps to nothing, a repeated one twice)."""
    out = np.empty(count, dtype=np.int64)
    for k in range(count):
        local = (start + k * QUARTER).astimezone(zone)
        out[k] = local.weekday() * QUARTERS_PER_DAY + local.hour * 4 + local.minute // 15
    out.setflags(write=False)
    return out


@lru_cache(maxsize=512)
def _week_shifts(zone: ZoneInfo, start: datetime) -> tuple[tuple[int, np.ndarray], ...]:
    """The week from ``start`` in ``zone`` as (shift, mask) pieces: UTC quarter ``q`` shows
    local quarter ``(q + shift) % 672`` wherever ``mask`` (84 bytes, bit ``q``) is set.

    One piece in most weeks (a constant offset), two in a week with a DST change. Rotating
    each member's 84 bytes by a piece's shift is far cheaper than mapping 672 bits one by
    one (a 100,000-member round lays its windows onto UTC in ~20 ms).
    """
    shift = (_local_quarters(zone, start, WEEK_QUARTERS) - np.arange(WEEK_QUARTERS)) % WEEK_QUARTERS
    pieces = []
    for value in np.unique(shift).tolist():
        mask = np.packbits(shift == value, bitorder="little")
        mask.setflags(write=False)
        pieces.append((int(value), mask))
    return tuple(pieces)


def _rotate(rows: np.ndarray, shift: int) -> np.ndarray:
    """(k, 84) uint8 bitsets with bit ``q`` of each row taken from bit ``(q + shift) % 672``."""
    whole, part = divmod(shift, 8)
    out = np.roll(rows, -whole, axis=1)
    if part:
        out = (out >> part) | (np.roll(out, -1, axis=1) << (8 - part))
    return out


def utc_week(schedules: Sequence[Schedule], week_start: datetime) -> np.ndarray:
    """Members' availability in the week from ``week_start``, as (WORDS, n) uint64 bitsets.

    Bit ``q`` (word ``q // 64``, bit ``q % 64``) of column ``k`` is set when member ``k`` is
    free during the ``q``-th quarter-hour after ``quarter_floor(week_start)``; each member's
    local windows are laid onto UTC with their zone's offsets in that very week. Word-major,
    because the engine gathers one word of many members at a time.
    """
    n = len(schedules)
    start = quarter_floor(week_start)
    local = np.frombuffer(b"".join(s.effective.local_bytes() for s in schedules), dtype=np.uint8)
    local = local.reshape(n, _WEEK_BYTES)
    out = np.zeros((n, WORDS * 8), dtype=np.uint8)
    by_zone: dict[ZoneInfo, list[int]] = {}
    for k, s in enumerate(schedules):
        by_zone.setdefault(s.zone, []).append(k)
    for zone, members in by_zone.items():
        rows = np.array(members, dtype=np.int64)
        mine = local[rows]
        utc = np.zeros_like(mine)
        for shift, mask in _week_shifts(zone, start):
            utc |= _rotate(mine, shift) & mask
        out[rows, :_WEEK_BYTES] = utc
    return np.ascontiguousarray(out.view("<u8").astype(np.uint64).T)


def overlap_minutes(schedules: Sequence[Schedule], week_start: datetime) -> int:
    """Minutes of the week from ``week_start`` when every one of ``schedules`` is free."""
    if not schedules:
        return 0
    common = np.bitwise_and.reduce(utc_week(schedules, week_start), axis=1)
    return 15 * int(np.bitwise_count(common).sum())


def free_timeline(schedule: Schedule, start: datetime, quarters: int) -> np.ndarray:
    """Whether the member is free in each of ``quarters`` quarter-hours from ``start``
    (``start`` must be on the quarter-hour grid, see ``quarter_floor``)."""
    if quarter_floor(start) != start.astimezone(UTC):
        raise ValueError("start must be on a quarter-hour")
    bits = np.unpackbits(
        np.frombuffer(schedule.effective.local_bytes(), dtype=np.uint8), bitorder="little"
    )
    return bits[_local_quarters(schedule.zone, start.astimezone(UTC), quarters)].astype(bool)
