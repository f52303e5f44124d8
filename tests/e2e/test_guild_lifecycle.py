"""The bot being removed from a guild and added back, through gateway events."""

import asyncio
from datetime import timedelta

from tests.fakediscord.fixtures import World


async def left_at(kindred):
    return await kindred.services.db.fetchval(
        "SELECT left_at FROM guilds WHERE guild_id = ?", (World.GUILD,)
    )


async def wait_until(predicate):
    for _ in range(100):
        if await predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met")


async def readd(kindred):
    payload = kindred.fake.gateway.guild_payload(World.GUILD)
    payload.pop("unavailable")  # as Discord sends it when the bot is added
    await kindred.fake.dispatch("GUILD_CREATE", payload)


async def test_removal_keeps_data_30_days_and_readding_keeps_everything(kindred):
    await kindred.reply(World.ADMIN, "admin timezone", name="Europe/Berlin")
    await kindred.fake.dispatch("GUILD_DELETE", {"id": str(World.GUILD)})

    async def has_left():
        return await left_at(kindred) is not None

    await wait_until(has_left)
    await kindred.advance(timedelta(days=20))
    await readd(kindred)

    async def is_back():
        return await left_at(kindred) is None

    await wait_until(is_back)
    await kindred.advance(timedelta(days=20))  # past the original purge date
    assert (await kindred.services.guilds.timezone(World.GUILD)).key == "Europe/Berlin"


async def test_a_guild_left_for_30_days_is_purged(kindred):
    await kindred.reply(World.ADMIN, "admin timezone", name="Europe/Berlin")
    await kindred.fake.dispatch("GUILD_DELETE", {"id": str(World.GUILD)})

    async def has_left():
        return await left_at(kindred) is not None

    await wait_until(has_left)
    await kindred.advance(timedelta(days=30, minutes=1))
    count = await kindred.services.db.fetchval(
        "SELECT COUNT(*) FROM guilds WHERE guild_id = ?", (World.GUILD,)
    )
    assert count == 0
