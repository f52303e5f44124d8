"""The outbox's Discord side against the fake Discord: nonce'd sends, the classification of
Discord's answers, read-back of the bot's own messages, edits and thread openings.

Rows are built by hand (no database): the transport only reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import discord

from bot.edge.rendered import AddMembers, Edit, Post, ThreadOpening
from bot.edge.transport import DiscordTransport
from bot.outbox import Failed, OutboxRow, Refused, Sent, Transient, nonce_for
from tests.fakediscord import FakeDiscord
from tests.fakediscord.fixtures import World

G = World.GUILD
MEMBER, OTHER = World.MEMBERS[0], World.MEMBERS[1]


def row(key: str, kind: str = "test", **target: Any) -> OutboxRow:
    now = datetime.now(UTC)
    return OutboxRow(
        id=1,
        guild_id=G,
        dedupe_key=key,
        kind=kind,
        channel_id=target.get("channel_id"),
        recipient_user_id=target.get("user_id"),
        edit_message_id=target.get("edit_message_id"),
        payload=target.get("payload", {}),
        nonce=nonce_for(key),
        state="pending",
        attempts=0,
        next_attempt_at=now,
        claimed_at=None,
        expires_at=None,
        last_error=None,
        message_id=None,
        created_at=now,
        sent_at=None,
    )


def transport_with(client: discord.Client, kind: str, render: Callable) -> DiscordTransport:
    transport = DiscordTransport(client)
    transport.register(kind, render)
    return transport


def text_post(r: OutboxRow) -> Post:
    return Post(content=f"hello {r.payload.get('n', 0)}")


async def test_a_resend_within_the_window_is_deduplicated_by_its_nonce(
    fake_discord: FakeDiscord, discord_client: discord.Client
):
    transport = transport_with(discord_client, "test", text_post)
    first = await transport.deliver(row("post:1", channel_id=World.GENERAL))
    again = await transport.deliver(row("post:1", channel_id=World.GENERAL))
    assert isinstance(first, Sent) and first == again
    assert [a.outcome for a in fake_discord.attempts_to(World.GENERAL)] == [
        "created",
        "deduplicated",
    ]
    (message,) = fake_discord.channel_messages(World.GENERAL)
    assert message.nonce == nonce_for("post:1") and not message.pinged_user_ids


async def test_a_dm_goes_to_the_member_by_id(
    fake_discord: FakeDiscord, discord_client: discord.Client
):
    transport = transport_with(discord_client, "test", text_post)
    sent = await transport.deliver(row("dm:1", user_id=MEMBER, payload={"n": 7}))
    assert isinstance(sent, Sent)
    assert [m.content for m in fake_discord.dms_to(MEMBER)] == ["hello 7"]
    assert sent.channel_id == fake_discord.dm_channel_ids[MEMBER]


async def test_discords_answers_are_classified(
    fake_discord: FakeDiscord, discord_client: discord.Client
):
    transport = transport_with(discord_client, "test", text_post)
    fake_discord.set_dms_closed(MEMBER)
    assert isinstance(await transport.deliver(row("dm:closed", user_id=MEMBER)), Refused)

    fake_discord.deny_send(World.PROMPTS)
    denied = await transport.deliver(row("post:denied", channel_id=World.PROMPTS))
    assert denied == Failed("missing permission in <#1002>", 50013)

    fake_discord.delete_channel(World.HELP)
    gone = await transport.deliver(row("post:gone", channel_id=World.HELP))
    assert isinstance(gone, Failed) and "no longer exists" in gone.reason

    fake_discord.inject_faults(r"POST /channels/\d+/messages", [503])
    assert isinstance(await transport.deliver(row("post:5xx", channel_id=World.GENERAL)), Transient)

    nobody = DiscordTransport(discord_client)  # the kind's cog is not loaded
    assert isinstance(await nobody.deliver(row("x", channel_id=World.GENERAL)), Transient)


async def test_a_read_back_finds_the_bots_message_after_the_claim_and_nothing_else(
    fake_discord: FakeDiscord, discord_client: discord.Client
):
    transport = transport_with(discord_client, "test", text_post)
    before = datetime.now(UTC) - timedelta(seconds=30)
    general = discord_client.get_partial_messageable(World.GENERAL)
    await general.send("hello 2")  # the same text as another row's message
    sent = await transport.deliver(row("post:1", channel_id=World.GENERAL, payload={"n": 1}))

    found = await transport.find_delivered(
        row("post:1", channel_id=World.GENERAL, payload={"n": 1}), before
    )
    assert found == sent
    assert (
        await transport.find_delivered(
            row("post:3", channel_id=World.GENERAL, payload={"n": 3}), before
        )
        is None
    )
    later = datetime.now(UTC) + timedelta(minutes=5)  # created before the claim: not this row's
    assert (
        await transport.find_delivered(
            row("post:1", channel_id=World.GENERAL, payload={"n": 1}), later
        )
        is None
    )


async def test_a_read_back_in_a_dm_matches_the_buttons_too(
    fake_discord: FakeDiscord, discord_client: discord.Client
):
    def with_button(r: OutboxRow) -> Post:
        view = discord.ui.View(timeout=None)
        view.add_item(discord.ui.Button(label="Go", custom_id=f"go:{r.payload['round']}"))
        return Post(content="Your intro", view=view)

    transport = transport_with(discord_client, "test", with_button)
    since = datetime.now(UTC) - timedelta(seconds=30)
    sent = await transport.deliver(row("dm:1", user_id=MEMBER, payload={"round": 1}))
    assert (
        await transport.find_delivered(row("dm:1", user_id=MEMBER, payload={"round": 1}), since)
        == sent
    )
    other_round = row("dm:2", user_id=MEMBER, payload={"round": 2})
    assert await transport.find_delivered(other_round, since) is None


async def test_an_edit_changes_the_message_and_is_never_read_back(
    fake_discord: FakeDiscord, discord_client: discord.Client
):
    message = await discord_client.get_partial_messageable(World.HELP).send("Ask A1: open")
    transport = transport_with(discord_client, "test", lambda r: Edit(content="Ask A1: resolved"))
    edit = row("edit:1", channel_id=World.HELP, edit_message_id=message.id)
    assert await transport.deliver(edit) == Sent(message.id, World.HELP)
    assert fake_discord.messages_by_id[message.id].content == "Ask A1: resolved"
    assert await transport.find_delivered(edit, datetime.now(UTC)) is None


async def test_a_private_thread_is_opened_once_with_its_members_and_first_message(
    fake_discord: FakeDiscord, discord_client: discord.Client
):
    def thread(r: OutboxRow) -> ThreadOpening:
        return ThreadOpening(
            name="Kindred pairing #7", member_ids=(MEMBER, OTHER), first=Post(content="Meet!")
        )

    transport = transport_with(discord_client, "test", thread)
    since = datetime.now(UTC) - timedelta(seconds=30)
    opening = row("thread:7", channel_id=World.PAIRING)
    first = await transport.deliver(opening)
    again = await transport.deliver(opening)  # a resend finds the thread by its name
    assert isinstance(first, Sent) and first == again

    (made,) = fake_discord.threads
    assert made.id == first.thread_id and made.type == 12 and made.parent_id == World.PAIRING
    assert {MEMBER, OTHER} <= made.thread_member_ids
    assert [m.content for m in fake_discord.channel_messages(made.id)] == ["Meet!"]
    assert await transport.find_delivered(opening, since) == first


async def test_a_post_opens_its_thread_once_even_when_sent_again(
    fake_discord: FakeDiscord, discord_client: discord.Client
):
    transport = transport_with(
        discord_client, "test", lambda r: Post(content="Today's prompt", thread_name="02 Mar")
    )
    post = row("prompt.post:1", channel_id=World.PROMPTS)
    first = await transport.deliver(post)
    again = await transport.deliver(post)  # the nonce returns the message; its thread exists
    assert isinstance(first, Sent) and first == again
    assert first.thread_id == first.message_id and first.problem is None
    assert [t.id for t in fake_discord.threads] == [first.message_id]
    since = datetime.now(UTC) - timedelta(seconds=30)
    assert await transport.find_delivered(post, since) == first


async def test_a_refused_thread_leaves_the_post_sent_with_the_problem_noted(
    fake_discord: FakeDiscord, discord_client: discord.Client
):
    fake_discord.inject_faults(r"POST /channels/\d+/messages/\d+/threads", [403])
    transport = transport_with(
        discord_client, "test", lambda r: Post(content="Today's prompt", thread_name="02 Mar")
    )
    sent = await transport.deliver(row("prompt.post:1", channel_id=World.PROMPTS))
    assert isinstance(sent, Sent) and sent.thread_id is None
    assert sent.problem == "the thread could not be opened: missing permission in <#1002>"


async def test_members_are_added_to_an_existing_thread(
    fake_discord: FakeDiscord, discord_client: discord.Client
):
    pairing = discord_client.get_channel(World.PAIRING)
    assert isinstance(pairing, discord.TextChannel)
    thread = await pairing.create_thread(name="help A1", type=discord.ChannelType.private_thread)
    transport = transport_with(discord_client, "test", lambda r: AddMembers((MEMBER,)))
    assert await transport.deliver(row("add:1", channel_id=thread.id)) == Sent(
        None, thread.id, thread.id
    )
    assert MEMBER in fake_discord.channels[thread.id].thread_member_ids
