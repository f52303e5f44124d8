"""The outbox's plain values: a row, what Discord answered, the per-kind hooks, the transport.

Nothing here knows Discord: the transport (`bot/edge/transport.py`) turns Discord's answers into
one of the four outcomes, and the features react to them through their kind's hooks.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from bot.db import Row, Transaction
from bot.timeutil import from_db, maybe_from_db

State = Literal["pending", "sending", "sent", "failed", "refused", "cancelled"]
#: States a row never leaves: the runner is done with it.
FINISHED: tuple[State, ...] = ("sent", "failed", "refused", "cancelled")
NONCE_LENGTH = 25  # Discord accepts nonces of at most 25 characters


def nonce_for(key: str) -> str:
    """The row's nonce: deterministic (a resend carries the same one, so Discord returns the
    first message), derived from the dedupe key, 25 characters."""
    digest = hashlib.blake2b(key.encode(), digest_size=15).digest()
    return "k" + base64.b32encode(digest).decode().lower()


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One message to send (or edit, or thread to open), as stored."""

    id: int
    guild_id: int
    dedupe_key: str
    kind: str
    channel_id: int | None  # a channel or thread; for a DM, the DM channel once known
    recipient_user_id: int | None  # a DM's member
    edit_message_id: int | None  # the message an edit changes (in channel_id)
    payload: Mapping[str, Any]  # everything the renderer needs, fixed at enqueue
    nonce: str
    state: State
    attempts: int
    next_attempt_at: datetime
    claimed_at: datetime | None  # the first attempt that may have reached Discord
    expires_at: datetime | None
    last_error: str | None
    message_id: int | None
    created_at: datetime
    sent_at: datetime | None
    lease_holder: str | None = None  # the claim holding the row (see rows.py)

    @classmethod
    def from_db(cls, row: Row) -> OutboxRow:
        """An `outbox` table row as the value the runner and the transport work with."""
        return cls(
            id=row["id"],
            guild_id=row["guild_id"],
            dedupe_key=row["dedupe_key"],
            kind=row["kind"],
            channel_id=row["channel_id"],
            recipient_user_id=row["recipient_user_id"],
            edit_message_id=row["edit_message_id"],
            payload=json.loads(row["payload"]),
            nonce=row["nonce"],
            state=row["state"],
            attempts=row["attempts"],
            next_attempt_at=from_db(row["next_attempt_at"]),
            claimed_at=maybe_from_db(row["claimed_at"]),
            expires_at=maybe_from_db(row["expires_at"]),
            last_error=row["last_error"],
            message_id=row["message_id"],
            created_at=from_db(row["created_at"]),
            sent_at=maybe_from_db(row["sent_at"]),
            lease_holder=row["lease_holder"],
        )

    @property
    def finished(self) -> bool:
        """Whether the row is in a final state and will never be sent again."""
        return self.state in FINISHED


# -- what Discord answered, as the transport classifies it -----------------------------------


@dataclass(frozen=True, slots=True)
class Sent:
    """Discord has the message (or the edit, or the thread): its ids."""

    message_id: int | None  # None for an action without a message (adding thread members)
    channel_id: int | None = None  # where it went (the DM channel, the thread)
    thread_id: int | None = None  # a thread opened by this row
    problem: str | None = None  # sent, but a part Discord refused (e.g. the post's thread)


@dataclass(frozen=True, slots=True)
class Transient:
    """It may work later (5xx, network, timeout, a 429 that outlasted discord.py's retries, an
    unexpected error): the row keeps its nonce and is tried again after a backoff."""

    reason: str
    retry_after: float | None = None  # seconds, when Discord said how long to wait


@dataclass(frozen=True, slots=True)
class Failed:
    """Discord will refuse it the same way again (a 4xx: missing permission, channel gone), or
    it could not be sent in time (expired)."""

    reason: str  # in words an admin can act on, e.g. "missing permission in <#123>"
    code: int | None = None  # Discord's error code, when Discord refused it
    target_gone: bool = False  # the channel (or the message to edit) no longer exists


@dataclass(frozen=True, slots=True)
class Refused:
    """The member does not accept DMs from the bot (Discord error 50007)."""

    reason: str


Outcome = Sent | Transient | Failed | Refused


# -- per-kind hooks, registered by the feature that owns the kind ----------------------------

StillWanted = Callable[[OutboxRow], Awaitable[bool]]
OnSent = Callable[[Transaction, OutboxRow, Sent], Awaitable[None]]
OnRefused = Callable[[Transaction, OutboxRow, Refused], Awaitable[None]]
OnFailed = Callable[[Transaction, OutboxRow, Failed], Awaitable[None]]
DEFAULT_EXPIRY = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class KindHooks:
    """How a feature follows its kind of message. Every hook is optional.

    `on_sent`, `on_refused` and `on_failed` run in the transaction that finishes the row, so
    the domain's record (a post's message id, a fallback thread queued) and the row's state
    change together or not at all; they may enqueue follow-ups in that transaction.
    """

    #: Checked before every attempt; False cancels the row (e.g. the ask was closed).
    still_wanted: StillWanted | None = None
    on_sent: OnSent | None = None
    #: DMs closed; without this hook the row just ends `refused`.
    on_refused: OnRefused | None = None
    #: Given up (a final refusal, or expired): record the problem for admins.
    on_failed: OnFailed | None = None
    #: How long after enqueueing a row stops being retried (`enqueue(expires_in=)` overrides).
    expires_after: timedelta = DEFAULT_EXPIRY


# -- what the runner needs of Discord ---------------------------------------------------------


class Transport(Protocol):
    """Sends rows to Discord and reads back; implemented by `bot.edge.transport`."""

    async def deliver(self, row: OutboxRow) -> Outcome:
        """Send (edit, open) the row with its nonce; classify Discord's answer. Never raises."""
        ...

    async def find_delivered(self, row: OutboxRow, since: datetime) -> Outcome | None:
        """Look for the row's message created after `since` (Discord's nonce memory is gone).

        `Sent` when found, None when certainly not there (send it), `Transient` when Discord
        could not be asked, `Failed` when the target is gone. Idempotent actions (edits, adding
        thread members) answer None without asking: sending them again is harmless.
        """
        ...


@dataclass(frozen=True, slots=True)
class GuildScope:
    """The guilds this process sends for, as an SQL condition on `guild_id` (issue 12 runs one
    process per set of shards; a single process owns every guild: `ALL_GUILDS`)."""

    condition: str = "1 = 1"
    params: tuple[Any, ...] = field(default=())

    @classmethod
    def only(cls, guild_ids: set[int]) -> GuildScope:
        """Exactly these guilds (for tests; shards use a condition on `guild_id`)."""
        ids = sorted(guild_ids)
        if not ids:
            return cls("1 = 0")
        return cls(f"guild_id IN ({', '.join('?' * len(ids))})", tuple(ids))


ALL_GUILDS = GuildScope()
