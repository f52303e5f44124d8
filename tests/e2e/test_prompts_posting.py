"""Daily prompt posting through the fake Discord: once, with its thread, across restarts."""

import asyncio
from datetime import UTC, datetime, timedelta

from tests.fakediscord.fixtures import World

ONE_PM = datetime(2026, 3, 2, 13, tzinfo=UTC)  # Monday; the harness starts at 12:00


def prompt_posts(kindred, channel_id=World.PROMPTS):
    return [m for m in kindred.fake.channel_messages(channel_id) if m.nonce]


async def schedule(kindred, **options):
    options = {"channel": World.PROMPTS, "time": "13:00", **options}
    reply = await kindred.reply(World.ADMIN, "admin prompts schedule", **options)
    assert reply.ephemeral and "Daily prompts are on" in reply.content, reply.content
    # Let the scheduler finish the pass this woke, before a test moves the clock under it.
    await kindred.settle()
    return reply


async def posted(kindred, count=1):
    """The prompt posts, once there are `count` of them."""

    def enough(_fake):
        found = prompt_posts(kindred)
        return found if len(found) >= count else None

    return await kindred.fake.wait_for(enough)


async def problems(kindred):
    """The failures the feature reports, once there is one (jobs run in the background)."""
    for _ in range(100):
        status = await kindred.services.prompts.status(World.GUILD, None)
        if status.problems:
            return status.problems
        await asyncio.sleep(0.05)
    raise AssertionError("no problem was reported")


async def test_a_scheduled_post_appears_once_with_its_thread_and_a_restart_does_not_repeat_it(
    kindred,
):
    await schedule(kindred)
    await kindred.set_time(ONE_PM)
    await posted(kindred)
    [post] = prompt_posts(kindred)
    assert post.embeds[0]["title"] == "Today's growth prompt"
    assert post.embeds[0]["fields"][0]["name"] == "Theme"
    [thread] = [t for t in kindred.fake.threads if t.id == post.id]
    assert thread.name.startswith("02 Mar: ")

    await kindred.restart()
    await kindred.advance(timedelta(hours=2))
    assert len(prompt_posts(kindred)) == 1
    assert len(kindred.fake.threads) == 1


async def test_a_start_two_hours_after_a_missed_time_posts_once(kindred):
    await schedule(kindred)
    await kindred.stop()
    kindred.clock.set(ONE_PM + timedelta(hours=2))
    await kindred.start()
    await posted(kindred)
    await kindred.restart()
    await kindred.advance(timedelta(minutes=30))
    assert len(prompt_posts(kindred)) == 1


async def test_a_start_eight_hours_late_skips_the_day_and_says_so(kindred):
    await schedule(kindred)
    await kindred.stop()
    kindred.clock.set(ONE_PM + timedelta(hours=8))
    await kindred.start()
    await kindred.advance(timedelta(minutes=1))
    assert prompt_posts(kindred) == []
    assert (await problems(kindred))[0].startswith("prompt not posted on 2026-03-02: skipped")
    # ...and the next day comes as usual.
    await kindred.set_time(ONE_PM + timedelta(days=1))
    await posted(kindred)


async def test_everyone_inside_a_prompt_pings_nobody_but_the_configured_role(kindred):
    service = kindred.services.prompts
    for prompt in (await service.pool.pool(World.GUILD)).values():
        await service.pool.remove(World.GUILD, prompt.prompt_id)
    added = await kindred.reply(
        World.ADMIN, "admin prompts add", text="@everyone @here <@2002> what went well?"
    )
    assert added.pings_everyone is False and added.pinged_user_ids == set()
    await schedule(kindred, role=World.PAIRING_ROLE)
    await kindred.set_time(ONE_PM)
    [post] = await posted(kindred)
    assert "@everyone" in post.text
    assert not post.pings_everyone
    assert post.pinged_user_ids == set()
    assert post.pinged_role_ids == {World.PAIRING_ROLE}


async def test_a_deleted_channel_is_reported_and_the_next_day_tries_again(kindred):
    await schedule(kindred)
    kindred.fake.delete_channel(World.PROMPTS)
    await kindred.set_time(ONE_PM)
    assert await problems(kindred) == [
        f"prompt not posted on 2026-03-02: the channel <#{World.PROMPTS}> no longer exists; "
        "choose one with /admin prompts schedule"
    ]
    # The admin moves prompts to another channel; the next day is posted there.
    await schedule(kindred, channel=World.GENERAL)
    await kindred.set_time(ONE_PM + timedelta(days=1))
    [post] = await kindred.fake.wait_for(lambda f: prompt_posts(kindred, World.GENERAL) or None)
    assert post.embeds[0]["title"] == "Today's growth prompt"


async def test_missing_permission_is_reported_and_the_prompt_stays_unused(kindred):
    await schedule(kindred)
    kindred.fake.deny_send(World.PROMPTS)
    await kindred.set_time(ONE_PM)
    assert (await problems(kindred))[0].startswith(
        f"prompt not posted on 2026-03-02: missing permission in <#{World.PROMPTS}>"
    )
    page = await kindred.services.prompts.pool.page(World.GUILD, 1)
    assert page.used_in_cycle == 0
