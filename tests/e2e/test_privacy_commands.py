"""/privacy show and /privacy forget, leaving members and guild isolation, end to end."""

import asyncio
import json
import sys
from datetime import timedelta

from tests.fakediscord.fixtures import World

MEMBER = World.MEMBERS[0]
OTHER_GUILD, OTHER_CHANNEL = 5000, 5001


async def ask(kindred, user_id, details="Where do I start?", guild_id=World.GUILD):
    return await (
        await kindred.invoke(user_id, "ask", guild_id=guild_id, topic="PBL", details=details)
    ).response()


async def test_privacy_show_lists_the_members_data_and_attaches_it(kindred):
    await kindred.reply(World.ADMIN, "admin helpdesk channel", channel=World.HELP)
    await ask(kindred, MEMBER)
    await kindred.reply(MEMBER, "offer", topic="Math")
    await ask(kindred, World.MEMBERS[1], "Someone else's ask")
    message = await kindred.reply(MEMBER, "privacy show")
    assert message.ephemeral
    assert "1 × asks for help" in message.content and "1 × offers of help" in message.content
    [attachment] = message.attachments
    document = json.loads(attachment.data)
    assert document["user_id"] == MEMBER and document["guild_id"] == World.GUILD
    assert [a["details"] for a in document["tables"]["helpdesk_asks"]] == ["Where do I start?"]
    assert "Someone else's ask" not in attachment.data.decode()


async def test_privacy_forget_after_confirm_leaves_nothing(kindred):
    await kindred.reply(World.ADMIN, "admin helpdesk channel", channel=World.HELP)
    await ask(kindred, MEMBER)
    assert "You're in" in (await kindred.reply(MEMBER, "pair join")).content
    prompt = await kindred.reply(MEMBER, "privacy forget")
    assert prompt.ephemeral and "cannot be undone" in prompt.content
    confirm, _cancel = prompt.custom_ids()

    stranger = await (await kindred.click(prompt, confirm, World.MEMBERS[1])).response()
    assert "someone else's" in stranger.content
    assert not (await kindred.services.member_data.collect(World.GUILD, MEMBER)).empty

    done = await (await kindred.click(prompt, confirm, MEMBER)).response()
    assert done.content.startswith("Done.")
    assert all(c.get("disabled") for row in done.components for c in row["components"])
    again = await kindred.reply(MEMBER, "privacy show")
    assert again.content == "Kindred stores nothing about you in this server."
    assert not again.attachments
    status = await kindred.reply(MEMBER, "pair status")
    assert "not opted in" in status.content


async def test_the_confirmation_expires_and_then_deletes_nothing(kindred, monkeypatch):
    # discord.py times views on the event loop's real clock: shorten the wait, not the clock.
    monkeypatch.setattr(sys.modules["cogs.privacy"], "CONFIRM_SECONDS", 0.2)
    await ask(kindred, MEMBER)
    handle = await kindred.invoke(MEMBER, "privacy forget")
    await handle.response()
    expired = await handle.wait_for(
        lambda h: next((m for m in h.messages if "expired" in m.content), None), what="expiry"
    )
    assert all(c.get("disabled") for row in expired.components for c in row["components"])
    assert not (await kindred.services.member_data.collect(World.GUILD, MEMBER)).empty


async def test_a_member_who_leaves_is_purged_after_30_days_unless_they_return(kindred):
    await ask(kindred, MEMBER)
    await ask(kindred, World.MEMBERS[1], "Back soon")
    await kindred.fake.member_leave(World.GUILD, MEMBER)
    await kindred.fake.member_leave(World.GUILD, World.MEMBERS[1])

    async def pending(count: int) -> None:
        while len(await kindred.services.departures.pending_purges(World.GUILD)) != count:  # noqa: ASYNC110
            await asyncio.sleep(0.01)  # the listener runs in the bot's task; poll the database

    await asyncio.wait_for(pending(2), 5)
    rows = await kindred.services.db.fetchall("SELECT status FROM helpdesk_asks")
    assert {r[0] for r in rows} == {"withdrawn"}  # open asks closed at once
    await kindred.fake.member_join(World.GUILD, World.MEMBERS[1], "member2")
    await asyncio.wait_for(pending(1), 5)  # the return, too, is handled in the bot's task
    await kindred.settle()
    await kindred.advance(timedelta(days=30, minutes=1))
    assert (await kindred.services.member_data.collect(World.GUILD, MEMBER)).empty
    assert not (await kindred.services.member_data.collect(World.GUILD, World.MEMBERS[1])).empty


async def test_a_request_id_from_another_guild_is_refused(fake_discord, kindred_factory):
    fake_discord.add_guild(OTHER_GUILD, "Coaches", owner_id=World.OWNER)
    fake_discord.add_channel(OTHER_GUILD, OTHER_CHANNEL, "general")
    fake_discord.add_member(OTHER_GUILD, MEMBER, "member1")
    kindred = await kindred_factory()
    await kindred.reply(World.ADMIN, "admin helpdesk channel", channel=World.HELP)
    created = await ask(kindred, MEMBER)
    assert "A1" in created.text
    handle = await kindred.invoke(MEMBER, "withdraw", guild_id=OTHER_GUILD, request_id="A1")
    refused = await handle.response()
    assert refused.ephemeral and "A1" in refused.content
    status = await kindred.services.db.fetchval("SELECT status FROM helpdesk_asks")
    assert status == "open"
    # The member's data in the other guild is separate too.
    shown = await (await kindred.invoke(MEMBER, "privacy show", guild_id=OTHER_GUILD)).response()
    assert shown.content == "Kindred stores nothing about you in this server."
