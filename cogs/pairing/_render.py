"""What pairing messages say. Plain text, friendly and short; mentions never ping (none allowed)."""

from __future__ import annotations

from datetime import datetime

import discord

from bot.pairing.member_times import MemberTimes
from bot.pairing.models import (
    Announcement,
    CheckIn,
    Intro,
    MeetingNote,
    MemberStatus,
    Notice,
    PairingStats,
    PickAck,
    ProposedTimes,
    RoundPlan,
)

COLOR = discord.Color.blurple()
MESSAGE_LIMIT = 2000  # Discord's limit on a message's content
PREVIEW_LINES = 40
ANSWER_WORDS = {"met": "you met", "not_yet": "not yet", "skipped": "skipped this round"}

HOW_TO_MEET = (
    "**How to meet:** send a message to say hello and find 20-30 minutes this week: a video "
    "call, a voice channel or a chat all work. No agenda needed; the starter above can open it."
)
CHECKIN_HINT = "When you've had a chance to meet, tap a button below (only Kindred sees it)."


def when(moment: datetime) -> str:
    return f"{discord.utils.format_dt(moment, 'F')} ({discord.utils.format_dt(moment, 'R')})"


def mentions(user_ids: tuple[int, ...]) -> str:
    """`<@a>`, `<@a> and <@b>`, `<@a>, <@b> and <@c>`."""
    names = [f"<@{u}>" for u in user_ids]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def quoted(text: str) -> str:
    return "\n".join(f"> {line}" for line in text.splitlines() or [""])


def _why(topics: tuple[str, ...]) -> str:
    if not topics:
        return ""
    listed = ", ".join(f"**{t}**" for t in topics)
    return (
        f"**Why you:** one of you asked for help with {listed} and the other offered it, "
        "so you may have a lot to share.\n"
    )


def intro_text(intro: Intro, guild_name: str) -> str:
    """The intro DM (one recipient) or the private-thread intro (the whole group)."""
    starter = f"**Conversation starter:**\n{quoted(intro.starter)}\n" if intro.starter else ""
    if intro.outcome == "alone":
        return (
            f"Hi! This pairing round in **{guild_name}**, you are the only one in the pool, so "
            "nobody else is available to pair with right now. You stay opted in and will be "
            f"paired as soon as others join with `/pair join`.\n\n{starter}"
        )
    if intro.outcome == "left_out":
        return (
            f"Hi! This pairing round in **{guild_name}** I could not find a partner for you: the "
            "combinations that were possible this time did not include you. That is nobody's "
            "doing, and you will be first in line next round.\n\n"
            f"{starter}Something to reflect on until then."
        )
    if len(intro.user_ids) > 1:
        opening = (
            f"Welcome {mentions(intro.user_ids)}! Kindred paired you this round in "
            f"**{guild_name}**. I am introducing you here because a direct message could "
            "not reach one of you."
        )
    else:
        opening = (
            f"Hi! Your pairing this round in **{guild_name}**: you are meeting "
            f"{mentions(intro.partner_ids)}."
        )
    times = times_text(intro.times, intro.user_ids) if intro.times else ""
    head = f"{opening}\n\n{_why(intro.shared_topics)}"
    return fitted(head, starter, f"\n{HOW_TO_MEET}\n\n{times}{CHECKIN_HINT}")


def fitted(head: str, quote: str, tail: str) -> str:
    """`head + quote + tail` within Discord's 2,000 characters: a long quoted prompt (a custom
    one may have 1,000) gives way to the meeting times, shortened with an ellipsis."""
    excess = len(head) + len(quote) + len(tail) - MESSAGE_LIMIT
    if excess > 0:
        quote = quote[: len(quote) - excess - 2] + "…\n"
    return f"{head}{quote}{tail}"


def times_text(times: ProposedTimes, recipients: tuple[int, ...]) -> str:
    """The proposed times (each reader sees their own local time), or, without a common time,
    each member's local time now."""
    if times.slots:
        lines = [
            f"**{k}.** {discord.utils.format_dt(at, 'F')} ({discord.utils.format_dt(at, 'R')})"
            for k, at in enumerate(times.slots, start=1)
        ]
        return (
            "**Times that suit you all** (30 minutes, shown in your own time):\n"
            + "\n".join(lines)
            + "\nTap **Works for me** on one. When everyone has picked the same time, I'll "
            "confirm it to each of you and remind you 30 minutes before.\n\n"
        )
    lines = [
        f"- {'you' if recipients == (user_id,) else f'<@{user_id}>'}: {clock} ({zone})"
        for user_id, clock, zone in times.local_now
    ]
    return (
        "**No common time:** I found no half hour in the coming week when you are all free, "
        "so please arrange one between you. Local time for each of you when this round "
        "started:\n" + "\n".join(lines) + "\n\n"
    )


def pick_text(ack: PickAck) -> str:
    """The reply to a "Works for me" / "None of these" press (only the presser sees it)."""
    if ack.already_confirmed and ack.confirmed_at is not None:
        return f"Your meeting time is already confirmed: {when(ack.confirmed_at)}."
    if ack.slot is None:
        return (
            "Noted: none of these times works for you. Message your partner to find another; "
            "you can still pick one of the times above."
        )
    if ack.confirmed_at is not None:
        return (
            f"Confirmed: everyone picked {when(ack.confirmed_at)}. Confirmation DMs are on the way."
        )
    waiting = "your partner" if ack.waiting_for == 1 else f"{ack.waiting_for} partners"
    return (
        f"Noted: {when(ack.slot)} works for you. I'll confirm it when {waiting} picks it too; "
        "you can change your pick until then."
    )


def meeting_note_text(note: MeetingNote, guild_name: str) -> str:
    """A confirmation or a reminder of a group's meeting time."""
    at = f"{discord.utils.format_dt(note.at, 'F')} ({discord.utils.format_dt(note.at, 'R')})"
    with_whom = mentions(note.partner_ids if len(note.user_ids) == 1 else note.user_ids)
    if note.reminder:
        return f"Reminder: you are meeting {with_whom} ({guild_name}) {at}. Enjoy the conversation!"
    return (
        f"It's set: everyone picked {at} for your meeting with {with_whom} in **{guild_name}**. "
        "I'll remind you 30 minutes before."
    )


def checkin_text(checkin: CheckIn, guild_name: str) -> str:
    with_whom = f" with {mentions(checkin.partner_ids)}" if checkin.partner_ids else ""
    return (
        f"Halfway check-in for your pairing{with_whom} in **{guild_name}**: have you met yet? "
        "Whatever the answer, thanks for taking part."
    )


def notice_text(notice: Notice, guild_name: str) -> str:
    """A change during the round; a new group also gets its proposed meeting times."""
    times = times_text(notice.times, (notice.user_id,)).rstrip() if notice.times else ""
    if notice.kind == "rematched":
        return (
            f"Good news from **{guild_name}**: a partner became free, so for the rest of this "
            f"round you are paired with {mentions(notice.partner_ids)}. Say hello!\n\n"
            f"{HOW_TO_MEET}" + (f"\n\n{times}" if times else "")
        )
    left = f"<@{notice.departed_user_id}> has left **{guild_name}**"
    if notice.partner_ids:
        return (
            f"{left}. For the rest of this round your partner is {mentions(notice.partner_ids)}."
            + (f"\n\n{times}" if times else "")
        )
    return (
        f"{left}, so you have no partner for the rest of this round. Sorry about that: you "
        "will be first in line next round."
    )


def announcement_text(a: Announcement) -> str:
    groups = []
    if a.pairs:
        groups.append(f"{a.pairs} pair{'s' if a.pairs != 1 else ''}")
    if a.trios:
        groups.append(f"{a.trios} trio{'s' if a.trios != 1 else ''}")
    placed = " and ".join(groups) or "no groups"
    return (
        f"A new pairing round has started: {a.members} member{'s' if a.members != 1 else ''}, "
        f"{placed}. Check your DMs for your intro! Check-ins come "
        f"{discord.utils.format_dt(a.checkin_at, 'R')}. Want in next time? `/pair join`."
    )


def plan_lines(plan: RoundPlan) -> list[str]:
    lines = []
    for members, topics in zip(plan.groups, plan.shared_topics, strict=True):
        why = f" ({', '.join(topics)})" if topics else ""
        lines.append(f"- {mentions(members)}{why}")
    if len(lines) > PREVIEW_LINES:
        lines = [*lines[:PREVIEW_LINES], f"... and {len(lines) - PREVIEW_LINES} more groups"]
    if plan.left_out:
        label = "Nobody else available" if plan.pool_size == 1 else "Left out (blocks)"
        lines.append(f"{label}: {mentions(plan.left_out[:PREVIEW_LINES])}")
    return lines


def status_text(status: MemberStatus, times: MemberTimes) -> str:
    if not status.opted_in:
        lines = ["You are **not opted in** to pairing. `/pair join` to take part."]
    elif status.paused_until is not None:
        lines = [f"You are opted in, **paused** until {when(status.paused_until)}."]
    else:
        lines = ["You are **opted in**."]
    if status.partner_ids:
        lines.append(f"This round you are paired with {mentions(status.partner_ids)}.")
    elif status.round_started_at is not None:
        lines.append("You have no partner in the current round.")
    if status.confirmed_at is not None:
        lines.append(f"Your meeting time is confirmed: {when(status.confirmed_at)}.")
    lines.append(times_line(times))
    if status.next_round_at is not None:
        lines.append(f"Next round: {when(status.next_round_at)}.")
    else:
        lines.append("No round is scheduled right now.")
    if status.avoiding:
        lines.append(f"You avoid {status.avoiding} member(s) (only you can see this).")
    return "\n".join(lines)


def times_line(times: MemberTimes) -> str:
    """A member's timezone and windows, as `/pair status` shows them."""
    whose = "" if times.own_zone else " (this server's; `/pair timezone` sets yours)"
    zone = f"**{times.zone.key}**{whose}"
    windows = (
        f"`{times.windows.to_text()}`"
        if times.windows is not None and times.windows.bits
        else "07:00-21:00 every day (the default; `/pair availability`)"
    )
    return f"Your timezone: {zone}. Free to meet: {windows}."


def _share(part: int, whole: int) -> str:
    return f"{part} of {whole} ({round(100 * part / whole)} %)" if whole else "none yet"


def stats_embed(stats: PairingStats) -> discord.Embed:
    embed = discord.Embed(title="Pairing", color=COLOR)
    last = f"\nLast round {when(stats.last_round_at)}" if stats.last_round_at else ""
    embed.add_field(
        name="Rounds",
        value=f"{stats.rounds} rounds: {stats.pairs} pairs, {stats.trios} trios{last}",
        inline=False,
    )
    embed.add_field(
        name="Check-ins",
        value=(
            f"We met: {stats.met} · Not yet: {stats.not_yet} · Skipped: {stats.skipped} · "
            f"No answer yet: {stats.unanswered}"
        ),
        inline=False,
    )
    embed.add_field(
        name="Meeting times (groups)",
        value=(
            f"60+ minutes of weekly overlap: {_share(stats.with_overlap, stats.overlap_known)}\n"
            f"Confirmed a time: {_share(stats.confirmed, stats.groups)}\n"
            f'Check-in said "We met": {_share(stats.groups_met, stats.groups)}'
        ),
        inline=False,
    )
    if stats.undelivered:
        lines = [
            f"- <@{u.user_id}>: {u.kind.replace('_', ' ')} of round {u.round_id}"
            for u in stats.undelivered[:20]
        ]
        if len(stats.undelivered) > 20:
            lines.append(f"... and {len(stats.undelivered) - 20} more")
        embed.add_field(
            name="Undelivered (DMs closed and no private thread possible)",
            value="\n".join(lines),
            inline=False,
        )
    else:
        embed.add_field(name="Undelivered", value="None", inline=False)
    return embed
