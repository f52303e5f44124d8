"""InteractionHandle: what a test holds after invoking a command, clicking or submitting.

Every callback and webhook call the bot makes for the interaction lands here, so a test can
await "the reply" without knowing whether the bot answered directly, deferred or followed up.
"""

# ruff: noqa: ASYNC109  (explicit timeout= arguments are this test API's contract)

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .models import FakeMessage


@dataclass
class InteractionHandle:
    """One interaction sent to the bot and everything the bot answered to it."""

    id: int
    token: str
    type: int
    payload: dict
    channel_id: int
    guild_id: int | None
    user_id: int
    #: For component interactions: the message the component is on (what type 7 edits).
    source_message: FakeMessage | None = None
    #: Raw callback bodies the bot POSTed, in order (``{"type": 4, "data": {...}}``).
    callbacks: list[dict] = field(default_factory=list)
    #: Reply, follow-ups and updated messages, in order of first appearance.
    messages: list[FakeMessage] = field(default_factory=list)
    #: ``(kind, message)`` for every create/edit/delete ("reply", "followup", "edit", ...).
    events: list[tuple[str, FakeMessage]] = field(default_factory=list)
    original: FakeMessage | None = None
    modal: dict | None = None
    choices: list[dict] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    # -- state ---------------------------------------------------------------------------
    @property
    def acknowledged(self) -> bool:
        return bool(self.callbacks)

    @property
    def response_type(self) -> int | None:
        return self.callbacks[0]["type"] if self.callbacks else None

    @property
    def deferred(self) -> bool:
        return self.response_type in (5, 6)

    @property
    def ephemeral(self) -> bool:
        """Whether the first reply (or deferral) was ephemeral."""
        if self.callbacks:
            data = self.callbacks[0].get("data") or {}
            if int(data.get("flags") or 0) & 64:
                return True
        first = next((m for m in self.messages if not m.loading), None)
        return bool(first and first.ephemeral)

    def record(self, kind: str, msg: FakeMessage) -> None:
        if msg not in self.messages:
            self.messages.append(msg)
        self.events.append((kind, msg))
        self.notify()

    def notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # -- waiting -------------------------------------------------------------------------
    async def wait_for(
        self,
        predicate: Callable[[InteractionHandle], Any],
        timeout: float = 5.0,
        what: str = "condition",
    ) -> Any:
        """Wait until ``predicate(self)`` is truthy and return its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate(self)
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(
                    f"interaction {self.id}: no {what} after {timeout}s; "
                    f"callbacks={[c.get('type') for c in self.callbacks]}, "
                    f"messages={[m.content[:40] for m in self.messages]}"
                )
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                continue

    async def response(self, timeout: float = 5.0) -> FakeMessage:
        """The first real reply: the message, the finished deferral, an update or a follow-up."""
        return await self.wait_for(
            lambda h: next((m for m in h.messages if not m.loading), None), timeout, "reply"
        )

    async def ack(self, timeout: float = 5.0) -> int:
        """Wait for the initial callback and return its type (4, 5, 6, 7, 8, 9)."""
        return await self.wait_for(lambda h: h.response_type, timeout, "acknowledgement")

    async def followups(self, count: int, timeout: float = 5.0) -> list[FakeMessage]:
        """Wait for ``count`` real messages (reply included) and return them."""

        def ready(h: InteractionHandle) -> list[FakeMessage] | None:
            real = [m for m in h.messages if not m.loading]
            return real[:count] if len(real) >= count else None

        return await self.wait_for(ready, timeout, f"{count} messages")

    async def wait_modal(self, timeout: float = 5.0) -> dict:
        return await self.wait_for(lambda h: h.modal, timeout, "modal")

    async def wait_choices(self, timeout: float = 5.0) -> list[dict]:
        found = await self.wait_for(
            lambda h: h.choices is not None and [h.choices], timeout, "autocomplete result"
        )
        return found[0]
