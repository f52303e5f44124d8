"""Offering help on a topic (one open offer per member and topic)."""

from __future__ import annotations

from bot.helpdesk.models import (
    OfferRecorded,
)
from bot.helpdesk.rules import (
    validate_details,
)
from bot.helpdesk.store import OFFER_COLUMNS, OFFER_FROM, LedgerPart, offer_from_row
from bot.helpdesk.topics import normalise_topic
from bot.timeutil import to_db


class OfferDesk(LedgerPart):
    """Offers."""

    async def offer(
        self, guild_id: int, user_id: int, topic: str, details: str | None
    ) -> OfferRecorded:
        """Record an offer, or update the details of the member's open offer on the topic.

        Repeating `/offer` without details keeps the details already given.
        """
        topic = normalise_topic(topic)
        cleaned = validate_details(details, required=False)
        now = to_db(self._clock.now())
        async with self._db.transaction() as tx:
            topic_id = await self._topic_id(tx, guild_id, topic)
            existing = await tx.fetchval(
                "SELECT offer_id FROM helpdesk_offers WHERE guild_id = ? AND topic_id = ? "
                "AND user_id = ? AND status = 'open'",
                (guild_id, topic_id, user_id),
            )
            if existing is not None:
                if cleaned:
                    await tx.execute(
                        "UPDATE helpdesk_offers SET details = ?, updated_at = ? WHERE offer_id = ?",
                        (cleaned, now, existing),
                    )
                offer_id = existing
            else:
                number = await self._next_number(tx, guild_id)
                offer_id = await tx.fetchval(
                    "INSERT INTO helpdesk_offers (guild_id, request_no, topic_id, user_id, "
                    "details, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                    "RETURNING offer_id",
                    (guild_id, number, topic_id, user_id, cleaned, now, now),
                )
            row = await tx.fetchone(
                f"SELECT {OFFER_COLUMNS} FROM {OFFER_FROM} WHERE o.offer_id = ?", (offer_id,)
            )
            open_asks = await tx.fetchval(
                "SELECT COUNT(*) FROM helpdesk_asks WHERE guild_id = ? AND topic_id = ? "
                "AND status = 'open' AND user_id != ?",
                (guild_id, topic_id, user_id),
            )
        assert row is not None
        return OfferRecorded(offer_from_row(row), updated=existing is not None, open_asks=open_asks)
