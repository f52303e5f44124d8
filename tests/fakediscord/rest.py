"""REST routes for users, guilds, channels, messages, DMs, threads and command sync.

Each handler checks what Discord checks (unknown channel 10003, DMs closed 50007, missing
permissions 50013) so the bot's error paths can be exercised end to end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from .models import Channel, FakeMessage
from .payloads import (
    CREATE_PRIVATE_THREADS,
    CREATE_PUBLIC_THREADS,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
    snowflake,
)
from .state import MessageAttempt
from .wire import ApiError, FileMap, json_response, read_body, unknown

if TYPE_CHECKING:
    from .server import FakeDiscord

A = "/api/v10"


class Rest:
    """Route handlers bound to one :class:`FakeDiscord`."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get(f"{A}/users/@me", self.get_me)
        r.add_get(f"{A}/users/{{user_id:\\d+}}", self.get_user)
        r.add_get(f"{A}/oauth2/applications/@me", self.get_app)
        r.add_get(f"{A}/applications/@me", self.get_app)
        r.add_get(f"{A}/gateway", self.get_gateway)
        r.add_get(f"{A}/gateway/bot", self.get_gateway)
        r.add_post(f"{A}/users/@me/channels", self.open_dm)
        r.add_get(f"{A}/guilds/{{guild_id}}", self.get_guild)
        r.add_get(f"{A}/guilds/{{guild_id}}/channels", self.get_guild_channels)
        r.add_get(f"{A}/guilds/{{guild_id}}/roles", self.get_roles)
        r.add_get(f"{A}/guilds/{{guild_id}}/members", self.list_members)
        r.add_get(f"{A}/guilds/{{guild_id}}/members/{{user_id}}", self.get_member)
        r.add_get(f"{A}/channels/{{channel_id}}", self.get_channel)
        r.add_get(f"{A}/channels/{{channel_id}}/messages", self.list_messages)
        r.add_post(f"{A}/channels/{{channel_id}}/messages", self.create_message)
        r.add_get(f"{A}/channels/{{channel_id}}/messages/{{message_id}}", self.get_message)
        r.add_patch(f"{A}/channels/{{channel_id}}/messages/{{message_id}}", self.edit_message)
        r.add_delete(f"{A}/channels/{{channel_id}}/messages/{{message_id}}", self.delete_message)
        r.add_post(
            f"{A}/channels/{{channel_id}}/messages/{{message_id}}/threads", self.thread_from_message
        )
        r.add_post(f"{A}/channels/{{channel_id}}/threads", self.thread_without_message)
        r.add_put(f"{A}/channels/{{channel_id}}/thread-members/{{user_id}}", self.add_thread_member)
        r.add_put(
            f"{A}/channels/{{channel_id}}/messages/{{message_id}}/reactions/{{emoji}}/@me",
            self.no_content,
        )
        for scope in ("", "/guilds/{guild_id}"):
            path = f"{A}/applications/{{app_id}}{scope}/commands"
            r.add_put(path, self.put_commands)
            r.add_get(path, self.get_commands)
        r.add_get("/attachments/{att_id}/{filename}", self.get_file)

    # -- users / app ---------------------------------------------------------------------------
    async def get_me(self, request: web.Request) -> web.Response:
        user = self.fake.bot_user.payload()
        return json_response({**user, "verified": True, "mfa_enabled": False, "locale": "en-US"})

    async def get_user(self, request: web.Request) -> web.Response:
        user = self.fake.users.get(int(request.match_info["user_id"]))
        if user is None:
            raise unknown("User", 10013)
        return json_response(user.payload())

    async def get_app(self, request: web.Request) -> web.Response:
        f = self.fake
        owner = next(iter(f.guilds.values())).owner_id if f.guilds else f.app_id
        return json_response(
            {
                "id": str(f.app_id),
                "name": f.bot_user.name,
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "owner": f.users.get(owner, f.bot_user).payload(),
                "team": None,
                "flags": 0,
                "summary": "",
                "rpc_origins": [],
                "interactions_endpoint_url": None,
                "bot": f.bot_user.payload(),
            }
        )

    async def get_gateway(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "url": self.fake.gateway.url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    async def open_dm(self, request: web.Request) -> web.Response:
        body, _ = await read_body(request)
        user_id = int(body["recipient_id"])
        if user_id not in self.fake.users:
            raise ApiError(400, 50033, "Invalid Recipient(s)")
        return json_response(self.fake.channel_payload(self.fake.dm_channel(user_id)))

    # -- guilds ------------------------------------------------------------------------------
    def _guild(self, request: web.Request):
        guild = self.fake.guilds.get(int(request.match_info["guild_id"]))
        if guild is None:
            raise unknown("Guild", 10004)
        return guild

    async def get_guild(self, request: web.Request) -> web.Response:
        return json_response(self.fake.gateway.guild_payload(self._guild(request).id))

    async def get_guild_channels(self, request: web.Request) -> web.Response:
        g = self._guild(request)
        return json_response(
            [self.fake.channel_payload(c) for c in g.channels.values() if not c.is_thread]
        )

    async def get_roles(self, request: web.Request) -> web.Response:
        return json_response([r.payload() for r in self._guild(request).roles.values()])

    async def list_members(self, request: web.Request) -> web.Response:
        """List Guild Members: by user id, after `after`, at most `limit` (1-1000, default 1)."""
        guild = self._guild(request)
        try:
            limit = int(request.query.get("limit", 1))
            after = int(request.query.get("after", 0))
        except ValueError:
            raise ApiError(400, 50035, "Invalid Form Body") from None
        if not 1 <= limit <= 1000:
            raise ApiError(400, 50035, "Invalid Form Body (limit must be 1 to 1000)")
        self.fake.member_list_requests += 1
        ids = sorted(u for u in guild.members if u > after)[:limit]
        return json_response([guild.members[u].payload() for u in ids])

    async def get_member(self, request: web.Request) -> web.Response:
        member = self._guild(request).members.get(int(request.match_info["user_id"]))
        if member is None:
            raise unknown("Member", 10007)
        return json_response(member.payload())

    # -- channels & messages -----------------------------------------------------------------
    def _channel(self, request: web.Request) -> Channel:
        channel = self.fake.channels.get(int(request.match_info["channel_id"]))
        if channel is None:
            raise unknown("Channel", 10003)
        return channel

    def _require(self, channel: Channel, perm: int) -> None:
        if channel.guild_id is None:
            return
        perms = self.fake.permissions(channel.guild_id, self.fake.app_id, channel.id)
        if not perms & VIEW_CHANNEL:
            raise ApiError(403, 50001, "Missing Access")
        if not perms & perm:
            raise ApiError(403, 50013, "Missing Permissions")

    def _message(self, request: web.Request) -> FakeMessage:
        channel = self._channel(request)
        msg = self.fake.messages_by_id.get(int(request.match_info["message_id"]))
        if msg is None or msg.deleted or msg.channel_id != channel.id:
            raise unknown("Message", 10008)
        return msg

    async def get_channel(self, request: web.Request) -> web.Response:
        return json_response(self.fake.channel_payload(self._channel(request)))

    async def list_messages(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        q = request.query
        msgs = self.fake.channel_messages(channel.id)
        if "before" in q:
            msgs = [m for m in msgs if m.id < int(q["before"])]
        if "after" in q and "before" in q:
            msgs = [m for m in msgs if m.id > int(q["after"])]
        limit = int(q.get("limit", 50))
        if "after" in q and "before" not in q:
            # Discord answers the `limit` messages right after `after`, newest first.
            msgs = sorted((m for m in msgs if m.id > int(q["after"])), key=lambda m: m.id)
            page = sorted(msgs[:limit], key=lambda m: m.id, reverse=True)
        else:
            page = sorted(msgs, key=lambda m: m.id, reverse=True)[:limit]
        return json_response([m.payload() for m in page])

    async def create_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        body, files = await read_body(request)
        nonce = body.get("nonce")
        attempt = MessageAttempt(
            channel.id,
            None if nonce is None else str(nonce),
            str(body.get("content") or ""),
            self.fake.now(),
        )
        self.fake.message_attempts.append(attempt)
        try:
            msg, created = self._create_message(channel, body, files)
        except ApiError:
            attempt.outcome = "refused"
            raise
        finally:
            self.fake.notify()
        attempt.outcome = "created" if created else "deduplicated"
        attempt.message_id = msg.id
        return json_response(msg.payload())

    def _create_message(
        self, channel: Channel, body: dict, files: FileMap
    ) -> tuple[FakeMessage, bool]:
        """The new message (True), or the earlier one with the same nonce (False)."""
        if channel.type == 1 and channel.recipient_id in self.fake.dms_closed:
            raise ApiError(403, 50007, "Cannot send messages to this user")
        self._require(channel, SEND_MESSAGES_IN_THREADS if channel.is_thread else SEND_MESSAGES)
        if not (
            body.get("content")
            or body.get("embeds")
            or files
            or body.get("components")
            or body.get("attachments")
            or body.get("sticker_ids")
            or body.get("poll")
        ):
            raise ApiError(400, 50006, "Cannot send an empty message")
        if body.get("nonce") is not None and body.get("enforce_nonce"):
            earlier = self.fake.find_nonce(channel.id, body["nonce"])
            if earlier is not None:
                return earlier, False
        msg = self.fake.new_message(channel.id, body, files)
        self.fake.remember_nonce(msg)
        return msg, True

    async def get_message(self, request: web.Request) -> web.Response:
        return json_response(self._message(request).payload())

    async def edit_message(self, request: web.Request) -> web.Response:
        msg = self._message(request)
        body, files = await read_body(request)
        self.fake.apply_edit(msg, body, files)
        self.fake.notify()
        return json_response(msg.payload())

    async def delete_message(self, request: web.Request) -> web.Response:
        self._message(request).deleted = True
        self.fake.notify()
        return json_response(None)

    async def no_content(self, request: web.Request) -> web.Response:
        return json_response(None)

    # -- threads -----------------------------------------------------------------------------
    async def _new_thread(
        self, parent: Channel, thread_id: int, body: dict, type_: int
    ) -> web.Response:
        thread = Channel(
            thread_id,
            type_,
            str(body.get("name", "thread"))[:100],
            parent.guild_id,
            parent_id=parent.id,
            owner_id=self.fake.app_id,
            auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
            invitable=bool(body.get("invitable", True)),
        )
        thread.thread_member_ids.add(self.fake.app_id)
        self.fake.channels[thread.id] = thread
        if parent.guild_id in self.fake.guilds:
            self.fake.guilds[parent.guild_id].channels[thread.id] = thread
        data = self.fake.channel_payload(thread)
        await self.fake.dispatch("THREAD_CREATE", {**data, "newly_created": True})
        self.fake.notify()
        return json_response(data, 201)

    async def thread_from_message(self, request: web.Request) -> web.Response:
        msg = self._message(request)
        parent = self._channel(request)
        self._require(parent, CREATE_PUBLIC_THREADS)
        if msg.thread_id is not None:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        body, _ = await read_body(request)
        msg.thread_id = msg.id
        return await self._new_thread(parent, msg.id, body, 10 if parent.type == 5 else 11)

    async def thread_without_message(self, request: web.Request) -> web.Response:
        parent = self._channel(request)
        body, _ = await read_body(request)
        type_ = int(body.get("type") or 12)
        self._require(parent, CREATE_PRIVATE_THREADS if type_ == 12 else CREATE_PUBLIC_THREADS)
        return await self._new_thread(parent, snowflake(), body, type_)

    async def add_thread_member(self, request: web.Request) -> web.Response:
        thread = self._channel(request)
        user_id = int(request.match_info["user_id"])
        if not thread.is_thread:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        if self.fake.member(thread.guild_id or 0, user_id) is None:
            raise unknown("Member", 10007)
        thread.thread_member_ids.add(user_id)
        self.fake.notify()
        return json_response(None)

    # -- commands & files --------------------------------------------------------------------
    async def put_commands(self, request: web.Request) -> web.Response:
        body, _ = await read_body(request)
        gid = request.match_info.get("guild_id")
        stored = self.fake.store_commands(int(gid) if gid else None, list(body))
        self.fake.notify()
        return json_response(stored)

    async def get_commands(self, request: web.Request) -> web.Response:
        gid = request.match_info.get("guild_id")
        return json_response(self.fake.commands(int(gid) if gid else None))

    async def get_file(self, request: web.Request) -> web.Response:
        att = self.fake.files.get(int(request.match_info["att_id"]))
        if att is None:  # outside /api/v10, so no middleware turns ApiError into JSON
            return json_response({"code": 0, "message": "404: Not Found"}, 404)
        return web.Response(body=att.data, headers={"Content-Type": att.content_type})
