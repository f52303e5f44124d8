"""A confirmed meeting's reminder is sent exactly once, though the bot is killed (kill -9) after
the confirmation and again while Discord holds the reminder's answer.

The bot runs as `python -m bot` against the fake Discord. Two members pick the same proposed
time; the bot is killed; it restarts with its clock (`KINDRED_FAKE_CLOCK_OFFSET`) just before
the reminder is due (30 minutes before the meeting); the fake creates the first reminder DM and
holds its answer; the bot is killed again while it waits and restarted at once. The fake
records every message-create request before nonce dedupe, so the test counts what was sent.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import BotProcess
from tests.fakediscord.fixtures import World
from tests.reliability.test_crash_restart import command
from tests.reliability.test_ghost_sends import (
    HOLD,
    NOT_A_GUILD_CHANNEL,
    kill_while_discord_holds_the_answer,
    until_nothing_unsent,
)
from tests.support.db import database_problems

REMINDER = "Reminder: you are meeting"
CONFIRMED = "It's set"
SLOT = re.compile(r"kindred:slot:\d+:0")


@pytest.mark.timeout(120)
async def test_a_meeting_reminder_is_sent_once_across_kills(bot_process: BotProcess):
    fake = bot_process.fake
    a, b = World.MEMBERS[:2]
    await bot_process.start()
    reply = await command(
        fake,
        World.ADMIN,
        "admin pairing schedule",
        channel=World.PAIRING,
        cadence="weekly",
        weekday=(datetime.now(UTC).weekday() + 3) % 7,
        time="12:00",
    )
    assert "Pairing rounds are on" in reply, reply
    for user_id in (a, b):
        assert "You're in" in await command(fake, user_id, "pair join")
    await command(fake, World.ADMIN, "admin pairing run-now")
    await fake.wait_for(lambda f: all(f.dms_to(u) for u in (a, b)), timeout=20)
    for user_id in (a, b):
        [intro] = fake.dms_to(user_id)
        button = next(c for c in intro.custom_ids() if SLOT.fullmatch(c))
        await (await fake.click(intro, button, user_id)).response(timeout=15)
    await fake.wait_for(
        lambda f: all(any(CONFIRMED in m.content for m in f.dms_to(u)) for u in (a, b)),
        timeout=20,
    )
    [stamp] = re.findall(r"<t:(\d+):F>", fake.dms_to(a)[-1].content)
    meeting = datetime.fromtimestamp(int(stamp), UTC)
    bot_process.kill()

    # Back 5 s before the reminder is due; Discord creates the first reminder and holds the
    # answer; killed while waiting, restarted at once (the resend carries the same nonce).
    offset = (meeting - timedelta(minutes=30, seconds=5) - datetime.now(UTC)).total_seconds()
    bot_process.extra_env["KINDRED_FAKE_CLOCK_OFFSET"] = str(offset)
    fake.hold_answers(NOT_A_GUILD_CHANNEL, seconds=HOLD)
    await bot_process.start()
    await kill_while_discord_holds_the_answer(bot_process)
    await bot_process.start()
    await until_nothing_unsent(bot_process)
    bot_process.stop()

    for user_id in (a, b):
        reminders = [m for m in fake.dms_to(user_id) if REMINDER in m.content]
        assert len(reminders) == 1, f"member {user_id} got {len(reminders)} reminders"
        created = [
            r
            for r in fake.attempts_to(fake.dm_channel_ids[user_id])
            if r.outcome == "created" and REMINDER in r.content
        ]
        assert len(created) == 1
        assert len([m for m in fake.dms_to(user_id) if CONFIRMED in m.content]) == 1
    resent = [
        r
        for u in (a, b)
        for r in fake.attempts_to(fake.dm_channel_ids[u])
        if r.outcome == "deduplicated" and REMINDER in r.content
    ]
    assert resent  # the kill landed while Discord held the answer: the resend was deduplicated
    assert database_problems(bot_process.database) == []
    assert "Traceback" not in bot_process.logs()
