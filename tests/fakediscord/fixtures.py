"""Pytest fixtures and helpers for tests that talk to the fake Discord.

``tests/conftest.py`` does ``from tests.fakediscord.fixtures import *``. Fixtures:

- ``fake_discord``: a started :class:`FakeDiscord` holding the standard :class:`World`
  (one guild, four text channels, an admin with Manage Server, five ordinary members), with
  discord.py in this process pointed at it (restored afterwards).
- ``discord_client``: a plain ``discord.Client`` (guilds + members intents) logged in and ready
  against ``fake_discord``; closed afterwards.

Helper: ``async with running(client, token):`` starts any Client/Bot, waits until ready and
closes it on exit -- use it for the Kindred bot too.
"""

# ruff: noqa: ASYNC109  (explicit timeout= arguments are this test API's contract)

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import discord
import discord.gateway
import discord.http
import pytest

from .payloads import MANAGE_GUILD
from .server import FakeDiscord, point_discord_py_at

__all__ = ["World", "build_world", "discord_client", "fake_discord", "running"]


class World:
    """Ids of the standard world built by :func:`build_world`."""

    GUILD = 1000
    GENERAL = 1001
    PROMPTS = 1002
    PAIRING = 1003
    HELP = 1004
    ADMIN_ROLE = 1010
    PAIRING_ROLE = 1011
    OWNER = 2000
    ADMIN = 2001
    MEMBERS = (2002, 2003, 2004, 2005, 2006)
    BOT = 9000
    TOKEN = "fake-bot-token"


def build_world(fake: FakeDiscord) -> FakeDiscord:
    """One guild with text channels, an admin role (Manage Server) and members."""
    w = World
    fake.add_user(w.OWNER, "owner")
    fake.add_guild(w.GUILD, "Educators", owner_id=w.OWNER)
    for cid, name in (
        (w.GENERAL, "general"),
        (w.PROMPTS, "prompts"),
        (w.PAIRING, "pairing"),
        (w.HELP, "help"),
    ):
        fake.add_channel(w.GUILD, cid, name)
    fake.add_role(w.GUILD, w.ADMIN_ROLE, "Admin", MANAGE_GUILD)
    fake.add_role(w.GUILD, w.PAIRING_ROLE, "Pairing", 0, mentionable=True)
    fake.add_member(w.GUILD, w.ADMIN, "admin", roles=[w.ADMIN_ROLE])
    for i, uid in enumerate(w.MEMBERS):
        fake.add_member(w.GUILD, uid, f"member{i + 1}")
    return fake


@contextlib.asynccontextmanager
async def running(
    client: discord.Client, token: str = World.TOKEN, timeout: float = 10.0
) -> AsyncIterator[discord.Client]:
    """Start ``client`` against the fake, wait until ready, and close it on exit."""
    task = asyncio.create_task(client.start(token), name="fake-discord-client")
    ready = asyncio.create_task(client.wait_until_ready())
    done, _ = await asyncio.wait(
        {task, ready}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
    )
    try:
        if ready not in done:
            ready.cancel()
            if task in done:
                task.result()  # re-raise the login/connect error
            raise TimeoutError("client did not become ready")
        yield client
    finally:
        await client.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, 5)


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """A started fake with the standard :class:`World`; discord.py points at it."""
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    fake = build_world(FakeDiscord(app_id=World.BOT))
    await fake.start()
    point_discord_py_at(fake.url)
    try:
        yield fake
    finally:
        await fake.stop()
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


@pytest.fixture
async def discord_client(fake_discord: FakeDiscord) -> AsyncIterator[discord.Client]:
    """A ready ``discord.Client`` (guilds + members intents) connected to ``fake_discord``."""
    intents = discord.Intents.default()
    intents.members = True
    client = discord.Client(intents=intents, guild_ready_timeout=0.1)
    async with running(client) as ready:
        yield ready
