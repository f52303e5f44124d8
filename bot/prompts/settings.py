"""A guild's daily-prompt schedule: turning it on or changing it, pausing, resuming, and keeping
its job at the next post time."""

from __future__ import annotations

from datetime import datetime

from bot.clock import Clock
from bot.db import Database
from bot.errors import UserError
from bot.guilds import GuildService
from bot.scheduler import Scheduler
from bot.schedules import format_hhmm, next_daily_post, parse_hhmm
from bot.timeutil import to_db

from .records import (
    DAILY_JOB,
    DEFAULT_TALK_HOURS,
    MAX_TALK_HOURS,
    PromptSettings,
    daily_key,
    settings_from_row,
)


class PromptSchedule:
    """A guild's daily-prompt settings and the scheduler job that follows them."""

    def __init__(
        self, db: Database, scheduler: Scheduler, clock: Clock, guilds: GuildService
    ) -> None:
        self._db = db
        self._scheduler = scheduler
        self._clock = clock
        self._guilds = guilds

    async def settings(self, guild_id: int) -> PromptSettings | None:
        """The guild's prompt settings, or None before an admin set them up."""
        row = await self._db.fetchone(
            "SELECT * FROM prompt_settings WHERE guild_id = ?", (guild_id,)
        )
        return None if row is None else settings_from_row(row)

    async def require(self, guild_id: int) -> PromptSettings:
        """The guild's prompt settings, or a `UserError` telling the admin to set them up."""
        settings = await self.settings(guild_id)
        if settings is None:
            raise UserError(
                "Daily prompts are not set up here yet. Start with /admin prompts schedule."
            )
        return settings

    async def configure(
        self,
        guild_id: int,
        *,
        channel_id: int,
        time_text: str,
        weekends: bool,
        threads: bool,
        role_id: int | None,
        talk_hours: int = DEFAULT_TALK_HOURS,
    ) -> tuple[PromptSettings, datetime]:
        """Turn daily prompts on (or change them); returns the settings and the next post time."""
        if not 0 <= talk_hours <= MAX_TALK_HOURS:
            raise UserError(f"talk_hours must be 0 to {MAX_TALK_HOURS} (0 turns Talk 1:1 off).")
        try:
            at = parse_hhmm(time_text)
        except ValueError as exc:
            raise UserError(str(exc)) from exc
        await self._guilds.joined(guild_id)
        await self._db.execute(
            """
            INSERT INTO prompt_settings
                (guild_id, channel_id, post_time, weekends, threads, role_id, paused, active_since,
                 talk_hours)
            VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)
            ON CONFLICT (guild_id) DO UPDATE SET
                channel_id = excluded.channel_id, post_time = excluded.post_time,
                weekends = excluded.weekends, threads = excluded.threads,
                role_id = excluded.role_id, paused = 0, active_since = excluded.active_since,
                talk_hours = excluded.talk_hours
            """,
            (
                guild_id,
                channel_id,
                format_hhmm(at),
                weekends,
                threads,
                role_id,
                to_db(self._clock.now()),
                talk_hours,
            ),
        )
        next_at = await self.reschedule(guild_id)
        settings = await self.settings(guild_id)
        assert settings is not None and next_at is not None
        return settings, next_at

    async def pause(self, guild_id: int) -> None:
        """Stop daily posts until resumed (cancels the job); an error if already paused."""
        settings = await self.require(guild_id)
        if settings.paused:
            raise UserError("Daily prompts are already paused. Use /admin prompts resume.")
        await self._db.execute(
            "UPDATE prompt_settings SET paused = 1 WHERE guild_id = ?", (guild_id,)
        )
        await self._scheduler.cancel(daily_key(guild_id))

    async def resume(self, guild_id: int) -> datetime:
        """Restart the daily post; days missed while paused are not made up (or reported)."""
        settings = await self.require(guild_id)
        if not settings.paused:
            raise UserError("Daily prompts are not paused.")
        await self._db.execute(
            "UPDATE prompt_settings SET paused = 0, active_since = ? WHERE guild_id = ?",
            (to_db(self._clock.now()), guild_id),
        )
        next_at = await self.reschedule(guild_id)
        assert next_at is not None
        return next_at

    async def reschedule(self, guild_id: int) -> datetime | None:
        """Move the daily job to the next post time (none while off or paused)."""
        settings = await self.settings(guild_id)
        if settings is None or settings.paused:
            await self._scheduler.cancel(daily_key(guild_id))
            return None
        zone = await self._guilds.timezone(guild_id)
        next_at = next_daily_post(self._clock.now(), zone, settings.post_time, settings.weekends)
        await self._scheduler.schedule(daily_key(guild_id), DAILY_JOB, next_at, guild_id=guild_id)
        return next_at
