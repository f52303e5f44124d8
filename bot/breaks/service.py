"""School breaks of a guild: adding, listing and removing them, and asking whether a local date
is inside one (prompts, rounds and check-ins ask before they act).

Breaks are stored as local dates; "is today a break?" is answered in the guild's timezone at
the moment the question is asked, so a break starts and ends at local midnight.
"""

from __future__ import annotations

from datetime import date, datetime

from bot.clock import Clock
from bot.db import Database, Row
from bot.errors import UserError
from bot.features import FeatureStatus
from bot.guilds import GuildService, ensure_guild_row
from bot.privacy.rules import TableRules
from bot.schedules import local_date_of, parse_local_date
from bot.timeutil import to_db

from .calendar import BreakError, SchoolBreak, check_new_break, current_or_next, day_after

FEATURE_NAME = "School breaks"


def _break_from_row(row: Row) -> SchoolBreak:
    return SchoolBreak(
        row["id"],
        date.fromisoformat(row["start_date"]),
        date.fromisoformat(row["end_date"]),
        row["note"],
    )


def describe(school_break: SchoolBreak) -> str:
    """`#3 2026-12-21 to 2027-01-01 (Winter break)`: how admins and members read a break."""
    note = f" ({school_break.note})" if school_break.note else ""
    return f"#{school_break.id} {school_break.start} to {school_break.end}{note}"


class BreakService:
    """Implements `Feature` (a line in `/about` and `/admin show`) and `BreakCalendar`."""

    name = FEATURE_NAME
    privacy_rules: TableRules = {}

    def __init__(self, db: Database, clock: Clock, guilds: GuildService) -> None:
        self._db = db
        self._clock = clock
        self._guilds = guilds

    async def today(self, guild_id: int) -> date:
        """The guild's local date now."""
        return local_date_of(self._clock.now(), await self._guilds.timezone(guild_id))

    async def add(self, guild_id: int, start_text: str, end_text: str, note: str) -> SchoolBreak:
        """Add a break after checking it (dates, length, overlap); returns it with its id."""
        try:
            start = parse_local_date(start_text, "start")
            end = parse_local_date(end_text, "end")
            note = " ".join(note.split())
            today = await self.today(guild_id)
            check_new_break(start, end, note, today, await self.coming(guild_id))
        except (BreakError, ValueError) as exc:
            raise UserError(str(exc)) from None
        now = self._clock.now()
        async with self._db.transaction() as tx:
            await ensure_guild_row(tx, guild_id, now)
            break_id = await tx.fetchval(
                "INSERT INTO guild_breaks (guild_id, start_date, end_date, note, created_at) "
                "VALUES (?, ?, ?, ?, ?) RETURNING id",
                (guild_id, start.isoformat(), end.isoformat(), note, to_db(now)),
            )
        return SchoolBreak(break_id, start, end, note)

    async def coming(self, guild_id: int) -> list[SchoolBreak]:
        """The current and coming breaks, soonest first (past ones are history)."""
        today = await self.today(guild_id)
        rows = await self._db.fetchall(
            "SELECT * FROM guild_breaks WHERE guild_id = ? AND end_date >= ? "
            "ORDER BY start_date, id",
            (guild_id, today.isoformat()),
        )
        return [_break_from_row(r) for r in rows]

    async def remove(self, guild_id: int, break_id: int) -> SchoolBreak:
        """Remove a break by its id (only this guild's); returns what was removed."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "DELETE FROM guild_breaks WHERE guild_id = ? AND id = ? RETURNING *",
                (guild_id, break_id),
            )
        if row is None:
            raise UserError(f"There is no break #{break_id} here. /admin breaks list shows ids.")
        return _break_from_row(row)

    async def between(self, guild_id: int, first: date, last: date) -> list[SchoolBreak]:
        """The breaks touching the local dates `first`..`last` (inclusive)."""
        rows = await self._db.fetchall(
            "SELECT * FROM guild_breaks WHERE guild_id = ? AND start_date <= ? AND end_date >= ? "
            "ORDER BY start_date",
            (guild_id, last.isoformat(), first.isoformat()),
        )
        return [_break_from_row(r) for r in rows]

    async def at(self, guild_id: int, moment: datetime) -> SchoolBreak | None:
        """The break covering the guild's local date at the instant `moment`, if any."""
        day = local_date_of(moment, await self._guilds.timezone(guild_id))
        found = await self.between(guild_id, day, day)
        return found[0] if found else None

    # -- Feature ---------------------------------------------------------------------------------

    async def status(self, guild_id: int, user_id: int | None) -> FeatureStatus:
        """The current break (and when things resume), else the next one."""
        today = await self.today(guild_id)
        shown = current_or_next(today, await self.coming(guild_id))
        if shown is None:
            return FeatureStatus(self.name, enabled=False, summary="none planned")
        if shown.covers(today):
            summary = f"on break now, {describe(shown)}; back on {day_after(shown)}"
        else:
            summary = f"next break {describe(shown)}"
        return FeatureStatus(self.name, enabled=True, summary=summary)

    async def reschedule(self, guild_id: int) -> None:
        """Breaks are local dates; a timezone change moves nothing."""
