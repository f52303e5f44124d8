"""Daily growth prompts: the schedule, exactly-once posting, catch-up, failures and status.

Exactly once, step by step:

1. A post is *claimed* in one transaction: a `prompt_posts` row in state 'sending', holding the
   chosen prompt and where it goes. Daily rows are unique per (guild, local date) by a partial
   unique index, so a second claim for the same day is impossible, whoever tries.
2. The message is sent with the nonce `kindred-prompt-<row id>`.
3. The row becomes 'sent' (with the message and thread ids) or 'failed' (with the reason).

A crash between 1 and 3 leaves a 'sending' row; `recover()` (run when the cog loads) resends it
with the same nonce, so Discord returns the first message instead of posting a second. Within one
process a per-guild lock keeps the scheduled post and `post-now` from sending the same row twice.

Catch-up: the daily job looks back over the slots since the schedule was set (at most a week).
A slot with no row that is less than 6 hours late is posted; an older one is recorded as
skipped, and `status()` reports it to admins. Failures do not use the prompt (only 'sending' and
'sent' rows count as used) and do not stop the schedule: the job always returns the next slot.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.db import Database
from bot.errors import UserError
from bot.features import FeatureStatus
from bot.guilds import GuildService
from bot.scheduler import Job, Scheduler
from bot.schedules import (
    CATCH_UP_WINDOW,
    DueSlot,
    format_hhmm,
    latest_due_post,
    local_date_of,
    next_daily_post,
    parse_hhmm,
)
from bot.timeutil import from_db, maybe_from_db, to_db

from .pool import PromptPool, Suggestion
from .posting import ApprovalNotice, Delivery, DeliveryDeferred, DeliveryFailed, PromptSender
from .rotation import choose_next

log = logging.getLogger(__name__)

DAILY_JOB = "prompts.daily"
RECOVER_JOB = "prompts.recover"
RECOVER_KEY = "prompts.recover"
DEFERRED_RETRY = timedelta(minutes=1)  # within Discord's nonce window, so a resend dedupes
LOOKBACK = timedelta(days=7)  # how far back missed days are recorded as skipped
EMPTY_POOL = "the pool is empty; add prompts with /admin prompts add or import"
PROBLEM_DAYS = 14  # how long a failure stays on /admin show
MAX_PROBLEMS = 5


def daily_key(guild_id: int) -> str:
    return f"prompts.daily:{guild_id}"


@dataclass(frozen=True, slots=True)
class PromptSettings:
    guild_id: int
    channel_id: int
    post_time: time
    weekends: bool
    threads: bool
    role_id: int | None
    paused: bool
    active_since: datetime

    @property
    def summary(self) -> str:
        days = "every day" if self.weekends else "weekdays"
        thread = ", with a thread for answers" if self.threads else ""
        return f"{days} at {format_hhmm(self.post_time)}{thread}"


@dataclass(frozen=True, slots=True)
class PromptPost:
    """One post attempt (the record of a prompt's use when it was sent)."""

    id: int
    guild_id: int
    local_date: date
    extra: bool
    status: str  # 'sending' | 'sent' | 'failed' | 'skipped'
    reason: str | None
    prompt_id: str | None
    text: str | None
    theme: str | None
    channel_id: int | None
    role_id: int | None
    threads: bool
    message_id: int | None
    thread_id: int | None
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class Today:
    """For `/prompt today`: today's post if it is out, else when the next one comes."""

    enabled: bool
    post: PromptPost | None
    next_at: datetime | None


@dataclass(frozen=True, slots=True)
class Approval:
    suggestion: Suggestion
    prompt_id: str
    dm_sent: bool


class PromptService:
    """Implements the `Feature` protocol for daily prompts."""

    name = "Daily prompts"

    def __init__(
        self, db: Database, scheduler: Scheduler, clock: Clock, guilds: GuildService
    ) -> None:
        self._db = db
        self._scheduler = scheduler
        self._clock = clock
        self._guilds = guilds
        self.pool = PromptPool(db, clock)
        self._sender: PromptSender | None = None
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        scheduler.register(DAILY_JOB, self._daily_job)
        scheduler.register(RECOVER_JOB, self._recover_job)

    def attach_sender(self, sender: PromptSender | None) -> None:
        """The cog hands in the Discord side when it loads (and None when it unloads)."""
        self._sender = sender

    # -- settings --------------------------------------------------------------------------------

    async def settings(self, guild_id: int) -> PromptSettings | None:
        row = await self._db.fetchone(
            "SELECT * FROM prompt_settings WHERE guild_id = ?", (guild_id,)
        )
        return None if row is None else _settings(row)

    async def schedule(
        self,
        guild_id: int,
        *,
        channel_id: int,
        time_text: str,
        weekends: bool,
        threads: bool,
        role_id: int | None,
    ) -> tuple[PromptSettings, datetime]:
        """Turn daily prompts on (or change them); returns the settings and the next post time."""
        try:
            at = parse_hhmm(time_text)
        except ValueError as exc:
            raise UserError(str(exc)) from exc
        await self._guilds.joined(guild_id)
        await self._db.execute(
            """
            INSERT INTO prompt_settings
                (guild_id, channel_id, post_time, weekends, threads, role_id, paused, active_since)
            VALUES (?, ?, ?, ?, ?, ?, 0, ?)
            ON CONFLICT (guild_id) DO UPDATE SET
                channel_id = excluded.channel_id, post_time = excluded.post_time,
                weekends = excluded.weekends, threads = excluded.threads,
                role_id = excluded.role_id, paused = 0, active_since = excluded.active_since
            """,
            (guild_id, channel_id, format_hhmm(at), weekends, threads, role_id, self._now_db()),
        )
        next_at = await self._reschedule(guild_id)
        settings = await self.settings(guild_id)
        assert settings is not None and next_at is not None
        return settings, next_at

    async def pause(self, guild_id: int) -> None:
        settings = await self._require_settings(guild_id)
        if settings.paused:
            raise UserError("Daily prompts are already paused. Use /admin prompts resume.")
        await self._db.execute(
            "UPDATE prompt_settings SET paused = 1 WHERE guild_id = ?", (guild_id,)
        )
        await self._scheduler.cancel(daily_key(guild_id))

    async def resume(self, guild_id: int) -> datetime:
        """Restart the daily post; days missed while paused are not made up (or reported)."""
        settings = await self._require_settings(guild_id)
        if not settings.paused:
            raise UserError("Daily prompts are not paused.")
        await self._db.execute(
            "UPDATE prompt_settings SET paused = 0, active_since = ? WHERE guild_id = ?",
            (self._now_db(), guild_id),
        )
        next_at = await self._reschedule(guild_id)
        assert next_at is not None
        return next_at

    async def reschedule(self, guild_id: int) -> None:
        """Recompute the next post (after a timezone change, say)."""
        await self._reschedule(guild_id)

    async def _reschedule(self, guild_id: int) -> datetime | None:
        settings = await self.settings(guild_id)
        if settings is None or settings.paused:
            await self._scheduler.cancel(daily_key(guild_id))
            return None
        zone = await self._guilds.timezone(guild_id)
        next_at = next_daily_post(self._clock.now(), zone, settings.post_time, settings.weekends)
        await self._scheduler.schedule(daily_key(guild_id), DAILY_JOB, next_at, guild_id=guild_id)
        return next_at

    async def _require_settings(self, guild_id: int) -> PromptSettings:
        settings = await self.settings(guild_id)
        if settings is None:
            raise UserError(
                "Daily prompts are not set up here yet. Start with /admin prompts schedule."
            )
        return settings

    # -- posting ---------------------------------------------------------------------------------

    async def _daily_job(self, job: Job) -> datetime | None:
        assert job.guild_id is not None
        settings = await self.settings(job.guild_id)
        if settings is None or settings.paused:
            return None
        sender = self._require_sender()
        zone = await self._guilds.timezone(job.guild_id)
        now = self._clock.now()
        async with self._locks[job.guild_id]:
            for slot in self._slots_since(settings, zone, now):
                await self._serve_slot(settings, slot, now, sender)
        return next_daily_post(now, zone, settings.post_time, settings.weekends)

    def _slots_since(
        self, settings: PromptSettings, zone: ZoneInfo, now: datetime
    ) -> list[DueSlot]:
        """The slots that came since the schedule was set (within LOOKBACK), oldest first."""
        since = max(settings.active_since, now - LOOKBACK)
        slots: list[DueSlot] = []
        cursor = now
        while (
            slot := latest_due_post(cursor, zone, settings.post_time, settings.weekends)
        ) is not None and slot.due_utc >= since:
            slots.append(slot)
            cursor = slot.due_utc - timedelta(seconds=1)
        return slots[::-1]

    async def _serve_slot(
        self, settings: PromptSettings, slot: DueSlot, now: datetime, sender: PromptSender
    ) -> None:
        late = now - slot.due_utc
        if late < CATCH_UP_WINDOW:
            post = await self._claim(settings, slot.local_date, due=slot.due_utc, post_now=False)
            if post is not None:
                await self._deliver(post, sender)
            return
        hours = late.total_seconds() / 3600
        inserted = await self._db.execute(
            "INSERT OR IGNORE INTO prompt_posts "
            "(guild_id, local_date, status, reason, channel_id, due_at, claimed_at) "
            "VALUES (?, ?, 'skipped', ?, ?, ?, ?)",
            (
                settings.guild_id,
                slot.local_date.isoformat(),
                f"skipped, the bot was offline at {format_hhmm(settings.post_time)} "
                f"(back {hours:.0f} h later; posts are caught up only within 6 h)",
                settings.channel_id,
                to_db(slot.due_utc),
                self._now_db(),
            ),
        )
        if inserted:
            log.warning(
                "Guild %s: prompt for %s skipped, %.1f h late",
                settings.guild_id,
                slot.local_date,
                hours,
            )

    async def post_now(self, guild_id: int) -> PromptPost:
        """Post the next prompt now. It is today's post if today's is not out yet (not claimed,
        or failed/skipped); otherwise it is an extra post and today's stays as it was."""
        settings = await self._require_settings(guild_id)
        sender = self._require_sender()
        zone = await self._guilds.timezone(guild_id)
        today = local_date_of(self._clock.now(), zone)
        async with self._locks[guild_id]:
            post = await self._claim(settings, today, due=None, post_now=True)
            assert post is not None
            return await self._deliver(post, sender)

    async def _claim(
        self, settings: PromptSettings, day: date, *, due: datetime | None, post_now: bool
    ) -> PromptPost | None:
        """Claim a post row in 'sending' with the next prompt; None if the day is taken.

        The scheduled path never touches an existing row for the day (sent, failed, or
        skipped: that decision is final). `post_now` takes over today's row unless it is out,
        and otherwise adds an extra row (extra rows have no uniqueness: each is its own post).
        """
        guild_id = settings.guild_id
        async with self._db.transaction() as tx:
            existing = await tx.fetchone(
                "SELECT id, status FROM prompt_posts "
                "WHERE guild_id = ? AND local_date = ? AND extra = 0",
                (guild_id, day.isoformat()),
            )
            if existing is not None and not post_now:
                return None
            extra = existing is not None and existing["status"] in ("sending", "sent")
            pool = await self.pool.pool(guild_id, tx)
            usage = await self.pool.usage(guild_id, tx)
            choice = choose_next(list(pool), usage.used, guild_id, usage.cycle, usage.previous)
            if choice is None and post_now:
                raise UserError(
                    "There are no prompts in the pool. Add some with /admin prompts add or import."
                )
            prompt = pool[choice.prompt_id] if choice else None
            values = {
                "status": "sending" if prompt else "failed",
                "reason": None if prompt else EMPTY_POOL,
                "prompt_id": prompt.prompt_id if prompt else None,
                "prompt_text": prompt.text if prompt else None,
                "theme": prompt.theme if prompt else None,
                "cycle": choice.cycle if choice else None,
                "channel_id": settings.channel_id,
                "role_id": settings.role_id,
                "threads": settings.threads,
                "due_at": None if due is None else to_db(due),
                "claimed_at": self._now_db(),
            }
            if existing is not None and not extra:
                post_id = existing["id"]
                assignments = ", ".join(f"{column} = :{column}" for column in values)
                await tx.execute(
                    f"UPDATE prompt_posts SET {assignments}, message_id = NULL, thread_id = NULL "
                    "WHERE id = :id",
                    {**values, "id": post_id},
                )
            else:
                cursor = await tx.execute(
                    f"INSERT INTO prompt_posts (guild_id, local_date, extra, {', '.join(values)}) "
                    f"VALUES (:guild_id, :local_date, :extra, :{', :'.join(values)})",
                    {**values, "guild_id": guild_id, "local_date": day.isoformat(), "extra": extra},
                )
                post_id = cursor.lastrowid
        return await self.post(post_id) if prompt else None

    async def _deliver(self, post: PromptPost, sender: PromptSender) -> PromptPost:
        """Send a claimed row and record the outcome; Discord's refusals never escape."""
        assert post.prompt_id and post.text and post.theme and post.channel_id
        delivery = Delivery(
            post_id=post.id,
            guild_id=post.guild_id,
            channel_id=post.channel_id,
            role_id=post.role_id,
            threads=post.threads,
            local_date=post.local_date,
            prompt_id=post.prompt_id,
            text=post.text,
            theme=post.theme,
        )
        try:
            posted = await sender.post(delivery)
        except DeliveryDeferred as exc:
            await self._defer(post, str(exc))
        except DeliveryFailed as exc:
            log.warning("Guild %s: prompt post %s failed: %s", post.guild_id, post.id, exc)
            await self._finish_post(post.id, "failed", reason=str(exc))
        except Exception:
            log.exception("Guild %s: prompt post %s failed unexpectedly", post.guild_id, post.id)
            await self._finish_post(post.id, "failed", reason="an unexpected error (see the log)")
        else:
            await self._finish_post(
                post.id,
                "sent",
                reason=posted.thread_problem,
                message_id=posted.message_id,
                thread_id=posted.thread_id,
            )
        return await self.post(post.id)

    async def _defer(self, post: PromptPost, problem: str) -> None:
        """Keep a post claimed through a Discord outage and retry it shortly, until it is too
        late to be today's prompt (the catch-up window), then record the day as failed."""
        claimed = await self._db.fetchval(
            "SELECT claimed_at FROM prompt_posts WHERE id = ?", (post.id,)
        )
        if self._clock.now() - from_db(claimed) >= CATCH_UP_WINDOW:
            log.warning("Guild %s: prompt post %s given up: %s", post.guild_id, post.id, problem)
            await self._finish_post(
                post.id, "failed", reason=f"Discord was unavailable for hours ({problem})"
            )
            return
        log.warning("Guild %s: prompt post %s deferred: %s", post.guild_id, post.id, problem)
        await self._scheduler.schedule(RECOVER_KEY, RECOVER_JOB, self._clock.now() + DEFERRED_RETRY)

    async def _finish_post(
        self,
        post_id: int,
        status: str,
        *,
        reason: str | None,
        message_id: int | None = None,
        thread_id: int | None = None,
    ) -> None:
        await self._db.execute(
            "UPDATE prompt_posts SET status = ?, reason = ?, message_id = ?, thread_id = ?, "
            "sent_at = ? WHERE id = ? AND status = 'sending'",
            (
                status,
                reason,
                message_id,
                thread_id,
                self._now_db() if status == "sent" else None,
                post_id,
            ),
        )

    async def post(self, post_id: int) -> PromptPost:
        row = await self._db.fetchone("SELECT * FROM prompt_posts WHERE id = ?", (post_id,))
        assert row is not None
        return _post(row)

    def _require_sender(self) -> PromptSender:
        if self._sender is None:
            # Raised inside a job, the scheduler logs it and retries with backoff.
            raise RuntimeError("the prompts cog is not loaded, so nothing can be posted")
        return self._sender

    # -- recovery after a crash ------------------------------------------------------------------

    async def recover(self) -> None:
        """Schedule a resend of posts and DMs a crash left in 'sending' (called at startup)."""
        pending = await self._db.fetchval(
            "SELECT EXISTS (SELECT 1 FROM prompt_posts WHERE status = 'sending') "
            "OR EXISTS (SELECT 1 FROM prompt_suggestions WHERE dm_status = 'sending')"
        )
        if pending:
            await self._scheduler.schedule(RECOVER_KEY, RECOVER_JOB, self._clock.now())

    async def _recover_job(self, job: Job) -> datetime | None:
        sender = self._require_sender()
        rows = await self._db.fetchall(
            "SELECT id, guild_id FROM prompt_posts WHERE status = 'sending' ORDER BY id"
        )
        for row in rows:
            async with self._locks[row["guild_id"]]:
                post = await self.post(row["id"])
                if post.status == "sending":
                    log.info("Resending prompt post %s after a restart", post.id)
                    await self._deliver(post, sender)
        for (suggestion_id,) in await self._db.fetchall(
            "SELECT id FROM prompt_suggestions WHERE dm_status = 'sending' ORDER BY id"
        ):
            await self._notify(suggestion_id, sender)
        return None

    # -- suggestions -----------------------------------------------------------------------------

    async def approve(self, guild_id: int, suggestion_id: int, admin_user_id: int) -> Approval:
        """Add a suggestion to the pool and DM the suggester (a refused DM is only logged)."""
        sender = self._require_sender()
        suggestion, prompt_id = await self.pool.decide(
            guild_id, suggestion_id, admin_user_id, approve=True
        )
        assert prompt_id is not None
        dm_sent = await self._notify(suggestion_id, sender)
        return Approval(suggestion, prompt_id, dm_sent)

    async def reject(self, guild_id: int, suggestion_id: int, admin_user_id: int) -> Suggestion:
        """Reject quietly: the suggester is not told (a rejection DM would discourage more)."""
        suggestion, _ = await self.pool.decide(
            guild_id, suggestion_id, admin_user_id, approve=False
        )
        return suggestion

    async def _notify(self, suggestion_id: int, sender: PromptSender) -> bool:
        row = await self._db.fetchone(
            "SELECT * FROM prompt_suggestions WHERE id = ? AND dm_status = 'sending'",
            (suggestion_id,),
        )
        if row is None:
            return False
        notice = ApprovalNotice(
            suggestion_id=suggestion_id,
            guild_id=row["guild_id"],
            user_id=row["suggested_by_user_id"],
            prompt_id=f"c{row['custom_prompt_id']}",
            text=row["text"],
        )
        status, reason = "sent", None
        try:
            await sender.direct_message(notice)
        except DeliveryFailed as exc:
            status, reason = "failed", str(exc)
            log.info("Could not DM the suggester of suggestion %s: %s", suggestion_id, exc)
        except Exception:
            status, reason = "failed", "an unexpected error (see the log)"
            log.exception("Could not DM the suggester of suggestion %s", suggestion_id)
        await self._db.execute(
            "UPDATE prompt_suggestions SET dm_status = ?, dm_reason = ? WHERE id = ?",
            (status, reason, suggestion_id),
        )
        return status == "sent"

    # -- what members and admins see -------------------------------------------------------------

    async def today(self, guild_id: int) -> Today:
        settings = await self.settings(guild_id)
        zone = await self._guilds.timezone(guild_id)
        day = local_date_of(self._clock.now(), zone)
        row = await self._db.fetchone(
            "SELECT * FROM prompt_posts WHERE guild_id = ? AND local_date = ? "
            "AND status = 'sent' ORDER BY extra, id DESC LIMIT 1",
            (guild_id, day.isoformat()),
        )
        enabled = settings is not None and not settings.paused
        next_at = await self._scheduler.due_at(daily_key(guild_id)) if enabled else None
        return Today(enabled, None if row is None else _post(row), next_at)

    async def status(self, guild_id: int, user_id: int | None) -> FeatureStatus:
        settings = await self.settings(guild_id)
        member_status = ""
        if user_id is not None:
            pending = await self.pool.pending_count_of(guild_id, user_id)
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

    def _now_db(self) -> str:
        return to_db(self._clock.now())


def _settings(row: sqlite3.Row) -> PromptSettings:
    return PromptSettings(
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        post_time=parse_hhmm(row["post_time"]),
        weekends=bool(row["weekends"]),
        threads=bool(row["threads"]),
        role_id=row["role_id"],
        paused=bool(row["paused"]),
        active_since=from_db(row["active_since"]),
    )


def _post(row: sqlite3.Row) -> PromptPost:
    return PromptPost(
        id=row["id"],
        guild_id=row["guild_id"],
        local_date=date.fromisoformat(row["local_date"]),
        extra=bool(row["extra"]),
        status=row["status"],
        reason=row["reason"],
        prompt_id=row["prompt_id"],
        text=row["prompt_text"],
        theme=row["theme"],
        channel_id=row["channel_id"],
        role_id=row["role_id"],
        threads=bool(row["threads"]),
        message_id=row["message_id"],
        thread_id=row["thread_id"],
        sent_at=maybe_from_db(row["sent_at"]),
    )
