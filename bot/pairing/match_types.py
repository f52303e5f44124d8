"""What the pairing engine takes and returns: plain values, no logic.

Why a module of its own: the engine's private modules (``_pool`` ...) read ``MatchInput`` and
``engine`` builds ``MatchResult``; with the values here, a leaf that imports nothing of the
engine, ``bot/pairing`` has no import cycle.

API::

    MatchInput(members, last_met=..., blocked=..., asks=..., offers=..., favoured=...,
               meet_again=..., schedules=..., default_zone=..., week_start=..., seed=...)
    MatchResult(groups: tuple[Group, ...], left_out: tuple[int, ...])
    Group(members, shared_topics, overlap_minutes, meet_again)

``bot.pairing.engine.match(MatchInput) -> MatchResult`` does the work.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from .availability import Schedule

UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True)
class MatchInput:
    """Everything one round needs.

    ``last_met`` maps a pair (either order) to when they last met: a round number or any
    increasing ordinal (a timestamp); pairs absent have never met. ``blocked`` holds pairs in
    either direction. ``asks`` / ``offers`` map a member to the topics of their open asks / their
    offered topics. ``favoured`` are members left out last round: they are covered first.
    ``meet_again`` holds the MUTUAL "Meet again" pairs (either order; pass only pairs where both
    chose it): each counts as never-met; the groups report them so the caller clears both
    choices.

    Meeting times: with ``week_start`` (the round's instant; the week from it is the one whose
    UTC offsets count), each member's ``schedules`` entry - or, if absent, 07:00-21:00 in
    ``default_zone`` (the guild's timezone) - gives the weekly overlap that ranks pairs and that
    each ``Group`` reports. Without ``week_start`` times of day are ignored and
    ``Group.overlap_minutes`` is None. Ids outside ``members`` are ignored everywhere.
    """

    members: Sequence[int]
    last_met: Mapping[tuple[int, int], float] = field(default_factory=dict)
    blocked: Iterable[tuple[int, int]] = frozenset()
    asks: Mapping[int, frozenset[str]] = field(default_factory=dict)
    offers: Mapping[int, frozenset[str]] = field(default_factory=dict)
    favoured: frozenset[int] = frozenset()
    meet_again: Iterable[tuple[int, int]] = frozenset()
    schedules: Mapping[int, Schedule] = field(default_factory=dict)
    default_zone: ZoneInfo = UTC_ZONE
    week_start: datetime | None = None
    seed: int = 0


@dataclass(frozen=True)
class Group:
    """A pair or a trio (sorted ids).

    ``shared_topics``: topics one member asks about and another offers. ``overlap_minutes``:
    minutes of the coming week when all members are free (None without ``week_start``).
    ``meet_again``: the group's mutual "Meet again" pairs, whose choices the caller clears.
    """

    members: tuple[int, ...]
    shared_topics: tuple[str, ...] = ()
    overlap_minutes: int | None = None
    meet_again: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class MatchResult:
    """The round: groups (pairs, trios only where needed) and who could not be placed."""

    groups: tuple[Group, ...]
    left_out: tuple[int, ...]
