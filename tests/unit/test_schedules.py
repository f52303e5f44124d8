"""Schedules: local wall times held across DST, gaps and overlaps resolved, cadences spaced."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.schedules import (
    CADENCES,
    CATCH_UP_WINDOW,
    WEEKDAYS,
    DueSlot,
    format_hhmm,
    latest_due_post,
    local_date_of,
    midpoint,
    next_daily_post,
    next_round_slot,
    parse_hhmm,
    round_anchor,
    scheduled_utc,
    slot_key,
)

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
MONDAY, TUESDAY = 0, 1


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %a %H:%M %Z")


def daily_series(start: datetime, tz: ZoneInfo, at: time, weekends: bool, n: int) -> list[datetime]:
    slots, after = [], start
    for _ in range(n):
        after = next_daily_post(after, tz, at, weekends)
        slots.append(after)
    return slots


# -- parse_hhmm -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("07:30", time(7, 30)),
        ("7:30", time(7, 30)),
        (" 12:00 ", time(12, 0)),
        ("00:00", time(0, 0)),
        ("23:59", time(23, 59)),
    ],
)
def test_parse_hhmm_accepts(text: str, expected: time) -> None:
    assert parse_hhmm(text) == expected


@pytest.mark.parametrize(
    "text", ["7pm", "24:00", "12:60", "1230", "12:5", "７:３０", "-1:00", "12:00:00", "noon"]
)
def test_parse_hhmm_rejects_with_a_helpful_message(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a time\. Use 24-hour HH:MM, for example 07:30"):
        parse_hhmm(text)


def test_parse_hhmm_message_quotes_the_input() -> None:
    with pytest.raises(ValueError) as caught:
        parse_hhmm("7pm")
    assert (
        str(caught.value) == "`7pm` is not a time. Use 24-hour HH:MM, for example 07:30 or 16:45."
    )


def test_parse_hhmm_empty() -> None:
    with pytest.raises(ValueError, match="A time is needed"):
        parse_hhmm("   ")


def test_format_hhmm_round_trips() -> None:
    assert format_hhmm(parse_hhmm("7:05")) == "07:05"


def test_weekday_names_and_cadences() -> None:
    assert WEEKDAYS[0] == "Monday" and WEEKDAYS[6] == "Sunday" and len(WEEKDAYS) == 7
    assert CADENCES == ("weekly", "biweekly", "monthly")


# -- daily posts across DST -----------------------------------------------------------------------


def test_new_york_spring_forward_keeps_wall_time() -> None:
    slots = daily_series(utc("2026-03-06 00:00"), NEW_YORK, time(7, 30), True, 4)
    assert [local(slot, NEW_YORK) for slot in slots] == [
        "2026-03-06 Fri 07:30 EST",
        "2026-03-07 Sat 07:30 EST",
        "2026-03-08 Sun 07:30 EDT",
        "2026-03-09 Mon 07:30 EDT",
    ]
    assert [slot.hour for slot in slots] == [12, 12, 11, 11]  # the UTC instant moves instead
    assert all(slot.tzinfo is UTC for slot in slots)


def test_new_york_fall_back_keeps_wall_time() -> None:
    slots = daily_series(utc("2026-10-30 00:00"), NEW_YORK, time(7, 30), True, 4)
    assert [local(slot, NEW_YORK) for slot in slots] == [
        "2026-10-30 Fri 07:30 EDT",
        "2026-10-31 Sat 07:30 EDT",
        "2026-11-01 Sun 07:30 EST",
        "2026-11-02 Mon 07:30 EST",
    ]
    assert [slot.hour for slot in slots] == [11, 11, 12, 12]


def test_weekends_skipped_unless_enabled() -> None:
    friday = utc("2026-03-06 12:30")  # Friday 07:30 EST, just served
    assert next_daily_post(friday, NEW_YORK, time(7, 30), False) == utc("2026-03-09 11:30")
    assert next_daily_post(friday, NEW_YORK, time(7, 30), True) == utc("2026-03-07 12:30")
    weekdays = daily_series(friday, NEW_YORK, time(7, 30), False, 10)
    assert all(slot.astimezone(NEW_YORK).weekday() < 5 for slot in weekdays)


def test_strictly_after() -> None:
    slot = scheduled_utc(date(2026, 3, 10), NEW_YORK, time(7, 30))
    assert next_daily_post(slot, NEW_YORK, time(7, 30), False) == slot + timedelta(days=1)
    just_before = slot - timedelta(microseconds=1)
    assert next_daily_post(just_before, NEW_YORK, time(7, 30), False) == slot


def test_gap_time_shifts_forward_by_the_gap() -> None:
    slot = scheduled_utc(date(2026, 3, 8), NEW_YORK, time(2, 30))
    assert local(slot, NEW_YORK) == "2026-03-08 Sun 03:30 EDT"
    assert slot == utc("2026-03-08 07:30")
    assert local_date_of(slot, NEW_YORK) == date(2026, 3, 8)
    series = daily_series(utc("2026-03-07 00:00"), NEW_YORK, time(2, 30), True, 3)
    assert [local(s, NEW_YORK)[-9:] for s in series] == ["02:30 EST", "03:30 EDT", "02:30 EDT"]


def test_ambiguous_time_uses_first_occurrence() -> None:
    slot = scheduled_utc(date(2026, 11, 1), NEW_YORK, time(1, 30))
    assert slot == utc("2026-11-01 05:30")
    assert local(slot, NEW_YORK) == "2026-11-01 Sun 01:30 EDT"
    # One post that day, not two: the next slot is the following day.
    assert next_daily_post(slot, NEW_YORK, time(1, 30), True) == utc("2026-11-02 06:30")


def test_london_transitions() -> None:
    spring = daily_series(utc("2026-03-27 00:00"), LONDON, time(9, 0), False, 2)
    assert [local(s, LONDON) for s in spring] == [
        "2026-03-27 Fri 09:00 GMT",
        "2026-03-30 Mon 09:00 BST",
    ]
    assert spring == [utc("2026-03-27 09:00"), utc("2026-03-30 08:00")]
    autumn = daily_series(utc("2026-10-23 00:00"), LONDON, time(9, 0), False, 2)
    assert autumn == [utc("2026-10-23 08:00"), utc("2026-10-26 09:00")]
    gap = scheduled_utc(date(2026, 3, 29), LONDON, time(1, 30))
    assert local(gap, LONDON) == "2026-03-29 Sun 02:30 BST"
    overlap = scheduled_utc(date(2026, 10, 25), LONDON, time(1, 30))
    assert local(overlap, LONDON) == "2026-10-25 Sun 01:30 BST"


def test_local_date_of() -> None:
    assert local_date_of(utc("2026-03-10 03:00"), NEW_YORK) == date(2026, 3, 9)
    assert local_date_of(utc("2026-03-10 03:00"), ZoneInfo("Asia/Tokyo")) == date(2026, 3, 10)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        next_daily_post(datetime(2026, 3, 9, 12), NEW_YORK, time(7, 30), False)


def test_a_skipped_calendar_day_has_no_slot() -> None:
    apia = ZoneInfo("Pacific/Apia")  # 2011-12-30 did not exist there
    slots = daily_series(utc("2011-12-28 00:00"), apia, time(10, 0), True, 3)
    dates = [local_date_of(slot, apia) for slot in slots]
    assert dates == [date(2011, 12, 28), date(2011, 12, 29), date(2011, 12, 31)]


@settings(max_examples=200, deadline=None)
@given(
    after=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31)),
    zone=st.sampled_from(["America/New_York", "Europe/London", "Australia/Sydney", "UTC"]),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30, 59]),
    weekends=st.booleans(),
)
def test_next_and_latest_agree(
    after: datetime, zone: str, hour: int, minute: int, weekends: bool
) -> None:
    """No slot lies strictly between ``after`` and the next slot, and the next slot is a slot."""
    tz, at, after = ZoneInfo(zone), time(hour, minute), after.replace(tzinfo=UTC)
    nxt = next_daily_post(after, tz, at, weekends)
    assert after < nxt <= after + timedelta(days=4)
    assert latest_due_post(nxt, tz, at, weekends) == DueSlot(local_date_of(nxt, tz), nxt)
    before = latest_due_post(nxt - timedelta(seconds=1), tz, at, weekends)
    assert before is not None and before.due_utc <= after
    assert weekends or local_date_of(nxt, tz).weekday() < 5


# -- catch-up -------------------------------------------------------------------------------------


def test_latest_due_post_before_todays_time_is_the_last_weekday() -> None:
    monday_early = utc("2026-03-09 10:00")  # 06:00 EDT, before 07:30
    due = latest_due_post(monday_early, NEW_YORK, time(7, 30), False)
    assert due == DueSlot(date(2026, 3, 6), utc("2026-03-06 12:30"))
    with_weekends = latest_due_post(monday_early, NEW_YORK, time(7, 30), True)
    assert with_weekends == DueSlot(date(2026, 3, 8), utc("2026-03-08 11:30"))


def test_latest_due_post_at_the_exact_time() -> None:
    slot = utc("2026-03-09 11:30")
    assert latest_due_post(slot, NEW_YORK, time(7, 30), False) == DueSlot(date(2026, 3, 9), slot)


def test_lateness_over_a_dst_night_is_real_elapsed_time() -> None:
    # Sunday 2026-03-08 07:30 EDT is 11:30 UTC; 5 real hours later is still within the window
    # (a wall-clock difference would say 4 hours).
    now = utc("2026-03-08 16:30")
    due = latest_due_post(now, NEW_YORK, time(7, 30), True)
    assert due == DueSlot(date(2026, 3, 8), utc("2026-03-08 11:30"))
    assert due is not None and now - due.due_utc == timedelta(hours=5) < CATCH_UP_WINDOW


# -- pairing rounds -------------------------------------------------------------------------------


def round_series(
    after: datetime, cadence: str, weekday: int, at: time, anchor: date, n: int
) -> list[datetime]:
    slots = []
    for _ in range(n):
        after = next_round_slot(after, NEW_YORK, cadence, weekday, at, anchor)
        slots.append(after)
    return slots


def test_weekly_across_spring_forward() -> None:
    slots = round_series(
        utc("2026-03-01 00:00"), "weekly", TUESDAY, time(16, 0), date(2026, 3, 1), 3
    )
    assert [local(s, NEW_YORK) for s in slots] == [
        "2026-03-03 Tue 16:00 EST",
        "2026-03-10 Tue 16:00 EDT",
        "2026-03-17 Tue 16:00 EDT",
    ]
    assert slots[1] - slots[0] == timedelta(days=7, hours=-1)


def test_weekly_same_day_before_and_after_the_time() -> None:
    tuesday_morning = utc("2026-03-03 14:00")  # 09:00 EST
    slot = next_round_slot(tuesday_morning, NEW_YORK, "weekly", TUESDAY, time(16, 0), date.min)
    assert slot == utc("2026-03-03 21:00")
    later = next_round_slot(slot, NEW_YORK, "weekly", TUESDAY, time(16, 0), date.min)
    assert later == utc("2026-03-10 20:00")


def test_biweekly_spacing_from_anchor() -> None:
    anchor = date(2026, 3, 4)  # a Wednesday; the first Monday on/after it is 2026-03-09
    slots = round_series(utc("2026-02-01 00:00"), "biweekly", MONDAY, time(9, 0), anchor, 4)
    dates = [local_date_of(s, NEW_YORK) for s in slots]
    assert dates == [date(2026, 3, 9), date(2026, 3, 23), date(2026, 4, 6), date(2026, 4, 20)]
    assert all(s.astimezone(NEW_YORK).time() == time(9, 0) for s in slots)


def test_biweekly_far_from_anchor_stays_in_phase() -> None:
    anchor = date(2026, 3, 9)
    for start in (utc("2026-11-01 00:00"), utc("2027-06-15 13:00"), utc("2026-03-23 13:00")):
        slot = next_round_slot(start, NEW_YORK, "biweekly", MONDAY, time(9, 0), anchor)
        day = local_date_of(slot, NEW_YORK)
        assert (day - anchor).days % 14 == 0
        assert start < slot <= start + timedelta(days=14)


def test_biweekly_anchor_day_after_the_time_waits_two_weeks() -> None:
    anchor = date(2026, 3, 9)  # Monday, schedule set at 10:00 local for Monday 09:00
    set_at = utc("2026-03-09 14:00")
    slot = next_round_slot(set_at, NEW_YORK, "biweekly", MONDAY, time(9, 0), anchor)
    assert local_date_of(slot, NEW_YORK) == date(2026, 3, 23)


def test_round_anchor_makes_first_biweekly_round_at_most_a_week_away() -> None:
    set_at = utc("2026-03-09 14:00")  # Monday 10:00 EDT, for "Monday 09:00"
    anchor = round_anchor(set_at, NEW_YORK, MONDAY, time(9, 0))
    assert anchor == date(2026, 3, 16)
    slot = next_round_slot(set_at, NEW_YORK, "biweekly", MONDAY, time(9, 0), anchor)
    assert local_date_of(slot, NEW_YORK) == date(2026, 3, 16)


def test_monthly_is_the_first_weekday_of_each_month() -> None:
    slots = round_series(utc("2026-02-15 00:00"), "monthly", TUESDAY, time(18, 0), date.min, 4)
    assert [local_date_of(s, NEW_YORK) for s in slots] == [
        date(2026, 3, 3),
        date(2026, 4, 7),
        date(2026, 5, 5),
        date(2026, 6, 2),
    ]
    assert all(s.astimezone(NEW_YORK).time() == time(18, 0) for s in slots)


def test_monthly_year_rollover() -> None:
    after_december = utc("2026-12-01 23:30")  # 18:30 EST on Tuesday 1 December: just missed
    slot = next_round_slot(after_december, NEW_YORK, "monthly", TUESDAY, time(18, 0), date.min)
    assert local(slot, NEW_YORK) == "2027-01-05 Tue 18:00 EST"


def test_round_slot_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="unknown cadence"):
        next_round_slot(utc("2026-03-01 00:00"), NEW_YORK, "daily", MONDAY, time(9), date.min)
    with pytest.raises(ValueError, match="weekday"):
        next_round_slot(utc("2026-03-01 00:00"), NEW_YORK, "weekly", 7, time(9), date.min)


# -- keys and midpoints ---------------------------------------------------------------------------


def test_slot_key_is_utc_and_stable() -> None:
    slot = utc("2026-03-09 13:00")
    assert slot_key(slot) == "2026-03-09 13:00:00"
    assert slot_key(slot.astimezone(NEW_YORK)) == slot_key(slot)
    assert slot_key(slot + timedelta(seconds=7, microseconds=5)) == slot_key(slot)
    assert slot_key(slot + timedelta(minutes=1)) != slot_key(slot)


def test_midpoint_is_half_the_elapsed_time() -> None:
    a, b = utc("2026-03-02 14:00"), utc("2026-03-09 13:00")  # Monday 09:00 EST -> EDT
    assert midpoint(a, b) == utc("2026-03-06 01:30")  # 83.5 real hours after a
    assert midpoint(a, a) == a
    assert midpoint(a, a + timedelta(seconds=3)) == a + timedelta(seconds=1)
    with pytest.raises(ValueError, match="before"):
        midpoint(b, a)
