import asyncio
import logging
from datetime import timedelta

import pytest

from bot.scheduler import Job
from tests.support.clock import FakeClock
from tests.support.db import START, open_test_services, settle

pytestmark = pytest.mark.backends("sqlite", "postgres")


async def test_a_job_runs_when_its_time_comes_and_not_before(services):
    clock: FakeClock = services.clock
    ran: list[Job] = []

    async def handler(job: Job):
        ran.append(job)
        return None

    services.scheduler.register("test", handler)
    await services.scheduler.schedule("a", "test", START + timedelta(hours=1), payload={"n": 1})
    services.scheduler.start()
    await settle(services.scheduler)
    assert ran == []
    clock.advance(timedelta(minutes=59))
    await settle(services.scheduler)
    assert ran == []
    clock.advance(timedelta(minutes=1))
    await settle(services.scheduler)
    assert [j.key for j in ran] == ["a"] and ran[0].payload == {"n": 1}
    assert await services.scheduler.due_at("a") is None  # one-off jobs are deleted


async def test_an_earlier_job_wakes_the_sleeping_loop(services):
    clock: FakeClock = services.clock
    ran: list[str] = []

    async def handler(job: Job):
        ran.append(job.key)

    services.scheduler.register("test", handler)
    await services.scheduler.schedule("late", "test", START + timedelta(days=1))
    services.scheduler.start()
    await settle(services.scheduler)
    await services.scheduler.schedule("soon", "test", START + timedelta(minutes=5))
    clock.advance(timedelta(minutes=5))
    await settle(services.scheduler)
    assert ran == ["soon"]


async def test_recurring_jobs_are_rescheduled_by_their_handler(services):
    clock: FakeClock = services.clock
    ran: list[str] = []

    async def daily(job: Job):
        ran.append(clock.now().isoformat())
        return job.due_at + timedelta(days=1)

    services.scheduler.register("daily", daily)
    await services.scheduler.schedule("d", "daily", START)
    services.scheduler.start()
    for _ in range(3):
        await settle(services.scheduler)
        clock.advance(timedelta(days=1))
    await settle(services.scheduler)
    assert len(ran) == 4
    assert await services.scheduler.due_at("d") == START + timedelta(days=4)


async def test_jobs_due_while_down_are_handed_over_with_their_lateness(fresh_database):
    clock = FakeClock(START)
    database = await fresh_database()
    first = await open_test_services(database, clock)
    await first.scheduler.schedule("missed", "test", START + timedelta(hours=1))
    await first.db.close()

    clock.advance(timedelta(hours=3))  # the bot was down for the due time
    second = await open_test_services(database, clock)
    seen: list[timedelta] = []

    async def handler(job: Job):
        seen.append(job.lateness)

    second.scheduler.register("test", handler)
    second.scheduler.start()
    await settle(second.scheduler)
    await second.scheduler.stop()
    await second.db.close()
    assert seen == [timedelta(hours=2)]


async def test_a_failing_handler_is_logged_and_the_next_job_still_runs(services, caplog):
    clock: FakeClock = services.clock
    ran: list[str] = []

    async def broken(job: Job):
        raise RuntimeError("boom")

    async def fine(job: Job):
        ran.append(job.key)

    services.scheduler.register("broken", broken)
    services.scheduler.register("fine", fine)
    await services.scheduler.schedule("b", "broken", START, guild_id=None)
    await services.scheduler.schedule("f", "fine", START + timedelta(seconds=1))
    services.scheduler.start()
    with caplog.at_level(logging.ERROR):
        clock.advance(timedelta(seconds=1))
        await settle(services.scheduler)
    assert ran == ["f"]
    assert any("Job b (kind broken" in r.getMessage() for r in caplog.records)
    # The failed job is retried later, with backoff, not dropped and not hot-looped.
    retry_at = await services.scheduler.due_at("b")
    assert retry_at is not None and retry_at > clock.now()


async def test_idle_scheduler_sleeps_instead_of_polling(services):
    """With 10,000 jobs far in the future, the loop makes one pass and sleeps."""
    passes = 0
    original = services.scheduler._dispatch_due

    async def counting(now):
        nonlocal passes
        passes += 1
        return await original(now)

    services.scheduler._dispatch_due = counting
    async with services.db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO jobs (key, kind, due_at) VALUES (?, 'test', '2026-03-03 12:00:00')",
            [(f"k{i}",) for i in range(10_000)],
        )
    services.scheduler.start()
    await asyncio.sleep(0.3)
    assert passes == 1


async def test_a_job_moved_while_running_keeps_its_new_time(services):
    clock: FakeClock = services.clock
    running, release = asyncio.Event(), asyncio.Event()

    async def slow(job: Job):
        running.set()
        await release.wait()
        return job.due_at + timedelta(days=1)

    services.scheduler.register("slow", slow)
    await services.scheduler.schedule("s", "slow", START)
    services.scheduler.start()
    await asyncio.wait_for(running.wait(), 5)
    moved = START + timedelta(hours=5)
    await services.scheduler.schedule("s", "slow", moved)  # e.g. the admin changed the time
    release.set()
    await settle(services.scheduler)
    assert await services.scheduler.due_at("s") == moved
    assert clock.now() == START


async def test_a_clock_that_moves_during_a_pass_does_not_delay_the_next_job(services):
    """The loop sleeps until an instant, not for a duration measured from a stale reading."""
    clock: FakeClock = services.clock
    ran: list[str] = []

    async def handler(job: Job):
        ran.append(job.key)

    services.scheduler.register("test", handler)
    await services.scheduler.schedule("j", "test", START + timedelta(hours=1))
    original = services.scheduler._dispatch_due
    moved = False

    async def moving(now):
        nonlocal moved
        result = await original(now)
        if not moved:
            moved = True
            clock.advance(timedelta(hours=1))  # time passes while the pass finishes
        return result

    services.scheduler._dispatch_due = moving
    services.scheduler.start()
    await settle(services.scheduler)
    assert ran == ["j"]
