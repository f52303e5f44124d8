"""The fake Discord shards as Discord does: each shard's session sees only its own guilds.

The real `discord.AutoShardedClient` connects two of three shards; guilds are made on every
shard. What it sees (READY/GUILD_CREATE) and which events reach it must follow
`(guild_id >> 22) % shard_count`, with guild-less events on shard 0 only.
"""

from __future__ import annotations

import asyncio

import discord

from tests.fakediscord import FakeDiscord
from tests.fakediscord.fixtures import World, running
from tests.fakediscord.gateway import event_guild_id, shard_of
from tests.fakediscord.payloads import snowflake_on_shard

SHARDS = 3


def test_guild_ids_land_on_the_shard_asked_for() -> None:
    ids = [snowflake_on_shard(shard, SHARDS) for shard in range(SHARDS) for _ in range(20)]
    assert len(set(ids)) == len(ids)
    assert [shard_of(g, SHARDS) for g in ids] == [s for s in range(SHARDS) for _ in range(20)]


def test_the_guild_of_an_event() -> None:
    assert event_guild_id("GUILD_CREATE", {"id": "42"}) == 42
    assert event_guild_id("MESSAGE_CREATE", {"guild_id": "7", "id": "1"}) == 7
    assert event_guild_id("INTERACTION_CREATE", {"id": "5"}) is None


async def test_an_auto_sharded_client_gets_only_its_shards_guilds_and_events(
    fake_discord: FakeDiscord,
) -> None:
    guilds = {shard: snowflake_on_shard(shard, SHARDS) for shard in range(SHARDS)}
    for shard, guild_id in guilds.items():
        fake_discord.add_guild(guild_id, f"Guild on shard {shard}", World.OWNER)
    joined: list[int] = []
    intents = discord.Intents.none()
    intents.guilds = intents.members = True
    client = discord.AutoShardedClient(
        intents=intents, shard_ids=[1, 2], shard_count=SHARDS, guild_ready_timeout=0.1
    )

    @client.event
    async def on_member_join(member: discord.Member) -> None:
        joined.append(member.guild.id)

    async with running(client, timeout=30):
        assert {g.id for g in client.guilds} == {guilds[1], guilds[2]}
        identified = [f["d"]["shard"] for f in fake_discord.gateway.received if f["op"] == 2]
        assert sorted(identified) == [[1, SHARDS], [2, SHARDS]]
        for shard, guild_id in guilds.items():
            await fake_discord.member_join(guild_id, 7000 + shard, f"new on {shard}")
        for _ in range(50):
            if len(joined) == 2:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # time for a wrongly routed shard-0 event to arrive
        assert sorted(joined) == sorted([guilds[1], guilds[2]])


async def test_guild_less_events_go_to_shard_zero_only(fake_discord: FakeDiscord) -> None:
    frames: dict[int, list[str]] = {}
    intents = discord.Intents.none()
    intents.guilds = True
    client = discord.AutoShardedClient(
        intents=intents, shard_ids=[0, 1], shard_count=2, guild_ready_timeout=0.1
    )
    async with running(client, timeout=30):
        await fake_discord.dispatch("TYPING_START", {"channel_id": "1", "user_id": "2"})
        await fake_discord.dispatch(
            "TYPING_START", {"channel_id": "1", "user_id": "2", "guild_id": str(World.GUILD)}
        )
        for session in fake_discord.gateway.sessions.values():
            assert session.shard is not None
            frames[session.shard[0]] = [
                str(f["d"].get("guild_id")) for f in session.backlog if f["t"] == "TYPING_START"
            ]
    # World.GUILD (1000) is on shard 0 of any count, like the DM event.
    assert frames == {0: ["None", str(World.GUILD)], 1: []}
