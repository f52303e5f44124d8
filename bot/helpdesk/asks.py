"""Asking for help and "I can help": the ask, its channel post and routing DMs, and the
helper's note to the asker (each message enqueued in the transaction that decides it)."""

from __future__ import annotations

from datetime import datetime

from bot.db import Transaction
from bot.errors import UserError
from bot.helpdesk.models import (
    Ask,
    AskCreated,
    HelpOffered,
    MessageKind,
)
from bot.helpdesk.rules import (
    AskStatus,
    Offerer,
    can_offer_help,
    choose_helpers,
    routing_window_start,
    validate_details,
)
from bot.helpdesk.store import LedgerPart
from bot.helpdesk.topics import normalise_topic
from bot.timeutil import maybe_from_db, to_db


class AskDesk(LedgerPart):
    """Asks and offers of help on them."""

    async def ask(self, guild_id: int, user_id: int, topic: str, details: str) -> AskCreated:
        """Record an ask with its channel post and routing DMs, and send them before answering."""
        topic = normalise_topic(topic)
        details = validate_details(details)
        now = self._clock.now()
        async with self._db.transaction() as tx:
            topic_id = await self._topic_id(tx, guild_id, topic)
            number = await self._next_number(tx, guild_id)
            ask_id = await tx.fetchval(
                "INSERT INTO helpdesk_asks (guild_id, request_no, topic_id, user_id, details, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING ask_id",
                (guild_id, number, topic_id, user_id, details, to_db(now)),
            )
            channel_id = await tx.fetchval(
                "SELECT channel_id FROM helpdesk_guilds WHERE guild_id = ?", (guild_id,)
            )
            ask = Ask(ask_id, guild_id, number, topic, user_id, details, AskStatus.OPEN, now)
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

    async def offer_help(self, guild_id: int, number: int, helper_user_id: int) -> HelpOffered:
        """Record that `helper` can help with ask `number` and tell the asker, once per helper."""
        ask = await self.find_ask(guild_id, number)
        if not can_offer_help(ask.user_id, helper_user_id):
            raise UserError(
                f"`{ask.ref}` is your own ask. When someone helps, close it with "
                f"`/resolve {ask.ref}` and choose them as `helper` to thank them."
            )
        if not ask.is_open:
            raise UserError(f"`{ask.ref}` is already {ask.status}; thank you for offering!")
        now = to_db(self._clock.now())
        async with self._db.transaction() as tx:
            first = await tx.fetchval(
                "INSERT INTO helpdesk_helpers (ask_id, guild_id, helper_user_id, offered_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (ask_id, helper_user_id) DO NOTHING "
                "RETURNING ask_id",
                (ask.ask_id, guild_id, helper_user_id, now),
            )
            told = None
            if first is not None:
                told = await self.messages.enqueue(
                    tx, MessageKind.HELP, ask, recipient=ask.user_id, helper=helper_user_id
                )
        await self.messages.send_now([told])
        await self.lifecycle.sync(ask.ask_id)  # helped: no bump any more
        return HelpOffered(ask=ask, first_time=first is not None)
