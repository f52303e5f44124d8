"""Pairing as members and admins use it, through the fake Discord server.

Members opt in with `/pair join`, an admin schedules rounds and runs one now, and the intros
arrive as DMs (or in a private thread when DMs are closed); check-in buttons keep working after
a restart, and a bot killed mid-round notifies everyone exactly once after it comes back.
"""

from __future__ import annotations

import re
from datetime import timedelta

from tests.fakediscord.fixtures import World
from tests.fakediscord.payloads import CREATE_PRIVATE_THREADS, SEND_MESSAGES

EXTRA = (2007, 2008)  # the standard world has five members; two more make seven
SEVEN = (*World.MEMBERS, *EXTRA)
INTRO = "Your pairing this round"
CHECKIN = "Halfway check-in"


async def setup_pairing(kindred, *members: int) -> None:
    """Schedule weekly rounds on Wednesday 09:00 and opt `members` in."""
    for user_id in members:
        if kindred.fake.member(World.GUILD, user_id) is None:
            await kindred.fake.member_join(World.GUILD, user_id, f"extra{user_id}")
    await kindred.settle()
    done = await kindred.reply(
        World.ADMIN,
        "admin pairing schedule",
        channel=World.PAIRING,
        cadence="weekly",
        weekday=2,
        time="09:00",
    )
    assert done.ephemeral and "Pairing rounds are on" in done.content, done.content
    for user_id in members:
        joined = await kindred.reply(user_id, "pair join")
        assert joined.ephemeral and "You're in" in joined.content


async def run_now(kindred) -> str:
    handle = await kindred.invoke(World.ADMIN, "admin pairing run-now")
    reply = await handle.response()
    assert reply.ephemeral
    await kindred.settle()
    return reply.content


def intros(fake, user_id: int) -> list:
    return [m for m in fake.dms_to(user_id) if INTRO in m.content]


def partners_in(message) -> set[int]:
    return {int(u) for u in re.findall(r"<@(\d+)>", message.content)}


def button(message, answer: str) -> str:
    return next(c for c in message.custom_ids() if c.endswith(f":{answer}"))


async def test_seven_members_get_two_pairs_and_a_trio_with_one_intro_each(kindred):
    fake = kindred.fake
    await setup_pairing(kindred, *SEVEN)
    summary = await run_now(kindred)
    assert "7 members in 2 pairs and 1 trios" in summary

    groups = set()
    for user_id in SEVEN:
        [intro] = fake.dms_to(user_id)  # exactly one DM each
        assert INTRO in intro.content and "Conversation starter" in intro.content
        assert not intro.pinged_user_ids and not intro.pings_everyone
        assert intro.nonce and len(str(intro.nonce)) <= 25
        assert {button(intro, a) for a in ("met", "not_yet", "skipped")}
        partners = partners_in(intro)
        assert user_id not in partners and partners <= set(SEVEN)
        groups.add(frozenset({user_id, *partners}))
    assert sorted(len(g) for g in groups) == [2, 2, 3]
    assert set().union(*groups) == set(SEVEN)
    [announcement] = fake.channel_messages(World.PAIRING)
    assert "2 pairs and 1 trio" in announcement.content
    # Each intro costs opening the DM channel and the message: no user lookups (the bot keeps
    # no member cache, and a lookup per DM would cost a third of the round's rate limit).
    assert not [r.path for r in fake.requests if re.search(r"/users/\d+", r.path)]


async def test_a_member_with_closed_dms_is_introduced_in_a_private_thread(kindred):
    fake = kindred.fake
    open_dms, closed = World.MEMBERS[:2]
    await setup_pairing(kindred, open_dms, closed)
    fake.set_dms_closed(closed)
    await run_now(kindred)

    [thread] = fake.threads
    assert thread.type == 12 and thread.parent_id == World.PAIRING  # private, in #pairing
    assert {open_dms, closed} <= thread.thread_member_ids
    [welcome] = fake.channel_messages(thread.id)
    assert partners_in(welcome) == {open_dms, closed} and not welcome.pinged_user_ids
    assert button(welcome, "met")
    assert len(intros(fake, open_dms)) == 1 and fake.dms_to(closed) == []
    stats = await kindred.reply(World.ADMIN, "admin pairing stats")
    assert "Undelivered" in str(stats.embeds) and "None" in str(stats.embeds)


async def test_an_intro_that_reaches_nobody_is_listed_in_stats(kindred):
    fake = kindred.fake
    a, b = World.MEMBERS[:2]
    await setup_pairing(kindred, a, b)
    fake.set_dms_closed(a)
    fake.set_dms_closed(b)
    # No announcement and no private thread either.
    fake.set_overwrite(World.PAIRING, World.BOT, deny=SEND_MESSAGES | CREATE_PRIVATE_THREADS)
    await run_now(kindred)
    assert fake.threads == [] and fake.dms_to(a) == fake.dms_to(b) == []
    stats = await kindred.reply(World.ADMIN, "admin pairing stats")
    listed = str(stats.embeds)
    assert f"<@{a}>: intro of round 1" in listed and f"<@{b}>: intro of round 1" in listed


async def test_avoid_is_confidential_and_honoured_round_after_round(kindred):
    fake = kindred.fake
    me, avoided, *others = World.MEMBERS[:4]
    await setup_pairing(kindred, me, avoided, *others)
    done = await kindred.reply(me, "pair avoid", member=avoided)
    assert done.ephemeral and "they are not told" in done.content
    assert fake.dms_to(avoided) == []
    for _ in range(3):
        await run_now(kindred)
    for intro in intros(fake, me):
        assert avoided not in partners_in(intro)
    assert len(intros(fake, me)) == 3 and fake.dms_to(avoided)  # both still paired each round
    assert all(f"<@{me}>" not in m.content for m in fake.dms_to(avoided))


async def test_status_pause_and_role(kindred):
    a, b, outsider = World.MEMBERS[:3]
    await setup_pairing(kindred, a, b)
    await run_now(kindred)
    status = await kindred.reply(a, "pair status")
    assert "opted in" in status.content and f"<@{b}>" in status.content
    assert "Next round: <t:" in status.content
    paused = await kindred.reply(a, "pair pause", weeks=2)
    assert "Paused until <t:" in paused.content
    assert "paused" in (await kindred.reply(a, "pair status")).content
    assert "not opted in" in (await kindred.reply(outsider, "pair status")).content

    await kindred.reply(
        World.ADMIN,
        "admin pairing schedule",
        channel=World.PAIRING,
        cadence="biweekly",
        weekday=0,
        time="17:30",
        role=World.PAIRING_ROLE,
    )
    refused = await kindred.reply(outsider, "pair join")
    assert refused.ephemeral and f"<@&{World.PAIRING_ROLE}>" in refused.content


async def test_checkin_buttons_work_after_a_restart(kindred):
    fake = kindred.fake
    a, b, outsider = World.MEMBERS[:3]
    await setup_pairing(kindred, a, b)
    await run_now(kindred)
    # Run now on Monday 12:00; next round Wednesday 09:00, so check-ins come Tuesday 10:30.
    await kindred.advance(timedelta(hours=22, minutes=29))
    assert not [m for m in fake.dms_to(a) if CHECKIN in m.content]
    await kindred.advance(timedelta(minutes=1))
    [checkin] = [m for m in fake.dms_to(a) if CHECKIN in m.content]
    assert len([m for m in fake.dms_to(b) if CHECKIN in m.content]) == 1

    await kindred.restart()
    pressed = await (await kindred.click(checkin, button(checkin, "met"), a)).response()
    assert pressed.ephemeral and "Recorded: you met" in pressed.content
    # The intro's buttons (sent before the restart) work too, and change the answer.
    [intro] = intros(fake, b)
    later = await (await kindred.click(intro, button(intro, "not_yet"), b)).response()
    assert "Recorded: not yet" in later.content
    stranger = await (await kindred.click(checkin, button(checkin, "met"), outsider)).response()
    assert stranger.ephemeral and "someone else" in stranger.content

    stats = str((await kindred.reply(World.ADMIN, "admin pairing stats")).embeds)
    assert "We met: 1" in stats and "Not yet: 1" in stats and "Skipped: 0" in stats


async def test_a_partner_leaving_is_told_and_rematched(kindred):
    fake = kindred.fake
    a, b, c, d = World.MEMBERS[:4]
    await setup_pairing(kindred, a, b, c, d)
    await run_now(kindred)
    partner_of = {u: partners_in(intros(fake, u)[0]) for u in (a, b, c, d)}
    [a_partner] = partner_of[a]
    other_pair_member = min({b, c, d} - {a_partner})
    # The leave arrives over the gateway and its handler runs on its own: wait for its DM.
    await fake.member_leave(World.GUILD, a_partner)
    await fake.wait_for(lambda f: any("has left" in m.content for m in f.dms_to(a)), timeout=10)
    await kindred.settle()
    told = [m for m in fake.dms_to(a) if "has left" in m.content]
    assert len(told) == 1 and "no partner" in told[0].content
    # The other pair also loses a member: the two left alone are paired together.
    [gone] = partner_of[other_pair_member]
    await fake.member_leave(World.GUILD, gone)
    await fake.wait_for(
        lambda f: (
            any(f"<@{other_pair_member}>" in m.content for m in f.dms_to(a)[1:])
            and any(f"<@{a}>" in m.content for m in f.dms_to(other_pair_member)[1:])
        ),
        timeout=10,
    )


async def test_a_bot_killed_mid_round_notifies_every_member_exactly_once(kindred):
    fake = kindred.fake
    await setup_pairing(kindred, *SEVEN)
    fake.set_global_rate_limit(6)  # slow sends, so the kill lands mid-round
    handle = await kindred.invoke(World.ADMIN, "admin pairing run-now")
    await handle.response()
    await fake.wait_for(lambda f: sum(len(intros(f, u)) for u in SEVEN) >= 2, timeout=10)
    await kindred.stop()  # the scheduler's delivery task is cancelled mid-flight
    sent_before = sum(len(intros(fake, u)) for u in SEVEN)
    assert 2 <= sent_before < 7

    fake.set_global_rate_limit(None)
    await kindred.start()
    await fake.wait_for(lambda f: all(intros(f, u) for u in SEVEN), timeout=10)
    await kindred.settle()
    assert {u: len(fake.dms_to(u)) for u in SEVEN} == {u: 1 for u in SEVEN}
    assert len(fake.channel_messages(World.PAIRING)) == 1


async def test_preview_lists_the_groups_and_sends_nothing(kindred):
    fake = kindred.fake
    await setup_pairing(kindred, *World.MEMBERS)
    before = len(fake.messages)
    handle = await kindred.invoke(World.ADMIN, "admin pairing preview")
    shown = await handle.response()
    assert shown.ephemeral and "nothing has been sent" in shown.content
    assert len(partners_in(shown)) == len(World.MEMBERS) and not shown.pinged_user_ids
    await kindred.settle()
    assert [m for m in fake.messages[before:] if not m.ephemeral] == []
    stats = str((await kindred.reply(World.ADMIN, "admin pairing stats")).embeds)
    assert "0 rounds" in stats


async def test_the_scheduled_round_runs_at_its_local_time(kindred):
    fake = kindred.fake
    await kindred.reply(World.ADMIN, "admin timezone", name="America/Chicago")
    await setup_pairing(kindred, *World.MEMBERS[:2])
    about = await kindred.reply(World.MEMBERS[0], "about")
    assert "Pairing" in str(about.embeds) and "weekly on Wednesday at 09:00" in str(about.embeds)
    # Wednesday 09:00 in Chicago (CST, UTC-6) is 15:00 UTC: 51 hours after Monday 12:00 UTC.
    await kindred.advance(timedelta(hours=50, minutes=59))
    assert fake.dms_to(World.MEMBERS[0]) == []
    await kindred.advance(timedelta(minutes=1))
    assert len(intros(fake, World.MEMBERS[0])) == len(intros(fake, World.MEMBERS[1])) == 1
