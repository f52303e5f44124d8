"""The daily post's two doors through the fake Discord: "Reflect privately" and /journal (saved,
listed, shared once to the thread, deleted; nobody else sees or deletes it), "Talk 1:1 about
this" (the talk list paired at talk_hours), and school breaks over a working week."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.fakediscord.fixtures import World

pytestmark = pytest.mark.backends("sqlite", "postgres")

ONE_PM = datetime(2026, 3, 2, 13, tzinfo=UTC)  # Monday; the harness starts at 12:00
ANN, BEN, CAL = World.MEMBERS[:3]


def prompt_posts(kindred):
    return [m for m in kindred.fake.channel_messages(World.PROMPTS) if m.nonce]


async def post_today(kindred, **options):
    reply = await kindred.reply(
        World.ADMIN, "admin prompts schedule", channel=World.PROMPTS, time="13:00", **options
    )
    assert "Daily prompts are on" in reply.content, reply.content
    await kindred.settle()
    await kindred.set_time(ONE_PM)
    [post] = await kindred.fake.wait_for(lambda _f: prompt_posts(kindred) or None)
    return post


def button(message, prefix: str) -> str:
    return next(c for c in message.custom_ids() if c.startswith(prefix))


async def reflect(kindred, post, user_id: int, text: str):
    opened = await kindred.click(post, button(post, "kindred:reflect:"), user_id)
    modal = await opened.wait_modal()
    submitted = await kindred.fake.submit_modal(
        modal, user_id, {"reflection": text}, guild_id=World.GUILD
    )
    return await submitted.response()


async def test_a_reflection_is_saved_listed_shared_once_and_deleted_by_its_author_only(kindred):
    post = await post_today(kindred)
    [thread] = [t for t in kindred.fake.threads if t.id == post.id]
    saved = await reflect(kindred, post, ANN, "Exit tickets told me more than the quiz @everyone")
    assert saved.ephemeral and "Saved to your journal" in saved.content
    again = await reflect(kindred, post, ANN, "Exit tickets told me more than the quiz.")
    assert "updated" in again.content

    listing = await kindred.reply(ANN, "journal")
    assert listing.ephemeral and "Exit tickets told me more than the quiz." in listing.text
    assert "1 of 1" in listing.text
    _previous, nxt, share, delete = listing.custom_ids()

    # Another member can neither page, share nor delete it, and their journal is empty.
    for custom_id in (nxt, share, delete):
        refused = await (await kindred.click(listing, custom_id, BEN)).response()
        assert "someone else's" in refused.content
    assert "journal is empty" in (await kindred.reply(BEN, "journal")).content

    shared = await kindred.click(listing, share, ANN)
    await shared.wait_for(lambda h: any("Shared in" in m.text for m in h.messages))
    await kindred.settle()
    in_thread = [m for m in kindred.fake.channel_messages(thread.id) if "reflection" in m.text]
    assert len(in_thread) == 1
    assert "Exit tickets told me more than the quiz." in in_thread[0].text
    assert not in_thread[0].pings_everyone and in_thread[0].allowed_mentions == {"parse": []}
    # A second press (from a fresh /journal: the button there is disabled) is refused.
    fresh = await kindred.reply(ANN, "journal")
    assert "shared to the thread" in fresh.text

    asked = await kindred.click(fresh, fresh.custom_ids()[3], ANN)
    confirm = await asked.wait_for(
        lambda h: next((m for m in h.messages if "for good" in m.content), None)
    )
    yes, _cancel = confirm.custom_ids()
    done = await kindred.click(confirm, yes, ANN)
    await done.wait_for(lambda h: any("Deleted" in m.content for m in h.messages))
    assert "journal is empty" in (await kindred.reply(ANN, "journal")).content
    assert len([m for m in kindred.fake.channel_messages(thread.id) if "reflection" in m.text]) == 1


async def press_talk(kindred, post, user_id: int) -> str:
    handle = await kindred.click(post, button(post, "kindred:talk:"), user_id)
    answer = await handle.response()
    assert answer.ephemeral
    return answer.content


async def test_the_talk_list_is_paired_at_talk_hours_and_a_lone_member_is_told_kindly(kindred):
    post = await post_today(kindred, talk_hours=3)
    prompt = post.embeds[0]["description"]
    assert [c.split(":")[1] for c in post.custom_ids()] == ["talk", "reflect"]
    assert "on today's talk list" in await press_talk(kindred, post, ANN)
    assert "on today's talk list" in await press_talk(kindred, post, BEN)
    assert "on today's talk list" in await press_talk(kindred, post, CAL)
    assert "left today's talk list" in await press_talk(kindred, post, CAL)

    await kindred.advance(timedelta(hours=3))
    fake = kindred.fake
    await fake.wait_for(lambda f: f.dms_to(ANN) and f.dms_to(BEN))
    await kindred.restart()
    await kindred.advance(timedelta(hours=1))
    [to_ann], [to_ben] = fake.dms_to(ANN), fake.dms_to(BEN)
    assert f"<@{BEN}>" in to_ann.content and f"<@{ANN}>" in to_ben.content
    assert f"> {prompt}" in to_ann.content and f"> {prompt}" in to_ben.content
    assert fake.dms_to(CAL) == []
    assert len(fake.dm_attempts_to(ANN)) == len(fake.dm_attempts_to(BEN)) == 1
    assert "paired already" in await press_talk(kindred, post, CAL)

    # The next day only Cal signs up: no partner, and a kind word instead.
    await kindred.set_time(ONE_PM + timedelta(days=1))
    tuesday = await kindred.fake.wait_for(
        lambda _f: (found := prompt_posts(kindred)) and len(found) == 2 and found[-1]
    )
    await press_talk(kindred, tuesday, CAL)
    await kindred.advance(timedelta(hours=3))
    [alone] = await fake.wait_for(lambda f: f.dms_to(CAL) or None)
    assert "nobody else signed up today" in alone.content


async def test_without_talk_hours_the_post_has_only_the_reflect_button(kindred):
    post = await post_today(kindred, talk_hours=0)
    assert [c.split(":")[1] for c in post.custom_ids()] == ["reflect"]
