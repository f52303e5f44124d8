"""`/pair pause until:YYYY-MM-DD`: the pause ends at the start of that local date (within a
year), exactly one of `weeks` and `until` is given, and the member is back in the pool then."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.errors import UserError
from bot.pairing.membership import pause_end
from tests.support.clock import FakeClock
from tests.support.db import START, open_test_services

pytestmark = pytest.mark.backends("sqlite", "postgres")

GUILD = 500
CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2026, 12, 18, 20, 0, tzinfo=UTC)  # Friday 14:00 in Chicago


def test_until_ends_the_pause_at_local_midnight_of_that_date():
    assert pause_end(NOW, CHICAGO, weeks=None, until="2027-01-04") == datetime(
        2027, 1, 4, 6, 0, tzinfo=UTC
    )
    assert pause_end(NOW, CHICAGO, weeks=2, until=None) == NOW + timedelta(weeks=2)


@pytest.mark.parametrize(
    ("weeks", "until", "problem"),
    [
        (None, None, "either `weeks`"),
        (2, "2027-01-04", "not both or neither"),
        (13, None, "1 to 12 weeks"),
        (None, "4 January", "`4 January` is not a date"),
        (None, "2026-12-18", "a date after today \\(2026-12-18\\)"),
        (None, "2027-12-19", "within a year, up to 2027-12-18"),
    ],
)
def test_bad_pauses_are_refused_with_the_reason(weeks, until, problem):
    with pytest.raises(UserError, match=problem):
        pause_end(NOW, CHICAGO, weeks=weeks, until=until)


def test_a_pause_may_end_tomorrow_or_a_year_ahead():
    pause_end(NOW, CHICAGO, weeks=None, until="2026-12-19")
    pause_end(NOW, CHICAGO, weeks=None, until="2027-12-18")


async def test_a_member_paused_until_a_date_is_back_in_the_pool_on_that_date(fresh_database):
    clock = FakeClock(START)
    services = await open_test_services(await fresh_database(), clock)

    class Everyone:
        async def present(self, guild_id, user_ids, role_id):
            return set(user_ids)

    try:
        services.pairing.rounds.attach(Everyone())
        await services.guilds.set_timezone(GUILD, "America/Chicago")
        for user_id in (1, 2):
            await services.pairing.membership.join(GUILD, user_id, frozenset())
        resume_at = await services.pairing.membership.pause_member(GUILD, 2, until="2026-03-09")
        assert resume_at == datetime(2026, 3, 9, 5, 0, tzinfo=UTC)  # CDT: DST began on 8 March
        assert await services.pairing.rounds.pool(GUILD) == [1]
        status = await services.pairing.membership.member_status(GUILD, 2)
        assert status.paused_until == resume_at
        clock.set(resume_at - timedelta(seconds=1))
        assert await services.pairing.rounds.pool(GUILD) == [1]
        clock.set(resume_at)
        assert await services.pairing.rounds.pool(GUILD) == [1, 2]
        with pytest.raises(UserError, match="not in pairing rounds"):
            await services.pairing.membership.pause_member(GUILD, 3, until="2026-04-01")
    finally:
        await services.scheduler.stop()
        await services.outbox.stop()
        await services.db.close()
