"""During a round: the check-ins halfway through, and a member leaving the guild."""

from __future__ import annotations

from datetime import datetime

from bot.breaks import BreakCalendar
from bot.clock import Clock
from bot.db import Database, Transaction
from bot.errors import UserError
from bot.scheduler import Job
from bot.timeutil import to_db

from .messages import RoundMessages
from .models import ANSWERS, Answer, CheckinAck, Notice


class MidRound:
    """Changes while a round runs; their messages go through the outbox (`RoundMessages`)."""

    def __init__(
        self, db: Database, clock: Clock, messages: RoundMessages, breaks: BreakCalendar
    ) -> None:
        self._db = db
        self._breaks = breaks
        self._clock = clock
        self._messages = messages

    async def checkin_job(self, job: Job) -> datetime | None:
        """Halfway through: one check-in per member still in a group (none during a break)."""
        assert job.guild_id is not None
        if await self._breaks.at(job.guild_id, self._clock.now()) is not None:
            return None
        async with self._db.transaction() as tx:
            await self._messages.enqueue_checkins(tx, int(job.payload["round_id"]))
        self._messages.wake()
        return None

    async def member_left(self, guild_id: int, user_id: int) -> None:
        """A member left the guild: out of the pool now; their partner is told and re-matched."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "DELETE FROM pairing_members WHERE guild_id = ? AND user_id = ?",
                (guild_id, user_id),
            )
            row = await tx.fetchone(
                "SELECT a.round_id, a.group_id FROM pairing_assignments a WHERE a.user_id = ? "
                "AND a.left_guild = 0 AND a.round_id = (SELECT MAX(round_id) FROM pairing_rounds "
                "WHERE guild_id = ? AND talk_post_id IS NULL)",  # the current round, not a talk
                (user_id, guild_id),
            )
            if row is None:
                return
            round_id = row["round_id"]
            # Their messages not sent yet are no longer wanted (see RoundMessages).
            await tx.execute(
                "UPDATE pairing_assignments SET left_guild = 1 WHERE round_id = ? AND user_id = ?",
                (round_id, user_id),
            )
            if row["group_id"] is not None:
                await self._regroup_after_leaving(tx, guild_id, round_id, row["group_id"], user_id)
        self._messages.wake()

    async def _regroup_after_leaving(
        self, tx: Transaction, guild_id: int, round_id: int, group_id: int, departed: int
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

        async def notify(member: int, change: str, about_group: int, new: bool = False) -> None:
            """Tell `member` of the change, naming their partners as they are now (and, for a
            `new` group, proposing its meeting times)."""
            current = await tx.fetchval(
                "SELECT group_id FROM pairing_assignments WHERE round_id = ? AND user_id = ?",
                (round_id, member),
            )
            times = None
            if new and current is not None:
                times = await self._messages.proposed_times(tx, guild_id, current)
            notice = Notice(
                round_id=round_id,
                guild_id=guild_id,
                user_id=member,
                kind=change,
                partner_ids=await self._messages.partners(tx, current, member),
                departed_user_id=departed,
                times=times,
            )
            await self._messages.enqueue_notice(tx, notice, about_group)
            await self._messages.refresh_intro(tx, round_id, member)

        if len(rest) != 1:  # a trio goes on as a pair (or nobody is left to tell)
            for member in rest:
                await notify(member, "partner_left", group_id)
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
            new_group = await tx.fetchval(
                "INSERT INTO pairing_groups (round_id, guild_id, size) "
                "SELECT round_id, guild_id, 2 FROM pairing_rounds WHERE round_id = ? "
                "RETURNING group_id",
                (round_id,),
            )
            await tx.execute(
                "UPDATE pairing_assignments SET group_id = ?, outcome = 'paired' "
                "WHERE round_id = ? AND user_id IN (?, ?)",
                (new_group, round_id, survivor, other),
            )
            await self._messages.propose_times(tx, guild_id, new_group)
            await notify(other, "rematched", new_group, new=True)
        else:
            await tx.execute(
                "UPDATE pairing_members SET favoured = 1 WHERE user_id = ? AND guild_id = "
                "(SELECT guild_id FROM pairing_rounds WHERE round_id = ?)",
                (survivor, round_id),
            )
        await notify(survivor, "partner_left", new_group, new=bool(new_group))

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
