"""Plain values the pairing service hands to the cog, and the ports it needs from outside.

The service never imports discord: what it needs to ask Discord (who is still in the guild) is
the `Presence` protocol, implemented by the cog; what it sends goes through the outbox as the
payloads of `Intro`, `CheckIn`, `Notice` and `Announcement`, which the cog renders. What it
needs of other features (open asks/offers, today's prompt) are the `TopicSource` and
`StarterSource` callables, wired in `bot/services.py`, so pairing works without those features.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
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
    times: ProposedTimes | None = None  # a group's meeting times (None: no group)

    def payload(self) -> dict[str, Any]:
        """The intro as the JSON payload of its outbox row."""
        times = self.times.payload() if self.times else None
        return {**_payload(replace(self, times=None)), "times": times}

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> Intro:
        """The intro back from its outbox row, for the cog to render."""
        times = p.get("times")  # absent in intros enqueued before meeting times existed
        return cls(
            p["round_id"],
            p["guild_id"],
            tuple(p["user_ids"]),
            tuple(p["partner_ids"]),
            p["outcome"],
            tuple(p["shared_topics"]),
            p["starter"],
            p.get("talk", False),
            ProposedTimes.from_payload(times) if times else None,
        )


@dataclass(frozen=True, slots=True)
class ProposedTimes:
    """The meeting times an intro offers its group, each with a "Works for me" button.

    Without slots the group has no common time: ``local_now`` then lists each member's local
    time when the round was made, as (user_id, "Mon 14:05", zone name), so they can arrange it.
    """

    group_id: int
    slots: tuple[datetime, ...]
    local_now: tuple[tuple[int, str, str], ...] = ()

    def payload(self) -> dict[str, Any]:
        """JSON for the outbox (times as database text)."""
        return {
            "group_id": self.group_id,
            "slots": [to_db(s) for s in self.slots],
            "local_now": [list(t) for t in self.local_now],
        }

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> ProposedTimes:
        """The inverse of ``payload``."""
        return cls(
            p["group_id"],
            tuple(from_db(s) for s in p["slots"]),
            tuple((int(u), str(t), str(z)) for u, t, z in p["local_now"]),
        )


@dataclass(frozen=True, slots=True)
class MeetingNote:
    """A confirmed meeting time, told to a member (DM) or, when their DMs are closed, to the
    group's private thread (``user_ids`` the whole group); ``reminder``: 30 minutes before."""

    round_id: int
    guild_id: int
    group_id: int
    at: datetime
    user_ids: tuple[int, ...]
    partner_ids: tuple[int, ...]
    reminder: bool

    def payload(self) -> dict[str, Any]:
        """JSON for the outbox."""
        return {**_payload(self), "at": to_db(self.at)}

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> MeetingNote:
        """The inverse of ``payload``."""
        return cls(
            p["round_id"],
            p["guild_id"],
            p["group_id"],
            from_db(p["at"]),
            tuple(p["user_ids"]),
            tuple(p["partner_ids"]),
            p["reminder"],
        )


@dataclass(frozen=True, slots=True)
class PickAck:
    """What a "Works for me" press did: the pick (None: "None of these"), and the group's
    confirmed time once every member picked the same one (possibly before this press)."""

    slot: datetime | None
    confirmed_at: datetime | None
    already_confirmed: bool  # the press changed nothing: the time was confirmed before
    waiting_for: int  # members who have not picked this time yet


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
    times: ProposedTimes | None = None  # a new group's meeting times

    def payload(self) -> dict[str, Any]:
        """The notice as the JSON payload of its outbox row."""
        times = self.times.payload() if self.times else None
        return {**_payload(replace(self, times=None)), "times": times}

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
            ProposedTimes.from_payload(p["times"]) if p.get("times") else None,
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
    confirmed_at: datetime | None = None  # the current group's confirmed meeting time


@dataclass(frozen=True, slots=True)
class RoundPlan:
    """The groups a round has (or would have, for a preview)."""

    groups: tuple[tuple[int, ...], ...]
    shared_topics: tuple[tuple[str, ...], ...]
    left_out: tuple[int, ...]
    pool_size: int
    overlap_minutes: tuple[int | None, ...] = ()  # per group, weekly (None: not computed)
    meet_again: tuple[tuple[tuple[int, int], ...], ...] = ()  # per group: mutual pairs
    proposals: tuple[tuple[datetime, ...], ...] = ()  # per group: meeting times to propose


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
    groups: int = 0  # groups the rounds made (the shares below are of these)
    with_overlap: int = 0  # groups whose members share 60+ minutes a week
    overlap_known: int = 0  # groups made since overlap was recorded
    confirmed: int = 0  # groups that confirmed a meeting time
    groups_met: int = 0  # groups where someone's check-in said "We met"


@dataclass(frozen=True, slots=True)
class CheckinAck:
    """The outcome of a check-in button press, so a repeated answer is acknowledged as such."""

    answer: Answer
    changed: bool  # False: the same answer was already stored
