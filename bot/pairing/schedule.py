"""A guild's round schedule (admins): channel, role, cadence and time, paused or not."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.db import Database
from bot.errors import UserError
from bot.guilds import GuildService, ensure_guild_row
from bot.scheduler import Scheduler
from bot.schedules import CADENCES, WEEKDAYS, format_hhmm, next_round_slot, parse_hhmm, round_anchor
from bot.timeutil import to_db

from .common import ROUND_JOB, SLOT_LOOKBACK, round_job_key
from .models import PairingSettings


class RoundSchedule:
    """The guild's settings row and its `pairing.round` job, kept in step."""

    def __init__(
        self, db: Database, scheduler: Scheduler, clock: Clock, guilds: GuildService
    ) -> None:
        self._db = db
        self._scheduler = scheduler
        self._clock = clock
        self._guilds = guilds

    async def settings(self, guild_id: int) -> PairingSettings | None:
        """The guild's round schedule, or None before an admin set one up."""
        row = await self._db.fetchone(
            "SELECT * FROM pairing_settings WHERE guild_id = ?", (guild_id,)
        )
        if row is None:
            return None
        return PairingSettings(
            guild_id=guild_id,
            channel_id=row["channel_id"],
            role_id=row["role_id"],
            cadence=row["cadence"],
            weekday=row["weekday"],
            at=parse_hhmm(row["at_time"]),
            paused=bool(row["paused"]),
        )

    async def configure(
        self,
        guild_id: int,
        *,
        channel_id: int,
        cadence: str,
        weekday: int,
        time_text: str,
        role_id: int | None,
    ) -> datetime:
        """Turn rounds on (or change them); returns when the first round runs."""
        if cadence not in CADENCES:
            raise UserError(f"Cadence must be one of: {', '.join(CADENCES)}.")
        if not 0 <= weekday <= 6:
            raise UserError(f"Weekday must be one of: {', '.join(WEEKDAYS)}.")
        try:
            at = parse_hhmm(time_text)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        tz = await self._guilds.timezone(guild_id)
        now = self._clock.now()
        anchor = round_anchor(now, tz, weekday, at)
        async with self._db.transaction() as tx:
            await ensure_guild_row(tx, guild_id, now)
            await tx.execute(
                """
                INSERT INTO pairing_settings
                    (guild_id, channel_id, role_id, cadence, weekday, at_time, anchor, paused,
                     updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)
                ON CONFLICT (guild_id) DO UPDATE SET
                    channel_id = excluded.channel_id, role_id = excluded.role_id,
                    cadence = excluded.cadence, weekday = excluded.weekday,
                    at_time = excluded.at_time, anchor = excluded.anchor, paused = 0,
                    updated_at = excluded.updated_at
                """,
                (
                    guild_id,
                    channel_id,
                    role_id,
                    cadence,
                    weekday,
                    format_hhmm(at),
                    anchor.isoformat(),
                    to_db(now),
                ),
            )
        next_at = await self.next_slot(guild_id, now, tz)
        assert next_at is not None
        await self._scheduler.schedule(
            round_job_key(guild_id), ROUND_JOB, next_at, guild_id=guild_id
        )
        return next_at

    async def set_paused(self, guild_id: int, paused: bool) -> datetime | None:
        """Stop or restart rounds; returns the next round time when restarted."""
        if await self.settings(guild_id) is None:
            raise UserError("Pairing is not set up yet. Start with `/admin pairing schedule`.")
        await self._db.execute(
            "UPDATE pairing_settings SET paused = ? WHERE guild_id = ?", (int(paused), guild_id)
        )
        await self.reschedule(guild_id)
        return None if paused else await self._scheduler.due_at(round_job_key(guild_id))

    async def reschedule(self, guild_id: int) -> None:
        """Move the round job to the next slot (after a timezone or schedule change)."""
        next_at = await self.next_slot(guild_id, self._clock.now())
        if next_at is None:
            await self._scheduler.cancel(round_job_key(guild_id))
        else:
            await self._scheduler.schedule(
                round_job_key(guild_id), ROUND_JOB, next_at, guild_id=guild_id
            )

    async def next_slot(
        self, guild_id: int, after: datetime, tz: ZoneInfo | None = None
    ) -> datetime | None:
        """The next scheduled slot strictly after `after`, or None when rounds are off."""
        row = await self._db.fetchone(
            "SELECT * FROM pairing_settings WHERE guild_id = ? AND paused = 0", (guild_id,)
        )
        if row is None:
            return None
        tz = tz or await self._guilds.timezone(guild_id)
        anchor = datetime.fromisoformat(row["anchor"]).date()
        return next_round_slot(
            after, tz, row["cadence"], row["weekday"], parse_hhmm(row["at_time"]), anchor
        )

    async def slot_served(self, guild_id: int, due_at: datetime) -> datetime | None:
        """The latest scheduled slot at or before `due_at` (normally `due_at` itself)."""
        slot = await self.next_slot(guild_id, due_at - SLOT_LOOKBACK)
        if slot is None or slot > due_at:
            return None if slot is None else due_at
        while (following := await self.next_slot(guild_id, slot)) is not None:
            if following > due_at:
                break
            slot = following
        return slot
