"""Shard leases: the fence that keeps two processes from serving the same shard.

A process claims all of its shards in one transaction, and only those whose lease is free or
has run out (a row per shard in `shard_leases`); otherwise it claims none, logs who holds them,
and tries again, never connecting to Discord for them meanwhile. While it runs it renews the
lease every `RENEW_EVERY` for `LEASE` ahead. Losing the database stops sending (the lease can no
longer be vouched for) until it is back; finding the lease taken by another process ends this
one, since that process now serves the shards.

A killed process leaves its lease behind, so a replacement waits until it runs out (at most
`LEASE`): that wait is what makes the takeover safe, whoever the replacement is. Only a holder
that is certainly dead (a pid of this host and pid namespace that no longer exists) is not
waited for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .clock import Clock
from .db import Database
from .shards import ShardPlan, is_gone, process_name
from .timeutil import from_db, to_db

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=30)
RENEW_EVERY = timedelta(seconds=10)
RETRY_EVERY = timedelta(seconds=5)  # while waiting for shards another process holds
RECONNECT_BACKOFF_MAX = 10.0  # seconds between renewals while the database is unreachable
WAIT_LOG_EVERY = timedelta(minutes=1)


class ShardLeaseLost(Exception):
    """Another process took this process's shards: it must stop serving them."""


@dataclass(frozen=True, slots=True)
class Holder:
    """A live lease that keeps this process from its shards."""

    shard_id: int
    shard_count: int
    holder: str
    lease_until: datetime


class ShardLeases:
    """This process's claim on its shards (`plan.ids` of `plan.count`)."""

    def __init__(
        self, db: Database, clock: Clock, plan: ShardPlan, holder: str | None = None
    ) -> None:
        self._db = db
        self._clock = clock
        self._plan = plan
        self.holder = holder or process_name()
        self.held_until: datetime | None = None

    async def try_claim(self) -> list[Holder]:
        """Claim every shard of the plan, or none; the live leases that prevent it (empty:
        this process holds them all now)."""
        now = self._clock.now()
        until = now + LEASE
        ids = self._plan.ids
        async with self._db.transaction() as tx:
            blockers = await tx.fetchall(
                f"""
                SELECT shard_id, shard_count, holder, lease_until FROM shard_leases
                WHERE holder <> ? AND lease_until > ?
                  AND (shard_id IN ({", ".join("?" * len(ids))}) OR shard_count <> ?)
                ORDER BY shard_id
                """,
                (self.holder, to_db(now), *ids, self._plan.count),
            )
            # A holder killed on this host is certainly gone: its shards need not wait out the
            # lease (a restart after a crash reconnects at once).
            gone = sorted({r["holder"] for r in blockers if is_gone(r["holder"])})
            live = [r for r in blockers if r["holder"] not in gone]
            if live:
                return [
                    Holder(r["shard_id"], r["shard_count"], r["holder"], from_db(r["lease_until"]))
                    for r in live
                ]
            taken_from = (
                f" OR shard_leases.holder IN ({', '.join('?' * len(gone))})" if gone else ""
            )
            claimed = 0
            for shard_id in ids:
                # Conditional upsert: a row another process renewed or claimed since the read
                # above (PostgreSQL re-checks the WHERE on the latest row) is left alone.
                got = await tx.fetchval(
                    f"""
                    INSERT INTO shard_leases (shard_id, shard_count, holder, lease_until,
                        claimed_at)
                    VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (shard_id) DO UPDATE SET shard_count = excluded.shard_count,
                        holder = excluded.holder, lease_until = excluded.lease_until,
                        claimed_at = excluded.claimed_at
                    WHERE shard_leases.holder = excluded.holder
                       OR shard_leases.lease_until <= ?{taken_from}
                    RETURNING shard_id
                    """,
                    (
                        shard_id,
                        self._plan.count,
                        self.holder,
                        to_db(until),
                        to_db(now),
                        to_db(now),
                        *gone,
                    ),
                )
                claimed += got is not None
            if claimed < len(ids):
                raise _Raced()
        self.held_until = until
        return []

    async def acquire(self) -> None:
        """Wait until this process holds all its shards, saying why while it waits."""
        said_at: datetime | None = None
        while True:
            try:
                blockers = await self.try_claim()
            except _Raced:
                continue  # another process claimed at the same moment: look again
            except Exception as exc:  # the database is away (restarting): keep waiting
                log.warning("Waiting for %s: the database cannot be reached (%s)",
                            self._plan.describe(), exc)  # fmt: skip
                await self._clock.sleep_until(self._clock.now() + RETRY_EVERY)
                continue
            if not blockers:
                log.info("Holding %s as %s", self._plan.describe(), self.holder)
                return
            now = self._clock.now()
            if said_at is None or now - said_at >= WAIT_LOG_EVERY:
                said_at = now
                log.warning(
                    "Waiting for %s: %s", self._plan.describe(), explain(blockers, self._plan.count)
                )
            await self._clock.sleep_until(now + RETRY_EVERY)

    async def renew(self) -> bool:
        """Extend the lease; False when another process holds any of the shards now."""
        now = self._clock.now()
        until = now + LEASE
        ids = self._plan.ids
        changed = await self._db.execute(
            f"UPDATE shard_leases SET lease_until = ? "
            f"WHERE holder = ? AND shard_id IN ({', '.join('?' * len(ids))})",
            (to_db(until), self.holder, *ids),
        )
        if changed == len(ids):
            self.held_until = until
            return True
        return False

    async def release(self) -> None:
        """Give the shards up at once (an orderly stop), so a successor need not wait."""
        await self._db.execute("DELETE FROM shard_leases WHERE holder = ?", (self.holder,))
        self.held_until = None

    async def keep(
        self,
        *,
        on_lost: Callable[[], None],
        on_unsure: Callable[[], None],
        on_sure: Callable[[], None],
    ) -> None:
        """Renew until cancelled. While the database cannot be reached: `on_unsure` (stop
        sending) and retry with backoff; once renewed again: `on_sure`. `on_lost` when another
        process took a shard; then return."""
        failures = 0
        while True:
            delay = (
                min(RECONNECT_BACKOFF_MAX, 0.5 * 2**failures)
                if failures
                else RENEW_EVERY.total_seconds()
            )
            await self._clock.sleep_until(self._clock.now() + timedelta(seconds=delay))
            try:
                held = await self.renew()
            except Exception as exc:  # the driver's errors differ; every one means "not sure"
                failures += 1
                if failures == 1:
                    log.warning(
                        "Cannot renew the lease on %s (%s): sending stops until the database "
                        "is back",
                        self._plan.describe(),
                        exc,
                    )
                    on_unsure()
                continue
            if not held:
                log.error(
                    "Another process took over %s (this one's lease ran out): stopping",
                    self._plan.describe(),
                )
                on_lost()
                return
            if failures:
                log.info(
                    "The database is back and %s still held: sending resumes", self._plan.describe()
                )
                failures = 0
                on_sure()


class _Raced(Exception):
    """A shard was claimed by another process between the read and the write."""


def explain(blockers: list[Holder], shard_count: int) -> str:
    """Why this process waits, in one line."""
    parts = [
        f"shard {b.shard_id} is held by {b.holder} until {b.lease_until:%H:%M:%S} UTC"
        + (f" with SHARD_COUNT={b.shard_count}" if b.shard_count != shard_count else "")
        for b in blockers
    ]
    reason = "; ".join(parts[:3]) + (f"; and {len(parts) - 3} more" if len(parts) > 3 else "")
    if any(b.shard_count != shard_count for b in blockers):
        return f"{reason} (every process must use the same SHARD_COUNT)"
    return f"{reason} (a process with these SHARD_IDS runs, or was killed and its lease runs out)"
