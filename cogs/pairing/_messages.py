"""How a round's outbox rows look on Discord: intro DMs with their meeting-time and answer
buttons, check-ins, notices, the announcement, the group's private thread, and the meeting
time's confirmation and reminder. Nobody is pinged: partners are named
by mention without a ping, and the conversation starter may be a member-written prompt."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.edge.rendered import Post, ThreadOpening
from bot.outbox import OutboxRow
from bot.pairing.meetings import CONFIRMED_KIND, REMINDER_KIND
from bot.pairing.messages import (
    ANNOUNCEMENT_KIND,
    CHECKIN_KIND,
    INTRO_KIND,
    NOTICE_KIND,
    THREAD_KIND,
)
from bot.pairing.models import Announcement, CheckIn, Intro, MeetingNote, Notice, ProposedTimes

from ._render import (
    announcement_text,
    checkin_text,
    intro_text,
    meeting_note_text,
    notice_text,
)
from ._talk_render import talk_intro_text
from ._views import checkin_view, meeting_view

if TYPE_CHECKING:
    from bot.app import Kindred

KINDS = (
    INTRO_KIND,
    CHECKIN_KIND,
    NOTICE_KIND,
    ANNOUNCEMENT_KIND,
    THREAD_KIND,
    CONFIRMED_KIND,
    REMINDER_KIND,
)
THREAD_ARCHIVE_MINUTES = 10080  # a week: the length of a round


def thread_name(group_id: int) -> str:
    """Unique to the group, so a resend finds the thread instead of opening another."""
    return f"Kindred pairing #{group_id}"


def register(bot: Kindred) -> None:
    """Register the renderers of the pairing kinds with the bot's transport."""

    def guild_name(guild_id: int) -> str:
        guild = bot.get_guild(guild_id)
        return guild.name if guild is not None else "your community"

    def buttons_for(round_id: int, times: ProposedTimes | None) -> discord.ui.View:
        if times is None or not times.slots:
            return checkin_view(round_id)
        return meeting_view(round_id, times.group_id, len(times.slots))

    def talk_buttons(message: Intro) -> discord.ui.View | None:
        """A talk has no check-in: only its meeting times' buttons, if it has times."""
        times = message.times
        if times is None or not times.slots:
            return None
        return meeting_view(message.round_id, times.group_id, len(times.slots), checkin=False)

    def intro(row: OutboxRow) -> Post:
        message = Intro.from_payload(row.payload)
        if message.talk:
            return Post(
                content=talk_intro_text(message, guild_name(row.guild_id)),
                view=talk_buttons(message),
            )
        buttons = (
            buttons_for(message.round_id, message.times) if message.outcome == "paired" else None
        )
        return Post(content=intro_text(message, guild_name(row.guild_id)), view=buttons)

    def meeting_note(row: OutboxRow) -> Post:
        note = MeetingNote.from_payload(row.payload)
        return Post(content=meeting_note_text(note, guild_name(row.guild_id)))

    def checkin(row: OutboxRow) -> Post:
        message = CheckIn.from_payload(row.payload)
        return Post(
            content=checkin_text(message, guild_name(row.guild_id)),
            view=checkin_view(message.round_id),
        )

    def notice(row: OutboxRow) -> Post:
        message = Notice.from_payload(row.payload)
        buttons = buttons_for(message.round_id, message.times) if message.partner_ids else None
        return Post(content=notice_text(message, guild_name(row.guild_id)), view=buttons)

    def announcement(row: OutboxRow) -> Post:
        return Post(content=announcement_text(Announcement.from_payload(row.payload)))

    def group_thread(row: OutboxRow) -> ThreadOpening:
        message = Intro.from_payload(row.payload)
        return ThreadOpening(
            name=thread_name(row.payload["group_id"]),
            private=True,
            member_ids=message.user_ids,
            first=Post(
                content=talk_intro_text(message, guild_name(row.guild_id))
                if message.talk
                else intro_text(message, guild_name(row.guild_id)),
                view=talk_buttons(message)
                if message.talk
                else buttons_for(message.round_id, message.times),
            ),
            auto_archive_minutes=THREAD_ARCHIVE_MINUTES,
        )

    for kind, renderer in (
        (INTRO_KIND, intro),
        (CHECKIN_KIND, checkin),
        (NOTICE_KIND, notice),
        (ANNOUNCEMENT_KIND, announcement),
        (THREAD_KIND, group_thread),
        (CONFIRMED_KIND, meeting_note),
        (REMINDER_KIND, meeting_note),
    ):
        bot.transport.register(kind, renderer)
