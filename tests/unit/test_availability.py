"""Weekly availability: `/pair availability` text, its stored form, and the week in UTC."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import UserError
from bot.pairing.availability import (
    DEFAULT_WINDOWS,
    EXAMPLE,
    WEEK_QUARTERS,
    Availability,
    Schedule,
    free_timeline,
    overlap_minutes,
    parse_availability,
    quarter_floor,
    utc_week,
)

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")


def text_of(raw: str) -> str:
    windows = parse_availability(raw)
    assert windows is not None
    return windows.to_text()


# --- the forms members write ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("Mon-Thu 16:00-18:00, Sat 09:00-12:00", "Mon-Thu 16:00-18:00, Sat 09:00-12:00"),
        ("monday 16:00-18:00", "Mon 16:00-18:00"),
        ("MON 16:00-18:00; Tuesday 08:00-09:00", "Mon 16:00-18:00, Tue 08:00-09:00"),
        ("Thurs 16:00-17:00\nSunday 10:00-11:00", "Thu 16:00-17:00, Sun 10:00-11:00"),
        ("weekdays 07:30-08:15", "Mon-Fri 07:30-08:15"),
        ("weekends 10:00-12:00", "Sat-Sun 10:00-12:00"),
        ("daily 07:00-21:00", "Mon-Sun 07:00-21:00"),
        ("Mon-Fri 09:00-10:00", "Mon-Fri 09:00-10:00"),
        # A range may wrap past Sunday.
        ("Fri-Mon 10:00-11:00", "Mon Fri-Sun 10:00-11:00"),
        # Several windows per day: in one group, or in groups that continue the days.
        ("Mon 09:00-10:00 16:00-18:00", "Mon 09:00-10:00 16:00-18:00"),
        ("Mon 09:00-10:00, 16:00-18:00", "Mon 09:00-10:00 16:00-18:00"),
        ("Mon 09:00-10:00, Mon 16:00-18:00", "Mon 09:00-10:00 16:00-18:00"),
        ("Mon 9-10 Tue 11-12", "Mon 09:00-10:00, Tue 11:00-12:00"),
        ("Mon Wed 16:00-18:00", "Mon Wed 16:00-18:00"),
        ("Mon/Wed 16:00-18:00", "Mon Wed 16:00-18:00"),
        ("Mon 09:00-11:00 10:00-12:00", "Mon 09:00-12:00"),
        # Time notations.
        ("Mon 16-18", "Mon 16:00-18:00"),
        ("Mon 4pm-6:30pm", "Mon 16:00-18:30"),
        ("Mon 12am-1am, Tue 12pm-1pm", "Mon 00:00-01:00, Tue 12:00-13:00"),
        ("Mon 16:00 to 18:00", "Mon 16:00-18:00"),
        ("Mon 16:00 \u2013 18:00", "Mon 16:00-18:00"),
        ("Mon 16:45-17:15", "Mon 16:45-17:15"),
        # 24:00 as an end; a window crossing midnight is split.
        ("Mon 22:00-24:00", "Mon 22:00-24:00"),
        ("Mon 22:00-00:00", "Mon 22:00-24:00"),
        ("Fri 22:00-01:00", "Fri 22:00-24:00, Sat 00:00-01:00"),
        ("Sun 23:00-01:30", "Mon 00:00-01:30, Sun 23:00-24:00"),
    ],
)
def test_accepted_forms_read_as_their_canonical_text(raw: str, canonical: str) -> None:
    assert text_of(raw) == canonical
    assert text_of(canonical) == canonical


def test_clear_means_no_windows() -> None:
    assert parse_availability("clear") is None
    assert parse_availability("  CLEAR ") is None


def test_bits_are_quarter_hours_of_the_local_week_from_monday_midnight() -> None:
    assert parse_availability("Mon 00:00-00:15") == Availability(1)
    assert parse_availability("Sun 23:45-24:00") == Availability(1 << (WEEK_QUARTERS - 1))
    assert parse_availability("Tue 01:00-01:30") == Availability(0b11 << (96 + 4))
    windows = parse_availability("Mon-Thu 16:00-18:00, Sat 09:00-12:00")
    assert windows is not None and windows.minutes == 4 * 120 + 180


def test_default_is_seven_to_nine_every_day() -> None:
    assert DEFAULT_WINDOWS == parse_availability("daily 07:00-21:00")
    assert DEFAULT_WINDOWS.minutes == 7 * 14 * 60
    assert Schedule(LONDON).effective == DEFAULT_WINDOWS


@settings(max_examples=200, deadline=None)
@given(st.integers(1, (1 << WEEK_QUARTERS) - 1))
def test_canonical_text_and_storage_read_back_to_the_same_windows(bits: int) -> None:
    windows = Availability(bits)
    assert parse_availability(windows.to_text()) == windows
    stored = windows.to_storage()
    assert len(stored) == 168
    assert Availability.from_storage(stored) == windows


def test_corrupt_storage_is_refused() -> None:
    with pytest.raises(ValueError):
        Availability.from_storage("abc")
    with pytest.raises(ValueError):
        Availability(1 << WEEK_QUARTERS)


# --- bad input: the error quotes what it could not read and shows an example --------------------


@pytest.mark.parametrize(
    ("raw", "quoted", "why"),
    [
        ("Mnday 16:00-18:00", "Mnday", "neither days"),
        ("Mon 16:07-18:00", "16:07", "steps of 15 minutes"),
        ("Mon 25:00-26:00", "25:00", "from 00:00 to 24:00"),
        ("Mon 16:60-17:00", "16:60", "from 00:00 to 24:00"),
        ("Mon 24:00-02:00", "24:00-02:00", "cannot start at 24:00"),
        ("Mon 10:00-10:00", "10:00-10:00", "same time"),
        ("Mon 16:00", "16:00", "one time, not a window"),
        ("Mon, Wed 16:00-18:00", "Mon", "no time window follows"),
        ("16:00-18:00", "16:00-18:00", "no day before it"),
        ("Mon-Funday 9-10", "Mon-Funday", "`Funday` is not a day"),
        ("Mon 9am-13pm", "13pm", "from 1 to 12"),
        ("clear Mon 9-10", "clear", "alone"),
        ("Mon 16:00-18:00-19:00", "16:00-18:00-19:00", "neither days"),
        ("Mon 9-10 `x`", "'x'", "neither days"),
    ],
)
def test_bad_input_quotes_the_part_it_could_not_read(raw: str, quoted: str, why: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_availability(raw)
    message = str(caught.value)
    assert f"I could not read `{quoted}`" in message
    assert why in message
    assert EXAMPLE in message


def test_empty_and_overlong_input_are_refused_with_an_example() -> None:
    for raw in ("", "   ", "Mon 9-10, " * 50):
        with pytest.raises(UserError) as caught:
            parse_availability(raw)
        assert EXAMPLE in str(caught.value)


# --- the week in UTC ------------------------------------------------------------------------------

WEEKDAY_EVENINGS_NY = Schedule(NEW_YORK, parse_availability("weekdays 16:00-18:00"))
WEEKDAY_NIGHTS_LONDON = Schedule(LONDON, parse_availability("weekdays 20:00-22:00"))


@pytest.mark.parametrize(
    ("week_start", "minutes"),
    [
        # Both on winter time: New York 16-18 is 21-23 UTC, London 20-22 is 20-22 UTC.
        (datetime(2025, 3, 3, tzinfo=UTC), 5 * 60),
        # New York changes on Sunday 9 March: Thu and Fri overlap 1 h, Mon-Wed 2 h.
        (datetime(2025, 3, 6, tzinfo=UTC), 2 * 60 + 3 * 120),
        # New York on summer time, London not yet (it changes on 30 March): 20-22 UTC both.
        (datetime(2025, 3, 10, tzinfo=UTC), 5 * 120),
        # Both on summer time: back to one hour a day.
        (datetime(2025, 3, 31, tzinfo=UTC), 5 * 60),
    ],
)
def test_overlap_uses_the_offsets_of_the_coming_week(week_start: datetime, minutes: int) -> None:
    pair = [WEEKDAY_EVENINGS_NY, WEEKDAY_NIGHTS_LONDON]
    assert overlap_minutes(pair, week_start) == minutes
    assert overlap_minutes(pair[::-1], week_start) == minutes


def test_overlap_with_the_default_windows() -> None:
    week = datetime(2025, 3, 3, tzinfo=UTC)
    assert overlap_minutes([Schedule(LONDON), Schedule(LONDON)], week) == 7 * 14 * 60
    # Sydney 07-21 (UTC+11) is 20:00-10:00 UTC; Chicago 16-18 (UTC-6) is 22-24 UTC.
    chicago = Schedule(ZoneInfo("America/Chicago"), parse_availability("weekdays 16:00-18:00"))
    assert overlap_minutes([Schedule(ZoneInfo("Australia/Sydney")), chicago], week) == 5 * 120
    # A group's overlap is the time ALL are free.
    trio = [Schedule(LONDON), WEEKDAY_EVENINGS_NY, WEEKDAY_NIGHTS_LONDON]
    assert overlap_minutes(trio, week) == 0  # London's default ends at 21:00 UTC


def test_bitsets_agree_with_converting_every_quarter_hour() -> None:
    """``utc_week`` rotates whole rows by each piece of the week's offsets; check it against
    the plain conversion of each instant, over random weeks and zones with odd offsets."""
    rng = random.Random(7)
    zones = [
        "America/New_York",
        "Europe/London",
        "Asia/Kolkata",
        "Asia/Kathmandu",
        "Australia/Adelaide",
        "Australia/Lord_Howe",
        "Pacific/Chatham",
        "America/St_Johns",
        "UTC",
    ]
    for _ in range(60):
        start = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=15 * rng.randrange(70_000))
        schedules = [
            Schedule(
                ZoneInfo(rng.choice(zones)),
                Availability(rng.getrandbits(WEEK_QUARTERS)) if rng.random() < 0.8 else None,
            )
            for _ in range(4)
        ]
        words = utc_week(schedules, start)
        for k, schedule in enumerate(schedules):
            bits = np.unpackbits(words[:, k].astype("<u8").view(np.uint8), bitorder="little")
            expected = free_timeline(schedule, quarter_floor(start), WEEK_QUARTERS)
            assert (bits[:WEEK_QUARTERS].astype(bool) == expected).all()


def test_free_timeline_follows_local_time() -> None:
    start = datetime(2025, 3, 3, 21, 0, tzinfo=UTC)  # Monday 16:00 in New York
    free = free_timeline(WEEKDAY_EVENINGS_NY, start, 12)
    assert free.tolist() == [True] * 8 + [False] * 4
    with pytest.raises(ValueError):
        free_timeline(WEEKDAY_EVENINGS_NY, start + timedelta(minutes=5), 4)
