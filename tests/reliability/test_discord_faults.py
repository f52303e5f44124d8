"""Discord misbehaving: a dropped gateway, 429 bursts, server errors, permanent refusals.

Each test schedules the daily prompt (the harness clock starts Monday 12:00 UTC; the post is due
at 12:30), breaks Discord around it, and checks the post still appears exactly once -- or, for a
permanent refusal, that the failure is recorded and not retried in a loop.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.fakediscord.fixtures import World

POST_ROUTE = rf"POST /channels/{World.PROMPTS}/messages"


def prompt_posts(kindred) -> list:
    """Prompt posts in the prompts channel (they carry the row's nonce)."""
    return [m for m in kindred.fake.channel_messages(World.PROMPTS) if m.nonce]


def post_attempts(kindred) -> int:
    return sum(1 for r in kindred.fake.requests if re.fullmatch(POST_ROUTE, f"{r.method} {r.path}"))


async def schedule_prompts(kindred, time: str = "12:30") -> None:
    reply = await kindred.reply(
        World.ADMIN, "admin prompts schedule", channel=World.PROMPTS, time=time
    )
    assert "Daily prompts are on" in reply.content, reply.content
    await kindred.settle()


async def post_rows(kindred) -> list[tuple[str, str]]:
    rows = await kindred.services.db.fetchall(
        "SELECT local_date, status FROM prompt_posts ORDER BY local_date"
    )
    return [(r["local_date"], r["status"]) for r in rows]


async def until_settled(kindred, predicate):
    """Wait for a background outcome that involves discord.py's real-time retry sleeps."""
    return await kindred.fake.wait_for(lambda f: predicate(), 20.0)


async def test_a_dropped_gateway_misses_no_scheduled_post(kindred):
    fake = kindred.fake
    await schedule_prompts(kindred)

    await fake.drop_gateway(resumable=True)  # the post falls due while the socket is down
    await kindred.advance(timedelta(minutes=31))
    await until_settled(kindred, lambda: len(prompt_posts(kindred)) == 1)
    await fake.wait_for(lambda f: f.gateway.resume_count >= 1 and f.gateway.connected, 15)

    identifies = fake.gateway.identify_count
    await fake.drop_gateway(resumable=False)  # the session is gone: a full re-identify
    await fake.wait_until_connected(timeout=15, identifies=identifies + 1)
    await kindred.advance(timedelta(days=1))
    await until_settled(kindred, lambda: len(prompt_posts(kindred)) == 2)
    await kindred.advance(timedelta(hours=6))

    assert len(prompt_posts(kindred)) == 2
    assert await post_rows(kindred) == [("2026-03-02", "sent"), ("2026-03-03", "sent")]
    # Commands work on the new session.
    assert (await kindred.reply(World.MEMBERS[0], "about")).embeds


@pytest.mark.parametrize("global_", [False, True], ids=["per-route", "global"])
async def test_a_burst_of_429s_is_waited_out_and_posts_once(kindred, global_):
    fake = kindred.fake
    await schedule_prompts(kindred)
    fake.inject_429(POST_ROUTE, count=4, retry_after=0.2, global_=global_)

    await kindred.advance(timedelta(minutes=31))
    await until_settled(kindred, lambda: len(prompt_posts(kindred)) == 1)
    await kindred.settle()

    assert fake.count_429 >= 4
    assert len(prompt_posts(kindred)) == 1
    assert await post_rows(kindred) == [("2026-03-02", "sent")]


async def test_a_global_rate_limit_under_a_burst_of_commands_loses_no_reply(kindred):
    fake = kindred.fake
    await schedule_prompts(kindred)
    fake.set_global_rate_limit(3)
    handles = [await kindred.invoke(uid, "prompt suggest", text=f"Q{uid}") for uid in World.MEMBERS]
    await kindred.advance(timedelta(minutes=31))
    for handle in handles:
        assert "Suggestion" in (await handle.response(timeout=15)).content
    await until_settled(kindred, lambda: len(prompt_posts(kindred)) == 1)
    assert len(prompt_posts(kindred)) == 1


@pytest.mark.parametrize(
    "statuses",
    [
        [500, 502],
        [503],
        [503, 503, 503],
    ],
    ids=["500-502", "503", "503x3"],
)
async def test_server_errors_are_retried_and_the_post_appears_once(kindred, statuses):
    fake = kindred.fake
    await schedule_prompts(kindred)
    fake.inject_faults(POST_ROUTE, statuses, count=len(statuses))

    await kindred.advance(timedelta(minutes=31))
    # discord.py retries 500/502 itself; a 503 is retried by the prompt service a minute later.
    await until_settled(kindred, lambda: post_attempts(kindred) > 0)
    for _ in range(10):
        await kindred.advance(timedelta(minutes=1))
    await until_settled(kindred, lambda: len(prompt_posts(kindred)) == 1)

    assert post_attempts(kindred) == len(statuses) + 1
    assert len(prompt_posts(kindred)) == 1
    assert (await post_rows(kindred))[0] == ("2026-03-02", "sent")


async def test_a_429_that_outlasts_discord_py_retries_is_posted_a_minute_later(kindred):
    """Under a busy rate limit discord.py gives up after five 429s in a row and raises; that is
    a passing condition, not a refusal: the day's prompt must still go out, once."""
    fake = kindred.fake
    await schedule_prompts(kindred)
    fake.inject_429(POST_ROUTE, count=5, retry_after=0.05)

    await kindred.advance(timedelta(minutes=31))
    await fake.wait_for(lambda f: f.count_429 >= 5, 10)
    await kindred.settle()
    assert prompt_posts(kindred) == []
    for _ in range(3):
        await kindred.advance(timedelta(minutes=1))
    await until_settled(kindred, lambda: len(prompt_posts(kindred)) == 1)

    assert len(prompt_posts(kindred)) == 1
    assert (await post_rows(kindred))[0] == ("2026-03-02", "sent")


async def test_a_permanent_refusal_is_recorded_and_not_retried_in_a_loop(kindred):
    fake = kindred.fake
    await schedule_prompts(kindred)
    fake.deny_send(World.PROMPTS)  # 403 code 50013 on every post

    await kindred.advance(timedelta(minutes=31))
    for _ in range(12):
        await kindred.advance(timedelta(hours=1))

    assert prompt_posts(kindred) == []
    assert post_attempts(kindred) == 1  # one try that day, not a retry storm
    assert await post_rows(kindred) == [("2026-03-02", "failed")]
    shown = await kindred.reply(World.ADMIN, "admin show")
    assert "missing permission" in shown.text

    await kindred.advance(timedelta(hours=12))  # the next day (12:30) tries again, once
    assert post_attempts(kindred) == 2
