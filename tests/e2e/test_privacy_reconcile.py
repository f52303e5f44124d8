"""Members who leave while Kindred is offline: found by the guild's daily check, not a cache.

Kindred caches no members, so it cannot compare a member list at start-up; instead each guild
has a daily check (at a time of day derived from its id) that asks Discord about the members it
stores data for, and starts the 30-day purge for those who are gone.
"""

from __future__ import annotations

from bot.privacy.departures import PURGE_AFTER_LEAVING
from bot.privacy.reconcile import reconcile_key
from tests.fakediscord.fixtures import World

from .test_privacy_commands import ask

LEAVER, STAYER = World.MEMBERS[0], World.MEMBERS[1]


async def test_a_member_who_left_while_kindred_was_offline_is_purged_after_30_days(kindred):
    fake = kindred.fake
    await ask(kindred, LEAVER)
    await ask(kindred, STAYER, "Me too")
    await kindred.stop()
    del fake.guilds[World.GUILD].members[LEAVER]  # no GUILD_MEMBER_REMOVE reaches Kindred
    await kindred.start()
    departures = kindred.services.departures
    assert await departures.pending_purges(World.GUILD) == {}
    check_at = await kindred.services.scheduler.due_at(reconcile_key(World.GUILD))
    assert check_at is not None and check_at - kindred.clock.now() <= PURGE_AFTER_LEAVING / 30
    await kindred.set_time(check_at)
    assert set(await departures.pending_purges(World.GUILD)) == {LEAVER}
    assert fake.member_list_requests + len(fake.gateway.member_requests) == 1  # one request
    await kindred.advance(PURGE_AFTER_LEAVING)
    assert (await kindred.services.member_data.collect(World.GUILD, LEAVER)).empty
    assert not (await kindred.services.member_data.collect(World.GUILD, STAYER)).empty
