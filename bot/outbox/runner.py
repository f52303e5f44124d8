"""The outbox: enqueue a message in the transaction that decides it; one runner sends it.

Exactly once, whatever the downtime:

1. A feature inserts a row (`enqueue`) with a UNIQUE dedupe key in its own domain transaction,
   so the decision and the message commit together, and a second decision finds the key taken.
2. The runner claims due rows with a lease, marks each `sending` (an attempt that may reach
   Discord) and sends it with the row's deterministic nonce.
3. The answer finishes the row in one transaction with the kind's hook (`on_sent`, ...), or
   leaves it `sending` and due again after a backoff.

A crash anywhere leaves the row `pending` or `sending`. Discord returns the earlier message for
a repeated nonce only for a few minutes, so a `sending` row is resent blind only within
`NONCE_WINDOW` of its claim; past it, the runner first reads the channel back (`Transport.
find_delivered`) and records the message it finds instead of sending a second one. A row that
may have been sent is never given up (expired, failed) without that read-back either.

The runner is one task: it sleeps until the earliest due row (or a `wake()`), claims at most
`concurrency` rows at a time, and never runs two attempts of one row in this process. Requests
themselves are paced by the shared request budget (`bot/edge/budget.py`), not here.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Alarm, Clock
from bot.db import Database, Transaction

from .model import (
    ALL_GUILDS,
    Failed,
    GuildScope,
    KindHooks,
    OutboxRow,
    Outcome,
    Refused,
    Sent,
    Transient,
    Transport,
)
from .rows import FRESH, OutboxRows

log = logging.getLogger(__name__)

#: Discord keeps a nonce "a few minutes"; a blind resend is safe well inside that.
NONCE_WINDOW = timedelta(minutes=2)
#: The read-back starts this long before the claim (clocks differ; ids are Discord's time).
READ_BACK_SKEW = timedelta(seconds=30)
RETRY_BASE = timedelta(seconds=10)
RETRY_CAP = timedelta(minutes=10)
#: How long a claim holds a row against other processes; an attempt takes seconds.
LEASE = timedelta(minutes=5)
#: The loop looks at the table at least this often (rows enqueued without a `wake()`).
LONGEST_SLEEP = timedelta(minutes=1)
#: Finished rows are kept this long (dedupe keys, stats of undelivered messages), then purged.
RETENTION = timedelta(days=90)
PURGE_EVERY = timedelta(hours=6)
DEFAULT_HOOKS = KindHooks()


@dataclass(frozen=True, slots=True)
class Cancelled:
    """The kind's `still_wanted` said no: nothing is sent."""

    reason: str = "no longer wanted"


FINAL_STATE: dict[type, str] = {
    Sent: "sent",
    Failed: "failed",
    Refused: "refused",
    Cancelled: "cancelled",
}


def backoff(attempts: int) -> timedelta:
    """The wait before attempt `attempts + 1`: doubling from RETRY_BASE, at most RETRY_CAP."""
    return min(RETRY_CAP, RETRY_BASE * 2 ** max(0, attempts - 1))


class Outbox:
    """Every message Kindred sends, edits or opens on Discord goes through here."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        concurrency: int = 16,
        scope: GuildScope = ALL_GUILDS,
        longest_sleep: timedelta = LONGEST_SLEEP,
    ) -> None:
        self._db = db
        self._clock = clock
        self._rows = OutboxRows(db)
        self._hooks: dict[str, KindHooks] = {}
        self._transport: Transport | None = None
        self._concurrency = concurrency
        self._scope = scope
        self._running: dict[int, asyncio.Task[None]] = {}
        self._alarm = Alarm(clock, longest=longest_sleep)
        self._loop_task: asyncio.Task[None] | None = None
        self._passing = False  # the loop is looking for due rows
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._claims = itertools.count(1)
        self._purged_at: datetime | None = None

    # -- the API features use ----------------------------------------------------------------

    def register(self, kind: str, hooks: KindHooks) -> None:
        """How the feature owning `kind` follows its rows (register before rows are sent)."""
        self._hooks[kind] = hooks

    async def enqueue(
        self,
        tx: Transaction,
        *,
        key: str,
        kind: str,
        guild_id: int,
        channel_id: int | None = None,
        user_id: int | None = None,
        edit_message_id: int | None = None,
        payload: Mapping[str, Any] | None = None,
        expires_in: timedelta | None = None,
        not_before: datetime | None = None,
    ) -> int | None:
        """Record a message in the caller's transaction; its id, or None if `key` exists.

        The target is `channel_id` (a channel or thread), `user_id` (a DM) or `channel_id` and
        `edit_message_id` (an edit). `payload` is all the renderer gets, fixed now so a resend
        is identical. After the commit, call `wake()` (or `send_now`).
        """
        if (channel_id is None) == (user_id is None):
            raise ValueError(f"{key}: give exactly one of channel_id and user_id")
        if edit_message_id is not None and channel_id is None:
            raise ValueError(f"{key}: an edit needs the channel_id of its message")
        now = self._clock.now()
        lifetime = expires_in or self._hooks.get(kind, DEFAULT_HOOKS).expires_after
        due = max(now, not_before) if not_before is not None else now
        return await self._rows.insert(
            tx,
            key=key,
            kind=kind,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            edit_message_id=edit_message_id,
            payload=payload or {},
            now=now,
            due=due,
            expires_at=due + lifetime,
        )

    def wake(self) -> None:
        """Look for due rows now (after committing an enqueue)."""
        self._alarm.wake()

    async def amend(self, tx: Transaction, key: str, payload: Mapping[str, Any]) -> bool:
        """Change what a row will say while nothing of it can have reached Discord (never
        attempted, not claimed); False when it is too late: a row that may be on Discord must
        resend exactly as it was, so the caller sends a correction instead."""
        return await self._rows.amend(tx, key, payload)

    async def send_now(self, ids: Iterable[int]) -> list[OutboxRow]:
        """Attempt these rows at once (due or not) and wait for the attempts; the rows after.

        For a command that shows the result (e.g. a link to the post). A row another attempt
        holds is waited for, not attempted twice. Rows that must be retried stay unfinished.
        """
        wanted = list(dict.fromkeys(ids))
        if self._transport is not None:
            await self._start(await self._claim([i for i in wanted if i not in self._running]))
        waiting = [self._running[i] for i in wanted if i in self._running]
        await asyncio.gather(*waiting, return_exceptions=True)
        return await self._rows.fetch(wanted)

    async def row(self, row_id: int) -> OutboxRow | None:
        """One outbox row by id, or None: where that message stands now."""
        rows = await self._rows.fetch([row_id])
        return rows[0] if rows else None

    async def by_key(self, key: str) -> OutboxRow | None:
        """The outbox row with dedupe key `key`, or None if it was never enqueued."""
        return await self._rows.by_key(key)

    async def states(self, reader: Database | Transaction, keys: Sequence[str]) -> dict[str, str]:
        """The state of each existing row among `keys` (`reader`: e.g. a hook's transaction)."""
        return await self._rows.states(reader, keys)

    @property
    def concurrency(self) -> int:
        """How many rows this process sends at once, at most."""
        return self._concurrency

    # -- running -----------------------------------------------------------------------------

    def attach(self, transport: Transport | None) -> None:
        """Connect to Discord (None: disconnect; rows wait, unsent, until a transport comes)."""
        self._transport = transport
        self.wake()

    async def recover(self) -> int:
        """Rows a previous process left leased or `sending` are due now; how many there were.

        Called by `start()`; a process that takes over guilds later (issue 12) calls it again.
        """
        released = await self._rows.recover(self._clock.now(), self._scope)
        if released:
            log.info("Outbox: %d messages left unfinished by a previous run are due now", released)
        self.wake()
        return released

    def start(self) -> None:
        """Start the runner (recovery first)."""
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = asyncio.create_task(self._loop(), name="kindred-outbox")

    async def stop(self) -> None:
        """Cancel the runner and every attempt (as a crash would: rows stay unfinished)."""
        tasks = [t for t in (self._loop_task, *self._running.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._loop_task = None

    @property
    def busy(self) -> bool:
        """Whether an attempt is running, or the loop is looking (or about to look) for rows."""
        looping = self._loop_task is not None and not self._loop_task.done()
        return bool(self._running) or (looping and (self._passing or self._alarm.woken))

    async def idle(self) -> None:
        """Wait until no attempt is running (for tests and orderly shutdown)."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def _loop(self) -> None:
        try:
            await self.recover()
        except Exception:
            log.exception("Outbox: recovery at start-up failed; due rows are still sent")
        while True:
            self._alarm.reset()
            self._passing = True
            now = self._clock.now()
            try:
                until = await self._dispatch(now)
                await self._purge(now)
            except Exception:
                log.exception("Outbox pass failed; looking again in a minute")
                until = now + LONGEST_SLEEP
            finally:
                self._passing = False
            await self._alarm.sleep_until(until, now)

    async def _dispatch(self, now: datetime) -> datetime | None:
        """Start due rows up to the concurrency bound; when the next one falls due (None:
        every slot is busy, and the next attempt to finish wakes the loop anyway)."""
        free = self._concurrency - len(self._running)
        if free > 0 and self._transport is not None:
            due = await self._rows.due_ids(now, self._scope, free + len(self._running))
            fresh = [row_id for row_id in due if row_id not in self._running][:free]
            await self._start(await self._claim(fresh))
        if len(self._running) >= self._concurrency:
            return None
        return await self._rows.next_due(now, self._scope)

    async def _claim(self, ids: list[int]) -> list[tuple[OutboxRow, str]]:
        """Lease rows for attempts by this process; each with the token its lease is held by."""
        if not ids:
            return []
        token = f"{self._owner}:{next(self._claims)}"
        now = self._clock.now()
        rows = await self._rows.claim(ids, token, now, now + LEASE, self._scope)
        return [(row, row.lease_holder or token) for row in rows if row.id not in self._running]

    async def _start(self, claimed: list[tuple[OutboxRow, str]]) -> None:
        for row, token in claimed:
            self._running[row.id] = asyncio.create_task(
                self._run(row, token), name=f"outbox:{row.dedupe_key}"
            )

    async def _run(self, row: OutboxRow, token: str) -> None:
        try:
            await self._attempt(row, token)
        except Exception:
            log.exception("Outbox: the attempt at %s (%s) failed", row.dedupe_key, row.kind)
            with contextlib.suppress(Exception):
                await self._retry(row, token, Transient("an unexpected error (see the log)"))
        finally:
            self._running.pop(row.id, None)
            self.wake()

    async def _purge(self, now: datetime) -> None:
        if self._purged_at is not None and now - self._purged_at < PURGE_EVERY:
            return
        self._purged_at = now
        await self._rows.purge(now - RETENTION)

    # -- one attempt ------------------------------------------------------------------------

    async def _attempt(self, row: OutboxRow, token: str) -> None:
        transport = self._transport
        hooks = self._hooks.get(row.kind, DEFAULT_HOOKS)
        if transport is None:
            await self._retry(row, token, Transient("not connected to Discord"))
            return
        if hooks.still_wanted is not None and not await hooks.still_wanted(row):
            await self._finish(row, token, Cancelled())
            return
        now = self._clock.now()
        expired = row.expires_at is not None and now >= row.expires_at
        if token.endswith(FRESH):  # never tried: the claim marked this first attempt `sending`
            if expired:
                await self._conclude(row, token, Failed("not sent in time (never tried)"))
            else:
                await self._conclude(row, token, await transport.deliver(row))
            return
        claimed_at = row.claimed_at
        if claimed_at is not None and (expired or now - claimed_at >= NONCE_WINDOW):
            # Discord may have the message but has forgotten its nonce: look before sending.
            found = await transport.find_delivered(row, claimed_at - READ_BACK_SKEW)
            if found is not None:
                await self._conclude(row, token, found)
                return
            claimed_at = None  # certainly not sent: a fresh window starts with this send
        if expired:
            problem = row.last_error or "Discord did not answer"
            await self._conclude(row, token, Failed(f"not sent in time ({problem})"))
            return
        if not await self._rows.mark_sending(row, token, claimed_at or now):
            return  # the lease was lost: the row is someone else's now
        await self._conclude(row, token, await transport.deliver(row))

    async def _conclude(self, row: OutboxRow, token: str, outcome: Outcome) -> None:
        if isinstance(outcome, Transient):
            await self._retry(row, token, outcome)
            return
        if isinstance(outcome, Failed):
            log.warning("Outbox: %s (%s) failed: %s", row.dedupe_key, row.kind, outcome.reason)
        await self._finish(row, token, outcome)

    async def _retry(self, row: OutboxRow, token: str, problem: Transient) -> None:
        # A fresh claim counted its attempt already; a later one counts it when it sends.
        attempts = row.attempts if token.endswith(FRESH) else row.attempts + 1
        wait = backoff(attempts)
        if problem.retry_after is not None:
            wait = max(wait, timedelta(seconds=problem.retry_after))
        at = self._clock.now() + wait
        if row.expires_at is not None:
            at = min(at, max(row.expires_at, self._clock.now()))
        log.info(
            "Outbox: %s (%s) will be retried at %s: %s",
            row.dedupe_key,
            row.kind,
            at.isoformat(timespec="seconds"),
            problem.reason,
        )
        await self._rows.retry(row.id, token, at, problem.reason)

    async def _finish(
        self, row: OutboxRow, token: str, outcome: Sent | Failed | Refused | Cancelled
    ) -> None:
        """End the row and run its kind's hook in one transaction; a hook that raises leaves
        the row unfinished and due again (its nonce or read-back keeps the message single)."""
        hooks = self._hooks.get(row.kind, DEFAULT_HOOKS)
        state = FINAL_STATE[type(outcome)]
        sent = outcome if isinstance(outcome, Sent) else None
        error = None if isinstance(outcome, Sent) else outcome.reason
        try:
            async with self._db.transaction() as tx:
                finished = await self._rows.finish(
                    tx,
                    row.id,
                    token,
                    state,
                    self._clock.now(),
                    message_id=sent.message_id if sent else None,
                    channel_id=sent.channel_id if sent else None,
                    error=error,
                )
                if not finished:
                    return  # the lease was lost: the row is someone else's now
                if isinstance(outcome, Sent) and hooks.on_sent is not None:
                    await hooks.on_sent(tx, row, outcome)
                elif isinstance(outcome, Refused) and hooks.on_refused is not None:
                    await hooks.on_refused(tx, row, outcome)
                elif isinstance(outcome, Failed) and hooks.on_failed is not None:
                    await hooks.on_failed(tx, row, outcome)
        except Exception:
            log.exception("Outbox: recording %s of %s (%s) failed", state, row.dedupe_key, row.kind)
            await self._retry(row, token, Transient(f"recording {state} failed (see the log)"))
