"""Members' suggested prompts: queueing them for review, deciding them, and the approval DM
(an outbox row enqueued with the decision). Approved prompts enter the pool like any other
(`insert_custom`).
"""

from __future__ import annotations

import logging

from bot.clock import Clock
from bot.db import Database, Row, Transaction
from bot.errors import UserError
from bot.outbox import Outbox
from bot.timeutil import to_db

from .importing import checked_prompt_text, prompt_key
from .pool import PromptPool
from .records import Approval, Suggestion, suggestion_from_row
from .rotation import custom_rowid

log = logging.getLogger(__name__)

MAX_PENDING_SUGGESTIONS = 5
APPROVED_KIND = "prompt.approved"


class SuggestionReview:
    """Members suggest prompts; admins approve (into the pool, with a thank-you DM) or reject."""

    def __init__(self, db: Database, clock: Clock, pool: PromptPool, outbox: Outbox) -> None:
        self._db = db
        self._clock = clock
        self._pool = pool
        self._outbox = outbox

    async def approve(self, guild_id: int, suggestion_id: int, admin_user_id: int) -> Approval:
        """Add a suggestion to the pool and DM the suggester; say whether the DM went out (a
        refused DM is only reported; one Discord could not take now is sent later)."""
        suggestion, prompt_id, dm_id = await self._decide(
            guild_id, suggestion_id, admin_user_id, approve=True
        )
        assert prompt_id is not None and dm_id is not None
        (dm,) = await self._outbox.send_now([dm_id])
        if dm.state != "sent":
            log.info("The approval DM of suggestion %s: %s", suggestion_id, dm.last_error)
        return Approval(suggestion, prompt_id, dm.state == "sent")

    async def reject(self, guild_id: int, suggestion_id: int, admin_user_id: int) -> Suggestion:
        """Reject quietly: the suggester is not told (a rejection DM would discourage more)."""
        suggestion, _, _ = await self._decide(guild_id, suggestion_id, admin_user_id, approve=False)
        return suggestion

    async def suggest(self, guild_id: int, user_id: int, text: str) -> Suggestion:
        """Queue a member's prompt for review (at most 5 pending per member)."""
        cleaned = checked_prompt_text(text)
        async with self._db.transaction() as tx:
            pending = await tx.fetchall(
                "SELECT text FROM prompt_suggestions "
                "WHERE guild_id = ? AND suggested_by_user_id = ? AND status = 'pending'",
                (guild_id, user_id),
            )
            if len(pending) >= MAX_PENDING_SUGGESTIONS:
                raise UserError(
                    f"You already have {MAX_PENDING_SUGGESTIONS} suggestions waiting for review. "
                    "Please wait until an admin has looked at them."
                )
            if any(prompt_key(row["text"]) == prompt_key(cleaned) for row in pending):
                raise UserError("You already suggested this prompt; it is waiting for review.")
            if prompt_key(cleaned) in await self._pool.existing_keys(guild_id, tx):
                raise UserError("This prompt is already in the server's pool. Thank you!")
            now = self._clock.now()
            suggestion_id = await tx.fetchval(
                "INSERT INTO prompt_suggestions (guild_id, suggested_by_user_id, text, created_at)"
                " VALUES (?, ?, ?, ?) RETURNING id",
                (guild_id, user_id, cleaned, to_db(now)),
            )
        return Suggestion(suggestion_id, guild_id, user_id, cleaned, "pending", now)

    async def pending(self, guild_id: int, limit: int) -> tuple[list[Suggestion], int]:
        """The oldest `limit` pending suggestions, and how many are pending in all."""
        rows = await self._db.fetchall(
            "SELECT * FROM prompt_suggestions WHERE guild_id = ? AND status = 'pending' "
            "ORDER BY id LIMIT ?",
            (guild_id, limit),
        )
        total = await self._db.fetchval(
            "SELECT COUNT(*) FROM prompt_suggestions WHERE guild_id = ? AND status = 'pending'",
            (guild_id,),
        )
        return [suggestion_from_row(row) for row in rows], total

    async def pending_count_of(self, guild_id: int, user_id: int) -> int:
        """How many of a member's suggestions wait for review (for their `/about` line)."""
        return await self._db.fetchval(
            "SELECT COUNT(*) FROM prompt_suggestions "
            "WHERE guild_id = ? AND suggested_by_user_id = ? AND status = 'pending'",
            (guild_id, user_id),
        )

    async def _decide(
        self, guild_id: int, suggestion_id: int, admin_user_id: int, *, approve: bool
    ) -> tuple[Suggestion, str | None, int | None]:
        """Approve (adding the prompt, enqueueing the DM) or reject a pending suggestion; the
        suggestion, the new prompt's id and the DM's outbox id."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT * FROM prompt_suggestions WHERE id = ? AND guild_id = ?",
                (suggestion_id, guild_id),
            )
            if row is None:
                raise UserError("This suggestion no longer exists.")
            if row["status"] != "pending":
                raise UserError(f"This suggestion was already {row['status']}.")
            prompt_id = dm_id = None
            rowid = None
            if approve:
                existing = await self._pool.existing_keys(guild_id, tx)
                if (found := existing.get(prompt_key(row["text"]))) is not None:
                    raise UserError(
                        f"This prompt is already in the pool as `{found}`; reject the suggestion."
                    )
                prompt_id = await self._pool.insert_custom(tx, guild_id, row["text"], "suggestion")
                rowid = custom_rowid(prompt_id)
                dm_id = await self._enqueue_thanks(tx, row, prompt_id)
            await tx.execute(
                "UPDATE prompt_suggestions SET status = ?, decided_at = ?, decided_by_user_id = ?,"
                " custom_prompt_id = ? WHERE id = ?",
                (
                    "approved" if approve else "rejected",
                    to_db(self._clock.now()),
                    admin_user_id,
                    rowid,
                    suggestion_id,
                ),
            )
        return suggestion_from_row(row), prompt_id, dm_id

    async def _enqueue_thanks(self, tx: Transaction, row: Row, prompt_id: str) -> int | None:
        """The DM telling the suggester their prompt joins the rotation."""
        return await self._outbox.enqueue(
            tx,
            key=f"{APPROVED_KIND}:{row['id']}",
            kind=APPROVED_KIND,
            guild_id=row["guild_id"],
            user_id=row["suggested_by_user_id"],
            payload={"prompt_id": prompt_id, "text": row["text"]},
        )
