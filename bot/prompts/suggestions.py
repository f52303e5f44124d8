"""Deciding members' suggested prompts, and the approval DM (sent once, resent after a crash)."""

from __future__ import annotations

import logging

from bot.db import Database

from .pool import PromptPool, Suggestion
from .posting import ApprovalNotice, DeliveryFailed, SenderSlot
from .records import Approval

log = logging.getLogger(__name__)


class SuggestionReview:
    def __init__(self, db: Database, pool: PromptPool, senders: SenderSlot) -> None:
        self._db = db
        self._pool = pool
        self._senders = senders

    async def approve(self, guild_id: int, suggestion_id: int, admin_user_id: int) -> Approval:
        """Add a suggestion to the pool and DM the suggester (a refused DM is only logged)."""
        self._senders.require()
        suggestion, prompt_id = await self._pool.decide(
            guild_id, suggestion_id, admin_user_id, approve=True
        )
        assert prompt_id is not None
        dm_sent = await self._notify(suggestion_id)
        return Approval(suggestion, prompt_id, dm_sent)

    async def reject(self, guild_id: int, suggestion_id: int, admin_user_id: int) -> Suggestion:
        """Reject quietly: the suggester is not told (a rejection DM would discourage more)."""
        suggestion, _ = await self._pool.decide(
            guild_id, suggestion_id, admin_user_id, approve=False
        )
        return suggestion

    async def has_pending(self) -> bool:
        """Whether a crash left an approval DM claimed but not sent."""
        return bool(
            await self._db.fetchval(
                "SELECT EXISTS (SELECT 1 FROM prompt_suggestions WHERE dm_status = 'sending')"
            )
        )

    async def resend_pending(self) -> None:
        """Send every approval DM left in 'sending' (its nonce dedupes a repeat)."""
        for (suggestion_id,) in await self._db.fetchall(
            "SELECT id FROM prompt_suggestions WHERE dm_status = 'sending' ORDER BY id"
        ):
            await self._notify(suggestion_id)

    async def _notify(self, suggestion_id: int) -> bool:
        row = await self._db.fetchone(
            "SELECT * FROM prompt_suggestions WHERE id = ? AND dm_status = 'sending'",
            (suggestion_id,),
        )
        if row is None:
            return False
        notice = ApprovalNotice(
            suggestion_id=suggestion_id,
            guild_id=row["guild_id"],
            user_id=row["suggested_by_user_id"],
            prompt_id=f"c{row['custom_prompt_id']}",
            text=row["text"],
        )
        sender = self._senders.require()
        status, reason = "sent", None
        try:
            await sender.direct_message(notice)
        except DeliveryFailed as exc:
            status, reason = "failed", str(exc)
            log.info("Could not DM the suggester of suggestion %s: %s", suggestion_id, exc)
        except Exception:
            status, reason = "failed", "an unexpected error (see the log)"
            log.exception("Could not DM the suggester of suggestion %s", suggestion_id)
        await self._db.execute(
            "UPDATE prompt_suggestions SET dm_status = ?, dm_reason = ? WHERE id = ?",
            (status, reason, suggestion_id),
        )
        return status == "sent"
