"""What pairing messages say. Plain text, friendly and short; mentions never ping (none allowed)."""

from __future__ import annotations

from datetime import datetime

import discord

from bot.pairing.models import (
    Announcement,
    CheckIn,
    Intro,
    MemberStatus,
    Notice,
    PairingStats,
    RoundPlan,
)

COLOR = discord.Color.blurple()
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
    return f"{opening}\n\n{_why(intro.shared_topics)}{starter}\n{HOW_TO_MEET}\n\n{CHECKIN_HINT}"


def checkin_text(checkin: CheckIn, guild_name: str) -> str:
    with_whom = f" with {mentions(checkin.partner_ids)}" if checkin.partner_ids else ""
    return (
        f"Halfway check-in for your pairing{with_whom} in **{guild_name}**: have you met yet? "
        "Whatever the answer, thanks for taking part."
    )


def notice_text(notice: Notice, guild_name: str) -> str:
    if notice.kind == "rematched":
        return (
            f"Good news from **{guild_name}**: a partner became free, so for the rest of this "
            f"round you are paired with {mentions(notice.partner_ids)}. Say hello!\n\n"
            f"{HOW_TO_MEET}"
        )
    left = f"<@{notice.departed_user_id}> has left **{guild_name}**"
    if notice.partner_ids:
        return f"{left}. For the rest of this round your partner is {mentions(notice.partner_ids)}."
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


def status_text(status: MemberStatus) -> str:
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
    if status.next_round_at is not None:
        lines.append(f"Next round: {when(status.next_round_at)}.")
    else:
        lines.append("No round is scheduled right now.")
    if status.avoiding:
        lines.append(f"You avoid {status.avoiding} member(s) (only you can see this).")
    return "\n".join(lines)


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
