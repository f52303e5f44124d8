"""The daily post's two doors through the fake Discord: "Reflect privately" and /journal (saved,
listed, shared once to the thread, deleted; nobody else sees or deletes it), "Talk 1:1 about
this" (the talk list paired at talk_hours), and school breaks over a working week."""

from datetime import UTC, datetime

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
