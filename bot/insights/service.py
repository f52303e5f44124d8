"""`/admin insights`: read on the event loop, compute and draw in a worker thread.

Only the reads await the database; turning rows into figures, the graph, its layout and the PNG
(about a second for a guild of 10,000 members) run in `asyncio.to_thread`. matplotlib is an
optional extra (`kindred[insights]`) imported there on first use, so the bot starts without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass

from bot.clock import Clock
from bot.db import Database
from bot.errors import UserError

from .figures import compute_insights
from .history import History, read_history
from .summary import alt_text, details, summary

MAX_WEEKS = 52
MISSING_EXTRA = (
    "Insights need the optional picture library, which is not installed here. The bot's host "
    "can add it with `pip install 'kindred[insights]'` and restart Kindred."
)


@dataclass(frozen=True, slots=True)
class InsightsReport:
    """What `/admin insights` sends: the PNG and the same figures as text."""

    summary: str  # one message
    details: str  # every round and week, for a text file
    alt_text: str  # the picture's description
    png: bytes


class InsightsService:
    """Builds insight reports, one at a time (each takes a CPU for about a second)."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._one_at_a_time = asyncio.Lock()

    async def report(self, guild_id: int, guild_name: str, weeks: int) -> InsightsReport:
        """The guild's insights over the last `weeks` weeks."""
        if not 1 <= weeks <= MAX_WEEKS:
            raise UserError(f"`weeks` must be between 1 and {MAX_WEEKS}; you gave {weeks}.")
        if not picture_available():
            raise UserError(MISSING_EXTRA)
        async with self._one_at_a_time:
            with frozen_heap():
                history = await read_history(self._db, guild_id, self._clock.now(), weeks)
                return await asyncio.to_thread(build_report, history, guild_name)


def picture_available() -> bool:
    """Whether matplotlib (the `insights` extra) is installed, without importing it."""
    return importlib.util.find_spec("matplotlib") is not None


def build_report(history: History, guild_name: str) -> InsightsReport:
    """Figures, text and picture for `history` (blocking: call it in a worker thread)."""
    from .picture import render  # matplotlib: imported on first use, never at start-up

    insights = compute_insights(history)
    return InsightsReport(
        summary=summary(insights, guild_name),
        details=details(insights, guild_name),
        alt_text=alt_text(insights),
        png=render(insights, guild_name),
    )


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the bot's own objects out of garbage collection while a report is built.

    Reading and packing half a million rows allocates enough to trigger full collections, and a
    full collection walks every tracked object of the process holding the GIL: in a bot with a
    million live objects that stalled the event loop for 0.4 s (bench_insights.py). Frozen
    objects are skipped, so a collection only walks what the report itself made.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
