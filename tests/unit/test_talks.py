""" "Talk 1:1 about this" on a real database (SQLite and PostgreSQL) and a fake clock: pressing
toggles the talk list, the list is paired once at talk_hours with the engine (blocks, trios,
history), each member gets one intro quoting the prompt, a lone member is told kindly, and
the talk counts as a meeting for later rounds."""

from datetime import timedelta

import pytest

from bot.errors import UserError
from bot.outbox import OutboxRow, Outcome
from bot.pairing.models import Intro
from bot.pairing.talks import talk_job_key
from bot.timeutil import to_db
from tests.support.clock import FakeClock
from tests.support.db import START, open_test_services, run_due
from tests.support.outbox import FakeTransport

pytestmark = pytest.mark.backends("sqlite", "postgres")

G = 1000
PROMPT = "What small win did you see in class this week?"
ROLE = 77


class Discord(FakeTransport):
    """The fake transport, keeping each intro as the member reads it; everyone is present."""

    def __init__(self, clock) -> None:
        super().__init__(clock)
        self.intros: list[tuple[int, Intro]] = []

    async def deliver(self, row: OutboxRow) -> Outcome:
        if row.kind == "pairing.intro" and row.recipient_user_id is not None:
            self.intros.append((row.recipient_user_id, Intro.from_payload(row.payload)))
        return await super().deliver(row)

    async def present(self, guild_id, user_ids, role_id):
        return set(user_ids)


@pytest.fixture
async def env(fresh_database):
    clock = FakeClock(START)
    services = await open_test_services(await fresh_database(), clock)
    discord = Discord(clock)
    services.outbox.attach(discord)
    services.pairing.rounds.attach(discord)
    await services.guilds.joined(G)
    yield services, discord, clock
    await services.scheduler.stop()
    await services.outbox.stop()
    await services.db.close()


async def sent_post(services, *, talk_hours: int = 6, day: str = "2026-03-02") -> int:
    return await services.db.insert(
        "INSERT INTO prompt_posts (guild_id, local_date, status, prompt_id, prompt_text, "
        "channel_id, threads, message_id, thread_id, claimed_at, sent_at, talk_hours) "
        "VALUES (?, ?, 'sent', 'b001', ?, 1002, 1, 77, 77, ?, ?, ?) RETURNING id",
        (G, day, PROMPT, to_db(START), to_db(START), talk_hours),
    )


async def press(services, post_id: int, user_id: int, roles=frozenset()):
    return await services.pairing.talks.toggle(G, post_id, user_id, roles)


async def test_pressing_toggles_the_list_and_the_job_is_due_at_talk_hours(env):
    services, _, _ = env
    post = await sent_post(services, talk_hours=4)
    joined = await press(services, post, 1)
    assert joined.joined and joined.pair_at == START + timedelta(hours=4)
    assert await services.scheduler.due_at(talk_job_key(post)) == START + timedelta(hours=4)
    assert not (await press(services, post, 1)).joined
    assert (await press(services, post, 1)).joined
    listed = await services.db.fetchall(
        "SELECT user_id FROM talk_signups WHERE post_id = ?", (post,)
    )
    assert [r["user_id"] for r in listed] == [1]


async def test_talk_is_closed_without_talk_hours_after_pairing_and_without_the_role(env):
    services, _, clock = env
    off = await sent_post(services, talk_hours=0)
    with pytest.raises(UserError, match="not open"):
        await press(services, off, 1)
    post = await sent_post(services, talk_hours=2, day="2026-03-03")
    await services.pairing.schedule.configure(
        G, channel_id=1003, cadence="weekly", weekday=2, time_text="09:00", role_id=ROLE
    )
    with pytest.raises(UserError, match="pairing role"):
        await press(services, post, 1)
    assert (await press(services, post, 1, frozenset({ROLE}))).joined
    clock.advance(timedelta(hours=2))
    with pytest.raises(UserError, match="paired already"):
        await press(services, post, 2, frozenset({ROLE}))


async def test_at_talk_hours_the_list_is_paired_once_with_the_prompt_quoted(env):
    services, discord, clock = env
    post = await sent_post(services)
    for user_id in (1, 2, 3):
        await press(services, post, user_id)
    await press(services, post, 3)  # pressed twice: left
    clock.advance(timedelta(hours=6))
    await run_due(services)
    assert sorted(u for u, _ in discord.intros) == [1, 2]
    by_member = dict(discord.intros)
    assert by_member[1].partner_ids == (2,) and by_member[2].partner_ids == (1,)
    assert all(i.talk and i.starter == PROMPT and i.outcome == "paired" for i in by_member.values())
    assert await services.pairing.talks.pair(G, post) is None  # once
    await run_due(services)
    assert len(discord.attempts) == 2
    assert await services.scheduler.due_at(talk_job_key(post)) is None
    # No announcement and no check-in for a talk.
    assert {m.kind for m in discord.messages} == {"pairing.intro"}
    assert await services.db.fetchval("SELECT COUNT(*) FROM jobs") == 0


async def test_a_lone_member_is_told_and_an_odd_list_makes_a_trio(env):
    services, discord, clock = env
    alone = await sent_post(services)
    await press(services, alone, 1)
    three = await sent_post(services, day="2026-03-03")
    for user_id in (4, 5, 6):
        await press(services, three, user_id)
    clock.advance(timedelta(hours=6))
    await run_due(services)
    by_member = dict(discord.intros)
    assert by_member[1].outcome == "alone" and by_member[1].talk
    assert sorted(by_member[4].partner_ids) == [5, 6]
    assert {by_member[u].outcome for u in (4, 5, 6)} == {"paired"}


async def test_blocks_are_honoured_and_a_talk_counts_as_a_meeting_for_later_rounds(env):
    services, discord, clock = env
    for user_id in (1, 2, 3, 4):
        await services.pairing.membership.join(G, user_id, frozenset())
    await services.pairing.membership.avoid(G, 1, 2)
    post = await sent_post(services)
    for user_id in (1, 2, 3, 4):
        await press(services, post, user_id)
    clock.advance(timedelta(hours=6))
    await run_due(services)
    talked = {u: i.partner_ids for u, i in discord.intros}
    assert talked[1] != (2,) and talked[2] != (1,)
    # The next round prefers people who have not talked yet.
    plan = await services.pairing.rounds.plan(G, seed=1)
    for group in plan.groups:
        for member in group:
            assert not set(talked[member]) & set(group)


async def test_the_talk_of_a_post_made_before_a_break_still_runs(env):
    services, discord, clock = env
    post = await sent_post(services, talk_hours=12)  # Monday 12:00 -> pairs at midnight
    await services.breaks.add(G, "2026-03-03", "2026-03-06", "")
    for user_id in (1, 2):
        await press(services, post, user_id)
    clock.advance(timedelta(hours=12))
    await run_due(services)
    assert sorted(u for u, _ in discord.intros) == [1, 2]


async def test_a_talk_is_not_the_current_round_for_status_stats_or_a_member_leaving(env):
    services, discord, clock = env
    await services.pairing.schedule.configure(
        G, channel_id=1003, cadence="weekly", weekday=2, time_text="09:00", role_id=None
    )
    for user_id in (1, 2):
        await services.pairing.membership.join(G, user_id, frozenset())
    await services.pairing.rounds.run_now(G, 99)
    post = await sent_post(services)
    for user_id in (1, 3):
        await press(services, post, user_id)
    clock.advance(timedelta(hours=6))
    await run_due(services)
    assert (await services.pairing.membership.member_status(G, 1)).partner_ids == (2,)
    assert (await services.pairing.overview.stats(G)).rounds == 1
    await services.pairing.member_left(G, 1)
    await run_due(services)
    notices = [m.user_id for m in discord.messages if m.kind == "pairing.notice"]
    assert notices == [2]  # the round partner is told; the talk was a one-off
