"""Posting the daily prompt exactly once: the job, catch-up, the claim, delivery and outcomes.

Exactly once, step by step:

1. A post is *claimed* in one transaction: a `prompt_posts` row in state 'sending', holding the
   chosen prompt and where it goes. Daily rows are unique per (guild, local date) by a partial
   unique index, so a second claim for the same day is impossible, whoever tries.
2. The message is sent with the nonce `kindred-prompt-<row id>`.
3. The row becomes 'sent' (with the message and thread ids) or 'failed' (with the reason).

A crash between 1 and 3 leaves a 'sending' row; `resend_pending()` (the recovery job, scheduled
when the cog loads) resends it with the same nonce, so Discord returns the first message instead
of posting a second. Within one process a per-guild lock keeps the scheduled post and `post-now`
from sending the same row twice.

Catch-up: the daily job looks back over the slots since the schedule was set (at most a week).
A slot with no row that is less than 6 hours late is posted; an older one is recorded as
skipped, and `status()` reports it to admins. Failures do not use the prompt (only 'sending' and
'sent' rows count as used) and do not stop the schedule: the job always returns the next slot.

A post is mostly waiting on Discord, and 10,000 guilds may be due in the same second, so the
database work per post is kept to a few statements (the claim reads everything it decides on in
one query, see `PromptPool.claim_state`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.db import Database
from bot.errors import UserError
from bot.guilds import GuildService
from bot.scheduler import Job, Scheduler
from bot.schedules import (
    CATCH_UP_WINDOW,
    DueSlot,
    format_hhmm,
    latest_due_post,
    local_date_of,
    next_daily_post,
)
from bot.timeutil import from_db, to_db

from .pool import ClaimState, PoolPrompt, PromptPool
from .posting import Delivery, DeliveryDeferred, DeliveryFailed, SenderSlot
from .records import PromptPost, PromptSettings, post_from_row
from .rotation import choose_next
from .settings import PromptSchedule

log = logging.getLogger(__name__)

RECOVER_JOB = "prompts.recover"
RECOVER_KEY = "prompts.recover"
DEFERRED_RETRY = timedelta(minutes=1)  # within Discord's nonce window, so a resend dedupes
LOOKBACK = timedelta(days=7)  # how far back missed days are recorded as skipped
EMPTY_POOL = "the pool is empty; add prompts with /admin prompts add or import"


def _insert_sql(values: dict[str, object]) -> str:
    """INSERT of a post row with `values`' columns plus its day and `extra` flag."""
    columns = ["local_date", "extra", *values]
    return f"INSERT INTO prompt_posts ({', '.join(columns)}) VALUES (:{', :'.join(columns)})"


class DailyPoster:
    def __init__(
        self,
        db: Database,
        scheduler: Scheduler,
        clock: Clock,
        guilds: GuildService,
        schedule: PromptSchedule,
        pool: PromptPool,
        senders: SenderSlot,
    ) -> None:
        self._db = db
        self._scheduler = scheduler
        self._clock = clock
        self._guilds = guilds
        self._schedule = schedule
        self._pool = pool
        self._senders = senders
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def daily_job(self, job: Job) -> datetime | None:
        assert job.guild_id is not None
        settings = await self._schedule.settings(job.guild_id)
        if settings is None or settings.paused:
            return None
        self._senders.require()
        zone = await self._guilds.timezone(job.guild_id)
        now = self._clock.now()
        async with self._locks[job.guild_id]:
            for slot in self._slots_since(settings, zone, now):
                await self._serve_slot(settings, slot, now)
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

    async def _serve_slot(self, settings: PromptSettings, slot: DueSlot, now: datetime) -> None:
        late = now - slot.due_utc
        if late < CATCH_UP_WINDOW:
            post = await self._claim(settings, slot.local_date, due=slot.due_utc, post_now=False)
            if post is not None:
                await self._deliver(post)
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
                to_db(now),
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
        settings = await self._schedule.require(guild_id)
        self._senders.require()
        zone = await self._guilds.timezone(guild_id)
        today = local_date_of(self._clock.now(), zone)
        async with self._locks[guild_id]:
            post = await self._claim(settings, today, due=None, post_now=True)
            assert post is not None
            await self._deliver(post)
            return await self.post(post.id)

    async def _claim(
        self, settings: PromptSettings, day: date, *, due: datetime | None, post_now: bool
    ) -> PromptPost | None:
        """Claim a post row in 'sending' with the next prompt; None if the day is taken (or
        the pool is empty: the day is then recorded as failed).

        The scheduled path never touches an existing row for the day (sent, failed, or
        skipped: that decision is final). `post_now` takes over today's row unless it is out,
        and otherwise adds an extra row (extra rows have no uniqueness: each is its own post).
        """
        guild_id = settings.guild_id
        local_date = day.isoformat()
        if post_now:
            async with self._db.transaction() as tx:
                state = await self._pool.claim_state(guild_id, local_date, tx)
                extra = state.day_status in ("sending", "sent")
                prompt, values = self._next_values(settings, state, due, post_now=True)
                if state.day_post_id is not None and not extra:
                    post_id = state.day_post_id
                    assignments = ", ".join(f"{column} = :{column}" for column in values)
                    await tx.execute(
                        f"UPDATE prompt_posts SET {assignments}, message_id = NULL, "
                        "thread_id = NULL WHERE id = :id",
                        {**values, "id": post_id},
                    )
                else:
                    cursor = await tx.execute(
                        _insert_sql(values), {**values, "local_date": local_date, "extra": extra}
                    )
                    assert cursor.lastrowid is not None
                    post_id = cursor.lastrowid
        else:
            # The scheduled path claims with one INSERT, so the writers' lock (which every post
            # queues on) is held for one statement. The state is read before it without the
            # lock: in this process only claims change what was used, and they are serialised
            # per guild by `_locks`; the day's unique index still refuses a second claim.
            state = await self._pool.claim_state(guild_id, local_date, self._db)
            if state.day_post_id is not None:
                return None
            extra = False
            prompt, values = self._next_values(settings, state, due, post_now=False)
            inserted = await self._db.insert(
                _insert_sql(values) + " ON CONFLICT DO NOTHING",
                {**values, "local_date": local_date, "extra": extra},
            )
            if inserted is None:
                return None
            post_id = inserted
        if prompt is None:
            return None
        # The row as just written (no re-read: only this claim writes it while it is sending).
        return PromptPost(
            id=post_id,
            guild_id=guild_id,
            local_date=day,
            extra=extra,
            status="sending",
            reason=None,
            prompt_id=prompt.prompt_id,
            text=prompt.text,
            theme=prompt.theme,
            channel_id=settings.channel_id,
            role_id=settings.role_id,
            threads=settings.threads,
            message_id=None,
            thread_id=None,
        )

    def _next_values(
        self, settings: PromptSettings, state: ClaimState, due: datetime | None, *, post_now: bool
    ) -> tuple[PoolPrompt | None, dict[str, object]]:
        """The next prompt by the rotation, and the post row's columns for it (or for the
        failure, when the pool is empty: `post_now` says so to the admin instead)."""
        usage = state.usage
        choice = choose_next(
            list(state.pool), usage.used, settings.guild_id, usage.cycle, usage.previous
        )
        if choice is None and post_now:
            raise UserError(
                "There are no prompts in the pool. Add some with /admin prompts add or import."
            )
        prompt = state.pool[choice.prompt_id] if choice else None
        return prompt, {
            "guild_id": settings.guild_id,
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
            "claimed_at": to_db(self._clock.now()),
        }

    async def _deliver(self, post: PromptPost) -> None:
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
        sender = self._senders.require()
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
                to_db(self._clock.now()) if status == "sent" else None,
                post_id,
            ),
        )

    async def post(self, post_id: int) -> PromptPost:
        row = await self._db.fetchone("SELECT * FROM prompt_posts WHERE id = ?", (post_id,))
        assert row is not None
        return post_from_row(row)

    async def has_pending(self) -> bool:
        """Whether a crash (or an outage) left posts claimed but not sent."""
        return bool(
            await self._db.fetchval(
                "SELECT EXISTS (SELECT 1 FROM prompt_posts WHERE status = 'sending')"
            )
        )

    async def resend_pending(self) -> None:
        """Resend every post left in 'sending', with its nonce (Discord dedupes a repeat)."""
        self._senders.require()
        rows = await self._db.fetchall(
            "SELECT id, guild_id FROM prompt_posts WHERE status = 'sending' ORDER BY id"
        )
        for row in rows:
            async with self._locks[row["guild_id"]]:
                post = await self.post(row["id"])
                if post.status == "sending":
                    log.info("Resending prompt post %s after a restart", post.id)
                    await self._deliver(post)
