"""The help ledger service (a `Feature`): the parts put together, as cogs and tests use it.

Asks live in `asks.py`, offers in `offers.py`, closing in `closing.py`, the board and report
in `board.py`, what they share in `store.py`.

Rules live in `rules.py` and `topics.py` (pure); this module reads and writes the database and
applies them. Messages are recorded here in the transaction that decides them and sent by the
`Outbox` (see `outbox.py` for the exactly-once scheme). Every lookup is scoped to the invoking
guild, so an id from another server is simply "not found".
"""

from __future__ import annotations

from bot.clock import Clock
from bot.db import Database
from bot.guilds import GuildService
from bot.helpdesk.asks import AskDesk
from bot.helpdesk.board import BoardReader
from bot.helpdesk.closing import Closing
from bot.helpdesk.models import (
    Messenger,
)
from bot.helpdesk.offers import OfferDesk
from bot.helpdesk.outbox import Outbox
from bot.scheduler import Scheduler

__all__ = ["HelpdeskService"]


class HelpdeskService:
    """The help ledger (a `Feature`)."""

    def __init__(
        self, db: Database, scheduler: Scheduler, clock: Clock, guilds: GuildService
    ) -> None:
        self._db = db
        self._clock = clock
        self._guilds = guilds
        self.outbox = Outbox(db, scheduler, clock)
        asks = AskDesk(db, clock, self.outbox)
        offers = OfferDesk(db, clock, self.outbox)
        closing = Closing(db, clock, self.outbox)
        board = BoardReader(db, clock, self.outbox)
        self.channel = asks.channel
        self.find_ask = asks.find_ask
        self.ask = asks.ask
        self.offer_help = asks.offer_help
        self.offer = offers.offer
        self.resolve = closing.resolve
        self.withdraw = closing.withdraw
        self.review_answer = closing.review_answer
        self.member_left = closing.member_left
        self.board = board.board
        self.report = board.report
        self.open_topics = board.open_topics
        self.status = board.status
        self.suggest_topics = asks.suggest_topics

    def attach_messenger(self, messenger: Messenger | None) -> None:
        self.outbox.attach(messenger)

    # ------------------------------------------------------------------ settings and topics

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
