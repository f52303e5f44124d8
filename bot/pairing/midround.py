"""During a round: the check-ins halfway through, and a member leaving the guild."""

from __future__ import annotations

from datetime import datetime

from bot.clock import Clock
from bot.db import Database, Transaction
from bot.errors import UserError
from bot.scheduler import Job
from bot.timeutil import to_db

from .delivery import DeliveryRunner
from .models import ANSWERS, Answer, CheckinAck
from .rounds import Rounds


class MidRound:
    """Changes while a round runs; new messages go through the round's delivery job."""

    def __init__(
        self, db: Database, clock: Clock, delivery: DeliveryRunner, rounds: Rounds
    ) -> None:
        self._db = db
        self._clock = clock
        self._delivery = delivery
        self._rounds = rounds

    async def checkin_job(self, job: Job) -> datetime | None:
        """Halfway through: one check-in per member still in a group, then send them."""
        round_id = int(job.payload["round_id"])
        await self._db.execute(
            "INSERT OR IGNORE INTO pairing_deliveries "
            "(round_id, guild_id, user_id, kind, created_at) "
            "SELECT round_id, guild_id, user_id, 'checkin', ? FROM pairing_assignments "
            "WHERE round_id = ? AND group_id IS NOT NULL AND left_guild = 0",
            (to_db(self._clock.now()), round_id),
        )
        await self._delivery.deliver_round(round_id)
        return None

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
        await self._rounds.queue_delivery(round_id)

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
