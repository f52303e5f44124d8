"""Meeting times as members use them, through the fake Discord server.

Two members in different timezones set their availability; the round's intros propose the same
instants; both press the same time (one before a restart, one after) and each gets one
confirmation, then one reminder 30 minutes before on the fake clock, whatever the duplicates
and restarts. A member with closed DMs picks in the private thread. `/pair history` with a
mutual "Meet again" makes a repeat pair happen in a pool of four.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.e2e.test_pairing_rounds import intros, partners_in, run_now, setup_pairing
from tests.e2e.test_prompt_doors import ANN, BEN, post_today, press_talk
from tests.fakediscord.fixtures import World

CONFIRMED = "It's set"
REMINDER = "Reminder: you are meeting"


def slots_in(message) -> list[datetime]:
    """The proposed instants an intro shows (Discord timestamps, full format)."""
    return [datetime.fromtimestamp(int(t), UTC) for t in re.findall(r"<t:(\d+):F>", message.text)]


def slot_button(message, index: int | str) -> str:
    return next(c for c in message.custom_ids() if re.fullmatch(rf"kindred:slot:\d+:{index}", c))


def notes(fake, user_id: int, words: str) -> list:
    return [m for m in fake.dms_to(user_id) if words in m.content]


async def zones(kindred, chicago: int, berlin: int) -> None:
    """Chicago weekday mornings, Berlin weekday evenings (they overlap 17:00-20:00 Berlin)."""
    typo = await kindred.reply(chicago, "pair timezone", name="America/Chicgo")
    assert typo.ephemeral and "Did you mean `America/Chicago`" in typo.content
    for user_id, zone, when in (
        (chicago, "America/Chicago", "weekdays 9:00-13:00"),
        (berlin, "Europe/Berlin", "Mon-Fri 17:00-21:00"),
    ):
        done = await kindred.reply(user_id, "pair timezone", name=zone)
        assert done.ephemeral and f"**{zone}**" in done.content
        saved = await kindred.reply(user_id, "pair availability", when=when)
        assert saved.ephemeral and "Saved: `Mon-Fri" in saved.content, saved.content


async def test_both_pick_the_same_time_one_confirmation_and_one_reminder_each(kindred):
    fake = kindred.fake
    chicago, berlin, outsider = World.MEMBERS[:3]
    bad = await kindred.reply(chicago, "pair availability", when="Mondy 10:00-11:00")
    assert bad.ephemeral and "`Mondy" in bad.content and "Mon-Thu 16:00-18:00" in bad.content
    await zones(kindred, chicago, berlin)
    await setup_pairing(kindred, chicago, berlin)
    await run_now(kindred)
    [intro_c], [intro_b] = intros(fake, chicago), intros(fake, berlin)
    slots = slots_in(intro_c)
    assert slots and slots == slots_in(intro_b)  # the same instants; each reader sees local time
    assert slot_button(intro_c, 0) == slot_button(intro_b, 0)
    assert slot_button(intro_c, "none")

    pressed = await (await kindred.click(intro_c, slot_button(intro_c, 0), chicago)).response()
    assert pressed.ephemeral and "works for you" in pressed.content
    stranger = await (await kindred.click(intro_c, slot_button(intro_c, 0), outsider)).response()
    assert stranger.ephemeral and "someone else's pairing" in stranger.content

    await kindred.restart()  # between the two picks
    done = await (await kindred.click(intro_b, slot_button(intro_b, 0), berlin)).response()
    assert "Confirmed" in done.content
    again = await (await kindred.click(intro_b, slot_button(intro_b, 0), berlin)).response()
    assert "already confirmed" in again.content
    await kindred.settle()
    for user_id in (chicago, berlin):
        [note] = notes(fake, user_id, CONFIRMED)
        assert f"<t:{int(slots[0].timestamp())}:F>" in note.content and not note.pinged_user_ids
    status = await kindred.reply(berlin, "pair status")
    assert "confirmed" in status.content and "Europe/Berlin" in status.content

    await kindred.set_time(slots[0] - timedelta(minutes=31))
    assert notes(fake, chicago, REMINDER) == []
    await kindred.advance(timedelta(minutes=1))
    await kindred.restart()
    await kindred.advance(timedelta(minutes=10))
    for user_id in (chicago, berlin):
        assert len(notes(fake, user_id, REMINDER)) == 1
        assert len([a for a in fake.dm_attempts_to(user_id) if REMINDER in a.content]) == 1
        assert len(notes(fake, user_id, CONFIRMED)) == 1
    stats = str((await kindred.reply(World.ADMIN, "admin pairing stats")).embeds)
    assert "60+ minutes of weekly overlap: 1 of 1" in stats and "Confirmed a time: 1 of 1" in stats


async def test_a_member_with_closed_dms_picks_in_the_private_thread(kindred):
    fake = kindred.fake
    open_dms, closed = World.MEMBERS[:2]
    await setup_pairing(kindred, open_dms, closed)
    fake.set_dms_closed(closed)
    await run_now(kindred)
    [thread] = fake.threads
    [welcome] = fake.channel_messages(thread.id)
    [intro] = intros(fake, open_dms)
    assert slots_in(welcome) == slots_in(intro) and slots_in(intro)
    picked = await (await kindred.click(welcome, slot_button(welcome, 1), closed)).response()
    assert picked.ephemeral and "works for you" in picked.content
    await kindred.click(intro, slot_button(intro, 1), open_dms)
    await kindred.settle()
    assert len(notes(fake, open_dms, CONFIRMED)) == 1
    told = [m for m in fake.channel_messages(thread.id) if CONFIRMED in m.content]
    assert len(told) == 1 and not told[0].pinged_user_ids


async def test_history_and_a_mutual_meet_again_repeat_a_pair(kindred):
    fake = kindred.fake
    four = World.MEMBERS[:4]
    await setup_pairing(kindred, *four)
    for _ in range(3):  # every pair of the four has met
        await run_now(kindred)
    a = four[0]
    [b] = partners_in(intros(fake, a)[-1])  # met in the last round: the least likely repeat

    async def choose(me: int, partner: int):
        shown = await kindred.reply(me, "pair history")
        assert shown.ephemeral and "Page 1 of 1" in shown.text
        number = re.search(rf"\[(\d+)\] <@{partner}>", shown.text)
        assert number is not None, shown.text
        toggle = next(
            c["custom_id"]
            for row in shown.components
            for c in row["components"]
            if c.get("label", "").endswith(f"Meet again [{number[1]}]")
        )
        other = await (await kindred.click(shown, toggle, World.ADMIN)).response()
        assert other.ephemeral and "someone else's command" in other.content
        done = await (await kindred.click(shown, toggle, me)).response()
        assert "Meet again** (only you see this" in done.text and "nobody chosen" not in done.text

    await choose(a, b)
    assert all(f"<@{a}>" not in m.text for m in fake.dms_to(b)[3:])  # nobody is told
    await choose(b, a)
    await run_now(kindred)
    assert partners_in(intros(fake, a)[-1]) == {b}


async def test_timezone_autocompletes_and_privacy_shows_and_forgets_a_members_times(kindred):
    member = World.MEMBERS[0]
    choices = await kindred.fake.autocomplete(
        World.GUILD, member, "pair timezone", focused="name", name="berl"
    )
    assert "Europe/Berlin" in [c["value"] for c in choices]
    await kindred.reply(member, "pair timezone", name="Europe/Berlin")
    await kindred.reply(member, "pair availability", when="Sat 09:00-12:00")
    status = await kindred.reply(member, "pair status")
    assert "**Europe/Berlin**" in status.content and "`Sat 09:00-12:00`" in status.content
    shown = await kindred.reply(member, "privacy show")
    assert "1 × your pairing timezone and availability" in shown.content
    [attachment] = shown.attachments
    assert "Europe/Berlin" in attachment.data.decode()

    prompt = await kindred.reply(member, "privacy forget")
    confirm, _cancel = prompt.custom_ids()
    await (await kindred.click(prompt, confirm, member)).response()
    status = await kindred.reply(member, "pair status")
    assert "UTC** (this server's" in status.content and "07:00-21:00 every day" in status.content
    cleared = await kindred.reply(member, "privacy show")
    assert "timezone" not in cleared.content


async def test_history_pages_with_next_and_previous(kindred):
    a, b = World.MEMBERS[:2]
    await setup_pairing(kindred, a, b)
    for _ in range(6):
        await run_now(kindred)
    first = await kindred.reply(a, "pair history")
    assert "Page 1 of 2" in first.text and first.text.count(f"<@{b}>") == 5

    def button(message, label: str) -> str:
        return next(
            c["custom_id"]
            for row in message.components
            for c in row["components"]
            if c.get("label") == label
        )

    second = await (await kindred.click(first, button(first, "Next"), a)).response()
    assert "Page 2 of 2" in second.text and second.text.count(f"<@{b}>") == 1
    back = await (await kindred.click(second, button(second, "Previous"), a)).response()
    assert "Page 1 of 2" in back.text


async def test_a_pair_without_a_common_time_is_told_so_with_each_local_time(kindred):
    fake = kindred.fake
    tokyo, chicago = World.MEMBERS[:2]
    for user_id, zone, when in (
        (tokyo, "Asia/Tokyo", "Sat 09:00-10:00"),
        (chicago, "America/Chicago", "Sat 09:00-10:00"),
    ):
        await kindred.reply(user_id, "pair timezone", name=zone)
        await kindred.reply(user_id, "pair availability", when=when)
    await setup_pairing(kindred, tokyo, chicago)
    await run_now(kindred)
    [intro] = intros(fake, tokyo)
    assert "No common time" in intro.content and slots_in(intro) == []
    # Monday 12:00 UTC is 21:00 in Tokyo and 06:00 in Chicago.
    assert "- you: Mon 21:00 (Asia/Tokyo)" in intro.content
    assert f"- <@{chicago}>: Mon 06:00 (America/Chicago)" in intro.content
    assert not [c for c in intro.custom_ids() if c.startswith("kindred:slot:")]
    assert [c for c in intro.custom_ids() if c.startswith("kindred:checkin:")]


async def test_a_talk_pairing_proposes_times_and_confirms_them_like_a_round(kindred):
    fake = kindred.fake
    post = await post_today(kindred, talk_hours=3)
    for user_id in (ANN, BEN):
        assert "on today's talk list" in await press_talk(kindred, post, user_id)
    await kindred.advance(timedelta(hours=3))
    [to_ann], [to_ben] = fake.dms_to(ANN), fake.dms_to(BEN)
    assert slots_in(to_ann) and slots_in(to_ann) == slots_in(to_ben)
    assert not [c for c in to_ann.custom_ids() if c.startswith("kindred:checkin:")]
    for user_id, intro in ((ANN, to_ann), (BEN, to_ben)):
        await (await kindred.click(intro, slot_button(intro, 2), user_id)).response()
    await kindred.settle()
    assert len(notes(fake, ANN, CONFIRMED)) == len(notes(fake, BEN, CONFIRMED)) == 1
