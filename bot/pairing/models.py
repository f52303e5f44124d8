"""Plain values the pairing service hands to the cog, and the ports it needs from outside.

The service never imports discord: what it needs to ask Discord (who is still in the guild) is
the `Presence` protocol, implemented by the cog; what it sends goes through the outbox as the
payloads of `Intro`, `CheckIn`, `Notice` and `Announcement`, which the cog renders. What it
needs of other features (open asks/offers, today's prompt) are the `TopicSource` and
`StarterSource` callables, wired in `bot/services.py`, so pairing works without those features.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, time
from typing import Any, Literal, Protocol

from bot.timeutil import from_db, to_db

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


class DiscordUnavailable(Exception):
    """Discord cannot say who is in the guild now (not loaded yet, error, timeout); retry."""


@dataclass(frozen=True, slots=True)
class PairingSettings:
    """A guild's round schedule as an admin set it: channel, role, cadence, time, pause."""

    guild_id: int
    channel_id: int
    role_id: int | None
    cadence: str
    weekday: int
    at: time
    paused: bool


def _payload(message: Any) -> dict[str, Any]:
    """A message value as an outbox payload (JSON: tuples become lists)."""
    return asdict(message)


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
    talk: bool = False  # a "Talk 1:1 about this" pairing: the starter is the day's prompt

    def payload(self) -> dict[str, Any]:
        """The intro as the JSON payload of its outbox row."""
        return _payload(self)

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> Intro:
        """The intro back from its outbox row, for the cog to render."""
        return cls(
            p["round_id"],
            p["guild_id"],
            tuple(p["user_ids"]),
            tuple(p["partner_ids"]),
            p["outcome"],
            tuple(p["shared_topics"]),
            p["starter"],
            p.get("talk", False),
        )


@dataclass(frozen=True, slots=True)
class CheckIn:
    """The mid-round DM asking one member whether their group has met."""

    round_id: int
    guild_id: int
    user_id: int
    partner_ids: tuple[int, ...]

    def payload(self) -> dict[str, Any]:
        """The check-in as the JSON payload of its outbox row."""
        return _payload(self)

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> CheckIn:
        """The check-in back from its outbox row, for the cog to render."""
        return cls(p["round_id"], p["guild_id"], p["user_id"], tuple(p["partner_ids"]))


@dataclass(frozen=True, slots=True)
class Notice:
    """A change during a round: a partner left, and perhaps a new partner was found."""

    round_id: int
    guild_id: int
    user_id: int
    kind: str  # 'partner_left' (to the one left behind) or 'rematched' (to the new partner)
    partner_ids: tuple[int, ...]  # the current partners (empty: nobody for now)
    departed_user_id: int  # who left the guild

    def payload(self) -> dict[str, Any]:
        """The notice as the JSON payload of its outbox row."""
        return _payload(self)

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> Notice:
        """The notice back from its outbox row, for the cog to render."""
        return cls(
            p["round_id"],
            p["guild_id"],
            p["user_id"],
            p["kind"],
            tuple(p["partner_ids"]),
            p["departed_user_id"],
        )


@dataclass(frozen=True, slots=True)
class Announcement:
    """The round's post in the pairing channel: counts only, no names."""

    round_id: int
    guild_id: int
    pairs: int
    trios: int
    members: int
    checkin_at: datetime

    def payload(self) -> dict[str, Any]:
        """The announcement as the JSON payload of its outbox row."""
        return {**_payload(self), "checkin_at": to_db(self.checkin_at)}

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> Announcement:
        """The announcement back from its outbox row, for the cog to render."""
        return cls(
            p["round_id"],
            p["guild_id"],
            p["pairs"],
            p["trios"],
            p["members"],
            from_db(p["checkin_at"]),
        )


class Presence(Protocol):
    """What the service asks Discord: who is in the guild now; the cog implements it."""

    async def present(self, guild_id: int, user_ids: set[int], role_id: int | None) -> set[int]:
        """Those of `user_ids` who are in the guild (and have `role_id`, if given).

        Raises DiscordUnavailable when Discord cannot tell now (the guild is not loaded, an
        error or a timeout): the caller retries later rather than pairing a partial pool.
        """
        ...


@dataclass(frozen=True, slots=True)
class MemberStatus:
    """What `/pair status` shows a member about themselves: opt-in, pause, partners, next round."""

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
    """The outcome of starting a round, telling a new round from a slot's existing one."""

    round_id: int
    created: bool  # False: this slot's round already existed
    plan: RoundPlan


@dataclass(frozen=True, slots=True)
class Undelivered:
    """A member a round's message could not reach (DMs closed, no thread), for admins."""

    round_id: int
    user_id: int
    kind: str


@dataclass(frozen=True, slots=True)
class PairingStats:
    """The figures of `/admin pairing stats`: rounds, groups, check-in answers, failures."""

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
    """The outcome of a check-in button press, so a repeated answer is acknowledged as such."""

    answer: Answer
    changed: bool  # False: the same answer was already stored
