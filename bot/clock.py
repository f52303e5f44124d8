"""Time as a dependency, so scheduling can be tested without waiting real time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
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
        return datetime.now(UTC)

    async def sleep_until(self, moment: datetime) -> None:
        await asyncio.sleep(max(0.0, (moment - self.now()).total_seconds()))
