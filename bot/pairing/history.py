"""`/pair history`: a member's own past groups, and their confidential "Meet again" choices.

Why a module: a pairing that went well is worth repeating, but only if both want it. Each
choice is a row (`pairing_meet_again`, chooser -> partner); only a mutual pair reaches the
engine (`engine.mutual_pairs`), where it counts as never-met, and the round that pairs them
again deletes both choices (`rounds._store_plan`). A one-sided choice changes nothing anyone
can see: it is shown only to the member who made it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import Clock
from bot.db import Database
from bot.errors import UserError
from bot.guilds import ensure_guild_row
from bot.timeutil import from_db, maybe_from_db, to_db

from .models import Answer

PAGE_SIZE = 5


@dataclass(frozen=True, slots=True)
class PastGroup:
    """One past group of the member: when, with whom, their check-in answer, the confirmed
    time. ``partner_ids`` may hold a negative pseudonym (a partner who erased their data)."""

    round_id: int
    started_at: datetime
    partner_ids: tuple[int, ...]
    answer: Answer | None
    confirmed_at: datetime | None


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """A page of groups, newest first, and the partners the member chose to meet again."""

    groups: tuple[PastGroup, ...]
    index: int  # 0-based, clamped to the pages that exist
    count: int  # pages, at least 1
    meet_again: frozenset[int]


class PairingHistory:
    """Reads a member's history; records their "Meet again" choices."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def page(self, guild_id: int, user_id: int, index: int) -> HistoryPage:
        """Page `index` of the member's past groups (newest first)."""
        total = await self._db.fetchval(
            "SELECT COUNT(*) FROM pairing_assignments WHERE guild_id = ? AND user_id = ? "
            "AND group_id IS NOT NULL",
            (guild_id, user_id),
        )
        count = max(1, -(-total // PAGE_SIZE))
        index = min(max(index, 0), count - 1)
        rows = await self._db.fetchall(
            "SELECT a.round_id, a.group_id, a.answer, r.started_at, g.confirmed_at "
            "FROM pairing_assignments a JOIN pairing_rounds r ON r.round_id = a.round_id "
            "JOIN pairing_groups g ON g.group_id = a.group_id "
            "WHERE a.guild_id = ? AND a.user_id = ? "
            "ORDER BY a.round_id DESC LIMIT ? OFFSET ?",
            (guild_id, user_id, PAGE_SIZE, index * PAGE_SIZE),
        )
        groups = []
        for r in rows:
            partners = await self._db.fetchall(
                "SELECT user_id FROM pairing_assignments WHERE group_id = ? AND user_id != ? "
                "ORDER BY user_id",
                (r["group_id"], user_id),
            )
            groups.append(
                PastGroup(
                    r["round_id"],
                    from_db(r["started_at"]),
                    tuple(p["user_id"] for p in partners),
                    r["answer"],
                    maybe_from_db(r["confirmed_at"]),
                )
            )
        chosen = await self._db.fetchall(
            "SELECT partner_user_id FROM pairing_meet_again WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
        return HistoryPage(
            tuple(groups), index, count, frozenset(r["partner_user_id"] for r in chosen)
        )

    async def toggle_meet_again(self, guild_id: int, user_id: int, partner_id: int) -> bool:
        """Switch the member's "Meet again" for a past partner; True when it is now on. Only
        for someone they were actually grouped with."""
        if partner_id <= 0 or partner_id == user_id:
            raise UserError("That is not a partner you can choose to meet again.")
        shared = await self._db.fetchval(
            "SELECT COUNT(*) FROM pairing_assignments a JOIN pairing_assignments b "
            "ON b.group_id = a.group_id WHERE a.guild_id = ? AND a.user_id = ? AND b.user_id = ?",
            (guild_id, user_id, partner_id),
        )
        if not shared:
            raise UserError(
                "You have not been paired with that member, so there is nothing to set."
            )
        now = self._clock.now()
        async with self._db.transaction() as tx:
            removed = await tx.execute(
                "DELETE FROM pairing_meet_again "
                "WHERE guild_id = ? AND user_id = ? AND partner_user_id = ?",
                (guild_id, user_id, partner_id),
            )
            if removed:
                return False
            await ensure_guild_row(tx, guild_id, now)
            await tx.execute(
                "INSERT INTO pairing_meet_again (guild_id, user_id, partner_user_id, chosen_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (guild_id, user_id, partner_user_id) DO NOTHING",
                (guild_id, user_id, partner_id, to_db(now)),
            )
            return True
