"""Plain values the pairing service hands to the cog, and the ports it needs from outside.

The service never imports discord: what it needs of Discord (who is still in the guild, sending a
DM, opening a private thread) is the `PairingPort` protocol, implemented by the cog. What it needs
of other features (open asks/offers, today's prompt) are the `TopicSource` and `StarterSource`
callables, wired in `bot/services.py`, so pairing works before or without those features.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Literal, Protocol

Answer = Literal["met", "not_yet", "skipped"]
ANSWERS: tuple[Answer, ...] = ("met", "not_yet", "skipped")

# Open asks by member and offered topics by member, for the engine's topic preference.
TopicMaps = tuple[dict[int, frozenset[str]], dict[int, frozenset[str]]]
TopicSource = Callable[[int], Awaitable[TopicMaps]]
# A conversation starter for a guild's round, given the round's seed: the prompts feature gives
# today's prompt, else a built-in one chosen by the seed (pairing never imports bot.prompts).
StarterSource = Callable[[int, int], Awaitable[str]]


async def no_topics(guild_id: int) -> TopicMaps:
    """The topic source until the help ledger is wired: nobody asks or offers anything."""
    return {}, {}


class DmRefused(Exception):
    """The member does not accept DMs from the bot (Discord error 50007)."""


class DeliveryFailed(Exception):
    """The message cannot be delivered there at all (missing channel or permission)."""


class DiscordUnavailable(Exception):
    """Discord cannot say who is in the guild now (not loaded yet, error, timeout); retry."""


@dataclass(frozen=True, slots=True)
class PairingSettings:
    guild_id: int
    channel_id: int
    role_id: int | None
    cadence: str
    weekday: int
    at: time
    paused: bool


@dataclass(frozen=True, slots=True)
class Intro:
    """What one member (or, in a thread, a whole group) is told about their round."""

    round_id: int
    guild_id: int
    user_ids: tuple[int, ...]  # recipients: one member for a DM, the group for a thread
    partner_ids: tuple[int, ...]  # everyone in the group except the recipient (DM) / everyone
    outcome: str  # 'paired', 'left_out' or 'alone'
    shared_topics: tuple[str, ...]
    starter: str
    nonce: str


@dataclass(frozen=True, slots=True)
class CheckIn:
    round_id: int
    guild_id: int
    user_id: int
    partner_ids: tuple[int, ...]
    nonce: str


@dataclass(frozen=True, slots=True)
class Notice:
    """A change during a round: a partner left, and perhaps a new partner was found."""

    round_id: int
    guild_id: int
    user_id: int
    kind: str  # 'partner_left' (to the one left behind) or 'rematched' (to the new partner)
    partner_ids: tuple[int, ...]  # the current partners (empty: nobody for now)
    departed_user_id: int  # who left the guild
    nonce: str


@dataclass(frozen=True, slots=True)
class Announcement:
    """The round's post in the pairing channel: counts only, no names."""

    round_id: int
    guild_id: int
    pairs: int
    trios: int
    members: int
    checkin_at: datetime
    nonce: str


class PairingPort(Protocol):
    """What the service needs of Discord; the cog implements it."""

    async def present(self, guild_id: int, user_ids: set[int], role_id: int | None) -> set[int]:
        """Those of `user_ids` who are in the guild (and have `role_id`, if given).

        Raises DiscordUnavailable when Discord cannot tell now (the guild is not loaded, an
        error or a timeout): the caller retries later rather than pairing a partial pool.
        """
        ...

    async def send_intro(self, intro: Intro) -> int:
        """DM the intro to its one recipient; return the message id. Raises DmRefused."""
        ...

    async def send_group_thread(self, channel_id: int, group_id: int, intro: Intro) -> int:
        """Introduce the group in a private thread of `channel_id` with every member added.

        Returns the thread id. Raises DeliveryFailed when that is impossible.
        """
        ...

    async def announce(self, channel_id: int, announcement: Announcement) -> int:
        """Post the round's announcement. Raises DeliveryFailed."""
        ...

    async def send_checkin(self, checkin: CheckIn) -> int:
        """DM the check-in with its buttons. Raises DmRefused."""
        ...

    async def send_notice(self, notice: Notice) -> int:
        """DM a mid-round change. Raises DmRefused."""
        ...


@dataclass(frozen=True, slots=True)
class MemberStatus:
    opted_in: bool
    paused_until: datetime | None
    partner_ids: tuple[int, ...]
    round_started_at: datetime | None
    next_round_at: datetime | None
    avoiding: int  # how many members this member avoids (only ever shown to them)


@dataclass(frozen=True, slots=True)
class RoundPlan:
    """The groups a round has (or would have, for a preview)."""

    groups: tuple[tuple[int, ...], ...]
    shared_topics: tuple[tuple[str, ...], ...]
    left_out: tuple[int, ...]
    pool_size: int


@dataclass(frozen=True, slots=True)
class StartedRound:
    round_id: int
    created: bool  # False: this slot's round already existed
    plan: RoundPlan


@dataclass(frozen=True, slots=True)
class Undelivered:
    round_id: int
    user_id: int
    kind: str


@dataclass(frozen=True, slots=True)
class PairingStats:
    rounds: int
    pairs: int
    trios: int
    met: int
    not_yet: int
    skipped: int
    unanswered: int
    last_round_at: datetime | None
    undelivered: list[Undelivered] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CheckinAck:
    answer: Answer
    changed: bool  # False: the same answer was already stored
