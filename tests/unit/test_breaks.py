"""School breaks: the calendar's rules (pure), and the service on both databases: breaks are
added, listed and removed, and during one no prompt is posted (nor recorded as skipped), no
round runs (the slot is skipped, not caught up) and no check-in is sent."""

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.breaks.calendar import (
    MAX_BREAKS,
    BreakError,
    SchoolBreak,
    break_on,
    check_new_break,
    current_or_next,
)
from bot.errors import UserError
from bot.pairing.common import round_job_key
from bot.schedules import parse_local_date
from tests.support.clock import FakeClock
from tests.support.db import START, open_test_services, run_due
from tests.support.outbox import FakeTransport

pytestmark = pytest.mark.backends("sqlite", "postgres")

G = 1000
CHANNEL = 1002
TODAY = date(2026, 3, 2)  # START's local date (a Monday, UTC)
WINTER = SchoolBreak(1, date(2026, 12, 21), date(2027, 1, 1), "Winter")


# -- the calendar (pure) ------------------------------------------------------------------------


def test_dates_are_parsed_strictly_with_the_input_quoted():
    assert parse_local_date(" 2027-01-04 ") == date(2027, 1, 4)
    with pytest.raises(ValueError, match="`04/01/2027` is not a date; write it as YYYY-MM-DD"):
        parse_local_date("04/01/2027")
    with pytest.raises(ValueError, match="`2027-02-30` is not a real date"):
        parse_local_date("2027-02-30")


@pytest.mark.parametrize(
    ("start", "end", "note", "problem"),
    [
        (date(2026, 3, 10), date(2026, 3, 9), "", "ends (2026-03-09) before it starts"),
        (date(2026, 3, 1), date(2026, 3, 9), "", "would start in the past"),
        (date(2026, 3, 2), date(2026, 6, 30), "", "121 days long; a break can last at most 120"),
        (date(2026, 3, 2), date(2026, 3, 3), "x" * 201, "keep it to 200"),
        (date(2026, 12, 31), date(2027, 1, 8), "", "overlaps break #1 (2026-12-21 to 2027-01-01)"),
        (date(2026, 12, 1), date(2027, 3, 1), "", "overlaps break #1"),
    ],
)
def test_a_new_break_is_refused_with_a_clear_reason(start, end, note, problem):
    with pytest.raises(BreakError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        check_new_break(start, end, note, TODAY, [WINTER])


def test_a_break_may_start_today_last_120_days_and_touch_another():
    check_new_break(TODAY, TODAY + timedelta(days=119), "", TODAY, [WINTER])
    check_new_break(date(2027, 1, 2), date(2027, 1, 2), "", TODAY, [WINTER])  # the day after


def test_past_breaks_neither_overlap_nor_count_towards_the_cap():
    past = [SchoolBreak(i, date(2025, 1, i), date(2025, 1, i)) for i in range(1, 29)]
    check_new_break(TODAY, TODAY, "", TODAY, past)
    coming = [SchoolBreak(i, date(2026, 4, i), date(2026, 4, i)) for i in range(1, MAX_BREAKS + 1)]
    with pytest.raises(BreakError, match="already 25 current and coming breaks"):
        check_new_break(date(2026, 5, 1), date(2026, 5, 2), "", TODAY, coming)


def test_which_break_covers_a_day_and_which_is_shown():
    spring = SchoolBreak(2, date(2026, 4, 6), date(2026, 4, 10))
    assert break_on(date(2026, 12, 21), [spring, WINTER]) == WINTER
    assert break_on(date(2027, 1, 1), [spring, WINTER]) == WINTER
    assert break_on(date(2027, 1, 2), [spring, WINTER]) is None
    assert current_or_next(TODAY, [WINTER, spring]) == spring
    assert current_or_next(date(2026, 4, 8), [WINTER, spring]) == spring
    assert current_or_next(date(2027, 1, 2), [WINTER, spring]) is None


# -- the service --------------------------------------------------------------------------------


@pytest.fixture
async def env(fresh_database):
    services = await open_test_services(await fresh_database(), FakeClock(START))
    transport = FakeTransport(services.clock)
    services.outbox.attach(transport)
    await services.guilds.joined(G)
    yield services, transport
    await services.scheduler.stop()
    await services.outbox.stop()
    await services.db.close()


async def test_breaks_are_added_listed_and_removed_per_guild(env):
    services, _ = env
    breaks = services.breaks
    winter = await breaks.add(G, "2026-12-21", "2027-01-01", "  Winter   break ")
    spring = await breaks.add(G, "2026-04-06", "2026-04-10", "")
    assert winter.note == "Winter break" and winter.days == 12
    assert [b.id for b in await breaks.coming(G)] == [spring.id, winter.id]
    with pytest.raises(UserError, match=f"overlaps break #{winter.id}"):
        await breaks.add(G, "2027-01-01", "2027-01-03", "")
    with pytest.raises(UserError, match="The end `soon` is not a date"):
        await breaks.add(G, "2027-01-01", "soon", "")
    await services.guilds.joined(G + 1)
    with pytest.raises(UserError, match=f"no break #{winter.id} here"):
        await breaks.remove(G + 1, winter.id)  # another guild's id
    assert (await breaks.remove(G, winter.id)).id == winter.id
    assert [b.id for b in await breaks.coming(G)] == [spring.id]


async def test_status_shows_the_next_break_then_the_current_one(env):
    services, _ = env
    status = await services.breaks.status(G, None)
    assert not status.enabled
    added = await services.breaks.add(G, "2026-03-09", "2026-03-13", "Spring")
    status = await services.breaks.status(G, None)
    assert status.summary == f"next break #{added.id} 2026-03-09 to 2026-03-13 (Spring)"
    services.clock.set(datetime(2026, 3, 10, 9, tzinfo=UTC))
    status = await services.breaks.status(G, 5)
    assert status.summary.startswith("on break now")
    assert status.summary.endswith("back on 2026-03-14")
    services.clock.set(datetime(2026, 3, 14, 0, tzinfo=UTC))
    assert not (await services.breaks.status(G, None)).enabled  # over: history


async def test_a_break_posts_no_prompt_records_no_skip_and_posting_resumes_after(env):
    services, transport = env
    await services.prompts.schedule.configure(
        G, channel_id=CHANNEL, time_text="13:00", weekends=False, threads=True, role_id=None
    )
    await services.breaks.add(G, "2026-03-03", "2026-03-05", "Mid-term")  # Tue-Thu
    for day in range(5):  # Monday to Friday at 13:00
        services.clock.set(datetime(2026, 3, 2 + day, 13, tzinfo=UTC))
        await run_due(services)
    rows = await services.db.fetchall(
        "SELECT local_date, status FROM prompt_posts WHERE guild_id = ? ORDER BY local_date", (G,)
    )
    assert [(r["local_date"], r["status"]) for r in rows] == [
        ("2026-03-02", "sent"),
        ("2026-03-06", "sent"),
    ]
    assert len([m for m in transport.messages if m.kind == "prompt.post"]) == 2
    assert await services.prompts.problems(G) == []  # nothing reported as missed


async def test_a_round_slot_in_a_break_is_skipped_not_caught_up(env):
    services, transport = env

    class Everyone:
        async def present(self, guild_id, user_ids, role_id):
            return set(user_ids)

    services.pairing.rounds.attach(Everyone())
    first = await services.pairing.schedule.configure(
        G, channel_id=CHANNEL, cadence="weekly", weekday=2, time_text="09:00", role_id=None
    )
    for user_id in (1, 2):
        await services.pairing.membership.join(G, user_id, frozenset())
    await services.breaks.add(G, "2026-03-04", "2026-03-04", "")  # the first slot's date
    services.clock.set(first)
    await run_due(services)
    assert await services.db.fetchval("SELECT COUNT(*) FROM pairing_rounds") == 0
    assert await services.scheduler.due_at(round_job_key(G)) == first + timedelta(weeks=1)
    services.clock.set(first + timedelta(days=1))  # the day after the break: no catch-up
    await run_due(services)
    assert await services.db.fetchval("SELECT COUNT(*) FROM pairing_rounds") == 0
    services.clock.set(first + timedelta(weeks=1))
    await run_due(services)
    intros = [m.user_id for m in transport.messages if m.kind == "pairing.intro"]
    assert sorted(intros) == [1, 2]


async def test_no_checkin_is_sent_during_a_break(env):
    services, transport = env

    class Everyone:
        async def present(self, guild_id, user_ids, role_id):
            return set(user_ids)

    services.pairing.rounds.attach(Everyone())
    await services.pairing.schedule.configure(
        G, channel_id=CHANNEL, cadence="weekly", weekday=2, time_text="09:00", role_id=None
    )
    for user_id in (1, 2):
        await services.pairing.membership.join(G, user_id, frozenset())
    started = await services.pairing.rounds.run_now(G, 77)
    checkin_at = await services.scheduler.due_at(f"pairing.checkin:{started.round_id}")
    assert checkin_at is not None
    day = checkin_at.date().isoformat()
    await services.breaks.add(G, day, day, "")
    services.clock.set(checkin_at)
    await run_due(services)
    assert [m for m in transport.messages if m.kind == "pairing.checkin"] == []
    assert await services.scheduler.due_at(f"pairing.checkin:{started.round_id}") is None


async def test_a_break_is_the_guilds_local_dates_not_utc_ones(env):
    services, _ = env
    await services.guilds.set_timezone(G, "Pacific/Auckland")  # UTC+13 in March
    await services.prompts.schedule.configure(
        G, channel_id=CHANNEL, time_text="08:00", weekends=False, threads=True, role_id=None
    )
    await services.breaks.add(G, "2026-03-04", "2026-03-04", "")  # a Wednesday in Auckland
    # 08:00 in Auckland on Wednesday 4 March is 19:00 UTC on Tuesday 3 March.
    for moment in (datetime(2026, 3, 2, 19, tzinfo=UTC), datetime(2026, 3, 3, 19, tzinfo=UTC)):
        services.clock.set(moment)
        await run_due(services)
    rows = await services.db.fetchall("SELECT local_date FROM prompt_posts ORDER BY local_date")
    assert [r["local_date"] for r in rows] == ["2026-03-03"]
    assert (await services.breaks.at(G, datetime(2026, 3, 3, 19, tzinfo=UTC))) is not None
    assert (await services.breaks.at(G, datetime(2026, 3, 3, 10, tzinfo=UTC))) is None
