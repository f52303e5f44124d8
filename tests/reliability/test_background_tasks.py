"""Background work never dies quietly: a failing job or listener is logged with its context and
the bot carries on (the next job runs, commands are still answered)."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.scheduler import Job
from tests.fakediscord.fixtures import World
from tests.reliability.conftest import Other, add_other_guild


def error_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_failing_job_in_the_running_bot_is_logged_and_the_next_job_runs(kindred, caplog):
    services = kindred.services
    ran: list[str] = []

    async def broken(job: Job) -> None:
        raise RuntimeError("handler exploded")

    async def fine(job: Job) -> None:
        ran.append(job.key)

    services.scheduler.register("test.broken", broken)
    services.scheduler.register("test.fine", fine)
    now = kindred.clock.now()
    await services.scheduler.schedule(
        "test:broken", "test.broken", now + timedelta(minutes=1), guild_id=World.GUILD
    )
    await services.scheduler.schedule("test:fine", "test.fine", now + timedelta(minutes=2))
    await kindred.advance(timedelta(minutes=3))

    assert ran == ["test:fine"]
    failures = [r for r in error_records(caplog) if "test:broken" in r.getMessage()]
    assert failures and failures[0].exc_info is not None
    assert str(World.GUILD) in failures[0].getMessage()  # the guild is part of the context
    # The broken job is kept and retried later, not dropped.
    assert await services.scheduler.due_at("test:broken") is not None
    assert (await kindred.reply(World.MEMBERS[0], "about")).embeds


async def test_every_registered_job_kind_survives_a_job_for_a_missing_guild(kindred, caplog):
    """A job whose guild vanished (or whose payload is stale) must not stop the scheduler."""
    services = kindred.services
    kinds = sorted(services.scheduler._handlers)
    assert kinds  # the guild purge at least
    ran: list[str] = []

    async def sentinel(job: Job) -> None:
        ran.append(job.key)

    services.scheduler.register("test.sentinel", sentinel)
    now = kindred.clock.now()
    await services.db.execute(
        "INSERT INTO guilds (guild_id, joined_at) VALUES (?, '2026-01-01 00:00:00')", (424242,)
    )
    for kind in kinds:
        await services.scheduler.schedule(
            f"{kind}:424242", kind, now + timedelta(seconds=1), guild_id=424242, payload={}
        )
    await services.scheduler.schedule("test:sentinel", "test.sentinel", now + timedelta(minutes=1))
    await kindred.advance(timedelta(minutes=2))

    assert ran == ["test:sentinel"]
    for record in error_records(caplog):
        # Whatever failed says which job it was.
        assert "424242" in record.getMessage(), record.getMessage()


def joined_payload(fake, guild_id: int) -> dict:
    """GUILD_CREATE as Discord sends it when the bot is added: without `unavailable` (the
    fake's payload has `unavailable: false`, which discord.py reads as an outage ending)."""
    payload = fake.gateway.guild_payload(guild_id)
    payload.pop("unavailable")
    return payload


async def test_a_failing_listener_is_logged_with_its_event_and_the_bot_keeps_answering(
    fake_discord, kindred_factory, caplog, monkeypatch
):
    kindred = await kindred_factory()
    guilds = kindred.services.guilds
    original = guilds.joined

    async def broken(guild_id: int) -> None:
        raise RuntimeError("listener exploded")

    monkeypatch.setattr(guilds, "joined", broken)
    add_other_guild(fake_discord)
    await fake_discord.dispatch("GUILD_CREATE", joined_payload(fake_discord, Other.GUILD))
    await fake_discord.wait_for(lambda f: error_records(caplog), timeout=5)

    record = error_records(caplog)[0]
    assert "on_guild_join" in record.getMessage()
    assert record.exc_info is not None and "listener exploded" in str(record.exc_info[1])
    # The bot still answers commands and still handles the next event.
    assert (await kindred.reply(World.MEMBERS[0], "about")).embeds
    monkeypatch.setattr(guilds, "joined", original)
    fake_discord.add_guild(Other.GUILD + 1, "Third", owner_id=Other.OWNER)
    await fake_discord.dispatch("GUILD_CREATE", joined_payload(fake_discord, Other.GUILD + 1))
    await fake_discord.wait_for(lambda f: kindred.bot.get_guild(Other.GUILD + 1), timeout=5)
    await kindred.settle()
    row = await kindred.services.db.fetchone(
        "SELECT left_at FROM guilds WHERE guild_id = ?", (Other.GUILD + 1,)
    )
    assert row is not None and row["left_at"] is None
