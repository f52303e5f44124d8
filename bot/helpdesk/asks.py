"""Asking for help: the ask, its channel post and routing DMs (each message enqueued in the
transaction that decides it), and its words for `/board search`. "I can help" is helping.py."""

from __future__ import annotations

from datetime import datetime

from bot.db import Transaction
from bot.helpdesk.models import (
    Ask,
    AskCreated,
    MessageKind,
)
from bot.helpdesk.rules import (
    AskStatus,
    Offerer,
    choose_helpers,
    routing_window_start,
    validate_details,
)
from bot.helpdesk.search import index_ask
from bot.helpdesk.store import LedgerPart
from bot.helpdesk.topics import normalise_topic
from bot.timeutil import maybe_from_db, to_db


class AskDesk(LedgerPart):
    """Asks."""

    async def ask(
        self, guild_id: int, user_id: int, topic: str, details: str, anonymous: bool = False
    ) -> AskCreated:
        """Record an ask with its channel post and routing DMs, and send them before answering.

        An anonymous ask is recorded with its owner like any other (they resolve and withdraw
        it); only what members see leaves the owner out."""
        topic = normalise_topic(topic)
        details = validate_details(details)
        now = self._clock.now()
        async with self._db.transaction() as tx:
            topic_id = await self._topic_id(tx, guild_id, topic)
            number = await self._next_number(tx, guild_id)
            ask_id = await tx.fetchval(
                "INSERT INTO helpdesk_asks (guild_id, request_no, topic_id, user_id, details, "
                "created_at, anonymous) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING ask_id",
                (guild_id, number, topic_id, user_id, details, to_db(now), int(anonymous)),
            )
            await index_ask(tx, ask_id, guild_id, topic, details)
            channel_id = await tx.fetchval(
                "SELECT channel_id FROM helpdesk_guilds WHERE guild_id = ?", (guild_id,)
            )
            ask = Ask(
                ask_id, guild_id, number, topic, user_id, details, AskStatus.OPEN, now, anonymous
            )
            queued = []
            if channel_id is not None:
                queued.append(
                    await self.messages.enqueue(tx, MessageKind.POST, ask, channel_id=channel_id)
                )
            helpers = choose_helpers(user_id, await self._offerers(tx, guild_id, topic_id, now))
            for helper in helpers:
                await tx.execute(
                    "INSERT INTO helpdesk_routes (ask_id, guild_id, helper_user_id, routed_at) "
                    "VALUES (?, ?, ?, ?)",
                    (ask_id, guild_id, helper, to_db(now)),
                )
                queued.append(
                    await self.messages.enqueue(tx, MessageKind.ROUTE, ask, recipient=helper)
                )
        await self.messages.send_now(queued)
        await self.lifecycle.sync(ask_id)
        return AskCreated(ask=ask, helpers_notified=len(helpers), posted_to_channel_id=channel_id)

    async def _offerers(
        self, tx: Transaction, guild_id: int, topic_id: int, now: datetime
    ) -> list[Offerer]:
        """Open offerers of the topic, with their routing DMs (in this guild) for the caps."""
        rows = await tx.fetchall(
            """
            SELECT o.user_id, MAX(r.routed_at) AS last_routed_at,
                   COALESCE(SUM(CASE WHEN r.routed_at > ? THEN 1 ELSE 0 END), 0) AS routed_today
            FROM helpdesk_offers o
            LEFT JOIN helpdesk_routes r ON r.guild_id = o.guild_id
                 AND r.helper_user_id = o.user_id
            WHERE o.guild_id = ? AND o.topic_id = ? AND o.status = 'open'
            GROUP BY o.user_id ORDER BY o.user_id
            """,
            (to_db(routing_window_start(now)), guild_id, topic_id),
        )
        return [
            Offerer(row["user_id"], maybe_from_db(row["last_routed_at"]), row["routed_today"])
            for row in rows
        ]
