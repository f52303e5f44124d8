"""The pairing pool without a member cache: Kindred asks Discord who is there at round time.

A small guild is read in one REST page; in a large guild a small pool is asked by id over the
gateway (op 8, 100 ids a request). Members who left while Kindred was offline are not paired,
and when Discord cannot answer nobody is paired from a guess.
"""

from __future__ import annotations

from tests.fakediscord.fixtures import World

from .test_pairing_rounds import intros, run_now, setup_pairing

MEMBERS_PATH = r"^GET /guilds/\d+/members$"


async def test_kindred_caches_no_members_but_pairs_those_still_there(kindred):
    fake = kindred.fake
    await setup_pairing(kindred, *World.MEMBERS)
    guild = kindred.bot.get_guild(World.GUILD)
    assert [m.id for m in guild.members] == [World.BOT]  # only itself
    # One member left while Kindred was not listening (no GUILD_MEMBER_REMOVE reached it).
    gone = World.MEMBERS[0]
    del fake.guilds[World.GUILD].members[gone]
    summary = await run_now(kindred)
    assert "4 members in 2 pairs" in summary, summary
    assert intros(fake, gone) == []
    assert all(len(intros(fake, u)) == 1 for u in World.MEMBERS[1:])
    # A 7-member guild is one page of the member list, not a gateway request.
    assert fake.member_list_requests == 1
    assert fake.gateway.member_requests == []


async def test_a_small_pool_in_a_large_guild_is_asked_by_id(fake_discord, kindred_factory):
    for n in range(1500):  # 1,500 more members: two REST pages, against one gateway request
        fake_discord.add_member(World.GUILD, 100_000 + n, f"lurker{n}")
    kindred = await kindred_factory()
    await setup_pairing(kindred, *World.MEMBERS)
    del fake_discord.guilds[World.GUILD].members[World.MEMBERS[0]]
    summary = await run_now(kindred)
    assert "4 members in 2 pairs" in summary, summary
    assert fake_discord.member_list_requests == 0
    (request,) = fake_discord.gateway.member_requests
    assert sorted(int(u) for u in request["user_ids"]) == sorted(World.MEMBERS)
    assert intros(fake_discord, World.MEMBERS[0]) == []


async def test_the_pairing_role_is_checked_with_discord(kindred):
    fake = kindred.fake
    with_role = World.MEMBERS[:2]
    for user_id in with_role:
        fake.guilds[World.GUILD].members[user_id].roles.append(World.PAIRING_ROLE)
    await setup_pairing(kindred, *World.MEMBERS)
    await kindred.reply(
        World.ADMIN,
        "admin pairing schedule",
        channel=World.PAIRING,
        cadence="weekly",
        weekday=2,
        time="09:00",
        role=World.PAIRING_ROLE,
    )
    summary = await run_now(kindred)
    assert "2 members in 1 pairs" in summary, summary
    assert [len(intros(fake, u)) for u in World.MEMBERS] == [1, 1, 0, 0, 0]


async def test_when_discord_cannot_say_who_is_there_nobody_is_paired(kindred):
    fake = kindred.fake
    await setup_pairing(kindred, *World.MEMBERS)
    fake.limits.inject_faults(MEMBERS_PATH, [403])
    summary = await run_now(kindred)
    assert "could not check this server's members" in summary, summary
    assert all(intros(fake, u) == [] for u in World.MEMBERS)
    preview = await kindred.reply(World.ADMIN, "admin pairing preview")
    assert preview.ephemeral and "members" in preview.content  # it answers again afterwards
