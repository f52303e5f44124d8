"""The pairing service: pool rules, avoid lists, rounds once per slot, delivery, check-ins, stats.

Discord is replaced by `FakePort` (the service's `Presence`, and the outbox's transport for the
round's messages), so these run on a FakeClock and a temporary database without a fake server;
the e2e tests cover the real wire.
"""

import asyncio
from datetime import datetime, timedelta

import pytest

from bot.errors import UserError
from bot.outbox import Failed, OutboxRow, Outcome, Refused, Sent, Transient
from bot.pairing.common import round_job_key
from bot.pairing.models import (
    Announcement,
    CheckIn,
    DiscordUnavailable,
    Intro,
    Notice,
)
from bot.timeutil import to_db
from tests.support.clock import FakeClock
from tests.support.db import START, open_test_services

GUILD = 500
CHANNEL = 501
ROLE = 502


class FakePort:
    """Plays Discord: who is in the guild, and every message the outbox sends, recorded as it
    arrives (before any nonce dedupe, so a resend shows); members and DMs set by the test."""

    def __init__(self) -> None:
        self.members: set[int] = set()
        self.roles: dict[int, set[int]] = {}
        self.dms_closed: set[int] = set()
        self.threads_fail = False
        self.broken_for: set[int] = set()  # a passing outage for these recipients
        self.sent: list[tuple[str, int, str]] = []  # (kind, recipient, nonce), every send
        self.intros: list[Intro] = []
        self.notices: list[Notice] = []
        self.threads: list[tuple[int, Intro]] = []
        self.announcements: list[Announcement] = []

    async def present(self, guild_id: int, user_ids: set[int], role_id: int | None) -> set[int]:
        return {
            u
            for u in user_ids
            if u in self.members and (role_id is None or role_id in self.roles.get(u, set()))
        }

    # -- the outbox's transport ---------------------------------------------------------------

    async def deliver(self, row: OutboxRow) -> Outcome:
        p = row.payload
        match row.kind:
            case "pairing.intro":
                return await self.send_intro(Intro.from_payload(p), row.nonce)
            case "pairing.checkin":
                return self._dm("checkin", CheckIn.from_payload(p).user_id, row.nonce)
            case "pairing.notice":
                notice = Notice.from_payload(p)
                outcome = self._dm(notice.kind, notice.user_id, row.nonce)
                if isinstance(outcome, Sent):
                    self.notices.append(notice)
                return outcome
            case "pairing.thread":
                if self.threads_fail:
                    return Failed("no permission to create private threads")
                assert row.channel_id is not None
                self.threads.append((row.channel_id, Intro.from_payload(p)))
                return Sent(1, 7000 + p["group_id"], 7000 + p["group_id"])
            case "pairing.announcement":
                self.announcements.append(Announcement.from_payload(p))
                return Sent(1)
        raise AssertionError(row.kind)

    async def find_delivered(self, row: OutboxRow, since: datetime) -> Outcome | None:
        return None

    def _dm(self, kind: str, user_id: int, nonce: str) -> Outcome:
        if user_id in self.broken_for:
            return Transient("Discord is having a moment")
        if user_id in self.dms_closed:
            return Refused("DMs are closed")
        self.sent.append((kind, user_id, nonce))
        return Sent(len(self.sent))

    async def send_intro(self, intro: Intro, nonce: str) -> Outcome:
        (user_id,) = intro.user_ids
        outcome = self._dm("intro", user_id, nonce)
        if isinstance(outcome, Sent):
            self.intros.append(intro)
        return outcome

    def dms(self, kind: str) -> list[int]:
        return sorted(user for k, user, _ in self.sent if k == kind)


async def settle(services) -> None:
    """Let the scheduler run every job due now and the outbox send what is due."""
    quiet = 0
    for _ in range(400):
        await asyncio.sleep(0.005)
        await services.scheduler.idle()
        await services.outbox.idle()
        due = await services.db.fetchval(
            "SELECT COUNT(*) FROM jobs WHERE due_at <= ?", (to_db(services.clock.now()),)
        )
        jobs_waiting = due and services.scheduler._loop_task is not None
        quiet = 0 if jobs_waiting or services.outbox.busy else quiet + 1
        if quiet >= 3:
            return


def connect(services, port: FakePort) -> None:
    """The cog's part: Discord answers who is present and carries the messages."""
    services.pairing.rounds.attach(port)
    services.outbox.attach(port)


async def stop(services) -> None:
    await services.scheduler.stop()
    await services.outbox.stop()
    await services.db.close()


@pytest.fixture
async def env(fresh_database):
    database = await fresh_database()
    services = await open_test_services(database)
    port = FakePort()
    connect(services, port)
    services.scheduler.start()
    services.outbox.start()
    yield services, port
    await stop(services)


async def schedule(services, role_id=None):
    return await services.pairing.schedule.configure(
        GUILD,
        channel_id=CHANNEL,
        cadence="weekly",
        weekday=2,  # Wednesday; START is a Monday
        time_text="09:00",
        role_id=role_id,
    )


async def join(services, port, *user_ids, roles=frozenset()):
    for user_id in user_ids:
        port.members.add(user_id)
        await services.pairing.membership.join(GUILD, user_id, roles)


async def run_round(services, key: int = 1):
    started = await services.pairing.rounds.run_now(GUILD, key)
    await settle(services)
    return started


# -- pool ---------------------------------------------------------------------------------------


async def test_pool_is_opted_in_members_still_in_the_guild(env):
    services, port = env
    await join(services, port, 1, 2, 3)
    port.members.discard(2)  # left the guild (the bot's member cache no longer has them)
    port.members.add(4)  # in the guild but never opted in
    assert await services.pairing.rounds.pool(GUILD) == [1, 3]


async def test_pool_needs_the_role_when_one_is_set(env):
    services, port = env
    await schedule(services, role_id=ROLE)
    port.members.update({1, 2})
    port.roles = {1: {ROLE}, 2: {ROLE}}
    await services.pairing.membership.join(GUILD, 1, frozenset({ROLE}))
    await services.pairing.membership.join(GUILD, 2, frozenset({ROLE}))
    with pytest.raises(UserError, match="role"):
        await services.pairing.membership.join(GUILD, 3, frozenset())
    port.roles[2] = set()  # the role was taken away after joining
    assert await services.pairing.rounds.pool(GUILD) == [1]


async def test_a_pause_skips_rounds_and_ends_by_itself(env):
    services, port = env
    clock: FakeClock = services.clock
    await join(services, port, 1, 2, 3)
    until = await services.pairing.membership.pause_member(GUILD, 2, weeks=2)
    assert until == START + timedelta(weeks=2)
    assert await services.pairing.rounds.pool(GUILD) == [1, 3]
    assert (await services.pairing.membership.member_status(GUILD, 2)).paused_until == until
    clock.advance(timedelta(weeks=2))
    assert await services.pairing.rounds.pool(GUILD) == [1, 2, 3]
    assert (await services.pairing.membership.member_status(GUILD, 2)).paused_until is None


async def test_pause_weeks_are_limited_and_resume_ends_a_pause(env):
    services, port = env
    await join(services, port, 1, 2)
    with pytest.raises(UserError, match="1 to 12"):
        await services.pairing.membership.pause_member(GUILD, 1, weeks=13)
    with pytest.raises(UserError, match="not paused"):
        await services.pairing.membership.resume_member(GUILD, 1)
    await services.pairing.membership.pause_member(GUILD, 1, weeks=1)
    await services.pairing.membership.resume_member(GUILD, 1)
    assert await services.pairing.rounds.pool(GUILD) == [1, 2]


async def test_leave_takes_a_member_out_and_join_twice_is_harmless(env):
    services, port = env
    await join(services, port, 1, 2)
    assert await services.pairing.membership.join(GUILD, 1, frozenset()) is False
    await services.pairing.membership.leave(GUILD, 1)
    assert await services.pairing.rounds.pool(GUILD) == [2]
    with pytest.raises(UserError, match="not in pairing"):
        await services.pairing.membership.leave(GUILD, 1)


# -- avoid ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who_avoids", [1, 2])
async def test_avoid_works_in_both_directions(env, who_avoids):
    services, port = env
    await join(services, port, 1, 2, 3, 4)
    other = 2 if who_avoids == 1 else 1
    assert await services.pairing.membership.avoid(GUILD, who_avoids, other) is True
    for seed in range(20):
        plan = await services.pairing.rounds.plan(GUILD, seed)
        assert all({1, 2} - set(group) for group in plan.groups), plan
        assert sorted(m for g in plan.groups for m in g) == [1, 2, 3, 4]


async def test_two_members_who_avoid_each_other_are_not_paired(env):
    services, port = env
    await schedule(services)
    await join(services, port, 1, 2)
    await services.pairing.membership.avoid(GUILD, 2, 1)
    started = await run_round(services)
    assert started.plan.groups == () and started.plan.left_out == (1, 2)
    assert port.dms("intro") == [1, 2]
    assert all(i.outcome == "left_out" and i.partner_ids == () for i in port.intros)


async def test_unavoid_allows_the_pair_again_and_self_avoid_is_refused(env):
    services, port = env
    await join(services, port, 1, 2)
    with pytest.raises(UserError, match="yourself"):
        await services.pairing.membership.avoid(GUILD, 1, 1)
    await services.pairing.membership.avoid(GUILD, 1, 2)
    assert (await services.pairing.rounds.plan(GUILD, 0)).groups == ()
    await services.pairing.membership.unavoid(GUILD, 1, 2)
    assert (await services.pairing.rounds.plan(GUILD, 0)).groups == ((1, 2),)
    with pytest.raises(UserError, match="not avoiding"):
        await services.pairing.membership.unavoid(GUILD, 1, 2)


# -- rounds ---------------------------------------------------------------------------------------


async def test_seven_members_get_two_pairs_a_trio_and_one_intro_each(env):
    services, port = env
    await schedule(services)
    await join(services, port, *range(1, 8))
    started = await run_round(services)
    sizes = sorted(len(g) for g in started.plan.groups)
    assert sizes == [2, 2, 3]
    assert port.dms("intro") == list(range(1, 8))
    by_member = {i.user_ids[0]: i for i in port.intros}
    for group in started.plan.groups:
        for member in group:
            assert set(by_member[member].partner_ids) == set(group) - {member}
    assert by_member[1].starter  # a conversation starter is always there
    assert len({nonce for _, _, nonce in port.sent}) == 7
    assert all(len(nonce) <= 25 for _, _, nonce in port.sent)
    assert [(a.pairs, a.trios, a.members) for a in port.announcements] == [(2, 1, 7)]


async def test_a_round_is_created_once_per_slot(env):
    services, port = env
    clock: FakeClock = services.clock
    first_slot = await schedule(services)
    await join(services, port, 1, 2)
    clock.set(first_slot)
    await settle(services)
    # The same slot served again (a retried job, a second bot process) finds its round.
    again = await services.pairing.rounds.start_round(GUILD, "2026-03-04 09:00:00")
    assert again is not None and again.created is False
    await settle(services)
    rounds = await services.db.fetchall("SELECT slot_key FROM pairing_rounds")
    assert [r["slot_key"] for r in rounds] == ["2026-03-04 09:00:00"]
    assert port.dms("intro") == [1, 2]
    assert await services.scheduler.due_at(round_job_key(GUILD)) == first_slot + timedelta(weeks=1)


async def test_run_now_is_keyed_by_the_interaction(env):
    services, port = env
    await schedule(services)
    await join(services, port, 1, 2)
    first = await run_round(services, key=42)
    retried = await run_round(services, key=42)
    assert retried.round_id == first.round_id and retried.created is False
    assert port.dms("intro") == [1, 2]
    second = await run_round(services, key=43)
    assert second.round_id != first.round_id
    assert port.dms("intro") == [1, 1, 2, 2]


async def test_run_now_needs_a_schedule_and_a_pool(env):
    services, _ = env
    with pytest.raises(UserError, match="schedule"):
        await services.pairing.rounds.run_now(GUILD, 1)
    await schedule(services)
    with pytest.raises(UserError, match="Nobody"):
        await services.pairing.rounds.run_now(GUILD, 1)


async def test_a_pool_of_one_is_told_nobody_else_is_available(env):
    services, port = env
    await schedule(services)
    await join(services, port, 1)
    await run_round(services)
    assert [(i.user_ids, i.outcome) for i in port.intros] == [((1,), "alone")]


async def test_new_pairs_are_preferred_over_repeats(env):
    services, port = env
    await schedule(services)
    await join(services, port, 1, 2, 3, 4)
    seen: set[frozenset[int]] = set()
    for key in range(3):  # 4 members have exactly 3 repeat-free rounds
        started = await run_round(services, key=key)
        pairs = {frozenset(g) for g in started.plan.groups}
        assert not pairs & seen
        seen |= pairs
    assert len(seen) == 6


async def test_a_missed_round_runs_late_within_a_day_and_is_skipped_after(env):
    services, port = env
    clock: FakeClock = services.clock
    first_slot = await schedule(services)
    await join(services, port, 1, 2)
    await services.scheduler.stop()
    clock.set(first_slot + timedelta(hours=30))  # the bot was down for the slot
    services.scheduler.start()
    await settle(services)
    assert port.dms("intro") == []
    assert await services.scheduler.due_at(round_job_key(GUILD)) == first_slot + timedelta(weeks=1)
    await services.scheduler.stop()
    clock.set(first_slot + timedelta(weeks=1, hours=3))
    services.scheduler.start()
    await settle(services)
    assert port.dms("intro") == [1, 2]


async def test_paused_rounds_do_not_run(env):
    services, port = env
    clock: FakeClock = services.clock
    first_slot = await schedule(services)
    await join(services, port, 1, 2)
    await services.pairing.schedule.set_paused(GUILD, True)
    assert await services.scheduler.due_at(round_job_key(GUILD)) is None
    clock.set(first_slot)
    await settle(services)
    assert port.dms("intro") == []
    assert await services.pairing.schedule.set_paused(GUILD, False) == first_slot + timedelta(
        weeks=1
    )


async def test_preview_sends_and_stores_nothing(env):
    services, port = env
    await schedule(services)
    await join(services, port, 1, 2, 3)
    plan = await services.pairing.rounds.preview(GUILD)
    await settle(services)
    assert [len(g) for g in plan.groups] == [3]
    assert port.sent == [] and port.announcements == []
    assert await services.db.fetchval("SELECT COUNT(*) FROM pairing_rounds") == 0


# -- delivery ----------------------------------------------------------------------------------


async def test_a_refused_dm_moves_the_group_to_a_private_thread(env):
    services, port = env
    await schedule(services)
    await join(services, port, 1, 2)
    port.dms_closed.add(2)
    await run_round(services)
    assert port.dms("intro") == [1]
    [(channel_id, intro)] = port.threads
    assert channel_id == CHANNEL and intro.user_ids == (1, 2)
    # Each intro's delivery: sent by DM, or refused and then made in the group's thread.
    states = await services.db.fetchall(
        "SELECT o.recipient_user_id AS user_id, CASE WHEN o.state = 'refused' "
        "AND t.state = 'sent' THEN 'thread' ELSE o.state END AS state FROM outbox o "
        "JOIN pairing_assignments a ON a.user_id = o.recipient_user_id "
        "LEFT JOIN outbox t ON t.dedupe_key = 'pairing.thread:' || a.group_id "
        "WHERE o.kind = 'pairing.intro' ORDER BY o.recipient_user_id"
    )
    assert [(r["user_id"], r["state"]) for r in states] == [(1, "sent"), (2, "thread")]
    assert (await services.pairing.overview.stats(GUILD)).undelivered == []


async def test_an_intro_that_cannot_go_anywhere_is_listed_as_undelivered(env):
    services, port = env
    await schedule(services)
    await join(services, port, 1, 2)
    port.dms_closed.update({1, 2})
    port.threads_fail = True
    started = await run_round(services)
    stats = await services.pairing.overview.stats(GUILD)
    assert sorted((u.round_id, u.user_id, u.kind) for u in stats.undelivered) == [
        (started.round_id, 1, "intro"),
        (started.round_id, 2, "intro"),
    ]
    status = await services.pairing.status(GUILD, None)
    assert status.problems and "2 pairing message" in status.problems[0]


async def test_an_interrupted_round_resumes_without_repeating_anyone(fresh_database):
    database = await fresh_database()
    clock = FakeClock(START)
    services = await open_test_services(database, clock)
    port = FakePort()
    connect(services, port)
    await schedule(services)
    await join(services, port, *range(1, 7))
    port.broken_for = {4, 5, 6}  # the bot "dies" before these are sent
    services.scheduler.start()
    services.outbox.start()
    await services.pairing.rounds.run_now(GUILD, 1)
    await settle(services)
    await stop(services)
    assert port.dms("intro") == [1, 2, 3]

    services = await open_test_services(database, clock)  # the restart
    port.broken_for = set()
    connect(services, port)
    services.scheduler.start()
    services.outbox.start()  # sends what is left
    await settle(services)
    await stop(services)
    # Every send is counted, resends included: a member sent twice would show twice.
    assert port.dms("intro") == [1, 2, 3, 4, 5, 6]


# -- members leaving -----------------------------------------------------------------------------


async def test_a_partner_leaving_is_told_and_two_left_alone_are_rematched(env):
    services, port = env
    await schedule(services)
    await join(services, port, 1, 2, 3, 4)
    await services.pairing.membership.avoid(
        GUILD, 1, 4
    )  # so the round pairs 1-2 / 3-4 or 1-3 / 2-4
    started = await run_round(services)
    first, second = started.plan.groups
    stay_a, gone_a = first
    gone_b, stay_b = second
    await services.pairing.member_left(GUILD, gone_a)
    await settle(services)
    assert [(n.user_id, n.kind, n.partner_ids) for n in port.notices] == [
        (stay_a, "partner_left", ())
    ]
    assert await services.pairing.rounds.pool(GUILD) == sorted({1, 2, 3, 4} - {gone_a})
    await services.pairing.member_left(GUILD, gone_b)
    await settle(services)
    blocked = {stay_a, stay_b} == {1, 4}
    if blocked:
        assert [n.user_id for n in port.notices] == [stay_a, stay_b]
        assert port.notices[-1].partner_ids == ()
    else:
        assert sorted((n.user_id, n.kind, n.partner_ids) for n in port.notices[1:]) == sorted(
            [(stay_a, "rematched", (stay_b,)), (stay_b, "partner_left", (stay_a,))]
        )
        status = await services.pairing.membership.member_status(GUILD, stay_a)
        assert status.partner_ids == (stay_b,)


async def test_a_trio_that_loses_a_member_goes_on_as_a_pair(env):
    services, port = env
    await schedule(services)
    await join(services, port, 1, 2, 3)
    await run_round(services)
    await services.pairing.member_left(GUILD, 3)
    await settle(services)
    assert sorted((n.user_id, n.partner_ids) for n in port.notices) == [(1, (2,)), (2, (1,))]


async def test_leaving_before_the_intro_cancels_it(env):
    services, port = env
    await schedule(services)
    await join(services, port, 1, 2, 3)
    await services.scheduler.stop()  # the round is stored but nothing is sent yet
    await services.outbox.stop()
    await services.pairing.rounds.run_now(GUILD, 1)
    await services.pairing.member_left(GUILD, 3)
    services.scheduler.start()
    services.outbox.start()
    await settle(services)
    assert port.dms("intro") == [1, 2]
    assert all(i.partner_ids in ((1,), (2,)) for i in port.intros)


# -- check-ins and stats -------------------------------------------------------------------------


async def test_checkins_go_out_halfway_and_answers_feed_the_stats(env):
    services, port = env
    clock: FakeClock = services.clock
    first_slot = await schedule(services)
    await join(services, port, 1, 2, 3, 4, 5)
    clock.set(first_slot)
    await settle(services)
    round_id = await services.db.fetchval("SELECT round_id FROM pairing_rounds")
    clock.set(first_slot + timedelta(days=3, hours=11, minutes=59))
    await settle(services)
    assert port.dms("checkin") == []
    clock.set(first_slot + timedelta(days=3, hours=12))  # halfway to next Wednesday 09:00
    await settle(services)
    assert port.dms("checkin") == [1, 2, 3, 4, 5]

    ack = await services.pairing.midround.answer_checkin(round_id, 1, "met")
    assert ack.changed
    assert not (await services.pairing.midround.answer_checkin(round_id, 1, "met")).changed
    await services.pairing.midround.answer_checkin(round_id, 2, "not_yet")
    await services.pairing.midround.answer_checkin(round_id, 2, "skipped")  # changed their mind
    await services.pairing.midround.answer_checkin(round_id, 3, "not_yet")
    with pytest.raises(UserError, match="someone else"):
        await services.pairing.midround.answer_checkin(round_id, 99, "met")

    stats = await services.pairing.overview.stats(GUILD)
    assert (stats.rounds, stats.pairs, stats.trios) == (1, 1, 1)
    assert (stats.met, stats.not_yet, stats.skipped, stats.unanswered) == (1, 1, 1, 2)
    assert stats.last_round_at == first_slot


async def test_status_shows_partners_and_the_next_round(env):
    services, port = env
    first_slot = await schedule(services)
    await join(services, port, 1, 2)
    await run_round(services)
    status = await services.pairing.membership.member_status(GUILD, 1)
    assert status.opted_in and status.partner_ids == (2,)
    assert status.next_round_at == first_slot
    outsider = await services.pairing.membership.member_status(GUILD, 3)
    assert not outsider.opted_in and outsider.partner_ids == ()
    feature = await services.pairing.status(GUILD, 3)
    assert feature.enabled and feature.next_at == first_slot
    assert "not opted in" in feature.member_status


async def test_intros_are_sent_concurrently_with_a_bounded_number_in_flight(env):
    services, port = env
    await schedule(services)
    await join(services, port, *range(1, 41))
    in_flight = peak = 0
    release = asyncio.Event()
    send = port.send_intro

    async def slow_send(intro: Intro, nonce: str) -> Outcome:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await release.wait()
        in_flight -= 1
        return await send(intro, nonce)

    port.send_intro = slow_send
    await services.pairing.rounds.run_now(GUILD, 1)
    bound = services.outbox.concurrency
    for _ in range(100):
        await asyncio.sleep(0.005)
        if peak >= bound:
            break
    release.set()
    await settle(services)
    assert peak == bound  # many at once, never more than the bound
    assert port.dms("intro") == list(range(1, 41))


async def test_a_round_job_retried_after_a_failure_serves_the_same_slot(env):
    services, port = env
    clock: FakeClock = services.clock
    first_slot = await schedule(services)
    await join(services, port, 1, 2)
    present = port.present
    calls = 0

    async def flaky_present(guild_id, user_ids, role_id):
        nonlocal calls
        calls += 1
        if calls == 1:
            raise DiscordUnavailable("Discord timed out")
        return await present(guild_id, user_ids, role_id)

    port.present = flaky_present
    clock.set(first_slot)
    await settle(services)
    assert port.dms("intro") == []
    retry_at = await services.scheduler.due_at(round_job_key(GUILD))
    assert first_slot < retry_at < first_slot + timedelta(hours=1)  # backoff, not next week
    clock.set(retry_at)
    await settle(services)
    rounds = await services.db.fetchall("SELECT slot_key FROM pairing_rounds")
    assert [r["slot_key"] for r in rounds] == ["2026-03-04 09:00:00"]
    assert port.dms("intro") == [1, 2]
    assert await services.scheduler.due_at(round_job_key(GUILD)) == first_slot + timedelta(weeks=1)
