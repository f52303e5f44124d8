"""The help ledger (a `Feature`): its parts by name, its settings, and the `Feature` protocol.

Callers use the parts by name (`services.helpdesk.asks.ask(...)`): `asks` (asks.py: asking),
`helping` (helping.py: "I can help" and the helper threads), `offers` (offers.py), `closing`
(closing.py: resolve, withdraw, reviews, a member leaving), `board` (board.py: the board and
its search, the admin report, `/about`), `lifecycle` (lifecycle.py: each ask's bump, review and
stale close); what the parts share is in `store.py`, search words in `search.py`.

Rules live in `rules.py` and `topics.py` (pure); the parts read and write the database and apply
them. Messages are enqueued in the outbox in the transaction that decides them (messages.py).
Every lookup is scoped to the invoking guild, so an id from another server is simply "not
found".
"""

from __future__ import annotations

from bot.clock import Clock
from bot.db import Database
from bot.features import FeatureStatus
from bot.guilds import GuildService
from bot.helpdesk.asks import AskDesk
from bot.helpdesk.board import BoardReader
from bot.helpdesk.closing import Closing
from bot.helpdesk.helping import Helping
from bot.helpdesk.lifecycle import AskLifecycle
from bot.helpdesk.messages import LedgerMessages
from bot.helpdesk.models import FEATURE_NAME
from bot.helpdesk.offers import OfferDesk
from bot.outbox import Outbox
from bot.privacy.rules import TableRule, TableRules
from bot.scheduler import Scheduler

__all__ = ["HelpdeskService"]


class HelpdeskService:
    """The help ledger (a `Feature`)."""

    name = FEATURE_NAME
    privacy_rules: TableRules = {
        "helpdesk_asks": TableRule("asks for help", anonymise=("closed_by_user_id",)),
        "helpdesk_offers": TableRule("offers of help"),
        "helpdesk_routes": TableRule("asks sent to you because you offered their topic"),
        # Someone offered to help on an ask: the ask stays "helped" if the helper is forgotten.
        "helpdesk_helpers": TableRule("offers to help on asks", anonymise=("helper_user_id",)),
    }

    def __init__(
        self,
        db: Database,
        scheduler: Scheduler,
        clock: Clock,
        guilds: GuildService,
        outbox: Outbox,
    ) -> None:
        self._db = db
        self._clock = clock
        self._guilds = guilds
        messages = LedgerMessages(db, clock, outbox)
        self.lifecycle = AskLifecycle(db, scheduler, clock, messages)
        self.asks = AskDesk(db, clock, messages, self.lifecycle)
        self.helping = Helping(db, clock, messages, self.lifecycle)
        self.offers = OfferDesk(db, clock, messages, self.lifecycle)
        self.closing = Closing(db, clock, messages, self.lifecycle)
        self.board = BoardReader(db, clock, messages, self.lifecycle)

    async def status(self, guild_id: int, user_id: int | None) -> FeatureStatus:
        """The feature's line in `/about` and `/admin show`."""
        return await self.board.status(guild_id, user_id)

    async def member_left(self, guild_id: int, user_id: int) -> None:
        """A member left the guild: their open asks and offers are withdrawn."""
        await self.closing.member_left(guild_id, user_id)

    # ------------------------------------------------------------------ settings

    async def set_channel(self, guild_id: int, channel_id: int | None) -> None:
        """Set (or clear, with None) the channel where new asks are posted."""
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
            await self.lifecycle.sync(row["ask_id"])
