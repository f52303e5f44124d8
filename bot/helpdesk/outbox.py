"""Sending the ledger's messages exactly once, and each ask's lifecycle job (bump, review, stale).

Every message about an ask is a `helpdesk_messages` row, inserted with a UNIQUE key in the same
transaction that decides it (the ask, the routing choice, the bump...). Sending then goes:
mark the row `sending`, send with nonce `kindred-hd-<row id>`, mark it `sent`. A crash anywhere
leaves the row `pending` or `sending`; it is sent again with the same nonce, which Discord
deduplicates, so nothing is lost and nothing arrives twice.

Each ask has one scheduler job, `helpdesk.ask:<ask_id>`, due at the ask's next lifecycle step
(`rules.next_due_at`) or sooner while messages are waiting to be retried. The job performs the
step (claiming it in a transaction, so a rerun is a no-op), sends what is unsent, and returns
its next due time. After a restart, `recover()` re-arms the job of every ask with unsent
messages, closing the gap between a transaction and the scheduling that follows it.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.db import Database, Transaction
from bot.helpdesk.models import (
    WHILE_OPEN,
    Ask,
    DeliveryRefused,
    MessageKind,
    Messenger,
    Outgoing,
)
from bot.helpdesk.rules import Action, AskState, AskStatus, next_action, next_due_at
from bot.scheduler import Job, Scheduler
from bot.timeutil import from_db, maybe_from_db, to_db

log = logging.getLogger(__name__)

ASK_JOB = "helpdesk.ask"
#: How soon an unsent message is retried, and how often before it is given up as failed.
RETRY_DELAY = timedelta(minutes=2)
MAX_ATTEMPTS = 5
#: After downtime several steps can be due at once; each pass performs one and looks again.
_MAX_STEPS_PER_RUN = 3

ASK_COLUMNS = """
    a.ask_id, a.guild_id, a.request_no, t.name AS topic, a.user_id, a.details, a.status,
    a.created_at
"""
ASK_FROM = "helpdesk_asks a JOIN helpdesk_topics t ON t.topic_id = a.topic_id"


def ask_job_key(ask_id: int) -> str:
    return f"{ASK_JOB}:{ask_id}"


def nonce_for(message_id: int) -> str:
    return f"kindred-hd-{message_id}"  # at most 25 characters for any 64-bit row id


def ask_from_row(row: sqlite3.Row) -> Ask:
    return Ask(
        ask_id=row["ask_id"],
        guild_id=row["guild_id"],
        number=row["request_no"],
        topic=row["topic"],
        user_id=row["user_id"],
        details=row["details"],
        status=AskStatus(row["status"]),
        created_at=from_db(row["created_at"]),
    )


class Outbox:
    """Sends recorded messages and runs the ask lifecycle jobs."""

    def __init__(self, db: Database, scheduler: Scheduler, clock: Clock) -> None:
        self._db = db
        self._scheduler = scheduler
        self._clock = clock
        self._messenger: Messenger | None = None
        self._in_flight: set[int] = set()  # message ids being sent by this process
        scheduler.register(ASK_JOB, self._run_ask_job)

    def attach(self, messenger: Messenger | None) -> None:
        """Set (or, with None, remove) the sender; until then messages wait as `pending`."""
        self._messenger = messenger

    async def recover(self) -> None:
        """After a restart, re-arm the job of every ask that still has unsent messages."""
        rows = await self._db.fetchall(
            "SELECT DISTINCT ask_id FROM helpdesk_messages WHERE state IN ('pending', 'sending')"
        )
        for row in rows:
            await self.sync(row["ask_id"])

    # ------------------------------------------------------------------ sending

    async def flush(self, ask_id: int) -> None:
        """Send every unsent message of `ask_id`, oldest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM helpdesk_messages WHERE ask_id = ? AND state IN ('pending', 'sending') "
            "ORDER BY message_id",
            (ask_id,),
        )
        for row in rows:
            if row["message_id"] in self._in_flight:
                continue
            self._in_flight.add(row["message_id"])
            try:
                await self._send(row)
            finally:
                self._in_flight.discard(row["message_id"])

    async def _send(self, row: sqlite3.Row) -> None:
        message_id = row["message_id"]
        ask_row = await self._db.fetchone(
            f"SELECT {ASK_COLUMNS}, a.closed_by_user_id FROM {ASK_FROM} WHERE a.ask_id = ?",
            (row["ask_id"],),
        )
        if ask_row is None:
            return  # the ask was deleted (privacy forget); its messages went with it
        ask = ask_from_row(ask_row)
        kind = MessageKind(row["kind"])
        if kind in WHILE_OPEN and not ask.is_open:
            await self._mark(message_id, "cancelled", error=f"ask {ask.status}")
            return
        if self._messenger is None:
            return
        outgoing = Outgoing(
            message_id=message_id,
            kind=kind,
            nonce=nonce_for(message_id),
            ask=ask,
            channel_id=row["channel_id"],
            recipient_user_id=row["recipient_user_id"] or None,
            helper_user_id=row["helper_user_id"] or None,
            note=row["note"],
            closer_user_id=ask_row["closed_by_user_id"],
        )
        await self._db.execute(
            "UPDATE helpdesk_messages SET state = 'sending', attempts = attempts + 1 "
            "WHERE message_id = ?",
            (message_id,),
        )
        try:
            discord_id = await self._messenger.deliver(outgoing)
        except DeliveryRefused as exc:
            log.info("Helpdesk %s for %s (guild %s) refused: %s", kind, ask.ref, ask.guild_id, exc)
            await self._mark(message_id, "failed", error=str(exc)[:200] or "refused")
        except Exception as exc:
            attempts = row["attempts"] + 1
            log.exception(
                "Sending helpdesk %s message %s for %s (guild %s) failed, attempt %d",
                kind,
                message_id,
                ask.ref,
                ask.guild_id,
                attempts,
            )
            if attempts >= MAX_ATTEMPTS:
                await self._mark(message_id, "failed", error=repr(exc)[:200])
        else:
            await self._db.execute(
                "UPDATE helpdesk_messages SET state = 'sent', sent_at = ?, discord_message_id = ?, "
                "error = NULL WHERE message_id = ?",
                (to_db(self._clock.now()), discord_id, message_id),
            )

    async def _mark(self, message_id: int, state: str, *, error: str) -> None:
        await self._db.execute(
            "UPDATE helpdesk_messages SET state = ?, error = ? WHERE message_id = ?",
            (state, error, message_id),
        )

    # ------------------------------------------------------------------ lifecycle

    async def state(self, ask_id: int) -> AskState | None:
        row = await self._db.fetchone(
            """
            SELECT a.*, EXISTS (
                SELECT 1 FROM helpdesk_messages m WHERE m.ask_id = a.ask_id AND m.kind = 'help'
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

    async def next_due(self, ask_id: int) -> datetime | None:
        """When the ask's job should run next: its next step, or a retry of unsent messages."""
        state = await self.state(ask_id)
        if state is None:
            return None
        due = next_due_at(state)
        unsent = await self._db.fetchval(
            "SELECT COUNT(*) FROM helpdesk_messages WHERE ask_id = ? "
            "AND state IN ('pending', 'sending')",
            (ask_id,),
        )
        if unsent:
            retry = self._clock.now() + RETRY_DELAY
            due = retry if due is None else min(due, retry)
        return due

    async def sync(self, ask_id: int) -> None:
        """Schedule (or cancel) the ask's job after any change to it."""
        due = await self.next_due(ask_id)
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
        await self.flush(ask_id)
        return await self.next_due(ask_id)

    async def _perform(self, ask_id: int, action: Action) -> None:
        """Claim one lifecycle step in a transaction; a second run finds it already done."""
        now = to_db(self._clock.now())
        async with self._db.transaction() as tx:
            ask = await tx.fetchone(
                "SELECT a.*, g.channel_id FROM helpdesk_asks a "
                "LEFT JOIN helpdesk_guilds g ON g.guild_id = a.guild_id "
                "WHERE a.ask_id = ? AND a.status = 'open'",
                (ask_id,),
            )
            if ask is None:
                return
            if action is Action.BUMP:
                # Recorded even without a help channel, so the bump is not retried forever.
                await tx.execute(
                    "UPDATE helpdesk_asks SET bumped_at = ? WHERE ask_id = ?", (now, ask_id)
                )
                if ask["channel_id"] is not None:
                    await self.record(
                        tx, ask, MessageKind.BUMP, now=now, channel_id=ask["channel_id"]
                    )
            elif action is Action.ASK_OWNER:
                round_ = ask["review_round"] + 1
                await tx.execute(
                    "UPDATE helpdesk_asks SET review_sent_at = ?, review_round = ? "
                    "WHERE ask_id = ?",
                    (now, round_, ask_id),
                )
                await self.record(
                    tx, ask, MessageKind.REVIEW, now=now, recipient=ask["user_id"], round_=round_
                )
            elif action is Action.CLOSE_STALE:
                await tx.execute(
                    "UPDATE helpdesk_asks SET status = 'stale', closed_at = ? WHERE ask_id = ?",
                    (now, ask_id),
                )
                log.info("Ask %s in guild %s closed as stale", ask["request_no"], ask["guild_id"])

    @staticmethod
    async def record(
        tx: Transaction,
        ask: sqlite3.Row,
        kind: MessageKind,
        *,
        now: str,
        recipient: int = 0,
        helper: int = 0,
        round_: int = 0,
        channel_id: int | None = None,
        note: str = "",
    ) -> bool:
        """Claim a message in `tx`; False when its unique key was already claimed."""
        cursor = await tx.execute(
            """
            INSERT OR IGNORE INTO helpdesk_messages (guild_id, ask_id, kind, recipient_user_id,
                helper_user_id, round, channel_id, note, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            (
                ask["guild_id"],
                ask["ask_id"],
                kind,
                recipient,
                helper,
                round_,
                channel_id,
                note,
                now,
            ),
        )
        return bool(cursor.rowcount)
