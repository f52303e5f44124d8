"""A guild's past, written straight into the database: rounds with their groups and check-ins,
asks with their helpers, offers. For the insights tests and benchmark, which need a known (or a
large) history without running a year of rounds through the services."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime

from bot.db import Database
from bot.timeutil import to_db


@dataclass
class GuildHistory:
    """Rows to write for one guild; ids are assigned here, so writes are plain bulk inserts."""

    guild_id: int
    joined_at: datetime
    members: list[tuple[int, str | None]] = field(default_factory=list)  # user, paused_until
    rounds: list[tuple[int, str, int | None]] = field(default_factory=list)
    groups: list[tuple[int, int, int]] = field(default_factory=list)
    assignments: list[tuple[int, int, int | None, str, str | None]] = field(default_factory=list)
    topics: dict[str, int] = field(default_factory=dict)
    asks: list[tuple[int, int, int, int, str, str, str | None]] = field(default_factory=list)
    helpers: list[tuple[int, int, str]] = field(default_factory=list)
    offers: list[tuple[int, int, int, str, str]] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def member(self, user_id: int, paused_until: datetime | None = None) -> None:
        """A member in the pairing pool (paused until `paused_until`, if given)."""
        self.members.append((user_id, to_db(paused_until) if paused_until else None))

    def round(
        self,
        started_at: datetime,
        groups: list[tuple[int, ...]],
        answers: dict[int, str] | None = None,
        left_out: tuple[int, ...] = (),
        talk_post_id: int | None = None,
    ) -> None:
        """A round with its groups; `answers` maps a member to 'met', 'not_yet' or 'skipped'
        (`talk_post_id`: a "Talk 1:1 about this" pairing instead)."""
        answers = answers or {}
        round_id = next(self._ids)
        self.rounds.append((round_id, to_db(started_at), talk_post_id))
        for members in groups:
            group_id = next(self._ids)
            self.groups.append((group_id, round_id, len(members)))
            for user_id in members:
                answer = answers.get(user_id)
                self.assignments.append((round_id, user_id, group_id, "paired", answer))
        for user_id in left_out:
            self.assignments.append((round_id, user_id, None, "left_out", None))

    def ask(
        self,
        created_at: datetime,
        topic: str,
        status: str = "open",
        closed_at: datetime | None = None,
        helpers_at: tuple[datetime, ...] = (),
        user_id: int = 1,
    ) -> None:
        """An ask on `topic`, with the times its helpers came forward."""
        ask_id = next(self._ids)
        closed = to_db(closed_at) if closed_at else None
        topic_id = self._topic(topic)
        self.asks.append((ask_id, ask_id, topic_id, user_id, status, to_db(created_at), closed))
        for helper, moment in enumerate(helpers_at, start=1_000_000):
            self.helpers.append((ask_id, helper, to_db(moment)))

    def offer(self, topic: str, user_id: int, at: datetime, status: str = "open") -> None:
        """An offer of help on `topic`."""
        offer_id = next(self._ids)
        self.offers.append((offer_id, self._topic(topic), user_id, status, to_db(at)))

    def _topic(self, name: str) -> int:
        if name not in self.topics:
            self.topics[name] = next(self._ids)
        return self.topics[name]

    async def write(self, db: Database) -> None:
        """Insert everything in one transaction."""
        g, joined = self.guild_id, to_db(self.joined_at)
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO guilds (guild_id, timezone, joined_at) VALUES (?, 'UTC', ?) "
                "ON CONFLICT (guild_id) DO NOTHING",
                (g, joined),
            )
            await tx.executemany(
                "INSERT INTO pairing_members (guild_id, user_id, joined_at, paused_until) "
                "VALUES (?, ?, ?, ?)",
                [(g, user, joined, paused) for user, paused in self.members],
            )
            await tx.executemany(
                "INSERT INTO pairing_rounds (round_id, guild_id, slot_key, started_at, checkin_at,"
                " seed, talk_post_id) VALUES (?, ?, ?, ?, ?, 0, ?)",
                [(r, g, f"{at}:{r}", at, at, talk) for r, at, talk in self.rounds],
            )
            await tx.executemany(
                "INSERT INTO pairing_groups (group_id, round_id, guild_id, size) "
                "VALUES (?, ?, ?, ?)",
                [(group, r, g, size) for group, r, size in self.groups],
            )
            await tx.executemany(
                "INSERT INTO pairing_assignments (round_id, guild_id, user_id, group_id, outcome,"
                " answer, checkin_asked) VALUES (?, ?, ?, ?, ?, ?, 1)",
                [
                    (r, g, user, group, outcome, answer)
                    for r, user, group, outcome, answer in self.assignments
                ],
            )
            await tx.executemany(
                "INSERT INTO helpdesk_topics (topic_id, guild_id, name, created_at) "
                "VALUES (?, ?, ?, ?)",
                [(topic, g, name, joined) for name, topic in self.topics.items()],
            )
            await tx.executemany(
                "INSERT INTO helpdesk_asks (ask_id, guild_id, request_no, topic_id, user_id, "
                "details, status, created_at, closed_at) VALUES (?, ?, ?, ?, ?, '', ?, ?, ?)",
                [(a, g, no, t, u, s, c, cl) for a, no, t, u, s, c, cl in self.asks],
            )
            await tx.executemany(
                "INSERT INTO helpdesk_helpers (ask_id, guild_id, helper_user_id, offered_at) "
                "VALUES (?, ?, ?, ?)",
                [(a, g, helper, at) for a, helper, at in self.helpers],
            )
            await tx.executemany(
                "INSERT INTO helpdesk_offers (offer_id, guild_id, request_no, topic_id, user_id,"
                " status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(o, g, o, t, u, s, at, at) for o, t, u, s, at in self.offers],
            )
