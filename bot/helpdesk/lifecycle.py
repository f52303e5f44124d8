"""Each ask's lifecycle job: the bump after 48 hours, the owner's review after 14 days, and
closing it as stale a week after an unanswered review.

Each open ask has one scheduler job, `helpdesk.ask:<ask_id>`, due at the ask's next step
(`rules.next_due_at`). The job performs the step, claiming it in a transaction (so a rerun is a
no-op) and enqueueing its message in the same transaction, and returns its next due time.
`sync` re-arms (or cancels) the job after any change to the ask.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.clock import Clock
from bot.db import Database
from bot.helpdesk.messages import LedgerMessages
from bot.helpdesk.models import MessageKind
from bot.helpdesk.rules import Action, AskState, AskStatus, next_action, next_due_at
from bot.helpdesk.search import unindex_ask
from bot.helpdesk.store import ASK_COLUMNS, ASK_FROM, ask_from_row
from bot.scheduler import Job, Scheduler
from bot.timeutil import from_db, maybe_from_db, to_db

log = logging.getLogger(__name__)

ASK_JOB = "helpdesk.ask"
#: After downtime several steps can be due at once; each pass performs one and looks again.
_MAX_STEPS_PER_RUN = 3


def ask_job_key(ask_id: int) -> str:
    """The scheduler key of an ask's lifecycle job (bump, review, expiry)."""
    return f"{ASK_JOB}:{ask_id}"


class AskLifecycle:
    """Runs the ask lifecycle jobs."""

    def __init__(
        self, db: Database, scheduler: Scheduler, clock: Clock, messages: LedgerMessages
    ) -> None:
        self._db = db
        self._scheduler = scheduler
        self._clock = clock
        self._messages = messages
        scheduler.register(ASK_JOB, self._run_ask_job)

    async def state(self, ask_id: int) -> AskState | None:
        """The ask as its lifecycle rules need it (status, timings, helped), or None."""
        row = await self._db.fetchone(
            """
            SELECT a.*, EXISTS (
                SELECT 1 FROM helpdesk_helpers h WHERE h.ask_id = a.ask_id
            ) AS helped
            FROM helpdesk_asks a WHERE a.ask_id = ?
            """,
            (ask_id,),
        )
        if row is None:
            return None
        return AskState(
            created_at=from_db(row["created_at"]),
            helped=bool(row["helped"]),
            bumped_at=maybe_from_db(row["bumped_at"]),
            review_sent_at=maybe_from_db(row["review_sent_at"]),
            kept_open_at=maybe_from_db(row["kept_open_at"]),
            status=AskStatus(row["status"]),
        )

    async def sync(self, ask_id: int) -> None:
        """Schedule (or cancel) the ask's job after any change to it."""
        state = await self.state(ask_id)
        due = None if state is None else next_due_at(state)
        key = ask_job_key(ask_id)
        if due is None:
            await self._scheduler.cancel(key)
            return
        guild_id = await self._db.fetchval(
            "SELECT guild_id FROM helpdesk_asks WHERE ask_id = ?", (ask_id,)
        )
        await self._scheduler.schedule(key, ASK_JOB, due, guild_id=guild_id)

    async def _run_ask_job(self, job: Job) -> datetime | None:
        ask_id = int(job.key.rsplit(":", 1)[1])
        for _ in range(_MAX_STEPS_PER_RUN):
            state = await self.state(ask_id)
            if state is None:
                return None
            action = next_action(state, self._clock.now())
            if action is Action.NONE:
                break
            await self._perform(ask_id, action)
        self._messages.wake()
        state = await self.state(ask_id)
        return None if state is None else next_due_at(state)

    async def _perform(self, ask_id: int, action: Action) -> None:
        """Claim one lifecycle step in a transaction; a second run finds it already done."""
        now = to_db(self._clock.now())
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                f"SELECT {ASK_COLUMNS}, a.review_round, g.channel_id FROM {ASK_FROM} "
                "LEFT JOIN helpdesk_guilds g ON g.guild_id = a.guild_id "
                "WHERE a.ask_id = ? AND a.status = 'open'",
                (ask_id,),
            )
            if row is None:
                return
            ask = ask_from_row(row)
            if action is Action.BUMP:
                # Recorded even without a help channel, so the bump is not retried forever.
                await tx.execute(
                    "UPDATE helpdesk_asks SET bumped_at = ? WHERE ask_id = ?", (now, ask_id)
                )
                if row["channel_id"] is not None:
                    await self._messages.enqueue(
                        tx, MessageKind.BUMP, ask, channel_id=row["channel_id"]
                    )
            elif action is Action.ASK_OWNER:
                round_ = row["review_round"] + 1
                await tx.execute(
                    "UPDATE helpdesk_asks SET review_sent_at = ?, review_round = ? "
                    "WHERE ask_id = ?",
                    (now, round_, ask_id),
                )
                await self._messages.enqueue(
                    tx, MessageKind.REVIEW, ask, recipient=ask.user_id, round_=round_
                )
            elif action is Action.CLOSE_STALE:
                await tx.execute(
                    "UPDATE helpdesk_asks SET status = 'stale', closed_at = ? WHERE ask_id = ?",
                    (now, ask_id),
                )
                await unindex_ask(tx, ask_id)
                await self._messages.enqueue_closed(tx, ask_id)
                log.info("Ask %s in guild %s closed as stale", ask.number, ask.guild_id)
