""" "Talk 1:1 about this": a daily post's talk list, paired `talk_hours` after the post.

Pressing the button toggles the member on the post's list (`talk_signups`); the first sign-up
also creates the persisted job `pairing.talk:<post id>` in the same transaction, due
`talk_hours` after the post was sent. The job pairs whoever is on the list then (still in the
guild, with the pairing role if one is set) with the pairing engine, as a pairing round of its
own (slot key `talk:<post id>`): blocks and the history are honoured, an odd list makes a trio,
and the talk counts as a meeting in the history, so a later round prefers new people. The
round, its groups and every member's intro (`pairing.intro:<round>:<member>`, quoting the
prompt) are written in one transaction and sent by the outbox: exactly once across restarts,
and a refused DM falls back to the group's private thread as in a round. A talk has no
check-in and no announcement; the talk job of a post made just before a school break still runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.db import Database
from bot.errors import UserError
from bot.scheduler import Job, Scheduler
from bot.timeutil import from_db, to_db

from .common import round_seed
from .messages import RoundMessages
from .models import Announcement
from .rounds import Rounds
from .schedule import RoundSchedule

log = logging.getLogger(__name__)

TALK_JOB = "pairing.talk"
CLOSED = "Talk 1:1 is not open on that post."


def talk_job_key(post_id: int) -> str:
    """The job that pairs a post's talk list."""
    return f"{TALK_JOB}:{post_id}"


def talk_slot_key(post_id: int) -> str:
    """The talk's pairing round key: one round per post, whoever tries."""
    return f"talk:{post_id}"


@dataclass(frozen=True, slots=True)
class TalkToggle:
    """What a press did: on the list now or not, and when the list is paired."""

    joined: bool
    pair_at: datetime


class Talks:
    """The talk lists of daily posts and their pairing."""

    def __init__(
        self,
        db: Database,
        scheduler: Scheduler,
        clock: Clock,
        schedule: RoundSchedule,
        rounds: Rounds,
        messages: RoundMessages,
    ) -> None:
        self._db = db
        self._scheduler = scheduler
        self._clock = clock
        self._schedule = schedule
        self._rounds = rounds
        self._messages = messages

    async def toggle(
        self, guild_id: int, post_id: int, user_id: int, role_ids: frozenset[int]
    ) -> TalkToggle:
        """Put the member on the post's talk list, or take them off it if they were on it."""
        # A press can beat the outbox's 'sent' mark (the post is visible while its thread is
        # being opened): until then the post counts from its claim.
        post = await self._db.fetchone(
            "SELECT COALESCE(sent_at, claimed_at) AS posted_at, talk_hours FROM prompt_posts "
            "WHERE guild_id = ? AND id = ? AND status IN ('claimed', 'sent')",
            (guild_id, post_id),
        )
        if post is None or not post["talk_hours"]:
            raise UserError(CLOSED)
        pair_at = from_db(post["posted_at"]) + timedelta(hours=post["talk_hours"])
        pair_at = await self._scheduler.due_at(talk_job_key(post_id)) or pair_at
        if self._clock.now() >= pair_at:
            raise UserError(
                "This prompt's talk list has been paired already. Try tomorrow's prompt!"
            )
        settings = await self._schedule.settings(guild_id)
        if settings and settings.role_id and settings.role_id not in role_ids:
            raise UserError(
                f"Talk 1:1 here is for members with the <@&{settings.role_id}> role "
                "(the pairing role). Ask an admin if you think you should have it."
            )
        async with self._db.transaction() as tx:
            left = await tx.execute(
                "DELETE FROM talk_signups WHERE post_id = ? AND user_id = ?", (post_id, user_id)
            )
            if left:
                return TalkToggle(False, pair_at)
            await tx.execute(
                "INSERT INTO talk_signups (guild_id, post_id, user_id, signed_up_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (guild_id, post_id, user_id, to_db(self._clock.now())),
            )
            await self._scheduler.schedule_in(
                tx,
                talk_job_key(post_id),
                TALK_JOB,
                pair_at,
                guild_id=guild_id,
                payload={"post_id": post_id},
            )
        self._scheduler.wake()
        return TalkToggle(True, pair_at)

    async def talk_job(self, job: Job) -> datetime | None:
        """`talk_hours` after the post: pair its list (Discord unavailable: retried later)."""
        assert job.guild_id is not None
        await self.pair(job.guild_id, int(job.payload["post_id"]))
        return None

    async def pair(self, guild_id: int, post_id: int) -> int | None:
        """Create the post's talk round once, with its intros; its id (None: nobody signed up,
        or it exists already)."""
        key = talk_slot_key(post_id)
        exists = await self._db.fetchval(
            "SELECT round_id FROM pairing_rounds WHERE guild_id = ? AND slot_key = ?",
            (guild_id, key),
        )
        post = await self._db.fetchone(
            "SELECT prompt_text, channel_id FROM prompt_posts WHERE guild_id = ? AND id = ?",
            (guild_id, post_id),
        )
        if exists is not None or post is None:
            return None
        rows = await self._db.fetchall(
            "SELECT user_id FROM talk_signups WHERE post_id = ?", (post_id,)
        )
        members = await self._rounds.present_of(guild_id, {r["user_id"] for r in rows})
        if not members:
            return None
        seed = round_seed(guild_id, key)
        plan = await self._rounds.plan_for(guild_id, members, seed)
        now = self._clock.now()
        async with self._db.transaction() as tx:
            round_id = await tx.fetchval(
                "INSERT INTO pairing_rounds (guild_id, slot_key, started_at, checkin_at, seed, "
                "starter, talk_post_id, thread_channel_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (guild_id, slot_key) DO NOTHING RETURNING round_id",
                (
                    guild_id,
                    key,
                    to_db(now),
                    to_db(now),  # a talk has no check-in
                    seed,
                    post["prompt_text"] or "",
                    post_id,
                    post["channel_id"],
                ),
            )
            if round_id is None:
                return None  # paired concurrently; that run sends the intros
            await self._rounds.store_plan(tx, guild_id, round_id, plan)
            sizes = [len(g) for g in plan.groups]
            unannounced = Announcement(
                round_id, guild_id, sizes.count(2), sizes.count(3), plan.pool_size, now
            )
            await self._messages.enqueue_round(
                tx, round_id, guild_id, None, post["prompt_text"] or "", unannounced, talk=True
            )
        self._messages.wake()
        log.info(
            "Talk list of post %s (guild %s): %d groups from %d members",
            post_id,
            guild_id,
            len(plan.groups),
            len(members),
        )
        return round_id
