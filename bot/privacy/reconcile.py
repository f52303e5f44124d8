"""A daily per-guild check for members who left while Kindred was not listening.

Kindred keeps no member cache, so there is no list to compare at start-up. Instead each guild
with member data asks Discord once a day which of its stored members are still there, at a time
of day derived from the guild id so 10,000 guilds' checks are spread over the day.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Protocol

from bot.clock import Clock
from bot.scheduler import Job, Scheduler

from .data import MemberDataEngine
from .departures import Departures

RECONCILE_JOB = "members.reconcile"


def reconcile_key(guild_id: int) -> str:
    """The guild's daily member check job."""
    return f"{RECONCILE_JOB}:{guild_id}"


def next_reconcile(guild_id: int, after: datetime) -> datetime:
    """The guild's daily check time (UTC, its fixed second of the day) strictly after `after`."""
    digest = hashlib.sha256(f"reconcile:{guild_id}".encode()).digest()
    offset = timedelta(seconds=int.from_bytes(digest[:4], "big") % 86_400)
    slot = after.replace(hour=0, minute=0, second=0, microsecond=0) + offset
    return slot if slot > after else slot + timedelta(days=1)


class MemberDirectory(Protocol):
    """Who is in a guild, asked of Discord (the privacy cog implements it)."""

    async def present(self, guild_id: int, user_ids: set[int]) -> set[int] | None:
        """Those of `user_ids` in the guild now; None when Kindred is not in the guild.

        Raises when Discord cannot answer: a partial answer would look like members left.
        """
        ...


class MemberReconcile:
    """Schedules and runs each guild's daily member check."""

    def __init__(
        self,
        scheduler: Scheduler,
        clock: Clock,
        data: MemberDataEngine,
        departures: Departures,
    ) -> None:
        self._scheduler = scheduler
        self._clock = clock
        self._data = data
        self._departures = departures
        self._directory: MemberDirectory | None = None
        scheduler.register(RECONCILE_JOB, self._reconcile_job)

    def attach_directory(self, directory: MemberDirectory | None) -> None:
        """Connect the way to ask Discord who is in a guild (the privacy cog)."""
        self._directory = directory

    async def schedule_reconciles(self, guild_ids: Iterable[int]) -> None:
        """Give every guild its daily member check, keeping existing ones where they are."""
        now = self._clock.now()
        await self._scheduler.schedule_missing(
            (reconcile_key(g), RECONCILE_JOB, next_reconcile(g, now), g) for g in guild_ids
        )

    async def reconcile_guild(self, guild_id: int, stored: set[int], present: set[int]) -> None:
        """Of the `stored` members, start purges for those not `present` (they left unseen)
        and stop them for those back. Members with a purge pending are counted as left."""
        pending = set(await self._departures.pending_purges(guild_id))
        for user_id in pending & present:
            await self._departures.member_returned(guild_id, user_id)
        for user_id in stored - present - pending:
            await self._departures.member_left(guild_id, user_id)

    async def _reconcile_job(self, job: Job) -> datetime | None:
        """The guild's daily check; a guild without member data never asks Discord."""
        assert job.guild_id is not None
        next_at = next_reconcile(job.guild_id, self._clock.now())
        stored = await self._data.stored_members(job.guild_id)
        if not stored:
            return next_at
        if self._directory is None:
            raise RuntimeError("not connected to Discord")  # retried with backoff
        present = await self._directory.present(job.guild_id, stored)
        if present is None:
            return None  # Kindred is not in the guild; joining again schedules a new check
        await self.reconcile_guild(job.guild_id, stored, present)
        return next_at
