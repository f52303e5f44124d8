"""kill -9 at random moments while Kindred posts, then restart: nothing is lost or repeated.

The bot runs as `python -m bot` against the fake Discord on the real clock. The fake answers
slowly (latency) so each post spans a window the kill can land in: before the row is claimed,
between the claim and the send, between the send and the 'sent' mark, or after. Random moments
come from a seeded `random.Random`, so a failure reproduces.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from tests.fakediscord.fixtures import World
from tests.support.db import database_problems, read_rows

KILLS = 20
LATENCY = 0.15  # seconds per REST request: a post (message + thread) takes ~0.5 s


async def command(fake, user_id: int, name: str, **options) -> str:
    handle = await fake.invoke(World.GUILD, user_id, name, **options)
    return (await handle.response(timeout=15)).text


@pytest.mark.slow
@pytest.mark.timeout(400)
# One backend each for the two long kill -9 loops (~50 s and ~80 s a run), so .ci/run stays in
# its time limit: this one on PostgreSQL, the pairing loop (test_crash_restart_pairing.py) on
# SQLite. The recovery code is the same on both; what differs by database is the claim and its
# transaction, which the ghost-send kill tests and the outbox claim tests cover on both.
@pytest.mark.backends("postgres")
async def test_kill_9_during_prompt_posts_neither_repeats_nor_drops_one(bot_process):
    fake = bot_process.fake
    rng = random.Random(20)
    await bot_process.start()
    # The daily slot falls inside the loop, so the scheduler's own post gets killed too.
    slot = (datetime.now(UTC) + timedelta(minutes=1)).strftime("%H:%M")
    reply = await command(
        fake, World.ADMIN, "admin prompts schedule", channel=World.PROMPTS, time=slot
    )
    assert "Daily prompts are on" in reply
    await command(fake, World.ADMIN, "admin prompts add", text="Hello @everyone, what went well?")
    fake.latency = LATENCY

    for _ in range(KILLS):
        await fake.invoke(World.GUILD, World.ADMIN, "admin prompts post-now")
        await asyncio.sleep(rng.uniform(0.0, 1.0))
        bot_process.kill()
        await bot_process.start()

    fake.latency = 0.0
    path = bot_process.database

    def settled(_fake) -> bool:
        rows = read_rows(path, "SELECT status FROM prompt_posts")
        return bool(rows) and all(r["status"] in ("sent", "failed", "skipped") for r in rows)

    await fake.wait_for(settled, timeout=30)
    await asyncio.sleep(0.5)
    bot_process.stop()

    rows = read_rows(path, "SELECT * FROM prompt_posts ORDER BY id")
    posts = [m for m in fake.channel_messages(World.PROMPTS) if m.nonce]
    sent = [r for r in rows if r["status"] == "sent"]
    assert [r["id"] for r in rows if r["status"] != "sent"] == []
    # Every claimed post is in the channel exactly once: not dropped, not repeated by a resend.
    copies = {r["id"]: sum(r["prompt_text"] in m.text for m in posts) for r in sent}
    assert {post_id: n for post_id, n in copies.items() if n != 1} == {}
    assert len(posts) == len(sent)
    days = Counter(r["local_date"] for r in rows if not r["extra"])
    assert days and all(count == 1 for count in days.values()), days  # one daily post a day
    assert len(sent) >= KILLS // 2  # most kills landed on a post that then went out once
    assert not any(m.pings_everyone for m in posts)
    assert database_problems(path) == []
    assert "Traceback" not in bot_process.logs()
