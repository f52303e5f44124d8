"""Permissions and isolation: members change only what is theirs, a guild's ids mean nothing in
another guild, and the bot token never reaches a log line.

Already covered elsewhere (not repeated here): every /admin subcommand refused without Manage
Server (tests/e2e/test_admin_privacy_gate.py), resolving someone else's ask
(tests/e2e/test_helpdesk_e2e.py), confirming someone else's /privacy forget and withdrawing with
an id from another guild (tests/e2e/test_privacy_commands.py), and a stranger's click on a
check-in being refused (tests/e2e/test_pairing_rounds.py; here: that the owner's answer stays).
"""

from __future__ import annotations

import re
import sys

from tests.fakediscord.fixtures import World
from tests.reliability.conftest import Other, add_other_guild

ASKER, HELPER, STRANGER = World.MEMBERS[:3]
CHECKIN_BUTTON = re.compile(r"kindred:checkin:(\d+):(met|not_yet|skipped)")
CANARY = "MTIz.SECRET-TOKEN-CANARY.xyz"


async def statuses(kindred) -> dict[str, str]:
    db = kindred.services.db
    asks = await db.fetchall("SELECT request_no, status FROM helpdesk_asks")
    offers = await db.fetchall("SELECT request_no, status FROM helpdesk_offers")
    return {f"A{r[0]}": r[1] for r in asks} | {f"O{r[0]}": r[1] for r in offers}


async def test_members_cannot_withdraw_someone_elses_ask_or_offer(kindred):
    await kindred.reply(World.ADMIN, "admin helpdesk channel", channel=World.HELP)
    asked = await kindred.reply(ASKER, "ask", topic="pbl", details="Where do I start?")
    offered = await kindred.reply(HELPER, "offer", topic="pbl", details="Ran it for years")
    ask_id, offer_id = asked.content.split("`")[1], offered.content.split("`")[1]
    before = await statuses(kindred)
    assert before == {ask_id: "open", offer_id: "open"}

    for request_id in (ask_id, offer_id, ask_id.lower(), f" {offer_id.lower()} "):
        refused = await kindred.reply(STRANGER, "withdraw", request_id=request_id)
        assert refused.ephemeral and "Only the member who posted" in refused.content
    refused = await kindred.reply(HELPER, "resolve", request_id=ask_id, helper=HELPER, note="me!")
    assert refused.ephemeral and "Only the member who posted" in refused.content
    assert await statuses(kindred) == before
    assert all("me!" not in m.text for m in kindred.fake.dms_to(HELPER))

    # The owners themselves can, so the refusals above were about who asked, not the ids.
    assert (await kindred.reply(HELPER, "withdraw", request_id=offer_id)).ephemeral
    assert (await statuses(kindred))[offer_id] != "open"


async def checkin_answers(kindred) -> dict[int, str | None]:
    rows = await kindred.services.db.fetchall("SELECT user_id, answer FROM pairing_assignments")
    return {r["user_id"]: r["answer"] for r in rows}


async def test_members_cannot_answer_someone_elses_check_in(fake_discord, kindred_factory):
    """Buttons carry only the round and the answer; who answers is whoever clicked. So a click
    on A's check-in by anyone outside A's round is refused, and by anyone at all leaves A's
    answer as A gave it."""
    add_other_guild(fake_discord)
    kindred = await kindred_factory()
    round_members, outsider = World.MEMBERS[:4], World.MEMBERS[4]
    owner = round_members[0]
    await kindred.reply(
        World.ADMIN,
        "admin pairing schedule",
        channel=World.PAIRING,
        cadence="weekly",
        weekday=2,
        time="09:00",
    )
    for user_id in round_members:
        await kindred.reply(user_id, "pair join")
    await kindred.reply(World.ADMIN, "admin pairing run-now")
    await kindred.settle()
    [intro] = kindred.fake.dms_to(owner)
    matches = [CHECKIN_BUTTON.fullmatch(c) for c in intro.custom_ids()]
    buttons = {m[2]: m[0] for m in matches if m is not None}
    done = await (await kindred.click(intro, buttons["met"], owner)).response()
    assert "Recorded: you met" in done.content
    before = await checkin_answers(kindred)
    assert before[owner] == "met" and set(before) == set(round_members)

    # Not in the round: a member, an admin (Manage Server gives no say here), another guild's.
    for clicker, guild_id in (
        (outsider, None),
        (World.ADMIN, None),
        (World.OWNER, World.GUILD),
        (Other.MEMBER, Other.GUILD),
    ):
        handle = await kindred.fake.click(intro, buttons["not_yet"], clicker, guild_id)
        refused = await handle.response()
        assert refused.ephemeral and "someone else's pairing" in refused.content, clicker
    assert await checkin_answers(kindred) == before

    # In the round but in another group: the click can only ever answer for the clicker.
    group_of = dict(
        await kindred.services.db.fetchall("SELECT user_id, group_id FROM pairing_assignments")
    )
    other = next(u for u in round_members if group_of[u] != group_of[owner])
    handle = await kindred.fake.click(intro, buttons["skipped"], other)
    answered = await handle.response()
    assert answered.ephemeral and f"<@{owner}>" not in answered.content
    after = await checkin_answers(kindred)
    assert after[owner] == "met"
    assert {u: a for u, a in after.items() if u != other} == {
        u: a for u, a in before.items() if u != other
    }


async def test_another_guilds_admin_cannot_reach_our_prompts_channels_or_asks(
    fake_discord, kindred_factory
):
    add_other_guild(fake_discord)
    kindred = await kindred_factory()
    added = await kindred.reply(World.ADMIN, "admin prompts add", text="Our own prompt")
    custom_id = added.content.split("`")[1]
    await kindred.reply(World.ADMIN, "admin helpdesk channel", channel=World.HELP)
    await kindred.reply(ASKER, "ask", topic="pbl", details="Ours")
    pool_before = await kindred.services.db.fetchall("SELECT * FROM custom_prompts")

    async def as_other_owner(command: str, **options):
        handle = await kindred.invoke(Other.OWNER, command, guild_id=Other.GUILD, **options)
        reply = await handle.response()
        assert reply.ephemeral, (command, reply.content)
        return reply.content

    assert custom_id in await as_other_owner("admin prompts remove", prompt_id=custom_id)
    for command, channel in (
        ("admin prompts schedule", World.PROMPTS),
        ("admin helpdesk channel", World.HELP),
    ):
        options: dict[str, object] = {"channel": channel}
        if command.endswith("schedule"):
            options["time"] = "08:00"
        assert "not a valid channel" in await as_other_owner(command, **options)
    for command in ("resolve", "withdraw"):
        assert "A1" in await as_other_owner(command, request_id="A1")

    assert await kindred.services.db.fetchall("SELECT * FROM custom_prompts") == pool_before
    assert (await statuses(kindred))["A1"] == "open"
    assert await kindred.services.db.fetchval("SELECT COUNT(*) FROM prompt_settings") == 0
    other_help = await kindred.services.db.fetchval(
        "SELECT channel_id FROM helpdesk_guilds WHERE guild_id = ?", (Other.GUILD,)
    )
    assert not other_help
    # And the reverse: our admin cannot point our features at the other guild's channel.
    handle = await kindred.invoke(
        World.ADMIN, "admin prompts schedule", channel=Other.CHANNEL, time="08:00"
    )
    assert "not a valid channel" in (await handle.response()).content
    assert await kindred.services.db.fetchval("SELECT COUNT(*) FROM prompt_settings") == 0


async def test_the_token_never_reaches_the_logs(bot_process, monkeypatch):
    """At DEBUG, with a member pasting the token into an ask and a prompt, and an unexpected
    error logged with its traceback: the token appears nowhere. (aiosqlite's DEBUG lines, which
    used to carry it as an SQL parameter, are silenced since ff481dc; the scrubbing filter
    itself is unit-tested in tests/unit/test_logs.py.)"""
    monkeypatch.setattr(World, "TOKEN", CANARY)
    harness_module = sys.modules[type(bot_process).__module__]
    environment = harness_module.bot_environment
    monkeypatch.setattr(
        harness_module,
        "bot_environment",
        lambda **settings: {**environment(**settings), "LOG_LEVEL": "DEBUG"},
    )
    fake = bot_process.fake
    await bot_process.start()

    async def run(user_id: int, command: str, **options) -> str:
        handle = await fake.invoke(World.GUILD, user_id, command, **options)
        return (await handle.response(timeout=10)).text

    assert "Kindred" in await run(World.MEMBERS[0], "about")
    await run(World.ADMIN, "admin helpdesk channel", channel=World.HELP)
    await run(ASKER, "ask", topic="tokens", details=f"Is this yours? {CANARY}")
    await run(World.ADMIN, "admin prompts add", text=f"Never share {CANARY}")
    # Force an unexpected error: Discord refuses the command's answer, twice.
    fake.inject_faults(r"POST /interactions/", [403], count=2)
    await fake.invoke(World.GUILD, World.ADMIN, "admin show")
    await fake.wait_for(lambda f: "Error" in bot_process.logs(), timeout=10)
    bot_process.stop()

    logs = bot_process.logs()
    assert "DEBUG" in logs and "ERROR" in logs  # the verbose and the error paths both ran
    assert CANARY not in logs
    assert "SECRET-TOKEN-CANARY" not in logs
