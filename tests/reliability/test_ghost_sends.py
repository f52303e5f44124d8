"""The ghost case: Discord created the message but the bot never heard back, and the bot comes
back long after Discord forgot the nonce. Nothing may be sent twice, nothing lost.

The bot runs as `python -m bot` (real clock). The fake carries out one message create and holds
its answer; the bot is killed (kill -9) while it waits. Then both clocks move 12 minutes (the
fake's nonce memory lasts 5; the bot's clock through `KINDRED_FAKE_CLOCK_OFFSET`) and the bot
restarts: a resend with the nonce would now create a second message, so the bot must read the
channel back first. The fake records every message-create request before any dedupe, so each
test counts what the bot sent, not only what was kept.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import BotProcess
from tests.fakediscord import FakeDiscord
from tests.fakediscord.fixtures import World
from tests.reliability.test_crash_restart import command
from tests.support.db import database_problems, read_rows

LATER = 12 * 60  # seconds: the restart comes 12 minutes later, past Discord's nonce memory
HOLD = 60.0  # seconds the fake holds the answer: the bot is killed long before it comes
INTRO_BUTTON = re.compile(r"kindred:checkin:\d+:met")
NOT_A_GUILD_CHANNEL = r"POST /channels/(?!100[1-4]/)\d+/messages"  # a DM


async def kill_while_discord_holds_the_answer(bot_process: BotProcess) -> None:
    """Wait until the held message exists at Discord, then kill -9 the bot."""
    fake = bot_process.fake
    await fake.wait_for(lambda f: f.held, timeout=20)
    bot_process.kill()


async def restart_later(bot_process: BotProcess, offset: float = 0.0) -> None:
    """Both clocks move 12 minutes on; the bot starts again."""
    bot_process.fake.advance_clock(LATER)
    bot_process.extra_env["KINDRED_FAKE_CLOCK_OFFSET"] = str(offset + LATER)
    await bot_process.start()


async def until_nothing_unsent(bot_process: BotProcess) -> None:
    """Wait until the outbox has nothing left to send, then a little more for stragglers."""
    path = bot_process.database

    def done(_fake: FakeDiscord) -> bool:
        [row] = read_rows(
            path, "SELECT COUNT(*) AS n FROM outbox WHERE state IN ('pending', 'sending')"
        )
        return row["n"] == 0

    await bot_process.fake.wait_for(done, timeout=30)
    await asyncio.sleep(1.0)


def created(fake: FakeDiscord, channel_id: int) -> int:
    """Messages the bot created in a channel, counted per request (before nonce dedupe)."""
    return sum(1 for a in fake.attempts_to(channel_id) if a.outcome == "created")


@pytest.mark.timeout(120)
async def test_a_ghost_intro_is_not_sent_twice_after_a_restart_past_the_nonce_window(
    bot_process: BotProcess,
):
    fake = bot_process.fake
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
    members = (*World.MEMBERS, World.ADMIN)
    for user_id in members:
        assert "You're in" in await command(fake, user_id, "pair join")
    fake.hold_answers(NOT_A_GUILD_CHANNEL, seconds=HOLD)  # the first intro DM
    await fake.invoke(World.GUILD, World.ADMIN, "admin pairing run-now")
    await kill_while_discord_holds_the_answer(bot_process)

    await restart_later(bot_process)
    await until_nothing_unsent(bot_process)
    bot_process.stop()

    for user_id in members:
        intros = [
            m for m in fake.dms_to(user_id) if any(map(INTRO_BUTTON.fullmatch, m.custom_ids()))
        ]
        assert len(intros) == 1, f"member {user_id} got {len(intros)} intros"
        assert created(fake, fake.dm_channel_ids[user_id]) == 1
    assert len(fake.channel_messages(World.PAIRING)) == 1  # one announcement
    assert database_problems(bot_process.database) == []
    assert "Traceback" not in bot_process.logs()


@pytest.mark.timeout(120)
async def test_a_ghost_daily_prompt_is_posted_once_after_a_restart_past_the_nonce_window(
    bot_process: BotProcess,
):
    fake = bot_process.fake
    # The bot's clock runs 15 s before a minute boundary, so the daily slot comes soon
    # (behind the real clock, as a read-back tolerates: Discord's ids are real time).
    now = datetime.now(UTC)
    slot = now.replace(second=0, microsecond=0)
    offset = (slot - timedelta(seconds=15) - now).total_seconds()
    bot_process.extra_env["KINDRED_FAKE_CLOCK_OFFSET"] = str(offset)
    await bot_process.start()
    fake.hold_answers(rf"POST /channels/{World.PROMPTS}/messages", seconds=HOLD)
    reply = await command(
        fake,
        World.ADMIN,
        "admin prompts schedule",
        channel=World.PROMPTS,
        time=slot.strftime("%H:%M"),
        weekends=True,
    )
    assert "Daily prompts are on" in reply, reply
    await kill_while_discord_holds_the_answer(bot_process)

    await restart_later(bot_process, offset)
    await until_nothing_unsent(bot_process)
    bot_process.stop()

    posts = [m for m in fake.channel_messages(World.PROMPTS) if m.embeds]
    assert len(posts) == 1
    assert created(fake, World.PROMPTS) == 1
    [row] = read_rows(bot_process.database, "SELECT * FROM prompt_posts")
    assert (row["status"], row["message_id"]) == ("sent", posts[0].id)
    assert row["thread_id"] == posts[0].id  # its thread followed, once
    assert [t.id for t in fake.threads] == [posts[0].id]
    assert "Traceback" not in bot_process.logs()


@pytest.mark.timeout(120)
async def test_a_ghost_help_ledger_dm_is_sent_once_after_a_restart_past_the_nonce_window(
    bot_process: BotProcess,
):
    fake = bot_process.fake
    helper, asker = World.MEMBERS[0], World.MEMBERS[1]
    await bot_process.start()
    # The ledger's commands need the guild's row, made when the bot is ready.
    await fake.wait_for(lambda f: "Kindred is ready" in bot_process.logs(), timeout=20)
    assert "Thank you" in await command(fake, helper, "offer", topic="pbl")
    fake.hold_answers(NOT_A_GUILD_CHANNEL, seconds=HOLD)  # the routing DM to the helper
    await fake.invoke(World.GUILD, asker, "ask", topic="pbl", details="How do I start PBL?")
    await kill_while_discord_holds_the_answer(bot_process)

    await restart_later(bot_process)
    await until_nothing_unsent(bot_process)
    bot_process.stop()

    dms = fake.dms_to(helper)
    assert len(dms) == 1 and "asked for help on" in dms[0].content
    assert created(fake, fake.dm_channel_ids[helper]) == 1
    assert "Traceback" not in bot_process.logs()


@pytest.mark.timeout(120)
async def test_a_ghost_helper_thread_opens_once_after_a_restart_past_the_nonce_window(
    bot_process: BotProcess,
):
    fake = bot_process.fake
    helper, asker = World.MEMBERS[0], World.MEMBERS[1]
    await bot_process.start()
    await fake.wait_for(lambda f: "Kindred is ready" in bot_process.logs(), timeout=20)
    assert "New asks" in await command(
        fake, World.ADMIN, "admin helpdesk channel", channel=World.HELP
    )
    await command(fake, asker, "ask", topic="pbl", details="How do I start PBL?")
    post = await fake.wait_for_message(lambda m: m.channel_id == World.HELP)
    # The thread is made; its first message is created at Discord, and the answer held.
    fake.hold_answers(NOT_A_GUILD_CHANNEL, seconds=HOLD)
    button = next(c for c in post.custom_ids() if c.startswith("kindred:hd:help:"))
    await fake.click(post, button, helper)
    await kill_while_discord_holds_the_answer(bot_process)

    await restart_later(bot_process)
    await until_nothing_unsent(bot_process)
    again = await (await fake.click(post, button, helper)).response(timeout=10)
    bot_process.stop()

    [thread] = [t for t in fake.threads if t.parent_id == World.HELP]
    assert thread.thread_member_ids >= {asker, helper}
    assert created(fake, thread.id) == 1
    assert f"<#{thread.id}>" in again.content  # recorded as the helper's thread
    assert "Traceback" not in bot_process.logs()
