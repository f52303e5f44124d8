"""Daily growth prompts: the feature's parts by name, and what members and admins read.

The work is split by responsibility; callers use the parts by name
(`services.prompts.schedule.configure(...)`):

- `schedule` (settings.py): the schedule (turn on, change, pause, resume, the job's next time);
- `daily` (daily.py): claiming each day's post once, catch-up, what its outcome records;
- `suggestions` (suggestions.py): approving or rejecting members' prompts, the approval DM;
- `pool` (pool.py): the guild's prompt pool; `rotation.py`: which prompt comes next (pure).

What members and admins read (`today`, `status`, `problems`) and the conversation starter other
features borrow are computed here, from several parts.
"""

from __future__ import annotations

from datetime import timedelta

from bot.breaks import BreakCalendar, NoBreaks
from bot.clock import Clock
from bot.db import Database
from bot.features import FeatureStatus
from bot.guilds import GuildService
from bot.outbox import Outbox
from bot.privacy.rules import TableRule, TableRules
from bot.scheduler import Scheduler
from bot.schedules import local_date_of

from .daily import EMPTY_POOL, DailyPoster
from .library import load_library
from .pool import PromptPool
from .records import (
    DAILY_JOB,
    Approval,
    PromptPost,
    PromptSettings,
    Today,
    daily_key,
    post_from_row,
)
from .settings import PromptSchedule
from .suggestions import SuggestionReview

__all__ = [
    "DAILY_JOB",
    "EMPTY_POOL",
    "Approval",
    "PromptPost",
    "PromptService",
    "PromptSettings",
    "Today",
    "daily_key",
]

PROBLEM_DAYS = 14  # how long a failure stays on /admin show
MAX_PROBLEMS = 5


class PromptService:
    """Implements the `Feature` protocol for daily prompts."""

    name = "Daily prompts"
    privacy_rules: TableRules = {
        "prompt_suggestions": TableRule("prompt suggestions", anonymise=("decided_by_user_id",)),
        "journal_entries": TableRule("private journal entries"),
        "talk_signups": TableRule("'Talk 1:1 about this' sign-ups"),
    }

    def __init__(
        self,
        db: Database,
        scheduler: Scheduler,
        clock: Clock,
        guilds: GuildService,
        outbox: Outbox,
        breaks: BreakCalendar | None = None,
    ) -> None:
        self._db = db
        self._scheduler = scheduler
        self._clock = clock
        self._guilds = guilds
        self.pool = PromptPool(db, clock)
        self.schedule = PromptSchedule(db, scheduler, clock, guilds)
        self.daily = DailyPoster(
            db, clock, guilds, self.schedule, self.pool, outbox, breaks or NoBreaks()
        )
        self.suggestions = SuggestionReview(db, clock, self.pool, outbox)
        scheduler.register(DAILY_JOB, self.daily.daily_job)

    async def reschedule(self, guild_id: int) -> None:
        """Recompute the next post (after a timezone change, say)."""
        await self.schedule.reschedule(guild_id)

    # -- what members and admins see -------------------------------------------------------------

    async def conversation_starter(self, guild_id: int, seed: int) -> str:
        """Today's prompt, if it is out, else a built-in one chosen by `seed` (pairing intros
        quote it as something to talk about)."""
        today = await self.today(guild_id)
        if today.post is not None and today.post.text:
            return today.post.text
        library = load_library()
        return library[seed % len(library)].text

    async def today(self, guild_id: int) -> Today:
        """Today's post if it is out (else when the next comes): one read plus the job's time."""
        zone = await self._guilds.timezone(guild_id)
        day = local_date_of(self._clock.now(), zone)
        row = await self._db.fetchone(
            """
            SELECT s.paused AS settings_paused, p.*
            FROM (SELECT 1 AS one) AS base
            LEFT JOIN prompt_settings s ON s.guild_id = :guild_id
            LEFT JOIN (
                SELECT * FROM prompt_posts
                WHERE guild_id = :guild_id AND local_date = :day AND status = 'sent'
                ORDER BY extra, id DESC LIMIT 1
            ) AS p ON 1 = 1
            """,
            {"guild_id": guild_id, "day": day.isoformat()},
        )
        assert row is not None  # the outer (SELECT 1) always gives one row
        enabled = row["settings_paused"] == 0
        next_at = await self._scheduler.due_at(daily_key(guild_id)) if enabled else None
        post = None if row["id"] is None else post_from_row(row)
        return Today(enabled, post, next_at)

    async def status(self, guild_id: int, user_id: int | None) -> FeatureStatus:
        """Daily prompts' line in `/about` and `/admin show`, with the member's suggestions."""
        settings = await self.schedule.settings(guild_id)
        member_status = ""
        if user_id is not None:
            pending = await self.suggestions.pending_count_of(guild_id, user_id)
            if pending:
                member_status = f"{pending} of your suggested prompts waiting for review"
        if settings is None:
            return FeatureStatus(self.name, enabled=False, member_status=member_status)
        return FeatureStatus(
            self.name,
            enabled=not settings.paused,
            channel_id=settings.channel_id,
            role_id=settings.role_id,
            next_at=await self._scheduler.due_at(daily_key(guild_id)),
            summary=("paused; " if settings.paused else "") + settings.summary,
            member_status=member_status,
            problems=await self.problems(guild_id),
        )

    async def problems(self, guild_id: int) -> list[str]:
        """Recent posts that did not happen (or lack their thread), newest first."""
        zone = await self._guilds.timezone(guild_id)
        since = local_date_of(self._clock.now(), zone) - timedelta(days=PROBLEM_DAYS)
        rows = await self._db.fetchall(
            "SELECT local_date, status, reason FROM prompt_posts "
            "WHERE guild_id = ? AND local_date >= ? AND reason IS NOT NULL "
            "AND status IN ('failed', 'skipped', 'sent') ORDER BY local_date DESC, id DESC LIMIT ?",
            (guild_id, since.isoformat(), MAX_PROBLEMS),
        )
        return [
            f"prompt posted on {row['local_date']}, but {row['reason']}"
            if row["status"] == "sent"
            else f"prompt not posted on {row['local_date']}: {row['reason']}"
            for row in rows
        ]
