"""Scale-out on one database: shard leases fence processes, and each touches only its guilds.

Each test opens the same database twice, as two processes would, with a shard plan each.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import timedelta

import pytest

from bot.db import Database, DatabaseConfig
from bot.guilds import GuildService
from bot.leases import LEASE, RENEW_EVERY, ShardLeases, explain
from bot.scheduler import Job, Scheduler
from bot.services import Services, build_services
from bot.shards import ShardPlan, is_gone, process_name, shard_of
from tests.fakediscord.payloads import snowflake_on_shard
from tests.support.clock import FakeClock
from tests.support.db import START, DatabaseFactory, settle

pytestmark = pytest.mark.backends("sqlite", "postgres")

COUNT = 4
FIRST, SECOND = ShardPlan(COUNT, (0, 1)), ShardPlan(COUNT, (2, 3))
# Three guilds on each shard, made with ids Discord routes there.
GUILDS = {shard: [snowflake_on_shard(shard, COUNT) for _ in range(3)] for shard in range(COUNT)}


@pytest.fixture
async def database(fresh_database: DatabaseFactory) -> DatabaseConfig:
    return await fresh_database()


@pytest.fixture
async def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def opened(database: DatabaseConfig) -> AsyncIterator[Callable[[], Awaitable[Database]]]:
    """`await opened()`: another connection to the test's database (a process), closed after."""
    async with AsyncExitStack() as stack:

        async def make() -> Database:
            db = await Database.open(database)
            stack.push_async_callback(db.close)
            return db

        yield make


@pytest.fixture
async def guilds(opened) -> dict[int, list[int]]:
    """Every test guild's row, joined at START."""
    found = GUILDS
    db = await opened()
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO guilds (guild_id, joined_at) VALUES (?, '2026-03-02 12:00:00')",
            [(g,) for ids in found.values() for g in ids],
        )
    return found


def test_a_plan_owns_the_guilds_discord_routes_to_its_shards():
    assert all(shard_of(g, COUNT) == s for s, ids in GUILDS.items() for g in ids)
    assert FIRST.owns(GUILDS[1][0]) and not FIRST.owns(GUILDS[2][0])
    assert FIRST.owns(None) and not SECOND.owns(None)  # guild-less work is shard 0's
    assert ShardPlan().scope().condition == "1 = 1"
    assert FIRST.describe() == "shards 0-1 of 4" and ShardPlan(6, (0, 4)).describe() == (
        "shards 0,4 of 6"
    )
    # Processes sharing the database look for rows others wrote for them every few seconds.
    assert FIRST.poll == timedelta(seconds=5) and ShardPlan().poll is None


async def test_the_scope_selects_in_sql_exactly_the_guilds_the_plan_owns(opened, guilds):
    db = await opened()
    for plan in (FIRST, SECOND, ShardPlan(COUNT, (3,))):
        scope = plan.scope()
        rows = await db.fetchall(f"SELECT guild_id FROM guilds WHERE {scope.condition}")
        selected = {row["guild_id"] for row in rows}
        assert selected == {g for ids in guilds.values() for g in ids if plan.owns(g)}


async def test_a_process_claims_its_shards_only_when_free_and_a_dead_ones_after_its_lease(
    opened, clock
):
    first = ShardLeases(await opened(), clock, FIRST, holder="host-a:1:x")
    overlapping = ShardLeases(await opened(), clock, ShardPlan(COUNT, (1, 2)), holder="host-b:2:y")
    beside = ShardLeases(await opened(), clock, SECOND, holder="host-c:3:z")
    assert await first.try_claim() == []
    blockers = await overlapping.try_claim()
    assert [(b.shard_id, b.holder) for b in blockers] == [(1, "host-a:1:x")]
    why = explain(blockers, COUNT)
    assert "shard 1 is held by host-a:1:x until 12:00:30 UTC" in why
    assert await beside.try_claim() == []  # shards 2-3 were free; the overlap claimed none
    await beside.release()

    clock.advance(RENEW_EVERY)
    assert await first.renew()
    clock.advance(LEASE - timedelta(seconds=1))  # renewed: still held
    assert [b.shard_id for b in await overlapping.try_claim()] == [1]
    clock.advance(timedelta(seconds=1))  # first stopped renewing (killed) and its lease ran out
    assert await overlapping.try_claim() == []
    assert not await first.renew()  # it finds out it lost shard 1


async def test_a_released_shard_is_free_at_once_and_a_different_shard_count_waits(opened, clock):
    first = ShardLeases(await opened(), clock, FIRST, holder="a")
    assert await first.try_claim() == []
    await first.release()
    successor = ShardLeases(await opened(), clock, FIRST, holder="b")
    assert await successor.try_claim() == []
    resized = ShardLeases(await opened(), clock, ShardPlan(8, (6, 7)), holder="c")
    blockers = await resized.try_claim()
    assert {b.shard_id for b in blockers} == {0, 1}
    assert "every process must use the same SHARD_COUNT" in explain(blockers, 8)


async def test_acquire_waits_until_the_holder_s_lease_runs_out(opened, clock, caplog):
    holder = ShardLeases(await opened(), clock, FIRST, holder="a")
    await holder.try_claim()
    waiting = ShardLeases(await opened(), clock, FIRST, holder="b")
    task = asyncio.create_task(waiting.acquire())
    for _ in range(5):
        await asyncio.sleep(0.1)
        clock.advance(timedelta(seconds=5))
    assert not task.done()
    assert "Waiting for shards 0-1 of 4: shard 0 is held by a" in caplog.text
    for _ in range(2):
        await asyncio.sleep(0.1)
        clock.advance(timedelta(seconds=5))
    await asyncio.wait_for(task, 5)
    assert not await holder.renew()


class Outage:
    """The database of one process, whose connection can be cut and restored."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.down = False

    async def execute(self, sql: str, params=()) -> int:
        if self.down:
            raise ConnectionResetError("connection reset by peer")
        return await self.db.execute(sql, params)


async def test_keeping_the_lease_pauses_while_the_database_is_away_and_stops_when_taken(
    opened, clock
):
    outage = Outage(await opened())
    leases = ShardLeases(outage.db, clock, FIRST, holder="a")
    await leases.try_claim()
    leases._db = outage  # type: ignore[assignment]  # renewals go through the cut-able link
    events: list[str] = []
    keeper = asyncio.create_task(
        leases.keep(
            on_lost=lambda: events.append("lost"),
            on_unsure=lambda: events.append("unsure"),
            on_sure=lambda: events.append("sure"),
        )
    )

    async def tick(seconds: float, times: int = 1) -> None:
        for _ in range(times):
            await asyncio.sleep(0.1)
            clock.advance(timedelta(seconds=seconds))
        await asyncio.sleep(0.1)

    await tick(10, 3)
    assert events == []
    outage.down = True
    await tick(10, 4)
    assert events == ["unsure"]  # once, however many retries
    outage.down = False
    await tick(10)
    assert events == ["unsure", "sure"]  # nobody took the shards meanwhile: carry on

    outage.down = True
    await tick(10, 5)  # away past the lease: another process takes the shards
    rival = ShardLeases(await opened(), clock, FIRST, holder="b")
    assert await rival.try_claim() == []
    outage.down = False
    await tick(10)
    await asyncio.wait_for(keeper, 5)
    assert events == ["unsure", "sure", "unsure", "lost"]


async def test_each_scheduler_runs_only_its_guilds_jobs_once(opened, clock, guilds):
    ran: list[tuple[str, int | None]] = []
    schedulers = []
    for plan in (FIRST, SECOND):
        scheduler = Scheduler(await opened(), clock, scope=plan.scope())
        name = plan.describe()

        async def handler(job: Job, name: str = name) -> None:
            ran.append((name, job.guild_id))

        scheduler.register("test", handler)
        schedulers.append(scheduler)
    every = [g for ids in guilds.values() for g in ids]
    for guild_id in every:
        await schedulers[0].schedule(f"t:{guild_id}", "test", START, guild_id=guild_id)
    await schedulers[0].schedule("t:none", "test", START)  # guild-less: shard 0's process
    try:
        for scheduler in schedulers:
            scheduler.start()
        for scheduler in schedulers:
            await settle(scheduler)
    finally:
        for scheduler in schedulers:
            await scheduler.stop()
    assert sorted(g or 0 for _, g in ran) == sorted([*every, 0])  # each once
    for name, guild_id in ran:
        assert name == ("shards 0-1 of 4" if FIRST.owns(guild_id) else "shards 2-3 of 4")


async def test_a_job_claim_that_lost_its_lease_records_nothing(opened, clock, guilds):
    db = await opened()
    guild = guilds[0][0]
    gate, running = asyncio.Event(), asyncio.Event()

    async def slow(job: Job):
        running.set()
        await gate.wait()
        return START + timedelta(days=1)  # would move the job a day on

    old = Scheduler(db, clock, scope=FIRST.scope())
    old.register("test", slow)
    await old.schedule("job", "test", START, guild_id=guild)
    old.start()
    await asyncio.wait_for(running.wait(), 5)
    # A new owner of shard 0 starts (the old one's shard lease ran out): it frees the job.
    new = Scheduler(await opened(), clock, scope=FIRST.scope())
    assert await new.recover() == 1
    old.pause()  # (so it does not claim the job again once its handler returns)
    gate.set()
    await settle(old)
    await old.stop()
    row = await db.fetchone("SELECT due_at, lease_holder FROM jobs WHERE key = 'job'")
    assert row is not None and row["lease_holder"] is None
    assert row["due_at"] == "2026-03-02 12:00:00"  # the stale claim did not move it


async def test_the_guild_reconcile_never_marks_another_process_s_guilds_as_left(
    opened, clock, guilds
):
    db = await opened()
    scheduler = Scheduler(db, clock, scope=FIRST.scope())
    service = GuildService(db, scheduler, clock, FIRST.scope())
    mine = guilds[0] + guilds[1]
    await service.reconcile(mine[1:])  # the bot left mine[0] while offline
    rows = await db.fetchall("SELECT guild_id FROM guilds WHERE left_at IS NOT NULL")
    assert [row["guild_id"] for row in rows] == [mine[0]]
    purge = await db.fetchone("SELECT guild_id FROM jobs WHERE kind = 'guild.purge'")
    assert purge is not None and purge["guild_id"] == mine[0]  # its owner purges it


async def services_for(db: Database, clock: FakeClock, plan: ShardPlan) -> Services:
    return build_services(db, Scheduler(db, clock, scope=plan.scope()), clock, plan)


async def test_send_now_leaves_another_process_s_guild_to_it(opened, clock, guilds):
    here = await services_for(await opened(), clock, FIRST)
    there = guilds[2][0]
    async with here.db.transaction() as tx:
        row_id = await here.outbox.enqueue(tx, key="dm:1", kind="dm", guild_id=there, user_id=7)
    assert row_id is not None
    sent: list[int] = []

    class Transport:
        async def deliver(self, row):  # pragma: no cover - must not be called
            sent.append(row.id)

    here.outbox.attach(Transport())  # type: ignore[arg-type]
    (row,) = await here.outbox.send_now([row_id])
    assert sent == [] and row.state == "pending" and row.lease_holder is None


async def test_a_holder_killed_on_this_host_does_not_make_its_successor_wait(opened, clock):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # exited and reaped: its pid names no process now
    host = process_name().partition(":")[0]
    dead = ShardLeases(await opened(), clock, FIRST, holder=f"{host}:{child.pid}:x")
    assert await dead.try_claim() == []
    assert is_gone(dead.holder) and not is_gone(process_name())
    assert not is_gone(f"elsewhere:{child.pid}:x")  # another host's pid says nothing here
    successor = ShardLeases(await opened(), clock, FIRST)
    assert await successor.try_claim() == []  # at once, not after the lease
    assert not await dead.renew()
