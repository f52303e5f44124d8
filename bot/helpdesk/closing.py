"""Closing requests: resolve (with the thank-you), withdraw, the 14-day review's answer, and
withdrawing a departed member's requests."""

from __future__ import annotations

from bot.errors import UserError
from bot.helpdesk.models import (
    Ask,
    Closed,
    MessageKind,
    Offer,
    OfferStatus,
    parse_request_id,
)
from bot.helpdesk.rules import (
    AskStatus,
    can_close,
    validate_note,
    validate_summary,
)
from bot.helpdesk.search import index_ask, unindex_ask
from bot.helpdesk.store import LedgerPart
from bot.timeutil import to_db


class Closing(LedgerPart):
    """Resolving and withdrawing asks and offers."""

    async def resolve(
        self,
        guild_id: int,
        actor_user_id: int,
        actor_is_admin: bool,
        request_id: str,
        helper_user_id: int | None = None,
        note: str | None = None,
        summary: str | None = None,
        share: bool = False,
    ) -> Closed:
        """Close an ask as resolved; with a helper, send them the private thank-you. `summary`
        records what helped: private to the owner, or (with `share`) shown on the ask's post
        and found by `/board search`, never naming the helper."""
        ref = parse_request_id(request_id)
        note = validate_note(note)
        summary = validate_summary(summary)
        if share and not summary:
            raise UserError(
                "`share` shows your `summary` of what helped on the ask's post: add a "
                "`summary` too, or leave `share` out."
            )
        if note and helper_user_id is None:
            raise UserError(
                "A note is delivered privately to the helper: choose the `helper` too, "
                "or leave the note out."
            )
        found = await self._find(guild_id, ref)
        if isinstance(found, Offer):
            raise UserError(
                f"`{found.ref}` is an offer; `/resolve` closes asks. "
                f"To take the offer down, use `/withdraw {found.ref}`."
            )
        self._check_may_close(found.user_id, actor_user_id, actor_is_admin, found.ref, "resolve")
        if helper_user_id == found.user_id:
            raise UserError(
                "The helper must be someone other than the member who asked; "
                "choose the person who helped, or leave `helper` out."
            )
        await self._close_ask(
            found,
            AskStatus.RESOLVED,
            actor_user_id,
            helper_user_id,
            note,
            summary=summary or None,
            share=share,
        )
        return Closed(
            "ask", found.ref, found.topic, AskStatus.RESOLVED, helper_user_id, bool(summary), share
        )

    async def withdraw(
        self, guild_id: int, actor_user_id: int, actor_is_admin: bool, request_id: str
    ) -> Closed:
        """Withdraw an ask or an offer (the owner's, or any as an admin)."""
        found = await self._find(guild_id, parse_request_id(request_id))
        self._check_may_close(found.user_id, actor_user_id, actor_is_admin, found.ref, "withdraw")
        if isinstance(found, Ask):
            await self._close_ask(found, AskStatus.WITHDRAWN, actor_user_id, None, "")
            return Closed("ask", found.ref, found.topic, AskStatus.WITHDRAWN)
        if found.status != OfferStatus.OPEN:
            raise UserError(f"`{found.ref}` is already withdrawn.")
        await self._db.execute(
            "UPDATE helpdesk_offers SET status = 'withdrawn', closed_at = ? WHERE offer_id = ?",
            (to_db(self._clock.now()), found.offer_id),
        )
        return Closed("offer", found.ref, found.topic, OfferStatus.WITHDRAWN)

    async def review_answer(
        self, guild_id: int, number: int, user_id: int, *, keep_open: bool
    ) -> Closed | None:
        """The owner's answer to the 14-day review: keep open (restarting the clock) or close.

        Close counts as resolved: the owner closed it themselves, without naming a helper.
        """
        ask = await self.find_ask(guild_id, number)
        if ask.user_id != user_id:
            raise UserError("Only the member who asked can answer this.")
        if not ask.is_open:
            raise UserError(f"`{ask.ref}` is already {ask.status}.")
        if not keep_open:
            await self._close_ask(ask, AskStatus.RESOLVED, user_id, None, "")
            return Closed("ask", ask.ref, ask.topic, AskStatus.RESOLVED)
        await self._db.execute(
            "UPDATE helpdesk_asks SET kept_open_at = ? WHERE ask_id = ? AND status = 'open'",
            (to_db(self._clock.now()), ask.ask_id),
        )
        await self.lifecycle.sync(ask.ask_id)
        return None

    @staticmethod
    def _check_may_close(
        owner_user_id: int, actor_user_id: int, actor_is_admin: bool, ref: str, verb: str
    ) -> None:
        if not can_close(owner_user_id, actor_user_id, actor_is_admin):
            raise UserError(
                f"Only the member who posted `{ref}` (or an admin) can {verb} it. "
                "Your own ids are listed on `/board`."
            )

    async def _close_ask(
        self,
        ask: Ask,
        status: AskStatus,
        actor_user_id: int | None,
        helper: int | None,
        note: str,
        *,
        summary: str | None = None,
        share: bool = False,
    ) -> None:
        """Close the ask, edit its post and bump to say so, and thank the helper; one
        transaction, so a closed ask always has its edits on the way."""
        now = to_db(self._clock.now())
        thanks = None
        async with self._db.transaction() as tx:
            closed = await tx.fetchval(
                "UPDATE helpdesk_asks SET status = ?, closed_at = ?, closed_by_user_id = ?, "
                "summary = ?, summary_shared = ? "
                "WHERE ask_id = ? AND status = 'open' RETURNING ask_id",
                (status, now, actor_user_id, summary, int(share), ask.ask_id),
            )
            if closed is None:
                current = await tx.fetchval(
                    "SELECT status FROM helpdesk_asks WHERE ask_id = ?", (ask.ask_id,)
                )
                raise UserError(f"`{ask.ref}` is already {current}.")
            if share:
                await index_ask(tx, ask.ask_id, ask.guild_id, ask.topic, ask.details, summary)
            elif status != AskStatus.RESOLVED:
                await unindex_ask(tx, ask.ask_id)
            await self.messages.enqueue_closed(tx, ask.ask_id)
            if helper is not None:
                # The named helper counts as one who came forward (insights: time to a first
                # helper), whether or not they pressed "I can help".
                await tx.execute(
                    "INSERT INTO helpdesk_helpers (ask_id, guild_id, helper_user_id, offered_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (ask_id, helper_user_id) DO NOTHING",
                    (ask.ask_id, ask.guild_id, helper, now),
                )
                thanks = await self.messages.enqueue(
                    tx,
                    MessageKind.THANKS,
                    ask,
                    recipient=helper,
                    note=note,
                    closer=actor_user_id,
                )
        self.messages.wake()  # the edits
        await self.messages.send_now([thanks])
        await self.lifecycle.sync(ask.ask_id)

    async def member_left(self, guild_id: int, user_id: int) -> None:
        """Withdraw a departed member's open asks and offers.

        Their asks would otherwise keep routing DMs, bumps and reviews going for someone who
        can no longer read the answers. Called by the member lifecycle handler.
        """
        now = to_db(self._clock.now())
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(
                "UPDATE helpdesk_asks SET status = 'withdrawn', closed_at = ? "
                "WHERE guild_id = ? AND user_id = ? AND status = 'open' RETURNING ask_id",
                (now, guild_id, user_id),
            )
            await tx.execute(
                "UPDATE helpdesk_offers SET status = 'withdrawn', closed_at = ? "
                "WHERE guild_id = ? AND user_id = ? AND status = 'open'",
                (now, guild_id, user_id),
            )
            for row in rows:
                await unindex_ask(tx, row["ask_id"])
                await self.messages.enqueue_closed(tx, row["ask_id"])
        self.messages.wake()
        for row in rows:
            await self.lifecycle.sync(row["ask_id"])
