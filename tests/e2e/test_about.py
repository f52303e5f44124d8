"""/about through the fake Discord server, in process and as `python -m bot`."""

import asyncio

import discord

from tests.fakediscord.fixtures import World


async def test_about_replies_ephemerally_with_the_features(kindred):
    message = await kindred.reply(World.MEMBERS[0], "about")
    assert message.ephemeral
    embed = message.embeds[0]
    assert embed["title"] == "Kindred"
    assert "In this server" in [f["name"] for f in embed["fields"]]


async def test_commands_are_synced_once_and_not_again_when_unchanged(kindred):
    assert sum(kindred.fake.sync_counts.values()) == 1
    await kindred.restart()
    assert sum(kindred.fake.sync_counts.values()) == 1


async def test_admin_commands_are_refused_to_members_without_manage_server(kindred):
    message = await kindred.reply(World.MEMBERS[0], "admin timezone", name="Europe/Berlin")
    assert message.ephemeral
    assert "Manage Server" in message.content
    assert (await kindred.services.guilds.timezone(World.GUILD)).key == "UTC"


async def test_admin_timezone_sets_it_and_suggests_on_typos(kindred):
    ok = await kindred.reply(World.ADMIN, "admin timezone", name="america/chicago")
    assert "America/Chicago" in ok.content
    typo = await kindred.reply(World.ADMIN, "admin timezone", name="Amerca/Chicago")
    assert typo.ephemeral and "Did you mean `America/Chicago`" in typo.content
    choices = await kindred.fake.autocomplete(
        World.GUILD, World.ADMIN, "admin timezone", focused="name", name="berl"
    )
    assert choices[0]["value"] == "Europe/Berlin"


async def test_an_unexpected_error_shows_a_code_and_logs_it(kindred, caplog, monkeypatch):
    async def broken(guild_id):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(kindred.services.guilds, "timezone", broken)
    message = await kindred.reply(World.MEMBERS[0], "about")
    assert message.ephemeral
    assert message.content.startswith("Something went wrong (error code ")
    code = message.content.split("error code ")[1].split(")")[0]
    assert any(code in r.getMessage() for r in caplog.records)
    assert "database on fire" not in message.content


async def test_the_subprocess_bot_answers_about(bot_process):
    await bot_process.start()
    handle = await bot_process.fake.invoke(World.GUILD, World.MEMBERS[1], "about")
    message = await handle.response(timeout=10)
    assert message.ephemeral and message.embeds[0]["title"] == "Kindred"


async def test_a_rejected_token_ends_in_one_clear_line(bot_process):
    bot_process.fake.rejected_tokens.add(World.TOKEN)
    await bot_process.start(wait=False)
    for _ in range(100):
        if bot_process.process.poll() is not None:
            break
        await asyncio.sleep(0.1)
    assert bot_process.process.returncode not in (None, 0)
    lines = [line for line in bot_process.logs().splitlines() if line.strip()]
    assert lines[-1].startswith("kindred: DISCORD_TOKEN was rejected")
    assert "Traceback" not in bot_process.logs()


def test_intents_are_only_what_features_need():
    from bot.app import kindred_intents

    intents = kindred_intents()
    assert intents.guilds and intents.members
    assert not intents.message_content and not intents.presences
    assert intents.value == (discord.Intents.guilds.flag | discord.Intents.members.flag)


async def test_an_unexpected_error_after_deferring_still_reaches_the_member(kindred, monkeypatch):
    def broken(guild_id, limit):
        raise RuntimeError("disk full")

    monkeypatch.setattr(kindred.services.exporter, "export", broken)
    handle = await kindred.invoke(World.ADMIN, "admin export")
    message = await handle.response()
    assert handle.deferred
    assert message.ephemeral
    assert message.content.startswith("Something went wrong (error code ")


async def test_with_dev_guild_id_commands_are_synced_to_that_guild_only(kindred_factory):
    kindred = await kindred_factory(dev_guild_id=World.GUILD)
    assert kindred.fake.sync_counts == {World.GUILD: 1}
    assert {c["name"] for c in kindred.fake.commands(World.GUILD)} >= {"about", "admin", "pair"}
    message = await kindred.reply(World.MEMBERS[0], "about")
    assert message.embeds[0]["title"] == "Kindred"
