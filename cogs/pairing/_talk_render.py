"""How a "Talk 1:1 about this" intro reads: the day's prompt quoted, the partner(s) named, the
proposed meeting times (as in a round's intro), and a kind word for a member nobody else signed
up with."""

from __future__ import annotations

from bot.pairing.models import Intro

from ._render import fitted, mentions, quoted, times_text

TALK_HINT = (
    "Send a message to say hello and find 15-30 minutes in the next few days: a call, a voice "
    "channel or a chat all work. The prompt above is your agenda."
)


def talk_intro_text(intro: Intro, guild_name: str) -> str:
    """The intro of a talk pairing (a DM, or the group's private thread)."""
    prompt = f"**Today's prompt:**\n{quoted(intro.starter)}\n\n" if intro.starter else ""
    if intro.outcome == "alone":
        return (
            f"Hi! You asked to talk 1:1 about today's prompt in **{guild_name}**, and nobody "
            "else signed up today, so there is no partner this time. Thank you for offering: "
            "try again on another day's prompt, or share your thoughts in its thread.\n\n"
            f"{prompt}".rstrip()
        )
    if intro.outcome == "left_out":
        return (
            f"Hi! You asked to talk 1:1 about today's prompt in **{guild_name}**, but I could "
            "not make a pair that included you from today's list. That is nobody's doing; "
            f"try again on another day's prompt.\n\n{prompt}".rstrip()
        )
    if len(intro.user_ids) > 1:
        opening = (
            f"Welcome {mentions(intro.user_ids)}! You each asked to talk 1:1 about today's "
            f"prompt in **{guild_name}**. I am introducing you here because a direct message "
            "could not reach one of you."
        )
    else:
        opening = (
            f"Hi! You asked to talk 1:1 about today's prompt in **{guild_name}**: you are "
            f"talking with {mentions(intro.partner_ids)}, who asked too."
        )
    times = times_text(intro.times, intro.user_ids).rstrip() if intro.times else ""
    return fitted(f"{opening}\n\n", prompt, TALK_HINT + (f"\n\n{times}" if times else ""))
