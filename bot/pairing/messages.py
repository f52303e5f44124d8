"""A round's messages, through the outbox: what each says, when it is enqueued, and what its
outcome records.

* `pairing.intro:<round>:<member>`        a member's intro DM, enqueued with the round itself;
* `pairing.announcement:<round>`          the round's post in the pairing channel (counts only);
* `pairing.checkin:<round>:<member>`      halfway through, with the answer buttons;
* `pairing.notice:<round>:<member>:<change>:<departed>:<group>`  a partner left / a new partner;
* `pairing.thread:<group>`                the group's private thread, when an intro DM is refused.

Every member-facing row is wanted only while its member is still in the round (a member who
left the guild is not written to). A refused intro DM moves the group to a private thread in the
pairing channel; what reaches nobody (DMs closed and no thread possible, a final refusal) is
recorded in `pairing_undelivered` for `/admin pairing stats`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.db import Database, Transaction
from bot.outbox import Failed, KindHooks, OnRefused, Outbox, OutboxRow, Refused, Sent
from bot.timeutil import from_db, to_db

from .availability import overlap_minutes
from .meeting_times import propose_slots
from .member_times import MemberTimes, MemberTimesStore
from .models import Announcement, CheckIn, Intro, Notice, ProposedTimes

log = logging.getLogger(__name__)

INTRO_KIND = "pairing.intro"
ANNOUNCEMENT_KIND = "pairing.announcement"
CHECKIN_KIND = "pairing.checkin"
NOTICE_KIND = "pairing.notice"
THREAD_KIND = "pairing.thread"
#: A message of a week-long round that could not go out in three days is given up.
MEMBER_MESSAGE_LIFETIME = timedelta(days=3)


def intro_key(round_id: int, user_id: int) -> str:
    """The outbox dedupe key of a member's intro in a round (one per member and round)."""
    return f"{INTRO_KIND}:{round_id}:{user_id}"


def thread_key(group_id: int) -> str:
    """The outbox dedupe key of a group's private fallback thread (one per group)."""
    return f"{THREAD_KIND}:{group_id}"


class RoundMessages:
    """Enqueues a round's messages and follows their outcomes."""

    def __init__(self, db: Database, clock: Clock, outbox: Outbox, times: MemberTimesStore) -> None:
        self._db = db
        self._clock = clock
        self._outbox = outbox
        self._times = times
        outbox.register(INTRO_KIND, self._member_hooks(on_refused=self._intro_refused))
        outbox.register(CHECKIN_KIND, self._member_hooks(on_refused=self._undelivered))
        outbox.register(NOTICE_KIND, self._member_hooks(on_refused=self._undelivered))
        outbox.register(
            THREAD_KIND,
            KindHooks(
                on_sent=self._thread_opened,
                on_failed=self._thread_failed,
                expires_after=MEMBER_MESSAGE_LIFETIME,
            ),
        )
        outbox.register(ANNOUNCEMENT_KIND, KindHooks(expires_after=timedelta(days=1)))

    def _member_hooks(self, *, on_refused: OnRefused) -> KindHooks:
        return KindHooks(
            still_wanted=self._member_still_in_round,
            on_failed=self._undelivered,
            on_refused=on_refused,
            expires_after=MEMBER_MESSAGE_LIFETIME,
        )

    def wake(self) -> None:
        """Send what was just enqueued (after the transaction commits)."""
        self._outbox.wake()

    # -- enqueueing, in the caller's transaction ---------------------------------------------

    async def enqueue_round(
        self,
        tx: Transaction,
        round_id: int,
        guild_id: int,
        channel_id: int | None,
        starter: str,
        announcement: Announcement,
        *,
        talk: bool = False,
    ) -> None:
        """Every member's intro (the round's groups are stored), and the announcement."""
        rows = await tx.fetchall(
            "SELECT a.user_id, a.group_id, a.outcome, g.shared_topics, g.proposed_slots "
            "FROM pairing_assignments a LEFT JOIN pairing_groups g ON g.group_id = a.group_id "
            "WHERE a.round_id = ? ORDER BY a.user_id",
            (round_id,),
        )
        groups: dict[int, list[int]] = {}
        stored: dict[int, str | None] = {}
        for row in rows:
            if row["group_id"] is not None:
                groups.setdefault(row["group_id"], []).append(row["user_id"])
                stored[row["group_id"]] = row["proposed_slots"]
        times = await self._times.for_members(guild_id, [r["user_id"] for r in rows])
        now = self._clock.now()
        proposals = {
            g: _proposed(g, stored[g], tuple(members), times, now) for g, members in groups.items()
        }
        for row in rows:
            user_id = row["user_id"]
            group = groups.get(row["group_id"], [])
            intro = Intro(
                round_id=round_id,
                guild_id=guild_id,
                user_ids=(user_id,),
                partner_ids=tuple(m for m in group if m != user_id),
                outcome=row["outcome"],
                shared_topics=tuple(_topics(row["shared_topics"])),
                starter=starter,
                talk=talk,
                times=proposals.get(row["group_id"]),
            )
            await self._outbox.enqueue(
                tx,
                key=intro_key(round_id, user_id),
                kind=INTRO_KIND,
                guild_id=guild_id,
                user_id=user_id,
                payload=intro.payload(),
            )
        if channel_id is not None:
            await self._outbox.enqueue(
                tx,
                key=f"{ANNOUNCEMENT_KIND}:{round_id}",
                kind=ANNOUNCEMENT_KIND,
                guild_id=guild_id,
                channel_id=channel_id,
                payload=announcement.payload(),
            )

    async def refresh_intro(self, tx: Transaction, round_id: int, user_id: int) -> None:
        """A member's group changed before their intro went out: name the partners as they are
        now, if the intro is still only in the outbox (the change's notice follows anyway)."""
        row = await tx.fetchone(
            "SELECT a.guild_id, a.group_id, a.outcome, g.shared_topics, r.starter, r.talk_post_id "
            "FROM pairing_assignments a JOIN pairing_rounds r ON r.round_id = a.round_id "
            "JOIN pairing_groups g ON g.group_id = a.group_id "
            "WHERE a.round_id = ? AND a.user_id = ?",
            (round_id, user_id),
        )
        if row is None:
            return  # no group any more: the notice says so
        intro = Intro(
            round_id=round_id,
            guild_id=row["guild_id"],
            user_ids=(user_id,),
            partner_ids=await self.partners(tx, row["group_id"], user_id),
            outcome=row["outcome"],
            shared_topics=tuple(_topics(row["shared_topics"])),
            starter=row["starter"],
            talk=row["talk_post_id"] is not None,
            times=await self.proposed_times(tx, row["guild_id"], row["group_id"]),
        )
        await self._outbox.amend(tx, intro_key(round_id, user_id), intro.payload())

    async def enqueue_checkins(self, tx: Transaction, round_id: int) -> None:
        """One check-in per member still in a group, marked as asked (for the stats)."""
        rows = await tx.fetchall(
            "SELECT guild_id, user_id, group_id FROM pairing_assignments "
            "WHERE round_id = ? AND group_id IS NOT NULL AND left_guild = 0 ORDER BY user_id",
            (round_id,),
        )
        for row in rows:
            checkin = CheckIn(
                round_id=round_id,
                guild_id=row["guild_id"],
                user_id=row["user_id"],
                partner_ids=await self.partners(tx, row["group_id"], row["user_id"]),
            )
            await self._outbox.enqueue(
                tx,
                key=f"{CHECKIN_KIND}:{round_id}:{row['user_id']}",
                kind=CHECKIN_KIND,
                guild_id=row["guild_id"],
                user_id=row["user_id"],
                payload=checkin.payload(),
            )
        await tx.execute(
            "UPDATE pairing_assignments SET checkin_asked = 1 "
            "WHERE round_id = ? AND group_id IS NOT NULL AND left_guild = 0",
            (round_id,),
        )

    async def enqueue_notice(self, tx: Transaction, notice: Notice, group_id: int | None) -> None:
        """A change during the round (once per member, change, departed member and group)."""
        await self._outbox.enqueue(
            tx,
            key=(
                f"{NOTICE_KIND}:{notice.round_id}:{notice.user_id}:{notice.kind}:"
                f"{notice.departed_user_id}:{group_id or 0}"
            ),
            kind=NOTICE_KIND,
            guild_id=notice.guild_id,
            user_id=notice.user_id,
            payload=notice.payload(),
        )

    async def propose_times(self, tx: Transaction, guild_id: int, group_id: int) -> None:
        """Store meeting times (and the weekly overlap) for a group formed during a round."""
        members = await self.partners(tx, group_id, 0)
        times = await self._times.for_members(guild_id, members)
        schedules = [times[m].schedule for m in members]
        now = self._clock.now()
        slots = propose_slots(schedules, now)
        await tx.execute(
            "UPDATE pairing_groups SET proposed_slots = ?, overlap_minutes = ? WHERE group_id = ?",
            (json.dumps([to_db(s) for s in slots]), overlap_minutes(schedules, now), group_id),
        )

    async def proposed_times(
        self, tx: Transaction, guild_id: int, group_id: int
    ) -> ProposedTimes | None:
        """The group's proposed times for a message to it (None: the group has none)."""
        stored = await tx.fetchval(
            "SELECT proposed_slots FROM pairing_groups WHERE group_id = ?", (group_id,)
        )
        members = await self.partners(tx, group_id, 0)
        times = await self._times.for_members(guild_id, members)
        return _proposed(group_id, stored, members, times, self._clock.now())

    @staticmethod
    async def partners(tx: Transaction, group_id: int | None, user_id: int) -> tuple[int, ...]:
        """The group's members still in the guild, except `user_id`."""
        if group_id is None:
            return ()
        rows = await tx.fetchall(
            "SELECT user_id FROM pairing_assignments "
            "WHERE group_id = ? AND left_guild = 0 AND user_id != ? ORDER BY user_id",
            (group_id, user_id),
        )
        return tuple(r["user_id"] for r in rows)

    # -- outcomes ----------------------------------------------------------------------------

    async def _member_still_in_round(self, row: OutboxRow) -> bool:
        left = await self._db.fetchval(
            "SELECT left_guild FROM pairing_assignments WHERE round_id = ? AND user_id = ?",
            (row.payload["round_id"], row.recipient_user_id),
        )
        return left == 0

    async def _intro_refused(self, tx: Transaction, row: OutboxRow, refused: Refused) -> None:
        """DMs closed: a member of a group is introduced in the group's private thread."""
        round_id = row.payload["round_id"]
        placed = await tx.fetchone(
            # A talk pairing without a pairing channel opens its thread under the post's.
            "SELECT a.group_id, COALESCE(s.channel_id, r.thread_channel_id) AS channel_id, "
            "r.starter, r.talk_post_id FROM pairing_assignments a "
            "JOIN pairing_rounds r ON r.round_id = a.round_id "
            "LEFT JOIN pairing_settings s ON s.guild_id = a.guild_id "
            "WHERE a.round_id = ? AND a.user_id = ?",
            (round_id, row.recipient_user_id),
        )
        if placed is None or placed["group_id"] is None or placed["channel_id"] is None:
            await self._undelivered(tx, row, refused)
            return
        group_id = placed["group_id"]
        members = await self.partners(tx, group_id, 0)
        topics = await tx.fetchval(
            "SELECT shared_topics FROM pairing_groups WHERE group_id = ?", (group_id,)
        )
        intro = Intro(
            round_id=round_id,
            guild_id=row.guild_id,
            user_ids=members,
            partner_ids=members,
            outcome="paired",
            shared_topics=tuple(_topics(topics)),
            starter=placed["starter"],
            talk=placed["talk_post_id"] is not None,
            times=await self.proposed_times(tx, row.guild_id, group_id),
        )
        queued = await self._outbox.enqueue(
            tx,
            key=thread_key(group_id),
            kind=THREAD_KIND,
            guild_id=row.guild_id,
            channel_id=placed["channel_id"],
            payload={**intro.payload(), "group_id": group_id},
        )
        if queued is None:  # another member's refusal queued it already
            states = await self._outbox.states(tx, [thread_key(group_id)])
            if states.get(thread_key(group_id)) == "failed":
                await self._undelivered(tx, row, refused)

    async def _thread_opened(self, tx: Transaction, row: OutboxRow, sent: Sent) -> None:
        await tx.execute(
            "UPDATE pairing_groups SET thread_id = ? WHERE group_id = ?",
            (sent.thread_id, row.payload["group_id"]),
        )

    async def _thread_failed(self, tx: Transaction, row: OutboxRow, failed: Failed) -> None:
        """No thread either: the members whose DM was refused got no intro at all."""
        round_id = row.payload["round_id"]
        keys = {intro_key(round_id, m): m for m in row.payload["user_ids"]}
        states = await self._outbox.states(tx, list(keys))
        for key, user_id in keys.items():
            if states.get(key) == "refused":
                await self.record(tx, round_id, row.guild_id, user_id, "intro", failed.reason)

    async def _undelivered(
        self, tx: Transaction, row: OutboxRow, problem: Failed | Refused
    ) -> None:
        assert row.recipient_user_id is not None
        kind = row.payload.get("kind", "intro") if row.kind == NOTICE_KIND else row.kind
        await self.record(
            tx,
            row.payload["round_id"],
            row.guild_id,
            row.recipient_user_id,
            kind.removeprefix("pairing."),
            problem.reason,
        )

    async def record(
        self, tx: Transaction, round_id: int, guild_id: int, user_id: int, kind: str, reason: str
    ) -> None:
        """Note a message that reached nobody, for `/admin pairing stats` (once per kind)."""
        log.warning("Pairing round %s: %s to %s undelivered: %s", round_id, kind, user_id, reason)
        await tx.execute(
            "INSERT INTO pairing_undelivered (round_id, guild_id, user_id, kind, reason, "
            "recorded_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (round_id, user_id, kind) "
            "DO NOTHING",
            (round_id, guild_id, user_id, kind, reason, to_db(self._clock.now())),
        )


def _proposed(
    group_id: int,
    stored: str | None,
    members: tuple[int, ...],
    times: Mapping[int, MemberTimes],
    now: datetime,
) -> ProposedTimes | None:
    """A group's stored slots as its intro shows them (None: the group has no proposals);
    without a common time, each member's local time now, so they can arrange one."""
    if stored is None:
        return None
    slots = tuple(from_db(s) for s in json.loads(stored))
    if slots:
        return ProposedTimes(group_id, slots)
    local = tuple(
        (m, now.astimezone(times[m].zone).strftime("%a %H:%M"), times[m].zone.key) for m in members
    )
    return ProposedTimes(group_id, (), local)


def _topics(text: str | None) -> list[str]:
    return list(json.loads(text or "[]"))
