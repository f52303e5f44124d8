"""A Discord stand-in for unit tests of the outbox and of the features that enqueue into it.

`FakeTransport` implements `bot.outbox.Transport` over a tiny model of Discord: messages keyed
by the row that sent them, nonces remembered for `nonce_memory` on the test's clock (like
Discord's few minutes), and answers a test can script per row. It counts every `deliver` call
(`attempts`), so a test sees a resend even when the nonce made it harmless.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.outbox import Outbox, OutboxRow, Outcome, Sent


@dataclass
class FakeMessage:
    id: int
    dedupe_key: str
    kind: str
    channel_id: int | None
    user_id: int | None
    nonce: str
    created_at: datetime


class FakeTransport:
    """Messages as Discord would keep them, with scripted answers and holds."""

    def __init__(self, clock: Clock, *, nonce_memory: timedelta = timedelta(minutes=5)) -> None:
        self.clock = clock
        self.nonce_memory = nonce_memory
        self.messages: list[FakeMessage] = []
        self.attempts: list[str] = []  # dedupe key of every deliver call, resends included
        self.reads: list[tuple[str, datetime]] = []  # (dedupe key, since) of every read-back
        self.scripts: dict[str, list[Outcome]] = {}
        self.read_answers: list[Outcome] = []  # forced read-back answers (e.g. Transient)
        #: While set to an event, deliver waits on it before (`hold_before`) or after creating
        #: the message (`hold_after`): stop the outbox then to crash mid-attempt.
        self.hold_before: asyncio.Event | None = None
        self.hold_after: asyncio.Event | None = None
        self.in_flight = 0
        self.most_in_flight = 0
        self._ids = itertools.count(1)

    def script(self, key: str, *outcomes: Outcome) -> None:
        """Answer the next attempts at `key` with `outcomes` instead of sending."""
        self.scripts.setdefault(key, []).extend(outcomes)

    def sent_to(self, key: str) -> list[FakeMessage]:
        return [m for m in self.messages if m.dedupe_key == key]

    def attempts_per_key(self) -> Counter[str]:
        return Counter(self.attempts)

    async def deliver(self, row: OutboxRow) -> Outcome:
        self.attempts.append(row.dedupe_key)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.hold_before is not None:
                await self.hold_before.wait()
            scripted = self.scripts.get(row.dedupe_key)
            if scripted:
                return scripted.pop(0)
            message = self._create(row)
            if self.hold_after is not None:
                await self.hold_after.wait()
            return Sent(message.id, row.channel_id)
        finally:
            self.in_flight -= 1

    async def find_delivered(self, row: OutboxRow, since: datetime) -> Outcome | None:
        self.reads.append((row.dedupe_key, since))
        if self.read_answers:
            return self.read_answers.pop(0)
        for message in self.messages:
            if message.dedupe_key == row.dedupe_key and message.created_at >= since:
                return Sent(message.id, row.channel_id)
        return None

    def _create(self, row: OutboxRow) -> FakeMessage:
        """A new message, or the earlier one when its nonce is still remembered."""
        now = self.clock.now()
        for message in self.messages:
            if message.nonce == row.nonce and now - message.created_at < self.nonce_memory:
                return message
        message = FakeMessage(
            next(self._ids),
            row.dedupe_key,
            row.kind,
            row.channel_id,
            row.recipient_user_id,
            row.nonce,
            now,
        )
        self.messages.append(message)
        return message


async def drain(outbox: Outbox, rounds: int = 3) -> None:
    """Let the outbox's loop and attempts run until nothing is left to do now."""
    quiet = 0
    while quiet < rounds:
        await asyncio.sleep(0.002)
        if outbox.busy:
            quiet = 0
            await outbox.idle()
        else:
            quiet += 1


async def until(predicate: Callable[[], object], within: float = 5.0) -> None:
    """Wait (polling) until `predicate()` is true: e.g. an attempt is in flight."""
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.002)
