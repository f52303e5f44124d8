"""Persisted jobs and one task that sleeps until the earliest one is due.

This is the classic persisted timer: every future action (a guild's next prompt, a pairing round,
a check-in, an ask's bump) is a row in `jobs` with a unique key. One loop reads the earliest due
time, sleeps until then (or until an earlier job is scheduled), and hands due jobs to the handler
registered for their kind. Idle guilds cost nothing: there is no per-guild task and no polling.

After a restart the loop simply finds jobs whose time has passed; the handler sees `job.lateness`
and decides whether to catch up or skip. A handler returns the next due time for recurring work,
or None when the job is done. A handler that raises is logged with the job's context and retried
later with backoff; it never stops the loop.

Processes sharing a PostgreSQL database (issue 12) each run only the jobs of their own guilds
(`GuildScope`). A job is claimed with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL) and its
outcome is recorded only by the claim that still holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .clock import Alarm, Clock
from .db import Database, Transaction
from .outbox.model import ALL_GUILDS, GuildScope
from .shards import process_name
from .timeutil import from_db, to_db

log = logging.getLogger(__name__)

MAX_SLEEP_SECONDS = 900.0  # re-check now and then, in case the host clock jumped
RETRY_BASE_SECONDS = 60.0
RETRY_MAX_SECONDS = 3600.0
# A claim's hold on a job. Only a job's own process runs it, and a process that takes over
# shards ignores the leases its predecessor left, so this only bounds how long this process's
# own claim whose outcome was never recorded keeps the job.
JOB_LEASE = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Job:
    """A due job as its handler gets it: its key, kind, guild, timing and payload."""

    key: str
    kind: str
    guild_id: int | None
    due_at: datetime
    started_at: datetime
    attempts: int = 0
    payload: Mapping[str, Any] = field(default_factory=dict)

    @property
    def lateness(self) -> timedelta:
        """How long after its due time the job started (zero or more).

        After a failure the job's due time is its retry time, so a handler that must know how
        late its real slot is (the daily prompt, a pairing round) measures from that slot.
        """
        return max(timedelta(0), self.started_at - self.due_at)


Handler = Callable[[Job], Awaitable[datetime | None]]


class Scheduler:
    """Persisted jobs run once each when due, surviving restarts; the clock is injected."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        concurrency: int = 32,
        scope: GuildScope = ALL_GUILDS,
        longest_sleep: timedelta | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._concurrency = concurrency
        self._scope = scope
        self._handlers: dict[str, Handler] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._alarm = Alarm(clock, longest=longest_sleep or timedelta(seconds=MAX_SLEEP_SECONDS))
        self._loop_task: asyncio.Task[None] | None = None
        self._owner = process_name()  # who holds the jobs this process claims
        self._paused = False
        self._passing = False  # the loop is looking for due jobs (or releasing leases first)

    def register(self, kind: str, handler: Handler) -> None:
        """Route jobs of `kind` to `handler`; register before `start()`."""
        self._handlers[kind] = handler

    async def schedule(
        self,
        key: str,
        kind: str,
        due_at: datetime,
        *,
        guild_id: int | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> None:
        """Create or move the job `key`; the loop wakes if it is now the earliest."""
        await self._db.execute(
            """
            INSERT INTO jobs (key, kind, guild_id, due_at, payload, attempts)
            VALUES (?, ?, ?, ?, ?, 0)
            ON CONFLICT (key) DO UPDATE SET
                kind = excluded.kind, guild_id = excluded.guild_id,
                due_at = excluded.due_at, payload = excluded.payload, attempts = 0,
                lease_holder = NULL, lease_until = NULL
            """,
            (key, kind, guild_id, to_db(due_at), json.dumps(payload or {})),
        )
        self._alarm.wake()

    async def schedule_in(
        self,
        tx: Transaction,
        key: str,
        kind: str,
        due_at: datetime,
        *,
        guild_id: int | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> None:
        """Create the job `key` in the caller's transaction unless it exists (it then keeps its
        time), so the job and the decision it serves commit together; `wake()` after the commit."""
        await tx.execute(
            "INSERT INTO jobs (key, kind, guild_id, due_at, payload, attempts) "
            "VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT (key) DO NOTHING",
            (key, kind, guild_id, to_db(due_at), json.dumps(payload or {})),
        )

    def wake(self) -> None:
        """Look for due jobs now (after committing a job made with `schedule_in`)."""
        self._alarm.wake()

    async def schedule_missing(self, jobs: Iterable[tuple[str, str, datetime, int | None]]) -> None:
        """Create those of the jobs `(key, kind, due_at, guild_id)` that do not exist yet, in
        one transaction; existing ones keep their due time (for start-up, over every guild)."""
        async with self._db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO jobs (key, kind, guild_id, due_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key) DO NOTHING",
                [(key, kind, guild_id, to_db(due_at)) for key, kind, due_at, guild_id in jobs],
            )
        self._alarm.wake()

    async def cancel(self, key: str) -> None:
        """Forget the job `key`, if any, so it never runs (e.g. prompts paused)."""
        await self._db.execute("DELETE FROM jobs WHERE key = ?", (key,))
        self._alarm.wake()

    async def due_at(self, key: str) -> datetime | None:
        """When the job `key` is next due, or None: for status lines ("next post at")."""
        text = await self._db.fetchval("SELECT due_at FROM jobs WHERE key = ?", (key,))
        return None if text is None else from_db(text)

    async def recover(self) -> int:
        """Release the leases on these guilds' jobs (after a database outage: claims whose
        outcome could not be recorded); how many jobs were held."""
        released = await self._db.execute(
            "UPDATE jobs SET lease_holder = NULL, lease_until = NULL "
            f"WHERE lease_holder IS NOT NULL AND ({self._scope.condition})",
            self._scope.params,
        )
        if released:
            log.info("Scheduler: %d jobs a previous run held are free again", released)
        return released

    def pause(self) -> None:
        """Claim no job until `resume()` (the database is unreachable: nothing could be kept)."""
        self._paused = True

    def resume(self) -> None:
        """Claim due jobs again, at once."""
        self._paused = False
        self._alarm.wake()

    def start(self) -> None:
        """Start the loop that runs due jobs; a second call while it runs does nothing."""
        if self._loop_task is None or self._loop_task.done():
            self._passing = True  # until its first pass has looked
            self._loop_task = asyncio.create_task(self._loop(), name="kindred-scheduler")

    async def stop(self) -> None:
        """Cancel the loop and running jobs; an interrupted job stays due and runs after restart."""
        tasks = [t for t in (self._loop_task, *self._running.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._loop_task = None

    async def idle(self) -> None:
        """Wait until no job is running (for tests and orderly shutdown)."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    @property
    def busy(self) -> bool:
        """Whether a job is running, or the loop is looking (or about to look) for due jobs."""
        looping = self._loop_task is not None and not self._loop_task.done()
        return bool(self._running) or (looping and (self._passing or self._alarm.woken))

    async def _loop(self) -> None:
        while True:
            self._alarm.reset()
            self._passing = True
            now = self._clock.now()
            try:
                until = await self._dispatch_due(now)
            except Exception:
                log.exception("Scheduler pass failed; retrying in %.0f s", RETRY_BASE_SECONDS)
                until = now + timedelta(seconds=RETRY_BASE_SECONDS)
            finally:
                self._passing = False
            await self._alarm.sleep_until(until, now)

    async def _dispatch_due(self, now: datetime) -> datetime | None:
        """Start jobs due at `now` up to the concurrency limit; return when the next one is due."""
        free = self._concurrency - len(self._running)
        if free > 0 and not self._paused:
            for job in await self._claim(now, free):
                self._running[job.key] = asyncio.create_task(self._run(job), name=job.key)
        next_due = await self._db.fetchval(
            f"SELECT MIN(due_at) FROM jobs WHERE due_at > ? AND ({self._scope.condition})",
            (to_db(now), *self._scope.params),
        )
        return None if next_due is None else from_db(next_due)

    async def _claim(self, now: datetime, limit: int) -> list[Job]:
        """Lease up to `limit` due jobs of this process's guilds that it does not hold.

        A lease another process left on one of these guilds is stale: this process holds their
        shards now (the shard lease is the fence), so its holder is gone or stopped sending."""
        stamp = to_db(now)
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(
                f"""
                SELECT * FROM jobs
                WHERE due_at <= ?
                  AND (lease_holder IS NULL OR lease_holder <> ? OR lease_until <= ?)
                  AND ({self._scope.condition})
                ORDER BY due_at LIMIT ? {self._db.skip_locked}
                """,
                (stamp, self._owner, stamp, *self._scope.params, limit + len(self._running)),
            )
            rows = [row for row in rows if row["key"] not in self._running][:limit]
            if not rows:
                return []
            keys = [row["key"] for row in rows]
            await tx.execute(
                f"UPDATE jobs SET lease_holder = ?, lease_until = ? "
                f"WHERE key IN ({', '.join('?' * len(keys))})",
                (self._owner, to_db(now + JOB_LEASE), *keys),
            )
        return [
            Job(
                key=row["key"],
                kind=row["kind"],
                guild_id=row["guild_id"],
                due_at=from_db(row["due_at"]),
                started_at=now,
                attempts=row["attempts"],
                payload=json.loads(row["payload"]),
            )
            for row in rows
        ]

    async def _run(self, job: Job) -> None:
        try:
            handler = self._handlers.get(job.kind)
            if handler is None:
                log.warning("No handler for job %s (kind %s); retrying later", job.key, job.kind)
                await self._finish(job, None, failed=True)
                return
            try:
                next_due = await handler(job)
            except Exception:
                log.exception(
                    "Job %s (kind %s, guild %s, due %s, attempt %d) failed",
                    job.key,
                    job.kind,
                    job.guild_id,
                    to_db(job.due_at),
                    job.attempts + 1,
                )
                await self._finish(job, None, failed=True)
            else:
                await self._finish(job, next_due, failed=False)
        except Exception:
            log.exception("Could not record the outcome of job %s", job.key)
        finally:
            self._running.pop(job.key, None)
            self._alarm.wake()

    async def _finish(self, job: Job, next_due: datetime | None, *, failed: bool) -> None:
        """Reschedule or delete the job, unless someone moved it while it ran (which also
        ends this claim's lease)."""
        if failed:
            backoff = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2**job.attempts)
            next_due, attempts = self._clock.now() + timedelta(seconds=backoff), job.attempts + 1
        else:
            attempts = 0
        original = to_db(job.due_at)
        if next_due is None:
            await self._db.execute(
                "DELETE FROM jobs WHERE key = ? AND due_at = ? AND lease_holder = ?",
                (job.key, original, self._owner),
            )
        else:
            await self._db.execute(
                "UPDATE jobs SET due_at = ?, attempts = ?, lease_holder = NULL, "
                "lease_until = NULL WHERE key = ? AND due_at = ? AND lease_holder = ?",
                (to_db(next_due), attempts, job.key, original, self._owner),
            )
