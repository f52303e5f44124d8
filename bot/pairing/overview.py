"""Pairing at a glance: `/admin pairing stats`, and the feature's line in `/about`."""

from __future__ import annotations

from bot.db import Database
from bot.features import FeatureStatus
from bot.scheduler import Scheduler
from bot.schedules import WEEKDAYS, format_hhmm
from bot.timeutil import maybe_from_db

from .common import round_job_key
from .membership import Membership
from .models import PairingStats, Undelivered
from .schedule import RoundSchedule

FEATURE_NAME = "Pairing"
#: A group whose members share this much free time a week can meet (PRODUCT.md).
MEETABLE_MINUTES = 60


class PairingOverview:
    """Read-only counts and states, for admins and `/about`."""

    def __init__(
        self,
        db: Database,
        scheduler: Scheduler,
        schedule: RoundSchedule,
        membership: Membership,
    ) -> None:
        self._db = db
        self._scheduler = scheduler
        self._schedule = schedule
        self._membership = membership

    async def stats(self, guild_id: int) -> PairingStats:
        """The figures for `/admin pairing stats`, from rounds, groups and answers."""
        rounds = await self._db.fetchone(
            "SELECT COUNT(*) AS n, MAX(started_at) AS last FROM pairing_rounds "
            "WHERE guild_id = ? AND talk_post_id IS NULL",  # talks are not rounds
            (guild_id,),
        )
        sizes = await self._db.fetchone(
            "SELECT COUNT(*) FILTER (WHERE size = 2) AS pairs, "
            "COUNT(*) FILTER (WHERE size = 3) AS trios "
            "FROM pairing_groups WHERE guild_id = ?",
            (guild_id,),
        )
        answers = await self._db.fetchone(
            """
            SELECT COALESCE(SUM(CASE WHEN answer = 'met' THEN 1 ELSE 0 END), 0) AS met,
                   COALESCE(SUM(CASE WHEN answer = 'not_yet' THEN 1 ELSE 0 END), 0) AS not_yet,
                   COALESCE(SUM(CASE WHEN answer = 'skipped' THEN 1 ELSE 0 END), 0) AS skipped,
                   COALESCE(SUM(CASE WHEN answer IS NULL THEN 1 ELSE 0 END), 0) AS unanswered
            FROM pairing_assignments WHERE guild_id = ? AND checkin_asked = 1
            """,
            (guild_id,),
        )
        meetings = await self._db.fetchone(
            """
            SELECT COUNT(*) AS n_groups,
                   COUNT(*) FILTER (WHERE overlap_minutes >= ?) AS with_overlap,
                   COUNT(overlap_minutes) AS overlap_known,
                   COUNT(confirmed_at) AS confirmed,
                   COUNT(*) FILTER (WHERE EXISTS (SELECT 1 FROM pairing_assignments a
                       WHERE a.group_id = g.group_id AND a.answer = 'met')) AS groups_met
            FROM pairing_groups g WHERE guild_id = ?
            """,
            (MEETABLE_MINUTES, guild_id),
        )
        undelivered = await self._db.fetchall(
            "SELECT round_id, user_id, kind FROM pairing_undelivered "
            "WHERE guild_id = ? ORDER BY id DESC LIMIT 50",
            (guild_id,),
        )
        assert rounds is not None and sizes is not None and answers is not None
        assert meetings is not None
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
            groups=meetings["n_groups"],
            with_overlap=meetings["with_overlap"],
            overlap_known=meetings["overlap_known"],
            confirmed=meetings["confirmed"],
            groups_met=meetings["groups_met"],
        )

    async def status(self, guild_id: int, user_id: int | None) -> FeatureStatus:
        """Pairing's line in `/about` and `/admin show`: schedule, next round, opt-in."""
        settings = await self._schedule.settings(guild_id)
        mine = ""
        if user_id is not None:
            me = await self._membership.member_status(guild_id, user_id)
            if not me.opted_in:
                mine = "not opted in (`/pair join`)"
            elif me.paused_until:
                mine = "opted in, paused"
            else:
                mine = "opted in"
        if settings is None:
            return FeatureStatus(name=FEATURE_NAME, enabled=False, member_status=mine)
        summary = (
            f"{settings.cadence} on {WEEKDAYS[settings.weekday]} at {format_hhmm(settings.at)}"
        )
        problems = []
        undelivered = await self._db.fetchval(
            "SELECT COUNT(*) FROM pairing_undelivered WHERE guild_id = ? "
            "AND round_id = (SELECT MAX(round_id) FROM pairing_rounds WHERE guild_id = ? "
            "AND talk_post_id IS NULL)",
            (guild_id, guild_id),
        )
        if undelivered:
            problems.append(
                f"{undelivered} pairing message(s) of the last round could not be delivered "
                "(see `/admin pairing stats`)"
            )
        return FeatureStatus(
            name=FEATURE_NAME,
            enabled=not settings.paused,
            channel_id=settings.channel_id,
            role_id=settings.role_id,
            next_at=await self._scheduler.due_at(round_job_key(guild_id)),
            summary=summary + (" (paused)" if settings.paused else ""),
            member_status=mine,
            problems=problems,
        )
