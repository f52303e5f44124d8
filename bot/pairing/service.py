"""The pairing feature: its parts by name, the jobs they run, and the `Feature` protocol.

* `schedule`    the guild's round schedule (admins);
* `membership`  opting in and out, pauses, avoid lists, a member's own status;
* `times`       a member's own timezone and weekly availability;
* `meetings`    the intro's proposed times: picks, confirmation, reminders;
* `history`     a member's past groups and "Meet again" choices;
* `rounds`      the pool (asked of Discord), the plan, one round per slot with its messages;
* `messages`    the round's messages through the outbox, and what their outcomes record;
* `midround`    check-ins, and a member leaving during a round;
* `overview`    stats and the `/about` line;
* `talks`       "Talk 1:1 about this": a daily post's talk list, paired as a round of its own.

Callers use the parts by name (`services.pairing.membership.join(...)`); this class builds them,
registers their jobs and implements what every feature implements (`status`, `reschedule`,
`member_left`).

Jobs (all persisted in the scheduler):
* `pairing.round:<guild>`  the guild's next slot; recurring.
* `pairing.checkin:<round>` halfway to the next round: enqueue the check-ins.
* `pairing.talk:<post>`    `talk_hours` after a daily post: pair its talk list.
"""

from __future__ import annotations

from bot.breaks import BreakCalendar, NoBreaks
from bot.clock import Clock
from bot.db import Database
from bot.features import FeatureStatus
from bot.guilds import GuildService
from bot.outbox import Outbox
from bot.privacy.rules import TableRule, TableRules
from bot.scheduler import Scheduler

from .common import CHECKIN_JOB, ROUND_JOB
from .history import PairingHistory
from .meetings import Meetings
from .member_times import MemberTimesStore
from .membership import Membership
from .messages import RoundMessages
from .midround import MidRound
from .models import StarterSource, TopicSource, no_topics
from .overview import FEATURE_NAME, PairingOverview
from .rounds import Rounds
from .schedule import RoundSchedule
from .talks import TALK_JOB, Talks


class PairingService:
    """The pairing feature (implements `Feature` and `MemberDeparture`)."""

    name = FEATURE_NAME
    privacy_rules: TableRules = {
        "pairing_members": TableRule("pairing sign-up"),
        "pairing_blocks": TableRule(
            "members you asked not to be paired with", keep=("blocked_user_id",)
        ),
        "pairing_assignments": TableRule("pairing rounds you were in", anonymise=("user_id",)),
        "pairing_undelivered": TableRule("pairing messages that could not reach you"),
        "pairing_member_times": TableRule("your pairing timezone and availability"),
        "pairing_slot_picks": TableRule("meeting times you picked"),
        # Another member's "Meet again" for you stays theirs and unseen: nobody learns of a
        # one-sided choice.
        "pairing_meet_again": TableRule(
            "partners you chose to meet again", keep=("partner_user_id",)
        ),
    }

    def __init__(
        self,
        db: Database,
        scheduler: Scheduler,
        clock: Clock,
        guilds: GuildService,
        outbox: Outbox,
        *,
        starters: StarterSource,
        topics: TopicSource = no_topics,
        breaks: BreakCalendar | None = None,
    ) -> None:
        breaks = breaks or NoBreaks()
        self.times = MemberTimesStore(db, clock, guilds)
        self.messages = RoundMessages(db, clock, outbox, self.times)
        self.meetings = Meetings(db, clock, outbox, self.messages)
        self.history = PairingHistory(db, clock)
        self.schedule = RoundSchedule(db, scheduler, clock, guilds)
        self.membership = Membership(db, scheduler, clock, self.schedule, guilds)
        self.rounds = Rounds(
            db,
            scheduler,
            clock,
            self.schedule,
            self.messages,
            guilds,
            self.times,
            topics=topics,
            starters=starters,
            breaks=breaks,
        )
        self.midround = MidRound(db, clock, self.messages, breaks)
        self.talks = Talks(db, scheduler, clock, self.schedule, self.rounds, self.messages)
        self.overview = PairingOverview(db, scheduler, self.schedule, self.membership)
        scheduler.register(ROUND_JOB, self.rounds.round_job)
        scheduler.register(CHECKIN_JOB, self.midround.checkin_job)
        scheduler.register(TALK_JOB, self.talks.talk_job)

    async def status(self, guild_id: int, user_id: int | None) -> FeatureStatus:
        """The feature's line in `/about` and `/admin show`."""
        return await self.overview.status(guild_id, user_id)

    async def reschedule(self, guild_id: int) -> None:
        """Recompute the next round (after a timezone change, say)."""
        await self.schedule.reschedule(guild_id)

    async def member_left(self, guild_id: int, user_id: int) -> None:
        """A member left the guild: out of the pool, and their partner is looked after."""
        await self.midround.member_left(guild_id, user_id)
