"""The help ledger (a `Feature`): its parts by name, its settings, and the `Feature` protocol.

Callers use the parts by name (`services.helpdesk.asks.ask(...)`): `asks` (asks.py: asking,
"I can help"), `offers` (offers.py), `closing` (closing.py: resolve, withdraw, reviews, a member
leaving), `board` (board.py: the board, the admin report, `/about`), `outbox`; what the parts
share is in `store.py`.

Rules live in `rules.py` and `topics.py` (pure); this module reads and writes the database and
applies them. Messages are recorded here in the transaction that decides them and sent by the
`Outbox` (see `outbox.py` for the exactly-once scheme). Every lookup is scoped to the invoking
guild, so an id from another server is simply "not found".
"""

from __future__ import annotations

from bot.clock import Clock
from bot.db import Database
from bot.features import FeatureStatus
from bot.guilds import GuildService
from bot.helpdesk.asks import AskDesk
from bot.helpdesk.board import BoardReader
from bot.helpdesk.closing import Closing
from bot.helpdesk.models import FEATURE_NAME, Messenger
from bot.helpdesk.offers import OfferDesk
from bot.helpdesk.outbox import Outbox
from bot.privacy.rules import TableRule, TableRules
from bot.scheduler import Scheduler

__all__ = ["HelpdeskService"]


class HelpdeskService:
    """The help ledger (a `Feature`)."""

    name = FEATURE_NAME
    privacy_rules: TableRules = {
        "helpdesk_asks": TableRule("asks for help", anonymise=("closed_by_user_id",)),
        "helpdesk_offers": TableRule("offers of help"),
        "helpdesk_messages": TableRule(
            "help ledger messages to you", anonymise=("helper_user_id",)
        ),
    }

    def __init__(
        self, db: Database, scheduler: Scheduler, clock: Clock, guilds: GuildService
    ) -> None:
        self._db = db
        self._clock = clock
        self._guilds = guilds
        self.outbox = Outbox(db, scheduler, clock)
        self.asks = AskDesk(db, clock, self.outbox)
        self.offers = OfferDesk(db, clock, self.outbox)
        self.closing = Closing(db, clock, self.outbox)
        self.board = BoardReader(db, clock, self.outbox)

    def attach_messenger(self, messenger: Messenger | None) -> None:
        self.outbox.attach(messenger)

    async def status(self, guild_id: int, user_id: int | None) -> FeatureStatus:
        """The feature's line in `/about` and `/admin show`."""
        return await self.board.status(guild_id, user_id)

    async def member_left(self, guild_id: int, user_id: int) -> None:
        """A member left the guild: their open asks and offers are withdrawn."""
        await self.closing.member_left(guild_id, user_id)

    # ------------------------------------------------------------------ settings

    async def set_channel(self, guild_id: int, channel_id: int | None) -> None:
        await self._guilds.joined(guild_id)
        await self._db.execute(
            "INSERT INTO helpdesk_guilds (guild_id, channel_id) VALUES (?, ?) "
            "ON CONFLICT (guild_id) DO UPDATE SET channel_id = excluded.channel_id",
            (guild_id, channel_id),
        )

    async def reschedule(self, guild_id: int) -> None:
        """Re-arm every open ask's job (their timing is in hours and days, not local time)."""
        rows = await self._db.fetchall(
            "SELECT ask_id FROM helpdesk_asks WHERE guild_id = ? AND status = 'open'", (guild_id,)
        )
        for row in rows:
            await self.outbox.sync(row["ask_id"])
