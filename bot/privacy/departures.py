"""A member leaving: each feature winds down their live part at once; their data goes 30 days
later unless they come back. `/privacy forget` is the same wind-down followed by the erase now.

Winding down first matters: a partner in the current round is re-matched (instead of being left
with an anonymous partner), and open asks stop routing DMs to helpers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from bot.clock import Clock
from bot.db import Database
from bot.scheduler import Job, Scheduler
from bot.timeutil import from_db

from .data import ErasureReport, MemberDataEngine
from .rules import check_member_id

log = logging.getLogger(__name__)

PURGE_AFTER_LEAVING = timedelta(days=30)
PURGE_JOB = "member.purge"


def purge_key(guild_id: int, user_id: int) -> str:
    """The job that purges a departed member's data in a guild."""
    return f"{PURGE_JOB}:{guild_id}:{user_id}"


@runtime_checkable
class MemberDeparture(Protocol):
    """A feature that reacts at once when a member leaves (e.g. close their open asks)."""

    async def member_left(self, guild_id: int, user_id: int) -> object:
        """Wind down the member's live part of the feature as soon as they leave."""
        ...


class Departures:
    """Members leaving, returning, and asking to be forgotten."""

    def __init__(
        self,
        db: Database,
        scheduler: Scheduler,
        clock: Clock,
        data: MemberDataEngine,
        features: Callable[[], Iterable[object]],
    ) -> None:
        self._db = db
        self._scheduler = scheduler
        self._clock = clock
        self._data = data
        self._features = features
        scheduler.register(PURGE_JOB, self._purge_job)

    async def forget(self, guild_id: int, user_id: int) -> ErasureReport:
        """`/privacy forget`: wind the member down in every feature, then erase their data."""
        check_member_id(user_id)
        await self._wind_down(guild_id, user_id)
        return await self._data.erase(guild_id, user_id)

    async def member_left(self, guild_id: int, user_id: int) -> None:
        """Tell features at once, then purge the member's data unless they return in time."""
        await self._wind_down(guild_id, user_id)
        await self._scheduler.schedule(
            purge_key(guild_id, user_id),
            PURGE_JOB,
            self._clock.now() + PURGE_AFTER_LEAVING,
            guild_id=guild_id,
            payload={"user_id": user_id},
        )

    async def member_returned(self, guild_id: int, user_id: int) -> None:
        """A member who left came back before the purge: keep their data."""
        await self._scheduler.cancel(purge_key(guild_id, user_id))

    async def pending_purges(self, guild_id: int) -> dict[int, datetime]:
        """Members of `guild_id` whose data is due to be purged, and when."""
        rows = await self._db.fetchall(
            "SELECT key, due_at FROM jobs WHERE kind = ? AND guild_id = ?", (PURGE_JOB, guild_id)
        )
        return {int(r["key"].rsplit(":", 1)[1]): from_db(r["due_at"]) for r in rows}

    async def _wind_down(self, guild_id: int, user_id: int) -> None:
        """Let each feature end the member's live part in it by its own rules (leave the pool,
        re-match the partner, close open asks) before their rows go."""
        for feature in self._features():
            if isinstance(feature, MemberDeparture):
                try:
                    await feature.member_left(guild_id, user_id)
                except Exception:
                    # One feature's failure must not stop the others or the purge.
                    log.exception(
                        "%s failed on member %s leaving guild %s",
                        type(feature).__name__,
                        user_id,
                        guild_id,
                    )

    async def _purge_job(self, job: Job) -> datetime | None:
        assert job.guild_id is not None
        report = await self._data.erase(job.guild_id, int(job.payload["user_id"]))
        log.info(
            "Purged %d records of member %s, 30 days after leaving guild %s",
            report.total,
            job.payload["user_id"],
            job.guild_id,
        )
        return None
