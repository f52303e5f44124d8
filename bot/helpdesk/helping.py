""" "I can help" and what follows it: the private thread of an asker and a helper.

Pressing "I can help" (on the post or in a routing DM) records the helper once per ask
(`helpdesk_helpers`) and, in the same transaction, decides what happens next:

* an ask with a help channel: a private thread under it with both, its first message quoting
  the ask (`THREAD`); if Discord refuses the thread, both are told by DM who to contact;
* an anonymous ask: the asker is asked by DM, naming the helper ("Open a private thread" /
  "No thanks", `CONSENT`); only "Open" makes the thread, so the helper learns who asked only
  then. If the asker's DMs are closed, a thread with only the asker asks instead (`SOLO`) and
  "Open" there adds the helper to it;
* no help channel: the asker is told by DM who offered (`HELP`), as before threads.

Thread numbers (the thread's name, "Help A12 · 7") come from a per-guild counter, taken under
the guild's lock together with the helper's row, so two presses never share a name.
"""

from __future__ import annotations

from bot.db import Transaction
from bot.errors import UserError
from bot.helpdesk.models import Ask, HelpOffered, MessageKind
from bot.helpdesk.rules import can_offer_help
from bot.helpdesk.store import LedgerPart
from bot.timeutil import to_db


class Helping(LedgerPart):
    """Offers of help on an ask, and the anonymous asker's choice."""

    async def offer_help(self, guild_id: int, number: int, helper_user_id: int) -> HelpOffered:
        """Record that `helper` can help with ask `number`; open (or ask to open) their thread."""
        ask = await self.find_ask(guild_id, number)
        if not can_offer_help(ask.user_id, helper_user_id):
            raise UserError(
                f"`{ask.ref}` is your own ask. When someone helps, close it with "
                f"`/resolve {ask.ref}` and choose them as `helper` to thank them."
            )
        if not ask.is_open:
            raise UserError(f"`{ask.ref}` is already {ask.status}; thank you for offering!")
        queued = None
        async with self._db.guild_lock(guild_id), self._db.transaction() as tx:
            status = await tx.fetchval(
                "SELECT status FROM helpdesk_asks WHERE ask_id = ?", (ask.ask_id,)
            )
            if status != "open":  # closed since it was read
                raise UserError(f"`{ask.ref}` is already {status}; thank you for offering!")
            first = (
                await tx.fetchval(
                    "SELECT 1 FROM helpdesk_helpers WHERE ask_id = ? AND helper_user_id = ?",
                    (ask.ask_id, helper_user_id),
                )
                is None
            )
            if first:
                queued = await self._first_offer(tx, ask, helper_user_id)
        await self.messages.send_now([queued])
        await self.lifecycle.sync(ask.ask_id)  # helped: no bump any more
        return await self._offered(ask, helper_user_id, first)

    async def _first_offer(self, tx: Transaction, ask: Ask, helper: int) -> int | None:
        channel_id = await tx.fetchval(
            "SELECT channel_id FROM helpdesk_guilds WHERE guild_id = ?", (ask.guild_id,)
        )
        thread_no = await tx.fetchval(
            "UPDATE helpdesk_guilds SET last_thread_no = last_thread_no + 1 "
            "WHERE guild_id = ? RETURNING last_thread_no",
            (ask.guild_id,),
        )
        if ask.anonymous:
            state, kind = "waiting", MessageKind.CONSENT
        elif channel_id is not None:
            state, kind = "opening", MessageKind.THREAD
        else:
            state, kind = "none", MessageKind.HELP
        await tx.execute(
            "INSERT INTO helpdesk_helpers (ask_id, guild_id, helper_user_id, offered_at, "
            "thread_no, thread_state) VALUES (?, ?, ?, ?, ?, ?)",
            (ask.ask_id, ask.guild_id, helper, to_db(self._clock.now()), thread_no, state),
        )
        return await self.messages.enqueue(
            tx,
            kind,
            ask,
            channel_id=channel_id if kind is MessageKind.THREAD else None,
            recipient=None if kind is MessageKind.THREAD else ask.user_id,
            helper=helper,
            thread_no=thread_no or 0,
        )

    async def _offered(self, ask: Ask, helper: int, first: bool) -> HelpOffered:
        row = await self._db.fetchone(
            "SELECT thread_state, thread_id FROM helpdesk_helpers "
            "WHERE ask_id = ? AND helper_user_id = ?",
            (ask.ask_id, helper),
        )
        state, thread_id = ("none", None) if row is None else (row[0], row[1])
        return HelpOffered(ask=ask, first_time=first, thread_state=state, thread_id=thread_id)

    async def decide(
        self, guild_id: int, number: int, helper_user_id: int, user_id: int, *, open_thread: bool
    ) -> HelpOffered:
        """The anonymous asker's answer to an offer: open a private thread with the helper, or
        not. Pressing Open after No thanks still opens it; pressing twice opens one."""
        ask = await self.find_ask(guild_id, number)
        if ask.user_id != user_id:
            raise UserError("Only the member who asked can answer this.")
        if not ask.is_open:
            raise UserError(f"`{ask.ref}` is already {ask.status}.")
        queued: list[int | None] = []
        async with self._db.guild_lock(guild_id), self._db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT thread_state, thread_id, thread_no FROM helpdesk_helpers "
                "WHERE ask_id = ? AND helper_user_id = ?",
                (ask.ask_id, helper_user_id),
            )
            if row is None:
                raise UserError("That offer of help is no longer on record.")
            state = row["thread_state"]
            if not open_thread:
                if state == "waiting":
                    await self._set_state(tx, ask, helper_user_id, "declined")
            elif state in ("waiting", "declined"):
                queued = await self._open(tx, ask, helper_user_id, row["thread_id"], row[2])
        await self.messages.send_now(queued)
        return await self._offered(ask, helper_user_id, first=False)

    async def _open(
        self, tx: Transaction, ask: Ask, helper: int, solo_thread: int | None, thread_no: int
    ) -> list[int | None]:
        """The asker chose Open: the helper joins their solo thread, or a thread with both is
        made; with no help channel, both are told by DM who to contact."""
        if solo_thread is not None:
            await self._set_state(tx, ask, helper, "open")
            return [
                await self.messages.enqueue(
                    tx, kind, ask, channel_id=solo_thread, helper=helper, thread_no=thread_no
                )
                for kind in (MessageKind.JOIN, MessageKind.INTRO)
            ]
        channel_id = await tx.fetchval(
            "SELECT channel_id FROM helpdesk_guilds WHERE guild_id = ?", (ask.guild_id,)
        )
        if channel_id is None:
            await self._set_state(tx, ask, helper, "none")
            await self.messages.enqueue_contacts(tx, ask, helper)
            return []
        await self._set_state(tx, ask, helper, "opening")
        return [
            await self.messages.enqueue(
                tx,
                MessageKind.THREAD,
                ask,
                channel_id=channel_id,
                helper=helper,
                thread_no=thread_no,
            )
        ]

    @staticmethod
    async def _set_state(tx: Transaction, ask: Ask, helper: int, state: str) -> None:
        await tx.execute(
            "UPDATE helpdesk_helpers SET thread_state = ? WHERE ask_id = ? AND helper_user_id = ?",
            (state, ask.ask_id, helper),
        )
