"""Pairing rounds: the schedule, the pool, avoid lists, rounds, check-in answers and stats.

A round is one row per (guild, slot): the scheduled slot's UTC minute, or `now:<interaction id>`
for `/admin pairing run-now` (so a retried interaction cannot start a second round). The round,
its groups, every member's assignment and every member's intro row are written in one
transaction *before* anything is sent; delivery (bot/pairing/delivery.py) then works through the
intro rows, so a crash at any point leaves rows to resume and never a message sent twice.

Jobs (all persisted in the scheduler):
* `pairing.round:<guild>`  the guild's next slot; recurring.
* `pairing.deliver:<round>` send whatever of that round is not sent yet; re-scheduled on startup.
* `pairing.checkin:<round>` halfway to the next round: create and send the check-ins.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.db import Database, Transaction
from bot.errors import UserError
from bot.features import FeatureStatus
from bot.guilds import GuildService
from bot.prompts.library import load_library
from bot.scheduler import Job, Scheduler
from bot.schedules import (
    CADENCES,
    WEEKDAYS,
    format_hhmm,
    midpoint,
    next_round_slot,
    parse_hhmm,
    round_anchor,
    slot_key,
)
from bot.timeutil import from_db, maybe_from_db, to_db

from .delivery import DeliveryRunner
from .engine import MatchInput, match
from .models import (
    ANSWERS,
    Answer,
    CheckinAck,
    DiscordUnavailable,
    MemberStatus,
    PairingPort,
    PairingSettings,
    PairingStats,
    RoundPlan,
    StartedRound,
    StarterSource,
    TopicSource,
    Undelivered,
    no_topics,
)

log = logging.getLogger(__name__)

ROUND_JOB = "pairing.round"
DELIVER_JOB = "pairing.deliver"
CHECKIN_JOB = "pairing.checkin"
# A round missed while the bot was down still runs if it is less than this late; later than
# that, members would get an intro days after the announced time, so the slot is skipped.
ROUND_CATCH_UP = timedelta(hours=24)
# Longer than any gap between two slots (monthly: five weeks at most).
SLOT_LOOKBACK = timedelta(days=40)
# Without a schedule (run-now only), the check-in comes halfway through a week.
UNSCHEDULED_ROUND_LENGTH = timedelta(days=7)
MAX_PAUSE_WEEKS = 12


def round_job_key(guild_id: int) -> str:
    return f"{ROUND_JOB}:{guild_id}"


def deliver_job_key(round_id: int) -> str:
    return f"{DELIVER_JOB}:{round_id}"


def checkin_job_key(round_id: int) -> str:
    return f"{CHECKIN_JOB}:{round_id}"


class _PostedToday(Protocol):
    text: str | None


class _TodayLike(Protocol):
    post: _PostedToday | None


class _HasToday(Protocol):
    async def today(self, guild_id: int) -> _TodayLike: ...


def todays_prompt(prompts: _HasToday) -> StarterSource:
    """A `StarterSource` reading the guild's posted prompt of today from the prompt service."""

    async def starter(guild_id: int) -> str | None:
        today = await prompts.today(guild_id)
        return today.post.text if today.post is not None else None

    return starter


def round_seed(guild_id: int, key: str) -> int:
    """Deterministic per round, different between rounds (the engine's tie-breaking)."""
    digest = hashlib.sha256(f"{guild_id}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class PairingService:
    """The pairing feature's rules and storage; implements the `Feature` protocol."""

    name = "Pairing"

    def __init__(
        self,
        db: Database,
        scheduler: Scheduler,
        clock: Clock,
        guilds: GuildService,
        *,
        topics: TopicSource = no_topics,
        starters: StarterSource | None = None,
    ) -> None:
        self._db = db
        self._scheduler = scheduler
        self._clock = clock
        self._guilds = guilds
        self._topics = topics
        self._starters = starters
        self._port: PairingPort | None = None
        self.delivery = DeliveryRunner(db, clock)
        scheduler.register(ROUND_JOB, self._round_job)
        scheduler.register(DELIVER_JOB, self._deliver_job)
        scheduler.register(CHECKIN_JOB, self._checkin_job)

    # -- wiring -----------------------------------------------------------------------------

    async def attach(self, port: PairingPort) -> None:
        """Connect to Discord (the cog) and queue whatever a previous run left unsent."""
        self._port = port
        self.delivery.attach(port)
        rows = await self._db.fetchall(
            """
            SELECT DISTINCT round_id FROM pairing_deliveries WHERE state IN ('pending', 'sending')
            UNION SELECT round_id FROM pairing_groups WHERE thread_state IN ('wanted', 'sending')
            UNION SELECT round_id FROM pairing_rounds WHERE announce_state IN ('pending', 'sending')
            """
        )
        for row in rows:
            await self._queue_delivery(row["round_id"])

    def detach(self) -> None:
        self._port = None
        self.delivery.attach(None)

    # -- settings (admins) ------------------------------------------------------------------

    async def settings(self, guild_id: int) -> PairingSettings | None:
        row = await self._db.fetchone(
            "SELECT * FROM pairing_settings WHERE guild_id = ?", (guild_id,)
        )
        if row is None:
            return None
        return PairingSettings(
            guild_id=guild_id,
            channel_id=row["channel_id"],
            role_id=row["role_id"],
            cadence=row["cadence"],
            weekday=row["weekday"],
            at=parse_hhmm(row["at_time"]),
            paused=bool(row["paused"]),
        )

    async def configure(
        self,
        guild_id: int,
        *,
        channel_id: int,
        cadence: str,
        weekday: int,
        time_text: str,
        role_id: int | None,
    ) -> datetime:
        """Turn rounds on (or change them); returns when the first round runs."""
        if cadence not in CADENCES:
            raise UserError(f"Cadence must be one of: {', '.join(CADENCES)}.")
        if not 0 <= weekday <= 6:
            raise UserError(f"Weekday must be one of: {', '.join(WEEKDAYS)}.")
        try:
            at = parse_hhmm(time_text)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        tz = await self._guilds.timezone(guild_id)
        now = self._clock.now()
        anchor = round_anchor(now, tz, weekday, at)
        async with self._db.transaction() as tx:
            await _ensure_guild(tx, guild_id, now)
            await tx.execute(
                """
                INSERT INTO pairing_settings
                    (guild_id, channel_id, role_id, cadence, weekday, at_time, anchor, paused,
                     updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)
                ON CONFLICT (guild_id) DO UPDATE SET
                    channel_id = excluded.channel_id, role_id = excluded.role_id,
                    cadence = excluded.cadence, weekday = excluded.weekday,
                    at_time = excluded.at_time, anchor = excluded.anchor, paused = 0,
                    updated_at = excluded.updated_at
                """,
                (
                    guild_id,
                    channel_id,
                    role_id,
                    cadence,
                    weekday,
                    format_hhmm(at),
                    anchor.isoformat(),
                    to_db(now),
                ),
            )
        next_at = await self._next_slot(guild_id, now, tz)
        assert next_at is not None
        await self._scheduler.schedule(
            round_job_key(guild_id), ROUND_JOB, next_at, guild_id=guild_id
        )
        return next_at

    async def set_paused(self, guild_id: int, paused: bool) -> datetime | None:
        """Stop or restart rounds; returns the next round time when restarted."""
        if await self.settings(guild_id) is None:
            raise UserError("Pairing is not set up yet. Start with `/admin pairing schedule`.")
        await self._db.execute(
            "UPDATE pairing_settings SET paused = ? WHERE guild_id = ?", (int(paused), guild_id)
        )
        await self.reschedule(guild_id)
        return None if paused else await self._scheduler.due_at(round_job_key(guild_id))

    async def reschedule(self, guild_id: int) -> None:
        """Move the round job to the next slot (after a timezone or schedule change)."""
        next_at = await self._next_slot(guild_id, self._clock.now())
        if next_at is None:
            await self._scheduler.cancel(round_job_key(guild_id))
        else:
            await self._scheduler.schedule(
                round_job_key(guild_id), ROUND_JOB, next_at, guild_id=guild_id
            )

    async def _next_slot(
        self, guild_id: int, after: datetime, tz: ZoneInfo | None = None
    ) -> datetime | None:
        """The next scheduled slot strictly after `after`, or None when rounds are off."""
        row = await self._db.fetchone(
            "SELECT * FROM pairing_settings WHERE guild_id = ? AND paused = 0", (guild_id,)
        )
        if row is None:
            return None
        tz = tz or await self._guilds.timezone(guild_id)
        anchor = datetime.fromisoformat(row["anchor"]).date()
        return next_round_slot(
            after, tz, row["cadence"], row["weekday"], parse_hhmm(row["at_time"]), anchor
        )

    # -- membership (members) ---------------------------------------------------------------

    async def join(self, guild_id: int, user_id: int, role_ids: frozenset[int]) -> bool:
        """Opt in; False if already in. Refused without the configured pairing role."""
        settings = await self.settings(guild_id)
        if settings and settings.role_id and settings.role_id not in role_ids:
            raise UserError(
                f"Pairing here is for members with the <@&{settings.role_id}> role. "
                "Ask an admin if you think you should have it."
            )
        now = self._clock.now()
        async with self._db.transaction() as tx:
            await _ensure_guild(tx, guild_id, now)
            cursor = await tx.execute(
                "INSERT OR IGNORE INTO pairing_members (guild_id, user_id, joined_at) "
                "VALUES (?, ?, ?)",
                (guild_id, user_id, to_db(now)),
            )
            return cursor.rowcount == 1

    async def leave(self, guild_id: int, user_id: int) -> None:
        changed = await self._db.execute(
            "DELETE FROM pairing_members WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
        )
        if not changed:
            raise UserError("You are not in pairing rounds. Use `/pair join` to opt in.")

    async def pause_member(self, guild_id: int, user_id: int, weeks: int) -> datetime:
        """Skip rounds for `weeks` weeks; returns when the member is back in the pool."""
        if not 1 <= weeks <= MAX_PAUSE_WEEKS:
            raise UserError(f"Pause for 1 to {MAX_PAUSE_WEEKS} weeks.")
        until = self._clock.now() + timedelta(weeks=weeks)
        changed = await self._db.execute(
            "UPDATE pairing_members SET paused_until = ? WHERE guild_id = ? AND user_id = ?",
            (to_db(until), guild_id, user_id),
        )
        if not changed:
            raise UserError("You are not in pairing rounds, so there is nothing to pause.")
        return until

    async def resume_member(self, guild_id: int, user_id: int) -> None:
        changed = await self._db.execute(
            "UPDATE pairing_members SET paused_until = NULL "
            "WHERE guild_id = ? AND user_id = ? AND paused_until > ?",
            (guild_id, user_id, to_db(self._clock.now())),
        )
        if not changed:
            raise UserError("You are not paused. `/pair status` shows where you stand.")

    async def avoid(self, guild_id: int, user_id: int, other_user_id: int) -> bool:
        """Never pair these two (either way); False if already avoided. Nobody is told."""
        if other_user_id == user_id:
            raise UserError("You cannot avoid yourself. Pick another member.")
        now = self._clock.now()
        async with self._db.transaction() as tx:
            await _ensure_guild(tx, guild_id, now)
            cursor = await tx.execute(
                "INSERT OR IGNORE INTO pairing_blocks "
                "(guild_id, user_id, blocked_user_id, created_at) VALUES (?, ?, ?, ?)",
                (guild_id, user_id, other_user_id, to_db(now)),
            )
            return cursor.rowcount == 1

    async def unavoid(self, guild_id: int, user_id: int, other_user_id: int) -> None:
        changed = await self._db.execute(
            "DELETE FROM pairing_blocks WHERE guild_id = ? AND user_id = ? AND blocked_user_id = ?",
            (guild_id, user_id, other_user_id),
        )
        if not changed:
            raise UserError("You were not avoiding that member; nothing changed.")

    async def member_status(self, guild_id: int, user_id: int) -> MemberStatus:
        row = await self._db.fetchone(
            "SELECT paused_until FROM pairing_members WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
        paused_until = maybe_from_db(row["paused_until"]) if row else None
        if paused_until is not None and paused_until <= self._clock.now():
            paused_until = None  # a pause ends by itself
        current = await self._db.fetchone(
            """
            SELECT r.round_id, r.started_at, a.group_id FROM pairing_rounds r
            JOIN pairing_assignments a ON a.round_id = r.round_id AND a.user_id = ?
            WHERE r.guild_id = ? ORDER BY r.round_id DESC LIMIT 1
            """,
            (user_id, guild_id),
        )
        partners: tuple[int, ...] = ()
        if current is not None and current["group_id"] is not None:
            partners = await self._partners(current["group_id"], user_id)
        avoiding = await self._db.fetchval(
            "SELECT COUNT(*) FROM pairing_blocks WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
        return MemberStatus(
            opted_in=row is not None,
            paused_until=paused_until,
            partner_ids=partners,
            round_started_at=from_db(current["started_at"]) if current else None,
            next_round_at=await self._scheduler.due_at(round_job_key(guild_id)),
            avoiding=avoiding,
        )

    async def _partners(self, group_id: int, user_id: int) -> tuple[int, ...]:
        rows = await self._db.fetchall(
            "SELECT user_id FROM pairing_assignments "
            "WHERE group_id = ? AND user_id != ? AND left_guild = 0 ORDER BY user_id",
            (group_id, user_id),
        )
        return tuple(r["user_id"] for r in rows)

    # -- rounds ------------------------------------------------------------------------------

    async def pool(self, guild_id: int) -> list[int]:
        """Opted-in members still in the guild, with the role if set, and not paused."""
        if self._port is None:
            raise DiscordUnavailable("not connected to Discord")
        settings = await self.settings(guild_id)
        rows = await self._db.fetchall(
            "SELECT user_id FROM pairing_members "
            "WHERE guild_id = ? AND (paused_until IS NULL OR paused_until <= ?)",
            (guild_id, to_db(self._clock.now())),
        )
        candidates = {r["user_id"] for r in rows}
        present = self._port.present(guild_id, candidates, settings.role_id if settings else None)
        return sorted(candidates & present)

    async def plan(self, guild_id: int, seed: int) -> RoundPlan:
        """Who would meet whom if a round ran now (nothing is stored or sent)."""
        members = await self.pool(guild_id)
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
        asks, offers = await self._topics(guild_id)
        result = match(
            MatchInput(
                members=members,
                last_met={(r["a_id"], r["b_id"]): r["round_id"] for r in history},
                blocked=[(r["user_id"], r["blocked_user_id"]) for r in blocks],
                asks=asks,
                offers=offers,
                favoured=frozenset(r["user_id"] for r in favoured),
                seed=seed,
            )
        )
        return RoundPlan(
            groups=tuple(g.members for g in result.groups),
            shared_topics=tuple(g.shared_topics for g in result.groups),
            left_out=result.left_out if result.groups else tuple(members),
            pool_size=len(members),
        )

    async def preview(self, guild_id: int) -> RoundPlan:
        try:
            return await self.plan(guild_id, round_seed(guild_id, "preview"))
        except DiscordUnavailable:
            raise UserError(_LOADING) from None

    async def run_now(self, guild_id: int, interaction_id: int) -> StartedRound:
        """Start a round at once. Keyed by the interaction, so a retry cannot start two."""
        if await self.settings(guild_id) is None:
            raise UserError(
                "Pairing is not set up yet. Choose a channel and schedule with "
                "`/admin pairing schedule` first."
            )
        try:
            started = await self._start_round(guild_id, f"now:{interaction_id}")
        except DiscordUnavailable:
            raise UserError(_LOADING) from None
        if started is None:
            raise UserError(
                "Nobody is in the pairing pool right now (members opt in with `/pair join`)."
            )
        return started

    async def _round_job(self, job: Job) -> datetime | None:
        assert job.guild_id is not None
        now = self._clock.now()
        # A retried job has moved on by its backoff; the slot it serves is still the last
        # scheduled one at or before its due time, so the retry claims the same round.
        slot = await self._slot_served(job.guild_id, job.due_at)
        next_at = await self._next_slot(job.guild_id, max(now, job.due_at))
        if slot is None or next_at is None:
            return None  # paused or switched off meanwhile
        if now - slot < ROUND_CATCH_UP:
            await self._start_round(job.guild_id, slot_key(slot), next_at=next_at)
        else:
            log.warning(
                "Pairing round of guild %s due %s skipped: the bot was down until %s",
                job.guild_id,
                to_db(slot),
                to_db(now),
            )
        return next_at

    async def _slot_served(self, guild_id: int, due_at: datetime) -> datetime | None:
        """The latest scheduled slot at or before `due_at` (normally `due_at` itself)."""
        slot = await self._next_slot(guild_id, due_at - SLOT_LOOKBACK)
        if slot is None or slot > due_at:
            return None if slot is None else due_at
        while (following := await self._next_slot(guild_id, slot)) is not None:
            if following > due_at:
                break
            slot = following
        return slot

    async def _start_round(
        self, guild_id: int, key: str, *, next_at: datetime | None = None
    ) -> StartedRound | None:
        """Create the round for `key` (once), store its groups, then queue its delivery."""
        existing = await self._db.fetchval(
            "SELECT round_id FROM pairing_rounds WHERE guild_id = ? AND slot_key = ?",
            (guild_id, key),
        )
        if existing is not None:
            await self._queue_delivery(existing)
            return StartedRound(existing, created=False, plan=await self._stored_plan(existing))
        plan = await self.plan(guild_id, round_seed(guild_id, key))
        if plan.pool_size == 0:
            log.info("Pairing round %s of guild %s: nobody in the pool", key, guild_id)
            return None
        now = self._clock.now()
        if next_at is None:
            next_at = await self._next_slot(guild_id, now) or now + UNSCHEDULED_ROUND_LENGTH
        checkin_at = midpoint(now, next_at)
        starter = await self._starter(guild_id, round_seed(guild_id, key))
        async with self._db.transaction() as tx:
            cursor = await tx.execute(
                "INSERT INTO pairing_rounds (guild_id, slot_key, started_at, checkin_at, seed, "
                "starter) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, slot_key) DO NOTHING",
                (guild_id, key, to_db(now), to_db(checkin_at), round_seed(guild_id, key), starter),
            )
            if cursor.rowcount == 0:
                return None  # created concurrently; that run delivers it
            round_id = cursor.lastrowid
            assert round_id is not None
            await self._store_plan(tx, guild_id, round_id, plan, now)
        await self._queue_delivery(round_id)
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

    async def _store_plan(
        self, tx: Transaction, guild_id: int, round_id: int, plan: RoundPlan, now: datetime
    ) -> None:
        """Groups, assignments and intro rows, in the caller's transaction."""
        stamp = to_db(now)
        for members, topics in zip(plan.groups, plan.shared_topics, strict=True):
            cursor = await tx.execute(
                "INSERT INTO pairing_groups (round_id, guild_id, size, shared_topics) "
                "VALUES (?, ?, ?, ?)",
                (round_id, guild_id, len(members), json.dumps(list(topics))),
            )
            await tx.executemany(
                "INSERT INTO pairing_assignments (round_id, guild_id, user_id, group_id, outcome) "
                "VALUES (?, ?, ?, ?, 'paired')",
                [(round_id, guild_id, m, cursor.lastrowid) for m in members],
            )
        outcome = "alone" if plan.pool_size == 1 else "left_out"
        await tx.executemany(
            "INSERT INTO pairing_assignments (round_id, guild_id, user_id, outcome) "
            "VALUES (?, ?, ?, ?)",
            [(round_id, guild_id, m, outcome) for m in plan.left_out],
        )
        await tx.execute(
            "INSERT INTO pairing_deliveries (round_id, guild_id, user_id, kind, created_at) "
            "SELECT round_id, guild_id, user_id, 'intro', ? FROM pairing_assignments "
            "WHERE round_id = ?",
            (stamp, round_id),
        )
        # Whoever could not be placed is covered first next round; the placed lose the favour.
        await tx.execute(
            "UPDATE pairing_members SET favoured = (user_id IN (SELECT user_id FROM "
            "pairing_assignments WHERE round_id = ? AND outcome = 'left_out')) "
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
        """Today's prompt if the prompts feature gives one, else a built-in one."""
        if self._starters is not None:
            try:
                text = await self._starters(guild_id)
            except Exception:
                log.exception("Could not get today's prompt for guild %s", guild_id)
                text = None
            if text:
                return text
        library = load_library()
        return library[seed % len(library)].text

    async def _queue_delivery(self, round_id: int) -> None:
        guild_id = await self._db.fetchval(
            "SELECT guild_id FROM pairing_rounds WHERE round_id = ?", (round_id,)
        )
        await self._scheduler.schedule(
            deliver_job_key(round_id),
            DELIVER_JOB,
            self._clock.now(),
            guild_id=guild_id,
            payload={"round_id": round_id},
        )

    async def _deliver_job(self, job: Job) -> datetime | None:
        await self.delivery.deliver_round(int(job.payload["round_id"]))
        return None

    async def _checkin_job(self, job: Job) -> datetime | None:
        """Halfway through: one check-in per member still in a group, then send them."""
        round_id = int(job.payload["round_id"])
        await self._db.execute(
            "INSERT OR IGNORE INTO pairing_deliveries "
            "(round_id, guild_id, user_id, kind, created_at) "
            "SELECT round_id, guild_id, user_id, 'checkin', ? FROM pairing_assignments "
            "WHERE round_id = ? AND group_id IS NOT NULL AND left_guild = 0",
            (to_db(self._clock.now()), round_id),
        )
        await self.delivery.deliver_round(round_id)
        return None

    # -- during a round ---------------------------------------------------------------------

    async def member_left(self, guild_id: int, user_id: int) -> None:
        """A member left the guild: out of the pool now; their partner is told and re-matched."""
        now = self._clock.now()
        round_id: int | None = None
        async with self._db.transaction() as tx:
            await tx.execute(
                "DELETE FROM pairing_members WHERE guild_id = ? AND user_id = ?",
                (guild_id, user_id),
            )
            row = await tx.fetchone(
                "SELECT a.round_id, a.group_id FROM pairing_assignments a WHERE a.user_id = ? "
                "AND a.left_guild = 0 AND a.round_id = (SELECT MAX(round_id) FROM pairing_rounds "
                "WHERE guild_id = ?)",
                (user_id, guild_id),
            )
            if row is None:
                return
            round_id = row["round_id"]
            await tx.execute(
                "UPDATE pairing_assignments SET left_guild = 1 WHERE round_id = ? AND user_id = ?",
                (round_id, user_id),
            )
            await tx.execute(
                "UPDATE pairing_deliveries SET state = 'cancelled' "
                "WHERE round_id = ? AND user_id = ? AND state = 'pending'",
                (round_id, user_id),
            )
            if row["group_id"] is not None:
                await self._regroup_after_leaving(tx, round_id, row["group_id"], user_id, now)
        await self._queue_delivery(round_id)

    async def _regroup_after_leaving(
        self, tx: Transaction, round_id: int, group_id: int, departed: int, now: datetime
    ) -> None:
        """Tell the rest of the group; a member left alone is re-matched if someone is free."""
        rest = [
            r["user_id"]
            for r in await tx.fetchall(
                "SELECT user_id FROM pairing_assignments "
                "WHERE group_id = ? AND left_guild = 0 ORDER BY user_id",
                (group_id,),
            )
        ]
        notify = (
            "INSERT OR IGNORE INTO pairing_deliveries (round_id, guild_id, user_id, kind, "
            "about_user_id, group_id, created_at) SELECT round_id, guild_id, ?, ?, ?, ?, ? "
            "FROM pairing_rounds WHERE round_id = ?"
        )
        if len(rest) != 1:  # a trio goes on as a pair (or nobody is left to tell)
            for member in rest:
                await tx.execute(
                    notify, (member, "partner_left", departed, group_id, to_db(now), round_id)
                )
            return
        survivor = rest[0]
        await tx.execute("UPDATE pairing_groups SET dissolved = 1 WHERE group_id = ?", (group_id,))
        await tx.execute(
            "UPDATE pairing_assignments SET group_id = NULL, outcome = 'partner_left' "
            "WHERE round_id = ? AND user_id = ?",
            (round_id, survivor),
        )
        other = await tx.fetchval(
            """
            SELECT a.user_id FROM pairing_assignments a
            WHERE a.round_id = ? AND a.group_id IS NULL AND a.left_guild = 0 AND a.user_id != ?
              AND NOT EXISTS (SELECT 1 FROM pairing_blocks b WHERE b.guild_id = a.guild_id AND (
                    (b.user_id = a.user_id AND b.blocked_user_id = ?) OR
                    (b.user_id = ? AND b.blocked_user_id = a.user_id)))
            ORDER BY a.user_id LIMIT 1
            """,
            (round_id, survivor, survivor, survivor),
        )
        new_group = 0
        if other is not None:
            cursor = await tx.execute(
                "INSERT INTO pairing_groups (round_id, guild_id, size) "
                "SELECT round_id, guild_id, 2 FROM pairing_rounds WHERE round_id = ?",
                (round_id,),
            )
            new_group = cursor.lastrowid or 0
            await tx.execute(
                "UPDATE pairing_assignments SET group_id = ?, outcome = 'paired' "
                "WHERE round_id = ? AND user_id IN (?, ?)",
                (new_group, round_id, survivor, other),
            )
            await tx.execute(
                notify, (other, "rematched", departed, new_group, to_db(now), round_id)
            )
        else:
            await tx.execute(
                "UPDATE pairing_members SET favoured = 1 WHERE user_id = ? AND guild_id = "
                "(SELECT guild_id FROM pairing_rounds WHERE round_id = ?)",
                (survivor, round_id),
            )
        await tx.execute(
            notify, (survivor, "partner_left", departed, new_group, to_db(now), round_id)
        )

    async def answer_checkin(self, round_id: int, user_id: int, answer: Answer) -> CheckinAck:
        """Store (or change) a member's check-in answer; only members of that round's groups."""
        if answer not in ANSWERS:
            raise UserError("That check-in answer is not one I know.")
        previous = await self._db.fetchone(
            "SELECT answer, group_id FROM pairing_assignments WHERE round_id = ? AND user_id = ?",
            (round_id, user_id),
        )
        if previous is None:
            raise UserError("This check-in belongs to someone else's pairing.")
        if previous["group_id"] is None:
            raise UserError("You had no partner in that round, so there is nothing to check in.")
        await self._db.execute(
            "UPDATE pairing_assignments SET answer = ?, answered_at = ? "
            "WHERE round_id = ? AND user_id = ?",
            (answer, to_db(self._clock.now()), round_id, user_id),
        )
        return CheckinAck(answer=answer, changed=previous["answer"] != answer)

    # -- overview ----------------------------------------------------------------------------

    async def stats(self, guild_id: int) -> PairingStats:
        rounds = await self._db.fetchone(
            "SELECT COUNT(*) AS n, MAX(started_at) AS last FROM pairing_rounds WHERE guild_id = ?",
            (guild_id,),
        )
        sizes = await self._db.fetchone(
            "SELECT COALESCE(SUM(size = 2), 0) AS pairs, COALESCE(SUM(size = 3), 0) AS trios "
            "FROM pairing_groups WHERE guild_id = ?",
            (guild_id,),
        )
        answers = await self._db.fetchone(
            """
            SELECT COALESCE(SUM(a.answer = 'met'), 0) AS met,
                   COALESCE(SUM(a.answer = 'not_yet'), 0) AS not_yet,
                   COALESCE(SUM(a.answer = 'skipped'), 0) AS skipped,
                   COALESCE(SUM(a.answer IS NULL), 0) AS unanswered
            FROM pairing_deliveries d JOIN pairing_assignments a
              ON a.round_id = d.round_id AND a.user_id = d.user_id
            WHERE d.guild_id = ? AND d.kind = 'checkin'
            """,
            (guild_id,),
        )
        undelivered = await self._db.fetchall(
            "SELECT round_id, user_id, kind FROM pairing_deliveries "
            "WHERE guild_id = ? AND state = 'undelivered' ORDER BY delivery_id DESC LIMIT 50",
            (guild_id,),
        )
        assert rounds is not None and sizes is not None and answers is not None
        return PairingStats(
            rounds=rounds["n"],
            pairs=sizes["pairs"],
            trios=sizes["trios"],
            met=answers["met"],
            not_yet=answers["not_yet"],
            skipped=answers["skipped"],
            unanswered=answers["unanswered"],
            last_round_at=maybe_from_db(rounds["last"]),
            undelivered=[Undelivered(r["round_id"], r["user_id"], r["kind"]) for r in undelivered],
        )

    async def status(self, guild_id: int, user_id: int | None) -> FeatureStatus:
        settings = await self.settings(guild_id)
        mine = ""
        if user_id is not None:
            me = await self.member_status(guild_id, user_id)
            if not me.opted_in:
                mine = "not opted in (`/pair join`)"
            elif me.paused_until:
                mine = "opted in, paused"
            else:
                mine = "opted in"
        if settings is None:
            return FeatureStatus(name=self.name, enabled=False, member_status=mine)
        summary = (
            f"{settings.cadence} on {WEEKDAYS[settings.weekday]} at {format_hhmm(settings.at)}"
        )
        problems = []
        undelivered = await self._db.fetchval(
            "SELECT COUNT(*) FROM pairing_deliveries WHERE guild_id = ? AND state = 'undelivered' "
            "AND round_id = (SELECT MAX(round_id) FROM pairing_rounds WHERE guild_id = ?)",
            (guild_id, guild_id),
        )
        if undelivered:
            problems.append(
                f"{undelivered} pairing message(s) of the last round could not be delivered "
                "(see `/admin pairing stats`)"
            )
        return FeatureStatus(
            name=self.name,
            enabled=not settings.paused,
            channel_id=settings.channel_id,
            role_id=settings.role_id,
            next_at=await self._scheduler.due_at(round_job_key(guild_id)),
            summary=summary + (" (paused)" if settings.paused else ""),
            member_status=mine,
            problems=problems,
        )


_LOADING = "I am still loading this server's members. Please try again in a minute."


async def _ensure_guild(tx: Transaction, guild_id: int, now: datetime) -> None:
    """Feature rows reference `guilds`; the row normally exists already (on_ready reconcile)."""
    await tx.execute(
        "INSERT OR IGNORE INTO guilds (guild_id, joined_at) VALUES (?, ?)",
        (guild_id, to_db(now)),
    )
