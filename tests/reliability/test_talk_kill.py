""" "Talk 1:1 about this" survives kill -9 between pairing and sending: the talk round and its
intros are written in one transaction, so a bot killed after pairing (while Discord holds the
answer of the first intro DM's channel, or of the first intro itself) and restarted 12 minutes
later, past Discord's nonce memory, introduces each member exactly once.

The bot runs as `python -m bot` against the fake Discord; its clock is moved past `talk_hours`
(through `KINDRED_FAKE_CLOCK_OFFSET`) between two runs, so the talk job is due when it starts.
The fake counts every message-create request before any dedupe.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import BotProcess
from tests.fakediscord.fixtures import World
from tests.reliability.test_crash_restart import command
from tests.reliability.test_ghost_sends import (
    HOLD,
    NOT_A_GUILD_CHANNEL,
    created,
    kill_while_discord_holds_the_answer,
    restart_later,
    until_nothing_unsent,
)
from tests.support.db import database_problems, read_rows

ANN, BEN, CAL = World.MEMBERS[:3]
HOUR = 3600.0


@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    "held",
    [r"POST /users/@me/channels", NOT_A_GUILD_CHANNEL],
    ids=["before-any-intro", "ghost-intro"],
)
async def test_a_talk_killed_between_pairing_and_sending_introduces_each_member_once(
    bot_process: BotProcess, held: str
):
    fake = bot_process.fake
    # The bot's clock runs 65 minutes behind, 15 s before a minute boundary, so the post comes
    # soon and the talk an hour later is still behind the real clock (Discord's ids are real
    # time, and a read-back looks for messages after the claim's moment).
    now = datetime.now(UTC)
    slot = (now - timedelta(minutes=65)).replace(second=0, microsecond=0)
    offset = (slot - timedelta(seconds=15) - now).total_seconds()
    bot_process.extra_env["KINDRED_FAKE_CLOCK_OFFSET"] = str(offset)
    await bot_process.start()
    reply = await command(
        fake,
        World.ADMIN,
        "admin prompts schedule",
        channel=World.PROMPTS,
        time=slot.strftime("%H:%M"),
        weekends=True,
        talk_hours=1,
    )
    assert "Daily prompts are on" in reply, reply
    [post] = await fake.wait_for(
        lambda f: [m for m in f.channel_messages(World.PROMPTS) if m.embeds] or None, timeout=40
    )
    talk = next(c for c in post.custom_ids() if c.startswith("kindred:talk:"))
    for user_id in (ANN, BEN, CAL, CAL):  # Cal presses twice: off the list again
        answer = await (await fake.click(post, talk, user_id)).response(timeout=15)
        assert "talk list" in answer.text
    bot_process.stop()

    # An hour later the talk job is due at start; Discord holds its first answer; kill -9.
    offset += HOUR + 60
    bot_process.extra_env["KINDRED_FAKE_CLOCK_OFFSET"] = str(offset)
    fake.hold_answers(held, seconds=HOLD)
    await bot_process.start()
    await kill_while_discord_holds_the_answer(bot_process)
    [paired] = read_rows(
        bot_process.database,
        "SELECT COUNT(*) AS n FROM pairing_rounds WHERE slot_key LIKE 'talk:%'",
    )
    assert paired["n"] == 1  # killed after pairing

    await restart_later(bot_process, offset)
    await until_nothing_unsent(bot_process)
    bot_process.stop()

    prompt = post.embeds[0]["description"]
    for user_id, partner in ((ANN, BEN), (BEN, ANN)):
        dms = fake.dms_to(user_id)
        assert len(dms) == 1, [m.content[:300] for m in dms]
        [intro] = dms
        assert f"<@{partner}>" in intro.content and f"> {prompt}" in intro.content
        assert created(fake, fake.dm_channel_ids[user_id]) == 1
    assert fake.dms_to(CAL) == []
    assert database_problems(bot_process.database) == []
    assert "Traceback" not in bot_process.logs()
