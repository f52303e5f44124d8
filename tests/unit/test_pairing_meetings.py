"""Meeting times in the pairing core: members' timezones and windows, the times a round proposes,
picks and their confirmation with a reminder (exactly once), "Meet again", privacy and stats.

Discord is a small in-memory port (who is present; every message the outbox sends, counted
before any dedupe); the clock is a FakeClock. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.errors import UserError
from bot.insights.figures import round_figures
from bot.insights.history import read_history
from bot.outbox import OutboxRow, Outcome, Refused, Sent
from bot.pairing.availability import parse_availability
from bot.pairing.meetings import NONE_OF_THESE, REMINDER_BEFORE
from bot.pairing.models import Intro, MeetingNote, Notice, ProposedTimes
from bot.services import Services
from cogs.pairing._render import intro_text
from tests.support.clock import FakeClock
from tests.support.db import run_due

pytestmark = pytest.mark.backends("sqlite", "postgres")

GUILD = 900
CHANNEL = 901
CHICAGO, BERLIN = 11, 12


class Port:
    """Discord for the core: members present, and every send recorded as it is attempted."""

    def __init__(self) -> None:
        self.members: set[int] = set()
        self.dms_closed: set[int] = set()
        self.sent: list[OutboxRow] = []

    async def present(self, guild_id: int, user_ids: set[int], role_id: int | None) -> set[int]:
        return user_ids & self.members

    async def deliver(self, row: OutboxRow) -> Outcome:
        if row.recipient_user_id in self.dms_closed:
            return Refused("DMs are closed")
        self.sent.append(row)
        if row.kind == "pairing.thread":
            return Sent(1, 7000 + row.payload["group_id"], 7000 + row.payload["group_id"])
        return Sent(len(self.sent))

    async def find_delivered(self, row: OutboxRow, since: datetime) -> Outcome | None:
        return None

    def of(self, kind: str) -> list[OutboxRow]:
        return [r for r in self.sent if r.kind == kind]

    def intro(self, user_id: int) -> Intro:
        [row] = [r for r in self.of("pairing.intro") if r.recipient_user_id == user_id]
        return Intro.from_payload(row.payload)


@pytest.fixture
async def env(services: Services) -> AsyncIterator[tuple[Services, Port]]:
    port = Port()
    services.pairing.rounds.attach(port)
    services.outbox.attach(port)
    await services.guilds.joined(GUILD)
    await services.pairing.schedule.configure(
        GUILD, channel_id=CHANNEL, cadence="weekly", weekday=2, time_text="09:00", role_id=None
    )
    yield services, port


async def join(services: Services, port: Port, *user_ids: int) -> None:
    for user_id in user_ids:
        port.members.add(user_id)
        await services.pairing.membership.join(GUILD, user_id, frozenset())


async def run_round(services: Services, key: int = 1):
    started = await services.pairing.rounds.run_now(GUILD, key)
    await run_due(services)
    return started


async def two_zones(services: Services, port: Port) -> None:
    """Chicago free weekday mornings, Berlin weekday evenings: they overlap on weekdays."""
    times = services.pairing.times
    await times.set_timezone(GUILD, CHICAGO, "america/chicago")
    await times.set_availability(GUILD, CHICAGO, "weekdays 09:00-13:00")
    await times.set_timezone(GUILD, BERLIN, "Europe/Berlin")
    await times.set_availability(GUILD, BERLIN, "Mon-Fri 17:00-21:00")
    await join(services, port, CHICAGO, BERLIN)


# -- timezone and availability ------------------------------------------------------------------


async def test_timezone_typo_gets_a_suggestion_and_nothing_is_stored(env):
    services, _ = env
    with pytest.raises(UserError, match="Did you mean `Europe/Berlin`"):
        await services.pairing.times.set_timezone(GUILD, 1, "Europe/Berlni")
    times = await services.pairing.times.get(GUILD, 1)
    assert times.zone.key == "UTC" and not times.own_zone and times.windows is None


async def test_availability_is_stored_read_back_and_cleared(env):
    services, _ = env
    store = services.pairing.times
    saved = await store.set_availability(GUILD, 1, "Mon-Thu 16:00-18:00, Sat 09:00-12:00")
    assert saved == parse_availability("Mon-Thu 16:00-18:00, Sat 09:00-12:00")
    await store.set_timezone(GUILD, 1, "Asia/Tokyo")
    times = await store.get(GUILD, 1)
    assert times.own_zone and times.zone == ZoneInfo("Asia/Tokyo")
    assert times.windows is not None
    assert times.windows.to_text() == "Mon-Thu 16:00-18:00, Sat 09:00-12:00"
    with pytest.raises(UserError, match="Mondy"):
        await store.set_availability(GUILD, 1, "Mondy 10:00-11:00")
    assert (await store.get(GUILD, 1)).windows == saved  # a bad input changes nothing
    assert await store.set_availability(GUILD, 1, "clear") is None
    assert (await store.get(GUILD, 1)).windows is None
    assert (await store.get(GUILD, 1)).zone == ZoneInfo("Asia/Tokyo")  # the zone stays


async def test_privacy_shows_and_forgets_times_picks_and_meet_again(env):
    services, port = env
    await two_zones(services, port)
    await run_round(services)
    intro = port.intro(CHICAGO)
    assert intro.times is not None
    await services.pairing.meetings.pick(intro.times.group_id, CHICAGO, 0)
    await services.pairing.history.toggle_meet_again(GUILD, CHICAGO, BERLIN)
    await services.pairing.history.toggle_meet_again(GUILD, BERLIN, CHICAGO)

    data = await services.member_data.collect(GUILD, CHICAGO)
    tables = {r.table: r.rows for r in data.records}
    assert tables["pairing_member_times"][0]["timezone"] == "America/Chicago"
    assert len(tables["pairing_slot_picks"]) == 1
    # Their own choice is shown; Berlin's choice of them is Berlin's and stays unseen.
    assert [r["user_id"] for r in tables["pairing_meet_again"]] == [CHICAGO]

    await services.departures.forget(GUILD, CHICAGO)
    data = await services.member_data.collect(GUILD, CHICAGO)
    gone = {"pairing_member_times", "pairing_slot_picks", "pairing_meet_again"}
    assert not gone & {r.table for r in data.records}
    left = await services.db.fetchall("SELECT user_id FROM pairing_meet_again")
    assert [r["user_id"] for r in left] == [BERLIN]


# -- proposed times -----------------------------------------------------------------------------


async def test_members_in_two_zones_are_offered_the_same_instants_inside_both_windows(env):
    services, port = env
    await two_zones(services, port)
    await run_round(services)
    chicago, berlin = port.intro(CHICAGO), port.intro(BERLIN)
    assert chicago.times is not None and berlin.times is not None
    assert chicago.times == berlin.times and 1 <= len(chicago.times.slots) <= 3
    now = services.clock.now()
    days = set()
    for slot in chicago.times.slots:
        assert now + timedelta(hours=12) <= slot <= now + timedelta(days=7, minutes=-30)
        local_chicago = slot.astimezone(ZoneInfo("America/Chicago"))
        local_berlin = slot.astimezone(ZoneInfo("Europe/Berlin"))
        assert 9 <= local_chicago.hour and (local_chicago + timedelta(minutes=30)).hour <= 13
        assert 17 <= local_berlin.hour < 21 and local_chicago.weekday() < 5
        days.add(local_berlin.date())
    assert len(days) == len(chicago.times.slots)  # different days
    overlap = await services.db.fetchval("SELECT overlap_minutes FROM pairing_groups")
    # Seven hours apart before the US clocks change (8 March): Chicago 09:00-13:00 is Berlin
    # 16:00-20:00, so 17:00-20:00 Berlin on five weekdays.
    assert overlap == 5 * 180


async def test_a_group_without_a_common_time_is_told_each_members_local_time(env):
    services, port = env
    times = services.pairing.times
    await times.set_timezone(GUILD, CHICAGO, "America/Chicago")
    await times.set_availability(GUILD, CHICAGO, "Sat 09:00-10:00")
    await times.set_availability(GUILD, BERLIN, "Sun 09:00-10:00")
    await join(services, port, CHICAGO, BERLIN)
    await run_round(services)
    intro = port.intro(BERLIN)
    assert intro.times is not None and intro.times.slots == ()
    assert intro.times.local_now == (
        (CHICAGO, "Mon 06:00", "America/Chicago"),
        (BERLIN, "Mon 12:00", "UTC"),
    )


# -- picks, confirmation, reminder --------------------------------------------------------------


async def test_same_pick_confirms_once_and_the_reminder_comes_30_minutes_before_once(env):
    services, port = env
    clock: FakeClock = services.clock  # type: ignore[assignment]
    await two_zones(services, port)
    await run_round(services)
    times = port.intro(CHICAGO).times
    assert times is not None and len(times.slots) >= 2
    meetings = services.pairing.meetings

    first = await meetings.pick(times.group_id, CHICAGO, 0)
    assert first.slot == times.slots[0] and first.confirmed_at is None and first.waiting_for == 1
    changed = await meetings.pick(times.group_id, CHICAGO, 1)  # a change of mind
    assert changed.slot == times.slots[1]
    assert (await meetings.pick(times.group_id, BERLIN, 0)).confirmed_at is None
    done = await meetings.pick(times.group_id, BERLIN, 1)
    assert done.confirmed_at == times.slots[1]
    again = await meetings.pick(times.group_id, CHICAGO, 0)  # too late to change; a duplicate
    assert again.already_confirmed and again.confirmed_at == times.slots[1]
    await run_due(services)

    confirmations = port.of("pairing.time_confirmed")
    assert sorted(r.recipient_user_id for r in confirmations) == [CHICAGO, BERLIN]
    note = MeetingNote.from_payload(confirmations[0].payload)
    assert note.at == times.slots[1] and not note.reminder
    assert port.of("pairing.time_reminder") == []
    status = await services.pairing.membership.member_status(GUILD, BERLIN)
    assert status.confirmed_at == times.slots[1]

    clock.set(times.slots[1] - REMINDER_BEFORE - timedelta(minutes=1))
    await run_due(services)
    assert port.of("pairing.time_reminder") == []
    clock.advance(timedelta(minutes=1))
    await run_due(services)
    clock.advance(timedelta(minutes=20))
    await run_due(services)
    reminders = port.of("pairing.time_reminder")
    assert sorted(r.recipient_user_id for r in reminders) == [CHICAGO, BERLIN]
    assert all(MeetingNote.from_payload(r.payload).reminder for r in reminders)
    assert len(port.of("pairing.time_confirmed")) == 2


async def test_none_of_these_and_another_members_button_record_nothing_for_them(env):
    services, port = env
    await two_zones(services, port)
    await join(services, port, 13)  # a third member: a trio
    await run_round(services)
    times = port.intro(CHICAGO).times
    assert times is not None
    meetings = services.pairing.meetings
    await services.pairing.membership.join(GUILD, 99, frozenset())
    with pytest.raises(UserError, match="someone else's pairing"):
        await meetings.pick(times.group_id, 99, 0)
    with pytest.raises(UserError, match="not one of this pairing's"):
        await meetings.pick(times.group_id, CHICAGO, 7)
    services.clock.set(times.slots[0])  # type: ignore[attr-defined]
    with pytest.raises(UserError, match="has passed"):
        await meetings.pick(times.group_id, CHICAGO, 0)
    none = await meetings.pick(times.group_id, CHICAGO, NONE_OF_THESE)
    assert none.slot is None and none.confirmed_at is None
    picks = await services.db.fetchall("SELECT user_id, slot FROM pairing_slot_picks")
    assert [(r["user_id"], r["slot"]) for r in picks] == [(CHICAGO, NONE_OF_THESE)]


async def test_a_member_with_closed_dms_is_told_in_the_groups_thread(env):
    services, port = env
    await two_zones(services, port)
    port.dms_closed.add(BERLIN)
    await run_round(services)
    [thread] = port.of("pairing.thread")
    assert Intro.from_payload(thread.payload).times == port.intro(CHICAGO).times
    times = port.intro(CHICAGO).times
    assert times is not None
    await services.pairing.meetings.pick(times.group_id, CHICAGO, 0)
    await services.pairing.meetings.pick(times.group_id, BERLIN, 0)
    await run_due(services)
    confirmed = port.of("pairing.time_confirmed")
    assert [(r.recipient_user_id, r.channel_id) for r in confirmed] == [
        (CHICAGO, None),
        (None, 7000 + times.group_id),
    ]


# -- Meet again ---------------------------------------------------------------------------------


async def test_a_mutual_meet_again_repeats_a_pair_and_is_used_up(env):
    services, port = env
    await join(services, port, 1, 2, 3, 4)
    for key in (1, 2):
        await run_round(services, key)
    third = await run_round(services, 3)  # every pair of the four has met now
    a, b = third.plan.groups[0]  # the pair that met most recently
    history = services.pairing.history
    assert await history.toggle_meet_again(GUILD, a, b) is True
    # One-sided: nothing changes; the pairs that met longest ago come first.
    for seed in range(5):
        assert (a, b) not in (await services.pairing.rounds.plan(GUILD, seed)).groups
    assert await history.toggle_meet_again(GUILD, b, a) is True
    fourth = await run_round(services, 4)
    assert (a, b) in fourth.plan.groups  # mutual: counts as never met
    assert await services.db.fetchval("SELECT COUNT(*) FROM pairing_meet_again") == 0


async def test_history_pages_newest_first_and_meet_again_needs_a_real_partner(env):
    services, port = env
    await join(services, port, 1, 2)
    for key in range(1, 8):
        await run_round(services, key)
    history = services.pairing.history
    with pytest.raises(UserError, match="not been paired"):
        await history.toggle_meet_again(GUILD, 1, 3)
    await history.toggle_meet_again(GUILD, 1, 2)
    first = await history.page(GUILD, 1, 0)
    assert first.count == 2 and [g.round_id for g in first.groups] == [7, 6, 5, 4, 3]
    assert first.groups[0].partner_ids == (2,) and first.meet_again == {2}
    last = await history.page(GUILD, 1, 9)  # clamped
    assert last.index == 1 and [g.round_id for g in last.groups] == [2, 1]
    assert await history.toggle_meet_again(GUILD, 1, 2) is False


# -- stats --------------------------------------------------------------------------------------


async def test_stats_count_overlap_confirmed_and_met_groups(env):
    services, port = env
    await two_zones(services, port)
    await run_round(services)
    times = port.intro(CHICAGO).times
    assert times is not None
    await services.pairing.meetings.pick(times.group_id, CHICAGO, 0)
    await services.pairing.meetings.pick(times.group_id, BERLIN, 0)
    await services.pairing.midround.answer_checkin(1, CHICAGO, "met")
    stats = await services.pairing.overview.stats(GUILD)
    assert (stats.groups, stats.with_overlap, stats.overlap_known) == (1, 1, 1)
    assert (stats.confirmed, stats.groups_met) == (1, 1)
    history = await read_history(services.db, GUILD, services.clock.now(), weeks=4)
    [round_figures_] = round_figures(history.rounds, history.assignments)
    assert (round_figures_.groups_confirmed, round_figures_.groups_met) == (1, 1)


async def test_members_re_matched_mid_round_are_offered_times_for_their_new_pair(env):
    services, port = env
    await join(services, port, 1, 2, 3, 4)
    started = await run_round(services)
    (a, gone_a), (b, gone_b) = started.plan.groups
    for departed in (gone_a, gone_b):
        port.members.discard(departed)
        await services.pairing.midround.member_left(GUILD, departed)
    await run_due(services)
    notices = [
        Notice.from_payload(r.payload) for r in port.of("pairing.notice") if r.payload["times"]
    ]
    assert sorted(n.user_id for n in notices) == [a, b]
    times = notices[0].times
    assert times is not None and times.slots and notices[1].times == times
    await services.pairing.meetings.pick(times.group_id, a, 0)
    assert (await services.pairing.meetings.pick(times.group_id, b, 0)).confirmed_at == times.slots[
        0
    ]


def test_an_intro_with_a_long_starter_keeps_its_times_within_discords_limit():
    trio = (123456789012345678, 223456789012345678, 323456789012345678)
    start = datetime(2026, 3, 3, 18, tzinfo=UTC)
    slots = (start, start + timedelta(days=1), start + timedelta(days=2))
    for starter in ("w" * 1000, "a line\n" * 140):
        intro = Intro(
            1, GUILD, trio, trio, "paired", ("x" * 100,), starter, times=ProposedTimes(7, slots)
        )
        text = intro_text(intro, "g" * 100)
        assert len(text) <= 2000 and "…" in text
        assert all(f"<t:{int(s.timestamp())}:F>" in text for s in slots)


async def test_simultaneous_and_repeated_presses_confirm_once(env):
    services, port = env
    await two_zones(services, port)
    await run_round(services)
    times = port.intro(CHICAGO).times
    assert times is not None
    pick = services.pairing.meetings.pick
    acks = await asyncio.gather(
        pick(times.group_id, CHICAGO, 0),
        pick(times.group_id, BERLIN, 0),
        pick(times.group_id, BERLIN, 0),
        pick(times.group_id, CHICAGO, 0),
    )
    assert {a.confirmed_at for a in acks} - {None} == {times.slots[0]}
    await run_due(services)
    rows = await services.db.fetchall(
        "SELECT kind, COUNT(*) AS n FROM outbox WHERE kind LIKE 'pairing.time_%' GROUP BY kind "
        "ORDER BY kind"
    )
    assert [(r["kind"], r["n"]) for r in rows] == [
        ("pairing.time_confirmed", 2),
        ("pairing.time_reminder", 2),
    ]
    assert len(port.of("pairing.time_confirmed")) == 2


async def test_the_export_counts_meet_again_choices_and_names_nobody(env):
    services, port = env
    await join(services, port, 1, 2)
    await run_round(services)
    await services.pairing.history.toggle_meet_again(GUILD, 1, 2)  # one-sided
    async with services.exporter.export(GUILD) as export:
        raw = b"".join(f.path.read_bytes() for f in export.files).decode()
    tables = json.loads(raw)["tables"]
    assert tables["pairing_meet_again"] == {"columns": [], "rows": [], "count": 1}
    assert tables["pairing_member_times"]["rows"] == []  # nobody set any
