"""School breaks and `/pair pause until` through the fake Discord on a fake clock: a break over
a Monday-Friday posts no prompt and runs no round those days and everything resumes after; a
member paused until a date is back in the round on that date."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.fakediscord.fixtures import World

pytestmark = pytest.mark.backends("sqlite", "postgres")

ANN, BEN, CAL, DAN = World.MEMBERS[:4]
INTRO = "Your pairing this round"


def prompt_days(kindred) -> list[str]:
    posts = [m for m in kindred.fake.channel_messages(World.PROMPTS) if m.nonce]
    return [p.embeds[0]["footer"]["text"].split(" · ")[0] for p in posts]


def intros(kindred, user_id: int) -> int:
    return len([m for m in kindred.fake.dms_to(user_id) if INTRO in m.content])


async def test_a_week_long_break_posts_and_pairs_nothing_and_everything_resumes_after(kindred):
    admin = World.ADMIN
    reply = await kindred.reply(
        admin, "admin prompts schedule", channel=World.PROMPTS, time="13:00"
    )
    assert "Daily prompts are on" in reply.content
    reply = await kindred.reply(
        admin,
        "admin pairing schedule",
        channel=World.PAIRING,
        cadence="weekly",
        weekday=2,
        time="09:00",
    )
    assert "Pairing rounds are on" in reply.content
    for user_id in (ANN, BEN, CAL, DAN):
        assert "You're in" in (await kindred.reply(user_id, "pair join")).content
    paused = await kindred.reply(DAN, "pair pause", until="2026-03-16")
    assert paused.ephemeral and "Paused until" in paused.content
    both = await kindred.reply(DAN, "pair pause", weeks=2, until="2026-03-16")
    assert "not both or neither" in both.content

    added = await kindred.reply(
        admin, "admin breaks add", start="2026-03-09", end="2026-03-13", note="Spring break"
    )
    assert added.ephemeral and "#1 2026-03-09 to 2026-03-13 (Spring break) added" in added.content
    overlap = await kindred.reply(admin, "admin breaks add", start="2026-03-13", end="2026-03-20")
    assert "overlaps break #1" in overlap.content
    past = await kindred.reply(admin, "admin breaks add", start="2026-03-01", end="2026-03-03")
    assert "in the past" in past.content
    shown = await kindred.reply(admin, "admin show")
    assert "next break #1 2026-03-09 to 2026-03-13 (Spring break)" in shown.text
    assert "#1 2026-03-09" in (await kindred.reply(admin, "admin breaks list")).content

    day = datetime(2026, 3, 2, 13, 30, tzinfo=UTC)  # Monday
    for _ in range(19):  # three weeks of afternoons, and the Wednesday rounds at 09:00
        await kindred.set_time(day - timedelta(hours=4, minutes=30))
        await kindred.set_time(day)
        if day.date().isoformat() == "2026-03-10":
            about = await kindred.reply(ANN, "about")
            assert "on break now" in about.text and "back on 2026-03-14" in about.text
        day += timedelta(days=1)

    assert prompt_days(kindred) == [
        "Monday 02 March 2026",
        "Tuesday 03 March 2026",
        "Wednesday 04 March 2026",
        "Thursday 05 March 2026",
        "Friday 06 March 2026",
        "Monday 16 March 2026",
        "Tuesday 17 March 2026",
        "Wednesday 18 March 2026",
        "Thursday 19 March 2026",
        "Friday 20 March 2026",
    ]
    # Rounds on 4 March and 18 March; 11 March was in the break and is not caught up.
    assert [intros(kindred, u) for u in (ANN, BEN, CAL)] == [2, 2, 2]
    assert intros(kindred, DAN) == 1  # paused until 16 March: back for the 18 March round
    removed = await kindred.reply(admin, "admin breaks remove", break_id=1)
    assert "removed" in removed.content
    assert "no break #1" in (await kindred.reply(admin, "admin breaks remove", break_id=1)).content
