"""The prompt service on a real database and a fake clock, with a fake Discord behind the
outbox."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.errors import UserError
from bot.outbox import Failed, OutboxRow, Outcome, Refused, Sent
from bot.prompts.library import load_library
from bot.prompts.records import daily_key
from tests.support.clock import FakeClock
from tests.support.db import START, open_test_services, run_due

G = 1000
CHANNEL = 1002


@dataclass(frozen=True)
class Delivery:
    """A prompt post Discord received."""

    local_date: date
    prompt_id: str
    nonce: str


@dataclass(frozen=True)
class ApprovalNotice:
    user_id: int


class FakeSender:
    """Plays Discord for the outbox: records posts and approval DMs; Discord's nonce dedupe is
    modelled (a resent nonce is not a new post)."""

    def __init__(self) -> None:
        self.posts: list[Delivery] = []
        self.dms: list[ApprovalNotice] = []
        self.fail_with: str | None = None
        self.dm_fail_with: str | None = None

    async def deliver(self, row: OutboxRow) -> Outcome:
        p = row.payload
        if row.kind == "prompt.approved":
            if self.dm_fail_with:
                return Refused(self.dm_fail_with)
            self.dms.append(ApprovalNotice(row.recipient_user_id or 0))
            return Sent(1)
        if self.fail_with:
            return Failed(self.fail_with)
        await self.arrived(Delivery(date.fromisoformat(p["local_date"]), p["prompt_id"], row.nonce))
        message_id = p["post_id"] + 100
        thread_id = message_id if p["threads"] else None
        return Sent(message_id, row.channel_id, thread_id)

    async def arrived(self, delivery: Delivery) -> None:
        if delivery.nonce not in {d.nonce for d in self.posts}:
            self.posts.append(delivery)

    async def find_delivered(self, row: OutboxRow, since: datetime) -> Outcome | None:
        return None


async def open_services(path, clock):
    services = await open_test_services(path, clock)
    sender = FakeSender()
    services.outbox.attach(sender)
    await services.guilds.joined(G)
    return services, sender


async def close(services) -> None:
    await services.scheduler.stop()
    await services.outbox.stop()
    await services.db.close()


@pytest.fixture
async def env(fresh_database):
    database = await fresh_database()
    services, sender = await open_services(database, FakeClock(START))
    yield services, sender
    await close(services)


async def schedule(services, time_text="13:00", **kwargs):
    options = {"channel_id": CHANNEL, "weekends": False, "threads": True, "role_id": None}
    return await services.prompts.schedule.configure(
        G, time_text=time_text, **{**options, **kwargs}
    )


async def test_rotation_uses_every_prompt_once_per_cycle_then_starts_a_new_cycle(env):
    services, _ = env
    await schedule(services)
    for prompt in load_library()[3:]:
        await services.prompts.pool.remove(G, prompt.id)  # a pool of three built-ins
    await services.prompts.pool.add(G, "What made you laugh at school this week?")
    seen = [(await services.prompts.daily.post_now(G)).prompt_id for _ in range(8)]
    first, second = seen[:4], seen[4:]
    assert sorted(first) == sorted(second) == sorted(["b001", "b002", "b003", "c1"])
    assert second[0] != first[-1]  # a new cycle never opens with the prompt that closed the last
    page = await services.prompts.pool.page(G, 1)
    assert page.in_pool == 4 and page.used_in_cycle == 4


async def test_a_prompt_added_mid_cycle_joins_the_current_cycle(env):
    services, _ = env
    await schedule(services)
    for prompt in load_library()[2:]:
        await services.prompts.pool.remove(G, prompt.id)
    first = (await services.prompts.daily.post_now(G)).prompt_id
    added = await services.prompts.pool.add(G, "Who helped you this week?")
    rest = {(await services.prompts.daily.post_now(G)).prompt_id for _ in range(2)}
    assert {first, *rest} == {"b001", "b002", added.prompt_id}


async def test_the_daily_post_follows_the_guild_timezone_across_the_dst_change(fresh_database):
    database = await fresh_database()
    # Friday 2026-03-06; New York springs forward on Sunday 2026-03-08.
    clock = FakeClock(datetime(2026, 3, 6, 15, 0, tzinfo=UTC))
    services, sender = await open_services(database, clock)
    await services.guilds.set_timezone(G, "America/New_York")
    await schedule(services, "09:00")
    # 09:00 EST on Friday is 14:00 UTC, already past: next is Monday 09:00 EDT = 13:00 UTC.
    assert await services.scheduler.due_at(daily_key(G)) == datetime(2026, 3, 9, 13, tzinfo=UTC)
    clock.set(datetime(2026, 3, 9, 13, tzinfo=UTC))
    await run_due(services)
    assert [d.local_date.isoformat() for d in sender.posts] == ["2026-03-09"]
    assert await services.scheduler.due_at(daily_key(G)) == datetime(2026, 3, 10, 13, tzinfo=UTC)
    await close(services)


async def test_weekends_are_skipped_unless_asked_for(env):
    services, _ = env
    friday = datetime(2026, 3, 6, 13, tzinfo=UTC)
    services.clock.set(friday)
    await schedule(services, "14:00")
    await services.prompts.daily.post_now(G)  # Friday's is out now
    services.clock.set(friday + timedelta(hours=2))
    assert await services.scheduler.due_at(daily_key(G)) == datetime(2026, 3, 6, 14, tzinfo=UTC)
    _, next_at = await schedule(services, "14:00")
    assert next_at == datetime(2026, 3, 9, 14, tzinfo=UTC)  # Monday
    _, next_at = await schedule(services, "14:00", weekends=True)
    assert next_at == datetime(2026, 3, 7, 14, tzinfo=UTC)  # Saturday


async def test_a_scheduled_day_is_posted_once_even_if_the_job_runs_again(env):
    services, sender = env
    await schedule(services)
    services.clock.advance(timedelta(hours=1))
    await run_due(services)
    # Someone moves the job back into the past (a retry, a reschedule): still one post.
    await services.scheduler.schedule(
        daily_key(G), "prompts.daily", services.clock.now(), guild_id=G
    )
    await run_due(services)
    assert len(sender.posts) == 1


async def test_a_crash_mid_send_is_resent_with_the_same_nonce_after_restart(fresh_database):
    database = await fresh_database()
    clock = FakeClock(START)
    services, sender = await open_services(database, clock)
    await schedule(services)
    release = asyncio.Event()

    class Hanging(FakeSender):
        async def arrived(self, delivery: Delivery) -> None:
            self.posts.append(delivery)
            await release.wait()  # the process dies while Discord is answering

    hanging = Hanging()
    services.outbox.attach(hanging)
    clock.advance(timedelta(hours=1))
    services.scheduler.start()
    services.outbox.start()
    for _ in range(50):
        await asyncio.sleep(0.01)
        if hanging.posts:
            break
    await close(services)

    services, sender = await open_services(database, clock)
    sender.posts.extend(hanging.posts)  # Discord already has a message with that nonce
    await run_due(services)
    assert [d.nonce for d in sender.posts] == [hanging.posts[0].nonce]
    today = await services.prompts.today(G)
    assert today.post is not None and today.post.status == "sent"
    await close(services)


async def test_downtime_under_six_hours_is_caught_up_and_longer_is_skipped(env):
    services, sender = env
    await schedule(services)
    services.clock.advance(timedelta(hours=3))  # 2 h after 13:00
    await run_due(services)
    assert len(sender.posts) == 1
    services.clock.set(datetime(2026, 3, 3, 21, tzinfo=UTC))  # Tuesday, 8 h late
    await run_due(services)
    assert len(sender.posts) == 1
    status = await services.prompts.status(G, None)
    assert status.problems and status.problems[0].startswith("prompt not posted on 2026-03-03")
    assert "offline" in status.problems[0]


async def test_a_failed_post_is_reported_does_not_use_the_prompt_and_tomorrow_still_comes(env):
    services, sender = env
    await schedule(services)
    sender.fail_with = f"missing permission in <#{CHANNEL}>"
    services.clock.advance(timedelta(hours=1))
    await run_due(services)
    status = await services.prompts.status(G, None)
    assert status.problems == [
        f"prompt not posted on 2026-03-02: missing permission in <#{CHANNEL}>"
    ]
    assert (await services.prompts.pool.page(G, 1)).used_in_cycle == 0
    assert await services.scheduler.due_at(daily_key(G)) == datetime(2026, 3, 3, 13, tzinfo=UTC)
    sender.fail_with = None
    services.clock.advance(timedelta(days=1))
    await run_due(services)
    assert [d.local_date.isoformat() for d in sender.posts] == ["2026-03-03"]


async def test_post_now_becomes_todays_post_then_adds_extra_posts(env):
    services, sender = env
    await schedule(services)
    first = await services.prompts.daily.post_now(G)
    assert not first.extra and first.status == "sent"
    services.clock.advance(timedelta(hours=1))  # the scheduled time: today's is already out
    await run_due(services)
    second = await services.prompts.daily.post_now(G)
    assert second.extra and second.prompt_id != first.prompt_id
    assert len(sender.posts) == 2
    assert (await services.prompts.today(G)).post.id == first.id


async def test_import_adds_new_lines_and_reports_the_rest(env):
    services, _ = env
    await services.prompts.pool.add(G, "What did a colleague teach you?")
    data = (
        "What are you proud of this week?\n"
        "\n"
        "what are you PROUD of this week?\n"
        "What did a colleague teach you?\n" + "x" * 1001 + "\n" + load_library()[0].text + "\n"
    ).encode() + b"\xff\xfe broken\n"
    report = await services.prompts.pool.import_file(G, "prompts.txt", data)
    assert len(report.added) == 1
    assert [(d.line_no, d.first_line_no) for d in report.duplicates_in_file] == [(3, 1)]
    assert [(d.line_no, d.existing_id) for d in report.duplicates_in_pool] == [
        (4, "c1"),
        (6, "b001"),
    ]
    assert [(r.line_no, r.reason.split(" (")[0]) for r in report.rejected] == [
        (5, "too long"),
        (7, "not UTF-8"),
    ]
    with pytest.raises(UserError, match=r"not a \.txt or \.csv"):
        await services.prompts.pool.import_file(G, "prompts.pdf", b"hello")


async def test_suggestions_are_capped_and_approval_adds_and_dms(env):
    services, sender = env
    member = 2002
    ids = [
        (await services.prompts.suggestions.suggest(G, member, f"Question number {i}?")).id
        for i in range(5)
    ]
    with pytest.raises(UserError, match="5 suggestions waiting"):
        await services.prompts.suggestions.suggest(G, member, "One too many?")
    approval = await services.prompts.suggestions.approve(G, ids[0], admin_user_id=2001)
    assert approval.dm_sent and [n.user_id for n in sender.dms] == [member]
    pool = await services.prompts.pool.pool(G)
    assert pool[approval.prompt_id].text == "Question number 0?"
    with pytest.raises(UserError, match="already approved"):
        await services.prompts.suggestions.approve(G, ids[0], admin_user_id=2001)
    await services.prompts.suggestions.reject(G, ids[1], admin_user_id=2001)
    sender.dm_fail_with = "DMs are closed"
    assert not (await services.prompts.suggestions.approve(G, ids[2], admin_user_id=2001)).dm_sent
    await services.prompts.suggestions.suggest(G, member, "Room for this one now?")


async def test_remove_hides_built_ins_and_deletes_custom_prompts(env):
    services, _ = env
    added = await services.prompts.pool.add(G, "A custom one?")
    assert (await services.prompts.pool.remove(G, " B001 ")).hidden
    assert not (await services.prompts.pool.remove(G, added.prompt_id)).hidden
    pool = await services.prompts.pool.pool(G)
    assert "b001" not in pool and added.prompt_id not in pool
    with pytest.raises(UserError, match="already hidden"):
        await services.prompts.pool.remove(G, "b001")
    with pytest.raises(UserError, match="is not a prompt id"):
        await services.prompts.pool.remove(G, "What went well?")


async def test_schedule_rejects_a_bad_time_with_a_hint(env):
    services, _ = env
    with pytest.raises(UserError, match="24-hour HH:MM"):
        await schedule(services, "7pm")


async def test_a_timezone_change_moves_the_next_post(env):
    services, _ = env
    await schedule(services, "13:00")
    await services.guilds.set_timezone(G, "Europe/Berlin")
    await services.prompts.reschedule(G)
    # 13:00 in Berlin (UTC+1 in March) on Monday 2026-03-02 is 12:00 UTC, just passed.
    assert await services.scheduler.due_at(daily_key(G)) == datetime(2026, 3, 3, 12, tzinfo=UTC)
