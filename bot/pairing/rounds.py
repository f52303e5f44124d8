"""Rounds: the pool, the plan, creating a round once per slot with its messages.

A round is one row per (guild, slot): the scheduled slot's UTC minute, or `now:<interaction id>`
for `/admin pairing run-now` (so a retried interaction cannot start a second round). The round,
its groups, every member's assignment, every member's intro and the announcement are written in
one transaction; the outbox then sends the messages exactly once (bot/pairing/messages.py), so
a crash at any point leaves rows to resume and never a message sent twice.

Who is in the pool is asked of Discord (`Presence.present`) when the round is made; if Discord
cannot answer, `DiscordUnavailable` propagates and the scheduler retries the round job (same
slot, see `round_job`) instead of pairing a partial pool.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from datetime import datetime

from bot.breaks import BreakCalendar
from bot.clock import Clock
from bot.db import Database, Transaction
from bot.errors import UserError
from bot.guilds import GuildService
from bot.helpdesk.topics import shown_topics
from bot.scheduler import Job, Scheduler
from bot.schedules import midpoint, slot_key
from bot.timeutil import to_db

from .availability import Schedule
from .common import (
    CHECKIN_JOB,
    ROUND_CATCH_UP,
    UNAVAILABLE,
    UNSCHEDULED_ROUND_LENGTH,
    checkin_job_key,
    round_seed,
)
from .engine import match, mutual_pairs
from .match_types import MatchInput
from .meeting_times import propose_slots
from .member_times import MemberTimes, MemberTimesStore
from .messages import RoundMessages
from .models import (
    Announcement,
    DiscordUnavailable,
    Presence,
    RoundPlan,
    StartedRound,
    StarterSource,
    TopicSource,
)
from .schedule import RoundSchedule

log = logging.getLogger(__name__)


class Rounds:
    """Makes each round once; asks Discord who is present (through `Presence`)."""

    def __init__(
        self,
        db: Database,
        scheduler: Scheduler,
        clock: Clock,
        schedule: RoundSchedule,
        messages: RoundMessages,
        guilds: GuildService,
        times: MemberTimesStore,
        *,
        topics: TopicSource,
        starters: StarterSource,
        breaks: BreakCalendar,
    ) -> None:
        self._db = db
        self._breaks = breaks
        self._guilds = guilds
        self._times = times
        self._scheduler = scheduler
        self._clock = clock
        self._schedule = schedule
        self._messages = messages
        self._topics = topics
        self._starters = starters
        self._presence: Presence | None = None

    def attach(self, presence: Presence | None) -> None:
        """Connect to Discord (the cog), or disconnect (None): rounds need to know who is in."""
        self._presence = presence

    async def pool(self, guild_id: int) -> list[int]:
        """Opted-in members still in the guild, with the role if set, and not paused."""
        rows = await self._db.fetchall(
            "SELECT user_id FROM pairing_members "
            "WHERE guild_id = ? AND (paused_until IS NULL OR paused_until <= ?)",
            (guild_id, to_db(self._clock.now())),
        )
        return await self.present_of(guild_id, {r["user_id"] for r in rows})

    async def present_of(self, guild_id: int, candidates: set[int]) -> list[int]:
        """Those of `candidates` still in the guild with the pairing role (if set), sorted."""
        if self._presence is None:
            raise DiscordUnavailable("not connected to Discord")
        settings = await self._schedule.settings(guild_id)
        present = await self._presence.present(
            guild_id, candidates, settings.role_id if settings else None
        )
        return sorted(candidates & present)

    async def plan(self, guild_id: int, seed: int) -> RoundPlan:
        """Who would meet whom if a round ran now (nothing is stored or sent)."""
        return await self.plan_for(guild_id, await self.pool(guild_id), seed)

    async def plan_for(self, guild_id: int, members: list[int], seed: int) -> RoundPlan:
        """How the engine groups `members`, honouring blocks and the guild's history."""
        history = await self._db.fetchall(
            """
            SELECT a.user_id AS a_id, b.user_id AS b_id, MAX(a.round_id) AS round_id
            FROM pairing_assignments a
            JOIN pairing_assignments b ON b.group_id = a.group_id AND a.user_id < b.user_id
            WHERE a.guild_id = ? GROUP BY a.user_id, b.user_id
            """,
            (guild_id,),
        )
        blocks = await self._db.fetchall(
            "SELECT user_id, blocked_user_id FROM pairing_blocks WHERE guild_id = ?", (guild_id,)
        )
        favoured = await self._db.fetchall(
            "SELECT user_id FROM pairing_members WHERE guild_id = ? AND favoured = 1",
            (guild_id,),
        )
        choices = await self._db.fetchall(
            "SELECT user_id, partner_user_id FROM pairing_meet_again WHERE guild_id = ?",
            (guild_id,),
        )
        asks, offers = await self._topics(guild_id)
        times = await self._times.for_members(guild_id, members)
        result = match(
            MatchInput(
                members=members,
                last_met={(r["a_id"], r["b_id"]): r["round_id"] for r in history},
                blocked=[(r["user_id"], r["blocked_user_id"]) for r in blocks],
                asks=asks,
                offers=offers,
                favoured=frozenset(r["user_id"] for r in favoured),
                meet_again=mutual_pairs((r["user_id"], r["partner_user_id"]) for r in choices),
                schedules={m: t.schedule for m, t in times.items()},
                default_zone=await self._guilds.timezone(guild_id),
                week_start=self._clock.now(),
                seed=seed,
            )
        )
        groups = tuple(g.members for g in result.groups)
        return RoundPlan(
            groups=groups,
            shared_topics=tuple(shown_topics(g.shared_topics) for g in result.groups),
            left_out=result.left_out if result.groups else tuple(members),
            pool_size=len(members),
            overlap_minutes=tuple(g.overlap_minutes for g in result.groups),
            meet_again=tuple(g.meet_again for g in result.groups),
            proposals=await _proposals(groups, times, self._clock.now()),
        )

    async def preview(self, guild_id: int) -> RoundPlan:
        """The groups a round would have now, for admins; nothing is stored or sent."""
        try:
            return await self.plan(guild_id, round_seed(guild_id, "preview"))
        except DiscordUnavailable:
            raise UserError(UNAVAILABLE) from None

    async def run_now(self, guild_id: int, interaction_id: int) -> StartedRound:
        """Start a round at once. Keyed by the interaction, so a retry cannot start two."""
        if await self._schedule.settings(guild_id) is None:
            raise UserError(
                "Pairing is not set up yet. Choose a channel and schedule with "
                "`/admin pairing schedule` first."
            )
        try:
            started = await self.start_round(guild_id, f"now:{interaction_id}")
        except DiscordUnavailable:
            raise UserError(UNAVAILABLE) from None
        if started is None:
            raise UserError(
                "Nobody is in the pairing pool right now (members opt in with `/pair join`)."
            )
        return started

    async def round_job(self, job: Job) -> datetime | None:
        """Scheduler handler: start this slot's round (skipped if long overdue); the next slot."""
        assert job.guild_id is not None
        now = self._clock.now()
        # A retried job has moved on by its backoff; the slot it serves is still the last
        # scheduled one at or before its due time, so the retry claims the same round.
        slot = await self._schedule.slot_served(job.guild_id, job.due_at)
        next_at = await self._schedule.next_slot(job.guild_id, max(now, job.due_at))
        if slot is None or next_at is None:
            return None  # paused or switched off meanwhile
        school_break = await self._breaks.at(job.guild_id, slot)
        if school_break is not None:
            # A slot inside a school break is skipped, not caught up after it.
            log.info("Pairing round of guild %s due %s: on break", job.guild_id, to_db(slot))
        elif now - slot < ROUND_CATCH_UP:
            await self.start_round(job.guild_id, slot_key(slot), next_at=next_at)
        else:
            log.warning(
                "Pairing round of guild %s due %s skipped: the bot was down until %s",
                job.guild_id,
                to_db(slot),
                to_db(now),
            )
        return next_at

    async def start_round(
        self, guild_id: int, key: str, *, next_at: datetime | None = None
    ) -> StartedRound | None:
        """Create the round for `key` (once) with its groups and messages."""
        existing = await self._db.fetchval(
            "SELECT round_id FROM pairing_rounds WHERE guild_id = ? AND slot_key = ?",
            (guild_id, key),
        )
        if existing is not None:
            return StartedRound(existing, created=False, plan=await self._stored_plan(existing))
        plan = await self.plan(guild_id, round_seed(guild_id, key))
        if plan.pool_size == 0:
            log.info("Pairing round %s of guild %s: nobody in the pool", key, guild_id)
            return None
        now = self._clock.now()
        if next_at is None:
            next_at = (
                await self._schedule.next_slot(guild_id, now) or now + UNSCHEDULED_ROUND_LENGTH
            )
        checkin_at = midpoint(now, next_at)
        starter = await self._starter(guild_id, round_seed(guild_id, key))
        settings = await self._schedule.settings(guild_id)
        async with self._db.transaction() as tx:
            round_id = await tx.fetchval(
                "INSERT INTO pairing_rounds (guild_id, slot_key, started_at, checkin_at, seed, "
                "starter) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, slot_key) DO NOTHING "
                "RETURNING round_id",
                (guild_id, key, to_db(now), to_db(checkin_at), round_seed(guild_id, key), starter),
            )
            if round_id is None:
                return None  # created concurrently; that run sends its messages
            await self.store_plan(tx, guild_id, round_id, plan)
            sizes = [len(g) for g in plan.groups]
            announcement = Announcement(
                round_id=round_id,
                guild_id=guild_id,
                pairs=sizes.count(2),
                trios=sizes.count(3),
                members=plan.pool_size,
                checkin_at=checkin_at,
            )
            await self._messages.enqueue_round(
                tx,
                round_id,
                guild_id,
                settings.channel_id if settings else None,
                starter,
                announcement,
            )
        self._messages.wake()
        await self._scheduler.schedule(
            checkin_job_key(round_id),
            CHECKIN_JOB,
            checkin_at,
            guild_id=guild_id,
            payload={"round_id": round_id},
        )
        log.info(
            "Pairing round %s (%s) of guild %s: %d groups, %d left out",
            round_id,
            key,
            guild_id,
            len(plan.groups),
            len(plan.left_out),
        )
        return StartedRound(round_id, created=True, plan=plan)

    async def store_plan(
        self, tx: Transaction, guild_id: int, round_id: int, plan: RoundPlan
    ) -> None:
        """Groups (with their proposed times) and assignments, in the caller's transaction."""
        for k, (members, topics) in enumerate(zip(plan.groups, plan.shared_topics, strict=True)):
            slots = plan.proposals[k] if plan.proposals else ()
            group_id = await tx.fetchval(
                "INSERT INTO pairing_groups (round_id, guild_id, size, shared_topics, "
                "overlap_minutes, proposed_slots) VALUES (?, ?, ?, ?, ?, ?) RETURNING group_id",
                (
                    round_id,
                    guild_id,
                    len(members),
                    json.dumps(list(topics)),
                    plan.overlap_minutes[k] if plan.overlap_minutes else None,
                    json.dumps([to_db(s) for s in slots]),
                ),
            )
            # Paired again as both wished: their choices are used up.
            for a, b in plan.meet_again[k] if plan.meet_again else ():
                await tx.execute(
                    "DELETE FROM pairing_meet_again WHERE guild_id = ? AND ((user_id = ? AND "
                    "partner_user_id = ?) OR (user_id = ? AND partner_user_id = ?))",
                    (guild_id, a, b, b, a),
                )
            await tx.executemany(
                "INSERT INTO pairing_assignments (round_id, guild_id, user_id, group_id, outcome) "
                "VALUES (?, ?, ?, ?, 'paired')",
                [(round_id, guild_id, m, group_id) for m in members],
            )
        outcome = "alone" if plan.pool_size == 1 else "left_out"
        await tx.executemany(
            "INSERT INTO pairing_assignments (round_id, guild_id, user_id, outcome) "
            "VALUES (?, ?, ?, ?)",
            [(round_id, guild_id, m, outcome) for m in plan.left_out],
        )
        # Whoever could not be placed is covered first next round; the placed lose the favour.
        await tx.execute(
            "UPDATE pairing_members SET favoured = CASE WHEN user_id IN (SELECT user_id FROM "
            "pairing_assignments WHERE round_id = ? AND outcome = 'left_out') THEN 1 ELSE 0 END "
            "WHERE guild_id = ? AND user_id IN (SELECT user_id FROM pairing_assignments "
            "WHERE round_id = ?)",
            (round_id, guild_id, round_id),
        )

    async def _stored_plan(self, round_id: int) -> RoundPlan:
        rows = await self._db.fetchall(
            "SELECT a.user_id, a.group_id, a.outcome, g.shared_topics FROM pairing_assignments a "
            "LEFT JOIN pairing_groups g ON g.group_id = a.group_id "
            "WHERE a.round_id = ? ORDER BY a.group_id, a.user_id",
            (round_id,),
        )
        groups: dict[int, list[int]] = {}
        topics: dict[int, tuple[str, ...]] = {}
        for r in rows:
            if r["group_id"] is not None:
                groups.setdefault(r["group_id"], []).append(r["user_id"])
                topics[r["group_id"]] = tuple(json.loads(r["shared_topics"]))
        return RoundPlan(
            groups=tuple(tuple(m) for m in groups.values()),
            shared_topics=tuple(topics[g] for g in groups),
            left_out=tuple(r["user_id"] for r in rows if r["group_id"] is None),
            pool_size=len(rows),
        )

    async def _starter(self, guild_id: int, seed: int) -> str:
        """The round's conversation starter; a round goes ahead without one if it fails."""
        try:
            return await self._starters(guild_id, seed)
        except Exception:
            log.exception("Could not get a conversation starter for guild %s", guild_id)
            return ""


async def _proposals(
    groups: tuple[tuple[int, ...], ...], times: Mapping[int, MemberTimes], now: datetime
) -> tuple[tuple[datetime, ...], ...]:
    """Each group's meeting times, computed off the event loop (~1.5 ms per distinct set of
    schedules; groups with the same zones and windows share one computation)."""
    wanted = [tuple(times[m].schedule for m in g) for g in groups]

    def propose_all() -> tuple[tuple[datetime, ...], ...]:
        known: dict[tuple[Schedule, ...], tuple[datetime, ...]] = {}
        for schedules in wanted:
            if schedules not in known:
                known[schedules] = propose_slots(schedules, now)
        return tuple(known[s] for s in wanted)

    return await asyncio.to_thread(propose_all)
