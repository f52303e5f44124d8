from datetime import timedelta

import pytest

from bot.errors import UserError
from tests.support.db import run_due


async def guild_ids(services):
    return {r[0] for r in await services.db.fetchall("SELECT guild_id FROM guilds")}


async def test_leaving_keeps_data_for_30_days_then_purges_it(services):
    await services.guilds.joined(1)
    await services.scheduler.schedule("prompt:1", "nothing", services.clock.now(), guild_id=1)
    await services.guilds.left(1)
    services.clock.advance(timedelta(days=29, hours=23))
    await run_due(services)
    assert await guild_ids(services) == {1}
    services.clock.advance(timedelta(hours=1))
    await run_due(services)
    assert await guild_ids(services) == set()
    # The guild's jobs went with it (cascade).
    assert await services.db.fetchval("SELECT COUNT(*) FROM jobs WHERE guild_id = 1") == 0


async def test_rejoining_within_30_days_keeps_everything(services):
    await services.guilds.joined(1)
    await services.guilds.set_timezone(1, "Europe/Berlin")
    await services.guilds.left(1)
    services.clock.advance(timedelta(days=10))
    await services.guilds.joined(1)
    services.clock.advance(timedelta(days=30))
    await run_due(services)
    assert await guild_ids(services) == {1}
    assert (await services.guilds.timezone(1)).key == "Europe/Berlin"


async def test_a_guild_purged_and_invited_again_starts_over_in_utc(services):
    # The timezone is cached in memory; the purge must not leave the old one behind.
    await services.guilds.set_timezone(1, "Asia/Tokyo")
    assert (await services.guilds.timezone(1)).key == "Asia/Tokyo"
    await services.guilds.left(1)
    services.clock.advance(timedelta(days=31))
    await run_due(services)
    assert await guild_ids(services) == set()
    await services.guilds.joined(1)
    assert (await services.guilds.timezone(1)).key == "UTC"
    await services.guilds.set_timezone(1, "Europe/Lisbon")
    assert (await services.guilds.timezone(1)).key == "Europe/Lisbon"


async def test_reconcile_marks_guilds_left_while_offline(services):
    await services.guilds.reconcile([1, 2, 3])
    await services.guilds.reconcile([1, 3])
    left = await services.db.fetchval("SELECT left_at FROM guilds WHERE guild_id = 2")
    assert left is not None
    assert await services.scheduler.due_at("guild.purge:2") is not None


async def test_timezone_is_validated_with_a_suggestion(services):
    await services.guilds.joined(1)
    zone = await services.guilds.set_timezone(1, "america/chicago")
    assert zone.key == "America/Chicago"
    with pytest.raises(UserError, match="America/Chicago"):
        await services.guilds.set_timezone(1, "America/Chicgo")
