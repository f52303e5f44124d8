"""Posting the daily prompt: the job, catch-up, the claim, and what the post's outcome records.

A post is *claimed* in one transaction: a `prompt_posts` row (status 'claimed', holding the
chosen prompt and where it goes) and its outbox row (`prompt.post:<post id>`: the key is the
post's pointer to it), so the prompt is used and the message is on its way together, or
neither. Daily rows are unique per (guild, local date) by a partial unique index, so a second
claim for the same day is impossible, whoever tries. The outbox sends it (with its thread for
answers) exactly once (bot/outbox), and its hooks record the outcome here: 'sent' with the
message and thread ids, or 'failed' with the reason, which leaves the prompt unused.

Catch-up: the daily job looks back over the slots since the schedule was set (at most a week).
A slot with no row that is less than 6 hours late is posted; an older one is recorded as
skipped, and `status()` reports it to admins. A post Discord keeps refusing for a passing reason
is retried until it is too late to be that day's prompt (the same 6 hours), then failed. The
job always returns the next slot.

A post is mostly waiting on Discord, and 10,000 guilds may be due in the same second, so the
database work per claim is kept to a few statements (the claim reads everything it decides on in
one query, see `PromptPool.claim_state`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.breaks import BreakCalendar
from bot.breaks.calendar import break_on
from bot.clock import Clock
from bot.db import Database, Transaction
from bot.errors import UserError
from bot.guilds import GuildService
from bot.outbox import Failed, KindHooks, Outbox, OutboxRow, Sent
from bot.scheduler import Job
from bot.schedules import (
    CATCH_UP_WINDOW,
    DueSlot,
    format_hhmm,
    latest_due_post,
    local_date_of,
    next_daily_post,
)
from bot.timeutil import to_db

from .pool import ClaimState, PoolPrompt, PromptPool
from .records import PromptPost, PromptSettings, post_from_row
from .rotation import choose_next
from .settings import PromptSchedule

log = logging.getLogger(__name__)

POST_KIND = "prompt.post"
LOOKBACK = timedelta(days=7)  # how far back missed days are recorded as skipped
EMPTY_POOL = "the pool is empty; add prompts with /admin prompts add or import"


def post_key(post_id: int) -> str:
    """The outbox dedupe key of one prompt post, so a post is sent at most once."""
    return f"{POST_KIND}:{post_id}"


def _insert_sql(values: dict[str, object]) -> str:
    """INSERT of a post row with `values`' columns plus its day and `extra` flag."""
    columns = ["local_date", "extra", *values]
    return f"INSERT INTO prompt_posts ({', '.join(columns)}) VALUES (:{', :'.join(columns)})"


class DailyPoster:
    """Posts each guild's daily prompt once per day, catching up days missed while down."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        guilds: GuildService,
        schedule: PromptSchedule,
        pool: PromptPool,
        outbox: Outbox,
        breaks: BreakCalendar,
    ) -> None:
        self._db = db
        self._breaks = breaks
        self._clock = clock
        self._guilds = guilds
        self._schedule = schedule
        self._pool = pool
        self._outbox = outbox
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        outbox.register(
            POST_KIND,
            KindHooks(
                on_sent=self._post_sent,
                on_failed=self._post_failed,
                expires_after=CATCH_UP_WINDOW,  # later than that it is not that day's prompt
            ),
        )

    async def daily_job(self, job: Job) -> datetime | None:
        """Scheduler handler: post every slot due since the last run; returns the next post time."""
        assert job.guild_id is not None
        settings = await self._schedule.settings(job.guild_id)
        if settings is None or settings.paused:
            return None
        zone = await self._guilds.timezone(job.guild_id)
        now = self._clock.now()
        async with self._locks[job.guild_id]:
            slots = self._slots_since(settings, zone, now)
            # A day inside a school break posts nothing and is not recorded (it was not missed).
            breaks = (
                await self._breaks.between(job.guild_id, slots[0].local_date, slots[-1].local_date)
                if slots
                else ()
            )
            for slot in slots:
                if break_on(slot.local_date, breaks) is None:
                    await self._serve_slot(settings, slot, now)
        self._outbox.wake()
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
            await self._claim(settings, slot.local_date, due=slot.due_utc, post_now=False)
            return
        hours = late.total_seconds() / 3600
        skipped = await self._db.execute(
            "INSERT INTO prompt_posts "
            "(guild_id, local_date, status, reason, channel_id, due_at, claimed_at) "
            "VALUES (?, ?, 'skipped', ?, ?, ?, ?) ON CONFLICT DO NOTHING",
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
        if skipped:
            log.warning(
                "Guild %s: prompt for %s skipped, %.1f h late",
                settings.guild_id,
                slot.local_date,
                hours,
            )

    async def post_now(self, guild_id: int) -> PromptPost:
        """Post the next prompt now and wait for Discord's answer. It is today's post if today's
        is not out yet (not claimed, or failed/skipped); otherwise it is an extra post and
        today's stays as it was."""
        settings = await self._schedule.require(guild_id)
        zone = await self._guilds.timezone(guild_id)
        today = local_date_of(self._clock.now(), zone)
        async with self._locks[guild_id]:
            post_id, outbox_id = await self._claim(settings, today, due=None, post_now=True)
        assert post_id is not None and outbox_id is not None
        await self._outbox.send_now([outbox_id])
        return await self.post(post_id)

    async def _claim(
        self, settings: PromptSettings, day: date, *, due: datetime | None, post_now: bool
    ) -> tuple[int | None, int | None]:
        """Claim a post row with the next prompt and enqueue it; (post id, outbox id), or
        Nones if the day is taken (or the pool is empty: the day is then recorded as failed).

        The scheduled path never touches an existing row for the day (sent, failed, or
        skipped: that decision is final). `post_now` replaces today's row unless it is out
        (claimed or sent), and otherwise adds an extra row (extra rows have no uniqueness: each
        is its own post).
        """
        guild_id = settings.guild_id
        local_date = day.isoformat()
        # The scheduled path reads the state before taking the writers' lock (which every post
        # queues on): in this process only claims change what was used, and they are
        # serialised per guild by `_locks`; the day's unique index refuses a second claim.
        state = await self._pool.claim_state(guild_id, local_date, self._db)
        if state.day_post_id is not None and not post_now:
            return None, None
        async with self._db.transaction() as tx:
            extra = False
            if post_now:
                state = await self._pool.claim_state(guild_id, local_date, tx)
                extra = state.day_status in ("claimed", "sent")
                if state.day_post_id is not None and not extra:
                    # Today's failed or skipped row makes way for this post (a new row, so a
                    # new outbox key: the failed send stays what it was).
                    await tx.execute("DELETE FROM prompt_posts WHERE id = ?", (state.day_post_id,))
            prompt, values = self._next_values(settings, state, due, post_now=post_now)
            post_id = await tx.fetchval(
                _insert_sql(values) + " ON CONFLICT DO NOTHING RETURNING id",
                {**values, "local_date": local_date, "extra": extra},
            )
            if post_id is None or prompt is None:
                return None, None
            outbox_id = await self._enqueue(tx, settings, post_id, day, prompt)
        return post_id, outbox_id

    async def _enqueue(
        self,
        tx: Transaction,
        settings: PromptSettings,
        post_id: int,
        day: date,
        prompt: PoolPrompt,
    ) -> int:
        outbox_id = await self._outbox.enqueue(
            tx,
            key=post_key(post_id),
            kind=POST_KIND,
            guild_id=settings.guild_id,
            channel_id=settings.channel_id,
            payload={
                "post_id": post_id,
                "prompt_id": prompt.prompt_id,
                "text": prompt.text,
                "theme": prompt.theme,
                "local_date": day.isoformat(),
                "role_id": settings.role_id,
                "threads": settings.threads,
                # The post's "Talk 1:1" button (0: none); "Reflect privately" is always there.
                "talk_hours": settings.talk_hours,
            },
        )
        assert outbox_id is not None  # a new post row has a new key
        return outbox_id

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
            "status": "claimed" if prompt else "failed",
            "reason": None if prompt else EMPTY_POOL,
            "prompt_id": prompt.prompt_id if prompt else None,
            "prompt_text": prompt.text if prompt else None,
            "theme": prompt.theme if prompt else None,
            "cycle": choice.cycle if choice else None,
            "channel_id": settings.channel_id,
            "role_id": settings.role_id,
            "threads": settings.threads,
            "talk_hours": settings.talk_hours,
            "due_at": None if due is None else to_db(due),
            "claimed_at": to_db(self._clock.now()),
        }

    # -- what the outbox reports ---------------------------------------------------------------

    async def _post_sent(self, tx: Transaction, row: OutboxRow, sent: Sent) -> None:
        """The post is out (with its thread, or a note why the thread is missing)."""
        await tx.execute(
            "UPDATE prompt_posts SET status = 'sent', message_id = ?, thread_id = ?, reason = ?, "
            "sent_at = ? WHERE id = ?",
            (
                sent.message_id,
                sent.thread_id,
                sent.problem,
                to_db(self._clock.now()),
                row.payload["post_id"],
            ),
        )

    async def _post_failed(self, tx: Transaction, row: OutboxRow, failed: Failed) -> None:
        """Not posted: the day records why (for /admin show), and the prompt stays unused."""
        reason = failed.reason
        if failed.target_gone:
            reason += "; choose one with /admin prompts schedule"
        await tx.execute(
            "UPDATE prompt_posts SET status = 'failed', reason = ? WHERE id = ?",
            (reason, row.payload["post_id"]),
        )

    async def post(self, post_id: int) -> PromptPost:
        """The stored record of post `post_id` as it stands now (after a send: its outcome)."""
        row = await self._db.fetchone("SELECT * FROM prompt_posts WHERE id = ?", (post_id,))
        assert row is not None
        return post_from_row(row)
