"""The fake Discord server speaks the protocol the real discord.py client expects.

Each test connects an unmodified discord.py Client/Bot over HTTP and websockets to
``tests.fakediscord`` and checks one capability the end-to-end suites rely on.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator

import discord
import pytest
from discord.ext import commands

from tests.fakediscord import FakeDiscord
from tests.fakediscord.demo_bot import PersistentView, Recorder, make_demo_bot
from tests.fakediscord.fixtures import World, discord_client, fake_discord, running

__all__ = ["discord_client", "fake_discord"]  # fixtures used by name below

G = World.GUILD


def _channel(client: discord.Client, channel_id: int) -> discord.TextChannel:
    """The cached text channel `channel_id` (the fake's world has it)."""
    channel = client.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)
    return channel


def _guild(client: discord.Client) -> discord.Guild:
    """The world's guild, from the client's cache."""
    guild = client.get_guild(G)
    assert guild is not None
    return guild


def _member(guild: discord.Guild, user_id: int) -> discord.Member:
    """A cached member of `guild`."""
    member = guild.get_member(user_id)
    assert member is not None
    return member


def _intents() -> discord.Intents:
    intents = discord.Intents.default()
    intents.members = True
    return intents


@pytest.fixture
async def synced_bot(fake_discord: FakeDiscord) -> AsyncIterator[tuple[commands.Bot, Recorder]]:
    rec = Recorder()
    bot = make_demo_bot(rec, G)
    async with running(bot):
        await bot.tree.sync(guild=discord.Object(G))
        await bot.tree.sync()
        yield bot, rec
    assert fake_discord.unknown_requests == []


async def test_login_ready_and_guild_create_populate_the_cache(
    fake_discord: FakeDiscord, discord_client: discord.Client
) -> None:
    guild = _guild(discord_client)
    assert guild is not None and guild.name == "Educators"
    assert discord_client.user is not None and discord_client.user.id == World.BOT
    assert discord_client.application_id == World.BOT
    assert {c.id for c in guild.text_channels} == {
        World.GENERAL,
        World.PROMPTS,
        World.PAIRING,
        World.HELP,
    }
    admin = guild.get_member(World.ADMIN)
    assert admin is not None and admin.guild_permissions.manage_guild
    assert not _member(guild, World.MEMBERS[0]).guild_permissions.manage_guild
    admin_role = guild.get_role(World.ADMIN_ROLE)
    assert admin_role is not None and admin_role.name == "Admin"
    assert guild.default_role.id == G
    assert guild.me.id == World.BOT
    assert guild.chunked and guild.member_count == len(guild.members)
    assert fake_discord.unknown_requests == []


async def test_rejected_token_fails_login(fake_discord: FakeDiscord) -> None:
    fake_discord.rejected_tokens.add("bad")
    client = discord.Client(intents=_intents())
    with pytest.raises(discord.LoginFailure):
        await client.login("bad")
    await client.close()


async def test_member_join_and_leave_are_dispatched(
    fake_discord: FakeDiscord, discord_client: discord.Client
) -> None:
    waiter = asyncio.ensure_future(discord_client.wait_for("member_join", timeout=2))
    await fake_discord.member_join(G, 3001, "newbie")
    member = await waiter
    assert member.id == 3001 and _guild(discord_client).get_member(3001) is not None
    waiter = asyncio.ensure_future(discord_client.wait_for("member_remove", timeout=2))
    await fake_discord.member_leave(G, 3001)
    assert (await waiter).id == 3001
    assert _guild(discord_client).get_member(3001) is None


async def test_commands_sync_and_are_counted(
    fake_discord: FakeDiscord, synced_bot: tuple[commands.Bot, Recorder]
) -> None:
    names = {c["name"] for c in fake_discord.commands(G)}
    assert names == {"admin", "slow", "checkin", "pick", "answer", "note", "ask"}
    assert [c["name"] for c in fake_discord.commands()] == ["about"]
    assert fake_discord.sync_counts == {G: 1, None: 1}
    admin = next(c for c in fake_discord.commands(G) if c["name"] == "admin")
    assert admin["default_member_permissions"] == str(0x20)
    bot, _ = synced_bot
    fetched = await bot.tree.fetch_commands(guild=discord.Object(G))
    assert {c.name for c in fetched} == names


async def test_nested_slash_command_gets_typed_options_and_ephemeral_reply(
    fake_discord: FakeDiscord, synced_bot: tuple[commands.Bot, Recorder]
) -> None:
    _, rec = synced_bot
    file = fake_discord.add_attachment("prompts.txt", b"one\ntwo\n", "text/plain")
    h = await fake_discord.invoke(
        G,
        World.ADMIN,
        "admin prompts add",
        text="Hello @everyone",
        who=World.MEMBERS[0],
        where=World.PROMPTS,
        file=file,
        count=3,
    )
    reply = await h.response(timeout=5)
    assert reply.content == "Added Hello @everyone" and reply.ephemeral and h.ephemeral
    assert not h.deferred and h.response_type == 4
    kind, text, who, where, data, count, weekends, can_manage = rec.calls[0]
    assert (kind, text, count, weekends, can_manage) == ("add", "Hello @everyone", 3, False, True)
    assert isinstance(who, discord.Member) and who.id == World.MEMBERS[0]
    assert isinstance(where, discord.TextChannel) and where.id == World.PROMPTS
    assert data == b"one\ntwo\n"
    assert fake_discord.channel_messages(h.channel_id) == []  # ephemeral stays private


async def test_invoke_rejects_undeclared_options(
    fake_discord: FakeDiscord, synced_bot: tuple[commands.Bot, Recorder]
) -> None:
    with pytest.raises(LookupError, match="no option"):
        await fake_discord.invoke(G, World.ADMIN, "admin prompts add", nope=1)
    with pytest.raises(LookupError, match="not synced"):
        await fake_discord.invoke(G, World.ADMIN, "missing")


async def test_deferred_response_and_followups(
    fake_discord: FakeDiscord, synced_bot: tuple[commands.Bot, Recorder]
) -> None:
    h = await fake_discord.invoke(G, World.MEMBERS[1], "slow")
    first, second = await h.followups(2)
    assert h.deferred and h.ephemeral
    assert (first.content, second.content) == ("done", "and more")
    assert (await h.response()).content == "done"


async def test_button_click_reaches_persistent_view(
    fake_discord: FakeDiscord, synced_bot: tuple[commands.Bot, Recorder]
) -> None:
    _, rec = synced_bot
    h = await fake_discord.invoke(G, World.ADMIN, "checkin")
    posted = await h.response()
    assert not posted.ephemeral and posted.custom_ids() == ["checkin:met"]
    click = await fake_discord.click(posted, "checkin:met", World.MEMBERS[2])
    thanks = await click.response()
    assert thanks.content == "Thanks!" and thanks.ephemeral
    assert rec.calls[-1] == ("clicked", World.MEMBERS[2], posted.id)


async def test_button_click_on_a_dm_message(
    fake_discord: FakeDiscord, synced_bot: tuple[commands.Bot, Recorder]
) -> None:
    bot, rec = synced_bot
    user = await bot.fetch_user(World.MEMBERS[3])
    sent = await user.send("Did you meet?", view=PersistentView(rec))
    [dm] = fake_discord.dms_to(World.MEMBERS[3])
    assert dm.id == sent.id
    reply = await (await fake_discord.click(dm, "checkin:met", World.MEMBERS[3])).response()
    assert reply.content == "Thanks!" and rec.calls[-1][1] == World.MEMBERS[3]


async def test_modal_submit(
    fake_discord: FakeDiscord, synced_bot: tuple[commands.Bot, Recorder]
) -> None:
    _, rec = synced_bot
    h = await fake_discord.invoke(G, World.MEMBERS[0], "answer")
    modal = await h.wait_modal()
    assert modal["title"] == "Answer"
    submitted = await fake_discord.submit_modal(h, World.MEMBERS[0], {"answer": "42"})
    assert (await submitted.response()).content == "got 42"
    assert rec.calls[-1] == ("modal", "42")


async def test_autocomplete_returns_choices(
    fake_discord: FakeDiscord, synced_bot: tuple[commands.Bot, Recorder]
) -> None:
    choices = await fake_discord.autocomplete(
        G, World.MEMBERS[0], "ask", focused="topic", topic="pb"
    )
    assert [c["value"] for c in choices] == ["pbl", "pblx"]


async def test_dm_to_closed_user_is_forbidden_50007(
    fake_discord: FakeDiscord, discord_client: discord.Client
) -> None:
    fake_discord.set_dms_closed(World.MEMBERS[0])
    user = await discord_client.fetch_user(World.MEMBERS[0])
    with pytest.raises(discord.Forbidden) as info:
        await user.send("hello")
    assert info.value.code == 50007
    assert fake_discord.dms_to(World.MEMBERS[0]) == []
    await (await discord_client.fetch_user(World.MEMBERS[1])).send("hi")
    assert [m.content for m in fake_discord.dms_to(World.MEMBERS[1])] == ["hi"]


async def test_same_nonce_twice_creates_one_message(
    fake_discord: FakeDiscord, discord_client: discord.Client
) -> None:
    channel = _channel(discord_client, World.PROMPTS)
    first = await channel.send("daily prompt", nonce="prompt-1000-20250101")
    again = await channel.send("daily prompt", nonce="prompt-1000-20250101")
    other = await channel.send("daily prompt", nonce="prompt-1000-20250102")
    assert first.id == again.id != other.id
    assert len(fake_discord.channel_messages(World.PROMPTS)) == 2


async def test_allowed_mentions_decide_who_is_pinged(
    fake_discord: FakeDiscord, discord_client: discord.Client
) -> None:
    channel = _channel(discord_client, World.GENERAL)
    text = f"@everyone <@{World.ADMIN}> <@&{World.PAIRING_ROLE}>"
    await channel.send(text, allowed_mentions=discord.AllowedMentions.none())
    await channel.send(
        text,
        allowed_mentions=discord.AllowedMentions(
            everyone=False, users=False, roles=[discord.Object(World.PAIRING_ROLE)]
        ),
    )
    await channel.send(text)
    calm, role_only, loud = fake_discord.channel_messages(World.GENERAL)
    assert not calm.pings_everyone and not calm.pinged_user_ids and not calm.pinged_role_ids
    assert role_only.pinged_role_ids == {World.PAIRING_ROLE} and not role_only.pings_everyone
    assert loud.pings_everyone and loud.pinged_user_ids == {World.ADMIN}


async def test_files_are_parsed_from_multipart(
    fake_discord: FakeDiscord, discord_client: discord.Client
) -> None:
    import io

    channel = _channel(discord_client, World.GENERAL)
    sent = await channel.send("export", file=discord.File(io.BytesIO(b'{"a": 1}'), "data.json"))
    [msg] = fake_discord.channel_messages(World.GENERAL)
    assert msg.attachments[0].filename == "data.json" and msg.attachments[0].data == b'{"a": 1}'
    assert await sent.attachments[0].read() == b'{"a": 1}'


async def test_deleted_channel_and_denied_send(
    fake_discord: FakeDiscord, discord_client: discord.Client
) -> None:
    channel = _channel(discord_client, World.HELP)
    fake_discord.delete_channel(World.HELP)
    with pytest.raises(discord.NotFound) as info:
        await channel.send("x")
    assert info.value.code == 10003
    fake_discord.deny_send(World.PAIRING)
    with pytest.raises(discord.Forbidden) as denied:
        await _channel(discord_client, World.PAIRING).send("x")
    assert denied.value.code == 50013


async def test_global_rate_limit_is_retried_transparently(
    fake_discord: FakeDiscord, discord_client: discord.Client
) -> None:
    fake_discord.set_global_rate_limit(3)
    channel = _channel(discord_client, World.GENERAL)
    sent = await asyncio.gather(*(channel.send(f"m{i}") for i in range(6)))
    assert fake_discord.count_429 >= 1
    assert sorted(m.content for m in fake_discord.channel_messages(World.GENERAL)) == sorted(
        m.content for m in sent
    )
    assert len(fake_discord.channel_messages(World.GENERAL)) == 6


async def test_injected_429_and_500_are_retried(
    fake_discord: FakeDiscord, discord_client: discord.Client
) -> None:
    fake_discord.inject_faults(r"POST /channels/\d+/messages", statuses=[500], count=1)
    fake_discord.inject_429(r"POST /channels/\d+/messages", count=1, retry_after=0.05)
    await _channel(discord_client, World.GENERAL).send("persist")
    assert [m.content for m in fake_discord.channel_messages(World.GENERAL)] == ["persist"]
    statuses = [r.status for r in fake_discord.requests if r.method == "POST"]
    assert statuses == [500, 429, 200]


async def test_drop_gateway_reconnects_and_still_dispatches(
    fake_discord: FakeDiscord, discord_client: discord.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    resumed = asyncio.ensure_future(discord_client.wait_for("resumed", timeout=5))
    await fake_discord.drop_gateway()
    await resumed
    assert fake_discord.gateway.resume_count == 1
    waiter = asyncio.ensure_future(discord_client.wait_for("member_join", timeout=3))
    await fake_discord.member_join(G, 3002, "after-resume")
    assert (await waiter).id == 3002

    # discord.py sleeps 5 s before a non-initial IDENTIFY; skip that wait in this test.
    async def no_wait(shard_id: int | None, *, initial: bool = False) -> None:
        return None

    monkeypatch.setattr(discord_client, "before_identify_hook", no_wait)
    await fake_discord.drop_gateway(resumable=False)
    await fake_discord.wait_until_connected(identifies=2, timeout=5)
    waiter = asyncio.ensure_future(discord_client.wait_for("member_join", timeout=3))
    await fake_discord.member_join(G, 3003, "after-identify")
    assert (await waiter).id == 3003


async def test_private_thread_with_member(
    fake_discord: FakeDiscord, discord_client: discord.Client
) -> None:
    channel = _channel(discord_client, World.PAIRING)
    thread = await channel.create_thread(
        name="Pair: a & b", invitable=False, type=discord.ChannelType.private_thread
    )
    assert thread.type is discord.ChannelType.private_thread
    await thread.add_user(discord.Object(World.MEMBERS[0]))
    await thread.send("Meet each other!")
    [fake_thread] = fake_discord.threads
    assert fake_thread.type == 12 and World.MEMBERS[0] in fake_thread.thread_member_ids
    assert [m.content for m in fake_discord.channel_messages(thread.id)] == ["Meet each other!"]


async def test_public_thread_on_message(
    fake_discord: FakeDiscord, discord_client: discord.Client
) -> None:
    post = await _channel(discord_client, World.PROMPTS).send("Today's prompt")
    thread = await post.create_thread(name="Answers")
    assert thread.id == post.id and thread.type is discord.ChannelType.public_thread
    assert fake_discord.threads[0].parent_id == World.PROMPTS


def test_sitecustomize_points_a_subprocess_at_the_fake(tmp_path) -> None:
    import tests.fakediscord as pkg

    site_dir = os.path.join(os.path.dirname(pkg.__file__), "sitecustomize")
    code = (
        "import discord.http, discord.gateway as g;"
        "print(discord.http.Route.BASE, g.DiscordWebSocket.DEFAULT_GATEWAY)"
    )
    env = {
        **os.environ,
        "PYTHONPATH": site_dir,
        "KINDRED_FAKE_DISCORD_URL": "http://127.0.0.1:4321",
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert out.split() == ["http://127.0.0.1:4321/api/v10", "ws://127.0.0.1:4321/gateway"]
    env.pop("KINDRED_FAKE_DISCORD_URL")
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert out.split()[0] == "https://discord.com/api/v10"


async def test_global_command_in_dms(
    fake_discord: FakeDiscord, synced_bot: tuple[commands.Bot, Recorder]
) -> None:
    _, rec = synced_bot
    reply = await (await fake_discord.invoke(None, World.MEMBERS[4], "about")).response()
    assert reply.content == "about from dm"
    assert rec.calls[-1] == ("about", "dm", World.MEMBERS[4])


async def test_select_updates_its_message(
    fake_discord: FakeDiscord, synced_bot: tuple[commands.Bot, Recorder]
) -> None:
    _, rec = synced_bot
    posted = await (await fake_discord.invoke(G, World.ADMIN, "pick")).response()
    h = await fake_discord.click(posted, "pick", World.ADMIN, values=["monthly"])
    updated = await h.response()
    assert updated is posted and h.response_type == 7
    assert posted.content == "cadence: monthly" and posted.components == []
    assert rec.calls[-1] == ("picked", ["monthly"])


async def test_label_modal_with_deferred_edit(
    fake_discord: FakeDiscord, synced_bot: tuple[commands.Bot, Recorder]
) -> None:
    h = await fake_discord.invoke(G, World.MEMBERS[0], "note")
    modal = await h.wait_modal()
    assert modal["components"][0]["type"] == 18
    submitted = await fake_discord.submit_modal(h, World.MEMBERS[0], {"note": "hello"})
    reply = await submitted.response()
    assert reply.content == "noted hello" and reply.ephemeral and submitted.deferred


async def test_raw_wire_details(fake_discord: FakeDiscord) -> None:
    import aiohttp

    api = f"{fake_discord.url}/api/v10"
    fake_discord.rejected_tokens.add("bad")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{api}/users/@me", headers={"Authorization": "Bot ok"}) as r:
            assert r.headers["Content-Type"] == "application/json"
            assert "X-RateLimit-Bucket" in r.headers
        async with http.get(f"{api}/users/@me", headers={"Authorization": "Bot bad"}) as r:
            assert (r.status, await r.json()) == (401, {"message": "401: Unauthorized", "code": 0})
        async with http.get(f"{api}/nope", headers={"Authorization": "Bot ok"}) as r:
            assert r.status == 404
        fake_discord.set_global_rate_limit(1)
        async with http.get(f"{api}/users/@me", headers={"Authorization": "Bot ok"}) as r:
            assert r.status == 200
        async with http.get(f"{api}/users/@me", headers={"Authorization": "Bot ok"}) as r:
            assert r.status == 429 and r.headers["Via"]
            assert r.headers["X-RateLimit-Global"] == "true"
            assert r.headers["X-RateLimit-Scope"] == "global"
            assert (await r.json())["global"] is True
    assert fake_discord.unknown_requests == ["GET /api/v10/nope"]
    assert fake_discord.count_429 == 1


def test_permissions_roles_and_overwrites() -> None:
    from tests.fakediscord.fixtures import build_world
    from tests.fakediscord.payloads import ADMINISTRATOR, MANAGE_GUILD, SEND_MESSAGES

    fake = build_world(FakeDiscord(app_id=World.BOT))
    assert fake.permissions(G, World.ADMIN) & MANAGE_GUILD
    assert not fake.permissions(G, World.MEMBERS[0]) & MANAGE_GUILD
    fake.add_role(G, 1099, "Root", ADMINISTRATOR)
    fake.add_member(G, 3100, "root", roles=[1099])
    assert fake.permissions(G, 3100) & MANAGE_GUILD
    fake.set_overwrite(World.HELP, G, deny=SEND_MESSAGES, member=False)
    assert not fake.permissions(G, World.MEMBERS[0], World.HELP) & SEND_MESSAGES
    assert fake.permissions(G, World.MEMBERS[0], World.GENERAL) & SEND_MESSAGES
    fake.set_overwrite(World.HELP, World.MEMBERS[0], allow=SEND_MESSAGES)
    assert fake.permissions(G, World.MEMBERS[0], World.HELP) & SEND_MESSAGES


async def test_member_requests_by_id_and_by_name_answer_with_their_nonce(
    fake_discord: FakeDiscord, discord_client: discord.Client
) -> None:
    for n in range(1200):
        fake_discord.add_member(G, 100_000 + n, f"lurker{n}")
    guild = _guild(discord_client)
    wanted = [World.MEMBERS[0], 100_500, 424242]  # the last one is nobody
    found, by_name = await asyncio.gather(  # concurrent: chunks are matched by nonce
        guild.query_members(user_ids=wanted, limit=100, cache=False),
        guild.query_members(query="lurker11", limit=5, cache=False),
    )
    assert sorted(m.id for m in found) == [World.MEMBERS[0], 100_500]
    assert [m.name for m in by_name] == [
        "lurker11",
        "lurker110",
        "lurker111",
        "lurker112",
        "lurker113",
    ]
    assert {r["nonce"] for r in fake_discord.gateway.member_requests} != {None}
    # The fake applies `limit` to ids too (the strict reading): a caller left with
    # discord.py's default limit of 5 would miss members in tests, not only in production.
    assert len(await guild.query_members(user_ids=wanted[:2], limit=1, cache=False)) == 1


async def test_everyone_by_empty_query_comes_in_chunks_of_1000(
    fake_discord: FakeDiscord, discord_client: discord.Client
) -> None:
    for n in range(1200):
        fake_discord.add_member(G, 100_000 + n, f"lurker{n}")
    await discord_client.ws.request_chunks(G, query="", limit=0, nonce="all")
    await asyncio.sleep(0.2)
    chunks = [
        f["d"]
        for s in fake_discord.gateway.sessions.values()
        for f in s.backlog
        if f["t"] == "GUILD_MEMBERS_CHUNK" and f["d"]["nonce"] == "all"
    ]
    assert [len(c["members"]) for c in chunks] == [1000, len(fake_discord.guilds[G].members) - 1000]
    assert [(c["chunk_index"], c["chunk_count"]) for c in chunks] == [(0, 2), (1, 2)]


async def test_list_guild_members_pages_by_id(
    fake_discord: FakeDiscord, discord_client: discord.Client
) -> None:
    for n in range(2500):
        fake_discord.add_member(G, 100_000 + n, f"lurker{n}")
    guild = _guild(discord_client)
    ids = [m.id async for m in guild.fetch_members(limit=None)]
    assert sorted(ids) == sorted(fake_discord.guilds[G].members) and len(set(ids)) == len(ids)
    assert fake_discord.member_list_requests == 3  # 1,000 per page, in id order
    some = [m.id async for m in guild.fetch_members(limit=2, after=discord.Object(100_010))]
    assert sorted(some) == [100_011, 100_012]
    with pytest.raises(discord.HTTPException):
        await discord_client.http.get_members(G, 1001, None)


# -- what the outbox's tests need of the fake: nonce windows, held answers, attempts ---------


async def test_a_nonce_is_forgotten_after_the_window_on_the_fakes_clock(
    fake_discord: FakeDiscord, discord_client: discord.Client
) -> None:
    channel = discord_client.get_partial_messageable(World.PROMPTS)
    first = await channel.send("prompt", nonce="kindred-1")
    fake_discord.advance_clock(fake_discord.nonce_window - 1)
    again = await channel.send("prompt", nonce="kindred-1")
    fake_discord.advance_clock(2)
    late = await channel.send("prompt", nonce="kindred-1")
    assert first.id == again.id != late.id
    assert len(fake_discord.channel_messages(World.PROMPTS)) == 2
    attempts = fake_discord.attempts_to(World.PROMPTS)
    assert [a.outcome for a in attempts] == ["created", "deduplicated", "created"]
    assert [a.message_id for a in attempts] == [first.id, first.id, late.id]
    assert {a.nonce for a in attempts} == {"kindred-1"}


async def test_refused_message_creates_are_recorded_as_attempts(
    fake_discord: FakeDiscord, discord_client: discord.Client
) -> None:
    fake_discord.set_dms_closed(World.MEMBERS[0])
    channel = await discord_client.create_dm(discord.Object(World.MEMBERS[0]))
    with pytest.raises(discord.Forbidden):
        await channel.send("hello")
    assert [a.outcome for a in fake_discord.dm_attempts_to(World.MEMBERS[0])] == ["refused"]
    assert fake_discord.dms_to(World.MEMBERS[0]) == []


async def test_a_held_answer_comes_after_the_message_exists(
    fake_discord: FakeDiscord, discord_client: discord.Client
) -> None:
    fake_discord.hold_answers(r"POST /channels/\d+/messages", seconds=0.5)
    channel = discord_client.get_partial_messageable(World.GENERAL)
    sending = asyncio.ensure_future(channel.send("held"))
    await fake_discord.wait_for(lambda f: f.held)
    (created,) = fake_discord.channel_messages(World.GENERAL)
    assert created.content == "held" and not sending.done()
    message = await asyncio.wait_for(sending, 5)
    assert message.id == created.id
    await channel.send("answered at once")  # only the next `count` (1) answer is held
    assert len(fake_discord.held) == 1


async def test_history_after_an_id_pages_oldest_first(
    fake_discord: FakeDiscord, discord_client: discord.Client
) -> None:
    channel = discord_client.get_partial_messageable(World.GENERAL)
    sent = [await channel.send(f"m{i}") for i in range(5)]
    page = await discord_client.http.logs_from(World.GENERAL, 2, after=sent[0].id)
    assert [int(m["id"]) for m in page] == [sent[2].id, sent[1].id]  # right after, newest first
    read = [m async for m in channel.history(after=sent[0], limit=None)]
    assert [m.content for m in read] == ["m1", "m2", "m3", "m4"]


async def test_invalid_requests_are_counted_in_sliding_ten_minute_windows(
    fake_discord: FakeDiscord, discord_client: discord.Client
) -> None:
    fake_discord.set_dms_closed(World.MEMBERS[0])
    channel = await discord_client.create_dm(discord.Object(World.MEMBERS[0]))
    for _ in range(3):
        with pytest.raises(discord.Forbidden):
            await channel.send("hello")
    fake_discord.advance_clock(601)
    fake_discord.inject_429(r"POST /channels/\d+/messages", count=2, retry_after=0.01)
    await discord_client.get_partial_messageable(World.GENERAL).send("after two 429s")
    assert fake_discord.worst_invalid_window() == 3
    assert fake_discord.worst_invalid_window(seconds=3600) == 5


def test_a_shared_scope_429_is_not_an_invalid_request() -> None:
    from tests.fakediscord.limits import Limits, RequestRecord

    limits = Limits(lambda token: True)
    limits.requests += [
        RequestRecord("GET", "/a", "/a", 429, 0.0, "shared"),
        RequestRecord("GET", "/a", "/a", 429, 1.0, "user"),
        RequestRecord("GET", "/a", "/a", 401, 2.0),
        RequestRecord("GET", "/a", "/a", 200, 3.0),
    ]
    assert limits.worst_invalid_window() == 2


def test_sitecustomize_moves_the_bots_clock(tmp_path) -> None:
    import tests.fakediscord as pkg
    from tests.support.process import REPO

    site_dir = os.path.join(os.path.dirname(pkg.__file__), "sitecustomize")
    code = (
        "from datetime import UTC, datetime; from bot.clock import SystemClock;"
        "print(round((SystemClock().now() - datetime.now(UTC)).total_seconds()))"
    )
    env = {**os.environ, "PYTHONPATH": f"{site_dir}:{REPO}", "KINDRED_FAKE_CLOCK_OFFSET": "720"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "720"
