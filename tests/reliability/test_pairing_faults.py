"""Pairing intros when Discord misbehaves: DMs refused (50007) during a 429 burst, the private
thread refused for good (4xx) or failing for a moment (5xx).

tests/e2e/test_pairing_rounds.py already covers the plain fallback (a closed DM introduced in a
private thread) and an intro nobody can receive (both DMs closed, thread permission missing in
the cache). These tests add the fault paths: the fallback under rate limits, Discord refusing
the thread although the cached permissions allow it, and transient errors halfway through
opening it. In every case each member is introduced exactly once or listed as undelivered.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.fakediscord import FakeDiscord
from tests.fakediscord.fixtures import World
from tests.support.intros import intro_states_sql

EXTRA = 2007  # a sixth member, so the round is three pairs
MEMBERS = (*World.MEMBERS, EXTRA)
CLOSED = World.MEMBERS[0]
INTRO_BUTTON = re.compile(r"kindred:checkin:\d+:met")
THREADS_ROUTE = rf"POST /channels/{World.PAIRING}/threads"


async def start_round(kindred) -> None:
    """Six members opt in to weekly rounds; an admin runs one now."""
    await kindred.fake.member_join(World.GUILD, EXTRA, "extra")
    await kindred.settle()
    done = await kindred.reply(
        World.ADMIN,
        "admin pairing schedule",
        channel=World.PAIRING,
        cadence="weekly",
        weekday=2,
        time="09:00",
    )
    assert "Pairing rounds are on" in done.content, done.content
    for user_id in MEMBERS:
        assert "You're in" in (await kindred.reply(user_id, "pair join")).content
    started = await kindred.reply(World.ADMIN, "admin pairing run-now")
    assert "6 members in 3 pairs" in started.content, started.content


def intro_dms(fake: FakeDiscord, user_id: int) -> list:
    return [m for m in fake.dms_to(user_id) if any(map(INTRO_BUTTON.fullmatch, m.custom_ids()))]


def thread_attempts(fake: FakeDiscord) -> int:
    return sum(1 for r in fake.requests if re.fullmatch(THREADS_ROUTE, f"{r.method} {r.path}"))


async def partner_of(kindred, user_id: int) -> int:
    return await kindred.services.db.fetchval(
        "SELECT b.user_id FROM pairing_assignments a JOIN pairing_assignments b "
        "ON b.group_id = a.group_id AND b.user_id != a.user_id WHERE a.user_id = ?",
        (user_id,),
    )


async def intro_states(kindred) -> dict[int, str]:
    rows = await kindred.services.db.fetchall(intro_states_sql())
    return {r["user_id"]: r["state"] for r in rows}


async def undelivered_in_stats(kindred) -> str:
    stats = await kindred.reply(World.ADMIN, "admin pairing stats")
    assert stats.ephemeral
    [field] = [f for f in stats.embeds[0]["fields"] if f["name"].startswith("Undelivered")]
    return field["value"]


async def test_a_closed_dm_during_a_429_burst_is_introduced_once_in_a_private_thread(kindred):
    fake = kindred.fake
    fake.set_dms_closed(CLOSED)
    fake.inject_429(r"POST /channels/\d+/messages", count=8, retry_after=0.2)
    fake.inject_429(r"POST /users/@me/channels", count=3, retry_after=0.3, global_=True)
    fake.inject_429(THREADS_ROUTE, count=2, retry_after=0.2, global_=True)
    await start_round(kindred)
    partner = await partner_of(kindred, CLOSED)

    def settled(f: FakeDiscord) -> bool:
        threads = f.threads
        return bool(threads) and all(intro_dms(f, u) for u in MEMBERS if u != CLOSED)

    await fake.wait_for(settled, timeout=20)
    await kindred.settle()

    assert fake.count_429 >= 13  # every injected 429 was hit and waited out
    assert {u: len(intro_dms(fake, u)) for u in MEMBERS} == {
        u: 0 if u == CLOSED else 1 for u in MEMBERS
    }
    [thread] = fake.threads
    assert thread.type == 12 and thread.parent_id == World.PAIRING
    assert {CLOSED, partner} <= thread.thread_member_ids
    [intro] = fake.channel_messages(thread.id)
    assert f"<@{CLOSED}>" in intro.content and not intro.pinged_user_ids
    assert await intro_states(kindred) == {u: "thread" if u == CLOSED else "sent" for u in MEMBERS}
    assert await undelivered_in_stats(kindred) == "None"


async def test_discord_refusing_the_private_thread_lists_the_intro_as_undelivered_once(kindred):
    """The cached permissions allow the thread, but Discord answers 403 (say, an overwrite the
    bot has not heard of yet): a permanent refusal, recorded and not retried in a loop."""
    fake = kindred.fake
    fake.set_dms_closed(CLOSED)
    fake.inject_faults(THREADS_ROUTE, [403], count=100)
    await start_round(kindred)
    partner = await partner_of(kindred, CLOSED)
    for _ in range(6):
        await kindred.advance(timedelta(hours=1))

    assert thread_attempts(fake) == 1
    assert fake.threads == [] and fake.dms_to(CLOSED) == []
    assert len(intro_dms(fake, partner)) == 1  # the partner's own DM still went out, once
    states = await intro_states(kindred)
    assert states == {u: "undelivered" if u == CLOSED else "sent" for u in MEMBERS}
    listed = await undelivered_in_stats(kindred)
    assert listed == f"- <@{CLOSED}>: intro of round 1"


@pytest.mark.parametrize(
    "route",
    [THREADS_ROUTE, r"PUT /channels/\d+/thread-members/\d+"],
    ids=["opening-the-thread", "adding-a-member"],
)
async def test_a_server_error_in_the_thread_fallback_is_retried_into_one_thread(kindred, route):
    """503 (which discord.py does not retry itself) halfway through the fallback: the outbox
    retries later, finds the thread it opened by name and the intro by its nonce."""
    fake = kindred.fake
    fake.set_dms_closed(CLOSED)
    fake.inject_faults(route, [503], count=1)
    await start_round(kindred)
    await fake.wait_for(lambda f: f.limits.count_faults == 1, 10)
    await kindred.settle()
    assert await undelivered_in_stats(kindred) == "None"  # not given up on

    await kindred.advance(timedelta(minutes=2))  # past the outbox's first backoff (10 s)
    await fake.wait_for(lambda f: f.threads and f.channel_messages(f.threads[0].id), 10)
    await kindred.advance(timedelta(hours=2))

    partner = await partner_of(kindred, CLOSED)
    [thread] = fake.threads
    assert {CLOSED, partner} <= thread.thread_member_ids
    assert len(fake.channel_messages(thread.id)) == 1
    assert len(intro_dms(fake, partner)) == 1
    assert (await intro_states(kindred))[CLOSED] == "thread"
    assert await undelivered_in_stats(kindred) == "None"


async def test_an_intro_that_outlasts_discord_py_429_retries_is_not_lost(kindred):
    """Under a busy global limit one request can be refused five times in a row; discord.py
    then raises HTTPException(429). That is a passing condition: the outbox must retry it."""
    fake = kindred.fake
    await start_round(kindred)
    await kindred.settle()
    unlucky = World.MEMBERS[1]
    dm = fake.dm_channel_ids[unlucky]
    fake.inject_429(rf"POST /channels/{dm}/messages", count=5, retry_after=0.05)
    await kindred.reply(World.ADMIN, "admin pairing run-now")
    await fake.wait_for(lambda f: f.count_429 >= 5, 10)
    await kindred.settle()  # the outbox retries it after a backoff
    await kindred.advance(timedelta(minutes=5))  # past that backoff

    assert {u: len(intro_dms(fake, u)) for u in MEMBERS} == {u: 2 for u in MEMBERS}
    assert "undelivered" not in (await intro_states_all(kindred))


async def intro_states_all(kindred) -> set[str]:
    rows = await kindred.services.db.fetchall(intro_states_sql())
    return {r["state"] for r in rows}
