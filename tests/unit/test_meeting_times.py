"""Meeting times proposed in an intro: inside everyone's windows, ahead, on different days."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.pairing.availability import WEEK_QUARTERS, Availability, Schedule, parse_availability
from bot.pairing.meeting_times import HORIZON, MIN_LEAD, SLOT_LENGTH, propose_slots

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
ZONES = [
    "America/New_York",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Berlin",
    "Africa/Lagos",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Sydney",
    "Pacific/Auckland",
]


def schedule(zone: ZoneInfo | str, text: str | None = None) -> Schedule:
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    return Schedule(zone, parse_availability(text) if text else None)


def free_at(s: Schedule, moment: datetime) -> bool:
    """Whether the member is free at ``moment``, read from their local clock."""
    local = moment.astimezone(s.zone)
    quarter = local.weekday() * 96 + local.hour * 4 + local.minute // 15
    return bool(s.effective.bits >> quarter & 1)


def assert_valid(slots: tuple[datetime, ...], group: list[Schedule], now: datetime) -> None:
    """Every rule a member would notice: ahead, inside everyone's windows, on the grid."""
    assert list(slots) == sorted(set(slots))
    for start in slots:
        assert start.tzinfo is UTC
        assert start >= now + MIN_LEAD  # never in the past, at least 12 hours ahead
        assert start + SLOT_LENGTH <= now + HORIZON
        assert start.minute % 15 == 0 and start.second == 0 and start.microsecond == 0
        for s in group:  # each quarter-hour of the slot, on each member's own clock
            assert free_at(s, start) and free_at(s, start + timedelta(minutes=15))
    for a, b in itertools.pairwise(slots):
        assert b - a >= SLOT_LENGTH  # no two proposals overlap


def local_dates(slots: tuple[datetime, ...], s: Schedule) -> list:
    return [t.astimezone(s.zone).date() for t in slots]


def test_three_slots_on_different_days_inside_both_windows() -> None:
    group = [schedule(NEW_YORK, "weekdays 16:00-18:00"), schedule(LONDON, "weekdays 20:00-22:00")]
    now = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)  # Monday
    slots = propose_slots(group, now)
    assert_valid(slots, group, now)
    assert len(slots) == 3
    for s in group:
        assert len(set(local_dates(slots, s))) == 3
    # The earliest common time, 12 h ahead: Monday 21:00 UTC (16:00 in New York).
    assert slots[0] == datetime(2025, 3, 3, 21, 0, tzinfo=UTC)


def test_dst_week_follows_each_members_clock() -> None:
    """New York moves to summer time on Sunday 9 March, London on 30 March: the common hour
    moves from 21:00 to 20:00 UTC, and both still see their own 16:00 and 20:00-22:00."""
    ny = schedule(NEW_YORK, "weekdays 16:00-18:00")
    london = schedule(LONDON, "weekdays 20:00-22:00")
    now = datetime(2025, 3, 6, 12, 0, tzinfo=UTC)  # Thursday
    slots = propose_slots([ny, london], now)
    assert_valid(slots, [ny, london], now)
    assert slots == (
        datetime(2025, 3, 7, 21, 0, tzinfo=UTC),  # Friday, before the change
        datetime(2025, 3, 10, 20, 0, tzinfo=UTC),  # Monday, after it
        datetime(2025, 3, 11, 20, 0, tzinfo=UTC),
    )
    assert {t.astimezone(NEW_YORK).hour for t in slots} == {16}


def test_no_common_time_gives_no_slots() -> None:
    # Sydney evenings are London mornings.
    group = [schedule("Australia/Sydney", "weekdays 17:00-19:00"), schedule(LONDON, "daily 17-20")]
    assert propose_slots(group, datetime(2025, 3, 3, tzinfo=UTC)) == ()


def test_at_least_twelve_hours_ahead() -> None:
    group = [schedule(LONDON, "daily 09:00-10:00"), schedule(LONDON)]
    now = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)  # today's 09:00 is only an hour away
    slots = propose_slots(group, now)
    assert_valid(slots, group, now)
    assert slots[0] == datetime(2025, 3, 4, 9, 0, tzinfo=UTC)


def test_same_day_only_when_no_other_day_exists() -> None:
    group = [schedule(LONDON, "Tue 16:00-17:30"), schedule(LONDON)]
    now = datetime(2025, 3, 3, tzinfo=UTC)
    slots = propose_slots(group, now)
    assert_valid(slots, group, now)
    # One Tuesday in the next 7 days: three non-overlapping slots on it.
    assert slots == tuple(
        datetime(2025, 3, 4, h, m, tzinfo=UTC) for h, m in ((16, 0), (16, 30), (17, 0))
    )


def test_on_the_hour_or_half_hour_where_the_window_allows() -> None:
    group = [schedule(LONDON, "daily 16:15-17:30"), schedule(LONDON)]
    now = datetime(2025, 3, 3, tzinfo=UTC)
    slots = propose_slots(group, now)
    assert [t.minute for t in slots] == [30, 30, 30]
    # A window that allows only quarter past still gets its slot.
    group = [schedule(LONDON, "daily 16:15-16:45"), schedule(LONDON)]
    assert [t.minute for t in propose_slots(group, now)] == [15, 15, 15]


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        propose_slots([schedule(LONDON)], datetime(2025, 3, 3))


windows = st.one_of(
    st.none(),
    st.integers(1, (1 << WEEK_QUARTERS) - 1).map(Availability),
    st.sampled_from(
        ["weekdays 16:00-18:00", "Mon Wed 19:00-20:30, Sat 09:00-12:00", "daily 06:00-08:00"]
    ).map(parse_availability),
)
members = st.builds(Schedule, st.sampled_from(ZONES).map(ZoneInfo), windows)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(members, min_size=1, max_size=3),
    st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
    ),
)
def test_any_group_any_time(group: list[Schedule], now: datetime) -> None:
    slots = propose_slots(group, now)
    assert_valid(slots, group, now)
    assert len(slots) <= 3
    # Different days where possible: members on the default windows share some time every
    # day, so their three slots fall on three different dates on every member's calendar.
    if all(s.windows is None for s in group) and len(slots) == 3:
        for s in group:
            assert len(set(local_dates(slots, s))) == 3
