"""FakeDiscord: the aiohttp server (REST + gateway) plus the async test API.

The real, unmodified discord.py client talks to it over HTTP and websockets on 127.0.0.1
(see :func:`point_discord_py_at`), so every payload goes through discord.py's own parsers.
"""

# ruff: noqa: ASYNC109  (explicit timeout= arguments are this test API's contract)

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any

import yarl
from aiohttp import web

from .callbacks import Callbacks
from .gateway import Gateway
from .handle import InteractionHandle
from .interactions import InteractionBuilder, modal_components
from .limits import Limits, RequestRecord
from .models import Channel, FakeMessage
from .payloads import snowflake
from .rest import Rest
from .state import FakeState
from .wire import json_response


def point_discord_py_at(url: str) -> None:
    """Make every discord.py client in this process use the fake at ``url`` (REST + gateway)."""
    import discord.gateway
    import discord.http

    parsed = yarl.URL(url)
    discord.http.Route.BASE = f"{url.rstrip('/')}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(
        f"ws://{parsed.host}:{parsed.port}/gateway"
    )


class FakeDiscord(FakeState):
    """A fake Discord for one bot application; see the package docstring for the API."""

    def __init__(
        self,
        *,
        app_id: int = 9000,
        bot_name: str = "Kindred",
        accepted_tokens: Iterable[str] | None = None,
        rejected_tokens: Iterable[str] = (),
    ) -> None:
        super().__init__(app_id=app_id, bot_name=bot_name)
        #: None accepts any token not in ``rejected_tokens``.
        self.accepted_tokens: set[str] | None = (
            set(accepted_tokens) if accepted_tokens is not None else None
        )
        self.rejected_tokens: set[str] = set(rejected_tokens)
        self.gateway = Gateway(self, self.token_ok)
        self.limits = Limits(self.token_ok, now=self.now, changed=lambda: self.notify())
        self.builder = InteractionBuilder(self)
        self.interactions: dict[str, InteractionHandle] = {}
        self.unknown_requests: list[str] = []
        self.member_list_requests = 0  # REST `GET /guilds/{id}/members` pages served
        self.port = 0
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()

    def token_ok(self, token: str) -> bool:
        if token in self.rejected_tokens:
            return False
        return self.accepted_tokens is None or token in self.accepted_tokens

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> str:
        """Listen on 127.0.0.1 at a free port; returns the base URL (``http://127.0.0.1:N``)."""
        app = web.Application(middlewares=[self.limits.middleware], client_max_size=64 << 20)
        app.router.add_get("/gateway", self.gateway.handle)
        Rest(self).add_routes(app)
        Callbacks(self).add_routes(app)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server) and server.sockets
        self.port = server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.base_url = self.url
        self.gateway.url = f"ws://127.0.0.1:{self.port}/gateway"
        return self.url

    async def stop(self) -> None:
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def point_discord_py(self) -> None:
        """Shortcut for ``point_discord_py_at(self.url)``."""
        point_discord_py_at(self.url)

    async def _unknown(self, request: web.Request) -> web.Response:
        self.unknown_requests.append(f"{request.method} {request.path}")
        return json_response({"message": "404: Not Found", "code": 0}, 404)

    # -- observation -----------------------------------------------------------------------
    @property
    def requests(self) -> list[RequestRecord]:
        return self.limits.requests

    @property
    def count_429(self) -> int:
        return self.limits.count_429

    @property
    def held(self) -> list[RequestRecord]:
        """Requests carried out whose answer was held back (see :meth:`hold_answers`)."""
        return self.limits.held

    def worst_invalid_window(self, seconds: float = 600.0) -> int:
        """Most invalid requests (401/403/429) in any ``seconds`` (Discord bans at 10,000)."""
        return self.limits.worst_invalid_window(seconds)

    def notify(self) -> None:
        """Wake :meth:`wait_for` waiters (called on every state change)."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for(self, predicate: Callable[[FakeDiscord], Any], timeout: float = 5.0) -> Any:
        """Wait until ``predicate(fake)`` is truthy (re-checked on every change); return it."""
        deadline = time.monotonic() + timeout
        while not (value := predicate(self)):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"fake discord: condition not met within {timeout}s")
            try:
                await asyncio.wait_for(self._changed.wait(), min(left, 0.05))
            except TimeoutError:
                pass
        return value

    async def wait_for_message(
        self, predicate: Callable[[FakeMessage], bool] = lambda m: True, timeout: float = 5.0
    ) -> FakeMessage:
        """The first (not deleted) message matching ``predicate``, waiting for it if needed."""
        return await self.wait_for(
            lambda f: next((m for m in f.messages if not m.deleted and predicate(m)), None), timeout
        )

    async def wait_until_connected(self, timeout: float = 5.0, identifies: int = 1) -> None:
        """Wait until a client has identified ``identifies`` times and is connected."""
        await self.wait_for(
            lambda f: f.gateway.identify_count >= identifies and f.gateway.connected, timeout
        )

    # -- faults ----------------------------------------------------------------------------
    @property
    def latency(self) -> float:
        return self.limits.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self.limits.latency = seconds

    def set_global_rate_limit(self, per_second: float | None) -> None:
        self.limits.set_global_rate_limit(per_second)

    def inject_429(
        self, route_regex: str, count: int = 1, retry_after: float = 0.2, global_: bool = False
    ) -> None:
        self.limits.inject_429(route_regex, count, retry_after, global_)

    def inject_faults(
        self, route_regex: str, statuses: list[int] | None = None, count: int = 1
    ) -> None:
        self.limits.inject_faults(route_regex, statuses, count)

    def hold_answers(self, route_regex: str, seconds: float, count: int = 1) -> None:
        """Carry out the next ``count`` matching requests but answer each ``seconds`` late."""
        self.limits.hold_answers(route_regex, seconds, count)

    async def drop_gateway(self, *, resumable: bool = True) -> None:
        """Close the gateway socket(s); the client reconnects (RESUME unless not resumable)."""
        await self.gateway.drop(resumable=resumable)

    # -- gateway events --------------------------------------------------------------------
    async def dispatch(self, event: str, data: dict) -> None:
        await self.gateway.dispatch(event, data)

    async def member_join(
        self, guild_id: int, user_id: int, name: str, roles: Iterable[int] = (), bot: bool = False
    ) -> None:
        """Add a member and dispatch GUILD_MEMBER_ADD."""
        member = self.add_member(guild_id, user_id, name, roles, bot)
        await self.dispatch("GUILD_MEMBER_ADD", {**member.payload(), "guild_id": str(guild_id)})

    async def member_leave(self, guild_id: int, user_id: int) -> None:
        """Remove a member and dispatch GUILD_MEMBER_REMOVE."""
        member = self.guilds[guild_id].members.pop(user_id)
        await self.dispatch(
            "GUILD_MEMBER_REMOVE", {"guild_id": str(guild_id), "user": member.user.payload()}
        )

    async def channel_deleted(self, channel_id: int) -> None:
        """Delete a guild channel and dispatch CHANNEL_DELETE."""
        channel = self.channels[channel_id]
        data = self.channel_payload(channel)
        self.delete_channel(channel_id)
        await self.dispatch("CHANNEL_DELETE", data)

    async def thread_opened_by(self, user_id: int, parent_id: int, name: str) -> Channel:
        """A public thread a member (not the bot) opened, dispatched as THREAD_CREATE."""
        parent = self.channels[parent_id]
        thread = Channel(
            snowflake(), 11, name, parent.guild_id, parent_id=parent_id, owner_id=user_id
        )
        thread.thread_member_ids.add(user_id)
        self.channels[thread.id] = thread
        self.guilds[parent.guild_id or 0].channels[thread.id] = thread
        await self.dispatch(
            "THREAD_CREATE", {**self.channel_payload(thread), "newly_created": True}
        )
        return thread

    async def channel_updated(self, channel_id: int) -> None:
        """Dispatch CHANNEL_UPDATE (e.g. after :meth:`deny_send` while the bot is connected)."""
        await self.dispatch("CHANNEL_UPDATE", self.channel_payload(self.channels[channel_id]))

    # -- interactions ----------------------------------------------------------------------
    async def _send(self, handle: InteractionHandle) -> InteractionHandle:
        if not self.gateway.connected:
            raise RuntimeError("no bot is connected to the fake gateway")
        await self.dispatch("INTERACTION_CREATE", handle.payload)
        return handle

    async def invoke(
        self,
        guild_id: int | None,
        user_id: int,
        command: str,
        /,
        *,
        channel_id: int | None = None,
        options: dict[str, Any] | None = None,
        locale: str = "en-US",
        **kwargs: Any,
    ) -> InteractionHandle:
        """Run slash command ``"group sub name"`` as ``user_id`` (guild_id None: in DMs)."""
        channel_id = channel_id or self.builder.default_channel(guild_id, user_id)
        values = {**(options or {}), **kwargs}
        data = self.builder.command_data(guild_id, user_id, channel_id, command, values)
        return await self._send(
            self.builder.create(2, guild_id, user_id, channel_id, data, locale=locale)
        )

    async def autocomplete(
        self,
        guild_id: int | None,
        user_id: int,
        command: str,
        /,
        *,
        focused: str,
        channel_id: int | None = None,
        timeout: float = 5.0,
        options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[dict]:
        """Send a type 4 interaction with ``focused`` option; return the bot's choices."""
        channel_id = channel_id or self.builder.default_channel(guild_id, user_id)
        values = {**(options or {}), **kwargs}
        values.setdefault(focused, "")
        data = self.builder.command_data(
            guild_id, user_id, channel_id, command, values, focused=focused
        )
        handle = await self._send(self.builder.create(4, guild_id, user_id, channel_id, data))
        return await handle.wait_choices(timeout)

    async def click(
        self,
        message: FakeMessage | int,
        custom_id: str,
        user_id: int,
        guild_id: int | None = None,
        *,
        values: list[str] | None = None,
    ) -> InteractionHandle:
        """Press a button / choose select ``values`` on a message the bot sent."""
        msg = message if isinstance(message, FakeMessage) else self.messages_by_id[message]
        if msg.deleted:
            raise LookupError(f"message {msg.id} was deleted; it cannot be clicked")
        guild_id = guild_id if guild_id is not None else msg.guild_id
        data = self.builder.component_data(msg, custom_id, values)
        return await self._send(
            self.builder.create(3, guild_id, user_id, msg.channel_id, data, message=msg)
        )

    async def submit_modal(
        self,
        handle_or_modal: InteractionHandle | dict,
        user_id: int,
        values: dict[str, Any] | None = None,
        *,
        guild_id: int | None = None,
        channel_id: int | None = None,
    ) -> InteractionHandle:
        """Submit the modal the bot opened (type 5), mirroring its layout with ``values``."""
        if isinstance(handle_or_modal, InteractionHandle):
            modal = handle_or_modal.modal
            if modal is None:
                modal = await handle_or_modal.wait_modal()
            guild_id = guild_id if guild_id is not None else handle_or_modal.guild_id
            channel_id = channel_id or handle_or_modal.channel_id
        else:
            modal = handle_or_modal
        channel_id = channel_id or self.builder.default_channel(guild_id, user_id)
        data = {
            "custom_id": modal["custom_id"],
            "components": modal_components(modal.get("components", []), values or {}),
        }
        return await self._send(self.builder.create(5, guild_id, user_id, channel_id, data))
