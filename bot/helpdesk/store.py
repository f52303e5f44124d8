"""What the help ledger's parts share: the database handles, topics and request numbers, and
finding a request by its number (always scoped to the invoking guild)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.db import Database, Row, Transaction
from bot.errors import UserError
from bot.helpdesk.models import (
    Ask,
    Offer,
    OfferStatus,
    RequestKind,
    RequestRef,
    ask_ref,
    offer_ref,
)
from bot.helpdesk.rules import AskStatus
from bot.helpdesk.topics import rank_topics
from bot.timeutil import from_db, maybe_from_db, to_db

if TYPE_CHECKING:
    from bot.helpdesk.lifecycle import AskLifecycle
    from bot.helpdesk.messages import LedgerMessages

ASK_COLUMNS = """
    a.ask_id, a.guild_id, a.request_no, t.name AS topic, a.user_id, a.details, a.status,
    a.created_at, a.anonymous, a.closed_at,
    CASE WHEN a.summary_shared = 1 THEN a.summary END AS shared_summary
"""
ASK_FROM = "helpdesk_asks a JOIN helpdesk_topics t ON t.topic_id = a.topic_id"
OFFER_COLUMNS = """
    o.offer_id, o.guild_id, o.request_no, t.name AS topic, o.user_id, o.details, o.status,
    o.created_at
"""
OFFER_FROM = "helpdesk_offers o JOIN helpdesk_topics t ON t.topic_id = o.topic_id"


def ask_from_row(row: Row) -> Ask:
    """A `helpdesk_asks` row as the `Ask` the ledger works with."""
    return Ask(
        ask_id=row["ask_id"],
        guild_id=row["guild_id"],
        number=row["request_no"],
        topic=row["topic"],
        user_id=row["user_id"],
        details=row["details"],
        status=AskStatus(row["status"]),
        created_at=from_db(row["created_at"]),
        anonymous=row["anonymous"] == 1,
        closed_at=maybe_from_db(row["closed_at"]),
        shared_summary=row["shared_summary"],
    )


def offer_from_row(row: Row) -> Offer:
    """A `helpdesk_offers` row as the `Offer` the ledger works with."""
    return Offer(
        offer_id=row["offer_id"],
        guild_id=row["guild_id"],
        number=row["request_no"],
        topic=row["topic"],
        user_id=row["user_id"],
        details=row["details"],
        status=OfferStatus(row["status"]),
        created_at=from_db(row["created_at"]),
    )


class LedgerPart:
    """Base of the ledger's parts (asks, offers, closing, board): the database, the ledger's
    messages and the asks' lifecycle jobs."""

    def __init__(
        self, db: Database, clock: Clock, messages: LedgerMessages, lifecycle: AskLifecycle
    ) -> None:
        self._db = db
        self._clock = clock
        self.messages = messages
        self.lifecycle = lifecycle

    async def channel(self, guild_id: int) -> int | None:
        """The guild's help channel, or None when asks reach helpers by DM only."""
        return await self._db.fetchval(
            "SELECT channel_id FROM helpdesk_guilds WHERE guild_id = ?", (guild_id,)
        )

    async def suggest_topics(self, guild_id: int, query: str) -> list[str]:
        """The guild's topics best matching `query`, for autocomplete; never raises."""
        rows = await self._db.fetchall(
            "SELECT name FROM helpdesk_topics WHERE guild_id = ?", (guild_id,)
        )
        return rank_topics(query, [row["name"] for row in rows])

    async def _topic_id(self, tx: Transaction, guild_id: int, topic: str) -> int:
        await tx.execute(
            "INSERT INTO helpdesk_topics (guild_id, name, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (guild_id, topic, to_db(self._clock.now())),
        )
        return await tx.fetchval(
            "SELECT topic_id FROM helpdesk_topics WHERE guild_id = ? AND name = ?",
            (guild_id, topic),
        )

    async def _next_number(self, tx: Transaction, guild_id: int) -> int:
        await tx.execute(
            "INSERT INTO helpdesk_guilds (guild_id) VALUES (?) ON CONFLICT DO NOTHING", (guild_id,)
        )
        return await tx.fetchval(
            "UPDATE helpdesk_guilds SET last_request_no = last_request_no + 1 "
            "WHERE guild_id = ? RETURNING last_request_no",
            (guild_id,),
        )

    async def _find(self, guild_id: int, ref: RequestRef) -> Ask | Offer:
        """The ask or offer numbered `ref` in this guild, or a UserError saying it isn't here."""
        ask = await self._db.fetchone(
            f"SELECT {ASK_COLUMNS} FROM {ASK_FROM} WHERE a.guild_id = ? AND a.request_no = ?",
            (guild_id, ref.number),
        )
        found: Ask | Offer | None = None
        if ask is not None:
            found = ask_from_row(ask)
        else:
            offer = await self._db.fetchone(
                f"SELECT {OFFER_COLUMNS} FROM {OFFER_FROM} "
                "WHERE o.guild_id = ? AND o.request_no = ?",
                (guild_id, ref.number),
            )
            found = None if offer is None else offer_from_row(offer)
        shown = {"ask": ask_ref, "offer": offer_ref}.get(ref.kind or "", str)(ref.number)
        if found is None:
            raise UserError(
                f"There is no ask or offer `{shown}` in this server. `/board` lists the open "
                "ones with their ids."
            )
        kind: RequestKind = "ask" if isinstance(found, Ask) else "offer"
        if ref.kind is not None and ref.kind != kind:
            raise UserError(f"`{shown}` does not exist here, but `{found.ref}` is an {kind}.")
        return found

    async def find_ask(self, guild_id: int, number: int) -> Ask:
        """The guild's ask `number`, or a `UserError` naming the id that was not found."""
        found = await self._find(guild_id, RequestRef(number, "ask"))
        assert isinstance(found, Ask)
        return found
