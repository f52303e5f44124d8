"""Meeting times after the intro: members pick a proposed time; when all pick the same one it is
confirmed to each, with a reminder 30 minutes before.

Why a module: an intro is worth the conversation that follows it, and a time everyone agreed
on is the step between them. Each member's current pick is a row (`pairing_slot_picks`),
changeable until the group's time is confirmed; the press that completes agreement sets
`pairing_groups.confirmed_at` once (a conditional UPDATE under the guild's lock, so two
presses at once or a duplicate delivery of one press confirm once), and in the same
transaction enqueues through the outbox:

* `pairing.time_confirmed:<group>:<member>`    a DM to each member, now;
* `pairing.time_reminder:<group>:<slot>:<member>`  a DM to each, `not_before` 30 minutes
  before the time (a persisted outbox row: it survives restarts and is sent once; it expires
  at the meeting's start, so a bot down until after the meeting sends no stale reminder).

A member whose DMs are closed (the outbox reports a refusal) is told in the group's private
thread instead, once per group and kind (`...:<group>:thread`), when the group has one.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.db import Database, Transaction
from bot.errors import UserError
from bot.outbox import Failed, KindHooks, Outbox, OutboxRow, Refused
from bot.timeutil import from_db, maybe_from_db, to_db

from .messages import MEMBER_MESSAGE_LIFETIME, RoundMessages
from .models import MeetingNote, PickAck

CONFIRMED_KIND = "pairing.time_confirmed"
REMINDER_KIND = "pairing.time_reminder"
REMINDER_BEFORE = timedelta(minutes=30)
#: "None of these": stored as this slot index.
NONE_OF_THESE = -1


class Meetings:
    """Slot picks, confirmation, and the confirmation and reminder messages."""

    def __init__(self, db: Database, clock: Clock, outbox: Outbox, messages: RoundMessages) -> None:
        self._db = db
        self._clock = clock
        self._outbox = outbox
        self._messages = messages
        for kind in (CONFIRMED_KIND, REMINDER_KIND):
            outbox.register(
                kind,
                KindHooks(
                    still_wanted=self._still_wanted,
                    on_refused=self._to_thread_instead,
                    on_failed=self._undelivered,
                    expires_after=MEMBER_MESSAGE_LIFETIME,
                ),
            )

    async def pick(self, group_id: int, user_id: int, slot: int) -> PickAck:
        """Record `user_id`'s pick (a slot index, or NONE_OF_THESE) for their group; confirm the
        time when every member of the group has picked it. Someone outside the group records
        nothing (UserError)."""
        group = await self._db.fetchone(
            "SELECT guild_id FROM pairing_groups WHERE group_id = ?", (group_id,)
        )
        if group is None:
            raise UserError("These meeting times belong to a pairing that no longer exists.")
        async with self._db.guild_lock(group["guild_id"]):
            async with self._db.transaction() as tx:
                ack = await self._pick(tx, group_id, user_id, slot)
        self._outbox.wake()
        return ack

    async def _pick(self, tx: Transaction, group_id: int, user_id: int, slot: int) -> PickAck:
        group = await tx.fetchone(
            "SELECT g.guild_id, g.round_id, g.proposed_slots, g.confirmed_at FROM pairing_groups g "
            "JOIN pairing_assignments a ON a.group_id = g.group_id "
            "WHERE g.group_id = ? AND a.user_id = ? AND a.left_guild = 0",
            (group_id, user_id),
        )
        if group is None:
            raise UserError(
                "These meeting times belong to someone else's pairing, so nothing was recorded."
            )
        slots = [from_db(s) for s in json.loads(group["proposed_slots"] or "[]")]
        confirmed = maybe_from_db(group["confirmed_at"])
        if confirmed is not None:
            return PickAck(confirmed, confirmed, already_confirmed=True, waiting_for=0)
        if slot != NONE_OF_THESE and not 0 <= slot < len(slots):
            raise UserError("That meeting time is not one of this pairing's proposals.")
        now = self._clock.now()
        if slot != NONE_OF_THESE and slots[slot] <= now:
            raise UserError(
                "That time has passed. Pick a later one, or arrange a time with your partner."
            )
        await tx.execute(
            "INSERT INTO pairing_slot_picks (group_id, guild_id, user_id, slot, picked_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (group_id, user_id) "
            "DO UPDATE SET slot = excluded.slot, picked_at = excluded.picked_at",
            (group_id, group["guild_id"], user_id, slot, to_db(now)),
        )
        if slot == NONE_OF_THESE:
            return PickAck(None, None, already_confirmed=False, waiting_for=0)
        members = await self._messages.partners(tx, group_id, 0)
        rows = await tx.fetchall(
            "SELECT p.user_id FROM pairing_slot_picks p JOIN pairing_assignments a "
            "ON a.group_id = p.group_id AND a.user_id = p.user_id AND a.left_guild = 0 "
            "WHERE p.group_id = ? AND p.slot = ?",
            (group_id, slot),
        )
        waiting = len(members) - len(rows)
        at = slots[slot]
        if waiting > 0 or len(members) < 2:
            return PickAck(at, None, already_confirmed=False, waiting_for=max(waiting, 0))
        changed = await tx.execute(
            "UPDATE pairing_groups SET confirmed_at = ? "
            "WHERE group_id = ? AND confirmed_at IS NULL",
            (to_db(at), group_id),
        )
        if changed:
            await self._enqueue_notes(tx, group["guild_id"], group["round_id"], group_id, slot, at)
        return PickAck(at, at, already_confirmed=False, waiting_for=0)

    async def _enqueue_notes(
        self, tx: Transaction, guild_id: int, round_id: int, group_id: int, slot: int, at: datetime
    ) -> None:
        """The confirmation to each member now, and the reminder 30 minutes before."""
        members = await self._messages.partners(tx, group_id, 0)
        remind_at = at - REMINDER_BEFORE
        for user_id in members:
            partners = tuple(m for m in members if m != user_id)
            for kind, key, reminder in (
                (CONFIRMED_KIND, f"{CONFIRMED_KIND}:{group_id}:{user_id}", False),
                (REMINDER_KIND, f"{REMINDER_KIND}:{group_id}:{slot}:{user_id}", True),
            ):
                if reminder and remind_at <= self._clock.now():
                    continue  # confirmed within the half hour: the confirmation is the reminder
                note = MeetingNote(round_id, guild_id, group_id, at, (user_id,), partners, reminder)
                await self._outbox.enqueue(
                    tx,
                    key=key,
                    kind=kind,
                    guild_id=guild_id,
                    user_id=user_id,
                    payload=note.payload(),
                    not_before=remind_at if reminder else None,
                    expires_in=REMINDER_BEFORE if reminder else None,
                )

    # -- outcomes ----------------------------------------------------------------------------

    async def _still_wanted(self, row: OutboxRow) -> bool:
        """A DM only while its member is still in the group (a thread message always)."""
        if row.recipient_user_id is None:
            return True
        left = await self._db.fetchval(
            "SELECT left_guild FROM pairing_assignments WHERE group_id = ? AND user_id = ?",
            (row.payload["group_id"], row.recipient_user_id),
        )
        return left == 0

    async def _to_thread_instead(self, tx: Transaction, row: OutboxRow, refused: Refused) -> None:
        """DMs closed: the group's private thread (if it has one) is told, once per kind."""
        note = MeetingNote.from_payload(row.payload)
        thread_id = await tx.fetchval(
            "SELECT thread_id FROM pairing_groups WHERE group_id = ?", (note.group_id,)
        )
        if thread_id is None:
            await self._undelivered(tx, row, refused)
            return
        members = await self._messages.partners(tx, note.group_id, 0)
        in_thread = MeetingNote(
            note.round_id, note.guild_id, note.group_id, note.at, members, members, note.reminder
        )
        await self._outbox.enqueue(
            tx,
            key=f"{row.kind}:{note.group_id}:thread",
            kind=row.kind,
            guild_id=row.guild_id,
            channel_id=thread_id,
            payload=in_thread.payload(),
            expires_in=REMINDER_BEFORE if note.reminder else None,
        )

    async def _undelivered(
        self, tx: Transaction, row: OutboxRow, problem: Failed | Refused
    ) -> None:
        """Recorded for `/admin pairing stats`, like an intro that reached nobody."""
        if row.recipient_user_id is None:
            return
        await self._messages.record(
            tx,
            row.payload["round_id"],
            row.guild_id,
            row.recipient_user_id,
            row.kind.removeprefix("pairing."),
            problem.reason,
        )
