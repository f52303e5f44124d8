"""Interaction callback and webhook routes: how the bot answers interactions.

``POST /interactions/{id}/{token}/callback?with_response=1`` must answer with
``{"interaction": ..., "resource": ...}`` (an empty 204 breaks discord.py); follow-ups and
edits of ``@original`` go through ``/webhooks/{app}/{token}``. Everything is recorded on the
interaction's :class:`InteractionHandle`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from .handle import InteractionHandle
from .models import FakeMessage
from .wire import ApiError, json_response, read_body, unknown

if TYPE_CHECKING:
    from .server import FakeDiscord

A = "/api/v10"


class Callbacks:
    """Route handlers for interaction responses, bound to one :class:`FakeDiscord`."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_post(f"{A}/interactions/{{iid}}/{{token}}/callback", self.callback)
        hook = f"{A}/webhooks/{{app_id}}/{{token}}"
        r.add_post(hook, self.followup)
        for method, handler in (("GET", self.get), ("PATCH", self.edit), ("DELETE", self.delete)):
            r.add_route(method, f"{hook}/messages/{{message_id}}", handler)

    def _handle(self, request: web.Request) -> InteractionHandle:
        handle = self.fake.interactions.get(request.match_info["token"])
        if handle is None:
            raise unknown("interaction", 10062)
        return handle

    async def callback(self, request: web.Request) -> web.Response:
        handle = self._handle(request)
        if str(handle.id) != request.match_info["iid"]:
            raise unknown("interaction", 10062)
        if handle.callbacks:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        body, files = await read_body(request)
        type_, data = int(body.get("type", 0)), body.get("data") or {}
        handle.callbacks.append(body)
        msg: FakeMessage | None = None
        resource: dict[str, Any] = {"type": type_}
        f = self.fake
        if type_ == 4:
            kind = 20 if handle.type == 2 else 0
            msg = f.new_message(
                handle.channel_id,
                data,
                files,
                type=kind,
                webhook_id=f.app_id,
                interaction_id=handle.id,
            )
            handle.original = msg
            handle.record("reply", msg)
        elif type_ == 5:
            flags = (int(data.get("flags") or 0) & 64) | 128
            msg = f.new_message(
                handle.channel_id,
                {"content": "", "flags": flags},
                {},
                type=20 if handle.type == 2 else 0,
                webhook_id=f.app_id,
                interaction_id=handle.id,
            )
            handle.original = msg
            handle.record("defer", msg)
        elif type_ in (6, 7):
            if handle.source_message is None:
                raise ApiError(400, 50035, "Invalid Form Body (update needs a message)")
            handle.original = handle.source_message
            if type_ == 7:
                msg = handle.source_message
                f.apply_edit(msg, data, files)
                handle.record("update", msg)
        elif type_ == 8:
            handle.choices = list(data.get("choices", []))
        elif type_ == 9:
            handle.modal = data
        elif type_ != 1:
            raise ApiError(400, 50035, f"Invalid Form Body (callback type {type_})")
        handle.notify()
        f.notify()
        if msg is not None:
            resource["message"] = msg.payload()
        interaction = {
            "id": str(handle.id),
            "type": handle.type,
            "response_message_loading": type_ == 5,
            "response_message_ephemeral": bool(msg and msg.ephemeral),
        }
        if msg is not None:
            interaction["response_message_id"] = str(msg.id)
        if "with_response" not in request.query:
            return json_response(None)
        return json_response({"interaction": interaction, "resource": resource})

    def _message(self, handle: InteractionHandle, message_id: str) -> FakeMessage:
        if message_id == "@original":
            msg = handle.original
        else:
            msg = self.fake.messages_by_id.get(int(message_id))
            if msg is not None and msg not in handle.messages and msg is not handle.original:
                msg = None
        if msg is None or msg.deleted:
            raise unknown("Message", 10008)
        return msg

    async def followup(self, request: web.Request) -> web.Response:
        handle = self._handle(request)
        if not handle.callbacks:
            raise unknown("Webhook", 10015)
        body, files = await read_body(request)
        msg = self.fake.new_message(
            handle.channel_id, body, files, webhook_id=self.fake.app_id, interaction_id=handle.id
        )
        handle.record("followup", msg)
        self.fake.notify()
        return json_response(msg.payload() if request.query.get("wait") else None)

    async def get(self, request: web.Request) -> web.Response:
        handle = self._handle(request)
        return json_response(self._message(handle, request.match_info["message_id"]).payload())

    async def edit(self, request: web.Request) -> web.Response:
        handle = self._handle(request)
        msg = self._message(handle, request.match_info["message_id"])
        body, files = await read_body(request)
        self.fake.apply_edit(msg, body, files)
        handle.record("edit", msg)
        self.fake.notify()
        return json_response(msg.payload())

    async def delete(self, request: web.Request) -> web.Response:
        handle = self._handle(request)
        msg = self._message(handle, request.match_info["message_id"])
        msg.deleted = True
        handle.record("delete", msg)
        self.fake.notify()
        return json_response(None)
