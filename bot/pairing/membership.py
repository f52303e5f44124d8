"""Members' side of pairing: opting in and out, pausing, avoid lists, their own status."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.db import Database
from bot.errors import UserError
from bot.guilds import GuildService, ensure_guild_row
from bot.scheduler import Scheduler
from bot.schedules import local_date_of, parse_local_date, scheduled_utc
from bot.timeutil import from_db, maybe_from_db, to_db

from .common import MAX_PAUSE_UNTIL, MAX_PAUSE_WEEKS, round_job_key
from .models import MemberStatus
from .schedule import RoundSchedule


def pause_end(now: datetime, zone: ZoneInfo, *, weeks: int | None, until: str | None) -> datetime:
    """When a pause of `weeks` weeks, or until the start of the local date `until` (tomorrow at
    the earliest, within a year), ends; a UserError says what is wrong with the input."""
    if (weeks is None) == (until is None):
        raise UserError(
            "Give either `weeks` (1-12) or `until` (a date, YYYY-MM-DD), not both or neither."
        )
    if weeks is not None:
        if not 1 <= weeks <= MAX_PAUSE_WEEKS:
            raise UserError(f"Pause for 1 to {MAX_PAUSE_WEEKS} weeks.")
        return now + timedelta(weeks=weeks)
    assert until is not None
    try:
        day = parse_local_date(until, "date")
    except ValueError as exc:
        raise UserError(str(exc)) from None
    today = local_date_of(now, zone)
    if day <= today:
        raise UserError(f"Pause until a date after today ({today}); {day} is not.")
    if day > today + MAX_PAUSE_UNTIL:
        raise UserError(f"Pause until a date within a year, up to {today + MAX_PAUSE_UNTIL}.")
    return scheduled_utc(day, zone, time(0, 0))


class Membership:
    """What a member can change about their own part in pairing (and see of it)."""

    def __init__(
        self,
        db: Database,
        scheduler: Scheduler,
        clock: Clock,
        schedule: RoundSchedule,
        guilds: GuildService,
    ) -> None:
        self._db = db
        self._guilds = guilds
        self._scheduler = scheduler
        self._clock = clock
        self._schedule = schedule

    async def join(self, guild_id: int, user_id: int, role_ids: frozenset[int]) -> bool:
        """Opt in; False if already in. Refused without the configured pairing role."""
        settings = await self._schedule.settings(guild_id)
        if settings and settings.role_id and settings.role_id not in role_ids:
            raise UserError(
                f"Pairing here is for members with the <@&{settings.role_id}> role. "
                "Ask an admin if you think you should have it."
            )
        now = self._clock.now()
        async with self._db.transaction() as tx:
            await ensure_guild_row(tx, guild_id, now)
            added = await tx.execute(
                "INSERT INTO pairing_members (guild_id, user_id, joined_at) "
                "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (guild_id, user_id, to_db(now)),
            )
            return added == 1

    async def leave(self, guild_id: int, user_id: int) -> None:
        """Opt a member out of future rounds; a `UserError` if they were not in."""
        changed = await self._db.execute(
            "DELETE FROM pairing_members WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
        )
        if not changed:
            raise UserError("You are not in pairing rounds. Use `/pair join` to opt in.")

    async def pause_member(
        self, guild_id: int, user_id: int, *, weeks: int | None = None, until: str | None = None
    ) -> datetime:
        """Skip rounds for `weeks` weeks or until the local date `until` (exactly one of the
        two); returns when the member is back in the pool."""
        zone = await self._guilds.timezone(guild_id)
        resume_at = pause_end(self._clock.now(), zone, weeks=weeks, until=until)
        changed = await self._db.execute(
            "UPDATE pairing_members SET paused_until = ? WHERE guild_id = ? AND user_id = ?",
            (to_db(resume_at), guild_id, user_id),
        )
        if not changed:
            raise UserError("You are not in pairing rounds, so there is nothing to pause.")
        return resume_at

    async def resume_member(self, guild_id: int, user_id: int) -> None:
        """End a member's pause early; a `UserError` if they were not paused."""
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
            await ensure_guild_row(tx, guild_id, now)
            added = await tx.execute(
                "INSERT INTO pairing_blocks (guild_id, user_id, blocked_user_id, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (guild_id, user_id, other_user_id, to_db(now)),
            )
            return added == 1

    async def unavoid(self, guild_id: int, user_id: int, other_user_id: int) -> None:
        """Allow pairing with a member again; a `UserError` if they were not avoided."""
        changed = await self._db.execute(
            "DELETE FROM pairing_blocks WHERE guild_id = ? AND user_id = ? AND blocked_user_id = ?",
            (guild_id, user_id, other_user_id),
        )
        if not changed:
            raise UserError("You were not avoiding that member; nothing changed.")

    async def member_status(self, guild_id: int, user_id: int) -> MemberStatus:
        """Where a member stands in pairing, for `/pair status` (only they see it)."""
        row = await self._db.fetchone(
            "SELECT paused_until FROM pairing_members WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
        paused_until = maybe_from_db(row["paused_until"]) if row else None
        if paused_until is not None and paused_until <= self._clock.now():
            paused_until = None  # a pause ends by itself
        current = await self._db.fetchone(
            """
            SELECT r.round_id, r.started_at, a.group_id, g.confirmed_at FROM pairing_rounds r
            JOIN pairing_assignments a ON a.round_id = r.round_id AND a.user_id = ?
            LEFT JOIN pairing_groups g ON g.group_id = a.group_id
            WHERE r.guild_id = ? AND r.talk_post_id IS NULL ORDER BY r.round_id DESC LIMIT 1
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
            confirmed_at=maybe_from_db(current["confirmed_at"]) if current else None,
        )

    async def _partners(self, group_id: int, user_id: int) -> tuple[int, ...]:
        rows = await self._db.fetchall(
            "SELECT user_id FROM pairing_assignments "
            "WHERE group_id = ? AND user_id != ? AND left_guild = 0 ORDER BY user_id",
            (group_id, user_id),
        )
        return tuple(r["user_id"] for r in rows)
