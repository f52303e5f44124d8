"""The Discord side of pairing: implements `bot.pairing.models.PairingPort` for the service.

Every message carries the service's deterministic nonce (a resend after a crash returns the
first message instead of posting a second) and `AllowedMentions.none()`: partners are named by
mention without a ping, and the conversation starter may be a member-written prompt.
"""

from __future__ import annotations

import discord

from bot.pairing.models import (
    Announcement,
    CheckIn,
    DeliveryFailed,
    DiscordUnavailable,
    DmRefused,
    Intro,
    Notice,
)

from .._members import MembersUnavailable, find_members
from .._sending import CANNOT_DM, dm_channel, is_final_refusal
from ._render import announcement_text, checkin_text, intro_text, notice_text
from ._views import checkin_view

NO_MENTIONS = discord.AllowedMentions.none()
THREAD_ARCHIVE_MINUTES = 10080  # a week: the length of a round


def thread_name(group_id: int) -> str:
    """Deterministic, so a resend after a crash finds the thread instead of opening another."""
    return f"Kindred pairing #{group_id}"


def _final(exc: discord.HTTPException, what: str) -> Exception:
    """A 4xx will fail the same way again (DeliveryFailed: recorded as undelivered); a 5xx or a
    429 that outlived discord.py's own retries is passed on, so the delivery job retries later
    (with the same nonce) instead of leaving a member without an intro."""
    if is_final_refusal(exc):
        return DeliveryFailed(f"{what}: Discord error {exc.code} ({exc.text or exc.status})")
    return exc


class DiscordPairingPort:
    def __init__(self, client: discord.Client) -> None:
        self._client = client

    async def present(self, guild_id: int, user_ids: set[int], role_id: int | None) -> set[int]:
        guild = self._client.get_guild(guild_id)
        if guild is None:
            raise DiscordUnavailable(f"guild {guild_id} is not available (yet)")
        try:
            members = await find_members(guild, user_ids)
        except MembersUnavailable as exc:
            raise DiscordUnavailable(str(exc)) from exc
        return {
            user_id
            for user_id, member in members.items()
            if role_id is None or member.get_role(role_id) is not None
        }

    def _guild_name(self, guild_id: int) -> str:
        guild = self._client.get_guild(guild_id)
        return guild.name if guild is not None else "your community"

    async def _dm(self, user_id: int, content: str, nonce: str, *, buttons: int | None) -> int:
        """DM a member; `buttons` is the round whose check-in buttons to attach."""
        try:
            channel = await dm_channel(self._client, user_id)
            message = await channel.send(
                content,
                view=checkin_view(buttons) if buttons is not None else discord.utils.MISSING,
                nonce=nonce,
                allowed_mentions=NO_MENTIONS,
            )
        except discord.HTTPException as exc:
            if exc.code == CANNOT_DM:
                raise DmRefused(str(exc)) from exc
            raise _final(exc, f"DM to {user_id}") from exc
        return message.id

    async def send_intro(self, intro: Intro) -> int:
        (user_id,) = intro.user_ids
        buttons = intro.round_id if intro.outcome == "paired" else None
        text = intro_text(intro, self._guild_name(intro.guild_id))
        return await self._dm(user_id, text, intro.nonce, buttons=buttons)

    async def send_checkin(self, checkin: CheckIn) -> int:
        text = checkin_text(checkin, self._guild_name(checkin.guild_id))
        return await self._dm(checkin.user_id, text, checkin.nonce, buttons=checkin.round_id)

    async def send_notice(self, notice: Notice) -> int:
        text = notice_text(notice, self._guild_name(notice.guild_id))
        buttons = notice.round_id if notice.partner_ids else None
        return await self._dm(notice.user_id, text, notice.nonce, buttons=buttons)

    def _text_channel(self, guild_id: int, channel_id: int) -> discord.TextChannel:
        guild = self._client.get_guild(guild_id)
        channel = guild.get_channel(channel_id) if guild is not None else None
        if not isinstance(channel, discord.TextChannel):
            raise DeliveryFailed(
                f"the pairing channel <#{channel_id}> is gone or not a text channel"
            )
        return channel

    async def announce(self, channel_id: int, announcement: Announcement) -> int:
        channel = self._text_channel(announcement.guild_id, channel_id)
        try:
            message = await channel.send(
                announcement_text(announcement),
                nonce=announcement.nonce,
                allowed_mentions=NO_MENTIONS,
            )
        except discord.HTTPException as exc:
            raise _final(exc, f"announcement in <#{channel_id}>") from exc
        return message.id

    async def send_group_thread(self, channel_id: int, group_id: int, intro: Intro) -> int:
        channel = self._text_channel(intro.guild_id, channel_id)
        allowed = channel.permissions_for(channel.guild.me)
        if not (allowed.create_private_threads and allowed.send_messages_in_threads):
            # Checked first so a thread we could not write in is never left behind, empty.
            raise DeliveryFailed(f"no permission to open private threads in <#{channel_id}>")
        name = thread_name(group_id)
        try:
            thread = discord.utils.get(channel.threads, name=name) or await channel.create_thread(
                name=name,
                type=discord.ChannelType.private_thread,
                invitable=False,
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
            )
            for user_id in intro.user_ids:
                await thread.add_user(discord.Object(user_id))
            await thread.send(
                intro_text(intro, channel.guild.name),
                view=checkin_view(intro.round_id),
                nonce=intro.nonce,
                allowed_mentions=NO_MENTIONS,
            )
        except discord.HTTPException as exc:
            raise _final(exc, f"private thread in <#{channel_id}>") from exc
        return thread.id
