"""The pairing feature's one object for the cogs: a thin facade over its parts.

* `schedule.py`    the guild's round schedule (admins);
* `membership.py`  opting in and out, pauses, avoid lists, a member's own status;
* `rounds.py`      the pool (asked of Discord), the plan, one round per slot, queueing delivery;
* `delivery.py`    sending a round's messages exactly once;
* `midround.py`    check-ins, and a member leaving during a round;
* `overview.py`    stats and the `/about` line.

Jobs (all persisted in the scheduler):
* `pairing.round:<guild>`  the guild's next slot; recurring.
* `pairing.deliver:<round>` send whatever of that round is not sent yet; re-scheduled on startup.
* `pairing.checkin:<round>` halfway to the next round: create and send the check-ins.
"""

from __future__ import annotations

from typing import Protocol

from bot.clock import Clock
from bot.db import Database
from bot.guilds import GuildService
from bot.scheduler import Scheduler

from .common import CHECKIN_JOB, DELIVER_JOB, ROUND_JOB, round_job_key
from .delivery import DeliveryRunner
from .membership import Membership
from .midround import MidRound
from .models import StarterSource, TopicSource, no_topics
from .overview import FEATURE_NAME, PairingOverview
from .rounds import Rounds
from .schedule import RoundSchedule

__all__ = ["PairingService", "round_job_key", "todays_prompt"]


class _PostedToday(Protocol):
    text: str | None


class _TodayLike(Protocol):
    post: _PostedToday | None


class _HasToday(Protocol):
    async def today(self, guild_id: int) -> _TodayLike: ...


def todays_prompt(prompts: _HasToday) -> StarterSource:
    """A `StarterSource` reading the guild's posted prompt of today from the prompt service."""

    async def starter(guild_id: int) -> str | None:
        today = await prompts.today(guild_id)
        return today.post.text if today.post is not None else None

    return starter


class PairingService:
    """The pairing feature's rules and storage; implements the `Feature` protocol."""

    name = FEATURE_NAME

    def __init__(
        self,
        db: Database,
        scheduler: Scheduler,
        clock: Clock,
        guilds: GuildService,
        *,
        topics: TopicSource = no_topics,
        starters: StarterSource | None = None,
    ) -> None:
        self.delivery = DeliveryRunner(db, clock)
        self.schedule = RoundSchedule(db, scheduler, clock, guilds)
        self.membership = Membership(db, scheduler, clock, self.schedule)
        self.rounds = Rounds(
            db,
            scheduler,
            clock,
            self.schedule,
            self.delivery,
            topics=topics,
            starters=starters,
        )
        self.midround = MidRound(db, clock, self.delivery, self.rounds)
        self.overview = PairingOverview(db, scheduler, self.schedule, self.membership)
        scheduler.register(ROUND_JOB, self.rounds.round_job)
        scheduler.register(DELIVER_JOB, self.rounds.deliver_job)
        scheduler.register(CHECKIN_JOB, self.midround.checkin_job)
        # The API the cogs (and `Feature`, `MemberDeparture`) use, served by the parts.
        self.attach = self.rounds.attach
        self.detach = self.rounds.detach
        self.settings = self.schedule.settings
        self.configure = self.schedule.configure
        self.set_paused = self.schedule.set_paused
        self.reschedule = self.schedule.reschedule
        self.join = self.membership.join
        self.leave = self.membership.leave
        self.pause_member = self.membership.pause_member
        self.resume_member = self.membership.resume_member
        self.avoid = self.membership.avoid
        self.unavoid = self.membership.unavoid
        self.member_status = self.membership.member_status
        self.pool = self.rounds.pool
        self.plan = self.rounds.plan
        self.preview = self.rounds.preview
        self.run_now = self.rounds.run_now
        self.member_left = self.midround.member_left
        self.answer_checkin = self.midround.answer_checkin
        self.stats = self.overview.stats
        self.status = self.overview.status
