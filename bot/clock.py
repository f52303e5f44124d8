"""Time as a dependency, so scheduling can be tested without waiting real time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What the scheduler and services need of time: the current instant and a way to wait."""

    def now(self) -> datetime:
        """The current time, timezone-aware in UTC."""
        ...

    async def sleep_until(self, moment: datetime) -> None:
        """Wait until this clock reads `moment` (an absolute instant, so a clock that moves
        while the caller prepares to wait cannot stretch the wait)."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """The real current time, in UTC."""
        return datetime.now(UTC)

    async def sleep_until(self, moment: datetime) -> None:
        """Sleep in real time until `moment` (at once if it has passed)."""
        await asyncio.sleep(max(0.0, (moment - self.now()).total_seconds()))


class Alarm:
    """What a background loop sleeps on: an instant on the clock, or an earlier wake-up.

    The scheduler and the outbox runner both sleep until their earliest due row, but new work
    may come sooner (a job scheduled, a message enqueued): `wake()` cuts the sleep short. A wake
    that comes while the loop is busy is kept, so the next `sleep_until` returns at once and
    the loop looks again instead of missing it.
    """

    def __init__(self, clock: Clock, *, longest: timedelta) -> None:
        self._clock = clock
        self._longest = longest  # re-check now and then, in case the host clock jumped
        self._woken = asyncio.Event()

    def wake(self) -> None:
        """End the current (or the next) sleep now."""
        self._woken.set()

    @property
    def woken(self) -> bool:
        """Whether a wake-up is waiting to be seen."""
        return self._woken.is_set()

    def reset(self) -> None:
        """Forget earlier wake-ups: call it before looking for due work."""
        self._woken.clear()

    async def sleep_until(self, until: datetime | None, now: datetime) -> None:
        """Sleep until `until` (None: until woken), at most `longest` after `now`."""
        if self._woken.is_set():
            return
        latest = now + self._longest
        woken = asyncio.create_task(self._woken.wait())
        timer = asyncio.create_task(self._clock.sleep_until(min(until or latest, latest)))
        try:
            await asyncio.wait({woken, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
            timer.cancel()
