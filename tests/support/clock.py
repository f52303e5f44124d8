"""A clock that tests move by hand, so scheduling is tested without waiting real time."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta


class FakeClock:
    """Implements bot.clock.Clock; `advance()` wakes every sleeper whose time has come."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start
        self._sleepers: list[tuple[datetime, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        return self._now

    async def sleep_until(self, moment: datetime) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((moment, future))
        self._release()
        await future

    def set(self, moment: datetime) -> None:
        self._now = moment
        self._release()

    def advance(self, delta: timedelta | float) -> None:
        self.set(self._now + (delta if isinstance(delta, timedelta) else timedelta(seconds=delta)))

    def _release(self) -> None:
        waiting = []
        for when, future in self._sleepers:
            if future.done():
                continue
            if when <= self._now:
                future.set_result(None)
            else:
                waiting.append((when, future))
        self._sleepers = waiting
