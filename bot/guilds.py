"""A guild's own row: its timezone and its lifecycle.

Joining creates the row; leaving stamps `left_at` and schedules a purge 30 days later. Re-joining
before then clears the stamp and cancels the purge, so an accidental kick loses nothing. Every
feature table cascades from `guilds`, so the purge is one DELETE.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .clock import Clock
from .db import Database, Transaction
from .outbox.model import ALL_GUILDS, GuildScope
from .scheduler import Job, Scheduler
from .timeutil import from_db, to_db
from .timezones import resolve_timezone

log = logging.getLogger(__name__)

RETENTION_AFTER_LEAVING = timedelta(days=30)
PURGE_JOB = "guild.purge"


def purge_key(guild_id: int) -> str:
    """The scheduler key of the job that purges a guild's data after the bot left it."""
    return f"guild.purge:{guild_id}"


async def ensure_guild_row(tx: Transaction, guild_id: int, now: datetime) -> None:
    """Feature rows reference `guilds`; inside a feature's own transaction, make sure the row
    exists (it normally does since the bot became ready)."""
    await tx.execute(
        "INSERT INTO guilds (guild_id, joined_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (guild_id, to_db(now)),
    )


class GuildService:
    """A guild's own row: joining, leaving and the delayed purge, and its timezone."""

    def __init__(
        self, db: Database, scheduler: Scheduler, clock: Clock, scope: GuildScope = ALL_GUILDS
    ) -> None:
        self._db = db
        self._scope = scope  # the guilds of this process's shards (all of them in one process)
        self._scheduler = scheduler
        self._clock = clock
        # guild_id -> timezone. Only `set_timezone` changes a guild's timezone and only the purge
        # deletes its row, and both go through this service, so the cache cannot go stale. It
        # saves a query on every prompt post and `/prompt today` (thousands due at once).
        self._zones: dict[int, ZoneInfo] = {}
        scheduler.register(PURGE_JOB, self._purge_job)

    async def joined(self, guild_id: int) -> None:
        """The bot is in this guild: make sure its row exists and is not marked as left."""
        async with self._db.transaction() as tx:
            await ensure_guild_row(tx, guild_id, self._clock.now())
            returned = await tx.execute(
                "UPDATE guilds SET left_at = NULL WHERE guild_id = ? AND left_at IS NOT NULL",
                (guild_id,),
            )
            if returned:
                await tx.execute("DELETE FROM jobs WHERE key = ?", (purge_key(guild_id),))

    async def left(self, guild_id: int) -> None:
        """The bot left (or was removed): keep the data for the retention period, then purge."""
        now = self._clock.now()
        changed = await self._db.execute(
            "UPDATE guilds SET left_at = ? WHERE guild_id = ? AND left_at IS NULL",
            (to_db(now), guild_id),
        )
        if changed:
            await self._scheduler.schedule(
                purge_key(guild_id), PURGE_JOB, now + RETENTION_AFTER_LEAVING, guild_id=guild_id
            )

    async def reconcile(self, present_guild_ids: Iterable[int]) -> None:
        """Record which guilds the bot is in, in one transaction (startup sees thousands);
        known guilds missing from the list were left while the bot was offline.

        Only this process's guilds are compared: the others' are on shards it does not see,
        and marking them as left would start their purge."""
        present = set(present_guild_ids)
        now = self._clock.now()
        rows = await self._db.fetchall(
            f"SELECT guild_id, left_at FROM guilds WHERE {self._scope.condition}",
            self._scope.params,
        )
        known = {row["guild_id"]: row["left_at"] for row in rows}
        new = [(gid, to_db(now)) for gid in present if gid not in known]
        returned = [(gid,) for gid in present if gid in known and known[gid] is not None]
        gone = [gid for gid, left in known.items() if left is None and gid not in present]
        async with self._db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO guilds (guild_id, joined_at) VALUES (?, ?) ON CONFLICT DO NOTHING", new
            )
            await tx.executemany("UPDATE guilds SET left_at = NULL WHERE guild_id = ?", returned)
            await tx.executemany(
                "DELETE FROM jobs WHERE key = ?", [(purge_key(gid),) for (gid,) in returned]
            )
        for guild_id in gone:
            await self.left(guild_id)

    async def _purge_job(self, job: Job) -> datetime | None:
        guild_id = int(job.key.rsplit(":", 1)[1])
        left_at = await self._db.fetchval(
            "SELECT left_at FROM guilds WHERE guild_id = ?", (guild_id,)
        )
        if left_at is None:
            return None  # re-joined, or already purged
        if self._clock.now() - from_db(left_at) < RETENTION_AFTER_LEAVING:
            return from_db(left_at) + RETENTION_AFTER_LEAVING
        await self._db.execute("DELETE FROM guilds WHERE guild_id = ?", (guild_id,))
        self._zones.pop(guild_id, None)
        log.info("Purged the data of guild %s, left on %s", guild_id, left_at)
        return None

    async def timezone(self, guild_id: int) -> ZoneInfo:
        """The guild's timezone for schedules (UTC until set), cached after the first read."""
        zone = self._zones.get(guild_id)
        if zone is None:
            name = await self._db.fetchval(
                "SELECT timezone FROM guilds WHERE guild_id = ?", (guild_id,)
            )
            zone = ZoneInfo(name or "UTC")
            if name is not None:  # no row yet: not cached, so a later row is read
                self._zones[guild_id] = zone
        return zone

    async def set_timezone(self, guild_id: int, name: str) -> ZoneInfo:
        """Validate and store the guild's IANA timezone; raises UserError with a suggestion."""
        zone = resolve_timezone(name)
        await self.joined(guild_id)
        await self._db.execute(
            "UPDATE guilds SET timezone = ? WHERE guild_id = ?", (zone.key, guild_id)
        )
        self._zones[guild_id] = zone
        return zone
