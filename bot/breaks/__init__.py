"""School breaks: the dates a guild goes quiet (no prompts, rounds or check-ins).

Features that must stay quiet get a `BreakCalendar` (the breaks service, wired in
`bot/services.py`), so they depend on this small protocol, not on the service.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol

from .calendar import SchoolBreak


class BreakCalendar(Protocol):
    """What features ask about breaks."""

    async def between(self, guild_id: int, first: date, last: date) -> Sequence[SchoolBreak]:
        """The guild's breaks touching the local dates `first`..`last` (inclusive)."""
        ...

    async def at(self, guild_id: int, moment: datetime) -> SchoolBreak | None:
        """The break covering the guild's local date at the instant `moment`, if any."""
        ...


class NoBreaks:
    """The calendar of a feature built without the breaks feature: never on a break."""

    async def between(self, guild_id: int, first: date, last: date) -> Sequence[SchoolBreak]:
        """No breaks at all."""
        return ()

    async def at(self, guild_id: int, moment: datetime) -> SchoolBreak | None:
        """Never on a break."""
        return None
