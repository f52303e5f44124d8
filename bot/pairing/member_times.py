"""A member's own timezone and weekly availability: `/pair timezone`, `/pair availability`.

Why a module: the round reads them for the whole pool (the engine's overlap, the intro's
proposed times) and the member sets and sees them; one place stores them. They live in
`pairing_member_times`, apart from the sign-up, so they survive `/pair leave` and can be set
before `/pair join`. A member without a timezone has the guild's; without windows, 07:00-21:00
local every day (`availability.DEFAULT_WINDOWS`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.db import Database
from bot.guilds import GuildService, ensure_guild_row
from bot.timeutil import to_db
from bot.timezones import resolve_timezone

from .availability import Availability, Schedule, parse_availability

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MemberTimes:
    """What `/pair status` shows: the zone in force and whether it is the member's own."""

    zone: ZoneInfo
    own_zone: bool
    windows: Availability | None  # None: 07:00-21:00 every day

    @property
    def schedule(self) -> Schedule:
        """The member as the engine and the slot proposals see them."""
        return Schedule(self.zone, self.windows)


class MemberTimesStore:
    """Reads and writes members' timezones and windows."""

    def __init__(self, db: Database, clock: Clock, guilds: GuildService) -> None:
        self._db = db
        self._clock = clock
        self._guilds = guilds

    async def set_timezone(self, guild_id: int, user_id: int, name: str) -> ZoneInfo:
        """Store the member's own timezone; a typo raises UserError with a suggestion."""
        zone = resolve_timezone(name)
        await self._upsert(guild_id, user_id, "timezone", zone.key)
        return zone

    async def set_availability(self, guild_id: int, user_id: int, text: str) -> Availability | None:
        """Store the windows read from `text`; `clear` stores none (the default applies)."""
        windows = parse_availability(text)
        await self._upsert(
            guild_id, user_id, "availability", windows.to_storage() if windows else None
        )
        return windows

    async def get(self, guild_id: int, user_id: int) -> MemberTimes:
        """The member's timezone (own or the guild's) and windows."""
        return (await self.for_members(guild_id, [user_id]))[user_id]

    async def for_members(self, guild_id: int, user_ids: Iterable[int]) -> dict[int, MemberTimes]:
        """Every listed member's times, in one query (a whole round's pool)."""
        wanted = set(user_ids)
        guild_zone = await self._guilds.timezone(guild_id)
        rows = await self._db.fetchall(
            "SELECT user_id, timezone, availability FROM pairing_member_times WHERE guild_id = ?",
            (guild_id,),
        )
        times = dict.fromkeys(wanted, MemberTimes(guild_zone, False, None))
        for r in rows:
            if r["user_id"] in wanted:
                zone, windows = _read(guild_id, r["user_id"], r["timezone"], r["availability"])
                times[r["user_id"]] = MemberTimes(zone or guild_zone, zone is not None, windows)
        return times

    async def _upsert(self, guild_id: int, user_id: int, column: str, value: str | None) -> None:
        now = self._clock.now()
        async with self._db.transaction() as tx:
            await ensure_guild_row(tx, guild_id, now)
            await tx.execute(
                f"INSERT INTO pairing_member_times (guild_id, user_id, {column}, updated_at) "
                f"VALUES (?, ?, ?, ?) ON CONFLICT (guild_id, user_id) "
                f"DO UPDATE SET {column} = excluded.{column}, updated_at = excluded.updated_at",
                (guild_id, user_id, value, to_db(now)),
            )


def _read(
    guild_id: int, user_id: int, zone_name: str | None, stored: str | None
) -> tuple[ZoneInfo | None, Availability | None]:
    """A stored row's zone and windows; what cannot be read counts as not set (logged)."""
    try:
        zone = ZoneInfo(zone_name) if zone_name else None
    except (ValueError, KeyError) as exc:  # a zone name tzdata no longer knows
        log.warning("Member %s of guild %s: unknown timezone (%s)", user_id, guild_id, exc)
        zone = None
    try:
        windows = Availability.from_storage(stored) if stored else None
    except ValueError as exc:
        log.warning("Member %s of guild %s: unreadable availability (%s)", user_id, guild_id, exc)
        windows = None
    return zone, windows
